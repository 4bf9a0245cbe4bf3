//! "Last seen", off the request path: a request records that its session was seen (at most
//! once a minute per session, [`crate::sessions::policy::needs_seen_write`]), and a task
//! writes what was recorded every [`FLUSH_EVERY`], in one transaction.

use sqlx::AnyPool;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// How often recorded "last seen" times are written.
pub const FLUSH_EVERY: Duration = Duration::from_secs(5);

/// Times recorded and not yet written, by token hash. Cloning shares them.
#[derive(Clone, Default)]
pub struct LastSeen(Arc<Mutex<HashMap<String, u64>>>);

impl LastSeen {
    /// Records that the session was seen at `now`.
    pub fn record(&self, token_hash: &str, now: u64) {
        let mut pending = self.0.lock().unwrap_or_else(|e| e.into_inner());
        let seen = pending.entry(token_hash.to_owned()).or_insert(now);
        *seen = (*seen).max(now);
    }

    /// The time recorded for a session and not yet written, if any.
    pub fn pending(&self, token_hash: &str) -> Option<u64> {
        let pending = self.0.lock().unwrap_or_else(|e| e.into_inner());
        pending.get(token_hash).copied()
    }

    /// Writes what was recorded; returns how many sessions.
    pub async fn flush(&self, db: &AnyPool) -> Result<usize, sqlx::Error> {
        let batch: Vec<(String, u64)> = {
            let mut pending = self.0.lock().unwrap_or_else(|e| e.into_inner());
            pending.drain().collect()
        };
        if batch.is_empty() {
            return Ok(0);
        }
        let mut tx = crate::storage::db::begin(db).await?;
        for (token_hash, seen) in &batch {
            sqlx::query(
                "UPDATE sessions SET last_seen_at = $2 WHERE token_hash = $1 AND last_seen_at < $2",
            )
            .bind(token_hash)
            .bind(*seen as i64)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(batch.len())
    }

    /// Flushes every [`FLUSH_EVERY`] for as long as the process runs.
    pub async fn run(self, db: AnyPool) {
        let mut every = tokio::time::interval(FLUSH_EVERY);
        loop {
            every.tick().await;
            if let Err(error) = self.flush(&db).await {
                tracing::warn!(%error, "cannot write last-seen times; trying again");
            }
        }
    }
}
