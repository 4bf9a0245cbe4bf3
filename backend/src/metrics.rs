//! Prometheus metrics at `GET /metrics` (on the main address with `--metrics`, or on an
//! address of their own with `--metrics-addr`): request counts and latency by route, sign-in
//! and code-check outcomes, enrollments and removals, the hashing queue and open sessions.
//!
//! Labels hold route templates (axum's `MatchedPath`, never the raw path), standard methods
//! (any other is `other`), statuses and outcomes only: never user names, addresses or anything
//! a client typed, so a client cannot add series.

use crate::state::AppState;
use axum::extract::{MatchedPath, Request};
use axum::http::Method;
use axum::middleware::Next;
use axum::response::Response;
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use sqlx::Row;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

const REQUESTS: &str = "twostep_http_requests_total";
const LATENCY: &str = "twostep_http_request_duration_seconds";
/// Latency buckets in seconds: from a cached page to a queued password hash.
const LATENCY_BUCKETS: [f64; 14] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
];

/// The recorder's handle, once installed.
static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();

/// The recorder's handle, installed as the process's metrics recorder on first use. Until
/// then every metric call is a no-op.
pub fn handle() -> &'static PrometheusHandle {
    HANDLE.get_or_init(|| {
        let recorder = PrometheusBuilder::new()
            .set_buckets_for_metric(Matcher::Full(LATENCY.to_owned()), &LATENCY_BUCKETS)
            .expect("constant buckets are valid")
            .build_recorder();
        let handle = recorder.handle();
        if let Err(error) = ::metrics::set_global_recorder(recorder) {
            tracing::warn!(%error, "another metrics recorder is installed");
        }
        // Upkeep drains histogram samples when nobody scrapes, so memory stays bounded.
        let upkeep = handle.clone();
        std::thread::spawn(move || {
            loop {
                std::thread::sleep(Duration::from_secs(5));
                upkeep.run_upkeep();
            }
        });
        handle
    })
}

/// Whether the recorder is installed (metrics are on).
pub fn is_on() -> bool {
    HANDLE.get().is_some()
}

/// How a password step ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignIn {
    /// Signed in (no 2-step verification).
    SignedIn,
    /// Password accepted; a code is asked for.
    CodeRequired,
    /// Wrong username or password.
    BadCredentials,
    /// Refused by a password throttle (429).
    Throttled,
}

/// How a code check (sign-in code step, or a code given as proof) ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CodeCheck {
    Accepted,
    Wrong,
    /// A code of a step already used.
    Replayed,
    /// Too many wrong codes: wait (429).
    Throttled,
    /// The code step is locked until an administrator unlocks it.
    Locked,
}

/// Counts a password step by its outcome (`twostep_sign_ins_total{outcome}`).
pub fn sign_in(outcome: SignIn) {
    let outcome = match outcome {
        SignIn::SignedIn => "signed_in",
        SignIn::CodeRequired => "code_required",
        SignIn::BadCredentials => "bad_credentials",
        SignIn::Throttled => "throttled",
    };
    ::metrics::counter!("twostep_sign_ins_total", "outcome" => outcome).increment(1);
}

/// Counts a code check by its outcome (`twostep_code_checks_total{outcome}`).
pub fn code_check(outcome: CodeCheck) {
    let outcome = match outcome {
        CodeCheck::Accepted => "accepted",
        CodeCheck::Wrong => "wrong",
        CodeCheck::Replayed => "replayed",
        CodeCheck::Throttled => "throttled",
        CodeCheck::Locked => "locked",
    };
    ::metrics::counter!("twostep_code_checks_total", "outcome" => outcome).increment(1);
}

/// Counts a device associated (`twostep_enrollments_total`).
pub fn enrollment() {
    ::metrics::counter!("twostep_enrollments_total").increment(1);
}

/// Counts a device removed, by its user or an administrator (`twostep_removals_total`).
pub fn removal() {
    ::metrics::counter!("twostep_removals_total").increment(1);
}

/// The method as a label: one of the standard methods, or `other` for any method a client
/// made up (each would otherwise be a new series in every scrape, without bound).
fn method_label(method: &Method) -> &'static str {
    match method.as_str() {
        "GET" => "GET",
        "HEAD" => "HEAD",
        "POST" => "POST",
        "PUT" => "PUT",
        "DELETE" => "DELETE",
        "PATCH" => "PATCH",
        "OPTIONS" => "OPTIONS",
        "CONNECT" => "CONNECT",
        "TRACE" => "TRACE",
        _ => "other",
    }
}

/// Middleware: counts each request and its latency by method, route template and status.
/// Requests no route matched (the browser app's files, unknown paths) share one label, and
/// so do methods that are not standard ([`method_label`]): the labels are bounded.
/// Added to the router only when metrics are on ([`is_on`]).
pub async fn track_request(route: Option<MatchedPath>, request: Request, next: Next) -> Response {
    let route = route.map_or_else(|| "unmatched".to_owned(), |r| r.as_str().to_owned());
    let method = method_label(request.method());
    let started = Instant::now();
    let response = next.run(request).await;
    let status = response.status().as_u16().to_string();
    ::metrics::histogram!(LATENCY, "method" => method, "route" => route.clone())
        .record(started.elapsed().as_secs_f64());
    ::metrics::counter!(REQUESTS, "method" => method, "route" => route, "status" => status)
        .increment(1);
    response
}

/// The gauges read at scrape time, then everything in the Prometheus text format.
pub async fn render(state: &AppState) -> Result<String, sqlx::Error> {
    ::metrics::gauge!("twostep_hashing_queue_jobs").set(state.hasher.queued() as f64);
    let now = i64::try_from(state.clock.now()).unwrap_or(i64::MAX);
    let rows = sqlx::query(
        "SELECT stage, COUNT(*) AS n FROM sessions WHERE expires_at > $1 GROUP BY stage",
    )
    .bind(now)
    .fetch_all(&state.db)
    .await?;
    for stage in ["signed_in", "verifying"] {
        let open = rows
            .iter()
            .find(|row| row.try_get::<String, _>("stage").is_ok_and(|s| s == stage))
            .map_or(Ok(0), |row| row.try_get::<i64, _>("n"))?;
        ::metrics::gauge!("twostep_open_sessions", "stage" => stage).set(open as f64);
    }
    Ok(handle().render())
}
