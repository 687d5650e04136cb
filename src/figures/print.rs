//! The page a figure is printed on: its width in points, the type sizes and line widths it is drawn with there, and
//! the units the SVG is written in.
//!
//! A figure is laid out at the width it is printed at ([`Print`], declared in `paper/figures.toml`: IEEE's 252-pt
//! column or 516-pt page), so that it is included at 100 % and every size below is what the reader sees. The SVG
//! root carries that width in `pt`; inside, one user unit is a quarter point ([`UNITS_PER_PT`]), fine enough that
//! plotters' whole-unit coordinates and stroke widths do not show. The PDF is the same drawing at the same size, the
//! PNG is rasterised from it at [`Print::png_dpi`].
use serde::Deserialize;

/// SVG user units per printed point.
pub const UNITS_PER_PT: f64 = 4.0;

/// The smallest text: tick labels, legend entries, notes, labels in pictures (7 pt, journals' lower limit).
pub const TEXT_PT: f64 = 7.0;
/// Axis labels, panel titles, row and column headings.
pub const LABEL_PT: f64 = 8.0;
/// The figure's title.
pub const TITLE_PT: f64 = 9.0;

/// A data series' line.
pub const DATA_LINE_PT: f64 = 1.25;
/// The thin lines: the original's numbers overlaid, reference lines, axes, open markers.
pub const THIN_LINE_PT: f64 = 0.75;
/// The thinnest line drawn (grid lines, frames); journals ask for at least 0.5 pt.
pub const HAIRLINE_PT: f64 = 0.5;

/// `pt` in SVG user units.
pub fn units(pt: f64) -> f64 {
    pt * UNITS_PER_PT
}

/// `pt` in whole SVG user units (plotters' stroke widths and coordinates are integers).
pub fn whole_units(pt: f64) -> u32 {
    units(pt).round() as u32
}

/// How wide a figure is printed: one column or both.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PrintWidth {
    OneColumn,
    TwoColumns,
}

/// The page (`[print]` of the catalogue).
#[derive(Clone, Copy, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Print {
    pub one_column_pt: f64,
    pub two_columns_pt: f64,
    /// Resolution of the PNG at print size.
    pub png_dpi: f64,
}

impl Print {
    /// The width in points of a figure printed at `width`.
    pub fn width_pt(&self, width: PrintWidth) -> f64 {
        match width {
            PrintWidth::OneColumn => self.one_column_pt,
            PrintWidth::TwoColumns => self.two_columns_pt,
        }
    }
}

/// `svg` (as plotters or a grid writes it: `<svg width="W" height="H" viewBox="0 0 W H" ...>` in user units) with
/// its root sized in points, so that viewers, LaTeX and the PDF print it at its declared width.
pub fn root_in_points(svg: &str) -> String {
    let Some(end) = svg.find('>') else { return svg.to_string() };
    let (root, rest) = svg.split_at(end);
    let attribute = |name: &str| -> Option<f64> {
        let start = root.find(&format!(" {name}=\""))? + name.len() + 3;
        root[start..].split('"').next()?.parse().ok()
    };
    let (Some(width), Some(height)) = (attribute("width"), attribute("height")) else { return svg.to_string() };
    let sized = root
        .replacen(&format!(" width=\"{width}\""), &format!(" width=\"{}pt\"", width / UNITS_PER_PT), 1)
        .replacen(&format!(" height=\"{height}\""), &format!(" height=\"{}pt\"", height / UNITS_PER_PT), 1);
    let sized = if sized.contains("viewBox") {
        sized
    } else {
        sized.replacen("<svg", &format!("<svg viewBox=\"0 0 {width} {height}\""), 1)
    };
    format!("{sized}{rest}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_root_is_sized_in_points_and_keeps_its_user_units() {
        let svg = r#"<svg width="2064" height="400" viewBox="0 0 2064 400" xmlns="x"><rect/></svg>"#;
        assert_eq!(
            root_in_points(svg),
            r#"<svg width="516pt" height="100pt" viewBox="0 0 2064 400" xmlns="x"><rect/></svg>"#
        );
        let bare = r#"<svg width="8" height="4" xmlns="x"/>"#;
        assert_eq!(root_in_points(bare), r#"<svg viewBox="0 0 8 4" width="2pt" height="1pt" xmlns="x"/>"#);
    }

    #[test]
    fn widths_come_from_the_page() {
        let print = Print { one_column_pt: 252.0, two_columns_pt: 516.0, png_dpi: 300.0 };
        assert_eq!(print.width_pt(PrintWidth::OneColumn), 252.0);
        assert_eq!(whole_units(HAIRLINE_PT), 2);
    }
}
