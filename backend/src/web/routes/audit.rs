//! The audit log for administrators, newest first, filtered by user name, event kind or
//! account: `GET /api/audit?page=N&q=NAME&event=KIND&user=ID` (50 a page) and
//! `GET /api/audit.csv?q=NAME&event=KIND&user=ID` (every matching event, as a download).

use crate::audit::csv;
use crate::audit::{self, Filter};
use crate::state::AppState;
use crate::web::error::{ApiError, ApiResult};
use crate::web::extract::{Admin, ApiQuery};
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde::Deserialize;
use std::num::NonZeroU32;
use twostep_shared::api::{AuditEventKind, AuditPage};
use twostep_shared::input::USERNAME_MAX;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/audit", get(list))
        .route("/api/audit.csv", get(csv))
}

/// `GET /api/audit`'s query. (Two query types rather than one `flatten`ed into the other:
/// a flattened query reads numbers as text and refuses them.)
#[derive(Debug, Deserialize)]
struct PageQuery {
    /// 1-based page number (`0` is refused like any other bad query).
    page: Option<NonZeroU32>,
    q: Option<String>,
    event: Option<AuditEventKind>,
    user: Option<i64>,
}

/// `GET /api/audit.csv`'s query: the filter alone (there are no pages).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CsvQuery {
    q: Option<String>,
    event: Option<AuditEventKind>,
    user: Option<i64>,
}

/// The filter of a query: events by or about users whose name contains `q` (any case; blank
/// means everyone), of kind `event`, about the account `user`.
fn filter(
    q: Option<String>,
    event: Option<AuditEventKind>,
    user: Option<i64>,
) -> ApiResult<Filter> {
    let name = q.map(|q| q.trim().to_owned()).filter(|q| !q.is_empty());
    if name
        .as_ref()
        .is_some_and(|n| n.chars().count() > USERNAME_MAX)
    {
        return Err(ApiError::invalid(
            "q",
            format!("Search for at most {USERNAME_MAX} characters of a name."),
        ));
    }
    Ok(Filter {
        subject_id: user,
        kind: event,
        name,
    })
}

async fn list(
    State(state): State<AppState>,
    _admin: Admin,
    ApiQuery(query): ApiQuery<PageQuery>,
) -> ApiResult<Json<AuditPage>> {
    let filter = filter(query.q, query.event, query.user)?;
    let page = query.page.map_or(1, NonZeroU32::get);
    Ok(Json(audit::page(&state.db, page, &filter).await?))
}

async fn csv(
    State(state): State<AppState>,
    _admin: Admin,
    ApiQuery(query): ApiQuery<CsvQuery>,
) -> ApiResult<Response> {
    let filter = filter(query.q, query.event, query.user)?;
    let body = Body::from_stream(csv::export(state.db.clone(), filter));
    Ok((
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/csv; charset=utf-8"),
            ),
            (
                header::CONTENT_DISPOSITION,
                HeaderValue::from_static("attachment; filename=\"audit-log.csv\""),
            ),
            // Who did what from where: not for shared caches nor the browser's.
            (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
        ],
        body,
    )
        .into_response())
}
