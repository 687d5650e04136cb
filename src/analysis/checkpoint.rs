//! Every analysis of one checkpoint of a run, as rows of the results tables ([`Tables`], those the analyse stage
//! makes): what the analyse stage writes, and all
//! that the receptive-field, spatial-frequency and ERF figures draw (no figure reads a checkpoint).
use anyhow::Result;
use tch::{nn, Device, Tensor};

use super::{erf, gabor, normalised_kernels, rf_moments, spatial_frequency};
use crate::model::AlexNet;
use crate::protocol::AnalysisSpec;
use crate::results::{
    Conv1Weight, Erf, ErfMapPixel, ErfProfile, RfGaborFilter, RfSize, RunKey, SpatialFrequency, Tables,
};
use crate::vocab::{ErfInput, Layer, Regime};

/// ERF maps are stored average-pooled to at most this many pixels a side (a 224-px map becomes 56 x 56), which is
/// what a figure can show; their summaries and radial profiles are computed at full resolution.
pub(crate) const ERF_MAP_MAX_SIDE: usize = 64;

/// The layer and inputs of the ERF maps stored as images (what the `erf_maps` figure draws, after cell 46).
pub(crate) const ERF_MAP_LAYER: Layer = Layer::CONV5;
pub(crate) const ERF_MAP_INPUT: ErfInput = ErfInput::Images;

/// What the analyses need besides the checkpoint: the profile's analysis settings, the network's input side, the
/// device, and the (normalised, seeded) test images the image-driven ERFs average over.
pub(crate) struct AnalysisInputs<'a> {
    pub spec: &'a AnalysisSpec,
    pub resolution: i64,
    pub device: Device,
    pub erf_images: &'a Tensor,
}

/// Moment sizes and Gabor fits of conv1 (receptive_fields.ipynb), peak spatial frequencies of every conv layer
/// (spatial_frequency.ipynb), effective receptive fields (Luo et al. 2016) and, for blurry-to-clear runs (the models
/// whose kernels the original shows), the conv1 kernels and their normalised contrast, of the checkpoint of `run` at `epoch` loaded in `vs`/`model`. Every random choice (Gabor starts, ERF
/// noise) is seeded from the run's seed, so the rows are the same whenever the checkpoint is analysed.
pub(crate) fn analyse_checkpoint(
    run: &RunKey,
    epoch: u32,
    vs: &nn::VarStore,
    model: &AlexNet,
    inputs: &AnalysisInputs,
) -> Result<Tables> {
    let source = run.source();
    let seed = crate::seeds::derive(run.seed, &[run.dataset.name(), run.regime.name(), "gabor"]) as u64;
    let gabor_config = gabor::GaborConfig::for_profile(inputs.spec, seed);
    let fits = gabor::fit_conv1(vs, &gabor_config)?;
    let mut measures = rf_moments::moment_sizes(vs)?;
    measures.extend(gabor::summary(&fits));
    if run.regime == Regime::BlurryToClear {
        measures.extend(normalised_kernels::conv1_statistics(vs)?);
    }
    let rf_size = measures
        .into_iter()
        .map(|m| RfSize {
            run: run.clone(),
            epoch: Some(epoch),
            layer: m.layer,
            measure: m.statistic,
            value: m.value,
            source: source.clone(),
        })
        .collect();
    let rf_gabor_filters = fits.iter().map(|f| gabor_row(run, epoch, f)).collect();

    let peaks = spatial_frequency::peak_frequencies(model, inputs.device, inputs.resolution)?;
    let spatial_frequency = spatial_frequency::statistics(&peaks)
        .into_iter()
        .map(|s| SpatialFrequency {
            run: run.clone(),
            epoch,
            layer: s.layer,
            statistic: s.statistic,
            value: s.value,
            source: source.clone(),
        })
        .collect();

    let erf_config = erf::ErfConfig {
        noise_images: inputs.spec.erf_noise as usize,
        seed: crate::seeds::derive(run.seed, &[run.dataset.name(), "erf-noise"]) as u64,
        ..Default::default()
    };
    let fields =
        erf::effective_receptive_fields(model, inputs.device, inputs.resolution, Some(inputs.erf_images), &erf_config)?;
    let erf = fields
        .statistics
        .iter()
        .map(|s| Erf {
            run: run.clone(),
            epoch,
            layer: s.layer,
            input: s.input,
            statistic: s.statistic,
            value: s.value,
            source: source.clone(),
        })
        .collect();
    let mut erf_profiles = Vec::new();
    let mut erf_maps = Vec::new();
    for map in &fields.maps {
        erf_profiles.extend(erf::radial_profile(map).into_iter().map(|(radius_px, value)| ErfProfile {
            run: run.clone(),
            epoch,
            layer: map.layer,
            input: map.inputs,
            radius_px,
            value,
            source: source.clone(),
        }));
        if (map.layer, map.inputs) == (ERF_MAP_LAYER, ERF_MAP_INPUT) {
            let (side, pooled) = erf::pooled(map, ERF_MAP_MAX_SIDE);
            erf_maps.extend(pooled.iter().enumerate().map(|(i, &value)| ErfMapPixel {
                run: run.clone(),
                epoch,
                layer: map.layer,
                input: map.inputs,
                row: (i / side) as u32,
                col: (i % side) as u32,
                value,
                source: source.clone(),
            }));
        }
    }
    let conv1_kernels = match run.regime {
        Regime::BlurryToClear => conv1_weights(run, epoch, vs)?,
        Regime::Clear | Regime::Blurry => Vec::new(),
    };
    Ok(Tables {
        rf_size,
        rf_gabor_filters,
        spatial_frequency,
        erf,
        erf_profiles,
        erf_maps,
        conv1_kernels,
        ..Tables::default()
    })
}

fn gabor_row(run: &RunKey, epoch: u32, fit: &gabor::FilterFit) -> RfGaborFilter {
    let p = fit.fit.map(|f| f.params);
    RfGaborFilter {
        run: run.clone(),
        epoch,
        layer: Layer::CONV1,
        filter: fit.filter as u32,
        gabor_size: fit.gabor_size(),
        r_squared: fit.r_squared(),
        valid: u8::from(fit.valid()),
        amplitude: p.map(|p| p.amplitude),
        x0: p.map(|p| p.x0),
        y0: p.map(|p| p.y0),
        sigma_x: p.map(|p| p.sigma_x),
        sigma_y: p.map(|p| p.sigma_y),
        theta: p.map(|p| p.theta),
        frequency: p.map(|p| p.frequency),
        phase: p.map(|p| p.phase),
        offset: p.map(|p| p.offset),
        source: run.source(),
    }
}

/// Every conv1 weight of the model in `vs`, one row each.
fn conv1_weights(run: &RunKey, epoch: u32, vs: &nn::VarStore) -> Result<Vec<Conv1Weight>> {
    let conv1 = Layer::CONV1.conv().expect("conv1 is a conv layer");
    let weights = super::layer_weights(vs, conv1)?;
    let (channels, side) = (conv1.in_channels as usize, conv1.kernel as usize);
    let per_filter = channels * side * side;
    let source = run.source();
    Ok(weights
        .iter()
        .enumerate()
        .map(|(i, &weight)| {
            let within = i % per_filter;
            Conv1Weight {
                run: run.clone(),
                epoch,
                filter: (i / per_filter) as u32,
                channel: (within / (side * side)) as u32,
                row: ((within % (side * side)) / side) as u32,
                col: (within % side) as u32,
                weight: f64::from(weight),
                source: source.clone(),
            }
        })
        .collect())
}
