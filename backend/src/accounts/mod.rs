//! Accounts and the changes made to them: the accounts themselves ([`users`]), their
//! passwords ([`passwords`], [`password_change`], [`common_passwords`]), the account-changes table ([`changes`], pure), who
//! is acting ([`By`]), the revocations a change causes ([`apply`]), the operations on an
//! account itself ([`operations`]: password reset, role, disable, delete), creating accounts
//! ([`creation`], from a CSV file: [`import`]) and the known browsers
//! ([`known_browsers`]); the Users list at any size ([`listing`]).

pub mod apply;
pub mod changes;
pub mod common_passwords;
pub mod creation;
pub mod email;
pub mod import;
pub mod known_browsers;
pub mod listing;
pub mod operations;
pub mod password_change;
pub mod passwords;
pub mod users;

use crate::accounts::users::UserRecord;
use crate::sessions::SessionRecord;
use changes::{Actor, Facts, Refusal};

/// Who makes a change: a signed-in user (with the session they act from), or the operator
/// through the CLI.
#[derive(Debug, Clone, Copy)]
pub enum By<'a> {
    User {
        user: &'a UserRecord,
        session: &'a SessionRecord,
        /// Whether `session` signed in or confirmed it's you within the recent window.
        recent: bool,
    },
    Operator,
}

impl<'a> By<'a> {
    /// The table's actor for a change to `subject`; refused when the table knows none
    /// (another user, not an administrator).
    pub fn actor(&self, subject: &UserRecord) -> Result<Actor, Refusal> {
        match self {
            By::Operator => Ok(Actor::Operator),
            By::User { user, .. } => {
                changes::actor_for(user.id, user.is_admin(), subject.id).ok_or(Refusal::NotAllowed)
            }
        }
    }

    /// The facts [`changes::decide`] decides on.
    pub fn facts(&self, subject: &UserRecord, two_step_on: bool) -> Result<Facts, Refusal> {
        Ok(Facts {
            actor: self.actor(subject)?,
            recent: match self {
                By::Operator => true,
                By::User { recent, .. } => *recent,
            },
            two_step_on,
        })
    }

    /// The facts for a change that has no account yet (creating one): the operator, or an
    /// administrator.
    pub fn facts_for_new(&self) -> Result<Facts, Refusal> {
        match self {
            By::Operator => Ok(Facts {
                actor: Actor::Operator,
                recent: true,
                two_step_on: false,
            }),
            By::User { user, recent, .. } if user.is_admin() => Ok(Facts {
                actor: Actor::Administrator,
                recent: *recent,
                two_step_on: false,
            }),
            By::User { .. } => Err(Refusal::NotAllowed),
        }
    }

    /// As the audit log records it.
    pub fn audit_actor(&self) -> crate::audit::Actor<'a> {
        match self {
            By::User { user, .. } => crate::audit::Actor::User(user),
            By::Operator => crate::audit::Actor::Cli,
        }
    }

    /// The session the change is made from (none for the operator).
    pub fn session(&self) -> Option<&'a SessionRecord> {
        match self {
            By::User { session, .. } => Some(session),
            By::Operator => None,
        }
    }
}
