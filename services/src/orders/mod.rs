//! The order book: orders by customer and by seller, and each customer's history (what the
//! fraud check reads). A read model, not pure: fed by an engine projection once events are
//! durable, rebuilt from the journal at start.
//!
//! Invariants:
//! - It shows only durable orders, each at its newest revision seen: an update carrying a
//!   revision at or below the one kept is ignored, so the start-up fold and the projection
//!   may overlap in any order.
//! - A customer keeps at most [`ORDERS_PER_CUSTOMER_MAX`] summaries and a seller at most
//!   [`ORDERS_PER_SELLER_MAX`] orders, the newest; a customer's history counts every order.
//! - Memory grows with the number of orders: one index entry (a revision) per order.
//! - Each order is learnt from once, the first time it is seen, for recommendations
//!   (`recommendations.rs`).
//!
//! Locks: an update holds the order's index entry while it touches the customer's and the
//! sellers' maps, always in that order; queries hold one map entry at a time.

use std::cmp::Reverse;
use std::collections::BTreeMap;
use std::sync::{Arc, Weak};

use bazaar_engine::replay::fold_kind;
use bazaar_engine::{Engine, EngineError, EntityKey, Projection, Publish};
use dashmap::DashMap;
use dashmap::mapref::entry::Entry;
use serde::{Deserialize, Serialize};

use crate::limits::ORDERS_PER_SELLER_MAX;
use crate::limits::{ORDERS_PER_CUSTOMER_MAX, RECOMMENDATION_SUPPORT_MIN};
use bazaar_actors::cart::CustomerId;
use bazaar_actors::fraud::CustomerFacts;
use bazaar_actors::ids::SellerId;
use bazaar_actors::ledger::statement::{SellerEntry, Statement, seller_entries};
use bazaar_actors::money::{Currency, Money};
use bazaar_actors::order::returns::ReturnView;
use bazaar_actors::order::tracking::ShipmentTracking;
use bazaar_actors::order::{
    Order, OrderEvent, OrderId, OrderLine, OrderStatus, OrderView, ShipmentView,
};

mod recommendations;
#[cfg(test)]
mod tests;

pub use recommendations::Recommended;

type Tenant = Arc<str>;
/// Newest first, then by id.
type Newest = (Reverse<u64>, OrderId);

/// One order in a customer's list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderSummary {
    pub id: OrderId,
    pub status: OrderStatus,
    pub placed_at_ms: u64,
    pub total: Money,
    pub lines: u16,
}

/// One order as a seller sees it: only its own lines and shipments, and nothing that tells
/// whether the order has other sellers' lines: a shipment's `lines` index the seller's own
/// lines, not the whole order's. (A shipment keeps the order's number, which the customer
/// quotes too.)
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SellerOrderLines {
    pub id: OrderId,
    pub status: OrderStatus,
    pub placed_at_ms: u64,
    pub lines: Vec<OrderLine>,
    pub shipments: Vec<ShipmentView>,
    /// The labels and tracking of this seller's shipments.
    pub tracking: Vec<ShipmentTracking>,
    /// The returns of this seller's shipments (their lines index this seller's `lines`).
    pub returns: Vec<ReturnView>,
    pub currency: Currency,
    /// What this order moved of the seller's money, oldest first (its statement's part).
    pub entries: Vec<SellerEntry>,
    /// This seller cancelled it (it counts on the seller's cancellation rate).
    pub cancelled_by_seller: bool,
}

