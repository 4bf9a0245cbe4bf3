//! Every `/api` endpoint as every kind of caller, as one table: which answer each caller gets.
//!
//! The callers (columns), all about the account of `alice`, a user with a device:
//!
//! - **anonymous**: no session cookie;
//! - **pending**: alice after the password step, before the code step;
//! - **user**: alice, signed in, on her own resources;
//! - **other user**: bob, signed in, a user who is not alice and not an administrator;
//! - **administrator**: root, signed in, an Administrator who is not alice.
//!
//! In paths, `{alice}` is alice's id and `{self}` the caller's own id (alice's for the
//! anonymous and pending callers). bob and root have no device but a setup in progress. The
//! server knows one identity provider (the in-test one of `fake_provider`); its sign-in
//! endpoints answer with redirects, written as the start of the `Location` expected, where
//! `{provider}` is the provider's address.
//!
//! The world is made once through the API (accounts, alice's enrollment, sign-ins, setups);
//! then every cell runs in a fork of it (a copy of its database behind a new server), so no
//! cell depends on what another one changed.

use crate::fake_provider::FakeProvider;
use crate::helpers::{
    STEP, TestApp, bare_no_redirect_client, base32_decode, client_with_jar, spawn_app_with, totp,
};
use reqwest::StatusCode;
use reqwest::header::COOKIE;
use serde_json::{Value, json};
use twostep::app::Settings;
use twostep_shared::{ErrorBody, ErrorCode};

/// The answer a cell expects: a success status, or an error status with its JSON error code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Expect {
    Success(u16),
    Refused(u16, ErrorCode),
    /// `303 See Other` to a `Location` that starts with this.
    Redirect(&'static str),
}

use ErrorCode as E;
use Expect::{Redirect, Refused, Success};

const OK: Expect = Success(200);
const DONE: Expect = Success(204);
/// No session: 401 `unauthorized`.
const SIGN_IN: Expect = Refused(401, E::Unauthorized);
/// A pending session asking for anything but the code step: 401 `verification_required`.
const CODE_FIRST: Expect = Refused(401, E::VerificationRequired);
/// The code step without a pending sign-in: 401 `verification_expired`.
const NOT_PENDING: Expect = Refused(401, E::VerificationExpired);
/// The code step when already signed in: 409 `bad_request`.
const SIGNED_IN: Expect = Refused(409, E::BadRequest);
const FORBIDDEN: Expect = Refused(403, E::Forbidden);
/// A body that is not the request the endpoint reads (here `{}` where a security key's
/// answer belongs): 422 `bad_request`, after the caller was let through.
const BAD: Expect = Refused(422, E::BadRequest);
/// Setup while a device is associated: 409 `already_set_up`.
const HAS_DEVICE: Expect = Refused(409, E::AlreadySetUp);
/// Removing or unlocking where there is no device: 409 `not_set_up`.
const NO_DEVICE: Expect = Refused(409, E::NotSetUp);
/// Off to the identity provider's authorization endpoint.
const TO_PROVIDER: Expect = Redirect("{provider}/authorize?");
/// Back to the Sign in page: no such provider.
const NO_PROVIDER: Expect = Redirect("/?sign_in_error=unknown_provider");
/// Back to the Sign in page: the answer is not for a sign-in this browser started.
const NOT_STARTED: Expect = Redirect("/?sign_in_error=state_mismatch");

/// What a request sends as its JSON body.
#[derive(Debug, Clone, Copy)]
enum Body {
    /// No body.
    Nothing,
    /// `{}`.
    Empty,
    /// alice's username and password.
    AliceSignIn,
    /// alice's current verification code.
    AliceCode,
    /// Two consecutive codes of the caller's setup in progress (alice's device's when the
    /// caller has none).
    SetupCodes,
    /// alice's current verification code as the proof for removing a device (the proof of
    /// the second factor the account-changes table asks of the holder).
    CodeProof,
    /// The caller's password, to confirm it's you.
    Reauth,
    /// The caller's password and a new one.
    NewPassword,
    /// An address for security e-mails.
    Email,
    /// `{"role": "administrator"}`.
    MakeAdmin,
}

struct Row {
    method: &'static str,
    path: &'static str,
    body: Body,
    /// anonymous, pending, user, other user, administrator.
    expect: [Expect; 5],
}

