//! From a figure's SVG to its files: the SVG as drawn, the PDF (svg2pdf) and the PNG (resvg) made from one parse of
//! that same SVG.
//!
//! Converting the SVG (rather than drawing each format separately) makes the three show the same thing: the text
//! is set by a real text layout (shaping, kerning) in the embedded DejaVu Sans, and lines of every slope have the
//! same width. usvg is given only the embedded font (no system fonts), so the files have the same bytes on every
//! machine. The PDF is vector (paths, and text in the embedded font, subset and embedded, so it stays selectable),
//! at the SVG's size in points, with no creation date: redrawing gives the same bytes. Files are rewritten only when
//! their bytes change, so redrawing unchanged figures leaves a checkout clean.
use std::io::Cursor;
use std::path::Path;
use std::sync::{Arc, OnceLock};

use anyhow::{Context, Result};
use resvg::{tiny_skia, usvg};

/// The font every figure uses, embedded so that no machine's fonts change a figure.
pub const FONT_BYTES: &[u8] = include_bytes!("../../assets/DejaVuSans.ttf");
/// The family name inside [`FONT_BYTES`].
pub const FONT_FAMILY: &str = "DejaVu Sans";
/// The `font-family` every SVG text names: the embedded font first, so that resvg (and any viewer that has it)
/// uses it, then the generic family for viewers that do not.
pub const SVG_FONT: &str = "DejaVu Sans, sans-serif";

/// A font database holding only the embedded font, which also answers for the generic `sans-serif`.
fn fonts() -> Arc<usvg::fontdb::Database> {
    static FONTS: OnceLock<Arc<usvg::fontdb::Database>> = OnceLock::new();
    FONTS
        .get_or_init(|| {
            let mut fonts = usvg::fontdb::Database::new();
            fonts.load_font_data(FONT_BYTES.to_vec());
            fonts.set_sans_serif_family(FONT_FAMILY);
            Arc::new(fonts)
        })
        .clone()
}

/// usvg's resolution: an SVG sized in `pt` is this many usvg pixels per inch.
const SVG_DPI: f32 = 96.0;

/// `svg` parsed with the embedded font (text laid out, units resolved).
pub fn parse(svg: &str) -> Result<usvg::Tree> {
    let options =
        usvg::Options { font_family: FONT_FAMILY.to_string(), fontdb: fonts(), dpi: SVG_DPI, ..Default::default() };
    usvg::Tree::from_str(svg, &options).context("usvg cannot read the figure's SVG")
}

/// The PNG of `svg` (an opaque figure on a white background) at `dpi` for its size in points, as encoded bytes.
pub fn svg_to_png(svg: &str, dpi: f64) -> Result<Vec<u8>> {
    tree_to_png(&parse(svg)?, dpi)
}

/// The PDF of `svg`, a page of its size in points.
pub fn svg_to_pdf(svg: &str) -> Result<Vec<u8>> {
    tree_to_pdf(&parse(svg)?)
}

fn tree_to_pdf(tree: &usvg::Tree) -> Result<Vec<u8>> {
    let page = svg2pdf::PageOptions { dpi: SVG_DPI };
    let pdf = svg2pdf::to_pdf(tree, svg2pdf::ConversionOptions::default(), page)
        .map_err(|e| anyhow::anyhow!("svg2pdf cannot convert the figure: {e}"))?;
    Ok(sorted_resources(&pdf))
}

