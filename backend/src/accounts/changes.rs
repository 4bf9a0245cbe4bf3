//! The account-changes table: every operation that changes how an account signs in or who is
//! signed in, who may do it, what proof it needs and what it revokes. Pure: the facts come in,
//! a [`Plan`] or a [`Refusal`] comes out, and every path (HTTP and the CLI) asks [`decide`]
//! before it writes, then applies the plan's revocations through
//! [`crate::accounts::apply::revoke`].
//!
//! ```text
//!   facts (who acts, recent sign-in?, 2-step on?)      proof in the request
//!            │                                                 │
//!            ▼                                                 ▼
//!   decide(change, facts) ──► Plan { proof, revokes } ──► the operation checks the proof,
//!            │                                            writes, revokes, commits once
//!            └──► Refusal (not allowed / confirm it's you / proof of the second factor)
//! ```
//!
//! `docs/account-changes.md` prints [`TABLE`] as a table; `tests/api/account_changes.rs`
//! checks every row over HTTP and the CLI.

/// An operation that changes how an account signs in or who is signed in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Change {
    /// Set up 2-step verification with an authenticator app (start and confirm).
    SetUpApp,
    /// Move 2-step verification to a new phone.
    ReplaceApp,
    /// Remove 2-step verification (the app, its recovery codes, its known browsers).
    RemoveTwoStep,
    /// New recovery codes (the old ones stop working).
    NewRecoveryCodes,
    /// Change one's own password (the current one is the proof).
    ChangePassword,
    /// Set a new password for someone else (a reset).
    ResetPassword,
    /// End one or all other sessions.
    EndSessions,
    /// Unlock a code step locked by too many wrong codes.
    UnlockCodeStep,
    /// Make an account an administrator, or a user again.
    SetRole,
    /// Create an account.
    CreateAccount,
    /// Link an organizational account to its identity at the provider.
    LinkIdentity,
    /// Confirm that a provider's organizational accounts follow its new issuer.
    ConfirmIssuer,
    /// Disable an account (it signs in by no path), or enable it again.
    DisableAccount,
    /// Delete an account (its audit events stay).
    DeleteAccount,
    /// "Confirm it's you": the session proves who it is again.
    ConfirmItsYou,
    /// Set, change or remove the address security e-mails go to (the old one is told).
    SetEmail,
    /// Add a security key (or passkey); the first second factor turns 2-step verification on.
    AddSecurityKey,
    /// Remove one security key.
    RemoveSecurityKey,
}

/// Who makes the change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Actor {
    /// The account's own holder, signed in.
    Holder,
    /// A signed-in administrator acting on another account.
    Administrator,
    /// The server's operator through the CLI (no session: access to the server is the proof).
    Operator,
}

/// The proof a change needs from its actor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Proof {
    /// Nothing beyond being the operator.
    None,
    /// A sign-in (or "Confirm it's you") of the acting session within
    /// `--recent-sign-in-seconds`.
    RecentSignIn,
    /// A recent sign-in and, when 2-step verification is on, a fresh proof of the second factor
    /// given with the request (a current code of the current phone, a recovery code, or an
    /// answer of one of the account's security keys), spent in the change's own transaction.
    /// The password alone never is.
    SecondFactor,
    /// As [`Proof::SecondFactor`] but for a recovery code: new recovery codes are made with
    /// a current code of the app or a key's answer.
    CurrentFactor,
    /// A recent sign-in and the current password, given with the request.
    CurrentPassword,
    /// The password, a current code or a security key (the step up itself).
    PasswordOrCode,
}

/// What a change revokes, besides telling every session cache (which every change does).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Revoke {
    /// Every session of the account except the one asking.
    OtherSessions,
    /// Every session of the account.
    AllSessions,
    /// The sessions named in the request.
    NamedSessions,
    /// The account's known browsers (their exemption from the per-address window).
    KnownBrowsers,
    /// The asking session's token: it gets a new one and the old one stops working.
    AskingToken,
}

/// One row of the table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rule {
    pub change: Change,
    pub actor: Actor,
    pub proof: Proof,
    pub revokes: &'static [Revoke],
}

const fn row(change: Change, actor: Actor, proof: Proof, revokes: &'static [Revoke]) -> Rule {
    Rule {
        change,
        actor,
        proof,
        revokes,
    }
}

use Actor::{Administrator, Holder, Operator};
use Change::*;
use Revoke::*;

