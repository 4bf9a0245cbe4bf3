//! The real binary's logs with `--log-format json` at `RUST_LOG=debug`: every line on standard
//! error is a JSON object, the lines of a request carry the request id its response names in
//! `x-request-id`, and no line holds a secret, whichever path carries it: a password (right,
//! wrong, at "Confirm it's you", a new one, typed into the CLI, the first administrator's,
//! also when a password is typed as the username), a code (right, wrong, recovery, as a
//! removal proof), the TOTP secret, the server key, or any cookie's token (every
//! `Set-Cookie`, not only the first). The CLI's own logs are read too.

use crate::helpers::{base32_decode, totp};
use crate::process::{BINARY, create_user};
use reqwest::{Client, StatusCode};
use serde_json::{Value, json};
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{SystemTime, UNIX_EPOCH};

const PASSWORD: &str = "alice's secret password";
const WRONG_PASSWORD: &str = "a wrong guess at it";
const WRONG_REAUTH: &str = "not quite the password";
const NEW_PASSWORD: &str = "a brand new passphrase nine";
const CLI_PASSWORD: &str = "typed at the operator's shell";
/// A password typed into the username field.
const TYPED_AS_NAME: &str = "hunter2isMyPassword";

fn now_step() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("time")
        .as_secs()
        / 30
}

/// Sends JSON; returns the status, the `x-request-id` header, the value of every cookie set
/// (each `Set-Cookie` header's) and the body.
async fn send(
    client: &Client,
    method: reqwest::Method,
    url: String,
    body: Value,
) -> (StatusCode, String, Vec<String>, Value) {
    let response = client
        .request(method, url)
        .json(&body)
        .send()
        .await
        .expect("request");
    let id = response
        .headers()
        .get("x-request-id")
        .map(|v| v.to_str().expect("ASCII").to_owned())
        .unwrap_or_default();
    let tokens = response
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| token(v.to_str().expect("ASCII")))
        .filter(|value| !value.is_empty())
        .collect();
    let status = response.status();
    (
        status,
        id,
        tokens,
        response.json().await.unwrap_or(Value::Null),
    )
}

async fn post(
    client: &Client,
    url: String,
    body: Value,
) -> (StatusCode, String, Vec<String>, Value) {
    send(client, reqwest::Method::POST, url, body).await
}

/// The value of the cookie in a `Set-Cookie` header.
fn token(set_cookie: &str) -> String {
    let (_, rest) = set_cookie.split_once('=').expect("a cookie");
    rest.split(';').next().expect("a value").to_owned()
}

