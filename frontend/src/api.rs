//! Calls to the server's `/api`: one request function that sends same-origin cookies and
//! maps every failure to a typed [`ApiFailure`] carrying the server's `ErrorBody`. When the
//! server asks to confirm it's you (`reauthentication_required`), that function opens the
//! "Confirm it's you" dialog ([`crate::reauth`]) and, once confirmed, sends the request again;
//! so every action that needs it is repeated without its screen knowing.

use crate::wire::{self, FromJs};
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, ready};
use twostep_shared::account::{ActivityPage, SessionList, SessionsEnded};
use twostep_shared::api::{
    AccountCreated, AuditEventKind, AuditPage, ConfirmRequest, IdentityProviders, RecoveryCodes,
    SetupResponse, SignInRequest, SignInResponse, User, UserList, VerifyRequest,
};
use twostep_shared::security_keys::{KeyAdded, SecurityKeys};
use twostep_shared::{ErrorBody, ErrorCode};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{RequestCredentials, RequestInit, Response};

/// A failed API call: the HTTP status (0 when the server could not be reached) and the
/// server's error body.
#[derive(Debug, Clone, PartialEq)]
pub struct ApiFailure {
    pub status: u16,
    pub body: ErrorBody,
}

impl ApiFailure {
    pub fn unreachable() -> Self {
        Self {
            status: 0,
            body: ErrorBody::new(
                ErrorCode::Unavailable,
                "Cannot reach the Team Server. Check your connection and try again.",
            ),
        }
    }

    pub fn code(&self) -> ErrorCode {
        self.body.code
    }

    pub fn message(&self) -> &str {
        &self.body.message
    }
}

/// A request on its way: the server's JSON answer as the browser parsed it (`undefined` for an
/// answer that is not read).
pub type Pending = Pin<Box<dyn Future<Output = Result<JsValue, ApiFailure>>>>;

/// Reads a call's answer (as the browser parsed it) as `T`; `None` when it does not fit.
pub type Read<T> = Box<dyn FnOnce(&JsValue) -> Option<T>>;

/// A call to the server, and how its answer is read as `T`. The sending and waiting are one
/// compiled future for every call; only the reading (a small function) is per answer type,
/// so the screens that wait for calls are not compiled again for each (smaller download).
pub struct Call<T> {
    pending: Pending,
    read: Read<T>,
}

impl<T: 'static> Call<T> {
    /// The call and the reading of its answer, to wait for the one and then do the other.
    pub fn into_parts(self) -> (Pending, Read<T>) {
        (self.pending, self.read)
    }

    /// The same call, with `f` applied to the answer once it is read.
    pub fn map<U>(self, f: impl FnOnce(T) -> U + 'static) -> Call<U> {
        let read = self.read;
        Call {
            pending: self.pending,
            read: Box::new(move |value| read(value).map(f)),
        }
    }
}

impl<T> Future for Call<T> {
    type Output = Result<T, ApiFailure>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let answer = ready!(self.pending.as_mut().poll(cx));
        // Read once: a `Call` is not polled again after it is ready.
        let read = std::mem::replace(&mut self.read, Box::new(|_| None));
        Poll::Ready(answer.and_then(|value| read(&value).ok_or_else(ApiFailure::unreachable)))
    }
}

/// The HTTP methods of the API.
const GET: &str = "GET";
const POST: &str = "POST";
const DELETE: &str = "DELETE";
const PUT: &str = "PUT";

/// Sends a request; asks to confirm it's you and sends it again when the server wants that.
async fn send(method: &str, path: &str, body: Option<String>) -> Result<Response, ApiFailure> {
    loop {
        let failure = match send_once(method, path, body.clone()).await {
            Ok(response) => return Ok(response),
            Err(failure) => failure,
        };
        if failure.code() == ErrorCode::Unauthorized {
            crate::session::ended();
        }
        if failure.code() != ErrorCode::ReauthenticationRequired || !crate::reauth::confirm().await
        {
            return Err(failure);
        }
    }
}

