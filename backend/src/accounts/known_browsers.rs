//! Known browsers (OWASP "device cookies"), kept on the server: once a whole sign-in is done
//! (both steps where 2-step verification is on), the browser gets an HttpOnly cookie holding a
//! random token that names a row of `known_browsers`. A password attempt for that account
//! from that browser is counted under the browser, not under the name's shared counter, and
//! skips the per-address window, so guesses from elsewhere never make the owner wait.
//!
//! ```text
//!   sign-in done ──► issue (row + cookie; the 11th oldest row goes)
//!   password attempt with cookie ──► find(token, typed name) ──► counted as "browser:<hash>"
//!   password change / reset / 2-step removed ──► end_all (every row of the account)
//! ```

use crate::sessions::revoking_tx::RevokingTx;
use axum_extra::extract::CookieJar;
use axum_extra::extract::cookie::{Cookie, SameSite};
use sqlx::AnyPool;

/// The cookie's name.
pub const COOKIE: &str = "twostep_browser";
/// Its name when cookies are `Secure` (https), with the `__Host-` prefix; such a cookie must
/// have `Path=/`.
pub const SECURE_COOKIE: &str = "__Host-twostep_browser";
/// How long a known browser stays known after its first sign-in.
pub const LIFETIME_SECONDS: u64 = 90 * 24 * 60 * 60;
/// Known browsers per account; a new one ends the oldest beyond this. Kept by the
/// `known_browsers_keep_newest` trigger of both databases' migration 0016 (one round trip per
/// new browser instead of two); `tests::the_triggers_keep_per_account` holds them together.
pub const PER_ACCOUNT: i64 = 10;

fn cookie_name(secure: bool) -> &'static str {
    if secure { SECURE_COOKIE } else { COOKIE }
}

/// The token a browser showed, not yet checked against the server. `Debug` leaves it out.
#[derive(Clone, PartialEq, Eq)]
pub struct BrowserToken(String);

impl std::fmt::Debug for BrowserToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("BrowserToken(***)")
    }
}

impl BrowserToken {
    /// The request's cookie, if it has the shape of a token (43 base64url characters).
    pub fn read(jar: &CookieJar, secure: bool) -> Option<Self> {
        let value = jar.get(cookie_name(secure))?.value();
        let shaped = value.len() == 43
            && value
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        shaped.then(|| Self(value.to_owned()))
    }

    fn hash(&self) -> String {
        crate::sessions::hash_token(&self.0)
    }

    /// The key of this cookie's turn ([`crate::limits::guards::InFlight::enter_key`]).
    pub fn turn_key(&self) -> String {
        format!("cookie:{}", self.hash())
    }
}

/// A browser the server knows for the account an attempt names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KnownBrowser {
    token_hash: String,
}

impl KnownBrowser {
    /// The key its wrong passwords are counted under.
    pub fn counter_key(&self) -> String {
        format!("browser:{}", self.token_hash)
    }
}

/// The known browser `token` names, if it is one of `username`'s and has not expired.
pub async fn find(
    db: &AnyPool,
    token: &BrowserToken,
    username: &str,
    now: u64,
) -> Result<Option<KnownBrowser>, sqlx::Error> {
    let token_hash = token.hash();
    let found = sqlx::query(
        "SELECT 1 AS one FROM known_browsers k JOIN users u ON u.id = k.user_id
         WHERE k.token_hash = $1 AND u.username = $2 AND k.created_at > $3",
    )
    .bind(&token_hash)
    .bind(username)
    .bind(now.saturating_sub(LIFETIME_SECONDS) as i64)
    .fetch_optional(db)
    .await?;
    Ok(found.map(|_| KnownBrowser { token_hash }))
}

/// After a whole sign-in: the browser's known-browser cookie for `user_id`. A browser that
/// already is one of the account's known browsers keeps its token (marked used); any other
/// gets a new one, and the account's oldest beyond [`PER_ACCOUNT`] end.
pub async fn issue(
    tx: &mut RevokingTx,
    shown: Option<&BrowserToken>,
    user_id: i64,
    now: u64,
    secure: bool,
) -> Result<Option<Cookie<'static>>, sqlx::Error> {
    // Not a revoking write: known browsers are not cached, and a new one takes nothing away
    // but the account's oldest beyond the limit.
    let conn: &mut sqlx::AnyConnection = tx;
    if let Some(shown) = shown {
        let touched = sqlx::query(
            "UPDATE known_browsers SET last_used_at = $3
             WHERE token_hash = $1 AND user_id = $2 AND created_at > $4",
        )
        .bind(shown.hash())
        .bind(user_id)
        .bind(now as i64)
        .bind(now.saturating_sub(LIFETIME_SECONDS) as i64)
        .execute(&mut *conn)
        .await?;
        if touched.rows_affected() == 1 {
            return Ok(None);
        }
    }
    let token = crate::sessions::new_token();
    sqlx::query(
        "INSERT INTO known_browsers (token_hash, user_id, created_at, last_used_at)
         VALUES ($1, $2, $3, $3)",
    )
    .bind(crate::sessions::hash_token(&token))
    .bind(user_id)
    .bind(now as i64)
    .execute(&mut *conn)
    .await?;
    // The account's oldest beyond PER_ACCOUNT end in the same statement (the
    // `known_browsers_keep_newest` trigger).
    Ok(Some(cookie(token, secure)))
}

/// Ends every known browser of the account; returns how many.
pub async fn end_all(tx: &mut RevokingTx, user_id: i64) -> Result<u64, sqlx::Error> {
    let done = sqlx::query("DELETE FROM known_browsers WHERE user_id = $1")
        .bind(user_id)
        .execute(tx.revoking().await?)
        .await?;
    Ok(done.rows_affected())
}

fn cookie(token: String, secure: bool) -> Cookie<'static> {
    Cookie::build((cookie_name(secure), token))
        .http_only(true)
        .same_site(SameSite::Strict)
        .secure(secure)
        // Only the API reads it; a `__Host-` cookie must have `Path=/`.
        .path(if secure { "/" } else { "/api" })
        .max_age(cookie::time::Duration::seconds(LIFETIME_SECONDS as i64))
        .build()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_token_shaped_cookie_is_read() {
        let good = "a".repeat(43);
        for (value, read) in [
            (good.as_str(), true),
            ("short", false),
            (&"a".repeat(44), false),
            (&format!("{}.", "a".repeat(42)), false),
        ] {
            let jar = CookieJar::new().add(Cookie::new(COOKIE, value.to_owned()));
            assert_eq!(BrowserToken::read(&jar, false).is_some(), read, "{value}");
        }
        let token = BrowserToken(good);
        assert_eq!(format!("{token:?}"), "BrowserToken(***)");
    }

    /// The limit the triggers keep is this module's (a changed constant with an unchanged
    /// trigger, or the reverse, fails here).
    #[test]
    fn the_triggers_keep_per_account() {
        let limit = format!("LIMIT {PER_ACCOUNT});");
        for migration in [
            include_str!("../../migrations/sqlite/0016_known_browsers_kept_by_trigger.sql"),
            include_str!("../../migrations/postgres/0016_known_browsers_kept_by_trigger.sql"),
        ] {
            assert_eq!(migration.matches("LIMIT").count(), 1, "{migration}");
            assert!(migration.contains(&limit), "{migration}");
        }
    }
}
