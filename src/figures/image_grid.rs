//! Grids of pictures (conv1 kernels, Gabor fits, ERF maps), written as SVG with each picture embedded as a PNG at
//! its own resolution and scaled without smoothing, and rasterised into the PNG like every figure.
//!
//! A scalar map is min-max normalised on its own and drawn through a colour map, whose colour bar says what the
//! colours mean; an RGB picture is drawn as given (its maker normalises it, e.g. per filter).
use std::fmt::Write as _;
use std::io::Cursor;
use std::path::Path;

use anyhow::{bail, Context, Result};
use base64::Engine as _;

use super::canvas::text_width;
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
    pub(crate) fn rgb(width: usize, height: usize, values: Vec<f32>) -> Result<Heatmap> {
        if values.len() != width * height * 3 {
            bail!("a {width}x{height} RGB picture needs {} values, got {}", width * height * 3, values.len());
        }
        Ok(Heatmap { width, height, channels: 3, values })
    }

    /// Values min-max normalised to [0, 1] (a constant map becomes all 0.5).
    pub(crate) fn normalised(&self) -> Vec<f32> {
        min_max(&self.values)
    }

    /// The picture's pixels as 8-bit RGB: scalar maps normalised and coloured by `colours`, RGB as given.
    fn pixels(&self, colours: ColourMap) -> Vec<u8> {
        if self.channels == 3 {
            self.values.iter().map(|&v| (v.clamp(0.0, 1.0) * 255.0).round() as u8).collect()
        } else {
            self.normalised().into_iter().flat_map(|v| colours.colour(v)).collect()
        }
    }

    fn png_base64(&self, colours: ColourMap) -> Result<String> {
        let (w, h) = (u32::try_from(self.width)?, u32::try_from(self.height)?);
        let image = image::RgbImage::from_raw(w, h, self.pixels(colours)).context("picture has the wrong size")?;
        let mut png = Cursor::new(Vec::new());
        image.write_to(&mut png, image::ImageFormat::Png).context("cannot encode a picture as PNG")?;
        Ok(base64::engine::general_purpose::STANDARD.encode(png.get_ref()))
    }
}

/// `values` min-max normalised to [0, 1] (all 0.5 when constant).
pub(crate) fn min_max(values: &[f32]) -> Vec<f32> {
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
    pub(crate) fn colour(self, v: f32) -> [u8; 3] {
        let v = v.clamp(0.0, 1.0);
        let byte = |x: f32| (x.clamp(0.0, 1.0) * 255.0).round() as u8;
        match self {
            ColourMap::Grey => [byte(v); 3],
            ColourMap::Hot => [byte(v * 2.5), byte((v - 0.4) * 2.0), byte((v - 0.8) * 5.0)],
        }
    }
}

/// A grid of pictures with row and column labels, and a colour bar for scalar maps.
#[derive(Clone, Debug)]
pub struct ImageGrid {
    pub id: String,
    pub title: String,
    /// What the pictures are drawn from (e.g. a run on the embedded stand-ins); empty for none.
    pub subtitle: String,
    pub row_labels: Vec<String>,
    pub column_labels: Vec<String>,
    /// `cells[row][column]`; `None` leaves the cell blank.
    pub cells: Vec<Vec<Option<Heatmap>>>,
    /// The colour map of scalar maps.
    pub colours: ColourMap,
    /// The colour bar's label (what 0 and 1 are), drawn when any cell is a scalar map.
    pub colour_bar: String,
    /// Side of a cell in pixels; a picture is scaled to fit it.
    pub cell_px: u32,
}

const GAP: u32 = 8;
const TITLE_H: u32 = 36;
const SUBTITLE_H: u32 = 24;
const COLUMN_LABEL_H: u32 = 28;
const LABEL_FONT: f64 = 14.0;
const BAR_W: u32 = 16;
/// Room right of the grid for the colour bar, its tick labels and its rotated label.
const BAR_ROOM: u32 = 110;

impl ImageGrid {
    fn columns(&self) -> u32 {
        self.column_labels.len().max(self.cells.iter().map(Vec::len).max().unwrap_or(0)) as u32
    }

    fn has_scalar_maps(&self) -> bool {
        self.cells.iter().flatten().flatten().any(|m| m.channels == 1)
    }

