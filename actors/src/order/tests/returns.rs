//! Returns: requested within the window, approved by rule or by support, received, refunded
//! and restocked; what they refund and what they may not do.

use super::*;
use crate::order::returns::{ReturnLine, ReturnReason, ReturnStatus, line_shares};

/// Placed at 1 000 ms, captured in full, every shipment shipped and delivered at 2 000 ms.
fn delivered() -> Harness<Order> {
    let mut harness = planned();
    harness.run(OrderCommand::RecordCapture { capture: capture("c1", 3_510) }).unwrap();
    for (number, by) in [(1, "s1"), (2, "s2"), (3, "s1")] {
        harness.run(ship(number, by, &format!("t{number}"))).unwrap();
    }
    harness.now_ms = 2_000;
    for number in 1..=3 {
        harness.run(OrderCommand::Deliver { shipment: number }).unwrap();
    }
    harness
}

fn ask(lines: &[(u16, u32)]) -> OrderCommand {
    OrderCommand::RequestReturn { request: Box::new(fixtures::return_request(lines)) }
}

/// A return that support must decide (no automatic approval).
fn ask_support(lines: &[(u16, u32)]) -> OrderCommand {
    let mut request = fixtures::return_request(lines);
    request.reason = ReturnReason::NoLongerNeeded;
    request.auto_approve_up_to = None;
    OrderCommand::RequestReturn { request: Box::new(request) }
}

/// What `event` posts, account by account (`account name`, amount).
fn posted(view: &OrderView, event: &OrderEvent) -> Vec<(String, i64)> {
    let set = crate::ledger::postings(view, event).expect("a posting set");
    set.postings.iter().map(|p| (p.account.to_string(), p.amount)).collect()
}

/// The order's ledger balances, account by account.
fn balances(view: &OrderView) -> Vec<(String, i64)> {
    let balances = crate::ledger::balances_of(view);
    balances.iter().map(|(account, amount)| (account.to_string(), *amount)).collect()
}

fn receive(number: u16, by: &str, sellable: Vec<u32>) -> OrderCommand {
    OrderCommand::ReceiveReturn { number, seller: seller(by), sellable }
}

#[test]
fn a_return_within_its_window_is_approved_by_rule_with_a_label_to_its_location() {
    let mut harness = delivered();
    let (events, reply) = harness.run(ask(&[(0, 1)])).unwrap();
    assert_eq!(events.len(), 2, "requested and approved in one decision: {events:?}");
    let returned = &reply.order.returns[0];
    assert_eq!(returned.status(), ReturnStatus::Approved);
    let label = returned.label().unwrap();
    assert_eq!((label.carrier.as_str(), label.to.as_str()), ("returns-post", "FRA1"));
    assert_eq!(label.tracking, format!("RMA-{}-1", reply.order.id));
    // One unit of line 0 (2 units, total 2 559 at 12 % commission): 204 VAT, 129 commission
    // and 946 payable (the line's second unit gets the leftover minor unit).
    assert_eq!(returned.request.amount, eur(1_279));
    assert_eq!(returned.request.seller, seller("s1"));
}

#[test]
fn a_return_above_the_rule_or_for_another_reason_waits_for_support() {
    let mut harness = delivered();
    let mut request = fixtures::return_request(&[(0, 2)]);
    request.auto_approve_up_to = Some(eur(2_000));
    let (events, reply) =
        harness.run(OrderCommand::RequestReturn { request: Box::new(request) }).unwrap();
    assert_eq!(events.len(), 1);
    assert_eq!(reply.order.returns[0].status(), ReturnStatus::Requested);
    assert_eq!(refused(&harness, ask(&[(1, 1)])), OrderRejection::ReturnPending);
    assert_eq!(refused(&harness, receive(1, "s1", vec![2])), OrderRejection::ReturnNotApproved);
    let approve = OrderCommand::DecideReturn {
        number: 1,
        approve: Some("returns-post".into()),
        note: String::new(),
    };
    harness.run(approve.clone()).unwrap();
    quiet(&harness, approve);
    let reject = OrderCommand::DecideReturn { number: 1, approve: None, note: "no".into() };
    assert_eq!(refused(&harness, reject), OrderRejection::ReturnAlreadyDecided);
}

