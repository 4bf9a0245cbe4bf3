//! Extractors that say who may call a handler (`SignedIn`, `Admin`, `Verifying`; whether a
//! change needs a recent sign-in is the account-changes table's to say),
//! where a request comes from (`ClientAddr`, `BrowserCookie`, `Origin`) and a JSON body
//! extractor whose rejection is an [`ApiError`].

use crate::accounts::By;
use crate::accounts::known_browsers::BrowserToken;
use crate::accounts::users::UserRecord;
use crate::sessions::policy::needs_seen_write;
use crate::sessions::{self, Origin, SessionRecord, Stage};
use crate::state::AppState;
pub use crate::web::client_addr::ClientAddr;
use crate::web::error::ApiError;
use axum::extract::{ConnectInfo, FromRequest, FromRequestParts};
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum_extra::extract::CookieJar;
use std::net::SocketAddr;
use twostep_shared::ErrorCode;

/// A JSON body; malformed JSON, wrong types, a missing content type or an oversized body
/// become a 4xx [`ApiError`] with a JSON body.
#[derive(Debug, FromRequest)]
#[from_request(via(axum::Json), rejection(ApiError))]
pub struct ApiJson<T>(pub T);

/// Query parameters; a malformed query is a 400 [`ApiError`] with a JSON body.
#[derive(Debug, FromRequestParts)]
#[from_request(via(axum::extract::Query), rejection(ApiError))]
pub struct ApiQuery<T>(pub T);

impl FromRequestParts<AppState> for ClientAddr {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let ip = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|ConnectInfo(addr)| {
                state
                    .settings
                    .trusted_proxies
                    .client_ip(addr.ip(), &parts.headers)
            });
        Ok(Self::new(ip))
    }
}

/// The request's known-browser cookie, if it has the shape of one; whether it names one of
/// the typed account's known browsers is checked with the password
/// ([`crate::accounts::known_browsers`]).
#[derive(Debug, Clone, Default)]
pub struct BrowserCookie(pub Option<BrowserToken>);

impl FromRequestParts<AppState> for BrowserCookie {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let jar = CookieJar::from_headers(&parts.headers);
        Ok(Self(BrowserToken::read(
            &jar,
            state.settings.secure_cookies,
        )))
    }
}

/// Where a new session comes from: the `User-Agent` and the client address.
impl FromRequestParts<AppState> for Origin {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let client = ClientAddr::from_request_parts(parts, state).await?;
        let user_agent = parts
            .headers
            .get(axum::http::header::USER_AGENT)
            .and_then(|value| value.to_str().ok());
        Ok(Origin::new(user_agent, client.as_deref()))
    }
}

/// The value of the cookie `name` in the request's `Cookie` headers (the last one when it is
/// there twice, as `CookieJar` reads it), found without parsing every cookie into a jar: the
/// session check runs on every signed-in request. The value is taken as sent, not
/// percent-decoded: the server's tokens never contain `%`, so a value that does is no token.
pub fn cookie_value<'h>(headers: &'h axum::http::HeaderMap, name: &str) -> Option<&'h str> {
    headers
        .get_all(axum::http::header::COOKIE)
        .iter()
        .filter_map(|line| line.to_str().ok())
        .flat_map(|line| line.split(';'))
        .filter_map(|pair| pair.split_once('='))
        .filter(|(found, _)| found.trim() == name)
        .map(|(_, value)| value.trim())
        .next_back()
}

/// The signed-in session of the request's cookie and its account: from the session cache
/// when it holds them (no database round trip), else in one query, then cached. "Last seen"
/// is recorded at most once a minute and written off the request path.
async fn signed_in(parts: &Parts, state: &AppState) -> Result<SignedIn, ApiError> {
    let token = cookie_value(
        &parts.headers,
        sessions::cookie_name(state.settings.secure_cookies),
    )
    .ok_or_else(ApiError::unauthorized)?;
    let token_hash = sessions::hash_token(token);
    let limits = &state.settings.session_limits;
    let now = state.clock.now();
    let cache = &state.revocations.cache;
    if let Some(cached) = cache.get_checked(&token_hash, &state.db).await?
        && limits.is_live(cached.session.times(), now)
    {
        if needs_seen_write(cached.session.last_seen_at, now) {
            state.last_seen.record(&token_hash, now);
            cache.seen(&token_hash, now);
        }
        return Ok(SignedIn {
            user: cached.user.clone(),
            session: cached.session.clone(),
            from_cache: true,
        });
    }
    // Taken before the read, so what is read is not cached after a revocation.
    let generation = cache.generation();
    let seen_since = state.last_seen.pending(&token_hash);
    let (mut session, user) =
        sessions::find_with_user(&state.db, &token_hash, limits, seen_since, now)
            .await?
            .ok_or_else(ApiError::unauthorized)?;
    if session.stage == Stage::Verifying {
        return Err(ApiError::client(
            StatusCode::UNAUTHORIZED,
            ErrorCode::VerificationRequired,
            "Enter your verification code to finish signing in.",
        ));
    }
    if needs_seen_write(session.last_seen_at, now) {
        state.last_seen.record(&token_hash, now);
        session.last_seen_at = now;
    }
    cache.insert(user.clone(), session.clone(), generation);
    Ok(SignedIn {
        user,
        session,
        from_cache: false,
    })
}

