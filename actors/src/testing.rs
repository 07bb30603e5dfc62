//! Given-events, when-command, then-events-or-rejection: a harness for the domain's unit and
//! property tests. No tokio, no journal: just `decide` and `apply` under a hand-set clock.

use bazaar_entity::{Ctx, Decision, Entity, EntityKey};

/// One entity, its key and a clock the test moves.
pub struct Harness<E: Entity> {
    pub state: E,
    pub key: EntityKey,
    pub now_ms: u64,
}

impl<E: Entity> Harness<E> {
    /// A new entity with id `id`, at time 0.
    pub fn new(id: &str) -> Harness<E> {
        Harness { state: E::default(), key: EntityKey::new(E::KIND, id), now_ms: 0 }
    }

    /// An entity built from `events`, as the engine would on activation.
    pub fn given(id: &str, events: impl IntoIterator<Item = E::Event>) -> Harness<E> {
        let mut harness = Harness::<E>::new(id);
        for event in events {
            harness.state.apply(&event);
        }
        harness
    }

    /// Decides without applying: what the command would do.
    pub fn decide(&self, command: E::Command) -> Result<Decision<E>, E::Rejection> {
        let ctx = Ctx { now_ms: self.now_ms, key: &self.key };
        self.state.decide(command, &ctx)
    }

    /// Decides and applies the events, as the engine does.
    pub fn run(&mut self, command: E::Command) -> Result<Decision<E>, E::Rejection> {
        let decision = self.decide(command)?;
        for event in &decision.0 {
            self.state.apply(event);
        }
        Ok(decision)
    }
}
