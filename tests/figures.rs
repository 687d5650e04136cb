//! Figures, verify, report and claims on the original's numbers (`expected/paper/`) and on fake run directories
//! built from them. Snapshots live in `expected/snapshots/`.
use std::path::{Path, PathBuf};
use std::process::Command;

use blurry_to_clear::claims::{accepts, filter_matches, Claims, Evidence, Relation, Verdict};
use blurry_to_clear::figures::style::Catalogue;
use blurry_to_clear::figures::{self, Source};
use blurry_to_clear::protocol::Profile;
use blurry_to_clear::results::{self, Record, RecordRow, ResultsDir, Row, Schema, SCHEMAS};
use blurry_to_clear::verify;
use serde_json::Value;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn paper_dir() -> PathBuf {
    root().join(figures::PAPER_DIR)
}

fn snapshots() -> insta::Settings {
    let mut settings = insta::Settings::clone_current();
    settings.set_snapshot_path(root().join("expected/snapshots"));
    settings.set_prepend_module_to_snapshot(false);
    settings
}

/// A run directory `<dir>/<name>/results/` holding expected/paper's tables with `profile` replaced.
fn fake_run(dir: &Path, name: &str, profile: &str) -> PathBuf {
    fake_run_sourced(dir, name, profile, None)
}

/// [`fake_run`], its rows' `source` replaced by `source` where given (`run:...`: a run's own rows, which `verify`
/// judges as a reproduction of the original).
fn fake_run_sourced(dir: &Path, name: &str, profile: &str, source: Option<&str>) -> PathBuf {
    let run = dir.join(name);
    for schema in SCHEMAS {
        let path = schema.csv_path(&paper_dir());
        if !path.exists() {
            continue;
        }
        let mut records = results::read_records(&path, schema, &[]).unwrap();
        for r in &mut records {
            r.insert("profile".into(), Value::from(profile));
            if let Some(source) = source {
                r.insert("source".into(), Value::from(source));
            }
        }
        results::write_records(&results::results_dir(&run), schema, &records).unwrap();
    }
    run
}

/// What a figure measures at its print width: its width and smallest text in points.
struct Printed {
    width_pt: f64,
    smallest_text_pt: f64,
}

/// Check `svg` (figure `id`) at its print width: the root says `width_pt`; every text is at least 7 pt, lies inside
/// the canvas and overlaps no other text; every stroke is at least 0.5 pt. The text is laid out by usvg with the
/// embedded font, as the PNG and PDF are.
fn check_print(id: &str, svg: &str, width_pt: f64) -> Printed {
    use resvg::usvg::{Node, Rect};
    let tree = figures::render::parse(svg).unwrap();
    // usvg's pixels are 1/96 inch; points are 1/72.
    let pt_per_px = 72.0 / 96.0;
    let size = tree.size();
    assert!((f64::from(size.width()) * pt_per_px - width_pt).abs() < 0.01, "{id} is not {width_pt} pt wide");
    let mut texts: Vec<(String, Rect, f64)> = Vec::new();
    let mut thinnest = f64::INFINITY;
    fn walk(group: &resvg::usvg::Group, texts: &mut Vec<(String, Rect, f64)>, thinnest: &mut f64, pt_per_px: f64) {
        for node in group.children() {
            match node {
                Node::Group(g) => walk(g, texts, thinnest, pt_per_px),
                Node::Text(t) => {
                    let (sx, sy) = t.abs_transform().get_scale();
                    let scale = f64::from(sx.max(sy)) * pt_per_px;
                    for chunk in t.chunks() {
                        for span in chunk.spans() {
                            let pt = f64::from(span.font_size().get()) * scale;
                            texts.push((chunk.text().to_string(), t.abs_bounding_box(), pt));
                        }
                    }
                }
                Node::Path(p) => {
                    if let Some(stroke) = p.stroke() {
                        let (sx, sy) = p.abs_transform().get_scale();
                        let width = f64::from(stroke.width().get()) * f64::from(sx.min(sy)) * pt_per_px;
                        *thinnest = thinnest.min(width);
                    }
                }
                Node::Image(_) => {}
            }
        }
    }
    walk(tree.root(), &mut texts, &mut thinnest, pt_per_px);
    assert!(!texts.is_empty(), "{id} has no text");
    assert!(thinnest >= 0.5 - 1e-3, "{id}: a line is {thinnest:.2} pt wide at print size");
    let (w, h) = (size.width(), size.height());
    let mut smallest = f64::INFINITY;
    for (i, (text, rect, pt)) in texts.iter().enumerate() {
        smallest = smallest.min(*pt);
        assert!(*pt >= 7.0 - 1e-3, "{id}: '{text}' is {pt:.2} pt at print size");
        let inside =
            rect.left() >= -0.01 && rect.top() >= -0.01 && rect.right() <= w + 0.01 && rect.bottom() <= h + 0.01;
        assert!(inside, "{id}: '{text}' ({rect:?}) is outside the {w} x {h} canvas");
        for (other, r, _) in &texts[i + 1..] {
            // Glyph boxes may touch; they overlap when they share more than half a point each way.
            let (dx, dy) = (
                rect.right().min(r.right()) - rect.left().max(r.left()),
                rect.bottom().min(r.bottom()) - rect.top().max(r.top()),
            );
            let overlap = f64::from(dx.min(dy)) * pt_per_px;
            assert!(overlap <= 0.5, "{id}: '{text}' overlaps '{other}' by {overlap:.2} pt");
        }
    }
    Printed { width_pt, smallest_text_pt: smallest }
}

