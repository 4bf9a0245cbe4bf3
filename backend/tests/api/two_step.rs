//! 2-step verification through the API with an injected clock: enrollment with two
//! consecutive codes, then the code step at sign-in.

use crate::helpers::{
    STEP, base32_decode, client, expect_error, expect_error_with_headers, ok_json, spawn_app, totp,
    wrong_code,
};
use reqwest::StatusCode;
use reqwest::header::RETRY_AFTER;
use twostep_shared::ErrorCode;
use twostep_shared::api::RecoveryCodes;

const PASSWORD: &str = "correct horse";

// ---------------------------------------------------------------------------------------
// Enrollment
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn two_consecutive_codes_enroll_and_return_ten_recovery_codes() {
    let app = spawn_app().await;
    app.create_user("alice", PASSWORD, false).await;
    let client = client();
    app.sign_in(&client, "alice", PASSWORD).await;

    let setup = app.setup(&client).await;
    assert_eq!(setup.expires_in_seconds, 600);
    assert!(
        setup
            .otpauth_uri
            .starts_with("otpauth://totp/Team%20Server:alice?"),
        "{}",
        setup.otpauth_uri
    );
    for part in [
        &format!("secret={}", setup.secret),
        "issuer=Team%20Server",
        "algorithm=SHA1",
        "digits=6",
        "period=30",
    ] {
        assert!(setup.otpauth_uri.contains(part), "{}", setup.otpauth_uri);
    }
    let secret = base32_decode(&setup.secret);
    assert_eq!(secret.len(), 20);

    let t = app.now_step();
    let response = app
        .confirm(&client, &totp(&secret, t - 1), &totp(&secret, t))
        .await;
    let codes: RecoveryCodes = ok_json(response).await;
    assert_eq!(codes.recovery_codes.len(), 10);
    for code in &codes.recovery_codes {
        assert_eq!(code.len(), 11, "{code}");
        assert_eq!(&code[5..6], "-", "{code}");
    }
    let mut distinct = codes.recovery_codes.clone();
    distinct.sort();
    distinct.dedup();
    assert_eq!(distinct.len(), 10);

    let status = app.me(&client).await.two_step.expect("own status");
    assert!(status.enabled);
    assert_eq!(status.recovery_codes_left, 10);
    assert!(!status.locked);
    assert_eq!(app.count("two_step_devices").await, 1);
    assert_eq!(app.count("two_step_setups").await, 0);

    // One device per account: a new setup, or the same confirm again, is refused.
    expect_error(
        app.setup_raw(&client).await,
        StatusCode::CONFLICT,
        ErrorCode::AlreadySetUp,
    )
    .await;
    expect_error(
        app.confirm(&client, &totp(&secret, t), &totp(&secret, t + 1))
            .await,
        StatusCode::CONFLICT,
        ErrorCode::AlreadySetUp,
    )
    .await;
    assert_eq!(app.count("recovery_codes").await, 10);
}

