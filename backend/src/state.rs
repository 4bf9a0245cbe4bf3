//! The state every handler and operation reaches: the settings, the database, the clock,
//! the hashing threads, the limits kept in memory and the session cache. Modules import it
//! from here; the composition root (`app.rs`) only wires it into the router.

use crate::accounts::passwords::Hasher;
use crate::clock::Clock;
use crate::limits::guards::{AddressLimiter, InFlight};
use crate::oidc::IdentityProvider;
use crate::oidc::relying_party::HttpClient;
use crate::storage::macs::Macs;
use crate::storage::seal::SealKey;
use sqlx::AnyPool;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

/// Settings that handlers read.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Issuer shown in authenticator apps.
    pub issuer: String,
    /// Whether the session and device cookies are `Secure`, with the `__Host-` prefix
    /// (`--public-url https://…`, or `--secure-cookies`).
    pub secure_cookies: bool,
    /// The identity providers organizational accounts sign in through (none by default).
    pub identity_providers: Vec<IdentityProvider>,
    /// How people reach this server, without a trailing slash; providers send people back to
    /// `{public_url}/api/oidc/callback`.
    pub public_url: String,
    /// Proxies whose `X-Forwarded-For` names the client (none: the header is ignored).
    pub trusted_proxies: crate::web::client_addr::TrustedProxies,
    /// Days the audit log keeps an event.
    pub audit_retention_days: u32,
    /// Whether `GET /metrics` is served by this router (`--metrics`).
    pub metrics_route: bool,
    /// The idle limit and the recent-sign-in window (`--session-idle-minutes`,
    /// `--recent-sign-in-seconds`).
    pub session_limits: crate::sessions::policy::SessionLimits,
    /// Whether signed-in requests may use the in-process session cache (`--session-cache`).
    pub session_cache: crate::config::SessionCacheMode,
    /// Password checks queued or running at most; more are answered 503 (256; tests make it
    /// smaller to fill it).
    pub hashing_queue: usize,
    /// Security e-mails (`--smtp-url` and the rest); `None`: none are queued.
    pub mail: Option<Arc<crate::mail::MailSettings>>,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            issuer: twostep_shared::otpauth::DEFAULT_ISSUER.to_owned(),
            secure_cookies: false,
            identity_providers: Vec::new(),
            public_url: "http://127.0.0.1:8080".to_owned(),
            trusted_proxies: Default::default(),
            audit_retention_days: 365,
            metrics_route: false,
            session_limits: Default::default(),
            session_cache: Default::default(),
            hashing_queue: 256,
            mail: None,
        }
    }
}

impl Settings {
    /// The mail settings, when security e-mails are on.
    pub fn mail(&self) -> Option<&crate::mail::MailSettings> {
        self.mail.as_deref()
    }

    /// The configured identity provider called `name`.
    pub fn identity_provider(&self, name: &str) -> Option<&IdentityProvider> {
        self.identity_providers.iter().find(|p| p.name == name)
    }
}

/// What every handler can reach. Cloning it (axum does, per request and extractor) is one
/// reference count.
#[derive(Clone)]
pub struct AppState(Arc<Shared>);

impl std::ops::Deref for AppState {
    type Target = Shared;

    fn deref(&self) -> &Shared {
        &self.0
    }
}

/// The parts of [`AppState`].
pub struct Shared {
    pub db: AnyPool,
    pub clock: Arc<dyn Clock>,
    pub hasher: Hasher,
    pub seal: SealKey,
    pub settings: Arc<Settings>,
    /// Keyed hashes under keys derived from the server key.
    pub macs: Arc<Macs>,
    /// Wrong passwords per client address (this instance).
    pub addresses: Arc<AddressLimiter>,
    /// Counter keys with a password being hashed (this instance): one at a time each.
    pub in_flight: Arc<InFlight>,
    /// The HTTP client for identity providers (`None` without providers, which saves its
    /// memory, or if it could not be built: then every sign-in through a provider fails as
    /// "provider unreachable", and the log says why).
    pub oidc_http: Option<HttpClient>,
    /// The providers' discovery documents and keys ([`crate::oidc::discovery`]).
    pub oidc_metadata: crate::oidc::discovery::MetadataCache,
    /// Sign-ins through identity providers per client address (this instance).
    pub oidc_addresses: Arc<AddressLimiter>,
    /// Set once a shutdown has begun (requests in flight still finish): `/api/ready` says 503.
    pub shutting_down: Arc<AtomicBool>,
    /// The session cache and how revocations reach it ([`crate::sessions::revocation`]).
    pub revocations: crate::sessions::revocation::Revocations,
    /// "Last seen" times waiting to be written.
    pub last_seen: crate::sessions::last_seen::LastSeen,
    /// The relying party of security keys and passkeys: the public URL's host (`None` if it
    /// cannot be one; then keys cannot be added or used, and the log says why).
    pub webauthn: Option<Arc<webauthn_rs::Webauthn>>,
}

