//! Effective receptive fields after Luo, Li, Urtasun & Zemel (2016), "Understanding the Effective Receptive Field in
//! Deep Convolutional Neural Networks".
//!
//! `receptive_fields.ipynb` (cell 46) of `cerysojj/blurry-to-clear-training` calls a `compute_erf_luo2016` that
//! neither repository defines; this module supplies the measure. For each conv layer the objective is the layer's
//! output (before its ReLU) at the centre position, summed over channels: one centre unit for an odd output side, the
//! middle two (or 2x2) for an even one. Its gradient with respect to the input image is taken per image, its
//! magnitude is averaged over the colour channels and over a fixed set of inputs, and the map is normalised to sum 1.
//! Two input sets are reported separately: test images supplied by the caller, and seeded noise images (Luo et
//! al.'s random-input ERF). The noise is uniform on [-sqrt 3, sqrt 3] per pixel and channel: zero mean and unit
//! variance, like normalised images.
//!
//! Each map is summarised around its centre of mass by the radius that holds 50% and 95% of the mass, and by the
//! sigma of an isotropic 2-D Gaussian with the map's second moment (sqrt of the mean of the x and y variances); each
//! in input pixels and as a fraction of the image side.
use anyhow::{bail, Result};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use tch::{Device, Kind, Tensor};

use crate::model::{AlexNet, CONV_LAYERS, MIN_INPUT};
use crate::vocab::{ErfInput, ErfStatistic, Layer};

/// One layer's effective receptive field: mean |gradient| over the inputs, normalised to sum 1.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct ErfMap {
    /// A conv layer.
    pub layer: Layer,
    pub inputs: ErfInput,
    /// Side of the (square) input image in pixels.
    pub side: usize,
    /// `side * side` values, row-major; all zero when the centre unit's gradient vanished on every input.
    pub values: Vec<f32>,
}

/// One summary value of one map: a row of the `erf` table.
#[derive(Clone, Debug, PartialEq)]
pub struct ErfSummary {
    pub layer: Layer,
    pub input: ErfInput,
    pub statistic: ErfStatistic,
    pub value: f64,
}

/// Settings of the ERF measurement.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ErfConfig {
    /// Number of noise images.
    pub noise_images: usize,
    /// Seed of the noise images.
    pub seed: u64,
    /// Images per forward and backward pass (memory).
    pub chunk: usize,
}

impl Default for ErfConfig {
    fn default() -> Self {
        ErfConfig { noise_images: 32, seed: 0, chunk: 16 }
    }
}

/// ERF maps of every conv layer and their summaries.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Erf {
    pub maps: Vec<ErfMap>,
    pub statistics: Vec<ErfSummary>,
}

/// `count` seeded noise images `[count, 3, side, side]` on `device`, uniform with zero mean and unit variance.
pub(crate) fn noise_images(count: usize, side: i64, seed: u64, device: Device) -> Tensor {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let half_width = 3.0f32.sqrt();
    let values: Vec<f32> =
        (0..count * 3 * (side * side) as usize).map(|_| rng.random_range(-half_width..half_width)).collect();
    Tensor::from_slice(&values).reshape([count as i64, 3, side, side]).to_device(device)
}

/// First index and length of the centre of an output side: one unit when odd, the middle two when even.
fn centre(side: i64) -> (i64, i64) {
    if side % 2 == 1 {
        (side / 2, 1)
    } else {
        (side / 2 - 1, 2)
    }
}

