//! The audit log: events for sign-in, codes, devices and roles, with time, actor, subject and
//! client address. Recording ([`record`]) never fails a request: a write error is logged
//! instead. The one exception is a sign-in with a password alone, whose session and event are
//! written in one transaction ([`write`]): no session without its event.

use crate::users::UserRecord;
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

/// One page of events, newest first, optionally only those about one user.
pub async fn page(
    db: &AnyPool,
    page: u32,
    subject_id: Option<i64>,
) -> Result<AuditPage, sqlx::Error> {
    let page = page.max(1);
    let offset = i64::from(page - 1) * i64::from(PER_PAGE);
    // Two fixed queries, so that a filter by user can use the `(subject_id, id)` index.
    let (total, rows) = match subject_id {
        Some(id) => {
            let total = sqlx::query("SELECT COUNT(*) AS n FROM audit_events WHERE subject_id = $1")
                .bind(id)
                .fetch_one(db)
                .await?;
            let rows = sqlx::query(concat!(
                "SELECT id, at, event, actor_name, subject_id, subject_name, client_addr, detail ",
                "FROM audit_events WHERE subject_id = $1 ORDER BY id DESC LIMIT $2 OFFSET $3"
            ))
            .bind(id)
            .bind(i64::from(PER_PAGE))
            .bind(offset)
            .fetch_all(db)
            .await?;
            (total, rows)
        }
        None => {
            let total = sqlx::query("SELECT COUNT(*) AS n FROM audit_events")
                .fetch_one(db)
                .await?;
            let rows = sqlx::query(concat!(
                "SELECT id, at, event, actor_name, subject_id, subject_name, client_addr, detail ",
                "FROM audit_events ORDER BY id DESC LIMIT $1 OFFSET $2"
            ))
            .bind(i64::from(PER_PAGE))
            .bind(offset)
            .fetch_all(db)
            .await?;
            (total, rows)
        }
    };
    let total: i64 = total.try_get("n")?;
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
    Ok(AuditPage {
        entries,
        page,
        per_page: PER_PAGE,
        total: total as u64,
    })
}
