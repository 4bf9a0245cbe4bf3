//! Security keys and passkeys (WebAuthn, through `webauthn-rs`): adding and removing a key,
//! a key as the second step of a sign-in and as proof of the second factor, and a passkey
//! signing in alone.
//!
//! ```text
//!   add:      start_registration ─► browser create() ─► finish_registration
//!             (the table's AddSecurityKey row; the first second factor turns 2-step
//!              verification on and brings the recovery codes)
//!   use:      start_assertion(purpose) ─► browser get() ─► verify_assertion
//!             reserve on the code counter ─► take the ceremony (once) ─► check the
//!             signature, origin and challenge ─► move the signature counter forward
//!             (compare-and-set; going back is refused and audited) ─► spent in the tx
//!   passkey:  start_passkey ─► browser get() (discoverable, user verification required)
//!             ─► finish_passkey: the key names its account; only a key registered with
//!             user verification may sign in alone
//! ```
//!
//! A key alone turns 2-step verification on: the account's `two_step_devices` row holds the
//! code step's counters, its lock and the recovery codes, with `has_app = 0` when there is no
//! authenticator app. A failed assertion is counted on the same counter as a wrong code,
//! reserved before the check.

use crate::accounts::By;
use crate::accounts::apply;
use crate::accounts::changes::{self, Change, Plan, Refusal};
use crate::accounts::users::{self, UserRecord};
use crate::factors::ceremonies::{self, Purpose};
use crate::factors::{recovery, status};
use crate::limits::guards::{self, CodeCounter, Refused};
use crate::limits::policy;
use crate::mail::{self, MailKind};
use crate::sessions::revoking_tx::RevokingTx;
use crate::state::AppState;
use crate::web::client_addr::ClientAddr;
use crate::{audit, metrics};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64URL;
use sqlx::Row;
use twostep_shared::api::AuditEventKind;
use twostep_shared::input::RecoveryCode;
use twostep_shared::security_keys::{
    AddKeyRequest, AssertionCredential, CreationOptions, KeyAdded, KeyName, RequestOptions,
    SecurityKey, SecurityKeys,
};
use webauthn_rs::Webauthn;
use webauthn_rs::prelude::{
    Credential, CredentialID, DiscoverableAuthentication, PublicKeyCredential,
    RegisterPublicKeyCredential, SecurityKeyAuthentication, SecurityKeyRegistration, Uuid,
    WebauthnError,
};

