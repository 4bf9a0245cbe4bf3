//! An administrator runs the accounts in the browser: adds a user with a one-time password
//! (who is then made to choose their own), makes and removes an administrator, resets a
//! password, disables (the user's open browser is signed out at its next request) and enables,
//! and deletes.

use crate::harness::{self, Browser, Server};
use crate::sign_in;
use fantoccini::{Client, Locator};

/// The one-time password in the status message `text` ("… One-time password: xxxx-… — …").
fn one_time_password(text: &str) -> String {
    let start = text
        .find("One-time password: ")
        .expect("a one-time password")
        + 19;
    text[start..start + 19].to_owned()
}

async fn status_text(c: &Client, containing: &str) -> String {
    harness::wait_text(c, "[role=status]", containing).await;
    for element in c.find_all(Locator::Css("[role=status]")).await.unwrap() {
        let text = element.text().await.unwrap();
        if text.contains(containing) {
            return text;
        }
    }
    unreachable!()
}

async fn sign_out(c: &Client) {
    harness::button_labelled(c, "Profile")
        .await
        .click()
        .await
        .unwrap();
    harness::click(c, "Sign out").await;
    harness::field(c, "Password").await;
}

#[tokio::test]
async fn administrator_adds_a_user_who_must_choose_a_new_password_at_first_sign_in() {
    let server = Server::start(&[("boss", "boss-password", true)]).await;
    let browser = Browser::start().await;
    let c = &browser.client;
    sign_in(c, &server, "boss", "boss-password").await;
    harness::link(c, "Users").await.click().await.unwrap();
    let name = harness::field(c, "Username").await;
    // The name rules, as it is typed.
    name.send_keys("da na").await.unwrap();
    harness::wait_text(c, "#new-username-hint", "may contain only letters").await;
    name.clear().await.unwrap();
    name.send_keys("dana").await.unwrap();
    harness::wait_text(c, "#new-username-hint", "Letters a–z").await;
    harness::click(c, "Add").await;
    let added = status_text(c, "Added dana. One-time password:").await;
    let password = one_time_password(&added);
    harness::wait_text(c, "table.users", "dana").await;
    harness::snapshot(c, "add-user").await;
    sign_out(c).await;

    // dana signs in with it, and can do nothing before choosing her own.
    sign_in(c, &server, "dana", &password).await;
    harness::wait_text(c, "h1", "Choose a new password").await;
    harness::snapshot(c, "new-password").await;
    for (label, text) in [
        ("Current password", password.as_str()),
        ("New password", "dana's own long phrase"),
        ("New password again", "dana's own long phrase"),
    ] {
        harness::type_into(c, label, text).await;
    }
    harness::click(c, "Change password").await;
    harness::wait_text(c, "h1", "Welcome, dana").await;
    browser.close().await;
}

#[tokio::test]
async fn administrator_changes_role_resets_disables_enables_and_deletes_a_user() {
    let server = Server::start(&[
        ("boss", "boss-password", true),
        ("carol", "carol-password", false),
    ])
    .await;
    // carol's own browser, signed in.
    let carols = Browser::start().await;
    let carol = &carols.client;
    sign_in(carol, &server, "carol", "carol-password").await;
    harness::wait_text(carol, "h1", "Welcome, carol").await;

    let browser = Browser::start().await;
    let c = &browser.client;
    sign_in(c, &server, "boss", "boss-password").await;
    harness::link(c, "Users").await.click().await.unwrap();
    harness::button_labelled(c, "Open carol")
        .await
        .click()
        .await
        .unwrap();
    harness::wait_text(c, "h1", "Manage user: carol").await;

    harness::click(c, "Make administrator").await;
    status_text(c, "carol is now an Administrator.").await;
    harness::wait_text(c, ".profile-facts", "Administrator").await;
    harness::click(c, "Remove administrator").await;
    status_text(c, "carol is now a User.").await;

    // Disable: carol's open browser is signed out at its next request; she is told why.
    harness::click(c, "Disable").await;
    status_text(c, "carol is disabled and was signed out everywhere.").await;
    harness::wait_text(c, ".profile-facts", "Disabled: cannot sign in").await;
    // (The Sign in page's Username: the Confirm it's you dialog has a Password field too.)
    harness::link(carol, "Users").await.click().await.unwrap();
    harness::field(carol, "Username").await;
    sign_in(carol, &server, "carol", "carol-password").await;
    harness::wait_text(carol, "[role=alert]", "This account is disabled.").await;

    harness::click(c, "Enable").await;
    status_text(c, "carol is enabled and can sign in again.").await;
    sign_in(carol, &server, "carol", "carol-password").await;
    harness::wait_text(carol, "h1", "Welcome, carol").await;

    // Reset: a one-time password; carol is signed out again.
    harness::click(c, "Reset password").await;
    let reset = status_text(c, "One-time password:").await;
    let password = one_time_password(&reset);
    harness::link(carol, "Users").await.click().await.unwrap();
    harness::field(carol, "Username").await;
    sign_in(carol, &server, "carol", &password).await;
    harness::wait_text(carol, "h1", "Choose a new password").await;
    carols.close().await;

    // Delete, after OK.
    harness::click(c, "Delete").await;
    harness::wait_text(c, "dialog", "Delete carol?").await;
    harness::click(c, "OK").await;
    harness::wait_text(c, "h1", "Users").await;
    harness::wait_text(c, "[role=status]", "1 user found").await;
    browser.close().await;
}
