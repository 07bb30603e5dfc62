//! A `bazaar psp` payment provider simulator as a child process on a free loopback port,
//! killed when dropped, and plain JSON calls to it.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

use bazaar_services::payments::ProviderConfig;
use serde_json::Value;

/// A running simulator.
pub struct Psp {
    child: Child,
    pub name: String,
    /// `http://127.0.0.1:PORT`.
    pub base: String,
    http: reqwest::Client,
}

impl Psp {
    /// Starts `bazaar psp --listen 127.0.0.1:0 --name NAME ARGS...` and waits for the line
    /// saying where it listens.
    pub fn start(name: &str, args: &[&str]) -> Psp {
        let mut child = Command::new(env!("CARGO_BIN_EXE_bazaar"))
            .args(["psp", "--listen", "127.0.0.1:0", "--name", name])
            .args(args)
            .env("RUST_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("bazaar psp starts");
        let mut lines = BufReader::new(child.stdout.take().expect("piped stdout")).lines();
        let line = lines.next().expect("psp printed nothing").expect("a utf-8 line");
        let prefix = format!("bazaar psp {name} listening on ");
        let base = line.strip_prefix(&prefix).unwrap_or_else(|| panic!("unexpected {line:?}"));
        assert!(base.starts_with("http://127.0.0.1:") && !base.ends_with(":0"), "{line:?}");
        let base = base.to_string();
        // Keep draining stdout so the child never blocks on a full pipe.
        std::thread::spawn(move || lines.for_each(drop));
        let http = reqwest::Client::builder().no_proxy().build().expect("an http client");
        Psp { child, name: name.to_string(), base, http }
    }

    /// This simulator as a provider of the payments client.
    pub fn provider(&self) -> ProviderConfig {
        ProviderConfig { name: self.name.clone(), url: self.base.clone() }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// POSTs `body`; the status and the body as JSON (`Null` when not JSON).
    pub async fn post(&self, path: &str, body: Value) -> (u16, Value) {
        let response = self.http.post(self.url(path)).json(&body).send().await.expect("an answer");
        read(response).await
    }

    pub async fn get(&self, path: &str) -> (u16, Value) {
        read(self.http.get(self.url(path)).send().await.expect("an answer")).await
    }

    /// PUTs a knobs update, which must be accepted; the knobs after.
    pub async fn knobs(&self, update: Value) -> Value {
        let response =
            self.http.put(self.url("/admin/knobs")).json(&update).send().await.expect("an answer");
        let (status, knobs) = read(response).await;
        assert_eq!(status, 200, "knobs {update}: {knobs}");
        knobs
    }

    /// The simulator's settlement report's authorizations.
    pub async fn authorizations(&self) -> Vec<Value> {
        let (status, report) = self.get("/v1/settlement").await;
        assert_eq!(status, 200, "{report}");
        assert_eq!(report["psp"], self.name.as_str());
        report["authorizations"].as_array().expect("an array").clone()
    }
}

async fn read(response: reqwest::Response) -> (u16, Value) {
    let status = response.status().as_u16();
    let problem = response
        .headers()
        .get("content-type")
        .is_some_and(|value| value.as_bytes() == b"application/problem+json");
    let text = response.text().await.expect("a body");
    let json = serde_json::from_str(&text).unwrap_or(Value::Null);
    if status >= 400 {
        assert!(problem, "a {status} must be problem+json: {text}");
    }
    (status, json)
}

impl Drop for Psp {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
