//! The users list and one user: `GET /api/users?q=&page=&two_step=on|off|locked|security_keys` (search
//! by name, 50 a page), `GET /api/users/{id}`.
//!
//! Every signed-in user sees the list (name, account type, role); the 2-step status is shown
//! only to administrators and to the user themself. One user's page is for the user
//! themself and administrators. What a change to it needs (removing its 2-step verification,
//! unlocking, ending sessions) is the account-changes table's to say.

use crate::sessions::list::{self as session_list, Ending};
use crate::state::AppState;
use crate::web::error::{ApiError, ApiResult};
use crate::web::extract::{Admin, ApiJson, ApiQuery, ClientAddr, SignedIn};
use crate::{accounts::users, factors::two_step};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{delete, get, post};
use axum::{Json, Router};
use serde::Deserialize;
use std::num::NonZeroU32;
use twostep_shared::account::{EmailAddress, SessionList, SessionsEnded};
use twostep_shared::api::{
    RemoveDeviceRequest, TwoStepStatus, TwoStepSummary, USERS_PER_PAGE, User, UserList,
};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/users", get(list))
        .route("/users/{id}", get(one))
        .route("/users/{id}/two-step", delete(remove_device))
        .route("/users/{id}/two-step/unlock", post(unlock))
        .route("/users/{id}/email", get(email).put(set_email))
        .route("/users/{id}/sessions", get(sessions).delete(end_sessions))
        .route("/users/{id}/sessions/{session_id}", delete(end_session))
}

