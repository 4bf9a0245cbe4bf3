//! Revocations: every write that ends or changes a session, a role, an account, a device or
//! a password tells every session cache, so no instance accepts what another one ended.
//!
//! - [`announce`], inside the write's transaction: on PostgreSQL a `NOTIFY` on [`CHANNEL`],
//!   which every instance's listener ([`listen`]) hears when the transaction commits.
//! - [`Revocations::committed`], right after the commit: this instance's cache forgets at
//!   once, and on SQLite the revocation counter beside the database
//!   ([`crate::sessions::shared_counter`]) moves by one, which every process using that database
//!   notices on its next lookup (the CLI bumps it too).
//! - [`RevokingTx`]: a transaction that does both (announces inside, forgets after commit).
//!
//! A revocation empties a whole cache (they are rare: sign-outs, password changes, role
//! changes, and the writes that change what `GET /api/me` shows of 2-step verification: a
//! device set up or removed, recovery codes made or spent, the code step locked or unlocked,
//! a code accepted), so there is no per-entry bookkeeping to get wrong.

pub use crate::sessions::cache::ECHO_WAIT;
use crate::sessions::cache::SessionCache;
use crate::sessions::revoking_tx::AfterCommit;
pub use crate::sessions::revoking_tx::{CHANNEL, RevokingTx, announce, new_payload, notify};
use crate::sessions::shared_counter::SharedCounter;
use sqlx::AnyPool;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// The file beside a SQLite database that holds its revocation counter.
pub fn file_for(database: &Path) -> PathBuf {
    let mut name = database.as_os_str().to_owned();
    name.push(".revocations");
    PathBuf::from(name)
}

/// The revocation counter of the SQLite database `database`; `Err` says why it cannot be
/// used.
pub fn open_counter(database: &Path) -> Result<Arc<SharedCounter>, String> {
    let path = file_for(database);
    SharedCounter::open(&path).map(Arc::new).map_err(|error| {
        format!(
            "cannot open the revocation counter {}: {error}",
            path.display()
        )
    })
}

/// This instance's side of revocations.
#[derive(Clone)]
pub struct Revocations {
    pub cache: SessionCache,
    /// SQLite: the database's revocation counter.
    counter: Option<Arc<SharedCounter>>,
}

impl Revocations {
    pub fn new(cache: SessionCache, counter: Option<Arc<SharedCounter>>) -> Self {
        Self { cache, counter }
    }

    /// For a process that caches nothing (the CLI): its revocations only reach the servers
    /// (the notification, or `counter`: the SQLite database's revocation counter).
    pub fn without_cache(counter: Option<Arc<SharedCounter>>) -> Self {
        Self::new(SessionCache::new(false, false, None), counter)
    }

    /// After a revoking write that committed outside a [`RevokingTx`] (a single statement):
    /// announces on its own connection, then as [`Self::committed_and_heard`].
    pub async fn revoke_now(&self, db: &AnyPool) -> Result<(), sqlx::Error> {
        let payload = announce(&mut *db.acquire().await?).await?;
        self.committed_and_heard(payload).await;
        Ok(())
    }

    /// Right after a revoking write committed.
    pub fn committed(&self) {
        self.cache.revoke();
        if let Some(counter) = &self.counter {
            counter.bump();
        }
    }

    /// Right after a revoking write committed, before answering: forgets here, and on
    /// PostgreSQL waits until this instance's own listener heard the notification (then
    /// PostgreSQL has sent it to every listening instance), so a client that next asks
    /// another instance finds the revocation there.
    pub async fn committed_and_heard(&self, payload: Option<String>) {
        self.committed();
        if let Some(payload) = payload
            && self.cache.is_hearing()
            && !self.cache.wait_heard(&payload, ECHO_WAIT).await
        {
            tracing::warn!("a revocation was not heard back in time");
        }
    }
}

/// PostgreSQL: listens on [`CHANNEL`] for as long as the process runs. While connected,
/// every notification empties the cache; while not (start, outage, reconnecting) the cache
/// is bypassed. Reconnects every second.
pub async fn listen(url: String, cache: SessionCache) {
    loop {
        let listener = async {
            let mut listener = sqlx::postgres::PgListener::connect(&url).await?;
            listener.listen(CHANNEL).await?;
            Ok::<_, sqlx::Error>(listener)
        }
        .await;
        match listener {
            Ok(mut listener) => {
                // Listening now: what was cached before may have missed revocations.
                cache.set_hearing(true);
                tracing::debug!("listening for revocations");
                loop {
                    match listener.try_recv().await {
                        Ok(Some(notification)) => {
                            cache.until_released().await;
                            cache.heard(notification.payload().to_owned());
                        }
                        Ok(None) => break,
                        Err(error) => {
                            tracing::warn!(%error, "revocation listener lost");
                            break;
                        }
                    }
                }
                cache.set_hearing(false);
            }
            Err(error) => {
                cache.set_hearing(false);
                tracing::warn!(%error, "cannot listen for revocations; the session cache is off until it can");
            }
        }
        tokio::time::sleep(std::time::Duration::from_secs(1)).await;
    }
}

impl AfterCommit for Revocations {
    async fn committed_and_heard(&self, payload: Option<String>) {
        Revocations::committed_and_heard(self, payload).await;
    }
}
