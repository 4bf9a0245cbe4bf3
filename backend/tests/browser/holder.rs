//! The holder's controls in the browser: "Confirm it's you" (a dialog with the focus in it,
//! Escape cancels, the right password repeats the action), ending another browser's session
//! from the Sessions section, changing the password, moving to a new phone by its QR code,
//! and the security activity showing a code another browser replayed.

use crate::harness::{self, Browser, Server};
use crate::{sign_in, sign_out};
use fantoccini::{Client, Locator};

/// Makes every session of the server older than the recent-sign-in window, as if signed in
/// an hour ago (the clock of the real binary cannot be moved).
pub(crate) async fn age_sessions(server: &Server) {
    let db = server.database().await;
    sqlx::query("UPDATE sessions SET authenticated_at = authenticated_at - 3600")
        .execute(&db)
        .await
        .unwrap();
    server.revoked();
}

async fn open_profile(c: &Client) {
    harness::open_own_profile(c).await;
    harness::wait_text(c, "h1", "Manage user:").await;
}

async fn dialog_is_open(c: &Client) -> bool {
    c.execute(
        "const d = document.querySelector('dialog[aria-labelledby=reauth-title]'); return !!d && d.open;",
        vec![],
    )
    .await
    .unwrap()
    .as_bool()
    .unwrap()
}

#[tokio::test]
async fn confirm_its_you_then_the_setup_goes_on() {
    let server = Server::start(&[("carol", "carol-password", false)]).await;
    let browser = Browser::start().await;
    let c = &browser.client;
    sign_in(c, &server, "carol", "carol-password").await;
    harness::wait_text(c, "h1", "Welcome, carol").await;
    age_sessions(&server).await;

    // Selecting 2-Step verification asks for the secret: the server wants a recent sign-in.
    harness::open_own_two_step(c).await;
    harness::wait_text(c, "#reauth-title", "Confirm it's you").await;
    assert!(dialog_is_open(c).await);
    let focused = c.active_element().await.unwrap().attr("id").await.unwrap();
    assert_eq!(
        focused.as_deref(),
        Some("reauth-password"),
        "focus in the dialog"
    );
    harness::snapshot(c, "confirm-its-you").await;
    // Escape cancels: the dialog closes and the section says why nothing happened.
    c.active_element()
        .await
        .unwrap()
        .send_keys("\u{e00c}")
        .await
        .unwrap();
    harness::wait_text(c, "[role=alert]", "Confirm it's you").await;
    assert!(!dialog_is_open(c).await);
    assert!(
        c.find(Locator::Css("[role=img][aria-label='QR code']"))
            .await
            .is_err()
    );

    // Again, with a wrong password first (said in the dialog), then the right one.
    c.refresh().await.unwrap();
    harness::wait_text(c, "#reauth-title", "Confirm it's you").await;
    harness::type_into(c, "Password", "not-her-password").await;
    harness::click(c, "Confirm").await;
    harness::wait_text(c, "#reauth-error", "not your password").await;
    assert!(dialog_is_open(c).await);
    let password = harness::field(c, "Password").await;
    password.clear().await.unwrap();
    password.send_keys("carol-password").await.unwrap();
    harness::click(c, "Confirm").await;
    // The setup request is sent again and the QR code shows.
    c.wait()
        .for_element(Locator::Css("[role=img][aria-label='QR code']"))
        .await
        .unwrap();
    assert!(!dialog_is_open(c).await);
    browser.close().await;
}

