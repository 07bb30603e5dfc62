//! A destination country: an ISO 3166-1 alpha-2 code, the key of the VAT table.
//!
//! Invariant: a [`CountryCode`] is always one of the officially assigned codes in
//! [`ISO_3166_ALPHA_2`] (two ASCII capitals); it cannot be built or deserialized otherwise.
//! VAT-only spellings (`EL` for Greece, `XI` for Northern Ireland) are not country codes: the
//! caller maps them before pricing.

use std::fmt;

use serde::de::{self, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::ids::IdError;

/// The officially assigned ISO 3166-1 alpha-2 codes, sorted so a lookup is a binary search.
pub const ISO_3166_ALPHA_2: &[&str] = &[
    "AD", "AE", "AF", "AG", "AI", "AL", "AM", "AO", "AQ", "AR", "AS", "AT", "AU", "AW", "AX", "AZ",
    "BA", "BB", "BD", "BE", "BF", "BG", "BH", "BI", "BJ", "BL", "BM", "BN", "BO", "BQ", "BR", "BS",
    "BT", "BV", "BW", "BY", "BZ", "CA", "CC", "CD", "CF", "CG", "CH", "CI", "CK", "CL", "CM", "CN",
    "CO", "CR", "CU", "CV", "CW", "CX", "CY", "CZ", "DE", "DJ", "DK", "DM", "DO", "DZ", "EC", "EE",
    "EG", "EH", "ER", "ES", "ET", "FI", "FJ", "FK", "FM", "FO", "FR", "GA", "GB", "GD", "GE", "GF",
    "GG", "GH", "GI", "GL", "GM", "GN", "GP", "GQ", "GR", "GS", "GT", "GU", "GW", "GY", "HK", "HM",
    "HN", "HR", "HT", "HU", "ID", "IE", "IL", "IM", "IN", "IO", "IQ", "IR", "IS", "IT", "JE", "JM",
    "JO", "JP", "KE", "KG", "KH", "KI", "KM", "KN", "KP", "KR", "KW", "KY", "KZ", "LA", "LB", "LC",
    "LI", "LK", "LR", "LS", "LT", "LU", "LV", "LY", "MA", "MC", "MD", "ME", "MF", "MG", "MH", "MK",
    "ML", "MM", "MN", "MO", "MP", "MQ", "MR", "MS", "MT", "MU", "MV", "MW", "MX", "MY", "MZ", "NA",
    "NC", "NE", "NF", "NG", "NI", "NL", "NO", "NP", "NR", "NU", "NZ", "OM", "PA", "PE", "PF", "PG",
    "PH", "PK", "PL", "PM", "PN", "PR", "PS", "PT", "PW", "PY", "QA", "RE", "RO", "RS", "RU", "RW",
    "SA", "SB", "SC", "SD", "SE", "SG", "SH", "SI", "SJ", "SK", "SL", "SM", "SN", "SO", "SR", "SS",
    "ST", "SV", "SX", "SY", "SZ", "TC", "TD", "TF", "TG", "TH", "TJ", "TK", "TL", "TM", "TN", "TO",
    "TR", "TT", "TV", "TW", "TZ", "UA", "UG", "UM", "US", "UY", "UZ", "VA", "VC", "VE", "VG", "VI",
    "VN", "VU", "WF", "WS", "YE", "YT", "ZA", "ZM", "ZW",
];

/// An ISO 3166-1 alpha-2 country code, e.g. `DE`.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CountryCode([u8; 2]);

impl CountryCode {
    /// Parses `"DE"`; lower case, padding and unassigned codes are refused.
    pub fn parse(text: &str) -> Result<CountryCode, IdError> {
        let assigned = ISO_3166_ALPHA_2.binary_search(&text).is_ok();
        match <[u8; 2]>::try_from(text.as_bytes()) {
            Ok(code) if assigned => Ok(CountryCode(code)),
            Ok(_) => Err(IdError::BadCharacter {
                what: "country code",
                allowed: "an assigned iso 3166-1 alpha-2 code",
            }),
            Err(_) => {
                Err(IdError::WrongLength { what: "country code", len: text.len(), expected: 2 })
            }
        }
    }

    pub fn as_str(&self) -> &str {
        // Only validated ASCII codes are ever stored.
        std::str::from_utf8(&self.0).unwrap_or("??")
    }
}

impl fmt::Debug for CountryCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Display for CountryCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for CountryCode {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for CountryCode {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<CountryCode, D::Error> {
        struct CodeVisitor;
        impl Visitor<'_> for CodeVisitor {
            type Value = CountryCode;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an ISO 3166-1 alpha-2 country code")
            }
            fn visit_str<E: de::Error>(self, text: &str) -> Result<CountryCode, E> {
                CountryCode::parse(text).map_err(E::custom)
            }
        }
        deserializer.deserialize_str(CodeVisitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_sorted_unique_and_well_formed() {
        assert!(ISO_3166_ALPHA_2.windows(2).all(|pair| pair[0] < pair[1]));
        assert_eq!(ISO_3166_ALPHA_2.len(), 249);
        for code in ISO_3166_ALPHA_2 {
            assert!(code.len() == 2 && code.bytes().all(|b| b.is_ascii_uppercase()), "{code}");
        }
    }

    #[test]
    fn only_assigned_codes_parse() {
        assert_eq!(CountryCode::parse("DE").map(|c| c.to_string()), Ok("DE".to_string()));
        for bad in ["de", "D", "DEU", "", "XX", "EL", "XI", " D", "D\u{e9}"] {
            assert!(CountryCode::parse(bad).is_err(), "{bad:?}");
        }
    }
}
