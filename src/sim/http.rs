//! The simulator's HTTP client: one pooled reqwest client for a node, each answer read whole
//! and classified as success or an error code the report counts.
//!
//! Invariants: every request has a timeout ([`REQUEST_TIMEOUT_MS_MAX`]); a request that got no
//! complete answer is a [`Failure`] (`timeout` or `connect`), never a panic; a problem answer
//! is counted under its stable `code`, any other unexpected status as `http_STATUS`.

use std::time::Duration;

use reqwest::Method;
use serde_json::Value;

use super::limits::REQUEST_TIMEOUT_MS_MAX;

#[derive(Clone)]
pub struct Api {
    http: reqwest::Client,
    pub base: String,
}

/// A complete answer.
#[derive(Debug, Clone)]
pub struct Answer {
    pub status: u16,
    /// The body as JSON; `Null` when it is not JSON.
    pub json: Value,
}

/// No complete answer.
#[derive(Debug, Clone)]
pub enum Failure {
    Timeout,
    Connect,
    /// Any other transport error, said in words.
    Other(String),
}

pub enum Body {
    None,
    Json(Value),
    Ndjson(String),
}

impl Api {
    pub fn new(base: &str) -> anyhow::Result<Api> {
        let http = reqwest::Client::builder()
            .no_proxy()
            .timeout(Duration::from_millis(REQUEST_TIMEOUT_MS_MAX))
            .connect_timeout(Duration::from_secs(5))
            .pool_max_idle_per_host(1_024)
            .build()?;
        Ok(Api { http, base: base.trim_end_matches('/').to_string() })
    }

    /// Sends a request to `path` (or to a full `http://` URL) as `token`.
    pub async fn send(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        headers: &[(&str, &str)],
        body: Body,
    ) -> Result<Answer, Failure> {
        let url = if path.starts_with("http") {
            path.to_string()
        } else {
            format!("{}{path}", self.base)
        };
        let mut request = self.http.request(method, url);
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        request = match body {
            Body::None => request,
            Body::Json(value) => request.json(&value),
            Body::Ndjson(text) => request.header("content-type", "application/x-ndjson").body(text),
        };
        let response = request.send().await.map_err(failure)?;
        let status = response.status().as_u16();
        let bytes = response.bytes().await.map_err(failure)?;
        let json = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        Ok(Answer { status, json })
    }

    pub async fn get(&self, path: &str, token: Option<&str>) -> Result<Answer, Failure> {
        self.send(Method::GET, path, token, &[], Body::None).await
    }
}

fn failure(error: reqwest::Error) -> Failure {
    if error.is_timeout() {
        Failure::Timeout
    } else if error.is_connect() {
        Failure::Connect
    } else {
        Failure::Other(error.to_string())
    }
}

/// How a result counts: `None` when its status is one of `ok`, else the error code and
/// whether the node failed it (5xx or no answer: it counts against availability).
pub fn classify(result: &Result<Answer, Failure>, ok: &[u16]) -> Option<(String, bool)> {
    match result {
        Ok(answer) if ok.contains(&answer.status) => None,
        Ok(answer) => {
            let code = match answer.json["code"].as_str() {
                Some(code) => code.to_string(),
                None => format!("http_{}", answer.status),
            };
            Some((code, answer.status >= 500))
        }
        Err(Failure::Timeout) => Some(("timeout".to_string(), true)),
        Err(Failure::Connect) => Some(("connect".to_string(), true)),
        Err(Failure::Other(_)) => Some(("transport".to_string(), true)),
    }
}

/// A result in words, for error messages.
pub fn describe(result: &Result<Answer, Failure>) -> String {
    match result {
        Ok(answer) => format!("{} {}", answer.status, answer.json),
        Err(failure) => format!("no answer: {failure:?}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_are_classified_by_problem_code_status_or_failure() {
        let answer = |status, json| Ok(Answer { status, json });
        assert_eq!(classify(&answer(201, Value::Null), &[200, 201]), None);
        let problem = serde_json::json!({"code": "out_of_stock"});
        assert_eq!(classify(&answer(409, problem), &[201]), Some(("out_of_stock".into(), false)));
        assert_eq!(classify(&answer(502, Value::Null), &[200]), Some(("http_502".into(), true)));
        assert_eq!(classify(&Err(Failure::Timeout), &[200]), Some(("timeout".into(), true)));
        assert_eq!(classify(&Err(Failure::Connect), &[200]), Some(("connect".into(), true)));
    }
}
