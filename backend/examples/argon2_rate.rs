//! The Argon2 bound for `cargo xtask bench`: how many password checks per second this machine
//! can do on all its cores, with the server's own parameters (`twostep::accounts::passwords`).
//!
//! `cargo run --release -p twostep --example argon2_rate -- [SECONDS]` runs one thread per core
//! (`available_parallelism`), each verifying a password against an Argon2id hash (what the
//! password step of sign-in does) with its own reused `Workspace`, as the server's hashing
//! threads do, for SECONDS (default 5) from the moment every workspace is allocated and used
//! once (a server's are, from its start), and prints one line:
//! `argon2_rate threads=N seconds=S hashes=H hashes_per_second=X`.

use std::sync::Barrier;
use std::time::{Duration, Instant};
use twostep::accounts::passwords::{Workspace, hash_blocking};

const PASSWORD: &str = "argon2 rate benchmark password";

/// Verifies the password against `phc` from the moment every thread is ready (its workspace
/// allocated and used once, as a running server's are) until `seconds` later; returns how many
/// checks finished and when the clock started.
fn verify_for(phc: &str, ready: &Barrier, seconds: u64) -> (u64, Instant) {
    let mut workspace = Workspace::new();
    assert!(workspace.verify(PASSWORD, phc), "the password must verify");
    ready.wait();
    let start = Instant::now();
    let deadline = start + Duration::from_secs(seconds);
    let mut done = 0;
    while Instant::now() < deadline {
        assert!(workspace.verify(PASSWORD, phc), "the password must verify");
        done += 1;
    }
    (done, start)
}

fn main() -> Result<(), String> {
    let seconds: u64 = match std::env::args().nth(1) {
        Some(text) => text
            .parse()
            .map_err(|_| format!("not a number of seconds: {text}"))?,
        None => 5,
    };
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let phc = hash_blocking(PASSWORD)?;
    let ready = Barrier::new(threads);
    let (hashes, start) = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..threads)
            .map(|_| scope.spawn(|| verify_for(&phc, &ready, seconds)))
            .collect();
        let results: Vec<(u64, Instant)> = workers
            .into_iter()
            .map(|w| w.join().expect("worker"))
            .collect();
        let start = results.iter().map(|(_, start)| *start).min();
        (results.iter().map(|(done, _)| done).sum::<u64>(), start)
    });
    // The last check of each thread may end after the deadline: divide by the real time.
    let elapsed = start.map_or(0.0, |start| start.elapsed().as_secs_f64());
    println!(
        "argon2_rate threads={threads} seconds={elapsed:.2} hashes={hashes} hashes_per_second={:.1}",
        hashes as f64 / elapsed
    );
    Ok(())
}
