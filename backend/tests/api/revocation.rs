//! The session cache never outlives a revocation: a session ended, a device removed by an
//! administrator, a password changed, or a role taken away on instance A is refused on
//! instance B at its very next request, for many sessions in a row (on SQLite with B's cache
//! warm: B sees the revocation counter beside the database move, which the CLI bumps too;
//! on PostgreSQL B hears A through `LISTEN`/`NOTIFY` and trusts a hit only after a read
//! barrier, and while its listening connection is cut it bypasses its cache).

use crate::helpers::{TestApp, client, client_with_jar, ok_json, spawn_app, spawn_app_with, totp};
use crate::process::BINARY;
use reqwest::{Client, Method, StatusCode};
use serde_json::json;
use std::time::{Duration, Instant};
use twostep::app::Settings;
use twostep::config::SessionCacheMode;
use twostep_shared::account::SessionList;

const PASSWORD: &str = "correct horse";
/// Sessions revoked one after another in each test.
const ROUNDS: usize = 25;

async fn status(app: &TestApp, client: &Client, path: &str) -> StatusCode {
    app.get(client, path).await.status()
}

/// A client that keeps sending the cookie `jar` holds now, whatever the server answers
/// later (as a copy of the token would): a signed-out browser drops its cookie, so asking
/// with it would be refused whatever the server remembered.
fn copy_of(app: &TestApp, jar: &reqwest::cookie::Jar) -> Client {
    let mut headers = reqwest::header::HeaderMap::new();
    let cookie = app.cookie_in(jar).parse().expect("a header value");
    headers.insert(reqwest::header::COOKIE, cookie);
    Client::builder()
        .default_headers(headers)
        .build()
        .expect("HTTP client")
}

/// Two sessions of `name`, signed in on A (the one that acts, and another one, warmed on B),
/// each with a copy of its cookie.
struct TwoSessions {
    actor: Client,
    other: Client,
    actor_copy: Client,
    other_copy: Client,
}

async fn two_sessions(a: &TestApp, b: &TestApp, name: &str) -> TwoSessions {
    let ((actor, actor_jar), (other, other_jar)) = (client_with_jar(), client_with_jar());
    a.sign_in(&actor, name, PASSWORD).await;
    a.sign_in(&other, name, PASSWORD).await;
    // Twice: the first fills B's cache, the second is served from it.
    for _ in 0..2 {
        assert_eq!(status(b, &other, "/api/me").await, StatusCode::OK);
    }
    TwoSessions {
        actor_copy: copy_of(a, &actor_jar),
        other_copy: copy_of(a, &other_jar),
        actor,
        other,
    }
}

/// With the cache on (the default, also on PostgreSQL, where B's hit waits for a read
/// barrier: a notification of its own heard back, so the revocation's, committed before, has
/// been heard by then).
#[tokio::test]
async fn a_session_ended_on_one_instance_is_refused_on_the_other_at_once() {
    let a = spawn_app().await;
    let b = a.another_instance().await;
    until_hearing(&b, true).await;
    for round in 0..ROUNDS {
        let name = format!("user{round}");
        a.create_user(&name, PASSWORD, false).await;
        let TwoSessions {
            actor,
            other,
            actor_copy,
            ..
        } = two_sessions(&a, &b, &name).await;
        assert!(!b.state.revocations.cache.is_empty(), "B's cache is warm");
        let listed: SessionList = ok_json(a.get(&actor, "/api/me/sessions").await).await;
        let victim = listed.sessions.iter().find(|s| !s.current).unwrap();
        let path = format!("/api/me/sessions/{}", victim.id);
        let ended = a.send_json(&actor, Method::DELETE, &path, &json!({})).await;
        assert_eq!(ended.status(), StatusCode::NO_CONTENT);
        assert_eq!(
            status(&b, &other, "/api/me").await,
            StatusCode::UNAUTHORIZED,
            "round {round}"
        );
        // Signing out on A ends the acting session on B too.
        assert_eq!(status(&b, &actor, "/api/me").await, StatusCode::OK);
        let out = a
            .send_json(&actor, Method::DELETE, "/api/session", &json!({}))
            .await;
        assert_eq!(out.status(), StatusCode::NO_CONTENT);
        assert_eq!(
            status(&b, &actor_copy, "/api/me").await,
            StatusCode::UNAUTHORIZED
        );
    }
}

