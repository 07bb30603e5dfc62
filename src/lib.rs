//! The `bazaar` library: [`node`], the one assembly of a node (journal, engine, read models,
//! order side, gateway and HTTP, the ordered stop) that `bazaar serve` (`src/main.rs`), the
//! benches and the tests all start.

pub mod node;
