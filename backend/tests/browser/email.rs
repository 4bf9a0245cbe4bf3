//! Addresses for security e-mails in the browser: the holder sets their own in Manage user
//! after "Confirm it's you"; an administrator gives one when adding a user, sees it in the
//! Users list, changes another's on their Manage user page, and sends a test message to
//! their own (the API tests read what the mail server receives).

use crate::harness::{self, Browser, Server};
use crate::holder::age_sessions;
use crate::sign_in;
use fantoccini::Client;
use sqlx::Row;

const LABEL: &str = "Address for security e-mails";

async fn stored_email(server: &Server, name: &str) -> Option<String> {
    let db = server.database().await;
    sqlx::query("SELECT email FROM users WHERE username = $1")
        .bind(name)
        .fetch_one(&db)
        .await
        .unwrap()
        .try_get("email")
        .unwrap()
}

/// Replaces what the address box holds with `address` and saves it.
async fn save_address(c: &Client, address: &str) {
    let field = harness::field(c, LABEL).await;
    field.clear().await.unwrap();
    field.send_keys(address).await.unwrap();
    harness::click(c, "Save address").await;
}

#[tokio::test]
async fn the_holder_sets_their_address_after_confirming_its_them() {
    let server = Server::start(&[("carol", "carol-password", false)]).await;
    let browser = Browser::start().await;
    let c = &browser.client;
    sign_in(c, &server, "carol", "carol-password").await;
    harness::wait_text(c, "h1", "Welcome, carol").await;
    age_sessions(&server).await;
    harness::open_own_profile(c).await;
    harness::wait_text(c, "#email-heading", "Security e-mails").await;
    save_address(c, "carol@mail.example").await;
    // The sign-in is old: the server asks first, then the save goes on.
    harness::wait_text(c, "#reauth-title", "Confirm it's you").await;
    harness::type_into(c, "Password", "carol-password").await;
    harness::click(c, "Confirm").await;
    harness::wait_text(
        c,
        "[role=status]",
        "Security e-mails now go to carol@mail.example.",
    )
    .await;
    assert_eq!(
        stored_email(&server, "carol").await.as_deref(),
        Some("carol@mail.example")
    );
    harness::snapshot(c, "security-e-mails").await;
    // Not an address: the server's reason, nothing stored.
    save_address(c, "carol at mail").await;
    harness::wait_text(c, "[role=alert]", "one address, without spaces").await;
    assert_eq!(
        stored_email(&server, "carol").await.as_deref(),
        Some("carol@mail.example")
    );
    browser.close().await;
}

#[tokio::test]
async fn an_administrator_gives_addresses_and_sends_a_test_message_to_their_own() {
    // A mail server nobody listens at: the test message is queued, never delivered.
    let port = harness::free_port().to_string();
    let smtp = format!("smtp://127.0.0.1:{port}");
    let server = Server::start_with(
        &[("boss", "boss-password", true)],
        &[],
        &[
            "--smtp-url",
            &smtp,
            "--mail-from",
            "Team Server <security@team.example>",
        ],
    )
    .await;
    let browser = Browser::start().await;
    let c = &browser.client;
    sign_in(c, &server, "boss", "boss-password").await;
    harness::link(c, "Users").await.click().await.unwrap();
    harness::type_into(c, "Username", "dana").await;
    harness::type_into(
        c,
        "Address for security e-mails (optional)",
        "dana@mail.example",
    )
    .await;
    harness::click(c, "Add").await;
    harness::wait_text(c, "[role=status]", "Added dana.").await;
    // The Users list's E-mail column.
    harness::wait_text(c, "table.users", "dana@mail.example").await;
    assert_eq!(
        stored_email(&server, "dana").await.as_deref(),
        Some("dana@mail.example")
    );

    // Manage user: dana's address, changed by the administrator.
    harness::button_labelled(c, "Open dana")
        .await
        .click()
        .await
        .unwrap();
    harness::wait_text(c, "h1", "Manage user: dana").await;
    save_address(c, "dana.new@mail.example").await;
    harness::wait_text(c, "[role=status]", "now go to dana.new@mail.example").await;
    assert_eq!(
        stored_email(&server, "dana").await.as_deref(),
        Some("dana.new@mail.example")
    );

    // Their own page: the test message needs an address first, and says so.
    harness::open_own_profile(c).await;
    harness::wait_text(c, "h1", "Manage user: boss").await;
    harness::click(c, "Send a test message").await;
    harness::wait_text(c, "[role=alert]", "no e-mail address").await;
    save_address(c, "boss@mail.example").await;
    harness::wait_text(c, "[role=status]", "now go to boss@mail.example").await;
    harness::click(c, "Send a test message").await;
    harness::wait_text(c, "[role=status]", "A test message is on its way.").await;
    let db = server.database().await;
    let queued: i64 = sqlx::query(
        "SELECT COUNT(*) AS n FROM mail_outbox WHERE recipient = 'boss@mail.example' AND kind = 'test'",
    )
    .fetch_one(&db)
    .await
    .unwrap()
    .try_get("n")
    .unwrap();
    assert_eq!(queued, 1);
    browser.close().await;
}
