//! Throttles on guessing passwords: per typed username (known or not, so a 429 does not tell
//! which accounts exist), per client address, and on the password given as a removal proof.

use crate::helpers::{client, expect_error, ok_json, spawn_app};
use reqwest::StatusCode;
use twostep::limits::policy::{self, ADDRESS};
use twostep_shared::ErrorCode;
use twostep_shared::api::SignInResponse;

const PASSWORD: &str = "correct horse";

#[tokio::test]
async fn wrong_passwords_for_a_username_are_slowed_down_known_or_not() {
    let app = spawn_app().await;
    app.create_user("alice", PASSWORD, false).await;
    let client = client();
    for name in ["alice", "nobody"] {
        for _ in 0..i64::from(policy::PASSWORD.free) {
            expect_error(
                app.sign_in_raw(&client, name, "wrong password").await,
                StatusCode::UNAUTHORIZED,
                ErrorCode::BadCredentials,
            )
            .await;
        }
        // The next try, even with the right password, waits: the same answer for both names.
        let body = expect_error(
            app.sign_in_raw(&client, name, PASSWORD).await,
            StatusCode::TOO_MANY_REQUESTS,
            ErrorCode::TooManyAttempts,
        )
        .await;
        assert_eq!(body.retry_after_seconds, Some(1), "{name}");
    }
    // Other usernames are not affected, and after the wait the right password works and
    // clears the count.
    app.create_user("bob", PASSWORD, false).await;
    let _: SignInResponse = ok_json(app.sign_in_raw(&client, "bob", PASSWORD).await).await;
    app.clock.advance(1);
    let _: SignInResponse = ok_json(app.sign_in_raw(&client, "alice", PASSWORD).await).await;
    expect_error(
        app.sign_in_raw(&client, "alice", "wrong password").await,
        StatusCode::UNAUTHORIZED,
        ErrorCode::BadCredentials,
    )
    .await;
}

#[tokio::test]
async fn one_address_cannot_guess_across_many_usernames() {
    let app = spawn_app().await;
    app.create_user("alice", PASSWORD, false).await;
    let client = client();
    for i in 0..ADDRESS.max_failures {
        expect_error(
            app.sign_in_raw(&client, &format!("guess{i}"), "wrong password")
                .await,
            StatusCode::UNAUTHORIZED,
            ErrorCode::BadCredentials,
        )
        .await;
    }
    expect_error(
        app.sign_in_raw(&client, "alice", PASSWORD).await,
        StatusCode::TOO_MANY_REQUESTS,
        ErrorCode::TooManyAttempts,
    )
    .await;
    app.clock.advance(ADDRESS.window_seconds);
    let _: SignInResponse = ok_json(app.sign_in_raw(&client, "alice", PASSWORD).await).await;
}

#[tokio::test]
async fn a_wrong_code_as_removal_proof_is_recorded_and_throttled() {
    let app = spawn_app().await;
    let client = client();
    let secret = app.enrolled_user(&client, "alice", PASSWORD).await.secret;
    let id = app.user_id("alice").await;
    let wrong = crate::helpers::wrong_code(&secret, app.now_step(), 40);
    for _ in 0..i64::from(policy::CODE.free) {
        expect_error(
            app.remove_device(&client, id, Some(&wrong)).await,
            StatusCode::UNAUTHORIZED,
            ErrorCode::CodeWrong,
        )
        .await;
    }
    expect_error(
        app.remove_device(&client, id, Some(&wrong)).await,
        StatusCode::TOO_MANY_REQUESTS,
        ErrorCode::TooManyAttempts,
    )
    .await;
    // The password is no proof of the second factor at all (and costs no try).
    expect_error(
        app.remove_device(&client, id, Some(PASSWORD)).await,
        StatusCode::FORBIDDEN,
        ErrorCode::ProofWrong,
    )
    .await;
    assert_eq!(
        app.count_for("two_step_devices", id).await,
        1,
        "still enrolled"
    );
    // Each wrong proof is in the audit log.
    let recorded: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM audit_events WHERE event = 'sign_in_failed_code' AND detail = 'removal proof'",
    )
    .fetch_one(&app.db)
    .await
    .unwrap();
    assert_eq!(recorded, i64::from(policy::CODE.free));
}

/// The owner's known browser is exempt from the per-address window: with the window filled by
/// someone's guesses from the same address, a new browser waits, while the owner's signs in
/// at once and its wrong password is checked (401), not refused.
#[tokio::test]
async fn the_owners_known_browser_skips_a_filled_address_window() {
    let app = spawn_app().await;
    app.create_user("alice", PASSWORD, false).await;
    let owner = client();
    let _: SignInResponse = app.sign_in(&owner, "alice", PASSWORD).await;
    let guesser = client();
    for i in 0..ADDRESS.max_failures {
        expect_error(
            app.sign_in_raw(&guesser, &format!("guess{i}"), "wrong password")
                .await,
            StatusCode::UNAUTHORIZED,
            ErrorCode::BadCredentials,
        )
        .await;
    }
    expect_error(
        app.sign_in_raw(&client(), "alice", PASSWORD).await,
        StatusCode::TOO_MANY_REQUESTS,
        ErrorCode::TooManyAttempts,
    )
    .await;
    expect_error(
        app.sign_in_raw(&owner, "alice", "wrong password").await,
        StatusCode::UNAUTHORIZED,
        ErrorCode::BadCredentials,
    )
    .await;
    let _: SignInResponse = ok_json(app.sign_in_raw(&owner, "alice", PASSWORD).await).await;
}