#[tokio::test]
async fn pairs_that_are_not_right_get_distinct_actionable_errors() {
    let app = spawn_app().await;
    app.create_user("alice", PASSWORD, false).await;
    let client = client();
    app.sign_in(&client, "alice", PASSWORD).await;
    let setup = app.setup(&client).await;
    let secret = base32_decode(&setup.secret);
    let t = app.now_step();
    let code = |step: u64| totp(&secret, step);
    let not_consecutive = |code1: String, code2: String| {
        let app = &app;
        let client = &client;
        async move {
            expect_error(
                app.confirm(client, &code1, &code2).await,
                StatusCode::BAD_REQUEST,
                ErrorCode::CodesNotConsecutive,
            )
            .await
            .message
        }
    };

    let same = not_consecutive(code(t), code(t)).await;
    let reversed = not_consecutive(code(t), code(t - 1)).await;
    let gap = not_consecutive(code(t - 1), code(t + 1)).await;
    assert!(same.contains("same"), "{same}");
    assert!(reversed.contains("order"), "{reversed}");
    assert_ne!(same, reversed);
    assert_ne!(same, gap);
    assert_ne!(reversed, gap);

    // Not six digits: the same check as in the browser, naming the field.
    for (code1, code2, field) in [
        ("12a456".to_owned(), code(t), "code1"),
        ("12345".to_owned(), code(t), "code1"),
        (code(t - 1), "".to_owned(), "code2"),
        (code(t - 1), "1234567".to_owned(), "code2"),
        (code(t - 1), "١٢٣٤٥٦".to_owned(), "code2"),
    ] {
        let body = expect_error(
            app.confirm(&client, &code1, &code2).await,
            StatusCode::BAD_REQUEST,
            ErrorCode::InvalidInput,
        )
        .await;
        assert_eq!(body.field.as_deref(), Some(field), "{code1:?} {code2:?}");
    }

    // A code that is not of this key anywhere near now.
    let wrong = wrong_code(&secret, t, 12);
    let body = expect_error(
        app.confirm(&client, &wrong, &code(t)).await,
        StatusCode::BAD_REQUEST,
        ErrorCode::CodeWrong,
    )
    .await;
    assert_eq!(body.field.as_deref(), Some("code1"));
    let body = expect_error(
        app.confirm(&client, &code(t - 1), &wrong).await,
        StatusCode::BAD_REQUEST,
        ErrorCode::CodeWrong,
    )
    .await;
    assert_eq!(body.field.as_deref(), Some("code2"));

    // The right pair, but from a device whose clock is 5 steps ahead / behind.
    let ahead = expect_error(
        app.confirm(&client, &code(t + 4), &code(t + 5)).await,
        StatusCode::BAD_REQUEST,
        ErrorCode::ClockOff,
    )
    .await;
    assert!(ahead.message.contains("150 seconds"), "{}", ahead.message);
    assert!(ahead.message.contains("ahead"), "{}", ahead.message);
    let behind = expect_error(
        app.confirm(&client, &code(t - 6), &code(t - 5)).await,
        StatusCode::BAD_REQUEST,
        ErrorCode::ClockOff,
    )
    .await;
    assert!(behind.message.contains("150 seconds"), "{}", behind.message);
    assert!(behind.message.contains("behind"), "{}", behind.message);

    // None of that used up the setup: the right pair still enrolls (codes may be typed
    // with a space between the digit groups).
    assert_eq!(app.count("two_step_devices").await, 0);
    let spaced = |c: String| format!("{} {}", &c[..3], &c[3..]);
    let response = app
        .confirm(&client, &spaced(code(t - 1)), &spaced(code(t)))
        .await;
    let codes: RecoveryCodes = ok_json(response).await;
    assert_eq!(codes.recovery_codes.len(), 10);
}

#[tokio::test]
async fn the_pair_may_end_one_step_either_side_of_now() {
    let app = spawn_app().await;
    let t = app.now_step();
    let mut clients = Vec::new();
    for name in ["early", "late", "off"] {
        app.create_user(name, PASSWORD, false).await;
        let client = client();
        app.sign_in(&client, name, PASSWORD).await;
        let secret = base32_decode(&app.setup(&client).await.secret);
        clients.push((client, secret));
    }
    let confirm = |i: usize, first: u64| {
        let (client, secret) = &clients[i];
        let (code1, code2) = (totp(secret, first), totp(secret, first + 1));
        let app = &app;
        async move { app.confirm(client, &code1, &code2).await }
    };

    // Ending one step behind now, or one step ahead: accepted.
    let _: RecoveryCodes = ok_json(confirm(0, t - 2).await).await;
    let _: RecoveryCodes = ok_json(confirm(1, t).await).await;
    // Two steps off: the clock is off by 60 seconds.
    let ahead = expect_error(
        confirm(2, t + 1).await,
        StatusCode::BAD_REQUEST,
        ErrorCode::ClockOff,
    )
    .await;
    assert!(
        ahead.message.contains("60 seconds ahead"),
        "{}",
        ahead.message
    );
    let behind = expect_error(
        confirm(2, t - 3).await,
        StatusCode::BAD_REQUEST,
        ErrorCode::ClockOff,
    )
    .await;
    assert!(
        behind.message.contains("60 seconds behind"),
        "{}",
        behind.message
    );
    // Beyond the ±10 step search window the codes are simply wrong.
    let far = expect_error(
        confirm(2, t + 20).await,
        StatusCode::BAD_REQUEST,
        ErrorCode::CodeWrong,
    )
    .await;
    assert_eq!(far.field.as_deref(), Some("code1"));
}

