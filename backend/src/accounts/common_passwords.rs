//! Passwords too common to choose (NIST SP 800-63B §5.1.1.2: check new passwords against a
//! list of commonly used ones): a list of about 8,000 bundled into the binary at build time
//! (`backend/data/common-passwords.txt`, whose header names its source), compared in lower
//! case. Only new passwords are checked: signing in with an old one still works.

use std::collections::HashSet;
use std::sync::LazyLock;

static LIST: LazyLock<HashSet<&'static str>> = LazyLock::new(|| {
    include_str!("../../data/common-passwords.txt")
        .lines()
        .filter(|line| !line.is_empty() && !line.starts_with('#'))
        .collect()
});

/// Whether `password` is on the list (in any case).
pub fn is_common(password: &str) -> bool {
    LIST.contains(password.to_lowercase().as_str())
}

/// What the refusal says.
pub const REFUSAL: &str =
    "This password is one of the most common passwords, which attackers try first. Choose another.";

/// A new password: the rules of [`twostep_shared::input::Password::parse_new`] (which the
/// browser checks too) and not a common password.
pub fn parse_new(text: &str) -> Result<twostep_shared::input::Password, String> {
    let password = twostep_shared::input::Password::parse_new(text).map_err(|e| e.to_string())?;
    if is_common(text) {
        return Err(REFUSAL.to_owned());
    }
    Ok(password)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_list_is_loaded_and_compared_in_lower_case() {
        assert!(LIST.len() > 8000, "{}", LIST.len());
        assert!(is_common("password"));
        assert!(is_common("PassWord"));
        assert!(is_common("12345678"));
        assert!(!is_common("correct horse battery staple"));
    }

    #[test]
    fn new_passwords_are_refused_when_common_or_short() {
        assert_eq!(parse_new("Password").unwrap_err(), REFUSAL);
        assert!(parse_new("short").is_err());
        assert!(parse_new("a fine long passphrase").is_ok());
    }
}
