//! Operations on an account itself that every front end calls (the admin page and the CLI):
//! reset a password, set the role, disable or enable, delete, link an organizational account.
//! Each asks [`changes::decide`], then writes, revokes and records in one transaction.

use crate::accounts::By;
use crate::accounts::apply::{self, RevokeError};
use crate::accounts::changes::{self, Change, Refusal};
use crate::accounts::passwords::HashError;
use crate::accounts::users::{self, IdentityLink, UserRecord, Written};
use crate::audit;
use crate::mail::{self, MailKind};
use crate::sessions::revoking_tx::RevokingTx;
use crate::state::AppState;
use twostep_shared::api::{AuditEventKind, Role};

/// Why an account operation did not happen.
#[derive(Debug, thiserror::Error)]
pub enum AccountError {
    #[error(transparent)]
    Refused(#[from] Refusal),
    /// Organizational accounts have no password here.
    #[error("an organizational account has no password here")]
    Organizational,
    /// The new password breaks a rule (the message says which).
    #[error("new password refused: {0}")]
    NewPasswordRefused(String),
    /// The change would leave no administrator.
    #[error("the last administrator stays one")]
    LastAdministrator,
    /// The account has that role already.
    #[error("the account has that role already")]
    Unchanged,
    /// The account is gone (deleted meanwhile).
    #[error("no such account")]
    NotFound,
    #[error(transparent)]
    Hash(#[from] HashError),
    #[error(transparent)]
    Database(#[from] sqlx::Error),
}

impl From<RevokeError> for AccountError {
    fn from(error: RevokeError) -> Self {
        match error {
            RevokeError::SessionEnded => Self::Refused(Refusal::NotAllowed),
            RevokeError::Database(e) => Self::Database(e),
        }
    }
}

/// The new password of a reset.
#[derive(Clone, Copy)]
pub enum NewPassword<'a> {
    /// Typed by the operator (the CLI): the holder keeps it.
    Typed(&'a str),
    /// Made here, shown once to the administrator: the holder must change it at their first
    /// sign-in.
    OneTime,
}

/// What a reset did.
#[derive(Debug)]
pub struct Reset {
    pub sessions_ended: u64,
    /// The one-time password made, for [`NewPassword::OneTime`].
    pub one_time_password: Option<OneTimePassword>,
}

/// A one-time password: 16 letters and digits (about 79 random bits) in groups of four, easy to
/// read out. Its `Debug` prints `***`.
pub struct OneTimePassword(String);

impl OneTimePassword {
    /// The alphabet leaves out letters and digits that look alike (0/o, 1/l/i).
    const ALPHABET: &'static [u8] = b"abcdefghjkmnpqrstuvwxyz23456789";

    pub fn new() -> Self {
        use aes_gcm::aead::OsRng;
        use aes_gcm::aead::rand_core::RngCore;
        let mut text = String::with_capacity(19);
        for i in 0..16 {
            if i > 0 && i % 4 == 0 {
                text.push('-');
            }
            // Rejection sampling: no letter more likely than another.
            let n = loop {
                let byte = (OsRng.next_u32() & 0xff) as usize;
                if byte < 248 {
                    break byte % Self::ALPHABET.len();
                }
            };
            text.push(char::from(Self::ALPHABET[n]));
        }
        Self(text)
    }

    pub fn expose(&self) -> &str {
        &self.0
    }

    pub fn into_inner(self) -> String {
        self.0
    }
}

impl Default for OneTimePassword {
    fn default() -> Self {
        Self::new()
    }
}

impl std::fmt::Debug for OneTimePassword {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("***")
    }
}

/// Sets a new password for `subject` (a reset): every session and known browser of the
/// account ends.
pub async fn reset_password(
    state: &AppState,
    by: By<'_>,
    subject: &UserRecord,
    new_password: NewPassword<'_>,
) -> Result<Reset, AccountError> {
    let plan = changes::decide(Change::ResetPassword, by.facts(subject, false)?)?;
    if subject.identity_provider.is_some() {
        return Err(AccountError::Organizational);
    }
    let (hash, one_time_password) = match new_password {
        NewPassword::Typed(typed) => {
            let typed = crate::accounts::common_passwords::parse_new(typed)
                .map_err(AccountError::NewPasswordRefused)?;
            (state.hasher.hash(typed.expose().to_owned()).await?, None)
        }
        NewPassword::OneTime => {
            let made = OneTimePassword::new();
            (
                state.hasher.hash(made.expose().to_owned()).await?,
                Some(made),
            )
        }
    };
    let now = state.clock.now();
    let mut tx = RevokingTx::begin(&state.db).await?;
    let one_time = one_time_password.is_some();
    if !users::set_password_hash(&mut tx, &subject.username, &hash, one_time).await? {
        return Err(AccountError::Organizational);
    }
    let mail = state.settings.mail();
    mail::tell_change(
        &mut tx,
        mail,
        by,
        subject,
        MailKind::PasswordReset,
        None,
        now,
    )
    .await?;
    let revoked = apply::revoke(&mut tx, &plan, subject.id, by.session(), now).await?;
    let detail = format!(
        "{}{}; {} session(s) ended",
        match by {
            By::Operator => "set with the server CLI".to_owned(),
            By::User { user, .. } => format!("reset by administrator {}", user.username),
        },
        if one_time {
            " (a one-time password)"
        } else {
            ""
        },
        revoked.sessions_ended
    );
    let event = audit::Event {
        kind: AuditEventKind::PasswordChanged,
        actor: by.audit_actor(),
        subject: audit::Subject::User(subject),
        client_addr: None,
        detail: Some(&detail),
    };
    audit::write(&mut **tx, event, now).await?;
    tx.commit(&state.revocations).await?;
    Ok(Reset {
        sessions_ended: revoked.sessions_ended,
        one_time_password,
    })
}

/// Makes `subject` an administrator or a user again. The last administrator stays one, also
/// under simultaneous requests on several instances ([`users::set_role`]).
pub async fn set_role(
    state: &AppState,
    by: By<'_>,
    subject: &UserRecord,
    role: Role,
) -> Result<(), AccountError> {
    let plan = changes::decide(Change::SetRole, by.facts(subject, false)?)?;
    let now = state.clock.now();
    let mut tx = RevokingTx::begin(&state.db).await?;
    if !users::set_role(&mut tx, subject.id, role).await? {
        return Err(if role == subject.role {
            AccountError::Unchanged
        } else {
            AccountError::LastAdministrator
        });
    }
    apply::revoke(&mut tx, &plan, subject.id, by.session(), now).await?;
    let event = audit::Event {
        kind: match role {
            Role::Administrator => AuditEventKind::MadeAdministrator,
            Role::User => AuditEventKind::AdministratorRoleRemoved,
        },
        actor: by.audit_actor(),
        subject: audit::Subject::User(subject),
        client_addr: None,
        detail: None,
    };
    audit::write(&mut **tx, event, now).await?;
    tx.commit(&state.revocations).await?;
    Ok(())
}

/// Why an account was not linked.
#[derive(Debug, thiserror::Error)]
pub enum LinkError {
    #[error(transparent)]
    Refused(#[from] Refusal),
    #[error(
        "{0} is a Team Server account; only organizational accounts are linked to an identity provider"
    )]
    TeamServerAccount(String),
    #[error(
        "another account of that identity provider is already linked to this subject or e-mail"
    )]
    Taken,
    #[error(transparent)]
    Database(#[from] sqlx::Error),
}

