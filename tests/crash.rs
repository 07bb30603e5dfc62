//! Crash recovery with real processes: a child appends through the engine and prints every
//! acknowledgement; the test SIGKILLs it at a random moment, 20 times on the same data
//! directory, and after each kill reopens the journal and checks that
//! - every acknowledged event is there, and
//! - each entity's events are a gap-free prefix of what was sent to it, with no duplicate.
//!
//! The journal checkpoints every 50 ms (or 256 KiB) over 64 KiB log segments, so kills land
//! both during checkpoints and between them. The engine snapshots every 50 events and
//! compacts (its default), so kills land during compactions too: an entity reads back as its
//! snapshot and the events after it, and both checks stay exact across compaction (a solo
//! entity's snapshot counts its events; the hot entity's keeps every tag), so a compaction
//! that removed an event no snapshot covers shows as a gap or a lost acknowledgement.
//!
//! The child is this same test binary, re-run with `BAZAAR_CRASH_CHILD` set to the data dir.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use bazaar_engine::testkit::{Counter, CounterCommand, CounterEvent};
use bazaar_engine::{Engine, EngineConfig, EngineParts, Entity, NodeId, ShardTable, SystemClock};
use bazaar_persistence::{JournalConfig, SledJournal, Stream, codec};

const CHILD_ENV: &str = "BAZAAR_CRASH_CHILD";
const TEST_NAME: &str = "sigkill_at_random_moments_loses_no_acknowledged_event";
/// Entities each written by one sequential writer: event k carries ordinal k.
const SOLO_ENTITIES: u64 = 16;
/// Writers sharing one hot entity: each event keeps its writer's unique tag in the state.
const HOT_WRITERS: u64 = 8;
const KILLS: usize = 20;

/// Small segments and frequent checkpoints, so a kill lands as often during a checkpoint (sled
/// flushing, the position being recorded, segments being deleted) as between two, where the
/// log's tail must be replayed.
fn busy_journal(dir: &Path) -> JournalConfig {
    JournalConfig {
        segment_bytes: 64 * 1024,
        checkpoint_bytes: 256 * 1024,
        checkpoint_interval_ms: 50,
        ..JournalConfig::new(dir.join("journal"))
    }
}

#[test]
fn sigkill_at_random_moments_loses_no_acknowledged_event() {
    if let Ok(dir) = std::env::var(CHILD_ENV) {
        run_child(Path::new(&dir));
    }
    let seed = SystemTime::now().duration_since(SystemTime::UNIX_EPOCH).unwrap().as_nanos() as u64;
    eprintln!("crash test seed {seed}");
    let mut rng = XorShift(seed | 1);
    let dir = tempfile::tempdir().unwrap();
    let mut acked_solo: BTreeMap<u64, u64> = BTreeMap::new(); // entity -> highest acked ordinal
    let mut acked_hot: BTreeSet<u64> = BTreeSet::new();
    let mut covered = 0;
    for round in 0..KILLS {
        let acks_before_kill = 20 + rng.below(400);
        let mut child = Command::new(std::env::current_exe().unwrap())
            .args(["--exact", TEST_NAME, "--nocapture", "--test-threads=1"])
            .env(CHILD_ENV, dir.path())
            .env("RUST_LOG", "error")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let mut acks = 0;
        let started = Instant::now();
        while acks < acks_before_kill {
            let line = lines.next().expect("child ended early").unwrap();
            let mut words = line.split_whitespace();
            match (words.next(), words.next(), words.next()) {
                (Some("solo"), Some(entity), Some(ordinal)) => {
                    let (entity, ordinal) = (entity.parse().unwrap(), ordinal.parse().unwrap());
                    let best = acked_solo.entry(entity).or_default();
                    *best = (*best).max(ordinal);
                    acks += 1;
                }
                (Some("hot"), Some(tag), None) => {
                    assert!(
                        acked_hot.insert(tag.parse().unwrap()),
                        "tag acknowledged twice: {line}"
                    );
                    acks += 1;
                }
                _ => {} // libtest's own chatter
            }
            assert!(started.elapsed() < Duration::from_secs(60), "child too slow");
        }
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        drop(lines);
        covered = verify(dir.path(), &acked_solo, &acked_hot, round);
    }
    assert!(acked_solo.values().sum::<u64>() > 0 && !acked_hot.is_empty());
    assert!(covered > 0, "the kills landed before any snapshot");
}

/// One entity as read back: how many events its snapshot covers, the values of the events
/// after it (a solo entity's ordinals), and every tag the hot entity keeps (its snapshot's
/// and its later events'), so that its check stays exact across compaction.
#[derive(Default)]
struct ReadBack {
    covered: u64,
    after: Vec<u64>,
    tags: Vec<u64>,
}

impl ReadBack {
    fn total(&self) -> u64 {
        self.covered + self.after.len() as u64
    }

    fn keep(&mut self, text: &str) {
        self.tags.extend(text.split_terminator(',').map(|tag| tag.parse::<u64>().unwrap()));
    }
}

