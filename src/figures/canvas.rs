//! What a figure draws, as data, and how it is drawn.
//!
//! Every figure function reduces a results table to a [`Figure`]: panels of series of points. The series are the
//! exact numbers on the page, so the snapshot tests check them as CSV ([`Figure::data_csv`]) and the renderer never
//! computes anything. plotters draws the figure as SVG; the PNG is rasterised from that SVG ([`super::render`]), so
//! both show the same text in the embedded DejaVu Sans and have the same pixels on every machine.
use std::fmt::Write as _;
use std::path::Path;
use std::sync::OnceLock;

use anyhow::{anyhow, Result};
use plotters::coord::ranged1d::{DefaultFormatting, KeyPointHint};
use plotters::coord::types::RangedCoordf64;
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::FontStyle;

use super::axis::Ticks;
use super::render::{FONT_BYTES, SVG_FONT};
use super::style::{Colour, Dash};

/// Register the embedded font with plotters, which measures text with it to lay out labels and the legend.
pub(super) fn register_font() -> Result<()> {
    static REGISTERED: OnceLock<bool> = OnceLock::new();
    if *REGISTERED.get_or_init(|| plotters::style::register_font(SVG_FONT, FontStyle::Normal, FONT_BYTES).is_ok()) {
        Ok(())
    } else {
        Err(anyhow!("the embedded DejaVu Sans font (assets/DejaVuSans.ttf) is not a valid TrueType font"))
    }
}

/// The width in pixels of `text` at plotters font size `size`, as measured with the embedded font (a little wider
/// than the SVG sets it, which leaves room).
pub(super) fn text_width(text: &str, size: f64) -> Result<u32> {
    register_font()?;
    Ok((SVG_FONT, size).into_font().box_size(text).map_err(plot_error)?.0)
}

/// How a series marks its points.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Mark {
    /// A line through the points.
    Line,
    /// A line with a dot at each point (the original's stage figures).
    LineDots,
    /// Dots only (scatter plots).
    Dots,
    /// Open circles, no line: points shown but not read as an effect (ratios of chance-level accuracies).
    Rings,
    /// Bars centred on x, `width` wide in x units (histograms).
    Bars { width: f64 },
}

/// One point: the mean over seeds, and the smallest and largest seed's value (equal to `y` with one seed).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Point {
    pub x: f64,
    pub y: f64,
    pub lo: f64,
    pub hi: f64,
}

impl Point {
    pub fn exact(x: f64, y: f64) -> Point {
        Point { x, y, lo: y, hi: y }
    }
}

/// One line (or set of dots, or bars) in a panel.
#[derive(Clone, Debug)]
pub struct Series {
    pub label: String,
    pub colour: Colour,
    pub dash: Dash,
    pub mark: Mark,
    pub points: Vec<Point>,
    /// The original's values drawn under a run's (thin, dashed, one legend entry for all).
    pub overlay: bool,
    /// A short text drawn beside each point (e.g. the layer name in a per-layer scatter).
    pub point_labels: Vec<String>,
    /// Why a series the figure would draw has no points (e.g. "no valid fit"): named in the legend, not silently
    /// left out.
    pub missing: Option<String>,
}

impl Series {
    /// A series from (x, y) samples, one per seed: points sorted by x, with the mean and the range over seeds.
    pub(crate) fn from_samples(label: &str, colour: Colour, dash: Dash, mark: Mark, samples: &[(f64, f64)]) -> Series {
        let mut sorted = samples.to_vec();
        sorted.sort_by(|a, b| a.0.total_cmp(&b.0));
        let mut groups: Vec<(Point, usize)> = Vec::new();
        for (x, y) in sorted {
            match groups.last_mut() {
                Some((p, n)) if p.x == x => {
                    p.y += y;
                    p.lo = p.lo.min(y);
                    p.hi = p.hi.max(y);
                    *n += 1;
                }
                _ => groups.push((Point { x, y, lo: y, hi: y }, 1)),
            }
        }
        let points = groups.into_iter().map(|(p, n)| Point { y: p.y / n as f64, ..p }).collect();
        Series {
            label: label.to_string(),
            colour,
            dash,
            mark,
            points,
            overlay: false,
            point_labels: Vec::new(),
            missing: None,
        }
    }

