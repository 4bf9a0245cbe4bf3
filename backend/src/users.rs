//! Accounts in the database: lookup, listing, creation.

use sqlx::{AnyPool, Row};
use twostep_shared::api::{AccountKind, Role, TwoStepStatus, User};

/// An account as the server works with it. The password hash is kept apart
/// ([`find_for_sign_in`]) so it cannot be printed by accident.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserRecord {
    pub id: i64,
    pub username: String,
    pub role: Role,
    pub identity_provider: Option<String>,
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

fn record(row: &sqlx::any::AnyRow) -> Result<UserRecord, sqlx::Error> {
    Ok(UserRecord {
        id: row.try_get("id")?,
        username: row.try_get("username")?,
        role: role_from_db(&row.try_get::<String, _>("role")?),
        identity_provider: row.try_get("identity_provider")?,
    })
}

const COLUMNS: &str = "id, username, role, identity_provider";

pub async fn find(db: &AnyPool, id: i64) -> Result<Option<UserRecord>, sqlx::Error> {
    sqlx::query("SELECT id, username, role, identity_provider FROM users WHERE id = $1")
        .bind(id)
        .fetch_optional(db)
        .await?
        .map(|row| record(&row))
        .transpose()
}

pub async fn find_by_name(db: &AnyPool, username: &str) -> Result<Option<UserRecord>, sqlx::Error> {
    sqlx::query("SELECT id, username, role, identity_provider FROM users WHERE username = $1")
        .bind(username)
        .fetch_optional(db)
        .await?
        .map(|row| record(&row))
        .transpose()
}

/// The account and its password hash, for the password step.
pub async fn find_for_sign_in(
    db: &AnyPool,
    username: &str,
) -> Result<Option<(UserRecord, Option<String>)>, sqlx::Error> {
    let row = sqlx::query(
        "SELECT id, username, role, identity_provider, password_hash FROM users WHERE username = $1",
    )
    .bind(username)
    .fetch_optional(db)
    .await?;
    match row {
        None => Ok(None),
        Some(row) => Ok(Some((record(&row)?, row.try_get("password_hash")?))),
    }
}

pub async fn list(db: &AnyPool) -> Result<Vec<UserRecord>, sqlx::Error> {
    let sql = format!("SELECT {COLUMNS} FROM users ORDER BY username");
    sqlx::query(sqlx::AssertSqlSafe(sql))
        .fetch_all(db)
        .await?
        .iter()
        .map(record)
        .collect()
}

/// What a new account is.
pub struct NewUser<'a> {
    pub username: &'a str,
    pub password_hash: Option<String>,
    pub role: Role,
    pub identity_provider: Option<&'a str>,
}

/// Creates an account; `Ok(None)` when the username is taken.
pub async fn create(db: &AnyPool, new: NewUser<'_>, now: u64) -> Result<Option<i64>, sqlx::Error> {
    let result = sqlx::query(
        "INSERT INTO users (username, password_hash, role, identity_provider, created_at)
         VALUES ($1, $2, $3, $4, $5) RETURNING id",
    )
    .bind(new.username)
    .bind(new.password_hash)
    .bind(role_to_db(new.role))
    .bind(new.identity_provider)
    .bind(now as i64)
    .fetch_one(db)
    .await;
    match result {
        Ok(row) => Ok(Some(row.try_get("id")?)),
        Err(sqlx::Error::Database(e)) if e.is_unique_violation() => Ok(None),
        Err(e) => Err(e),
    }
}

/// Sets a Team Server account's password hash; false if no such account.
pub async fn set_password_hash(
    db: &AnyPool,
    username: &str,
    hash: &str,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE users SET password_hash = $1 WHERE username = $2 AND identity_provider IS NULL",
    )
    .bind(hash)
    .bind(username)
    .execute(db)
    .await?;
    Ok(done.rows_affected() == 1)
}

pub async fn administrator_exists(db: &AnyPool) -> Result<bool, sqlx::Error> {
    let row = sqlx::query("SELECT COUNT(*) AS n FROM users WHERE role = 'administrator'")
        .fetch_one(db)
        .await?;
    Ok(row.try_get::<i64, _>("n")? > 0)
}

pub async fn set_role(db: &AnyPool, user_id: i64, role: Role) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE users SET role = $1 WHERE id = $2")
        .bind(role_to_db(role))
        .bind(user_id)
        .execute(db)
        .await?;
    Ok(())
}
