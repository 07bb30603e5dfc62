//! The reserve step: every priced line held at one of its seller's locations, or none.
//!
//! Invariants:
//! - Line `i` is held under the reservation id `{order}.{i}`, so a repeated step meets its
//!   own holds: a repeated attempt first looks for the hold an earlier one placed, at any
//!   location, and adopts it, so each line is held once. (Giving it back to hold it anew
//!   cannot work: a released id is spent, and the step failed "the reservation was released"
//!   after a crash that fell between a hold and its record.)
//! - A line that cannot be held releases the lines held before it, then fails the saga.

use bazaar_engine::Ack;

use super::{Attempt, Run, StepResult, failed};
use crate::catalog::{Item, ReserveFailure};
use bazaar_actors::checkout::{FailureCode, Outcome, PricedItem, Step};
use bazaar_actors::inventory::Held;

impl Run<'_> {
    /// Holds every priced item at one of its seller's locations, or nothing.
    pub(super) async fn reserve(&self, items: &[PricedItem], attempt: Attempt) -> StepResult {
        let mut held: Vec<Held> = Vec::with_capacity(items.len());
        for (index, item) in items.iter().enumerate() {
            let wanted = Item {
                asin: item.line.asin.clone(),
                seller: item.line.seller.clone(),
                sku: item.sku.clone(),
                quantity: item.line.quantity,
            };
            let reservation_id = self.order.line_reservation(index);
            let ttl_ms = self.inner.config.hold_ttl_ms;
            // An earlier attempt may already hold this line, at whichever location had the
            // most then: that hold is the line's (its id cannot be held twice, nor again once
            // given back).
            let earlier = match attempt.repeated {
                true => self.inner.catalog.find_hold(self.tenant, &wanted, &reservation_id).await?,
                false => None,
            };
            let outcome = match earlier {
                Some(line) => Ok(line),
                // Covered by the durable `Scored`, before the provider is asked anything.
                None => {
                    let catalog = &self.inner.catalog;
                    catalog.hold(self.tenant, wanted, reservation_id, ttl_ms, Ack::Appended).await
                }
            };
            match outcome {
                Ok(line) => held.push(line),
                Err(ReserveFailure::Engine(error)) => return Err(error.into()),
                Err(failure) => {
                    self.inner.catalog.release_held(self.tenant, &held).await?;
                    let code = match failure {
                        ReserveFailure::OutOfStock { .. } => FailureCode::OutOfStock,
                        _ => FailureCode::LineUnavailable,
                    };
                    return Ok(failed(Step::Reserve, code, failure.to_string()));
                }
            }
        }
        Ok(Outcome::Reserved { held })
    }
}