#[tokio::test]
async fn a_password_change_or_an_administrators_removal_on_one_instance_ends_sessions_on_the_other()
{
    let a = spawn_app().await;
    let b = a.another_instance().await;
    a.create_user("root", "root password", true).await;
    let admin = client();
    a.sign_in(&admin, "root", "root password").await;
    for round in 0..ROUNDS {
        let name = format!("user{round}");
        let holder = client();
        let secret = a.enrolled_user(&holder, &name, PASSWORD).await.secret;
        let id = a.user_id(&name).await;
        // A second session, signed in with a code and warmed on B.
        a.clock.advance(30);
        let other = client();
        a.sign_in_pending(&other, &name, PASSWORD).await;
        a.verify_ok(&other, &totp(&secret, a.now_step())).await;
        for _ in 0..2 {
            assert_eq!(status(&b, &other, "/api/me").await, StatusCode::OK);
        }
        if round % 2 == 0 {
            let body =
                json!({"current_password": PASSWORD, "new_password": "a brand new passphrase"});
            let changed = a
                .send_json(&holder, Method::POST, "/api/me/password", &body)
                .await;
            assert_eq!(changed.status(), StatusCode::OK, "round {round}");
        } else {
            // The administrator's own sign-in is no longer recent by now.
            a.reauthenticate_ok(&admin, "root password").await;
            let removed = a.remove_device(&admin, id, None).await;
            assert_eq!(removed.status(), StatusCode::NO_CONTENT, "round {round}");
        }
        assert_eq!(
            status(&b, &other, "/api/me").await,
            StatusCode::UNAUTHORIZED,
            "round {round}"
        );
    }
}

/// `twostep user remove-admin NAME` against the test's database.
fn remove_admin(app: &TestApp, name: &str) {
    let data = tempfile::tempdir().unwrap();
    let output = std::process::Command::new(BINARY)
        .arg("--data-dir")
        .arg(data.path())
        .args(["--database-url", &app.storage.url()])
        .args(["user", "remove-admin", name])
        .env("RUST_LOG", "warn")
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
}

#[tokio::test]
async fn a_role_taken_away_with_the_cli_is_refused_at_the_next_request() {
    let a = spawn_app().await;
    let b = a.another_instance().await;
    a.create_user("keeper", "keeper password", true).await;
    for round in 0..5 {
        let name = format!("admin{round}");
        a.create_user(&name, PASSWORD, true).await;
        let (on_a, on_b) = (client(), client());
        a.sign_in(&on_a, &name, PASSWORD).await;
        a.sign_in(&on_b, &name, PASSWORD).await;
        for _ in 0..2 {
            assert_eq!(status(&a, &on_a, "/api/audit").await, StatusCode::OK);
            assert_eq!(status(&b, &on_b, "/api/audit").await, StatusCode::OK);
        }
        remove_admin(&a, &name);
        assert_eq!(status(&a, &on_a, "/api/audit").await, StatusCode::FORBIDDEN);
        assert_eq!(status(&b, &on_b, "/api/audit").await, StatusCode::FORBIDDEN);
    }
}

