//! Grids of pictures (conv1 kernels, Gabor fits, ERF maps), written as SVG with each picture embedded as a PNG at
//! its own resolution and scaled without smoothing, laid out at the print width like every figure, and converted
//! into the PDF and PNG like every figure.
//!
//! A scalar map is normalised (on its own, or by the figure, [`Scaling`]) and drawn through a colour map, whose
//! colour bar says what the colours mean; an RGB picture is drawn as given (its maker normalises it, e.g. per
//! filter).
use std::fmt::Write as _;
use std::io::Cursor;
use std::path::Path;

use anyhow::{bail, Context, Result};
use base64::Engine as _;

use super::canvas::text_width;
use super::print::{self, units, HAIRLINE_PT, LABEL_PT, TEXT_PT, TITLE_PT};
use super::render::{xml_text, SVG_FONT};

/// A 2-D array of numbers, row-major: one value per pixel, or three (R, G, B in [0, 1]) for an RGB picture.
#[derive(Clone, Debug, PartialEq)]
pub struct Heatmap {
    pub width: usize,
    pub height: usize,
    /// 1 (a scalar map) or 3 (RGB).
    pub channels: usize,
    pub values: Vec<f32>,
}

impl Heatmap {
    /// A scalar map.
    pub fn new(width: usize, height: usize, values: Vec<f32>) -> Result<Heatmap> {
        if values.len() != width * height {
            bail!("a {width}x{height} map needs {} values, got {}", width * height, values.len());
        }
        Ok(Heatmap { width, height, channels: 1, values })
    }

    /// An RGB picture, `values` interleaved (r, g, b per pixel) in [0, 1].
    pub fn rgb(width: usize, height: usize, values: Vec<f32>) -> Result<Heatmap> {
        if values.len() != width * height * 3 {
            bail!("a {width}x{height} RGB picture needs {} values, got {}", width * height * 3, values.len());
        }
        Ok(Heatmap { width, height, channels: 3, values })
    }

    /// Values min-max normalised to [0, 1] (a constant map becomes all 0.5).
    pub fn normalised(&self) -> Vec<f32> {
        min_max(&self.values)
    }

    /// The picture's pixels as 8-bit RGB: scalar maps normalised as `scaling` says and coloured by `colours`, RGB
    /// as given.
    fn pixels(&self, colours: ColourMap, scaling: Scaling) -> Vec<u8> {
        if self.channels == 3 {
            self.values.iter().map(|&v| (v.clamp(0.0, 1.0) * 255.0).round() as u8).collect()
        } else {
            let values = match scaling {
                Scaling::PerMap => self.normalised(),
                Scaling::Given => self.values.clone(),
            };
            values.into_iter().flat_map(|v| colours.colour(v)).collect()
        }
    }

    fn png_base64(&self, colours: ColourMap, scaling: Scaling) -> Result<String> {
        let (w, h) = (u32::try_from(self.width)?, u32::try_from(self.height)?);
        let pixels = self.pixels(colours, scaling);
        let image = image::RgbImage::from_raw(w, h, pixels).context("picture has the wrong size")?;
        let mut png = Cursor::new(Vec::new());
        image.write_to(&mut png, image::ImageFormat::Png).context("cannot encode a picture as PNG")?;
        Ok(base64::engine::general_purpose::STANDARD.encode(png.get_ref()))
    }
}

/// `values` min-max normalised to [0, 1] (all 0.5 when constant).
pub fn min_max(values: &[f32]) -> Vec<f32> {
    let (lo, hi) = values.iter().fold((f32::INFINITY, f32::NEG_INFINITY), |(l, h), &v| (l.min(v), h.max(v)));
    let span = hi - lo;
    values.iter().map(|&v| if span > 0.0 { (v - lo) / span } else { 0.5 }).collect()
}

/// How a scalar map's normalised values become colours.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ColourMap {
    /// Black to white (the original's `cmap='gray'`).
    Grey,
    /// Black, dark red, orange, pale yellow (like matplotlib's `hot`), for ERFs.
    Hot,
}

impl ColourMap {
    pub fn colour(self, v: f32) -> [u8; 3] {
        let v = v.clamp(0.0, 1.0);
        let byte = |x: f32| (x.clamp(0.0, 1.0) * 255.0).round() as u8;
        match self {
            ColourMap::Grey => [byte(v); 3],
            ColourMap::Hot => [byte(v * 2.5), byte((v - 0.4) * 2.0), byte((v - 0.8) * 5.0)],
        }
    }
}

