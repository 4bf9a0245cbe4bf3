//! TOTP checks (RFC 6238), pure: every function takes the time as an argument.
//!
//! Code generation and the constant-time comparison come from `totp-rs`; this module adds the
//! rules of twostep: the enrollment pair search, the sign-in window and replay detection.

use totp_rs::{Algorithm, Builder, Totp};
use twostep_shared::input::TotpCode;

/// Seconds per time step.
pub const STEP_SECONDS: u64 = 30;
/// Secret length: 160 bits.
pub const SECRET_BYTES: usize = 20;
/// How far from now (in steps) the enrollment pair is searched for, to recognise a wrong clock.
pub const PAIR_SEARCH_STEPS: u64 = 10;
/// How far from now (in steps) a code is accepted: one step either side.
pub const ACCEPT_STEPS: u64 = 1;

/// The time step at a Unix time.
pub fn step_at(unix_seconds: u64) -> u64 {
    unix_seconds / STEP_SECONDS
}

/// A device's TOTP generator. `Debug` does not show the secret.
#[derive(Debug)]
pub struct Authenticator {
    totp: Totp,
}

impl Authenticator {
    /// The generator twostep uses: SHA1, 6 digits, 30 seconds (what authenticator apps expect).
    pub fn new(secret: &[u8]) -> Result<Self, String> {
        Self::with_params(secret, Algorithm::SHA1, 6)
    }

    /// Any algorithm and digit count (the RFC 6238 test vectors use 8 digits).
    pub fn with_params(secret: &[u8], algorithm: Algorithm, digits: u8) -> Result<Self, String> {
        let totp = Builder::new()
            .with_algorithm(algorithm)
            .with_digits(digits)
            .with_skew(0)
            .with_step_duration(STEP_SECONDS)
            .with_secret(secret)
            .build_noncompliant();
        if secret.len() < 16 || digits < 6 {
            return Err("TOTP secret must be at least 128 bits and codes 6 digits or more".into());
        }
        Ok(Self { totp })
    }

    /// The code for a time step.
    pub fn code_at_step(&self, step: u64) -> String {
        self.totp.generate(step * STEP_SECONDS).to_string()
    }

    /// The code for a Unix time.
    pub fn code_at_time(&self, unix_seconds: u64) -> String {
        self.totp.generate(unix_seconds).to_string()
    }

    /// Whether `code` is the code of `step` (constant-time comparison).
    pub fn matches_text(&self, code: &str, step: u64) -> bool {
        self.totp.check(code, step * STEP_SECONDS).is_some()
    }

    pub fn matches(&self, code: &TotpCode, step: u64) -> bool {
        self.matches_text(code.as_str(), step)
    }

    /// Steps within `radius` of `center` whose code is `code`, nearest first. Every step in
    /// the range is computed, whether or not an earlier one matched.
    fn steps_matching(&self, code: &TotpCode, center: u64, radius: u64) -> Vec<u64> {
        let mut found: Vec<u64> = (center.saturating_sub(radius)..=center + radius)
            .filter(|&step| self.matches(code, step))
            .collect();
        found.sort_by_key(|&s| s.abs_diff(center));
        found
    }
}

/// Why an enrollment pair was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PairError {
    /// Code 1 and Code 2 are the same code.
    Same,
    /// Both are right but in the wrong order.
    Reversed,
    /// Both are right but not one step apart.
    NotConsecutive,
    /// Code 1 (`true`) or Code 2 (`false`) is not a code of this key near now.
    Wrong { first: bool },
    /// The pair is right but the device clock is `seconds` off (positive: ahead).
    ClockOff { seconds: i64 },
}

/// Checks Code 1 and Code 2 at enrollment. They must be the codes of steps `t` and `t + 1`
/// with `t + 1` within one step of now; returns `t + 1`, the last accepted step.
///
/// The pair is searched for within ±[`PAIR_SEARCH_STEPS`] so a wrong device clock is told
/// apart from wrong codes: then the error says by how much the clock is off.
pub fn check_pair(
    auth: &Authenticator,
    code1: &TotpCode,
    code2: &TotpCode,
    now: u64,
) -> Result<u64, PairError> {
    if code1 == code2 {
        return Err(PairError::Same);
    }
    let now_step = step_at(now);
    let first = auth.steps_matching(code1, now_step, PAIR_SEARCH_STEPS + 1);
    let second = auth.steps_matching(code2, now_step, PAIR_SEARCH_STEPS + 1);
    let pair = first
        .iter()
        .copied()
        .find(|&t| second.contains(&(t + 1)) && (t + 1).abs_diff(now_step) <= PAIR_SEARCH_STEPS);
    if let Some(t) = pair {
        let last = t + 1;
        if last.abs_diff(now_step) <= ACCEPT_STEPS {
            return Ok(last);
        }
        let steps_off = last as i64 - now_step as i64;
        return Err(PairError::ClockOff {
            seconds: steps_off * STEP_SECONDS as i64,
        });
    }
    if first.is_empty() {
        return Err(PairError::Wrong { first: true });
    }
    if second.is_empty() {
        return Err(PairError::Wrong { first: false });
    }
    if first.iter().any(|&t| t > 0 && second.contains(&(t - 1))) {
        return Err(PairError::Reversed);
    }
    Err(PairError::NotConsecutive)
}

/// The outcome of a code at sign-in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignInCheck {
    /// The code of this step, newer than the last accepted one.
    Accepted { step: u64 },
    /// A right code, but of a step already used (or older): refused.
    Replayed,
    /// Not a code of this key within one step of now.
    Wrong,
}

