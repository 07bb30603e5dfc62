//! The last forward steps: place the order with its shipments planned, commit its holds
//! (they become sales) and empty the cart; and plan the shipments of an order a saga placed
//! before placements planned too.
//!
//! Invariants:
//! - The order's id derives from the saga's key and a repeated `Place` is answered from the
//!   order's state, so a saga places one order.
//! - The payment job is told of a placed order at once; it captures when the order's policy
//!   says so, and settles it whatever the saga does next.
//! - An order cancelled by its customer before the saga plans it is planned no further; its
//!   own lifecycle (void or refund, restock) takes it from there. Any other refusal to plan
//!   cannot happen (the order exists, its lines fit a plan): it fails the saga with
//!   `order_refused` and an error log, never an endless retry.

use bazaar_engine::Ack;

use super::{Run, StepResult, failed};
use bazaar_actors::cart::{Cart, CartCommand};
use bazaar_actors::checkout::{FailureCode, Outcome, Placement, Step};
use bazaar_actors::fulfilment;
use bazaar_actors::inventory::{Held, InventoryCommand};
use bazaar_actors::keys;
use bazaar_actors::order::{NewOrder, Order, OrderCommand, OrderRejection};

impl Run<'_> {
    /// Places the order; the payment job finds it unsettled in the order book and captures
    /// (or, if it is cancelled later, voids or refunds).
    pub(super) async fn place(&self, placement: &Placement) -> StepResult {
        let Placement { priced, held, authorization, capture, fraud } = placement;
        let Some(lines) = fulfilment::order_lines(&priced.items, held) else {
            // Held by the reserve step for these very items: cannot happen.
            let detail = "the holds do not match the priced lines";
            return Ok(failed(Step::Place, FailureCode::OrderRefused, detail));
        };
        let plan = Some(self.delivery_plan(lines.iter().map(|line| &line.location)).await);
        let new = NewOrder {
            customer: self.request.customer.clone(),
            checkout: self.id.to_owned(),
            currency: priced.currency,
            lines,
            totals: priced.totals.clone(),
            promotions: priced.promotions.clone(),
            authorization: authorization.clone(),
            capture: *capture,
            commission_bps: self.inner.config.commission_bps,
            fraud: fraud.clone(),
            ship_to: self.request.ship_to.clone(),
        };
        let place = OrderCommand::Place { order: Box::new(new), plan };
        match self.engine().ask_appended::<Order>(&self.order_key, place).await? {
            Ok(_) => {
                // Captured (when due) while the saga commits.
                self.inner.payment_job.kick(&self.order_key);
                Ok(Outcome::PlacedAndPlanned)
            }
            Err(rejection) => {
                Ok(failed(Step::Place, FailureCode::OrderRefused, rejection.to_string()))
            }
        }
    }

    /// Turns every hold into a sale.
    pub(super) async fn commit(&self, held: &[Held]) -> StepResult {
        for held in held {
            let commit = InventoryCommand::Commit { reservation_id: held.reservation_id.clone() };
            if let Err(rejection) =
                self.inner.catalog.settle_hold(self.tenant, held, commit, Ack::Appended).await?
            {
                let detail = format!("{}: {rejection}", held.reservation_id);
                return Ok(failed(Step::Commit, FailureCode::ReservationExpired, detail));
            }
        }
        // Emptied once the sale is certain (a cart already empty, or gone, is fine: the
        // order has its lines); never for a checkout that fails.
        let cart_key = keys::cart(self.tenant, &self.request.cart);
        self.engine().ask_appended::<Cart>(&cart_key, CartCommand::Clear).await?.ok();
        Ok(Outcome::Committed)
    }

    /// Plans the shipments (promised-by dates): the step of a saga that recorded `Placed`
    /// before placements planned too (`Outcome::PlacedAndPlanned`). Its commit empties the
    /// cart.
    pub(super) async fn plan(&self, held: &[Held]) -> StepResult {
        let plan = self.delivery_plan(held.iter().map(|held| &held.location)).await;
        let plan = OrderCommand::PlanShipments { plan };
        match self.engine().ask_appended::<Order>(&self.order_key, plan).await? {
            // Cancelled by the customer since it was placed (and maybe refunded already):
            // nothing left to plan; the order's own lifecycle (void or refund, restock) takes
            // it from here.
            Ok(_) | Err(OrderRejection::OrderCancelled | OrderRejection::OrderRefunded) => {
                Ok(Outcome::Planned)
            }
            // The order was placed before `Placed` was recorded, and its lines fit a
            // plan, so no other refusal can happen; none would pass on a retry either. It
            // fails the saga (compensated like any failure) rather than retrying forever.
            Err(rejection) => {
                tracing::error!(order = %self.order, error = %rejection, "the order refused its shipment plan; the checkout fails");
                Ok(failed(Step::Plan, FailureCode::OrderRefused, rejection.to_string()))
            }
        }
    }
}