#[test]
fn a_rejected_return_frees_its_units_for_another() {
    let mut harness = delivered();
    harness.run(ask_support(&[(0, 2)])).unwrap();
    let reject = OrderCommand::DecideReturn { number: 1, approve: None, note: "worn".into() };
    let reply = harness.run(reject).unwrap().1;
    assert_eq!(reply.order.returns[0].status(), ReturnStatus::Rejected);
    let reply = harness.run(ask(&[(0, 2)])).unwrap().1;
    assert_eq!(reply.order.returns[1].request.lines[0].after, 0, "the rejected units are free");
    assert_eq!(reply.order.returns[1].request.amount, eur(2_559));
}

#[test]
fn a_return_is_received_refunded_and_restocked_once() {
    let mut harness = delivered();
    harness.run(ask(&[(0, 2)])).unwrap();
    assert_eq!(refused(&harness, receive(1, "s2", vec![2])), OrderRejection::UnknownReturn);
    assert_eq!(refused(&harness, receive(1, "s1", vec![3])), OrderRejection::ReturnLinesInvalid);
    let received = harness.run(receive(1, "s1", vec![1])).unwrap().1.order;
    quiet(&harness, receive(1, "s1", vec![1]));
    assert_eq!(refused(&harness, receive(1, "s1", vec![2])), OrderRejection::ReturnAlreadyReceived);
    assert_eq!(
        received.payment_action(),
        PaymentAction::RefundReturn { number: 1, amount: eur(2_559) }
    );
    assert!(received.return_restock_due().is_some() && !received.idle());
    let wrong = OrderCommand::RecordReturnRefund { number: 1, refund: refund("r1", 2_558) };
    assert_eq!(refused(&harness, wrong), OrderRejection::AmountInvalid);
    let paid = OrderCommand::RecordReturnRefund { number: 1, refund: refund("r1", 2_559) };
    let view = harness.run(paid.clone()).unwrap().1.order;
    quiet(&harness, paid);
    assert_eq!((view.refunded, view.returns[0].status()), (eur(2_559), ReturnStatus::Refunded));
    let other = OrderCommand::RecordReturnRefund { number: 1, refund: refund("r2", 2_559) };
    assert_eq!(refused(&harness, other), OrderRejection::RefundConflict);
    let view = harness.run(OrderCommand::RecordReturnRestocked { number: 1 }).unwrap().1.order;
    assert!(view.idle(), "refunded and restocked: {:?}", view.payment_action());
    quiet(&harness, OrderCommand::RecordReturnRestocked { number: 1 });
}

#[test]
fn returning_every_unit_refunds_the_whole_order() {
    let mut harness = delivered();
    for (number, (line, units, by)) in
        [(0, 1, "s1"), (0, 1, "s1"), (1, 1, "s2"), (2, 1, "s1")].into_iter().enumerate()
    {
        let number = number as u16 + 1;
        let amount = harness.run(ask(&[(line, units)])).unwrap().1.order.returns
            [usize::from(number - 1)]
        .request
        .amount;
        harness.run(receive(number, by, vec![units])).unwrap();
        let refund = refund(&format!("r{number}"), amount.minor);
        harness.run(OrderCommand::RecordReturnRefund { number, refund }).unwrap();
    }
    let view = harness.state.view().unwrap();
    assert_eq!((view.refunded, view.status), (eur(3_510), OrderStatus::Refunded));
    assert_eq!(balances(view), [], "every account settled");
    assert_eq!(refused(&harness, ask(&[(0, 1)])), OrderRejection::OrderRefunded);
}

