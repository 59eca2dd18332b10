//! The study's figures, redrawn from simulated trials.
//!
//! * [`recovery_figure`]: the thesis' figures 4.17 to 4.22, recovery time per trial, one
//!   line per environment, so a reader can put the simulated figure next to the printed
//!   one;
//! * [`phase_breakdown`]: what the thesis never shows, where the recovery time goes
//!   (detection, VM restart, takeover, mount, address, service start) in every cell that
//!   recovered.
//!
//! Every figure is written twice, as PNG (to look at) and SVG (to print and diff). Both are
//! deterministic: nothing in them depends on the clock or on the machine, so the same
//! results give byte-identical files and a regenerated figure only shows up in a diff when
//! the results changed. Text on the PNG is rasterised with DejaVu Sans read from its file
//! at run time (plotters' `ab_glyph` feature): no system font lookup and no fontconfig,
//! and the same font file gives the same pixels. (plotters 0.3.7's `ab_glyph` renderer
//! ignores the glyphs' side bearings, so letter spacing on the PNG is slightly uneven;
//! the SVG leaves text to the viewer and is exact.)

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use anyhow::{Context as _, Result, anyhow};
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use plotters::style::{FontStyle, register_font};
use sim::{Architecture, Cell, FailureClass, Platform, Service, TrialResult};

/// Pixel size of every figure.
pub(crate) const SIZE: (u32, u32) = (1200, 700);
/// The one font family used, in PNG (registered with plotters) and SVG (named in the file).
const FAMILY: &str = "sans-serif";
/// Where distributions put DejaVu Sans, in the order tried.
const FONT_PATHS: [&str; 3] = [
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/TTF/DejaVuSans.ttf",
    "/usr/share/fonts/dejavu/DejaVuSans.ttf",
];

pub(crate) const TITLE_PX: u32 = 26;
pub(crate) const AXIS_DESC_PX: u32 = 18;
pub(crate) const LABEL_PX: u32 = 15;
pub(crate) const LEGEND_PX: u32 = 15;
const NOTE_PX: u32 = 14;
/// Distance between the lines of a note.
const NOTE_LINE: u32 = 20;

/// Registers DejaVu Sans as `sans-serif` with plotters, once per process.
///
/// The outcome is kept, an error too: fonts do not appear while a run is under way.
fn ensure_font() -> Result<()> {
    static FONT: OnceLock<Result<(), String>> = OnceLock::new();
    FONT.get_or_init(|| {
        let Some((path, bytes)) = FONT_PATHS
            .iter()
            .find_map(|p| std::fs::read(p).ok().map(|b| (*p, b)))
        else {
            return Err(format!(
                "no DejaVu Sans font for the figures' text; tried {}; \
                 install it with `apt-get install fonts-dejavu-core`",
                FONT_PATHS.join(", ")
            ));
        };
        // plotters keeps the font for the life of the process; this runs once.
        let bytes: &'static [u8] = Vec::leak(bytes);
        register_font(FAMILY, FontStyle::Normal, bytes)
            .map_err(|_| format!("{path} is not a font plotters can read"))
    })
    .clone()
    .map_err(|e| anyhow!(e))
}

/// `stem` with `.ext` appended (not substituted: a stem like `fig.hardware` keeps its dot).
fn with_ext(stem: &Path, ext: &str) -> PathBuf {
    let mut s = OsString::from(stem.as_os_str());
    s.push(".");
    s.push(ext);
    PathBuf::from(s)
}

/// A figure that can draw itself on any plotters backend, so PNG and SVG share one code
/// path and cannot drift apart.
pub(crate) trait Figure {
    fn draw<DB: DrawingBackend>(
        &self,
        root: &DrawingArea<DB, Shift>,
    ) -> Result<(), DrawingAreaErrorKind<DB::ErrorType>>;
}

/// Writes `<stem>.png` and `<stem>.svg`.
pub(crate) fn write_both(fig: &impl Figure, stem: &Path) -> Result<()> {
    ensure_font()?;
    if let Some(dir) = stem.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)
            .with_context(|| format!("creating the figure directory {}", dir.display()))?;
    }
    let png = with_ext(stem, "png");
    {
        let root = BitMapBackend::new(&png, SIZE).into_drawing_area();
        fig.draw(&root)
            .and_then(|()| root.present())
            .with_context(|| format!("drawing {}", png.display()))?;
    }
    let svg = with_ext(stem, "svg");
    {
        let root = SVGBackend::new(&svg, SIZE).into_drawing_area();
        fig.draw(&root)
            .and_then(|()| root.present())
            .with_context(|| format!("drawing {}", svg.display()))?;
    }
    Ok(())
}

