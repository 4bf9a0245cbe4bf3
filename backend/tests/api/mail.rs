//! Security e-mails through a real mail server: Debian's `aiosmtpd` (started per test on a
//! free port, writing each message it receives to a Maildir), read back from the Maildir.
//! One test per event (recipient and text checked, and every message searched for the
//! passwords, codes, secrets and tokens of the test); the server stopped while events
//! happen; two instances; a sender that died holding a row; the hourly limit under a burst;
//! giving up after a day; STARTTLS with a test CA.

use crate::helpers::*;
use reqwest::{Client, Method, StatusCode};
use serde_json::json;
use sqlx::Row;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::Duration;
use tempfile::TempDir;
use twostep::app::Settings;
use twostep::mail::MailSettings;
use twostep_shared::api::{RecoveryCodes, SetupResponse};

const PASSWORD: &str = "correct horse battery staple";
const ALICE: &str = "alice@mail.example";

/// Debian's Python (the `python3` on PATH may not see Debian's packages).
const PYTHON: &str = "/usr/bin/python3";

/// A message as the mail server stored it.
#[derive(Debug, Clone)]
pub struct Delivered {
    /// The envelope recipient (`X-RcptTo`, added by the server).
    pub to: String,
    pub subject: String,
    pub message_id: String,
    /// The decoded text.
    pub body: String,
    /// The whole file, as stored.
    pub raw: String,
}

/// An `aiosmtpd` process on 127.0.0.1, killed when dropped.
pub struct SmtpServer {
    pub port: u16,
    maildir: TempDir,
    /// `--tlscert` and `--tlskey` (STARTTLS required) when set.
    tls: Option<(PathBuf, PathBuf)>,
    child: Option<Child>,
}

impl Drop for SmtpServer {
    fn drop(&mut self) {
        self.kill();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}

impl SmtpServer {
    pub async fn start() -> Self {
        Self::start_with(None).await
    }

    /// With STARTTLS (required) under this certificate and key.
    pub async fn start_with(tls: Option<(PathBuf, PathBuf)>) -> Self {
        let mut server = Self {
            port: free_port(),
            maildir: tempfile::tempdir().expect("temporary folder"),
            tls,
            child: None,
        };
        server.run().await;
        server
    }

