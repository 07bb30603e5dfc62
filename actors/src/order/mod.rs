//! Orders (OMS): what a checkout placed, how it is paid, shipped, delivered, cancelled and
//! refunded. Entity id `{tenant}/{order id}` ([`entity_id`]); the checkout saga places the
//! order and drives its payment, sellers ship, carriers deliver.
//!
//! Rules:
//! - `Place` validates: at least one line and at most `ORDER_LINES_MAX`; every amount in the
//!   order's currency and within range; per line `net = unit price × quantity − discount +
//!   shipping` (shipping after any waiver) and `total = net + vat`; the lines add up to the
//!   totals; the authorization holds exactly the total, at a named provider; the fraud
//!   verdict is not `Reject`. It is idempotent: the same checkout answers from state, another
//!   checkout is `AlreadyPlaced`. With transit days it also plans the shipments, as
//!   `PlanShipments` does (a repeat plans an order placed without a plan).
//! - `PlanShipments` groups lines by (seller, location) into shipments numbered from 1, in
//!   the order of the lines' first appearance; a shipment is promised for its largest
//!   handling days under the delivery terms (cut-off, transit days to the destination,
//!   weekends: [`promise`]). Once planned, a second call answers from state.
//! - `RecordCapture` is idempotent by capture id (the same capture answers from state, another
//!   one under the same id is `CaptureConflict`); it must come from the authorization's
//!   provider, be positive, and keep the captured sum within the authorization. It is refused
//!   once the authorization was voided or the order fully refunded; a capture that arrives
//!   after a cancellation (a race with the provider) is recorded, so the money can be
//!   returned.
//! - `Ship` names a planned shipment of the asking seller (any other is `UnknownShipment`, so
//!   a seller learns nothing about another's); a shipment ships once (the same carrier and
//!   tracking again answer from state). Not after a cancellation or a full refund.
//! - `Deliver` needs the shipment shipped; delivering twice answers from state.
//! - `Cancel` is possible only while no shipment has shipped; twice answers from state.
//! - `RecordVoid` follows a cancellation while nothing was captured; twice answers from state.
//! - `RecordRefund` is idempotent by refund id, from the authorization's provider, positive,
//!   and keeps the refunded sum within the captured sum.
//! - `RecordRestock` records that a cancelled order's units went back on hand (the payment
//!   job restocks each line's reservation and records it with `RecordLineRestocked`, then
//!   records the whole); only after a cancellation (a cancelled order later refunded
//!   included), once; again answers from state. A line is recorded once, within the lines.
//!   [`OrderView::restock_due`] tells when it is due. Line `i`'s units were held, and
//!   committed, under the reservation id `{order id}.{i}` at the inventory of (tenant,
//!   line's seller, `SKU@LOCATION` of the line): the checkout saga names them so
//!   (`reserve` in `saga/`), and the restock names them the same way.
//!
//! Status ([`OrderStatus`]) only moves forward: Placed → PartlyShipped → Shipped → Delivered
//! as shipments ship and arrive; Placed → Cancelled; any → Refunded once everything captured
//! is refunded and nothing more can be captured (the whole total was captured, or the order
//! was cancelled). Goodwill no return has counted yet is left out of "refunded": alone it
//! refunds nothing sold (see [`appeasements`]).
//!
//! Returns and support's refunds without one are ruled in [`returns`], goodwill in
//! [`appeasements`]; each is also one of the order's refunds.
//!
//! Invariants, checked by the property test after every step:
//! - the status rank never decreases;
//! - captured ≤ authorized, refunded ≤ captured, both never negative;
//! - shipped shipments are planned ones, delivered ones were shipped;
//! - captures and refunds have unique ids and add up to `captured` and `refunded`;
//! - lists are bounded (bounds in [`crate::limits`]): `ORDER_LINES_MAX` lines (so shipments),
//!   `ORDER_CAPTURES_MAX`, `ORDER_REFUNDS_MAX`, `ORDER_TEXT_BYTES_MAX` per text; returns and
//!   appeasements are bounded too (`ORDER_RETURNS_MAX`, `ORDER_APPEASEMENTS_MAX`, unit
//!   tests in `tests/returns.rs`).

pub mod appeasements;
pub mod chargebacks;
mod decide;
#[cfg(any(test, feature = "testkit"))]
pub mod fixtures;
mod id;
pub mod notes;
pub mod promise;
#[cfg(test)]
mod proptests;
mod rejection;
pub mod returns;
mod state;
#[cfg(test)]
mod tests;
pub mod timeline;
pub mod tracking;
mod validate;
mod view;

use bazaar_entity::{Ctx, Decision, Entity, Kind};
use serde::{Deserialize, Serialize};

use crate::fraud::FraudAssessment;
use crate::ids::CustomerId;
use crate::ids::{Asin, LocationCode, SellerId, Sku};
use crate::kinds;
use crate::money::{Currency, Money};
use crate::payment::{Authorization, Capture, Refund};
use crate::pii::Pii;
use crate::pricing::{AppliedPromotion, CartTotals, CountryCode};
use crate::quantity::Quantity;

