//! The carrier simulator's bounds.

/// Attempts at posting one tracking event before the simulator gives up on it.
pub const CALLBACK_ATTEMPTS: u32 = 10;

/// The first retry's wait, in ms, doubled after each failure.
pub const CALLBACK_RETRY_MS: u64 = 200;

/// Longest reference or callback URL a label request may carry, in bytes.
pub const LABEL_TEXT_BYTES_MAX: usize = 512;