const fn row(method: &'static str, path: &'static str, body: Body, expect: [Expect; 5]) -> Row {
    Row {
        method,
        path,
        body,
        expect,
    }
}

use Body::{
    AliceCode, AliceSignIn, CodeProof, Email, Empty, MakeAdmin, NewPassword, Nothing, Reauth,
    SetupCodes,
};

const NOT_FOUND: Expect = Refused(404, E::NotFound);
/// Confirming a replacement that was not started: 410 `setup_expired`.
/// Moving to a new phone without a proof of the current one: 403 `proof_required`.
const NO_PROOF: Expect = Refused(403, E::ProofRequired);
/// A test e-mail on a server without `--smtp-url`: 409 `bad_request`.
const MAIL_OFF: Expect = Refused(409, E::BadRequest);

#[rustfmt::skip]
const TABLE: [Row; 55] = [
    //                                                                  anonymous    pending      user        other user  administrator
    row("GET",    "/api/health",                       Nothing,        [OK,          OK,          OK,         OK,         OK]),
    row("GET",    "/api/ready",                        Nothing,        [OK,          OK,          OK,         OK,         OK]),
    row("POST",   "/api/session",                      AliceSignIn,    [OK,          OK,          OK,         OK,         OK]),
    row("DELETE", "/api/session",                      Nothing,        [DONE,        DONE,        DONE,       DONE,       DONE]),
    row("POST",   "/api/session/verify",               AliceCode,      [NOT_PENDING, OK,          SIGNED_IN,  SIGNED_IN,  SIGNED_IN]),
    row("POST",   "/api/session/reauthenticate",       Reauth,         [SIGN_IN,     CODE_FIRST,  DONE,       DONE,       DONE]),
    row("GET",    "/api/me",                           Nothing,        [SIGN_IN,     CODE_FIRST,  OK,         OK,         OK]),
    row("POST",   "/api/me/two-step/replacement/setup",   Empty,    [SIGN_IN,     CODE_FIRST,  OK,         NO_DEVICE,  NO_DEVICE]),
    row("POST",   "/api/me/two-step/replacement/confirm", SetupCodes,[SIGN_IN,    CODE_FIRST,  NO_PROOF,   NO_DEVICE,  NO_DEVICE]),
    row("POST",   "/api/me/password",                  NewPassword,    [SIGN_IN,     CODE_FIRST,  OK,         OK,         OK]),
    row("GET",    "/api/me/activity",                  Nothing,        [SIGN_IN,     CODE_FIRST,  OK,         OK,         OK]),
    row("GET",    "/api/me/sessions",                  Nothing,        [SIGN_IN,     CODE_FIRST,  OK,         OK,         OK]),
    row("DELETE", "/api/me/sessions",                  Nothing,        [SIGN_IN,     CODE_FIRST,  OK,         OK,         OK]),
    row("DELETE", "/api/me/sessions/nope",             Nothing,        [SIGN_IN,     CODE_FIRST,  NOT_FOUND,  NOT_FOUND,  NOT_FOUND]),
    row("POST",   "/api/me/two-step/setup",            Empty,          [SIGN_IN,     CODE_FIRST,  HAS_DEVICE, OK,         OK]),
    row("POST",   "/api/me/two-step/confirm",          SetupCodes,     [SIGN_IN,     CODE_FIRST,  HAS_DEVICE, OK,         OK]),
    row("POST",   "/api/me/two-step/recovery-codes",   AliceCode,      [SIGN_IN,     CODE_FIRST,  OK,         NO_DEVICE,  NO_DEVICE]),
    row("GET",    "/api/users",                        Nothing,        [SIGN_IN,     CODE_FIRST,  OK,         OK,         OK]),
    row("GET",    "/api/users/{self}",                 Nothing,        [SIGN_IN,     CODE_FIRST,  OK,         OK,         OK]),
    row("GET",    "/api/users/{alice}",                Nothing,        [SIGN_IN,     CODE_FIRST,  OK,         FORBIDDEN,  OK]),
    row("DELETE", "/api/users/{self}/two-step",        CodeProof,      [SIGN_IN,     CODE_FIRST,  DONE,       NO_DEVICE,  NO_DEVICE]),
    row("DELETE", "/api/users/{alice}/two-step",       CodeProof,      [SIGN_IN,     CODE_FIRST,  DONE,       FORBIDDEN,  DONE]),
    row("POST",   "/api/users/{self}/two-step/unlock", Empty,          [SIGN_IN,     CODE_FIRST,  FORBIDDEN,  FORBIDDEN,  FORBIDDEN]),
    row("POST",   "/api/users/{alice}/two-step/unlock",Empty,          [SIGN_IN,     CODE_FIRST,  FORBIDDEN,  FORBIDDEN,  DONE]),
    row("PUT",    "/api/users/{alice}/role",           MakeAdmin,      [SIGN_IN,     CODE_FIRST,  FORBIDDEN,  FORBIDDEN,  DONE]),
    row("PUT",    "/api/users/{self}/role",            MakeAdmin,      [SIGN_IN,     CODE_FIRST,  FORBIDDEN,  FORBIDDEN,  FORBIDDEN]),
    row("POST",   "/api/users/{alice}/disable",        Empty,          [SIGN_IN,     CODE_FIRST,  FORBIDDEN,  FORBIDDEN,  DONE]),
    row("POST",   "/api/users/{self}/disable",         Empty,          [SIGN_IN,     CODE_FIRST,  FORBIDDEN,  FORBIDDEN,  FORBIDDEN]),
    row("POST",   "/api/users/{alice}/enable",         Empty,          [SIGN_IN,     CODE_FIRST,  FORBIDDEN,  FORBIDDEN,  DONE]),
    row("DELETE", "/api/users/{alice}",                Nothing,        [SIGN_IN,     CODE_FIRST,  FORBIDDEN,  FORBIDDEN,  DONE]),
    row("DELETE", "/api/users/{self}",                 Nothing,        [SIGN_IN,     CODE_FIRST,  FORBIDDEN,  FORBIDDEN,  FORBIDDEN]),
    row("GET",    "/api/users/{alice}/sessions",       Nothing,        [SIGN_IN,     CODE_FIRST,  FORBIDDEN,  FORBIDDEN,  OK]),
    row("DELETE", "/api/users/{alice}/sessions",       Nothing,        [SIGN_IN,     CODE_FIRST,  FORBIDDEN,  FORBIDDEN,  OK]),
    row("DELETE", "/api/users/{alice}/sessions/nope",  Nothing,        [SIGN_IN,     CODE_FIRST,  FORBIDDEN,  FORBIDDEN,  NOT_FOUND]),
    row("GET",    "/api/users/{alice}/email",          Nothing,        [SIGN_IN,     CODE_FIRST,  OK,         FORBIDDEN,  OK]),
    row("PUT",    "/api/users/{alice}/email",          Email,          [SIGN_IN,     CODE_FIRST,  DONE,       FORBIDDEN,  DONE]),
    row("POST",   "/api/me/email/test",                Empty,          [SIGN_IN,     CODE_FIRST,  FORBIDDEN,  FORBIDDEN,  MAIL_OFF]),
    row("GET",    "/api/me/security-keys",             Nothing,        [SIGN_IN,     CODE_FIRST,  OK,         OK,         OK]),
    row("GET",    "/api/users/{alice}/security-keys",  Nothing,        [SIGN_IN,     CODE_FIRST,  FORBIDDEN,  FORBIDDEN,  OK]),
    row("POST",   "/api/me/security-keys/start",       Empty,          [SIGN_IN,     CODE_FIRST,  OK,         OK,         OK]),
    row("POST",   "/api/session/passkey/start",        Empty,          [OK,          OK,          OK,         OK,         OK]),
    row("POST",   "/api/me/security-keys/finish",      Empty,          [SIGN_IN,     CODE_FIRST,  BAD,        BAD,        BAD]),
    row("POST",   "/api/me/security-keys/proof",       Empty,          [SIGN_IN,     CODE_FIRST,  NO_DEVICE,  NO_DEVICE,  NO_DEVICE]),
    row("DELETE", "/api/me/security-keys/1",           Empty,          [SIGN_IN,     CODE_FIRST,  NOT_FOUND,  NOT_FOUND,  NOT_FOUND]),
    row("POST",   "/api/session/security-key/start",   Empty,          [NOT_PENDING, NO_DEVICE,   SIGNED_IN,  SIGNED_IN,  SIGNED_IN]),
    row("POST",   "/api/session/security-key",         Empty,          [NOT_PENDING, BAD,         SIGNED_IN,  SIGNED_IN,  SIGNED_IN]),
    row("POST",   "/api/session/passkey",              Empty,          [BAD,         BAD,         BAD,        BAD,        BAD]),
    row("GET",    "/api/audit",                        Nothing,        [SIGN_IN,     CODE_FIRST,  FORBIDDEN,  FORBIDDEN,  OK]),
    row("GET",    "/api/audit?page=1&user={alice}",    Nothing,        [SIGN_IN,     CODE_FIRST,  FORBIDDEN,  FORBIDDEN,  OK]),
    row("GET",    "/api/audit?q=ali&event=signed_in",  Nothing,        [SIGN_IN,     CODE_FIRST,  FORBIDDEN,  FORBIDDEN,  OK]),
    row("GET",    "/api/audit.csv?q=ali&event=signed_in", Nothing,     [SIGN_IN,     CODE_FIRST,  FORBIDDEN,  FORBIDDEN,  OK]),
    row("GET",    "/api/oidc/providers",               Nothing,        [OK,          OK,          OK,         OK,         OK]),
    row("GET",    "/api/oidc/start?provider=Fake+ID",  Nothing,        [TO_PROVIDER, TO_PROVIDER, TO_PROVIDER,TO_PROVIDER,TO_PROVIDER]),
    row("GET",    "/api/oidc/start?provider=Nope",     Nothing,        [NO_PROVIDER, NO_PROVIDER, NO_PROVIDER,NO_PROVIDER,NO_PROVIDER]),
    row("GET",    "/api/oidc/callback?code=c&state=s", Nothing,        [NOT_STARTED, NOT_STARTED, NOT_STARTED,NOT_STARTED,NOT_STARTED]),
];

