//! `twostep user …`: account commands for the server's shell, for when nobody can sign in.
//! There is deliberately no command that sets up 2-step verification for someone.

use crate::audit::{self, Actor};
use crate::clock::{Clock, SystemClock};
use crate::config::{CommonArgs, IdentityLinkArgs, UserCommand};
use crate::oidc::{link, providers};
use crate::{passwords, two_step, users};
use std::io::{IsTerminal, Read};
use twostep_shared::api::{AuditEventKind, Role};
use twostep_shared::input::{Password, Username};

pub async fn run(common: &CommonArgs, command: UserCommand) -> Result<(), String> {
    let (db, _seal) = crate::app::open(common).await?;
    match command {
        UserCommand::Create {
            name,
            admin,
            organizational,
            link,
        } => {
            let username = Username::parse(&name).map_err(|e| e.to_string())?;
            let link = match &organizational {
                Some(idp) => {
                    check_provider_name(common, idp)?;
                    identity_link(&link)?
                }
                None if link.subject.is_some() || link.email.is_some() => {
                    return Err(
                        "--subject and --email link an organizational account: add --organizational IDP"
                            .to_owned(),
                    );
                }
                None => users::IdentityLink::default(),
            };
            let password_hash = match &organizational {
                Some(_) => None,
                None => Some(passwords::hash_blocking(read_new_password()?.expose())?),
            };
            let new = users::NewUser {
                username: username.as_str(),
                password_hash,
                role: if admin {
                    Role::Administrator
                } else {
                    Role::User
                },
                identity_provider: organizational.as_deref(),
                link,
            };
            match users::create(&db, new, SystemClock.now())
                .await
                .map_err(|e| e.to_string())?
            {
                Some(id) => println!("created user {username} (id {id})"),
                None if users::find_by_name(&db, username.as_str())
                    .await
                    .map_err(|e| e.to_string())?
                    .is_some() =>
                {
                    return Err(format!("a user named {username} already exists"));
                }
                None => {
                    return Err(
                        "another account of that identity provider is already linked to this subject or e-mail"
                            .to_owned(),
                    );
                }
            }
        }
        UserCommand::Link { name, link } => {
            let user = existing_user(&db, &name).await?;
            let Some(idp) = user.identity_provider.clone() else {
                return Err(format!(
                    "{} is a Team Server account; only organizational accounts are linked to an identity provider",
                    user.username
                ));
            };
            check_provider_name(common, &idp)?;
            let link = identity_link(&link)?;
            if !users::set_identity_link(&db, user.id, &link)
                .await
                .map_err(|e| e.to_string())?
            {
                return Err(
                    "another account of that identity provider is already linked to this subject or e-mail"
                        .to_owned(),
                );
            }
            let detail = describe_link(&idp, &link);
            let event = audit::Event {
                kind: AuditEventKind::IdentityLinked,
                actor: Actor::Cli,
                subject: audit::Subject::User(&user),
                client_addr: None,
                detail: Some(&detail),
            };
            audit::record(&db, event, SystemClock.now()).await;
            revoke_everywhere(&db, common).await?;
            println!("{} is linked to {detail}", user.username);
        }
        UserCommand::SetPassword { name } => {
            let username = Username::parse(&name).map_err(|e| e.to_string())?;
            let user = users::find_by_name(&db, username.as_str())
                .await
                .map_err(|e| e.to_string())?
                .filter(|user| user.identity_provider.is_none())
                .ok_or_else(|| format!("no Team Server account named {username}"))?;
            let hash = passwords::hash_blocking(read_new_password()?.expose())?;
            let ended = set_password(&db, &user, &hash)
                .await
                .map_err(|e| e.to_string())?;
            revoke_everywhere(&db, common).await?;
            println!(
                "password set for {}; {ended} session(s) ended",
                user.username
            );
        }
        UserCommand::Unlock { name } => {
            let user = existing_user(&db, &name).await?;
            let revocations = revocations(common)?;
            if !two_step::unlock(
                &db,
                &revocations,
                Actor::Cli,
                &user,
                None,
                SystemClock.now(),
            )
            .await
            .map_err(|e| e.to_string())?
            {
                return Err(format!(
                    "{} has no 2-step verification device",
                    user.username
                ));
            }
            println!("unlocked the code step of {}", user.username);
        }
        UserCommand::RemoveTwoStep { name } => {
            let user = existing_user(&db, &name).await?;
            let removal = two_step::Removal {
                actor: Actor::Cli,
                subject: &user,
                client_addr: None,
                end_sessions: true,
            };
            let database = |e: sqlx::Error| e.to_string();
            let mut tx = db.begin().await.map_err(database)?;
            if !two_step::delete_device(&mut tx, removal, SystemClock.now())
                .await
                .map_err(database)?
            {
                return Err(format!(
                    "{} has no 2-step verification device",
                    user.username
                ));
            }
            tx.commit().await.map_err(database)?;
            revoke_everywhere(&db, common).await?;
            println!(
                "removed the 2-step verification device of {} and ended its sessions",
                user.username
            );
        }
        UserCommand::SetAdmin { name } => {
            let user = existing_user(&db, &name).await?;
            users::set_role(&db, user.id, Role::Administrator)
                .await
                .map_err(|e| e.to_string())?;
            let event = audit::Event {
                kind: AuditEventKind::MadeAdministrator,
                actor: Actor::Cli,
                subject: audit::Subject::User(&user),
                client_addr: None,
                detail: None,
            };
            audit::record(&db, event, SystemClock.now()).await;
            revoke_everywhere(&db, common).await?;
            println!("{} is now an Administrator", user.username);
        }
        UserCommand::RemoveAdmin { name } => {
            let user = existing_user(&db, &name).await?;
            if !user.is_admin() {
                return Err(format!("{} is not an Administrator", user.username));
            }
            let database = |e: sqlx::Error| e.to_string();
            let mut tx = db.begin().await.map_err(database)?;
            // In the transaction that changes the role, so two of these at once cannot leave
            // no administrator: on PostgreSQL the administrators' rows are locked first (the
            // second removal then counts after the first one's commit); SQLite has one writer.
            if tx.backend_name() == "PostgreSQL" {
                sqlx::query("SELECT id FROM users WHERE role = 'administrator' FOR UPDATE")
                    .execute(&mut *tx)
                    .await
                    .map_err(database)?;
            }
            let demoted = sqlx::query(
                "UPDATE users SET role = 'user' WHERE id = $1 AND role = 'administrator'
                   AND (SELECT COUNT(*) FROM users WHERE role = 'administrator') > 1",
            )
            .bind(user.id)
            .execute(&mut *tx)
            .await
            .map_err(database)?;
            if demoted.rows_affected() != 1 {
                return Err(format!(
                    "{} is the last Administrator; make another account an Administrator first",
                    user.username
                ));
            }
            let event = audit::Event {
                kind: AuditEventKind::AdministratorRoleRemoved,
                actor: Actor::Cli,
                subject: audit::Subject::User(&user),
                client_addr: None,
                detail: None,
            };
            audit::write(&mut *tx, event, SystemClock.now())
                .await
                .map_err(database)?;
            crate::revocation::announce(&mut tx)
                .await
                .map_err(database)?;
            tx.commit().await.map_err(database)?;
            revoke_everywhere(&db, common).await?;
            println!("{} is now a User", user.username);
        }
    }
    Ok(())
}

