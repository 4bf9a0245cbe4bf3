//! Revocations: every write that ends or changes a session, a role, an account, a device or
//! a password tells every session cache, so no instance accepts what another one ended.
//!
//! - [`announce`], inside the write's transaction: on PostgreSQL a `NOTIFY` on [`CHANNEL`],
//!   which every instance's listener ([`listen`]) hears when the transaction commits.
//! - [`Revocations::committed`], right after the commit: this instance's cache forgets at
//!   once, and on SQLite the revocation counter beside the database
//!   ([`crate::shared_counter`]) moves by one, which every process using that database
//!   notices on its next lookup (the CLI bumps it too).
//! - [`RevokingTx`]: a transaction that does both (announces inside, forgets after commit).
//!
//! A revocation empties a whole cache (they are rare: sign-outs, password changes, role
//! changes, and the writes that change what `GET /api/me` shows of 2-step verification: a
//! device set up or removed, recovery codes made or spent, the code step locked or unlocked,
//! a code accepted), so there is no per-entry bookkeeping to get wrong.

use crate::session_cache::SessionCache;
use crate::shared_counter::SharedCounter;
use sqlx::{Any, AnyPool, Transaction};
use std::ops::{Deref, DerefMut};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// The PostgreSQL channel revocations are announced on.
pub const CHANNEL: &str = "twostep_revocations";

/// The file beside a SQLite database that holds its revocation counter.
pub fn file_for(database: &Path) -> PathBuf {
    let mut name = database.as_os_str().to_owned();
    name.push(".revocations");
    PathBuf::from(name)
}

/// Inside the transaction of a revoking write: on PostgreSQL, a notification delivered to
/// every listening instance when the transaction commits (nothing on SQLite). Returns its
/// payload (a random id), for [`Revocations::committed_and_heard`].
pub async fn announce(conn: &mut sqlx::AnyConnection) -> Result<Option<String>, sqlx::Error> {
    if conn.backend_name() != "PostgreSQL" {
        return Ok(None);
    }
    let payload = new_payload("");
    notify(conn, &payload).await?;
    Ok(Some(payload))
}

/// A random payload starting with `prefix`, so that whoever sent it can recognise it when
/// the listener hears it.
pub fn new_payload(prefix: &str) -> String {
    use aes_gcm::aead::OsRng;
    use aes_gcm::aead::rand_core::RngCore;
    format!(
        "{prefix}{:032x}",
        u128::from(OsRng.next_u64()) << 64 | u128::from(OsRng.next_u64())
    )
}

/// PostgreSQL: sends `payload` on [`CHANNEL`] (inside a transaction, when it commits).
pub async fn notify<'c>(
    conn: impl sqlx::Executor<'c, Database = Any>,
    payload: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query("SELECT pg_notify($1, $2)")
        .bind(CHANNEL)
        .bind(payload)
        .execute(conn)
        .await?;
    Ok(())
}

/// How long a revoking request waits for its notification to go round before answering.
pub const ECHO_WAIT: std::time::Duration = std::time::Duration::from_secs(2);

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

/// A transaction whose writes revoke: announced inside it ([`announce`]), and this
/// instance's cache forgets right after [`Self::commit`]. Dropped without a commit, it rolls
/// back and nothing is revoked. Derefs to the transaction, so `&mut **tx` is its connection.
///
/// Storage functions that end or change sessions, roles, passwords, factors or known
/// browsers take `&mut RevokingTx` and write through [`Self::revoking`], so a write that
/// forgets to revoke does not compile.
pub struct RevokingTx {
    tx: Transaction<'static, Any>,
    /// `Some` once announced (the payload is `None` on SQLite).
    announced: Option<Option<String>>,
}

impl RevokingTx {
    /// Begins a transaction on `db` and announces in it.
    pub async fn begin(db: &AnyPool) -> Result<Self, sqlx::Error> {
        let mut tx = Self::begin_quiet(db).await?;
        tx.revoking().await?;
        Ok(tx)
    }

    /// Begins a transaction that announces at its first revoking write ([`Self::revoking`]),
    /// so that a use case which may revoke (a sign-in that ends the browser's previous
    /// session) empties no cache when it does not.
    pub async fn begin_quiet(db: &AnyPool) -> Result<Self, sqlx::Error> {
        Ok(Self {
            tx: db.begin().await?,
            announced: None,
        })
    }

    /// The connection, for a revoking write: announced in this transaction first (once).
    pub async fn revoking(&mut self) -> Result<&mut sqlx::AnyConnection, sqlx::Error> {
        if self.announced.is_none() {
            self.announced = Some(announce(&mut self.tx).await?);
        }
        Ok(&mut self.tx)
    }

    /// Commits, then, if anything was revoked, tells `revocations` (see
    /// [`Revocations::committed_and_heard`]).
    pub async fn commit(self, revocations: &Revocations) -> Result<(), sqlx::Error> {
        self.tx.commit().await?;
        if let Some(payload) = self.announced {
            revocations.committed_and_heard(payload).await;
        }
        Ok(())
    }
}

impl Deref for RevokingTx {
    type Target = Transaction<'static, Any>;

    fn deref(&self) -> &Self::Target {
        &self.tx
    }
}

impl DerefMut for RevokingTx {
    fn deref_mut(&mut self) -> &mut Self::Target {
        &mut self.tx
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
                        Ok(Some(notification)) => cache.heard(notification.payload().to_owned()),
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