/// The catalogue entry a drawn figure is an instance of (`conv1_kernels_faces` of `conv1_kernels`).
fn catalogue_id(drawn: &str) -> &str {
    ["conv1_kernels", "gabor_fit_grid"].into_iter().find(|prefix| drawn.starts_with(prefix)).unwrap_or(drawn)
}

/// [`check_print`] on every drawn figure in `dir`, and its PDF beside it.
fn check_every_figure_printed(dir: &Path, written: &[String]) {
    let catalogue = Catalogue::load().unwrap();
    for id in written {
        let svg = std::fs::read_to_string(dir.join(format!("{id}.svg"))).unwrap();
        let printed = check_print(id, &svg, catalogue.width_pt(catalogue_id(id)).unwrap());
        println!("{id}: {} pt wide, smallest text {:.1} pt", printed.width_pt, printed.smallest_text_pt);
        let pdf = std::fs::read(dir.join(format!("{id}.pdf"))).unwrap();
        assert!(pdf.starts_with(b"%PDF") && String::from_utf8_lossy(&pdf).contains("/FontFile2"), "{id}.pdf");
    }
}

fn binary() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_blurry-to-clear"));
    command.current_dir(root());
    command
}

#[test]
fn every_table_figure_renders_from_expected_paper_with_provenance() {
    let out = tempfile::tempdir().unwrap();
    // Integration tests run in the package root, where `paper` resolves to expected/paper.
    let source = Source::resolve("paper").unwrap();
    assert_eq!(source.default_out_dir(), root().join("figures/paper"));
    let written = figures::draw_source(&source, out.path()).unwrap();
    let catalogue = Catalogue::load().unwrap();
    // Every figure whose tables the original has, but those needing what the original's numbers lack: the Gabor fit
    // grids (the per-filter table has no fitted parameters), the per-layer and pooled histograms (only conv5's bars
    // were digitized).
    let lacking = ["gabor_fit_grid", "peak_sf_histograms_by_layer", "all_conv_peak_sf_histograms"];
    let drawable: Vec<&str> = catalogue
        .figure
        .iter()
        .filter(|f| f.tables.iter().all(|t| paper_dir().join(format!("{t}.csv")).exists()))
        .filter(|f| !lacking.contains(&f.id.as_str()))
        .map(|f| f.id.as_str())
        .collect();
    assert_eq!(written, drawable);
    let dpi = catalogue.print.png_dpi;
    for id in &written {
        let width_pt = catalogue.width_pt(id).unwrap();
        let png = std::fs::read(out.path().join(format!("{id}.png"))).unwrap();
        let image = image::load_from_memory(&png).unwrap();
        let expected_width = (width_pt * dpi / 72.0).round() as u32;
        assert!(image.width().abs_diff(expected_width) <= 1, "{id} is {} px wide", image.width());
        let svg = std::fs::read_to_string(out.path().join(format!("{id}.svg"))).unwrap();
        assert!(svg.starts_with("<svg") && svg.contains("<text"), "{id}.svg");
        assert!(
            svg.contains("\nthe original&apos;s numbers (expected/paper/)\n"),
            "{id}: the subtitle says what is drawn"
        );
        let printed = check_print(id, &svg, width_pt);
        println!("{id}: {} pt wide, smallest text {:.1} pt", printed.width_pt, printed.smallest_text_pt);
        // The PNG and the PDF are the SVG converted: the same text, set in the embedded font.
        assert!(png == figures::render::svg_to_png(&svg, dpi).unwrap(), "{id}.png is not its SVG rasterised");
        let pdf = std::fs::read(out.path().join(format!("{id}.pdf"))).unwrap();
        assert!(pdf == figures::render::svg_to_pdf(&svg).unwrap(), "{id}.pdf is not its SVG converted");
        let provenance_text = std::fs::read_to_string(out.path().join(format!("{id}.json"))).unwrap();
        assert!(!provenance_text.contains("git_commit"), "{id}.json names a commit");
        assert!(!provenance_text.contains(root().to_str().unwrap()), "{id}.json holds an absolute path");
        let provenance: Value = serde_json::from_str(&provenance_text).unwrap();
        assert_eq!(provenance["source"], "expected/paper");
        assert_eq!(provenance["profile"], "paper");
        let catalogue_hash = blurry_to_clear::provenance::sha256_bytes(figures::style::CATALOGUE_TOML.as_bytes());
        assert_eq!(provenance["drawn_by"]["catalogue_sha256"].as_str(), Some(catalogue_hash.as_str()));
        let table = &provenance["tables"][0];
        let file = root().join("expected/paper").join(table["file"].as_str().unwrap());
        let hashed = blurry_to_clear::provenance::sha256_file(&file).unwrap();
        assert_eq!(table["sha256"].as_str(), Some(hashed.as_str()), "{id}");
        // `just figures` regenerates the committed figures to the byte (the font is embedded), sidecars included.
        for ext in ["png", "svg", "pdf", "json"] {
            let committed = root().join(format!("figures/paper/{id}.{ext}"));
            let drawn = out.path().join(format!("{id}.{ext}"));
            assert!(
                std::fs::read(&committed).unwrap() == std::fs::read(&drawn).unwrap(),
                "{} is stale: run `target/debug/blurry-to-clear figures paper`",
                committed.display()
            );
        }
    }
}

