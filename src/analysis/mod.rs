//! The analyses of a trained network's filters, each a pure function of a checkpoint:
//! - [`rf_moments`]: moment receptive-field size of every conv layer (the paper's RF-size figure);
//! - [`gabor`]: 2-D Gabor fits of conv1 filters;
//! - [`erf`]: effective receptive fields (Luo et al. 2016), which the original calls but never defines;
//! - [`spatial_frequency`]: peak spatial frequency of every feature map (the paper's SF figures);
//! - [`normalised_kernels`]: contrast of the min-max normalised conv1 kernels (the kernel grids' annotations);
//! - [`across_epochs`]: measures over several checkpoints of a run (Gabor counts through training).
//!
//! They return plain records; [`analyse_checkpoint`] turns them into the rows of the results tables that the analyse
//! stage writes, and [`checkpoint_receptive_fields`], [`checkpoint_spatial_frequency`] and [`checkpoint_erf`] give
//! the numbers that the `receptive-fields`, `spatial-frequency` and `erf` commands print. They work on any checkpoint
//! with torchvision's AlexNet names.
pub(crate) mod across_epochs;
mod checkpoint;
pub mod erf;
pub mod gabor;
pub(crate) mod normalised_kernels;
pub(crate) mod rf_moments;
pub(crate) mod spatial_frequency;

pub(crate) use checkpoint::{analyse_checkpoint, AnalysisInputs, ERF_MAP_INPUT, ERF_MAP_LAYER};

use std::path::Path;

use anyhow::{bail, Context, Result};
use tch::{nn, Device, Kind};

use crate::augment::AugmentSpec;
use crate::data::Split;
use crate::model::{self, ConvLayer};
use crate::vocab::{Layer, RfMeasure, SfStatistic};

/// One value of one layer: a row `layer, statistic, value` (the rf_size tables call the middle column `measure`).
/// `S` is the analysis' vocabulary of statistics ([`RfMeasure`], [`crate::vocab::SfStatistic`]).
#[derive(Clone, Debug, PartialEq)]
pub struct LayerStatistic<S> {
    /// Conv layer or `all_conv`.
    pub layer: Layer,
    pub statistic: S,
    pub value: f64,
}

impl<S> LayerStatistic<S> {
    pub(crate) fn new(layer: Layer, statistic: S, value: f64) -> LayerStatistic<S> {
        LayerStatistic { layer, statistic, value }
    }
}

/// The test images the image-driven ERFs average over: the first `count` images of the test split (whose order is
/// fixed by the dataset's files or the stand-in's seed), normalised as the test transform does, on `device`.
pub(crate) fn erf_images(test: &Split, count: u64, augment: &AugmentSpec, device: Device) -> Result<tch::Tensor> {
    let n = (count as i64).min(test.labels.size()[0]);
    crate::augment::test_batch(&test.images.narrow(0, 0, n).to_device(device), augment)
}

/// The weight tensor of one conv layer of the model in `vs`, checked against the layer's shape.
fn layer_weight(vs: &nn::VarStore, layer: &ConvLayer) -> Result<tch::Tensor> {
    let name = format!("{}.weight", layer.name);
    let variables = vs.variables();
    let weight = variables.get(&name).with_context(|| format!("the model has no parameter '{name}'"))?;
    let expected = [layer.out_channels, layer.in_channels, layer.kernel, layer.kernel];
    if weight.size() != expected {
        bail!("parameter '{name}' has shape {:?}, expected {expected:?}", weight.size());
    }
    Ok(weight.to_device(Device::Cpu).to_kind(Kind::Float))
}

/// Every weight of one conv layer, `[out, in, k, k]` row-major.
pub(crate) fn layer_weights(vs: &nn::VarStore, layer: &ConvLayer) -> Result<Vec<f32>> {
    Vec::<f32>::try_from(layer_weight(vs, layer)?.flatten(0, -1)).context("cannot read conv weights")
}

/// The kernels of one conv layer of the model in `vs`, each averaged over its input channels (as the original's
/// `np.mean(kernels, axis=1)`, in single precision), as `side * side` row-major values per filter.
pub(crate) fn conv_layer_kernels(vs: &nn::VarStore, layer: &ConvLayer) -> Result<Vec<Vec<f64>>> {
    let averaged = layer_weight(vs, layer)?.mean_dim(1, false, Kind::Float);
    let values = Vec::<f32>::try_from(averaged.flatten(0, -1)).context("cannot read conv weights")?;
    let area = (layer.kernel * layer.kernel) as usize;
    Ok(values.chunks(area).map(|k| k.iter().map(|&v| f64::from(v)).collect()).collect())
}

