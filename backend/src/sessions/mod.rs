//! Sessions: a random 256-bit token in an HttpOnly, SameSite=Strict cookie, stored hashed.
//!
//! A session is either `signed_in`, or `verifying`: the password was right and the account
//! has 2-step verification, so the session allows nothing but the code step, for 5 minutes.
//! When it ends, whether it is recent, and when "last seen" is written are the pure rules
//! of [`crate::sessions::policy`]; this module stores and reads.

pub mod cache;
pub mod last_seen;
pub mod list;
pub mod policy;
pub mod revocation;
pub mod revoking_tx;
pub mod shared_counter;

use crate::sessions::policy::{SessionLimits, SessionTimes};
use crate::sessions::revoking_tx::RevokingTx;
use aes_gcm::aead::OsRng;
use aes_gcm::aead::rand_core::RngCore;
use axum_extra::extract::CookieJar;
use axum_extra::extract::cookie::{Cookie, SameSite};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64URL;
use sha2::{Digest, Sha256};
use sqlx::{AnyPool, Row};

/// The cookie's name over http.
pub const COOKIE: &str = "twostep_session";
/// The cookie's name when cookies are `Secure` (https): the `__Host-` prefix makes the
/// browser refuse it unless it is `Secure`, has `Path=/` and names no domain, so neither
/// plain http nor a sibling subdomain can set or overwrite it.
pub const SECURE_COOKIE: &str = "__Host-twostep_session";

/// The session cookie's name: [`SECURE_COOKIE`] when cookies are `Secure`.
pub fn cookie_name(secure: bool) -> &'static str {
    if secure { SECURE_COOKIE } else { COOKIE }
}
/// How long a signed-in session lasts.
pub const SIGNED_IN_SECONDS: u64 = 12 * 60 * 60;
/// How long the verification step may take after the password step.
pub const VERIFYING_SECONDS: u64 = 5 * 60;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    SignedIn,
    Verifying,
}

impl Stage {
    pub fn as_db(self) -> &'static str {
        match self {
            Stage::SignedIn => "signed_in",
            Stage::Verifying => "verifying",
        }
    }

    /// Anything but `signed_in` allows only the code step.
    fn from_db(text: &str) -> Self {
        match text {
            "signed_in" => Stage::SignedIn,
            _ => Stage::Verifying,
        }
    }

    pub fn lifetime(self) -> u64 {
        match self {
            Stage::SignedIn => SIGNED_IN_SECONDS,
            Stage::Verifying => VERIFYING_SECONDS,
        }
    }
}

/// A session found by its cookie. `Debug` leaves out the token hash.
#[derive(Clone)]
pub struct SessionRecord {
    pub token_hash: String,
    pub user_id: i64,
    pub stage: Stage,
    pub expires_at: u64,
    /// When it last proved who it is (password step, code step, re-authentication).
    pub authenticated_at: u64,
    pub last_seen_at: u64,
}

impl SessionRecord {
    pub fn times(&self) -> SessionTimes {
        SessionTimes {
            stage: self.stage,
            expires_at: self.expires_at,
            last_seen_at: self.last_seen_at,
            authenticated_at: self.authenticated_at,
        }
    }
}

/// Where a session started: the browser's `User-Agent` (at most [`USER_AGENT_MAX`]
/// characters) and the client's address, for "Where you're signed in".
#[derive(Debug, Clone, Default)]
pub struct Origin {
    pub user_agent: Option<String>,
    pub client_addr: Option<String>,
}

/// The longest `User-Agent` kept.
pub const USER_AGENT_MAX: usize = 256;

impl Origin {
    /// The sign-in's detail for the audit log: `what` (may be empty) and the browser, when
    /// it sent a `User-Agent`, e.g. "with 2-step verification; Chrome on Linux".
    pub fn sign_in_detail(&self, what: &str) -> Option<String> {
        let device = self.user_agent.as_deref().map(|ua| browser_name(Some(ua)));
        match (what.is_empty(), device) {
            (true, None) => None,
            (true, Some(device)) => Some(device),
            (false, None) => Some(what.to_owned()),
            (false, Some(device)) => Some(format!("{what}; {device}")),
        }
    }

