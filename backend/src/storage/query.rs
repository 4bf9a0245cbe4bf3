//! Queries whose conditions depend on the request (the audit log's and the Users list's
//! filters): fixed SQL fragments with numbered placeholders, and the values bound to them.

/// A value bound to a placeholder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    Int(i64),
    Text(String),
}

pub type AnyQuery<'q> = sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments>;

/// `sql` with `values` bound to its placeholders, in order. The SQL must be made only of fixed
/// fragments and placeholder numbers; everything from a request is a bound value, never text in
/// the SQL (hence `AssertSqlSafe`). Written by hand because sqlx's `QueryBuilder` writes `?`
/// placeholders for the `Any` driver, which PostgreSQL refuses.
pub fn query(sql: String, values: Vec<Value>) -> AnyQuery<'static> {
    let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
    for value in values {
        query = match value {
            Value::Int(n) => query.bind(n),
            Value::Text(text) => query.bind(text),
        };
    }
    query
}

/// The bounds `[low, high)` of the names that begin with `text` (in lower case), compared byte
/// by byte (SQLite's `BINARY`, PostgreSQL's `COLLATE "C"`): a range an index on the name
/// answers, where "contains" would read every row.
pub fn prefix_range(text: &str) -> (String, String) {
    let low = text.to_lowercase();
    // No UTF-8 text that begins with `low` sorts after `low` followed by the highest character.
    let high = format!("{low}{}", char::MAX);
    (low, high)
}

/// Conditions joined with `AND`, and their values: each `push` numbers its placeholders on.
#[derive(Debug, Default)]
pub struct Conditions {
    pub conditions: Vec<String>,
    pub values: Vec<Value>,
}

impl Conditions {
    /// Binds `value` and returns its placeholder (`$N`).
    pub fn bind(&mut self, value: Value) -> String {
        self.values.push(value);
        format!("${}", self.values.len())
    }

    /// A condition of fixed text (placeholders from [`Conditions::bind`]).
    pub fn push(&mut self, condition: String) {
        self.conditions.push(condition);
    }

    /// ` WHERE a AND b`, or nothing.
    pub fn clause(&self) -> String {
        if self.conditions.is_empty() {
            String::new()
        } else {
            format!(" WHERE {}", self.conditions.join(" AND "))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_prefix_range_holds_exactly_the_names_that_begin_with_it() {
        let (low, high) = prefix_range("Al");
        let within = |name: &str| name >= low.as_str() && name < high.as_str();
        assert!(within("al") && within("alice") && within("al~z") && within("al\u{10fff0}"));
        assert!(!within("a") && !within("ak") && !within("am") && !within("bob"));
    }
}