#[tokio::test]
async fn a_setup_expires_after_ten_minutes_and_a_new_one_replaces_it() {
    let app = spawn_app().await;
    app.create_user("alice", PASSWORD, false).await;
    let client = client();
    app.sign_in(&client, "alice", PASSWORD).await;

    // Without a setup there is nothing to confirm.
    expect_error(
        app.confirm(&client, "123456", "654321").await,
        StatusCode::GONE,
        ErrorCode::SetupExpired,
    )
    .await;

    let secret = base32_decode(&app.setup(&client).await.secret);
    app.clock.advance(601);
    // Ten minutes after signing in, setup asks to confirm it's you again.
    app.reauthenticate_ok(&client, PASSWORD).await;
    let t = app.now_step();
    expect_error(
        app.confirm(&client, &totp(&secret, t - 1), &totp(&secret, t))
            .await,
        StatusCode::GONE,
        ErrorCode::SetupExpired,
    )
    .await;

    // A new setup has a new secret; the old one's codes no longer fit.
    let old = base32_decode(&app.setup(&client).await.secret);
    let new = base32_decode(&app.setup(&client).await.secret);
    assert_ne!(old, new);
    assert_eq!(app.count("two_step_setups").await, 1);
    let body = expect_error(
        app.confirm(&client, &totp(&old, t - 1), &totp(&old, t))
            .await,
        StatusCode::BAD_REQUEST,
        ErrorCode::CodeWrong,
    )
    .await;
    assert_eq!(body.field.as_deref(), Some("code1"));
    app.clock.advance(599);
    let t = app.now_step();
    let _: RecoveryCodes = ok_json(
        app.confirm(&client, &totp(&new, t - 1), &totp(&new, t))
            .await,
    )
    .await;
}

// ---------------------------------------------------------------------------------------
// Sign-in with a device
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn the_pending_state_allows_only_the_code_step_and_codes_are_used_once() {
    let app = spawn_app().await;
    let enrolled = app.enrolled_user(&client(), "alice", PASSWORD).await;
    let secret = &enrolled.secret;
    let t = app.now_step();

    let client = client();
    app.sign_in_pending(&client, "alice", PASSWORD).await;
    for path in ["/api/me", "/api/users", "/api/users/1"] {
        expect_error(
            app.get(&client, path).await,
            StatusCode::UNAUTHORIZED,
            ErrorCode::VerificationRequired,
        )
        .await;
    }
    expect_error(
        app.setup_raw(&client).await,
        StatusCode::UNAUTHORIZED,
        ErrorCode::VerificationRequired,
    )
    .await;
    expect_error(
        app.confirm(&client, &totp(secret, t), &totp(secret, t + 1))
            .await,
        StatusCode::UNAUTHORIZED,
        ErrorCode::VerificationRequired,
    )
    .await;

    // Neither enrollment code signs in, although both are within a step of now.
    for step in [t - 1, t] {
        let body = expect_error(
            app.verify(&client, &totp(secret, step)).await,
            StatusCode::UNAUTHORIZED,
            ErrorCode::CodeWrong,
        )
        .await;
        assert!(body.message.contains("already used"), "{}", body.message);
    }
    // A malformed code names the field and is not a failure.
    let body = expect_error(
        app.verify(&client, "12345").await,
        StatusCode::BAD_REQUEST,
        ErrorCode::InvalidInput,
    )
    .await;
    assert_eq!(body.field.as_deref(), Some("code"));

    // The next step's code signs in, and then the session is a full one.
    app.clock.advance(STEP);
    let code = totp(secret, t + 1);
    let user = app.verify_ok(&client, &code).await;
    assert_eq!(user.username, "alice");
    assert_eq!(app.me(&client).await.username, "alice");
    // Only the signed-in session is left of this client's sign-in: the pending token
    // was not promoted.
    assert_eq!(app.count("sessions").await, 2);
    expect_error(
        app.verify(&client, &code).await,
        StatusCode::CONFLICT,
        ErrorCode::BadRequest,
    )
    .await;

    // The same code again, in a new sign-in: a replay.
    let other = crate::helpers::client();
    app.sign_in_pending(&other, "alice", PASSWORD).await;
    let body = expect_error(
        app.verify(&other, &code).await,
        StatusCode::UNAUTHORIZED,
        ErrorCode::CodeWrong,
    )
    .await;
    assert!(body.message.contains("already used"), "{}", body.message);
    // The step after it works (typed with a space).
    app.clock.advance(STEP);
    let next = totp(secret, t + 2);
    app.verify_ok(&other, &format!("{} {}", &next[..3], &next[3..]))
        .await;
    assert_eq!(app.me(&other).await.username, "alice");
}

