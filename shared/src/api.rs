//! Request and response bodies of the `/api` endpoints, one section per area.
//!
//! Requests carry what the person typed as plain strings; the server checks them with the
//! parsers in [`crate::input`] so it can say which field is wrong. Types that carry a
//! password, a code or a secret print `***` in `Debug`.

use serde::{Deserialize, Serialize};
use std::fmt;

/// A user's role.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    User,
    Administrator,
}

/// How an account signs in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum AccountKind {
    /// Username and password kept by this server; may set up 2-step verification.
    TeamServer,
    /// Signs in through an external identity provider, which decides how; cannot set up
    /// 2-step verification here.
    Organizational { identity_provider: String },
}

/// The 2-step verification state of an account, as its owner or an administrator sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TwoStepStatus {
    /// A device is associated: sign-in asks for a verification code.
    pub enabled: bool,
    /// Unused recovery codes left (0 when not enabled).
    pub recovery_codes_left: u32,
    /// The code step is locked after too many wrong codes.
    pub locked: bool,
}

/// A user as shown in the app.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct User {
    pub id: i64,
    pub username: String,
    pub role: Role,
    pub account: AccountKind,
    /// Present for the user themself and for administrators; `None` for other users.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub two_step: Option<TwoStepStatus>,
}

/// `GET /api/users`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserList {
    pub users: Vec<User>,
}

/// `POST /api/session`: the password step.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignInRequest {
    pub username: String,
    pub password: String,
}

impl fmt::Debug for SignInRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SignInRequest")
            .field("username", &self.username)
            .field("password", &"***")
            .finish()
    }
}

/// The answer to the password step (and to the verification step).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum SignInResponse {
    /// Signed in; the session cookie is set.
    SignedIn { user: User },
    /// The password was right and the account has 2-step verification: send a code to
    /// `POST /api/session/verify` within `expires_in_seconds`.
    VerificationRequired { expires_in_seconds: u64 },
}

/// `POST /api/session/verify`: a 6-digit code from the authenticator app, or a recovery code.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VerifyRequest {
    pub code: String,
}

impl fmt::Debug for VerifyRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("VerifyRequest { code: *** }")
    }
}

/// `POST /api/me/two-step/setup`: a fresh secret for the authenticator app. The browser
/// draws the QR code from `otpauth_uri`.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SetupResponse {
    /// The key in base32, for manual entry.
    pub secret: String,
    /// `otpauth://totp/…`, for the QR code.
    pub otpauth_uri: String,
    /// Seconds until this setup expires.
    pub expires_in_seconds: u64,
}

impl fmt::Debug for SetupResponse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SetupResponse")
            .field("secret", &"***")
            .field("otpauth_uri", &"***")
            .field("expires_in_seconds", &self.expires_in_seconds)
            .finish()
    }
}

/// `POST /api/me/two-step/confirm`: two consecutive codes from the app.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConfirmRequest {
    pub code1: String,
    pub code2: String,
}

impl fmt::Debug for ConfirmRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ConfirmRequest { code1: ***, code2: *** }")
    }
}

/// The answer to a successful confirm (and to regenerating recovery codes): the recovery
/// codes, shown this once.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecoveryCodes {
    pub recovery_codes: Vec<String>,
}

impl fmt::Debug for RecoveryCodes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "RecoveryCodes({} codes: ***)", self.recovery_codes.len())
    }
}

/// `DELETE /api/users/{id}/two-step`: removes the associated device. Removing your own
/// device needs a fresh `proof`: a current verification code (or a recovery code) or your
/// password. An administrator removing another user's device sends no proof.
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RemoveDeviceRequest {
    #[serde(default)]
    pub proof: Option<String>,
}

impl fmt::Debug for RemoveDeviceRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("RemoveDeviceRequest { proof: *** }")
    }
}

/// What an audit event records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AuditEventKind {
    /// Signed in (after the code step when there is one).
    SignedIn,
    /// Wrong username or password.
    SignInFailedPassword,
    /// Wrong verification or recovery code.
    SignInFailedCode,
    /// A code of a step already used was refused.
    ReplayedCodeRefused,
    /// Too many wrong codes locked the code step.
    CodeStepLocked,
    /// A recovery code was used.
    RecoveryCodeUsed,
    /// 2-step verification was set up.
    DeviceAssociated,
    /// The associated device was removed.
    DeviceRemoved,
    /// The code step was unlocked.
    CodeStepUnlocked,
    /// The account was given the Administrator role.
    MadeAdministrator,
}