#[test]
fn a_returned_line_debits_its_own_seller() {
    let mut harness = delivered();
    harness.run(ask(&[(1, 1)])).unwrap();
    harness.run(receive(1, "s2", vec![1])).unwrap();
    let (events, reply) = harness
        .run(OrderCommand::RecordReturnRefund { number: 1, refund: refund("r1", 595) })
        .unwrap();
    let debited = posted(&reply.order, &events[0]);
    // Line 1: 500 net (60 commission, 440 payable to s2) and 95 VAT.
    assert_eq!(
        debited,
        [
            ("vat_payable".to_string(), 95),
            ("commission".to_string(), 60),
            ("seller_payable:s2".to_string(), 440),
            ("psp_clearing:psp-a".to_string(), -595)
        ]
    );
}

#[test]
fn what_a_return_may_not_ask() {
    let mut harness = planned();
    harness.run(OrderCommand::RecordCapture { capture: capture("c1", 3_510) }).unwrap();
    assert_eq!(refused(&harness, ask(&[(0, 1)])), OrderRejection::NotDelivered { line: 0 });
    let mut harness = delivered();
    assert_eq!(refused(&harness, ask(&[(7, 1)])), OrderRejection::LineInvalid { line: 7 });
    assert_eq!(refused(&harness, ask(&[])), OrderRejection::ReturnLinesInvalid);
    assert_eq!(refused(&harness, ask(&[(0, 1), (0, 1)])), OrderRejection::ReturnLinesInvalid);
    assert_eq!(refused(&harness, ask(&[(0, 1), (2, 1)])), OrderRejection::ReturnSpansShipments);
    assert_eq!(
        refused(&harness, ask(&[(0, 3)])),
        OrderRejection::ReturnExceedsLine { line: 0, returnable: 2 }
    );
    harness.now_ms = 2_000 + 30 * DAY_MS;
    harness.run(ask(&[(0, 1)])).unwrap();
    harness.now_ms += 1;
    assert_eq!(refused(&harness, ask(&[(0, 1)])), OrderRejection::ReturnWindowClosed { line: 0 });
    let mut longer = fixtures::return_request(&[(0, 1)]);
    longer.lines[0] = ReturnLine { window_days: 31, ..longer.lines[0].clone() };
    let longer = OrderCommand::RequestReturn { request: Box::new(longer) };
    harness.run(longer.clone()).unwrap();
    assert_eq!(
        refused(&harness, longer),
        OrderRejection::ReturnExceedsLine { line: 0, returnable: 0 }
    );
    assert_eq!(refused(&harness, receive(9, "s1", vec![])), OrderRejection::UnknownReturn);
}

#[test]
fn a_cancelled_order_has_no_returns() {
    let mut harness = planned();
    harness.run(OrderCommand::Cancel { reason: "customer".into() }).unwrap();
    assert_eq!(refused(&harness, ask(&[(0, 1)])), OrderRejection::OrderCancelled);
}

#[test]
fn a_line_split_into_returns_refunds_exactly_its_components() {
    let spec = fixtures::LineSpec { quantity: 7, ..fixtures::LineSpec::new("s1", "FRA1", 1_001) };
    let line = spec.line(0);
    let parts = [(0, 3), (3, 1), (4, 3)];
    let sum =
        parts.iter().map(|&(after, q)| line_shares(&line, 1_234, after, q).total()).sum::<i64>();
    assert_eq!(sum, line.total.minor);
    let whole = line_shares(&line, 1_234, 0, 7);
    assert_eq!(whole.total(), line.total.minor);
    assert_eq!(whole.vat, line.vat.minor);
}

