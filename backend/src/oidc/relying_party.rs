//! The OpenID Connect relying party (the `openidconnect` crate): the authorization code flow
//! with PKCE (S256), `state` and `nonce`.
//!
//! The provider's discovery document and JSON Web Key Set come from the cache of
//! [`crate::oidc::discovery`] (fetched again on expiry, and the keys when a token names one
//! the cache does not have), once to build the authorization URL and once to exchange the
//! code and check the ID token: issuer, audience (this client only), signature with an
//! asymmetric algorithm the provider announces and a key from its JWKS, expiry against the
//! server's clock, the nonce, and the access token hash when there is one.
//!
//! Failures come back as a [`Failure`]: the [`ProviderSignInError`] a person sees, and a
//! detail for the log and the audit log that never holds a code, token, nonce or verifier.

use crate::oidc::IdentityProvider;
use crate::oidc::discovery::{Metadata, MetadataCache};
use crate::oidc::http::describe_http;
pub use crate::oidc::http::{Failure, HttpClient, http_client};
use openidconnect::core::{
    CoreAuthenticationFlow, CoreClient, CoreClientAuthMethod, CoreJwsSigningAlgorithm,
    CoreUserInfoClaims,
};
use openidconnect::{
    AccessTokenHash, AuthType, AuthorizationCode, ClaimsVerificationError, CsrfToken,
    HttpClientError, Nonce, OAuth2TokenResponse, PkceCodeChallenge, PkceCodeVerifier, RedirectUrl,
    RequestTokenError, Scope, TokenResponse,
};
use twostep_shared::api::ProviderSignInError;

/// Where to send the person, and what to keep for the callback.
pub struct Authorization {
    pub url: String,
    pub state: String,
    pub nonce: String,
    pub pkce_verifier: String,
}

impl std::fmt::Debug for Authorization {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Authorization(***)")
    }
}

/// The signature algorithms accepted for ID tokens: those the provider announces, without
/// shared-secret (HS…) ones and `none`, so every signature is checked with a key from the
/// provider's JWKS. RS256 if the provider names none of them (every provider supports it).
fn asymmetric_algorithms(metadata: &Metadata) -> Vec<CoreJwsSigningAlgorithm> {
    use CoreJwsSigningAlgorithm as A;
    let algorithms: Vec<_> = metadata
        .id_token_signing_alg_values_supported()
        .iter()
        .filter(|alg| !matches!(alg, A::HmacSha256 | A::HmacSha384 | A::HmacSha512 | A::None))
        .cloned()
        .collect();
    if algorithms.is_empty() {
        vec![A::RsaSsaPkcs1V15Sha256]
    } else {
        algorithms
    }
}

/// Client authentication at the token endpoint: HTTP Basic unless the provider only takes
/// the secret in the request body.
fn auth_type(metadata: &Metadata) -> AuthType {
    match metadata.token_endpoint_auth_methods_supported() {
        Some(methods)
            if !methods.contains(&CoreClientAuthMethod::ClientSecretBasic)
                && methods.contains(&CoreClientAuthMethod::ClientSecretPost) =>
        {
            AuthType::RequestBody
        }
        _ => AuthType::BasicAuth,
    }
}

fn redirect_url(redirect_uri: &str) -> Result<RedirectUrl, Failure> {
    RedirectUrl::new(redirect_uri.to_owned()).map_err(|e| {
        Failure::new(
            ProviderSignInError::Unavailable,
            format!("the callback URL {redirect_uri:?} is not valid: {e}"),
        )
    })
}

/// Step 1: builds the authorization URL from the provider's metadata with a fresh `state`,
/// `nonce` and PKCE challenge.
pub fn begin(
    metadata: Metadata,
    provider: &IdentityProvider,
    redirect_uri: &str,
) -> Result<Authorization, Failure> {
    let client = CoreClient::from_provider_metadata(
        metadata,
        provider.client_id.clone(),
        provider.client_secret.clone(),
    )
    .set_redirect_uri(redirect_url(redirect_uri)?);
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let mut request = client.authorize_url(
        CoreAuthenticationFlow::AuthorizationCode,
        CsrfToken::new_random,
        Nonce::new_random,
    );
    for scope in &provider.scopes {
        request = request.add_scope(Scope::new(scope.clone()));
    }
    let (url, state, nonce) = request.set_pkce_challenge(challenge).url();
    Ok(Authorization {
        url: url.to_string(),
        state: state.secret().clone(),
        nonce: nonce.secret().clone(),
        pkce_verifier: verifier.secret().clone(),
    })
}

