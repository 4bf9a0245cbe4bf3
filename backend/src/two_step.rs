//! 2-step verification: setup, confirm with two consecutive codes, the code step at sign-in
//! (replay refused by compare-and-set, failures throttled and locked), recovery codes.

use crate::app::AppState;
use crate::audit;
use crate::error::{ApiError, ApiResult};
use crate::totp::{self, Authenticator, PairError, SignInCheck};
use crate::users::UserRecord;
use aes_gcm::aead::OsRng;
use aes_gcm::aead::rand_core::RngCore;
use axum::http::StatusCode;
use sqlx::{AnyPool, Row};
use std::collections::HashMap;
use twostep_shared::ErrorCode;
use twostep_shared::api::{
    AuditEventKind, ConfirmRequest, RecoveryCodes, SetupResponse, TwoStepStatus,
};
use twostep_shared::input::{RECOVERY_CODE_LEN, RecoveryCode, TotpCode};
use twostep_shared::otpauth;

/// How long a setup stays open.
pub const SETUP_SECONDS: u64 = 10 * 60;
/// Recovery codes issued at confirm.
pub const RECOVERY_CODE_COUNT: usize = 10;
/// Wrong codes allowed before the growing delay starts.
pub const FREE_ATTEMPTS: i64 = 5;
/// Consecutive wrong codes after which the code step is locked.
pub const LOCK_AFTER: i64 = 100;
/// Longest delay between attempts.
pub const MAX_DELAY_SECONDS: u64 = 15 * 60;

/// Seconds to wait after `failures` consecutive wrong codes: none for the first
/// [`FREE_ATTEMPTS`], then 30 s doubling up to [`MAX_DELAY_SECONDS`].
pub fn retry_delay(failures: i64) -> u64 {
    if failures < FREE_ATTEMPTS {
        return 0;
    }
    let doublings = (failures - FREE_ATTEMPTS).min(10) as u32;
    (30u64 << doublings).min(MAX_DELAY_SECONDS)
}

fn setup_purpose(user_id: i64) -> String {
    format!("setup:{user_id}")
}

fn device_purpose(user_id: i64) -> String {
    format!("device:{user_id}")
}

/// The device row, as the code step needs it. `Debug` leaves out the sealed secret.
struct Device {
    sealed_secret: String,
    last_step: u64,
    failed_attempts: i64,
    last_failed_at: u64,
    locked: bool,
}

async fn load_device(db: &AnyPool, user_id: i64) -> Result<Option<Device>, sqlx::Error> {
    let row = sqlx::query(
        "SELECT sealed_secret, last_step, failed_attempts, last_failed_at, locked
         FROM two_step_devices WHERE user_id = $1",
    )
    .bind(user_id)
    .fetch_optional(db)
    .await?;
    row.map(|row| {
        Ok(Device {
            sealed_secret: row.try_get("sealed_secret")?,
            last_step: row.try_get::<i64, _>("last_step")? as u64,
            failed_attempts: row.try_get("failed_attempts")?,
            last_failed_at: row.try_get::<i64, _>("last_failed_at")? as u64,
            locked: row.try_get::<i64, _>("locked")? != 0,
        })
    })
    .transpose()
}

/// Whether an account has a device (the password step then asks for a code).
pub async fn is_enabled(db: &AnyPool, user_id: i64) -> Result<bool, sqlx::Error> {
    Ok(
        sqlx::query("SELECT 1 AS one FROM two_step_devices WHERE user_id = $1")
            .bind(user_id)
            .fetch_optional(db)
            .await?
            .is_some(),
    )
}

/// The status of an account without a device.
pub const OFF: TwoStepStatus = TwoStepStatus {
    enabled: false,
    recovery_codes_left: 0,
    locked: false,
};

/// The device facts the status is made of; `d` is the device row.
const STATUS_COLUMNS: &str = "d.user_id AS user_id, d.locked AS locked,
    (SELECT COUNT(*) FROM recovery_codes r WHERE r.user_id = d.user_id AND r.used_at IS NULL) AS left_codes";

