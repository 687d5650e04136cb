//! What a figure draws, as data, and how it is laid out at its print width.
//!
//! Every figure function reduces a results table to a [`Figure`]: panels of series of points. The series are the
//! exact numbers on the page, so the snapshot tests check them as CSV ([`Figure::data_csv`]) and the renderer never
//! computes anything. The figure is laid out in points at the width it is printed at ([`super::print`]): the panels
//! share the width left by one column of y tick labels, the legend wraps within it, a y axis label is written once
//! per row (once for all rows where they agree) and an x axis label once per column (once for all where they agree),
//! tick labels are left off where the panels of a row or column share their range, and titles that do not fit a
//! panel are broken into two lines. plotters draws the axes and tick labels; the series are drawn at coordinates
//! mapped here. The PNG and PDF are made from this SVG ([`super::render`]).
use std::fmt::Write as _;
use std::path::Path;
use std::sync::OnceLock;

use anyhow::{anyhow, bail, Result};
use plotters::coord::ranged1d::{DefaultFormatting, KeyPointHint};
use plotters::coord::types::RangedCoordf64;
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use plotters::style::{FontStyle, FontTransform};

use super::axis::Ticks;
use super::print::{self, units, whole_units, DATA_LINE_PT, HAIRLINE_PT, LABEL_PT, TEXT_PT, THIN_LINE_PT, TITLE_PT};
use super::render::{FONT_BYTES, SVG_FONT};
use super::style::{Colour, Dash, Marker, Style};

/// Register the embedded font with plotters, which measures text with it to lay out labels and the legend.
pub(super) fn register_font() -> Result<()> {
    static REGISTERED: OnceLock<bool> = OnceLock::new();
    if *REGISTERED.get_or_init(|| plotters::style::register_font(SVG_FONT, FontStyle::Normal, FONT_BYTES).is_ok()) {
        Ok(())
    } else {
        Err(anyhow!("the embedded DejaVu Sans font (assets/DejaVuSans.ttf) is not a valid TrueType font"))
    }
}

/// plotters' SVG backend writes `font-size` as its font size divided by this; multiplying by it first sets text at
/// exactly the size asked for.
const PLOTTERS_FONT_SCALE: f64 = 1.24;

/// The embedded font at `pt` points.
pub(super) fn font(pt: f64) -> FontDesc<'static> {
    (SVG_FONT, units(pt) * PLOTTERS_FONT_SCALE).into_font()
}

/// The width in user units of `text` set at `pt` points, as measured with the embedded font (a little wider than
/// resvg sets it, which leaves room).
pub(super) fn text_width(text: &str, pt: f64) -> Result<f64> {
    register_font()?;
    Ok(f64::from(font(pt).box_size(text).map_err(plot_error)?.0))
}

/// The height of a line of text at `pt` points, in user units.
fn line_height(pt: f64) -> f64 {
    units(pt * 1.3)
}

/// How a series marks its points.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Mark {
    /// A line through the points.
    Line,
    /// A line with a marker at each point (the original's stage figures).
    LineDots,
    /// Markers only (scatter plots).
    Dots,
    /// Open circles, no line: points shown but not read as an effect (ratios of chance-level accuracies).
    Rings,
    /// Bars centred on x, `width` wide in x units (histograms).
    Bars { width: f64 },
    /// The points' `lo..hi` alone, as an opaque region under the reference lines and series (the allowance of a
    /// difference panel); named in the legend by the series' label.
    Region,
}

/// One point: the value and its band (the 95 % interval, or the smallest and largest seed's value; equal to `y`
/// when there is none).
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

/// One line (or set of markers, or bars) in a panel.
#[derive(Clone, Debug)]
pub struct Series {
    pub label: String,
    pub colour: Colour,
    pub dash: Dash,
    pub mark: Mark,
    /// The marker's shape for [`Mark::LineDots`] and [`Mark::Dots`].
    pub marker: Marker,
    pub points: Vec<Point>,
    /// The original's values drawn under a run's (thin, open markers, one legend entry for all).
    pub overlay: bool,
    /// The colour of the series' legend sample, where it differs from the series' (a marker shape standing for a
    /// layer whatever the regime's colour).
    pub legend_colour: Option<Colour>,
    /// Why a series the figure would draw has no points (e.g. "no valid fit"): named in the legend, not silently
    /// left out.
    pub missing: Option<String>,
}

impl Series {
    /// A series from (x, y) samples, one per seed: points sorted by x, with the mean and the range over seeds.
    pub fn from_samples(label: &str, colour: Colour, dash: Dash, mark: Mark, samples: &[(f64, f64)]) -> Series {
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
            marker: Marker::Circle,
            points,
            overlay: false,
            legend_colour: None,
            missing: None,
        }
    }

    /// A series with no points, named in the legend with the reason (e.g. "no valid fit").
    pub fn missing(label: &str, colour: Colour, reason: &str) -> Series {
        Series {
            missing: Some(reason.to_string()),
            ..Series::from_samples(label, colour, Dash::Solid, Mark::Line, &[])
        }
    }

    /// Whether any point has a band.
    fn has_band(&self) -> bool {
        !self.overlay && self.mark != Mark::Region && self.points.iter().any(|p| p.hi > p.lo)
    }
}

/// A horizontal or vertical reference line (chance level, the training sigma, a threshold), named in the legend.
#[derive(Clone, Debug)]
pub struct RefLine {
    pub at: f64,
    pub colour: Colour,
    pub dash: Dash,
    pub label: String,
}

impl RefLine {
    /// A reference line of `style` at `at` (thin, grey, dash-dotted: unlike any data series), named `label` in the
    /// legend.
    pub fn new(style: &Style, at: f64, label: &str) -> RefLine {
        RefLine { at, colour: style.reference_colour, dash: Dash::DashDot, label: label.to_string() }
    }
}

/// One rectangle of a heat map (a histogram against epoch), coloured by `value` on the figure's [`ColourScale`].
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct HeatCell {
    pub x: (f64, f64),
    pub y: (f64, f64),
    pub value: f64,
}

/// What the colours of heat cells mean: 0 to `max` on viridis (perceptually uniform and colour-blind safe).
#[derive(Clone, Debug, PartialEq)]
pub struct ColourScale {
    pub label: String,
    pub max: f64,
}

/// Viridis at `v` in [0, 1] (matplotlib's, at nine stops, linearly between them).
pub fn viridis(v: f64) -> Colour {
    const STOPS: [(u8, u8, u8); 9] = [
        (68, 1, 84),
        (71, 44, 122),
        (59, 81, 139),
        (44, 113, 142),
        (33, 144, 141),
        (39, 173, 129),
        (92, 200, 99),
        (170, 220, 50),
        (253, 231, 37),
    ];
    let t = v.clamp(0.0, 1.0) * (STOPS.len() - 1) as f64;
    let (i, f) = ((t.floor() as usize).min(STOPS.len() - 2), t - t.floor().min((STOPS.len() - 2) as f64));
    let mix = |a: u8, b: u8| (f64::from(a) + (f64::from(b) - f64::from(a)) * f).round() as u8;
    let (a, b) = (STOPS[i], STOPS[i + 1]);
    Colour(mix(a.0, b.0), mix(a.1, b.1), mix(a.2, b.2))
}

