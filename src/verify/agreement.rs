//! Whether one curve of a reproduction agrees with the original's: the statistics behind `verify`'s reproduction
//! verdicts (agrees / differs / inconclusive), as pure functions of the numbers and their covariance.
//!
//! A curve is the numbers of one model (or one measure of it) along one axis: accuracy against test sigma, a
//! receptive-field measure against epoch. Its points are strongly correlated: a training seed moves a whole curve,
//! and the same test images are evaluated at every sigma. So a curve is judged from the difference
//! `d = run - original` along it and the covariance a faithful reproduction gives `d` ([`Mixtures`], built by
//! [`super::allowance::curve_covariance`]: test sampling of both sides, seed-to-seed variation, digitisation). That
//! covariance is known only up to mixtures the original cannot pin down (how a seed's variation splits between a
//! whole-curve shift and a local deviation; how correlated one model's test-sampling errors are along the curve), so
//! it is given as a fixed part plus pairs of extremes, and every statistic below is standardised by its largest
//! variance over those mixtures: a variance linear in each mixing weight is largest at one of the two extremes, so
//! the standardisation is valid for every mixture, without adding the extremes together.
//!
//! **Windows.** A systematic difference is a shift of part of the curve: the accuracy on clear and lightly blurred
//! images (sigma 0 up to some sigma), on heavily blurred ones (some sigma up to the last), or the whole curve. Each
//! such window, every prefix and every suffix of the curve (`2 m - 1` windows for `m` points, the whole curve once),
//! has a generalised-least-squares estimate of a constant shift confined to it (weights from the midpoint of the
//! mixtures) and its largest standard error; `z` is their ratio. A test aimed at the shape of such a difference
//! keeps its power where a quadratic form over the whole curve (chi-square with `m` degrees of freedom, or its
//! low-order polynomial part) spreads it over directions the difference does not take: judged that way, a clear
//! curve 10 pct-pt lower at sigma 0..4 (of 33 points) was caught in 37 of 40 simulated runs on faces and in 4 of
//! 40 on IN-12; by windows, in 40 of 40 on faces, both Toybox levels and IN-100 and in 31 of 40 on IN-12 (whose 1024
//! test images and seed allowance leave that drop about 5.2 standard errors out, against a threshold of 4.45), with
//! 1 false alarm in 200 faithful runs (`false_alarm_and_detection_rates` in `simulate.rs`). Middle windows (neither prefix nor suffix) are left out: there are `(m - 1) (m - 2) / 2` more of
//! them, and paying for them lowers the power against the steps where robustness findings live (at 89 curves, the
//! threshold for a 33-point curve would rise from 4.45 to 4.89 standard errors); a difference in the middle of a
//! curve still moves the prefix or the suffix that holds it.
//! - The curve **differs** when some window's `|z|` exceeds the `1 - alpha / (2 W C)` normal quantile, `W` its
//!   windows and `C` the curves judged in the whole verification (Bonferroni over windows, curves and both signs:
//!   valid however they are correlated). Where the seed variation was estimated from the run's own seeds with `nu`
//!   degrees of freedom, the quantile is Student's t with `nu` (the scale is itself an estimate; t is the
//!   conservative choice, the sampling part being known).
//! - The **mean shift** is the whole-curve window's estimate with its standard error. A curve that does not differ
//!   **agrees** when the 95 % interval of its mean shift lies within the declared equivalence margin, and is
//!   **inconclusive** otherwise (its allowance is too wide to rule out a shift of the margin).
use statrs::distribution::{ContinuousCDF, Normal, StudentsT};

/// Two-sided 95 %: the standard normal quantile 0.975.
const Z95: f64 = crate::stats::Z95;

/// A symmetric positive-definite matrix, row-major, and its Cholesky factor.
#[derive(Clone, Debug)]
pub struct Covariance {
    pub m: usize,
    pub values: Vec<f64>,
}

impl Covariance {
    pub fn zeros(m: usize) -> Covariance {
        Covariance { m, values: vec![0.0; m * m] }
    }

    pub fn at(&self, i: usize, j: usize) -> f64 {
        self.values[i * self.m + j]
    }

    pub fn add(&mut self, i: usize, j: usize, v: f64) {
        self.values[i * self.m + j] += v;
    }