#[tokio::test]
async fn json_logs_carry_request_ids_and_no_secrets() {
    let data = tempfile::tempdir().expect("temporary folder");
    // No administrator yet: the server makes one at its first start, its password in a file.
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

    let mut secrets: Vec<String> = [
        PASSWORD,
        WRONG_PASSWORD,
        WRONG_REAUTH,
        NEW_PASSWORD,
        CLI_PASSWORD,
        TYPED_AS_NAME,
    ]
    .map(str::to_owned)
    .to_vec();
    for file in ["initial-admin-password", "secret.key"] {
        let text = std::fs::read_to_string(data.path().join(file)).expect(file);
        assert!(text.trim().len() >= 16, "{file}");
        secrets.push(text.trim().to_owned());
    }
    let mut request_ids = Vec::new();
    let url = |path: &str| format!("{base}{path}");
    let alice = Client::builder().cookie_store(true).build().unwrap();
    let sign_in = json!({ "username": "alice", "password": PASSWORD });
    let (status, id, cookies, _) = post(&alice, url("/api/session"), sign_in.clone()).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(cookies.len(), 2, "the session's and the known browser's");
    request_ids.push(id);
    secrets.extend(cookies);
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
    let recovery: Vec<String> = codes["recovery_codes"]
        .as_array()
        .expect("recovery codes")
        .iter()
        .map(|code| code.as_str().expect("a code").to_owned())
        .collect();
    secrets.extend(recovery.iter().cloned());
    secrets.extend([code1, code2]);

    let other = Client::builder().cookie_store(true).build().unwrap();
    let wrong = json!({ "username": "alice", "password": WRONG_PASSWORD });
    let (status, id, _, _) = post(&other, url("/api/session"), wrong).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    request_ids.push(id);
    let (status, _, cookies, _) = post(&other, url("/api/session"), sign_in.clone()).await;
    assert_eq!(status, StatusCode::OK);
    secrets.extend(cookies);
    let code = totp(&secret, now_step().max(step + 1));
    let (status, id, cookies, body) =
        post(&other, url("/api/session/verify"), json!({ "code": code })).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    request_ids.push(id);
    secrets.push(code.clone());
    secrets.extend(cookies);

    // A password typed as the username.
    let typed = json!({ "username": TYPED_AS_NAME, "password": WRONG_PASSWORD });
    let (status, _, _, _) = post(&Client::new(), url("/api/session"), typed).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);

    // A wrong code, then a recovery code, at the code step of a third browser.
    let third = Client::builder().cookie_store(true).build().unwrap();
    let (status, _, cookies, _) = post(&third, url("/api/session"), sign_in).await;
    assert_eq!(status, StatusCode::OK);
    secrets.extend(cookies);
    let wrong_code = (700_000..800_000)
        .map(|n| n.to_string())
        .find(|candidate| {
            (step.saturating_sub(3)..now_step() + 3).all(|s| totp(&secret, s) != *candidate)
        })
        .expect("a wrong code");
    let (status, _, _, body) = post(
        &third,
        url("/api/session/verify"),
        json!({ "code": wrong_code }),
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    secrets.push(wrong_code);
    let (status, _, cookies, body) = post(
        &third,
        url("/api/session/verify"),
        json!({ "code": recovery[0] }),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    secrets.extend(cookies);

    // "Confirm it's you": a wrong password, then the right one (a new token).
    let reauth = url("/api/session/reauthenticate");
    let (status, _, _, body) =
        post(&third, reauth.clone(), json!({ "password": WRONG_REAUTH })).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    let (status, _, cookies, body) = post(&third, reauth, json!({ "password": PASSWORD })).await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    secrets.extend(cookies);

    // A new password (a new token), then the device removed with a recovery code as proof.
    let change = json!({ "current_password": PASSWORD, "new_password": NEW_PASSWORD });
    let (status, _, cookies, body) = post(&third, url("/api/me/password"), change).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    secrets.extend(cookies);
    let me: Value = third
        .get(url("/api/me"))
        .send()
        .await
        .expect("me")
        .json()
        .await
        .expect("JSON");
    let id = me["id"].as_i64().expect("the user's id");
    let (status, _, _, body) = send(
        &third,
        reqwest::Method::DELETE,
        url(&format!("/api/users/{id}/two-step")),
        json!({ "proof": recovery[1] }),
    )
    .await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");

    // A password typed into the CLI, at debug level, while the server runs.
    let mut cli = Command::new(BINARY)
        .arg("--data-dir")
        .arg(data.path())
        .args([
            "--log-format",
            "json",
            "user",
            "set-password",
            "alice",
            "--password",
        ])
        .env("RUST_LOG", "debug")
        .env_remove("TWOSTEP_LOG_FORMAT")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start twostep user set-password");
    {
        use std::io::Write;
        writeln!(cli.stdin.take().expect("stdin"), "{CLI_PASSWORD}").expect("write");
    }
    let cli = cli.wait_with_output().expect("the CLI");
    assert!(
        cli.status.success(),
        "{}",
        String::from_utf8_lossy(&cli.stderr)
    );
    let cli_output = String::from_utf8_lossy(&cli.stdout).into_owned();
    for secret in &secrets {
        assert!(
            !cli_output.contains(secret.as_str()),
            "{secret:?} printed: {cli_output}"
        );
    }

    let stopped = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("run kill");
    assert!(stopped.success());
    assert!(child.wait().expect("wait").success());
    let mut logs = logs.join().expect("log reader");
    let cli_logs = String::from_utf8_lossy(&cli.stderr).into_owned();
    assert!(!cli_logs.is_empty(), "the CLI logs at debug");
    logs.extend(cli_logs.lines().map(str::to_owned));

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
