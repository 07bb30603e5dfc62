//! The audit trail over real HTTP: each mutating request of a seller or operator is recorded
//! (who, what, status, request id, remote address) before it is answered; reads are not, and
//! only operators may read a trail.

use crate::support::{Auth, Market};
use serde_json::json;

const SELLER: Auth<'static> = Auth::As("seller-1");
const OPERATOR: Auth<'static> = Auth::As("operator-1");
const CUSTOMER: Auth<'static> = Auth::As("customer-1");

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_mutating_seller_request_leaves_a_record_with_its_request_id() {
    let m = Market::open(&[]);
    let mut request_ids = Vec::new();
    for name in ["Acme", "Acme Ltd"] {
        let reply = m.put(SELLER, "/v1/seller/profile", json!({"name": name})).await;
        assert_eq!(reply.status, 200);
        request_ids.push(reply.header("x-request-id").expect("an x-request-id").to_string());
    }
    // A refused change is recorded too, with its status; a read is not.
    let refused = m.put(SELLER, "/v1/seller/profile", json!({"name": ""})).await;
    assert_eq!(refused.status, 422);
    let read = m.get(SELLER, "/v1/products/B000000001").await;
    assert_eq!(read.status, 404);

    let trail = m.get(OPERATOR, "/admin/audit/seller/seller-1").await.json;
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
    let forbidden = m.get(CUSTOMER, "/admin/audit/seller/seller-1").await;
    assert_eq!(forbidden.status, 403);
    m.shut_down();
}

/// The audit runs before the role check (`audit::audited`, the first step of each group's
/// guard): a seller's change on an operator's route is refused 403 and still recorded.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_change_refused_for_its_role_is_recorded_too() {
    let m = Market::open(&[]);
    let refused = m.put(SELLER, "/admin/psp", json!({"auth_only": true})).await;
    assert_eq!(refused.status, 403);
    let trail = m.get(OPERATOR, "/admin/audit/seller/seller-1").await.json;
    assert_eq!(trail["total"], 1, "{trail}");
    let record = &trail["records"][0];
    assert_eq!(
        (record["method"].as_str(), record["path"].as_str()),
        (Some("PUT"), Some("/admin/psp"))
    );
    assert_eq!(record["status"], 403, "{record}");
    assert_eq!(record["request_id"], refused.header("x-request-id").unwrap(), "{record}");
    m.shut_down();
}
