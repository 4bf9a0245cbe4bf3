//! Logs on standard error, as text for people (`human`) or one JSON object per line (`json`),
//! at the level `RUST_LOG` sets (default `info`). Each request's lines carry its request id
//! (the span `request`, see [`crate::app::router`]).

use axum::extract::Request;

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum LogFormat {
    /// Text for people reading a terminal or the journal.
    #[default]
    Human,
    /// One JSON object per line (with the request's span fields), for log collectors.
    Json,
}

/// Installs the global subscriber (once; later calls change nothing).
pub fn init(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,sqlx=warn,tower_http=warn"));
    // Plain text, at a terminal too: tracing-subscriber is built without colours (its `ansi`
    // feature), whose painting of field names cost about 2,000 instructions per request even
    // with colours turned off. Control characters in messages are still escaped.
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(false)
        .with_writer(std::io::stderr);
    let _ = match format {
        LogFormat::Human => builder.try_init(),
        LogFormat::Json => builder
            .json()
            .with_current_span(true)
            .with_span_list(false)
            .try_init(),
    };
}

/// The header carrying a request's id, from a reverse proxy or made by the server.
pub const REQUEST_ID: &str = "x-request-id";

/// Gives the request its id: an incoming one that is a short token (at most 64 letters,
/// digits, `-`, `_`, `.`: a reverse proxy's) is kept, anything else is replaced with a fresh
/// UUID, so a client cannot fill every log line with text of its choosing. The id is in the
/// header only (the log span reads it there, `PropagateRequestIdLayer` copies it to the
/// response): no request extension, which `tower-http`'s `SetRequestIdLayer` would add to
/// every request. (A plain function for `tower`'s `map_request`: no boxing per request.)
pub fn with_request_id(mut request: Request) -> Request {
    let usable = request.headers().get(REQUEST_ID).is_some_and(|id| {
        let id = id.as_bytes();
        !id.is_empty()
            && id.len() <= 64
            && id
                .iter()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
    });
    if !usable {
        let mut text = uuid::Uuid::encode_buffer();
        let text = uuid::Uuid::new_v4().hyphenated().encode_lower(&mut text);
        if let Ok(value) = axum::http::HeaderValue::from_str(text) {
            request.headers_mut().insert(REQUEST_ID, value);
        }
    }
    request
}
