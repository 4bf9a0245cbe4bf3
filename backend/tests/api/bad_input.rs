//! Requests a client should not send: each gets a clear 4xx JSON error and changes nothing;
//! every response carries the security headers.

use crate::helpers::{TestApp, client, expect_error, spawn_app};
use reqwest::header::CONTENT_TYPE;
use reqwest::{Client, Response, StatusCode};
use twostep_shared::ErrorCode;

async fn post_raw(
    app: &TestApp,
    client: &Client,
    path: &str,
    content_type: Option<&str>,
    body: impl Into<reqwest::Body>,
) -> Response {
    let mut request = client.post(app.url(path)).body(body);
    if let Some(content_type) = content_type {
        request = request.header(CONTENT_TYPE, content_type);
    }
    request.send().await.expect("request")
}

const JSON: Option<&str> = Some("application/json");

#[tokio::test]
async fn malformed_json_is_a_400() {
    let app = spawn_app().await;
    let response = post_raw(&app, &client(), "/api/session", JSON, "{\"username\": ").await;
    expect_error(response, StatusCode::BAD_REQUEST, ErrorCode::BadRequest).await;
}

#[tokio::test]
async fn a_missing_field_is_a_4xx() {
    let app = spawn_app().await;
    let response = post_raw(
        &app,
        &client(),
        "/api/session",
        JSON,
        r#"{"username":"alice"}"#,
    )
    .await;
    let body = expect_error(
        response,
        StatusCode::UNPROCESSABLE_ENTITY,
        ErrorCode::BadRequest,
    )
    .await;
    assert!(body.message.contains("password"), "{}", body.message);
}

#[tokio::test]
async fn wrong_types_are_a_4xx() {
    let app = spawn_app().await;
    for body in [
        r#"{"username":42,"password":"x"}"#,
        r#"{"username":"alice","password":null}"#,
        r#"{"username":["alice"],"password":"x"}"#,
        r#"{"username":"alice","password":{"x":1}}"#,
        r#""alice""#,
    ] {
        let response = post_raw(&app, &client(), "/api/session", JSON, body).await;
        expect_error(
            response,
            StatusCode::UNPROCESSABLE_ENTITY,
            ErrorCode::BadRequest,
        )
        .await;
    }
}

#[tokio::test]
async fn a_body_without_json_content_type_is_a_415() {
    let app = spawn_app().await;
    let body = r#"{"username":"alice","password":"correct horse"}"#;
    for content_type in [
        None,
        Some("text/plain"),
        Some("application/x-www-form-urlencoded"),
    ] {
        let response = post_raw(&app, &client(), "/api/session", content_type, body).await;
        expect_error(
            response,
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ErrorCode::UnsupportedMediaType,
        )
        .await;
    }
}

