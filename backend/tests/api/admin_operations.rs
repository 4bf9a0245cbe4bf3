//! What an administrator does to other accounts from the admin page — add, reset the
//! password, make or remove administrator, disable and enable, delete — each through the account-changes table (a
//! recent sign-in), audited, and the last administrator kept under simultaneous requests on
//! two instances.

use crate::helpers::{TestApp, client, expect_error, ok_json, spawn_app_with, totp};
use reqwest::{Client, Method, StatusCode};
use serde_json::json;
use twostep::app::Settings;
use twostep_shared::ErrorCode;
use twostep_shared::api::{AccountCreated, AuditEntry, AuditEventKind, Role, SignInResponse, User};

const PASSWORD: &str = "correct horse battery";
/// `--recent-sign-in-seconds` here.
const RECENT: u64 = 60;

async fn app() -> TestApp {
    spawn_app_with(Settings {
        session_limits: twostep::sessions::policy::SessionLimits {
            recent_seconds: RECENT,
            ..Default::default()
        },
        ..Settings::default()
    })
    .await
}

/// `root` (an administrator, signed in) and `bob` (a user, signed in): their ids and clients.
async fn root_and_bob(app: &TestApp) -> ((i64, Client), (i64, Client)) {
    let root = app.create_user("root", PASSWORD, true).await;
    let bob = app.create_user("bob", PASSWORD, false).await;
    let (root_client, bob_client) = (client(), client());
    app.sign_in(&root_client, "root", PASSWORD).await;
    app.sign_in(&bob_client, "bob", PASSWORD).await;
    ((root, root_client), (bob, bob_client))
}

async fn send(app: &TestApp, client: &Client, method: Method, path: &str) -> reqwest::Response {
    app.send_json(client, method, path, &json!({})).await
}

async fn set_role(app: &TestApp, client: &Client, id: i64, role: &str) -> reqwest::Response {
    let path = format!("/api/users/{id}/role");
    app.send_json(client, Method::PUT, &path, &json!({ "role": role }))
        .await
}

/// The newest audit entry about `subject` (as an administrator sees the log).
async fn last_event_about(app: &TestApp, admin: &Client, subject: i64) -> AuditEntry {
    app.audit_log(admin, Some(subject))
        .await
        .pop()
        .expect("an event")
}

#[tokio::test]
async fn an_administrator_makes_and_removes_administrators_and_each_is_audited() {
    let app = app().await;
    let ((root, root_client), (bob, bob_client)) = root_and_bob(&app).await;

    let made = set_role(&app, &root_client, bob, "administrator").await;
    assert_eq!(made.status(), StatusCode::NO_CONTENT);
    // bob's open session has the role at its next request.
    assert_eq!(app.me(&bob_client).await.role, Role::Administrator);
    let event = last_event_about(&app, &root_client, bob).await;
    assert_eq!(
        (event.event, event.actor.as_deref()),
        (AuditEventKind::MadeAdministrator, Some("root"))
    );

    let removed = set_role(&app, &root_client, bob, "user").await;
    assert_eq!(removed.status(), StatusCode::NO_CONTENT);
    assert_eq!(app.me(&bob_client).await.role, Role::User);
    let event = last_event_about(&app, &root_client, bob).await;
    assert_eq!(
        (event.event, event.actor.as_deref()),
        (AuditEventKind::AdministratorRoleRemoved, Some("root"))
    );
    // Again: nothing to change.
    let again = set_role(&app, &root_client, bob, "user").await;
    expect_error(again, StatusCode::CONFLICT, ErrorCode::BadRequest).await;

    // An administrator changes their own account only as its holder: not their role.
    let own = set_role(&app, &root_client, root, "user").await;
    expect_error(own, StatusCode::FORBIDDEN, ErrorCode::Forbidden).await;
    // A user changes no one's role.
    let by_bob = set_role(&app, &bob_client, root, "user").await;
    expect_error(by_bob, StatusCode::FORBIDDEN, ErrorCode::Forbidden).await;
    // A stale session must confirm it's you first.
    app.clock.advance(RECENT + 2);
    let stale = set_role(&app, &root_client, bob, "administrator").await;
    expect_error(
        stale,
        StatusCode::FORBIDDEN,
        ErrorCode::ReauthenticationRequired,
    )
    .await;
    app.reauthenticate_ok(&root_client, PASSWORD).await;
    let fresh = set_role(&app, &root_client, bob, "administrator").await;
    assert_eq!(fresh.status(), StatusCode::NO_CONTENT);
}

