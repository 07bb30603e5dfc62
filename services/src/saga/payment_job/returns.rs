//! Returns' restocks: a received return's sellable units go back on hand at the location
//! the return was received at (the module doc of `payment_job` says under which ids).

use bazaar_actors::inventory::{Inventory, InventoryCommand, InventoryId};
use bazaar_actors::keys;
use bazaar_actors::order::{Order, OrderCommand, OrderView, parse_entity_id};
use bazaar_actors::quantity::Quantity;

use super::PaymentJob;

impl PaymentJob {
    /// Puts return `number`'s sellable units back on hand, line by line (each recorded on the
    /// order before the next; one recorded is never asked again), then records the whole;
    /// the order after the record.
    pub(super) async fn restock_return(
        &self,
        order: &str,
        view: &OrderView,
        number: u16,
    ) -> Result<OrderView, String> {
        let engine = &self.inner.engine;
        let tenant = parse_entity_id(order).map(|(tenant, _)| tenant).ok_or("not an order id")?;
        let known = view.return_of(number).ok_or("no such return")?;
        let sellable = known.received.as_ref().map(|r| r.sellable.as_slice()).unwrap_or(&[]);
        for (returned, units) in known.request.lines.iter().zip(sellable) {
            if known.restocked_lines.binary_search(&returned.line).is_ok() {
                continue;
            }
            let line = view.lines.get(usize::from(returned.line)).ok_or("no such line")?;
            let id = InventoryId::new(line.sku.clone(), line.location.clone());
            let key = keys::inventory(tenant, &line.seller, &id);
            let reservation_id = view.id.return_reservation(number, returned.line);
            if let Some(units) = Quantity::new(*units) {
                let command = InventoryCommand::Restock { reservation_id, sold: Some(units) };
                let answer = engine.ask::<Inventory>(&key, command).await;
                if let Err(rejection) = answer.map_err(|e| e.to_string())? {
                    return Err(format!("return {number} at {key}: {rejection}"));
                }
            }
            let line = returned.line;
            let record = || OrderCommand::RecordReturnLineRestocked { number, line };
            self.record_restocked_line(order, line, record).await?;
        }
        let record = OrderCommand::RecordReturnRestocked { number };
        match engine.ask::<Order>(order, record).await.map_err(|e| e.to_string())? {
            Ok(reply) => {
                metrics::counter!("payment_job_actions_total", "action" => "return_restock")
                    .increment(1);
                Ok(reply.order)
            }
            Err(rejection) => Err(rejection.to_string()),
        }
    }
}
