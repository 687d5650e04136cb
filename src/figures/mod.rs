//! Every figure of the paper as one function of results tables (`blurry-to-clear figures [SOURCE]`).
//!
//! The catalogue `paper/figures.toml` lists the figures, the width each is printed at ([`print`](mod@print)) and
//! declares the one style they share ([`style`]). Each figure function reduces tables to a [`canvas::Figure`] (the
//! numbers on the page) or an [`image_grid::ImageGrid`] (kernels, Gabor fits, ERF maps: [`grids`]), which is laid
//! out at its print width and written as SVG, as the PDF converted from it and as the PNG rasterised from it
//! ([`render`]), plus a `<id>.json` sidecar with its provenance: the drawn
//! source and profile, the SHA-256 of every table it was drawn from, and what drew it (crate version, catalogue
//! hash). The sidecar holds no commit and no absolute path, and every file is rewritten only when its bytes change,
//! so redrawing unchanged numbers leaves a checkout clean. A source is `paper` (the original's numbers in
//! `expected/paper/`, drawn into `figures/paper/`) or a run directory (drawn into `RUN_DIR/figures/`); a run of the
//! `paper` or `paper-uniform` profile is drawn over the original's values (`[style.original]`: thin lines, open
//! markers, [`overlay`]), and its robustness figure gets a row of difference panels per regime (run - original with
//! the allowance band `verify` judges the curve by, `[style.difference]`: [`accuracy::with_differences`]). Of a run
//! directory only `results/` is read: no figure needs a checkpoint.
pub mod accuracy;
pub mod axis;
pub mod canvas;
pub mod colour_vision;
pub mod grids;
pub mod image_grid;
pub mod print;
pub mod receptive_fields;
pub mod render;
pub mod spatial_frequency;
pub mod style;

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use serde_json::json;

use crate::protocol::Profile;
use crate::results::{ResultsDir, Tables};
use canvas::Figure;
use image_grid::ImageGrid;
use style::{Catalogue, Style};

/// Where the original's numbers live, relative to the repository root.
pub const PAPER_DIR: &str = "expected/paper";

/// The figure whose run of the original study gets difference panels (run - original, with the allowance).
const DIFFERENCE_FIGURE: &str = "accuracy_vs_blur";

/// The figure `id` drawn from `tables`, or `None` for an id that is not drawn from tables.
pub fn table_figure(id: &str, tables: &Tables, style: &Style) -> Option<Figure> {
    let t = tables;
    Some(match id {
        "accuracy_vs_blur" => accuracy::accuracy_vs_blur(&t.accuracy_vs_blur, style),
        "accuracy_by_stage" => accuracy::accuracy_by_stage(&t.accuracy_by_stage, style),
        "ratio_by_stage_vs_sigma" => accuracy::ratio_by_stage_vs_sigma(&t.accuracy_by_stage, style),
        "ratio_at_sigma8_vs_minibatch" => {
            accuracy::ratio_at_sigma8_vs_minibatch(&t.accuracy_ratio_by_stage, &t.accuracy_by_stage, style)
        }
        "rf_size_vs_epoch" => receptive_fields::rf_size_vs_epoch(&t.rf_size, style),
        "rf_size_vs_peak_sf_conv1" => {
            receptive_fields::rf_size_vs_peak_sf_conv1(&t.rf_size, &t.spatial_frequency, style)
        }
        "rf_size_vs_peak_sf_layers" => {
            receptive_fields::rf_size_vs_peak_sf_layers(&t.rf_size, &t.spatial_frequency, style)
        }
        "gabor_sigma_vs_epoch" => receptive_fields::gabor_sigma_vs_epoch(&t.rf_size, style),
        "mean_peak_sf_conv1" => spatial_frequency::mean_peak_sf_conv1(&t.spatial_frequency, style),
        "mean_peak_sf_conv5" => spatial_frequency::mean_peak_sf_conv5(&t.spatial_frequency, style),
        "mean_peak_sf_by_layer" => spatial_frequency::mean_peak_sf_by_layer(&t.spatial_frequency, style),
        "conv5_peak_sf_histograms" => spatial_frequency::conv5_peak_sf_histograms(&t.spatial_frequency, style),
        "conv5_peak_sf_spectrogram" => spatial_frequency::conv5_peak_sf_spectrogram(&t.spatial_frequency, style),
        "peak_sf_histograms_by_layer" => spatial_frequency::peak_sf_histograms_by_layer(&t.spatial_frequency, style),
        "all_conv_peak_sf_histograms" => spatial_frequency::all_conv_peak_sf_histograms(&t.spatial_frequency, style),
        "sorted_peak_sf_by_layer" => spatial_frequency::sorted_peak_sf_by_layer(&t.spatial_frequency, style),
        "erf_radius_vs_epoch" => receptive_fields::erf_radius_vs_epoch(&t.erf, style),
        _ => return None,
    })
}

