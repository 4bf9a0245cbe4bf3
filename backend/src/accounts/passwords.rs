//! Password (and recovery code) hashing with Argon2id, off the async workers.
//!
//! Parameters follow OWASP: m = 19 MiB, t = 2, p = 1. Each hash runs on one of a few
//! dedicated hashing threads (one per core). Each thread keeps its own Argon2 working memory
//! ([`Workspace`]) from one hash to the next, on huge pages where the kernel allows: no 19 MiB
//! allocation per hash, and far fewer TLB misses (about 10% more hashes per second here). Jobs
//! wait in one queue the threads take from, so a thread that finishes starts on the next job
//! at once; when too many jobs are already queued the caller gets `503` instead of waiting
//! without bound. Unknown usernames are checked against a dummy hash so they cost the same time.

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{Output, ParamsString, PasswordHash, SaltString};
use argon2::{Algorithm, Argon2, Block, Params, Version};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

/// OWASP's Argon2id parameters.
pub fn params() -> Params {
    Params::new(19 * 1024, 2, 1, None).expect("constant Argon2 parameters are valid")
}

/// Argon2's working memory (one block per KiB of `m`), kept by one thread and reused.
pub struct Workspace {
    blocks: Vec<Block>,
}

impl Default for Workspace {
    fn default() -> Self {
        Self::new()
    }
}

impl Workspace {
    /// Memory for the server's parameters ([`params`]).
    pub fn new() -> Self {
        Self {
            blocks: huge_page_blocks(params().block_count()),
        }
    }

    /// The reusable blocks when `params` fits them, otherwise one-off ones (a hash stored with
    /// other parameters, e.g. by an older version).
    fn blocks_for(&mut self, params: &Params) -> BlocksFor<'_> {
        if params.block_count() == self.blocks.len() {
            BlocksFor::Kept(&mut self.blocks)
        } else {
            BlocksFor::OneOff(vec![Block::new(); params.block_count()])
        }
    }

    /// Hashes a secret into a PHC string with a fresh salt and the server's parameters.
    pub fn hash(&mut self, secret: &str) -> Result<String, String> {
        let salt = SaltString::generate(&mut OsRng);
        let params = params();
        let argon2 = Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone());
        let failed = |e: &dyn std::fmt::Display| format!("argon2 hash failed: {e}");
        let mut salt_bytes = [0u8; 64];
        let salt_bytes = salt.decode_b64(&mut salt_bytes).map_err(|e| failed(&e))?;
        let mut output = [0u8; Params::DEFAULT_OUTPUT_LEN];
        argon2
            .hash_password_into_with_memory(
                secret.as_bytes(),
                salt_bytes,
                &mut output,
                self.blocks_for(&params),
            )
            .map_err(|e| failed(&e))?;
        let phc = PasswordHash {
            algorithm: Algorithm::Argon2id.ident(),
            version: Some(Version::V0x13.into()),
            params: ParamsString::try_from(&params).map_err(|e| failed(&e))?,
            salt: Some(salt.as_salt()),
            hash: Some(Output::new(&output).map_err(|e| failed(&e))?),
        };
        Ok(phc.to_string())
    }

    /// Checks a secret against a PHC string, with the algorithm, version and parameters the
    /// string names. A malformed hash never matches. The outputs are compared in constant time.
    pub fn verify(&mut self, secret: &str, phc: &str) -> bool {
        let Ok(parsed) = PasswordHash::new(phc) else {
            return false;
        };
        let (Some(salt), Some(expected)) = (parsed.salt, parsed.hash) else {
            return false;
        };
        let Ok(algorithm) = Algorithm::try_from(parsed.algorithm) else {
            return false;
        };
        let version = match parsed.version.map(Version::try_from).transpose() {
            Ok(version) => version.unwrap_or_default(),
            Err(_) => return false,
        };
        let Ok(params) = Params::try_from(&parsed) else {
            return false;
        };
        let mut salt_bytes = [0u8; 64];
        let Ok(salt_bytes) = salt.decode_b64(&mut salt_bytes) else {
            return false;
        };
        let argon2 = Argon2::new(algorithm, version, params.clone());
        let mut computed = vec![0u8; expected.len()];
        let hashed = argon2.hash_password_into_with_memory(
            secret.as_bytes(),
            salt_bytes,
            &mut computed,
            self.blocks_for(&params),
        );
        // `Output`'s equality is constant-time.
        hashed.is_ok() && Output::new(&computed).is_ok_and(|computed| computed == expected)
    }
}

/// Blocks that are either a workspace's own or made for one call.
enum BlocksFor<'a> {
    Kept(&'a mut [Block]),
    OneOff(Vec<Block>),
}

