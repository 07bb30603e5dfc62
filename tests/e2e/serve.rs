//! `bazaar serve` as a newcomer meets it: health, readiness and metrics over real HTTP, one
//! process per data directory, and a clean stop on SIGTERM.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, SystemTime};

use crate::support::{Server, serve_command, wait_exit};

/// GETs `url`: status, content type and body.
fn get(url: &str) -> (u16, String, String) {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    runtime.block_on(async {
        let response = reqwest::get(url).await.unwrap();
        let status = response.status().as_u16();
        let content_type = response
            .headers()
            .get("content-type")
            .map(|v| v.to_str().unwrap().to_string())
            .unwrap_or_default();
        (status, content_type, response.text().await.unwrap())
    })
}

/// Every file under `dir` with its size and modification time.
fn snapshot_of(dir: &Path) -> BTreeMap<String, (u64, SystemTime)> {
    let mut files = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(path) = stack.pop() {
        for entry in std::fs::read_dir(&path).unwrap() {
            let entry = entry.unwrap();
            let meta = entry.metadata().unwrap();
            if meta.is_dir() {
                stack.push(entry.path());
            } else {
                files.insert(
                    entry.path().display().to_string(),
                    (meta.len(), meta.modified().unwrap()),
                );
            }
        }
    }
    files
}

#[test]
fn serve_answers_health_readiness_and_metrics_then_stops_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(&mut serve_command(dir.path()));

    let (status, _, body) = get(&server.url("/healthz"));
    assert_eq!((status, body.trim()), (200, "ok"));
    let (status, _, _) = get(&server.url("/readyz"));
    assert_eq!(status, 200, "ready once recovered");
    let (status, content_type, body) = get(&server.url("/metrics"));
    assert_eq!(status, 200);
    assert!(content_type.starts_with("text/plain"), "{content_type}");
    for name in ["engine_asks_total", "engine_active_entities", "journal_flushes_total"] {
        assert!(body.contains(name), "/metrics lacks {name}:\n{body}");
    }
    let (status, content_type, body) = get(&server.url("/no/such/route"));
    assert_eq!(status, 404, "{content_type} {body}");

    let status = server.terminate();
    assert!(status.success(), "SIGTERM must end in exit 0, got {status}");
}

#[test]
fn a_second_serve_on_the_same_data_dir_fails_at_once_and_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(&mut serve_command(dir.path()));
    let before = snapshot_of(dir.path());

    let mut second =
        serve_command(dir.path()).stdout(Stdio::null()).stderr(Stdio::piped()).spawn().unwrap();
    let status = wait_exit(&mut second, Duration::from_secs(10));
    let mut stderr = String::new();
    std::io::Read::read_to_string(second.stderr.as_mut().unwrap(), &mut stderr).unwrap();
    assert_eq!(status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("in use by another bazaar process"), "{stderr}");
    assert_eq!(snapshot_of(dir.path()), before, "the refused serve touched the data directory");

    let (status, _, _) = get(&server.url("/healthz"));
    assert_eq!(status, 200, "the first server is unharmed");
    assert!(server.terminate().success());
}

#[test]
fn a_bad_configuration_is_refused_with_a_clear_message() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("bad.toml");
    std::fs::write(&config, "[cluster]\nshards = 0\n[[nodes]]\nid = 1\nhttp = \"127.0.0.1:0\"\ncluster = \"127.0.0.1:0\"\n")
        .unwrap();
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_bazaar"))
        .args(["serve", "--config"])
        .arg(&config)
        .arg("--data-dir")
        .arg(dir.path().join("data"))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1));
    assert!(stderr.contains("cluster.shards = 0"), "{stderr}");
    assert!(!dir.path().join("data").exists(), "nothing is created for a refused configuration");
}

/// Every operation of `/openapi.json` is routed (never `no_route`), and every route this test
/// knows is documented: the spec is generated from the handlers, so it cannot drift.
#[test]
fn the_openapi_document_describes_every_route() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(&mut serve_command(dir.path()));
    let (status, content_type, body) = get(&server.url("/openapi.json"));
    assert_eq!(status, 200);
    assert!(content_type.starts_with("application/json"));
    let spec: serde_json::Value = serde_json::from_str(&body).unwrap();
    let paths = spec["paths"].as_object().unwrap();
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let client = reqwest::Client::new();
    let mut operations = 0;
    for (path, item) in paths {
        // Path parameters get a plausible value; the route must exist whatever it answers.
        let concrete = path
            .split('/')
            .map(|part| if part.starts_with('{') { "X1" } else { part })
            .collect::<Vec<_>>()
            .join("/");
        for method in item.as_object().unwrap().keys() {
            let method = reqwest::Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
            let answer: serde_json::Value = runtime.block_on(async {
                let response =
                    client.request(method.clone(), server.url(&concrete)).send().await.unwrap();
                response.json().await.unwrap_or(serde_json::Value::Null)
            });
            assert_ne!(answer["code"], "no_route", "{method} {path} is documented but not routed");
            operations += 1;
        }
    }
    for documented in [
        "/v1/products/{asin}",
        "/v1/search",
        "/v1/carts",
        "/v1/carts/{id}/reservation",
        "/v1/seller/offers/{asin}",
        "/v1/seller/inventory:feed",
        "/admin/sellers/{seller}/standing",
        "/admin/promotions",
        "/healthz",
        "/readyz",
        "/metrics",
        "/openapi.json",
    ] {
        assert!(paths.contains_key(documented), "{documented} is missing from the document");
    }
    assert!(operations >= 25, "only {operations} operations documented");
    assert!(server.terminate().success());
}

#[test]
fn every_request_log_line_carries_the_request_id_of_the_answer() {
    let dir = tempfile::tempdir().unwrap();
    let mut serve = serve_command(dir.path());
    let (server, log) =
        Server::start_logging(serve.env("RUST_LOG", "info,bazaar_gateway::stack=debug"));
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let client = reqwest::Client::new();
    // The server makes every request's id, whatever a client brings: it names the request's
    // log lines.
    let made = runtime.block_on(async {
        let response = client.get(server.url("/v1/products/B000000001")).send().await.unwrap();
        assert_eq!(response.status(), 401, "no token");
        response.headers()["x-request-id"].to_str().unwrap().to_string()
    });
    let brought = runtime.block_on(async {
        let response = client
            .get(server.url("/v1/search?q=lamp"))
            .header("x-request-id", "client-chosen-17")
            .send()
            .await
            .unwrap();
        assert_eq!(response.headers()["x-client-request-id"], "client-chosen-17", "kept beside");
        response.headers()["x-request-id"].to_str().unwrap().to_string()
    });
    assert_ne!(brought, "client-chosen-17", "the request's id is the server's");
    for id in [&made, &brought] {
        let answered = format!("request_id={id}}}: bazaar_gateway::stack: request answered");
        let line = log.wait_for(&answered, Duration::from_secs(10));
        assert!(line.contains("status=") && line.contains("latency_ms="), "{line}");
    }
    let lines = log.lines();
    let request_lines: Vec<_> = lines.iter().filter(|l| l.contains("request answered")).collect();
    assert!(!request_lines.is_empty());
    for line in request_lines {
        assert!(line.contains("request_id="), "a request log line without its id: {line}");
    }
    assert!(server.terminate().success());
}
