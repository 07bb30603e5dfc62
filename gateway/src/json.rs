//! JSON in and out, with every failure of a request body as problem+json and a precise code:
//! `unsupported_media_type` (a body that does not say it is JSON), `body_too_large`,
//! `malformed_json` (not JSON), `invalid_body` (JSON of the wrong shape, including unknown
//! fields, which every request DTO denies, and an array where an object belongs).
//!
//! Invariants:
//! - A route that reads a JSON body reads it through [`Body`], [`Raw`] or [`Optional`], so
//!   a body is taken only when its `Content-Type` is `application/json` or
//!   `application/*+json` (with any parameters); without one, or with another, it is 415
//!   before anything acts on it. [`Optional`] alone takes an empty body, as "no body".
//! - Objects are objects: serde's derive would also build a struct from a JSON array of its
//!   fields in declaration order (`["EUR"]` for `{"currency":"EUR"}`). Every request body is
//!   parsed through [`Strict`], which asks the parser for a map wherever a struct is wanted,
//!   at any depth. serde parses an internally tagged enum (`#[serde(tag = ...)]`) through a
//!   buffer [`Strict`] cannot see into: such a field, and each struct field of its variants,
//!   is marked `#[serde(deserialize_with = "crate::json::object")]`.

use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::de::{self, DeserializeOwned, DeserializeSeed, Deserializer, Visitor};
use serde::{Deserialize, Serialize};

use crate::problem::{Problem, ProblemKind};

/// A JSON request body; its rejection is a [`Problem`].
pub struct Body<T>(pub T);

impl<S, T> FromRequest<S> for Body<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = Problem;

    async fn from_request(request: Request, state: &S) -> Result<Body<T>, Problem> {
        let Raw(bytes) = Raw::from_request(request, state).await?;
        from_slice(&bytes).map(Body)
    }
}

/// A JSON request body as bytes (for a route that fingerprints what it was sent), its media
/// type checked and its size bounded; parse it with [`from_slice`].
pub struct Raw(pub Bytes);

impl<S: Send + Sync> FromRequest<S> for Raw {
    type Rejection = Problem;

    async fn from_request(request: Request, state: &S) -> Result<Raw, Problem> {
        require_json(request.headers())?;
        Ok(Raw(bytes(request, state).await?))
    }
}

/// A JSON request body that may be left out: an empty body (whatever its media type) is
/// `None`; any other is held to [`Body`]'s rules.
pub struct Optional<T>(pub Option<T>);

impl<S, T> FromRequest<S> for Optional<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = Problem;

    async fn from_request(request: Request, state: &S) -> Result<Optional<T>, Problem> {
        let json = require_json(request.headers());
        let body = bytes(request, state).await?;
        if body.is_empty() {
            return Ok(Optional(None));
        }
        json?;
        from_slice(&body).map(|value| Optional(Some(value)))
    }
}

/// The request's body, within the route's limit (`DefaultBodyLimit`).
pub(crate) async fn bytes<S: Send + Sync>(request: Request, state: &S) -> Result<Bytes, Problem> {
    Bytes::from_request(request, state).await.map_err(|rejection| {
        let detail = rejection.body_text();
        if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
            Problem::of(ProblemKind::BodyTooLarge, "body_too_large", "Body too large", detail)
        } else {
            Problem::of(ProblemKind::BadRequest, "unreadable_body", "Unreadable body", detail)
        }
    })
}

/// The media type of a request (`type/subtype`, lower case, parameters dropped), if any.
pub(crate) fn media_type(headers: &HeaderMap) -> Option<String> {
    let value = headers.get(header::CONTENT_TYPE)?.to_str().ok()?;
    let essence = value.split(';').next().unwrap_or_default().trim();
    Some(essence.to_ascii_lowercase())
}

/// 415 unless the request says its body is JSON.
fn require_json(headers: &HeaderMap) -> Result<(), Problem> {
    let json = media_type(headers).is_some_and(|media| {
        media == "application/json"
            || media.strip_prefix("application/").is_some_and(|sub| sub.ends_with("+json"))
    });
    if json { Ok(()) } else { Err(unsupported_media_type("send Content-Type: application/json")) }
}

