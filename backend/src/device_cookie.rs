//! The device cookie (OWASP "device cookies"): after a right password, the browser keeps a
//! signed, HttpOnly cookie naming the account. It survives sign-out. A password attempt for
//! that account from a browser with a valid device cookie is counted under the cookie, not
//! under the username's shared counter, and skips the per-address limit, so guesses from
//! elsewhere never make the owner wait. Wrong passwords with the cookie count against the
//! cookie only.

use crate::macs::Macs;
use axum_extra::extract::CookieJar;
use axum_extra::extract::cookie::{Cookie, SameSite};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64URL;
use subtle::ConstantTimeEq;

/// The cookie's name.
pub const COOKIE: &str = "twostep_device";
/// Its name when cookies are `Secure` (https), with the `__Host-` prefix (see
/// [`crate::sessions::SECURE_COOKIE`]); such a cookie must have `Path=/`.
pub const SECURE_COOKIE: &str = "__Host-twostep_device";

fn cookie_name(secure: bool) -> &'static str {
    if secure { SECURE_COOKIE } else { COOKIE }
}
/// How long a device cookie stays valid; each successful sign-in renews it.
pub const LIFETIME_SECONDS: u64 = 90 * 24 * 60 * 60;

/// A valid device cookie.
#[derive(Clone, PartialEq, Eq)]
pub struct DeviceCookie {
    /// The account it names (lower-case username).
    pub username: String,
    /// Random, names this browser's counter.
    id: String,
    issued_at: u64,
}

impl std::fmt::Debug for DeviceCookie {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DeviceCookie")
            .field("username", &self.username)
            .finish_non_exhaustive()
    }
}

fn signature(macs: &Macs, id: &str, issued_at: u64, username: &str) -> [u8; 32] {
    macs.device_cookie(&[
        b"v1",
        id.as_bytes(),
        &issued_at.to_be_bytes(),
        username.as_bytes(),
    ])
}

impl DeviceCookie {
    /// The key its wrong passwords are counted under.
    pub fn counter_key(&self) -> String {
        format!("device:{}", self.id)
    }

    /// A new cookie for `username`, as the browser will keep it.
    pub fn issue(macs: &Macs, username: &str, now: u64, secure: bool) -> Cookie<'static> {
        use aes_gcm::aead::OsRng;
        use aes_gcm::aead::rand_core::RngCore;
        let mut random = [0u8; 16];
        OsRng.fill_bytes(&mut random);
        let id = B64URL.encode(random);
        let tag = signature(macs, &id, now, username);
        let value = format!(
            "{id}.{now}.{}.{}",
            B64URL.encode(username),
            B64URL.encode(tag)
        );
        Cookie::build((cookie_name(secure), value))
            .http_only(true)
            .same_site(SameSite::Strict)
            .secure(secure)
            // Only the API reads it; a `__Host-` cookie must have `Path=/`.
            .path(if secure { "/" } else { "/api" })
            .max_age(time_seconds(LIFETIME_SECONDS))
            .build()
    }

    /// The request's device cookie if its signature is right and it has not expired.
    pub fn read(macs: &Macs, jar: &CookieJar, secure: bool, now: u64) -> Option<Self> {
        let value = jar.get(cookie_name(secure))?.value().to_owned();
        let mut parts = value.split('.');
        let (id, issued_at, username, tag) =
            (parts.next()?, parts.next()?, parts.next()?, parts.next()?);
        if parts.next().is_some() {
            return None;
        }
        let issued_at: u64 = issued_at.parse().ok()?;
        let username = String::from_utf8(B64URL.decode(username).ok()?).ok()?;
        let tag = B64URL.decode(tag).ok()?;
        let expected = signature(macs, id, issued_at, &username);
        if !bool::from(expected.as_slice().ct_eq(&tag)) {
            return None;
        }
        if issued_at > now || issued_at + LIFETIME_SECONDS <= now {
            return None;
        }
        Some(Self {
            username,
            id: id.to_owned(),
            issued_at,
        })
    }
}

fn time_seconds(seconds: u64) -> cookie::time::Duration {
    cookie::time::Duration::seconds(i64::try_from(seconds).unwrap_or(i64::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::seal::SealKey;

    const T: u64 = 1_700_000_000;

    fn jar_with(cookie: Cookie<'static>) -> CookieJar {
        CookieJar::new().add(Cookie::new(COOKIE, cookie.value().to_owned()))
    }

    #[test]
    fn a_device_cookie_reads_back_until_it_expires() {
        let macs = Macs::new(&SealKey::from_bytes(&[3; 32]));
        let cookie = DeviceCookie::issue(&macs, "alice", T, false);
        assert!(cookie.http_only().unwrap_or(false));
        let jar = jar_with(cookie);
        let read = DeviceCookie::read(&macs, &jar, false, T + 10).expect("valid");
        assert_eq!(read.username, "alice");
        assert!(read.counter_key().starts_with("device:"));
        assert!(DeviceCookie::read(&macs, &jar, false, T + LIFETIME_SECONDS).is_none());
        let other_key = Macs::new(&SealKey::from_bytes(&[4; 32]));
        assert!(DeviceCookie::read(&other_key, &jar, false, T + 10).is_none());
    }

    #[test]
    fn a_changed_device_cookie_is_refused() {
        let macs = Macs::new(&SealKey::from_bytes(&[3; 32]));
        let value = DeviceCookie::issue(&macs, "alice", T, false)
            .value()
            .to_owned();
        let parts: Vec<&str> = value.split('.').collect();
        let renamed = format!(
            "{}.{}.{}.{}",
            parts[0],
            parts[1],
            B64URL.encode("admin"),
            parts[3]
        );
        for bad in [renamed.as_str(), "x", "a.b.c.d", &format!("{value}.x")] {
            let jar = CookieJar::new().add(Cookie::new(COOKIE, bad.to_owned()));
            assert!(
                DeviceCookie::read(&macs, &jar, false, T + 1).is_none(),
                "{bad}"
            );
        }
    }
}
