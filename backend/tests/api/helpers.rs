//! A server per test (own database, own clock) and small helpers to talk to it.

use hmac::{Hmac, Mac};
use reqwest::cookie::{CookieStore, Jar};
use reqwest::header::{CONTENT_TYPE, HeaderMap};
use reqwest::{Client, Response, StatusCode};
use sha1::Sha1;
use sqlx::{AnyPool, Row};
use std::path::PathBuf;
use std::sync::Arc;
use tempfile::TempDir;
use tokio::task::JoinHandle;
use twostep::accounts::users::{IdentityLink, NewUser, create};
use twostep::app::{AppState, Settings, router};
use twostep::clock::ManualClock;
use twostep::sessions::Stage;
use twostep::storage::seal::SealKey;
use twostep_shared::api::{
    AuditEntry, AuditPage, ConfirmRequest, RecoveryCodes, RemoveDeviceRequest, Role, SetupResponse,
    SignInRequest, SignInResponse, User, VerifyRequest,
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
    /// Where the data lives: a SQLite file, or a PostgreSQL database of the test cluster.
    pub storage: Storage,
    /// The server key, so a [`TestApp::fork`] can open what this server sealed.
    seal: SealKey,
    /// The settings it was started with (forks and other instances get the same).
    settings: Settings,
    /// Its hashing threads, to see how much Argon2 work requests caused.
    pub hasher: twostep::accounts::passwords::Hasher,
    /// Its state (the session cache, the "last seen" times waiting to be written).
    pub state: twostep::app::AppState,
    server: JoinHandle<()>,
    _background: twostep::app::Background,
    /// The temporary folder holding the database, when the test app owns it.
    _dir: Option<TempDir>,
}

impl Drop for TestApp {
    fn drop(&mut self) {
        self.server.abort();
    }
}

/// The database a test server uses.
#[derive(Debug, Clone)]
pub enum Storage {
    Sqlite(PathBuf),
    /// The database's name on the cluster at `TWOSTEP_TEST_POSTGRES_URL`.
    Postgres(String),
}

impl Storage {
    /// The database URL the server was started with.
    pub fn url(&self) -> String {
        match self {
            Storage::Sqlite(path) => format!("sqlite://{}?mode=rwc", path.display()),
            Storage::Postgres(name) => postgres_url(name),
        }
    }
}

/// Whether this run uses PostgreSQL (`TWOSTEP_TEST_DB=postgres`, set by `cargo xtask test`
/// for its second pass) instead of SQLite.
fn on_postgres() -> bool {
    std::env::var("TWOSTEP_TEST_DB").is_ok_and(|v| v == "postgres")
}

fn postgres_base() -> String {
    std::env::var("TWOSTEP_TEST_POSTGRES_URL").expect(
        "TWOSTEP_TEST_DB=postgres needs TWOSTEP_TEST_POSTGRES_URL (cargo xtask test sets both)",
    )
}

fn postgres_url(name: &str) -> String {
    let base = postgres_base();
    let (server, _) = base.rsplit_once('/').expect("a database name in the URL");
    format!("{server}/{name}")
}

/// Runs one statement on the cluster's maintenance database.
async fn postgres_admin(sql: String) {
    try_postgres_admin(sql)
        .await
        .expect("administer PostgreSQL");
}

/// [`postgres_admin`], with its error.
async fn try_postgres_admin(sql: String) -> Result<(), sqlx::Error> {
    sqlx::any::install_default_drivers();
    let admin = AnyPool::connect(&postgres_base())
        .await
        .expect("connect to PostgreSQL");
    let done = sqlx::query(sqlx::AssertSqlSafe(sql)).execute(&admin).await;
    admin.close().await;
    done.map(|_| ())
}

fn unique_name() -> String {
    use std::sync::atomic::{AtomicU32, Ordering};
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("time")
        .subsec_nanos();
    format!(
        "twostep_api_{}_{nanos}_{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::SeqCst)
    )
}

/// Starts the API on `127.0.0.1:0` around a fresh database (SQLite, or PostgreSQL on the
/// second pass). The listener is bound before the server task starts, so the server is
/// reachable as soon as this returns.
pub async fn spawn_app() -> TestApp {
    spawn_app_with(Settings::default()).await
}

