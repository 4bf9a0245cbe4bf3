//! Removing the associated device (an administrator without proof, the user themself with a
//! fresh proof), unlocking a locked code step, what a user who is not an administrator may
//! not do, and organizational accounts.

use crate::helpers::{
    STEP, TestApp, bare_client, client, expect_error, ok_json, spawn_app, totp, wrong_code,
};
use reqwest::header::{CONTENT_TYPE, COOKIE};
use reqwest::{Client, StatusCode};
use twostep::sessions::Stage;
use twostep_shared::ErrorCode;
use twostep_shared::api::{
    AccountKind, AuditEventKind, SignInResponse, TwoStepSummary, User, UserList,
};

const PASSWORD: &str = "correct horse";
const ROOT_PASSWORD: &str = "root password";

/// An administrator `root`, signed in on the returned client; returns its id too.
async fn signed_in_admin(app: &TestApp) -> (Client, i64) {
    let id = app.create_user("root", ROOT_PASSWORD, true).await;
    let client = client();
    app.sign_in(&client, "root", ROOT_PASSWORD).await;
    (client, id)
}

/// Asserts the user's device, recovery codes and setup are all gone (or all there).
async fn assert_device_rows(app: &TestApp, user: i64, present: bool) {
    let (devices, codes) = if present { (1, 10) } else { (0, 0) };
    assert_eq!(app.count_for("two_step_devices", user).await, devices);
    assert_eq!(app.count_for("recovery_codes", user).await, codes);
    assert_eq!(app.count_for("two_step_setups", user).await, 0);
}

#[tokio::test]
async fn an_administrator_removes_a_device_without_proof_and_ends_that_users_sessions() {
    let app = spawn_app().await;
    let alice_signed_in = client();
    app.enrolled_user(&alice_signed_in, "alice", PASSWORD).await;
    let alice = app.user_id("alice").await;
    let alice_pending = client();
    app.sign_in_pending(&alice_pending, "alice", PASSWORD).await;
    let (root, root_id) = signed_in_admin(&app).await;
    assert_eq!(app.count_for("sessions", alice).await, 2);
    assert_device_rows(&app, alice, true).await;

    let response = app.remove_device(&root, alice, None).await;
    assert_eq!(response.status(), StatusCode::NO_CONTENT);

    // Both of alice's sessions ended; root's did not.
    expect_error(
        app.get(&alice_signed_in, "/api/me").await,
        StatusCode::UNAUTHORIZED,
        ErrorCode::Unauthorized,
    )
    .await;
    expect_error(
        app.verify(&alice_pending, "123456").await,
        StatusCode::UNAUTHORIZED,
        ErrorCode::VerificationExpired,
    )
    .await;
    assert_eq!(app.count_for("sessions", alice).await, 0);
    assert_eq!(app.me(&root).await.id, root_id);

    // The secret, last step, counters and recovery codes are gone.
    assert_device_rows(&app, alice, false).await;
    let seen: User = ok_json(app.get(&root, &format!("/api/users/{alice}")).await).await;
    let status = seen.two_step.expect("an administrator sees the status");
    assert!(!status.enabled);
    assert_eq!(status.recovery_codes_left, 0);

    // The next sign-in needs no code.
    let client = client();
    match app.sign_in(&client, "alice", PASSWORD).await {
        SignInResponse::SignedIn { user } => assert_eq!(user.id, alice),
        other => panic!("expected signed_in, got {other:?}"),
    }
    // Removing again: there is nothing to remove.
    expect_error(
        app.remove_device(&root, alice, None).await,
        StatusCode::CONFLICT,
        ErrorCode::NotSetUp,
    )
    .await;

    // Recorded: who removed whose device, from where.
    let removals: Vec<_> = app
        .audit_log(&root, Some(alice))
        .await
        .into_iter()
        .filter(|e| e.event == AuditEventKind::DeviceRemoved)
        .collect();
    assert_eq!(removals.len(), 1, "{removals:?}");
    let removal = &removals[0];
    assert_eq!(removal.actor.as_deref(), Some("root"));
    assert_eq!(removal.subject.as_deref(), Some("alice"));
    assert_eq!(removal.subject_id, Some(alice));
    assert_eq!(removal.client_address.as_deref(), Some("127.0.0.1"));
    let detail = removal.detail.as_deref().unwrap_or_default();
    assert!(detail.contains("administrator root"), "{detail}");

    // alice may set up 2-step verification again.
    let enrolled = app.setup_and_confirm(&client).await;
    assert_eq!(enrolled.recovery_codes.len(), 10);
}