/// How a grid colours its scalar maps.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scaling {
    /// Each map min-max normalised on its own (its shape, not its size, is what is shown).
    PerMap,
    /// The values are already in [0, 1], normalised by the figure (e.g. by the largest value of a row).
    Given,
}

/// A grid of pictures with row and column labels, headings over groups of columns, a colour bar for scalar maps,
/// a scale bar and a note, laid out at its print width: the pictures, square, take the width the labels and the
/// colour bar leave.
#[derive(Clone, Debug)]
pub struct ImageGrid {
    pub id: String,
    pub title: String,
    /// What the pictures are drawn from (e.g. a run on the embedded stand-ins); empty for none.
    pub subtitle: String,
    pub row_labels: Vec<String>,
    pub column_labels: Vec<String>,
    /// Headings over consecutive columns (name, number of columns), e.g. a regime over its epochs; empty for none.
    pub column_groups: Vec<(String, usize)>,
    /// `cells[row][column]`; `None` leaves the cell blank.
    pub cells: Vec<Vec<Option<Heatmap>>>,
    /// The colour map of scalar maps.
    pub colours: ColourMap,
    pub scaling: Scaling,
    /// The colour bar's label (what 0 and 1 are), drawn when any cell is a scalar map.
    pub colour_bar: String,
    /// A bar under the first column `fraction` of a picture's width long, named `label` (e.g. 56 input pixels).
    pub scale_bar: Option<(f64, String)>,
    /// A sentence under the grid (e.g. how the pictures are normalised); empty for none.
    pub note: String,
    /// The print width in points (the catalogue's); the grid cannot be drawn before it is set.
    pub width_pt: f64,
    /// Space between pictures, in points.
    pub gap_pt: f64,
}

/// Blank border, room between column groups, the colour bar's width and the room it takes with its labels.
const MARGIN_PT: f64 = 3.0;
const GROUP_GAP_PT: f64 = 5.0;
const BAR_PT: f64 = 5.0;
const BAR_ROOM_PT: f64 = 42.0;

impl ImageGrid {
    /// An empty grid of `id` (no cells, labels or width yet).
    pub fn new(id: &str, title: &str, colours: ColourMap) -> ImageGrid {
        ImageGrid {
            id: id.into(),
            title: title.into(),
            subtitle: String::new(),
            row_labels: Vec::new(),
            column_labels: Vec::new(),
            column_groups: Vec::new(),
            cells: Vec::new(),
            colours,
            scaling: Scaling::PerMap,
            colour_bar: String::new(),
            scale_bar: None,
            note: String::new(),
            width_pt: 0.0,
            gap_pt: 2.0,
        }
    }

    fn columns(&self) -> usize {
        self.column_labels.len().max(self.cells.iter().map(Vec::len).max().unwrap_or(0))
    }

    fn has_scalar_maps(&self) -> bool {
        self.cells.iter().flatten().flatten().any(|m| m.channels == 1)
    }

    /// Each row label in one or two lines, no wider than a fifth of the figure.
    fn row_label_lines(&self) -> Result<Vec<Vec<String>>> {
        let most = units(self.width_pt) / 5.0;
        self.row_labels.iter().map(|l| super::canvas::fit_lines(l, most, LABEL_PT)).collect()
    }

    /// The side of a picture at print size, in points.
    pub fn picture_side_pt(&self) -> Result<f64> {
        Ok(self.columns_x()?.1 / units(1.0))
    }

    /// The x of each column's left edge and the side of a picture, in user units, with the row labels' width.
    fn columns_x(&self) -> Result<(Vec<f64>, f64, f64)> {
        let mut label_w = 0.0f64;
        for line in self.row_label_lines()?.iter().flatten() {
            label_w = label_w.max(text_width(line, LABEL_PT)?);
        }
        if label_w > 0.0 {
            label_w += units(3.0);
        }
        let columns = self.columns().max(1);
        let groups = self.column_groups.len().saturating_sub(1) as f64;
        let bar = if self.has_scalar_maps() { units(BAR_ROOM_PT) } else { 0.0 };
        let gaps = (columns - 1) as f64 * units(self.gap_pt) + groups * units(GROUP_GAP_PT);
        let side = ((units(self.width_pt) - 2.0 * units(MARGIN_PT) - label_w - bar - gaps) / columns as f64).floor();
        if side < units(10.0) {
            bail!("grid {}: {columns} pictures do not fit {} pt", self.id, self.width_pt);
        }
        let mut xs = Vec::with_capacity(columns);
        let mut x = units(MARGIN_PT) + label_w;
        let mut group_ends: Vec<usize> = self
            .column_groups
            .iter()
            .scan(0, |end, g| {
                *end += g.1;
                Some(*end)
            })
            .collect();
        group_ends.pop();
        for c in 0..columns {
            xs.push(x);
            x += side + units(self.gap_pt) + if group_ends.contains(&(c + 1)) { units(GROUP_GAP_PT) } else { 0.0 };
        }
        Ok((xs, side, label_w))
    }

