//! The docs and the tests cannot drift apart: every rule in `docs/rules.md` names the tests
//! that prove it, and every test the docs name (in `docs/*.md` and `README.md`) exists.
//! `cargo xtask test` runs [`check`] before anything else and stops when it finds a problem.
//!
//! A test is named in backticks as `FILE::NAME` or `FILE::MODULE::NAME`, the file's path from
//! `backend/` or from the repository's root: `tests/api/guards.rs::one_turn_per_key`,
//! `src/limits/policy.rs::tests::waits_are_bounded_and_shrink`,
//! `shared/src/input.rs::tests::password_limits`. It exists when the file has each module
//! named (`mod tests`), a function of that name with a test attribute (`#[test]`,
//! `#[tokio::test…]`) right above it, and, for an integration test file
//! (`tests/DIR/FILE.rs`), when `tests/DIR/main.rs` declares `mod FILE;`, so that it runs.
//!
//! A rule is a top-level bullet of `docs/rules.md` whose first words are bold (`- **…**`),
//! with its indented continuation lines. The rules under the heading
//! [`UNPROVEN_HEADING`] are exempt: that list says plainly that no test proves them yet.

use std::path::Path;

/// The heading of the section in `docs/rules.md` that lists the rules without a test.
pub const UNPROVEN_HEADING: &str = "## Not yet proven by a test";