#[tokio::test]
async fn a_user_removes_their_own_device_with_a_current_code() {
    let app = spawn_app().await;
    let alice_client = client();
    let enrolled = app.enrolled_user(&alice_client, "alice", PASSWORD).await;
    let alice = app.user_id("alice").await;
    let used_step = app.now_step();
    app.clock.advance(STEP);

    // A code already used (the last enrollment code) or a wrong one is no proof.
    for code in [
        totp(&enrolled.secret, used_step),
        wrong_code(&enrolled.secret, app.now_step(), 3),
    ] {
        expect_error(
            app.remove_device(&alice_client, alice, Some(&code)).await,
            StatusCode::UNAUTHORIZED,
            ErrorCode::CodeWrong,
        )
        .await;
        assert_device_rows(&app, alice, true).await;
    }

    let current = totp(&enrolled.secret, app.now_step());
    let response = app
        .remove_device(&alice_client, alice, Some(&current))
        .await;
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    assert_device_rows(&app, alice, false).await;

    // Her own session goes on, and shows 2-step verification off.
    let status = app.me(&alice_client).await.two_step.expect("own status");
    assert!(!status.enabled);
    assert_eq!(status.recovery_codes_left, 0);
    let fresh = client();
    assert!(matches!(
        app.sign_in(&fresh, "alice", PASSWORD).await,
        SignInResponse::SignedIn { .. }
    ));

    let (root, _) = signed_in_admin(&app).await;
    let removal = app
        .audit_log(&root, Some(alice))
        .await
        .into_iter()
        .find(|e| e.event == AuditEventKind::DeviceRemoved)
        .expect("the removal is recorded");
    assert_eq!(removal.actor.as_deref(), Some("alice"));
    assert_eq!(removal.detail.as_deref(), Some("removed by the user"));
}

#[tokio::test]
async fn the_password_alone_does_not_remove_ones_own_device() {
    let app = spawn_app().await;
    let alice_client = client();
    app.enrolled_user(&alice_client, "alice", PASSWORD).await;
    let alice = app.user_id("alice").await;

    let response = app
        .remove_device(&alice_client, alice, Some(PASSWORD))
        .await;
    expect_error(response, StatusCode::FORBIDDEN, ErrorCode::ProofWrong).await;
    assert_device_rows(&app, alice, true).await;
    assert!(
        app.me(&alice_client)
            .await
            .two_step
            .expect("status")
            .enabled
    );
}

#[tokio::test]
async fn a_user_removes_their_own_device_with_a_recovery_code() {
    let app = spawn_app().await;
    let alice_client = client();
    let enrolled = app.enrolled_user(&alice_client, "alice", PASSWORD).await;
    let alice = app.user_id("alice").await;

    let response = app
        .remove_device(&alice_client, alice, Some(&enrolled.recovery_codes[3]))
        .await;
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    assert_device_rows(&app, alice, false).await;
}

