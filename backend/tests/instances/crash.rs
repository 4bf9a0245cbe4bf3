//! A server killed with SIGKILL in the middle of enrollments and sign-ins loses nothing it
//! acknowledged (SQLite, WAL); a server stopped with SIGTERM finishes requests in flight.

use crate::client::{self, Enrolled, browser, post, verify};
use crate::process::{ServerProcess, create_user};
use crate::totp;
use reqwest::StatusCode;
use serde_json::json;
use std::sync::{Arc, Mutex};
use std::time::Duration;

const PASSWORD: &str = "correct horse battery";
const USERS: usize = 24;
const WORKERS: usize = 6;

/// What the server acknowledged before it died.
#[derive(Default)]
struct Acknowledged {
    /// Enrolled users and their device.
    enrolled: Vec<(String, Enrolled)>,
    /// Users, the code the server accepted at sign-in and its step.
    accepted_codes: Vec<(String, String, u64)>,
    /// The signed-in sessions the server gave for them (each client keeps its cookie).
    sessions: Vec<(String, reqwest::Client)>,
}

async fn worker(base: String, names: Vec<String>, acks: Arc<Mutex<Acknowledged>>) {
    for name in names {
        let Ok(Some(enrolled)) = client::enroll(&base, &name, PASSWORD).await else {
            return;
        };
        acks.lock()
            .unwrap()
            .enrolled
            .push((name.clone(), enrolled.clone()));
        let session = browser();
        let Ok((StatusCode::OK, _)) = post(
            &session,
            format!("{base}/api/session"),
            json!({ "username": name, "password": PASSWORD }),
        )
        .await
        else {
            return;
        };
        let step = enrolled.last_step + 1;
        let code = totp::code(&enrolled.secret, step);
        if let Ok((StatusCode::OK, _)) = post(
            &session,
            format!("{base}/api/session/verify"),
            json!({ "code": code }),
        )
        .await
        {
            let mut acks = acks.lock().unwrap();
            acks.accepted_codes.push((name.clone(), code, step));
            acks.sessions.push((name.clone(), session));
        }
    }
}