/// ERF maps of the five conv layers over `inputs` (`[N, 3, H, H]`, normalised, on the model's device).
pub(crate) fn erf_maps(model: &AlexNet, inputs: &Tensor, kind: ErfInput, chunk: usize) -> Result<Vec<ErfMap>> {
    let size = inputs.size();
    let [n, 3, h, w] = size[..] else { bail!("ERF inputs must be a batch [N, 3, H, W], got shape {size:?}") };
    if h != w || h < MIN_INPUT || n == 0 {
        bail!("ERF inputs must be at least one square image of at least {MIN_INPUT} px, got shape {size:?}");
    }
    let mut sums: Vec<Tensor> =
        CONV_LAYERS.iter().map(|_| Tensor::zeros([h, w], (Kind::Double, inputs.device()))).collect();
    tch::with_grad(|| {
        for start in (0..n).step_by(chunk.max(1)) {
            let x = inputs.narrow(0, start, (chunk as i64).min(n - start)).detach().to_kind(Kind::Float);
            let x = x.set_requires_grad(true);
            let mut objectives = Vec::with_capacity(CONV_LAYERS.len());
            let _pooled = model.features(&x, |_, out| {
                let (row, rows) = centre(out.size()[2]);
                let (col, cols) = centre(out.size()[3]);
                objectives.push(out.narrow(2, row, rows).narrow(3, col, cols).sum(Kind::Float));
            });
            for (objective, sum) in objectives.iter().zip(sums.iter_mut()) {
                let gradient = Tensor::run_backward(&[objective], &[&x], true, false);
                let magnitude =
                    gradient[0].abs().mean_dim(1, false, Kind::Double).sum_dim_intlist(0, false, Kind::Double);
                *sum += magnitude;
            }
        }
    });
    sums.iter()
        .zip(Layer::convs())
        .map(|(sum, layer)| {
            let total = sum.sum(Kind::Double).double_value(&[]);
            let normalised = if total > 0.0 { sum / total } else { sum.shallow_clone() };
            let values = Vec::<f32>::try_from(normalised.to_kind(Kind::Float).to_device(Device::Cpu).flatten(0, -1))?;
            Ok(ErfMap { layer, inputs: kind, side: h as usize, values })
        })
        .collect()
}

/// The summaries of one map; none for a map without mass.
pub(crate) fn summarise(map: &ErfMap) -> Vec<ErfSummary> {
    let side = map.side;
    let total: f64 = map.values.iter().map(|&v| f64::from(v)).sum();
    if !(total > 0.0 && total.is_finite()) {
        return Vec::new();
    }
    let mass = |i: usize| f64::from(map.values[i]) / total;
    let coords = |i: usize| ((i % side) as f64, (i / side) as f64);
    let (mut cx, mut cy) = (0.0, 0.0);
    for i in 0..map.values.len() {
        let (x, y) = coords(i);
        cx += x * mass(i);
        cy += y * mass(i);
    }
    let mut by_distance: Vec<(f64, f64)> = (0..map.values.len())
        .map(|i| {
            let (x, y) = coords(i);
            (((x - cx).powi(2) + (y - cy).powi(2)).sqrt(), mass(i))
        })
        .collect();
    by_distance.sort_by(|a, b| a.0.total_cmp(&b.0));
    let second_moment: f64 = by_distance.iter().map(|(d, m)| d * d * m).sum();
    let radius_holding = |share: f64| {
        let mut cumulative = 0.0;
        for &(distance, m) in &by_distance {
            cumulative += m;
            if cumulative >= share - 1e-12 {
                return distance;
            }
        }
        by_distance.last().map_or(0.0, |d| d.0)
    };
    let (r50, r95, sigma) = (radius_holding(0.5), radius_holding(0.95), (second_moment / 2.0).sqrt());
    let side = side as f64;
    [
        (ErfStatistic::R50Px, r50),
        (ErfStatistic::R95Px, r95),
        (ErfStatistic::SigmaPx, sigma),
        (ErfStatistic::R50Frac, r50 / side),
        (ErfStatistic::R95Frac, r95 / side),
        (ErfStatistic::SigmaFrac, sigma / side),
    ]
    .into_iter()
    .map(|(statistic, value)| ErfSummary { layer: map.layer, input: map.inputs, statistic, value })
    .collect()
}

/// The mean of `map` over rings of width 1 px around the image centre: (ring radius in px, mean value) for radii 0
/// to half the side (the ERF's radial profile).
pub(crate) fn radial_profile(map: &ErfMap) -> Vec<(f64, f64)> {
    let side = map.side;
    let centre = (side as f64 - 1.0) / 2.0;
    let mut sums = vec![(0.0f64, 0usize); side / 2 + 1];
    for (i, &v) in map.values.iter().enumerate() {
        let (x, y) = ((i % side) as f64 - centre, (i / side) as f64 - centre);
        if let Some(sum) = sums.get_mut(x.hypot(y).round() as usize) {
            sum.0 += f64::from(v);
            sum.1 += 1;
        }
    }
    sums.into_iter().enumerate().filter(|(_, s)| s.1 > 0).map(|(r, s)| (r as f64, s.0 / s.1 as f64)).collect()
}

