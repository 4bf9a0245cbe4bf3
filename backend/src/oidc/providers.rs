//! The identity providers file (`--identity-providers FILE`, TOML): one `[[provider]]` table
//! per OpenID Connect provider. See `docs/identity-providers.md` for the format.
//!
//! ```toml
//! [[provider]]
//! name = "Contoso ID"
//! issuer = "https://login.contoso.example/"
//! client_id = "twostep"
//! client_secret_file = "/etc/twostep/contoso-client-secret"
//! ```
//!
//! The client secret never sits in this file: it is read from a file or an environment
//! variable the entry names, and `Debug` prints it as `***`.

use openidconnect::{ClientId, ClientSecret, IssuerUrl};
use serde::Deserialize;
use std::path::{Path, PathBuf};

/// Longest provider name.
pub const MAX_NAME_CHARS: usize = 64;

/// One configured identity provider, ready to use.
#[derive(Clone)]
pub struct IdentityProvider {
    /// Shown on the Sign in page ("Sign in with …") and named by organizational accounts
    /// (`twostep user create … --organizational NAME`).
    pub name: String,
    /// The issuer identifier; its discovery document is `<issuer>/.well-known/openid-configuration`.
    pub issuer: IssuerUrl,
    pub client_id: ClientId,
    /// `None` for a public client (PKCE only).
    pub client_secret: Option<ClientSecret>,
    /// Scopes requested besides `openid`.
    pub scopes: Vec<String>,
    /// Whether an account waiting with an e-mail address (`--email`) is linked to the first
    /// identity the provider calls verified for it (`link_by_email`, off by default).
    pub link_by_email: bool,
}

impl std::fmt::Debug for IdentityProvider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IdentityProvider")
            .field("name", &self.name)
            .field("issuer", &self.issuer.as_str())
            .field("client_id", &self.client_id.as_str())
            .field("client_secret", &self.client_secret.as_ref().map(|_| "***"))
            .field("scopes", &self.scopes)
            .field("link_by_email", &self.link_by_email)
            .finish()
    }
}

/// The file as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ProvidersFile {
    #[serde(default, rename = "provider")]
    providers: Vec<Entry>,
}

/// One `[[provider]]` table as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Entry {
    name: String,
    issuer: String,
    client_id: String,
    client_secret_file: Option<PathBuf>,
    client_secret_env: Option<String>,
    scopes: Option<Vec<String>>,
    #[serde(default)]
    link_by_email: bool,
}

/// Reads and checks the file, and reads each provider's client secret.
pub fn load(path: &Path) -> Result<Vec<IdentityProvider>, String> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        format!(
            "cannot read the identity providers file {}: {e}",
            path.display()
        )
    })?;
    parse(&text, &|name| std::env::var(name).ok()).map_err(|e| format!("{}: {e}", path.display()))
}

/// The providers' names in the file, without reading any secret (for the account commands).
pub fn names(path: &Path) -> Result<Vec<String>, String> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        format!(
            "cannot read the identity providers file {}: {e}",
            path.display()
        )
    })?;
    let entries = entries(&text).map_err(|e| format!("{}: {e}", path.display()))?;
    Ok(entries.into_iter().map(|e| e.name).collect())
}

fn entries(text: &str) -> Result<Vec<Entry>, String> {
    let file: ProvidersFile = toml::from_str(text).map_err(|e| e.to_string())?;
    let mut seen = std::collections::HashSet::new();
    for entry in &file.providers {
        check_name(&entry.name)?;
        if !seen.insert(entry.name.as_str()) {
            return Err(format!("two providers are named {:?}", entry.name));
        }
    }
    Ok(file.providers)
}

