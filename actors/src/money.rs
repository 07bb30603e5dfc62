//! Money: integer minor units with a currency. There is no floating point in the domain.
//!
//! Invariants:
//! - A [`Currency`] is always one of the circulating ISO 4217 codes in [`ISO_4217_CODES`]
//!   (three ASCII capitals); it cannot be built or deserialized otherwise.
//! - Arithmetic is checked: mixing currencies is a [`MoneyError::CurrencyMismatch`], leaving
//!   `i64` is a [`MoneyError::Overflow`]; nothing wraps, nothing panics.
//! - `Money` has no total order, because comparing euros with dollars has no meaning; use
//!   [`Money::checked_cmp`].
//!
//! How many minor units make a major one (2 for EUR, 0 for JPY, 3 for KWD) is a display
//! concern and is not kept here: amounts are stored and compared in minor units only.

use std::cmp::Ordering;
use std::fmt;

use serde::de::{self, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// The circulating ISO 4217 currency codes (funds, precious metals and testing codes
/// excluded), sorted so a lookup is a binary search.
pub const ISO_4217_CODES: &[&str] = &[
    "AED", "AFN", "ALL", "AMD", "ANG", "AOA", "ARS", "AUD", "AWG", "AZN", "BAM", "BBD", "BDT",
    "BGN", "BHD", "BIF", "BMD", "BND", "BOB", "BRL", "BSD", "BTN", "BWP", "BYN", "BZD", "CAD",
    "CDF", "CHF", "CLP", "CNY", "COP", "CRC", "CUP", "CVE", "CZK", "DJF", "DKK", "DOP", "DZD",
    "EGP", "ERN", "ETB", "EUR", "FJD", "FKP", "GBP", "GEL", "GHS", "GIP", "GMD", "GNF", "GTQ",
    "GYD", "HKD", "HNL", "HTG", "HUF", "IDR", "ILS", "INR", "IQD", "IRR", "ISK", "JMD", "JOD",
    "JPY", "KES", "KGS", "KHR", "KMF", "KPW", "KRW", "KWD", "KYD", "KZT", "LAK", "LBP", "LKR",
    "LRD", "LSL", "LYD", "MAD", "MDL", "MGA", "MKD", "MMK", "MNT", "MOP", "MRU", "MUR", "MVR",
    "MWK", "MXN", "MYR", "MZN", "NAD", "NGN", "NIO", "NOK", "NPR", "NZD", "OMR", "PAB", "PEN",
    "PGK", "PHP", "PKR", "PLN", "PYG", "QAR", "RON", "RSD", "RUB", "RWF", "SAR", "SBD", "SCR",
    "SDG", "SEK", "SGD", "SHP", "SLE", "SLL", "SOS", "SRD", "SSP", "STN", "SVC", "SYP", "SZL",
    "THB", "TJS", "TMT", "TND", "TOP", "TRY", "TTD", "TWD", "TZS", "UAH", "UGX", "USD", "UYU",
    "UZS", "VED", "VES", "VND", "VUV", "WST", "XAF", "XCD", "XCG", "XOF", "XPF", "YER", "ZAR",
    "ZMW", "ZWG", "ZWL",
];

/// An ISO 4217 currency code.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Currency([u8; 3]);

impl Currency {
    pub const EUR: Currency = Currency(*b"EUR");
    pub const USD: Currency = Currency(*b"USD");
    pub const GBP: Currency = Currency(*b"GBP");
    pub const JPY: Currency = Currency(*b"JPY");

    /// The currency with this code, if it is a circulating ISO 4217 one.
    pub fn new(code: [u8; 3]) -> Result<Currency, MoneyError> {
        let known = std::str::from_utf8(&code)
            .is_ok_and(|text| ISO_4217_CODES.binary_search(&text).is_ok());
        if known {
            Ok(Currency(code))
        } else {
            Err(MoneyError::UnknownCurrency { code: String::from_utf8_lossy(&code).into_owned() })
        }
    }

    /// Parses `"EUR"`; lower case, padding and unknown codes are refused.
    pub fn parse(text: &str) -> Result<Currency, MoneyError> {
        match <[u8; 3]>::try_from(text.as_bytes()) {
            Ok(code) => Currency::new(code),
            Err(_) => Err(MoneyError::UnknownCurrency { code: text.chars().take(8).collect() }),
        }
    }

    pub fn code(self) -> [u8; 3] {
        self.0
    }

    pub fn as_str(&self) -> &str {
        // Only validated ASCII codes are ever stored.
        std::str::from_utf8(&self.0).unwrap_or("???")
    }
}

impl fmt::Debug for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Display for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for Currency {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for Currency {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Currency, D::Error> {
        struct CodeVisitor;
        impl Visitor<'_> for CodeVisitor {
            type Value = Currency;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an ISO 4217 currency code")
            }
            fn visit_str<E: de::Error>(self, text: &str) -> Result<Currency, E> {
                Currency::parse(text).map_err(E::custom)
            }
        }
        deserializer.deserialize_str(CodeVisitor)
    }
}

