//! Bazaar's services: what runs the domain (`bazaar-actors`) on the engine and talks to the
//! world, between the aggregates and the HTTP gateway.
//!
//! - [`catalog`]: the read models (product views, seller scores, stock, promotions) fed by
//!   engine projections, the flows that tell products about stock and seller scores, cart
//!   holds and hold expiry.
//! - [`search`]: the catalogue's tantivy index.
//! - [`saga`]: the checkout saga's runner and the payment job.
//! - [`payments`]: the payment providers' client (failover, retries, breakers, auth-only).
//! - [`orders`] and [`ledger`]: the order book (with what was bought together) and the ledger
//!   book, projections of order events. [`fraud`]: the velocity signals the fraud rules read.
//! - [`build_index`]: the journal's index built at start when its layout changed.
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
pub mod carriers;
pub mod carts;
pub mod catalog;
pub mod fraud;

pub mod ledger;
pub mod limits;
pub mod notify;
pub mod orders;
pub mod payments;
pub mod pii;
pub mod saga;
pub mod search;
pub mod signing;

use std::sync::Arc;

use bazaar_actors::index::{INDEX_VERSION, VERSION_ROW};
use bazaar_actors::{
    audit, cart, checkout, customer, inventory, order, product, promotion, seller, webhooks,
    worklist,
};
use bazaar_engine::EngineError;
use bazaar_engine::replay::index_kind;
use bazaar_persistence::{Journal, JournalExt};

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
    engine.register::<order::notes::OrderNotes>();
    engine.register::<seller::cases::SupportCases>();
    engine.register::<customer::Customer>();
    engine.register::<webhooks::Webhooks>();
}

/// Builds the journal's index (`bazaar_actors::index`) from the streams of every kind that
/// keeps rows, if another layout built it (or none did: a journal written before the index
/// existed); the rows written, 0 when the index was already built. The first step of a
/// start, before any read model or the sagas' resumption reads the index. Blocks: run it
/// off the async workers.
pub fn build_index(journal: &Arc<dyn Journal>) -> Result<u64, EngineError> {
    let version = INDEX_VERSION.to_le_bytes().to_vec();
    let found = journal.index_get(VERSION_ROW)?;
    if found.as_ref() == Some(&version) {
        return Ok(0);
    }
    // Written for the steps from 3 and 4 to 5: a later version needs its own step here.
    const _: () = assert!(INDEX_VERSION == 5);
    let version_of = |v: u32| Some(v.to_le_bytes().to_vec());
    let rows = if found == version_of(4) {
        // Version 5 added the orders' outbox rows and changed nothing else: a catalogue's
        // rows stay, so an upgrade does not read every product.
        index_kind::<order::Order>(&**journal)?
    } else if found == version_of(3) {
        // Version 4 added the checkouts' saga rows.
        index_kind::<checkout::Checkout>(&**journal)? + index_kind::<order::Order>(&**journal)?
    } else {
        clear_index(journal)?;
        index_kind::<product::Product>(&**journal)?
            + index_kind::<inventory::Inventory>(&**journal)?
            + index_kind::<checkout::Checkout>(&**journal)?
            + index_kind::<order::Order>(&**journal)?
    };
    // Not waited for: the journal makes writes durable in order, so the version is never
    // durable without the rows it stands for (a crash before it means a build again).
    journal.write_index(vec![(VERSION_ROW.to_vec(), Some(version))], Box::new(|_| {}));
    tracing::info!(rows, "journal index built from the streams");
    Ok(rows)
}

/// Removes every row of the index (another layout's), waiting until the removals are read.
fn clear_index(journal: &Arc<dyn Journal>) -> Result<(), EngineError> {
    let page_rows = bazaar_engine::limits::INDEX_BUILD_BATCH_ROWS;
    let rows: Vec<_> = bazaar_persistence::index_pages(journal.clone(), b"", page_rows)
        .map(|row| Ok((row?.0, None)))
        .collect::<Result<_, EngineError>>()?;
    for batch in rows.chunks(page_rows) {
        journal.write_index_receipt(batch.to_vec()).wait()?;
    }
    Ok(())
}