/// The server's background tasks (the last-seen writer; on PostgreSQL the revocation
/// listener; the security e-mails' sender), stopped when this is dropped.
pub struct Background(Vec<tokio::task::JoinHandle<()>>);

impl Drop for Background {
    fn drop(&mut self) {
        for task in &self.0 {
            task.abort();
        }
    }
}

impl AppState {
    pub fn new(db: AnyPool, clock: Arc<dyn Clock>, seal: SealKey, settings: Settings) -> Self {
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        let url = db.connect_options().database_url.to_string();
        let sqlite_file = crate::storage::db::sqlite_file(&url);
        // SQLite: every other writer bumps the revocation counter, so the cache hears them
        // from the start; PostgreSQL: only once the listener is connected.
        let on_sqlite = url.starts_with("sqlite:");
        // Without it, caches cannot hear this process's revocations: logged as an error.
        let counter = sqlite_file
            .as_deref()
            .map(crate::sessions::revocation::open_counter)
            .transpose()
            .inspect_err(|error| tracing::error!(%error, "revocations not shared"))
            .ok()
            .flatten();
        // SQLite: without its revocation counter the cache could not hear the CLI: off.
        let enabled = settings.session_cache != crate::config::SessionCacheMode::Off
            && (counter.is_some() || !on_sqlite);
        let cache = crate::sessions::cache::SessionCache::new(enabled, on_sqlite, counter.clone());
        let oidc_http = (!settings.identity_providers.is_empty())
            .then(crate::oidc::relying_party::http_client)
            .and_then(|client| {
                client
                    .inspect_err(
                        |e| tracing::error!(error = %e, "identity providers cannot be used"),
                    )
                    .ok()
            });
        let oidc_metadata =
            crate::oidc::discovery::MetadataCache::new(&settings.identity_providers);
        let webauthn =
            crate::factors::relying_party::relying_party(&settings.public_url, &settings.issuer)
                .inspect_err(|e| tracing::warn!(error = %e, "security keys cannot be used"))
                .ok()
                .map(Arc::new);
        Self(Arc::new(Shared {
            webauthn,
            revocations: crate::sessions::revocation::Revocations::new(cache, counter),
            last_seen: Default::default(),
            db,
            clock,
            hasher: Hasher::new(cores, settings.hashing_queue),
            macs: Arc::new(Macs::new(&seal)),
            seal,
            settings: Arc::new(settings),
            addresses: Arc::default(),
            in_flight: Arc::default(),
            oidc_http,
            oidc_metadata,
            oidc_addresses: Arc::new(AddressLimiter::new(
                crate::limits::policy::PROVIDER_SIGN_INS,
            )),
            shutting_down: Arc::default(),
        }))
    }

    /// Starts the background tasks; they stop when the returned value is dropped.
    pub fn start_background(&self) -> Background {
        let mut tasks = vec![tokio::spawn(self.last_seen.clone().run(self.db.clone()))];
        let url = self.db.connect_options().database_url.to_string();
        if url.starts_with("postgres")
            && self.settings.session_cache != crate::config::SessionCacheMode::Off
        {
            tasks.push(tokio::spawn(crate::sessions::revocation::listen(
                url,
                self.revocations.cache.clone(),
            )));
        }
        if let Some(mail) = &self.settings.mail {
            match mail.transport() {
                Ok(transport) => tasks.push(tokio::spawn(
                    crate::mail::sender::Sender {
                        db: self.db.clone(),
                        clock: self.clock.clone(),
                        settings: mail.clone(),
                        transport,
                    }
                    .run(),
                )),
                Err(error) => tracing::error!(%error, "security e-mails cannot be sent"),
            }
        }
        Background(tasks)
    }
}
