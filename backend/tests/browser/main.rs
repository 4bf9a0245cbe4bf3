//! End-to-end tests in headless Chromium against the real built app served by the real
//! `twostep` binary. They drive the page the way a person does: by labels and button names.
//!
//! Needs the built frontend (`dist/`, or `TWOSTEP_E2E_DIST`), Debian's `chromium` and
//! `chromium-driver`, the test identity provider in `xtask/oidc-provider` (Node.js and
//! `npm ci`), and axe-core's `axe.min.js` (`TWOSTEP_AXE_JS`); `cargo xtask test` provides all
//! four.

mod a11y;
mod admin;
mod admin_operations;
mod audit;
mod dark;
mod email;
mod harness;
mod holder;
mod keyboard;
mod navigation;
mod oidc;
mod phone;
#[path = "../common/process.rs"]
mod process;
mod recovery;
mod screenshots;
mod security_keys;
#[path = "../common/totp.rs"]
mod totp;

use fantoccini::Client;
use harness::{Browser, Server};

pub(crate) async fn sign_in(c: &Client, server: &Server, username: &str, password: &str) {
    c.goto(&server.url("/")).await.unwrap();
    submit_sign_in_form(c, username, password).await;
}

/// Fills in and sends the Sign in form the page shows.
pub(crate) async fn submit_sign_in_form(c: &Client, username: &str, password: &str) {
    harness::type_into(c, "Username", username).await;
    harness::type_into(c, "Password", password).await;
    harness::click(c, "Sign in").await;
}

/// The current 30-second time step, with at least `margin` of it left: when less is left,
/// sleeps into the next step first (so at most `margin`). Codes typed within `margin` then
/// reach the server while this is still its current step.
pub(crate) async fn step_with_margin(margin: std::time::Duration) -> u64 {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap();
    let into_step = std::time::Duration::from_millis((now.as_millis() % 30_000) as u64);
    let left = std::time::Duration::from_secs(30) - into_step;
    if left < margin {
        tokio::time::sleep(left + std::time::Duration::from_millis(100)).await;
    }
    totp::now_step()
}

pub(crate) async fn sign_out(c: &Client) {
    harness::button_labelled(c, "Profile")
        .await
        .click()
        .await
        .unwrap();
    harness::click(c, "Sign out").await;
    harness::field(c, "Username").await;
}

#[tokio::test]
async fn sign_in_open_profile_menu_manage_profile_and_sign_out() {
    let server = Server::start(&[("alice", "alice-password", false)]).await;
    let browser = Browser::start().await;
    let c = &browser.client;

    // A wrong password shows the error and stays on the form.
    sign_in(c, &server, "alice", "not-her-password").await;
    harness::wait_text(c, "[role=alert]", "username or password is not correct").await;

    sign_in(c, &server, "alice", "alice-password").await;
    harness::wait_text(c, "h1", "Welcome, alice").await;

    // The session survives a reload (the app asks GET /api/me).
    c.refresh().await.unwrap();
    harness::wait_text(c, "h1", "Welcome, alice").await;

    // Profile icon → Manage profile; the menu takes focus on its first item.
    harness::button_labelled(c, "Profile")
        .await
        .click()
        .await
        .unwrap();
    let focused = c.active_element().await.unwrap().text().await.unwrap();
    assert_eq!(focused, "Manage profile");
    harness::click(c, "Manage profile").await;
    harness::wait_text(c, "h1", "Manage user: alice").await;
    harness::wait_text(c, ".profile-facts", "Team Server account").await;

    // The sidebar menu of the user has 2-Step verification.
    harness::link(c, "2-Step verification")
        .await
        .click()
        .await
        .unwrap();
    harness::wait_text(c, "section", "2-Step verification is off").await;

    sign_out(c).await;
    // Signed out for real: a reload still shows the sign-in form.
    c.refresh().await.unwrap();
    harness::field(c, "Username").await;
    browser.close().await;
}