/// `pdf` with the entries of every resource dictionary in one order. svg2pdf writes a page's or form's resources
/// (`/xo12 34 0 R`, `/gs3 8 0 R`, one entry a line) from a hash map, in an order that changes from run to run
/// wherever there are two of a kind (the images of a grid, the transparent fills of bars and bands). Sorting each
/// run of such lines outside the streams gives the same bytes on every redraw and moves no byte offset (a run
/// keeps its length), so the cross-reference table stays right.
fn sorted_resources(pdf: &[u8]) -> Vec<u8> {
    /// `      /xo12 34 0 R` or `      /cs0 [/ICCBased 5 0 R]`: a resource name (letters then digits), a reference.
    fn is_entry(line: &[u8]) -> bool {
        let body = line.trim_ascii_start();
        let indent = line.len() - body.len();
        let Some(name) = body.strip_prefix(b"/") else { return false };
        let letters = name.iter().take_while(|b| b.is_ascii_lowercase()).count();
        let digits = name[letters..].iter().take_while(|b| b.is_ascii_digit()).count();
        indent >= 4 && letters > 0 && digits > 0 && name.get(letters + digits) == Some(&b' ') && body.ends_with(b"R")
            || indent >= 4 && letters > 0 && digits > 0 && body.ends_with(b"R]")
    }
    let lines: Vec<&[u8]> = pdf.split(|&b| b == b'\n').collect();
    let mut out = Vec::with_capacity(pdf.len());
    let mut run: Vec<&[u8]> = Vec::new();
    let mut in_stream = false;
    for (i, &line) in lines.iter().enumerate() {
        let entry = !in_stream && is_entry(line);
        if !entry && !run.is_empty() {
            run.sort_unstable();
            for l in run.drain(..) {
                out.extend_from_slice(l);
                out.push(b'\n');
            }
        }
        if entry {
            run.push(line);
        } else {
            out.extend_from_slice(line);
            if i + 1 < lines.len() {
                out.push(b'\n');
            }
        }
        if !in_stream && line == b"stream" {
            in_stream = true;
        } else if in_stream && line.starts_with(b"endstream") {
            in_stream = false;
        }
    }
    out
}

fn tree_to_png(tree: &usvg::Tree, dpi: f64) -> Result<Vec<u8>> {
    let scale = (dpi / f64::from(SVG_DPI)) as f32;
    let size = tree.size().to_int_size().scale_by(scale).context("the figure is too large to rasterise")?;
    let (width, height) = (size.width(), size.height());
    let mut pixmap =
        tiny_skia::Pixmap::new(width, height).with_context(|| format!("cannot allocate a {width}x{height} image"))?;
    pixmap.fill(tiny_skia::Color::WHITE);
    resvg::render(tree, tiny_skia::Transform::from_scale(scale, scale), &mut pixmap.as_mut());
    // Every pixel is opaque (the figure is drawn over white), so dropping alpha loses nothing.
    let rgb: Vec<u8> = pixmap.data().chunks_exact(4).flat_map(|p| [p[0], p[1], p[2]]).collect();
    let image = image::RgbImage::from_raw(width, height, rgb).context("rasterised figure has the wrong size")?;
    let mut png = Cursor::new(Vec::new());
    image.write_to(&mut png, image::ImageFormat::Png).context("cannot encode the figure as PNG")?;
    Ok(png.into_inner())
}

/// Write `bytes` to `path` atomically unless the file already holds exactly them. Returns whether it wrote.
pub fn write_if_changed(path: &Path, bytes: &[u8]) -> Result<bool> {
    if std::fs::read(path).is_ok_and(|old| old == bytes) {
        return Ok(false);
    }
    crate::atomic::write(path, bytes)?;
    Ok(true)
}

/// Write `<stem>.svg`, the `<stem>.pdf` converted from it and the `<stem>.png` rasterised from it at `png_dpi`
/// (each only if changed).
pub fn write_svg_pdf_png(stem: &Path, svg: &str, png_dpi: f64) -> Result<()> {
    let name = stem.with_extension("svg");
    let tree = parse(svg).with_context(|| format!("cannot read {}", name.display()))?;
    let pdf = tree_to_pdf(&tree).with_context(|| format!("cannot convert {} to PDF", name.display()))?;
    let png = tree_to_png(&tree, png_dpi).with_context(|| format!("cannot rasterise {}", name.display()))?;
    write_if_changed(&name, svg.as_bytes())?;
    write_if_changed(&stem.with_extension("pdf"), &pdf)?;
    write_if_changed(&stem.with_extension("png"), &png)?;
    Ok(())
}

