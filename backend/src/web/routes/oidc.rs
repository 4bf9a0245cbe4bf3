//! Sign-in through an identity provider (OpenID Connect) for organizational accounts:
//!
//! - `GET /api/oidc/providers`: the configured providers, for the Sign in page (public);
//! - `GET /api/oidc/start?provider=NAME`: starts a sign-in and redirects to the provider;
//! - `GET /api/oidc/callback`: the provider's answer. It signs the person in and redirects to
//!   `/`, or redirects to `/?sign_in_error=<code>`, where the Sign in page says what happened.
//!
//! The browser carries the flow's `state` twice: in the provider's redirect, and in an
//! HttpOnly cookie set at the start (`SameSite=Lax` so that it comes back with the provider's
//! top-level redirect; sent only to `/api/oidc`). An answer whose state is not the cookie's is
//! refused, so nobody can finish in someone else's browser a sign-in they started themselves
//! (login CSRF). Nothing is created until every check has passed; then only the session
//! (and, for an account linked by e-mail, its subject).
//!
//! Every refusal is logged; it is audited only when a sign-in in progress (a flow row, spent by
//! the refusal) is behind it, so at most once per flow. Anyone can send a callback without one
//! (no state cookie, an unknown state, no provider configured) or a start that fails, as
//! often as they like: those write no audit row.

use crate::accounts::users::UserRecord;
use crate::audit;
use crate::oidc::flows::{self, FlowSecrets};
use crate::oidc::link::{self, LinkedBy};
use crate::oidc::{Failure, IdentityProvider, relying_party};
use crate::sessions::{self, Stage};
use crate::state::AppState;
use crate::web::extract::ClientAddr;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::{Json, Router};
use axum_extra::extract::CookieJar;
use axum_extra::extract::cookie::{Cookie, SameSite};
use serde::Deserialize;
use subtle::ConstantTimeEq;
use twostep_shared::api::{
    AuditEventKind, IdentityProviderInfo, IdentityProviders, ProviderSignInError,
    SIGN_IN_ERROR_PARAM,
};

/// Where providers send people back to (after the public URL).
pub const CALLBACK_PATH: &str = "/api/oidc/callback";
/// The cookie that binds a sign-in to the browser that started it.
pub const STATE_COOKIE: &str = "twostep_oidc_state";
const STATE_COOKIE_PATH: &str = "/api/oidc";

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/oidc/providers", get(providers))
        .route("/oidc/start", get(start))
        .route("/oidc/callback", get(callback))
}

/// The link that starts a sign-in with `name`.
pub fn start_url(name: &str) -> String {
    let encoded: String =
        openidconnect::url::form_urlencoded::byte_serialize(name.as_bytes()).collect();
    format!("/api/oidc/start?provider={encoded}")
}

async fn providers(State(state): State<AppState>) -> Json<IdentityProviders> {
    Json(IdentityProviders {
        providers: state
            .settings
            .identity_providers
            .iter()
            .map(|provider| IdentityProviderInfo {
                name: provider.name.clone(),
                start_url: start_url(&provider.name),
            })
            .collect(),
    })
}

fn redirect_uri(state: &AppState) -> String {
    format!("{}{CALLBACK_PATH}", state.settings.public_url)
}

fn state_cookie(value: String, secure: bool) -> Cookie<'static> {
    Cookie::build((STATE_COOKIE, value))
        .http_only(true)
        .same_site(SameSite::Lax)
        .secure(secure)
        .path(STATE_COOKIE_PATH)
        .build()
}

fn state_cookie_removal() -> Cookie<'static> {
    Cookie::build((STATE_COOKIE, ""))
        .path(STATE_COOKIE_PATH)
        .build()
}

/// Back to the Sign in page, which shows what `error` means.
fn sign_in_error(jar: CookieJar, error: ProviderSignInError) -> Response {
    let to = format!("/?{SIGN_IN_ERROR_PARAM}={}", error.as_str());
    (jar, Redirect::to(&to)).into_response()
}

fn http_client(state: &AppState) -> Result<&relying_party::HttpClient, Failure> {
    state.oidc_http.as_ref().ok_or_else(|| {
        Failure::new(
            ProviderSignInError::ProviderUnreachable,
            "the HTTP client for identity providers could not be built (see the start-up log)",
        )
    })
}

#[derive(Debug, Deserialize)]
struct StartQuery {
    provider: Option<String>,
}

async fn start(
    State(state): State<AppState>,
    jar: CookieJar,
    query: Result<Query<StartQuery>, QueryRejection>,
) -> Response {
    let name = query
        .ok()
        .and_then(|Query(q)| q.provider)
        .unwrap_or_default();
    let Some(provider) = state.settings.identity_provider(&name).cloned() else {
        return sign_in_error(jar, ProviderSignInError::UnknownProvider);
    };
    let now = state.clock.now();
    match begin(&state, &provider, now).await {
        Ok(authorization) => {
            let cookie = state_cookie(authorization.state, state.settings.secure_cookies);
            (jar.add(cookie), Redirect::to(&authorization.url)).into_response()
        }
        Err(failure) => {
            // No flow was stored: logged, not audited (anyone can start, as often as they like).
            log_failure(Some(&provider.name), &failure);
            sign_in_error(jar, failure.error)
        }
    }
}

