//! The real `twostep` binary as a child process: account creation through its CLI, and a
//! server on a free port that is stopped (SIGKILL) when dropped.

// Shared by several test binaries; each uses part of it.
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Child, Command, Stdio};

pub const BINARY: &str = env!("CARGO_BIN_EXE_twostep");

/// `twostep user create NAME [extra…] --password` with `password` on standard input.
pub fn create_user(
    data_dir: &Path,
    envs: &[(&str, &str)],
    name: &str,
    password: &str,
    extra: &[&str],
) {
    let mut child = Command::new(BINARY)
        .arg("--data-dir")
        .arg(data_dir)
        .args(["user", "create", name])
        .args(extra)
        // The password on standard input (an organizational account has none).
        .args(if extra.contains(&"--organizational") {
            None
        } else {
            Some("--password")
        })
        .envs(envs.iter().copied())
        .env("RUST_LOG", "warn")
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .expect("start twostep user create");
    writeln!(child.stdin.take().expect("stdin"), "{password}").expect("write the password");
    assert!(
        child.wait().expect("wait").success(),
        "creating user {name}"
    );
}

/// A running `twostep serve`.
pub struct ServerProcess {
    pub child: Child,
    /// `http://127.0.0.1:PORT`
    pub base: String,
}

impl ServerProcess {
    /// Starts `twostep --data-dir DIR serve --addr 127.0.0.1:0 [extra…]` and waits for the
    /// line that says where it listens.
    pub async fn start(data_dir: &Path, envs: &[(&str, &str)], extra: &[&str]) -> Self {
        let mut child = Command::new(BINARY)
            .arg("--data-dir")
            .arg(data_dir)
            .args(["serve", "--addr", "127.0.0.1:0"])
            .args(extra)
            .envs(envs.iter().copied())
            .env("RUST_LOG", "warn")
            .stdout(Stdio::piped())
            .spawn()
            .expect("start twostep serve");
        let stdout = child.stdout.take().expect("stdout");
        let base = tokio::task::spawn_blocking(move || {
            let mut lines = BufReader::new(stdout).lines();
            let base = lines.find_map(|line| {
                line.ok()
                    .and_then(|l| l.strip_prefix("twostep listening on ").map(str::to_owned))
            });
            // Keep draining so the server never blocks on a full pipe.
            std::thread::spawn(move || lines.for_each(drop));
            base
        })
        .await
        .expect("reader task")
        .expect("the server printed its address");
        Self { child, base }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Sends a signal (`TERM`, `KILL`) to the server.
    pub fn signal(&self, name: &str) {
        let status = Command::new("kill")
            .arg(format!("-{name}"))
            .arg(self.child.id().to_string())
            .status()
            .expect("run kill");
        assert!(status.success());
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
