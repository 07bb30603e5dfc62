//! The double-entry ledger of orders: what each order owes and is owed, in integer minor units
//! of its currency. Postings are derived from order events by a pure function
//! ([`postings`]); the read model [`Ledger`] sums them per tenant, and [`reconcile`] compares
//! the money it says moved with what the payment providers report.
//!
//! # Accounts (per tenant)
//!
//! - `Customer(c)`: what customer `c` still owes (a receivable).
//! - `PspClearing(p)`: money held for us by payment provider `p`.
//! - `SellerPayable(s)`: what we owe seller `s`.
//! - `Commission`: the marketplace's revenue. `VatPayable`: VAT owed to the tax authority.
//! - `Refunds`: money owed back to customers of cancelled orders, not yet returned.
//! - `Appeasements`: goodwill given back, which the marketplace bears.
//!
//! Amounts are signed: a debit is positive, a credit negative. Every posting set sums to
//! zero, so every tenant's balances sum to zero per currency (the trial balance).
//!
//! # Rules
//!
//! Let `T` be the order total, `V` its VAT, and per line `commission = round_half_up(net ×
//! commission_bps / 10 000)`; `C` is the sum of the lines' commissions and `P(s)` the sum of
//! `net − commission` over seller `s`'s lines. Then `T = V + C + Σ P(s)`: these are the
//! order's *components*, in the order VatPayable, Commission, then sellers by id.
//!
//! - **Placed**: Dr Customer `T`; Cr VatPayable `V`, Cr Commission `C`, Cr SellerPayable(s)
//!   `P(s)`.
//! - **Captured** `a`: Dr PspClearing `a`; Cr Customer `a`. After a cancellation (a capture
//!   that raced it): Dr PspClearing `a`; Cr Refunds `a`.
//! - **Refunded** `r` (order not cancelled): the refund takes back `r` of the components,
//!   split in proportion to what remains of each (largest remainder: each gets the floor of
//!   its exact share, the leftover minor units go one each to the largest remainders, ties to
//!   the earlier component): Dr each component its share; Cr PspClearing `r`. No share
//!   exceeds what remains, so no component changes sign, and the last refund of the whole
//!   total takes back exactly what remains.
//! - **Cancelled**, after captures `K` and refunds `F` (those recorded before it): Dr each
//!   component what remains of it (`T − F` in all); Cr Customer `T − K` (the receivable that
//!   will never be collected); Cr Refunds `K − F` (what must go back).
//! - **Refunded** `r` after a cancellation: Dr Refunds `r`; Cr PspClearing `r`.
//! - **Appeased** (refunded `r` for an appeasement): Dr Appeasements `r`; Cr PspClearing
//!   `r`. A return refunded afterwards gets at most what is left (`r' ≤` its shares `s`):
//!   Dr its shares, Cr PspClearing `r'`, Cr Appeasements `s − r'`; a cancellation credits
//!   Appeasements with every appeasement refunded before it.
//! - **Refunded** `r` for a return: Dr VatPayable, Commission and the return's
//!   SellerPayable(s) its lines' shares of each (they add up to `r`; see
//!   [`crate::order::returns`]); Cr PspClearing `r`. The seller whose units came back bears
//!   the refund, and a later refund of the other kind counts these as taken back.
//! - Shipping, delivery and voids post nothing.
//!
//! # Balances an order leaves
//!
//! - Placed and fully captured: Customer 0, PspClearing `T`, components in full, Refunds 0.
//! - Placed, captured `K < T`: Customer `T − K`, PspClearing `K`, components in full.
//! - Fully refunded (captured `T`, refunded `T`, by any mix of the engine's refunds: returns,
//!   goodwill every unit of which a return counted, refunds after a cancellation), or
//!   cancelled with everything captured given back, or cancelled with nothing captured:
//!   every account of the order is zero. Goodwill no return counted stays the marketplace's
//!   expense (`Appeasements`), and what the sellers are owed for the units kept stays owed.
//!
//! The property test checks these after random lifecycles, and that every set sums to zero.
//!
//! Invariant: [`postings`] needs only the order's state after the event and the event: the
//! lines never change after placement, captures and refunds are kept in order, and the
//! cancellation records how many of each came before it. So the ledger can be rebuilt from
//! the final state of each order ([`entries`]) and agrees with the sets posted one by one.

mod postings;
#[cfg(test)]
mod proptests;
mod reconcile;
pub mod statement;
#[cfg(test)]
mod tests;

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::ids::CustomerId;
use crate::ids::SellerId;
use crate::money::Currency;

pub use postings::{balances_of, commission, entries, postings};
pub use reconcile::{Mismatch, MismatchKind, Movement, of_tenant, reconcile};

/// A ledger account of a tenant.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Account {
    Customer(CustomerId),
    /// A payment provider, by its configured name.
    PspClearing(String),
    SellerPayable(SellerId),
    Commission,
    VatPayable,
    Refunds,
    /// Goodwill given back to customers, which the marketplace bears (an expense).
    Appeasements,
    /// Disputed payments the marketplace bears (an expense; see `order::chargebacks`).
    Chargebacks,
}

impl fmt::Display for Account {
    /// `customer:c1`, `psp_clearing:adyen`, `seller_payable:acme`, `commission`,
    /// `vat_payable`, `refunds`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Account::Customer(customer) => write!(f, "customer:{customer}"),
            Account::PspClearing(psp) => write!(f, "psp_clearing:{psp}"),
            Account::SellerPayable(seller) => write!(f, "seller_payable:{seller}"),
            Account::Commission => f.write_str("commission"),
            Account::VatPayable => f.write_str("vat_payable"),
            Account::Refunds => f.write_str("refunds"),
            Account::Appeasements => f.write_str("appeasements"),
            Account::Chargebacks => f.write_str("chargebacks"),
        }
    }
}

/// What an order event posts. Variants are append-only.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum EntryKind {
    Placed,
    Captured,
    Cancelled,
    Refunded,
    ChargedBack,
}

/// One account's side of a posting set: a debit if positive, a credit if negative.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Posting {
    pub account: Account,
    pub amount: i64,
}

/// The postings of one order event; they sum to zero. An account appears at most once and
/// no posting is zero.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PostingSet {
    /// The order id.
    pub reference: String,
    pub entry: EntryKind,
    pub currency: Currency,
    pub postings: Vec<Posting>,
}

impl PostingSet {
    /// The sum of the postings: zero for every set this module makes.
    pub fn sum(&self) -> i128 {
        self.postings.iter().map(|posting| i128::from(posting.amount)).sum()
    }
}