/// Parses the file's text; `env` looks up environment variables (a parameter for tests).
pub fn parse(
    text: &str,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Vec<IdentityProvider>, String> {
    let providers = entries(text)?
        .into_iter()
        .map(|entry| {
            let name = entry.name.clone();
            resolve(entry, env).map_err(|e| format!("provider {name:?}: {e}"))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let issuers: Vec<(&str, &str)> = providers
        .iter()
        .map(|p| (p.name.as_str(), p.issuer.as_str()))
        .collect();
    one_provider_per_issuer(&issuers)?;
    Ok(providers)
}

/// Each issuer is configured once: accounts are linked to an identity at an issuer, and two
/// names for one issuer would let either sign in to the other's accounts' identities.
fn one_provider_per_issuer(issuers: &[(&str, &str)]) -> Result<(), String> {
    let same = |a: &str, b: &str| a.trim_end_matches('/') == b.trim_end_matches('/');
    for (i, (name, issuer)) in issuers.iter().enumerate() {
        if let Some((other, _)) = issuers[..i].iter().find(|(_, o)| same(o, issuer)) {
            return Err(format!(
                "providers {other:?} and {name:?} have the same issuer {issuer}: configure each issuer once"
            ));
        }
    }
    Ok(())
}

/// What the account commands need to know of a provider.
#[derive(Debug, Clone)]
pub struct Summary {
    pub name: String,
    pub issuer: String,
    pub link_by_email: bool,
}

/// The providers in the file, without reading any secret (for the account commands, which
/// record the issuer a link is made with).
pub fn summaries(path: &Path) -> Result<Vec<Summary>, String> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        format!(
            "cannot read the identity providers file {}: {e}",
            path.display()
        )
    })?;
    let entries = entries(&text).map_err(|e| format!("{}: {e}", path.display()))?;
    let issuers = entries
        .into_iter()
        .map(|e| {
            let issuer = check_issuer(&e.issuer)
                .map_err(|error| format!("{}: provider {:?}: {error}", path.display(), e.name))?;
            Ok(Summary {
                issuer: issuer.as_str().to_owned(),
                name: e.name,
                link_by_email: e.link_by_email,
            })
        })
        .collect::<Result<Vec<_>, String>>()?;
    let pairs: Vec<(&str, &str)> = issuers
        .iter()
        .map(|s| (s.name.as_str(), s.issuer.as_str()))
        .collect();
    one_provider_per_issuer(&pairs).map_err(|e| format!("{}: {e}", path.display()))?;
    Ok(issuers)
}

fn resolve(entry: Entry, env: &dyn Fn(&str) -> Option<String>) -> Result<IdentityProvider, String> {
    let issuer = check_issuer(&entry.issuer)?;
    if entry.client_id.trim().is_empty() {
        return Err("client_id is empty".to_owned());
    }
    let secret = match (&entry.client_secret_file, &entry.client_secret_env) {
        (Some(_), Some(_)) => {
            return Err("give client_secret_file or client_secret_env, not both".to_owned());
        }
        (Some(path), None) => Some(
            std::fs::read_to_string(path)
                .map_err(|e| format!("cannot read client_secret_file {}: {e}", path.display()))?
                .trim()
                .to_owned(),
        ),
        (None, Some(variable)) => Some(
            env(variable)
                .ok_or_else(|| format!("the environment variable {variable} is not set"))?
                .trim()
                .to_owned(),
        ),
        (None, None) => None,
    };
    if secret.as_deref() == Some("") {
        return Err("the client secret is empty".to_owned());
    }
    let scopes = entry
        .scopes
        .unwrap_or_else(|| vec!["email".to_owned()])
        .into_iter()
        .filter(|scope| scope != "openid")
        .collect::<Vec<_>>();
    if let Some(bad) = scopes.iter().find(|s| {
        s.is_empty()
            || !s
                .chars()
                .all(|c| c.is_ascii_graphic() && c != '"' && c != '\\')
    }) {
        return Err(format!("{bad:?} is not a valid scope"));
    }
    Ok(IdentityProvider {
        name: entry.name,
        issuer,
        client_id: ClientId::new(entry.client_id),
        client_secret: secret.map(ClientSecret::new),
        scopes,
        link_by_email: entry.link_by_email,
    })
}

fn check_name(name: &str) -> Result<(), String> {
    if name.trim().is_empty() || name.trim() != name {
        return Err(format!(
            "provider name {name:?} must not be empty or start or end with spaces"
        ));
    }
    if name.chars().count() > MAX_NAME_CHARS || name.chars().any(char::is_control) {
        return Err(format!(
            "provider name {name:?} must be at most {MAX_NAME_CHARS} characters without control characters"
        ));
    }
    Ok(())
}

/// The issuer must be `https://`, except on the loopback interface (a provider on the same
/// machine, e.g. in tests), where `http://` is accepted.
pub fn check_issuer(text: &str) -> Result<IssuerUrl, String> {
    let issuer = IssuerUrl::new(text.to_owned())
        .map_err(|e| format!("issuer {text:?} is not a URL: {e}"))?;
    let url = issuer.url();
    if url.query().is_some() || url.fragment().is_some() {
        return Err(format!("issuer {text:?} must not have a query or fragment"));
    }
    match url.scheme() {
        "https" => Ok(issuer),
        "http" if is_loopback(url) => Ok(issuer),
        "http" => Err(format!(
            "issuer {text:?} must use https (plain http is accepted only on the loopback interface)"
        )),
        _ => Err(format!("issuer {text:?} must be an https URL")),
    }
}