/// Why a key could not be added or used.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    /// No relying party (see [`crate::factors::relying_party`]).
    #[error("security keys are not available on this server")]
    Unavailable,
    /// The account signs in through an identity provider.
    #[error("organizational account of {0}")]
    Organizational(String),
    /// The account has no keys (or, for a second step, no 2-step verification).
    #[error("no security keys")]
    NoKeys,
    /// The key's name was refused.
    #[error("{0}")]
    Name(String),
    /// The answer was refused (counted like a wrong code where it was an assertion).
    #[error("security key refused: {0}")]
    Refused(&'static str),
    /// The new key is already registered.
    #[error("this key is already registered")]
    AlreadyRegistered,
    /// No such key of the account.
    #[error("no such key")]
    NotFound,
    /// Too many failures: wait.
    #[error("too many attempts: wait {0} s")]
    Wait(u64),
    /// Too many failures in a row: the second step is locked.
    #[error("the second step is locked")]
    Locked,
    #[error(transparent)]
    Refusal(#[from] Refusal),
    /// A proof of the second factor given as a code was refused (answered as
    /// [`crate::factors::two_step`]'s code proofs are).
    #[error("the proof was refused: {0}")]
    Proof(crate::factors::code_step::CodeError),
    #[error(transparent)]
    Database(#[from] sqlx::Error),
    #[error("{0}")]
    Internal(String),
}

impl From<Refused> for KeyError {
    fn from(refused: Refused) -> Self {
        match refused {
            Refused::Wait(seconds) => Self::Wait(seconds),
            Refused::Locked => Self::Locked,
            Refused::InProgress => Self::Wait(1),
            Refused::NoDevice => Self::NoKeys,
            Refused::Database(e) => Self::Database(e),
        }
    }
}

impl From<apply::RevokeError> for KeyError {
    fn from(error: apply::RevokeError) -> Self {
        match error {
            apply::RevokeError::SessionEnded => Self::Refused("the session ended"),
            apply::RevokeError::Database(e) => Self::Database(e),
        }
    }
}

fn webauthn(state: &AppState) -> Result<&Webauthn, KeyError> {
    state.webauthn.as_deref().ok_or(KeyError::Unavailable)
}

fn internal(context: &str) -> impl FnOnce(serde_json::Error) -> KeyError + '_ {
    move |e| KeyError::Internal(format!("{context}: {e}"))
}

/// One of an account's keys as stored. `Debug` is not derived: no need to print a public key.
pub struct StoredKey {
    pub id: i64,
    pub user_id: i64,
    pub name: String,
    credential: Credential,
    pub passkey: bool,
    pub created_at: u64,
    pub last_used_at: Option<u64>,
}

impl StoredKey {
    fn to_api(&self) -> SecurityKey {
        SecurityKey {
            id: self.id,
            name: self.name.clone(),
            added_at: self.created_at,
            last_used_at: self.last_used_at,
            passkey: self.passkey,
        }
    }
}

const KEY_COLUMNS: &str = "id, user_id, name, credential, passkey, created_at, last_used_at";

fn stored_key(row: &sqlx::any::AnyRow) -> Result<StoredKey, KeyError> {
    let credential: String = row.try_get("credential")?;
    Ok(StoredKey {
        id: row.try_get("id")?,
        user_id: row.try_get("user_id")?,
        name: row.try_get("name")?,
        credential: serde_json::from_str(&credential).map_err(internal("a stored key"))?,
        passkey: row.try_get::<i64, _>("passkey")? != 0,
        created_at: row.try_get::<i64, _>("created_at")? as u64,
        last_used_at: row
            .try_get::<Option<i64>, _>("last_used_at")?
            .map(|at| at as u64),
    })
}

/// The account's keys, oldest first.
pub async fn keys_of(db: &sqlx::AnyPool, user_id: i64) -> Result<Vec<StoredKey>, KeyError> {
    let sql = format!("SELECT {KEY_COLUMNS} FROM security_keys WHERE user_id = $1 ORDER BY id");
    sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(user_id)
        .fetch_all(db)
        .await?
        .iter()
        .map(stored_key)
        .collect()
}

async fn key_by_credential_id(
    db: &sqlx::AnyPool,
    credential_id: &[u8],
) -> Result<Option<StoredKey>, KeyError> {
    let sql = format!("SELECT {KEY_COLUMNS} FROM security_keys WHERE credential_id = $1");
    sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(B64URL.encode(credential_id))
        .fetch_optional(db)
        .await?
        .as_ref()
        .map(stored_key)
        .transpose()
}

/// The account's keys as its holder (or an administrator, or the CLI) sees them.
pub async fn list(state: &AppState, user_id: i64) -> Result<SecurityKeys, KeyError> {
    Ok(SecurityKeys {
        keys: keys_of(&state.db, user_id)
            .await?
            .iter()
            .map(StoredKey::to_api)
            .collect(),
    })
}

fn organizational(user: &UserRecord) -> Result<(), KeyError> {
    match &user.identity_provider {
        Some(idp) => Err(KeyError::Organizational(idp.clone())),
        None => Ok(()),
    }
}

/// The table's plan for `change` by `by` to `subject`.
async fn plan(
    state: &AppState,
    by: By<'_>,
    subject: &UserRecord,
    change: Change,
) -> Result<Plan, KeyError> {
    let on = status::is_enabled(&state.db, subject.id).await?;
    Ok(changes::decide(change, by.facts(subject, on)?)?)
}

/// The account's user handle as webauthn-rs takes it.
fn user_handle(state: &AppState, user_id: i64) -> Uuid {
    Uuid::from_bytes(state.macs.user_handle(user_id))
}

/// Starts adding a key for the signed-in holder: the options for `navigator.credentials
/// .create()`, the account's keys excluded. A key that can hold a discoverable credential is
/// asked to (so it can be a passkey); user verification is preferred, not required (a key
/// without it is a second step only).
pub async fn start_registration(
    state: &AppState,
    by: By<'_>,
    user: &UserRecord,
) -> Result<CreationOptions, KeyError> {
    plan(state, by, user, Change::AddSecurityKey).await?;
    organizational(user)?;
    let webauthn = webauthn(state)?;
    let session = by.session().ok_or(KeyError::Unavailable)?;
    let exclude: Vec<CredentialID> = keys_of(&state.db, user.id)
        .await?
        .into_iter()
        .map(|key| key.credential.cred_id)
        .collect();
    let (options, registration) = webauthn
        .start_securitykey_registration(
            user_handle(state, user.id),
            &user.username,
            &user.username,
            Some(exclude),
            None,
            None,
        )
        .map_err(|e| KeyError::Internal(format!("start a registration: {e}")))?;
    let kept = serde_json::to_string(&registration).map_err(internal("keep a registration"))?;
    let handle = ceremonies::handle(Purpose::Register, &session.token_hash);
    ceremonies::keep(&state.db, &handle, Some(user.id), &kept, state.clock.now()).await?;
    let mut json = serde_json::to_value(&options).map_err(internal("creation options"))?;
    if let Some(selection) = json["publicKey"]["authenticatorSelection"].as_object_mut() {
        selection.insert("residentKey".into(), "preferred".into());
        selection.insert("requireResidentKey".into(), false.into());
    }
    serde_json::from_value(json).map_err(internal("creation options"))
}

/// A proof of the second factor as a request offers it (the account-changes table's
/// second-factor rows): a code, or an answer of one of the account's keys (after
/// [`start_assertion`] with [`Purpose::Proof`]).
#[derive(Clone, Copy, Default)]
pub struct Offered<'a> {
    /// A current code of the app, or (where `recovery_allowed`) an unused recovery code.
    pub code: Option<&'a str>,
    /// An answer of one of the account's keys.
    pub key: Option<&'a AssertionCredential>,
    /// Whether a recovery code is a proof here (not for new recovery codes).
    pub recovery_allowed: bool,
}

