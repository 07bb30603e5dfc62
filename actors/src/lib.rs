//! Bazaar's commerce domain: one module per aggregate, each a pure [`Entity`] the engine runs.
//!
//! Entry points: [`inventory::Inventory`] (stock of a SKU at a location, reservations),
//! [`product::Product`] (catalog document, seller offers, buy box), [`seller::Seller`]
//! (profile, standing, score inputs); their kind codes are in [`kinds`].
//! [`cart::Cart`] (a shopper's lines and what was seen of them) and
//! [`promotion::Promotion`] (a promotion's definition and redemption counters) are entities
//! too, and so are [`checkout::Checkout`] (a checkout saga's durable memory and its next
//! step), [`order::Order`], [`audit::AuditTrail`] and [`worklist::Worklist`];
//! [`pricing::price`] is a pure function (promotions, VAT, rounding) used by the cart's
//! priced view and the checkout.
//!
//! Architecture invariants:
//! - `decide` holds all business logic and never mutates; `apply` holds none and never fails.
//!   Time and facts about other entities arrive in `Ctx` or in the command, never from a clock
//!   or a lookup here.
//! - The crate runs, stores and sends nothing: its only dependencies are the entity contract
//!   (`bazaar-entity`), serde, thiserror and a hash function, and the workspace tidy test
//!   (`tests/tidy.rs`) checks both this manifest and the sources (no tokio, ractor, sled,
//!   axum, reqwest, tantivy, clock or float). It is tested with plain `#[test]` and proptest.
//!   What runs it lives in `bazaar-services`.
//! - Every command is validated in `decide`; a bad input is a rejection from the entity's one
//!   flat rejection enum (see [`rejection`]), never a panic.
//! - Money is integer minor units with a currency ([`money`]); there is no floating point.
//! - Commands are imperative, events past tense. Event, command and rejection variants are
//!   append-only: the journal codec (bincode) records a variant by its position.
//!
//! [`Entity`]: bazaar_entity::Entity

pub mod audit;
pub mod cart;
pub mod checkout;
pub mod customer;
pub mod fraud;
pub mod fulfilment;
pub mod ids;
pub mod index;
pub mod inventory;
pub mod keys;
pub mod kinds;
pub mod ledger;
pub mod limits;
pub mod money;
pub mod order;
pub mod payment;
pub mod pii;
pub mod pricing;
pub mod product;
pub mod promotion;
pub mod quantity;
pub mod rejection;
pub mod seller;
mod snapshot;
#[cfg(any(test, feature = "testkit"))]
pub mod testing;
pub mod text;
pub mod webhooks;
pub mod worklist;

pub use ids::{Asin, CustomerId, IdError, LocationCode, ReservationId, SellerId, Sku};
pub use money::{Currency, Money, MoneyError};
pub use pricing::CountryCode;
pub use quantity::Quantity;
pub use rejection::{Rejection, RejectionKind};
