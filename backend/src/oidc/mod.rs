//! Sign-in for organizational accounts through external OpenID Connect identity providers.
//!
//! - [`providers`]: the configured providers (a TOML file) and the rules their settings follow;
//! - [`discovery`]: the providers' discovery documents and keys, cached per provider;
//! - [`http`]: the HTTP client for providers and how a failure is told;
//! - [`flows`]: sign-ins in progress, kept in the database (so any instance can finish one),
//!   single use, 10 minutes, a few per client address;
//! - [`relying_party`]: the authorization code flow with PKCE, `state` and `nonce` (the
//!   `openidconnect` crate): discovery, the authorization URL, the code exchange and the ID
//!   token checks (issuer, audience, signature from the provider's JWKS, expiry, nonce).
//!
//! The HTTP side (`/api/oidc/…`) is in `routes/oidc.rs`; how an account is linked to an
//! identity (subject, or a verified e-mail until the subject is known) is in [`link`] and
//! `users.rs`.

pub mod discovery;
pub mod flows;
pub mod http;
pub mod link;
pub mod providers;
pub mod relying_party;

pub use http::Failure;
pub use providers::IdentityProvider;
