//! The whole path to 2-step verification with the keyboard alone, as a person who does not
//! use a mouse would: Tab to move, Enter to act, the key read as text instead of the QR code.

use crate::harness::{self, Browser, Server};
use crate::totp;
use fantoccini::Client;
use fantoccini::key::Key;

/// Presses a key in whatever has the focus.
async fn press(c: &Client, key: Key) {
    let focused = c.active_element().await.unwrap();
    focused
        .send_keys(&char::from(key).to_string())
        .await
        .unwrap();
}

/// Types text into whatever has the focus.
async fn type_text(c: &Client, text: &str) {
    c.active_element()
        .await
        .unwrap()
        .send_keys(text)
        .await
        .unwrap();
}

/// A short description of the focused element: its text, or its accessible label.
async fn focused(c: &Client) -> String {
    let element = c.active_element().await.unwrap();
    let label = element
        .attr("aria-label")
        .await
        .unwrap()
        .unwrap_or_default();
    let id = element.attr("id").await.unwrap().unwrap_or_default();
    let text = element.text().await.unwrap_or_default();
    format!("{label}|{id}|{}", text.trim())
}

/// Presses Tab until the focused element's description contains `target` (at most 30 times).
async fn tab_to(c: &Client, target: &str) {
    let mut seen = Vec::new();
    for _ in 0..30 {
        press(c, Key::Tab).await;
        let now = focused(c).await;
        if now.contains(target) {
            return;
        }
        seen.push(now);
    }
    panic!("Tab never reached {target:?}; focus went through {seen:?}");
}

#[tokio::test]
async fn sign_in_and_set_up_two_step_verification_with_the_keyboard_alone() {
    let server = Server::start(&[("kim", "kim-password", false)]).await;
    let browser = Browser::start().await;
    let c = &browser.client;
    c.goto(&server.url("/")).await.unwrap();

    // The sign-in form opens with the focus in Username; Enter submits.
    harness::field(c, "Username").await;
    assert!(
        focused(c).await.contains("|username|"),
        "focus starts in Username"
    );
    type_text(c, "kim").await;
    press(c, Key::Tab).await;
    assert!(focused(c).await.contains("|password|"));
    type_text(c, "kim-password").await;
    press(c, Key::Enter).await;
    harness::wait_text(c, "h1", "Welcome, kim").await;

    // Profile menu: Enter opens it and puts the focus on its first item.
    tab_to(c, "Profile|").await;
    press(c, Key::Enter).await;
    harness::wait_text(c, "[role=menu]", "Manage profile").await;
    assert!(
        focused(c).await.contains("Manage profile"),
        "focus moved into the menu"
    );
    press(c, Key::Enter).await;
    harness::wait_text(c, "h1", "Manage user: kim").await;

    tab_to(c, "2-Step verification").await;
    press(c, Key::Enter).await;
    harness::wait_text(c, "section", "2-Step verification is off").await;

    // Set-up starts by itself. The key is there as text for people who cannot scan; focus
    // is in Code 1.
    harness::wait_text(c, ".key-text", " ").await;
    let key = c
        .find(fantoccini::Locator::Css(".key-text"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let secret = totp::base32_decode(&key.replace(' ', "")).expect("a base32 key");
    assert!(
        focused(c).await.contains("|code1|"),
        "focus moved to Code 1"
    );
    let step = totp::now_step();
    type_text(c, &totp::code(&secret, step - 1)).await;
    press(c, Key::Tab).await;
    assert!(focused(c).await.contains("|code2|"));
    type_text(c, &totp::code(&secret, step)).await;
    press(c, Key::Enter).await;

    // The success message is announced and takes the focus.
    harness::wait_text(c, "[role=status]", "2-Step verification has been set up.").await;
    let element = c.active_element().await.unwrap();
    assert_eq!(
        element.attr("role").await.unwrap().as_deref(),
        Some("status")
    );
    browser.close().await;
}
