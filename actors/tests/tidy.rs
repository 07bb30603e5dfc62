//! House rules of this crate, checked under `cargo test`: every file opens with `//!` and
//! carries no debugging leftovers or trailing whitespace; the domain (`src/` but its
//! projections) stays under the file size bound, uses no floating point, and imports no
//! runtime, actor system, store or HTTP.

use std::fs;
use std::path::{Path, PathBuf};

/// Most lines in one file: past this, split it by concept.
const FILE_LINES_MAX: usize = 500;

/// Modules of `src/` that are not decide/apply aggregates: projections (read models) and the
/// runners that do I/O for the aggregates (the checkout saga's runner, the payment client).
/// They may use what such code needs (relevance scores are floats in a search library, a
/// saga sleeps between retries, a client times its calls).
const PROJECTIONS: [&str; 4] = ["catalog", "payments", "saga", "search"];

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in fs::read_dir(dir).expect("readable directory") {
        let path = entry.expect("readable entry").path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|ext| ext == "rs") {
            out.push(path);
        }
    }
}

fn files(under: &str) -> Vec<(PathBuf, String)> {
    let mut paths = Vec::new();
    rust_files(&Path::new(env!("CARGO_MANIFEST_DIR")).join(under), &mut paths);
    paths.sort();
    paths
        .into_iter()
        .map(|path| {
            let text = fs::read_to_string(&path).expect("utf-8 source");
            (path, text)
        })
        .collect()
}

#[test]
fn every_file_is_tidy() {
    // Spelled in pieces so this file does not trip over itself.
    let leftovers = [concat!("db", "g!("), concat!("FIX", "ME"), concat!("to", "do!(")];
    let mut problems = Vec::new();
    for (path, text) in files("src").into_iter().chain(files("tests")) {
        let name = path.display();
        if !text.starts_with("//!") {
            problems.push(format!("{name}: does not open with a //! doc"));
        }
        for (n, line) in text.lines().enumerate() {
            if line.ends_with(' ') || line.ends_with('\t') {
                problems.push(format!("{name}:{}: trailing whitespace", n + 1));
            }
            if let Some(found) = leftovers.iter().find(|needle| line.contains(*needle)) {
                problems.push(format!("{name}:{}: {found}", n + 1));
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn the_domain_is_pure_and_split_by_concept() {
    let forbidden = [
        concat!("f", "32"),
        concat!("f", "64"),
        concat!("tokio", "::"),
        concat!("ractor", "::"),
        concat!("sled", "::"),
        concat!("axum", "::"),
        concat!("std::time::", "SystemTime"),
        concat!("Instant::", "now"),
    ];
    let mut problems = Vec::new();
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let is_projection = |path: &Path| {
        PROJECTIONS.iter().any(|module| {
            path.starts_with(src.join(module)) || path == src.join(format!("{module}.rs"))
        })
    };
    for (path, text) in files("src").into_iter().filter(|(path, _)| !is_projection(path)) {
        let lines = text.lines().count();
        if lines > FILE_LINES_MAX {
            problems
                .push(format!("{}: {lines} lines, the bound is {FILE_LINES_MAX}", path.display()));
        }
        for (n, line) in text.lines().enumerate() {
            let code = line.split("//").next().unwrap_or_default();
            if let Some(found) = forbidden.iter().find(|needle| code.contains(*needle)) {
                problems.push(format!("{}:{}: {found}", path.display(), n + 1));
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}
