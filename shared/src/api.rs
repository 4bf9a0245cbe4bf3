//! Request and response bodies of the `/api` endpoints, one section per area.
//!
//! Requests carry what the person typed as plain strings; the server checks them with the
//! parsers in [`crate::input`] so it can say which field is wrong. Types that carry a
//! password, a code or a secret print `***` in `Debug`.

use crate::security_keys::AssertionCredential;
use serde::{Deserialize, Serialize};
use std::fmt;

/// A user's role.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Manages their own account.
    User,
    /// Also manages other users' 2-step verification and reads the audit log.
    Administrator,
}

/// How an account signs in. On the wire `{"kind":"team_server"}` or
/// `{"kind":"organizational","identity_provider":"…"}`, read and written through a plain
/// struct (`AccountKindWire`): serde's internally tagged enums buffer every field first,
/// which costs the browser app several kilobytes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "AccountKindWire", into = "AccountKindWire")]
pub enum AccountKind {
    /// Username and password kept by this server; may set up 2-step verification.
    TeamServer,
    /// Signs in through an external identity provider, which decides how; cannot set up
    /// 2-step verification here.
    Organizational {
        /// The name of the identity provider the account signs in through.
        identity_provider: String,
    },
}

#[derive(Clone, Copy, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
enum AccountKindTag {
    TeamServer,
    Organizational,
}

/// [`AccountKind`] as JSON.
#[derive(Serialize, Deserialize)]
struct AccountKindWire {
    kind: AccountKindTag,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    identity_provider: Option<String>,
}

impl From<AccountKind> for AccountKindWire {
    fn from(kind: AccountKind) -> Self {
        match kind {
            AccountKind::TeamServer => Self {
                kind: AccountKindTag::TeamServer,
                identity_provider: None,
            },
            AccountKind::Organizational { identity_provider } => Self {
                kind: AccountKindTag::Organizational,
                identity_provider: Some(identity_provider),
            },
        }
    }
}

impl TryFrom<AccountKindWire> for AccountKind {
    type Error = &'static str;

    fn try_from(wire: AccountKindWire) -> Result<Self, Self::Error> {
        match (wire.kind, wire.identity_provider) {
            (AccountKindTag::TeamServer, _) => Ok(Self::TeamServer),
            (AccountKindTag::Organizational, Some(identity_provider)) => {
                Ok(Self::Organizational { identity_provider })
            }
            (AccountKindTag::Organizational, None) => Err("missing field `identity_provider`"),
        }
    }
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
    /// An authenticator app is part of it (false: security keys alone).
    #[serde(default)]
    pub app: bool,
    /// Security keys registered.
    #[serde(default)]
    pub security_keys: u32,
}

/// A user as shown in the app.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct User {
    /// The account's database id, used in `/api/users/{id}/…` paths.
    pub id: i64,
    /// The username, in lower case.
    pub username: String,
    /// What the user may do.
    pub role: Role,
    /// How the user signs in.
    pub account: AccountKind,
    /// Present for the user themself and for administrators; `None` for other users.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub two_step: Option<TwoStepStatus>,
    /// The address for security e-mails: in the users list and on one user's page, for the
    /// user themself and administrators (left out when there is none or it is not shown).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// Disabled by an administrator: signs in by no path. (Left out when false.)
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub disabled: bool,
    /// The password is a one-time password (a new account, or a reset): the holder must
    /// choose a new one before anything else. (Left out when false.)
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub password_change_required: bool,
}

/// How many users there are, and how many of them use 2-step verification (for
/// administrators).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct TwoStepSummary {
    /// All users.
    pub users: u64,
    /// Users with a device associated.
    pub using_two_step: u64,
}

/// `GET /api/users?q=&page=&two_step=on|off|locked&role=user|administrator&kind=team_server|organizational&disabled=true|false`:
/// one page of the users whose name begins with `q` (any case) and who match every filter
/// given, by name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserList {
    /// The users on this page.
    pub users: Vec<User>,
    /// Users matching the query, on every page: all of them exactly when nothing is filtered;
    /// with a filter or a search, counted up to [`USERS_COUNTED_AT_MOST`] (then `more`).
    #[serde(default)]
    pub total: u64,
    /// More than `total` users match (a filtered count stops at [`USERS_COUNTED_AT_MOST`]).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub more: bool,
    /// 1-based; 0 for a page asked for by `after`.
    #[serde(default)]
    pub page: u32,
    /// When another page follows: the last name on this one, for `after=` (the next page's
    /// query; keyset paging, as fast on the last page as on the first).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next: Option<String>,
    /// Users per page ([`USERS_PER_PAGE`]).
    #[serde(default)]
    pub per_page: u32,
    /// For administrators: everyone, whatever the query.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub two_step_summary: Option<TwoStepSummary>,
}