impl SellerOrderLines {
    /// `seller`'s part of `order`.
    pub fn of(order: &OrderView, seller: &SellerId) -> SellerOrderLines {
        // Position of each of the seller's lines among its own, by index in the order.
        let own: Vec<usize> =
            (0..order.lines.len()).filter(|&index| order.lines[index].seller == *seller).collect();
        let local = |index: &u16| {
            own.iter().position(|&i| i == usize::from(*index)).and_then(|p| u16::try_from(p).ok())
        };
        let shipments = order
            .shipments
            .iter()
            .filter(|shipment| shipment.seller == *seller)
            .map(|shipment| {
                let mut mine = shipment.clone();
                mine.lines = shipment.lines.iter().filter_map(local).collect();
                mine
            })
            .collect();
        let returns = order
            .returns
            .iter()
            .filter(|returned| returned.request.seller == *seller)
            .map(|returned| {
                let mut mine = returned.clone();
                for line in &mut mine.request.lines {
                    line.line = local(&line.line).unwrap_or(line.line);
                }
                mine
            })
            .collect();
        let tracking = order
            .tracking
            .iter()
            .filter(|tracking| {
                order.shipment(tracking.shipment).is_some_and(|s| s.seller == *seller)
            })
            .cloned()
            .collect();
        SellerOrderLines {
            cancelled_by_seller: order.cancelled_by_seller.as_ref() == Some(seller),
            tracking,
            id: order.id.clone(),
            status: order.status,
            placed_at_ms: order.placed_at_ms,
            lines: own.iter().map(|&index| order.lines[index].clone()).collect(),
            shipments,
            returns,
            currency: order.currency,
            entries: seller_entries(order, seller),
        }
    }
}

/// What a customer spent in one currency.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Spent {
    pub amount: Money,
    pub orders: u32,
}

/// A customer's order history: every order placed, whatever became of it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CustomerHistory {
    pub orders: u32,
    /// One entry per currency, by currency.
    pub spent: Vec<Spent>,
    pub first_order_at_ms: Option<u64>,
}

impl CustomerHistory {
    /// The facts the fraud check takes for an order in `currency`.
    pub fn facts(&self, currency: Currency) -> CustomerFacts {
        let average_minor = self
            .spent
            .iter()
            .find(|spent| spent.amount.currency == currency && spent.orders > 0)
            .map(|spent| spent.amount.minor / i64::from(spent.orders));
        CustomerFacts {
            orders: self.orders,
            average_minor,
            first_order_at_ms: self.first_order_at_ms,
        }
    }

    fn count(&mut self, view: &OrderView) {
        self.orders = self.orders.saturating_add(1);
        let at = view.placed_at_ms;
        self.first_order_at_ms = Some(self.first_order_at_ms.map_or(at, |first| first.min(at)));
        let total = view.totals.total;
        match self.spent.iter_mut().find(|spent| spent.amount.currency == total.currency) {
            Some(spent) => {
                spent.amount.minor = spent.amount.minor.saturating_add(total.minor);
                spent.orders = spent.orders.saturating_add(1);
            }
            None => {
                self.spent.push(Spent { amount: total, orders: 1 });
                self.spent.sort_by_key(|spent| spent.amount.currency);
            }
        }
    }
}

#[derive(Default)]
struct CustomerOrders {
    summaries: BTreeMap<Newest, OrderSummary>,
    history: CustomerHistory,
}

#[derive(Default)]
struct Shared {
    /// The revision kept of every order.
    revisions: DashMap<(Tenant, OrderId), u64>,
    customers: DashMap<(Tenant, CustomerId), CustomerOrders>,
    sellers: DashMap<(Tenant, SellerId), BTreeMap<Newest, SellerOrderLines>>,
    /// Entity ids of the orders not settled: payment not done (see
    /// [`OrderView::payment_action`]) or units to restock: every order not [`OrderView::idle`].
    /// What the payment job works through, rebuilt with the rest at start, so a capture or a
    /// restock due before a crash is found again after it.
    unsettled: dashmap::DashSet<String>,
    recommendations: recommendations::Recommendations,
}

/// Orders by customer and seller; cheap to clone.
#[derive(Clone, Default)]
pub struct OrderBook {
    shared: Arc<Shared>,
}

impl OrderBook {
    /// An order book fed by `engine`: registers its projection (so call it before the first
    /// ask) and folds every order in the journal.
    pub fn start(engine: &Engine) -> Result<OrderBook, EngineError> {
        let book = OrderBook::default();
        book.register(engine);
        let journal = engine.journal().clone();
        fold_kind::<Order>(&*journal, |id, state| {
            book.fold(id, state);
        })?;
        Ok(book)
    }

