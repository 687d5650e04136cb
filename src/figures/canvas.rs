//! What a figure draws, as data, and how it is drawn with plotters.
//!
//! Every figure function reduces a results table to a [`Figure`]: panels of series of points. The series are the
//! exact numbers on the page, so the snapshot tests check them as CSV ([`Figure::data_csv`]) and the renderer never
//! computes anything. Rendering uses the DejaVu Sans font embedded in the binary, so a PNG has the same pixels on
//! every machine.
use std::fmt::Write as _;
use std::io::Cursor;
use std::path::Path;
use std::sync::Once;

use anyhow::{anyhow, Context, Result};
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::FontStyle;

use super::style::{Colour, Dash};

/// The font every figure uses, registered with plotters under [`FONT`] before the first drawing.
const FONT_BYTES: &[u8] = include_bytes!("../../assets/DejaVuSans.ttf");
const FONT: &str = "sans-serif";

pub(super) fn register_font() -> Result<()> {
    static REGISTER: Once = Once::new();
    let mut result = Ok(());
    REGISTER.call_once(|| {
        result = plotters::style::register_font(FONT, FontStyle::Normal, FONT_BYTES)
            .map_err(|_| anyhow!("the embedded DejaVu Sans font (assets/DejaVuSans.ttf) is not a valid TrueType font"));
    });
    result
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
    /// The original's values drawn under a run's (thin, dashed, not in the legend).
    pub overlay: bool,
    /// A short text drawn beside each point (e.g. the layer name in a per-layer scatter).
    pub point_labels: Vec<String>,
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
        Series { label: label.to_string(), colour, dash, mark, points, overlay: false, point_labels: Vec::new() }
    }
}

