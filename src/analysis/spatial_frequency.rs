//! Peak spatial frequency of every conv feature map: `generate_grating` and `measure_spatial_frequencies` in
//! `src/utils.py` of `cerysojj/blurry-to-clear-training`, summarised as in `notebooks/figures/spatial_frequency.ipynb`
//! (conv5 histograms and shares above 25 cycles/image, cells 29-35; all layers pooled, cells 43-47; layer means,
//! cells 50-54).
//!
//! Stimuli: sinusoidal gratings `sin(pi f (x cos theta + y sin theta) + phase)` on a grid of `linspace(-1, 1)` along
//! each axis, so that f counts cycles across the image; x runs down the rows and y along the columns, as the
//! original's `meshgrid(..., indexing='xy')` unpacks them. 15 orientations (0, 12, ..., 168 degrees), 25 frequencies
//! `linspace(4.48, 112, 25)` cycles/image, 4 phases (0, 90, 180, 270 degrees); values in [-1, 1], the same on all
//! three channels, not normalised. Response of a feature map: the spatial mean of its conv output after the ReLU
//! (the original's forward hooks keep a view of the conv output that torchvision's in-place ReLU then rectifies;
//! reference README, spatial_frequency.csv). Tuning curve: the mean over orientations and phases. Peak: the
//! frequency of the curve's maximum (the first one on ties); a flat curve gets the lowest frequency.
//!
//! Other resolutions. The network's filters live in pixels, and a profile at another resolution shrinks the images
//! (and scales every blur sigma by resolution / 224), so the gratings keep their frequency **per pixel**: at R px
//! they have `f * R / 224` cycles/image. 112 cycles across 224 px is the Nyquist limit, and so is 32 cycles across
//! 64 px; keeping cycles/image fixed instead would put most of the gratings above Nyquist at 64 px. Every frequency
//! reported here is in the paper's unit, cycles/image at 224 px (`f`, not `f * R / 224`): a peak at the k-th grating
//! is 4.48 k at every resolution, and the 25 cycles/image threshold and the histogram bins (20 over 0-115, as the
//! original's conv5 histograms) apply unchanged. At 224 px all of this is exactly the original's measure.
use anyhow::{bail, Result};
use tch::{Device, Kind, Tensor};

use super::LayerStatistic;
use crate::model::{AlexNet, CONV_LAYERS, MIN_INPUT};
use crate::vocab::{Layer, SfStatistic, HIGH_FREQUENCY_THRESHOLD, SF_HISTOGRAM};

/// Grating orientations in degrees: 0, 12, ..., 168.
const ORIENTATIONS: usize = 15;
const ORIENTATION_STEP_DEG: f64 = 12.0;
/// Grating phases in degrees.
const PHASES_DEG: [f64; 4] = [0.0, 90.0, 180.0, 270.0];
/// Number of grating frequencies, `linspace(LOWEST, HIGHEST, FREQUENCIES)` in cycles/image at 224 px.
pub(crate) const FREQUENCIES: usize = 25;
const LOWEST: f64 = 4.48;
const HIGHEST: f64 = 112.0;
/// Resolution of the original's gratings; frequencies are reported in cycles/image at this resolution.
pub(crate) const PAPER_RESOLUTION: i64 = 224;

/// The grating frequencies in cycles/image at 224 px (the paper's unit): `linspace(4.48, 112, 25)`.
pub(crate) fn paper_frequencies() -> [f64; FREQUENCIES] {
    std::array::from_fn(|k| LOWEST + k as f64 * (HIGHEST - LOWEST) / (FREQUENCIES - 1) as f64)
}

/// One grating `[side, side]` (row-major): `frequency` in cycles across the image, angles in degrees.
pub(crate) fn grating(side: i64, orientation_deg: f64, frequency: f64, phase_deg: f64) -> Vec<f32> {
    let side = side as usize;
    let coordinate = |i: usize| -1.0 + 2.0 * i as f64 / (side - 1) as f64;
    let (sin, cos) = orientation_deg.to_radians().sin_cos();
    let (wave_number, phase) = (frequency * std::f64::consts::PI, phase_deg.to_radians());
    (0..side * side)
        .map(|i| {
            let rotated = coordinate(i / side) * cos + coordinate(i % side) * sin;
            (wave_number * rotated + phase).sin() as f32
        })
        .collect()
}

/// The 25 x 4 gratings of one orientation at `side` px, `[100, 3, side, side]`, frequency-major then phase.
fn orientation_batch(side: i64, orientation_deg: f64) -> Tensor {
    let scale = side as f64 / PAPER_RESOLUTION as f64;
    let mut values = Vec::with_capacity(FREQUENCIES * PHASES_DEG.len() * (side * side) as usize);
    for frequency in paper_frequencies() {
        for phase in PHASES_DEG {
            values.extend(grating(side, orientation_deg, frequency * scale, phase));
        }
    }
    let n = (FREQUENCIES * PHASES_DEG.len()) as i64;
    Tensor::from_slice(&values).reshape([n, 1, side, side]).expand([n, 3, side, side], false)
}

