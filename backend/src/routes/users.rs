//! The users list and one user: `GET /api/users`, `GET /api/users/{id}`.
//!
//! Every signed-in user sees the list (name, account type, role); the 2-step status is shown
//! only to administrators and to the user themself. One user's page is for the user
//! themself and administrators.

use crate::app::AppState;
use crate::error::{ApiError, ApiResult};
use crate::extract::SignedIn;
use crate::{two_step, users};
use axum::extract::{Path, State};
use axum::routing::get;
use axum::{Json, Router};
use twostep_shared::api::{User, UserList};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/users", get(list))
        .route("/users/{id}", get(one))
}

async fn list(
    State(state): State<AppState>,
    SignedIn { user: me, .. }: SignedIn,
) -> ApiResult<Json<UserList>> {
    let mut out = Vec::new();
    for user in users::list(&state.db).await? {
        let status = if me.is_admin() || me.id == user.id {
            Some(two_step::status(&state.db, user.id).await?)
        } else {
            None
        };
        out.push(user.to_api(status));
    }
    Ok(Json(UserList { users: out }))
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
    let id = parse_id(&raw_id)?;
    if !me.is_admin() && me.id != id {
        return Err(ApiError::forbidden());
    }
    let user = users::find(&state.db, id)
        .await?
        .ok_or_else(ApiError::not_found)?;
    let status = two_step::status(&state.db, id).await?;
    Ok(Json(user.to_api(Some(status))))
}
