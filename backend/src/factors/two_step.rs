//! 2-step verification: setup, confirm with two consecutive codes, moving to a new phone
//! (a replacement confirmed the same way), new recovery codes, unlock and removal. Checking
//! a code is [`crate::factors::code_step`]'s.

use crate::accounts::By;
use crate::accounts::apply;
use crate::accounts::changes::{self, Change, Plan};
use crate::accounts::users::UserRecord;
use crate::factors::code_step::device_purpose;
use crate::factors::security_keys::{Offered, proven};
pub use crate::factors::status::{OFF, is_enabled, own, status};
use crate::factors::totp::{self, Authenticator, PairError};
use crate::mail::{self, MailKind};
use crate::sessions::revoking_tx::RevokingTx;
use crate::state::AppState;
use crate::web::client_addr::ClientAddr;
use crate::web::error::{ApiError, ApiResult};
use crate::{audit, factors::recovery, limits::guards};
use aes_gcm::aead::OsRng;
use aes_gcm::aead::rand_core::RngCore;
use axum::http::StatusCode;
use sqlx::Row;
use twostep_shared::ErrorCode;
use twostep_shared::api::{
    AuditEventKind, ConfirmRequest, NewRecoveryCodesRequest, RecoveryCodes, SetupResponse,
};
use twostep_shared::input::{RecoveryCode, TotpCode};
use twostep_shared::otpauth;

/// How long a setup stays open.
pub const SETUP_SECONDS: u64 = 10 * 60;

