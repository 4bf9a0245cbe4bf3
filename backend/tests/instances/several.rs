//! Two instances on one PostgreSQL database: sessions, replay protection and throttling hold
//! across them.

use crate::client::{self, Enrolled, browser, get, verify};
use crate::process::{ServerProcess, create_user};
use crate::totp;
use base64::Engine as _;
use reqwest::StatusCode;
use sqlx::AnyPool;

const PASSWORD: &str = "correct horse battery";

/// A fresh database on the test cluster, and its URL.
pub async fn fresh_database() -> (String, AnyPool) {
    let base = std::env::var("TWOSTEP_TEST_POSTGRES_URL").expect(
        "TWOSTEP_TEST_POSTGRES_URL is not set: run the tests with `cargo xtask test`, which starts PostgreSQL",
    );
    sqlx::any::install_default_drivers();
    let admin = AnyPool::connect(&base)
        .await
        .expect("connect to PostgreSQL");
    let name = format!("twostep_instances_{}", rand_suffix());
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
        .execute(&admin)
        .await
        .expect("create a database");
    let url = match base.rsplit_once('/') {
        Some((server, _)) => format!("{server}/{name}"),
        None => panic!("TWOSTEP_TEST_POSTGRES_URL needs a database name"),
    };
    let pool = twostep::storage::db::connect(&url)
        .await
        .expect("migrate the database");
    (url, pool)
}

fn rand_suffix() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos();
    format!("{}_{nanos}", std::process::id())
}

/// Two servers on the same database with the same server key.
struct Pair {
    a: ServerProcess,
    b: ServerProcess,
    db: AnyPool,
    url: String,
    key: String,
    _dirs: (tempfile::TempDir, tempfile::TempDir),
}

impl Pair {
    async fn start(users: &[&str]) -> Self {
        let (url, db) = fresh_database().await;
        let key = base64::engine::general_purpose::STANDARD.encode([7u8; 32]);
        let (dir_a, dir_b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        let envs = [
            ("DATABASE_URL", url.as_str()),
            ("TWOSTEP_SECRET_KEY", key.as_str()),
        ];
        create_user(
            dir_a.path(),
            &envs,
            "admin",
            "administrator password",
            &["--admin"],
        );
        for name in users {
            create_user(dir_a.path(), &envs, name, PASSWORD, &[]);
        }
        let a = ServerProcess::start(dir_a.path(), &envs, &[]).await;
        let b = ServerProcess::start(dir_b.path(), &envs, &[]).await;
        Self {
            a,
            b,
            db,
            url,
            key,
            _dirs: (dir_a, dir_b),
        }
    }
}

#[tokio::test]
async fn sessions_codes_and_failures_are_shared_between_instances() {
    let pair = Pair::start(&["alice"]).await;
    let (a, b) = (&pair.a.base, &pair.b.base);
    assert!(!pair.url.is_empty() && !pair.key.is_empty());
    let Enrolled { secret, last_step } = client::enroll(a, "alice", PASSWORD)
        .await
        .unwrap()
        .expect("enrolled on A");

    // Signed in on B with the next code; that session works on A too.
    let on_b = browser();
    assert_eq!(
        client::sign_in(&on_b, b, "alice", PASSWORD).await.unwrap(),
        "verification_required"
    );
    let next = totp::code(&secret, last_step + 1);
    let (status, body) = verify(&on_b, b, &next).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let cookie_jar_session = get(&on_b, format!("{a}/api/me")).await.unwrap();
    // The cookie is scoped to 127.0.0.1, so the same client sends it to A as well.
    assert_eq!(
        cookie_jar_session.0,
        StatusCode::OK,
        "B's session works on A"
    );
    assert_eq!(cookie_jar_session.1["username"], "alice");

    // The code accepted by B is refused by A.
    let on_a = browser();
    client::sign_in(&on_a, a, "alice", PASSWORD).await.unwrap();
    let (status, body) = verify(&on_a, a, &next).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    assert_eq!(body["code"], "code_wrong");
    assert!(
        body["message"]
            .as_str()
            .unwrap_or("")
            .contains("already used"),
        "refused as a replay, not as a wrong code: {body}"
    );

    // Wrong codes counted on A throttle B: that was failure 1; four more on A, then B says 429.
    let wrong = if totp::code(&secret, last_step + 2) == "000000" {
        "111111"
    } else {
        "000000"
    };
    for _ in 0..4 {
        let (status, _) = verify(&on_a, a, wrong).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
    }
    let on_b2 = browser();
    client::sign_in(&on_b2, b, "alice", PASSWORD).await.unwrap();
    let (status, body) = verify(&on_b2, b, wrong).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{body}");

    // A lock reached through A holds on B.
    sqlx::query("UPDATE two_step_devices SET failed_attempts = 99, last_failed_at = 0")
        .execute(&pair.db)
        .await
        .unwrap();
    let (status, _) = verify(&on_a, a, wrong).await;
    assert_eq!(status, StatusCode::LOCKED);
    let (status, body) = verify(&on_b2, b, &totp::code(&secret, totp::now_step())).await;
    assert_eq!(status, StatusCode::LOCKED, "{body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_same_code_sent_to_both_instances_at_once_is_accepted_at_most_once() {
    const ROUNDS: usize = 30;
    const PER_INSTANCE: usize = 8;
    let names: Vec<String> = (0..ROUNDS).map(|i| format!("user{i}")).collect();
    let refs: Vec<&str> = names.iter().map(String::as_str).collect();
    let pair = Pair::start(&refs).await;
    let (a, b) = (&pair.a.base, &pair.b.base);
    for name in &names {
        let enrolled = client::enroll(a, name, PASSWORD)
            .await
            .unwrap()
            .expect("enrolled");
        // Eight sessions waiting for their code on each instance (signed in one after the
        // other: one password check per account at a time).
        let mut waiting = Vec::new();
        for i in 0..2 * PER_INSTANCE {
            let base = if i % 2 == 0 { a } else { b };
            let session = browser();
            client::sign_in(&session, base, name, PASSWORD)
                .await
                .unwrap();
            waiting.push((session, base.clone()));
        }
        let code = totp::code(&enrolled.secret, enrolled.last_step + 1);
        let barrier = std::sync::Arc::new(tokio::sync::Barrier::new(waiting.len()));
        let tasks: Vec<_> = waiting
            .into_iter()
            .map(|(session, base)| {
                let (code, barrier) = (code.clone(), barrier.clone());
                tokio::spawn(async move {
                    barrier.wait().await;
                    verify(&session, &base, &code).await
                })
            })
            .collect();
        let mut answers = Vec::new();
        for task in tasks {
            answers.push(task.await.unwrap());
        }
        let accepted = answers.iter().filter(|(s, _)| *s == StatusCode::OK).count();
        assert_eq!(accepted, 1, "{name}: {answers:?}");
        // Every other answer refuses: as a replay ("already used"), or as too many attempts
        // when the burst used up the free tries before the winner cleared them. None is
        // merely "wrong" and none succeeds.
        for (status, body) in answers.iter().filter(|(s, _)| *s != StatusCode::OK) {
            let replay = *status == StatusCode::UNAUTHORIZED
                && body["message"]
                    .as_str()
                    .unwrap_or("")
                    .contains("already used");
            let throttled =
                *status == StatusCode::TOO_MANY_REQUESTS && body["code"] == "too_many_attempts";
            assert!(
                replay || throttled,
                "{name}: a losing answer: {status} {body}"
            );
        }
    }
}