    /// A series with no points, named in the legend with the reason (e.g. "no valid fit").
    pub(crate) fn missing(label: &str, colour: Colour, reason: &str) -> Series {
        Series {
            missing: Some(reason.to_string()),
            ..Series::from_samples(label, colour, Dash::Solid, Mark::Line, &[])
        }
    }
}

/// A horizontal or vertical reference line (chance level, the training sigma), named in the legend.
#[derive(Clone, Debug)]
pub struct RefLine {
    pub at: f64,
    pub colour: Colour,
    pub dash: Dash,
    pub label: String,
}

/// One axes.
#[derive(Clone, Debug)]
pub struct Panel {
    pub title: String,
    pub x_label: String,
    pub y_label: String,
    pub x_range: (f64, f64),
    /// Fixed y range; by default the data's range with a margin.
    pub y_range: Option<(f64, f64)>,
    pub series: Vec<Series>,
    pub hlines: Vec<RefLine>,
    pub vlines: Vec<RefLine>,
}

impl Panel {
    pub(crate) fn new(title: &str, x_label: &str, y_label: &str, x_range: (f64, f64)) -> Panel {
        Panel {
            title: title.to_string(),
            x_label: x_label.to_string(),
            y_label: y_label.to_string(),
            x_range,
            y_range: None,
            series: Vec::new(),
            hlines: Vec::new(),
            vlines: Vec::new(),
        }
    }

    fn y_extent(&self) -> (f64, f64) {
        if let Some(range) = self.y_range {
            return range;
        }
        let ys = self.series.iter().flat_map(|s| {
            let bars = matches!(s.mark, Mark::Bars { .. });
            s.points.iter().flat_map(move |p| [p.lo, p.hi].into_iter().chain(bars.then_some(0.0)))
        });
        let ys = ys.chain(self.hlines.iter().map(|l| l.at));
        let (lo, hi) = ys.fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), y| (lo.min(y), hi.max(y)));
        if !lo.is_finite() {
            return (0.0, 1.0);
        }
        let pad = ((hi - lo) * 0.08).max(hi.abs().max(1e-3) * 0.02);
        let lo = if lo >= 0.0 && lo - pad < 0.0 { 0.0 } else { lo - pad };
        (lo, hi + pad)
    }
}

/// A whole figure: a title, a subtitle (what the numbers are), one legend for all panels, panels in a grid of
/// `columns`.
#[derive(Clone, Debug)]
pub struct Figure {
    pub id: String,
    pub title: String,
    /// What the drawn numbers are (e.g. a run on the embedded stand-ins); empty for none.
    pub subtitle: String,
    pub columns: usize,
    pub panels: Vec<Panel>,
    /// Size of one panel in pixels.
    pub panel_size: (u32, u32),
    /// The legend's name for the overlay series (the original's values under a run's), when there are any.
    pub overlay_label: String,
}

impl Figure {
    /// A figure of `panels` in `columns` columns, untitled (the catalogue titles it).
    pub(crate) fn new(id: &str, columns: usize, panels: Vec<Panel>, panel_size: (u32, u32)) -> Figure {
        let (title, subtitle, overlay_label) = (String::new(), String::new(), String::new());
        Figure { id: id.to_string(), title, subtitle, columns, panels, panel_size, overlay_label }
    }

    /// Whether the figure has nothing to draw and no missing series to name.
    pub(crate) fn is_empty(&self) -> bool {
        self.panels.iter().all(|p| p.series.iter().all(|s| s.points.is_empty() && s.missing.is_none()))
    }

