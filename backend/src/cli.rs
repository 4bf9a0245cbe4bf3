//! `twostep user …`: account commands for the server's shell, for when nobody can sign in.
//! There is deliberately no command that sets up 2-step verification for someone.

use crate::audit::{self, Actor};
use crate::clock::{Clock, SystemClock};
use crate::config::{CommonArgs, UserCommand};
use crate::{passwords, sessions, two_step, users};
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
        } => {
            let username = Username::parse(&name).map_err(|e| e.to_string())?;
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
            };
            match users::create(&db, new, SystemClock.now())
                .await
                .map_err(|e| e.to_string())?
            {
                Some(id) => println!("created user {username} (id {id})"),
                None => return Err(format!("a user named {username} already exists")),
            }
        }
        UserCommand::SetPassword { name } => {
            let username = Username::parse(&name).map_err(|e| e.to_string())?;
            let hash = passwords::hash_blocking(read_new_password()?.expose())?;
            if !users::set_password_hash(&db, username.as_str(), &hash)
                .await
                .map_err(|e| e.to_string())?
            {
                return Err(format!("no Team Server account named {username}"));
            }
            println!("password set for {username}");
        }
        UserCommand::Unlock { name } => {
            let user = existing_user(&db, &name).await?;
            if !two_step::unlock(&db, Actor::Cli, &user, None, SystemClock.now())
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
            if !two_step::delete_device(&db, user.id)
                .await
                .map_err(|e| e.to_string())?
            {
                return Err(format!(
                    "{} has no 2-step verification device",
                    user.username
                ));
            }
            sessions::delete_for_user(&db, user.id, None)
                .await
                .map_err(|e| e.to_string())?;
            let event = audit::Event {
                kind: AuditEventKind::DeviceRemoved,
                actor: Actor::Cli,
                subject: audit::Subject::User(&user),
                client_addr: None,
                detail: Some("removed with the server CLI"),
            };
            audit::record(&db, event, SystemClock.now()).await;
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
            println!("{} is now an Administrator", user.username);
        }
    }
    Ok(())
}

async fn existing_user(db: &sqlx::AnyPool, name: &str) -> Result<users::UserRecord, String> {
    let username = Username::parse(name).map_err(|e| e.to_string())?;
    users::find_by_name(db, username.as_str())
        .await
        .map_err(|e| e.to_string())?
        .ok_or_else(|| format!("no user named {username}"))
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
    Password::parse_new(&text).map_err(|e| e.to_string())
}