/// Who the provider vouched for, after every check passed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedIdentity {
    /// The `sub` claim.
    pub subject: String,
    /// The e-mail address, lower-case, only if the provider says it is verified. Taken from
    /// the ID token, or from the UserInfo endpoint when the ID token carries none.
    pub verified_email: Option<String>,
}

/// The `iss` parameter of an answer (RFC 9207): when present it must be the provider's
/// issuer, and it must be present when the provider's discovery document says it sends it
/// (`authorization_response_iss_parameter_supported`).
pub fn check_iss(
    metadata: &Metadata,
    provider: &IdentityProvider,
    iss: Option<&str>,
) -> Result<(), Failure> {
    match iss {
        Some(iss) if iss != provider.issuer.as_str() => Err(Failure::token_invalid(
            "the answer names another issuer (iss)",
        )),
        None if crate::oidc::discovery::sends_iss(metadata) => Err(Failure::token_invalid(
            "the answer has no iss, which the provider says it always sends (RFC 9207)",
        )),
        _ => Ok(()),
    }
}

/// What a sign-in's answer is checked against.
pub struct Answer<'a> {
    pub redirect_uri: &'a str,
    pub code: &'a str,
    pub nonce: &'a str,
    pub pkce_verifier: &'a str,
}

/// A client made from a provider's metadata (authorization endpoint set; token and UserInfo
/// endpoints as the metadata has them).
type ProviderClient = CoreClient<
    openidconnect::EndpointSet,
    openidconnect::EndpointNotSet,
    openidconnect::EndpointNotSet,
    openidconnect::EndpointNotSet,
    openidconnect::EndpointMaybeSet,
    openidconnect::EndpointMaybeSet,
>;

/// The client for `metadata`, and the signature algorithms its ID tokens may use.
fn client_for(
    metadata: Metadata,
    provider: &IdentityProvider,
    redirect_uri: &str,
) -> Result<(Vec<CoreJwsSigningAlgorithm>, ProviderClient), Failure> {
    let algorithms = asymmetric_algorithms(&metadata);
    let auth_type = auth_type(&metadata);
    let client = CoreClient::from_provider_metadata(
        metadata,
        provider.client_id.clone(),
        provider.client_secret.clone(),
    )
    .set_redirect_uri(redirect_url(redirect_uri)?)
    .set_auth_type(auth_type);
    Ok((algorithms, client))
}

/// Step 2: exchanges the code (with the PKCE verifier) and checks the ID token against
/// `nonce` at the time `now` (Unix seconds). A token signed with a key the cached JWKS does
/// not have makes the cache fetch the keys again (at most once a minute) and check again.
pub async fn finish(
    http: &HttpClient,
    cache: &MetadataCache,
    metadata: Metadata,
    provider: &IdentityProvider,
    answer: Answer<'_>,
    now: u64,
) -> Result<VerifiedIdentity, Failure> {
    let Answer {
        redirect_uri,
        code,
        nonce,
        pkce_verifier,
    } = answer;
    let (algorithms, client) = client_for(metadata, provider, redirect_uri)?;

    let token = client
        .exchange_code(AuthorizationCode::new(code.to_owned()))
        .map_err(|_| {
            Failure::new(
                ProviderSignInError::ProviderError,
                "the discovery document names no token endpoint",
            )
        })?
        .set_pkce_verifier(PkceCodeVerifier::new(pkce_verifier.to_owned()))
        .request_async(http)
        .await
        .map_err(|error| match error {
            RequestTokenError::Request(e) => Failure::unreachable(format!(
                "cannot reach the token endpoint: {}",
                describe_http(&e)
            )),
            RequestTokenError::ServerResponse(response) => Failure::token_invalid(format!(
                "the token endpoint refused the code: {}",
                response.error()
            )),
            RequestTokenError::Parse(_, _) => {
                Failure::token_invalid("the token endpoint's answer is not a token response")
            }
            RequestTokenError::Other(message) => Failure::token_invalid(format!(
                "the token endpoint's answer is not usable: {message}"
            )),
        })?;

    let id_token = token
        .id_token()
        .ok_or_else(|| Failure::token_invalid("the token response has no ID token"))?;
    let now_time = chrono::DateTime::from_timestamp(now as i64, 0).ok_or_else(|| {
        Failure::new(
            ProviderSignInError::Unavailable,
            "the clock is out of range",
        )
    })?;
    let expected_nonce = Nonce::new(nonce.to_owned());
    let verifier = client
        .id_token_verifier()
        .set_allowed_algs(algorithms.clone())
        .set_time_fn(move || now_time);
    let mut refreshed = None;
    if let Err(ClaimsVerificationError::SignatureVerification(
        openidconnect::SignatureVerificationError::NoMatchingKey,
    )) = id_token.claims(&verifier, &expected_nonce)
        && let Some(metadata) = cache.refresh_keys(http, provider, now).await?
    {
        refreshed = Some(client_for(metadata, provider, redirect_uri)?.1);
    }
    let client = refreshed.as_ref().unwrap_or(&client);
    let verifier = client
        .id_token_verifier()
        .set_allowed_algs(algorithms)
        .set_time_fn(move || now_time);
    let claims = id_token
        .claims(&verifier, &expected_nonce)
        .map_err(|e| Failure::token_invalid(describe_claims_error(&e)))?;

    // The access token hash, when present, ties the access token to this ID token.
    if let Some(expected) = claims.access_token_hash() {
        let matches = id_token
            .signing_alg()
            .and_then(|alg| Ok((alg, id_token.signing_key(&verifier)?)))
            .ok()
            .and_then(|(alg, key)| AccessTokenHash::from_token(token.access_token(), alg, key).ok())
            .is_some_and(|actual| actual == *expected);
        if !matches {
            return Err(Failure::token_invalid(
                "the access token does not match the ID token's at_hash",
            ));
        }
    }

    let subject = crate::oidc::link::parse_subject(claims.subject().as_str()).map_err(|e| {
        Failure::token_invalid(format!("the ID token's subject is not usable: {e}"))
    })?;
    let verified_email = match claims.email() {
        Some(email) => (claims.email_verified() == Some(true))
            .then(|| crate::oidc::link::normalize_email(email.as_str()).ok())
            .flatten(),
        // Many providers put the e-mail claims only in the UserInfo answer.
        None => {
            match client.user_info(token.access_token().clone(), Some(claims.subject().clone())) {
                Ok(request) => user_info_email(request.request_async(http).await)?,
                Err(_) => None,
            }
        }
    };
    Ok(VerifiedIdentity {
        subject,
        verified_email,
    })
}

