//! The pure derivation of posting sets from an order and its events; the rules are in the
//! module doc of [`crate::ledger`].

use std::collections::BTreeMap;

use super::{Account, EntryKind, Posting, PostingSet};
use crate::order::chargebacks::Bearer;
use crate::order::{OrderEvent, OrderView};
use crate::payment::Refund;

/// The marketplace's commission on a line's `net`: `net × bps / 10 000`, a half rounded up.
pub fn commission(net_minor: i64, bps: u16) -> i64 {
    let exact = i128::from(net_minor) * i128::from(bps);
    clamp((exact + 5_000).div_euclid(10_000))
}

/// The posting set `event` makes, given the order's state after it (a later state of the same
/// order serves too: nothing the computation reads changes afterwards). `None` for events
/// that post nothing, and for amounts of zero.
pub fn postings(order: &OrderView, event: &OrderEvent) -> Option<PostingSet> {
    match event {
        OrderEvent::Placed(_) => placement(order),
        OrderEvent::PaymentCaptured { capture, .. } => {
            let at = order.captures.iter().position(|known| known.id == capture.id)?;
            captured(order, at)
        }
        OrderEvent::Cancelled { .. } => cancelled(order),
        OrderEvent::PaymentRefunded { refund, .. }
        | OrderEvent::ReturnRefunded { refund, .. }
        | OrderEvent::AppeasementRefunded { refund, .. } => {
            let at = order.refunds.iter().position(|known| known.id == refund.id)?;
            refunded(order, at)
        }
        OrderEvent::ShipmentsPlanned { .. }
        | OrderEvent::ShipmentShipped { .. }
        | OrderEvent::ShipmentDelivered { .. }
        | OrderEvent::PaymentVoided { .. }
        | OrderEvent::Restocked { .. }
        | OrderEvent::LineRestocked { .. }
        | OrderEvent::ReturnRequested(_)
        | OrderEvent::ReturnApproved { .. }
        | OrderEvent::ReturnRejected { .. }
        | OrderEvent::ReturnReceived { .. }
        | OrderEvent::ReturnRestocked { .. }
        | OrderEvent::ReturnLineRestocked { .. }
        | OrderEvent::Appeased(_)
        | OrderEvent::Published { .. }
        | OrderEvent::Labelled { .. }
        | OrderEvent::TrackingRecorded { .. }
        | OrderEvent::CancelledBySeller { .. } => None,
        OrderEvent::ReturnSettled { number, .. } => settled_by_goodwill(order, *number),
        OrderEvent::ChargedBack(_) => charged_back(order),
    }
}

/// Every posting set of the order so far: the placement, the captures and refunds before any
/// cancellation, the cancellation, then the captures and refunds after it. Their sums per
/// account are the order's balances whatever the order its events came in.
pub fn entries(order: &OrderView) -> Vec<PostingSet> {
    let (captures_before, refunds_before) = before_cancellation(order);
    let mut sets = vec![placement(order)];
    sets.extend((0..captures_before).map(|at| captured(order, at)));
    sets.extend((0..refunds_before).map(|at| refunded(order, at)));
    sets.push(cancelled(order));
    sets.extend((captures_before..order.captures.len()).map(|at| captured(order, at)));
    sets.extend((refunds_before..order.refunds.len()).map(|at| refunded(order, at)));
    let settled = order.returns.iter().filter(|r| r.settled_by_goodwill);
    sets.extend(settled.map(|r| settled_by_goodwill(order, r.request.number)));
    // Nothing moves after a chargeback: it is the order's last money.
    sets.push(charged_back(order));
    sets.into_iter().flatten().collect()
}

/// The order's balance on each account it touched (zero balances left out).
pub fn balances_of(order: &OrderView) -> BTreeMap<Account, i64> {
    let mut sums: BTreeMap<Account, i128> = BTreeMap::new();
    for set in entries(order) {
        for posting in set.postings {
            *sums.entry(posting.account).or_default() += i128::from(posting.amount);
        }
    }
    sums.into_iter().filter(|(_, sum)| *sum != 0).map(|(a, sum)| (a, clamp(sum))).collect()
}

/// How many captures and refunds came before the cancellation (all of them if none).
fn before_cancellation(order: &OrderView) -> (usize, usize) {
    match &order.cancellation {
        Some(c) => (
            usize::from(c.captures_before).min(order.captures.len()),
            usize::from(c.refunds_before).min(order.refunds.len()),
        ),
        None => (order.captures.len(), order.refunds.len()),
    }
}

