//! A seller's statement: what it sold, what the marketplace kept (commission) and collected
//! for the tax authority (VAT), what went back to customers, and what it is owed, over a
//! period. Pure: derived from orders' states, each movement dated by the event that made it.
//!
//! A seller's [`SellerEntry`]s of one order:
//! - **Sale**, at placement: its lines' net (VAT exclusive, shipping included), commission
//!   (per line, as the ledger computes it) and VAT.
//! - **Refund**, when a return of its shipment was refunded: the return's shares (net is
//!   the commission's and the payable's shares, VAT the VAT's).
//! - **Cancellation**, when the order was cancelled: what was left of the sale.
//! - **Chargeback**, when a dispute its sellers bear took the payment back: the seller's
//!   payable share, as the ledger posts it (counted as net; its commission and VAT shares are
//!   the order's, not the seller's, so they are not split out).
//!
//! Invariant (the ledger's property test checks it): over all time, a seller's net payable
//! (`net − commission` of sales, less that of refunds and cancellations) is what the ledger
//! says the marketplace owes it for the order, whenever every refund of the order is a
//! return's or follows its cancellation (the only refunds the engine makes).

use serde::{Deserialize, Serialize};

use super::commission;
use crate::ids::SellerId;
use crate::order::OrderView;

/// Why a seller's part of an order moved.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum SellerEntryKind {
    Sale,
    Refund,
    Cancellation,
    Chargeback,
}

/// One movement of a seller's part of an order, in minor units of the order's currency.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct SellerEntry {
    pub at_ms: u64,
    pub kind: SellerEntryKind,
    /// VAT exclusive; the commission is part of it.
    pub net: i64,
    pub commission: i64,
    pub vat: i64,
}

impl SellerEntry {
    /// What this entry owes the seller (negative for a refund or a cancellation).
    pub fn payable(&self) -> i64 {
        let owed = self.net - self.commission;
        if self.kind == SellerEntryKind::Sale { owed } else { -owed }
    }
}

/// `seller`'s entries of `order`, oldest first.
pub fn seller_entries(order: &OrderView, seller: &SellerId) -> Vec<SellerEntry> {
    if !order.lines.iter().any(|line| line.seller == *seller) {
        return Vec::new();
    }
    let mut sale = SellerEntry {
        at_ms: order.placed_at_ms,
        kind: SellerEntryKind::Sale,
        net: 0,
        commission: 0,
        vat: 0,
    };
    for line in order.lines.iter().filter(|line| line.seller == *seller) {
        sale.net += line.net.minor;
        sale.commission += commission(line.net.minor, order.commission_bps);
        sale.vat += line.vat.minor;
    }
    let mut entries = vec![sale];
    let refunded = order.returns.iter().filter(|r| r.request.seller == *seller);
    for returned in refunded {
        let Some(at_ms) = returned.refunded_at_ms else { continue };
        let mut refund =
            SellerEntry { at_ms, kind: SellerEntryKind::Refund, net: 0, commission: 0, vat: 0 };
        for line in &returned.request.lines {
            refund.net += line.shares.payable + line.shares.commission;
            refund.commission += line.shares.commission;
            refund.vat += line.shares.vat;
        }
        entries.push(refund);
    }
    if let Some(cancellation) = &order.cancellation {
        let left = |part: fn(&SellerEntry) -> i64| {
            part(&sale) - entries[1..].iter().map(part).sum::<i64>()
        };
        entries.push(SellerEntry {
            at_ms: cancellation.at_ms,
            kind: SellerEntryKind::Cancellation,
            net: left(|e| e.net),
            commission: left(|e| e.commission),
            vat: left(|e| e.vat),
        });
    }
    if let Some(chargeback) = order.chargeback.as_ref().filter(|_| order.cancellation.is_none()) {
        let account = super::Account::SellerPayable(seller.clone());
        let postings = super::postings::charged_back(order).map(|set| set.postings);
        let share = postings
            .into_iter()
            .flatten()
            .find(|posting| posting.account == account)
            .map_or(0, |posting| posting.amount);
        if share != 0 {
            let kind = SellerEntryKind::Chargeback;
            entries.push(SellerEntry {
                at_ms: chargeback.at_ms,
                kind,
                net: share,
                commission: 0,
                vat: 0,
            });
        }
    }
    entries.sort_by_key(|entry| entry.at_ms);
    entries
}