impl<'a> Offered<'a> {
    /// A code or a key's answer, with recovery codes allowed.
    pub fn new(code: Option<&'a str>, key: Option<&'a AssertionCredential>) -> Self {
        Self {
            code,
            key,
            recovery_allowed: true,
        }
    }

    /// The code, when one was typed.
    fn code(&self) -> Option<&'a str> {
        self.code.map(str::trim).filter(|c| !c.is_empty())
    }

    /// Refused before anything is checked when `plan` needs a proof and none was offered.
    pub fn required_by(&self, plan: &Plan) -> Result<(), Refusal> {
        if plan.second_factor && self.key.is_none() && self.code().is_none() {
            return Err(Refusal::SecondFactorRequired);
        }
        Ok(())
    }
}

/// The transaction a change of `plan` writes in: with a proof of the second factor to check
/// (a key's answer, or a code counted like the code step), checked and spent in it; otherwise
/// a fresh one.
pub async fn proven(
    state: &AppState,
    by: By<'_>,
    user: &UserRecord,
    plan: &Plan,
    offered: Offered<'_>,
    client: &ClientAddr,
    purpose: &'static str,
) -> Result<RevokingTx, KeyError> {
    if !plan.second_factor {
        return Ok(RevokingTx::begin(&state.db).await?);
    }
    let now = state.clock.now();
    let client_addr = client.as_deref();
    match (offered.key, offered.code()) {
        (Some(answer), _) => {
            let session = by.session().ok_or(KeyError::Unavailable)?;
            let binding = ceremonies::handle(Purpose::Proof, &session.token_hash);
            verify_assertion(state, user, &binding, answer, client_addr, purpose, now).await
        }
        (None, Some(code)) => {
            let check = crate::factors::code_step::CodeCheck {
                user,
                client_addr,
                purpose,
                recovery_allowed: offered.recovery_allowed,
            };
            crate::factors::code_step::verify(state, check, code, now)
                .await
                .map(|(tx, _)| tx)
                .map_err(KeyError::Proof)
        }
        (None, None) => Err(Refusal::SecondFactorRequired.into()),
    }
}

