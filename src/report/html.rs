//! `report.html`: the reviewer's one page. It is `report.md` rendered (the provenance header, the findings, the
//! agreement per table and curve) followed by every figure of the run, in one self-contained file: no network and
//! no other file is needed to read it, the figures being embedded as `data:` URLs of their SVG (whose own pictures
//! are `data:` URLs too). `scripts/render-report.sh` renders it to a PNG in headless Chromium.
use std::fmt::Write as _;
use std::path::Path;

use anyhow::{Context, Result};
use base64::Engine as _;
use serde_json::Value;

/// The page's style: system fonts only (nothing fetched), tables that stay readable at any width.
const STYLE: &str = "body{font-family:system-ui,'DejaVu Sans',sans-serif;margin:2em auto;max-width:1200px;padding:0 1em;\
color:#222;line-height:1.45}table{border-collapse:collapse;margin:0.8em 0;font-size:0.88em}th,td{border:1px solid #ccc;\
padding:3px 7px;vertical-align:top}th{background:#f0f0f0}tr:nth-child(even) td{background:#fafafa}code{font-size:0.92em}\
figure{margin:1.5em 0;border-top:1px solid #ddd;padding-top:0.8em}figure img{max-width:100%;height:auto}\
figcaption{font-size:0.9em;color:#444;margin-top:0.4em}h1{border-bottom:2px solid #444}h2{border-bottom:1px solid #aaa}";

/// Where in report.md the page puts the figures: after the summaries, before the details (an HTML comment, invisible
/// in the Markdown).
pub const FIGURES_HERE: &str = "\n<!-- figures -->\n";

/// The page of `markdown` (report.md) with the figures of `figures_dir` (their `.svg`, captioned from the `.json`
/// beside each) where it says [`FIGURES_HERE`] (else at the end), titled `title`.
pub fn page(title: &str, markdown: &str, figures_dir: &Path) -> Result<String> {
    let mut body = String::new();
    let options = pulldown_cmark::Options::ENABLE_TABLES;
    pulldown_cmark::html::push_html(&mut body, pulldown_cmark::Parser::new_ext(markdown, options));
    let figures = figures_section(figures_dir)?;
    let body = match body.find(FIGURES_HERE.trim()) {
        Some(at) => format!("{}{figures}{}", &body[..at], &body[at + FIGURES_HERE.trim().len()..]),
        None => body + &figures,
    };
    let mut out = String::new();
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>{}</title>\n<style>{STYLE}</style>\n\
         </head>\n<body>\n<main>\n{body}",
        escape(title)
    );
    out.push_str("</main>\n</body>\n</html>\n");
    Ok(out)
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

/// Every figure of the run, in file-name order, as `<figure>` with its SVG embedded.
fn figures_section(figures_dir: &Path) -> Result<String> {
    let mut out = String::from("<h2>Figures</h2>\n");
    let mut svgs: Vec<_> = match std::fs::read_dir(figures_dir) {
        Ok(entries) => entries
            .map(|e| e.map(|e| e.path()))
            .collect::<std::io::Result<Vec<_>>>()
            .with_context(|| format!("cannot list {}", figures_dir.display()))?
            .into_iter()
            .filter(|p| p.extension().is_some_and(|e| e == "svg"))
            .collect(),
        Err(_) => Vec::new(),
    };
    svgs.sort();
    if svgs.is_empty() {
        let _ = writeln!(
            out,
            "<p>No figures were drawn for this run (none in <code>{}</code>): <code>blurry-to-clear figures RUN_DIR</code> \
             draws them, then <code>blurry-to-clear report RUN_DIR</code> rewrites this page.</p>",
            escape(&crate::verify::project_relative(figures_dir))
        );
    }
    for svg in svgs {
        let bytes = std::fs::read(&svg).with_context(|| format!("cannot read {}", svg.display()))?;
        let id = svg.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
        let meta: Option<Value> =
            std::fs::read(svg.with_extension("json")).ok().and_then(|b| serde_json::from_slice(&b).ok());
        let field = |name: &str| meta.as_ref().and_then(|m| m.get(name)).and_then(Value::as_str).map(escape);
        let title = field("title").unwrap_or_default();
        let reproduces = field("reproduces").map_or(String::new(), |r| format!(" Reproduces {r}."));
        let _ = writeln!(
            out,
            "<figure id=\"{id}\">\n<img alt=\"{id}\" src=\"data:image/svg+xml;base64,{}\">\n<figcaption><code>{id}</code>: \
             {title}.{reproduces}</figcaption>\n</figure>",
            base64::engine::general_purpose::STANDARD.encode(&bytes)
        );
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_page_renders_the_markdown_and_embeds_every_figure() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("a.svg"), "<svg xmlns=\"http://www.w3.org/2000/svg\"/>").unwrap();
        std::fs::write(dir.path().join("a.json"), r#"{"title": "Accuracy <against> blur"}"#).unwrap();
        std::fs::write(dir.path().join("a.png"), "not embedded").unwrap();
        let page = page("Report: mini", "# Report\n\n| a | b |\n|---|---|\n| 1 | 2 |\n", dir.path()).unwrap();
        assert!(page.contains("<table>") && page.contains("<td>1</td>"), "{page}");
        assert!(page.contains("data:image/svg+xml;base64,") && page.contains("Accuracy &lt;against&gt; blur"));
        assert_eq!(page.matches("<figure").count(), 1);
        // The SVG's namespace is inside the base64: nothing in the page names a location.
        assert!(!page.contains("http") && !page.contains("file://"), "{page}");
        let placed = super::page("r", &format!("# A{FIGURES_HERE}# B\n"), dir.path()).unwrap();
        let (a, figure, b) = (placed.find("<h1>A").unwrap(), placed.find("<figure").unwrap(), placed.find("<h1>B"));
        assert!(a < figure && Some(figure) < b, "{placed}");
        let empty = super::page("r", "x", &dir.path().join("none")).unwrap();
        assert!(empty.contains("No figures were drawn"));
    }
}
