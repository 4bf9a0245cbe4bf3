//! The periodic sweep: deletes what is past its window, so no table grows without bound:
//! expired sessions (also those whose cookie never comes back, and signed-in ones unseen for
//! the idle limit plus [`IDLE_MARGIN`]), setups, security-key ceremonies and OpenID Connect
//! sign-ins in progress, attempt counters the policy has forgotten ([`policy::PASSWORD`]),
//! and audit events older than the retention (`--audit-retention-days`).

use crate::clock::Clock;
use crate::limits::policy;
use sqlx::AnyPool;
use std::sync::Arc;
use std::time::Duration;

/// How often `serve` sweeps.
pub const INTERVAL: Duration = Duration::from_secs(10 * 60);

/// Idle sessions are swept this long after their idle limit: "last seen" reaches the database
/// up to about a minute late ([`crate::sessions::last_seen`]), and a session the sweep deletes must be
/// one every cache also considers ended, so no cached copy outlives its row.
pub const IDLE_MARGIN: u64 = 10 * 60;

/// Rows deleted by one sweep, per table.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Swept {
    pub sessions: u64,
    /// 2-step setups and security-key ceremonies.
    pub setups: u64,
    pub oidc_flows: u64,
    pub attempt_counters: u64,
    pub audit_events: u64,
}

/// Deletes everything past its window at `now`.
pub async fn sweep(
    db: &AnyPool,
    now: u64,
    audit_retention_days: u32,
    idle_seconds: u64,
) -> Result<Swept, sqlx::Error> {
    let idle_before = now.saturating_sub(idle_seconds + IDLE_MARGIN) as i64;
    let now = now as i64;
    let forget_counters = policy::PASSWORD
        .forget_after
        .map_or(i64::MIN, |window| now - window as i64);
    let audit_before = now - i64::from(audit_retention_days) * 24 * 60 * 60;
    let delete = |sql: &'static str, before: i64| async move {
        sqlx::query(sql)
            .bind(before)
            .execute(db)
            .await
            .map(|done| done.rows_affected())
    };
    Ok(Swept {
        sessions: delete("DELETE FROM sessions WHERE expires_at <= $1", now).await?
            + delete(
                "DELETE FROM sessions WHERE stage = 'signed_in' AND last_seen_at <= $1",
                idle_before,
            )
            .await?,
        setups: delete("DELETE FROM two_step_setups WHERE expires_at <= $1", now).await?
            + delete(
                "DELETE FROM webauthn_ceremonies WHERE expires_at <= $1",
                now,
            )
            .await?,
        oidc_flows: delete("DELETE FROM oidc_flows WHERE expires_at <= $1", now).await?,
        attempt_counters: delete(
            "DELETE FROM attempt_counters WHERE last_at <= $1",
            forget_counters,
        )
        .await?,
        audit_events: delete("DELETE FROM audit_events WHERE at < $1", audit_before).await?,
    })
}

/// Sweeps every [`INTERVAL`] until the process ends; a failed sweep is logged and retried
/// at the next interval.
pub fn spawn(db: AnyPool, clock: Arc<dyn Clock>, audit_retention_days: u32, idle_seconds: u64) {
    tokio::spawn(async move {
        let mut ticks = tokio::time::interval(INTERVAL);
        loop {
            ticks.tick().await;
            match sweep(&db, clock.now(), audit_retention_days, idle_seconds).await {
                Ok(swept) => tracing::debug!(?swept, "swept"),
                Err(error) => tracing::warn!(%error, "sweep failed"),
            }
        }
    });
}