    /// Registers the projection only (for a caller folding the journal itself).
    pub fn register(&self, engine: &Engine) {
        let shared = Arc::downgrade(&self.shared);
        engine.project::<Order>(Arc::new(Orders(shared)));
    }

    /// Takes in one order folded from the journal.
    pub fn fold(&self, entity_id: &str, state: &Order) {
        if let (Some((tenant, _)), Some(view)) =
            (bazaar_actors::order::parse_entity_id(entity_id), state.view())
        {
            self.shared.publish(Tenant::from(tenant), view);
        }
    }

    /// A customer's orders, newest first.
    pub fn customer_orders(&self, tenant: &str, customer: &CustomerId) -> Vec<OrderSummary> {
        let key = (Tenant::from(tenant), customer.clone());
        self.shared
            .customers
            .get(&key)
            .map(|orders| orders.summaries.values().cloned().collect())
            .unwrap_or_default()
    }

    /// A seller's orders, newest first, each with that seller's lines and shipments only.
    pub fn seller_orders(&self, tenant: &str, seller: &SellerId) -> Vec<SellerOrderLines> {
        let key = (Tenant::from(tenant), seller.clone());
        self.shared
            .sellers
            .get(&key)
            .map(|orders| orders.values().cloned().collect())
            .unwrap_or_default()
    }

    /// How many of `seller`'s recent orders (the newest the book keeps) it cancelled itself,
    /// and of how many: `just_cancelled`, which it has just cancelled, counts as such even
    /// before the book sees it.
    pub fn seller_cancellations(
        &self,
        tenant: &str,
        seller: &SellerId,
        just_cancelled: &OrderId,
    ) -> (u32, u32) {
        let key = (Tenant::from(tenant), seller.clone());
        let (mut cancelled, mut orders, mut seen) = (0u32, 0u32, false);
        if let Some(book) = self.shared.sellers.get(&key) {
            for order in book.values() {
                let this = order.id == *just_cancelled;
                seen |= this;
                orders = orders.saturating_add(1);
                cancelled = cancelled.saturating_add(u32::from(order.cancelled_by_seller || this));
            }
        }
        if !seen {
            (cancelled, orders) = (cancelled.saturating_add(1), orders.saturating_add(1));
        }
        (cancelled, orders)
    }

    /// The seller's statement for `from_ms..to_ms`, per currency: every movement of the
    /// seller's orders the book keeps dated in the period (a sale of last period refunded
    /// in this one counts here), and whether that is all of them: the book keeps a seller's
    /// newest [`ORDERS_PER_SELLER_MAX`] orders, so once it has had to forget one, a movement
    /// of a forgotten order is missing (the ledger has every one).
    pub fn seller_statement(
        &self,
        tenant: &str,
        seller: &SellerId,
        (from_ms, to_ms): (u64, u64),
    ) -> (BTreeMap<Currency, Statement>, bool) {
        let key = (Tenant::from(tenant), seller.clone());
        let mut statements: BTreeMap<Currency, Statement> = BTreeMap::new();
        let Some(orders) = self.shared.sellers.get(&key) else { return (statements, true) };
        for order in orders.values() {
            let dated = order.entries.iter().filter(|e| (from_ms..to_ms).contains(&e.at_ms));
            for entry in dated {
                statements.entry(order.currency).or_default().add(entry);
            }
        }
        (statements, orders.len() < ORDERS_PER_SELLER_MAX)
    }

    /// A customer's history; empty for a customer who never ordered.
    pub fn customer_history(&self, tenant: &str, customer: &CustomerId) -> CustomerHistory {
        let key = (Tenant::from(tenant), customer.clone());
        self.shared.customers.get(&key).map(|orders| orders.history.clone()).unwrap_or_default()
    }