pub(crate) fn unsupported_media_type(detail: &str) -> Problem {
    Problem::of(
        ProblemKind::UnsupportedMediaType,
        "unsupported_media_type",
        "Unsupported media type",
        detail,
    )
}

/// Parses a JSON body already read as bytes, with the same problems as [`Body`].
pub fn from_slice<T: DeserializeOwned>(body: &[u8]) -> Result<T, Problem> {
    let mut parser = serde_json::Deserializer::from_slice(body);
    T::deserialize(Strict(&mut parser)).and_then(|value| parser.end().map(|()| value)).map_err(
        |error| {
            if error.is_syntax() || error.is_eof() {
                let detail = error.to_string();
                Problem::of(ProblemKind::BadRequest, "malformed_json", "Malformed JSON", detail)
            } else {
                let detail = error.to_string();
                Problem::of(ProblemKind::Invalid, "invalid_body", "Invalid body", detail)
            }
        },
    )
}

/// For a field serde reads through a buffer (an internally tagged enum, or a struct inside
/// one of its variants): only a JSON object is taken, and what is inside it is parsed
/// through [`Strict`] again.
pub fn object<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: DeserializeOwned,
{
    let fields = serde_json::Map::<String, serde_json::Value>::deserialize(deserializer)?;
    T::deserialize(Strict(serde_json::Value::Object(fields))).map_err(de::Error::custom)
}

/// A JSON answer with a status.
pub fn reply<T: Serialize>(status: StatusCode, value: &T) -> Response {
    (status, axum::Json(value)).into_response()
}

/// A deserializer that hands a struct only a map: it asks the wrapped one for a map where a
/// struct is wanted, and wraps every deserializer it hands on (elements, values, variants),
/// so the rule holds at any depth.
pub struct Strict<D>(pub D);

/// A visitor whose sequences, maps, options and variants are read through [`Strict`].
struct Wrap<V>(V);

/// A seed that deserializes through [`Strict`].
struct Seed<S>(S);

/// A struct variant's fields, asked for as a map.
struct StructVariant<V>(V);

macro_rules! forward_deserialize {
    ($($method:ident)*) => {$(
        fn $method<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, D::Error> {
            self.0.$method(Wrap(visitor))
        }
    )*};
}

impl<'de, D: Deserializer<'de>> Deserializer<'de> for Strict<D> {
    type Error = D::Error;

    forward_deserialize! {
        deserialize_any deserialize_bool deserialize_i8 deserialize_i16 deserialize_i32
        deserialize_i64 deserialize_i128 deserialize_u8 deserialize_u16 deserialize_u32
        deserialize_u64 deserialize_u128 deserialize_f32 deserialize_f64 deserialize_char
        deserialize_str deserialize_string deserialize_bytes deserialize_byte_buf
        deserialize_option deserialize_unit deserialize_seq deserialize_map
        deserialize_identifier deserialize_ignored_any
    }

    fn deserialize_unit_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        visitor: V,
    ) -> Result<V::Value, D::Error> {
        self.0.deserialize_unit_struct(name, Wrap(visitor))
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        visitor: V,
    ) -> Result<V::Value, D::Error> {
        self.0.deserialize_newtype_struct(name, Wrap(visitor))
    }

    fn deserialize_tuple<V: Visitor<'de>>(
        self,
        len: usize,
        visitor: V,
    ) -> Result<V::Value, D::Error> {
        self.0.deserialize_tuple(len, Wrap(visitor))
    }

    fn deserialize_tuple_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        len: usize,
        visitor: V,
    ) -> Result<V::Value, D::Error> {
        self.0.deserialize_tuple_struct(name, len, Wrap(visitor))
    }

    /// The point of [`Strict`]: a struct is read from a map, never from a sequence.
    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, D::Error> {
        self.0.deserialize_map(Wrap(visitor))
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        name: &'static str,
        variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, D::Error> {
        self.0.deserialize_enum(name, variants, Wrap(visitor))
    }

    fn is_human_readable(&self) -> bool {
        self.0.is_human_readable()
    }
}

