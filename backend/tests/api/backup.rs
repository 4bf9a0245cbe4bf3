//! `twostep backup` and `twostep restore` of the real binary: a backup taken while a server
//! signs people in and enrolls their devices holds every enrollment acknowledged before it
//! started; a server on the restored copy (same data folder, so the same key) signs those
//! people in with their codes; a restore is refused while a server runs, and a server does
//! not start during a restore.

use crate::helpers::{base32_decode, totp};
use crate::process::{ServerProcess, create_user};
use reqwest::{Client, StatusCode};
use serde_json::{Value, json};
use std::path::Path;
use std::process::{Output, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

const PASSWORD: &str = "correct horse battery";
const USERS: usize = 12;

/// Runs `twostep --data-dir DIR ARGS…`.
async fn twostep(data_dir: &Path, args: &[&str]) -> Output {
    tokio::process::Command::new(env!("CARGO_BIN_EXE_twostep"))
        .arg("--data-dir")
        .arg(data_dir)
        .args(args)
        .env_remove("TWOSTEP_DATA_DIR")
        .env_remove("DATABASE_URL")
        .env_remove("TWOSTEP_SECRET_KEY")
        .env("RUST_LOG", "warn")
        .stdin(Stdio::null())
        .output()
        .await
        .expect("run the twostep binary")
}

fn succeeded(output: &Output, expected: &str) {
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "stdout {stdout}\nstderr {stderr}");
    assert!(
        stdout.contains(expected),
        "stdout {stdout}\nstderr {stderr}"
    );
}

fn failed(output: &Output, expected: &str) {
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "stderr {stderr}");
    assert!(stderr.contains(expected), "stderr {stderr}");
}

fn now_step() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("time")
        .as_secs()
        / 30
}

fn browser() -> Client {
    Client::builder()
        .cookie_store(true)
        .build()
        .expect("HTTP client")
}

async fn post(client: &Client, url: String, body: Value) -> (StatusCode, Value) {
    let response = client.post(url).json(&body).send().await.expect("request");
    let status = response.status();
    (status, response.json().await.unwrap_or(Value::Null))
}

/// An enrollment the server acknowledged, and when.
struct Enrolled {
    name: String,
    secret: Vec<u8>,
    last_step: u64,
    acknowledged: Instant,
}

/// Signs `name` in, sets up and confirms a device with the codes of the previous and the
/// current step.
async fn enroll(base: &str, name: &str) -> Enrolled {
    let client = browser();
    let (status, body) = post(
        &client,
        format!("{base}/api/session"),
        json!({ "username": name, "password": PASSWORD }),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, setup) = post(&client, format!("{base}/api/me/two-step/setup"), json!({})).await;
    assert_eq!(status, StatusCode::OK, "{setup}");
    let secret = base32_decode(setup["secret"].as_str().expect("secret"));
    let step = now_step();
    let (status, body) = post(
        &client,
        format!("{base}/api/me/two-step/confirm"),
        json!({ "code1": totp(&secret, step - 1), "code2": totp(&secret, step) }),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{name}: {body}");
    Enrolled {
        name: name.to_owned(),
        secret,
        last_step: step,
        acknowledged: Instant::now(),
    }
}

#[tokio::test]
async fn a_backup_taken_under_writes_restores_every_acknowledged_enrollment() {
    let data = tempfile::tempdir().expect("temporary folder");
    let elsewhere = tempfile::tempdir().expect("temporary folder");
    let copy = elsewhere.path().join("twostep-backup.db");
    let copy_arg = copy.to_str().expect("UTF-8 path");
    create_user(
        data.path(),
        &[],
        "admin",
        "administrator password",
        &["--admin"],
    );
    let names: Vec<String> = (0..USERS).map(|i| format!("user{i}")).collect();
    for name in &names {
        create_user(data.path(), &[], name, PASSWORD, &[]);
    }
    let server = ServerProcess::start(data.path(), &[], &[]).await;

    // Two people at a time enroll, one after another, while the backup runs.
    let done = Arc::new(Mutex::new(Vec::new()));
    let workers: Vec<_> = names
        .chunks(USERS / 2)
        .map(|chunk| {
            let (base, chunk, done) = (server.base.clone(), chunk.to_vec(), done.clone());
            tokio::spawn(async move {
                for name in chunk {
                    let enrolled = enroll(&base, &name).await;
                    done.lock().unwrap().push(enrolled);
                }
            })
        })
        .collect();
    let waiting = Instant::now();
    while done.lock().unwrap().len() < 4 && waiting.elapsed() < Duration::from_secs(60) {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let started = Instant::now();
    let backup = twostep(data.path(), &["backup", copy_arg]).await;
    succeeded(&backup, "integrity check ok");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&copy)
            .expect("the copy")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600, "{mode:o}");
    }
    failed(
        &twostep(data.path(), &["restore", copy_arg]).await,
        "stop it before restoring",
    );
    for worker in workers {
        worker.await.expect("worker");
    }
    drop(server);

    let done = std::mem::take(&mut *done.lock().unwrap());
    let before: Vec<&Enrolled> = done.iter().filter(|e| e.acknowledged < started).collect();
    assert!(
        before.len() >= 4,
        "enrollments acknowledged before the backup"
    );
    failed(
        &twostep(data.path(), &["backup", copy_arg]).await,
        "already exists",
    );

    succeeded(
        &twostep(data.path(), &["restore", copy_arg]).await,
        "the previous database is kept as",
    );
    let kept: Vec<String> = std::fs::read_dir(data.path())
        .expect("list the data folder")
        .map(|entry| {
            entry
                .expect("entry")
                .file_name()
                .to_string_lossy()
                .into_owned()
        })
        .filter(|name| name.starts_with("twostep.db.before-restore-"))
        .collect();
    assert!(!kept.is_empty(), "the old database is kept aside");
    assert!(!data.path().join("twostep.db-wal").exists());
    assert!(!data.path().join("twostep.db-shm").exists());

    let server = ServerProcess::start(data.path(), &[], &[]).await;
    for enrolled in before {
        let client = browser();
        let (status, body) = post(
            &client,
            server.url("/api/session"),
            json!({ "username": enrolled.name, "password": PASSWORD }),
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(body["status"], "verification_required", "{}", enrolled.name);
        let step = now_step().max(enrolled.last_step + 1);
        let (status, body) = post(
            &client,
            server.url("/api/session/verify"),
            json!({ "code": totp(&enrolled.secret, step) }),
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{}: {body}", enrolled.name);
    }
    let url = format!(
        "sqlite://{}?mode=ro",
        data.path().join("twostep.db").display()
    );
    sqlx::any::install_default_drivers();
    let db = sqlx::AnyPool::connect(&url)
        .await
        .expect("open the restored database");
    let check: (String,) = sqlx::query_as("PRAGMA integrity_check")
        .fetch_one(&db)
        .await
        .expect("integrity check");
    assert_eq!(check.0, "ok");
}

#[tokio::test]
async fn backup_and_restore_refuse_postgresql_and_files_that_are_not_a_database() {
    let data = tempfile::tempdir().expect("temporary folder");
    let postgres = ["--database-url", "postgres://twostep@127.0.0.1:1/twostep"];
    let with = |command: &'static str| {
        let mut args = postgres.to_vec();
        args.extend([command, "copy.db"]);
        args
    };
    failed(&twostep(data.path(), &with("backup")).await, "pg_dump");
    failed(&twostep(data.path(), &with("restore")).await, "pg_restore");
    failed(
        &twostep(data.path(), &["backup", "copy.db"]).await,
        "there is no database",
    );
    let junk = data.path().join("junk.db");
    std::fs::write(&junk, "not a database").expect("write a file");
    failed(
        &twostep(data.path(), &["restore", junk.to_str().expect("UTF-8")]).await,
        "is not a sound SQLite database",
    );
    // A sound SQLite file that is not a twostep database.
    let other = data.path().join("other.db");
    sqlx::any::install_default_drivers();
    let db = sqlx::AnyPool::connect(&format!("sqlite://{}?mode=rwc", other.display()))
        .await
        .expect("make a SQLite file");
    sqlx::query("CREATE TABLE notes (body TEXT)")
        .execute(&db)
        .await
        .expect("a table");
    db.close().await;
    failed(
        &twostep(data.path(), &["restore", other.to_str().expect("UTF-8")]).await,
        "is a SQLite database, but not one of twostep",
    );
    assert!(!data.path().join("twostep.db").exists(), "nothing restored");
}

