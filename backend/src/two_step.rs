//! 2-step verification: setup, confirm with two consecutive codes, moving to a new phone
//! (a replacement confirmed the same way), new recovery codes, unlock and removal. Checking
//! a code is [`crate::code_step`]'s.

use crate::app::AppState;
use crate::code_step::{self, CodeCheck, CodeError};
use crate::device_cookie::DeviceCookie;
use crate::error::{ApiError, ApiResult};
use crate::extract::ClientAddr;
use crate::revocation::{Revocations, RevokingTx};
use crate::sign_in::{self, PasswordAttempt, PasswordError, Purpose};
use crate::totp::{self, Authenticator, PairError};
use crate::users::UserRecord;
use crate::{audit, guards, recovery};
use aes_gcm::aead::OsRng;
use aes_gcm::aead::rand_core::RngCore;
use axum::http::StatusCode;
use sqlx::{AnyPool, Row};
use std::collections::HashMap;
use twostep_shared::ErrorCode;
use twostep_shared::api::{
    AuditEventKind, ConfirmRequest, RecoveryCodes, SetupResponse, TwoStepStatus,
};
use twostep_shared::input::{RecoveryCode, TotpCode, Username};
use twostep_shared::otpauth;

/// How long a setup stays open.
pub const SETUP_SECONDS: u64 = 10 * 60;

fn setup_purpose(user_id: i64) -> String {
    format!("setup:{user_id}")
}