/// The verified e-mail in a UserInfo answer (which the crate has checked is about the same
/// subject as the ID token).
fn user_info_email(
    answer: Result<
        CoreUserInfoClaims,
        openidconnect::UserInfoError<HttpClientError<openidconnect::reqwest::Error>>,
    >,
) -> Result<Option<String>, Failure> {
    match answer {
        Ok(info) => Ok(info
            .email()
            .filter(|_| info.email_verified() == Some(true))
            .and_then(|email| crate::oidc::link::normalize_email(email.as_str()).ok())),
        Err(openidconnect::UserInfoError::Request(e)) => Err(Failure::unreachable(format!(
            "cannot reach the UserInfo endpoint: {}",
            describe_http(&e)
        ))),
        Err(openidconnect::UserInfoError::ClaimsVerification(e)) => {
            Err(Failure::token_invalid(format!(
                "the UserInfo answer is not valid: {}",
                describe_claims_error(&e)
            )))
        }
        Err(other) => {
            tracing::warn!(error = %other, "the UserInfo answer is not usable; going on without an e-mail");
            Ok(None)
        }
    }
}

/// What went wrong with an ID token, in words without the token's contents.
fn describe_claims_error(error: &ClaimsVerificationError) -> String {
    use openidconnect::SignatureVerificationError as S;
    match error {
        ClaimsVerificationError::Expired(_) => "the ID token has expired".to_owned(),
        ClaimsVerificationError::InvalidAudience(_) => {
            "the ID token is not for this client (audience)".to_owned()
        }
        ClaimsVerificationError::InvalidIssuer(_) => {
            "the ID token is from another issuer".to_owned()
        }
        ClaimsVerificationError::InvalidNonce(_) => {
            "the ID token's nonce does not match this sign-in".to_owned()
        }
        ClaimsVerificationError::InvalidSubject(_) => {
            "the subject does not match the ID token's".to_owned()
        }
        ClaimsVerificationError::SignatureVerification(signature) => match signature {
            S::NoMatchingKey => {
                "the ID token is signed with a key that is not in the provider's JWKS".to_owned()
            }
            S::DisallowedAlg(_) | S::UnsupportedAlg(_) => {
                "the ID token is signed with an algorithm that is not accepted".to_owned()
            }
            S::NoSignature => "the ID token is not signed".to_owned(),
            _ => "the ID token's signature does not verify with the provider's keys".to_owned(),
        },
        _ => "the ID token is not valid".to_owned(),
    }
}