async fn begin(
    state: &AppState,
    provider: &IdentityProvider,
    now: u64,
) -> Result<relying_party::Authorization, Failure> {
    let authorization =
        relying_party::begin(http_client(state)?, provider, &redirect_uri(state)).await?;
    let secrets = FlowSecrets {
        nonce: authorization.nonce.clone(),
        pkce_verifier: authorization.pkce_verifier.clone(),
    };
    flows::create(
        &state.db,
        &state.seal,
        &authorization.state,
        &provider.name,
        &secrets,
        now,
    )
    .await
    .map_err(|e| Failure::new(ProviderSignInError::Unavailable, e))?;
    Ok(authorization)
}

/// The provider's answer (RFC 6749 §4.1.2, RFC 9207 `iss`). `error_description` is ignored:
/// it is free text anyone can put in a link. No `Debug`: it holds the code.
#[derive(Default, Deserialize)]
struct CallbackQuery {
    code: Option<String>,
    state: Option<String>,
    error: Option<String>,
    iss: Option<String>,
}

/// A refused answer: why, and at which provider (when the flow was found: only then is it
/// audited).
struct Refusal {
    failure: Failure,
    provider: Option<String>,
}

impl Refusal {
    fn new(error: ProviderSignInError, detail: impl Into<String>) -> Self {
        Failure::new(error, detail).into()
    }

    fn at(mut self, provider: &str) -> Self {
        self.provider = Some(provider.to_owned());
        self
    }
}

impl From<Failure> for Refusal {
    fn from(failure: Failure) -> Self {
        Self {
            failure,
            provider: None,
        }
    }
}

async fn callback(
    State(state): State<AppState>,
    addr: ClientAddr,
    origin: sessions::Origin,
    jar: CookieJar,
    query: Result<Query<CallbackQuery>, QueryRejection>,
) -> Response {
    let now = state.clock.now();
    let cookie_state = jar.get(STATE_COOKIE).map(|c| c.value().to_owned());
    // The state cookie is spent whatever happens.
    let jar = jar.remove(state_cookie_removal());
    let query = query.map(|Query(q)| q).unwrap_or_default();
    let (user, provider, linked_by) =
        match finish(&state, cookie_state.as_deref(), query, now).await {
            Ok(found) => found,
            Err(refusal) => {
                match refusal.provider.as_deref() {
                    // A flow was behind it (and is now spent): audited, once per flow.
                    Some(provider) => {
                        let failure = &refusal.failure;
                        record_failure(&state, provider, None, failure, &addr, now).await;
                    }
                    // Nothing was: anyone can send these without limit, so only logged.
                    None => log_failure(None, &refusal.failure),
                }
                return sign_in_error(jar, refusal.failure.error);
            }
        };
    let started = start_session(&state, &jar, &user, &provider, linked_by, &origin, now).await;
    match started {
        Ok(token) => {
            let jar = jar.add(sessions::cookie(token, state.settings.secure_cookies));
            (jar, Redirect::to("/")).into_response()
        }
        Err(error) => {
            let failure = Failure::new(ProviderSignInError::Unavailable, error);
            record_failure(&state, &provider, Some(&user), &failure, &addr, now).await;
            sign_in_error(jar, failure.error)
        }
    }
}