    /// The lower-triangular `L` with `L L' = self`; `None` when the matrix is not positive definite.
    pub fn cholesky(&self) -> Option<Vec<f64>> {
        let m = self.m;
        let mut l = vec![0.0; m * m];
        for i in 0..m {
            for j in 0..=i {
                let sum: f64 = (0..j).map(|k| l[i * m + k] * l[j * m + k]).sum();
                let v = self.at(i, j) - sum;
                if i == j {
                    if v <= 0.0 || !v.is_finite() {
                        return None;
                    }
                    l[i * m + i] = v.sqrt();
                } else {
                    l[i * m + j] = v / l[j * m + j];
                }
            }
        }
        Some(l)
    }

    /// `P' self P` for the columns `P` (each of length `m`): the quadratic forms of every pair of columns.
    fn between(&self, columns: &[Vec<f64>]) -> Vec<Vec<f64>> {
        let products: Vec<Vec<f64>> = columns
            .iter()
            .map(|p| (0..self.m).map(|i| dot(&self.values[i * self.m..(i + 1) * self.m], p)).collect())
            .collect();
        columns.iter().map(|p| products.iter().map(|sp| dot(p, sp)).collect()).collect()
    }
}

/// Solve `(L L') x = b` for lower-triangular `L` (row-major, `m x m`).
fn solve(l: &[f64], b: &[f64]) -> Vec<f64> {
    let m = b.len();
    let mut y = vec![0.0; m];
    for i in 0..m {
        let sum: f64 = (0..i).map(|k| l[i * m + k] * y[k]).sum();
        y[i] = (b[i] - sum) / l[i * m + i];
    }
    for i in (0..m).rev() {
        let sum: f64 = (i + 1..m).map(|k| l[k * m + i] * y[k]).sum();
        y[i] = (y[i] - sum) / l[i * m + i];
    }
    y
}

fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

/// The covariance of a curve's differences under a faithful reproduction: a fixed part, and pairs of extremes of
/// which the truth holds, for each pair, some mixture (see the module doc).
#[derive(Clone, Debug)]
pub struct Mixtures {
    pub fixed: Covariance,
    pub pairs: Vec<[Covariance; 2]>,
}

impl Mixtures {
    /// The variance of point `i` under the least favourable mixture: the fixed part plus, of each pair, the larger
    /// extreme (what a per-point allowance band shows).
    pub fn largest_variance_at(&self, i: usize) -> f64 {
        self.fixed.at(i, i) + self.pairs.iter().map(|[a, b]| a.at(i, i).max(b.at(i, i))).sum::<f64>()
    }

    /// The midpoint of every pair: the covariance the windows' weights are computed with.
    pub fn midpoint(&self) -> Covariance {
        let mut c = self.fixed.clone();
        for pair in &self.pairs {
            for (v, (a, b)) in c.values.iter_mut().zip(pair[0].values.iter().zip(&pair[1].values)) {
                *v += 0.5 * (a + b);
            }
        }
        c
    }
}

/// A window of a curve: the points `from..=to` (indices along the curve).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Window {
    pub from: usize,
    pub to: usize,
}

/// The windows of a curve of `m` points: every prefix (the last is the whole curve), then every proper suffix.
pub fn windows(m: usize) -> Vec<Window> {
    let prefixes = (0..m).map(|to| Window { from: 0, to });
    let suffixes = (1..m).map(|from| Window { from, to: m - 1 });
    prefixes.chain(suffixes).collect()
}

/// The window statistics of one curve, the threshold, and the mean shift.
#[derive(Clone, Debug, PartialEq)]
pub struct CurveTest {
    /// Points on the curve.
    pub points: usize,
    /// Windows tested (`2 m - 1`).
    pub windows: usize,
    /// The window of largest `|z|`, its shift estimate and `z`.
    pub window: Window,
    pub window_shift: f64,
    pub z: f64,
    /// The `|z|` beyond which the curve differs.
    pub threshold: f64,
    /// Generalised-least-squares estimate of a constant difference over the whole curve (run - original), and its
    /// largest standard error over the mixtures.
    pub shift: f64,
    pub shift_se: f64,
}

impl CurveTest {
    /// Whether some window's shift is beyond the threshold.
    pub fn differs(&self) -> bool {
        self.score() > 1.0
    }

