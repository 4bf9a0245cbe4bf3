//! Command line and environment configuration (clap), shared by `serve` and the CLI commands.

use clap::{Args, Parser, Subcommand};
use std::net::SocketAddr;
use std::path::PathBuf;

#[derive(Debug, Parser)]
#[command(
    name = "twostep",
    version,
    about = "Team Server sign-in with 2-step verification"
)]
pub struct Cli {
    #[command(flatten)]
    pub common: CommonArgs,
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// Options every command needs: where the data lives. `Debug` leaves out the server key and
/// the database URL (which may carry a password).
#[derive(Clone, Args)]
pub struct CommonArgs {
    /// Folder for the SQLite database and the server key file.
    #[arg(
        long,
        env = "TWOSTEP_DATA_DIR",
        default_value = "./data",
        global = true
    )]
    pub data_dir: PathBuf,
    /// Database URL (`sqlite://…` or `postgres://…`); default: `twostep.db` in the data folder.
    #[arg(long, env = "DATABASE_URL", global = true, hide_env_values = true)]
    pub database_url: Option<String>,
    /// When a SQLite write counts as done: `normal` (SQLite's advice for its WAL mode: safe
    /// from crashes of the server; after a power cut or an operating-system crash the last
    /// writes may be gone, the file stays sound) or `full` (waits for the disk on every write,
    /// so nothing acknowledged is lost even then; slower). PostgreSQL has its own settings.
    #[arg(
        long,
        env = "TWOSTEP_SQLITE_SYNCHRONOUS",
        global = true,
        value_enum,
        default_value_t = crate::storage::db::SqliteSynchronous::Normal
    )]
    pub sqlite_synchronous: crate::storage::db::SqliteSynchronous,
    /// Server key for sealing TOTP secrets: 32 bytes in base64. Default: the key file
    /// `secret.key` in the data folder, created (mode 0600) on first start.
    #[arg(
        long,
        env = "TWOSTEP_SECRET_KEY",
        global = true,
        hide_env_values = true
    )]
    pub secret_key: Option<String>,
    /// TOML file naming the OpenID Connect identity providers that organizational accounts
    /// sign in through (see docs/identity-providers.md). Default: none.
    #[arg(
        long,
        env = "TWOSTEP_IDENTITY_PROVIDERS",
        global = true,
        value_name = "FILE"
    )]
    pub identity_providers: Option<PathBuf>,
    /// How log lines are written on standard error: `human` or `json` (one object per line).
    #[arg(
        long,
        env = "TWOSTEP_LOG_FORMAT",
        global = true,
        value_enum,
        default_value_t = crate::logging::LogFormat::Human
    )]
    pub log_format: crate::logging::LogFormat,
    /// The mail server for security e-mails: `smtp://host:587?tls=required` (STARTTLS),
    /// `smtps://host:465` (TLS), or `smtp://127.0.0.1:2525` (plain, a local relay); a user
    /// and password in the URL are sent only over TLS. Without it no security e-mail is
    /// queued. Given to the CLI too, so its changes are told by e-mail.
    #[arg(
        long,
        env = "TWOSTEP_SMTP_URL",
        global = true,
        hide_env_values = true,
        value_name = "URL"
    )]
    pub smtp_url: Option<String>,
    /// The sender of security e-mails, e.g. `Team Server <security@team.example>` (needed
    /// with `--smtp-url`; its domain also ends each Message-ID).
    #[arg(long, env = "TWOSTEP_MAIL_FROM", global = true, value_name = "ADDRESS")]
    pub mail_from: Option<String>,
    /// A PEM file of the CA that signed a private mail server's certificate (trusted besides
    /// the system's).
    #[arg(long, env = "TWOSTEP_SMTP_CA_FILE", global = true, value_name = "FILE")]
    pub smtp_ca_file: Option<PathBuf>,
}

impl std::fmt::Debug for CommonArgs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CommonArgs")
            .field("data_dir", &self.data_dir)
            .field("database_url", &self.database_url.as_ref().map(|_| "(set)"))
            .field("sqlite_synchronous", &self.sqlite_synchronous)
            .field("secret_key", &self.secret_key.as_ref().map(|_| "(set)"))
            .field("identity_providers", &self.identity_providers)
            .field("log_format", &self.log_format)
            .field("smtp_url", &self.smtp_url.as_ref().map(|_| "(set)"))
            .field("mail_from", &self.mail_from)
            .field("smtp_ca_file", &self.smtp_ca_file)
            .finish()
    }
}

