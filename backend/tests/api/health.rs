//! `GET /api/health` and `GET /api/ready`: ready is 200 normally, 503 with a JSON error once a
//! shutdown has begun and while the database cannot be reached.

use crate::helpers::{client, expect_error, ok_json, spawn_app};
use axum::body::Body;
use axum::http::{Request, StatusCode};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use tower::ServiceExt;
use twostep::app::{AppState, Settings, router};
use twostep::clock::ManualClock;
use twostep::storage::seal::SealKey;
use twostep_shared::api::Health;
use twostep_shared::{ErrorBody, ErrorCode};

#[tokio::test]
async fn ready_and_health_answer_200_while_all_is_well() {
    let app = spawn_app().await;
    for path in ["/api/health", "/api/ready"] {
        let health: Health = ok_json(app.get(&client(), path).await).await;
        assert_eq!(health.status, "ok");
    }
}

#[tokio::test]
async fn ready_answers_503_while_the_database_is_unreachable() {
    let app = spawn_app().await;
    app.db.close().await;
    expect_error(
        app.get(&client(), "/api/ready").await,
        reqwest::StatusCode::SERVICE_UNAVAILABLE,
        ErrorCode::Unavailable,
    )
    .await;
}

#[tokio::test]
async fn ready_answers_503_once_a_shutdown_has_begun() {
    let app = spawn_app().await;
    let state = AppState::new(
        app.db.clone(),
        Arc::new(ManualClock::new(0)),
        SealKey::generate(),
        Settings::default(),
    );
    let shutting_down = state.shutting_down.clone();
    let router = router(state, None);
    let ready = || Request::get("/api/ready").body(Body::empty()).unwrap();
    let response = router.clone().oneshot(ready()).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);

    shutting_down.store(true, Ordering::SeqCst);
    let response = router.clone().oneshot(ready()).await.unwrap();
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    let body = axum::body::to_bytes(response.into_body(), 64 * 1024)
        .await
        .unwrap();
    let error: ErrorBody = serde_json::from_slice(&body).unwrap();
    assert_eq!(error.code, ErrorCode::Unavailable);
    assert!(error.message.contains("shutting down"), "{}", error.message);
    // Alive all the same: health only asks the database.
    let health = Request::get("/api/health").body(Body::empty()).unwrap();
    assert_eq!(
        router.oneshot(health).await.unwrap().status(),
        StatusCode::OK
    );
}
