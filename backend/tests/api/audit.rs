//! The audit log: each action records exactly the expected events (kind, actor, subject,
//! client address, detail), newest first in pages of 50, filtered by account, by part of a
//! user name and by kind on request; and the CSV of every event a filter keeps.

use crate::helpers::{START, STEP, TestApp, client, expect_error, spawn_app, totp, wrong_code};
use reqwest::header::{CACHE_CONTROL, CONTENT_DISPOSITION, CONTENT_TYPE};
use reqwest::{Client, StatusCode};
use twostep::audit::{Actor, Event, Subject};
use twostep_shared::ErrorCode;
use twostep_shared::api::AuditEventKind::{
    self, CodeStepLocked, CodeStepUnlocked, DeviceAssociated, DeviceRemoved, RecoveryCodeUsed,
    ReplayedCodeRefused, SignInFailedCode, SignInFailedPassword, SignedIn,
};
use twostep_shared::api::{AuditEntry, AuditPage};

const PASSWORD: &str = "correct horse";

/// What an entry says, without its id and time: (event, actor, subject, detail).
type Ev = (
    AuditEventKind,
    Option<String>,
    Option<String>,
    Option<String>,
);

fn ev(kind: AuditEventKind, actor: Option<&str>, subject: &str, detail: Option<&str>) -> Ev {
    (
        kind,
        actor.map(str::to_owned),
        Some(subject.to_owned()),
        detail.map(str::to_owned),
    )
}

/// An event a user caused on their own account.
fn own(kind: AuditEventKind, user: &str, detail: Option<&str>) -> Ev {
    ev(kind, Some(user), user, detail)
}

/// The entries' summaries; asserts each came from the test's address (127.0.0.1).
fn summarize(entries: &[AuditEntry]) -> Vec<Ev> {
    entries
        .iter()
        .map(|e| {
            assert_eq!(e.client_address.as_deref(), Some("127.0.0.1"), "{e:?}");
            (
                e.event,
                e.actor.clone(),
                e.subject.clone(),
                e.detail.clone(),
            )
        })
        .collect()
}

/// The events about one user, oldest first; asserts each names the user's id.
async fn events(app: &TestApp, admin: &Client, user: i64) -> Vec<Ev> {
    let entries = app.audit_log(admin, Some(user)).await;
    for entry in &entries {
        assert_eq!(entry.subject_id, Some(user), "{entry:?}");
    }
    summarize(&entries)
}

/// An administrator `root` signed in (which records `signed_in` about root).
async fn admin(app: &TestApp) -> Client {
    app.create_user("root", "root password", true).await;
    let client = client();
    app.sign_in(&client, "root", "root password").await;
    client
}

#[tokio::test]
async fn failed_password_sign_ins_name_the_known_user_or_a_reference_to_the_typed_name() {
    let app = spawn_app().await;
    let alice = app.create_user("alice", PASSWORD, false).await;
    for (name, password) in [("alice", "wrong horse"), (" Mallory ", PASSWORD)] {
        expect_error(
            app.sign_in_raw(&client(), name, password).await,
            StatusCode::UNAUTHORIZED,
            ErrorCode::BadCredentials,
        )
        .await;
    }
    let root = admin(&app).await;

    let all = app.audit_log(&root, None).await;
    assert_eq!(
        summarize(&all),
        [
            ev(SignInFailedPassword, None, "alice", None),
            // Not an account: the typed text may be a password, so only a keyed reference.
            ev(
                SignInFailedPassword,
                None,
                "unknown account",
                Some(&app.name_ref("mallory"))
            ),
            own(SignedIn, "root", None),
        ]
    );
    assert_eq!(all[0].subject_id, Some(alice));
    assert_eq!(all[1].subject_id, None, "no such account");
    assert!(all.iter().all(|e| e.at == START), "{all:?}");
    // The typed password is never recorded.
    let text = serde_json::to_string(&all).unwrap();
    assert!(
        !text.contains("wrong horse") && !text.contains(PASSWORD),
        "{text}"
    );

    assert_eq!(
        events(&app, &root, alice).await,
        [ev(SignInFailedPassword, None, "alice", None)]
    );
}

