//! Whether one curve of a reproduction agrees with the original's: the statistics behind `verify`'s reproduction
//! verdicts (agrees / differs / inconclusive), as pure functions of the numbers and their covariance.
//!
//! A curve is the numbers of one model (or one measure of it) along one axis: accuracy against test sigma, a
//! receptive-field measure against epoch. Its points are strongly correlated: a training seed moves a whole curve,
//! and the same test images are evaluated at every sigma. So a curve is judged as a whole, from the difference
//! `d = run - original` and the covariance `S` of `d` that a faithful reproduction would have
//! ([`super::allowance`] builds it: test sampling of both sides, seed-to-seed variation, digitisation):
//!
//! - `e = L^-1 d` with `S = L L'` (Cholesky): under a faithful reproduction `e` is standard normal, whatever the
//!   correlation along the curve, so thresholds are exact under the declared covariance.
//! - The **shape** statistic: the part of `|e|^2` in the span of the whitened Legendre polynomials of degree 0..3
//!   along the curve (a shift, a tilt, a bend: how systematic differences look), chi-square with (at most) 4
//!   degrees of freedom. It is what catches a 10 pct-pt drop over five sigmas that no single point shows.
//! - The **rest**: the remaining `|e|^2`, chi-square with `m - 4`, for differences no low-order shape explains.
//! - Each is compared with its `1 - alpha / (2 C)` quantile, `C` the number of curves judged in the whole
//!   verification (Bonferroni over curves and over the two statistics: valid however the curves are correlated).
//!   Where the seed variation was estimated from the run's own seeds with `nu` degrees of freedom, the quantile
//!   is that of `q F(q, nu)` instead (the covariance's scale is itself an estimate).
//! - The **mean shift**: the generalised-least-squares estimate of a constant difference, with its standard
//!   error. A curve that does not differ **agrees** when the 95 % interval of its shift lies within the declared
//!   equivalence margin, and is **inconclusive** otherwise (its allowance is too wide to rule out a shift of the
//!   margin).
use statrs::distribution::{ChiSquared, ContinuousCDF, FisherSnedecor};

/// Two-sided 95 %: the standard normal quantile 0.975.
const Z95: f64 = crate::stats::Z95;

/// Legendre polynomials of degree 0..SHAPE_TERMS-1 span the shape statistic.
pub const SHAPE_TERMS: usize = 4;

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
}

/// Solve `L y = b` for lower-triangular `L` (row-major, `m x m`).
fn forward(l: &[f64], b: &[f64]) -> Vec<f64> {
    let m = b.len();
    let mut y = vec![0.0; m];
    for i in 0..m {
        let sum: f64 = (0..i).map(|k| l[i * m + k] * y[k]).sum();
        y[i] = (b[i] - sum) / l[i * m + i];
    }
    y
}

fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

/// Legendre polynomials of degree 0..terms-1 at `u` in [-1, 1] (Bonnet's recursion).
pub fn legendre(u: f64, terms: usize) -> Vec<f64> {
    let mut p = Vec::with_capacity(terms);
    for n in 0..terms {
        p.push(match n {
            0 => 1.0,
            1 => u,
            _ => {
                let k = n as f64;
                ((2.0 * k - 1.0) * u * p[n - 1] - (k - 1.0) * p[n - 2]) / k
            }
        });
    }
    p
}

/// The two statistics of one curve, their thresholds and the mean shift.
#[derive(Clone, Debug, PartialEq)]
pub struct CurveTest {
    /// Points on the curve.
    pub points: usize,
    /// Shape statistic, its degrees of freedom and threshold.
    pub shape: f64,
    pub shape_df: usize,
    pub shape_threshold: f64,
    /// The rest of the Mahalanobis distance, its degrees of freedom and threshold (0 df: none).
    pub rest: f64,
    pub rest_df: usize,
    pub rest_threshold: f64,
    /// Generalised-least-squares estimate of a constant difference (run - original), and its standard error.
    pub shift: f64,
    pub shift_se: f64,
}

impl CurveTest {
    /// Whether either statistic is beyond its threshold.
    pub fn differs(&self) -> bool {
        self.score() > 1.0
    }

    /// The larger of statistic / threshold over the two statistics: above 1 the curve differs.
    pub fn score(&self) -> f64 {
        let rest = if self.rest_df > 0 { self.rest / self.rest_threshold } else { 0.0 };
        (self.shape / self.shape_threshold).max(rest)
    }

    /// The 95 % interval of the mean shift.
    pub fn shift_interval(&self) -> (f64, f64) {
        (self.shift - Z95 * self.shift_se, self.shift + Z95 * self.shift_se)
    }
}