    async fn run(&mut self) {
        let mut command = Command::new(PYTHON);
        command
            .args(["-m", "aiosmtpd", "-n", "-l"])
            .arg(format!("127.0.0.1:{}", self.port));
        if let Some((cert, key)) = &self.tls {
            command.arg("--tlscert").arg(cert).arg("--tlskey").arg(key);
        }
        command
            .args(["-c", "aiosmtpd.handlers.Mailbox"])
            .arg(self.maildir.path().join("mail"))
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        let child = command.spawn().unwrap_or_else(|e| {
            panic!("start {PYTHON} -m aiosmtpd (apt-get install python3-aiosmtpd): {e}")
        });
        self.child = Some(child);
        for _ in 0..200 {
            if tokio::net::TcpStream::connect(("127.0.0.1", self.port))
                .await
                .is_ok()
            {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("aiosmtpd did not listen on {}", self.port);
    }

    fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Stops the server (connections to its port are refused).
    pub fn stop(&mut self) {
        self.kill();
    }

    /// Starts it again on the same port and Maildir.
    pub async fn restart(&mut self) {
        self.run().await;
    }

    /// `smtp://127.0.0.1:PORT` (plain).
    pub fn url(&self) -> String {
        format!("smtp://127.0.0.1:{}", self.port)
    }

    /// Every message in the Maildir, oldest first by file time.
    pub fn messages(&self) -> Vec<Delivered> {
        let mut files = Vec::new();
        for sub in ["new", "cur"] {
            let Ok(entries) = std::fs::read_dir(self.maildir.path().join("mail").join(sub)) else {
                continue;
            };
            for entry in entries.flatten() {
                files.push(entry.path());
            }
        }
        files.sort_by_key(|p| std::fs::metadata(p).and_then(|m| m.modified()).ok());
        files.iter().map(|p| parse(&read(p))).collect()
    }

    /// Waits (up to 20 s) until at least `n` messages arrived; returns them all.
    pub async fn wait_for(&self, n: usize) -> Vec<Delivered> {
        for _ in 0..400 {
            let got = self.messages();
            if got.len() >= n {
                return got;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!(
            "{n} message(s) expected, {} arrived: {:#?}",
            self.messages().len(),
            self.messages()
        );
    }

    /// Waits for a message whose subject contains `subject`.
    pub async fn wait_for_subject(&self, subject: &str) -> Delivered {
        for _ in 0..400 {
            if let Some(found) = self
                .messages()
                .into_iter()
                .find(|m| m.subject.contains(subject))
            {
                return found;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("no message {subject:?} arrived: {:#?}", self.messages());
    }

    /// The messages whose subject contains `subject`.
    pub fn with_subject(&self, subject: &str) -> Vec<Delivered> {
        self.messages()
            .into_iter()
            .filter(|m| m.subject.contains(subject))
            .collect()
    }
}

fn read(path: &Path) -> String {
    String::from_utf8_lossy(&std::fs::read(path).expect("read a message")).into_owned()
}

/// Quoted-printable decoding (soft line breaks and `=XX`), enough for the messages' text.
fn decode_quoted_printable(text: &str) -> String {
    let joined = text.replace("=\r\n", "").replace("=\n", "");
    let bytes = joined.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'='
            && i + 2 < bytes.len() + 1
            && let Some(hex) = joined.get(i + 1..i + 3)
            && let Ok(byte) = u8::from_str_radix(hex, 16)
        {
            out.push(byte);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).replace("\r\n", "\n")
}

fn parse(raw: &str) -> Delivered {
    let normalized = raw.replace("\r\n", "\n");
    let (head, body) = normalized.split_once("\n\n").unwrap_or((&normalized, ""));
    // Unfold continued header lines.
    let head = head.replace("\n ", " ").replace("\n\t", " ");
    let mut headers = BTreeMap::new();
    for line in head.lines() {
        if let Some((name, value)) = line.split_once(':') {
            headers
                .entry(name.trim().to_ascii_lowercase())
                .or_insert_with(|| value.trim().to_owned());
        }
    }
    let quoted = headers
        .get("content-transfer-encoding")
        .is_some_and(|e| e.eq_ignore_ascii_case("quoted-printable"));
    let body = if quoted {
        decode_quoted_printable(body)
    } else {
        body.to_owned()
    };
    Delivered {
        to: headers.get("x-rcptto").cloned().unwrap_or_default(),
        subject: headers.get("subject").cloned().unwrap_or_default(),
        message_id: headers.get("message-id").cloned().unwrap_or_default(),
        body: body.replace("\n ", " "),
        raw: raw.to_owned(),
    }
}

/// Mail settings for `url`, with a quick poll so tests need not wait.
pub fn mail_settings(url: &str, ca_pem: Option<Vec<u8>>) -> MailSettings {
    let mut settings = MailSettings::parse(
        url,
        Some("Team Server <security@team.example>"),
        ca_pem,
        "Team Server",
    )
    .expect("mail settings");
    settings.poll_interval = Duration::from_millis(50);
    settings.timeout = Duration::from_secs(5);
    settings
}

/// A server whose security e-mails go to `smtp`.
pub async fn mail_app(smtp: &SmtpServer) -> TestApp {
    mail_app_at(&smtp.url(), None).await
}

pub async fn mail_app_at(url: &str, ca_pem: Option<Vec<u8>>) -> TestApp {
    spawn_app_with(Settings {
        mail: Some(Arc::new(mail_settings(url, ca_pem))),
        ..Settings::default()
    })
    .await
}

impl TestApp {
    pub async fn set_email(&self, user_id: i64, email: &str) {
        sqlx::query("UPDATE users SET email = $1 WHERE id = $2")
            .bind(email)
            .bind(user_id)
            .execute(&self.db)
            .await
            .expect("set an address");
    }

    /// Outbox rows by state.
    pub async fn outbox_states(&self) -> BTreeMap<String, i64> {
        let rows = sqlx::query("SELECT state, COUNT(*) AS n FROM mail_outbox GROUP BY state")
            .fetch_all(&self.db)
            .await
            .expect("read the outbox");
        rows.iter()
            .map(|r| (r.try_get("state").unwrap(), r.try_get("n").unwrap()))
            .collect()
    }

    /// Waits until no outbox row is due (all sent, failed or cancelled).
    pub async fn outbox_settled(&self) {
        for _ in 0..400 {
            if !self.outbox_states().await.contains_key("due") {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("outbox not settled: {:?}", self.outbox_states().await);
    }
}

/// `name` with the address [`ALICE`], signed in on a fresh client (a first sign-in: the
/// "new browser" message is queued; tests look for their own subject).
async fn alice(app: &TestApp) -> (Client, i64) {
    let id = app.create_user("alice", PASSWORD, false).await;
    app.set_email(id, ALICE).await;
    let client = client();
    app.sign_in(&client, "alice", PASSWORD).await;
    (client, id)
}

/// Nothing secret in any delivered message: the passwords, the TOTP secret (as bytes in
/// base32, and its codes around now), recovery codes, and the session and known-browser
/// tokens the server holds (their hashes too).
async fn assert_no_secrets(app: &TestApp, smtp: &SmtpServer, extra: &[&str]) {
    let mut secrets: Vec<String> = vec![PASSWORD.to_owned(), "a new long password 2".to_owned()];
    secrets.extend(extra.iter().map(|s| s.to_string()));
    for table in ["sessions", "known_browsers"] {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT token_hash FROM {table}"
        )))
        .fetch_all(&app.db)
        .await
        .expect("read tokens");
        for row in rows {
            secrets.push(row.try_get("token_hash").unwrap());
        }
    }
    let messages = smtp.messages();
    assert!(!messages.is_empty());
    for message in &messages {
        let haystacks = [message.raw.to_lowercase(), message.body.to_lowercase()];
        for secret in &secrets {
            let needle = secret.to_lowercase().replace('-', "");
            for hay in &haystacks {
                assert!(
                    !hay.replace('-', "").contains(&needle),
                    "a secret ({secret:?}) in {}",
                    message.raw
                );
            }
        }
        for word in ["http://", "https://", "password:", "token", "secret"] {
            assert!(
                !message.body.to_lowercase().contains(word),
                "{word:?} in {}",
                message.body
            );
        }
    }
}

/// The codes of the steps around now for `secret`, to search for.
fn codes_around(app: &TestApp, secret: &[u8]) -> Vec<String> {
    let now = app.now_step();
    (now - 3..=now + 3).map(|t| totp(secret, t)).collect()
}

fn extra_secrets(app: &TestApp, enrolled: &Enrolled) -> Vec<String> {
    let mut extra = codes_around(app, &enrolled.secret);
    extra.extend(enrolled.recovery_codes.iter().cloned());
    extra.push(base32_encode(&enrolled.secret));
    extra
}

fn base32_encode(bytes: &[u8]) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let mut out = String::new();
    let (mut buffer, mut bits) = (0u32, 0);
    for &b in bytes {
        buffer = (buffer << 8) | u32::from(b);
        bits += 8;
        while bits >= 5 {
            out.push(ALPHABET[((buffer >> (bits - 5)) & 31) as usize] as char);
            bits -= 5;
        }
    }
    if bits > 0 {
        out.push(ALPHABET[((buffer << (5 - bits)) & 31) as usize] as char);
    }
    out
}

/// The common checks: to the account's address, greeting, time and the advice.
fn assert_message(message: &Delivered, to: &str, parts: &[&str]) {
    assert_eq!(message.to, to, "{}", message.raw);
    assert!(message.body.contains("Hello alice,"), "{}", message.body);
    assert!(
        message.body.contains("When: 2023-11-14 22:"),
        "{}",
        message.body
    );
    assert!(
        message.body.contains("If it was not you"),
        "{}",
        message.body
    );
    assert!(
        message.message_id.starts_with("<twostep.")
            && message.message_id.ends_with("@team.example>"),
        "{}",
        message.message_id
    );
    for part in parts {
        assert!(message.body.contains(part), "{part:?} in {}", message.body);
    }
}

async fn enroll(app: &TestApp, client: &Client) -> Enrolled {
    app.setup_and_confirm(client).await
}

#[tokio::test]
async fn turning_two_step_on_is_told() {
    let smtp = SmtpServer::start().await;
    let app = mail_app(&smtp).await;
    let (client, _) = alice(&app).await;
    let enrolled = enroll(&app, &client).await;
    let message = smtp
        .wait_for_subject("2-step verification was turned on")
        .await;
    assert_message(
        &message,
        ALICE,
        &[
            "2-step verification was turned on for your account.",
            "By: you",
            "From the address: 127.0.0.1",
        ],
    );
    assert_no_secrets(
        &app,
        &smtp,
        &extra_secrets(&app, &enrolled)
            .iter()
            .map(String::as_str)
            .collect::<Vec<_>>(),
    )
    .await;
}

#[tokio::test]
async fn moving_to_a_new_phone_is_told() {
    let smtp = SmtpServer::start().await;
    let app = mail_app(&smtp).await;
    let (client, _) = alice(&app).await;
    let enrolled = enroll(&app, &client).await;
    app.clock.advance(3 * STEP);
    let setup: SetupResponse = ok_json(
        app.send_json(
            &client,
            Method::POST,
            "/api/me/two-step/replacement/setup",
            &json!({}),
        )
        .await,
    )
    .await;
    let new = base32_decode(&setup.secret);
    let step = app.now_step();
    let body = json!({
        "code1": totp(&new, step - 1),
        "code2": totp(&new, step),
        "proof": totp(&enrolled.secret, step),
    });
    let response = app
        .send_json(
            &client,
            Method::POST,
            "/api/me/two-step/replacement/confirm",
            &body,
        )
        .await;
    assert!(
        response.status().is_success(),
        "{}",
        response.text().await.unwrap()
    );
    let message = smtp.wait_for_subject("moved to a new phone").await;
    assert_message(
        &message,
        ALICE,
        &[
            "2-step verification of your account was moved to a new phone",
            "By: you",
        ],
    );
    let mut extra = extra_secrets(&app, &enrolled);
    extra.extend(codes_around(&app, &new));
    extra.push(setup.secret.clone());
    assert_no_secrets(
        &app,
        &smtp,
        &extra.iter().map(String::as_str).collect::<Vec<_>>(),
    )
    .await;
}

#[tokio::test]
async fn turning_two_step_off_is_told_with_who_did_it() {
    let smtp = SmtpServer::start().await;
    let app = mail_app(&smtp).await;
    let (client, id) = alice(&app).await;
    let enrolled = enroll(&app, &client).await;
    // By the holder, with a code as proof.
    app.clock.advance(STEP);
    let proof = totp(&enrolled.secret, app.now_step());
    let response = app.remove_device(&client, id, Some(&proof)).await;
    assert!(response.status().is_success());
    let message = smtp.wait_for_subject("turned off").await;
    assert_message(
        &message,
        ALICE,
        &[
            "2-step verification was turned off for your account.",
            "By: you",
        ],
    );
    // Again, by an administrator.
    let enrolled_again = enroll(&app, &client).await;
    app.create_user("root", "root password 12345", true).await;
    let admin = super::helpers::client();
    app.sign_in(&admin, "root", "root password 12345").await;
    let response = app.remove_device(&admin, id, None).await;
    assert!(response.status().is_success());
    for _ in 0..200 {
        if smtp.with_subject("turned off").len() == 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let off = smtp.with_subject("turned off");
    assert_eq!(off.len(), 2);
    let by_admin = off
        .iter()
        .find(|m| m.body.contains("administrator root"))
        .expect("by root");
    assert_message(
        by_admin,
        ALICE,
        &[
            "turned off for your account by the administrator root.",
            "By: the administrator root",
        ],
    );
    let mut extra = extra_secrets(&app, &enrolled);
    extra.extend(extra_secrets(&app, &enrolled_again));
    extra.push("root password 12345".to_owned());
    assert_no_secrets(
        &app,
        &smtp,
        &extra.iter().map(String::as_str).collect::<Vec<_>>(),
    )
    .await;
}

#[tokio::test]
async fn a_recovery_code_used_is_told_with_how_many_are_left() {
    let smtp = SmtpServer::start().await;
    let app = mail_app(&smtp).await;
    let (client, _) = alice(&app).await;
    let enrolled = enroll(&app, &client).await;
    let other = super::helpers::client();
    app.sign_in_pending(&other, "alice", PASSWORD).await;
    app.verify_ok(&other, &enrolled.recovery_codes[0]).await;
    let message = smtp.wait_for_subject("A recovery code was used").await;
    assert_message(
        &message,
        ALICE,
        &["One of your recovery codes was used; 9 are left."],
    );
    assert_no_secrets(
        &app,
        &smtp,
        &extra_secrets(&app, &enrolled)
            .iter()
            .map(String::as_str)
            .collect::<Vec<_>>(),
    )
    .await;
}

#[tokio::test]
async fn new_recovery_codes_are_told() {
    let smtp = SmtpServer::start().await;
    let app = mail_app(&smtp).await;
    let (client, _) = alice(&app).await;
    let enrolled = enroll(&app, &client).await;
    app.clock.advance(STEP);
    let body = json!({ "code": totp(&enrolled.secret, app.now_step()) });
    let codes: RecoveryCodes = ok_json(
        app.send_json(
            &client,
            Method::POST,
            "/api/me/two-step/recovery-codes",
            &body,
        )
        .await,
    )
    .await;
    let message = smtp.wait_for_subject("New recovery codes were made").await;
    assert_message(
        &message,
        ALICE,
        &[
            "New recovery codes were made for your account; the previous ones no longer work.",
            "By: you",
        ],
    );
    let mut extra = extra_secrets(&app, &enrolled);
    extra.extend(codes.recovery_codes);
    assert_no_secrets(
        &app,
        &smtp,
        &extra.iter().map(String::as_str).collect::<Vec<_>>(),
    )
    .await;
}

#[tokio::test]
async fn a_password_change_is_told() {
    let smtp = SmtpServer::start().await;
    let app = mail_app(&smtp).await;
    let (client, _) = alice(&app).await;
    let body = json!({ "current_password": PASSWORD, "new_password": "a new long password 2" });
    let response = app
        .send_json(&client, Method::POST, "/api/me/password", &body)
        .await;
    assert!(response.status().is_success());
    let message = smtp.wait_for_subject("Your password was changed").await;
    assert_message(
        &message,
        ALICE,
        &[
            "The password of your account was changed.",
            "By: you",
            "From the address: 127.0.0.1",
        ],
    );
    assert_no_secrets(&app, &smtp, &[]).await;
}

#[tokio::test]
async fn a_password_reset_is_told_with_who_did_it() {
    let smtp = SmtpServer::start().await;
    let app = mail_app(&smtp).await;
    let (_, id) = alice(&app).await;
    let subject = twostep::accounts::users::find(&app.db, id)
        .await
        .unwrap()
        .unwrap();
    twostep::accounts::operations::reset_password(
        &app.state,
        twostep::accounts::By::Operator,
        &subject,
        twostep::accounts::operations::NewPassword::Typed("a one-time password 77"),
    )
    .await
    .expect("reset");
    let message = smtp.wait_for_subject("Your password was reset").await;
    assert_message(
        &message,
        ALICE,
        &[
            "The password of your account was reset by the server's operator",
            "By: the server's operator",
        ],
    );
    assert_no_secrets(&app, &smtp, &["a one-time password 77"]).await;
}

#[tokio::test]
async fn a_sign_in_from_a_new_browser_is_told_once_per_browser() {
    let smtp = SmtpServer::start().await;
    let app = mail_app(&smtp).await;
    let (browser, _) = alice(&app).await;
    let message = smtp.wait_for_subject("Sign-in from a new browser").await;
    assert_message(
        &message,
        ALICE,
        &[
            "Your account was signed in to from a browser it has not used before.",
            "From the address: 127.0.0.1",
        ],
    );
    // The same browser again (it shows its known-browser cookie): nothing new.
    app.sign_in(&browser, "alice", PASSWORD).await;
    // Another browser: told.
    let other = Client::builder()
        .cookie_store(true)
        .user_agent("Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0")
        .build()
        .unwrap();
    app.sign_in(&other, "alice", PASSWORD).await;
    app.outbox_settled().await;
    let told = smtp.with_subject("Sign-in from a new browser");
    assert_eq!(told.len(), 2, "{told:#?}");
    assert!(
        told.iter()
            .any(|m| m.body.contains("Browser: Firefox on Linux")),
        "{told:#?}"
    );
    assert_no_secrets(&app, &smtp, &[]).await;
}

#[tokio::test]
async fn the_right_password_without_the_code_step_is_told_after_ten_minutes() {
    let smtp = SmtpServer::start().await;
    let app = mail_app(&smtp).await;
    let (client, _) = alice(&app).await;
    let enrolled = enroll(&app, &client).await;
    // Completed in time: nothing.
    let done = super::helpers::client();
    app.sign_in_pending(&done, "alice", PASSWORD).await;
    app.clock.advance(STEP);
    app.verify_ok(&done, &totp(&enrolled.secret, app.now_step()))
        .await;
    // Not completed.
    let attacker = super::helpers::client();
    app.sign_in_pending(&attacker, "alice", PASSWORD).await;
    app.clock.advance(9 * 60);
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(
        smtp.with_subject("without the code step").is_empty(),
        "not before 10 minutes"
    );
    app.clock.advance(61);
    let message = smtp.wait_for_subject("without the code step").await;
    assert_message(
        &message,
        ALICE,
        &[
            "The right password for your account was typed",
            "within 10 minutes",
        ],
    );
    app.clock.advance(3600);
    app.outbox_settled().await;
    assert_eq!(
        smtp.with_subject("without the code step").len(),
        1,
        "the completed one is not told"
    );
    assert_no_secrets(
        &app,
        &smtp,
        &extra_secrets(&app, &enrolled)
            .iter()
            .map(String::as_str)
            .collect::<Vec<_>>(),
    )
    .await;
}

/// Sets the account's wrong-code counter just below the lock, as after 99 wrong codes.
async fn near_the_lock(app: &TestApp, id: i64) {
    sqlx::query(
        "UPDATE two_step_devices SET failed_attempts = 99, last_failed_at = 0 WHERE user_id = $1",
    )
    .bind(id)
    .execute(&app.db)
    .await
    .unwrap();
}

#[tokio::test]
async fn a_locked_code_step_is_told() {
    let smtp = SmtpServer::start().await;
    let app = mail_app(&smtp).await;
    let (client, id) = alice(&app).await;
    let enrolled = enroll(&app, &client).await;
    near_the_lock(&app, id).await;
    let other = super::helpers::client();
    app.sign_in_pending(&other, "alice", PASSWORD).await;
    let wrong = wrong_code(&enrolled.secret, app.now_step(), 2);
    let response = app.verify(&other, &wrong).await;
    assert_eq!(
        response.status(),
        StatusCode::LOCKED,
        "{}",
        response.text().await.unwrap()
    );
    let message = smtp.wait_for_subject("code step is locked").await;
    assert_message(
        &message,
        ALICE,
        &[
            "Too many wrong verification codes",
            "From the address: 127.0.0.1",
        ],
    );
    // (The wrong code is no secret: "000000" is in the Message-ID's time.)
    let extra = extra_secrets(&app, &enrolled);
    assert_no_secrets(
        &app,
        &smtp,
        &extra.iter().map(String::as_str).collect::<Vec<_>>(),
    )
    .await;
}

#[tokio::test]
async fn without_an_address_or_without_mail_settings_nothing_is_queued() {
    let smtp = SmtpServer::start().await;
    let app = mail_app(&smtp).await;
    let id = app.create_user("bob", PASSWORD, false).await;
    let client = client();
    app.sign_in(&client, "bob", PASSWORD).await;
    app.setup_and_confirm(&client).await;
    assert_eq!(app.count("mail_outbox").await, 0);
    let plain = spawn_app().await;
    let id2 = plain.create_user("bob", PASSWORD, false).await;
    plain.set_email(id2, ALICE).await;
    let client = super::helpers::client();
    plain.sign_in(&client, "bob", PASSWORD).await;
    plain.setup_and_confirm(&client).await;
    assert_eq!(plain.count("mail_outbox").await, 0);
    let _ = id;
}

/// 50 sign-ins with the right password (each would be told as "not completed"), then a burst
/// of their 50 wrong codes at once on an account near its lock: at most the hourly number of
/// each kind is queued and delivered.
/// A burst on two instances at once: 50 password steps (each queues "the code step was not
/// completed"), then 50 wrong codes (the code step locks), each burst sent on many
/// connections at once, half to each instance: at most the hourly number of each kind.
#[tokio::test]
async fn a_burst_of_wrong_codes_sends_at_most_the_allowed_number() {
    let smtp = SmtpServer::start().await;
    let app = mail_app(&smtp).await;
    let second = app.another_instance().await;
    let (client, id) = alice(&app).await;
    let enrolled = enroll(&app, &client).await;
    near_the_lock(&app, id).await;
    let wrong = wrong_code(&enrolled.secret, app.now_step(), 2);
    let urls = [app.url(""), second.url("")];
    // Each request on its own connection (a client each), all released by one barrier.
    let burst = |path: &'static str, body: serde_json::Value, clients: Vec<Client>| {
        let barrier = Arc::new(tokio::sync::Barrier::new(clients.len()));
        let tasks: Vec<_> = clients
            .into_iter()
            .enumerate()
            .map(|(n, c)| {
                let url = format!("{}{path}", urls[n % 2].trim_end_matches('/'));
                let (barrier, body) = (barrier.clone(), body.clone());
                tokio::spawn(async move {
                    barrier.wait().await;
                    let response = c.post(url).json(&body).send().await.unwrap();
                    (c, response.status())
                })
            })
            .collect();
        async move {
            let mut answers = Vec::new();
            for task in tasks {
                answers.push(task.await.unwrap());
            }
            answers
        }
    };
    let clients = (0..50).map(|_| super::helpers::client()).collect();
    let password = json!({ "username": "alice", "password": PASSWORD });
    let pending = burst("/api/session", password, clients).await;
    let mut clients = Vec::new();
    let mut busy = 0;
    for (n, (c, status)) in pending.into_iter().enumerate() {
        if status == StatusCode::TOO_MANY_REQUESTS {
            // The server hashes a few passwords at a time and asks the rest to come back:
            // they do, one by one, on the same instance.
            busy += 1;
            let instance = if n % 2 == 0 { &app } else { &second };
            instance.sign_in_pending(&c, "alice", PASSWORD).await;
        } else {
            assert!(status.is_success(), "{status}");
        }
        clients.push(c);
    }
    assert!(busy < 50, "some password steps ran at once");
    for (_, status) in burst("/api/session/verify", json!({ "code": wrong }), clients).await {
        assert!(status.is_client_error(), "{status}");
    }
    // What is due now is sent before the clocks move (a clock jumping past a sender's lease
    // while it sends is the one case that may send twice, on purpose: see e-mail.md).
    for _ in 0..400 {
        let due: i64 = sqlx::query(
            "SELECT COUNT(*) AS n FROM mail_outbox WHERE state = 'due' AND send_after <= $1",
        )
        .bind(app.now() as i64)
        .fetch_one(&app.db)
        .await
        .unwrap()
        .try_get("n")
        .unwrap();
        if due == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // Past the 10 minutes of the unfinished code steps, on both instances.
    app.clock.advance(11 * 60);
    second.clock.advance(11 * 60);
    app.outbox_settled().await;
    let queued = twostep::mail::outbox::PER_HOUR as usize;
    let locked = smtp.with_subject("code step is locked").len();
    let unfinished = smtp.with_subject("without the code step").len();
    assert_eq!(locked, 1, "one lock");
    assert_eq!(
        unfinished, queued,
        "{unfinished} unfinished-code-step messages"
    );
    assert!(
        smtp.messages().len() <= 2 + 2 * queued,
        "{:#?}",
        smtp.messages()
    );
    drop(second);
}

/// Senders of several instances taking at the same moment (many connections, one barrier)
/// never take the same row: the take is one statement (and `FOR UPDATE SKIP LOCKED` on
/// PostgreSQL).
#[tokio::test]
async fn simultaneous_takes_never_take_a_row_twice() {
    // No mail settings: no sender of the server's own takes rows meanwhile.
    let app = spawn_app_with(Settings::default()).await;
    let id = app.create_user("alice", PASSWORD, false).await;
    let now = app.now();
    for n in 0..120 {
        sqlx::query(
            "INSERT INTO mail_outbox (user_id, kind, recipient, subject, body, created_at, send_after)
             VALUES ($1, 'test', $2, $3, 'text', $4, $4)",
        )
        .bind(id)
        .bind(ALICE)
        .bind(format!("message {n}"))
        .bind(now as i64)
        .execute(&app.db)
        .await
        .unwrap();
    }
    let postgres = std::env::var("TWOSTEP_TEST_DB").is_ok_and(|v| v == "postgres");
    let takers = 8;
    let barrier = Arc::new(tokio::sync::Barrier::new(takers));
    let tasks: Vec<_> = (0..takers)
        .map(|_| {
            let (db, barrier) = (app.db.clone(), barrier.clone());
            tokio::spawn(async move {
                barrier.wait().await;
                let mut ids = Vec::new();
                loop {
                    let taken = twostep::mail::outbox::take(&db, postgres, now, 5)
                        .await
                        .unwrap();
                    if taken.is_empty() {
                        return ids;
                    }
                    ids.extend(taken.into_iter().map(|t| t.id));
                }
            })
        })
        .collect();
    let mut all = Vec::new();
    for task in tasks {
        all.extend(task.await.unwrap());
    }
    let taken = all.len();
    all.sort_unstable();
    all.dedup();
    assert_eq!(all.len(), 120, "every row taken");
    assert_eq!(taken, 120, "no row taken twice");
}

/// Events while the mail server is down: every message arrives once it is back, none twice.
#[tokio::test]
async fn messages_queued_while_the_server_is_down_all_arrive_once() {
    let mut smtp = SmtpServer::start().await;
    let app = mail_app(&smtp).await;
    smtp.stop();
    let (client, _) = alice(&app).await;
    let enrolled = enroll(&app, &client).await;
    app.clock.advance(STEP);
    let body = json!({ "code": totp(&enrolled.secret, app.now_step()) });
    let response = app
        .send_json(
            &client,
            Method::POST,
            "/api/me/two-step/recovery-codes",
            &body,
        )
        .await;
    assert!(response.status().is_success());
    // The sender tried and failed: each row waits for its retry (the failure recorded, not
    // only the row taken: a failure recorded after the clock moves on below would set its
    // retry after that).
    let mut tried = false;
    for _ in 0..200 {
        let row = sqlx::query(
            "SELECT COUNT(*) AS n FROM mail_outbox
             WHERE attempts >= 1 AND taken_until = 0 AND last_error IS NOT NULL",
        )
        .fetch_one(&app.db)
        .await
        .unwrap();
        if row.try_get::<i64, _>("n").unwrap() >= 3 {
            tried = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(tried, "the sender tried while the server was down");
    assert_eq!(app.count("mail_outbox").await, 3);
    smtp.restart().await;
    app.clock.advance(2 * 60);
    let messages = smtp.wait_for(3).await;
    app.outbox_settled().await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let messages_after = smtp.messages();
    assert_eq!(messages_after.len(), 3, "{messages:#?}");
    let mut ids: Vec<_> = messages_after
        .iter()
        .map(|m| m.message_id.clone())
        .collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 3, "each message once");
}

/// Two instances on one database, each with its sender: each message arrives once.
#[tokio::test]
async fn two_instances_send_each_message_once() {
    let smtp = SmtpServer::start().await;
    let app = mail_app(&smtp).await;
    let second = app.another_instance().await;
    let id = app.create_user("alice", PASSWORD, false).await;
    let now = app.now() as i64;
    for n in 0..60 {
        sqlx::query(
            "INSERT INTO mail_outbox (user_id, kind, recipient, subject, body, created_at, send_after)
             VALUES ($1, 'test', $2, $3, 'text', $4, $4)",
        )
        .bind(id)
        .bind(ALICE)
        .bind(format!("message {n}"))
        .bind(now)
        .execute(&app.db)
        .await
        .unwrap();
    }
    app.outbox_settled().await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let messages = smtp.messages();
    let mut subjects: Vec<_> = messages.iter().map(|m| m.subject.clone()).collect();
    subjects.sort();
    subjects.dedup();
    assert_eq!(subjects.len(), 60);
    assert_eq!(messages.len(), 60, "none twice");
    drop(second);
}

/// A sender that took a row (the senders' own take) and died before marking it sent: the row
/// is taken again after the lease, and the message arrives, once.
#[tokio::test]
async fn a_row_taken_by_a_dead_sender_is_sent_after_the_lease() {
    let smtp = SmtpServer::start().await;
    let app = mail_app(&smtp).await;
    let id = app.create_user("alice", PASSWORD, false).await;
    // Due a second from now, so that the server's own sender does not see it first.
    let due = app.now() + 1;
    sqlx::query(
        "INSERT INTO mail_outbox (user_id, kind, recipient, subject, body, created_at, send_after)
         VALUES ($1, 'test', $2, 'taken by a sender that died', 'text', $3, $3)",
    )
    .bind(id)
    .bind(ALICE)
    .bind(due as i64)
    .execute(&app.db)
    .await
    .unwrap();
    let postgres = std::env::var("TWOSTEP_TEST_DB").is_ok_and(|v| v == "postgres");
    let taken = twostep::mail::outbox::take(&app.db, postgres, due, 20)
        .await
        .unwrap();
    assert_eq!(taken.len(), 1);
    // ...and that sender is gone: nothing marks the row.
    app.clock.advance(1);
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(
        smtp.messages().is_empty(),
        "not while its sender may still send it"
    );
    app.clock.advance(twostep::mail::outbox::LEASE);
    let message = smtp.wait_for_subject("taken by a sender that died").await;
    assert_eq!(message.to, ALICE);
    app.outbox_settled().await;
    assert_eq!(smtp.messages().len(), 1);
}

/// A day of failures: the message is marked failed, audited and counted.
#[tokio::test]
async fn a_message_undelivered_for_a_day_is_marked_failed_and_audited() {
    let mut smtp = SmtpServer::start().await;
    let app = spawn_app_with(Settings {
        mail: Some(Arc::new(mail_settings(&smtp.url(), None))),
        metrics_route: true,
        ..Settings::default()
    })
    .await;
    smtp.stop();
    let (client, id) = alice(&app).await;
    let _ = client;
    let mut waited = 0;
    while !app.outbox_states().await.contains_key("failed") {
        app.clock.advance(3600);
        tokio::time::sleep(Duration::from_millis(100)).await;
        waited += 1;
        assert!(waited < 100, "{:?}", app.outbox_states().await);
    }
    let row = sqlx::query("SELECT attempts, last_error FROM mail_outbox")
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert!(row.try_get::<i64, _>("attempts").unwrap() > 3);
    let count = sqlx::query(
        "SELECT COUNT(*) AS n FROM audit_events WHERE event = 'email_failed' AND subject_id = $1",
    )
    .bind(id)
    .fetch_one(&app.db)
    .await
    .unwrap();
    assert_eq!(count.try_get::<i64, _>("n").unwrap(), 1);
    let metrics = app
        .get(&super::helpers::client(), "/metrics")
        .await
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains("twostep_mails_total{outcome=\"failed\"}"),
        "{metrics}"
    );
}

/// A test CA and a certificate for 127.0.0.1 signed by it, written to `dir`: (CA PEM,
/// certificate file, key file).
fn test_certificate(dir: &Path, name: &str) -> (Vec<u8>, PathBuf, PathBuf) {
    use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair};
    let mut ca = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca.distinguished_name
        .push(DnType::CommonName, format!("twostep test CA {name}"));
    let ca = CertifiedIssuer::self_signed(ca, KeyPair::generate().unwrap()).unwrap();
    let key = KeyPair::generate().unwrap();
    let cert = CertificateParams::new(vec!["127.0.0.1".to_owned()])
        .unwrap()
        .signed_by(&key, &ca)
        .unwrap();
    let (cert_file, key_file) = (
        dir.join(format!("{name}.crt")),
        dir.join(format!("{name}.key")),
    );
    std::fs::write(&cert_file, cert.pem()).unwrap();
    std::fs::write(&key_file, key.serialize_pem()).unwrap();
    (ca.pem().into_bytes(), cert_file, key_file)
}

/// STARTTLS (required) to a server whose certificate a test CA signed: delivered with that
/// CA given as the CA file; refused (never sent in clear) with another CA's.
#[tokio::test]
async fn starttls_with_a_private_ca() {
    let dir = tempfile::tempdir().unwrap();
    let (ca, cert, key) = test_certificate(dir.path(), "right");
    let (other_ca, _, _) = test_certificate(dir.path(), "other");
    let smtp = SmtpServer::start_with(Some((cert, key))).await;
    let url = format!("smtp://127.0.0.1:{}?tls=required", smtp.port);

    let trusting = mail_app_at(&url, Some(ca)).await;
    let id = trusting.create_user("alice", PASSWORD, false).await;
    trusting.set_email(id, ALICE).await;
    trusting.sign_in(&client(), "alice", PASSWORD).await;
    let message = smtp.wait_for_subject("Sign-in from a new browser").await;
    assert_eq!(message.to, ALICE);
    drop(trusting);

    let other = mail_app_at(&url, Some(other_ca)).await;
    let id = other.create_user("carol", PASSWORD, false).await;
    other.set_email(id, "carol@mail.example").await;
    other.sign_in(&client(), "carol", PASSWORD).await;
    let mut error = None;
    for _ in 0..200 {
        let row = sqlx::query("SELECT last_error FROM mail_outbox")
            .fetch_one(&other.db)
            .await
            .unwrap();
        error = row.try_get::<Option<String>, _>("last_error").unwrap();
        if error.is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let error = error.expect("the send failed");
    assert!(error.to_lowercase().contains("certificate"), "{error}");
    assert_eq!(
        smtp.messages().len(),
        1,
        "nothing from the untrusting server"
    );
}

async fn put_email(
    app: &TestApp,
    client: &Client,
    id: i64,
    email: Option<&str>,
) -> reqwest::Response {
    app.send_json(
        client,
        Method::PUT,
        &format!("/api/users/{id}/email"),
        &json!({ "email": email }),
    )
    .await
}

/// The holder sets an address (a recent sign-in needed: "Confirm it's you" after the
/// window), and a change is told to the previous address.
#[tokio::test]
async fn the_holder_sets_an_address_and_a_change_is_told_to_the_old_one() {
    let smtp = SmtpServer::start().await;
    let app = mail_app(&smtp).await;
    let id = app.create_user("alice", PASSWORD, false).await;
    let client = client();
    app.sign_in(&client, "alice", PASSWORD).await;
    assert_eq!(
        put_email(&app, &client, id, Some(ALICE)).await.status(),
        StatusCode::NO_CONTENT
    );
    let got: twostep_shared::account::EmailAddress =
        ok_json(app.get(&client, &format!("/api/users/{id}/email")).await).await;
    assert_eq!(got.email.as_deref(), Some(ALICE));
    assert_eq!(
        put_email(&app, &client, id, Some("not an address"))
            .await
            .status(),
        StatusCode::BAD_REQUEST
    );
    app.clock.advance(11 * 60);
    let stale = put_email(&app, &client, id, Some("alice.new@mail.example")).await;
    assert_eq!(stale.status(), StatusCode::FORBIDDEN);
    app.reauthenticate_ok(&client, PASSWORD).await;
    let changed = put_email(&app, &client, id, Some("alice.new@mail.example")).await;
    assert_eq!(changed.status(), StatusCode::NO_CONTENT);
    let message = smtp
        .wait_for_subject("address for security e-mails was changed")
        .await;
    assert_message(
        &message,
        ALICE,
        &["this address gets no more of them", "By: you"],
    );
    app.outbox_settled().await;
    assert!(
        smtp.messages()
            .iter()
            .all(|m| m.to != "alice.new@mail.example"),
        "the change is told to the old address"
    );
    let events = sqlx::query(
        "SELECT COUNT(*) AS n FROM audit_events WHERE event = 'email_address_changed' AND subject_id = $1",
    )
    .bind(id)
    .fetch_one(&app.db)
    .await
    .unwrap();
    assert_eq!(events.try_get::<i64, _>("n").unwrap(), 2);
    assert_no_secrets(&app, &smtp, &[]).await;
}

/// An administrator sets another account's address and sends a test message to their own;
/// others may do neither.
#[tokio::test]
async fn an_administrator_sets_addresses_and_sends_a_test_message_to_their_own() {
    let smtp = SmtpServer::start().await;
    let app = mail_app(&smtp).await;
    let alice_id = app.create_user("alice", PASSWORD, false).await;
    let root_id = app.create_user("root", "root password 12345", true).await;
    let admin = client();
    app.sign_in(&admin, "root", "root password 12345").await;
    let bob_id = app.create_user("bob", PASSWORD, false).await;
    let bob = super::helpers::client();
    app.sign_in(&bob, "bob", PASSWORD).await;
    assert_eq!(
        put_email(&app, &bob, alice_id, Some("bob@mail.example"))
            .await
            .status(),
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        put_email(&app, &admin, alice_id, Some(ALICE))
            .await
            .status(),
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        put_email(&app, &admin, root_id, Some("root@mail.example"))
            .await
            .status(),
        StatusCode::NO_CONTENT
    );
    let empty = json!({});
    let path = "/api/me/email/test";
    let by_bob = app.send_json(&bob, Method::POST, path, &empty).await;
    assert_eq!(by_bob.status(), StatusCode::FORBIDDEN);
    let by_admin = app.send_json(&admin, Method::POST, path, &empty).await;
    assert_eq!(by_admin.status(), StatusCode::ACCEPTED);
    let message = smtp.wait_for_subject("Test message").await;
    assert_eq!(message.to, "root@mail.example");
    assert!(message.body.contains("Hello root,"), "{}", message.body);
    let _ = bob_id;
    // Audited, and limited like every security e-mail: 3 an hour, then 429.
    let audited = sqlx::query(
        "SELECT COUNT(*) AS n FROM audit_events WHERE event = 'email_test_queued' AND subject_id = $1",
    )
    .bind(root_id)
    .fetch_one(&app.db)
    .await
    .unwrap();
    assert_eq!(audited.try_get::<i64, _>("n").unwrap(), 1);
    for _ in 0..2 {
        let again = app.send_json(&admin, Method::POST, path, &empty).await;
        assert_eq!(again.status(), StatusCode::ACCEPTED);
    }
    let flood = app.send_json(&admin, Method::POST, path, &empty).await;
    assert_eq!(flood.status(), StatusCode::TOO_MANY_REQUESTS);
    app.outbox_settled().await;
    let tests = smtp.messages();
    let tests = tests.iter().filter(|m| m.subject.contains("Test message"));
    assert_eq!(tests.count(), 3);
}

/// An administrator adds a Team Server account with its address (not an organizational
/// one: its provider gives it); the Users list shows addresses to administrators and to
/// each user their own, and to nobody else.
#[tokio::test]
async fn addresses_are_set_when_adding_a_user_and_shown_in_the_users_list() {
    let smtp = SmtpServer::start().await;
    let app = mail_app(&smtp).await;
    app.create_user("root", "root password 12345", true).await;
    let admin = client();
    app.sign_in(&admin, "root", "root password 12345").await;
    // A Team Server account named `name` with the address `email`, added by root.
    let add = |name: &'static str, email: &'static str| {
        let (app, admin) = (&app, &admin);
        async move {
            let account = json!({"username": name, "role": "user",
                                 "account": {"kind": "team_server"}, "email": email});
            app.send_json(admin, Method::POST, "/api/users", &account)
                .await
        }
    };
    let added = add("dana", " Dana@Mail.Example ").await;
    assert_eq!(added.status(), StatusCode::CREATED);
    let added: twostep_shared::api::AccountCreated = added.json().await.unwrap();
    assert_eq!(added.user.email.as_deref(), Some("Dana@mail.example"));
    let bad = add("erin", "not an address").await;
    assert_eq!(bad.status(), StatusCode::BAD_REQUEST);
    app.create_user("bob", PASSWORD, false).await;
    let bob = client();
    app.sign_in(&bob, "bob", PASSWORD).await;
    put_email(
        &app,
        &bob,
        app.user_id("bob").await,
        Some("bob@mail.example"),
    )
    .await;
    let list = |client: Client| {
        let app = &app;
        async move {
            let list: twostep_shared::api::UserList =
                ok_json(app.get(&client, "/api/users").await).await;
            list.users
                .into_iter()
                .map(|u| (u.username, u.email))
                .collect::<BTreeMap<_, _>>()
        }
    };
    let by_admin = list(admin.clone()).await;
    assert_eq!(by_admin["dana"].as_deref(), Some("Dana@mail.example"));
    assert_eq!(by_admin["bob"].as_deref(), Some("bob@mail.example"));
    let by_bob = list(bob.clone()).await;
    assert_eq!(by_bob["dana"], None, "not another user's address");
    assert_eq!(by_bob["bob"].as_deref(), Some("bob@mail.example"));
    let dana: twostep_shared::api::User = ok_json(
        app.get(&admin, &format!("/api/users/{}", added.user.id))
            .await,
    )
    .await;
    assert_eq!(dana.email.as_deref(), Some("Dana@mail.example"));
    let me: twostep_shared::api::User = ok_json(app.get(&bob, "/api/me").await).await;
    assert_eq!(me.email.as_deref(), Some("bob@mail.example"));
}

/// `GET /api/me` shows the address from the session cache; a change on another instance
/// (set, changed, removed) is shown at the next request all the same.
#[tokio::test]
async fn the_own_address_shown_follows_changes_made_on_another_instance() {
    let smtp = SmtpServer::start().await;
    let app = mail_app(&smtp).await;
    let other = app.another_instance().await;
    app.create_user("root", "root password 12345", true).await;
    app.create_user("bob", PASSWORD, false).await;
    let (admin, bob) = (client(), client());
    app.sign_in(&admin, "root", "root password 12345").await;
    app.sign_in(&bob, "bob", PASSWORD).await;
    let bob_id = app.user_id("bob").await;
    for email in [Some("bob@mail.example"), Some("bob.new@mail.example"), None] {
        // Twice on the second instance: the second answer comes from its cache.
        for _ in 0..2 {
            let _: twostep_shared::api::User = ok_json(other.get(&bob, "/api/me").await).await;
        }
        let put = put_email(&app, &admin, bob_id, email).await;
        let status = put.status();
        assert_eq!(
            status,
            StatusCode::NO_CONTENT,
            "{}",
            put.text().await.unwrap()
        );
        let me: twostep_shared::api::User = ok_json(other.get(&bob, "/api/me").await).await;
        assert_eq!(me.email.as_deref(), email);
    }
}

#[tokio::test]
async fn security_keys_added_or_removed_are_told_with_who_did_it() {
    use super::security_keys::{Key, add_key, key_proof};
    use twostep_shared::security_keys::KeyAdded;
    let smtp = SmtpServer::start().await;
    let app = mail_app(&smtp).await;
    let (client, id) = alice(&app).await;
    // The first key: added, and it turned 2-step verification on.
    let mut first = Key::new(&app);
    let name = "YubiKey on my keyring";
    let added: KeyAdded =
        ok_json(add_key(&app, &client, &mut first, name, false, json!({})).await).await;
    let message = smtp.wait_for_subject("A security key was added").await;
    assert_message(
        &message,
        ALICE,
        &[
            "A security key was added to your account.",
            "By: you",
            "From the address: 127.0.0.1",
        ],
    );
    smtp.wait_for_subject("2-step verification was turned on")
        .await;
    // A second key (the first proves it), removed by the holder (the first proves it).
    let mut second = Key::new(&app);
    let answer = key_proof(&app, &client, &mut first).await;
    let proof = json!({ "security_key": answer });
    let spare: KeyAdded =
        ok_json(add_key(&app, &client, &mut second, "Spare", false, proof).await).await;
    let mut stored: Vec<String> = sqlx::query_scalar("SELECT credential_id FROM security_keys")
        .fetch_all(&app.db)
        .await
        .expect("credential ids");
    assert_eq!(stored.len(), 2);
    let answer = key_proof(&app, &client, &mut first).await;
    stored.push(answer.response.signature.clone());
    let path = format!("/api/me/security-keys/{}", spare.key.id);
    let body = json!({ "security_key": answer });
    let response = app.send_json(&client, Method::DELETE, &path, &body).await;
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    let removed = smtp.wait_for_subject("A security key was removed").await;
    assert_message(
        &removed,
        ALICE,
        &["A security key was removed from your account.", "By: you"],
    );
    // Every message queued so far is out (the sender takes them in its own time).
    app.outbox_settled().await;
    assert_eq!(smtp.with_subject("A security key was added").len(), 2);
    // The operator removes the last one (as `twostep user remove-security-key` does): told
    // with who did it, and 2-step verification is off.
    let user = twostep::accounts::users::find(&app.db, id)
        .await
        .expect("read")
        .expect("alice");
    twostep::factors::security_keys::remove(
        &app.state,
        twostep::accounts::By::Operator,
        &user,
        added.key.id,
        Default::default(),
        &Default::default(),
    )
    .await
    .expect("removed by the operator");
    for _ in 0..200 {
        if smtp.with_subject("A security key was removed").len() == 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let by_operator = smtp
        .with_subject("A security key was removed")
        .into_iter()
        .find(|m| m.body.contains("operator"))
        .expect("by the operator");
    assert_message(
        &by_operator,
        ALICE,
        &[
            "A security key was removed from your account by the server's operator.",
            "By: the server's operator",
        ],
    );
    let off = smtp.wait_for_subject("turned off").await;
    assert!(
        off.body.contains("by the server's operator"),
        "{}",
        off.body
    );
    let mut extra = added.recovery_codes.clone();
    extra.extend(stored);
    assert_no_secrets(
        &app,
        &smtp,
        &extra.iter().map(String::as_str).collect::<Vec<_>>(),
    )
    .await;
}
