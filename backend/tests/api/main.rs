//! API integration tests: the real router served on a local port, driven over HTTP with
//! `reqwest`, around a fresh SQLite database and an injected [`twostep::clock::ManualClock`].
//!
//! - `session`: the password step, cookies and sign-out, authorization of the user pages.
//! - `bad_input`: malformed, oversized or non-ASCII requests get a 4xx JSON error, change
//!   nothing, and every response carries the security headers.
//! - `two_step`: enrollment with two consecutive codes, then the code step at sign-in
//!   (replay, expiry, throttling, lock, recovery codes).
//! - `secrets`: the TOTP secret and recovery codes never appear again in a response, and are
//!   not stored in plain text in the database file.

mod bad_input;
mod helpers;
mod secrets;
mod session;
mod two_step;
