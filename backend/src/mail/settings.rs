//! The mail settings (`--smtp-url`, `--mail-from`, `--smtp-ca-file`), checked at start: a
//! value that cannot work is refused before the server serves, not found at the first
//! message.

use lettre::message::Mailbox;
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, Tokio1Executor};
use std::time::Duration;

/// How the connection to the mail server is protected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TlsMode {
    /// `smtp://host:port` without `tls`: plain (a relay on the same machine).
    None,
    /// `smtp://…?tls=opportunistic`: STARTTLS when the server offers it.
    Opportunistic,
    /// `smtp://…?tls=required`: STARTTLS, or nothing is sent.
    Required,
    /// `smtps://…`: TLS from the first byte (port 465).
    Wrapper,
}

/// Why a mail setting was refused.
#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    #[error("--smtp-url: {0}")]
    Url(String),
    #[error("--mail-from: {0}")]
    From(String),
    #[error("--smtp-ca-file: {0}")]
    CaFile(String),
    #[error("--mail-from and --smtp-ca-file need --smtp-url")]
    WithoutUrl,
}

/// The checked mail settings. `Debug` leaves out the URL's password.
#[derive(Clone)]
pub struct MailSettings {
    pub host: String,
    pub port: u16,
    pub tls: TlsMode,
    username: Option<String>,
    password: Option<String>,
    /// The CA certificate(s) of a private mail server (PEM), trusted besides the system's.
    ca_pem: Option<Vec<u8>>,
    pub from: Mailbox,
    /// The right side of the Message-ID (the sender address's domain).
    pub message_id_domain: String,
    /// Signs each message (the issuer name, e.g. "Team Server").
    pub site: String,
    /// How often an idle sender looks for due messages (2 s; tests make it shorter).
    pub poll_interval: Duration,
    /// Waits for the mail server's answer at most this long.
    pub timeout: Duration,
}

impl std::fmt::Debug for MailSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MailSettings")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("tls", &self.tls)
            .field("username", &self.username)
            .field("password", &self.password.as_ref().map(|_| "***"))
            .field("ca_file", &self.ca_pem.is_some())
            .field("from", &self.from.to_string())
            .finish_non_exhaustive()
    }
}

impl MailSettings {
    /// Checks the settings: `url` as `smtp://[user:password@]host[:port][?tls=required|opportunistic]`
    /// or `smtps://…`, `from` as an address (with an optional name), `ca_pem` the contents of
    /// the CA file. The transport is built once here, so a CA file that does not parse is
    /// refused now.
    pub fn parse(
        url: &str,
        from: Option<&str>,
        ca_pem: Option<Vec<u8>>,
        site: &str,
    ) -> Result<Self, SettingsError> {
        let bad = |why: &str| SettingsError::Url(why.to_owned());
        let parsed = url::Url::parse(url).map_err(|e| SettingsError::Url(e.to_string()))?;
        let mut tls = match parsed.scheme() {
            "smtp" => TlsMode::None,
            "smtps" => TlsMode::Wrapper,
            other => {
                return Err(SettingsError::Url(format!(
                    "unknown scheme {other}: (smtp or smtps)"
                )));
            }
        };
        for (key, value) in parsed.query_pairs() {
            match (key.as_ref(), value.as_ref(), tls) {
                ("tls", "required", TlsMode::None) => tls = TlsMode::Required,
                ("tls", "opportunistic", TlsMode::None) => tls = TlsMode::Opportunistic,
                ("tls", _, TlsMode::Wrapper) => {
                    return Err(bad("smtps:// is TLS already: no tls= with it"));
                }
                ("tls", other, _) => {
                    return Err(SettingsError::Url(format!(
                        "tls={other}: use required or opportunistic"
                    )));
                }
                (other, _, _) => {
                    return Err(SettingsError::Url(format!("unknown parameter {other}")));
                }
            }
        }
        let host = parsed
            .host_str()
            .filter(|h| !h.is_empty())
            .ok_or_else(|| bad("no host"))?
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_owned();
        let port = parsed.port().unwrap_or(match tls {
            TlsMode::Wrapper => 465,
            TlsMode::Required | TlsMode::Opportunistic => 587,
            TlsMode::None => 25,
        });
        if !matches!(parsed.path(), "" | "/") {
            return Err(bad("no path after the host and port"));
        }
        let decode = |text: &str| {
            url::form_urlencoded::parse(format!("x={text}").as_bytes())
                .next()
                .map(|(_, v)| v.into_owned())
                .unwrap_or_default()
        };
        let username = (!parsed.username().is_empty()).then(|| decode(parsed.username()));
        let password = parsed.password().map(decode);
        if username.is_some() && tls == TlsMode::None && !is_loopback(&host) {
            return Err(bad(
                "a user and password are sent only over TLS: add ?tls=required or use smtps://",
            ));
        }
        let from_text =
            from.ok_or_else(|| SettingsError::From("needed with --smtp-url".to_owned()))?;
        let from: Mailbox = from_text
            .parse()
            .map_err(|e| SettingsError::From(format!("{from_text}: {e}")))?;
        let message_id_domain = from.email.domain().to_owned();
        if ca_pem.as_deref().is_some_and(|pem| {
            !String::from_utf8_lossy(pem).contains("-----BEGIN CERTIFICATE-----")
        }) {
            return Err(SettingsError::CaFile("no PEM certificate in it".to_owned()));
        }
        let settings = Self {
            host,
            port,
            tls,
            username,
            password,
            ca_pem,
            from,
            message_id_domain,
            site: site.to_owned(),
            poll_interval: Duration::from_secs(2),
            timeout: Duration::from_secs(30),
        };
        settings.transport()?;
        Ok(settings)
    }

