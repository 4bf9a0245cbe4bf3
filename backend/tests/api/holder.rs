//! The holder's controls: "Confirm it's you" before sensitive actions (the recent-sign-in
//! window on an injected clock), re-authentication by password or app code and its limits,
//! "Where you're signed in" (listing and ending sessions, by the holder and by an
//! administrator), the idle limit, changing the password, moving to a new phone, and the
//! holder's security activity.

use crate::helpers::{
    STEP, TestApp, client, expect_error, ok_json, spawn_app, spawn_app_with, totp,
};
use reqwest::{Client, Method, StatusCode};
use serde_json::json;
use twostep::app::Settings;
use twostep_shared::ErrorCode;
use twostep_shared::account::{SessionList, SessionsEnded};
use twostep_shared::api::AuditEventKind;

const PASSWORD: &str = "correct horse";
const RECENT: u64 = 600;
const CHROME_LINUX: &str = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36";
const FIREFOX_WINDOWS: &str =
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0";

/// A browser-like client that says which browser it is.
fn browser(user_agent: &str) -> Client {
    Client::builder()
        .cookie_store(true)
        .user_agent(user_agent)
        .build()
        .expect("HTTP client")
}

/// The events of `kind` about `name`, as an administrator `root` (created here) reads them.
async fn events_about(
    app: &TestApp,
    name: &str,
    kind: AuditEventKind,
) -> Vec<twostep_shared::api::AuditEntry> {
    if twostep::accounts::users::find_by_name(&app.db, "root")
        .await
        .unwrap()
        .is_none()
    {
        app.create_user("root", "root password", true).await;
    }
    let admin = client();
    app.sign_in(&admin, "root", "root password").await;
    app.audit_log(&admin, Some(app.user_id(name).await))
        .await
        .into_iter()
        .filter(|e| e.event == kind)
        .collect()
}

async fn sessions(app: &TestApp, client: &Client) -> SessionList {
    ok_json(app.get(client, "/api/me/sessions").await).await
}

async fn send(app: &TestApp, client: &Client, method: Method, path: &str) -> reqwest::Response {
    app.send_json(client, method, path, &json!({})).await
}

async fn change_password(
    app: &TestApp,
    client: &Client,
    current: &str,
    new: &str,
) -> reqwest::Response {
    let body = json!({ "current_password": current, "new_password": new });
    app.send_json(client, Method::POST, "/api/me/password", &body)
        .await
}

/// Each sensitive action, as a request that would succeed on a recent session.
async fn every_sensitive_action_asks_to_confirm(app: &TestApp, client: &Client, user: i64) {
    let other = "x".repeat(22);
    let attempts = [
        (Method::POST, "/api/me/two-step/setup".to_owned(), json!({})),
        (
            Method::POST,
            "/api/me/two-step/confirm".to_owned(),
            json!({"code1": "123456", "code2": "234567"}),
        ),
        (
            Method::POST,
            "/api/me/two-step/recovery-codes".to_owned(),
            json!({"code": "123456"}),
        ),
        (
            Method::DELETE,
            format!("/api/users/{user}/two-step"),
            json!({"proof": PASSWORD}),
        ),
        (
            Method::POST,
            "/api/me/password".to_owned(),
            json!({"current_password": PASSWORD, "new_password": "a brand new passphrase"}),
        ),
        (Method::DELETE, "/api/me/sessions".to_owned(), json!({})),
        (
            Method::POST,
            "/api/me/two-step/replacement/setup".to_owned(),
            json!({}),
        ),
        (
            Method::POST,
            "/api/me/two-step/replacement/confirm".to_owned(),
            json!({"code1": "123456", "code2": "234567"}),
        ),
        (
            Method::DELETE,
            format!("/api/me/sessions/{other}"),
            json!({}),
        ),
    ];
    for (method, path, body) in attempts {
        let response = app.send_json(client, method.clone(), &path, &body).await;
        let error = expect_error(
            response,
            StatusCode::FORBIDDEN,
            ErrorCode::ReauthenticationRequired,
        )
        .await;
        assert!(
            error.message.contains("Confirm it's you"),
            "{method} {path}"
        );
    }
}

