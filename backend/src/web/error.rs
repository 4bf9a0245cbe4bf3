//! `ApiError`: every way an `/api` request can fail, and how each becomes an HTTP answer.
//!
//! Client errors carry a [`twostep_shared::ErrorBody`] the browser decodes. Database and
//! internal errors are logged here with their context and answered with a generic message.
//! The domain errors (`PasswordError`, `CodeError`, `Refused`, `HashError`, `ReauthError`,
//! `ChangeError`, the account-changes table's `Refusal`, `EndError`, `AccountError`,
//! `KeyError`, `CreateError`) carry no
//! HTTP; each becomes a status and body here, once.

use crate::accounts::changes::Refusal;
use crate::accounts::creation::CreateError;
use crate::accounts::operations::AccountError;
use crate::accounts::password_change::ChangeError;
use crate::accounts::passwords::HashError;
use crate::factors::code_step::CodeError;
use crate::factors::security_keys::KeyError;
use crate::limits::guards::Refused;
use crate::sessions::list::EndError;
use crate::sign_in::PasswordError;
use crate::sign_in::reauthentication::ReauthError;
use axum::Json;
use axum::extract::rejection::JsonRejection;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use twostep_shared::{ErrorBody, ErrorCode};

#[derive(Debug)]
pub enum ApiError {
    /// Something the client can act on.
    Client { status: StatusCode, body: ErrorBody },
    /// The database cannot be reached or the server is saturated (503).
    Unavailable(String),
    /// A bug or an unexpected failure (500); the string is logged, never sent.
    Internal(String),
}

pub type ApiResult<T> = Result<T, ApiError>;

impl ApiError {
    pub fn client(status: StatusCode, code: ErrorCode, message: impl Into<String>) -> Self {
        Self::Client {
            status,
            body: ErrorBody::new(code, message),
        }
    }

    /// The same error, about one input field (the browser shows it there).
    pub fn about(mut self, field: &str) -> Self {
        if let Self::Client { body, .. } = &mut self {
            body.field = Some(field.to_owned());
        }
        self
    }

    /// A field's value was refused by a `shared` parser.
    pub fn invalid(field: &str, message: impl std::fmt::Display) -> Self {
        Self::Client {
            status: StatusCode::BAD_REQUEST,
            body: ErrorBody::new(ErrorCode::InvalidInput, message.to_string()).with_field(field),
        }
    }

    pub fn unauthorized() -> Self {
        Self::client(
            StatusCode::UNAUTHORIZED,
            ErrorCode::Unauthorized,
            "You are not signed in.",
        )
    }

    pub fn bad_credentials() -> Self {
        Self::client(
            StatusCode::UNAUTHORIZED,
            ErrorCode::BadCredentials,
            "The username or password is not correct.",
        )
    }

    pub fn forbidden() -> Self {
        Self::client(
            StatusCode::FORBIDDEN,
            ErrorCode::Forbidden,
            "You do not have permission to do this.",
        )
    }

    /// The session must confirm it's you before this action (the account-changes table asks a
    /// recent sign-in).
    pub fn reauthentication_required() -> Self {
        Self::client(
            StatusCode::FORBIDDEN,
            ErrorCode::ReauthenticationRequired,
            "Confirm it's you: enter your password (or a current verification code) again to continue.",
        )
    }

    /// A disabled account, told so once the password (or the provider) vouched for it.
    pub fn account_disabled() -> Self {
        Self::client(
            StatusCode::FORBIDDEN,
            ErrorCode::AccountDisabled,
            "This account is disabled. Ask your administrator to enable it.",
        )
    }

    pub fn not_found() -> Self {
        Self::client(StatusCode::NOT_FOUND, ErrorCode::NotFound, "Not found.")
    }

    /// Too many wrong codes: wait `seconds` (sent as `Retry-After` too).
    pub fn too_many_attempts(seconds: u64) -> Self {
        let mut body = ErrorBody::new(
            ErrorCode::TooManyAttempts,
            format!("Too many wrong codes. Wait {seconds} seconds, then try again."),
        );
        body.retry_after_seconds = Some(seconds);
        Self::Client {
            status: StatusCode::TOO_MANY_REQUESTS,
            body,
        }
    }

    /// Too many wrong passwords (for this username or from this address).
    pub fn too_many_sign_in_attempts(seconds: u64) -> Self {
        let mut error = Self::too_many_attempts(seconds);
        if let Self::Client { body, .. } = &mut error {
            body.message = format!(
                "Too many failed sign-in attempts. Wait {seconds} seconds, then try again."
            );
        }
        error
    }

    pub fn internal(context: impl Into<String>) -> Self {
        Self::Internal(context.into())
    }

