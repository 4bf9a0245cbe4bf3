//! The signed-in hot path without a database round trip: an in-process cache of session →
//! (account, session) keyed by the token hash, and of account → 2-step status and address for
//! security e-mails (what `GET /api/me` shows besides the account), bounded, filled on first
//! use.
//!
//! Revocation stays immediate because the cache is all-or-nothing: every write that ends or
//! changes a session, a role, an account, a device or a password *revokes* (see
//! [`crate::sessions::revocation`]), which empties this cache and bumps its generation, in the code
//! path that commits the write. An entry read from the database before a revocation is never
//! stored after it (the generation it was read under no longer matches). Other writers are
//! heard too: on PostgreSQL through `LISTEN` (while the listener is not connected the cache is
//! bypassed and emptied), on SQLite through the revocation counter the other process bumps.

use crate::accounts::users::UserRecord;
use crate::sessions::SessionRecord;
use crate::sessions::shared_counter::SharedCounter;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use twostep_shared::api::TwoStepStatus;

/// How long a revoking request waits for its notification to go round before answering.
pub const ECHO_WAIT: std::time::Duration = std::time::Duration::from_secs(2);

/// The start of a read barrier's notification ([`SessionCache::barrier`]): heard, it revokes
/// nothing.
const BARRIER_PREFIX: &str = "barrier:";

/// Sessions kept at most (an entry is a few hundred bytes).
pub const CAPACITY: usize = 10_000;

/// What `GET /api/me` shows besides the session's account: its 2-step status and its address
/// for security e-mails.
#[derive(Debug, Clone)]
pub struct Own {
    pub status: TwoStepStatus,
    pub email: Option<String>,
}

/// A signed-in session and its account, as the extractor needs them.
#[derive(Debug, Clone)]
pub struct Cached {
    pub user: UserRecord,
    pub session: SessionRecord,
    generation: u64,
}

/// The cache. Cloning shares it.
#[derive(Clone)]
pub struct SessionCache(Arc<Inner>);

struct Inner {
    entries: quick_cache::sync::Cache<String, Arc<Cached>>,
    /// Account id → its 2-step status and address, and the generation they were read under.
    statuses: quick_cache::sync::Cache<i64, (Own, u64)>,
    generation: AtomicU64,
    /// Whether revocations by other writers are heard (PostgreSQL: the listener is
    /// connected). When false the cache is bypassed.
    hearing: AtomicBool,
    /// Whether the cache is used at all (`--session-cache off` for the bench's comparison).
    enabled: bool,
    /// SQLite: the revocation counter every process using the database bumps
    /// ([`crate::sessions::shared_counter`]), and its value last seen.
    counter: Option<Arc<SharedCounter>>,
    counter_seen: AtomicU64,
    /// PostgreSQL: the payloads of revocations this instance's listener heard lately, so a
    /// writer can wait until its own notification went round ([`Self::wait_heard`]).
    heard: std::sync::Mutex<std::collections::VecDeque<String>>,
    heard_changed: tokio::sync::Notify,
    /// PostgreSQL: one read barrier at a time ([`Self::barrier`]), how many were started and
    /// the last one completed.
    barrier_turn: tokio::sync::Mutex<()>,
    /// Whether a hit needs a barrier first (PostgreSQL: revocations arrive as notifications).
    barrier_needed: bool,
    barriers_started: AtomicU64,
    barriers_done: AtomicU64,
    /// For tests only ([`Self::hold_hearing`]): while true, the listener acts on nothing it
    /// receives.
    held: tokio::sync::watch::Sender<bool>,
}

impl SessionCache {
    /// A cache; `hearing` says whether other writers' revocations reach it from the start
    /// (false for PostgreSQL until the listener connects).
    pub fn new(enabled: bool, hearing: bool, counter: Option<Arc<SharedCounter>>) -> Self {
        let seen = counter.as_deref().map_or(0, SharedCounter::load);
        Self(Arc::new(Inner {
            entries: quick_cache::sync::Cache::new(CAPACITY),
            statuses: quick_cache::sync::Cache::new(CAPACITY),
            generation: AtomicU64::new(0),
            hearing: AtomicBool::new(hearing),
            enabled,
            counter,
            counter_seen: AtomicU64::new(seen),
            heard: Default::default(),
            heard_changed: tokio::sync::Notify::new(),
            barrier_turn: tokio::sync::Mutex::new(()),
            barrier_needed: !hearing,
            barriers_started: AtomicU64::new(0),
            barriers_done: AtomicU64::new(0),
            held: tokio::sync::watch::Sender::new(false),
        }))
    }

