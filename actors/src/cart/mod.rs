//! Cart: a shopper's lines (an ASIN, the offer chosen, a quantity), keyed by a cart id the
//! caller builds; kind [`kinds::CART`]. The cart records the price and availability the
//! shopper saw, so [`priced_view`] can flag what changed since.
//!
//! Rules:
//! - `Create { owner, currency }` comes first; every other command on a cart not created is
//!   `UnknownCart`. Creating again with the same owner and currency answers from state;
//!   anything else is `AlreadyCreated`. The owner never changes: a guest cart is merged into
//!   the customer's (`MergeFrom`), not handed over. Only the owner may change a cart: the
//!   gateway sends its changes `AsOwner`, which the cart refuses for anyone else as it
//!   refuses a cart that does not exist.
//! - A line is identified by (ASIN, offer choice): `BuyBox` (whoever wins at checkout) and
//!   `Seller(id)` are different lines, even when that seller holds the buy box.
//! - `AddLine` of an existing line adds to its quantity; `ChangeQuantity` sets it. Both
//!   replace the seen price and availability (and stamp `seen_at_ms` with now). A quantity
//!   is never zero (the type forbids it): lines leave only by `RemoveLine` or `Clear`.
//! - A line holds at most `CART_LINE_QUANTITY_MAX` units and a cart at most
//!   `CART_LINES_MAX` lines: `AddLine` and `ChangeQuantity` beyond are refused, never
//!   clamped.
//! - `MergeFrom { lines }` (a guest cart's lines, at most `CART_LINES_MAX`) is the one
//!   command that caps instead of refusing, because the shopper did not ask for the sum:
//!   quantities of the same line add up and are capped at `CART_LINE_QUANTITY_MAX`; a new
//!   line that does not fit in a full cart is dropped (lines are taken in the order given).
//!   The reply lists every capped and dropped line. Of two seen prices, the newer
//!   observation (`seen_at_ms`) is kept; on a tie, the cart's own.
//! - A merge names its source (`from`, an entity id other than this cart's, else
//!   `MergeIntoItself`) and the source's revision it read, and is recorded (`MergedFrom`) in
//!   the same decision as its lines: all of it happens or none. The cart remembers the newest
//!   revision taken from each of its last `CART_MERGES_REMEMBERED_MAX` sources, so merging a
//!   source again at the same revision adds nothing: a caller that failed after the merge but
//!   before emptying the source retries safely.
//! - Seen prices are positive, at most `PRICE_MINOR_MAX`, in the cart's currency.
//!
//! - A cart keeps the record of what its reservation holds (`RecordHolds`: [`HoldRecord`]s
//!   added and forgotten in one decision), so a release finds what is held even when the buy
//!   box moved since; at most `CART_HOLDS_MAX` (`TooManyHolds`). Recording a hold changes no
//!   line, so it leaves `revision` (the shopper's cart, fit for an ETag and for a merge's
//!   source revision) as it is. A cart created before holds were recorded on it may still
//!   have them in its `cart-holds` worklist: `holds_on_cart` in its view is false until its
//!   first `RecordHolds`, which the caller makes with those records moved in.
//!
//! Invariants, checked by the property test after every step: no line has a quantity above
//! the limit (nor zero), the cart never holds more lines than the limit, and merging is
//! associative in the quantities it produces (caps included).

mod decide;
mod owner;
#[cfg(test)]
mod proptests;
mod state;
#[cfg(test)]
mod tests;
mod view;

use bazaar_entity::{Ctx, Decision, Entity, Kind};
use serde::{Deserialize, Serialize};

use crate::ids::{Asin, SellerId, Sku};
use crate::kinds;
use crate::money::{Currency, Money};
use crate::quantity::Quantity;
use crate::rejection::{Rejection, RejectionKind};

pub use owner::{CartOwner, CustomerId, GuestToken};
pub use state::Cart;
pub use view::{
    CurrentFacts, LineFlag, OfferFacts, PricedCartView, ProductFacts, ViewLine, priced_view,
};

