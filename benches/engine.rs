//! What running entities as ractor actors costs, against the durable journal they stand on.
//! All figures come from one run: `cargo bench --bench engine [-- --quick]`.
//!
//! Every write is one durable 200-byte event (a `Counter` `Add` with padding), and every
//! throughput phase runs 64 tasks for a fixed time (quick 2 s, full 8 s):
//! - `journal_c64_appends_per_s`: each task appends to its own stream straight on a
//!   `SledJournal` and awaits the receipt: the ceiling for durable writes, and the baseline of
//!   `hot_entity_asks_per_s` (every task asks the one entity "hot"; goal: ratio >= 0.5, with
//!   `hot_entity_p99_ms`).
//! - `spread_asks_per_s`: each ask goes to a random one of N active entities (full 100,000,
//!   quick 20,000). `baseline_spread_asks_per_s` does the same asks without actors: a sharded
//!   map of mutex-guarded states (what a `DashMap` is; dashmap is no dependency of the root
//!   package) over a fresh `SledJournal`: decide and apply under the lock, submit the append,
//!   drop the lock, await the receipt. `spread_vs_baseline_ratio` is the price of actors.
//! - `entity_active_bytes`: RSS growth per activated entity over N first asks (`Get`, so no
//!   journal data grows the heap; goal <= 12,288), and `activation_p99_ms`, the latency of
//!   those first asks (64 at a time).
//! - An engine bounded to M active entities (full 20,000, quick 5,000) asked by 3 M distinct
//!   ones: `rss_after_1x_max_bytes`, `rss_after_3x_max_bytes` (should stay near the former) and
//!   `active_after_3x_max_count` once eviction has settled.
//!
//! The two phases of each ratio (journal and hot entity; spread and its baseline) take turns
//! in slices of `SLICE`, the order swapping every round, and each figure sums its phase's
//! slices: the machine may be shared, and phases run one after the other would measure the
//! neighbours' changing load as much as the engine.
//!
//! The memory phases run first, and RSS is read after `malloc_trim`, so that what an earlier
//! phase freed does not count. Journals live under the target directory, a real disk: /tmp may
//! be tmpfs, where an fsync costs nothing.

#[path = "support/mod.rs"]
mod support;

use std::collections::HashMap;
use std::hash::BuildHasher;
use std::ops::Range;
use std::path::Path;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use bazaar_engine::testkit::{Counter, CounterCommand, CounterEvent};
use bazaar_engine::{
    Clock, Ctx, Engine, EngineConfig, EngineParts, Entity, EntityKey, NodeId, ShardTable,
    SystemClock,
};
use bazaar_persistence::{JournalConfig, JournalExt, Record, SledJournal, Stream, codec};
use hdrhistogram::Histogram;
use support::Report;

/// Tasks asking (or appending) at once in every phase.
const TASKS: usize = 64;

/// Padding of each `Add`: the framed event is then `EVENT_BYTES` (5 header bytes, and a bincode
/// payload of variant tag, amount and length, one byte each, before the padding).
const PADDING_BYTES: usize = 192;

const EVENT_BYTES: usize = 200;

/// How long a stopping engine may take to passivate its entities.
const SHUTDOWN_DEADLINE: Duration = Duration::from_secs(60);

/// How long the bounded engine gets to finish evicting before it is counted.
const SETTLE_MAX: Duration = Duration::from_secs(2);

/// How long one phase of a ratio runs before the other takes its turn.
const SLICE: Duration = Duration::from_millis(500);

/// The sizes of one run, quick or full.
struct Sizes {
    run: Duration,
    spread_ids: usize,
    activations: usize,
    bounded_max: usize,
}

