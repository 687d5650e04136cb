//! Contrast of the conv1 kernels as the original's kernel grids show them: `plot_first_layer_kernels` in
//! `notebooks/figures/receptive_fields.ipynb` (cell 34; printed in cells 45, 57, 68, 79 and 90) of
//! `cerysojj/blurry-to-clear-training`.
//!
//! Each conv1 kernel is averaged over its input channels, then min-max normalised to [0, 1] (with 1e-6 added to
//! the range, as the original does to avoid dividing by zero), and annotated with the mean of its absolute values. A
//! kernel whose weights are spread evenly between its extremes scores near 0.5; one dominated by a few extreme
//! weights scores near 0 or 1. The layer is summarised by the mean and the population standard deviation (numpy's
//! `np.std`) of that score over the 64 filters.
use anyhow::Result;
use tch::nn;

use super::rf_moments::mean_and_std;
use super::{conv_layer_kernels, LayerStatistic};
use crate::vocab::{Layer, RfMeasure};

/// What the original adds to a kernel's range before dividing by it.
const RANGE_EPSILON: f64 = 1e-6;

/// Mean |w| of one kernel after min-max normalisation.
pub(crate) fn normalised_absmean(kernel: &[f64]) -> f64 {
    let min = kernel.iter().copied().fold(f64::INFINITY, f64::min);
    let max = kernel.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let range = max - min + RANGE_EPSILON;
    kernel.iter().map(|w| ((w - min) / range).abs()).sum::<f64>() / kernel.len() as f64
}

/// `normkernel_absmean_mean` and `normkernel_absmean_std` of conv1 of the model in `vs`.
pub(crate) fn conv1_statistics(vs: &nn::VarStore) -> Result<Vec<LayerStatistic<RfMeasure>>> {
    let conv1 = Layer::CONV1.conv().expect("conv1 is a conv layer");
    let scores: Vec<f64> = conv_layer_kernels(vs, conv1)?.iter().map(|k| normalised_absmean(k)).collect();
    let (mean, std) = mean_and_std(&scores);
    Ok(vec![
        LayerStatistic::new(Layer::CONV1, RfMeasure::NormkernelAbsmeanMean, mean),
        LayerStatistic::new(Layer::CONV1, RfMeasure::NormkernelAbsmeanStd, std),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_evenly_spread_kernel_scores_a_half_and_a_spike_scores_near_zero() {
        // 0, 1, ..., 8 normalised: k / (8 + 1e-6), mean 4 / (8 + 1e-6).
        let ramp: Vec<f64> = (0..9).map(f64::from).collect();
        assert!((normalised_absmean(&ramp) - 4.0 / (8.0 + 1e-6)).abs() < 1e-15);
        // One weight of 1 among zeros: 1 / (1 + 1e-6) over 9 pixels.
        let mut spike = vec![0.0; 9];
        spike[4] = 1.0;
        assert!((normalised_absmean(&spike) - 1.0 / (1.0 + 1e-6) / 9.0).abs() < 1e-15);
        // Scale and offset do not matter (up to the epsilon); a constant kernel scores 0.
        let shifted: Vec<f64> = ramp.iter().map(|w| 3.0 * w - 7.0).collect();
        assert!((normalised_absmean(&shifted) - 0.5).abs() < 1e-6);
        assert_eq!(normalised_absmean(&[0.3; 9]), 0.0);
    }
}
