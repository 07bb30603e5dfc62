//! Only `src/problem.rs` chooses an error status (see its module doc).
//!
//! The compiler already refuses a `Problem` built elsewhere (its status is private); this
//! test refuses the other way to answer an error: naming a `StatusCode::` outside
//! `problem.rs`. Allowed anywhere: the success statuses a handler answers with. Allowed in
//! one file each: the entries of [`ALLOWED`], none of which chooses an error answer; each
//! entry must still be used, so the list cannot rot.

use std::path::{Path, PathBuf};

/// Statuses a handler may answer with itself: they are not failures.
const SUCCESS: &[&str] = &["OK", "CREATED", "ACCEPTED", "NO_CONTENT"];

/// `(file under src/, StatusCode item, why it chooses no error answer)`.
const ALLOWED: &[(&str, &str, &str)] = &[
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

fn sources(dir: &Path, found: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            sources(&path, found);
        } else if path.extension().is_some_and(|ext| ext == "rs") {
            found.push(path);
        }
    }
}

/// Each `StatusCode::ITEM` in `text`, with its line number.
fn status_items(text: &str) -> Vec<(usize, String)> {
    let mut items = Vec::new();
    for (number, line) in text.lines().enumerate() {
        let code = line.split("//").next().unwrap_or_default();
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

/// The uses `ALLOWED` does not cover, and the entries of `ALLOWED` no use needed.
fn check(files: &[(String, String)]) -> (Vec<String>, Vec<String>) {
    let mut used = vec![false; ALLOWED.len()];
    let mut refused = Vec::new();
    for (name, text) in files {
        if name == "problem.rs" {
            continue;
        }
        for (line, item) in status_items(text) {
            if SUCCESS.contains(&item.as_str()) {
                continue;
            }
            match ALLOWED.iter().position(|(file, allowed, _)| file == name && *allowed == item) {
                Some(entry) => used[entry] = true,
                None => refused.push(format!("src/{name}:{line}: StatusCode::{item}")),
            }
        }
    }
    let unused = ALLOWED
        .iter()
        .zip(used)
        .filter(|(_, used)| !used)
        .map(|((file, item, _), _)| format!("{file}: StatusCode::{item}"))
        .collect();
    (refused, unused)
}

#[test]
fn only_problem_rs_chooses_an_error_status() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut paths = Vec::new();
    sources(&src, &mut paths);
    let files: Vec<(String, String)> = paths
        .iter()
        .map(|path| {
            let name = path.strip_prefix(&src).unwrap().to_string_lossy().into_owned();
            (name, std::fs::read_to_string(path).unwrap())
        })
        .collect();
    assert!(files.iter().any(|(name, _)| name == "problem.rs"), "src/problem.rs is read");
    let (refused, unused) = check(&files);
    assert!(
        refused.is_empty(),
        "an error status is chosen outside src/problem.rs; name a ProblemKind there instead \
         (or, if the status is only read, allow it in tests/tidy.rs with a reason):\n{}",
        refused.join("\n")
    );
    assert!(unused.is_empty(), "allowed but no longer used:\n{}", unused.join("\n"));
}

#[test]
fn the_check_refuses_an_error_status_and_allows_success() {
    let route = "Err((StatusCode::CONFLICT, \"x\"))\nOk(StatusCode::CREATED) // StatusCode::GONE";
    let files = vec![("routes/x.rs".to_string(), route.to_string())];
    let (refused, _) = check(&files);
    assert_eq!(refused, ["src/routes/x.rs:1: StatusCode::CONFLICT"]);
    let problem = vec![("problem.rs".to_string(), "StatusCode::CONFLICT".to_string())];
    assert!(check(&problem).0.is_empty());
}