/// Peak frequencies (cycles/image at 224 px) of one layer's feature maps.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct LayerPeaks {
    /// A conv layer.
    pub layer: Layer,
    /// One peak per feature map, in channel order.
    pub peaks: Vec<f64>,
}

/// Tuning curves `[25, maps]` of each conv layer (mean response over orientations and phases), for gratings at
/// `resolution` px on `device`.
pub(crate) fn tuning_curves(model: &AlexNet, device: Device, resolution: i64) -> Result<Vec<Tensor>> {
    if resolution < MIN_INPUT {
        bail!("spatial-frequency resolution {resolution} px is too small: AlexNet needs at least {MIN_INPUT} px");
    }
    let mut sums: Vec<Option<Tensor>> = CONV_LAYERS.iter().map(|_| None).collect();
    tch::no_grad(|| {
        for o in 0..ORIENTATIONS {
            let batch = orientation_batch(resolution, o as f64 * ORIENTATION_STEP_DEG).to_device(device);
            let mut layer = 0;
            let _pooled = model.features(&batch, |_, out| {
                let response = out.relu().mean_dim([2, 3].as_slice(), false, Kind::Double);
                let per_frequency = response
                    .reshape([FREQUENCIES as i64, PHASES_DEG.len() as i64, -1])
                    .sum_dim_intlist(1, false, Kind::Double);
                let sum = &mut sums[layer];
                *sum = Some(match sum.take() {
                    Some(s) => s + per_frequency,
                    None => per_frequency,
                });
                layer += 1;
            });
        }
    });
    let count = (ORIENTATIONS * PHASES_DEG.len()) as f64;
    Ok(sums.into_iter().flatten().map(|s| (s / count).to_device(Device::Cpu)).collect())
}

/// The peak of one tuning curve, as an index into the frequencies: the first maximum, or 0 for a flat curve (the
/// original's `abs(cmax - cmin) < 1e-9`).
fn peak_index(curve: &[f64]) -> usize {
    let max = curve.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
    let min = curve.iter().cloned().fold(f64::INFINITY, f64::min);
    if (max - min).abs() < 1e-9 {
        return 0;
    }
    curve.iter().position(|&v| v == max).unwrap_or(0)
}

/// Peak frequency of every feature map of the five conv layers, gratings at `resolution` px.
pub(crate) fn peak_frequencies(model: &AlexNet, device: Device, resolution: i64) -> Result<Vec<LayerPeaks>> {
    let frequencies = paper_frequencies();
    tuning_curves(model, device, resolution)?
        .iter()
        .zip(Layer::convs())
        .map(|(curves, layer)| {
            let maps = curves.size()[1] as usize;
            let values = Vec::<f64>::try_from(curves.transpose(0, 1).contiguous().flatten(0, -1))?;
            let peaks = values.chunks(FREQUENCIES).map(|curve| frequencies[peak_index(curve)]).collect();
            debug_assert_eq!(values.len(), maps * FREQUENCIES);
            Ok(LayerPeaks { layer, peaks })
        })
        .collect()
}

/// numpy's histogram of `peaks` over [`SF_HISTOGRAM`]'s bins.
fn histogram(peaks: &[f64]) -> Vec<usize> {
    let mut counts = vec![0; SF_HISTOGRAM.bins];
    for bin in peaks.iter().filter_map(|&p| SF_HISTOGRAM.bin_of(p)) {
        counts[bin] += 1;
    }
    counts
}

fn layer_statistics(layer: Layer, peaks: &[f64]) -> Vec<LayerStatistic<SfStatistic>> {
    let n = peaks.len() as f64;
    let high = peaks.iter().filter(|&&p| p > HIGH_FREQUENCY_THRESHOLD).count() as f64;
    let (mean, sd) = super::rf_moments::mean_and_std(peaks);
    let mut rows = vec![
        LayerStatistic::new(layer, SfStatistic::MeanPeakSf, mean),
        LayerStatistic::new(layer, SfStatistic::SdPeakSf, sd),
        LayerStatistic::new(layer, SfStatistic::PropPeakSfGt25, high / n),
        LayerStatistic::new(layer, SfStatistic::NPeakSfGt25, high),
    ];
    let counts = histogram(peaks);
    rows.extend(
        counts.iter().enumerate().map(|(i, &c)| LayerStatistic::new(layer, SfStatistic::HistCount(i), c as f64)),
    );
    rows
}

/// Per layer, then for `all_conv` (every map of the five layers): `mean_peak_sf`, `sd_peak_sf`, `prop_peak_sf_gt_25`,
/// `n_peak_sf_gt_25` and the 20 `hist_count_<lo>_<hi>` bins.
pub(crate) fn statistics(layers: &[LayerPeaks]) -> Vec<LayerStatistic<SfStatistic>> {
    let mut rows: Vec<_> = layers.iter().flat_map(|l| layer_statistics(l.layer, &l.peaks)).collect();
    let all: Vec<f64> = layers.iter().flat_map(|l| l.peaks.iter().copied()).collect();
    rows.extend(layer_statistics(Layer::AllConv, &all));
    rows
}

#[cfg(test)]
mod tests {
    use super::*;
    use tch::nn;

