//! Sessions: a random 256-bit token in an HttpOnly, SameSite=Strict cookie, stored hashed.
//!
//! A session is either `signed_in`, or `verifying`: the password was right and the account
//! has 2-step verification, so the session allows nothing but the code step, for 5 minutes.

use aes_gcm::aead::OsRng;
use aes_gcm::aead::rand_core::RngCore;
use axum_extra::extract::CookieJar;
use axum_extra::extract::cookie::{Cookie, SameSite};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64URL;
use sha2::{Digest, Sha256};
use sqlx::{AnyPool, Row};

/// The cookie's name.
pub const COOKIE: &str = "twostep_session";
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
    fn as_db(self) -> &'static str {
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
fn new_token() -> String {
    let mut bytes = [0u8; 32];
    OsRng.fill_bytes(&mut bytes);
    B64URL.encode(bytes)
}

/// The stored form of a token.
pub fn hash_token(token: &str) -> String {
    B64URL.encode(Sha256::digest(token.as_bytes()))
}

/// Starts a session; returns the token for the cookie.
pub async fn create<'c>(
    db: impl sqlx::Executor<'c, Database = sqlx::Any>,
    user_id: i64,
    stage: Stage,
    now: u64,
) -> Result<String, sqlx::Error> {
    let token = new_token();
    sqlx::query(
        "INSERT INTO sessions (token_hash, user_id, stage, created_at, expires_at)
         VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(hash_token(&token))
    .bind(user_id)
    .bind(stage.as_db())
    .bind(now as i64)
    .bind((now + stage.lifetime()) as i64)
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
    now: u64,
) -> Result<(String, Stage), sqlx::Error> {
    let token = new_token();
    let row = sqlx::query(
        "INSERT INTO sessions (token_hash, user_id, stage, created_at, expires_at)
         SELECT $1, $2, CASE WHEN has_device THEN $3 ELSE $4 END, $5,
                CASE WHEN has_device THEN $6 ELSE $7 END
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
    .fetch_one(db)
    .await?;
    let stage = Stage::from_db(&row.try_get::<String, _>("stage")?);
    Ok((token, stage))
}

/// The live session for a cookie token, if any. Expired sessions are deleted on sight.
pub async fn find(
    db: &AnyPool,
    token: &str,
    now: u64,
) -> Result<Option<SessionRecord>, sqlx::Error> {
    let token_hash = hash_token(token);
    let Some(row) =
        sqlx::query("SELECT user_id, stage, expires_at FROM sessions WHERE token_hash = $1")
            .bind(&token_hash)
            .fetch_optional(db)
            .await?
    else {
        return Ok(None);
    };
    let expires_at = row.try_get::<i64, _>("expires_at")? as u64;
    let stage = Stage::from_db(&row.try_get::<String, _>("stage")?);
    let record = SessionRecord {
        token_hash,
        user_id: row.try_get("user_id")?,
        stage,
        expires_at,
    };
    if expires_at <= now {
        delete(db, &record.token_hash).await?;
        return Ok(None);
    }
    Ok(Some(record))
}

/// Ends the session whose cookie `jar` carries, if any (signing in again, or out).
pub async fn end_current<'c>(
    db: impl sqlx::Executor<'c, Database = sqlx::Any>,
    jar: &CookieJar,
) -> Result<(), sqlx::Error> {
    if let Some(token) = current_token(jar) {
        delete(db, &hash_token(token)).await?;
    }
    Ok(())
}

/// The session token the request's cookie carries, if any.
pub fn current_token(jar: &CookieJar) -> Option<&str> {
    jar.get(COOKIE).map(|cookie| cookie.value())
}

pub async fn delete<'c>(
    db: impl sqlx::Executor<'c, Database = sqlx::Any>,
    token_hash: &str,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query("DELETE FROM sessions WHERE token_hash = $1")
        .bind(token_hash)
        .execute(db)
        .await?;
    Ok(done.rows_affected() == 1)
}

/// Ends every session of a user (e.g. after an administrator removes their device).
pub async fn delete_for_user<'c>(
    db: impl sqlx::Executor<'c, Database = sqlx::Any>,
    user_id: i64,
) -> Result<u64, sqlx::Error> {
    let done = sqlx::query("DELETE FROM sessions WHERE user_id = $1")
        .bind(user_id)
        .execute(db)
        .await?;
    Ok(done.rows_affected())
}

/// The session cookie carrying `token`.
pub fn cookie(token: String, secure: bool) -> Cookie<'static> {
    Cookie::build((COOKIE, token))
        .http_only(true)
        .same_site(SameSite::Strict)
        .secure(secure)
        .path("/")
        .build()
}

/// A cookie that removes the session cookie from the browser.
pub fn removal_cookie() -> Cookie<'static> {
    Cookie::build((COOKIE, "")).path("/").build()
}