/// Finishes adding a key: checks the browser's answer against the kept ceremony (spent once),
/// then, with 2-step verification on, the proof of the second factor, and stores the key. The
/// first second factor of an account turns 2-step verification on and brings 10 recovery
/// codes.
pub async fn finish_registration(
    state: &AppState,
    by: By<'_>,
    user: &UserRecord,
    request: AddKeyRequest,
    client: &ClientAddr,
) -> Result<KeyAdded, KeyError> {
    let client_addr = client.as_deref();
    let plan = plan(state, by, user, Change::AddSecurityKey).await?;
    organizational(user)?;
    let name = KeyName::parse(&request.name).map_err(|e| KeyError::Name(e.to_string()))?;
    let webauthn = webauthn(state)?;
    let session = by.session().ok_or(KeyError::Unavailable)?;
    let now = state.clock.now();
    let handle = ceremonies::handle(Purpose::Register, &session.token_hash);
    let taken = ceremonies::take(&state.db, &handle, now)
        .await?
        .filter(|taken| taken.user_id == Some(user.id))
        .ok_or(KeyError::Refused(
            "no registration was started by this session, or it expired",
        ))?;
    let registration: SecurityKeyRegistration =
        serde_json::from_str(&taken.state).map_err(internal("a kept registration"))?;
    let answer: RegisterPublicKeyCredential = serde_json::to_value(&request.credential)
        .and_then(serde_json::from_value)
        .map_err(|_| KeyError::Refused("not an answer of a security key"))?;
    let key = webauthn
        .finish_securitykey_registration(&answer, &registration)
        .map_err(|e| {
            tracing::info!(user_id = user.id, error = %e, "security key registration refused");
            KeyError::Refused(refusal_reason(&e))
        })?;
    let credential: Credential = key.into();
    let passkey = credential.user_verified;
    let stored = serde_json::to_string(&credential).map_err(internal("store a key"))?;

    let offered = Offered::new(request.proof.as_deref(), request.security_key.as_ref());
    let purpose = "adding a security key";
    let mut tx = proven(state, by, user, &plan, offered, client, purpose).await?;
    // The account's 2-step verification row: made by its first second factor.
    let first = sqlx::query(
        "INSERT INTO two_step_devices (user_id, sealed_secret, last_step, created_at, has_app)
         VALUES ($1, '', 0, $2, 0) ON CONFLICT (user_id) DO NOTHING",
    )
    .bind(user.id)
    .bind(now as i64)
    .execute(tx.revoking().await?)
    .await?
    .rows_affected()
        == 1;
    let mut codes = Vec::new();
    if first {
        let (new_codes, stored_codes) = recovery::generate(&state.macs);
        recovery::replace(&mut tx, user.id, stored_codes).await?;
        codes = new_codes.iter().map(RecoveryCode::to_display).collect();
    }
    let inserted = sqlx::query(
        "INSERT INTO security_keys (user_id, credential_id, name, credential, passkey, sign_count, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
    )
    .bind(user.id)
    .bind(B64URL.encode(credential.cred_id.as_slice()))
    .bind(name.as_str())
    .bind(stored)
    .bind(i64::from(passkey))
    .bind(i64::from(credential.counter))
    .bind(now as i64)
    .fetch_one(tx.revoking().await?)
    .await;
    let id: i64 = match inserted {
        Err(sqlx::Error::Database(e)) if e.is_unique_violation() => {
            return Err(KeyError::AlreadyRegistered);
        }
        other => other?.try_get("id")?,
    };
    apply::revoke(&mut tx, &plan, user.id, by.session(), now).await?;
    let detail = format!(
        "{}{}{}",
        name.as_str(),
        if passkey { " (passkey)" } else { "" },
        if first {
            "; 2-step verification turned on"
        } else {
            ""
        }
    );
    let event =
        audit::Event::own(AuditEventKind::SecurityKeyAdded, user, client_addr).with_detail(&detail);
    audit::write(&mut **tx, event, now).await?;
    // Told by e-mail in the same transaction: the key added, and 2-step verification on
    // when this key turned it on.
    let mail = state.settings.mail();
    mail::tell_change(
        &mut tx,
        mail,
        by,
        user,
        MailKind::SecurityKeyAdded,
        client_addr,
        now,
    )
    .await?;
    if first {
        mail::tell_change(
            &mut tx,
            mail,
            by,
            user,
            MailKind::TwoStepOn,
            client_addr,
            now,
        )
        .await?;
    }
    tx.commit(&state.revocations).await?;
    tracing::info!(user_id = user.id, passkey, "security key added");
    Ok(KeyAdded {
        key: SecurityKey {
            id,
            name: name.as_str().to_owned(),
            added_at: now,
            last_used_at: None,
            passkey,
        },
        recovery_codes: codes,
    })
}

