//! The calls and readings the catalog tests share: sellers, offers, stock, standing, the buy
//! box and search hits, each asserting that it succeeded.

use reqwest::Method;
use serde_json::{Value, json};

use super::{Auth, Market, Reply, eventually};

// The principals the catalog tests act as: the initial tokens, and seller-2 and seller-3 where
// a test mints them through `Market::open`.
pub const CUSTOMER: Auth<'static> = Auth::As("customer-1");
pub const OPERATOR: Auth<'static> = Auth::As("operator-1");
pub const SELLER_1: Auth<'static> = Auth::As("seller-1");
pub const SELLER_2: Auth<'static> = Auth::As("seller-2");
pub const SELLER_3: Auth<'static> = Auth::As("seller-3");

/// The calls of sellers, operators and shoppers, each asserting that it succeeded.
impl Market {
    pub async fn register(&self, seller: Auth<'_>, name: &str) {
        let body = self
            .write(200, Method::PUT, "/v1/seller/profile", seller, json!({ "name": name }))
            .await;
        assert_eq!((&body["name"], &body["standing"]), (&json!(name), &json!("good")));
    }

    pub async fn create_product(&self, seller: Auth<'_>, asin: &str, document: Value) {
        let body = json!({ "asin": asin, "currency": "EUR", "document": document });
        let reply = self.write(201, Method::POST, "/v1/seller/products", seller, body).await;
        assert_eq!(reply["asin"], asin);
    }

    /// Lists or revises an offer; answers the offer's buy box after the change.
    pub async fn put_offer(&self, seller: Auth<'_>, asin: &str, offer: Value) -> Value {
        let path = format!("/v1/seller/offers/{asin}");
        let reply = self.write(200, Method::PUT, &path, seller, offer).await;
        reply["buy_box"].clone()
    }

    pub async fn set_stock(
        &self,
        seller: Auth<'_>,
        sku: &str,
        location: &str,
        quantity: u32,
        seq: u64,
    ) {
        let path = format!("/v1/seller/inventory/{sku}/{location}");
        let body = json!({ "quantity": quantity, "feed_seq": seq });
        let stock = self.write(200, Method::PUT, &path, seller, body).await;
        assert_eq!((&stock["on_hand"], &stock["last_feed_seq"]), (&json!(quantity), &json!(seq)));
    }

    pub async fn set_standing(&self, seller: &str, standing: &str) {
        let path = format!("/admin/sellers/{seller}/standing");
        let body = json!({ "standing": standing });
        let reply = self.write(200, Method::PUT, &path, OPERATOR, body).await;
        assert_eq!(reply["standing"], standing);
    }

    pub async fn set_score(&self, seller: &str, rating_hundredths: u16, defect_bps: u16) {
        let path = format!("/admin/sellers/{seller}/score");
        let body = json!({ "rating_hundredths": rating_hundredths, "defect_bps": defect_bps });
        self.write(200, Method::PUT, &path, OPERATOR, body).await;
    }

    /// A product as a shopper sees it.
    pub async fn product(&self, asin: &str) -> Value {
        self.read(CUSTOMER, &format!("/v1/products/{asin}")).await
    }

    /// Waits until the buy box of `asin` is `seller`'s at `landed` minor units (or until there
    /// is none, for `None`), and answers the product.
    pub async fn buy_box_settles(&self, asin: &str, expected: Option<(&str, i64)>) -> Value {
        eventually(&format!("buy box of {asin} is {expected:?}"), async || {
            let product = self.product(asin).await;
            if winner(&product).as_ref().map(|(s, p)| (s.as_str(), *p)) == expected {
                Ok(product)
            } else {
                Err(offers_line(&product))
            }
        })
        .await
    }

    /// `GET /v1/search` with `params`, as a shopper; must answer 200.
    pub async fn search(&self, params: &[(&str, &str)]) -> Value {
        let url = reqwest::Url::parse_with_params(&self.url("/v1/search"), params).unwrap();
        let path = format!("{}?{}", url.path(), url.query().unwrap_or(""));
        self.read(CUSTOMER, &path).await
    }
}

/// The buy box winner and landed price of a product.
pub fn winner(product: &Value) -> Option<(String, i64)> {
    let buy_box = product["buy_box"].as_object()?;
    Some((buy_box["seller"].as_str()?.to_string(), buy_box["landed"]["minor"].as_i64()?))
}

/// Every offer of a product as `(seller, landed, available, eligible)`, in the product's order.
pub fn offers(product: &Value) -> Vec<(String, i64, u64, bool)> {
    product["offers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|offer| {
            (
                offer["seller"].as_str().unwrap().to_string(),
                offer["landed"]["minor"].as_i64().unwrap(),
                offer["available"].as_u64().unwrap(),
                offer["eligible"].as_bool().unwrap(),
            )
        })
        .collect()
}

pub fn offers_line(product: &Value) -> String {
    format!("buy box {:?}, offers {:?}", winner(product), offers(product))
}

/// Offer terms in EUR.
pub fn offer(sku: &str, price: i64, shipping: i64, fulfilment: &str, handling_days: u16) -> Value {
    json!({
        "sku": sku,
        "price": { "minor": price, "currency": "EUR" },
        "shipping": { "minor": shipping, "currency": "EUR" },
        "condition": "new",
        "fulfilment": fulfilment,
        "handling_days": handling_days,
    })
}

/// `offer` with the units the seller has (what the seller's inventory says).
pub fn offer_with(
    sku: &str,
    price: i64,
    shipping: i64,
    fulfilment: &str,
    days: u16,
    available: u32,
) -> Value {
    let mut terms = offer(sku, price, shipping, fulfilment, days);
    terms["available"] = json!(available);
    terms
}

pub fn document(title: &str, brand: &str, category_path: &[&str]) -> Value {
    json!({ "title": title, "brand": brand, "category_path": category_path })
}

/// The ASINs of a search answer's hits, in order.
pub fn hit_asins(answer: &Value) -> Vec<String> {
    answer["hits"].as_array().unwrap().iter().map(|h| h["asin"].as_str().unwrap().into()).collect()
}

/// The refused lines a feed's answer lists: (line, status, code), in file order.
pub fn refused_lines(reply: &Reply) -> Vec<(u64, u64, Value)> {
    reply.json["refused_lines"]
        .as_array()
        .expect("a feed's answer")
        .iter()
        .map(|l| (l["line"].as_u64().unwrap(), l["status"].as_u64().unwrap(), l["code"].clone()))
        .collect()
}
