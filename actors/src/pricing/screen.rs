//! The promotions' part of pricing: the screen, the item discounts and free shipping, in the
//! order and by the rules of the module doc. Works in minor units of the cart's currency,
//! after `price` has validated every line and candidate.
//!
//! Invariants: a line's `remaining` starts at its subtotal and only goes down, never below
//! zero (every discount is computed on, or capped at, what remains); a shipping charge is
//! waived at most once; `taken` holds, per promotion, exactly what its line entries add up to.

use std::collections::{BTreeMap, BTreeSet};

use super::rounding::{allocate, percent_half_even};
use super::{DeclineReason, Declined, PricingError, PricingLine};
use crate::money::Currency;
use crate::promotion::{Benefit, CandidatePromotion, CouponCode, PromotionId};

/// The lines with their amounts in minor units and their canonical order.
pub(super) struct Lines<'a> {
    pub lines: &'a [PricingLine],
    pub subtotals: Vec<i64>,
    pub shipping: Vec<i64>,
    /// Line indices in canonical order: ASIN, seller, unit price, shipping, quantity, class.
    pub order: Vec<usize>,
    /// `rank[i]`: the position of line `i` in `order`.
    pub rank: Vec<usize>,
}

impl Lines<'_> {
    pub fn new(lines: &[PricingLine]) -> Result<Lines<'_>, PricingError> {
        let mut subtotals = Vec::with_capacity(lines.len());
        let mut shipping = Vec::with_capacity(lines.len());
        for line in lines {
            let units = i64::from(line.quantity.get());
            subtotals.push(line.unit_price.checked_mul(units)?.minor);
            shipping.push(line.shipping.checked_mul(units)?.minor);
        }
        let mut order: Vec<usize> = (0..lines.len()).collect();
        order.sort_by_key(|i| {
            let l = &lines[*i];
            (&l.asin, &l.seller, l.unit_price.minor, l.shipping.minor, l.quantity, l.tax_class)
        });
        let mut rank = vec![0; lines.len()];
        for (position, index) in order.iter().enumerate() {
            rank[*index] = position;
        }
        Ok(Lines { lines, subtotals, shipping, order, rank })
    }
}

/// What the promotions did to the lines.
pub(super) struct Outcome {
    /// Per line: the subtotal less its item discounts.
    pub remaining: Vec<i64>,
    /// Per line: the item discounts in the order applied.
    pub discounts: Vec<Vec<(PromotionId, i64)>>,
    /// Per line: the free shipping promotion and the shipping it waived.
    pub waived: Vec<Option<(PromotionId, i64)>>,
    /// Per promotion: all it took off, items and shipping.
    pub taken: BTreeMap<PromotionId, i64>,
    pub declined: Vec<Declined>,
}

impl Outcome {
    fn take(&mut self, line: usize, id: &PromotionId, amount: i64) -> Result<(), PricingError> {
        assert!(0 < amount && amount <= self.remaining[line], "a discount beyond the line");
        self.remaining[line] -= amount;
        self.discounts[line].push((id.clone(), amount));
        self.credit(id, amount)
    }

    fn credit(&mut self, id: &PromotionId, amount: i64) -> Result<(), PricingError> {
        let total = self.taken.entry(id.clone()).or_default();
        *total = total.checked_add(amount).ok_or(PricingError::Overflow)?;
        Ok(())
    }

    fn taken_by(&self, id: &PromotionId) -> i64 {
        self.taken.get(id).copied().unwrap_or(0)
    }

    fn decline(&mut self, id: &PromotionId, reason: DeclineReason) {
        self.declined.push(Declined::Promotion { id: id.clone(), reason });
    }
}

/// A promotion that passed the screen, and which lines it may touch.
struct Eligible<'a> {
    promotion: &'a CandidatePromotion,
    in_scope: Vec<bool>,
}

impl Eligible<'_> {
    fn id(&self) -> &PromotionId {
        &self.promotion.id
    }

    /// Highest priority first, then the smallest id.
    fn application_order(&self, other: &Eligible<'_>) -> std::cmp::Ordering {
        let (a, b) = (&self.promotion.definition, &other.promotion.definition);
        b.priority.cmp(&a.priority).then(self.id().cmp(other.id()))
    }
}