    /// The error code, for tests and logs.
    pub fn code(&self) -> ErrorCode {
        match self {
            Self::Client { body, .. } => body.code,
            Self::Unavailable(_) => ErrorCode::Unavailable,
            Self::Internal(_) => ErrorCode::Internal,
        }
    }
}

impl From<sqlx::Error> for ApiError {
    fn from(error: sqlx::Error) -> Self {
        match error {
            sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed | sqlx::Error::Io(_) => {
                Self::Unavailable(format!("database unavailable: {error}"))
            }
            other => Self::Internal(format!("database error: {other}")),
        }
    }
}

impl From<HashError> for ApiError {
    fn from(error: HashError) -> Self {
        match error {
            HashError::Busy => Self::Unavailable(error.to_string()),
            HashError::Failed(context) => Self::Internal(context),
        }
    }
}

/// A limit's refusal of a password attempt.
impl From<Refused> for ApiError {
    fn from(refused: Refused) -> Self {
        match refused {
            Refused::Wait(seconds) => Self::too_many_sign_in_attempts(seconds),
            Refused::InProgress => {
                let mut error = Self::too_many_sign_in_attempts(1);
                if let Self::Client { body, .. } = &mut error {
                    body.message = "Another sign-in attempt for this account is being checked. \
                                    Try again in a moment."
                        .to_owned();
                }
                error
            }
            Refused::Locked => code_step_locked(),
            Refused::NoDevice => not_set_up(),
            Refused::Database(e) => e.into(),
        }
    }
}

impl From<PasswordError> for ApiError {
    fn from(error: PasswordError) -> Self {
        match error {
            PasswordError::BadCredentials => Self::bad_credentials(),
            PasswordError::Organizational {
                username,
                provider,
                provider_configured,
            } => {
                let message = if provider_configured {
                    format!(
                        "{username} is an organizational account: it has no password here. Use \"Sign in with {provider}\" instead."
                    )
                } else {
                    format!(
                        "{username} is an organizational account that signs in through {provider}, which is not set up on this Team Server. Ask your administrator."
                    )
                };
                Self::client(
                    StatusCode::UNAUTHORIZED,
                    ErrorCode::OrganizationalAccount,
                    message,
                )
            }
            PasswordError::Disabled => Self::account_disabled(),
            PasswordError::Refused(refused) => refused.into(),
            PasswordError::Hash(e) => e.into(),
            PasswordError::Database(e) => e.into(),
        }
    }
}

impl From<CodeError> for ApiError {
    fn from(error: CodeError) -> Self {
        let wrong =
            |message: &str| Self::client(StatusCode::UNAUTHORIZED, ErrorCode::CodeWrong, message);
        match error {
            CodeError::Invalid(message) => Self::invalid("code", message),
            CodeError::Wrong => wrong("The verification code is not correct."),
            CodeError::Replayed => wrong("This code was already used. Wait for the next code."),
            CodeError::RecoveryWrong => {
                wrong("The recovery code is not correct or was already used.")
            }
            CodeError::Locked => code_step_locked(),
            CodeError::Wait(seconds) => Self::too_many_attempts(seconds),
            CodeError::NoDevice => Self::client(
                StatusCode::UNAUTHORIZED,
                ErrorCode::VerificationExpired,
                "2-step verification was removed from this account meanwhile. Sign in again.",
            ),
            CodeError::Hash(e) => e.into(),
            CodeError::Database(e) => e.into(),
            CodeError::Internal(context) => Self::Internal(context),
        }
    }
}

impl From<ReauthError> for ApiError {
    fn from(error: ReauthError) -> Self {
        match error {
            ReauthError::NoProof => Self::client(
                StatusCode::BAD_REQUEST,
                ErrorCode::BadRequest,
                "Send either your password or a current verification code.",
            ),
            ReauthError::Organizational { provider } => Self::client(
                StatusCode::FORBIDDEN,
                ErrorCode::OrganizationalAccount,
                format!(
                    "Your account signs in through {provider}, which confirms who you are: sign out, then sign in again with {provider}."
                ),
            ),
            ReauthError::Password(PasswordError::BadCredentials) => Self::client(
                StatusCode::FORBIDDEN,
                ErrorCode::ProofWrong,
                "That is not your password.",
            )
            .about("password"),
            ReauthError::Password(other) => other.into(),
            ReauthError::Code(CodeError::NoDevice) => not_set_up(),
            ReauthError::Code(other) => other.into(),
            ReauthError::SessionEnded => Self::unauthorized(),
            ReauthError::Refused(refusal) => refusal.into(),
            ReauthError::Key(error) => error.into(),
            ReauthError::Database(e) => e.into(),
        }
    }
}