/// Checks `docs/rules.md` and every test named in the docs; the error lists each problem.
pub fn check(root: &Path) -> Result<(), String> {
    let rules = std::fs::read_to_string(root.join("docs/rules.md"))
        .map_err(|e| format!("cannot read docs/rules.md: {e}"))?;
    let mut problems = unproven_rules(&rules);
    let mut documents = vec![("docs/rules.md".to_owned(), rules)];
    let mut others: Vec<_> = std::fs::read_dir(root.join("docs"))
        .map_err(|e| format!("cannot read docs/: {e}"))?
        .flatten()
        .map(|entry| entry.path())
        .filter(|path| path.extension().is_some_and(|e| e == "md"))
        .filter(|path| !path.ends_with("rules.md"))
        .collect();
    others.sort();
    others.push(root.join("README.md"));
    for path in others {
        let text = std::fs::read_to_string(&path)
            .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        let shown = path
            .strip_prefix(root)
            .unwrap_or(&path)
            .display()
            .to_string();
        documents.push((shown, text));
    }
    for (document, text) in &documents {
        for reference in references(text) {
            if let Err(problem) = find_test(root, reference) {
                problems.push(format!("{document} names `{reference}`: {problem}"));
            }
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        let count = match problems.len() {
            1 => "1 problem".to_owned(),
            n => format!("{n} problems"),
        };
        Err(format!(
            "the docs and the tests disagree ({count}):\n  {}",
            problems.join("\n  ")
        ))
    }
}

/// The rules of `rules.md` (outside [`UNPROVEN_HEADING`]) that name no test, by their bold
/// title.
fn unproven_rules(rules: &str) -> Vec<String> {
    let mut problems = Vec::new();
    let mut exempt = false;
    let mut rule: Option<String> = None;
    let mut finish = |rule: &mut Option<String>, exempt: bool| {
        if let Some(text) = rule.take()
            && !exempt
            && references(&text).is_empty()
        {
            let title = text
                .strip_prefix("- **")
                .and_then(|rest| rest.split("**").next())
                .unwrap_or(&text);
            problems.push(format!("docs/rules.md: the rule \"{title}\" names no test"));
        }
    };
    for line in rules.lines() {
        if line.starts_with("  ")
            && let Some(text) = rule.as_mut()
        {
            text.push(' ');
            text.push_str(line.trim());
            continue;
        }
        finish(&mut rule, exempt);
        if line.starts_with("## ") {
            exempt = line.trim_end() == UNPROVEN_HEADING;
        } else if line.starts_with("- **") {
            rule = Some(line.to_owned());
        }
    }
    finish(&mut rule, exempt);
    problems
}

/// Every test reference in backticks in `text` (see the module's doc for the form).
fn references(text: &str) -> Vec<&str> {
    let ticks: Vec<usize> = text.match_indices('`').map(|(at, _)| at).collect();
    let mut found = Vec::new();
    let mut i = 0;
    while i + 1 < ticks.len() {
        let candidate = &text[ticks[i] + 1..ticks[i + 1]];
        if is_reference(candidate) {
            found.push(candidate);
            i += 2;
        } else {
            i += 1;
        }
    }
    found
}

fn is_reference(candidate: &str) -> bool {
    let Some((file, path)) = candidate.split_once(".rs::") else {
        return false;
    };
    let word = |s: &str| !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    !file.is_empty()
        && file
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_/-.".contains(c))
        && path.split("::").all(word)
}

/// Whether the test `reference` names exists under `root`; else what is wrong.
fn find_test(root: &Path, reference: &str) -> Result<(), String> {
    let (file, path) = reference.split_once(".rs::").expect("a reference");
    let file = format!("{file}.rs");
    let candidates = [root.join(&file), root.join("backend").join(&file)];
    let Some(found) = candidates.iter().find(|path| path.is_file()) else {
        return Err(format!(
            "there is no file {file} (from the root or backend/)"
        ));
    };
    let source = std::fs::read_to_string(found).map_err(|e| e.to_string())?;
    let mut parts: Vec<&str> = path.split("::").collect();
    let name = parts.pop().expect("at least one part");
    for module in parts {
        if !source.contains(&format!("mod {module} "))
            && !source.contains(&format!("mod {module};"))
        {
            return Err(format!("{file} has no module `{module}`"));
        }
    }
    if !has_test_function(&source, name) {
        return Err(format!("{file} has no test function `{name}`"));
    }
    // An integration test file runs only when its folder's main.rs declares it.
    let in_backend = found.strip_prefix(root.join("backend")).unwrap_or(found);
    let parts: Vec<_> = in_backend.components().collect();
    if parts.len() == 3 && parts[0].as_os_str() == "tests" {
        let stem = found.file_stem().expect("a file").to_string_lossy();
        let main = found.with_file_name("main.rs");
        if stem != "main" {
            let declared = std::fs::read_to_string(&main).unwrap_or_default();
            if !declared
                .lines()
                .any(|line| line.trim().trim_start_matches("pub ") == format!("mod {stem};"))
            {
                return Err(format!(
                    "{} does not declare `mod {stem};`, so the test never runs",
                    main.strip_prefix(root).unwrap_or(&main).display()
                ));
            }
        }
    }
    Ok(())
}

/// Whether `source` has `fn NAME(` (or `async fn`) with a test attribute among the attribute
/// lines right above it.
fn has_test_function(source: &str, name: &str) -> bool {
    let lines: Vec<&str> = source.lines().collect();
    lines.iter().enumerate().any(|(at, line)| {
        let line = line.trim_start();
        let declares = [format!("fn {name}("), format!("async fn {name}(")]
            .iter()
            .any(|start| line.starts_with(start.as_str()));
        declares
            && lines[..at]
                .iter()
                .rev()
                .map(|line| line.trim())
                .take_while(|line| line.starts_with("#[") || line.starts_with("//"))
                .any(|line| line.starts_with("#[test]") || line.starts_with("#[tokio::test"))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_docs_name_only_tests_that_exist() {
        check(&crate::root()).unwrap();
    }

    #[test]
    fn a_missing_test_or_a_rule_without_one_is_caught() {
        let root = tempfile_root();
        let write = |path: &str, text: &str| {
            let path = root.join(path);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, text).unwrap();
        };
        write("backend/tests/api/main.rs", "mod guards;\n");
        write(
            "backend/tests/api/guards.rs",
            "#[tokio::test(flavor = \"multi_thread\")]\n// why\nasync fn holds() {}\n\nfn helper() {}\n",
        );
        write(
            "backend/src/limits.rs",
            "#[cfg(test)]\nmod tests {\n    #[test]\n    fn pure() {}\n}\n",
        );
        write("README.md", "See `tests/api/guards.rs::holds`.\n");
        let good = "# Rules\n\n- **Bursts**: none.\n  Tests: `tests/api/guards.rs::holds`,\n  `backend/src/limits.rs::tests::pure`.\n\n## Not yet proven by a test\n\n- **Later**: no test.\n";
        write("docs/rules.md", good);
        check(&root).unwrap();

        for (rules, expected) in [
            (
                good.replace("::holds`", "::gone`"),
                "names `tests/api/guards.rs::gone`: tests/api/guards.rs has no test function `gone`",
            ),
            (
                good.replace("::holds`", "::helper`"),
                "has no test function `helper`",
            ),
            (
                good.replace("::tests::pure`", "::checks::pure`"),
                "has no module `checks`",
            ),
            (
                good.replace("guards.rs::holds", "throttle.rs::holds"),
                "there is no file tests/api/throttle.rs",
            ),
            (
                good.replace("  Tests: `tests/api/guards.rs::holds`,\n  `backend/src/limits.rs::tests::pure`.\n", ""),
                "the rule \"Bursts\" names no test",
            ),
        ] {
            write("docs/rules.md", &rules);
            let error = check(&root).unwrap_err();
            assert!(error.contains(expected), "{expected:?} not in {error}");
        }

        write("docs/rules.md", good);
        write("backend/tests/api/main.rs", "mod other;\n");
        let error = check(&root).unwrap_err();
        assert!(error.contains("does not declare `mod guards;`"), "{error}");
        std::fs::remove_dir_all(&root).unwrap();
    }

    /// A fresh folder of its own under the system's temporary folder.
    fn tempfile_root() -> std::path::PathBuf {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos();
        let root = std::env::temp_dir().join(format!(
            "twostep-rules-check-{}-{nanos}",
            std::process::id()
        ));
        std::fs::create_dir_all(root.join("docs")).unwrap();
        root
    }
}