/// Every table figure of the catalogue that `tables` has data for, in catalogue order, titled and sized from the
/// catalogue and drawn in `style` (the catalogue's, or its [`Style::for_profile`]).
pub fn table_figures(catalogue: &Catalogue, tables: &Tables, style: &Style) -> Vec<Figure> {
    catalogue
        .figure
        .iter()
        .filter_map(|entry| {
            let mut figure = table_figure(&entry.id, tables, style)?;
            figure.title.clone_from(&entry.title);
            figure.width_pt = catalogue.print.width_pt(entry.width);
            (!figure.is_empty()).then_some(figure)
        })
        .collect()
}

/// The image-grid figures `tables` has data for (kernels, Gabor fits, ERF maps) and the ERF radial profiles, each
/// with the catalogue id it is an instance of (`conv1_kernels_faces` is an instance of `conv1_kernels`).
pub fn grid_figures(tables: &Tables, style: &Style) -> Result<Vec<(&'static str, Drawing)>> {
    let mut out: Vec<(&'static str, Drawing)> = Vec::new();
    for grid in grids::conv1_kernel_figures(&tables.conv1_kernels, style)? {
        out.push(("conv1_kernels", Drawing::Grid(grid)));
    }
    for grid in grids::gabor_fit_figures(&tables.rf_gabor_filters, style) {
        out.push(("gabor_fit_grid", Drawing::Grid(grid)));
    }
    if let Some(grid) = grids::erf_map_figure(&tables.erf_maps, style)? {
        out.push(("erf_maps", Drawing::Grid(grid)));
    }
    let (layer, input) = (crate::analysis::ERF_MAP_LAYER, crate::analysis::ERF_MAP_INPUT);
    let profiles = grids::erf_radial_profiles(&tables.erf_profiles, layer, input, style);
    if !profiles.is_empty() {
        out.push(("erf_radial_profiles", Drawing::Chart(profiles)));
    }
    Ok(out)
}

/// A figure ready to write: a chart of panels or a grid of pictures.
pub enum Drawing {
    Chart(Figure),
    Grid(ImageGrid),
}

impl Drawing {
    pub fn id(&self) -> &str {
        match self {
            Drawing::Chart(f) => &f.id,
            Drawing::Grid(g) => &g.id,
        }
    }

    fn set_subtitle(&mut self, subtitle: &str) {
        match self {
            Drawing::Chart(f) => f.subtitle = subtitle.to_owned(),
            Drawing::Grid(g) => g.subtitle = subtitle.to_owned(),
        }
    }

    /// The width it is printed at, in points.
    pub fn width_pt(&self) -> f64 {
        match self {
            Drawing::Chart(f) => f.width_pt,
            Drawing::Grid(g) => g.width_pt,
        }
    }

    /// Lay the drawing out `width_pt` wide.
    pub fn set_width(&mut self, width_pt: f64) {
        match self {
            Drawing::Chart(f) => f.width_pt = width_pt,
            Drawing::Grid(g) => g.width_pt = width_pt,
        }
    }

    /// The drawing as SVG, sized in points.
    pub fn svg(&self) -> Result<String> {
        match self {
            Drawing::Chart(f) => f.svg(),
            Drawing::Grid(g) => g.svg(),
        }
    }

    /// Write `<stem>.svg`, `<stem>.pdf` and `<stem>.png` (at `png_dpi`).
    pub fn write(&self, stem: &Path, png_dpi: f64) -> Result<()> {
        render::write_svg_pdf_png(stem, &self.svg()?, png_dpi)
    }
}

/// Draw `original`'s series of the same panels under `figure`'s, as overlays in the declared style of the original's
/// numbers (thin lines, open markers, one legend entry). A heat map of the original (its cells) cannot be drawn
/// under the run's: its mean along y per column of cells (the count-weighted mean peak frequency of each epoch's
/// histogram) is drawn over the run's heat map instead, in white, and the figure's note says so.
pub fn overlay(mut figure: Figure, original: &Figure, style: &style::OriginalStyle) -> Figure {
    figure.overlay_label.clone_from(&style.label);
    figure.overlay_marker = style.marker;
    let mut heat_means = false;
    for panel in &mut figure.panels {
        if let Some(theirs) = original.panels.iter().find(|p| p.title == panel.title) {
            for series in &theirs.series {
                let mut series = series.clone();
                series.overlay = true;
                panel.series.push(series);
            }
            if let Some(mut means) = heat_map_means(&theirs.cells) {
                means.overlay = true;
                panel.series.push(means);
                heat_means = true;
            }
        }
    }
    if heat_means {
        let note = "Over each heat map, the original's numbers: the mean of its histogram at each epoch.";
        figure.note = if figure.note.is_empty() { note.to_owned() } else { format!("{} {note}", figure.note) };
    }
    figure
}

/// The count-weighted mean y of each column of heat `cells` (a histogram per x interval), at the column's centre, as
/// a white line; `None` without cells.
fn heat_map_means(cells: &[canvas::HeatCell]) -> Option<canvas::Series> {
    let mut columns: Vec<((f64, f64), f64, f64)> = Vec::new();
    for c in cells {
        let y = (c.y.0 + c.y.1) / 2.0;
        match columns.iter_mut().find(|(x, ..)| *x == c.x) {
            Some((_, weighted, total)) => (*weighted, *total) = (*weighted + c.value * y, *total + c.value),
            None => columns.push((c.x, c.value * y, c.value)),
        }
    }
    let means: Vec<(f64, f64)> = columns
        .iter()
        .filter(|c| c.2 > 0.0)
        .map(|&((x0, x1), weighted, total)| ((x0 + x1) / 2.0, weighted / total))
        .collect();
    let white = style::Colour(255, 255, 255);
    (!means.is_empty())
        .then(|| canvas::Series::from_samples("", white, style::Dash::Solid, canvas::Mark::LineDots, &means))
}

/// A source of figures: the original's numbers or a run directory.
#[derive(Clone, Debug)]
pub struct Source {
    /// `paper`, or the run directory's name (`runs/mini` -> `mini`).
    pub name: String,
    pub tables_dir: PathBuf,
    pub profile: String,
    /// The profile's protocol, when `profile` names one of `paper/protocol/` (class counts, epochs, data).
    pub protocol: Option<Profile>,
    /// Whether these are the original's numbers (never overlaid on themselves).
    pub original: bool,
    /// The run directory (its figures go into `figures/` there), for a run.
    pub run_dir: Option<PathBuf>,
}

impl Source {
    /// `paper` means `expected/paper/`; anything else is a run directory with its tables in `results/`.
    pub fn resolve(source: &str) -> Result<Source> {
        if source == "paper" {
            return Ok(Source {
                name: "paper".into(),
                tables_dir: crate::provenance::project_path(PAPER_DIR)?,
                profile: "paper".into(),
                protocol: Some(Profile::load("paper")?),
                original: true,
                run_dir: None,
            });
        }
        let dir = PathBuf::from(source);
        if !dir.is_dir() {
            bail!("figure source '{source}' is neither `paper` nor a run directory (e.g. runs/mini)");
        }
        let name = dir
            .canonicalize()
            .ok()
            .and_then(|d| d.file_name().map(|n| n.to_string_lossy().into_owned()))
            .with_context(|| format!("cannot name the run directory {source}"))?;
        let results = ResultsDir::new(&dir);
        let profile = results.profile()?;
        Ok(Source {
            name,
            tables_dir: results.tables_dir,
            protocol: profile.protocol,
            profile: profile.name,
            original: false,
            run_dir: Some(dir),
        })
    }

    /// The tables the catalogue's figures draw from, each reduced to one row per observation and seed.
    pub fn tables(&self, catalogue: &Catalogue) -> Result<Tables> {
        let drawn = |name: &str| catalogue.figure.iter().any(|f| f.tables.iter().any(|t| t == name));
        Ok(ResultsDir::new(&self.tables_dir).tables(|schema| drawn(schema.name))?.reduced())
    }

    /// Where the figures go unless told otherwise: `figures/paper/` of the project for the original's numbers,
    /// the run's own `RUN_DIR/figures/` for a run (never over the committed figures).
    pub fn default_out_dir(&self) -> PathBuf {
        match &self.run_dir {
            Some(run) => run.join("figures"),
            // The project was found when `paper` resolved; `figures/` of the working directory is never reached.
            None => crate::provenance::project_path("figures").unwrap_or_else(|_| "figures".into()).join(&self.name),
        }
    }

    /// The catalogue's style with this source's profile (class counts, last epoch) where it is known.
    pub fn style(&self, style: &Style) -> Style {
        self.protocol.as_ref().map_or_else(|| style.clone(), |p| style.for_profile(p))
    }

    /// What every figure of this source says under its title.
    pub fn subtitle(&self, style: &Style) -> String {
        match (&self.protocol, self.original) {
            (_, true) => format!("the original's numbers ({PAPER_DIR}/)"),
            (Some(protocol), false) => style.profile_subtitle(protocol),
            (None, false) => format!("profile {}", self.profile),
        }
    }

    /// The directory provenance names files from: the run directory, or the tables' directory.
    fn dir(&self) -> &Path {
        self.run_dir.as_deref().unwrap_or(&self.tables_dir)
    }

    /// This source's directory as provenance names it: relative to the project when inside it (`expected/paper`,
    /// `runs/mini`), else by its own name; never an absolute path, so that the sidecar is the same on every machine.
    pub fn shown_dir(&self) -> String {
        let dir = self.dir().canonicalize().unwrap_or_else(|_| self.dir().to_path_buf());
        let inside = crate::provenance::project_dir().ok().and_then(|project| {
            let project = project.canonicalize().unwrap_or(project);
            dir.strip_prefix(&project).ok().map(|relative| relative.display().to_string())
        });
        inside
            .unwrap_or_else(|| dir.file_name().map_or_else(|| self.name.clone(), |n| n.to_string_lossy().into_owned()))
    }

    /// The source, and the SHA-256 of each of `tables` it has, named relative to the source's directory.
    fn provenance(&self, tables: &[String]) -> Result<serde_json::Value> {
        let mut hashed = Vec::new();
        for name in tables {
            let path = self.tables_dir.join(format!("{name}.csv"));
            if !path.exists() {
                continue;
            }
            let file = path.strip_prefix(self.dir()).unwrap_or(&path).display().to_string();
            hashed.push(json!({ "table": name, "file": file, "sha256": crate::provenance::sha256_file(&path)? }));
        }
        Ok(json!({ "source": self.shown_dir(), "profile": self.profile, "tables": hashed }))
    }
}

/// What drew the figures: the crate's version and the SHA-256 of the figure catalogue (its style and titles).
fn drawn_by() -> serde_json::Value {
    json!({
        "crate": format!("{} {}", env!("CARGO_PKG_NAME"), env!("CARGO_PKG_VERSION")),
        "catalogue_sha256": crate::provenance::sha256_bytes(style::CATALOGUE_TOML.as_bytes()),
    })
}

/// Draw every figure `source` has data for into `out_dir`: `<id>.png`, `<id>.svg`, `<id>.json`, each rewritten
/// only when its bytes change. Returns the drawn figure ids.
pub fn draw_source(source: &Source, out_dir: &Path) -> Result<Vec<String>> {
    let catalogue = Catalogue::load()?;
    let style = source.style(&catalogue.style);
    let subtitle = source.subtitle(&style);
    let tables = source.tables(&catalogue)?;
    let mut drawings = Vec::new();
    for (figure, overlay_provenance) in chart_figures(source, &catalogue, &tables, &style)? {
        let entry = catalogue.entry(&figure.id)?;
        let mut drawing = Drawing::Chart(figure);
        drawing.set_subtitle(&subtitle);
        drawings.push((drawing, entry, overlay_provenance));
    }
    for (catalogue_id, mut drawing) in grid_figures(&tables, &style)? {
        drawing.set_subtitle(&subtitle);
        drawing.set_width(catalogue.width_pt(catalogue_id)?);
        drawings.push((drawing, catalogue.entry(catalogue_id)?, None));
    }
    write_drawings(&drawings, source, out_dir, catalogue.print.png_dpi)?;
    Ok(drawings.iter().map(|(drawing, ..)| drawing.id().to_owned()).collect())
}

/// The catalogue's table figures of `source` (drawn from its `tables` in `style`), each with the provenance of what
/// was drawn over it. A run of the original study gets the original's series of every panel that has them
/// ([`overlay`]) and, under the robustness figure, the difference panels ([`accuracy::with_differences`]) with the
/// allowance `verify` judges the run by ([`crate::verify::verify`] against `expected/paper/`).
pub fn chart_figures(
    source: &Source,
    catalogue: &Catalogue,
    tables: &Tables,
    style: &Style,
) -> Result<Vec<(Figure, Option<serde_json::Value>)>> {
    let original = match &source.run_dir {
        Some(run_dir) if !source.original && crate::vocab::reruns_original_study(&source.profile) => {
            let paper = Source::resolve("paper")?;
            let judged = crate::verify::verify(run_dir, &paper.tables_dir).with_context(|| {
                format!("cannot judge {} against the original for its difference panels", source.shown_dir())
            })?;
            Some((paper.tables(catalogue)?, paper, judged.reproduction))
        }
        _ => None,
    };
    let mut figures = Vec::new();
    for figure in table_figures(catalogue, tables, style) {
        let entry = catalogue.entry(&figure.id)?;
        let Some((paper_tables, paper, reproduction)) = &original else {
            figures.push((figure, None));
            continue;
        };
        let (figure, mut provenance) = match table_figure(&figure.id, paper_tables, style) {
            Some(theirs) => (overlay(figure, &theirs, &style.original), Some(paper.provenance(&entry.tables)?)),
            None => (figure, None),
        };
        let figure = match reproduction.as_ref().filter(|_| figure.id == DIFFERENCE_FIGURE) {
            Some(reproduction) => {
                let allowance = paper.tables_dir.join(crate::verify::AGREEMENT_FILE);
                let hash = crate::provenance::sha256_file(&allowance)?;
                let judged = json!({ "file": crate::verify::AGREEMENT_FILE, "sha256": hash });
                let drawn = provenance.get_or_insert_with(|| json!({}));
                if let Some(object) = drawn.as_object_mut() {
                    object.insert("allowance".into(), judged);
                }
                accuracy::with_differences(figure, &reproduction.curves, style)
            }
            None => figure,
        };
        figures.push((figure, provenance));
    }
    Ok(figures)
}

/// Write every drawing on all cores ([`crate::data::par_map`]): rasterising the PNGs takes about a second a figure,
/// and the figures are independent (each file's bytes are the same whichever thread writes it).
fn write_drawings(
    drawings: &[(Drawing, &style::FigureEntry, Option<serde_json::Value>)],
    source: &Source,
    out_dir: &Path,
    png_dpi: f64,
) -> Result<()> {
    crate::data::par_map(drawings, |(drawing, entry, overlay)| {
        write_drawing(drawing, entry, source, out_dir, overlay.clone(), png_dpi)
    })
    .into_iter()
    .collect()
}

/// Write a drawing and its provenance sidecar `<id>.json`.
fn write_drawing(
    drawing: &Drawing,
    entry: &style::FigureEntry,
    source: &Source,
    out_dir: &Path,
    overlay: Option<serde_json::Value>,
    png_dpi: f64,
) -> Result<()> {
    drawing.write(&out_dir.join(drawing.id()), png_dpi)?;
    let mut provenance = json!({
        "figure": drawing.id(),
        "title": entry.title,
        "reproduces": format!("cerysojj/blurry-to-clear-training@b19503e notebooks/figures/{}", entry.reproduces),
        "print_width_pt": drawing.width_pt(),
        "drawn_by": drawn_by(),
        "overlay": overlay,
    });
    if let (Some(object), serde_json::Value::Object(drawn)) =
        (provenance.as_object_mut(), source.provenance(&entry.tables)?)
    {
        object.extend(drawn);
    }
    let text = serde_json::to_string_pretty(&provenance)? + "\n";
    render::write_if_changed(&out_dir.join(format!("{}.json", drawing.id())), text.as_bytes())?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::verify::simulate::Simulator;
    use crate::vocab::{DatasetId, Regime};

    /// A simulated faithful `paper` run (its numbers are simulated: drawn into a temporary directory, never
    /// committed): every chart figure the original has numbers for draws them over the run's, and the robustness
    /// figure has a row of difference panels per regime with the allowance band and the zero line, each named once
    /// in the legend.
    #[test]
    fn a_simulated_paper_run_is_drawn_over_the_original_with_difference_panels() {
        let dir = tempfile::tempdir().unwrap();
        let run = Simulator::new().write_run(dir.path(), 0, 1, true, None);
        let catalogue = Catalogue::load().unwrap();
        let source = Source::resolve(run.to_str().unwrap()).unwrap();
        assert_eq!(source.profile, "paper");
        let style = source.style(&catalogue.style);
        let tables = source.tables(&catalogue).unwrap();
        let figures = chart_figures(&source, &catalogue, &tables, &style).unwrap();
        let ids: Vec<&str> = figures.iter().map(|(f, _)| f.id.as_str()).collect();
        assert_eq!(ids, ["accuracy_vs_blur", "accuracy_by_stage", "ratio_by_stage_vs_sigma"]);
        for (figure, provenance) in &figures {
            let overlaid = figure.panels.iter().filter(|p| p.series.iter().any(|s| s.overlay)).count();
            assert!(overlaid >= 5, "{}: {overlaid} panels overlaid", figure.id);
            assert_eq!(provenance.as_ref().unwrap()["source"], "expected/paper", "{}", figure.id);
        }

        let (robustness, provenance) = &figures[0];
        assert_eq!(provenance.as_ref().unwrap()["allowance"]["file"], "agreement.toml");
        assert_eq!((robustness.columns, robustness.panels.len()), (5, 5 + 3 * 5));
        let d = &style.difference;
        let faces_clear = &robustness.panels[5];
        assert_eq!(faces_clear.title, "Faces, clear");
        assert_eq!(faces_clear.y_label, d.y_label);
        assert_eq!((faces_clear.hlines[0].at, faces_clear.hlines[0].label.as_str()), (0.0, d.zero_label.as_str()));
        let band = faces_clear.series.iter().find(|s| s.label == d.band_label).unwrap();
        assert_eq!(band.mark, canvas::Mark::Region);
        let difference = faces_clear.series.iter().find(|s| s.label == style.regime(Regime::Clear).label).unwrap();
        assert_eq!(band.points.len(), difference.points.len());
        // The drawn difference at test sigma 0 is the run's accuracy minus the original's (88.78 %), and its band is
        // symmetric about zero and a few pct-pt wide (Faces: 297 classes, thousands of test images on each side).
        let run_faces_clear = tables
            .accuracy_vs_blur
            .iter()
            .find(|r| r.run.dataset == DatasetId::Faces && r.run.regime == Regime::Clear && r.test_sigma == 0.0)
            .unwrap();
        assert!((difference.points[0].y - (run_faces_clear.accuracy_pct - 88.78)).abs() < 1e-9);
        let (lo, hi) = (band.points[0].lo, band.points[0].hi);
        assert!(lo == -hi && hi > 0.5 && hi < 15.0, "allowance at sigma 0: [{lo}, {hi}]");
        // Every difference panel shares one y range, which holds every band.
        let ranges: Vec<_> = robustness.panels[5..].iter().map(|p| p.y_range.unwrap()).collect();
        assert!(ranges.windows(2).all(|w| w[0] == w[1]));

        let mut drawn = robustness.clone();
        drawn.width_pt = catalogue.width_pt("accuracy_vs_blur").unwrap();
        let svg = drawn.svg().unwrap();
        let original = style.original.label.replace('\'', "&apos;");
        for label in [&d.band_label, &d.zero_label, &original, &style.chance_label, &d.y_label] {
            assert_eq!(svg.matches(&format!("\n{label}\n")).count(), 1, "{label} is not written once");
        }
    }

    #[test]
    fn the_original_heat_map_is_drawn_over_the_runs_as_its_mean_per_column() {
        let cell = |x: (f64, f64), y: (f64, f64), value| canvas::HeatCell { x, y, value };
        let cells = [
            cell((0.0, 2.0), (0.0, 10.0), 1.0),
            cell((0.0, 2.0), (10.0, 20.0), 3.0),
            cell((2.0, 4.0), (0.0, 10.0), 0.0),
        ];
        let means = heat_map_means(&cells).unwrap();
        // Column 0..2: (5 x 1 + 15 x 3) / 4 = 12.5 at x 1; the empty column 2..4 has no mean.
        assert_eq!(means.points, [canvas::Point::exact(1.0, 12.5)]);
        assert!(heat_map_means(&[]).is_none());
    }
}