const COLUMNS: [&str; 5] = [
    "anonymous",
    "pending",
    "user",
    "other user",
    "administrator",
];

const ALICE_PASSWORD: &str = "alice password";
const BOB_PASSWORD: &str = "bob password";
const ROOT_PASSWORD: &str = "root password";

/// One caller: its cookie, own id, password and setup secret (if it has a setup open).
struct Caller {
    cookie: Option<String>,
    id: i64,
    password: &'static str,
    setup_secret: Option<Vec<u8>>,
}

/// The world every cell starts from.
struct World {
    provider: FakeProvider,
    app: TestApp,
    alice: i64,
    alice_secret: Vec<u8>,
    /// In the order of [`COLUMNS`].
    callers: [Caller; 5],
}

/// Signs in and starts a setup; returns the session cookie and the setup's secret.
async fn signed_in_with_setup(app: &TestApp, name: &str, password: &str) -> (String, Vec<u8>) {
    let (client, jar) = client_with_jar();
    app.sign_in(&client, name, password).await;
    let secret = base32_decode(&app.setup(&client).await.secret);
    (app.cookie_in(&jar), secret)
}

async fn world() -> World {
    let provider = FakeProvider::start().await;
    let app = spawn_app_with(Settings {
        identity_providers: vec![provider.config()],
        ..Settings::default()
    })
    .await;
    let alice = app.create_user("alice", ALICE_PASSWORD, false).await;
    let bob = app.create_user("bob", BOB_PASSWORD, false).await;
    let root = app.create_user("root", ROOT_PASSWORD, true).await;

    // alice enrolls; her enrolling session stays signed in.
    let (client, jar) = client_with_jar();
    app.sign_in(&client, "alice", ALICE_PASSWORD).await;
    let alice_secret = app.setup_and_confirm(&client).await.secret;
    let alice_cookie = app.cookie_in(&jar);
    // A second sign-in of alice stops at the code step.
    let (client, jar) = client_with_jar();
    app.sign_in_pending(&client, "alice", ALICE_PASSWORD).await;
    let pending_cookie = app.cookie_in(&jar);
    // bob and root sign in and start a setup each.
    let (bob_cookie, bob_secret) = signed_in_with_setup(&app, "bob", BOB_PASSWORD).await;
    let (root_cookie, root_secret) = signed_in_with_setup(&app, "root", ROOT_PASSWORD).await;
    // Enrollment used alice's codes up to now; the cells run one step later.
    app.clock.advance(STEP);

    let caller = |cookie, id, password, setup_secret| Caller {
        cookie,
        id,
        password,
        setup_secret,
    };
    World {
        callers: [
            caller(None, alice, ALICE_PASSWORD, None),
            caller(Some(pending_cookie), alice, ALICE_PASSWORD, None),
            caller(Some(alice_cookie), alice, ALICE_PASSWORD, None),
            caller(Some(bob_cookie), bob, BOB_PASSWORD, Some(bob_secret)),
            caller(Some(root_cookie), root, ROOT_PASSWORD, Some(root_secret)),
        ],
        provider,
        app,
        alice,
        alice_secret,
    }
}

