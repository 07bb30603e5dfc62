//! The report as a person reads it in a terminal: a table per operation, the business SLIs,
//! the verdict per SLO, the audit, how well the schedule was kept and the simulator's cost.
//!
//! Invariant: a pure rendering of a [`Report`] into text; every failed SLO or check is on a
//! line of its own that starts with `FAIL`.

use std::fmt::Write;

use super::report::{OPERATIONS, Report};

pub fn render(report: &Report) -> String {
    let mut out = String::new();
    let mode = match &report.mode {
        super::report::Mode::Open { rate_per_s } => format!("open loop, base {rate_per_s}/s"),
        super::report::Mode::Closed { clients } => format!("closed loop, {clients} clients"),
    };
    let _ = writeln!(
        out,
        "\nscenario {} (seed {}), {mode}, {:.1} s against {}\n",
        report.scenario, report.seed, report.duration_s, report.target
    );
    let _ = writeln!(
        out,
        "{:<15} {:>8} {:>8} {:>9} {:>9} {:>9} {:>9} {:>9}  errors",
        "operation", "count", "per s", "p50 ms", "p90 ms", "p99 ms", "p99.9 ms", "max ms"
    );
    for name in OPERATIONS {
        let Some(op) = report.operations.get(name) else { continue };
        let errors: Vec<String> = op.errors.iter().map(|(code, n)| format!("{code} {n}")).collect();
        let _ = writeln!(
            out,
            "{name:<15} {:>8} {:>8.1} {:>9.1} {:>9.1} {:>9.1} {:>9.1} {:>9.1}  {}",
            op.count,
            op.per_s,
            op.p50_ms,
            op.p90_ms,
            op.p99_ms,
            op.p999_ms,
            op.max_ms,
            if errors.is_empty() { "-".to_string() } else { errors.join(", ") }
        );
    }
    let s = &report.slis;
    let ms = |v: Option<f64>| v.map_or("-".to_string(), |v| format!("{v:.1} ms"));
    let pct = |v: Option<f64>| v.map_or("-".to_string(), |v| format!("{:.2}%", v * 100.0));
    let _ = writeln!(out, "\nbusiness SLIs");
    let _ = writeln!(
        out,
        "  checkout p95 / p99      {} / {}",
        ms(s.checkout_p95_ms),
        ms(s.checkout_p99_ms)
    );
    let _ = writeln!(
        out,
        "  browse p95 / p99        {} / {}",
        ms(s.browse_p95_ms),
        ms(s.browse_p99_ms)
    );
    let _ = writeln!(out, "  conversion rate         {}", pct(s.conversion_rate));
    let _ = writeln!(out, "  payment success rate    {}", pct(s.payment_success_rate));
    let _ = writeln!(
        out,
        "  buy-box p50 / p99       {} / {}",
        ms(s.buy_box_p50_ms),
        ms(s.buy_box_p99_ms)
    );
    let _ = writeln!(out, "  inventory accuracy      {}", pct(s.inventory_accuracy));
    let _ = writeln!(out, "  availability            {:.4}%", s.availability * 100.0);
    if !report.drills.is_empty() {
        let _ = writeln!(out, "\ndrills");
        for drill in &report.drills {
            let _ = writeln!(out, "  {:>6.1} s  {:<14} {}", drill.at_s, drill.name, drill.detail);
        }
    }
    let _ = writeln!(out, "\nSLOs");
    for slo in &report.slos {
        let verdict = if slo.ok { "ok  " } else { "FAIL" };
        let _ =
            writeln!(out, "{verdict} {:<14} {:<12} actual {}", slo.name, slo.target, slo.actual);
    }
    let _ = writeln!(out, "\naudit");
    for check in &report.audit.checks {
        let verdict = if check.ok { "ok  " } else { "FAIL" };
        let _ = writeln!(out, "{verdict} {:<16} {}", check.name, check.detail);
    }
    let k = &report.schedule;
    let _ = writeln!(
        out,
        "\nschedule: {} requests left late (> {} ms), lag p99 {:.1} ms, max {:.1} ms",
        k.late_requests,
        crate::sim::stats::LATE_US / 1_000,
        k.lag_p99_ms,
        k.lag_max_ms
    );
    let _ = writeln!(out, "simulator CPU: {:.0} µs per request", report.sim_cpu_us_per_request);
    out
}
