//! The server's JSON answers read straight from the objects the browser's `JSON.parse` made,
//! and request bodies written the same way, without serde: serde's deserializers and their
//! error messages (with float formatting) were a large part of the app's download. Each type
//! says which fields it reads; a missing or mistyped required field makes the answer `None`.

use js_sys::{Array, JSON, Object, Reflect};
use twostep_shared::account::{ActivityPage, SessionInfo, SessionList, SessionsEnded};
use twostep_shared::api::{
    AccountCreated, AccountKind, AuditEntry, AuditEventKind, AuditPage, IdentityProviderInfo,
    IdentityProviders, RecoveryCodes, Role, SetupResponse, SignInResponse, TwoStepStatus,
    TwoStepSummary, User, UserList,
};
use twostep_shared::security_keys::{KeyAdded, SecurityKey, SecurityKeys};
use twostep_shared::{ErrorBody, ErrorCode};
use wasm_bindgen::JsValue;

/// A type read from a parsed JSON value.
pub trait FromJs: Sized {
    fn from_js(value: &JsValue) -> Option<Self>;
}

/// A field of an object; `None` when it is missing or `null`.
fn field(object: &JsValue, key: &str) -> Option<JsValue> {
    Reflect::get(object, &JsValue::from_str(key))
        .ok()
        .filter(|v| !v.is_undefined() && !v.is_null())
}

fn text(object: &JsValue, key: &str) -> Option<String> {
    field(object, key)?.as_string()
}

fn flag(object: &JsValue, key: &str) -> Option<bool> {
    field(object, key)?.as_bool()
}

/// A whole number that fits `T` (JSON numbers are doubles).
fn whole<T: TryFrom<i64>>(object: &JsValue, key: &str) -> Option<T> {
    let number = field(object, key)?.as_f64()?;
    if number.fract() != 0.0 || number.abs() > 9_007_199_254_740_991.0 {
        return None;
    }
    T::try_from(number as i64).ok()
}

/// An array field, every item read with `T::from_js`.
fn list<T: FromJs>(object: &JsValue, key: &str) -> Option<Vec<T>> {
    let value = field(object, key)?;
    if !Array::is_array(&value) {
        return None;
    }
    Array::from(&value)
        .iter()
        .map(|item| T::from_js(&item))
        .collect()
}

impl FromJs for String {
    fn from_js(value: &JsValue) -> Option<Self> {
        value.as_string()
    }
}

/// The answer as the browser parsed it (the options of a security-key ceremony, handed on to
/// `navigator.credentials` as they are).
impl FromJs for JsValue {
    fn from_js(value: &JsValue) -> Option<Self> {
        Some(value.clone())
    }
}

impl FromJs for SecurityKey {
    fn from_js(v: &JsValue) -> Option<Self> {
        Some(Self {
            id: whole(v, "id")?,
            name: text(v, "name")?,
            added_at: whole(v, "added_at")?,
            last_used_at: whole(v, "last_used_at"),
            passkey: flag(v, "passkey")?,
        })
    }
}

impl FromJs for SecurityKeys {
    fn from_js(v: &JsValue) -> Option<Self> {
        Some(Self {
            keys: list(v, "keys")?,
        })
    }
}

impl FromJs for KeyAdded {
    fn from_js(v: &JsValue) -> Option<Self> {
        Some(Self {
            key: SecurityKey::from_js(&field(v, "key")?)?,
            recovery_codes: list(v, "recovery_codes").unwrap_or_default(),
        })
    }
}

impl FromJs for () {
    fn from_js(_: &JsValue) -> Option<Self> {
        Some(())
    }
}

impl FromJs for ErrorBody {
    fn from_js(v: &JsValue) -> Option<Self> {
        Some(Self {
            code: ErrorCode::parse(&text(v, "code")?).unwrap_or(ErrorCode::Internal),
            message: text(v, "message")?,
            field: text(v, "field"),
            retry_after_seconds: whole(v, "retry_after_seconds"),
        })
    }
}

impl FromJs for TwoStepStatus {
    fn from_js(v: &JsValue) -> Option<Self> {
        Some(Self {
            enabled: flag(v, "enabled")?,
            recovery_codes_left: whole(v, "recovery_codes_left")?,
            locked: flag(v, "locked")?,
            app: flag(v, "app").unwrap_or(false),
            security_keys: whole(v, "security_keys").unwrap_or(0),
        })
    }
}

impl FromJs for User {
    fn from_js(v: &JsValue) -> Option<Self> {
        let account = field(v, "account")?;
        let account = match text(&account, "kind")?.as_str() {
            "team_server" => AccountKind::TeamServer,
            "organizational" => AccountKind::Organizational {
                identity_provider: text(&account, "identity_provider")?,
            },
            _ => return None,
        };
        let role = match text(v, "role")?.as_str() {
            "administrator" => Role::Administrator,
            "user" => Role::User,
            _ => return None,
        };
        let two_step = match field(v, "two_step") {
            Some(status) => Some(TwoStepStatus::from_js(&status)?),
            None => None,
        };
        Some(Self {
            id: whole(v, "id")?,
            username: text(v, "username")?,
            role,
            account,
            two_step,
            email: text(v, "email"),
            disabled: flag(v, "disabled").unwrap_or(false),
            password_change_required: flag(v, "password_change_required").unwrap_or(false),
        })
    }
}

