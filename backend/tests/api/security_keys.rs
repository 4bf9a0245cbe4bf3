//! Security keys and passkeys over HTTP, with a software authenticator
//! (`webauthn-authenticator-rs`'s `SoftPasskey`) playing the browser and the key: adding a
//! key (which turns 2-step verification on), the second step with it, the signature counter,
//! a challenge spent twice or taken from another session, a ceremony started on one instance
//! and finished on another, a burst of bad answers, a passkey signing in alone, and the
//! proof a change to the keys needs.

use crate::helpers::*;
use reqwest::{Client, Method, StatusCode};
use serde_json::{Value, json};
use twostep_shared::ErrorCode;
use twostep_shared::api::{AuditEventKind, RecoveryCodes, SetupResponse, SignInResponse};
use twostep_shared::security_keys::{
    AssertionCredential, CreationOptions, KeyAdded, RegistrationCredential, RequestOptions,
    SecurityKeys,
};
use webauthn_authenticator_rs::WebauthnAuthenticator;
use webauthn_authenticator_rs::prelude::{
    CreationChallengeResponse, RequestChallengeResponse, Url,
};
use webauthn_authenticator_rs::softpasskey::SoftPasskey;

/// A software key and the origin its "browser" shows.
pub struct Key {
    soft: SoftPasskey,
    origin: Url,
    /// The credential's id (base64url) and the account's user handle, once registered.
    credential_id: Option<String>,
    user_handle: Option<String>,
    /// Registered with user verification (a PIN): it verifies the user whenever asked to
    /// prefer it, as a passkey does.
    verifies_user: bool,
}

impl Key {
    /// A key used from the server's own origin (`http://localhost:PORT`).
    pub fn new(app: &TestApp) -> Self {
        let origin = app.base.replace("127.0.0.1", "localhost");
        Self::at(&origin)
    }

    /// A key used from another origin.
    pub fn at(origin: &str) -> Self {
        Self {
            soft: SoftPasskey::new(true),
            origin: Url::parse(origin).expect("origin"),
            credential_id: None,
            user_handle: None,
            verifies_user: false,
        }
    }

    /// `navigator.credentials.create()`; `verify_user`: the key does user verification
    /// (a PIN), which makes it a passkey.
    pub fn create(
        &mut self,
        options: &CreationOptions,
        verify_user: bool,
    ) -> RegistrationCredential {
        let mut json = serde_json::to_value(options).expect("options");
        if verify_user {
            json["publicKey"]["authenticatorSelection"]["userVerification"] = json!("required");
        }
        let ccr: CreationChallengeResponse = serde_json::from_value(json).expect("proto options");
        let credential = self
            .soft
            .do_registration(self.origin.clone(), ccr)
            .expect("the key registers");
        let shared: RegistrationCredential =
            serde_json::from_value(serde_json::to_value(&credential).expect("json"))
                .expect("shared registration");
        self.credential_id = Some(shared.id.clone());
        self.user_handle = Some(options.public_key.user.id.clone());
        self.verifies_user = verify_user;
        shared
    }

    /// `navigator.credentials.get()`.
    pub fn get(&mut self, options: &RequestOptions) -> AssertionCredential {
        let mut json = serde_json::to_value(options).expect("options");
        let passkey = options.public_key.allow_credentials.is_empty();
        if self.verifies_user
            && options.public_key.user_verification.as_deref() == Some("preferred")
        {
            // The software key verifies the user only when required; a passkey does it when
            // asked to prefer it.
            json["publicKey"]["userVerification"] = json!("required");
        }
        if passkey {
            // A discoverable credential: the key finds its own (the software key needs it
            // named) and gives the account's user handle.
            json["publicKey"]["allowCredentials"] = json!([{ "type": "public-key", "id": self.credential_id.clone().expect("registered") }]);
        }
        let rcr: RequestChallengeResponse = serde_json::from_value(json).expect("proto options");
        let credential = self
            .soft
            .do_authentication(self.origin.clone(), rcr)
            .expect("the key answers");
        let mut shared: AssertionCredential =
            serde_json::from_value(serde_json::to_value(&credential).expect("json"))
                .expect("shared assertion");
        if passkey {
            shared.response.user_handle = self.user_handle.clone();
        }
        shared
    }
}

