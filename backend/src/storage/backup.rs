//! `twostep backup FILE` and `twostep restore FILE` for the SQLite database.
//!
//! The backup is SQLite's `VACUUM INTO`: one read transaction, so the copy is consistent
//! (everything committed before it started, nothing half-written) while the server keeps
//! writing. The copy is checked with `PRAGMA integrity_check`. A restore checks the copy the
//! same way, refuses while a server uses the database (see [`crate::storage::in_use`]), and keeps the
//! old database aside. The server key is not part of the copy. PostgreSQL has its own tools.

use crate::config::CommonArgs;
use crate::storage::db::{self, Engine};
use sqlx::sqlite::SqliteConnectOptions;
use sqlx::{ConnectOptions, Connection, SqliteConnection};
use std::path::{Path, PathBuf};

/// Copies the database to `file` (which must not exist) and checks the copy.
pub async fn backup(common: &CommonArgs, file: &Path) -> Result<(), String> {
    let database = sqlite_database(common, "pg_dump")?;
    if !database.exists() {
        return Err(format!("there is no database at {}", database.display()));
    }
    let target = file
        .to_str()
        .ok_or_else(|| format!("{} is not a UTF-8 file name", file.display()))?;
    create_private(file)?;
    let mut source = connect(&database, false).await?;
    let copied = sqlx::query("VACUUM INTO $1")
        .bind(target)
        .execute(&mut source)
        .await;
    let _ = source.close().await;
    if let Err(e) = copied {
        let _ = std::fs::remove_file(file);
        return Err(format!("cannot copy {}: {e}", database.display()));
    }
    std::fs::File::open(file)
        .and_then(|copy| copy.sync_all())
        .map_err(|e| format!("cannot write {} to the disk: {e}", file.display()))?;
    check(file).await?;
    let bytes = std::fs::metadata(file).map_or(0, |m| m.len());
    println!(
        "wrote {} ({bytes} bytes): a copy of {}; integrity check ok",
        file.display(),
        database.display()
    );
    println!(
        "keep the server key with it (the key file secret.key in the data folder, or \
         TWOSTEP_SECRET_KEY): the copy does not contain it"
    );
    Ok(())
}

/// Puts the copy `file` in place of the database while no server runs; the old database is
/// kept as `<database>.before-restore-<unix time>`.
pub async fn restore(common: &CommonArgs, file: &Path) -> Result<(), String> {
    let database = sqlite_database(common, "pg_restore or psql")?;
    check(file).await?;
    if let Some(folder) = database.parent().filter(|f| !f.as_os_str().is_empty()) {
        std::fs::create_dir_all(folder)
            .map_err(|e| format!("cannot create the folder {}: {e}", folder.display()))?;
    }
    let _lock = crate::storage::in_use::for_restore(&database)?;
    let staged = with_suffix(&database, ".restoring");
    std::fs::copy(file, &staged)
        .and_then(|_| std::fs::File::open(&staged)?.sync_all())
        .map_err(|e| {
            format!(
                "cannot copy {} to {}: {e}",
                file.display(),
                staged.display()
            )
        })?;
    let kept = if database.exists() {
        let kept = with_suffix(&database, &format!(".before-restore-{}", unix_time()));
        move_database(&database, &kept)?;
        Some(kept)
    } else {
        None
    };
    std::fs::rename(&staged, &database)
        .map_err(|e| format!("cannot move the copy to {}: {e}", database.display()))?;
    if let Some(folder) = database.parent() {
        // The renames reach the disk with the folder.
        let _ = std::fs::File::open(folder).and_then(|f| f.sync_all());
    }
    println!("restored {} from {}", database.display(), file.display());
    if let Some(kept) = kept {
        println!("the previous database is kept as {}", kept.display());
    }
    if common.secret_key.is_none() && !common.data_dir.join("secret.key").exists() {
        println!(
            "there is no key file in {}: put the server key of this backup there (secret.key) or \
             set TWOSTEP_SECRET_KEY before starting the server; with a new key, 2-step \
             verification would have to be set up again",
            common.data_dir.display()
        );
    }
    Ok(())
}

/// Creates the empty file `VACUUM INTO` writes to, readable by its owner only (it holds
/// password hashes and sealed secrets); refuses an existing file.
fn create_private(file: &Path) -> Result<(), String> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options.open(file).map(drop).map_err(|e| {
        if e.kind() == std::io::ErrorKind::AlreadyExists {
            format!(
                "{} already exists; give the name of a new file",
                file.display()
            )
        } else {
            format!("cannot create {}: {e}", file.display())
        }
    })
}

/// The SQLite file of the configured database; PostgreSQL is refused with a pointer to
/// `tool`.
fn sqlite_database(common: &CommonArgs, tool: &str) -> Result<PathBuf, String> {
    let url = common.database_url();
    if Engine::of(&url)? == Engine::Postgres {
        return Err(format!(
            "backup and restore copy SQLite databases; for PostgreSQL use {tool}"
        ));
    }
    db::sqlite_file(&url).ok_or_else(|| "an in-memory database cannot be copied".to_owned())
}

/// One connection to the SQLite file at `path` (never creating it).
async fn connect(path: &Path, read_only: bool) -> Result<SqliteConnection, String> {
    SqliteConnectOptions::new()
        .filename(path)
        .create_if_missing(false)
        .read_only(read_only)
        .connect()
        .await
        .map_err(|e| format!("cannot open {}: {e}", path.display()))
}

/// `file` is a sound SQLite database of this server: `PRAGMA integrity_check` says `ok`
/// and it has the migrations table.
pub async fn check(file: &Path) -> Result<(), String> {
    if !file.is_file() {
        return Err(format!("{} is not a file", file.display()));
    }
    let mut copy = connect(file, true).await?;
    let not_sound = |detail: String| {
        format!(
            "{} is not a sound SQLite database: {detail}",
            file.display()
        )
    };
    let result: Vec<(String,)> = sqlx::query_as("PRAGMA integrity_check")
        .fetch_all(&mut copy)
        .await
        .map_err(|e| not_sound(e.to_string()))?;
    if result.len() != 1 || result[0].0 != "ok" {
        let problems: Vec<String> = result.into_iter().map(|(line,)| line).collect();
        return Err(not_sound(problems.join("; ")));
    }
    let tables: (i64,) = sqlx::query_as(
        "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name IN ('_sqlx_migrations', 'users')",
    )
    .fetch_one(&mut copy)
    .await
    .map_err(|e| not_sound(e.to_string()))?;
    let _ = copy.close().await;
    if tables.0 != 2 {
        return Err(format!(
            "{} is a SQLite database, but not one of twostep",
            file.display()
        ));
    }
    Ok(())
}

/// Moves the database and its write-ahead log (which may hold committed writes) to `kept`;
/// the shared-memory index is rebuilt from them, so it is removed.
fn move_database(database: &Path, kept: &Path) -> Result<(), String> {
    let moved = |from: &Path, to: &Path| {
        std::fs::rename(from, to).map_err(|e| format!("cannot move {} aside: {e}", from.display()))
    };
    moved(database, kept)?;
    let wal = with_suffix(database, "-wal");
    if wal.exists() {
        moved(&wal, &with_suffix(kept, "-wal"))?;
    }
    let shm = with_suffix(database, "-shm");
    if shm.exists() {
        std::fs::remove_file(&shm).map_err(|e| format!("cannot remove {}: {e}", shm.display()))?;
    }
    Ok(())
}

fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(suffix);
    PathBuf::from(name)
}

fn unix_time() -> u64 {
    crate::clock::Clock::now(&crate::clock::SystemClock)
}