#[test]
fn redrawing_unchanged_numbers_rewrites_no_file() {
    let out = tempfile::tempdir().unwrap();
    let source = Source::resolve("paper").unwrap();
    figures::draw_source(&source, out.path()).unwrap();
    let modified = |name: &str| std::fs::metadata(out.path().join(name)).unwrap().modified().unwrap();
    let before: Vec<_> = ["accuracy_vs_blur.png", "accuracy_vs_blur.svg", "accuracy_vs_blur.json"].map(modified).into();
    std::thread::sleep(std::time::Duration::from_millis(20));
    figures::draw_source(&source, out.path()).unwrap();
    let after: Vec<_> = ["accuracy_vs_blur.png", "accuracy_vs_blur.svg", "accuracy_vs_blur.json"].map(modified).into();
    assert_eq!(before, after);
}

#[test]
fn a_paper_profile_run_is_drawn_over_the_original_and_another_profile_is_not() {
    let dir = tempfile::tempdir().unwrap();
    let catalogue = Catalogue::load().unwrap();
    let paper_tables = Source::resolve("paper").unwrap().tables(&catalogue).unwrap();
    for (profile, overlaid) in [("paper-uniform", true), ("tiny", false)] {
        // The paper-uniform run's rows as its own (`run:`): judged as a reproduction, with difference panels.
        let source = overlaid.then_some("run:paper-uniform seed 0");
        let run = fake_run_sourced(dir.path(), profile, profile, source);
        let source = Source::resolve(run.to_str().unwrap()).unwrap();
        assert_eq!((source.name.as_str(), source.profile.as_str()), (profile, profile));
        assert_eq!(source.default_out_dir(), run.join("figures"));
        let out = run.join("figures");
        let written = figures::draw_source(&source, &out).unwrap();
        check_every_figure_printed(&out, &written);
        let json: Value =
            serde_json::from_str(&std::fs::read_to_string(out.join("accuracy_vs_blur.json")).unwrap()).unwrap();
        assert_eq!(json["overlay"].is_object(), overlaid, "{profile}");
        assert_eq!(json["overlay"]["allowance"]["file"].as_str(), overlaid.then_some("agreement.toml"), "{profile}");
        let svg = std::fs::read_to_string(out.join("accuracy_vs_blur.svg")).unwrap();
        let band = &catalogue.style.difference.band_label;
        assert_eq!(svg.contains(&format!("\n{band}\n")), overlaid, "{profile}: the difference panels' band");
        assert_eq!(json["source"], profile, "a run outside the project is named by its directory");
        assert_eq!(json["tables"][0]["file"], "results/accuracy_vs_blur.csv");
        // The figure draws the run's own table: every accuracy moved up by one point moves every drawn point.
        let results_dir = run.join("results");
        let mut rows: Vec<results::AccuracyVsBlur> = results::read_table(&results_dir).unwrap();
        rows.iter_mut().for_each(|r| r.accuracy_pct += 1.0);
        results::write_table(&results_dir, &rows).unwrap();
        let theirs = figures::table_figure("accuracy_vs_blur", &paper_tables, &catalogue.style).unwrap();
        let tables = source.tables(&catalogue).unwrap();
        let ours = figures::table_figure("accuracy_vs_blur", &tables, &catalogue.style).unwrap();
        let ys = |f: &figures::canvas::Figure| -> Vec<f64> {
            f.panels.iter().flat_map(|p| p.series.iter().flat_map(|s| s.points.iter().map(|q| q.y))).collect()
        };
        assert_eq!(ys(&ours).len(), 495);
        for (mine, original) in ys(&ours).iter().zip(ys(&theirs)) {
            assert!((mine - original - 1.0).abs() < 1e-9, "{mine} vs {original}");
        }
        let merged = figures::overlay(theirs.clone(), &theirs, &catalogue.style.original);
        assert_eq!(merged.panels[0].series.len(), 2 * theirs.panels[0].series.len());
        assert_eq!(merged.overlay_label, catalogue.style.original.label);
    }
    // The `tiny` profile's figures say they are drawn from the stand-ins, with its chance levels (8 faces).
    let svg = std::fs::read_to_string(dir.path().join("tiny/figures/accuracy_vs_blur.svg")).unwrap();
    assert!(svg.contains("\nprofile tiny: embedded stand-ins, not the real datasets\n"));
    let tiny = Source::resolve(dir.path().join("tiny").to_str().unwrap()).unwrap();
    let style = tiny.style(&catalogue.style);
    let figure = figures::table_figure("accuracy_vs_blur", &paper_tables, &style).unwrap();
    assert_eq!(figure.panels[0].hlines[0].at, 12.5);
}