/// `map` average-pooled by the smallest whole factor that brings its side to at most `max_side` (pixels beyond the
/// last whole block are left out): the pooled side and values, row-major, renormalised to sum 1.
pub(crate) fn pooled(map: &ErfMap, max_side: usize) -> (usize, Vec<f64>) {
    let factor = map.side.div_ceil(max_side.max(1)).max(1);
    let side = map.side / factor;
    let mut values = vec![0.0f64; side * side];
    for (i, value) in values.iter_mut().enumerate() {
        let (row, col) = (i / side, i % side);
        for dy in 0..factor {
            for dx in 0..factor {
                *value += f64::from(map.values[(row * factor + dy) * map.side + col * factor + dx]);
            }
        }
    }
    let total: f64 = values.iter().sum();
    if total > 0.0 {
        values.iter_mut().for_each(|v| *v /= total);
    }
    (side, values)
}

/// ERFs of every conv layer over seeded noise at `resolution` px and, when given, over `images` (normalised test
/// images `[N, 3, H, H]` on `device`, the caller's fixed seeded selection). Noise maps come first.
pub(crate) fn effective_receptive_fields(
    model: &AlexNet,
    device: Device,
    resolution: i64,
    images: Option<&Tensor>,
    config: &ErfConfig,
) -> Result<Erf> {
    if resolution < MIN_INPUT {
        bail!("ERF resolution {resolution} px is too small: AlexNet needs at least {MIN_INPUT} px");
    }
    if config.noise_images == 0 {
        bail!("the ERF needs at least one noise image (noise_images = 0)");
    }
    let noise = noise_images(config.noise_images, resolution, config.seed, device);
    let mut maps = erf_maps(model, &noise, ErfInput::Noise, config.chunk)?;
    if let Some(images) = images {
        maps.extend(erf_maps(model, images, ErfInput::Images, config.chunk)?);
    }
    let statistics = maps.iter().flat_map(summarise).collect();
    Ok(Erf { maps, statistics })
}

#[cfg(test)]
mod tests {
    use super::*;
    use tch::nn;

    fn value(stats: &[ErfSummary], layer: Layer, statistic: ErfStatistic) -> f64 {
        stats.iter().find(|s| s.layer == layer && s.statistic == statistic).map(|s| s.value).unwrap()
    }

    #[test]
    fn the_erf_of_conv1_is_its_kernels_footprint() {
        let vs = nn::VarStore::new(Device::Cpu);
        let model = AlexNet::new(&vs.root(), 3, &mut crate::draws::Draws::new(0));
        // Every conv1 filter gets the same kernel: an 11x11 pattern with known |sum over filters and channels|.
        let pattern: Vec<f32> =
            (0..121).map(|i| ((i % 7) as f32 - 3.0) * 0.01 + if i == 60 { 0.5 } else { 0.0 }).collect();
        let kernel = Tensor::from_slice(&pattern).reshape([1, 1, 11, 11]).expand([64, 3, 11, 11], false);
        crate::analysis::set_parameter(&vs, "features.0.weight", &kernel);
        let side = 67;
        let erf = effective_receptive_fields(
            &model,
            Device::Cpu,
            side,
            None,
            &ErfConfig { noise_images: 3, seed: 1, chunk: 2 },
        )
        .unwrap();
        let map = &erf.maps[0];
        assert_eq!((map.layer, map.inputs, map.side), (Layer::CONV1, ErfInput::Noise, 67));
        // conv1 output side (67 + 4 - 11) / 4 + 1 = 16 is even: the centre units are 7 and 8, whose windows start at
        // input pixel 7 * 4 - 2 = 26 and 30. The gradient is the kernel, placed once per centre unit (2 x 2 placements).
        let mut expected = vec![0.0f64; 67 * 67];
        for row0 in [26usize, 30] {
            for col0 in [26usize, 30] {
                for (k, w) in pattern.iter().enumerate() {
                    expected[(row0 + k / 11) * 67 + col0 + k % 11] += f64::from(*w);
                }
            }
        }
        let total: f64 = expected.iter().map(|v| v.abs()).sum();
        for (i, (got, want)) in map.values.iter().zip(&expected).enumerate() {
            assert!((f64::from(*got) - want.abs() / total).abs() < 1e-6, "pixel {i}: {got} vs {}", want.abs() / total);
        }
        // Summaries exist for every layer and input set, and grow with depth.
        assert_eq!(erf.statistics.len(), 5 * 6);
        let r95: Vec<f64> = Layer::convs().map(|l| value(&erf.statistics, l, ErfStatistic::R95Px)).collect();
        assert!(r95[0] < r95[1] && r95[1] < r95[4], "{r95:?}");
    }

