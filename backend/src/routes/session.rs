//! Signing in and out: `POST /api/session` (password step), `POST /api/session/verify`
//! (code step), `DELETE /api/session`.

use crate::app::AppState;
use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiJson, Verifying};
use crate::sessions::{self, Stage};
use crate::{two_step, users};
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::post;
use axum::{Json, Router};
use axum_extra::extract::CookieJar;
use twostep_shared::api::{SignInRequest, SignInResponse, VerifyRequest};
use twostep_shared::input::{Password, Username};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/session", post(sign_in).delete(sign_out))
        .route("/session/verify", post(verify))
}

async fn end_current_session(state: &AppState, jar: &CookieJar) -> ApiResult<()> {
    if let Some(cookie) = jar.get(sessions::COOKIE) {
        sessions::delete(&state.db, &sessions::hash_token(cookie.value())).await?;
    }
    Ok(())
}

async fn sign_in(
    State(state): State<AppState>,
    jar: CookieJar,
    ApiJson(request): ApiJson<SignInRequest>,
) -> ApiResult<(CookieJar, Json<SignInResponse>)> {
    let username =
        Username::parse(&request.username).map_err(|e| ApiError::invalid("username", e))?;
    let password =
        Password::parse(&request.password).map_err(|e| ApiError::invalid("password", e))?;
    let found = users::find_for_sign_in(&state.db, username.as_str()).await?;
    let (user, hash) = match found {
        Some((user, hash)) => (Some(user), hash),
        None => (None, None),
    };
    let password_ok = state
        .hasher
        .verify(password.expose().to_owned(), hash)
        .await?;
    let Some(user) = user.filter(|_| password_ok) else {
        tracing::info!(username = %username, "sign-in refused: bad credentials");
        return Err(ApiError::bad_credentials());
    };
    end_current_session(&state, &jar).await?;
    let now = state.clock.now();
    if two_step::is_enabled(&state.db, user.id).await? {
        let token = sessions::create(&state.db, user.id, Stage::Verifying, now).await?;
        let jar = jar.add(sessions::cookie(token, state.settings.secure_cookies));
        return Ok((
            jar,
            Json(SignInResponse::VerificationRequired {
                expires_in_seconds: sessions::VERIFYING_SECONDS,
            }),
        ));
    }
    let token = sessions::create(&state.db, user.id, Stage::SignedIn, now).await?;
    tracing::info!(user_id = user.id, "signed in");
    let status = two_step::status(&state.db, user.id).await?;
    Ok((
        jar.add(sessions::cookie(token, state.settings.secure_cookies)),
        Json(SignInResponse::SignedIn {
            user: user.to_api(Some(status)),
        }),
    ))
}

async fn verify(
    State(state): State<AppState>,
    Verifying(pending): Verifying,
    jar: CookieJar,
    ApiJson(request): ApiJson<VerifyRequest>,
) -> ApiResult<(CookieJar, Json<SignInResponse>)> {
    two_step::verify_sign_in(&state, pending.user_id, &request.code).await?;
    // A new token for the signed-in session: the pending one is never promoted.
    sessions::delete(&state.db, &pending.token_hash).await?;
    let user = users::find(&state.db, pending.user_id)
        .await?
        .ok_or_else(ApiError::unauthorized)?;
    let token = sessions::create(&state.db, user.id, Stage::SignedIn, state.clock.now()).await?;
    tracing::info!(user_id = user.id, "signed in with a verification code");
    let status = two_step::status(&state.db, user.id).await?;
    Ok((
        jar.add(sessions::cookie(token, state.settings.secure_cookies)),
        Json(SignInResponse::SignedIn {
            user: user.to_api(Some(status)),
        }),
    ))
}

async fn sign_out(
    State(state): State<AppState>,
    jar: CookieJar,
) -> ApiResult<(CookieJar, StatusCode)> {
    end_current_session(&state, &jar).await?;
    Ok((
        jar.remove(sessions::removal_cookie()),
        StatusCode::NO_CONTENT,
    ))
}