/// Removes one of `subject`'s keys as the table says (the holder with a proof of the second
/// factor, which may be another key or the same one; the operator through the CLI). Removing
/// the last key of an account without an app turns 2-step verification off.
pub async fn remove(
    state: &AppState,
    by: By<'_>,
    subject: &UserRecord,
    key_id: i64,
    request: twostep_shared::security_keys::RemoveKeyRequest,
    client: &ClientAddr,
) -> Result<(), KeyError> {
    let client_addr = client.as_deref();
    let plan = plan(state, by, subject, Change::RemoveSecurityKey).await?;
    let now = state.clock.now();
    let name: Option<String> =
        sqlx::query("SELECT name FROM security_keys WHERE id = $1 AND user_id = $2")
            .bind(key_id)
            .bind(subject.id)
            .fetch_optional(&state.db)
            .await?
            .map(|row| row.try_get("name"))
            .transpose()?;
    let name = name.ok_or(KeyError::NotFound)?;
    let offered = Offered::new(request.proof.as_deref(), request.security_key.as_ref());
    let purpose = "removing a security key";
    let mut tx = proven(state, by, subject, &plan, offered, client, purpose).await?;
    let removed = sqlx::query("DELETE FROM security_keys WHERE id = $1 AND user_id = $2")
        .bind(key_id)
        .bind(subject.id)
        .execute(tx.revoking().await?)
        .await?
        .rows_affected();
    if removed != 1 {
        return Err(KeyError::NotFound);
    }
    // The last key of an account without an app: 2-step verification is off.
    let off = sqlx::query(
        "DELETE FROM two_step_devices WHERE user_id = $1 AND has_app = 0
           AND NOT EXISTS (SELECT 1 FROM security_keys k WHERE k.user_id = $1)",
    )
    .bind(subject.id)
    .execute(&mut **tx)
    .await?
    .rows_affected()
        == 1;
    if off {
        sqlx::query("DELETE FROM recovery_codes WHERE user_id = $1")
            .bind(subject.id)
            .execute(&mut **tx)
            .await?;
        crate::accounts::known_browsers::end_all(&mut tx, subject.id).await?;
    }
    apply::revoke(&mut tx, &plan, subject.id, by.session(), now).await?;
    let detail = match (by, off) {
        (By::Operator, _) => format!("{name}; removed with the server CLI"),
        (_, true) => format!("{name}; the last one: 2-step verification is off"),
        (_, false) => name,
    };
    let event = audit::Event {
        kind: AuditEventKind::SecurityKeyRemoved,
        actor: by.audit_actor(),
        subject: audit::Subject::User(subject),
        client_addr,
        detail: Some(&detail),
    };
    audit::write(&mut **tx, event, now).await?;
    // Told by e-mail in the same transaction (by the holder, or "by the server's operator"),
    // and 2-step verification off when this was the last second factor.
    let mail = state.settings.mail();
    let kind = MailKind::SecurityKeyRemoved;
    mail::tell_change(&mut tx, mail, by, subject, kind, client_addr, now).await?;
    if off {
        let kind = MailKind::TwoStepOff;
        mail::tell_change(&mut tx, mail, by, subject, kind, client_addr, now).await?;
    }
    tx.commit(&state.revocations).await?;
    tracing::info!(user_id = subject.id, off, "security key removed");
    Ok(())
}

