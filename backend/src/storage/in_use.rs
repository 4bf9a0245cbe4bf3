//! Whether a server uses a SQLite database: every server holds a shared advisory lock
//! (`flock`) on `<database>.lock` while it runs, and `twostep restore` takes it exclusively, so
//! a restore is refused while any server runs and no server starts during a restore. The
//! kernel drops the lock when the process ends, however it ends (SIGKILL included), so a
//! crashed server leaves nothing stale behind.

use std::fs::{File, OpenOptions, TryLockError};
use std::path::{Path, PathBuf};

/// Held while the database is in use; the lock is released when this is dropped.
#[derive(Debug)]
pub struct Lock {
    _file: File,
}

/// The lock file of the SQLite database at `database`: beside it, named `<database>.lock`.
pub fn lock_path(database: &Path) -> PathBuf {
    let mut name = database.as_os_str().to_owned();
    name.push(".lock");
    PathBuf::from(name)
}

/// A server's lock: shared, so other server processes on the same file do not mind.
/// Refused only while a restore holds the lock.
pub fn by_server(database: &Path) -> Result<Lock, String> {
    let path = lock_path(database);
    let file = open(&path)?;
    match file.try_lock_shared() {
        Ok(()) => Ok(Lock { _file: file }),
        Err(TryLockError::WouldBlock) => Err(format!(
            "a restore of {} is under way (it holds {}); start the server when it has finished",
            database.display(),
            path.display()
        )),
        Err(TryLockError::Error(e)) => Err(format!("cannot lock {}: {e}", path.display())),
    }
}

/// The restore's lock: exclusive, so it is refused while any server holds its shared lock.
pub fn for_restore(database: &Path) -> Result<Lock, String> {
    let path = lock_path(database);
    let file = open(&path)?;
    match file.try_lock() {
        Ok(()) => Ok(Lock { _file: file }),
        Err(TryLockError::WouldBlock) => Err(format!(
            "a twostep server is using {} (it holds {}); stop it before restoring",
            database.display(),
            path.display()
        )),
        Err(TryLockError::Error(e)) => Err(format!("cannot lock {}: {e}", path.display())),
    }
}

fn open(path: &Path) -> Result<File, String> {
    OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(path)
        .map_err(|e| format!("cannot open the lock file {}: {e}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn servers_share_the_lock_and_a_restore_needs_it_alone() {
        let dir = tempfile::tempdir().unwrap();
        let database = dir.path().join("twostep.db");
        let first = by_server(&database).unwrap();
        let second = by_server(&database).unwrap();
        assert!(
            for_restore(&database)
                .unwrap_err()
                .contains("stop it before restoring")
        );
        drop((first, second));
        let restore = for_restore(&database).unwrap();
        assert!(by_server(&database).unwrap_err().contains("restore"));
        drop(restore);
        by_server(&database).unwrap();
        assert_eq!(lock_path(&database), dir.path().join("twostep.db.lock"));
    }
}
