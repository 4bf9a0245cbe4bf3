//! Sign-in through an identity provider (OpenID Connect) for organizational accounts:
//!
//! - `GET /api/oidc/providers`: the configured providers, for the Sign in page (public);
//! - `GET /api/oidc/start?provider=NAME`: starts a sign-in and redirects to the provider;
//! - `GET /api/oidc/callback`: the provider's answer. It signs the person in and redirects to
//!   `/`, or redirects to `/?sign_in_error=<code>`, where the Sign in page says what happened.
//!
//! The browser carries the flow's `state` twice: in the provider's redirect, and in an
//! HttpOnly cookie set at the start (`SameSite=Lax` so that it comes back with the provider's
//! top-level redirect). An answer whose state is not the cookie's is refused, so nobody can
//! finish in someone else's browser a sign-in they started themselves (login CSRF). Over https
//! the cookie is `Secure` with the `__Host-` prefix, like the session cookie: a neighbour that
//! can set cookies for the parent domain (or plain http) cannot plant the state of a flow it
//! started, since the callback reads only the prefixed name.
//!
//! Nothing is created until every check has passed; then only the session (and, for an
//! account linked by e-mail, its subject).
//!
//! The browser's previous session ends at the sign-in, as at the password step. The callback
//! comes from the provider's site, so the `SameSite=Strict` session cookie is not sent with
//! it: the start (same-site) records the hash of the session it finds in the flow, and the
//! callback ends that session, starts the new one and writes the audit row in one
//! transaction.
//!
//! Every refusal is logged; it is audited only when a sign-in in progress (a flow row, spent by
//! the refusal) is behind it, so at most once per flow. Anyone can send a callback without one
//! (no state cookie, an unknown state, no provider configured) or a start that fails, as
//! often as they like: those write no audit row.

use crate::accounts::users::UserRecord;
use crate::audit;
use crate::limits::guards::AddressReservation;
use crate::oidc::flows::{self, FlowSecrets};
use crate::oidc::link::{self, LinkedBy};
use crate::oidc::{Failure, IdentityProvider, relying_party};
use crate::sessions::revoking_tx::RevokingTx;
use crate::sessions::{self, Stage};
use crate::state::AppState;
use crate::web::client_addr;
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
/// The cookie that binds a sign-in to the browser that started it (over http).
pub const STATE_COOKIE: &str = "twostep_oidc_state";
/// Its name when cookies are `Secure` (https): the `__Host-` prefix makes the browser refuse
/// it unless it is `Secure`, has `Path=/` and names no domain, so nobody else can plant it.
pub const SECURE_STATE_COOKIE: &str = "__Host-twostep_oidc_state";

/// The state cookie's name: [`SECURE_STATE_COOKIE`] when cookies are `Secure`.
pub fn state_cookie_name(secure: bool) -> &'static str {
    if secure {
        SECURE_STATE_COOKIE
    } else {
        STATE_COOKIE
    }
}

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/oidc/providers", get(providers))
        .route("/api/oidc/start", get(start))
        .route("/api/oidc/callback", get(callback))
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
    Cookie::build((state_cookie_name(secure), value))
        .http_only(true)
        .same_site(SameSite::Lax)
        .secure(secure)
        .path("/")
        .build()
}