impl AsMut<[Block]> for BlocksFor<'_> {
    fn as_mut(&mut self) -> &mut [Block] {
        match self {
            Self::Kept(blocks) => blocks,
            Self::OneOff(blocks) => blocks,
        }
    }
}

/// `count` zeroed blocks, on transparent huge pages where the kernel allows it.
///
/// Argon2 reads its memory at random: with 4 KiB pages nearly every read of 19 MiB misses the
/// TLB. The kernel here gives huge pages only to memory marked with `madvise(MADV_HUGEPAGE)`
/// (`/sys/kernel/mm/transparent_hugepage/enabled` = `madvise`), so the allocation is marked
/// before it is first written. Where that fails, the memory simply stays on small pages.
fn huge_page_blocks(count: usize) -> Vec<Block> {
    let mut blocks: Vec<Block> = Vec::with_capacity(count);
    advise_huge_pages(blocks.as_mut_ptr().cast(), count * Block::SIZE);
    blocks.resize(count, Block::new());
    blocks
}

#[cfg(target_os = "linux")]
fn advise_huge_pages(start: *mut u8, len: usize) {
    const HUGE_PAGE: usize = 2 * 1024 * 1024;
    let first = (start as usize).next_multiple_of(HUGE_PAGE);
    let end = (start as usize + len) / HUGE_PAGE * HUGE_PAGE;
    if end > first {
        // SAFETY: [first, end) lies inside the allocation behind `start`, which this thread
        // owns; MADV_HUGEPAGE changes only how the kernel backs the pages, never their
        // contents, so no Rust reference can observe it.
        unsafe {
            libc::madvise(first as *mut libc::c_void, end - first, libc::MADV_HUGEPAGE);
        }
    }
}

#[cfg(not(target_os = "linux"))]
fn advise_huge_pages(_start: *mut u8, _len: usize) {}

/// Hashes a secret into a PHC string (blocking, with memory of its own; hot paths go through
/// [`Hasher`], whose threads reuse theirs).
pub fn hash_blocking(secret: &str) -> Result<String, String> {
    Workspace::new().hash(secret)
}

/// Checks a secret against a PHC string (blocking, with memory of its own). A malformed hash
/// never matches.
pub fn verify_blocking(secret: &str, phc: &str) -> bool {
    Workspace::new().verify(secret, phc)
}

/// Why hashing work did not run.
#[derive(Debug, thiserror::Error)]
pub enum HashError {
    /// Too many jobs are queued already (answered 503).
    #[error("the password hashing queue is full")]
    Busy,
    #[error("password hashing failed: {0}")]
    Failed(String),
}

/// Runs Argon2 work on the hashing threads, with a bounded queue.
#[derive(Clone)]
pub struct Hasher {
    jobs: std::sync::mpsc::Sender<Job>,
    /// Jobs queued or running; each job lowers it when it ends (or is skipped).
    queued: Arc<AtomicUsize>,
    /// Jobs that ran (not skipped), since start: what the hashing threads really did.
    ran: Arc<AtomicU64>,
    max_queued: usize,
    dummy_hash: Arc<str>,
}

impl Hasher {
    /// `threads` hashes at once; with `max_queued` jobs queued or running, more get 503.
    /// Blocks while a hashing thread makes the dummy hash (in its own working memory, so the
    /// server's Argon2 memory is exactly its threads' workspaces).
    pub fn new(threads: usize, max_queued: usize) -> Self {
        let jobs = spawn_hashing_threads(threads.max(1));
        let (sender, receiver) = std::sync::mpsc::channel();
        let dummy = jobs
            .send(Box::new(move |workspace: &mut Workspace| {
                let _ = sender.send(workspace.hash("twostep dummy password for unknown users"));
            }))
            .ok()
            .and_then(|()| receiver.recv().ok())
            .expect("a hashing thread is running")
            .expect("hashing a constant works");
        Self {
            jobs,
            queued: Arc::new(AtomicUsize::new(0)),
            ran: Arc::new(AtomicU64::new(0)),
            max_queued,
            dummy_hash: dummy.into(),
        }
    }

    /// Jobs queued or running now.
    pub fn queued(&self) -> usize {
        self.queued.load(Ordering::SeqCst)
    }

    /// Jobs the hashing threads have run since start (skipped ones not counted).
    pub fn jobs_run(&self) -> u64 {
        self.ran.load(Ordering::SeqCst)
    }

    /// Takes a place in the queue now, for a job sent later: a caller that has database work
    /// to do before its hash learns first that the queue is full, so a flood the queue turns
    /// away costs no database work. The place is given back when dropped unused.
    pub fn place(&self) -> Result<Place, HashError> {
        if self.queued.fetch_add(1, Ordering::SeqCst) >= self.max_queued {
            self.queued.fetch_sub(1, Ordering::SeqCst);
            return Err(HashError::Busy);
        }
        Ok(Place {
            hasher: self.clone(),
            ended: DecrementOnDrop(self.queued.clone()),
        })
    }

