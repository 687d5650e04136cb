//! Moment receptive-field size of conv filters: `compute_rf_size_moments` in
//! `notebooks/figures/receptive_fields.ipynb` (cell 34) of `cerysojj/blurry-to-clear-training`, applied per epoch to
//! conv1 (cells 38-40, 50-52, 61-63, 72-74, 83-85) and per layer at epoch 100 (cells 42-43, ..., 87-88).
//!
//! Each filter's kernel is averaged over its input channels; |w| normalised to sum 1 is read as a distribution over
//! the kernel's pixels, and its spread about the centre of mass is measured along the columns (sigma_x) and the rows
//! (sigma_y) as the square root of the second central moment. The size is their **sum** sigma_x + sigma_y, in kernel
//! pixels (reference README, "Known irregularities" 8). A layer is summarised by the mean and the population standard
//! deviation (numpy's `np.std`) over its filters.
use anyhow::Result;
use tch::nn;

use super::{conv_layer_kernels, LayerStatistic};
use crate::model::CONV_LAYERS;
use crate::vocab::{Layer, RfMeasure};

/// Moment size sigma_x + sigma_y of one channel-averaged `side` x `side` kernel (row-major). A kernel of zeros has
/// no spread and gets 0, as in the original.
pub(crate) fn moment_size(kernel: &[f64], side: usize) -> f64 {
    debug_assert_eq!(kernel.len(), side * side);
    let total: f64 = kernel.iter().map(|w| w.abs()).sum();
    if total == 0.0 {
        return 0.0;
    }
    let mass = |i: usize| kernel[i].abs() / total;
    let (mut x_centre, mut y_centre) = (0.0, 0.0);
    for i in 0..kernel.len() {
        x_centre += (i % side) as f64 * mass(i);
        y_centre += (i / side) as f64 * mass(i);
    }
    let (mut x_moment, mut y_moment) = (0.0, 0.0);
    for i in 0..kernel.len() {
        x_moment += mass(i) * ((i % side) as f64 - x_centre).powi(2);
        y_moment += mass(i) * ((i / side) as f64 - y_centre).powi(2);
    }
    x_moment.sqrt() + y_moment.sqrt()
}

/// Mean and population standard deviation of `values` (NaN for an empty slice).
pub(crate) fn mean_and_std(values: &[f64]) -> (f64, f64) {
    let n = values.len() as f64;
    let mean = values.iter().sum::<f64>() / n;
    let variance = values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / n;
    (mean, variance.sqrt())
}

/// `moment_size_mean` and `moment_size_std` for each of the five conv layers of the model in `vs`, conv1 first.
pub(crate) fn moment_sizes(vs: &nn::VarStore) -> Result<Vec<LayerStatistic<RfMeasure>>> {
    let mut rows = Vec::with_capacity(2 * CONV_LAYERS.len());
    for (position, layer) in CONV_LAYERS.iter().enumerate() {
        let kernels = conv_layer_kernels(vs, layer)?;
        let sizes: Vec<f64> = kernels.iter().map(|k| moment_size(k, layer.kernel as usize)).collect();
        let (mean, std) = mean_and_std(&sizes);
        rows.push(LayerStatistic::new(Layer::Conv(position), RfMeasure::MomentSizeMean, mean));
        rows.push(LayerStatistic::new(Layer::Conv(position), RfMeasure::MomentSizeStd, std));
    }
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_delta_kernel_has_size_zero_wherever_it_sits() {
        for position in [0, 12, 24] {
            let mut kernel = vec![0.0; 25];
            kernel[position] = -0.7;
            assert_eq!(moment_size(&kernel, 5), 0.0, "delta at {position}");
        }
        assert_eq!(moment_size(&[0.0; 9], 3), 0.0);
    }

    #[test]
    fn a_uniform_3x3_kernel_has_size_two_sqrt_two_thirds() {
        // Each pixel holds 1/9 of the mass; along x, 3 pixels sit at each of -1, 0, +1 from the centre:
        // variance (3 + 0 + 3) / 9 = 2/3 per axis, so the size is 2 * sqrt(2/3).
        let expected = 2.0 * (2.0f64 / 3.0).sqrt();
        assert!((moment_size(&[0.3; 9], 3) - expected).abs() < 1e-12);
        // Signs do not matter: the moments are of |w|.
        let signed = [0.3, -0.3, 0.3, -0.3, 0.3, -0.3, 0.3, -0.3, 0.3];
        assert!((moment_size(&signed, 3) - expected).abs() < 1e-12);
    }

    #[test]
    fn two_separated_deltas_spread_along_one_axis_only() {
        // Equal mass at columns 0 and 4 of row 2: sigma_x = 2 (half the distance), sigma_y = 0.
        let mut kernel = vec![0.0; 25];
        kernel[10] = 1.0;
        kernel[14] = -1.0;
        assert!((moment_size(&kernel, 5) - 2.0).abs() < 1e-12);
    }

    #[test]
    fn population_std_divides_by_n() {
        let (mean, std) = mean_and_std(&[1.0, 3.0]);
        assert_eq!((mean, std), (2.0, 1.0));
    }
}
