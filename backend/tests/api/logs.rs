//! The real binary's logs with `--log-format json` at `RUST_LOG=debug`: every line on standard
//! error is a JSON object, the lines of a request carry the request id its response names in
//! `x-request-id`, and no line holds a password, a code, the TOTP secret or a session token.

use crate::helpers::{base32_decode, totp};
use crate::process::{BINARY, create_user};
use reqwest::{Client, StatusCode};
use serde_json::{Value, json};
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{SystemTime, UNIX_EPOCH};

const PASSWORD: &str = "alice's secret password";
const WRONG_PASSWORD: &str = "a wrong guess at it";

fn now_step() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("time")
        .as_secs()
        / 30
}

/// Posts JSON; returns the status, the `x-request-id` header, the `Set-Cookie` value and the body.
async fn post(client: &Client, url: String, body: Value) -> (StatusCode, String, String, Value) {
    let response = client.post(url).json(&body).send().await.expect("request");
    let header = |name| {
        response
            .headers()
            .get(name)
            .map(|v| v.to_str().expect("ASCII").to_owned())
            .unwrap_or_default()
    };
    let (id, cookie) = (header("x-request-id"), header("set-cookie"));
    let status = response.status();
    (
        status,
        id,
        cookie,
        response.json().await.unwrap_or(Value::Null),
    )
}

/// The value of the session cookie in a `Set-Cookie` header.
fn token(set_cookie: &str) -> String {
    let (_, rest) = set_cookie.split_once('=').expect("a cookie");
    rest.split(';').next().expect("a value").to_owned()
}

#[tokio::test]
async fn json_logs_carry_request_ids_and_no_secrets() {
    let data = tempfile::tempdir().expect("temporary folder");
    create_user(
        data.path(),
        &[],
        "admin",
        "administrator password",
        &["--admin"],
    );
    create_user(data.path(), &[], "alice", PASSWORD, &[]);
    let mut child = Command::new(BINARY)
        .arg("--data-dir")
        .arg(data.path())
        .args(["--log-format", "json", "serve", "--addr", "127.0.0.1:0"])
        .env("RUST_LOG", "debug")
        .env_remove("TWOSTEP_LOG_FORMAT")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start twostep serve");
    let stdout = child.stdout.take().expect("stdout");
    let stderr = child.stderr.take().expect("stderr");
    let logs = std::thread::spawn(move || {
        BufReader::new(stderr)
            .lines()
            .map(|line| line.expect("UTF-8 log line"))
            .collect::<Vec<_>>()
    });
    let base = tokio::task::spawn_blocking(move || {
        let mut lines = BufReader::new(stdout).lines();
        let base = lines.find_map(|line| {
            line.ok()
                .and_then(|l| l.strip_prefix("twostep listening on ").map(str::to_owned))
        });
        std::thread::spawn(move || lines.for_each(drop));
        base
    })
    .await
    .expect("reader")
    .expect("the server printed its address");

    let mut secrets = vec![PASSWORD.to_owned(), WRONG_PASSWORD.to_owned()];
    let mut request_ids = Vec::new();
    let url = |path: &str| format!("{base}{path}");
    let alice = Client::builder().cookie_store(true).build().unwrap();
    let sign_in = json!({ "username": "alice", "password": PASSWORD });
    let (status, id, cookie, _) = post(&alice, url("/api/session"), sign_in.clone()).await;
    assert_eq!(status, StatusCode::OK);
    request_ids.push(id);
    secrets.push(token(&cookie));
    let (status, _, _, setup) = post(&alice, url("/api/me/two-step/setup"), json!({})).await;
    assert_eq!(status, StatusCode::OK, "{setup}");
    let secret_text = setup["secret"].as_str().expect("secret").to_owned();
    let secret = base32_decode(&secret_text);
    secrets.push(secret_text);
    let step = now_step();
    let (code1, code2) = (totp(&secret, step - 1), totp(&secret, step));
    let body = json!({ "code1": code1, "code2": code2 });
    let (status, _, _, codes) = post(&alice, url("/api/me/two-step/confirm"), body).await;
    assert_eq!(status, StatusCode::OK, "{codes}");
    for code in codes["recovery_codes"].as_array().expect("recovery codes") {
        secrets.push(code.as_str().expect("a code").to_owned());
    }
    secrets.extend([code1, code2]);

    let other = Client::builder().cookie_store(true).build().unwrap();
    let wrong = json!({ "username": "alice", "password": WRONG_PASSWORD });
    let (status, id, _, _) = post(&other, url("/api/session"), wrong).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    request_ids.push(id);
    let (status, _, cookie, _) = post(&other, url("/api/session"), sign_in).await;
    assert_eq!(status, StatusCode::OK);
    secrets.push(token(&cookie));
    let code = totp(&secret, now_step().max(step + 1));
    let (status, id, cookie, body) =
        post(&other, url("/api/session/verify"), json!({ "code": code })).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    request_ids.push(id);
    secrets.extend([code, token(&cookie)]);

    let stopped = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("run kill");
    assert!(stopped.success());
    assert!(child.wait().expect("wait").success());
    let logs = logs.join().expect("log reader");

    assert!(!logs.is_empty());
    let mut ids_seen = Vec::new();
    for line in &logs {
        let mut entry: Value =
            serde_json::from_str(line).unwrap_or_else(|e| panic!("not a JSON line ({e}): {line}"));
        if let Some(id) = entry["span"]["request_id"].as_str() {
            ids_seen.push(id.to_owned());
        }
        // The time stamp's digits may spell a code by chance; everything else may not.
        entry
            .as_object_mut()
            .unwrap_or_else(|| panic!("not a JSON object: {line}"))
            .remove("timestamp");
        let rest = entry.to_string();
        for secret in &secrets {
            assert!(!rest.contains(secret.as_str()), "{secret:?} logged: {line}");
        }
    }
    for id in &request_ids {
        assert!(!id.is_empty(), "every response names its request id");
        assert!(ids_seen.contains(id), "no log line of request {id}");
    }
}

#[tokio::test]
async fn a_proxys_request_id_is_kept_and_an_unusable_one_replaced() {
    let app = crate::helpers::spawn_app().await;
    let id_of = |sent: String| {
        let url = app.url("/api/health");
        async move {
            let response = reqwest::Client::new()
                .get(url)
                .header("x-request-id", sent)
                .send()
                .await
                .expect("request");
            response.headers()["x-request-id"]
                .to_str()
                .expect("ASCII")
                .to_owned()
        }
    };
    assert_eq!(id_of("proxy-4f2a.17_x".to_owned()).await, "proxy-4f2a.17_x");
    for unusable in [
        "two words".to_owned(),
        "quote\"d".to_owned(),
        "a".repeat(65),
    ] {
        let replaced = id_of(unusable.clone()).await;
        assert_ne!(replaced, unusable);
        assert_eq!(replaced.len(), 36, "a UUID: {replaced}");
    }
}