/// A signed-in user (password and, if set up, verification code done).
#[derive(Debug, Clone)]
pub struct SignedIn {
    pub user: UserRecord,
    pub session: SessionRecord,
    /// Found in the session cache, checked against revocations for this request (so other
    /// cached facts, like the 2-step status, may be used too).
    pub from_cache: bool,
}

impl FromRequestParts<AppState> for SignedIn {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let signed_in = signed_in(parts, state).await?;
        if signed_in.user.password_change_required && !before_password_change(parts) {
            return Err(ApiError::client(
                StatusCode::FORBIDDEN,
                ErrorCode::PasswordChangeRequired,
                "Your password is a one-time password: choose a new one first.",
            ));
        }
        Ok(signed_in)
    }
}

/// What a session whose password is a one-time password may do: read who it is, confirm it's
/// you, and change the password (signing out needs no session).
fn before_password_change(parts: &Parts) -> bool {
    let path = parts
        .extensions
        .get::<axum::extract::OriginalUri>()
        .map_or_else(|| parts.uri.path(), |original| original.0.path());
    let path = path.strip_prefix("/api").unwrap_or(path);
    matches!(path, "/me" | "/me/password" | "/session/reauthenticate")
}

impl SignedIn {
    /// Whether this session proved who it is within `--recent-sign-in-seconds`.
    pub fn is_recent(&self, state: &AppState) -> bool {
        state
            .settings
            .session_limits
            .is_recent(self.session.times(), state.clock.now())
    }

    /// This user, acting from this session, for the account-changes table.
    pub fn by(&self, state: &AppState) -> By<'_> {
        By::User {
            user: &self.user,
            session: &self.session,
            recent: self.is_recent(state),
        }
    }
}

/// A signed-in Administrator.
#[derive(Debug, Clone)]
pub struct Admin(pub SignedIn);

impl FromRequestParts<AppState> for Admin {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let signed_in = SignedIn::from_request_parts(parts, state).await?;
        if !signed_in.user.is_admin() {
            return Err(ApiError::forbidden());
        }
        Ok(Self(signed_in))
    }
}

/// A session waiting for its verification code, with its account and device (one query);
/// the only thing it may do is send one.
pub struct Verifying(pub crate::factors::code_step::Pending);

impl FromRequestParts<AppState> for Verifying {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let jar = CookieJar::from_headers(&parts.headers);
        let expired = || {
            ApiError::client(
                StatusCode::UNAUTHORIZED,
                ErrorCode::VerificationExpired,
                "The time to enter a verification code has run out. Sign in again.",
            )
        };
        let token = jar
            .get(sessions::cookie_name(state.settings.secure_cookies))
            .ok_or_else(expired)?;
        let pending = crate::factors::code_step::pending(
            &state.db,
            token.value(),
            &state.settings.session_limits,
            state.clock.now(),
        )
        .await?
        .ok_or_else(expired)?;
        if pending.user.disabled {
            return Err(ApiError::account_disabled());
        }
        if pending.session.stage != Stage::Verifying {
            return Err(ApiError::client(
                StatusCode::CONFLICT,
                ErrorCode::BadRequest,
                "You are already signed in.",
            ));
        }
        Ok(Self(pending))
    }
}

#[cfg(test)]
mod tests {
    use super::cookie_value;
    use axum::http::{HeaderMap, HeaderValue, header::COOKIE};

    #[test]
    fn a_cookie_is_found_among_others_the_last_when_sent_twice() {
        let mut headers = HeaderMap::new();
        headers.append(
            COOKIE,
            HeaderValue::from_static("a=1; twostep_session = first ;b=2"),
        );
        assert_eq!(cookie_value(&headers, "twostep_session"), Some("first"));
        headers.append(COOKIE, HeaderValue::from_static("twostep_session=second"));
        assert_eq!(cookie_value(&headers, "twostep_session"), Some("second"));
        // A name is matched whole, not as the end or the start of another.
        assert_eq!(cookie_value(&headers, "session"), None);
        assert_eq!(cookie_value(&headers, "twostep"), None);
        assert_eq!(cookie_value(&HeaderMap::new(), "twostep_session"), None);
    }
}