#[tokio::test]
async fn removing_ones_own_device_needs_a_proof_and_a_right_one() {
    let app = spawn_app().await;
    let alice_client = client();
    app.enrolled_user(&alice_client, "alice", PASSWORD).await;
    let alice = app.user_id("alice").await;
    let path = app.url(&format!("/api/users/{alice}/two-step"));

    // No proof: `{}`, `null`, empty or blank.
    for body in [
        r#"{}"#,
        r#"{"proof":null}"#,
        r#"{"proof":""}"#,
        r#"{"proof":"   "}"#,
    ] {
        let response = alice_client
            .delete(&path)
            .header(CONTENT_TYPE, "application/json")
            .body(body)
            .send()
            .await
            .unwrap();
        let error = expect_error(response, StatusCode::FORBIDDEN, ErrorCode::ProofRequired).await;
        assert!(error.message.contains("recovery code"), "{}", error.message);
    }
    // A wrong password.
    expect_error(
        app.remove_device(&alice_client, alice, Some("not my password"))
            .await,
        StatusCode::FORBIDDEN,
        ErrorCode::ProofWrong,
    )
    .await;
    // Another user's password is not hers either.
    app.create_user("bob", "bob password", false).await;
    expect_error(
        app.remove_device(&alice_client, alice, Some("bob password"))
            .await,
        StatusCode::FORBIDDEN,
        ErrorCode::ProofWrong,
    )
    .await;

    // The device is still there and still asked for at sign-in.
    assert_device_rows(&app, alice, true).await;
    let status = app.me(&alice_client).await.two_step.expect("status");
    assert!(status.enabled);
    assert_eq!(status.recovery_codes_left, 10);
    app.sign_in_pending(&client(), "alice", PASSWORD).await;

    // Without a device there is nothing to remove, whatever the proof.
    let bob_client = client();
    let bob = app.user_id("bob").await;
    app.sign_in(&bob_client, "bob", "bob password").await;
    expect_error(
        app.remove_device(&bob_client, bob, Some("123456")).await,
        StatusCode::CONFLICT,
        ErrorCode::NotSetUp,
    )
    .await;
}

#[tokio::test]
async fn a_user_who_is_not_an_administrator_cannot_remove_unlock_or_read_the_audit_log() {
    let app = spawn_app().await;
    let alice_client = client();
    let enrolled = app.enrolled_user(&alice_client, "alice", PASSWORD).await;
    let alice = app.user_id("alice").await;
    app.create_user("bob", "bob password", false).await;
    let bob = client();
    app.sign_in(&bob, "bob", "bob password").await;
    app.clock.advance(STEP);
    let events_before = app.count("audit_events").await;

    // Not even with alice's current code as the proof (bob may have seen her phone).
    let current = totp(&enrolled.secret, app.now_step());
    for proof in [None, Some("bob password"), Some(current.as_str())] {
        expect_error(
            app.remove_device(&bob, alice, proof).await,
            StatusCode::FORBIDDEN,
            ErrorCode::Forbidden,
        )
        .await;
    }
    expect_error(
        app.unlock(&bob, alice).await,
        StatusCode::FORBIDDEN,
        ErrorCode::Forbidden,
    )
    .await;
    for path in [
        "/api/audit".to_owned(),
        format!("/api/audit?user={alice}"),
        "/api/audit?page=2".to_owned(),
    ] {
        expect_error(
            app.get(&bob, &path).await,
            StatusCode::FORBIDDEN,
            ErrorCode::Forbidden,
        )
        .await;
    }
    // Not even their own code step.
    expect_error(
        app.unlock(&alice_client, alice).await,
        StatusCode::FORBIDDEN,
        ErrorCode::Forbidden,
    )
    .await;

    // Nothing changed, and alice's current code was not spent by bob's attempt.
    assert_device_rows(&app, alice, true).await;
    assert_eq!(app.count("audit_events").await, events_before);
    let pending = client();
    app.sign_in_pending(&pending, "alice", PASSWORD).await;
    app.verify_ok(&pending, &current).await;
}

