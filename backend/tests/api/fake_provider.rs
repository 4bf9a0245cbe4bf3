//! A small OpenID Connect provider inside the test process, to mint exactly the answers a test
//! needs: its discovery document, JWKS, token endpoint and UserInfo endpoint on `127.0.0.1:0`,
//! and ID tokens signed (RS256, written out by hand with the `rsa` crate, independently of the
//! `openidconnect` crate the server uses) with its own key or, to test refusals, with another.
//!
//! The authorization endpoint is never visited: the test reads the server's redirect to it
//! ([`AuthRequest`]) and then calls [`FakeProvider::grant`] as if the person had signed in.

use crate::helpers::see_other;
use axum::extract::{Form, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD as B64, URL_SAFE_NO_PAD as B64URL};
use rsa::RsaPrivateKey;
use rsa::pkcs1v15::SigningKey;
use rsa::signature::{SignatureEncoding, Signer};
use rsa::traits::PublicKeyParts;
use serde::Deserialize;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};
use tokio::task::JoinHandle;
use twostep::oidc::IdentityProvider;

/// The provider's name in the server's settings.
pub const NAME: &str = "Fake ID";
pub const CLIENT_ID: &str = "twostep-test-client";
pub const CLIENT_SECRET: &str = "fake-provider-client-secret";
/// An `at_hash` claim with this value is replaced by the right hash of the access token.
pub const AT_HASH_OF_ACCESS_TOKEN: &str = "(the hash of the access token)";
/// The key id of the provider's signing key in its JWKS.
const KID: &str = "fake-key-1";
/// The key id of its second key, published after a rotation.
const NEW_KID: &str = "fake-key-2";

/// Two RSA keys, made once per test run: the provider's, and a stranger's.
fn keys() -> &'static (RsaPrivateKey, RsaPrivateKey) {
    static KEYS: OnceLock<(RsaPrivateKey, RsaPrivateKey)> = OnceLock::new();
    KEYS.get_or_init(|| {
        let make = || RsaPrivateKey::new(&mut rsa::rand_core::OsRng, 2048).expect("an RSA key");
        (make(), make())
    })
}

/// How an ID token is signed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignedBy {
    /// RS256 with the provider's key, published in its JWKS.
    Provider,
    /// RS256 with another key, not in the JWKS, under the provider's key id.
    Stranger,
    /// Not at all (`alg: none`).
    Unsigned,
    /// HS256 with the client secret (a shared-secret algorithm the server does not accept).
    ClientSecret,
    /// RS256 with the second key, under its own key id: in the JWKS once the provider has
    /// rotated its keys ([`FakeProvider::rotate_keys`]).
    NewKey,
    /// RS256 with the second key under a key id the provider never publishes.
    UnknownKey,
}

/// What the person's sign-in at the provider yields: the ID token's claims (as JSON, so a
/// test can set any of them wrong) and how it is signed.
#[derive(Debug, Clone)]
pub struct Grant {
    pub claims: Value,
    pub signed_by: SignedBy,
    /// UserInfo answer for the access token, if any.
    pub userinfo: Option<Value>,
}

/// What the server asked for when it sent the browser to the provider.
#[derive(Debug, Clone)]
pub struct AuthRequest {
    pub state: String,
    pub nonce: String,
    pub code_challenge: String,
    pub code_challenge_method: String,
    pub redirect_uri: String,
    pub client_id: String,
    pub scope: String,
    pub response_type: String,
}

impl AuthRequest {
    /// Parses the server's redirect to the provider's authorization endpoint.
    pub fn from_location(provider: &FakeProvider, location: &str) -> Self {
        let authorize = format!("{}/authorize?", provider.issuer);
        let query = location
            .strip_prefix(&authorize)
            .unwrap_or_else(|| panic!("{location} is not the provider's authorization endpoint"));
        let params: HashMap<String, String> = reqwest::Url::parse(&format!("http://x/?{query}"))
            .expect("a URL")
            .query_pairs()
            .into_owned()
            .collect();
        let get = |name: &str| {
            params
                .get(name)
                .cloned()
                .unwrap_or_else(|| panic!("no {name} in {location}"))
        };
        Self {
            state: get("state"),
            nonce: get("nonce"),
            code_challenge: get("code_challenge"),
            code_challenge_method: get("code_challenge_method"),
            redirect_uri: get("redirect_uri"),
            client_id: get("client_id"),
            scope: get("scope"),
            response_type: get("response_type"),
        }
    }
}

