//! Every figure of the paper as one function of a results table (`blurry-to-clear figures [SOURCE]`).
//!
//! The catalogue `paper/figures.toml` lists the figures and declares the one style they share ([`style`]). Each
//! figure function reduces a table to a [`canvas::Figure`] (the numbers on the page), which is then written as PNG
//! and SVG with the embedded font, plus a `<id>.json` sidecar with its provenance: the drawn source's profile, the
//! git commit, and the SHA-256 of every table it was drawn from. A source is `paper` (the original's numbers in
//! `expected/paper/`) or a run directory; a run of the `paper` or `paper-uniform` profile is drawn over the
//! original's values (thin, dashed).
pub mod accuracy;
pub mod canvas;
pub mod checkpoints;
pub mod receptive_fields;
pub mod spatial_frequency;
pub mod style;

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use serde_json::json;

use crate::protocol::Regime;
use crate::results::{self, Table};
use canvas::Figure;
use style::{Catalogue, Style};

/// Where the original's numbers live, relative to the repository root.
pub const PAPER_DIR: &str = "expected/paper";

/// Profiles whose runs are drawn over the original's values.
const OVERLAID_PROFILES: [&str; 2] = ["paper", "paper-uniform"];

/// The tables of one source, each reduced to one row per observation and seed ([`results::preferred_rows`]).
#[derive(Clone, Debug, Default)]
pub struct Tables {
    pub accuracy_vs_blur: Vec<results::AccuracyVsBlur>,
    pub accuracy_by_stage: Vec<results::AccuracyByStage>,
    pub accuracy_ratio_by_stage: Vec<results::AccuracyRatioByStage>,
    pub rf_size: Vec<results::RfSize>,
    pub spatial_frequency: Vec<results::SpatialFrequency>,
    pub erf: Vec<results::Erf>,
}

fn load<T: Table + Clone>(dir: &Path) -> Result<Vec<T>> {
    results::read_table_if_present::<T>(dir)?
        .map(|rows| results::preferred_rows(&rows))
        .transpose()
        .map(Option::unwrap_or_default)
}

impl Tables {
    /// Read every table present in `dir` (a results directory or `expected/<profile>/`).
    pub fn load(dir: &Path) -> Result<Tables> {
        Ok(Tables {
            accuracy_vs_blur: load(dir)?,
            accuracy_by_stage: load(dir)?,
            accuracy_ratio_by_stage: load(dir)?,
            rf_size: load(dir)?,
            spatial_frequency: load(dir)?,
            erf: load(dir)?,
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
    /// The run directory, whose checkpoints and ERF maps the checkpoint figures draw.
    pub run_dir: Option<PathBuf>,
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
        Ok(Source {
            name,
            tables_dir: crate::verify::tables_dir(&dir),
            profile: crate::verify::run_profile(&dir)?,
            original: false,
            run_dir: Some(dir),
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
    let original = if !source.original && OVERLAID_PROFILES.contains(&source.profile.as_str()) {
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
        figure.write(&out_dir.join(&figure.id))?;
        let provenance = json!({
            "figure": figure.id,
            "title": entry.title,
            "reproduces": format!("cerysojj/blurry-to-clear-training@b19503e notebooks/figures/{}", entry.reproduces),
            "source": source.tables_dir.display().to_string(),
            "profile": source.profile,
            "git_commit": commit,
            "tables": table_provenance(&source.tables_dir, &entry.tables)?,
            "overlay": overlay_provenance,
        });
        let text = serde_json::to_string_pretty(&provenance)? + "\n";
        crate::atomic::write(&out_dir.join(format!("{}.json", figure.id)), text.as_bytes())?;
        written.push(figure.id.clone());
    }
    if let Some(run_dir) = &source.run_dir {
        written.extend(draw_checkpoint_figures(run_dir, &out_dir, &catalogue.style)?);
    }
    Ok(written)
}

/// The figures drawn from a run's checkpoints: conv1 kernels of each blurry-to-clear model (its first seed, the
/// first 10 filters, as cells 22-30), and the conv5 ERF maps of every model on test images with their radial
/// profiles at the last epoch.
fn draw_checkpoint_figures(run_dir: &Path, out_dir: &Path, style: &Style) -> Result<Vec<String>> {
    let models = checkpoints::run_models(run_dir)?;
    let first_seed = models.iter().map(|m| m.seed).min();
    let mut written = Vec::new();
    for model in models.iter().filter(|m| m.regime == Regime::BlurryToClear && Some(m.seed) == first_seed) {
        let weights = checkpoints::Conv1Weights::read(model)?;
        let Some(first) = weights.first() else { continue };
        let filters: Vec<usize> = (0..first.shape[0].min(10)).collect();
        let name =
            format!("{} {}, seed {}", style.dataset(model.dataset).title, style.regime(model.regime).label, model.seed);
        let mut grid = checkpoints::conv1_kernels(&name, &weights, &filters)?;
        grid.id = format!("conv1_kernels_{}", model.dataset);
        grid.write(&out_dir.join(&grid.id))?;
        written.push(grid.id);
    }
    let mut maps = Vec::new();
    for model in models.iter().filter(|m| Some(m.seed) == first_seed) {
        maps.extend(
            checkpoints::read_erf_maps(model)?
                .into_iter()
                .filter(|m| m.layer == receptive_fields::CONV5 && m.input == receptive_fields::ERF_INPUT),
        );
    }
    if let Some(last) = maps.iter().map(|m| m.epoch).max() {
        checkpoints::erf_maps(&maps, style).write(&out_dir.join("erf_maps"))?;
        let at_last: Vec<checkpoints::ErfMap> = maps.iter().filter(|m| m.epoch == last).cloned().collect();
        let profiles = checkpoints::erf_radial_profiles(&at_last, style);
        profiles.write(&out_dir.join(&profiles.id))?;
        written.extend(["erf_maps".to_string(), profiles.id]);
    }
    Ok(written)
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