/// Which accounts `GET /api/users` lists.
#[derive(Debug, Deserialize)]
struct UsersQuery {
    /// Part of the username, any case.
    q: Option<String>,
    /// 1-based page number (`0` is refused like any other bad query).
    page: Option<NonZeroU32>,
    /// Only accounts with 2-step verification on, off, locked, or with security keys
    /// (administrators only: others
    /// do not see anyone else's status).
    two_step: Option<TwoStepFilter>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
enum TwoStepFilter {
    On,
    Off,
    Locked,
    /// Accounts with security keys registered.
    SecurityKeys,
}

impl TwoStepFilter {
    fn keeps(self, status: &TwoStepStatus) -> bool {
        match self {
            Self::On => status.enabled,
            Self::Off => !status.enabled,
            Self::Locked => status.locked,
            Self::SecurityKeys => status.security_keys > 0,
        }
    }
}

async fn list(
    State(state): State<AppState>,
    SignedIn { user: me, .. }: SignedIn,
    ApiQuery(query): ApiQuery<UsersQuery>,
) -> ApiResult<Json<UserList>> {
    let search = query.q.as_deref().map(str::trim).unwrap_or_default();
    let accounts = if search.is_empty() {
        users::list(&state.db).await?
    } else {
        users::search(&state.db, search).await?
    };
    let page = query.page.map_or(1, NonZeroU32::get);
    let per_page = USERS_PER_PAGE as usize;
    let skip = (page as usize - 1).saturating_mul(per_page);
    // Administrators see everyone's status (one query for all); others only their own.
    let (users, total, two_step_summary) = if me.is_admin() {
        let statuses = two_step::statuses(&state.db).await?;
        let status_of = |id: i64| statuses.get(&id).cloned().unwrap_or(two_step::OFF);
        let matching: Vec<_> = accounts
            .iter()
            .map(|user| (user, status_of(user.id)))
            .filter(|(_, status)| query.two_step.is_none_or(|f| f.keeps(status)))
            .collect();
        let summary = TwoStepSummary {
            users: users::count(&state.db).await?,
            using_two_step: statuses.values().filter(|s| s.enabled).count() as u64,
        };
        let total = matching.len();
        let users = matching
            .into_iter()
            .skip(skip)
            .take(per_page)
            .map(|(user, status)| user.to_api(Some(status)))
            .collect();
        (users, total, Some(summary))
    } else {
        if query.two_step.is_some() {
            return Err(ApiError::forbidden());
        }
        let own = two_step::status(&state.db, me.id).await?;
        let users = accounts
            .iter()
            .skip(skip)
            .take(per_page)
            .map(|user| user.to_api((user.id == me.id).then(|| own.clone())))
            .collect();
        (users, accounts.len(), None)
    };
    Ok(Json(UserList {
        users,
        total: total as u64,
        page,
        per_page: USERS_PER_PAGE,
        two_step_summary,
    }))
}

/// Parses a user id from the path; anything but a number is "not found".
pub fn parse_id(raw: &str) -> ApiResult<i64> {
    raw.parse().map_err(|_| ApiError::not_found())
}

async fn one(
    State(state): State<AppState>,
    SignedIn { user: me, .. }: SignedIn,
    Path(raw_id): Path<String>,
) -> ApiResult<Json<User>> {
    let user = target(&state, &me, &raw_id).await?;
    let status = two_step::status(&state.db, user.id).await?;
    Ok(Json(user.to_api(Some(status))))
}

/// The user a path names, for a caller who may act on it (themself or an administrator).
async fn target(
    state: &AppState,
    me: &users::UserRecord,
    raw_id: &str,
) -> ApiResult<users::UserRecord> {
    let id = parse_id(raw_id)?;
    if !me.is_admin() && me.id != id {
        return Err(ApiError::forbidden());
    }
    users::find(&state.db, id)
        .await?
        .ok_or_else(ApiError::not_found)
}

/// The holder (with a proof of the second factor) or an administrator.
async fn remove_device(
    State(state): State<AppState>,
    me: SignedIn,
    client: ClientAddr,
    Path(raw_id): Path<String>,
    ApiJson(request): ApiJson<RemoveDeviceRequest>,
) -> ApiResult<StatusCode> {
    let subject = target(&state, &me.user, &raw_id).await?;
    two_step::remove_device(
        &state,
        me.by(&state),
        &subject,
        request.proof.as_deref(),
        &client,
    )
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// An administrator's view of a user's sessions (Manage user).
async fn sessions(
    State(state): State<AppState>,
    Admin(SignedIn {
        user: me, session, ..
    }): Admin,
    Path(raw_id): Path<String>,
) -> ApiResult<Json<SessionList>> {
    let subject = target(&state, &me, &raw_id).await?;
    let asking = (subject.id == me.id).then_some(&session);
    Ok(Json(session_list::list(&state, &subject, asking).await?))
}

/// An administrator ends every session of a user (but their own asking session).
async fn end_sessions(
    State(state): State<AppState>,
    Admin(me): Admin,
    client: ClientAddr,
    Path(raw_id): Path<String>,
) -> ApiResult<Json<SessionsEnded>> {
    let subject = target(&state, &me.user, &raw_id).await?;
    let ending = Ending {
        by: me.by(&state),
        subject: &subject,
        client_addr: client.as_deref(),
    };
    let ended = session_list::end_others(&state, ending).await?;
    Ok(Json(SessionsEnded {
        sessions_ended: ended,
    }))
}

async fn end_session(
    State(state): State<AppState>,
    Admin(me): Admin,
    client: ClientAddr,
    Path((raw_id, session_id)): Path<(String, String)>,
) -> ApiResult<StatusCode> {
    let subject = target(&state, &me.user, &raw_id).await?;
    let ending = Ending {
        by: me.by(&state),
        subject: &subject,
        client_addr: client.as_deref(),
    };
    session_list::end_one(&state, ending, &session_id).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn unlock(
    State(state): State<AppState>,
    Admin(me): Admin,
    addr: ClientAddr,
    Path(raw_id): Path<String>,
    ApiJson(_): ApiJson<serde::de::IgnoredAny>,
) -> ApiResult<StatusCode> {
    let subject = target(&state, &me.user, &raw_id).await?;
    two_step::unlock(&state, me.by(&state), &subject, addr.as_deref()).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The address security e-mails go to (the holder or an administrator).
async fn email(
    State(state): State<AppState>,
    SignedIn { user: me, .. }: SignedIn,
    Path(raw_id): Path<String>,
) -> ApiResult<Json<EmailAddress>> {
    let subject = target(&state, &me, &raw_id).await?;
    let email = crate::accounts::email::of(&state.db, subject.id).await?;
    Ok(Json(EmailAddress { email }))
}

/// Sets it (the holder after "Confirm it's you", or an administrator); the previous address
/// is told.
async fn set_email(
    State(state): State<AppState>,
    me: SignedIn,
    addr: ClientAddr,
    Path(raw_id): Path<String>,
    ApiJson(request): ApiJson<EmailAddress>,
) -> ApiResult<StatusCode> {
    let subject = target(&state, &me.user, &raw_id).await?;
    let by = me.by(&state);
    let email = request.email.as_deref();
    crate::accounts::email::set(&state, by, &subject, email, addr.as_deref()).await?;
    Ok(StatusCode::NO_CONTENT)
}
