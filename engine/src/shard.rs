//! Shards: which node owns which entity.
//!
//! `shard = xxh3(kind code, id) mod S`, with S fixed when the cluster is created. The hash is
//! xxh3-64 over the kind's big-endian code and the id's bytes: stable across builds, platforms
//! and nodes (std's hasher is randomly keyed, so it would not be).
//!
//! Invariant: every shard has exactly one owner in the table; moving a shard moves every entity
//! in it at once.

use std::fmt;

use xxhash_rust::xxh3::Xxh3;

use crate::entity::EntityKey;

/// A node of the cluster, as numbered in `cluster.toml`.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
pub struct NodeId(pub u32);

impl fmt::Display for NodeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// A shard number in `0..S`.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
pub struct ShardId(pub u32);

impl fmt::Display for ShardId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// The shard of an entity among `shards`.
pub fn shard_of(key: &EntityKey, shards: u32) -> ShardId {
    assert!(shards > 0, "a cluster has at least one shard");
    let mut hasher = Xxh3::new();
    hasher.update(&key.kind.code.to_be_bytes());
    hasher.update(key.id.as_bytes());
    ShardId((hasher.digest() % u64::from(shards)) as u32)
}

/// Shard → owning node.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ShardTable {
    owners: Vec<NodeId>,
}

impl ShardTable {
    /// Spreads `shards` shards round-robin over `nodes` (sorted), the layout of a new cluster.
    pub fn round_robin(shards: u32, nodes: &[NodeId]) -> ShardTable {
        assert!(shards > 0 && shards <= crate::limits::SHARDS_MAX, "shard count out of range");
        assert!(!nodes.is_empty(), "a cluster has at least one node");
        let mut nodes = nodes.to_vec();
        nodes.sort();
        let owners = (0..shards as usize).map(|i| nodes[i % nodes.len()]).collect();
        ShardTable { owners }
    }

    pub fn shards(&self) -> u32 {
        self.owners.len() as u32
    }

    pub fn owner(&self, shard: ShardId) -> NodeId {
        self.owners[shard.0 as usize]
    }

    pub fn shard_of(&self, key: &EntityKey) -> ShardId {
        shard_of(key, self.shards())
    }

    /// Moves one shard to another node.
    pub fn assign(&mut self, shard: ShardId, node: NodeId) {
        self.owners[shard.0 as usize] = node;
    }

    /// How many shards each node owns.
    pub fn counts(&self) -> std::collections::BTreeMap<NodeId, usize> {
        let mut counts = std::collections::BTreeMap::new();
        self.owners.iter().for_each(|node| *counts.entry(*node).or_default() += 1);
        counts
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::entity::Kind;

    const K: Kind = Kind::new(9, "thing");
    const PINNED: u32 = 108;

    #[test]
    fn shard_is_stable_and_in_range() {
        let key = EntityKey::new(K, "B00012345");
        let shard = shard_of(&key, 256);
        assert!(shard.0 < 256);
        // Pinned: a change of hash would move every entity of an existing cluster.
        assert_eq!(shard, ShardId(PINNED));
        assert_eq!(shard_of(&key, 1), ShardId(0));
    }

    #[test]
    fn keys_spread_over_shards() {
        let mut seen = vec![0u32; 16];
        for i in 0..16_000 {
            seen[shard_of(&EntityKey::new(K, format!("id-{i}")), 16).0 as usize] += 1;
        }
        assert!(seen.iter().all(|&n| (800..1200).contains(&n)), "{seen:?}");
    }

    #[test]
    fn round_robin_gives_every_node_its_share() {
        let table = ShardTable::round_robin(256, &[NodeId(3), NodeId(1), NodeId(2)]);
        let counts = table.counts();
        assert_eq!(counts.values().sum::<usize>(), 256);
        assert!(counts.values().all(|&n| n == 85 || n == 86));
        assert_eq!(table.owner(ShardId(0)), NodeId(1));
    }
}
