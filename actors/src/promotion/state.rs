//! The promotion's state and `apply`: folding events, no rules.
//!
//! Invariants of the representation (kept by `apply`, relied on by `decide`):
//! - `id` and `definition` are both set or both unset.
//! - `redeemed` equals the sum of `by_customer`, which holds no zero count, and the number of
//!   `orders` in status `Redeemed`.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::definition::{CandidatePromotion, PromotionDefinition};
use super::ids::{OrderId, PromotionId};
use super::{PromotionEvent, PromotionView, RedemptionStatus, RedemptionView};
use crate::ids::CustomerId;

/// What the promotion remembers of one order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(super) struct OrderRecord {
    pub customer: Option<CustomerId>,
    pub status: RedemptionStatus,
    pub redeemed_at_ms: Option<u64>,
    pub reversed_at_ms: Option<u64>,
}

/// A promotion: definition and redemption counters. The default is one not yet created.
#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Promotion {
    pub(super) id: Option<PromotionId>,
    pub(super) definition: Option<PromotionDefinition>,
    pub(super) created_at_ms: u64,
    pub(super) ended_at_ms: Option<u64>,
    pub(super) redeemed: u32,
    pub(super) by_customer: BTreeMap<CustomerId, u32>,
    pub(super) orders: BTreeMap<OrderId, OrderRecord>,
    pub(super) revision: u64,
}

impl Promotion {
    pub fn view(&self) -> Option<PromotionView> {
        Some(PromotionView {
            id: self.id.clone()?,
            definition: self.definition.clone()?,
            created_at_ms: self.created_at_ms,
            ended_at_ms: self.ended_at_ms,
            redeemed: self.redeemed,
            revision: self.revision,
        })
    }

    /// The promotion as pricing takes it; after `End`, its window closes at the end, so
    /// pricing at or after that instant finds it expired.
    pub fn candidate(&self) -> Option<CandidatePromotion> {
        let (id, mut definition) = (self.id.clone()?, self.definition.clone()?);
        if let Some(ended_at_ms) = self.ended_at_ms {
            let window = &mut definition.window;
            window.ends_ms = window.ends_ms.min(ended_at_ms);
            window.starts_ms = window.starts_ms.min(window.ends_ms);
        }
        Some(CandidatePromotion { id, definition })
    }

    /// Active redemptions.
    pub fn redeemed(&self) -> u32 {
        self.redeemed
    }

    /// Active redemptions by `customer`.
    pub fn redeemed_by(&self, customer: &CustomerId) -> u32 {
        self.by_customer.get(customer).copied().unwrap_or(0)
    }

    pub fn redemption(&self, order_id: &OrderId) -> Option<RedemptionView> {
        self.orders.get(order_id).map(|record| RedemptionView {
            order_id: order_id.clone(),
            customer: record.customer.clone(),
            status: record.status,
            redeemed_at_ms: record.redeemed_at_ms,
            reversed_at_ms: record.reversed_at_ms,
        })
    }

    pub(super) fn apply_event(&mut self, event: &PromotionEvent) {
        self.revision += 1;
        match event {
            PromotionEvent::Created { id, definition, at_ms } => {
                self.id = Some(id.clone());
                self.definition = Some(definition.clone());
                self.created_at_ms = *at_ms;
            }
            PromotionEvent::Updated { definition, .. } => {
                self.definition = Some(definition.clone());
            }
            PromotionEvent::Ended { at_ms } => self.ended_at_ms = Some(*at_ms),
            PromotionEvent::Redeemed { order_id, customer, at_ms } => {
                self.redeemed = self.redeemed.saturating_add(1);
                *self.by_customer.entry(customer.clone()).or_default() += 1;
                let record = OrderRecord {
                    customer: Some(customer.clone()),
                    status: RedemptionStatus::Redeemed,
                    redeemed_at_ms: Some(*at_ms),
                    reversed_at_ms: None,
                };
                self.orders.insert(order_id.clone(), record);
            }
            PromotionEvent::Unredeemed { order_id, customer, at_ms } => {
                let record = self.orders.entry(order_id.clone()).or_insert(OrderRecord {
                    customer: customer.clone(),
                    status: RedemptionStatus::Reversed,
                    redeemed_at_ms: None,
                    reversed_at_ms: None,
                });
                let was_redeemed = record.status == RedemptionStatus::Redeemed;
                record.status = RedemptionStatus::Reversed;
                record.reversed_at_ms = Some(*at_ms);
                if was_redeemed && let Some(customer) = &record.customer {
                    self.redeemed = self.redeemed.saturating_sub(1);
                    if let Some(count) = self.by_customer.get_mut(customer) {
                        *count = count.saturating_sub(1);
                        if *count == 0 {
                            self.by_customer.remove(customer);
                        }
                    }
                }
            }
        }
    }
}
