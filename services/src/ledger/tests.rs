//! The ledger book over orders folded by hand (no engine): each order counted once, at its
//! newest revision.

use std::collections::BTreeMap;

use bazaar_actors::ledger::{Account, Movement};
use bazaar_actors::money::Currency;
use bazaar_actors::order::fixtures::{capture, key, order, refund};
use bazaar_actors::order::{Order, OrderCommand};
use bazaar_actors::testing::Harness;

use super::Ledger;

fn placed() -> Harness<Order> {
    let mut harness = Harness::<Order>::new(&key());
    harness.run(OrderCommand::Place { order: Box::new(order()), plan: None }).unwrap();
    harness
}

fn psp() -> Account {
    Account::PspClearing("psp-a".into())
}

#[test]
fn the_read_model_keeps_each_order_at_its_newest_revision() {
    let ledger = Ledger::default();
    let mut harness = placed();
    let at_placement = harness.state.clone();
    harness.run(OrderCommand::RecordCapture { capture: capture("c1", 3_510) }).unwrap();
    ledger.fold(&key(), &harness.state);
    ledger.fold(&key(), &at_placement);
    ledger.fold(&key(), &harness.state);
    let psp_balance = ledger.balances("eu").into_iter().find(|b| b.account == psp());
    assert_eq!(psp_balance.map(|b| b.amount), Some(3_510), "counted once, the newest");
    assert_eq!(ledger.trial_balance("eu"), BTreeMap::from([(Currency::EUR, 0)]));
    let authorization =
        ("psp-a".to_string(), harness.state.view().unwrap().authorization.key.clone());
    assert_eq!(
        ledger.psp_movements("eu"),
        BTreeMap::from([(authorization, Movement { captured: 3_510, refunded: 0, disputed: 0 })])
    );
    harness.run(OrderCommand::RecordRefund { refund: refund("r1", 3_510) }).unwrap();
    ledger.fold(&key(), &harness.state);
    assert_eq!(ledger.balances("eu"), [], "a refunded order leaves no balance");
    assert_eq!(ledger.balances("other"), []);
}
