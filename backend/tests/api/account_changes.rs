//! The account-changes table over HTTP, as one table of cases: each case is one change made
//! by one actor with or without a recent sign-in and with a given proof, against the answer
//! the table says (`docs/account-changes.md`), each in a fork of one world.
//!
//! Also the attacks the table closes: moving 2-step verification to the attacker's phone from
//! a stolen recent session, an administrator's stale session acting on another account,
//! known-browser cookies collected to escape the limits, a refusal for a full hashing queue
//! counted as a wrong password, and a session token that survived a step up.

use crate::helpers::{
    STEP, TestApp, base32_decode, client, client_with_jar, expect_error, ok_json, spawn_app,
    spawn_app_with, totp,
};
use reqwest::{Client, Method, StatusCode};
use serde_json::{Value, json};
use sqlx::Row;
use std::sync::Arc;
use twostep::app::Settings;
use twostep_shared::ErrorCode;
use twostep_shared::api::SetupResponse;

const PASSWORD: &str = "correct horse battery";

/// `--recent-sign-in-seconds` in these tests: sessions older than this are stale.
const RECENT: u64 = 60;

fn settings() -> Settings {
    Settings {
        session_limits: twostep::sessions::policy::SessionLimits {
            recent_seconds: RECENT,
            ..Default::default()
        },
        ..Settings::default()
    }
}

/// The proof a case sends.
#[derive(Debug, Clone, Copy)]
enum Proof {
    None,
    /// A current code of alice's phone.
    CurrentPhone,
    /// A code of the new phone that the change itself would introduce.
    NewPhone,
    /// One of alice's unused recovery codes.
    RecoveryCode,
    /// alice's password.
    Password,
}

/// Who acts, from a session signed in just now or longer ago than [`RECENT`].
#[derive(Debug, Clone, Copy, PartialEq)]
enum Actor {
    Holder,
    Administrator,
}

#[derive(Debug, Clone, Copy)]
enum Op {
    ReplaceApp,
    RemoveTwoStep,
    NewRecoveryCodes,
    ChangePassword,
    EndSessions,
    UnlockCodeStep,
    /// Make alice an administrator.
    SetRole,
    DisableAccount,
    DeleteAccount,
}

struct World {
    app: TestApp,
    alice: i64,
    secret: Vec<u8>,
    recovery: String,
}

/// alice (2-step on) and root (an administrator), both signed in at the same moment.
async fn world() -> (World, Client, Client) {
    let app = spawn_app_with(settings()).await;
    let alice_client = client();
    let enrolled = app.enrolled_user(&alice_client, "alice", PASSWORD).await;
    let alice = app.user_id("alice").await;
    app.create_user("root", "root password 1", true).await;
    let root = client();
    app.sign_in(&root, "root", "root password 1").await;
    (
        World {
            app,
            alice,
            secret: enrolled.secret,
            recovery: enrolled.recovery_codes[0].clone(),
        },
        alice_client,
        root,
    )
}