    /// The numbers behind the figure: one CSV row per point (`panel,series,overlay,x,y,lo,hi`).
    pub fn data_csv(&self) -> String {
        let mut out = String::from("panel,series,overlay,x,y,lo,hi\n");
        for panel in &self.panels {
            for series in &panel.series {
                for p in &series.points {
                    let _ = writeln!(
                        out,
                        "{},{},{},{},{},{},{}",
                        csv_text(&panel.title),
                        csv_text(&series.label),
                        series.overlay,
                        round(p.x),
                        round(p.y),
                        round(p.lo),
                        round(p.hi)
                    );
                }
            }
        }
        out
    }

    fn columns(&self) -> usize {
        self.columns.max(1)
    }

    fn width(&self) -> u32 {
        self.panel_size.0 * self.columns() as u32
    }

    fn header_height(&self) -> u32 {
        if self.subtitle.is_empty() {
            TITLE_H
        } else {
            TITLE_H + SUBTITLE_H
        }
    }

    /// The figure as SVG, laid out for its legend.
    pub(crate) fn svg(&self) -> Result<String> {
        register_font()?;
        let legend = Legend::of(self)?;
        let rows = self.panels.len().div_ceil(self.columns()) as u32;
        let (w, h) = (self.width(), self.header_height() + legend.height() + rows * self.panel_size.1);
        let mut svg = String::new();
        {
            let root = SVGBackend::with_string(&mut svg, (w, h)).into_drawing_area();
            self.draw(&root, &legend)?;
            root.present().map_err(|e| anyhow!("cannot finish the SVG of {}: {e}", self.id))?;
        }
        Ok(svg)
    }

    /// Write the figure as `<stem>.svg` and the `<stem>.png` rasterised from it (path without extension).
    pub(crate) fn write(&self, stem: &Path) -> Result<()> {
        super::render::write_svg_and_png(stem, &self.svg()?)
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>, legend: &Legend) -> Result<()> {
        root.fill(&WHITE).map_err(plot_error)?;
        let (header, rest) = root.split_vertically(self.header_height());
        let (legend_area, grid) = rest.split_vertically(legend.height());
        header.draw_text(&self.title, &(SVG_FONT, 24).into_font().color(&BLACK), (12, 8)).map_err(plot_error)?;
        if !self.subtitle.is_empty() {
            let font = (SVG_FONT, 17).into_font().color(&RGBColor(70, 70, 70));
            header.draw_text(&self.subtitle, &font, (12, TITLE_H as i32)).map_err(plot_error)?;
        }
        legend.draw(&legend_area)?;
        let rows = self.panels.len().div_ceil(self.columns());
        let areas = grid.split_evenly((rows, self.columns()));
        for (area, panel) in areas.iter().zip(&self.panels) {
            draw_panel(area, panel)?;
        }
        Ok(())
    }
}

const TITLE_H: u32 = 36;
const SUBTITLE_H: u32 = 24;
const LEGEND_ROW_H: u32 = 26;
const LEGEND_FONT: f64 = 16.0;
const SAMPLE_W: i32 = 30;

pub(super) fn plot_error<E: std::fmt::Display>(err: E) -> anyhow::Error {
    anyhow!("plotting failed: {err}")
}

fn round(x: f64) -> String {
    let rounded = (x * 1e6).round() / 1e6;
    if rounded == 0.0 {
        "0".to_string()
    } else {
        format!("{rounded}")
    }
}

