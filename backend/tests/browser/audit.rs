//! The Audit log at scale: an administrator searches by part of a user name and picks an
//! event kind, then downloads the CSV, whose rows are every event the API finds for the same
//! filter (more than one page of them).

use crate::harness::{self, Browser, Server};
use crate::sign_in;
use fantoccini::{Client, Locator};
use std::time::{SystemTime, UNIX_EPOCH};
use twostep::audit::{Actor, Event, Subject};
use twostep_shared::api::{AuditEntry, AuditEventKind, AuditPage};

/// Every entry `GET /api/audit?{filter}` gives, all pages, asked by the signed-in page.
async fn api_entries(c: &Client, filter: &str) -> Vec<AuditEntry> {
    let mut entries = Vec::new();
    for page in 1.. {
        let answer = c
            .execute_async(
                "const [path, done] = arguments;
                 fetch(path).then(r => r.json()).then(done, e => done(String(e)));",
                vec![format!("/api/audit?page={page}&{filter}").into()],
            )
            .await
            .unwrap();
        let page: AuditPage = serde_json::from_value(answer).expect("an audit page");
        let done = page.entries.is_empty();
        entries.extend(page.entries);
        if done {
            assert_eq!(entries.len() as u64, page.total, "every page read");
            return entries;
        }
    }
    unreachable!()
}

/// The CSV row the API's `entry` should be (cells a spreadsheet would run get a `'`).
fn csv_row(e: &AuditEntry) -> Vec<String> {
    let cell = |text: &str| match text.chars().next() {
        Some('=' | '+' | '-' | '@' | '\t' | '\r') => format!("'{text}"),
        _ => text.to_owned(),
    };
    let text = |v: &Option<String>| cell(v.as_deref().unwrap_or_default());
    let time = chrono::DateTime::from_timestamp(e.at as i64, 0).unwrap();
    vec![
        e.id.to_string(),
        time.format("%Y-%m-%dT%H:%M:%SZ").to_string(),
        e.event.as_str().to_owned(),
        e.event.describe().to_owned(),
        text(&e.actor),
        text(&e.subject),
        e.subject_id.map(|id| id.to_string()).unwrap_or_default(),
        text(&e.client_address),
        text(&e.detail),
    ]
}

#[tokio::test]
async fn audit_log_filters_by_name_and_kind_and_downloads_the_csv() {
    let server = Server::start(&[("boss", "boss-password", true)]).await;
    // Events the UI cannot make quickly: 60 failed sign-ins of carol and carla (more than a
    // page), and others that the filter must leave out by name or by kind.
    let db = server.database().await;
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let added = [
        ("carol", AuditEventKind::SignInFailedPassword, 40),
        ("carla", AuditEventKind::SignInFailedPassword, 20),
        ("carol", AuditEventKind::SignedIn, 10),
        ("dave", AuditEventKind::SignInFailedPassword, 5),
    ];
    for (name, kind, count) in added {
        for i in 0..count {
            let event = Event {
                kind,
                actor: Actor::Anonymous,
                subject: Subject::Name(name),
                client_addr: Some("192.0.2.7"),
                detail: None,
            };
            twostep::audit::record(&db, event, now - 600 + i).await;
        }
    }
    let browser = Browser::start().await;
    let c = &browser.client;
    sign_in(c, &server, "boss", "boss-password").await;
    harness::wait_text(c, "h1", "Welcome, boss").await;
    harness::link(c, "Audit log").await.click().await.unwrap();
    // boss's sign-in and the 75 added events.
    harness::wait_text(c, "[role=status]", "76 events found. Page 1 of 2.").await;

    harness::type_into(c, "User name", "CAR").await;
    harness::click(c, "Search").await;
    harness::wait_text(c, "[role=status]", "70 events found. Page 1 of 2.").await;
    c.find(Locator::Css("#audit-event"))
        .await
        .unwrap()
        .select_by_value("sign_in_failed_password")
        .await
        .unwrap();
    harness::wait_text(c, "[role=status]", "60 events found. Page 1 of 2.").await;
    harness::snapshot(c, "audit-filtered").await;
    // The page shows the first 50, each of the kind, about carol or carla.
    let rows = c
        .find_all(Locator::Css("table.audit tbody tr"))
        .await
        .unwrap();
    assert_eq!(rows.len(), 50);
    for row in rows {
        let text = row.text().await.unwrap();
        assert!(
            text.contains("Sign-in failed: username or password")
                && (text.contains("carol") || text.contains("carla")),
            "{text}"
        );
    }

    let expected = api_entries(c, "q=car&event=sign_in_failed_password").await;
    assert_eq!(expected.len(), 60);
    harness::link(c, "Download CSV")
        .await
        .click()
        .await
        .unwrap();
    let file = browser.downloaded("audit-log.csv").await;
    let mut reader = csv::Reader::from_reader(file.as_bytes());
    assert_eq!(
        reader.headers().unwrap(),
        vec![
            "id",
            "time_utc",
            "event",
            "event_description",
            "by",
            "user",
            "user_id",
            "client_address",
            "detail"
        ]
    );
    let rows: Vec<Vec<String>> = reader
        .records()
        .map(|r| r.unwrap().iter().map(str::to_owned).collect())
        .collect();
    assert_eq!(rows, expected.iter().map(csv_row).collect::<Vec<_>>());
    browser.close().await;
}