/// The table. A pair of change and actor that is not here is not allowed: nobody sets up
/// another person's 2-step verification, and an administrator's own account is changed as its
/// holder.
pub const TABLE: &[Rule] = &[
    row(SetUpApp, Holder, Proof::SecondFactor, &[]),
    row(ReplaceApp, Holder, Proof::SecondFactor, &[]),
    row(RemoveTwoStep, Holder, Proof::SecondFactor, &[KnownBrowsers]),
    row(
        RemoveTwoStep,
        Administrator,
        Proof::RecentSignIn,
        &[AllSessions, KnownBrowsers],
    ),
    row(
        RemoveTwoStep,
        Operator,
        Proof::None,
        &[AllSessions, KnownBrowsers],
    ),
    row(NewRecoveryCodes, Holder, Proof::CurrentFactor, &[]),
    row(
        ChangePassword,
        Holder,
        Proof::CurrentPassword,
        &[OtherSessions, KnownBrowsers, AskingToken],
    ),
    row(
        ResetPassword,
        Administrator,
        Proof::RecentSignIn,
        &[AllSessions, KnownBrowsers],
    ),
    row(
        ResetPassword,
        Operator,
        Proof::None,
        &[AllSessions, KnownBrowsers],
    ),
    row(EndSessions, Holder, Proof::RecentSignIn, &[NamedSessions]),
    row(
        EndSessions,
        Administrator,
        Proof::RecentSignIn,
        &[NamedSessions],
    ),
    row(UnlockCodeStep, Administrator, Proof::RecentSignIn, &[]),
    row(UnlockCodeStep, Operator, Proof::None, &[]),
    row(SetRole, Administrator, Proof::RecentSignIn, &[]),
    row(SetRole, Operator, Proof::None, &[]),
    row(CreateAccount, Administrator, Proof::RecentSignIn, &[]),
    row(CreateAccount, Operator, Proof::None, &[]),
    row(LinkIdentity, Operator, Proof::None, &[AllSessions]),
    row(ConfirmIssuer, Operator, Proof::None, &[]),
    row(
        DisableAccount,
        Administrator,
        Proof::RecentSignIn,
        &[AllSessions, KnownBrowsers],
    ),
    row(
        DisableAccount,
        Operator,
        Proof::None,
        &[AllSessions, KnownBrowsers],
    ),
    row(
        DeleteAccount,
        Administrator,
        Proof::RecentSignIn,
        &[AllSessions, KnownBrowsers],
    ),
    row(
        DeleteAccount,
        Operator,
        Proof::None,
        &[AllSessions, KnownBrowsers],
    ),
    row(ConfirmItsYou, Holder, Proof::PasswordOrCode, &[AskingToken]),
    row(SetEmail, Holder, Proof::RecentSignIn, &[]),
    row(SetEmail, Administrator, Proof::RecentSignIn, &[]),
    row(AddSecurityKey, Holder, Proof::SecondFactor, &[]),
    row(RemoveSecurityKey, Holder, Proof::SecondFactor, &[]),
    row(RemoveSecurityKey, Operator, Proof::None, &[]),
];

/// What the decision is made on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Facts {
    pub actor: Actor,
    /// Whether the acting session signed in (or confirmed it's you) within the recent window;
    /// true for the operator.
    pub recent: bool,
    /// Whether the account the change is about has 2-step verification on.
    pub two_step_on: bool,
}

/// Why a change may not go ahead (before anything is checked or written).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    /// This actor may not make this change.
    #[error("not allowed")]
    NotAllowed,
    /// The acting session must confirm it's you first.
    #[error("a recent sign-in is needed")]
    ReauthenticationRequired,
    /// A fresh proof of the second factor must come with the request.
    #[error("proof of the second factor is needed")]
    SecondFactorRequired,
}

/// What an allowed change must still do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Plan {
    pub rule: &'static Rule,
    /// Whether a proof of the second factor must be checked (and spent) in the change's
    /// transaction.
    pub second_factor: bool,
}

impl Plan {
    /// Whether the change revokes `what`.
    pub fn revokes(&self, what: Revoke) -> bool {
        self.rule.revokes.contains(&what)
    }
}

/// The row for `change` made by `actor`, if the table has one.
pub fn rule(change: Change, actor: Actor) -> Option<&'static Rule> {
    TABLE
        .iter()
        .find(|rule| rule.change == change && rule.actor == actor)
}

/// Decides whether `change` may go ahead with these facts, and what it must still do.
pub fn decide(change: Change, facts: Facts) -> Result<Plan, Refusal> {
    let rule = rule(change, facts.actor).ok_or(Refusal::NotAllowed)?;
    let needs_recent = !matches!(rule.proof, Proof::None | Proof::PasswordOrCode);
    if needs_recent && facts.actor != Operator && !facts.recent {
        return Err(Refusal::ReauthenticationRequired);
    }
    Ok(Plan {
        rule,
        second_factor: matches!(rule.proof, Proof::SecondFactor | Proof::CurrentFactor)
            && facts.two_step_on,
    })
}

/// The actor a signed-in user is for an account: its holder, an administrator acting on
/// someone else, or `None` (nobody the table knows: refused).
pub fn actor_for(acting_id: i64, acting_is_admin: bool, subject_id: i64) -> Option<Actor> {
    if acting_id == subject_id {
        Some(Holder)
    } else if acting_is_admin {
        Some(Administrator)
    } else {
        None
    }
}

