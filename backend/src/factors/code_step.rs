//! Checking a code for an account with a device: the code step of sign-in, the proof for new
//! recovery codes, and a code given as removal proof.
//!
//! An app code is counted on the account's [`CodeCounter::App`] counter and a recovery code
//! on [`CodeCounter::Recovery`], each reserved before the check ([`crate::limits::guards`]). A right
//! code is spent (the last accepted step moved forward by compare-and-set, or the recovery
//! code marked used) inside a transaction that [`verify`] hands back, so the caller's own
//! writes (the new session, the removal, the new codes) commit together with it.

use crate::accounts::passwords::HashError;
use crate::accounts::users::UserRecord;
use crate::factors::recovery;
use crate::factors::totp::{self, Authenticator, SignInCheck};
use crate::limits::guards::{self, CodeCounter, Refused};
use crate::limits::policy::{self, Counter};
use crate::mail::{MailKind, Notice, outbox};
use crate::sessions::policy::SessionLimits;
use crate::sessions::revoking_tx::RevokingTx;
use crate::sessions::{self, SessionRecord};
use crate::state::AppState;
use crate::{audit, metrics};
use sqlx::{AnyPool, Row};
use twostep_shared::api::AuditEventKind;
use twostep_shared::input::{RecoveryCode, TotpCode};

/// What a device's sealed secret is for (its associated data).
pub(crate) fn device_purpose(user_id: i64) -> String {
    format!("device:{user_id}")
}

/// A code check: whose code, from where, and what for (recorded in the audit log).
#[derive(Debug, Clone, Copy)]
pub struct CodeCheck<'a> {
    pub user: &'a UserRecord,
    pub client_addr: Option<&'a str>,
    /// `sign-in`, `removal proof` or `new recovery codes`.
    pub purpose: &'a str,
    /// Whether a recovery code is accepted (not for new recovery codes).
    pub recovery_allowed: bool,
}

/// Which kind of code was right.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Used {
    AppCode,
    RecoveryCode,
}