/// Runs `op` by `actor` with `proof`; returns the status and error code.
async fn run(
    world: &World,
    actor: Actor,
    actor_client: &Client,
    op: Op,
    proof: Proof,
) -> (u16, Option<String>) {
    let app = &world.app;
    let step = app.now_step();
    let proof_text = match proof {
        Proof::None => None,
        Proof::CurrentPhone => Some(totp(&world.secret, step)),
        Proof::NewPhone => None, // filled in below, once the new phone exists
        Proof::RecoveryCode => Some(world.recovery.clone()),
        Proof::Password => Some(PASSWORD.to_owned()),
    };
    let alice = world.alice;
    let response = match op {
        Op::ReplaceApp => {
            let setup = app
                .send_json(
                    actor_client,
                    Method::POST,
                    "/api/me/two-step/replacement/setup",
                    &json!({}),
                )
                .await;
            let new = if setup.status() == StatusCode::OK {
                let setup: SetupResponse = setup.json().await.unwrap();
                base32_decode(&setup.secret)
            } else {
                return answer(setup).await;
            };
            let proof_text = match proof {
                Proof::NewPhone => Some(totp(&new, step + 1)),
                _ => proof_text,
            };
            let mut body = json!({ "code1": totp(&new, step - 1), "code2": totp(&new, step) });
            if let Some(proof) = proof_text {
                body["proof"] = Value::from(proof);
            }
            app.send_json(
                actor_client,
                Method::POST,
                "/api/me/two-step/replacement/confirm",
                &body,
            )
            .await
        }
        Op::RemoveTwoStep => {
            let body = json!({ "proof": proof_text });
            app.send_json(
                actor_client,
                Method::DELETE,
                &format!("/api/users/{alice}/two-step"),
                &body,
            )
            .await
        }
        Op::NewRecoveryCodes => {
            let body = json!({ "code": proof_text.unwrap_or_default() });
            app.send_json(
                actor_client,
                Method::POST,
                "/api/me/two-step/recovery-codes",
                &body,
            )
            .await
        }
        Op::ChangePassword => {
            let body =
                json!({ "current_password": PASSWORD, "new_password": "a new long password 2" });
            app.send_json(actor_client, Method::POST, "/api/me/password", &body)
                .await
        }
        Op::EndSessions => {
            let path = match actor {
                Actor::Holder => "/api/me/sessions".to_owned(),
                Actor::Administrator => format!("/api/users/{alice}/sessions"),
            };
            app.send_json(actor_client, Method::DELETE, &path, &json!({}))
                .await
        }
        Op::UnlockCodeStep => {
            app.send_json(
                actor_client,
                Method::POST,
                &format!("/api/users/{alice}/two-step/unlock"),
                &json!({}),
            )
            .await
        }
        Op::SetRole => {
            let body = json!({ "role": "administrator" });
            let path = format!("/api/users/{alice}/role");
            app.send_json(actor_client, Method::PUT, &path, &body).await
        }
        Op::DisableAccount => {
            let path = format!("/api/users/{alice}/disable");
            app.send_json(actor_client, Method::POST, &path, &json!({}))
                .await
        }
        Op::DeleteAccount => {
            let path = format!("/api/users/{alice}");
            app.send_json(actor_client, Method::DELETE, &path, &json!({}))
                .await
        }
    };
    answer(response).await
}

async fn answer(response: reqwest::Response) -> (u16, Option<String>) {
    let status = response.status().as_u16();
    let code = if status >= 400 {
        response
            .json::<Value>()
            .await
            .ok()
            .and_then(|body| body["code"].as_str().map(str::to_owned))
    } else {
        None
    };
    (status, code)
}