#[test]
fn support_refunds_shipped_units_that_never_come_back() {
    let mut harness = planned();
    harness.run(OrderCommand::RecordCapture { capture: capture("c1", 3_510) }).unwrap();
    let mut request = fixtures::return_request(&[(1, 1)]);
    request.returnless = true;
    let lost = OrderCommand::RequestReturn { request: Box::new(request) };
    assert_eq!(refused(&harness, lost.clone()), OrderRejection::NotShipped);
    harness.run(ship(2, "s2", "t2")).unwrap();
    harness.now_ms = 1_000 + 400 * DAY_MS; // no window: the parcel never arrived
    let (events, reply) = harness.run(lost).unwrap();
    assert_eq!(events.len(), 3, "requested, approved and received at once: {events:?}");
    let returned = &reply.order.returns[0];
    assert!(returned.request.returnless && returned.label().is_none());
    assert_eq!(returned.received.as_ref().unwrap().sellable, [0]);
    assert_eq!(
        reply.order.payment_action(),
        PaymentAction::RefundReturn { number: 1, amount: eur(595) }
    );
}

#[test]
fn a_return_worth_nothing_is_settled_once_received_and_holds_up_no_other() {
    let free = fixtures::LineSpec { vat_rate_bps: 0, ..fixtures::LineSpec::new("s1", "FRA1", 0) };
    let paid = fixtures::LineSpec::new("s1", "FRA1", 1_000);
    let mut harness = Harness::<Order>::new(&key());
    let new = fixtures::order_of(&[free, paid], 1_200);
    harness
        .run(OrderCommand::Place { order: Box::new(new), plan: Some(fixtures::terms(1)) })
        .unwrap();
    harness.run(OrderCommand::RecordCapture { capture: capture("c1", 1_190) }).unwrap();
    harness.run(ship(1, "s1", "t1")).unwrap();
    harness.run(OrderCommand::Deliver { shipment: 1 }).unwrap();
    harness.run(ask(&[(0, 1)])).unwrap();
    let view = harness.run(receive(1, "s1", vec![1])).unwrap().1.order;
    assert_eq!(view.returns[0].status(), ReturnStatus::Refunded, "nothing to refund");
    harness.run(ask(&[(1, 1)])).unwrap();
    let view = harness.run(receive(2, "s1", vec![1])).unwrap().1.order;
    assert_eq!(
        view.payment_action(),
        PaymentAction::RefundReturn { number: 2, amount: eur(1_190) }
    );
}

#[test]
fn a_returned_line_is_restocked_once_and_only_a_returned_one() {
    let mut harness = delivered();
    harness.run(ask(&[(0, 2)])).unwrap();
    let line = |line| OrderCommand::RecordReturnLineRestocked { number: 1, line };
    assert_eq!(refused(&harness, line(0)), OrderRejection::ReturnNotReceived);
    harness.run(receive(1, "s1", vec![2])).unwrap();
    assert_eq!(refused(&harness, line(1)), OrderRejection::LineInvalid { line: 1 });
    let view = harness.run(line(0)).unwrap().1.order;
    assert_eq!(view.returns[0].restocked_lines, [0]);
    quiet(&harness, line(0));
    let view = harness.run(OrderCommand::RecordReturnRestocked { number: 1 }).unwrap().1.order;
    assert!(view.returns[0].restocked);
    quiet(&harness, line(0));
}

fn appease(minor: i64) -> OrderCommand {
    let (reason, by) = ("late".to_string(), "agent".to_string());
    OrderCommand::Appease { amount: eur(minor), reason, by, request_id: format!("k{minor}") }
}