pub(crate) fn font(px: u32) -> TextStyle<'static> {
    (FAMILY, px).into_font().color(&BLACK)
}

/// "hardware" -> "Hardware".
fn capitalised(s: &str) -> String {
    let mut c = s.chars();
    c.next()
        .map(|f| f.to_uppercase().chain(c).collect())
        .unwrap_or_default()
}

/// A fixed colour per environment, so one environment has the same colour in every figure.
fn env_colour(a: Architecture, p: Platform) -> RGBColor {
    match (a, p) {
        (Architecture::SingleNode, Platform::Vmware) => RGBColor(127, 127, 127),
        (Architecture::SingleNode, Platform::OpenStack) => RGBColor(140, 86, 75),
        (Architecture::DrbdHeartbeat, Platform::Vmware) => RGBColor(31, 119, 180),
        (Architecture::DrbdHeartbeat, Platform::OpenStack) => RGBColor(255, 127, 14),
        (Architecture::Combined, Platform::Vmware) => RGBColor(44, 160, 44),
        (Architecture::Combined, Platform::OpenStack) => RGBColor(214, 39, 40),
    }
}

/// A fixed colour per phase name the simulator emits, so a phase keeps its colour in
/// every figure.
fn known_phase_colour(name: &str) -> Option<RGBColor> {
    Some(match name {
        "detection" => RGBColor(214, 39, 40),
        "vm restart" => RGBColor(148, 103, 189),
        "takeover" => RGBColor(255, 127, 14),
        "promotion" => RGBColor(188, 189, 34),
        "mount" => RGBColor(44, 160, 44),
        "address" => RGBColor(23, 190, 207),
        "service start" => RGBColor(31, 119, 180),
        _ => return None,
    })
}

/// Colours for `phases`: the fixed ones, and for names the simulator does not emit today
/// the rest of a palette in order.
fn phase_colours(phases: &[String]) -> Vec<RGBColor> {
    const REST: [RGBColor; 4] = [
        RGBColor(140, 86, 75),
        RGBColor(227, 119, 194),
        RGBColor(127, 127, 127),
        RGBColor(0, 0, 128),
    ];
    let mut unknown = 0;
    phases
        .iter()
        .map(|name| {
            known_phase_colour(name).unwrap_or_else(|| {
                unknown += 1;
                REST[(unknown - 1) % REST.len()]
            })
        })
        .collect()
}

/// Picks the legend corner that covers the least data.
///
/// `occupied` are pixel rectangles relative to the plotting area (x0, y0, x1, y1);
/// `legend` the legend's size in pixels. Ties go to upper right, upper left, lower right,
/// lower left, in that order.
pub(crate) fn legend_corner(
    occupied: &[(i32, i32, i32, i32)],
    legend: (i32, i32),
    area: (u32, u32),
) -> SeriesLabelPosition {
    let (w, h) = legend;
    let (aw, ah) = (area.0 as i32, area.1 as i32);
    // plotters insets the corner positions by 5 px.
    let corners = [
        (SeriesLabelPosition::UpperRight, aw - w - 5, 5),
        (SeriesLabelPosition::UpperLeft, 5, 5),
        (SeriesLabelPosition::LowerRight, aw - w - 5, ah - h - 5),
        (SeriesLabelPosition::LowerLeft, 5, ah - h - 5),
    ];
    let covered = |x: i32, y: i32| -> i64 {
        occupied
            .iter()
            .map(|&(x0, y0, x1, y1)| {
                let dx = (x1.min(x + w) - x0.max(x)).max(0) as i64;
                let dy = (y1.min(y + h) - y0.max(y)).max(0) as i64;
                dx * dy
            })
            .sum()
    };
    let mut best = SeriesLabelPosition::UpperRight;
    let mut best_cover = i64::MAX;
    for (pos, x, y) in corners {
        let c = covered(x, y);
        if c < best_cover {
            best_cover = c;
            best = pos;
        }
    }
    best
}

/// The size plotters gives a legend of `labels` (plus a few pixels to spare).
pub(crate) fn legend_size<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    labels: &[String],
) -> Result<(i32, i32), DrawingAreaErrorKind<DB::ErrorType>> {
    let style = font(LEGEND_PX);
    let mut w = 0;
    for l in labels {
        w = w.max(root.estimate_text_size(l, &style)?.0 as i32);
    }
    // legend area 30 px + margins 2 x 10 px; lines 1.25 font heights apart.
    let h = (labels.len() as f64 * f64::from(LEGEND_PX) * 1.25) as i32 + 20;
    Ok((w + 30 + 20 + 4, h + 4))
}

