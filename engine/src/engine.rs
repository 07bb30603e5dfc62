//! The engine: asks addressed by key, routed to the owning node, served by entity actors.
//!
//! Invariants:
//! - Every ask is bounded: by its shard's in-flight gate (else `Overloaded`), and by
//!   `ask_timeout_ms` (else `Timeout`). No lock is held across an `.await`.
//! - An ask is delivered to exactly one incarnation of its entity; it is re-sent only when the
//!   actor stopped before taking it (so it was never decided).
//! - Each entity kind code belongs to exactly one entity type.

use std::any::TypeId;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, RwLock, Weak};
use std::time::{Duration, Instant};

use bazaar_persistence::{Journal, codec};
use dashmap::DashMap;
use ractor::ActorCell;
use ractor::actor::ActorRuntime;
use tokio::sync::{Semaphore, oneshot};

use crate::actor::{Args, EntityActor, EntityMsg};
use crate::clock::Clock;
use crate::config::EngineConfig;
use crate::directory::{Directory, Found};
use crate::entity::{Ack, Answer, Entity, EntityKey};
use crate::error::EngineError;
use crate::limits::{ASK_ATTEMPTS_MAX, ENTITY_ID_BYTES_MAX};
use crate::projection::Projection;
use crate::runtime::Runtime;
use crate::shard::{NodeId, ShardTable};
use crate::transport::{Forward, ForwardFuture, Transport, WireAnswer, WireFailure};

/// A handle to a node's engine; clones share it.
#[derive(Clone)]
pub struct Engine {
    inner: Arc<Inner>,
}

struct Inner {
    rt: Arc<Runtime>,
    table: RwLock<ShardTable>,
    gates: Vec<Semaphore>,
    transport: Option<Arc<dyn Transport>>,
    kinds: DashMap<u16, Registered>,
    shutting_down: AtomicBool,
}

struct Registered {
    type_id: TypeId,
    name: &'static str,
    serve: fn(Engine, Arc<str>, Vec<u8>) -> ForwardFuture,
    metrics: KindMetrics,
}

/// The metrics every ask of one kind records, registered once: looking a labelled metric up
/// by its name on each ask built its key (allocations, a hash) every time.
#[derive(Clone)]
struct KindMetrics {
    asks: metrics::Counter,
    seconds: metrics::Histogram,
}

/// Everything an engine is started with.
pub struct EngineParts {
    pub config: EngineConfig,
    pub journal: Arc<dyn Journal>,
    pub clock: Arc<dyn Clock>,
    pub table: ShardTable,
    pub transport: Option<Arc<dyn Transport>>,
}

impl Engine {
    /// Starts an engine on the current tokio runtime.
    pub fn start(parts: EngineParts) -> Result<Engine, EngineError> {
        let EngineParts { config, journal, clock, table, transport } = parts;
        config
            .validate()
            .map_err(|e| EngineError::Journal(bazaar_persistence::JournalError::Config(e)))?;
        let gates =
            (0..table.shards()).map(|_| Semaphore::new(config.shard_asks_in_flight_max)).collect();
        let directory = Directory::new(config.active_entities_max);
        let projections = Default::default();
        let rt = Arc::new(Runtime { journal, clock, config, directory, projections });
        let inner = Arc::new(Inner {
            rt,
            table: RwLock::new(table),
            gates,
            transport,
            kinds: DashMap::new(),
            shutting_down: AtomicBool::new(false),
        });
        spawn_idle_sweeper(Arc::downgrade(&inner));
        Ok(Engine { inner })
    }

    pub fn config(&self) -> &EngineConfig {
        &self.inner.rt.config
    }

    pub fn journal(&self) -> &Arc<dyn Journal> {
        &self.inner.rt.journal
    }

    /// The durable state of the entity `id` of kind `E`, read from the journal without
    /// activating it: every write acknowledged before the call, nothing that is not durable
    /// (what read models show). Blocks on the journal's reads (memory or sled's cache,
    /// microseconds; a disk read when cold).
    pub fn durable_state<E: Entity>(&self, id: &str) -> Result<E, EngineError> {
        let key = EntityKey::new(E::KIND, id);
        Ok(crate::replay::load_entity::<E>(&**self.journal(), &key)?.entity)
    }

    pub fn clock(&self) -> &Arc<dyn Clock> {
        &self.inner.rt.clock
    }

    /// A copy of the shard table.
    pub fn shard_table(&self) -> ShardTable {
        self.inner.table.read().expect("shard table lock").clone()
    }

    /// Entities with a live actor on this node.
    pub fn active_entities(&self) -> usize {
        self.inner.rt.directory.active()
    }

    /// Asks entity `id` of kind `E` to handle `command`, wherever it lives; answered once the
    /// events it wrote are durable.
    pub async fn ask<E: Entity>(&self, id: &str, command: E::Command) -> Answer<E> {
        self.ask_with::<E>(id, command, Ack::Durable).await
    }

