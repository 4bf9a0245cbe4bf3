//! The sign-in limits as pure rules: given what is on record and the time, may this attempt
//! go ahead, must it wait, or is the step locked? No I/O and no clock: the time is passed in,
//! so every rule is tested with explicit instants. Storage ([`crate::limits::guards`]) only applies
//! what these functions decide.
//!
//! Every limit counts an attempt **before** the work it guards (a password hash, a code
//! check): [`Limit::reserve`] turns the counter on record into the counter to store, and the
//! attempt goes ahead only if storing it wins a compare-and-set. A burst of simultaneous
//! attempts therefore gets exactly as many tries as a sequence. A right answer then clears
//! the counter ([`Counter::CLEAR`]); a wrong one leaves its reservation standing as the failure.
//!
//! | limit | counts | key | free tries | then | lock |
//! | --- | --- | --- | --- | --- | --- |
//! | [`PASSWORD`] | wrong passwords (sign-in, re-entry as removal proof) | typed username, or the browser's device cookie for that username | 10 | 1 s doubling to 15 min | never |
//! | [`CODE`] | wrong or replayed app codes | account | 5 | 30 s doubling to 15 min | at 100, until a recovery code or an administrator |
//! | [`RECOVERY`] | wrong recovery codes | account | 5 | 30 s doubling to 15 min | never (the way out of a lock) |
//! | [`AddressWindow`] | wrong passwords | client address (IPv6: its /64) | 100 in 10 min | wait for the window's end | never |

/// What is on record for one key: consecutive failures (reserved attempts included) and when
/// the last one was counted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counter {
    pub failures: u32,
    /// Unix seconds of the last counted attempt (0 when none).
    pub last_at: u64,
}

impl Counter {
    /// The state after a success: nothing on record.
    pub const CLEAR: Counter = Counter {
        failures: 0,
        last_at: 0,
    };
}

/// What a limit decides about an attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// Go ahead, after storing this counter in place of the one on record (the reservation).
    Proceed(Counter),
    /// Refuse; the key may try again in this many seconds.
    Wait(u64),
    /// Refuse until the lock is lifted (by a recovery code or an administrator).
    Locked,
}

/// One limit's rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limit {
    /// Failures allowed before any wait.
    pub free: u32,
    /// The first wait, in seconds; each further failure doubles it.
    pub first_delay: u64,
    /// The longest wait.
    pub max_delay: u64,
    /// Failures after which the step is locked (no more tries at all).
    pub lock_after: Option<u32>,
    /// Seconds without a failure after which the record is forgotten (and may be swept).
    pub forget_after: Option<u64>,
}

/// Wrong passwords, per typed username or per device cookie.
pub const PASSWORD: Limit = Limit {
    free: 10,
    first_delay: 1,
    max_delay: 15 * 60,
    lock_after: None,
    forget_after: Some(24 * 60 * 60),
};

/// Wrong (or replayed) authenticator codes, per account.
pub const CODE: Limit = Limit {
    free: 5,
    first_delay: 30,
    max_delay: 15 * 60,
    lock_after: Some(100),
    forget_after: None,
};

/// Wrong recovery codes, per account. Counted apart from [`CODE`], so that a locked code
/// step can still be opened at once with a right recovery code.
pub const RECOVERY: Limit = Limit {
    free: 5,
    first_delay: 30,
    max_delay: 15 * 60,
    lock_after: None,
    forget_after: None,
};

impl Limit {
    /// Seconds to wait after `failures` consecutive failures, counted from the last one.
    pub fn delay(&self, failures: u32) -> u64 {
        if failures < self.free {
            return 0;
        }
        let doublings = (failures - self.free).min(32);
        self.first_delay
            .checked_shl(doublings)
            .unwrap_or(u64::MAX)
            .min(self.max_delay)
    }

    /// The record as it counts at `now`: a forgotten one counts as nothing.
    pub fn current(&self, on_record: Counter, now: u64) -> Counter {
        if self.is_forgotten(on_record, now) {
            Counter::CLEAR
        } else {
            on_record
        }
    }