/// Two administrators each take the other's role (or disable the other) at the same moment,
/// on two instances: one of them stays an administrator who can sign in.
#[tokio::test]
async fn the_last_administrator_stays_under_simultaneous_requests_on_two_instances() {
    for round in 0..6 {
        // Two administrators, each signed in on an instance of their own.
        let a = app().await;
        let b = a.another_instance().await;
        let root = a.create_user("root", PASSWORD, true).await;
        let boss = a.create_user("boss", PASSWORD, true).await;
        let (root_client, boss_client) = (client(), client());
        a.sign_in(&root_client, "root", PASSWORD).await;
        b.sign_in(&boss_client, "boss", PASSWORD).await;
        let (disable_boss, disable_root) = (
            format!("/api/users/{boss}/disable"),
            format!("/api/users/{root}/disable"),
        );
        let (by_root, by_boss) = if round % 2 == 0 {
            tokio::join!(
                set_role(&a, &root_client, boss, "user"),
                set_role(&b, &boss_client, root, "user"),
            )
        } else {
            tokio::join!(
                send(&a, &root_client, Method::POST, &disable_boss),
                send(&b, &boss_client, Method::POST, &disable_root),
            )
        };
        let statuses = [by_root.status(), by_boss.status()];
        let bodies = [by_root.text().await.unwrap(), by_boss.text().await.unwrap()];
        let able_administrators: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM users WHERE role = 'administrator' AND disabled_at IS NULL",
        )
        .fetch_one(&a.db)
        .await
        .unwrap();
        assert_eq!(able_administrators, 1, "round {round}: {bodies:?}");
        assert!(
            statuses.contains(&StatusCode::NO_CONTENT),
            "round {round}: one of them went ahead: {statuses:?} {bodies:?}"
        );
        // The other was refused: the last administrator (409), or it came after the first had
        // already taken its role (403) or disabled it and ended its session (401).
        assert!(
            statuses.iter().all(|s| [
                StatusCode::NO_CONTENT,
                StatusCode::CONFLICT,
                StatusCode::FORBIDDEN,
                StatusCode::UNAUTHORIZED
            ]
            .contains(s)),
            "round {round}: {statuses:?} {bodies:?}"
        );
    }
}

#[tokio::test]
async fn a_disabled_account_signs_in_by_no_path_and_its_sessions_end_on_every_instance() {
    let a = app().await;
    let b = a.another_instance().await;
    let ((_, root_client), (bob, _)) = root_and_bob(&a).await;
    // bob signed in on instance B, his session in B's cache; and on A, about to confirm it's
    // him.
    let bob_on_b = client();
    b.sign_in(&bob_on_b, "bob", PASSWORD).await;
    assert_eq!(b.me(&bob_on_b).await.username, "bob");
    let bob_on_a = client();
    a.sign_in(&bob_on_a, "bob", PASSWORD).await;
    // carol has 2-step verification: she is between the password and the code step.
    let carol_client = client();
    let carol = a.enrolled_user(&client(), "carol", PASSWORD).await;
    let carol_id = a.user_id("carol").await;
    a.sign_in_pending(&carol_client, "carol", PASSWORD).await;

    for id in [bob, carol_id] {
        let done = send(
            &a,
            &root_client,
            Method::POST,
            &format!("/api/users/{id}/disable"),
        )
        .await;
        assert_eq!(done.status(), StatusCode::NO_CONTENT);
    }
    let event = last_event_about(&a, &root_client, bob).await;
    assert_eq!(
        (event.event, event.actor.as_deref(), event.detail.as_deref()),
        (
            AuditEventKind::AccountDisabled,
            Some("root"),
            Some("3 session(s) ended")
        )
    );
    // The open session on the other instance ends at its next request.
    let response = b.get(&bob_on_b, "/api/me").await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    // "Confirm it's you", with the right password: refused.
    let response = a.reauthenticate(&bob_on_a, PASSWORD).await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    // The password step: the right password is told the account is disabled; a wrong one
    // learns nothing new.
    expect_error(
        b.sign_in_raw(&client(), "bob", PASSWORD).await,
        StatusCode::FORBIDDEN,
        ErrorCode::AccountDisabled,
    )
    .await;
    expect_error(
        b.sign_in_raw(&client(), "bob", "wrong horse battery").await,
        StatusCode::UNAUTHORIZED,
        ErrorCode::BadCredentials,
    )
    .await;
    // The code step: the sign-in in progress has ended.
    let code = totp(&carol.secret, a.now_step());
    let response = a.verify(&carol_client, &code).await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(a.count_for("sessions", carol_id).await, 0);
    assert_eq!(a.count_for("sessions", bob).await, 0);
    // Shown to administrators.
    let user: User = ok_json(a.get(&root_client, &format!("/api/users/{bob}")).await).await;
    assert!(user.disabled);

    // Enabled again: bob signs in.
    let done = send(
        &a,
        &root_client,
        Method::POST,
        &format!("/api/users/{bob}/enable"),
    )
    .await;
    assert_eq!(done.status(), StatusCode::NO_CONTENT);
    let event = last_event_about(&a, &root_client, bob).await;
    assert_eq!(event.event, AuditEventKind::AccountEnabled);
    b.sign_in(&client(), "bob", PASSWORD).await;
}