    pub fn new(user_agent: Option<&str>, client_addr: Option<&str>) -> Self {
        Self {
            user_agent: user_agent.map(|ua| ua.chars().take(USER_AGENT_MAX).collect()),
            client_addr: client_addr.map(str::to_owned),
        }
    }
}

impl std::fmt::Debug for SessionRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SessionRecord")
            .field("user_id", &self.user_id)
            .field("stage", &self.stage)
            .finish_non_exhaustive()
    }
}

/// A new random 256-bit token, as the cookie carries it.
pub(crate) fn new_token() -> String {
    let mut bytes = [0u8; 32];
    OsRng.fill_bytes(&mut bytes);
    B64URL.encode(bytes)
}

/// The stored form of a token.
pub fn hash_token(token: &str) -> String {
    B64URL.encode(Sha256::digest(token.as_bytes()))
}

/// Starts a session that has just proved who it is; returns the token for the cookie.
pub async fn create<'c>(
    db: impl sqlx::Executor<'c, Database = sqlx::Any>,
    user_id: i64,
    stage: Stage,
    origin: &Origin,
    now: u64,
) -> Result<String, sqlx::Error> {
    let token = new_token();
    sqlx::query(
        "INSERT INTO sessions (token_hash, user_id, stage, created_at, expires_at,
                               authenticated_at, last_seen_at, user_agent, client_addr)
         VALUES ($1, $2, $3, $4, $5, $4, $4, $6, $7)",
    )
    .bind(hash_token(&token))
    .bind(user_id)
    .bind(stage.as_db())
    .bind(now as i64)
    .bind((now + stage.lifetime()) as i64)
    .bind(origin.user_agent.as_deref())
    .bind(origin.client_addr.as_deref())
    .execute(db)
    .await?;
    Ok(token)
}

/// Starts the session a right password earns: `verifying` when the account has a 2-step device,
/// `signed_in` when it has none. The device is looked for by the same statement that writes
/// the session, so a device set up while the password was being checked is not missed.
/// Returns the token for the cookie and the stage given.
pub async fn create_after_password<'c>(
    db: impl sqlx::Executor<'c, Database = sqlx::Any>,
    user_id: i64,
    origin: &Origin,
    now: u64,
) -> Result<(String, Stage), sqlx::Error> {
    let token = new_token();
    let row = sqlx::query(
        "INSERT INTO sessions (token_hash, user_id, stage, created_at, expires_at,
                               authenticated_at, last_seen_at, user_agent, client_addr)
         SELECT $1, $2, CASE WHEN has_device THEN $3 ELSE $4 END, $5,
                CASE WHEN has_device THEN $6 ELSE $7 END, $5, $5, $8, $9
         FROM (SELECT EXISTS (SELECT 1 FROM two_step_devices WHERE user_id = $2) AS has_device) AS device
         RETURNING stage",
    )
    .bind(hash_token(&token))
    .bind(user_id)
    .bind(Stage::Verifying.as_db())
    .bind(Stage::SignedIn.as_db())
    .bind(now as i64)
    .bind((now + Stage::Verifying.lifetime()) as i64)
    .bind((now + Stage::SignedIn.lifetime()) as i64)
    .bind(origin.user_agent.as_deref())
    .bind(origin.client_addr.as_deref())
    .fetch_one(db)
    .await?;
    let stage = Stage::from_db(&row.try_get::<String, _>("stage")?);
    Ok((token, stage))
}

/// A session `s` and its account `u`, as [`session_of`] and [`crate::accounts::users::record`] read them.
pub(crate) const SESSION_AND_USER_COLUMNS: &str = "s.user_id AS user_id, s.stage AS stage,
    s.expires_at AS expires_at, s.authenticated_at AS authenticated_at,
    s.last_seen_at AS last_seen_at, u.id AS id, u.username AS username, u.role AS role,
    u.identity_provider AS identity_provider, u.disabled_at AS disabled_at,
    u.password_change_required AS password_change_required";

pub(crate) fn session_of(
    row: &sqlx::any::AnyRow,
    token_hash: String,
) -> Result<SessionRecord, sqlx::Error> {
    Ok(SessionRecord {
        token_hash,
        user_id: row.try_get("user_id")?,
        stage: Stage::from_db(&row.try_get::<String, _>("stage")?),
        expires_at: row.try_get::<i64, _>("expires_at")? as u64,
        authenticated_at: row.try_get::<i64, _>("authenticated_at")? as u64,
        last_seen_at: row.try_get::<i64, _>("last_seen_at")? as u64,
    })
}

