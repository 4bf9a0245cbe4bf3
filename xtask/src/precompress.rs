//! Writes `FILE.br` (brotli, quality 11) beside each `.wasm`, `.js`, `.css` and `.html` file in
//! `dist/`,
//! so the server sends the smallest form without compressing on every request.

use std::io::Write;
use std::path::Path;

pub fn precompress(dist: &Path) -> Result<(), String> {
    let entries = std::fs::read_dir(dist).map_err(|e| format!("{}: {e}", dist.display()))?;
    for entry in entries {
        let path = entry.map_err(|e| e.to_string())?.path();
        let wanted = path
            .extension()
            .and_then(|e| e.to_str())
            .is_some_and(|e| matches!(e, "wasm" | "js" | "css" | "html"));
        if !wanted {
            continue;
        }
        let raw = std::fs::read(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        let mut compressed = Vec::new();
        {
            let mut writer = brotli::CompressorWriter::new(&mut compressed, 64 * 1024, 11, 22);
            writer.write_all(&raw).map_err(|e| e.to_string())?;
        }
        let mut target = path.clone().into_os_string();
        target.push(".br");
        std::fs::write(&target, compressed).map_err(|e| format!("{target:?}: {e}"))?;
    }
    Ok(())
}
