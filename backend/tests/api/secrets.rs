//! The TOTP secret is shown once (at setup) and the recovery codes once (at confirm): no
//! later response carries them, and the database (its files on SQLite, its rows on
//! PostgreSQL) holds neither in plain text.

use crate::helpers::{base32_decode, client, spawn_app, totp};
use reqwest::StatusCode;

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// Fails if `bytes` holds the secret (raw, base32 in either case) or a recovery code (as
/// shown, or normalised without the dash).
fn assert_no_secrets(what: &str, bytes: &[u8], secret: &[u8], base32: &str, codes: &[String]) {
    assert!(!contains(bytes, secret), "{what} holds the raw secret");
    assert!(
        !contains(bytes, base32.as_bytes()),
        "{what} holds the base32 secret"
    );
    assert!(
        !contains(bytes, base32.to_lowercase().as_bytes()),
        "{what} holds the base32 secret in lower case"
    );
    for code in codes {
        assert!(
            !contains(bytes, code.as_bytes()),
            "{what} holds a recovery code"
        );
        assert!(
            !contains(bytes, code.replace('-', "").as_bytes()),
            "{what} holds a normalised recovery code"
        );
    }
}

#[tokio::test]
async fn secrets_are_shown_once_and_not_stored_in_plain_text() {
    let app = spawn_app().await;
    let id = app.create_user("alice", "correct horse", true).await;
    let client = client();
    app.sign_in(&client, "alice", "correct horse").await;

    let setup = app.setup(&client).await;
    let secret = base32_decode(&setup.secret);
    assert!(setup.otpauth_uri.contains(&setup.secret));
    // The pending setup is sealed too.
    assert_no_secrets(
        "the database during setup",
        &app.stored_bytes().await,
        &secret,
        &setup.secret,
        &[],
    );

    let t = app.now_step();
    let confirmed = app
        .confirm(&client, &totp(&secret, t - 1), &totp(&secret, t))
        .await;
    assert_eq!(confirmed.status(), StatusCode::OK);
    let confirmed = confirmed.text().await.unwrap();
    assert_no_secrets(
        "the confirm answer",
        confirmed.as_bytes(),
        &secret,
        &setup.secret,
        &[],
    );
    let codes: twostep_shared::api::RecoveryCodes = serde_json::from_str(&confirmed).unwrap();
    let codes = codes.recovery_codes;
    assert_eq!(codes.len(), 10);

    // Everything the account can read afterwards, including a full sign-in with a code
    // and one with a recovery code.
    let mut bodies = Vec::new();
    for path in ["/api/me", "/api/users", &format!("/api/users/{id}")] {
        let response = app.get(&client, path).await;
        assert_eq!(response.status(), StatusCode::OK, "{path}");
        bodies.push(response.text().await.unwrap());
    }
    let response = app.setup_raw(&client).await;
    assert_eq!(response.status(), StatusCode::CONFLICT);
    bodies.push(response.text().await.unwrap());

    let again = crate::helpers::client();
    let response = app.sign_in_raw(&again, "alice", "correct horse").await;
    assert_eq!(response.status(), StatusCode::OK);
    bodies.push(response.text().await.unwrap());
    app.clock.advance(30);
    let response = app.verify(&again, &totp(&secret, app.now_step())).await;
    assert_eq!(response.status(), StatusCode::OK);
    bodies.push(response.text().await.unwrap());
    let response = app.get(&again, "/api/me").await;
    bodies.push(response.text().await.unwrap());

    let third = crate::helpers::client();
    app.sign_in(&third, "alice", "correct horse").await;
    let response = app.verify(&third, &codes[0]).await;
    assert_eq!(response.status(), StatusCode::OK);
    bodies.push(response.text().await.unwrap());

    for body in &bodies {
        assert_no_secrets(body, body.as_bytes(), &secret, &setup.secret, &codes);
    }

    assert_no_secrets(
        "the database",
        &app.stored_bytes().await,
        &secret,
        &setup.secret,
        &codes,
    );
}