/// The status of an account that has a device, from a row of [`STATUS_COLUMNS`].
fn status_of_device(row: &sqlx::any::AnyRow) -> Result<TwoStepStatus, sqlx::Error> {
    Ok(TwoStepStatus {
        enabled: true,
        recovery_codes_left: row.try_get::<i64, _>("left_codes")? as u32,
        locked: row.try_get::<i64, _>("locked")? != 0,
    })
}

pub async fn status(db: &AnyPool, user_id: i64) -> Result<TwoStepStatus, sqlx::Error> {
    let sql = format!("SELECT {STATUS_COLUMNS} FROM two_step_devices d WHERE d.user_id = $1");
    let row = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(user_id)
        .fetch_optional(db)
        .await?;
    match row {
        None => Ok(OFF),
        Some(row) => status_of_device(&row),
    }
}

/// The status of every account that has a device, by user id (the others are [`OFF`]), in
/// one query: for the administrator's Users list.
pub async fn statuses(db: &AnyPool) -> Result<HashMap<i64, TwoStepStatus>, sqlx::Error> {
    let sql = format!("SELECT {STATUS_COLUMNS} FROM two_step_devices d");
    sqlx::query(sqlx::AssertSqlSafe(sql))
        .fetch_all(db)
        .await?
        .iter()
        .map(|row| Ok((row.try_get("user_id")?, status_of_device(row)?)))
        .collect()
}

fn organizational_refusal(user: &UserRecord) -> ApiResult<()> {
    match &user.identity_provider {
        None => Ok(()),
        Some(idp) => Err(ApiError::client(
            StatusCode::FORBIDDEN,
            ErrorCode::OrganizationalAccount,
            format!(
                "2-step verification cannot be set up for an organizational account. \
                 You sign in through {idp}, which decides how you verify who you are."
            ),
        )),
    }
}

fn already_set_up() -> ApiError {
    ApiError::client(
        StatusCode::CONFLICT,
        ErrorCode::AlreadySetUp,
        "2-step verification is already set up. Remove the associated device first.",
    )
}

/// Starts (or restarts) a setup for the signed-in user: a fresh 160-bit secret, kept sealed
/// as a pending setup for [`SETUP_SECONDS`].
pub async fn start_setup(state: &AppState, user: &UserRecord) -> ApiResult<SetupResponse> {
    organizational_refusal(user)?;
    if is_enabled(&state.db, user.id).await? {
        return Err(already_set_up());
    }
    let mut secret = [0u8; totp::SECRET_BYTES];
    OsRng.fill_bytes(&mut secret);
    let sealed = state
        .seal
        .seal(&setup_purpose(user.id), &secret)
        .map_err(ApiError::internal)?;
    let now = state.clock.now();
    sqlx::query(
        "INSERT INTO two_step_setups (user_id, sealed_secret, expires_at) VALUES ($1, $2, $3)
         ON CONFLICT (user_id) DO UPDATE SET sealed_secret = excluded.sealed_secret,
                                             expires_at = excluded.expires_at",
    )
    .bind(user.id)
    .bind(sealed)
    .bind((now + SETUP_SECONDS) as i64)
    .execute(&state.db)
    .await?;
    let base32 = base32_encode(&secret);
    let otpauth_uri = otpauth::totp_uri(&state.settings.issuer, &user.username, &base32)
        .map_err(|e| ApiError::internal(format!("otpauth URI: {e}")))?;
    Ok(SetupResponse {
        secret: base32,
        otpauth_uri,
        expires_in_seconds: SETUP_SECONDS,
    })
}

/// RFC 4648 base32 without padding, via totp-rs.
fn base32_encode(bytes: &[u8]) -> String {
    totp_rs::Secret::from(bytes).to_base32()
}