/// `PUT /api/users/{id}/role`: make an account an administrator, or a user again.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SetRoleRequest {
    /// The role the account gets.
    pub role: Role,
}

/// `POST /api/users`: an administrator adds an account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateUserRequest {
    /// Checked with [`crate::input::Username::parse`].
    pub username: String,
    /// What the account may do.
    pub role: Role,
    /// How it signs in.
    pub account: NewAccount,
    /// The address for security e-mails (Team Server accounts; an organizational account
    /// uses its provider's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
}

/// How a new account signs in: on the wire `{"kind":"team_server"}` (the server makes a
/// one-time password) or `{"kind":"organizational","identity_provider":…,"email":…,"subject":…}`
/// (the e-mail or the subject, or both).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum NewAccount {
    /// With a password here (a one-time password the holder changes at the first sign-in).
    TeamServer,
    /// Through an identity provider.
    Organizational {
        /// The provider's configured name.
        identity_provider: String,
        /// A verified e-mail the person signs in with there.
        #[serde(default)]
        email: Option<String>,
        /// The provider's subject (`sub`) of the person.
        #[serde(default)]
        subject: Option<String>,
    },
}

/// The answer to `POST /api/users` and `POST /api/users/{id}/password`: the account, and the
/// one-time password to hand to its holder (shown once; none for an organizational account).
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountCreated {
    /// The account as it is now.
    pub user: User,
    /// Shown once; the holder must change it at the first sign-in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub one_time_password: Option<String>,
}

impl fmt::Debug for AccountCreated {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AccountCreated")
            .field("user", &self.user)
            .field(
                "one_time_password",
                &self.one_time_password.as_ref().map(|_| "***"),
            )
            .finish()
    }
}

/// Users per page of `GET /api/users`.
pub const USERS_PER_PAGE: u32 = 50;

/// Most users a filtered Users list counts ([`UserList::more`] past it).
pub const USERS_COUNTED_AT_MOST: u64 = 1000;

/// `POST /api/session`: the password step.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignInRequest {
    /// The username as typed (checked with [`crate::input::Username::parse`]).
    pub username: String,
    /// The password as typed (checked with [`crate::input::Password::parse`]).
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

/// The answer to the password step (and to the verification step): on the wire
/// `{"status":"signed_in","user":…}` or `{"status":"verification_required","expires_in_seconds":…}`,
/// through a plain struct like [`AccountKind`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "SignInResponseWire", into = "SignInResponseWire")]
pub enum SignInResponse {
    /// Signed in; the session cookie is set.
    SignedIn {
        /// The signed-in user.
        user: User,
    },
    /// The password was right and the account has 2-step verification: send a code to
    /// `POST /api/session/verify` (or a key's answer to `POST /api/session/security-key`)
    /// within `expires_in_seconds`. Which second factors the account has is told only here,
    /// after the right password.
    VerificationRequired {
        /// Seconds left to send the code before the password step must be repeated.
        expires_in_seconds: u64,
        /// The account has the authenticator app (a code from it is an answer).
        app: bool,
        /// The account has security keys (`POST /api/session/security-key/start`).
        security_keys: bool,
    },
}

#[derive(Clone, Copy, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
enum SignInStatus {
    SignedIn,
    VerificationRequired,
}

/// [`SignInResponse`] as JSON.
#[derive(Serialize, Deserialize)]
struct SignInResponseWire {
    status: SignInStatus,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    user: Option<User>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    expires_in_seconds: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    app: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    security_keys: Option<bool>,
}

impl From<SignInResponse> for SignInResponseWire {
    fn from(response: SignInResponse) -> Self {
        match response {
            SignInResponse::SignedIn { user } => Self {
                status: SignInStatus::SignedIn,
                user: Some(user),
                expires_in_seconds: None,
                app: None,
                security_keys: None,
            },
            SignInResponse::VerificationRequired {
                expires_in_seconds,
                app,
                security_keys,
            } => Self {
                status: SignInStatus::VerificationRequired,
                user: None,
                expires_in_seconds: Some(expires_in_seconds),
                app: Some(app),
                security_keys: Some(security_keys),
            },
        }
    }
}