/// Reopens the journal and checks it against what was acknowledged. Returns how many events
/// the hot entity's snapshot covers.
fn verify(
    dir: &Path,
    acked_solo: &BTreeMap<u64, u64>,
    acked_hot: &BTreeSet<u64>,
    round: usize,
) -> u64 {
    let journal = SledJournal::open(busy_journal(dir)).unwrap();
    let mut read: BTreeMap<String, ReadBack> = BTreeMap::new();
    use bazaar_persistence::{Journal, Replayed};
    journal
        .replay_kind(Counter::KIND.code, &mut |id, item| {
            let entity = read.entry(id.to_string()).or_default();
            match item {
                Replayed::Snapshot { state, .. } => {
                    let state: Counter = codec::decode_payload(state).unwrap();
                    entity.covered = state.applied;
                    entity.keep(&state.kept);
                }
                Replayed::Event { payload, .. } => match codec::decode_payload(payload).unwrap() {
                    CounterEvent::Added { padding, .. } => {
                        entity.after.push(u64::from_le_bytes(padding[..8].try_into().unwrap()))
                    }
                    CounterEvent::Kept { text } => entity.keep(&text),
                    other => panic!("the child only adds and keeps, found {other:?}"),
                },
            }
        })
        .unwrap();
    for (entity, &best) in acked_solo {
        let solo = read.remove(&format!("solo-{entity}")).unwrap_or_default();
        // Ordinals count from 1, so a lost or doubled event in what the snapshot covers shows
        // as a sequence after it that does not begin at `covered + 1`.
        let expected: Vec<u64> = (solo.covered + 1..=solo.total()).collect();
        assert_eq!(solo.after, expected, "round {round}: solo-{entity} is not a gap-free prefix");
        assert!(solo.total() >= best, "round {round}: solo-{entity} lost acknowledged {best}");
        // Compaction ran with its snapshot (one log entry): nothing it covers is still held.
        let id = format!("solo-{entity}");
        let held = journal.stored_seqs(Stream::new(Counter::KIND.code, &id)).unwrap();
        assert!(held.iter().all(|&seq| seq > solo.covered), "round {round}: {id} not compacted");
    }
    let hot = read.remove("hot").unwrap_or_default();
    let stored: BTreeSet<u64> = hot.tags.iter().copied().collect();
    assert_eq!(stored.len(), hot.tags.len(), "round {round}: a hot tag is stored twice");
    let lost: Vec<_> = acked_hot.difference(&stored).collect();
    assert!(lost.is_empty(), "round {round}: acknowledged hot tags lost: {lost:?}");
    hot.covered
}

/// The child: writes until killed, printing each acknowledgement after it is received.
fn run_child(dir: &Path) -> ! {
    let runtime =
        tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    runtime.block_on(async {
        let journal = SledJournal::open(busy_journal(dir)).unwrap();
        let engine = Engine::start(EngineParts {
            config: EngineConfig { snapshot_every_events: 50, ..EngineConfig::default() },
            journal: Arc::new(journal),
            clock: Arc::new(SystemClock),
            table: ShardTable::round_robin(16, &[NodeId(1)]),
            transport: None,
        })
        .unwrap();
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<String>();
        for entity in 0..SOLO_ENTITIES {
            let (engine, tx) = (engine.clone(), tx.clone());
            tokio::spawn(async move {
                let id = format!("solo-{entity}");
                let mut ordinal =
                    engine.ask::<Counter>(&id, CounterCommand::Get).await.unwrap().unwrap() as u64;
                loop {
                    ordinal += 1;
                    engine.ask::<Counter>(&id, tagged(ordinal)).await.unwrap().unwrap();
                    let _ = tx.send(format!("solo {entity} {ordinal}"));
                }
            });
        }
        let incarnation = std::process::id() as u64;
        for writer in 0..HOT_WRITERS {
            let (engine, tx) = (engine.clone(), tx.clone());
            tokio::spawn(async move {
                for n in 0u64.. {
                    let tag = (incarnation << 32) | (writer << 24) | n;
                    let keep = CounterCommand::Keep { text: format!("{tag},") };
                    engine.ask::<Counter>("hot", keep).await.unwrap().unwrap();
                    let _ = tx.send(format!("hot {tag}"));
                }
            });
        }
        let mut stdout = std::io::stdout().lock();
        while let Some(line) = rx.recv().await {
            writeln!(stdout, "{line}").unwrap();
            stdout.flush().unwrap();
        }
    });
    unreachable!("the child writes until it is killed")
}

/// `Add 1`, carrying `value` in the first 8 bytes of the padding (200-byte event).
fn tagged(value: u64) -> CounterCommand {
    let mut padding = value.to_le_bytes().to_vec();
    padding.resize(192, 0xAB);
    CounterCommand::Add { amount: 1, padding }
}

struct XorShift(u64);

impl XorShift {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
}
