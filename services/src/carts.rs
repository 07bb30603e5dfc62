//! Moving a cart's lines into another (a guest's cart into the customer's, at sign-in).
//!
//! Invariants:
//! - The lines join the target in one decision that also records which source revision they
//!   came from (`MergeFrom`, see the cart's module doc), so the target is never half merged.
//! - The source is emptied only after the target's merge is durable; a failure between the
//!   two leaves the lines in both, never in neither, and the retry merges nothing twice and
//!   then empties the source.
//! - Who may merge which carts is the caller's check (the gateway proves the holder of each).

use bazaar_actors::cart::{Cart, CartCommand, CartRejection, CartReply, CartView};
use bazaar_engine::{Engine, EngineError};

/// Merges `from` (the cart at entity id `from_key`, as read) into the cart at `into_key`, then
/// empties `from`. Answers the target's reply.
pub async fn merge(
    engine: &Engine,
    into_key: &str,
    from_key: &str,
    from: CartView,
) -> Result<Result<CartReply, CartRejection>, EngineError> {
    let command = CartCommand::MergeFrom {
        from: from_key.to_owned(),
        revision: from.revision,
        lines: from.lines,
    };
    let merged = match engine.ask::<Cart>(into_key, command).await? {
        Ok(reply) => reply,
        Err(rejection) => return Ok(Err(rejection)),
    };
    if let Err(rejection) = engine.ask::<Cart>(from_key, CartCommand::Clear).await? {
        return Ok(Err(rejection));
    }
    Ok(Ok(merged))
}