#[tokio::test]
async fn verifying_without_a_pending_sign_in_is_expired() {
    let app = spawn_app().await;
    expect_error(
        app.verify(&client(), "123456").await,
        StatusCode::UNAUTHORIZED,
        ErrorCode::VerificationExpired,
    )
    .await;
}

#[tokio::test]
async fn the_pending_state_expires_after_five_minutes() {
    let app = spawn_app().await;
    let enrolled = app.enrolled_user(&client(), "alice", PASSWORD).await;

    let client = client();
    app.sign_in_pending(&client, "alice", PASSWORD).await;
    app.clock.advance(299);
    app.verify_ok(&client, &totp(&enrolled.secret, app.now_step()))
        .await;

    let client = crate::helpers::client();
    app.sign_in_pending(&client, "alice", PASSWORD).await;
    app.clock.advance(301);
    expect_error(
        app.verify(&client, &totp(&enrolled.secret, app.now_step()))
            .await,
        StatusCode::UNAUTHORIZED,
        ErrorCode::VerificationExpired,
    )
    .await;
    expect_error(
        app.get(&client, "/api/me").await,
        StatusCode::UNAUTHORIZED,
        ErrorCode::Unauthorized,
    )
    .await;
}

#[tokio::test]
async fn wrong_codes_are_throttled_across_sessions_with_a_growing_delay() {
    let app = spawn_app().await;
    let enrolled = app.enrolled_user(&client(), "alice", PASSWORD).await;
    let secret = &enrolled.secret;
    app.clock.advance(STEP);

    // Failures count per account: three in one sign-in, two in another.
    let first = client();
    let second = client();
    app.sign_in_pending(&first, "alice", PASSWORD).await;
    app.sign_in_pending(&second, "alice", PASSWORD).await;
    let wrong = wrong_code(secret, app.now_step(), 3);
    for client in [&first, &first, &first, &second, &second] {
        let body = expect_error(
            app.verify(client, &wrong).await,
            StatusCode::UNAUTHORIZED,
            ErrorCode::CodeWrong,
        )
        .await;
        assert!(body.message.contains("not correct"), "{}", body.message);
    }

    // The sixth attempt waits, even with the right code.
    let right = totp(secret, app.now_step());
    let (headers, body) = expect_error_with_headers(
        app.verify(&first, &right).await,
        StatusCode::TOO_MANY_REQUESTS,
        ErrorCode::TooManyAttempts,
    )
    .await;
    assert_eq!(headers.get(RETRY_AFTER).unwrap(), "30");
    assert_eq!(body.retry_after_seconds, Some(30));
    assert!(body.message.contains("30 seconds"), "{}", body.message);

    app.clock.advance(10);
    let (headers, body) = expect_error_with_headers(
        app.verify(&second, &right).await,
        StatusCode::TOO_MANY_REQUESTS,
        ErrorCode::TooManyAttempts,
    )
    .await;
    assert_eq!(headers.get(RETRY_AFTER).unwrap(), "20");
    assert_eq!(body.retry_after_seconds, Some(20));

    // After the wait, one more wrong code doubles the delay.
    app.clock.advance(21);
    let wrong = wrong_code(secret, app.now_step(), 3);
    expect_error(
        app.verify(&first, &wrong).await,
        StatusCode::UNAUTHORIZED,
        ErrorCode::CodeWrong,
    )
    .await;
    let body = expect_error(
        app.verify(&first, &wrong).await,
        StatusCode::TOO_MANY_REQUESTS,
        ErrorCode::TooManyAttempts,
    )
    .await;
    assert_eq!(body.retry_after_seconds, Some(60));

    // After that wait the right code signs in and clears the count.
    app.clock.advance(61);
    app.verify_ok(&first, &totp(secret, app.now_step())).await;
    let wrong = wrong_code(secret, app.now_step(), 3);
    expect_error(
        app.verify(&second, &wrong).await,
        StatusCode::UNAUTHORIZED,
        ErrorCode::CodeWrong,
    )
    .await;
}

