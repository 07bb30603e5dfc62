//! The engine's and journal's metric names, described once at start so that `/metrics` lists
//! every series from the first scrape, before anything has happened.

/// Describes every metric and registers each at zero.
pub fn describe() {
    use metrics::{describe_counter, describe_gauge, describe_histogram};
    let counters = [
        ("engine_asks_total", "asks handled locally, by entity kind"),
        ("engine_rejections_total", "asks an entity refused (expected outcomes), by kind"),
        ("engine_activations_total", "entity actors started from snapshot and journal, by kind"),
        ("engine_passivations_total", "entity actors stopped (idle, evicted or at rest), by kind"),
        ("engine_overloaded_total", "asks refused because their shard was at its in-flight bound"),
        ("journal_events_total", "events handed to the journal"),
        ("journal_flushes_total", "group commits (log append + fdatasync)"),
        ("journal_failures_total", "journal failures (the journal stays failed after one)"),
    ];
    for (name, help) in counters {
        describe_counter!(name, help);
        metrics::counter!(name).increment(0);
    }
    describe_gauge!("engine_active_entities", "entities with a live actor on this node");
    metrics::gauge!("engine_active_entities").set(0.0);
    describe_gauge!(
        "journal_tail_bytes",
        metrics::Unit::Bytes,
        "record bytes acknowledged and not yet written into sled by a checkpoint"
    );
    metrics::gauge!("journal_tail_bytes").set(0.0);
    describe_histogram!("engine_ask_seconds", metrics::Unit::Seconds, "ask latency, by kind");
    describe_histogram!(
        "journal_flush_seconds",
        metrics::Unit::Seconds,
        "log append + fdatasync latency"
    );
    describe_histogram!(
        "journal_checkpoint_seconds",
        metrics::Unit::Seconds,
        "checkpoint latency (the tail written into sled, sled flush + fsync, position recorded, log purged)"
    );
    describe_histogram!("journal_batch_events", "events per group commit");
}
