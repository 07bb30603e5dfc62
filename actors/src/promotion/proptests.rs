//! Random redeem, unredeem, update and end sequences against one promotion, with time moving
//! on; the invariants of the module doc are checked after every step. Tiny customer and order
//! spaces and low limits, so limits bind, retries repeat and late redeems meet reversals.

use std::collections::BTreeMap;

use proptest::prelude::*;

use super::tests::{created, customer, definition, order};
use super::*;

#[derive(Debug, Clone)]
enum Step {
    Command(PromotionCommand),
    Advance { ms: u64 },
}

fn step() -> impl Strategy<Value = Step> {
    let who = (0u8..3).prop_map(|n| customer(&format!("c{n}")));
    let order_id = (0u8..8).prop_map(|n| order(&format!("o{n}")));
    prop_oneof![
        8 => (who, order_id.clone()).prop_map(|(customer, order_id)| {
            Step::Command(PromotionCommand::Redeem { customer, order_id })
        }),
        4 => order_id.prop_map(|order_id| Step::Command(PromotionCommand::Unredeem { order_id })),
        1 => (1u32..=5, 1u32..=3).prop_map(|(total, per)| {
            Step::Command(PromotionCommand::Update { definition: definition(total, per.min(total)) })
        }),
        1 => Just(Step::Command(PromotionCommand::End)),
        1 => Just(Step::Command(PromotionCommand::Get)),
        2 => (1u64..=200).prop_map(|ms| Step::Advance { ms }),
    ]
}

fn check_state(promotion: &Promotion) {
    let definition = promotion.definition.as_ref().expect("created");
    let limits = definition.limits;
    assert!(promotion.redeemed <= limits.total, "total limit");
    assert!(
        promotion.by_customer.values().all(|count| 0 < *count && *count <= limits.per_customer)
    );
    assert_eq!(promotion.redeemed, promotion.by_customer.values().sum::<u32>());
    let active =
        promotion.orders.values().filter(|r| r.status == RedemptionStatus::Redeemed).count();
    assert_eq!(promotion.redeemed as usize, active);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn limits_hold_and_retries_are_idempotent(steps in prop::collection::vec(step(), 1..120)) {
        let mut promotion = created(4, 2);
        promotion.now_ms = 100;
        let mut journal = Vec::new();
        // The first accepted answer per order: what every later redeem or unredeem must match.
        let mut first: BTreeMap<(bool, OrderId), RedemptionView> = BTreeMap::new();
        for step in steps {
            let command = match step {
                Step::Advance { ms } => {
                    promotion.now_ms += ms;
                    continue;
                }
                Step::Command(command) => command,
            };
            let Ok((events, reply)) = promotion.run(command.clone()) else {
                continue;
            };
            check_state(&promotion.state);
            prop_assert_eq!(Some(reply.promotion.clone()), promotion.state.view());
            let key = match &command {
                PromotionCommand::Redeem { order_id, .. } => Some((true, order_id.clone())),
                PromotionCommand::Unredeem { order_id } => Some((false, order_id.clone())),
                _ => None,
            };
            if let Some(key) = key {
                let view = reply.redemption.clone().expect("a redemption view");
                match first.get(&key) {
                    Some(earlier) => {
                        prop_assert!(events.is_empty(), "a retry changes nothing");
                        prop_assert_eq!(earlier, &view, "a retry answers the first result");
                    }
                    None => {
                        first.insert(key, view);
                    }
                }
            }
            journal.extend(events);
        }
        let mut replayed = created(4, 2);
        journal.iter().for_each(|event| replayed.state.apply(event));
        prop_assert_eq!(replayed.state, promotion.state, "replay yields the same state");
    }
}
