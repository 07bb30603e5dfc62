//! Recommendations learnt from real checkouts: what was bought in the same order, what the
//! same customers bought in others, only pairs seen twice and products in stock, and the
//! same answers after a restart (rebuilt from the journal).

use crate::support::checkout::{A, B, Listing, SETTLES, Shop, Shopper};
use crate::support::{CUSTOMER, SELLER_1, eventually_within};
use serde_json::{Value, json};

const C: &str = "B0000CHKC1";
const SKU_C: &str = "sku-c";

/// The ASINs of one list of an answer, in its order.
fn listed(answer: &Value, list: &str) -> Vec<String> {
    let items = answer[list].as_array().unwrap_or_else(|| panic!("{list}: {answer}"));
    items.iter().map(|item| item["asin"].as_str().unwrap().to_string()).collect()
}

fn one(asin: &str) -> Vec<String> {
    vec![asin.to_string()]
}

const NONE: Vec<String> = Vec::new();

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn orders_teach_what_is_bought_together_and_it_survives_a_restart() {
    let shoppers: Vec<Shopper> = (1..=4).map(Shopper::new).collect();
    let mut shop = Shop::open(&shoppers, 50, 50).await;
    let c = Listing {
        seller: SELLER_1,
        seller_id: "seller-1",
        asin: C,
        sku: SKU_C,
        price: 700,
        shipping: 0,
        tax_class: "standard",
        stock: 5,
        create: true,
    };
    shop.m.list(&c).await;
    let m = &shop.m;
    let path = |asin: &str| format!("/v1/products/{asin}/recommendations");
    assert_eq!(
        m.read(CUSTOMER, &path(A)).await,
        json!({"asin": A, "bought_together": [], "also_bought": []}),
        "nothing ordered yet"
    );

    // Shoppers 1 and 3 buy A and B in one order; 2 and 4 buy A, then C in a later order.
    let order = async |shopper: &Shopper, key: &str, items: &[(&str, &str, u32)]| {
        let cart = m.cart_with(shopper.auth(), items).await;
        m.checkout_completes(shopper.auth(), key, shopper.body(&cart)).await;
    };
    order(&shoppers[0], "reco-1", &[(A, "seller-1", 1), (B, "seller-2", 1)]).await;
    order(&shoppers[1], "reco-2", &[(A, "seller-1", 1)]).await;
    order(&shoppers[1], "reco-3", &[(C, "seller-1", 1)]).await;
    let of_a = m.read(CUSTOMER, &path(A)).await;
    assert_eq!(
        (listed(&of_a, "bought_together"), listed(&of_a, "also_bought")),
        (NONE, NONE),
        "each pair seen once: it would tell what one shopper bought"
    );
    order(&shoppers[2], "reco-4", &[(A, "seller-1", 1), (B, "seller-2", 1)]).await;
    order(&shoppers[3], "reco-5", &[(A, "seller-1", 1)]).await;
    order(&shoppers[3], "reco-6", &[(C, "seller-1", 1)]).await;

    // Learnt as each order became durable: a completed checkout's order is.
    let of_a = m.read(CUSTOMER, &path(A)).await;
    assert_eq!((listed(&of_a, "bought_together"), listed(&of_a, "also_bought")), (one(B), one(C)));
    let item = &of_a["bought_together"][0];
    assert_eq!(
        (&item["title"], &item["price"]["minor"]),
        (&json!(format!("Item {B}")), &json!(1250))
    );
    let of_c = m.read(SELLER_1, &path(C)).await;
    assert_eq!((listed(&of_c, "bought_together"), listed(&of_c, "also_bought")), (NONE, one(A)));

    // Out of stock, C is not recommended; back in stock, it is again.
    m.set_stock(SELLER_1, SKU_C, "FRA1", 0, 2).await;
    eventually_within(SETTLES, "an out-of-stock product is not recommended", async || {
        let also = listed(&m.read(CUSTOMER, &path(A)).await, "also_bought");
        if also.is_empty() { Ok(()) } else { Err(format!("{also:?}")) }
    })
    .await;
    m.set_stock(SELLER_1, SKU_C, "FRA1", 3, 3).await;
    eventually_within(SETTLES, "a product back in stock is recommended", async || {
        let also = listed(&m.read(CUSTOMER, &path(A)).await, "also_bought");
        if also == one(C) { Ok(()) } else { Err(format!("{also:?}")) }
    })
    .await;

    // Bounds and unknown products.
    let limited = m.read(CUSTOMER, &format!("{}?limit=1", path(A))).await;
    assert_eq!(listed(&limited, "bought_together"), one(B));
    for (bad, code) in [
        ("limit=0", "invalid_limit"),
        ("limit=21", "invalid_limit"),
        ("limit=x", ""),
        ("other=1", ""),
    ] {
        let reply = m.get(CUSTOMER, &format!("{}?{bad}", path(A))).await;
        assert_eq!(reply.status, 400, "{bad}: {}", reply.text);
        assert!(code.is_empty() || reply.json["code"] == code, "{bad}: {}", reply.text);
    }
    assert_eq!(m.get(CUSTOMER, &path("B0000NONE1")).await.status, 404);

    // Rebuilt from the journal at start.
    shop.m.restart();
    let m = &shop.m;
    let again = m.read(CUSTOMER, &path(A)).await;
    assert_eq!(listed(&again, "bought_together"), one(B));
    assert_eq!(listed(&again, "also_bought"), one(C));
    shop.m.shut_down();
}
