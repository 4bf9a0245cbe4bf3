//! Checking a password (the password step of sign-in, and a password given as proof) and
//! the password step as one use case: every limit is reserved before the hash, and a right
//! password commits its writes in one transaction.
//!
//! Order of the guards (cheapest first, each refusing before any work): the per-address
//! window (skipped with a valid device cookie for the typed name), one hashing job per
//! counter key on this instance, then the counter in the database; only then Argon2.

use crate::app::AppState;
use crate::code_step::{self, CodeCheck, CodeError};
use crate::device_cookie::DeviceCookie;
use crate::error::ApiResult;
use crate::extract::ClientAddr;
use crate::guards::{self, AddressReservation, Refused};
use crate::passwords::HashError;
use crate::sessions::{self, Origin, Stage};
use crate::users::{self, UserRecord};
use crate::{audit, metrics, recovery};
use twostep_shared::api::{AuditEventKind, User};
use twostep_shared::input::{RecoveryCode, Username};

/// Why a password was not accepted.
#[derive(Debug, thiserror::Error)]
pub enum PasswordError {
    /// Wrong username or password (never says which).
    #[error("bad credentials")]
    BadCredentials,
    /// The name is an organizational account, which has no password here.
    #[error("organizational account of {provider}")]
    Organizational {
        username: String,
        provider: String,
        /// Whether that provider is configured here (else the answer says to ask an
        /// administrator).
        provider_configured: bool,
    },
    #[error(transparent)]
    Refused(#[from] Refused),
    #[error(transparent)]
    Hash(#[from] HashError),
    #[error(transparent)]
    Database(#[from] sqlx::Error),
}

/// What the password is for (recorded in the audit log).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    SignIn,
    /// Proof for removing one's own device; a right unused recovery code is accepted too.
    RemovalProof,
    /// Confirming it's you before a sensitive action (`POST /api/session/reauthenticate`).
    Reauthentication,
    /// The current password, to change it.
    PasswordChange,
}

impl Purpose {
    /// As the log and the audit log's detail name it.
    fn as_str(self) -> &'static str {
        match self {
            Purpose::SignIn => "sign-in",
            Purpose::RemovalProof => "removal proof",
            Purpose::Reauthentication => "re-authentication",
            Purpose::PasswordChange => "password change",
        }
    }
}

/// One password attempt. `Debug` leaves out the password.
pub struct PasswordAttempt<'a> {
    pub username: &'a Username,
    pub password: &'a str,
    /// The browser's device cookie, if it sent a valid one.
    pub device: Option<DeviceCookie>,
    pub client: &'a ClientAddr,
    pub purpose: Purpose,
}

impl std::fmt::Debug for PasswordAttempt<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PasswordAttempt")
            .field("purpose", &self.purpose)
            .field("trusted_browser", &self.device.is_some())
            .finish_non_exhaustive()
    }
}

/// A right password (or, as removal proof, recovery code). Its counter is cleared by
/// [`Accepted::clear`] inside the caller's transaction; the address's reservation is handed
/// back when this is dropped.
pub struct Accepted {
    pub user: UserRecord,
    /// The recovery code that was given instead of the password (removal proof), by id.
    pub recovery_code: Option<i64>,
    counter_key: String,
    _address: AddressReservation,
}

impl Accepted {
    pub async fn clear<'c>(
        &self,
        db: impl sqlx::Executor<'c, Database = sqlx::Any>,
    ) -> Result<(), sqlx::Error> {
        guards::clear_password(db, &self.counter_key).await
    }
}