struct Issued {
    grant: Grant,
    code_challenge: String,
    redirect_uri: String,
}

#[derive(Default)]
struct Inner {
    codes: HashMap<String, Issued>,
    userinfo: HashMap<String, Value>,
    /// Token requests that were accepted (code verifier checked).
    tokens_issued: usize,
    /// Every access token and ID token handed out.
    secrets_issued: Vec<String>,
    /// Every request received, of any kind.
    requests: usize,
    /// Whether the discovery document says `iss` comes with every answer (RFC 9207).
    sends_iss: bool,
    /// Whether the JWKS also has the second key ([`SignedBy::NewKey`]).
    rotated: bool,
    /// Requests for the JWKS.
    jwks_requests: usize,
}

#[derive(Clone)]
struct Shared {
    issuer: String,
    inner: Arc<Mutex<Inner>>,
}

/// The running provider; stopped when dropped.
pub struct FakeProvider {
    pub issuer: String,
    shared: Shared,
    server: JoinHandle<()>,
}

impl Drop for FakeProvider {
    fn drop(&mut self) {
        self.server.abort();
    }
}

impl FakeProvider {
    pub async fn start() -> Self {
        keys();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind a local port");
        let issuer = format!("http://{}", listener.local_addr().expect("address"));
        let shared = Shared {
            issuer: issuer.clone(),
            inner: Arc::default(),
        };
        let app = Router::new()
            .route("/.well-known/openid-configuration", get(discovery))
            .route("/jwks", get(jwks))
            .route("/token", post(token))
            .route("/userinfo", get(userinfo))
            .layer(axum::middleware::from_fn_with_state(
                shared.clone(),
                count_requests,
            ))
            .with_state(shared.clone());
        let server = tokio::spawn(async move {
            axum::serve(listener, app).await.expect("serve");
        });
        Self {
            issuer,
            shared,
            server,
        }
    }

    /// The server's configuration for this provider.
    pub fn config(&self) -> IdentityProvider {
        self.config_with("")
    }

    /// The server's configuration for this provider, with `extra` lines of TOML in its entry
    /// (e.g. `link_by_email = true`).
    pub fn config_with(&self, extra: &str) -> IdentityProvider {
        let text = format!(
            "[[provider]]\nname = \"{NAME}\"\nissuer = \"{}\"\nclient_id = \"{CLIENT_ID}\"\nclient_secret_env = \"SECRET\"\n{extra}\n",
            self.issuer
        );
        let env = |_: &str| Some(CLIENT_SECRET.to_owned());
        twostep::oidc::providers::parse(&text, &env)
            .expect("a valid provider entry")
            .remove(0)
    }

    /// Stops answering (connections are refused from now on).
    pub fn stop(&self) {
        self.server.abort();
    }

    /// The claims of a good ID token for `request` about `subject`, issued at `now`.
    pub fn claims(&self, request: &AuthRequest, subject: &str, now: u64) -> Value {
        json!({
            "iss": self.issuer,
            "sub": subject,
            "aud": CLIENT_ID,
            "iat": now,
            "exp": now + 300,
            "nonce": request.nonce,
        })
    }

    /// The person signed in at the provider for `request`: returns the code the provider
    /// sends back; the token endpoint will answer it with `grant`.
    pub fn grant(&self, request: &AuthRequest, grant: Grant) -> String {
        let code = random_text();
        self.shared.inner.lock().expect("lock").codes.insert(
            code.clone(),
            Issued {
                grant,
                code_challenge: request.code_challenge.clone(),
                redirect_uri: request.redirect_uri.clone(),
            },
        );
        code
    }