/// `text` with the characters XML reserves escaped, for hand-written SVG.
pub fn xml_text(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Columns of a decoded PNG that hold ink (any channel below mid-grey).
    fn inked_columns(png: &[u8]) -> Vec<bool> {
        let image = image::load_from_memory(png).unwrap().to_rgb8();
        (0..image.width()).map(|x| (0..image.height()).any(|y| image.get_pixel(x, y).0[0] < 128)).collect()
    }

    fn text_svg(text: &str, family: &str) -> String {
        format!(
            r#"<svg width="120" height="60" xmlns="http://www.w3.org/2000/svg"><text x="10" y="45" font-family="{family}" font-size="40">{text}</text></svg>"#
        )
    }

    #[test]
    fn text_is_set_in_the_embedded_font_with_its_glyphs_apart() {
        for family in [SVG_FONT, "sans-serif"] {
            let columns = inked_columns(&svg_to_png(&text_svg("cl", family), 96.0).unwrap());
            // "c" and "l" are two runs of inked columns with paper between them: not merged into a "d".
            let runs = columns.windows(2).filter(|w| !w[0] && w[1]).count() + usize::from(columns[0]);
            assert_eq!(runs, 2, "{family}: {columns:?}");
        }
    }

    #[test]
    fn rendering_twice_gives_the_same_bytes() {
        let svg = text_svg("blurry-to-clear σ", SVG_FONT);
        assert_eq!(svg_to_png(&svg, 300.0).unwrap(), svg_to_png(&svg, 300.0).unwrap());
        assert_eq!(svg_to_pdf(&svg).unwrap(), svg_to_pdf(&svg).unwrap());
    }

    #[test]
    fn resource_entries_are_sorted_outside_streams_keeping_every_offset() {
        let pdf = b"1 0 obj\n<<\n    /XObject <<\n      /xo9 12 0 R\n      /xo10 3 0 R\n    >>\n>>\nstream\n      /b1 2 0 R\n      /a1 1 0 R\nendstream\n";
        let sorted = sorted_resources(pdf);
        assert_eq!(sorted.len(), pdf.len());
        let text = String::from_utf8(sorted).unwrap();
        assert!(text.contains("      /xo10 3 0 R\n      /xo9 12 0 R\n"), "{text}");
        assert!(text.contains("      /b1 2 0 R\n      /a1 1 0 R\n"), "a stream's bytes are left alone: {text}");
    }

    #[test]
    fn a_pdf_with_many_images_and_transparent_fills_has_the_same_bytes_every_time() {
        let pixel = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAIAAACQd1PeAAAADElEQVR4nGP4z8AAAAMBAQDJ/pLvAAAAAElFTkSuQmCC";
        let mut svg = String::from(
            r#"<svg width="72pt" height="72pt" viewBox="0 0 96 96" xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink">"#,
        );
        for i in 0..12 {
            svg +=
                &format!(r#"<image x="{i}" y="0" width="1" height="1" xlink:href="data:image/png;base64,{pixel}"/>"#);
            svg += &format!(r##"<rect x="{i}" y="10" width="5" height="5" fill="#ff0000" fill-opacity="0.{i}"/>"##);
        }
        svg += "</svg>";
        let first = svg_to_pdf(&svg).unwrap();
        for _ in 0..4 {
            assert!(svg_to_pdf(&svg).unwrap() == first, "the PDF changed between conversions");
        }
    }

    #[test]
    fn the_png_has_the_declared_resolution_and_the_pdf_the_size_in_points() {
        let svg = r#"<svg width="72pt" height="36pt" viewBox="0 0 288 144" xmlns="http://www.w3.org/2000/svg"><text x="10" y="100" font-size="40">σ</text></svg>"#;
        let png = image::load_from_memory(&svg_to_png(svg, 300.0).unwrap()).unwrap();
        assert_eq!((png.width(), png.height()), (300, 150), "one inch by half an inch at 300 dpi");
        let pdf = svg_to_pdf(svg).unwrap();
        let text = String::from_utf8_lossy(&pdf);
        assert!(text.contains("/MediaBox [0 0 72 36]"), "a 72 x 36 pt page");
        assert!(text.contains("/FontFile2"), "the font is embedded");
        assert!(!text.contains("CreationDate"), "no date: the same bytes on every redraw");
    }

    #[test]
    fn an_unchanged_file_is_not_rewritten() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.json");
        assert!(write_if_changed(&path, b"1").unwrap());
        assert!(!write_if_changed(&path, b"1").unwrap());
        assert!(write_if_changed(&path, b"2").unwrap());
        assert_eq!(std::fs::read(&path).unwrap(), b"2");
    }

    #[test]
    fn xml_text_escapes_reserved_characters() {
        assert_eq!(xml_text("R^2 < 0.4 & \"x\""), "R^2 &lt; 0.4 &amp; &quot;x&quot;");
    }
}