#[tokio::test]
async fn enrollment_and_a_sign_in_with_a_code_are_recorded() {
    let app = spawn_app().await;
    let enrolled = app.enrolled_user(&client(), "alice", PASSWORD).await;
    let alice = app.user_id("alice").await;
    let root = admin(&app).await;
    assert_eq!(
        events(&app, &root, alice).await,
        [
            own(SignedIn, "alice", None),
            own(DeviceAssociated, "alice", None)
        ]
    );

    // The password step alone records nothing: the sign-in is not done yet.
    app.clock.advance(STEP);
    let client = client();
    app.sign_in_pending(&client, "alice", PASSWORD).await;
    assert_eq!(events(&app, &root, alice).await.len(), 2);

    app.verify_ok(&client, &totp(&enrolled.secret, app.now_step()))
        .await;
    assert_eq!(
        events(&app, &root, alice).await,
        [
            own(SignedIn, "alice", None),
            own(DeviceAssociated, "alice", None),
            own(SignedIn, "alice", Some("with 2-step verification")),
        ]
    );
}

#[tokio::test]
async fn wrong_replayed_and_recovery_codes_are_recorded() {
    let app = spawn_app().await;
    let enrolled = app.enrolled_user(&client(), "alice", PASSWORD).await;
    let alice = app.user_id("alice").await;
    let enrollment_step = app.now_step();
    app.clock.advance(STEP);

    let client = client();
    app.sign_in_pending(&client, "alice", PASSWORD).await;
    let wrong = wrong_code(&enrolled.secret, app.now_step(), 3);
    expect_error(
        app.verify(&client, &wrong).await,
        StatusCode::UNAUTHORIZED,
        ErrorCode::CodeWrong,
    )
    .await;
    let replayed = totp(&enrolled.secret, enrollment_step);
    expect_error(
        app.verify(&client, &replayed).await,
        StatusCode::UNAUTHORIZED,
        ErrorCode::CodeWrong,
    )
    .await;
    app.verify_ok(&client, &enrolled.recovery_codes[0]).await;

    let root = admin(&app).await;
    assert_eq!(
        events(&app, &root, alice).await,
        [
            own(SignedIn, "alice", None),
            own(DeviceAssociated, "alice", None),
            own(SignInFailedCode, "alice", Some("sign-in")),
            own(ReplayedCodeRefused, "alice", Some("sign-in")),
            own(RecoveryCodeUsed, "alice", Some("sign-in")),
            own(SignedIn, "alice", Some("with 2-step verification")),
        ]
    );
    // No code is ever recorded.
    for entry in app.audit_log(&root, None).await {
        let fields = [&entry.actor, &entry.subject, &entry.detail];
        for secret in [&wrong, &replayed, &enrolled.recovery_codes[0]] {
            assert!(
                fields
                    .iter()
                    .all(|f| !f.as_deref().unwrap_or_default().contains(secret.as_str())),
                "{entry:?}"
            );
        }
    }
}

#[tokio::test]
async fn the_hundredth_consecutive_failure_locks_the_code_step_once() {
    let app = spawn_app().await;
    let enrolled = app.enrolled_user(&client(), "alice", PASSWORD).await;
    let alice = app.user_id("alice").await;
    // 98 failures so far, long ago.
    sqlx::query("UPDATE two_step_devices SET failed_attempts = 98 WHERE user_id = $1")
        .bind(alice)
        .execute(&app.db)
        .await
        .unwrap();
    app.clock.advance(STEP);

    let client = client();
    app.sign_in_pending(&client, "alice", PASSWORD).await;
    // The 99th failure, then (after the delay) the 100th, which locks.
    let wrong = wrong_code(&enrolled.secret, app.now_step(), 40);
    expect_error(
        app.verify(&client, &wrong).await,
        StatusCode::UNAUTHORIZED,
        ErrorCode::CodeWrong,
    )
    .await;
    // The delay outlasts the pending sign-in: sign in again after it.
    app.clock.advance(15 * 60 + 1);
    let client = crate::helpers::client();
    app.sign_in_pending(&client, "alice", PASSWORD).await;
    expect_error(
        app.verify(&client, &wrong).await,
        StatusCode::LOCKED,
        ErrorCode::Locked,
    )
    .await;
    // Locked: the right code is refused as well, and does not lock it again.
    expect_error(
        app.verify(&client, &totp(&enrolled.secret, app.now_step()))
            .await,
        StatusCode::LOCKED,
        ErrorCode::Locked,
    )
    .await;
    let root = admin(&app).await;
    let unlocked = app.unlock(&root, alice).await;
    assert_eq!(unlocked.status(), StatusCode::NO_CONTENT);

    assert_eq!(
        events(&app, &root, alice).await,
        [
            own(SignedIn, "alice", None),
            own(DeviceAssociated, "alice", None),
            own(SignInFailedCode, "alice", Some("sign-in")),
            own(SignInFailedCode, "alice", Some("sign-in")),
            own(CodeStepLocked, "alice", Some("sign-in")),
            own(SignInFailedCode, "alice", Some("code step locked")),
            ev(CodeStepUnlocked, Some("root"), "alice", None),
        ]
    );
}

