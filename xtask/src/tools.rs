//! Installing the tools the frontend build and the browser tests need, each only when it is
//! missing or of the wrong version: the wasm32 target, trunk 0.21.14, wasm-bindgen-cli of the
//! version in Cargo.lock, wasm-opt from the npm package binaryen, the JS minifier (the npm
//! package terser: trunk 0.21's own cannot read wasm-bindgen's module), Debian's Chromium, the
//! test identity provider (the npm package oidc-provider, pinned in `xtask/oidc-provider`), and
//! the accessibility checker the browser tests inject (the npm package axe-core).

use crate::{cargo, root, run_command, step};
use std::path::{Path, PathBuf};
use std::process::Command;

const TRUNK_VERSION: &str = "0.21.14";
const BINARYEN_VERSION: &str = "132";
const TERSER_VERSION: &str = "5.51.4";
const AXE_CORE_VERSION: &str = "4.14.1";

/// Where the tools are and the PATH to give trunk.
pub struct ToolEnv {
    pub trunk: PathBuf,
    pub path: String,
    /// wasm-opt, run on trunk's output (see `shrink.rs`).
    pub wasm_opt: PathBuf,
    /// The JS minifier run on trunk's output.
    pub terser: PathBuf,
}

fn home() -> PathBuf {
    std::env::var_os("HOME").map_or_else(|| PathBuf::from("/root"), PathBuf::from)
}

fn cargo_bin() -> PathBuf {
    std::env::var_os("CARGO_HOME")
        .map_or_else(|| home().join(".cargo"), PathBuf::from)
        .join("bin")
}

/// The first line a tool prints for `--version`, if it runs.
fn version_of(program: &Path, flag: &str) -> Option<String> {
    let output = Command::new(program).arg(flag).output().ok()?;
    output.status.success().then(|| {
        String::from_utf8_lossy(&output.stdout)
            .lines()
            .next()
            .unwrap_or("")
            .to_owned()
    })
}

fn wasm_bindgen_version_in_lock() -> Result<String, String> {
    let lock = std::fs::read_to_string(root().join("Cargo.lock"))
        .map_err(|e| format!("Cargo.lock: {e}"))?;
    let mut lines = lock.lines();
    while let Some(line) = lines.next() {
        if line == "name = \"wasm-bindgen\""
            && let Some(version) = lines.next().and_then(|l| l.strip_prefix("version = \""))
        {
            return Ok(version.trim_end_matches('"').to_owned());
        }
    }
    Err("Cargo.lock has no wasm-bindgen entry".to_owned())
}

/// Makes sure the frontend can be built; returns how to call trunk.
pub fn ensure_frontend_tools() -> Result<ToolEnv, String> {
    let installed = Command::new("rustup")
        .args(["target", "list", "--installed"])
        .output()
        .map_err(|e| format!("cannot run rustup: {e}"))?;
    if !String::from_utf8_lossy(&installed.stdout).contains("wasm32-unknown-unknown") {
        step("Adding the Rust target wasm32-unknown-unknown (one time)");
        run_command(Command::new("rustup").args(["target", "add", "wasm32-unknown-unknown"]))?;
    }

    let bin = cargo_bin();
    let trunk = bin.join("trunk");
    if version_of(&trunk, "--version").as_deref() != Some(&format!("trunk {TRUNK_VERSION}")) {
        step(&format!(
            "Installing trunk {TRUNK_VERSION} (one time; about 17 minutes on 2 cores)"
        ));
        run_command(cargo().args(["install", "--locked", "trunk", "--version", TRUNK_VERSION]))?;
    }

    let bindgen_version = wasm_bindgen_version_in_lock()?;
    if version_of(&bin.join("wasm-bindgen"), "--version").as_deref()
        != Some(&format!("wasm-bindgen {bindgen_version}"))
    {
        step(&format!(
            "Installing wasm-bindgen-cli {bindgen_version} to match Cargo.lock (one time; about 4 minutes)"
        ));
        // Not --locked: its lock file names a crate version the registry no longer has.
        run_command(cargo().args(["install", "wasm-bindgen-cli", "--version", &bindgen_version]))?;
    }

    let binaryen = home().join(".cache/twostep/binaryen");
    let wasm_opt = binaryen.join("node_modules/.bin/wasm-opt");
    let wanted = format!("version {BINARYEN_VERSION}");
    if !version_of(&wasm_opt, "--version").is_some_and(|v| v.contains(&wanted)) {
        npm_install(
            &binaryen,
            &format!("binaryen@{BINARYEN_VERSION}"),
            "wasm-opt",
        )?;
    }

    let terser_dir = home().join(".cache/twostep/terser");
    let terser = terser_dir.join("node_modules/.bin/terser");
    if !version_of(&terser, "--version").is_some_and(|v| v.contains(TERSER_VERSION)) {
        npm_install(
            &terser_dir,
            &format!("terser@{TERSER_VERSION}"),
            "the JS minifier",
        )?;
    }

    // Trunk finds wasm-bindgen and wasm-opt on PATH; ours come first.
    let old_path = std::env::var("PATH").unwrap_or_default();
    let path = format!(
        "{}:{}:{old_path}",
        binaryen.join("node_modules/.bin").display(),
        bin.display()
    );
    Ok(ToolEnv {
        trunk,
        path,
        wasm_opt,
        terser,
    })
}

