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

/// Opens the pool and brings the schema up to date.
pub async fn connect(url: &str) -> Result<AnyPool, String> {
    sqlx::any::install_default_drivers();
    let engine = Engine::of(url)?;
    let pool = AnyPoolOptions::new()
        .max_connections(16)
        .acquire_timeout(Duration::from_secs(5))
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