/// The input resolution to analyse `checkpoint` at, for the `spatial-frequency` and `erf` commands: `explicit`
/// (`--resolution`) when given, with a warning when the run that wrote the checkpoint says otherwise; else the run's
/// own resolution, from the `run.json` of the run directory when the checkpoint lies in its `checkpoints/` (a
/// `mini` checkpoint analysed at 224 px gives other numbers, 9x slower); else the paper's 224 px.
pub fn resolution_for(checkpoint: &Path, explicit: Option<i64>) -> Result<i64> {
    let recorded = recorded_resolution(checkpoint);
    let resolution = match (explicit, recorded) {
        (Some(explicit), Ok(Some((recorded, file)))) if explicit != recorded => {
            tracing::warn!(
                "--resolution {explicit} differs from the {recorded} px the checkpoint was trained at ({});                  analysing at {explicit} px as asked",
                file.display()
            );
            explicit
        }
        (Some(explicit), _) => explicit,
        (None, recorded) => match recorded? {
            Some((recorded, file)) => {
                tracing::info!("analysing at {recorded} px, the resolution the run trained at ({})", file.display());
                recorded
            }
            None => spatial_frequency::PAPER_RESOLUTION,
        },
    };
    check_resolution(resolution)?;
    Ok(resolution)
}

/// The resolution recorded in the `run.json` of the run directory holding `checkpoint`
/// (`<run>/checkpoints/<file>`), with that file; `None` for a checkpoint outside a run directory.
fn recorded_resolution(checkpoint: &Path) -> Result<Option<(i64, std::path::PathBuf)>> {
    let run_dir =
        checkpoint.parent().filter(|d| d.file_name().is_some_and(|n| n == "checkpoints")).and_then(Path::parent);
    let Some(file) = run_dir.map(|d| d.join("run.json")).filter(|f| f.is_file()) else { return Ok(None) };
    let text = std::fs::read_to_string(&file).with_context(|| format!("cannot read {}", file.display()))?;
    let record: serde_json::Value = serde_json::from_str(&text).with_context(|| {
        format!("{} is not valid JSON; pass --resolution to analyse the checkpoint", file.display())
    })?;
    let resolution = record.pointer("/run/resolution").and_then(serde_json::Value::as_i64).with_context(|| {
        format!("{} records no run.resolution; pass --resolution to analyse the checkpoint", file.display())
    })?;
    Ok(Some((resolution, file)))
}

/// The analyses' inputs are at most the protocol's largest image ([`crate::protocol::MAX_RESOLUTION`]): a larger
/// grating or noise batch would only exhaust memory.
fn check_resolution(resolution: i64) -> Result<()> {
    let max = i64::from(crate::protocol::MAX_RESOLUTION);
    if resolution > max {
        bail!("--resolution {resolution} px is above the limit of {max} px (the protocol's largest image; the paper: 224)");
    }
    Ok(())
}

/// The `receptive-fields` command's numbers: moment sizes of the five conv layers and the conv1 Gabor summary of the
/// checkpoint at `checkpoint`.
pub fn checkpoint_receptive_fields(
    checkpoint: &Path,
    gabor: &gabor::GaborConfig,
) -> Result<Vec<LayerStatistic<RfMeasure>>> {
    let (vs, _model) = model::from_checkpoint(checkpoint, Device::Cpu)?;
    let mut rows: Vec<LayerStatistic<RfMeasure>> = rf_moments::moment_sizes(&vs)?;
    rows.extend(gabor::summary(&gabor::fit_conv1(&vs, gabor)?));
    Ok(rows)
}

/// The `spatial-frequency` command's numbers: peak spatial-frequency statistics of every conv layer and of all of
/// them pooled, gratings at `resolution` px (frequencies in cycles/image at 224 px).
pub fn checkpoint_spatial_frequency(
    checkpoint: &Path,
    resolution: i64,
    device: Device,
) -> Result<Vec<LayerStatistic<SfStatistic>>> {
    check_resolution(resolution)?;
    let (_vs, model) = model::from_checkpoint(checkpoint, device)?;
    let peaks = spatial_frequency::peak_frequencies(&model, device, resolution)?;
    Ok(spatial_frequency::statistics(&peaks))
}