#[tokio::test]
async fn a_body_over_16_kib_is_a_413() {
    let app = spawn_app().await;
    let password = "x".repeat(16 * 1024);
    let body = format!(r#"{{"username":"alice","password":"{password}"}}"#);
    let response = post_raw(&app, &client(), "/api/session", JSON, body).await;
    expect_error(
        response,
        StatusCode::PAYLOAD_TOO_LARGE,
        ErrorCode::PayloadTooLarge,
    )
    .await;
}

#[tokio::test]
async fn out_of_range_fields_are_invalid_input() {
    let app = spawn_app().await;
    let client = client();
    let long_password = "p".repeat(1025);
    let cases = [
        ("zoë", "correct horse", "username"),
        ("名前", "correct horse", "username"),
        ("al ice", "correct horse", "username"),
        ("", "correct horse", "username"),
        (&"a".repeat(65), "correct horse", "username"),
        ("alice", "", "password"),
        ("alice", &long_password, "password"),
    ];
    for (username, password, field) in cases {
        let response = app.sign_in_raw(&client, username, password).await;
        let body = expect_error(response, StatusCode::BAD_REQUEST, ErrorCode::InvalidInput).await;
        assert_eq!(body.field.as_deref(), Some(field), "{username:?}");
    }
}

#[tokio::test]
async fn unknown_api_routes_and_methods_get_json_errors() {
    let app = spawn_app().await;
    let client = client();
    for path in ["/api/nope", "/api/me/two-step/nope", "/api", "/api/"] {
        expect_error(
            app.get(&client, path).await,
            StatusCode::NOT_FOUND,
            ErrorCode::NotFound,
        )
        .await;
    }
    let response = client.put(app.url("/api/session")).send().await.unwrap();
    expect_error(
        response,
        StatusCode::METHOD_NOT_ALLOWED,
        ErrorCode::BadRequest,
    )
    .await;
}

fn assert_security_headers(response: &Response) {
    let header = |name: &str| {
        response
            .headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_else(|| panic!("{name} missing on {}", response.url()))
            .to_owned()
    };
    let csp = header("content-security-policy");
    assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
    assert!(csp.contains("default-src 'self'"), "{csp}");
    assert!(csp.contains("script-src 'self'"), "{csp}");
    assert!(!csp.contains("unsafe-inline"), "{csp}");
    assert_eq!(header("x-content-type-options"), "nosniff");
    assert_eq!(header("referrer-policy"), "no-referrer");
    assert_eq!(header("x-frame-options"), "DENY");
}

#[tokio::test]
async fn every_response_carries_the_security_headers() {
    let app = spawn_app().await;
    app.create_user("alice", "correct horse", false).await;
    let client = client();
    let responses = [
        app.get(&client, "/api/health").await,
        app.get(&client, "/api/me").await,
        app.get(&client, "/api/nope").await,
        app.get(&client, "/not-the-api").await,
        post_raw(&app, &client, "/api/session", None, "x").await,
        post_raw(&app, &client, "/api/session", JSON, "{").await,
        app.sign_in_raw(&client, "alice", "wrong horse").await,
        app.sign_in_raw(&client, "alice", "correct horse").await,
        app.get(&client, "/api/me").await,
        client.delete(app.url("/api/session")).send().await.unwrap(),
    ];
    for response in &responses {
        assert_security_headers(response);
    }
}

#[tokio::test]
async fn rejected_requests_change_nothing() {
    let app = spawn_app().await;
    app.create_user("alice", "correct horse", false).await;
    let alice = client();
    app.sign_in(&alice, "alice", "correct horse").await;
    let anonymous = client();
    // A wrong password is not bad input: it is counted (and audited), but even from a
    // signed-in client it does not end or add a session.
    let sessions_before = app.snapshot().await["sessions"].clone();
    for client in [&anonymous, &alice] {
        let response = app.sign_in_raw(client, "alice", "wrong horse").await;
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    }
    assert_eq!(app.snapshot().await["sessions"], sessions_before);

    let before = app.snapshot().await;
    let huge = format!(r#"{{"username":"{}","password":"x"}}"#, "a".repeat(20_000));

    let rejected: Vec<(Response, StatusCode)> = vec![
        (
            post_raw(&app, &anonymous, "/api/session", JSON, "{nope").await,
            StatusCode::BAD_REQUEST,
        ),
        (
            post_raw(
                &app,
                &anonymous,
                "/api/session",
                JSON,
                r#"{"username":7,"password":"correct horse"}"#,
            )
            .await,
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            post_raw(
                &app,
                &anonymous,
                "/api/session",
                None,
                r#"{"username":"alice","password":"correct horse"}"#,
            )
            .await,
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
        ),
        (
            post_raw(&app, &anonymous, "/api/session", JSON, huge).await,
            StatusCode::PAYLOAD_TOO_LARGE,
        ),
        (
            app.sign_in_raw(&anonymous, "zoë", "correct horse").await,
            StatusCode::BAD_REQUEST,
        ),
        (
            post_raw(
                &app,
                &anonymous,
                "/api/session/verify",
                JSON,
                r#"{"code":1}"#,
            )
            .await,
            StatusCode::UNAUTHORIZED,
        ),
        (
            post_raw(
                &app,
                &alice,
                "/api/me/two-step/confirm",
                JSON,
                r#"{"code1":"12345a","code2":"123456"}"#,
            )
            .await,
            StatusCode::BAD_REQUEST,
        ),
        (
            post_raw(
                &app,
                &alice,
                "/api/me/two-step/confirm",
                None,
                r#"{"code1":"123456","code2":"123457"}"#,
            )
            .await,
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
        ),
        (
            post_raw(&app, &anonymous, "/api/me/two-step/setup", JSON, "{}").await,
            StatusCode::UNAUTHORIZED,
        ),
    ];
    for (response, status) in rejected {
        let url = response.url().clone();
        assert_eq!(response.status(), status, "{url}");
        let body: twostep_shared::ErrorBody = response.json().await.expect("JSON error body");
        assert!(!body.message.is_empty(), "{url}");
    }

    app.assert_unchanged_since(&before).await;
    // Alice is still signed in.
    assert_eq!(app.me(&alice).await.username, "alice");
}

#[tokio::test]
async fn state_changing_requests_need_a_json_content_type() {
    // A cross-site HTML form can send only form or text bodies; with a cookie that would
    // otherwise be sent (same-site), none of these may act.
    let app = spawn_app().await;
    let enrolling = client();
    app.enrolled_user(&enrolling, "alice", "correct horse")
        .await;
    app.create_user("bob", "bob password", false).await;
    let bob = client();
    app.sign_in(&bob, "bob", "bob password").await;
    let pending = client();
    app.sign_in_pending(&pending, "alice", "correct horse")
        .await;
    let before = app.snapshot().await;

    let form = Some("application/x-www-form-urlencoded");
    let text = Some("text/plain");
    let cases = [
        (&bob, "/api/me/two-step/setup", None, ""),
        (&bob, "/api/me/two-step/setup", form, ""),
        (&bob, "/api/me/two-step/setup", text, "{}"),
        (
            &bob,
            "/api/me/two-step/confirm",
            text,
            r#"{"code1":"123456","code2":"654321"}"#,
        ),
        (&pending, "/api/session/verify", form, "code=123456"),
        (
            &pending,
            "/api/session/verify",
            text,
            r#"{"code":"123456"}"#,
        ),
        (
            &bob,
            "/api/session",
            form,
            "username=bob&password=bob+password",
        ),
        (
            &bob,
            "/api/session",
            text,
            r#"{"username":"bob","password":"bob password"}"#,
        ),
    ];
    for (client, path, content_type, body) in cases {
        let response = post_raw(&app, client, path, content_type, body).await;
        expect_error(
            response,
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ErrorCode::UnsupportedMediaType,
        )
        .await;
    }
    app.assert_unchanged_since(&before).await;
    // The same setup request with a JSON body works.
    app.setup(&bob).await;
    assert_eq!(app.count("two_step_setups").await, 1);
}