    /// Runs `work` (Argon2 calls with the thread's [`Workspace`]) on a hashing thread.
    ///
    /// A job whose caller has gone (the client hung up) is skipped when its turn comes.
    pub async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce(&mut Workspace) -> T + Send + 'static,
    ) -> Result<T, HashError> {
        self.place()?.run(work).await
    }

    pub async fn hash(&self, secret: String) -> Result<String, HashError> {
        self.run(move |workspace| workspace.hash(&secret))
            .await?
            .map_err(HashError::Failed)
    }

    /// Verifies `secret` against `phc`, or against a dummy hash when there is none (unknown
    /// user, organizational account) so that the answer takes the same time; then `false`.
    pub async fn verify(&self, secret: String, phc: Option<String>) -> Result<bool, HashError> {
        self.place()?.verify(secret, phc).await
    }
}

/// A place taken in the hashing queue ([`Hasher::place`]): counted as queued until its job
/// ends, or until it is dropped unused.
pub struct Place {
    hasher: Hasher,
    ended: DecrementOnDrop,
}

impl Place {
    /// Runs `work` on a hashing thread in this place (see [`Hasher::run`]).
    pub async fn run<T: Send + 'static>(
        self,
        work: impl FnOnce(&mut Workspace) -> T + Send + 'static,
    ) -> Result<T, HashError> {
        let Self { hasher, ended } = self;
        let ran = hasher.ran.clone();
        let (done, result) = tokio::sync::oneshot::channel();
        let job: Job = Box::new(move |workspace| {
            let _ended = ended;
            if done.is_closed() {
                return;
            }
            ran.fetch_add(1, Ordering::SeqCst);
            // A panic drops `done`, which the caller sees as a failed job.
            let work = std::panic::AssertUnwindSafe(|| work(workspace));
            if let Ok(value) = std::panic::catch_unwind(work) {
                let _ = done.send(value);
            }
        });
        hasher
            .jobs
            .send(job)
            .map_err(|_| HashError::Failed("the hashing threads have stopped".to_owned()))?;
        result
            .await
            .map_err(|_| HashError::Failed("a hashing job panicked".to_owned()))
    }

    /// [`Hasher::verify`] in this place.
    pub async fn verify(self, secret: String, phc: Option<String>) -> Result<bool, HashError> {
        let known = phc.is_some();
        let phc = phc.unwrap_or_else(|| self.hasher.dummy_hash.to_string());
        let matched = self
            .run(move |workspace| workspace.verify(&secret, &phc))
            .await?;
        Ok(known && matched)
    }
}

/// Work for a hashing thread, given the thread's memory.
type Job = Box<dyn FnOnce(&mut Workspace) + Send>;

/// Starts `count` threads that run hashing jobs until every sender is dropped.
fn spawn_hashing_threads(count: usize) -> std::sync::mpsc::Sender<Job> {
    let (sender, receiver) = std::sync::mpsc::channel::<Job>();
    let receiver = Arc::new(std::sync::Mutex::new(receiver));
    for index in 0..count {
        let receiver = receiver.clone();
        let spawned = std::thread::Builder::new()
            .name(format!("argon2-{index}"))
            .spawn(move || {
                let mut workspace = Workspace::new();
                loop {
                    // The lock is held only while waiting for the next job.
                    let next = match receiver.lock() {
                        Ok(receiver) => receiver.recv(),
                        Err(_) => return,
                    };
                    match next {
                        Ok(job) => job(&mut workspace),
                        Err(_) => return,
                    }
                }
            });
        if let Err(error) = spawned {
            tracing::error!(%error, "cannot start a hashing thread");
        }
    }
    sender
}

/// Lowers the queue count when a job ends, however it ends.
struct DecrementOnDrop(Arc<AtomicUsize>);

impl Drop for DecrementOnDrop {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_and_verify() {
        let phc = hash_blocking("correct horse").unwrap();
        assert!(phc.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
        assert!(verify_blocking("correct horse", &phc));
        assert!(!verify_blocking("wrong horse", &phc));
        assert!(!verify_blocking("correct horse", "not a hash"));
    }

    #[test]
    fn a_reused_workspace_gives_the_same_answers() {
        let mut workspace = Workspace::new();
        let first = workspace.hash("first secret").unwrap();
        let second = workspace.hash("second secret").unwrap();
        assert_ne!(first, second);
        for _ in 0..2 {
            assert!(workspace.verify("first secret", &first));
            assert!(workspace.verify("second secret", &second));
            assert!(!workspace.verify("first secret", &second));
        }
    }