/// An answer: the status, and the error code for a refusal.
type Answer = (u16, Option<&'static str>);
/// One case of the table: (change, actor, recent?, proof, answer).
type Case = (Op, Actor, bool, Proof, Answer);

const DONE: Answer = (204, None);
const OK: Answer = (200, None);
const CONFIRM: Answer = (403, Some("reauthentication_required"));
const PROOF: Answer = (403, Some("proof_required"));
const WRONG_PROOF: Answer = (403, Some("proof_wrong"));
/// A code that is not one of the current phone: answered as at the code step.
const WRONG_CODE: Answer = (401, Some("code_wrong"));

/// The table, as cases: (change, actor, recent?, proof, answer).
#[tokio::test]
async fn every_change_answers_as_the_table_says() {
    use Actor::*;
    use Op::*;
    #[rustfmt::skip]
    let cases: &[Case] = &[
        // Moving to a new phone: proof of the current phone, not of the new one.
        (ReplaceApp,       Holder,        true,  Proof::None,         PROOF),
        (ReplaceApp,       Holder,        true,  Proof::NewPhone,     WRONG_CODE),
        (ReplaceApp,       Holder,        true,  Proof::Password,     WRONG_PROOF),
        (ReplaceApp,       Holder,        true,  Proof::CurrentPhone, DONE),
        (ReplaceApp,       Holder,        true,  Proof::RecoveryCode, DONE),
        (ReplaceApp,       Holder,        false, Proof::CurrentPhone, CONFIRM),
        // Removing 2-step: the holder with proof of the second factor; never the password alone.
        (RemoveTwoStep,    Holder,        true,  Proof::None,         PROOF),
        (RemoveTwoStep,    Holder,        true,  Proof::Password,     WRONG_PROOF),
        (RemoveTwoStep,    Holder,        true,  Proof::CurrentPhone, DONE),
        (RemoveTwoStep,    Holder,        true,  Proof::RecoveryCode, DONE),
        (RemoveTwoStep,    Holder,        false, Proof::CurrentPhone, CONFIRM),
        // An administrator: a recent sign-in of their own, no proof of alice's factor.
        (RemoveTwoStep,    Administrator, true,  Proof::None,         DONE),
        (RemoveTwoStep,    Administrator, false, Proof::None,         CONFIRM),
        (NewRecoveryCodes, Holder,        true,  Proof::CurrentPhone, OK),
        (NewRecoveryCodes, Holder,        false, Proof::CurrentPhone, CONFIRM),
        (ChangePassword,   Holder,        true,  Proof::None,         OK),
        (ChangePassword,   Holder,        false, Proof::None,         CONFIRM),
        (EndSessions,      Holder,        false, Proof::None,         CONFIRM),
        (EndSessions,      Administrator, true,  Proof::None,         OK),
        (EndSessions,      Administrator, false, Proof::None,         CONFIRM),
        (UnlockCodeStep,   Administrator, true,  Proof::None,         DONE),
        (UnlockCodeStep,   Administrator, false, Proof::None,         CONFIRM),
        // The admin page's operations: an administrator with a recent sign-in; never the
        // holder on their own account.
        (SetRole,          Administrator, true,  Proof::None,         DONE),
        (SetRole,          Administrator, false, Proof::None,         CONFIRM),
        (DisableAccount,   Administrator, true,  Proof::None,         DONE),
        (DisableAccount,   Administrator, false, Proof::None,         CONFIRM),
        (DeleteAccount,    Administrator, true,  Proof::None,         DONE),
        (DeleteAccount,    Administrator, false, Proof::None,         CONFIRM),
    ];
    let (world, alice_client, root) = world().await;
    let mut failures = Vec::new();
    for &(op, actor, recent, proof, expected) in cases {
        let fork = world.app.fork().await;
        let case = World {
            app: fork,
            alice: world.alice,
            secret: world.secret.clone(),
            recovery: world.recovery.clone(),
        };
        // Each case signs in afresh on the fork (the world's cookies name the world's
        // sessions, which the fork copied).
        let acting = client();
        match actor {
            Holder => {
                case.app.sign_in_pending(&acting, "alice", PASSWORD).await;
                case.app.clock.advance(STEP);
                let code = totp(&case.secret, case.app.now_step());
                case.app.verify_ok(&acting, &code).await;
            }
            Administrator => {
                case.app.sign_in(&acting, "root", "root password 1").await;
            }
        }
        case.app
            .clock
            .advance(if recent { STEP } else { RECENT + STEP });
        let got = run(&case, actor, &acting, op, proof).await;
        let got_ref = (got.0, got.1.as_deref());
        if got_ref != expected {
            failures.push(format!("{op:?} by {actor:?} (recent {recent}, {proof:?}): {got_ref:?}, expected {expected:?}"));
        }
    }
    drop((alice_client, root));
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// Attack 1: a session taken within the recent window cannot move the owner's 2-step
/// verification to the attacker's phone, and the owner's phone and recovery codes keep
/// working.
#[tokio::test]
async fn a_stolen_recent_session_cannot_move_two_step_to_another_phone() {
    let (world, alice_client, _root) = world().await;
    let app = &world.app;
    let (status, code) = run(
        &world,
        Actor::Holder,
        &alice_client,
        Op::ReplaceApp,
        Proof::NewPhone,
    )
    .await;
    assert_eq!((status, code.as_deref()), (401, Some("code_wrong")));
    let (status, code) = run(
        &world,
        Actor::Holder,
        &alice_client,
        Op::ReplaceApp,
        Proof::None,
    )
    .await;
    assert_eq!((status, code.as_deref()), (403, Some("proof_required")));
    // The owner still signs in with their phone.
    app.clock.advance(STEP);
    let owner = client();
    app.sign_in_pending(&owner, "alice", PASSWORD).await;
    app.verify_ok(&owner, &totp(&world.secret, app.now_step()))
        .await;
}

/// Attack 2: an administrator's stale session does not remove another user's 2-step
/// verification nor end their sessions.
#[tokio::test]
async fn an_administrators_stale_session_cannot_act_on_another_account() {
    let (world, alice_client, root) = world().await;
    let app = &world.app;
    app.clock.advance(RECENT + 2);
    expect_error(
        app.remove_device(&root, world.alice, None).await,
        StatusCode::FORBIDDEN,
        ErrorCode::ReauthenticationRequired,
    )
    .await;
    let ended = app
        .send_json(
            &root,
            Method::DELETE,
            &format!("/api/users/{}/sessions", world.alice),
            &json!({}),
        )
        .await;
    expect_error(
        ended,
        StatusCode::FORBIDDEN,
        ErrorCode::ReauthenticationRequired,
    )
    .await;
    assert_eq!(app.count_for("two_step_devices", world.alice).await, 1);
    assert_eq!(app.me(&alice_client).await.username, "alice");
    // After "Confirm it's you" the same administrator may.
    app.reauthenticate_ok(&root, "root password 1").await;
    assert_eq!(
        app.remove_device(&root, world.alice, None).await.status(),
        StatusCode::NO_CONTENT
    );
}

/// `GET /api/me` with exactly this `Cookie` header.
async fn me_with(app: &TestApp, cookie: &str) -> StatusCode {
    reqwest::Client::new()
        .get(app.url("/api/me"))
        .header("cookie", cookie)
        .send()
        .await
        .expect("request")
        .status()
}

/// The session token changes at "Confirm it's you" and at a password change: the old one
/// stops working.
#[tokio::test]
async fn the_token_changes_at_every_step_up() {
    let app = spawn_app_with(settings()).await;
    app.create_user("bob", PASSWORD, false).await;
    let (bob, jar) = client_with_jar();
    app.sign_in(&bob, "bob", PASSWORD).await;
    let first = app.cookie_in(&jar);
    app.reauthenticate_ok(&bob, PASSWORD).await;
    let second = app.cookie_in(&jar);
    assert_ne!(first, second, "Confirm it's you gives a new token");
    assert_eq!(me_with(&app, &first).await, StatusCode::UNAUTHORIZED);
    assert_eq!(app.me(&bob).await.username, "bob");

    let body = json!({ "current_password": PASSWORD, "new_password": "a new long password 2" });
    let changed = app
        .send_json(&bob, Method::POST, "/api/me/password", &body)
        .await;
    assert_eq!(changed.status(), StatusCode::OK);
    let third = app.cookie_in(&jar);
    assert_ne!(second, third, "a password change gives a new token");
    assert_eq!(me_with(&app, &second).await, StatusCode::UNAUTHORIZED);
    assert_eq!(app.me(&bob).await.username, "bob");
}

/// Known browsers: a cookie only after the whole sign-in, at most ten per account.
#[tokio::test]
async fn known_browsers_come_after_the_whole_sign_in_ten_at_most() {
    let app = spawn_app().await;
    let holder = client();
    let secret = app.enrolled_user(&holder, "alice", PASSWORD).await.secret;
    let alice = app.user_id("alice").await;
    app.clock.advance(STEP);
    // The password step of an account with 2-step gives no known-browser cookie.
    let response = app.sign_in_raw(&client(), "alice", PASSWORD).await;
    let cookies: Vec<String> = response
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .collect();
    assert!(
        cookies.iter().all(|c| !c.starts_with("twostep_browser=")),
        "{cookies:?}"
    );
    // (the holder's own sign-in, before 2-step was on, made one)
    assert_eq!(app.count_for("known_browsers", alice).await, 1);
    for _ in 0..12 {
        app.clock.advance(STEP);
        let browser = client();
        app.sign_in_pending(&browser, "alice", PASSWORD).await;
        app.verify_ok(&browser, &totp(&secret, app.now_step()))
            .await;
    }
    assert_eq!(app.count_for("known_browsers", alice).await, 10);
}

/// A new known browser always stays, even when the account's ten are newer by the clock (an
/// instance whose clock is behind the others'): the trigger that keeps ten orders the new row
/// first, so a cookie just issued never names a row the server has already ended.
#[tokio::test]
async fn a_new_known_browser_stays_when_the_others_look_newer() {
    let app = spawn_app().await;
    let bob = app.create_user("bob", PASSWORD, false).await;
    let start = app.now();
    app.clock.advance(60);
    collect_browser_cookies(&app, "bob", PASSWORD, 10).await;
    app.clock.set(start);
    let cookies = collect_browser_cookies(&app, "bob", PASSWORD, 1).await;
    assert_eq!(app.count_for("known_browsers", bob).await, 10);
    let newest = twostep::sessions::hash_token(&cookies[0]);
    let kept: i64 = sqlx::query("SELECT COUNT(*) AS n FROM known_browsers WHERE token_hash = $1")
        .bind(&newest)
        .fetch_one(&app.db)
        .await
        .expect("count")
        .try_get("n")
        .expect("n");
    assert_eq!(kept, 1, "the cookie issued last names no row");
}

/// The limit holds for known browsers added at the same moment, on two instances: 40 new
/// ones committed at once (each in a write transaction of its own, as a whole sign-in adds
/// one) leave ten. On PostgreSQL each transaction's trigger waits for the account's row, so
/// each sees the others' rows before it ends the oldest.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn known_browsers_added_at_once_on_two_instances_leave_ten() {
    let a = spawn_app().await;
    let b = a.another_instance().await;
    let bob = a.create_user("bob", PASSWORD, false).await;
    let now = a.now() as i64;
    let barrier = Arc::new(tokio::sync::Barrier::new(40));
    let mut tasks = Vec::new();
    for i in 0..40 {
        let db = if i % 2 == 0 {
            a.db.clone()
        } else {
            b.db.clone()
        };
        let barrier = barrier.clone();
        tasks.push(tokio::spawn(async move {
            barrier.wait().await;
            let mut tx = twostep::storage::db::begin(&db).await.expect("begin");
            sqlx::query(
                "INSERT INTO known_browsers (token_hash, user_id, created_at, last_used_at)
                 VALUES ($1, $2, $3, $3)",
            )
            .bind(format!("browser-{i}"))
            .bind(bob)
            .bind(now)
            .execute(&mut *tx)
            .await
            .expect("insert");
            tx.commit().await.expect("commit");
        }));
    }
    for task in tasks {
        task.await.expect("task");
    }
    assert_eq!(a.count_for("known_browsers", bob).await, 10);
}

/// Signs `name` in `count` times with fresh cookie jars; returns each browser's
/// known-browser cookie value.
async fn collect_browser_cookies(
    app: &TestApp,
    name: &str,
    password: &str,
    count: usize,
) -> Vec<String> {
    let mut cookies = Vec::new();
    for _ in 0..count {
        let response = app.sign_in_raw(&client(), name, password).await;
        assert_eq!(response.status(), StatusCode::OK);
        let cookie = response
            .headers()
            .get_all("set-cookie")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .find_map(|v| v.strip_prefix("twostep_browser="))
            .map(|v| v.split(';').next().unwrap().to_owned())
            .expect("a known-browser cookie");
        cookies.push(cookie);
    }
    cookies
}

async fn sign_in_with_cookie(
    app: &TestApp,
    cookie: &str,
    name: &str,
    password: &str,
) -> StatusCode {
    reqwest::Client::new()
        .post(app.url("/api/session"))
        .header("cookie", format!("twostep_browser={cookie}"))
        .json(&json!({ "username": name, "password": password }))
        .send()
        .await
        .expect("request")
        .status()
}

/// Attack 3b: cookies collected before a password change give no guesses against the new
/// password: they are no longer known, so guesses with them count on the name's counter.
#[tokio::test]
async fn old_browser_cookies_give_no_guesses_after_a_password_change() {
    let app = spawn_app().await;
    app.create_user("bob", PASSWORD, false).await;
    let cookies = collect_browser_cookies(&app, "bob", PASSWORD, 10).await;
    let owner = client();
    app.sign_in(&owner, "bob", PASSWORD).await;
    let body = json!({ "current_password": PASSWORD, "new_password": "a new long password 2" });
    let changed = app
        .send_json(&owner, Method::POST, "/api/me/password", &body)
        .await;
    assert_eq!(changed.status(), StatusCode::OK);
    assert_eq!(app.count("known_browsers").await, 0);
    let before = app.hasher.jobs_run();
    for round in 0..3 {
        for cookie in &cookies {
            let status = sign_in_with_cookie(&app, cookie, "bob", &format!("guess {round}")).await;
            assert_ne!(status, StatusCode::OK);
        }
    }
    let checked = app.hasher.jobs_run() - before;
    // The name's free tries, then it waits (the manual clock does not move).
    let free = u64::from(twostep::limits::policy::PASSWORD.free);
    assert!(
        checked <= free,
        "{checked} guesses checked with old cookies"
    );
}

/// Attack 3: hundreds of right-password sign-ins with every cookie a user could collect, at
/// once, while a bystander signs in: at most one of the flooding account's checks hashes at
/// a time, and the bystander gets in within two seconds.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flood_of_cookies_leaves_the_hashing_queue_to_others() {
    let app = spawn_app().await;
    app.create_user("mallory", "mallory password 1", false)
        .await;
    app.create_user("bystander", PASSWORD, false).await;
    let cookies = collect_browser_cookies(&app, "mallory", "mallory password 1", 30).await;
    assert_eq!(app.count("known_browsers").await, 10);
    let peak = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let done = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let watcher = {
        let (hasher, peak, done) = (app.hasher.clone(), peak.clone(), done.clone());
        tokio::spawn(async move {
            while !done.load(std::sync::atomic::Ordering::SeqCst) {
                peak.fetch_max(hasher.queued(), std::sync::atomic::Ordering::SeqCst);
                tokio::time::sleep(std::time::Duration::from_micros(200)).await;
            }
        })
    };
    // One client (one connection pool) for the whole flood, as one attacker's program would
    // use; the flood and the bystander start together.
    let http = reqwest::Client::new();
    let barrier = Arc::new(tokio::sync::Barrier::new(301));
    let mut flood = Vec::new();
    for i in 0..300 {
        let (http, url, cookie, barrier) = (
            http.clone(),
            app.url("/api/session"),
            cookies[i % cookies.len()].clone(),
            barrier.clone(),
        );
        flood.push(tokio::spawn(async move {
            barrier.wait().await;
            http.post(url)
                .header("cookie", format!("twostep_browser={cookie}"))
                .json(&json!({ "username": "mallory", "password": "mallory password 1" }))
                .send()
                .await
                .map(|r| r.status())
        }));
    }
    let bystander_client = client();
    barrier.wait().await;
    let started = std::time::Instant::now();
    let bystander = app
        .sign_in_raw(&bystander_client, "bystander", PASSWORD)
        .await;
    let took = started.elapsed();
    assert_eq!(bystander.status(), StatusCode::OK);
    assert!(
        took < std::time::Duration::from_secs(2),
        "the bystander waited {took:?}"
    );
    let mut statuses = Vec::new();
    for task in flood {
        statuses.push(task.await.unwrap().unwrap());
    }
    done.store(true, std::sync::atomic::Ordering::SeqCst);
    watcher.await.unwrap();
    assert!(!statuses.contains(&StatusCode::SERVICE_UNAVAILABLE));
    let peak = peak.load(std::sync::atomic::Ordering::SeqCst);
    // mallory's one check and the bystander's.
    assert!(peak <= 2, "{peak} password checks hashing at once");
}