/// `text` broken into lines no wider than `max_w` pixels (a word longer than that gets a
/// line of its own).
fn wrap<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    text: &str,
    style: &TextStyle,
    max_w: u32,
) -> Result<Vec<String>, DrawingAreaErrorKind<DB::ErrorType>> {
    let mut lines: Vec<String> = Vec::new();
    let mut line = String::new();
    for word in text.split_whitespace() {
        let candidate = if line.is_empty() {
            word.to_string()
        } else {
            format!("{line} {word}")
        };
        if !line.is_empty() && root.estimate_text_size(&candidate, style)?.0 > max_w {
            lines.push(std::mem::replace(&mut line, word.to_string()));
        } else {
            line = candidate;
        }
    }
    if !line.is_empty() {
        lines.push(line);
    }
    Ok(lines)
}

/// Writes `text` under the chart, wrapped to the figure's width, and returns the area left
/// above it for the chart.
pub(crate) fn with_note<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    text: &str,
) -> Result<DrawingArea<DB, Shift>, DrawingAreaErrorKind<DB::ErrorType>> {
    let (w, h) = root.dim_in_pixel();
    let style = font(NOTE_PX).pos(Pos::new(HPos::Left, VPos::Center));
    let lines = wrap(root, text, &style, w.saturating_sub(40))?;
    let strip = NOTE_LINE * lines.len() as u32 + 10;
    let (upper, lower) = root.split_vertically(h.saturating_sub(strip));
    for (i, line) in lines.into_iter().enumerate() {
        let y = (NOTE_LINE * i as u32 + NOTE_LINE / 2) as i32;
        lower.draw(&Text::new(line, (20, y), style.clone()))?;
    }
    Ok(upper)
}

/// A figure with nothing to plot still gets its title and a sentence saying why, so a
/// report that links to it does not show a broken image.
pub(crate) fn empty<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    title: &str,
    why: &str,
) -> Result<(), DrawingAreaErrorKind<DB::ErrorType>> {
    root.fill(&WHITE)?;
    let (w, h) = root.dim_in_pixel();
    let centre = |px| font(px).pos(Pos::new(HPos::Center, VPos::Center));
    root.draw(&Text::new(
        title.to_string(),
        (w as i32 / 2, 40),
        centre(TITLE_PX),
    ))?;
    let style = centre(AXIS_DESC_PX);
    let lines = wrap(root, why, &style, w.saturating_sub(80))?;
    let top = h as i32 / 2 - (lines.len() as i32 * 26) / 2;
    for (i, line) in lines.into_iter().enumerate() {
        root.draw(&Text::new(
            line,
            (w as i32 / 2, top + 26 * i as i32),
            style.clone(),
        ))?;
    }
    Ok(())
}

/// Draws one of the thesis' figures 4.17 to 4.22 from simulated trials, so the simulation
/// can be judged against the printed figure by eye: the spread between trials and which
/// environment recovers first must show the same way.
///
/// Recovery time per trial for one failure kind and one service, one line per environment
/// (architecture, platform) that recovered at least once. x is the trial number counted
/// from 1 (results count from 0), y the seconds from the fault until the service answered.
/// A trial that never recovered is left out of its line, which leaves a gap; the note
/// under the chart says so and names the environments that never recovered, and each
/// legend entry says how many of its trials recovered. VMware lines are solid with round
/// markers, OpenStack lines dashed with triangles, so the figure survives grey-scale print.
///
/// Writes `<stem>.png` and `<stem>.svg` (the extensions are appended to `stem`), creating
/// the directory if needed.
///
/// # Errors
///
/// No DejaVu Sans font file (the message says which paths were tried and what to install),
/// or a file that cannot be written (the message names it).
pub fn recovery_figure(
    results: &[TrialResult],
    failure: FailureClass,
    service: Service,
    stem: &Path,
) -> Result<()> {
    let fig = RecoveryFigure::new(results, failure, service);
    write_both(&fig, stem)
}

/// One environment's trials in a recovery figure.
struct EnvLine {
    architecture: Architecture,
    platform: Platform,
    /// Trial number (1-based) -> recovery seconds, `None` if the trial never recovered.
    trials: BTreeMap<i32, Option<f64>>,
}

impl EnvLine {
    fn label(&self) -> String {
        format!("{} / {}", self.architecture.label(), self.platform.label())
    }

    fn legend_label(&self) -> String {
        format!(
            "{} ({} of {} trials recovered)",
            self.label(),
            self.recovered(),
            self.trials.len()
        )
    }

    fn recovered(&self) -> usize {
        self.trials.values().filter(|v| v.is_some()).count()
    }

