//! Security e-mails: the holder hears at once when their sign-in changes or someone knows
//! their password. The message is written to the outbox in the same transaction as the event
//! ([`outbox::queue`]), and a sender on each instance delivers it through the mail server
//! ([`sender`]): never lost, never twice (but for a sender that dies between sending and
//! marking, see [`outbox`]). Without `--smtp-url` nothing is queued.

pub mod messages;
pub mod outbox;
pub mod sender;
pub mod settings;

pub use messages::{MailKind, Notice, Who};
pub use settings::MailSettings;

use crate::accounts::By;
use crate::accounts::users::UserRecord;
use sqlx::{AnyConnection, Row};

/// Who made a change to `subject`, as a message says it.
pub fn who<'a>(by: By<'a>, subject: &UserRecord) -> Who<'a> {
    match by {
        By::User { user, .. } if user.id == subject.id => Who::Holder,
        By::User { user, .. } => Who::Administrator(&user.username),
        By::Operator => Who::Operator,
    }
}

/// The browser of the session with `token_hash` (as "Firefox on Linux"), for a message about
/// what that session did; `None` without mail settings (no read then) or without a
/// `User-Agent`.
pub async fn browser_of(
    conn: &mut AnyConnection,
    mail: Option<&MailSettings>,
    token_hash: &str,
) -> Result<Option<String>, sqlx::Error> {
    if mail.is_none() {
        return Ok(None);
    }
    let agent: Option<String> =
        sqlx::query("SELECT user_agent FROM sessions WHERE token_hash = $1")
            .bind(token_hash)
            .fetch_optional(conn)
            .await?
            .map(|row| row.try_get::<Option<String>, _>("user_agent"))
            .transpose()?
            .flatten();
    Ok(agent.map(|ua| crate::sessions::browser_name(Some(&ua))))
}

/// Queues the message of a change `by` made to `subject`'s account (from `client_addr`),
/// inside the change's transaction `conn`. See [`outbox::queue`].
pub async fn tell_change(
    conn: &mut AnyConnection,
    mail: Option<&MailSettings>,
    by: By<'_>,
    subject: &UserRecord,
    kind: MailKind,
    client_addr: Option<&str>,
    now: u64,
) -> Result<bool, sqlx::Error> {
    tell_change_with(conn, mail, by, subject, kind, client_addr, None, now).await
}

/// As [`tell_change`], with the recovery codes left.
#[allow(clippy::too_many_arguments)]
pub async fn tell_change_with(
    conn: &mut AnyConnection,
    mail: Option<&MailSettings>,
    by: By<'_>,
    subject: &UserRecord,
    kind: MailKind,
    client_addr: Option<&str>,
    codes_left: Option<u32>,
    now: u64,
) -> Result<bool, sqlx::Error> {
    if mail.is_none() {
        return Ok(false);
    }
    let browser = match by.session() {
        Some(session) => browser_of(conn, mail, &session.token_hash).await?,
        None => None,
    };
    let notice = Notice {
        codes_left,
        ..Notice::own(kind, &subject.username, now)
            .from_client(client_addr, browser.as_deref())
            .by(who(by, subject))
    };
    outbox::queue(conn, mail, subject.id, notice, None, now).await
}
