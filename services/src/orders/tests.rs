//! The order book over orders folded by hand (no engine): lists, history, revisions, bounds.

use super::*;
use bazaar_actors::order::fixtures::{CHECKOUT, capture, order, seller};
use bazaar_actors::order::{NewOrder, OrderCommand, entity_id};
use bazaar_actors::testing::Harness;

/// The state of an order of `customer` placed at `at_ms` by checkout `checkout`.
fn placed(customer: &str, checkout: &str, at_ms: u64) -> (String, Order) {
    let mut new: NewOrder = order();
    new.customer = CustomerId::parse(customer).unwrap();
    new.checkout = checkout.into();
    let key = entity_id("eu", &OrderId::for_checkout(checkout));
    let mut harness = Harness::<Order>::new(&key);
    harness.now_ms = at_ms;
    harness.run(OrderCommand::Place { order: Box::new(new), plan: None }).unwrap();
    (key, harness.state)
}

/// The view of an order of `customer` with one line of each product `B{n:09}` in `asins`.
pub(super) fn order_of(customer: &str, asins: &[u32]) -> OrderView {
    use bazaar_actors::order::fixtures::{LineSpec, order_of};
    let specs: Vec<LineSpec> = asins.iter().map(|_| LineSpec::new("s1", "FRA1", 100)).collect();
    let mut new = order_of(&specs, 0);
    new.customer = c(customer);
    for (line, n) in new.lines.iter_mut().zip(asins) {
        line.asin = bazaar_actors::Asin::parse(&format!("B{n:09}")).unwrap();
    }
    let mut harness = Harness::<Order>::new(&entity_id("t", &OrderId::for_checkout(CHECKOUT)));
    harness.run(OrderCommand::Place { order: Box::new(new), plan: None }).unwrap();
    harness.state.view().unwrap().clone()
}

fn c(name: &str) -> CustomerId {
    CustomerId::parse(name).unwrap()
}

#[test]
fn customers_see_their_orders_newest_first() {
    let book = OrderBook::default();
    for (customer, checkout, at) in [("c1", "k1", 10), ("c1", "k2", 30), ("c2", "k3", 20)] {
        let (key, state) = placed(customer, checkout, at);
        book.fold(&key, &state);
    }
    let mine: Vec<u64> =
        book.customer_orders("eu", &c("c1")).iter().map(|o| o.placed_at_ms).collect();
    assert_eq!(mine, [30, 10]);
    let summary = &book.customer_orders("eu", &c("c2"))[0];
    assert_eq!(
        (summary.total.minor, summary.lines, summary.status),
        (3_510, 3, OrderStatus::Placed)
    );
    assert!(book.customer_orders("other", &c("c1")).is_empty(), "tenants apart");

    let history = book.customer_history("eu", &c("c1"));
    assert_eq!((history.orders, history.first_order_at_ms), (2, Some(10)));
    assert_eq!(history.spent, [Spent { amount: Money::new(7_020, Currency::EUR), orders: 2 }]);
    let facts = book.customer_facts("eu", &c("c1"), Currency::EUR);
    assert_eq!((facts.orders, facts.average_minor), (2, Some(3_510)));
    assert_eq!(book.customer_facts("eu", &c("c1"), Currency::USD).average_minor, None);
    assert_eq!(book.customer_history("eu", &c("nobody")), CustomerHistory::default());
}

#[test]
fn sellers_see_only_their_lines_and_shipments() {
    let book = OrderBook::default();
    let key = entity_id("eu", &OrderId::for_checkout(CHECKOUT));
    let mut harness = Harness::<Order>::new(&key);
    harness.run(OrderCommand::Place { order: Box::new(order()), plan: None }).unwrap();
    harness
        .run(OrderCommand::PlanShipments { plan: bazaar_actors::order::fixtures::terms(1) })
        .unwrap();
    book.fold(&key, &harness.state);
    let s1 = book.seller_orders("eu", &seller("s1"));
    assert_eq!(s1.len(), 1);
    assert_eq!(s1[0].lines.len(), 2);
    assert!(s1[0].lines.iter().all(|line| line.seller == seller("s1")));
    let numbers: Vec<u16> = s1[0].shipments.iter().map(|s| s.number).collect();
    assert_eq!(numbers, [1, 3]);
    assert_eq!(book.seller_orders("eu", &seller("s2"))[0].lines.len(), 1);
    assert!(book.seller_orders("eu", &seller("s3")).is_empty());
}

#[test]
fn an_older_revision_never_replaces_a_newer_one() {
    let book = OrderBook::default();
    let key = entity_id("eu", &OrderId::for_checkout(CHECKOUT));
    let mut harness = Harness::<Order>::new(&key);
    harness.run(OrderCommand::Place { order: Box::new(order()), plan: None }).unwrap();
    let old = harness.state.clone();
    harness.run(OrderCommand::RecordCapture { capture: capture("c1", 10) }).unwrap();
    harness.run(OrderCommand::Cancel { reason: String::new() }).unwrap();
    book.fold(&key, &harness.state);
    book.fold(&key, &old);
    let orders = book.customer_orders("eu", &c("c1"));
    assert_eq!(orders[0].status, OrderStatus::Cancelled);
    assert_eq!(book.customer_history("eu", &c("c1")).orders, 1, "counted once");
}

