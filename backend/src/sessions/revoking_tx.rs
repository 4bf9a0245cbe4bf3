//! The database side of revocations: a revoking write announces itself inside its own
//! transaction (on PostgreSQL a `NOTIFY` on [`CHANNEL`], delivered to every listening instance
//! when the transaction commits), and [`RevokingTx`] is the transaction that does so. Storage
//! functions that end or change sessions, roles, passwords, factors or known browsers take it,
//! so a write that forgets to revoke does not compile. What a cache does with a revocation is
//! `crate::sessions::revocation`'s, which this module does not import: it hears through [`AfterCommit`].

use sqlx::{Any, AnyPool, Transaction};
use std::ops::{Deref, DerefMut};

/// What hears that a revoking transaction committed (this instance's session cache).
pub trait AfterCommit {
    /// Right after the commit, before the request is answered; `payload` is the notification's
    /// (none on SQLite).
    fn committed_and_heard(&self, payload: Option<String>) -> impl Future<Output = ()> + Send;
}

/// The PostgreSQL channel revocations are announced on.
pub const CHANNEL: &str = "twostep_revocations";

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
            tx: crate::storage::db::begin(db).await?,
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

    /// Commits, then, if anything was revoked, tells this instance (`revocations`: the
    /// session cache's side, `crate::sessions::revocation::Revocations`).
    pub async fn commit(self, revocations: &impl AfterCommit) -> Result<(), sqlx::Error> {
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
