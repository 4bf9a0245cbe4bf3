//! The signed-in user's own account: `GET /api/me`, 2-step verification setup, new recovery
//! codes, the password, and "Where you're signed in". What each change needs is the
//! account-changes table's to say ([`crate::accounts::changes`]): each handler passes who
//! acts ([`SignedIn::by`]) to one operation.

use crate::accounts::password_change::{self, Change};
use crate::factors::two_step::{self, SetupKind};
use crate::sessions;
use crate::sessions::list::{self as session_list, Ending};
use crate::state::AppState;
use crate::web::error::ApiResult;
use crate::web::extract::{ApiJson, BrowserCookie, ClientAddr, SignedIn};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{delete, get, post};
use axum::{Json, Router};
use axum_extra::extract::CookieJar;
use twostep_shared::account::{ActivityPage, ChangePasswordRequest, SessionList, SessionsEnded};
use twostep_shared::api::{
    ConfirmRequest, NewRecoveryCodesRequest, RecoveryCodes, SetupResponse, User,
};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/me", get(me))
        .route("/api/me/two-step/setup", post(setup))
        .route("/api/me/two-step/confirm", post(confirm))
        .route("/api/me/two-step/recovery-codes", post(new_recovery_codes))
        .route(
            "/api/me/two-step/replacement/setup",
            post(replacement_setup),
        )
        .route(
            "/api/me/two-step/replacement/confirm",
            post(replacement_confirm),
        )
        .route("/api/me/password", post(change_password))
        .route("/api/me/email/test", post(test_email))
        .route("/api/me/activity", get(activity))
        .route("/api/me/sessions", get(sessions).delete(end_other_sessions))
        .route("/api/me/sessions/{id}", delete(end_session))
}

async fn me(
    State(state): State<AppState>,
    SignedIn {
        user, from_cache, ..
    }: SignedIn,
) -> ApiResult<Json<User>> {
    let own = two_step::own(&state, user.id, from_cache).await?;
    let mut me = user.to_api(Some(own.status));
    me.email = own.email;
    Ok(Json(me))
}

/// The body is ignored but must be JSON (e.g. `{}`): like every state-changing request, this
/// one needs a JSON content type, which a cross-site form cannot send.
async fn setup(
    State(state): State<AppState>,
    me: SignedIn,
    ApiJson(_): ApiJson<serde::de::IgnoredAny>,
) -> ApiResult<Json<SetupResponse>> {
    two_step::start_setup(&state, me.by(&state), &me.user, SetupKind::New)
        .await
        .map(Json)
}

/// Move to a new phone: a setup for the replacement (the old phone keeps working).
async fn replacement_setup(
    State(state): State<AppState>,
    me: SignedIn,
    ApiJson(_): ApiJson<serde::de::IgnoredAny>,
) -> ApiResult<Json<SetupResponse>> {
    two_step::start_setup(&state, me.by(&state), &me.user, SetupKind::Replacement)
        .await
        .map(Json)
}

/// The replacement's two codes and the proof of the current phone: from now on only the new
/// phone works (204).
async fn replacement_confirm(
    State(state): State<AppState>,
    me: SignedIn,
    client: ClientAddr,
    ApiJson(request): ApiJson<ConfirmRequest>,
) -> ApiResult<StatusCode> {
    two_step::confirm_replacement(&state, me.by(&state), &me.user, request, &client).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn confirm(
    State(state): State<AppState>,
    me: SignedIn,
    addr: ClientAddr,
    ApiJson(request): ApiJson<ConfirmRequest>,
) -> ApiResult<Json<RecoveryCodes>> {
    two_step::confirm(&state, me.by(&state), &me.user, request, &addr)
        .await
        .map(Json)
}

async fn new_recovery_codes(
    State(state): State<AppState>,
    me: SignedIn,
    addr: ClientAddr,
    ApiJson(request): ApiJson<NewRecoveryCodesRequest>,
) -> ApiResult<Json<RecoveryCodes>> {
    two_step::regenerate_recovery_codes(&state, me.by(&state), &me.user, &request, &addr)
        .await
        .map(Json)
}

/// Other sessions and known browsers end; this session stays, with a new token that counts
/// as having just proved who it is.
async fn change_password(
    State(state): State<AppState>,
    me: SignedIn,
    client: ClientAddr,
    BrowserCookie(browser): BrowserCookie,
    jar: CookieJar,
    ApiJson(request): ApiJson<ChangePasswordRequest>,
) -> ApiResult<(CookieJar, Json<SessionsEnded>)> {
    let change = Change {
        user: &me.user,
        session: &me.session,
        recent: me.is_recent(&state),
        current_password: &request.current_password,
        new_password: &request.new_password,
        browser,
        client: &client,
    };
    let changed = password_change::change_password(&state, change, state.clock.now()).await?;
    Ok((
        jar.add(sessions::cookie(
            changed.token,
            state.settings.secure_cookies,
        )),
        Json(SessionsEnded {
            sessions_ended: changed.sessions_ended,
        }),
    ))
}

/// An administrator's test message to their own address (queued like every security
/// e-mail, within the hourly limit).
async fn test_email(
    State(state): State<AppState>,
    me: SignedIn,
    client: ClientAddr,
    ApiJson(_): ApiJson<serde::de::IgnoredAny>,
) -> ApiResult<StatusCode> {
    crate::accounts::email::send_test(&state, &me.user, client.as_deref()).await?;
    Ok(StatusCode::ACCEPTED)
}

async fn sessions(
    State(state): State<AppState>,
    SignedIn { user, session, .. }: SignedIn,
) -> ApiResult<Json<SessionList>> {
    Ok(Json(
        session_list::list(&state, &user, Some(&session)).await?,
    ))
}

async fn end_other_sessions(
    State(state): State<AppState>,
    me: SignedIn,
    client: ClientAddr,
) -> ApiResult<Json<SessionsEnded>> {
    let ending = Ending {
        by: me.by(&state),
        subject: &me.user,
        client_addr: client.as_deref(),
    };
    let ended = session_list::end_others(&state, ending).await?;
    Ok(Json(SessionsEnded {
        sessions_ended: ended,
    }))
}

async fn end_session(
    State(state): State<AppState>,
    me: SignedIn,
    client: ClientAddr,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    let ending = Ending {
        by: me.by(&state),
        subject: &me.user,
        client_addr: client.as_deref(),
    };
    session_list::end_one(&state, ending, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, serde::Deserialize)]
struct PageQuery {
    page: Option<std::num::NonZeroU32>,
}

/// The holder's own security activity.
async fn activity(
    State(state): State<AppState>,
    SignedIn { user, .. }: SignedIn,
    crate::web::extract::ApiQuery(query): crate::web::extract::ApiQuery<PageQuery>,
) -> ApiResult<Json<ActivityPage>> {
    let page = query.page.map_or(1, std::num::NonZeroU32::get);
    Ok(Json(
        crate::audit::activity::page(&state.db, user.id, page).await?,
    ))
}
