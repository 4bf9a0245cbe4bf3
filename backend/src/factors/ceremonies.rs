//! WebAuthn ceremonies between their start and their finish, kept in the database (table
//! `webauthn_ceremonies`) so that a ceremony started on one instance finishes on another.
//!
//! ```text
//!   start:  keep(handle = purpose + the asking session's token hash, state, now + CEREMONY_SECONDS)
//!           (a new start of the same purpose by the same session replaces the old one)
//!   finish: take(handle, now) ── DELETE … RETURNING: one request gets the state, once;
//!           an expired one, another session's, or one already spent is not found
//!   sweep:  expired ones are deleted by the periodic sweep (crate::storage::sweep)
//! ```

use sqlx::Row;

/// How long a started ceremony may be finished: the browser's prompt (60 s) and some slack.
pub const CEREMONY_SECONDS: u64 = 3 * 60;

/// What a ceremony is for; with the asking session it makes the handle.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    /// Adding a key (a signed-in session).
    Register,
    /// The second step of a sign-in (the session waiting for it).
    SignIn,
    /// A proof of the second factor or "Confirm it's you" (a signed-in session).
    Proof,
    /// A passkey sign-in without a password (the passkey cookie of the browser that asked).
    Passkey,
}

impl Purpose {
    fn as_str(self) -> &'static str {
        match self {
            Purpose::Register => "register",
            Purpose::SignIn => "sign-in",
            Purpose::Proof => "proof",
            Purpose::Passkey => "passkey",
        }
    }
}

/// The handle of `purpose` for the session (or passkey cookie) whose token hash is `binding`.
pub fn handle(purpose: Purpose, binding: &str) -> String {
    format!("{}:{binding}", purpose.as_str())
}

/// Keeps a started ceremony's state (JSON) under `handle`, replacing an older one.
pub async fn keep<'c>(
    db: impl sqlx::Executor<'c, Database = sqlx::Any>,
    handle: &str,
    user_id: Option<i64>,
    state: &str,
    now: u64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO webauthn_ceremonies (handle, user_id, state, expires_at) VALUES ($1, $2, $3, $4)
         ON CONFLICT (handle) DO UPDATE SET user_id = excluded.user_id, state = excluded.state,
                                            expires_at = excluded.expires_at",
    )
    .bind(handle)
    .bind(user_id)
    .bind(state)
    .bind((now + CEREMONY_SECONDS) as i64)
    .execute(db)
    .await?;
    Ok(())
}

/// A kept ceremony, spent: the account it was started for and its state.
#[derive(Debug)]
pub struct Taken {
    pub user_id: Option<i64>,
    pub state: String,
}

/// Takes (deletes) the live ceremony under `handle`: only one caller gets it, on any instance.
pub async fn take<'c>(
    db: impl sqlx::Executor<'c, Database = sqlx::Any>,
    handle: &str,
    now: u64,
) -> Result<Option<Taken>, sqlx::Error> {
    let row = sqlx::query(
        "DELETE FROM webauthn_ceremonies WHERE handle = $1 AND expires_at > $2
         RETURNING user_id, state",
    )
    .bind(handle)
    .bind(now as i64)
    .fetch_optional(db)
    .await?;
    row.map(|row| {
        Ok(Taken {
            user_id: row.try_get("user_id")?,
            state: row.try_get("state")?,
        })
    })
    .transpose()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_handle_names_its_purpose_and_session() {
        assert_eq!(handle(Purpose::SignIn, "abc"), "sign-in:abc");
        assert_ne!(
            handle(Purpose::Proof, "abc"),
            handle(Purpose::Register, "abc")
        );
    }
}