    #[test]
    fn hashes_of_the_argon2_crate_verify_both_ways() {
        use argon2::password_hash::{PasswordHasher, PasswordVerifier};
        let reference = Argon2::new(Algorithm::Argon2id, Version::V0x13, params());
        let salt = SaltString::generate(&mut OsRng);
        let theirs = reference
            .hash_password(b"shared", &salt)
            .unwrap()
            .to_string();
        assert!(verify_blocking("shared", &theirs));
        assert!(!verify_blocking("other", &theirs));
        let ours = hash_blocking("shared").unwrap();
        let parsed = PasswordHash::new(&ours).unwrap();
        assert!(reference.verify_password(b"shared", &parsed).is_ok());
        assert!(reference.verify_password(b"other", &parsed).is_err());
    }

    #[test]
    fn hashes_with_other_parameters_still_verify() {
        use argon2::password_hash::PasswordHasher;
        let small = Params::new(8 * 1024, 1, 1, None).unwrap();
        let argon2i = Argon2::new(Algorithm::Argon2i, Version::V0x10, small);
        let salt = SaltString::generate(&mut OsRng);
        let phc = argon2i.hash_password(b"old", &salt).unwrap().to_string();
        let mut workspace = Workspace::new();
        assert!(workspace.verify("old", &phc));
        assert!(!workspace.verify("new", &phc));
        // The workspace keeps its own size for the next hash of the server's parameters.
        let current = workspace.hash("current").unwrap();
        assert!(workspace.verify("current", &current));
    }

    #[test]
    fn a_truncated_hash_never_matches() {
        let phc = hash_blocking("secret").unwrap();
        let cut = &phc[..phc.len() - 10];
        assert!(!verify_blocking("secret", cut));
        assert!(!verify_blocking(
            "secret",
            "$argon2id$v=19$m=19456,t=2,p=1$"
        ));
    }

    #[tokio::test]
    async fn unknown_user_never_verifies() {
        let hasher = Hasher::new(1, 4);
        let dummy = hasher.dummy_hash.to_string();
        assert!(!hasher.verify("anything".into(), None).await.unwrap());
        // The dummy hash was really computed: one job, like a known user's.
        assert_eq!(hasher.jobs_run(), 1);
        assert!(
            !hasher
                .verify("twostep dummy password for unknown users".into(), None)
                .await
                .unwrap()
        );
        assert!(hasher.verify("x".into(), Some(dummy)).await.is_ok());
    }

    #[tokio::test]
    async fn full_queue_answers_unavailable() {
        let hasher = Hasher::new(1, 0);
        let err = hasher.hash("x".into()).await.unwrap_err();
        assert!(matches!(err, HashError::Busy), "{err}");
        assert_eq!(hasher.jobs_run(), 0);
    }

    #[tokio::test]
    async fn a_place_taken_early_counts_until_used_or_dropped() {
        let hasher = Hasher::new(1, 2);
        let first = hasher.place().unwrap();
        let second = hasher.place().unwrap();
        assert_eq!(hasher.queued(), 2);
        assert!(matches!(hasher.place(), Err(HashError::Busy)));
        drop(first);
        assert_eq!(hasher.queued(), 1);
        assert_eq!(second.run(|_| 7).await.unwrap(), 7);
        queued_becomes(&hasher, 0).await;
        assert_eq!(hasher.jobs_run(), 1);
    }

    /// Waits up to 5 s for the count of queued or running jobs to reach `count`.
    async fn queued_becomes(hasher: &Hasher, count: usize) {
        for _ in 0..500 {
            if hasher.queued.load(Ordering::SeqCst) == count {
                return;
            }
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
        panic!("the queue never held {count} jobs");
    }

    #[tokio::test]
    async fn an_abandoned_job_keeps_its_place_until_a_thread_skips_it() {
        let hasher = Hasher::new(1, 2);
        let (release, hold) = std::sync::mpsc::channel::<()>();
        let busy = tokio::spawn({
            let hasher = hasher.clone();
            async move { hasher.run(move |_| hold.recv().is_ok()).await }
        });
        queued_becomes(&hasher, 1).await;
        let abandoned = tokio::spawn({
            let hasher = hasher.clone();
            async move { hasher.run(|_| ()).await }
        });
        queued_becomes(&hasher, 2).await;
        abandoned.abort();
        assert!(abandoned.await.is_err(), "the caller was cancelled");
        let refused = hasher.run(|_| ()).await.unwrap_err();
        assert!(matches!(refused, HashError::Busy), "{refused}");
        release.send(()).unwrap();
        assert!(busy.await.unwrap().unwrap());
        queued_becomes(&hasher, 0).await;
        // The busy job ran; the abandoned one was skipped, never run.
        assert_eq!(hasher.jobs_run(), 1);
        assert_eq!(hasher.run(|_| 7).await.unwrap(), 7);
        assert_eq!(hasher.jobs_run(), 2);
    }
}