fn csv_text(s: &str) -> String {
    if s.contains(',') || s.contains('"') {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

fn rgb(c: Colour) -> RGBColor {
    RGBColor(c.0, c.1, c.2)
}

/// What a legend entry shows before its label.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Sample {
    /// A line of the given width, with a dot in the middle for [`Mark::LineDots`].
    Line {
        dash: Dash,
        width: u32,
        dot: bool,
    },
    Dot,
    Ring,
    Bar,
    /// A series with no points: a hollow box.
    Missing,
}

#[derive(Clone, Debug, PartialEq)]
struct LegendEntry {
    label: String,
    colour: Colour,
    sample: Sample,
}

/// The legend of a figure, each label once, in order of first appearance within four groups: the drawn series;
/// the points not read as effects and the missing series (with their reason); the original's overlay; the
/// reference lines. Wrapped into rows that fit the figure's width.
#[derive(Clone, Debug)]
struct Legend {
    /// Each entry with its position (row, x offset).
    placed: Vec<(LegendEntry, u32, i32)>,
}

impl Legend {
    fn of(figure: &Figure) -> Result<Legend> {
        let mut groups: [Vec<LegendEntry>; 4] = Default::default();
        let mut add = |group: usize, entry: LegendEntry| {
            if !groups.iter().flatten().any(|e| e.label == entry.label) {
                groups[group].push(entry);
            }
        };
        let series = figure.panels.iter().flat_map(|p| &p.series);
        for s in series.clone().filter(|s| !s.overlay) {
            let (group, label, sample) = match (&s.missing, s.mark) {
                (Some(reason), _) => (1, format!("{}: {reason}", s.label), Sample::Missing),
                (None, Mark::Rings) => (1, s.label.clone(), Sample::Ring),
                (None, Mark::Line) => (0, s.label.clone(), Sample::Line { dash: s.dash, width: 3, dot: false }),
                (None, Mark::LineDots) => (0, s.label.clone(), Sample::Line { dash: s.dash, width: 3, dot: true }),
                (None, Mark::Dots) => (0, s.label.clone(), Sample::Dot),
                (None, Mark::Bars { .. }) => (0, s.label.clone(), Sample::Bar),
            };
            add(group, LegendEntry { label, colour: s.colour, sample });
        }
        if series.clone().any(|s| s.overlay) {
            let sample = Sample::Line { dash: Dash::Dashed, width: 1, dot: false };
            add(2, LegendEntry { label: figure.overlay_label.clone(), colour: OVERLAY_COLOUR, sample });
        }
        for line in figure.panels.iter().flat_map(|p| p.hlines.iter().chain(&p.vlines)) {
            let sample = Sample::Line { dash: line.dash, width: 1, dot: false };
            add(3, LegendEntry { label: line.label.clone(), colour: line.colour, sample });
        }
        let entries = groups.into_iter().flatten();
        let width = figure.width() as i32;
        let (mut row, mut x) = (0, LEGEND_MARGIN);
        let mut placed = Vec::new();
        for entry in entries {
            let w = SAMPLE_W + 8 + text_width(&entry.label, LEGEND_FONT)? as i32;
            if x > LEGEND_MARGIN && x + w > width - LEGEND_MARGIN {
                row += 1;
                x = LEGEND_MARGIN;
            }
            placed.push((entry, row, x));
            x += w + 28;
        }
        Ok(Legend { placed })
    }

    fn height(&self) -> u32 {
        let rows = self.placed.last().map_or(0, |p| p.1 + 1);
        rows * LEGEND_ROW_H + 8
    }

    fn draw<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>) -> Result<()> {
        let font = (SVG_FONT, LEGEND_FONT).into_font().color(&BLACK);
        for (entry, row, x) in &self.placed {
            let (x, y) = (*x, (row * LEGEND_ROW_H + LEGEND_ROW_H / 2) as i32);
            let colour = rgb(entry.colour);
            match entry.sample {
                Sample::Line { dash, width, dot } => {
                    let style = ShapeStyle::from(&colour).stroke_width(width);
                    for (a, b) in dash_segments(dash, SAMPLE_W) {
                        area.draw(&PathElement::new(vec![(x + a, y), (x + b, y)], style)).map_err(plot_error)?;
                    }
                    if dot {
                        area.draw(&Circle::new((x + SAMPLE_W / 2, y), 4, colour.filled())).map_err(plot_error)?;
                    }
                }
                Sample::Dot => {
                    area.draw(&Circle::new((x + SAMPLE_W / 2, y), 5, colour.filled())).map_err(plot_error)?
                }
                Sample::Ring => {
                    let style = ShapeStyle::from(&colour).stroke_width(2);
                    area.draw(&Circle::new((x + SAMPLE_W / 2, y), 5, style)).map_err(plot_error)?
                }
                Sample::Bar => area
                    .draw(&Rectangle::new([(x, y - 7), (x + SAMPLE_W, y + 7)], colour.filled()))
                    .map_err(plot_error)?,
                Sample::Missing => area
                    .draw(&Rectangle::new([(x + 4, y - 6), (x + SAMPLE_W - 4, y + 6)], colour.stroke_width(2)))
                    .map_err(plot_error)?,
            }
            // Top-anchored text 6 px above the sample's centre line puts its lowercase letters level with it.
            area.draw_text(&entry.label, &font, (x + SAMPLE_W + 8, y - 6)).map_err(plot_error)?;
        }
        Ok(())
    }
}

