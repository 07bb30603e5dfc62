//! How an engine runs: the knobs of `cluster.toml`'s `[engine]` table.

use serde::{Deserialize, Serialize};

use crate::Entity;
use crate::limits;
use crate::shard::NodeId;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct EngineConfig {
    /// This node's id: set by the binary from `--node`, not read from the `[engine]` table.
    #[serde(skip)]
    pub node: NodeId,
    /// Entities with a live actor on this node, at most; least recently used go first.
    pub active_entities_max: usize,
    /// An entity untouched this long is passivated (snapshot, then its actor stops).
    pub idle_ms: u64,
    /// A snapshot is written every this many events of an entity (0: only on passivation);
    /// a state whose encoding is over 256 bytes per such event waits one event per 256 bytes.
    pub snapshot_every_events: u64,
    /// Remove the events a snapshot covers, in the snapshot's own journal entry, so the
    /// journal holds each entity's latest snapshot and the events after it: its size follows
    /// the live state, not the history. Kinds that keep their history
    /// ([`Entity::KEEPS_HISTORY`], the audit trail) never compact. Read models and indexes
    /// are rebuilt from snapshots and the events after them, so nothing needs the rest.
    pub compact_on_snapshot: bool,
    /// Longest an ask waits for its answer.
    pub ask_timeout_ms: u64,
    /// Asks in flight per shard, at most; one more is `Overloaded` (HTTP 503).
    pub shard_asks_in_flight_max: usize,
}

impl Default for EngineConfig {
    fn default() -> Self {
        EngineConfig {
            node: NodeId(1),
            active_entities_max: 200_000,
            idle_ms: 600_000,
            snapshot_every_events: 1_000,
            compact_on_snapshot: true,
            ask_timeout_ms: 5_000,
            shard_asks_in_flight_max: 4_096,
        }
    }
}

impl EngineConfig {
    /// Whether a snapshot of kind `E` removes the events it covers.
    pub fn compacts<E: Entity>(&self) -> bool {
        self.compact_on_snapshot && !E::KEEPS_HISTORY
    }

    /// Checks every value against its limit.
    pub fn validate(&self) -> Result<(), String> {
        let check = |name: &str, value: u64, max: u64| {
            if value == 0 || value > max {
                Err(format!("engine.{name} = {value}, must be in 1..={max}"))
            } else {
                Ok(())
            }
        };
        check(
            "active_entities_max",
            self.active_entities_max as u64,
            limits::ACTIVE_ENTITIES_MAX as u64,
        )?;
        check("idle_ms", self.idle_ms, u64::MAX)?;
        check("ask_timeout_ms", self.ask_timeout_ms, limits::ASK_TIMEOUT_MS_MAX)?;
        check(
            "shard_asks_in_flight_max",
            self.shard_asks_in_flight_max as u64,
            limits::SHARD_ASKS_IN_FLIGHT_MAX as u64,
        )
    }
}
