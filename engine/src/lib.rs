//! Bazaar's entity engine: generic entities run as ractor actors, addressed by key, owned by
//! one shard, journaled before they answer. No commerce types, no HTTP.
//!
//! Entry point: [`Engine::start`], then [`Engine::ask`]. A domain aggregate implements
//! [`Entity`] (pure `decide`, infallible `apply`); the engine does the rest: activation from
//! snapshot and journal, group-committed durability, passivation, the bounded active set,
//! back-pressure, time-outs and routing.
//!
//! Architecture invariants:
//! - Entity actors are never cluster-visible; only routers cross nodes, carrying bytes.
//! - A caller hears "ok" only after the events behind it are durable.

mod actor;
pub mod clock;
pub mod config;
mod directory;
mod engine;
pub mod entity;
pub mod error;
pub mod limits;
pub mod projection;
pub mod replay;
mod runtime;
pub mod shard;
pub mod telemetry;
#[cfg(feature = "testkit")]
pub mod testkit;
pub mod transport;

pub use clock::{Clock, ManualClock, SystemClock};
pub use config::EngineConfig;
pub use engine::{Engine, EngineParts};

pub use entity::{Ack, Answer, Ctx, Decision, Entity, EntityKey, Kind};
pub use error::{EngineError, ErrorKind};
pub use projection::{Projection, Publish};
pub use shard::{NodeId, ShardId, ShardTable};
