//! The composition root: the router (API + built frontend + security layers) and `serve`,
//! which opens the database, makes sure an administrator exists and listens. It wires the
//! state of [`crate::state`] (re-exported here for callers outside the crate) and no module
//! imports it.

use crate::clock::{Clock, SystemClock};
use crate::config::{CommonArgs, ServeArgs};
pub use crate::state::{AppState, Background, Settings};
use crate::storage::seal::SealKey;
use crate::{accounts::users, storage::db, web::headers, web::routes};
use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderValue, StatusCode, header};
use sqlx::AnyPool;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;
use tower_http::request_id::PropagateRequestIdLayer;
use tower_http::services::{ServeDir, ServeFile};
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;
use twostep_shared::api::Role;

/// Largest request body accepted (JSON bodies here are tiny).
pub const BODY_LIMIT_BYTES: usize = 16 * 1024;
/// Requests taking longer than this are answered 408.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// Whether `path` names one of trunk's hashed files (`NAME-<hash>.js`, `_bg.wasm`, `.css`):
/// its content never changes under that name.
///
/// Trunk writes the hash, a `u64`, in hex without leading zeros: 16 digits, or fewer for one
/// file in 16. 12 to 16 digits are taken (a shorter one, about one build in a million, is
/// only checked with the server on each use). With exactly 16, the stylesheet's
/// `style-eaab7d0acdf3991.css` was checked on every page load, and the app's script waits
/// for it (docs/development.md, the QR code's budget).
fn is_hashed_file(path: &str) -> bool {
    let name = path.rsplit('/').next().unwrap_or_default();
    let Some((stem, extension)) = name.rsplit_once('.') else {
        return false;
    };
    let stem = stem.strip_suffix("_bg").unwrap_or(stem);
    let hash = stem.rsplit_once('-').map_or("", |(_, hash)| hash);
    matches!(extension, "js" | "wasm" | "css")
        && (12..=16).contains(&hash.len())
        && hash.bytes().all(|b| b.is_ascii_hexdigit())
}

/// Hashed app files are cached for a year; everything else (`index.html`, also as the
/// fallback for the app's own routes) is checked with the server on each use.
async fn cache_control(
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    let hashed = is_hashed_file(request.uri().path());
    let mut response = next.run(request).await;
    let is_html = response
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|t| t.as_bytes().starts_with(b"text/html"));
    let value = if hashed && response.status().is_success() && !is_html {
        "public, max-age=31536000, immutable"
    } else {
        "no-cache"
    };
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static(value));
    response
}

/// The whole HTTP app: `/api`, the built frontend from `dist_dir` (any other path falls back
/// to its `index.html`, for the browser's router), security headers, body limit, timeout.
pub fn router(state: AppState, dist_dir: Option<&Path>) -> Router {
    let index_html = dist_dir.and_then(|dir| std::fs::read_to_string(dir.join("index.html")).ok());
    let csp = headers::content_security_policy(&headers::inline_script_hashes(
        index_html.as_deref().unwrap_or_default(),
    ));
    let https = state.settings.public_url.starts_with("https://");
    // The API's routes carry their `/api` prefix themselves: a nested router would rewrite
    // every request's path on its way in.
    let mut app = routes::api_router();
    if state.settings.metrics_route {
        crate::metrics::handle();
        app = app.merge(crate::web::routes::metrics::router());
    } else {
        // Not the browser app's index.html through the fallback: without `--metrics` there is
        // nothing at `/metrics` here (with `--metrics-addr` they are on their own address).
        app = app.route(
            "/metrics",
            axum::routing::any(|| async { (StatusCode::NOT_FOUND, "Not found.") }),
        );
    }
    let mut app = app.with_state(state);
    match (dist_dir, &index_html) {
        (Some(dir), Some(_)) => {
            // `FILE.br` beside a file (written by `cargo xtask build-frontend`) is sent to browsers
            // that accept brotli; anything else is compressed on the fly. Only the app's files:
            // API answers carry secrets once and are not compressed.
            let spa = ServeDir::new(dir)
                .precompressed_br()
                .fallback(ServeFile::new(dir.join("index.html")).precompressed_br());
            let spa = tower::ServiceBuilder::new()
                .layer(axum::middleware::from_fn(cache_control))
                .layer(tower_http::compression::CompressionLayer::new())
                .service(spa);
            app = app.fallback_service(spa);
        }
        _ => {
            tracing::warn!(
                "no built frontend found; serving the API only (build it with `cargo xtask run`)"
            );
            app = app.fallback(|| async {
                (
                    StatusCode::NOT_FOUND,
                    "The twostep frontend is not built. Start the server with `cargo xtask run`.",
                )
            });
        }
    }
    // Metrics label requests by their matched route, so they are measured inside the routing;
    // and only when they are on (`--metrics`, `--metrics-addr`: the recorder is installed
    // before the router is built), so otherwise no request pays for them.
    if crate::metrics::is_on() {
        app = app.layer(axum::middleware::from_fn(crate::metrics::track_request));
    }
    // Everything else, outermost first, around each route and the fallback (`Router::layer`):
    // a request is routed once and runs the one stack of its route. (The whole router inside
    // one stack needs a second router around it, so every request was routed twice.)
    let default_headers = headers::DefaultHeaders::new(&csp, https);
    let edge = tower::ServiceBuilder::new()
        // A request id (a fresh UUID, or a usable one a reverse proxy sent) on the request, in
        // its log lines through the span below, and on the response as `x-request-id`.
        .map_request(crate::logging::with_request_id)
        .layer(PropagateRequestIdLayer::x_request_id())
        .layer(TraceLayer::new_for_http().make_span_with(request_span))
        .layer(TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            REQUEST_TIMEOUT,
        ))
        .layer(DefaultBodyLimit::max(BODY_LIMIT_BYTES))
        .map_response(move |response| default_headers.add_to(response))
        .into_inner();
    app.layer(edge)
}