impl CommonArgs {
    /// The checked mail settings (`None` without `--smtp-url`); a value that cannot work is
    /// an error, so the server does not start with it.
    pub fn mail_settings(
        &self,
        site: &str,
    ) -> Result<Option<crate::mail::MailSettings>, crate::mail::settings::SettingsError> {
        use crate::mail::settings::SettingsError;
        let Some(url) = &self.smtp_url else {
            if self.mail_from.is_some() || self.smtp_ca_file.is_some() {
                return Err(SettingsError::WithoutUrl);
            }
            return Ok(None);
        };
        let ca_pem = self
            .smtp_ca_file
            .as_ref()
            .map(|path| {
                std::fs::read(path)
                    .map_err(|e| SettingsError::CaFile(format!("{}: {e}", path.display())))
            })
            .transpose()?;
        crate::mail::MailSettings::parse(url, self.mail_from.as_deref(), ca_pem, site).map(Some)
    }

    /// The database URL to use: the given one, or the SQLite file in the data folder.
    pub fn database_url(&self) -> String {
        match &self.database_url {
            Some(url) => url.clone(),
            None => format!(
                "sqlite://{}?mode=rwc",
                self.data_dir.join("twostep.db").display()
            ),
        }
    }
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the server (the default).
    Serve(ServeArgs),
    /// Manage accounts from the server's shell (break-glass work).
    #[command(subcommand)]
    User(UserCommand),
    /// Copy the SQLite database to FILE while the server runs, and check the copy.
    Backup {
        /// Where to write the copy (must not exist yet).
        file: PathBuf,
    },
    /// Put a copy made by `backup` in place of the SQLite database (the server must be stopped).
    Restore {
        /// The copy to restore.
        file: PathBuf,
    },
}

impl Default for Command {
    fn default() -> Self {
        Command::Serve(ServeArgs::parse_from(["serve"]))
    }
}

#[derive(Debug, Clone, Parser)]
pub struct ServeArgs {
    /// Address to listen on.
    #[arg(long, env = "TWOSTEP_ADDR", default_value = "127.0.0.1:8080")]
    pub addr: SocketAddr,
    /// Folder with the built browser app (Trunk's output).
    #[arg(long, env = "TWOSTEP_DIST_DIR", default_value = "dist")]
    pub dist_dir: PathBuf,
    /// Issuer name shown in authenticator apps.
    #[arg(
        long,
        env = "TWOSTEP_ISSUER",
        default_value = twostep_shared::otpauth::DEFAULT_ISSUER,
        value_parser = parse_issuer
    )]
    pub issuer: String,
    /// Mark the session and device cookies `Secure` and give them the `__Host-` prefix even
    /// when `--public-url` is not https (e.g. behind a proxy that terminates TLS). An https
    /// `--public-url` turns this on by itself.
    #[arg(long, env = "TWOSTEP_SECURE_COOKIES")]
    pub secure_cookies: bool,
    /// The address people use to reach this server, e.g. `https://team.example.com`; identity
    /// providers send people back to `<URL>/api/oidc/callback`. Default: `http://<addr>`. An
    /// https URL also makes the cookies `Secure` with the `__Host-` prefix and sends
    /// `Strict-Transport-Security`.
    #[arg(long, env = "TWOSTEP_PUBLIC_URL", value_name = "URL")]
    pub public_url: Option<String>,
    /// Seconds a client may take to send a request's headers before it is cut off.
    #[arg(long, env = "TWOSTEP_HEADER_READ_TIMEOUT", default_value_t = 10)]
    pub header_read_timeout: u64,
    /// Reverse proxies whose `X-Forwarded-For` header names the client: comma-separated
    /// addresses or CIDR ranges, e.g. `127.0.0.1,::1`. The client is then the rightmost
    /// address in the header that is not one of them. Default: none (the header is ignored).
    #[arg(
        long,
        env = "TWOSTEP_TRUSTED_PROXIES",
        value_name = "CIDR[,CIDR…]",
        default_value = ""
    )]
    pub trusted_proxies: crate::web::client_addr::TrustedProxies,
    /// Days the audit log keeps an event; older ones are deleted by the periodic sweep.
    #[arg(
        long,
        env = "TWOSTEP_AUDIT_RETENTION_DAYS",
        default_value_t = 365,
        value_parser = clap::value_parser!(u32).range(1..=36500)
    )]
    pub audit_retention_days: u32,
    /// Serve Prometheus metrics at `/metrics` on the main address.
    #[arg(long, env = "TWOSTEP_METRICS", conflicts_with = "metrics_addr")]
    pub metrics: bool,
    /// Serve Prometheus metrics at `/metrics` on this address of their own instead, e.g.
    /// `127.0.0.1:9100`, so they need not be public.
    #[arg(long, env = "TWOSTEP_METRICS_ADDR", value_name = "ADDR")]
    pub metrics_addr: Option<SocketAddr>,
    /// Seconds after its last password step, code step or re-authentication during which a
    /// session may set up or remove 2-step verification, get new recovery codes, change the
    /// password or end other sessions; after that it must confirm it's you again.
    #[arg(
        long,
        env = "TWOSTEP_RECENT_SIGN_IN_SECONDS",
        default_value_t = crate::sessions::policy::DEFAULT_RECENT_SECONDS,
        value_parser = clap::value_parser!(u64).range(30..=86_400)
    )]
    pub recent_sign_in_seconds: u64,
    /// Minutes a signed-in session may go unused before it ends (besides its 12 hours).
    #[arg(
        long,
        env = "TWOSTEP_SESSION_IDLE_MINUTES",
        default_value_t = crate::sessions::policy::DEFAULT_IDLE_MINUTES,
        value_parser = clap::value_parser!(u64).range(5..=720)
    )]
    pub session_idle_minutes: u64,
    /// The in-process session cache of signed-in requests: `auto` or `on` (the same: on with
    /// SQLite, and with PostgreSQL hearing other instances through LISTEN/NOTIFY with a read
    /// barrier), or `off` (every request reads its session from the database).
    #[arg(long, env = "TWOSTEP_SESSION_CACHE", value_enum, default_value_t = SessionCacheMode::Auto)]
    pub session_cache: SessionCacheMode,
}