#[tokio::test]
async fn sigkill_mid_stream_loses_nothing_acknowledged() {
    let data = tempfile::tempdir().unwrap();
    let names: Vec<String> = (0..USERS).map(|i| format!("crash{i}")).collect();
    create_user(
        data.path(),
        &[],
        "admin",
        "administrator password",
        &["--admin"],
    );
    for name in &names {
        create_user(data.path(), &[], name, PASSWORD, &[]);
    }
    let server = ServerProcess::start(data.path(), &[], &[]).await;
    let acks = Arc::new(Mutex::new(Acknowledged::default()));
    let mut tasks = Vec::new();
    for chunk in names.chunks(USERS / WORKERS) {
        tasks.push(tokio::spawn(worker(
            server.base.clone(),
            chunk.to_vec(),
            acks.clone(),
        )));
    }
    // Let some work be acknowledged, then kill the server without warning.
    let started = std::time::Instant::now();
    while acks.lock().unwrap().accepted_codes.len() < 3
        && started.elapsed() < Duration::from_secs(60)
    {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    server.signal("KILL");
    for task in tasks {
        task.await.unwrap();
    }
    drop(server);
    let acks = std::mem::take(&mut *acks.lock().unwrap());
    assert!(
        acks.accepted_codes.len() >= 3,
        "work was acknowledged before the kill"
    );
    assert!(
        acks.enrolled.len() < USERS,
        "the kill came in the middle of the stream"
    );

    let server = ServerProcess::start(data.path(), &[], &[]).await;
    let base = &server.base;
    // Every session acknowledged before the kill still works.
    for (name, session) in &acks.sessions {
        let (status, me) = client::get(session, format!("{base}/api/me"))
            .await
            .unwrap();
        assert_eq!(status, StatusCode::OK, "{name}'s session survived: {me}");
        assert_eq!(me["username"], name.as_str());
    }
    let url = format!(
        "sqlite://{}?mode=rw",
        data.path().join("twostep.db").display()
    );
    let db = twostep::storage::db::connect(&url).await.unwrap();
    let last_step = |name: String| {
        let db = db.clone();
        async move {
            let step: i64 = sqlx::query_scalar(
                "SELECT d.last_step FROM two_step_devices d JOIN users u ON u.id = d.user_id WHERE u.username = $1",
            )
            .bind(name)
            .fetch_one(&db)
            .await
            .unwrap();
            step as u64
        }
    };
    let now_step = || {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs()
            / 30
    };
    // A code the server already accepted is refused as "already used" while its step is still
    // in the ±1 window (after that any code of it is merely wrong).
    let refused_as_used = |step: u64, body: &serde_json::Value| {
        step + 1 < now_step()
            || body["message"]
                .as_str()
                .unwrap_or("")
                .contains("already used")
    };
    for (name, enrolled) in &acks.enrolled {
        // The device is there: the password step asks for a code...
        let session = browser();
        let status = client::sign_in(&session, base, name, PASSWORD)
            .await
            .unwrap();
        assert_eq!(status, "verification_required", "{name}'s device survived");
        // ...and the enrollment's last code is refused (its step was recorded).
        assert!(
            last_step(name.clone()).await >= enrolled.last_step,
            "{name}"
        );
        let code = totp::code(&enrolled.secret, enrolled.last_step);
        let (status, body) = verify(&session, base, &code).await;
        assert_eq!(
            status,
            StatusCode::UNAUTHORIZED,
            "{name}: enrollment code refused"
        );
        assert!(refused_as_used(enrolled.last_step, &body), "{name}: {body}");
    }
    for (name, code, step) in &acks.accepted_codes {
        // The accepted step was kept...
        assert!(last_step(name.clone()).await >= *step, "{name}: step lost");
        // ...so the code is refused as used.
        let session = browser();
        client::sign_in(&session, base, name, PASSWORD)
            .await
            .unwrap();
        let (status, body) = verify(&session, base, code).await;
        assert_eq!(
            status,
            StatusCode::UNAUTHORIZED,
            "{name}: an accepted code works again: {body}"
        );
        assert!(refused_as_used(*step, &body), "{name}: {body}");
    }
    drop(server);

    let check: (String,) = sqlx::query_as("PRAGMA integrity_check")
        .fetch_one(&db)
        .await
        .unwrap();
    assert_eq!(check.0, "ok");
}

#[tokio::test]
async fn sigterm_finishes_requests_in_flight() {
    // SIGTERM (systemd's stop) and SIGINT (Ctrl-C) alike.
    for signal in ["TERM", "INT"] {
        stops_gracefully_on(signal).await;
    }
}

async fn stops_gracefully_on(signal: &str) {
    let (data, mut server) = client::start_single(&[]).await;
    // More sign-ins than there are hashing threads (one per core), each for its own account
    // (one hash per account at a time) and each an Argon2 hash: some are still queued when
    // the server is told to stop.
    let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
    let names: Vec<String> = (0..cores * 6).map(|i| format!("user{i}")).collect();
    for name in &names {
        create_user(data.path(), &[], name, PASSWORD, &[]);
    }
    let mut requests = Vec::new();
    let started = Arc::new(tokio::sync::Barrier::new(names.len() + 1));
    for name in names {
        let client = browser();
        // Each client has its connection open first, so each request is sent at once.
        client::get(&client, server.url("/api/health"))
            .await
            .unwrap();
        let url = server.url("/api/session");
        let started = started.clone();
        requests.push(tokio::spawn(async move {
            started.wait().await;
            let answer = post(
                &client,
                url,
                json!({ "username": name, "password": PASSWORD }),
            )
            .await;
            (answer, std::time::Instant::now())
        }));
    }
    started.wait().await;
    // Give the requests time to reach the server (not to finish: each waits for a hash).
    tokio::time::sleep(Duration::from_millis(5)).await;
    server.signal(signal);
    let signalled = std::time::Instant::now();
    // It stops accepting at once: a new connection is refused while the others finish.
    tokio::time::sleep(Duration::from_millis(30)).await;
    let refused = reqwest::Client::new()
        .get(server.url("/api/health"))
        .timeout(Duration::from_secs(5))
        .send()
        .await;
    // Refused at connect: a listener still open but no longer accepting would complete the
    // handshake in its backlog, and the request would hang or be reset instead.
    assert!(
        refused.as_ref().is_err_and(reqwest::Error::is_connect),
        "a new connection after SIG{signal} was not refused at once: {refused:?}"
    );
    let mut after_signal = 0;
    for request in requests {
        let (answer, at) = request.await.unwrap();
        let (status, body) = answer.expect("the request in flight was answered");
        assert_eq!(status, StatusCode::OK, "{body}");
        if at > signalled {
            after_signal += 1;
        }
    }
    assert!(
        after_signal > 0,
        "SIG{signal}: no sign-in was still in flight when the signal came: the test proved nothing"
    );
    let exit = tokio::task::spawn_blocking(move || server.child.wait().map(|s| s.success()))
        .await
        .unwrap()
        .unwrap();
    assert!(exit, "the server exits cleanly after SIG{signal}");
}
