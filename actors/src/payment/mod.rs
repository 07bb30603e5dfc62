//! What a payment provider call leaves behind, as the domain records it: the authorization a
//! checkout holds, the captures and refunds of an order, and why a call failed; and the
//! providers' HTTP API ([`wire`]), shared by Bazaar's client and the simulator `bazaar psp`.
//! The client that makes the calls lives in `bazaar-services`.
//!
//! Invariants: [`Authorization`], [`Capture`], [`Refund`] and [`PaymentError`] are journaled
//! inside events (bincode): their fields and variants are append-only, and no serde attribute
//! that needs a self-describing format (flatten, untagged, skip) is used on them.

pub mod wire;

use serde::{Deserialize, Serialize};

use crate::money::Money;

/// An amount held at provider `psp`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Authorization {
    /// The provider's name, from the configuration.
    pub psp: String,
    /// The provider's id of the authorization.
    pub id: String,
    /// The idempotency key it was made under.
    pub key: String,
    pub amount: Money,
}

/// An amount taken from an authorization.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Capture {
    pub psp: String,
    pub id: String,
    pub key: String,
    pub amount: Money,
}

/// An amount given back from what was captured.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Refund {
    pub psp: String,
    pub id: String,
    pub key: String,
    pub amount: Money,
}

/// Why a payment call did not succeed. Variants are append-only (journaled by position).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
pub enum PaymentError {
    /// The issuer refused; final, never failed over.
    #[error("payment declined: {reason}")]
    Declined { reason: String },
    /// No provider answered in time (timeouts, 5xx, connection errors, open breakers). The
    /// outcome may be unknown: compensate with a void, or retry with the same key.
    #[error("payment provider unavailable: {detail}")]
    Unavailable { detail: String },
    /// The provider answered with a refusal no retry fixes (a 4xx: unknown authorization,
    /// already voided, over-capture, a key reused with another amount).
    #[error("payment refused: {detail}")]
    Refused { detail: String },
    /// The provider wants the customer to authenticate (3-D Secure) at `url` before it
    /// authorizes; asked again under the same key once they have, it answers.
    #[error("the payment needs the customer's authentication at {psp}")]
    ChallengeRequired { psp: String, id: String, url: String },
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::money::Currency;
    use bazaar_persistence::codec;

    #[test]
    fn journaled_types_survive_the_codec_and_keep_their_variant_positions() {
        fn round_trip<T>(value: &T)
        where
            T: Serialize + serde::de::DeserializeOwned + PartialEq + std::fmt::Debug,
        {
            let record = codec::encode(value).unwrap();
            assert_eq!(&codec::decode::<T>(record.as_bytes()).unwrap(), value);
        }
        let amount = Money::new(1_999, Currency::EUR);
        let (psp, id, key) = ("primary".to_string(), "auth_1".to_string(), "k".to_string());
        round_trip(&Authorization { psp: psp.clone(), id: id.clone(), key: key.clone(), amount });
        round_trip(&Capture { psp: psp.clone(), id: id.clone(), key: key.clone(), amount });
        round_trip(&Refund { psp, id, key, amount });
        let errors = [
            PaymentError::Declined { reason: "card_declined".into() },
            PaymentError::Unavailable { detail: "timeout".into() },
            PaymentError::Refused { detail: "voided".into() },
        ];
        for (position, error) in errors.iter().enumerate() {
            round_trip(error);
            assert_eq!(codec::encode(error).unwrap().payload()[0] as usize, position);
        }
    }
}
