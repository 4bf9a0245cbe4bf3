//! `GET /api/audit?page=N&user=ID`: the audit log for administrators, newest first.

use crate::app::AppState;
use crate::audit;
use crate::error::ApiResult;
use crate::extract::{Admin, ApiQuery};
use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use serde::Deserialize;
use std::num::NonZeroU32;
use twostep_shared::api::AuditPage;

pub fn router() -> Router<AppState> {
    Router::new().route("/audit", get(list))
}

#[derive(Debug, Deserialize)]
struct AuditQuery {
    /// 1-based page number (`0` is refused like any other bad query).
    page: Option<NonZeroU32>,
    /// Only events about this user.
    user: Option<i64>,
}

async fn list(
    State(state): State<AppState>,
    _admin: Admin,
    ApiQuery(query): ApiQuery<AuditQuery>,
) -> ApiResult<Json<AuditPage>> {
    Ok(Json(
        audit::page(&state.db, query.page.map_or(1, NonZeroU32::get), query.user).await?,
    ))
}
