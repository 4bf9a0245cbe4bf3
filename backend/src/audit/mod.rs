//! The audit log: events for sign-in, codes, devices and roles, with time, actor, subject and
//! client address. Recording ([`record`]) never fails a request: a write error is logged
//! instead. The one exception is a sign-in with a password alone, whose session and event are
//! written in one transaction ([`write`]): no session without its event. Reading: pages of the
//! events a [`Filter`] keeps ([`page`]), and the whole of them in bounded steps ([`before`]).

pub mod activity;
pub mod csv;

use crate::accounts::users::UserRecord;
use crate::storage::query::{Conditions, Value, prefix_range, query};
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
    /// Only events whose user (subject) or actor name begins with this, in any case (names
    /// are stored in lower case). The beginning, not any part: a range on the names' indexes,
    /// so a search reads only the events it finds, however long the log.
    pub name: Option<String>,
}

impl Filter {
    /// The SQL conditions with placeholders from `$1`, and their values in order. Only the
    /// parts in use are written, so that each can use its index.
    fn conditions(&self) -> Conditions {
        let mut c = Conditions::default();
        if let Some(id) = self.subject_id {
            let id = c.bind(Value::Int(id));
            c.push(format!("subject_id = {id}"));
        }
        if let Some(kind) = self.kind {
            let kind = c.bind(Value::Text(kind.as_str().to_owned()));
            c.push(format!("event = {kind}"));
        }
        if let Some(name) = &self.name {
            let (low, high) = prefix_range(name);
            let low = c.bind(Value::Text(low));
            let high = c.bind(Value::Text(high));
            c.push(format!(
                "((subject_name >= {low} AND subject_name < {high}) \
                 OR (actor_name >= {low} AND actor_name < {high}))"
            ));
        }
        c
    }
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
    let c = filter.conditions();
    let clause = c.clause();
    let count_sql = format!("SELECT COUNT(*) AS n FROM audit_events{clause}");
    let total: i64 = query(count_sql, c.values.clone())
        .fetch_one(db)
        .await?
        .try_get("n")?;
    let mut values = c.values;
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
    let c = filter.conditions();
    let clause = c.clause();
    let mut values = c.values;
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
    fn only_the_parts_in_use_are_written() {
        assert_eq!(Filter::default().conditions().clause(), "");
        let c = Filter {
            subject_id: Some(7),
            kind: Some(AuditEventKind::SignedIn),
            name: Some("Al".into()),
        }
        .conditions();
        assert_eq!(
            c.clause(),
            " WHERE subject_id = $1 AND event = $2 AND \
             ((subject_name >= $3 AND subject_name < $4) OR (actor_name >= $3 AND actor_name < $4))"
        );
        let (low, high) = prefix_range("al");
        assert_eq!(
            c.values,
            [
                Value::Int(7),
                Value::Text("signed_in".into()),
                Value::Text(low),
                Value::Text(high)
            ]
        );
    }
}