/// Which offer of an ASIN a line buys. Variants are append-only.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum OfferChoice {
    /// The buy box winner at the time of pricing.
    BuyBox,
    /// This seller's offer.
    Seller(SellerId),
}

/// What identifies a cart line.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct LineKey {
    pub asin: Asin,
    pub offer: OfferChoice,
}

/// One cart line, with what the shopper saw when it was last added or changed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CartLine {
    pub asin: Asin,
    pub offer: OfferChoice,
    pub quantity: Quantity,
    /// The unit price shown to the shopper (VAT exclusive, as offers are).
    pub seen_unit_price: Money,
    pub seen_available: bool,
    /// When the seen facts were observed.
    pub seen_at_ms: u64,
}

impl CartLine {
    pub fn key(&self) -> LineKey {
        LineKey { asin: self.asin.clone(), offer: self.offer.clone() }
    }
}

/// A hold a cart's reservation placed, or is about to place: the line's ASIN, the seller and
/// SKU it is held at, and the hold's generation (a line held anew after its hold was released
/// or expired is held under the next generation's reservation id).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct HoldRecord {
    pub asin: Asin,
    pub seller: SellerId,
    pub sku: Sku,
    pub generation: u32,
}

/// What callers ask of a cart.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum CartCommand {
    Create {
        owner: CartOwner,
        currency: Currency,
    },
    AddLine {
        asin: Asin,
        offer: OfferChoice,
        quantity: Quantity,
        seen_unit_price: Money,
        seen_available: bool,
    },
    ChangeQuantity {
        asin: Asin,
        offer: OfferChoice,
        quantity: Quantity,
        seen_unit_price: Money,
        seen_available: bool,
    },
    RemoveLine {
        asin: Asin,
        offer: OfferChoice,
    },
    /// Merges the lines of cart `from` (its entity id), as they were at its `revision` (a
    /// guest's cart, at sign-in), into this one. Once per source revision: a repeat merges
    /// nothing and reports nothing.
    MergeFrom {
        from: String,
        revision: u64,
        lines: Vec<CartLine>,
    },
    Clear,
    Get,
    /// Records holds and forgets others, in one decision (see the module's rules).
    RecordHolds {
        add: Vec<HoldRecord>,
        forget: Vec<HoldRecord>,
    },
    /// `command`, if the cart is `owner`'s: another's cart is [`CartRejection::UnknownCart`],
    /// as no cart is, so a shopper learns nothing of a cart that is not theirs. A request's
    /// ownership check and its change in one ask.
    AsOwner {
        owner: CartOwner,
        command: Box<CartCommand>,
    },
}

/// What happened to a cart. Variants are append-only.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum CartEvent {
    Created {
        owner: CartOwner,
        currency: Currency,
        at_ms: u64,
    },
    LineAdded {
        line: CartLine,
    },
    /// An existing line's quantity or seen facts changed; `line` is the line after.
    LineChanged {
        line: CartLine,
    },
    LineRemoved {
        asin: Asin,
        offer: OfferChoice,
    },
    Cleared,
    /// The lines of cart `from` at its `revision` were merged in (with the line events of the
    /// same decision).
    MergedFrom {
        from: String,
        revision: u64,
    },
    HoldRecorded {
        hold: HoldRecord,
    },
    HoldForgotten {
        hold: HoldRecord,
    },
    /// From here on the cart's holds are recorded on the cart alone (none in a worklist).
    HoldsOnCart,
}

