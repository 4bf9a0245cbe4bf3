//! Test data for the admin rows of `cargo xtask bench`: 100,000 accounts and 1,000,000 audit
//! events, written by the database itself (a recursive `WITH` per table), so the load takes
//! seconds, not the hours that 100,000 `twostep user create` would.
//!
//! `cargo run --release -p twostep --example admin_fixture -- --data-dir D [--database-url U]
//! [--users N] [--events M]` creates the accounts `member100000` … (no password: the benchmark
//! only lists them): every 1000th an administrator, every 10th organizational (`Contoso`),
//! every 7th with 2-step verification on (a row with no secret: only its status is read) and
//! every 500th of those locked, every 200th disabled. Then M events, about and by those
//! accounts, spread over the names so that one name's events are spread over the whole log.
//! On PostgreSQL it ends with `ANALYZE`, as autovacuum would soon after such a load.

use clap::Parser;
use std::path::PathBuf;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

#[derive(Parser)]
struct Args {
    /// The server's data folder (SQLite file and key file).
    #[arg(long)]
    data_dir: PathBuf,
    /// The server's database URL, when not the SQLite file in the data folder.
    #[arg(long)]
    database_url: Option<String>,
    #[arg(long, default_value_t = 100_000)]
    users: i64,
    #[arg(long, default_value_t = 1_000_000)]
    events: i64,
}

#[tokio::main]
async fn main() -> Result<(), String> {
    let args = Args::parse();
    let mut server_args = vec!["twostep".to_owned(), "--data-dir".to_owned()];
    server_args.push(args.data_dir.to_string_lossy().into_owned());
    if let Some(url) = &args.database_url {
        server_args.extend(["--database-url".to_owned(), url.clone()]);
    }
    let cli = twostep::config::Cli::try_parse_from(server_args).map_err(|e| e.to_string())?;
    let (db, _seal) = twostep::app::open(&cli.common).await?;
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("the clock is after 1970")
        .as_secs() as i64;
    let started = Instant::now();
    let run = async |sql: &'static str| -> Result<(), String> {
        sqlx::query(sql)
            .bind(now)
            .bind(args.users)
            .bind(args.events)
            .execute(&db)
            .await
            .map(|_| ())
            .map_err(|e| format!("{e}: {sql}"))
    };
    // $1 now, $2 accounts, $3 events (every statement binds all three).
    run("WITH RECURSIVE n(i) AS (SELECT CAST(0 AS BIGINT) UNION ALL SELECT i + 1 FROM n WHERE i + 1 < $2)
         INSERT INTO users (username, password_hash, role, identity_provider, created_at, disabled_at)
         SELECT 'member' || CAST(100000 + i AS TEXT), NULL,
                CASE WHEN i % 1000 = 0 THEN 'administrator' ELSE 'user' END,
                CASE WHEN i % 10 = 3 THEN 'Contoso' ELSE NULL END,
                $1 + 0 * $3,
                CASE WHEN i % 200 = 7 THEN $1 ELSE NULL END
         FROM n")
    .await?;
    run(
        "INSERT INTO two_step_devices (user_id, sealed_secret, last_step, locked, created_at)
         SELECT id, 'none', 0, CASE WHEN id % 3500 = 0 THEN 1 ELSE 0 END, $1
         FROM users WHERE username LIKE 'member%' AND id % 7 = 0 AND $2 + $3 > 0",
    )
    .await?;
    run("WITH RECURSIVE n(i) AS (SELECT CAST(0 AS BIGINT) UNION ALL SELECT i + 1 FROM n WHERE i + 1 < $3)
         INSERT INTO audit_events (at, event, actor_id, actor_name, subject_id, subject_name, client_addr, detail)
         SELECT $1 - $3 + i,
                CASE i % 4 WHEN 0 THEN 'signed_in' WHEN 1 THEN 'sign_in_failed_password'
                           WHEN 2 THEN 'device_associated' ELSE 'sign_in_failed_code' END,
                NULL,
                CASE WHEN i % 50 = 0 THEN 'member100000' ELSE NULL END,
                NULL,
                'member' || CAST(100000 + (i * 7919) % $2 AS TEXT),
                '10.0.0.1', NULL
         FROM n")
    .await?;
    if args.database_url.is_some() {
        sqlx::query("ANALYZE")
            .execute(&db)
            .await
            .map_err(|e| e.to_string())?;
    }
    println!(
        "admin_fixture users={} events={} seconds={:.1}",
        args.users,
        args.events,
        started.elapsed().as_secs_f64()
    );
    Ok(())
}
