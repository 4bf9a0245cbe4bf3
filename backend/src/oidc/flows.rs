//! Sign-ins in progress at an identity provider, kept in the database so that whichever
//! instance receives the provider's answer can finish it.
//!
//! A flow is found by the SHA-256 of its `state` (the state itself only travels through the
//! browser), holds the provider's name, the hash of the session token of the browser that
//! started it (if it was signed in) and, sealed under the server key, the `nonce` and the
//! PKCE code verifier. It is taken (deleted and returned in one statement) when the answer
//! comes back, so each one is used at most once, even by two instances at the same moment.
//!
//! One client address holds at most [`FLOWS_PER_ADDRESS`] flows that are not expired: each
//! takes a numbered place of its address, and a unique index on (address, place) makes the
//! insert the reservation, atomic on every instance; a lost race tries the next free place.

use crate::sessions::hash_token;
use crate::storage::seal::SealKey;
use serde::{Deserialize, Serialize};
use sqlx::{AnyPool, Row};

/// How long a person has at the provider before the sign-in expires.
pub const FLOW_SECONDS: u64 = 10 * 60;
/// Expired flows are kept this much longer, so that a late answer is told "expired" rather
/// than "unknown"; then they are deleted.
pub const KEEP_EXPIRED_SECONDS: u64 = 60 * 60;

/// Flows not yet expired that one client address (IPv6: /64) may hold.
pub const FLOWS_PER_ADDRESS: usize = 20;

/// Lost races for a place after which a start gives up (as if the address were full).
const MAX_RACES: usize = 16;

/// Why a flow was not stored.
#[derive(Debug, thiserror::Error)]
pub enum CreateError {
    #[error("the client address has {FLOWS_PER_ADDRESS} sign-ins in progress")]
    AddressFull,
    #[error("{0}")]
    Storage(String),
}

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
    /// SHA-256 of the token of the session that started it, if any.
    pub started_by: Option<String>,
    pub secrets: FlowSecrets,
    pub expires_at: u64,
}

fn purpose(state_hash: &str) -> String {
    format!("oidc-flow:{state_hash}")
}

/// A flow to store.
pub struct NewFlow<'a> {
    pub state: &'a str,
    pub provider: &'a str,
    pub secrets: &'a FlowSecrets,
    /// The client address's limit key (`None`: no address known, no cap).
    pub client_key: Option<String>,
    /// SHA-256 of the starting browser's session token.
    pub started_by: Option<String>,
}

/// Stores a new flow (and deletes flows that expired long ago), in a free place of its
/// client address.
pub async fn create(
    db: &AnyPool,
    seal: &SealKey,
    flow: NewFlow<'_>,
    now: u64,
) -> Result<(), CreateError> {
    let database = |e: sqlx::Error| CreateError::Storage(format!("database: {e}"));
    sqlx::query("DELETE FROM oidc_flows WHERE expires_at < $1")
        .bind(now.saturating_sub(KEEP_EXPIRED_SECONDS) as i64)
        .execute(db)
        .await
        .map_err(database)?;
    let state_hash = hash_token(flow.state);
    let plain =
        serde_json::to_vec(flow.secrets).map_err(|e| CreateError::Storage(e.to_string()))?;
    let sealed = seal
        .seal(&purpose(&state_hash), &plain)
        .map_err(CreateError::Storage)?;
    if let Some(key) = &flow.client_key {
        // Expired flows give their places back.
        sqlx::query(
            "UPDATE oidc_flows SET slot = NULL
             WHERE client_key = $1 AND expires_at <= $2 AND slot IS NOT NULL",
        )
        .bind(key)
        .bind(now as i64)
        .execute(db)
        .await
        .map_err(database)?;
    }
    for _ in 0..MAX_RACES {
        let slot = match &flow.client_key {
            None => None,
            Some(key) => Some(
                free_slot(db, key)
                    .await
                    .map_err(database)?
                    .ok_or(CreateError::AddressFull)?,
            ),
        };
        let inserted = sqlx::query(
            "INSERT INTO oidc_flows
                 (state_hash, provider, sealed_secrets, created_at, expires_at, client_key, slot, started_by)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(&state_hash)
        .bind(flow.provider)
        .bind(&sealed)
        .bind(now as i64)
        .bind((now + FLOW_SECONDS) as i64)
        .bind(flow.client_key.as_deref())
        .bind(slot)
        .bind(flow.started_by.as_deref())
        .execute(db)
        .await;
        match inserted {
            Ok(_) => return Ok(()),
            // Another start took this place first: look again.
            Err(sqlx::Error::Database(e)) if e.is_unique_violation() && slot.is_some() => {}
            Err(e) => return Err(database(e)),
        }
    }
    Err(CreateError::AddressFull)
}

/// The lowest place of `client_key` no flow holds, if any is left.
async fn free_slot(db: &AnyPool, client_key: &str) -> Result<Option<i64>, sqlx::Error> {
    let taken: Vec<i64> =
        sqlx::query("SELECT slot FROM oidc_flows WHERE client_key = $1 AND slot IS NOT NULL")
            .bind(client_key)
            .fetch_all(db)
            .await?
            .iter()
            .map(|row| row.try_get::<i64, _>("slot"))
            .collect::<Result<_, _>>()?;
    Ok((0..FLOWS_PER_ADDRESS as i64).find(|slot| !taken.contains(slot)))
}

/// Takes the flow of `state` out of the database: `None` when there is none (never started,
/// already used, or expired long ago). The caller checks `expires_at`.
pub async fn take(db: &AnyPool, seal: &SealKey, state: &str) -> Result<Option<Flow>, String> {
    let state_hash = hash_token(state);
    let row = sqlx::query(
        "DELETE FROM oidc_flows WHERE state_hash = $1
         RETURNING provider, sealed_secrets, expires_at, started_by",
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
        started_by: row.try_get("started_by").map_err(read)?,
        secrets,
        expires_at: row.try_get::<i64, _>("expires_at").map_err(read)? as u64,
    }))
}