/// One `fetch` with the browser's own API (same-origin cookies; a JSON body when given).
async fn send_once(method: &str, path: &str, body: Option<String>) -> Result<Response, ApiFailure> {
    let init = RequestInit::new();
    init.set_method(method);
    init.set_credentials(RequestCredentials::SameOrigin);
    if let Some(json) = body {
        let headers = js_sys::Object::new();
        js_sys::Reflect::set(
            &headers,
            &JsValue::from_str("Content-Type"),
            &JsValue::from_str("application/json"),
        )
        .map_err(|_| ApiFailure::unreachable())?;
        init.set_headers(&headers);
        init.set_body(&JsValue::from_str(&json));
    }
    let window = web_sys::window().ok_or_else(ApiFailure::unreachable)?;
    let response: Response = JsFuture::from(window.fetch_with_str_and_init(path, &init))
        .await
        .ok()
        .and_then(|value| value.dyn_into().ok())
        .ok_or_else(ApiFailure::unreachable)?;
    if response.ok() {
        return Ok(response);
    }
    let status = response.status();
    let body = parsed(response)
        .await
        .and_then(|value| ErrorBody::from_js(&value))
        .unwrap_or_else(|| {
            ErrorBody::new(
                ErrorCode::Internal,
                format!("The server answered with an unexpected error ({status})."),
            )
        });
    Err(ApiFailure { status, body })
}

/// A call whose JSON answer is read as `T`.
fn json<T: FromJs + 'static>(method: &'static str, path: String, body: Option<String>) -> Call<T> {
    Call {
        pending: Box::pin(send_json(method, path, body)),
        read: Box::new(T::from_js),
    }
}

/// A call whose answer is not read (only whether it succeeded).
fn no_answer(method: &'static str, path: String, body: Option<String>) -> Call<()> {
    Call {
        pending: Box::pin(async move {
            send(method, &path, body).await?;
            Ok(JsValue::UNDEFINED)
        }),
        read: Box::new(<()>::from_js),
    }
}

/// Reads a JSON body with the browser's own parser; [`wire`] reads the types from it
/// (smaller than bundling a JSON parser or serde's deserializers into the wasm).
async fn parsed(response: Response) -> Option<JsValue> {
    JsFuture::from(response.json().ok()?).await.ok()
}

pub fn me() -> Call<User> {
    json(GET, "/api/me".to_owned(), None)
}

pub fn sign_in(request: &SignInRequest) -> Call<SignInResponse> {
    let body = wire::object(&[
        ("username", Some(request.username.as_str())),
        ("password", Some(request.password.as_str())),
    ]);
    json(POST, "/api/session".to_owned(), body)
}

pub fn verify(request: &VerifyRequest) -> Call<SignInResponse> {
    let body = wire::object(&[("code", Some(request.code.as_str()))]);
    json(POST, "/api/session/verify".to_owned(), body)
}

/// The identity providers organizational accounts sign in through.
pub fn identity_providers() -> Call<IdentityProviders> {
    json(GET, "/api/oidc/providers".to_owned(), None)
}

pub fn sign_out() -> Call<()> {
    no_answer(DELETE, "/api/session".to_owned(), None)
}

/// One page of the users whose name begins with `search`: the first, or the one after the name
/// `after`; `filters` is `&name=value` for each filter chosen.
pub fn users(search: &str, after: Option<&str>, filters: &str) -> Call<UserList> {
    let mut path = format!(
        "/api/users?q={}",
        String::from(js_sys::encode_uri_component(search))
    );
    if let Some(after) = after {
        path.push_str("&after=");
        path.push_str(&String::from(js_sys::encode_uri_component(after)));
    }
    path.push_str(filters);
    json(GET, path, None)
}

pub fn user(id: i64) -> Call<User> {
    json(GET, format!("/api/users/{id}"), None)
}

