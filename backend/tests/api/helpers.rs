//! A server per test (own database, own clock) and small helpers to talk to it.

use hmac::{Hmac, Mac};
use reqwest::header::{CONTENT_TYPE, HeaderMap};
use reqwest::{Client, Response, StatusCode};
use sha1::Sha1;
use sqlx::{AnyPool, Row};
use std::path::PathBuf;
use std::sync::Arc;
use tempfile::TempDir;
use tokio::task::JoinHandle;
use twostep::app::{AppState, Settings, router};
use twostep::clock::ManualClock;
use twostep::seal::SealKey;
use twostep::users::{NewUser, create};
use twostep_shared::api::{
    ConfirmRequest, RecoveryCodes, Role, SetupResponse, SignInRequest, SignInResponse, User,
    VerifyRequest,
};
use twostep_shared::{ErrorBody, ErrorCode};

/// The instant every test starts at (20 seconds into its 30-second step).
pub const START: u64 = 1_700_000_000;
/// Seconds per TOTP time step.
pub const STEP: u64 = 30;

/// A running server and what a test needs to steer and inspect it.
pub struct TestApp {
    pub base: String,
    pub clock: ManualClock,
    pub db: AnyPool,
    /// The SQLite database file.
    pub db_path: PathBuf,
    server: JoinHandle<()>,
    _dir: TempDir,
}

impl Drop for TestApp {
    fn drop(&mut self) {
        self.server.abort();
    }
}

/// Starts the API on `127.0.0.1:0` around a fresh database. The listener is bound before
/// the server task starts, so the server is reachable as soon as this returns.
pub async fn spawn_app() -> TestApp {
    let dir = tempfile::tempdir().expect("temporary folder");
    let db_path = dir.path().join("t.db");
    let url = format!("sqlite://{}?mode=rwc", db_path.display());
    let db = twostep::db::connect(&url).await.expect("open the database");
    let clock = ManualClock::new(START);
    let state = AppState::new(
        db.clone(),
        Arc::new(clock.clone()),
        SealKey::generate(),
        Settings::default(),
    );
    let app = router(state, None);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind a local port");
    let addr = listener.local_addr().expect("local address");
    let server = tokio::spawn(async move {
        axum::serve(
            listener,
            app.into_make_service_with_connect_info::<std::net::SocketAddr>(),
        )
        .await
        .expect("serve");
    });
    TestApp {
        base: format!("http://{addr}"),
        clock,
        db,
        db_path,
        server,
        _dir: dir,
    }
}

/// A browser-like client: it keeps the session cookie.
pub fn client() -> Client {
    Client::builder()
        .cookie_store(true)
        .build()
        .expect("HTTP client")
}