    /// [`Engine::ask`], answered once the events are handed to the journal ([`Ack::Appended`]):
    /// for a caller that makes them durable with a later durable write (of any entity: the
    /// journal is one log kept in order) before it answers anyone, and that redoes its work
    /// from the durable events after a crash. An ask served by another node is answered when
    /// durable.
    pub async fn ask_appended<E: Entity>(&self, id: &str, command: E::Command) -> Answer<E> {
        self.ask_with::<E>(id, command, Ack::Appended).await
    }

    /// [`Engine::ask`] or [`Engine::ask_appended`], as `ack` says: for a caller whose steps
    /// are sometimes covered by a later durable write and sometimes not.
    pub async fn ask_with<E: Entity>(&self, id: &str, command: E::Command, ack: Ack) -> Answer<E> {
        if self.inner.shutting_down.load(Ordering::Acquire) {
            return Err(EngineError::ShuttingDown);
        }
        if id.is_empty() || id.len() > ENTITY_ID_BYTES_MAX {
            return Err(EngineError::InvalidId { len: id.len(), max: ENTITY_ID_BYTES_MAX });
        }
        let kind_metrics = self.registered::<E>();
        let key = EntityKey::new(E::KIND, id);
        let (shard, owner) = {
            let table = self.inner.table.read().expect("shard table lock");
            let shard = table.shard_of(&key);
            (shard, table.owner(shard))
        };
        if owner != self.inner.rt.config.node {
            return self.ask_remote::<E>(owner, key, command).await;
        }
        let Ok(_permit) = self.inner.gates[shard.0 as usize].try_acquire() else {
            metrics::counter!("engine_overloaded_total").increment(1);
            let in_flight_max = self.inner.rt.config.shard_asks_in_flight_max;
            return Err(EngineError::Overloaded { shard, in_flight_max });
        };
        kind_metrics.asks.increment(1);
        let started = Instant::now();
        let timeout_ms = self.inner.rt.config.ask_timeout_ms;
        let answer = tokio::time::timeout(
            Duration::from_millis(timeout_ms),
            self.ask_local::<E>(&key, command, ack),
        )
        .await
        .unwrap_or_else(|_| Err(EngineError::Timeout { key: key.to_string(), timeout_ms }));
        kind_metrics.seconds.record(started.elapsed().as_secs_f64());
        answer
    }

    async fn ask_local<E: Entity>(
        &self,
        key: &EntityKey,
        command: E::Command,
        ack: Ack,
    ) -> Answer<E> {
        let directory = &self.inner.rt.directory;
        let mut attempts = 0;
        while attempts < ASK_ATTEMPTS_MAX {
            // Checked again on every attempt: an ask that entered before the shutdown must not
            // activate an entity after `retire_all`.
            if self.inner.shutting_down.load(Ordering::Acquire) {
                return Err(EngineError::ShuttingDown);
            }
            let (found, activated) = directory.find_or_activate(key, || self.spawn::<E>(key))?;
            if activated && directory.begin_eviction() {
                let rt = self.inner.rt.clone();
                tokio::task::spawn_blocking(move || rt.directory.evict_least_recently_used());
            }
            let cell = match found {
                Found::Live(cell) => cell,
                Found::Retiring => {
                    // The old incarnation is writing its snapshot; the ask's timeout bounds this.
                    tokio::time::sleep(Duration::from_millis(1)).await;
                    continue;
                }
            };
            attempts += 1;
            let (reply, answer) = oneshot::channel();
            if cell
                .send_message(EntityMsg::<E>::Ask { command: command.clone(), ack, reply })
                .is_err()
            {
                // The actor died without leaving the directory (a panic skips post_stop).
                directory.remove_dead(key, cell.get_id());
                continue;
            }
            match answer.await {
                Ok(answer) => return answer,
                // Dropped unread: the actor stopped before taking it, so it was never decided.
                Err(_) => continue,
            }
        }
        Err(EngineError::Unstable { key: key.to_string(), attempts })
    }

    fn spawn<E: Entity>(&self, key: &EntityKey) -> Result<ActorCell, EngineError> {
        let args = Args { key: key.clone(), rt: self.inner.rt.clone() };
        let (actor, _started) = ActorRuntime::spawn_instant(None, EntityActor::<E>::new(), args)
            .map_err(|e| EngineError::Recovery { key: key.to_string(), reason: e.to_string() })?;
        Ok(actor.get_cell())
    }

    async fn ask_remote<E: Entity>(
        &self,
        node: NodeId,
        key: EntityKey,
        command: E::Command,
    ) -> Answer<E> {
        let shard = self.inner.table.read().expect("shard table lock").shard_of(&key);
        let Some(transport) = &self.inner.transport else {
            return Err(EngineError::NotOwner { shard, owner: node });
        };
        let codec_error = |source| EngineError::Codec { key: key.to_string(), source };
        let command = codec::encode(&command).map_err(codec_error)?.into_bytes();
        let forward = Forward { kind: E::KIND.code, id: key.id.clone(), command };
        let bytes = transport.forward(node, forward).await?;
        let answer: WireAnswer<E::Reply, E::Rejection> =
            codec::decode(&bytes).map_err(codec_error)?;
        answer.map_err(|failure| EngineError::Remote {
            node,
            kind: failure.kind.into(),
            message: failure.message,
        })
    }

