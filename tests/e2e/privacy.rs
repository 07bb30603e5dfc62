//! Personal data over real HTTP, on a real `bazaar serve` with the real provider simulators:
//! a customer's profile and delivery address are sealed before they reach the journal
//! (nothing of them is on disk in clear, even before erasure), opened for the customer and
//! support, and erased by destroying the customer's key (GDPR crypto-shredding). After the
//! erasure and a restart, no file of the data directory holds the name, the address, the
//! e-mail, the phone number, an unkeyed digest of a request that carried them, or the key
//! itself; the order keeps its amounts, the ledger
//! balances and reconciles, and nothing personal is accepted for the customer again.

use std::path::Path;

use crate::support::checkout::{A, Shop, Shopper, assert_trial_balance_zero, captured_once, minor};
use crate::support::{Auth, Body, OPERATOR, assert_problem};
use reqwest::Method;
use serde_json::json;

const AGENT: Auth<'static> = Auth::As("support-1");
const NAME: &str = "Quirinus Zbyszko-Hawthorne";
const STREET: &str = "17 Xylophone Wharf";
const CITY: &str = "Vexborough-on-Tide";
const POSTAL: &str = "QX7 9ZZ";
const EMAIL: &str = "quirinus.zbyszko@example.test";
const PHONE: &str = "+4930987654321";

/// Every regular file under `dir`, with its path.
fn files(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(files(&path));
        } else if let Ok(bytes) = std::fs::read(&path) {
            out.push((path.display().to_string(), bytes));
        }
    }
    out
}

/// The files under `dir` that hold `needle`.
fn holding(dir: &Path, needle: &[u8]) -> Vec<String> {
    let hit = |bytes: &[u8]| bytes.windows(needle.len()).any(|w| w == needle);
    files(dir).into_iter().filter(|(_, bytes)| hit(bytes)).map(|(path, _)| path).collect()
}

#[track_caller]
fn assert_nowhere_in_clear(dir: &Path, when: &str, digests: &[[u8; 32]]) {
    for secret in [NAME, STREET, CITY, POSTAL, EMAIL, PHONE, "Zbyszko", "Xylophone"] {
        let found = holding(dir, secret.as_bytes());
        assert!(found.is_empty(), "{when}: {secret:?} is in clear in {found:?}");
    }
    // Nor an unkeyed digest of a request that carried them, which anyone could test
    // guesses against: requests are fingerprinted under the customer's key.
    for digest in digests {
        let found = holding(dir, digest);
        assert!(found.is_empty(), "{when}: a plain digest of personal data is in {found:?}");
    }
}