    /// The grid as SVG, sized in points.
    pub fn svg(&self) -> Result<String> {
        if self.width_pt <= 0.0 {
            bail!("grid {} has no print width (the catalogue gives it)", self.id);
        }
        let (xs, side, _) = self.columns_x()?;
        let width = units(self.width_pt);
        let margin = units(MARGIN_PT);
        let mut body = String::new();
        let mut y = margin;
        for line in super::canvas::wrap(&self.title, width - 2.0 * margin, TITLE_PT)? {
            y += units(TITLE_PT * 1.3);
            text(&mut body, margin, y - units(TITLE_PT * 0.3), TITLE_PT, "start", &line);
        }
        if !self.subtitle.is_empty() {
            y += units(TEXT_PT * 1.4);
            text(&mut body, margin, y, TEXT_PT, "start", &self.subtitle);
        }
        y += units(3.0);
        let mut start = 0;
        if !self.column_groups.is_empty() {
            y += units(LABEL_PT * 1.2);
            for (name, count) in &self.column_groups {
                let (Some(first), Some(last)) = (xs.get(start), xs.get(start + count - 1)) else { break };
                text(&mut body, (first + last + side) / 2.0, y, LABEL_PT, "middle", name);
                let rule = y + units(1.5);
                let _ = writeln!(
                    body,
                    r##"<line x1="{first}" y1="{rule}" x2="{}" y2="{rule}" stroke="#000000" stroke-width="{}"/>"##,
                    last + side,
                    units(HAIRLINE_PT)
                );
                start += count;
            }
        }
        if !self.column_labels.is_empty() {
            y += units(TEXT_PT * 1.4);
            for (c, label) in self.column_labels.iter().enumerate() {
                if let Some(x) = xs.get(c) {
                    text(&mut body, x + side / 2.0, y, TEXT_PT, "middle", label);
                }
            }
        }
        let top = y + units(2.0);
        let row_lines = self.row_label_lines()?;
        for (r, row) in self.cells.iter().enumerate() {
            let y = top + r as f64 * (side + units(self.gap_pt));
            let lines = row_lines.get(r).map_or(&[][..], Vec::as_slice);
            for (k, line) in lines.iter().enumerate() {
                let offset = (k as f64 - (lines.len() as f64 - 1.0) / 2.0) * units(LABEL_PT * 1.2);
                text(&mut body, margin, y + side / 2.0 + offset + units(LABEL_PT) * 0.35, LABEL_PT, "start", line);
            }
            for (c, cell) in row.iter().enumerate() {
                let (Some(map), Some(&x)) = (cell, xs.get(c)) else { continue };
                let scale = side / map.width.max(map.height).max(1) as f64;
                let size = (map.width as f64 * scale, map.height as f64 * scale);
                image(&mut body, (x, y), size, &map.png_base64(self.colours, self.scaling)?);
            }
        }
        let rows = self.cells.len().max(1) as f64;
        let grid_bottom = top + rows * (side + units(self.gap_pt)) - units(self.gap_pt);
        let mut bar_bottom = grid_bottom;
        if self.has_scalar_maps() {
            let bar_x = xs.last().map_or(margin, |x| x + side) + units(4.0);
            let height = (grid_bottom - top).clamp(units(40.0), units(120.0));
            bar_bottom = top + self.colour_bar_svg(&mut body, bar_x, top, height)?;
        }
        let mut y = grid_bottom;
        if let (Some((fraction, label)), Some(&x)) = (&self.scale_bar, xs.first()) {
            y += units(6.0);
            let length = side * fraction;
            let _ = writeln!(
                body,
                r##"<rect x="{x}" y="{}" width="{length}" height="{}" fill="#000000"/>"##,
                y - units(1.0),
                units(1.5)
            );
            text(&mut body, x + length + units(3.0), y + units(TEXT_PT) * 0.35, TEXT_PT, "start", label);
            y += units(TEXT_PT * 0.6);
        }
        if !self.note.is_empty() {
            for line in super::canvas::wrap(&self.note, width - 2.0 * margin, TEXT_PT)? {
                y += units(TEXT_PT * 1.35);
                text(&mut body, margin, y, TEXT_PT, "start", &line);
            }
        }
        let height = (y.max(bar_bottom) + margin + units(2.0)).ceil();
        let svg = format!(
            r##"<svg width="{width}" height="{height}" viewBox="0 0 {width} {height}" xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink">
<rect x="0" y="0" width="{width}" height="{height}" fill="#FFFFFF"/>
{body}</svg>
"##
        );
        Ok(print::root_in_points(&svg))
    }