/// One axes.
#[derive(Clone, Debug)]
pub struct Panel {
    /// The panel's name: drawn above it unless the figure has row and column headings, and how an overlay finds the
    /// panel it belongs to.
    pub title: String,
    pub x_label: String,
    pub y_label: String,
    pub x_range: (f64, f64),
    /// Fixed y range; by default the data's range with a margin.
    pub y_range: Option<(f64, f64)>,
    pub series: Vec<Series>,
    pub hlines: Vec<RefLine>,
    pub vlines: Vec<RefLine>,
    pub cells: Vec<HeatCell>,
}

impl Panel {
    pub fn new(title: &str, x_label: &str, y_label: &str, x_range: (f64, f64)) -> Panel {
        Panel {
            title: title.to_string(),
            x_label: x_label.to_string(),
            y_label: y_label.to_string(),
            x_range,
            y_range: None,
            series: Vec::new(),
            hlines: Vec::new(),
            vlines: Vec::new(),
            cells: Vec::new(),
        }
    }

    /// The smallest and largest y the panel must show (bands, bars from 0, reference lines, cells), unpadded.
    pub(super) fn data_y(&self) -> Option<(f64, f64)> {
        let ys = self.series.iter().flat_map(|s| {
            let bars = matches!(s.mark, Mark::Bars { .. });
            s.points.iter().flat_map(move |p| [p.lo, p.hi].into_iter().chain(bars.then_some(0.0)))
        });
        let ys = ys.chain(self.hlines.iter().map(|l| l.at)).chain(self.cells.iter().flat_map(|c| [c.y.0, c.y.1]));
        let (lo, hi) = ys.fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), y| (lo.min(y), hi.max(y)));
        lo.is_finite().then_some((lo, hi))
    }

    fn y_extent(&self) -> (f64, f64) {
        self.y_range.unwrap_or_else(|| self.data_y().map_or((0.0, 1.0), padded_y))
    }

    fn x_ticks(&self) -> Ticks {
        Ticks::between(self.x_range.0, self.x_range.1, X_TICKS)
    }

    fn y_ticks(&self) -> Ticks {
        let (lo, hi) = self.y_extent();
        Ticks::between(lo, hi, Y_TICKS)
    }
}

/// A y range with 8 % margin (none below a non-negative range's 0).
pub(super) fn padded_y((lo, hi): (f64, f64)) -> (f64, f64) {
    let pad = ((hi - lo) * 0.08).max(hi.abs().max(1e-3) * 0.02);
    let lo = if lo >= 0.0 && lo - pad < 0.0 { 0.0 } else { lo - pad };
    (lo, hi + pad)
}

/// A whole figure: a title, a subtitle (what the numbers are), one legend for all panels, panels in a grid of
/// `columns`, laid out at `width_pt`.
#[derive(Clone, Debug)]
pub struct Figure {
    pub id: String,
    pub title: String,
    /// What the drawn numbers are (e.g. a run on the embedded stand-ins); empty for none.
    pub subtitle: String,
    pub columns: usize,
    pub panels: Vec<Panel>,
    /// A plot area's height over its width.
    pub aspect: f64,
    /// The print width in points (the catalogue's); the figure cannot be drawn before it is set.
    pub width_pt: f64,
    /// The legend's name for the overlay series (the original's values under a run's), when there are any.
    pub overlay_label: String,
    /// The marker the overlay draws for series without one.
    pub overlay_marker: Marker,
    /// The legend's name for the shaded bands, when any series has one.
    pub band_label: String,
    /// Headings above the columns and above each row, drawn instead of the panels' titles (a grid of datasets by
    /// epochs); empty for none.
    pub column_titles: Vec<String>,
    pub row_titles: Vec<String>,
    /// The colours of heat cells, when the panels have any.
    pub colour_scale: Option<ColourScale>,
    /// A sentence under the panels (e.g. why their y ranges differ); empty for none.
    pub note: String,
}

impl Figure {
    /// A figure of `panels` in `columns` columns, each plot `aspect` times as high as it is wide; untitled (the
    /// catalogue titles it) and without a width (the catalogue gives it).
    pub fn new(id: &str, columns: usize, panels: Vec<Panel>, aspect: f64) -> Figure {
        Figure {
            id: id.to_string(),
            title: String::new(),
            subtitle: String::new(),
            columns,
            panels,
            aspect,
            width_pt: 0.0,
            overlay_label: String::new(),
            overlay_marker: Marker::Diamond,
            band_label: String::new(),
            column_titles: Vec::new(),
            row_titles: Vec::new(),
            colour_scale: None,
            note: String::new(),
        }
    }

    /// Whether the figure has nothing to draw and no missing series to name.
    pub fn is_empty(&self) -> bool {
        self.panels
            .iter()
            .all(|p| p.cells.is_empty() && p.series.iter().all(|s| s.points.is_empty() && s.missing.is_none()))
    }

    /// Give every panel one y range, the union of their data's, so that equal values look equal across panels.
    pub fn share_y(&mut self) {
        let union = self.panels.iter().filter_map(Panel::data_y).reduce(|a, b| (a.0.min(b.0), a.1.max(b.1)));
        if let Some(range) = union {
            let range = padded_y(range);
            self.panels.iter_mut().for_each(|p| p.y_range = Some(range));
        }
    }

    /// Give every panel one x range, the union of theirs.
    pub fn share_x(&mut self) {
        let union = self.panels.iter().map(|p| p.x_range).reduce(|a, b| (a.0.min(b.0), a.1.max(b.1)));
        if let Some(range) = union {
            self.panels.iter_mut().for_each(|p| p.x_range = range);
        }
    }

