//! When a session is alive, when its "last seen" is written, and whether it proved who it is
//! recently enough for a sensitive action: pure rules, the time passed in (no I/O).
//!
//! | rule | value | set by |
//! | --- | --- | --- |
//! | a signed-in session ends | 12 hours after it started | [`crate::sessions::SIGNED_IN_SECONDS`] |
//! | a session waiting for its code ends | 5 minutes after the password step | [`crate::sessions::VERIFYING_SECONDS`] |
//! | a signed-in session ends when unseen for | 120 minutes | `--session-idle-minutes` |
//! | "last seen" is written at most | once a minute per session | [`SEEN_EVERY_SECONDS`] |
//! | a session is *recent* (may change 2-step verification, the password, other sessions) | for 10 minutes after its last password step, code step or re-authentication | `--recent-sign-in-seconds` |

use crate::sessions::Stage;

/// "Last seen" is written again once it is this old.
pub const SEEN_EVERY_SECONDS: u64 = 60;
/// Default of `--session-idle-minutes`.
pub const DEFAULT_IDLE_MINUTES: u64 = 120;
/// Default of `--recent-sign-in-seconds`.
pub const DEFAULT_RECENT_SECONDS: u64 = 600;

/// The limits configured for sessions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionLimits {
    /// A signed-in session unseen this long has ended.
    pub idle_seconds: u64,
    /// A session that proved who it is this long ago must do it again before a sensitive
    /// action.
    pub recent_seconds: u64,
}

impl Default for SessionLimits {
    fn default() -> Self {
        Self {
            idle_seconds: DEFAULT_IDLE_MINUTES * 60,
            recent_seconds: DEFAULT_RECENT_SECONDS,
        }
    }
}

/// The times on record for one session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionTimes {
    pub stage: Stage,
    pub expires_at: u64,
    pub last_seen_at: u64,
    pub authenticated_at: u64,
}

impl SessionLimits {
    /// Whether the session is alive at `now`: before its end, and (signed in) seen within the
    /// idle limit. A session waiting for its code has only its 5 minutes.
    pub fn is_live(&self, times: SessionTimes, now: u64) -> bool {
        let idle_over = times.stage == Stage::SignedIn
            && now >= times.last_seen_at.saturating_add(self.idle_seconds);
        now < times.expires_at && !idle_over
    }

    /// Whether the session proved who it is within the recent-sign-in window.
    pub fn is_recent(&self, times: SessionTimes, now: u64) -> bool {
        now < times.authenticated_at.saturating_add(self.recent_seconds)
    }
}

/// Whether a request at `now` writes "last seen" again.
pub fn needs_seen_write(last_seen_at: u64, now: u64) -> bool {
    now >= last_seen_at.saturating_add(SEEN_EVERY_SECONDS)
}

#[cfg(test)]
mod tests {
    use super::*;

    const T0: u64 = 1_700_000_000;

    fn signed_in() -> SessionTimes {
        SessionTimes {
            stage: Stage::SignedIn,
            expires_at: T0 + 12 * 3600,
            last_seen_at: T0,
            authenticated_at: T0,
        }
    }

    #[test]
    fn idle_limit_ends_a_signed_in_session_unseen_for_that_long() {
        let limits = SessionLimits::default();
        assert!(limits.is_live(signed_in(), T0 + 120 * 60 - 1));
        assert!(!limits.is_live(signed_in(), T0 + 120 * 60));
        let seen_later = SessionTimes {
            last_seen_at: T0 + 3600,
            ..signed_in()
        };
        assert!(limits.is_live(seen_later, T0 + 120 * 60 + 60));
    }

    #[test]
    fn the_twelve_hour_end_holds_however_recently_seen() {
        let limits = SessionLimits::default();
        let busy = SessionTimes {
            last_seen_at: T0 + 12 * 3600 - 1,
            ..signed_in()
        };
        assert!(limits.is_live(busy, T0 + 12 * 3600 - 1));
        assert!(!limits.is_live(busy, T0 + 12 * 3600));
    }

    #[test]
    fn a_waiting_session_has_no_idle_limit_but_its_own_end() {
        let limits = SessionLimits {
            idle_seconds: 60,
            ..SessionLimits::default()
        };
        let waiting = SessionTimes {
            stage: Stage::Verifying,
            expires_at: T0 + 300,
            ..signed_in()
        };
        assert!(limits.is_live(waiting, T0 + 299));
        assert!(!limits.is_live(waiting, T0 + 300));
    }

    #[test]
    fn recent_for_the_window_after_the_last_proof() {
        let limits = SessionLimits::default();
        assert!(limits.is_recent(signed_in(), T0 + 599));
        assert!(!limits.is_recent(signed_in(), T0 + 600));
        let proved_again = SessionTimes {
            authenticated_at: T0 + 3600,
            ..signed_in()
        };
        assert!(limits.is_recent(proved_again, T0 + 3600 + 599));
    }

    #[test]
    fn last_seen_is_written_at_most_once_a_minute() {
        assert!(!needs_seen_write(T0, T0));
        assert!(!needs_seen_write(T0, T0 + 59));
        assert!(needs_seen_write(T0, T0 + 60));
    }
}