/// The live session and its account for a token hash, in one query. A session that ended
/// (its 12 hours or 5 minutes, or the idle limit, counted from the later of the stored
/// "last seen" and `seen_since`, a time not yet written) is deleted on sight.
pub async fn find_with_user(
    db: &AnyPool,
    token_hash: &str,
    limits: &SessionLimits,
    seen_since: Option<u64>,
    now: u64,
) -> Result<Option<(SessionRecord, crate::accounts::users::UserRecord)>, sqlx::Error> {
    let Some(row) = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {SESSION_AND_USER_COLUMNS}
             FROM sessions s JOIN users u ON u.id = s.user_id WHERE s.token_hash = $1"
    )))
    .bind(token_hash)
    .fetch_optional(db)
    .await?
    else {
        return Ok(None);
    };
    let mut session = session_of(&row, token_hash.to_owned())?;
    session.last_seen_at = session.last_seen_at.max(seen_since.unwrap_or(0));
    if !limits.is_live(session.times(), now) {
        delete_expired(db, token_hash).await?;
        return Ok(None);
    }
    Ok(Some((session, crate::accounts::users::record(&row)?)))
}

/// Records that the session proved who it is again (re-authentication, password change) and
/// gives it a new token: the old one stops working in the same statement. Returns the new
/// token for the cookie, `None` if the session has ended.
pub async fn step_up(
    tx: &mut RevokingTx,
    token_hash: &str,
    now: u64,
) -> Result<Option<String>, sqlx::Error> {
    let token = new_token();
    let done = sqlx::query(
        "UPDATE sessions SET token_hash = $3, authenticated_at = $2, last_seen_at = $2
         WHERE token_hash = $1",
    )
    .bind(token_hash)
    .bind(now as i64)
    .bind(hash_token(&token))
    .execute(tx.revoking().await?)
    .await?;
    Ok((done.rows_affected() == 1).then_some(token))
}

/// A signed-in session as "Where you're signed in" lists it.
#[derive(Debug, Clone)]
pub struct Listed {
    /// [`public_id`] of the session: the token hash never leaves the server.
    pub id: String,
    pub started_at: u64,
    pub last_seen_at: u64,
    pub user_agent: Option<String>,
    pub client_addr: Option<String>,
    token_hash: String,
}

impl Listed {
    pub fn is(&self, session: &SessionRecord) -> bool {
        self.token_hash == session.token_hash
    }
}

/// The id a session is listed and ended by: derived from its token hash, so it needs no
/// column, and reveals nothing usable (the token hash is itself a one-way hash).
pub fn public_id(token_hash: &str) -> String {
    let digest = Sha256::new()
        .chain_update(b"twostep session id\0")
        .chain_update(token_hash.as_bytes())
        .finalize();
    B64URL.encode(&digest[..16])
}

/// The user's live signed-in sessions, the most recently seen first ("last seen" is the
/// later of the stored time and one in `seen` not yet written).
pub async fn list_for_user(
    db: &AnyPool,
    user_id: i64,
    limits: &SessionLimits,
    seen: &crate::sessions::last_seen::LastSeen,
    now: u64,
) -> Result<Vec<Listed>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT token_hash, stage, created_at, expires_at, authenticated_at, last_seen_at,
                user_agent, client_addr
         FROM sessions WHERE user_id = $1 AND stage = $2
         ORDER BY last_seen_at DESC, created_at DESC",
    )
    .bind(user_id)
    .bind(Stage::SignedIn.as_db())
    .fetch_all(db)
    .await?;
    let mut listed = Vec::with_capacity(rows.len());
    for row in rows {
        let token_hash: String = row.try_get("token_hash")?;
        let stored_seen = row.try_get::<i64, _>("last_seen_at")? as u64;
        let times = SessionTimes {
            stage: Stage::SignedIn,
            expires_at: row.try_get::<i64, _>("expires_at")? as u64,
            last_seen_at: stored_seen.max(seen.pending(&token_hash).unwrap_or(0)),
            authenticated_at: row.try_get::<i64, _>("authenticated_at")? as u64,
        };
        if !limits.is_live(times, now) {
            continue;
        }
        listed.push(Listed {
            id: public_id(&token_hash),
            started_at: row.try_get::<i64, _>("created_at")? as u64,
            last_seen_at: times.last_seen_at,
            user_agent: row.try_get("user_agent")?,
            client_addr: row.try_get("client_addr")?,
            token_hash,
        });
    }
    listed.sort_by_key(|listed| std::cmp::Reverse(listed.last_seen_at));
    Ok(listed)
}

