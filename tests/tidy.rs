//! The workspace's house rules, checked under `cargo test` in the spirit of rust-analyzer's
//! tidy test: every rule reads the sources as text, so it holds for code not yet written.
//!
//! - Every Rust file opens with a `//!` doc, has no trailing whitespace and no debugging
//!   leftovers, and stays under [`FILE_LINES_MAX`] lines (past it, split by concept).
//! - A bound (`const …_MAX` or `…_MIN` at module level in a crate's sources) lives in that
//!   crate's `limits.rs`, where each is documented and checked against the others.
//! - The domain (`actors/`) and the entity contract (`engine/entity/`) are pure: their
//!   manifests name only the dependencies below, and their sources use no runtime, actor
//!   system, store, HTTP, clock or floating point.
//! - Only the gateway's `problem.rs` chooses an error status.
//! - Nothing applies a sled batch or transaction: the first one a process applies switches
//!   sled 0.34 to a process-wide lock that every read then takes and each batch holds
//!   (`persistence/src/sled_journal/apply.rs`).
//!
//! Each rule is a function over `(path, text)` pairs with a test that feeds it a violation,
//! so a rule that stopped finding anything would fail here.

use std::fs;
use std::path::{Path, PathBuf};

/// Most lines in one Rust file.
const FILE_LINES_MAX: usize = 500;

/// The domain's dependencies: the entity contract, serde, errors and a hash function.
const DOMAIN_DEPENDENCIES: &[&str] = &["bazaar-entity", "serde", "thiserror", "xxhash-rust"];
/// The entity contract's dependencies.
const ENTITY_DEPENDENCIES: &[&str] = &["serde"];

/// What the pure crates' sources may not name (spelled in pieces so this file does not trip
/// over itself).
const IMPURE: &[&str] = &[
    concat!("tok", "io::"),
    concat!("rac", "tor::"),
    concat!("sl", "ed::"),
    concat!("ax", "um::"),
    concat!("req", "west::"),
    concat!("tan", "tivy::"),
    concat!("std::time::", "SystemTime"),
    concat!("Instant::", "now"),
    concat!("f", "32"),
    concat!("f", "64"),
];

/// What no Rust file may call: each takes sled's process-wide write lock.
const SLED_GLOBAL_LOCKS: &[&str] =
    &[concat!("apply_", "batch("), concat!(".trans", "action("), concat!(".check", "sum(")];

/// Statuses a gateway handler may answer with itself: they are not failures.
const SUCCESS: &[&str] = &["OK", "CREATED", "ACCEPTED", "NO_CONTENT"];

/// `(file under gateway/src/, StatusCode item, why it chooses no error answer)`.
const STATUS_ALLOWED: &[(&str, &str, &str)] = &[
    (
        "listener.rs",
        "from_bytes",
        "reads the status the HTTP parser already wrote, to make its bodiless refusal a problem",
    ),
    ("stack.rs", "SERVICE_UNAVAILABLE", "log_failure: picks the log level of an answered status"),
    ("stack.rs", "GATEWAY_TIMEOUT", "log_failure: picks the log level of an answered status"),
    ("json.rs", "PAYLOAD_TOO_LARGE", "reads axum's body rejection to name its kind"),
    ("idempotency.rs", "UNAUTHORIZED", "an answered refusal is not stored under the key"),
    ("idempotency.rs", "FORBIDDEN", "an answered refusal is not stored under the key"),
    ("idempotency.rs", "TOO_MANY_REQUESTS", "an answered rate limit is not stored under the key"),
    ("idempotency.rs", "from_u16", "replays the status of a stored answer"),
    ("openapi.rs", "from_u16", "the document's reason phrase of a documented status"),
];

/// A source file: its path relative to the workspace root, and its text.
struct Source {
    path: String,
    text: String,
}

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in fs::read_dir(dir).expect("readable directory") {
        let path = entry.expect("readable entry").path();
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or_default();
        if path.is_dir() {
            if !matches!(name, "target" | ".git" | ".ci") {
                rust_files(&path, out);
            }
        } else if name.ends_with(".rs") {
            out.push(path);
        }
    }
}

/// Every Rust file of the workspace, sorted by path.
fn sources() -> Vec<Source> {
    let root = root();
    let mut paths = Vec::new();
    rust_files(&root, &mut paths);
    paths.sort();
    paths
        .into_iter()
        .map(|path| Source {
            text: fs::read_to_string(&path).expect("utf-8 source"),
            path: path.strip_prefix(&root).expect("under the root").to_string_lossy().into(),
        })
        .collect()
}

/// The part of `line` before a `//` comment (good enough for the rules here: none of their
/// needles sits in a string with `//` before it).
fn code(line: &str) -> &str {
    line.split("//").next().unwrap_or_default()
}

fn is_crate_source(path: &str) -> bool {
    path.starts_with("src/") || path.contains("/src/")
}

