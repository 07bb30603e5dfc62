//! `report.html`: the page a person reads after a `bazaar sim` run. From the top: the verdict
//! and what the run was (scenario, seed, mode, duration), the SLO verdicts and the audit's
//! checks (pass green, fail red, each also spelled out), the per-operation table, the business
//! indicators, then the plots: throughput and errors of every operation over time, and per
//! operation its latency percentiles (p50, p99) and its answers and errors per second, with
//! the drills marked on every time axis.
//!
//! Invariants:
//! - The page is one self-contained file: inline CSS and inline SVG (drawn by `plotters`, see
//!   [`super::plot`]), no script, no external stylesheet, font or image. It opens without a
//!   network.
//! - Every text that comes from the report goes through [`escape`] before it reaches the page
//!   (plot labels are escaped by plotters' SVG backend), so a scenario or drill name cannot
//!   become markup.

use super::plot::{self, PALETTE, Plot, Series};
use super::{Mode, OPERATIONS, OperationSummary, Report};

/// One plot's size in pixels, two to a row on a wide screen.
const PLOT_SIZE: (u32, u32) = (660, 300);
/// The size of the plots of all operations together, one to a row.
const WIDE_PLOT_SIZE: (u32, u32) = (1340, 320);

const STYLE: &str = "\
body{font:14px/1.45 system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;margin:0;\
background:#f4f5f7;color:#1d2330}\
main{max-width:1380px;margin:0 auto;padding:20px 24px 48px}\
h1{font-size:24px;margin:0 0 6px}h2{font-size:18px;margin:28px 0 10px}\
.badge{display:inline-block;padding:3px 14px;border-radius:4px;font-weight:700;color:#fff;\
font-size:18px;vertical-align:middle;margin-left:10px}\
.badge.pass{background:#1e7b34}.badge.fail{background:#b3261e}\
.facts{display:flex;flex-wrap:wrap;gap:6px 28px;margin:10px 0 0;padding:0}\
.facts div{display:flex;gap:6px}.facts dt{color:#5b6270}.facts dd{margin:0;font-weight:600}\
.why{margin:10px 0 0;color:#b3261e;font-weight:600}\
.cols{display:grid;grid-template-columns:repeat(auto-fit,minmax(520px,1fr));gap:0 28px}\
table{border-collapse:collapse;background:#fff;border:1px solid #dde1e6;width:100%}\
th,td{padding:5px 10px;border-bottom:1px solid #e6e9ed;text-align:left;vertical-align:top}\
th{background:#eef0f3;font-weight:600}td.n,th.n{text-align:right;font-variant-numeric:tabular-nums}\
td.ok{color:#1e7b34;font-weight:700}td.bad{color:#b3261e;font-weight:700}\
tr.bad td{background:#fdecea}\
.plots{display:flex;flex-wrap:wrap;gap:12px}\
figure{margin:0;background:#fff;border:1px solid #dde1e6;padding:4px}\
figure svg{display:block;max-width:100%;height:auto}\
.note{color:#5b6270;margin:6px 0 0}";

/// The whole page.
pub fn render(report: &Report) -> String {
    let mut page = String::with_capacity(512 * 1024);
    page.push_str("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n");
    page.push_str("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n");
    page.push_str(&format!("<title>bazaar sim: {}</title>\n", escape(&report.scenario)));
    page.push_str(&format!("<style>{STYLE}</style>\n</head>\n<body>\n<main>\n"));
    header(&mut page, report);
    page.push_str("<div class=\"cols\">\n<section>\n");
    slos(&mut page, report);
    page.push_str("</section>\n<section>\n");
    audit(&mut page, report);
    page.push_str("</section>\n</div>\n");
    operations(&mut page, report);
    page.push_str("<div class=\"cols\">\n<section>\n");
    indicators(&mut page, report);
    page.push_str("</section>\n<section>\n");
    drills(&mut page, report);
    page.push_str("</section>\n</div>\n");
    plots(&mut page, report);
    page.push_str("</main>\n</body>\n</html>\n");
    page
}

/// The text for HTML: `&`, `<`, `>`, `"` and `'` as entities.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

fn passed(report: &Report) -> bool {
    report.audit.ok && report.slos.iter().all(|slo| slo.ok)
}

