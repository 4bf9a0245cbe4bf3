//! Talking to identity providers: the HTTP client (no redirects, short timeouts) and how a
//! failed sign-in is told ([`Failure`]), shared by [`crate::oidc::discovery`] and
//! [`crate::oidc::relying_party`].

use openidconnect::HttpClientError;
use std::time::Duration;
use twostep_shared::api::ProviderSignInError;

/// The HTTP client used to talk to providers.
pub type HttpClient = openidconnect::reqwest::Client;

/// Time allowed to connect to a provider, and for a whole request.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

/// An HTTP client for providers: no redirects (they would open the door to server-side
/// request forgery), short timeouts, TLS with the system's trust store.
pub fn http_client() -> Result<HttpClient, String> {
    openidconnect::reqwest::Client::builder()
        .redirect(openidconnect::reqwest::redirect::Policy::none())
        .connect_timeout(CONNECT_TIMEOUT)
        .timeout(REQUEST_TIMEOUT)
        .build()
        .map_err(|e| format!("cannot build the HTTP client for identity providers: {e}"))
}

/// Why a sign-in through a provider failed.
#[derive(Debug, Clone)]
pub struct Failure {
    /// What the person is told.
    pub error: ProviderSignInError,
    /// What happened, for the log and the audit log (no secrets).
    pub detail: String,
}

impl Failure {
    pub fn new(error: ProviderSignInError, detail: impl Into<String>) -> Self {
        Self {
            error,
            detail: detail.into(),
        }
    }

    pub(crate) fn unreachable(detail: impl Into<String>) -> Self {
        Self::new(ProviderSignInError::ProviderUnreachable, detail)
    }

    pub(crate) fn token_invalid(detail: impl Into<String>) -> Self {
        Self::new(ProviderSignInError::TokenInvalid, detail)
    }
}

/// What went wrong reading a discovery document or keys, in words.
pub(crate) fn describe_discovery_error(
    error: &openidconnect::DiscoveryError<HttpClientError<openidconnect::reqwest::Error>>,
) -> String {
    match error {
        openidconnect::DiscoveryError::Request(e) => {
            format!(
                "cannot fetch the discovery document or keys: {}",
                describe_http(e)
            )
        }
        openidconnect::DiscoveryError::Response(status, _, _) => {
            format!("the discovery document or keys answered HTTP {status}")
        }
        openidconnect::DiscoveryError::Validation(message) => {
            format!("the discovery document does not match the configured issuer: {message}")
        }
        other => format!("the discovery document or keys cannot be used: {other}"),
    }
}

pub(crate) fn describe_http(error: &HttpClientError<openidconnect::reqwest::Error>) -> String {
    match error {
        HttpClientError::Reqwest(e) if e.is_timeout() => "timed out".to_owned(),
        HttpClientError::Reqwest(e) if e.is_connect() => "cannot connect".to_owned(),
        HttpClientError::Reqwest(e) => {
            let mut text = e.to_string();
            let mut source = std::error::Error::source(e.as_ref());
            while let Some(cause) = source {
                text.push_str(": ");
                text.push_str(&cause.to_string());
                source = cause.source();
            }
            text
        }
        other => other.to_string(),
    }
}
