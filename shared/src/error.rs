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
    /// Removing your own device needs a current code or your password.
    ProofRequired,
    /// The password given as proof is not correct.
    ProofWrong,
    /// The server is overloaded or its database is unavailable; try again.
    Unavailable,
    /// Something failed inside the server; the details are in its log.
    Internal,
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
