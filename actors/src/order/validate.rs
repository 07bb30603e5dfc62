//! What `Place` checks before an order exists: the rules of the module doc, in order.

use super::{NewOrder, OrderLine, OrderRejection};
use crate::fraud::FraudDecision;
use crate::limits::ORDER_TEXT_BYTES_MAX;
use crate::limits::{
    BPS_MAX, CART_LINE_QUANTITY_MAX, HANDLING_DAYS_MAX, ORDER_LINES_MAX, PRICE_MINOR_MAX,
    PROMOTIONS_PER_PRICING_MAX,
};
use crate::money::{Currency, Money};

type Checked = Result<(), OrderRejection>;

pub(super) fn new_order(order: &NewOrder) -> Checked {
    text("checkout", &order.checkout, 1)?;
    text("authorization.psp", &order.authorization.psp, 1)?;
    text("authorization.id", &order.authorization.id, 1)?;
    text("authorization.key", &order.authorization.key, 1)?;
    let ship_to = &order.ship_to;
    for (field, value) in [
        (super::ship_to::POSTAL_CODE, &ship_to.postal_code),
        (super::ship_to::CITY, &ship_to.city),
        (super::ship_to::LINE1, &ship_to.line1),
        (super::ship_to::NAME, &ship_to.name),
    ] {
        if value.encoded_len() > ORDER_TEXT_BYTES_MAX {
            return Err(OrderRejection::TextInvalid {
                field: field.to_string(),
                min_bytes: 0,
                max_bytes: bound(ORDER_TEXT_BYTES_MAX),
            });
        }
    }
    if order.lines.is_empty() {
        return Err(OrderRejection::NoLines);
    }
    if order.lines.len() > ORDER_LINES_MAX {
        return Err(OrderRejection::TooManyLines { max: bound(ORDER_LINES_MAX) });
    }
    if order.promotions.len() > PROMOTIONS_PER_PRICING_MAX {
        return Err(OrderRejection::TooManyPromotions { max: bound(PROMOTIONS_PER_PRICING_MAX) });
    }
    if order.commission_bps > BPS_MAX {
        return Err(OrderRejection::CommissionInvalid { max_bps: BPS_MAX });
    }
    if order.fraud.decision == FraudDecision::Reject {
        return Err(OrderRejection::FraudRejected);
    }
    for (n, line) in order.lines.iter().enumerate() {
        self::line(order.currency, u16::try_from(n).unwrap_or(u16::MAX), line)?;
    }
    totals(order)?;
    let currency = order.currency;
    for promotion in &order.promotions {
        amount(currency, promotion.amount)?;
    }
    let held = order.authorization.amount;
    if held.currency != currency || held.minor != order.totals.total.minor {
        return Err(OrderRejection::AuthorizationMismatch);
    }
    Ok(())
}

/// A text of `min..=ORDER_TEXT_BYTES_MAX` bytes.
pub(super) fn text(field: &str, value: &str, min: usize) -> Checked {
    if (min..=ORDER_TEXT_BYTES_MAX).contains(&value.len()) {
        return Ok(());
    }
    Err(OrderRejection::TextInvalid {
        field: field.to_string(),
        min_bytes: bound(min),
        max_bytes: bound(ORDER_TEXT_BYTES_MAX),
    })
}

/// A non-negative amount in `currency`.
pub(super) fn amount(currency: Currency, money: Money) -> Checked {
    if money.currency != currency {
        return Err(OrderRejection::CurrencyMismatch { expected: currency });
    }
    if money.is_negative() {
        return Err(OrderRejection::AmountInvalid);
    }
    Ok(())
}

fn line(currency: Currency, n: u16, line: &OrderLine) -> Checked {
    for money in [line.unit_price, line.discount, line.shipping, line.net, line.vat, line.total] {
        amount(currency, money)?;
    }
    if line.unit_price.minor > PRICE_MINOR_MAX {
        return Err(OrderRejection::AmountInvalid);
    }
    if line.quantity.get() > CART_LINE_QUANTITY_MAX
        || line.vat_rate_bps > BPS_MAX
        || u16::from(line.handling_days) > HANDLING_DAYS_MAX
    {
        return Err(OrderRejection::LineInvalid { line: n });
    }
    let net = subtotal(line)
        .and_then(|subtotal| subtotal.checked_sub(line.discount))
        .and_then(|rest| rest.checked_add(line.shipping))
        .map_err(|_| OrderRejection::AmountInvalid)?;
    let total = line.net.checked_add(line.vat).map_err(|_| OrderRejection::AmountInvalid)?;
    if net != line.net || total != line.total {
        return Err(OrderRejection::LineMismatch { line: n });
    }
    Ok(())
}

fn subtotal(line: &OrderLine) -> Result<Money, crate::money::MoneyError> {
    line.unit_price.checked_mul(i64::from(line.quantity.get()))
}

fn totals(order: &NewOrder) -> Checked {
    let (currency, totals, lines) = (order.currency, &order.totals, &order.lines);
    let all = [
        totals.subtotal,
        totals.discount,
        totals.shipping,
        totals.shipping_discount,
        totals.net,
        totals.vat,
        totals.total,
    ];
    for money in all {
        amount(currency, money)?;
    }
    let sum = |part: fn(&OrderLine) -> Money| {
        Money::checked_sum(currency, lines.iter().map(part))
            .map_err(|_| OrderRejection::AmountInvalid)
    };
    let subtotals = lines
        .iter()
        .map(subtotal)
        .try_fold(Money::zero(currency), |sum, subtotal| sum.checked_add(subtotal?))
        .map_err(|_| OrderRejection::AmountInvalid)?;
    let shipping = totals
        .shipping
        .checked_sub(totals.shipping_discount)
        .map_err(|_| OrderRejection::AmountInvalid)?;
    let agree = subtotals == totals.subtotal
        && sum(|line| line.discount)? == totals.discount
        && sum(|line| line.shipping)? == shipping
        && sum(|line| line.net)? == totals.net
        && sum(|line| line.vat)? == totals.vat
        && sum(|line| line.total)? == totals.total;
    if !agree {
        return Err(OrderRejection::TotalsMismatch);
    }
    Ok(())
}

/// A bound as the rejections carry it.
fn bound(value: usize) -> u32 {
    u32::try_from(value).unwrap_or(u32::MAX)
}
