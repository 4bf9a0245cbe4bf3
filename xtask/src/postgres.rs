//! A throwaway PostgreSQL cluster on loopback for the tests: `initdb` and `pg_ctl` from
//! Debian's `postgresql` package in a temporary folder, stopped and removed when dropped.

use crate::step;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Command;

pub struct Cluster {
    dir: PathBuf,
    bin: PathBuf,
    as_postgres: bool,
    pub url: String,
}

/// The folder with `initdb` and `pg_ctl`, installing Debian's `postgresql` if needed.
fn postgres_bin() -> Result<PathBuf, String> {
    let find = || -> Option<PathBuf> {
        let mut dirs: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
            .ok()?
            .filter_map(|e| e.ok().map(|e| e.path().join("bin")))
            .filter(|bin| bin.join("initdb").is_file())
            .collect();
        dirs.sort();
        dirs.pop()
    };
    if let Some(bin) = find() {
        return Ok(bin);
    }
    crate::tools::apt_install(&["postgresql"])?;
    find().ok_or_else(|| "postgresql is installed but initdb was not found".to_owned())
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

impl Cluster {
    /// Starts a new cluster with user `twostep` (trust authentication, loopback only).
    pub fn start() -> Result<Self, String> {
        let bin = postgres_bin()?;
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map_err(|e| format!("no free port: {e}"))?
            .port();
        let dir = std::env::temp_dir().join(format!("twostep-pg-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        // PostgreSQL refuses to run as root: then it runs as the `postgres` user.
        let as_postgres = is_root();
        if as_postgres {
            crate::run_command(Command::new("chown").arg("postgres").arg(&dir))?;
        }
        let cluster = Self {
            url: format!("postgres://twostep@127.0.0.1:{port}/postgres"),
            dir,
            bin,
            as_postgres,
        };
        step(&format!(
            "Starting a throwaway PostgreSQL cluster on 127.0.0.1:{port}"
        ));
        let data = cluster.dir.join("data");
        cluster.run(
            "initdb",
            &[
                "-D",
                path(&data),
                "-A",
                "trust",
                "-U",
                "twostep",
                "--no-sync",
            ],
        )?;
        let options = format!(
            "-p {port} -k {} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200",
            cluster.dir.display()
        );
        let log = cluster.dir.join("log");
        cluster.run(
            "pg_ctl",
            &[
                "-D",
                path(&data),
                "-o",
                &options,
                "-l",
                path(&log),
                "-w",
                "start",
            ],
        )?;
        Ok(cluster)
    }

    fn run(&self, tool: &str, args: &[&str]) -> Result<(), String> {
        let program = self.bin.join(tool);
        let mut command = if self.as_postgres {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(&program);
            c
        } else {
            Command::new(&program)
        };
        let output = command
            .args(args)
            .current_dir(&self.dir)
            .output()
            .map_err(|e| format!("cannot run {tool}: {e}"))?;
        if output.status.success() {
            Ok(())
        } else {
            Err(format!(
                "{tool} failed: {}{}",
                String::from_utf8_lossy(&output.stdout),
                String::from_utf8_lossy(&output.stderr)
            ))
        }
    }
}

fn path(p: &Path) -> &str {
    p.to_str().unwrap_or_default()
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let data = self.dir.join("data");
        let _ = self.run("pg_ctl", &["-D", path(&data), "-m", "immediate", "stop"]);
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