#[test]
fn figures_of_a_run_directory_go_into_the_run_by_default() {
    let dir = tempfile::tempdir().unwrap();
    let run = fake_run(dir.path(), "myrun", "tiny");
    let status = binary().arg("figures").arg(&run).status().unwrap();
    assert!(status.success());
    assert!(run.join("figures/accuracy_vs_blur.png").exists());
    assert!(!root().join("figures/myrun").exists(), "drawn over the committed figures/");
    let out = dir.path().join("elsewhere");
    let status = binary().arg("figures").arg(&run).arg("--out").arg(&out).status().unwrap();
    assert!(status.success());
    assert!(out.join("accuracy_vs_blur.svg").exists());
}

#[test]
fn grid_figures_render_from_tables_alone() {
    use blurry_to_clear::figures::grids::{self, GaborFits, Heatmap};
    use blurry_to_clear::results::{Conv1Weight, ErfMapPixel, ErfProfile, RfGaborFilter, RunKey};
    use blurry_to_clear::vocab::{DatasetId, ErfInput, Layer, Regime};
    let dir = tempfile::tempdir().unwrap();
    let run = fake_run(dir.path(), "tiny", "tiny");
    let tables = run.join("results");
    let key =
        RunKey { profile: "tiny".into(), seed: 5, dataset: DatasetId::ToyboxCategory, regime: Regime::BlurryToClear };
    let (mut kernels, mut pixels, mut profiles, mut fits) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for epoch in [20u32, 100] {
        for i in 0..4 * 3 * 11 * 11u32 {
            let (filter, channel, row, col) = (i / 363, i / 121 % 3, i / 11 % 11, i % 11);
            let weight = f64::from((i * epoch) % 17);
            kernels.push(Conv1Weight {
                run: key.clone(),
                epoch,
                filter,
                channel,
                row,
                col,
                weight,
                source: "s".into(),
            });
        }
        // A Gaussian bump whose width grows with the epoch, as the conv5 ERF map on images, and its profile.
        for i in 0..81u32 {
            let (row, col) = (i / 9, i % 9);
            let r2 = f64::from((row as i32 - 4).pow(2) + (col as i32 - 4).pow(2));
            let value = (-r2 / f64::from(epoch)).exp();
            let pixel = |input| ErfMapPixel {
                run: key.clone(),
                epoch,
                layer: Layer::CONV5,
                input,
                row,
                col,
                value,
                source: "s".into(),
            };
            pixels.push(pixel(ErfInput::Images));
        }
        for r in 0..5 {
            let value = (-f64::from(r * r) / f64::from(epoch)).exp();
            profiles.push(ErfProfile {
                run: key.clone(),
                epoch,
                layer: Layer::CONV5,
                input: ErfInput::Images,
                radius_px: f64::from(r),
                value,
                source: "s".into(),
            });
        }
        fits.push(RfGaborFilter {
            run: key.clone(),
            epoch,
            layer: Layer::CONV1,
            filter: 3,
            gabor_size: Some(2.0),
            r_squared: 0.8,
            valid: 1,
            amplitude: Some(1.0),
            x0: Some(5.0),
            y0: Some(5.0),
            sigma_x: Some(2.0),
            sigma_y: Some(2.0),
            theta: Some(0.5),
            frequency: Some(0.2),
            phase: Some(0.0),
            offset: Some(0.0),
            source: "s".into(),
        });
    }
    results::write_table(&tables, &kernels).unwrap();
    results::write_table(&tables, &pixels).unwrap();
    results::write_table(&tables, &profiles).unwrap();
    results::write_table(&tables, &fits).unwrap();
    let source = Source::resolve(run.to_str().unwrap()).unwrap();
    let written = figures::draw_source(&source, &dir.path().join("figures")).unwrap();
    for id in ["conv1_kernels_toybox_category", "gabor_fit_grid_toybox_category", "erf_maps", "erf_radial_profiles"] {
        assert!(written.iter().any(|w| w == id), "{id} not in {written:?}");
        assert!(image::open(dir.path().join(format!("figures/{id}.png"))).is_ok(), "{id}");
        let svg = std::fs::read_to_string(dir.path().join(format!("figures/{id}.svg"))).unwrap();
        assert!(svg.contains("profile tiny: embedded stand-ins, not the real datasets"), "{id}");
        let provenance = std::fs::read_to_string(dir.path().join(format!("figures/{id}.json"))).unwrap();
        assert!(provenance.contains("sha256"), "{id} has no table provenance: {provenance}");
    }
    check_every_figure_printed(&dir.path().join("figures"), &written);
    // Kernels: all 4 filters of each epoch, in colour, one mosaic per epoch; ERF maps: one map per epoch and a bar.
    let kernel_svg = std::fs::read_to_string(dir.path().join("figures/conv1_kernels_toybox_category.svg")).unwrap();
    assert!(kernel_svg.contains("all 4 filters, RGB"), "{kernel_svg}");
    assert_eq!(kernel_svg.matches("<image").count(), 2);
    let erf = std::fs::read_to_string(dir.path().join("figures/erf_maps.svg")).unwrap();
    assert_eq!(erf.matches("<image").count(), 3, "two maps and the colour bar");
    assert!(erf.contains(">gradient mass per"), "the colour bar says what the colours are");
    assert!(erf.contains(">56 px of the 224-px input</text>"), "the scale bar");
    let maps = grids::ErfMap::from_rows(&pixels).unwrap();
    assert_eq!(maps.iter().map(|m| (m.epoch, m.seed, m.map.width)).collect::<Vec<_>>(), [(20, 5, 9), (100, 5, 9)]);
    assert_eq!(maps[0].map.values[40], 1.0, "the bump's centre");
    let weights = grids::Conv1Weights::from_rows(&kernels).unwrap();
    let checkpoints = &weights[&key];
    assert_eq!((checkpoints.len(), checkpoints[1].epoch, checkpoints[1].shape), (2, 100, [4, 3, 11, 11]));

    let gabor = Heatmap::new(2, 2, vec![0.0, 1.0, 1.0, 0.0]).unwrap();
    let fits = [GaborFits { filter: 7, fits: vec![Some(gabor), None] }];
    let mut grid = grids::gabor_fit_grid("faces", &[20, 40], &fits);
    grid.width_pt = 252.0;
    grid.write(&dir.path().join("gabor_fit_grid"), 300.0).unwrap();
    assert!(image::open(dir.path().join("gabor_fit_grid.png")).is_ok());
    assert!(dir.path().join("gabor_fit_grid.pdf").exists());
}

