//! The `/api` routes, one module per area, each with its own `router()`.

use crate::state::AppState;
use crate::web::error::ApiError;
use axum::Router;
use axum::http::StatusCode;
use twostep_shared::ErrorCode;

mod audit;
mod health;
mod me;
pub mod metrics;
mod oidc;
mod security_keys;
mod session;
mod users;

pub use oidc::{CALLBACK_PATH as OIDC_CALLBACK_PATH, start_url};

/// Everything under `/api`; unknown paths and methods answer with a JSON error.
pub fn api_router() -> Router<AppState> {
    Router::new()
        .merge(audit::router())
        .merge(health::router())
        .merge(session::router())
        .merge(me::router())
        .merge(oidc::router())
        .merge(security_keys::router())
        .merge(users::router())
        .fallback(|| async {
            ApiError::client(
                StatusCode::NOT_FOUND,
                ErrorCode::NotFound,
                "No such API endpoint.",
            )
        })
        .method_not_allowed_fallback(|| async {
            ApiError::client(
                StatusCode::METHOD_NOT_ALLOWED,
                ErrorCode::BadRequest,
                "This API endpoint does not accept that method.",
            )
        })
}
