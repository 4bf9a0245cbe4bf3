//! Parsers for what a person types: the browser checks input with them as it is typed, and
//! the server checks every request with the same functions, so both give the same answer.
//!
//! Each parser returns a newtype that can only hold valid input. The types that carry a
//! password or a code print `***` in `Debug` so they never end up in a log.

use std::fmt;
use thiserror::Error;

/// Longest username accepted.
pub const USERNAME_MAX: usize = 64;
/// Longest password accepted (in bytes); longer input is refused, not truncated.
pub const PASSWORD_MAX: usize = 1024;
/// Shortest password a new account may get (NIST SP 800-63B).
pub const PASSWORD_NEW_MIN: usize = 8;
/// Number of digits in a verification code.
pub const CODE_DIGITS: usize = 6;
/// Characters of a recovery code, without its separator.
pub const RECOVERY_CODE_LEN: usize = 10;
/// The alphabet recovery codes are written in: lower-case letters and digits without the
/// look-alikes `i`, `l`, `o` and `u`.
pub const RECOVERY_ALPHABET: &[u8; 32] = b"0123456789abcdefghjkmnpqrstvwxyz";

/// Why a username was refused.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum UsernameError {
    /// Nothing but white space was typed.
    #[error("Enter a username.")]
    Empty,
    /// Longer than [`USERNAME_MAX`] characters.
    #[error("A username has at most {USERNAME_MAX} characters.")]
    TooLong,
    /// A character outside `a-z 0-9 . _ - @`.
    #[error("A username may contain only letters a–z, digits and . _ - @")]
    BadCharacter,
}

/// A valid username: 1–64 characters from `a-z 0-9 . _ - @`, compared without regard to case
/// (it is stored in lower case).
///
/// ```
/// use twostep_shared::input::Username;
/// assert_eq!(Username::parse(" Alice ").unwrap().as_str(), "alice");
/// assert!(Username::parse("al ice").is_err());
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Username(String);

impl Username {
    /// Checks a typed username; surrounding white space is ignored.
    pub fn parse(input: &str) -> Result<Self, UsernameError> {
        let trimmed = input.trim();
        if trimmed.is_empty() {
            return Err(UsernameError::Empty);
        }
        if trimmed.len() > USERNAME_MAX {
            return Err(UsernameError::TooLong);
        }
        let ok = |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | '@');
        if !trimmed.chars().all(ok) {
            return Err(UsernameError::BadCharacter);
        }
        Ok(Self(trimmed.to_ascii_lowercase()))
    }

    /// The normalised username.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Username {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Why a password was refused.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum PasswordError {
    /// Nothing was typed.
    #[error("Enter a password.")]
    Empty,
    /// Longer than [`PASSWORD_MAX`] bytes.
    #[error("A password has at most {PASSWORD_MAX} bytes.")]
    TooLong,
    /// A new password shorter than [`PASSWORD_NEW_MIN`] characters.
    #[error("A new password needs at least {PASSWORD_NEW_MIN} characters.")]
    TooShort,
}

/// A password as typed. Any characters are allowed (NIST SP 800-63B); it is never trimmed.
///
/// ```
/// use twostep_shared::input::Password;
/// let p = Password::parse("correct horse").unwrap();
/// assert_eq!(format!("{p:?}"), "Password(***)");
/// assert!(Password::parse("").is_err());
/// assert!(Password::parse_new("short").is_err());
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct Password(String);

impl Password {
    /// Checks a password typed at sign-in: not empty, at most [`PASSWORD_MAX`] bytes.
    pub fn parse(input: &str) -> Result<Self, PasswordError> {
        if input.is_empty() {
            return Err(PasswordError::Empty);
        }
        if input.len() > PASSWORD_MAX {
            return Err(PasswordError::TooLong);
        }
        Ok(Self(input.to_owned()))
    }

    /// Checks a password chosen for a new account: also at least [`PASSWORD_NEW_MIN`] characters.
    pub fn parse_new(input: &str) -> Result<Self, PasswordError> {
        let password = Self::parse(input)?;
        if input.chars().count() < PASSWORD_NEW_MIN {
            return Err(PasswordError::TooShort);
        }
        Ok(password)
    }