    /// The numbers behind the figure: one CSV row per point (`panel,series,overlay,x,y,lo,hi`); heat cells as
    /// series `cells` at the cell's centre with its value as y.
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
            for c in &panel.cells {
                let (x, y) = ((c.x.0 + c.x.1) / 2.0, (c.y.0 + c.y.1) / 2.0);
                let _ = writeln!(
                    out,
                    "{},cells,false,{},{},{},{}",
                    csv_text(&panel.title),
                    round(x),
                    round(y),
                    round(c.value),
                    round(c.value)
                );
            }
        }
        out
    }

    fn columns(&self) -> usize {
        self.columns.clamp(1, self.panels.len().max(1))
    }

    /// The figure as SVG, laid out at its print width.
    pub fn svg(&self) -> Result<String> {
        register_font()?;
        if self.width_pt <= 0.0 {
            bail!("figure {} has no print width (the catalogue gives it)", self.id);
        }
        let layout = Layout::of(self)?;
        let mut svg = String::new();
        {
            let size = (layout.width.round() as u32, layout.height.round() as u32);
            let root = SVGBackend::with_string(&mut svg, size).into_drawing_area();
            self.draw(&root, &layout)?;
            root.present().map_err(|e| anyhow!("cannot finish the SVG of {}: {e}", self.id))?;
        }
        Ok(print::root_in_points(&svg))
    }

    /// Write the figure as `<stem>.svg`, `.pdf` and `.png` (path without extension), the PNG at `png_dpi`.
    pub fn write(&self, stem: &Path, png_dpi: f64) -> Result<()> {
        super::render::write_svg_pdf_png(stem, &self.svg()?, png_dpi)
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>, layout: &Layout) -> Result<()> {
        root.fill(&WHITE).map_err(plot_error)?;
        let margin = units(MARGIN_PT) as i32;
        let left = pos(HPos::Left, VPos::Top);
        let mut y = margin;
        for line in &layout.title_lines {
            root.draw_text(line, &font(TITLE_PT).color(&BLACK).pos(left), (margin, y)).map_err(plot_error)?;
            y += line_height(TITLE_PT) as i32;
        }
        if !self.subtitle.is_empty() {
            let style = font(TEXT_PT).color(&RGBColor(70, 70, 70)).pos(left);
            root.draw_text(&self.subtitle, &style, (margin, y)).map_err(plot_error)?;
        }
        layout.legend.draw(root, layout.legend_top, self.colour_scale.as_ref())?;
        let centre = pos(HPos::Center, VPos::Center);
        let heading = font(LABEL_PT).color(&BLACK);
        for (c, title) in self.column_titles.iter().enumerate().take(self.columns()) {
            let x = layout.columns_x[c] + layout.plot_w / 2.0;
            let y = layout.column_headings_y;
            root.draw_text(title, &heading.pos(centre), (x as i32, y as i32)).map_err(plot_error)?;
        }
        for (r, row) in layout.rows.iter().enumerate() {
            if let Some(title) = self.row_titles.get(r) {
                let y = row.plot_top - row.title_h - row.heading_h / 2.0;
                let style = heading.pos(pos(HPos::Left, VPos::Center));
                root.draw_text(title, &style, (layout.columns_x[0] as i32, y as i32)).map_err(plot_error)?;
            }
        }
        for (i, panel) in self.panels.iter().enumerate() {
            let (r, c) = (i / self.columns(), i % self.columns());
            let row = &layout.rows[r];
            let plot = Plot {
                x: layout.columns_x[c],
                y: row.plot_top,
                w: layout.plot_w,
                h: layout.plot_h,
                x_range: panel.x_range,
                y_range: panel.y_extent(),
            };
            if self.row_titles.is_empty() && self.column_titles.is_empty() {
                for (k, line) in layout.titles[i].iter().enumerate() {
                    let y = row.plot_top - row.title_h + (k as f64 + 0.5) * line_height(LABEL_PT);
                    let x = plot.x + plot.w / 2.0;
                    root.draw_text(line, &heading.pos(centre), (x as i32, y as i32)).map_err(plot_error)?;
                }
            }
            let ticks = (layout.x_tick_labels[i], layout.y_tick_labels[i]);
            draw_panel(root, &plot, panel, ticks, self)?;
        }
        self.draw_axis_labels(root, layout)?;
        if !self.note.is_empty() {
            let style = font(TEXT_PT).color(&BLACK).pos(left);
            for (k, line) in layout.note_lines.iter().enumerate() {
                let y = layout.note_top + k as f64 * line_height(TEXT_PT);
                root.draw_text(line, &style, (margin, y as i32)).map_err(plot_error)?;
            }
        }
        Ok(())
    }

    /// The y labels at the left (one centred on all rows when every row has the same, else one per row) and the x
    /// labels below (one centred under all columns when every column has the same, else one under each column's
    /// lowest panel).
    fn draw_axis_labels<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>, layout: &Layout) -> Result<()> {
        let style = font(LABEL_PT).color(&BLACK);
        let vertical = style.transform(FontTransform::Rotate270).pos(pos(HPos::Center, VPos::Center));
        for (label, top, bottom) in layout.y_labels(self) {
            let lines = fit_lines(&label, bottom - top, LABEL_PT)?;
            for (k, line) in lines.iter().enumerate() {
                let x = units(MARGIN_PT) + (k as f64 + 0.5) * line_height(LABEL_PT);
                root.draw_text(line, &vertical, (x as i32, ((top + bottom) / 2.0) as i32)).map_err(plot_error)?;
            }
        }
        let horizontal = style.pos(pos(HPos::Center, VPos::Center));
        for (label, left, right, y) in layout.x_labels(self) {
            root.draw_text(&label, &horizontal, (((left + right) / 2.0) as i32, y as i32)).map_err(plot_error)?;
        }
        Ok(())
    }
}

fn pos(h: HPos, v: VPos) -> Pos {
    Pos::new(h, v)
}

/// Ticks on x and y: at least this many.
const X_TICKS: usize = 4;
const Y_TICKS: usize = 4;
/// Blank border around the figure.
const MARGIN_PT: f64 = 3.0;
/// Room right of each plot (half a tick label may stick out) and below each row.
const RIGHT_PT: f64 = 6.0;
const ROW_GAP_PT: f64 = 3.0;
/// Tick marks; plotters sets tick labels twice this far from the axis.
const TICK_PT: f64 = 1.5;

/// Where everything of a figure goes, in user units.
struct Layout {
    width: f64,
    title_lines: Vec<String>,
    height: f64,
    legend: Legend,
    legend_top: f64,
    column_headings_y: f64,
    plot_w: f64,
    plot_h: f64,
    /// Each column's plot left edge.
    columns_x: Vec<f64>,
    rows: Vec<RowLayout>,
    /// Each panel's title, in one or two lines.
    titles: Vec<Vec<String>>,
    /// Whether each panel writes its x and y tick labels.
    x_tick_labels: Vec<bool>,
    y_tick_labels: Vec<bool>,
    /// Whether one x label serves all columns, and where it goes.
    shared_x_label: bool,
    bottom_label_y: f64,
    note_lines: Vec<String>,
    note_top: f64,
}

struct RowLayout {
    plot_top: f64,
    heading_h: f64,
    title_h: f64,
    /// Below the plot: its tick labels, then (where a column ends in this row) the column's x label.
    ticks_h: f64,
}