    /// Whether lookups may use the cache now. Notices another process's revocation on the
    /// way (SQLite: the revocation counter moved; one atomic load).
    fn usable(&self) -> bool {
        let inner = &self.0;
        if !inner.enabled || !inner.hearing.load(Ordering::SeqCst) {
            return false;
        }
        if let Some(counter) = &inner.counter {
            let value = counter.load();
            // Only reads while nothing changed (no write to a line every core shares). The
            // revocation comes before the value is noted, so whoever finds the value noted
            // finds the cache already emptied (a race at worst empties it twice).
            if inner.counter_seen.load(Ordering::SeqCst) != value {
                self.revoke();
                inner.counter_seen.store(value, Ordering::SeqCst);
            }
        }
        true
    }

    /// The cached session for a token hash, if the cache may be used and holds it.
    pub fn get(&self, token_hash: &str) -> Option<Arc<Cached>> {
        if !self.usable() {
            return None;
        }
        let generation = self.0.generation.load(Ordering::SeqCst);
        self.0
            .entries
            .get(token_hash)
            .filter(|cached| cached.generation == generation)
    }

    /// [`Self::get`] for a request: on PostgreSQL a hit is trusted only after a
    /// [`Self::barrier`] (then looked up again: the barrier may have emptied the cache).
    pub async fn get_checked(
        &self,
        token_hash: &str,
        db: &sqlx::AnyPool,
    ) -> Result<Option<Arc<Cached>>, sqlx::Error> {
        let hit = self.get(token_hash);
        if hit.is_none() || !self.0.barrier_needed {
            return Ok(hit);
        }
        Ok(if self.barrier(db).await? {
            self.get(token_hash)
        } else {
            None
        })
    }

    /// The generation to pass to [`Self::insert`]: taken *before* reading the database.
    pub fn generation(&self) -> u64 {
        self.0.generation.load(Ordering::SeqCst)
    }

    /// Keeps what was read under `generation`, unless a revocation came since.
    pub fn insert(&self, user: UserRecord, session: SessionRecord, generation: u64) {
        if !self.usable() || generation != self.generation() {
            return;
        }
        let key = session.token_hash.clone();
        let cached = Arc::new(Cached {
            user,
            session,
            generation,
        });
        self.0.entries.insert(key, cached);
        // A revocation between the check above and the insert bumped the generation: the
        // entry is then ignored by `get` and dropped with the next clear.
    }

    /// The cached 2-step status and address of an account, if the cache is on and holds them. For use
    /// right after this request's session lookup ([`Self::get_checked`]), which has just looked for
    /// other processes' revocations (and on PostgreSQL waited for a barrier): this does not look
    /// again.
    pub fn own(&self, user_id: i64) -> Option<Own> {
        if !self.0.enabled || !self.is_hearing() {
            return None;
        }
        let generation = self.generation();
        self.0
            .statuses
            .get(&user_id)
            .filter(|(_, read_under)| *read_under == generation)
            .map(|(own, _)| own)
    }

    /// Keeps a status and address read under `generation` (taken before the read), unless a
    /// revocation came since.
    pub fn insert_own(&self, user_id: i64, own: Own, generation: u64) {
        if self.usable() && generation == self.generation() {
            self.0.statuses.insert(user_id, (own, generation));
        }
    }

    /// The session was seen at `now` (its "last seen" is recorded for writing).
    pub fn seen(&self, token_hash: &str, now: u64) {
        let generation = self.generation();
        if let Some(cached) = self.0.entries.get(token_hash)
            && cached.generation == generation
        {
            let mut session = cached.session.clone();
            session.last_seen_at = now;
            self.insert(cached.user.clone(), session, generation);
        }
    }

    /// Forgets everything (a revocation here or elsewhere).
    pub fn revoke(&self) {
        self.0.generation.fetch_add(1, Ordering::SeqCst);
        self.0.entries.clear();
        self.0.statuses.clear();
    }

    /// The PostgreSQL listener connected (`true`) or was lost (`false`); either way what is
    /// cached may have missed revocations, so it is forgotten.
    pub fn set_hearing(&self, hearing: bool) {
        self.0.hearing.store(hearing, Ordering::SeqCst);
        self.revoke();
    }

    /// The listener heard this payload: a revocation (forget everything) or a read barrier
    /// ([`Self::barrier`], nothing to forget); either way a writer or barrier waiting for it
    /// is woken.
    pub fn heard(&self, payload: String) {
        if !payload.starts_with(BARRIER_PREFIX) {
            self.revoke();
        }
        let mut heard = self.0.heard.lock().unwrap_or_else(|e| e.into_inner());
        heard.push_back(payload);
        while heard.len() > 256 {
            heard.pop_front();
        }
        drop(heard);
        self.0.heard_changed.notify_waiters();
    }

