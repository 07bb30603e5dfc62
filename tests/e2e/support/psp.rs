//! A `bazaar psp` payment provider simulator as a child process on a free loopback port
//! (the test kit's [`SimulatorProcess`]), killed when dropped, and plain JSON calls to it.

use bazaar::testkit::SimulatorProcess;
use bazaar_services::payments::ProviderConfig;
use serde_json::Value;

/// A running simulator.
pub struct Psp {
    pub name: String,
    /// `http://127.0.0.1:PORT`.
    pub base: String,
    http: reqwest::Client,
    /// Killed when the simulator is dropped.
    _process: SimulatorProcess,
}

impl Psp {
    /// Starts `bazaar psp --listen 127.0.0.1:0 --name NAME ARGS...` and waits for the line
    /// saying where it listens.
    pub fn start(name: &str, args: &[&str]) -> Psp {
        let process = super::bazaar().psp(name, args);
        let http = reqwest::Client::builder().no_proxy().build().expect("an http client");
        let (name, base) = (process.name.clone(), process.base.clone());
        Psp { name, base, http, _process: process }
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