#[tokio::test]
async fn a_recovery_code_works_once() {
    let app = spawn_app().await;
    let enrolled = app.enrolled_user(&client(), "alice", PASSWORD).await;
    let codes = &enrolled.recovery_codes;

    let client = client();
    app.sign_in_pending(&client, "alice", PASSWORD).await;
    let user = app.verify_ok(&client, &codes[0]).await;
    assert_eq!(user.two_step.expect("status").recovery_codes_left, 9);
    let status = app.me(&client).await.two_step.expect("status");
    assert!(status.enabled);
    assert_eq!(status.recovery_codes_left, 9);

    let again = crate::helpers::client();
    app.sign_in_pending(&again, "alice", PASSWORD).await;
    let body = expect_error(
        app.verify(&again, &codes[0]).await,
        StatusCode::UNAUTHORIZED,
        ErrorCode::CodeWrong,
    )
    .await;
    assert!(body.message.contains("recovery code"), "{}", body.message);
    // Upper case and without the dash is the same code.
    let typed = codes[1].to_uppercase().replace('-', "");
    let user = app.verify_ok(&again, &typed).await;
    assert_eq!(user.two_step.expect("status").recovery_codes_left, 8);
}

/// Recovery codes stored by older versions as Argon2id hashes still sign in, once.
#[tokio::test]
async fn recovery_codes_stored_as_argon2_by_older_versions_still_work_once() {
    let app = spawn_app().await;
    let enrolled = app.enrolled_user(&client(), "alice", PASSWORD).await;
    let user_id = app.user_id("alice").await;
    let code = enrolled.recovery_codes[0].clone();
    let normalised = twostep_shared::input::RecoveryCode::parse(&code)
        .expect("a recovery code")
        .expose()
        .to_owned();
    let legacy = twostep::accounts::passwords::hash_blocking(&normalised).expect("a hash");
    sqlx::query("DELETE FROM recovery_codes WHERE user_id = $1")
        .bind(user_id)
        .execute(&app.db)
        .await
        .unwrap();
    sqlx::query("INSERT INTO recovery_codes (user_id, code_hash) VALUES ($1, $2)")
        .bind(user_id)
        .bind(legacy)
        .execute(&app.db)
        .await
        .unwrap();

    let first = client();
    app.sign_in_pending(&first, "alice", PASSWORD).await;
    let user = app.verify_ok(&first, &code).await;
    assert_eq!(user.two_step.expect("status").recovery_codes_left, 0);
    let again = client();
    app.sign_in_pending(&again, "alice", PASSWORD).await;
    expect_error(
        app.verify(&again, &code).await,
        StatusCode::UNAUTHORIZED,
        ErrorCode::CodeWrong,
    )
    .await;
}