macro_rules! forward_visit {
    ($($method:ident($type:ty))*) => {$(
        fn $method<E: de::Error>(self, value: $type) -> Result<V::Value, E> {
            self.0.$method(value)
        }
    )*};
}

impl<'de, V: Visitor<'de>> Visitor<'de> for Wrap<V> {
    type Value = V::Value;

    fn expecting(&self, formatter: &mut std::fmt::Formatter) -> std::fmt::Result {
        self.0.expecting(formatter)
    }

    forward_visit! {
        visit_bool(bool) visit_i8(i8) visit_i16(i16) visit_i32(i32) visit_i64(i64)
        visit_i128(i128) visit_u8(u8) visit_u16(u16) visit_u32(u32) visit_u64(u64)
        visit_u128(u128) visit_f32(f32) visit_f64(f64) visit_char(char) visit_str(&str)
        visit_borrowed_str(&'de str) visit_string(String) visit_bytes(&[u8])
        visit_borrowed_bytes(&'de [u8]) visit_byte_buf(Vec<u8>)
    }

    fn visit_none<E: de::Error>(self) -> Result<V::Value, E> {
        self.0.visit_none()
    }

    fn visit_unit<E: de::Error>(self) -> Result<V::Value, E> {
        self.0.visit_unit()
    }

    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<V::Value, D::Error> {
        self.0.visit_some(Strict(deserializer))
    }

    fn visit_newtype_struct<D: Deserializer<'de>>(
        self,
        deserializer: D,
    ) -> Result<V::Value, D::Error> {
        self.0.visit_newtype_struct(Strict(deserializer))
    }

    fn visit_seq<A: de::SeqAccess<'de>>(self, seq: A) -> Result<V::Value, A::Error> {
        self.0.visit_seq(Wrap(seq))
    }

    fn visit_map<A: de::MapAccess<'de>>(self, map: A) -> Result<V::Value, A::Error> {
        self.0.visit_map(Wrap(map))
    }

    fn visit_enum<A: de::EnumAccess<'de>>(self, data: A) -> Result<V::Value, A::Error> {
        self.0.visit_enum(Wrap(data))
    }
}

impl<'de, A: de::SeqAccess<'de>> de::SeqAccess<'de> for Wrap<A> {
    type Error = A::Error;

    fn next_element_seed<T: DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, A::Error> {
        self.0.next_element_seed(Seed(seed))
    }

    fn size_hint(&self) -> Option<usize> {
        self.0.size_hint()
    }
}

impl<'de, A: de::MapAccess<'de>> de::MapAccess<'de> for Wrap<A> {
    type Error = A::Error;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, A::Error> {
        self.0.next_key_seed(Seed(seed))
    }

    fn next_value_seed<T: DeserializeSeed<'de>>(&mut self, seed: T) -> Result<T::Value, A::Error> {
        self.0.next_value_seed(Seed(seed))
    }

    fn size_hint(&self) -> Option<usize> {
        self.0.size_hint()
    }
}

impl<'de, A: de::EnumAccess<'de>> de::EnumAccess<'de> for Wrap<A> {
    type Error = A::Error;
    type Variant = Wrap<A::Variant>;

    fn variant_seed<T: DeserializeSeed<'de>>(
        self,
        seed: T,
    ) -> Result<(T::Value, Wrap<A::Variant>), A::Error> {
        self.0.variant_seed(Seed(seed)).map(|(value, variant)| (value, Wrap(variant)))
    }
}

