//! The verdict on each service level objective of the scenario, from the run's summaries.
//!
//! Invariant: pure; an objective on an operation that never ran is judged ok and says so
//! ("none sent"): there is nothing it failed. Availability counts the node's failures (5xx,
//! no answer within the timeout, no connection), not refusals it answered on purpose (a 409
//! out of stock, a 429 rate limit).

use std::collections::BTreeMap;

use super::report::{OperationSummary, SloVerdict};
use super::scenario::Slo;

pub fn verdicts(
    slo: &Slo,
    operations: &BTreeMap<String, OperationSummary>,
    availability: f64,
) -> Vec<SloVerdict> {
    let latency = |name: &str, op: &str, target_ms: f64| match operations.get(op) {
        Some(summary) => SloVerdict {
            name: name.to_string(),
            target: format!("<= {target_ms} ms"),
            actual: format!("{:.1} ms", summary.p99_ms),
            ok: summary.p99_ms <= target_ms,
        },
        None => SloVerdict {
            name: name.to_string(),
            target: format!("<= {target_ms} ms"),
            actual: "none sent".to_string(),
            ok: true,
        },
    };
    vec![
        latency("checkout_p99", "checkout", slo.checkout_p99_ms),
        latency("search_p99", "search", slo.search_p99_ms),
        SloVerdict {
            name: "availability".to_string(),
            target: format!(">= {}%", percent(slo.availability)),
            actual: format!("{}%", percent(availability)),
            ok: availability >= slo.availability,
        },
    ]
}

/// A share as a percentage with the digits that matter (99.99, 100).
fn percent(share: f64) -> String {
    let text = format!("{:.3}", share * 100.0);
    text.trim_end_matches('0').trim_end_matches('.').to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn summary(p99_ms: f64) -> OperationSummary {
        OperationSummary { count: 10, p99_ms, ..OperationSummary::default() }
    }

    #[test]
    fn each_objective_is_judged_against_its_target() {
        let mut ops = BTreeMap::new();
        ops.insert("checkout".to_string(), summary(401.0));
        ops.insert("search".to_string(), summary(300.0));
        let verdicts = verdicts(&Slo::default(), &ops, 0.9999);
        let oks: Vec<(&str, bool)> = verdicts.iter().map(|v| (v.name.as_str(), v.ok)).collect();
        assert_eq!(oks, [("checkout_p99", false), ("search_p99", true), ("availability", true)]);
        assert_eq!(verdicts[2].target, ">= 99.99%");
        assert_eq!(verdicts[0].actual, "401.0 ms");
    }

    #[test]
    fn availability_below_target_fails_and_an_absent_operation_passes() {
        let verdicts = verdicts(&Slo::default(), &BTreeMap::new(), 0.9990);
        assert!(verdicts[0].ok && verdicts[0].actual == "none sent");
        assert!(!verdicts[2].ok);
        assert_eq!(verdicts[2].actual, "99.9%");
    }
}