    /// Room for the longest row label.
    fn label_width(&self) -> Result<u32> {
        let mut widest = 0;
        for label in &self.row_labels {
            widest = widest.max(text_width(label, LABEL_FONT * 1.24)?);
        }
        Ok(widest + 2 * GAP)
    }

    fn header_height(&self) -> u32 {
        TITLE_H + if self.subtitle.is_empty() { 0 } else { SUBTITLE_H } + COLUMN_LABEL_H
    }

    /// The grid as SVG.
    pub(crate) fn svg(&self) -> Result<String> {
        let label_w = self.label_width()?;
        let grid_w = self.columns() * (self.cell_px + GAP) + GAP;
        let bar = self.has_scalar_maps();
        let rows = self.cells.len() as u32;
        let width = label_w + grid_w + if bar { BAR_ROOM } else { 0 };
        let title_w = text_width(&self.title, 20.0 * 1.24)?.max(text_width(&self.subtitle, 15.0 * 1.24)?) + 20;
        let width = width.max(title_w);
        let top = self.header_height();
        let height = top + rows.max(1) * (self.cell_px + GAP) + GAP;

        let mut svg = format!(
            r##"<svg width="{width}" height="{height}" viewBox="0 0 {width} {height}" xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink">
<rect x="0" y="0" width="{width}" height="{height}" fill="#FFFFFF"/>
"##
        );
        text(&mut svg, 10, 26, 20.0, "start", &self.title);
        if !self.subtitle.is_empty() {
            text(&mut svg, 10, TITLE_H + 16, 15.0, "start", &self.subtitle);
        }
        for (c, label) in self.column_labels.iter().enumerate() {
            let x = label_w + c as u32 * (self.cell_px + GAP) + GAP + self.cell_px / 2;
            text(&mut svg, x, top - 9, LABEL_FONT, "middle", label);
        }
        for (r, row) in self.cells.iter().enumerate() {
            let y = top + r as u32 * (self.cell_px + GAP);
            if let Some(label) = self.row_labels.get(r) {
                text(&mut svg, GAP, y + self.cell_px / 2 + 5, LABEL_FONT, "start", label);
            }
            for (c, cell) in row.iter().enumerate() {
                let Some(map) = cell else { continue };
                let x = label_w + c as u32 * (self.cell_px + GAP) + GAP;
                let scale = f64::from(self.cell_px) / map.width.max(map.height).max(1) as f64;
                let (w, h) = (map.width as f64 * scale, map.height as f64 * scale);
                image(&mut svg, (f64::from(x), f64::from(y)), (w, h), &map.png_base64(self.colours)?);
            }
        }
        if bar {
            self.colour_bar_svg(&mut svg, label_w + grid_w, top, rows.max(1) * (self.cell_px + GAP) - GAP)?;
        }
        svg.push_str("</svg>\n");
        Ok(svg)
    }

    /// A vertical colour bar from 0 (bottom) to 1 (top) at `x`, spanning `height` px from `top` (at most 300).
    fn colour_bar_svg(&self, svg: &mut String, x: u32, top: u32, height: u32) -> Result<()> {
        let height = height.clamp(60, 300);
        let steps = 256;
        let ramp = Heatmap::new(1, steps, (0..steps).rev().map(|i| i as f32 / (steps - 1) as f32).collect())?;
        image(
            svg,
            (f64::from(x), f64::from(top)),
            (f64::from(BAR_W), f64::from(height)),
            &ramp.png_base64(self.colours)?,
        );
        let _ = writeln!(
            svg,
            r##"<rect x="{x}" y="{top}" width="{BAR_W}" height="{height}" fill="none" stroke="#000000" stroke-width="1"/>"##
        );
        for (value, label) in [(0.0, "0"), (0.5, "0.5"), (1.0, "1")] {
            let y = top + ((1.0 - value) * f64::from(height)).round() as u32;
            let _ = writeln!(
                svg,
                r##"<line x1="{}" y1="{y}" x2="{}" y2="{y}" stroke="#000000" stroke-width="1"/>"##,
                x + BAR_W,
                x + BAR_W + 4
            );
            text(svg, x + BAR_W + 7, y + 5, LABEL_FONT, "start", label);
        }
        let (lx, ly) = (x + BAR_W + 48, top + height / 2);
        let _ = writeln!(
            svg,
            r##"<text x="{lx}" y="{ly}" text-anchor="middle" font-family="{SVG_FONT}" font-size="{LABEL_FONT}" fill="#000000" transform="rotate(90, {lx}, {ly})">{}</text>"##,
            xml_text(&self.colour_bar)
        );
        Ok(())
    }

