//! Accounts in the database: lookup, listing, creation.

use crate::limits::policy::Counter;
use crate::sessions::revoking_tx::RevokingTx;
use sqlx::{AnyPool, Row};
use twostep_shared::api::{AccountKind, Role, TwoStepStatus, User};

/// An account as the server works with it. The password hash is kept apart
/// ([`lookup_for_password`]) so it cannot be printed by accident.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserRecord {
    pub id: i64,
    pub username: String,
    pub role: Role,
    pub identity_provider: Option<String>,
    /// Disabled by an administrator: signs in by no path.
    pub disabled: bool,
    /// The password is a one-time password the holder must change before anything else.
    pub password_change_required: bool,
}

impl UserRecord {
    pub fn is_admin(&self) -> bool {
        self.role == Role::Administrator
    }

    pub fn account(&self) -> AccountKind {
        match &self.identity_provider {
            None => AccountKind::TeamServer,
            Some(idp) => AccountKind::Organizational {
                identity_provider: idp.clone(),
            },
        }
    }

    /// The wire form; `two_step` only for the user themself and administrators.
    pub fn to_api(&self, two_step: Option<TwoStepStatus>) -> User {
        User {
            id: self.id,
            username: self.username.clone(),
            role: self.role,
            account: self.account(),
            two_step,
            email: None,
            disabled: self.disabled,
            password_change_required: self.password_change_required,
        }
    }
}

fn role_from_db(text: &str) -> Role {
    if text == "administrator" {
        Role::Administrator
    } else {
        Role::User
    }
}

pub fn role_to_db(role: Role) -> &'static str {
    match role {
        Role::Administrator => "administrator",
        Role::User => "user",
    }
}

/// An account from a row with the columns `id`, `username`, `role`, `identity_provider`,
/// `disabled_at`, `password_change_required`.
pub(crate) fn record(row: &sqlx::any::AnyRow) -> Result<UserRecord, sqlx::Error> {
    Ok(UserRecord {
        id: row.try_get("id")?,
        username: row.try_get("username")?,
        role: role_from_db(&row.try_get::<String, _>("role")?),
        identity_provider: row.try_get("identity_provider")?,
        disabled: row.try_get::<Option<i64>, _>("disabled_at")?.is_some(),
        password_change_required: row.try_get::<i64, _>("password_change_required")? != 0,
    })
}

/// `SELECT` of the columns [`record`] reads `FROM users`, followed by the rest of the query
/// (a static string, so no SQL is ever built from data).
macro_rules! select_users {
    ($rest:literal) => {
        concat!(
            "SELECT id, username, role, identity_provider, disabled_at, password_change_required FROM users ",
            $rest
        )
    };
}

/// Runs a query for at most one account (a [`select_users!`] query).
async fn fetch_user(
    db: &AnyPool,
    query: sqlx::query::Query<'_, sqlx::Any, sqlx::any::AnyArguments>,
) -> Result<Option<UserRecord>, sqlx::Error> {
    query
        .fetch_optional(db)
        .await?
        .map(|row| record(&row))
        .transpose()
}

pub async fn find(db: &AnyPool, id: i64) -> Result<Option<UserRecord>, sqlx::Error> {
    let query = sqlx::query(select_users!("WHERE id = $1")).bind(id);
    fetch_user(db, query).await
}

pub async fn find_by_name(db: &AnyPool, username: &str) -> Result<Option<UserRecord>, sqlx::Error> {
    let query = sqlx::query(select_users!("WHERE username = $1")).bind(username);
    fetch_user(db, query).await
}

/// The account named `username`, read inside a transaction.
pub async fn find_by_name_in(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    username: &str,
) -> Result<Option<UserRecord>, sqlx::Error> {
    sqlx::query(select_users!("WHERE username = $1"))
        .bind(username)
        .fetch_optional(&mut **tx)
        .await?
        .map(|row| record(&row))
        .transpose()
}

/// Marks the account's password as a one-time password its holder must change.
pub async fn require_password_change<'c>(
    db: impl sqlx::Executor<'c, Database = sqlx::Any>,
    user_id: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE users SET password_change_required = 1 WHERE id = $1")
        .bind(user_id)
        .execute(db)
        .await?;
    Ok(())
}

