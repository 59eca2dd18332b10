//! The sweep's figures: a measure against the first parameter, one line per value of the
//! others (with two parameters, one line per value of the second). [`Metric::ALL`]:
//! availability (with the 95 % interval across runs as a bar at each point), false
//! failovers per year (the trade-off a short deadtime buys), acknowledged writes lost per
//! year (data loss against the protocol). Drawn like the study's figures
//! (`crate::reproduce::plots`): PNG and SVG from one code path, deterministic.

use std::path::Path;

use anyhow::Result;
use plotters::coord::Shift;
use plotters::prelude::*;
use sim::Cell;

use super::{Definition, Row, Value};
use crate::reproduce::plots::{
    AXIS_DESC_PX, Figure, LABEL_PX, LEGEND_PX, TITLE_PX, empty, font, legend_corner, legend_size,
    with_note, write_both,
};

/// Line colours, in order (matplotlib's tab10).
const PALETTE: [RGBColor; 10] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(127, 127, 127),
    RGBColor(188, 189, 34),
    RGBColor(23, 190, 207),
];

/// What a figure plots.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Metric {
    /// The mean availability and its 95 % interval.
    Availability,
    /// False failovers per simulated year (all runs together).
    FalseFailovers,
    /// Acknowledged writes lost per simulated year (all runs together).
    LostWrites,
}

impl Metric {
    /// Every figure, in output order.
    pub(super) const ALL: [Metric; 3] = [
        Metric::Availability,
        Metric::FalseFailovers,
        Metric::LostWrites,
    ];

    /// The file name's start.
    pub(super) fn stem(self) -> &'static str {
        match self {
            Metric::Availability => "availability",
            Metric::FalseFailovers => "false-failovers",
            Metric::LostWrites => "lost-writes",
        }
    }

    fn title(self) -> &'static str {
        match self {
            Metric::Availability => "Availability",
            Metric::FalseFailovers => "False failovers",
            Metric::LostWrites => "Acknowledged writes lost",
        }
    }

    fn y_desc(self) -> &'static str {
        match self {
            Metric::Availability => "availability",
            Metric::FalseFailovers => "false failovers per year",
            Metric::LostWrites => "acknowledged writes lost per year",
        }
    }

    /// (mean, low, high) of a row.
    fn of(self, r: &Row) -> (f64, f64, f64) {
        let s = &r.simulated;
        let years = s.runs as f64 * s.years;
        let per_year = |n: u64| if years > 0.0 { n as f64 / years } else { 0.0 };
        match self {
            Metric::Availability => (s.availability.mean, s.availability.low, s.availability.high),
            Metric::FalseFailovers => {
                let x = per_year(s.false_failovers);
                (x, x, x)
            }
            Metric::LostWrites => {
                let x = per_year(s.lost_writes);
                (x, x, x)
            }
        }
    }
}

/// One line: its label and its points (x, mean, low, high).
struct Line {
    label: String,
    points: Vec<(f64, f64, f64, f64)>,
}

struct SweepFigure {
    metric: Metric,
    title: String,
    x_desc: String,
    /// The first parameter's values when they are not all numbers: x is their index.
    categories: Option<Vec<String>>,
    lines: Vec<Line>,
    note: String,
}

/// Writes `<stem>.png` and `<stem>.svg`: `metric` of `cell`.
pub(super) fn figure(
    def: &Definition,
    rows: &[Row],
    cell: Cell,
    metric: Metric,
    stem: &Path,
) -> Result<()> {
    let first = &def.params[0];
    let numeric = first.values.iter().all(|v| matches!(v, Value::Number(_)));
    let x_of = |v: &Value, i: usize| match v {
        Value::Number(x) if numeric => *x,
        _ => i as f64,
    };
    let mut lines: Vec<Line> = Vec::new();
    for r in rows.iter().filter(|r| {
        r.architecture == cell.architecture
            && r.platform == cell.platform
            && r.service == cell.service
    }) {
        // Lines are told apart by the other parameters that take more than one value.
        let label = def.params[1..]
            .iter()
            .zip(&r.values[1..])
            .filter(|(p, _)| p.values.len() > 1)
            .map(|(p, v)| format!("{} = {v}", p.name))
            .collect::<Vec<_>>()
            .join(", ");
        let label = if !label.is_empty() {
            label
        } else if metric == Metric::Availability {
            "simulated, 95 % interval".to_string()
        } else {
            "simulated".to_string()
        };
        let i = first
            .values
            .iter()
            .position(|v| *v == r.values[0])
            .unwrap_or(0);
        let (m, lo, hi) = metric.of(r);
        let point = (x_of(&r.values[0], i), m, lo, hi);
        match lines.iter_mut().find(|l| l.label == label) {
            Some(l) => l.points.push(point),
            None => lines.push(Line {
                label,
                points: vec![point],
            }),
        }
    }
    let fig = SweepFigure {
        metric,
        title: format!(
            "{} vs {} - {} / {} / {}",
            metric.title(),
            first.name,
            cell.architecture.label(),
            cell.platform.label(),
            cell.service.label()
        ),
        x_desc: first.name.clone(),
        categories: (!numeric).then(|| first.values.iter().map(Value::to_string).collect()),
        lines,
        note: format!(
            "Profile {}, {} run(s) of {} year(s) per point, seed {}; {}",
            def.profile.name,
            def.runs,
            def.years,
            def.seed,
            match metric {
                Metric::Availability => "bars: the 95 % interval of the availability across runs.",
                _ => "all runs of a point together.",
            }
        ),
    };
    write_both(&fig, stem)
}

