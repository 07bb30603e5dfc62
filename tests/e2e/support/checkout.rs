//! The calls and readings the checkout tests share: payment simulators wired into a
//! marketplace, shoppers with a card and an address of their own, listings, carts, checkouts
//! and orders awaited until they settle, the ledger, and what the simulators recorded.
//!
//! The simulators' settlement reports are the judge of what happened to money: the tests
//! read them directly, never through the marketplace.

use std::time::Duration;

use reqwest::Method;
use serde_json::{Value, json};

use super::psp::Psp;
use super::{
    Auth, Body, Market, OPERATOR, Reply, SELLER_1, SELLER_2, eventually, eventually_within, offers,
};

/// How long a checkout or a payment may take to settle: a saga is milliseconds, but a
/// resumed one after a crash, or a retry behind an open breaker, takes seconds.
pub const SETTLES: Duration = Duration::from_secs(30);

/// The `serve` arguments that make `psps` the marketplace's payment providers, in this
/// order of preference.
pub fn psp_args(psps: &[&Psp]) -> Vec<String> {
    psps.iter()
        .flat_map(|psp| ["--psp".to_string(), format!("{}={}", psp.name, psp.base)])
        .collect()
}

/// A customer of a checkout test, `cust-{n}`, with a card and a shipping address of its own:
/// fraud scoring counts checkouts per customer, card and address.
#[derive(Clone, Debug)]
pub struct Shopper {
    pub id: String,
    pub n: u32,
}

impl Shopper {
    pub fn new(n: u32) -> Shopper {
        Shopper { id: format!("cust-{n}"), n }
    }

    pub fn auth(&self) -> Auth<'_> {
        Auth::As(&self.id)
    }

    pub fn card(&self) -> String {
        format!("tok_visa_{}", self.n)
    }

    /// A checkout body for `cart` with this shopper's card and address.
    pub fn body(&self, cart: &str) -> Value {
        self.body_with_card(cart, &self.card())
    }

    pub fn body_with_card(&self, cart: &str, card: &str) -> Value {
        let n = self.n;
        json!({
            "cart_id": cart,
            "ship_to": {
                "name": format!("Customer {n}"),
                "line1": format!("Hauptstrasse {n}"),
                "city": "Berlin",
                "postal_code": format!("{:05}", 10_000 + n),
                "country": "DE",
            },
            "payment": { "card": card, "billing_country": "DE" },
            "coupons": [],
        })
    }
}

/// `(role, principal)` for [`Market::open_with`]: a customer token for each shopper.
pub fn customer_tokens(shoppers: &[Shopper]) -> Vec<(&str, &str)> {
    shoppers.iter().map(|shopper| ("customer", shopper.id.as_str())).collect()
}

/// One seller's offer of a product, stocked at FRA1.
pub struct Listing<'a> {
    pub seller: Auth<'a>,
    pub seller_id: &'a str,
    pub asin: &'a str,
    pub sku: &'a str,
    /// Price and shipping a unit, in EUR minor units.
    pub price: i64,
    pub shipping: i64,
    /// `standard` or `reduced` VAT.
    pub tax_class: &'a str,
    pub stock: u32,
    /// Whether this listing creates the product (the first offer of it does).
    pub create: bool,
}

/// The amount of a money value (`{minor, currency}`), which must be in EUR.
#[track_caller]
pub fn minor(money: &Value) -> i64 {
    assert_eq!(money["currency"], "EUR", "{money}");
    money["minor"].as_i64().unwrap_or_else(|| panic!("a money value: {money}"))
}

/// The balance of `account` in EUR in an `/admin/ledger` answer; 0 when it is not listed.
pub fn balance(ledger: &Value, account: &str) -> i64 {
    let balances = ledger["balances"].as_array().expect("balances");
    balances
        .iter()
        .filter(|b| b["account"] == account && b["currency"] == "EUR")
        .map(|b| b["minor"].as_i64().expect("minor units"))
        .sum()
}

/// The balances of every account whose name starts with `prefix`, summed.
pub fn balance_of_kind(ledger: &Value, prefix: &str) -> i64 {
    let balances = ledger["balances"].as_array().expect("balances");
    balances
        .iter()
        .filter(|b| b["account"].as_str().is_some_and(|a| a.starts_with(prefix)))
        .map(|b| b["minor"].as_i64().expect("minor units"))
        .sum()
}

