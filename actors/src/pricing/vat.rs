//! The VAT rates table: a rate in basis points (1900 = 19 %) by destination country and tax
//! class, loaded by the caller from the configuration.
//!
//! The configuration form, one table per country (TOML shown; any serde format works):
//!
//! ```toml
//! [vat.DE]
//! standard = 1900
//! reduced = 700
//!
//! [vat.FR]
//! standard = 2000
//! reduced = 550
//! super_reduced = 210
//! ```
//!
//! Invariants:
//! - Every rate is `0..=BPS_MAX` (100 %); a table holding anything else cannot be built or
//!   deserialized. Unknown keys (a misspelt `standrad`, an unassigned country) are refused,
//!   not ignored.
//! - `Zero` and `Exempt` goods carry no VAT anywhere: their rate is 0 and is not configured.
//!   `Standard`, `Reduced` and `SuperReduced` take their rate from the table; a missing one is
//!   a pricing error (`NoVatRate`), never a silent 0.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::country::CountryCode;
use crate::limits::BPS_MAX;
use crate::product::TaxClass;

/// A tax class that takes its rate from the table, as the configuration spells it
/// (`standard`, `reduced`, `super_reduced`). Variants are append-only.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RatedClass {
    Standard,
    Reduced,
    SuperReduced,
}

impl From<RatedClass> for TaxClass {
    fn from(class: RatedClass) -> TaxClass {
        match class {
            RatedClass::Standard => TaxClass::Standard,
            RatedClass::Reduced => TaxClass::Reduced,
            RatedClass::SuperReduced => TaxClass::SuperReduced,
        }
    }
}

/// The serde form of a table: per country, per rated class, basis points.
pub type VatRates = BTreeMap<CountryCode, BTreeMap<RatedClass, u16>>;

/// Why a table cannot be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VatTableError {
    #[error("vat rate {bps} for {country} {class:?} exceeds {max} basis points")]
    RateTooHigh { country: CountryCode, class: TaxClass, bps: u16, max: u16 },
    #[error("vat rate for {country} {class:?} is given twice")]
    Duplicate { country: CountryCode, class: TaxClass },
    #[error("{class:?} goods carry no vat; their rate is not configured ({country})")]
    NotConfigurable { country: CountryCode, class: TaxClass },
}

/// VAT rates by (country, tax class).
#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "VatRates", into = "VatRates")]
pub struct VatTable {
    rates: BTreeMap<(CountryCode, TaxClass), u16>,
}

impl VatTable {
    /// A table from `(country, class, basis points)` triples.
    pub fn from_rates(
        rates: impl IntoIterator<Item = (CountryCode, TaxClass, u16)>,
    ) -> Result<VatTable, VatTableError> {
        let mut table = VatTable::default();
        for (country, class, bps) in rates {
            if matches!(class, TaxClass::Zero | TaxClass::Exempt) {
                return Err(VatTableError::NotConfigurable { country, class });
            }
            if bps > BPS_MAX {
                return Err(VatTableError::RateTooHigh { country, class, bps, max: BPS_MAX });
            }
            if table.rates.insert((country, class), bps).is_some() {
                return Err(VatTableError::Duplicate { country, class });
            }
        }
        Ok(table)
    }

    /// The rate for goods of `class` sent to `country`, if known.
    pub fn rate_bps(&self, country: CountryCode, class: TaxClass) -> Option<u16> {
        match class {
            TaxClass::Zero | TaxClass::Exempt => Some(0),
            TaxClass::Standard | TaxClass::Reduced | TaxClass::SuperReduced => {
                self.rates.get(&(country, class)).copied()
            }
        }
    }
}

impl TryFrom<VatRates> for VatTable {
    type Error = VatTableError;
    fn try_from(rows: VatRates) -> Result<VatTable, VatTableError> {
        VatTable::from_rates(rows.into_iter().flat_map(|(country, rates)| {
            rates.into_iter().map(move |(class, bps)| (country, TaxClass::from(class), bps))
        }))
    }
}

impl From<VatTable> for VatRates {
    fn from(table: VatTable) -> VatRates {
        let mut rows = VatRates::new();
        for ((country, class), bps) in table.rates {
            let class = match class {
                TaxClass::Standard => RatedClass::Standard,
                TaxClass::Reduced => RatedClass::Reduced,
                TaxClass::SuperReduced => RatedClass::SuperReduced,
                TaxClass::Zero | TaxClass::Exempt => continue,
            };
            rows.entry(country).or_default().insert(class, bps);
        }
        rows
    }
}

#[cfg(test)]
mod tests {
    use serde::de::IntoDeserializer;
    use serde::de::value::Error as ValueError;

    use super::*;

    fn country(code: &str) -> CountryCode {
        CountryCode::parse(code).unwrap()
    }

    /// Deserializes a config-shaped map, as a TOML or JSON loader would hand it over.
    fn from_config(rows: Vec<(&str, Vec<(&str, u16)>)>) -> Result<VatTable, ValueError> {
        let rows: BTreeMap<&str, BTreeMap<&str, u16>> = rows
            .into_iter()
            .map(|(country, rates)| (country, rates.into_iter().collect()))
            .collect();
        VatTable::deserialize(rows.into_deserializer())
    }

    #[test]
    fn the_config_form_deserializes() {
        let table = from_config(vec![("DE", vec![("standard", 1900), ("reduced", 700)])]).unwrap();
        let de = country("DE");
        assert_eq!(table.rate_bps(de, TaxClass::Standard), Some(1900));
        assert_eq!(table.rate_bps(de, TaxClass::Reduced), Some(700));
        assert_eq!(table.rate_bps(de, TaxClass::SuperReduced), None);
        assert_eq!(table.rate_bps(de, TaxClass::Zero), Some(0));
        assert_eq!(table.rate_bps(de, TaxClass::Exempt), Some(0));
        assert_eq!(table.rate_bps(country("FR"), TaxClass::Standard), None);
        let built =
            VatTable::from_rates([(de, TaxClass::Standard, 1900), (de, TaxClass::Reduced, 700)]);
        assert_eq!(built, Ok(table));
    }

    #[test]
    fn bad_config_is_refused() {
        assert!(from_config(vec![("DE", vec![("standrad", 1900)])]).is_err(), "unknown key");
        assert!(from_config(vec![("de", vec![("standard", 1900)])]).is_err(), "bad country");
        assert!(from_config(vec![("DE", vec![("standard", 10_001)])]).is_err(), "over 100 %");
        assert!(from_config(vec![("DE", vec![("zero", 0)])]).is_err(), "zero is not configured");
        let de = country("DE");
        assert_eq!(
            VatTable::from_rates([(de, TaxClass::Standard, 1900), (de, TaxClass::Standard, 1600)]),
            Err(VatTableError::Duplicate { country: de, class: TaxClass::Standard })
        );
        assert_eq!(
            VatTable::from_rates([(de, TaxClass::Exempt, 0)]),
            Err(VatTableError::NotConfigurable { country: de, class: TaxClass::Exempt })
        );
    }
}
