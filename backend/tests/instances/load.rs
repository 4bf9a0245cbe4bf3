//! The password step under 10x the load Argon2 can serve, right passwords across many
//! accounts: the server stays up, its memory stays bounded, the queue turns work away (503) at
//! once instead of growing, accepted sign-ins wait about the queue's length and no more, and
//! every request gets an answer.

use reqwest::StatusCode;
use serde_json::json;
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

const PASSWORD: &str = "correct horse battery";
/// How long the load runs.
const LOAD: Duration = Duration::from_secs(5);
/// Peak memory allowed to the server: Argon2 keeps 19 MiB (on 2 MiB huge pages: 20) per
/// hashing thread, one per core, and a thousand open connections, the queue and SQLite take the
/// rest. Measured on 2 cores: about 75 MiB; the cap leaves about twice that, so a leak or an
/// unbounded queue fails the test.
fn max_rss_kib() -> u64 {
    let cores = std::thread::available_parallelism().map_or(2, |n| n.get()) as u64;
    (120 + 24 * cores) * 1024
}

/// Hashes per second on every core, measured here, as the server computes them.
fn argon2_bound() -> f64 {
    let threads = std::thread::available_parallelism().map_or(2, |n| n.get());
    let started = Instant::now();
    let handles: Vec<_> = (0..threads)
        .map(|_| {
            std::thread::spawn(move || {
                // One workspace per thread, kept, as the server's hashing threads do (a new
                // 19 MiB one per hash is several times slower, and understated the bound).
                let mut workspace = twostep::accounts::passwords::Workspace::new();
                let mut done = 0u32;
                while started.elapsed() < Duration::from_secs(2) {
                    workspace.hash("benchmark password").unwrap();
                    done += 1;
                }
                done
            })
        })
        .collect();
    let total: u32 = handles.into_iter().map(|h| h.join().unwrap()).sum();
    f64::from(total) / started.elapsed().as_secs_f64()
}

fn peak_rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmHWM in /proc/PID/status")
}

