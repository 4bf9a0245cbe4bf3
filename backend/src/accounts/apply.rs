//! Applying a change's revocations ([`changes::Plan::rule`]'s `revokes`) inside the change's
//! own [`RevokingTx`]: the only way the operations end sessions and known browsers or give
//! the asking session a new token, so what the table says is what happens.

use crate::accounts::changes::{Plan, Revoke};
use crate::accounts::known_browsers;
use crate::sessions::revoking_tx::RevokingTx;
use crate::sessions::{self, SessionRecord};

/// What the revocations did.
#[derive(Debug, Default)]
pub struct Revoked {
    /// Sessions ended (other or all).
    pub sessions_ended: u64,
    /// The asking session's new token, when the plan gives it one.
    pub new_token: Option<String>,
}

/// Why revocations could not be applied.
#[derive(Debug, thiserror::Error)]
pub enum RevokeError {
    /// The asking session ended meanwhile (it cannot get a new token).
    #[error("the session ended")]
    SessionEnded,
    #[error(transparent)]
    Database(#[from] sqlx::Error),
}

/// Applies `plan`'s revocations for `subject_id`; `asking` is the session the change comes
/// from. Every change tells the session caches (announced in `tx`), whatever else it revokes.
pub async fn revoke(
    tx: &mut RevokingTx,
    plan: &Plan,
    subject_id: i64,
    asking: Option<&SessionRecord>,
    now: u64,
) -> Result<Revoked, RevokeError> {
    tx.revoking().await?;
    let mut revoked = Revoked::default();
    for what in plan.rule.revokes {
        match (what, asking) {
            (Revoke::AllSessions, _) => {
                revoked.sessions_ended += sessions::delete_for_user(tx, subject_id).await?;
            }
            (Revoke::OtherSessions, Some(asking)) => {
                revoked.sessions_ended += sessions::delete_others(tx, subject_id, asking).await?;
            }
            (Revoke::OtherSessions, None) => {
                revoked.sessions_ended += sessions::delete_for_user(tx, subject_id).await?;
            }
            (Revoke::KnownBrowsers, _) => {
                known_browsers::end_all(tx, subject_id).await?;
            }
            (Revoke::AskingToken, Some(asking)) => {
                let token = sessions::step_up(tx, &asking.token_hash, now)
                    .await?
                    .ok_or(RevokeError::SessionEnded)?;
                revoked.new_token = Some(token);
            }
            // The operation ends the sessions its request names; the operator has no
            // session of its own.
            (Revoke::NamedSessions, _) | (Revoke::AskingToken, None) => {}
        }
    }
    Ok(revoked)
}
