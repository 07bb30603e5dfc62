//! What a new user meets first, over real processes: a token added before the first start,
//! logs read from a pipe, the simulator's help, and the log of an expected 503.

use std::io::Read;
use std::process::{Command, Stdio};

use crate::support::{Auth, Market, Server, eventually, initial_tokens, mint_token, serve_command};

// postmortem: the first start wrote the per-role tokens only when no credential existed, so a
// `bazaar token add` before it left the node without seller, support or operator tokens.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_added_before_the_first_start_does_not_stop_the_initial_tokens() {
    let dir = tempfile::tempdir().unwrap();
    let early = mint_token(dir.path(), "customer", "early-bird");
    let server = Server::start(&mut serve_command(dir.path()));
    let tokens = initial_tokens(dir.path());
    for principal in ["customer-1", "seller-1", "support-1", "operator-1"] {
        assert!(tokens.contains_key(principal), "initial tokens lack {principal}: {tokens:?}");
    }
    let http = reqwest::Client::builder().no_proxy().build().unwrap();
    for (token, path) in [(&early, "/v1/orders"), (&tokens["operator-1"], "/admin/psp")] {
        let reply = http.get(server.url(path)).bearer_auth(token).send().await.unwrap();
        assert_eq!(reply.status(), 200, "{path}: {}", reply.text().await.unwrap());
    }
    assert!(server.terminate().success());

    // A later start creates nothing more: every initial token is there.
    let listing = std::fs::read_to_string(dir.path().join("initial-tokens.txt")).unwrap();
    assert!(Server::start(&mut serve_command(dir.path())).terminate().success());
    let after = std::fs::read_to_string(dir.path().join("initial-tokens.txt")).unwrap();
    assert_eq!(listing, after);
}

// postmortem: logs carried ANSI colour codes into files and pipes.
#[test]
fn logs_written_to_a_pipe_carry_no_colour_codes() {
    let dir = tempfile::tempdir().unwrap();
    let mut child = serve_command(dir.path())
        .env("RUST_LOG", "info")
        .env_remove("NO_COLOR")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = child.stderr.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut text = String::new();
        stderr.read_to_string(&mut text).unwrap();
        text
    });
    assert!(Server::until_ready(child).terminate().success());
    let log = reader.join().unwrap();
    assert!(log.contains("ready"), "{log}");
    assert!(!log.contains('\u{1b}'), "colour codes in a piped log:\n{log:?}");
}

#[test]
fn the_simulators_help_says_its_knobs_take_no_token() {
    let output = Command::new(env!("CARGO_BIN_EXE_bazaar")).args(["psp", "--help"]).output();
    let help = String::from_utf8(output.unwrap().stdout).unwrap();
    assert!(help.contains("PUT /admin/knobs takes no token"), "{help}");
}

// postmortem: every 503 of `/admin/reconciliation` while a provider was down was logged at
// ERROR, although it is an expected state the answer already reports.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expected_503_is_logged_as_a_warning_not_an_error() {
    // Nothing listens on port 1: the provider is down and its breaker opens.
    let m = Market::open_with(&[], &["--psp".into(), "down=http://127.0.0.1:1".into()]);
    for _ in 0..8 {
        let reply = m.get(Auth::As("operator-1"), "/admin/reconciliation").await;
        assert_eq!(reply.status, 503, "{}", reply.text);
    }
    eventually("the 503s are logged", async || {
        let lines = m.log_lines();
        let warned = lines.iter().filter(|l| l.contains("WARN") && l.contains("503")).count();
        if warned >= 8 { Ok(()) } else { Err(lines.join("\n")) }
    })
    .await;
    let errors: Vec<String> = m.log_lines().into_iter().filter(|l| l.contains("ERROR")).collect();
    assert!(errors.is_empty(), "an expected state logged as an error:\n{}", errors.join("\n"));
    m.shut_down();
}
