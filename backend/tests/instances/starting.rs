//! A starting server answers nothing until its migrations have run: it opens its port only
//! after them, so a proxy's health check is refused rather than answered by a server whose
//! database is not ready.

use crate::process::{BINARY, ServerProcess};
use reqwest::StatusCode;
use sqlx::Connection;
use sqlx::migrate::Migrate;
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// An empty database on the test cluster (nothing migrated yet), and its URL.
async fn empty_database() -> String {
    let base = std::env::var("TWOSTEP_TEST_POSTGRES_URL").expect(
        "TWOSTEP_TEST_POSTGRES_URL is not set: run the tests with `cargo xtask test`, which starts PostgreSQL",
    );
    let mut admin = sqlx::postgres::PgConnection::connect(&base)
        .await
        .expect("connect to PostgreSQL");
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos();
    let name = format!("twostep_starting_{}_{nanos}", std::process::id());
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
        .execute(&mut admin)
        .await
        .expect("create a database");
    let (server, _) = base.rsplit_once('/').expect("a database name in the URL");
    format!("{server}/{name}")
}

/// While its migrations run (here: wait for the migration lock, which the test holds as an
/// instance that is migrating would) the server's port refuses connections, however long it
/// takes; once they are done it answers.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nothing_answers_while_the_migrations_run() {
    let url = empty_database().await;
    let mut holder = sqlx::postgres::PgConnection::connect(&url).await.unwrap();
    holder.lock().await.expect("the migration lock");
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .expect("a free port")
        .port();
    let data = tempfile::tempdir().unwrap();
    let mut child = Command::new(BINARY)
        .arg("--data-dir")
        .arg(data.path())
        .args(["--database-url", &url, "serve", "--addr"])
        .arg(format!("127.0.0.1:{port}"))
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .spawn()
        .expect("start twostep serve");
    let stdout = child.stdout.take().expect("stdout");
    let mut server = ServerProcess {
        child,
        base: format!("http://127.0.0.1:{port}"),
    };

    // The server is migrating: it waits for the lock.
    let started = Instant::now();
    loop {
        let waiting: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted
             AND database = (SELECT oid FROM pg_database WHERE datname = current_database())",
        )
        .fetch_one(&mut holder)
        .await
        .unwrap();
        if waiting > 0 {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "the server never reached its migrations"
        );
        assert!(
            server.child.try_wait().unwrap().is_none(),
            "the server ended"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    for _ in 0..5 {
        let connected = tokio::net::TcpStream::connect(("127.0.0.1", port)).await;
        assert!(
            connected
                .as_ref()
                .is_err_and(|e| e.kind() == std::io::ErrorKind::ConnectionRefused),
            "a connection during the migrations was not refused: {connected:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(
        server.child.try_wait().unwrap().is_none(),
        "the server ended"
    );

    // Done migrating: it listens, and answers.
    holder.unlock().await.unwrap();
    let listening = tokio::task::spawn_blocking(move || {
        let mut lines = BufReader::new(stdout).lines();
        let found =
            lines.find_map(|line| line.ok().filter(|l| l.starts_with("twostep listening on")));
        std::thread::spawn(move || lines.for_each(drop));
        found
    })
    .await
    .unwrap();
    assert!(listening.is_some(), "the server did not start listening");
    let health = reqwest::get(server.url("/api/health")).await.unwrap();
    assert_eq!(health.status(), StatusCode::OK);
    let _ = server.child.kill();
}