fn main() -> anyhow::Result<()> {
    let mut report = Report::new("engine");
    let sizes = Sizes {
        run: report.size(Duration::from_secs(2), Duration::from_secs(8)),
        spread_ids: report.size(20_000, 100_000),
        activations: report.size(20_000, 100_000),
        bounded_max: report.size(5_000, 20_000),
    };
    let event = codec::encode(&CounterEvent::Added { amount: 1, padding: padding() })?;
    assert_eq!(
        event.len(),
        EVENT_BYTES,
        "PADDING_BYTES no longer makes a {EVENT_BYTES}-byte event"
    );
    let scratch = support::scratch_dir("engine")?;
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    runtime.block_on(async {
        activation_memory(&mut report, &scratch.path().join("activate"), sizes.activations).await?;
        bounded_active_set(&mut report, &scratch.path().join("bounded"), sizes.bounded_max).await?;
        hot_entity(&mut report, scratch.path(), sizes.run, event).await?;
        spread(&mut report, scratch.path(), sizes.run, sizes.spread_ids).await
    })?;
    // Stops the entities' actors, which closes their journals, before the directory goes.
    drop(runtime);
    drop(scratch);
    report.ratio(
        "hot_entity_vs_journal_c64_ratio",
        "hot_entity_asks_per_s",
        "journal_c64_appends_per_s",
    );
    report.ratio("spread_vs_baseline_ratio", "spread_asks_per_s", "baseline_spread_asks_per_s");
    report.finish();
    Ok(())
}

/// RSS growth per activated entity and the latency of first asks.
async fn activation_memory(report: &mut Report, dir: &Path, n: usize) -> anyhow::Result<()> {
    let engine = start_engine(dir, 2 * n)?;
    let ids = Arc::new(entity_ids("fresh", n));
    // Runtime, journal and directory are set up before the measurement starts, and the
    // histograms' pages are touched (`histograms` resets them).
    let warmed = engine.ask::<Counter>("warm-up", CounterCommand::Get).await;
    assert!(matches!(warmed, Ok(Ok(_))), "warm-up ask failed: {warmed:?}");
    let histograms = histograms();
    let rss_before = rss_trimmed_bytes();
    let activate = Arc::new(Activate { engine: engine.clone(), ids });
    let run = drive_each(activate, 0..n, histograms).await;
    let rss_after = rss_trimmed_bytes();
    assert_eq!(engine.active_entities(), n + 1, "an activation was evicted or lost");
    report.record("entity_active_bytes", rss_after.saturating_sub(rss_before) as f64 / n as f64);
    report.record("activation_p99_ms", support::quantile_ms(&run.latency, 0.99));
    engine.shutdown(SHUTDOWN_DEADLINE).await?;
    Ok(())
}