/// What a password check needs to know about a typed username.
pub struct PasswordLookup {
    /// The account and its password hash (none for organizational accounts).
    pub account: Option<(UserRecord, Option<String>)>,
    /// The attempt counter on record under the attempt's key (`None`: no row).
    pub counter: Option<Counter>,
}

/// The account, its password hash and the counter under `counter_key`, in one query whether
/// or not the name has an account (so both take the same path and time).
pub async fn lookup_for_password(
    db: &mut sqlx::AnyConnection,
    username: &str,
    counter_key: &str,
) -> Result<PasswordLookup, sqlx::Error> {
    let row = sqlx::query(
        "SELECT u.id, u.username, u.role, u.identity_provider, u.disabled_at,
                u.password_change_required, u.password_hash,
                c.failures, c.last_at
         FROM (SELECT $1 AS name, $2 AS counter_key) AS typed
         LEFT JOIN users u ON u.username = typed.name
         LEFT JOIN attempt_counters c ON c.counter_key = typed.counter_key",
    )
    .bind(username)
    .bind(counter_key)
    .fetch_one(db)
    .await?;
    let failures: Option<i64> = row.try_get("failures")?;
    let last_at: Option<i64> = row.try_get("last_at")?;
    let id: Option<i64> = row.try_get("id")?;
    let account = match id {
        Some(_) => Some((record(&row)?, row.try_get("password_hash")?)),
        None => None,
    };
    Ok(PasswordLookup {
        account,
        counter: failures.zip(last_at).map(|(failures, last_at)| Counter {
            failures: u32::try_from(failures).unwrap_or(u32::MAX),
            last_at: u64::try_from(last_at).unwrap_or(0),
        }),
    })
}

/// What a new account is.
pub struct NewUser<'a> {
    pub username: &'a str,
    pub password_hash: Option<String>,
    pub role: Role,
    pub identity_provider: Option<&'a str>,
    /// For an organizational account: who it is at its provider.
    pub link: IdentityLink,
}

/// Which identity at its provider an organizational account belongs to (see `oidc/link.rs`):
/// the subject, or a verified e-mail until the subject is known, at the issuer the link was
/// made with.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IdentityLink {
    /// The provider's issuer when the link was made (`None`: not known yet; recorded at the
    /// next sign-in).
    pub issuer: Option<String>,
    pub subject: Option<String>,
    /// Lower-case.
    pub email: Option<String>,
}

/// Creates an account; `Ok(None)` when the username is taken, or the identity is already
/// linked to another account of the same provider.
pub async fn create<'c>(
    db: impl sqlx::Executor<'c, Database = sqlx::Any>,
    new: NewUser<'_>,
    now: u64,
) -> Result<Option<i64>, sqlx::Error> {
    let result = sqlx::query(
        "INSERT INTO users (username, password_hash, role, identity_provider, idp_subject, idp_email, created_at, idp_issuer)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
    )
    .bind(new.username)
    .bind(new.password_hash)
    .bind(role_to_db(new.role))
    .bind(new.identity_provider)
    .bind(new.link.subject)
    .bind(new.link.email)
    .bind(now as i64)
    .bind(new.link.issuer)
    .fetch_one(db)
    .await;
    match result {
        Ok(row) => Ok(Some(row.try_get("id")?)),
        Err(sqlx::Error::Database(e)) if e.is_unique_violation() => Ok(None),
        Err(e) => Err(e),
    }
}

/// The organizational account of `provider` linked to `subject`.
pub async fn find_by_subject(
    db: &AnyPool,
    provider: &str,
    subject: &str,
) -> Result<Option<UserRecord>, sqlx::Error> {
    let query = sqlx::query(select_users!(
        "WHERE identity_provider = $1 AND idp_subject = $2"
    ))
    .bind(provider)
    .bind(subject);
    fetch_user(db, query).await
}

/// The organizational account of `provider` waiting to be linked by this (lower-case,
/// verified) e-mail: one whose subject is not known yet.
pub async fn find_by_email_to_link(
    db: &AnyPool,
    provider: &str,
    email: &str,
) -> Result<Option<UserRecord>, sqlx::Error> {
    let query = sqlx::query(select_users!(
        "WHERE identity_provider = $1 AND idp_email = $2 AND idp_subject IS NULL"
    ))
    .bind(provider)
    .bind(email);
    fetch_user(db, query).await
}

