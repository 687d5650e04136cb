//! Every figure of the paper as one function of results tables (`blurry-to-clear figures [SOURCE]`).
//!
//! The catalogue `paper/figures.toml` lists the figures and declares the one style they share ([`style`]). Each
//! figure function reduces tables to a [`canvas::Figure`] (the numbers on the page) or a [`grids::ImageGrid`]
//! (kernels, Gabor fits, ERF maps), which is then written as PNG and SVG with the embedded font, plus a `<id>.json`
//! sidecar with its provenance: the drawn source's profile, the git commit, and the SHA-256 of every table it was
//! drawn from. A source is `paper` (the original's numbers in `expected/paper/`) or a run directory, of which only
//! `results/` is read; a run of the `paper` or `paper-uniform` profile is drawn over the original's values (thin,
//! dashed).
pub mod accuracy;
pub mod canvas;
pub mod grids;
pub mod receptive_fields;
pub mod spatial_frequency;
pub mod style;

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use serde_json::json;

use crate::results::{self, Table};
use canvas::Figure;
use grids::ImageGrid;
use style::{Catalogue, Style};

/// Where the original's numbers live, relative to the repository root.
pub const PAPER_DIR: &str = "expected/paper";

/// The tables of one source, each reduced to one row per observation and seed ([`results::preferred_rows`]).
#[derive(Clone, Debug, Default)]
pub struct Tables {
    pub accuracy_vs_blur: Vec<results::AccuracyVsBlur>,
    pub accuracy_by_stage: Vec<results::AccuracyByStage>,
    pub accuracy_ratio_by_stage: Vec<results::AccuracyRatioByStage>,
    pub rf_size: Vec<results::RfSize>,
    pub rf_gabor_filters: Vec<results::RfGaborFilter>,
    pub spatial_frequency: Vec<results::SpatialFrequency>,
    pub erf: Vec<results::Erf>,
    pub erf_profiles: Vec<results::ErfProfile>,
    pub erf_maps: Vec<results::ErfMapPixel>,
    pub conv1_kernels: Vec<results::Conv1Weight>,
}

fn load<T: Table + Clone>(dir: &Path) -> Result<Vec<T>> {
    results::read_table_if_present::<T>(dir)?
        .map(|rows| results::preferred_rows(&rows))
        .transpose()
        .map(Option::unwrap_or_default)
}

/// A table every row of which is its own observation (no alternative sources to choose from): read as it is.
fn load_all<T: Table>(dir: &Path) -> Result<Vec<T>> {
    Ok(results::read_table_if_present::<T>(dir)?.unwrap_or_default())
}

impl Tables {
    /// Read every table present in `dir` (a results directory or `expected/<profile>/`).
    pub fn load(dir: &Path) -> Result<Tables> {
        Ok(Tables {
            accuracy_vs_blur: load(dir)?,
            accuracy_by_stage: load(dir)?,
            accuracy_ratio_by_stage: load(dir)?,
            rf_size: load(dir)?,
            rf_gabor_filters: load(dir)?,
            spatial_frequency: load(dir)?,
            erf: load(dir)?,
            erf_profiles: load_all(dir)?,
            erf_maps: load_all(dir)?,
            conv1_kernels: load_all(dir)?,
        })
    }
}

/// The figure `id` drawn from `tables`, or `None` for an id that is not drawn from tables.
pub fn table_figure(id: &str, tables: &Tables, style: &Style) -> Option<Figure> {
    let t = tables;
    Some(match id {
        "accuracy_vs_blur" => accuracy::accuracy_vs_blur(&t.accuracy_vs_blur, style),
        "accuracy_by_stage" => accuracy::accuracy_by_stage(&t.accuracy_by_stage, style),
        "ratio_by_stage_vs_sigma" => accuracy::ratio_by_stage_vs_sigma(&t.accuracy_by_stage, style),
        "ratio_at_sigma8_vs_minibatch" => accuracy::ratio_at_sigma8_vs_minibatch(&t.accuracy_ratio_by_stage, style),
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
        "erf_radius_vs_epoch" => receptive_fields::erf_radius_vs_epoch(&t.erf, style),
        _ => return None,
    })
}

