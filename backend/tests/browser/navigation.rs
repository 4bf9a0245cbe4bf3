//! The app's addresses, as a person uses them: a bookmarked deep link, links inside the app
//! (which must not load the page again), the browser's Back and Forward buttons, and addresses
//! the app does not know.

use crate::harness::{self, Browser, Server};
use fantoccini::Client;

/// The path of the page the browser shows.
async fn path(c: &Client) -> String {
    c.current_url().await.unwrap().path().to_owned()
}

/// Marks the loaded page, to tell later whether the browser loaded it again.
async fn mark_page(c: &Client) {
    c.execute("window.twostepTestMark = 'still the same page';", vec![])
        .await
        .unwrap();
}

async fn same_page(c: &Client) -> bool {
    c.execute(
        "return window.twostepTestMark === 'still the same page';",
        vec![],
    )
    .await
    .unwrap()
    .as_bool()
    .unwrap_or(false)
}

#[tokio::test]
async fn deep_links_in_app_links_back_and_forward_and_unknown_addresses() {
    let server = Server::start(&[("carol", "carol-password", false)]).await;
    let browser = Browser::start().await;
    let c = &browser.client;

    // Signing in at a bookmarked deep link lands on that page, not the start page.
    c.goto(&server.url("/users/1/two-step")).await.unwrap();
    crate::submit_sign_in_form(c, "carol", "carol-password").await;
    harness::wait_text(c, "section", "2-Step verification is off").await;
    assert_eq!(path(c).await, "/users/1/two-step");

    // Links inside the app change the address without loading the page again.
    mark_page(c).await;
    harness::link(c, "Manage").await.click().await.unwrap();
    harness::wait_text(c, "h1", "Manage user: carol").await;
    assert_eq!(path(c).await, "/users/1");
    harness::link(c, "Users").await.click().await.unwrap();
    harness::wait_text(c, "h1", "Users").await;
    assert_eq!(path(c).await, "/users");
    assert!(same_page(c).await, "an in-app link loaded the page again");

    // Back and Forward walk the same entries, still without loading the page.
    c.back().await.unwrap();
    harness::wait_text(c, "h1", "Manage user: carol").await;
    assert_eq!(path(c).await, "/users/1");
    c.back().await.unwrap();
    harness::wait_text(c, "section", "2-Step verification is off").await;
    assert_eq!(path(c).await, "/users/1/two-step");
    c.forward().await.unwrap();
    harness::wait_text(c, "h1", "Manage user: carol").await;
    assert!(same_page(c).await, "Back or Forward loaded the page again");

    // The sidebar marks the page the person is on.
    let current = c
        .find(fantoccini::Locator::Css(".sidebar [aria-current=page]"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(current, "Manage");

    // Links are real links: their address is there to open in a new tab or copy.
    let href = harness::link(c, "2-Step verification")
        .await
        .attr("href")
        .await
        .unwrap();
    assert_eq!(href.as_deref(), Some("/users/1/two-step"));

    // An address the app does not know, or an id that is not a number, says so.
    for unknown in [
        "/no-such-page",
        "/users/not-a-number",
        "/users/1/two-step/more",
    ] {
        c.goto(&server.url(unknown)).await.unwrap();
        harness::wait_text(c, "main", "There is no page at this address").await;
    }
    harness::link(c, "Go to the start page")
        .await
        .click()
        .await
        .unwrap();
    harness::wait_text(c, "h1", "Welcome, carol").await;
    assert_eq!(path(c).await, "/");
    browser.close().await;
}