#[tokio::test]
async fn removals_and_their_proofs_are_recorded() {
    let app = spawn_app().await;
    let alice_client = client();
    let enrolled = app.enrolled_user(&alice_client, "alice", PASSWORD).await;
    let alice = app.user_id("alice").await;
    app.clock.advance(STEP);

    // By herself: a wrong code, then a recovery code as the proof.
    let wrong = wrong_code(&enrolled.secret, app.now_step(), 3);
    expect_error(
        app.remove_device(&alice_client, alice, Some(&wrong)).await,
        StatusCode::UNAUTHORIZED,
        ErrorCode::CodeWrong,
    )
    .await;
    let response = app
        .remove_device(&alice_client, alice, Some(&enrolled.recovery_codes[0]))
        .await;
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    // Set up again, then removed by an administrator.
    app.setup_and_confirm(&alice_client).await;
    let root = admin(&app).await;
    let response = app.remove_device(&root, alice, None).await;
    assert_eq!(response.status(), StatusCode::NO_CONTENT);

    assert_eq!(
        events(&app, &root, alice).await,
        [
            own(SignedIn, "alice", None),
            own(DeviceAssociated, "alice", None),
            own(SignInFailedCode, "alice", Some("removal proof")),
            own(RecoveryCodeUsed, "alice", Some("removal proof")),
            own(DeviceRemoved, "alice", Some("removed by the user")),
            own(DeviceAssociated, "alice", None),
            ev(
                DeviceRemoved,
                Some("root"),
                "alice",
                Some("removed by administrator root")
            ),
        ]
    );
}

#[tokio::test]
async fn the_log_is_paged_newest_first_and_filtered_by_user() {
    let app = spawn_app().await;
    let root = admin(&app).await;
    let alice = app.create_user("alice", PASSWORD, false).await;
    // 55 sign-ins with unknown names and 2 with alice's name, one second apart.
    let mut expected = vec![own(SignedIn, "root", None)];
    for i in 0..57 {
        app.clock.advance(1);
        let name = match i {
            20 | 40 => "alice".to_owned(),
            _ => format!("nobody{i:02}"),
        };
        app.sign_in_raw(&client(), &name, "wrong password").await;
        expected.push(match name.as_str() {
            "alice" => ev(SignInFailedPassword, None, "alice", None),
            _ => ev(
                SignInFailedPassword,
                None,
                "unknown account",
                Some(&app.name_ref(&name)),
            ),
        });
    }
    assert_eq!(expected.len(), 58);
    expected.reverse();

    let first = app.audit_page(&root, "").await;
    assert_eq!((first.page, first.per_page, first.total), (1, 50, 58));
    assert_eq!(first.entries.len(), 50);
    let second = app.audit_page(&root, "?page=2").await;
    assert_eq!((second.page, second.per_page, second.total), (2, 50, 58));
    assert_eq!(second.entries.len(), 8);
    let third = app.audit_page(&root, "?page=3").await;
    assert_eq!((third.page, third.total), (3, 58));
    assert!(third.entries.is_empty());
    assert_eq!(app.audit_page(&root, "?page=1").await, first);

    let both: Vec<AuditEntry> = first.entries.into_iter().chain(second.entries).collect();
    assert_eq!(summarize(&both), expected);
    for pair in both.windows(2) {
        assert!(pair[0].id > pair[1].id, "newest first: {pair:?}");
        assert!(pair[0].at > pair[1].at, "newest first: {pair:?}");
    }

    // Only alice's events, still newest first.
    let filtered = app.audit_page(&root, &format!("?user={alice}")).await;
    assert_eq!((filtered.page, filtered.total), (1, 2));
    assert_eq!(
        summarize(&filtered.entries),
        [
            ev(SignInFailedPassword, None, "alice", None),
            ev(SignInFailedPassword, None, "alice", None),
        ]
    );
    assert!(filtered.entries[0].at > filtered.entries[1].at);
    assert!(filtered.entries.iter().all(|e| e.subject_id == Some(alice)));
    let beyond = app
        .audit_page(&root, &format!("?page=2&user={alice}"))
        .await;
    assert!(beyond.entries.is_empty());
    assert_eq!(beyond.total, 2);
    for nobody in ["?user=999999", "?user=-1"] {
        let page = app.audit_page(&root, nobody).await;
        assert!(page.entries.is_empty(), "{nobody}");
        assert_eq!(page.total, 0, "{nobody}");
    }
}