/// Checks a password under every limit; a wrong one stays counted and is recorded.
pub async fn check_password(
    state: &AppState,
    attempt: &PasswordAttempt<'_>,
    now: u64,
) -> Result<Accepted, PasswordError> {
    let username = attempt.username.as_str();
    let trusted = attempt.device.as_ref().filter(|d| d.username == username);
    let counter_key = match trusted {
        Some(device) => device.counter_key(),
        None => state.macs.name_key(username),
    };
    let address = match (trusted, attempt.client.ip()) {
        (None, Some(ip)) => state.addresses.reserve(ip, now).map_err(Refused::Wait)?,
        _ => AddressReservation::none(),
    };
    let _turn = state.in_flight.enter(&counter_key)?;
    let lookup = users::lookup_for_password(&state.db, username, &counter_key).await?;
    guards::reserve_password(&state.db, &counter_key, lookup.counter, now).await?;
    let (user, hash) = match lookup.account {
        Some((user, hash)) => (Some(user), hash),
        None => (None, None),
    };
    if let (Purpose::RemovalProof, Some(user), Ok(code)) = (
        attempt.purpose,
        &user,
        RecoveryCode::parse(attempt.password),
    ) && let Some(id) = recovery::find_unused(&state.db, &state.macs, user.id, &code).await?
    {
        return Ok(Accepted {
            user: user.clone(),
            recovery_code: Some(id),
            counter_key,
            _address: address,
        });
    }
    let right = state
        .hasher
        .verify(attempt.password.to_owned(), hash)
        .await?;
    match user {
        Some(user) if right => Ok(Accepted {
            user,
            recovery_code: None,
            counter_key,
            _address: address,
        }),
        user => {
            address.keep();
            Err(refuse(state, attempt, user.as_ref(), now).await)
        }
    }
}

/// Records a wrong password (log and audit log, without the typed name when it is not an
/// account) and says how to answer.
async fn refuse(
    state: &AppState,
    attempt: &PasswordAttempt<'_>,
    user: Option<&UserRecord>,
    now: u64,
) -> PasswordError {
    let purpose = attempt.purpose.as_str();
    let organizational = user.and_then(|u| u.identity_provider.clone());
    let (subject, detail) = match user {
        Some(user) => {
            tracing::info!(
                user_id = user.id,
                purpose,
                organizational = organizational.is_some(),
                "password refused"
            );
            let detail = match (&organizational, attempt.purpose) {
                (Some(idp), _) => format!("organizational account: signs in through {idp}"),
                (None, Purpose::SignIn) => String::new(),
                (None, other) => other.as_str().to_owned(),
            };
            (audit::Subject::User(user), detail)
        }
        None => {
            let reference = state.macs.name_ref(attempt.username.as_str());
            tracing::info!(name_ref = %reference, purpose, "password refused: unknown account");
            (
                audit::Subject::Name("unknown account"),
                format!("typed name ref {reference}"),
            )
        }
    };
    let event = audit::Event {
        kind: AuditEventKind::SignInFailedPassword,
        actor: match (user, attempt.purpose) {
            (None, _) | (_, Purpose::SignIn) => audit::Actor::Anonymous,
            (Some(user), _) => audit::Actor::User(user),
        },
        subject,
        client_addr: attempt.client.as_deref(),
        detail: (!detail.is_empty()).then_some(detail.as_str()),
    };
    audit::record(&state.db, event, now).await;
    match organizational {
        Some(provider) => PasswordError::Organizational {
            username: attempt.username.to_string(),
            provider_configured: state.settings.identity_provider(&provider).is_some(),
            provider,
        },
        None => PasswordError::BadCredentials,
    }
}

/// Signs out: ends the session of the cookie `token`, if there is one, and revokes it.
pub async fn sign_out(state: &AppState, token: Option<&str>) -> Result<(), sqlx::Error> {
    let Some(token) = token else {
        return Ok(());
    };
    let mut tx = state.db.begin().await?;
    if sessions::delete(&mut *tx, &sessions::hash_token(token)).await? {
        let payload = crate::revocation::announce(&mut tx).await?;
        tx.commit().await?;
        state.revocations.committed_and_heard(payload).await;
    }
    Ok(())
}

/// A session the password step started.
pub struct Started {
    pub user: UserRecord,
    /// For the session cookie.
    pub token: String,
    pub stage: Stage,
    /// The renewed device cookie for this browser.
    pub device_cookie: axum_extra::extract::cookie::Cookie<'static>,
}