    #[test]
    fn summaries_of_a_gaussian_map_match_its_sigma() {
        let (side, sigma) = (101usize, 6.0f64);
        let values: Vec<f32> = (0..side * side)
            .map(|i| {
                let (x, y) = ((i % side) as f64 - 50.0, (i / side) as f64 - 50.0);
                (-(x * x + y * y) / (2.0 * sigma * sigma)).exp() as f32
            })
            .collect();
        let map = ErfMap { layer: Layer::CONV1, inputs: ErfInput::Images, side, values };
        let stats = summarise(&map);
        // A 2-D isotropic Gaussian holds share p within sigma * sqrt(-2 ln(1 - p)).
        let r50 = sigma * (-2.0 * 0.5f64.ln()).sqrt();
        let r95 = sigma * (-2.0 * 0.05f64.ln()).sqrt();
        assert!((value(&stats, Layer::CONV1, ErfStatistic::SigmaPx) - sigma).abs() < 0.01);
        assert!((value(&stats, Layer::CONV1, ErfStatistic::R50Px) - r50).abs() < 0.5);
        assert!((value(&stats, Layer::CONV1, ErfStatistic::R95Px) - r95).abs() < 0.5);
        assert!((value(&stats, Layer::CONV1, ErfStatistic::SigmaFrac) - sigma / 101.0).abs() < 1e-4);
        let empty = ErfMap { values: vec![0.0; side * side], ..map };
        assert!(summarise(&empty).is_empty());
    }

    #[test]
    fn radial_profile_averages_rings_around_the_centre() {
        let values = vec![1.0, 2.0, 1.0, 2.0, 8.0, 2.0, 1.0, 2.0, 1.0];
        let map = ErfMap { layer: Layer::CONV1, inputs: ErfInput::Images, side: 3, values };
        // Ring 0: the centre; ring 1: the four edge neighbours (distance 1) and the corners (1.41 rounds to 1).
        assert_eq!(radial_profile(&map), vec![(0.0, 8.0), (1.0, 1.5)]);
    }

    #[test]
    fn pooling_averages_whole_blocks_and_keeps_small_maps() {
        let values: Vec<f32> = (0..25).map(|i| i as f32).collect();
        let map = ErfMap { layer: Layer::CONV5, inputs: ErfInput::Images, side: 5, values };
        let (side, pooled5) = pooled(&map, 64);
        assert_eq!(side, 5);
        assert!((pooled5[24] - 24.0 / 300.0).abs() < 1e-12);
        // Factor 3 for a side of at most 2: one block of rows 0-2 and columns 0-2, the rest left out.
        let (side, pooled2) = pooled(&map, 2);
        assert_eq!((side, pooled2), (1, vec![1.0]));
        let (side, pooled3) = pooled(&map, 3);
        let block = |r: usize, c: usize| -> f64 {
            (0..2).flat_map(|dy| (0..2).map(move |dx| ((r * 2 + dy) * 5 + c * 2 + dx) as f64)).sum()
        };
        let total: f64 = (0..2).flat_map(|r| (0..2).map(move |c| (r, c))).map(|(r, c)| block(r, c)).sum();
        assert_eq!(side, 2);
        assert!((pooled3[3] - block(1, 1) / total).abs() < 1e-12);
    }

    #[test]
    fn noise_is_seeded_with_unit_variance() {
        let a = noise_images(2, 64, 5, Device::Cpu);
        assert_eq!(a.size(), vec![2, 3, 64, 64]);
        assert!(a.equal(&noise_images(2, 64, 5, Device::Cpu)));
        assert!(!a.equal(&noise_images(2, 64, 6, Device::Cpu)));
        let variance = a.var(true).double_value(&[]);
        assert!((variance - 1.0).abs() < 0.02, "{variance}");
    }
}
