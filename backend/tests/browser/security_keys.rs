//! Security keys and passkeys in Chromium, with WebDriver's virtual authenticator as the key:
//! add a key on the 2-Step verification section, sign out, sign in with the password and the
//! key; sign in with a passkey alone; a key without user verification cannot; remove the key;
//! a page on another origin cannot use the key.

use crate::harness::{self, Browser, Server};
use crate::totp;
use crate::{sign_out, submit_sign_in_form};
use fantoccini::{Client, Locator};

/// The server as the browser must reach it for keys: `http://localhost:PORT` (an IP address
/// is never a relying party).
fn localhost(server: &Server, path: &str) -> String {
    server.url(path).replace("127.0.0.1", "localhost")
}

/// Adds a key named `name` on the signed-in user's 2-Step verification section.
async fn add_key(c: &Client, name: &str) {
    harness::open_own_two_step(c).await;
    harness::click(c, "Add a security key").await;
    harness::type_into(c, "Name of the key", name).await;
    harness::click(c, "Save").await;
    harness::wait_text(c, "ul.keys", name).await;
}

/// `name` (password `NAME-password`) signed in, with one key added (2-step verification on
/// with keys alone), on their 2-Step verification section.
async fn keys_only_account(name: &str) -> (Server, Browser) {
    let password = format!("{name}-password");
    let server = Server::start(&[(name, password.as_str(), false)]).await;
    let browser = Browser::start().await;
    let c = &browser.client;
    browser.add_virtual_authenticator(true).await;
    c.goto(&localhost(&server, "/")).await.unwrap();
    submit_sign_in_form(c, name, &password).await;
    signed_in_as(c, name).await;
    add_key(c, &format!("{name}'s key")).await;
    harness::wait_text(c, ".recovery-codes", "-").await;
    harness::open_own_two_step(c).await;
    (server, browser)
}

/// OK in the open dialog.
async fn click_ok(c: &Client) {
    c.find(Locator::XPath(
        "//dialog[@open]//button[normalize-space()='OK']",
    ))
    .await
    .unwrap()
    .click()
    .await
    .unwrap();
}

async fn signed_in_as(c: &Client, name: &str) {
    harness::wait_text(c, "h1", &format!("Welcome, {name}")).await;
}

#[tokio::test]
async fn a_key_signs_in_after_the_password_and_a_passkey_alone_then_it_is_removed() {
    let server = Server::start(&[("alice", "alice-password", false)]).await;
    let browser = Browser::start().await;
    let c = &browser.client;
    browser.add_virtual_authenticator(true).await;
    c.goto(&localhost(&server, "/")).await.unwrap();
    submit_sign_in_form(c, "alice", "alice-password").await;
    signed_in_as(c, "alice").await;
    add_key(c, "YubiKey on my keyring").await;
    harness::wait_text(c, "[role=status]", "2-step verification is on").await;
    harness::wait_text(c, ".recovery-codes", "-").await;

    // Password, then the key; no code is offered to an account without the app.
    sign_out(c).await;
    submit_sign_in_form(c, "alice", "alice-password").await;
    let use_key = harness::button(c, "Use your security key").await;
    assert!(
        c.find(Locator::XPath(
            "//button[normalize-space()='Use a code instead']"
        ))
        .await
        .is_err(),
        "no app, no code"
    );
    use_key.click().await.unwrap();
    signed_in_as(c, "alice").await;

    // The passkey alone.
    sign_out(c).await;
    harness::click(c, "Sign in with a passkey").await;
    signed_in_as(c, "alice").await;

    // Remove it (OK, then the key itself as proof).
    harness::open_own_two_step(c).await;
    harness::button_labelled(c, "Remove YubiKey on my keyring")
        .await
        .click()
        .await
        .unwrap();
    click_ok(c).await;
    harness::wait_text(c, "section", "No security keys yet.").await;
    browser.close().await;
}

#[tokio::test]
async fn a_key_without_user_verification_cannot_sign_in_alone() {
    let server = Server::start(&[("bob", "bob-password", false)]).await;
    let browser = Browser::start().await;
    let c = &browser.client;
    browser.add_virtual_authenticator(false).await;
    c.goto(&localhost(&server, "/")).await.unwrap();
    submit_sign_in_form(c, "bob", "bob-password").await;
    signed_in_as(c, "bob").await;
    add_key(c, "Plain key").await;
    sign_out(c).await;
    harness::click(c, "Sign in with a passkey").await;
    harness::wait_text(c, "[role=alert]", "").await;
    assert!(
        c.find(Locator::Css("#username")).await.is_ok(),
        "still on the Sign in page"
    );
    browser.close().await;
}

#[tokio::test]
async fn a_page_on_another_origin_cannot_use_the_key() {
    let server = Server::start(&[("carol", "carol-password", false)]).await;
    let browser = Browser::start().await;
    let c = &browser.client;
    browser.add_virtual_authenticator(true).await;
    c.goto(&localhost(&server, "/")).await.unwrap();
    submit_sign_in_form(c, "carol", "carol-password").await;
    signed_in_as(c, "carol").await;
    add_key(c, "Carol's key").await;
    sign_out(c).await;
    // The same app on another origin (the IP address): the browser refuses the ceremony.
    c.goto(&server.url("/")).await.unwrap();
    submit_sign_in_form(c, "carol", "carol-password").await;
    harness::click(c, "Use your security key").await;
    harness::wait_text(
        c,
        "[role=alert]",
        "Security keys cannot be used from this address.",
    )
    .await;
    browser.close().await;
}

#[tokio::test]
async fn a_keys_only_account_renews_its_recovery_codes_and_adds_the_app_with_its_key() {
    let (_server, browser) = keys_only_account("dave").await;
    let c = &browser.client;

    // New recovery codes: the key (not an app code) proves it.
    harness::click(c, "New recovery codes").await;
    harness::wait_text(c, "section", "New recovery codes have been made").await;
    harness::click(c, "Done").await;

    // The app next to the key: its two codes, and the key as proof.
    harness::click(c, "Set up the authenticator app").await;
    let key = c
        .wait()
        .for_element(Locator::Css(".key-text"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let secret = totp::base32_decode(&key.replace(' ', "")).expect("a base32 key");
    let step = totp::now_step();
    harness::type_into(c, "Code 1", &totp::code(&secret, step - 1)).await;
    harness::type_into(c, "Code 2", &totp::code(&secret, step)).await;
    harness::click(c, "Apply").await;
    harness::wait_text(c, "section", "The authenticator app has been set up").await;

    // Now sign-in offers a code as well as the key.
    sign_out(c).await;
    submit_sign_in_form(c, "dave", "dave-password").await;
    harness::click(c, "Use a code instead").await;
    harness::type_into(
        c,
        "Verification code",
        &totp::code(&secret, totp::now_step() + 1),
    )
    .await;
    harness::click(c, "Verify").await;
    signed_in_as(c, "dave").await;
    browser.close().await;
}

/// An account with keys alone removes its 2-step verification with one of them: Remove, the
/// box for a code left empty, OK, and the key's answer is the proof.
#[tokio::test]
async fn a_keys_only_account_removes_its_two_step_verification_with_its_key() {
    let (_server, browser) = keys_only_account("erin").await;
    let c = &browser.client;
    harness::click(c, "Remove").await;
    harness::wait_text(c, "dialog[open]", "use one of your security keys").await;
    click_ok(c).await;
    harness::wait_text(c, "section", "The authentication device has been removed.").await;
    harness::wait_text(c, "section", "No security keys yet.").await;
    browser.close().await;
}
