//! How a subscription's deliveries went, as its tenant sees it: counts since this node
//! started and the last [`DELIVERIES_REMEMBERED`] attempts. In memory: a restart begins the
//! counts anew (what is undelivered is in the orders' outboxes, not here).

use std::collections::VecDeque;

use serde::Serialize;

/// Attempts each subscription remembers, newest last.
pub const DELIVERIES_REMEMBERED: usize = 50;

#[derive(Debug, Clone, Default, Serialize)]
pub struct DeliveryStats {
    /// Notices its receiver acknowledged (a 2xx).
    pub delivered: u64,
    /// Attempts that failed (a non-2xx, a time-out, no connection); each is retried.
    pub failed_attempts: u64,
    /// Notices given up on after the last attempt allowed.
    pub dead_lettered: u64,
    pub last_delivered_at_ms: Option<u64>,
    pub last_error: Option<String>,
    pub recent: VecDeque<Attempt>,
}

/// One attempt at one notice.
#[derive(Debug, Clone, Serialize)]
pub struct Attempt {
    pub event_id: String,
    pub event_type: &'static str,
    /// From 1.
    pub attempt: u32,
    pub at_ms: u64,
    /// The receiver's status, if it answered.
    pub status: Option<u16>,
    /// `delivered`, `failed` (retried later) or `dead_lettered`.
    pub outcome: &'static str,
}

impl DeliveryStats {
    pub(super) fn record(&mut self, attempt: Attempt, error: Option<String>) {
        match attempt.outcome {
            "delivered" => {
                self.delivered += 1;
                self.last_delivered_at_ms = Some(attempt.at_ms);
            }
            "dead_lettered" => {
                self.failed_attempts += 1;
                self.dead_lettered += 1;
            }
            _ => self.failed_attempts += 1,
        }
        if error.is_some() {
            self.last_error = error;
        }
        if self.recent.len() == DELIVERIES_REMEMBERED {
            self.recent.pop_front();
        }
        self.recent.push_back(attempt);
    }
}