const LEGEND_MARGIN: i32 = 14;
/// The original's values under a run's: thin, dashed, dark grey.
const OVERLAY_COLOUR: Colour = Colour(90, 90, 90);

/// The pixel segments of a `width`-px legend sample in `dash` style.
fn dash_segments(dash: Dash, width: i32) -> Vec<(i32, i32)> {
    let (on, off) = match dash {
        Dash::Solid => return vec![(0, width)],
        Dash::Dashed => (8, 5),
        Dash::Dotted => (2, 4),
    };
    (0..width).step_by((on + off) as usize).map(|a| (a, (a + on).min(width))).collect()
}

/// Ticks on x: the panel's range is chosen by the figure (epochs end at the last epoch), ticks fill it.
const X_TICKS: usize = 5;
const Y_TICKS: usize = 4;

fn draw_panel<DB: DrawingBackend>(area: &DrawingArea<DB, Shift>, panel: &Panel) -> Result<()> {
    let (x0, x1) = panel.x_range;
    let (y0, y1) = panel.y_extent();
    let (x_ticks, y_ticks) = (Ticks::between(x0, x1, X_TICKS), Ticks::between(y0, y1, Y_TICKS));
    let mut chart = ChartBuilder::on(area)
        .caption(&panel.title, (SVG_FONT, 19))
        .margin(10)
        .margin_right(22)
        .x_label_area_size(46)
        .y_label_area_size(62)
        .build_cartesian_2d(Axis::new(x0..x1, &x_ticks), Axis::new(y0..y1, &y_ticks))
        .map_err(plot_error)?;
    chart
        .configure_mesh()
        .bold_line_style(RGBColor(225, 225, 225))
        .x_desc(&panel.x_label)
        .y_desc(&panel.y_label)
        .label_style((SVG_FONT, 15))
        .axis_desc_style((SVG_FONT, 16))
        .x_labels(x_ticks.values.len())
        .y_labels(y_ticks.values.len())
        .x_label_formatter(&|x| x_ticks.label(*x))
        .y_label_formatter(&|y| y_ticks.label(*y))
        .draw()
        .map_err(plot_error)?;
    for line in &panel.hlines {
        draw_path(&mut chart, vec![(x0, line.at), (x1, line.at)], line.colour, line.dash, 1)?;
    }
    for line in &panel.vlines {
        draw_path(&mut chart, vec![(line.at, y0), (line.at, y1)], line.colour, line.dash, 1)?;
    }
    // The original's values first, so that the run's are drawn over them.
    for series in panel.series.iter().filter(|s| s.overlay).chain(panel.series.iter().filter(|s| !s.overlay)) {
        draw_series(&mut chart, series)?;
    }
    Ok(())
}

/// A linear axis whose grid lines and labels are exactly the given ticks (plotters' own choice gave two labels
/// on some narrow ranges).
#[derive(Clone)]
struct Axis {
    linear: RangedCoordf64,
    ticks: Vec<f64>,
}

impl Axis {
    fn new(range: std::ops::Range<f64>, ticks: &Ticks) -> Axis {
        Axis { linear: range.into(), ticks: ticks.values.clone() }
    }
}

impl Ranged for Axis {
    type FormatOption = DefaultFormatting;
    type ValueType = f64;

    fn map(&self, value: &f64, limit: (i32, i32)) -> i32 {
        self.linear.map(value, limit)
    }

