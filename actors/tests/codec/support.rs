//! What every area's codec test leans on: the round trip through the journal's codec, the pin
//! on variant positions (and on rejection codes being unique), a runner that puts an entity through commands and round-trips all it
//! sees, and the small values (quantities, euros, an address) the fixtures are built from.

use std::fmt::Debug;

use bazaar_actors::order::ShipTo;
use bazaar_actors::{CountryCode, Currency, Money, Quantity, Rejection, ReservationId};
use bazaar_entity::{Ctx, Entity, EntityKey};
use bazaar_persistence::codec;
use serde::Serialize;
use serde::de::DeserializeOwned;

/// Encodes `value` with the journal's codec and decodes it back to an equal value.
pub fn round_trip<T: Serialize + DeserializeOwned + PartialEq + Debug>(value: &T) {
    let record = codec::encode(value).expect("encodes");
    let back: T = codec::decode(record.as_bytes()).expect("decodes");
    assert_eq!(&back, value);
}

/// Each of `variants` survives the codec and is written at its position in the slice (one
/// byte while positions stay below 251): list a type's variants in declaration order.
pub fn pin_positions<T: Serialize + DeserializeOwned + PartialEq + Debug>(variants: &[T]) {
    for (position, variant) in variants.iter().enumerate() {
        round_trip(variant);
        let written = codec::encode(variant).expect("encodes").payload()[0];
        assert_eq!(usize::from(written), position, "{variant:?} moved");
    }
}

/// [`pin_positions`] for a rejection type, whose every variant also has a code of its own
/// (the stable `code` of a problem+json answer): list its variants in declaration order.
pub fn pin_rejections<T>(variants: &[T])
where
    T: Serialize + DeserializeOwned + PartialEq + Debug + Rejection,
{
    pin_positions(variants);
    let codes: std::collections::BTreeSet<&str> = variants.iter().map(Rejection::code).collect();
    assert_eq!(codes.len(), variants.len(), "two rejections share a code");
}

/// Runs `commands` against a fresh entity keyed `id`, one millisecond apart, each of which
/// must be accepted; round-trips every command, event and reply, and the state after each.
/// Returns the final state and the replies in order.
pub fn run<E>(id: &str, commands: Vec<E::Command>) -> (E, Vec<E::Reply>)
where
    E: Entity + PartialEq + Debug,
    E::Command: PartialEq + Debug,
    E::Event: PartialEq + Debug,
    E::Reply: PartialEq + Debug,
{
    let key = EntityKey::new(E::KIND, id);
    let mut state = E::default();
    let mut replies = Vec::new();
    for (n, command) in commands.into_iter().enumerate() {
        round_trip(&command);
        let ctx = Ctx { now_ms: 1_000 + n as u64, key: &key };
        let (events, reply) = state.decide(command, &ctx).unwrap_or_else(|r| panic!("{r:?}"));
        events.iter().for_each(round_trip);
        round_trip(&reply);
        events.iter().for_each(|event| state.apply(event));
        round_trip(&state);
        replies.push(reply);
    }
    (state, replies)
}

pub fn rid(text: &str) -> ReservationId {
    ReservationId::parse(text).unwrap()
}

pub fn qty(units: u32) -> Quantity {
    Quantity::new(units).unwrap()
}

pub fn eur(minor: i64) -> Money {
    Money::new(minor, Currency::EUR)
}

/// The delivery address of every order and checkout fixture.
pub fn ship_to() -> ShipTo {
    ShipTo {
        country: CountryCode::parse("DE").unwrap(),
        postal_code: "10115".into(),
        city: "Berlin".into(),
        line1: "Invalidenstr. 1".into(),
        name: "A. Customer".into(),
    }
}