/// What the backup does not hold is gone after the restore: a device enrolled after the
/// backup no longer asks for a code, while one enrolled before it still does.
#[tokio::test]
async fn an_enrollment_made_after_the_backup_is_gone_after_the_restore() {
    let data = tempfile::tempdir().expect("temporary folder");
    let elsewhere = tempfile::tempdir().expect("temporary folder");
    let copy = elsewhere.path().join("backup.db");
    let copy_arg = copy.to_str().expect("UTF-8 path");
    for name in ["early", "late"] {
        create_user(data.path(), &[], name, PASSWORD, &[]);
    }
    let server = ServerProcess::start(data.path(), &[], &[]).await;
    enroll(&server.base, "early").await;
    succeeded(
        &twostep(data.path(), &["backup", copy_arg]).await,
        "integrity check ok",
    );
    enroll(&server.base, "late").await;
    drop(server);
    succeeded(
        &twostep(data.path(), &["restore", copy_arg]).await,
        "restored",
    );
    let server = ServerProcess::start(data.path(), &[], &[]).await;
    for (name, expected) in [("early", "verification_required"), ("late", "signed_in")] {
        let (status, body) = post(
            &browser(),
            server.url("/api/session"),
            json!({ "username": name, "password": PASSWORD }),
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(body["status"], expected, "{name}");
    }
}

/// A server does not start while a restore holds the database (the test takes the restore's
/// lock, as `twostep restore` does while it copies): it says why and exits. Once the restore
/// is done it starts.
#[tokio::test]
async fn a_server_does_not_start_during_a_restore() {
    let data = tempfile::tempdir().expect("temporary folder");
    create_user(data.path(), &[], "admin", PASSWORD, &["--admin"]);
    let restore = twostep::storage::in_use::for_restore(&data.path().join("twostep.db"))
        .expect("the restore's lock");
    let serve = tokio::process::Command::new(env!("CARGO_BIN_EXE_twostep"))
        .arg("--data-dir")
        .arg(data.path())
        .args(["serve", "--addr", "127.0.0.1:0"])
        .env_remove("DATABASE_URL")
        .env("RUST_LOG", "warn")
        .stdin(Stdio::null())
        .kill_on_drop(true)
        .output();
    let refused = tokio::time::timeout(Duration::from_secs(30), serve)
        .await
        .expect("the server started during a restore")
        .expect("run the twostep binary");
    failed(&refused, "a restore of");
    drop(restore);
    let server = ServerProcess::start(data.path(), &[], &[]).await;
    let health = reqwest::get(server.url("/api/health"))
        .await
        .expect("health");
    assert_eq!(health.status(), StatusCode::OK);
}