/// The link typed on the command line: at least one of subject and e-mail.
fn identity_link(args: &IdentityLinkArgs) -> Result<users::IdentityLink, String> {
    let subject = args
        .subject
        .as_deref()
        .map(link::parse_subject)
        .transpose()?;
    let email = args
        .email
        .as_deref()
        .map(link::normalize_email)
        .transpose()?;
    if subject.is_none() && email.is_none() {
        return Err(
            "an organizational account signs in only when it is linked to its identity at the provider: \
             give --subject SUB (the provider's `sub` claim) or --email EMAIL (a verified e-mail)"
                .to_owned(),
        );
    }
    Ok(users::IdentityLink { subject, email })
}

fn describe_link(idp: &str, link: &users::IdentityLink) -> String {
    let mut parts = Vec::new();
    if let Some(subject) = &link.subject {
        parts.push(format!("subject {subject}"));
    }
    if let Some(email) = &link.email {
        parts.push(format!("e-mail {email}"));
    }
    format!("{} at {idp}", parts.join(" and "))
}

/// When the identity providers file is given, the provider must be named in it (a typo would
/// leave the account unable to sign in). Without the file the name is taken as typed.
fn check_provider_name(common: &CommonArgs, idp: &str) -> Result<(), String> {
    let Some(path) = &common.identity_providers else {
        return Ok(());
    };
    let names = providers::names(path)?;
    if names.iter().any(|n| n == idp) {
        Ok(())
    } else {
        Err(format!(
            "no identity provider named {idp:?} in {}; configured: {}",
            path.display(),
            if names.is_empty() {
                "none".to_owned()
            } else {
                names.join(", ")
            }
        ))
    }
}

