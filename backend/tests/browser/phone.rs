//! The app on a phone-sized screen (390 × 844): the sidebar behind its Menu button, the whole
//! enrollment, nothing wider than the screen, and targets at least 24 px (WCAG 2.5.8).

use crate::harness::{self, Browser, Server};
use crate::{sign_in, totp};
use fantoccini::{Client, Locator};

/// Fails when the page scrolls sideways, naming the widest elements.
async fn assert_nothing_wider_than_the_viewport(c: &Client, screen: &str) {
    let result = c
        .execute(
            "const root = document.documentElement;
             const wide = [...document.querySelectorAll('body *')]
               .filter(e => e.getBoundingClientRect().right > root.clientWidth + 0.5)
               .map(e => e.tagName + '.' + e.className + ' ' + Math.round(e.getBoundingClientRect().right));
             return [root.scrollWidth, root.clientWidth, wide.slice(0, 5).join(', ')];",
            vec![],
        )
        .await
        .unwrap();
    let scroll_width = result[0].as_f64().unwrap();
    let client_width = result[1].as_f64().unwrap();
    assert!(
        scroll_width <= client_width,
        "{screen}: scrollWidth {scroll_width} > clientWidth {client_width}: {}",
        result[2]
    );
}

/// Fails when a visible button, field or stand-alone link is smaller than 24 × 24 px.
async fn assert_targets_at_least_24_px(c: &Client, screen: &str) {
    let small = c
        .execute(
            "return [...document.querySelectorAll('button, input, select, a.button, .sidebar a')]
               .filter(e => e.offsetParent !== null)
               .filter(e => { const r = e.getBoundingClientRect(); return r.width < 24 || r.height < 24; })
               .map(e => (e.id || e.textContent.trim()) + ' ' + Math.round(e.getBoundingClientRect().width)
                         + 'x' + Math.round(e.getBoundingClientRect().height));",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(
        small,
        serde_json::json!([]),
        "{screen}: targets under 24 px"
    );
}

#[tokio::test]
async fn enrollment_on_a_phone_sized_screen_with_nothing_wider_than_it() {
    let server = Server::start(&[("gus", "gus-password", false)]).await;
    let browser = Browser::start_sized(390, 844).await;
    let c = &browser.client;
    sign_in(c, &server, "gus", "gus-password").await;
    harness::wait_text(c, "h1", "Welcome, gus").await;
    let width = c.execute("return window.innerWidth", vec![]).await.unwrap();
    assert_eq!(width, 390, "a phone-sized viewport");
    assert_nothing_wider_than_the_viewport(c, "home").await;
    assert_targets_at_least_24_px(c, "home").await;

    harness::open_own_profile(c).await;
    harness::wait_text(c, "h1", "Manage user: gus").await;
    // The sidebar's links are behind the Menu button.
    let two_step = harness::link(c, "2-Step verification").await;
    assert!(!two_step.is_displayed().await.unwrap(), "folded away");
    let menu = harness::button(c, "Menu").await;
    assert_eq!(
        menu.attr("aria-expanded").await.unwrap().as_deref(),
        Some("false")
    );
    menu.click().await.unwrap();
    harness::link(c, "Users").await;
    harness::link(c, "Manage").await;
    assert_targets_at_least_24_px(c, "menu").await;
    two_step.click().await.unwrap();

    // The QR code shows at once; the Open in authenticator app link comes first.
    let qr = c
        .wait()
        .for_element(Locator::Css("[role=img][aria-label='QR code']"))
        .await
        .unwrap();
    let open_app = harness::link(c, "Open in authenticator app").await;
    let (_, qr_top, _, _) = qr.rectangle().await.unwrap();
    let (_, link_top, _, _) = open_app.rectangle().await.unwrap();
    assert!(link_top < qr_top, "the link is above the QR code");
    harness::snapshot(c, "phone-setup").await;
    assert_nothing_wider_than_the_viewport(c, "setup").await;
    assert_targets_at_least_24_px(c, "setup").await;
    // The menu closed when the page changed.
    assert_eq!(
        harness::button(c, "Menu")
            .await
            .attr("aria-expanded")
            .await
            .unwrap()
            .as_deref(),
        Some("false")
    );

    let key = c
        .find(Locator::Css(".key-text"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let secret = totp::base32_decode(&key.replace(' ', "")).expect("a base32 key");
    let step = totp::now_step();
    for (label, step) in [("Code 1", step - 1), ("Code 2", step)] {
        harness::type_into(c, label, &totp::code(&secret, step)).await;
    }
    harness::click(c, "Apply").await;
    harness::wait_text(c, "[role=status]", "2-Step verification has been set up.").await;
    assert_nothing_wider_than_the_viewport(c, "recovery codes").await;
    assert_targets_at_least_24_px(c, "recovery codes").await;
    harness::click(c, "Done").await;
    harness::wait_text(c, "section", "2-Step verification is on").await;
    assert_nothing_wider_than_the_viewport(c, "status").await;
    browser.close().await;
}
