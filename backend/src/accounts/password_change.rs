//! Changing one's own password (`POST /api/me/password`): the current password is checked
//! under the password step's limits (same counter, reserved before the hash), the new one
//! must pass the rules for new passwords and not be a common one, and then, in one
//! transaction, the hash is replaced, what the account-changes table says is revoked (every
//! other session, every known browser, and this session's token, which is replaced by a new
//! one that counts as having just proved who it is), and the change is recorded.

use crate::accounts::changes::{self, Refusal};
use crate::accounts::passwords::HashError;
use crate::accounts::users::{self, UserRecord};
use crate::accounts::{By, apply, known_browsers::BrowserToken};
use crate::mail::{self, MailKind};
use crate::sessions::SessionRecord;
use crate::sessions::revoking_tx::RevokingTx;
use crate::sign_in::{self, PasswordAttempt, PasswordError, Purpose};
use crate::state::AppState;
use crate::web::client_addr::ClientAddr;
use crate::{accounts::common_passwords, audit};
use twostep_shared::api::AuditEventKind;
use twostep_shared::input::Username;

/// Why the password was not changed.
#[derive(Debug, thiserror::Error)]
pub enum ChangeError {
    #[error(transparent)]
    Refused(#[from] Refusal),
    /// Organizational accounts have no password here.
    #[error("organizational account of {provider}")]
    Organizational { provider: String },
    /// The new password breaks a rule (the message says which).
    #[error("new password refused: {0}")]
    NewPasswordRefused(String),
    #[error("the new password is the current one")]
    Unchanged,
    /// The current password is wrong, or a limit refused the attempt.
    #[error(transparent)]
    Current(PasswordError),
    #[error(transparent)]
    Hash(#[from] HashError),
    #[error(transparent)]
    Database(#[from] sqlx::Error),
}

/// A password change request. `Debug` leaves both passwords out.
pub struct Change<'a> {
    pub user: &'a UserRecord,
    pub session: &'a SessionRecord,
    /// Whether `session` signed in recently (the table's proof besides the current password).
    pub recent: bool,
    pub current_password: &'a str,
    pub new_password: &'a str,
    pub browser: Option<BrowserToken>,
    pub client: &'a ClientAddr,
}

impl std::fmt::Debug for Change<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Change")
            .field("user_id", &self.user.id)
            .finish_non_exhaustive()
    }
}

/// What a password change did.
#[derive(Debug)]
pub struct Changed {
    pub sessions_ended: u64,
    /// The asking session's new token (the old one stopped working).
    pub token: String,
}

/// Changes the password.
pub async fn change_password(
    state: &AppState,
    change: Change<'_>,
    now: u64,
) -> Result<Changed, ChangeError> {
    let user = change.user;
    let by = By::User {
        user,
        session: change.session,
        recent: change.recent,
    };
    let plan = changes::decide(changes::Change::ChangePassword, by.facts(user, false)?)?;
    if let Some(provider) = &user.identity_provider {
        return Err(ChangeError::Organizational {
            provider: provider.clone(),
        });
    }
    // Cheap checks of the new password first: a refused one costs no hash and no try.
    let new_password = common_passwords::parse_new(change.new_password)
        .map_err(ChangeError::NewPasswordRefused)?;
    if change.new_password == change.current_password {
        return Err(ChangeError::Unchanged);
    }
    let username = Username::parse(&user.username)
        .map_err(|_| ChangeError::Current(PasswordError::BadCredentials))?;
    let attempt = PasswordAttempt {
        username: &username,
        password: change.current_password,
        browser: change.browser,
        client: change.client,
        purpose: Purpose::PasswordChange,
    };
    let accepted = sign_in::check_password(state, &attempt, now)
        .await
        .map_err(ChangeError::Current)?;
    let hash = state.hasher.hash(new_password.expose().to_owned()).await?;
    let mut tx = RevokingTx::begin(&state.db).await?;
    accepted.clear(&mut **tx).await?;
    if !users::set_password_hash(&mut tx, &user.username, &hash, false).await? {
        return Err(ChangeError::Organizational {
            provider: String::new(),
        });
    }
    // Before the revocation gives the session a new token (its browser is read by the old).
    let (mail, client) = (state.settings.mail(), change.client.as_deref());
    mail::tell_change(
        &mut tx,
        mail,
        by,
        user,
        MailKind::PasswordChanged,
        client,
        now,
    )
    .await?;
    let revoked = apply::revoke(&mut tx, &plan, user.id, Some(change.session), now)
        .await
        .map_err(|e| match e {
            apply::RevokeError::SessionEnded => ChangeError::Refused(Refusal::NotAllowed),
            apply::RevokeError::Database(e) => ChangeError::Database(e),
        })?;
    let ended = revoked.sessions_ended;
    let token = revoked.new_token.unwrap_or_default();
    let detail = format!("changed by the user; {ended} other session(s) ended");
    let event = audit::Event::own(
        AuditEventKind::PasswordChanged,
        user,
        change.client.as_deref(),
    )
    .with_detail(&detail);
    audit::write(&mut **tx, event, now).await?;
    tx.commit(&state.revocations).await?;
    tracing::info!(user_id = user.id, ended, "password changed");
    Ok(Changed {
        sessions_ended: ended,
        token,
    })
}