/// Adds an account: a Team Server account (`provider` `None`: the answer has its one-time
/// password; `email`, unless empty, is its address for security e-mails) or an organizational
/// one signing in with `email` at `provider`.
pub fn create_user(
    username: &str,
    admin: bool,
    provider: Option<&str>,
    email: &str,
) -> Call<AccountCreated> {
    let email = (!email.is_empty()).then_some(email);
    let (account, email) = match provider {
        None => (wire::object(&[("kind", Some("team_server"))]), email),
        Some(provider) => (
            wire::object(&[
                ("kind", Some("organizational")),
                ("identity_provider", Some(provider)),
                ("email", email),
            ]),
            None,
        ),
    };
    let body = format!(
        r#"{{"username":{},"role":"{}","account":{}{}}}"#,
        wire::string(username),
        role_name(admin),
        account.unwrap_or_default(),
        email.map_or_else(String::new, |e| format!(r#","email":{}"#, wire::string(e)))
    );
    json(POST, "/api/users".to_owned(), Some(body))
}

/// Sets user `id`'s address for security e-mails (empty: removes it).
pub fn set_email(id: i64, email: &str) -> Call<()> {
    let body = wire::object(&[("email", (!email.is_empty()).then_some(email))]);
    no_answer(PUT, format!("/api/users/{id}/email"), body)
}

/// Sends a test message to one's own address (administrators).
pub fn test_email() -> Call<()> {
    no_answer(POST, "/api/me/email/test".to_owned(), Some("{}".to_owned()))
}

fn role_name(admin: bool) -> &'static str {
    if admin { "administrator" } else { "user" }
}

/// Makes user `id` an administrator (`true`) or a user again.
pub fn set_role(id: i64, admin: bool) -> Call<()> {
    let body = wire::object(&[("role", Some(role_name(admin)))]);
    no_answer(PUT, format!("/api/users/{id}/role"), body)
}

/// Disables (`true`) or enables user `id`.
pub fn set_disabled(id: i64, disable: bool) -> Call<()> {
    let action = if disable { "disable" } else { "enable" };
    no_answer(
        POST,
        format!("/api/users/{id}/{action}"),
        Some("{}".to_owned()),
    )
}

/// A one-time password for user `id`; every session of theirs ends.
pub fn reset_password(id: i64) -> Call<AccountCreated> {
    json(
        POST,
        format!("/api/users/{id}/password"),
        Some("{}".to_owned()),
    )
}

pub fn delete_user(id: i64) -> Call<()> {
    no_answer(DELETE, format!("/api/users/{id}"), None)
}

pub fn start_setup() -> Call<SetupResponse> {
    json(
        POST,
        "/api/me/two-step/setup".to_owned(),
        Some("{}".to_owned()),
    )
}

/// Move to a new phone: a key for the replacement (the old phone keeps working).
pub fn start_replacement() -> Call<SetupResponse> {
    json(
        POST,
        "/api/me/two-step/replacement/setup".to_owned(),
        Some("{}".to_owned()),
    )
}

/// The replacement's two codes and the proof of the current phone: from then on only the
/// new phone works.
pub fn confirm_replacement(request: &ConfirmRequest) -> Call<()> {
    let body = wire::object(&[
        ("code1", Some(request.code1.as_str())),
        ("code2", Some(request.code2.as_str())),
        ("proof", request.proof.as_deref()),
    ]);
    no_answer(
        POST,
        "/api/me/two-step/replacement/confirm".to_owned(),
        body,
    )
}

/// The two codes of the app; `with_key`: 2-step verification is on with security keys alone,
/// and one of them proves it (its prompt comes first).
pub fn confirm(request: &ConfirmRequest, with_key: bool) -> Call<RecoveryCodes> {
    let codes = format!(
        r#"{{"code1":{},"code2":{}"#,
        wire::string(&request.code1),
        wire::string(&request.code2)
    );
    // `{"security_key":…}` (the key's answer) joins the codes' object.
    let finish = move |key: Option<String>| {
        // `get`, not `[1..]`: indexing a string brings its panic messages into the download.
        let rest = key.map_or("}".to_owned(), |key| {
            format!(",{}", key.get(1..).unwrap_or_default())
        });
        send_json(
            POST,
            "/api/me/two-step/confirm".to_owned(),
            Some(codes + &rest),
        )
    };
    Call {
        pending: match with_key {
            true => key_then(
                key_proof(),
                "security_key",
                Box::new(move |b| Box::pin(finish(b))),
            ),
            false => Box::pin(finish(None)),
        },
        read: Box::new(RecoveryCodes::from_js),
    }
}

/// Removes user `id`'s 2-step verification; `body`: the holder's proof (`{"proof": …}` or
/// `{"security_key": …}`), `{}` for an administrator removing another's.
pub fn remove_device(id: i64, body: Option<String>) -> Call<()> {
    no_answer(DELETE, format!("/api/users/{id}/two-step"), body)
}

/// A request whose JSON answer is handed on as parsed.
async fn send_json(
    method: &str,
    path: String,
    body: Option<String>,
) -> Result<JsValue, ApiFailure> {
    let response = send(method, &path, body).await?;
    parsed(response).await.ok_or_else(ApiFailure::unreachable)
}

pub fn unlock(id: i64) -> Call<()> {
    no_answer(
        POST,
        format!("/api/users/{id}/two-step/unlock"),
        Some("{}".to_owned()),
    )
}

/// What the audit log is filtered by: a part of a user name (blank for everyone) and a kind.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AuditFilter {
    pub name: String,
    pub event: Option<AuditEventKind>,
}