/// Waits (at most 10 s) until B's cache does or does not hear revocations.
async fn until_hearing(b: &TestApp, hearing: bool) {
    let started = Instant::now();
    while b.state.revocations.cache.is_hearing() != hearing {
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "the listener did not become {hearing}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn on_postgresql_a_cut_listener_bypasses_the_cache_until_it_is_back() {
    let a = spawn_app().await;
    if !matches!(a.storage, crate::helpers::Storage::Postgres(_)) {
        return; // SQLite has no listener: the revocation counter is read at every lookup.
    }
    let b = a.another_instance().await;
    until_hearing(&b, true).await;
    for round in 0..ROUNDS {
        let name = format!("user{round}");
        a.create_user(&name, PASSWORD, false).await;
        let TwoSessions {
            actor,
            other,
            actor_copy,
            other_copy,
        } = two_sessions(&a, &b, &name).await;
        // Cut B's listening connection (as a network failure or a restart of PostgreSQL
        // would) and wait until B knows: its cache is bypassed and empty.
        sqlx::query(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity
             WHERE datname = current_database() AND query ILIKE 'LISTEN%'",
        )
        .execute(&a.db)
        .await
        .unwrap();
        until_hearing(&b, false).await;
        assert!(b.state.revocations.cache.is_empty());
        // Warmed while cut: served, but not cached (unless the listener came back meanwhile:
        // it reconnects a second after the cut).
        for _ in 0..2 {
            assert_eq!(status(&b, &other, "/api/me").await, StatusCode::OK);
        }
        let cache = &b.state.revocations.cache;
        assert!(
            cache.is_hearing() || cache.is_empty(),
            "round {round}: cached while cut"
        );
        let out = a
            .send_json(&other, Method::DELETE, "/api/session", &json!({}))
            .await;
        assert_eq!(out.status(), StatusCode::NO_CONTENT);
        assert_eq!(
            status(&b, &other_copy, "/api/me").await,
            StatusCode::UNAUTHORIZED,
            "round {round}, listener cut"
        );
        // Back: the cache is used again, and revocations are heard again, at B's very next
        // request (its hit waits for a read barrier).
        until_hearing(&b, true).await;
        for _ in 0..2 {
            assert_eq!(status(&b, &actor, "/api/me").await, StatusCode::OK);
        }
        assert!(!b.state.revocations.cache.is_empty());
        let out = a
            .send_json(&actor, Method::DELETE, "/api/session", &json!({}))
            .await;
        assert_eq!(out.status(), StatusCode::NO_CONTENT);
        assert_eq!(
            status(&b, &actor_copy, "/api/me").await,
            StatusCode::UNAUTHORIZED,
            "round {round}, listener back"
        );
    }
}

/// PostgreSQL: B's listener receives notifications but acts on none of them (held, as over a
/// connection cut that neither side has noticed yet, or a slow network), so B still believes
/// it hears. First B's cache is warmed while the listener is so cut, the password is changed
/// on A, and B refuses the stale session: its cached hit waits for a read barrier, which is
/// never heard, so B reads the database. Then the listener only lags: B's answer waits for
/// the barrier until the listener is released, and by then the revocation, committed before
/// the barrier's notification, has been heard. Without the barrier B answers 200 both times.
#[tokio::test]
async fn on_postgresql_the_read_barrier_refuses_a_stale_session_while_the_listener_lags() {
    let a = spawn_app().await;
    if !matches!(a.storage, crate::helpers::Storage::Postgres(_)) {
        return; // SQLite has no listener: the revocation counter is read at every lookup.
    }
    let b = a.another_instance().await;
    until_hearing(&b, true).await;
    let cache = &b.state.revocations.cache;

    // Cut: warmed while cut, revoked, asked.
    a.create_user("alice", PASSWORD, false).await;
    let (holder, other) = (client(), client());
    a.sign_in(&holder, "alice", PASSWORD).await;
    cache.hold_hearing(true);
    a.sign_in(&other, "alice", PASSWORD).await;
    assert_eq!(status(&b, &other, "/api/me").await, StatusCode::OK);
    assert!(!cache.is_empty(), "B's cache was warmed while cut");
    let body = json!({"current_password": PASSWORD, "new_password": "a brand new passphrase"});
    let changed = a
        .send_json(&holder, Method::POST, "/api/me/password", &body)
        .await;
    assert_eq!(changed.status(), StatusCode::OK);
    assert!(cache.is_hearing() && !cache.is_empty(), "B missed it");
    assert_eq!(
        status(&b, &other, "/api/me").await,
        StatusCode::UNAUTHORIZED,
        "listener cut"
    );
    cache.hold_hearing(false);

    // Lagging: warmed, held, revoked, asked, released while B waits.
    a.create_user("bob", PASSWORD, false).await;
    let TwoSessions {
        actor,
        other,
        other_copy,
        ..
    } = two_sessions(&a, &b, "bob").await;
    cache.hold_hearing(true);
    let out = a
        .send_json(&other, Method::DELETE, "/api/session", &json!({}))
        .await;
    assert_eq!(out.status(), StatusCode::NO_CONTENT);
    assert!(!cache.is_empty(), "B missed it");
    const LAG: Duration = Duration::from_millis(400);
    let asked = Instant::now();
    let (answer, ()) = tokio::join!(status(&b, &other_copy, "/api/me"), async {
        tokio::time::sleep(LAG).await;
        cache.hold_hearing(false);
    });
    let took = asked.elapsed();
    assert_eq!(answer, StatusCode::UNAUTHORIZED, "listener lagging");
    assert!(
        took >= LAG && took < twostep::sessions::revocation::ECHO_WAIT,
        "B waited for its barrier, heard after the revocation: {took:?}"
    );
    assert_eq!(status(&b, &actor, "/api/me").await, StatusCode::OK);
}

/// `(enabled, recovery codes left, locked)` as `GET /api/me` shows them on `app`.
async fn own_status(app: &TestApp, client: &Client) -> (bool, u32, bool) {
    let status = app
        .me(client)
        .await
        .two_step
        .expect("the holder sees the status");
    (status.enabled, status.recovery_codes_left, status.locked)
}

/// What `GET /api/me` says of 2-step verification is cached too; every change to it is seen
/// at the very next request on both instances, each of which had just served (and cached)
/// the status before. Both caches are on (`--session-cache on`; on PostgreSQL B's hits wait
/// for a read barrier).
#[tokio::test]
async fn the_two_step_status_shown_by_api_me_follows_each_change_at_the_next_request() {
    let a = crate::helpers::spawn_app_with(twostep::app::Settings {
        session_cache: twostep::config::SessionCacheMode::On,
        ..Default::default()
    })
    .await;
    let b = a.another_instance().await;
    a.create_user("root", "root password", true).await;
    let admin = client();
    a.sign_in(&admin, "root", "root password").await;
    a.create_user("alice", PASSWORD, false).await;
    let alice = a.user_id("alice").await;
    let holder = client();
    a.sign_in(&holder, "alice", PASSWORD).await;
    // Each step: the status before (served twice on each instance, so from the cache the
    // second time), the change, the status after on both at once.
    let warm = |expected: (bool, u32, bool)| {
        let (a, b, holder) = (&a, &b, &holder);
        async move {
            for _ in 0..2 {
                assert_eq!(own_status(a, holder).await, expected, "A before");
                assert_eq!(own_status(b, holder).await, expected, "B before");
            }
        }
    };
    let seen = |expected: (bool, u32, bool), what: &'static str| {
        let (a, b, holder) = (&a, &b, &holder);
        async move {
            assert_eq!(own_status(a, holder).await, expected, "A after {what}");
            assert_eq!(own_status(b, holder).await, expected, "B after {what}");
        }
    };

    warm((false, 0, false)).await;
    let enrolled = a.setup_and_confirm(&holder).await;
    seen((true, 10, false), "the device was set up").await;

    warm((true, 10, false)).await;
    let other = client();
    a.sign_in_pending(&other, "alice", PASSWORD).await;
    a.verify_ok(&other, &enrolled.recovery_codes[0]).await;
    seen((true, 9, false), "a recovery code was spent").await;

    warm((true, 9, false)).await;
    a.clock.advance(30);
    let body = json!({"code": totp(&enrolled.secret, a.now_step())});
    let renewed = a
        .send_json(
            &holder,
            Method::POST,
            "/api/me/two-step/recovery-codes",
            &body,
        )
        .await;
    assert_eq!(renewed.status(), StatusCode::OK);
    seen((true, 10, false), "new recovery codes").await;

    // 99 failures long ago (the status does not show failures, only the lock): the next
    // wrong code locks the code step.
    sqlx::query(
        "UPDATE two_step_devices SET failed_attempts = 99, last_failed_at = 0 WHERE user_id = $1",
    )
    .bind(alice)
    .execute(&a.db)
    .await
    .unwrap();
    warm((true, 10, false)).await;
    a.clock.advance(30);
    let locking = client();
    a.sign_in_pending(&locking, "alice", PASSWORD).await;
    let wrong = crate::helpers::wrong_code(&enrolled.secret, a.now_step(), 40);
    assert_eq!(
        a.verify(&locking, &wrong).await.status(),
        StatusCode::LOCKED
    );
    seen((true, 10, true), "the code step locked").await;

    warm((true, 10, true)).await;
    assert_eq!(
        a.unlock(&admin, alice).await.status(),
        StatusCode::NO_CONTENT
    );
    seen((true, 10, false), "an administrator unlocked it").await;

    warm((true, 10, false)).await;
    a.clock.advance(30);
    let code = totp(&enrolled.secret, a.now_step());
    let removed = a.remove_device(&holder, alice, Some(&code)).await;
    assert_eq!(removed.status(), StatusCode::NO_CONTENT);
    seen((false, 0, false), "the holder removed the device").await;
}

