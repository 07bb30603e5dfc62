//! What every entity actor of a node shares: the journal, the clock, the configuration and
//! the directory.

use std::sync::Arc;

use bazaar_persistence::Journal;

use crate::clock::Clock;
use crate::config::EngineConfig;
use crate::directory::Directory;
use crate::projection::Registry;

pub(crate) struct Runtime {
    pub journal: Arc<dyn Journal>,
    pub clock: Arc<dyn Clock>,
    pub config: EngineConfig,
    pub directory: Directory,
    pub projections: Registry,
}
