//! The statistics behind every verdict: Wilson intervals for accuracies, bootstrap resampling of test images
//! (paired: every regime of a dataset is evaluated on the same test images), parametric draws where only a
//! summary is known, and percentile intervals. All draws are seeded, so a report is the same on every rerun.
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// Two-sided 95 %: the standard normal quantile 0.975.
pub(crate) const Z95: f64 = 1.959_963_984_540_054;

/// Bootstrap replicates per interval: enough for stable 2.5 % and 97.5 % percentiles (about 50 replicates beyond
/// each).
pub(crate) const REPLICATES: usize = 2000;

/// The Wilson score interval of `correct` successes in `n` trials at 95 %, as proportions in [0, 1]. Unlike the
/// normal interval it stays inside [0, 1] and is sensible at 0 % and 100 %.
pub(crate) fn wilson(correct: u64, n: u64) -> (f64, f64) {
    if n == 0 {
        return (0.0, 1.0);
    }
    let (n, p) = (n as f64, correct as f64 / n as f64);
    let z2 = Z95 * Z95;
    let centre = (p + z2 / (2.0 * n)) / (1.0 + z2 / n);
    let half = Z95 / (1.0 + z2 / n) * (p * (1.0 - p) / n + z2 / (4.0 * n * n)).sqrt();
    ((centre - half).max(0.0), (centre + half).min(1.0))
}

/// The 2.5 % and 97.5 % percentiles of `values` (linear interpolation between order statistics, numpy's default);
/// `None` for no values.
pub(crate) fn percentile_interval(values: &[f64]) -> Option<(f64, f64)> {
    let mut sorted: Vec<f64> = values.iter().copied().filter(|v| v.is_finite()).collect();
    if sorted.is_empty() {
        return None;
    }
    sorted.sort_by(f64::total_cmp);
    let at = |q: f64| {
        let position = q * (sorted.len() - 1) as f64;
        let (low, high) = (position.floor() as usize, position.ceil() as usize);
        sorted[low] + (sorted[high] - sorted[low]) * (position - low as f64)
    };
    Some((at(0.025), at(0.975)))
}

/// Mean and sample standard deviation (`None` below two values).
pub(crate) fn mean_and_sd(values: &[f64]) -> (f64, Option<f64>) {
    let n = values.len() as f64;
    let mean = values.iter().sum::<f64>() / n;
    let sd = (values.len() > 1).then(|| (values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1.0)).sqrt());
    (mean, sd)
}

/// Bootstrap resamples of `n` test images: for each replicate, how often each image was drawn (multiplicities summing
/// to `n`). One set per test split, shared by every cell evaluated on it, is what makes the comparisons paired.
#[derive(Clone, Debug)]
pub(crate) struct Resamples {
    pub n: usize,
    /// `replicates x n` multiplicities, row-major.
    counts: Vec<u16>,
}

impl Resamples {
    pub(crate) fn new(n: usize, replicates: usize, seed: u64) -> Resamples {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let mut counts = vec![0u16; replicates * n];
        if n > 0 {
            for row in counts.chunks_mut(n) {
                for _ in 0..n {
                    row[rng.random_range(0..n)] += 1;
                }
            }
        }
        Resamples { n, counts }
    }

    pub(crate) fn replicates(&self) -> usize {
        self.counts.len().checked_div(self.n).unwrap_or(0)
    }

    /// Accuracy (%) in replicate `b` of images whose correctness is `correct`.
    pub(crate) fn accuracy_pct(&self, b: usize, correct: &[bool]) -> f64 {
        let row = &self.counts[b * self.n..(b + 1) * self.n];
        let hits: u64 = row.iter().zip(correct).filter(|(_, c)| **c).map(|(k, _)| u64::from(*k)).sum();
        100.0 * hits as f64 / self.n as f64
    }
}

/// A seeded stream for parametric draws of one quantity: replicate `b` of a cell always gets the same draw.
pub(crate) fn stream(seed: u64, cell: u64) -> ChaCha8Rng {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    rng.set_stream(cell);
    rng
}