    /// A vertical colour bar from 0 (bottom) to 1 (top) at `x`, at least `height` high from `top` (as high as its
    /// label, in one or two lines, needs). Returns its height.
    fn colour_bar_svg(&self, svg: &mut String, x: f64, top: f64, height: f64) -> Result<f64> {
        let lines = super::canvas::fit_lines(&self.colour_bar, height, TEXT_PT)?;
        let mut longest = 0.0f64;
        for line in &lines {
            longest = longest.max(text_width(line, TEXT_PT)?);
        }
        let height = height.max(longest + units(2.0));
        let steps = 256;
        let ramp = Heatmap::new(1, steps, (0..steps).rev().map(|i| i as f32 / (steps - 1) as f32).collect())?;
        let bar = units(BAR_PT);
        image(svg, (x, top), (bar, height), &ramp.png_base64(self.colours, Scaling::Given)?);
        let stroke = units(HAIRLINE_PT);
        let _ = writeln!(
            svg,
            r##"<rect x="{x}" y="{top}" width="{bar}" height="{height}" fill="none" stroke="#000000" stroke-width="{stroke}"/>"##
        );
        for (value, label) in [(0.0, "0"), (0.5, "0.5"), (1.0, "1")] {
            let y = top + (1.0 - value) * height;
            let _ = writeln!(
                svg,
                r##"<line x1="{}" y1="{y}" x2="{}" y2="{y}" stroke="#000000" stroke-width="{stroke}"/>"##,
                x + bar,
                x + bar + units(1.5)
            );
            text(svg, x + bar + units(2.5), y + units(TEXT_PT) * 0.35, TEXT_PT, "start", label);
        }
        // Rotated a quarter turn clockwise, the first line is the rightmost.
        for (k, line) in lines.iter().rev().enumerate() {
            let (lx, ly) = (x + bar + units(18.0) + k as f64 * units(TEXT_PT * 1.25), top + height / 2.0);
            let _ = writeln!(
                svg,
                r##"<text x="{lx}" y="{ly}" text-anchor="middle" font-family="{SVG_FONT}" font-size="{}" fill="#000000" transform="rotate(90, {lx}, {ly})">{}</text>"##,
                units(TEXT_PT),
                xml_text(line)
            );
        }
        Ok(height)
    }

    /// Write `<stem>.svg`, `.pdf` and `.png` (at `png_dpi`).
    pub fn write(&self, stem: &Path, png_dpi: f64) -> Result<()> {
        super::render::write_svg_pdf_png(stem, &self.svg()?, png_dpi)
    }
}

fn text(svg: &mut String, x: f64, y: f64, pt: f64, anchor: &str, content: &str) {
    let _ = writeln!(
        svg,
        r##"<text x="{x}" y="{y}" text-anchor="{anchor}" font-family="{SVG_FONT}" font-size="{}" fill="#000000">{}</text>"##,
        units(pt),
        xml_text(content)
    );
}