/// How the thresholds are set: the family-wise level `alpha` over `curves` curves, and the degrees of freedom of the
/// seed variation where it was estimated from the run's seeds (`None`: declared, taken as known).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Level {
    pub alpha: f64,
    pub curves: usize,
    pub seed_df: Option<f64>,
}

impl Level {
    /// The upper `alpha / (2 C)` quantile of the statistic with `df` degrees of freedom.
    pub fn threshold(&self, df: usize) -> f64 {
        if df == 0 {
            return f64::INFINITY;
        }
        let tail = self.alpha / (2.0 * self.curves.max(1) as f64);
        let q = df as f64;
        match self.seed_df {
            Some(nu) if nu.is_finite() && nu > 0.0 => match FisherSnedecor::new(q, nu) {
                Ok(f) => q * f.inverse_cdf(1.0 - tail),
                Err(_) => f64::INFINITY,
            },
            _ => match ChiSquared::new(q) {
                Ok(chi2) => chi2.inverse_cdf(1.0 - tail),
                Err(_) => f64::INFINITY,
            },
        }
    }
}

/// Test one curve: `difference` (run - original) at coordinates `along` (already transformed: the axis on which
/// the curve is smooth), with covariance `covariance`. `None` when the covariance is not positive definite.
pub fn test_curve(difference: &[f64], along: &[f64], covariance: &Covariance, level: Level) -> Option<CurveTest> {
    let m = difference.len();
    assert_eq!(m, along.len());
    assert_eq!(m, covariance.m);
    let l = covariance.cholesky()?;
    let e = forward(&l, difference);
    let total = dot(&e, &e);
    // The whitened shape basis, orthonormalised (modified Gram-Schmidt); a term that adds nothing (a curve of fewer
    // points than terms, or one coordinate) is dropped.
    let (lo, hi) = along.iter().fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), &x| (a.min(x), b.max(x)));
    let span = hi - lo;
    let terms = if span > 0.0 { SHAPE_TERMS.min(m) } else { 1 };
    let rows: Vec<Vec<f64>> =
        along.iter().map(|&x| legendre(if span > 0.0 { 2.0 * (x - lo) / span - 1.0 } else { 0.0 }, terms)).collect();
    let mut basis: Vec<Vec<f64>> = Vec::new();
    for t in 0..terms {
        let column: Vec<f64> = rows.iter().map(|r| r[t]).collect();
        let mut w = forward(&l, &column);
        let norm0 = dot(&w, &w).sqrt();
        for b in &basis {
            let c = dot(&w, b);
            w.iter_mut().zip(b).for_each(|(x, y)| *x -= c * y);
        }
        let norm = dot(&w, &w).sqrt();
        if norm > 1e-9 * norm0.max(1e-300) {
            basis.push(w.into_iter().map(|x| x / norm).collect());
        }
    }
    let shape: f64 = basis.iter().map(|b| dot(b, &e).powi(2)).sum();
    let shape_df = basis.len();
    let rest_df = m - shape_df;
    let ones = forward(&l, &vec![1.0; m]);
    let weight = dot(&ones, &ones);
    Some(CurveTest {
        points: m,
        shape,
        shape_df,
        shape_threshold: level.threshold(shape_df),
        rest: (total - shape).max(0.0),
        rest_df,
        rest_threshold: level.threshold(rest_df),
        shift: dot(&ones, &e) / weight,
        shift_se: weight.sqrt().recip(),
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

    #[test]
    fn cholesky_and_legendre_match_hand_computed_values() {
        // [[4, 2], [2, 3]] = L L' with L = [[2, 0], [1, sqrt 2]].
        let c = Covariance { m: 2, values: vec![4.0, 2.0, 2.0, 3.0] };
        let l = c.cholesky().unwrap();
        assert_eq!(&l[..3], &[2.0, 0.0, 1.0]);
        assert!((l[3] - 2f64.sqrt()).abs() < 1e-12);
        assert!(Covariance { m: 2, values: vec![1.0, 2.0, 2.0, 1.0] }.cholesky().is_none());
        // P2(u) = (3u^2 - 1)/2, P3(u) = (5u^3 - 3u)/2.
        let p = legendre(0.5, 4);
        assert_eq!(p[..2], [1.0, 0.5]);
        assert!((p[2] + 0.125).abs() < 1e-12 && (p[3] + 0.4375).abs() < 1e-12, "{p:?}");
    }

    #[test]
    fn thresholds_are_chi_square_and_f_quantiles() {
        // chi2(1) at 0.95 is 3.841 (alpha 0.1 over one curve: 0.05 per statistic); chi2(4) at 0.99 is 13.277.
        let one = Level { alpha: 0.1, curves: 1, seed_df: None };
        assert!((one.threshold(1) - 3.841_459).abs() < 1e-4, "{}", one.threshold(1));
        let fifty = Level { alpha: 1.0, curves: 50, seed_df: None };
        assert!((fifty.threshold(4) - 13.276_7).abs() < 1e-3, "{}", fifty.threshold(4));
        // 4 F(4, 10) at 0.99: 4 x 5.994 = 23.97; it tends to the chi-square as nu grows.
        let f = Level { alpha: 1.0, curves: 50, seed_df: Some(10.0) };
        assert!((f.threshold(4) - 23.975).abs() < 0.01, "{}", f.threshold(4));
        let big = Level { alpha: 1.0, curves: 50, seed_df: Some(1e7) };
        assert!((big.threshold(4) - 13.2767).abs() < 1e-2);
        assert_eq!(one.threshold(0), f64::INFINITY);
    }

    #[test]
    fn independent_unit_points_split_their_distance_into_shape_and_rest() {
        // With identity covariance, e = d: the total |d|^2 splits exactly; a constant difference is all shape and its
        // GLS shift is the mean, with standard error 1/sqrt(m).
        let along: Vec<f64> = (0..9).map(f64::from).collect();
        let level = Level { alpha: 0.05, curves: 10, seed_df: None };
        let test = test_curve(&[2.0; 9], &along, &diagonal(&[1.0; 9]), level).unwrap();
        assert!((test.shape - 36.0).abs() < 1e-9 && test.rest.abs() < 1e-9, "{test:?}");
        assert_eq!((test.shape_df, test.rest_df), (4, 5));
        assert!((test.shift - 2.0).abs() < 1e-12 && (test.shift_se - 1.0 / 3.0).abs() < 1e-12);
        // An alternating difference (-1)^i is no low-order shape: mostly rest.
        let zigzag: Vec<f64> = (0..9).map(|i| if i % 2 == 0 { 1.0 } else { -1.0 }).collect();
        let test = test_curve(&zigzag, &along, &diagonal(&[1.0; 9]), level).unwrap();
        assert!((test.shape + test.rest - 9.0).abs() < 1e-9 && test.rest > 8.0, "{test:?}");
        // One point: the shape is the shift alone.
        let test = test_curve(&[3.0], &[0.0], &diagonal(&[4.0]), level).unwrap();
        assert_eq!((test.shape_df, test.rest_df), (1, 0));
        assert!((test.shape - 2.25).abs() < 1e-12 && (test.shift - 3.0).abs() < 1e-12 && test.shift_se == 2.0);
    }

    #[test]
    fn a_shared_shift_is_expected_under_correlation_and_a_step_is_not() {
        // Points sharing a common component (variance 4) plus independent noise (variance 1): a shift of 2 at every
        // point is a one-sigma event of the common part; the same size as a step halfway along is not.
        let m = 9;
        let mut c = Covariance::zeros(m);
        for i in 0..m {
            for j in 0..m {
                c.add(i, j, if i == j { 5.0 } else { 4.0 });
            }
        }
        let along: Vec<f64> = (0..m).map(|i| i as f64).collect();
        let level = Level { alpha: 0.05, curves: 1, seed_df: None };
        let shift = test_curve(&[2.0; 9], &along, &c, level).unwrap();
        assert!(!shift.differs() && shift.shape < 1.0, "{shift:?}");
        let step: Vec<f64> = (0..m).map(|i| if i < 5 { -4.0 } else { 0.0 }).collect();
        let step = test_curve(&step, &along, &c, level).unwrap();
        assert!(step.differs(), "{step:?}");
    }

    #[test]
    fn verdicts_separate_difference_from_a_too_wide_allowance() {
        let along: Vec<f64> = (0..4).map(f64::from).collect();
        let level = Level { alpha: 0.05, curves: 1, seed_df: None };
        let judged = |d: f64, variance: f64, margin: f64| {
            verdict(&test_curve(&[d; 4], &along, &diagonal(&[variance; 4]), level).unwrap(), margin)
        };
        assert_eq!(judged(0.1, 0.04, 1.0), CurveVerdict::Agrees);
        assert_eq!(judged(3.0, 0.04, 1.0), CurveVerdict::Differs);
        let wide = judged(0.1, 16.0, 1.0);
        assert!(matches!(&wide, CurveVerdict::Inconclusive(why) if why.contains("+-1")), "{wide:?}");
    }
}
