//! The cart's rules: validation, limits and the merge. Nothing here mutates; the reply is
//! the cart once the events are applied (a cart is small, so a copy is folded).

use std::collections::BTreeMap;

use bazaar_entity::Ctx;

use super::owner::CartOwner;
use super::state::Cart;
use super::{
    CappedLine, CartCommand, CartEvent, CartLine, CartRejection, CartReply, HoldRecord, LineKey,
    MergeReport,
};
use crate::limits::{CART_HOLDS_MAX, CART_LINE_QUANTITY_MAX, CART_LINES_MAX, PRICE_MINOR_MAX};
use crate::money::{Currency, Money};
use crate::quantity::Quantity;

type Decided = Result<(Vec<CartEvent>, CartReply), CartRejection>;

/// A line as a command describes it, before it is checked.
struct Seen {
    key: LineKey,
    quantity: Quantity,
    unit_price: Money,
    available: bool,
}

pub(super) fn decide(state: &Cart, command: CartCommand, ctx: &Ctx<'_>) -> Decided {
    let now_ms = ctx.now_ms;
    match command {
        CartCommand::Create { owner, currency } => create(state, owner, currency, now_ms),
        CartCommand::AddLine { asin, offer, quantity, seen_unit_price, seen_available } => {
            let key = LineKey { asin, offer };
            let seen =
                Seen { key, quantity, unit_price: seen_unit_price, available: seen_available };
            add_line(state, seen, now_ms)
        }
        CartCommand::ChangeQuantity { asin, offer, quantity, seen_unit_price, seen_available } => {
            let key = LineKey { asin, offer };
            let seen =
                Seen { key, quantity, unit_price: seen_unit_price, available: seen_available };
            change_quantity(state, seen, now_ms)
        }
        CartCommand::RemoveLine { asin, offer } => {
            created(state)?;
            let key = LineKey { asin, offer };
            if !state.lines.contains_key(&key) {
                return Err(CartRejection::UnknownLine);
            }
            answer(state, vec![CartEvent::LineRemoved { asin: key.asin, offer: key.offer }], None)
        }
        CartCommand::MergeFrom { from, revision, lines } => {
            if *from == *ctx.key.id {
                return Err(CartRejection::MergeIntoItself);
            }
            if state.merged.iter().any(|(merged, at)| *merged == from && *at >= revision) {
                return answer(state, Vec::new(), Some(MergeReport::default()));
            }
            let (mut events, report) = merge(state, lines)?;
            events.push(CartEvent::MergedFrom { from, revision });
            answer(state, events, Some(report))
        }
        CartCommand::Clear => {
            created(state)?;
            let events = if state.lines.is_empty() { Vec::new() } else { vec![CartEvent::Cleared] };
            answer(state, events, None)
        }
        CartCommand::Get => answer(state, Vec::new(), None),
        CartCommand::AsOwner { owner, command } => {
            if state.owner.as_ref() != Some(&owner) {
                return Err(CartRejection::UnknownCart);
            }
            decide(state, *command, ctx)
        }
        CartCommand::RecordHolds { add, forget } => record_holds(state, add, forget),
    }
}

/// The cart's currency, once it exists.
fn created(state: &Cart) -> Result<Currency, CartRejection> {
    state.currency.ok_or(CartRejection::UnknownCart)
}

/// Forgets `forget` and records `add` (a hold in both ends recorded); the first such decision
/// also says that every hold is on the cart from now on.
fn record_holds(state: &Cart, add: Vec<HoldRecord>, forget: Vec<HoldRecord>) -> Decided {
    created(state)?;
    let mut holds = state.holds.clone();
    let mut events = Vec::new();
    for hold in forget {
        if !add.contains(&hold) && holds.remove(&hold) {
            events.push(CartEvent::HoldForgotten { hold });
        }
    }
    for hold in add {
        if holds.insert(hold.clone()) {
            events.push(CartEvent::HoldRecorded { hold });
        }
    }
    if holds.len() > CART_HOLDS_MAX {
        return Err(CartRejection::TooManyHolds { max: bound(CART_HOLDS_MAX) });
    }
    if !state.holds_on_cart {
        events.push(CartEvent::HoldsOnCart);
    }
    answer(state, events, None)
}

fn bound(limit: usize) -> u32 {
    u32::try_from(limit).unwrap_or(u32::MAX)
}

fn create(state: &Cart, owner: CartOwner, currency: Currency, now_ms: u64) -> Decided {
    match (&state.owner, state.currency) {
        (Some(held), Some(held_currency)) if *held == owner && held_currency == currency => {
            answer(state, Vec::new(), None)
        }
        (Some(_), _) => Err(CartRejection::AlreadyCreated),
        (None, _) => {
            // A new cart has no holds anywhere else: they are all recorded on it.
            let events =
                vec![CartEvent::Created { owner, currency, at_ms: now_ms }, CartEvent::HoldsOnCart];
            answer(state, events, None)
        }
    }
}

fn check_price(price: Money, currency: Currency) -> Result<(), CartRejection> {
    if price.currency != currency {
        return Err(CartRejection::CurrencyMismatch { expected: currency });
    }
    if !(1..=PRICE_MINOR_MAX).contains(&price.minor) {
        return Err(CartRejection::PriceInvalid { max_minor: PRICE_MINOR_MAX });
    }
    Ok(())
}

