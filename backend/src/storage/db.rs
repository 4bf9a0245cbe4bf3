//! Opening the database (SQLite by default, PostgreSQL by URL) and migrating it on start.
//!
//! Queries go through `sqlx::AnyPool` and use only portable SQL (`$1` placeholders, integers
//! for times and flags), so one set of queries serves both databases. Each database has its
//! own migration folder because their DDL differs.

use sqlx::any::AnyPoolOptions;
use sqlx::{AnyPool, Executor};
use std::time::Duration;

/// Which database engine a URL names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Engine {
    Sqlite,
    Postgres,
}

impl Engine {
    pub fn of(url: &str) -> Result<Self, String> {
        if url.starts_with("sqlite:") {
            Ok(Self::Sqlite)
        } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            Ok(Self::Postgres)
        } else {
            Err("the database URL must start with sqlite: or postgres:".to_owned())
        }
    }
}

/// The file of a `sqlite:` URL (`sqlite://PATH?options`); `None` for an in-memory database
/// or another engine.
pub fn sqlite_file(url: &str) -> Option<std::path::PathBuf> {
    let rest = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))?;
    let path = rest.split_once('?').map_or(rest, |(path, _)| path);
    (!path.is_empty() && path != ":memory:").then(|| std::path::PathBuf::from(path))
}

/// Connections in the pool. SQLite writes one transaction at a time and each connection is a
/// thread of its own, so a few per core are enough to keep the cores busy with reads; more only
/// add threads to wake (and writers sleeping in SQLite's busy handler). PostgreSQL connections
/// wait on the network and the server, so more of them help.
fn max_connections(engine: Engine) -> u32 {
    match engine {
        Engine::Sqlite => {
            let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
            u32::try_from(2 * cores).unwrap_or(u32::MAX).clamp(2, 16)
        }
        Engine::Postgres => 16,
    }
}

/// When SQLite reports a write as done (`PRAGMA synchronous`), in WAL mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum SqliteSynchronous {
    /// The WAL is synced at checkpoints only: a commit survives a crash of the server, not
    /// always a power cut (SQLite's advice for WAL mode).
    #[default]
    Normal,
    /// The WAL is synced at every commit: a commit survives a power cut too.
    Full,
}

impl SqliteSynchronous {
    fn pragma(self) -> &'static str {
        match self {
            Self::Normal => "PRAGMA synchronous = NORMAL",
            Self::Full => "PRAGMA synchronous = FULL",
        }
    }
}

/// Begins a transaction that writes. On SQLite it takes the write lock at once (`BEGIN
/// IMMEDIATE`): a transaction begun with a plain `BEGIN` that reads first and writes later
/// fails at once with `SQLITE_BUSY_SNAPSHOT` (not waiting, and answered 500) whenever another
/// connection committed in between, for example the mail sender marking a message sent. This
/// way it waits for the lock like any write. PostgreSQL: a plain `BEGIN`.
pub async fn begin(db: &AnyPool) -> Result<sqlx::Transaction<'static, sqlx::Any>, sqlx::Error> {
    if db
        .connect_options()
        .database_url
        .scheme()
        .starts_with("sqlite")
    {
        db.begin_with("BEGIN IMMEDIATE").await
    } else {
        db.begin().await
    }
}

/// Opens the pool with the default settings and brings the schema up to date.
pub async fn connect(url: &str) -> Result<AnyPool, String> {
    connect_with(url, SqliteSynchronous::default()).await
}