#[tokio::test]
async fn no_endpoint_sets_up_two_step_verification_for_someone_else() {
    let app = spawn_app().await;
    let alice = app.create_user("alice", PASSWORD, false).await;
    let (root, _) = signed_in_admin(&app).await;
    let json = serde_json::json!({});
    let attempts = [
        (
            reqwest::Method::POST,
            format!("/api/users/{alice}/two-step"),
        ),
        (reqwest::Method::PUT, format!("/api/users/{alice}/two-step")),
        (
            reqwest::Method::POST,
            format!("/api/users/{alice}/two-step/setup"),
        ),
        (
            reqwest::Method::POST,
            format!("/api/users/{alice}/two-step/confirm"),
        ),
    ];
    for (method, path) in attempts {
        let response = root
            .request(method.clone(), app.url(&path))
            .json(&json)
            .send()
            .await
            .unwrap();
        let status = response.status();
        assert!(
            status == StatusCode::NOT_FOUND || status == StatusCode::METHOD_NOT_ALLOWED,
            "{method} {path}: {status}"
        );
    }
    assert_eq!(app.count("two_step_setups").await, 0);
    assert_eq!(app.count("two_step_devices").await, 0);
}

#[tokio::test]
async fn an_administrator_unlocks_a_locked_code_step() {
    let app = spawn_app().await;
    let enrolled = app.enrolled_user(&client(), "alice", PASSWORD).await;
    let alice = app.user_id("alice").await;
    sqlx::query(
        "UPDATE two_step_devices SET locked = 1, failed_attempts = 100, last_failed_at = $1
         WHERE user_id = $2",
    )
    .bind(app.now() as i64)
    .bind(alice)
    .execute(&app.db)
    .await
    .unwrap();
    app.clock.advance(STEP);
    let (root, _) = signed_in_admin(&app).await;

    let pending = client();
    app.sign_in_pending(&pending, "alice", PASSWORD).await;
    let current = totp(&enrolled.secret, app.now_step());
    expect_error(
        app.verify(&pending, &current).await,
        StatusCode::LOCKED,
        ErrorCode::Locked,
    )
    .await;
    let seen: User = ok_json(app.get(&root, &format!("/api/users/{alice}")).await).await;
    assert!(seen.two_step.expect("status").locked);

    let response = app.unlock(&root, alice).await;
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    let seen: User = ok_json(app.get(&root, &format!("/api/users/{alice}")).await).await;
    let status = seen.two_step.expect("status");
    assert!(!status.locked);
    assert!(status.enabled, "unlocking keeps the device");
    let (failures, locked): (i64, i64) =
        sqlx::query_as("SELECT failed_attempts, locked FROM two_step_devices WHERE user_id = $1")
            .bind(alice)
            .fetch_one(&app.db)
            .await
            .unwrap();
    assert_eq!((failures, locked), (0, 0));

    // The right code now signs in, without waiting out the delay of 100 failures.
    let user = app.verify_ok(&pending, &current).await;
    assert_eq!(user.id, alice);

    let unlocks: Vec<_> = app
        .audit_log(&root, Some(alice))
        .await
        .into_iter()
        .filter(|e| e.event == AuditEventKind::CodeStepUnlocked)
        .collect();
    assert_eq!(unlocks.len(), 1, "{unlocks:?}");
    assert_eq!(unlocks[0].actor.as_deref(), Some("root"));
    assert_eq!(unlocks[0].subject.as_deref(), Some("alice"));
    assert_eq!(unlocks[0].client_address.as_deref(), Some("127.0.0.1"));

    // Unlocking an account without a device, or no account at all.
    let bob = app.create_user("bob", "bob password", false).await;
    expect_error(
        app.unlock(&root, bob).await,
        StatusCode::CONFLICT,
        ErrorCode::NotSetUp,
    )
    .await;
    expect_error(
        app.unlock(&root, 999_999).await,
        StatusCode::NOT_FOUND,
        ErrorCode::NotFound,
    )
    .await;
}