async fn existing_user(db: &sqlx::AnyPool, name: &str) -> Result<users::UserRecord, String> {
    let username = Username::parse(name).map_err(|e| e.to_string())?;
    users::find_by_name(db, username.as_str())
        .await
        .map_err(|e| e.to_string())?
        .ok_or_else(|| format!("no user named {username}"))
}

/// After a change to sessions, roles or accounts: every running server forgets its cached
/// sessions ([`crate::revocation`]): a notification on PostgreSQL, the revocation counter on
/// SQLite.
async fn revoke_everywhere(db: &sqlx::AnyPool, common: &CommonArgs) -> Result<(), String> {
    let not_told = |e: String| {
        format!("the change is saved, but running servers were not told ({e}): restart them")
    };
    revocations(common)
        .map_err(not_told)?
        .revoke_now(db)
        .await
        .map_err(|e| not_told(e.to_string()))
}

/// The CLI's side of revocations (it caches nothing): on SQLite the database's revocation
/// counter, which running servers read.
fn revocations(common: &CommonArgs) -> Result<crate::revocation::Revocations, String> {
    let counter = crate::db::sqlite_file(&common.database_url())
        .map(|database| crate::revocation::open_counter(&database))
        .transpose()?;
    Ok(crate::revocation::Revocations::without_cache(counter))
}

/// Sets the password, ends every session of the account and records it, in one transaction.
async fn set_password(
    db: &sqlx::AnyPool,
    user: &users::UserRecord,
    hash: &str,
) -> Result<u64, sqlx::Error> {
    let now = SystemClock.now();
    let mut tx = db.begin().await?;
    users::set_password_hash(&mut *tx, &user.username, hash).await?;
    let ended = crate::sessions::delete_for_user(&mut *tx, user.id).await?;
    let detail = format!("set with the server CLI; {ended} session(s) ended");
    let event = crate::audit::Event {
        kind: twostep_shared::api::AuditEventKind::PasswordChanged,
        actor: Actor::Cli,
        subject: crate::audit::Subject::User(user),
        client_addr: None,
        detail: Some(&detail),
    };
    crate::audit::write(&mut *tx, event, now).await?;
    tx.commit().await?;
    Ok(ended)
}

/// Reads a new password: from standard input when it is not a terminal (first line), else
/// prompted twice without echo.
fn read_new_password() -> Result<Password, String> {
    let text = if std::io::stdin().is_terminal() {
        let first = rpassword::prompt_password("New password: ").map_err(|e| e.to_string())?;
        let again = rpassword::prompt_password("Repeat it: ").map_err(|e| e.to_string())?;
        if first != again {
            return Err("the passwords differ".to_owned());
        }
        first
    } else {
        let mut all = String::new();
        std::io::stdin()
            .read_to_string(&mut all)
            .map_err(|e| format!("cannot read the password from standard input: {e}"))?;
        all.lines().next().unwrap_or_default().to_owned()
    };
    crate::common_passwords::parse_new(&text)
}