/// Creates `accounts` accounts straight in the server's database, all with the same password
/// hash (one hash computed here, not thousands).
async fn create_accounts(data: &std::path::Path, accounts: usize) {
    let url = format!("sqlite://{}?mode=rw", data.join("twostep.db").display());
    let db = twostep::storage::db::connect(&url).await.unwrap();
    let hash = twostep::accounts::passwords::hash_blocking(PASSWORD).unwrap();
    let mut tx = db.begin().await.unwrap();
    for i in 0..accounts {
        sqlx::query(
            "INSERT INTO users (username, password_hash, role, created_at) VALUES ($1, $2, 'user', 0)",
        )
        .bind(format!("load{i}"))
        .bind(&hash)
        .execute(&mut *tx)
        .await
        .unwrap();
    }
    tx.commit().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_times_the_argon2_bound_is_answered_and_memory_stays_bounded() {
    // Sign-ins from many addresses, as a team's would come through its proxy: one address may
    // have only so many attempts counted at once (failures and attempts still being checked).
    let (data, server) = crate::client::start_single(&["--trusted-proxies", "127.0.0.1"]).await;
    let bound = argon2_bound();
    let rate = 10.0 * bound;
    // An account for every request: the server checks one password per account at a time, so
    // each request is on the path that hashes (or waits to).
    let accounts = (rate * LOAD.as_secs_f64() * 1.2) as usize;
    create_accounts(data.path(), accounts).await;
    let interval = Duration::from_secs_f64(1.0 / rate);
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(60))
        .build()
        .unwrap();

    // Open loop: right passwords leave at the set rate whether or not earlier ones were
    // answered, each for the next account.
    let mut requests = Vec::new();
    let started = Instant::now();
    let mut sent = 0u32;
    while started.elapsed() < LOAD {
        let request = client
            .post(server.url("/api/session"))
            .header(
                "x-forwarded-for",
                format!("198.18.{}.{}", (sent >> 8) & 0xff, sent & 0xff),
            )
            .json(&json!({
                "username": format!("load{sent}"),
                "password": PASSWORD
            }));
        requests.push(tokio::spawn(async move {
            let sent_at = Instant::now();
            request
                .send()
                .await
                .map(|r| (r.status(), sent_at, sent_at.elapsed()))
        }));
        sent += 1;
        let due = interval * sent;
        if let Some(wait) = due.checked_sub(started.elapsed()) {
            tokio::time::sleep(wait).await;
        }
    }
    let offered = f64::from(sent) / LOAD.as_secs_f64();
    let mut statuses: BTreeMap<u16, u32> = BTreeMap::new();
    // How long the accepted sign-ins and the full queue's refusals took, and when the last
    // accepted one was answered.
    let mut accepted = Vec::new();
    let mut refused = Vec::new();
    let mut last_accepted = Duration::ZERO;
    let mut unanswered = Vec::new();
    for request in requests {
        match request.await.unwrap() {
            Ok((status, sent_at, took)) => {
                *statuses.entry(status.as_u16()).or_default() += 1;
                if status == StatusCode::OK {
                    accepted.push(took);
                    last_accepted = last_accepted.max(sent_at.duration_since(started) + took);
                } else if status == StatusCode::SERVICE_UNAVAILABLE {
                    refused.push(took);
                }
            }
            Err(error) => unanswered.push(format!("{error:?}")),
        }
    }
    assert!(
        unanswered.is_empty(),
        "{} of {sent} requests got no answer, e.g. {:?}",
        unanswered.len(),
        unanswered.first()
    );
    accepted.sort();
    refused.sort();
    let count = |status: u16| statuses.get(&status).copied().unwrap_or(0);
    assert!(count(200) > 0, "some sign-ins got through: {statuses:?}");
    assert!(
        count(503) > 0,
        "the hashing queue filled and turned work away: {statuses:?}"
    );
    let accepted_p99 = accepted[accepted.len() * 99 / 100];
    let refused_p99 = refused[refused.len() * 99 / 100];
    // The rate the server really hashed at: it was busy from the start until the last
    // accepted answer (the measured bound is taken before, under whatever else runs then).
    let hashed = f64::from(count(200)) / last_accepted.as_secs_f64();
    let share_429 = f64::from(count(429)) / f64::from(sent);
    eprintln!(
        "argon2 bound {bound:.1}/s, offered {offered:.1}/s, {sent} requests: {statuses:?}, \
         accepted p99 {accepted_p99:?}, refused p99 {refused_p99:?}, hashed {hashed:.1}/s, \
         429s {:.1}%",
        share_429 * 100.0
    );
    assert!(
        offered >= 9.0 * bound,
        "the load was really offered: {offered:.1}/s against a bound of {bound:.1}/s"
    );
    for status in statuses.keys() {
        assert!(
            [200, 429, 503].contains(status),
            "unexpected status {status}: {statuses:?}"
        );
    }
    // An accepted sign-in waited behind at most the queue's 256 jobs, which the server
    // finishes in 256 / (its hashing rate) seconds; 1.5 times that plus a second for the load's own
    // CPU share and the answers' way back. A longer queue fails this (seen with 1,024 places:
    // 15.6 s), as does database work before the place in the queue (13.7 s), while the p99
    // over all answers (mostly instant refusals) would not see it.
    let accepted_limit = Duration::from_secs_f64(1.5 * 256.0 / hashed + 1.0);
    assert!(
        accepted_p99 <= accepted_limit,
        "accepted sign-ins' p99 {accepted_p99:?} over {accepted_limit:?}"
    );
    // Every request names another account and comes from another address, so no per-account
    // or per-address limit applies: the refusals are the full queue's 503s, and at most 1% are
    // 429s. (Addresses not read from the trusted proxy's header, all 127.0.0.1, fail this.)
    assert!(
        share_429 <= 0.01,
        "{:.1}% of the answers were 429s: {statuses:?}",
        share_429 * 100.0
    );
    // A full queue turns a sign-in away at once: the place in the queue is taken before the
    // account's database work, so refusals neither wait for a database connection nor hold
    // one that accepted sign-ins wait for.
    assert!(
        refused_p99 <= Duration::from_secs(1),
        "the full queue's refusals' p99 {refused_p99:?} over 1 s"
    );

    // Still up and well.
    let health = client.get(server.url("/api/health")).send().await.unwrap();
    assert_eq!(health.status(), StatusCode::OK);
    let rss = peak_rss_kib(server.child.id());
    eprintln!("server peak memory: {} MiB", rss / 1024);
    assert!(rss < max_rss_kib(), "peak memory {rss} KiB");
}
