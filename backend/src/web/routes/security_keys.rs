//! Security keys and passkeys over HTTP: the holder's keys (`/api/me/security-keys…`), the
//! second step with a key (`/api/session/security-key…`), a passkey sign-in
//! (`/api/session/passkey…`) and an administrator's view of a user's keys. Each handler
//! extracts, calls one operation of [`crate::factors::security_keys`] or
//! [`crate::sign_in`], and maps.

use crate::factors::ceremonies::{self, Purpose};
use crate::factors::security_keys;
use crate::sessions;
use crate::sessions::Origin;
use crate::sign_in;
use crate::state::AppState;
use crate::web::error::ApiResult;
use crate::web::extract::{Admin, ApiJson, BrowserCookie, ClientAddr, SignedIn, Verifying};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{delete, get, post};
use axum::{Json, Router};
use axum_extra::extract::CookieJar;
use axum_extra::extract::cookie::{Cookie, SameSite};
use twostep_shared::api::SignInResponse;
use twostep_shared::security_keys::{
    AddKeyRequest, CreationOptions, KeyAdded, KeyAnswer, RemoveKeyRequest, RequestOptions,
    SecurityKeys,
};

/// The cookie that binds a passkey sign-in's ceremony to the browser that started it.
pub const PASSKEY_COOKIE: &str = "twostep_passkey";

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/me/security-keys", get(list))
        .route("/api/me/security-keys/start", post(start))
        .route("/api/me/security-keys/finish", post(finish))
        .route("/api/me/security-keys/proof", post(proof))
        .route("/api/me/security-keys/{id}", delete(remove))
        .route("/api/session/security-key/start", post(second_step_start))
        .route("/api/session/security-key", post(second_step))
        .route("/api/session/passkey/start", post(passkey_start))
        .route("/api/session/passkey", post(passkey))
        .route("/api/users/{id}/security-keys", get(list_for_admin))
}

async fn list(State(state): State<AppState>, me: SignedIn) -> ApiResult<Json<SecurityKeys>> {
    Ok(Json(security_keys::list(&state, me.user.id).await?))
}

async fn list_for_admin(
    State(state): State<AppState>,
    Admin(_): Admin,
    Path(id): Path<i64>,
) -> ApiResult<Json<SecurityKeys>> {
    Ok(Json(security_keys::list(&state, id).await?))
}

/// The options for `navigator.credentials.create()`.
async fn start(
    State(state): State<AppState>,
    me: SignedIn,
    ApiJson(_): ApiJson<serde::de::IgnoredAny>,
) -> ApiResult<Json<CreationOptions>> {
    Ok(Json(
        security_keys::start_registration(&state, me.by(&state), &me.user).await?,
    ))
}

async fn finish(
    State(state): State<AppState>,
    me: SignedIn,
    client: ClientAddr,
    ApiJson(request): ApiJson<AddKeyRequest>,
) -> ApiResult<Json<KeyAdded>> {
    Ok(Json(
        security_keys::finish_registration(&state, me.by(&state), &me.user, request, &client)
            .await?,
    ))
}

/// The options for `navigator.credentials.get()` when a key proves who you are (adding or
/// removing a key, "Confirm it's you").
async fn proof(
    State(state): State<AppState>,
    me: SignedIn,
    ApiJson(_): ApiJson<serde::de::IgnoredAny>,
) -> ApiResult<Json<RequestOptions>> {
    Ok(Json(
        security_keys::start_assertion(&state, &me.user, Purpose::Proof, &me.session.token_hash)
            .await?,
    ))
}

async fn remove(
    State(state): State<AppState>,
    me: SignedIn,
    client: ClientAddr,
    Path(id): Path<i64>,
    ApiJson(request): ApiJson<RemoveKeyRequest>,
) -> ApiResult<StatusCode> {
    security_keys::remove(&state, me.by(&state), &me.user, id, request, &client).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The options for the second step with a key: only this account's keys.
async fn second_step_start(
    State(state): State<AppState>,
    Verifying(pending): Verifying,
    ApiJson(_): ApiJson<serde::de::IgnoredAny>,
) -> ApiResult<Json<RequestOptions>> {
    Ok(Json(
        security_keys::start_assertion(
            &state,
            &pending.user,
            Purpose::SignIn,
            &pending.session.token_hash,
        )
        .await?,
    ))
}

async fn second_step(
    State(state): State<AppState>,
    Verifying(pending): Verifying,
    client: ClientAddr,
    origin: Origin,
    BrowserCookie(browser): BrowserCookie,
    jar: CookieJar,
    ApiJson(request): ApiJson<KeyAnswer>,
) -> ApiResult<(CookieJar, Json<SignInResponse>)> {
    let (token, user, browser_cookie) = sign_in::finish_with_key(
        &state,
        pending,
        &request.credential,
        &origin,
        &client,
        browser.as_ref(),
    )
    .await?;
    let mut jar = jar.add(sessions::cookie(token, state.settings.secure_cookies));
    if let Some(cookie) = browser_cookie {
        jar = jar.add(cookie);
    }
    Ok((jar, Json(SignInResponse::SignedIn { user })))
}

fn passkey_cookie(value: String, secure: bool) -> Cookie<'static> {
    Cookie::build((PASSKEY_COOKIE, value))
        .http_only(true)
        .same_site(SameSite::Strict)
        .secure(secure)
        .path("/api/session/passkey")
        .max_age(cookie::time::Duration::seconds(
            ceremonies::CEREMONY_SECONDS as i64,
        ))
        .build()
}

/// A passkey sign-in's options; the ceremony is bound to a new random cookie of this browser.
async fn passkey_start(
    State(state): State<AppState>,
    jar: CookieJar,
    ApiJson(_): ApiJson<serde::de::IgnoredAny>,
) -> ApiResult<(CookieJar, Json<RequestOptions>)> {
    let token = sessions::new_token();
    let options = security_keys::start_passkey(&state, &sessions::hash_token(&token)).await?;
    let jar = jar.add(passkey_cookie(token, state.settings.secure_cookies));
    Ok((jar, Json(options)))
}

async fn passkey(
    State(state): State<AppState>,
    client: ClientAddr,
    origin: Origin,
    BrowserCookie(browser): BrowserCookie,
    jar: CookieJar,
    ApiJson(request): ApiJson<KeyAnswer>,
) -> ApiResult<(CookieJar, Json<SignInResponse>)> {
    let secure = state.settings.secure_cookies;
    let binding = jar
        .get(PASSKEY_COOKIE)
        .map(|cookie| sessions::hash_token(cookie.value()))
        .unwrap_or_default();
    let previous = sessions::current_token(&jar, secure).map(str::to_owned);
    let (token, user, browser_cookie) = sign_in::sign_in_with_passkey(
        &state,
        &binding,
        &request.credential,
        previous.as_deref(),
        &origin,
        &client,
        browser.as_ref(),
    )
    .await?;
    let mut jar = jar
        .add(sessions::cookie(token, secure))
        .remove(passkey_cookie(String::new(), secure));
    if let Some(cookie) = browser_cookie {
        jar = jar.add(cookie);
    }
    Ok((jar, Json(SignInResponse::SignedIn { user })))
}