    /// The password itself, for hashing.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password(***)")
    }
}

/// Why a verification code was refused.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum CodeError {
    /// Nothing but spaces was typed.
    #[error("Enter the 6-digit code from your authenticator app.")]
    Empty,
    /// A character other than a digit or a space.
    #[error("A code has only digits 0–9.")]
    NotDigits,
    /// Digits, but not [`CODE_DIGITS`] of them; holds how many.
    #[error("A code has 6 digits; this has {0}.")]
    WrongLength(usize),
}

/// A 6-digit verification code as shown by an authenticator app. Spaces between digit
/// groups ("123 456") and around the code are tolerated; anything else is an error.
///
/// ```
/// use twostep_shared::input::{CodeError, TotpCode};
/// assert_eq!(TotpCode::parse(" 123 456 ").unwrap().as_str(), "123456");
/// assert_eq!(TotpCode::parse("12345"), Err(CodeError::WrongLength(5)));
/// assert_eq!(TotpCode::parse("12345x"), Err(CodeError::NotDigits));
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct TotpCode(String);

impl TotpCode {
    /// Checks a typed code.
    pub fn parse(input: &str) -> Result<Self, CodeError> {
        let trimmed = input.trim_matches(' ');
        if trimmed.is_empty() {
            return Err(CodeError::Empty);
        }
        let mut digits = String::with_capacity(CODE_DIGITS);
        let mut count = 0usize;
        for c in trimmed.chars() {
            match c {
                ' ' => {}
                '0'..='9' => {
                    count += 1;
                    if count <= CODE_DIGITS {
                        digits.push(c);
                    }
                }
                _ => return Err(CodeError::NotDigits),
            }
        }
        if count != CODE_DIGITS {
            return Err(CodeError::WrongLength(count));
        }
        Ok(Self(digits))
    }

    /// The six digits, without spaces.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for TotpCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("TotpCode(***)")
    }
}

/// Why a recovery code was refused.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum RecoveryCodeError {
    /// Not [`RECOVERY_CODE_LEN`] characters of [`RECOVERY_ALPHABET`] (after the separator and
    /// spaces are removed).
    #[error("A recovery code looks like xxxxx-xxxxx: 10 letters and digits.")]
    Malformed,
}

/// A single-use recovery code, written `xxxxx-xxxxx` in [`RECOVERY_ALPHABET`]. Parsing ignores
/// case, spaces and dashes.
///
/// ```
/// use twostep_shared::input::RecoveryCode;
/// let code = RecoveryCode::parse("AB3DE-FG4HJ").unwrap();
/// assert_eq!(code.to_display(), "ab3de-fg4hj");
/// assert!(RecoveryCode::parse("123456").is_err());
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct RecoveryCode(String);

impl RecoveryCode {
    /// Checks a typed recovery code.
    pub fn parse(input: &str) -> Result<Self, RecoveryCodeError> {
        let mut chars = String::with_capacity(RECOVERY_CODE_LEN);
        for c in input.chars() {
            if c == '-' || c == ' ' {
                continue;
            }
            let c = c.to_ascii_lowercase();
            if !c.is_ascii() || !RECOVERY_ALPHABET.contains(&(c as u8)) {
                return Err(RecoveryCodeError::Malformed);
            }
            if chars.len() == RECOVERY_CODE_LEN {
                return Err(RecoveryCodeError::Malformed);
            }
            chars.push(c);
        }
        if chars.len() != RECOVERY_CODE_LEN {
            return Err(RecoveryCodeError::Malformed);
        }
        Ok(Self(chars))
    }

    /// Builds a code from [`RECOVERY_CODE_LEN`] random bytes (each taken modulo 32, which is
    /// uniform because 256 is a multiple of 32).
    pub fn from_random(bytes: [u8; RECOVERY_CODE_LEN]) -> Self {
        Self(
            bytes
                .iter()
                .map(|b| RECOVERY_ALPHABET[usize::from(b % 32)] as char)
                .collect(),
        )
    }

