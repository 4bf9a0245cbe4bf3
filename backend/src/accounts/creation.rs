//! Creating accounts, one (the admin page's Add user, `twostep user create`) or many at once
//! (`twostep user import`): all or none, in one transaction, each asked of the
//! account-changes table and audited. A Team Server account gets a one-time password its
//! holder must change at the first sign-in.

use crate::accounts::By;
use crate::accounts::changes::{self, Change, Refusal};
use crate::accounts::operations::OneTimePassword;
use crate::accounts::passwords::HashError;
use crate::accounts::users::{self, IdentityLink, NewUser, UserRecord};
use crate::audit;
use crate::oidc::link;
use crate::state::AppState;
use twostep_shared::api::{AuditEventKind, Role};
use twostep_shared::input::Username;

/// An account to create.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewAccount {
    pub username: Username,
    pub role: Role,
    pub kind: Kind,
    /// The address for security e-mails (checked with [`crate::accounts::email::parse`]);
    /// Team Server accounts only: an organizational account uses its provider's.
    pub email: Option<String>,
}

/// How the new account signs in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Kind {
    /// With a password here: a one-time password is made for it.
    TeamServer,
    /// Through `provider`, as the identity `link` names (a subject, an e-mail, or both).
    Organizational {
        provider: String,
        link: IdentityLink,
    },
}

impl Kind {
    /// An organizational account of `provider`, linked by `email` and/or `subject` (checked
    /// and normalised as the sign-in reads them).
    pub fn organizational(
        provider: &str,
        email: Option<&str>,
        subject: Option<&str>,
    ) -> Result<Self, CreateError> {
        let provider = provider.trim();
        if provider.is_empty() {
            return Err(CreateError::Invalid(
                "an organizational account needs its identity provider".into(),
            ));
        }
        let blank = |t: &&str| !t.trim().is_empty();
        let email = email
            .filter(blank)
            .map(link::normalize_email)
            .transpose()
            .map_err(CreateError::Invalid)?;
        let subject = subject
            .filter(blank)
            .map(|s| link::parse_subject(s.trim()))
            .transpose()
            .map_err(CreateError::Invalid)?;
        if email.is_none() && subject.is_none() {
            return Err(CreateError::Invalid(
                "an organizational account needs the e-mail or the subject it signs in with".into(),
            ));
        }
        Ok(Self::Organizational {
            provider: provider.to_owned(),
            // The issuer is recorded at the account's first sign-in, as for links made by
            // the CLI without the providers file.
            link: IdentityLink {
                issuer: None,
                subject,
                email,
            },
        })
    }
}

/// A created account, and its one-time password (Team Server accounts).
#[derive(Debug)]
pub struct Created {
    pub user: UserRecord,
    pub one_time_password: Option<OneTimePassword>,
}