/// Like [`spawn_app`], with these settings (e.g. identity providers). The public URL is set
/// to the server's own address.
pub async fn spawn_app_with(settings: Settings) -> TestApp {
    if on_postgres() {
        let name = unique_name();
        postgres_admin(format!("CREATE DATABASE {name}")).await;
        return start(
            Storage::Postgres(name),
            None,
            SealKey::generate(),
            START,
            settings,
        )
        .await;
    }
    let dir = tempfile::tempdir().expect("temporary folder");
    let db_path = dir.path().join("t.db");
    start(
        Storage::Sqlite(db_path),
        Some(dir),
        SealKey::generate(),
        START,
        settings,
    )
    .await
}

/// Starts the API on an existing (or new) SQLite file with the given server key, e.g. the
/// data folder of the real binary, so a test can mix HTTP requests and CLI commands.
pub async fn spawn_app_on(db_path: PathBuf, seal: SealKey) -> TestApp {
    start(
        Storage::Sqlite(db_path),
        None,
        seal,
        START,
        Settings::default(),
    )
    .await
}

async fn start(
    storage: Storage,
    dir: Option<TempDir>,
    seal: SealKey,
    now: u64,
    settings: Settings,
) -> TestApp {
    let db = twostep::storage::db::connect(&storage.url())
        .await
        .expect("open the database");
    let clock = ManualClock::new(now);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind a local port");
    let addr = listener.local_addr().expect("local address");
    // Its own address, unless it is another instance behind the same public URL.
    let settings = if settings.public_url == Settings::default().public_url {
        Settings {
            public_url: format!("http://{addr}"),
            ..settings
        }
    } else {
        settings
    };
    let state = AppState::new(
        db.clone(),
        Arc::new(clock.clone()),
        seal.clone(),
        settings.clone(),
    );
    let hasher = state.hasher.clone();
    let background = state.start_background();
    let app = router(state.clone(), None);
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
        storage,
        seal,
        settings,
        hasher,
        state,
        server,
        _background: background,
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

/// A browser-like client that keeps cookies but does not follow redirects, to see where the
/// server sends the browser (identity provider sign-in).
pub fn no_redirect_client() -> (Client, Arc<Jar>) {
    let jar = Arc::new(Jar::default());
    let client = Client::builder()
        .cookie_provider(jar.clone())
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("HTTP client");
    (client, jar)
}

/// Asserts a `303 See Other` and returns its `Location`.
pub fn see_other(response: &Response) -> String {
    assert_eq!(
        response.status(),
        StatusCode::SEE_OTHER,
        "expected a redirect, got {response:?}"
    );
    response
        .headers()
        .get(reqwest::header::LOCATION)
        .expect("a Location header")
        .to_str()
        .expect("ASCII Location")
        .to_owned()
}

/// A client without a cookie store that does not follow redirects, for sending cookies by
/// hand to the identity provider sign-in.
pub fn bare_no_redirect_client() -> Client {
    Client::builder()
        .redirect(reqwest::redirect::Policy::none())
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

    /// The key a typed name's wrong passwords are counted under in `attempt_counters`.
    pub fn name_key(&self, name: &str) -> String {
        twostep::storage::macs::Macs::new(&self.seal).name_key(name)
    }

    /// The audit log's reference to a typed name that is not an account.
    pub fn name_ref(&self, name: &str) -> String {
        format!(
            "typed name ref {}",
            twostep::storage::macs::Macs::new(&self.seal).name_ref(name)
        )
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
            twostep::accounts::passwords::hash_blocking(&password).expect("hash")
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
            link: IdentityLink::default(),
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

    /// The password step for an account with a device: must ask for a code. Returns the
    /// second factors the answer says the account has: (the app, security keys).
    pub async fn sign_in_pending(
        &self,
        client: &Client,
        name: &str,
        password: &str,
    ) -> (bool, bool) {
        match self.sign_in(client, name, password).await {
            SignInResponse::VerificationRequired {
                expires_in_seconds,
                app,
                security_keys,
            } => {
                assert_eq!(expires_in_seconds, 300);
                (app, security_keys)
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

    /// A request with a JSON body.
    pub async fn send_json(
        &self,
        client: &Client,
        method: reqwest::Method,
        path: &str,
        body: &serde_json::Value,
    ) -> Response {
        client
            .request(method, self.url(path))
            .json(body)
            .send()
            .await
            .expect("request")
    }

    /// `POST /api/session/reauthenticate` with the password.
    pub async fn reauthenticate(&self, client: &Client, password: &str) -> Response {
        let body = serde_json::json!({ "password": password });
        self.send_json(
            client,
            reqwest::Method::POST,
            "/api/session/reauthenticate",
            &body,
        )
        .await
    }

    /// Re-authenticates with the password and expects it accepted.
    pub async fn reauthenticate_ok(&self, client: &Client, password: &str) {
        let response = self.reauthenticate(client, password).await;
        assert_eq!(
            response.status(),
            StatusCode::NO_CONTENT,
            "re-authentication"
        );
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
                proof: None,
                security_key: None,
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

    /// Rows in the tables of accounts, sessions and 2-step state (not the audit log), to show
    /// that a refused sign-in created nothing.
    pub async fn row_counts(&self) -> Vec<(&'static str, i64)> {
        let mut counts = Vec::new();
        for table in [
            "users",
            "sessions",
            "two_step_setups",
            "two_step_devices",
            "recovery_codes",
            "oidc_flows",
        ] {
            counts.push((table, self.count(table).await));
        }
        counts
    }

    /// Every row of every table, as text, sorted: to show a request changed nothing at all.
    pub async fn snapshot(&self) -> std::collections::BTreeMap<String, Vec<String>> {
        /// How to read a table's rows as text, given its name and (SQLite) columns.
        type RowSql = fn(&str, &[String]) -> String;
        let (list, row_sql): (&str, RowSql) = match &self.storage {
            Storage::Sqlite(_) => (
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'",
                |table, columns| {
                    let values: Vec<String> =
                        columns.iter().map(|c| format!("quote({c})")).collect();
                    format!("SELECT {} AS row FROM {table}", values.join(" || ',' || "))
                },
            ),
            Storage::Postgres(_) => (
                "SELECT CAST(tablename AS TEXT) AS name FROM pg_tables WHERE schemaname = 'public'",
                |table, _| format!("SELECT CAST(t AS TEXT) AS row FROM {table} t"),
            ),
        };
        let tables: Vec<String> = sqlx::query(list)
            .fetch_all(&self.db)
            .await
            .expect("list tables")
            .iter()
            .map(|row| row.try_get("name").expect("table name"))
            .collect();
        let mut snapshot = std::collections::BTreeMap::new();
        for table in tables {
            let columns: Vec<String> = match &self.storage {
                Storage::Sqlite(_) => sqlx::query(sqlx::AssertSqlSafe(format!(
                    "SELECT name FROM pragma_table_info('{table}')"
                )))
                .fetch_all(&self.db)
                .await
                .expect("list columns")
                .iter()
                .map(|row| row.try_get("name").expect("column name"))
                .collect(),
                Storage::Postgres(_) => Vec::new(),
            };
            let mut rows: Vec<String> = sqlx::query(sqlx::AssertSqlSafe(row_sql(&table, &columns)))
                .fetch_all(&self.db)
                .await
                .expect("read a table")
                .iter()
                .map(|row| row.try_get("row").expect("row as text"))
                .collect();
            rows.sort();
            snapshot.insert(table, rows);
        }
        assert!(
            snapshot.contains_key("users"),
            "the snapshot sees the tables"
        );
        snapshot
    }

    /// Asserts the database holds exactly what `before` shows, naming the rows that differ.
    pub async fn assert_unchanged_since(
        &self,
        before: &std::collections::BTreeMap<String, Vec<String>>,
    ) {
        let after = self.snapshot().await;
        for (table, rows) in &after {
            let old = before.get(table).cloned().unwrap_or_default();
            let added: Vec<&String> = rows.iter().filter(|r| !old.contains(r)).collect();
            let removed: Vec<&String> = old.iter().filter(|r| !rows.contains(r)).collect();
            assert!(
                added.is_empty() && removed.is_empty(),
                "{table} changed: added {added:?}, removed {removed:?}"
            );
        }
        assert_eq!(before.len(), after.len(), "tables came or went");
    }
}

impl TestApp {
    /// Another server on a copy of this one's database, with the same server key and a
    /// clock at this one's time: a world to try one request in without changing this one.
    pub async fn fork(&self) -> TestApp {
        match &self.storage {
            Storage::Sqlite(_) => {
                let dir = tempfile::tempdir().expect("temporary folder");
                let db_path = dir.path().join("t.db");
                // `VACUUM INTO` writes a consistent copy, WAL contents included.
                let target = db_path.display().to_string().replace('\'', "''");
                sqlx::query(sqlx::AssertSqlSafe(format!("VACUUM INTO '{target}'")))
                    .execute(&self.db)
                    .await
                    .expect("copy the database");
                start(
                    Storage::Sqlite(db_path),
                    Some(dir),
                    self.seal.clone(),
                    self.now(),
                    self.settings.clone(),
                )
                .await
            }
            Storage::Postgres(source) => {
                // A template copy needs the source without connections: close this
                // server's pool (a forked-from server is not used afterwards) and end the rest.
                self.db.close().await;
                // The session cache's listener reconnects every second, so the copy is tried
                // again (right after ending the connections) until none came back in between.
                let name = unique_name();
                let mut tries = 0;
                loop {
                    postgres_admin(format!(
                        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
                         WHERE datname = '{source}' AND pid <> pg_backend_pid()"
                    ))
                    .await;
                    let copied =
                        try_postgres_admin(format!("CREATE DATABASE {name} TEMPLATE {source}"))
                            .await;
                    tries += 1;
                    match copied {
                        Ok(()) => break,
                        Err(_) if tries < 20 => {
                            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                        }
                        Err(error) => panic!("copy the database: {error}"),
                    }
                }
                start(
                    Storage::Postgres(name),
                    None,
                    self.seal.clone(),
                    self.now(),
                    self.settings.clone(),
                )
                .await
            }
        }
    }

    /// A second server on the same database (same key, settings and time), as a second
    /// instance behind a load balancer would be.
    pub async fn another_instance(&self) -> TestApp {
        start(
            self.storage.clone(),
            None,
            self.seal.clone(),
            self.now(),
            self.settings.clone(),
        )
        .await
    }

    /// A second server on the same database with other settings (e.g. the identity providers
    /// file changed and the server restarted).
    pub async fn another_instance_with(&self, settings: Settings) -> TestApp {
        start(
            self.storage.clone(),
            None,
            self.seal.clone(),
            self.now(),
            settings,
        )
        .await
    }

    /// Everything the database stores, as bytes: the SQLite files (main, WAL, shared
    /// memory), or on PostgreSQL every row of every table as text.
    pub async fn stored_bytes(&self) -> Vec<u8> {
        match &self.storage {
            Storage::Sqlite(path) => sqlite_file_bytes(path),
            Storage::Postgres(_) => {
                let tables =
                    sqlx::query("SELECT CAST(tablename AS TEXT) AS tablename FROM pg_tables WHERE schemaname = 'public'")
                        .fetch_all(&self.db)
                        .await
                        .expect("list tables");
                let mut bytes = Vec::new();
                for table in tables {
                    let table: String = table.try_get("tablename").expect("name");
                    let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
                        "SELECT CAST(t AS TEXT) AS row FROM {table} t"
                    )))
                    .fetch_all(&self.db)
                    .await
                    .expect("read a table");
                    for row in rows {
                        let text: String = row.try_get("row").expect("row text");
                        bytes.extend(text.into_bytes());
                    }
                }
                bytes
            }
        }
    }

    /// Creates an organizational account (no password here; signs in through `idp`), linked
    /// to the subject `sub-NAME` at its provider.
    pub async fn create_organizational_user(&self, name: &str, idp: &str) -> i64 {
        let link = IdentityLink {
            issuer: None,
            subject: Some(format!("sub-{name}")),
            email: None,
        };
        self.create_linked_user(name, idp, link).await
    }

    /// Creates an organizational account of `idp` with this link.
    pub async fn create_linked_user(&self, name: &str, idp: &str, link: IdentityLink) -> i64 {
        let new = NewUser {
            username: name,
            password_hash: None,
            role: Role::User,
            identity_provider: Some(idp),
            link,
        };
        create(&self.db, new, self.now())
            .await
            .expect("insert user")
            .expect("username is free")
    }

    /// A session made directly in the database, as the `Cookie` header value that carries
    /// it: for accounts that cannot sign in with a password here.
    pub async fn session_cookie_for(&self, user_id: i64, stage: Stage) -> String {
        let token =
            twostep::sessions::create(&self.db, user_id, stage, &Default::default(), self.now())
                .await
                .expect("create a session");
        format!("{}={token}", twostep::sessions::COOKIE)
    }

    /// `DELETE /api/users/{id}/two-step` with an optional proof.
    pub async fn remove_device(
        &self,
        client: &Client,
        user_id: i64,
        proof: Option<&str>,
    ) -> Response {
        client
            .delete(self.url(&format!("/api/users/{user_id}/two-step")))
            .json(&RemoveDeviceRequest {
                proof: proof.map(str::to_owned),
                security_key: None,
            })
            .send()
            .await
            .expect("request")
    }

    /// `POST /api/users/{id}/two-step/unlock`.
    pub async fn unlock(&self, client: &Client, user_id: i64) -> Response {
        client
            .post(self.url(&format!("/api/users/{user_id}/two-step/unlock")))
            .json(&serde_json::json!({}))
            .send()
            .await
            .expect("request")
    }

    /// One page of `GET /api/audit`; `query` is e.g. `"?page=2"` or `""`.
    pub async fn audit_page(&self, client: &Client, query: &str) -> AuditPage {
        ok_json(self.get(client, &format!("/api/audit{query}")).await).await
    }

    /// Every audit entry (all pages), optionally only those about one user, oldest first.
    pub async fn audit_log(&self, client: &Client, user: Option<i64>) -> Vec<AuditEntry> {
        let filter = user.map(|id| format!("&user={id}")).unwrap_or_default();
        let mut entries = Vec::new();
        for page in 1.. {
            let got = self
                .audit_page(client, &format!("?page={page}{filter}"))
                .await;
            assert_eq!(got.page, page);
            let done = got.entries.is_empty();
            entries.extend(got.entries);
            if done {
                assert_eq!(entries.len() as u64, got.total, "every page read");
                break;
            }
        }
        entries.reverse();
        entries
    }

    /// The id of an account, by name.
    pub async fn user_id(&self, name: &str) -> i64 {
        sqlx::query("SELECT id FROM users WHERE username = $1")
            .bind(name)
            .fetch_one(&self.db)
            .await
            .expect("the user exists")
            .try_get("id")
            .expect("id")
    }

    /// Rows of a table that belong to one user (`user_id` column).
    pub async fn count_for(&self, table: &str, user_id: i64) -> i64 {
        let sql = format!("SELECT COUNT(*) AS n FROM {table} WHERE user_id = $1");
        sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(user_id)
            .fetch_one(&self.db)
            .await
            .expect("count")
            .try_get("n")
            .expect("n")
    }

    /// The `Cookie` header value a client with `jar` sends to this server.
    pub fn cookie_in(&self, jar: &Jar) -> String {
        let url = self.base.parse().expect("server URL");
        jar.cookies(&url)
            .expect("the client holds a cookie")
            .to_str()
            .expect("ASCII cookie")
            .to_owned()
    }
}

/// A browser-like client and its cookie jar, to read the session cookie it holds.
pub fn client_with_jar() -> (Client, Arc<Jar>) {
    let jar = Arc::new(Jar::default());
    let client = Client::builder()
        .cookie_provider(jar.clone())
        .build()
        .expect("HTTP client");
    (client, jar)
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

/// Every byte of a SQLite database: the main file plus its WAL and shared-memory files.
fn sqlite_file_bytes(path: &std::path::Path) -> Vec<u8> {
    let dir = path.parent().expect("folder");
    let stem = path.file_name().expect("file name").to_string_lossy();
    let mut bytes = Vec::new();
    for entry in std::fs::read_dir(dir).expect("list the data folder") {
        let entry = entry.expect("entry");
        if entry
            .file_name()
            .to_string_lossy()
            .starts_with(stem.as_ref())
        {
            bytes.extend(std::fs::read(entry.path()).expect("read a database file"));
        }
    }
    assert!(!bytes.is_empty(), "no database files in {dir:?}");
    bytes
}

/// The whole app (the API and the built frontend in `dist`) on a fresh SQLite database, on
/// `127.0.0.1:0`; returns its base URL, the server task and the folder holding the database
/// (kept while the test runs).
pub async fn serve_with_frontend(dist: &std::path::Path) -> (String, JoinHandle<()>, TempDir) {
    let data = tempfile::tempdir().expect("temporary folder");
    let url = format!("sqlite://{}?mode=rwc", data.path().join("t.db").display());
    let db = twostep::storage::db::connect(&url).await.expect("database");
    let state = AppState::new(
        db,
        Arc::new(ManualClock::new(START)),
        SealKey::generate(),
        Settings::default(),
    );
    let app = router(state, Some(dist));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("address"));
    let server = tokio::spawn(async move { axum::serve(listener, app).await.expect("serve") });
    (base, server, data)
}