/// Starts an assertion of one of `user`'s keys for the session whose token hash is
/// `binding`: the options for `navigator.credentials.get()`, listing only this account's
/// keys.
pub async fn start_assertion(
    state: &AppState,
    user: &UserRecord,
    purpose: Purpose,
    binding: &str,
) -> Result<RequestOptions, KeyError> {
    let webauthn = webauthn(state)?;
    let keys: Vec<webauthn_rs::prelude::SecurityKey> = keys_of(&state.db, user.id)
        .await?
        .into_iter()
        .map(|key| key.credential.into())
        .collect();
    if keys.is_empty() {
        return Err(KeyError::NoKeys);
    }
    let (options, authentication) = webauthn
        .start_securitykey_authentication(&keys)
        .map_err(|e| KeyError::Internal(format!("start an assertion: {e}")))?;
    let kept =
        serde_json::to_string(&authentication).map_err(internal("keep an authentication"))?;
    let handle = ceremonies::handle(purpose, binding);
    ceremonies::keep(&state.db, &handle, Some(user.id), &kept, state.clock.now()).await?;
    let json = serde_json::to_value(&options).map_err(internal("request options"))?;
    serde_json::from_value(json).map_err(internal("request options"))
}

/// A short reason for the audit log, without anything the key sent.
fn refusal_reason(error: &WebauthnError) -> &'static str {
    match error {
        WebauthnError::InvalidRPOrigin => "another site's origin",
        WebauthnError::InvalidRPIDHash => "another relying party",
        WebauthnError::MismatchedChallenge => "another ceremony's challenge",
        WebauthnError::CredentialPossibleCompromise => "the signature counter went back",
        WebauthnError::UserNotVerified => "no user verification",
        WebauthnError::UserNotPresent => "no user presence",
        WebauthnError::CredentialNotFound => "not one of the account's keys",
        _ => "the answer did not verify",
    }
}

/// The answer as webauthn-rs reads it.
fn parse_answer(answer: &AssertionCredential) -> Result<PublicKeyCredential, KeyError> {
    serde_json::to_value(answer)
        .and_then(serde_json::from_value)
        .map_err(|_| KeyError::Refused("not an answer of a security key"))
}

/// Moves `key`'s signature counter to `counter` (compare-and-set: forward only, or 0 for a
/// key without one) and records its use, in `tx`; false when it would go back.
async fn advance_counter(
    tx: &mut RevokingTx,
    key: &StoredKey,
    counter: u32,
    now: u64,
) -> Result<bool, sqlx::Error> {
    Ok(sqlx::query(
        "UPDATE security_keys SET sign_count = $1, last_used_at = $2
         WHERE id = $3 AND (sign_count < $1 OR (sign_count = 0 AND $1 = 0))",
    )
    .bind(i64::from(counter))
    .bind(now as i64)
    .bind(key.id)
    .execute(&mut ***tx)
    .await?
    .rows_affected()
        == 1)
}

/// Counts nothing (the reservation stays counted) and records a refused answer.
async fn refused(
    state: &AppState,
    user: &UserRecord,
    client_addr: Option<&str>,
    reason: &'static str,
    failures: u32,
    now: u64,
) -> KeyError {
    let event = audit::Event::own(AuditEventKind::SecurityKeyRefused, user, client_addr)
        .with_detail(reason);
    audit::record(&state.db, event, now).await;
    metrics::code_check(metrics::CodeCheck::Wrong);
    tracing::info!(user_id = user.id, failures, reason, "security key refused");
    if failures == policy::CODE.lock_after.unwrap_or(u32::MAX) {
        let locked = audit::Event::own(AuditEventKind::CodeStepLocked, user, client_addr)
            .with_detail("too many refused security keys");
        audit::record(&state.db, locked, now).await;
        return KeyError::Locked;
    }
    KeyError::Refused(reason)
}