/// Why a code was not accepted.
#[derive(Debug, thiserror::Error)]
pub enum CodeError {
    /// Not a 6-digit code (nor, where allowed, a recovery code).
    #[error("invalid code: {0}")]
    Invalid(String),
    #[error("the code is not correct")]
    Wrong,
    #[error("the code was already used")]
    Replayed,
    #[error("the recovery code is not correct or was already used")]
    RecoveryWrong,
    /// Too many wrong codes: the app-code step is locked.
    #[error("the code step is locked")]
    Locked,
    #[error("too many wrong codes: wait {0} s")]
    Wait(u64),
    /// The device was removed meanwhile.
    #[error("no 2-step verification device")]
    NoDevice,
    #[error(transparent)]
    Hash(#[from] HashError),
    #[error(transparent)]
    Database(#[from] sqlx::Error),
    #[error("{0}")]
    Internal(String),
}

impl From<Refused> for CodeError {
    fn from(refused: Refused) -> Self {
        match refused {
            Refused::Wait(seconds) => Self::Wait(seconds),
            Refused::Locked => Self::Locked,
            Refused::InProgress => Self::Wait(1),
            Refused::NoDevice => Self::NoDevice,
            Refused::Database(e) => Self::Database(e),
        }
    }
}

/// A right code, spent inside a revoking transaction (a spent code changes what the
/// account's 2-step status shows: recovery codes left, the lock): the caller adds its writes
/// and commits with [`RevokingTx::commit`].
pub type Spent = (RevokingTx, Used);

/// The device row, as the code step needs it. `Debug` is not derived: it holds the sealed
/// secret.
pub struct Device {
    /// Whether an authenticator app is part of it (else security keys alone).
    has_app: bool,
    sealed_secret: String,
    last_step: u64,
    app: Counter,
    recovery: Counter,
}

/// The device columns, as `d`, for [`device_of`].
const DEVICE_COLUMNS: &str =
    "d.sealed_secret AS sealed_secret, d.has_app AS has_app, d.last_step AS last_step,
    d.failed_attempts AS failed_attempts, d.last_failed_at AS last_failed_at,
    d.recovery_failures AS recovery_failures, d.recovery_last_failed_at AS recovery_last_failed_at";

/// The device of a row with [`DEVICE_COLUMNS`]; `None` where they are NULL (a left join).
fn device_of(row: &sqlx::any::AnyRow) -> Result<Option<Device>, sqlx::Error> {
    let Some(sealed_secret) = row.try_get::<Option<String>, _>("sealed_secret")? else {
        return Ok(None);
    };
    let number = |column: &str| -> Result<i64, sqlx::Error> { row.try_get::<i64, _>(column) };
    let counter = |failures: &str, at: &str| -> Result<Counter, sqlx::Error> {
        Ok(Counter {
            failures: u32::try_from(number(failures)?).unwrap_or(u32::MAX),
            last_at: number(at)? as u64,
        })
    };
    Ok(Some(Device {
        has_app: number("has_app")? != 0,
        sealed_secret,
        last_step: number("last_step")? as u64,
        app: counter("failed_attempts", "last_failed_at")?,
        recovery: counter("recovery_failures", "recovery_last_failed_at")?,
    }))
}

async fn load_device(db: &AnyPool, user_id: i64) -> Result<Option<Device>, sqlx::Error> {
    let sql = format!("SELECT {DEVICE_COLUMNS} FROM two_step_devices d WHERE d.user_id = $1");
    sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(user_id)
        .fetch_optional(db)
        .await?
        .map_or(Ok(None), |row| device_of(&row))
}

/// A sign-in waiting for its code: the session, its account and the account's device.
pub struct Pending {
    pub session: SessionRecord,
    pub user: UserRecord,
    pub device: Option<Device>,
}

/// The live session of `token` with its account and device, in one query (the code step's
/// only read before it reserves an attempt). A session that ended is deleted on sight.
pub async fn pending(
    db: &AnyPool,
    token: &str,
    limits: &SessionLimits,
    now: u64,
) -> Result<Option<Pending>, sqlx::Error> {
    let token_hash = sessions::hash_token(token);
    let sql = format!(
        "SELECT {}, {DEVICE_COLUMNS}
         FROM sessions s JOIN users u ON u.id = s.user_id
              LEFT JOIN two_step_devices d ON d.user_id = u.id
         WHERE s.token_hash = $1",
        sessions::SESSION_AND_USER_COLUMNS
    );
    let Some(row) = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(&token_hash)
        .fetch_optional(db)
        .await?
    else {
        return Ok(None);
    };
    let session = sessions::session_of(&row, token_hash)?;
    if !limits.is_live(session.times(), now) {
        sessions::delete_expired(db, &session.token_hash).await?;
        return Ok(None);
    }
    Ok(Some(Pending {
        session,
        user: crate::accounts::users::record(&row)?,
        device: device_of(&row)?,
    }))
}

/// Checks `typed` (a 6-digit app code, or where allowed a recovery code) and spends it.
pub async fn verify(
    state: &AppState,
    check: CodeCheck<'_>,
    typed: &str,
    now: u64,
) -> Result<Spent, CodeError> {
    let device = load_device(&state.db, check.user.id).await?;
    verify_device(state, check, device, typed, now).await
}

/// As [`verify`], with the account's device already read (see [`pending`]).
pub async fn verify_device(
    state: &AppState,
    check: CodeCheck<'_>,
    device: Option<Device>,
    typed: &str,
    now: u64,
) -> Result<Spent, CodeError> {
    let result = check_and_spend(state, check, device, typed, now).await;
    let outcome = match &result {
        Ok(_) => Some(metrics::CodeCheck::Accepted),
        Err(CodeError::Wrong | CodeError::RecoveryWrong) => Some(metrics::CodeCheck::Wrong),
        Err(CodeError::Replayed) => Some(metrics::CodeCheck::Replayed),
        Err(CodeError::Wait(_)) => Some(metrics::CodeCheck::Throttled),
        Err(CodeError::Locked) => Some(metrics::CodeCheck::Locked),
        Err(_) => None,
    };
    if let Some(outcome) = outcome {
        metrics::code_check(outcome);
    }
    result
}

async fn check_and_spend(
    state: &AppState,
    check: CodeCheck<'_>,
    device: Option<Device>,
    typed: &str,
    now: u64,
) -> Result<Spent, CodeError> {
    let totp = TotpCode::parse(typed);
    let recovery = RecoveryCode::parse(typed)
        .ok()
        .filter(|_| check.recovery_allowed);
    let device = device.ok_or(CodeError::NoDevice)?;
    match (totp, recovery) {
        (Ok(code), _) => verify_app_code(state, check, &code, device, now).await,
        (Err(_), Some(code)) => verify_recovery_code(state, check, &code, device, now).await,
        (Err(e), None) => Err(CodeError::Invalid(e.to_string())),
    }
}

fn event(check: CodeCheck<'_>, kind: AuditEventKind) -> audit::Event<'_> {
    audit::Event::own(kind, check.user, check.client_addr).with_detail(check.purpose)
}

async fn verify_app_code(
    state: &AppState,
    check: CodeCheck<'_>,
    code: &TotpCode,
    device: Device,
    now: u64,
) -> Result<Spent, CodeError> {
    let user_id = check.user.id;
    let reserved =
        match guards::reserve_code(&state.db, user_id, CodeCounter::App, device.app, now).await {
            Ok(reserved) => reserved,
            Err(Refused::Locked) => {
                let locked =
                    event(check, AuditEventKind::SignInFailedCode).with_detail("code step locked");
                audit::record(&state.db, locked, now).await;
                return Err(CodeError::Locked);
            }
            Err(refused) => return Err(refused.into()),
        };
    if policy::CODE.locks(reserved.failures) {
        // This reservation locked the code step: the account's status changed.
        state.revocations.revoke_now(&state.db).await?;
    }
    // Security keys alone: no code of an app is right (counted like any wrong code).
    let verdict = if device.has_app {
        let secret = state
            .seal
            .open(&device_purpose(user_id), &device.sealed_secret)
            .map_err(CodeError::Internal)?;
        let auth = Authenticator::new(&secret).map_err(CodeError::Internal)?;
        totp::check_sign_in(&auth, code, now, device.last_step)
    } else {
        SignInCheck::Wrong
    };
    let failure = match verdict {
        SignInCheck::Accepted { step } => {
            let mut tx = RevokingTx::begin(&state.db).await?;
            // Compare-and-set: only the one request that moves the step forward spends it,
            // on every instance; a right code also clears the counters.
            let moved = sqlx::query(
                "UPDATE two_step_devices SET last_step = $1, failed_attempts = 0, last_failed_at = 0,
                        locked = 0, recovery_failures = 0, recovery_last_failed_at = 0
                 WHERE user_id = $2 AND last_step < $1",
            )
            .bind(step as i64)
            .bind(user_id)
            .execute(&mut **tx)
            .await?
            .rows_affected()
                == 1;
            if moved {
                return Ok((tx, Used::AppCode));
            }
            CodeError::Replayed
        }
        SignInCheck::Replayed => CodeError::Replayed,
        SignInCheck::Wrong => CodeError::Wrong,
    };
    let kind = match failure {
        CodeError::Replayed => AuditEventKind::ReplayedCodeRefused,
        _ => AuditEventKind::SignInFailedCode,
    };
    audit::record(&state.db, event(check, kind), now).await;
    tracing::info!(
        user_id,
        failures = reserved.failures,
        "wrong verification code"
    );
    if reserved.failures == policy::CODE.lock_after.unwrap_or(u32::MAX) {
        // The one request whose reservation reached the limit records the lock, and queues
        // its e-mail with the event in one transaction.
        if let Err(error) = record_lock(state, check, now).await {
            tracing::error!(%error, "cannot record the lock of a code step");
        }
        return Err(CodeError::Locked);
    }
    Err(failure)
}

/// The audit event of a lock and its e-mail, in one transaction.
async fn record_lock(state: &AppState, check: CodeCheck<'_>, now: u64) -> Result<(), sqlx::Error> {
    let mut tx = crate::storage::db::begin(&state.db).await?;
    audit::write(&mut *tx, event(check, AuditEventKind::CodeStepLocked), now).await?;
    let notice = Notice::own(MailKind::CodeStepLocked, &check.user.username, now)
        .from_client(check.client_addr, None);
    outbox::queue(
        &mut tx,
        state.settings.mail(),
        check.user.id,
        notice,
        None,
        now,
    )
    .await?;
    tx.commit().await
}

async fn verify_recovery_code(
    state: &AppState,
    check: CodeCheck<'_>,
    code: &RecoveryCode,
    device: Device,
    now: u64,
) -> Result<Spent, CodeError> {
    let user_id = check.user.id;
    guards::reserve_code(
        &state.db,
        user_id,
        CodeCounter::Recovery,
        device.recovery,
        now,
    )
    .await?;
    let mut found = recovery::find_unused(&state.db, &state.macs, user_id, code).await?;
    if found.is_none() {
        found = check_legacy(state, user_id, code).await?;
    }
    if let Some(id) = found {
        let mut tx = RevokingTx::begin(&state.db).await?;
        if recovery::spend(&mut **tx, id, now).await? {
            guards::clear_codes(&mut **tx, user_id).await?;
            audit::write(
                &mut **tx,
                event(check, AuditEventKind::RecoveryCodeUsed),
                now,
            )
            .await?;
            let mail = state.settings.mail();
            if mail.is_some() {
                let left = recovery::count_unused(&mut tx, user_id).await?;
                let notice = Notice {
                    codes_left: Some(left),
                    ..Notice::own(MailKind::RecoveryCodeUsed, &check.user.username, now)
                        .from_client(check.client_addr, None)
                };
                outbox::queue(&mut tx, mail, user_id, notice, None, now).await?;
            }
            tracing::info!(user_id, "recovery code used");
            return Ok((tx, Used::RecoveryCode));
        }
    }
    audit::record(
        &state.db,
        event(check, AuditEventKind::SignInFailedCode),
        now,
    )
    .await;
    Err(CodeError::RecoveryWrong)
}

/// A code stored by an older version as an Argon2id hash: checked on a hashing thread, in
/// one job for all of them (only reached past the recovery counter's reservation).
async fn check_legacy(
    state: &AppState,
    user_id: i64,
    code: &RecoveryCode,
) -> Result<Option<i64>, CodeError> {
    let legacy = recovery::legacy_unused(&state.db, user_id).await?;
    if legacy.is_empty() {
        return Ok(None);
    }
    let typed = code.expose().to_owned();
    Ok(state
        .hasher
        .run(move |workspace| {
            let mut found = None;
            for (id, hash) in &legacy {
                if workspace.verify(&typed, hash) {
                    found = Some(*id);
                }
            }
            found
        })
        .await?)
}