fn pair_error(error: PairError) -> ApiError {
    let bad = |code, message: &str| ApiError::client(StatusCode::BAD_REQUEST, code, message);
    match error {
        PairError::Same => bad(
            ErrorCode::CodesNotConsecutive,
            "Code 1 and Code 2 are the same. Wait for the app to show the next code and enter it in Code 2.",
        ),
        PairError::Reversed => bad(
            ErrorCode::CodesNotConsecutive,
            "The codes are in the wrong order: enter the earlier code in Code 1 and the next one in Code 2.",
        ),
        PairError::NotConsecutive => bad(
            ErrorCode::CodesNotConsecutive,
            "The codes are not consecutive. Enter the current code in Code 1, wait for the next code, and enter it in Code 2.",
        ),
        PairError::Wrong { first } => {
            let (field, name) = if first {
                ("code1", "Code 1")
            } else {
                ("code2", "Code 2")
            };
            let mut error = bad(
                ErrorCode::CodeWrong,
                &format!(
                    "{name} is not a code for this key. Check that the app shows the account you just added."
                ),
            );
            if let ApiError::Client { body, .. } = &mut error {
                body.field = Some(field.to_owned());
            }
            error
        }
        PairError::ClockOff { seconds } => {
            let direction = if seconds > 0 { "ahead" } else { "behind" };
            bad(
                ErrorCode::ClockOff,
                &format!(
                    "The codes are right, but your device's clock is about {} seconds {direction}. \
                     Set the device to use the network time, then enter two new codes.",
                    seconds.unsigned_abs()
                ),
            )
        }
    }
}

/// Confirms the setup with two consecutive codes; on success associates the device and
/// returns the recovery codes (shown once).
pub async fn confirm(
    state: &AppState,
    user: &UserRecord,
    request: ConfirmRequest,
    client_addr: Option<&str>,
) -> ApiResult<RecoveryCodes> {
    organizational_refusal(user)?;
    let code1 = TotpCode::parse(&request.code1).map_err(|e| ApiError::invalid("code1", e))?;
    let code2 = TotpCode::parse(&request.code2).map_err(|e| ApiError::invalid("code2", e))?;
    if is_enabled(&state.db, user.id).await? {
        return Err(already_set_up());
    }
    let now = state.clock.now();
    let sealed: Option<String> = sqlx::query(
        "SELECT sealed_secret FROM two_step_setups WHERE user_id = $1 AND expires_at > $2",
    )
    .bind(user.id)
    .bind(now as i64)
    .fetch_optional(&state.db)
    .await?
    .map(|row| row.try_get("sealed_secret"))
    .transpose()?;
    let Some(sealed) = sealed else {
        return Err(ApiError::client(
            StatusCode::GONE,
            ErrorCode::SetupExpired,
            "This setup has expired or was not started. Start again to get a new QR code.",
        ));
    };
    let secret = state
        .seal
        .open(&setup_purpose(user.id), &sealed)
        .map_err(ApiError::internal)?;
    let auth = Authenticator::new(&secret).map_err(ApiError::internal)?;
    let last_step = totp::check_pair(&auth, &code1, &code2, now).map_err(pair_error)?;

    let (codes, hashes) = new_recovery_codes(state).await?;
    let device_secret = state
        .seal
        .seal(&device_purpose(user.id), &secret)
        .map_err(ApiError::internal)?;

    let mut tx = state.db.begin().await?;
    let inserted = sqlx::query(
        "INSERT INTO two_step_devices (user_id, sealed_secret, last_step, created_at) VALUES ($1, $2, $3, $4)",
    )
    .bind(user.id)
    .bind(device_secret)
    .bind(last_step as i64)
    .bind(now as i64)
    .execute(&mut *tx)
    .await;
    match inserted {
        Err(sqlx::Error::Database(e)) if e.is_unique_violation() => return Err(already_set_up()),
        other => {
            other?;
        }
    }
    store_recovery_codes(&mut tx, user.id, hashes).await?;
    sqlx::query("DELETE FROM two_step_setups WHERE user_id = $1")
        .bind(user.id)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    tracing::info!(user_id = user.id, "2-step verification set up");
    audit::record(
        &state.db,
        audit::Event::own(AuditEventKind::DeviceAssociated, user, client_addr),
        now,
    )
    .await;
    Ok(RecoveryCodes {
        recovery_codes: codes.iter().map(RecoveryCode::to_display).collect(),
    })
}