    /// Every access token and ID token the token endpoint handed out.
    pub fn secrets_issued(&self) -> Vec<String> {
        self.shared
            .inner
            .lock()
            .expect("lock")
            .secrets_issued
            .clone()
    }

    /// How many requests the provider received (discovery, keys, token, UserInfo).
    pub fn requests(&self) -> usize {
        self.shared.inner.lock().expect("lock").requests
    }

    /// From now on the discovery document says whether `iss` comes with every answer
    /// (`authorization_response_iss_parameter_supported`).
    pub fn set_sends_iss(&self, sends: bool) {
        self.shared.inner.lock().expect("lock").sends_iss = sends;
    }

    /// From now on the JWKS also publishes the second key (a key rotation).
    pub fn rotate_keys(&self) {
        self.shared.inner.lock().expect("lock").rotated = true;
    }

    /// How many times the JWKS was read.
    pub fn jwks_requests(&self) -> usize {
        self.shared.inner.lock().expect("lock").jwks_requests
    }

    /// How many codes were exchanged for tokens.
    pub fn tokens_issued(&self) -> usize {
        self.shared.inner.lock().expect("lock").tokens_issued
    }
}

fn random_text() -> String {
    let mut bytes = [0u8; 16];
    rsa::rand_core::RngCore::fill_bytes(&mut rsa::rand_core::OsRng, &mut bytes);
    B64URL.encode(bytes)
}

/// A JWT with these claims, signed as `signed_by` says.
pub fn sign(claims: &Value, signed_by: SignedBy) -> String {
    let (provider, stranger) = keys();
    let alg = match signed_by {
        SignedBy::Provider | SignedBy::Stranger | SignedBy::NewKey | SignedBy::UnknownKey => {
            "RS256"
        }
        SignedBy::Unsigned => "none",
        SignedBy::ClientSecret => "HS256",
    };
    let kid = match signed_by {
        SignedBy::NewKey => NEW_KID,
        SignedBy::UnknownKey => "fake-key-never-published",
        _ => KID,
    };
    let header = json!({"alg": alg, "typ": "JWT", "kid": kid});
    let signing_input = format!(
        "{}.{}",
        B64URL.encode(header.to_string()),
        B64URL.encode(claims.to_string())
    );
    let signature = match signed_by {
        SignedBy::Provider => rs256(provider, &signing_input),
        SignedBy::Stranger | SignedBy::NewKey | SignedBy::UnknownKey => {
            rs256(stranger, &signing_input)
        }
        SignedBy::Unsigned => Vec::new(),
        SignedBy::ClientSecret => {
            use hmac::{Hmac, Mac};
            let mut mac = Hmac::<Sha256>::new_from_slice(CLIENT_SECRET.as_bytes()).expect("a key");
            mac.update(signing_input.as_bytes());
            mac.finalize().into_bytes().to_vec()
        }
    };
    format!("{signing_input}.{}", B64URL.encode(signature))
}

fn rs256(key: &RsaPrivateKey, signing_input: &str) -> Vec<u8> {
    SigningKey::<Sha256>::new(key.clone())
        .sign(signing_input.as_bytes())
        .to_vec()
}

async fn count_requests(
    State(shared): State<Shared>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    shared.inner.lock().expect("lock").requests += 1;
    next.run(request).await
}