    /// The SMTP client these settings describe.
    pub fn transport(&self) -> Result<AsyncSmtpTransport<Tokio1Executor>, SettingsError> {
        let parameters = || -> Result<TlsParameters, SettingsError> {
            let mut builder = TlsParameters::builder(self.host.clone());
            if let Some(pem) = &self.ca_pem {
                let certificate =
                    Certificate::from_pem(pem).map_err(|e| SettingsError::CaFile(e.to_string()))?;
                builder = builder.add_root_certificate(certificate);
            }
            builder
                .build_rustls()
                .map_err(|e| SettingsError::CaFile(e.to_string()))
        };
        let tls = match self.tls {
            TlsMode::None => Tls::None,
            TlsMode::Opportunistic => Tls::Opportunistic(parameters()?),
            TlsMode::Required => Tls::Required(parameters()?),
            TlsMode::Wrapper => Tls::Wrapper(parameters()?),
        };
        if self.tls == TlsMode::None && self.ca_pem.is_some() {
            return Err(SettingsError::CaFile(
                "a CA file is for TLS: add ?tls=required or use smtps://".to_owned(),
            ));
        }
        let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&self.host)
            .port(self.port)
            .tls(tls)
            .timeout(Some(self.timeout));
        if let Some(user) = &self.username {
            builder = builder.credentials(Credentials::new(
                user.clone(),
                self.password.clone().unwrap_or_default(),
            ));
        }
        Ok(builder.build())
    }
}

fn is_loopback(host: &str) -> bool {
    host == "localhost"
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(url: &str) -> Result<MailSettings, SettingsError> {
        MailSettings::parse(
            url,
            Some("Team Server <security@example.org>"),
            None,
            "Team Server",
        )
    }

    #[test]
    fn good_urls() {
        let s = parse("smtp://mail.example:587?tls=required").unwrap();
        assert_eq!(
            (s.host.as_str(), s.port, s.tls),
            ("mail.example", 587, TlsMode::Required)
        );
        let s = parse("smtps://u:p%40ss@mail.example").unwrap();
        assert_eq!((s.port, s.tls), (465, TlsMode::Wrapper));
        assert_eq!(s.password.as_deref(), Some("p@ss"));
        assert!(!format!("{s:?}").contains("p@ss"));
        let s = parse("smtp://127.0.0.1:2525").unwrap();
        assert_eq!((s.port, s.tls), (2525, TlsMode::None));
        assert_eq!(s.message_id_domain, "example.org");
    }

    #[test]
    fn bad_values_are_refused() {
        for url in [
            "http://mail.example",
            "smtp://",
            "smtp://mail.example?tls=sometimes",
            "smtps://mail.example?tls=required",
            "smtp://mail.example?x=1",
            "smtp://u:p@mail.example",
            "smtp://mail.example/path",
            "not a url",
        ] {
            assert!(parse(url).is_err(), "{url}");
        }
        for from in [None, Some("not an address"), Some("")] {
            assert!(MailSettings::parse("smtp://127.0.0.1", from, None, "T").is_err());
        }
        let ca = Some(b"not a certificate".to_vec());
        assert!(MailSettings::parse("smtps://m.example", Some("a@b.example"), ca, "T").is_err());
    }
}