/// Checks an answer of one of `user`'s keys against the ceremony kept under `handle` and
/// spends it: reserved on the account's code counter before anything is checked (a burst
/// gets no more checks than the limit allows), the ceremony taken once, the signature,
/// origin, challenge and counter checked, and the counter moved forward in the transaction
/// returned (which the caller's writes join).
pub async fn verify_assertion(
    state: &AppState,
    user: &UserRecord,
    handle: &str,
    answer: &AssertionCredential,
    client_addr: Option<&str>,
    purpose: &'static str,
    now: u64,
) -> Result<RevokingTx, KeyError> {
    let webauthn = webauthn(state)?;
    let seen = guards::code_counter(&state.db, user.id, CodeCounter::App)
        .await?
        .ok_or(KeyError::NoKeys)?;
    let reserved = match guards::reserve_code(&state.db, user.id, CodeCounter::App, seen, now).await
    {
        Ok(reserved) => reserved,
        Err(Refused::Locked) => {
            let locked = audit::Event::own(AuditEventKind::SecurityKeyRefused, user, client_addr)
                .with_detail("second step locked");
            audit::record(&state.db, locked, now).await;
            return Err(KeyError::Locked);
        }
        Err(other) => return Err(other.into()),
    };
    if policy::CODE.locks(reserved.failures) {
        state.revocations.revoke_now(&state.db).await?;
    }
    let failures = reserved.failures;
    let checked = check_answer(state, webauthn, user, handle, answer, now).await?;
    let (key, counter) = match checked {
        Ok(checked) => checked,
        Err(reason) => {
            return Err(refused(state, user, client_addr, reason, failures, now).await);
        }
    };
    let mut tx = RevokingTx::begin(&state.db).await?;
    if !advance_counter(&mut tx, &key, counter, now).await? {
        drop(tx);
        let reason = "the signature counter went back";
        return Err(refused(state, user, client_addr, reason, failures, now).await);
    }
    guards::clear_codes(&mut **tx, user.id).await?;
    let detail = format!("{purpose}; {}", key.name);
    let event =
        audit::Event::own(AuditEventKind::SecurityKeyUsed, user, client_addr).with_detail(&detail);
    audit::write(&mut **tx, event, now).await?;
    metrics::code_check(metrics::CodeCheck::Accepted);
    Ok(tx)
}

/// The checks of [`verify_assertion`] after its reservation: `Err` inside for a refused
/// answer (with its reason), outside for a failure of the server.
async fn check_answer(
    state: &AppState,
    webauthn: &Webauthn,
    user: &UserRecord,
    handle: &str,
    answer: &AssertionCredential,
    now: u64,
) -> Result<Result<(StoredKey, u32), &'static str>, KeyError> {
    let Some(taken) = ceremonies::take(&state.db, handle, now).await? else {
        return Ok(Err(
            "no challenge of this session (spent, expired or never asked)",
        ));
    };
    if taken.user_id != Some(user.id) {
        return Ok(Err("another account's challenge"));
    }
    let authentication: SecurityKeyAuthentication =
        serde_json::from_str(&taken.state).map_err(internal("a kept authentication"))?;
    let Ok(credential) = parse_answer(answer) else {
        return Ok(Err("not an answer of a security key"));
    };
    let Some(key) = key_by_credential_id(&state.db, credential.get_credential_id())
        .await?
        .filter(|key| key.user_id == user.id)
    else {
        return Ok(Err("not one of the account's keys"));
    };
    match webauthn.finish_securitykey_authentication(&credential, &authentication) {
        Ok(result) => Ok(Ok((key, result.counter()))),
        Err(e) => Ok(Err(refusal_reason(&e))),
    }
}