fn check_quantity(units: u64) -> Result<Quantity, CartRejection> {
    match u32::try_from(units).ok().filter(|units| *units <= CART_LINE_QUANTITY_MAX) {
        Some(units) => Ok(Quantity::new(units).expect("a sum of positive quantities")),
        None => Err(CartRejection::LineQuantityTooLarge { max: CART_LINE_QUANTITY_MAX }),
    }
}

fn line(seen: Seen, quantity: Quantity, now_ms: u64) -> CartLine {
    CartLine {
        asin: seen.key.asin,
        offer: seen.key.offer,
        quantity,
        seen_unit_price: seen.unit_price,
        seen_available: seen.available,
        seen_at_ms: now_ms,
    }
}

fn add_line(state: &Cart, seen: Seen, now_ms: u64) -> Decided {
    let currency = created(state)?;
    check_price(seen.unit_price, currency)?;
    check_quantity(u64::from(seen.quantity.get()))?;
    match state.lines.get(&seen.key) {
        Some(held) => {
            let sum = u64::from(held.quantity.get()) + u64::from(seen.quantity.get());
            let quantity = check_quantity(sum)?;
            answer(state, vec![CartEvent::LineChanged { line: line(seen, quantity, now_ms) }], None)
        }
        None => {
            if state.lines.len() >= CART_LINES_MAX {
                return Err(CartRejection::TooManyLines { max: bound(CART_LINES_MAX) });
            }
            let quantity = seen.quantity;
            answer(state, vec![CartEvent::LineAdded { line: line(seen, quantity, now_ms) }], None)
        }
    }
}

fn change_quantity(state: &Cart, seen: Seen, now_ms: u64) -> Decided {
    let currency = created(state)?;
    check_price(seen.unit_price, currency)?;
    let quantity = check_quantity(u64::from(seen.quantity.get()))?;
    let held = state.lines.get(&seen.key).ok_or(CartRejection::UnknownLine)?;
    let unchanged = held.quantity == quantity
        && held.seen_unit_price == seen.unit_price
        && held.seen_available == seen.available;
    if unchanged {
        return answer(state, Vec::new(), None);
    }
    answer(state, vec![CartEvent::LineChanged { line: line(seen, quantity, now_ms) }], None)
}

/// Folds `incoming` into the cart's lines as the module doc says: quantities add up and are
/// capped, new lines beyond the line limit are dropped, the newer seen facts are kept.
/// The line events that merge `incoming` into the cart, and what could not be kept.
fn merge(
    state: &Cart,
    incoming: Vec<CartLine>,
) -> Result<(Vec<CartEvent>, MergeReport), CartRejection> {
    let currency = created(state)?;
    if incoming.len() > CART_LINES_MAX {
        return Err(CartRejection::MergeTooLarge { max: bound(CART_LINES_MAX) });
    }
    for line in &incoming {
        check_price(line.seen_unit_price, currency)?;
    }
    let mut lines = state.lines.clone();
    // Per touched line, the quantity before the cap.
    let mut uncapped: BTreeMap<LineKey, u64> = BTreeMap::new();
    let mut dropped: Vec<LineKey> = Vec::new();
    for line in incoming {
        let key = line.key();
        if !lines.contains_key(&key) && lines.len() >= CART_LINES_MAX {
            if !dropped.contains(&key) {
                dropped.push(key);
            }
            continue;
        }
        let held = lines.get_mut(&key);
        let before = held.as_ref().map_or(0, |held| u64::from(held.quantity.get()));
        let sum = uncapped.get(&key).copied().unwrap_or(before) + u64::from(line.quantity.get());
        uncapped.insert(key.clone(), sum);
        let quantity = capped(sum);
        match held {
            Some(held) if line.seen_at_ms > held.seen_at_ms => {
                *held = CartLine { quantity, ..line }
            }
            Some(held) => held.quantity = quantity,
            None => {
                lines.insert(key, CartLine { quantity, ..line });
            }
        }
    }
    let mut events = Vec::new();
    for (key, after) in &lines {
        match state.lines.get(key) {
            None => events.push(CartEvent::LineAdded { line: after.clone() }),
            Some(before) if before != after => {
                events.push(CartEvent::LineChanged { line: after.clone() });
            }
            Some(_) => {}
        }
    }
    let capped = uncapped
        .into_iter()
        .filter(|(_, requested)| *requested > u64::from(CART_LINE_QUANTITY_MAX))
        .map(|(key, requested)| CappedLine {
            asin: key.asin,
            offer: key.offer,
            requested,
            kept: capped(requested),
        })
        .collect();
    Ok((events, MergeReport { capped, dropped }))
}

fn capped(units: u64) -> Quantity {
    let units = units.min(u64::from(CART_LINE_QUANTITY_MAX));
    Quantity::new(u32::try_from(units).expect("capped below u32")).expect("a positive sum")
}

/// The reply once `events` are applied.
fn answer(state: &Cart, events: Vec<CartEvent>, merge: Option<MergeReport>) -> Decided {
    let mut after = state.clone();
    events.iter().for_each(|event| after.apply_event(event));
    let cart = after.view().ok_or(CartRejection::UnknownCart)?;
    Ok((events, CartReply { cart, merge }))
}