#[test]
fn the_figure_catalogue_snapshot() {
    let catalogue = Catalogue::load().unwrap();
    let mut text = String::from("id | tables | reproduces | width (pt) | title\n");
    for f in &catalogue.figure {
        let width = catalogue.print.width_pt(f.width);
        text += &format!("{} | {} | {} | {width} | {}\n", f.id, f.tables.join("+"), f.reproduces, f.title);
    }
    text += "\nstyle:\n";
    for d in &catalogue.style.datasets {
        text +=
            &format!("dataset {} \"{}\" chance {:.4} colour {:?}\n", d.id, d.title, 100.0 / d.classes as f64, d.colour);
    }
    for r in &catalogue.style.regimes {
        text += &format!("regime {} \"{}\" colour {:?} {:?}\n", r.id, r.label, r.colour, r.dash);
    }
    text += &format!("sigma marker {}\n", catalogue.style.sigma_marker);
    snapshots().bind(|| insta::assert_snapshot!("figure_catalogue", text));
}

#[test]
fn the_data_behind_each_figure_of_expected_paper() {
    let catalogue = Catalogue::load().unwrap();
    let tables = Source::resolve("paper").unwrap().tables(&catalogue).unwrap();
    let figures = figures::table_figures(&catalogue, &tables, &catalogue.style);
    assert!(figures.len() >= 12);
    snapshots().bind(|| {
        for figure in &figures {
            insta::assert_snapshot!(format!("figure_data__{}", figure.id), figure.data_csv());
        }
    });
}

#[test]
fn verify_passes_a_run_against_itself_and_names_a_row_moved_outside_its_tolerance() {
    let dir = tempfile::tempdir().unwrap();
    let run = fake_run(dir.path(), "copy", "paper");
    let status = binary().arg("verify").arg(&run).status().unwrap();
    assert!(status.success(), "verify of expected/paper against itself failed");

    // Move faces/clear at sigma 4 by 0.01 pct-pt: outside the 0.005 of a hard-coded 2-dp value.
    let schema = SCHEMAS[0];
    let path = schema.csv_path(&run.join("results"));
    let mut records = results::read_records(&path, schema, &[]).unwrap();
    let moved = records
        .iter_mut()
        .find(|r| r["dataset"] == "faces" && r["regime"] == "clear" && r["test_sigma"].as_f64() == Some(4.0))
        .unwrap();
    let value = moved["accuracy_pct"].as_f64().unwrap() + 0.01;
    moved.insert("accuracy_pct".into(), Value::from(value));
    results::write_records(&run.join("results"), schema, &records).unwrap();
    let output = binary().arg("verify").arg(&run).arg("--against").arg(paper_dir()).output().unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("accuracy_vs_blur dataset=faces regime=clear test_sigma=4 accuracy_pct"), "{stderr}");
    let verification = verify::verify(&run, &paper_dir()).unwrap();
    assert_eq!(verification.failed(), 1);

    // Within a digitized tolerance (0.5 for a clean marker), a moved stage value still holds.
    let schema = SCHEMAS[1];
    let path = schema.csv_path(&run.join("results"));
    let mut records = results::read_records(&path, schema, &[]).unwrap();
    let first = &mut records[0];
    assert!(first["source"].as_str().unwrap().starts_with("digitized"));
    let value = first["accuracy_pct"].as_f64().unwrap() + 0.4;
    first.insert("accuracy_pct".into(), Value::from(value));
    results::write_records(&run.join("results"), schema, &records).unwrap();
    assert_eq!(verify::verify(&run, &paper_dir()).unwrap().failed(), 1);
}

