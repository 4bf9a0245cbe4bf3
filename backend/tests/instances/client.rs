//! A cookie-keeping HTTP client that speaks the twostep API, and set-up helpers.

use crate::totp;
use reqwest::{Client, StatusCode};
use serde_json::{Value, json};

pub fn browser() -> Client {
    Client::builder()
        .cookie_store(true)
        .build()
        .expect("HTTP client")
}

/// POST a JSON body; returns the status and the JSON answer (or `null`).
pub async fn post(
    client: &Client,
    url: String,
    body: Value,
) -> Result<(StatusCode, Value), reqwest::Error> {
    let response = client.post(url).json(&body).send().await?;
    let status = response.status();
    let json = response.json::<Value>().await.unwrap_or(Value::Null);
    Ok((status, json))
}

pub async fn get(client: &Client, url: String) -> Result<(StatusCode, Value), reqwest::Error> {
    let response = client.get(url).send().await?;
    let status = response.status();
    let json = response.json::<Value>().await.unwrap_or(Value::Null);
    Ok((status, json))
}

/// The password step against `base`; returns the `status` field of the answer.
pub async fn sign_in(
    client: &Client,
    base: &str,
    name: &str,
    password: &str,
) -> Result<String, reqwest::Error> {
    let (status, body) = post(
        client,
        format!("{base}/api/session"),
        json!({ "username": name, "password": password }),
    )
    .await?;
    assert_eq!(status, StatusCode::OK, "sign-in of {name}: {body}");
    Ok(body["status"].as_str().unwrap_or_default().to_owned())
}

/// An enrolled device: its secret and the last step the server accepted.
#[derive(Clone)]
pub struct Enrolled {
    pub secret: Vec<u8>,
    pub last_step: u64,
}

/// Signs in (no device yet), sets up and confirms with the codes of the previous and the
/// current step. `Ok(None)` when the server answered but refused.
pub async fn enroll(
    base: &str,
    name: &str,
    password: &str,
) -> Result<Option<Enrolled>, reqwest::Error> {
    let client = browser();
    sign_in(&client, base, name, password).await?;
    let (status, setup) = post(&client, format!("{base}/api/me/two-step/setup"), json!({})).await?;
    if status != StatusCode::OK {
        return Ok(None);
    }
    let secret = totp::base32_decode(setup["secret"].as_str().expect("secret")).expect("base32");
    let step = totp::now_step();
    let (status, _) = post(
        &client,
        format!("{base}/api/me/two-step/confirm"),
        json!({ "code1": totp::code(&secret, step - 1), "code2": totp::code(&secret, step) }),
    )
    .await?;
    Ok((status == StatusCode::OK).then_some(Enrolled {
        secret,
        last_step: step,
    }))
}

/// `POST /api/session/verify` with `code`.
pub async fn verify(client: &Client, base: &str, code: &str) -> (StatusCode, Value) {
    post(
        client,
        format!("{base}/api/session/verify"),
        json!({ "code": code }),
    )
    .await
    .expect("request")
}

/// A server on a fresh SQLite data folder with one administrator (`admin`).
pub async fn start_single(extra: &[&str]) -> (tempfile::TempDir, crate::process::ServerProcess) {
    let data = tempfile::tempdir().expect("temporary folder");
    crate::process::create_user(data.path(), &[], "admin", ADMIN_PASSWORD, &["--admin"]);
    let server = crate::process::ServerProcess::start(data.path(), &[], extra).await;
    (data, server)
}

/// The password of the `admin` account that [`start_single`] creates.
pub const ADMIN_PASSWORD: &str = "administrator password";
