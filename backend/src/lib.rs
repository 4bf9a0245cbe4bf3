//! The twostep server: password sign-in with 2-step verification (TOTP, RFC 6238) for a team
//! server, as a JSON API under `/api` plus the built browser app.
//!
//! `main.rs` only parses the command line and calls into this library; the integration tests
//! build the same [`app::router`] around a fresh database and an injected [`clock::Clock`].

pub mod accounts;
pub mod activity;
pub mod app;
pub mod audit;
pub mod audit_csv;
pub mod backup;
pub mod cli;
pub mod client_addr;
pub mod clock;
pub mod code_step;
pub mod common_passwords;
pub mod config;
pub mod db;
pub mod error;
pub mod extract;
pub mod guards;
pub mod headers;
pub mod in_use;
pub mod last_seen;
pub mod logging;
pub mod macs;
pub mod metrics;
pub mod oidc;
pub mod password_change;
pub mod passwords;
pub mod policy;
pub mod private_files;
pub mod reauthentication;
pub mod recovery;
pub mod revocation;
pub mod revoking_tx;
pub mod routes;
pub mod seal;
pub mod serve;
pub mod session_cache;
pub mod session_list;
pub mod session_policy;
pub mod sessions;
pub mod shared_counter;
pub mod sign_in;
pub mod state;
pub mod sweep;
pub mod totp;
pub mod two_step;
pub mod two_step_status;
pub mod users;