/// Every check on the answer, in order; on success, the account to sign in to.
async fn finish(
    state: &AppState,
    cookie_state: Option<&str>,
    query: CallbackQuery,
    now: u64,
) -> Result<(UserRecord, String, LinkedBy), Refusal> {
    use ProviderSignInError as E;
    let answer_state = query
        .state
        .ok_or_else(|| Refusal::new(E::StateMismatch, "the answer has no state"))?;
    let Some(cookie_state) = cookie_state else {
        return Err(Refusal::new(
            E::StateMismatch,
            "the browser has no sign-in in progress (no state cookie)",
        ));
    };
    if !bool::from(answer_state.as_bytes().ct_eq(cookie_state.as_bytes())) {
        return Err(Refusal::new(
            E::StateMismatch,
            "the answer's state is not the one this browser started",
        ));
    }
    let flow = flows::take(&state.db, &state.seal, &answer_state)
        .await
        .map_err(|e| Refusal::new(E::Unavailable, e))?
        .ok_or_else(|| {
            Refusal::new(
                E::StateMismatch,
                "no sign-in in progress has this state (already used, or never started)",
            )
        })?;
    let name = flow.provider.clone();
    if flow.expires_at <= now {
        return Err(Refusal::new(E::Expired, "the sign-in took more than 10 minutes").at(&name));
    }
    let provider = state
        .settings
        .identity_provider(&name)
        .cloned()
        .ok_or_else(|| {
            Refusal::new(E::UnknownProvider, "the provider is no longer configured").at(&name)
        })?;
    if let Some(iss) = &query.iss
        && iss != provider.issuer.as_str()
    {
        return Err(
            Refusal::new(E::TokenInvalid, "the answer names another issuer (iss)").at(&name),
        );
    }
    if let Some(error) = &query.error {
        let code = sanitize(error);
        let kind = if error == "access_denied" {
            E::Cancelled
        } else {
            E::ProviderError
        };
        return Err(Refusal::new(kind, format!("the provider answered error={code}")).at(&name));
    }
    let code = query
        .code
        .filter(|c| !c.is_empty())
        .ok_or_else(|| Refusal::new(E::ProviderError, "the answer has no code").at(&name))?;
    let http = http_client(state).map_err(|f| Refusal::from(f).at(&name))?;
    let identity = relying_party::finish(
        http,
        &provider,
        &redirect_uri(state),
        &code,
        &flow.secrets.nonce,
        &flow.secrets.pkce_verifier,
        now,
    )
    .await
    .map_err(|f| Refusal::from(f).at(&name))?;
    match link::find_account(&state.db, &name, &identity).await {
        Ok(Some((user, _))) if user.disabled => Err(Refusal::new(
            E::AccountDisabled,
            format!("the account {} is disabled", user.username),
        )
        .at(&name)),
        Ok(Some((user, linked_by))) => Ok((user, name, linked_by)),
        Ok(None) => Err(Refusal::new(
            E::UnknownAccount,
            format!(
                "no account is linked to subject {:?} (verified e-mail: {})",
                identity.subject,
                identity.verified_email.as_deref().unwrap_or("none")
            ),
        )
        .at(&name)),
        Err(e) => Err(Refusal::new(E::Unavailable, format!("database: {e}")).at(&name)),
    }
}

/// An error code from the provider, shortened to what such codes are made of.
fn sanitize(code: &str) -> String {
    code.chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '_')
        .take(64)
        .collect()
}

/// Starts the session (ending the browser's previous one); returns its token.
async fn start_session(
    state: &AppState,
    jar: &CookieJar,
    user: &UserRecord,
    provider: &str,
    linked_by: LinkedBy,
    origin: &sessions::Origin,
    now: u64,
) -> Result<String, String> {
    let database = |e: sqlx::Error| format!("database: {e}");
    let previous = sessions::current_token(jar, state.settings.secure_cookies);
    crate::sign_in::sign_out(state, previous)
        .await
        .map_err(database)?;
    let token = sessions::create(&state.db, user.id, Stage::SignedIn, origin, now)
        .await
        .map_err(database)?;
    tracing::info!(user_id = user.id, %provider, "signed in through an identity provider");
    let detail = match linked_by {
        LinkedBy::Subject => format!("via {provider}"),
        LinkedBy::Email => format!("via {provider} (first sign-in: linked by verified e-mail)"),
    };
    let detail = origin.sign_in_detail(&detail);
    let mut event = audit::Event::own(
        AuditEventKind::SignedIn,
        user,
        origin.client_addr.as_deref(),
    );
    event.detail = detail.as_deref();
    audit::record(&state.db, event, now).await;
    Ok(token)
}

/// Logs a refused sign-in (every refusal is).
fn log_failure(provider: Option<&str>, failure: &Failure) {
    let provider_text = provider.unwrap_or("unknown provider");
    // What people do (cancel, take too long, sign in as somebody unknown) is news; what
    // points at a broken provider, configuration or attack is a warning.
    match failure.error {
        ProviderSignInError::ProviderUnreachable
        | ProviderSignInError::ProviderError
        | ProviderSignInError::TokenInvalid
        | ProviderSignInError::Unavailable => tracing::warn!(
            provider = provider_text,
            error = failure.error.as_str(),
            detail = %failure.detail,
            "sign-in through an identity provider refused"
        ),
        _ => tracing::info!(
            provider = provider_text,
            error = failure.error.as_str(),
            detail = %failure.detail,
            "sign-in through an identity provider refused"
        ),
    }
}

/// Logs a refused sign-in that had a flow behind it, and audits it.
async fn record_failure(
    state: &AppState,
    provider: &str,
    user: Option<&UserRecord>,
    failure: &Failure,
    addr: &ClientAddr,
    now: u64,
) {
    log_failure(Some(provider), failure);
    let detail = format!("{provider}: {}", failure.detail);
    let event = audit::Event {
        kind: AuditEventKind::SignInFailedProvider,
        actor: audit::Actor::Anonymous,
        subject: match user {
            Some(user) => audit::Subject::User(user),
            None => audit::Subject::Nobody,
        },
        client_addr: addr.as_deref(),
        detail: Some(&detail),
    };
    audit::record(&state.db, event, now).await;
}