/// A horizontal or vertical reference line (chance level, the training sigma).
#[derive(Clone, Debug)]
pub struct RefLine {
    pub at: f64,
    pub colour: Colour,
    pub dash: Dash,
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

/// A whole figure: panels in a grid of `columns`, one legend for all of them.
#[derive(Clone, Debug)]
pub struct Figure {
    pub id: String,
    pub title: String,
    pub columns: usize,
    pub panels: Vec<Panel>,
    /// Size of one panel in pixels.
    pub panel_size: (u32, u32),
}

impl Figure {
    /// Whether the figure has anything to draw.
    pub fn is_empty(&self) -> bool {
        self.panels.iter().all(|p| p.series.iter().all(|s| s.points.is_empty()))
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

    fn size(&self) -> (u32, u32) {
        let rows = self.panels.len().div_ceil(self.columns.max(1)) as u32;
        let (w, h) = self.panel_size;
        (w * self.columns as u32, h * rows + TITLE_H + LEGEND_H)
    }

    /// Write the figure as `<path>.png` and `<path>.svg` (path without extension), atomically.
    pub fn write(&self, stem: &Path) -> Result<()> {
        register_font()?;
        let (w, h) = self.size();
        let mut pixels = vec![0u8; (w * h * 3) as usize];
        {
            let root = BitMapBackend::with_buffer(&mut pixels, (w, h)).into_drawing_area();
            self.draw(&root)?;
            root.present().map_err(|e| anyhow!("cannot finish the bitmap of {}: {e}", self.id))?;
        }
        write_png(&stem.with_extension("png"), w, h, pixels)?;

        let mut svg = String::new();
        {
            let root = SVGBackend::with_string(&mut svg, (w, h)).into_drawing_area();
            self.draw(&root)?;
            root.present().map_err(|e| anyhow!("cannot finish the SVG of {}: {e}", self.id))?;
        }
        crate::atomic::write(&stem.with_extension("svg"), svg.as_bytes())
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<()> {
        root.fill(&WHITE).map_err(plot_error)?;
        let (title_area, rest) = root.split_vertically(TITLE_H);
        let (legend_area, grid) = rest.split_vertically(LEGEND_H);
        title_area.draw_text(&self.title, &(FONT, 24).into_font().color(&BLACK), (12, 8)).map_err(plot_error)?;
        draw_legend(&legend_area, &self.panels)?;
        let rows = self.panels.len().div_ceil(self.columns.max(1));
        let areas = grid.split_evenly((rows, self.columns.max(1)));
        for (area, panel) in areas.iter().zip(&self.panels) {
            draw_panel(area, panel)?;
        }
        Ok(())
    }
}

/// Encode an RGB buffer as PNG and write it atomically.
pub(super) fn write_png(path: &Path, w: u32, h: u32, pixels: Vec<u8>) -> Result<()> {
    let image = image::RgbImage::from_raw(w, h, pixels).context("bitmap buffer has the wrong size")?;
    let mut png = Cursor::new(Vec::new());
    image.write_to(&mut png, image::ImageFormat::Png).with_context(|| format!("cannot encode {}", path.display()))?;
    crate::atomic::write(path, png.get_ref())
}

const TITLE_H: u32 = 40;
const LEGEND_H: u32 = 34;

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

/// Legend entries: the distinct labels of the non-overlay series, in order of first appearance, plus one entry for
/// the original's overlay when there is one.
fn draw_legend<DB: DrawingBackend>(area: &DrawingArea<DB, Shift>, panels: &[Panel]) -> Result<()> {
    let mut entries: Vec<(&str, Colour, Dash, Mark, bool)> = Vec::new();
    for s in panels.iter().flat_map(|p| &p.series) {
        let label = if s.overlay { "original (paper)" } else { s.label.as_str() };
        if !entries.iter().any(|e| e.0 == label) {
            let colour = if s.overlay { Colour(90, 90, 90) } else { s.colour };
            entries.push((label, colour, if s.overlay { Dash::Dashed } else { s.dash }, s.mark, s.overlay));
        }
    }
    let font = (FONT, 16).into_font().color(&BLACK);
    let mut x = 14;
    let y = LEGEND_H as i32 / 2;
    for (label, colour, dash, mark, overlay) in entries {
        let style = ShapeStyle::from(&rgb(colour)).stroke_width(if overlay { 1 } else { 3 });
        match mark {
            Mark::Bars { .. } => {
                area.draw(&Rectangle::new([(x, y - 7), (x + 28, y + 7)], style.filled())).map_err(plot_error)?;
            }
            Mark::Dots => {
                area.draw(&Circle::new((x + 14, y), 5, style.filled())).map_err(plot_error)?;
            }
            _ => {
                let segments = dash_segments(dash, 30);
                for (a, b) in segments {
                    area.draw(&PathElement::new(vec![(x + a, y), (x + b, y)], style)).map_err(plot_error)?;
                }
                if mark == Mark::LineDots {
                    area.draw(&Circle::new((x + 15, y), 4, style.filled())).map_err(plot_error)?;
                }
            }
        }
        area.draw_text(label, &font, (x + 36, y - 9)).map_err(plot_error)?;
        let (w, _) = area.estimate_text_size(label, &font).map_err(plot_error)?;
        x += 36 + w as i32 + 26;
    }
    Ok(())
}

/// The pixel segments of a `width`-px legend sample in `dash` style.
fn dash_segments(dash: Dash, width: i32) -> Vec<(i32, i32)> {
    let (on, off) = match dash {
        Dash::Solid => return vec![(0, width)],
        Dash::Dashed => (8, 5),
        Dash::Dotted => (2, 4),
    };
    (0..width).step_by((on + off) as usize).map(|a| (a, (a + on).min(width))).collect()
}

fn draw_panel<DB: DrawingBackend>(area: &DrawingArea<DB, Shift>, panel: &Panel) -> Result<()> {
    let (x0, x1) = panel.x_range;
    let (y0, y1) = panel.y_extent();
    let mut chart = ChartBuilder::on(area)
        .caption(&panel.title, (FONT, 19))
        .margin(10)
        .margin_right(18)
        .x_label_area_size(46)
        .y_label_area_size(62)
        .build_cartesian_2d(x0..x1, y0..y1)
        .map_err(plot_error)?;
    chart
        .configure_mesh()
        .light_line_style(RGBColor(235, 235, 235))
        .bold_line_style(RGBColor(215, 215, 215))
        .x_desc(&panel.x_label)
        .y_desc(&panel.y_label)
        .label_style((FONT, 14))
        .axis_desc_style((FONT, 16))
        .x_labels(7)
        .y_labels(6)
        .x_label_formatter(&|x| tick(*x))
        .y_label_formatter(&|y| tick(*y))
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

type Chart<'a, DB> =
    ChartContext<'a, DB, Cartesian2d<plotters::coord::types::RangedCoordf64, plotters::coord::types::RangedCoordf64>>;

fn draw_path<DB: DrawingBackend>(
    chart: &mut Chart<'_, DB>,
    points: Vec<(f64, f64)>,
    colour: Colour,
    dash: Dash,
    width: u32,
) -> Result<()> {
    let style = ShapeStyle::from(&rgb(colour)).stroke_width(width);
    match dash {
        Dash::Solid => chart.draw_series(LineSeries::new(points, style)).map(|_| ()),
        Dash::Dashed => chart.draw_series(DashedLineSeries::new(points, 9, 6, style)).map(|_| ()),
        Dash::Dotted => chart.draw_series(DashedLineSeries::new(points, 2, 5, style)).map(|_| ()),
    }
    .map_err(plot_error)
}

fn draw_series<DB: DrawingBackend>(chart: &mut Chart<'_, DB>, series: &Series) -> Result<()> {
    let colour = rgb(series.colour);
    let points: Vec<(f64, f64)> = series.points.iter().map(|p| (p.x, p.y)).collect();
    if series.overlay {
        return draw_path(chart, points, series.colour, Dash::Dashed, 1);
    }
    // The spread over seeds, as a light band.
    if series.points.iter().any(|p| p.hi > p.lo) && !matches!(series.mark, Mark::Bars { .. }) {
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
        Mark::Bars { width } => {
            let half = width / 2.0;
            chart
                .draw_series(
                    points
                        .iter()
                        .map(|&(x, y)| Rectangle::new([(x - half, 0.0), (x + half, y)], colour.mix(0.85).filled())),
                )
                .map_err(plot_error)?;
        }
    }
    let font = (FONT, 14).into_font().color(&colour);
    for (p, text) in points.iter().zip(&series.point_labels) {
        let label = EmptyElement::at(*p) + Text::new(text.clone(), (8, -16), font.clone());
        chart.draw_series(std::iter::once(label)).map_err(plot_error)?;
    }
    Ok(())
}

/// Axis tick text: whole numbers without decimals, others to 2 significant decimals.
fn tick(x: f64) -> String {
    if (x - x.round()).abs() < 1e-9 {
        format!("{}", x.round() as i64)
    } else if x.abs() >= 10.0 {
        format!("{x:.1}")
    } else {
        format!("{x:.2}")
    }
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
        let fig = Figure { id: "f".into(), title: "t".into(), columns: 1, panels: vec![panel], panel_size: (10, 10) };
        assert_eq!(
            fig.data_csv(),
            "panel,series,overlay,x,y,lo,hi\n\"Faces, a\",clear,false,0,0.333333,0.333333,0.333333\n"
        );
    }

    #[test]
    fn dash_samples_cover_the_legend_width() {
        assert_eq!(dash_segments(Dash::Solid, 30), vec![(0, 30)]);
        assert_eq!(dash_segments(Dash::Dashed, 30), vec![(0, 8), (13, 21), (26, 30)]);
    }
}