/// VatPayable, Commission, then each seller's payable by seller id: they add up to the total.
fn components(order: &OrderView) -> Vec<(Account, i64)> {
    let mut vat: i128 = 0;
    let mut commissions: i128 = 0;
    let mut sellers: BTreeMap<_, i128> = BTreeMap::new();
    for line in &order.lines {
        let cut = commission(line.net.minor, order.commission_bps);
        vat += i128::from(line.vat.minor);
        commissions += i128::from(cut);
        *sellers.entry(line.seller.clone()).or_default() +=
            i128::from(line.net.minor) - i128::from(cut);
    }
    let mut all =
        vec![(Account::VatPayable, clamp(vat)), (Account::Commission, clamp(commissions))];
    all.extend(
        sellers.into_iter().map(|(seller, sum)| (Account::SellerPayable(seller), clamp(sum))),
    );
    all
}

/// What remains of each component once the first `refunds` refunds (all before any
/// cancellation) took their shares.
fn remaining(order: &OrderView, refunds: usize) -> Vec<(Account, i64)> {
    let mut left = components(order);
    for refund in order.refunds.iter().take(refunds) {
        let takes = taken(order, &left, refund);
        for ((_, amount), share) in left.iter_mut().zip(takes) {
            *amount -= share;
        }
    }
    left
}

/// What `refund` (before any cancellation) takes back from each component of `left` (what
/// remains of them): a return's line shares, as far as each component still holds them,
/// anything short (a component an earlier refund of the other kind reduced) split over
/// what remains of the others in proportion; any other refund, in proportion to all.
fn taken(order: &OrderView, left: &[(Account, i64)], refund: &Refund) -> Vec<i64> {
    let amounts: Vec<i64> = left.iter().map(|(_, amount)| *amount).collect();
    if appeasement(order, &refund.id) {
        return vec![0; left.len()];
    }
    let Some((shares, target)) = return_shares(order, &refund.id) else {
        return allocate(refund.amount.minor, &amounts);
    };
    let mut takes: Vec<i64> = left
        .iter()
        .map(|(account, amount)| {
            let share = shares.iter().find(|(known, _)| known == account).map_or(0, |s| s.1);
            share.min((*amount).max(0))
        })
        .collect();
    let short = target - takes.iter().sum::<i64>();
    let rest: Vec<i64> = amounts.iter().zip(&takes).map(|(amount, take)| amount - take).collect();
    for (take, more) in takes.iter_mut().zip(allocate(short, &rest)) {
        *take += more;
    }
    takes
}

/// Splits `amount` over `weights` in proportion, largest remainder, ties to the earlier
/// weight; never more than a weight to it, and never more than their sum in all.
fn allocate(amount: i64, weights: &[i64]) -> Vec<i64> {
    let weights: Vec<i64> = weights.iter().map(|w| (*w).max(0)).collect();
    let total: i128 = weights.iter().map(|w| i128::from(*w)).sum();
    if amount <= 0 {
        return vec![0; weights.len()];
    }
    let amount = i128::from(amount).min(total);
    crate::money::apportion(i64::try_from(amount).unwrap_or(i64::MAX), &weights)
}

fn customer(order: &OrderView) -> Account {
    Account::Customer(order.customer.clone())
}

fn psp(order: &OrderView) -> Account {
    Account::PspClearing(order.authorization.psp.clone())
}

fn total(order: &OrderView) -> i64 {
    clamp(components(order).iter().map(|(_, amount)| i128::from(*amount)).sum())
}

fn placement(order: &OrderView) -> Option<PostingSet> {
    let mut postings = vec![(customer(order), total(order))];
    postings.extend(components(order).into_iter().map(|(account, amount)| (account, -amount)));
    set(order, EntryKind::Placed, postings)
}

fn captured(order: &OrderView, at: usize) -> Option<PostingSet> {
    let amount = order.captures.get(at)?.amount.minor;
    let after_cancel = at >= before_cancellation(order).0;
    let source = if after_cancel { Account::Refunds } else { customer(order) };
    set(order, EntryKind::Captured, vec![(psp(order), amount), (source, -amount)])
}

fn refunded(order: &OrderView, at: usize) -> Option<PostingSet> {
    let refund = order.refunds.get(at)?;
    let amount = refund.amount.minor;
    if at >= before_cancellation(order).1 {
        return set(
            order,
            EntryKind::Refunded,
            vec![(Account::Refunds, amount), (psp(order), -amount)],
        );
    }
    if appeasement(order, &refund.id) {
        let postings = vec![(Account::Appeasements, amount), (psp(order), -amount)];
        return set(order, EntryKind::Refunded, postings);
    }
    let left = remaining(order, at);
    let takes = taken(order, &left, refund);
    let mut postings: Vec<(Account, i64)> =
        left.into_iter().map(|(account, _)| account).zip(takes).collect();
    postings.push((psp(order), -amount));
    if let Some((_, target)) = return_shares(order, &refund.id) {
        // Short of the lines' shares: paid ahead by an appeasement, credited back to it.
        postings.push((Account::Appeasements, amount - target));
    }
    set(order, EntryKind::Refunded, postings)
}

