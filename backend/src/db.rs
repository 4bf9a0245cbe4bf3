//! Opening the database (SQLite by default, PostgreSQL by URL) and migrating it on start.
//!
//! Queries go through `sqlx::AnyPool` and use only portable SQL (`$1` placeholders, integers
//! for times and flags), so one set of queries serves both databases. Each database has its
//! own migration folder because their DDL differs.

use sqlx::AnyPool;
use sqlx::any::AnyPoolOptions;
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

/// Opens the pool and brings the schema up to date.
pub async fn connect(url: &str) -> Result<AnyPool, String> {
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