    #[test]
    fn frequencies_and_bins_match_the_original() {
        let f = paper_frequencies();
        assert_eq!((f[0], f[24]), (4.48, 112.0));
        assert!((f[5] - 26.88).abs() < 1e-12);
        assert_eq!(histogram(&[0.0, 5.75, 22.4, 112.0, 115.0, 116.0]), {
            let mut c = vec![0; 20];
            c[0] = 1;
            c[1] = 1;
            c[3] = 1;
            c[19] = 2;
            c
        });
    }

    #[test]
    fn gratings_follow_the_originals_axes() {
        // Orientation 0 varies down the rows only; one cycle across [-1, 1] (f = 1) at phase 90 is cos(pi x).
        let g = grating(5, 0.0, 1.0, 90.0);
        let expected = [-1.0, 0.0, 1.0, 0.0, -1.0];
        for row in 0..5 {
            for col in 0..5 {
                assert!((g[row * 5 + col] - expected[row]).abs() < 1e-6, "row {row} col {col}");
            }
        }
        let g = grating(5, 90.0, 1.0, 90.0);
        assert!((g[2] - 1.0).abs() < 1e-6 && (g[0] + 1.0).abs() < 1e-6 && (g[10] + 1.0).abs() < 1e-6);
    }

    #[test]
    fn flat_curves_take_the_lowest_frequency_and_ties_the_first() {
        assert_eq!(peak_index(&[0.0; 25]), 0);
        let mut curve = [0.0; 25];
        curve[7] = 2.0;
        curve[9] = 2.0;
        assert_eq!(peak_index(&curve), 7);
    }

    #[test]
    fn statistics_count_maps_above_25_cycles_and_pool_all_layers() {
        let layers = vec![
            LayerPeaks { layer: Layer::CONV1, peaks: vec![4.48, 26.88, 112.0, 22.4] },
            LayerPeaks { layer: Layer::CONV5, peaks: vec![4.48, 4.48] },
        ];
        let rows = statistics(&layers);
        let get = |layer: &str, s: &str| {
            rows.iter().find(|r| r.layer.name() == layer && r.statistic.name() == s).unwrap().value
        };
        assert!((get("features.0", "mean_peak_sf") - 41.44).abs() < 1e-9);
        assert_eq!(get("features.0", "n_peak_sf_gt_25"), 2.0);
        assert_eq!(get("features.0", "prop_peak_sf_gt_25"), 0.5);
        assert_eq!(get("all_conv", "n_peak_sf_gt_25"), 2.0);
        assert!((get("all_conv", "prop_peak_sf_gt_25") - 1.0 / 3.0).abs() < 1e-12);
        assert_eq!(get("features.10", "hist_count_0_5.75"), 2.0);
        assert_eq!(rows.len(), 3 * 24);
        assert!((get("features.10", "sd_peak_sf") - 0.0).abs() < 1e-12);
        assert!((get("features.0", "sd_peak_sf") - 41.591_075_97).abs() < 1e-6);
    }

    /// A conv1 whose filters are all the same band-pass kernel, J0(2 pi f0 r) under a Gaussian window: the sum of
    /// plane waves of frequency f0 over every orientation, so it prefers f0 whatever the orientation.
    #[test]
    fn a_filter_built_for_one_frequency_peaks_there() {
        let resolution = 64;
        let k = 10;
        // The grid spans 2 units over resolution - 1 pixel steps and f counts cycles per 2 units.
        let cycles_per_pixel =
            paper_frequencies()[k] * resolution as f64 / PAPER_RESOLUTION as f64 / (resolution - 1) as f64;
        let kernel: Vec<f32> = (0..121)
            .map(|i| {
                let (x, y) = ((i % 11) as f64 - 5.0, (i / 11) as f64 - 5.0);
                let r = (x * x + y * y).sqrt();
                let angles = 64;
                let wave: f64 = (0..angles)
                    .map(|a| {
                        let t = std::f64::consts::PI * a as f64 / angles as f64;
                        (2.0 * std::f64::consts::PI * cycles_per_pixel * (x * t.cos() + y * t.sin())).cos()
                    })
                    .sum::<f64>()
                    / angles as f64;
                (wave * (-r * r / (2.0 * 3.0 * 3.0)).exp()) as f32
            })
            .collect();
        let vs = nn::VarStore::new(Device::Cpu);
        let model = AlexNet::new(&vs.root(), 3, &mut crate::draws::Draws::new(0));
        let weight = Tensor::from_slice(&kernel).reshape([1, 1, 11, 11]).expand([64, 3, 11, 11], false);
        crate::analysis::set_parameter(&vs, "features.0.weight", &weight);
        crate::analysis::set_parameter(&vs, "features.0.bias", &Tensor::zeros([64], (Kind::Float, Device::Cpu)));
        let peaks = peak_frequencies(&model, Device::Cpu, resolution).unwrap();
        assert_eq!(peaks.len(), 5);
        assert_eq!(peaks[0].peaks.len(), 64);
        for p in &peaks[0].peaks {
            assert_eq!(*p, paper_frequencies()[k], "conv1 peak");
        }
    }
}
