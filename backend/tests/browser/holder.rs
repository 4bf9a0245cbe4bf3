//! The holder's controls in the browser: "Confirm it's you" (a dialog with the focus in it,
//! Escape cancels, the right password repeats the action), ending another browser's session
//! from the Sessions section, and changing the password.

use crate::harness::{self, Browser, Server};
use crate::{sign_in, sign_out};
use fantoccini::{Client, Locator};

/// Makes every session of the server older than the recent-sign-in window, as if signed in
/// an hour ago (the clock of the real binary cannot be moved).
async fn age_sessions(server: &Server) {
    let db = server.database().await;
    sqlx::query("UPDATE sessions SET authenticated_at = authenticated_at - 3600")
        .execute(&db)
        .await
        .unwrap();
}

async fn open_profile(c: &Client) {
    harness::button_labelled(c, "Profile")
        .await
        .click()
        .await
        .unwrap();
    harness::button(c, "Manage profile")
        .await
        .click()
        .await
        .unwrap();
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
    harness::field(c, "Password")
        .await
        .send_keys("not-her-password")
        .await
        .unwrap();
    harness::button(c, "Confirm").await.click().await.unwrap();
    harness::wait_text(c, "#reauth-error", "not your password").await;
    assert!(dialog_is_open(c).await);
    let password = harness::field(c, "Password").await;
    password.clear().await.unwrap();
    password.send_keys("carol-password").await.unwrap();
    harness::button(c, "Confirm").await.click().await.unwrap();
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
    harness::field(c, "Current password")
        .await
        .send_keys("erin-password")
        .await
        .unwrap();
    harness::field(c, "New password")
        .await
        .send_keys("short")
        .await
        .unwrap();
    harness::button(c, "Change password")
        .await
        .click()
        .await
        .unwrap();
    harness::wait_text(c, "[role=alert]", "at least 8 characters").await;
    // The server refuses a common one.
    let new = harness::field(c, "New password").await;
    new.clear().await.unwrap();
    new.send_keys("password123").await.unwrap();
    harness::field(c, "New password again")
        .await
        .send_keys("password123")
        .await
        .unwrap();
    harness::button(c, "Change password")
        .await
        .click()
        .await
        .unwrap();
    harness::wait_text(c, "[role=alert]", "most common passwords").await;

    for label in ["New password", "New password again"] {
        let field = harness::field(c, label).await;
        field.clear().await.unwrap();
        field.send_keys("a long new phrase for erin").await.unwrap();
    }
    harness::button(c, "Change password")
        .await
        .click()
        .await
        .unwrap();
    harness::wait_text(c, "[role=status]", "Password changed.").await;
    harness::snapshot(c, "password-changed").await;

    sign_out(c).await;
    sign_in(c, &server, "erin", "erin-password").await;
    harness::wait_text(c, "[role=alert]", "username or password is not correct").await;
    sign_in(c, &server, "erin", "a long new phrase for erin").await;
    harness::wait_text(c, "h1", "Welcome, erin").await;
    browser.close().await;
}
