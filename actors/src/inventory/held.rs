//! A cart line held on an inventory record: what the checkout records of each hold it made,
//! so a later step can commit or release exactly that hold.

use crate::ids::{Asin, LocationCode, ReservationId, SellerId, Sku};
use crate::quantity::Quantity;

/// One line held.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Held {
    pub asin: Asin,
    pub seller: SellerId,
    pub sku: Sku,
    pub location: LocationCode,
    pub quantity: Quantity,
    pub reservation_id: ReservationId,
    pub expires_at_ms: u64,
}
