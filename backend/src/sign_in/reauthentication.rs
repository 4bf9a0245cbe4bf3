//! "Confirm it's you": a signed-in session proves who it is again before a sensitive action
//! (`POST /api/session/reauthenticate`), with the password (counted like the password step,
//! on the same counter, before the hash) or, for an account with a device, a current app code
//! (counted and spent like a sign-in code) or an answer of one of its security keys. In the transaction that clears the counter or
//! spends the code, the session gets a new token (the old one stops working) whose
//! `authenticated_at` is now.

use crate::accounts::changes::{self, Change, Refusal};
use crate::accounts::users::UserRecord;
use crate::accounts::{By, apply, known_browsers::BrowserToken};
use crate::factors::ceremonies;
use crate::factors::code_step::{self, CodeCheck, CodeError};
use crate::factors::security_keys::{self, KeyError};
use crate::sessions::SessionRecord;
use crate::sessions::revoking_tx::RevokingTx;
use crate::sign_in::{self, PasswordAttempt, PasswordError, Purpose};
use crate::state::AppState;
use crate::web::client_addr::ClientAddr;
use twostep_shared::input::{TotpCode, Username};
use twostep_shared::security_keys::AssertionCredential;

/// What the session offers as proof. `Debug` leaves the secret out.
pub enum Proof<'a> {
    Password(&'a str),
    Code(&'a str),
    /// An answer of one of the account's keys to the session's proof ceremony.
    SecurityKey(&'a AssertionCredential),
}

impl std::fmt::Debug for Proof<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Proof::Password(_) => "Password(***)",
            Proof::Code(_) => "Code(***)",
            Proof::SecurityKey(_) => "SecurityKey(***)",
        })
    }
}

/// Why re-authentication failed.
#[derive(Debug, thiserror::Error)]
pub enum ReauthError {
    /// Neither or both of `password` and `code` were given.
    #[error("give either a password or a code")]
    NoProof,
    /// An organizational account confirms at its identity provider: by signing in there again.
    #[error("organizational account of {provider}")]
    Organizational { provider: String },
    #[error(transparent)]
    Password(PasswordError),
    #[error(transparent)]
    Code(#[from] CodeError),
    #[error(transparent)]
    Key(#[from] KeyError),
    /// The session ended meanwhile.
    #[error("the session ended")]
    SessionEnded,
    #[error(transparent)]
    Refused(#[from] Refusal),
    #[error(transparent)]
    Database(#[from] sqlx::Error),
}

impl From<apply::RevokeError> for ReauthError {
    fn from(error: apply::RevokeError) -> Self {
        match error {
            apply::RevokeError::SessionEnded => Self::SessionEnded,
            apply::RevokeError::Database(e) => Self::Database(e),
        }
    }
}

impl From<PasswordError> for ReauthError {
    fn from(error: PasswordError) -> Self {
        match error {
            PasswordError::Organizational { provider, .. } => Self::Organizational { provider },
            other => Self::Password(other),
        }
    }
}

/// Who confirms, from where.
#[derive(Debug)]
pub struct Confirming<'a> {
    pub user: &'a UserRecord,
    pub session: &'a SessionRecord,
    pub browser: Option<BrowserToken>,
    pub client: &'a ClientAddr,
}

/// Checks the proof under its limits and gives the session a new token that has proved who it
/// is now; returns the new token.
pub async fn reauthenticate(
    state: &AppState,
    who: Confirming<'_>,
    proof: Proof<'_>,
    now: u64,
) -> Result<String, ReauthError> {
    let by = By::User {
        user: who.user,
        session: who.session,
        recent: false,
    };
    let plan = changes::decide(Change::ConfirmItsYou, by.facts(who.user, false)?)?;
    if let Some(provider) = &who.user.identity_provider {
        return Err(ReauthError::Organizational {
            provider: provider.clone(),
        });
    }
    let mut tx = match proof {
        Proof::Password(password) => {
            let username = Username::parse(&who.user.username)
                .map_err(|_| ReauthError::Password(PasswordError::BadCredentials))?;
            let attempt = PasswordAttempt {
                username: &username,
                password,
                browser: who.browser,
                client: who.client,
                purpose: Purpose::Reauthentication,
            };
            let accepted = sign_in::check_password(state, &attempt, now).await?;
            let mut tx = RevokingTx::begin_quiet(&state.db).await?;
            accepted.clear(&mut **tx).await?;
            tx
        }
        Proof::Code(code) => {
            TotpCode::parse(code).map_err(|e| CodeError::Invalid(e.to_string()))?;
            let check = CodeCheck {
                user: who.user,
                client_addr: who.client.as_deref(),
                purpose: "re-authentication",
                recovery_allowed: false,
            };
            code_step::verify(state, check, code, now).await?.0
        }
        Proof::SecurityKey(answer) => {
            let handle = ceremonies::handle(ceremonies::Purpose::Proof, &who.session.token_hash);
            security_keys::verify_assertion(
                state,
                who.user,
                &handle,
                answer,
                who.client.as_deref(),
                "re-authentication",
                now,
            )
            .await?
        }
    };
    // Revoking: the old token stops working, also where it is cached.
    let revoked = apply::revoke(&mut tx, &plan, who.user.id, Some(who.session), now).await?;
    let token = revoked.new_token.ok_or(ReauthError::SessionEnded)?;
    tx.commit(&state.revocations).await?;
    tracing::info!(user_id = who.user.id, "re-authenticated");
    Ok(token)
}
