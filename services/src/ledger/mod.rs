//! The ledger's read model: every tenant's balances per account and currency, and the money
//! each payment authorization moved. Not pure: fed by an engine projection of orders once
//! their events are durable, and rebuilt by folding the journal at start.
//!
//! Each order's contribution is derived from its whole state ([`balances_of`]), kept with the
//! order's revision, and replaced when a newer revision arrives: the difference is added to
//! the tenant's sums. So a projection and a start-up fold that overlap, or a publish seen
//! twice, never count anything twice, and the sums always equal those of the orders' newest
//! states.
//!
//! Invariants:
//! - Every tenant's balances sum to zero per currency (each order's do, see the module doc
//!   of [`bazaar_actors::ledger`]); sums are kept in `i128`, so they cannot overflow.
//! - Memory: one entry per order (its balances, at most its sellers plus five accounts), and
//!   per tenant one sum per account and currency with a non-zero balance.
//!
//! Locks: an update holds the order's entry while it changes the tenant's sums, always in
//! that order; queries hold one tenant's entry.

#[cfg(test)]
mod tests;

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Weak};

use bazaar_engine::replay::fold_kind;
use bazaar_engine::{Engine, EngineError, EntityKey, Projection, Publish};
use dashmap::DashMap;
use dashmap::mapref::entry::Entry;
use serde::{Deserialize, Serialize};

use crate::orders::OrderBook;
use bazaar_actors::ledger::{Account, Movement, balances_of};
use bazaar_actors::money::Currency;
use bazaar_actors::order::{Order, OrderEvent, OrderId, OrderView, parse_entity_id};

type Tenant = Arc<str>;
/// A payment provider's name and the authorization's idempotency key.
type AuthorizationKey = (String, String);

/// An account's balance in one currency: a debit balance if positive.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Balance {
    pub account: Account,
    pub currency: Currency,
    pub amount: i64,
}

/// One order's part of its tenant's sums.
struct Contribution {
    revision: u64,
    currency: Currency,
    balances: BTreeMap<Account, i64>,
    authorization: AuthorizationKey,
    movement: Movement,
}

impl Contribution {
    fn of(view: &OrderView) -> Contribution {
        let authorization = (view.authorization.psp.clone(), view.authorization.key.clone());
        Contribution {
            revision: view.revision,
            currency: view.currency,
            balances: balances_of(view),
            authorization,
            movement: Movement {
                captured: view.captured.minor,
                refunded: view.refunded.minor,
                disputed: view.chargeback.as_ref().map_or(0, |c| c.amount.minor),
            },
        }
    }
}

#[derive(Default)]
struct TenantBook {
    balances: BTreeMap<(Account, Currency), i128>,
    /// By authorization: one entry per order, looked up on every change of one (so hashed,
    /// not ordered: [`Ledger::psp_movements`] sorts them).
    movements: HashMap<AuthorizationKey, (i128, i128, i128)>,
}

impl TenantBook {
    /// Adds (`sign` 1) or takes away (`sign` -1) an order's contribution.
    fn add(&mut self, part: &Contribution, sign: i128) {
        for (account, amount) in &part.balances {
            let key = (account.clone(), part.currency);
            let sum = self.balances.entry(key).or_default();
            *sum += sign * i128::from(*amount);
            if *sum == 0 {
                self.balances.remove(&(account.clone(), part.currency));
            }
        }
        let moved = match self.movements.get_mut(&part.authorization) {
            Some(moved) => moved,
            None => self.movements.entry(part.authorization.clone()).or_default(),
        };
        moved.0 += sign * i128::from(part.movement.captured);
        moved.1 += sign * i128::from(part.movement.refunded);
        moved.2 += sign * i128::from(part.movement.disputed);
    }
}

#[derive(Default)]
struct Shared {
    orders: DashMap<(Tenant, OrderId), Contribution>,
    tenants: DashMap<Tenant, TenantBook>,
}

/// The ledger's balances; cheap to clone.
#[derive(Clone, Default)]
pub struct Ledger {
    shared: Arc<Shared>,
}

impl Ledger {
    /// A ledger fed by `engine`: registers its projection (so call it before the first ask)
    /// and folds every order in the journal.
    pub fn start(engine: &Engine) -> Result<Ledger, EngineError> {
        let ledger = Ledger::default();
        ledger.register(engine);
        let journal = engine.journal().clone();
        fold_kind::<Order>(&*journal, |id, state| {
            ledger.fold(id, state);
        })?;
        Ok(ledger)
    }

