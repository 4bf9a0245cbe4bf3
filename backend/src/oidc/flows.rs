//! Sign-ins in progress at an identity provider, kept in the database so that whichever
//! instance receives the provider's answer can finish it.
//!
//! A flow is found by the SHA-256 of its `state` (the state itself only travels through the
//! browser), holds the provider's name and, sealed under the server key, the `nonce` and the
//! PKCE code verifier. It is taken (deleted and returned in one statement) when the answer
//! comes back, so each one is used at most once, even by two instances at the same moment.

use crate::sessions::hash_token;
use crate::storage::seal::SealKey;
use serde::{Deserialize, Serialize};
use sqlx::{AnyPool, Row};

/// How long a person has at the provider before the sign-in expires.
pub const FLOW_SECONDS: u64 = 10 * 60;
/// Expired flows are kept this much longer, so that a late answer is told "expired" rather
/// than "unknown"; then they are deleted.
pub const KEEP_EXPIRED_SECONDS: u64 = 60 * 60;

/// What the callback needs from the start. `Debug` prints no secret.
#[derive(Clone, Serialize, Deserialize)]
pub struct FlowSecrets {
    pub nonce: String,
    pub pkce_verifier: String,
}

impl std::fmt::Debug for FlowSecrets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("FlowSecrets(***)")
    }
}

/// A flow taken back from the database.
#[derive(Debug)]
pub struct Flow {
    pub provider: String,
    pub secrets: FlowSecrets,
    pub expires_at: u64,
}

fn purpose(state_hash: &str) -> String {
    format!("oidc-flow:{state_hash}")
}

/// Stores a new flow for `state` (and deletes flows that expired long ago).
pub async fn create(
    db: &AnyPool,
    seal: &SealKey,
    state: &str,
    provider: &str,
    secrets: &FlowSecrets,
    now: u64,
) -> Result<(), String> {
    sqlx::query("DELETE FROM oidc_flows WHERE expires_at < $1")
        .bind(now.saturating_sub(KEEP_EXPIRED_SECONDS) as i64)
        .execute(db)
        .await
        .map_err(|e| format!("database: {e}"))?;
    let state_hash = hash_token(state);
    let plain = serde_json::to_vec(secrets).map_err(|e| e.to_string())?;
    let sealed = seal.seal(&purpose(&state_hash), &plain)?;
    sqlx::query(
        "INSERT INTO oidc_flows (state_hash, provider, sealed_secrets, created_at, expires_at)
         VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(&state_hash)
    .bind(provider)
    .bind(sealed)
    .bind(now as i64)
    .bind((now + FLOW_SECONDS) as i64)
    .execute(db)
    .await
    .map_err(|e| format!("database: {e}"))?;
    Ok(())
}

/// Takes the flow of `state` out of the database: `None` when there is none (never started,
/// already used, or expired long ago). The caller checks `expires_at`.
pub async fn take(db: &AnyPool, seal: &SealKey, state: &str) -> Result<Option<Flow>, String> {
    let state_hash = hash_token(state);
    let row = sqlx::query(
        "DELETE FROM oidc_flows WHERE state_hash = $1 RETURNING provider, sealed_secrets, expires_at",
    )
    .bind(&state_hash)
    .fetch_optional(db)
    .await
    .map_err(|e| format!("database: {e}"))?;
    let Some(row) = row else {
        return Ok(None);
    };
    let read = |e: sqlx::Error| format!("database: {e}");
    let sealed: String = row.try_get("sealed_secrets").map_err(read)?;
    let plain = seal.open(&purpose(&state_hash), &sealed)?;
    let secrets: FlowSecrets =
        serde_json::from_slice(&plain).map_err(|e| format!("sealed flow secrets: {e}"))?;
    Ok(Some(Flow {
        provider: row.try_get("provider").map_err(read)?,
        secrets,
        expires_at: row.try_get::<i64, _>("expires_at").map_err(read)? as u64,
    }))
}