/// RSS of an engine bounded to `max` active entities, asked by `max` and then `3 * max`.
async fn bounded_active_set(report: &mut Report, dir: &Path, max: usize) -> anyhow::Result<()> {
    let engine = start_engine(dir, max)?;
    let activate = Arc::new(Activate {
        engine: engine.clone(),
        ids: Arc::new(entity_ids("bounded", 3 * max)),
    });
    drive_each(activate.clone(), 0..max, histograms()).await;
    report.record("rss_after_1x_max_bytes", rss_trimmed_bytes() as f64);
    drive_each(activate, max..3 * max, histograms()).await;
    let settle_until = Instant::now() + SETTLE_MAX;
    while engine.active_entities() > max && Instant::now() < settle_until {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    report.record("rss_after_3x_max_bytes", rss_trimmed_bytes() as f64);
    report.record("active_after_3x_max_count", engine.active_entities() as f64);
    engine.shutdown(SHUTDOWN_DEADLINE).await?;
    Ok(())
}

/// Every task asks the same entity, in turns with the ceiling: durable appends straight on
/// the journal, one stream per task.
async fn hot_entity(
    report: &mut Report,
    scratch: &Path,
    run: Duration,
    event: Record,
) -> anyhow::Result<()> {
    let journal = Arc::new(SledJournal::open(JournalConfig::new(scratch.join("journal")))?);
    let streams = entity_ids("journal", TASKS);
    let next_seq = (0..TASKS).map(|_| AtomicU64::new(1)).collect();
    let appends = Arc::new(JournalAppends { journal, streams, next_seq, event });
    let engine = start_engine(&scratch.join("hot"), 1_000)?;
    let hot = Arc::new(Hot { engine: engine.clone() });
    let (appended, asked) = take_turns(appends, hot, run).await;
    report.record("journal_c64_appends_per_s", appended.per_s());
    report.record("hot_entity_asks_per_s", asked.per_s());
    report.record("hot_entity_p99_ms", support::quantile_ms(&asked.latency, 0.99));
    engine.shutdown(SHUTDOWN_DEADLINE).await?;
    Ok(())
}

/// Asks spread over `n` entities, all activated beforehand, in turns with the same asks
/// without actors.
async fn spread(
    report: &mut Report,
    scratch: &Path,
    run: Duration,
    n: usize,
) -> anyhow::Result<()> {
    let engine = start_engine(&scratch.join("spread"), 2 * n)?;
    let ids = Arc::new(entity_ids("spread", n));
    let activate = Arc::new(Activate { engine: engine.clone(), ids: ids.clone() });
    drive_each(activate, 0..n, histograms()).await;
    let journal = Arc::new(SledJournal::open(JournalConfig::new(scratch.join("base")))?);
    let baseline = Arc::new(Baseline::new(journal, entity_ids("spread", n)));
    let spread = Arc::new(Spread { engine: engine.clone(), ids });
    let (asked, baseline_asked) = take_turns(spread, baseline, run).await;
    report.record("spread_asks_per_s", asked.per_s());
    report.record("baseline_spread_asks_per_s", baseline_asked.per_s());
    engine.shutdown(SHUTDOWN_DEADLINE).await?;
    Ok(())
}

/// Runs `a` and `b` for `run` each, in turns of `SLICE`, swapping which goes first each round.
async fn take_turns<A: Workload, B: Workload>(
    a: Arc<A>,
    b: Arc<B>,
    run: Duration,
) -> (Measured, Measured) {
    let rounds = (run.as_millis() / SLICE.as_millis()).max(1);
    let (mut a_sum, mut b_sum) = (Measured::default(), Measured::default());
    for round in 0..rounds {
        if round % 2 == 0 {
            a_sum.add(drive_for(a.clone(), SLICE).await);
            b_sum.add(drive_for(b.clone(), SLICE).await);
        } else {
            b_sum.add(drive_for(b.clone(), SLICE).await);
            a_sum.add(drive_for(a.clone(), SLICE).await);
        }
    }
    (a_sum, b_sum)
}

/// One kind of work: `TASKS` tasks each call `run_one` over and over.
trait Workload: Send + Sync + 'static {
    /// The `n`th operation of task `task`; panics if it fails (a benchmark measures success).
    fn run_one(&self, task: usize, n: usize) -> impl Future<Output = ()> + Send + '_;
}

/// What a phase measured.
struct Measured {
    elapsed: Duration,
    /// Microseconds per operation.
    latency: Histogram<u64>,
}

impl Default for Measured {
    fn default() -> Measured {
        Measured { elapsed: Duration::ZERO, latency: support::histogram() }
    }
}

impl Measured {
    fn per_s(&self) -> f64 {
        self.latency.len() as f64 / self.elapsed.as_secs_f64()
    }

    /// Adds another slice of the same phase.
    fn add(&mut self, other: Measured) {
        self.elapsed += other.elapsed;
        self.latency.add(other.latency).expect("histograms add up");
    }
}

/// Runs `TASKS` tasks calling `work` until `run` has passed.
async fn drive_for<W: Workload>(work: Arc<W>, run: Duration) -> Measured {
    let until = Instant::now() + run;
    drive(work, histograms(), move |task, n| (Instant::now() < until).then_some((task, n))).await
}

