//! Dark mode: with the system set to dark, the app's colours switch, and every visible piece
//! of text keeps at least 4.5:1 contrast against what is behind it (WCAG 1.4.3).

use crate::harness::{self, Browser, Server};
use crate::sign_in;
use fantoccini::Client;

/// Fails naming any visible text under 4.5:1 against its nearest opaque background.
async fn assert_text_contrast(c: &Client, screen: &str) {
    let low = c
        .execute(
            "const rgb = s => (s.match(/[\\d.]+/g) || []).map(Number);
             const lum = ([r, g, b]) => [r, g, b].map(v => { v /= 255;
               return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); })
               .reduce((sum, v, i) => sum + v * [0.2126, 0.7152, 0.0722][i], 0);
             const background = e => { for (; e; e = e.parentElement) {
               const c = rgb(getComputedStyle(e).backgroundColor);
               if (c.length === 3 || c[3] > 0) return c.slice(0, 3); } return [255, 255, 255]; };
             return [...document.querySelectorAll('body *')]
               .filter(e => e.offsetParent !== null && [...e.childNodes]
                 .some(n => n.nodeType === 3 && n.textContent.trim()))
               .map(e => { const a = lum(rgb(getComputedStyle(e).color).slice(0, 3));
                 const b = lum(background(e));
                 const ratio = (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
                 return [e.tagName + ' ' + e.textContent.trim().slice(0, 30), ratio]; })
               .filter(([, ratio]) => ratio < 4.5)
               .map(([what, ratio]) => what + ': ' + ratio.toFixed(2));",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(low, serde_json::json!([]), "{screen}: text under 4.5:1");
}

#[tokio::test]
async fn dark_mode_keeps_aa_contrast() {
    let server = Server::start(&[("hal", "hal-password", true)]).await;
    let browser = Browser::start_dark().await;
    let c = &browser.client;
    sign_in(c, &server, "hal", "not-the-password").await;
    harness::wait_text(c, "[role=alert]", "username or password is not correct").await;
    let background = c
        .execute(
            "return getComputedStyle(document.documentElement).backgroundColor",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(background, "rgb(21, 24, 29)", "the dark colours apply");
    assert_text_contrast(c, "sign-in with an error").await;

    sign_in(c, &server, "hal", "hal-password").await;
    harness::wait_text(c, "h1", "Welcome, hal").await;
    assert_text_contrast(c, "home").await;
    harness::link(c, "Users").await.click().await.unwrap();
    harness::wait_text(c, "[role=status]", "1 user found").await;
    assert_text_contrast(c, "users").await;
    harness::open_own_two_step(c).await;
    harness::link(c, "Open in authenticator app").await;
    harness::snapshot(c, "dark-setup").await;
    assert_text_contrast(c, "set-up").await;
    browser.close().await;
}
