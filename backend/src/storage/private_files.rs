//! The data folder and its files are the server's alone: the folder is created with mode
//! 0700 (an existing one open to others is narrowed to 0700), the files the server creates get 0600 (the process's umask is 077), an existing
//! SQLite database is narrowed to 0600 at start, and a key file that other users can read
//! is refused with a message that says how to fix it.

use std::path::Path;

/// Files and folders the process creates from now on are readable by its user only.
pub fn restrict_new_files() {
    #[cfg(unix)]
    // SAFETY: umask only sets the process's file mode creation mask; it cannot fail.
    unsafe {
        libc::umask(0o077);
    }
}

/// Creates the data folder (and any missing parents) with mode 0700, or narrows an existing
/// one that its group or other users may enter to 0700.
pub fn create_folder(path: &Path) -> Result<(), String> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o700);
    }
    builder
        .create(path)
        .map_err(|e| format!("cannot create the data folder {}: {e}", path.display()))?;
    #[cfg(unix)]
    if let Some(mode) = mode(path)
        && mode & 0o077 != 0
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o700)).map_err(|e| {
            format!(
                "the data folder {} has mode {mode:o}, open to other users, and cannot be made \
                 private ({e}): make it so with `chmod 700 {}`, then start again",
                path.display(),
                path.display()
            )
        })?;
    }
    Ok(())
}

/// The permission bits of `path`, if it exists.
#[cfg(unix)]
fn mode(path: &Path) -> Option<u32> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path)
        .ok()
        .map(|m| m.permissions().mode() & 0o777)
}

/// Refuses a key file that anyone but its owner may read or write.
pub fn check_key_file(path: &Path) -> Result<(), String> {
    #[cfg(unix)]
    if let Some(mode) = mode(path)
        && mode & 0o077 != 0
    {
        return Err(format!(
            "the key file {} has mode {mode:o}: other users can read or change the server \
             key. Make it private with `chmod 600 {}` (and check who has read it), then start \
             again",
            path.display(),
            path.display()
        ));
    }
    let _ = path;
    Ok(())
}

/// Narrows an existing SQLite database (and its `-wal`/`-shm` files) to mode 0600.
pub fn narrow_database(database: &Path) -> Result<(), String> {
    #[cfg(unix)]
    for suffix in ["", "-wal", "-shm"] {
        use std::os::unix::fs::PermissionsExt;
        let mut name = database.as_os_str().to_owned();
        name.push(suffix);
        let path = Path::new(&name);
        if mode(path).is_some_and(|mode| mode != 0o600) {
            std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))
                .map_err(|e| format!("cannot make {} private: {e}", path.display()))?;
        }
    }
    let _ = database;
    Ok(())
}

/// Writes `contents` to a new file readable by this user only (mode 0600), replacing any
/// file of that name.
pub fn write(path: &Path, contents: &str) -> std::io::Result<()> {
    use std::io::Write;
    match std::fs::remove_file(path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(e),
        _ => {}
    }
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path)?;
    file.write_all(contents.as_bytes())?;
    file.sync_all()
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn folders_and_files_are_private_and_a_shared_key_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("a/data");
        create_folder(&data).unwrap();
        assert_eq!(mode(&data), Some(0o700));
        // A folder that already exists open to others is narrowed.
        std::fs::set_permissions(&data, std::fs::Permissions::from_mode(0o755)).unwrap();
        create_folder(&data).unwrap();
        assert_eq!(mode(&data), Some(0o700));
        let key = data.join("secret.key");
        write(&key, "k").unwrap();
        assert_eq!(mode(&key), Some(0o600));
        check_key_file(&key).unwrap();
        std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o644)).unwrap();
        let refusal = check_key_file(&key).unwrap_err();
        assert!(refusal.contains("chmod 600"), "{refusal}");
        let db = data.join("twostep.db");
        std::fs::write(&db, "x").unwrap();
        std::fs::set_permissions(&db, std::fs::Permissions::from_mode(0o644)).unwrap();
        narrow_database(&db).unwrap();
        assert_eq!(mode(&db), Some(0o600));
    }
}