    /// Waits (at most `limit`) until this instance's listener heard `payload`: the
    /// notification has then been sent to every listening instance. False on time-out or
    /// when nothing is listening.
    pub async fn wait_heard(&self, payload: &str, limit: std::time::Duration) -> bool {
        let deadline = tokio::time::Instant::now() + limit;
        loop {
            let changed = self.0.heard_changed.notified();
            tokio::pin!(changed);
            changed.as_mut().enable();
            if !self.is_hearing() {
                return false;
            }
            {
                let heard = self.0.heard.lock().unwrap_or_else(|e| e.into_inner());
                if heard.iter().any(|p| p == payload) {
                    return true;
                }
            }
            if tokio::time::timeout_at(deadline, changed).await.is_err() {
                return false;
            }
        }
    }

    /// PostgreSQL: a read barrier before a cached entry is trusted. It sends a notification
    /// of its own and waits until this instance's listener hears it: PostgreSQL delivers
    /// notifications in the order their transactions committed, so by then every revocation
    /// committed before this request arrived has been heard (and has emptied the cache).
    /// Requests share barriers: one that started after a request arrived and has completed
    /// serves it, so under load one notification serves many requests. False if the barrier
    /// could not be confirmed in time: the caller then reads the database.
    pub async fn barrier(&self, db: &sqlx::AnyPool) -> Result<bool, sqlx::Error> {
        let inner = &self.0;
        let arrival = inner.barriers_started.load(Ordering::SeqCst);
        let _turn = inner.barrier_turn.lock().await;
        if inner.barriers_done.load(Ordering::SeqCst) > arrival {
            return Ok(true);
        }
        let number = inner.barriers_started.fetch_add(1, Ordering::SeqCst) + 1;
        let payload = crate::sessions::revoking_tx::new_payload(BARRIER_PREFIX);
        crate::sessions::revoking_tx::notify(db, &payload).await?;
        let heard = self.wait_heard(&payload, ECHO_WAIT).await;
        if heard {
            inner.barriers_done.store(number, Ordering::SeqCst);
        }
        Ok(heard)
    }

    /// For tests only (no setting or command reaches it): while `held`, the PostgreSQL
    /// listener acts on none of the notifications it receives; they wait, in order, until
    /// released, as over a slow network or a connection cut that neither side has noticed
    /// yet. The instance still believes it hears. It weakens nothing: a cached hit is trusted
    /// only after a read barrier, which then waits (and, if held for longer than
    /// [`ECHO_WAIT`], gives up and reads the database).
    pub fn hold_hearing(&self, held: bool) {
        self.0.held.send_replace(held);
    }

    /// The listener, before acting on a notification: waits while [`Self::hold_hearing`]
    /// holds it (at once otherwise).
    pub async fn until_released(&self) {
        let mut held = self.0.held.subscribe();
        // The sender lives as long as this cache: the wait ends only by a release.
        let _ = held.wait_for(|held| !held).await;
    }

    /// Whether revocations by other writers are heard now (tests wait on this).
    pub fn is_hearing(&self) -> bool {
        self.0.hearing.load(Ordering::SeqCst)
    }

    pub fn len(&self) -> usize {
        self.0.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sessions::Stage;
    use twostep_shared::api::Role;

    #[test]
    fn it_holds_at_most_ten_thousand_sessions_and_as_many_statuses() {
        assert_eq!(CAPACITY, 10_000, "the bound the docs give");
        let cache = SessionCache::new(true, true, None);
        let generation = cache.generation();
        let offered = 3 * CAPACITY as i64;
        for id in 0..offered {
            let user = UserRecord {
                id,
                username: format!("user{id}"),
                role: Role::User,
                identity_provider: None,
                disabled: false,
                password_change_required: false,
            };
            let session = SessionRecord {
                token_hash: format!("{id:064x}"),
                user_id: id,
                stage: Stage::SignedIn,
                expires_at: 1_000,
                authenticated_at: 0,
                last_seen_at: 0,
            };
            cache.insert(user, session, generation);
            let status = TwoStepStatus {
                enabled: true,
                recovery_codes_left: 10,
                locked: false,
                app: true,
                security_keys: 0,
            };
            let email = Some(format!("user{id}@example.com"));
            cache.insert_own(id, Own { status, email }, generation);
        }
        let (sessions, statuses) = (cache.0.entries.len(), cache.0.statuses.len());
        assert!(sessions <= CAPACITY, "{sessions} sessions kept");
        assert!(statuses <= CAPACITY, "{statuses} statuses kept");
        // Bounded, not off: it keeps thousands, and what it keeps is found.
        assert!(sessions > CAPACITY / 2, "only {sessions} sessions kept");
        let found = (0..offered)
            .filter(|id| cache.get(&format!("{id:064x}")).is_some())
            .count();
        assert_eq!(found, sessions);
    }
}
