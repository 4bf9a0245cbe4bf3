//! Operations on an account itself that every front end calls (the CLI today; the admin page
//! next): reset a password, set the role, link an organizational account. Each asks [`changes::decide`], then writes, revokes
//! and records in one transaction.

use crate::accounts::By;
use crate::accounts::apply::{self, RevokeError};
use crate::accounts::changes::{self, Change, Refusal};
use crate::accounts::passwords::HashError;
use crate::accounts::users::{self, IdentityLink, UserRecord};
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

/// Sets a new password for `subject` (a reset): every session and known browser of the
/// account ends. Returns how many sessions ended.
pub async fn reset_password(
    state: &AppState,
    by: By<'_>,
    subject: &UserRecord,
    new_password: &str,
) -> Result<u64, AccountError> {
    let plan = changes::decide(Change::ResetPassword, by.facts(subject, false)?)?;
    if subject.identity_provider.is_some() {
        return Err(AccountError::Organizational);
    }
    let new_password = crate::accounts::common_passwords::parse_new(new_password)
        .map_err(AccountError::NewPasswordRefused)?;
    let hash = state.hasher.hash(new_password.expose().to_owned()).await?;
    let now = state.clock.now();
    let mut tx = RevokingTx::begin(&state.db).await?;
    if !users::set_password_hash(&mut tx, &subject.username, &hash).await? {
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
        "{}; {} session(s) ended",
        match by {
            By::Operator => "set with the server CLI".to_owned(),
            By::User { user, .. } => format!("reset by administrator {}", user.username),
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
    Ok(revoked.sessions_ended)
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