impl AuditEventKind {
    /// Every kind, in the order the filter lists them.
    pub const ALL: [AuditEventKind; 10] = [
        Self::SignedIn,
        Self::SignInFailedPassword,
        Self::SignInFailedCode,
        Self::ReplayedCodeRefused,
        Self::CodeStepLocked,
        Self::RecoveryCodeUsed,
        Self::DeviceAssociated,
        Self::DeviceRemoved,
        Self::CodeStepUnlocked,
        Self::MadeAdministrator,
    ];

    /// The stored and wire name (`signed_in`, …).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::SignedIn => "signed_in",
            Self::SignInFailedPassword => "sign_in_failed_password",
            Self::SignInFailedCode => "sign_in_failed_code",
            Self::ReplayedCodeRefused => "replayed_code_refused",
            Self::CodeStepLocked => "code_step_locked",
            Self::RecoveryCodeUsed => "recovery_code_used",
            Self::DeviceAssociated => "device_associated",
            Self::DeviceRemoved => "device_removed",
            Self::CodeStepUnlocked => "code_step_unlocked",
            Self::MadeAdministrator => "made_administrator",
        }
    }

    /// The stored name back to the kind.
    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == text)
    }

    /// A short description for people.
    pub fn describe(self) -> &'static str {
        match self {
            Self::SignedIn => "Signed in",
            Self::SignInFailedPassword => "Sign-in failed: username or password",
            Self::SignInFailedCode => "Sign-in failed: verification code",
            Self::ReplayedCodeRefused => "Used code refused",
            Self::CodeStepLocked => "Code step locked",
            Self::RecoveryCodeUsed => "Recovery code used",
            Self::DeviceAssociated => "Device associated",
            Self::DeviceRemoved => "Device removed",
            Self::CodeStepUnlocked => "Code step unlocked",
            Self::MadeAdministrator => "Made administrator",
        }
    }
}

/// One audit event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditEntry {
    pub id: i64,
    /// Unix time in seconds.
    pub at: u64,
    pub event: AuditEventKind,
    /// Who acted: a username, `cli`, or none (not signed in).
    pub actor: Option<String>,
    /// Whose account it concerns.
    pub subject: Option<String>,
    pub subject_id: Option<i64>,
    pub client_address: Option<String>,
    pub detail: Option<String>,
}

/// `GET /api/audit?page=N&user=ID`: newest first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditPage {
    pub entries: Vec<AuditEntry>,
    /// 1-based.
    pub page: u32,
    pub per_page: u32,
    pub total: u64,
}

/// `GET /api/health`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Health {
    pub status: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sign_in_response_is_tagged() {
        let json = serde_json::to_value(SignInResponse::VerificationRequired {
            expires_in_seconds: 300,
        })
        .unwrap();
        assert_eq!(json["status"], "verification_required");
        assert_eq!(json["expires_in_seconds"], 300);
    }

    #[test]
    fn debug_hides_secrets() {
        let request = SignInRequest {
            username: "alice".into(),
            password: "hunter22".into(),
        };
        assert!(!format!("{request:?}").contains("hunter22"));
        let setup = SetupResponse {
            secret: "JBSWY3DPEHPK3PXP".into(),
            otpauth_uri: "otpauth://totp/x:y?secret=JBSWY3DPEHPK3PXP".into(),
            expires_in_seconds: 600,
        };
        assert!(!format!("{setup:?}").contains("JBSWY3DP"));
        let confirm = ConfirmRequest {
            code1: "123456".into(),
            code2: "654321".into(),
        };
        assert!(!format!("{confirm:?}").contains("123456"));
    }

    #[test]
    fn account_kind_wire_form() {
        let org = AccountKind::Organizational {
            identity_provider: "Contoso".into(),
        };
        let json = serde_json::to_string(&org).unwrap();
        assert_eq!(
            json,
            r#"{"kind":"organizational","identity_provider":"Contoso"}"#
        );
        assert_eq!(serde_json::from_str::<AccountKind>(&json).unwrap(), org);
    }
}
