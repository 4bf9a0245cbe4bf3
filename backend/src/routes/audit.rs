//! `GET /api/audit?page=N&user=ID`: the audit log for administrators, newest first.

use crate::app::AppState;
use crate::audit;
use crate::error::ApiResult;
use crate::extract::{Admin, ApiQuery};
use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use serde::Deserialize;
use twostep_shared::api::AuditPage;

pub fn router() -> Router<AppState> {
    Router::new().route("/audit", get(list))
}

#[derive(Debug, Deserialize)]
struct AuditQuery {
    /// 1-based page number.
    page: Option<u32>,
    /// Only events about this user.
    user: Option<i64>,
}

async fn list(
    State(state): State<AppState>,
    _admin: Admin,
    ApiQuery(query): ApiQuery<AuditQuery>,
) -> ApiResult<Json<AuditPage>> {
    Ok(Json(
        audit::page(&state.db, query.page.unwrap_or(1), query.user).await?,
    ))
}
