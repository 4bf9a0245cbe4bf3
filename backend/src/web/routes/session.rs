//! Signing in and out: `POST /api/session` (password step), `POST /api/session/verify`
//! (code step), `DELETE /api/session`, and `POST /api/session/reauthenticate` ("Confirm it's
//! you" before a sensitive action).

use crate::factors::two_step;
use crate::sessions::{self, Origin, Stage};
use crate::sign_in::reauthentication::{self, Confirming, Proof, ReauthError};
use crate::sign_in::{self, PasswordAttempt, Purpose};
use crate::state::AppState;
use crate::web::error::{ApiError, ApiResult};
use crate::web::extract::{ApiJson, BrowserCookie, ClientAddr, SignedIn, Verifying};
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::post;
use axum::{Json, Router};
use axum_extra::extract::CookieJar;
use twostep_shared::account::ReauthenticateRequest;
use twostep_shared::api::{SignInRequest, SignInResponse, VerifyRequest};
use twostep_shared::input::{Password, Username};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/session", post(sign_in).delete(sign_out))
        .route("/api/session/verify", post(verify))
        .route("/api/session/reauthenticate", post(reauthenticate))
}

/// "Confirm it's you": the session gets a new token (the old one stops working).
async fn reauthenticate(
    State(state): State<AppState>,
    SignedIn { user, session, .. }: SignedIn,
    client: ClientAddr,
    BrowserCookie(browser): BrowserCookie,
    jar: CookieJar,
    ApiJson(request): ApiJson<ReauthenticateRequest>,
) -> ApiResult<(CookieJar, StatusCode)> {
    let proof = match (&request.password, &request.code, &request.security_key) {
        (Some(password), None, None) => Proof::Password(password),
        (None, Some(code), None) => Proof::Code(code),
        (None, None, Some(answer)) => Proof::SecurityKey(answer),
        _ => return Err(ReauthError::NoProof.into()),
    };
    let who = Confirming {
        user: &user,
        session: &session,
        browser,
        client: &client,
    };
    let token = reauthentication::reauthenticate(&state, who, proof, state.clock.now()).await?;
    Ok((
        jar.add(sessions::cookie(token, state.settings.secure_cookies)),
        StatusCode::NO_CONTENT,
    ))
}

async fn sign_in(
    State(state): State<AppState>,
    client: ClientAddr,
    origin: Origin,
    BrowserCookie(browser): BrowserCookie,
    jar: CookieJar,
    ApiJson(request): ApiJson<SignInRequest>,
) -> ApiResult<(CookieJar, Json<SignInResponse>)> {
    let username =
        Username::parse(&request.username).map_err(|e| ApiError::invalid("username", e))?;
    let password =
        Password::parse(&request.password).map_err(|e| ApiError::invalid("password", e))?;
    let attempt = PasswordAttempt {
        username: &username,
        password: password.expose(),
        browser,
        client: &client,
        purpose: Purpose::SignIn,
    };
    let secure = state.settings.secure_cookies;
    let previous = sessions::current_token(&jar, secure).map(str::to_owned);
    let now = state.clock.now();
    let started =
        sign_in::password_step(&state, attempt, previous.as_deref(), &origin, now).await?;
    let mut jar = jar.add(sessions::cookie(
        started.token,
        state.settings.secure_cookies,
    ));
    if let Some(cookie) = started.browser_cookie {
        jar = jar.add(cookie);
    }
    let response = match started.stage {
        Stage::Verifying => SignInResponse::VerificationRequired {
            expires_in_seconds: sessions::VERIFYING_SECONDS,
            app: started.factors.app,
            security_keys: started.factors.security_keys,
        },
        // Signed in straight away: the account has no device, so 2-step verification is off.
        Stage::SignedIn => SignInResponse::SignedIn {
            user: started.user.to_api(Some(two_step::OFF)),
        },
    };
    Ok((jar, Json(response)))
}

/// The code step ([`sign_in::finish_with_code`]).
async fn verify(
    State(state): State<AppState>,
    Verifying(pending): Verifying,
    client: ClientAddr,
    origin: Origin,
    BrowserCookie(browser): BrowserCookie,
    jar: CookieJar,
    ApiJson(request): ApiJson<VerifyRequest>,
) -> ApiResult<(CookieJar, Json<SignInResponse>)> {
    let (token, user, browser_cookie) = sign_in::finish_with_code(
        &state,
        pending,
        &request.code,
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

async fn sign_out(
    State(state): State<AppState>,
    jar: CookieJar,
) -> ApiResult<(CookieJar, StatusCode)> {
    let secure = state.settings.secure_cookies;
    sign_in::sign_out(&state, sessions::current_token(&jar, secure)).await?;
    Ok((
        jar.remove(sessions::removal_cookie(secure)),
        StatusCode::NO_CONTENT,
    ))
}