    /// Registers the projection only (for a caller folding the journal itself).
    pub fn register(&self, engine: &Engine) {
        let shared = Arc::downgrade(&self.shared);
        engine.project::<Order>(Arc::new(Postings(shared)));
    }

    /// Takes in one order folded from the journal.
    pub fn fold(&self, entity_id: &str, state: &Order) {
        if let (Some((tenant, _)), Some(view)) = (parse_entity_id(entity_id), state.view()) {
            self.shared.publish(Tenant::from(tenant), Contribution::of(view), &view.id);
        }
    }

    /// Every non-zero balance of `tenant`, by account then currency.
    pub fn balances(&self, tenant: &str) -> Vec<Balance> {
        let Some(book) = self.shared.tenants.get(tenant) else { return Vec::new() };
        book.balances
            .iter()
            .map(|((account, currency), sum)| Balance {
                account: account.clone(),
                currency: *currency,
                amount: clamp(*sum),
            })
            .collect()
    }

    /// The sum of `tenant`'s balances per currency: zero, in a ledger that is right.
    pub fn trial_balance(&self, tenant: &str) -> BTreeMap<Currency, i64> {
        let Some(book) = self.shared.tenants.get(tenant) else { return BTreeMap::new() };
        let mut sums: BTreeMap<Currency, i128> = BTreeMap::new();
        for ((_, currency), sum) in &book.balances {
            *sums.entry(*currency).or_default() += sum;
        }
        sums.into_iter().map(|(currency, sum)| (currency, clamp(sum))).collect()
    }

    /// Captured and refunded amounts per (provider, authorization key), for [`reconcile`].
    ///
    /// [`reconcile`]: super::reconcile
    pub fn psp_movements(&self, tenant: &str) -> BTreeMap<(String, String), Movement> {
        let Some(book) = self.shared.tenants.get(tenant) else { return BTreeMap::new() };
        book.movements
            .iter()
            .map(|(key, (captured, refunded, disputed))| {
                let (captured, refunded, disputed) =
                    (clamp(*captured), clamp(*refunded), clamp(*disputed));
                let movement = Movement { captured, refunded, disputed };
                (key.clone(), movement)
            })
            .collect()
    }
}

/// Starts the order book and the ledger with one fold of the journal.
pub fn start_with_orders(engine: &Engine) -> Result<(OrderBook, Ledger), EngineError> {
    let (book, ledger) = (OrderBook::default(), Ledger::default());
    book.register(engine);
    ledger.register(engine);
    let journal = engine.journal().clone();
    fold_kind::<Order>(&*journal, |id, state| {
        book.fold(id, state);
        ledger.fold(id, state);
    })?;
    Ok((book, ledger))
}

impl Shared {
    fn publish(&self, tenant: Tenant, part: Contribution, id: &OrderId) {
        match self.orders.entry((tenant.clone(), id.clone())) {
            Entry::Occupied(kept) if kept.get().revision >= part.revision => {}
            Entry::Occupied(mut kept) => {
                let mut book = self.tenants.entry(tenant).or_default();
                book.add(kept.get(), -1);
                book.add(&part, 1);
                kept.insert(part);
            }
            Entry::Vacant(vacant) => {
                self.tenants.entry(tenant).or_default().add(&part, 1);
                vacant.insert(part);
            }
        }
    }
}

struct Postings(Weak<Shared>);

impl Projection<Order> for Postings {
    fn prepare(&self, key: &EntityKey, state: &Order, _events: &[OrderEvent]) -> Option<Publish> {
        let (tenant, _) = parse_entity_id(&key.id)?;
        let view = state.view()?;
        // Computed on the entity's actor; only the sums are touched once durable.
        let (part, id) = (Contribution::of(view), view.id.clone());
        let (shared, tenant) = (self.0.upgrade()?, Tenant::from(tenant));
        Some(Box::new(move || shared.publish(tenant, part, &id)))
    }
}

fn clamp(value: i128) -> i64 {
    i64::try_from(value).unwrap_or(if value < 0 { i64::MIN } else { i64::MAX })
}
