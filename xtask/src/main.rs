//! Project tasks, run as `cargo xtask <task>`: run the product, run every test, build the
//! frontend, and install (once, idempotently) the tools these need.
//!
//! Tasks:
//! - `run`: build the frontend and start `twostep serve` (SQLite in `./data`) at
//!   http://127.0.0.1:8080. Extra arguments go to `twostep serve`.
//! - `test`: build the frontend, install headless Chromium, the test identity provider
//!   (npm `oidc-provider`, in `xtask/oidc-provider`) and the accessibility checker (npm
//!   `axe-core`, its `axe.min.js` passed to the browser tests as `TWOSTEP_AXE_JS`) if missing,
//!   and run every test. First it checks the docs against the tests (`rules.rs`): every rule in
//!   `docs/rules.md` names a test, and every test the docs name exists.
//! - `build-frontend`: only build the frontend into `dist/`.
//! - `screenshots`: build the frontend and write the README's screenshot,
//!   `docs/screenshot-two-step.png`, with the browser tests' harness (the test
//!   `backend/tests/browser/screenshots.rs`), so that no screenshot is made by hand.
//! - `setup`: only install the tools.
//! - `bench`: measure the performance budgets and write `BENCHMARKS.md` (see `bench.rs`);
//!   `bench --only size,browser` measures and prints only those parts.

mod bench;
mod browser;
mod function_order;
#[cfg(test)]
mod imports;
mod postgres;
mod precompress;
mod rules;
mod shrink;
mod tools;

use std::path::PathBuf;
use std::process::{Command, ExitCode};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some(task) = args.first() else {
        eprintln!(
            "usage: cargo xtask <run|test|build-frontend|screenshots|setup|bench|check-docs> [args…]"
        );
        return ExitCode::FAILURE;
    };
    let rest = &args[1..];
    let result = match task.as_str() {
        "run" => run(rest),
        "test" => test(rest),
        "build-frontend" => tools::ensure_frontend_tools().and_then(|env| build_frontend(&env)),
        "setup" => tools::ensure_frontend_tools()
            .and_then(|_| tools::ensure_chromium())
            .and_then(|()| tools::ensure_test_identity_provider())
            .and_then(|()| tools::ensure_test_mail_server())
            .and_then(|()| tools::ensure_axe_core().map(drop)),
        "bench" => bench::bench(rest),
        "screenshots" => screenshots(rest),
        // The docs check that `test` runs first, alone (seconds).
        "check-docs" => rules::check(&root()),
        other => Err(format!(
            "unknown task `{other}`; try run, test, build-frontend, screenshots, setup, bench or check-docs"
        )),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("xtask: {message}");
            ExitCode::FAILURE
        }
    }
}

/// The workspace root (the folder above `xtask/`).
///
/// From `CARGO_MANIFEST_DIR` as `cargo run` sets it now, not as it was at compile time: a
/// target folder shared by several checkouts (the CI cache) may hold an `xtask` built in
/// another one.
pub fn root() -> PathBuf {
    let manifest_dir = std::env::var_os("CARGO_MANIFEST_DIR")
        .map_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")), PathBuf::from);
    manifest_dir
        .parent()
        .expect("xtask lives in the workspace")
        .to_path_buf()
}

/// Prints a progress line.
pub fn step(message: &str) {
    eprintln!("==> {message}");
}

/// Runs a command in the workspace root; fails with its name if it fails.
pub fn run_command(command: &mut Command) -> Result<(), String> {
    let shown = format!("{command:?}");
    let status = command
        .current_dir(root())
        .status()
        .map_err(|e| format!("cannot start {shown}: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("{shown} failed ({status})"))
    }
}

pub(crate) fn cargo() -> Command {
    Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned()))
}

fn build_frontend(env: &tools::ToolEnv) -> Result<(), String> {
    step("Building the frontend with trunk (release) into dist/");
    let mut trunk = Command::new(&env.trunk);
    trunk
        .args(["build", "--release", "--offline"])
        .env("PATH", &env.path);
    run_command(&mut trunk)?;
    if !root().join("dist/index.html").is_file() {
        return Err("trunk finished but dist/index.html is missing".to_owned());
    }
    shrink::shrink(env, &root().join("dist"))?;
    precompress::precompress(&root().join("dist"))
}