/// Records the subject (and the issuer) of an account linked by e-mail, if it has none yet;
/// false if another sign-in got there first or another account has that subject.
pub async fn record_subject(
    db: &AnyPool,
    user_id: i64,
    subject: &str,
    issuer: &str,
) -> Result<bool, sqlx::Error> {
    let result = sqlx::query(
        "UPDATE users SET idp_subject = $1, idp_issuer = COALESCE(idp_issuer, $3)
         WHERE id = $2 AND idp_subject IS NULL",
    )
    .bind(subject)
    .bind(user_id)
    .bind(issuer)
    .execute(db)
    .await;
    match result {
        Ok(done) => Ok(done.rows_affected() == 1),
        Err(sqlx::Error::Database(e)) if e.is_unique_violation() => Ok(false),
        Err(e) => Err(e),
    }
}

/// Replaces the link of an organizational account. `Ok(false)` when another account of the
/// same provider has that subject or e-mail.
pub async fn set_identity_link<'c>(
    db: impl sqlx::Executor<'c, Database = sqlx::Any>,
    user_id: i64,
    link: &IdentityLink,
) -> Result<bool, sqlx::Error> {
    let result = sqlx::query(
        "UPDATE users SET idp_subject = $1, idp_email = $2, idp_issuer = $4
         WHERE id = $3 AND identity_provider IS NOT NULL",
    )
    .bind(link.subject.as_deref())
    .bind(link.email.as_deref())
    .bind(user_id)
    .bind(link.issuer.as_deref())
    .execute(db)
    .await;
    match result {
        Ok(done) => Ok(done.rows_affected() == 1),
        Err(sqlx::Error::Database(e)) if e.is_unique_violation() => Ok(false),
        Err(e) => Err(e),
    }
}

/// Records the issuer of a link made before issuers were recorded (or by a CLI without the
/// providers file); a recorded issuer is left alone.
pub async fn record_issuer(db: &AnyPool, user_id: i64, issuer: &str) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE users SET idp_issuer = $1 WHERE id = $2 AND idp_issuer IS NULL")
        .bind(issuer)
        .bind(user_id)
        .execute(db)
        .await?;
    Ok(())
}

/// The operator confirms that `provider`'s accounts follow its new `issuer`: every link of
/// the provider made with another issuer is moved to it. Returns how many were.
pub async fn confirm_issuer(
    db: &AnyPool,
    provider: &str,
    issuer: &str,
) -> Result<u64, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE users SET idp_issuer = $1
         WHERE identity_provider = $2 AND idp_issuer IS NOT NULL AND idp_issuer <> $1",
    )
    .bind(issuer)
    .bind(provider)
    .execute(db)
    .await?;
    Ok(done.rows_affected())
}

/// The link of an account, as stored.
pub async fn identity_link(db: &AnyPool, user_id: i64) -> Result<IdentityLink, sqlx::Error> {
    let row = sqlx::query("SELECT idp_issuer, idp_subject, idp_email FROM users WHERE id = $1")
        .bind(user_id)
        .fetch_optional(db)
        .await?;
    Ok(match row {
        None => IdentityLink::default(),
        Some(row) => IdentityLink {
            issuer: row.try_get("idp_issuer")?,
            subject: row.try_get("idp_subject")?,
            email: row.try_get("idp_email")?,
        },
    })
}

/// Sets a Team Server account's password hash, a one-time password (`one_time`: the holder
/// must change it) or not; false if no such account.
pub async fn set_password_hash(
    tx: &mut RevokingTx,
    username: &str,
    hash: &str,
    one_time: bool,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE users SET password_hash = $1, password_change_required = $3
         WHERE username = $2 AND identity_provider IS NULL",
    )
    .bind(hash)
    .bind(username)
    .bind(i64::from(one_time))
    .execute(tx.revoking().await?)
    .await?;
    Ok(done.rows_affected() == 1)
}

