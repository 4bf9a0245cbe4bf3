//! The JSON error body every failed `/api` request answers with.

use serde::{Deserialize, Serialize};

/// What went wrong, in a form a program can act on. The browser picks its message and
/// behaviour (e.g. waiting before a retry) by this code; people read [`ErrorBody::message`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// The body is not valid JSON or does not have the expected shape.
    BadRequest,
    /// A field's value was refused by a parser in [`crate::input`].
    InvalidInput,
    /// The request needs a `Content-Type: application/json` body.
    UnsupportedMediaType,
    /// The request body is larger than the server accepts.
    PayloadTooLarge,
    /// No session, or the session has ended.
    Unauthorized,
    /// Username or password wrong (never says which).
    BadCredentials,
    /// Signed in, but not allowed to do this.
    Forbidden,
    /// No such route or record.
    NotFound,
    /// The session is waiting for a verification code and allows nothing else.
    VerificationRequired,
    /// The verification step has expired; sign in again.
    VerificationExpired,
    /// The verification code or recovery code is wrong (or was already used).
    CodeWrong,
    /// Too many wrong codes: wait `retry_after_seconds` before trying again.
    TooManyAttempts,
    /// Too many wrong codes in a row: the code step is locked until an administrator unlocks
    /// it or a recovery code is used.
    Locked,
    /// Enrollment: the two codes are not for consecutive time steps.
    CodesNotConsecutive,
    /// Enrollment: both codes are right but the device clock is too far off.
    ClockOff,
    /// Enrollment: no setup was started, or it expired (10 minutes); start again.
    SetupExpired,
    /// Enrollment: a device is already associated; remove it first.
    AlreadySetUp,
    /// The account is an organizational account: it signs in through its identity provider,
    /// so it has no password here (password step) and cannot set up 2-step verification.
    OrganizationalAccount,
    /// No 2-step verification device is associated with the account.
    NotSetUp,
    /// An administrator disabled the account: it signs in by no path until enabled again.
    AccountDisabled,
    /// The password is a one-time password: choose a new one (`POST /api/me/password`) first.
    PasswordChangeRequired,
    /// The username is taken, or the identity is linked to another account already.
    AlreadyExists,
    /// Removing your own device needs a current code or your password.
    ProofRequired,
    /// The password given as proof is not correct.
    ProofWrong,
    /// The session proved who it is too long ago for this action: confirm it's you
    /// (`POST /api/session/reauthenticate`), then repeat the request.
    ReauthenticationRequired,
    /// A security key's answer was not accepted (not one of the account's keys, another
    /// site's, a spent or expired challenge, a counter going back); counted like a wrong code.
    SecurityKeyRefused,
    /// The server is overloaded or its database is unavailable; try again.
    Unavailable,
    /// Something failed inside the server; the details are in its log.
    Internal,
}

impl ErrorCode {
    /// Every code.
    pub const ALL: [ErrorCode; 28] = [
        Self::BadRequest,
        Self::InvalidInput,
        Self::UnsupportedMediaType,
        Self::PayloadTooLarge,
        Self::Unauthorized,
        Self::BadCredentials,
        Self::Forbidden,
        Self::NotFound,
        Self::VerificationRequired,
        Self::VerificationExpired,
        Self::CodeWrong,
        Self::TooManyAttempts,
        Self::Locked,
        Self::CodesNotConsecutive,
        Self::ClockOff,
        Self::SetupExpired,
        Self::AlreadySetUp,
        Self::OrganizationalAccount,
        Self::NotSetUp,
        Self::AccountDisabled,
        Self::PasswordChangeRequired,
        Self::AlreadyExists,
        Self::ProofRequired,
        Self::ProofWrong,
        Self::ReauthenticationRequired,
        Self::SecurityKeyRefused,
        Self::Unavailable,
        Self::Internal,
    ];

    /// The wire name (`bad_request`, …), as serde writes it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::BadRequest => "bad_request",
            Self::InvalidInput => "invalid_input",
            Self::UnsupportedMediaType => "unsupported_media_type",
            Self::PayloadTooLarge => "payload_too_large",
            Self::Unauthorized => "unauthorized",
            Self::BadCredentials => "bad_credentials",
            Self::Forbidden => "forbidden",
            Self::NotFound => "not_found",
            Self::VerificationRequired => "verification_required",
            Self::VerificationExpired => "verification_expired",
            Self::CodeWrong => "code_wrong",
            Self::TooManyAttempts => "too_many_attempts",
            Self::Locked => "locked",
            Self::CodesNotConsecutive => "codes_not_consecutive",
            Self::ClockOff => "clock_off",
            Self::SetupExpired => "setup_expired",
            Self::AlreadySetUp => "already_set_up",
            Self::OrganizationalAccount => "organizational_account",
            Self::NotSetUp => "not_set_up",
            Self::AccountDisabled => "account_disabled",
            Self::PasswordChangeRequired => "password_change_required",
            Self::AlreadyExists => "already_exists",
            Self::ProofRequired => "proof_required",
            Self::ProofWrong => "proof_wrong",
            Self::ReauthenticationRequired => "reauthentication_required",
            Self::SecurityKeyRefused => "security_key_refused",
            Self::Unavailable => "unavailable",
            Self::Internal => "internal",
        }
    }

    /// The wire name back to the code.
    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.as_str() == text)
    }
}

/// The body of every `4xx`/`5xx` answer under `/api`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorBody {
    /// Machine-readable kind of error.
    pub code: ErrorCode,
    /// A sentence a person can act on.
    pub message: String,
    /// The input field the error is about, when there is one (e.g. `"code2"`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// For [`ErrorCode::TooManyAttempts`]: how long to wait, as in the `Retry-After` header.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_after_seconds: Option<u64>,
}

impl ErrorBody {
    /// An error body with just a code and a message.
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
            field: None,
            retry_after_seconds: None,
        }
    }

    /// The same error, about one input field.
    pub fn with_field(mut self, field: impl Into<String>) -> Self {
        self.field = Some(field.into());
        self
    }
}

impl std::fmt::Display for ErrorBody {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_codes_have_their_serde_names() {
        for code in ErrorCode::ALL {
            assert_eq!(serde_json::to_value(code).unwrap(), code.as_str());
            assert_eq!(ErrorCode::parse(code.as_str()), Some(code));
        }
        assert_eq!(ErrorCode::parse("nope"), None);
    }
}
