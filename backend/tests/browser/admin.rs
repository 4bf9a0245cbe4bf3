//! Administration in the browser: removing another user's device, and what an
//! organizational account sees.

use crate::harness::{self, Browser, Server};
use crate::{sign_in, totp};
use fantoccini::Locator;
use twostep_shared::api::{ConfirmRequest, SignInRequest};

/// Enrolls `name` through the API (as the user would with the app); returns the secret and
/// the last accepted step.
pub(crate) async fn enroll_over_api(server: &Server, name: &str, password: &str) -> (Vec<u8>, u64) {
    let http = reqwest::Client::builder()
        .cookie_store(true)
        .build()
        .unwrap();
    let signed_in = http
        .post(server.url("/api/session"))
        .json(&SignInRequest {
            username: name.into(),
            password: password.into(),
        })
        .send()
        .await
        .unwrap();
    assert!(signed_in.status().is_success());
    let setup: serde_json::Value = http
        .post(server.url("/api/me/two-step/setup"))
        .json(&serde_json::json!({}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let secret = totp::base32_decode(setup["secret"].as_str().unwrap()).unwrap();
    let step = totp::now_step();
    let confirmed = http
        .post(server.url("/api/me/two-step/confirm"))
        .json(&ConfirmRequest {
            code1: totp::code(&secret, step - 1),
            code2: totp::code(&secret, step),
            proof: None,
        })
        .send()
        .await
        .unwrap();
    assert!(
        confirmed.status().is_success(),
        "{}",
        confirmed.text().await.unwrap()
    );
    (secret, step)
}

#[tokio::test]
async fn administrator_removes_another_users_device_from_the_users_list() {
    let server = Server::start(&[
        ("carol", "carol-password", false),
        ("boss", "boss-password", true),
    ])
    .await;
    enroll_over_api(&server, "carol", "carol-password").await;
    let browser = Browser::start().await;
    let c = &browser.client;

    sign_in(c, &server, "boss", "boss-password").await;
    harness::link(c, "Users").await.click().await.unwrap();
    harness::wait_text(c, "table", "carol").await;
    harness::snapshot(c, "users").await;
    harness::button_labelled(c, "Open carol")
        .await
        .click()
        .await
        .unwrap();
    harness::wait_text(c, "h1", "Manage user: carol").await;
    harness::link(c, "2-Step verification")
        .await
        .click()
        .await
        .unwrap();
    harness::wait_text(c, "section", "2-Step verification is on").await;
    // An administrator cannot set it up for someone else: status and Remove only.
    assert!(
        c.find(Locator::XPath(
            "//button[normalize-space()='Set up 2-step verification']"
        ))
        .await
        .is_err()
    );

    harness::button(c, "Remove").await.click().await.unwrap();
    harness::wait_text(c, "dialog", "Remove the authentication device of carol?").await;
    harness::snapshot(c, "remove-dialog").await;
    harness::button(c, "OK").await.click().await.unwrap();
    harness::wait_text(
        c,
        "[role=status]",
        "The authentication device has been removed.",
    )
    .await;
    harness::wait_text(c, "section", "2-Step verification is off").await;

    // The audit log shows it, newest first.
    harness::link(c, "Audit log").await.click().await.unwrap();
    harness::wait_text(c, "table.audit tbody tr:first-child", "Device removed").await;
    harness::wait_text(
        c,
        "table.audit tbody tr:first-child",
        "removed by administrator boss",
    )
    .await;
    harness::snapshot(c, "audit-log").await;

    // Carol's next sign-in asks no code.
    harness::button_labelled(c, "Profile")
        .await
        .click()
        .await
        .unwrap();
    harness::button(c, "Sign out").await.click().await.unwrap();
    sign_in(c, &server, "carol", "carol-password").await;
    harness::wait_text(c, "h1", "Welcome, carol").await;
    browser.close().await;
}

#[tokio::test]
async fn user_removes_own_device_only_with_a_fresh_proof() {
    let server = Server::start(&[("dave", "dave-password", false)]).await;
    let (secret, step) = enroll_over_api(&server, "dave", "dave-password").await;
    let browser = Browser::start().await;
    let c = &browser.client;
    sign_in(c, &server, "dave", "dave-password").await;
    harness::field(c, "Verification code")
        .await
        .send_keys(&totp::code(&secret, step + 1))
        .await
        .unwrap();
    harness::button(c, "Verify").await.click().await.unwrap();
    harness::wait_text(c, "h1", "Welcome, dave").await;
    harness::open_own_two_step(c).await;
    harness::button(c, "Remove").await.click().await.unwrap();

    // The proof field has focus in the dialog; OK without a proof is refused.
    let proof = harness::field(c, "Verification code or password").await;
    let focused = c.active_element().await.unwrap().attr("id").await.unwrap();
    assert_eq!(focused.as_deref(), Some("dialog-proof"));
    harness::button(c, "OK").await.click().await.unwrap();
    harness::wait_text(
        c,
        "dialog [role=alert]",
        "Enter a current verification code or your password.",
    )
    .await;
    proof.send_keys("not-daves-password").await.unwrap();
    harness::button(c, "OK").await.click().await.unwrap();
    harness::wait_text(
        c,
        "dialog [role=alert]",
        "not your current verification code or your password",
    )
    .await;
    proof.clear().await.unwrap();
    proof.send_keys("dave-password").await.unwrap();
    harness::button(c, "OK").await.click().await.unwrap();
    harness::wait_text(
        c,
        "[role=status]",
        "The authentication device has been removed.",
    )
    .await;
    harness::wait_text(c, "section", "2-Step verification is off").await;

    // Set up again: back on the status view, the old removal notice is gone.
    harness::button(c, "Set up 2-step verification")
        .await
        .click()
        .await
        .unwrap();
    let key = c
        .wait()
        .for_element(fantoccini::Locator::Css(".key-text"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let new_secret = totp::base32_decode(&key.replace(' ', "")).expect("base32 key");
    let now = totp::now_step();
    for (label, step) in [("Code 1", now - 1), ("Code 2", now)] {
        harness::field(c, label)
            .await
            .send_keys(&totp::code(&new_secret, step))
            .await
            .unwrap();
    }
    harness::button(c, "Apply").await.click().await.unwrap();
    harness::button(c, "Done").await.click().await.unwrap();
    harness::wait_text(c, "section", "2-Step verification is on").await;
    let section = c
        .find(fantoccini::Locator::Css("main"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(!section.contains("has been removed"), "{section}");
    browser.close().await;
}

#[tokio::test]
async fn organizational_account_sees_why_and_no_qr_code() {
    let server = Server::start(&[("erin", "organizational:Contoso ID", false)]).await;
    // Start erin's session directly (oidc.rs signs in through a real identity provider).
    let db = server.database().await;
    let erin = twostep::users::find_by_name(&db, "erin")
        .await
        .unwrap()
        .unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let token = twostep::sessions::create(
        &db,
        erin.id,
        twostep::sessions::Stage::SignedIn,
        &Default::default(),
        now,
    )
    .await
    .unwrap();
    let browser = Browser::start().await;
    let c = &browser.client;
    c.goto(&server.url("/404")).await.unwrap();
    // WebDriver refuses cookies for an IP host, so the page sets it (not HttpOnly, test only).
    c.execute(
        "document.cookie = 'twostep_session=' + arguments[0] + '; path=/; SameSite=Strict'",
        vec![serde_json::Value::String(token)],
    )
    .await
    .unwrap();
    c.goto(&server.url("/")).await.unwrap();
    harness::wait_text(c, "h1", "Welcome, erin").await;
    harness::open_own_two_step(c).await;
    harness::wait_text(c, "section", "cannot be set up for this account").await;
    harness::wait_text(c, "section", "Contoso ID").await;
    assert!(
        c.find(Locator::Css("[aria-label='QR code']"))
            .await
            .is_err(),
        "no QR code"
    );
    assert!(
        c.find(Locator::XPath(
            "//button[normalize-space()='Set up 2-step verification']"
        ))
        .await
        .is_err()
    );
    browser.close().await;
}

#[tokio::test]
async fn administrator_searches_the_users_and_sees_how_many_use_two_step() {
    let server = Server::start(&[
        ("boss", "boss-password", true),
        ("carol", "carol-password", false),
        ("dan", "dan-password", false),
    ])
    .await;
    enroll_over_api(&server, "carol", "carol-password").await;
    let browser = Browser::start().await;
    let c = &browser.client;
    sign_in(c, &server, "boss", "boss-password").await;
    harness::link(c, "Users").await.click().await.unwrap();
    harness::wait_text(c, ".summary", "1 of 3 people use 2-step verification.").await;
    harness::wait_text(c, "[role=status]", "3 users found").await;

    harness::field(c, "Search by name")
        .await
        .send_keys("CAR")
        .await
        .unwrap();
    harness::button(c, "Search").await.click().await.unwrap();
    harness::wait_text(c, "[role=status]", "1 user found").await;
    let rows = c
        .find_all(Locator::Css("table.users tbody tr"))
        .await
        .unwrap();
    assert_eq!(rows.len(), 1);
    assert!(rows[0].text().await.unwrap().contains("carol"));

    // The status filter works with the search: carol has it on, so Off finds nobody.
    c.find(Locator::Css("#filter-two-step"))
        .await
        .unwrap()
        .select_by_value("off")
        .await
        .unwrap();
    harness::wait_text(c, "[role=status]", "0 users found").await;
    browser.close().await;
}
