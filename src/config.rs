//! `cluster.toml`: the nodes, the shard count, and the engine's and journal's knobs.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use bazaar_engine::{EngineConfig, NodeId, ShardTable};
use bazaar_persistence::JournalConfig;
use serde::Deserialize;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClusterFile {
    pub cluster: ClusterSection,
    pub nodes: Vec<NodeSection>,
    #[serde(default)]
    pub engine: EngineConfig,
    /// The `[journal]` knobs; the journal's path is the data directory's.
    #[serde(default)]
    pub journal: JournalConfig,
    #[serde(default)]
    pub gateway: bazaar_gateway::GatewayConfig,
    #[serde(default)]
    pub pricing: bazaar_gateway::config::PricingConfig,
    /// The payment providers (`--psp` overrides the list) and the client's time-outs.
    #[serde(default)]
    pub payments: bazaar_services::payments::PaymentsConfig,
    #[serde(default)]
    pub checkout: bazaar_services::saga::SagasConfig,
    #[serde(default)]
    pub catalog: bazaar_services::catalog::CatalogConfig,
    /// How a seller's standing follows its score (`[sellers]`).
    #[serde(default)]
    pub sellers: bazaar_actors::seller::StandingRules,
    /// Return windows by category, automatic approval and the labels' carrier (`[returns]`).
    #[serde(default)]
    pub returns: bazaar_actors::order::returns::ReturnRules,
    /// The carriers labels are bought from, and where they call back (`[shipping]`).
    #[serde(default)]
    pub shipping: bazaar_services::carriers::ShippingConfig,
    /// How orders' notices are delivered to webhooks (`[notifications]`).
    #[serde(default)]
    pub notifications: bazaar_services::notify::NotifyConfig,
    /// Where the master key that wraps customers' data keys comes from (`[pii]`).
    #[serde(default)]
    pub pii: PiiSection,
}

/// `[pii]`: the master key comes from `BAZAAR_MASTER_KEY` (64 hex digits), else from
/// `master_key_file`, else from `DIR/pii/master.key`, which the first start generates (mode
/// 0600). Never commit a master key: a copy of it and of the data directory reads every
/// customer's personal data that was not erased.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PiiSection {
    pub master_key_file: Option<PathBuf>,
}

/// The environment variable that gives the master key.
pub const MASTER_KEY_ENV: &str = "BAZAAR_MASTER_KEY";

