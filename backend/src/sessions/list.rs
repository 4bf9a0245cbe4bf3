//! "Where you're signed in": a user's live sessions with a readable device, and ending them
//! (one, or every one but the asking session), each end recorded in the audit log. The
//! holder uses it from Manage profile, an administrator from Manage user.

use crate::accounts::By;
use crate::accounts::changes::{self, Change, Plan, Refusal};
use crate::accounts::users::UserRecord;
use crate::audit;
use crate::sessions::revoking_tx::RevokingTx;
use crate::sessions::{self, SessionRecord};
use crate::state::AppState;
use twostep_shared::account::{SessionInfo, SessionList};
use twostep_shared::api::AuditEventKind;

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
            device: sessions::browser_name(session.user_agent.as_deref()),
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
        sessions::browser_name(session.user_agent.as_deref()),
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
