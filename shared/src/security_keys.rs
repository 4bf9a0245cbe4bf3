//! Security keys and passkeys (WebAuthn): the JSON of the ceremonies, as the server sends the
//! options and the browser sends back what `navigator.credentials.create()` / `.get()` gave.
//! Binary fields are base64url without padding, as in the WebAuthn Level 3 JSON forms, so the
//! same text is read by the server's WebAuthn library and by the browser app.
//!
//! ```text
//!   browser                                server
//!   POST …/start            ───────────►   options (challenge kept in the database,
//!                                           bound to the asking session, short expiry)
//!   navigator.credentials.create()/get()
//!   POST …/finish {credential} ─────────►  checked against the kept challenge, spent once
//! ```
//!
//! ```
//! use twostep_shared::security_keys::{KeyName, RequestOptions};
//!
//! let options: RequestOptions = serde_json::from_str(
//!     r#"{"publicKey":{"challenge":"AAEC","rpId":"localhost","allowCredentials":[],"userVerification":"preferred"}}"#,
//! ).unwrap();
//! assert_eq!(options.public_key.rp_id, "localhost");
//! assert_eq!(KeyName::parse("  YubiKey on my keyring ").unwrap().as_str(), "YubiKey on my keyring");
//! assert!(KeyName::parse("").is_err());
//! ```

use serde::{Deserialize, Serialize};

/// `PublicKeyCredentialCreationOptions` under `publicKey` (what `navigator.credentials.create`
/// takes, with its binary fields as base64url).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CreationOptions {
    /// The options.
    pub public_key: PublicKeyCreation,
}

/// The creation options.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PublicKeyCreation {
    /// The relying party: this server's host.
    pub rp: RelyingParty,
    /// The account, as the authenticator stores it.
    pub user: UserEntity,
    /// The challenge, base64url.
    pub challenge: String,
    /// The signature algorithms accepted (COSE numbers), best first.
    pub pub_key_cred_params: Vec<CredentialParameter>,
    /// How long the browser's prompt may take, in milliseconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout: Option<u32>,
    /// The account's keys already registered (the authenticator refuses to add one twice).
    #[serde(default)]
    pub exclude_credentials: Vec<CredentialDescriptor>,
    /// What kind of authenticator and credential is asked for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authenticator_selection: Option<AuthenticatorSelection>,
    /// The attestation conveyance (`none`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attestation: Option<String>,
}

/// The relying party.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RelyingParty {
    /// Its id: the host people reach the server at.
    pub id: String,
    /// Its name, shown by some browsers.
    pub name: String,
}

/// The account in a creation ceremony.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UserEntity {
    /// The user handle, base64url (not the database id).
    pub id: String,
    /// The username.
    pub name: String,
    /// The name shown.
    pub display_name: String,
}

/// One accepted algorithm.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CredentialParameter {
    /// Always `public-key`.
    #[serde(rename = "type")]
    pub type_: String,
    /// The COSE algorithm number (-7: ES256).
    pub alg: i64,
}

/// A credential named in options.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CredentialDescriptor {
    /// Always `public-key`.
    #[serde(rename = "type")]
    pub type_: String,
    /// The credential id, base64url.
    pub id: String,
}

/// `authenticatorSelection`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AuthenticatorSelection {
    /// `discouraged`, `preferred` or `required`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resident_key: Option<String>,
    /// The older form of `resident_key: required`.
    #[serde(default)]
    pub require_resident_key: bool,
    /// `discouraged`, `preferred` or `required`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_verification: Option<String>,
}

/// `PublicKeyCredentialRequestOptions` under `publicKey` (what `navigator.credentials.get`
/// takes).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RequestOptions {
    /// The options.
    pub public_key: PublicKeyRequest,
}

/// The request options.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PublicKeyRequest {
    /// The challenge, base64url.
    pub challenge: String,
    /// How long the browser's prompt may take, in milliseconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout: Option<u32>,
    /// The relying party's id.
    pub rp_id: String,
    /// The keys that may answer: only the account's (empty for a passkey sign-in, where the
    /// authenticator offers its own).
    #[serde(default)]
    pub allow_credentials: Vec<CredentialDescriptor>,
    /// `discouraged`, `preferred` or `required` (a passkey sign-in requires it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_verification: Option<String>,
}

/// What `navigator.credentials.create()` gave, as JSON.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RegistrationCredential {
    /// The credential id, base64url.
    pub id: String,
    /// The same, base64url.
    pub raw_id: String,
    /// The authenticator's answer.
    pub response: AttestationResponse,
    /// Always `public-key`.
    #[serde(rename = "type")]
    pub type_: String,
}

/// `AuthenticatorAttestationResponse`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AttestationResponse {
    /// base64url.
    #[serde(rename = "attestationObject")]
    pub attestation_object: String,
    /// base64url.
    #[serde(rename = "clientDataJSON")]
    pub client_data_json: String,
}