impl From<RevokeError> for LinkError {
    fn from(error: RevokeError) -> Self {
        match error {
            RevokeError::SessionEnded => Self::Refused(Refusal::NotAllowed),
            RevokeError::Database(e) => Self::Database(e),
        }
    }
}

/// Links `subject` (an organizational account) to another identity at its provider, in one
/// transaction with what the account-changes table says it revokes: every session of the
/// account ends, since they were started by the identity the account is taken from (which
/// may be someone who got it by an e-mail address). Returns how many sessions ended.
pub async fn link_identity(
    state: &AppState,
    by: By<'_>,
    subject: &UserRecord,
    link: &IdentityLink,
) -> Result<u64, LinkError> {
    let plan = changes::decide(Change::LinkIdentity, by.facts(subject, false)?)?;
    let Some(idp) = &subject.identity_provider else {
        return Err(LinkError::TeamServerAccount(subject.username.clone()));
    };
    let now = state.clock.now();
    let mut tx = RevokingTx::begin(&state.db).await?;
    if !users::set_identity_link(&mut **tx, subject.id, link).await? {
        return Err(LinkError::Taken);
    }
    let revoked = apply::revoke(&mut tx, &plan, subject.id, by.session(), now).await?;
    let detail = format!(
        "{}; {} session(s) ended",
        crate::oidc::link::describe(idp, link),
        revoked.sessions_ended
    );
    let event = audit::Event {
        kind: AuditEventKind::IdentityLinked,
        actor: by.audit_actor(),
        subject: audit::Subject::User(subject),
        client_addr: None,
        detail: Some(&detail),
    };
    audit::write(&mut **tx, event, now).await?;
    tx.commit(&state.revocations).await?;
    Ok(revoked.sessions_ended)
}

