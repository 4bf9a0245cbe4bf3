//! Password (and recovery code) hashing with Argon2id, off the async workers.
//!
//! Parameters follow OWASP: m = 19 MiB, t = 2, p = 1. Each hash runs on one of a few
//! dedicated hashing threads (one per core) behind a semaphore with as many permits, so
//! sign-ins cannot starve the other requests and the allocator keeps at most one 19 MiB block
//! per hashing thread (the blocking pool's many threads each kept their own, hundreds of MiB);
//! when too many are already waiting the caller gets `503` instead of queueing without bound.
//! Unknown usernames are checked against a dummy hash so they cost the same time.

use crate::error::{ApiError, ApiResult};
use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use tokio::sync::Semaphore;

/// OWASP's Argon2id parameters.
pub fn argon2() -> Argon2<'static> {
    let params = Params::new(19 * 1024, 2, 1, None).expect("constant Argon2 parameters are valid");
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

/// Hashes a secret into a PHC string (blocking; call through [`Hasher`] from async code).
pub fn hash_blocking(secret: &str) -> Result<String, String> {
    let salt = SaltString::generate(&mut OsRng);
    argon2()
        .hash_password(secret.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| format!("argon2 hash failed: {e}"))
}

/// Checks a secret against a PHC string (blocking). A malformed hash never matches.
pub fn verify_blocking(secret: &str, phc: &str) -> bool {
    match PasswordHash::new(phc) {
        Ok(parsed) => argon2().verify_password(secret.as_bytes(), &parsed).is_ok(),
        Err(_) => false,
    }
}

/// Runs Argon2 work on the blocking pool, a bounded number at a time.
#[derive(Clone)]
pub struct Hasher {
    permits: Arc<Semaphore>,
    jobs: std::sync::mpsc::Sender<Job>,
    waiting: Arc<AtomicUsize>,
    max_waiting: usize,
    dummy_hash: Arc<str>,
}

impl Hasher {
    /// `concurrency` hashes at once; up to `max_waiting` more wait, the rest get 503.
    pub fn new(concurrency: usize, max_waiting: usize) -> Self {
        let dummy = hash_blocking("twostep dummy password for unknown users")
            .expect("hashing a constant works");
        Self {
            permits: Arc::new(Semaphore::new(concurrency.max(1))),
            jobs: spawn_hashing_threads(concurrency.max(1)),
            waiting: Arc::new(AtomicUsize::new(0)),
            max_waiting,
            dummy_hash: dummy.into(),
        }
    }

    /// Runs `work` (Argon2 calls) under a permit.
    pub async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> ApiResult<T> {
        let waiting = self.waiting.fetch_add(1, Ordering::SeqCst);
        let _leave = DecrementOnDrop(&self.waiting);
        if waiting >= self.max_waiting {
            return Err(ApiError::Unavailable(
                "password hashing queue is full".to_owned(),
            ));
        }
        let _permit = self
            .permits
            .acquire()
            .await
            .map_err(|_| ApiError::internal("hasher semaphore closed"))?;
        let (done, result) = tokio::sync::oneshot::channel();
        let job: Job = Box::new(move || {
            // A panic drops `done`, which the caller sees as a failed job.
            if let Ok(value) = std::panic::catch_unwind(std::panic::AssertUnwindSafe(work)) {
                let _ = done.send(value);
            }
        });
        self.jobs
            .send(job)
            .map_err(|_| ApiError::internal("the hashing threads have stopped"))?;
        result
            .await
            .map_err(|_| ApiError::internal("a hashing job failed"))
    }

    pub async fn hash(&self, secret: String) -> ApiResult<String> {
        self.run(move || hash_blocking(&secret))
            .await?
            .map_err(ApiError::internal)
    }

    /// Verifies `secret` against `phc`, or against a dummy hash when there is none (unknown
    /// user, organizational account) so that the answer takes the same time; then `false`.
    pub async fn verify(&self, secret: String, phc: Option<String>) -> ApiResult<bool> {
        let known = phc.is_some();
        let phc = phc.unwrap_or_else(|| self.dummy_hash.to_string());
        let matched = self.run(move || verify_blocking(&secret, &phc)).await?;
        Ok(known && matched)
    }
}

/// Work for a hashing thread.
type Job = Box<dyn FnOnce() + Send>;

/// Starts `count` threads that run hashing jobs until every sender is dropped.
fn spawn_hashing_threads(count: usize) -> std::sync::mpsc::Sender<Job> {
    let (sender, receiver) = std::sync::mpsc::channel::<Job>();
    let receiver = Arc::new(std::sync::Mutex::new(receiver));
    for index in 0..count {
        let receiver = receiver.clone();
        let spawned = std::thread::Builder::new()
            .name(format!("argon2-{index}"))
            .spawn(move || {
                loop {
                    // The lock is held only while waiting for the next job.
                    let next = match receiver.lock() {
                        Ok(receiver) => receiver.recv(),
                        Err(_) => return,
                    };
                    match next {
                        Ok(job) => job(),
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

struct DecrementOnDrop<'a>(&'a AtomicUsize);

impl Drop for DecrementOnDrop<'_> {
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

    #[tokio::test]
    async fn unknown_user_never_verifies() {
        let hasher = Hasher::new(1, 4);
        let dummy = hasher.dummy_hash.to_string();
        assert!(!hasher.verify("anything".into(), None).await.unwrap());
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
        assert_eq!(err.code(), twostep_shared::ErrorCode::Unavailable);
    }
}