/// Runs `TASKS` tasks calling `work` once for each index of `range`.
async fn drive_each<W: Workload>(
    work: Arc<W>,
    range: Range<usize>,
    histograms: Vec<Histogram<u64>>,
) -> Measured {
    let next = Arc::new(AtomicUsize::new(range.start));
    drive(work, histograms, move |_, _| {
        let index = next.fetch_add(1, Ordering::Relaxed);
        (index < range.end).then_some((0, index))
    })
    .await
}

/// Runs `TASKS` tasks; each asks `next(task, calls so far)` for its next `(task, n)` to run,
/// until it says `None`.
async fn drive<W: Workload>(
    work: Arc<W>,
    histograms: Vec<Histogram<u64>>,
    next: impl Fn(usize, usize) -> Option<(usize, usize)> + Clone + Send + 'static,
) -> Measured {
    assert_eq!(histograms.len(), TASKS);
    let started = Instant::now();
    let tasks: Vec<_> = histograms
        .into_iter()
        .enumerate()
        .map(|(task, mut latency)| {
            let (work, next) = (work.clone(), next.clone());
            tokio::spawn(async move {
                let mut calls = 0;
                while let Some((task, n)) = next(task, calls) {
                    let began = Instant::now();
                    work.run_one(task, n).await;
                    latency.saturating_record(began.elapsed().as_micros() as u64);
                    calls += 1;
                }
                latency
            })
        })
        .collect();
    let mut latency = support::histogram();
    for task in tasks {
        latency.add(task.await.expect("load task panicked")).expect("histograms add up");
    }
    Measured { elapsed: started.elapsed(), latency }
}

/// One histogram per task, every page already touched (by `reset`), so that recording into
/// them does not grow the RSS a memory phase measures.
fn histograms() -> Vec<Histogram<u64>> {
    (0..TASKS)
        .map(|_| {
            let mut histogram = support::histogram();
            histogram.reset();
            histogram
        })
        .collect()
}

/// First asks: a `Get` to each id.
struct Activate {
    engine: Engine,
    ids: Arc<Vec<String>>,
}

impl Workload for Activate {
    async fn run_one(&self, _task: usize, n: usize) {
        let answer = self.engine.ask::<Counter>(&self.ids[n], CounterCommand::Get).await;
        assert!(matches!(answer, Ok(Ok(_))), "get failed: {answer:?}");
    }
}

struct Hot {
    engine: Engine,
}

impl Workload for Hot {
    async fn run_one(&self, _task: usize, _n: usize) {
        let answer = self.engine.ask::<Counter>("hot", add()).await;
        assert!(matches!(answer, Ok(Ok(_))), "add failed: {answer:?}");
    }
}

struct Spread {
    engine: Engine,
    ids: Arc<Vec<String>>,
}

impl Workload for Spread {
    async fn run_one(&self, task: usize, n: usize) {
        let id = &self.ids[pick(task, n, self.ids.len())];
        let answer = self.engine.ask::<Counter>(id, add()).await;
        assert!(matches!(answer, Ok(Ok(_))), "add failed: {answer:?}");
    }
}

struct JournalAppends {
    journal: Arc<SledJournal>,
    streams: Vec<String>,
    /// The seq of each task's next append, carried on from slice to slice.
    next_seq: Vec<AtomicU64>,
    event: Record,
}

impl Workload for JournalAppends {
    async fn run_one(&self, task: usize, _n: usize) {
        let stream = Stream::new(Counter::KIND.code, &self.streams[task]);
        let seq = self.next_seq[task].fetch_add(1, Ordering::Relaxed);
        let receipt = self.journal.append_receipt(stream, seq, vec![self.event.clone()]);
        receipt.await.expect("durable append");
    }
}