fn header(page: &mut String, report: &Report) {
    let (class, word) = if passed(report) { ("pass", "PASS") } else { ("fail", "FAIL") };
    page.push_str(&format!(
        "<header>\n<h1>bazaar sim: {}<span class=\"badge {class}\">{word}</span></h1>\n",
        escape(&report.scenario)
    ));
    let mode = match report.mode {
        Mode::Open { rate_per_s } => format!("open loop, base rate {} requests/s", num(rate_per_s)),
        Mode::Closed { clients } => format!("closed loop, {clients} clients"),
    };
    let requests: u64 = report.operations.values().map(|op| op.count).sum();
    let facts = [
        ("seed", report.seed.to_string()),
        ("mode", mode),
        ("duration", format!("{} s", num(report.duration_s))),
        ("requests", count(requests)),
        ("target", report.target.clone()),
        ("started", utc(report.started_at_unix_ms)),
        ("simulator CPU", format!("{} µs per request", num(report.sim_cpu_us_per_request))),
    ];
    page.push_str("<dl class=\"facts\">\n");
    for (name, value) in facts {
        page.push_str(&format!("<div><dt>{name}</dt><dd>{}</dd></div>\n", escape(&value)));
    }
    page.push_str("</dl>\n");
    let failed: Vec<String> = report
        .slos
        .iter()
        .filter(|slo| !slo.ok)
        .map(|slo| format!("SLO {}", slo.name))
        .chain(
            report
                .audit
                .checks
                .iter()
                .filter(|check| !check.ok)
                .map(|c| format!("audit {}", c.name)),
        )
        .collect();
    if !failed.is_empty() {
        page.push_str(&format!("<p class=\"why\">Failed: {}</p>\n", escape(&failed.join(", "))));
    }
    page.push_str("</header>\n");
}

/// A table cell saying pass or fail, in words and colour.
fn verdict(ok: bool) -> &'static str {
    if ok { "<td class=\"ok\">✔ pass</td>" } else { "<td class=\"bad\">✘ fail</td>" }
}

fn row_class(ok: bool) -> &'static str {
    if ok { "<tr>" } else { "<tr class=\"bad\">" }
}

fn slos(page: &mut String, report: &Report) {
    page.push_str("<h2>Service level objectives</h2>\n<table>\n");
    page.push_str("<tr><th>objective</th><th>target</th><th>actual</th><th>verdict</th></tr>\n");
    for slo in &report.slos {
        page.push_str(&format!(
            "{}<td>{}</td><td>{}</td><td>{}</td>{}</tr>\n",
            row_class(slo.ok),
            escape(&slo.name),
            escape(&slo.target),
            escape(&slo.actual),
            verdict(slo.ok)
        ));
    }
    if report.slos.is_empty() {
        page.push_str("<tr><td colspan=\"4\">none judged</td></tr>\n");
    }
    page.push_str("</table>\n");
}

fn audit(page: &mut String, report: &Report) {
    page.push_str("<h2>Audit</h2>\n<table>\n");
    page.push_str("<tr><th>check</th><th>verdict</th><th>detail</th></tr>\n");
    for check in &report.audit.checks {
        page.push_str(&format!(
            "{}<td>{}</td>{}<td>{}</td></tr>\n",
            row_class(check.ok),
            escape(&check.name),
            verdict(check.ok),
            escape(&check.detail)
        ));
    }
    if report.audit.checks.is_empty() {
        page.push_str("<tr><td colspan=\"3\">no check ran</td></tr>\n");
    }
    page.push_str("</table>\n");
}

/// The operations in the report's stable order, then any other name the report holds.
fn ordered(report: &Report) -> Vec<(&str, &OperationSummary)> {
    let known = OPERATIONS.iter().filter_map(|name| {
        report.operations.get_key_value(*name).map(|(name, op)| (name.as_str(), op))
    });
    let other = report
        .operations
        .iter()
        .filter(|(name, _)| !OPERATIONS.contains(&name.as_str()))
        .map(|(name, op)| (name.as_str(), op));
    known.chain(other).collect()
}