/// Why accounts were not created.
#[derive(Debug, thiserror::Error)]
pub enum CreateError {
    #[error(transparent)]
    Refused(#[from] Refusal),
    /// Something in the account itself is wrong (the message says what).
    #[error("{0}")]
    Invalid(String),
    #[error("a user named {0} already exists")]
    NameTaken(String),
    #[error("another account of {0} is already linked to this subject or e-mail")]
    IdentityTaken(String),
    #[error("no identity provider named {0:?} is set up on this server")]
    UnknownProvider(String),
    #[error(transparent)]
    Hash(#[from] HashError),
    #[error(transparent)]
    Database(#[from] sqlx::Error),
}

/// Creates `accounts`, all or none. On failure, the index of the account that failed (or
/// `None` when it was not about one account, e.g. a refusal or the database).
/// `known_provider` says whether a provider name is set up (the server's settings; the CLI
/// reads the providers file).
pub async fn create_accounts(
    state: &AppState,
    by: By<'_>,
    accounts: &[NewAccount],
    known_provider: &(dyn Fn(&str) -> bool + Sync),
) -> Result<Vec<Created>, (Option<usize>, CreateError)> {
    let whole = |e: CreateError| (None, e);
    changes::decide(
        Change::CreateAccount,
        by.facts_for_new().map_err(|r| whole(r.into()))?,
    )
    .map_err(|r| whole(r.into()))?;
    // Names twice in the request, and unknown providers, before any work.
    for (i, account) in accounts.iter().enumerate() {
        if accounts[..i].iter().any(|a| a.username == account.username) {
            return Err((
                Some(i),
                CreateError::NameTaken(account.username.to_string()),
            ));
        }
        if let Kind::Organizational { provider, .. } = &account.kind {
            if !known_provider(provider) {
                return Err((Some(i), CreateError::UnknownProvider(provider.clone())));
            }
            if account.email.is_some() {
                return Err((
                    Some(i),
                    CreateError::Invalid(
                        "an organizational account uses the address its provider gives".into(),
                    ),
                ));
            }
        }
    }
    // The one-time passwords and their hashes, before the transaction (Argon2 takes time).
    let mut passwords = Vec::with_capacity(accounts.len());
    for account in accounts {
        passwords.push(match account.kind {
            Kind::TeamServer => {
                let made = OneTimePassword::new();
                let hash = state
                    .hasher
                    .hash(made.expose().to_owned())
                    .await
                    .map_err(|e| whole(e.into()))?;
                Some((made, hash))
            }
            Kind::Organizational { .. } => None,
        });
    }
    let now = state.clock.now();
    let mut tx = crate::storage::db::begin(&state.db)
        .await
        .map_err(|e| whole(e.into()))?;
    let mut created = Vec::with_capacity(accounts.len());
    for (i, (account, password)) in accounts.iter().zip(passwords).enumerate() {
        let failed = |e: CreateError| (Some(i), e);
        let name = account.username.as_str();
        if users::find_by_name_in(&mut tx, name)
            .await
            .map_err(|e| failed(e.into()))?
            .is_some()
        {
            return Err(failed(CreateError::NameTaken(name.to_owned())));
        }
        let (provider, link) = match &account.kind {
            Kind::TeamServer => (None, IdentityLink::default()),
            Kind::Organizational { provider, link } => (Some(provider.as_str()), link.clone()),
        };
        let new = NewUser {
            username: name,
            password_hash: password.as_ref().map(|(_, hash)| hash.clone()),
            role: account.role,
            identity_provider: provider,
            link,
        };
        let Some(id) = users::create(&mut *tx, new, now)
            .await
            .map_err(|e| failed(e.into()))?
        else {
            let provider = provider.unwrap_or_default().to_owned();
            return Err(failed(CreateError::IdentityTaken(provider)));
        };
        if password.is_some() {
            users::require_password_change(&mut *tx, id)
                .await
                .map_err(|e| failed(e.into()))?;
        }
        if let Some(email) = &account.email {
            sqlx::query("UPDATE users SET email = $1 WHERE id = $2")
                .bind(email)
                .bind(id)
                .execute(&mut *tx)
                .await
                .map_err(|e| failed(e.into()))?;
        }
        let user = users::find_by_name_in(&mut tx, name)
            .await
            .map_err(|e| failed(e.into()))?
            .ok_or_else(|| failed(CreateError::NameTaken(name.to_owned())))?;
        let detail = match provider {
            None if account.email.is_some() => format!(
                "{} with a one-time password and an address for security e-mails",
                describe_role(account.role)
            ),
            None => format!("{} with a one-time password", describe_role(account.role)),
            Some(provider) => format!(
                "{}, organizational account of {provider}",
                describe_role(account.role)
            ),
        };
        let event = audit::Event {
            kind: AuditEventKind::AccountCreated,
            actor: by.audit_actor(),
            subject: audit::Subject::User(&user),
            client_addr: None,
            detail: Some(&detail),
        };
        audit::write(&mut *tx, event, now)
            .await
            .map_err(|e| failed(e.into()))?;
        created.push(Created {
            user,
            one_time_password: password.map(|(made, _)| made),
        });
    }
    tx.commit().await.map_err(|e| whole(e.into()))?;
    Ok(created)
}

fn describe_role(role: Role) -> &'static str {
    match role {
        Role::Administrator => "administrator",
        Role::User => "user",
    }
}
