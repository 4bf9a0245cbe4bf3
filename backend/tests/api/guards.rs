//! The limits under attack: bursts of simultaneous requests (a barrier releases them at once,
//! each on its own connection, spread over two instances of the same database) get no more
//! tries than the rules allow; the owner's browser is not locked out by someone else's
//! guesses; the client address behind a trusted proxy (also when the client's part of the
//! forwarded line is not ASCII); recovery codes cost no Argon2; the
//! sweep; typed names that are not accounts are never stored.

use crate::helpers::{TestApp, client, expect_error, ok_json, spawn_app, spawn_app_with, totp};
use reqwest::{Client, StatusCode};
use std::sync::Arc;
use tokio::sync::Barrier;
use twostep::app::Settings;
use twostep::limits::policy::{ADDRESS, CODE, Counter, PASSWORD, RECOVERY};
use twostep_shared::ErrorCode;
use twostep_shared::api::{SignInRequest, SignInResponse, VerifyRequest};

const PASSWORD_TEXT: &str = "correct horse";

/// A client with its own connection (and cookie store), as a separate attacker would have.
fn own_connection() -> Client {
    Client::builder()
        .cookie_store(true)
        .pool_max_idle_per_host(1)
        .build()
        .expect("HTTP client")
}

/// Sends `count` requests at once (released together by a barrier, alternating between the
/// given servers) and returns their statuses.
async fn burst<F, Fut>(count: usize, send: F) -> Vec<StatusCode>
where
    F: Fn(usize) -> Fut,
    Fut: std::future::Future<Output = reqwest::Response> + Send + 'static,
{
    let barrier = Arc::new(Barrier::new(count));
    let mut tasks = Vec::new();
    for i in 0..count {
        let barrier = barrier.clone();
        let request = send(i);
        tasks.push(tokio::spawn(async move {
            barrier.wait().await;
            request.await.status()
        }));
    }
    let mut statuses = Vec::new();
    for task in tasks {
        statuses.push(task.await.expect("request task"));
    }
    statuses
}

/// The audit log as stored, newest first.
struct AuditRow {
    subject: Option<String>,
    client_address: Option<String>,
    detail: Option<String>,
}

async fn audit_rows(app: &TestApp) -> Vec<AuditRow> {
    use sqlx::Row;
    sqlx::query("SELECT subject_name, client_addr, detail FROM audit_events ORDER BY id DESC")
        .fetch_all(&app.db)
        .await
        .unwrap()
        .iter()
        .map(|row| AuditRow {
            subject: row.get("subject_name"),
            client_address: row.get("client_addr"),
            detail: row.get("detail"),
        })
        .collect()
}

fn count(statuses: &[StatusCode], status: StatusCode) -> usize {
    statuses.iter().filter(|s| **s == status).count()
}