/// The password step: checks the password, then in one transaction clears its counter, ends
/// the browser's previous session, starts the new one (`verifying` when the account has a
/// device) and, when signed in at once, records it.
pub async fn password_step(
    state: &AppState,
    attempt: PasswordAttempt<'_>,
    previous_session: Option<&str>,
    origin: &Origin,
    now: u64,
) -> Result<Started, PasswordError> {
    let result = start_session(state, attempt, previous_session, origin, now).await;
    let outcome = match &result {
        Ok(started) if started.stage == Stage::Verifying => Some(metrics::SignIn::CodeRequired),
        Ok(_) => Some(metrics::SignIn::SignedIn),
        Err(PasswordError::BadCredentials | PasswordError::Organizational { .. }) => {
            Some(metrics::SignIn::BadCredentials)
        }
        Err(PasswordError::Refused(_)) => Some(metrics::SignIn::Throttled),
        Err(_) => None,
    };
    if let Some(outcome) = outcome {
        metrics::sign_in(outcome);
    }
    result
}

async fn start_session(
    state: &AppState,
    attempt: PasswordAttempt<'_>,
    previous_session: Option<&str>,
    origin: &Origin,
    now: u64,
) -> Result<Started, PasswordError> {
    let accepted = check_password(state, &attempt, now).await?;
    let user = &accepted.user;
    let mut tx = state.db.begin().await?;
    accepted.clear(&mut *tx).await?;
    let mut revoked = None;
    if let Some(token) = previous_session
        && sessions::delete(&mut *tx, &sessions::hash_token(token)).await?
    {
        revoked = Some(crate::revocation::announce(&mut tx).await?);
    }
    let (token, stage) = sessions::create_after_password(&mut *tx, user.id, origin, now).await?;
    if stage == Stage::SignedIn {
        let detail = origin.sign_in_detail("");
        let mut event =
            audit::Event::own(AuditEventKind::SignedIn, user, attempt.client.as_deref());
        event.detail = detail.as_deref();
        audit::write(&mut *tx, event, now).await?;
    }
    tx.commit().await?;
    if let Some(payload) = revoked {
        state.revocations.committed_and_heard(payload).await;
    }
    if stage == Stage::SignedIn {
        tracing::info!(user_id = user.id, "signed in");
    }
    let device_cookie = DeviceCookie::issue(
        &state.macs,
        user.username.as_str(),
        now,
        state.settings.secure_cookies,
    );
    Ok(Started {
        user: accepted.user.clone(),
        token,
        stage,
        device_cookie,
    })
}

/// The code step: the code is checked against the device read with the waiting session (one
/// query, [`code_step::pending`]); a right code is spent, the waiting session replaced by a
/// new signed-in one and the sign-in recorded, in one transaction. Returns the new session's
/// token and the account as the app shows it.
pub async fn finish_with_code(
    state: &AppState,
    pending: code_step::Pending,
    code: &str,
    origin: &Origin,
    client: &ClientAddr,
) -> ApiResult<(String, User)> {
    let code_step::Pending {
        session,
        user,
        device,
    } = pending;
    let check = CodeCheck {
        user: &user,
        client_addr: client.as_deref(),
        purpose: "sign-in",
        recovery_allowed: true,
    };
    let now = state.clock.now();
    let (mut tx, _) = code_step::verify_device(state, check, device, code, now).await?;
    // A new token for the signed-in session: the pending one is never promoted, and is
    // used once (a second right code on the same pending session finds it gone).
    if !sessions::delete(&mut **tx, &session.token_hash).await? {
        return Err(CodeError::Replayed.into());
    }
    let token = sessions::create(&mut **tx, user.id, Stage::SignedIn, origin, now).await?;
    let detail = origin.sign_in_detail("with 2-step verification");
    let mut event = audit::Event::own(AuditEventKind::SignedIn, &user, client.as_deref());
    event.detail = detail.as_deref();
    audit::write(&mut **tx, event, now).await?;
    tx.commit(&state.revocations).await?;
    tracing::info!(user_id = user.id, "signed in with a verification code");
    let status = crate::two_step::status(&state.db, user.id).await?;
    Ok((token, user.to_api(Some(status))))
}