/// Every table figure of the catalogue that `tables` has data for, in catalogue order, titled from the catalogue.
pub fn table_figures(catalogue: &Catalogue, tables: &Tables) -> Vec<Figure> {
    catalogue
        .figure
        .iter()
        .filter_map(|entry| {
            let mut figure = table_figure(&entry.id, tables, &catalogue.style)?;
            figure.title.clone_from(&entry.title);
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
    let profiles = grids::erf_radial_profiles(
        &tables.erf_profiles,
        crate::analysis::ERF_MAP_LAYER,
        crate::analysis::ERF_MAP_INPUT,
        style,
    );
    if !profiles.is_empty() {
        out.push(("erf_radial_profiles", Drawing::Chart(profiles)));
    }
    Ok(out)
}

/// A figure ready to write: a chart of panels or a grid of images.
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

    /// Write `<stem>.png` and `<stem>.svg`.
    pub fn write(&self, stem: &Path) -> Result<()> {
        match self {
            Drawing::Chart(f) => f.write(stem),
            Drawing::Grid(g) => g.write(stem),
        }
    }
}

/// Draw `original`'s series of the same panels under `figure`'s, as overlays.
pub fn overlay(mut figure: Figure, original: &Figure) -> Figure {
    for panel in &mut figure.panels {
        if let Some(theirs) = original.panels.iter().find(|p| p.title == panel.title) {
            for series in &theirs.series {
                let mut series = series.clone();
                series.overlay = true;
                panel.series.push(series);
            }
        }
    }
    figure
}

/// A source of figures: the original's numbers or a run directory.
#[derive(Clone, Debug)]
pub struct Source {
    /// `paper`, or the run directory's name (`runs/mini` -> `mini`): the folder under `figures/`.
    pub name: String,
    pub tables_dir: PathBuf,
    pub profile: String,
    /// Whether these are the original's numbers (never overlaid on themselves).
    pub original: bool,
}

impl Source {
    /// `paper` means `expected/paper/`; anything else is a run directory with its tables in `results/`.
    pub fn resolve(source: &str) -> Result<Source> {
        if source == "paper" {
            return Ok(Source {
                name: "paper".into(),
                tables_dir: crate::provenance::project_path(PAPER_DIR),
                profile: "paper".into(),
                original: true,
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
        Ok(Source {
            name,
            tables_dir: crate::verify::tables_dir(&dir),
            profile: crate::verify::run_profile(&dir)?,
            original: false,
        })
    }
}

fn table_provenance(dir: &Path, tables: &[String]) -> Result<Vec<serde_json::Value>> {
    tables
        .iter()
        .map(|name| {
            let path = dir.join(format!("{name}.csv"));
            Ok(json!({ "table": name, "file": path.display().to_string(), "sha256": crate::provenance::sha256_file(&path)? }))
        })
        .collect()
}

/// Draw every figure `source` has data for into `out_root/<source name>/`: `<id>.png`, `<id>.svg`, `<id>.json`.
/// Returns the written figure ids.
pub fn draw_source(source: &Source, out_root: &Path) -> Result<Vec<String>> {
    let catalogue = Catalogue::load()?;
    let tables = Tables::load(&source.tables_dir)?;
    let original = if !source.original && crate::vocab::reruns_original_study(&source.profile) {
        let paper = Source::resolve("paper")?;
        Some((Tables::load(&paper.tables_dir)?, paper))
    } else {
        None
    };
    let out_dir = out_root.join(&source.name);
    let commit = crate::provenance::git_commit();
    let mut written = Vec::new();
    for figure in table_figures(&catalogue, &tables) {
        let entry = catalogue.entry(&figure.id)?;
        let (figure, overlay_provenance) = match &original {
            Some((paper_tables, paper)) => match table_figure(&figure.id, paper_tables, &catalogue.style) {
                Some(theirs) => (
                    overlay(figure, &theirs),
                    Some(
                        json!({ "profile": "paper", "tables": table_provenance(&paper.tables_dir, &present(&entry.tables, &paper.tables_dir))? }),
                    ),
                ),
                None => (figure, None),
            },
            None => (figure, None),
        };
        let drawing = Drawing::Chart(figure);
        write_drawing(&drawing, entry, source, &out_dir, &commit, overlay_provenance)?;
        written.push(drawing.id().to_owned());
    }
    for (catalogue_id, drawing) in grid_figures(&tables, &catalogue.style)? {
        write_drawing(&drawing, catalogue.entry(catalogue_id)?, source, &out_dir, &commit, None)?;
        written.push(drawing.id().to_owned());
    }
    Ok(written)
}

/// Write a drawing and its provenance sidecar `<id>.json`.
fn write_drawing(
    drawing: &Drawing,
    entry: &style::FigureEntry,
    source: &Source,
    out_dir: &Path,
    commit: &str,
    overlay: Option<serde_json::Value>,
) -> Result<()> {
    drawing.write(&out_dir.join(drawing.id()))?;
    let provenance = json!({
        "figure": drawing.id(),
        "title": entry.title,
        "reproduces": format!("cerysojj/blurry-to-clear-training@b19503e notebooks/figures/{}", entry.reproduces),
        "source": source.tables_dir.display().to_string(),
        "profile": source.profile,
        "git_commit": commit,
        "tables": table_provenance(&source.tables_dir, &present(&entry.tables, &source.tables_dir))?,
        "overlay": overlay,
    });
    let text = serde_json::to_string_pretty(&provenance)? + "\n";
    crate::atomic::write(&out_dir.join(format!("{}.json", drawing.id())), text.as_bytes())
}

fn present(tables: &[String], dir: &Path) -> Vec<String> {
    tables.iter().filter(|t| dir.join(format!("{t}.csv")).exists()).cloned().collect()
}

/// The `figures` command.
pub fn run(source: &str, out_root: &Path) -> Result<()> {
    let source = Source::resolve(source)?;
    let written = draw_source(&source, out_root)?;
    if written.is_empty() {
        bail!("{} holds no table any figure draws", source.tables_dir.display());
    }
    println!("{} figures in {}: {}", written.len(), out_root.join(&source.name).display(), written.join(", "));
    Ok(())
}