    /// Runs of consecutive recovered trials: each is drawn as its own line, so a trial that
    /// did not recover (or is missing) leaves a gap.
    fn runs(&self) -> Vec<Vec<(i32, f64)>> {
        let mut runs: Vec<Vec<(i32, f64)>> = Vec::new();
        let mut last: Option<i32> = None;
        for (&t, &v) in &self.trials {
            match v {
                Some(secs) => {
                    let continues = last == Some(t - 1);
                    match runs.last_mut() {
                        Some(run) if continues => run.push((t, secs)),
                        _ => runs.push(vec![(t, secs)]),
                    }
                    last = Some(t);
                }
                None => last = None,
            }
        }
        runs
    }
}

struct RecoveryFigure {
    title: String,
    /// The highest trial number.
    trials: i32,
    /// Environments with at least one recovered trial, in the study's order.
    lines: Vec<EnvLine>,
    /// Environments with trials, none recovered.
    never: Vec<String>,
}

impl RecoveryFigure {
    fn new(results: &[TrialResult], failure: FailureClass, service: Service) -> RecoveryFigure {
        let mut lines = Vec::new();
        let mut never = Vec::new();
        let mut trials = 0;
        for architecture in Architecture::ALL {
            for platform in Platform::ALL {
                let cell = Cell {
                    failure,
                    architecture,
                    platform,
                    service,
                };
                let mut line = EnvLine {
                    architecture,
                    platform,
                    trials: BTreeMap::new(),
                };
                for r in results.iter().filter(|r| r.cell == cell) {
                    let n = i32::try_from(r.trial).unwrap_or(i32::MAX).saturating_add(1);
                    let secs = r
                        .recovery_secs
                        .filter(|s| r.recovered && s.is_finite() && *s >= 0.0);
                    // A duplicated trial number keeps its first result.
                    line.trials.entry(n).or_insert(secs);
                    trials = trials.max(n);
                }
                if line.recovered() > 0 {
                    lines.push(line);
                } else if !line.trials.is_empty() {
                    never.push(line.label());
                }
            }
        }
        RecoveryFigure {
            title: format!(
                "{} failure, {}: recovery time per trial",
                capitalised(failure.key()),
                service.label()
            ),
            trials,
            lines,
            never,
        }
    }

    /// "Never recovered: ..." or nothing.
    fn never_recovered(&self) -> String {
        if self.never.is_empty() {
            String::new()
        } else {
            format!("Never recovered: {}.", self.never.join(", "))
        }
    }

    fn note(&self) -> String {
        format!(
            "Each point is one trial that recovered; a trial that never recovered is left \
             out (gap in its line). {}",
            self.never_recovered()
        )
    }
}