impl TryFrom<SignInResponseWire> for SignInResponse {
    type Error = &'static str;

    fn try_from(wire: SignInResponseWire) -> Result<Self, Self::Error> {
        match wire {
            SignInResponseWire {
                status: SignInStatus::SignedIn,
                user: Some(user),
                ..
            } => Ok(Self::SignedIn { user }),
            SignInResponseWire {
                status: SignInStatus::VerificationRequired,
                expires_in_seconds: Some(expires_in_seconds),
                app,
                security_keys,
                ..
            } => Ok(Self::VerificationRequired {
                expires_in_seconds,
                // Before these fields, an account waiting for its code had the app.
                app: app.unwrap_or(true),
                security_keys: security_keys.unwrap_or(false),
            }),
            SignInResponseWire {
                status: SignInStatus::SignedIn,
                ..
            } => Err("missing field `user`"),
            SignInResponseWire { .. } => Err("missing field `expires_in_seconds`"),
        }
    }
}

/// `POST /api/session/verify`: a 6-digit code from the authenticator app, or a recovery code.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VerifyRequest {
    /// The code as typed: 6 digits, or a recovery code `xxxxx-xxxxx`.
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

/// `POST /api/me/two-step/confirm` (and `…/replacement/confirm`): two consecutive codes
/// from the app.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConfirmRequest {
    /// A code the app showed.
    pub code1: String,
    /// The code the app showed next, one 30-second step after `code1`.
    pub code2: String,
    /// With 2-step verification on (moving to a new phone, or adding the app to security
    /// keys): proof of the current second factor, a current code of the current phone or an
    /// unused recovery code (never a code of the new phone).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub proof: Option<String>,
    /// The same proof as an answer of one of the account's security keys (after
    /// `POST /api/me/security-keys/proof`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub security_key: Option<AssertionCredential>,
}

impl fmt::Debug for ConfirmRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ConfirmRequest { code1: ***, code2: ***, proof: ***, security_key: *** }")
    }
}

/// The answer to a successful confirm (and to regenerating recovery codes): the recovery
/// codes, shown this once.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecoveryCodes {
    /// The ten codes, each written `xxxxx-xxxxx`.
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
    /// A current verification code or an unused recovery code, as typed (the password is no
    /// proof of the second factor); `None` when an administrator removes another user's
    /// device.
    #[serde(default)]
    pub proof: Option<String>,
    /// The same proof as an answer of one of the account's security keys.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub security_key: Option<AssertionCredential>,
}

impl fmt::Debug for RemoveDeviceRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("RemoveDeviceRequest { proof: ***, security_key: *** }")
    }
}

/// One identity provider organizational accounts sign in through, as the Sign in page shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IdentityProviderInfo {
    /// The provider's name: the button reads "Sign in with {name}".
    pub name: String,
    /// Where the button goes (same origin): it starts the sign-in at the provider.
    pub start_url: String,
}

/// `GET /api/oidc/providers`: the configured identity providers (public).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IdentityProviders {
    /// The providers as configured (empty when none is).
    pub providers: Vec<IdentityProviderInfo>,
}

/// The query parameter that brings a failed identity-provider sign-in back to the Sign in
/// page: the server redirects to `/?sign_in_error=<code>`.
pub const SIGN_IN_ERROR_PARAM: &str = "sign_in_error";