    fn key_points<Hint: KeyPointHint>(&self, hint: Hint) -> Vec<f64> {
        // No light (minor) grid lines: the ticks' lines are the grid.
        if hint.weight().allow_light_points() {
            Vec::new()
        } else {
            self.ticks.clone()
        }
    }

    fn range(&self) -> std::ops::Range<f64> {
        self.linear.range()
    }
}

type Chart<'a, DB> = ChartContext<'a, DB, Cartesian2d<Axis, Axis>>;

fn draw_path<DB: DrawingBackend>(
    chart: &mut Chart<'_, DB>,
    points: Vec<(f64, f64)>,
    colour: Colour,
    dash: Dash,
    width: u32,
) -> Result<()> {
    if points.len() < 2 {
        // A lone point has no line (a one-point polyline is not valid SVG); its dot, if any, marks it.
        return Ok(());
    }
    let style = ShapeStyle::from(&rgb(colour)).stroke_width(width);
    let (on, off) = match dash {
        Dash::Solid => return chart.draw_series(LineSeries::new(points, style)).map(|_| ()).map_err(plot_error),
        Dash::Dashed => (9.0, 6.0),
        Dash::Dotted => (2.0, 5.0),
    };
    // Pixels per data unit on each axis, from where the chart puts two corners of its range.
    let (x, y) = (chart.x_range(), chart.y_range());
    let (a, b) = (chart.backend_coord(&(x.start, y.start)), chart.backend_coord(&(x.end, y.end)));
    let scale = (f64::from(b.0 - a.0) / (x.end - x.start), f64::from(b.1 - a.1) / (y.end - y.start));
    for piece in dashes(&points, scale, on, off) {
        chart.draw_series(std::iter::once(PathElement::new(piece, style))).map_err(plot_error)?;
    }
    Ok(())
}

/// The dashes of the polyline `points` (data units; `scale` is pixels per unit on each axis): `on` pixels drawn,
/// `off` skipped, the pattern running on across vertices. Pieces under a pixel long are dropped: they would be
/// empty paths once rounded to pixels.
fn dashes(points: &[(f64, f64)], scale: (f64, f64), on: f64, off: f64) -> Vec<Vec<(f64, f64)>> {
    let mut pieces = Vec::new();
    let (mut piece, mut piece_len): (Vec<(f64, f64)>, f64) = (Vec::new(), 0.0);
    // Position within the current on (drawing) or off stretch, in pixels.
    let (mut drawing, mut left) = (true, on);
    for pair in points.windows(2) {
        let (p, q) = (pair[0], pair[1]);
        let length = ((q.0 - p.0) * scale.0).hypot((q.1 - p.1) * scale.1);
        let at = |t: f64| (p.0 + (q.0 - p.0) * t, p.1 + (q.1 - p.1) * t);
        let mut done = 0.0;
        while done < length {
            let step = left.min(length - done);
            if drawing {
                if piece.is_empty() {
                    piece.push(at(done / length));
                }
                piece.push(at((done + step) / length));
                piece_len += step;
            }
            done += step;
            left -= step;
            if left <= 1e-9 {
                if drawing && piece_len >= 1.0 {
                    pieces.push(std::mem::take(&mut piece));
                }
                piece.clear();
                piece_len = 0.0;
                drawing = !drawing;
                left = if drawing { on } else { off };
            }
        }
    }
    if piece_len >= 1.0 {
        pieces.push(piece);
    }
    pieces
}