/// A chargeback: the provider took back what it held. Of a cancelled order, it pays back what
/// the cancellation owes the customer (as a refund after it would); otherwise the marketplace
/// books it as an expense, or its sellers bear it as a refund of what each still holds.
pub(super) fn charged_back(order: &OrderView) -> Option<PostingSet> {
    let chargeback = order.chargeback.as_ref()?;
    let amount = chargeback.amount.minor;
    let mut postings = match (&order.cancellation, chargeback.bearer) {
        (Some(_), _) => vec![(Account::Refunds, amount)],
        (None, Bearer::Marketplace) => vec![(Account::Chargebacks, amount)],
        (None, Bearer::Sellers) => {
            let left = remaining(order, order.refunds.len());
            let weights: Vec<i64> = left.iter().map(|(_, amount)| *amount).collect();
            let takes = allocate(amount, &weights);
            // What the components no longer hold (never, by the refund rules) the marketplace
            // bears, so the set still balances.
            let short = amount - takes.iter().sum::<i64>();
            let mut postings: Vec<(Account, i64)> =
                left.into_iter().map(|(account, _)| account).zip(takes).collect();
            postings.push((Account::Chargebacks, short));
            postings
        }
    };
    postings.push((psp(order), -amount));
    set(order, EntryKind::ChargedBack, postings)
}

/// A return settled by the goodwill refunded ahead: Dr its shares, Cr Appeasements all of it.
fn settled_by_goodwill(order: &OrderView, number: u16) -> Option<PostingSet> {
    let settled = order.return_of(number).filter(|r| r.settled_by_goodwill)?;
    let mut postings = shares_of(settled);
    postings.push((Account::Appeasements, -settled.request.amount.minor));
    set(order, EntryKind::Refunded, postings)
}

/// Whether `refund` refunded an appeasement.
fn appeasement(order: &OrderView, refund: &str) -> bool {
    order.appeasements.iter().any(|a| a.refund.as_deref() == Some(refund))
}

/// What the return refunded by `refund` takes back from each component: its lines' shares
/// (see [`crate::order::returns`]), and their sum; `None` if `refund` refunded no return.
fn return_shares(order: &OrderView, refund: &str) -> Option<(Vec<(Account, i64)>, i64)> {
    let paid = order.returns.iter().find(|r| r.refund.as_deref() == Some(refund))?;
    Some((shares_of(paid), paid.request.amount.minor))
}

/// A return's lines' shares of VatPayable, Commission and its seller's payable.
fn shares_of(returned: &crate::order::returns::ReturnView) -> Vec<(Account, i64)> {
    let mut shares = vec![(Account::VatPayable, 0), (Account::Commission, 0)];
    shares.push((Account::SellerPayable(returned.request.seller.clone()), 0));
    for line in &returned.request.lines {
        shares[0].1 += line.shares.vat;
        shares[1].1 += line.shares.commission;
        shares[2].1 += line.shares.payable;
    }
    shares
}

fn cancelled(order: &OrderView) -> Option<PostingSet> {
    order.cancellation.as_ref()?;
    let (captures_before, refunds_before) = before_cancellation(order);
    let sum = |amounts: &mut dyn Iterator<Item = i64>| amounts.map(i128::from).sum::<i128>();
    let captured = sum(&mut order.captures[..captures_before].iter().map(|c| c.amount.minor));
    let refunded = sum(&mut order.refunds[..refunds_before].iter().map(|r| r.amount.minor));
    let appeased = sum(&mut order.refunds[..refunds_before]
        .iter()
        .filter(|r| appeasement(order, &r.id))
        .map(|r| r.amount.minor));
    let mut postings = remaining(order, refunds_before);
    postings.push((customer(order), clamp(captured - i128::from(total(order)))));
    postings.push((Account::Refunds, clamp(refunded - captured)));
    // The cancellation gives everything back: the goodwill paid ahead is part of it.
    postings.push((Account::Appeasements, clamp(-appeased)));
    set(order, EntryKind::Cancelled, postings)
}

/// A posting set of the order's currency: one posting per account, zeros left out; `None`
/// when nothing is left.
fn set(order: &OrderView, entry: EntryKind, postings: Vec<(Account, i64)>) -> Option<PostingSet> {
    let mut merged: Vec<Posting> = Vec::with_capacity(postings.len());
    for (account, amount) in postings {
        match merged.iter_mut().find(|posting| posting.account == account) {
            Some(posting) => posting.amount = posting.amount.saturating_add(amount),
            None => merged.push(Posting { account, amount }),
        }
    }
    merged.retain(|posting| posting.amount != 0);
    if merged.is_empty() {
        return None;
    }
    let reference = order.id.to_string();
    Some(PostingSet { reference, entry, currency: order.currency, postings: merged })
}

/// An amount back in `i64`; the validated order amounts never leave it.
fn clamp(value: i128) -> i64 {
    i64::try_from(value).unwrap_or(if value < 0 { i64::MIN } else { i64::MAX })
}