/// Why a sign-in through an identity provider did not sign anybody in. Travels as the
/// [`SIGN_IN_ERROR_PARAM`] query parameter; the Sign in page shows [`Self::message`].
///
/// ```
/// use twostep_shared::api::ProviderSignInError;
///
/// let error = ProviderSignInError::parse("cancelled").unwrap();
/// assert_eq!(error, ProviderSignInError::Cancelled);
/// assert_eq!(error.as_str(), "cancelled");
/// assert!(ProviderSignInError::parse("<script>").is_none());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ProviderSignInError {
    /// No identity provider of that name is configured.
    UnknownProvider,
    /// The provider could not be reached (or did not answer properly).
    ProviderUnreachable,
    /// The person cancelled at the provider (`error=access_denied`).
    Cancelled,
    /// The provider answered with another error.
    ProviderError,
    /// The answer does not belong to a sign-in started in this browser: missing, forged or
    /// already used `state`.
    StateMismatch,
    /// The sign-in was started more than 10 minutes ago.
    Expired,
    /// The provider's tokens did not pass the checks (issuer, audience, signature, expiry,
    /// nonce), or the code could not be exchanged.
    TokenInvalid,
    /// The provider vouched for someone no Team Server account is linked to.
    UnknownAccount,
    /// The account is disabled by an administrator.
    AccountDisabled,
    /// The Team Server itself failed (e.g. its database is unavailable).
    Unavailable,
    /// Too many sign-ins through providers from this client address lately.
    TooMany,
    /// The account is linked to an identity at an issuer the provider no longer has: an
    /// administrator must link it again or confirm the new issuer.
    LinkStale,
}

impl ProviderSignInError {
    /// Every error, for tests and documentation.
    pub const ALL: [ProviderSignInError; 12] = [
        Self::UnknownProvider,
        Self::ProviderUnreachable,
        Self::Cancelled,
        Self::ProviderError,
        Self::StateMismatch,
        Self::Expired,
        Self::TokenInvalid,
        Self::UnknownAccount,
        Self::AccountDisabled,
        Self::Unavailable,
        Self::TooMany,
        Self::LinkStale,
    ];

    /// The code in the query parameter (`provider_unreachable`, …).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::UnknownProvider => "unknown_provider",
            Self::ProviderUnreachable => "provider_unreachable",
            Self::Cancelled => "cancelled",
            Self::ProviderError => "provider_error",
            Self::StateMismatch => "state_mismatch",
            Self::Expired => "expired",
            Self::TokenInvalid => "token_invalid",
            Self::UnknownAccount => "unknown_account",
            Self::AccountDisabled => "account_disabled",
            Self::Unavailable => "unavailable",
            Self::TooMany => "too_many",
            Self::LinkStale => "link_stale",
        }
    }

    /// The code back to the error; anything else is `None`.
    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|e| e.as_str() == text)
    }

    /// A sentence a person can act on. It names no provider and no account: the query
    /// parameter can be typed by anyone, so the page shows only these fixed texts.
    pub fn message(self) -> &'static str {
        match self {
            Self::UnknownProvider => {
                "That identity provider is not set up on this Team Server. Choose one of the buttons below, or ask your administrator."
            }
            Self::ProviderUnreachable => {
                "Your organization's identity provider could not be reached, so you were not signed in. Try again in a moment; if it keeps happening, tell your administrator."
            }
            Self::Cancelled => {
                "Sign-in was cancelled at your organization's identity provider. You are not signed in; choose the button to try again."
            }
            Self::ProviderError => {
                "Your organization's identity provider did not sign you in. Try again; if it keeps happening, tell your administrator."
            }
            Self::StateMismatch => {
                "This sign-in answer does not belong to a sign-in started in this browser, or it was already used. Start again with the button below."
            }
            Self::Expired => {
                "The sign-in took longer than 10 minutes and has expired. Start again with the button below."
            }
            Self::TokenInvalid => {
                "The identity provider's answer could not be verified, so you were not signed in. Try again; if it keeps happening, tell your administrator."
            }
            Self::UnknownAccount => {
                "You signed in at your organization's identity provider, but no Team Server account is linked to that identity. Ask your administrator to create or link your organizational account."
            }
            Self::AccountDisabled => {
                "Your Team Server account is disabled, so you were not signed in. Ask your administrator to enable it."
            }
            Self::Unavailable => {
                "The Team Server could not finish signing you in. Try again shortly."
            }
            Self::TooMany => {
                "Too many sign-ins were started from your network. Wait a few minutes, then try again."
            }
            Self::LinkStale => {
                "Your organization's identity provider has changed, so your account must be linked to it again. Ask your administrator."
            }
        }
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
    /// A sign-in through an identity provider failed (the detail says why).
    SignInFailedProvider,
    /// An organizational account was linked to an identity at its provider (CLI).
    IdentityLinked,
    /// New recovery codes replaced the old ones.
    RecoveryCodesRegenerated,
    /// The password was changed (by the holder, or with the server CLI).
    PasswordChanged,
    /// Sessions were ended from "Where you're signed in" (by the holder or an administrator).
    SessionsEnded,
    /// 2-step verification moved to a new phone (the old one stopped working).
    DeviceReplaced,
    /// The Administrator role was taken away (server CLI).
    AdministratorRoleRemoved,
    /// The address for security e-mails was set, changed or removed.
    EmailAddressChanged,
    /// A security e-mail could not be delivered for a day: given up.
    EmailFailed,
    /// An administrator queued a test message to their own address.
    EmailTestQueued,
    /// A security key was added.
    SecurityKeyAdded,
    /// A security key was removed.
    SecurityKeyRemoved,
    /// A security key signed in or proved who you are.
    SecurityKeyUsed,
    /// A security key's answer was refused (wrong origin, bad signature, counter going back).
    SecurityKeyRefused,
    /// An administrator disabled the account (its sessions ended).
    AccountDisabled,
    /// An administrator enabled the account again.
    AccountEnabled,
    /// An administrator deleted the account (its events stay in the log).
    AccountDeleted,
    /// An administrator (or the CLI) created the account.
    AccountCreated,
}