#[test]
fn goodwill_is_refunded_first_and_a_later_return_gets_what_is_left() {
    let mut harness = delivered();
    assert_eq!(
        refused(&harness, appease(3_511)),
        OrderRejection::RefundExceedsCaptured { refundable: eur(3_510) }
    );
    assert_eq!(refused(&harness, appease(0)), OrderRejection::AmountInvalid);
    let view = harness.run(appease(500)).unwrap().1.order;
    assert_eq!(
        view.payment_action(),
        PaymentAction::RefundAppeasement { number: 1, amount: eur(500) }
    );
    let (events, view) = {
        let record = OrderCommand::RecordAppeasementRefund { number: 1, refund: refund("g1", 500) };
        let (events, reply) = harness.run(record).unwrap();
        (events, reply.order)
    };
    let debited = posted(&view, &events[0]);
    assert_eq!(
        debited,
        [("appeasements".to_string(), 500), ("psp_clearing:psp-a".to_string(), -500)]
    );
    // Lines 0 and 1 come back: the first return gets its 2 559 in full, the second only
    // the 451 left (the goodwill paid its other 144 ahead, credited back to it).
    let mut refunds = Vec::new();
    for (number, (line, units, by)) in [(0, 2, "s1"), (1, 1, "s2")].into_iter().enumerate() {
        let number = number as u16 + 1;
        harness.run(ask(&[(line, units)])).unwrap();
        let received = harness.run(receive(number, by, vec![units])).unwrap().1.order;
        let PaymentAction::RefundReturn { amount, .. } = received.payment_action() else {
            panic!("a return refund is due: {:?}", received.payment_action());
        };
        refunds.push(amount.minor);
        let refund = refund(&format!("r{number}"), amount.minor);
        harness.run(OrderCommand::RecordReturnRefund { number, refund }).unwrap();
    }
    assert_eq!(refunds, [2_559, 451]);
    let view = harness.state.view().unwrap().clone();
    // Everything captured went back, but line 2 (356, s1's) was paid for by goodwill, not
    // returned: the order is not settled, and the ledger says so.
    assert_eq!((view.refunded, view.status), (eur(3_510), OrderStatus::Delivered));
    assert_eq!(
        balances(&view),
        [
            ("seller_payable:s1".to_string(), -293),
            ("commission".to_string(), -40),
            ("vat_payable".to_string(), -23),
            ("appeasements".to_string(), 356)
        ]
    );
    // Line 2 comes back too: nothing left to refund, the goodwill settles it.
    harness.run(ask(&[(2, 1)])).unwrap();
    let received = harness.run(receive(3, "s1", vec![1])).unwrap().1.order;
    assert_eq!(received.payment_action(), PaymentAction::SettleReturn { number: 3 });
    let view = harness.run(OrderCommand::SettleReturn { number: 3 }).unwrap().1.order;
    assert_eq!(view.status, OrderStatus::Refunded);
    assert_eq!(balances(&view), [], "every account settled");
    assert_eq!(refused(&harness, appease(1)), OrderRejection::OrderRefunded);
}

#[test]
fn goodwill_refunded_before_a_cancellation_is_part_of_its_refund() {
    let mut harness = planned();
    harness.run(OrderCommand::RecordCapture { capture: capture("c1", 3_510) }).unwrap();
    harness.run(appease(300)).unwrap();
    let record = OrderCommand::RecordAppeasementRefund { number: 1, refund: refund("g1", 300) };
    harness.run(record).unwrap();
    let view = harness.run(OrderCommand::Cancel { reason: "customer".into() }).unwrap().1.order;
    assert_eq!(view.payment_action(), PaymentAction::Refund(eur(3_210)));
    let view =
        harness.run(OrderCommand::RecordRefund { refund: refund("r1", 3_210) }).unwrap().1.order;
    assert_eq!(balances(&view), [], "every account settled");
    assert_eq!(refused(&harness, appease(1)), OrderRejection::OrderRefunded);
}