#[tokio::test]
async fn ending_another_session_signs_that_browser_out() {
    let server = Server::start(&[("dave", "dave-password", false)]).await;
    let (laptop, phone) = (Browser::start().await, Browser::start().await);
    sign_in(&phone.client, &server, "dave", "dave-password").await;
    harness::wait_text(&phone.client, "h1", "Welcome, dave").await;
    let c = &laptop.client;
    sign_in(c, &server, "dave", "dave-password").await;
    harness::wait_text(c, "h1", "Welcome, dave").await;

    open_profile(c).await;
    harness::wait_text(c, "#sessions-heading", "Sessions").await;
    harness::wait_text(c, "li.session", "This browser").await;
    let listed = c.find_all(Locator::Css("li.session")).await.unwrap();
    assert_eq!(listed.len(), 2, "both browsers are listed");
    harness::snapshot(c, "sessions").await;
    c.find(Locator::Css("li.session button"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    harness::wait_text(c, "[role=status]", "Signed out").await;
    let listed = c.find_all(Locator::Css("li.session")).await.unwrap();
    assert_eq!(listed.len(), 1);

    // The phone's next request finds its session gone: it shows the Sign in page.
    phone.client.refresh().await.unwrap();
    harness::field(&phone.client, "Username").await;
    // The laptop goes on.
    c.refresh().await.unwrap();
    harness::wait_text(c, "h1", "Manage user: dave").await;
    phone.close().await;
    laptop.close().await;
}

#[tokio::test]
async fn changing_the_password_in_manage_profile() {
    let server = Server::start(&[("erin", "erin-password", false)]).await;
    let browser = Browser::start().await;
    let c = &browser.client;
    sign_in(c, &server, "erin", "erin-password").await;
    harness::wait_text(c, "h1", "Welcome, erin").await;
    open_profile(c).await;

    // The browser checks the new password's rules before sending.
    harness::type_into(c, "Current password", "erin-password").await;
    harness::type_into(c, "New password", "short").await;
    harness::click(c, "Change password").await;
    harness::wait_text(c, "[role=alert]", "at least 8 characters").await;
    // The server refuses a common one.
    let new = harness::field(c, "New password").await;
    new.clear().await.unwrap();
    new.send_keys("password123").await.unwrap();
    harness::type_into(c, "New password again", "password123").await;
    harness::click(c, "Change password").await;
    harness::wait_text(c, "[role=alert]", "most common passwords").await;

    for label in ["New password", "New password again"] {
        let field = harness::field(c, label).await;
        field.clear().await.unwrap();
        field.send_keys("a long new phrase for erin").await.unwrap();
    }
    harness::click(c, "Change password").await;
    harness::wait_text(c, "[role=status]", "Password changed.").await;
    harness::snapshot(c, "password-changed").await;

    sign_out(c).await;
    sign_in(c, &server, "erin", "erin-password").await;
    harness::wait_text(c, "[role=alert]", "username or password is not correct").await;
    sign_in(c, &server, "erin", "a long new phrase for erin").await;
    harness::wait_text(c, "h1", "Welcome, erin").await;
    browser.close().await;
}

/// Enrolls `name` over the API, then moves the device's last accepted step two back, so the
/// codes of the enrollment's step `S` and of `S + 1` are unused and within the server's ±1
/// step window for the next 30 to 60 seconds (the real binary's clock cannot be moved).
/// Returns the secret and `S`.
async fn enrolled_with_fresh_steps(server: &Server, name: &str, password: &str) -> (Vec<u8>, u64) {
    let (secret, step) = crate::admin::enroll_over_api(server, name, password).await;
    let db = server.database().await;
    sqlx::query("UPDATE two_step_devices SET last_step = last_step - 2")
        .execute(&db)
        .await
        .unwrap();
    server.revoked();
    (secret, step)
}

/// The message the server answers a code with, over the API (sign-in in a fresh client).
async fn code_answer(server: &Server, name: &str, password: &str, code: &str) -> (u16, String) {
    let http = reqwest::Client::builder()
        .cookie_store(true)
        .build()
        .unwrap();
    let response = http
        .post(server.url("/api/session"))
        .json(&serde_json::json!({"username": name, "password": password}))
        .send()
        .await
        .unwrap();
    assert!(response.status().is_success());
    let answer = http
        .post(server.url("/api/session/verify"))
        .json(&serde_json::json!({ "code": code }))
        .send()
        .await
        .unwrap();
    let status = answer.status().as_u16();
    (status, answer.text().await.unwrap())
}

async fn sign_in_with_code(c: &Client, server: &Server, name: &str, password: &str, code: &str) {
    sign_in(c, server, name, password).await;
    harness::type_into(c, "Verification code", code).await;
    harness::click(c, "Verify").await;
}

#[tokio::test]
async fn moving_to_a_new_phone_by_its_qr_code() {
    let server = Server::start(&[("frank", "frank-password", false)]).await;
    let (old, s) = enrolled_with_fresh_steps(&server, "frank", "frank-password").await;
    let browser = Browser::start().await;
    let c = &browser.client;
    sign_in_with_code(
        c,
        &server,
        "frank",
        "frank-password",
        &crate::totp::code(&old, s),
    )
    .await;
    harness::wait_text(c, "h1", "Welcome, frank").await;

    harness::open_own_two_step(c).await;
    harness::click(c, "Move to a new phone").await;
    let qr = c
        .wait()
        .for_element(Locator::Css("[role=img][aria-label='QR code']"))
        .await
        .unwrap();
    harness::snapshot(c, "new-phone").await;
    let uri = harness::decode_qr(&qr.screenshot().await.unwrap());
    let new = crate::totp::base32_decode(&harness::query_param(&uri, "secret").unwrap()).unwrap();
    assert_ne!(new, old);

    // Until Apply, the old phone still signs in (its code of step S + 1).
    let (status, body) = code_answer(
        &server,
        "frank",
        "frank-password",
        &crate::totp::code(&old, s + 1),
    )
    .await;
    assert_eq!(status, 200, "{body}");

    // The proof of the current phone: its code of step S (made unused again here, as the
    // sign-ins above used up the steps the window allows).
    server.set_last_step(s - 1).await;
    harness::type_into(
        c,
        "Code from your current phone, or a recovery code",
        &crate::totp::code(&old, s),
    )
    .await;
    harness::type_into(c, "Code 1", &crate::totp::code(&new, s)).await;
    harness::type_into(c, "Code 2", &crate::totp::code(&new, s + 1)).await;
    harness::click(c, "Apply").await;
    harness::wait_text(c, "[role=status]", "Your new phone is set up").await;
    harness::wait_text(c, "[role=status]", "recovery codes are unchanged").await;

    // After Apply the old phone's code of step S + 1 is not a code of this account any more
    // (before, it was "already used"), and the new phone's code of that step was used up by
    // the old phone's sign-in: no step works twice across the two phones.
    let (status, body) = code_answer(
        &server,
        "frank",
        "frank-password",
        &crate::totp::code(&old, s + 1),
    )
    .await;
    assert_eq!(status, 401);
    assert!(body.contains("not correct"), "{body}");
    let (status, body) = code_answer(
        &server,
        "frank",
        "frank-password",
        &crate::totp::code(&new, s + 1),
    )
    .await;
    assert_eq!(status, 401);
    assert!(body.contains("already used"), "{body}");
    browser.close().await;
}

#[tokio::test]
async fn the_activity_page_shows_a_code_replayed_in_another_browser() {
    let server = Server::start(&[("gina", "gina-password", false)]).await;
    let (secret, s) = enrolled_with_fresh_steps(&server, "gina", "gina-password").await;
    let (mine, other) = (Browser::start().await, Browser::start().await);
    let c = &mine.client;
    sign_in_with_code(
        c,
        &server,
        "gina",
        "gina-password",
        &crate::totp::code(&secret, s),
    )
    .await;
    harness::wait_text(c, "h1", "Welcome, gina").await;

    // Someone who has the password replays the code gina just used.
    sign_in_with_code(
        &other.client,
        &server,
        "gina",
        "gina-password",
        &crate::totp::code(&secret, s),
    )
    .await;
    harness::wait_text(&other.client, "[role=alert]", "already used").await;

    // gina's next sign-in says so and links to the activity.
    sign_out(c).await;
    sign_in_with_code(
        c,
        &server,
        "gina",
        "gina-password",
        &crate::totp::code(&secret, s + 1),
    )
    .await;
    harness::wait_text(c, "h1", "Welcome, gina").await;
    harness::wait_text(c, "[role=alert]", "suspicious verification attempt").await;
    harness::link(c, "Review your security activity")
        .await
        .click()
        .await
        .unwrap();
    harness::wait_text(c, "h1", "Security activity").await;
    harness::wait_text(
        c,
        "li.activity-entry",
        "Someone used a code that was already used",
    )
    .await;
    harness::snapshot(c, "activity").await;
    // Newest first: the latest entry is this sign-in.
    let first = c
        .find(Locator::Css("li.activity-entry"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(first.starts_with("Signed in"), "{first}");
    other.close().await;
    mine.close().await;
}
