//! The product's rules: validation, offer bookkeeping, and the buy box outcome of each change.
//! Nothing here mutates; a change that would move the buy box adds `BuyBoxChanged`.

use super::buy_box::{self, BuyBox};
use super::document;
use super::offer::{self, Offer};
use super::state::Product;
use super::{ProductChange, ProductCommand, ProductEvent, ProductRejection, ProductReply};
use crate::ids::SellerId;
use crate::limits::OFFERS_PER_PRODUCT_MAX;
use crate::money::Currency;
use crate::seller::SellerScore;

type Decided = Result<(Vec<ProductEvent>, ProductReply), ProductRejection>;

pub(super) fn decide(state: &Product, command: ProductCommand, now_ms: u64) -> Decided {
    match command {
        ProductCommand::CreateOrUpdateDocument { document, currency, by, required } => {
            put_document(state, (document, currency), by, &required, now_ms)
        }
        ProductCommand::PutOffer { seller, terms, score } => {
            let currency = created(state)?;
            offer::validate_terms(&terms, currency)?;
            let existing = state.offers.get(&seller);
            if existing.is_none() && state.offers.len() >= OFFERS_PER_PRODUCT_MAX {
                let max = u32::try_from(OFFERS_PER_PRODUCT_MAX).unwrap_or(u32::MAX);
                return Err(ProductRejection::TooManyOffers { max });
            }
            // A snapshot older than the one held (the seller changed since the caller read
            // it) does not replace it.
            let score = match existing {
                Some(held) if held.score.version > score.version => held.score,
                _ => score,
            };
            let offer = Offer { seller, terms, score };
            match existing {
                Some(held) if *held == offer => Ok(unchanged(state)),
                Some(_) => {
                    let event = ProductEvent::OfferRevised { offer: offer.clone() };
                    Ok(with_buy_box(state, &offer.seller, Some(&offer), vec![event]))
                }
                None => {
                    let event = ProductEvent::OfferListed { offer: offer.clone() };
                    Ok(with_buy_box(state, &offer.seller, Some(&offer), vec![event]))
                }
            }
        }
        ProductCommand::WithdrawOffer { seller } => {
            held_offer(state, &seller)?;
            let event = ProductEvent::OfferWithdrawn { seller: seller.clone() };
            Ok(with_buy_box(state, &seller, None, vec![event]))
        }
        ProductCommand::SetOfferStock { seller, available } => {
            let held = held_offer(state, &seller)?;
            offer::validate_available(available)?;
            if held.terms.available == available {
                return Ok(unchanged(state));
            }
            let mut after = held.clone();
            after.terms.available = available;
            let event = ProductEvent::OfferStockSet { seller: seller.clone(), available };
            Ok(with_buy_box(state, &seller, Some(&after), vec![event]))
        }
        ProductCommand::SetSellerScore { seller, score } => set_seller_score(state, seller, score),
        ProductCommand::List { by, document, offer, required } => {
            list(state, (by, &required), document, offer, now_ms)
        }
        ProductCommand::Get => match state.view() {
            Some(view) => Ok((Vec::new(), ProductReply::Product(Box::new(view)))),
            None => Err(ProductRejection::UnknownProduct),
        },
    }
}

/// The document, then the offer, each decided as its own command would be; the offer on the
/// state the document's events leave, so a product and its first offer list in one line.
fn list(
    state: &Product,
    (by, required): (SellerId, &[String]),
    document: Option<(document::CatalogDocument, Currency)>,
    offer: Option<(offer::OfferTerms, SellerScore)>,
    now_ms: u64,
) -> Decided {
    let put_offer = |state: &Product, (terms, score): (offer::OfferTerms, SellerScore)| {
        decide(state, ProductCommand::PutOffer { seller: by.clone(), terms, score }, now_ms)
    };
    let Some(document) = document else {
        return match offer {
            Some(offer) => put_offer(state, offer),
            None => Ok(unchanged(state)),
        };
    };
    let (mut events, reply) = put_document(state, document, by.clone(), required, now_ms)?;
    let Some(offer) = offer else { return Ok((events, reply)) };
    let mut after = state.clone();
    events.iter().for_each(|event| after.apply_event(event));
    let (more, reply) = put_offer(&after, offer)?;
    events.extend(more);
    Ok((events, reply))
}

/// The product's currency, once it exists.
fn created(state: &Product) -> Result<Currency, ProductRejection> {
    state.currency.ok_or(ProductRejection::UnknownProduct)
}

