//! `bazaar sim` as a load tester meets it: a tiny scenario run for a few seconds against the
//! marketplace it starts itself, with `--report`, whose report.json says what ran and what
//! the audit found; a scenario with a misspelt field, refused with exit 2 naming it; and a
//! run that misses an SLO, which exits 1 naming it.

use std::process::Command;

use serde_json::Value;

use crate::support::root;

/// A few seconds of everything: every operation, a flash sale, a price storm, a PSP outage
/// and auth-only drills. The SLOs are loose: this test checks the report and the exit status,
/// not the machine's speed (the benchmarks do that).
const TINY: &str = r#"
name = "tiny"
duration_s = 5
seed = 42

[catalogue]
products = 24
sellers = 2
customers = 40
offers_per_product = 2
stock_per_sku = 500

[arrival]
profile = "constant"
rate_per_s = 30

[mix]
product_read = 30
search = 20
cart_change = 15
checkout = 15
cancellation = 5
price_update = 10
inventory_feed = 5

[price_storm]
rate_per_s = 10
from_s = 1
for_s = 2

[flash_sale]
stock = 3
rate_per_s = 10
from_s = 1
for_s = 3

[[drills]]
kind = "psp_outage"
psp = 0
at_s = 1
for_s = 2

[[drills]]
kind = "auth_only"
at_s = 2
for_s = 2

[slo]
checkout_p99_ms = 10000
search_p99_ms = 10000
availability = 0.9
"#;

fn sim() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_bazaar"));
    command.arg("sim").current_dir(root());
    command
}

#[test]
fn a_tiny_scenario_runs_audits_and_writes_its_report() {
    let dir = tempfile::tempdir().unwrap();
    let scenario = dir.path().join("tiny.toml");
    std::fs::write(&scenario, TINY).unwrap();
    let report_dir = dir.path().join("report");
    let output = sim()
        .arg("--scenario")
        .arg(&scenario)
        .arg("--report")
        .arg(&report_dir)
        .arg("--quiet")
        .output()
        .unwrap();
    let (stdout, stderr) =
        (String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    assert_eq!(output.status.code(), Some(0), "stdout:\n{stdout}\nstderr:\n{stderr}");
    assert!(stdout.contains("checkout_p99") && stdout.contains("no_oversell"), "{stdout}");

    let report: Value =
        serde_json::from_str(&std::fs::read_to_string(report_dir.join("report.json")).unwrap())
            .unwrap();
    assert_eq!((report["scenario"].as_str(), report["seed"].as_u64()), (Some("tiny"), Some(42)));
    assert_eq!(report["mode"]["kind"], "open");
    assert!(report["target"].as_str().unwrap().starts_with("http://127.0.0.1:"));
    let operations = report["operations"].as_object().unwrap();
    for name in ["product_read", "search", "cart_change", "checkout", "price_update"] {
        let op = &operations[name];
        assert!(op["count"].as_u64().unwrap() > 0, "{name}: {op}");
        assert!(op["p50_ms"].as_f64().unwrap() <= op["p99_ms"].as_f64().unwrap(), "{op}");
    }
    let known = bazaar::sim::report::OPERATIONS;
    assert!(operations.keys().all(|k| known.contains(&k.as_str())), "{operations:?}");
    // Three units of the flash ASIN and ten buyers a second for three seconds: some are out
    // of stock, and the audit finds nothing oversold.
    assert!(operations["checkout"]["errors"]["out_of_stock"].as_u64().unwrap_or(0) > 0, "{report}");
    let timeline = report["timeline"].as_array().unwrap();
    assert!((4..=6).contains(&timeline.len()), "{} seconds", timeline.len());
    let drills: Vec<&str> =
        report["drills"].as_array().unwrap().iter().map(|d| d["name"].as_str().unwrap()).collect();
    assert_eq!(drills, ["psp_outage", "auth_only_on", "psp_restored", "auth_only_off"]);
    let checks = report["audit"]["checks"].as_array().unwrap();
    assert_eq!(checks.len(), 6);
    assert!(report["audit"]["ok"].as_bool().unwrap(), "{}", report["audit"]);
    let slos: Vec<&str> =
        report["slos"].as_array().unwrap().iter().map(|s| s["name"].as_str().unwrap()).collect();
    assert_eq!(slos, ["checkout_p99", "search_p99", "availability"]);
    assert!(report["sim_cpu_us_per_request"].as_f64().unwrap() > 0.0);
    assert!(report["slis"]["conversion_rate"].as_f64().unwrap() > 0.0);
    // The page beside it: its plots inline, the drills marked, nothing to fetch.
    let page = std::fs::read_to_string(report_dir.join("report.html")).unwrap();
    assert!(page.contains("<svg") && page.contains("psp_outage"), "{} bytes", page.len());
    for external in ["<script src", "<link", "@import", "url(http", "<img src=\"http"] {
        assert!(!page.contains(external), "the page loads {external}");
    }
}

#[test]
fn a_scenario_with_a_misspelt_field_is_refused_with_exit_2_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let scenario = dir.path().join("typo.toml");
    std::fs::write(&scenario, TINY.replace("cart_change = 15", "cart_chnage = 15")).unwrap();
    let output = sim().arg("--scenario").arg(&scenario).output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("cart_chnage") && stderr.contains("typo.toml"), "{stderr}");
}

#[test]
fn a_missed_slo_fails_the_run_with_exit_1_and_says_which() {
    let dir = tempfile::tempdir().unwrap();
    let scenario = dir.path().join("strict.toml");
    // No checkout over HTTP answers within a tenth of a millisecond.
    let strict = TINY.replace("checkout_p99_ms = 10000", "checkout_p99_ms = 0.1");
    std::fs::write(&scenario, strict).unwrap();
    let output = sim().arg("--scenario").arg(&scenario).arg("--quiet").output().unwrap();
    let (stdout, stderr) =
        (String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    assert_eq!(output.status.code(), Some(1), "stdout:\n{stdout}\nstderr:\n{stderr}");
    assert!(format!("{stdout}{stderr}").contains("checkout_p99"), "{stdout}\n{stderr}");
}
