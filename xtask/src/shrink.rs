//! After trunk, the app's two code files are made smaller, in this order:
//!
//! 1. wasm-opt on the WebAssembly (flags in [`WASM_OPT_FLAGS`]), ending with binaryen's
//!    `minify-imports-and-exports-and-modules` pass: the names on the boundary between the
//!    WebAssembly and wasm-bindgen's JS (about 130 imports such as
//!    `__wbg_addEventListener_f2d27251d333a631`, each with a hash that does not compress)
//!    become one or two letters. The pass prints the old and new names.
//! 2. The same names in the JS, from that list: each import's key in the JS's import object,
//!    the module's name, and each `wasm.<export>`. A name that is not found as expected stops
//!    the build with a message, rather than leaving an app that cannot start.
//! 3. terser on the JS (trunk 0.21's own JS minifier cannot read wasm-bindgen's module).
//! 4. wasm-opt again, only to put the functions in an order that compresses better
//!    ([`crate::function_order`]; 1.6 kB less brotli for the same code).
//!
//! Together 5.9 kB less brotli than trunk's own `wasm-opt -Oz` and the JS as wasm-bindgen
//! wrote it (113.6 kB for the two files then, 107.7 kB now; BENCHMARKS.md has the sizes). Trunk itself runs no wasm-opt
//! (`data-wasm-opt="0"` in index.html), so the flags are all here, and the pass's list of names
//! describes the file that is served.

use crate::tools::ToolEnv;
use crate::{root, step};
use std::path::{Path, PathBuf};
use std::process::Command;

/// wasm-opt's flags, in order (the last is the renaming):
/// - `--low-memory-unused`: wasm-opt may assume the lowest 1 KiB of memory is never read or
///   written (smaller loads and stores); Rust puts its 1 MiB stack first, so those addresses
///   are only reached by a stack overflow;
/// - `--flatten --rereloop`: the control flow taken apart and rebuilt (binaryen's Relooper),
///   which lets the size passes after it find about 0.6 kB more (brotli) than `-Oz` alone;
/// - `--one-caller-inline-max-function-size=15`: a function called from one place only is
///   inlined there only when it is small (binaryen's default inlines every such function,
///   whatever its size): the file grows a little but brotli makes it 0.8 kB smaller; with
///   the functions reordered afterwards (step 4) 15 came out best: 5, 10, 20, 30 and 60 were
///   0.1 to 0.2 kB worse (before the reordering, 30 was best);
/// - `-Oz -Oz`: smallest code; the second round still finds some;
/// - `--strip-producers`: the "producers" section (which compilers made the file) is left
///   out; the browser does not read it.
const WASM_OPT_FLAGS: [&str; 8] = [
    "--low-memory-unused",
    "--flatten",
    "--rereloop",
    "--one-caller-inline-max-function-size=15",
    "-Oz",
    "-Oz",
    "--strip-producers",
    "--minify-imports-and-exports-and-modules",
];

/// Shrinks the app's `*_bg.wasm` and its JS in `dist` (see the module's doc).
pub fn shrink(env: &ToolEnv, dist: &Path) -> Result<(), String> {
    step(
        "Optimising the app's WebAssembly (wasm-opt -Oz, short boundary names) and its JS (terser)",
    );
    let (wasm, js) = app_files(dist)?;
    let output = Command::new(&env.wasm_opt)
        .args(WASM_OPT_FLAGS)
        .arg(&wasm)
        .arg("-o")
        .arg(&wasm)
        .current_dir(root())
        .output()
        .map_err(|e| format!("cannot run {}: {e}", env.wasm_opt.display()))?;
    if !output.status.success() {
        return Err(format!(
            "wasm-opt failed on {} ({}): {}",
            wasm.display(),
            output.status,
            String::from_utf8_lossy(&output.stderr)
        ));
    }
    let renames = Renames::parse(&String::from_utf8_lossy(&output.stdout))?;
    let text = std::fs::read_to_string(&js).map_err(|e| format!("{}: {e}", js.display()))?;
    let text = renames
        .apply(&text)
        .map_err(|e| format!("{}: {e}", js.display()))?;
    std::fs::write(&js, text).map_err(|e| format!("{}: {e}", js.display()))?;
    crate::run_command(
        Command::new(&env.terser)
            .arg(&js)
            .args(["--module", "--compress", "--mangle", "--output"])
            .arg(&js),
    )?;
    reorder_functions(env, &wasm)
}