async fn post(app: &TestApp, client: &Client, path: &str, body: &Value) -> reqwest::Response {
    app.send_json(client, Method::POST, path, body).await
}

/// Adds a key for the signed-in (recent) session on `client`; `proof`: what 2-step
/// verification on asks for.
pub async fn add_key(
    app: &TestApp,
    client: &Client,
    key: &mut Key,
    name: &str,
    verify_user: bool,
    proof: Value,
) -> reqwest::Response {
    let options: CreationOptions =
        ok_json(post(app, client, "/api/me/security-keys/start", &json!({})).await).await;
    let credential = key.create(&options, verify_user);
    let mut body = json!({ "credential": credential, "name": name });
    if let Value::Object(extra) = proof {
        for (k, v) in extra {
            body[k] = v;
        }
    }
    post(app, client, "/api/me/security-keys/finish", &body).await
}

/// A user with one security key (no app), signed in on `client`.
async fn user_with_key(app: &TestApp, client: &Client, name: &str, verify_user: bool) -> Key {
    app.create_user(name, "correct horse", false).await;
    app.sign_in(client, name, "correct horse").await;
    let mut key = Key::new(app);
    let added: KeyAdded = ok_json(
        add_key(
            app,
            client,
            &mut key,
            "YubiKey on my keyring",
            verify_user,
            json!({}),
        )
        .await,
    )
    .await;
    assert_eq!(
        added.recovery_codes.len(),
        10,
        "the first second factor brings recovery codes"
    );
    assert_eq!(added.key.passkey, verify_user);
    key
}

async fn second_step_options(app: &TestApp, client: &Client) -> RequestOptions {
    ok_json(post(app, client, "/api/session/security-key/start", &json!({})).await).await
}

async fn second_step(
    app: &TestApp,
    client: &Client,
    answer: &AssertionCredential,
) -> reqwest::Response {
    post(
        app,
        client,
        "/api/session/security-key",
        &json!({ "credential": answer }),
    )
    .await
}

/// An answer of `key` as proof of the second factor for the signed-in session on `client`.
pub async fn key_proof(app: &TestApp, client: &Client, key: &mut Key) -> AssertionCredential {
    let options: RequestOptions =
        ok_json(post(app, client, "/api/me/security-keys/proof", &json!({})).await).await;
    key.get(&options)
}

async fn events(app: &TestApp, kind: AuditEventKind) -> i64 {
    sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM audit_events WHERE event = $1")
        .bind(kind.as_str())
        .fetch_one(&app.db)
        .await
        .expect("count")
}

#[tokio::test]
async fn a_key_alone_turns_two_step_on_and_signs_in_as_the_second_step() {
    let app = spawn_app().await;
    // Another account's key, which alice's second step must not list.
    let _bobs = user_with_key(&app, &self::client(), "bob", false).await;
    let client = client();
    let mut key = user_with_key(&app, &client, "alice", false).await;
    let status = app.me(&client).await.two_step.expect("own status");
    assert!(status.enabled && !status.app);
    assert_eq!(status.security_keys, 1);
    assert_eq!(status.recovery_codes_left, 10);
    let listed: SecurityKeys = ok_json(app.get(&client, "/api/me/security-keys").await).await;
    assert_eq!(listed.keys.len(), 1);
    assert_eq!(listed.keys[0].name, "YubiKey on my keyring");
    assert_eq!(listed.keys[0].added_at, START);
    assert_eq!(listed.keys[0].last_used_at, None);

    // Sign out, then the password asks for the second step; the key answers it.
    let client = self::client();
    app.sign_in_pending(&client, "alice", "correct horse").await;
    let options = second_step_options(&app, &client).await;
    assert_eq!(options.public_key.rp_id, "localhost");
    assert_eq!(
        options.public_key.allow_credentials.len(),
        1,
        "only this account's keys"
    );
    app.clock.advance(5);
    let answer = key.get(&options);
    let response = second_step(&app, &client, &answer).await;
    let SignInResponse::SignedIn { user } = ok_json(response).await else {
        panic!("signed in")
    };
    assert_eq!(user.username, "alice");
    let listed: SecurityKeys = ok_json(app.get(&client, "/api/me/security-keys").await).await;
    assert_eq!(listed.keys[0].last_used_at, Some(START + 5));
    assert_eq!(events(&app, AuditEventKind::SecurityKeyAdded).await, 2);
    assert_eq!(events(&app, AuditEventKind::SecurityKeyUsed).await, 1);
    // An app code is no answer for an account without the app.
    let other = self::client();
    app.sign_in_pending(&other, "alice", "correct horse").await;
    expect_error(
        app.verify(&other, "123456").await,
        StatusCode::UNAUTHORIZED,
        ErrorCode::CodeWrong,
    )
    .await;
}