fn sign_in_request(
    client: &Client,
    app: &TestApp,
    name: &str,
    password: &str,
) -> impl std::future::Future<Output = reqwest::Response> + Send + 'static {
    let request = client.post(app.url("/api/session")).json(&SignInRequest {
        username: name.to_owned(),
        password: password.to_owned(),
    });
    async move { request.send().await.expect("request") }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_burst_of_wrong_passwords_gets_no_more_tries_than_a_sequence_and_the_owner_still_signs_in()
 {
    let a = spawn_app().await;
    let b = a.another_instance().await;
    a.create_user("alice", PASSWORD_TEXT, false).await;
    // The owner signed in before from this browser: it keeps a device cookie after sign-out.
    let owner = client();
    let _: SignInResponse = a.sign_in(&owner, "alice", PASSWORD_TEXT).await;
    let signed_out = owner
        .delete(a.url("/api/session"))
        .send()
        .await
        .expect("sign out");
    assert_eq!(signed_out.status(), StatusCode::NO_CONTENT);

    let attackers: Vec<Client> = (0..100).map(|_| own_connection()).collect();
    let statuses = burst(100, |i| {
        let app = if i % 2 == 0 { &a } else { &b };
        sign_in_request(&attackers[i], app, "alice", "wrong password")
    })
    .await;
    let checked = count(&statuses, StatusCode::UNAUTHORIZED);
    let refused = count(&statuses, StatusCode::TOO_MANY_REQUESTS);
    assert!(checked >= 1, "some were checked: {statuses:?}");
    assert!(
        checked <= PASSWORD.free as usize,
        "at most {} checked, got {checked}",
        PASSWORD.free
    );
    assert_eq!(checked + refused, 100, "{statuses:?}");

    // Keep guessing until the name's free tries are spent: never more than the rule.
    let mut more = 0;
    loop {
        let status = a
            .sign_in_raw(&own_connection(), "alice", "wrong password")
            .await
            .status();
        if status == StatusCode::TOO_MANY_REQUESTS {
            break;
        }
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        more += 1;
        assert!(checked + more <= PASSWORD.free as usize, "too many tries");
    }
    // The right password from a new browser waits, like any guess.
    expect_error(
        a.sign_in_raw(&own_connection(), "alice", PASSWORD_TEXT)
            .await,
        StatusCode::TOO_MANY_REQUESTS,
        ErrorCode::TooManyAttempts,
    )
    .await;
    // The owner's browser, with its device cookie, signs in at once, on either instance.
    let _: SignInResponse = b.sign_in(&owner, "alice", PASSWORD_TEXT).await;
    let _: SignInResponse = a.sign_in(&owner, "alice", PASSWORD_TEXT).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn simultaneous_reservations_in_the_database_get_exactly_the_free_tries() {
    let app = spawn_app().await;
    let now = app.now();
    let barrier = Arc::new(Barrier::new(100));
    let mut tasks = Vec::new();
    for _ in 0..100 {
        let (db, barrier) = (app.db.clone(), barrier.clone());
        tasks.push(tokio::spawn(async move {
            barrier.wait().await;
            let mut conn = db.acquire().await.unwrap();
            twostep::limits::guards::reserve_password(&mut conn, "name:burst", None, now).await
        }));
    }
    let mut allowed = 0;
    for task in tasks {
        match task.await.unwrap() {
            Ok(()) => allowed += 1,
            Err(twostep::limits::guards::Refused::Wait(seconds)) => assert!(seconds >= 1),
            Err(other) => panic!("unexpected refusal: {other}"),
        }
    }
    assert_eq!(allowed, PASSWORD.free, "exactly the free tries, not more");
    let stored = twostep::limits::guards::password_counter(
        &mut app.db.acquire().await.unwrap(),
        "name:burst",
    )
    .await
    .unwrap();
    assert_eq!(
        stored,
        Some(Counter {
            failures: PASSWORD.free,
            last_at: now
        })
    );
}

/// A reservation handed back (an attempt refused for a busy turn or a full queue, not checked)
/// frees its place, under a burst on two instances too: of 100 simultaneous attempts, every
/// third is handed back and the others stay counted as failures; no more than the free tries
/// ever stay counted, and the counter holds exactly those that did.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn handed_back_reservations_never_make_room_for_more_than_the_free_tries() {
    let a = spawn_app().await;
    let b = a.another_instance().await;
    let now = a.now();
    let barrier = Arc::new(Barrier::new(100));
    let mut tasks = Vec::new();
    for i in 0..100 {
        let db = if i % 2 == 0 {
            a.db.clone()
        } else {
            b.db.clone()
        };
        let barrier = barrier.clone();
        tasks.push(tokio::spawn(async move {
            barrier.wait().await;
            let mut conn = db.acquire().await.unwrap();
            let counter = twostep::limits::guards::password_counter(&mut conn, "name:handback")
                .await
                .unwrap();
            let reserved =
                twostep::limits::guards::reserve_password(&mut conn, "name:handback", counter, now)
                    .await;
            drop(conn);
            match reserved {
                Ok(()) if i % 3 == 0 => {
                    twostep::limits::guards::release_password(&db, "name:handback")
                        .await
                        .unwrap();
                    "handed back"
                }
                Ok(()) => "kept",
                Err(twostep::limits::guards::Refused::Wait(_)) => "refused",
                Err(other) => panic!("unexpected refusal: {other}"),
            }
        }));
    }
    let mut kept = 0;
    for task in tasks {
        if task.await.unwrap() == "kept" {
            kept += 1;
        }
    }
    assert!((1..=PASSWORD.free).contains(&kept), "{kept} kept");
    let stored = twostep::limits::guards::password_counter(
        &mut a.db.acquire().await.unwrap(),
        "name:handback",
    )
    .await
    .unwrap()
    .expect("a counter");
    assert_eq!(
        stored.failures, kept,
        "the counter holds exactly the kept failures"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_burst_of_wrong_codes_on_one_waiting_session_is_checked_at_most_five_times() {
    let a = spawn_app().await;
    let b = a.another_instance().await;
    let browser = client();
    let enrolled = a.enrolled_user(&browser, "alice", PASSWORD_TEXT).await;
    let waiting = client();
    a.sign_in_pending(&waiting, "alice", PASSWORD_TEXT).await;
    let wrong = crate::helpers::wrong_code(&enrolled.secret, a.now_step(), 2);
    let statuses = burst(40, |i| {
        let app = if i % 2 == 0 { &a } else { &b };
        let request = waiting
            .post(app.url("/api/session/verify"))
            .json(&VerifyRequest {
                code: wrong.clone(),
            });
        async move { request.send().await.expect("request") }
    })
    .await;
    let checked = count(&statuses, StatusCode::UNAUTHORIZED);
    assert!(
        (1..=CODE.free as usize).contains(&checked),
        "1 to {} checked, got {checked}: {statuses:?}",
        CODE.free
    );
    assert_eq!(
        checked + count(&statuses, StatusCode::TOO_MANY_REQUESTS),
        40,
        "{statuses:?}"
    );
    let failures: i64 = sqlx::query_scalar("SELECT failed_attempts FROM two_step_devices")
        .fetch_one(&a.db)
        .await
        .unwrap();
    assert_eq!(
        failures, checked as i64,
        "each checked code was counted once"
    );
}

/// The code step locked by someone who knows the password: the owner still gets in with a
/// recovery code at once; a burst of wrong recovery codes costs no Argon2 and is limited.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn recovery_codes_open_a_locked_code_step_and_cost_no_hashing() {
    let app = spawn_app().await;
    let browser = client();
    let enrolled = app.enrolled_user(&browser, "alice", PASSWORD_TEXT).await;
    app.create_user("bob", PASSWORD_TEXT, false).await;
    let lock = "UPDATE two_step_devices SET failed_attempts = 100, last_failed_at = $1, locked = 1";
    sqlx::query(lock)
        .bind(app.now() as i64)
        .execute(&app.db)
        .await
        .unwrap();
    let owner = client();
    app.sign_in_pending(&owner, "alice", PASSWORD_TEXT).await;
    let code = totp(&enrolled.secret, app.now_step());
    expect_error(
        app.verify(&owner, &code).await,
        StatusCode::LOCKED,
        ErrorCode::Locked,
    )
    .await;
    let _ = app.verify_ok(&owner, &enrolled.recovery_codes[0]).await;

    // Locked again by the attacker, who also sends 50 wrong recovery codes at once.
    sqlx::query(lock)
        .bind(app.now() as i64)
        .execute(&app.db)
        .await
        .unwrap();
    let attacker = client();
    app.sign_in_pending(&attacker, "alice", PASSWORD_TEXT).await;
    let hashed_before = app.hasher.jobs_run();
    let statuses = burst(50, |i| {
        let request = attacker
            .post(app.url("/api/session/verify"))
            .json(&VerifyRequest {
                code: format!("zzzzz-zz{:03}", i).replace('0', "y"),
            });
        async move { request.send().await.expect("request") }
    })
    .await;
    let checked = count(&statuses, StatusCode::UNAUTHORIZED);
    assert!(
        (1..=RECOVERY.free as usize).contains(&checked),
        "at most {} checked, got {checked}: {statuses:?}",
        RECOVERY.free
    );
    assert_eq!(
        checked + count(&statuses, StatusCode::TOO_MANY_REQUESTS),
        50,
        "{statuses:?}"
    );
    assert_eq!(
        app.hasher.jobs_run(),
        hashed_before,
        "recovery codes are checked without Argon2"
    );
    // Another account's sign-in takes its one hash, as usual.
    let _: SignInResponse = app.sign_in(&client(), "bob", PASSWORD_TEXT).await;
    assert_eq!(app.hasher.jobs_run(), hashed_before + 1);
}

#[tokio::test]
async fn behind_a_trusted_proxy_the_forwarded_address_counts_and_a_64_shares_the_limit() {
    let settings = Settings {
        trusted_proxies: "127.0.0.1".parse().unwrap(),
        ..Settings::default()
    };
    let app = spawn_app_with(settings).await;
    let client = client();
    let wrong = |name: String, from: &'static str| {
        client
            .post(app.url("/api/session"))
            .header("x-forwarded-for", format!("203.0.113.9, {from}"))
            .json(&SignInRequest {
                username: name,
                password: "wrong password".to_owned(),
            })
            .send()
    };
    let first = wrong("nobody".to_owned(), "2001:db8:5:6::1").await.unwrap();
    assert_eq!(first.status(), StatusCode::UNAUTHORIZED);
    let entries = audit_rows(&app).await;
    assert_eq!(
        entries[0].client_address.as_deref(),
        Some("2001:db8:5:6::1"),
        "the address the proxy saw, not what the client wrote"
    );
    for i in 1..ADDRESS.max_failures {
        let status = wrong(format!("guess{i}"), "2001:db8:5:6::1")
            .await
            .unwrap()
            .status();
        assert_eq!(status, StatusCode::UNAUTHORIZED);
    }
    // A neighbour in the same /64 shares the limit; another /64 does not.
    let neighbour = wrong("someone".to_owned(), "2001:db8:5:6:ffff::2")
        .await
        .unwrap();
    assert_eq!(neighbour.status(), StatusCode::TOO_MANY_REQUESTS);
    let elsewhere = wrong("someone".to_owned(), "2001:db8:5:7::2")
        .await
        .unwrap();
    assert_eq!(elsewhere.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn a_forwarded_line_with_a_bad_byte_still_names_the_client_the_proxy_saw() {
    let settings = Settings {
        trusted_proxies: "127.0.0.1".parse().unwrap(),
        ..Settings::default()
    };
    let app = spawn_app_with(settings).await;
    let client = client();
    // What nginx's `$proxy_add_x_forwarded_for` makes of a line the client wrote with a byte
    // that is not ASCII: the real address appended after a comma.
    let wrong = |name: String, from: &str| {
        let mut line = b"\xff\xfegarbage, 198.51.100.1".to_vec();
        line.extend_from_slice(format!(", {from}").as_bytes());
        client
            .post(app.url("/api/session"))
            .header(
                "x-forwarded-for",
                reqwest::header::HeaderValue::from_bytes(&line).unwrap(),
            )
            .json(&SignInRequest {
                username: name,
                password: "wrong password".to_owned(),
            })
            .send()
    };
    for i in 0..ADDRESS.max_failures {
        let status = wrong(format!("guess{i}"), "203.0.113.7")
            .await
            .unwrap()
            .status();
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        let entries = audit_rows(&app).await;
        assert_eq!(
            entries[0].client_address.as_deref(),
            Some("203.0.113.7"),
            "the address the proxy appended, not the proxy's own"
        );
    }
    // The failures were charged to that client: it waits, another one behind the same proxy
    // does not.
    let again = wrong("someone".to_owned(), "203.0.113.7").await.unwrap();
    assert_eq!(again.status(), StatusCode::TOO_MANY_REQUESTS);
    let other = wrong("someone".to_owned(), "192.0.2.44").await.unwrap();
    assert_eq!(other.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn without_trusted_proxies_the_forwarded_header_is_ignored() {
    let app = spawn_app().await;
    let response = client()
        .post(app.url("/api/session"))
        .header("x-forwarded-for", "192.0.2.77")
        .json(&SignInRequest {
            username: "nobody".to_owned(),
            password: "wrong password".to_owned(),
        })
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    let entries = audit_rows(&app).await;
    assert_eq!(entries[0].client_address.as_deref(), Some("127.0.0.1"));
}

#[tokio::test]
async fn wrong_passwords_from_the_owners_browser_count_against_its_cookie_only() {
    let app = spawn_app().await;
    app.create_user("alice", PASSWORD_TEXT, false).await;
    let owner = client();
    let _: SignInResponse = app.sign_in(&owner, "alice", PASSWORD_TEXT).await;
    for _ in 0..PASSWORD.free {
        expect_error(
            app.sign_in_raw(&owner, "alice", "wrong password").await,
            StatusCode::UNAUTHORIZED,
            ErrorCode::BadCredentials,
        )
        .await;
    }
    expect_error(
        app.sign_in_raw(&owner, "alice", PASSWORD_TEXT).await,
        StatusCode::TOO_MANY_REQUESTS,
        ErrorCode::TooManyAttempts,
    )
    .await;
    // The name's shared counter was not touched: another browser signs in.
    let _: SignInResponse = app.sign_in(&client(), "alice", PASSWORD_TEXT).await;
}

#[tokio::test]
async fn a_name_that_is_not_an_account_is_never_stored_or_shown() {
    let app = spawn_app().await;
    let typed = "mysecretpassword77";
    expect_error(
        app.sign_in_raw(&client(), typed, "wrong password").await,
        StatusCode::UNAUTHORIZED,
        ErrorCode::BadCredentials,
    )
    .await;
    let entries = audit_rows(&app).await;
    assert_eq!(entries[0].subject.as_deref(), Some("unknown account"));
    let reference = entries[0].detail.clone().unwrap_or_default();
    assert!(reference.starts_with("typed name ref "), "{reference}");
    // The same name twice gives the same reference, so attempts can be correlated.
    let _ = app.sign_in_raw(&client(), typed, "wrong password").await;
    assert_eq!(
        audit_rows(&app).await[0].detail.as_deref(),
        Some(reference.as_str())
    );
    let stored = String::from_utf8_lossy(&app.stored_bytes().await).into_owned();
    assert!(
        !stored.contains(typed),
        "the typed name is stored somewhere"
    );
}

#[tokio::test]
async fn the_sweep_deletes_what_is_past_its_window_and_keeps_the_rest() {
    let app = spawn_app().await;
    let now = app.now() as i64;
    let user = app.create_user("alice", PASSWORD_TEXT, false).await;
    let day = 24 * 60 * 60;
    let exec = |sql: &'static str, a: i64, b: i64| {
        let db = app.db.clone();
        async move {
            sqlx::query(sql).bind(a).bind(b).execute(&db).await.unwrap();
        }
    };
    // Expired; live; unseen for the idle limit (one hour here) plus the margin; and unseen
    // just under that.
    let idle = 60 * 60;
    let margin = twostep::storage::sweep::IDLE_MARGIN as i64;
    for (token, expires, seen) in [
        ("old", now - 1, now - 100),
        ("live", now + 60, now - 100),
        ("idle", now + 60, now - idle - margin),
        ("nearly idle", now + 60, now - idle - margin + 1),
    ] {
        sqlx::query(
            "INSERT INTO sessions (token_hash, user_id, stage, created_at, expires_at,
                                   authenticated_at, last_seen_at)
             VALUES ($1, $2, 'signed_in', $3, $4, $3, $5)",
        )
        .bind(token)
        .bind(user)
        .bind(now - 100)
        .bind(expires)
        .bind(seen)
        .execute(&app.db)
        .await
        .unwrap();
    }
    exec(
        "INSERT INTO two_step_setups (user_id, sealed_secret, expires_at) VALUES ($1, 'x', $2)",
        user,
        now,
    )
    .await;
    for (key, at) in [("name:old", now - day), ("name:recent", now - day + 1)] {
        sqlx::query(
            "INSERT INTO attempt_counters (counter_key, failures, last_at) VALUES ($1, 3, $2)",
        )
        .bind(key)
        .bind(at)
        .execute(&app.db)
        .await
        .unwrap();
    }
    exec(
        "INSERT INTO oidc_flows (state_hash, provider, sealed_secrets, created_at, expires_at) VALUES ('s', 'p', 'x', $1, $2)",
        now - 700,
        now - 100,
    )
    .await;
    for at in [now - 30 * day - 1, now - 30 * day + 1] {
        exec(
            "INSERT INTO audit_events (at, event, subject_id) VALUES ($1, 'signed_in', $2)",
            at,
            user,
        )
        .await;
    }
    let swept = twostep::storage::sweep::sweep(&app.db, app.now(), 30, idle as u64)
        .await
        .unwrap();
    assert_eq!(
        swept,
        twostep::storage::sweep::Swept {
            sessions: 2,
            setups: 1,
            oidc_flows: 1,
            attempt_counters: 1,
            audit_events: 1,
        }
    );
    let kept: Vec<String> =
        sqlx::query_scalar("SELECT token_hash FROM sessions ORDER BY token_hash")
            .fetch_all(&app.db)
            .await
            .unwrap();
    assert_eq!(kept, ["live", "nearly idle"]);
    let counters: Vec<String> = sqlx::query_scalar("SELECT counter_key FROM attempt_counters")
        .fetch_all(&app.db)
        .await
        .unwrap();
    assert_eq!(counters, ["name:recent"]);
    assert_eq!(app.count("audit_events").await, 1);
    assert_eq!(app.count("oidc_flows").await, 0);
}

#[tokio::test]
async fn a_wrong_recovery_code_as_removal_proof_is_counted_like_one() {
    let app = spawn_app().await;
    let browser = client();
    app.enrolled_user(&browser, "alice", PASSWORD_TEXT).await;
    let id = app.user_id("alice").await;
    for _ in 0..twostep::limits::policy::RECOVERY.free {
        expect_error(
            app.remove_device(&browser, id, Some("abcde-fghjk")).await,
            StatusCode::UNAUTHORIZED,
            ErrorCode::CodeWrong,
        )
        .await;
    }
    expect_error(
        app.remove_device(&browser, id, Some("abcde-fghjk")).await,
        StatusCode::TOO_MANY_REQUESTS,
        ErrorCode::TooManyAttempts,
    )
    .await;
    assert_eq!(app.count_for("two_step_devices", id).await, 1);
    let _: serde_json::Value = ok_json(app.get(&browser, "/api/me").await).await;
}

/// The burst starts one below the free tries, on two instances: each instance lets one
/// attempt per account (or per cookie) through at a time, so only the reservation in the
/// database (a compare-and-set of the counter read) keeps the two instances' attempts from
/// both being checked. Exactly one is; the counter ends at the free number. With and without
/// the owner's known-browser cookie (its own counter, its own turn per instance).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_burst_at_the_last_free_try_on_two_instances_gets_one_check() {
    const ROUNDS: usize = 4;
    for with_cookie in [false, true] {
        let a = spawn_app().await;
        let b = a.another_instance().await;
        for round in 0..ROUNDS {
            let name = format!("user{round}");
            a.create_user(&name, PASSWORD_TEXT, false).await;
            let owner = client();
            if with_cookie {
                let _: SignInResponse = a.sign_in(&owner, &name, PASSWORD_TEXT).await;
            }
            let sender = |_: usize| {
                if with_cookie {
                    owner.clone()
                } else {
                    own_connection()
                }
            };
            for _ in 0..PASSWORD.free - 1 {
                expect_error(
                    a.sign_in_raw(&sender(0), &name, "wrong password").await,
                    StatusCode::UNAUTHORIZED,
                    ErrorCode::BadCredentials,
                )
                .await;
            }
            let hashed_before = a.hasher.jobs_run() + b.hasher.jobs_run();
            let senders: Vec<Client> = (0..40).map(sender).collect();
            let statuses = burst(40, |i| {
                let app = if i % 2 == 0 { &a } else { &b };
                sign_in_request(&senders[i], app, &name, "wrong password")
            })
            .await;
            let checked = count(&statuses, StatusCode::UNAUTHORIZED);
            assert_eq!(
                checked, 1,
                "cookie {with_cookie}, round {round}: {statuses:?}"
            );
            assert_eq!(
                count(&statuses, StatusCode::TOO_MANY_REQUESTS),
                39,
                "{statuses:?}"
            );
            assert_eq!(
                a.hasher.jobs_run() + b.hasher.jobs_run(),
                hashed_before + 1,
                "one hash in all"
            );
            // The free tries are spent: the next attempt waits, however it is sent.
            expect_error(
                b.sign_in_raw(&sender(0), &name, PASSWORD_TEXT).await,
                StatusCode::TOO_MANY_REQUESTS,
                ErrorCode::TooManyAttempts,
            )
            .await;
        }
    }
}

/// While one password check of an account runs, a second one for the same account on the
/// same instance is refused at once (429, retry after 1 s), from another connection, with or
/// without a cookie: one account never holds two places in the hashing queue. Every hashing
/// thread is kept busy so that the first check is surely still running.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_second_check_of_the_same_account_is_refused_while_the_first_runs() {
    let app = spawn_app().await;
    app.create_user("alice", PASSWORD_TEXT, false).await;
    let (threads, release, blockers) = hold_hashing_threads(&app);
    let wait_queued = |count: usize| wait_queued(&app, count);
    wait_queued(threads).await;
    let first_client = own_connection();
    let first = tokio::spawn(sign_in_request(
        &first_client,
        &app,
        "alice",
        "wrong password",
    ));
    // The first check holds its turn and waits in the queue behind the busy threads.
    wait_queued(threads + 1).await;
    for second in [own_connection(), client()] {
        let answer = tokio::time::timeout(
            std::time::Duration::from_secs(5),
            sign_in_request(&second, &app, "alice", PASSWORD_TEXT),
        )
        .await
        .expect("the second check was refused at once, not queued");
        assert_eq!(answer.status(), StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(answer.headers()["retry-after"], "1");
    }
    assert_eq!(app.hasher.queued(), threads + 1, "nothing more was queued");
    release.send(true).unwrap();
    assert_eq!(first.await.unwrap().status(), StatusCode::UNAUTHORIZED);
    for blocker in blockers {
        blocker.await.unwrap().unwrap();
    }
    // The refused one was not counted: the right password signs in now.
    let _: SignInResponse = app.sign_in(&client(), "alice", PASSWORD_TEXT).await;
}

/// A job holding a hashing thread.
type Blocker = tokio::task::JoinHandle<Result<(), twostep::accounts::passwords::HashError>>;

/// Every hashing thread of `app` kept busy until the returned sender says `true`: the number
/// of threads, the sender, and the blocking jobs to await afterwards.
fn hold_hashing_threads(app: &TestApp) -> (usize, tokio::sync::watch::Sender<bool>, Vec<Blocker>) {
    let threads = std::thread::available_parallelism().map_or(2, |n| n.get());
    let (release, released) = tokio::sync::watch::channel(false);
    let mut blockers = Vec::new();
    for _ in 0..threads {
        let hasher = app.hasher.clone();
        let mut released = released.clone();
        let handle = tokio::runtime::Handle::current();
        blockers.push(tokio::spawn(async move {
            hasher
                .run(move |_| {
                    handle.block_on(async move {
                        let _ = released.wait_for(|r| *r).await;
                    })
                })
                .await
        }));
    }
    (threads, release, blockers)
}

/// Waits (at most 5 s) until `count` hashing jobs are queued or running.
async fn wait_queued(app: &TestApp, count: usize) {
    let started = std::time::Instant::now();
    while app.hasher.queued() != count {
        assert!(
            started.elapsed() < std::time::Duration::from_secs(5),
            "{} queued, not {count}",
            app.hasher.queued()
        );
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
}

/// A client that hangs up while its password check waits in the queue costs no hash: the job
/// is skipped when a hashing thread reaches it (its reservation stays counted as a try).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_hung_up_clients_password_check_is_skipped() {
    let app = spawn_app().await;
    app.create_user("alice", PASSWORD_TEXT, false).await;
    let ran_before = app.hasher.jobs_run();
    let (threads, release, blockers) = hold_hashing_threads(&app);
    wait_queued(&app, threads).await;
    let impatient = Client::builder()
        .timeout(std::time::Duration::from_millis(300))
        .build()
        .unwrap();
    let gave_up = impatient
        .post(app.url("/api/session"))
        .json(&SignInRequest {
            username: "alice".to_owned(),
            password: "wrong password".to_owned(),
        })
        .send()
        .await;
    assert!(gave_up.is_err_and(|e| e.is_timeout()), "the client hung up");
    // Time for the server to notice the closed connection before a thread is free.
    tokio::time::sleep(std::time::Duration::from_secs(1)).await;
    release.send(true).unwrap();
    for blocker in blockers {
        blocker.await.unwrap().unwrap();
    }
    wait_queued(&app, 0).await;
    assert_eq!(
        app.hasher.jobs_run(),
        ran_before + threads as u64,
        "only the blocking jobs ran, not the abandoned check"
    );
    // The reservation it made stays counted as a try (the request is gone, nothing hands it
    // back): one free try fewer.
    for _ in 1..PASSWORD.free {
        expect_error(
            app.sign_in_raw(&client(), "alice", "wrong password").await,
            StatusCode::UNAUTHORIZED,
            ErrorCode::BadCredentials,
        )
        .await;
    }
    expect_error(
        app.sign_in_raw(&client(), "alice", "wrong password").await,
        StatusCode::TOO_MANY_REQUESTS,
        ErrorCode::TooManyAttempts,
    )
    .await;
}