/// Puts the functions of `wasm` in the order [`crate::function_order`] chooses: names them
/// by their place, and lets binaryen move them and drop the names. The optimisation levels
/// only tell binaryen to write the code as compactly as the first run did (its "stack IR");
/// no optimisation pass runs.
fn reorder_functions(env: &ToolEnv, wasm: &Path) -> Result<(), String> {
    let mut bytes = std::fs::read(wasm).map_err(|e| format!("{}: {e}", wasm.display()))?;
    let names = crate::function_order::order_names(&bytes)
        .map_err(|e| format!("{}: {e}", wasm.display()))?;
    bytes.extend_from_slice(&names);
    let named = wasm.with_extension("named.wasm");
    std::fs::write(&named, &bytes).map_err(|e| format!("{}: {e}", named.display()))?;
    let result = crate::run_command(
        Command::new(&env.wasm_opt)
            .arg(&named)
            .args([
                "--optimize-level=2",
                "--shrink-level=2",
                "--reorder-functions-by-name",
                "--strip-debug",
                "-o",
            ])
            .arg(wasm),
    );
    let _ = std::fs::remove_file(&named);
    result
}

/// The one `NAME_bg.wasm` in `dist` and its `NAME.js`.
fn app_files(dist: &Path) -> Result<(PathBuf, PathBuf), String> {
    let entries = std::fs::read_dir(dist).map_err(|e| format!("{}: {e}", dist.display()))?;
    let mut wasm = Vec::new();
    for entry in entries {
        let path = entry.map_err(|e| e.to_string())?.path();
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
        if let Some(stem) = name.strip_suffix("_bg.wasm") {
            wasm.push((path.clone(), dist.join(format!("{stem}.js"))));
        }
    }
    match wasm.as_slice() {
        [(wasm, js)] if js.is_file() => Ok((wasm.clone(), js.clone())),
        [(_, js)] => Err(format!("{} is missing", js.display())),
        _ => Err(format!(
            "expected one *_bg.wasm in {}, found {}",
            dist.display(),
            wasm.len()
        )),
    }
}

/// The renaming wasm-opt did, from the list it prints.
#[derive(Debug, PartialEq)]
struct Renames {
    /// (module, old name, new name) of each import.
    imports: Vec<(String, String, String)>,
    /// (old name, new name) of each export.
    exports: Vec<(String, String)>,
}

/// The module every import comes from after the pass (binaryen merges them into this one).
const MODULE: &str = "a";

impl Renames {
    /// Reads wasm-opt's list: `{"imports": [[module, old, new], …], "exports": [[old, new], …]}`.
    fn parse(printed: &str) -> Result<Self, String> {
        let bad = |what: &str| format!("wasm-opt's list of new names: {what}");
        let value: serde_json::Value =
            serde_json::from_str(printed).map_err(|e| bad(&e.to_string()))?;
        let rows = |key: &str, width: usize| -> Result<Vec<Vec<String>>, String> {
            let rows = value[key]
                .as_array()
                .ok_or_else(|| bad(&format!("no {key}")))?;
            rows.iter()
                .map(|row| {
                    let cells: Option<Vec<String>> = row
                        .as_array()
                        .filter(|cells| cells.len() == width)
                        .map(|cells| {
                            cells
                                .iter()
                                .filter_map(|c| c.as_str().map(str::to_owned))
                                .collect()
                        });
                    cells
                        .filter(|cells| cells.len() == width)
                        .ok_or_else(|| bad(&format!("a row of {key} is not {width} strings")))
                })
                .collect()
        };
        let imports = rows("imports", 3)?
            .into_iter()
            .map(|mut row| {
                let new = row.pop().unwrap_or_default();
                let old = row.pop().unwrap_or_default();
                let module = row.pop().unwrap_or_default();
                (module, old, new)
            })
            .collect();
        let exports = rows("exports", 2)?
            .into_iter()
            .map(|mut row| {
                let new = row.pop().unwrap_or_default();
                let old = row.pop().unwrap_or_default();
                (old, new)
            })
            .collect();
        Ok(Renames { imports, exports })
    }

