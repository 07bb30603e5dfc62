//! The seam between nodes: how an ask for an entity owned elsewhere travels.
//!
//! Only bytes cross it (commands and answers in the codec's versioned records), so the
//! cluster layer (ractor_cluster) never needs the domain's types. A node with no transport
//! answers `NotOwner` for shards it does not own.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::error::{EngineError, ErrorKind};
use crate::shard::NodeId;

/// An encoded command for an entity on another node.
#[derive(Debug, Clone)]
pub struct Forward {
    pub kind: u16,
    pub id: Arc<str>,
    /// The command, as a codec record.
    pub command: Vec<u8>,
}

pub type ForwardFuture = Pin<Box<dyn Future<Output = Result<Vec<u8>, EngineError>> + Send>>;

/// Carries a forwarded ask to its owner and brings back the encoded answer (a codec record of
/// `WireAnswer`), produced there by [`crate::Engine::serve_forwarded`].
pub trait Transport: Send + Sync + 'static {
    fn forward(&self, node: NodeId, ask: Forward) -> ForwardFuture;
}

/// An engine failure as it crosses the wire.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct WireFailure {
    pub kind: WireKind,
    pub message: String,
}

/// [`ErrorKind`] on the wire.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
pub enum WireKind {
    Overloaded,
    Timeout,
    Unavailable,
    InvalidInput,
    Internal,
}

impl From<ErrorKind> for WireKind {
    fn from(kind: ErrorKind) -> WireKind {
        match kind {
            ErrorKind::Overloaded => WireKind::Overloaded,
            ErrorKind::Timeout => WireKind::Timeout,
            ErrorKind::Unavailable => WireKind::Unavailable,
            ErrorKind::InvalidInput => WireKind::InvalidInput,
            ErrorKind::Internal => WireKind::Internal,
        }
    }
}

impl From<WireKind> for ErrorKind {
    fn from(kind: WireKind) -> ErrorKind {
        match kind {
            WireKind::Overloaded => ErrorKind::Overloaded,
            WireKind::Timeout => ErrorKind::Timeout,
            WireKind::Unavailable => ErrorKind::Unavailable,
            WireKind::InvalidInput => ErrorKind::InvalidInput,
            WireKind::Internal => ErrorKind::Internal,
        }
    }
}

/// An answer as it crosses the wire.
pub type WireAnswer<R, J> = Result<Result<R, J>, WireFailure>;