/// The SHA-256 of `body` as a request fingerprint reads it (canonical JSON), and of the
/// profile's request as the idempotency layer would take it unkeyed.
fn plain_digests(profile: &serde_json::Value, checkout: &serde_json::Value) -> Vec<[u8; 32]> {
    use sha2::Digest;
    let bytes = |value: &serde_json::Value| serde_json::to_vec(value).unwrap();
    let canonical = |value| bazaar_gateway::idempotency::canonical_json(&bytes(value)).unwrap();
    let put = bazaar_gateway::idempotency::fingerprint("PUT", "/v1/customers/me", &bytes(profile));
    vec![put, sha2::Sha256::digest(canonical(checkout)).into()]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_erased_customers_personal_data_is_nowhere_on_disk_and_the_books_still_balance() {
    let shopper = Shopper::new(1);
    let shop = Shop::open(std::slice::from_ref(&shopper), 10, 10).await;
    let me = shopper.auth();
    let profile = json!({"name": NAME, "email": EMAIL, "phone": PHONE});
    // Under an Idempotency-Key, whose stored answer would hold the profile in clear: none is
    // stored, and the retry runs again.
    let key = [("idempotency-key", "profile-1")];
    for _ in 0..2 {
        let body = Body::Json(profile.clone());
        let set = shop.m.call_with_headers(Method::PUT, "/v1/customers/me", me, &key, body).await;
        assert_eq!((set.status, &set.json["email"]), (200, &json!(EMAIL)), "{}", set.text);
        assert_eq!(set.header("idempotent-replayed"), None);
    }
    let bad = shop.m.put(me, "/v1/customers/me", json!({"name": NAME, "email": "no-at"})).await;
    assert_problem(&bad, 422, "profile_invalid");

    let cart = shop.m.cart_with(me, &[(A, "seller-1", 1)]).await;
    let mut body = shopper.body(&cart);
    body["ship_to"] = json!({"name": NAME, "line1": STREET, "city": CITY, "postal_code": POSTAL, "country": "DE"});
    let view = shop.m.checkout_completes(me, "gdpr-1", body.clone()).await;
    let digests = plain_digests(&profile, &body);
    let id = view["order_id"].as_str().unwrap().to_string();
    captured_once(&shop, &id, minor(&view["total"])).await;

    // Its customer and support read the address and profile in clear.
    let address = json!({"country": "DE", "name": NAME, "line1": STREET, "city": CITY,
        "postal_code": POSTAL, "erased": false});
    assert_eq!(shop.m.order(me, &id).await["ship_to"], address);
    let support_view = shop.m.read(AGENT, &format!("/v1/support/orders/{id}")).await;
    assert_eq!(support_view["order"]["ship_to"], address);
    let customer = shop.m.read(AGENT, "/v1/support/customers/cust-1").await;
    assert_eq!((&customer["name"], &customer["phone"]), (&json!(NAME), &json!(PHONE)));
    // Sealed before it reached the journal: nothing in clear, though nothing is erased yet.
    let data = shop.m.data_dir().to_path_buf();
    assert_nowhere_in_clear(&data, "before erasure", &digests);
    let keys = files(&data.join("pii/keys"));
    assert_eq!(keys.len(), 1, "one data key, for the one customer");
    let wrapped_key = keys[0].1[4..].to_vec();

    let erased = shop.m.post(AGENT, "/v1/support/customers/cust-1/erasure", json!({})).await;
    assert_eq!(erased.status, 200, "{}", erased.text);
    let at = erased.json["erased_at_ms"].as_u64().expect("erased_at_ms");
    let again = shop.m.post(me, "/v1/customers/me/erasure", json!({})).await;
    assert_eq!((again.status, again.json["erased_at_ms"].as_u64()), (200, Some(at)), "once");

    let mut m = shop.m;
    m.restart();
    let gone =
        json!({"id": "cust-1", "name": null, "email": null, "phone": null, "erased_at_ms": at});
    assert_eq!(m.read(me, "/v1/customers/me").await, gone);
    let order = m.order(me, &id).await;
    let erased_address = json!({"country": "DE", "name": null, "line1": null, "city": null,
        "postal_code": null, "erased": true});
    assert_eq!(order["ship_to"], erased_address, "{order}");
    assert_eq!(order["total"], view["total"], "the order keeps its amounts");
    let ledger = m.read(OPERATOR, "/admin/ledger").await;
    assert_trial_balance_zero(&ledger);
    let reconciliation = m.get(OPERATOR, "/admin/reconciliation").await;
    assert_eq!(reconciliation.json["mismatches"], json!([]), "{}", reconciliation.text);

    // Nothing personal is accepted for the customer again.
    assert_problem(&m.put(me, "/v1/customers/me", profile).await, 409, "customer_erased");
    let cart = m.cart_with(me, &[(A, "seller-1", 1)]).await;
    body["cart_id"] = json!(cart);
    let refused = m.checkout(me, "gdpr-2", body).await;
    assert_problem(&refused, 409, "customer_erased");

    // A clean stop writes snapshots and flushes everything: still nothing, not even the key.
    m.restart();
    assert_nowhere_in_clear(&data, "after erasure and restarts", &digests);
    let found = holding(&data, &wrapped_key);
    assert!(found.is_empty(), "the destroyed key's bytes are still in {found:?}");
    drop((shop.primary, shop.backup));
}
