//! Checking a password (the password step of sign-in, and a password given as proof) and
//! the password step as one use case: every limit is reserved before the hash, and a right
//! password commits its writes in one transaction.
//!
//! Order of the guards (cheapest first, each refusing before any work): one attempt at a
//! time on this instance per cookie shown or, without a known browser, per typed name (in
//! memory); whether the cookie names one of the typed account's known browsers (one indexed
//! read); the per-address window (skipped from a known browser); the counter in the database
//! (reserved by compare-and-set); then this instance's hashing turns: one per account however
//! many known browsers a client shows, and at most [`guards::PER_ADDRESS_HASHING`] per client
//! address; only then Argon2. A refusal after the reservation that is not a wrong answer (a
//! busy hashing turn, a full hashing queue, a database error) hands the reservation back.

pub mod reauthentication;

use crate::accounts::known_browsers::{self, BrowserToken};
use crate::accounts::passwords::HashError;
use crate::accounts::users::{self, UserRecord};
use crate::factors::ceremonies;
use crate::factors::code_step::{self, CodeCheck, CodeError};
use crate::factors::security_keys::{self, KeyError};
use crate::limits::guards::{self, AddressReservation, Refused};
use crate::mail::{MailKind, Notice, outbox};
use crate::sessions::revoking_tx::RevokingTx;
use crate::sessions::{self, Origin, Stage};
use crate::state::AppState;
use crate::web::client_addr::ClientAddr;
use crate::{audit, metrics};
use axum_extra::extract::cookie::Cookie;
use sqlx::Row;
use twostep_shared::api::{AuditEventKind, User};
use twostep_shared::input::Username;
use twostep_shared::security_keys::AssertionCredential;

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
    /// The password is right, but an administrator disabled the account (said only to whoever
    /// knows the password).
    #[error("the account is disabled")]
    Disabled,
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
            Purpose::Reauthentication => "re-authentication",
            Purpose::PasswordChange => "password change",
        }
    }
}

/// One password attempt. `Debug` leaves out the password.
pub struct PasswordAttempt<'a> {
    pub username: &'a Username,
    pub password: &'a str,
    /// The browser's known-browser cookie, if it sent one (checked against the server for
    /// the typed name).
    pub browser: Option<BrowserToken>,
    pub client: &'a ClientAddr,
    pub purpose: Purpose,
}

impl std::fmt::Debug for PasswordAttempt<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PasswordAttempt")
            .field("purpose", &self.purpose)
            .field("known_browser_cookie", &self.browser.is_some())
            .finish_non_exhaustive()
    }
}