fn run(extra: &[String]) -> Result<(), String> {
    // `cargo xtask run -- --addr …` is the usual cargo way to pass arguments on: the `--` is
    // cargo's, not the server's.
    let extra = match extra.split_first() {
        Some((first, rest)) if first == "--" => rest,
        _ => extra,
    };
    let env = tools::ensure_frontend_tools()?;
    build_frontend(&env)?;
    step(&format!(
        "Building and starting the server: http://{} (Ctrl-C stops it)",
        serve_addr(extra)
    ));
    let mut serve = cargo();
    serve
        .args(["run", "--release", "--package", "twostep", "--", "serve"])
        .args(extra)
        .env("TWOSTEP_DIST_DIR", root().join("dist"));
    run_command(&mut serve)
}

/// Writes the README's screenshot into `docs/` by running the browser test that makes it.
fn screenshots(extra: &[String]) -> Result<(), String> {
    let env = tools::ensure_frontend_tools()?;
    tools::ensure_chromium()?;
    build_frontend(&env)?;
    step("Making docs/screenshot-two-step.png in headless Chromium (the browser tests' harness)");
    let mut test = cargo();
    test.args(["test", "--package", "twostep", "--test", "browser"])
        .args(extra)
        .args(["--", "screenshots::", "--nocapture"])
        .env("TWOSTEP_E2E_DIST", root().join("dist"))
        .env("TWOSTEP_README_SCREENSHOTS", root().join("docs"));
    run_command(&mut test)
}

/// The address `twostep serve` will listen on, from `--addr` among `args` (or
/// `TWOSTEP_ADDR`), else its default.
fn serve_addr(args: &[String]) -> String {
    let mut given = std::env::var("TWOSTEP_ADDR").ok();
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        if arg == "--addr" {
            given = args.next().cloned();
        } else if let Some(value) = arg.strip_prefix("--addr=") {
            given = Some(value.to_owned());
        }
    }
    given.unwrap_or_else(|| "127.0.0.1:8080".to_owned())
}

/// The test that offers 10x the load Argon2 can serve: run alone, after the others, so that
/// neither disturbs the other's timing.
const LOAD_TEST: &str = "load::";

fn test(extra: &[String]) -> Result<(), String> {
    step(
        "Checking that every rule in docs/rules.md names a test, and that every test the docs name exists",
    );
    rules::check(&root())?;
    let env = tools::ensure_frontend_tools()?;
    tools::ensure_chromium()?;
    tools::ensure_test_identity_provider()?;
    tools::ensure_test_mail_server()?;
    let axe = tools::ensure_axe_core()?;
    build_frontend(&env)?;
    // The frontend build above has built `twostep-shared` for wasm32 too.
    // PostgreSQL: the one given, or a throwaway cluster for this run.
    let cluster;
    let postgres_url = match std::env::var("TWOSTEP_TEST_POSTGRES_URL") {
        Ok(url) if !url.is_empty() => url,
        _ => {
            cluster = postgres::Cluster::start()?;
            cluster.url.clone()
        }
    };
    step(
        "Running every test: unit, API integration (SQLite), several instances on PostgreSQL, doc tests, browser end-to-end",
    );
    let mut tests = cargo();
    tests
        .args(["test", "--workspace", "--exclude", "twostep-frontend"])
        .args(extra)
        .args(["--", "--skip", LOAD_TEST])
        .env("TWOSTEP_E2E_DIST", root().join("dist"))
        .env("TWOSTEP_AXE_JS", &axe)
        .env("TWOSTEP_TEST_POSTGRES_URL", &postgres_url);
    run_command(&mut tests)?;
    // The browser app's own unit tests (the QR code's mask, base64url) run natively: the
    // workspace run above leaves the app out, which is built for the browser.
    step("Running the browser app's unit tests (natively)");
    let mut app_units = cargo();
    app_units
        .args([
            "test",
            "--package",
            "twostep-frontend",
            "--bin",
            "twostep-frontend",
        ])
        .args(extra);
    run_command(&mut app_units)?;
    step("Running the load test on its own (it saturates every core and measures against that)");
    let mut load = cargo();
    load.args(["test", "--package", "twostep", "--test", "instances"])
        .args(extra)
        .args(["--", LOAD_TEST, "--test-threads=1"]);
    run_command(&mut load)?;
    step("Running the API integration tests again, on PostgreSQL");
    let mut on_postgres = cargo();
    on_postgres
        .args(["test", "--package", "twostep", "--test", "api"])
        .args(extra)
        .env("TWOSTEP_TEST_DB", "postgres")
        .env("TWOSTEP_TEST_POSTGRES_URL", &postgres_url);
    run_command(&mut on_postgres)
}