    /// The largest `|z|` over the threshold: above 1 the curve differs.
    pub fn score(&self) -> f64 {
        self.z.abs() / self.threshold
    }

    /// The 95 % interval of the mean shift.
    pub fn shift_interval(&self) -> (f64, f64) {
        (self.shift - Z95 * self.shift_se, self.shift + Z95 * self.shift_se)
    }
}

/// How the threshold is set: the family-wise level `alpha` over `curves` curves, and the degrees of freedom of the
/// seed variation where it was estimated from the run's seeds (`None`: declared, taken as known).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Level {
    pub alpha: f64,
    pub curves: usize,
    pub seed_df: Option<f64>,
}

impl Level {
    /// The upper `alpha / (2 W C)` quantile of `z` for a curve of `windows` windows.
    pub fn threshold(&self, windows: usize) -> f64 {
        let tail = self.alpha / (2.0 * (windows.max(1) * self.curves.max(1)) as f64);
        match self.seed_df {
            Some(nu) if nu.is_finite() && nu > 0.0 => match StudentsT::new(0.0, 1.0, nu) {
                Ok(t) => t.inverse_cdf(1.0 - tail),
                Err(_) => f64::INFINITY,
            },
            _ => Normal::standard().inverse_cdf(1.0 - tail),
        }
    }
}

/// Test one curve: `difference` (run - original) at its points in order along the curve, with the covariance of a
/// faithful reproduction `covariance`. `None` when the midpoint covariance is not positive definite.
pub fn test_curve(difference: &[f64], covariance: &Mixtures, level: Level) -> Option<CurveTest> {
    let m = difference.len();
    assert_eq!(m, covariance.fixed.m);
    let reference = covariance.midpoint();
    let l = reference.cholesky()?;
    // A window's GLS weights are `S^-1 1_window`, and `1_window` is a difference of two prefix indicators: with the
    // columns `P_k = S^-1 1_{0..=k}`, every window's estimate and variance are differences of entries of `P' d` and
    // `P' C P`, for each part `C` of the covariance.
    let columns: Vec<Vec<f64>> =
        (0..m).map(|k| solve(&l, &(0..m).map(|i| if i <= k { 1.0 } else { 0.0 }).collect::<Vec<_>>())).collect();
    let projected: Vec<f64> = columns.iter().map(|p| dot(p, difference)).collect();
    let information = reference.between(&columns);
    let fixed = covariance.fixed.between(&columns);
    let pairs: Vec<[Vec<Vec<f64>>; 2]> =
        covariance.pairs.iter().map(|[a, b]| [a.between(&columns), b.between(&columns)]).collect();
    let form = |q: &[Vec<f64>], w: Window| match w.from {
        0 => q[w.to][w.to],
        a => q[w.to][w.to] - 2.0 * q[w.to][a - 1] + q[a - 1][a - 1],
    };
    // (shift estimate, its largest standard error) of a window.
    let estimate = |w: Window| {
        let weight = form(&information, w);
        let sum = projected[w.to] - if w.from > 0 { projected[w.from - 1] } else { 0.0 };
        let variance = form(&fixed, w) + pairs.iter().map(|[a, b]| form(a, w).max(form(b, w))).sum::<f64>();
        (sum / weight, variance.max(0.0).sqrt() / weight)
    };
    let all = windows(m);
    let (window, window_shift, z) = all
        .iter()
        .map(|&w| {
            let (shift, se) = estimate(w);
            (w, shift, if se > 0.0 { shift / se } else { 0.0 })
        })
        .max_by(|a, b| a.2.abs().total_cmp(&b.2.abs()))?;
    let (shift, shift_se) = estimate(Window { from: 0, to: m - 1 });
    Some(CurveTest {
        points: m,
        windows: all.len(),
        window,
        window_shift,
        z,
        threshold: level.threshold(all.len()),
        shift,
        shift_se,
    })
}

/// A curve's reproduction verdict.
#[derive(Clone, Debug, PartialEq)]
pub enum CurveVerdict {
    Agrees,
    Differs,
    /// Not shown to differ, but not shown to agree either: why.
    Inconclusive(String),
}

impl CurveVerdict {
    pub fn name(&self) -> &'static str {
        match self {
            CurveVerdict::Agrees => "agrees",
            CurveVerdict::Differs => "differs",
            CurveVerdict::Inconclusive(_) => "inconclusive",
        }
    }
}