/// Entities without actors: a sharded map of mutex-guarded states, as a `DashMap` holds them
/// (and with its default shard count), in front of the journal.
struct Baseline {
    shards: Vec<RwLock<HashMap<String, Mutex<Plain>>>>,
    hasher: std::collections::hash_map::RandomState,
    ids: Vec<String>,
    journal: Arc<SledJournal>,
}

/// One entity's state and the seq its next event gets.
struct Plain {
    counter: Counter,
    next_seq: u64,
}

impl Baseline {
    fn new(journal: Arc<SledJournal>, ids: Vec<String>) -> Baseline {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        let mut baseline = Baseline {
            shards: (0..(cores * 4).next_power_of_two()).map(|_| RwLock::default()).collect(),
            hasher: Default::default(),
            ids: Vec::new(),
            journal,
        };
        for id in &ids {
            let plain = Mutex::new(Plain { counter: Counter::default(), next_seq: 1 });
            baseline.shard(id).write().expect("shard lock").insert(id.clone(), plain);
        }
        baseline.ids = ids;
        baseline
    }

    fn shard(&self, id: &str) -> &RwLock<HashMap<String, Mutex<Plain>>> {
        &self.shards[self.hasher.hash_one(id) as usize % self.shards.len()]
    }
}

impl Workload for Baseline {
    async fn run_one(&self, task: usize, n: usize) {
        let id = &self.ids[pick(task, n, self.ids.len())];
        let key = EntityKey::new(Counter::KIND, id.as_str());
        let receipt = {
            let shard = self.shard(id).read().expect("shard lock");
            let mut plain = shard[id].lock().expect("entity lock");
            let ctx = Ctx { now_ms: SystemClock.now_ms(), key: &key };
            let (events, _reply) = plain.counter.decide(add(), &ctx).expect("add is accepted");
            let records = events.iter().map(|e| codec::encode(e).expect("event encodes")).collect();
            events.iter().for_each(|event| plain.counter.apply(event));
            let first_seq = plain.next_seq;
            plain.next_seq += events.len() as u64;
            self.journal.append_receipt(bazaar_engine::entity::stream(&key), first_seq, records)
        };
        receipt.await.expect("durable append");
    }
}

fn start_engine(dir: &Path, active_entities_max: usize) -> anyhow::Result<Engine> {
    let config = EngineConfig {
        node: NodeId(1),
        active_entities_max,
        idle_ms: 3_600_000,
        snapshot_every_events: 1_000,
        ask_timeout_ms: 30_000,
        shard_asks_in_flight_max: 4 * TASKS,
        ..EngineConfig::default()
    };
    Ok(Engine::start(EngineParts {
        config,
        journal: Arc::new(SledJournal::open(JournalConfig::new(dir))?),
        clock: Arc::new(SystemClock),
        table: ShardTable::round_robin(256, &[NodeId(1)]),
        transport: None,
    })?)
}

/// One durable event of `EVENT_BYTES`.
fn add() -> CounterCommand {
    CounterCommand::Add { amount: 1, padding: padding() }
}

fn padding() -> Vec<u8> {
    vec![0xAB; PADDING_BYTES]
}

fn entity_ids(prefix: &str, n: usize) -> Vec<String> {
    (0..n).map(|i| format!("{prefix}-{i:07}")).collect()
}

/// A random index below `len` for the `n`th ask of `task`, the same in every run (splitmix64).
fn pick(task: usize, n: usize, len: usize) -> usize {
    let mut x = ((task as u64) << 40 | n as u64).wrapping_add(0x9E37_79B9_7F4A_7C15);
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    ((x ^ (x >> 31)) % len as u64) as usize
}

/// RSS once the allocator has handed its free pages back, so that what an earlier phase freed
/// does not count (glibc keeps freed memory mapped otherwise).
fn rss_trimmed_bytes() -> u64 {
    // SAFETY: malloc_trim takes no pointers; it only releases memory the allocator holds free.
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    unsafe {
        libc::malloc_trim(0);
    }
    support::rss_bytes()
}
