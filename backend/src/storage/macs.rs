//! Keyed hashes (HMAC-SHA256) under keys derived from the server key: recovery codes and the
//! key a typed username is counted under.
//!
//! Recovery codes carry 50 random bits, so they need no slow hash: an HMAC under a key the
//! database does not hold is as safe to store, and costs the server nothing an attacker could
//! make it repeat (an Argon2 hash per guess would). Typed usernames are counted and referred to
//! by their HMAC, so a password typed into the username field is never stored or logged.

use crate::storage::seal::SealKey;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64URL;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use subtle::ConstantTimeEq;
use twostep_shared::input::RecoveryCode;

type HmacSha256 = Hmac<Sha256>;

/// The prefix of a recovery code stored as an HMAC (older rows hold an Argon2id PHC string).
pub const RECOVERY_MAC_PREFIX: &str = "hmac-sha256$";

/// The derived keys. `Debug` does not print them.
#[derive(Clone)]
pub struct Macs {
    recovery: [u8; 32],
    names: [u8; 32],
}

impl std::fmt::Debug for Macs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Macs(***)")
    }
}

fn mac(key: &[u8; 32], parts: &[&[u8]]) -> [u8; 32] {
    let mut mac = HmacSha256::new_from_slice(key).expect("HMAC takes any key length");
    for part in parts {
        // Length-prefixed, so ("ab", "c") and ("a", "bc") differ.
        mac.update(&(part.len() as u64).to_be_bytes());
        mac.update(part);
    }
    mac.finalize().into_bytes().into()
}

impl Macs {
    pub fn new(seal: &SealKey) -> Self {
        Self {
            recovery: seal.derive("twostep recovery codes v1"),
            names: seal.derive("twostep typed usernames v1"),
        }
    }

    /// The stored form of a recovery code.
    pub fn recovery_code(&self, code: &RecoveryCode) -> String {
        let tag = mac(&self.recovery, &[code.expose().as_bytes()]);
        format!("{RECOVERY_MAC_PREFIX}{}", B64URL.encode(tag))
    }

    /// Whether `stored` (a [`Macs::recovery_code`] string) is `code`'s, in constant time.
    pub fn recovery_code_matches(&self, code: &RecoveryCode, stored: &str) -> bool {
        bool::from(self.recovery_code(code).as_bytes().ct_eq(stored.as_bytes()))
    }

    /// The key a typed username's wrong passwords are counted under.
    pub fn name_key(&self, username: &str) -> String {
        format!(
            "name:{}",
            B64URL.encode(mac(&self.names, &[username.as_bytes()]))
        )
    }

    /// The WebAuthn user handle of an account: 16 bytes that say nothing about it (not its id
    /// or name), the same at every ceremony, so a passkey names its account.
    pub fn user_handle(&self, user_id: i64) -> [u8; 16] {
        let tag = mac(
            &self.names,
            &[b"webauthn user handle", &user_id.to_be_bytes()],
        );
        let mut handle = [0u8; 16];
        handle.copy_from_slice(&tag[..16]);
        handle
    }

    /// A short reference to a typed name that is not an account, for logs and the audit log:
    /// the same name gives the same reference (so attempts can be correlated), and the text
    /// itself, which may be a password typed into the wrong field, is never written.
    pub fn name_ref(&self, username: &str) -> String {
        let tag = mac(&self.names, &[b"ref", username.as_bytes()]);
        tag[..5].iter().map(|b| format!("{b:02x}")).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recovery_codes_match_only_themselves_and_only_under_their_key() {
        let macs = Macs::new(&SealKey::from_bytes(&[1; 32]));
        let code = RecoveryCode::parse("abcde-fghjk").unwrap();
        let other = RecoveryCode::parse("abcde-fghjm").unwrap();
        let stored = macs.recovery_code(&code);
        assert!(stored.starts_with(RECOVERY_MAC_PREFIX));
        assert!(!stored.contains("abcde"));
        assert!(macs.recovery_code_matches(&code, &stored));
        assert!(!macs.recovery_code_matches(&other, &stored));
        let other_key = Macs::new(&SealKey::from_bytes(&[2; 32]));
        assert!(!other_key.recovery_code_matches(&code, &stored));
    }

    #[test]
    fn typed_names_are_never_written_as_typed() {
        let macs = Macs::new(&SealKey::from_bytes(&[1; 32]));
        let key = macs.name_key("hunter2hunter2");
        let reference = macs.name_ref("hunter2hunter2");
        assert!(!key.contains("hunter2") && !reference.contains("hunter2"));
        assert_eq!(reference, macs.name_ref("hunter2hunter2"));
        assert_ne!(reference, macs.name_ref("hunter3hunter3"));
        assert_eq!(reference.len(), 10);
        assert_ne!(key, macs.name_key("alice"));
    }
}
