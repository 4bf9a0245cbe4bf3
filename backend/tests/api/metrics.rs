//! `GET /metrics`: absent unless asked for; with `--metrics`, request counts and latency by
//! route template (never a raw path), the hashing queue and open sessions; with
//! `--metrics-addr` (real binary) only on that address.

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
