//! Throttles on the password step, so it cannot be used to guess passwords or to burn CPU:
//! per typed username in the database (across instances; unknown names count too, so a
//! 429 says nothing about which accounts exist), and per client address in memory.
//! Only failures count: people who type their password right are never slowed down.

use sqlx::AnyPool;
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;

/// Wrong passwords for one username before the growing delay starts.
pub const FREE_FAILURES_PER_USERNAME: i64 = 10;
/// Longest delay for one username.
pub const MAX_DELAY_SECONDS: u64 = 15 * 60;
/// Wrong passwords from one address within [`ADDRESS_WINDOW_SECONDS`] before it must wait.
pub const FAILURES_PER_ADDRESS: u32 = 100;
pub const ADDRESS_WINDOW_SECONDS: u64 = 10 * 60;

/// Seconds to wait after `failures` consecutive wrong passwords for a username.
pub fn username_delay(failures: i64) -> u64 {
    if failures < FREE_FAILURES_PER_USERNAME {
        return 0;
    }
    let doublings = (failures - FREE_FAILURES_PER_USERNAME).min(20) as u32;
    (1u64 << doublings).min(MAX_DELAY_SECONDS)
}

/// What the database holds about wrong passwords for one username.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UsernameFailures {
    /// Seconds until the username may try again (0: now).
    pub wait: u64,
    /// Whether any failure is on record, i.e. whether a success has something to clear.
    pub recorded: bool,
}

impl UsernameFailures {
    /// From the stored failure count and time of the last one (`None`: nothing on record).
    pub fn from_record(record: Option<(i64, i64)>, now: u64) -> Self {
        match record {
            None => Self {
                wait: 0,
                recorded: false,
            },
            Some((failures, last_failed_at)) => {
                let until = last_failed_at as u64 + username_delay(failures);
                Self {
                    wait: until.saturating_sub(now),
                    recorded: true,
                }
            }
        }
    }
}

pub async fn username_failed(db: &AnyPool, username: &str, now: u64) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO password_failures (username, failures, last_failed_at) VALUES ($1, 1, $2)
         ON CONFLICT (username) DO UPDATE SET failures = password_failures.failures + 1,
                                              last_failed_at = excluded.last_failed_at",
    )
    .bind(username)
    .bind(now as i64)
    .execute(db)
    .await?;
    Ok(())
}

/// Clears the failures of `username` after a right password, when `failures` had any (most
/// sign-ins have none, and skip the write).
pub async fn username_succeeded(
    db: &AnyPool,
    username: &str,
    failures: UsernameFailures,
) -> Result<(), sqlx::Error> {
    if !failures.recorded {
        return Ok(());
    }
    sqlx::query("DELETE FROM password_failures WHERE username = $1")
        .bind(username)
        .execute(db)
        .await?;
    Ok(())
}

/// Wrong passwords per client address in a fixed window (this instance only).
#[derive(Debug, Default)]
pub struct AddressThrottle {
    windows: Mutex<HashMap<IpAddr, (u64, u32)>>,
}

impl AddressThrottle {
    /// Seconds until `addr` may try again (0: now).
    pub fn wait(&self, addr: IpAddr, now: u64) -> u64 {
        let windows = self.windows.lock().unwrap_or_else(|e| e.into_inner());
        match windows.get(&addr) {
            Some(&(start, count)) if count >= FAILURES_PER_ADDRESS => {
                (start + ADDRESS_WINDOW_SECONDS).saturating_sub(now)
            }
            _ => 0,
        }
    }

    pub fn failed(&self, addr: IpAddr, now: u64) {
        let mut windows = self.windows.lock().unwrap_or_else(|e| e.into_inner());
        if windows.len() > 100_000 {
            windows.retain(|_, (start, _)| *start + ADDRESS_WINDOW_SECONDS > now);
        }
        let entry = windows.entry(addr).or_insert((now, 0));
        if entry.0 + ADDRESS_WINDOW_SECONDS <= now {
            *entry = (now, 0);
        }
        entry.1 += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn username_delay_grows_after_the_free_failures() {
        assert_eq!(username_delay(9), 0);
        assert_eq!(username_delay(10), 1);
        assert_eq!(username_delay(13), 8);
        assert_eq!(username_delay(40), MAX_DELAY_SECONDS);
    }

    #[test]
    fn address_window_blocks_then_reopens() {
        let throttle = AddressThrottle::default();
        let addr: IpAddr = "192.0.2.1".parse().unwrap();
        for _ in 0..FAILURES_PER_ADDRESS {
            assert_eq!(throttle.wait(addr, 1000), 0);
            throttle.failed(addr, 1000);
        }
        assert_eq!(throttle.wait(addr, 1000), ADDRESS_WINDOW_SECONDS);
        assert_eq!(throttle.wait(addr, 1000 + ADDRESS_WINDOW_SECONDS), 0);
        let other: IpAddr = "192.0.2.2".parse().unwrap();
        assert_eq!(throttle.wait(other, 1000), 0);
    }
}
