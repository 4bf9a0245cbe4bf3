//! Applying the limits of [`crate::limits::policy`] so that they hold for simultaneous requests and
//! across instances: each attempt reserves its place **before** the work, by a
//! compare-and-set of the counter it read (one atomic statement whose `WHERE` is the state
//! the policy decided on). If another attempt changed the counter in between, the statement
//! changes nothing and the attempt reads again and asks the policy again, so a burst gets no
//! more tries than a sequence, on SQLite and on PostgreSQL alike.
//!
//! Also here, in memory per instance: the per-address window ([`AddressLimiter`]) and "one
//! Argon2 job per account at a time" ([`InFlight`]).

use crate::limits::policy::{self, Counter, Decision, Limit, Window};
use crate::web::client_addr;
use sqlx::{AnyPool, Row};
use std::collections::{HashMap, HashSet};
use std::net::IpAddr;
use std::sync::{Arc, Mutex};

/// Why an attempt may not go ahead.
#[derive(Debug, thiserror::Error)]
pub enum Refused {
    #[error("too many attempts: wait {0} s")]
    Wait(u64),
    #[error("the step is locked")]
    Locked,
    /// Another attempt with the same key is being checked on this instance.
    #[error("another attempt is in progress")]
    InProgress,
    /// The 2-step device was removed meanwhile.
    #[error("no 2-step verification device")]
    NoDevice,
    #[error(transparent)]
    Database(#[from] sqlx::Error),
}

/// Lost compare-and-sets after which an attempt gives up (answered as a 1-second wait). Each
/// loss means another attempt won, so this many only happen in a burst far past any limit.
const MAX_RACES: usize = 64;

fn counter(failures: i64, last_at: i64) -> Counter {
    Counter {
        failures: u32::try_from(failures).unwrap_or(u32::MAX),
        last_at: u64::try_from(last_at).unwrap_or(0),
    }
}

// ---------------------------------------------------------------------------------------------
// Password attempts, per key (`attempt_counters`).

/// The counter on record for `key` (cleared when there is none).
pub async fn password_counter(
    db: &mut sqlx::AnyConnection,
    key: &str,
) -> Result<Option<Counter>, sqlx::Error> {
    let row = sqlx::query("SELECT failures, last_at FROM attempt_counters WHERE counter_key = $1")
        .bind(key)
        .fetch_optional(db)
        .await?;
    row.map(|row| Ok(counter(row.try_get("failures")?, row.try_get("last_at")?)))
        .transpose()
}

/// Reserves a password attempt under `key`; `seen` is the counter the caller already read
/// (`None`: no row), saving a read in the common case; on `conn`, the connection the caller
/// read `seen` on, so that it goes back to the pool once (sqlx pings a connection as it goes
/// back: on SQLite a round trip to the connection's worker thread).
pub async fn reserve_password(
    conn: &mut sqlx::AnyConnection,
    key: &str,
    mut seen: Option<Counter>,
    now: u64,
) -> Result<(), Refused> {
    for _ in 0..MAX_RACES {
        let next = match policy::PASSWORD.reserve(seen.unwrap_or_default(), now) {
            Decision::Proceed(next) => next,
            Decision::Wait(seconds) => return Err(Refused::Wait(seconds)),
            Decision::Locked => return Err(Refused::Locked),
        };
        let won = match seen {
            None => sqlx::query(
                "INSERT INTO attempt_counters (counter_key, failures, last_at) VALUES ($1, $2, $3)
                 ON CONFLICT (counter_key) DO NOTHING",
            )
            .bind(key)
            .bind(i64::from(next.failures))
            .bind(next.last_at as i64)
            .execute(&mut *conn)
            .await?
            .rows_affected(),
            Some(old) => sqlx::query(
                "UPDATE attempt_counters SET failures = $1, last_at = $2
                 WHERE counter_key = $3 AND failures = $4 AND last_at = $5",
            )
            .bind(i64::from(next.failures))
            .bind(next.last_at as i64)
            .bind(key)
            .bind(i64::from(old.failures))
            .bind(old.last_at as i64)
            .execute(&mut *conn)
            .await?
            .rows_affected(),
        } == 1;
        if won {
            return Ok(());
        }
        seen = password_counter(conn, key).await?;
    }
    Err(Refused::Wait(1))
}

/// Hands back a reservation of [`reserve_password`] whose attempt was not checked (a busy
/// turn, a full hashing queue, a database error): it is not a failure.
pub async fn release_password(db: &AnyPool, key: &str) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE attempt_counters SET failures = failures - 1
         WHERE counter_key = $1 AND failures > 0",
    )
    .bind(key)
    .execute(db)
    .await?;
    Ok(())
}

