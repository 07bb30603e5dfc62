//! The report page's plots: lines over the run's seconds, drawn by `plotters` into SVG text
//! that the page inlines. Each plot marks the drills on its time axis: a dashed vertical line
//! at the drill's second, labelled above the plotting area; the legend has a column of its own
//! right of the plotting area, so neither label nor legend hides a line.
//!
//! Invariants:
//! - No drawing code of our own: axes, lines, legend and labels are plotters elements; the text
//!   they carry is escaped by plotters' SVG backend, so a name from the report cannot become
//!   markup.
//! - A missing value is a gap, not a zero: [`Series`] points are split where seconds are
//!   missing, so a second with no answer of an operation draws no latency.
//! - A plot that cannot be drawn returns its error text, which the page shows in its place.

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::DrillMark;

/// One line of a plot.
pub(super) struct Series {
    pub label: String,
    pub color: RGBColor,
    /// `(second, value)` in increasing seconds; non-finite values are left out.
    pub points: Vec<(f64, f64)>,
    /// Points further apart than this many seconds are not joined.
    pub gap_s: f64,
}

/// One plot: a title, a value axis and its lines, over `[0, x_end_s]`.
pub(super) struct Plot<'a> {
    pub title: String,
    pub y_label: &'a str,
    pub x_end_s: f64,
    pub series: Vec<Series>,
    pub drills: &'a [DrillMark],
    pub size: (u32, u32),
}

/// The colours of lines, in order: distinct for a reader with the common colour blindnesses
/// (Tableau 10).
pub(super) const PALETTE: [RGBColor; 7] = [
    RGBColor(0x4e, 0x79, 0xa7),
    RGBColor(0xf2, 0x8e, 0x2b),
    RGBColor(0x59, 0xa1, 0x4f),
    RGBColor(0xe1, 0x57, 0x59),
    RGBColor(0x76, 0xb7, 0xb2),
    RGBColor(0xb0, 0x7a, 0xa1),
    RGBColor(0x9c, 0x75, 0x5f),
];

/// The colour of drill lines and labels.
const DRILL: RGBColor = RGBColor(0x6a, 0x3d, 0x9a);
/// The rows of drill labels above a plot: neighbouring drills alternate between them.
const DRILL_ROWS: usize = 2;
/// Pixels per row of drill labels.
const DRILL_ROW_PX: u32 = 16;
/// The legend's colour swatch, and the width it allows a character of a label (13 px text).
const LEGEND_SWATCH_PX: u32 = 18;
const LEGEND_CHAR_PX: u32 = 8;

/// The plot as an `<svg>` element, or the reason it could not be drawn.
pub(super) fn svg(plot: &Plot) -> Result<String, String> {
    let mut text = String::new();
    {
        let root = SVGBackend::with_string(&mut text, plot.size).into_drawing_area();
        draw(&root, plot).map_err(|error| format!("{error:?}"))?;
        root.present().map_err(|error| format!("{error:?}"))?;
    }
    Ok(text)
}