pub async fn administrator_exists(db: &AnyPool) -> Result<bool, sqlx::Error> {
    let row = sqlx::query("SELECT COUNT(*) AS n FROM users WHERE role = 'administrator'")
        .fetch_one(db)
        .await?;
    Ok(row.try_get::<i64, _>("n")? > 0)
}

/// On PostgreSQL, locks the administrators' rows, so that two changes at once (on two
/// instances) that could each leave no administrator run one after the other: the second
/// counts after the first one's commit. SQLite has one writer.
async fn lock_administrators(conn: &mut sqlx::AnyConnection) -> Result<(), sqlx::Error> {
    if conn.backend_name() == "PostgreSQL" {
        sqlx::query("SELECT id FROM users WHERE role = 'administrator' FOR UPDATE")
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}

/// "Another administrator who may sign in stays" besides the account `id` (a placeholder),
/// in SQL.
fn another_administrator(id: &str) -> String {
    format!(
        "EXISTS (SELECT 1 FROM users o
           WHERE o.role = 'administrator' AND o.disabled_at IS NULL AND o.id <> {id})"
    )
}

/// Sets the account's role; false if it had it already, or if it is the last administrator
/// who may sign in and `role` would leave none, also under simultaneous requests on several
/// instances ([`lock_administrators`]).
pub async fn set_role(tx: &mut RevokingTx, user_id: i64, role: Role) -> Result<bool, sqlx::Error> {
    let conn = tx.revoking().await?;
    lock_administrators(conn).await?;
    let sql = format!(
        "UPDATE users SET role = $1 WHERE id = $2 AND role <> $1
           AND ($1 = 'administrator' OR {})",
        another_administrator("$2")
    );
    let done = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(role_to_db(role))
        .bind(user_id)
        .execute(&mut *conn)
        .await?;
    Ok(done.rows_affected() == 1)
}

/// What [`set_disabled`] and [`delete`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Written {
    Done,
    /// The account is the last administrator who may sign in: nothing was written.
    LastAdministrator,
    /// Nothing to do (already so, or no such account).
    Unchanged,
}

/// Disables the account at `now` (`disabled`), or enables it again. The last administrator
/// who may sign in is not disabled.
pub async fn set_disabled(
    tx: &mut RevokingTx,
    subject: &UserRecord,
    disabled: bool,
    now: u64,
) -> Result<Written, sqlx::Error> {
    let conn = tx.revoking().await?;
    lock_administrators(conn).await?;
    let sql = if disabled {
        format!(
            "UPDATE users SET disabled_at = $1 WHERE id = $2 AND disabled_at IS NULL
               AND (role <> 'administrator' OR {})",
            another_administrator("$2")
        )
    } else {
        "UPDATE users SET disabled_at = NULL WHERE id = $2 AND disabled_at IS NOT NULL AND $1 >= 0"
            .to_owned()
    };
    let done = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(now as i64)
        .bind(subject.id)
        .execute(&mut *conn)
        .await?;
    Ok(if done.rows_affected() == 1 {
        Written::Done
    } else if disabled && subject.is_admin() && !subject.disabled {
        Written::LastAdministrator
    } else {
        Written::Unchanged
    })
}

/// Deletes the account (its sessions, device, codes and known browsers go with it; its audit
/// events stay). The last administrator who may sign in is not deleted.
pub async fn delete(tx: &mut RevokingTx, subject: &UserRecord) -> Result<Written, sqlx::Error> {
    let conn = tx.revoking().await?;
    lock_administrators(conn).await?;
    let sql = format!(
        "DELETE FROM users WHERE id = $1 AND (role <> 'administrator' OR {})",
        another_administrator("$1")
    );
    let done = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(subject.id)
        .execute(&mut *conn)
        .await?;
    Ok(if done.rows_affected() == 1 {
        Written::Done
    } else if subject.is_admin() && find_in(conn, subject.id).await?.is_some() {
        Written::LastAdministrator
    } else {
        Written::Unchanged
    })
}

async fn find_in(
    conn: &mut sqlx::AnyConnection,
    id: i64,
) -> Result<Option<UserRecord>, sqlx::Error> {
    sqlx::query(select_users!("WHERE id = $1"))
        .bind(id)
        .fetch_optional(conn)
        .await?
        .map(|row| record(&row))
        .transpose()
}