/// A right password. Its counter is cleared by [`Accepted::clear`] inside the caller's
/// transaction; the address's reservation is handed back when this is dropped.
pub struct Accepted {
    pub user: UserRecord,
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
    let account_key = state.macs.name_key(username);
    // One attempt at a time per cookie shown, then per counter: refused before any database
    // work, so a flood of the same cookie or name costs nothing.
    let mut turn = match &attempt.browser {
        Some(token) => state.in_flight.enter_key(&token.turn_key())?,
        None => state.in_flight.enter_key(&account_key)?,
    };
    let known = match &attempt.browser {
        Some(token) => known_browsers::find(&state.db, token, username, now).await?,
        None => None,
    };
    let counter_key = match &known {
        Some(browser) => browser.counter_key(),
        None => account_key.clone(),
    };
    if attempt.browser.is_some() && known.is_none() {
        // A cookie that is not one of this account's known browsers counts for nothing.
        turn = state.in_flight.enter_key(&account_key)?;
    }
    let _turn = turn;
    let address = match (&known, attempt.client.ip()) {
        (None, Some(ip)) => state.addresses.reserve(ip, now).map_err(Refused::Wait)?,
        _ => AddressReservation::none(),
    };
    // One check of the account hashing at a time (and a few per address), then a place in the
    // hashing queue: both taken before the account's database work, so a refusal costs nothing
    // more (a known browser's row was the only read) and holds no place another could use.
    let _hashing = state.in_flight.enter(&account_key, attempt.client.ip())?;
    let place = state.hasher.place()?;
    // The lookup and the reservation on one connection, given back before the hash.
    let mut conn = state.db.acquire().await?;
    let lookup = users::lookup_for_password(&mut conn, username, &counter_key).await?;
    guards::reserve_password(&mut conn, &counter_key, lookup.counter, now).await?;
    drop(conn);
    // Reserved: from here, a refusal that is not a wrong password hands it back.
    let hash = lookup.account.as_ref().and_then(|(_, hash)| hash.clone());
    let checked = place.verify(attempt.password.to_owned(), hash).await;
    let right = match checked {
        Ok(right) => right,
        Err(error) => {
            if let Err(release) = guards::release_password(&state.db, &counter_key).await {
                tracing::warn!(error = %release, "a password reservation was not handed back");
            }
            return Err(error.into());
        }
    };
    match lookup.account {
        Some((user, _)) if right && user.disabled => {
            // Not a wrong password: not counted as one.
            if let Err(release) = guards::release_password(&state.db, &counter_key).await {
                tracing::warn!(error = %release, "a password reservation was not handed back");
            }
            audit::record(
                &state.db,
                audit::Event {
                    kind: AuditEventKind::SignInFailedPassword,
                    actor: audit::Actor::Anonymous,
                    subject: audit::Subject::User(&user),
                    client_addr: attempt.client.as_deref(),
                    detail: Some("the account is disabled"),
                },
                now,
            )
            .await;
            Err(PasswordError::Disabled)
        }
        Some((user, _)) if right => Ok(Accepted {
            user,
            counter_key,
            _address: address,
        }),
        account => {
            address.keep();
            Err(refuse(state, attempt, account.as_ref().map(|(user, _)| user), now).await)
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

/// Queues the security e-mail of a sign-in event (see [`outbox::queue`]).
async fn tell(
    conn: &mut sqlx::AnyConnection,
    state: &AppState,
    user: &UserRecord,
    kind: MailKind,
    origin: &Origin,
    cancel_key: Option<&str>,
    now: u64,
) -> Result<bool, sqlx::Error> {
    let browser = origin
        .user_agent
        .as_deref()
        .map(|ua| sessions::browser_name(Some(ua)));
    let notice = Notice::own(kind, &user.username, now)
        .from_client(origin.client_addr.as_deref(), browser.as_deref());
    outbox::queue(
        conn,
        state.settings.mail(),
        user.id,
        notice,
        cancel_key,
        now,
    )
    .await
}

/// Signs out: ends the session of the cookie `token`, if there is one, and revokes it.
pub async fn sign_out(state: &AppState, token: Option<&str>) -> Result<(), sqlx::Error> {
    let Some(token) = token else {
        return Ok(());
    };
    let mut tx = RevokingTx::begin_quiet(&state.db).await?;
    sessions::delete(&mut tx, &sessions::hash_token(token)).await?;
    tx.commit(&state.revocations).await
}

/// A session the password step started.
pub struct Started {
    pub user: UserRecord,
    /// For the session cookie.
    pub token: String,
    pub stage: Stage,
    /// A new known-browser cookie, when the sign-in is done (no code step) and this browser
    /// was not yet one of the account's known browsers.
    pub browser_cookie: Option<Cookie<'static>>,
    /// The second factors the account has (told only after the right password), when the
    /// code step is next.
    pub factors: Factors,
}

/// Which second factors an account has, as the step after the password tells the browser.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Factors {
    /// The authenticator app.
    pub app: bool,
    /// At least one security key.
    pub security_keys: bool,
}

/// The second factors of `user_id`, read in `conn` (none without 2-step verification).
async fn factors_of(conn: &mut sqlx::AnyConnection, user_id: i64) -> Result<Factors, sqlx::Error> {
    let row = sqlx::query(
        "SELECT d.has_app AS has_app,
                CASE WHEN EXISTS (SELECT 1 FROM security_keys k WHERE k.user_id = d.user_id)
                     THEN 1 ELSE 0 END AS has_keys
         FROM two_step_devices d WHERE d.user_id = $1",
    )
    .bind(user_id)
    .fetch_optional(conn)
    .await?;
    let Some(row) = row else {
        return Ok(Factors::default());
    };
    Ok(Factors {
        app: row.try_get::<i64, _>("has_app")? != 0,
        security_keys: row.try_get::<i64, _>("has_keys")? != 0,
    })
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
    let mut tx = RevokingTx::begin_quiet(&state.db).await?;
    accepted.clear(&mut **tx).await?;
    if let Some(token) = previous_session {
        sessions::delete(&mut tx, &sessions::hash_token(token)).await?;
    }
    let (token, stage) = sessions::create_after_password(&mut **tx, user.id, origin, now).await?;
    let mut browser_cookie = None;
    let mut factors = Factors::default();
    if stage == Stage::SignedIn {
        let detail = origin.sign_in_detail("");
        let mut event =
            audit::Event::own(AuditEventKind::SignedIn, user, attempt.client.as_deref());
        event.detail = detail.as_deref();
        audit::write(&mut **tx, event, now).await?;
        browser_cookie = known_browsers::issue(
            &mut tx,
            attempt.browser.as_ref(),
            user.id,
            now,
            state.settings.secure_cookies,
        )
        .await?;
        if browser_cookie.is_some() {
            tell(
                &mut tx,
                state,
                user,
                MailKind::NewBrowser,
                origin,
                None,
                now,
            )
            .await?;
        }
    } else {
        factors = factors_of(&mut tx, user.id).await?;
        // Told in 10 minutes, unless the code step of this session completes before.
        let key = sessions::hash_token(&token);
        let kind = MailKind::CodeStepNotCompleted;
        tell(&mut tx, state, user, kind, origin, Some(&key), now).await?;
    }
    tx.commit(&state.revocations).await?;
    if stage == Stage::SignedIn {
        tracing::info!(user_id = user.id, "signed in");
    }
    Ok(Started {
        user: accepted.user.clone(),
        token,
        stage,
        browser_cookie,
        factors,
    })
}

/// The code step: the code is checked against the device read with the waiting session (one
/// query, [`code_step::pending`]); a right code is spent, the waiting session replaced by a
/// new signed-in one and the sign-in recorded, in one transaction. Returns the new session's
/// token, the account as the app shows it, and a known-browser cookie for a browser that was
/// not one of the account's yet.
pub async fn finish_with_code(
    state: &AppState,
    pending: code_step::Pending,
    code: &str,
    origin: &Origin,
    client: &ClientAddr,
    browser: Option<&BrowserToken>,
) -> Result<(String, User, Option<Cookie<'static>>), CodeError> {
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
    if !sessions::delete(&mut tx, &session.token_hash).await? {
        return Err(CodeError::Replayed);
    }
    let done = Done {
        user,
        origin,
        client,
        browser,
        waiting: Some(&session.token_hash),
        how: "with 2-step verification",
    };
    Ok(signed_in(state, tx, done, now).await?)
}

/// A whole sign-in, as [`signed_in`] records it.
pub struct Done<'a> {
    pub user: UserRecord,
    pub origin: &'a Origin,
    pub client: &'a ClientAddr,
    pub browser: Option<&'a BrowserToken>,
    /// The waiting session the second step finished (its "code step not completed" e-mail
    /// is then not sent); none for a passkey, which has no waiting session.
    pub waiting: Option<&'a str>,
    /// For the audit log, e.g. "with 2-step verification".
    pub how: &'static str,
}

/// The end of a whole sign-in, in `tx` (where the second step was spent): a new signed-in
/// session, the sign-in recorded, a known-browser cookie for a browser that was not one of
/// the account's yet; committed. Returns the new token and the account as the app shows it.
pub async fn signed_in(
    state: &AppState,
    mut tx: RevokingTx,
    done: Done<'_>,
    now: u64,
) -> Result<(String, User, Option<Cookie<'static>>), sqlx::Error> {
    let user = done.user;
    let token = sessions::create(&mut **tx, user.id, Stage::SignedIn, done.origin, now).await?;
    let detail = done.origin.sign_in_detail(done.how);
    let mut event = audit::Event::own(AuditEventKind::SignedIn, &user, done.client.as_deref());
    event.detail = detail.as_deref();
    audit::write(&mut **tx, event, now).await?;
    let browser_cookie = known_browsers::issue(
        &mut tx,
        done.browser,
        user.id,
        now,
        state.settings.secure_cookies,
    )
    .await?;
    // The code step completed in time: "not completed" is not sent.
    if let Some(waiting) = done.waiting {
        outbox::cancel(&mut tx, waiting).await?;
    }
    if browser_cookie.is_some() {
        tell(
            &mut tx,
            state,
            &user,
            MailKind::NewBrowser,
            done.origin,
            None,
            now,
        )
        .await?;
    }
    tx.commit(&state.revocations).await?;
    tracing::info!(user_id = user.id, how = done.how, "signed in");
    let status = crate::factors::status::status(&state.db, user.id).await?;
    Ok((token, user.to_api(Some(status)), browser_cookie))
}

/// The second step with a security key: the key's answer is checked against the ceremony the
/// waiting session started ([`security_keys::verify_assertion`], counted like a code), then
/// the waiting session is replaced by a signed-in one, as with a code.
pub async fn finish_with_key(
    state: &AppState,
    pending: code_step::Pending,
    answer: &AssertionCredential,
    origin: &Origin,
    client: &ClientAddr,
    browser: Option<&BrowserToken>,
) -> Result<(String, User, Option<Cookie<'static>>), KeyError> {
    let code_step::Pending { session, user, .. } = pending;
    let now = state.clock.now();
    let handle = ceremonies::handle(ceremonies::Purpose::SignIn, &session.token_hash);
    let mut tx = security_keys::verify_assertion(
        state,
        &user,
        &handle,
        answer,
        client.as_deref(),
        "sign-in",
        now,
    )
    .await?;
    if !sessions::delete(&mut tx, &session.token_hash).await? {
        return Err(KeyError::Refused("the sign-in was already finished"));
    }
    let done = Done {
        user,
        origin,
        client,
        browser,
        waiting: Some(&session.token_hash),
        how: "with a security key",
    };
    Ok(signed_in(state, tx, done, now).await?)
}

/// A passkey alone (both steps): the key's answer names the account
/// ([`security_keys::verify_passkey`]); the browser's previous session ends and a signed-in
/// one starts.
pub async fn sign_in_with_passkey(
    state: &AppState,
    binding: &str,
    answer: &AssertionCredential,
    previous_session: Option<&str>,
    origin: &Origin,
    client: &ClientAddr,
    browser: Option<&BrowserToken>,
) -> Result<(String, User, Option<Cookie<'static>>), KeyError> {
    let now = state.clock.now();
    let (user, mut tx) =
        security_keys::verify_passkey(state, binding, answer, client.as_deref(), now).await?;
    if let Some(token) = previous_session {
        sessions::delete(&mut tx, &sessions::hash_token(token)).await?;
    }
    let done = Done {
        user,
        origin,
        client,
        browser,
        waiting: None,
        how: "with a passkey",
    };
    Ok(signed_in(state, tx, done, now).await?)
}
