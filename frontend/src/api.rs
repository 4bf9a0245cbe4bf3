//! Calls to the server's `/api`: one request function that sends same-origin cookies and
//! maps every failure to a typed [`ApiFailure`] carrying the server's `ErrorBody`.

use crate::wire::{self, FromJs};
use gloo_net::http::{Request, RequestBuilder};
use twostep_shared::api::{
    AuditPage, ConfirmRequest, IdentityProviders, RecoveryCodes, RemoveDeviceRequest,
    SetupResponse, SignInRequest, SignInResponse, User, UserList, VerifyRequest,
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

async fn send(
    builder: RequestBuilder,
    body: Option<String>,
) -> Result<gloo_net::http::Response, ApiFailure> {
    let builder = builder.credentials(RequestCredentials::SameOrigin);
    let request: Result<Request, _> = match body {
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
async fn json<T: FromJs>(builder: RequestBuilder, body: Option<String>) -> Result<T, ApiFailure> {
    let value = json_value(builder, body).await?;
    T::from_js(&value).ok_or_else(ApiFailure::unreachable)
}

async fn json_value(builder: RequestBuilder, body: Option<String>) -> Result<JsValue, ApiFailure> {
    let response = send(builder, body).await?;
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
    json(Request::get("/api/me"), None).await
}

pub async fn sign_in(request: &SignInRequest) -> Result<SignInResponse, ApiFailure> {
    let body = wire::object(&[
        ("username", Some(request.username.as_str())),
        ("password", Some(request.password.as_str())),
    ]);
    json(Request::post("/api/session"), body).await
}

pub async fn verify(request: &VerifyRequest) -> Result<SignInResponse, ApiFailure> {
    let body = wire::object(&[("code", Some(request.code.as_str()))]);
    json(Request::post("/api/session/verify"), body).await
}

/// The identity providers organizational accounts sign in through.
pub async fn identity_providers() -> Result<IdentityProviders, ApiFailure> {
    json(Request::get("/api/oidc/providers"), None).await
}

pub async fn sign_out() -> Result<(), ApiFailure> {
    send(Request::delete("/api/session"), None)
        .await
        .map(|_| ())
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
    json(Request::get(&path), None).await
}

/// Every user, page after page (for choosers such as the audit log's user filter).
pub async fn all_users() -> Result<Vec<User>, ApiFailure> {
    let mut users = Vec::new();
    for page in 1.. {
        let list = self::users("", page, None).await?;
        let done = list.users.is_empty() || users.len() + list.users.len() >= list.total as usize;
        users.extend(list.users);
        if done {
            break;
        }
    }
    Ok(users)
}

pub async fn user(id: i64) -> Result<User, ApiFailure> {
    json(Request::get(&format!("/api/users/{id}")), None).await
}

pub async fn start_setup() -> Result<SetupResponse, ApiFailure> {
    json(
        Request::post("/api/me/two-step/setup"),
        Some("{}".to_owned()),
    )
    .await
}

pub async fn confirm(request: &ConfirmRequest) -> Result<RecoveryCodes, ApiFailure> {
    let body = wire::object(&[
        ("code1", Some(request.code1.as_str())),
        ("code2", Some(request.code2.as_str())),
    ]);
    json(Request::post("/api/me/two-step/confirm"), body).await
}

pub async fn remove_device(id: i64, request: &RemoveDeviceRequest) -> Result<(), ApiFailure> {
    send(
        Request::delete(&format!("/api/users/{id}/two-step")),
        wire::object(&[("proof", request.proof.as_deref())]),
    )
    .await
    .map(|_| ())
}

pub async fn unlock(id: i64) -> Result<(), ApiFailure> {
    send(
        Request::post(&format!("/api/users/{id}/two-step/unlock")),
        Some("{}".to_owned()),
    )
    .await
    .map(|_| ())
}

pub async fn audit(page: u32, user: Option<i64>) -> Result<AuditPage, ApiFailure> {
    let path = match user {
        Some(id) => format!("/api/audit?page={page}&user={id}"),
        None => format!("/api/audit?page={page}"),
    };
    json(Request::get(&path), None).await
}

pub async fn new_recovery_codes(code: &str) -> Result<RecoveryCodes, ApiFailure> {
    json(
        Request::post("/api/me/two-step/recovery-codes"),
        wire::object(&[("code", Some(code))]),
    )
    .await
}