/// `--session-cache`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum SessionCacheMode {
    /// On (kept as a name from when PostgreSQL left the cache off).
    #[default]
    Auto,
    /// On: with SQLite revocations by every process are seen through the revocation counter;
    /// with PostgreSQL through LISTEN/NOTIFY, a hit trusted only after a read barrier.
    On,
    Off,
}

/// `--issuer`: refused at start when authenticator apps could not be given it.
fn parse_issuer(text: &str) -> Result<String, String> {
    twostep_shared::otpauth::check_issuer(text)
        .map(|()| text.to_owned())
        .map_err(|e| e.to_string())
}

#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Create an account. A Team Server account gets a one-time password, printed once, that
    /// its holder must change at the first sign-in (or, with `--password`, the one read).
    Create {
        name: String,
        /// Give the account the Administrator role.
        #[arg(long)]
        admin: bool,
        /// Read the password instead (from standard input when it is not a terminal, else
        /// prompted for): the holder keeps it.
        #[arg(long, conflicts_with = "organizational")]
        password: bool,
        /// Make it an organizational account that signs in through this identity provider
        /// (its configured name; no password). Needs `--subject` or `--email`.
        #[arg(long, value_name = "IDP")]
        organizational: Option<String>,
        #[command(flatten)]
        link: IdentityLinkArgs,
    },
    /// Link an organizational account to its identity at its provider (replaces the link).
    Link {
        name: String,
        #[command(flatten)]
        link: IdentityLinkArgs,
    },
    /// Confirm that a provider's accounts follow its new issuer (after its `issuer` changed in
    /// the identity providers file): their links at the old issuer sign in again.
    ConfirmIssuer { provider: String },
    /// Reset a Team Server account's password to a one-time password, printed once, that its
    /// holder must change at the next sign-in (or, with `--password`, set the one read, like
    /// `create --password`). Ends the account's sessions and known browsers.
    SetPassword {
        name: String,
        /// Read the password instead: the holder keeps it.
        #[arg(long)]
        password: bool,
    },
    /// Unlock an account's code step after too many wrong codes.
    Unlock { name: String },
    /// Remove an account's 2-step verification device (and end its sessions).
    RemoveTwoStep { name: String },
    /// List an account's security keys (id, name, added, last used).
    SecurityKeys { name: String },
    /// Remove one of an account's security keys (its id from `security-keys`); the last key
    /// of an account without the app turns 2-step verification off.
    RemoveSecurityKey { name: String, id: i64 },
    /// Give an account the Administrator role.
    SetAdmin { name: String },
    /// Take the Administrator role away (the account stays, as a User); refused for the
    /// last administrator. Its sessions lose administrator rights at their next request.
    RemoveAdmin { name: String },
    /// Disable an account: it signs in by no path, and its sessions end at once.
    Disable { name: String },
    /// Enable a disabled account again.
    Enable { name: String },
    /// Delete an account (its audit events stay); refused for the last administrator.
    Delete { name: String },
    /// Create the accounts of a CSV file, all or none: one a line, `name,role[,provider[,email]]`
    /// (role `user` or `administrator`; with a provider, an organizational account that signs
    /// in with that e-mail). Prints each Team Server account's one-time password, which its
    /// holder must change at the first sign-in.
    Import {
        file: std::path::PathBuf,
        /// Check the file and list what would be created, creating nothing.
        #[arg(long)]
        dry_run: bool,
    },
}