impl<'de, A: de::VariantAccess<'de>> de::VariantAccess<'de> for Wrap<A> {
    type Error = A::Error;

    fn unit_variant(self) -> Result<(), A::Error> {
        self.0.unit_variant()
    }

    fn newtype_variant_seed<T: DeserializeSeed<'de>>(self, seed: T) -> Result<T::Value, A::Error> {
        self.0.newtype_variant_seed(Seed(seed))
    }

    fn tuple_variant<V: Visitor<'de>>(self, len: usize, visitor: V) -> Result<V::Value, A::Error> {
        self.0.tuple_variant(len, Wrap(visitor))
    }

    /// A struct variant's content is asked for as a map, like any struct.
    fn struct_variant<V: Visitor<'de>>(
        self,
        _fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, A::Error> {
        self.0.newtype_variant_seed(StructVariant(visitor))
    }
}

impl<'de, S: DeserializeSeed<'de>> DeserializeSeed<'de> for Seed<S> {
    type Value = S::Value;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<S::Value, D::Error> {
        self.0.deserialize(Strict(deserializer))
    }
}

impl<'de, V: Visitor<'de>> DeserializeSeed<'de> for StructVariant<V> {
    type Value = V::Value;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<V::Value, D::Error> {
        deserializer.deserialize_map(Wrap(self.0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, PartialEq, Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Inner {
        a: u32,
    }

    #[derive(Debug, PartialEq, Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Outer {
        inner: Inner,
        maybe: Option<Inner>,
        many: Vec<Inner>,
        kind: Kind,
    }

    #[derive(Debug, PartialEq, Deserialize)]
    #[serde(rename_all = "snake_case")]
    enum Kind {
        Plain,
        Shaped { inner: Inner },
    }

    #[derive(Debug, PartialEq, Deserialize)]
    #[serde(tag = "type", rename_all = "snake_case")]
    enum Tagged {
        Off {
            #[serde(deserialize_with = "object")]
            inner: Inner,
        },
    }

    #[derive(Debug, PartialEq, Deserialize)]
    struct HasTagged {
        #[serde(deserialize_with = "object")]
        tagged: Tagged,
    }

    fn code<T: DeserializeOwned>(json: &str) -> Result<T, &'static str> {
        from_slice::<T>(json.as_bytes()).map_err(|problem| problem.code)
    }

    #[test]
    fn objects_are_taken_and_arrays_for_structs_are_refused_at_any_depth() {
        let good = r#"{"inner":{"a":1},"maybe":{"a":2},"many":[{"a":3}],"kind":{"shaped":{"inner":{"a":4}}}}"#;
        assert!(code::<Outer>(good).is_ok());
        assert!(
            code::<Outer>(r#"{"inner":{"a":1},"maybe":null,"many":[],"kind":"plain"}"#).is_ok()
        );
        for bad in [
            r#"[{"a":1},null,[],"plain"]"#,
            r#"{"inner":[1],"maybe":null,"many":[],"kind":"plain"}"#,
            r#"{"inner":{"a":1},"maybe":[2],"many":[],"kind":"plain"}"#,
            r#"{"inner":{"a":1},"maybe":null,"many":[[3]],"kind":"plain"}"#,
            r#"{"inner":{"a":1},"maybe":null,"many":[],"kind":{"shaped":[[4]]}}"#,
            r#"{"inner":{"a":1},"maybe":null,"many":[],"kind":{"shaped":{"inner":[4]}}}"#,
        ] {
            assert_eq!(code::<Outer>(bad), Err("invalid_body"), "{bad}");
        }
        assert_eq!(code::<Outer>(r#"{"inner":"#), Err("malformed_json"));
        assert_eq!(code::<Outer>(&format!("{good} x")), Err("malformed_json"));
    }

    #[test]
    fn internally_tagged_enums_marked_object_refuse_arrays_too() {
        assert!(code::<HasTagged>(r#"{"tagged":{"type":"off","inner":{"a":1}}}"#).is_ok());
        for bad in [r#"{"tagged":["off",{"a":1}]}"#, r#"{"tagged":{"type":"off","inner":[1]}}"#] {
            assert_eq!(code::<HasTagged>(bad), Err("invalid_body"), "{bad}");
        }
    }
}