/// Screens every candidate, then applies the eligible ones.
pub(super) fn apply_promotions(
    lines: &Lines<'_>,
    candidates: &[CandidatePromotion],
    coupons: &[CouponCode],
    currency: Currency,
    now_ms: u64,
) -> Result<Outcome, PricingError> {
    let count = lines.lines.len();
    let mut outcome = Outcome {
        remaining: lines.subtotals.clone(),
        discounts: vec![Vec::new(); count],
        waived: vec![None; count],
        taken: BTreeMap::new(),
        declined: Vec::new(),
    };
    let entered: BTreeSet<&CouponCode> = coupons.iter().collect();
    for code in &entered {
        if !candidates.iter().any(|p| p.definition.coupon.as_ref() == Some(*code)) {
            outcome.declined.push(Declined::CodeUnknown { code: (*code).clone() });
        }
    }
    let mut eligible = Vec::new();
    for promotion in candidates {
        match screen(lines, promotion, &entered, currency, now_ms) {
            Ok(in_scope) => eligible.push(Eligible { promotion, in_scope }),
            Err(reason) => outcome.decline(&promotion.id, reason),
        }
    }
    eligible.sort_by(|a, b| a.id().cmp(b.id()));
    let (items, shipping): (Vec<Eligible<'_>>, Vec<Eligible<'_>>) =
        eligible.into_iter().partition(|e| e.promotion.definition.benefit.is_item_discount());
    let (stackable, exclusive): (Vec<Eligible<'_>>, Vec<Eligible<'_>>) =
        items.into_iter().partition(|e| e.promotion.definition.stackable);
    apply_exclusive(lines, &exclusive, &mut outcome)?;
    apply_stackable(lines, stackable, &mut outcome)?;
    apply_free_shipping(lines, shipping, &mut outcome)?;
    Ok(outcome)
}

/// The first check a promotion fails, or the lines in its scope.
fn screen(
    lines: &Lines<'_>,
    promotion: &CandidatePromotion,
    entered: &BTreeSet<&CouponCode>,
    currency: Currency,
    now_ms: u64,
) -> Result<Vec<bool>, DeclineReason> {
    let definition = &promotion.definition;
    if now_ms >= definition.window.ends_ms {
        return Err(DeclineReason::Expired);
    }
    if now_ms < definition.window.starts_ms {
        return Err(DeclineReason::NotStarted);
    }
    if definition.coupon.as_ref().is_some_and(|code| !entered.contains(code)) {
        return Err(DeclineReason::CouponRequired);
    }
    if definition.currency().is_some_and(|theirs| theirs != currency) {
        return Err(DeclineReason::CurrencyMismatch);
    }
    let in_scope: Vec<bool> =
        lines.lines.iter().map(|l| definition.scope.covers(&l.asin, &l.seller)).collect();
    if !in_scope.contains(&true) {
        return Err(DeclineReason::OutOfScope);
    }
    if let Some(minimum) = definition.minimum {
        let reached: i128 = scoped(&in_scope).map(|i| i128::from(lines.subtotals[i])).sum();
        if reached < i128::from(minimum.minor) {
            return Err(DeclineReason::MinimumNotMet);
        }
    }
    if let Benefit::BuyXGetY { buy, get } = definition.benefit {
        let group = u64::from(buy.get()) + u64::from(get.get());
        let any_group = units_by_asin(lines, &in_scope).values().any(|units| *units >= group);
        if !any_group {
            return Err(DeclineReason::MinimumNotMet);
        }
    }
    Ok(in_scope)
}

fn scoped(in_scope: &[bool]) -> impl Iterator<Item = usize> + '_ {
    in_scope.iter().enumerate().filter(|(_, yes)| **yes).map(|(i, _)| i)
}

fn units_by_asin<'a>(lines: &Lines<'a>, in_scope: &[bool]) -> BTreeMap<&'a str, u64> {
    let mut units: BTreeMap<&str, u64> = BTreeMap::new();
    for i in scoped(in_scope) {
        let line = &lines.lines[i];
        *units.entry(line.asin.as_str()).or_default() += u64::from(line.quantity.get());
    }
    units
}