/// Every trial balance is zero and every balance sums to zero per currency.
#[track_caller]
pub fn assert_trial_balance_zero(ledger: &Value) {
    let trial = ledger["trial_balance"].as_array().expect("trial_balance");
    assert!(trial.iter().all(|t| t["minor"] == 0), "trial balance not zero: {ledger}");
    let sum: i64 = ledger["balances"]
        .as_array()
        .expect("balances")
        .iter()
        .filter(|b| b["currency"] == "EUR")
        .map(|b| b["minor"].as_i64().unwrap())
        .sum();
    assert_eq!(sum, 0, "the balances do not sum to zero: {ledger}");
}

/// The marketplace's commission on a line's net: 15 %, rounded half up (cluster.toml).
pub fn commission(net: i64) -> i64 {
    (net * 1_500 + 5_000) / 10_000
}

/// Every authorization `psps` recorded, with the provider's name.
pub async fn authorizations(psps: &[&Psp]) -> Vec<(String, Value)> {
    let mut all = Vec::new();
    for psp in psps {
        for record in psp.authorizations().await {
            all.push((psp.name.clone(), record));
        }
    }
    all
}

/// The records of `psps` under authorization key `key`.
pub async fn authorizations_for(psps: &[&Psp], key: &str) -> Vec<(String, Value)> {
    let all = authorizations(psps).await;
    all.into_iter().filter(|(_, record)| record["key"] == key).collect()
}

/// The checkout calls and readings, each asserting that it succeeded.
impl Market {
    /// Creates the product (if `listing.create`), offers it and stocks it, and waits until
    /// the offer shows the stock.
    pub async fn list(&self, listing: &Listing<'_>) {
        if listing.create {
            let document = json!({"title": format!("Item {}", listing.asin), "brand": "Acme",
                "category_path": ["Home"], "tax_class": listing.tax_class});
            self.create_product(listing.seller, listing.asin, document).await;
        }
        let offer = super::offer(listing.sku, listing.price, listing.shipping, "seller", 1);
        self.put_offer(listing.seller, listing.asin, offer).await;
        self.set_stock(listing.seller, listing.sku, "FRA1", listing.stock, 1).await;
        let stock = u64::from(listing.stock);
        eventually(
            &format!("{}'s stock of {} shows", listing.seller_id, listing.asin),
            async || {
                let product = self.product(listing.asin).await;
                let shown = offers(&product).iter().any(|(seller, _, available, _)| {
                    seller == listing.seller_id && *available == stock
                });
                if shown { Ok(()) } else { Err(product.to_string()) }
            },
        )
        .await;
    }

    /// A new EUR cart of `who` with `items` as (ASIN, seller, quantity); answers its id.
    pub async fn cart_with(&self, who: Auth<'_>, items: &[(&str, &str, u32)]) -> String {
        let cart =
            self.write(201, Method::POST, "/v1/carts", who, json!({"currency": "EUR"})).await;
        let id = cart["id"].as_str().expect("a cart id").to_string();
        for (asin, seller, quantity) in items {
            let item = json!({"asin": asin, "seller": seller, "quantity": quantity});
            self.write(200, Method::POST, &format!("/v1/carts/{id}/items"), who, item).await;
        }
        id
    }

    /// `POST /v1/checkouts` with `Idempotency-Key: key`.
    pub async fn checkout(&self, who: Auth<'_>, key: &str, body: Value) -> Reply {
        let headers = [("idempotency-key", key)];
        self.call_with_headers(Method::POST, "/v1/checkouts", who, &headers, Body::Json(body)).await
    }

    /// `GET /v1/checkouts/{key}`, whatever the answer.
    pub async fn checkout_status(&self, who: Auth<'_>, key: &str) -> Reply {
        self.get(who, &format!("/v1/checkouts/{key}")).await
    }

    /// Polls the checkout `key` until it is no longer pending (within `limit`); answers it.
    pub async fn checkout_settles(&self, who: Auth<'_>, key: &str, limit: Duration) -> Value {
        eventually_within(limit, &format!("checkout {key} settles"), async || {
            let reply = self.checkout_status(who, key).await;
            match (reply.status, reply.json["status"].as_str()) {
                (200, Some("completed" | "failed")) => Ok(reply.json),
                (200, Some("pending")) => Err(reply.text),
                _ => panic!("GET /v1/checkouts/{key}: {} {}", reply.status, reply.text),
            }
        })
        .await
    }

