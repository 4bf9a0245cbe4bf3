//! The `/api` routes, one module per area, each with its own `router()`.

use crate::state::AppState;
use crate::web::error::ApiError;
use axum::Router;
use axum::http::StatusCode;
use axum::routing::any;
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

/// Everything under `/api` (each route with its full path); unknown paths and methods answer
/// with a JSON error.
pub fn api_router() -> Router<AppState> {
    Router::new()
        .merge(audit::router())
        .merge(health::router())
        .merge(session::router())
        .merge(me::router())
        .merge(oidc::router())
        .merge(security_keys::router())
        .merge(users::router())
        // Any other path under `/api` is a JSON 404, not the browser app's page.
        .route("/api", any(no_such_endpoint))
        .route("/api/", any(no_such_endpoint))
        .route("/api/{*rest}", any(no_such_endpoint))
        .method_not_allowed_fallback(|| async {
            ApiError::client(
                StatusCode::METHOD_NOT_ALLOWED,
                ErrorCode::BadRequest,
                "This API endpoint does not accept that method.",
            )
        })
}

async fn no_such_endpoint() -> ApiError {
    ApiError::client(
        StatusCode::NOT_FOUND,
        ErrorCode::NotFound,
        "No such API endpoint.",
    )
}
