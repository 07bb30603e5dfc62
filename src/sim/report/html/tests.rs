//! The report page on crafted reports: it holds its plots and drill labels, escapes what the
//! report says, shows the verdict, and needs nothing from the network.

use std::collections::BTreeMap;

use super::super::{
    Audit, Check, DrillMark, Mode, OperationSummary, Report, ScheduleKeeping, Second,
    SecondSummary, Slis, SloVerdict,
};
use super::*;

fn summary(count: u64, p99_ms: f64) -> OperationSummary {
    OperationSummary {
        count,
        errors: BTreeMap::from([("payment_unavailable".to_string(), 3)]),
        per_s: count as f64 / 30.0,
        p50_ms: p99_ms / 3.0,
        p90_ms: p99_ms / 2.0,
        p99_ms,
        p999_ms: p99_ms * 1.5,
        max_ms: p99_ms * 2.0,
    }
}

fn second(at_s: u64, checkout: bool) -> Second {
    let mut operations = BTreeMap::from([(
        "search".to_string(),
        SecondSummary { count: 200 + at_s, errors: 0, p50_ms: 4.0, p99_ms: 20.0 + at_s as f64 },
    )]);
    if checkout {
        let errors = if (10..20).contains(&at_s) { 5 } else { 0 };
        operations.insert(
            "checkout".to_string(),
            SecondSummary { count: 30, errors, p50_ms: 60.0, p99_ms: 120.0 },
        );
    }
    Second { at_s, operations }
}

/// Thirty seconds of search and checkout (checkout silent in seconds 22 to 24), a PSP outage
/// from second 10 to 20, a failed SLO and a failed audit check; the scenario's name is markup.
fn crafted() -> Report {
    Report {
        scenario: "<script>alert(1)</script>".to_string(),
        seed: 42,
        mode: Mode::Closed { clients: 64 },
        target: "http://127.0.0.1:8080".to_string(),
        started_at_unix_ms: 1_796_500_000_000,
        duration_s: 30.0,
        operations: BTreeMap::from([
            ("search".to_string(), summary(6_000, 25.0)),
            ("checkout".to_string(), summary(800, 130.0)),
        ]),
        timeline: (0..30).map(|at_s| second(at_s, !(22..25).contains(&at_s))).collect(),
        drills: vec![
            DrillMark { at_s: 10.0, name: "psp_outage".into(), detail: "primary down".into() },
            DrillMark { at_s: 20.0, name: "psp_restored".into(), detail: "primary up".into() },
        ],
        slis: Slis { availability: 0.9991, checkout_p99_ms: Some(130.0), ..Slis::default() },
        slos: vec![
            SloVerdict {
                name: "checkout_p99".into(),
                target: "<= 400 ms".into(),
                actual: "130 ms".into(),
                ok: true,
            },
            SloVerdict {
                name: "availability".into(),
                target: ">= 99.99%".into(),
                actual: "99.91%".into(),
                ok: false,
            },
        ],
        audit: Audit {
            ok: false,
            checks: vec![
                Check { name: "no_oversell".into(), ok: true, detail: "40 SKUs".into() },
                Check {
                    name: "ledger_balanced".into(),
                    ok: false,
                    detail: "order <b>o-1</b> off by 1".into(),
                },
            ],
        },
        schedule: ScheduleKeeping { late_requests: 0, lag_p99_ms: 0.0, lag_max_ms: 0.0 },
        sim_cpu_us_per_request: 41.5,
    }
}

/// The `<svg>...</svg>` elements of a page.
fn svgs(page: &str) -> Vec<&str> {
    page.split("<svg")
        .skip(1)
        .map(|rest| &rest[..rest.find("</svg>").expect("closed svg")])
        .collect()
}

#[test]
fn the_page_holds_a_plot_per_view_each_with_the_drills_marked() {
    let page = render(&crafted());
    let svgs = svgs(&page);
    // Answers and errors of all operations, then latency and throughput of each of the two.
    assert_eq!(svgs.len(), 2 + 2 * 2);
    for svg in &svgs {
        assert!(svg.contains("psp_outage"), "a plot without the outage's label: {svg:.200}");
        assert!(svg.contains("psp_restored"), "a plot without the restore's label");
        assert!(svg.contains("<polyline") || svg.contains("<path"), "a plot without lines");
    }
    assert!(page.contains("checkout: latency"));
    assert!(page.contains("search: answers and errors per second"));
}

#[test]
fn text_from_the_report_is_escaped() {
    let page = render(&crafted());
    assert!(!page.contains("<script"), "the scenario's name became markup");
    assert!(page.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
    assert!(!page.contains("<b>o-1</b>"));
    assert!(page.contains("order &lt;b&gt;o-1&lt;/b&gt; off by 1"));
    assert!(page.contains("&lt;= 400 ms"));
    assert_eq!(escape("a&b\"'"), "a&amp;b&quot;&#39;");
}

#[test]
fn a_failed_slo_or_check_fails_the_page_and_says_which() {
    let page = render(&crafted());
    assert!(page.contains("<span class=\"badge fail\">FAIL</span>"));
    assert!(page.contains("Failed: SLO availability, audit ledger_balanced"));

    let mut report = crafted();
    report.slos.iter_mut().for_each(|slo| slo.ok = true);
    report.audit.checks.iter_mut().for_each(|check| check.ok = true);
    report.audit.ok = true;
    let page = render(&report);
    assert!(page.contains("<span class=\"badge pass\">PASS</span>"));
    assert!(!page.contains("Failed:"));
    assert!(!page.contains("✘"));
}

#[test]
fn the_page_needs_no_network() {
    let page = render(&crafted());
    for needle in ["<script", "<link", "<img", "<iframe", "src=", "@import", "url("] {
        assert!(!page.contains(needle), "the page loads something: {needle}");
    }
}

#[test]
fn the_header_and_tables_carry_the_run() {
    let page = render(&crafted());
    for needle in [
        "closed loop, 64 clients",
        "<dd>42</dd>",
        "<dd>30 s</dd>",
        "2026-12-05 19:46:40 UTC",
        "3 payment_unavailable",
        "99.910%",
        "primary down",
    ] {
        assert!(page.contains(needle), "missing {needle}");
    }
    // Operations in the report's stable order (OPERATIONS), not by name: search first.
    assert!(page.find("<td>search</td>") < page.find("<td>checkout</td>"));
}

#[test]
fn an_empty_run_still_renders() {
    let mut report = crafted();
    report.timeline.clear();
    report.operations.clear();
    report.drills.clear();
    let page = render(&report);
    assert_eq!(svgs(&page).len(), 2);
    assert!(page.contains("nothing to plot"));
}

#[test]
fn figures_are_formatted_for_reading() {
    assert_eq!(count(0), "0");
    assert_eq!(count(1_234_567), "1,234,567");
    assert_eq!(num(12_345.6), "12,346");
    assert_eq!(num(2.346), "2.35");
    assert_eq!(num(23.46), "23.5");
    assert_eq!(num(400.0), "400");
    assert_eq!(num(f64::NAN), "n/a");
    assert_eq!(percent(0.999_95), "99.995%");
    assert_eq!(percent(1.0), "100.0%");
    assert_eq!(utc(0), "1970-01-01 00:00:00 UTC");
    assert_eq!(utc(951_782_400_000), "2000-02-29 00:00:00 UTC");
}
