//! Recovery codes in the browser: the ten codes on the screen are the ones Copy puts on the
//! clipboard and Download (.txt) saves, and one of them signs in instead of a verification
//! code, through the page's own "Use a recovery code instead".

use crate::harness::{self, Browser, Server};
use crate::{sign_in, sign_out, step_with_margin, totp};
use fantoccini::{Client, Locator};
use std::time::Duration;

/// Panics unless `lines` are `codes`, in order. Says where they differ without printing
/// the codes.
fn assert_same_codes(what: &str, lines: &[&str], codes: &[String]) {
    assert_eq!(
        lines.len(),
        codes.len(),
        "{what}: {} lines, {} codes on the screen",
        lines.len(),
        codes.len()
    );
    for (index, (line, code)) in lines.iter().zip(codes).enumerate() {
        assert!(
            line == code,
            "{what}: line {} is not code {} on the screen",
            index + 1,
            index + 1
        );
    }
}

/// The recovery codes listed on the page, in order.
async fn codes_on_screen(c: &Client) -> Vec<String> {
    let mut codes = Vec::new();
    for item in c
        .find_all(Locator::Css(".recovery-codes li"))
        .await
        .unwrap()
    {
        codes.push(item.text().await.unwrap().trim().to_owned());
    }
    codes
}

#[tokio::test]
async fn recovery_codes_are_copied_downloaded_and_sign_in_once() {
    let server = Server::start(&[("rita", "rita-password", false)]).await;
    let browser = Browser::start().await;
    let c = &browser.client;
    sign_in(c, &server, "rita", "rita-password").await;
    harness::wait_text(c, "h1", "Welcome, rita").await;

    // Set up 2-step with the key shown for manual entry.
    harness::open_own_two_step(c).await;
    harness::wait_text(c, ".key-text", " ").await;
    let key = c
        .find(Locator::Css(".key-text"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let secret = totp::base32_decode(&key.replace(' ', "")).expect("a base32 key");
    let step = step_with_margin(Duration::from_secs(10)).await;
    for (label, step) in [("Code 1", step - 1), ("Code 2", step)] {
        harness::type_into(c, label, &totp::code(&secret, step)).await;
    }
    harness::click(c, "Apply").await;
    harness::wait_text(c, "[role=status]", "2-Step verification has been set up.").await;
    let codes = codes_on_screen(c).await;
    assert_eq!(codes.len(), 10, "ten recovery codes shown: {}", codes.len());
    for code in &codes {
        assert!(
            twostep_shared::input::RecoveryCode::parse(code).is_ok(),
            "a code shown is not a recovery code"
        );
    }

    // Copy: the real clipboard is read back (Chromium's headless clipboard; reading needs
    // the clipboard-read permission, which the page itself never asks for). The page's own
    // feedback must say it worked.
    browser.grant_permission("clipboard-read").await;
    harness::click(c, "Copy").await;
    harness::wait_text(c, ".feedback[role=status]", "Copied to the clipboard.").await;
    let clipboard = c
        .execute_async(
            "const done = arguments[arguments.length - 1];
             navigator.clipboard.readText().then(done, e => done('failed: ' + e));",
            vec![],
        )
        .await
        .unwrap();
    let clipboard = clipboard.as_str().expect("text from the clipboard");
    assert_same_codes(
        "the clipboard",
        &clipboard.lines().collect::<Vec<_>>(),
        &codes,
    );

    // Download (.txt): the file Chromium actually saved (downloads go to the profile's
    // folder without asking), not the blob the page made, so a download that never happens
    // (say, its object URL revoked too early) fails here.
    harness::click(c, "Download (.txt)").await;
    let file = browser.downloaded("team-server-recovery-codes.txt").await;
    let mut lines = file.lines().filter(|line| !line.trim().is_empty());
    assert_eq!(
        lines.next(),
        Some("Team Server recovery codes (each works once)"),
        "the file says what it is"
    );
    assert_same_codes("the downloaded file", &lines.collect::<Vec<_>>(), &codes);
    harness::click(c, "Done").await;
    harness::wait_text(c, "section", "Recovery codes left: 10").await;

    // Sign out; sign in with the password and the sixth code, through the page's switch.
    sign_out(c).await;
    sign_in(c, &server, "rita", "rita-password").await;
    harness::field(c, "Verification code").await;
    harness::click(c, "Use a recovery code instead").await;
    harness::type_into(c, "Recovery code", &codes[5]).await;
    harness::click(c, "Verify").await;
    harness::wait_text(c, "h1", "Welcome, rita").await;
    harness::open_own_two_step(c).await;
    harness::wait_text(c, "section", "Recovery codes left: 9").await;

    // The code worked once: signed out again, it is refused.
    sign_out(c).await;
    sign_in(c, &server, "rita", "rita-password").await;
    harness::click(c, "Use a recovery code instead").await;
    harness::type_into(c, "Recovery code", &codes[5]).await;
    harness::click(c, "Verify").await;
    harness::wait_text(
        c,
        "[role=alert]",
        "The recovery code is not correct or was already used.",
    )
    .await;
    harness::field(c, "Recovery code").await;
    browser.close().await;
}