/// What `navigator.credentials.get()` gave, as JSON.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AssertionCredential {
    /// The credential id, base64url.
    pub id: String,
    /// The same, base64url.
    pub raw_id: String,
    /// The authenticator's answer.
    pub response: AssertionResponse,
    /// Always `public-key`.
    #[serde(rename = "type")]
    pub type_: String,
}

/// `AuthenticatorAssertionResponse`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AssertionResponse {
    /// base64url.
    #[serde(rename = "authenticatorData")]
    pub authenticator_data: String,
    /// base64url.
    #[serde(rename = "clientDataJSON")]
    pub client_data_json: String,
    /// base64url.
    pub signature: String,
    /// base64url; present for a discoverable credential (a passkey sign-in).
    #[serde(
        rename = "userHandle",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub user_handle: Option<String>,
}

/// `POST /api/me/security-keys/finish`: the new key and its name; with 2-step verification
/// on, a proof of the second factor (a current code or a recovery code in `proof`, or an
/// answer of one of the account's keys in `security_key`, after
/// `POST /api/me/security-keys/proof`).
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AddKeyRequest {
    /// What `navigator.credentials.create()` gave.
    pub credential: RegistrationCredential,
    /// The holder's name for the key.
    pub name: String,
    /// A current code or an unused recovery code.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub proof: Option<String>,
    /// An answer of one of the account's keys.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub security_key: Option<AssertionCredential>,
}

impl std::fmt::Debug for AddKeyRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AddKeyRequest")
            .field("name", &self.name)
            .field("proof", &self.proof.as_ref().map(|_| "***"))
            .field("security_key", &self.security_key.is_some())
            .finish_non_exhaustive()
    }
}

/// `DELETE /api/me/security-keys/{id}`: with 2-step verification on, a proof of the second
/// factor, as for [`AddKeyRequest`].
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RemoveKeyRequest {
    /// A current code or an unused recovery code.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub proof: Option<String>,
    /// An answer of one of the account's keys.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub security_key: Option<AssertionCredential>,
}

impl std::fmt::Debug for RemoveKeyRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RemoveKeyRequest")
            .field("proof", &self.proof.as_ref().map(|_| "***"))
            .field("security_key", &self.security_key.is_some())
            .finish()
    }
}

/// `POST /api/session/security-key` (the second step) and `POST /api/session/passkey` (a
/// passkey alone): the key's answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyAnswer {
    /// What `navigator.credentials.get()` gave.
    pub credential: AssertionCredential,
}

/// One registered key, as the holder's list shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SecurityKey {
    /// Its id, for `DELETE /api/me/security-keys/{id}`.
    pub id: i64,
    /// The holder's name for it.
    pub name: String,
    /// When it was added (Unix seconds).
    pub added_at: u64,
    /// When it last signed in or proved who you are (Unix seconds).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_used_at: Option<u64>,
    /// Registered with user verification (PIN, fingerprint): it can sign in alone.
    pub passkey: bool,
}

/// `GET /api/me/security-keys` (and an administrator's `GET /api/users/{id}/security-keys`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SecurityKeys {
    /// Oldest first.
    pub keys: Vec<SecurityKey>,
}

/// `POST /api/me/security-keys/finish`: the key was added; the recovery codes when it turned
/// 2-step verification on (shown once).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyAdded {
    /// The new key.
    pub key: SecurityKey,
    /// New recovery codes, when this key is the account's first second factor.
    #[serde(default)]
    pub recovery_codes: Vec<String>,
}

/// A key's name: 1 to 64 characters after trimming, no control characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyName(String);

/// Why a key's name was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyNameError {
    /// Nothing but spaces.
    #[error("Enter a name for the key, e.g. 'YubiKey on my keyring'.")]
    Empty,
    /// Too long.
    #[error("A key's name has at most 64 characters.")]
    TooLong,
    /// A control character.
    #[error("A key's name cannot contain control characters.")]
    Control,
}

impl KeyName {
    /// The longest name.
    pub const MAX: usize = 64;

    /// Checks a typed name (both sides use this).
    pub fn parse(text: &str) -> Result<Self, KeyNameError> {
        let name = text.trim();
        if name.is_empty() {
            Err(KeyNameError::Empty)
        } else if name.chars().count() > Self::MAX {
            Err(KeyNameError::TooLong)
        } else if name.chars().any(char::is_control) {
            Err(KeyNameError::Control)
        } else {
            Ok(Self(name.to_owned()))
        }
    }

    /// The name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_checked() {
        assert_eq!(KeyName::parse(" \t "), Err(KeyNameError::Empty));
        assert_eq!(KeyName::parse(&"k".repeat(65)), Err(KeyNameError::TooLong));
        assert_eq!(KeyName::parse("a\u{7}b"), Err(KeyNameError::Control));
        assert_eq!(KeyName::parse(&"k".repeat(64)).unwrap().as_str().len(), 64);
    }

    #[test]
    fn requests_hide_their_proof_from_debug() {
        let request = RemoveKeyRequest {
            proof: Some("123456".into()),
            security_key: None,
        };
        assert!(!format!("{request:?}").contains("123456"));
    }
}
