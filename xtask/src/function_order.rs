//! The order of the app's functions in its WebAssembly, chosen for brotli: each function
//! next to the one most like it.
//!
//! Brotli finds repeats within its window, but it codes a near repeat more cheaply the
//! closer it is, and its context model learns from what came just before. LLVM writes the
//! functions in the order it compiled them, so look-alike functions (the many hook and
//! callback instances of one shape, the drop functions) are scattered. Here the order is a
//! greedy chain: start with the function whose body sorts first, then always take, of those
//! left, the one sharing the largest share of four-byte sequences with the last one taken
//! (Jaccard similarity of the two sets; a function sharing none with any left starts a new
//! chain, again the one that sorts first). For the same code this made the served file
//! 2.9 kB smaller (brotli); sorting by signature and first bytes gave 1.6 kB, by size alone
//! 0.7 kB, and binaryen's own `--reorder-functions` (by how often each is called) made it
//! 1.3 kB larger.
//!
//! Binaryen does the moving: it rewrites every call, table entry and export. This module
//! only names each function after its place in the new order (a `name` section) for
//! binaryen's `--reorder-functions-by-name`, which then drops the names again
//! (`--strip-debug`).
//!
//! Hand-written because it is a small reading of two sections of a file binaryen has just
//! written and will check again; the parsing crates for WebAssembly would add a dependency
//! tree to the build for it.

/// A module's sections as (id, contents).
fn sections(wasm: &[u8]) -> Result<Vec<(u8, &[u8])>, String> {
    if wasm.get(..8) != Some(b"\0asm\x01\0\0\0".as_slice()) {
        return Err("not a WebAssembly module (version 1)".to_owned());
    }
    let mut at = 8;
    let mut found = Vec::new();
    while at < wasm.len() {
        let id = wasm[at];
        let (size, start) = leb(wasm, at + 1)?;
        let end = start
            .checked_add(size as usize)
            .filter(|end| *end <= wasm.len())
            .ok_or("a section runs past the end of the file")?;
        found.push((id, &wasm[start..end]));
        at = end;
    }
    Ok(found)
}

/// An unsigned LEB128 number at `at`, and where the next field starts.
fn leb(bytes: &[u8], mut at: usize) -> Result<(u64, usize), String> {
    let mut value = 0u64;
    for shift in (0..64).step_by(7) {
        let byte = *bytes
            .get(at)
            .ok_or("a number runs past the end of its section")?;
        at += 1;
        value |= u64::from(byte & 0x7f) << shift;
        if byte < 0x80 {
            return Ok((value, at));
        }
    }
    Err("a number longer than 64 bits".to_owned())
}

fn write_leb(out: &mut Vec<u8>, mut value: u64) {
    loop {
        let byte = (value & 0x7f) as u8;
        value >>= 7;
        if value == 0 {
            out.push(byte);
            return;
        }
        out.push(byte | 0x80);
    }
}

/// A name (length first).
fn skip_name(bytes: &[u8], at: usize) -> Result<usize, String> {
    let (length, at) = leb(bytes, at)?;
    Ok(at + length as usize)
}

/// How many functions the module imports (they come first in the function index space).
fn imported_functions(imports: &[u8]) -> Result<u64, String> {
    let (count, mut at) = leb(imports, 0)?;
    let mut functions = 0;
    for _ in 0..count {
        at = skip_name(imports, at)?;
        at = skip_name(imports, at)?;
        let kind = *imports.get(at).ok_or("an import without a kind")?;
        at += 1;
        at = match kind {
            // A function: its type index.
            0 => {
                functions += 1;
                leb(imports, at)?.1
            }
            // A table: its element type and limits.
            1 => limits(imports, at + 1)?,
            // A memory: its limits.
            2 => limits(imports, at)?,
            // A global: its value type and mutability.
            3 => at + 2,
            other => return Err(format!("an import of unknown kind {other}")),
        };
    }
    Ok(functions)
}

/// Limits: a flag (whether a maximum follows) and the numbers.
fn limits(bytes: &[u8], at: usize) -> Result<usize, String> {
    let flags = *bytes.get(at).ok_or("limits without flags")?;
    let (_, at) = leb(bytes, at + 1)?;
    Ok(if flags & 1 == 1 {
        leb(bytes, at)?.1
    } else {
        at
    })
}

/// The order described in the module's doc: the indices of `bodies`, as they are to be
/// written.
pub fn order(bodies: &[&[u8]]) -> Vec<usize> {
    // Each body's four-byte sequences, sorted and without repeats, for a merge count.
    let sequences: Vec<Vec<u32>> = bodies
        .iter()
        .map(|body| {
            let mut found: Vec<u32> = body
                .windows(4)
                .map(|w| u32::from_le_bytes([w[0], w[1], w[2], w[3]]))
                .collect();
            found.sort_unstable();
            found.dedup();
            found
        })
        .collect();
    let first_key = |f: usize| (&bodies[f][..bodies[f].len().min(4)], bodies[f].len(), f);
    let mut left: Vec<usize> = (0..bodies.len()).collect();
    left.sort_by_key(|&f| first_key(f));
    let mut chain: Vec<usize> = Vec::with_capacity(bodies.len());
    while !left.is_empty() {
        let next = match chain.last() {
            None => 0,
            Some(&last) => {
                let mut best = (0.0, 0);
                for (place, &f) in left.iter().enumerate() {
                    let common = shared(&sequences[last], &sequences[f]);
                    let all = sequences[last].len() + sequences[f].len() - common;
                    let similarity = if all == 0 {
                        0.0
                    } else {
                        common as f64 / all as f64
                    };
                    if similarity > best.0 {
                        best = (similarity, place);
                    }
                }
                // None alike: the first of those left (they are in `first_key` order).
                best.1
            }
        };
        chain.push(left.remove(next));
    }
    chain
}