impl World {
    fn body(&self, body: Body, caller: &Caller, step: u64) -> Option<Value> {
        match body {
            Body::Nothing => None,
            Body::Empty => Some(json!({})),
            Body::MakeAdmin => Some(json!({"role": "administrator"})),
            Body::AliceSignIn => Some(json!({"username": "alice", "password": ALICE_PASSWORD})),
            Body::AliceCode => Some(json!({"code": totp(&self.alice_secret, step)})),
            Body::SetupCodes => {
                let secret = caller.setup_secret.as_ref().unwrap_or(&self.alice_secret);
                Some(json!({"code1": totp(secret, step - 1), "code2": totp(secret, step)}))
            }
            Body::CodeProof => Some(json!({"proof": totp(&self.alice_secret, step)})),
            Body::Reauth => Some(json!({"password": caller.password})),
            Body::NewPassword => Some(json!({
                "current_password": caller.password,
                "new_password": "a brand new passphrase",
            })),
            Body::Email => Some(json!({"email": "alice@mail.example"})),
        }
    }

    /// Sends one cell's request in a fresh fork of the world; returns what differs from
    /// the expectation, if anything.
    async fn check(&self, row: &Row, column: usize) -> Option<String> {
        let caller = &self.callers[column];
        let app = self.app.fork().await;
        let path = row
            .path
            .replace("{alice}", &self.alice.to_string())
            .replace("{self}", &caller.id.to_string());
        let method = reqwest::Method::from_bytes(row.method.as_bytes()).expect("method");
        let mut request = bare_no_redirect_client().request(method, app.url(&path));
        if let Some(cookie) = &caller.cookie {
            request = request.header(COOKIE, cookie);
        }
        if let Some(body) = self.body(row.body, caller, app.now_step()) {
            request = request.json(&body);
        }
        let response = request.send().await.expect("request");
        let status = response.status();
        if status == StatusCode::SEE_OTHER {
            let location = crate::helpers::see_other(&response);
            return match row.expect[column] {
                Redirect(prefix)
                    if location
                        .starts_with(&prefix.replace("{provider}", &self.provider.issuer)) =>
                {
                    None
                }
                _ => Some(mismatch(row, column, status, &format!("to {location}"))),
            };
        }
        let text = response.text().await.expect("body");
        let got = if status.is_success() {
            Success(status.as_u16())
        } else {
            match serde_json::from_str::<ErrorBody>(&text) {
                Ok(error) => Refused(status.as_u16(), error.code),
                Err(_) => return Some(mismatch(row, column, status, &text)),
            }
        };
        (got != row.expect[column]).then(|| mismatch(row, column, status, &text))
    }
}

fn mismatch(row: &Row, column: usize, status: StatusCode, body: &str) -> String {
    format!(
        "{} {} as {}: expected {:?}, got {status} {body}",
        row.method, row.path, COLUMNS[column], row.expect[column]
    )
}

#[tokio::test]
async fn every_endpoint_answers_every_kind_of_caller_as_the_table_says() {
    let world = world().await;
    let mut failures = Vec::new();
    let mut cells = 0;
    for row in &TABLE {
        for column in 0..COLUMNS.len() {
            cells += 1;
            failures.extend(world.check(row, column).await);
        }
    }
    assert_eq!(cells, TABLE.len() * 5);
    assert!(
        failures.is_empty(),
        "{} of {cells} cells differ:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
