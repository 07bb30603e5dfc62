//! Every bound of the payment provider simulator, in one place.

/// Longest latency a knob may ask for, and the cap on every sample.
pub const LATENCY_MS_MAX: u64 = 60_000;

/// Largest request body a money call reads (they are a few hundred bytes).
pub const BODY_BYTES_MAX: usize = 64 * 1024;

/// Most authorizations plus tombstones one simulator keeps.
pub const RECORDS_MAX: usize = 2_000_000;

/// Most captures, and most refunds, on one authorization.
pub const ENTRIES_PER_AUTHORIZATION_MAX: usize = 1_000;

/// Longest key, reference or card token, in bytes.
pub const TEXT_BYTES_MAX: usize = 256;
