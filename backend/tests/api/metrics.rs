//! `GET /metrics`: absent unless asked for (404, also where the built app is served); with
//! `--metrics`, request counts and latency by route template (never a raw path) and standard
//! method (made-up methods and paths add no series), the hashing queue and open sessions; with
//! `--metrics-addr` (real binary) only on that address; outcome counters exactly as a scripted
//! sequence caused them (real binary).

use crate::helpers::{client, spawn_app, spawn_app_with};
use reqwest::StatusCode;
use twostep::app::Settings;

#[tokio::test]
async fn metrics_are_absent_unless_asked_for() {
    let app = spawn_app().await;
    let response = app.get(&client(), "/metrics").await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn metrics_count_requests_and_their_latency_by_route() {
    let app = spawn_app_with(Settings {
        metrics_route: true,
        ..Settings::default()
    })
    .await;
    let id = app.create_user("mallory", "mallory password", false).await;
    let browser = client();
    app.sign_in(&browser, "mallory", "mallory password").await;
    app.get(&browser, "/api/health").await;
    let user_path = format!("/api/users/{id}");
    assert_eq!(app.get(&browser, &user_path).await.status(), StatusCode::OK);

    let response = app.get(&client(), "/metrics").await;
    assert_eq!(response.status(), StatusCode::OK);
    let content_type = response.headers()["content-type"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(content_type.starts_with("text/plain"), "{content_type}");
    let text = response.text().await.unwrap();
    for expected in [
        "twostep_http_request_duration_seconds_bucket{method=\"GET\",route=\"/api/health\",le=\"0.005\"}",
        "twostep_http_request_duration_seconds_count{method=\"POST\",route=\"/api/session\"}",
        "twostep_http_requests_total{method=\"GET\",route=\"/api/users/{id}\",status=\"200\"}",
        "twostep_http_requests_total{method=\"POST\",route=\"/api/session\",status=\"200\"}",
        "twostep_hashing_queue_jobs ",
        "twostep_open_sessions{stage=\"signed_in\"} 1",
        "twostep_open_sessions{stage=\"verifying\"} 0",
    ] {
        assert!(text.contains(expected), "{expected} missing from:\n{text}");
    }
    assert!(!text.contains(&user_path), "a raw path as a label:\n{text}");
    assert!(
        !text.contains("mallory"),
        "a user name in the metrics:\n{text}"
    );
}

/// A built frontend (just an `index.html`), as `--dist-dir` would serve it.
fn built_frontend() -> tempfile::TempDir {
    let dist = tempfile::tempdir().expect("temporary folder");
    std::fs::write(
        dist.path().join("index.html"),
        "<!doctype html><title>twostep</title>",
    )
    .unwrap();
    dist
}

/// Without `--metrics`, `/metrics` is not the browser app's `index.html` (the fallback for
/// every other path): 404.
#[tokio::test]
async fn metrics_are_absent_unless_asked_for_also_with_the_built_frontend() {
    let dist = built_frontend();
    let (base, server, _data) = crate::helpers::serve_with_frontend(dist.path()).await;
    let browser = client();
    let page = browser.get(format!("{base}/users/1")).send().await.unwrap();
    assert_eq!(page.status(), StatusCode::OK, "the app is served");
    let metrics = browser.get(format!("{base}/metrics")).send().await.unwrap();
    assert_eq!(metrics.status(), StatusCode::NOT_FOUND);
    let body = metrics.text().await.unwrap();
    assert!(!body.contains("<title>"), "index.html at /metrics: {body}");
    server.abort();
}

/// The series of the request metrics in a scrape: each line without its value.
fn request_series(text: &str) -> std::collections::BTreeSet<String> {
    text.lines()
        .filter(|line| line.starts_with("twostep_http_"))
        .filter_map(|line| line.rsplit_once(' ').map(|(series, _)| series.to_owned()))
        .collect()
}

/// The values a label takes in these series.
fn label_values(series: &std::collections::BTreeSet<String>, label: &str) -> Vec<String> {
    let key = format!("{label}=\"");
    let mut values: Vec<String> = series
        .iter()
        .filter_map(|line| {
            let (_, rest) = line.split_once(&key)?;
            rest.split_once('"').map(|(value, _)| value.to_owned())
        })
        .collect();
    values.sort();
    values.dedup();
    values
}

/// Methods a client makes up, and paths nothing routes, add no series: they are counted as
/// method `other` and route `unmatched` (real binary, so that no other test's requests count).
#[tokio::test]
async fn made_up_methods_and_paths_add_no_series() {
    use reqwest::Method;
    let data = tempfile::tempdir().expect("temporary folder");
    let dist = built_frontend();
    let dist_dir = dist.path().to_str().unwrap();
    let server = crate::process::ServerProcess::start(
        data.path(),
        &[],
        &["--metrics", "--dist-dir", dist_dir],
    )
    .await;
    let browser = client();
    let paths = |i: usize| {
        [
            "/api/health".to_owned(),
            format!("/app/page-{i}"),
            format!("/api/no-such-endpoint-{i}"),
            "/metrics".to_owned(),
        ]
    };
    let send = async |method: &str, i: usize| {
        for path in paths(i) {
            let method = Method::from_bytes(method.as_bytes()).unwrap();
            browser
                .request(method, server.url(&path))
                .send()
                .await
                .unwrap();
        }
    };
    let scrape = async || {
        let response = browser.get(server.url("/metrics")).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        request_series(&response.text().await.unwrap())
    };
    // One made-up method on each kind of path, then the scrape itself, makes the series
    // there are.
    send("WARMUP", 0).await;
    scrape().await;
    let before = scrape().await;
    for i in 1..=50 {
        send(&format!("MADEUP{i}"), i).await;
    }
    let after = scrape().await;
    let added: Vec<&String> = after.difference(&before).collect();
    assert!(added.is_empty(), "new series: {added:#?}");
    let methods = label_values(&after, "method");
    assert_eq!(methods, ["GET", "other"], "{after:#?}");
    let routes = label_values(&after, "route");
    assert!(
        routes
            .iter()
            .all(|r| !r.contains("page-") && !r.contains("no-such")),
        "a raw path as a label: {routes:?}"
    );
    assert!(routes.contains(&"unmatched".to_owned()), "{routes:?}");
}

/// Kills the server when the test ends, however it ends.
struct Killed(std::process::Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::test]
async fn metrics_addr_serves_metrics_on_their_own_address_only() {
    use std::io::{BufRead, BufReader};
    use std::process::{Command, Stdio};
    let data = tempfile::tempdir().expect("temporary folder");
    let mut child = Command::new(crate::process::BINARY)
        .arg("--data-dir")
        .arg(data.path())
        .args([
            "serve",
            "--addr",
            "127.0.0.1:0",
            "--metrics-addr",
            "127.0.0.1:0",
        ])
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .spawn()
        .expect("start twostep serve");
    let stdout = child.stdout.take().expect("stdout");
    let _server = Killed(child);
    let (metrics, base) = tokio::task::spawn_blocking(move || {
        let mut lines = BufReader::new(stdout).lines();
        let mut metrics = None;
        for line in lines.by_ref() {
            let line = line.expect("stdout line");
            if let Some(url) = line.strip_prefix("twostep metrics on ") {
                metrics = Some(url.to_owned());
            }
            if let Some(base) = line.strip_prefix("twostep listening on ") {
                let base = base.to_owned();
                std::thread::spawn(move || lines.for_each(drop));
                return (metrics, base);
            }
        }
        panic!("the server did not say where it listens");
    })
    .await
    .expect("reader");
    let metrics = metrics.expect("the server said where its metrics are");

    let browser = client();
    let health = browser
        .get(format!("{base}/api/health"))
        .send()
        .await
        .unwrap();
    assert_eq!(health.status(), StatusCode::OK);
    let on_main = browser.get(format!("{base}/metrics")).send().await.unwrap();
    assert_eq!(on_main.status(), StatusCode::NOT_FOUND);
    let scraped = browser.get(&metrics).send().await.unwrap();
    assert_eq!(scraped.status(), StatusCode::OK);
    let text = scraped.text().await.unwrap();
    let expected =
        "twostep_http_requests_total{method=\"GET\",route=\"/api/health\",status=\"200\"} 1";
    assert!(text.contains(expected), "{expected} missing from:\n{text}");
}

/// The value of a counter with these labels in Prometheus text (0 when absent).
fn counter(text: &str, name: &str, outcome: Option<&str>) -> u64 {
    let prefix = match outcome {
        Some(outcome) => format!("{name}{{outcome=\"{outcome}\"}} "),
        None => format!("{name} "),
    };
    text.lines()
        .find_map(|line| line.strip_prefix(&prefix))
        .map_or(0, |value| value.trim().parse().expect("a whole number"))
}

/// A scripted sequence against the real binary (its own process, so no other test's
/// requests count): each outcome counter ends at exactly what the script caused.
#[tokio::test]
async fn sign_in_and_code_check_outcomes_are_counted_exactly() {
    use crate::helpers::{base32_decode, totp, wrong_code};
    use serde_json::{Value, json};
    let data = tempfile::tempdir().expect("temporary folder");
    crate::process::create_user(data.path(), &[], "alice", "alice password", &[]);
    let server = crate::process::ServerProcess::start(data.path(), &[], &["--metrics"]).await;
    let post = |client: &reqwest::Client, path: &str, body: Value| {
        client.post(server.url(path)).json(&body).send()
    };
    let sign_in = json!({ "username": "alice", "password": "alice password" });
    let step = || {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs()
            / 30
    };

    // Signed in without 2-step, then enrolled with the codes of the steps t-1 and t.
    let owner = client();
    let first = post(&owner, "/api/session", sign_in.clone()).await.unwrap();
    assert_eq!(first.status(), StatusCode::OK);
    let setup: Value = post(&owner, "/api/me/two-step/setup", json!({}))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let secret = base32_decode(setup["secret"].as_str().unwrap());
    let t = step();
    let confirmed = post(
        &owner,
        "/api/me/two-step/confirm",
        json!({ "code1": totp(&secret, t - 1), "code2": totp(&secret, t) }),
    )
    .await
    .unwrap();
    assert_eq!(confirmed.status(), StatusCode::OK);

    // A waiting session: one wrong code, one replayed (step t), then the next one (t+1).
    let waiting = client();
    let status = post(&waiting, "/api/session", sign_in.clone())
        .await
        .unwrap()
        .status();
    assert_eq!(status, StatusCode::OK);
    let verify = |client: &reqwest::Client, code: String| {
        post(client, "/api/session/verify", json!({ "code": code }))
    };
    let wrong = wrong_code(&secret, t, 3);
    let answers = [
        verify(&waiting, wrong.clone()).await.unwrap().status(),
        verify(&waiting, totp(&secret, t)).await.unwrap().status(),
        verify(&waiting, totp(&secret, t + 1))
            .await
            .unwrap()
            .status(),
    ];
    assert_eq!(
        answers,
        [
            StatusCode::UNAUTHORIZED,
            StatusCode::UNAUTHORIZED,
            StatusCode::OK
        ]
    );
    // Another waiting session: five wrong codes, then the sixth waits.
    let guesser = client();
    post(&guesser, "/api/session", sign_in.clone())
        .await
        .unwrap();
    for _ in 0..5 {
        let status = verify(&guesser, wrong.clone()).await.unwrap().status();
        assert_eq!(status, StatusCode::UNAUTHORIZED);
    }
    let waited = verify(&guesser, wrong.clone()).await.unwrap().status();
    assert_eq!(waited, StatusCode::TOO_MANY_REQUESTS);
    let bad = post(
        &client(),
        "/api/session",
        json!({ "username": "alice", "password": "not it" }),
    )
    .await
    .unwrap();
    assert_eq!(bad.status(), StatusCode::UNAUTHORIZED);

    let text = client()
        .get(server.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let sign_ins = "twostep_sign_ins_total";
    let checks = "twostep_code_checks_total";
    assert_eq!(counter(&text, sign_ins, Some("signed_in")), 1, "{text}");
    assert_eq!(counter(&text, sign_ins, Some("code_required")), 2, "{text}");
    assert_eq!(
        counter(&text, sign_ins, Some("bad_credentials")),
        1,
        "{text}"
    );
    assert_eq!(counter(&text, sign_ins, Some("throttled")), 0, "{text}");
    assert_eq!(counter(&text, checks, Some("accepted")), 1, "{text}");
    assert_eq!(counter(&text, checks, Some("wrong")), 6, "{text}");
    assert_eq!(counter(&text, checks, Some("replayed")), 1, "{text}");
    assert_eq!(counter(&text, checks, Some("throttled")), 1, "{text}");
    assert_eq!(counter(&text, checks, Some("locked")), 0, "{text}");
    assert_eq!(
        counter(&text, "twostep_enrollments_total", None),
        1,
        "{text}"
    );
    assert_eq!(counter(&text, "twostep_removals_total", None), 0, "{text}");
}
