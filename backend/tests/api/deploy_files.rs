//! `docs/twostep.service`: the unit has the keys `docs/operations.md` promises,
//! `operations.md` shows it as it is, and `systemd-analyze verify` accepts it (when systemd-analyze is
//! installed) with `ExecStart` pointed at the binary just built.

use std::collections::HashMap;
use std::path::Path;
use std::process::Command;

const DOCS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../docs");
const INSTALLED_BINARY: &str = "/usr/local/bin/twostep";

fn unit_text() -> String {
    std::fs::read_to_string(Path::new(DOCS).join("twostep.service")).expect("the unit file")
}

/// Section name → key → every value given (a key may repeat).
type Unit = HashMap<String, HashMap<String, Vec<String>>>;

fn parse(text: &str) -> Unit {
    let mut unit = Unit::new();
    let mut section = None;
    for (number, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') || line.starts_with(';') {
            continue;
        }
        if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            section = Some(name.to_owned());
            unit.entry(name.to_owned()).or_default();
            continue;
        }
        let (key, value) = line
            .split_once('=')
            .unwrap_or_else(|| panic!("line {}: not KEY=VALUE: {line}", number + 1));
        let section = section
            .as_ref()
            .unwrap_or_else(|| panic!("line {}: outside a section", number + 1));
        unit.get_mut(section)
            .expect("section")
            .entry(key.trim().to_owned())
            .or_default()
            .push(value.trim().to_owned());
    }
    unit
}

#[test]
fn the_unit_runs_the_server_hardened_in_its_state_folder() {
    let unit = parse(&unit_text());
    let service = &unit["Service"];
    let value = |key: &str| {
        service
            .get(key)
            .unwrap_or_else(|| panic!("[Service] has no {key}"))
            .join(" ")
    };
    let exec = value("ExecStart");
    assert!(exec.starts_with(INSTALLED_BINARY), "{exec}");
    assert!(
        exec.contains("--data-dir /var/lib/twostep") && exec.ends_with(" serve"),
        "{exec}"
    );
    for (key, expected) in [
        ("DynamicUser", "yes"),
        ("StateDirectory", "twostep"),
        ("NoNewPrivileges", "yes"),
        ("ProtectSystem", "strict"),
        ("ProtectHome", "yes"),
        ("PrivateTmp", "yes"),
        ("PrivateDevices", "yes"),
        ("RestrictAddressFamilies", "AF_INET AF_INET6 AF_UNIX"),
        ("SystemCallFilter", "@system-service"),
        ("MemoryDenyWriteExecute", "yes"),
        ("EnvironmentFile", "-/etc/twostep/twostep.env"),
    ] {
        assert_eq!(value(key), expected, "[Service] {key}");
    }
    assert_eq!(unit["Install"]["WantedBy"], ["multi-user.target"]);
    assert!(unit["Unit"].contains_key("Description"));
}

#[test]
fn operations_md_shows_the_unit_file_as_it_is() {
    let guide =
        std::fs::read_to_string(Path::new(DOCS).join("operations.md")).expect("operations.md");
    assert!(
        guide.contains(&unit_text()),
        "operations.md differs from twostep.service"
    );
    for name in [
        "TWOSTEP_TRUSTED_PROXIES",
        "TWOSTEP_PUBLIC_URL",
        "/api/ready",
    ] {
        assert!(
            guide.contains(name),
            "operations.md does not mention {name}"
        );
    }
}

#[test]
fn systemd_analyze_accepts_the_unit() {
    let Ok(found) = Command::new("systemd-analyze").arg("--version").output() else {
        eprintln!("systemd-analyze is not installed: only the keys were checked");
        return;
    };
    assert!(found.status.success());
    let dir = tempfile::tempdir().expect("temporary folder");
    let unit = dir.path().join("twostep.service");
    let text = unit_text().replace(INSTALLED_BINARY, env!("CARGO_BIN_EXE_twostep"));
    std::fs::write(&unit, text).expect("write the unit");
    let output = Command::new("systemd-analyze")
        .args(["verify", "--man=no"])
        .arg(&unit)
        .output()
        .expect("run systemd-analyze");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    assert!(
        !stderr.contains("twostep.service"),
        "systemd-analyze complains about the unit: {stderr}"
    );
}