impl Layout {
    fn of(figure: &Figure) -> Result<Layout> {
        let width = units(figure.width_pt);
        let margin = units(MARGIN_PT);
        let columns = figure.columns();
        let n = figure.panels.len();
        let rows = n.div_ceil(columns).max(1);
        let at = |r: usize, c: usize| (r * columns + c < n).then(|| &figure.panels[r * columns + c]);
        let bottom_row = |c: usize| (0..rows).rev().find(|&r| at(r, c).is_some()).unwrap_or(0);

        // Tick labels: left off where every panel of the row (y) or column (x) has the same range.
        let same_y = |r: usize| {
            let extents: Vec<_> = (0..columns).filter_map(|c| at(r, c)).map(Panel::y_extent).collect();
            extents.windows(2).all(|w| w[0] == w[1])
        };
        let same_x = |c: usize| {
            let ranges: Vec<_> = (0..rows).filter_map(|r| at(r, c)).map(|p| p.x_range).collect();
            ranges.windows(2).all(|w| w[0] == w[1])
        };
        let y_tick_labels: Vec<bool> = (0..n).map(|i| i % columns == 0 || !same_y(i / columns)).collect();
        let x_tick_labels: Vec<bool> =
            (0..n).map(|i| i / columns == bottom_row(i % columns) || !same_x(i % columns)).collect();

        let tick_room = units(TICK_PT) * 2.0;
        let y_label_w = |i: usize| -> Result<f64> {
            let ticks = figure.panels[i].y_ticks();
            let mut widest = 0.0f64;
            for &v in &ticks.values {
                widest = widest.max(text_width(&ticks.label(v), TEXT_PT)?);
            }
            Ok(widest + tick_room + units(1.0))
        };
        let mut column_left = vec![tick_room; columns];
        for i in 0..n {
            if y_tick_labels[i] {
                column_left[i % columns] = column_left[i % columns].max(y_label_w(i)?);
            }
        }
        // A y label runs along its plots (along all of the consecutive rows that share it, Layout::y_labels); one
        // longer than that is high takes two lines.
        let one_label = figure.panels.windows(2).all(|w| w[0].y_label == w[1].y_label);
        let firsts: Vec<&str> = figure.panels.iter().step_by(columns).map(|p| p.y_label.as_str()).collect();
        let rows_sharing = |label: &str| {
            if one_label {
                rows
            } else {
                let runs = firsts.chunk_by(|a, b| a == b).filter(|run| run[0] == label);
                runs.map(<[&str]>::len).max().unwrap_or(1)
            }
        };
        let row_span = (width / columns as f64) * 0.8 * figure.aspect;
        let mut y_label_lines = 0;
        for panel in &figure.panels {
            let span = row_span * rows_sharing(&panel.y_label) as f64;
            y_label_lines = y_label_lines.max(fit_lines(&panel.y_label, span, LABEL_PT)?.len());
        }
        let y_label_w = if y_label_lines > 0 { y_label_lines as f64 * line_height(LABEL_PT) + units(1.0) } else { 0.0 };
        let right = units(RIGHT_PT);
        let plot_w = ((width - 2.0 * margin - y_label_w - column_left.iter().sum::<f64>() - columns as f64 * right)
            / columns as f64)
            .floor();
        if plot_w < units(20.0) {
            bail!("figure {}: {columns} panels do not fit {} pt", figure.id, figure.width_pt);
        }
        let plot_h = (plot_w * figure.aspect).floor();
        let mut columns_x = Vec::with_capacity(columns);
        let mut x = margin + y_label_w;
        for left in &column_left {
            columns_x.push((x + left).round());
            x += left + plot_w + right;
        }

        // Titles, broken into two lines where one does not fit its panel.
        let draw_titles = figure.row_titles.is_empty() && figure.column_titles.is_empty();
        let mut titles = Vec::with_capacity(n);
        for panel in &figure.panels {
            titles.push(if draw_titles { fit_lines(&panel.title, plot_w + right, LABEL_PT)? } else { Vec::new() });
        }

        let title_lines = wrap(&figure.title, width - 2.0 * margin, TITLE_PT)?;
        let mut y = margin + title_lines.len() as f64 * line_height(TITLE_PT);
        if !figure.subtitle.is_empty() {
            y += line_height(TEXT_PT);
        }
        y += units(1.5);
        let legend = Legend::of(figure, width - 2.0 * margin)?;
        let legend_top = y;
        y += legend.height();
        let column_headings_y = y + line_height(LABEL_PT) / 2.0;
        if !figure.column_titles.is_empty() {
            y += line_height(LABEL_PT);
        }
        let x_labels: Vec<&str> =
            (0..columns).filter_map(|c| at(bottom_row(c), c)).map(|p| p.x_label.as_str()).collect();
        let shared_x_label = x_labels.windows(2).all(|w| w[0] == w[1]);
        let tick_h = line_height(TEXT_PT) + tick_room;
        let x_label_h = line_height(LABEL_PT);
        let mut row_layouts = Vec::with_capacity(rows);
        for r in 0..rows {
            let heading_h = if figure.row_titles.get(r).is_some() { line_height(LABEL_PT) + units(1.5) } else { 0.0 };
            let lines = (0..columns).filter(|&c| at(r, c).is_some()).map(|c| titles[r * columns + c].len()).max();
            let title_h =
                lines.unwrap_or(0) as f64 * line_height(LABEL_PT) + if draw_titles { units(1.0) } else { 0.0 };
            let any_ticks = (0..columns).any(|c| at(r, c).is_some() && x_tick_labels[r * columns + c]);
            let ends_column =
                (0..columns).any(|c| bottom_row(c) == r && at(r, c).is_some_and(|p| !p.x_label.is_empty()));
            let ticks_h = if any_ticks { tick_h } else { tick_room }
                + if ends_column && !shared_x_label { x_label_h } else { 0.0 };
            y += heading_h + title_h;
            row_layouts.push(RowLayout { plot_top: y.round(), heading_h, title_h, ticks_h });
            y += plot_h + ticks_h + units(ROW_GAP_PT);
        }
        let bottom_label_y = y - units(ROW_GAP_PT) + x_label_h / 2.0 - units(1.0);
        if shared_x_label && x_labels.iter().any(|l| !l.is_empty()) {
            y += x_label_h;
        }
        let note_top = y;
        let note_lines =
            if figure.note.is_empty() { Vec::new() } else { wrap(&figure.note, width - 2.0 * margin, TEXT_PT)? };
        y += note_lines.len() as f64 * line_height(TEXT_PT);
        Ok(Layout {
            width,
            title_lines,
            height: (y + margin).ceil(),
            legend,
            legend_top,
            column_headings_y,
            plot_w,
            plot_h,
            columns_x,
            rows: row_layouts,
            titles,
            x_tick_labels,
            y_tick_labels,
            shared_x_label,
            bottom_label_y,
            note_lines,
            note_top,
        })
    }

    /// Each y label with the top and bottom of the plots it names: one per run of consecutive rows with the same
    /// label (one for all rows where they agree).
    fn y_labels(&self, figure: &Figure) -> Vec<(String, f64, f64)> {
        let columns = figure.columns();
        let firsts = figure.panels.iter().step_by(columns);
        let mut labels: Vec<(String, f64, f64)> = Vec::new();
        for (row, panel) in self.rows.iter().zip(firsts) {
            match labels.last_mut() {
                Some((label, _, bottom)) if *label == panel.y_label => *bottom = row.plot_top + self.plot_h,
                _ => labels.push((panel.y_label.clone(), row.plot_top, row.plot_top + self.plot_h)),
            }
        }
        labels
    }

    /// Each x label with the left and right of the plots it names and its centre line.
    fn x_labels(&self, figure: &Figure) -> Vec<(String, f64, f64, f64)> {
        let columns = figure.columns();
        let n = figure.panels.len();
        let lowest = |c: usize| (c..n).step_by(columns).next_back();
        if self.shared_x_label {
            let label = lowest(0).map(|i| figure.panels[i].x_label.clone()).unwrap_or_default();
            let (Some(left), Some(right)) = (self.columns_x.first(), self.columns_x.last()) else { return Vec::new() };
            return vec![(label, *left, right + self.plot_w, self.bottom_label_y)];
        }
        (0..columns)
            .filter_map(|c| lowest(c).map(|i| (c, i)))
            .map(|(c, i)| {
                let row = &self.rows[i / columns];
                let y = row.plot_top + self.plot_h + row.ticks_h - line_height(LABEL_PT) / 2.0;
                (figure.panels[i].x_label.clone(), self.columns_x[c], self.columns_x[c] + self.plot_w, y)
            })
            .collect()
    }
}

/// `text` in one line if it fits `width` at `pt`, else in two, broken at the space nearest the middle.
pub(super) fn fit_lines(text: &str, width: f64, pt: f64) -> Result<Vec<String>> {
    if text.is_empty() {
        return Ok(Vec::new());
    }
    if text_width(text, pt)? <= width {
        return Ok(vec![text.to_string()]);
    }
    let middle = text.len() / 2;
    let split = text.match_indices(' ').map(|(i, _)| i).min_by_key(|&i| i.abs_diff(middle));
    Ok(match split {
        Some(i) => vec![text[..i].to_string(), text[i + 1..].to_string()],
        None => vec![text.to_string()],
    })
}