/// What a device's sealed secret is for (its associated data).
pub(crate) fn device_purpose(user_id: i64) -> String {
    format!("device:{user_id}")
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

/// The account's status for `GET /api/me`: from the session cache when it holds it and the
/// request's session came from the cache too (then checked against revocations for this
/// request; every write that changes a status revokes, see [`crate::revocation`]), else read
/// and cached.
pub async fn own_status(
    state: &AppState,
    user_id: i64,
    session_from_cache: bool,
) -> Result<TwoStepStatus, sqlx::Error> {
    let cache = &state.revocations.cache;
    if session_from_cache && let Some(status) = cache.status(user_id) {
        return Ok(status);
    }
    // Taken before the read, so what is read is not cached after a revocation.
    let generation = cache.generation();
    let status = status(&state.db, user_id).await?;
    cache.insert_status(user_id, status.clone(), generation);
    Ok(status)
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

/// What a setup is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SetupKind {
    /// The account's first device.
    New,
    /// A new phone for an account that has a device: the old one keeps working until the
    /// replacement is confirmed.
    Replacement,
}

/// Refuses a setup of `kind` for the account as it is now.
async fn check_kind(state: &AppState, user: &UserRecord, kind: SetupKind) -> ApiResult<()> {
    organizational_refusal(user)?;
    match (kind, is_enabled(&state.db, user.id).await?) {
        (SetupKind::New, true) => Err(already_set_up()),
        (SetupKind::Replacement, false) => Err(not_set_up()),
        _ => Ok(()),
    }
}

/// Starts (or restarts) a setup for the signed-in user: a fresh 160-bit secret, kept sealed
/// as a pending setup for [`SETUP_SECONDS`].
pub async fn start_setup(
    state: &AppState,
    user: &UserRecord,
    kind: SetupKind,
) -> ApiResult<SetupResponse> {
    check_kind(state, user, kind).await?;
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

/// The pending setup's secret, if the two codes are consecutive codes of it; with the last
/// step they prove.
async fn checked_pair(
    state: &AppState,
    user: &UserRecord,
    request: &ConfirmRequest,
    now: u64,
) -> ApiResult<(Vec<u8>, u64)> {
    let code1 = TotpCode::parse(&request.code1).map_err(|e| ApiError::invalid("code1", e))?;
    let code2 = TotpCode::parse(&request.code2).map_err(|e| ApiError::invalid("code2", e))?;
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
    Ok((secret, last_step))
}

/// Confirms the setup with two consecutive codes; on success associates the device and
/// returns the recovery codes (shown once).
pub async fn confirm(
    state: &AppState,
    user: &UserRecord,
    request: ConfirmRequest,
    client_addr: Option<&str>,
) -> ApiResult<RecoveryCodes> {
    check_kind(state, user, SetupKind::New).await?;
    let now = state.clock.now();
    let (secret, last_step) = checked_pair(state, user, &request, now).await?;

    let (codes, stored) = recovery::generate(&state.macs);
    let device_secret = state
        .seal
        .seal(&device_purpose(user.id), &secret)
        .map_err(ApiError::internal)?;

    // Revoking: the account's 2-step status changes.
    let mut tx = RevokingTx::begin(&state.db).await?;
    let inserted = sqlx::query(
        "INSERT INTO two_step_devices (user_id, sealed_secret, last_step, created_at) VALUES ($1, $2, $3, $4)",
    )
    .bind(user.id)
    .bind(device_secret)
    .bind(last_step as i64)
    .bind(now as i64)
    .execute(&mut **tx)
    .await;
    match inserted {
        Err(sqlx::Error::Database(e)) if e.is_unique_violation() => return Err(already_set_up()),
        other => {
            other?;
        }
    }
    recovery::replace(&mut tx, user.id, stored).await?;
    sqlx::query("DELETE FROM two_step_setups WHERE user_id = $1")
        .bind(user.id)
        .execute(&mut **tx)
        .await?;
    let event = audit::Event::own(AuditEventKind::DeviceAssociated, user, client_addr);
    audit::write(&mut **tx, event, now).await?;
    tx.commit(&state.revocations).await?;
    crate::metrics::enrollment();
    tracing::info!(user_id = user.id, "2-step verification set up");
    Ok(RecoveryCodes {
        recovery_codes: codes.iter().map(RecoveryCode::to_display).collect(),
    })
}

/// Confirms a replacement with two consecutive codes of the new phone: in one transaction
/// the device row takes the new secret (the old phone's codes stop working at once), its
/// last accepted step becomes the later of the old one and the new pair's (so no step at or
/// below one already accepted works on either phone), and the setup ends. The recovery codes
/// are kept.
pub async fn confirm_replacement(
    state: &AppState,
    user: &UserRecord,
    request: ConfirmRequest,
    client_addr: Option<&str>,
) -> ApiResult<()> {
    check_kind(state, user, SetupKind::Replacement).await?;
    let now = state.clock.now();
    let (secret, last_step) = checked_pair(state, user, &request, now).await?;
    let device_secret = state
        .seal
        .seal(&device_purpose(user.id), &secret)
        .map_err(ApiError::internal)?;
    let mut tx = state.db.begin().await?;
    let replaced = sqlx::query(
        "UPDATE two_step_devices SET sealed_secret = $2,
                last_step = CASE WHEN last_step > $3 THEN last_step ELSE $3 END
         WHERE user_id = $1",
    )
    .bind(user.id)
    .bind(device_secret)
    .bind(last_step as i64)
    .execute(&mut *tx)
    .await?;
    if replaced.rows_affected() != 1 {
        return Err(not_set_up());
    }
    sqlx::query("DELETE FROM two_step_setups WHERE user_id = $1")
        .bind(user.id)
        .execute(&mut *tx)
        .await?;
    let event = audit::Event::own(AuditEventKind::DeviceReplaced, user, client_addr)
        .with_detail("moved to a new phone; recovery codes kept");
    audit::write(&mut *tx, event, now).await?;
    tx.commit().await?;
    tracing::info!(
        user_id = user.id,
        "2-step verification moved to a new phone"
    );
    Ok(())
}

/// New recovery codes for a user with a device, in exchange for a current code from the
/// authenticator app (not a recovery code), spent like a sign-in code. The old codes stop
/// working, in the same transaction.
pub async fn regenerate_recovery_codes(
    state: &AppState,
    user: &UserRecord,
    code: &str,
    client_addr: Option<&str>,
) -> ApiResult<RecoveryCodes> {
    TotpCode::parse(code).map_err(|e| ApiError::invalid("code", e))?;
    let now = state.clock.now();
    let check = CodeCheck {
        user,
        client_addr,
        purpose: "new recovery codes",
        recovery_allowed: false,
    };
    let (mut tx, _) = code_step::verify(state, check, code, now)
        .await
        .map_err(|e| match e {
            CodeError::NoDevice => not_set_up(),
            other => other.into(),
        })?;
    let (codes, stored) = recovery::generate(&state.macs);
    recovery::replace(&mut tx, user.id, stored).await?;
    let event = audit::Event::own(AuditEventKind::RecoveryCodesRegenerated, user, client_addr);
    audit::write(&mut **tx, event, now).await?;
    tx.commit(&state.revocations).await?;
    Ok(RecoveryCodes {
        recovery_codes: codes.iter().map(RecoveryCode::to_display).collect(),
    })
}

/// Unlocks the code step (administrator or CLI); false if the account has no device.
/// Revoking: the account's 2-step status changes.
pub async fn unlock(
    db: &AnyPool,
    revocations: &Revocations,
    actor: audit::Actor<'_>,
    subject: &UserRecord,
    client_addr: Option<&str>,
    now: u64,
) -> Result<bool, sqlx::Error> {
    let mut tx = RevokingTx::begin(db).await?;
    if !guards::clear_codes(&mut **tx, subject.id).await? {
        return Ok(false);
    }
    let event = audit::Event {
        kind: AuditEventKind::CodeStepUnlocked,
        actor,
        subject: audit::Subject::User(subject),
        client_addr,
        detail: None,
    };
    audit::write(&mut **tx, event, now).await?;
    tx.commit(revocations).await?;
    Ok(true)
}

/// Who removes a device, for [`delete_device`].
#[derive(Debug, Clone, Copy)]
pub struct Removal<'a> {
    pub actor: audit::Actor<'a>,
    pub subject: &'a UserRecord,
    pub client_addr: Option<&'a str>,
    /// Also end every session of the subject (an administrator's or the CLI's removal).
    pub end_sessions: bool,
}

/// Deletes the device, its secret, last step, counters and recovery codes, and any setup in
/// progress; ends the subject's sessions when asked; records who did it. All inside `tx`.
/// False if there was no device (then nothing is written).
pub async fn delete_device(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    removal: Removal<'_>,
    now: u64,
) -> Result<bool, sqlx::Error> {
    let user_id = removal.subject.id;
    let done = sqlx::query("DELETE FROM two_step_devices WHERE user_id = $1")
        .bind(user_id)
        .execute(&mut **tx)
        .await?;
    if done.rows_affected() != 1 {
        return Ok(false);
    }
    for sql in [
        "DELETE FROM recovery_codes WHERE user_id = $1",
        "DELETE FROM two_step_setups WHERE user_id = $1",
    ] {
        sqlx::query(sql).bind(user_id).execute(&mut **tx).await?;
    }
    if removal.end_sessions {
        crate::sessions::delete_for_user(&mut **tx, user_id).await?;
    }
    let detail = match removal.actor {
        audit::Actor::User(actor) if actor.id == user_id => "removed by the user".to_owned(),
        audit::Actor::User(actor) => format!("removed by administrator {}", actor.username),
        audit::Actor::Cli => "removed with the server CLI".to_owned(),
        audit::Actor::Anonymous => "removed".to_owned(),
    };
    let event = audit::Event {
        kind: AuditEventKind::DeviceRemoved,
        actor: removal.actor,
        subject: audit::Subject::User(removal.subject),
        client_addr: removal.client_addr,
        detail: Some(&detail),
    };
    audit::write(&mut **tx, event, now).await?;
    tracing::info!(user_id, "2-step verification device removed");
    Ok(true)
}

/// 409 for an account without a device.
pub fn not_set_up() -> ApiError {
    crate::guards::Refused::NoDevice.into()
}

/// Removes `subject`'s device on behalf of `actor`. Removing one's own device needs a fresh
/// proof: a current code (or recovery code), or the password; the proof is spent in the
/// transaction that removes the device. An administrator removes another user's device
/// without one, and that user's sessions end in the same transaction.
pub async fn remove_device(
    state: &AppState,
    actor: &UserRecord,
    subject: &UserRecord,
    proof: Option<&str>,
    device: Option<DeviceCookie>,
    client: &ClientAddr,
) -> ApiResult<()> {
    let own = actor.id == subject.id;
    if !own && !actor.is_admin() {
        return Err(ApiError::forbidden());
    }
    if !is_enabled(&state.db, subject.id).await? {
        return Err(not_set_up());
    }
    let now = state.clock.now();
    let removal = Removal {
        actor: audit::Actor::User(actor),
        subject,
        client_addr: client.as_deref(),
        end_sessions: !own,
    };
    // Revoking: the subject's 2-step status changes (and an administrator's removal ends
    // the subject's sessions).
    let mut tx = if own {
        let proof = proof.map(str::trim).filter(|p| !p.is_empty()).ok_or_else(|| {
            ApiError::client(
                StatusCode::FORBIDDEN,
                ErrorCode::ProofRequired,
                "To remove your device, confirm with a current verification code or your password.",
            )
        })?;
        removal_proof(state, subject, proof, device, client, now).await?
    } else {
        RevokingTx::begin(&state.db).await?
    };
    if !delete_device(&mut tx, removal, now).await? {
        return Err(not_set_up());
    }
    tx.commit(&state.revocations).await?;
    crate::metrics::removal();
    Ok(())
}

/// A 6-digit proof is checked as an app code (counted like the code step); anything else as
/// the password (counted like the password step, before any work), where a right unused
/// recovery code is accepted too. Returns the transaction the removal joins.
async fn removal_proof(
    state: &AppState,
    user: &UserRecord,
    proof: &str,
    device: Option<DeviceCookie>,
    client: &ClientAddr,
    now: u64,
) -> ApiResult<RevokingTx> {
    if TotpCode::parse(proof).is_ok() {
        let check = CodeCheck {
            user,
            client_addr: client.as_deref(),
            purpose: "removal proof",
            recovery_allowed: false,
        };
        let (tx, _) = code_step::verify(state, check, proof, now).await?;
        return Ok(tx);
    }
    let username =
        Username::parse(&user.username).map_err(|e| ApiError::internal(e.to_string()))?;
    let attempt = PasswordAttempt {
        username: &username,
        password: proof,
        device,
        client,
        purpose: Purpose::RemovalProof,
    };
    match sign_in::check_password(state, &attempt, now).await {
        Ok(accepted) => {
            let mut tx = RevokingTx::begin(&state.db).await?;
            accepted.clear(&mut **tx).await?;
            if let Some(id) = accepted.recovery_code {
                if !recovery::spend(&mut **tx, id, now).await? {
                    return Err(CodeError::RecoveryWrong.into());
                }
                let event =
                    audit::Event::own(AuditEventKind::RecoveryCodeUsed, user, client.as_deref())
                        .with_detail("removal proof");
                audit::write(&mut **tx, event, now).await?;
            }
            Ok(tx)
        }
        Err(PasswordError::BadCredentials | PasswordError::Organizational { .. }) => {
            Err(ApiError::client(
                StatusCode::FORBIDDEN,
                ErrorCode::ProofWrong,
                "That is not your current verification code or your password.",
            ))
        }
        Err(other) => Err(other.into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base32_is_rfc4648_without_padding() {
        assert_eq!(
            base32_encode(b"12345678901234567890"),
            "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"
        );
    }
}