    /// Checks out and asserts it completes: 201, or 202 and then completed when polled.
    /// Answers the completed checkout.
    pub async fn checkout_completes(&self, who: Auth<'_>, key: &str, body: Value) -> Value {
        let reply = self.checkout(who, key, body).await;
        settled_view(self, who, key, &reply).await
    }

    /// The order `id` as `who` sees it.
    pub async fn order(&self, who: Auth<'_>, id: &str) -> Value {
        self.read(who, &format!("/v1/orders/{id}")).await
    }

    /// The summaries of `who`'s orders.
    pub async fn orders(&self, who: Auth<'_>) -> Vec<Value> {
        self.read(who, "/v1/orders").await.as_array().expect("a list of orders").clone()
    }

    /// Waits until `who`'s order list holds exactly the orders `ids` (in any order).
    pub async fn orders_are(&self, who: Auth<'_>, ids: &[&str]) -> Vec<Value> {
        let mut wanted: Vec<&str> = ids.to_vec();
        wanted.sort_unstable();
        eventually_within(SETTLES, &format!("the order list is {wanted:?}"), async || {
            let orders = self.orders(who).await;
            let mut listed: Vec<&str> = orders.iter().map(|o| o["id"].as_str().unwrap()).collect();
            listed.sort_unstable();
            if listed == wanted { Ok(orders.clone()) } else { Err(format!("{orders:?}")) }
        })
        .await
    }

    /// Waits until the order's payment has captured its total; answers the order.
    pub async fn order_captured(&self, who: Auth<'_>, id: &str) -> Value {
        eventually_within(SETTLES, &format!("order {id} captured"), async || {
            let order = self.order(who, id).await;
            let (captured, total) = (minor(&order["payment"]["captured"]), minor(&order["total"]));
            if captured == total { Ok(order) } else { Err(order["payment"].to_string()) }
        })
        .await
    }

    /// `(on_hand, reserved, available)` of `sku` at FRA1, as its seller sees it.
    pub async fn stock_level(&self, seller: Auth<'_>, sku: &str) -> (u64, u64, u64) {
        let level = self.read(seller, &format!("/v1/seller/inventory/{sku}/FRA1")).await;
        let field = |name: &str| level[name].as_u64().unwrap_or_else(|| panic!("{name}: {level}"));
        (field("on_hand"), field("reserved"), field("available"))
    }

    /// `/admin/ledger`, as the operator.
    pub async fn ledger(&self) -> Value {
        self.read(OPERATOR, "/admin/ledger").await
    }

    /// The ledger, once `account` holds `minor` EUR (`what` names the wait in a failure).
    pub async fn ledger_once(&self, what: &str, account: &str, minor: i64) -> Value {
        eventually(what, async || {
            let ledger = self.ledger().await;
            if balance(&ledger, account) == minor { Ok(ledger) } else { Err(ledger.to_string()) }
        })
        .await
    }

    /// `/admin/psp`, as the operator.
    pub async fn psp_status(&self) -> Value {
        self.read(OPERATOR, "/admin/psp").await
    }

    /// Waits until `/admin/reconciliation` answers and finds no mismatch; answers it.
    pub async fn reconciled(&self) -> Value {
        eventually_within(SETTLES, "the ledger reconciles with the providers", async || {
            let reply = self.get(OPERATOR, "/admin/reconciliation").await;
            let clean = reply.json["mismatches"].as_array().is_some_and(Vec::is_empty);
            if reply.status == 200 && clean { Ok(reply.json) } else { Err(reply.text) }
        })
        .await
    }
}

/// The final view of a checkout whose POST answered `reply`: the 201's body, or after a 202
/// the view polled until it settled, which must be completed.
pub async fn settled_view(m: &Market, who: Auth<'_>, key: &str, reply: &Reply) -> Value {
    let view = match reply.status {
        201 => reply.json.clone(),
        202 => {
            assert_eq!(reply.json["status"], "pending", "{}", reply.text);
            m.checkout_settles(who, key, SETTLES).await
        }
        _ => panic!("checkout {key}: {} {}", reply.status, reply.text),
    };
    assert_eq!(view["status"], "completed", "checkout {key}: {view}");
    view
}

// ---------------------------------------------------------------------------------------------
// A shop of two sellers

/// Product A: 19.99 and 4.99 shipping a unit, standard VAT, sold by seller-1.
pub const A: &str = "B0000CHKA1";
pub const SKU_A: &str = "sku-a";
/// Product B: 12.50 with free shipping, reduced VAT, sold by seller-2.
pub const B: &str = "B0000CHKB1";
pub const SKU_B: &str = "sku-b";

