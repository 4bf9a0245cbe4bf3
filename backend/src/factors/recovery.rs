//! Recovery codes: ten single-use codes of 50 random bits each, shown once, stored as an HMAC
//! under a key derived from the server key ([`Macs::recovery_code`]). Checking one is a lookup
//! of the account's unused codes and a constant-time compare: no Argon2, so a burst of
//! guesses costs the server nothing that would slow anyone else's sign-in.
//!
//! Codes stored by older versions hold an Argon2id hash instead ([`legacy_unused`]); they keep
//! working until used or replaced by new codes.

use crate::storage::macs::{Macs, RECOVERY_MAC_PREFIX};
use aes_gcm::aead::OsRng;
use aes_gcm::aead::rand_core::RngCore;
use sqlx::{AnyPool, Row};
use twostep_shared::input::{RECOVERY_CODE_LEN, RecoveryCode};

/// Codes issued at once.
pub const COUNT: usize = 10;

/// Ten fresh codes and their stored forms.
pub fn generate(macs: &Macs) -> (Vec<RecoveryCode>, Vec<String>) {
    let codes: Vec<RecoveryCode> = (0..COUNT)
        .map(|_| {
            let mut bytes = [0u8; RECOVERY_CODE_LEN];
            OsRng.fill_bytes(&mut bytes);
            RecoveryCode::from_random(bytes)
        })
        .collect();
    let stored = codes.iter().map(|code| macs.recovery_code(code)).collect();
    (codes, stored)
}

/// Replaces a user's codes with `stored`, inside `tx` (revoking: the count shown changes).
pub async fn replace(
    tx: &mut crate::sessions::revoking_tx::RevokingTx,
    user_id: i64,
    stored: Vec<String>,
) -> Result<(), sqlx::Error> {
    let conn = tx.revoking().await?;
    sqlx::query("DELETE FROM recovery_codes WHERE user_id = $1")
        .bind(user_id)
        .execute(&mut *conn)
        .await?;
    for code_hash in stored {
        sqlx::query("INSERT INTO recovery_codes (user_id, code_hash) VALUES ($1, $2)")
            .bind(user_id)
            .bind(code_hash)
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}

/// The user's unused codes, as stored: `(id, code_hash)`.
async fn unused(db: &AnyPool, user_id: i64) -> Result<Vec<(i64, String)>, sqlx::Error> {
    sqlx::query("SELECT id, code_hash FROM recovery_codes WHERE user_id = $1 AND used_at IS NULL")
        .bind(user_id)
        .fetch_all(db)
        .await?
        .iter()
        .map(|row| Ok((row.try_get("id")?, row.try_get("code_hash")?)))
        .collect()
}

/// The id of the user's unused code that `code` is, among those stored as an HMAC. Every
/// candidate is compared, in constant time, so the time does not tell which one matched.
pub async fn find_unused(
    db: &AnyPool,
    macs: &Macs,
    user_id: i64,
    code: &RecoveryCode,
) -> Result<Option<i64>, sqlx::Error> {
    let mut found = None;
    for (id, stored) in unused(db, user_id).await? {
        if stored.starts_with(RECOVERY_MAC_PREFIX) && macs.recovery_code_matches(code, &stored) {
            found = Some(id);
        }
    }
    Ok(found)
}

/// The user's unused codes stored by an older version as Argon2id hashes.
pub async fn legacy_unused(db: &AnyPool, user_id: i64) -> Result<Vec<(i64, String)>, sqlx::Error> {
    Ok(unused(db, user_id)
        .await?
        .into_iter()
        .filter(|(_, stored)| !stored.starts_with(RECOVERY_MAC_PREFIX))
        .collect())
}

/// How many unused codes the user has, read through `conn` (after a spend, in its
/// transaction).
pub async fn count_unused(
    conn: &mut sqlx::AnyConnection,
    user_id: i64,
) -> Result<u32, sqlx::Error> {
    let row = sqlx::query(
        "SELECT COUNT(*) AS n FROM recovery_codes WHERE user_id = $1 AND used_at IS NULL",
    )
    .bind(user_id)
    .fetch_one(conn)
    .await?;
    Ok(u32::try_from(sqlx::Row::try_get::<i64, _>(&row, "n")?).unwrap_or(0))
}

/// Marks a code used; false if it already was (a simultaneous use won).
pub async fn spend<'c>(
    db: impl sqlx::Executor<'c, Database = sqlx::Any>,
    id: i64,
    now: u64,
) -> Result<bool, sqlx::Error> {
    let done =
        sqlx::query("UPDATE recovery_codes SET used_at = $1 WHERE id = $2 AND used_at IS NULL")
            .bind(now as i64)
            .bind(id)
            .execute(db)
            .await?;
    Ok(done.rows_affected() == 1)
}