/// Non-stackable item promotions: each line takes the largest offer (ties: the smallest id,
/// as `exclusive` is sorted by id), all computed on the subtotals.
fn apply_exclusive(
    lines: &Lines<'_>,
    exclusive: &[Eligible<'_>],
    outcome: &mut Outcome,
) -> Result<(), PricingError> {
    let offers: Vec<Vec<i64>> = exclusive
        .iter()
        .map(|e| discounts_on(lines, e, &lines.subtotals))
        .collect::<Result<_, _>>()?;
    for line in 0..lines.lines.len() {
        let mut best: Option<(usize, i64)> = None;
        for (k, offer) in offers.iter().enumerate() {
            if offer[line] > 0 && best.is_none_or(|(_, amount)| offer[line] > amount) {
                best = Some((k, offer[line]));
            }
        }
        if let Some((k, amount)) = best {
            outcome.take(line, exclusive[k].id(), amount)?;
        }
    }
    for (e, offer) in exclusive.iter().zip(&offers) {
        if outcome.taken_by(e.id()) == 0 {
            let lost = offer.iter().any(|amount| *amount > 0);
            let reason =
                if lost { DeclineReason::NotStackable } else { DeclineReason::NothingToDiscount };
            outcome.decline(e.id(), reason);
        }
    }
    Ok(())
}

/// Stackable item promotions, in application order, each on what is left.
fn apply_stackable(
    lines: &Lines<'_>,
    mut stackable: Vec<Eligible<'_>>,
    outcome: &mut Outcome,
) -> Result<(), PricingError> {
    stackable.sort_by(|a, b| a.application_order(b));
    for e in &stackable {
        let discounts = discounts_on(lines, e, &outcome.remaining)?;
        for (line, amount) in discounts.into_iter().enumerate().filter(|(_, a)| *a > 0) {
            outcome.take(line, e.id(), amount)?;
        }
        if outcome.taken_by(e.id()) == 0 {
            outcome.decline(e.id(), DeclineReason::NothingToDiscount);
        }
    }
    Ok(())
}

/// Free shipping, in application order, once the items in scope reach the threshold.
fn apply_free_shipping(
    lines: &Lines<'_>,
    mut shipping: Vec<Eligible<'_>>,
    outcome: &mut Outcome,
) -> Result<(), PricingError> {
    shipping.sort_by(|a, b| a.application_order(b));
    for e in &shipping {
        let Benefit::FreeShipping { threshold } = e.promotion.definition.benefit else {
            continue;
        };
        let items: i128 = scoped(&e.in_scope).map(|i| i128::from(outcome.remaining[i])).sum();
        if items < i128::from(threshold.minor) {
            outcome.decline(e.id(), DeclineReason::MinimumNotMet);
            continue;
        }
        for line in scoped(&e.in_scope) {
            let charge = lines.shipping[line];
            if charge > 0 && outcome.waived[line].is_none() {
                outcome.waived[line] = Some((e.id().clone(), charge));
                outcome.credit(e.id(), charge)?;
            }
        }
        if outcome.taken_by(e.id()) == 0 {
            outcome.decline(e.id(), DeclineReason::NothingToDiscount);
        }
    }
    Ok(())
}

/// One item promotion's discount on each line (0 out of scope), computed on `bases`, never
/// above a line's base.
fn discounts_on(
    lines: &Lines<'_>,
    e: &Eligible<'_>,
    bases: &[i64],
) -> Result<Vec<i64>, PricingError> {
    let mut discounts = vec![0; bases.len()];
    match &e.promotion.definition.benefit {
        Benefit::PercentOff { bps } => {
            for line in scoped(&e.in_scope) {
                discounts[line] = percent_half_even(bases[line], *bps);
            }
        }
        Benefit::AmountOff { amount } => {
            let members: Vec<usize> =
                lines.order.iter().copied().filter(|line| e.in_scope[*line]).collect();
            let member_bases: Vec<i64> = members.iter().map(|line| bases[*line]).collect();
            let shares = allocate(amount.minor, &member_bases);
            for (line, share) in members.into_iter().zip(shares) {
                discounts[line] = share;
            }
        }
        Benefit::BuyXGetY { buy, get } => {
            let group = u64::from(buy.get()) + u64::from(get.get());
            for (asin, units) in units_by_asin(lines, &e.in_scope) {
                let mut free = units / group * u64::from(get.get());
                let mut members: Vec<usize> = scoped(&e.in_scope)
                    .filter(|line| lines.lines[*line].asin.as_str() == asin)
                    .collect();
                members
                    .sort_by_key(|line| (lines.lines[*line].unit_price.minor, lines.rank[*line]));
                for line in members {
                    let take = free.min(u64::from(lines.lines[line].quantity.get()));
                    free -= take;
                    let take = i64::try_from(take).map_err(|_| PricingError::Overflow)?;
                    let value = lines.lines[line].unit_price.checked_mul(take)?.minor;
                    discounts[line] = value.min(bases[line]);
                }
            }
        }
        Benefit::FreeShipping { .. } => {}
    }
    Ok(discounts)
}
