//! The twostep server: password sign-in with 2-step verification (TOTP, RFC 6238) for a team
//! server, as a JSON API under `/api` plus the built browser app.
//!
//! `main.rs` only parses the command line and calls into this library; the integration tests
//! build the same [`app::router`] around a fresh database and an injected [`clock::Clock`].

pub mod accounts;
pub mod app;
pub mod audit;
pub mod cli;
pub mod clock;
pub mod config;
pub mod factors;
pub mod limits;
pub mod logging;
pub mod mail;
pub mod metrics;
pub mod oidc;
pub mod sessions;
pub mod sign_in;
pub mod state;
pub mod storage;
pub mod web;