impl Figure for RecoveryFigure {
    fn draw<DB: DrawingBackend>(
        &self,
        root: &DrawingArea<DB, Shift>,
    ) -> Result<(), DrawingAreaErrorKind<DB::ErrorType>> {
        if self.lines.is_empty() {
            let why = if self.trials == 0 {
                "No trials of this failure and service in the results.".to_string()
            } else {
                format!(
                    "No environment recovered in any trial. {}",
                    self.never_recovered()
                )
            };
            return empty(root, &self.title, &why);
        }
        root.fill(&WHITE)?;
        let upper = with_note(root, &self.note())?;

        let max = self
            .lines
            .iter()
            .flat_map(|l| l.trials.values().flatten())
            .fold(0.0_f64, |m, &v| m.max(v));
        let y_max = if max > 0.0 { max * 1.1 } else { 1.0 };
        let n = self.trials;

        let mut chart = ChartBuilder::on(&upper)
            .caption(&self.title, font(TITLE_PX))
            .margin(15)
            .x_label_area_size(50)
            .y_label_area_size(70)
            .build_cartesian_2d(0..n.saturating_add(1), 0.0..y_max)?;
        chart
            .configure_mesh()
            .x_desc("trial")
            .y_desc("recovery time (s)")
            .x_labels(n.saturating_add(2).min(32) as usize)
            .y_labels(10)
            .x_label_formatter(&|x| {
                if (1..=n).contains(x) {
                    x.to_string()
                } else {
                    String::new()
                }
            })
            .y_label_formatter(&|y| format!("{y:.0}"))
            .label_style(font(LABEL_PX))
            .axis_desc_style(font(AXIS_DESC_PX))
            .light_line_style(RGBColor(235, 235, 235))
            .bold_line_style(RGBColor(210, 210, 210))
            .draw()?;

        let mut occupied = Vec::new();
        let base = chart.plotting_area().get_base_pixel();
        let rel = |p: (i32, i32)| (p.0 - base.0, p.1 - base.1);
        for line in &self.lines {
            let colour = env_colour(line.architecture, line.platform);
            let stroke = colour.stroke_width(2);
            let runs = line.runs();
            for run in &runs {
                match line.platform {
                    Platform::Vmware => {
                        chart.draw_series(LineSeries::new(run.iter().copied(), stroke))?;
                    }
                    Platform::OpenStack => {
                        chart.draw_series(DashedLineSeries::new(
                            run.iter().copied(),
                            8,
                            5,
                            stroke,
                        ))?;
                    }
                }
                // The legend must not hide the lines either: sample them densely.
                for pair in run.windows(2) {
                    let a = rel(chart.backend_coord(&pair[0]));
                    let b = rel(chart.backend_coord(&pair[1]));
                    let steps = ((b.0 - a.0).abs().max((b.1 - a.1).abs()) / 4).max(1);
                    for k in 0..=steps {
                        let x = a.0 + (b.0 - a.0) * k / steps;
                        let y = a.1 + (b.1 - a.1) * k / steps;
                        occupied.push((x - 2, y - 2, x + 2, y + 2));
                    }
                }
            }
            let points = runs.iter().flatten().copied();
            for p in points.clone() {
                let (x, y) = rel(chart.backend_coord(&p));
                occupied.push((x - 5, y - 5, x + 5, y + 5));
            }
            let label = line.legend_label();
            let fill = colour.filled();
            let legend_line = move |at: (i32, i32)| {
                EmptyElement::at(at)
                    + PathElement::new(vec![(0, 0), (24, 0)], colour.stroke_width(2))
            };
            match line.platform {
                Platform::Vmware => {
                    chart
                        .draw_series(points.map(|p| Circle::new(p, 4, fill)))?
                        .label(label)
                        .legend(move |(x, y)| legend_line((x, y)) + Circle::new((12, 0), 4, fill));
                }
                Platform::OpenStack => {
                    chart
                        .draw_series(points.map(|p| TriangleMarker::new(p, 6, fill)))?
                        .label(label)
                        .legend(move |(x, y)| {
                            legend_line((x, y)) + TriangleMarker::new((12, 0), 6, fill)
                        });
                }
            }
        }

        let legend_labels: Vec<String> = self.lines.iter().map(EnvLine::legend_label).collect();
        let size = legend_size(root, &legend_labels)?;
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

/// Shows where recovery time goes, which the thesis never measured: it is the first thing
/// to look at when asking why a recovery is slow and what to shorten.
///
/// One horizontal stacked bar per cell with at least one recovered trial (labelled like
/// "hardware / combined / VMware / MySQL", in the study's cell order from the top), one
/// segment per phase: the phase's mean seconds over the cell's recovered trials, a phase a
/// trial did not go through counting as 0 s, so each bar is as long as the cell's mean
/// recovery time, which is written at its end. Phases are ordered as they first appear in
/// the trials (detection, vm restart, takeover, mount, address, service start); a phase
/// first seen in a later trial goes right after the phase that precedes it there, so
/// `vm restart` follows `detection` whichever trial shows it first. A phase keeps its
/// colour from figure to figure.
///
/// Writes `<stem>.png` and `<stem>.svg` (the extensions are appended to `stem`), creating
/// the directory if needed.
///
/// # Errors
///
/// As [`recovery_figure`].
pub fn phase_breakdown(results: &[TrialResult], stem: &Path) -> Result<()> {
    let fig = PhaseFigure::new(results);
    write_both(&fig, stem)
}

/// One bar of the phase breakdown.
struct Bar {
    label: String,
    /// Mean seconds per phase, aligned with [`PhaseFigure::phases`].
    means: Vec<f64>,
    total: f64,
}

struct PhaseFigure {
    title: String,
    phases: Vec<String>,
    bars: Vec<Bar>,
}

/// Phase names in order of first appearance, refined as [`phase_breakdown`] says.
fn phase_order<'a>(trials: impl Iterator<Item = &'a TrialResult>) -> Vec<String> {
    let mut order: Vec<String> = Vec::new();
    for r in trials {
        let mut prev: Option<usize> = None;
        for p in &r.phases {
            match order.iter().position(|n| *n == p.name) {
                Some(i) => prev = Some(i),
                None => {
                    let at = prev.map_or(0, |i| i + 1);
                    order.insert(at, p.name.clone());
                    prev = Some(at);
                }
            }
        }
    }
    order
}

impl PhaseFigure {
    fn new(results: &[TrialResult]) -> PhaseFigure {
        let recovered = || results.iter().filter(|r| r.recovered);
        let phases = phase_order(recovered());
        let mut cells: BTreeMap<Cell, Vec<&TrialResult>> = BTreeMap::new();
        for r in recovered() {
            cells.entry(r.cell).or_default().push(r);
        }
        let bars = cells
            .into_iter()
            .map(|(cell, trials)| {
                let mut sums = vec![0.0; phases.len()];
                for r in &trials {
                    for p in r.phases.iter().filter(|p| p.secs.is_finite()) {
                        if let Some(i) = phases.iter().position(|n| *n == p.name) {
                            sums[i] += p.secs.max(0.0);
                        }
                    }
                }
                let means: Vec<f64> = sums.iter().map(|s| s / trials.len() as f64).collect();
                Bar {
                    label: format!(
                        "{} / {} / {} / {}",
                        cell.failure.key(),
                        cell.architecture.label(),
                        cell.platform.label(),
                        cell.service.label()
                    ),
                    total: means.iter().sum(),
                    means,
                }
            })
            .collect();
        PhaseFigure {
            title: "Where recovery time goes: mean seconds per phase".to_string(),
            phases,
            bars,
        }
    }
}

impl Figure for PhaseFigure {
    fn draw<DB: DrawingBackend>(
        &self,
        root: &DrawingArea<DB, Shift>,
    ) -> Result<(), DrawingAreaErrorKind<DB::ErrorType>> {
        if self.bars.is_empty() {
            return empty(
                root,
                &self.title,
                "No trial recovered: there is no recovery time to break down.",
            );
        }
        root.fill(&WHITE)?;
        let n = self.bars.len();
        let upper = with_note(
            root,
            &format!(
                "One bar per cell with at least one recovered trial ({n} cells); the mean is \
                 over the cell's recovered trials, a phase a trial skipped counting as 0 s."
            ),
        )?;
        // Row labels shrink when many cells share the height.
        let (_, h) = upper.dim_in_pixel();
        let row_px = f64::from(h.saturating_sub(130)) / n as f64;
        let label_px = (row_px * 0.8).clamp(9.0, f64::from(LABEL_PX)) as u32;
        let label_style = font(label_px);
        let mut label_w = 0;
        for b in &self.bars {
            label_w = label_w.max(root.estimate_text_size(&b.label, &label_style)?.0);
        }

        let max = self.bars.iter().fold(0.0_f64, |m, b| m.max(b.total));
        // Room at the right for the totals written after the bars.
        let x_max = if max > 0.0 { max * 1.12 } else { 1.0 };
        let mut chart = ChartBuilder::on(&upper)
            .caption(&self.title, font(TITLE_PX))
            .margin(15)
            .x_label_area_size(50)
            .y_label_area_size(label_w + 16)
            .build_cartesian_2d(0.0..x_max, 0.0..n as f64)?;
        chart
            .configure_mesh()
            .disable_y_mesh()
            .y_labels(0)
            .x_labels(12)
            .x_desc("mean seconds from the fault until the service answers (recovered trials)")
            .x_label_formatter(&|x| format!("{x:.0}"))
            .label_style(font(LABEL_PX))
            .axis_desc_style(font(AXIS_DESC_PX))
            .light_line_style(RGBColor(235, 235, 235))
            .bold_line_style(RGBColor(210, 210, 210))
            .draw()?;

        let base = chart.plotting_area().get_base_pixel();
        let rel = |p: (i32, i32)| (p.0 - base.0, p.1 - base.1);
        let mut occupied = Vec::new();
        let colours = phase_colours(&self.phases);
        let total_style = font(label_px).pos(Pos::new(HPos::Left, VPos::Center));
        let row_label_style = label_style.pos(Pos::new(HPos::Right, VPos::Center));
        for (k, bar) in self.bars.iter().enumerate() {
            // The first cell on top.
            let y = (n - 1 - k) as f64;
            let (y0, y1) = (y + 0.18, y + 0.82);
            let mut x = 0.0;
            for (i, &secs) in bar.means.iter().enumerate() {
                if secs <= 0.0 {
                    continue;
                }
                let colour = colours[i];
                chart.draw_series(std::iter::once(Rectangle::new(
                    [(x, y0), (x + secs, y1)],
                    colour.filled(),
                )))?;
                x += secs;
            }
            let end = chart.backend_coord(&(bar.total, y + 0.5));
            let text = format!("{:.1} s", bar.total);
            let text_w = root.estimate_text_size(&text, &total_style)?.0 as i32;
            root.draw(&Text::new(text, (end.0 + 6, end.1), total_style.clone()))?;
            let (x0, top) = rel(chart.backend_coord(&(0.0, y1)));
            let (x1, bottom) = rel(chart.backend_coord(&(bar.total, y0)));
            occupied.push((x0, top, x1 + 6 + text_w, bottom));
            // The row's label, left of the axis, centred on the bar.
            root.draw(&Text::new(
                bar.label.clone(),
                (base.0 - 8, end.1),
                row_label_style.clone(),
            ))?;
        }

        for (name, &colour) in self.phases.iter().zip(&colours) {
            chart
                .draw_series(std::iter::empty::<Rectangle<(f64, f64)>>())?
                .label(name.clone())
                .legend(move |(x, y)| {
                    Rectangle::new([(x, y - 6), (x + 22, y + 6)], colour.filled())
                });
        }
        let size = legend_size(root, &self.phases)?;
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

#[cfg(test)]
mod tests {
    use super::*;
    use sim::trial::Phase;

    /// A small deterministic generator, so the synthetic trials vary without `rand`.
    fn jitter(state: &mut u64) -> f64 {
        *state = state
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (*state >> 11) as f64 / (1u64 << 53) as f64
    }

    fn trial(cell: Cell, trial: u32, phases: Option<Vec<(&str, f64)>>) -> TrialResult {
        let phases: Vec<Phase> = phases
            .unwrap_or_default()
            .into_iter()
            .map(|(name, secs)| Phase {
                name: name.to_string(),
                secs,
            })
            .collect();
        let recovery: f64 = phases.iter().map(|p| p.secs).sum();
        let recovered = !phases.is_empty();
        TrialResult {
            cell,
            trial,
            seed: u64::from(trial),
            fault_at: 120.0,
            recovered,
            recovery_secs: recovered.then_some(recovery),
            down_intervals: vec![(120.0, 120.0 + if recovered { recovery } else { 600.0 })],
            phases,
            lost_acked_writes: 0,
            split_brain: false,
            fencing_events: 0,
            vm_restarts: 0,
            serving_at_end: recovered.then_some(2),
            setup_failed: false,
            violation: None,
            events: 1000,
            trace_hash: format!("{trial:016x}"),
        }
    }

    /// Hardware failures of MySQL in every environment, 30 trials each: single node never
    /// recovers, DRBD + Heartbeat is fast, combined restarts the VM first; OpenStack is
    /// slower and two of its trials do not recover (gaps).
    fn synthetic() -> Vec<TrialResult> {
        let mut rng = 7;
        let mut out = Vec::new();
        for failure in [FailureClass::Software, FailureClass::Hardware] {
            for architecture in Architecture::ALL {
                for platform in Platform::ALL {
                    let cell = Cell {
                        failure,
                        architecture,
                        platform,
                        service: Service::Mysql,
                    };
                    let slow = if platform == Platform::OpenStack {
                        1.6
                    } else {
                        1.0
                    };
                    for t in 0..30 {
                        let phases = match architecture {
                            Architecture::SingleNode => None,
                            _ if platform == Platform::OpenStack && (t == 11 || t == 12) => None,
                            Architecture::DrbdHeartbeat => Some(vec![
                                ("detection", 10.0 + 5.0 * jitter(&mut rng)),
                                ("takeover", 3.0 + jitter(&mut rng)),
                                ("mount", 2.0 + jitter(&mut rng)),
                                ("address", 1.0),
                                ("service start", 30.0 + 20.0 * jitter(&mut rng)),
                            ]),
                            Architecture::Combined => Some(vec![
                                ("detection", 10.0 + 5.0 * jitter(&mut rng)),
                                ("vm restart", slow * (40.0 + 30.0 * jitter(&mut rng))),
                                ("takeover", 3.0 + jitter(&mut rng)),
                                ("mount", 2.0 + jitter(&mut rng)),
                                ("address", 1.0),
                                ("service start", 30.0 + 20.0 * jitter(&mut rng)),
                            ]),
                        };
                        out.push(trial(cell, t, phases));
                    }
                }
            }
        }
        out
    }

    /// A fresh directory for one test, removed by the test when it passes.
    fn scratch(name: &str) -> Result<PathBuf> {
        let dir = std::env::temp_dir().join(format!("dualha-plots-{}-{name}", std::process::id()));
        if dir.exists() {
            std::fs::remove_dir_all(&dir)?;
        }
        std::fs::create_dir_all(&dir)?;
        Ok(dir)
    }

    fn read(path: &Path) -> Result<Vec<u8>> {
        std::fs::read(path).with_context(|| format!("reading {}", path.display()))
    }

    /// Renders with `render` into `a` and `b`, checks the files and that both renders are
    /// byte-identical; returns the SVG's text.
    fn check_twice(
        dir: &Path,
        render: impl Fn(&Path) -> Result<()>,
        title: &str,
    ) -> Result<String> {
        let (a, b) = (dir.join("a"), dir.join("b"));
        render(&a)?;
        render(&b)?;
        for ext in ["png", "svg"] {
            let (fa, fb) = (read(&with_ext(&a, ext))?, read(&with_ext(&b, ext))?);
            assert!(
                fa == fb,
                "{ext} differs between two renders of the same results"
            );
        }
        let png = read(&with_ext(&a, "png"))?;
        assert!(png.starts_with(b"\x89PNG\r\n\x1a\n"), "not a PNG");
        assert!(
            png.len() > 8 * 1024,
            "PNG suspiciously small: {} bytes",
            png.len()
        );
        let svg = String::from_utf8(read(&with_ext(&a, "svg"))?)?;
        assert!(svg.contains(title), "SVG lacks its title {title:?}");
        assert!(svg.contains(FAMILY), "SVG does not name the font family");
        Ok(svg)
    }

    #[test]
    fn recovery_figure_renders_deterministically() -> Result<()> {
        let dir = scratch("recovery")?;
        let results = synthetic();
        let svg = check_twice(
            &dir,
            |stem| recovery_figure(&results, FailureClass::Hardware, Service::Mysql, stem),
            "Hardware failure, MySQL: recovery time per trial",
        )?;
        assert!(svg.contains("combined / OpenStack (28 of 30 trials recovered)"));
        assert!(svg.contains("DRBD + Heartbeat / VMware (30 of 30 trials recovered)"));
        assert!(svg.contains("Never recovered: single node / VMware, single node / OpenStack"));
        std::fs::remove_dir_all(&dir)?;
        Ok(())
    }

    #[test]
    fn phase_breakdown_renders_deterministically() -> Result<()> {
        let dir = scratch("phases")?;
        let results = synthetic();
        let svg = check_twice(
            &dir,
            |stem| phase_breakdown(&results, stem),
            "Where recovery time goes",
        )?;
        assert!(svg.contains("hardware / combined / VMware / MySQL"));
        assert!(svg.contains("vm restart"));
        assert!(
            !svg.contains("single node"),
            "a cell that never recovered has a bar"
        );
        std::fs::remove_dir_all(&dir)?;
        Ok(())
    }

    #[test]
    fn empty_results_still_give_a_figure() -> Result<()> {
        let dir = scratch("empty")?;
        recovery_figure(&[], FailureClass::Cluster, Service::Apache, &dir.join("r"))?;
        phase_breakdown(&[], &dir.join("p"))?;
        let svg = String::from_utf8(read(&dir.join("p.svg"))?)?;
        assert!(svg.contains("No trial recovered"));
        std::fs::remove_dir_all(&dir)?;
        Ok(())
    }

    #[test]
    fn unrecovered_trials_leave_gaps() {
        let line = EnvLine {
            architecture: Architecture::Combined,
            platform: Platform::OpenStack,
            trials: [
                (1, Some(1.0)),
                (2, Some(2.0)),
                (3, None),
                (4, Some(4.0)),
                (6, Some(6.0)),
            ]
            .into_iter()
            .collect(),
        };
        assert_eq!(
            line.runs(),
            vec![vec![(1, 1.0), (2, 2.0)], vec![(4, 4.0)], vec![(6, 6.0)]]
        );
        assert_eq!(line.recovered(), 4);
    }

    #[test]
    fn a_phase_seen_late_keeps_its_place() {
        let cell = Cell {
            failure: FailureClass::Hardware,
            architecture: Architecture::Combined,
            platform: Platform::Vmware,
            service: Service::Apache,
        };
        let results = [
            trial(
                cell,
                0,
                Some(vec![
                    ("detection", 1.0),
                    ("takeover", 1.0),
                    ("service start", 1.0),
                ]),
            ),
            trial(
                cell,
                1,
                Some(vec![
                    ("detection", 1.0),
                    ("vm restart", 1.0),
                    ("takeover", 1.0),
                ]),
            ),
        ];
        assert_eq!(
            phase_order(results.iter()),
            ["detection", "vm restart", "takeover", "service start"]
        );
        let fig = PhaseFigure::new(&results);
        assert_eq!(fig.bars.len(), 1);
        // vm restart: 1 s in one of two trials.
        assert_eq!(fig.bars[0].means, vec![1.0, 0.5, 1.0, 0.5]);
        assert_eq!(fig.bars[0].total, 3.0);
    }

    #[test]
    fn extensions_are_appended() {
        assert_eq!(
            with_ext(Path::new("out/fig.hardware"), "png"),
            PathBuf::from("out/fig.hardware.png")
        );
    }
}