/// Ten fresh recovery codes and their Argon2id hashes.
async fn new_recovery_codes(state: &AppState) -> ApiResult<(Vec<RecoveryCode>, Vec<String>)> {
    let codes: Vec<RecoveryCode> = (0..RECOVERY_CODE_COUNT)
        .map(|_| random_recovery_code())
        .collect();
    let plain: Vec<String> = codes.iter().map(|c| c.expose().to_owned()).collect();
    let hashes = state
        .hasher
        .run(move |workspace| {
            plain
                .iter()
                .map(|c| workspace.hash(c))
                .collect::<Result<Vec<_>, _>>()
        })
        .await?
        .map_err(ApiError::internal)?;
    Ok((codes, hashes))
}

/// Replaces a user's recovery codes with `hashes`, inside `tx`.
async fn store_recovery_codes(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    user_id: i64,
    hashes: Vec<String>,
) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM recovery_codes WHERE user_id = $1")
        .bind(user_id)
        .execute(&mut **tx)
        .await?;
    for hash in hashes {
        sqlx::query("INSERT INTO recovery_codes (user_id, code_hash) VALUES ($1, $2)")
            .bind(user_id)
            .bind(hash)
            .execute(&mut **tx)
            .await?;
    }
    Ok(())
}

/// New recovery codes for a user with a device, in exchange for a current code from the
/// authenticator app (not a recovery code). The old codes stop working.
pub async fn regenerate_recovery_codes(
    state: &AppState,
    user: &UserRecord,
    code: &str,
    client_addr: Option<&str>,
) -> ApiResult<RecoveryCodes> {
    if !is_enabled(&state.db, user.id).await? {
        return Err(not_set_up());
    }
    TotpCode::parse(code).map_err(|e| ApiError::invalid("code", e))?;
    let check = CodeCheck {
        user,
        client_addr,
        purpose: "new recovery codes",
    };
    verify_code(state, check, code).await?;
    let (codes, hashes) = new_recovery_codes(state).await?;
    let mut tx = state.db.begin().await?;
    store_recovery_codes(&mut tx, user.id, hashes).await?;
    tx.commit().await?;
    let event = audit::Event::own(AuditEventKind::RecoveryCodesRegenerated, user, client_addr);
    audit::record(&state.db, event, state.clock.now()).await;
    Ok(RecoveryCodes {
        recovery_codes: codes.iter().map(RecoveryCode::to_display).collect(),
    })
}

fn random_recovery_code() -> RecoveryCode {
    let mut bytes = [0u8; RECOVERY_CODE_LEN];
    OsRng.fill_bytes(&mut bytes);
    RecoveryCode::from_random(bytes)
}

fn code_wrong(message: &str) -> ApiError {
    ApiError::client(StatusCode::UNAUTHORIZED, ErrorCode::CodeWrong, message)
}

fn locked_error() -> ApiError {
    ApiError::client(
        StatusCode::LOCKED,
        ErrorCode::Locked,
        "Too many wrong codes: verification with the authenticator app is locked. \
         Use a recovery code, or ask an administrator to unlock your account.",
    )
}

/// A code check: whose code, from where, and what for (recorded in the audit log).
#[derive(Debug, Clone, Copy)]
pub struct CodeCheck<'a> {
    pub user: &'a UserRecord,
    pub client_addr: Option<&'a str>,
    /// `sign-in` or `removal proof`.
    pub purpose: &'a str,
}