#[tokio::test]
async fn organizational_accounts_cannot_set_up_two_step_verification() {
    let app = spawn_app().await;
    let carol = app.create_organizational_user("carol", "Contoso").await;
    // There is no password to sign in with here (tests/api/oidc.rs has the whole answer).
    expect_error(
        app.sign_in_raw(&client(), "carol", "any password").await,
        StatusCode::UNAUTHORIZED,
        ErrorCode::OrganizationalAccount,
    )
    .await;
    // As if the identity provider had signed her in (tests/api/oidc.rs does it for real).
    let cookie = app.session_cookie_for(carol, Stage::SignedIn).await;
    let carol_client = bare_client();
    let post = |path: &str, body: serde_json::Value| {
        carol_client
            .post(app.url(path))
            .header(COOKIE, &cookie)
            .json(&body)
            .send()
    };

    let me: User = ok_json(
        carol_client
            .get(app.url("/api/me"))
            .header(COOKIE, &cookie)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(
        me.account,
        AccountKind::Organizational {
            identity_provider: "Contoso".to_owned()
        }
    );
    assert!(!me.two_step.expect("own status").enabled);

    let setup = post("/api/me/two-step/setup", serde_json::json!({}))
        .await
        .unwrap();
    let error = expect_error(
        setup,
        StatusCode::FORBIDDEN,
        ErrorCode::OrganizationalAccount,
    )
    .await;
    assert!(error.message.contains("Contoso"), "{}", error.message);
    let confirm = post(
        "/api/me/two-step/confirm",
        serde_json::json!({"code1": "123456", "code2": "654321"}),
    )
    .await
    .unwrap();
    expect_error(
        confirm,
        StatusCode::FORBIDDEN,
        ErrorCode::OrganizationalAccount,
    )
    .await;
    assert_eq!(app.count("two_step_setups").await, 0);
    assert_eq!(app.count("two_step_devices").await, 0);

    // The users list shows the account kind and the identity provider.
    let (root, _) = signed_in_admin(&app).await;
    let list: UserList = ok_json(app.get(&root, "/api/users").await).await;
    let listed = list
        .users
        .iter()
        .find(|u| u.id == carol)
        .expect("carol is listed");
    assert_eq!(listed.account, me.account);
    assert!(!listed.two_step.as_ref().expect("status").enabled);
    let raw: serde_json::Value = ok_json(app.get(&root, "/api/users").await).await;
    let raw_carol = raw["users"]
        .as_array()
        .expect("users")
        .iter()
        .find(|u| u["username"] == "carol")
        .expect("carol");
    assert_eq!(
        raw_carol["account"],
        serde_json::json!({"kind": "organizational", "identity_provider": "Contoso"})
    );
    let root_entry = raw["users"]
        .as_array()
        .expect("users")
        .iter()
        .find(|u| u["username"] == "root")
        .expect("root");
    assert_eq!(
        root_entry["account"],
        serde_json::json!({"kind": "team_server"})
    );
}

#[tokio::test]
async fn the_users_list_shows_each_accounts_own_two_step_status() {
    let app = spawn_app().await;
    let (root, _) = signed_in_admin(&app).await;
    let alice = client();
    app.enrolled_user(&alice, "alice", PASSWORD).await;
    let alice_id = app.user_id("alice").await;
    app.create_user("bob", PASSWORD, false).await;
    // Straight in the database: Alice's code step locked and 3 of her recovery codes used, so
    // her status differs from a fresh device's in every field.
    sqlx::query("UPDATE two_step_devices SET locked = 1 WHERE user_id = $1")
        .bind(alice_id)
        .execute(&app.db)
        .await
        .unwrap();
    sqlx::query(
        "UPDATE recovery_codes SET used_at = 1 WHERE id IN
             (SELECT id FROM recovery_codes WHERE user_id = $1 ORDER BY id LIMIT 3)",
    )
    .bind(alice_id)
    .execute(&app.db)
    .await
    .unwrap();

    let list: UserList = ok_json(app.get(&root, "/api/users").await).await;
    assert_eq!(list.users.len(), 3);
    for listed in &list.users {
        // The list says for each account what its own page says.
        let page: User = ok_json(app.get(&root, &format!("/api/users/{}", listed.id)).await).await;
        assert_eq!(listed.two_step, page.two_step, "{}", listed.username);
    }
    let status = |name: &str| {
        list.users
            .iter()
            .find(|u| u.username == name)
            .and_then(|u| u.two_step.clone())
            .expect("a status")
    };
    let alice_status = status("alice");
    assert!(alice_status.enabled && alice_status.locked);
    assert_eq!(alice_status.recovery_codes_left, 7);
    assert!(!status("bob").enabled && !status("root").enabled);
}

#[tokio::test]
async fn the_users_list_searches_by_name_filters_by_status_and_comes_50_a_page() {
    let app = spawn_app().await;
    let (root, _) = signed_in_admin(&app).await;
    let alice = client();
    app.enrolled_user(&alice, "alice", PASSWORD).await;
    let alice_id = app.user_id("alice").await;
    sqlx::query("UPDATE two_step_devices SET locked = 1 WHERE user_id = $1")
        .bind(alice_id)
        .execute(&app.db)
        .await
        .unwrap();
    app.create_user("bob", PASSWORD, false).await;
    for n in 0..53 {
        app.create_organizational_user(&format!("member{n:02}"), "Contoso")
            .await;
    }
    let list = async |client: &Client, query: &str| -> UserList {
        ok_json(app.get(client, &format!("/api/users{query}")).await).await
    };
    let names = |list: &UserList| -> Vec<String> {
        list.users.iter().map(|u| u.username.clone()).collect()
    };

    // 56 accounts: 50 on the first page, 6 on the second, by name.
    let first = list(&root, "").await;
    assert_eq!(
        (first.users.len(), first.total, first.page, first.per_page),
        (50, 56, 1, 50)
    );
    assert_eq!(names(&first)[..3], ["alice", "bob", "member00"]);
    assert_eq!(
        first.two_step_summary,
        Some(TwoStepSummary {
            users: 56,
            using_two_step: 1
        })
    );
    let second = list(&root, "?page=2").await;
    assert_eq!((second.users.len(), second.total, second.page), (6, 56, 2));
    assert_eq!(names(&second).last().map(String::as_str), Some("root"));
    assert!(list(&root, "?page=3").await.users.is_empty());
    // By the name before it (what the app's Next page asks): the same second page, and only
    // a page that has one after it names its last name.
    assert_eq!(
        first.next.as_deref(),
        names(&first).last().map(String::as_str)
    );
    let after = list(&root, &format!("?after={}", first.next.as_deref().unwrap())).await;
    assert_eq!(names(&after), names(&second));
    assert_eq!((after.next, after.total, after.page), (None, 56, 0));
    let members = list(&root, "?kind=organizational&after=member50").await;
    assert_eq!(names(&members), ["member51", "member52"]);

    // Search: the beginning of the name, any case; % and _ are plain characters.
    let found = list(&root, "?q=ALI").await;
    assert_eq!((names(&found), found.total), (vec!["alice".to_owned()], 1));
    assert_eq!(list(&root, "?q=lic").await.total, 0);
    assert_eq!(list(&root, "?q=member1").await.total, 10);
    assert_eq!(list(&root, "?q=%25").await.total, 0);
    assert_eq!(list(&root, "?q=_").await.total, 0);
    // The summary is about everyone, whatever the query.
    assert_eq!(
        list(&root, "?q=bob").await.two_step_summary.unwrap().users,
        56
    );

    // By 2-step status, with search and pages.
    assert_eq!(names(&list(&root, "?two_step=on").await), ["alice"]);
    assert_eq!(names(&list(&root, "?two_step=locked").await), ["alice"]);
    let off = list(&root, "?two_step=off&page=2").await;
    assert_eq!((off.total, off.users.len()), (55, 5));
    assert_eq!(list(&root, "?two_step=off&q=bo").await.total, 1);

    // By role and by kind of account, with search and pages.
    assert_eq!(names(&list(&root, "?role=administrator").await), ["root"]);
    let people = list(&root, "?role=user&page=2").await;
    assert_eq!((people.total, people.users.len()), (55, 5));
    assert_eq!(
        names(&list(&root, "?kind=team_server").await),
        ["alice", "bob", "root"]
    );
    let members = list(&root, "?kind=organizational&q=member5").await;
    assert_eq!(names(&members), ["member50", "member51", "member52"]);
    assert_eq!(list(&root, "?disabled=true").await.total, 0);
    assert_eq!(list(&root, "?disabled=false").await.total, 56);

    // Bad queries are refused.
    for query in [
        "?page=0",
        "?page=x",
        "?page=2&after=bob",
        "?two_step=maybe",
        "?role=root",
        "?kind=other",
        "?disabled=maybe",
    ] {
        let response = app.get(&root, &format!("/api/users{query}")).await;
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{query}");
    }

    // Someone who is not an administrator searches by name, but sees no one else's status
    // and cannot filter by it.
    let bob = client();
    app.sign_in(&bob, "bob", PASSWORD).await;
    let seen = list(&bob, "?q=ali").await;
    assert_eq!(names(&seen), ["alice"]);
    assert!(seen.users[0].two_step.is_none() && seen.two_step_summary.is_none());
    for query in ["?two_step=on", "?disabled=true"] {
        let response = app.get(&bob, &format!("/api/users{query}")).await;
        assert_eq!(response.status(), StatusCode::FORBIDDEN, "{query}");
    }
    // Role and kind are on everyone's list, so anyone may filter by them.
    assert_eq!(names(&list(&bob, "?role=administrator").await), ["root"]);
}

/// A filter's total is counted up to 1,000 (more is "more than 1,000"); with no filter, every
/// account is counted exactly, and the summary is kept true by the database as accounts and
/// devices come and go (also when a deleted account's device goes with it).
#[tokio::test]
async fn a_broad_filter_counts_up_to_a_thousand_and_the_summary_follows_every_change() {
    let app = spawn_app().await;
    let (root, _) = signed_in_admin(&app).await;
    let list = async |query: &str| -> UserList {
        ok_json(app.get(&root, &format!("/api/users{query}")).await).await
    };
    // 1,001 members written straight to the database (1,002 accounts with root).
    for n in 0..1001 {
        sqlx::query("INSERT INTO users (username, role, created_at) VALUES ($1, 'user', 0)")
            .bind(format!("member{n:04}"))
            .execute(&app.db)
            .await
            .unwrap();
    }
    let everyone = list("").await;
    assert_eq!((everyone.total, everyone.more), (1002, false));
    assert_eq!(everyone.two_step_summary.unwrap().users, 1002);
    let members = list("?role=user").await;
    assert_eq!((members.total, members.more), (1000, true));
    let some = list("?q=member09").await;
    assert_eq!((some.total, some.more), (100, false));

    // A device and an account come and go: the summary follows.
    app.enrolled_user(&client(), "alice", PASSWORD).await;
    let summary = list("").await.two_step_summary.unwrap();
    assert_eq!((summary.users, summary.using_two_step), (1003, 1));
    let alice = app.user_id("alice").await;
    let done = root
        .delete(app.url(&format!("/api/users/{alice}")))
        .send()
        .await
        .unwrap();
    assert_eq!(done.status(), StatusCode::NO_CONTENT);
    let summary = list("").await.two_step_summary.unwrap();
    assert_eq!((summary.users, summary.using_two_step), (1002, 0));
}