pub use id::{OrderId, entity_id, parse_entity_id};
pub use rejection::OrderRejection;
pub use state::Order;
pub use view::{Cancellation, OrderStatus, OrderView, PaymentAction, ShipmentView, Shipped};

/// Milliseconds in a day, for promised delivery dates.
pub const DAY_MS: u64 = 24 * 60 * 60 * 1000;

/// When the checkout takes the money.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum CapturePolicy {
    /// Right after placement.
    AtPlacement,
    /// Once the first shipment has shipped.
    AtShipment,
}

/// One line of an order: what the customer pays for one offer, as priced at checkout.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderLine {
    pub asin: Asin,
    pub seller: SellerId,
    pub sku: Sku,
    /// Where the units ship from.
    pub location: LocationCode,
    pub quantity: Quantity,
    /// VAT exclusive.
    pub unit_price: Money,
    /// Item discounts.
    pub discount: Money,
    /// Shipping after any waiver.
    pub shipping: Money,
    /// `unit_price × quantity − discount + shipping`.
    pub net: Money,
    pub vat_rate_bps: u16,
    pub vat: Money,
    /// `net + vat`.
    pub total: Money,
    pub handling_days: u8,
}

/// Where the order goes. Validated by the gateway, which seals everything but the country
/// (what taxes, promises and fraud rules read) with the customer's data key; here it is data
/// of bounded size.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShipTo {
    pub country: CountryCode,
    pub postal_code: Pii,
    pub city: Pii,
    pub line1: Pii,
    pub name: Pii,
}

/// The names the personal fields of a [`ShipTo`] are sealed under: each sealed value is bound
/// to its field's name, so the sealer and every reader use these.
pub mod ship_to {
    pub const POSTAL_CODE: &str = "ship_to.postal_code";
    pub const CITY: &str = "ship_to.city";
    pub const LINE1: &str = "ship_to.line1";
    pub const NAME: &str = "ship_to.name";
}

/// Everything the checkout knows when it places an order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewOrder {
    pub customer: CustomerId,
    /// The checkout's entity id: placing again with it answers from state.
    pub checkout: String,
    pub currency: Currency,
    pub lines: Vec<OrderLine>,
    pub totals: CartTotals,
    pub promotions: Vec<AppliedPromotion>,
    pub authorization: Authorization,
    pub capture: CapturePolicy,
    /// The marketplace's commission on each line's net, in basis points.
    pub commission_bps: u16,
    pub fraud: FraudAssessment,
    pub ship_to: ShipTo,
}

/// What callers ask of an order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum OrderCommand {
    /// Places the order; with `plan`, plans its shipments in the same decision (as
    /// `PlanShipments` would): the checkout saga's one ask for both.
    Place {
        order: Box<NewOrder>,
        plan: Option<promise::DeliveryPlan>,
    },
    PlanShipments {
        plan: promise::DeliveryPlan,
    },
    RecordCapture {
        capture: Capture,
    },
    Ship {
        shipment: u16,
        seller: SellerId,
        carrier: String,
        tracking: String,
    },
    Deliver {
        shipment: u16,
    },
    Cancel {
        reason: String,
    },
    RecordVoid,
    RecordRefund {
        refund: Refund,
    },
    Get,
    RecordRestock,
    /// Line `line`'s units went back on hand (or were never sold): recorded line by line, so
    /// a restock retried after a failure never gives a line back twice.
    RecordLineRestocked {
        line: u16,
    },
    /// The customer asks to send delivered units back (see [`returns`]).
    RequestReturn {
        request: Box<returns::ReturnRequest>,
    },
    /// Support approves return `number` (`approve`: the label's carrier) or rejects it.
    DecideReturn {
        number: u16,
        approve: Option<String>,
        note: String,
    },
    /// The shipment's seller received return `number`: per returned line, the units sellable.
    ReceiveReturn {
        number: u16,
        seller: SellerId,
        sellable: Vec<u32>,
    },
    RecordReturnRefund {
        number: u16,
        refund: Refund,
    },
    /// Return `number`'s sellable units are back on hand.
    RecordReturnRestocked {
        number: u16,
    },
    /// Line `line` (an order line index) of return `number` is back on hand: recorded line
    /// by line, so a restock retried after a failure never gives a line back twice.
    RecordReturnLineRestocked {
        number: u16,
        line: u16,
    },
    /// Support gives `amount` back as goodwill, which the marketplace bears (see
    /// [`appeasements`]).
    Appease {
        amount: Money,
        reason: String,
        by: String,
        /// The agent's request id: the same again answers the appeasement it granted.
        request_id: String,
    },
    RecordAppeasementRefund {
        number: u16,
        refund: Refund,
    },
    /// Settles received return `number` that the goodwill refunded ahead paid all of.
    SettleReturn {
        number: u16,
    },
    /// The tenant's webhook subscribers have the timeline's notices up to `through` (see
    /// [`timeline`]).
    MarkPublished {
        through: u32,
    },
    /// Ships shipment `shipment` with a carrier's label (see [`tracking`]).
    ShipLabelled {
        shipment: u16,
        seller: SellerId,
        label: tracking::Label,
    },
    /// Carrier `carrier`'s event about the shipment it carries under tracking number
    /// `tracking`.
    RecordTracking {
        carrier: String,
        tracking: String,
        event: tracking::TrackingEvent,
    },
    /// The provider `psp` reports dispute `id`, which took `amount` back for `reason`.
    RecordChargeback {
        psp: String,
        id: String,
        amount: Money,
        reason: String,
    },
    /// `seller` cancels the order before shipment: only an order of its lines alone (one
    /// with other sellers' lines is support's to cancel). Counts on the seller's
    /// cancellation rate.
    CancelBySeller {
        seller: SellerId,
        reason: String,
    },
}

