//! The carts' request and answer bodies, and how a priced cart is shown.

use bazaar_actors::cart::{CartReply, CartView, LineFlag, OfferChoice, PricedCartView};
use bazaar_actors::inventory::Held;
use bazaar_actors::order::promise::DeliveryTerms;
use bazaar_actors::pricing::Declined;
use bazaar_actors::{CountryCode, Money};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::dto::MoneyDto;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewCart {
    #[schema(schema_with = crate::fields::currency)]
    pub currency: String,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct CartCreated {
    pub id: String,
}

/// Where the cart ships and which coupons the customer entered.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct PriceParams {
    /// ISO 3166 alpha-2 destination; the marketplace default if absent.
    #[param(schema_with = crate::fields::country)]
    pub country: Option<String>,
    /// Coupon codes, comma-separated.
    #[param(schema_with = crate::fields::coupon_list)]
    pub coupons: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PricedCartDto {
    pub id: String,
    pub currency: String,
    pub revision: u64,
    pub country: String,
    pub lines: Vec<CartLineDto>,
    pub totals: TotalsDto,
    pub promotions_applied: Vec<AppliedDto>,
    pub promotions_declined: Vec<DeclinedDto>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CartLineDto {
    pub asin: String,
    /// The seller chosen when the line was added; absent means "the buy box".
    pub chosen_seller: Option<String>,
    /// The seller the line buys from now (absent when it is no longer available).
    pub seller: Option<String>,
    pub quantity: u32,
    /// `price_changed` (with `was` and `now`) or `no_longer_available`.
    pub flags: Vec<FlagDto>,
    pub unit_price: Option<MoneyDto>,
    pub subtotal: Option<MoneyDto>,
    pub discount: Option<MoneyDto>,
    pub shipping: Option<MoneyDto>,
    pub net: Option<MoneyDto>,
    pub vat_rate_bps: Option<u16>,
    pub vat: Option<MoneyDto>,
    pub total: Option<MoneyDto>,
    /// When the line would arrive if ordered now (end of that day, UTC): the handling days
    /// of the seller's slowest line in the cart from the next cut-off, then the transit days
    /// to the cart's country, business days only; the order's shipment is promised no
    /// earlier.
    pub promised_by_ms: Option<u64>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct FlagDto {
    pub flag: String,
    pub was: Option<MoneyDto>,
    pub now: Option<MoneyDto>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TotalsDto {
    pub subtotal: MoneyDto,
    pub discount: MoneyDto,
    pub shipping: MoneyDto,
    pub shipping_discount: MoneyDto,
    pub net: MoneyDto,
    pub vat: MoneyDto,
    pub total: MoneyDto,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AppliedDto {
    pub promotion: String,
    pub amount: MoneyDto,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct DeclinedDto {
    pub promotion: Option<String>,
    pub coupon: Option<String>,
    pub reason: String,
}

pub(super) fn money(m: Money) -> MoneyDto {
    m.into()
}

pub(super) fn priced_dto(
    id: &str,
    cart: &CartView,
    (country, now_ms, terms): (CountryCode, u64, DeliveryTerms),
    view: PricedCartView,
) -> PricedCartDto {
    let mut promises = view.promises(now_ms, terms).into_iter();
    let lines = view
        .lines
        .into_iter()
        .map(|line| {
            let flags = line
                .flags
                .iter()
                .map(|flag| match flag {
                    LineFlag::PriceChanged { was, now } => FlagDto {
                        flag: "price_changed".into(),
                        was: Some(money(*was)),
                        now: Some(money(*now)),
                    },
                    LineFlag::NoLongerAvailable => {
                        FlagDto { flag: "no_longer_available".into(), was: None, now: None }
                    }
                })
                .collect();
            let priced = line.priced.as_ref();
            CartLineDto {
                asin: line.line.asin.to_string(),
                chosen_seller: match &line.line.offer {
                    OfferChoice::BuyBox => None,
                    OfferChoice::Seller(seller) => Some(seller.to_string()),
                },
                seller: line.seller.as_ref().map(|s| s.to_string()),
                quantity: line.line.quantity.get(),
                flags,
                unit_price: priced.map(|p| money(p.unit_price)),
                subtotal: priced.map(|p| money(p.subtotal)),
                discount: priced.map(|p| money(p.discount)),
                shipping: priced.map(|p| {
                    money(p.shipping.checked_sub(p.shipping_discount).unwrap_or(p.shipping))
                }),
                net: priced.map(|p| money(p.net)),
                vat_rate_bps: priced.map(|p| p.vat_rate_bps),
                vat: priced.map(|p| money(p.vat)),
                total: priced.map(|p| money(p.total)),
                promised_by_ms: promises.next().flatten(),
            }
        })
        .collect();
    let t = view.totals;
    PricedCartDto {
        id: id.to_string(),
        currency: cart.currency.to_string(),
        revision: cart.revision,
        country: country.as_str().to_string(),
        lines,
        totals: TotalsDto {
            subtotal: money(t.subtotal),
            discount: money(t.discount),
            shipping: money(t.shipping),
            shipping_discount: money(t.shipping_discount),
            net: money(t.net),
            vat: money(t.vat),
            total: money(t.total),
        },
        promotions_applied: view
            .applied
            .into_iter()
            .map(|a| AppliedDto { promotion: a.id.to_string(), amount: money(a.amount) })
            .collect(),
        promotions_declined: view
            .declined
            .into_iter()
            .map(|d| match d {
                Declined::Promotion { id, reason } => DeclinedDto {
                    promotion: Some(id.to_string()),
                    coupon: None,
                    reason: format!("{reason:?}"),
                },
                Declined::CodeUnknown { code } => DeclinedDto {
                    promotion: None,
                    coupon: Some(code.to_string()),
                    reason: "CodeUnknown".into(),
                },
            })
            .collect(),
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewItem {
    #[schema(schema_with = crate::fields::asin)]
    pub asin: String,
    /// Buy from this seller; absent means "whoever holds the buy box".
    #[schema(schema_with = crate::fields::seller_id_option)]
    pub seller: Option<String>,
    #[serde(deserialize_with = "crate::fields::cart_quantity::deserialize")]
    #[schema(schema_with = crate::fields::cart_quantity::schema)]
    pub quantity: u32,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ItemChange {
    #[schema(schema_with = crate::fields::seller_id_option)]
    pub seller: Option<String>,
    #[serde(deserialize_with = "crate::fields::cart_quantity::deserialize")]
    #[schema(schema_with = crate::fields::cart_quantity::schema)]
    pub quantity: u32,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CartWritten {
    pub id: String,
    pub revision: u64,
    pub lines: usize,
}

/// What a write answers: the cart's id, revision and number of lines after it.
pub(super) fn written(id: &str, reply: &CartReply) -> CartWritten {
    CartWritten { id: id.to_string(), revision: reply.cart.revision, lines: reply.cart.lines.len() }
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct LineParams {
    /// The seller of the line; absent means the buy-box line.
    #[param(schema_with = crate::fields::seller_id)]
    pub seller: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MergeDto {
    /// Another cart whose lines join this one (it is then emptied): one of the customer's
    /// own, or a guest cart together with its `guest_token` (a visitor who signs in).
    #[schema(schema_with = crate::fields::cart_id)]
    pub from: String,
    pub guest_token: Option<String>,
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct HoldDto {
    /// How long to hold the units, in seconds (default 900, at most 3600).
    #[serde(default, deserialize_with = "crate::fields::hold_ttl_s::deserialize_option")]
    #[schema(schema_with = crate::fields::hold_ttl_s::schema_option)]
    pub ttl_s: Option<u64>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct HoldAnswer {
    pub cart: String,
    pub lines: Vec<HeldLine>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct HeldLine {
    pub asin: String,
    pub seller: String,
    pub sku: String,
    pub location: String,
    pub quantity: u32,
    pub expires_at_ms: u64,
}

impl From<Held> for HeldLine {
    fn from(held: Held) -> HeldLine {
        HeldLine {
            asin: held.asin.to_string(),
            seller: held.seller.to_string(),
            sku: held.sku.to_string(),
            location: held.location.to_string(),
            quantity: held.quantity.get(),
            expires_at_ms: held.expires_at_ms,
        }
    }
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct GuestCartCreated {
    pub id: String,
    /// Proves the cart is the visitor's: send it as `x-guest-token`, and as `guest_token`
    /// when merging the cart into a customer's after sign-in.
    pub guest_token: String,
}