/// `--session-cache off` is off: a session deleted behind the server's back (straight in the
/// database, so no revocation is announced) is refused at the next request. With the cache on
/// the same deletion goes unseen, which is why every writer revokes, and what shows that the
/// test can tell the two apart.
#[tokio::test]
async fn with_the_session_cache_off_every_request_reads_the_database() {
    for (mode, after) in [
        (SessionCacheMode::Off, StatusCode::UNAUTHORIZED),
        (SessionCacheMode::On, StatusCode::OK),
    ] {
        let app = spawn_app_with(Settings {
            session_cache: mode,
            ..Settings::default()
        })
        .await;
        if mode == SessionCacheMode::On {
            until_hearing(&app, true).await;
        }
        app.create_user("alice", PASSWORD, false).await;
        let browser = client();
        app.sign_in(&browser, "alice", PASSWORD).await;
        for _ in 0..2 {
            assert_eq!(status(&app, &browser, "/api/me").await, StatusCode::OK);
        }
        assert_eq!(
            app.state.revocations.cache.is_empty(),
            mode == SessionCacheMode::Off,
            "{mode:?}"
        );
        sqlx::query("DELETE FROM sessions")
            .execute(&app.db)
            .await
            .unwrap();
        assert_eq!(status(&app, &browser, "/api/me").await, after, "{mode:?}");
    }
}