#[tokio::test]
async fn a_challenge_is_spent_once_and_belongs_to_the_session_that_asked() {
    let app = spawn_app().await;
    let client = client();
    let mut key = user_with_key(&app, &client, "alice", false).await;

    let first = self::client();
    app.sign_in_pending(&first, "alice", "correct horse").await;
    let options = second_step_options(&app, &first).await;
    let answer = key.get(&options);

    // Another session waiting for its second step cannot use this session's challenge.
    let second = self::client();
    app.sign_in_pending(&second, "alice", "correct horse").await;
    expect_error(
        second_step(&app, &second, &answer).await,
        StatusCode::UNAUTHORIZED,
        ErrorCode::SecurityKeyRefused,
    )
    .await;

    // The asking session's challenge is spent by its first try, even a refused one: the
    // right answer to it comes too late.
    let mut tampered = answer.clone();
    tampered.response.signature = "AAAA".into();
    let refused = ErrorCode::SecurityKeyRefused;
    let response = second_step(&app, &first, &tampered).await;
    expect_error(response, StatusCode::UNAUTHORIZED, refused).await;
    let response = second_step(&app, &first, &answer).await;
    expect_error(response, StatusCode::UNAUTHORIZED, refused).await;
    // A fresh challenge, answered once, signs in.
    let options = second_step_options(&app, &first).await;
    let response = second_step(&app, &first, &key.get(&options)).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(events(&app, AuditEventKind::SecurityKeyRefused).await, 3);
}

#[tokio::test]
async fn a_counter_that_goes_back_is_refused_and_audited() {
    let app = spawn_app().await;
    let client = client();
    let mut key = user_with_key(&app, &client, "alice", false).await;
    let signer = self::client();
    app.sign_in_pending(&signer, "alice", "correct horse").await;
    let options = second_step_options(&app, &signer).await;
    let answer = key.get(&options);
    // Meanwhile a clone of the key was used: the stored counter is ahead of this answer's.
    sqlx::query("UPDATE security_keys SET sign_count = 100")
        .execute(&app.db)
        .await
        .expect("update");
    expect_error(
        second_step(&app, &signer, &answer).await,
        StatusCode::UNAUTHORIZED,
        ErrorCode::SecurityKeyRefused,
    )
    .await;
    let detail: String = sqlx::query_scalar(
        "SELECT detail FROM audit_events WHERE event = 'security_key_refused' ORDER BY id DESC LIMIT 1",
    )
    .fetch_one(&app.db)
    .await
    .expect("refusal recorded");
    assert!(detail.contains("counter went back"), "{detail}");
    let count: i64 = sqlx::query_scalar("SELECT sign_count FROM security_keys")
        .fetch_one(&app.db)
        .await
        .expect("counter");
    assert_eq!(count, 100, "the counter never goes back");
}