/// Clears `key`'s counter after a right password.
pub async fn clear_password<'c>(
    db: impl sqlx::Executor<'c, Database = sqlx::Any>,
    key: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM attempt_counters WHERE counter_key = $1")
        .bind(key)
        .execute(db)
        .await?;
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Code attempts, per account (columns of `two_step_devices`).

/// Which of an account's two code counters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CodeCounter {
    /// Codes from the authenticator app ([`policy::CODE`]).
    App,
    /// Recovery codes ([`policy::RECOVERY`]).
    Recovery,
}

impl CodeCounter {
    fn limit(self) -> &'static Limit {
        match self {
            Self::App => &policy::CODE,
            Self::Recovery => &policy::RECOVERY,
        }
    }
}

/// The counter on record, `None` when the account has no device.
pub async fn code_counter(
    db: &AnyPool,
    user_id: i64,
    which: CodeCounter,
) -> Result<Option<Counter>, sqlx::Error> {
    let sql = match which {
        CodeCounter::App => {
            "SELECT failed_attempts AS failures, last_failed_at AS last_at FROM two_step_devices WHERE user_id = $1"
        }
        CodeCounter::Recovery => {
            "SELECT recovery_failures AS failures, recovery_last_failed_at AS last_at FROM two_step_devices WHERE user_id = $1"
        }
    };
    let row = sqlx::query(sql).bind(user_id).fetch_optional(db).await?;
    row.map(|row| Ok(counter(row.try_get("failures")?, row.try_get("last_at")?)))
        .transpose()
}

/// Reserves a code attempt on the account's `which` counter; returns the counter stored
/// (its `failures` tell whether a wrong answer now locks the step).
pub async fn reserve_code(
    db: &AnyPool,
    user_id: i64,
    which: CodeCounter,
    mut seen: Counter,
    now: u64,
) -> Result<Counter, Refused> {
    let limit = which.limit();
    for _ in 0..MAX_RACES {
        let next = match limit.reserve(seen, now) {
            Decision::Proceed(next) => next,
            Decision::Wait(seconds) => return Err(Refused::Wait(seconds)),
            Decision::Locked => return Err(Refused::Locked),
        };
        let query = match which {
            CodeCounter::App => sqlx::query(
                "UPDATE two_step_devices SET failed_attempts = $1, last_failed_at = $2, locked = $3
                 WHERE user_id = $4 AND failed_attempts = $5 AND last_failed_at = $6",
            )
            .bind(i64::from(next.failures))
            .bind(next.last_at as i64)
            .bind(i64::from(limit.locks(next.failures))),
            CodeCounter::Recovery => sqlx::query(
                "UPDATE two_step_devices SET recovery_failures = $1, recovery_last_failed_at = $2
                 WHERE user_id = $3 AND recovery_failures = $4 AND recovery_last_failed_at = $5",
            )
            .bind(i64::from(next.failures))
            .bind(next.last_at as i64),
        };
        let won = query
            .bind(user_id)
            .bind(i64::from(seen.failures))
            .bind(seen.last_at as i64)
            .execute(db)
            .await?
            .rows_affected()
            == 1;
        if won {
            return Ok(next);
        }
        seen = code_counter(db, user_id, which)
            .await?
            .ok_or(Refused::NoDevice)?;
    }
    Err(Refused::Wait(1))
}

/// Clears both code counters and the lock (a right code, a recovery code, an unlock).
pub async fn clear_codes<'c>(
    db: impl sqlx::Executor<'c, Database = sqlx::Any>,
    user_id: i64,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE two_step_devices SET failed_attempts = 0, last_failed_at = 0, locked = 0,
                                     recovery_failures = 0, recovery_last_failed_at = 0
         WHERE user_id = $1",
    )
    .bind(user_id)
    .execute(db)
    .await?;
    Ok(done.rows_affected() == 1)
}

