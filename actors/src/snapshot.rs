//! State that grew a field after snapshots of it were written: reading both shapes.
//!
//! The engine stores an entity's state whole (bincode, field by field in declaration order,
//! nothing self-describing), so a field added to a state struct makes every older snapshot of
//! it end early. [`grown_state!`] derives the `Deserialize` that reads the original fields in
//! order and gives each field added later its default when the snapshot ends before it.
//!
//! Invariants:
//! - Fields are only ever added at the end, and each added field's default is what a state
//!   written before it meant (none, empty).
//! - The codec checks that every byte of a record was read, so only the shapes this struct
//!   ever had decode; a truncated newer snapshot still fails its checksum first.

/// Implements `Deserialize` for `$name`, whose fields are `$field`s (present in every
/// snapshot) followed by `$added`s (defaulted when an older snapshot ends before them).
macro_rules! grown_state {
    ($name:ident { $($field:ident),+ $(,)? } added { $($added:ident),+ $(,)? }) => {
        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<$name, D::Error> {
                struct Fields;
                impl<'de> serde::de::Visitor<'de> for Fields {
                    type Value = $name;

                    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                        f.write_str(stringify!($name))
                    }

                    fn visit_seq<A: serde::de::SeqAccess<'de>>(
                        self,
                        mut seq: A,
                    ) -> Result<$name, A::Error> {
                        let mut read = 0;
                        $(
                            let $field = seq.next_element()?.ok_or_else(|| {
                                <A::Error as serde::de::Error>::invalid_length(read, &self)
                            })?;
                            read += 1;
                        )+
                        let _ = read;
                        // The end of an older snapshot: bincode answers an error, not none.
                        $( let $added = seq.next_element().ok().flatten().unwrap_or_default(); )+
                        Ok($name { $($field,)+ $($added,)+ })
                    }
                }
                const FIELDS: &[&str] = &[$(stringify!($field),)+ $(stringify!($added),)+];
                deserializer.deserialize_struct(stringify!($name), FIELDS, Fields)
            }
        }
    };
}

pub(crate) use grown_state;