#[tokio::test]
async fn a_bad_query_is_a_400_json_error() {
    let app = spawn_app().await;
    let root = admin(&app).await;
    for query in [
        "?page=abc",
        "?page=0",
        "?page=-1",
        "?page=1.5",
        "?page=4294967296",
        "?user=abc",
        "?user=",
        "?page=1&user=1&user=2",
    ] {
        let body = expect_error(
            app.get(&root, &format!("/api/audit{query}")).await,
            StatusCode::BAD_REQUEST,
            ErrorCode::BadRequest,
        )
        .await;
        assert!(body.message.contains("query"), "{query}: {}", body.message);
    }
}

/// Every entry `GET /api/audit` gives for `filter` (e.g. `"q=ali&event=signed_in"`), all
/// pages, newest first.
async fn filtered(app: &TestApp, admin: &Client, filter: &str) -> Vec<AuditEntry> {
    let mut entries = Vec::new();
    for page in 1.. {
        let got: AuditPage = app
            .audit_page(admin, &format!("?page={page}&{filter}"))
            .await;
        let done = got.entries.is_empty();
        entries.extend(got.entries);
        if done {
            assert_eq!(entries.len() as u64, got.total, "{filter}: every page read");
            return entries;
        }
    }
    unreachable!()
}

/// Whether `entry`'s user or actor name begins with `part` (lower case).
fn names(entry: &AuditEntry, part: &str) -> bool {
    [&entry.subject, &entry.actor]
        .iter()
        .any(|name| name.as_deref().is_some_and(|n| n.starts_with(part)))
}

