//! [`price`]: validates the input, lets the promotions do their part (`screen`), then charges
//! VAT per line and sums the lines, as the module doc of [`pricing`](super) orders it.

use std::collections::BTreeSet;

use super::rounding::percent_half_up;
use super::screen::{self, Lines, Outcome};
use super::{
    AppliedPromotion, CartTotals, Declined, LineDiscount, PricedCart, PricedLine, PricingError,
    PricingInput, PricingLine,
};
use crate::limits::{
    CART_LINE_QUANTITY_MAX, CART_LINES_MAX, COUPONS_PER_PRICING_MAX, PRICE_MINOR_MAX,
    PROMOTIONS_PER_PRICING_MAX,
};
use crate::money::{Currency, Money};
use crate::promotion::definition::validate_terms;

fn bound(limit: usize) -> u32 {
    u32::try_from(limit).unwrap_or(u32::MAX)
}

/// Prices a cart. Deterministic: the same input gives the same output, and the order of the
/// lines changes no total (the output lines follow the input order).
pub fn price(input: &PricingInput<'_>) -> Result<PricedCart, PricingError> {
    validate(input)?;
    let context = &input.context;
    let rates = input
        .lines
        .iter()
        .map(|line| {
            context.vat.rate_bps(context.destination, line.tax_class).ok_or(
                PricingError::NoVatRate { country: context.destination, tax_class: line.tax_class },
            )
        })
        .collect::<Result<Vec<u16>, _>>()?;
    let lines = Lines::new(input.lines)?;
    let mut outcome = screen::apply_promotions(
        &lines,
        context.promotions,
        context.coupons,
        input.currency,
        context.now_ms,
    )?;
    let priced = (0..input.lines.len())
        .map(|i| priced_line(input.currency, &input.lines[i], &lines, &outcome, i, rates[i]))
        .collect::<Result<Vec<PricedLine>, _>>()?;
    let totals = totals(input.currency, &priced)?;
    let applied = outcome
        .taken
        .iter()
        .filter(|(_, amount)| **amount > 0)
        .map(|(id, amount)| AppliedPromotion {
            id: id.clone(),
            amount: Money::new(*amount, input.currency),
        })
        .collect();
    outcome.declined.sort_by(|a, b| decline_key(a).cmp(&decline_key(b)));
    Ok(PricedCart {
        currency: input.currency,
        destination: context.destination,
        lines: priced,
        totals,
        applied,
        declined: outcome.declined,
    })
}

/// Promotions by id first, then unknown codes by code.
fn decline_key(declined: &Declined) -> (u8, &str) {
    match declined {
        Declined::Promotion { id, .. } => (0, id.as_str()),
        Declined::CodeUnknown { code } => (1, code.as_str()),
    }
}

fn validate(input: &PricingInput<'_>) -> Result<(), PricingError> {
    let context = &input.context;
    if input.lines.len() > CART_LINES_MAX {
        return Err(PricingError::TooManyLines { max: bound(CART_LINES_MAX) });
    }
    if context.promotions.len() > PROMOTIONS_PER_PRICING_MAX {
        return Err(PricingError::TooManyPromotions { max: bound(PROMOTIONS_PER_PRICING_MAX) });
    }
    if context.coupons.len() > COUPONS_PER_PRICING_MAX {
        return Err(PricingError::TooManyCoupons { max: bound(COUPONS_PER_PRICING_MAX) });
    }
    for line in input.lines {
        validate_line(input.currency, line)?;
    }
    let mut seen = BTreeSet::new();
    for promotion in context.promotions {
        if !seen.insert(&promotion.id) {
            return Err(PricingError::DuplicatePromotion { id: promotion.id.clone() });
        }
        if validate_terms(&promotion.definition).is_err() {
            return Err(PricingError::PromotionInvalid { id: promotion.id.clone() });
        }
    }
    Ok(())
}

fn validate_line(currency: Currency, line: &PricingLine) -> Result<(), PricingError> {
    for amount in [line.unit_price, line.shipping] {
        if amount.currency != currency {
            return Err(PricingError::CurrencyMismatch {
                expected: currency,
                found: amount.currency,
            });
        }
        if !(0..=PRICE_MINOR_MAX).contains(&amount.minor) {
            return Err(PricingError::AmountInvalid { max_minor: PRICE_MINOR_MAX });
        }
    }
    if line.quantity.get() > CART_LINE_QUANTITY_MAX {
        return Err(PricingError::QuantityTooLarge { max: CART_LINE_QUANTITY_MAX });
    }
    Ok(())
}

fn priced_line(
    currency: Currency,
    line: &PricingLine,
    lines: &Lines<'_>,
    outcome: &Outcome,
    i: usize,
    vat_rate_bps: u16,
) -> Result<PricedLine, PricingError> {
    let money = |minor: i64| Money::new(minor, currency);
    let subtotal = money(lines.subtotals[i]);
    let discounts: Vec<LineDiscount> = outcome.discounts[i]
        .iter()
        .map(|(id, amount)| LineDiscount { promotion: id.clone(), amount: money(*amount) })
        .collect();
    let discount = Money::checked_sum(currency, discounts.iter().map(|d| d.amount))?;
    let shipping = money(lines.shipping[i]);
    let shipping_waiver = outcome.waived[i]
        .as_ref()
        .map(|(id, amount)| LineDiscount { promotion: id.clone(), amount: money(*amount) });
    let shipping_discount = shipping_waiver.as_ref().map_or(money(0), |waiver| waiver.amount);
    let net =
        subtotal.checked_sub(discount)?.checked_add(shipping)?.checked_sub(shipping_discount)?;
    let vat = money(percent_half_up(net.minor, vat_rate_bps));
    let total = net.checked_add(vat)?;
    Ok(PricedLine {
        asin: line.asin.clone(),
        seller: line.seller.clone(),
        tax_class: line.tax_class,
        unit_price: line.unit_price,
        quantity: line.quantity,
        subtotal,
        discounts,
        discount,
        shipping,
        shipping_waiver,
        shipping_discount,
        net,
        vat_rate_bps,
        vat,
        total,
    })
}

fn totals(currency: Currency, lines: &[PricedLine]) -> Result<CartTotals, PricingError> {
    let sum =
        |field: fn(&PricedLine) -> Money| Money::checked_sum(currency, lines.iter().map(field));
    Ok(CartTotals {
        subtotal: sum(|line| line.subtotal)?,
        discount: sum(|line| line.discount)?,
        shipping: sum(|line| line.shipping)?,
        shipping_discount: sum(|line| line.shipping_discount)?,
        net: sum(|line| line.net)?,
        vat: sum(|line| line.vat)?,
        total: sum(|line| line.total)?,
    })
}