/// A client without a cookie store, for sending cookies by hand.
pub fn bare_client() -> Client {
    Client::builder().build().expect("HTTP client")
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// The injected clock's time.
    pub fn now(&self) -> u64 {
        twostep::clock::Clock::now(&self.clock)
    }

    /// The current TOTP time step of the injected clock.
    pub fn now_step(&self) -> u64 {
        self.now() / STEP
    }

    /// Creates a Team Server account; returns its id.
    pub async fn create_user(&self, name: &str, password: &str, admin: bool) -> i64 {
        let password = password.to_owned();
        let hash = tokio::task::spawn_blocking(move || {
            twostep::passwords::hash_blocking(&password).expect("hash")
        })
        .await
        .expect("hashing task");
        let new = NewUser {
            username: name,
            password_hash: Some(hash),
            role: if admin {
                Role::Administrator
            } else {
                Role::User
            },
            identity_provider: None,
        };
        create(&self.db, new, START)
            .await
            .expect("insert user")
            .expect("username is free")
    }

    /// The password step; returns the raw response.
    pub async fn sign_in_raw(&self, client: &Client, name: &str, password: &str) -> Response {
        client
            .post(self.url("/api/session"))
            .json(&SignInRequest {
                username: name.to_owned(),
                password: password.to_owned(),
            })
            .send()
            .await
            .expect("request")
    }

    /// The password step, which must succeed (200).
    pub async fn sign_in(&self, client: &Client, name: &str, password: &str) -> SignInResponse {
        let response = self.sign_in_raw(client, name, password).await;
        ok_json(response).await
    }

    /// The password step for an account with a device: must ask for a code.
    pub async fn sign_in_pending(&self, client: &Client, name: &str, password: &str) {
        match self.sign_in(client, name, password).await {
            SignInResponse::VerificationRequired { expires_in_seconds } => {
                assert_eq!(expires_in_seconds, 300);
            }
            other => panic!("expected verification_required, got {other:?}"),
        }
    }

    /// The code step; returns the raw response.
    pub async fn verify(&self, client: &Client, code: &str) -> Response {
        client
            .post(self.url("/api/session/verify"))
            .json(&VerifyRequest {
                code: code.to_owned(),
            })
            .send()
            .await
            .expect("request")
    }

    /// The code step, which must complete the sign-in.
    pub async fn verify_ok(&self, client: &Client, code: &str) -> User {
        match ok_json(self.verify(client, code).await).await {
            SignInResponse::SignedIn { user } => user,
            other => panic!("expected signed_in, got {other:?}"),
        }
    }

    pub async fn get(&self, client: &Client, path: &str) -> Response {
        client.get(self.url(path)).send().await.expect("request")
    }

    pub async fn me(&self, client: &Client) -> User {
        ok_json(self.get(client, "/api/me").await).await
    }

    pub async fn setup_raw(&self, client: &Client) -> Response {
        client
            .post(self.url("/api/me/two-step/setup"))
            .json(&serde_json::json!({}))
            .send()
            .await
            .expect("request")
    }

    pub async fn setup(&self, client: &Client) -> SetupResponse {
        ok_json(self.setup_raw(client).await).await
    }

    pub async fn confirm(&self, client: &Client, code1: &str, code2: &str) -> Response {
        client
            .post(self.url("/api/me/two-step/confirm"))
            .json(&ConfirmRequest {
                code1: code1.to_owned(),
                code2: code2.to_owned(),
            })
            .send()
            .await
            .expect("request")
    }

    /// Setup, then confirm with the codes of the steps `now - 1` and `now` (as a person
    /// would type them: the current code, then the next one after it appears).
    pub async fn setup_and_confirm(&self, client: &Client) -> Enrolled {
        let setup = self.setup(client).await;
        let secret = base32_decode(&setup.secret);
        assert_eq!(secret.len(), 20, "160-bit secret");
        let t = self.now_step();
        let response = self
            .confirm(client, &totp(&secret, t - 1), &totp(&secret, t))
            .await;
        let codes: RecoveryCodes = ok_json(response).await;
        Enrolled {
            secret,
            recovery_codes: codes.recovery_codes,
        }
    }

    /// A user with a device, signed in on `client` (the enrolling session).
    pub async fn enrolled_user(&self, client: &Client, name: &str, password: &str) -> Enrolled {
        self.create_user(name, password, false).await;
        assert!(matches!(
            self.sign_in(client, name, password).await,
            SignInResponse::SignedIn { .. }
        ));
        self.setup_and_confirm(client).await
    }

    /// Rows in a table.
    pub async fn count(&self, table: &str) -> i64 {
        let sql = format!("SELECT COUNT(*) AS n FROM {table}");
        sqlx::query(sqlx::AssertSqlSafe(sql))
            .fetch_one(&self.db)
            .await
            .expect("count")
            .try_get("n")
            .expect("n")
    }

    /// Rows in every table, to show a request changed nothing.
    pub async fn row_counts(&self) -> Vec<(&'static str, i64)> {
        let mut counts = Vec::new();
        for table in [
            "users",
            "sessions",
            "two_step_setups",
            "two_step_devices",
            "recovery_codes",
        ] {
            counts.push((table, self.count(table).await));
        }
        counts
    }
}