// ---------------------------------------------------------------------------------------------
// In memory, per instance.

/// Attempts per client address (IPv6: per /64) in a fixed window, this instance only: wrong
/// passwords ([`policy::ADDRESS`], the default), or sign-ins through identity providers
/// ([`policy::PROVIDER_SIGN_INS`]).
#[derive(Debug)]
pub struct AddressLimiter {
    window: policy::AddressWindow,
    windows: Mutex<HashMap<IpAddr, Window>>,
}

impl Default for AddressLimiter {
    fn default() -> Self {
        Self::new(policy::ADDRESS)
    }
}

/// An address's reserved attempt: handed back (the count lowered) when dropped, unless
/// [`AddressReservation::keep`] says it was a failure.
#[must_use]
pub struct AddressReservation {
    limiter: Option<(Arc<AddressLimiter>, IpAddr)>,
}

impl AddressReservation {
    /// No address (or exempt): nothing reserved.
    pub fn none() -> Self {
        Self { limiter: None }
    }

    /// The attempt failed: it stays counted.
    pub fn keep(mut self) {
        self.limiter = None;
    }
}

impl Drop for AddressReservation {
    fn drop(&mut self) {
        if let Some((limiter, key)) = self.limiter.take() {
            let mut windows = limiter.windows.lock().unwrap_or_else(|e| e.into_inner());
            if let Some(window) = windows.get_mut(&key) {
                window.count = window.count.saturating_sub(1);
            }
        }
    }
}

impl AddressLimiter {
    pub fn new(window: policy::AddressWindow) -> Self {
        Self {
            window,
            windows: Mutex::default(),
        }
    }

    /// Reserves an attempt for `ip` at `now`, or says how long to wait.
    pub fn reserve(self: &Arc<Self>, ip: IpAddr, now: u64) -> Result<AddressReservation, u64> {
        let key = client_addr::limit_key(ip);
        let mut windows = self.windows.lock().unwrap_or_else(|e| e.into_inner());
        if windows.len() > 100_000 {
            windows.retain(|_, window| !self.window.is_over(*window, now));
        }
        let on_record = windows.get(&key).copied().unwrap_or_default();
        let next = self.window.reserve(on_record, now)?;
        windows.insert(key, next);
        Ok(AddressReservation {
            limiter: Some((self.clone(), key)),
        })
    }
}

/// Password checks hashing on this instance for one client address (IPv6: per /64) at most:
/// 16 of the hashing queue's 256 places, so no address fills it.
pub const PER_ADDRESS_HASHING: usize = 16;

/// Password attempts in progress on this instance: one at a time per key (the counter it is
/// counted under, or the cookie it shows: refused before any database work), and of those,
/// one hashing at a time per account (however many known browsers a client shows) and at
/// most [`PER_ADDRESS_HASHING`] hashing per client address.
#[derive(Debug, Default)]
pub struct InFlight {
    keys: Mutex<HashSet<String>>,
    accounts: Mutex<HashSet<String>>,
    addresses: Mutex<HashMap<IpAddr, usize>>,
}

/// A key's turn; the key is free again when this is dropped.
#[must_use]
pub struct KeyTurn {
    in_flight: Arc<InFlight>,
    key: String,
}

impl Drop for KeyTurn {
    fn drop(&mut self) {
        let mut keys = self
            .in_flight
            .keys
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        keys.remove(&self.key);
    }
}

/// An attempt's turns; they are free again when this is dropped.
#[must_use]
pub struct Turn {
    in_flight: Arc<InFlight>,
    account: String,
    address: Option<IpAddr>,
}

impl Drop for Turn {
    fn drop(&mut self) {
        let mut accounts = self
            .in_flight
            .accounts
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        accounts.remove(&self.account);
        if let Some(key) = self.address {
            let mut addresses = self
                .in_flight
                .addresses
                .lock()
                .unwrap_or_else(|e| e.into_inner());
            if let Some(count) = addresses.get_mut(&key) {
                *count -= 1;
                if *count == 0 {
                    addresses.remove(&key);
                }
            }
        }
    }
}