    /// Whether a record is past its window and may be deleted.
    pub fn is_forgotten(&self, on_record: Counter, now: u64) -> bool {
        match self.forget_after {
            Some(window) => on_record.last_at.saturating_add(window) <= now,
            None => false,
        }
    }

    /// Whether this many failures lock the step.
    pub fn locks(&self, failures: u32) -> bool {
        self.lock_after.is_some_and(|limit| failures >= limit)
    }

    /// Seconds until the key may try again (0: now).
    pub fn wait(&self, on_record: Counter, now: u64) -> u64 {
        let current = self.current(on_record, now);
        current
            .last_at
            .saturating_add(self.delay(current.failures))
            .saturating_sub(now)
    }

    /// Decides an attempt at `now` given the counter on record.
    pub fn reserve(&self, on_record: Counter, now: u64) -> Decision {
        let current = self.current(on_record, now);
        if self.locks(current.failures) {
            return Decision::Locked;
        }
        match self.wait(current, now) {
            0 => Decision::Proceed(Counter {
                failures: current.failures.saturating_add(1),
                last_at: now,
            }),
            seconds => Decision::Wait(seconds),
        }
    }
}

/// Wrong passwords per client address in a fixed window, against one address trying many
/// usernames. Kept in memory per instance.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AddressWindow {
    /// Failures allowed in one window.
    pub max_failures: u32,
    pub window_seconds: u64,
}

/// The per-address limit.
pub const ADDRESS: AddressWindow = AddressWindow {
    max_failures: 100,
    window_seconds: 10 * 60,
};

/// Sign-ins through identity providers per client address, on top of [`ADDRESS`]: every
/// start and every refused answer counts (a start costs the provider work, and an answer
/// with a flow behind it a token request). Kept in memory per instance; the flows an address
/// holds are also capped in the database, for all instances together.
pub const PROVIDER_SIGN_INS: AddressWindow = AddressWindow {
    max_failures: 30,
    window_seconds: 10 * 60,
};

/// One address's window: when it started and how many attempts it has counted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Window {
    pub started_at: u64,
    pub count: u32,
}

impl AddressWindow {
    /// Decides an attempt: `Ok(window to store)` or `Err(seconds to wait)`.
    pub fn reserve(&self, on_record: Window, now: u64) -> Result<Window, u64> {
        let current = if self.is_over(on_record, now) {
            Window {
                started_at: now,
                count: 0,
            }
        } else {
            on_record
        };
        if current.count >= self.max_failures {
            return Err((current.started_at + self.window_seconds).saturating_sub(now));
        }
        Ok(Window {
            count: current.count + 1,
            ..current
        })
    }