impl From<KeyError> for ApiError {
    fn from(error: KeyError) -> Self {
        match error {
            KeyError::Unavailable => Self::client(
                StatusCode::CONFLICT,
                ErrorCode::NotSetUp,
                "Security keys cannot be used on this server: its public URL has no host name.",
            ),
            KeyError::Organizational(idp) => Self::client(
                StatusCode::FORBIDDEN,
                ErrorCode::OrganizationalAccount,
                format!(
                    "Security keys cannot be added to an organizational account. \
                     You sign in through {idp}, which decides how you verify who you are."
                ),
            ),
            KeyError::NoKeys => Self::client(
                StatusCode::CONFLICT,
                ErrorCode::NotSetUp,
                "No security key is registered for this account.",
            ),
            KeyError::Name(message) => Self::invalid("name", message),
            KeyError::Refused(_) => Self::client(
                StatusCode::UNAUTHORIZED,
                ErrorCode::SecurityKeyRefused,
                "The security key was not accepted. Try again with one of your keys.",
            ),
            KeyError::AlreadyRegistered => Self::client(
                StatusCode::CONFLICT,
                ErrorCode::AlreadySetUp,
                "This security key is already registered.",
            ),
            KeyError::NotFound => Self::not_found(),
            KeyError::Wait(seconds) => Self::too_many_attempts(seconds),
            KeyError::Locked => code_step_locked(),
            KeyError::Refusal(refusal) => refusal.into(),
            // A code given as proof is answered as the app's code proofs are.
            KeyError::Proof(CodeError::Invalid(_)) => Self::client(
                StatusCode::FORBIDDEN,
                ErrorCode::ProofWrong,
                "That is not a current verification code from your authenticator app or an \
                 unused recovery code.",
            )
            .about("proof"),
            KeyError::Proof(CodeError::NoDevice) => Refused::NoDevice.into(),
            KeyError::Proof(other) => other.into(),
            KeyError::Database(e) => e.into(),
            KeyError::Internal(context) => Self::Internal(context),
        }
    }
}

impl From<ChangeError> for ApiError {
    fn from(error: ChangeError) -> Self {
        match error {
            ChangeError::Refused(refusal) => refusal.into(),
            ChangeError::Organizational { .. } => Self::client(
                StatusCode::FORBIDDEN,
                ErrorCode::OrganizationalAccount,
                "Your account signs in through an identity provider: change your password there.",
            ),
            ChangeError::NewPasswordRefused(message) => Self::invalid("new_password", message),
            ChangeError::Unchanged => Self::invalid(
                "new_password",
                "The new password is the current one. Choose a different password.",
            ),
            ChangeError::Current(PasswordError::BadCredentials) => Self::client(
                StatusCode::FORBIDDEN,
                ErrorCode::ProofWrong,
                "The current password is not correct.",
            )
            .about("current_password"),
            ChangeError::Current(other) => other.into(),
            ChangeError::Hash(e) => e.into(),
            ChangeError::Database(e) => e.into(),
        }
    }
}

/// The account-changes table's refusals.
impl From<Refusal> for ApiError {
    fn from(refusal: Refusal) -> Self {
        match refusal {
            Refusal::NotAllowed => Self::forbidden(),
            Refusal::ReauthenticationRequired => Self::reauthentication_required(),
            Refusal::SecondFactorRequired => Self::client(
                StatusCode::FORBIDDEN,
                ErrorCode::ProofRequired,
                "Confirm with a current verification code from your authenticator app or an \
                 unused recovery code.",
            )
            .about("proof"),
        }
    }
}

impl From<crate::accounts::apply::RevokeError> for ApiError {
    fn from(error: crate::accounts::apply::RevokeError) -> Self {
        match error {
            crate::accounts::apply::RevokeError::SessionEnded => Self::unauthorized(),
            crate::accounts::apply::RevokeError::Database(e) => e.into(),
        }
    }
}

impl From<EndError> for ApiError {
    fn from(error: EndError) -> Self {
        match error {
            EndError::Refused(refusal) => refusal.into(),
            EndError::NotFound => Self::not_found(),
            EndError::Database(e) => e.into(),
        }
    }
}

impl From<crate::accounts::email::EmailError> for ApiError {
    fn from(error: crate::accounts::email::EmailError) -> Self {
        use crate::accounts::email::EmailError;
        match error {
            EmailError::Refused(refusal) => refusal.into(),
            EmailError::Invalid(message) => Self::invalid("email", message),
            EmailError::Organizational => Self::client(
                StatusCode::CONFLICT,
                ErrorCode::OrganizationalAccount,
                "An organizational account uses the address its identity provider gives.",
            ),
            EmailError::MailOff => Self::client(
                StatusCode::CONFLICT,
                ErrorCode::BadRequest,
                "Security e-mails are off on this server (no --smtp-url).",
            ),
            EmailError::NoAddress => Self::client(
                StatusCode::CONFLICT,
                ErrorCode::BadRequest,
                "Your account has no e-mail address. Set one first.",
            ),
            EmailError::Limited => Self::client(
                StatusCode::TOO_MANY_REQUESTS,
                ErrorCode::TooManyAttempts,
                "Too many test messages this hour. Try again later.",
            ),
            EmailError::Database(e) => e.into(),
        }
    }
}

