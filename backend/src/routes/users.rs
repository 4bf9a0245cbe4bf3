//! The users list and one user: `GET /api/users`, `GET /api/users/{id}`.
//!
//! Every signed-in user sees the list (name, account type, role); the 2-step status is shown
//! only to administrators and to the user themself. One user's page is for the user
//! themself and administrators, and so is removing its 2-step verification device (the user
//! themself with a fresh proof). Only administrators unlock a locked code step.

use crate::app::AppState;
use crate::error::{ApiError, ApiResult};
use crate::extract::{Admin, ApiJson, ClientAddr, SignedIn, TrustedBrowser};
use crate::{two_step, users};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{delete, get, post};
use axum::{Json, Router};
use twostep_shared::api::{RemoveDeviceRequest, User, UserList};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/users", get(list))
        .route("/users/{id}", get(one))
        .route("/users/{id}/two-step", delete(remove_device))
        .route("/users/{id}/two-step/unlock", post(unlock))
}

async fn list(
    State(state): State<AppState>,
    SignedIn { user: me, .. }: SignedIn,
) -> ApiResult<Json<UserList>> {
    let accounts = users::list(&state.db).await?;
    // Administrators see everyone's status (one query for all); others only their own.
    let users = if me.is_admin() {
        let statuses = two_step::statuses(&state.db).await?;
        accounts
            .iter()
            .map(|user| {
                let status = statuses.get(&user.id).cloned().unwrap_or(two_step::OFF);
                user.to_api(Some(status))
            })
            .collect()
    } else {
        let own = two_step::status(&state.db, me.id).await?;
        accounts
            .iter()
            .map(|user| user.to_api((user.id == me.id).then(|| own.clone())))
            .collect()
    };
    Ok(Json(UserList { users }))
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

async fn remove_device(
    State(state): State<AppState>,
    SignedIn { user: me, .. }: SignedIn,
    client: ClientAddr,
    TrustedBrowser(device): TrustedBrowser,
    Path(raw_id): Path<String>,
    ApiJson(request): ApiJson<RemoveDeviceRequest>,
) -> ApiResult<StatusCode> {
    let subject = target(&state, &me, &raw_id).await?;
    two_step::remove_device(
        &state,
        &me,
        &subject,
        request.proof.as_deref(),
        device,
        &client,
    )
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn unlock(
    State(state): State<AppState>,
    Admin(SignedIn { user: me, .. }): Admin,
    addr: ClientAddr,
    Path(raw_id): Path<String>,
    ApiJson(_): ApiJson<serde::de::IgnoredAny>,
) -> ApiResult<StatusCode> {
    let subject = target(&state, &me, &raw_id).await?;
    let now = state.clock.now();
    if !two_step::unlock(
        &state.db,
        crate::audit::Actor::User(&me),
        &subject,
        addr.as_deref(),
        now,
    )
    .await?
    {
        return Err(two_step::not_set_up());
    }
    Ok(StatusCode::NO_CONTENT)
}
