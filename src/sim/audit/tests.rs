//! The audit's checks on crafted inputs: a clean run passes, and each kind of damage (an
//! oversold SKU, an acknowledged order not readable, a key with two orders, a double
//! authorization, an unbalanced ledger, a mismatch) fails the check that looks for it.

use super::*;

fn clean() -> Collected {
    let sku = |sku: &str, seeded, sold, level| SkuFacts {
        sku: sku.to_string(),
        seeded,
        fed: false,
        sold,
        level: Some(level),
    };
    let order = |id: &str, asin: &str| OrderFacts {
        id: id.to_string(),
        asin: asin.to_string(),
        read: Some(("placed".to_string(), vec![asin.to_string()])),
    };
    let key = |customer: &str, key: &str, order: &str| KeyFacts {
        customer: customer.to_string(),
        key: key.to_string(),
        answered: vec![order.to_string()],
        resolved: Some(order.to_string()),
    };
    let authorization = |psp: &str, order: &str, status: &str| AuthorizationFacts {
        psp: psp.to_string(),
        key: format!("{order}.auth"),
        reference: format!("default/{order}"),
        status: status.to_string(),
    };
    Collected {
        skus: vec![sku("flash", 3, 3, (0, 0)), sku("other", 10, 1, (9, 1))],
        orders: vec![order("o-1", "BFLASH0001"), order("o-2", "BOTHER0001")],
        keys: vec![
            key("c-1", "k-1", "o-1"),
            key("c-2", "k-2", "o-2"),
            KeyFacts {
                customer: "c-2".into(),
                key: "k-3".into(),
                answered: vec![],
                resolved: None,
            },
        ],
        listed: [("c-1".into(), vec!["o-1".into()]), ("c-2".into(), vec!["o-2".into()])].into(),
        authorizations: vec![
            authorization("primary", "o-1", "declined"),
            authorization("backup", "o-1", "authorized"),
            authorization("primary", "o-2", "authorized"),
        ],
        trial_balance: Some(vec![("EUR".into(), 0)]),
        reconciliation: Ok(2),
    }
}

fn failed(collected: &Collected) -> Vec<String> {
    let audit = audit(collected);
    assert_eq!(audit.ok, audit.checks.iter().all(|c| c.ok));
    audit.checks.iter().filter(|c| !c.ok).map(|c| c.name.clone()).collect()
}

#[test]
fn a_clean_run_passes_every_check() {
    let audit = audit(&clean());
    assert!(audit.ok, "{audit:?}");
    assert_eq!(audit.checks.len(), 6);
    assert_eq!(inventory_accuracy(&clean().skus), Some(1.0));
}

#[test]
fn an_oversold_sku_fails_no_oversell() {
    let mut collected = clean();
    collected.skus[0].sold = 4;
    assert_eq!(failed(&collected), ["no_oversell"]);
    assert!(audit(&collected).checks[0].detail.contains("flash sold 4 of 3"));
    // A fed SKU's on hand is the warehouse's word: selling past the seeded stock is fine...
    collected.skus[0].fed = true;
    assert!(failed(&collected).is_empty());
    // ...but holding more than is on hand never is.
    collected.skus[1].level = Some((1, 2));
    assert_eq!(failed(&collected), ["no_oversell"]);
}

#[test]
fn an_acknowledged_order_that_cannot_be_read_fails_orders_readable() {
    let mut collected = clean();
    collected.orders[1].read = None;
    assert!(failed(&collected).contains(&"orders_readable".to_string()));
    let mut collected = clean();
    collected.orders[0].read = Some(("placed".into(), vec!["BSOMEOTHER".into()]));
    assert_eq!(failed(&collected), ["orders_readable"]);
}

#[test]
fn a_key_with_two_orders_or_an_order_without_a_key_fails_idempotency() {
    let mut collected = clean();
    collected.keys[0].answered.push("o-9".into());
    assert_eq!(failed(&collected), ["idempotency"]);
    let mut collected = clean();
    collected.listed.get_mut("c-2").unwrap().push("o-7".into());
    assert_eq!(failed(&collected), ["idempotency"]);
}

#[test]
fn a_double_authorization_or_none_fails_authorized_once() {
    let mut collected = clean();
    let mut twice = collected.authorizations[2].clone();
    twice.psp = "backup".into();
    collected.authorizations.push(twice);
    assert_eq!(failed(&collected), ["authorized_once"]);
    let mut collected = clean();
    collected.authorizations.retain(|a| !a.reference.ends_with("o-2"));
    assert_eq!(failed(&collected), ["authorized_once"]);
    // A cancelled order may hold nothing (its authorization was voided).
    collected.orders[1].read = Some(("cancelled".into(), vec!["BOTHER0001".into()]));
    assert!(failed(&collected).is_empty());
}

#[test]
fn an_unbalanced_or_unreadable_ledger_fails_ledger_balanced() {
    let mut collected = clean();
    collected.trial_balance = Some(vec![("EUR".into(), 0), ("GBP".into(), -5)]);
    assert_eq!(failed(&collected), ["ledger_balanced"]);
    collected.trial_balance = None;
    assert_eq!(failed(&collected), ["ledger_balanced"]);
}

#[test]
fn a_mismatch_with_the_providers_fails_reconciled() {
    let mut collected = clean();
    collected.reconciliation = Err("1 mismatch: primary o-1.auth captured".into());
    assert_eq!(failed(&collected), ["reconciled"]);
}

#[test]
fn inventory_accuracy_counts_unfed_skus_whose_on_hand_is_as_expected() {
    let mut skus = clean().skus;
    skus[1].level = Some((8, 0));
    assert_eq!(inventory_accuracy(&skus), Some(0.5));
    skus.iter_mut().for_each(|s| s.fed = true);
    assert_eq!(inventory_accuracy(&skus), None);
}

#[test]
fn a_check_lists_a_few_failures_and_counts_the_rest() {
    let skus: Vec<SkuFacts> = (0..20)
        .map(|n| SkuFacts { sku: format!("s{n}"), seeded: 1, fed: false, sold: 2, level: None })
        .collect();
    let check = no_oversell(&skus);
    assert!(!check.ok);
    assert!(check.detail.ends_with("and 15 more"), "{}", check.detail);
}