/// The span of a request, on each of its log lines: the request id, method and path only.
/// The query is left out because an identity provider's answer carries its authorization code
/// and state there.
fn request_span<B>(request: &axum::http::Request<B>) -> tracing::Span {
    let request_id = request
        .headers()
        .get(crate::logging::REQUEST_ID)
        .and_then(|id| id.to_str().ok())
        .unwrap_or_default();
    // Recorded with `Display` (`%`): the text is written as it is, not escaped char by char.
    tracing::info_span!(
        "request",
        request_id = %request_id,
        method = %request.method(),
        path = %request.uri().path(),
    )
}

/// Opens the database and the server key: what both `serve` and the CLI need.
pub async fn open(common: &CommonArgs) -> Result<(AnyPool, SealKey), String> {
    create_data_dir(common)?;
    let db = db::connect_with(&common.database_url(), common.sqlite_synchronous).await?;
    let seal = SealKey::load(common.secret_key.as_deref(), &common.data_dir)?;
    Ok((db, seal))
}

/// The data folder (0700), and an existing SQLite database narrowed to 0600.
fn create_data_dir(common: &CommonArgs) -> Result<(), String> {
    crate::storage::private_files::restrict_new_files();
    crate::storage::private_files::create_folder(&common.data_dir)?;
    if let Some(database) = crate::storage::db::sqlite_file(&common.database_url()) {
        crate::storage::private_files::narrow_database(&database)?;
    }
    Ok(())
}

/// Runs the server until Ctrl-C or SIGTERM, finishing requests in flight.
pub async fn serve(common: &CommonArgs, args: ServeArgs) -> Result<(), String> {
    let identity_providers = match &common.identity_providers {
        Some(path) => crate::oidc::providers::load(path)?,
        None => Vec::new(),
    };
    create_data_dir(common)?;
    // Held until the server has stopped: `twostep restore` refuses meanwhile.
    let _in_use = crate::storage::db::sqlite_file(&common.database_url())
        .map(|database| crate::storage::in_use::by_server(&database))
        .transpose()?;
    let (db, seal) = open(common).await?;
    let listener = tokio::net::TcpListener::bind(args.addr)
        .await
        .map_err(|e| format!("cannot listen on {}: {e}", args.addr))?;
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    let metrics_listener = match args.metrics_addr {
        Some(metrics_addr) => {
            crate::metrics::handle();
            let listener = tokio::net::TcpListener::bind(metrics_addr)
                .await
                .map_err(|e| format!("cannot listen on {metrics_addr} for metrics: {e}"))?;
            let bound = listener.local_addr().map_err(|e| e.to_string())?;
            println!("twostep metrics on http://{bound}/metrics");
            Some(listener)
        }
        None => None,
    };
    let public_url = match &args.public_url {
        Some(url) => check_public_url(url)?,
        None => format!("http://{addr}"),
    };
    for provider in &identity_providers {
        tracing::info!(
            provider = %provider.name,
            issuer = provider.issuer.as_str(),
            redirect_uri = %format!("{public_url}{}", crate::web::routes::OIDC_CALLBACK_PATH),
            "identity provider configured"
        );
    }
    let mail = common
        .mail_settings(&args.issuer)
        .map_err(|e| e.to_string())?;
    if mail.is_none() {
        tracing::info!("no --smtp-url: security e-mails are off");
    }
    let settings = Settings {
        issuer: args.issuer.clone(),
        secure_cookies: args.secure_cookies || public_url.starts_with("https://"),
        identity_providers,
        public_url,
        trusted_proxies: args.trusted_proxies.clone(),
        audit_retention_days: args.audit_retention_days,
        metrics_route: args.metrics,
        session_limits: crate::sessions::policy::SessionLimits {
            idle_seconds: args.session_idle_minutes * 60,
            recent_seconds: args.recent_sign_in_seconds,
        },
        session_cache: args.session_cache,
        mail: mail.map(Arc::new),
        ..Settings::default()
    };
    let state = AppState::new(db, Arc::new(SystemClock), seal, settings);
    ensure_administrator(&state, &common.data_dir).await?;
    let _background = state.start_background();
    crate::storage::sweep::spawn(
        state.db.clone(),
        state.clock.clone(),
        args.audit_retention_days,
        state.settings.session_limits.idle_seconds,
    );
    let shutting_down = state.shutting_down.clone();
    if let Some(listener) = metrics_listener {
        let metrics_app = crate::web::routes::metrics::router().with_state(state.clone());
        // Stops with the process.
        tokio::spawn(crate::web::serve::run(
            listener,
            metrics_app,
            crate::web::serve::ConnectionLimits::default(),
            std::future::pending(),
        ));
    }
    let app = router(state, Some(&args.dist_dir));
    println!("twostep listening on http://{addr}");
    let limits = crate::web::serve::ConnectionLimits {
        header_read_timeout: Duration::from_secs(args.header_read_timeout),
        ..Default::default()
    };
    let shutdown = async move {
        shutdown_signal().await;
        shutting_down.store(true, Ordering::SeqCst);
    };
    crate::web::serve::run(listener, app, limits, shutdown).await;
    Ok(())
}