/// Ends the user's session listed as `id`; false if there is none.
pub async fn delete_listed(
    tx: &mut RevokingTx,
    listed: &Listed,
    user_id: i64,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query("DELETE FROM sessions WHERE token_hash = $1 AND user_id = $2")
        .bind(&listed.token_hash)
        .bind(user_id)
        .execute(tx.revoking().await?)
        .await?;
    Ok(done.rows_affected() == 1)
}

/// Ends every session of the user but `keep` (the one asking); returns how many ended.
pub async fn delete_others(
    tx: &mut RevokingTx,
    user_id: i64,
    keep: &SessionRecord,
) -> Result<u64, sqlx::Error> {
    let done = sqlx::query("DELETE FROM sessions WHERE user_id = $1 AND token_hash <> $2")
        .bind(user_id)
        .bind(&keep.token_hash)
        .execute(tx.revoking().await?)
        .await?;
    Ok(done.rows_affected())
}

/// The session token the request's cookie carries, if any.
pub fn current_token(jar: &CookieJar, secure: bool) -> Option<&str> {
    jar.get(cookie_name(secure)).map(|cookie| cookie.value())
}

pub async fn delete(tx: &mut RevokingTx, token_hash: &str) -> Result<bool, sqlx::Error> {
    let done = sqlx::query("DELETE FROM sessions WHERE token_hash = $1")
        .bind(token_hash)
        .execute(tx.revoking().await?)
        .await?;
    Ok(done.rows_affected() == 1)
}

/// Deletes a session found past its limits (no cache can hold it as live: not a revocation).
pub async fn delete_expired(db: &AnyPool, token_hash: &str) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM sessions WHERE token_hash = $1")
        .bind(token_hash)
        .execute(db)
        .await?;
    Ok(())
}

/// Ends every session of a user (e.g. after an administrator removes their device).
pub async fn delete_for_user(tx: &mut RevokingTx, user_id: i64) -> Result<u64, sqlx::Error> {
    let done = sqlx::query("DELETE FROM sessions WHERE user_id = $1")
        .bind(user_id)
        .execute(tx.revoking().await?)
        .await?;
    Ok(done.rows_affected())
}

/// The session cookie carrying `token`.
pub fn cookie(token: String, secure: bool) -> Cookie<'static> {
    Cookie::build((cookie_name(secure), token))
        .http_only(true)
        .same_site(SameSite::Strict)
        .secure(secure)
        .path("/")
        .build()
}

/// A cookie that removes the session cookie from the browser.
pub fn removal_cookie(secure: bool) -> Cookie<'static> {
    Cookie::build((cookie_name(secure), ""))
        .secure(secure)
        .path("/")
        .build()
}

/// A readable name for a browser from its `User-Agent`, e.g. "Chrome on Linux", by
/// `woothee` (a maintained parser with its own test set).
pub fn browser_name(user_agent: Option<&str>) -> String {
    let known = |text: &str| !text.is_empty() && text != woothee::woothee::VALUE_UNKNOWN;
    let parsed = user_agent.and_then(|ua| woothee::parser::Parser::new().parse(ua));
    match parsed {
        Some(result) if known(result.name) && known(result.os) => {
            format!("{} on {}", result.name, result.os)
        }
        Some(result) if known(result.name) => result.name.to_owned(),
        _ => "Unknown browser".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::browser_name;

    #[test]
    fn browsers_are_named_from_the_user_agent() {
        let chrome = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36";
        assert_eq!(browser_name(Some(chrome)), "Chrome on Linux");
        let firefox =
            "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0";
        assert_eq!(browser_name(Some(firefox)), "Firefox on Windows 10");
        assert_eq!(browser_name(Some("x")), "Unknown browser");
        assert_eq!(browser_name(None), "Unknown browser");
    }
}