/// A standard normal draw (Box-Muller).
pub(crate) fn normal(rng: &mut impl Rng) -> f64 {
    let u1: f64 = rng.random::<f64>().max(f64::MIN_POSITIVE);
    let u2: f64 = rng.random();
    (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
}

/// Per-image correctness as hex: bit `i % 8` of byte `i / 8` is image `i` (the `correct` column of the
/// `test_predictions` table).
pub fn bits_to_hex(correct: &[bool]) -> String {
    correct
        .chunks(8)
        .map(|chunk| chunk.iter().enumerate().fold(0u8, |byte, (i, c)| byte | (u8::from(*c) << i)))
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

/// The inverse of [`bits_to_hex`] for `n` images; `None` when the text does not encode them.
pub(crate) fn hex_to_bits(hex: &str, n: usize) -> Option<Vec<bool>> {
    if hex.len() != 2 * n.div_ceil(8) {
        return None;
    }
    let bytes: Vec<u8> =
        (0..hex.len()).step_by(2).map(|i| u8::from_str_radix(hex.get(i..i + 2)?, 16).ok()).collect::<Option<_>>()?;
    Some((0..n).map(|i| (bytes[i / 8] >> (i % 8)) & 1 == 1).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wilson_matches_hand_computed_values() {
        // 8 of 10: centre (0.8 + 1.92/10) / 1.384 = 0.7167, half 0.2166 (Wilson 1927; e.g. statsmodels).
        let (lo, hi) = wilson(8, 10);
        assert!((lo - 0.4902).abs() < 1e-3 && (hi - 0.9433).abs() < 1e-3, "{lo} {hi}");
        let (lo, hi) = wilson(0, 50);
        assert!(lo == 0.0 && (hi - 0.0714).abs() < 1e-3, "{hi}");
        assert_eq!(wilson(3, 0), (0.0, 1.0));
    }

    #[test]
    fn percentiles_interpolate_like_numpy() {
        let values: Vec<f64> = (0..=100).map(f64::from).collect();
        assert_eq!(percentile_interval(&values), Some((2.5, 97.5)));
        assert_eq!(percentile_interval(&[]), None);
        assert_eq!(mean_and_sd(&[1.0, 3.0]), (2.0, Some(2f64.sqrt())));
        assert_eq!(mean_and_sd(&[4.0]).1, None);
    }

    #[test]
    fn resamples_draw_every_image_n_times_in_all_and_are_seeded() {
        let r = Resamples::new(50, 40, 7);
        assert_eq!(r.replicates(), 40);
        assert!(r.counts.chunks(50).all(|row| row.iter().map(|&k| u32::from(k)).sum::<u32>() == 50));
        assert_eq!(r.counts, Resamples::new(50, 40, 7).counts);
        assert_ne!(r.counts, Resamples::new(50, 40, 8).counts);
        // All correct stays 100 % in every replicate; half correct averages to about 50 %.
        assert!((0..40).all(|b| r.accuracy_pct(b, &[true; 50]) == 100.0));
        let half: Vec<bool> = (0..50).map(|i| i % 2 == 0).collect();
        let mean = (0..40).map(|b| r.accuracy_pct(b, &half)).sum::<f64>() / 40.0;
        assert!((mean - 50.0).abs() < 3.0, "{mean}");
    }

    #[test]
    fn the_bootstrap_interval_of_a_paired_difference_covers_its_truth() {
        // Two classifiers on 1000 images, the second right on 100 more images than the first: a paired difference
        // of 10 points whose interval is narrow (only discordant images vary), about 10 +- 1.9.
        let n = 1000;
        let a: Vec<bool> = (0..n).map(|i| i % 2 == 0).collect();
        let b: Vec<bool> = (0..n).map(|i| i % 2 == 0 || i % 10 == 1).collect();
        let r = Resamples::new(n, REPLICATES, 3);
        let diffs: Vec<f64> = (0..REPLICATES).map(|k| r.accuracy_pct(k, &b) - r.accuracy_pct(k, &a)).collect();
        let (lo, hi) = percentile_interval(&diffs).unwrap();
        assert!(lo > 7.5 && lo < 9.0 && hi > 11.0 && hi < 12.5, "[{lo}, {hi}]");
    }

    #[test]
    fn correctness_round_trips_through_hex() {
        let bits: Vec<bool> = (0..19).map(|i| i % 3 == 0).collect();
        let hex = bits_to_hex(&bits);
        assert_eq!(hex.len(), 6);
        assert_eq!(&hex[..2], "49", "images 0, 3 and 6 of the first byte");
        assert_eq!(hex_to_bits(&hex, 19), Some(bits));
        assert_eq!(hex_to_bits(&hex, 30), None);
        assert_eq!(hex_to_bits("zz", 8), None);
    }

    #[test]
    fn normal_draws_have_the_right_moments() {
        let mut rng = stream(1, 2);
        let draws: Vec<f64> = (0..4000).map(|_| normal(&mut rng)).collect();
        let (mean, sd) = mean_and_sd(&draws);
        assert!(mean.abs() < 0.05 && (sd.unwrap() - 1.0).abs() < 0.05, "{mean} {sd:?}");
    }
}
