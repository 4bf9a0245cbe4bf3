//! Calls to the server's `/api`: one request function that sends same-origin cookies and
//! maps every failure to a typed [`ApiFailure`] carrying the server's `ErrorBody`. When the
//! server asks to confirm it's you (`reauthentication_required`), that function opens the
//! "Confirm it's you" dialog ([`crate::reauth`]) and, once confirmed, sends the request again;
//! so every action that needs it is repeated without its screen knowing.

use crate::wire::{self, FromJs};
use gloo_net::http::{Method, RequestBuilder};
use twostep_shared::account::{ActivityPage, SessionList, SessionsEnded};
use twostep_shared::api::{
    AuditEventKind, AuditPage, ConfirmRequest, IdentityProviders, RecoveryCodes,
    RemoveDeviceRequest, SetupResponse, SignInRequest, SignInResponse, User, UserList,
    VerifyRequest,
};
use twostep_shared::{ErrorBody, ErrorCode};
use wasm_bindgen::JsValue;
use web_sys::RequestCredentials;

/// A failed API call: the HTTP status (0 when the server could not be reached) and the
/// server's error body.
#[derive(Debug, Clone, PartialEq)]
pub struct ApiFailure {
    pub status: u16,
    pub body: ErrorBody,
}

impl ApiFailure {
    fn unreachable() -> Self {
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

/// Sends a request; asks to confirm it's you and sends it again when the server wants that.
async fn send(
    method: Method,
    path: &str,
    body: Option<String>,
) -> Result<gloo_net::http::Response, ApiFailure> {
    loop {
        let failure = match send_once(method.clone(), path, body.clone()).await {
            Ok(response) => return Ok(response),
            Err(failure) => failure,
        };
        if failure.code() != ErrorCode::ReauthenticationRequired || !crate::reauth::confirm().await
        {
            return Err(failure);
        }
    }
}

async fn send_once(
    method: Method,
    path: &str,
    body: Option<String>,
) -> Result<gloo_net::http::Response, ApiFailure> {
    let builder = RequestBuilder::new(path)
        .method(method)
        .credentials(RequestCredentials::SameOrigin);
    let request = match body {
        Some(json) => builder
            .header("Content-Type", "application/json")
            .body(json),
        None => builder.build(),
    };
    let response = request
        .map_err(|_| ApiFailure::unreachable())?
        .send()
        .await
        .map_err(|_| ApiFailure::unreachable())?;
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

/// Sends the request and reads the JSON answer as `T`. Generic only in the last, synchronous
/// step: the sending and reading are one function for every answer type.
async fn json<T: FromJs>(
    method: Method,
    path: &str,
    body: Option<String>,
) -> Result<T, ApiFailure> {
    let value = json_value(method, path, body).await?;
    T::from_js(&value).ok_or_else(ApiFailure::unreachable)
}

async fn json_value(
    method: Method,
    path: &str,
    body: Option<String>,
) -> Result<JsValue, ApiFailure> {
    let response = send(method, path, body).await?;
    parsed(response).await.ok_or_else(ApiFailure::unreachable)
}

/// Reads a JSON body with the browser's own parser; [`wire`] reads the types from it
/// (smaller than bundling a JSON parser or serde's deserializers into the wasm).
async fn parsed(response: gloo_net::http::Response) -> Option<JsValue> {
    let raw: web_sys::Response = response.into();
    let promise = raw.json().ok()?;
    wasm_bindgen_futures::JsFuture::from(promise).await.ok()
}

pub async fn me() -> Result<User, ApiFailure> {
    json(Method::GET, "/api/me", None).await
}

pub async fn sign_in(request: &SignInRequest) -> Result<SignInResponse, ApiFailure> {
    let body = wire::object(&[
        ("username", Some(request.username.as_str())),
        ("password", Some(request.password.as_str())),
    ]);
    json(Method::POST, "/api/session", body).await
}

pub async fn verify(request: &VerifyRequest) -> Result<SignInResponse, ApiFailure> {
    let body = wire::object(&[("code", Some(request.code.as_str()))]);
    json(Method::POST, "/api/session/verify", body).await
}

/// The identity providers organizational accounts sign in through.
pub async fn identity_providers() -> Result<IdentityProviders, ApiFailure> {
    json(Method::GET, "/api/oidc/providers", None).await
}

pub async fn sign_out() -> Result<(), ApiFailure> {
    send(Method::DELETE, "/api/session", None).await.map(|_| ())
}

/// One page of the users whose name contains `search`, optionally only those whose 2-step
/// verification is `on`, `off` or `locked`.
pub async fn users(
    search: &str,
    page: u32,
    two_step: Option<&str>,
) -> Result<UserList, ApiFailure> {
    let mut path = format!("/api/users?page={page}");
    if !search.is_empty() {
        path.push_str("&q=");
        path.push_str(&String::from(js_sys::encode_uri_component(search)));
    }
    if let Some(status) = two_step {
        path.push_str("&two_step=");
        path.push_str(status);
    }
    json(Method::GET, &path, None).await
}

pub async fn user(id: i64) -> Result<User, ApiFailure> {
    json(Method::GET, &format!("/api/users/{id}"), None).await
}

pub async fn start_setup() -> Result<SetupResponse, ApiFailure> {
    json(
        Method::POST,
        "/api/me/two-step/setup",
        Some("{}".to_owned()),
    )
    .await
}

/// Move to a new phone: a key for the replacement (the old phone keeps working).
pub async fn start_replacement() -> Result<SetupResponse, ApiFailure> {
    json(
        Method::POST,
        "/api/me/two-step/replacement/setup",
        Some("{}".to_owned()),
    )
    .await
}

/// The replacement's two codes: from then on only the new phone works.
pub async fn confirm_replacement(request: &ConfirmRequest) -> Result<(), ApiFailure> {
    let body = wire::object(&[
        ("code1", Some(request.code1.as_str())),
        ("code2", Some(request.code2.as_str())),
    ]);
    send(Method::POST, "/api/me/two-step/replacement/confirm", body)
        .await
        .map(|_| ())
}

pub async fn confirm(request: &ConfirmRequest) -> Result<RecoveryCodes, ApiFailure> {
    let body = wire::object(&[
        ("code1", Some(request.code1.as_str())),
        ("code2", Some(request.code2.as_str())),
    ]);
    json(Method::POST, "/api/me/two-step/confirm", body).await
}

pub async fn remove_device(id: i64, request: &RemoveDeviceRequest) -> Result<(), ApiFailure> {
    send(
        Method::DELETE,
        &format!("/api/users/{id}/two-step"),
        wire::object(&[("proof", request.proof.as_deref())]),
    )
    .await
    .map(|_| ())
}

pub async fn unlock(id: i64) -> Result<(), ApiFailure> {
    send(
        Method::POST,
        &format!("/api/users/{id}/two-step/unlock"),
        Some("{}".to_owned()),
    )
    .await
    .map(|_| ())
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

pub async fn audit(page: u32, filter: &AuditFilter) -> Result<AuditPage, ApiFailure> {
    let mut path = format!("/api/audit?page={page}");
    let query = filter.query();
    if !query.is_empty() {
        path.push('&');
        path.push_str(&query);
    }
    json(Method::GET, &path, None).await
}

pub async fn new_recovery_codes(code: &str) -> Result<RecoveryCodes, ApiFailure> {
    json(
        Method::POST,
        "/api/me/two-step/recovery-codes",
        wire::object(&[("code", Some(code))]),
    )
    .await
}

/// One page of the signed-in user's own security activity.
pub async fn activity(page: u32) -> Result<ActivityPage, ApiFailure> {
    json(Method::GET, &format!("/api/me/activity?page={page}"), None).await
}

/// Confirms it's you with the password (the "Confirm it's you" dialog).
pub async fn reauthenticate(password: &str) -> Result<(), ApiFailure> {
    // Sent once: a refusal here is shown in the dialog, never another dialog.
    send_once(
        Method::POST,
        "/api/session/reauthenticate",
        wire::object(&[("password", Some(password))]),
    )
    .await
    .map(|_| ())
}

/// The live sessions of the signed-in user (`None`) or, for an administrator, of user `id`.
pub async fn sessions(user: Option<i64>) -> Result<SessionList, ApiFailure> {
    let path = match user {
        Some(id) => format!("/api/users/{id}/sessions"),
        None => "/api/me/sessions".to_owned(),
    };
    json(Method::GET, &path, None).await
}

/// Ends one session (of the signed-in user, or of user `id` for an administrator).
pub async fn end_session(user: Option<i64>, session: &str) -> Result<(), ApiFailure> {
    let path = match user {
        Some(id) => format!("/api/users/{id}/sessions/{session}"),
        None => format!("/api/me/sessions/{session}"),
    };
    send(Method::DELETE, &path, None).await.map(|_| ())
}

/// Ends every session but this one (of user `id`: all of theirs).
pub async fn end_other_sessions(user: Option<i64>) -> Result<SessionsEnded, ApiFailure> {
    let path = match user {
        Some(id) => format!("/api/users/{id}/sessions"),
        None => "/api/me/sessions".to_owned(),
    };
    json(Method::DELETE, &path, None).await
}

pub async fn change_password(current: &str, new: &str) -> Result<SessionsEnded, ApiFailure> {
    let body = wire::object(&[
        ("current_password", Some(current)),
        ("new_password", Some(new)),
    ]);
    json(Method::POST, "/api/me/password", body).await
}