/// Installs the npm package `spec` (`name@version`) into `dir`, a folder of its own, with a
/// progress line naming `what`; installs Debian's nodejs and npm first when npm is missing.
fn npm_install(dir: &Path, spec: &str, what: &str) -> Result<(), String> {
    if Command::new("npm").arg("--version").output().is_err() {
        apt_install(&["nodejs", "npm"])?;
    }
    step(&format!("Installing {what} (npm {spec}, one time)"));
    std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    run_command(
        Command::new("npm")
            .args(["install", "--no-audit", "--no-fund", "--prefix"])
            .arg(dir)
            .arg(spec),
    )
}

/// Makes sure the test identity provider's packages are installed: `npm ci` in
/// `xtask/oidc-provider` (from its lock file) when the installed `oidc-provider` is missing or
/// not the version its `package.json` pins.
pub fn ensure_test_identity_provider() -> Result<(), String> {
    let dir = root().join("xtask/oidc-provider");
    let manifest = std::fs::read_to_string(dir.join("package.json"))
        .map_err(|e| format!("xtask/oidc-provider/package.json: {e}"))?;
    let pinned = pinned_version(&manifest, "oidc-provider")
        .ok_or("xtask/oidc-provider/package.json pins no oidc-provider version")?;
    let installed = std::fs::read_to_string(dir.join("node_modules/oidc-provider/package.json"))
        .ok()
        .and_then(|text| pinned_version(&text, "version"));
    if installed.as_deref() == Some(pinned.as_str()) {
        return Ok(());
    }
    if Command::new("npm").arg("--version").output().is_err() {
        apt_install(&["nodejs", "npm"])?;
    }
    step(&format!(
        "Installing the test identity provider (npm oidc-provider@{pinned}, one time; seconds)"
    ));
    run_command(
        Command::new("npm")
            .args(["ci", "--no-audit", "--no-fund", "--prefix"])
            .arg(&dir),
    )
}

/// The string value of `"key": "value"` in a small JSON file (package.json).
fn pinned_version(json: &str, key: &str) -> Option<String> {
    let after = &json[json.find(&format!("\"{key}\""))? + key.len() + 2..];
    let value = after
        .trim_start()
        .strip_prefix(':')?
        .trim_start()
        .strip_prefix('"')?;
    Some(value[..value.find('"')?].to_owned())
}

/// Makes sure axe-core is installed (`npm install axe-core@AXE_CORE_VERSION` into the user's
/// cache, when that version is not there yet); returns the path of its `axe.min.js`, which the
/// browser tests inject into each screen.
pub fn ensure_axe_core() -> Result<PathBuf, String> {
    let dir = home().join(".cache/twostep/axe-core");
    let package = dir.join("node_modules/axe-core");
    let installed = std::fs::read_to_string(package.join("package.json"))
        .ok()
        .and_then(|text| pinned_version(&text, "version"));
    if installed.as_deref() != Some(AXE_CORE_VERSION) {
        npm_install(
            &dir,
            &format!("axe-core@{AXE_CORE_VERSION}"),
            "the accessibility checker",
        )?;
    }
    let script = package.join("axe.min.js");
    if !script.is_file() {
        return Err(format!("{} is missing after the install", script.display()));
    }
    Ok(script)
}

/// Makes sure headless Chromium and its WebDriver are installed (Debian packages).
pub fn ensure_chromium() -> Result<(), String> {
    if Path::new("/usr/bin/chromium").exists() && Path::new("/usr/bin/chromedriver").exists() {
        return Ok(());
    }
    apt_install(&["chromium", "chromium-driver"])
}

/// Makes sure the mail tests' SMTP server is installed: Debian's `python3-aiosmtpd`, run by
/// Debian's own Python (`/usr/bin/python3`; a `python3` earlier on PATH, such as a pyenv
/// shim, may not see Debian's packages).
pub fn ensure_test_mail_server() -> Result<(), String> {
    let installed = Command::new("/usr/bin/python3")
        .args(["-c", "import aiosmtpd"])
        .output()
        .is_ok_and(|o| o.status.success());
    if installed {
        return Ok(());
    }
    apt_install(&["python3-aiosmtpd"])
}

pub(crate) fn apt_install(packages: &[&str]) -> Result<(), String> {
    let is_root = Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0");
    if !is_root {
        return Err(format!(
            "{} missing; install them as root: apt-get update && apt-get install -y {}",
            packages.join(", "),
            packages.join(" ")
        ));
    }
    step(&format!(
        "Installing {} with apt-get (one time; a few minutes)",
        packages.join(", ")
    ));
    // The package lists are fetched once per command, however many installs it makes.
    static UPDATED: std::sync::OnceLock<()> = std::sync::OnceLock::new();
    if UPDATED.get().is_none() {
        run_command(Command::new("apt-get").arg("update"))?;
        let _ = UPDATED.set(());
    }
    run_command(
        Command::new("apt-get")
            .args(["install", "-y", "--no-install-recommends"])
            .args(packages)
            .env("DEBIAN_FRONTEND", "noninteractive"),
    )
}