/// An amount in minor units (cents for EUR, yen for JPY) of one currency. Negative amounts
/// are allowed here (refunds, ledger postings); each command decides what it accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Money {
    pub minor: i64,
    pub currency: Currency,
}

impl Money {
    pub const fn new(minor: i64, currency: Currency) -> Money {
        Money { minor, currency }
    }

    pub const fn zero(currency: Currency) -> Money {
        Money { minor: 0, currency }
    }

    pub fn is_zero(self) -> bool {
        self.minor == 0
    }

    pub fn is_negative(self) -> bool {
        self.minor < 0
    }

    pub fn is_positive(self) -> bool {
        self.minor > 0
    }

    fn same_currency(self, other: Money) -> Result<(), MoneyError> {
        if self.currency == other.currency {
            Ok(())
        } else {
            Err(MoneyError::CurrencyMismatch { left: self.currency, right: other.currency })
        }
    }

    pub fn checked_add(self, other: Money) -> Result<Money, MoneyError> {
        self.same_currency(other)?;
        let minor = self.minor.checked_add(other.minor).ok_or(MoneyError::Overflow)?;
        Ok(Money::new(minor, self.currency))
    }

    pub fn checked_sub(self, other: Money) -> Result<Money, MoneyError> {
        self.same_currency(other)?;
        let minor = self.minor.checked_sub(other.minor).ok_or(MoneyError::Overflow)?;
        Ok(Money::new(minor, self.currency))
    }

    /// The amount times `factor` (a quantity, or -1).
    pub fn checked_mul(self, factor: i64) -> Result<Money, MoneyError> {
        let minor = self.minor.checked_mul(factor).ok_or(MoneyError::Overflow)?;
        Ok(Money::new(minor, self.currency))
    }

    pub fn checked_neg(self) -> Result<Money, MoneyError> {
        let minor = self.minor.checked_neg().ok_or(MoneyError::Overflow)?;
        Ok(Money::new(minor, self.currency))
    }

    /// The sum of `amounts`, all of which must be in `currency`; zero when there are none.
    pub fn checked_sum(
        currency: Currency,
        amounts: impl IntoIterator<Item = Money>,
    ) -> Result<Money, MoneyError> {
        amounts.into_iter().try_fold(Money::zero(currency), Money::checked_add)
    }

    /// Orders two amounts of the same currency.
    pub fn checked_cmp(self, other: Money) -> Result<Ordering, MoneyError> {
        self.same_currency(other)?;
        Ok(self.minor.cmp(&other.minor))
    }
}

impl fmt::Display for Money {
    /// `1999 EUR` means 19.99 euros: the amount is always in minor units.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.minor, self.currency)
    }
}

