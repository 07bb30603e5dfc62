//! Random order flows (random lines and commission; captures, cancellations, partial refunds,
//! deliveries, returns refunded, goodwill and chargebacks in random order) through the order entity; after every event its posting set
//! must sum to zero, and at the end the balances must be what the module doc says.

use std::collections::BTreeMap;

use proptest::prelude::*;

use super::*;
use crate::order::fixtures::{self, LineSpec, capture, key, order_of, refund};
use crate::order::{Order, OrderCommand, OrderEvent, OrderView};
use crate::testing::Harness;

fn spec() -> impl Strategy<Value = LineSpec> {
    (
        prop_oneof![Just("s1"), Just("s2"), Just("s3")],
        prop_oneof![Just("FRA1"), Just("BER1")],
        1u32..4,
        0i64..5_000,
        0i64..100,
        0i64..600,
        prop_oneof![Just(0u16), Just(700), Just(1_900), Just(2_500)],
    )
        .prop_map(
            |(seller, location, quantity, unit_price, discount, shipping, vat_rate_bps)| {
                let discount = discount.min(unit_price * i64::from(quantity));
                LineSpec {
                    quantity,
                    discount,
                    shipping,
                    vat_rate_bps,
                    ..LineSpec::new(seller, location, unit_price)
                }
            },
        )
}

#[derive(Debug, Clone)]
enum Step {
    Capture {
        percent: i64,
    },
    Refund {
        percent: i64,
    },
    Cancel,
    Ship,
    /// Ships and delivers every shipment.
    Deliver,
    /// Returns `units` of line `line` (modulo the lines), received and refunded at once.
    Return {
        line: usize,
        units: u32,
    },
    /// Appeases `percent` of what may still be refunded, refunded at once.
    Appease {
        percent: i64,
    },
    /// A dispute takes back what may still be refunded; `sellers`: for a reason they bear.
    ChargeBack {
        sellers: bool,
    },
}

fn step() -> impl Strategy<Value = Step> {
    let percent = prop_oneof![Just(100i64), 1i64..=100];
    prop_oneof![
        4 => percent.clone().prop_map(|percent| Step::Capture { percent }),
        4 => percent.clone().prop_map(|percent| Step::Refund { percent }),
        2 => percent.prop_map(|percent| Step::Appease { percent }),
        1 => Just(Step::Cancel),
        1 => Just(Step::Ship),
        1 => Just(Step::Deliver),
        3 => (0usize..5, 1u32..4).prop_map(|(line, units)| Step::Return { line, units }),
        1 => any::<bool>().prop_map(|sellers| Step::ChargeBack { sellers }),
    ]
}

/// The commands for `step`, its amount a percentage of what may be captured or refunded.
fn commands(view: &OrderView, n: usize, step: &Step) -> Vec<OrderCommand> {
    match step {
        Step::Deliver => view
            .shipments
            .iter()
            .flat_map(|s| {
                let (seller, carrier, tracking) = (s.seller.clone(), "c".into(), "t".into());
                let ship = OrderCommand::Ship { shipment: s.number, seller, carrier, tracking };
                [ship, OrderCommand::Deliver { shipment: s.number }]
            })
            .collect(),
        Step::Return { line, units } => {
            let line = (*line % view.lines.len()) as u16;
            let number = view.returns.len() as u16 + 1;
            let request = fixtures::return_request(&[(line, *units)]);
            let seller = view.lines[usize::from(line)].seller.clone();
            vec![
                OrderCommand::RequestReturn { request: Box::new(request) },
                OrderCommand::ReceiveReturn { number, seller, sellable: vec![0] },
                // The amount is checked against the return's; a wrong one is refused.
                OrderCommand::RecordReturnRefund { number, refund: refund(&format!("x{n}"), 0) },
            ]
        }
        Step::Appease { percent } => {
            let amount = fixtures::eur((view.refund_room() * percent / 100).max(1));
            let (reason, by) = ("late".to_string(), "agent".to_string());
            let number = view.appeasements.len() as u16 + 1;
            let refund = refund(&format!("a{n}"), amount.minor);
            vec![
                OrderCommand::Appease { amount, reason, by, request_id: format!("g{n}") },
                OrderCommand::RecordAppeasementRefund { number, refund },
            ]
        }
        _ => vec![command(view, n, step)],
    }
}

