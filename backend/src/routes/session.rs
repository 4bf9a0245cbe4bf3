//! Signing in and out: `POST /api/session` (password step), `POST /api/session/verify`
//! (code step), `DELETE /api/session`.

use crate::app::AppState;
use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiJson, ClientAddr, Verifying};
use crate::sessions::{self, Stage};
use crate::{audit, throttle, two_step, users};
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::post;
use axum::{Json, Router};
use axum_extra::extract::CookieJar;
use twostep_shared::api::{AuditEventKind, SignInRequest, SignInResponse, VerifyRequest};
use twostep_shared::input::{Password, Username};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/session", post(sign_in).delete(sign_out))
        .route("/session/verify", post(verify))
}

async fn sign_in(
    State(state): State<AppState>,
    addr: ClientAddr,
    jar: CookieJar,
    ApiJson(request): ApiJson<SignInRequest>,
) -> ApiResult<(CookieJar, Json<SignInResponse>)> {
    let username =
        Username::parse(&request.username).map_err(|e| ApiError::invalid("username", e))?;
    let password =
        Password::parse(&request.password).map_err(|e| ApiError::invalid("password", e))?;
    let now = state.clock.now();
    let address_wait = addr
        .ip()
        .map_or(0, |ip| state.address_throttle.wait(ip, now));
    let lookup = users::lookup_for_password(&state.db, username.as_str(), now).await?;
    let failures = lookup.failures;
    let wait = address_wait.max(failures.wait);
    if wait > 0 {
        return Err(ApiError::too_many_sign_in_attempts(wait));
    }
    let (user, hash) = match lookup.account {
        Some((user, hash)) => (Some(user), hash),
        None => (None, None),
    };
    let password_ok = state
        .hasher
        .verify(password.expose().to_owned(), hash)
        .await?;
    let Some(user) = user.clone().filter(|_| password_ok) else {
        throttle::username_failed(&state.db, username.as_str(), now).await?;
        if let Some(ip) = addr.ip() {
            state.address_throttle.failed(ip, now);
        }
        let organizational = user.as_ref().and_then(|u| u.identity_provider.clone());
        let detail = organizational
            .as_ref()
            .map(|idp| format!("organizational account: signs in through {idp}"));
        tracing::info!(
            username = %username,
            organizational = organizational.is_some(),
            "sign-in refused: bad credentials"
        );
        let subject = match &user {
            Some(user) => audit::Subject::User(user),
            None => audit::Subject::Name(username.as_str()),
        };
        let event = audit::Event {
            kind: AuditEventKind::SignInFailedPassword,
            actor: audit::Actor::Anonymous,
            subject,
            client_addr: addr.as_deref(),
            detail: detail.as_deref(),
        };
        audit::record(&state.db, event, now).await;
        return Err(match organizational {
            Some(idp) => organizational_account(&state, &username, &idp),
            None => ApiError::bad_credentials(),
        });
    };
    throttle::username_succeeded(&state.db, username.as_str(), failures).await?;
    sessions::end_current(&state.db, &jar).await?;
    // The session and, when it is signed in at once, its audit event: one transaction, so one
    // wait for the disk instead of two.
    let mut tx = state.db.begin().await?;
    let (token, stage) = sessions::create_after_password(&mut *tx, user.id, now).await?;
    if stage == Stage::SignedIn {
        let event = audit::Event::own(AuditEventKind::SignedIn, &user, addr.as_deref());
        audit::write(&mut *tx, event, now).await?;
    }
    tx.commit().await?;
    let jar = jar.add(sessions::cookie(token, state.settings.secure_cookies));
    if stage == Stage::Verifying {
        return Ok((
            jar,
            Json(SignInResponse::VerificationRequired {
                expires_in_seconds: sessions::VERIFYING_SECONDS,
            }),
        ));
    }
    tracing::info!(user_id = user.id, "signed in");
    // Signed in straight away: the account has no device, so 2-step verification is off.
    Ok((
        jar,
        Json(SignInResponse::SignedIn {
            user: user.to_api(Some(two_step::OFF)),
        }),
    ))
}

/// The password step's answer for an organizational account: it has no password here, so
/// point to its provider. This tells whoever types the name that it is an organizational
/// account (see docs/identity-providers.md, "Organizational accounts and the password form"):
/// the answer comes only after the same Argon2 work as any other attempt, counts as a failed
/// attempt for the throttles, and Team Server accounts stay indistinguishable from unknown names.
fn organizational_account(state: &AppState, username: &Username, idp: &str) -> ApiError {
    let message = if state.settings.identity_provider(idp).is_some() {
        format!(
            "{username} is an organizational account: it has no password here. Use \"Sign in with {idp}\" instead."
        )
    } else {
        format!(
            "{username} is an organizational account that signs in through {idp}, which is not set up on this Team Server. Ask your administrator."
        )
    };
    ApiError::client(
        StatusCode::UNAUTHORIZED,
        twostep_shared::ErrorCode::OrganizationalAccount,
        message,
    )
}

async fn verify(
    State(state): State<AppState>,
    Verifying(pending): Verifying,
    addr: ClientAddr,
    jar: CookieJar,
    ApiJson(request): ApiJson<VerifyRequest>,
) -> ApiResult<(CookieJar, Json<SignInResponse>)> {
    let user = users::find(&state.db, pending.user_id)
        .await?
        .ok_or_else(ApiError::unauthorized)?;
    let check = two_step::CodeCheck {
        user: &user,
        client_addr: addr.as_deref(),
        purpose: "sign-in",
    };
    two_step::verify_code(&state, check, &request.code).await?;
    // A new token for the signed-in session: the pending one is never promoted.
    sessions::delete(&state.db, &pending.token_hash).await?;
    let now = state.clock.now();
    let token = sessions::create(&state.db, user.id, Stage::SignedIn, now).await?;
    tracing::info!(user_id = user.id, "signed in with a verification code");
    let event = audit::Event::own(AuditEventKind::SignedIn, &user, addr.as_deref())
        .with_detail("with 2-step verification");
    audit::record(&state.db, event, now).await;
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
    sessions::end_current(&state.db, &jar).await?;
    Ok((
        jar.remove(sessions::removal_cookie()),
        StatusCode::NO_CONTENT,
    ))
}