/// Why a cart command was refused. Variants are append-only; see [`Rejection`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
pub enum CartRejection {
    #[error("no such cart")]
    UnknownCart,
    #[error("the cart already exists for another owner or currency")]
    AlreadyCreated,
    #[error("amounts must be in {expected}")]
    CurrencyMismatch { expected: Currency },
    #[error("a price must be between 1 and {max_minor} minor units")]
    PriceInvalid { max_minor: i64 },
    #[error("a cart line holds at most {max} units")]
    LineQuantityTooLarge { max: u32 },
    #[error("a cart holds at most {max} lines")]
    TooManyLines { max: u32 },
    #[error("the cart has no such line")]
    UnknownLine,
    #[error("a merge brings at most {max} lines")]
    MergeTooLarge { max: u32 },
    #[error("a cart cannot merge into itself")]
    MergeIntoItself,
    #[error("a cart records at most {max} holds")]
    TooManyHolds { max: u32 },
}

impl Rejection for CartRejection {
    fn code(&self) -> &'static str {
        match self {
            CartRejection::UnknownCart => "unknown_cart",
            CartRejection::AlreadyCreated => "cart_already_created",
            CartRejection::CurrencyMismatch { .. } => "currency_mismatch",
            CartRejection::PriceInvalid { .. } => "price_invalid",
            CartRejection::LineQuantityTooLarge { .. } => "line_quantity_too_large",
            CartRejection::TooManyLines { .. } => "too_many_lines",
            CartRejection::UnknownLine => "unknown_line",
            CartRejection::MergeTooLarge { .. } => "merge_too_large",
            CartRejection::MergeIntoItself => "merge_into_itself",
            CartRejection::TooManyHolds { .. } => "too_many_holds",
        }
    }

    fn kind(&self) -> RejectionKind {
        match self {
            CartRejection::UnknownCart | CartRejection::UnknownLine => RejectionKind::NotFound,
            CartRejection::CurrencyMismatch { .. }
            | CartRejection::PriceInvalid { .. }
            | CartRejection::LineQuantityTooLarge { .. }
            | CartRejection::MergeTooLarge { .. }
            | CartRejection::MergeIntoItself => RejectionKind::Invalid,
            CartRejection::AlreadyCreated
            | CartRejection::TooManyLines { .. }
            | CartRejection::TooManyHolds { .. } => RejectionKind::Conflict,
        }
    }
}

/// The whole cart, as replies show it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CartView {
    pub owner: CartOwner,
    pub currency: Currency,
    pub created_at_ms: u64,
    /// Events applied so far: grows with every change, fit for an ETag.
    pub revision: u64,
    /// Lines by key: ASIN, then `BuyBox` before sellers by id.
    pub lines: Vec<CartLine>,
    /// What the cart's reservation holds, as recorded.
    pub holds: Vec<HoldRecord>,
    /// Whether every hold is recorded on the cart: false for a cart created before holds were
    /// recorded on carts until its first `RecordHolds` (its `cart-holds` worklist may hold some).
    pub holds_on_cart: bool,
}

/// A merged line whose quantities added up past the limit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CappedLine {
    pub asin: Asin,
    pub offer: OfferChoice,
    /// The sum before the cap.
    pub requested: u64,
    /// What the line holds: `CART_LINE_QUANTITY_MAX`.
    pub kept: Quantity,
}

/// What a merge could not keep.
#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MergeReport {
    pub capped: Vec<CappedLine>,
    /// New lines left out because the cart was full, in the order given.
    pub dropped: Vec<LineKey>,
}

/// The answer to every cart command: the cart after it, and for `MergeFrom` its report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CartReply {
    pub cart: CartView,
    pub merge: Option<MergeReport>,
}

impl Entity for Cart {
    const KIND: Kind = kinds::CART;
    type Command = CartCommand;
    type Event = CartEvent;
    type Reply = CartReply;
    type Rejection = CartRejection;

    fn decide(&self, command: CartCommand, ctx: &Ctx<'_>) -> Result<Decision<Self>, CartRejection> {
        decide::decide(self, command, ctx)
    }

    fn apply(&mut self, event: &CartEvent) {
        self.apply_event(event);
    }

    /// A cart emptied after it had lines: checked out, or its shopper took everything out.
    fn at_rest(&self) -> bool {
        self.lines.is_empty() && self.revision > 1
    }
}