/// The command for `step`, its amount a percentage of what may be captured or refunded.
fn command(view: &OrderView, n: usize, step: &Step) -> OrderCommand {
    let part = |of: i64, percent: i64| (of * percent / 100).max(1);
    match step {
        Step::Capture { percent } => OrderCommand::RecordCapture {
            capture: capture(&format!("c{n}"), part(view.capturable().minor, *percent)),
        },
        Step::Refund { percent } => OrderCommand::RecordRefund {
            refund: refund(&format!("r{n}"), part(view.refundable().minor, *percent)),
        },
        Step::Cancel => OrderCommand::Cancel { reason: "test".into() },
        Step::ChargeBack { sellers } => OrderCommand::RecordChargeback {
            psp: view.authorization.psp.clone(),
            id: format!("d{n}"),
            amount: view.refundable(),
            reason: if *sellers { "not_as_described" } else { "fraudulent" }.into(),
        },
        Step::Deliver | Step::Return { .. } | Step::Appease { .. } => {
            unreachable!("more than one command")
        }
        Step::Ship => {
            let first = view.shipments.first();
            let seller = first.map_or(view.lines[0].seller.clone(), |s| s.seller.clone());
            OrderCommand::Ship { shipment: 1, seller, carrier: "c".into(), tracking: "t".into() }
        }
    }
}

fn components_of(balances: &BTreeMap<Account, i64>) -> i64 {
    balances
        .iter()
        .filter(|(account, _)| {
            matches!(account, Account::VatPayable | Account::Commission | Account::SellerPayable(_))
        })
        .map(|(_, amount)| -amount)
        .sum()
}