/// Starts a passkey sign-in: the options for a discoverable `navigator.credentials.get()`
/// with user verification required, kept under the passkey cookie's `binding`.
pub async fn start_passkey(state: &AppState, binding: &str) -> Result<RequestOptions, KeyError> {
    let webauthn = webauthn(state)?;
    let (mut options, authentication) = webauthn
        .start_discoverable_authentication()
        .map_err(|e| KeyError::Internal(format!("start a passkey sign-in: {e}")))?;
    // A button's modal prompt, not the autofill (conditional) one.
    options.mediation = None;
    let kept =
        serde_json::to_string(&authentication).map_err(internal("keep an authentication"))?;
    let handle = ceremonies::handle(Purpose::Passkey, binding);
    ceremonies::keep(&state.db, &handle, None, &kept, state.clock.now()).await?;
    let json = serde_json::to_value(&options).map_err(internal("request options"))?;
    serde_json::from_value(json).map_err(internal("request options"))
}

/// Checks a passkey's answer: the key names its account (by its credential id, and its user
/// handle must be that account's); only a key registered with user verification, of an
/// account that is not organizational, may sign in alone, and the answer must carry user
/// verification. Counted on the account's code counter like a wrong code. Returns the
/// account and the transaction the counter moved in.
pub async fn verify_passkey(
    state: &AppState,
    binding: &str,
    answer: &AssertionCredential,
    client_addr: Option<&str>,
    now: u64,
) -> Result<(UserRecord, RevokingTx), KeyError> {
    let webauthn = webauthn(state)?;
    let credential = parse_answer(answer)?;
    let handle = ceremonies::handle(Purpose::Passkey, binding);
    let Some(key) = key_by_credential_id(&state.db, credential.get_credential_id()).await? else {
        // Nobody's key: nothing to count on; the ceremony is spent all the same.
        ceremonies::take(&state.db, &handle, now).await?;
        return Err(KeyError::Refused("not a registered key"));
    };
    let user = users::find(&state.db, key.user_id)
        .await?
        .ok_or(KeyError::Refused("not a registered key"))?;
    let seen = guards::code_counter(&state.db, user.id, CodeCounter::App)
        .await?
        .ok_or(KeyError::NoKeys)?;
    let reserved = guards::reserve_code(&state.db, user.id, CodeCounter::App, seen, now).await?;
    let failures = reserved.failures;
    let reason = async {
        let Some(taken) = ceremonies::take(&state.db, &handle, now).await? else {
            return Ok::<_, KeyError>(Err("no passkey challenge of this browser"));
        };
        if user.identity_provider.is_some() {
            return Ok(Err("an organizational account"));
        }
        if !key.passkey {
            return Ok(Err(
                "a key added without user verification cannot sign in alone",
            ));
        }
        let (handle_id, _) = webauthn
            .identify_discoverable_authentication(&credential)
            .map_err(|_| KeyError::Refused("no user handle"))?;
        if handle_id != user_handle(state, user.id) {
            return Ok(Err("another account's user handle"));
        }
        let authentication: DiscoverableAuthentication =
            serde_json::from_str(&taken.state).map_err(internal("a kept authentication"))?;
        match webauthn.finish_discoverable_authentication_v2(
            &credential,
            authentication,
            &key.credential,
        ) {
            Ok(result) if result.user_verified() => Ok(Ok(result.counter())),
            Ok(_) => Ok(Err("no user verification")),
            Err(e) => Ok(Err(refusal_reason(&e))),
        }
    }
    .await?;
    let counter = match reason {
        Ok(counter) => counter,
        Err(reason) => return Err(refused(state, &user, client_addr, reason, failures, now).await),
    };
    let mut tx = RevokingTx::begin(&state.db).await?;
    if !advance_counter(&mut tx, &key, counter, now).await? {
        drop(tx);
        let reason = "the signature counter went back";
        return Err(refused(state, &user, client_addr, reason, failures, now).await);
    }
    guards::clear_codes(&mut **tx, user.id).await?;
    let detail = format!("passkey sign-in; {}", key.name);
    let event =
        audit::Event::own(AuditEventKind::SecurityKeyUsed, &user, client_addr).with_detail(&detail);
    audit::write(&mut **tx, event, now).await?;
    metrics::code_check(metrics::CodeCheck::Accepted);
    Ok((user, tx))
}