#[tokio::test]
async fn an_administrator_deletes_an_account_and_its_events_stay() {
    let a = app().await;
    let b = a.another_instance().await;
    let ((root, root_client), (bob, bob_client)) = root_and_bob(&a).await;
    let bob_on_b = client();
    b.sign_in(&bob_on_b, "bob", PASSWORD).await;
    assert_eq!(b.me(&bob_on_b).await.username, "bob");
    let before = a.audit_log(&root_client, Some(bob)).await;
    assert!(!before.is_empty());

    // Not oneself, and not by a user.
    let own = root_client
        .delete(a.url(&format!("/api/users/{root}")))
        .send()
        .await
        .unwrap();
    expect_error(own, StatusCode::FORBIDDEN, ErrorCode::Forbidden).await;
    let by_bob = bob_client
        .delete(a.url(&format!("/api/users/{root}")))
        .send()
        .await
        .unwrap();
    expect_error(by_bob, StatusCode::FORBIDDEN, ErrorCode::Forbidden).await;

    let done = root_client
        .delete(a.url(&format!("/api/users/{bob}")))
        .send()
        .await
        .unwrap();
    assert_eq!(done.status(), StatusCode::NO_CONTENT);
    assert_eq!(
        b.get(&bob_on_b, "/api/me").await.status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        a.get(&bob_client, "/api/me").await.status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        a.get(&root_client, &format!("/api/users/{bob}"))
            .await
            .status(),
        StatusCode::NOT_FOUND
    );
    expect_error(
        a.sign_in_raw(&client(), "bob", PASSWORD).await,
        StatusCode::UNAUTHORIZED,
        ErrorCode::BadCredentials,
    )
    .await;
    // The log keeps bob's events, and the deletion on top.
    let mut after = a.audit_log(&root_client, Some(bob)).await;
    let deleted = after.pop().expect("the deletion");
    assert_eq!(after, before);
    assert_eq!(
        (
            deleted.event,
            deleted.actor.as_deref(),
            deleted.subject.as_deref()
        ),
        (AuditEventKind::AccountDeleted, Some("root"), Some("bob"))
    );
}