impl Change {
    /// As the docs' table names it.
    pub fn describe(self) -> &'static str {
        match self {
            SetUpApp => "Set up 2-step verification (authenticator app)",
            ReplaceApp => "Move 2-step verification to a new phone",
            RemoveTwoStep => "Remove 2-step verification",
            NewRecoveryCodes => "New recovery codes",
            ChangePassword => "Change one's password",
            ResetPassword => "Set a new password for someone (reset)",
            EndSessions => "End sessions",
            UnlockCodeStep => "Unlock the code step",
            SetRole => "Make administrator / remove administrator",
            CreateAccount => "Create an account",
            LinkIdentity => "Link an organizational account",
            ConfirmIssuer => "Confirm a provider's new issuer for its accounts",
            DisableAccount => "Disable or enable an account",
            DeleteAccount => "Delete an account",
            ConfirmItsYou => "Confirm it's you",
            SetEmail => "Set the address for security e-mails",
            AddSecurityKey => "Add a security key",
            RemoveSecurityKey => "Remove a security key",
        }
    }
}

/// The table in Markdown, as `docs/account-changes.md` prints it (a test keeps the two the
/// same).
pub fn markdown() -> String {
    let mut out = String::from(
        "| change | who | proof | revokes (besides every session cache) |\n| --- | --- | --- | --- |\n",
    );
    for rule in TABLE {
        let who = match rule.actor {
            Holder => "the holder",
            Administrator => "an administrator (another account)",
            Operator => "the operator (CLI)",
        };
        let proof = match rule.proof {
            Proof::None => "none (access to the server)",
            Proof::RecentSignIn => "recent sign-in",
            Proof::SecondFactor => {
                "recent sign-in + a current code of the app, a recovery code or one of the account's security keys (with 2-step on)"
            }
            Proof::CurrentFactor => {
                "recent sign-in + a current code of the app or one of the account's security keys (with 2-step on)"
            }
            Proof::CurrentPassword => "recent sign-in + the current password",
            Proof::PasswordOrCode => "the password, a current code or a security key",
        };
        let revokes: Vec<&str> = rule
            .revokes
            .iter()
            .map(|what| match what {
                OtherSessions => "the account's other sessions",
                AllSessions => "all the account's sessions",
                NamedSessions => "the sessions named",
                KnownBrowsers => "the account's known browsers",
                AskingToken => "the asking session's token (a new one is given)",
            })
            .collect();
        let revokes = if revokes.is_empty() {
            "—".to_owned()
        } else {
            revokes.join("; ")
        };
        out.push_str(&format!(
            "| {} | {who} | {proof} | {revokes} |\n",
            rule.change.describe()
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_docs_print_this_table() {
        let docs = include_str!("../../../docs/account-changes.md");
        assert!(
            docs.contains(&markdown()),
            "docs/account-changes.md must contain, as it is:\n{}",
            markdown()
        );
    }

    fn facts(actor: Actor, recent: bool, two_step_on: bool) -> Facts {
        Facts {
            actor,
            recent,
            two_step_on,
        }
    }

    #[test]
    fn one_row_per_change_and_actor() {
        for (i, a) in TABLE.iter().enumerate() {
            for b in &TABLE[i + 1..] {
                assert!(
                    !(a.change == b.change && a.actor == b.actor),
                    "{:?} by {:?} twice",
                    a.change,
                    a.actor
                );
            }
        }
    }

    #[test]
    fn the_second_factor_is_changed_only_with_proof_of_it() {
        for change in [
            ReplaceApp,
            RemoveTwoStep,
            NewRecoveryCodes,
            AddSecurityKey,
            RemoveSecurityKey,
            SetUpApp,
        ] {
            let plan = decide(change, facts(Holder, true, true)).unwrap();
            assert!(plan.second_factor, "{change:?}");
            let off = decide(change, facts(Holder, true, false)).unwrap();
            assert!(!off.second_factor, "{change:?}");
        }
    }

    #[test]
    fn everything_needs_a_recent_sign_in_but_the_operator_and_the_step_up() {
        for rule in TABLE {
            let stale = decide(rule.change, facts(rule.actor, false, true));
            match rule.actor {
                Operator => assert!(stale.is_ok(), "{rule:?}"),
                _ if rule.change == ConfirmItsYou => assert!(stale.is_ok()),
                _ => assert_eq!(stale, Err(Refusal::ReauthenticationRequired), "{rule:?}"),
            }
        }
    }

    #[test]
    fn an_administrator_does_only_what_the_table_says() {
        assert_eq!(
            decide(SetUpApp, facts(Administrator, true, false)),
            Err(Refusal::NotAllowed)
        );
        assert_eq!(
            decide(ReplaceApp, facts(Administrator, true, true)),
            Err(Refusal::NotAllowed)
        );
        assert_eq!(
            decide(SetUpApp, facts(Operator, true, false)),
            Err(Refusal::NotAllowed)
        );
        let removal = decide(RemoveTwoStep, facts(Administrator, true, true)).unwrap();
        assert!(!removal.second_factor);
        assert!(removal.revokes(AllSessions) && removal.revokes(KnownBrowsers));
    }

    #[test]
    fn who_acts() {
        assert_eq!(actor_for(1, false, 1), Some(Holder));
        assert_eq!(actor_for(1, true, 1), Some(Holder));
        assert_eq!(actor_for(1, true, 2), Some(Administrator));
        assert_eq!(actor_for(1, false, 2), None);
    }
}
