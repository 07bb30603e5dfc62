//! Routing across nodes through the byte-level transport seam: two engines in one process, each
//! owning half the shards, joined by an in-process transport. An ask made on either node
//! reaches the entity's owner and only the owner journals it.

use std::collections::HashMap;
use std::sync::{Arc, OnceLock};

use bazaar_engine::testkit::{Counter, CounterCommand, CounterRejection, add};
use bazaar_engine::transport::{Forward, ForwardFuture, Transport};
use bazaar_engine::{
    Engine, EngineConfig, EngineError, EngineParts, Entity, ErrorKind, ManualClock, NodeId,
    ShardTable,
};
use bazaar_persistence::{Journal, MemJournal, Stream};

/// Delivers forwarded asks straight to the other engine's `serve_forwarded`.
#[derive(Default)]
struct InProcess {
    nodes: OnceLock<HashMap<NodeId, Engine>>,
}

impl Transport for InProcess {
    fn forward(&self, node: NodeId, ask: Forward) -> ForwardFuture {
        let engine = self.nodes.get().and_then(|nodes| nodes.get(&node)).cloned();
        Box::pin(async move {
            match engine {
                Some(engine) => engine.serve_forwarded(ask).await,
                None => {
                    Err(EngineError::NotOwner { shard: bazaar_engine::ShardId(0), owner: node })
                }
            }
        })
    }
}

fn node(id: u32, journal: Arc<MemJournal>, transport: Arc<InProcess>) -> Engine {
    Engine::start(EngineParts {
        config: EngineConfig { node: NodeId(id), ..EngineConfig::default() },
        journal,
        clock: Arc::new(ManualClock::new(0)),
        table: ShardTable::round_robin(8, &[NodeId(1), NodeId(2)]),
        transport: Some(transport),
    })
    .unwrap()
}

#[tokio::test]
async fn asks_reach_the_owner_from_any_node() {
    let transport = Arc::new(InProcess::default());
    let journals = [Arc::new(MemJournal::default()), Arc::new(MemJournal::default())];
    let one = node(1, journals[0].clone(), transport.clone());
    let two = node(2, journals[1].clone(), transport.clone());
    for engine in [&one, &two] {
        engine.register::<Counter>();
    }
    let _ =
        transport.nodes.set(HashMap::from([(NodeId(1), one.clone()), (NodeId(2), two.clone())]));

    let table = one.shard_table();
    for i in 0..20 {
        let id = format!("c{i}");
        assert_eq!(one.ask::<Counter>(&id, add(2)).await.unwrap().unwrap(), 2);
        assert_eq!(two.ask::<Counter>(&id, add(3)).await.unwrap().unwrap(), 5);
        let rejected =
            two.ask::<Counter>(&id, CounterCommand::AddAtMost { amount: 1, ceiling: 5 }).await;
        assert_eq!(rejected.unwrap(), Err(CounterRejection::WouldExceed { value: 5, ceiling: 5 }));

        let key = bazaar_engine::EntityKey::new(Counter::KIND, id.as_str());
        let owner = table.owner(table.shard_of(&key));
        let (mine, other) = if owner == NodeId(1) { (0, 1) } else { (1, 0) };
        let stream = Stream::new(key.kind.code, &id);
        assert_eq!(
            journals[mine].load(stream).unwrap().last_seq(),
            2,
            "{id} journaled by its owner"
        );
        assert_eq!(
            journals[other].load(stream).unwrap().last_seq(),
            0,
            "{id} not journaled elsewhere"
        );
    }
}

#[tokio::test]
async fn without_a_transport_a_foreign_shard_is_not_owned() {
    let engine = Engine::start(EngineParts {
        config: EngineConfig { node: NodeId(1), ..EngineConfig::default() },
        journal: Arc::new(MemJournal::default()),
        clock: Arc::new(ManualClock::new(0)),
        table: ShardTable::round_robin(8, &[NodeId(1), NodeId(2)]),
        transport: None,
    })
    .unwrap();
    let mut not_owner = 0;
    for i in 0..20 {
        match engine.ask::<Counter>(&format!("c{i}"), add(1)).await {
            Ok(answer) => assert_eq!(answer.unwrap(), 1),
            Err(error) => {
                assert!(matches!(error, EngineError::NotOwner { owner: NodeId(2), .. }), "{error}");
                assert_eq!(error.kind(), ErrorKind::Unavailable);
                not_owner += 1;
            }
        }
    }
    assert!(not_owner > 0 && not_owner < 20, "both nodes own some of 20 keys");
}
