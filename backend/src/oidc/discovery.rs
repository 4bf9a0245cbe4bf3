//! The providers' discovery documents and keys (JWKS), kept in memory per provider so that
//! anonymous requests do not turn into requests to the provider.
//!
//! ```text
//!   empty ──fetch ok──▶ fresh (DISCOVERY_SECONDS) ──expired──▶ fetch again
//!     │                   │
//!     │                   └─ a token names a key not in the JWKS: fetch the JWKS again,
//!     │                      at most once per KEYS_SECONDS
//!     └──fetch failed──▶ failed (not fetched again for RETRY_SECONDS: answered "unreachable")
//! ```
//!
//! One fetch at a time per provider (its slot is locked while it runs), so a burst of starts
//! makes one fetch, not one each. Each instance keeps its own copy.

use crate::oidc::IdentityProvider;
use crate::oidc::http::{Failure, HttpClient, describe_discovery_error};
use openidconnect::core::{
    CoreAuthDisplay, CoreClaimName, CoreClaimType, CoreClientAuthMethod, CoreGrantType,
    CoreJsonWebKey, CoreJweContentEncryptionAlgorithm, CoreJweKeyManagementAlgorithm,
    CoreResponseMode, CoreResponseType, CoreSubjectIdentifierType,
};
use openidconnect::{AdditionalProviderMetadata, JsonWebKeySet, ProviderMetadata};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::sync::Arc;
use tokio::sync::Mutex;

/// How long a discovery document and its keys are used before they are fetched again.
pub const DISCOVERY_SECONDS: u64 = 60 * 60;
/// A token signed with a key not in the JWKS makes the JWKS be fetched again, at most this
/// often per provider (a rotated key is picked up; a stream of made-up key ids is not a
/// stream of requests to the provider).
pub const KEYS_SECONDS: u64 = 60;
/// After a failed fetch, sign-ins are answered "unreachable" for this long without asking.
pub const RETRY_SECONDS: u64 = 10;

/// What twostep reads from the discovery document besides the standard fields.
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
pub struct ExtraMetadata {
    /// RFC 9207: the provider sends `iss` with every authorization response.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authorization_response_iss_parameter_supported: Option<bool>,
}

impl AdditionalProviderMetadata for ExtraMetadata {}

/// A provider's discovery document with its keys.
pub type Metadata = ProviderMetadata<
    ExtraMetadata,
    CoreAuthDisplay,
    CoreClientAuthMethod,
    CoreClaimName,
    CoreClaimType,
    CoreGrantType,
    CoreJweContentEncryptionAlgorithm,
    CoreJweKeyManagementAlgorithm,
    CoreJsonWebKey,
    CoreResponseMode,
    CoreResponseType,
    CoreSubjectIdentifierType,
>;

/// Whether the provider says it sends `iss` in its answers (then it must be there).
pub fn sends_iss(metadata: &Metadata) -> bool {
    metadata
        .additional_metadata()
        .authorization_response_iss_parameter_supported
        == Some(true)
}

#[derive(Default)]
struct Slot {
    metadata: Option<Metadata>,
    fetched_at: u64,
    keys_fetched_at: u64,
    failed_at: Option<u64>,
}

/// The cache: one slot per configured provider.
#[derive(Default)]
pub struct MetadataCache {
    slots: HashMap<String, Arc<Mutex<Slot>>>,
}

impl MetadataCache {
    pub fn new(providers: &[IdentityProvider]) -> Self {
        Self {
            slots: providers
                .iter()
                .map(|p| (p.name.clone(), Arc::default()))
                .collect(),
        }
    }

    fn slot(&self, provider: &IdentityProvider) -> Arc<Mutex<Slot>> {
        self.slots.get(&provider.name).cloned().unwrap_or_default()
    }

    /// The provider's metadata: the cached copy while it is fresh, else fetched now.
    pub async fn get(
        &self,
        http: &HttpClient,
        provider: &IdentityProvider,
        now: u64,
    ) -> Result<Metadata, Failure> {
        let slot = self.slot(provider);
        let mut slot = slot.lock().await;
        if let Some(metadata) = &slot.metadata
            && now < slot.fetched_at + DISCOVERY_SECONDS
        {
            return Ok(metadata.clone());
        }
        if let Some(failed_at) = slot.failed_at
            && now < failed_at + RETRY_SECONDS
        {
            return Err(Failure::unreachable(format!(
                "the discovery document or keys could not be read {} s ago; not asked again yet",
                now.saturating_sub(failed_at)
            )));
        }
        match Metadata::discover_async(provider.issuer.clone(), http).await {
            Ok(metadata) => {
                *slot = Slot {
                    metadata: Some(metadata.clone()),
                    fetched_at: now,
                    keys_fetched_at: now,
                    failed_at: None,
                };
                Ok(metadata)
            }
            Err(error) => {
                slot.metadata = None;
                slot.failed_at = Some(now);
                Err(Failure::unreachable(describe_discovery_error(&error)))
            }
        }
    }

    /// A token named a key that `metadata` does not have: the metadata with the JWKS fetched
    /// again, or `None` when it was fetched less than [`KEYS_SECONDS`] ago.
    pub async fn refresh_keys(
        &self,
        http: &HttpClient,
        provider: &IdentityProvider,
        now: u64,
    ) -> Result<Option<Metadata>, Failure> {
        let slot = self.slot(provider);
        let mut slot = slot.lock().await;
        if now < slot.keys_fetched_at + KEYS_SECONDS {
            return Ok(None);
        }
        let Some(jwks_uri) = slot.metadata.as_ref().map(|m| m.jwks_uri().clone()) else {
            return Ok(None);
        };
        slot.keys_fetched_at = now;
        let keys = JsonWebKeySet::fetch_async(&jwks_uri, http)
            .await
            .map_err(|e| Failure::unreachable(describe_discovery_error(&e)))?;
        let Some(metadata) = slot.metadata.take() else {
            return Ok(None);
        };
        let metadata = metadata.set_jwks(keys);
        slot.metadata = Some(metadata.clone());
        Ok(Some(metadata))
    }
}
