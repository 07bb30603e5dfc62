//! The bounds of the contract: what every entity key must fit in.

/// Longest an entity id may be, in bytes (it is part of every journal key).
pub const ENTITY_ID_BYTES_MAX: usize = 256;
