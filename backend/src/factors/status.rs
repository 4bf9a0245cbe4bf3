//! What an account's 2-step verification is, as `GET /api/me` and the Users list show it: on
//! or off, recovery codes left, locked. Read here; changed by [`crate::factors::two_step`] and the code
//! step.

use crate::sessions::cache::Own;
use crate::state::AppState;
use sqlx::{AnyPool, Row};
use twostep_shared::api::TwoStepStatus;

/// Whether an account has 2-step verification (an authenticator app, security keys or both:
/// the password step then asks for the second step).
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
    app: false,
    security_keys: 0,
};

/// The device facts the status is made of; `d` is the device row.
pub(crate) const STATUS_COLUMNS: &str = "d.user_id AS user_id, d.locked AS locked, d.has_app AS has_app,
    (SELECT COUNT(*) FROM recovery_codes r WHERE r.user_id = d.user_id AND r.used_at IS NULL) AS left_codes,
    (SELECT COUNT(*) FROM security_keys k WHERE k.user_id = d.user_id) AS key_count";

/// The status of an account that has a device, from a row of [`STATUS_COLUMNS`].
pub(crate) fn status_of_device(row: &sqlx::any::AnyRow) -> Result<TwoStepStatus, sqlx::Error> {
    Ok(TwoStepStatus {
        enabled: true,
        recovery_codes_left: row.try_get::<i64, _>("left_codes")? as u32,
        locked: row.try_get::<i64, _>("locked")? != 0,
        app: row.try_get::<i64, _>("has_app")? != 0,
        security_keys: row.try_get::<i64, _>("key_count")? as u32,
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

/// The account's status and address for `GET /api/me`: from the session cache when it holds
/// them and the request's session came from the cache too (then checked against revocations
/// for this request; every write that changes a status or an address revokes, see
/// [`crate::sessions::revocation`]), else read and cached.
pub async fn own(
    state: &AppState,
    user_id: i64,
    session_from_cache: bool,
) -> Result<Own, sqlx::Error> {
    let cache = &state.revocations.cache;
    if session_from_cache && let Some(own) = cache.own(user_id) {
        return Ok(own);
    }
    // Taken before the reads, so what is read is not cached after a revocation.
    let generation = cache.generation();
    let own = Own {
        status: status(&state.db, user_id).await?,
        email: crate::accounts::email::of(&state.db, user_id).await?,
    };
    cache.insert_own(user_id, own.clone(), generation);
    Ok(own)
}

/// Whether the account's 2-step verification includes an authenticator app.
pub async fn has_app(db: &AnyPool, user_id: i64) -> Result<bool, sqlx::Error> {
    Ok(
        sqlx::query("SELECT 1 AS one FROM two_step_devices WHERE user_id = $1 AND has_app = 1")
            .bind(user_id)
            .fetch_optional(db)
            .await?
            .is_some(),
    )
}