#[test]
fn report_lists_tables_and_findings() {
    let dir = tempfile::tempdir().unwrap();
    let run = fake_run(dir.path(), "copy", "paper");
    let manifest =
        r#"{"git_commit": "abc123", "device": "cuda:0", "seeds": 1, "stages": [{"outputs": {"report.md": "0"}}]}"#;
    std::fs::write(run.join("manifest.json"), manifest).unwrap();
    let status = binary().arg("report").arg(&run).status().unwrap();
    assert!(status.success());
    let report = std::fs::read_to_string(run.join("report.md")).unwrap();
    assert!(report.contains("- **Made at commit:** `abc123`") && report.contains("- **Device:** cuda:0"), "{report}");
    // Rewriting the report updates its hash in the manifest.
    let manifest: Value = serde_json::from_str(&std::fs::read_to_string(run.join("manifest.json")).unwrap()).unwrap();
    let sha = blurry_to_clear::provenance::sha256_file(&run.join("report.md")).unwrap();
    assert_eq!(manifest["stages"][0]["outputs"]["report.md"].as_str(), Some(sha.as_str()));
    let claims = Claims::paper().unwrap();
    // What the run is comes first, then the findings' verdicts, then the numbers against expected/paper.
    let profile = report.find("- **Profile:** `paper`").unwrap();
    let findings = report.find("## The original's findings, re-derived from its own numbers").unwrap();
    let numbers = report.find("## Every number against").unwrap();
    assert!(profile < findings && findings < numbers, "{report}");
    let n = claims.claim.len();
    let tally = format!(
        "**Of {n} findings, {n} hold, 0 are weaker, 0 are inconclusive, 0 are not shown, 0 are reversed and 0 have no \
         data.**"
    );
    assert!(report.contains(&tally), "{report}");
    // Each finding says where it stands in the original; a dataset the original leaves undecided is marked.
    let costs = claims.claim.iter().find(|c| c.id == "b2c_costs_clear_accuracy_category_level").unwrap();
    assert!(report.contains(&format!("| `{}`: **holds** | {} |", costs.id, costs.original)), "{report}");
    assert!(report.contains("| in12 | -3.1"), "{report}");
    assert!(report.contains("| inconclusive (undecided by the original) |"), "{report}");
    assert!(report.contains("the original's numbers"), "{report}");
    // Every expected row accounted for: the 33 of toybox12_full_blur (no training record) are not comparable.
    assert!(report.contains("| accuracy_vs_blur | 495 | 462 | 462 | 0 | 0 | 33 | 0 | 0 | 462 |"), "{report}");
    assert!(report.contains("toybox12_full_blur: no training record"), "{report}");
    for claim in &claims.claim {
        assert!(report.contains(&format!("### {}: ", claim.id)), "{} has no section", claim.id);
    }
}

/// Move the values a claim's left side reads (its filters resolved for the paper's protocol) so far that the claim
/// must fail.
fn break_claim(claim: &blurry_to_clear::claims::Claim, schema: &'static Schema, records: &mut [Record]) {
    let paper = Profile::load("paper").unwrap();
    let claim = claim.resolved(Some(&paper)).unwrap();
    let far = match claim.relation {
        Relation::Greater => -1e6,
        _ => 1e6,
    };
    for r in records.iter_mut() {
        let row = RecordRow { schema, record: r };
        if !(filter_matches(&row, &claim.where_) && filter_matches(&row, &claim.lhs)) {
            continue;
        }
        if let Some(c) = &claim.contrast {
            if !accepts(&row.cell(schema.position(&c.column).unwrap()), &c.a) {
                continue;
            }
        }
        if claim.relation == Relation::PeakWithin {
            let over = r[claim.over.as_deref().unwrap()].as_f64().unwrap();
            let [lo, hi] = claim.range.unwrap();
            if (lo..=hi).contains(&over) {
                continue;
            }
        }
        r.insert(claim.value.clone(), Value::from(far));
    }
}