#[tokio::test]
async fn enroll_by_reading_the_qr_code_then_sign_in_with_a_verification_code() {
    let server = Server::start(&[("bob", "bob-password", false)]).await;
    let browser = Browser::start().await;
    let c = &browser.client;

    sign_in(c, &server, "bob", "bob-password").await;
    harness::wait_text(c, "h1", "Welcome, bob").await;
    // 2-step is off: the QR code shows without a click.
    harness::open_own_two_step(c).await;

    // Read the QR code back from the rendered page, as a phone camera would.
    let qr = c
        .wait()
        .for_element(fantoccini::Locator::Css("[role=img][aria-label='QR code']"))
        .await
        .unwrap();
    harness::snapshot(c, "setup").await;
    let png = qr.screenshot().await.unwrap();
    let uri = harness::decode_qr(&png);
    assert!(
        uri.starts_with("otpauth://totp/Team%20Server:bob?secret="),
        "{uri}"
    );
    let secret_b32 = harness::query_param(&uri, "secret").expect("secret in the URI");
    // The key shown as text for manual entry is the same key, grouped.
    let shown_key = c
        .find(fantoccini::Locator::Css(".key-text"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(shown_key.replace(' ', ""), secret_b32);
    let secret = totp::base32_decode(&secret_b32).expect("base32 secret");
    assert_eq!(secret.len(), 20, "160-bit secret");

    // Code 1 has focus; type the codes of the two steps before now (consecutive, the second
    // within the server's one-step window). The steps used after it, `step` to sign in and
    // `step + 1` for new recovery codes, are then all within one step of the server's clock
    // whenever they are sent, so the test never waits for the next code to come up: the code
    // of `step + 1` is computed ahead, and the server accepts one step either side of now.
    let focused = c.active_element().await.unwrap().attr("id").await.unwrap();
    assert_eq!(focused.as_deref(), Some("code1"));
    let step = step_with_margin(std::time::Duration::from_secs(10)).await;
    harness::type_into(c, "Code 1", &totp::code(&secret, step - 2)).await;
    harness::type_into(c, "Code 2", &totp::code(&secret, step - 1)).await;
    harness::click(c, "Apply").await;
    harness::wait_text(
        c,
        "[role=status]",
        "2-Step verification has been set up. The next time you sign in to the Team Server you need to use a verification code.",
    )
    .await;
    harness::snapshot(c, "recovery-codes").await;
    let codes = c
        .find_all(fantoccini::Locator::Css(".recovery-codes li"))
        .await
        .unwrap();
    assert_eq!(codes.len(), 10, "ten recovery codes shown");

    sign_out(c).await;
    sign_in(c, &server, "bob", "bob-password").await;
    // The enrollment code is refused (it was the last accepted step)...
    harness::type_into(c, "Verification code", &totp::code(&secret, step - 1)).await;
    harness::click(c, "Verify").await;
    harness::wait_text(c, "[role=alert]", "already used").await;
    harness::snapshot(c, "code-step").await;
    // ...and the next code signs in.
    harness::type_into(c, "Verification code", &totp::code(&secret, step)).await;
    harness::click(c, "Verify").await;
    harness::wait_text(c, "h1", "Welcome, bob").await;

    // New recovery codes need a code newer than the sign-in's: the next step's, ahead of now.
    harness::open_own_two_step(c).await;
    harness::wait_text(c, "section", "Recovery codes left: 10").await;
    harness::click(c, "New recovery codes").await;
    harness::type_into(c, "Verification code", &totp::code(&secret, step + 1)).await;
    harness::click(c, "Make new recovery codes").await;
    harness::wait_text(c, "[role=status]", "New recovery codes have been made.").await;
    let fresh = c
        .find_all(fantoccini::Locator::Css(".recovery-codes li"))
        .await
        .unwrap();
    assert_eq!(fresh.len(), 10, "ten new recovery codes shown");
    browser.close().await;
}

/// The holder's 2-Step verification page opened by its address (a bookmark, a reload): the app
/// sends the setup as soon as `GET /api/me` answers, before drawing the page (so it is drawn
/// once, with the QR code: the QR code's time budget), and the page shows that setup without
/// asking again; its codes set it up.
#[tokio::test]
async fn two_step_page_opened_by_its_address_sends_one_setup_before_drawing() {
    let server = Server::start(&[("grace", "grace-password", false)]).await;
    let browser = Browser::start().await;
    let c = &browser.client;
    sign_in(c, &server, "grace", "grace-password").await;
    harness::wait_text(c, "h1", "Welcome, grace").await;
    let id = c
        .execute(
            "return fetch('/api/me').then((r) => r.json()).then((me) => me.id);",
            vec![],
        )
        .await
        .unwrap();
    c.goto(&server.url(&format!("/users/{id}/two-step")))
        .await
        .unwrap();
    let qr = c
        .wait()
        .for_element(fantoccini::Locator::Css("[role=img][aria-label='QR code']"))
        .await
        .unwrap();
    // The API requests of this load, in the order they were sent.
    let sent = c
        .execute(
            "return performance.getEntriesByType('resource')\
               .map((e) => new URL(e.name).pathname).filter((p) => p.startsWith('/api/'));",
            vec![],
        )
        .await
        .unwrap();
    let sent: Vec<&str> = sent
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p.as_str().unwrap())
        .collect();
    assert_eq!(sent[..2], ["/api/me", "/api/me/two-step/setup"], "{sent:?}");
    assert_eq!(
        sent.iter()
            .filter(|p| **p == "/api/me/two-step/setup")
            .count(),
        1,
        "{sent:?}"
    );

    let uri = harness::decode_qr(&qr.screenshot().await.unwrap());
    let secret =
        totp::base32_decode(&harness::query_param(&uri, "secret").expect("secret in the URI"))
            .expect("base32 secret");
    let step = step_with_margin(std::time::Duration::from_secs(10)).await;
    harness::type_into(c, "Code 1", &totp::code(&secret, step - 2)).await;
    harness::type_into(c, "Code 2", &totp::code(&secret, step - 1)).await;
    harness::click(c, "Apply").await;
    harness::wait_text(c, "[role=status]", "2-Step verification has been set up.").await;
    browser.close().await;
}

#[tokio::test]
async fn open_in_authenticator_app_link_is_the_uri_the_qr_code_encodes() {
    let server = Server::start(&[("fay", "fay-password", false)]).await;
    let browser = Browser::start().await;
    let c = &browser.client;
    sign_in(c, &server, "fay", "fay-password").await;
    harness::wait_text(c, "h1", "Welcome, fay").await;
    harness::open_own_two_step(c).await;

    let qr = c
        .wait()
        .for_element(fantoccini::Locator::Css("[role=img][aria-label='QR code']"))
        .await
        .unwrap();
    let uri = harness::decode_qr(&qr.screenshot().await.unwrap());
    let href = harness::link(c, "Open in authenticator app")
        .await
        .attr("href")
        .await
        .unwrap()
        .expect("an href");
    assert_eq!(href, uri, "the link opens the URI the QR code encodes");
    let (path, _) = href.split_once('?').expect("a query");
    assert_eq!(path, "otpauth://totp/Team%20Server:fay");
    for name in ["secret", "issuer", "algorithm", "digits", "period"] {
        assert_eq!(
            harness::query_param(&href, name),
            harness::query_param(&uri, name),
            "{name}"
        );
    }
    // The key has its own Copy button.
    harness::button(c, "Copy key").await;

    // Under Code 2, the seconds until the app shows the next code, counting down.
    let hint = || async {
        c.find(fantoccini::Locator::Css("#code2-hint"))
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
    };
    let seconds = |text: &str| -> u64 {
        let after = text.split("(in ").nth(1).expect("(in N seconds)");
        after.split(' ').next().unwrap().parse().expect("a number")
    };
    let first = hint().await;
    let first_seconds = seconds(&first);
    assert!((1..=30).contains(&first_seconds), "{first}");
    tokio::time::sleep(std::time::Duration::from_millis(2100)).await;
    let later = seconds(&hint().await);
    assert_ne!(later, first_seconds, "the hint counts down");
    browser.close().await;
}

#[tokio::test]
async fn a_double_click_on_sign_in_sends_one_request() {
    let server = Server::start(&[("ida", "ida-password", false)]).await;
    let browser = Browser::start().await;
    let c = &browser.client;
    c.goto(&server.url("/")).await.unwrap();
    harness::type_into(c, "Username", "ida").await;
    harness::type_into(c, "Password", "ida-password").await;
    // Count the app's password-step requests, then click twice in one go (no page update in
    // between, so the button is not yet disabled for the second click).
    c.execute(
        "window.signIns = 0;
         const fetch = window.fetch;
         window.fetch = (input, init) => {
           if (String(input.url || input).endsWith('/api/session') && (init?.method || input.method) === 'POST') {
             window.signIns += 1;
           }
           return fetch(input, init);
         };
         const button = [...document.querySelectorAll('button')]
           .find(b => b.textContent.trim() === 'Sign in');
         button.click();
         button.click();",
        vec![],
    )
    .await
    .unwrap();
    harness::wait_text(c, "h1", "Welcome, ida").await;
    let sent = c.execute("return window.signIns", vec![]).await.unwrap();
    assert_eq!(sent, 1, "one request for two clicks");
    browser.close().await;
}
