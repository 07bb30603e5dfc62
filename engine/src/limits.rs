//! Every bound of the engine, in one place. Configured values are checked against these when
//! the engine starts.

/// Most shards a cluster can be created with.
pub const SHARDS_MAX: u32 = 65_536;

/// Most entities active (with a live actor) on one node.
pub const ACTIVE_ENTITIES_MAX: usize = 10_000_000;

/// Most asks waiting on or inside one shard's entities at once; one more is `Overloaded`.
pub const SHARD_ASKS_IN_FLIGHT_MAX: usize = 1 << 20;

/// Longest an ask may wait for its answer.
pub const ASK_TIMEOUT_MS_MAX: u64 = 600_000;

/// How often an ask is re-sent when the entity's actor was stopping under it.
pub const ASK_ATTEMPTS_MAX: u32 = 8;

/// Longest an entity id may be, in bytes (it is part of every journal key).
pub use bazaar_entity::limits::ENTITY_ID_BYTES_MAX;

/// Events since the last snapshot below which a passivating entity writes none: replaying a
/// short stream costs its next activation less than encoding and writing the state costs
/// every passivation (most entities a checkout creates end with under a dozen events).
pub const PASSIVATION_SNAPSHOT_EVENTS_MIN: u64 = 32;

/// Fraction (in percent) of `active_entities_max` that eviction brings the active set down to,
/// so that an O(n) pass of the least recently used runs once per many activations.
pub const EVICT_TO_PERCENT: usize = 90;

/// Most index rows in one journal write while an index is built from the streams
/// (`replay::index_kind`).
pub const INDEX_BUILD_BATCH_ROWS: usize = 4_096;

const _: () = assert!(ENTITY_ID_BYTES_MAX <= bazaar_persistence::limits::ID_BYTES_MAX);
const _: () = assert!(EVICT_TO_PERCENT > 0 && EVICT_TO_PERCENT < 100);
