//! API integration tests: the real router served on a local port, driven over HTTP with
//! `reqwest`, around a fresh database and an injected [`twostep::clock::ManualClock`]. The
//! database is SQLite, or PostgreSQL when `TWOSTEP_TEST_DB=postgres` (the second pass of
//! `cargo xtask test`, on the cluster at `TWOSTEP_TEST_POSTGRES_URL`).
//!
//! - `account_changes`: the account-changes table as one table of cases over HTTP, and the
//!   attacks it closes (a stolen session moving 2-step to another phone, an administrator's
//!   stale session, collected known-browser cookies, a full queue counted, old tokens).
//! - `session`: the password step, cookies and sign-out, authorization of the user pages.
//! - `bad_input`: malformed, oversized or non-ASCII requests get a 4xx JSON error, change
//!   nothing, and every response carries the security headers.
//! - `two_step`: enrollment with two consecutive codes, then the code step at sign-in
//!   (replay, expiry, throttling, lock, recovery codes).
//! - `revocation`: the session cache never outlives a revocation on another instance
//!   (ended session, password change, administrator's removal, role taken away with the CLI;
//!   on PostgreSQL also with the listener cut and back).
//! - `secrets`: the TOTP secret and recovery codes never appear again in a response, and are
//!   not stored in plain text in the database.
//! - `authorization`: every endpoint as anonymous, pending, user, other user and
//!   administrator, as one table of expected answers.
//! - `admin`: removing a device (by an administrator without proof, by the user with a
//!   fresh proof), unlocking, what non-administrators may not do, organizational accounts.
//! - `admin_operations`: make or remove administrator, disable and enable, delete, from the
//!   admin page; the last administrator under simultaneous requests on two instances; a
//!   disabled account refused on every path and on every instance.
//! - `audit`: which events each action records, paging and the user filter.
//! - `cli`: the `twostep user …` commands of the real binary, and what they record.
//! - `backup`: `twostep backup` while a server writes, then `twostep restore` and a server on
//!   the restored copy.
//! - `deploy_files`: `docs/twostep.service` has the promised keys, matches `docs/operations.md`
//!   and passes `systemd-analyze verify`.
//! - `hardening`: `Cache-Control: no-store` on API answers; https public URL → `__Host-`
//!   `Secure` cookies and HSTS; private data folder and files; a readable key refused; the
//!   first administrator's password in a private file.
//! - `health`: `/api/health` and `/api/ready` (503 while the database is unreachable and
//!   during shutdown).
//! - `logs`: the real binary's JSON log lines carry request ids and no passwords, codes,
//!   secrets or session tokens.
//! - `metrics`: `/metrics` only when asked for; request counts and latency by route.
//! - `static_files`: the built app: compression, SPA fallback, the CSP's script hash.
//! - `throttle`: wrong passwords slowed down per username, per address, and as removal proof.
//! - `security_keys`: security keys and passkeys with a software authenticator: adding one
//!   (2-step on), the second step, the counter rule, a challenge spent twice or from another
//!   session, two instances, a burst of bad answers, another site's answer, a passkey alone,
//!   the proof changes need, organizational accounts, an administrator's removal.
//! - `guards`: the limits under bursts of simultaneous requests on two instances, the owner's
//!   device cookie, trusted proxies, recovery codes without Argon2, the sweep, typed names.
//! - `holder`: the holder's controls: "Confirm it's you" before sensitive actions,
//!   re-authentication and its limits, listing and ending sessions (holder and
//!   administrator), the idle limit, changing the password.
//! - `mail`: security e-mails through a real mail server (aiosmtpd writing to a Maildir):
//!   one test per event, no secret in any message, the server down and back, two instances,
//!   a sender that died holding a row, the hourly limit under a burst, STARTTLS with a CA file.
//! - `oidc`: organizational accounts signing in through an OpenID Connect provider (the
//!   in-test provider of `fake_provider`), and every way that can fail.

mod account_changes;
mod admin;
mod admin_operations;
mod audit;
mod authorization;
mod backup;
mod bad_input;
mod cli;
mod deploy_files;
mod fake_provider;
mod guards;
mod hardening;
mod health;
mod helpers;
mod holder;
mod logs;
mod mail;
mod metrics;
mod oidc;
#[path = "../common/process.rs"]
mod process;
mod revocation;
mod secrets;
mod security_keys;
mod session;
mod static_files;
mod throttle;
mod two_step;
