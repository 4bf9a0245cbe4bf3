//! The baseline for `cargo xtask bench`: the cheapest possible axum handler, served the way
//! `twostep serve` serves (`twostep::web::serve::run`: the same hyper connection loop and limits, on
//! `#[tokio::main]` with one worker per core), so a ratio to it isolates what the app adds.
//!
//! `cargo run --release -p twostep --example bare_axum -- [ADDR]` serves `GET /` → `ok` on ADDR
//! (default `127.0.0.1:0`, a free port) and prints `bare axum listening on http://ADDR`.

use axum::Router;
use axum::routing::get;
use twostep::web::serve::{ConnectionLimits, run};

#[tokio::main]
async fn main() -> Result<(), String> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:0".to_owned());
    let listener = tokio::net::TcpListener::bind(&addr)
        .await
        .map_err(|e| format!("cannot listen on {addr}: {e}"))?;
    let bound = listener.local_addr().map_err(|e| e.to_string())?;
    println!("bare axum listening on http://{bound}");
    let app = Router::new().route("/", get(|| async { "ok" }));
    run(
        listener,
        app,
        ConnectionLimits::default(),
        std::future::pending(),
    )
    .await;
    Ok(())
}
