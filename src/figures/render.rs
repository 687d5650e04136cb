//! From a figure's SVG to its files: the SVG as drawn, and the PNG rasterised from that same SVG by resvg.
//!
//! Rasterising the SVG (rather than drawing the PNG separately) makes the two show the same thing: the text is
//! set by a real text layout (shaping, kerning) in the embedded DejaVu Sans, and lines of every slope have the
//! same anti-aliased width. resvg is given only the embedded font (no system fonts), so a PNG has the same bytes
//! on every machine. Files are rewritten only when their bytes change, so redrawing unchanged figures leaves a
//! checkout clean.
use std::io::Cursor;
use std::path::Path;
use std::sync::{Arc, OnceLock};

use anyhow::{Context, Result};
use resvg::{tiny_skia, usvg};

/// The font every figure uses, embedded so that no machine's fonts change a figure.
pub(crate) const FONT_BYTES: &[u8] = include_bytes!("../../assets/DejaVuSans.ttf");
/// The family name inside [`FONT_BYTES`].
pub(crate) const FONT_FAMILY: &str = "DejaVu Sans";
/// The `font-family` every SVG text names: the embedded font first, so that resvg (and any viewer that has it)
/// uses it, then the generic family for viewers that do not.
pub(crate) const SVG_FONT: &str = "DejaVu Sans, sans-serif";

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

/// The PNG of `svg` (an opaque figure on a white background), as encoded bytes.
pub fn svg_to_png(svg: &str) -> Result<Vec<u8>> {
    let options = usvg::Options { font_family: FONT_FAMILY.to_string(), fontdb: fonts(), ..Default::default() };
    let tree = usvg::Tree::from_str(svg, &options).context("resvg cannot read the figure's SVG")?;
    let size = tree.size().to_int_size();
    let (width, height) = (size.width(), size.height());
    let mut pixmap =
        tiny_skia::Pixmap::new(width, height).with_context(|| format!("cannot allocate a {width}x{height} image"))?;
    pixmap.fill(tiny_skia::Color::WHITE);
    resvg::render(&tree, tiny_skia::Transform::identity(), &mut pixmap.as_mut());
    // Every pixel is opaque (the figure is drawn over white), so dropping alpha loses nothing.
    let rgb: Vec<u8> = pixmap.data().chunks_exact(4).flat_map(|p| [p[0], p[1], p[2]]).collect();
    let image = image::RgbImage::from_raw(width, height, rgb).context("rasterised figure has the wrong size")?;
    let mut png = Cursor::new(Vec::new());
    image.write_to(&mut png, image::ImageFormat::Png).context("cannot encode the figure as PNG")?;
    Ok(png.into_inner())
}

/// Write `bytes` to `path` atomically unless the file already holds exactly them. Returns whether it wrote.
pub(crate) fn write_if_changed(path: &Path, bytes: &[u8]) -> Result<bool> {
    if std::fs::read(path).is_ok_and(|old| old == bytes) {
        return Ok(false);
    }
    crate::atomic::write(path, bytes)?;
    Ok(true)
}

/// Write `<stem>.svg` and the `<stem>.png` rasterised from it (each only if changed).
pub(crate) fn write_svg_and_png(stem: &Path, svg: &str) -> Result<()> {
    let png = svg_to_png(svg).with_context(|| format!("cannot rasterise {}", stem.with_extension("svg").display()))?;
    write_if_changed(&stem.with_extension("svg"), svg.as_bytes())?;
    write_if_changed(&stem.with_extension("png"), &png)?;
    Ok(())
}

/// `text` with the characters XML reserves escaped, for hand-written SVG.
pub(crate) fn xml_text(text: &str) -> String {
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
            let columns = inked_columns(&svg_to_png(&text_svg("cl", family)).unwrap());
            // "c" and "l" are two runs of inked columns with paper between them: not merged into a "d".
            let runs = columns.windows(2).filter(|w| !w[0] && w[1]).count() + usize::from(columns[0]);
            assert_eq!(runs, 2, "{family}: {columns:?}");
        }
    }

    #[test]
    fn rendering_twice_gives_the_same_bytes() {
        let svg = text_svg("blurry-to-clear", SVG_FONT);
        assert_eq!(svg_to_png(&svg).unwrap(), svg_to_png(&svg).unwrap());
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