#[tokio::test]
async fn sensitive_actions_need_a_recent_sign_in_and_re_authentication_renews_it() {
    let app = spawn_app().await;
    let alice = app.create_user("alice", PASSWORD, false).await;
    let client = client();
    app.sign_in(&client, "alice", PASSWORD).await;
    // Within the window, setup goes ahead.
    app.clock.advance(RECENT - 1);
    assert_eq!(app.setup_raw(&client).await.status(), StatusCode::OK);
    app.clock.advance(1);
    // Reading is not sensitive (and writes "last seen" for this minute).
    assert_eq!(app.get(&client, "/api/me").await.status(), StatusCode::OK);
    assert_eq!(sessions(&app, &client).await.sessions.len(), 1);
    let before = app.snapshot().await;
    every_sensitive_action_asks_to_confirm(&app, &client, alice).await;
    app.assert_unchanged_since(&before).await;

    // A wrong password does not renew it.
    let wrong = expect_error(
        app.reauthenticate(&client, "not my password").await,
        StatusCode::FORBIDDEN,
        ErrorCode::ProofWrong,
    )
    .await;
    assert_eq!(wrong.field.as_deref(), Some("password"));
    expect_error(
        app.setup_raw(&client).await,
        StatusCode::FORBIDDEN,
        ErrorCode::ReauthenticationRequired,
    )
    .await;
    // The right one does, for another window.
    app.reauthenticate_ok(&client, PASSWORD).await;
    app.clock.advance(RECENT - 1);
    assert_eq!(app.setup_raw(&client).await.status(), StatusCode::OK);
    app.clock.advance(1);
    every_sensitive_action_asks_to_confirm(&app, &client, alice).await;
}

#[tokio::test]
async fn the_window_is_the_configured_one() {
    let app = spawn_app_with(Settings {
        session_limits: twostep::sessions::policy::SessionLimits {
            recent_seconds: 60,
            ..Default::default()
        },
        ..Settings::default()
    })
    .await;
    app.create_user("alice", PASSWORD, false).await;
    let client = client();
    app.sign_in(&client, "alice", PASSWORD).await;
    app.clock.advance(59);
    assert_eq!(app.setup_raw(&client).await.status(), StatusCode::OK);
    app.clock.advance(1);
    expect_error(
        app.setup_raw(&client).await,
        StatusCode::FORBIDDEN,
        ErrorCode::ReauthenticationRequired,
    )
    .await;
}

#[tokio::test]
async fn re_authentication_with_an_app_code_spends_it() {
    let app = spawn_app().await;
    let client = client();
    let enrolled = app.enrolled_user(&client, "alice", PASSWORD).await;
    app.clock.advance(RECENT + STEP);
    let code = totp(&enrolled.secret, app.now_step());
    let body = json!({ "code": code });
    let path = "/api/session/reauthenticate";
    let response = app.send_json(&client, Method::POST, path, &body).await;
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    assert_eq!(
        app.send_json(
            &client,
            Method::POST,
            "/api/me/two-step/recovery-codes",
            &json!({"code": totp(&enrolled.secret, app.now_step() + 1)})
        )
        .await
        .status(),
        StatusCode::OK,
        "recent again"
    );
    // The same code again is refused as already used (the step was spent).
    let again = expect_error(
        app.send_json(&client, Method::POST, path, &body).await,
        StatusCode::UNAUTHORIZED,
        ErrorCode::CodeWrong,
    )
    .await;
    assert!(again.message.contains("already used"), "{}", again.message);
    // A recovery code is not a way to confirm it's you.
    let recovery = json!({ "code": enrolled.recovery_codes[0] });
    expect_error(
        app.send_json(&client, Method::POST, path, &recovery).await,
        StatusCode::BAD_REQUEST,
        ErrorCode::InvalidInput,
    )
    .await;
    // Neither or both proofs: a clear 400.
    for body in [json!({}), json!({"password": PASSWORD, "code": "123456"})] {
        expect_error(
            app.send_json(&client, Method::POST, path, &body).await,
            StatusCode::BAD_REQUEST,
            ErrorCode::BadRequest,
        )
        .await;
    }
}