impl AuditFilter {
    /// `q=…&event=…` (what is set), for `GET /api/audit` and `/api/audit.csv`.
    fn query(&self) -> String {
        let mut parts = Vec::new();
        if !self.name.is_empty() {
            parts.push(format!(
                "q={}",
                String::from(js_sys::encode_uri_component(&self.name))
            ));
        }
        if let Some(kind) = self.event {
            parts.push(format!("event={}", kind.as_str()));
        }
        parts.join("&")
    }

    /// The address of the CSV of every event the filter keeps.
    pub fn csv_url(&self) -> String {
        match self.query() {
            q if q.is_empty() => "/api/audit.csv".to_owned(),
            q => format!("/api/audit.csv?{q}"),
        }
    }
}

pub fn audit(page: u32, filter: &AuditFilter) -> Call<AuditPage> {
    let mut path = format!("/api/audit?page={page}");
    let query = filter.query();
    if !query.is_empty() {
        path.push('&');
        path.push_str(&query);
    }
    json(GET, path, None)
}

pub fn new_recovery_codes(code: &str) -> Call<RecoveryCodes> {
    new_recovery_codes_with(wire::object(&[("code", Some(code))]))
}

/// New recovery codes with the body given (`code`, or `security_key`: a key's answer).
pub fn new_recovery_codes_with(body: Option<String>) -> Call<RecoveryCodes> {
    json(POST, "/api/me/two-step/recovery-codes".to_owned(), body)
}

/// One page of the signed-in user's own security activity.
pub fn activity(page: u32) -> Call<ActivityPage> {
    json(GET, format!("/api/me/activity?page={page}"), None)
}

/// Confirms it's you with the password (the "Confirm it's you" dialog).
pub fn reauthenticate(password: &str) -> Call<()> {
    let body = wire::object(&[("password", Some(password))]);
    Call {
        // Sent once: a refusal here is shown in the dialog, never another dialog.
        pending: Box::pin(async move {
            send_once(POST, "/api/session/reauthenticate", body).await?;
            Ok(JsValue::UNDEFINED)
        }),
        read: Box::new(<()>::from_js),
    }
}

/// The live sessions of the signed-in user (`None`) or, for an administrator, of user `id`.
pub fn sessions(user: Option<i64>) -> Call<SessionList> {
    json(GET, sessions_path(user), None)
}

fn sessions_path(user: Option<i64>) -> String {
    match user {
        Some(id) => format!("/api/users/{id}/sessions"),
        None => "/api/me/sessions".to_owned(),
    }
}

/// Ends one session (of the signed-in user, or of user `id` for an administrator).
pub fn end_session(user: Option<i64>, session: &str) -> Call<()> {
    no_answer(DELETE, format!("{}/{session}", sessions_path(user)), None)
}

/// Ends every session but this one (of user `id`: all of theirs).
pub fn end_other_sessions(user: Option<i64>) -> Call<SessionsEnded> {
    json(DELETE, sessions_path(user), None)
}

pub fn change_password(current: &str, new: &str) -> Call<SessionsEnded> {
    let body = wire::object(&[
        ("current_password", Some(current)),
        ("new_password", Some(new)),
    ]);
    json(POST, "/api/me/password".to_owned(), body)
}