fn setup_purpose(user_id: i64) -> String {
    format!("setup:{user_id}")
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

/// The change a setup of `kind` is.
fn change_of(kind: SetupKind) -> Change {
    match kind {
        SetupKind::New => Change::SetUpApp,
        SetupKind::Replacement => Change::ReplaceApp,
    }
}

/// Asks the account-changes table whether `by` may make `change` to `subject` as it is now;
/// with whether 2-step verification is on.
async fn plan(
    state: &AppState,
    by: By<'_>,
    subject: &UserRecord,
    change: Change,
) -> ApiResult<(Plan, bool)> {
    let on = is_enabled(&state.db, subject.id).await?;
    Ok((changes::decide(change, by.facts(subject, on)?)?, on))
}

/// Refuses a setup of `kind` for the account as it is now; the plan otherwise.
async fn check_kind(
    state: &AppState,
    by: By<'_>,
    user: &UserRecord,
    kind: SetupKind,
) -> ApiResult<Plan> {
    let (plan, _) = plan(state, by, user, change_of(kind)).await?;
    organizational_refusal(user)?;
    // 2-step verification may be on with security keys alone: what counts here is the app.
    let app = crate::factors::status::has_app(&state.db, user.id).await?;
    match (kind, app) {
        (SetupKind::New, true) => Err(already_set_up()),
        (SetupKind::Replacement, false) => Err(not_set_up()),
        _ => Ok(plan),
    }
}

/// Starts (or restarts) a setup for the signed-in user: a fresh 160-bit secret, kept sealed
/// as a pending setup for [`SETUP_SECONDS`]. A replacement's proof of the current phone comes
/// with its confirm, where it is spent with the change.
pub async fn start_setup(
    state: &AppState,
    by: By<'_>,
    user: &UserRecord,
    kind: SetupKind,
) -> ApiResult<SetupResponse> {
    check_kind(state, by, user, kind).await?;
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
    by: By<'_>,
    user: &UserRecord,
    request: ConfirmRequest,
    client: &ClientAddr,
) -> ApiResult<RecoveryCodes> {
    let client_addr = client.as_deref();
    let plan = check_kind(state, by, user, SetupKind::New).await?;
    // With security keys alone, 2-step verification is on: adding the app needs a proof (a
    // key's answer or a recovery code; a code of the new app is none).
    let offered = Offered::new(request.proof.as_deref(), request.security_key.as_ref());
    offered.required_by(&plan)?;
    let now = state.clock.now();
    let (secret, last_step) = checked_pair(state, user, &request, now).await?;

    let device_secret = state
        .seal
        .seal(&device_purpose(user.id), &secret)
        .map_err(ApiError::internal)?;

    let mut tx = proven(state, by, user, &plan, offered, client, "adding the app").await?;
    // The app joins the security keys' row, or makes the account's first second factor.
    let joined = sqlx::query(
        "UPDATE two_step_devices SET sealed_secret = $2, last_step = $3, has_app = 1
         WHERE user_id = $1 AND has_app = 0",
    )
    .bind(user.id)
    .bind(&device_secret)
    .bind(last_step as i64)
    .execute(tx.revoking().await?)
    .await?
    .rows_affected()
        == 1;
    let mut codes = Vec::new();
    if !joined {
        let inserted = sqlx::query(
            "INSERT INTO two_step_devices (user_id, sealed_secret, last_step, created_at) VALUES ($1, $2, $3, $4)",
        )
        .bind(user.id)
        .bind(device_secret)
        .bind(last_step as i64)
        .bind(now as i64)
        .execute(tx.revoking().await?)
        .await;
        match inserted {
            Err(sqlx::Error::Database(e)) if e.is_unique_violation() => {
                return Err(already_set_up());
            }
            other => {
                other?;
            }
        }
        let (new_codes, stored) = recovery::generate(&state.macs);
        recovery::replace(&mut tx, user.id, stored).await?;
        codes = new_codes;
    }
    sqlx::query("DELETE FROM two_step_setups WHERE user_id = $1")
        .bind(user.id)
        .execute(&mut **tx)
        .await?;
    apply::revoke(&mut tx, &plan, user.id, by.session(), now).await?;
    let event = audit::Event::own(AuditEventKind::DeviceAssociated, user, client_addr);
    audit::write(&mut **tx, event, now).await?;
    let mail = state.settings.mail();
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
    tx.commit(&state.revocations).await?;
    crate::metrics::enrollment();
    tracing::info!(user_id = user.id, "2-step verification set up");
    Ok(RecoveryCodes {
        recovery_codes: codes.iter().map(RecoveryCode::to_display).collect(),
    })
}

/// Confirms a replacement with two consecutive codes of the new phone and a proof of the
/// current second factor (`request.proof`: a current code of the current phone or an unused
/// recovery code; a code of the new phone is no proof, as its secret is not the device's yet).
/// The pair is checked first (no side effects), then the proof is checked and spent in the
/// transaction where the device row takes the new secret (the old phone's codes stop working
/// at once) and its last accepted step becomes the later of the old one and the new pair's.
/// The recovery codes are kept.
pub async fn confirm_replacement(
    state: &AppState,
    by: By<'_>,
    user: &UserRecord,
    request: ConfirmRequest,
    client: &ClientAddr,
) -> ApiResult<()> {
    let plan = check_kind(state, by, user, SetupKind::Replacement).await?;
    let offered = Offered::new(request.proof.as_deref(), request.security_key.as_ref());
    offered.required_by(&plan)?;
    let now = state.clock.now();
    let (secret, last_step) = checked_pair(state, user, &request, now).await?;
    let device_secret = state
        .seal
        .seal(&device_purpose(user.id), &secret)
        .map_err(ApiError::internal)?;
    let purpose = "moving to a new phone";
    let mut tx = proven(state, by, user, &plan, offered, client, purpose).await?;
    let replaced = sqlx::query(
        "UPDATE two_step_devices SET sealed_secret = $2,
                last_step = CASE WHEN last_step > $3 THEN last_step ELSE $3 END
         WHERE user_id = $1",
    )
    .bind(user.id)
    .bind(device_secret)
    .bind(last_step as i64)
    .execute(tx.revoking().await?)
    .await?;
    if replaced.rows_affected() != 1 {
        return Err(not_set_up());
    }
    sqlx::query("DELETE FROM two_step_setups WHERE user_id = $1")
        .bind(user.id)
        .execute(&mut **tx)
        .await?;
    apply::revoke(&mut tx, &plan, user.id, by.session(), now).await?;
    let event = audit::Event::own(AuditEventKind::DeviceReplaced, user, client.as_deref())
        .with_detail("moved to a new phone; recovery codes kept");
    audit::write(&mut **tx, event, now).await?;
    let (mail, client_addr) = (state.settings.mail(), client.as_deref());
    mail::tell_change(
        &mut tx,
        mail,
        by,
        user,
        MailKind::TwoStepMoved,
        client_addr,
        now,
    )
    .await?;
    tx.commit(&state.revocations).await?;
    tracing::info!(
        user_id = user.id,
        "2-step verification moved to a new phone"
    );
    Ok(())
}

/// New recovery codes for a user with 2-step verification, in exchange for a current code
/// from the authenticator app (not a recovery code), spent like a sign-in code, or an answer
/// of one of the account's security keys. The old codes stop working, in the same
/// transaction.
pub async fn regenerate_recovery_codes(
    state: &AppState,
    by: By<'_>,
    user: &UserRecord,
    request: &NewRecoveryCodesRequest,
    client: &ClientAddr,
) -> ApiResult<RecoveryCodes> {
    let client_addr = client.as_deref();
    let (plan, on) = plan(state, by, user, Change::NewRecoveryCodes).await?;
    if !on {
        return Err(not_set_up());
    }
    let offered = Offered {
        recovery_allowed: false,
        ..Offered::new(Some(&request.code), request.security_key.as_ref())
    };
    offered.required_by(&plan)?;
    if request.security_key.is_none() {
        TotpCode::parse(&request.code).map_err(|e| ApiError::invalid("code", e))?;
    }
    let now = state.clock.now();
    let mut tx = proven(
        state,
        by,
        user,
        &plan,
        offered,
        client,
        "new recovery codes",
    )
    .await?;
    let (codes, stored) = recovery::generate(&state.macs);
    recovery::replace(&mut tx, user.id, stored).await?;
    apply::revoke(&mut tx, &plan, user.id, by.session(), now).await?;
    let event = audit::Event::own(AuditEventKind::RecoveryCodesRegenerated, user, client_addr);
    audit::write(&mut **tx, event, now).await?;
    let (mail, kind) = (state.settings.mail(), MailKind::RecoveryCodesRenewed);
    mail::tell_change(&mut tx, mail, by, user, kind, client_addr, now).await?;
    tx.commit(&state.revocations).await?;
    Ok(RecoveryCodes {
        recovery_codes: codes.iter().map(RecoveryCode::to_display).collect(),
    })
}

/// Unlocks the code step (an administrator, or the operator through the CLI).
pub async fn unlock(
    state: &AppState,
    by: By<'_>,
    subject: &UserRecord,
    client_addr: Option<&str>,
) -> ApiResult<()> {
    let (plan, on) = plan(state, by, subject, Change::UnlockCodeStep).await?;
    if !on {
        return Err(not_set_up());
    }
    let now = state.clock.now();
    let mut tx = RevokingTx::begin(&state.db).await?;
    if !guards::clear_codes(tx.revoking().await?, subject.id).await? {
        return Err(not_set_up());
    }
    apply::revoke(&mut tx, &plan, subject.id, by.session(), now).await?;
    let event = audit::Event {
        kind: AuditEventKind::CodeStepUnlocked,
        actor: by.audit_actor(),
        subject: audit::Subject::User(subject),
        client_addr,
        detail: None,
    };
    audit::write(&mut **tx, event, now).await?;
    tx.commit(&state.revocations).await?;
    Ok(())
}

/// Deletes the device, its secret, last step, counters and recovery codes, and any setup in
/// progress, applies the plan's revocations (the known browsers; an administrator's or the
/// operator's removal ends every session of the account too) and records who did it. All
/// inside `tx`. False if there was no device (then nothing is written).
async fn delete_device(
    tx: &mut RevokingTx,
    plan: &Plan,
    by: By<'_>,
    subject: &UserRecord,
    client_addr: Option<&str>,
    now: u64,
) -> ApiResult<bool> {
    let user_id = subject.id;
    let done = sqlx::query("DELETE FROM two_step_devices WHERE user_id = $1")
        .bind(user_id)
        .execute(tx.revoking().await?)
        .await?;
    if done.rows_affected() != 1 {
        return Ok(false);
    }
    for sql in [
        "DELETE FROM security_keys WHERE user_id = $1",
        "DELETE FROM recovery_codes WHERE user_id = $1",
        "DELETE FROM two_step_setups WHERE user_id = $1",
    ] {
        sqlx::query(sql).bind(user_id).execute(&mut ***tx).await?;
    }
    apply::revoke(tx, plan, user_id, by.session(), now).await?;
    let detail = match by {
        By::User { user, .. } if user.id == user_id => "removed by the user".to_owned(),
        By::User { user, .. } => format!("removed by administrator {}", user.username),
        By::Operator => "removed with the server CLI".to_owned(),
    };
    let event = audit::Event {
        kind: AuditEventKind::DeviceRemoved,
        actor: by.audit_actor(),
        subject: audit::Subject::User(subject),
        client_addr,
        detail: Some(&detail),
    };
    audit::write(&mut ***tx, event, now).await?;
    tracing::info!(user_id, "2-step verification device removed");
    Ok(true)
}

/// 409 for an account without a device.
pub fn not_set_up() -> ApiError {
    crate::limits::guards::Refused::NoDevice.into()
}

/// Removes `subject`'s 2-step verification on behalf of `by`, as the account-changes table
/// says: the holder with a fresh proof of the second factor (a current code, an unused
/// recovery code or an answer of one of the account's keys, never the password alone), spent
/// in the transaction that removes the device; an administrator (recent sign-in) or the
/// operator without one, and then every session of the account ends in the same transaction.
pub async fn remove_device(
    state: &AppState,
    by: By<'_>,
    subject: &UserRecord,
    offered: Offered<'_>,
    client: &ClientAddr,
) -> ApiResult<()> {
    let (plan, on) = plan(state, by, subject, Change::RemoveTwoStep).await?;
    if !on {
        return Err(not_set_up());
    }
    offered.required_by(&plan)?;
    let now = state.clock.now();
    let mut tx = proven(state, by, subject, &plan, offered, client, "removal proof").await?;
    if !delete_device(&mut tx, &plan, by, subject, client.as_deref(), now).await? {
        return Err(not_set_up());
    }
    let (mail, client_addr) = (state.settings.mail(), client.as_deref());
    mail::tell_change(
        &mut tx,
        mail,
        by,
        subject,
        MailKind::TwoStepOff,
        client_addr,
        now,
    )
    .await?;
    tx.commit(&state.revocations).await?;
    crate::metrics::removal();
    Ok(())
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