#[tokio::test]
async fn the_log_is_filtered_by_the_beginning_of_a_name_and_by_kind() {
    let app = spawn_app().await;
    // alice enrolls, root removes her device, bob types a wrong password, alicia signs in,
    // and someone tries a name that is no account.
    app.enrolled_user(&client(), "alice", PASSWORD).await;
    let alice = app.user_id("alice").await;
    let root = admin(&app).await;
    assert_eq!(
        app.remove_device(&root, alice, None).await.status(),
        StatusCode::NO_CONTENT
    );
    app.create_user("bob", PASSWORD, false).await;
    app.sign_in_raw(&client(), "bob", "wrong horse").await;
    app.create_user("alicia", PASSWORD, false).await;
    app.sign_in(&client(), "alicia", PASSWORD).await;
    app.sign_in_raw(&client(), "ali_ce", "wrong horse").await;
    let all = filtered(&app, &root, "").await;
    assert_eq!(all.len(), 7, "{all:?}");

    // Each filter keeps exactly the entries of the whole log it describes, newest first.
    let by = |keep: &dyn Fn(&AuditEntry) -> bool| -> Vec<AuditEntry> {
        all.iter().filter(|e| keep(e)).cloned().collect()
    };
    let root_about_alice = format!("q=root&user={alice}");
    let cases: [(&str, Vec<AuditEntry>); 10] = [
        ("q=ali", by(&|e| names(e, "ali"))),
        // Any case; blanks around it ignored.
        ("q=%20ALI%20", by(&|e| names(e, "ali"))),
        // The actor counts too.
        ("q=root", by(&|e| names(e, "root"))),
        ("q=alicia", by(&|e| names(e, "alicia"))),
        ("event=signed_in", by(&|e| e.event == SignedIn)),
        (
            "q=ali&event=signed_in",
            by(&|e| names(e, "ali") && e.event == SignedIn),
        ),
        (
            &root_about_alice,
            by(&|e| names(e, "root") && e.subject_id == Some(alice)),
        ),
        // `%` and `_` are letters, not wildcards; a typed name that is no account is not
        // written down, so it is not found.
        ("q=%25", Vec::new()),
        ("q=ali_", Vec::new()),
        // The beginning of a name, not any part of it (a range on an index).
        ("q=lic", Vec::new()),
    ];
    for (filter, expected) in cases {
        assert_eq!(filtered(&app, &root, filter).await, expected, "{filter}");
    }
    // The cases are not trivially empty or everything.
    assert_eq!(by(&|e| names(e, "ali")).len(), 4);
    assert_eq!(
        summarize(&filtered(&app, &root, "q=root").await),
        [
            ev(
                DeviceRemoved,
                Some("root"),
                "alice",
                Some("removed by administrator root")
            ),
            own(SignedIn, "root", None),
        ]
    );
    assert_eq!(
        summarize(&filtered(&app, &root, "event=sign_in_failed_password").await),
        [
            ev(
                SignInFailedPassword,
                None,
                "unknown account",
                Some(&app.name_ref("ali_ce"))
            ),
            ev(SignInFailedPassword, None, "bob", None),
        ]
    );
    // An empty search is no search.
    assert_eq!(filtered(&app, &root, "q=").await, all);
}

/// The CSV cell a spreadsheet shows for `text`: `'` before what it would run as a formula.
fn cell(text: &str) -> String {
    match text.chars().next() {
        Some('=' | '+' | '-' | '@' | '\t' | '\r') => format!("'{text}"),
        _ => text.to_owned(),
    }
}

