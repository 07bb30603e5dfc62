//! Valid orders to start tests from, shared by the order's and the ledger's tests.

use super::{CapturePolicy, NewOrder, OrderId, OrderLine, ShipTo, entity_id};
use crate::fraud::FraudAssessment;
use crate::ids::CustomerId;
use crate::ids::{Asin, LocationCode, SellerId, Sku};
use crate::money::{Currency, Money};
use crate::payment::{Authorization, Capture, Refund};
use crate::pricing::{CartTotals, CountryCode};
use crate::quantity::Quantity;

pub const CHECKOUT: &str = "eu/c1/key-1";
pub const PSP: &str = "psp-a";

/// The entity id of the order placed by [`CHECKOUT`].
pub fn key() -> String {
    entity_id("eu", &OrderId::for_checkout(CHECKOUT))
}

pub fn eur(minor: i64) -> Money {
    Money::new(minor, Currency::EUR)
}

pub fn seller(name: &str) -> SellerId {
    SellerId::parse(name).unwrap()
}

/// What a line of one offer looks like once priced.
#[derive(Debug, Clone, Copy)]
pub struct LineSpec {
    pub seller: &'static str,
    pub location: &'static str,
    pub quantity: u32,
    pub unit_price: i64,
    pub discount: i64,
    pub shipping: i64,
    pub vat_rate_bps: u16,
    pub handling_days: u8,
}

impl LineSpec {
    pub const fn new(seller: &'static str, location: &'static str, unit_price: i64) -> LineSpec {
        LineSpec {
            seller,
            location,
            quantity: 1,
            unit_price,
            discount: 0,
            shipping: 0,
            vat_rate_bps: 1_900,
            handling_days: 1,
        }
    }

    pub fn line(&self, n: usize) -> OrderLine {
        let subtotal = self.unit_price * i64::from(self.quantity);
        let net = subtotal - self.discount + self.shipping;
        let vat = (net * i64::from(self.vat_rate_bps) + 5_000) / 10_000;
        OrderLine {
            asin: Asin::parse(&format!("B{n:09}")).unwrap(),
            seller: seller(self.seller),
            sku: Sku::parse(&format!("SKU-{n}")).unwrap(),
            location: LocationCode::parse(self.location).unwrap(),
            quantity: Quantity::new(self.quantity).unwrap(),
            unit_price: eur(self.unit_price),
            discount: eur(self.discount),
            shipping: eur(self.shipping),
            net: eur(net),
            vat_rate_bps: self.vat_rate_bps,
            vat: eur(vat),
            total: eur(net + vat),
            handling_days: self.handling_days,
        }
    }
}

/// Two sellers, two locations: s1@FRA1 (2 × 1000, 100 off, 250 shipping), s2@FRA1 (500),
/// s1@BER1 (333, three days' handling).
pub fn specs() -> Vec<LineSpec> {
    vec![
        LineSpec {
            quantity: 2,
            discount: 100,
            shipping: 250,
            ..LineSpec::new("s1", "FRA1", 1_000)
        },
        LineSpec::new("s2", "FRA1", 500),
        LineSpec { handling_days: 3, vat_rate_bps: 700, ..LineSpec::new("s1", "BER1", 333) },
    ]
}

/// A valid order of `specs`, its totals and authorization matching its lines.
pub fn order_of(specs: &[LineSpec], commission_bps: u16) -> NewOrder {
    let lines: Vec<OrderLine> = specs.iter().enumerate().map(|(n, spec)| spec.line(n)).collect();
    let sum = |part: fn(&OrderLine) -> i64| eur(lines.iter().map(part).sum());
    let totals = CartTotals {
        subtotal: sum(|l| l.unit_price.minor * i64::from(l.quantity.get())),
        discount: sum(|l| l.discount.minor),
        shipping: sum(|l| l.shipping.minor),
        shipping_discount: eur(0),
        net: sum(|l| l.net.minor),
        vat: sum(|l| l.vat.minor),
        total: sum(|l| l.total.minor),
    };
    let authorization = Authorization {
        psp: PSP.into(),
        id: "auth-1".into(),
        key: OrderId::for_checkout(CHECKOUT).to_string(),
        amount: totals.total,
    };
    NewOrder {
        customer: CustomerId::parse("c1").unwrap(),
        checkout: CHECKOUT.into(),
        currency: Currency::EUR,
        lines,
        totals,
        promotions: Vec::new(),
        authorization,
        capture: CapturePolicy::AtPlacement,
        commission_bps,
        fraud: FraudAssessment::clean(),
        ship_to: ShipTo {
            country: CountryCode::parse("DE").unwrap(),
            postal_code: "10115".into(),
            city: "Berlin".into(),
            line1: "Invalidenstr. 1".into(),
            name: "A. Customer".into(),
        },
    }
}

/// The order of [`specs`] at a 12 % commission.
pub fn order() -> NewOrder {
    order_of(&specs(), 1_200)
}

pub fn capture(id: &str, minor: i64) -> Capture {
    Capture { psp: PSP.into(), id: id.into(), key: format!("k-{id}"), amount: eur(minor) }
}

pub fn refund(id: &str, minor: i64) -> Refund {
    Refund { psp: PSP.into(), id: id.into(), key: format!("k-{id}"), amount: eur(minor) }
}

/// A return of `(line, units)` pairs, 30-day windows, approved by rule whatever its amount.
pub fn return_request(lines: &[(u16, u32)]) -> super::returns::ReturnRequest {
    use super::returns::{ReturnLine, ReturnReason, ReturnRequest};
    let lines = lines
        .iter()
        .map(|&(line, units)| ReturnLine {
            line,
            quantity: crate::quantity::Quantity::new(units).expect("at least one unit"),
            window_days: 30,
        })
        .collect();
    ReturnRequest {
        lines,
        reason: ReturnReason::Damaged,
        comment: String::new(),
        auto_approve_up_to: Some(eur(i64::MAX)),
        carrier: "returns-post".into(),
        returnless: false,
        request_id: None,
    }
}

/// Delivery terms of `transit_days`, with no cut-off.
pub fn terms(transit_days: u8) -> super::promise::DeliveryPlan {
    super::promise::DeliveryTerms { transit_days, cutoff_hour_utc: 24 }.into()
}