#[tokio::test]
async fn too_many_failures_lock_the_code_step_until_a_recovery_code_is_used() {
    let app = spawn_app().await;
    let enrolling = client();
    let enrolled = app.enrolled_user(&enrolling, "alice", PASSWORD).await;
    let secret = &enrolled.secret;

    // 99 consecutive failures so far, the last one just now.
    let now = app.now();
    sqlx::query(
        "UPDATE two_step_devices SET failed_attempts = 99, last_failed_at = $1 WHERE user_id = \
         (SELECT id FROM users WHERE username = 'alice')",
    )
    .bind(now as i64)
    .execute(&app.db)
    .await
    .unwrap();
    app.clock.advance(15 * 60 + 1);

    let client = client();
    app.sign_in_pending(&client, "alice", PASSWORD).await;
    let wrong = wrong_code(secret, app.now_step(), 3);
    expect_error(
        app.verify(&client, &wrong).await,
        StatusCode::LOCKED,
        ErrorCode::Locked,
    )
    .await;
    // Locked: even the right code is refused (and not counted).
    expect_error(
        app.verify(&client, &totp(secret, app.now_step())).await,
        StatusCode::LOCKED,
        ErrorCode::Locked,
    )
    .await;
    let (failures, locked): (i64, i64) =
        sqlx::query_as("SELECT failed_attempts, locked FROM two_step_devices")
            .fetch_one(&app.db)
            .await
            .unwrap();
    assert_eq!((failures, locked), (100, 1));
    let status = app.me(&enrolling).await.two_step.expect("status");
    assert!(status.locked, "the profile shows the lock");

    // The lock message points to a recovery code: it works right away, without waiting
    // out the delay, and clears the lock.
    let user = app.verify_ok(&client, &enrolled.recovery_codes[0]).await;
    let status = user.two_step.expect("status");
    assert!(!status.locked);
    assert_eq!(status.recovery_codes_left, 9);

    // The authenticator app works again.
    let client = crate::helpers::client();
    app.sign_in_pending(&client, "alice", PASSWORD).await;
    app.verify_ok(&client, &totp(secret, app.now_step())).await;
}

#[tokio::test]
async fn sign_in_response_shape_is_tagged() {
    // The browser tells the two answers apart by "status".
    let app = spawn_app().await;
    app.enrolled_user(&client(), "alice", PASSWORD).await;
    let response = app.sign_in_raw(&client(), "alice", PASSWORD).await;
    let json: serde_json::Value = ok_json(response).await;
    assert_eq!(json["status"], "verification_required");
    assert_eq!(json["expires_in_seconds"], 300);
    assert!(json.get("user").is_none());
}

#[tokio::test]
async fn new_recovery_codes_need_a_current_code_and_replace_the_old_ones() {
    let app = spawn_app().await;
    let client = client();
    let enrolled = app.enrolled_user(&client, "alice", PASSWORD).await;
    let post = |code: String| {
        client
            .post(app.url("/api/me/two-step/recovery-codes"))
            .json(&serde_json::json!({ "code": code }))
            .send()
    };

    // A recovery code is not enough, nor is a wrong code.
    let body = expect_error(
        post(enrolled.recovery_codes[0].clone()).await.unwrap(),
        StatusCode::BAD_REQUEST,
        ErrorCode::InvalidInput,
    )
    .await;
    assert_eq!(body.field.as_deref(), Some("code"));
    app.clock.advance(STEP);
    let wrong = wrong_code(&enrolled.secret, app.now_step(), 1);
    expect_error(
        post(wrong).await.unwrap(),
        StatusCode::UNAUTHORIZED,
        ErrorCode::CodeWrong,
    )
    .await;

    // The current code gives ten new codes; the old ones stop working.
    let current = totp(&enrolled.secret, app.now_step());
    let fresh: twostep_shared::api::RecoveryCodes =
        ok_json(post(current.clone()).await.unwrap()).await;
    assert_eq!(fresh.recovery_codes.len(), 10);
    assert!(
        fresh
            .recovery_codes
            .iter()
            .all(|c| !enrolled.recovery_codes.contains(c))
    );
    assert_eq!(
        app.me(&client)
            .await
            .two_step
            .expect("status")
            .recovery_codes_left,
        10
    );
    // The code that was spent cannot be spent again.
    expect_error(
        post(current).await.unwrap(),
        StatusCode::UNAUTHORIZED,
        ErrorCode::CodeWrong,
    )
    .await;

    let signing_in = crate::helpers::client();
    app.sign_in_pending(&signing_in, "alice", PASSWORD).await;
    expect_error(
        app.verify(&signing_in, &enrolled.recovery_codes[1]).await,
        StatusCode::UNAUTHORIZED,
        ErrorCode::CodeWrong,
    )
    .await;
    app.verify_ok(&signing_in, &fresh.recovery_codes[0]).await;
    let events: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM audit_events WHERE event = 'recovery_codes_regenerated'",
    )
    .fetch_one(&app.db)
    .await
    .unwrap();
    assert_eq!(events, 1);
}
