//! Requests sent byte for byte over a plain TCP connection, for what an HTTP client library
//! would change before sending: un-normalised paths (`/x/..`, `/x/%2e%2e`), which `reqwest`
//! resolves the way a browser does.

use std::io::{Read, Write};

use super::{Market, Reply};

impl Market {
    /// The bearer token minted for `principal`.
    pub fn token(&self, principal: &str) -> &str {
        self.tokens.get(principal).expect("a token for the principal")
    }

    /// Sends `method target` as written (nothing resolved or escaped), with `principal`'s
    /// token if any, and reads the answer (the connection closes after it).
    pub async fn raw(&self, method: &str, target: &str, principal: Option<&str>) -> Reply {
        let url = self.url("");
        let address = url.trim_start_matches("http://").trim_end_matches('/');
        let auth = principal
            .map(|p| format!("authorization: Bearer {}\r\n", self.token(p)))
            .unwrap_or_default();
        let head = format!(
            "{method} {target} HTTP/1.1\r\nhost: {address}\r\n{auth}connection: close\r\ncontent-length: 0\r\n\r\n"
        );
        let address = address.to_string();
        let answer = tokio::task::spawn_blocking(move || {
            let mut stream = std::net::TcpStream::connect(address).unwrap();
            stream.write_all(head.as_bytes()).unwrap();
            let mut answer = Vec::new();
            stream.read_to_end(&mut answer).unwrap();
            answer
        })
        .await
        .unwrap();
        let text = String::from_utf8_lossy(&answer).into_owned();
        let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
        let mut lines = head.lines();
        let status = lines
            .next()
            .and_then(|line| line.split_whitespace().nth(1))
            .and_then(|code| code.parse().ok())
            .unwrap_or_else(|| panic!("{method} {target}: no status line in {text:?}"));
        let mut headers = reqwest::header::HeaderMap::new();
        for line in lines {
            if let Some((name, value)) = line.split_once(':')
                && let (Ok(name), Ok(value)) = (
                    reqwest::header::HeaderName::from_bytes(name.trim().as_bytes()),
                    reqwest::header::HeaderValue::from_str(value.trim()),
                )
            {
                headers.insert(name, value);
            }
        }
        assert!(
            headers.get("transfer-encoding").is_none(),
            "{method} {target}: a chunked answer: {text:?}"
        );
        let content_type = headers
            .get("content-type")
            .map(|v| v.to_str().unwrap().to_string())
            .unwrap_or_default();
        let json = serde_json::from_str(body).unwrap_or(serde_json::Value::Null);
        Reply { status, content_type, headers, text: body.to_string(), json }
    }
}