    /// The normalised code (no dash), as hashed by the server.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// The code as shown to a person: `xxxxx-xxxxx`.
    pub fn to_display(&self) -> String {
        format!("{}-{}", &self.0[..5], &self.0[5..])
    }
}

impl fmt::Debug for RecoveryCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("RecoveryCode(***)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn any_six_digits_with_group_spaces_parse(digits in "[0-9]{6}", split in 0usize..=6) {
            let spaced = format!(" {} {} ", &digits[..split], &digits[split..]);
            let code = TotpCode::parse(&spaced).unwrap();
            prop_assert_eq!(code.as_str(), digits.as_str());
        }

        #[test]
        fn code_parser_never_panics_and_accepts_only_six_digits(input in ".{0,40}") {
            if let Ok(code) = TotpCode::parse(&input) {
                prop_assert_eq!(code.as_str().len(), 6);
                prop_assert!(code.as_str().bytes().all(|b| b.is_ascii_digit()));
            }
        }

        #[test]
        fn wrong_digit_counts_are_refused(digits in "[0-9]{0,5}|[0-9]{7,12}") {
            prop_assert!(TotpCode::parse(&digits).is_err());
        }

        #[test]
        fn usernames_are_normalised_and_limited(input in ".{0,80}") {
            if let Ok(name) = Username::parse(&input) {
                prop_assert!(!name.as_str().is_empty() && name.as_str().len() <= USERNAME_MAX);
                prop_assert_eq!(name.as_str(), name.as_str().to_ascii_lowercase());
                prop_assert_eq!(Username::parse(name.as_str()).unwrap(), name.clone());
            }
        }

        #[test]
        fn recovery_codes_round_trip(bytes in any::<[u8; RECOVERY_CODE_LEN]>()) {
            let code = RecoveryCode::from_random(bytes);
            let shown = code.to_display();
            prop_assert_eq!(RecoveryCode::parse(&shown).unwrap(), code.clone());
            prop_assert_eq!(RecoveryCode::parse(&shown.to_uppercase()).unwrap(), code);
        }

        #[test]
        fn passwords_keep_every_character(input in ".{1,200}") {
            let password = Password::parse(&input).unwrap();
            prop_assert_eq!(password.expose(), input.as_str());
        }
    }

    #[test]
    fn code_errors_say_what_is_wrong() {
        assert_eq!(TotpCode::parse(""), Err(CodeError::Empty));
        assert_eq!(TotpCode::parse("   "), Err(CodeError::Empty));
        assert_eq!(TotpCode::parse("1234567"), Err(CodeError::WrongLength(7)));
        assert_eq!(TotpCode::parse("12-3456"), Err(CodeError::NotDigits));
        assert_eq!(TotpCode::parse("１２３４５６"), Err(CodeError::NotDigits));
        assert_eq!(TotpCode::parse("123\t456"), Err(CodeError::NotDigits));
    }

    #[test]
    fn secrets_do_not_show_in_debug() {
        let code = TotpCode::parse("123456").unwrap();
        assert!(!format!("{code:?}").contains("123456"));
        let password = Password::parse("hunter22").unwrap();
        assert!(!format!("{password:?}").contains("hunter22"));
        let recovery = RecoveryCode::parse("abcde-fghjk").unwrap();
        assert!(!format!("{recovery:?}").contains("abcde"));
    }

    #[test]
    fn username_errors() {
        assert_eq!(Username::parse(""), Err(UsernameError::Empty));
        assert_eq!(
            Username::parse(&"a".repeat(65)),
            Err(UsernameError::TooLong)
        );
        assert_eq!(Username::parse("zoë"), Err(UsernameError::BadCharacter));
    }

    #[test]
    fn password_limits() {
        assert_eq!(
            Password::parse(&"x".repeat(PASSWORD_MAX + 1)),
            Err(PasswordError::TooLong)
        );
        assert_eq!(Password::parse_new("1234567"), Err(PasswordError::TooShort));
        assert!(Password::parse_new("12345678").is_ok());
    }
}
