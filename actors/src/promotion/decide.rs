//! The promotion's rules: validation, limits and the idempotency of redemptions. Nothing
//! here mutates; the reply describes the promotion once the events are applied.

use super::definition::{self, PromotionDefinition};
use super::ids::{OrderId, PromotionId};
use super::state::Promotion;
use super::{
    PromotionCommand, PromotionEvent, PromotionRejection, PromotionReply, PromotionView,
    RedemptionStatus, RedemptionView,
};
use crate::ids::CustomerId;
use crate::limits::PROMOTION_ORDERS_MAX;

type Decided = Result<(Vec<PromotionEvent>, PromotionReply), PromotionRejection>;

pub(super) fn decide(
    state: &Promotion,
    command: PromotionCommand,
    key: &str,
    now_ms: u64,
) -> Decided {
    match command {
        PromotionCommand::Create { definition } => create(state, definition, key, now_ms),
        PromotionCommand::Update { definition } => update(state, definition, now_ms),
        PromotionCommand::End => {
            created(state)?;
            if state.ended_at_ms.is_some() {
                return answer(state, Vec::new(), None);
            }
            answer(state, vec![PromotionEvent::Ended { at_ms: now_ms }], None)
        }
        PromotionCommand::Redeem { customer, order_id } => {
            redeem(state, customer, order_id, now_ms)
        }
        PromotionCommand::Unredeem { order_id } => unredeem(state, order_id, now_ms),
        PromotionCommand::Get => answer(state, Vec::new(), None),
    }
}

fn created(state: &Promotion) -> Result<&PromotionDefinition, PromotionRejection> {
    state.definition.as_ref().ok_or(PromotionRejection::UnknownPromotion)
}

fn create(state: &Promotion, definition: PromotionDefinition, key: &str, now_ms: u64) -> Decided {
    // The entity key may carry a scope before the id (`{tenant}/{id}`); the id is its last part.
    let id = key.rsplit_once('/').map_or(key, |(_, id)| id);
    let id = PromotionId::parse(id).map_err(|_| PromotionRejection::IdInvalid)?;
    definition::validate(&definition)?;
    match &state.definition {
        Some(held) if *held == definition => answer(state, Vec::new(), None),
        Some(_) => Err(PromotionRejection::AlreadyCreated),
        None => {
            answer(state, vec![PromotionEvent::Created { id, definition, at_ms: now_ms }], None)
        }
    }
}

fn update(state: &Promotion, definition: PromotionDefinition, now_ms: u64) -> Decided {
    let held = created(state)?;
    if state.ended_at_ms.is_some() {
        return Err(PromotionRejection::Ended);
    }
    definition::validate(&definition)?;
    let limits = definition.limits;
    if limits.total < state.redeemed {
        return Err(PromotionRejection::LimitBelowRedemptions { redeemed: state.redeemed });
    }
    let most_by_one = state.by_customer.values().copied().max().unwrap_or(0);
    if limits.per_customer < most_by_one {
        return Err(PromotionRejection::LimitBelowRedemptions { redeemed: most_by_one });
    }
    if *held == definition {
        return answer(state, Vec::new(), None);
    }
    answer(state, vec![PromotionEvent::Updated { definition, at_ms: now_ms }], None)
}

fn redeem(state: &Promotion, customer: CustomerId, order_id: OrderId, now_ms: u64) -> Decided {
    let definition = created(state)?;
    if let Some(record) = state.orders.get(&order_id) {
        return match record.status {
            RedemptionStatus::Redeemed if record.customer.as_ref() == Some(&customer) => {
                answer(state, Vec::new(), state.redemption(&order_id))
            }
            RedemptionStatus::Redeemed => Err(PromotionRejection::OrderConflict),
            RedemptionStatus::Reversed => Err(PromotionRejection::RedemptionReversed),
        };
    }
    if state.ended_at_ms.is_some() {
        return Err(PromotionRejection::Ended);
    }
    let window = definition.window;
    if now_ms >= window.ends_ms {
        return Err(PromotionRejection::Expired);
    }
    if now_ms < window.starts_ms {
        return Err(PromotionRejection::NotStarted);
    }
    let limits = definition.limits;
    if state.redeemed >= limits.total {
        return Err(PromotionRejection::TotalLimitReached { limit: limits.total });
    }
    if state.redeemed_by(&customer) >= limits.per_customer {
        return Err(PromotionRejection::CustomerLimitReached { limit: limits.per_customer });
    }
    orders_room(state)?;
    let view = RedemptionView {
        order_id: order_id.clone(),
        customer: Some(customer.clone()),
        status: RedemptionStatus::Redeemed,
        redeemed_at_ms: Some(now_ms),
        reversed_at_ms: None,
    };
    let event = PromotionEvent::Redeemed { order_id, customer, at_ms: now_ms };
    answer(state, vec![event], Some(view))
}

fn unredeem(state: &Promotion, order_id: OrderId, now_ms: u64) -> Decided {
    created(state)?;
    let record = state.orders.get(&order_id);
    if record.is_some_and(|record| record.status == RedemptionStatus::Reversed) {
        return answer(state, Vec::new(), state.redemption(&order_id));
    }
    if record.is_none() {
        orders_room(state)?;
    }
    let customer = record.and_then(|record| record.customer.clone());
    let view = RedemptionView {
        order_id: order_id.clone(),
        customer: customer.clone(),
        status: RedemptionStatus::Reversed,
        redeemed_at_ms: record.and_then(|record| record.redeemed_at_ms),
        reversed_at_ms: Some(now_ms),
    };
    let event = PromotionEvent::Unredeemed { order_id, customer, at_ms: now_ms };
    answer(state, vec![event], Some(view))
}

/// Whether one more order can be remembered.
fn orders_room(state: &Promotion) -> Result<(), PromotionRejection> {
    if state.orders.len() >= PROMOTION_ORDERS_MAX {
        let max = u32::try_from(PROMOTION_ORDERS_MAX).unwrap_or(u32::MAX);
        return Err(PromotionRejection::TooManyOrders { max });
    }
    Ok(())
}

/// The reply for `events`: the promotion as it will be once they are applied. Computed from
/// the events rather than by folding a copy of the state, which would copy every remembered
/// order per command; the property test checks it against `apply`.
fn answer(
    state: &Promotion,
    events: Vec<PromotionEvent>,
    redemption: Option<RedemptionView>,
) -> Decided {
    let mut view: Option<PromotionView> = state.view();
    for event in &events {
        match (event, view.as_mut()) {
            (PromotionEvent::Created { id, definition, at_ms }, _) => {
                view = Some(PromotionView {
                    id: id.clone(),
                    definition: definition.clone(),
                    created_at_ms: *at_ms,
                    ended_at_ms: None,
                    redeemed: 0,
                    revision: state.revision,
                });
            }
            (PromotionEvent::Updated { definition, .. }, Some(view)) => {
                view.definition = definition.clone();
            }
            (PromotionEvent::Ended { at_ms }, Some(view)) => view.ended_at_ms = Some(*at_ms),
            (PromotionEvent::Redeemed { .. }, Some(view)) => view.redeemed += 1,
            (PromotionEvent::Unredeemed { customer: Some(_), .. }, Some(view)) => {
                view.redeemed -= 1;
            }
            (_, _) => {}
        }
    }
    let mut promotion = view.ok_or(PromotionRejection::UnknownPromotion)?;
    promotion.revision = state.revision + events.len() as u64;
    Ok((events, PromotionReply { promotion, redemption }))
}