#[test]
fn a_customer_keeps_the_newest_summaries_only() {
    let book = OrderBook::default();
    let extra = 3;
    for n in 0..(ORDERS_PER_CUSTOMER_MAX + extra) {
        let (key, state) = placed("c1", &format!("k{n}"), n as u64);
        book.fold(&key, &state);
    }
    let orders = book.customer_orders("eu", &c("c1"));
    assert_eq!(orders.len(), ORDERS_PER_CUSTOMER_MAX);
    assert_eq!(orders.last().map(|o| o.placed_at_ms), Some(extra as u64), "the oldest dropped");
    let history = book.customer_history("eu", &c("c1"));
    assert_eq!(history.orders as usize, ORDERS_PER_CUSTOMER_MAX + extra, "history counts all");
    assert_eq!(history.first_order_at_ms, Some(0));
}

#[test]
fn an_order_stays_unsettled_until_paid_and_restocked() {
    let book = OrderBook::default();
    let key = entity_id("eu", &OrderId::for_checkout(CHECKOUT));
    let listed = [key.clone()];
    let mut harness = Harness::<Order>::new(&key);
    let total = order().totals.total.minor;
    harness.run(OrderCommand::Place { order: Box::new(order()), plan: None }).unwrap();
    book.fold(&key, &harness.state);
    assert_eq!(book.unsettled(), listed, "a capture is due");
    harness.run(OrderCommand::RecordCapture { capture: capture("c1", total) }).unwrap();
    book.fold(&key, &harness.state);
    assert!(book.unsettled().is_empty(), "paid, nothing else to do");

    harness.run(OrderCommand::Cancel { reason: String::new() }).unwrap();
    book.fold(&key, &harness.state);
    assert_eq!(book.unsettled(), listed, "a refund and a restock are due");
    let refund = bazaar_actors::order::fixtures::refund("r1", total);
    harness.run(OrderCommand::RecordRefund { refund }).unwrap();
    book.fold(&key, &harness.state);
    assert_eq!(book.unsettled(), listed, "refunded, the units are still out");
    harness.run(OrderCommand::RecordRestock).unwrap();
    book.fold(&key, &harness.state);
    assert!(book.unsettled().is_empty(), "refunded and restocked");
}

#[test]
fn a_pair_is_recommended_once_two_orders_had_it() {
    let book = OrderBook::default();
    let a = bazaar_actors::Asin::parse("B000000001").unwrap();
    let learn = |customer: &str, checkout: &str| {
        let mut view = order_of(customer, &[1, 2]);
        view.id = OrderId::for_checkout(checkout);
        let tenant = Tenant::from("t");
        book.shared.publish(tenant, &view);
    };
    learn("alice", "k1");
    learn("alice", "k1");
    assert!(
        book.recommendations("t", &a).bought_together.is_empty(),
        "one order: nobody's business"
    );
    learn("bob", "k2");
    let together = book.recommendations("t", &a).bought_together;
    assert_eq!(together.len(), 1, "two orders: {together:?}");
}

#[test]
fn a_pair_seen_once_stays_hidden_past_the_candidates_bound() {
    use crate::limits::RECOMMENDATION_CANDIDATES_MAX;
    let book = OrderBook::default();
    let a = bazaar_actors::Asin::parse("B000000000").unwrap();
    // Product 0 bought once with each of more partners than a list keeps.
    for n in 1..=RECOMMENDATION_CANDIDATES_MAX as u32 + 1 {
        let mut view = order_of(&format!("c{n}"), &[0, n]);
        view.id = OrderId::for_checkout(&format!("k{n}"));
        book.shared.publish(Tenant::from("t"), &view);
    }
    let together = book.recommendations("t", &a).bought_together;
    assert!(together.is_empty(), "each pair was seen once: {together:?}");
}

#[test]
fn a_sellers_statement_sums_its_orders_and_says_when_the_book_forgot_some() {
    let book = OrderBook::default();
    let s1 = seller("s1");
    for n in 0..3u64 {
        let (key, state) = placed("c1", &format!("k{n}"), 10 + n);
        book.fold(&key, &state);
    }
    // The fixture order: s1 sells 2 150 + 333 net at 12 % (258 + 40 commission).
    let (all, complete) = book.seller_statement("eu", &s1, (0, u64::MAX));
    let eur = &all[&Currency::EUR];
    assert_eq!((eur.orders, eur.sales, eur.commission, complete), (3, 3 * 2_483, 3 * 298, true));
    let (first, _) = book.seller_statement("eu", &s1, (0, 11));
    assert_eq!(first[&Currency::EUR].orders, 1, "only what is dated in the period");
    for n in 3..=crate::limits::ORDERS_PER_SELLER_MAX as u64 {
        let (key, state) = placed("c1", &format!("k{n}"), 10 + n);
        book.fold(&key, &state);
    }
    let (all, complete) = book.seller_statement("eu", &s1, (0, u64::MAX));
    assert!(!complete, "the book kept the newest orders only");
    assert_eq!(all[&Currency::EUR].orders, crate::limits::ORDERS_PER_SELLER_MAX as u64);
}