async fn discovery(State(shared): State<Shared>) -> Json<Value> {
    let issuer = &shared.issuer;
    let sends_iss = shared.inner.lock().expect("lock").sends_iss;
    Json(json!({
        "authorization_response_iss_parameter_supported": sends_iss,
        "issuer": issuer,
        "authorization_endpoint": format!("{issuer}/authorize"),
        "token_endpoint": format!("{issuer}/token"),
        "userinfo_endpoint": format!("{issuer}/userinfo"),
        "jwks_uri": format!("{issuer}/jwks"),
        "response_types_supported": ["code"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "token_endpoint_auth_methods_supported": ["client_secret_basic"],
        "code_challenge_methods_supported": ["S256"],
    }))
}

async fn jwks(State(shared): State<Shared>) -> Json<Value> {
    let rotated = {
        let mut inner = shared.inner.lock().expect("lock");
        inner.jwks_requests += 1;
        inner.rotated
    };
    let jwk = |key: &RsaPrivateKey, kid: &str| {
        let key = key.to_public_key();
        json!({
            "kty": "RSA",
            "use": "sig",
            "alg": "RS256",
            "kid": kid,
            "n": B64URL.encode(key.n().to_bytes_be()),
            "e": B64URL.encode(key.e().to_bytes_be()),
        })
    };
    let (provider, second) = keys();
    let mut published = vec![jwk(provider, KID)];
    if rotated {
        published.push(jwk(second, NEW_KID));
    }
    Json(json!({ "keys": published }))
}

#[derive(Debug, Deserialize)]
struct TokenForm {
    grant_type: String,
    code: String,
    redirect_uri: String,
    code_verifier: Option<String>,
}

fn token_error(error: &str) -> Response {
    (StatusCode::BAD_REQUEST, Json(json!({"error": error}))).into_response()
}

/// RFC 6749 §4.1.3 with PKCE (RFC 7636 §4.6) and HTTP Basic client authentication.
async fn token(
    State(shared): State<Shared>,
    headers: HeaderMap,
    Form(form): Form<TokenForm>,
) -> Response {
    let expected_auth = format!(
        "Basic {}",
        B64.encode(format!("{CLIENT_ID}:{CLIENT_SECRET}"))
    );
    if headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        != Some(&expected_auth)
    {
        return (
            StatusCode::UNAUTHORIZED,
            Json(json!({"error": "invalid_client"})),
        )
            .into_response();
    }
    if form.grant_type != "authorization_code" {
        return token_error("unsupported_grant_type");
    }
    let mut inner = shared.inner.lock().expect("lock");
    // Codes are single use.
    let Some(issued) = inner.codes.remove(&form.code) else {
        return token_error("invalid_grant");
    };
    let challenge = form
        .code_verifier
        .as_deref()
        .map(|verifier| B64URL.encode(Sha256::digest(verifier.as_bytes())));
    if challenge.as_deref() != Some(issued.code_challenge.as_str())
        || form.redirect_uri != issued.redirect_uri
    {
        return token_error("invalid_grant");
    }
    let access_token = random_text();
    if let Some(info) = &issued.grant.userinfo {
        inner.userinfo.insert(access_token.clone(), info.clone());
    }
    inner.tokens_issued += 1;
    let mut claims = issued.grant.claims.clone();
    if claims["at_hash"] == AT_HASH_OF_ACCESS_TOKEN {
        // OpenID Connect Core §3.1.3.6: the left half of the SHA-256 of the access token.
        let digest = Sha256::digest(access_token.as_bytes());
        claims["at_hash"] = json!(B64URL.encode(&digest[..16]));
    }
    let id_token = sign(&claims, issued.grant.signed_by);
    inner.secrets_issued.push(access_token.clone());
    inner.secrets_issued.push(id_token.clone());
    Json(json!({
        "access_token": access_token,
        "token_type": "Bearer",
        "expires_in": 300,
        "id_token": id_token,
    }))
    .into_response()
}

async fn userinfo(State(shared): State<Shared>, headers: HeaderMap) -> Response {
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or_default();
    match shared.inner.lock().expect("lock").userinfo.get(token) {
        Some(info) => Json(info.clone()).into_response(),
        None => StatusCode::UNAUTHORIZED.into_response(),
    }
}

/// `GET /api/oidc/start?provider=NAME` must send the browser to the provider; returns what
/// it asked for.
pub async fn start(
    app: &crate::helpers::TestApp,
    client: &reqwest::Client,
    provider: &FakeProvider,
) -> AuthRequest {
    let response = client
        .get(app.url(&twostep::web::routes::start_url(NAME)))
        .send()
        .await
        .expect("request");
    let location = see_other(&response);
    AuthRequest::from_location(provider, &location)
}
