//! `twostep user …`: account commands for the server's shell, for when nobody can sign in.
//! There is deliberately no command that sets up 2-step verification for someone.

use crate::accounts::changes::{self, Change};
use crate::accounts::{By, creation, operations};
use crate::audit::{self, Actor};
use crate::clock::{Clock, SystemClock};
use crate::config::{CommonArgs, IdentityLinkArgs, UserCommand};
use crate::oidc::{link, providers};
use crate::state::AppState;
use crate::web::error::ApiError;
use crate::{accounts::passwords, accounts::users, factors::security_keys, factors::two_step};
use std::io::{IsTerminal, Read};
use twostep_shared::api::{AuditEventKind, Role};
use twostep_shared::input::{Password, Username};

pub async fn run(common: &CommonArgs, command: UserCommand) -> Result<(), String> {
    let (db, seal) = crate::app::open(common).await?;
    match command {
        UserCommand::Create {
            name,
            admin,
            password: false,
            organizational: None,
            link,
        } if link.subject.is_none() && link.email.is_none() => {
            // A one-time password, made and audited as the admin page's Add user does.
            let account = creation::NewAccount {
                username: Username::parse(&name).map_err(|e| e.to_string())?,
                role: if admin {
                    Role::Administrator
                } else {
                    Role::User
                },
                kind: creation::Kind::TeamServer,
                email: None,
            };
            let state = operator_state(db, seal, common)?;
            let created = creation::create_accounts(&state, By::Operator, &[account], &|_| true)
                .await
                .map_err(|(_, e)| e.to_string())?;
            for made in created {
                println!(
                    "created user {} (id {}); one-time password: {} (to be changed at the first sign-in)",
                    made.user.username,
                    made.user.id,
                    made.one_time_password.as_ref().map_or("", |p| p.expose())
                );
            }
        }
        UserCommand::Create {
            name,
            admin,
            password: _,
            organizational,
            link,
        } => {
            operator_may(Change::CreateAccount)?;
            let username = Username::parse(&name).map_err(|e| e.to_string())?;
            let link = match &organizational {
                Some(idp) => users::IdentityLink {
                    issuer: provider_issuer(common, idp, link.email.is_some())?,
                    ..identity_link(&link)?
                },
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
        UserCommand::Link { name, link: typed } => {
            let user = existing_user(&db, &name).await?;
            let idp = user.identity_provider.clone().unwrap_or_default();
            let link = match &user.identity_provider {
                Some(idp) => users::IdentityLink {
                    issuer: provider_issuer(common, idp, typed.email.is_some())?,
                    ..identity_link(&typed)?
                },
                None => users::IdentityLink::default(),
            };
            let state = operator_state(db, seal, common)?;
            let ended = operations::link_identity(&state, By::Operator, &user, &link)
                .await
                .map_err(|e| e.to_string())?;
            println!(
                "{} is linked to {}; {ended} session(s) ended",
                user.username,
                link::describe(&idp, &link)
            );
        }
        UserCommand::ConfirmIssuer { provider } => {
            operator_may(Change::ConfirmIssuer)?;
            if common.identity_providers.is_none() {
                return Err(
                    "confirm-issuer reads the provider's issuer from the identity providers file: give --identity-providers FILE"
                        .to_owned(),
                );
            }
            let issuer = provider_issuer(common, &provider, false)?.unwrap_or_default();
            let moved = users::confirm_issuer(&db, &provider, &issuer)
                .await
                .map_err(|e| e.to_string())?;
            let detail = format!("{provider}: {moved} account(s) now follow issuer {issuer}");
            let event = audit::Event {
                kind: AuditEventKind::IdentityLinked,
                actor: Actor::Cli,
                subject: audit::Subject::Nobody,
                client_addr: None,
                detail: Some(&detail),
            };
            audit::record(&db, event, SystemClock.now()).await;
            println!("{detail}");
        }
        UserCommand::SetPassword { name, password } => {
            let username = Username::parse(&name).map_err(|e| e.to_string())?;
            let user = users::find_by_name(&db, username.as_str())
                .await
                .map_err(|e| e.to_string())?
                .filter(|user| user.identity_provider.is_none())
                .ok_or_else(|| format!("no Team Server account named {username}"))?;
            let typed = if password {
                Some(read_new_password()?)
            } else {
                None
            };
            let state = operator_state(db, seal, common)?;
            let new = match &typed {
                Some(password) => operations::NewPassword::Typed(password.expose()),
                None => operations::NewPassword::OneTime,
            };
            let reset = operations::reset_password(&state, By::Operator, &user, new)
                .await
                .map_err(|e| said(e.into()))?;
            match &reset.one_time_password {
                Some(one_time) => println!(
                    "one-time password for {}: {} (to be changed at the next sign-in); {} session(s) ended",
                    user.username,
                    one_time.expose(),
                    reset.sessions_ended
                ),
                None => println!(
                    "password set for {}; {} session(s) ended",
                    user.username, reset.sessions_ended
                ),
            }
        }
        UserCommand::Unlock { name } => {
            let user = existing_user(&db, &name).await?;
            let state = operator_state(db, seal, common)?;
            two_step::unlock(&state, By::Operator, &user, None)
                .await
                .map_err(|e| no_device(&user, e))?;
            println!("unlocked the code step of {}", user.username);
        }
        UserCommand::RemoveTwoStep { name } => {
            let user = existing_user(&db, &name).await?;
            let state = operator_state(db, seal, common)?;
            let none = Default::default();
            two_step::remove_device(&state, By::Operator, &user, none, &Default::default())
                .await
                .map_err(|e| no_device(&user, e))?;
            println!(
                "removed the 2-step verification device of {} and ended its sessions",
                user.username
            );
        }
        UserCommand::SecurityKeys { name } => {
            let user = existing_user(&db, &name).await?;
            let state = operator_state(db, seal, common)?;
            let list = security_keys::list(&state, user.id)
                .await
                .map_err(|e| said(e.into()))?;
            if list.keys.is_empty() {
                println!("{} has no security keys", user.username);
            }
            for key in list.keys {
                let used = key
                    .last_used_at
                    .map_or("never".to_owned(), |at| at.to_string());
                println!(
                    "{}\t{}\tadded {}\tlast used {used}{}",
                    key.id,
                    key.name,
                    key.added_at,
                    if key.passkey { "\tpasskey" } else { "" }
                );
            }
        }
        UserCommand::RemoveSecurityKey { name, id } => {
            let user = existing_user(&db, &name).await?;
            let state = operator_state(db, seal, common)?;
            security_keys::remove(
                &state,
                By::Operator,
                &user,
                id,
                Default::default(),
                &Default::default(),
            )
            .await
            .map_err(|e| said(e.into()))?;
            println!("removed security key {id} of {}", user.username);
        }
        UserCommand::SetAdmin { name } => {
            let user = existing_user(&db, &name).await?;
            let state = operator_state(db, seal, common)?;
            match operations::set_role(&state, By::Operator, &user, Role::Administrator).await {
                Ok(()) | Err(operations::AccountError::Unchanged) => {}
                Err(other) => return Err(said(other.into())),
            }
            println!("{} is now an Administrator", user.username);
        }
        UserCommand::RemoveAdmin { name } => {
            let user = existing_user(&db, &name).await?;
            let state = operator_state(db, seal, common)?;
            match operations::set_role(&state, By::Operator, &user, Role::User).await {
                Ok(()) => {}
                Err(operations::AccountError::Unchanged) => {
                    return Err(format!("{} is not an Administrator", user.username));
                }
                Err(operations::AccountError::LastAdministrator) => {
                    return Err(format!(
                        "{} is the last Administrator; make another account an Administrator first",
                        user.username
                    ));
                }
                Err(other) => return Err(said(other.into())),
            }
            println!("{} is now a User", user.username);
        }
        UserCommand::Import { file, dry_run } => import(common, db, seal, &file, dry_run).await?,
        UserCommand::Disable { name } => set_disabled(common, db, seal, &name, true).await?,
        UserCommand::Enable { name } => set_disabled(common, db, seal, &name, false).await?,
        UserCommand::Delete { name } => {
            let user = existing_user(&db, &name).await?;
            let state = operator_state(db, seal, common)?;
            operations::delete(&state, By::Operator, &user)
                .await
                .map_err(|e| last_administrator(&user, e))?;
            println!("deleted {} (its audit events stay)", user.username);
        }
    }
    Ok(())
}

/// `twostep user import FILE [--dry-run]`: all or nothing; every error names its line.
async fn import(
    common: &CommonArgs,
    db: sqlx::AnyPool,
    seal: crate::storage::seal::SealKey,
    file: &std::path::Path,
    dry_run: bool,
) -> Result<(), String> {
    let text = std::fs::read_to_string(file).map_err(|e| format!("{}: {e}", file.display()))?;
    let lines = crate::accounts::import::parse(&text)
        .map_err(|e| format!("{}: {e}; nothing was imported", file.display()))?;
    let known = |provider: &str| provider_issuer(common, provider, false).is_ok();
    let describe = |account: &creation::NewAccount| match &account.kind {
        creation::Kind::TeamServer => format!(
            "{} ({:?}, Team Server account, one-time password)",
            account.username, account.role
        ),
        creation::Kind::Organizational { provider, .. } => format!(
            "{} ({:?}, organizational account of {provider})",
            account.username, account.role
        ),
    };
    if dry_run {
        for line in &lines {
            let error = |message: String| {
                format!(
                    "{}: line {}: {message}; nothing would be imported",
                    file.display(),
                    line.number
                )
            };
            let account = &line.account;
            if users::find_by_name(&db, account.username.as_str())
                .await
                .map_err(|e| e.to_string())?
                .is_some()
            {
                return Err(error(format!(
                    "a user named {} already exists",
                    account.username
                )));
            }
            if let creation::Kind::Organizational { provider, .. } = &account.kind
                && !known(provider)
            {
                return Err(error(format!("no identity provider named {provider:?}")));
            }
        }
        for line in &lines {
            println!("would create {}", describe(&line.account));
        }
        println!(
            "{} account(s) would be created (dry run: nothing was written)",
            lines.len()
        );
        return Ok(());
    }
    let accounts: Vec<_> = lines.iter().map(|l| l.account.clone()).collect();
    let state = operator_state(db, seal, common)?;
    let created = creation::create_accounts(&state, By::Operator, &accounts, &known)
        .await
        .map_err(|(index, e)| match index.and_then(|i| lines.get(i)) {
            Some(line) => format!(
                "{}: line {}: {e}; nothing was imported",
                file.display(),
                line.number,
            ),
            None => format!("{e}; nothing was imported"),
        })?;
    for (account, made) in accounts.iter().zip(&created) {
        match &made.one_time_password {
            Some(password) => println!("created {}: {}", describe(account), password.expose()),
            None => println!("created {}", describe(account)),
        }
    }
    println!("{} account(s) created", created.len());
    Ok(())
}

/// `twostep user disable|enable NAME`.
async fn set_disabled(
    common: &CommonArgs,
    db: sqlx::AnyPool,
    seal: crate::storage::seal::SealKey,
    name: &str,
    disable: bool,
) -> Result<(), String> {
    let user = existing_user(&db, name).await?;
    let state = operator_state(db, seal, common)?;
    operations::set_disabled(&state, By::Operator, &user, disable)
        .await
        .map_err(|e| last_administrator(&user, e))?;
    let now = if disable { "disabled" } else { "enabled" };
    println!("{} is {now}", user.username);
    Ok(())
}

/// An operation's error as the CLI prints it, naming the last administrator.
fn last_administrator(user: &users::UserRecord, error: operations::AccountError) -> String {
    match error {
        operations::AccountError::LastAdministrator => format!(
            "{} is the last Administrator who can sign in; make another account an Administrator first",
            user.username
        ),
        other => said(other.into()),
    }
}

/// What the operations need, for the operator: the same state a server has (its hashing
/// thread, its revocations: on SQLite the counter running servers read, on PostgreSQL a
/// notification), with default settings and no session cache of its own to speak of.
/// With `--smtp-url`, its changes queue security e-mails as the server's do (the server's
/// sender delivers them).
fn operator_state(
    db: sqlx::AnyPool,
    seal: crate::storage::seal::SealKey,
    common: &CommonArgs,
) -> Result<AppState, String> {
    let settings = crate::state::Settings::default();
    let mail = common
        .mail_settings(&settings.issuer)
        .map_err(|e| e.to_string())?;
    Ok(AppState::new(
        db,
        std::sync::Arc::new(SystemClock),
        seal,
        crate::state::Settings {
            mail: mail.map(std::sync::Arc::new),
            ..settings
        },
    ))
}

/// The account-changes table's word on a change the operator makes here directly (the
/// operations above ask it themselves).
fn operator_may(change: Change) -> Result<(), String> {
    let facts = changes::Facts {
        actor: changes::Actor::Operator,
        recent: true,
        two_step_on: false,
    };
    changes::decide(change, facts)
        .map(drop)
        .map_err(|refusal| format!("the operator may not do this: {refusal}"))
}

/// An operation's error as the CLI prints it.
fn said(error: ApiError) -> String {
    match error {
        ApiError::Client { body, .. } => body.message,
        ApiError::Unavailable(context) | ApiError::Internal(context) => context,
    }
}

fn no_device(user: &users::UserRecord, error: ApiError) -> String {
    if error.code() == twostep_shared::ErrorCode::NotSetUp {
        format!("{} has no 2-step verification device", user.username)
    } else {
        said(error)
    }
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
    Ok(users::IdentityLink {
        issuer: None,
        subject,
        email,
    })
}

/// When the identity providers file is given, the provider must be named in it (a typo would
/// leave the account unable to sign in), a link by e-mail needs the provider's
/// `link_by_email`, and a link records its issuer. Without the file the name is taken as
/// typed, and the issuer is recorded at the account's next sign-in.
fn provider_issuer(
    common: &CommonArgs,
    idp: &str,
    by_email: bool,
) -> Result<Option<String>, String> {
    let Some(path) = &common.identity_providers else {
        return Ok(None);
    };
    let summaries = providers::summaries(path)?;
    if let Some(found) = summaries.iter().find(|s| s.name == idp) {
        if by_email && !found.link_by_email {
            return Err(format!(
                "{idp:?} does not link accounts by e-mail (link_by_email is off in {}): give --subject, \
                 or turn link_by_email on after reading what it risks (docs/identity-providers.md)",
                path.display()
            ));
        }
        Ok(Some(found.issuer.clone()))
    } else {
        let names: Vec<&str> = summaries.iter().map(|s| s.name.as_str()).collect();
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
    crate::accounts::common_passwords::parse_new(&text)
}