#[test]
fn every_claim_holds_on_the_original_and_is_reversed_when_its_effect_is_removed() {
    let claims = Claims::paper().unwrap();
    assert!(claims.claim.len() >= 10);
    let dir = tempfile::tempdir().unwrap();
    let evidence = |dir: &Path| {
        Evidence::read_with(&ResultsDir::new(dir), &claims, Some(Profile::load("paper").unwrap())).unwrap()
    };
    let paper = evidence(&paper_dir());
    for claim in &claims.claim {
        // The claims' margins were derived from the original's numbers: every finding holds decisively on them, and
        // each of its groups holds or is declared undecided by the original, with why (and then does not hold: a
        // declaration the original's numbers contradict is stale).
        let outcome = claim.evaluate(&paper).unwrap();
        assert_eq!(outcome.verdict, Verdict::Holds, "{} on expected/paper: {:?}", claim.id, outcome.groups);
        for g in &outcome.groups {
            match claim.undecided.get(&g.group) {
                None => {
                    assert_eq!(g.verdict, Verdict::Holds, "{} {}: {g:?}", claim.id, g.group);
                    let point = claim.judge((g.estimate, g.estimate));
                    assert_eq!(point, Verdict::Holds, "{} {}: {g:?}", claim.id, g.group);
                }
                Some(why) => {
                    assert!(!why.trim().is_empty(), "{} {}: undecided without a reason", claim.id, g.group);
                    assert_ne!(g.verdict, Verdict::Holds, "{} {} is declared undecided, but holds", claim.id, g.group);
                }
            }
        }
        for group in claim.undecided.keys() {
            assert!(outcome.groups.iter().any(|g| &g.group == group), "{}: no group {group}", claim.id);
        }

        let schema = SCHEMAS.iter().find(|s| s.name == claim.table).unwrap();
        let mut records = results::read_records(&schema.csv_path(&paper_dir()), schema, &[]).unwrap();
        break_claim(claim, schema, &mut records);
        let broken = dir.path().join(&claim.id);
        results::write_records(&broken, schema, &records).unwrap();
        let outcome = claim.evaluate(&evidence(&broken)).unwrap();
        assert_eq!(outcome.verdict, Verdict::Reversed, "{} with its effect removed: {:?}", claim.id, outcome.groups);
        assert_eq!(
            claim.evaluate(&evidence(dir.path())).unwrap().verdict,
            Verdict::NoData,
            "{} on no tables",
            claim.id
        );
    }
}

#[test]
fn claims_on_a_hand_made_table() {
    let claims = Claims::parse(
        r#"
[[claim]]
id = "peak"
finding = "blurry peaks at 8"
original = "a figure"
table = "accuracy_vs_blur"
value = "accuracy_pct"
lhs = { regime = ["blurry"] }
relation = "peak_within"
over = "test_sigma"
range = [6.0, 10.0]

[[claim]]
id = "gain"
finding = "b2c gains more on faces than on in100 at sigma 4"
original = "a figure"
table = "accuracy_vs_blur"
value = "accuracy_pct"
where = { test_sigma = [4] }
contrast = { column = "regime", a = "blurry_to_clear", b = "clear" }
lhs = { dataset = ["faces"] }
rhs = { dataset = ["in100"] }
relation = "greater"
margin = 5.0
"#,
    )
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let write = |rows: &[(&str, &str, f64, f64)]| {
        let rows: Vec<results::AccuracyVsBlur> = rows
            .iter()
            .map(|&(dataset, regime, sigma, acc)| results::AccuracyVsBlur {
                run: results::RunKey {
                    profile: "hand".into(),
                    seed: 0,
                    dataset: dataset.parse().unwrap(),
                    regime: regime.parse().unwrap(),
                },
                test_sigma: sigma,
                accuracy_pct: acc,
                images: None,
                ci_low_pct: None,
                ci_high_pct: None,
                source: "run:hand seed 0".into(),
            })
            .collect();
        results::write_table(dir.path(), &rows).unwrap();
    };
    // Faces gains 30 - 10 = 20, in100 gains 12 - 10 = 2: the gain differs by 18 > 5. Blurry peaks at 8.
    write(&[
        ("faces", "clear", 4.0, 10.0),
        ("faces", "blurry_to_clear", 4.0, 30.0),
        ("in100", "clear", 4.0, 10.0),
        ("in100", "blurry_to_clear", 4.0, 12.0),
        ("faces", "blurry", 0.0, 20.0),
        ("faces", "blurry", 8.0, 70.0),
    ]);
    // No profile and no per-image record: the numbers are taken as exact, and the intervals are points.
    let evidence = || Evidence::read_with(&ResultsDir::new(dir.path()), &claims, None).unwrap();
    let gain = claims.claim[1].evaluate(&evidence()).unwrap();
    assert_eq!(gain.verdict, Verdict::Holds);
    assert_eq!((gain.groups[0].lhs, gain.groups[0].rhs), (Some(20.0), Some(2.0)));
    assert_eq!(gain.groups[0].interval, (18.0, 18.0));
    let peak = claims.claim[0].evaluate(&evidence()).unwrap();
    assert_eq!((peak.verdict, peak.groups[0].estimate), (Verdict::Holds, 8.0));
    // Faces gains only 4 more than in100, short of the margin of 5 but in its direction (weaker), and blurry peaks at
    // 0, outside its range (reversed).
    write(&[
        ("faces", "clear", 4.0, 10.0),
        ("faces", "blurry_to_clear", 4.0, 16.0),
        ("in100", "clear", 4.0, 10.0),
        ("in100", "blurry_to_clear", 4.0, 12.0),
        ("faces", "blurry", 0.0, 80.0),
        ("faces", "blurry", 8.0, 70.0),
    ]);
    assert_eq!(claims.claim[1].evaluate(&evidence()).unwrap().verdict, Verdict::Weaker);
    let peak = claims.claim[0].evaluate(&evidence()).unwrap();
    assert_eq!((peak.verdict, peak.groups[0].estimate), (Verdict::Reversed, 0.0));
}