/// What enrollment produced.
pub struct Enrolled {
    pub secret: Vec<u8>,
    pub recovery_codes: Vec<String>,
}

/// Asserts a 200 and decodes the JSON body.
pub async fn ok_json<T: serde::de::DeserializeOwned>(response: Response) -> T {
    let status = response.status();
    let text = response.text().await.expect("body");
    assert_eq!(status, StatusCode::OK, "body: {text}");
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("decode {text}: {e}"))
}

/// Asserts the status, a JSON content type and the error code; returns the error body.
pub async fn expect_error(response: Response, status: StatusCode, code: ErrorCode) -> ErrorBody {
    expect_error_with_headers(response, status, code).await.1
}

/// Like [`expect_error`], and also returns the headers.
pub async fn expect_error_with_headers(
    response: Response,
    status: StatusCode,
    code: ErrorCode,
) -> (HeaderMap, ErrorBody) {
    let actual = response.status();
    let headers = response.headers().clone();
    let text = response.text().await.expect("body");
    assert_eq!(actual, status, "body: {text}");
    let content_type = headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    assert!(
        content_type.starts_with("application/json"),
        "content type {content_type:?}, body {text}"
    );
    let body: ErrorBody =
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("error body {text}: {e}"));
    assert_eq!(body.code, code, "body: {text}");
    assert!(!body.message.is_empty());
    (headers, body)
}

/// RFC 4648 base32 (upper-case alphabet, padding optional) to bytes.
pub fn base32_decode(text: &str) -> Vec<u8> {
    const ALPHABET: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let mut out = Vec::new();
    let mut buffer: u32 = 0;
    let mut bits = 0;
    for c in text.trim_end_matches('=').bytes() {
        let value = ALPHABET
            .iter()
            .position(|&a| a == c.to_ascii_uppercase())
            .unwrap_or_else(|| panic!("not base32: {text}")) as u32;
        buffer = (buffer << 5) | value;
        bits += 5;
        if bits >= 8 {
            bits -= 8;
            out.push((buffer >> bits) as u8);
            buffer &= (1 << bits) - 1;
        }
    }
    out
}

/// The 6-digit TOTP code (RFC 6238, SHA1, 30 s) of `step`, computed independently of the
/// server: HMAC-SHA1 of the step counter and RFC 4226 dynamic truncation.
pub fn totp(secret: &[u8], step: u64) -> String {
    let mut mac = Hmac::<Sha1>::new_from_slice(secret).expect("any key length");
    mac.update(&step.to_be_bytes());
    let digest = mac.finalize().into_bytes();
    let offset = usize::from(digest[19] & 0x0f);
    let binary = u32::from_be_bytes([
        digest[offset] & 0x7f,
        digest[offset + 1],
        digest[offset + 2],
        digest[offset + 3],
    ]);
    format!("{:06}", binary % 1_000_000)
}

/// A 6-digit code that is not the code of any step within `radius` of `center`.
pub fn wrong_code(secret: &[u8], center: u64, radius: u64) -> String {
    let near: Vec<String> = (center - radius..=center + radius)
        .map(|s| totp(secret, s))
        .collect();
    (0..1_000_000)
        .map(|n| format!("{n:06}"))
        .find(|c| !near.contains(c))
        .expect("some code is wrong")
}

#[test]
fn totp_helper_passes_rfc6238_sha1_vectors() {
    // RFC 6238 Appendix B (SHA1), last 6 of the 8 digits.
    let seed = b"12345678901234567890";
    for (time, code8) in [
        (59u64, "94287082"),
        (1_111_111_109, "07081804"),
        (1_234_567_890, "89005924"),
        (2_000_000_000, "69279037"),
    ] {
        assert_eq!(totp(seed, time / 30), code8[2..]);
    }
}

#[test]
fn base32_helper_decodes_rfc4648() {
    assert_eq!(
        base32_decode("GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"),
        b"12345678901234567890"
    );
    assert_eq!(base32_decode("MZXW6YTBOI======"), b"foobar");
}
