//! Test data for the code-verification scenarios of `cargo xtask bench`: accounts that have
//! 2-step verification and a session waiting for its code, as after the password step.
//!
//! `cargo run --release -p twostep --example verify_fixture -- --data-dir D [--database-url U]
//! --users N --prefix P --out FILE` creates the accounts `P0` … `P{N-1}` (no password: they never use
//! the password step), each with its own random TOTP secret sealed under the server key like
//! `two_step::confirm` stores it, and a *verifying* session (5 minutes). It then writes one line
//! per account to FILE: `TOKEN RIGHT_CODE WRONG_CODE`, where RIGHT_CODE is the code of the
//! current time step (accepted for at least 30 s) and WRONG_CODE is well formed but matches no
//! step within ±2 of now. Going through the server's own modules keeps the rows in the form the
//! server reads; the benchmark checks that a right code is accepted before it trusts the data.

use aes_gcm::aead::OsRng;
use aes_gcm::aead::rand_core::RngCore;
use clap::Parser;
use sqlx::AnyPool;
use std::fmt::Write as _;
use std::path::PathBuf;
use std::time::{SystemTime, UNIX_EPOCH};
use twostep::accounts::users::{self, NewUser};
use twostep::factors::totp::{self, Authenticator};
use twostep::sessions::{self, Stage};
use twostep_shared::api::Role;

#[derive(Parser)]
struct Args {
    /// The server's data folder (SQLite file and key file).
    #[arg(long)]
    data_dir: PathBuf,
    /// The server's database URL, when not the SQLite file in the data folder.
    #[arg(long)]
    database_url: Option<String>,
    /// How many accounts to create.
    #[arg(long)]
    users: usize,
    /// Username prefix; the names must not exist yet.
    #[arg(long)]
    prefix: String,
    /// Where to write `TOKEN RIGHT_CODE WRONG_CODE` lines.
    #[arg(long)]
    out: PathBuf,
}

/// One account ready for the code step.
struct Pending {
    token: String,
    auth: Authenticator,
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("the clock is after 1970")
        .as_secs()
}

/// Creates one account with a device and a verifying session.
async fn create_pending(
    db: &AnyPool,
    seal: &twostep::storage::seal::SealKey,
    username: &str,
    now: u64,
) -> Result<Pending, String> {
    let new = NewUser {
        username,
        password_hash: None,
        role: Role::User,
        identity_provider: None,
        // A Team Server account: no link to an identity provider.
        link: Default::default(),
    };
    let id = users::create(db, new, now)
        .await
        .map_err(|e| e.to_string())?
        .ok_or_else(|| format!("the user {username} already exists"))?;
    let mut secret = [0u8; totp::SECRET_BYTES];
    OsRng.fill_bytes(&mut secret);
    // The same row `two_step::confirm` writes; the purpose string is the one it seals with.
    let sealed = seal.seal(&format!("device:{id}"), &secret)?;
    sqlx::query(
        "INSERT INTO two_step_devices (user_id, sealed_secret, last_step, created_at)
         VALUES ($1, $2, $3, $4)",
    )
    .bind(id)
    .bind(sealed)
    .bind(0_i64)
    .bind(now as i64)
    .execute(db)
    .await
    .map_err(|e| e.to_string())?;
    let token = sessions::create(db, id, Stage::Verifying, &Default::default(), now)
        .await
        .map_err(|e| e.to_string())?;
    Ok(Pending {
        token,
        auth: Authenticator::new(&secret)?,
    })
}

/// A well-formed code that is not the code of any step within ±2 of `step`.
fn wrong_code(auth: &Authenticator, step: u64) -> String {
    let near: Vec<String> = (step - 2..=step + 2)
        .map(|s| auth.code_at_step(s))
        .collect();
    (0..)
        .map(|n: u32| format!("{:06}", n * 111_111 % 1_000_000))
        .find(|code| !near.contains(code))
        .expect("some code is not among five")
}

#[tokio::main]
async fn main() -> Result<(), String> {
    let args = Args::parse();
    // The server's own option parsing, so the fixture opens exactly what `twostep` would.
    let mut server_args = vec!["twostep".to_owned(), "--data-dir".to_owned()];
    server_args.push(args.data_dir.to_string_lossy().into_owned());
    if let Some(url) = &args.database_url {
        server_args.extend(["--database-url".to_owned(), url.clone()]);
    }
    let cli = twostep::config::Cli::try_parse_from(server_args).map_err(|e| e.to_string())?;
    let (db, seal) = twostep::app::open(&cli.common).await?;
    let created = now();
    let mut pending = Vec::with_capacity(args.users);
    for i in 0..args.users {
        let username = format!("{}{i}", args.prefix);
        pending.push(create_pending(&db, &seal, &username, created).await?);
    }
    // Codes last: they must be fresh when the load starts.
    let step = totp::step_at(now());
    let mut lines = String::new();
    for p in &pending {
        let right = p.auth.code_at_step(step);
        let wrong = wrong_code(&p.auth, step);
        writeln!(lines, "{} {right} {wrong}", p.token).expect("writing to a String");
    }
    std::fs::write(&args.out, lines).map_err(|e| format!("{}: {e}", args.out.display()))?;
    println!(
        "verify_fixture users={} seconds={}",
        args.users,
        now() - created
    );
    Ok(())
}
