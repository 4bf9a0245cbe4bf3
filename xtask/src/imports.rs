//! The backend's floor plan, checked: which of `backend/src`'s files import which (`crate::…`
//! paths in code, not in comments), and the circles those imports make. docs/architecture.md promises
//! that no circle spans more than two files; the test below keeps it so (`cargo xtask test`
//! runs it with the workspace's tests).
//!
//! Hand-written rather than a crate: it only has to read `crate::` paths and `use crate::{…}`
//! groups, and find strongly connected components (Tarjan) in a graph of about sixty files.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Every `.rs` file under `src`, by its module path (`sessions::cache`; `lib.rs` is the empty
/// path; `main.rs` is left out, it is a binary of its own).
pub fn modules(src: &Path) -> BTreeMap<String, PathBuf> {
    let mut found = BTreeMap::new();
    let mut folders = vec![src.to_path_buf()];
    while let Some(folder) = folders.pop() {
        let Ok(entries) = std::fs::read_dir(&folder) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                folders.push(path);
                continue;
            }
            if path.extension().is_none_or(|e| e != "rs") {
                continue;
            }
            let relative = path.strip_prefix(src).expect("under src");
            let mut parts: Vec<String> = relative
                .with_extension("")
                .components()
                .map(|c| c.as_os_str().to_string_lossy().into_owned())
                .collect();
            match parts.last().map(String::as_str) {
                Some("main") if parts.len() == 1 => continue,
                Some("lib" | "mod") => {
                    parts.pop();
                }
                _ => {}
            }
            found.insert(parts.join("::"), path);
        }
    }
    found
}

/// The `crate::` paths a source text names outside comments, `use crate::{a, b::{c, d}}`
/// groups expanded.
pub fn crate_paths(text: &str) -> Vec<String> {
    let code: String = text
        .lines()
        .filter(|line| !line.trim_start().starts_with("//"))
        .collect::<Vec<_>>()
        .join("\n");
    let mut paths = Vec::new();
    let mut rest = code.as_str();
    while let Some(at) = rest.find("crate::") {
        let preceded = rest[..at]
            .chars()
            .next_back()
            .is_some_and(|c| c.is_alphanumeric() || c == '_');
        rest = &rest[at + "crate::".len()..];
        if !preceded {
            expand("", rest, &mut paths);
        }
    }
    paths
}

/// Reads one path (or group) at the start of `text` and pushes it, with `prefix`, to `out`.
fn expand(prefix: &str, text: &str, out: &mut Vec<String>) {
    let name_end = text
        .find(|c: char| !(c.is_alphanumeric() || c == '_' || c == ':'))
        .unwrap_or(text.len());
    let name = text[..name_end].trim_end_matches(':');
    let joined = match (prefix.is_empty(), name.is_empty()) {
        (true, _) => name.to_owned(),
        (false, true) => prefix.to_owned(),
        (false, false) => format!("{prefix}::{name}"),
    };
    if text[name_end..].starts_with('{') {
        let inner = &text[name_end + 1..];
        let mut depth = 0;
        let mut start = 0;
        for (i, c) in inner.char_indices() {
            match c {
                '{' => depth += 1,
                '}' if depth == 0 => {
                    expand(&joined, inner[start..i].trim(), out);
                    return;
                }
                '}' => depth -= 1,
                ',' if depth == 0 => {
                    expand(&joined, inner[start..i].trim(), out);
                    start = i + 1;
                }
                _ => {}
            }
        }
    } else if !joined.is_empty() {
        out.push(joined);
    }
}

/// The module (of `modules`) a path lands in: its longest prefix that is a file.
fn file_of<'a>(path: &str, modules: &'a BTreeMap<String, PathBuf>) -> Option<&'a str> {
    let parts: Vec<&str> = path.split("::").collect();
    (1..=parts.len())
        .rev()
        .map(|n| parts[..n].join("::"))
        .find_map(|candidate| modules.get_key_value(&candidate).map(|(k, _)| k.as_str()))
}

/// Which file imports which, by module path.
pub fn graph(src: &Path) -> BTreeMap<String, BTreeSet<String>> {
    let modules = modules(src);
    let mut edges: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (module, path) in &modules {
        let text = std::fs::read_to_string(path).unwrap_or_default();
        let targets = edges.entry(module.clone()).or_default();
        for named in crate_paths(&text) {
            if let Some(target) = file_of(&named, &modules)
                && target != module
                && !target.is_empty()
            {
                targets.insert(target.to_owned());
            }
        }
    }
    edges
}

/// The circles: strongly connected components of more than one file (Tarjan's algorithm).
pub fn circles(edges: &BTreeMap<String, BTreeSet<String>>) -> Vec<Vec<String>> {
    struct Walk<'a> {
        edges: &'a BTreeMap<String, BTreeSet<String>>,
        index: BTreeMap<&'a str, usize>,
        low: BTreeMap<&'a str, usize>,
        stack: Vec<&'a str>,
        on_stack: BTreeSet<&'a str>,
        next: usize,
        found: Vec<Vec<String>>,
    }
    impl<'a> Walk<'a> {
        fn visit(&mut self, node: &'a str) {
            self.index.insert(node, self.next);
            self.low.insert(node, self.next);
            self.next += 1;
            self.stack.push(node);
            self.on_stack.insert(node);
            for target in self.edges.get(node).into_iter().flatten() {
                let target = target.as_str();
                if !self.index.contains_key(target) {
                    self.visit(target);
                    let low = self.low[node].min(self.low[target]);
                    self.low.insert(node, low);
                } else if self.on_stack.contains(target) {
                    let low = self.low[node].min(self.index[target]);
                    self.low.insert(node, low);
                }
            }
            if self.low[node] == self.index[node] {
                let mut component = Vec::new();
                while let Some(top) = self.stack.pop() {
                    self.on_stack.remove(top);
                    component.push(top.to_owned());
                    if top == node {
                        break;
                    }
                }
                if component.len() > 1 {
                    component.sort();
                    self.found.push(component);
                }
            }
        }
    }
    let mut walk = Walk {
        edges,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        on_stack: BTreeSet::new(),
        next: 0,
        found: Vec::new(),
    };
    for node in edges.keys() {
        if !walk.index.contains_key(node.as_str()) {
            walk.visit(node);
        }
    }
    walk.found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_and_groups_are_read_outside_comments() {
        let text = "use crate::a::{self, b::{C, d}, e};\n// crate::commented\nlet x = crate::f::g();\nmycrate::h";
        assert_eq!(
            crate_paths(text),
            ["a::self", "a::b::C", "a::b::d", "a::e", "f::g"]
        );
    }

    #[test]
    fn a_circle_of_three_is_found() {
        let mut edges: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for (from, to) in [
            ("a", "b"),
            ("b", "c"),
            ("c", "a"),
            ("c", "d"),
            ("d", "e"),
            ("e", "d"),
        ] {
            edges.entry(from.into()).or_default().insert(to.into());
            edges.entry(to.into()).or_default();
        }
        let mut found = circles(&edges);
        found.sort();
        assert_eq!(found, [vec!["a", "b", "c"], vec!["d", "e"]]);
    }

    #[test]
    fn no_import_circle_in_the_backend_spans_more_than_two_files() {
        let src = crate::root().join("backend/src");
        let edges = graph(&src);
        assert!(edges.len() > 40, "read {} files", edges.len());
        let too_big: Vec<_> = circles(&edges)
            .into_iter()
            .filter(|circle| circle.len() > 2)
            .collect();
        assert!(
            too_big.is_empty(),
            "import circles over two files: {too_big:?}"
        );
    }
}