#[tokio::test]
async fn a_ceremony_started_on_one_instance_finishes_on_the_other() {
    // Every kind of ceremony (adding a key, the second step, a proof, a passkey sign-in) is
    // started on one instance and finished on the other: the state kept between the two is
    // in the database, never in the memory of the instance that started it.
    let app = spawn_app().await;
    let other = app.another_instance().await;
    let client = client();
    app.create_user("alice", "correct horse", false).await;
    app.sign_in(&client, "alice", "correct horse").await;
    // Registration: started here, finished there (same public URL, same relying party).
    let mut key = Key::new(&app);
    let options: CreationOptions =
        ok_json(post(&app, &client, "/api/me/security-keys/start", &json!({})).await).await;
    let credential = key.create(&options, true);
    let body = json!({ "credential": credential, "name": "Backup key" });
    let response = other
        .send_json(&client, Method::POST, "/api/me/security-keys/finish", &body)
        .await;
    assert_eq!(response.status(), StatusCode::OK, "registration");
    // A proof ("Confirm it's you"): asked there, answered here.
    let options: RequestOptions = ok_json(
        other
            .send_json(
                &client,
                Method::POST,
                "/api/me/security-keys/proof",
                &json!({}),
            )
            .await,
    )
    .await;
    let body = json!({ "security_key": key.get(&options) });
    let response = post(&app, &client, "/api/session/reauthenticate", &body).await;
    assert_eq!(response.status(), StatusCode::NO_CONTENT, "proof");
    // The second step: started there, finished here.
    let signer = self::client();
    app.sign_in_pending(&signer, "alice", "correct horse").await;
    let options: RequestOptions = ok_json(
        other
            .send_json(
                &signer,
                Method::POST,
                "/api/session/security-key/start",
                &json!({}),
            )
            .await,
    )
    .await;
    let answer = key.get(&options);
    assert_eq!(
        second_step(&app, &signer, &answer).await.status(),
        StatusCode::OK,
        "second step"
    );
    // A passkey sign-in: started here, finished there.
    let browser = self::client();
    let options: RequestOptions =
        ok_json(post(&app, &browser, "/api/session/passkey/start", &json!({})).await).await;
    let body = json!({ "credential": key.get(&options) });
    let response = other
        .send_json(&browser, Method::POST, "/api/session/passkey", &body)
        .await;
    assert_eq!(response.status(), StatusCode::OK, "passkey");
}

#[tokio::test]
async fn a_burst_of_bad_answers_gets_no_more_checks_than_wrong_codes() {
    let app = spawn_app().await;
    let other = app.another_instance().await;
    let client = client();
    let mut key = user_with_key(&app, &client, "alice", false).await;
    let signer = self::client();
    app.sign_in_pending(&signer, "alice", "correct horse").await;
    let options = second_step_options(&app, &signer).await;
    let mut bad = key.get(&options);
    bad.response.signature = "AAAA".into();
    let requests = (0..40).map(|i| {
        let target = if i % 2 == 0 { &app } else { &other };
        let body = json!({ "credential": bad.clone() });
        let signer = signer.clone();
        async move {
            target
                .send_json(&signer, Method::POST, "/api/session/security-key", &body)
                .await
                .status()
        }
    });
    let statuses = futures_util::future::join_all(requests).await;
    let refused = statuses
        .iter()
        .filter(|s| **s == StatusCode::UNAUTHORIZED)
        .count();
    assert!(
        statuses
            .iter()
            .all(|s| *s == StatusCode::UNAUTHORIZED || *s == StatusCode::TOO_MANY_REQUESTS),
        "{statuses:?}"
    );
    // As many checks as wrong codes get: 5 before the growing delay.
    assert!(refused <= 5, "{refused} checked: {statuses:?}");
    let failures: i64 = sqlx::query_scalar("SELECT failed_attempts FROM two_step_devices")
        .fetch_one(&app.db)
        .await
        .expect("counter");
    assert_eq!(failures as usize, refused, "each check counted once");
}

#[tokio::test]
async fn another_sites_answer_is_refused() {
    let app = spawn_app().await;
    let client = client();
    let mut key = user_with_key(&app, &client, "alice", false).await;
    // The same key, used by a page on another origin (another port of localhost).
    let mut phishing = Key::at("http://localhost:1");
    phishing.soft = std::mem::take(&mut key.soft);
    let signer = self::client();
    app.sign_in_pending(&signer, "alice", "correct horse").await;
    let options = second_step_options(&app, &signer).await;
    let answer = phishing.get(&options);
    expect_error(
        second_step(&app, &signer, &answer).await,
        StatusCode::UNAUTHORIZED,
        ErrorCode::SecurityKeyRefused,
    )
    .await;
    let detail: String = sqlx::query_scalar(
        "SELECT detail FROM audit_events WHERE event = 'security_key_refused' ORDER BY id DESC LIMIT 1",
    )
    .fetch_one(&app.db)
    .await
    .expect("refusal recorded");
    assert_eq!(detail, "another site's origin");
}