/// Checks a TOTP code or a recovery code for `check.user`: the code step of sign-in, and the
/// proof for removing one's own device. `Ok(())` means the code was right (and is now used).
pub async fn verify_code(state: &AppState, check: CodeCheck<'_>, typed: &str) -> ApiResult<()> {
    enum Typed {
        Totp(TotpCode),
        Recovery(RecoveryCode),
    }
    let typed = match (TotpCode::parse(typed), RecoveryCode::parse(typed)) {
        (Ok(code), _) => Typed::Totp(code),
        (Err(_), Ok(code)) => Typed::Recovery(code),
        (Err(e), Err(_)) => return Err(ApiError::invalid("code", e)),
    };
    let user_id = check.user.id;
    let now = state.clock.now();
    let Some(device) = load_device(&state.db, user_id).await? else {
        return Err(ApiError::client(
            StatusCode::UNAUTHORIZED,
            ErrorCode::VerificationExpired,
            "2-step verification was removed from this account meanwhile. Sign in again.",
        ));
    };
    let event =
        |kind| audit::Event::own(kind, check.user, check.client_addr).with_detail(check.purpose);
    if matches!(typed, Typed::Totp(_)) && device.locked {
        audit::record(
            &state.db,
            event(AuditEventKind::SignInFailedCode).with_detail("code step locked"),
            now,
        )
        .await;
        return Err(locked_error());
    }
    // When locked, the way out is a recovery code, so it is not held back by the delay;
    // recovery codes (50 bits each) cannot be guessed in any number of tries anyway.
    let recovery_when_locked = device.locked && matches!(typed, Typed::Recovery(_));
    let wait_until = device.last_failed_at + retry_delay(device.failed_attempts);
    if wait_until > now && !recovery_when_locked {
        return Err(ApiError::too_many_attempts(wait_until - now));
    }
    let already_used = "This code was already used. Wait for the next code.";
    match typed {
        Typed::Totp(code) => {
            let secret = state
                .seal
                .open(&device_purpose(user_id), &device.sealed_secret)
                .map_err(ApiError::internal)?;
            let auth = Authenticator::new(&secret).map_err(ApiError::internal)?;
            let replayed = match totp::check_sign_in(&auth, &code, now, device.last_step) {
                SignInCheck::Accepted { step } => {
                    if accept_step(&state.db, user_id, step).await? {
                        return Ok(());
                    }
                    true
                }
                SignInCheck::Replayed => true,
                SignInCheck::Wrong => false,
            };
            if replayed {
                record_failure(state, check, now, AuditEventKind::ReplayedCodeRefused).await?;
                return Err(code_wrong(already_used));
            }
            record_failure(state, check, now, AuditEventKind::SignInFailedCode).await?;
            Err(code_wrong("The verification code is not correct."))
        }
        Typed::Recovery(code) => {
            if use_recovery_code(state, user_id, code, now).await? {
                audit::record(&state.db, event(AuditEventKind::RecoveryCodeUsed), now).await;
                return Ok(());
            }
            record_failure(state, check, now, AuditEventKind::SignInFailedCode).await?;
            Err(code_wrong(
                "The recovery code is not correct or was already used.",
            ))
        }
    }
}

/// Compare-and-set of the last accepted step: true only for the one request that moves it
/// forward, so a code is accepted at most once, across server instances too.
async fn accept_step(db: &AnyPool, user_id: i64, step: u64) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE two_step_devices SET last_step = $1, failed_attempts = 0, last_failed_at = 0
         WHERE user_id = $2 AND last_step < $1 AND locked = 0",
    )
    .bind(step as i64)
    .bind(user_id)
    .execute(db)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Counts a wrong code and records `kind`; returns the lock error when this one locks the
