//! What the server does to keep what it holds to itself: `Cache-Control: no-store` on every
//! API answer; with an https `--public-url`, `Secure` cookies with the `__Host-` prefix and
//! `Strict-Transport-Security`; a private data folder (0700) and files (0600); a key file
//! other users can read refused at start; the first administrator's password written to a
//! private file, never to standard output. The last three run the real binary.

use crate::helpers::{client, spawn_app};
use crate::process::{BINARY, ServerProcess, create_user};
use reqwest::StatusCode;
use reqwest::header::{CACHE_CONTROL, COOKIE, SET_COOKIE, STRICT_TRANSPORT_SECURITY};
use std::io::{BufRead, BufReader};
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Command, Stdio};

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .permissions()
        .mode()
        & 0o777
}

#[tokio::test]
async fn api_answers_are_never_cached() {
    let app = spawn_app().await;
    app.create_user("alice", "correct horse", false).await;
    let browser = client();
    let answers = [
        app.get(&browser, "/api/health").await,
        app.get(&browser, "/api/me").await,
        app.get(&browser, "/api/nope").await,
        app.sign_in_raw(&browser, "alice", "correct horse").await,
        app.get(&browser, "/api/me").await,
    ];
    for answer in answers {
        let value = answer
            .headers()
            .get(CACHE_CONTROL)
            .map(|v| v.to_str().unwrap().to_owned());
        assert_eq!(value.as_deref(), Some("no-store"), "{}", answer.url());
    }
    // Plain http: no HSTS.
    let health = app.get(&browser, "/api/health").await;
    assert!(health.headers().get(STRICT_TRANSPORT_SECURITY).is_none());
}

#[tokio::test]
async fn an_https_public_url_gives_host_prefixed_secure_cookies_and_hsts() {
    let data = tempfile::tempdir().unwrap();
    create_user(data.path(), &[], "alice", "correct horse", &[]);
    let server = ServerProcess::start(
        data.path(),
        &[],
        &["--public-url", "https://team.example.com"],
    )
    .await;
    let response = reqwest::Client::new()
        .post(server.url("/api/session"))
        .json(&serde_json::json!({"username": "alice", "password": "correct horse"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let hsts = response.headers().get(STRICT_TRANSPORT_SECURITY).unwrap();
    assert_eq!(hsts, "max-age=31536000");
    let cookies: Vec<&str> = response
        .headers()
        .get_all(SET_COOKIE)
        .iter()
        .map(|v| v.to_str().unwrap())
        .collect();
    let mut session = None;
    for name in ["__Host-twostep_session=", "__Host-twostep_browser="] {
        let cookie = cookies
            .iter()
            .find(|c| c.starts_with(name))
            .unwrap_or_else(|| panic!("no {name} in {cookies:?}"));
        let attributes: Vec<&str> = cookie.split(';').map(str::trim).collect();
        assert!(attributes.contains(&"Secure"), "{cookie}");
        assert!(attributes.contains(&"Path=/"), "{cookie}");
        assert!(!cookie.contains("Domain="), "{cookie}");
        if name.contains("session") {
            session = Some(attributes[0].to_owned());
        }
    }
    // The server reads the prefixed cookie back, and not the plain one.
    let session = session.unwrap();
    let me = |cookie: String| {
        reqwest::Client::new()
            .get(server.url("/api/me"))
            .header(COOKIE, cookie)
            .send()
    };
    assert_eq!(me(session.clone()).await.unwrap().status(), StatusCode::OK);
    let plain = session.replacen("__Host-", "", 1);
    assert_eq!(me(plain).await.unwrap().status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn the_first_start_keeps_its_files_private_and_the_admin_password_off_stdout() {
    let parent = tempfile::tempdir().unwrap();
    let data = parent.path().join("data");
    let mut child = Command::new(BINARY)
        .arg("--data-dir")
        .arg(&data)
        .args(["serve", "--addr", "127.0.0.1:0"])
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let (printed, base) = tokio::task::spawn_blocking(move || {
        let mut printed = Vec::new();
        let mut base = None;
        for line in BufReader::new(stdout).lines() {
            let line = line.unwrap();
            if let Some(address) = line.strip_prefix("twostep listening on ") {
                base = Some(address.to_owned());
                break;
            }
            printed.push(line);
        }
        (
            printed.join("\n"),
            base.expect("the server printed its address"),
        )
    })
    .await
    .unwrap();
    let password_file = data.join("initial-admin-password");
    let password = std::fs::read_to_string(&password_file).unwrap();
    let password = password.trim();
    assert_eq!(password.len(), 20);
    assert!(
        !printed.contains(password),
        "the password was printed: {printed}"
    );
    assert!(
        printed.contains(&password_file.display().to_string()),
        "{printed}"
    );
    assert_eq!(mode(&data), 0o700);
    for file in ["initial-admin-password", "secret.key", "twostep.db"] {
        assert_eq!(mode(&data.join(file)), 0o600, "{file}");
    }
    // The file's password signs in as admin.
    let response = reqwest::Client::new()
        .post(format!("{base}/api/session"))
        .json(&serde_json::json!({"username": "admin", "password": password}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    child.kill().unwrap();
    let stderr = std::io::read_to_string(child.stderr.take().unwrap()).unwrap();
    assert!(!stderr.contains(password), "the password was logged");
    child.wait().unwrap();
}

#[tokio::test]
async fn an_existing_data_folder_open_to_others_is_narrowed_to_its_owner() {
    let parent = tempfile::tempdir().unwrap();
    let data = parent.path().join("data");
    std::fs::create_dir(&data).unwrap();
    std::fs::set_permissions(&data, std::fs::Permissions::from_mode(0o755)).unwrap();
    create_user(&data, &[], "alice", "correct horse", &[]);
    assert_eq!(mode(&data), 0o700);
    for file in ["secret.key", "twostep.db"] {
        assert_eq!(mode(&data.join(file)), 0o600, "{file}");
    }
}

#[tokio::test]
async fn a_key_file_others_can_read_or_write_is_refused_at_start() {
    let data = tempfile::tempdir().unwrap();
    create_user(data.path(), &[], "alice", "correct horse", &[]);
    let key = data.path().join("secret.key");
    assert_eq!(mode(&key), 0o600);
    // Readable by others, or writable by the group or by others.
    for open_to_others in [0o644, 0o620, 0o602] {
        std::fs::set_permissions(&key, std::fs::Permissions::from_mode(open_to_others)).unwrap();
        let mut child = Command::new(BINARY)
            .arg("--data-dir")
            .arg(data.path())
            .args(["serve", "--addr", "127.0.0.1:0"])
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        // Refused means it stops by itself, at once; a server that starts is stopped here.
        let started = std::time::Instant::now();
        let status = loop {
            if let Some(status) = child.try_wait().unwrap() {
                break status;
            }
            if started.elapsed() > std::time::Duration::from_secs(20) {
                child.kill().unwrap();
                child.wait().unwrap();
                panic!("the server started with a key file of mode {open_to_others:o}");
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        };
        assert!(!status.success(), "{open_to_others:o}");
        let stderr = std::io::read_to_string(child.stderr.take().unwrap()).unwrap();
        assert!(stderr.contains("chmod 600"), "{stderr}");
        assert!(stderr.contains("secret.key"), "{stderr}");
    }
}
