//! axe-core finds no WCAG 2.x A or AA violation (nor anything it cannot decide) on any screen,
//! in light and in dark mode:
//! Sign in (also with an error), the verification code step, Home, Manage profile, 2-Step
//! verification set-up with the QR code, the recovery codes, the Remove dialogs (own device,
//! and an administrator's), New recovery codes, Users, Manage user and the Audit log.
//!
//! axe-core is injected over WebDriver, not served by the app: the app's Content-Security-
//! Policy stays as strict as ever, and each walk checks that it is still in force (an inline
//! script added to the page does not run) after axe-core ran.

use crate::harness::{self, Browser, Server};
use crate::{sign_in, sign_out, totp};
use fantoccini::{Client, Locator};

/// Whether the page runs an inline script it is given (it must not: the CSP forbids it).
async fn inline_script_runs(c: &Client) -> bool {
    let ran = c
        .execute(
            "const s = document.createElement('script');
             s.textContent = 'window.inlineScriptRan = true';
             document.body.append(s);
             s.remove();
             return window.inlineScriptRan === true;",
            vec![],
        )
        .await
        .unwrap();
    ran == serde_json::json!(true)
}

/// Signs in, opens every screen in turn and checks each with axe-core.
async fn every_screen_is_accessible(browser: Browser, dark: bool) {
    let scheme = if dark { "dark" } else { "light" };
    let server = Server::start(&[
        ("ada", "ada-password", true),
        ("bea", "bea-password", false),
    ])
    .await;
    let c = &browser.client;
    let check = |screen: &'static str| harness::assert_accessible(c, screen);

    c.goto(&server.url("/")).await.unwrap();
    harness::field(c, "Username").await;
    let prefers_dark = c
        .execute(
            "return matchMedia('(prefers-color-scheme: dark)').matches",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(
        prefers_dark, dark,
        "the browser asks for the {scheme} scheme"
    );
    check("Sign in").await;
    assert!(
        !inline_script_runs(c).await,
        "the CSP still forbids inline scripts after axe-core was injected"
    );
    crate::submit_sign_in_form(c, "bea", "not-the-password").await;
    harness::wait_text(c, "[role=alert]", "username or password is not correct").await;
    check("Sign in with an error").await;

    sign_in(c, &server, "bea", "bea-password").await;
    harness::wait_text(c, "h1", "Welcome, bea").await;
    check("Home").await;
    harness::button_labelled(c, "Profile")
        .await
        .click()
        .await
        .unwrap();
    check("the Profile menu").await;
    harness::click(c, "Manage profile").await;
    harness::wait_text(c, "h1", "Manage user: bea").await;
    harness::wait_text(c, ".profile-facts", "Team Server account").await;
    check("Manage profile").await;
    harness::link(c, "2-Step verification")
        .await
        .click()
        .await
        .unwrap();
    c.wait()
        .for_element(Locator::Css("[role=img][aria-label='QR code']"))
        .await
        .unwrap();
    check("2-Step verification set-up with the QR code").await;

    let key = c
        .find(Locator::Css(".key-text"))
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
    harness::wait_text(c, "[role=status]", "2-Step verification has been set up").await;
    check("the recovery codes").await;
    let recovery_code = c
        .find(Locator::Css(".recovery-codes li"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    harness::click(c, "Done").await;
    harness::wait_text(c, "section", "2-Step verification is on").await;
    check("2-Step verification, on").await;

    harness::click(c, "Remove").await;
    harness::wait_text(
        c,
        "dialog",
        "Remove the authentication device from your account?",
    )
    .await;
    check("the Remove dialog (own device)").await;
    harness::click(c, "OK").await;
    harness::wait_text(
        c,
        "dialog",
        "Enter a current verification code or a recovery code",
    )
    .await;
    check("the Remove dialog with an error").await;
    harness::click(c, "Cancel").await;
    harness::click(c, "New recovery codes").await;
    harness::button(c, "Make new recovery codes").await;
    check("New recovery codes").await;
    // Move to a new phone: the replacement's set-up, then Cancel.
    harness::click(c, "Move to a new phone").await;
    c.wait()
        .for_element(Locator::Css("[role=img][aria-label='QR code']"))
        .await
        .unwrap();
    check("Move to a new phone").await;
    harness::click(c, "Cancel").await;
    // Confirm it's you: the session signed in longer ago than the recent window.
    crate::holder::age_sessions(&server).await;
    harness::click(c, "Move to a new phone").await;
    harness::wait_text(c, "#reauth-title", "Confirm it's you").await;
    check("the Confirm it's you dialog").await;
    c.active_element()
        .await
        .unwrap()
        .send_keys("\u{e00c}")
        .await
        .unwrap();
    harness::wait_text(c, "[role=alert]", "Confirm it's you").await;

    sign_out(c).await;
    sign_in(c, &server, "bea", "bea-password").await;
    harness::field(c, "Verification code").await;
    check("the verification code step").await;
    harness::click(c, "Use a recovery code instead").await;
    harness::type_into(c, "Recovery code", &recovery_code).await;
    check("the recovery code step").await;
    harness::click(c, "Verify").await;
    harness::wait_text(c, "h1", "Welcome, bea").await;
    harness::open_own_profile(c).await;
    harness::link(c, "Security activity")
        .await
        .click()
        .await
        .unwrap();
    harness::wait_text(c, "li.activity-entry", "Recovery code used").await;
    check("Security activity").await;
    sign_out(c).await;

    sign_in(c, &server, "ada", "ada-password").await;
    harness::wait_text(c, "h1", "Welcome, ada").await;
    harness::link(c, "Users").await.click().await.unwrap();
    harness::wait_text(c, "[role=status]", "2 users found").await;
    check("Users").await;
    harness::button_labelled(c, "Open bea")
        .await
        .click()
        .await
        .unwrap();
    harness::wait_text(c, "h1", "Manage user: bea").await;
    harness::wait_text(c, ".profile-facts", "Team Server account").await;
    check("Manage user").await;
    harness::link(c, "2-Step verification")
        .await
        .click()
        .await
        .unwrap();
    harness::wait_text(c, "section", "2-Step verification is on").await;
    check("2-Step verification of another user").await;
    harness::click(c, "Remove").await;
    harness::wait_text(c, "dialog", "Remove the authentication device of bea?").await;
    check("the Remove dialog (administrator)").await;
    harness::click(c, "Cancel").await;
    harness::link(c, "Audit log").await.click().await.unwrap();
    harness::wait_text(c, "table.audit", "Recovery code used").await;
    harness::wait_text(c, "[role=status]", "events found").await;
    check("Audit log").await;
    assert!(!inline_script_runs(c).await, "the CSP is in force");
    c.goto(&server.url("/no-such-page")).await.unwrap();
    harness::wait_text(c, "h1", "Page not found").await;
    check("Page not found").await;
    browser.close().await;
}

#[tokio::test]
async fn axe_core_finds_nothing_on_any_screen_in_light_mode() {
    every_screen_is_accessible(Browser::start().await, false).await;
}

#[tokio::test]
async fn axe_core_finds_nothing_on_any_screen_in_dark_mode() {
    every_screen_is_accessible(Browser::start_dark().await, true).await;
}

/// On a phone-sized screen (390 × 844) the layout differs (the sidebar is a menu button):
/// Sign in, Home, the Audit log, the open menu, Manage profile and set-up with the QR code.
async fn phone_screens_are_accessible(browser: Browser, dark: bool) {
    let server = Server::start(&[("ada", "ada-password", true)]).await;
    let c = &browser.client;
    c.goto(&server.url("/")).await.unwrap();
    harness::field(c, "Username").await;
    let prefers_dark = c
        .execute(
            "return matchMedia('(prefers-color-scheme: dark)').matches",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(prefers_dark, dark);
    harness::assert_accessible(c, "Sign in on a phone").await;
    crate::submit_sign_in_form(c, "ada", "ada-password").await;
    harness::wait_text(c, "h1", "Welcome, ada").await;
    harness::assert_accessible(c, "Home on a phone").await;
    harness::click(c, "Menu").await;
    harness::link(c, "Audit log").await.click().await.unwrap();
    harness::wait_text(c, "[role=status]", "event found").await;
    harness::snapshot(c, "phone-audit-log").await;
    harness::assert_accessible(c, "Audit log on a phone").await;
    harness::click(c, "Menu").await;
    harness::link(c, "Users").await;
    // The open menu lies over the page, which was checked above.
    harness::assert_accessible_in(c, "the open menu on a phone", "nav.sidebar").await;
    harness::click(c, "Menu").await;
    harness::open_own_profile(c).await;
    harness::wait_text(c, ".profile-facts", "Team Server account").await;
    harness::assert_accessible(c, "Manage profile on a phone").await;
    harness::click(c, "Menu").await;
    harness::link(c, "2-Step verification")
        .await
        .click()
        .await
        .unwrap();
    c.wait()
        .for_element(Locator::Css("[role=img][aria-label='QR code']"))
        .await
        .unwrap();
    harness::snapshot(c, "phone-setup").await;
    harness::assert_accessible(c, "set-up with the QR code on a phone").await;
    browser.close().await;
}

#[tokio::test]
async fn axe_core_finds_nothing_on_a_phone_in_light_mode() {
    phone_screens_are_accessible(Browser::start_sized(390, 844).await, false).await;
}

#[tokio::test]
async fn axe_core_finds_nothing_on_a_phone_in_dark_mode() {
    phone_screens_are_accessible(Browser::start_sized_dark(390, 844).await, true).await;
}

/// The check can fail: on a page given an image without a text alternative and grey text on
/// grey, axe-core (injected despite the CSP) names both rules and the elements.
#[tokio::test]
async fn axe_core_reports_what_it_finds() {
    let server = Server::start(&[]).await;
    let browser = Browser::start().await;
    let c = &browser.client;
    c.goto(&server.url("/")).await.unwrap();
    harness::field(c, "Username").await;
    assert_eq!(harness::axe_violations(c).await, Vec::<String>::new());
    c.execute(
        "const main = document.querySelector('main');
         const img = document.createElement('img');
         img.id = 'no-alt';
         img.src = 'data:image/gif;base64,R0lGODlhAQABAAAAACw=';
         const p = document.createElement('p');
         p.id = 'faint';
         p.textContent = 'Faint text';
         p.style.cssText = 'color: #999; background: #aaa';
         main.append(img, p);",
        vec![],
    )
    .await
    .unwrap();
    let mut found = harness::axe_violations(c).await;
    found.sort();
    assert_eq!(found.len(), 2, "{found:?}");
    assert!(
        found[0].starts_with("color-contrast ") && found[0].ends_with(" at #faint"),
        "{found:?}"
    );
    assert!(
        found[1].starts_with("image-alt ") && found[1].ends_with(" at #no-alt"),
        "{found:?}"
    );
    browser.close().await;
}