/// The CSV row an entry should be.
fn csv_row(e: &AuditEntry) -> Vec<String> {
    let time = chrono::DateTime::from_timestamp(e.at as i64, 0).unwrap();
    let text = |v: &Option<String>| cell(v.as_deref().unwrap_or_default());
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

/// `GET /api/audit.csv?{filter}`: checks it is a download that is never stored, and returns
/// its header and rows.
async fn csv(app: &TestApp, admin: &Client, filter: &str) -> (Vec<String>, Vec<Vec<String>>) {
    let response = app.get(admin, &format!("/api/audit.csv?{filter}")).await;
    assert_eq!(response.status(), StatusCode::OK, "{filter}");
    let header = |name| response.headers()[name].to_str().unwrap().to_owned();
    assert_eq!(header(CONTENT_TYPE), "text/csv; charset=utf-8");
    assert_eq!(
        header(CONTENT_DISPOSITION),
        "attachment; filename=\"audit-log.csv\""
    );
    assert_eq!(header(CACHE_CONTROL), "no-store");
    let body = response.bytes().await.unwrap();
    let mut reader = csv::Reader::from_reader(&body[..]);
    let head = reader
        .headers()
        .unwrap()
        .iter()
        .map(str::to_owned)
        .collect();
    let rows = reader
        .records()
        .map(|r| r.unwrap().iter().map(str::to_owned).collect())
        .collect();
    (head, rows)
}

#[tokio::test]
async fn the_csv_has_every_event_the_filter_keeps_quoted_and_neutralised() {
    let app = spawn_app().await;
    let root = admin(&app).await;
    // Names may begin with `-` or `@`, which a spreadsheet would take for a formula.
    app.create_user("-2-3", PASSWORD, false).await;
    app.sign_in(&client(), "-2-3", PASSWORD).await;
    app.create_user("@carol", PASSWORD, false).await;
    app.sign_in(&client(), "@carol", PASSWORD).await;
    // More of carol's events than a page holds (over two batches of the export), with a
    // detail that needs quoting and neutralising.
    let tricky = "=HYPERLINK(\"http://x\",\"a, b\")\nline two";
    for i in 0..1_020 {
        let detail = if i == 7 { tricky } else { "from a test" };
        let kind = if i % 2 == 0 {
            DeviceAssociated
        } else {
            SignedIn
        };
        let event = Event {
            kind,
            actor: Actor::Cli,
            subject: Subject::Name("@carol"),
            client_addr: Some("+1.2.3.4"),
            detail: Some(detail),
        };
        twostep::audit::record(&app.db, event, START + i).await;
    }

    let (head, everything) = csv(&app, &root, "").await;
    assert_eq!(
        head,
        [
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
    let all = filtered(&app, &root, "").await;
    assert_eq!(all.len(), 1 + 2 + 1_020);
    assert_eq!(everything, all.iter().map(csv_row).collect::<Vec<_>>());

    for filter in [
        "q=%40CAROL",
        "q=%40carol&event=signed_in",
        "q=-2",
        "event=signed_in",
    ] {
        let expected: Vec<_> = filtered(&app, &root, filter)
            .await
            .iter()
            .map(csv_row)
            .collect();
        assert!(!expected.is_empty(), "{filter}");
        assert_eq!(csv(&app, &root, filter).await.1, expected, "{filter}");
    }
    let (_, signed_in) = csv(&app, &root, "q=%40carol&event=signed_in").await;
    assert_eq!(
        signed_in.len(),
        1 + 510,
        "carol's sign-in and half of the added events"
    );
    // The cells as written: neutralised, and the quoted detail read back whole.
    let minus = &csv(&app, &root, "q=-2-3").await.1;
    assert_eq!(minus.len(), 1);
    assert_eq!(minus[0][4..6], ["'-2-3", "'-2-3"]);
    let tricky_row = everything
        .iter()
        .find(|row| row[8].starts_with("'=HYPERLINK"))
        .expect("the tricky detail");
    assert_eq!(tricky_row[8], format!("'{tricky}"));
    assert_eq!(tricky_row[4..8], ["cli", "'@carol", "", "'+1.2.3.4"]);
    // Nothing matches: the header alone.
    assert_eq!(csv(&app, &root, "q=nobody").await.1.len(), 0);
}

#[tokio::test]
async fn a_bad_filter_is_a_400_and_changes_nothing() {
    let app = spawn_app().await;
    let root = admin(&app).await;
    let before = filtered(&app, &root, "").await;
    let long = "a".repeat(65);
    for path in ["/api/audit", "/api/audit.csv"] {
        for query in [
            "event=nope",
            "event=",
            "event=SIGNED_IN",
            "user=x",
            "q=a&q=b",
        ] {
            let body = expect_error(
                app.get(&root, &format!("{path}?{query}")).await,
                StatusCode::BAD_REQUEST,
                ErrorCode::BadRequest,
            )
            .await;
            assert!(body.message.contains("query"), "{query}: {}", body.message);
        }
        let body = expect_error(
            app.get(&root, &format!("{path}?q={long}")).await,
            StatusCode::BAD_REQUEST,
            ErrorCode::InvalidInput,
        )
        .await;
        assert_eq!(body.field.as_deref(), Some("q"));
        assert!(body.message.contains("64"), "{}", body.message);
        // 64 characters are fine.
        let ok = app.get(&root, &format!("{path}?q={}", &long[1..])).await;
        assert_eq!(ok.status(), StatusCode::OK);
    }
    // The CSV has no pages: a page is refused rather than ignored.
    let body = expect_error(
        app.get(&root, "/api/audit.csv?page=2").await,
        StatusCode::BAD_REQUEST,
        ErrorCode::BadRequest,
    )
    .await;
    assert!(body.message.contains("page"), "{}", body.message);
    assert_eq!(filtered(&app, &root, "").await, before, "nothing recorded");
}