    /// Entity ids of every order whose payment has something to do now (capture, void,
    /// refund) or whose units are still to be restocked, in no order.
    pub fn unsettled(&self) -> Vec<String> {
        self.shared.unsettled.iter().map(|id| id.key().clone()).collect()
    }

    /// What orders bought with `asin` (in one order, or by one customer in others), most
    /// often first, each pair seen at least [`RECOMMENDATION_SUPPORT_MIN`] times; products
    /// since removed or out of stock included (the caller filters).
    pub fn recommendations(&self, tenant: &str, asin: &bazaar_actors::Asin) -> Recommended {
        let mut found = self.shared.recommendations.of(tenant, asin);
        for list in [&mut found.bought_together, &mut found.also_bought] {
            list.retain(|(_, seen)| *seen >= RECOMMENDATION_SUPPORT_MIN);
        }
        found
    }

    /// What the fraud check takes about `customer` for an order in `currency`.
    pub fn customer_facts(
        &self,
        tenant: &str,
        customer: &CustomerId,
        currency: Currency,
    ) -> CustomerFacts {
        self.customer_history(tenant, customer).facts(currency)
    }
}

impl Shared {
    fn publish(&self, tenant: Tenant, view: &OrderView) {
        let (held, first_seen) = match self.revisions.entry((tenant.clone(), view.id.clone())) {
            Entry::Occupied(kept) if *kept.get() >= view.revision => return,
            Entry::Occupied(mut kept) => {
                kept.insert(view.revision);
                (kept.into_ref(), false)
            }
            Entry::Vacant(vacant) => (vacant.insert(view.revision), true),
        };
        // The index entry stays locked while the order is stored, so two revisions of one
        // order never interleave.
        self.store(&tenant, view, first_seen);
        drop(held);
        if first_seen {
            // Once per order; needs no lock of the book's.
            self.recommendations.learn(&tenant, view);
        }
    }

    fn store(&self, tenant: &Tenant, view: &OrderView, first_seen: bool) {
        let entity_id = bazaar_actors::order::entity_id(tenant, &view.id);
        // An order waiting for its first shipment (captured at shipment) has nothing to do
        // until then: the dispatch kicks the job, and the shipped order lands here again.
        if view.idle() {
            self.unsettled.remove(&entity_id);
        } else {
            self.unsettled.insert(entity_id);
        }
        let newest: Newest = (Reverse(view.placed_at_ms), view.id.clone());
        let summary = OrderSummary {
            id: view.id.clone(),
            status: view.status,
            placed_at_ms: view.placed_at_ms,
            total: view.totals.total,
            lines: u16::try_from(view.lines.len()).unwrap_or(u16::MAX),
        };
        {
            let mut customer =
                self.customers.entry((tenant.clone(), view.customer.clone())).or_default();
            if first_seen {
                customer.history.count(view);
            }
            keep_newest(&mut customer.summaries, newest.clone(), summary, ORDERS_PER_CUSTOMER_MAX);
        }
        for seller in view.sellers() {
            let entry = SellerOrderLines::of(view, seller);
            let mut orders = self.sellers.entry((tenant.clone(), seller.clone())).or_default();
            keep_newest(&mut orders, newest.clone(), entry, ORDERS_PER_SELLER_MAX);
        }
    }
}

/// Inserts `value` and drops the oldest entries beyond `max`.
fn keep_newest<V>(map: &mut BTreeMap<Newest, V>, key: Newest, value: V, max: usize) {
    map.insert(key, value);
    while map.len() > max {
        map.pop_last();
    }
}

struct Orders(Weak<Shared>);

impl Projection<Order> for Orders {
    fn prepare(&self, key: &EntityKey, state: &Order, _events: &[OrderEvent]) -> Option<Publish> {
        let (tenant, _) = bazaar_actors::order::parse_entity_id(&key.id)?;
        let view = state.view()?.clone();
        let (shared, tenant) = (self.0.upgrade()?, Tenant::from(tenant));
        Some(Box::new(move || shared.publish(tenant, &view)))
    }
}
