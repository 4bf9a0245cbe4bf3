//! The revocation counter of a SQLite database: eight bytes in a file beside it, mapped into
//! the memory of every process that uses the database (the server and the CLI), so a
//! revocation by one is seen by the others' next lookup without a system call.
//!
//! Hand-written around `memmap2` because nothing made for the job exists: a lookup reads the
//! counter with one atomic load, a revocation adds one with one atomic add. The file is
//! created at eight bytes and never shrunk; it must not be truncated while processes use it
//! (a truncated mapping faults on the next access).

use memmap2::{MmapOptions, MmapRaw};
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};

/// Bytes the counter takes at the start of the file.
const SIZE: u64 = 8;

/// The counter, mapped. Dropping it unmaps the file.
pub struct SharedCounter {
    map: MmapRaw,
}

impl SharedCounter {
    /// Maps the counter of `path`, creating the file (at eight bytes) if needed. A longer file
    /// (an older version appended a byte per revocation) keeps its length; its first eight
    /// bytes are the counter from then on.
    pub fn open(path: &Path) -> std::io::Result<Self> {
        let file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(path)?;
        if file.metadata()?.len() < SIZE {
            file.set_len(SIZE)?;
        }
        let map = MmapOptions::new().len(SIZE as usize).map_raw(&file)?;
        Ok(Self { map })
    }

    fn cell(&self) -> &AtomicU64 {
        // SAFETY: the mapping is eight bytes long, page-aligned (so aligned for a u64), and
        // lives as long as `self`, which the returned reference borrows. `AtomicU64` has the
        // layout of a `u64`, and every process touches these bytes only through this type's
        // atomic operations, so concurrent access from several processes is not a data race.
        unsafe { &*self.map.as_ptr().cast::<AtomicU64>() }
    }

    /// The count now.
    pub fn load(&self) -> u64 {
        self.cell().load(Ordering::SeqCst)
    }

    /// Adds one (a revocation).
    pub fn bump(&self) {
        self.cell().fetch_add(1, Ordering::SeqCst);
    }
}

#[cfg(test)]
mod tests {
    use super::SharedCounter;

    #[test]
    fn two_mappings_of_one_file_see_each_others_bumps() {
        let folder = tempfile::tempdir().unwrap();
        let path = folder.path().join("counter");
        let (a, b) = (
            SharedCounter::open(&path).unwrap(),
            SharedCounter::open(&path).unwrap(),
        );
        let before = b.load();
        a.bump();
        a.bump();
        assert_eq!(b.load(), before + 2);
        assert_eq!(std::fs::metadata(&path).unwrap().len(), 8);
    }

    #[test]
    fn an_older_longer_file_keeps_its_length() {
        let folder = tempfile::tempdir().unwrap();
        let path = folder.path().join("counter");
        std::fs::write(&path, "...........").unwrap();
        let counter = SharedCounter::open(&path).unwrap();
        let before = counter.load();
        counter.bump();
        assert_eq!(counter.load(), before.wrapping_add(1));
        assert_eq!(std::fs::metadata(&path).unwrap().len(), 11);
    }
}