/// A marketplace whose payment providers are two fresh simulators, with seller-1 offering
/// `stock_a` units of A and seller-2 `stock_b` units of B, and a token for each shopper.
pub struct Shop {
    pub m: Market,
    pub primary: Psp,
    pub backup: Psp,
}

impl Shop {
    pub async fn open(shoppers: &[Shopper], stock_a: u32, stock_b: u32) -> Shop {
        Shop::open_configured(shoppers, stock_a, stock_b, &[]).await
    }

    /// [`Shop::open`] on the shipped configuration with `knobs` changed (`config_with`).
    pub async fn open_configured(
        shoppers: &[Shopper],
        stock_a: u32,
        stock_b: u32,
        knobs: &[(&str, String)],
    ) -> Shop {
        let primary = Psp::start("primary", &[]);
        let backup = Psp::start("backup", &[]);
        let mut principals = customer_tokens(shoppers);
        principals.push(("seller", "seller-2"));
        let dir = tempfile::tempdir().unwrap();
        let config = super::config_with(dir.path(), knobs);
        let args = psp_args(&[&primary, &backup]);
        let mut m = Market::open_configured(dir.path().join("data"), config, &principals, &args);
        m._dir = Some(dir);
        m.register(SELLER_1, "First").await;
        m.register(SELLER_2, "Second").await;
        let a = Listing {
            seller: SELLER_1,
            seller_id: "seller-1",
            asin: A,
            sku: SKU_A,
            price: 1999,
            shipping: 499,
            tax_class: "standard",
            stock: stock_a,
            create: true,
        };
        let b = Listing {
            seller: SELLER_2,
            seller_id: "seller-2",
            asin: B,
            sku: SKU_B,
            price: 1250,
            shipping: 0,
            tax_class: "reduced",
            stock: stock_b,
            create: true,
        };
        m.list(&a).await;
        m.list(&b).await;
        Shop { m, primary, backup }
    }

    pub fn psps(&self) -> [&Psp; 2] {
        [&self.primary, &self.backup]
    }

    /// The records of both simulators under `key`, and that none of them holds money: every
    /// one is voided or declined.
    pub async fn assert_nothing_held(&self, key: &str) -> Vec<(String, Value)> {
        let records = authorizations_for(&self.psps(), key).await;
        for (psp, record) in &records {
            let status = record["status"].as_str();
            assert!(
                matches!(status, Some("voided" | "declined")) && record["captured_minor"] == 0,
                "{psp} holds money for {key}: {record}"
            );
        }
        records
    }
}

/// The only record under `key` across the simulators, once it is authorized and captured
/// for `amount`; no other provider may hold anything under the key.
pub async fn captured_once(shop: &Shop, key: &str, amount: i64) -> (String, Value) {
    eventually_within(SETTLES, &format!("{key} captured at one provider"), async || {
        let records = authorizations_for(&shop.psps(), key).await;
        let live: Vec<&(String, Value)> =
            records.iter().filter(|(_, r)| r["status"] != "voided").collect();
        match live.as_slice() {
            [(psp, record)]
                if record["status"] == "authorized"
                    && record["amount_minor"] == amount
                    && record["currency"] == "EUR"
                    && record["captured_minor"] == amount
                    && record["refunded_minor"] == 0 =>
            {
                Ok((psp.clone(), record.clone()))
            }
            _ => Err(format!("{records:?}")),
        }
    })
    .await
}

/// The shipment numbers of `order` and the seller of each.
pub fn shipments(order: &Value) -> Vec<(u64, String)> {
    let shipments = order["shipments"].as_array().expect("shipments");
    shipments
        .iter()
        .map(|s| (s["number"].as_u64().unwrap(), s["seller"].as_str().unwrap().to_string()))
        .collect()
}

pub fn seller_auth(seller: &str) -> Auth<'static> {
    match seller {
        "seller-1" => SELLER_1,
        "seller-2" => SELLER_2,
        other => panic!("no token for {other}"),
    }
}

/// Dispatches every shipment of `order` as its seller.
pub async fn dispatch_all(m: &Market, order: &Value) {
    let id = order["id"].as_str().unwrap();
    for (number, seller) in shipments(order) {
        let path = format!("/v1/seller/orders/{id}/shipments/{number}/dispatch");
        let body = json!({"carrier": "DHL", "tracking": format!("TRACK-{number}")});
        m.write(200, Method::POST, &path, seller_auth(&seller), body).await;
    }
}
