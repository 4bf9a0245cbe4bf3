//! Second factors: 2-step verification with an authenticator app (setup, moving to a new
//! phone, removal), its status, checking and spending a code, the TOTP rules and recovery
//! codes; security keys and passkeys (WebAuthn) and their ceremonies.

pub mod ceremonies;
pub mod code_step;
pub mod recovery;
pub mod relying_party;
pub mod security_keys;
pub mod status;
pub mod totp;
pub mod two_step;