/// An embedded PNG, scaled to `size` without smoothing so that each map pixel stays a sharp square
/// (`optimizeSpeed`: resvg 0.45 smooths an image marked `pixelated`).
fn image(svg: &mut String, at: (f64, f64), size: (f64, f64), png_base64: &str) {
    let _ = writeln!(
        svg,
        r#"<image x="{}" y="{}" width="{}" height="{}" preserveAspectRatio="none" image-rendering="optimizeSpeed" xlink:href="data:image/png;base64,{png_base64}"/>"#,
        at.0, at.1, size.0, size.1
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scalar_maps_are_normalised_per_map_or_as_given_and_rgb_pictures_drawn_as_given() {
        let map = Heatmap::new(3, 1, vec![2.0, 4.0, 6.0]).unwrap();
        assert_eq!(map.normalised(), vec![0.0, 0.5, 1.0]);
        assert_eq!(map.pixels(ColourMap::Grey, Scaling::PerMap), vec![0, 0, 0, 128, 128, 128, 255, 255, 255]);
        let given = Heatmap::new(2, 1, vec![0.5, 1.0]).unwrap();
        assert_eq!(given.pixels(ColourMap::Grey, Scaling::Given), vec![128, 128, 128, 255, 255, 255]);
        let picture = Heatmap::rgb(1, 1, vec![1.0, 0.0, 0.5]).unwrap();
        assert_eq!(picture.pixels(ColourMap::Hot, Scaling::PerMap), vec![255, 0, 128]);
        assert!(Heatmap::rgb(2, 1, vec![0.0; 3]).is_err());
    }

    #[test]
    fn the_hot_map_runs_from_black_to_pale_yellow() {
        assert_eq!(ColourMap::Hot.colour(0.0), [0, 0, 0]);
        assert_eq!(ColourMap::Hot.colour(0.4), [255, 0, 0]);
        assert_eq!(ColourMap::Hot.colour(1.0), [255, 255, 255]);
    }

    fn grid(cells: Vec<Vec<Option<Heatmap>>>) -> ImageGrid {
        let mut grid = ImageGrid::new("g", "A grid", ColourMap::Hot);
        grid.subtitle = "profile tiny: embedded stand-ins".into();
        grid.row_labels = vec!["row & one".into()];
        grid.column_labels = vec!["epoch 1".into(), "epoch 2".into()];
        grid.cells = cells;
        grid.colour_bar = "normalised per map".into();
        grid.width_pt = 252.0;
        grid
    }

    #[test]
    fn scalar_maps_get_a_colour_bar_and_rgb_pictures_do_not() {
        let scalar = Heatmap::new(2, 2, vec![0.0, 1.0, 2.0, 3.0]).unwrap();
        let svg = grid(vec![vec![Some(scalar), None]]).svg().unwrap();
        assert!(svg.starts_with(r#"<svg width="252pt""#));
        assert_eq!(svg.matches("<image").count(), 2, "one map and the bar's ramp");
        assert!(svg.contains(">normalised per map</text>") && svg.contains(">row &amp; one</text>"));
        let rgb = Heatmap::rgb(1, 1, vec![0.0, 0.5, 1.0]).unwrap();
        let svg = grid(vec![vec![Some(rgb.clone()), Some(rgb)]]).svg().unwrap();
        assert_eq!(svg.matches("<image").count(), 2, "two pictures, no bar");
        assert!(!svg.contains("normalised per map"));
    }

    #[test]
    fn pictures_fill_the_width_the_labels_leave() {
        let rgb = Heatmap::rgb(1, 1, vec![0.0, 0.5, 1.0]).unwrap();
        let mut g = grid(vec![vec![Some(rgb.clone()), Some(rgb)]]);
        g.row_labels.clear();
        let (xs, side, label_w) = g.columns_x().unwrap();
        assert_eq!(label_w, 0.0);
        let right = xs[1] + side;
        assert!(units(252.0 - MARGIN_PT) - right < units(1.0), "the pictures end at the right margin: {right}");
    }

    #[test]
    fn a_picture_is_scaled_without_smoothing() {
        let map = Heatmap::rgb(2, 1, vec![0.0, 0.0, 0.0, 1.0, 1.0, 1.0]).unwrap();
        let mut svg = String::from(
            r#"<svg width="200" height="100" viewBox="0 0 200 100" xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink">"#,
        );
        image(&mut svg, (0.0, 0.0), (200.0, 100.0), &map.png_base64(ColourMap::Grey, Scaling::PerMap).unwrap());
        svg += "</svg>";
        let png = super::super::render::svg_to_png(&svg, 96.0).unwrap();
        let row = image::load_from_memory(&png).unwrap().to_rgb8();
        let greys: Vec<u8> = (90..110).map(|x| row.get_pixel(x, 50).0[0]).collect();
        assert!(greys.iter().all(|&g| g == 0 || g == 255), "a black and a white pixel blur into {greys:?}");
    }

    #[test]
    fn embedded_pictures_are_rasterised_into_the_png() {
        let white = Heatmap::rgb(1, 1, vec![1.0, 1.0, 1.0]).unwrap();
        let red = Heatmap::rgb(1, 1, vec![1.0, 0.0, 0.0]).unwrap();
        let mut g = grid(vec![vec![Some(red), Some(white)]]);
        g.scale_bar = Some((0.25, "56 px".into()));
        let svg = g.svg().unwrap();
        assert!(svg.contains(">56 px</text>"));
        let png = super::super::render::svg_to_png(&svg, 72.0).unwrap();
        let image = image::load_from_memory(&png).unwrap().to_rgb8();
        let (xs, side, _) = g.columns_x().unwrap();
        // 72 dpi: one pixel per point, a quarter of a user unit.
        let centre = ((xs[0] + side / 2.0) / units(1.0), 0.0);
        let column: Vec<[u8; 3]> = (0..image.height()).map(|y| image.get_pixel(centre.0 as u32, y).0).collect();
        assert!(column.contains(&[255, 0, 0]), "the red picture is in its column");
    }
}