impl Figure for SweepFigure {
    fn draw<DB: DrawingBackend>(
        &self,
        root: &DrawingArea<DB, Shift>,
    ) -> Result<(), DrawingAreaErrorKind<DB::ErrorType>> {
        if self.lines.is_empty() {
            return empty(root, &self.title, "No points of this cell in the results.");
        }
        root.fill(&WHITE)?;
        let upper = with_note(root, &self.note)?;
        let all = self.lines.iter().flat_map(|l| l.points.iter());
        let (mut x0, mut x1, mut y0, mut y1) = (f64::MAX, f64::MIN, f64::MAX, f64::MIN);
        for &(x, m, lo, hi) in all {
            x0 = x0.min(x);
            x1 = x1.max(x);
            y0 = y0.min(lo.min(m));
            y1 = y1.max(hi.max(m));
        }
        let xpad = if x1 > x0 { (x1 - x0) * 0.05 } else { 0.5 };
        let availability = self.metric == Metric::Availability;
        let ypad = if y1 > y0 {
            (y1 - y0) * 0.1
        } else if availability {
            1e-4
        } else {
            1.0
        };
        let (y0, y1) = if availability {
            (y0 - ypad, (y1 + ypad).min(1.0 + ypad * 0.5))
        } else {
            ((y0 - ypad).max(0.0), y1 + ypad)
        };
        let mut chart = ChartBuilder::on(&upper)
            .caption(&self.title, font(TITLE_PX))
            .margin(15)
            .x_label_area_size(50)
            .y_label_area_size(90)
            .build_cartesian_2d(x0 - xpad..x1 + xpad, y0..y1)?;
        let categories = self.categories.clone();
        let x_fmt = move |x: &f64| match &categories {
            Some(c) => {
                let i = x.round();
                if (x - i).abs() < 1e-6 && i >= 0.0 {
                    c.get(i as usize).cloned().unwrap_or_default()
                } else {
                    String::new()
                }
            }
            None => format!("{x}"),
        };
        let span = y1 - y0;
        let digits = if availability {
            (-(span.log10()).floor() as usize + 2).clamp(3, 9)
        } else {
            (-(span.log10()).floor() as usize + 1).clamp(0, 6)
        };
        chart
            .configure_mesh()
            .x_desc(self.x_desc.as_str())
            .y_desc(self.metric.y_desc())
            .x_labels(
                self.categories
                    .as_ref()
                    .map_or(10, |c| c.len().saturating_mul(4).clamp(2, 40)),
            )
            .y_labels(10)
            .x_label_formatter(&x_fmt)
            .y_label_formatter(&|y| format!("{y:.digits$}"))
            .label_style(font(LABEL_PX))
            .axis_desc_style(font(AXIS_DESC_PX))
            .light_line_style(RGBColor(235, 235, 235))
            .bold_line_style(RGBColor(210, 210, 210))
            .draw()?;
        let mut occupied = Vec::new();
        let base = chart.plotting_area().get_base_pixel();
        let rel = |p: (i32, i32)| (p.0 - base.0, p.1 - base.1);
        for (k, line) in self.lines.iter().enumerate() {
            let colour = PALETTE[k % PALETTE.len()];
            let stroke = colour.stroke_width(2);
            chart.draw_series(LineSeries::new(
                line.points.iter().map(|&(x, m, _, _)| (x, m)),
                stroke,
            ))?;
            for &(x, _, lo, hi) in &line.points {
                chart.draw_series(std::iter::once(PathElement::new(
                    vec![(x, lo), (x, hi)],
                    colour.stroke_width(1),
                )))?;
                let (a, b) = (
                    rel(chart.backend_coord(&(x, hi))),
                    rel(chart.backend_coord(&(x, lo))),
                );
                occupied.push((a.0 - 5, a.1, b.0 + 5, b.1));
            }
            for pair in line.points.windows(2) {
                let a = rel(chart.backend_coord(&(pair[0].0, pair[0].1)));
                let b = rel(chart.backend_coord(&(pair[1].0, pair[1].1)));
                let steps = ((b.0 - a.0).abs().max((b.1 - a.1).abs()) / 4).max(1);
                for s in 0..=steps {
                    let x = a.0 + (b.0 - a.0) * s / steps;
                    let y = a.1 + (b.1 - a.1) * s / steps;
                    occupied.push((x - 2, y - 2, x + 2, y + 2));
                }
            }
            let fill = colour.filled();
            chart
                .draw_series(
                    line.points
                        .iter()
                        .map(|&(x, m, _, _)| Circle::new((x, m), 4, fill)),
                )?
                .label(line.label.clone())
                .legend(move |(x, y)| {
                    EmptyElement::at((x, y))
                        + PathElement::new(vec![(0, 0), (24, 0)], colour.stroke_width(2))
                        + Circle::new((12, 0), 4, fill)
                });
        }
        let labels: Vec<String> = self.lines.iter().map(|l| l.label.clone()).collect();
        let size = legend_size(root, &labels)?;
        let position = legend_corner(&occupied, size, chart.plotting_area().dim_in_pixel());
        chart
            .configure_series_labels()
            .position(position)
            .background_style(WHITE)
            .border_style(RGBColor(120, 120, 120))
            .label_font(font(LEGEND_PX))
            .draw()
    }
}
