//! Every command, event, reply, rejection and state of the domain survives the journal's own
//! codec (bincode through serde, which refuses self-describing tricks), and the position of
//! each event and rejection variant, which is what the codec records, is pinned: reordering a
//! variant breaks this test before it breaks a journal.
//!
//! One module per area of the domain: `catalog` (inventory, product, seller, cart), `orders`
//! (promotion, priced cart, order), `money` (fraud, ledger), `checkout` (the saga, worklists); `support`
//! holds the round trip, the position pin and the runner they share; `support_desk` the
//! support agents' aggregates (order notes, cases).

mod catalog;
mod checkout;
mod money;
mod orders;
mod support;
mod support_desk;