#[tokio::test]
async fn an_administrator_adds_a_user_whose_one_time_password_must_be_changed_first() {
    let app = app().await;
    let ((_, root_client), (_, bob_client)) = root_and_bob(&app).await;
    let add = async |client: &Client, body: serde_json::Value| {
        app.send_json(client, Method::POST, "/api/users", &body)
            .await
    };
    let dana = json!({"username": "Dana", "role": "user", "account": {"kind": "team_server"}});

    // Only administrators; the name rules are the shared crate's; a name is taken once.
    expect_error(
        add(&bob_client, dana.clone()).await,
        StatusCode::FORBIDDEN,
        ErrorCode::Forbidden,
    )
    .await;
    let bad = json!({"username": "da na", "role": "user", "account": {"kind": "team_server"}});
    let body = expect_error(
        add(&root_client, bad).await,
        StatusCode::BAD_REQUEST,
        ErrorCode::InvalidInput,
    )
    .await;
    assert_eq!(body.field.as_deref(), Some("username"));
    let unknown = json!({"username": "erin", "role": "user",
        "account": {"kind": "organizational", "identity_provider": "Nowhere", "email": "erin@example.com"}});
    expect_error(
        add(&root_client, unknown).await,
        StatusCode::BAD_REQUEST,
        ErrorCode::InvalidInput,
    )
    .await;

    let response = add(&root_client, dana.clone()).await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let created: AccountCreated = response.json().await.unwrap();
    assert_eq!(created.user.username, "dana");
    assert!(created.user.password_change_required);
    let one_time = created.one_time_password.expect("a one-time password");
    assert_eq!(one_time.len(), 19);
    expect_error(
        add(&root_client, dana).await,
        StatusCode::CONFLICT,
        ErrorCode::AlreadyExists,
    )
    .await;
    let event = last_event_about(&app, &root_client, created.user.id).await;
    assert_eq!(
        (event.event, event.actor.as_deref(), event.detail.as_deref()),
        (
            AuditEventKind::AccountCreated,
            Some("root"),
            Some("user with a one-time password")
        )
    );

    // dana signs in with it: nothing but her own page until she chooses a new password.
    let dana_client = client();
    match app.sign_in(&dana_client, "dana", &one_time).await {
        SignInResponse::SignedIn { user } => assert!(user.password_change_required),
        other => panic!("{other:?}"),
    }
    expect_error(
        app.get(&dana_client, "/api/users").await,
        StatusCode::FORBIDDEN,
        ErrorCode::PasswordChangeRequired,
    )
    .await;
    assert!(app.me(&dana_client).await.password_change_required);
    let change = json!({"current_password": one_time, "new_password": "dana's own long phrase"});
    let changed = app
        .send_json(&dana_client, Method::POST, "/api/me/password", &change)
        .await;
    assert_eq!(changed.status(), StatusCode::OK);
    assert!(!app.me(&dana_client).await.password_change_required);
    assert_eq!(
        app.get(&dana_client, "/api/users").await.status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn an_administrator_resets_a_password_to_a_one_time_password() {
    let app = app().await;
    let b = app.another_instance().await;
    let ((_, root_client), (bob, bob_client)) = root_and_bob(&app).await;
    let bob_on_b = client();
    b.sign_in(&bob_on_b, "bob", PASSWORD).await;
    assert_eq!(b.me(&bob_on_b).await.username, "bob");
    let path = format!("/api/users/{bob}/password");
    // Not by bob himself, nor with a stale session.
    let own = app
        .send_json(&bob_client, Method::POST, &path, &json!({}))
        .await;
    expect_error(own, StatusCode::FORBIDDEN, ErrorCode::Forbidden).await;

    let reset: AccountCreated = ok_json(
        app.send_json(&root_client, Method::POST, &path, &json!({}))
            .await,
    )
    .await;
    let one_time = reset.one_time_password.expect("a one-time password");
    assert!(reset.user.password_change_required);
    let event = last_event_about(&app, &root_client, bob).await;
    assert_eq!(
        (event.event, event.detail.as_deref()),
        (
            AuditEventKind::PasswordChanged,
            Some("reset by administrator root (a one-time password); 2 session(s) ended")
        )
    );
    // Every session of bob ended, on both instances; the old password is gone.
    assert_eq!(
        app.get(&bob_client, "/api/me").await.status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        b.get(&bob_on_b, "/api/me").await.status(),
        StatusCode::UNAUTHORIZED
    );
    expect_error(
        app.sign_in_raw(&client(), "bob", PASSWORD).await,
        StatusCode::UNAUTHORIZED,
        ErrorCode::BadCredentials,
    )
    .await;
    let again = client();
    match b.sign_in(&again, "bob", &one_time).await {
        SignInResponse::SignedIn { user } => assert!(user.password_change_required),
        other => panic!("{other:?}"),
    }
    app.clock.advance(RECENT + 2);
    let stale = app
        .send_json(&root_client, Method::POST, &path, &json!({}))
        .await;
    expect_error(
        stale,
        StatusCode::FORBIDDEN,
        ErrorCode::ReauthenticationRequired,
    )
    .await;
}