    /// Serves an ask forwarded by another node: decodes it, asks locally, encodes the answer.
    pub async fn serve_forwarded(&self, ask: Forward) -> Result<Vec<u8>, EngineError> {
        let serve = match self.inner.kinds.get(&ask.kind) {
            Some(registered) => registered.serve,
            None => {
                return Err(EngineError::Remote {
                    node: self.inner.rt.config.node,
                    kind: crate::ErrorKind::InvalidInput,
                    message: format!("no entity kind {} is registered here", ask.kind),
                });
            }
        };
        serve(self.clone(), ask.id, ask.command).await
    }

    /// Makes kind `E` servable for forwarded asks. Panics if its code belongs to another type.
    /// Takes the handles of its asks' metrics from the metrics recorder installed then (the
    /// first ask of a kind not registered before registers it).
    pub fn register<E: Entity>(&self) {
        self.registered::<E>();
    }

    /// Registers `E` if it is not yet, and gives its asks' metrics.
    fn registered<E: Entity>(&self) -> KindMetrics {
        if let Some(registered) = self.inner.kinds.get(&E::KIND.code) {
            assert!(
                registered.type_id == TypeId::of::<E>(),
                "entity kind code {} is used by both {} and {}",
                E::KIND.code,
                registered.name,
                E::KIND.name
            );
            return registered.metrics.clone();
        }
        let metrics = KindMetrics {
            asks: metrics::counter!("engine_asks_total", "kind" => E::KIND.name),
            seconds: metrics::histogram!("engine_ask_seconds", "kind" => E::KIND.name),
        };
        let registered = Registered {
            type_id: TypeId::of::<E>(),
            name: E::KIND.name,
            serve: serve_erased::<E>,
            metrics,
        };
        self.inner.kinds.entry(E::KIND.code).or_insert(registered).metrics.clone()
    }

    /// Adds a read model of kind `E`. Register projections before the first ask: an entity
    /// activated earlier keeps the projections it started with.
    pub fn project<E: Entity>(&self, projection: Arc<dyn Projection<E>>) {
        self.inner.rt.projections.add(projection);
    }

    /// Stops taking asks, passivates every entity (each writes its snapshot) and waits until
    /// the journal holds everything, or until `deadline` passes.
    pub async fn shutdown(&self, deadline: Duration) -> Result<(), EngineError> {
        self.inner.shutting_down.store(true, Ordering::Release);
        let directory = &self.inner.rt.directory;
        let until = Instant::now() + deadline;
        directory.retire_all();
        while directory.active() > 0 && Instant::now() < until {
            tokio::time::sleep(Duration::from_millis(5)).await;
            // An ask that passed its check just before the flag was set may still have
            // activated an entity: it is retired too.
            directory.retire_all();
        }
        let journal = self.inner.rt.journal.clone();
        tokio::task::spawn_blocking(move || journal.flush())
            .await
            .map_err(|_| EngineError::ShuttingDown)??;
        let left = directory.active();
        if left > 0 {
            tracing::warn!(left, "entities still active at the shutdown deadline");
        }
        Ok(())
    }
}

fn serve_erased<E: Entity>(engine: Engine, id: Arc<str>, command: Vec<u8>) -> ForwardFuture {
    Box::pin(async move {
        let key = EntityKey::new(E::KIND, id.clone());
        let command: E::Command = codec::decode(&command)
            .map_err(|source| EngineError::Codec { key: key.to_string(), source })?;
        let answer: WireAnswer<E::Reply, E::Rejection> = engine
            .ask::<E>(&id, command)
            .await
            .map_err(|error| WireFailure { kind: error.kind().into(), message: error.to_string() });
        codec::encode(&answer)
            .map(|record| record.into_bytes())
            .map_err(|source| EngineError::Codec { key: key.to_string(), source })
    })
}

/// Passivates idle entities every quarter of `idle_ms`, for as long as the engine lives.
fn spawn_idle_sweeper(inner: Weak<Inner>) {
    tokio::spawn(async move {
        loop {
            let Some(idle_ms) = inner.upgrade().map(|inner| inner.rt.config.idle_ms) else {
                return;
            };
            tokio::time::sleep(Duration::from_millis((idle_ms / 4).clamp(10, 60_000))).await;
            let Some(inner) = inner.upgrade() else { return };
            let retired = inner.rt.directory.retire_idle(idle_ms);
            if retired > 0 {
                tracing::debug!(retired, "passivated idle entities");
            }
        }
    });
}