fn draw_series<DB: DrawingBackend>(chart: &mut Chart<'_, DB>, series: &Series) -> Result<()> {
    let colour = rgb(series.colour);
    let points: Vec<(f64, f64)> = series.points.iter().map(|p| (p.x, p.y)).collect();
    if series.overlay {
        return draw_path(chart, points, OVERLAY_COLOUR, Dash::Dashed, 1);
    }
    // The spread over seeds, as a light band.
    if series.points.iter().any(|p| p.hi > p.lo) && matches!(series.mark, Mark::Line | Mark::LineDots) {
        let band: Vec<(f64, f64)> =
            series.points.iter().map(|p| (p.x, p.hi)).chain(series.points.iter().rev().map(|p| (p.x, p.lo))).collect();
        chart.draw_series(std::iter::once(Polygon::new(band, colour.mix(0.18).filled()))).map_err(plot_error)?;
    }
    match series.mark {
        Mark::Line | Mark::LineDots => {
            draw_path(chart, points.clone(), series.colour, series.dash, 2)?;
            if series.mark == Mark::LineDots {
                chart.draw_series(points.iter().map(|&p| Circle::new(p, 3, colour.filled()))).map_err(plot_error)?;
            }
        }
        Mark::Dots => {
            chart.draw_series(points.iter().map(|&p| Circle::new(p, 5, colour.filled()))).map_err(plot_error)?;
        }
        Mark::Rings => {
            let style = ShapeStyle::from(&colour).stroke_width(2);
            chart.draw_series(points.iter().map(|&p| Circle::new(p, 4, style))).map_err(plot_error)?;
        }
        Mark::Bars { width } => {
            let half = width / 2.0;
            // Bins under a pixel high draw nothing (an empty rectangle is not valid SVG).
            let bars: Vec<(f64, f64)> = points
                .iter()
                .copied()
                .filter(|&(x, y)| chart.backend_coord(&(x, y)).1 != chart.backend_coord(&(x, 0.0)).1)
                .collect();
            chart
                .draw_series(
                    bars.iter()
                        .map(|&(x, y)| Rectangle::new([(x - half, 0.0), (x + half, y)], colour.mix(0.85).filled())),
                )
                .map_err(plot_error)?;
        }
    }
    let font = (SVG_FONT, 14).into_font().color(&colour);
    for (p, text) in points.iter().zip(&series.point_labels) {
        let label = EmptyElement::at(*p) + Text::new(text.clone(), (8, -16), font.clone());
        chart.draw_series(std::iter::once(label)).map_err(plot_error)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn samples_of_several_seeds_become_mean_and_range() {
        let s =
            Series::from_samples("x", Colour(0, 0, 0), Dash::Solid, Mark::Line, &[(1.0, 2.0), (0.0, 5.0), (1.0, 4.0)]);
        assert_eq!(s.points, vec![Point::exact(0.0, 5.0), Point { x: 1.0, y: 3.0, lo: 2.0, hi: 4.0 }]);
    }

    #[test]
    fn data_csv_lists_every_point() {
        let mut panel = Panel::new("Faces, a", "sigma", "acc", (0.0, 1.0));
        panel.series.push(Series::from_samples("clear", Colour(1, 2, 3), Dash::Solid, Mark::Line, &[(0.0, 1.0 / 3.0)]));
        panel.series.push(Series::missing("blurry", Colour(1, 2, 3), "no valid fit"));
        let fig = Figure::new("f", 1, vec![panel], (10, 10));
        assert_eq!(
            fig.data_csv(),
            "panel,series,overlay,x,y,lo,hi\n\"Faces, a\",clear,false,0,0.333333,0.333333,0.333333\n"
        );
    }

    #[test]
    fn dashes_run_on_across_vertices_and_drop_slivers() {
        // A 10-px then 6-px polyline (1 px per unit), 4 on, 3 off: dashes at 0-4, 7-11 (bending at 10), 14-16.
        let points = [(0.0, 0.0), (10.0, 0.0), (10.0, 6.0)];
        let pieces = dashes(&points, (1.0, 1.0), 4.0, 3.0);
        assert_eq!(
            pieces,
            vec![
                vec![(0.0, 0.0), (4.0, 0.0)],
                vec![(7.0, 0.0), (10.0, 0.0), (10.0, 1.0)],
                vec![(10.0, 4.0), (10.0, 6.0)]
            ]
        );
        // The same at 2 px per unit on y: the bend comes sooner in pixels. A last 0.5-px sliver is dropped.
        let pieces = dashes(&[(0.0, 0.0), (0.0, 3.75)], (1.0, 2.0), 4.0, 3.0);
        assert_eq!(pieces, vec![vec![(0.0, 0.0), (0.0, 2.0)]]);
    }

    #[test]
    fn dash_samples_cover_the_legend_width() {
        assert_eq!(dash_segments(Dash::Solid, 30), vec![(0, 30)]);
        assert_eq!(dash_segments(Dash::Dashed, 30), vec![(0, 8), (13, 21), (26, 30)]);
    }

    fn line(label: &str, at: f64) -> RefLine {
        RefLine { at, colour: Colour(9, 9, 9), dash: Dash::Dashed, label: label.to_string() }
    }

    #[test]
    fn the_legend_names_series_the_overlay_missing_series_and_reference_lines_once_each() {
        let red = Colour(200, 0, 0);
        let mut panels = Vec::new();
        for title in ["a", "b"] {
            let mut panel = Panel::new(title, "x", "y", (0.0, 1.0));
            panel.series.push(Series::from_samples("near chance", red, Dash::Solid, Mark::Rings, &[(0.0, 1.0)]));
            panel.series.push(Series::from_samples("clear", red, Dash::Solid, Mark::LineDots, &[(0.0, 1.0)]));
            let mut original = Series::from_samples("clear", red, Dash::Solid, Mark::Line, &[(0.0, 2.0)]);
            original.overlay = true;
            panel.series.push(original);
            panel.series.push(Series::missing("Faces", red, "no valid fit"));
            panel.hlines.push(line("chance", 0.1 * panel.series.len() as f64));
            panel.vlines.push(line("sigma 8", 8.0));
            panels.push(panel);
        }
        let mut figure = Figure::new("f", 2, panels, (400, 300));
        figure.overlay_label = "original (paper)".into();
        let legend = Legend::of(&figure).unwrap();
        let labels: Vec<&str> = legend.placed.iter().map(|p| p.0.label.as_str()).collect();
        assert_eq!(labels, ["clear", "near chance", "Faces: no valid fit", "original (paper)", "chance", "sigma 8"]);
        assert_eq!(legend.placed[2].0.sample, Sample::Missing);
    }

    #[test]
    fn a_long_legend_wraps_into_rows_within_the_figure() {
        let mut panel = Panel::new("a", "x", "y", (0.0, 1.0));
        for i in 0..12 {
            let label = format!("a rather long series name {i}");
            panel.series.push(Series::from_samples(&label, Colour(0, 0, 0), Dash::Solid, Mark::Line, &[(0.0, 1.0)]));
        }
        let figure = Figure::new("f", 1, vec![panel], (900, 400));
        let legend = Legend::of(&figure).unwrap();
        assert!(legend.height() > 3 * LEGEND_ROW_H, "{legend:?}");
        for (entry, _, x) in &legend.placed {
            let right = x + SAMPLE_W + 8 + text_width(&entry.label, LEGEND_FONT).unwrap() as i32;
            assert!(right <= 900 - LEGEND_MARGIN, "{} ends at {right}", entry.label);
        }
    }

    #[test]
    fn the_svg_names_the_embedded_font_and_holds_every_text() {
        let mut panel = Panel::new("Toybox category-level", "epoch", "conv1 size", (0.0, 10.0));
        panel.series.push(Series::from_samples("clear", Colour(1, 2, 3), Dash::Dashed, Mark::Line, &[(0.0, 6.2)]));
        let mut figure = Figure::new("f", 1, vec![panel], (380, 360));
        figure.title = "Conv1 size".into();
        figure.subtitle = "profile tiny: embedded stand-ins".into();
        let svg = figure.svg().unwrap();
        for text in ["Conv1 size", "profile tiny: embedded stand-ins", "Toybox category-level", "clear", "epoch", "10"]
        {
            assert!(svg.contains(&format!("\n{text}\n")), "{text} missing from the SVG");
        }
        assert!(svg.contains(r#"font-family="DejaVu Sans, sans-serif""#));
        assert!(!svg.contains(r#"font-family="sans-serif""#));
    }
}
