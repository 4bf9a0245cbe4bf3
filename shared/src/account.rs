//! The holder's own account controls on the wire: confirming it's you
//! (`POST /api/session/reauthenticate`), the sessions list (`GET /api/me/sessions`) and the
//! password change (`POST /api/me/password`), and the holder's security activity
//! (`GET /api/me/activity`).

use serde::{Deserialize, Serialize};
use std::fmt;

/// `POST /api/session/reauthenticate`: exactly one of the password or a current code from the
/// authenticator app (accounts with 2-step verification only). `Debug` hides both.
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReauthenticateRequest {
    /// The account's password.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password: Option<String>,
    /// A current 6-digit code from the authenticator app.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    /// An answer of one of the account's security keys (after
    /// `POST /api/me/security-keys/proof`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub security_key: Option<crate::security_keys::AssertionCredential>,
}

impl fmt::Debug for ReauthenticateRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ReauthenticateRequest")
            .field("password", &self.password.as_ref().map(|_| "***"))
            .field("code", &self.code.as_ref().map(|_| "***"))
            .field("security_key", &self.security_key.is_some())
            .finish()
    }
}

/// `POST /api/me/password`. `Debug` hides both passwords.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChangePasswordRequest {
    /// The password the account has now.
    pub current_password: String,
    /// The password it gets (the rules of [`crate::input::Password::parse_new`], and not a
    /// common password).
    pub new_password: String,
}

impl fmt::Debug for ChangePasswordRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ChangePasswordRequest { .. }")
    }
}

/// The answer to a password change or to ending sessions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionsEnded {
    /// How many sessions ended.
    pub sessions_ended: u64,
}

/// One signed-in session, as "Where you're signed in" lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionInfo {
    /// Names the session for `DELETE /api/me/sessions/{id}` (not its token).
    pub id: String,
    /// The browser and system, read from its `User-Agent`, e.g. "Chrome on Linux".
    pub device: String,
    /// The client's address when the session started, if known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_addr: Option<String>,
    /// Unix seconds when it signed in.
    pub started_at: u64,
    /// Unix seconds of its last request (written at most once a minute).
    pub last_seen_at: u64,
    /// Whether this is the session asking.
    pub current: bool,
}

/// `GET /api/me/sessions` and `GET /api/users/{id}/sessions`: the most recently seen first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionList {
    /// The live signed-in sessions.
    pub sessions: Vec<SessionInfo>,
}

/// `GET /api/me/activity?page=N`: the holder's own events, newest first, 50 a page.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActivityPage {
    /// Events about the holder's account (the same entries the audit log has).
    pub entries: Vec<crate::api::AuditEntry>,
    /// 1-based.
    pub page: u32,
    /// Entries per page.
    pub per_page: u32,
    /// Events in all pages.
    pub total: u64,
    /// Wrong codes, codes used twice and locks since the holder's previous sign-in: the app
    /// shows a notice when this is not zero.
    pub warnings_since_previous_sign_in: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_hides_passwords_and_codes() {
        let reauth = ReauthenticateRequest {
            password: Some("hunter22".into()),
            code: Some("123456".into()),
            security_key: None,
        };
        let text = format!("{reauth:?}");
        assert!(
            !text.contains("hunter22") && !text.contains("123456"),
            "{text}"
        );
        let change = ChangePasswordRequest {
            current_password: "hunter22".into(),
            new_password: "correct horse".into(),
        };
        let text = format!("{change:?}");
        assert!(
            !text.contains("hunter22") && !text.contains("horse"),
            "{text}"
        );
    }

    #[test]
    fn reauthenticate_request_reads_either_field() {
        let with_code: ReauthenticateRequest =
            serde_json::from_str(r#"{"code":"123456"}"#).unwrap();
        assert_eq!(with_code.code.as_deref(), Some("123456"));
        assert_eq!(with_code.password, None);
    }
}

/// The address security e-mails go to (`GET`/`PUT /api/users/{id}/email`); `None` (or
/// `null`) for none, or to remove it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EmailAddress {
    /// The address, e.g. `alice@team.example`.
    #[serde(default)]
    pub email: Option<String>,
}
