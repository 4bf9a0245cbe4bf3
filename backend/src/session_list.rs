//! "Where you're signed in": a user's live sessions with a readable device, and ending them
//! (one, or every one but the asking session), each end recorded in the audit log. The
//! holder uses it from Manage profile, an administrator from Manage user.

use crate::accounts::By;
use crate::accounts::changes::{self, Change, Plan, Refusal};
use crate::app::AppState;
use crate::audit;
use crate::revocation::RevokingTx;
use crate::sessions::{self, SessionRecord};
use crate::users::UserRecord;
use twostep_shared::account::{SessionInfo, SessionList};
use twostep_shared::api::AuditEventKind;

/// A readable name for a browser from its `User-Agent`, e.g. "Chrome on Linux", by
/// `woothee` (a maintained parser with its own test set).
pub fn device_name(user_agent: Option<&str>) -> String {
    let known = |text: &str| !text.is_empty() && text != woothee::woothee::VALUE_UNKNOWN;
    let parsed = user_agent.and_then(|ua| woothee::parser::Parser::new().parse(ua));
    match parsed {
        Some(result) if known(result.name) && known(result.os) => {
            format!("{} on {}", result.name, result.os)
        }
        Some(result) if known(result.name) => result.name.to_owned(),
        _ => "Unknown browser".to_owned(),
    }
}

/// The user's live sessions; `current` marks the asking session (if it is one of them).
pub async fn list(
    state: &AppState,
    user: &UserRecord,
    asking: Option<&SessionRecord>,
) -> Result<SessionList, sqlx::Error> {
    let listed = sessions::list_for_user(
        &state.db,
        user.id,
        &state.settings.session_limits,
        &state.last_seen,
        state.clock.now(),
    )
    .await?;
    let sessions = listed
        .into_iter()
        .map(|session| SessionInfo {
            current: asking.is_some_and(|asking| session.is(asking)),
            device: device_name(session.user_agent.as_deref()),
            id: session.id,
            client_addr: session.client_addr,
            started_at: session.started_at,
            last_seen_at: session.last_seen_at,
        })
        .collect();
    Ok(SessionList { sessions })
}

/// Who ends sessions, and whose.
#[derive(Debug, Clone, Copy)]
pub struct Ending<'a> {
    /// The holder or an administrator, with the session they act from (never ended by "all
    /// others") and whether it signed in recently.
    pub by: By<'a>,
    pub subject: &'a UserRecord,
    pub client_addr: Option<&'a str>,
}

impl Ending<'_> {
    fn plan(&self) -> Result<Plan, Refusal> {
        changes::decide(Change::EndSessions, self.by.facts(self.subject, false)?)
    }
}

/// Why sessions were not ended.
#[derive(Debug, thiserror::Error)]
pub enum EndError {
    #[error(transparent)]
    Refused(#[from] Refusal),
    #[error("no such session")]
    NotFound,
    #[error(transparent)]
    Database(#[from] sqlx::Error),
}

/// Ends the subject's session `id`.
pub async fn end_one(state: &AppState, ending: Ending<'_>, id: &str) -> Result<(), EndError> {
    ending.plan()?;
    let now = state.clock.now();
    let listed = sessions::list_for_user(
        &state.db,
        ending.subject.id,
        &state.settings.session_limits,
        &state.last_seen,
        now,
    )
    .await?;
    let Some(session) = listed.iter().find(|session| session.id == id) else {
        return Err(EndError::NotFound);
    };
    let mut tx = RevokingTx::begin_quiet(&state.db).await?;
    if !sessions::delete_listed(&mut tx, session, ending.subject.id).await? {
        return Err(EndError::NotFound);
    }
    let asking = ending.by.session().is_some_and(|asking| session.is(asking));
    let detail = format!(
        "{} ({})",
        device_name(session.user_agent.as_deref()),
        if asking {
            "this session"
        } else {
            "one session"
        }
    );
    record(&mut tx, ending, &detail, now).await?;
    tx.commit(&state.revocations).await?;
    Ok(())
}

/// Ends every session of the subject but the asking one; returns how many ended.
pub async fn end_others(state: &AppState, ending: Ending<'_>) -> Result<u64, EndError> {
    ending.plan()?;
    let now = state.clock.now();
    let mut tx = RevokingTx::begin_quiet(&state.db).await?;
    let ended = match ending.by.session() {
        Some(asking) => sessions::delete_others(&mut tx, ending.subject.id, asking).await?,
        None => sessions::delete_for_user(&mut tx, ending.subject.id).await?,
    };
    if ended > 0 {
        let detail = format!("{ended} session(s)");
        record(&mut tx, ending, &detail, now).await?;
    }
    tx.commit(&state.revocations).await?;
    Ok(ended)
}

async fn record(
    tx: &mut RevokingTx,
    ending: Ending<'_>,
    detail: &str,
    now: u64,
) -> Result<(), sqlx::Error> {
    let by_admin = !matches!(ending.by, By::User { user, .. } if user.id == ending.subject.id);
    let detail = match ending.by {
        By::User { user, .. } if by_admin => {
            format!("{detail}, ended by administrator {}", user.username)
        }
        By::User { .. } => format!("{detail}, ended by the user"),
        By::Operator => format!("{detail}, ended with the server CLI"),
    };
    let event = audit::Event {
        kind: AuditEventKind::SessionsEnded,
        actor: ending.by.audit_actor(),
        subject: audit::Subject::User(ending.subject),
        client_addr: ending.client_addr,
        detail: Some(&detail),
    };
    audit::write(&mut ***tx, event, now).await?;
    tracing::info!(
        user_id = ending.subject.id,
        by_admin,
        "sessions ended from the sessions list"
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::device_name;

    #[test]
    fn devices_are_named_from_the_user_agent() {
        let chrome = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36";
        assert_eq!(device_name(Some(chrome)), "Chrome on Linux");
        let firefox =
            "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0";
        assert_eq!(device_name(Some(firefox)), "Firefox on Windows 10");
        assert_eq!(device_name(Some("x")), "Unknown browser");
        assert_eq!(device_name(None), "Unknown browser");
    }
}
