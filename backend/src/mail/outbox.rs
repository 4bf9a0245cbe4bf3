//! The outbox: a security e-mail is a row written in the same transaction as the event it
//! tells of ([`queue`]), so an event that commits always has its message and one that rolls
//! back has none. Senders take due rows ([`take`]), send them and mark them.
//!
//! ```text
//!  queue ──► due ──take──► due, taken_until = now + LEASE ──sent──► sent
//!             ▲                   │            │
//!             │   failure: retry  │            └─ sender died: taken again after the lease
//!             └─── (growing wait) ┘                (the one case a message can go twice)
//!                                 └─ a day of failures ──► failed (audited, counted)
//!  "code step not completed": due after 10 minutes ──code step completed──► cancelled
//! ```
//!
//! At most [`PER_HOUR`] messages of one kind per account are queued in an hour: counted by one
//! upsert in the event's transaction, so simultaneous events on several instances cannot queue
//! more.

use crate::mail::messages::{self, MailKind, Notice};
use crate::mail::settings::MailSettings;
use sqlx::{AnyConnection, AnyPool, Row};

/// Messages of one kind per account per hour, at most.
pub const PER_HOUR: i64 = 3;
/// How long a taken row stays with its sender before another may take it: longer than a
/// send can last ([`MailSettings::timeout`] per SMTP command, a few commands).
pub const LEASE: u64 = 5 * 60;
/// Failures are retried this long after the message was queued, then it is marked failed.
pub const GIVE_UP_AFTER: u64 = 24 * 60 * 60;
/// "The code step was not completed": how long after the password step.
pub const CODE_STEP_GRACE: u64 = 10 * 60;

/// Counts a security e-mail by what became of it (`twostep_mails_total{outcome}` at
/// `/metrics`): `sent`, `retried` (an attempt failed; tried again later), `failed` (given up
/// after a day), `limited` (not queued: the account's hourly limit for its kind). Through the
/// `metrics` facade directly, as `crate::metrics` reads the state that starts the sender.
pub fn count(outcome: &'static str) {
    ::metrics::counter!("twostep_mails_total", "outcome" => outcome).increment(1);
}

/// When a message may first be sent, `now` being the event.
fn send_after(kind: MailKind, now: u64) -> u64 {
    match kind {
        MailKind::CodeStepNotCompleted => now + CODE_STEP_GRACE,
        _ => now,
    }
}

/// After a failed attempt (the `attempts`-th) at `now` of a message queued at `created_at`:
/// when to try again (waits of 1, 2, 4, … minutes, at most an hour), or `None` once a day has
/// passed.
pub fn next_try(created_at: u64, attempts: u32, now: u64) -> Option<u64> {
    if now.saturating_sub(created_at) >= GIVE_UP_AFTER {
        return None;
    }
    let wait = 60u64
        .saturating_mul(1 << attempts.saturating_sub(1).min(6))
        .min(60 * 60);
    Some(now + wait)
}

/// Queues the message for `notice` to `user_id`'s address, inside the event's transaction
/// (`conn`). Nothing without mail settings, without an address, or past the account's limit
/// for this kind. `cancel_key`: see [`cancel`]. True when a row was written.
pub async fn queue(
    conn: &mut AnyConnection,
    mail: Option<&MailSettings>,
    user_id: i64,
    notice: Notice<'_>,
    cancel_key: Option<&str>,
    now: u64,
) -> Result<bool, sqlx::Error> {
    if mail.is_none() {
        return Ok(false);
    }
    let recipient: Option<String> = sqlx::query("SELECT email FROM users WHERE id = $1")
        .bind(user_id)
        .fetch_optional(&mut *conn)
        .await?
        .map(|row| row.try_get::<Option<String>, _>("email"))
        .transpose()?
        .flatten();
    let Some(recipient) = recipient else {
        return Ok(false);
    };
    queue_to(conn, mail, user_id, &recipient, notice, cancel_key, now).await
}

/// As [`queue`], to `recipient` (e.g. the previous address, told of a change).
pub async fn queue_to(
    conn: &mut AnyConnection,
    mail: Option<&MailSettings>,
    user_id: i64,
    recipient: &str,
    notice: Notice<'_>,
    cancel_key: Option<&str>,
    now: u64,
) -> Result<bool, sqlx::Error> {
    let Some(mail) = mail else {
        return Ok(false);
    };
    let kind = notice.kind.as_str();
    // The window restarts an hour after its first message; one statement, so the count is
    // right however many events run at once (PostgreSQL locks the row for the transaction).
    let queued: i64 = sqlx::query(
        "INSERT INTO mail_limits (user_id, kind, window_start, queued) VALUES ($1, $2, $3, 1)
         ON CONFLICT (user_id, kind) DO UPDATE SET
           queued = CASE WHEN mail_limits.window_start <= $4 THEN 1 ELSE mail_limits.queued + 1 END,
           window_start = CASE WHEN mail_limits.window_start <= $4 THEN $3 ELSE mail_limits.window_start END
         RETURNING queued",
    )
    .bind(user_id)
    .bind(kind)
    .bind(now as i64)
    .bind(now.saturating_sub(60 * 60) as i64)
    .fetch_one(&mut *conn)
    .await?
    .try_get("queued")?;
    if queued > PER_HOUR {
        tracing::info!(
            user_id,
            kind,
            "security e-mail not queued: hourly limit reached"
        );
        count("limited");
        return Ok(false);
    }
    let text = messages::render(&notice, &mail.site);
    sqlx::query(
        "INSERT INTO mail_outbox (user_id, kind, recipient, subject, body, created_at, send_after, cancel_key)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(user_id)
    .bind(kind)
    .bind(recipient)
    .bind(text.subject)
    .bind(text.body)
    .bind(now as i64)
    .bind(send_after(notice.kind, now) as i64)
    .bind(cancel_key)
    .execute(&mut *conn)
    .await?;
    Ok(true)
}

/// Cancels the waiting messages queued with `cancel_key` (the code step completed in time),
/// inside the transaction that completes it.
pub async fn cancel(conn: &mut AnyConnection, cancel_key: &str) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE mail_outbox SET state = 'cancelled' WHERE cancel_key = $1 AND state = 'due'",
    )
    .bind(cancel_key)
    .execute(conn)
    .await?;
    Ok(())
}

