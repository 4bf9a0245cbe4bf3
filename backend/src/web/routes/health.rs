//! `GET /api/health`: 200 when the server can reach its database. `GET /api/ready`: 200 when
//! it should get traffic, 503 while its database is unreachable or it is shutting down.

use crate::state::AppState;
use crate::web::error::{ApiError, ApiResult};
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use axum::{Json, Router};
use std::sync::atomic::Ordering;
use twostep_shared::ErrorCode;
use twostep_shared::api::Health;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/health", get(health))
        .route("/api/ready", get(ready))
}

async fn health(State(state): State<AppState>) -> ApiResult<Json<Health>> {
    sqlx::query("SELECT 1").execute(&state.db).await?;
    Ok(Json(ok()))
}

async fn ready(State(state): State<AppState>) -> ApiResult<Json<Health>> {
    if state.shutting_down.load(Ordering::SeqCst) {
        return Err(ApiError::client(
            StatusCode::SERVICE_UNAVAILABLE,
            ErrorCode::Unavailable,
            "The server is shutting down.",
        ));
    }
    sqlx::query("SELECT 1")
        .execute(&state.db)
        .await
        .map_err(|e| ApiError::Unavailable(format!("database unavailable: {e}")))?;
    Ok(Json(ok()))
}

fn ok() -> Health {
    Health {
        status: "ok".to_owned(),
    }
}