    /// The JS with the new names. wasm-bindgen's JS names each import once, as a key of its
    /// import object, and the module once, as a quoted key; it reaches exports as `wasm.name`.
    fn apply(&self, js: &str) -> Result<String, String> {
        let mut js = js.to_owned();
        for (_, old, new) in &self.imports {
            let (renamed, found) = replace_name(&js, old, new, "");
            if found != 1 {
                return Err(format!("the import {old} is named {found} times, not once"));
            }
            js = renamed;
        }
        // Binaryen merges every module into one; the JS has one import object, so one module.
        let mut modules: Vec<&str> = self.imports.iter().map(|(m, _, _)| m.as_str()).collect();
        modules.sort_unstable();
        modules.dedup();
        if modules.len() > 1 {
            return Err(format!("imports from {} modules, not one", modules.len()));
        }
        if let [module] = modules[..] {
            let quoted = format!("\"{module}\"");
            let found = js.matches(&quoted).count();
            if found != 1 {
                return Err(format!(
                    "the module {quoted} is named {found} times, not once"
                ));
            }
            js = js.replace(&quoted, &format!("\"{MODULE}\""));
        }
        for (old, new) in &self.exports {
            js = replace_name(&js, old, new, "wasm.").0;
        }
        Ok(js)
    }
}

/// Replaces `prefix` + `old` by `prefix` + `new` where `old` is a whole JS name (no letter,
/// digit, `_` or `$` right before or after it); returns the text and how many were replaced.
fn replace_name(text: &str, old: &str, new: &str, prefix: &str) -> (String, usize) {
    let is_name_char = |c: char| c.is_ascii_alphanumeric() || c == '_' || c == '$';
    let wanted = format!("{prefix}{old}");
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    let mut found = 0;
    while let Some(at) = rest.find(&wanted) {
        let before = rest[..at].chars().last().or_else(|| out.chars().last());
        let after = rest[at + wanted.len()..].chars().next();
        out.push_str(&rest[..at]);
        let whole = !before.is_some_and(is_name_char) && !after.is_some_and(is_name_char);
        if whole {
            out.push_str(prefix);
            out.push_str(new);
            found += 1;
        } else {
            out.push_str(&wanted);
        }
        rest = &rest[at + wanted.len()..];
    }
    out.push_str(rest);
    (out, found)
}

#[cfg(test)]
mod tests {
    use super::*;

    const PRINTED: &str = r#"{
 "imports": [
  ["./app_bg.js", "__wbg_body_5f971cbc6950ca4f", "$"],
  ["./app_bg.js", "__wbg_now_2c95c9de01293173", "b"]
 ],
"exports": [
  ["memory", "c"],
  ["__wbindgen_malloc", "d"]
 ]
}
"#;

    #[test]
    fn reads_the_list_wasm_opt_prints() {
        let renames = Renames::parse(PRINTED).unwrap();
        assert_eq!(renames.imports.len(), 2);
        assert_eq!(
            renames.imports[0],
            (
                "./app_bg.js".into(),
                "__wbg_body_5f971cbc6950ca4f".into(),
                "$".into()
            )
        );
        assert_eq!(renames.exports[1], ("__wbindgen_malloc".into(), "d".into()));
        assert!(Renames::parse("{\"imports\": [[\"m\", \"x\"]], \"exports\": []}").is_err());
        assert!(Renames::parse("not json").is_err());
    }

    #[test]
    fn renames_imports_the_module_and_exports_in_the_js() {
        let js = "const import0 = { __wbg_body_5f971cbc6950ca4f: function(a) { return a.body; },\n\
                  __wbg_now_2c95c9de01293173: function() { return Date.now(); } };\n\
                  return { \"./app_bg.js\": import0 };\n\
                  wasm.memory.buffer; wasm.__wbindgen_malloc(1); wasm.__wbindgen_malloc_x; memory;";
        let out = Renames::parse(PRINTED).unwrap().apply(js).unwrap();
        assert!(out.contains("{ $: function(a)"), "{out}");
        assert!(out.contains("b: function()"), "{out}");
        assert!(out.contains("{ \"a\": import0 }"), "{out}");
        assert!(
            out.contains("wasm.c.buffer; wasm.d(1); wasm.__wbindgen_malloc_x; memory;"),
            "{out}"
        );
    }

    #[test]
    fn an_import_not_named_once_stops_the_build() {
        let renames = Renames::parse(PRINTED).unwrap();
        let missing = "return { \"./app_bg.js\": {} };";
        assert!(
            renames
                .apply(missing)
                .unwrap_err()
                .contains("named 0 times")
        );
        let twice = "__wbg_body_5f971cbc6950ca4f __wbg_body_5f971cbc6950ca4f \
                     __wbg_now_2c95c9de01293173 \"./app_bg.js\"";
        assert!(renames.apply(twice).unwrap_err().contains("named 2 times"));
        let two_modules = Renames::parse(&PRINTED.replacen("./app_bg.js", "./snippet.js", 1))
            .unwrap()
            .apply("__wbg_body_5f971cbc6950ca4f __wbg_now_2c95c9de01293173")
            .unwrap_err();
        assert!(two_modules.contains("2 modules"), "{two_modules}");
    }
}