#[tokio::test]
async fn wrong_re_authentication_passwords_are_counted_like_the_password_step() {
    let app = spawn_app().await;
    app.create_user("alice", PASSWORD, false).await;
    let client = client();
    app.sign_in(&client, "alice", PASSWORD).await;
    let other = app.another_instance().await;
    let hashed_so_far = || app.hasher.jobs_run() + other.hasher.jobs_run();
    let hashed_before = hashed_so_far();
    // Thirty at once, to two instances: each reserved before its hash, so no more are hashed
    // than the password step's free tries, and every refusal beyond is a 429 before any work.
    let barrier = std::sync::Arc::new(tokio::sync::Barrier::new(30));
    let mut tasks = Vec::new();
    for i in 0..30 {
        let instance = if i % 2 == 0 { &app } else { &other };
        let (app_url, client, barrier) = (instance.url(""), client.clone(), barrier.clone());
        tasks.push(tokio::spawn(async move {
            barrier.wait().await;
            client
                .post(format!("{app_url}/api/session/reauthenticate"))
                .json(&json!({"password": "wrong guess"}))
                .send()
                .await
                .expect("request")
                .status()
        }));
    }
    let mut wrong = 0;
    for task in tasks {
        match task.await.unwrap() {
            StatusCode::FORBIDDEN => wrong += 1,
            StatusCode::TOO_MANY_REQUESTS => {}
            other => panic!("unexpected {other}"),
        }
    }
    let hashed = hashed_so_far() - hashed_before;
    assert!((1..=10).contains(&wrong), "{wrong} wrong answers");
    assert_eq!(
        hashed, wrong,
        "one hash per counted attempt, none for a refused one"
    );
    // Sequentially, the eleventh wrong password in a row waits.
    for _ in wrong..10 {
        let status = app.reauthenticate(&client, "wrong guess").await.status();
        assert_eq!(status, StatusCode::FORBIDDEN);
    }
    expect_error(
        app.reauthenticate(&client, "wrong guess").await,
        StatusCode::TOO_MANY_REQUESTS,
        ErrorCode::TooManyAttempts,
    )
    .await;
}

#[tokio::test]
async fn organizational_accounts_are_told_to_sign_in_again_at_their_provider() {
    let app = spawn_app().await;
    let id = app.create_organizational_user("olga", "Acme SSO").await;
    let cookie = app
        .session_cookie_for(id, twostep::sessions::Stage::SignedIn)
        .await;
    let response = crate::helpers::bare_client()
        .post(app.url("/api/session/reauthenticate"))
        .header(reqwest::header::COOKIE, cookie)
        .json(&json!({"password": "anything"}))
        .send()
        .await
        .unwrap();
    let error = expect_error(
        response,
        StatusCode::FORBIDDEN,
        ErrorCode::OrganizationalAccount,
    )
    .await;
    assert!(error.message.contains("Acme SSO"), "{}", error.message);
}

