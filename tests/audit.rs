//! The audit trail over real HTTP: each mutating request of a seller or operator is recorded
//! (who, what, status, request id, remote address) before it is answered; reads are not, and
//! only operators may read a trail.

mod support;

use reqwest::Client;
use serde_json::{Value, json};
use support::Server;

fn token(dir: &std::path::Path, role: &str) -> String {
    let listing = std::fs::read_to_string(dir.join("initial-tokens.txt")).unwrap();
    listing
        .lines()
        .find_map(|line| {
            let words: Vec<&str> = line.split_whitespace().collect();
            (words.len() == 4 && words[1] == role).then(|| words[3].to_string())
        })
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_mutating_seller_request_leaves_a_record_with_its_request_id() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    let (seller, operator, customer) =
        (token(dir.path(), "seller"), token(dir.path(), "operator"), token(dir.path(), "customer"));
    let client = Client::new();
    let mut request_ids = Vec::new();
    for name in ["Acme", "Acme Ltd"] {
        let response = client
            .put(server.url("/v1/seller/profile"))
            .bearer_auth(&seller)
            .json(&json!({"name": name}))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        request_ids.push(response.headers()["x-request-id"].to_str().unwrap().to_string());
    }
    // A refused change is recorded too, with its status; a read is not.
    let refused = client
        .put(server.url("/v1/seller/profile"))
        .bearer_auth(&seller)
        .json(&json!({"name": ""}))
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 422);
    let read = client
        .get(server.url("/v1/products/B000000001"))
        .bearer_auth(&seller)
        .send()
        .await
        .unwrap();
    assert_eq!(read.status(), 404);

    let trail: Value = client
        .get(server.url("/admin/audit/seller/seller-1"))
        .bearer_auth(&operator)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(trail["total"], 3, "{trail}");
    let records = trail["records"].as_array().unwrap();
    assert_eq!(records[0]["status"], 422);
    assert_eq!(records[1]["request_id"], request_ids[1].as_str());
    assert_eq!(records[2]["request_id"], request_ids[0].as_str());
    for record in records {
        assert_eq!(
            (record["method"].as_str(), record["path"].as_str()),
            (Some("PUT"), Some("/v1/seller/profile"))
        );
        assert!(record["remote"].as_str().unwrap().starts_with("127.0.0.1:"), "{record}");
        assert!(record["at_ms"].as_u64().unwrap() > 0);
    }
    let forbidden = client
        .get(server.url("/admin/audit/seller/seller-1"))
        .bearer_auth(&customer)
        .send()
        .await
        .unwrap();
    assert_eq!(forbidden.status(), 403);
    assert!(server.terminate().success());
}