/// Checks a code at sign-in: one step either side of now, and newer than `last_step`.
pub fn check_sign_in(
    auth: &Authenticator,
    code: &TotpCode,
    now: u64,
    last_step: u64,
) -> SignInCheck {
    let matching = auth.steps_matching(code, step_at(now), ACCEPT_STEPS);
    match matching.iter().copied().filter(|&s| s > last_step).max() {
        Some(step) => SignInCheck::Accepted { step },
        None if matching.is_empty() => SignInCheck::Wrong,
        None => SignInCheck::Replayed,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SEED20: &[u8] = b"12345678901234567890";
    const SEED32: &[u8] = b"12345678901234567890123456789012";
    const SEED64: &[u8] = b"1234567890123456789012345678901234567890123456789012345678901234";

    /// RFC 6238 Appendix B, through the same generator the server uses.
    #[test]
    fn rfc6238_appendix_b_vectors() {
        let vectors: [(u64, &str, &str, &str); 6] = [
            (59, "94287082", "46119246", "90693936"),
            (1111111109, "07081804", "68084774", "25091201"),
            (1111111111, "14050471", "67062674", "99943326"),
            (1234567890, "89005924", "91819424", "93441116"),
            (2000000000, "69279037", "90698825", "38618901"),
            (20000000000, "65353130", "77737706", "47863826"),
        ];
        let sha1 = Authenticator::with_params(SEED20, Algorithm::SHA1, 8).unwrap();
        let sha256 = Authenticator::with_params(SEED32, Algorithm::SHA256, 8).unwrap();
        let sha512 = Authenticator::with_params(SEED64, Algorithm::SHA512, 8).unwrap();
        for (time, c1, c256, c512) in vectors {
            assert_eq!(sha1.code_at_time(time), c1, "SHA1 at {time}");
            assert_eq!(sha256.code_at_time(time), c256, "SHA256 at {time}");
            assert_eq!(sha512.code_at_time(time), c512, "SHA512 at {time}");
            assert!(sha1.matches_text(c1, step_at(time)));
            assert!(!sha1.matches_text(c256, step_at(time)));
        }
    }

    fn code(text: &str) -> TotpCode {
        TotpCode::parse(text).unwrap()
    }

    const NOW: u64 = 1_700_000_000;

    fn auth() -> Authenticator {
        Authenticator::new(SEED20).unwrap()
    }

    #[test]
    fn consecutive_pair_around_now_is_accepted() {
        let a = auth();
        let now = step_at(NOW);
        for t in [now - 2, now - 1, now] {
            let result = check_pair(
                &a,
                &code(&a.code_at_step(t)),
                &code(&a.code_at_step(t + 1)),
                NOW,
            );
            assert_eq!(
                result,
                Ok(t + 1),
                "pair starting at now{:+}",
                t as i64 - now as i64
            );
        }
    }

    #[test]
    fn pair_errors_are_distinct() {
        let a = auth();
        let now = step_at(NOW);
        let c = |s: u64| code(&a.code_at_step(s));
        assert_eq!(check_pair(&a, &c(now), &c(now), NOW), Err(PairError::Same));
        assert_eq!(
            check_pair(&a, &c(now), &c(now - 1), NOW),
            Err(PairError::Reversed)
        );
        assert_eq!(
            check_pair(&a, &c(now - 1), &c(now + 1), NOW),
            Err(PairError::NotConsecutive)
        );
        let wrong = if a.code_at_step(now) == "000000" {
            "111111"
        } else {
            "000000"
        };
        assert_eq!(
            check_pair(&a, &code(wrong), &c(now), NOW),
            Err(PairError::Wrong { first: true })
        );
        assert_eq!(
            check_pair(&a, &c(now), &code(wrong), NOW),
            Err(PairError::Wrong { first: false })
        );
    }

    #[test]
    fn clock_off_is_measured() {
        let a = auth();
        let now = step_at(NOW);
        let c = |s: u64| code(&a.code_at_step(s));
        assert_eq!(
            check_pair(&a, &c(now + 4), &c(now + 5), NOW),
            Err(PairError::ClockOff { seconds: 150 })
        );
        assert_eq!(
            check_pair(&a, &c(now - 10), &c(now - 9), NOW),
            Err(PairError::ClockOff { seconds: -270 })
        );
        let far = check_pair(&a, &c(now + 20), &c(now + 21), NOW);
        assert!(
            matches!(far, Err(PairError::Wrong { .. })),
            "beyond the search window: {far:?}"
        );
    }

    #[test]
    fn sign_in_window_and_replay() {
        let a = auth();
        let now = step_at(NOW);
        let c = |s: u64| code(&a.code_at_step(s));
        assert_eq!(
            check_sign_in(&a, &c(now), NOW, now - 1),
            SignInCheck::Accepted { step: now }
        );
        assert_eq!(
            check_sign_in(&a, &c(now + 1), NOW, now),
            SignInCheck::Accepted { step: now + 1 }
        );
        assert_eq!(check_sign_in(&a, &c(now), NOW, now), SignInCheck::Replayed);
        assert_eq!(
            check_sign_in(&a, &c(now - 1), NOW, now),
            SignInCheck::Replayed
        );
        assert_eq!(check_sign_in(&a, &c(now + 2), NOW, 0), SignInCheck::Wrong);
        assert_eq!(check_sign_in(&a, &c(now - 2), NOW, 0), SignInCheck::Wrong);
    }

    #[test]
    fn debug_does_not_show_the_secret() {
        let text = format!("{:?}", auth());
        assert!(!text.contains("1234567890"), "{text}");
    }
}