impl AuditEventKind {
    /// Every kind, in the order the filter lists them.
    pub const ALL: [AuditEventKind; 28] = [
        Self::SignedIn,
        Self::SignInFailedPassword,
        Self::SignInFailedCode,
        Self::SignInFailedProvider,
        Self::ReplayedCodeRefused,
        Self::CodeStepLocked,
        Self::RecoveryCodeUsed,
        Self::DeviceAssociated,
        Self::DeviceRemoved,
        Self::CodeStepUnlocked,
        Self::MadeAdministrator,
        Self::IdentityLinked,
        Self::RecoveryCodesRegenerated,
        Self::PasswordChanged,
        Self::SessionsEnded,
        Self::DeviceReplaced,
        Self::AdministratorRoleRemoved,
        Self::EmailAddressChanged,
        Self::EmailFailed,
        Self::EmailTestQueued,
        Self::SecurityKeyAdded,
        Self::SecurityKeyRemoved,
        Self::SecurityKeyUsed,
        Self::SecurityKeyRefused,
        Self::AccountDisabled,
        Self::AccountEnabled,
        Self::AccountDeleted,
        Self::AccountCreated,
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
            Self::SignInFailedProvider => "sign_in_failed_provider",
            Self::IdentityLinked => "identity_linked",
            Self::RecoveryCodesRegenerated => "recovery_codes_regenerated",
            Self::PasswordChanged => "password_changed",
            Self::SessionsEnded => "sessions_ended",
            Self::DeviceReplaced => "device_replaced",
            Self::AdministratorRoleRemoved => "administrator_role_removed",
            Self::EmailAddressChanged => "email_address_changed",
            Self::EmailFailed => "email_failed",
            Self::EmailTestQueued => "email_test_queued",
            Self::SecurityKeyAdded => "security_key_added",
            Self::SecurityKeyRemoved => "security_key_removed",
            Self::SecurityKeyUsed => "security_key_used",
            Self::SecurityKeyRefused => "security_key_refused",
            Self::AccountDisabled => "account_disabled",
            Self::AccountEnabled => "account_enabled",
            Self::AccountDeleted => "account_deleted",
            Self::AccountCreated => "account_created",
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
            Self::SignInFailedProvider => "Sign-in failed: identity provider",
            Self::IdentityLinked => "Identity provider link set",
            Self::RecoveryCodesRegenerated => "New recovery codes",
            Self::PasswordChanged => "Password changed",
            Self::SessionsEnded => "Sessions ended",
            Self::DeviceReplaced => "Moved to a new phone",
            Self::AdministratorRoleRemoved => "Administrator role removed",
            Self::EmailAddressChanged => "E-mail address changed",
            Self::EmailFailed => "Security e-mail not delivered",
            Self::EmailTestQueued => "Test e-mail sent",
            Self::SecurityKeyAdded => "Security key added",
            Self::SecurityKeyRemoved => "Security key removed",
            Self::SecurityKeyUsed => "Security key used",
            Self::SecurityKeyRefused => "Security key refused",
            Self::AccountDisabled => "Account disabled",
            Self::AccountEnabled => "Account enabled",
            Self::AccountDeleted => "Account deleted",
            Self::AccountCreated => "Account created",
        }
    }
}