fn operations(page: &mut String, report: &Report) {
    page.push_str("<h2>Operations</h2>\n<table>\n<tr><th>operation</th>");
    for head in ["count", "per s", "p50 ms", "p90 ms", "p99 ms", "p99.9 ms", "max ms"] {
        page.push_str(&format!("<th class=\"n\">{head}</th>"));
    }
    page.push_str("<th>errors</th></tr>\n");
    for (name, op) in ordered(report) {
        let errors: u64 = op.errors.values().sum();
        page.push_str(&format!("<tr><td>{}</td>", escape(name)));
        page.push_str(&format!("<td class=\"n\">{}</td>", count(op.count)));
        for value in [op.per_s, op.p50_ms, op.p90_ms, op.p99_ms, op.p999_ms, op.max_ms] {
            page.push_str(&format!("<td class=\"n\">{}</td>", num(value)));
        }
        let detail = op
            .errors
            .iter()
            .map(|(code, n)| format!("{} {}", count(*n), code))
            .collect::<Vec<_>>()
            .join(", ");
        let (class, detail) =
            if errors == 0 { ("", "none".to_string()) } else { (" class=\"bad\"", detail) };
        page.push_str(&format!("<td{class}>{}</td></tr>\n", escape(&detail)));
    }
    page.push_str("</table>\n");
    let schedule = &report.schedule;
    page.push_str(&format!(
        "<p class=\"note\">Latency runs from a request's intended start (open loop) or its send \
         (closed loop) to the whole answer. Requests that left more than {} ms late: {}; lag \
         p99 {} ms, max {} ms.</p>\n",
        crate::sim::stats::LATE_US / 1_000,
        count(schedule.late_requests),
        num(schedule.lag_p99_ms),
        num(schedule.lag_max_ms)
    ));
}

fn indicators(page: &mut String, report: &Report) {
    let slis = &report.slis;
    let ms = |value: Option<f64>| value.map(|v| format!("{} ms", num(v)));
    let share = |value: Option<f64>| value.map(percent);
    let rows = [
        ("checkout p95", ms(slis.checkout_p95_ms)),
        ("checkout p99", ms(slis.checkout_p99_ms)),
        ("browse p95 (product reads, search)", ms(slis.browse_p95_ms)),
        ("browse p99", ms(slis.browse_p99_ms)),
        ("conversion rate", share(slis.conversion_rate)),
        ("payment success rate", share(slis.payment_success_rate)),
        ("buy box p50 (price update to the new winner shown)", ms(slis.buy_box_p50_ms)),
        ("buy box p99", ms(slis.buy_box_p99_ms)),
        ("inventory accuracy", share(slis.inventory_accuracy)),
        ("availability", Some(percent(slis.availability))),
    ];
    page.push_str("<h2>Business indicators</h2>\n<table>\n");
    for (name, value) in rows {
        let value = value.unwrap_or_else(|| "not measured".to_string());
        page.push_str(&format!(
            "<tr><td>{name}</td><td class=\"n\">{}</td></tr>\n",
            escape(&value)
        ));
    }
    page.push_str("</table>\n");
}

fn drills(page: &mut String, report: &Report) {
    page.push_str("<h2>Drills</h2>\n<table>\n");
    page.push_str("<tr><th class=\"n\">at s</th><th>drill</th><th>detail</th></tr>\n");
    for drill in &report.drills {
        page.push_str(&format!(
            "<tr><td class=\"n\">{}</td><td>{}</td><td>{}</td></tr>\n",
            num(drill.at_s),
            escape(&drill.name),
            escape(&drill.detail)
        ));
    }
    if report.drills.is_empty() {
        page.push_str("<tr><td colspan=\"3\">none in this scenario</td></tr>\n");
    }
    page.push_str("</table>\n");
}

/// One value of one operation in each second of the timeline, at the second's middle.
/// `absent` is the value of a second in which the operation had no answer (`None`: a gap).
fn per_second(
    report: &Report,
    name: &str,
    value: impl Fn(&super::SecondSummary) -> f64,
    absent: Option<f64>,
) -> Vec<(f64, f64)> {
    report
        .timeline
        .iter()
        .filter_map(|second| {
            let x = second.at_s as f64 + 0.5;
            match second.operations.get(name).filter(|op| op.count > 0) {
                Some(op) => Some((x, value(op))),
                None => absent.map(|y| (x, y)),
            }
        })
        .collect()
}