/// `--public-url`: the http(s) origin people use (the app is served at the root, so no path,
/// query or fragment); returned without a trailing slash. Its host is the relying party of
/// security keys, which an IP address can never be: refused.
pub fn check_public_url(text: &str) -> Result<String, String> {
    let url = openidconnect::url::Url::parse(text)
        .map_err(|e| format!("--public-url {text:?} is not a URL: {e}"))?;
    if !matches!(url.scheme(), "http" | "https")
        || url.path() != "/"
        || url.query().is_some()
        || url.fragment().is_some()
    {
        return Err(format!(
            "--public-url {text:?} must be an http or https URL without path, query or fragment, \
             e.g. https://team.example.com"
        ));
    }
    if !matches!(url.host(), Some(openidconnect::url::Host::Domain(_))) {
        return Err(format!(
            "--public-url {text:?} names an IP address: security keys and passkeys belong to a \
             host name (the relying party), e.g. https://team.example.com or http://localhost:8080"
        ));
    }
    Ok(url.as_str().trim_end_matches('/').to_owned())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    tracing::info!("shutting down: finishing requests in flight");
}

/// On first start (no administrator), creates `admin` with a random password and prints it
/// once on standard output. It is never logged or stored in plain text.
/// Where the first start writes the administrator's password (in the data folder).
pub const INITIAL_ADMIN_PASSWORD_FILE: &str = "initial-admin-password";

async fn ensure_administrator(state: &AppState, data_dir: &Path) -> Result<(), String> {
    let db = &state.db;
    if users::administrator_exists(db)
        .await
        .map_err(|e| e.to_string())?
    {
        return Ok(());
    }
    let password = random_password();
    // On a hashing thread, in its working memory (no one-off 19 MiB).
    let hash = state
        .hasher
        .hash(password.clone())
        .await
        .map_err(|e| e.to_string())?;
    let new = users::NewUser {
        username: "admin",
        password_hash: Some(hash),
        role: Role::Administrator,
        identity_provider: None,
        link: users::IdentityLink::default(),
    };
    let created = users::create(db, new, SystemClock.now())
        .await
        .map_err(|e| e.to_string())?;
    if created.is_none() {
        println!(
            "No administrator exists and the name 'admin' is taken. Create one with:\n  twostep user create NAME --admin"
        );
        return Ok(());
    }
    let file = data_dir.join(INITIAL_ADMIN_PASSWORD_FILE);
    crate::storage::private_files::write(&file, &format!("{password}\n"))
        .map_err(|e| format!("cannot write {}: {e}", file.display()))?;
    tracing::info!(
        file = %file.display(),
        "first start: created the administrator account 'admin'; its password is in this file, \
         readable only by this user. Sign in, change it in Manage profile, then delete the file"
    );
    println!(
        "First start: created the administrator account.\n  username: admin\n  password: in {}\n\
         Sign in, change the password in Manage profile → Password, then delete that file.",
        file.display()
    );
    Ok(())
}

/// 20 characters from the recovery-code alphabet: 100 bits.
fn random_password() -> String {
    use aes_gcm::aead::OsRng;
    use aes_gcm::aead::rand_core::RngCore;
    let mut bytes = [0u8; 20];
    OsRng.fill_bytes(&mut bytes);
    bytes
        .iter()
        .map(|b| twostep_shared::input::RECOVERY_ALPHABET[usize::from(b % 32)] as char)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::check_public_url;

    #[test]
    fn public_url_is_an_origin() {
        assert_eq!(
            check_public_url("https://team.example.com/").unwrap(),
            "https://team.example.com"
        );
        assert_eq!(
            check_public_url("http://localhost:8080").unwrap(),
            "http://localhost:8080"
        );
        for bad in [
            "http://127.0.0.1:8080",
            "https://[::1]:8443",
            "team.example.com",
            "ftp://team.example.com",
            "https://example.com/team",
            "https://team.example.com/?a=1",
        ] {
            assert!(check_public_url(bad).is_err(), "{bad}");
        }
    }
}