impl PiiSection {
    /// The master key the environment or the configuration gives, if any.
    pub fn master_key(&self) -> anyhow::Result<Option<bazaar_services::pii::Key>> {
        let (text, from) = match (std::env::var(MASTER_KEY_ENV), &self.master_key_file) {
            (Ok(text), _) => (text, MASTER_KEY_ENV.to_owned()),
            (Err(_), Some(path)) => {
                let text = std::fs::read_to_string(path)
                    .with_context(|| format!("cannot read the master key {}", path.display()))?;
                (text, path.display().to_string())
            }
            (Err(_), None) => return Ok(None),
        };
        match bazaar_services::pii::Key::from_hex(&text) {
            Some(key) => Ok(Some(key)),
            None => bail!("the master key from {from} is not 64 hex digits"),
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClusterSection {
    pub shards: u32,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NodeSection {
    pub id: u32,
    /// Where this node's gateway listens.
    pub http: SocketAddr,
    /// Where this node's cluster endpoint listens (ractor_cluster). Read by the cluster layer,
    /// which is not built yet; parsed now so that configurations are checked today.
    #[allow(dead_code)]
    pub cluster: SocketAddr,
}

impl ClusterFile {
    pub fn read(path: &Path) -> anyhow::Result<ClusterFile> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read the cluster configuration {}", path.display()))?;
        let file: ClusterFile = toml::from_str(&text)
            .with_context(|| format!("invalid cluster configuration {}", path.display()))?;
        file.validate()
            .with_context(|| format!("invalid cluster configuration {}", path.display()))?;
        Ok(file)
    }

    fn validate(&self) -> anyhow::Result<()> {
        let shards = self.cluster.shards;
        if shards == 0 || shards > bazaar_engine::limits::SHARDS_MAX {
            bail!(
                "cluster.shards = {shards}, must be in 1..={}",
                bazaar_engine::limits::SHARDS_MAX
            );
        }
        if self.nodes.is_empty() {
            bail!("no [[nodes]]: a cluster has at least one node");
        }
        let mut ids: Vec<u32> = self.nodes.iter().map(|n| n.id).collect();
        ids.sort_unstable();
        if ids.windows(2).any(|w| w[0] == w[1]) {
            bail!("two [[nodes]] share an id");
        }
        self.engine.validate().map_err(anyhow::Error::msg)?;
        self.payments.validate().map_err(anyhow::Error::msg)?;
        self.checkout.validate().map_err(anyhow::Error::msg)?;
        self.catalog.validate().map_err(anyhow::Error::msg)?;
        self.sellers.validate().map_err(anyhow::Error::msg)?;
        self.returns.validate().map_err(anyhow::Error::msg)?;
        self.gateway.validate().map_err(anyhow::Error::msg)
    }

    /// The node this process runs as: `--node`, or the only/first node listed.
    pub fn node(&self, chosen: Option<u32>) -> anyhow::Result<&NodeSection> {
        match chosen {
            Some(id) => self
                .nodes
                .iter()
                .find(|n| n.id == id)
                .with_context(|| format!("node {id} is not in [[nodes]]")),
            None => Ok(&self.nodes[0]),
        }
    }

    pub fn shard_table(&self) -> ShardTable {
        let nodes: Vec<NodeId> = self.nodes.iter().map(|n| NodeId(n.id)).collect();
        ShardTable::round_robin(self.cluster.shards, &nodes)
    }

    pub fn journal_config(&self, path: PathBuf) -> JournalConfig {
        JournalConfig { path, ..self.journal.clone() }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shipped_configurations_parse() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let single = ClusterFile::read(&root.join("cluster.toml")).unwrap();
        assert_eq!(single.nodes.len(), 1);
        assert_eq!(single.shard_table().shards(), 256);
        let three = ClusterFile::read(&root.join("examples/cluster-3.toml")).unwrap();
        assert_eq!(three.shard_table().counts().len(), 3);
    }

    #[test]
    fn unknown_keys_and_bad_values_are_refused() {
        let base = "[cluster]\nshards = 8\n[[nodes]]\nid = 1\nhttp = \"127.0.0.1:1\"\ncluster = \"127.0.0.1:2\"\n";
        assert!(
            toml::from_str::<ClusterFile>(&format!("{base}[engine]\nidle_msec = 5\n")).is_err()
        );
        // The journal's knobs are the persistence crate's own config: a typo is refused, and
        // the path is never read from the file.
        for journal in ["segment_byte = 5", "path = \"/elsewhere\""] {
            let text = format!("{base}[journal]\n{journal}\n");
            assert!(toml::from_str::<ClusterFile>(&text).is_err(), "{journal}");
        }
        let text = format!("{base}[journal]\ncheckpoint_interval_ms = 50\n");
        let file = toml::from_str::<ClusterFile>(&text).unwrap();
        let config = file.journal_config(PathBuf::from("/data/journal"));
        assert_eq!(config.checkpoint_interval_ms, 50);
        assert_eq!(config.path, PathBuf::from("/data/journal"));
        let zero: ClusterFile =
            toml::from_str(&format!("{base}[engine]\nask_timeout_ms = 0\n")).unwrap();
        assert!(zero.validate().is_err());
        let dup =
            format!("{base}[[nodes]]\nid = 1\nhttp = \"127.0.0.1:3\"\ncluster = \"127.0.0.1:4\"\n");
        assert!(toml::from_str::<ClusterFile>(&dup).unwrap().validate().is_err());
    }
}