/// code step.
async fn record_failure(
    state: &AppState,
    check: CodeCheck<'_>,
    now: u64,
    kind: AuditEventKind,
) -> ApiResult<()> {
    let event =
        |kind| audit::Event::own(kind, check.user, check.client_addr).with_detail(check.purpose);
    audit::record(&state.db, event(kind), now).await;
    let row = sqlx::query(
        "UPDATE two_step_devices
         SET failed_attempts = failed_attempts + 1, last_failed_at = $1,
             locked = CASE WHEN failed_attempts + 1 >= $2 THEN 1 ELSE locked END
         WHERE user_id = $3 RETURNING failed_attempts, locked",
    )
    .bind(now as i64)
    .bind(LOCK_AFTER)
    .bind(check.user.id)
    .fetch_optional(&state.db)
    .await?;
    if let Some(row) = row {
        let failures: i64 = row.try_get("failed_attempts")?;
        let locked = row.try_get::<i64, _>("locked")? != 0;
        tracing::info!(
            user_id = check.user.id,
            failures,
            locked,
            "wrong verification code"
        );
        if locked {
            if failures == LOCK_AFTER {
                audit::record(&state.db, event(AuditEventKind::CodeStepLocked), now).await;
            }
            return Err(locked_error());
        }
    }
    Ok(())
}

/// Spends a recovery code if it matches an unused one; also clears the failure count and
/// the lock.
async fn use_recovery_code(
    state: &AppState,
    user_id: i64,
    code: RecoveryCode,
    now: u64,
) -> ApiResult<bool> {
    let rows = sqlx::query(
        "SELECT id, code_hash FROM recovery_codes WHERE user_id = $1 AND used_at IS NULL",
    )
    .bind(user_id)
    .fetch_all(&state.db)
    .await?;
    let candidates: Vec<(i64, String)> = rows
        .iter()
        .map(|row| Ok((row.try_get("id")?, row.try_get("code_hash")?)))
        .collect::<Result<_, sqlx::Error>>()?;
    let matched = state
        .hasher
        .run(move |workspace| {
            // Check every candidate, so the time does not tell which one matched.
            let mut found = None;
            for (id, hash) in &candidates {
                if workspace.verify(code.expose(), hash) {
                    found = Some(*id);
                }
            }
            found
        })
        .await?;
    let Some(id) = matched else {
        return Ok(false);
    };
    let mut tx = state.db.begin().await?;
    let spent =
        sqlx::query("UPDATE recovery_codes SET used_at = $1 WHERE id = $2 AND used_at IS NULL")
            .bind(now as i64)
            .bind(id)
            .execute(&mut *tx)
            .await?;
    if spent.rows_affected() != 1 {
        return Ok(false);
    }
    sqlx::query(
        "UPDATE two_step_devices SET failed_attempts = 0, last_failed_at = 0, locked = 0 WHERE user_id = $1",
    )
    .bind(user_id)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    tracing::info!(user_id, "recovery code used");
    Ok(true)
}

/// Unlocks the code step (administrator or CLI); false if the account has no device.
pub async fn unlock(
    db: &AnyPool,
    actor: audit::Actor<'_>,
    subject: &UserRecord,
    client_addr: Option<&str>,
    now: u64,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE two_step_devices SET failed_attempts = 0, last_failed_at = 0, locked = 0 WHERE user_id = $1",
    )
    .bind(subject.id)
    .execute(db)
    .await?;
    if done.rows_affected() != 1 {
        return Ok(false);
    }
    let event = audit::Event {
        kind: AuditEventKind::CodeStepUnlocked,
        actor,
        subject: audit::Subject::User(subject),
        client_addr,
        detail: None,
    };
    audit::record(db, event, now).await;
    Ok(true)
}

/// Deletes the device, its secret, last step, counters and recovery codes, and any setup in
/// progress. False if there was no device.
pub async fn delete_device(db: &AnyPool, user_id: i64) -> Result<bool, sqlx::Error> {
    let mut tx = db.begin().await?;
    sqlx::query("DELETE FROM recovery_codes WHERE user_id = $1")
        .bind(user_id)
        .execute(&mut *tx)
        .await?;
    sqlx::query("DELETE FROM two_step_setups WHERE user_id = $1")
        .bind(user_id)
        .execute(&mut *tx)
        .await?;
    let done = sqlx::query("DELETE FROM two_step_devices WHERE user_id = $1")
        .bind(user_id)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(done.rows_affected() == 1)
}

/// 409 for an account without a device.
pub fn not_set_up() -> ApiError {
    ApiError::client(
        StatusCode::CONFLICT,
        ErrorCode::NotSetUp,
        "No authentication device is associated with this account.",
    )
}