/// The `erf` command's numbers: ERF summaries of every conv layer over seeded noise at `resolution` px.
pub fn checkpoint_erf(
    checkpoint: &Path,
    resolution: i64,
    device: Device,
    config: &erf::ErfConfig,
) -> Result<Vec<erf::ErfSummary>> {
    check_resolution(resolution)?;
    let (_vs, model) = model::from_checkpoint(checkpoint, device)?;
    Ok(erf::effective_receptive_fields(&model, device, resolution, None, config)?.statistics)
}

/// Overwrite the parameter `name` of the model in `vs` with `value` (tests build filters by hand).
#[cfg(test)]
pub(crate) fn set_parameter(vs: &nn::VarStore, name: &str, value: &tch::Tensor) {
    let mut variables = vs.variables();
    let parameter = variables.get_mut(name).expect("a parameter of AlexNet");
    tch::no_grad(|| parameter.copy_(value));
}

/// The analyses against values computed once with the original's Python definitions on the same checkpoint
/// (`tests/fixtures/analysis/`, see its README).
#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;
    use std::path::PathBuf;

    fn fixture(name: &str) -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/analysis").join(name)
    }

    /// `expected.csv` as (analysis, resolution, layer, statistic) -> value.
    fn expected() -> BTreeMap<(String, String, String, String), f64> {
        let text = std::fs::read_to_string(fixture("expected.csv")).unwrap();
        text.lines()
            .skip(1)
            .map(|line| {
                let f: Vec<&str> = line.split(',').collect();
                ((f[0].into(), f[1].into(), f[2].into(), f[3].into()), f[4].parse().unwrap())
            })
            .collect()
    }

    fn checkpoint() -> (nn::VarStore, model::AlexNet) {
        model::from_checkpoint(&fixture("alexnet-seed0.safetensors"), Device::Cpu).unwrap()
    }

    #[test]
    fn moment_sizes_match_the_originals_definition() {
        let expected = expected();
        let (vs, _model) = checkpoint();
        let rows = rf_moments::moment_sizes(&vs).unwrap();
        assert_eq!(rows.len(), 10);
        for row in rows {
            let key = ("rf_size".into(), String::new(), row.layer.to_string(), row.statistic.to_string());
            let want = expected[&key];
            assert!((row.value - want).abs() < 1e-5, "{} {}: {} vs {want}", row.layer, row.statistic, row.value);
        }
    }

    /// Random restarts need not find identical optima, so fits are compared where they are clear: every filter that
    /// either side fits with R^2 >= 0.3 must agree on R^2 within 0.02, and the sizes of filters valid on both sides
    /// within 0.05 px; the number of valid filters may differ by `valid_slack` (a fit at the R^2 = 0.4 border).
    fn assert_gabor_fits_agree_with_scipy(config: &gabor::GaborConfig, valid_slack: f64) {
        let (vs, _model) = checkpoint();
        let fits = gabor::fit_conv1(&vs, config).unwrap();
        let text = std::fs::read_to_string(fixture("gabor_filters.csv")).unwrap();
        let mut compared = 0;
        for (line, fit) in text.lines().skip(1).zip(&fits) {
            let f: Vec<&str> = line.split(',').collect();
            let (size, r_squared): (Option<f64>, f64) = (f[1].parse().ok(), f[3].parse().unwrap());
            if r_squared >= 0.3 || fit.r_squared() >= 0.3 {
                compared += 1;
                assert!(
                    (fit.r_squared() - r_squared).abs() < 0.02,
                    "filter {}: R^2 {} vs {r_squared}",
                    f[0],
                    fit.r_squared()
                );
            }
            if let (Some(ours), Some(theirs)) = (fit.gabor_size(), size) {
                assert!((ours - theirs).abs() < 0.05, "filter {}: size {ours} vs {theirs}", f[0]);
            }
        }
        assert!(compared >= 20, "only {compared} clear fits");
        let summary = gabor::summary(&fits);
        let expected = expected();
        let want = expected[&("rf_size".into(), String::new(), "features.0".into(), "gabor_n_valid".into())];
        assert!((summary[0].value - want).abs() <= valid_slack, "{} valid vs {want}", summary[0].value);
    }

    /// The CPU profiles' budget: 12 iterations per start, the best refined.
    #[test]
    fn gabor_fits_agree_with_scipy() {
        assert_gabor_fits_agree_with_scipy(&gabor::GaborConfig::default(), 1.0);
    }

    /// The `paper` profiles' budget, SciPy's: every start to convergence.
    #[test]
    fn gabor_fits_searched_to_convergence_agree_with_scipy() {
        let config = gabor::GaborConfig { budget: gabor::StartBudget::Converge, ..Default::default() };
        assert_gabor_fits_agree_with_scipy(&config, 0.0);
    }

    #[test]
    fn normalised_kernel_contrast_matches_the_originals_definition() {
        let (vs, _model) = checkpoint();
        let text = std::fs::read_to_string(fixture("normkernel.csv")).unwrap();
        let rows = normalised_kernels::conv1_statistics(&vs).unwrap();
        assert_eq!(rows.len(), 2);
        for (line, row) in text.lines().skip(1).zip(&rows) {
            let (name, value) = line.split_once(',').unwrap();
            let want: f64 = value.parse().unwrap();
            assert_eq!(row.statistic.name(), name);
            // numpy computes in float32 here, and this module in float64 from the same float32 channel means.
            assert!((row.value - want).abs() < 1e-6, "{name}: {} vs {want}", row.value);
        }
    }

    fn assert_spatial_frequency_matches(resolution: i64) {
        let expected = expected();
        let (_vs, model) = checkpoint();
        let peaks = spatial_frequency::peak_frequencies(&model, Device::Cpu, resolution).unwrap();
        let rows = spatial_frequency::statistics(&peaks);
        assert_eq!(rows.len(), 6 * 24);
        // `sd_peak_sf` is this artifact's addition (no original definition to compare with; see its unit test).
        for row in rows.into_iter().filter(|r| r.statistic != crate::vocab::SfStatistic::SdPeakSf) {
            let key =
                ("spatial_frequency".into(), resolution.to_string(), row.layer.to_string(), row.statistic.to_string());
            let want = expected[&key];
            assert!((row.value - want).abs() < 1e-9 * want.abs().max(1.0), "{key:?}: {} vs {want}", row.value);
        }
    }

    #[test]
    fn spatial_frequency_at_64_px_matches_the_originals_definition() {
        assert_spatial_frequency_matches(64);
    }

    #[test]
    fn the_resolution_comes_from_the_flag_then_the_runs_record_then_the_paper() {
        let dir = tempfile::tempdir().unwrap();
        let checkpoint = dir.path().join("seed-0/checkpoints/epoch-010.safetensors");
        std::fs::create_dir_all(checkpoint.parent().unwrap()).unwrap();
        assert_eq!(resolution_for(&checkpoint, None).unwrap(), 224, "no run.json: the paper's resolution");
        let record = dir.path().join("seed-0/run.json");
        std::fs::write(&record, r#"{"train_hash": "x", "run": {"resolution": 64}}"#).unwrap();
        assert_eq!(resolution_for(&checkpoint, None).unwrap(), 64);
        assert_eq!(resolution_for(&checkpoint, Some(96)).unwrap(), 96, "the flag wins (with a warning)");
        let beside = dir.path().join("seed-0/epoch-010.safetensors");
        assert_eq!(resolution_for(&beside, None).unwrap(), 224, "only a checkpoint in checkpoints/ belongs to the run");
        std::fs::write(&record, "{").unwrap();
        let err = format!("{:#}", resolution_for(&checkpoint, None).unwrap_err());
        assert!(err.contains("run.json") && err.contains("--resolution"), "{err}");
        assert_eq!(resolution_for(&checkpoint, Some(64)).unwrap(), 64, "the flag needs no readable record");
        let err = format!("{:#}", resolution_for(&checkpoint, Some(100_000)).unwrap_err());
        assert!(err.contains("1024"), "{err}");
    }

    /// The original's exact setting; about a minute of CPU, so run it with `cargo test -- --ignored`.
    #[test]
    #[ignore]
    fn spatial_frequency_at_224_px_matches_the_original() {
        assert_spatial_frequency_matches(224);
    }
}