fn plots(page: &mut String, report: &Report) {
    let x_end_s = report
        .duration_s
        .max(report.timeline.last().map_or(0.0, |second| second.at_s as f64 + 1.0));
    let names: Vec<&str> = ordered(report).into_iter().map(|(name, _)| name).collect();
    let line = |label: &str, n: usize, points: Vec<(f64, f64)>| Series {
        label: label.to_string(),
        color: PALETTE[n % PALETTE.len()],
        points,
        gap_s: 1.5,
    };
    let figure = |page: &mut String, title: String, y_label: &str, series, size| {
        let plot = Plot { title, y_label, x_end_s, series, drills: &report.drills, size };
        match plot::svg(&plot) {
            Ok(svg) => page.push_str(&format!("<figure>{svg}</figure>\n")),
            Err(error) => page.push_str(&format!(
                "<figure><p class=\"note\">{}: cannot draw: {}</p></figure>\n",
                escape(&plot.title),
                escape(&error)
            )),
        }
    };

    page.push_str("<h2>Over time</h2>\n<div class=\"plots\">\n");
    let all = |value: fn(&super::SecondSummary) -> f64| -> Vec<Series> {
        let series = names.iter().enumerate();
        series.map(|(n, name)| line(name, n, per_second(report, name, value, Some(0.0)))).collect()
    };
    let answers = all(|op| op.count as f64);
    figure(page, "Answers per second, by operation".into(), "answers/s", answers, WIDE_PLOT_SIZE);
    let errors = all(|op| op.errors as f64);
    figure(page, "Errors per second, by operation".into(), "errors/s", errors, WIDE_PLOT_SIZE);
    page.push_str("</div>\n");

    page.push_str("<h2>By operation</h2>\n<div class=\"plots\">\n");
    for name in &names {
        let latency = vec![
            line("p50", 0, per_second(report, name, |op| op.p50_ms, None)),
            line("p99", 1, per_second(report, name, |op| op.p99_ms, None)),
        ];
        figure(page, format!("{name}: latency"), "ms", latency, PLOT_SIZE);
        let throughput = vec![
            line("answers", 0, per_second(report, name, |op| op.count as f64, Some(0.0))),
            line("errors", 3, per_second(report, name, |op| op.errors as f64, Some(0.0))),
        ];
        figure(
            page,
            format!("{name}: answers and errors per second"),
            "per s",
            throughput,
            PLOT_SIZE,
        );
    }
    page.push_str("</div>\n");
    if report.timeline.is_empty() {
        page.push_str("<p class=\"note\">The run recorded no second: nothing to plot.</p>\n");
    }
}

/// A count with thousands separators: `12,345`.
pub(super) fn count(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// A figure with as many decimals as a reader needs at its size.
fn num(value: f64) -> String {
    if !value.is_finite() {
        return "n/a".to_string();
    }
    let magnitude = value.abs();
    if magnitude >= 1000.0 {
        let sign = if value < 0.0 { "-" } else { "" };
        format!("{sign}{}", count(magnitude.round() as u64))
    } else if magnitude >= 100.0 || value == value.trunc() {
        format!("{value:.0}")
    } else if magnitude >= 10.0 {
        format!("{value:.1}")
    } else {
        format!("{value:.2}")
    }
}

/// A share as a percentage, with the decimals an availability objective needs.
fn percent(share: f64) -> String {
    let value = share * 100.0;
    if value > 99.0 && value < 100.0 { format!("{value:.3}%") } else { format!("{value:.1}%") }
}

/// Unix milliseconds as `YYYY-MM-DD HH:MM:SS UTC` (the civil calendar from days, after Howard
/// Hinnant's `civil_from_days`).
fn utc(unix_ms: u64) -> String {
    let seconds = unix_ms / 1000;
    let (days, day_s) = ((seconds / 86_400) as i64, seconds % 86_400);
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    let (hour, minute, second) = (day_s / 3600, day_s / 60 % 60, day_s % 60);
    format!("{year:04}-{month:02}-{day:02} {hour:02}:{minute:02}:{second:02} UTC")
}

#[cfg(test)]
mod tests;