impl InFlight {
    /// The turn of `key`, or `InProgress` while another attempt with it is in progress.
    pub fn enter_key(self: &Arc<Self>, key: &str) -> Result<KeyTurn, Refused> {
        let mut keys = self.keys.lock().unwrap_or_else(|e| e.into_inner());
        if !keys.insert(key.to_owned()) {
            return Err(Refused::InProgress);
        }
        Ok(KeyTurn {
            in_flight: self.clone(),
            key: key.to_owned(),
        })
    }

    /// The hashing turn of `account` (its name key) from `ip`, or `InProgress` while another check of
    /// the account, or [`PER_ADDRESS_HASHING`] checks from the address, are in progress.
    pub fn enter(self: &Arc<Self>, account: &str, ip: Option<IpAddr>) -> Result<Turn, Refused> {
        let mut accounts = self.accounts.lock().unwrap_or_else(|e| e.into_inner());
        let address = ip.map(client_addr::limit_key);
        if let Some(key) = address {
            let mut addresses = self.addresses.lock().unwrap_or_else(|e| e.into_inner());
            let count = addresses.entry(key).or_default();
            if *count >= PER_ADDRESS_HASHING || accounts.contains(account) {
                if *count == 0 {
                    addresses.remove(&key);
                }
                return Err(Refused::InProgress);
            }
            *count += 1;
        } else if accounts.contains(account) {
            return Err(Refused::InProgress);
        }
        accounts.insert(account.to_owned());
        Ok(Turn {
            in_flight: self.clone(),
            account: account.to_owned(),
            address,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_address_reservation_is_handed_back_unless_kept() {
        let limiter = Arc::new(AddressLimiter::default());
        let ip: IpAddr = "192.0.2.1".parse().unwrap();
        for _ in 0..policy::ADDRESS.max_failures * 2 {
            drop(limiter.reserve(ip, 1000).unwrap());
        }
        for _ in 0..policy::ADDRESS.max_failures {
            limiter.reserve(ip, 1000).unwrap().keep();
        }
        assert_eq!(
            limiter.reserve(ip, 1000).err(),
            Some(policy::ADDRESS.window_seconds)
        );
        let neighbour: IpAddr = "2001:db8::1".parse().unwrap();
        let same_64: IpAddr = "2001:db8::ffff:1".parse().unwrap();
        for _ in 0..policy::ADDRESS.max_failures {
            limiter.reserve(neighbour, 1000).unwrap().keep();
        }
        assert!(
            limiter.reserve(same_64, 1000).is_err(),
            "one /64, one limit"
        );
    }

    #[test]
    fn one_turn_per_key() {
        let in_flight = Arc::new(InFlight::default());
        let turn = in_flight.enter_key("name:a").unwrap();
        assert!(matches!(
            in_flight.enter_key("name:a"),
            Err(Refused::InProgress)
        ));
        let other = in_flight.enter_key("name:b").unwrap();
        drop(turn);
        drop((other, in_flight.enter_key("name:a").unwrap()));
    }

    #[test]
    fn one_turn_per_account_and_a_share_per_address() {
        let in_flight = Arc::new(InFlight::default());
        let ip: IpAddr = "192.0.2.1".parse().unwrap();
        let turn = in_flight.enter("name:a", Some(ip)).unwrap();
        assert!(matches!(
            in_flight.enter("name:a", None),
            Err(Refused::InProgress)
        ));
        let other = in_flight.enter("name:b", None).unwrap();
        drop(turn);
        let again = in_flight.enter("name:a", None).unwrap();
        drop((other, again));
        let turns: Vec<Turn> = (0..PER_ADDRESS_HASHING)
            .map(|i| in_flight.enter(&format!("name:{i}"), Some(ip)).unwrap())
            .collect();
        assert!(matches!(
            in_flight.enter("name:x", Some(ip)),
            Err(Refused::InProgress)
        ));
        let elsewhere: IpAddr = "198.51.100.1".parse().unwrap();
        drop(in_flight.enter("name:x", Some(elsewhere)).unwrap());
        drop(turns);
        drop(in_flight.enter("name:x", Some(ip)).unwrap());
    }
}