/// The placement, as journaled.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlacedOrder {
    pub id: OrderId,
    pub order: NewOrder,
    pub at_ms: u64,
}

/// A shipment as planned: lines are indexes into the order's lines, from 0.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlannedShipment {
    pub number: u16,
    pub seller: SellerId,
    pub location: LocationCode,
    pub lines: Vec<u16>,
    pub promised_by_ms: u64,
}

/// What happened to an order. Variants are append-only.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum OrderEvent {
    Placed(Box<PlacedOrder>),
    ShipmentsPlanned {
        shipments: Vec<PlannedShipment>,
    },
    PaymentCaptured {
        capture: Capture,
        at_ms: u64,
    },
    ShipmentShipped {
        shipment: u16,
        carrier: String,
        tracking: String,
        at_ms: u64,
    },
    ShipmentDelivered {
        shipment: u16,
        at_ms: u64,
    },
    Cancelled {
        reason: String,
        at_ms: u64,
    },
    PaymentVoided {
        at_ms: u64,
    },
    PaymentRefunded {
        refund: Refund,
        at_ms: u64,
    },
    Restocked {
        at_ms: u64,
    },
    LineRestocked {
        line: u16,
        at_ms: u64,
    },
    ReturnRequested(Box<returns::RequestedReturn>),
    ReturnApproved {
        number: u16,
        /// None for a return nothing travels with (`returnless`).
        label: Option<returns::ReturnLabel>,
        by_rule: bool,
        at_ms: u64,
    },
    ReturnRejected {
        number: u16,
        note: String,
        at_ms: u64,
    },
    ReturnReceived {
        number: u16,
        sellable: Vec<u32>,
        at_ms: u64,
    },
    /// Also one of the order's refunds.
    ReturnRefunded {
        number: u16,
        refund: Refund,
        at_ms: u64,
    },
    ReturnRestocked {
        number: u16,
        at_ms: u64,
    },
    ReturnLineRestocked {
        number: u16,
        line: u16,
        at_ms: u64,
    },
    Appeased(Box<appeasements::Appeasement>),
    /// Also one of the order's refunds.
    AppeasementRefunded {
        number: u16,
        refund: Refund,
        at_ms: u64,
    },
    /// A received return settled with nothing left to refund (goodwill paid it ahead).
    ReturnSettled {
        number: u16,
        at_ms: u64,
    },
    /// The tenant's webhook subscribers have the timeline's notices up to `through`.
    Published {
        through: u32,
    },
    /// Shipment `shipment` was shipped with a carrier's label of this service level.
    Labelled {
        shipment: u16,
        service_level: String,
    },
    TrackingRecorded {
        shipment: u16,
        event: tracking::TrackingEvent,
    },
    /// The payment provider took the disputed money back (see [`chargebacks`]).
    ChargedBack(Box<chargebacks::Chargeback>),
    /// The `Cancelled` before it in the same decision was its seller's.
    CancelledBySeller {
        seller: SellerId,
    },
}

/// The answer to every order command: the order after it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderReply {
    pub order: OrderView,
}

impl Entity for Order {
    const KIND: Kind = kinds::ORDER;
    type Command = OrderCommand;
    type Event = OrderEvent;
    type Reply = OrderReply;
    type Rejection = OrderRejection;

    fn decide(
        &self,
        command: OrderCommand,
        ctx: &Ctx<'_>,
    ) -> Result<Decision<Self>, OrderRejection> {
        decide::decide(self, command, &ctx.key.id, ctx.now_ms)
    }

    fn apply(&mut self, event: &OrderEvent) {
        self.apply_event(event);
    }

    /// `outbox/{id}` while the timeline has notices its subscribers do not have yet.
    fn index_rows(&self, id: &str) -> Vec<crate::index::Row> {
        let pending = self.view.as_ref().and_then(|view| view.unpublished().first());
        pending.map(|notice| crate::index::outbox_row(id, notice.at_ms)).into_iter().collect()
    }

    /// Placed with its shipments planned, nothing owed to its payment or its stock, and every
    /// notice of its timeline published: what comes next (a shipment, a delivery, a
    /// cancellation, a return) is a person's or a carrier's doing. (The notifier's
    /// `MarkPublished` follows a change within `coalesce_ms`; an order put to rest before it
    /// would be activated again, its whole stream read, for that one event.)
    fn at_rest(&self) -> bool {
        self.view.as_ref().is_some_and(|view| {
            !view.shipments.is_empty() && view.idle() && view.unpublished().is_empty()
        })
    }
}