/// The verdict of a tested curve with equivalence margin `margin` (in the value's unit).
pub fn verdict(test: &CurveTest, margin: f64) -> CurveVerdict {
    if test.differs() {
        return CurveVerdict::Differs;
    }
    let (lo, hi) = test.shift_interval();
    if lo >= -margin && hi <= margin {
        CurveVerdict::Agrees
    } else {
        CurveVerdict::Inconclusive(format!(
            "no difference shown, but the 95 % interval of the mean shift [{lo:+.3}, {hi:+.3}] reaches beyond the \
             equivalence margin +-{margin}"
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn diagonal(values: &[f64]) -> Covariance {
        let mut c = Covariance::zeros(values.len());
        for (i, v) in values.iter().enumerate() {
            c.add(i, i, *v);
        }
        c
    }

    fn filled(m: usize, value: f64) -> Covariance {
        Covariance { m, values: vec![value; m * m] }
    }

    fn fixed(c: Covariance) -> Mixtures {
        Mixtures { fixed: c, pairs: Vec::new() }
    }

    #[test]
    fn cholesky_and_solve_match_hand_computed_values() {
        // [[4, 2], [2, 3]] = L L' with L = [[2, 0], [1, sqrt 2]]; its inverse is [[3, -2], [-2, 4]] / 8.
        let c = Covariance { m: 2, values: vec![4.0, 2.0, 2.0, 3.0] };
        let l = c.cholesky().unwrap();
        assert_eq!(&l[..3], &[2.0, 0.0, 1.0]);
        assert!((l[3] - 2f64.sqrt()).abs() < 1e-12);
        let x = solve(&l, &[1.0, 0.0]);
        assert!((x[0] - 0.375).abs() < 1e-12 && (x[1] + 0.25).abs() < 1e-12, "{x:?}");
        assert!(Covariance { m: 2, values: vec![1.0, 2.0, 2.0, 1.0] }.cholesky().is_none());
        assert_eq!(
            windows(3),
            [
                Window { from: 0, to: 0 },
                Window { from: 0, to: 1 },
                Window { from: 0, to: 2 },
                Window { from: 1, to: 2 },
                Window { from: 2, to: 2 }
            ]
        );
    }

    #[test]
    fn thresholds_are_bonferroni_normal_and_t_quantiles() {
        // One window of one curve at alpha 0.05: the two-sided normal 1.960; 2 windows x 5 curves at alpha 0.1: the
        // upper 0.005 quantile, 2.576.
        let one = Level { alpha: 0.05, curves: 1, seed_df: None };
        assert!((one.threshold(1) - 1.959_964).abs() < 1e-5, "{}", one.threshold(1));
        let ten = Level { alpha: 0.1, curves: 5, seed_df: None };
        assert!((ten.threshold(2) - 2.575_829).abs() < 1e-5, "{}", ten.threshold(2));
        // Seeds estimated with 10 degrees of freedom: Student's t, 2.228 at 0.975; it tends to the normal.
        let t = Level { alpha: 0.05, curves: 1, seed_df: Some(10.0) };
        assert!((t.threshold(1) - 2.228_139).abs() < 1e-5, "{}", t.threshold(1));
        // t(1000) at 0.975: 1.962 (tables), just above the normal.
        let big = Level { alpha: 0.05, curves: 1, seed_df: Some(1000.0) };
        assert!((big.threshold(1) - 1.962_339).abs() < 1e-4, "{}", big.threshold(1));
    }

    #[test]
    fn independent_unit_points_give_window_means_over_their_standard_errors() {
        // Identity covariance: a window's shift is its mean, with standard error 1/sqrt(points). A constant 2 over 9
        // points: z = 2 sqrt(k) on a window of k points, largest on the whole curve (6).
        let level = Level { alpha: 0.05, curves: 10, seed_df: None };
        let test = test_curve(&[2.0; 9], &fixed(diagonal(&[1.0; 9])), level).unwrap();
        assert_eq!((test.windows, test.window), (17, Window { from: 0, to: 8 }));
        assert!((test.z - 6.0).abs() < 1e-9 && (test.shift - 2.0).abs() < 1e-12, "{test:?}");
        assert!((test.shift_se - 1.0 / 3.0).abs() < 1e-12);
        // A step of -3 on the first three points: the prefix 0..=2, shift -3, z = -3 sqrt 3 (the whole curve's is
        // -1 x 3 = -3, the prefix of four -4.5).
        let step: Vec<f64> = (0..9).map(|i| if i < 3 { -3.0 } else { 0.0 }).collect();
        let test = test_curve(&step, &fixed(diagonal(&[1.0; 9])), level).unwrap();
        assert_eq!(test.window, Window { from: 0, to: 2 });
        assert!((test.z + 3.0 * 3f64.sqrt()).abs() < 1e-9 && (test.window_shift + 3.0).abs() < 1e-9, "{test:?}");
        // One point: one window, the point itself.
        let test = test_curve(&[3.0], &fixed(diagonal(&[4.0])), level).unwrap();
        assert_eq!((test.windows, test.shift, test.shift_se, test.z), (1, 3.0, 2.0, 1.5));
    }

    #[test]
    fn each_statistic_takes_the_larger_variance_of_a_pairs_two_extremes() {
        // Two points whose seed variation is a whole-curve shift ([[1, 1], [1, 1]]) or independent (identity), in an
        // unknown mixture. The mean of the two has variance 1 under the shift and 1/2 under independence: its
        // standard error is 1 (the midpoint covariance would say sqrt(3/4), adding both extremes sqrt(3/2)).
        let covariance = Mixtures { fixed: Covariance::zeros(2), pairs: vec![[filled(2, 1.0), diagonal(&[1.0; 2])]] };
        let level = Level { alpha: 0.05, curves: 1, seed_df: None };
        let test = test_curve(&[1.0, 1.0], &covariance, level).unwrap();
        assert!((test.shift - 1.0).abs() < 1e-12 && (test.shift_se - 1.0).abs() < 1e-12, "{test:?}");
        // The first point alone: GLS weights (4/3, -2/3), estimate d0 - d1/2; variance 1/4 under the shift, 5/4
        // under independence.
        // Of (2, -1): 2.5, z = 2.5 / sqrt(5/4), beyond the second point's (-2) and the mean's (0.5).
        let test = test_curve(&[2.0, -1.0], &covariance, level).unwrap();
        assert_eq!(test.window, Window { from: 0, to: 0 });
        assert!((test.window_shift - 2.5).abs() < 1e-12 && (test.z - 2.5 / 1.25f64.sqrt()).abs() < 1e-12, "{test:?}");
    }

    #[test]
    fn a_shared_shift_is_expected_under_correlation_and_a_step_is_not() {
        // Points sharing a seed variation of variance 4 (a whole-curve shift, or independent, or a mixture) plus
        // independent noise of variance 1: a shift of 2 at every point is a one-sigma event; a step of the same size
        // over the first five points is not.
        let m = 9;
        let covariance = Mixtures { fixed: diagonal(&[1.0; 9]), pairs: vec![[filled(m, 4.0), diagonal(&[4.0; 9])]] };
        let level = Level { alpha: 0.05, curves: 1, seed_df: None };
        let shift = test_curve(&[2.0; 9], &covariance, level).unwrap();
        assert!(!shift.differs() && shift.z < 1.0, "{shift:?}");
        let step: Vec<f64> = (0..m).map(|i| if i < 5 { -4.0 } else { 0.0 }).collect();
        let step = test_curve(&step, &covariance, level).unwrap();
        assert!(step.differs() && step.window == Window { from: 0, to: 4 }, "{step:?}");
    }

    #[test]
    fn verdicts_separate_difference_from_a_too_wide_allowance() {
        let level = Level { alpha: 0.05, curves: 1, seed_df: None };
        let judged = |d: f64, variance: f64, margin: f64| {
            verdict(&test_curve(&[d; 4], &fixed(diagonal(&[variance; 4])), level).unwrap(), margin)
        };
        assert_eq!(judged(0.1, 0.04, 1.0), CurveVerdict::Agrees);
        assert_eq!(judged(3.0, 0.04, 1.0), CurveVerdict::Differs);
        let wide = judged(0.1, 16.0, 1.0);
        assert!(matches!(&wide, CurveVerdict::Inconclusive(why) if why.contains("+-1")), "{wide:?}");
    }
}
