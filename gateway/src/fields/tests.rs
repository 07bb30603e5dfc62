//! Each pattern of the document against the parser it describes: a string the pattern takes
//! parses, and a string that parses matches the pattern, so neither can change alone.

use bazaar_actors::promotion::{CouponCode, PromotionId};
use bazaar_actors::{Asin, LocationCode, SellerId, Sku};
use proptest::prelude::*;
use regex::Regex;

use super::*;

fn pattern_of(schema: &Object) -> Regex {
    Regex::new(schema.pattern.as_deref().expect("a pattern")).unwrap()
}

/// Strings near an id's alphabet and length: every ASCII byte, some non-ASCII, short and long.
fn near_ids() -> impl Strategy<Value = String> {
    prop_oneof![
        "[ -~]{0,70}",
        "[A-Za-z0-9._-]{0,70}",
        "[A-Z0-9]{8,12}",
        "[A-Z0-9_-]{0,20}",
        "[a-zA-Z0-9 _é-]{0,40}",
        "\\s{0,2}[a-zA-Z0-9_-]{0,34}\\s{0,2}",
    ]
}

/// The domain's rule for free text (a document's title, a seller's name).
fn text_ok(text: &str, bytes_max: usize) -> bool {
    !text.trim().is_empty() && text.len() <= bytes_max && !text.chars().any(char::is_control)
}

/// Strings a pattern matches (proptest's generator takes it without its anchors).
fn generated(pattern: String) -> impl Strategy<Value = String> {
    let bare = pattern.trim_start_matches('^').trim_end_matches('$').to_owned();
    proptest::string::string_regex(&bare).unwrap()
}

fn agree(schema: &Object, parses: impl Fn(&str) -> bool, text: &str) {
    let pattern = pattern_of(schema);
    assert_eq!(
        pattern.is_match(text),
        parses(text),
        "pattern {pattern} and the parser disagree on {text:?}"
    );
    // Bounds count what is read: a trimmed text without its padding.
    let chars = text.trim().chars().count();
    if parses(text) {
        assert!(schema.min_length.is_none_or(|min| chars >= min), "{text:?} under minLength");
        assert!(schema.max_length.is_none_or(|max| chars <= max), "{text:?} over maxLength");
    }
}

proptest! {
    #[test]
    fn id_patterns_say_what_the_parsers_take(text in near_ids()) {
        agree(&asin(), |t| Asin::parse(t).is_ok(), &text);
        agree(&seller_id(), |t| SellerId::parse(t).is_ok(), &text);
        agree(&sku(), |t| Sku::parse(t).is_ok(), &text);
        agree(&location(), |t| LocationCode::parse(t).is_ok(), &text);
        agree(&promotion_id(), |t| PromotionId::name(t).is_ok(), &text);
        agree(&coupon(), |t| CouponCode::normalize(t).is_ok(), &text);
        agree(&cart_id(), bazaar_actors::keys::is_cart_id, &text);
        let listed = |t: &str| {
            let codes: Vec<&str> = t.split(',').filter(|c| !c.trim().is_empty()).collect();
            t.split(',').count() <= bazaar_actors::limits::COUPONS_PER_PRICING_MAX
                && codes.iter().all(|c| CouponCode::normalize(c).is_ok())
        };
        agree(&coupon_list(), listed, &text);
        agree(&seller_name(), |t| text_ok(t, bazaar_actors::limits::SELLER_NAME_BYTES_MAX), &text);
        let address_max = bazaar_actors::limits::ADDRESS_FIELD_BYTES_MAX;
        agree(&address_line(), |t| crate::dto::text("c", "f", t, address_max).is_ok(), &text);
    }

    #[test]
    fn personal_patterns_say_what_the_parsers_take(
        text in prop_oneof![
            "[ -~]{0,30}",
            "[a-z.]{0,6}@?[a-z@ \u{a0}\u{2028}é]{0,8}",
            "\\+?[0-9+ ]{0,24}",
            "s?://[a-z0-9./ :\u{85}é]{0,8}",
        ],
    ) {
        agree(&email(), is_email, &text);
        agree(&webhook_url(), bazaar_actors::webhooks::is_webhook_url, &format!("http{text}"));
        agree(&phone_option(), is_phone, &text);
    }

    #[test]
    fn ids_the_patterns_generate_parse(
        asin_text in generated(asin_pattern()),
        name in generated(name_pattern(ID_BYTES_MAX)),
        code in generated(location_pattern()),
    ) {
        prop_assert!(Asin::parse(&asin_text).is_ok());
        prop_assert!(SellerId::parse(&name).is_ok() && Sku::parse(&name).is_ok());
        prop_assert!(LocationCode::parse(&code).is_ok());
    }

    #[test]
    fn bounded_integers_take_exactly_their_range(v in any::<i64>(), f in any::<f64>()) {
        let read = |json: String| {
            serde_json::from_str::<serde_json::Value>(&json)
                .map_err(|e| e.to_string())
                .and_then(|value| feed_seq::deserialize(value).map_err(|e| e.to_string()))
        };
        prop_assert_eq!(read(v.to_string()).ok(), u64::try_from(v).ok());
        // The float as serde_json reads the text (its fast parser may be one unit in the last
        // place off the nearest, e.g. `946539620814822.1` read as a whole number).
        let text = format!("{f:?}");
        let f: f64 = serde_json::from_str(&text).unwrap_or(f);
        let exact = f.fract() == 0.0 && (0.0..9.2e18).contains(&f);
        prop_assert_eq!(read(text).is_ok(), exact, "{:?}", f);
    }
}

#[test]
fn integers_past_the_contract_are_refused() {
    let read = |json: &str| {
        let value: serde_json::Value = serde_json::from_str(json).unwrap();
        feed_seq::deserialize(value).map_err(|e| e.to_string())
    };
    assert_eq!(read("9223372036854775807"), Ok(i64::MAX as u64));
    assert!(read("9223372036854775808").unwrap_err().contains("0 to 9223372036854775807"));
    assert!(read("18446744073709551615").is_err());
    assert!(read("-1").is_err());
    assert_eq!(read("42.0"), Ok(42));
    assert!(read("42.5").is_err());
    // Within its type, a number is the domain's to refuse, with the domain's own code.
    let days = |json: &str| {
        handling_days::deserialize(serde_json::from_str::<serde_json::Value>(json).unwrap())
    };
    assert_eq!(days("31").unwrap(), 31);
    assert!(days("65536").is_err() && days("-1").is_err());
    assert_eq!((handling_days::MIN, handling_days::MAX), (0, 30));
}

#[test]
fn integer_formats_fit_their_bounds() {
    let int32 = integer(0, i64::from(i32::MAX), false);
    assert_eq!(serde_json::to_value(&int32).unwrap()["format"], "int32");
    let wider = integer(0, i64::from(u32::MAX), false);
    assert_eq!(serde_json::to_value(&wider).unwrap()["format"], "int64");
}
