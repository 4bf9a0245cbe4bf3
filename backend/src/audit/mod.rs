//! The audit log: events for sign-in, codes, devices and roles, with time, actor, subject and
//! client address. Recording ([`record`]) never fails a request: a write error is logged
//! instead. The one exception is a sign-in with a password alone, whose session and event are
//! written in one transaction ([`write`]): no session without its event. Reading: pages of the
//! events a [`Filter`] keeps ([`page`]), and the whole of them in bounded steps ([`before`]).

pub mod activity;
pub mod csv;

use crate::accounts::users::UserRecord;
use sqlx::{AnyPool, Row};
use twostep_shared::api::{AuditEntry, AuditEventKind, AuditPage};

/// Who acted.
#[derive(Debug, Clone, Copy)]
pub enum Actor<'a> {
    /// A signed-in user (or the user signing in).
    User(&'a UserRecord),
    /// The server's command line.
    Cli,
    /// Nobody known (e.g. a sign-in with an unknown username).
    Anonymous,
}

/// Whose account an event is about: a known user, or just the name that was typed.
#[derive(Debug, Clone, Copy)]
pub enum Subject<'a> {
    User(&'a UserRecord),
    Name(&'a str),
    /// No account (e.g. a sign-in through a provider that matched nobody).
    Nobody,
}

/// One event to record.
#[derive(Debug, Clone, Copy)]
pub struct Event<'a> {
    pub kind: AuditEventKind,
    pub actor: Actor<'a>,
    pub subject: Subject<'a>,
    pub client_addr: Option<&'a str>,
    pub detail: Option<&'a str>,
}

impl<'a> Event<'a> {
    /// An event a user caused on their own account.
    pub fn own(kind: AuditEventKind, user: &'a UserRecord, client_addr: Option<&'a str>) -> Self {
        Self {
            kind,
            actor: Actor::User(user),
            subject: Subject::User(user),
            client_addr,
            detail: None,
        }
    }

    pub fn with_detail(mut self, detail: &'a str) -> Self {
        self.detail = Some(detail);
        self
    }
}

/// Records an event; a write error is logged, never returned.
pub async fn record(db: &AnyPool, event: Event<'_>, now: u64) {
    if let Err(error) = write(db, event, now).await {
        tracing::error!(%error, event = event.kind.as_str(), "cannot write an audit event");
    }
}

/// Writes an event through `db` (a pool, or a transaction that must not commit without it).
pub async fn write<'c>(
    db: impl sqlx::Executor<'c, Database = sqlx::Any>,
    event: Event<'_>,
    now: u64,
) -> Result<(), sqlx::Error> {
    let (actor_id, actor_name) = match event.actor {
        Actor::User(user) => (Some(user.id), Some(user.username.as_str())),
        Actor::Cli => (None, Some("cli")),
        Actor::Anonymous => (None, None),
    };
    let (subject_id, subject_name) = match event.subject {
        Subject::User(user) => (Some(user.id), Some(user.username.as_str())),
        Subject::Name(name) => (None, Some(name)),
        Subject::Nobody => (None, None),
    };
    sqlx::query(
        "INSERT INTO audit_events (at, event, actor_id, actor_name, subject_id, subject_name, client_addr, detail)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(now as i64)
    .bind(event.kind.as_str())
    .bind(actor_id)
    .bind(actor_name)
    .bind(subject_id)
    .bind(subject_name)
    .bind(event.client_addr)
    .bind(event.detail)
    .execute(db)
    .await?;
    Ok(())
}

/// Entries per page of the audit log.
pub const PER_PAGE: u32 = 50;

/// Which events a listing keeps; each part left out keeps everything.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Filter {
    /// Only events about this account.
    pub subject_id: Option<i64>,
    /// Only events of this kind.
    pub kind: Option<AuditEventKind>,
    /// Only events whose user (subject) or actor name contains this, in any case.
    pub name: Option<String>,
}

/// A value bound to a placeholder of [`Filter::clause`].
enum Value {
    Int(i64),
    Text(String),
}

/// `LIKE` pattern for "contains `text`, any case", with `\` escaping `%`, `_` and itself.
fn contains_pattern(text: &str) -> String {
    let mut pattern = String::from("%");
    for c in text.to_lowercase().chars() {
        if matches!(c, '%' | '_' | '\\') {
            pattern.push('\\');
        }
        pattern.push(c);
    }
    pattern.push('%');
    pattern
}

impl Filter {
    /// The SQL conditions (` WHERE …`, or nothing) with placeholders from `$1`, and their
    /// values in order. Only the parts in use are written, so that a filter by user can use
    /// the `(subject_id, id)` index.
    fn clause(&self) -> (String, Vec<Value>) {
        let mut conditions = Vec::new();
        let mut values = Vec::new();
        if let Some(id) = self.subject_id {
            values.push(Value::Int(id));
            conditions.push(format!("subject_id = ${}", values.len()));
        }
        if let Some(kind) = self.kind {
            values.push(Value::Text(kind.as_str().to_owned()));
            conditions.push(format!("event = ${}", values.len()));
        }
        if let Some(name) = &self.name {
            let pattern = contains_pattern(name);
            values.push(Value::Text(pattern.clone()));
            let subject = values.len();
            values.push(Value::Text(pattern));
            let actor = values.len();
            conditions.push(format!(
                "(lower(subject_name) LIKE ${subject} ESCAPE '\\' OR lower(actor_name) LIKE ${actor} ESCAPE '\\')"
            ));
        }
        let clause = if conditions.is_empty() {
            String::new()
        } else {
            format!(" WHERE {}", conditions.join(" AND "))
        };
        (clause, values)
    }
}