/// Disables `subject` (`true`: it signs in by no path, and every session and known browser of
/// it ends at once, on every instance at its next request) or enables it again. The last
/// administrator who may sign in stays enabled. Disabling what is disabled (or enabling what
/// is enabled) changes and records nothing.
pub async fn set_disabled(
    state: &AppState,
    by: By<'_>,
    subject: &UserRecord,
    disabled: bool,
) -> Result<(), AccountError> {
    let plan = changes::decide(Change::DisableAccount, by.facts(subject, false)?)?;
    let now = state.clock.now();
    let mut tx = RevokingTx::begin(&state.db).await?;
    match users::set_disabled(&mut tx, subject, disabled, now).await? {
        Written::Done => {}
        Written::LastAdministrator => return Err(AccountError::LastAdministrator),
        Written::Unchanged => return Ok(()),
    }
    // (Enabling revokes too, as the table's row says: nothing is left to end by then.)
    let revoked = apply::revoke(&mut tx, &plan, subject.id, by.session(), now).await?;
    let detail = disabled.then(|| format!("{} session(s) ended", revoked.sessions_ended));
    let event = audit::Event {
        kind: if disabled {
            AuditEventKind::AccountDisabled
        } else {
            AuditEventKind::AccountEnabled
        },
        actor: by.audit_actor(),
        subject: audit::Subject::User(subject),
        client_addr: None,
        detail: detail.as_deref(),
    };
    audit::write(&mut **tx, event, now).await?;
    tx.commit(&state.revocations).await?;
    Ok(())
}

/// Deletes `subject`: its sessions end at once on every instance; its audit events stay (with
/// its name). The last administrator who may sign in stays.
pub async fn delete(
    state: &AppState,
    by: By<'_>,
    subject: &UserRecord,
) -> Result<(), AccountError> {
    let plan = changes::decide(Change::DeleteAccount, by.facts(subject, false)?)?;
    let now = state.clock.now();
    let mut tx = RevokingTx::begin(&state.db).await?;
    // The revocations first, while the rows they end still name the account.
    let revoked = apply::revoke(&mut tx, &plan, subject.id, by.session(), now).await?;
    match users::delete(&mut tx, subject).await? {
        Written::Done => {}
        Written::LastAdministrator => return Err(AccountError::LastAdministrator),
        Written::Unchanged => return Err(AccountError::NotFound),
    }
    let detail = format!("{} session(s) ended", revoked.sessions_ended);
    let event = audit::Event {
        kind: AuditEventKind::AccountDeleted,
        actor: by.audit_actor(),
        subject: audit::Subject::User(subject),
        client_addr: None,
        detail: Some(&detail),
    };
    audit::write(&mut **tx, event, now).await?;
    tx.commit(&state.revocations).await?;
    Ok(())
}