async fn passkey_sign_in(app: &TestApp, client: &Client, key: &mut Key) -> reqwest::Response {
    let options: RequestOptions =
        ok_json(post(app, client, "/api/session/passkey/start", &json!({})).await).await;
    assert!(
        options.public_key.allow_credentials.is_empty(),
        "discoverable"
    );
    assert_eq!(
        options.public_key.user_verification.as_deref(),
        Some("required")
    );
    let answer = key.get(&options);
    post(
        app,
        client,
        "/api/session/passkey",
        &json!({ "credential": answer }),
    )
    .await
}

#[tokio::test]
async fn a_passkey_signs_in_alone_and_a_key_without_user_verification_cannot() {
    let app = spawn_app().await;
    let mut passkey = user_with_key(&app, &client(), "alice", true).await;
    let mut plain = user_with_key(&app, &client(), "bob", false).await;
    let client = self::client();
    let SignInResponse::SignedIn { user } =
        ok_json(passkey_sign_in(&app, &client, &mut passkey).await).await
    else {
        panic!("signed in")
    };
    assert_eq!(user.username, "alice");
    assert_eq!(app.me(&client).await.username, "alice");
    let bob = self::client();
    expect_error(
        passkey_sign_in(&app, &bob, &mut plain).await,
        StatusCode::UNAUTHORIZED,
        ErrorCode::SecurityKeyRefused,
    )
    .await;
    assert_eq!(
        app.get(&bob, "/api/me").await.status(),
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn changing_the_keys_needs_a_recent_sign_in_and_proof_of_the_second_factor() {
    let app = spawn_app().await;
    let client = client();
    let mut first = user_with_key(&app, &client, "alice", false).await;
    // 2-step is on: a second key needs a proof.
    let mut second = Key::new(&app);
    expect_error(
        add_key(&app, &client, &mut second, "Spare", false, json!({})).await,
        StatusCode::FORBIDDEN,
        ErrorCode::ProofRequired,
    )
    .await;
    // With the first key's answer as proof it is added, without new recovery codes.
    let proof: RequestOptions =
        ok_json(post(&app, &client, "/api/me/security-keys/proof", &json!({})).await).await;
    let answer = first.get(&proof);
    let added: KeyAdded = ok_json(
        add_key(
            &app,
            &client,
            &mut second,
            "Spare",
            false,
            json!({ "security_key": answer }),
        )
        .await,
    )
    .await;
    assert!(added.recovery_codes.is_empty());
    // Removing it: a recovery code is proof too; the password never is.
    let path = format!("/api/me/security-keys/{}", added.key.id);
    expect_error(
        app.send_json(
            &client,
            Method::DELETE,
            &path,
            &json!({ "proof": "correct horse" }),
        )
        .await,
        StatusCode::FORBIDDEN,
        ErrorCode::ProofWrong,
    )
    .await;
    // A stale session must confirm it's you first.
    app.clock.advance(3600);
    expect_error(
        app.send_json(&client, Method::DELETE, &path, &json!({}))
            .await,
        StatusCode::FORBIDDEN,
        ErrorCode::ReauthenticationRequired,
    )
    .await;
    // "Confirm it's you" with a key.
    let proof: RequestOptions =
        ok_json(post(&app, &client, "/api/me/security-keys/proof", &json!({})).await).await;
    let answer = first.get(&proof);
    let response = post(
        &app,
        &client,
        "/api/session/reauthenticate",
        &json!({ "security_key": answer }),
    )
    .await;
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    let proof: RequestOptions =
        ok_json(post(&app, &client, "/api/me/security-keys/proof", &json!({})).await).await;
    let answer = second.get(&proof);
    let response = app
        .send_json(
            &client,
            Method::DELETE,
            &path,
            &json!({ "security_key": answer }),
        )
        .await;
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    let status = app.me(&client).await.two_step.expect("status");
    assert_eq!(status.security_keys, 1);
    assert_eq!(events(&app, AuditEventKind::SecurityKeyRemoved).await, 1);
}

#[tokio::test]
async fn organizational_accounts_cannot_add_keys_and_administrators_removal_takes_the_keys() {
    let app = spawn_app().await;
    let client = client();
    let _key = user_with_key(&app, &client, "alice", false).await;
    let alice = app.user_id("alice").await;
    app.create_user("root", "correct horse", true).await;
    let admin = self::client();
    app.sign_in(&admin, "root", "correct horse").await;
    let listed: SecurityKeys = ok_json(
        app.get(&admin, &format!("/api/users/{alice}/security-keys"))
            .await,
    )
    .await;
    assert_eq!(listed.keys.len(), 1);
    // The Users list's filter: accounts with keys.
    let list: twostep_shared::api::UserList =
        ok_json(app.get(&admin, "/api/users?two_step=security_keys").await).await;
    let names: Vec<&str> = list.users.iter().map(|u| u.username.as_str()).collect();
    assert_eq!(names, ["alice"]);
    let response = app.remove_device(&admin, alice, None).await;
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    assert_eq!(app.count("security_keys").await, 0);

    let org = app.create_organizational_user("carol", "corp").await;
    let token = app
        .session_cookie_for(org, twostep::sessions::Stage::SignedIn)
        .await;
    let carol = bare_client();
    let response = carol
        .post(app.url("/api/me/security-keys/start"))
        .header("cookie", token)
        .json(&json!({}))
        .send()
        .await
        .expect("request");
    expect_error(
        response,
        StatusCode::FORBIDDEN,
        ErrorCode::OrganizationalAccount,
    )
    .await;
}

#[tokio::test]
async fn the_cli_lists_and_removes_a_users_keys() {
    use crate::cli::{succeeded, twostep};
    let dir = tempfile::tempdir().expect("temporary folder");
    let data = dir.path();
    succeeded(
        &twostep(
            data,
            &["user", "create", "alice", "--password"],
            "correct horse\n",
        )
        .await,
        "created user alice",
    );
    let seal = twostep::storage::seal::SealKey::load(None, data).expect("the key file");
    let app = spawn_app_on(data.join("twostep.db"), seal).await;
    let client = client();
    app.sign_in(&client, "alice", "correct horse").await;
    let mut key = Key::new(&app);
    let added: KeyAdded =
        ok_json(add_key(&app, &client, &mut key, "Desk key", false, json!({})).await).await;
    let listing = twostep(data, &["user", "security-keys", "alice"], "").await;
    succeeded(
        &listing,
        &format!("{}\tDesk key\tadded {START}", added.key.id),
    );
    let id = added.key.id.to_string();
    succeeded(
        &twostep(data, &["user", "remove-security-key", "alice", &id], "").await,
        "removed security key",
    );
    assert_eq!(app.count("security_keys").await, 0);
    // The last key of an account without the app: 2-step verification is off.
    assert!(!app.me(&client).await.two_step.expect("status").enabled);
    succeeded(
        &twostep(data, &["user", "security-keys", "alice"], "").await,
        "alice has no security keys",
    );
}

#[tokio::test]
async fn a_keys_only_account_proves_every_second_factor_change_with_a_key() {
    let app = spawn_app().await;
    let client = client();
    let mut key = user_with_key(&app, &client, "alice", false).await;

    // New recovery codes: there is no app to give a code; a key's answer is the proof.
    let path = "/api/me/two-step/recovery-codes";
    expect_error(
        post(&app, &client, path, &json!({})).await,
        StatusCode::FORBIDDEN,
        ErrorCode::ProofRequired,
    )
    .await;
    let answer = key_proof(&app, &client, &mut key).await;
    let body = json!({ "security_key": answer });
    let codes: RecoveryCodes = ok_json(post(&app, &client, path, &body).await).await;
    assert_eq!(codes.recovery_codes.len(), 10);
    // The same answer again: its challenge is spent.
    expect_error(
        post(&app, &client, path, &body).await,
        StatusCode::UNAUTHORIZED,
        ErrorCode::SecurityKeyRefused,
    )
    .await;

    // Setting up the app next to the key: a key proves it; a code of the new app does not.
    let setup = app.setup(&client).await;
    let secret = base32_decode(&setup.secret);
    let step = app.now_step();
    let codes_of = |secret: &[u8], step: u64| (totp(secret, step - 1), totp(secret, step));
    let (code1, code2) = codes_of(&secret, step);
    let confirm = "/api/me/two-step/confirm";
    expect_error(
        post(
            &app,
            &client,
            confirm,
            &json!({ "code1": code1, "code2": code2 }),
        )
        .await,
        StatusCode::FORBIDDEN,
        ErrorCode::ProofRequired,
    )
    .await;
    let own_code = json!({ "code1": code1, "code2": code2, "proof": totp(&secret, step) });
    expect_error(
        post(&app, &client, confirm, &own_code).await,
        StatusCode::UNAUTHORIZED,
        ErrorCode::CodeWrong,
    )
    .await;
    let answer = key_proof(&app, &client, &mut key).await;
    let body = json!({ "code1": code1, "code2": code2, "security_key": answer });
    let added: RecoveryCodes = ok_json(post(&app, &client, confirm, &body).await).await;
    assert!(added.recovery_codes.is_empty(), "the recovery codes stay");
    let status = app.me(&client).await.two_step.expect("status");
    assert!(status.app && status.security_keys == 1, "{status:?}");
    assert_eq!(status.recovery_codes_left, 10);

    // Moving the app to a new phone: a key's answer proves it too.
    app.clock.advance(3 * STEP);
    let new: SetupResponse = ok_json(
        post(
            &app,
            &client,
            "/api/me/two-step/replacement/setup",
            &json!({}),
        )
        .await,
    )
    .await;
    let (code1, code2) = codes_of(&base32_decode(&new.secret), app.now_step());
    let answer = key_proof(&app, &client, &mut key).await;
    let body = json!({ "code1": code1, "code2": code2, "security_key": answer });
    let response = post(&app, &client, "/api/me/two-step/replacement/confirm", &body).await;
    assert_eq!(response.status(), StatusCode::NO_CONTENT);

    // Removing 2-step verification: a key's answer proves it; the password never does.
    let path = format!("/api/users/{}/two-step", app.user_id("alice").await);
    expect_error(
        app.send_json(
            &client,
            Method::DELETE,
            &path,
            &json!({ "proof": "correct horse" }),
        )
        .await,
        StatusCode::FORBIDDEN,
        ErrorCode::ProofWrong,
    )
    .await;
    let answer = key_proof(&app, &client, &mut key).await;
    let body = json!({ "security_key": answer });
    let response = app.send_json(&client, Method::DELETE, &path, &body).await;
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    assert!(!app.me(&client).await.two_step.expect("status").enabled);
    assert_eq!(app.count("security_keys").await, 0);
    assert_eq!(events(&app, AuditEventKind::SecurityKeyUsed).await, 4);
}

#[tokio::test]
async fn the_step_after_the_password_tells_which_second_factors_the_account_has() {
    let app = spawn_app().await;
    let _key = user_with_key(&app, &client(), "alice", false).await;
    let bob = client();
    let enrolled = app.enrolled_user(&bob, "bob", "correct horse").await;
    let pending = |name: &'static str| {
        let app = &app;
        async move { app.sign_in_pending(&client(), name, "correct horse").await }
    };
    assert_eq!(pending("alice").await, (false, true), "keys alone");
    assert_eq!(pending("bob").await, (true, false), "the app alone");
    // Both, once bob adds a key (proved with a code of his app).
    app.clock.advance(STEP);
    let proof = json!({ "proof": totp(&enrolled.secret, app.now_step()) });
    let mut key = Key::new(&app);
    let response = add_key(&app, &bob, &mut key, "Desk key", false, proof).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(pending("bob").await, (true, true), "both");
    // A wrong password learns nothing about them.
    let response = app.sign_in_raw(&client(), "alice", "wrong horse").await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    let body: Value = response.json().await.expect("json");
    assert!(
        body.get("app").is_none() && body.get("security_keys").is_none(),
        "{body}"
    );
}