fn is_loopback(url: &openidconnect::url::Url) -> bool {
    match url.host() {
        Some(openidconnect::url::Host::Domain(domain)) => domain == "localhost",
        Some(openidconnect::url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(openidconnect::url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn no_env(_: &str) -> Option<String> {
        None
    }

    #[test]
    fn parses_providers_and_reads_secrets() {
        let text = r#"
            [[provider]]
            name = "Contoso ID"
            issuer = "https://login.contoso.example/tenant"
            client_id = "twostep"
            client_secret_env = "CONTOSO_SECRET"

            [[provider]]
            name = "Local"
            issuer = "http://127.0.0.1:9000"
            client_id = "public-client"
            scopes = ["openid", "email", "profile"]
        "#;
        let env = |name: &str| (name == "CONTOSO_SECRET").then(|| "s3cret\n".to_owned());
        let providers = parse(text, &env).unwrap();
        assert_eq!(providers.len(), 2);
        assert_eq!(providers[0].name, "Contoso ID");
        assert_eq!(
            providers[0].client_secret.as_ref().unwrap().secret(),
            "s3cret"
        );
        assert_eq!(providers[0].scopes, ["email"]);
        assert!(providers[1].client_secret.is_none());
        assert_eq!(providers[1].scopes, ["email", "profile"]);
        let debug = format!("{providers:?}");
        assert!(!debug.contains("s3cret"), "{debug}");
        assert!(debug.contains("***"));
        assert!(!providers[0].link_by_email, "off unless turned on");
    }

    #[test]
    fn refuses_bad_entries() {
        let cases = [
            (
                "name = \"\"\nissuer = \"https://a.example\"\nclient_id = \"c\"",
                "empty",
            ),
            (
                "name = \"A\"\nissuer = \"http://idp.example\"\nclient_id = \"c\"",
                "https",
            ),
            (
                "name = \"A\"\nissuer = \"ftp://idp.example\"\nclient_id = \"c\"",
                "https",
            ),
            (
                "name = \"A\"\nissuer = \"not a url\"\nclient_id = \"c\"",
                "not a URL",
            ),
            (
                "name = \"A\"\nissuer = \"https://a.example\"\nclient_id = \"\"",
                "client_id",
            ),
            (
                "name = \"A\"\nissuer = \"https://a.example\"\nclient_id = \"c\"\nclient_secret_env = \"MISSING\"",
                "MISSING",
            ),
            (
                "name = \"A\"\nissuer = \"https://a.example\"\nclient_id = \"c\"\nclient_secret = \"inline\"",
                "unknown field",
            ),
        ];
        for (entry, expected) in cases {
            let text = format!("[[provider]]\n{entry}\n");
            let error = parse(&text, &no_env).unwrap_err();
            assert!(error.contains(expected), "{entry}: {error}");
        }
        let twice = "[[provider]]\nname = \"A\"\nissuer = \"https://a.example\"\nclient_id = \"c\"\n\
                     [[provider]]\nname = \"A\"\nissuer = \"https://b.example\"\nclient_id = \"c\"\n";
        assert!(parse(twice, &no_env).unwrap_err().contains("two providers"));
        let same_issuer = "[[provider]]\nname = \"A\"\nissuer = \"https://a.example\"\nclient_id = \"c\"\n\
                           [[provider]]\nname = \"B\"\nissuer = \"https://a.example/\"\nclient_id = \"d\"\n";
        let error = parse(same_issuer, &no_env).unwrap_err();
        assert!(error.contains("the same issuer"), "{error}");
    }

    #[test]
    fn plain_http_only_on_loopback() {
        for ok in [
            "https://idp.example",
            "http://localhost:8081",
            "http://127.0.0.1:9000/realm",
            "http://[::1]:9000",
        ] {
            assert!(check_issuer(ok).is_ok(), "{ok}");
        }
        for refused in [
            "http://idp.example",
            "http://10.0.0.1",
            "https://idp.example/?x=1",
        ] {
            assert!(check_issuer(refused).is_err(), "{refused}");
        }
    }
}