/// One audit event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditEntry {
    /// The event's id: later events have larger ids.
    pub id: i64,
    /// Unix time in seconds.
    pub at: u64,
    /// What happened.
    pub event: AuditEventKind,
    /// Who acted: a username, `cli`, or none (not signed in).
    pub actor: Option<String>,
    /// Whose account it concerns.
    pub subject: Option<String>,
    /// The id of the account it concerns, when there is one.
    pub subject_id: Option<i64>,
    /// The address the request came from, when it came over HTTP.
    pub client_address: Option<String>,
    /// More about the event (e.g. why a sign-in through an identity provider failed).
    pub detail: Option<String>,
}

/// `GET /api/audit?page=N&user=ID`: newest first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditPage {
    /// The events on this page, newest first.
    pub entries: Vec<AuditEntry>,
    /// 1-based.
    pub page: u32,
    /// Events per page.
    pub per_page: u32,
    /// Events matching the filter, on every page.
    pub total: u64,
}

/// `POST /api/me/two-step/recovery-codes`: a current code from the authenticator app, or an
/// answer of one of the account's security keys, to get 10 new recovery codes (the old ones
/// stop working).
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewRecoveryCodesRequest {
    /// A current 6-digit code, as typed (empty when a key answers).
    #[serde(default)]
    pub code: String,
    /// An answer of one of the account's security keys (after
    /// `POST /api/me/security-keys/proof`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub security_key: Option<AssertionCredential>,
}

impl fmt::Debug for NewRecoveryCodesRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("NewRecoveryCodesRequest { code: ***, security_key: *** }")
    }
}

/// `GET /api/health`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Health {
    /// `ok`.
    pub status: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sign_in_response_is_tagged() {
        let json = serde_json::to_value(SignInResponse::VerificationRequired {
            expires_in_seconds: 300,
            app: false,
            security_keys: true,
        })
        .unwrap();
        assert_eq!(json["status"], "verification_required");
        assert_eq!(json["expires_in_seconds"], 300);
        assert_eq!(json["app"], false);
        assert_eq!(json["security_keys"], true);
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
            proof: Some("111111".into()),
            security_key: None,
        };
        assert!(!format!("{confirm:?}").contains("123456"));
    }

    #[test]
    fn provider_sign_in_errors_round_trip() {
        for error in ProviderSignInError::ALL {
            assert_eq!(ProviderSignInError::parse(error.as_str()), Some(error));
            assert!(error.message().ends_with('.'));
        }
        assert_eq!(ProviderSignInError::parse(""), None);
        for kind in AuditEventKind::ALL {
            assert_eq!(AuditEventKind::parse(kind.as_str()), Some(kind));
        }
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
        let team = serde_json::to_string(&AccountKind::TeamServer).unwrap();
        assert_eq!(team, r#"{"kind":"team_server"}"#);
        assert_eq!(
            serde_json::from_str::<AccountKind>(&team).unwrap(),
            AccountKind::TeamServer
        );
        assert!(serde_json::from_str::<AccountKind>(r#"{"kind":"organizational"}"#).is_err());
        assert!(serde_json::from_str::<AccountKind>(r#"{"kind":"other"}"#).is_err());
    }

    #[test]
    fn sign_in_response_wire_form() {
        let user = User {
            id: 7,
            username: "alice".into(),
            role: Role::User,
            account: AccountKind::TeamServer,
            two_step: None,
            email: None,
            disabled: false,
            password_change_required: false,
        };
        let signed_in = SignInResponse::SignedIn { user };
        let json = serde_json::to_string(&signed_in).unwrap();
        assert_eq!(
            json,
            r#"{"status":"signed_in","user":{"id":7,"username":"alice","role":"user","account":{"kind":"team_server"}}}"#
        );
        assert_eq!(
            serde_json::from_str::<SignInResponse>(&json).unwrap(),
            signed_in
        );
        let waiting: SignInResponse =
            serde_json::from_str(r#"{"status":"verification_required","expires_in_seconds":300}"#)
                .unwrap();
        assert_eq!(
            waiting,
            SignInResponse::VerificationRequired {
                expires_in_seconds: 300,
                app: true,
                security_keys: false,
            }
        );
        assert!(serde_json::from_str::<SignInResponse>(r#"{"status":"signed_in"}"#).is_err());
    }
}