fn check_final(view: &OrderView, balances: &BTreeMap<Account, i64>) {
    let get = |account: &Account| balances.get(account).copied().unwrap_or(0);
    let total = view.totals.total.minor;
    let (captured, refunded) = (view.captured.minor, view.refunded.minor);
    let disputed = view.chargeback.as_ref().map_or(0, |c| c.amount.minor);
    let customer = Account::Customer(view.customer.clone());
    let psp = Account::PspClearing(view.authorization.psp.clone());
    assert_eq!(get(&psp), captured - refunded - disputed, "the provider holds what was kept");
    assert!(get(&Account::Chargebacks) >= 0, "a chargeback is an expense: {balances:?}");
    if view.cancellation.is_some() {
        assert_eq!(get(&customer), 0, "a cancelled order is owed nothing");
        assert_eq!(get(&Account::Refunds), refunded + disputed - captured, "owed back");
        assert_eq!(components_of(balances), 0, "nothing is payable");
        assert_eq!(get(&Account::Appeasements), 0, "the cancellation gave it all back");
    } else {
        assert_eq!(get(&customer), total - captured, "the customer owes the rest");
        assert_eq!(get(&Account::Refunds), 0);
        let appeased = get(&Account::Appeasements);
        let borne = get(&Account::Chargebacks);
        assert_eq!(components_of(balances) - appeased, total - refunded - disputed + borne);
    }
    assert!(get(&Account::Appeasements) >= 0, "goodwill is an expense: {balances:?}");
    // Whenever every refund is a return's or follows the cancellation (the engine's only
    // refunds), each seller's statement over all time says what the ledger owes it.
    let (_, refunds_before) = view.cancellation.as_ref().map_or((0, view.refunds.len()), |c| {
        (usize::from(c.captures_before), usize::from(c.refunds_before))
    });
    let returned = |id: &str| view.returns.iter().any(|r| r.refund.as_deref() == Some(id));
    let appeased = |id: &str| view.appeasements.iter().any(|a| a.refund.as_deref() == Some(id));
    let engine_made =
        view.refunds[..refunds_before].iter().all(|r| returned(&r.id) || appeased(&r.id));
    // With the engine's refunds only (the domain still takes a refund of a live order, which
    // the engine never asks), no component changes sign.
    for (account, balance) in balances.iter().filter(|_| engine_made) {
        let component = matches!(
            account,
            Account::VatPayable | Account::Commission | Account::SellerPayable(_)
        );
        assert!(!component || *balance <= 0, "no component changes sign: {balances:?}");
    }
    if engine_made {
        for seller in view.sellers() {
            let owed: i64 =
                statement::seller_entries(view, seller).iter().map(|e| e.payable()).sum();
            assert_eq!(
                owed,
                -get(&Account::SellerPayable(seller.clone())),
                "{seller:?} {balances:?}"
            );
        }
    }
    let settled = refunded == captured && (captured == total || view.cancellation.is_some());
    // (Goodwill the marketplace paid stays its expense, and what the sellers are owed stays
    // owed: such an order does not leave nothing.)
    let goodwill = get(&Account::Appeasements) != 0;
    if settled && !goodwill && (engine_made || view.cancellation.is_some()) {
        assert!(balances.is_empty(), "a settled order leaves nothing: {balances:?}");
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn every_set_balances_and_lifecycles_end_as_documented(
        specs in prop::collection::vec(spec(), 1..5),
        commission_bps in prop_oneof![Just(0u16), Just(10_000), 0u16..=10_000],
        steps in prop::collection::vec(step(), 0..12),
        settle in any::<bool>(),
    ) {
        let mut harness = Harness::<Order>::new(&key());
        let (events, _) = harness
            .run(OrderCommand::Place { order: Box::new(order_of(&specs, commission_bps)), plan: None })
            .unwrap();
        harness.run(OrderCommand::PlanShipments { plan: fixtures::terms(1) }).unwrap();
        let mut journal: Vec<OrderEvent> = events;
        let mut sums: BTreeMap<Account, i128> = BTreeMap::new();
        let mut post = |view: &OrderView, event: &OrderEvent| {
            if let Some(set) = postings(view, event) {
                assert_eq!(set.sum(), 0, "{set:?}");
                for posting in set.postings {
                    *sums.entry(posting.account).or_default() += i128::from(posting.amount);
                }
            }
        };
        post(harness.state.view().unwrap(), &journal[0]);
        // Finish with a capture and a refund of everything, sometimes, to settle the order.
        let tail = if settle {
            vec![Step::Capture { percent: 100 }, Step::Refund { percent: 100 }]
        } else {
            Vec::new()
        };
        for (n, step) in steps.iter().chain(tail.iter()).enumerate() {
            for mut command in commands(harness.state.view().unwrap(), n, step) {
                let view = harness.state.view().unwrap();
                if let OrderCommand::RecordReturnRefund { number, refund } = &mut command
                    && let Some(known) = view.return_of(*number)
                {
                    if view.return_settles_by_goodwill(known) {
                        command = OrderCommand::SettleReturn { number: *number };
                    } else {
                        refund.amount = view.return_refund(known).unwrap_or(refund.amount);
                    }
                }
                let Ok((events, _)) = harness.run(command) else { break };
                for event in events {
                    post(harness.state.view().unwrap(), &event);
                    journal.push(event);
                }
            }
        }
        let view = harness.state.view().unwrap().clone();
        let balances = balances_of(&view);
        let incremental: BTreeMap<Account, i64> = sums
            .into_iter()
            .filter(|(_, sum)| *sum != 0)
            .map(|(account, sum)| (account, i64::try_from(sum).unwrap()))
            .collect();
        prop_assert_eq!(&incremental, &balances, "posted one by one = derived from the state");
        for event in &journal {
            let late = postings(&view, event);
            prop_assert!(late.is_none_or(|set| set.sum() == 0));
        }
        prop_assert_eq!(balances.values().map(|&a| i128::from(a)).sum::<i128>(), 0);
        check_final(&view, &balances);
    }
}
