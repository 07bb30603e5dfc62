//! Bazaar's services: what runs the domain (`bazaar-actors`) on the engine and talks to the
//! world, between the aggregates and the HTTP gateway.
//!
//! - [`catalog`]: the read models (product views, seller scores, stock, promotions) fed by
//!   engine projections, the flows that tell products about stock and seller scores, cart
//!   holds and hold expiry.
//! - [`search`]: the catalogue's tantivy index.
//! - [`saga`]: the checkout saga's runner and the payment job.
//! - [`payments`]: the payment providers' client (failover, retries, breakers, auth-only).
//! - [`orders`] and [`ledger`]: the order book and the ledger book, projections of order
//!   events. [`fraud`]: the velocity signals the fraud rules read.
//!
//! Architecture invariants:
//! - Business rules live in the domain: a service decides nothing a `decide` could; it
//!   gathers facts, asks entities and keeps read models.
//! - Read models never show a change that is not durable (they are engine projections, fed
//!   after the journal's callback) and are rebuilt from the journal at start.
//! - Every effect a saga has outside its entity carries an id derived from the saga's key, so
//!   a step repeated after a crash acts once.
//! - No lock is held across an `.await`; blocking work (tantivy, rebuilds) runs off the async
//!   workers.

pub mod cache;
pub mod carts;
pub mod catalog;
pub mod fraud;

pub mod ledger;
pub mod limits;
pub mod orders;
pub mod payments;
pub mod saga;
pub mod search;

use bazaar_actors::{
    audit, cart, checkout, inventory, order, product, promotion, seller, worklist,
};

/// Registers every aggregate of the domain with `engine`, so that a kind code used twice
/// fails at start, not in the middle of a request.
pub fn register(engine: &bazaar_engine::Engine) {
    engine.register::<product::Product>();
    engine.register::<inventory::Inventory>();
    engine.register::<cart::Cart>();
    engine.register::<seller::Seller>();
    engine.register::<promotion::Promotion>();
    engine.register::<audit::AuditTrail>();
    engine.register::<worklist::Worklist>();
    engine.register::<order::Order>();
    engine.register::<checkout::Checkout>();
}