/// Removes `subject`'s device on behalf of `actor`. Removing one's own device needs a fresh
/// proof: a current code (or recovery code), or the password. An administrator removes
/// another user's device without one, and that user's sessions end.
pub async fn remove_device(
    state: &AppState,
    actor: &UserRecord,
    subject: &UserRecord,
    proof: Option<&str>,
    client_addr: Option<&str>,
) -> ApiResult<()> {
    let own = actor.id == subject.id;
    if !own && !actor.is_admin() {
        return Err(ApiError::forbidden());
    }
    if !is_enabled(&state.db, subject.id).await? {
        return Err(not_set_up());
    }
    if own {
        let proof = proof.map(str::trim).filter(|p| !p.is_empty()).ok_or_else(|| {
            ApiError::client(
                StatusCode::FORBIDDEN,
                ErrorCode::ProofRequired,
                "To remove your device, confirm with a current verification code or your password.",
            )
        })?;
        check_removal_proof(state, subject, proof, client_addr).await?;
    }
    if !delete_device(&state.db, subject.id).await? {
        return Err(not_set_up());
    }
    let detail = if own {
        "removed by the user".to_owned()
    } else {
        crate::sessions::delete_for_user(&state.db, subject.id).await?;
        format!("removed by administrator {}", actor.username)
    };
    let event = audit::Event {
        kind: AuditEventKind::DeviceRemoved,
        actor: audit::Actor::User(actor),
        subject: audit::Subject::User(subject),
        client_addr,
        detail: Some(&detail),
    };
    audit::record(&state.db, event, state.clock.now()).await;
    tracing::info!(
        user_id = subject.id,
        by = actor.id,
        "2-step verification device removed"
    );
    Ok(())
}

/// A 6-digit code is checked as a code; anything else as the password, and if that is wrong
/// and it has the form of a recovery code, as a recovery code.
async fn check_removal_proof(
    state: &AppState,
    user: &UserRecord,
    proof: &str,
    client_addr: Option<&str>,
) -> ApiResult<()> {
    let check = CodeCheck {
        user,
        client_addr,
        purpose: "removal proof",
    };
    if TotpCode::parse(proof).is_ok() {
        return verify_code(state, check, proof).await;
    }
    // A password proof is throttled and recorded like the password step of sign-in.
    let now = state.clock.now();
    let lookup = crate::users::lookup_for_password(&state.db, &user.username, now).await?;
    let failures = lookup.failures;
    if failures.wait > 0 {
        return Err(ApiError::too_many_sign_in_attempts(failures.wait));
    }
    let hash = lookup.account.and_then(|(_, hash)| hash);
    if state.hasher.verify(proof.to_owned(), hash).await? {
        crate::throttle::username_succeeded(&state.db, &user.username, failures).await?;
        return Ok(());
    }
    if RecoveryCode::parse(proof).is_ok() {
        return verify_code(state, check, proof).await;
    }
    crate::throttle::username_failed(&state.db, &user.username, now).await?;
    let event = audit::Event::own(AuditEventKind::SignInFailedPassword, user, client_addr)
        .with_detail("removal proof");
    audit::record(&state.db, event, now).await;
    Err(ApiError::client(
        StatusCode::FORBIDDEN,
        ErrorCode::ProofWrong,
        "That is not your current verification code or your password.",
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delay_grows_and_is_capped() {
        assert_eq!(retry_delay(0), 0);
        assert_eq!(retry_delay(4), 0);
        assert_eq!(retry_delay(5), 30);
        assert_eq!(retry_delay(6), 60);
        assert_eq!(retry_delay(9), 480);
        assert_eq!(retry_delay(10), MAX_DELAY_SECONDS);
        assert_eq!(retry_delay(99), MAX_DELAY_SECONDS);
    }

    #[test]
    fn base32_is_rfc4648_without_padding() {
        assert_eq!(
            base32_encode(b"12345678901234567890"),
            "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"
        );
    }
}