fn draw<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    plot: &Plot,
) -> Result<(), DrawingAreaErrorKind<DB::ErrorType>> {
    root.fill(&WHITE)?;
    let x_end = plot.x_end_s.max(1.0);
    let y_end = y_end(&plot.series);
    let top = if plot.drills.is_empty() { 8 } else { DRILL_ROW_PX * DRILL_ROWS as u32 + 8 };
    // The legend has its own column right of the plotting area, so it never hides a line.
    let longest = plot.series.iter().map(|series| series.label.chars().count()).max().unwrap_or(0);
    let legend_px = LEGEND_SWATCH_PX + 14 + LEGEND_CHAR_PX * longest as u32;
    // The title first, then the rows of drill labels, then the plotting area.
    let below_title = root.titled(&plot.title, ("sans-serif", 17).into_font().color(&BLACK))?;
    let mut chart = ChartBuilder::on(&below_title)
        .margin(8)
        .margin_top(top)
        .margin_right(legend_px + 8)
        .x_label_area_size(38)
        .y_label_area_size(58)
        .build_cartesian_2d(0f64..x_end, 0f64..y_end)?;
    chart
        .configure_mesh()
        .x_desc("seconds since the load started")
        .y_desc(plot.y_label)
        .label_style(("sans-serif", 13))
        .axis_desc_style(("sans-serif", 13))
        .light_line_style(RGBColor(0xf0, 0xf0, 0xf0))
        .bold_line_style(RGBColor(0xd8, 0xd8, 0xd8))
        .x_labels(12)
        .y_labels(6)
        .x_label_formatter(&|x| tick(*x))
        .y_label_formatter(&|y| tick(*y))
        .draw()?;

    for series in &plot.series {
        let style = series.color.stroke_width(2);
        for run in runs(&series.points, series.gap_s) {
            chart.draw_series(LineSeries::new(run, style))?;
        }
    }
    let drills: Vec<&DrillMark> = plot.drills.iter().filter(|drill| drill.at_s <= x_end).collect();
    for drill in &drills {
        let line = [(drill.at_s, 0.0), (drill.at_s, y_end)];
        chart.draw_series(DashedLineSeries::new(line, 5, 4, DRILL.stroke_width(2)))?;
    }

    // Drill labels and the legend are placed in pixels, outside the plotting area.
    let (right, top_y) = chart.backend_coord(&(x_end, y_end));
    for (n, drill) in drills.iter().enumerate() {
        let (x, _) = chart.backend_coord(&(drill.at_s, y_end));
        let row = (n % DRILL_ROWS) as i32;
        let y = top_y - 4 - (DRILL_ROWS as i32 - 1 - row) * DRILL_ROW_PX as i32;
        // A label right of the middle ends at its line, so it stays inside the picture.
        let (hpos, dx) = if drill.at_s > x_end / 2.0 { (HPos::Right, -3) } else { (HPos::Left, 3) };
        let style = ("sans-serif", 13).into_font().color(&DRILL).pos(Pos::new(hpos, VPos::Bottom));
        root.draw(&Text::new(drill.name.clone(), (x + dx, y), style))?;
    }
    for (n, series) in plot.series.iter().enumerate() {
        let x = right + 14;
        let y = top_y + 8 + 20 * n as i32;
        let swatch = vec![(x, y), (x + LEGEND_SWATCH_PX as i32, y)];
        root.draw(&PathElement::new(swatch, series.color.stroke_width(3)))?;
        let style =
            ("sans-serif", 13).into_font().color(&BLACK).pos(Pos::new(HPos::Left, VPos::Center));
        let at = (x + LEGEND_SWATCH_PX as i32 + 6, y);
        root.draw(&Text::new(series.label.clone(), at, style))?;
    }
    Ok(())
}

/// An axis tick: whole numbers without decimals, thousands separated.
fn tick(value: f64) -> String {
    if value.abs() >= 10.0 || value == value.trunc() {
        let sign = if value.round() < 0.0 { "-" } else { "" };
        format!("{sign}{}", super::html::count(value.abs().round() as u64))
    } else {
        format!("{value:.1}")
    }
}

/// The top of the value axis: a little above the highest point, and never a zero range.
fn y_end(series: &[Series]) -> f64 {
    let high = series
        .iter()
        .flat_map(|series| series.points.iter().map(|(_, y)| *y))
        .filter(|y| y.is_finite())
        .fold(0.0_f64, f64::max);
    if high <= 0.0 { 1.0 } else { high * 1.12 }
}

/// The points split where they are more than `gap_s` apart, non-finite values left out.
fn runs(points: &[(f64, f64)], gap_s: f64) -> Vec<Vec<(f64, f64)>> {
    let mut runs: Vec<Vec<(f64, f64)>> = Vec::new();
    let mut last: Option<f64> = None;
    for &(x, y) in points.iter().filter(|(x, y)| x.is_finite() && y.is_finite()) {
        match (last, runs.last_mut()) {
            (Some(before), Some(run)) if x - before <= gap_s => run.push((x, y)),
            _ => runs.push(vec![(x, y)]),
        }
        last = Some(x);
    }
    runs
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runs_split_at_gaps_and_drop_non_finite_values() {
        let points = [(0.5, 1.0), (1.5, 2.0), (4.5, 3.0), (5.5, f64::NAN), (6.5, 4.0)];
        let runs = runs(&points, 1.5);
        assert_eq!(runs, vec![vec![(0.5, 1.0), (1.5, 2.0)], vec![(4.5, 3.0)], vec![(6.5, 4.0)]]);
    }

    #[test]
    fn ticks_read_as_numbers() {
        assert_eq!(tick(2500.0), "2,500");
        assert_eq!(tick(25.0), "25");
        assert_eq!(tick(0.0), "0");
        assert_eq!(tick(2.5), "2.5");
    }

    #[test]
    fn the_value_axis_is_never_empty() {
        assert_eq!(y_end(&[]), 1.0);
        let series =
            Series { label: "x".into(), color: PALETTE[0], points: vec![(0.5, 10.0)], gap_s: 1.5 };
        assert!((y_end(&[series]) - 11.2).abs() < 1e-9);
    }
}