/// `text` wrapped at spaces into lines no wider than `width` at `pt`.
pub(super) fn wrap(text: &str, width: f64, pt: f64) -> Result<Vec<String>> {
    let mut lines: Vec<String> = Vec::new();
    let mut line = String::new();
    for word in text.split(' ') {
        let candidate = if line.is_empty() { word.to_string() } else { format!("{line} {word}") };
        if !line.is_empty() && text_width(&candidate, pt)? > width {
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

pub(super) fn rgb(c: Colour) -> RGBColor {
    RGBColor(c.0, c.1, c.2)
}

/// `c` at `opacity` over white, as an opaque colour: bars that never overlap need no transparency (which the PDF
/// would carry as one transparency group per bar).
fn on_white(c: Colour, opacity: f64) -> Colour {
    let over = |v: u8| (255.0 - (255.0 - f64::from(v)) * opacity).round() as u8;
    Colour(over(c.0), over(c.1), over(c.2))
}

/// What a legend entry shows before its label.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Sample {
    /// A line in `dash`, `width_pt` wide, with a marker in the middle (filled or open).
    Line {
        dash: Dash,
        width_pt: f64,
        marker: Option<(Marker, bool)>,
    },
    /// A vertical line (a reference line at an x value).
    VLine {
        dash: Dash,
    },
    Marker(Marker),
    Ring,
    /// A shaded band.
    Band,
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

/// The colour of legend samples that stand for a kind of line, not a series (the band, the overlay).
const NEUTRAL: Colour = Colour(90, 90, 90);
const SAMPLE_PT: f64 = 14.0;
const LEGEND_GAP_PT: f64 = 8.0;
/// Width of the colour ramp of a heat map's scale in the legend.
const RAMP_PT: f64 = 50.0;

/// The legend of a figure, each label once, in order of first appearance within five groups: the drawn series;
/// their band; the points not read as effects and the missing series (with their reason); the original's overlay;
/// the reference lines. Wrapped into rows that fit the figure's width; a heat map's colour scale comes last.
#[derive(Clone, Debug)]
struct Legend {
    /// Each entry with its position (row, x offset from the left margin).
    placed: Vec<(LegendEntry, usize, f64)>,
    /// The colour scale's row and x offset, when the figure has one.
    scale: Option<(usize, f64)>,
}

impl Legend {
    fn of(figure: &Figure, width: f64) -> Result<Legend> {
        let mut groups: [Vec<LegendEntry>; 5] = Default::default();
        let mut add = |group: usize, entry: LegendEntry| {
            if !groups.iter().flatten().any(|e| e.label == entry.label) {
                groups[group].push(entry);
            }
        };
        let series = figure.panels.iter().flat_map(|p| &p.series);
        for s in series.clone().filter(|s| !s.overlay) {
            let colour = s.legend_colour.unwrap_or(s.colour);
            let (group, label, sample) = match (&s.missing, s.mark) {
                (Some(reason), _) => (2, format!("{}: {reason}", s.label), Sample::Missing),
                (None, Mark::Rings) => (2, s.label.clone(), Sample::Ring),
                (None, Mark::Line) => {
                    (0, s.label.clone(), Sample::Line { dash: s.dash, width_pt: DATA_LINE_PT, marker: None })
                }
                (None, Mark::LineDots) => {
                    let marker = Some((s.marker, true));
                    (0, s.label.clone(), Sample::Line { dash: s.dash, width_pt: DATA_LINE_PT, marker })
                }
                (None, Mark::Dots) => (0, s.label.clone(), Sample::Marker(s.marker)),
                (None, Mark::Bars { .. }) => (0, s.label.clone(), Sample::Bar),
                (None, Mark::Region) => (1, s.label.clone(), Sample::Bar),
            };
            add(group, LegendEntry { label, colour, sample });
        }
        if series.clone().any(Series::has_band) && !figure.band_label.is_empty() {
            add(1, LegendEntry { label: figure.band_label.clone(), colour: NEUTRAL, sample: Sample::Band });
        }
        if series.clone().any(|s| s.overlay) {
            let sample = Sample::Line {
                dash: Dash::Solid,
                width_pt: THIN_LINE_PT,
                marker: Some((figure.overlay_marker, false)),
            };
            add(3, LegendEntry { label: figure.overlay_label.clone(), colour: NEUTRAL, sample });
        }
        for panel in &figure.panels {
            for line in &panel.hlines {
                let sample = Sample::Line { dash: line.dash, width_pt: THIN_LINE_PT, marker: None };
                add(4, LegendEntry { label: line.label.clone(), colour: line.colour, sample });
            }
            for line in &panel.vlines {
                add(
                    4,
                    LegendEntry {
                        label: line.label.clone(),
                        colour: line.colour,
                        sample: Sample::VLine { dash: line.dash },
                    },
                );
            }
        }
        let (mut row, mut x) = (0, 0.0);
        let mut placed = Vec::new();
        let mut place = |w: f64| {
            if x > 0.0 && x + w > width {
                row += 1;
                x = 0.0;
            }
            let at = (row, x);
            x += w + units(LEGEND_GAP_PT);
            at
        };
        for entry in groups.into_iter().flatten() {
            let w = units(SAMPLE_PT + 2.0) + text_width(&entry.label, TEXT_PT)?;
            let (r, at) = place(w);
            placed.push((entry, r, at));
        }
        let scale = match &figure.colour_scale {
            Some(scale) => Some(place(Legend::scale_width(scale)?)),
            None => None,
        };
        Ok(Legend { placed, scale })
    }

    /// The colour scale's width: its label, "0", the ramp and its maximum.
    fn scale_width(scale: &ColourScale) -> Result<f64> {
        let texts = text_width(&format!("{}: ", scale.label), TEXT_PT)? + text_width("0", TEXT_PT)?;
        Ok(texts + units(RAMP_PT + 4.0) + text_width(&round(scale.max), TEXT_PT)?)
    }

    fn rows(&self) -> usize {
        let last = self.placed.iter().map(|p| p.1).chain(self.scale.map(|s| s.0)).max();
        last.map_or(0, |r| r + 1)
    }

    fn height(&self) -> f64 {
        self.rows() as f64 * units(LEGEND_ROW_PT) + if self.rows() > 0 { units(2.0) } else { 0.0 }
    }

    fn draw<DB: DrawingBackend>(
        &self,
        area: &DrawingArea<DB, Shift>,
        top: f64,
        scale: Option<&ColourScale>,
    ) -> Result<()> {
        let text = font(TEXT_PT).color(&BLACK).pos(pos(HPos::Left, VPos::Center));
        let left = units(MARGIN_PT);
        let centre_of = |row: usize| top + (row as f64 + 0.5) * units(LEGEND_ROW_PT);
        let sample_w = units(SAMPLE_PT);
        for (entry, row, x) in &self.placed {
            let (x, y) = (left + x, centre_of(*row));
            let colour = entry.colour;
            let (xi, yi) = (x as i32, y as i32);
            match entry.sample {
                Sample::Line { dash, width_pt, marker } => {
                    let points = [(x, y), (x + sample_w, y)];
                    draw_line(area, &points, colour, dash, width_pt)?;
                    if let Some((shape, filled)) = marker {
                        draw_marker(area, ((x + sample_w / 2.0) as i32, yi), shape, colour, filled)?;
                    }
                }
                Sample::VLine { dash } => {
                    let half = units(TEXT_PT) / 2.0;
                    let points = [(x + sample_w / 2.0, y - half), (x + sample_w / 2.0, y + half)];
                    draw_line(area, &points, colour, dash, THIN_LINE_PT)?;
                }
                Sample::Marker(shape) => draw_marker(area, ((x + sample_w / 2.0) as i32, yi), shape, colour, true)?,
                Sample::Ring => draw_marker(area, ((x + sample_w / 2.0) as i32, yi), Marker::Circle, colour, false)?,
                Sample::Band | Sample::Bar => {
                    let h = units(TEXT_PT) / 2.0;
                    let fill = if entry.sample == Sample::Band {
                        rgb(colour).mix(BAND_OPACITY).filled()
                    } else {
                        rgb(colour).filled()
                    };
                    let rect = Rectangle::new([(xi, (y - h) as i32), ((x + sample_w) as i32, (y + h) as i32)], fill);
                    area.draw(&rect).map_err(plot_error)?;
                }
                Sample::Missing => {
                    let h = units(TEXT_PT) / 2.0;
                    let stroke = rgb(colour).stroke_width(whole_units(THIN_LINE_PT));
                    let (l, r) = ((x + units(2.0)) as i32, (x + sample_w - units(2.0)) as i32);
                    let (t, b) = ((y - h) as i32, (y + h) as i32);
                    area.draw(&PathElement::new(vec![(l, t), (r, t), (r, b), (l, b), (l, t)], stroke))
                        .map_err(plot_error)?;
                }
            }
            area.draw_text(&entry.label, &text, ((x + sample_w + units(2.0)) as i32, yi)).map_err(plot_error)?;
        }
        if let (Some(scale), Some((row, x))) = (scale, self.scale) {
            let (mut x, y) = (left + x, centre_of(row));
            let label = format!("{}: ", scale.label);
            area.draw_text(&label, &text, (x as i32, y as i32)).map_err(plot_error)?;
            x += text_width(&label, TEXT_PT)?;
            area.draw_text("0", &text, (x as i32, y as i32)).map_err(plot_error)?;
            x += text_width("0", TEXT_PT)? + units(2.0);
            let steps = 40;
            let (h, step) = (units(TEXT_PT) / 2.0, units(RAMP_PT) / f64::from(steps));
            for k in 0..steps {
                let colour = rgb(viridis((f64::from(k) + 0.5) / f64::from(steps)));
                let x0 = x + f64::from(k) * step;
                let rect = Rectangle::new(
                    [(x0 as i32, (y - h) as i32), ((x0 + step).ceil() as i32, (y + h) as i32)],
                    colour.filled(),
                );
                area.draw(&rect).map_err(plot_error)?;
            }
            x += units(RAMP_PT + 2.0);
            area.draw_text(&round(scale.max), &text, (x as i32, y as i32)).map_err(plot_error)?;
        }
        Ok(())
    }
}

const LEGEND_ROW_PT: f64 = 10.0;
/// Opacity of a shaded band over its series' colour.
const BAND_OPACITY: f64 = 0.2;
/// A marker's radius.
const MARKER_PT: f64 = 1.6;

/// A panel's plot area in user units and the data ranges it maps.
struct Plot {
    x: f64,
    y: f64,
    w: f64,
    h: f64,
    x_range: (f64, f64),
    y_range: (f64, f64),
}

impl Plot {
    /// Data coordinates in user units (y up).
    fn map(&self, (x, y): (f64, f64)) -> (f64, f64) {
        let fx = (x - self.x_range.0) / (self.x_range.1 - self.x_range.0);
        let fy = (y - self.y_range.0) / (self.y_range.1 - self.y_range.0);
        (self.x + fx * self.w, self.y + (1.0 - fy) * self.h)
    }

    fn map_i(&self, p: (f64, f64)) -> (i32, i32) {
        let (x, y) = self.map(p);
        (x.round() as i32, y.round() as i32)
    }
}

/// A linear axis whose grid lines and labels are exactly the given ticks (plotters' own choice gave two labels
/// on some narrow ranges).
#[derive(Clone)]
struct Axis {
    linear: RangedCoordf64,
    ticks: Vec<f64>,
}

impl Axis {
    fn new(range: (f64, f64), ticks: &Ticks) -> Axis {
        Axis { linear: (range.0..range.1).into(), ticks: ticks.values.clone() }
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

/// One panel: grid, axes and tick labels (plotters), reference lines, heat cells, bands, series (the original's
/// first, so that the run's are drawn over them) and a frame.
fn draw_panel<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    plot: &Plot,
    panel: &Panel,
    (x_labels, y_labels): (bool, bool),
    figure: &Figure,
) -> Result<()> {
    let (x_ticks, y_ticks) = (panel.x_ticks(), panel.y_ticks());
    let tick = units(TICK_PT);
    let (left, below) = ((tick * 2.0 + units(20.0)) as u32, (tick * 2.0 + line_height(TEXT_PT)) as u32);
    let (px, py, pw, ph) = (plot.x as i32, plot.y as i32, plot.w as u32, plot.h as u32);
    let area = root.clone().shrink((px - left as i32, py), (pw + left, ph + below));
    let mut chart = ChartBuilder::on(&area)
        .y_label_area_size(left)
        .x_label_area_size(below)
        .build_cartesian_2d(Axis::new(plot.x_range, &x_ticks), Axis::new(plot.y_range, &y_ticks))
        .map_err(plot_error)?;
    let axis = ShapeStyle::from(&BLACK).stroke_width(whole_units(HAIRLINE_PT));
    let (x_format, y_format) = (|x: &f64| x_ticks.label(*x), |y: &f64| y_ticks.label(*y));
    let mut mesh = chart.configure_mesh();
    mesh.bold_line_style(ShapeStyle::from(&RGBColor(226, 226, 226)).stroke_width(whole_units(HAIRLINE_PT)))
        .axis_style(axis)
        .set_all_tick_mark_size(tick as i32)
        .label_style(font(TEXT_PT))
        .x_labels(x_ticks.values.len())
        .y_labels(y_ticks.values.len())
        .x_label_formatter(&x_format)
        .y_label_formatter(&y_format);
    if !x_labels {
        mesh.disable_x_axis();
    }
    if !y_labels {
        mesh.disable_y_axis();
    }
    mesh.draw().map_err(plot_error)?;

    for cell in &panel.cells {
        let max = figure.colour_scale.as_ref().map_or(1.0, |s| s.max.max(1e-12));
        let colour = rgb(viridis(cell.value / max));
        let (a, b) = (plot.map_i((cell.x.0, cell.y.1)), plot.map_i((cell.x.1, cell.y.0)));
        // One unit over its neighbours, so that no seam of background shows between cells.
        root.draw(&Rectangle::new([a, (b.0 + 1, b.1 + 1)], colour.filled())).map_err(plot_error)?;
    }
    for series in panel.series.iter().filter(|s| s.mark == Mark::Region) {
        root.draw(&Polygon::new(band_outline(plot, series), rgb(series.colour).filled())).map_err(plot_error)?;
    }
    let (x0, x1) = plot.x_range;
    let (y0, y1) = plot.y_range;
    for line in &panel.hlines {
        draw_line(root, &[plot.map((x0, line.at)), plot.map((x1, line.at))], line.colour, line.dash, THIN_LINE_PT)?;
    }
    for line in &panel.vlines {
        draw_line(root, &[plot.map((line.at, y0)), plot.map((line.at, y1))], line.colour, line.dash, THIN_LINE_PT)?;
    }
    for series in panel.series.iter().filter(|s| s.has_band()) {
        if matches!(series.mark, Mark::Line | Mark::LineDots) {
            let band = band_outline(plot, series);
            root.draw(&Polygon::new(band, rgb(series.colour).mix(BAND_OPACITY).filled())).map_err(plot_error)?;
        }
    }
    let overlays = panel.series.iter().filter(|s| s.overlay);
    for series in overlays.chain(panel.series.iter().filter(|s| !s.overlay)) {
        draw_series(root, plot, series, figure.overlay_marker)?;
    }
    let frame = ShapeStyle::from(&RGBColor(120, 120, 120)).stroke_width(whole_units(HAIRLINE_PT));
    // A closed path, not a rectangle: plotters writes no stroke-width for an outlined rectangle.
    let (right, bottom) = (px + pw as i32, py + ph as i32);
    let corners = vec![(px, py), (right, py), (right, bottom), (px, bottom), (px, py)];
    root.draw(&PathElement::new(corners, frame)).map_err(plot_error)?;
    Ok(())
}

/// The outline of a series' band: along its `hi`, back along its `lo`.
fn band_outline(plot: &Plot, series: &Series) -> Vec<(i32, i32)> {
    let upper = series.points.iter().map(|p| plot.map_i((p.x, p.hi)));
    upper.chain(series.points.iter().rev().map(|p| plot.map_i((p.x, p.lo)))).collect()
}

/// A polyline in user units, `width_pt` wide, in `dash`.
fn draw_line<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    points: &[(f64, f64)],
    colour: Colour,
    dash: Dash,
    width_pt: f64,
) -> Result<()> {
    if points.len() < 2 {
        // A lone point has no line (a one-point polyline is not valid SVG); its marker, if any, marks it.
        return Ok(());
    }
    let style = ShapeStyle::from(&rgb(colour)).stroke_width(whole_units(width_pt));
    let pattern: Vec<f64> = dash.pattern_pt().iter().map(|&pt| units(pt)).collect();
    let pieces = if pattern.is_empty() { vec![points.to_vec()] } else { dashes(points, &pattern) };
    for piece in pieces {
        let piece: Vec<(i32, i32)> = piece.iter().map(|&(x, y)| (x.round() as i32, y.round() as i32)).collect();
        area.draw(&PathElement::new(piece, style)).map_err(plot_error)?;
    }
    Ok(())
}

/// The dashes of the polyline `points` (user units): `pattern` alternates drawn and skipped lengths, running on
/// across vertices. Pieces under a unit long are dropped: they would be empty paths once rounded.
fn dashes(points: &[(f64, f64)], pattern: &[f64]) -> Vec<Vec<(f64, f64)>> {
    let mut pieces = Vec::new();
    let (mut piece, mut piece_len): (Vec<(f64, f64)>, f64) = (Vec::new(), 0.0);
    let (mut k, mut left) = (0usize, pattern[0]);
    for pair in points.windows(2) {
        let (p, q) = (pair[0], pair[1]);
        let length = (q.0 - p.0).hypot(q.1 - p.1);
        let at = |t: f64| (p.0 + (q.0 - p.0) * t, p.1 + (q.1 - p.1) * t);
        let mut done = 0.0;
        while done < length {
            let step = left.min(length - done);
            let drawing = k % 2 == 0;
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
                k = (k + 1) % pattern.len();
                left = pattern[k];
            }
        }
    }
    if piece_len >= 1.0 {
        pieces.push(piece);
    }
    pieces
}

/// A marker centred at `at` (user units): filled, or open with a thin outline.
fn draw_marker<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    at: (i32, i32),
    shape: Marker,
    colour: Colour,
    filled: bool,
) -> Result<()> {
    let r = units(MARKER_PT);
    let style = if filled {
        rgb(colour).filled()
    } else {
        ShapeStyle::from(&rgb(colour)).stroke_width(whole_units(THIN_LINE_PT))
    };
    let outline = |corners: &[(f64, f64)]| -> Vec<(i32, i32)> {
        corners.iter().map(|&(dx, dy)| (at.0 + (dx * r).round() as i32, at.1 + (dy * r).round() as i32)).collect()
    };
    let polygon = |corners: &[(f64, f64)]| -> Result<()> {
        let mut points = outline(corners);
        if filled {
            area.draw(&Polygon::new(points, style)).map_err(plot_error)
        } else {
            points.push(points[0]);
            area.draw(&PathElement::new(points, style)).map_err(plot_error)
        }
    };
    match shape {
        Marker::Circle => area.draw(&Circle::new(at, r.round() as i32, style)).map_err(plot_error),
        Marker::Square => polygon(&[(-0.85, -0.85), (0.85, -0.85), (0.85, 0.85), (-0.85, 0.85)]),
        Marker::Triangle => polygon(&[(0.0, -1.15), (1.05, 0.75), (-1.05, 0.75)]),
        Marker::Diamond => polygon(&[(0.0, -1.25), (1.1, 0.0), (0.0, 1.25), (-1.1, 0.0)]),
        Marker::Cross => {
            let stroke =
                ShapeStyle::from(&rgb(colour)).stroke_width(whole_units(if filled { 1.0 } else { THIN_LINE_PT }));
            for line in [[(-1.0, -1.0), (1.0, 1.0)], [(-1.0, 1.0), (1.0, -1.0)]] {
                area.draw(&PathElement::new(outline(&line), stroke)).map_err(plot_error)?;
            }
            Ok(())
        }
    }
}

fn draw_series<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    plot: &Plot,
    series: &Series,
    overlay_marker: Marker,
) -> Result<()> {
    let points: Vec<(f64, f64)> = series.points.iter().map(|p| plot.map((p.x, p.y))).collect();
    let marks = |filled: bool, shape: Marker| -> Result<()> {
        for &(x, y) in &points {
            draw_marker(root, (x.round() as i32, y.round() as i32), shape, series.colour, filled)?;
        }
        Ok(())
    };
    if series.overlay {
        // The original's numbers: a thin line where the run draws one, open markers of the run's shape.
        if matches!(series.mark, Mark::Line | Mark::LineDots) {
            draw_line(root, &points, series.colour, Dash::Solid, THIN_LINE_PT)?;
        }
        let shape = if matches!(series.mark, Mark::LineDots | Mark::Dots) { series.marker } else { overlay_marker };
        return marks(false, shape);
    }
    match series.mark {
        Mark::Line => draw_line(root, &points, series.colour, series.dash, DATA_LINE_PT)?,
        Mark::LineDots => {
            draw_line(root, &points, series.colour, series.dash, DATA_LINE_PT)?;
            marks(true, series.marker)?;
        }
        Mark::Dots => marks(true, series.marker)?,
        Mark::Rings => marks(false, Marker::Circle)?,
        // Drawn under the reference lines (draw_panel).
        Mark::Region => {}
        Mark::Bars { width } => {
            let half = width / 2.0;
            for p in &series.points {
                let (a, b) = (plot.map_i((p.x - half, p.y)), plot.map_i((p.x + half, 0.0)));
                // Bins under a unit high draw nothing (an empty rectangle is not valid SVG).
                if a.1 != b.1 {
                    root.draw(&Rectangle::new([a, b], rgb(on_white(series.colour, 0.85)).filled()))
                        .map_err(plot_error)?;
                }
            }
        }
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
    fn data_csv_lists_every_point_and_cell() {
        let mut panel = Panel::new("Faces, a", "sigma", "acc", (0.0, 1.0));
        panel.series.push(Series::from_samples("clear", Colour(1, 2, 3), Dash::Solid, Mark::Line, &[(0.0, 1.0 / 3.0)]));
        panel.series.push(Series::missing("blurry", Colour(1, 2, 3), "no valid fit"));
        panel.cells.push(HeatCell { x: (1.0, 3.0), y: (0.0, 5.0), value: 7.0 });
        let fig = Figure::new("f", 1, vec![panel], 0.8);
        assert_eq!(
            fig.data_csv(),
            "panel,series,overlay,x,y,lo,hi\n\"Faces, a\",clear,false,0,0.333333,0.333333,0.333333\n\
             \"Faces, a\",cells,false,2,2.5,7,7\n"
        );
    }

    #[test]
    fn dashes_run_on_across_vertices_and_drop_slivers() {
        // A 10-unit then 6-unit polyline, 4 on, 3 off: dashes at 0-4, 7-11 (bending at 10), 14-16.
        let points = [(0.0, 0.0), (10.0, 0.0), (10.0, 6.0)];
        let pieces = dashes(&points, &[4.0, 3.0]);
        assert_eq!(
            pieces,
            vec![
                vec![(0.0, 0.0), (4.0, 0.0)],
                vec![(7.0, 0.0), (10.0, 0.0), (10.0, 1.0)],
                vec![(10.0, 4.0), (10.0, 6.0)]
            ]
        );
        // Dash-dot: 4 on, 1 off, 1 on, 1 off; a last 0.5-unit sliver is dropped.
        let pieces = dashes(&[(0.0, 0.0), (7.5, 0.0)], &[4.0, 1.0, 1.0, 1.0]);
        assert_eq!(pieces, vec![vec![(0.0, 0.0), (4.0, 0.0)], vec![(5.0, 0.0), (6.0, 0.0)]]);
    }

    #[test]
    fn viridis_runs_from_purple_to_yellow() {
        assert_eq!(viridis(0.0), Colour(68, 1, 84));
        assert_eq!(viridis(1.0), Colour(253, 231, 37));
        assert_eq!(viridis(0.5), Colour(33, 144, 141));
    }

    fn line(label: &str, at: f64) -> RefLine {
        RefLine { at, colour: Colour(9, 9, 9), dash: Dash::DashDot, label: label.to_string() }
    }

    #[test]
    fn the_legend_names_series_band_overlay_missing_series_and_reference_lines_once_each() {
        let red = Colour(200, 0, 0);
        let mut panels = Vec::new();
        for title in ["a", "b"] {
            let mut panel = Panel::new(title, "x", "y", (0.0, 1.0));
            panel.series.push(Series::from_samples("near chance", red, Dash::Solid, Mark::Rings, &[(0.0, 1.0)]));
            let mut clear = Series::from_samples("clear", red, Dash::Solid, Mark::LineDots, &[(0.0, 1.0)]);
            clear.points[0].hi = 1.5;
            panel.series.push(clear);
            let mut original = Series::from_samples("clear", red, Dash::Solid, Mark::Line, &[(0.0, 2.0)]);
            original.overlay = true;
            panel.series.push(original);
            panel.series.push(Series::missing("Faces", red, "no valid fit"));
            panel.hlines.push(line("chance", 0.1 * panel.series.len() as f64));
            panel.vlines.push(line("σ = 8", 8.0));
            panels.push(panel);
        }
        let mut figure = Figure::new("f", 2, panels, 0.8);
        figure.overlay_label = "the original's numbers".into();
        figure.band_label = "95 % interval".into();
        let legend = Legend::of(&figure, units(500.0)).unwrap();
        let labels: Vec<&str> = legend.placed.iter().map(|p| p.0.label.as_str()).collect();
        assert_eq!(
            labels,
            [
                "clear",
                "95 % interval",
                "near chance",
                "Faces: no valid fit",
                "the original's numbers",
                "chance",
                "σ = 8"
            ]
        );
        assert_eq!(legend.placed[3].0.sample, Sample::Missing);
        assert_eq!(legend.placed[6].0.sample, Sample::VLine { dash: Dash::DashDot });
    }

    #[test]
    fn a_long_legend_wraps_into_rows_within_the_figure() {
        let mut panel = Panel::new("a", "x", "y", (0.0, 1.0));
        for i in 0..12 {
            let label = format!("a rather long series name {i}");
            panel.series.push(Series::from_samples(&label, Colour(0, 0, 0), Dash::Solid, Mark::Line, &[(0.0, 1.0)]));
        }
        let figure = Figure::new("f", 1, vec![panel], 0.8);
        let width = units(252.0);
        let legend = Legend::of(&figure, width).unwrap();
        assert!(legend.rows() > 3, "{legend:?}");
        for (entry, _, x) in &legend.placed {
            let right = x + units(SAMPLE_PT + 2.0) + text_width(&entry.label, TEXT_PT).unwrap();
            assert!(right <= width, "{} ends at {right}", entry.label);
        }
    }

    #[test]
    fn titles_too_wide_for_a_panel_take_two_lines() {
        let lines = fit_lines("Toybox instance-level, epoch 100", units(60.0), LABEL_PT).unwrap();
        assert_eq!(lines, ["Toybox instance-level,", "epoch 100"]);
        assert_eq!(fit_lines("Faces", units(60.0), LABEL_PT).unwrap(), ["Faces"]);
        assert_eq!(wrap("a b c", units(4.0), TEXT_PT).unwrap(), ["a", "b", "c"]);
    }

    #[test]
    fn the_svg_is_sized_in_points_and_sets_text_at_the_declared_sizes() {
        let mut panel = Panel::new("Toybox category-level", "epoch", "conv1 size", (0.0, 10.0));
        panel.series.push(Series::from_samples("clear", Colour(1, 2, 3), Dash::Dashed, Mark::Line, &[(0.0, 6.2)]));
        let mut figure = Figure::new("f", 1, vec![panel], 0.8);
        figure.title = "Conv1 size".into();
        figure.subtitle = "profile tiny: embedded stand-ins".into();
        assert!(figure.svg().is_err(), "no print width yet");
        figure.width_pt = 252.0;
        let svg = figure.svg().unwrap();
        assert!(svg.starts_with(r#"<svg width="252pt" height=""#), "{}", &svg[..80]);
        for text in ["Conv1 size", "profile tiny: embedded stand-ins", "Toybox category-level", "clear", "epoch", "10"]
        {
            assert!(svg.contains(&format!("\n{text}\n")), "{text} missing from the SVG");
        }
        assert!(svg.contains(r#"font-family="DejaVu Sans, sans-serif""#));
        let sizes: Vec<f64> = svg
            .split("font-size=\"")
            .skip(1)
            .map(|rest| rest.split('"').next().unwrap().parse::<f64>().unwrap() / print::UNITS_PER_PT)
            .collect();
        let smallest = sizes.iter().copied().fold(f64::INFINITY, f64::min);
        assert!((smallest - TEXT_PT).abs() < 1e-6, "{sizes:?}");
    }
}