#[test]
fn goodwill_of_everything_settles_a_later_return_and_blocks_nothing() {
    let mut harness = planned();
    harness.run(OrderCommand::RecordCapture { capture: capture("c1", 3_510) }).unwrap();
    let view = harness.run(appease(3_510)).unwrap().1.order;
    let record = OrderCommand::RecordAppeasementRefund { number: 1, refund: refund("g1", 3_510) };
    assert!(quiet(&harness, appease(3_510)).appeasements.len() == 1, "a retry is answered");
    let changed = OrderCommand::Appease {
        amount: eur(10),
        reason: "late".into(),
        by: "agent".into(),
        request_id: "k3510".into(),
    };
    assert_eq!(refused(&harness, changed), OrderRejection::AppeasementConflict);
    assert_eq!(view.appeasements.len(), 1);
    let view = harness.run(record).unwrap().1.order;
    assert_eq!(view.status, OrderStatus::Placed, "goodwill alone settles nothing");
    // Still shipped and delivered; a return then has nothing left to refund: settled.
    for (number, by) in [(1, "s1"), (2, "s2"), (3, "s1")] {
        harness.run(ship(number, by, &format!("t{number}"))).unwrap();
        harness.run(OrderCommand::Deliver { shipment: number }).unwrap();
    }
    harness.run(ask(&[(1, 1)])).unwrap();
    let received = harness.run(receive(1, "s2", vec![1])).unwrap().1.order;
    assert_eq!(received.payment_action(), PaymentAction::SettleReturn { number: 1 });
    let (events, view) = {
        let (events, reply) = harness.run(OrderCommand::SettleReturn { number: 1 }).unwrap();
        (events, reply.order)
    };
    assert_eq!(view.returns[0].status(), ReturnStatus::Refunded);
    let moved = posted(&view, &events[0]);
    assert_eq!(
        moved,
        [
            ("vat_payable".to_string(), 95),
            ("commission".to_string(), 60),
            ("seller_payable:s2".to_string(), 440),
            ("appeasements".to_string(), -595)
        ]
    );
}

#[test]
fn a_cancellation_refunds_goodwill_not_yet_refunded_under_its_own_key_first() {
    let mut harness = planned();
    harness.run(OrderCommand::RecordCapture { capture: capture("c1", 3_510) }).unwrap();
    harness.run(appease(300)).unwrap();
    let view = harness.run(OrderCommand::Cancel { reason: "customer".into() }).unwrap().1.order;
    assert_eq!(
        view.payment_action(),
        PaymentAction::RefundAppeasement { number: 1, amount: eur(300) }
    );
    let record = OrderCommand::RecordAppeasementRefund { number: 1, refund: refund("g1", 300) };
    let view = harness.run(record).unwrap().1.order;
    assert_eq!(view.payment_action(), PaymentAction::Refund(eur(3_210)));
    let view =
        harness.run(OrderCommand::RecordRefund { refund: refund("r1", 3_210) }).unwrap().1.order;
    assert_eq!(view.status, OrderStatus::Refunded);
    assert_eq!(balances(&view), [], "every account settled");
}

#[test]
fn returns_and_appeasements_are_bounded() {
    use crate::limits::{ORDER_APPEASEMENTS_MAX, ORDER_RETURNS_MAX};
    let mut harness = delivered();
    for number in 1..=ORDER_RETURNS_MAX as u16 {
        harness.run(ask_support(&[(1, 1)])).unwrap();
        let reject = OrderCommand::DecideReturn { number, approve: None, note: "no".into() };
        harness.run(reject).unwrap();
    }
    let max = ORDER_RETURNS_MAX as u32;
    assert_eq!(refused(&harness, ask(&[(1, 1)])), OrderRejection::TooManyReturns { max });
    for _ in 0..ORDER_APPEASEMENTS_MAX {
        let n = harness.state.view().unwrap().appeasements.len() as i64;
        harness.run(appease(n + 1)).unwrap();
    }
    let max = ORDER_APPEASEMENTS_MAX as u32;
    assert_eq!(refused(&harness, appease(100)), OrderRejection::TooManyAppeasements { max });
}

#[test]
fn a_request_asked_again_under_its_id_meets_the_return_it_made() {
    let mut harness = delivered();
    let mut request = fixtures::return_request(&[(0, 1)]);
    request.request_id = Some("customer-1:key-1".into());
    let asked = OrderCommand::RequestReturn { request: Box::new(request) };
    harness.run(asked.clone()).unwrap();
    assert_eq!(quiet(&harness, asked).returns.len(), 1, "answered from state, not a second");
}