/// With per-image records the interval of a difference between regimes is a paired bootstrap over the same test
/// images: a 10-point gain made of 100 discordant images in 1000 holds at a 5-point margin, is inconclusive at a
/// margin inside its interval and weaker at one beyond it.
#[test]
fn claims_judge_paired_differences_by_their_bootstrap_interval() {
    use blurry_to_clear::results::{AccuracyVsBlur, RunKey, TestPredictions};
    use blurry_to_clear::stats::bits_to_hex;
    let dir = tempfile::tempdir().unwrap();
    let key = |regime: &str| RunKey {
        profile: "hand".into(),
        seed: 0,
        dataset: "faces".parse().unwrap(),
        regime: regime.parse().unwrap(),
    };
    let correct = |regime: &str| -> Vec<bool> {
        (0..1000).map(|i| i % 2 == 0 || (regime == "blurry_to_clear" && i % 10 == 1)).collect()
    };
    let mut accuracy = Vec::new();
    let mut predictions = Vec::new();
    for regime in ["clear", "blurry_to_clear"] {
        let bits = correct(regime);
        let pct = 100.0 * bits.iter().filter(|c| **c).count() as f64 / 1000.0;
        accuracy.push(AccuracyVsBlur {
            run: key(regime),
            test_sigma: 4.0,
            accuracy_pct: pct,
            images: Some(1000),
            ci_low_pct: None,
            ci_high_pct: None,
            source: "s".into(),
        });
        let hex = bits_to_hex(&bits);
        predictions.push(TestPredictions {
            run: key(regime),
            epoch: 5,
            test_sigma: 4.0,
            images: 1000,
            correct: hex,
            source: "s".into(),
        });
    }
    results::write_table(dir.path(), &accuracy).unwrap();
    results::write_table(dir.path(), &predictions).unwrap();
    let mut profile = Profile::load("tiny").unwrap();
    profile.epochs = 5;
    let claims = |margin: f64| {
        Claims::parse(&format!(
            "[[claim]]\nid = \"gain\"\nfinding = \"f\"\noriginal = \"o\"\ntable = \"accuracy_vs_blur\"\nvalue = \"accuracy_pct\"\n\
             where = {{ test_sigma = [4] }}\nlhs = {{ regime = [\"blurry_to_clear\"] }}\nrhs = {{ regime = [\"clear\"] }}\n\
             relation = \"greater\"\nmargin = {margin}\n"
        ))
        .unwrap()
    };
    let evidence = Evidence::read_with(&ResultsDir::new(dir.path()), &claims(5.0), Some(profile)).unwrap();
    let claim = |margin: f64| claims(margin).claim.remove(0);
    let outcome = claim(5.0).evaluate(&evidence).unwrap();
    let g = &outcome.groups[0];
    assert_eq!((outcome.verdict, g.estimate), (Verdict::Holds, 10.0));
    assert!(g.interval.0 > 7.5 && g.interval.1 < 12.5, "{:?}", g.interval);
    assert_eq!(claim(9.5).evaluate(&evidence).unwrap().verdict, Verdict::Inconclusive);
    assert_eq!(claim(13.0).evaluate(&evidence).unwrap().verdict, Verdict::Weaker);
}

/// The committed `mini` numbers draw the figures the original's cannot (every layer's histograms, the ERF radius and
/// profiles), each legible at its print width with its PDF beside it.
#[test]
fn the_figures_of_expected_mini_print_legibly() {
    let out = tempfile::tempdir().unwrap();
    let source = Source::resolve(root().join("expected/mini").to_str().unwrap()).unwrap();
    let written = figures::draw_source(&source, out.path()).unwrap();
    for id in ["peak_sf_histograms_by_layer", "all_conv_peak_sf_histograms", "erf_radius_vs_epoch"] {
        assert!(written.iter().any(|w| w == id), "{id} not in {written:?}");
    }
    check_every_figure_printed(out.path(), &written);
}
