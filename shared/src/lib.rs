//! Types and input validation shared by the twostep server and its browser app.
//!
//! This crate is the contract between the two halves of twostep: the JSON request and
//! response bodies of every `/api` endpoint ([`api`]), the error body the server sends and
//! the browser decodes ([`error`]), parsers that both sides use to check what a person typed
//! ([`input`]), and the `otpauth://` URI builder an authenticator app reads ([`otpauth`]).
//!
//! It depends on `serde` and `thiserror` only and builds for `wasm32-unknown-unknown` as well
//! as native targets.
//!
//! ```
//! use twostep_shared::input::TotpCode;
//!
//! let code = TotpCode::parse("123 456").unwrap();
//! assert_eq!(code.as_str(), "123456");
//! assert!(TotpCode::parse("12345a").is_err());
//! ```

#![deny(missing_docs)]

pub mod account;
pub mod api;
pub mod error;
pub mod input;
pub mod otpauth;
pub mod security_keys;

pub use error::{ErrorBody, ErrorCode};