fn held_offer<'a>(state: &'a Product, seller: &SellerId) -> Result<&'a Offer, ProductRejection> {
    created(state)?;
    state.offers.get(seller).ok_or(ProductRejection::UnknownOffer)
}

/// Creates the document (its creator owns it) or replaces it (its owner only; a product
/// without a recorded owner is claimed by the first seller to write it), and records which
/// of the `required` attributes it lacks when that changes (which may move the buy box).
fn put_document(
    state: &Product,
    (document, currency): (document::CatalogDocument, Currency),
    by: SellerId,
    required: &[String],
    now_ms: u64,
) -> Decided {
    if state.owner.as_ref().is_some_and(|owner| *owner != by) {
        return Err(ProductRejection::NotDocumentOwner);
    }
    document::validate(&document)?;
    let missing = document::missing(&document, required);
    let missing = (missing != state.missing_attributes)
        .then_some(ProductEvent::AttributesMissing { missing });
    let (Some(held), Some(held_currency)) = (&state.document, state.currency) else {
        let created = ProductEvent::DocumentCreated { document, currency, at_ms: now_ms };
        let owned = ProductEvent::OwnerRecorded { owner: by };
        let events = [created, owned].into_iter().chain(missing).collect();
        return Ok(changed_without_buy_box(state, events));
    };
    if currency != held_currency {
        return Err(ProductRejection::CurrencyChanged { currency: held_currency });
    }
    let mut events = Vec::new();
    if *held != document {
        events.push(ProductEvent::DocumentUpdated { document, at_ms: now_ms });
    }
    if state.owner.is_none() {
        events.push(ProductEvent::OwnerRecorded { owner: by });
    }
    if events.is_empty() && missing.is_none() {
        return Ok(unchanged(state));
    }
    let Some(missing) = missing else {
        return Ok(changed_without_buy_box(state, events));
    };
    // Every offer's eligibility follows: the buy box may move.
    let mut after = state.clone();
    after.apply_event(&missing);
    events.push(missing);
    let buy_box_changed = after.buy_box != state.buy_box;
    if buy_box_changed {
        events.push(ProductEvent::BuyBoxChanged { winner: after.buy_box.clone() });
    }
    let change = ProductChange {
        revision: state.revision + events.len() as u64,
        buy_box: after.buy_box(),
        buy_box_changed,
        offer_added: false,
    };
    Ok((events, ProductReply::Changed(change)))
}

fn set_seller_score(state: &Product, seller: SellerId, score: SellerScore) -> Decided {
    let held = held_offer(state, &seller)?;
    if score.version < held.score.version {
        return Err(ProductRejection::StaleSellerScore { version: held.score.version });
    }
    if score == held.score {
        return Ok(unchanged(state));
    }
    let mut after = held.clone();
    after.score = score;
    let event = ProductEvent::SellerScoreRecorded { seller: seller.clone(), score };
    Ok(with_buy_box(state, &seller, Some(&after), vec![event]))
}

/// Adds `BuyBoxChanged` when the winner after `events` (which replace `seller`'s offer by
/// `after`) differs from the winner now, and answers with the new buy box.
fn with_buy_box(
    state: &Product,
    seller: &SellerId,
    after: Option<&Offer>,
    mut events: Vec<ProductEvent>,
) -> (Vec<ProductEvent>, ProductReply) {
    let others = state.offers.values().filter(|offer| offer.seller != *seller);
    let winner = buy_box::choose(others.chain(after), &state.missing_attributes);
    let winner_id = winner.map(|offer| offer.seller.clone());
    let buy_box_changed = winner_id != state.buy_box;
    if buy_box_changed {
        events.push(ProductEvent::BuyBoxChanged { winner: winner_id });
    }
    let change = ProductChange {
        revision: state.revision + events.len() as u64,
        buy_box: winner.map(BuyBox::of),
        buy_box_changed,
        offer_added: after.is_some() && !state.offers.contains_key(seller),
    };
    (events, ProductReply::Changed(change))
}

/// A change that cannot move the buy box (the document).
fn changed_without_buy_box(
    state: &Product,
    events: Vec<ProductEvent>,
) -> (Vec<ProductEvent>, ProductReply) {
    let change = ProductChange {
        revision: state.revision + events.len() as u64,
        buy_box: state.buy_box(),
        buy_box_changed: false,
        offer_added: false,
    };
    (events, ProductReply::Changed(change))
}

fn unchanged(state: &Product) -> (Vec<ProductEvent>, ProductReply) {
    changed_without_buy_box(state, Vec::new())
}