/// A row a sender took.
#[derive(Debug, Clone)]
pub struct Taken {
    pub id: i64,
    pub user_id: Option<i64>,
    pub kind: String,
    pub recipient: String,
    pub subject: String,
    pub body: String,
    pub created_at: u64,
    /// Including this one.
    pub attempts: u32,
}

/// Takes up to `limit` due rows for this sender until `now + LEASE`, in one statement. On
/// PostgreSQL the rows are picked `FOR UPDATE SKIP LOCKED`, so two instances taking at once
/// never take the same row (nor wait for each other); SQLite runs one writer at a time.
pub async fn take(
    db: &AnyPool,
    postgres: bool,
    now: u64,
    limit: u32,
) -> Result<Vec<Taken>, sqlx::Error> {
    let lock = if postgres {
        " FOR UPDATE SKIP LOCKED"
    } else {
        ""
    };
    let sql = format!(
        "UPDATE mail_outbox SET taken_until = $1, attempts = attempts + 1
         WHERE id IN (SELECT id FROM mail_outbox
                      WHERE state = 'due' AND send_after <= $2 AND taken_until <= $2
                      ORDER BY send_after, id LIMIT $3{lock})
         RETURNING id, user_id, kind, recipient, subject, body, created_at, attempts"
    );
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind((now + LEASE) as i64)
        .bind(now as i64)
        .bind(i64::from(limit))
        .fetch_all(db)
        .await?;
    rows.iter()
        .map(|row| {
            Ok(Taken {
                id: row.try_get("id")?,
                user_id: row.try_get("user_id")?,
                kind: row.try_get("kind")?,
                recipient: row.try_get("recipient")?,
                subject: row.try_get("subject")?,
                body: row.try_get("body")?,
                created_at: row.try_get::<i64, _>("created_at")? as u64,
                attempts: u32::try_from(row.try_get::<i64, _>("attempts")?).unwrap_or(u32::MAX),
            })
        })
        .collect()
}

/// Marks a taken row sent.
pub async fn sent(db: &AnyPool, id: i64, now: u64) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE mail_outbox SET state = 'sent', sent_at = $2, taken_until = 0, last_error = NULL
         WHERE id = $1",
    )
    .bind(id)
    .bind(now as i64)
    .execute(db)
    .await?;
    Ok(())
}

/// Puts a taken row back, due again at `at`, with the error.
pub async fn retry(db: &AnyPool, id: i64, at: u64, error: &str) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE mail_outbox SET send_after = $2, taken_until = 0, last_error = $3
         WHERE id = $1 AND state = 'due'",
    )
    .bind(id)
    .bind(at as i64)
    .bind(error)
    .execute(db)
    .await?;
    Ok(())
}

/// Marks a taken row failed, inside `conn` (the transaction that audits it).
pub async fn failed(conn: &mut AnyConnection, id: i64, error: &str) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE mail_outbox SET state = 'failed', taken_until = 0, last_error = $2 WHERE id = $1",
    )
    .bind(id)
    .bind(error)
    .execute(conn)
    .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waits_grow_then_it_gives_up_after_a_day() {
        let start = 1_000_000;
        assert_eq!(next_try(start, 1, start), Some(start + 60));
        assert_eq!(next_try(start, 2, start + 60), Some(start + 180));
        assert_eq!(next_try(start, 3, start), Some(start + 240));
        assert_eq!(next_try(start, 30, start), Some(start + 3600));
        assert_eq!(
            next_try(start, 5, start + GIVE_UP_AFTER - 1),
            Some(start + GIVE_UP_AFTER - 1 + 960)
        );
        assert_eq!(next_try(start, 5, start + GIVE_UP_AFTER), None);
    }

    #[test]
    fn only_the_unfinished_code_step_waits() {
        for kind in MailKind::ALL {
            let expected = if kind == MailKind::CodeStepNotCompleted {
                600
            } else {
                0
            };
            assert_eq!(send_after(kind, 100), 100 + expected, "{kind:?}");
        }
    }
}
