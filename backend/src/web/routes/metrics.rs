//! `GET /metrics`: the Prometheus scrape of [`crate::metrics`] (served only with `--metrics`,
//! or on `--metrics-addr`).

use crate::state::AppState;
use crate::web::error::ApiResult;
use axum::Router;
use axum::extract::State;
use axum::http::header::CONTENT_TYPE;
use axum::response::{IntoResponse, Response};
use axum::routing::get;

/// `GET /metrics`.
pub fn router() -> Router<AppState> {
    Router::new().route("/metrics", get(scrape))
}

async fn scrape(State(state): State<AppState>) -> ApiResult<Response> {
    let text = crate::metrics::render(&state).await?;
    Ok(([(CONTENT_TYPE, "text/plain; version=0.0.4")], text).into_response())
}
