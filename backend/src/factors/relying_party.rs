//! The WebAuthn relying party of this server (the host of `--public-url`), built at start;
//! apart from [`crate::factors::security_keys`] so that the state that holds it imports no
//! operation.

use webauthn_rs::prelude::Url;
use webauthn_rs::{Webauthn, WebauthnBuilder};

/// The relying party for `public_url`: its host, and the URL itself as the only origin. A
/// URL whose host is an IP address (the default when no `--public-url` is given: the
/// listening address) stands for a server reached on this machine, so its relying party is
/// `localhost` on the same port (browsers never accept an IP address as one). `--public-url`
/// itself refuses IP addresses at start.
pub fn relying_party(public_url: &str, name: &str) -> Result<Webauthn, String> {
    let url = Url::parse(public_url).map_err(|e| format!("{public_url:?}: {e}"))?;
    let host = url.host_str().unwrap_or_default();
    let is_ip = host.starts_with('[') || host.parse::<std::net::IpAddr>().is_ok();
    let (rp_id, origin) = match (host, is_ip) {
        ("", _) => return Err(format!("{public_url:?} has no host")),
        (domain, false) => (domain.to_owned(), url.clone()),
        (_, true) => {
            let mut origin = url.clone();
            origin
                .set_host(Some("localhost"))
                .map_err(|e| format!("{public_url:?}: {e}"))?;
            ("localhost".to_owned(), origin)
        }
    };
    WebauthnBuilder::new(&rp_id, &origin)
        .and_then(|builder| builder.rp_name(name).build())
        .map_err(|e| format!("{public_url:?} cannot be a relying party: {e}"))
}