    /// Whether a window has ended (and may be dropped).
    pub fn is_over(&self, window: Window, now: u64) -> bool {
        window.started_at + self.window_seconds <= now
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const T: u64 = 1_700_000_000;

    /// Reserves `n` attempts at `now`, as a sequence; returns the counter and the decisions.
    fn run(limit: &Limit, mut counter: Counter, now: u64, n: u32) -> (Counter, Vec<Decision>) {
        let mut decisions = Vec::new();
        for _ in 0..n {
            let decision = limit.reserve(counter, now);
            if let Decision::Proceed(next) = decision {
                counter = next;
            }
            decisions.push(decision);
        }
        (counter, decisions)
    }

    #[test]
    fn password_gives_ten_free_tries_then_waits_one_second_doubling() {
        let (counter, decisions) = run(&PASSWORD, Counter::CLEAR, T, 11);
        assert!(
            decisions[..10]
                .iter()
                .all(|d| matches!(d, Decision::Proceed(_)))
        );
        assert_eq!(decisions[10], Decision::Wait(1));
        assert_eq!(counter.failures, 10);
        // After the wait, one more try; then 2 s.
        let (counter, decisions) = run(&PASSWORD, counter, T + 1, 2);
        assert!(matches!(decisions[0], Decision::Proceed(_)));
        assert_eq!(decisions[1], Decision::Wait(2));
        assert_eq!(PASSWORD.wait(counter, T + 2), 1);
        assert_eq!(PASSWORD.delay(13), 8);
        assert_eq!(PASSWORD.delay(40), 15 * 60);
        assert_eq!(PASSWORD.delay(u32::MAX), 15 * 60);
    }

    #[test]
    fn codes_wait_from_the_sixth_and_lock_at_the_hundredth() {
        assert_eq!(CODE.delay(4), 0);
        assert_eq!(CODE.delay(5), 30);
        assert_eq!(CODE.delay(6), 60);
        assert_eq!(CODE.delay(9), 480);
        assert_eq!(CODE.delay(10), 15 * 60);
        let (_, decisions) = run(&CODE, Counter::CLEAR, T, 6);
        assert_eq!(decisions[5], Decision::Wait(30));
        let near = Counter {
            failures: 99,
            last_at: T,
        };
        assert!(matches!(
            CODE.reserve(near, T + 15 * 60),
            Decision::Proceed(Counter { failures: 100, .. })
        ));
        let locked = Counter {
            failures: 100,
            last_at: T,
        };
        assert_eq!(CODE.reserve(locked, T + 365 * 24 * 3600), Decision::Locked);
        assert!(CODE.locks(100) && !CODE.locks(99));
        assert!(!RECOVERY.locks(u32::MAX), "recovery never locks");
    }

    #[test]
    fn password_records_are_forgotten_after_a_day_codes_never() {
        let on_record = Counter {
            failures: 30,
            last_at: T,
        };
        assert!(matches!(
            PASSWORD.reserve(on_record, T + 60),
            Decision::Wait(_)
        ));
        assert!(!PASSWORD.is_forgotten(on_record, T + 24 * 3600 - 1));
        assert!(PASSWORD.is_forgotten(on_record, T + 24 * 3600));
        assert_eq!(
            PASSWORD.reserve(on_record, T + 24 * 3600),
            Decision::Proceed(Counter {
                failures: 1,
                last_at: T + 24 * 3600
            })
        );
        assert!(!CODE.is_forgotten(on_record, u64::MAX / 2));
    }

    #[test]
    fn an_address_window_allows_its_count_then_waits_for_its_end() {
        let mut window = Window::default();
        for _ in 0..ADDRESS.max_failures {
            window = ADDRESS.reserve(window, T).unwrap();
        }
        assert_eq!(
            ADDRESS.reserve(window, T + 60),
            Err(ADDRESS.window_seconds - 60)
        );
        let reopened = ADDRESS.reserve(window, T + ADDRESS.window_seconds).unwrap();
        assert_eq!(reopened.count, 1);
        assert_eq!(reopened.started_at, T + ADDRESS.window_seconds);
    }

    proptest! {
        /// However attempts interleave in time, a limit never lets more than `free` attempts
        /// through before the first wait, and never lets two through closer than the delay.
        #[test]
        fn no_sequence_gets_more_tries_than_the_rule(gaps in proptest::collection::vec(0u64..120, 1..200)) {
            for limit in [PASSWORD, CODE, RECOVERY] {
                let mut counter = Counter::CLEAR;
                let mut now = T;
                let mut allowed_at_start = 0u32;
                for gap in &gaps {
                    now += gap;
                    let before = counter;
                    match limit.reserve(counter, now) {
                        Decision::Proceed(next) => {
                            prop_assert_eq!(next.failures, limit.current(before, now).failures + 1);
                            prop_assert!(now >= before.last_at + limit.delay(before.failures) || limit.is_forgotten(before, now));
                            if now == T { allowed_at_start += 1; }
                            counter = next;
                        }
                        Decision::Wait(seconds) => {
                            prop_assert!(seconds > 0 && seconds <= limit.max_delay);
                            prop_assert_eq!(limit.wait(before, now), seconds);
                        }
                        Decision::Locked => prop_assert!(limit.locks(before.failures)),
                    }
                }
                prop_assert!(allowed_at_start <= limit.free);
            }
        }

        /// The wait is never longer than the maximum and shrinks as time passes.
        #[test]
        fn waits_are_bounded_and_shrink(failures in 0u32..1000, last in 0u64..1_000_000, later in 0u64..2000) {
            let counter = Counter { failures, last_at: T + last };
            let now = T + last;
            let first = CODE.wait(counter, now);
            prop_assert!(first <= CODE.max_delay);
            prop_assert!(CODE.wait(counter, now + later) <= first);
        }
    }
}
