//! The correctness audit after the load: what the simulator saw and what it read back through
//! the API ([`collect`]), judged by pure checks, one per property:
//! - `no_oversell`: no SKU sold beyond its stock (units in live orders never exceed what was
//!   seeded for a SKU no feed touched; `reserved <= on_hand` for every SKU read);
//! - `orders_readable`: every checkout answered with an order reads back with its lines;
//! - `idempotency`: no idempotency key produced two orders;
//! - `authorized_once`: each order was authorized once across the providers' own records;
//! - `ledger_balanced`: the trial balance is zero in every currency;
//! - `reconciled`: the ledger and the providers' settlement reports agree.
//!
//! Invariant: each check is a function of [`Collected`] alone, tested on crafted inputs that
//! must fail. A check lists at most `AUDIT_FAILURES_SHOWN_MAX` failures and counts the rest.

pub mod collect;
#[cfg(test)]
mod tests;

use std::collections::{BTreeMap, BTreeSet};

use super::limits::AUDIT_FAILURES_SHOWN_MAX;
use super::report::{Audit, Check};

/// What the audit reads and what the load saw.
#[derive(Debug, Clone)]
pub struct Collected {
    pub skus: Vec<SkuFacts>,
    /// Every order a checkout answered with (201, or 202 then completed), read back.
    pub orders: Vec<OrderFacts>,
    /// Every idempotency key the simulator sent a checkout with.
    pub keys: Vec<KeyFacts>,
    /// Each customer's orders placed during the run, as `GET /v1/orders` lists them.
    pub listed: BTreeMap<String, Vec<String>>,
    /// The providers' authorization records.
    pub authorizations: Vec<AuthorizationFacts>,
    /// `/admin/ledger`'s trial balance as (currency, minor); `None` when unreadable.
    pub trial_balance: Option<Vec<(String, i64)>>,
    /// `/admin/reconciliation`: `Ok(compared)` when clean, else the mismatches or the error.
    pub reconciliation: Result<usize, String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct SkuFacts {
    pub sku: String,
    pub seeded: u32,
    /// A feed line for it was sent during the run: its on hand is the warehouse's word now.
    pub fed: bool,
    /// Units in live orders (not cancelled, refunded or restocked).
    pub sold: u64,
    /// `(on_hand, reserved)` as its seller reads it at the end; `None` when unreadable.
    pub level: Option<(u64, u64)>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct OrderFacts {
    pub id: String,
    /// The ASIN the simulator put in the cart.
    pub asin: String,
    /// The read-back: `None` when it could not be read, else its status and its lines'
    /// ASINs.
    pub read: Option<(String, Vec<String>)>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct KeyFacts {
    pub customer: String,
    pub key: String,
    /// The order ids answers under this key named (a 201 body, or a settled 202).
    pub answered: Vec<String>,
    /// The order `GET /v1/checkouts/{key}` names after the load, if any.
    pub resolved: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct AuthorizationFacts {
    pub psp: String,
    pub key: String,
    /// The merchant's reference: the order's entity id (`{tenant}/{order id}`).
    pub reference: String,
    /// `authorized`, `declined` or `voided`.
    pub status: String,
}

/// Every check over `collected`.
pub fn audit(collected: &Collected) -> Audit {
    let checks = vec![
        no_oversell(&collected.skus),
        orders_readable(&collected.orders),
        idempotency(&collected.keys, &collected.listed),
        authorized_once(&collected.orders, &collected.authorizations),
        ledger_balanced(collected.trial_balance.as_deref()),
        reconciled(&collected.reconciliation),
    ];
    Audit { ok: checks.iter().all(|check| check.ok), checks }
}

/// Share of the SKUs no feed touched whose on hand is what was seeded less what live orders
/// took; `None` when there is none to judge.
pub fn inventory_accuracy(skus: &[SkuFacts]) -> Option<f64> {
    let judged: Vec<&SkuFacts> = skus.iter().filter(|s| !s.fed && s.level.is_some()).collect();
    if judged.is_empty() {
        return None;
    }
    let right = judged
        .iter()
        .filter(|s| {
            s.level.map(|(on_hand, _)| on_hand) == Some(u64::from(s.seeded).saturating_sub(s.sold))
        })
        .count();
    Some(right as f64 / judged.len() as f64)
}

pub fn no_oversell(skus: &[SkuFacts]) -> Check {
    let mut failures = Failures::default();
    for s in skus {
        if !s.fed && s.sold > u64::from(s.seeded) {
            failures.push(format!("{} sold {} of {} units", s.sku, s.sold, s.seeded));
        }
        if let Some((on_hand, reserved)) = s.level
            && reserved > on_hand
        {
            failures.push(format!("{} holds {reserved} of {on_hand} on hand", s.sku));
        }
    }
    let unread = skus.iter().filter(|s| s.level.is_none()).count();
    let what = format!("{} SKUs, {} read back", skus.len(), skus.len() - unread);
    failures.check("no_oversell", what)
}

pub fn orders_readable(orders: &[OrderFacts]) -> Check {
    let mut failures = Failures::default();
    for order in orders {
        match &order.read {
            None => failures.push(format!("{} cannot be read back", order.id)),
            Some((_, lines)) if !lines.contains(&order.asin) => {
                failures.push(format!("{} reads back without {} ({lines:?})", order.id, order.asin))
            }
            Some(_) => {}
        }
    }
    failures.check("orders_readable", format!("{} acknowledged orders", orders.len()))
}

pub fn idempotency(keys: &[KeyFacts], listed: &BTreeMap<String, Vec<String>>) -> Check {
    let mut failures = Failures::default();
    let mut by_customer: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    for key in keys {
        let mut named: BTreeSet<&str> = key.answered.iter().map(String::as_str).collect();
        named.extend(key.resolved.as_deref());
        if named.len() > 1 {
            failures.push(format!("key {} named orders {named:?}", key.key));
        }
        by_customer.entry(&key.customer).or_default().extend(named);
    }
    for (customer, orders) in listed {
        let keyed = by_customer.get(customer.as_str()).cloned().unwrap_or_default();
        for order in orders.iter().filter(|o| !keyed.contains(o.as_str())) {
            failures.push(format!("{customer} has order {order} that no key of its own names"));
        }
    }
    failures.check("idempotency", format!("{} keys", keys.len()))
}

pub fn authorized_once(orders: &[OrderFacts], records: &[AuthorizationFacts]) -> Check {
    let mut failures = Failures::default();
    let mut authorized: BTreeMap<&str, Vec<&AuthorizationFacts>> = BTreeMap::new();
    for record in records.iter().filter(|r| r.status == "authorized") {
        let order = record.reference.rsplit('/').next().unwrap_or(&record.reference);
        authorized.entry(order).or_default().push(record);
    }
    for order in orders {
        let held = authorized.get(order.id.as_str()).map(Vec::as_slice).unwrap_or_default();
        let cancelled = order
            .read
            .as_ref()
            .is_some_and(|(status, _)| matches!(status.as_str(), "cancelled" | "refunded"));
        match held {
            [] if !cancelled => failures.push(format!("{} has no authorization", order.id)),
            [] | [_] => {}
            more => {
                let at: Vec<String> = more.iter().map(|r| format!("{}:{}", r.psp, r.key)).collect();
                failures.push(format!("{} authorized {} times ({at:?})", order.id, more.len()))
            }
        }
    }
    let what = format!("{} orders, {} provider records", orders.len(), records.len());
    failures.check("authorized_once", what)
}

pub fn ledger_balanced(trial_balance: Option<&[(String, i64)]>) -> Check {
    let mut failures = Failures::default();
    match trial_balance {
        None => failures.push("the ledger could not be read".to_string()),
        Some(balances) => {
            for (currency, minor) in balances.iter().filter(|(_, minor)| *minor != 0) {
                failures.push(format!("{currency} is off by {minor} minor units"));
            }
        }
    }
    failures.check("ledger_balanced", "the trial balance is zero in every currency".to_string())
}

pub fn reconciled(reconciliation: &Result<usize, String>) -> Check {
    match reconciliation {
        Ok(compared) => Check {
            name: "reconciled".to_string(),
            ok: true,
            detail: format!("{compared} authorizations agree with the providers"),
        },
        Err(detail) => Check { name: "reconciled".to_string(), ok: false, detail: detail.clone() },
    }
}

/// The first failures of a check, and how many there were.
#[derive(Default)]
struct Failures {
    shown: Vec<String>,
    count: usize,
}

impl Failures {
    fn push(&mut self, failure: String) {
        self.count += 1;
        if self.shown.len() < AUDIT_FAILURES_SHOWN_MAX {
            self.shown.push(failure);
        }
    }

    fn check(self, name: &str, checked: String) -> Check {
        let detail = match self.count {
            0 => checked,
            n if n > self.shown.len() => {
                format!("{}; and {} more", self.shown.join("; "), n - self.shown.len())
            }
            _ => self.shown.join("; "),
        };
        Check { name: name.to_string(), ok: self.count == 0, detail }
    }
}