/// The signed-in user's security keys.
pub fn security_keys() -> Call<SecurityKeys> {
    json(GET, "/api/me/security-keys".to_owned(), None)
}

/// The options for adding a key (`navigator.credentials.create()`).
pub fn start_key() -> Call<JsValue> {
    json(
        POST,
        "/api/me/security-keys/start".to_owned(),
        Some("{}".to_owned()),
    )
}

/// The new key's answer, its name, and with 2-step on a proof (`proof`: a code, or
/// `security_key`: another key's answer).
pub fn finish_key(body: Option<String>) -> Call<KeyAdded> {
    json(POST, "/api/me/security-keys/finish".to_owned(), body)
}

/// The options for a key's answer as proof (changes to the keys, "Confirm it's you").
pub fn key_proof() -> Call<JsValue> {
    json(
        POST,
        "/api/me/security-keys/proof".to_owned(),
        Some("{}".to_owned()),
    )
}

pub fn remove_key(id: &str, body: Option<String>) -> Call<()> {
    no_answer(DELETE, format!("/api/me/security-keys/{id}"), body)
}

/// The options for the second step with a key (only this account's keys); 409 without keys.
pub fn second_step_options() -> Call<JsValue> {
    json(
        POST,
        "/api/session/security-key/start".to_owned(),
        Some("{}".to_owned()),
    )
}

pub fn second_step(body: Option<String>) -> Call<SignInResponse> {
    json(POST, "/api/session/security-key".to_owned(), body)
}

pub fn passkey_options() -> Call<JsValue> {
    json(
        POST,
        "/api/session/passkey/start".to_owned(),
        Some("{}".to_owned()),
    )
}

pub fn passkey(body: Option<String>) -> Call<SignInResponse> {
    json(POST, "/api/session/passkey".to_owned(), body)
}

/// Confirms it's you with a key's answer (the "Confirm it's you" dialog).
pub fn reauthenticate_with_key(body: Option<String>) -> Call<()> {
    Call {
        pending: Box::pin(async move {
            send_once(POST, "/api/session/reauthenticate", body).await?;
            Ok(JsValue::UNDEFINED)
        }),
        read: Box::new(<()>::from_js),
    }
}

/// A security key's prompt failed or was closed: shown like the server's refusals.
fn prompt_failure(message: String) -> ApiFailure {
    ApiFailure {
        status: 0,
        body: ErrorBody::new(ErrorCode::SecurityKeyRefused, message),
    }
}

/// Asks the server for a ceremony's options, then the browser's prompt (`create`: a new key);
/// the key's answer.
pub async fn key_answer(options: Call<JsValue>, create: bool) -> Result<JsValue, ApiFailure> {
    let options = options.await?;
    let answer = if create {
        crate::webauthn::create(options).await
    } else {
        crate::webauthn::get_assertion(options).await
    };
    answer.map_err(prompt_failure)
}

/// A call made of several steps (prompts and requests), whose last answer is read as `T`.
pub fn steps<T: FromJs + 'static>(
    pending: impl Future<Output = Result<JsValue, ApiFailure>> + 'static,
) -> Call<T> {
    Call {
        pending: Box::pin(pending),
        read: Box::new(T::from_js),
    }
}

/// A key's answer to `options`, then `finish` with it as `{ "<key>": answer }`. The waiting
/// is compiled once (not per answer type): a smaller download.
fn key_then(
    options: Call<JsValue>,
    key: &'static str,
    finish: Box<dyn FnOnce(Option<String>) -> Pending>,
) -> Pending {
    Box::pin(async move {
        let answer = key_answer(options, false).await?;
        finish(crate::webauthn::body(&[(key, &answer)])).await
    })
}

/// [`key_then`], its last answer read as `T`.
pub fn with_key<T: FromJs + 'static>(
    options: Call<JsValue>,
    key: &'static str,
    finish: fn(Option<String>) -> Call<T>,
) -> Call<T> {
    Call {
        pending: key_then(options, key, Box::new(move |body| finish(body).pending)),
        read: Box::new(T::from_js),
    }
}