#[tokio::test]
async fn the_holder_sees_their_sessions_and_ends_one_or_all_others() {
    let app = spawn_app().await;
    app.create_user("alice", PASSWORD, false).await;
    let laptop = browser(CHROME_LINUX);
    let desktop = browser(FIREFOX_WINDOWS);
    let phone = browser("x");
    app.sign_in(&laptop, "alice", PASSWORD).await;
    app.clock.advance(120);
    app.sign_in(&desktop, "alice", PASSWORD).await;
    app.clock.advance(120);
    app.sign_in(&phone, "alice", PASSWORD).await;

    let listed = sessions(&app, &laptop).await.sessions;
    assert_eq!(listed.len(), 3);
    let current: Vec<_> = listed.iter().filter(|s| s.current).collect();
    assert_eq!(current.len(), 1);
    assert_eq!(current[0].device, "Chrome on Linux");
    // The laptop was just seen (this request, a minute or more after its last write).
    assert_eq!(current[0].last_seen_at, app.now());
    assert_eq!(current[0].started_at, app.now() - 240);
    let firefox = listed
        .iter()
        .find(|s| s.device == "Firefox on Windows 10")
        .expect("the desktop's session");
    assert!(!firefox.current);
    assert_eq!(firefox.client_addr.as_deref(), Some("127.0.0.1"));
    assert!(listed.iter().any(|s| s.device == "Unknown browser"));
    // No token or token hash is shown.
    let stored: Vec<String> = sqlx::query_scalar("SELECT token_hash FROM sessions")
        .fetch_all(&app.db)
        .await
        .unwrap();
    for session in &listed {
        assert!(!stored.contains(&session.id));
    }

    // Ending the desktop's session: its next request is refused, the others go on.
    let path = format!("/api/me/sessions/{}", firefox.id);
    assert_eq!(
        send(&app, &laptop, Method::DELETE, &path).await.status(),
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        app.get(&desktop, "/api/me").await.status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(app.get(&phone, "/api/me").await.status(), StatusCode::OK);
    // Already ended, or not one of alice's: not found.
    expect_error(
        send(&app, &laptop, Method::DELETE, &path).await,
        StatusCode::NOT_FOUND,
        ErrorCode::NotFound,
    )
    .await;

    // Ending all others: the phone's too; the laptop stays.
    let ended: SessionsEnded =
        ok_json(send(&app, &laptop, Method::DELETE, "/api/me/sessions").await).await;
    assert_eq!(ended.sessions_ended, 1);
    assert_eq!(
        app.get(&phone, "/api/me").await.status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(app.get(&laptop, "/api/me").await.status(), StatusCode::OK);
    assert_eq!(sessions(&app, &laptop).await.sessions.len(), 1);

    let events = events_about(&app, "alice", AuditEventKind::SessionsEnded).await;
    assert_eq!(events.len(), 2, "{events:?}");
    assert!(events.iter().all(|e| e.actor.as_deref() == Some("alice")));
    // Sign-ins name the browser they came from.
    let devices: Vec<_> = events_about(&app, "alice", AuditEventKind::SignedIn)
        .await
        .into_iter()
        .filter_map(|e| e.detail)
        .collect();
    assert!(
        devices.contains(&"Chrome on Linux".to_owned()),
        "{devices:?}"
    );
    assert!(
        devices.contains(&"Firefox on Windows 10".to_owned()),
        "{devices:?}"
    );
}

#[tokio::test]
async fn an_administrator_sees_and_ends_a_users_sessions() {
    let app = spawn_app().await;
    let alice = app.create_user("alice", PASSWORD, false).await;
    app.create_user("bob", "bob password", false).await;
    app.create_user("root", "root password", true).await;
    let (laptop, desktop) = (browser(CHROME_LINUX), browser(FIREFOX_WINDOWS));
    app.sign_in(&laptop, "alice", PASSWORD).await;
    app.sign_in(&desktop, "alice", PASSWORD).await;
    let (admin, bob) = (client(), client());
    app.sign_in(&admin, "root", "root password").await;
    app.sign_in(&bob, "bob", "bob password").await;
    let path = format!("/api/users/{alice}/sessions");
    expect_error(
        app.get(&bob, &path).await,
        StatusCode::FORBIDDEN,
        ErrorCode::Forbidden,
    )
    .await;
    let listed: SessionList = ok_json(app.get(&admin, &path).await).await;
    assert_eq!(listed.sessions.len(), 2);
    assert!(listed.sessions.iter().all(|s| !s.current));
    // One, then the rest.
    let one = format!("{path}/{}", listed.sessions[0].id);
    assert_eq!(
        send(&app, &admin, Method::DELETE, &one).await.status(),
        StatusCode::NO_CONTENT
    );
    let ended: SessionsEnded = ok_json(send(&app, &admin, Method::DELETE, &path).await).await;
    assert_eq!(ended.sessions_ended, 1);
    for browser in [&laptop, &desktop] {
        assert_eq!(
            app.get(browser, "/api/me").await.status(),
            StatusCode::UNAUTHORIZED
        );
    }
    assert_eq!(app.get(&admin, "/api/me").await.status(), StatusCode::OK);
    let by_admin = events_about(&app, "alice", AuditEventKind::SessionsEnded).await;
    assert_eq!(by_admin.len(), 2);
    assert!(by_admin.iter().all(|e| e.actor.as_deref() == Some("root")));
}

#[tokio::test]
async fn an_unused_session_ends_at_the_idle_limit_and_last_seen_is_written_once_a_minute() {
    let app = spawn_app().await;
    app.create_user("alice", PASSWORD, false).await;
    let client = client();
    app.sign_in(&client, "alice", PASSWORD).await;
    // "Last seen" is written off the request path; write what is waiting, then read it.
    let last_seen = || async {
        app.state.last_seen.flush(&app.db).await.unwrap();
        sqlx::query_scalar::<_, i64>("SELECT last_seen_at FROM sessions")
            .fetch_one(&app.db)
            .await
            .unwrap() as u64
    };
    let signed_in_at = app.now();
    app.clock.advance(59);
    app.me(&client).await;
    assert_eq!(
        last_seen().await,
        signed_in_at,
        "not written within a minute"
    );
    app.clock.advance(1);
    app.me(&client).await;
    assert_eq!(last_seen().await, app.now());
    // Used within the limit, it lives on; unused for 120 minutes, it ends.
    app.clock.advance(120 * 60 - 1);
    app.me(&client).await;
    app.clock.advance(120 * 60);
    expect_error(
        app.get(&client, "/api/me").await,
        StatusCode::UNAUTHORIZED,
        ErrorCode::Unauthorized,
    )
    .await;
    assert_eq!(app.count("sessions").await, 0, "deleted on sight");
}

#[tokio::test]
async fn changing_the_password_ends_the_other_sessions_and_is_recorded() {
    let app = spawn_app().await;
    app.create_user("alice", PASSWORD, false).await;
    let (here, elsewhere) = (client(), client());
    app.sign_in(&here, "alice", PASSWORD).await;
    app.sign_in(&elsewhere, "alice", PASSWORD).await;

    let wrong = expect_error(
        change_password(&app, &here, "not my password", "a brand new passphrase").await,
        StatusCode::FORBIDDEN,
        ErrorCode::ProofWrong,
    )
    .await;
    assert_eq!(wrong.field.as_deref(), Some("current_password"));
    // A new password that breaks a rule is refused before anything is counted or hashed.
    let before = app.snapshot().await;
    let hashed_before = app.hasher.jobs_run();
    let refusals = [
        (
            PASSWORD,
            "short",
            StatusCode::BAD_REQUEST,
            ErrorCode::InvalidInput,
            "new_password",
        ),
        (
            PASSWORD,
            "Password1",
            StatusCode::BAD_REQUEST,
            ErrorCode::InvalidInput,
            "new_password",
        ),
        (
            PASSWORD,
            PASSWORD,
            StatusCode::BAD_REQUEST,
            ErrorCode::InvalidInput,
            "new_password",
        ),
    ];
    for (current, new, status, code, field) in refusals {
        let error = expect_error(
            change_password(&app, &here, current, new).await,
            status,
            code,
        )
        .await;
        assert_eq!(error.field.as_deref(), Some(field), "{new}");
    }
    let common = expect_error(
        change_password(&app, &here, PASSWORD, "iloveyou1").await,
        StatusCode::BAD_REQUEST,
        ErrorCode::InvalidInput,
    )
    .await;
    assert!(common.message.contains("common"), "{}", common.message);
    app.assert_unchanged_since(&before).await;
    assert_eq!(app.hasher.jobs_run(), hashed_before);
    assert_eq!(
        app.get(&elsewhere, "/api/me").await.status(),
        StatusCode::OK
    );

    let ended: SessionsEnded =
        ok_json(change_password(&app, &here, PASSWORD, "a brand new passphrase").await).await;
    assert_eq!(ended.sessions_ended, 1);
    assert_eq!(
        app.get(&elsewhere, "/api/me").await.status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(app.get(&here, "/api/me").await.status(), StatusCode::OK);
    // The old password no longer signs in; the new one does.
    expect_error(
        app.sign_in_raw(&client(), "alice", PASSWORD).await,
        StatusCode::UNAUTHORIZED,
        ErrorCode::BadCredentials,
    )
    .await;
    app.sign_in(&client(), "alice", "a brand new passphrase")
        .await;

    let changed = events_about(&app, "alice", AuditEventKind::PasswordChanged).await;
    assert_eq!(changed.len(), 1);
    assert_eq!(changed[0].actor.as_deref(), Some("alice"));
}

#[tokio::test]
async fn organizational_accounts_have_no_password_to_change() {
    let app = spawn_app().await;
    let id = app.create_organizational_user("olga", "Acme SSO").await;
    let cookie = app
        .session_cookie_for(id, twostep::sessions::Stage::SignedIn)
        .await;
    let response = crate::helpers::bare_client()
        .post(app.url("/api/me/password"))
        .header(reqwest::header::COOKIE, cookie)
        .json(&json!({"current_password": "x", "new_password": "a brand new passphrase"}))
        .send()
        .await
        .unwrap();
    expect_error(
        response,
        StatusCode::FORBIDDEN,
        ErrorCode::OrganizationalAccount,
    )
    .await;
}

async fn replacement_setup(app: &TestApp, client: &Client) -> Vec<u8> {
    let setup: twostep_shared::api::SetupResponse = ok_json(
        send(
            app,
            client,
            Method::POST,
            "/api/me/two-step/replacement/setup",
        )
        .await,
    )
    .await;
    crate::helpers::base32_decode(&setup.secret)
}

async fn confirm_replacement(
    app: &TestApp,
    client: &Client,
    code1: &str,
    code2: &str,
    proof: &str,
) -> reqwest::Response {
    let body = json!({ "code1": code1, "code2": code2, "proof": proof });
    app.send_json(
        client,
        Method::POST,
        "/api/me/two-step/replacement/confirm",
        &body,
    )
    .await
}

#[tokio::test]
async fn moving_to_a_new_phone_keeps_the_old_one_until_apply_and_carries_the_replay_state() {
    let app = spawn_app().await;
    let holder = client();
    let enrolled = app.enrolled_user(&holder, "alice", PASSWORD).await;
    let (old, proof) = (enrolled.secret, enrolled.recovery_codes[0].clone());
    let t = app.now_step();
    app.clock.advance(STEP);
    let new = replacement_setup(&app, &holder).await;
    assert_ne!(new, old);

    // Until Apply the old phone still signs in (here at step t+2, the last step accepted).
    app.clock.advance(STEP);
    let elsewhere = client();
    app.sign_in_pending(&elsewhere, "alice", PASSWORD).await;
    app.verify_ok(&elsewhere, &totp(&old, t + 2)).await;
    // Wrong codes for the new phone change nothing (after this minute's "last seen").
    app.me(&holder).await;
    let before = app.snapshot().await;
    expect_error(
        confirm_replacement(
            &app,
            &holder,
            &totp(&old, t + 1),
            &totp(&old, t + 2),
            &proof,
        )
        .await,
        StatusCode::BAD_REQUEST,
        ErrorCode::CodeWrong,
    )
    .await;
    app.assert_unchanged_since(&before).await;

    // Apply with the new phone's codes of steps t and t+1 (still within the window).
    // Apply, with a recovery code as the proof of the current second factor.
    let response =
        confirm_replacement(&app, &holder, &totp(&new, t), &totp(&new, t + 1), &proof).await;
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    assert_eq!(app.count("two_step_setups").await, 0);
    // The recovery codes are kept (but the one spent as the proof).
    assert_eq!(
        app.me(&holder).await.two_step.unwrap().recovery_codes_left,
        9
    );

    // The last step accepted (t+2, by the old phone) carries over: the new phone's code of
    // that step is refused as already used; the old phone's codes stop at once.
    let third = client();
    app.sign_in_pending(&third, "alice", PASSWORD).await;
    let used = expect_error(
        app.verify(&third, &totp(&new, t + 2)).await,
        StatusCode::UNAUTHORIZED,
        ErrorCode::CodeWrong,
    )
    .await;
    assert!(used.message.contains("already used"), "{}", used.message);
    app.clock.advance(STEP);
    let stale = expect_error(
        app.verify(&third, &totp(&old, t + 3)).await,
        StatusCode::UNAUTHORIZED,
        ErrorCode::CodeWrong,
    )
    .await;
    assert!(stale.message.contains("not correct"), "{}", stale.message);
    app.verify_ok(&third, &totp(&new, t + 3)).await;

    let replaced = events_about(&app, "alice", AuditEventKind::DeviceReplaced).await;
    assert_eq!(replaced.len(), 1);
}

#[tokio::test]
async fn a_replacement_needs_a_device_and_a_recent_sign_in() {
    let app = spawn_app().await;
    app.create_user("alice", PASSWORD, false).await;
    let client = client();
    app.sign_in(&client, "alice", PASSWORD).await;
    for path in [
        "/api/me/two-step/replacement/setup",
        "/api/me/two-step/replacement/confirm",
    ] {
        let body = json!({"code1": "123456", "code2": "234567"});
        expect_error(
            app.send_json(&client, Method::POST, path, &body).await,
            StatusCode::CONFLICT,
            ErrorCode::NotSetUp,
        )
        .await;
    }
    let enrolled = crate::helpers::client();
    app.enrolled_user(&enrolled, "bob", PASSWORD).await;
    app.clock.advance(RECENT);
    expect_error(
        send(
            &app,
            &enrolled,
            Method::POST,
            "/api/me/two-step/replacement/setup",
        )
        .await,
        StatusCode::FORBIDDEN,
        ErrorCode::ReauthenticationRequired,
    )
    .await;
}

async fn activity(app: &TestApp, client: &Client) -> twostep_shared::account::ActivityPage {
    ok_json(app.get(client, "/api/me/activity").await).await
}

#[tokio::test]
async fn the_holder_sees_their_own_activity_and_the_warnings_since_their_previous_sign_in() {
    let app = spawn_app().await;
    let holder = client();
    let secret = app.enrolled_user(&holder, "alice", PASSWORD).await.secret;
    let enrolled_step = app.now_step();
    app.create_user("bob", "bob password", false).await;
    app.clock.advance(STEP);

    // Someone with the password: a replayed code and two wrong ones, then gives up.
    let attacker = client();
    app.sign_in_pending(&attacker, "alice", PASSWORD).await;
    for code in [
        totp(&secret, enrolled_step),
        "000000".to_owned(),
        "111111".to_owned(),
    ] {
        let status = app.verify(&attacker, &code).await.status();
        assert_eq!(status, StatusCode::UNAUTHORIZED);
    }
    // alice signs in with her next code and sees it.
    let later = client();
    app.sign_in_pending(&later, "alice", PASSWORD).await;
    app.verify_ok(&later, &totp(&secret, enrolled_step + 1))
        .await;
    let page = activity(&app, &later).await;
    let kinds: Vec<AuditEventKind> = page.entries.iter().map(|e| e.event).collect();
    assert_eq!(
        kinds[0],
        AuditEventKind::SignedIn,
        "newest first: {kinds:?}"
    );
    assert!(
        kinds.contains(&AuditEventKind::ReplayedCodeRefused),
        "{kinds:?}"
    );
    assert!(
        kinds.contains(&AuditEventKind::DeviceAssociated),
        "{kinds:?}"
    );
    let warnings = page.entries[..kinds.len()]
        .iter()
        .take_while(|e| e.event != AuditEventKind::DeviceAssociated)
        .filter(|e| twostep::audit::activity::WARNINGS.contains(&e.event))
        .count() as u64;
    assert!(warnings >= 3, "{kinds:?}");
    assert_eq!(page.warnings_since_previous_sign_in, warnings);
    assert!(
        page.entries
            .iter()
            .all(|e| e.subject.as_deref() == Some("alice"))
    );

    // The next sign-in without trouble: no warnings since the previous one.
    app.clock.advance(STEP);
    let again = client();
    app.sign_in_pending(&again, "alice", PASSWORD).await;
    app.verify_ok(&again, &totp(&secret, enrolled_step + 2))
        .await;
    assert_eq!(
        activity(&app, &again).await.warnings_since_previous_sign_in,
        0
    );

    // bob sees only his own.
    let bob = client();
    app.sign_in(&bob, "bob", "bob password").await;
    let his = activity(&app, &bob).await;
    assert!(!his.entries.is_empty());
    assert!(
        his.entries
            .iter()
            .all(|e| e.subject.as_deref() == Some("bob"))
    );
}