/// The sums of a seller's entries over a period.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Statement {
    /// Orders placed in the period with lines of the seller.
    pub orders: u64,
    pub sales: i64,
    pub commission: i64,
    pub vat: i64,
    /// Net refunded to customers (returns, cancellations, and chargebacks the sellers bear),
    /// the commission on it included.
    pub refunded: i64,
    /// The commission the marketplace gave back with the refunds.
    pub commission_refunded: i64,
    pub vat_refunded: i64,
    /// What the marketplace owes the seller for the period: `sales − commission −
    /// (refunded − commission_refunded)`.
    pub net_payable: i64,
}

impl Statement {
    /// Adds `entry` (whatever its date: the caller picks the period's).
    pub fn add(&mut self, entry: &SellerEntry) {
        match entry.kind {
            SellerEntryKind::Sale => {
                self.orders += 1;
                self.sales += entry.net;
                self.commission += entry.commission;
                self.vat += entry.vat;
            }
            SellerEntryKind::Refund
            | SellerEntryKind::Cancellation
            | SellerEntryKind::Chargeback => {
                self.refunded += entry.net;
                self.commission_refunded += entry.commission;
                self.vat_refunded += entry.vat;
            }
        }
        self.net_payable += entry.payable();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::order::fixtures::{self, capture, key, order, refund, seller};
    use crate::order::{Order, OrderCommand};
    use crate::testing::Harness;

    #[test]
    fn a_sale_a_return_and_what_the_seller_is_owed() {
        let mut harness = Harness::<Order>::new(&key());
        harness.now_ms = 1_000;
        let place =
            OrderCommand::Place { order: Box::new(order()), plan: Some(fixtures::terms(2)) };
        harness.run(place).unwrap();
        harness.run(OrderCommand::RecordCapture { capture: capture("c1", 3_510) }).unwrap();
        let (s2, carrier, tracking) = (seller("s2"), "c".to_string(), "t".to_string());
        let ship = OrderCommand::Ship { shipment: 2, seller: s2.clone(), carrier, tracking };
        harness.run(ship).unwrap();
        harness.run(OrderCommand::Deliver { shipment: 2 }).unwrap();
        let request = fixtures::return_request(&[(1, 1)]);
        harness.run(OrderCommand::RequestReturn { request: Box::new(request) }).unwrap();
        let receive =
            OrderCommand::ReceiveReturn { number: 1, seller: s2.clone(), sellable: vec![1] };
        harness.run(receive).unwrap();
        harness.now_ms = 9_000;
        let paid = OrderCommand::RecordReturnRefund { number: 1, refund: refund("r1", 595) };
        let view = harness.run(paid).unwrap().1.order;
        // s2's line: 500 net, 60 commission (12 %), 95 VAT; returned whole.
        let entries = seller_entries(&view, &s2);
        let kinds: Vec<_> =
            entries.iter().map(|e| (e.at_ms, e.kind, e.net, e.commission, e.vat)).collect();
        assert_eq!(
            kinds,
            [
                (1_000, SellerEntryKind::Sale, 500, 60, 95),
                (9_000, SellerEntryKind::Refund, 500, 60, 95)
            ]
        );
        let mut sold = Statement::default();
        sold.add(&entries[0]);
        assert_eq!((sold.orders, sold.net_payable), (1, 440));
        let mut all = sold;
        all.add(&entries[1]);
        assert_eq!((all.refunded, all.commission_refunded, all.net_payable), (500, 60, 0));
        // s1 sold two lines: 2 150 + 333 net, 258 + 40 commission.
        let s1 = seller_entries(&view, &seller("s1"));
        assert_eq!(
            (s1.len(), s1[0].net, s1[0].commission, s1[0].payable()),
            (1, 2_483, 298, 2_185)
        );
        assert!(seller_entries(&view, &seller("s9")).is_empty());
    }
}