/// Attack 4: a refusal for a full hashing queue is not counted as a wrong password.
#[tokio::test]
async fn a_full_queue_is_not_counted_as_a_wrong_password() {
    let app = spawn_app_with(Settings {
        hashing_queue: 0,
        ..Settings::default()
    })
    .await;
    app.create_user("bob", PASSWORD, false).await;
    for _ in 0..3 {
        let response = app.sign_in_raw(&client(), "bob", "a wrong password").await;
        assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    }
    let failures: Option<i64> =
        sqlx::query_scalar("SELECT failures FROM attempt_counters WHERE counter_key = $1")
            .bind(app.name_key("bob"))
            .fetch_optional(&app.db)
            .await
            .unwrap();
    assert_eq!(failures.unwrap_or(0), 0, "no failure counted");
}

/// Recovery codes renewed need a current code, not the password.
#[tokio::test]
async fn new_recovery_codes_need_the_app_not_the_password() {
    let (world, alice_client, _root) = world().await;
    let app = &world.app;
    let body = json!({ "code": PASSWORD });
    let response = app
        .send_json(
            &alice_client,
            Method::POST,
            "/api/me/two-step/recovery-codes",
            &body,
        )
        .await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let _: Value = ok_json(
        app.send_json(
            &alice_client,
            Method::POST,
            "/api/me/two-step/recovery-codes",
            &json!({ "code": totp(&world.secret, app.now_step() + 1) }),
        )
        .await,
    )
    .await;
}