/// Files without a `//!` opening, with trailing whitespace or debugging leftovers.
fn untidy(files: &[Source]) -> Vec<String> {
    let leftovers = [concat!("db", "g!("), concat!("FIX", "ME"), concat!("to", "do!(")];
    let mut problems = Vec::new();
    for Source { path, text } in files {
        if !text.starts_with("//!") {
            problems.push(format!("{path}: does not open with a //! doc"));
        }
        for (n, line) in text.lines().enumerate() {
            if line.ends_with(' ') || line.ends_with('\t') {
                problems.push(format!("{path}:{}: trailing whitespace", n + 1));
            }
            if let Some(found) = leftovers.iter().find(|needle| line.contains(*needle)) {
                problems.push(format!("{path}:{}: {found}", n + 1));
            }
        }
    }
    problems
}

/// Files over the size bound.
fn oversized(files: &[Source]) -> Vec<String> {
    files
        .iter()
        .filter(|file| file.text.lines().count() > FILE_LINES_MAX)
        .map(|file| {
            let lines = file.text.lines().count();
            format!(
                "{}: {lines} lines, the bound is {FILE_LINES_MAX}: split it by concept",
                file.path
            )
        })
        .collect()
}

/// Module-level `_MAX`/`_MIN` constants in a crate's sources outside a `limits.rs`.
fn stray_bounds(files: &[Source]) -> Vec<String> {
    let mut problems = Vec::new();
    for Source { path, text } in files.iter().filter(|file| is_crate_source(&file.path)) {
        if path.ends_with("limits.rs") {
            continue;
        }
        for (n, line) in text.lines().enumerate() {
            let Some(rest) = ["pub const ", "pub(crate) const ", "pub(super) const ", "const "]
                .iter()
                .find_map(|prefix| line.strip_prefix(prefix))
            else {
                continue;
            };
            let name: String = rest
                .chars()
                .take_while(|c| c.is_ascii_uppercase() || *c == '_' || c.is_ascii_digit())
                .collect();
            if name.ends_with("_MAX") || name.ends_with("_MIN") {
                problems.push(format!("{path}:{}: {name} belongs in the crate's limits.rs", n + 1));
            }
        }
    }
    problems
}

/// Each line of `files` whose code (not its comment) names one of `needles`.
fn naming(files: &[&Source], needles: &[&str]) -> Vec<String> {
    let mut problems = Vec::new();
    for Source { path, text } in files {
        for (n, line) in text.lines().enumerate() {
            if let Some(found) = needles.iter().find(|needle| code(line).contains(*needle)) {
                problems.push(format!("{path}:{}: {found}", n + 1));
            }
        }
    }
    problems
}

/// Uses of a runtime, store, network, clock or float in the pure crates' sources.
fn impure_uses(files: &[Source]) -> Vec<String> {
    let pure =
        |path: &str| path.starts_with("actors/src/") || path.starts_with("engine/entity/src/");
    naming(&files.iter().filter(|file| pure(&file.path)).collect::<Vec<_>>(), IMPURE)
}

/// Calls that switch sled to its process-wide lock, anywhere.
fn sled_global_locks(files: &[Source]) -> Vec<String> {
    naming(&files.iter().collect::<Vec<_>>(), SLED_GLOBAL_LOCKS)
}

/// The names under `[dependencies]` of a manifest (not dev- or build-dependencies).
fn dependencies(manifest: &str) -> Vec<String> {
    let mut names = Vec::new();
    let mut inside = false;
    for line in manifest.lines() {
        let line = line.trim();
        if line.starts_with('[') {
            inside = line == "[dependencies]";
            continue;
        }
        if inside && !line.is_empty() && !line.starts_with('#') {
            let name = line.split(['=', '.']).next().unwrap_or_default().trim();
            names.push(name.to_string());
        }
    }
    names
}

/// Dependencies of `manifest` that `allowed` does not name.
fn unexpected_dependencies(manifest: &str, allowed: &[&str]) -> Vec<String> {
    dependencies(manifest).into_iter().filter(|name| !allowed.contains(&name.as_str())).collect()
}

/// Each `StatusCode::ITEM` in `text`, with its line number.
fn status_items(text: &str) -> Vec<(usize, String)> {
    let mut items = Vec::new();
    for (number, line) in text.lines().enumerate() {
        let code = code(line);
        for (at, _) in code.match_indices("StatusCode::") {
            let item: String = code[at + "StatusCode::".len()..]
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            items.push((number + 1, item));
        }
    }
    items
}

/// Error statuses named in the gateway outside `problem.rs` that [`STATUS_ALLOWED`] does not
/// cover, and the entries of [`STATUS_ALLOWED`] no use needed.
fn stray_statuses(files: &[Source]) -> (Vec<String>, Vec<String>) {
    let mut used = vec![false; STATUS_ALLOWED.len()];
    let mut refused = Vec::new();
    for Source { path, text } in files {
        let Some(name) = path.strip_prefix("gateway/src/") else { continue };
        if name == "problem.rs" {
            continue;
        }
        for (line, item) in status_items(text) {
            if SUCCESS.contains(&item.as_str()) {
                continue;
            }
            match STATUS_ALLOWED
                .iter()
                .position(|(file, allowed, _)| *file == name && *allowed == item)
            {
                Some(entry) => used[entry] = true,
                None => refused.push(format!("{path}:{line}: StatusCode::{item}")),
            }
        }
    }
    let unused = STATUS_ALLOWED
        .iter()
        .zip(used)
        .filter(|(_, used)| !used)
        .map(|((file, item, _), _)| format!("gateway/src/{file}: StatusCode::{item}"))
        .collect();
    (refused, unused)
}