/// Which identity at the provider an organizational account belongs to.
#[derive(Debug, Clone, Default, Args)]
pub struct IdentityLinkArgs {
    /// The provider's subject identifier (`sub` claim) of the person: the surest link.
    #[arg(long, value_name = "SUB")]
    pub subject: Option<String>,
    /// A verified e-mail address (`email` claim) of the person; the first sign-in with it
    /// records the subject, which then stays linked.
    #[arg(long, value_name = "EMAIL")]
    pub email: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_output_leaves_out_the_server_key_and_the_database_url() {
        let cli = Cli::parse_from([
            "twostep",
            "--secret-key",
            "c2VjcmV0LWtleS1ieXRlcw==",
            "--database-url",
            "postgres://app:hunter2@db/twostep",
        ]);
        let printed = format!("{cli:?}");
        assert!(!printed.contains("c2VjcmV0"), "{printed}");
        assert!(!printed.contains("hunter2"), "{printed}");
        assert!(printed.contains("(set)"), "{printed}");
    }

    #[test]
    fn bad_proxy_and_retention_settings_are_refused_at_start() {
        let parsed =
            Cli::try_parse_from(["twostep", "serve", "--trusted-proxies", "10.0.0.0/8,::1"]);
        let Some(Command::Serve(args)) = parsed.unwrap().command else {
            panic!("serve");
        };
        assert!(!args.trusted_proxies.is_empty());
        assert_eq!(args.audit_retention_days, 365);
        let error = Cli::try_parse_from(["twostep", "serve", "--trusted-proxies", "proxy.local"])
            .unwrap_err()
            .to_string();
        assert!(error.contains("proxy.local"), "{error}");
        assert!(Cli::try_parse_from(["twostep", "serve", "--audit-retention-days", "0"]).is_err());
        let error = Cli::try_parse_from(["twostep", "serve", "--issuer", "Acme: R&D"])
            .unwrap_err()
            .to_string();
        assert!(error.contains("must not contain ':'"), "{error}");
    }

    /// Every range of docs/configuration.md, at both edges: the edge is taken, one past it
    /// refused with a message naming the setting.
    #[test]
    fn every_range_in_the_configuration_table_is_refused_one_past_its_edges() {
        let serve = |args: &[&str]| {
            Cli::try_parse_from(["twostep", "serve"].iter().chain(args))
                .map(|cli| match cli.command {
                    Some(Command::Serve(args)) => args,
                    _ => panic!("serve"),
                })
                .map_err(|e| e.to_string())
        };
        for (flag, below, low, high, above) in [
            ("--recent-sign-in-seconds", "29", "30", "86400", "86401"),
            ("--session-idle-minutes", "4", "5", "720", "721"),
            ("--audit-retention-days", "0", "1", "36500", "36501"),
        ] {
            for taken in [low, high] {
                let args = serve(&[flag, taken]).unwrap_or_else(|e| panic!("{flag} {taken}: {e}"));
                let value = match flag {
                    "--recent-sign-in-seconds" => args.recent_sign_in_seconds,
                    "--session-idle-minutes" => args.session_idle_minutes,
                    _ => u64::from(args.audit_retention_days),
                };
                assert_eq!(value.to_string(), taken, "{flag}");
            }
            for refused in [below, above] {
                let error = serve(&[flag, refused]).unwrap_err();
                assert!(error.contains(flag), "{flag} {refused}: {error}");
            }
        }
        let error = serve(&["--metrics", "--metrics-addr", "127.0.0.1:9100"]).unwrap_err();
        assert!(error.contains("--metrics-addr"), "{error}");
        for (flag, value) in [
            ("--issuer", ""),
            ("--issuer", "Acme:"),
            ("--session-cache", "sometimes"),
            ("--addr", "localhost"),
            ("--header-read-timeout", "ten"),
        ] {
            let error = serve(&[flag, value]).unwrap_err();
            assert!(error.contains(flag), "{flag} {value:?}: {error}");
        }
        for (flag, value) in [("--sqlite-synchronous", "off"), ("--log-format", "xml")] {
            let error = Cli::try_parse_from(["twostep", flag, value, "serve"])
                .unwrap_err()
                .to_string();
            assert!(error.contains(flag), "{flag} {value:?}: {error}");
        }
    }
}