/// How many values two sorted lists without repeats share.
fn shared(a: &[u32], b: &[u32]) -> usize {
    let (mut i, mut j, mut count) = (0, 0, 0);
    while i < a.len() && j < b.len() {
        match a[i].cmp(&b[j]) {
            std::cmp::Ordering::Less => i += 1,
            std::cmp::Ordering::Greater => j += 1,
            std::cmp::Ordering::Equal => {
                count += 1;
                i += 1;
                j += 1;
            }
        }
    }
    count
}

/// The `name` custom section that names each defined function after its place in
/// [`order`] (`f000000`, `f000001`, …), to append to `wasm`.
pub fn order_names(wasm: &[u8]) -> Result<Vec<u8>, String> {
    let sections = sections(wasm)?;
    let find = |id: u8| sections.iter().find(|(i, _)| *i == id).map(|(_, s)| *s);
    let imported = find(2).map_or(Ok(0), imported_functions)?;
    let code = find(10).ok_or("no code section")?;
    let (count, mut at) = leb(code, 0)?;
    let mut bodies = Vec::new();
    for _ in 0..count {
        let (size, start) = leb(code, at)?;
        let end = start + size as usize;
        bodies.push(code.get(start..end).ok_or("a body runs past its section")?);
        at = end;
    }
    let mut rank = vec![0; bodies.len()];
    for (place, function) in order(&bodies).into_iter().enumerate() {
        rank[function] = place;
    }
    let mut names = Vec::new();
    write_leb(&mut names, count);
    for (function, place) in rank.iter().enumerate() {
        write_leb(&mut names, imported + function as u64);
        let name = format!("f{place:06}");
        write_leb(&mut names, name.len() as u64);
        names.extend_from_slice(name.as_bytes());
    }
    let mut contents = Vec::new();
    write_leb(&mut contents, 4);
    contents.extend_from_slice(b"name");
    // Subsection 1: function names.
    contents.push(1);
    write_leb(&mut contents, names.len() as u64);
    contents.extend_from_slice(&names);
    let mut section = vec![0];
    write_leb(&mut section, contents.len() as u64);
    section.extend_from_slice(&contents);
    Ok(section)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_function_follows_the_one_most_like_it() {
        let bodies: [&[u8]; 5] = [b"zzzzzzzz", b"abcdefgh", b"zzzzzzzY", b"abcdefgX", b"q"];
        // "abcd…" sorts first; then its look-alike; then none is alike: the first of the
        // rest ("q", then "zzzz…"), and the other "zzzz…" after it.
        assert_eq!(order(&bodies), vec![1, 3, 4, 0, 2]);
        assert!(order(&[]).is_empty());
    }

    /// A module importing one function and a memory, and defining three functions whose
    /// order is [2, 0, 1]: f2 sorts first ("A…"), f0 is most like it, then f1.
    fn module() -> Vec<u8> {
        let mut wasm = b"\0asm\x01\0\0\0".to_vec();
        let section = |wasm: &mut Vec<u8>, id: u8, contents: &[u8]| {
            wasm.push(id);
            write_leb(wasm, contents.len() as u64);
            wasm.extend_from_slice(contents);
        };
        section(&mut wasm, 1, &[1, 0x60, 0, 0]);
        // Imports: a function "m"."f" of type 0, and a memory (limits with a maximum).
        section(
            &mut wasm,
            2,
            &[2, 1, b'm', 1, b'f', 0, 0, 1, b'm', 1, b'g', 2, 1, 1, 2],
        );
        section(&mut wasm, 3, &[3, 0, 0, 0]);
        let bodies: [&[u8]; 3] = [b"Bxyz1234", b"Cqqqqqqq", b"Axyz1234"];
        let mut code = vec![3];
        for body in bodies {
            write_leb(&mut code, body.len() as u64);
            code.extend_from_slice(body);
        }
        section(&mut wasm, 10, &code);
        wasm
    }

    #[test]
    fn names_each_function_after_its_place() {
        let names = order_names(&module()).unwrap();
        let text = String::from_utf8_lossy(&names).into_owned();
        // Function indices count the import first: f0 is index 1.
        let named = |index: u8, name: &str| {
            let mut entry = vec![index, name.len() as u8];
            entry.extend_from_slice(name.as_bytes());
            names.windows(entry.len()).any(|w| w == entry.as_slice())
        };
        assert!(named(3, "f000000"), "{text}");
        assert!(named(1, "f000001"), "{text}");
        assert!(named(2, "f000002"), "{text}");
        assert!(order_names(b"not wasm").is_err());
        let mut cut = module();
        cut.truncate(cut.len() - 2);
        assert!(order_names(&cut).is_err());
    }
}