impl From<CreateError> for ApiError {
    fn from(error: CreateError) -> Self {
        match error {
            CreateError::Refused(refusal) => refusal.into(),
            CreateError::Invalid(message) => Self::invalid("account", message),
            CreateError::NameTaken(_) => Self::client(
                StatusCode::CONFLICT,
                ErrorCode::AlreadyExists,
                "That username is taken. Choose another one.",
            )
            .about("username"),
            e @ CreateError::IdentityTaken(_) => Self::client(
                StatusCode::CONFLICT,
                ErrorCode::AlreadyExists,
                format!("{e}."),
            )
            .about("account"),
            e @ CreateError::UnknownProvider(_) => Self::invalid("account", format!("{e}.")),
            CreateError::Hash(e) => e.into(),
            CreateError::Database(e) => e.into(),
        }
    }
}

impl From<AccountError> for ApiError {
    fn from(error: AccountError) -> Self {
        match error {
            AccountError::Refused(refusal) => refusal.into(),
            AccountError::Organizational => Self::client(
                StatusCode::CONFLICT,
                ErrorCode::OrganizationalAccount,
                "An organizational account has no password here: it signs in through its \
                 identity provider.",
            ),
            AccountError::NewPasswordRefused(message) => Self::invalid("new_password", message),
            AccountError::LastAdministrator => Self::client(
                StatusCode::CONFLICT,
                ErrorCode::BadRequest,
                "This is the last administrator. Make another account an administrator first.",
            ),
            AccountError::Unchanged => Self::client(
                StatusCode::CONFLICT,
                ErrorCode::BadRequest,
                "The account has that role already.",
            ),
            AccountError::NotFound => Self::not_found(),
            AccountError::Hash(e) => e.into(),
            AccountError::Database(e) => e.into(),
        }
    }
}

fn code_step_locked() -> ApiError {
    ApiError::client(
        StatusCode::LOCKED,
        ErrorCode::Locked,
        "Too many wrong codes: verification with the authenticator app is locked. \
         Use a recovery code, or ask an administrator to unlock your account.",
    )
}

fn not_set_up() -> ApiError {
    ApiError::client(
        StatusCode::CONFLICT,
        ErrorCode::NotSetUp,
        "No authentication device is associated with this account.",
    )
}

impl From<JsonRejection> for ApiError {
    fn from(rejection: JsonRejection) -> Self {
        let status = rejection.status();
        let code = match status {
            StatusCode::UNSUPPORTED_MEDIA_TYPE => ErrorCode::UnsupportedMediaType,
            StatusCode::PAYLOAD_TOO_LARGE => ErrorCode::PayloadTooLarge,
            _ => ErrorCode::BadRequest,
        };
        let message = match code {
            ErrorCode::UnsupportedMediaType => {
                "Send the request body as JSON with Content-Type: application/json.".to_owned()
            }
            ErrorCode::PayloadTooLarge => "The request body is too large.".to_owned(),
            _ => format!("The request body is not valid: {}", rejection.body_text()),
        };
        Self::client(status, code, message)
    }
}

impl From<axum::extract::rejection::QueryRejection> for ApiError {
    fn from(rejection: axum::extract::rejection::QueryRejection) -> Self {
        Self::client(
            StatusCode::BAD_REQUEST,
            ErrorCode::BadRequest,
            format!("The query is not valid: {}", rejection.body_text()),
        )
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        match self {
            Self::Client { status, body } => {
                let retry_after = body.retry_after_seconds;
                let mut response = (status, Json(body)).into_response();
                if let Some(seconds) = retry_after {
                    response
                        .headers_mut()
                        .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
                }
                response
            }
            Self::Unavailable(context) => {
                tracing::warn!(%context, "answering 503");
                let body = ErrorBody::new(
                    ErrorCode::Unavailable,
                    "The server is busy or its database is unavailable. Try again shortly.",
                );
                let mut response = (StatusCode::SERVICE_UNAVAILABLE, Json(body)).into_response();
                response
                    .headers_mut()
                    .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
                response
            }
            Self::Internal(context) => {
                tracing::error!(%context, "internal error");
                let body = ErrorBody::new(
                    ErrorCode::Internal,
                    "Something went wrong on the server. Try again; if it keeps happening, tell your administrator.",
                );
                (StatusCode::INTERNAL_SERVER_ERROR, Json(body)).into_response()
            }
        }
    }
}
