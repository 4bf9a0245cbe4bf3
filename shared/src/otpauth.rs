//! Builds the `otpauth://totp/…` URI that authenticator apps read from a QR code, per the
//! Key Uri Format (<https://github.com/google/google-authenticator/wiki/Key-Uri-Format>).
//!
//! The percent-encoding here is a few lines written by hand on purpose: it keeps this crate
//! free of dependencies beyond serde/thiserror, and so small in the browser's wasm. The
//! server's tests check the result with `totp-rs`'s own URI parser.

use thiserror::Error;

/// The default issuer shown in authenticator apps.
pub const DEFAULT_ISSUER: &str = "Team Server";

/// Why a URI could not be built.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum OtpauthError {
    /// The named part (`issuer` or `account name`) is empty.
    #[error("The {0} must not be empty.")]
    Empty(&'static str),
    /// The named part contains `:`, which separates issuer and account in the label.
    #[error("The {0} must not contain ':'.")]
    Colon(&'static str),
    /// The secret is not unpadded base32.
    #[error("The secret must be base32 (A–Z, 2–7) without padding.")]
    Secret,
}

/// Builds `otpauth://totp/ISSUER:ACCOUNT?secret=…&issuer=ISSUER&algorithm=SHA1&digits=6&period=30`.
///
/// `issuer` and `account` are percent-encoded (space as `%20`); neither may contain `:`.
///
/// ```
/// use twostep_shared::otpauth::totp_uri;
/// let uri = totp_uri("Team Server", "alice@example.com", "JBSWY3DPEHPK3PXP").unwrap();
/// assert_eq!(
///     uri,
///     "otpauth://totp/Team%20Server:alice%40example.com?secret=JBSWY3DPEHPK3PXP\
///      &issuer=Team%20Server&algorithm=SHA1&digits=6&period=30"
/// );
/// assert!(totp_uri("Team:Server", "alice", "JBSWY3DPEHPK3PXP").is_err());
/// ```
pub fn totp_uri(issuer: &str, account: &str, secret_base32: &str) -> Result<String, OtpauthError> {
    check_label_part(issuer, "issuer")?;
    check_label_part(account, "account name")?;
    let secret_ok = !secret_base32.is_empty()
        && secret_base32
            .bytes()
            .all(|b| b.is_ascii_uppercase() || (b'2'..=b'7').contains(&b));
    if !secret_ok {
        return Err(OtpauthError::Secret);
    }
    let issuer = percent_encode(issuer);
    let account = percent_encode(account);
    Ok(format!(
        "otpauth://totp/{issuer}:{account}?secret={secret_base32}&issuer={issuer}&algorithm=SHA1&digits=6&period=30"
    ))
}

/// Checks an issuer name the way [`totp_uri`] will: not empty, no `:`. A server checks its
/// configured issuer with this at start, so a bad one is refused there and not at every setup.
///
/// ```
/// use twostep_shared::otpauth::check_issuer;
/// assert!(check_issuer("Acme R&D").is_ok());
/// assert!(check_issuer("Acme: R&D").is_err());
/// assert!(check_issuer(" ").is_err());
/// ```
pub fn check_issuer(issuer: &str) -> Result<(), OtpauthError> {
    check_label_part(issuer, "issuer")
}

fn check_label_part(value: &str, what: &'static str) -> Result<(), OtpauthError> {
    if value.trim().is_empty() {
        return Err(OtpauthError::Empty(what));
    }
    if value.contains(':') {
        return Err(OtpauthError::Colon(what));
    }
    Ok(())
}

/// Percent-encodes every byte outside RFC 3986's unreserved set.
fn percent_encode(value: &str) -> String {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    let mut out = String::with_capacity(value.len());
    for byte in value.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
            out.push(byte as char);
        } else {
            out.push('%');
            out.push(HEX[usize::from(byte >> 4)] as char);
            out.push(HEX[usize::from(byte & 0xF)] as char);
        }
    }
    out
}

/// Groups a base32 key in blocks of four for reading and typing: `JBSW Y3DP EHPK 3PXP`.
///
/// ```
/// assert_eq!(twostep_shared::otpauth::group_key("JBSWY3DPEHPK3PXP"), "JBSW Y3DP EHPK 3PXP");
/// ```
pub fn group_key(secret_base32: &str) -> String {
    secret_base32
        .as_bytes()
        .chunks(4)
        .map(|c| String::from_utf8_lossy(c).into_owned())
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn non_ascii_and_reserved_characters_are_encoded() {
        let uri = totp_uri("Ünï Co/", "a b&c=d?", "ABC").unwrap();
        assert!(uri.starts_with("otpauth://totp/%C3%9Cn%C3%AF%20Co%2F:a%20b%26c%3Dd%3F?"));
        assert!(uri.contains("&issuer=%C3%9Cn%C3%AF%20Co%2F&"));
    }

    #[test]
    fn refuses_colons_empty_parts_and_bad_secrets() {
        assert_eq!(
            totp_uri("a", "b:c", "ABC"),
            Err(OtpauthError::Colon("account name"))
        );
        assert_eq!(
            totp_uri(" ", "b", "ABC"),
            Err(OtpauthError::Empty("issuer"))
        );
        assert_eq!(totp_uri("a", "b", "abc"), Err(OtpauthError::Secret));
        assert_eq!(totp_uri("a", "b", "AB=C"), Err(OtpauthError::Secret));
    }
}