/// Splits `amount` minor units over `weights` in proportion to them: each weight gets the
/// floor of its exact share, and the units left over go one each to the largest remainders,
/// equal remainders to the earlier weight. The shares add up to `amount` exactly, unless the
/// weights add up to zero (then every share is zero). Callers pass the weights in a canonical
/// order, so the split does not depend on the order of their input.
pub fn apportion(amount: i64, weights: &[i64]) -> Vec<i64> {
    assert!(amount >= 0 && weights.iter().all(|weight| *weight >= 0), "apportioning negatives");
    let total: i128 = weights.iter().map(|weight| i128::from(*weight)).sum();
    if total == 0 {
        return vec![0; weights.len()];
    }
    let amount = i128::from(amount);
    let exact: Vec<(i128, i128)> = weights
        .iter()
        .map(|weight| {
            let product = amount * i128::from(*weight);
            (product / total, product % total)
        })
        .collect();
    let mut shares: Vec<i128> = exact.iter().map(|(floor, _)| *floor).collect();
    let left = amount - shares.iter().sum::<i128>();
    let mut order: Vec<usize> = (0..weights.len()).collect();
    order.sort_by(|&a, &b| exact[b].1.cmp(&exact[a].1).then(a.cmp(&b)));
    let left = usize::try_from(left).expect("fewer units left than weights");
    for &at in order.iter().take(left) {
        shares[at] += 1;
    }
    shares
        .into_iter()
        .map(|share| i64::try_from(share).expect("a share of an i64 fits i64"))
        .collect()
}

/// What money arithmetic or parsing refuses.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MoneyError {
    #[error("currency {left} cannot be combined with {right}")]
    CurrencyMismatch { left: Currency, right: Currency },
    #[error("amount out of range")]
    Overflow,
    #[error("{code:?} is not a circulating iso 4217 currency code")]
    UnknownCurrency { code: String },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_sorted_unique_and_well_formed() {
        assert!(ISO_4217_CODES.windows(2).all(|pair| pair[0] < pair[1]));
        for code in ISO_4217_CODES {
            assert!(code.len() == 3 && code.bytes().all(|b| b.is_ascii_uppercase()), "{code}");
        }
    }

    #[test]
    fn only_known_codes_parse() {
        assert_eq!(Currency::parse("EUR"), Ok(Currency::EUR));
        assert_eq!(Currency::parse("JPY").map(|c| c.to_string()), Ok("JPY".to_string()));
        for bad in ["eur", "EU", "EURO", "", "XAU", "XXX", "ABC", " EU", "€€"] {
            assert!(Currency::parse(bad).is_err(), "{bad:?}");
        }
        assert!(Currency::new([0xff, b'U', b'R']).is_err());
    }

    #[test]
    fn arithmetic_refuses_mixing_and_overflow() {
        let eur = |minor| Money::new(minor, Currency::EUR);
        assert_eq!(eur(150).checked_add(eur(50)), Ok(eur(200)));
        assert_eq!(eur(150).checked_sub(eur(200)), Ok(eur(-50)));
        assert_eq!(eur(150).checked_mul(3), Ok(eur(450)));
        assert_eq!(
            eur(1).checked_add(Money::new(1, Currency::USD)),
            Err(MoneyError::CurrencyMismatch { left: Currency::EUR, right: Currency::USD })
        );
        assert_eq!(eur(i64::MAX).checked_add(eur(1)), Err(MoneyError::Overflow));
        assert_eq!(eur(i64::MIN).checked_neg(), Err(MoneyError::Overflow));
        assert_eq!(eur(i64::MAX).checked_mul(2), Err(MoneyError::Overflow));
        assert_eq!(Money::checked_sum(Currency::EUR, [eur(1), eur(2)]), Ok(eur(3)));
        assert_eq!(Money::checked_sum(Currency::USD, []), Ok(Money::zero(Currency::USD)));
        assert_eq!(eur(1).checked_cmp(eur(2)), Ok(Ordering::Less));
        assert!(eur(1).checked_cmp(Money::new(1, Currency::GBP)).is_err());
        assert_eq!(eur(1999).to_string(), "1999 EUR");
    }

    #[test]
    fn apportioning_adds_up_and_favours_the_largest_remainders() {
        assert_eq!(apportion(500, &[3, 2]), vec![300, 200]);
        assert_eq!(apportion(10, &[1, 1, 1]), vec![4, 3, 3]);
        assert_eq!(apportion(2, &[1, 1, 1]), vec![1, 1, 0]);
        assert_eq!(apportion(7, &[0, 5, 2]), vec![0, 5, 2]);
        assert_eq!(apportion(1, &[0, 0]), vec![0, 0]);
        assert_eq!(
            apportion(i64::MAX, &[1, 1]).iter().map(|s| i128::from(*s)).sum::<i128>(),
            i128::from(i64::MAX)
        );
    }
}