    /// Write `<stem>.svg` and the `<stem>.png` rasterised from it.
    pub fn write(&self, stem: &Path) -> Result<()> {
        super::render::write_svg_and_png(stem, &self.svg()?)
    }
}

fn text(svg: &mut String, x: u32, y: u32, size: f64, anchor: &str, content: &str) {
    let _ = writeln!(
        svg,
        r##"<text x="{x}" y="{y}" text-anchor="{anchor}" font-family="{SVG_FONT}" font-size="{size}" fill="#000000">{}</text>"##,
        xml_text(content)
    );
}

/// An embedded PNG, scaled to `size` without smoothing so that each map pixel stays a sharp square.
fn image(svg: &mut String, at: (f64, f64), size: (f64, f64), png_base64: &str) {
    let _ = writeln!(
        svg,
        r#"<image x="{}" y="{}" width="{}" height="{}" preserveAspectRatio="none" image-rendering="pixelated" xlink:href="data:image/png;base64,{png_base64}"/>"#,
        at.0, at.1, size.0, size.1
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scalar_maps_are_normalised_and_rgb_pictures_drawn_as_given() {
        let map = Heatmap::new(3, 1, vec![2.0, 4.0, 6.0]).unwrap();
        assert_eq!(map.normalised(), vec![0.0, 0.5, 1.0]);
        assert_eq!(map.pixels(ColourMap::Grey), vec![0, 0, 0, 128, 128, 128, 255, 255, 255]);
        let picture = Heatmap::rgb(1, 1, vec![1.0, 0.0, 0.5]).unwrap();
        assert_eq!(picture.pixels(ColourMap::Hot), vec![255, 0, 128]);
        assert!(Heatmap::rgb(2, 1, vec![0.0; 3]).is_err());
    }

    #[test]
    fn the_hot_map_runs_from_black_to_pale_yellow() {
        assert_eq!(ColourMap::Hot.colour(0.0), [0, 0, 0]);
        assert_eq!(ColourMap::Hot.colour(0.4), [255, 0, 0]);
        assert_eq!(ColourMap::Hot.colour(1.0), [255, 255, 255]);
    }

    fn grid(cells: Vec<Vec<Option<Heatmap>>>) -> ImageGrid {
        ImageGrid {
            id: "g".into(),
            title: "A grid".into(),
            subtitle: "profile tiny: embedded stand-ins".into(),
            row_labels: vec!["row & one".into()],
            column_labels: vec!["epoch 1".into(), "epoch 2".into()],
            cells,
            colours: ColourMap::Hot,
            colour_bar: "normalised per map".into(),
            cell_px: 40,
        }
    }

    #[test]
    fn scalar_maps_get_a_colour_bar_and_rgb_pictures_do_not() {
        let scalar = Heatmap::new(2, 2, vec![0.0, 1.0, 2.0, 3.0]).unwrap();
        let svg = grid(vec![vec![Some(scalar), None]]).svg().unwrap();
        assert_eq!(svg.matches("<image").count(), 2, "one map and the bar's ramp");
        assert!(svg.contains(">normalised per map</text>") && svg.contains(">row &amp; one</text>"));
        let rgb = Heatmap::rgb(1, 1, vec![0.0, 0.5, 1.0]).unwrap();
        let svg = grid(vec![vec![Some(rgb.clone()), Some(rgb)]]).svg().unwrap();
        assert_eq!(svg.matches("<image").count(), 2, "two pictures, no bar");
        assert!(!svg.contains("normalised per map"));
    }

    #[test]
    fn embedded_pictures_are_rasterised_into_the_png() {
        let white = Heatmap::rgb(1, 1, vec![1.0, 1.0, 1.0]).unwrap();
        let red = Heatmap::rgb(1, 1, vec![1.0, 0.0, 0.0]).unwrap();
        let g = grid(vec![vec![Some(red), Some(white)]]);
        let png = super::super::render::svg_to_png(&g.svg().unwrap()).unwrap();
        let image = image::load_from_memory(&png).unwrap().to_rgb8();
        let label_w = g.label_width().unwrap();
        let (x, y) = (label_w + GAP + 20, g.header_height() + 20);
        assert_eq!(image.get_pixel(x, y).0, [255, 0, 0], "the red picture's centre");
    }
}
