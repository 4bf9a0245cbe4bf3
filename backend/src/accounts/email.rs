//! The address security e-mails go to: set, changed or removed by the holder (after a recent
//! sign-in, "Confirm it's you") or an administrator, as the account-changes table says; the
//! previous address is told of the change, in the same transaction. Organizational accounts
//! use the verified address their provider gives at sign-in. Also the administrator's test
//! message to their own address.

use crate::accounts::By;
use crate::accounts::changes::{self, Change, Refusal};
use crate::accounts::users::UserRecord;
use crate::audit;
use crate::mail::{self, MailKind, Notice, outbox};
use crate::sessions::revocation::RevokingTx;
use crate::state::AppState;
use sqlx::Row;
use twostep_shared::api::AuditEventKind;

/// The longest address kept (RFC 5321's path limit).
pub const MAX_CHARS: usize = 254;

/// Why an address was not set or a test not sent.
#[derive(Debug, thiserror::Error)]
pub enum EmailError {
    #[error(transparent)]
    Refused(#[from] Refusal),
    /// Not an e-mail address (the message says why).
    #[error("not an e-mail address: {0}")]
    Invalid(String),
    /// Organizational accounts use their provider's address.
    #[error("an organizational account uses its provider's address")]
    Organizational,
    /// No `--smtp-url`: security e-mails are off.
    #[error("security e-mails are off")]
    MailOff,
    /// The test message goes to one's own address, and there is none.
    #[error("no address")]
    NoAddress,
    /// The test message was not queued: the hourly limit.
    #[error("too many test messages")]
    Limited,
    #[error(transparent)]
    Database(#[from] sqlx::Error),
}

/// `text` trimmed, lower-cased in its domain, and checked as one address (`None`: remove).
pub fn parse(text: Option<&str>) -> Result<Option<String>, EmailError> {
    let Some(text) = text.map(str::trim).filter(|t| !t.is_empty()) else {
        return Ok(None);
    };
    if text.chars().count() > MAX_CHARS || text.chars().any(|c| c.is_control() || c.is_whitespace())
    {
        return Err(EmailError::Invalid(
            "one address, without spaces".to_owned(),
        ));
    }
    let address: lettre::Address = text
        .parse()
        .map_err(|e: lettre::address::AddressError| EmailError::Invalid(e.to_string()))?;
    Ok(Some(format!(
        "{}@{}",
        address.user(),
        address.domain().to_lowercase()
    )))
}

/// The account's address.
pub async fn of<'c>(
    db: impl sqlx::Executor<'c, Database = sqlx::Any>,
    user_id: i64,
) -> Result<Option<String>, sqlx::Error> {
    Ok(sqlx::query("SELECT email FROM users WHERE id = $1")
        .bind(user_id)
        .fetch_optional(db)
        .await?
        .map(|row| row.try_get::<Option<String>, _>("email"))
        .transpose()?
        .flatten())
}

/// Stores the verified address an organizational account's provider gave at a sign-in
/// (`email_verified: true`), in the sign-in's transaction. A sign-in without one keeps the
/// address stored before. A new address revokes (`GET /api/me` of the account's other
/// sessions shows it from the session cache).
pub async fn store_provided(
    tx: &mut RevokingTx,
    user_id: i64,
    email: &str,
) -> Result<(), sqlx::Error> {
    if of(&mut ***tx, user_id).await?.as_deref() == Some(email) {
        return Ok(());
    }
    sqlx::query("UPDATE users SET email = $1 WHERE id = $2 AND identity_provider IS NOT NULL")
        .bind(email)
        .bind(user_id)
        .execute(tx.revoking().await?)
        .await?;
    Ok(())
}

/// Sets `subject`'s address to `email` (`None` removes it), as `by`. The previous address, if
/// any and different, is told in the same transaction. The change revokes: `GET /api/me`
/// shows the address from the session cache.
pub async fn set(
    state: &AppState,
    by: By<'_>,
    subject: &UserRecord,
    email: Option<&str>,
    client_addr: Option<&str>,
) -> Result<(), EmailError> {
    changes::decide(Change::SetEmail, by.facts(subject, false)?)?;
    if subject.identity_provider.is_some() {
        return Err(EmailError::Organizational);
    }
    let email = parse(email)?;
    let now = state.clock.now();
    let mut tx = RevokingTx::begin_quiet(&state.db).await?;
    let previous = of(&mut **tx, subject.id).await?;
    if previous == email {
        return Ok(());
    }
    sqlx::query("UPDATE users SET email = $1 WHERE id = $2")
        .bind(&email)
        .bind(subject.id)
        .execute(tx.revoking().await?)
        .await?;
    let detail = match &email {
        Some(_) if previous.is_some() => "address changed",
        Some(_) => "address set",
        None => "address removed",
    };
    let event = audit::Event {
        kind: AuditEventKind::EmailAddressChanged,
        actor: by.audit_actor(),
        subject: audit::Subject::User(subject),
        client_addr,
        detail: Some(detail),
    };
    audit::write(&mut **tx, event, now).await?;
    if let Some(previous) = &previous {
        let notice = Notice::own(MailKind::AddressChanged, &subject.username, now)
            .from_client(client_addr, None)
            .by(mail::who(by, subject));
        let mail = state.settings.mail();
        outbox::queue_to(&mut tx, mail, subject.id, previous, notice, None, now).await?;
    }
    tx.commit(&state.revocations).await?;
    Ok(())
}

/// Queues a test message to `user`'s own address (administrators, from the admin page).
pub async fn send_test(
    state: &AppState,
    user: &UserRecord,
    client_addr: Option<&str>,
) -> Result<(), EmailError> {
    if !user.is_admin() {
        return Err(Refusal::NotAllowed.into());
    }
    let mail = state.settings.mail().ok_or(EmailError::MailOff)?;
    let now = state.clock.now();
    let mut tx = crate::storage::db::begin(&state.db).await?;
    let address: Option<String> = sqlx::query("SELECT email FROM users WHERE id = $1")
        .bind(user.id)
        .fetch_optional(&mut *tx)
        .await?
        .map(|row| row.try_get::<Option<String>, _>("email"))
        .transpose()?
        .flatten();
    let address = address.ok_or(EmailError::NoAddress)?;
    let notice = Notice::own(MailKind::Test, &user.username, now).from_client(client_addr, None);
    if !outbox::queue_to(&mut tx, Some(mail), user.id, &address, notice, None, now).await? {
        return Err(EmailError::Limited);
    }
    let event = audit::Event {
        kind: AuditEventKind::EmailTestQueued,
        actor: audit::Actor::User(user),
        subject: audit::Subject::User(user),
        client_addr,
        detail: None,
    };
    audit::write(&mut *tx, event, now).await?;
    tx.commit().await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_are_checked() {
        assert_eq!(parse(None).unwrap(), None);
        assert_eq!(parse(Some("  ")).unwrap(), None);
        assert_eq!(
            parse(Some(" Alice@Mail.Example ")).unwrap().as_deref(),
            Some("Alice@mail.example")
        );
        for bad in [
            "alice",
            "a b@c.example",
            "a@",
            "@c.example",
            "a@b@c",
            "x\n@c.example",
        ] {
            assert!(parse(Some(bad)).is_err(), "{bad}");
        }
        assert!(parse(Some(&format!("{}@c.example", "a".repeat(260)))).is_err());
    }
}