fn state_cookie_removal(secure: bool) -> Cookie<'static> {
    Cookie::build((state_cookie_name(secure), ""))
        .secure(secure)
        .path("/")
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
    addr: ClientAddr,
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
    // A start counts in the address's window whatever comes of it (it may cost the
    // provider work); it must also be within the password path's window.
    let result = match reserve(&state, &addr, now) {
        Ok(turn) => {
            turn.keep_provider_sign_in();
            // The session of this browser, if signed in: the start is a same-site request,
            // so its SameSite=Strict cookie is here (it is not at the callback).
            let started_by = sessions::current_token(&jar, state.settings.secure_cookies)
                .map(sessions::hash_token);
            begin(&state, &provider, &addr, started_by, now).await
        }
        Err(failure) => Err(failure),
    };
    match result {
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

/// A request's places in its address's windows: the one for sign-ins through providers and
/// the password path's. Handed back when dropped, unless kept.
struct Turn {
    provider_sign_ins: AddressReservation,
    passwords: AddressReservation,
}

impl Turn {
    /// It counts in the provider sign-ins' window; the password window's is handed back.
    fn keep_provider_sign_in(self) {
        self.provider_sign_ins.keep();
    }

    /// A refusal: it counts in both windows, as a wrong password does.
    fn keep(self) {
        self.provider_sign_ins.keep();
        self.passwords.keep();
    }
}

/// Reserves a place for this request in its client address's windows (none without an
/// address), before any work.
fn reserve(state: &AppState, addr: &ClientAddr, now: u64) -> Result<Turn, Failure> {
    let Some(ip) = addr.ip() else {
        return Ok(Turn {
            provider_sign_ins: AddressReservation::none(),
            passwords: AddressReservation::none(),
        });
    };
    let too_many = |wait: u64| {
        Failure::new(
            ProviderSignInError::TooMany,
            format!("too many sign-ins through providers from this address: wait {wait} s"),
        )
    };
    let provider_sign_ins = state.oidc_addresses.reserve(ip, now).map_err(too_many)?;
    let passwords = state.addresses.reserve(ip, now).map_err(too_many)?;
    Ok(Turn {
        provider_sign_ins,
        passwords,
    })
}

async fn begin(
    state: &AppState,
    provider: &IdentityProvider,
    addr: &ClientAddr,
    started_by: Option<String>,
    now: u64,
) -> Result<relying_party::Authorization, Failure> {
    let http = http_client(state)?;
    let metadata = state.oidc_metadata.get(http, provider, now).await?;
    let authorization = relying_party::begin(metadata, provider, &redirect_uri(state))?;
    let secrets = FlowSecrets {
        nonce: authorization.nonce.clone(),
        pkce_verifier: authorization.pkce_verifier.clone(),
    };
    let flow = flows::NewFlow {
        state: &authorization.state,
        provider: &provider.name,
        secrets: &secrets,
        client_key: addr.ip().map(|ip| client_addr::limit_key(ip).to_string()),
        started_by,
    };
    flows::create(&state.db, &state.seal, flow, now)
        .await
        .map_err(|e| match e {
            flows::CreateError::AddressFull => {
                Failure::new(ProviderSignInError::TooMany, e.to_string())
            }
            flows::CreateError::Storage(detail) => {
                Failure::new(ProviderSignInError::Unavailable, detail)
            }
        })?;
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
    let secure = state.settings.secure_cookies;
    let turn = match reserve(&state, &addr, now) {
        Ok(turn) => turn,
        Err(failure) => {
            log_failure(None, &failure);
            return sign_in_error(jar.remove(state_cookie_removal(secure)), failure.error);
        }
    };
    let cookie_state = jar
        .get(state_cookie_name(secure))
        .map(|c| c.value().to_owned());
    // The state cookie is spent whatever happens.
    let jar = jar.remove(state_cookie_removal(secure));
    let query = query.map(|Query(q)| q).unwrap_or_default();
    let (user, provider, linked_by, started_by, email) =
        match finish(&state, cookie_state.as_deref(), query, now).await {
            Ok(found) => found,
            Err(refusal) => {
                // A refusal counts in the address's windows (unless the fault is ours or the
                // provider's).
                if !matches!(
                    refusal.failure.error,
                    ProviderSignInError::Unavailable | ProviderSignInError::ProviderUnreachable
                ) {
                    turn.keep();
                }
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
    let signed_in = SignedIn {
        user: &user,
        provider: &provider,
        linked_by,
        started_by: started_by.as_deref(),
        email: email.as_deref(),
    };
    let started = start_session(&state, &jar, signed_in, &origin, now).await;
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

/// Every check on the answer, in order; on success, the account to sign in to (and the
/// session the flow was started from, to end).
async fn finish(
    state: &AppState,
    cookie_state: Option<&str>,
    query: CallbackQuery,
    now: u64,
) -> Result<(UserRecord, String, LinkedBy, Option<String>, Option<String>), Refusal> {
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
    let http = http_client(state).map_err(|f| Refusal::from(f).at(&name))?;
    let metadata = state
        .oidc_metadata
        .get(http, &provider, now)
        .await
        .map_err(|f| Refusal::from(f).at(&name))?;
    relying_party::check_iss(&metadata, &provider, query.iss.as_deref())
        .map_err(|f| Refusal::from(f).at(&name))?;
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
    let answer = relying_party::Answer {
        redirect_uri: &redirect_uri(state),
        code: &code,
        nonce: &flow.secrets.nonce,
        pkce_verifier: &flow.secrets.pkce_verifier,
    };
    let identity =
        relying_party::finish(http, &state.oidc_metadata, metadata, &provider, answer, now)
            .await
            .map_err(|f| Refusal::from(f).at(&name))?;
    match link::find_account(&state.db, &provider, &identity).await {
        Ok(link::Found::Account(user, _)) if user.disabled => Err(Refusal::new(
            E::AccountDisabled,
            format!("the account {} is disabled", user.username),
        )
        .at(&name)),
        Ok(link::Found::Account(user, linked_by)) => Ok((
            user,
            name,
            linked_by,
            flow.started_by,
            identity.verified_email,
        )),
        Ok(link::Found::Stale {
            user,
            linked_issuer,
        }) => Err(Refusal::new(
            E::LinkStale,
            format!(
                "{} is linked at issuer {linked_issuer}, but the provider's issuer is now {}: \
                 link the account again (twostep user link) or confirm the new issuer \
                 (twostep user confirm-issuer)",
                user.username,
                provider.issuer.as_str()
            ),
        )
        .at(&name)),
        Ok(link::Found::Nobody) => Err(Refusal::new(
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

/// A sign-in through a provider that passed every check.
struct SignedIn<'a> {
    user: &'a UserRecord,
    provider: &'a str,
    linked_by: LinkedBy,
    /// The hash of the session token the flow was started from.
    started_by: Option<&'a str>,
    /// The verified address the provider gave (`email_verified: true`): the account's
    /// address for security e-mails from now on.
    email: Option<&'a str>,
}

/// In one transaction: ends the browser's previous session (the one the flow was started
/// from, and the one whose cookie came with the callback, if any), starts the new one and
/// records the sign-in (and the verified address the provider gave); returns the new
/// session's token.
async fn start_session(
    state: &AppState,
    jar: &CookieJar,
    signed_in: SignedIn<'_>,
    origin: &sessions::Origin,
    now: u64,
) -> Result<String, String> {
    let SignedIn {
        user,
        provider,
        linked_by,
        started_by,
        email,
    } = signed_in;
    let database = |e: sqlx::Error| format!("database: {e}");
    let mut tx = RevokingTx::begin_quiet(&state.db).await.map_err(database)?;
    let with_cookie =
        sessions::current_token(jar, state.settings.secure_cookies).map(sessions::hash_token);
    for previous in [started_by.map(str::to_owned), with_cookie]
        .into_iter()
        .flatten()
    {
        sessions::delete(&mut tx, &previous)
            .await
            .map_err(database)?;
    }
    if let Some(email) = email {
        crate::accounts::email::store_provided(&mut tx, user.id, email)
            .await
            .map_err(database)?;
    }
    let token = sessions::create(&mut **tx, user.id, Stage::SignedIn, origin, now)
        .await
        .map_err(database)?;
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
    audit::write(&mut **tx, event, now)
        .await
        .map_err(database)?;
    tx.commit(&state.revocations).await.map_err(database)?;
    tracing::info!(user_id = user.id, %provider, "signed in through an identity provider");
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