/// Opens the pool and brings the schema up to date; `synchronous` applies to SQLite only.
pub async fn connect_with(url: &str, synchronous: SqliteSynchronous) -> Result<AnyPool, String> {
    sqlx::any::install_default_drivers();
    let engine = Engine::of(url)?;
    let pool = AnyPoolOptions::new()
        .max_connections(max_connections(engine))
        .acquire_timeout(Duration::from_secs(5))
        // A SQLite connection is a file in this process: it cannot hang up, so the ping sqlx
        // sends before handing out each connection is a wasted round trip to its worker thread
        // (two thread wake-ups per query, which slow the Argon2 threads down under sign-ins).
        // PostgreSQL keeps the ping: it finds connections a restarted server has closed.
        .test_before_acquire(engine == Engine::Postgres)
        .after_connect(move |connection, _| {
            Box::pin(async move {
                if engine == Engine::Sqlite {
                    connection.execute(synchronous.pragma()).await?;
                }
                Ok(())
            })
        })
        .connect(url)
        .await
        .map_err(|e| format!("cannot open the database: {e}"))?;
    match engine {
        Engine::Sqlite => {
            // WAL lets readers run beside the one writer; the setting is stored in the file.
            sqlx::query("PRAGMA journal_mode = WAL")
                .execute(&pool)
                .await
                .map_err(|e| format!("cannot switch the database to WAL mode: {e}"))?;
            sqlx::migrate!("migrations/sqlite")
                .run(&pool)
                .await
                .map_err(|e| format!("cannot migrate the database: {e}"))?;
            // The accounts' statistics for the planner (about 50 ms at 100,000 accounts; the
            // audit log is left out): without them SQLite answers the Users list's Team Server
            // filter through the (provider, e-mail) index and sorts 90,000 names in memory
            // instead of walking the partial index by name.
            let mut connection = pool
                .acquire()
                .await
                .map_err(|e| format!("cannot open the database: {e}"))?;
            connection
                .execute("ANALYZE users")
                .await
                .map_err(|e| format!("cannot analyze the database: {e}"))?;
        }
        Engine::Postgres => {
            sqlx::migrate!("migrations/postgres")
                .run(&pool)
                .await
                .map_err(|e| format!("cannot migrate the database: {e}"))?;
        }
    }
    Ok(pool)
}

#[cfg(test)]
mod tests {
    use super::*;
    use sqlx::Row;

    /// A transaction that reads, then writes after another connection tried to write: with a
    /// plain `BEGIN` the other commits in between and SQLite refuses the first one's write
    /// (`SQLITE_BUSY_SNAPSHOT`); begun with [`begin`], the other waits and both write.
    #[tokio::test]
    async fn a_write_after_a_read_survives_another_connections_write() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}?mode=rwc", dir.path().join("t.db").display());
        let pool = connect(&url).await.unwrap();
        pool.execute("CREATE TABLE t (x INTEGER)").await.unwrap();
        let mut tx = begin(&pool).await.unwrap();
        sqlx::query("SELECT COUNT(*) FROM t")
            .fetch_one(&mut *tx)
            .await
            .unwrap();
        let other = {
            let pool = pool.clone();
            tokio::spawn(async move { pool.execute("INSERT INTO t VALUES (2)").await })
        };
        tokio::time::sleep(Duration::from_millis(200)).await;
        sqlx::query("INSERT INTO t VALUES (1)")
            .execute(&mut *tx)
            .await
            .expect("the write after the read");
        tx.commit().await.unwrap();
        other
            .await
            .unwrap()
            .expect("the other write, after the commit");
        let rows: i64 = sqlx::query("SELECT COUNT(*) AS n FROM t")
            .fetch_one(&pool)
            .await
            .unwrap()
            .get("n");
        assert_eq!(rows, 2);
    }

    /// `PRAGMA synchronous` as SQLite reports it on a pooled connection: 1 NORMAL, 2 FULL.
    async fn reported(synchronous: SqliteSynchronous) -> i64 {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}?mode=rwc", dir.path().join("t.db").display());
        let pool = connect_with(&url, synchronous).await.unwrap();
        let row = sqlx::query("PRAGMA synchronous")
            .fetch_one(&pool)
            .await
            .unwrap();
        row.try_get::<i64, _>(0).unwrap()
    }

    #[tokio::test]
    async fn sqlite_connections_use_the_chosen_synchronous_setting() {
        assert_eq!(reported(SqliteSynchronous::Normal).await, 1);
        assert_eq!(reported(SqliteSynchronous::Full).await, 2);
        assert_eq!(SqliteSynchronous::default(), SqliteSynchronous::Normal);
    }

    #[test]
    fn the_file_of_a_sqlite_url() {
        let file = |url| sqlite_file(url).map(|p| p.display().to_string());
        assert_eq!(
            file("sqlite://./data/twostep.db?mode=rwc").as_deref(),
            Some("./data/twostep.db")
        );
        assert_eq!(
            file("sqlite:///var/lib/t.db").as_deref(),
            Some("/var/lib/t.db")
        );
        assert_eq!(file("sqlite::memory:"), None);
        assert_eq!(file("postgres://db/twostep"), None);
    }

    #[test]
    fn a_sqlite_pool_has_a_few_connections_per_core() {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get()) as u32;
        assert_eq!(max_connections(Engine::Sqlite), (2 * cores).clamp(2, 16));
        assert_eq!(max_connections(Engine::Postgres), 16);
    }
}