type AnyQuery<'q> = sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments>;

/// `sql` with `values` bound to its placeholders, in order. The SQL is made only of the fixed
/// fragments above and placeholder numbers; everything from a request is a bound value, never
/// text in the SQL (hence `AssertSqlSafe`). Written by hand because sqlx's `QueryBuilder`
/// writes `?` placeholders for the `Any` driver, which PostgreSQL refuses.
fn query(sql: String, values: Vec<Value>) -> AnyQuery<'static> {
    bind_all(sqlx::query(sqlx::AssertSqlSafe(sql)), values)
}

fn bind_all(mut query: AnyQuery<'_>, values: Vec<Value>) -> AnyQuery<'_> {
    for value in values {
        query = match value {
            Value::Int(n) => query.bind(n),
            Value::Text(text) => query.bind(text),
        };
    }
    query
}

const COLUMNS: &str = "id, at, event, actor_name, subject_id, subject_name, client_addr, detail";

/// The entries of `rows` (a kind this version does not know is left out).
fn entries(rows: Vec<sqlx::any::AnyRow>) -> Result<Vec<AuditEntry>, sqlx::Error> {
    let mut entries = Vec::with_capacity(rows.len());
    for row in rows {
        let event: String = row.try_get("event")?;
        let Some(kind) = AuditEventKind::parse(&event) else {
            continue;
        };
        entries.push(AuditEntry {
            id: row.try_get("id")?,
            at: row.try_get::<i64, _>("at")? as u64,
            event: kind,
            actor: row.try_get("actor_name")?,
            subject: row.try_get("subject_name")?,
            subject_id: row.try_get("subject_id")?,
            client_address: row.try_get("client_addr")?,
            detail: row.try_get("detail")?,
        });
    }
    Ok(entries)
}

/// One page of the events `filter` keeps, newest first, with how many it keeps in all.
pub async fn page(db: &AnyPool, page: u32, filter: &Filter) -> Result<AuditPage, sqlx::Error> {
    let page = page.max(1);
    let offset = i64::from(page - 1) * i64::from(PER_PAGE);
    let (clause, values) = filter.clause();
    let count_sql = format!("SELECT COUNT(*) AS n FROM audit_events{clause}");
    let total: i64 = query(count_sql, values).fetch_one(db).await?.try_get("n")?;
    let (clause, mut values) = filter.clause();
    let limit = values.len() + 1;
    let rows_sql = format!(
        "SELECT {COLUMNS} FROM audit_events{clause} ORDER BY id DESC LIMIT ${limit} OFFSET ${}",
        limit + 1
    );
    values.extend([Value::Int(i64::from(PER_PAGE)), Value::Int(offset)]);
    let rows = query(rows_sql, values).fetch_all(db).await?;
    Ok(AuditPage {
        entries: entries(rows)?,
        page,
        per_page: PER_PAGE,
        total: total as u64,
    })
}

/// A step of a walk through the log ([`before`]).
#[derive(Debug)]
pub struct Batch {
    pub entries: Vec<AuditEntry>,
    /// Where the next step starts (the lowest id read), or `None` when this was the last.
    pub next: Option<i64>,
}

/// Up to `limit` of the events `filter` keeps whose id is below `below`, newest first: an
/// export walks the whole log this way, one bounded query at a time.
pub async fn before(
    db: &AnyPool,
    filter: &Filter,
    below: i64,
    limit: u32,
) -> Result<Batch, sqlx::Error> {
    let (clause, mut values) = filter.clause();
    values.push(Value::Int(below));
    let id_below = values.len();
    let joiner = if clause.is_empty() { " WHERE" } else { " AND" };
    let sql = format!(
        "SELECT {COLUMNS} FROM audit_events{clause}{joiner} id < ${id_below} ORDER BY id DESC LIMIT ${}",
        id_below + 1
    );
    values.push(Value::Int(i64::from(limit)));
    let rows = query(sql, values).fetch_all(db).await?;
    let next = match rows.last() {
        Some(last) if rows.len() == limit as usize => Some(last.try_get("id")?),
        _ => None,
    };
    Ok(Batch {
        entries: entries(rows)?,
        next,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_name_is_matched_literally_in_any_case() {
        assert_eq!(contains_pattern("Al_i%c\\e"), "%al\\_i\\%c\\\\e%");
    }

    #[test]
    fn only_the_parts_in_use_are_written() {
        assert_eq!(Filter::default().clause().0, "");
        let (clause, values) = Filter {
            subject_id: Some(7),
            kind: Some(AuditEventKind::SignedIn),
            name: Some("Al".into()),
        }
        .clause();
        assert_eq!(
            clause,
            " WHERE subject_id = $1 AND event = $2 AND \
             (lower(subject_name) LIKE $3 ESCAPE '\\' OR lower(actor_name) LIKE $4 ESCAPE '\\')"
        );
        assert!(
            matches!(values[..], [Value::Int(7), Value::Text(ref k), Value::Text(ref a), Value::Text(ref b)]
            if k == "signed_in" && a == "%al%" && b == "%al%")
        );
    }
}