impl FromJs for UserList {
    fn from_js(v: &JsValue) -> Option<Self> {
        let two_step_summary = match field(v, "two_step_summary") {
            Some(s) => Some(TwoStepSummary {
                users: whole(&s, "users")?,
                using_two_step: whole(&s, "using_two_step")?,
            }),
            None => None,
        };
        Some(Self {
            users: list(v, "users")?,
            total: whole(v, "total").unwrap_or(0),
            more: flag(v, "more").unwrap_or(false),
            page: whole(v, "page").unwrap_or(1),
            next: text(v, "next"),
            per_page: whole(v, "per_page").unwrap_or(0),
            two_step_summary,
        })
    }
}

impl FromJs for SignInResponse {
    fn from_js(v: &JsValue) -> Option<Self> {
        match text(v, "status")?.as_str() {
            "signed_in" => Some(Self::SignedIn {
                user: User::from_js(&field(v, "user")?)?,
            }),
            "verification_required" => Some(Self::VerificationRequired {
                expires_in_seconds: whole(v, "expires_in_seconds")?,
                app: flag(v, "app")?,
                security_keys: flag(v, "security_keys")?,
            }),
            _ => None,
        }
    }
}

impl FromJs for SetupResponse {
    fn from_js(v: &JsValue) -> Option<Self> {
        Some(Self {
            secret: text(v, "secret")?,
            otpauth_uri: text(v, "otpauth_uri")?,
            expires_in_seconds: whole(v, "expires_in_seconds")?,
        })
    }
}

impl FromJs for RecoveryCodes {
    fn from_js(v: &JsValue) -> Option<Self> {
        Some(Self {
            recovery_codes: list(v, "recovery_codes")?,
        })
    }
}

impl FromJs for IdentityProviderInfo {
    fn from_js(v: &JsValue) -> Option<Self> {
        Some(Self {
            name: text(v, "name")?,
            start_url: text(v, "start_url")?,
        })
    }
}

impl FromJs for IdentityProviders {
    fn from_js(v: &JsValue) -> Option<Self> {
        Some(Self {
            providers: list(v, "providers")?,
        })
    }
}

impl FromJs for AuditEntry {
    fn from_js(v: &JsValue) -> Option<Self> {
        Some(Self {
            id: whole(v, "id")?,
            at: whole(v, "at")?,
            event: AuditEventKind::parse(&text(v, "event")?)?,
            actor: text(v, "actor"),
            subject: text(v, "subject"),
            subject_id: whole(v, "subject_id"),
            client_address: text(v, "client_address"),
            detail: text(v, "detail"),
        })
    }
}

impl FromJs for AuditPage {
    fn from_js(v: &JsValue) -> Option<Self> {
        Some(Self {
            entries: list(v, "entries")?,
            page: whole(v, "page")?,
            per_page: whole(v, "per_page")?,
            total: whole(v, "total")?,
        })
    }
}

/// An audit page (the same fields) with the warnings count.
impl FromJs for ActivityPage {
    fn from_js(v: &JsValue) -> Option<Self> {
        let page = AuditPage::from_js(v)?;
        Some(Self {
            entries: page.entries,
            page: page.page,
            per_page: page.per_page,
            total: page.total,
            warnings_since_previous_sign_in: whole(v, "warnings_since_previous_sign_in")?,
        })
    }
}

impl FromJs for SessionInfo {
    fn from_js(v: &JsValue) -> Option<Self> {
        Some(Self {
            id: text(v, "id")?,
            device: text(v, "device")?,
            client_addr: text(v, "client_addr"),
            started_at: whole(v, "started_at")?,
            last_seen_at: whole(v, "last_seen_at")?,
            current: flag(v, "current")?,
        })
    }
}

impl FromJs for SessionList {
    fn from_js(v: &JsValue) -> Option<Self> {
        Some(Self {
            sessions: list(v, "sessions")?,
        })
    }
}

impl FromJs for AccountCreated {
    fn from_js(v: &JsValue) -> Option<Self> {
        Some(Self {
            user: User::from_js(&field(v, "user")?)?,
            one_time_password: text(v, "one_time_password"),
        })
    }
}

impl FromJs for SessionsEnded {
    fn from_js(v: &JsValue) -> Option<Self> {
        Some(Self {
            sessions_ended: whole(v, "sessions_ended")?,
        })
    }
}

/// A JSON string (quoted and escaped), for building a body by hand.
pub fn string(text: &str) -> String {
    JSON::stringify(&JsValue::from_str(text))
        .ok()
        .and_then(|s| s.as_string())
        .unwrap_or_default()
}

/// A JSON object of string (or absent) fields, as text for a request body.
pub fn object(fields: &[(&str, Option<&str>)]) -> Option<String> {
    let object = Object::new();
    for (key, value) in fields {
        if let Some(value) = value {
            Reflect::set(&object, &JsValue::from_str(key), &JsValue::from_str(value)).ok()?;
        }
    }
    JSON::stringify(&object).ok()?.as_string()
}
