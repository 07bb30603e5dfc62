//! Ledger rules on the fixture order: 3 510 in all, VAT 527, commission (12 %) 358, seller s1
//! 2 185, seller s2 440.

use std::collections::BTreeMap;

use super::*;
use crate::money::Currency;
use crate::order::fixtures::{capture, key, order, refund, seller};
use crate::order::{Order, OrderCommand, OrderView};
use crate::testing::Harness;

fn placed() -> Harness<Order> {
    let mut harness = Harness::<Order>::new(&key());
    harness.run(OrderCommand::Place { order: Box::new(order()), plan: None }).unwrap();
    harness
}

/// Runs `command` and returns the posting set of its one event.
fn post(harness: &mut Harness<Order>, command: OrderCommand) -> PostingSet {
    let (events, _) = harness.run(command).unwrap();
    assert_eq!(events.len(), 1);
    let set = postings(harness.state.view().unwrap(), &events[0]).expect("posts");
    assert_eq!(set.sum(), 0, "{set:?}");
    set
}

fn view(harness: &Harness<Order>) -> &OrderView {
    harness.state.view().unwrap()
}

fn customer() -> Account {
    Account::Customer(crate::CustomerId::parse("c1").unwrap())
}

fn psp() -> Account {
    Account::PspClearing("psp-a".into())
}

fn s1() -> Account {
    Account::SellerPayable(seller("s1"))
}

fn s2() -> Account {
    Account::SellerPayable(seller("s2"))
}

fn amounts(set: &PostingSet) -> Vec<(Account, i64)> {
    set.postings.iter().map(|p| (p.account.clone(), p.amount)).collect()
}

fn balances(pairs: &[(Account, i64)]) -> BTreeMap<Account, i64> {
    pairs.iter().cloned().collect()
}

#[test]
fn commission_rounds_a_half_up() {
    assert_eq!(commission(2_150, 1_200), 258);
    assert_eq!(commission(333, 1_200), 40, "39.96");
    assert_eq!(commission(125, 200), 3, "2.5");
    assert_eq!(commission(124, 200), 2, "2.48");
    assert_eq!(commission(0, 10_000), 0);
    assert_eq!(commission(i64::MAX, 10_000), i64::MAX);
}

#[test]
fn placement_owes_vat_commission_and_sellers() {
    let harness = placed();
    let sets = entries(view(&harness));
    assert_eq!(sets.len(), 1);
    assert_eq!((sets[0].entry, sets[0].currency), (EntryKind::Placed, Currency::EUR));
    assert_eq!(sets[0].reference, view(&harness).id.to_string());
    assert_eq!(
        amounts(&sets[0]),
        [
            (customer(), 3_510),
            (Account::VatPayable, -527),
            (Account::Commission, -358),
            (s1(), -2_185),
            (s2(), -440)
        ]
    );
}

#[test]
fn a_capture_moves_the_receivable_to_the_provider() {
    let mut harness = placed();
    let set = post(&mut harness, OrderCommand::RecordCapture { capture: capture("c1", 3_510) });
    assert_eq!(set.entry, EntryKind::Captured);
    assert_eq!(amounts(&set), [(psp(), 3_510), (customer(), -3_510)]);
    assert_eq!(
        balances_of(view(&harness)),
        balances(&[
            (psp(), 3_510),
            (Account::VatPayable, -527),
            (Account::Commission, -358),
            (s1(), -2_185),
            (s2(), -440)
        ])
    );
}

#[test]
fn a_refund_takes_back_each_component_in_proportion() {
    let mut harness = placed();
    post(&mut harness, OrderCommand::RecordCapture { capture: capture("c1", 3_510) });
    let set = post(&mut harness, OrderCommand::RecordRefund { refund: refund("r1", 1_000) });
    // Exact shares 150.14, 101.99, 622.51, 125.36: floors 998, the two largest remainders
    // (commission, s1) get the two units left.
    assert_eq!(
        amounts(&set),
        [
            (Account::VatPayable, 150),
            (Account::Commission, 102),
            (s1(), 623),
            (s2(), 125),
            (psp(), -1_000)
        ]
    );
    post(&mut harness, OrderCommand::RecordRefund { refund: refund("r2", 1) });
    post(&mut harness, OrderCommand::RecordRefund { refund: refund("r3", 2_509) });
    assert_eq!(balances_of(view(&harness)), BTreeMap::new(), "a full refund leaves nothing");
}

#[test]
fn cancelling_before_capture_undoes_the_placement() {
    let mut harness = placed();
    let set = post(&mut harness, OrderCommand::Cancel { reason: String::new() });
    assert_eq!(set.entry, EntryKind::Cancelled);
    assert_eq!(
        amounts(&set),
        [
            (Account::VatPayable, 527),
            (Account::Commission, 358),
            (s1(), 2_185),
            (s2(), 440),
            (customer(), -3_510)
        ]
    );
    assert_eq!(balances_of(view(&harness)), BTreeMap::new());
    let (events, _) = harness.run(OrderCommand::RecordVoid).unwrap();
    assert_eq!(postings(view(&harness), &events[0]), None, "a void posts nothing");
}

#[test]
fn cancelling_after_capture_owes_the_rest_back_until_refunded() {
    let mut harness = placed();
    post(&mut harness, OrderCommand::RecordCapture { capture: capture("c1", 2_000) });
    post(&mut harness, OrderCommand::RecordRefund { refund: refund("r1", 500) });
    post(&mut harness, OrderCommand::Cancel { reason: String::new() });
    assert_eq!(
        balances_of(view(&harness)),
        balances(&[(psp(), 1_500), (Account::Refunds, -1_500)])
    );
    let late = post(&mut harness, OrderCommand::RecordCapture { capture: capture("c2", 100) });
    assert_eq!(amounts(&late), [(psp(), 100), (Account::Refunds, -100)]);
    let back = post(&mut harness, OrderCommand::RecordRefund { refund: refund("r2", 1_600) });
    assert_eq!(amounts(&back), [(Account::Refunds, 1_600), (psp(), -1_600)]);
    assert_eq!(balances_of(view(&harness)), BTreeMap::new());
}

#[test]
fn shipping_posts_nothing_and_accounts_print_stably() {
    let mut harness = placed();
    let (events, _) = harness
        .run(OrderCommand::PlanShipments { plan: crate::order::fixtures::terms(1) })
        .unwrap();
    assert_eq!(postings(view(&harness), &events[0]), None);
    let names: Vec<String> = [customer(), psp(), s1(), Account::Commission, Account::VatPayable]
        .iter()
        .chain([Account::Refunds].iter())
        .map(ToString::to_string)
        .collect();
    assert_eq!(
        names,
        [
            "customer:c1",
            "psp_clearing:psp-a",
            "seller_payable:s1",
            "commission",
            "vat_payable",
            "refunds"
        ]
    );
}