fn assert_none(what: &str, problems: Vec<String>) {
    assert!(problems.is_empty(), "{what}:\n{}", problems.join("\n"));
}

#[test]
fn every_file_is_tidy_and_small() {
    let files = sources();
    assert!(files.len() > 100, "the workspace is read: {} files", files.len());
    assert_none("untidy files", untidy(&files));
    assert_none("files over the size bound", oversized(&files));
}

#[test]
fn every_bound_lives_in_a_limits_rs() {
    assert_none("bounds outside limits.rs", stray_bounds(&sources()));
}

#[test]
fn the_domain_and_the_entity_contract_are_pure() {
    assert_none("impure uses", impure_uses(&sources()));
    let read = |path: &str| fs::read_to_string(root().join(path)).expect("a manifest");
    let domain = unexpected_dependencies(&read("actors/Cargo.toml"), DOMAIN_DEPENDENCIES);
    assert_none("dependencies the domain may not have", domain);
    let entity = unexpected_dependencies(&read("engine/entity/Cargo.toml"), ENTITY_DEPENDENCIES);
    assert_none("dependencies the entity contract may not have", entity);
}

#[test]
fn nothing_takes_sleds_global_lock() {
    assert_none(
        "calls that put every sled read behind one lock (write key by key instead)",
        sled_global_locks(&sources()),
    );
}

#[test]
fn only_problem_rs_chooses_an_error_status() {
    let files = sources();
    assert!(files.iter().any(|file| file.path == "gateway/src/problem.rs"), "problem.rs is read");
    let (refused, unused) = stray_statuses(&files);
    assert_none(
        "an error status chosen outside gateway/src/problem.rs (name a ProblemKind there; if \
         the status is only read, allow it here with a reason)",
        refused,
    );
    assert_none("allowed but no longer used", unused);
}

/// Each rule finds what it is for: a rule that silently stopped matching would pass above.
mod the_rules_find_violations {
    use super::*;

    fn file(path: &str, text: &str) -> Vec<Source> {
        vec![Source { path: path.into(), text: text.into() }]
    }

    #[test]
    fn untidy_files() {
        let bad = file("x/src/a.rs", concat!("fn a() {} \n", "db", "g!(1);\n"));
        assert_eq!(untidy(&bad).len(), 3, "no doc, trailing space, leftover");
        assert!(untidy(&file("x/src/a.rs", "//! A.\nfn a() {}\n")).is_empty());
    }

    #[test]
    fn oversized_files() {
        let long = "//! A.\n".to_string() + &"\n".repeat(FILE_LINES_MAX);
        assert_eq!(oversized(&file("x/src/a.rs", &long)).len(), 1);
        assert!(oversized(&file("x/src/a.rs", "//! A.\n")).is_empty());
    }

    #[test]
    fn stray_bounds() {
        let text = "//! A.\npub const ITEMS_MAX: usize = 1;\nconst SIZE_MIN: u8 = 0;\n    const LOCAL_MAX: u8 = 1;\n";
        assert_eq!(super::stray_bounds(&file("x/src/a.rs", text)).len(), 2, "module level only");
        assert!(super::stray_bounds(&file("x/src/limits.rs", text)).is_empty());
        assert!(super::stray_bounds(&file("tests/a.rs", text)).is_empty(), "tests may");
    }

    #[test]
    fn impure_uses() {
        let text =
            concat!("//! A.\nuse tok", "io::sync;\nlet x: f", "64 = 1.0; // f32 in a comment\n");
        assert_eq!(super::impure_uses(&file("actors/src/a.rs", text)).len(), 2);
        assert!(super::impure_uses(&file("services/src/a.rs", text)).is_empty());
    }

    #[test]
    fn sled_global_locks() {
        let text = concat!("//! A.\ntree.apply_", "batch(b)?;\n// tree.apply_", "batch(b)\n");
        assert_eq!(super::sled_global_locks(&file("x/src/a.rs", text)).len(), 1);
    }

    #[test]
    fn unexpected_dependencies() {
        let manifest = "[package]\nname = \"x\"\n\n[dependencies]\nserde.workspace = true\ntokio = \"1\"\n\n[dev-dependencies]\nproptest = \"1\"\n";
        assert_eq!(super::unexpected_dependencies(manifest, &["serde"]), ["tokio"]);
    }

    #[test]
    fn stray_statuses() {
        let route =
            "Err((StatusCode::CONFLICT, \"x\"))\nOk(StatusCode::CREATED) // StatusCode::GONE";
        let (refused, _) = super::stray_statuses(&file("gateway/src/routes/x.rs", route));
        assert_eq!(refused, ["gateway/src/routes/x.rs:1: StatusCode::CONFLICT"]);
        let problem = file("gateway/src/problem.rs", "StatusCode::CONFLICT");
        assert!(super::stray_statuses(&problem).0.is_empty());
    }
}
