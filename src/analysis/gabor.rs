//! Gabor fits of conv1 filters: `gabor_2d` and `fit_gabor` in `notebooks/figures/receptive_fields.ipynb` (cells 3
//! and 32) of `cerysojj/blurry-to-clear-training`, used for the per-epoch sigma_x line (cell 18) and the epoch-100
//! Gabor sizes (cells 36 and 48).
//!
//! The model is an elliptical 2-D Gabor on pixel coordinates (x = column, y = row):
//! `A exp(-(x'^2 / 2 sigma_x^2 + y'^2 / 2 sigma_y^2)) cos(2 pi f x' + phase) + offset`, with (x', y') the
//! coordinates about (x0, y0) rotated by theta. It is fitted by least squares to the channel-averaged kernel from
//! random starting points, within the original's bounds: A in [0.1, 5], x0 in [0, side], y0 in [0, side], sigma_x
//! and sigma_y in [1, 10] px, theta in [0, pi], f in [0.05, 0.5] cycles/px, phase in [0, 2 pi]. A fit counts as valid
//! when R^2 >= 0.4; its size is (sigma_x + sigma_y) / 2 (cells 36/48).
//!
//! What differs, and why. The original runs SciPy's L-BFGS-B (10 correction pairs, a finite-difference gradient,
//! at most 15,000 function evaluations) with bounds from 100 unseeded starting points and keeps the best successful
//! fit. Rust has no maintained L-BFGS-B, so the bounds become a change of variables (MINUIT's `p = lo + (hi - lo)(1 +
//! sin u) / 2`) and argmin's unconstrained L-BFGS searches the free coordinates, with the analytic gradient; the
//! starting points come from a seeded generator (one stream per filter), drawn from the original's distributions.
//! How each start searches is the profile's `analysis.gabor_start_budget` ([`StartBudget`]):
//! - `converge` (the `paper` profiles): as SciPy ran it ([`Search::SciPy`]): theta and phase bounded too, 10
//!   correction pairs, SciPy's stopping rules, and a start that reaches the iteration cap or SciPy's evaluation cap
//!   (each gradient counted as the ten function evaluations of SciPy's finite differences) is unsuccessful and left
//!   out; the best successful start is the fit;
//! - a short budget (the CPU profiles, which fit conv1 at every checkpoint): theta and phase free (they only pick one
//!   period of a periodic model; the result is mapped back into the original's ranges), 7 correction pairs, at most
//!   that many iterations per start, then the best start refined to a tighter convergence ([`Search::Free`]).
//!
//! paper/DEVIATIONS.md gives what the remaining differences do to the valid counts, measured on the fixture checkpoint
//! of `tests/fixtures/analysis/`. The number of starts is [`GaborConfig::restarts`]. Filters are fitted in parallel,
//! each from its own seeded stream.
use anyhow::Result;
use argmin::core::{CostFunction, Error as ArgminError, Executor, Gradient, State, TerminationReason};
use argmin::solver::linesearch::MoreThuenteLineSearch;
use argmin::solver::quasinewton::LBFGS;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::f64::consts::PI;
use tch::nn;

use super::{conv_layer_kernels, LayerStatistic};
use crate::model::CONV_LAYERS;
pub use crate::protocol::GaborKernelScale;
use crate::vocab::{Layer, RfMeasure};

/// A fit is valid from this R^2 on (`r_squared >= 0.4` in cells 3 and 32).
pub(crate) const MIN_R_SQUARED: f64 = 0.4;

/// SciPy's L-BFGS-B defaults, which the original's `opt.minimize(..., method='L-BFGS-B')` used: at most `maxiter`
/// iterations; stop when the cost falls by at most `ftol * max(|f|, 1)` in an iteration (`factr = 1e7` times the
/// machine epsilon) or the largest projected gradient is at most `gtol`.
const SCIPY_MAXITER: u64 = 15_000;
const SCIPY_FTOL: f64 = 2.220446049250313e-9;
const SCIPY_GTOL: f64 = 1e-5;
/// SciPy's `maxfun`: function evaluations after which L-BFGS-B stops unsuccessfully. The original passed no
/// gradient, so each of its gradients cost one evaluation per parameter beyond the function's own (2-point finite
/// differences).
const SCIPY_MAXFUN: u64 = 15_000;
const FINITE_DIFFERENCE_EVALUATIONS: u64 = 9;
/// SciPy's L-BFGS-B default `maxcor`: correction pairs kept.
const SCIPY_MEMORY: usize = 10;

/// How each start's search follows the original's SciPy call (see the module doc).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Search {
    /// Theta and phase bounded, 10 correction pairs, a start past the iteration or evaluation cap unsuccessful.
    SciPy,
    /// Theta and phase free, 7 correction pairs, every start that ends with a finite cost kept.
    Free,
}

/// How long each random start searches.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StartBudget {
    /// Every start to convergence under SciPy's stopping rules, the best start kept, as the original. The gradient
    /// rule is applied to the L2 norm in the optimiser's free coordinates (argmin's) rather than to the largest
    /// projected component in the bounded ones (SciPy's); the cost rule takes `max(|f|, 1)` at the kernel's total sum
    /// of squares, which bounds every cost of the search.
    Converge,
    /// At most this many iterations per start under tight tolerances, then the best start refined.
    Iterations(u64),
}

/// How the fits are searched.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct GaborConfig {
    /// Random starting points per filter (the original: 100).
    pub restarts: usize,
    pub budget: StartBudget,
    /// L-BFGS iterations of the final refinement (after a short budget only).
    pub refine_iterations: u64,
    /// Seed of the starting points; filter `i` draws from stream `i`, so a filter's fit does not depend on the others.
    pub seed: u64,
    pub search: Search,
    /// The units each kernel is fitted in.
    pub kernel_scale: GaborKernelScale,
}

impl Default for GaborConfig {
    fn default() -> Self {
        GaborConfig {
            restarts: 100,
            budget: StartBudget::Iterations(crate::protocol::DEFAULT_GABOR_START_ITERATIONS),
            refine_iterations: 300,
            seed: 0,
            search: Search::Free,
            kernel_scale: GaborKernelScale::Raw,
        }
    }
}

impl GaborConfig {
    /// The search a profile's analysis settings ask for, with starting points seeded by `seed`.
    pub(crate) fn for_profile(spec: &crate::protocol::AnalysisSpec, seed: u64) -> GaborConfig {
        let (budget, search) = match spec.gabor_start_budget {
            crate::protocol::GaborStartBudget::Converge => (StartBudget::Converge, Search::SciPy),
            crate::protocol::GaborStartBudget::Iterations(n) => (StartBudget::Iterations(n), Search::Free),
        };
        GaborConfig {
            restarts: spec.gabor_restarts as usize,
            budget,
            seed,
            search,
            kernel_scale: spec.gabor_kernel_scale,
            ..GaborConfig::default()
        }
    }
}

/// The nine parameters of the Gabor model, in the original's order.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct GaborParams {
    pub amplitude: f64,
    pub x0: f64,
    pub y0: f64,
    pub sigma_x: f64,
    pub sigma_y: f64,
    pub theta: f64,
    /// Cycles per pixel.
    pub frequency: f64,
    pub phase: f64,
    pub offset: f64,
}

impl GaborParams {
    /// The model's value at pixel (x = column, y = row).
    pub(crate) fn value(&self, x: f64, y: f64) -> f64 {
        let (sin, cos) = self.theta.sin_cos();
        let (dx, dy) = (x - self.x0, y - self.y0);
        let (xr, yr) = (dx * cos + dy * sin, -dx * sin + dy * cos);
        let envelope =
            (-(xr * xr / (2.0 * self.sigma_x * self.sigma_x) + yr * yr / (2.0 * self.sigma_y * self.sigma_y))).exp();
        self.amplitude * envelope * (2.0 * PI * self.frequency * xr + self.phase).cos() + self.offset
    }

    /// The model rendered on a `side` x `side` grid, row-major (what the figures draw).
    pub(crate) fn render(&self, side: usize) -> Vec<f64> {
        (0..side * side).map(|i| self.value((i % side) as f64, (i / side) as f64)).collect()
    }

    /// Size of the fit as in cells 36/48: the mean of sigma_x and sigma_y, in pixels.
    pub(crate) fn size(&self) -> f64 {
        (self.sigma_x + self.sigma_y) / 2.0
    }
}

/// The best fit found for one kernel and its coefficient of determination.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct GaborFit {
    pub params: GaborParams,
    pub r_squared: f64,
}

/// One conv1 filter's fit: a row of the `rf_gabor_filters` table.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct FilterFit {
    /// Filter index in conv1 (0..64).
    pub filter: usize,
    /// `None` when no start converged to a finite cost (the original's `None, 0`).
    pub fit: Option<GaborFit>,
}

impl FilterFit {
    pub(crate) fn r_squared(&self) -> f64 {
        self.fit.map_or(0.0, |f| f.r_squared)
    }

    pub(crate) fn valid(&self) -> bool {
        self.r_squared() >= MIN_R_SQUARED
    }

    /// (sigma_x + sigma_y) / 2 of a valid fit; `None` otherwise (the reference leaves it empty).
    pub(crate) fn gabor_size(&self) -> Option<f64> {
        self.valid().then(|| self.fit.map(|f| f.params.size())).flatten()
    }

    /// sigma_x of a valid fit (the quantity of cell 18).
    pub(crate) fn sigma_x(&self) -> Option<f64> {
        self.valid().then(|| self.fit.map(|f| f.params.sigma_x)).flatten()
    }
}

/// Bounds of the parameters that have them, as index into the parameter vector, low and high.
const BOUNDS: [(usize, f64, f64); 4] = [(0, 0.1, 5.0), (3, 1.0, 10.0), (4, 1.0, 10.0), (6, 0.05, 0.5)];
/// The original's bounds on theta and phase, applied by [`Search::SciPy`].
const PERIODIC_BOUNDS: [(usize, f64, f64); 2] = [(5, 0.0, PI), (7, 0.0, 2.0 * PI)];
/// x0 and y0 are bounded by [0, side], which depends on the kernel.
const CENTRE: [usize; 2] = [1, 2];

/// Least squares of the Gabor model against one kernel, in the free coordinates `u` of the optimiser.
struct GaborProblem<'a> {
    kernel: &'a [f64],
    side: usize,
    search: Search,
}

impl GaborProblem<'_> {
    fn bounds(&self, index: usize) -> Option<(f64, f64)> {
        if CENTRE.contains(&index) {
            return Some((0.0, self.side as f64));
        }
        let periodic = if self.search == Search::SciPy { &PERIODIC_BOUNDS[..] } else { &[] };
        BOUNDS.iter().chain(periodic).find(|(i, _, _)| *i == index).map(|&(_, lo, hi)| (lo, hi))
    }

    /// Model parameters from free coordinates, and d(param)/d(u) for the chain rule.
    fn to_params(&self, u: &[f64]) -> ([f64; 9], [f64; 9]) {
        let (mut p, mut dp) = ([0.0; 9], [1.0; 9]);
        for i in 0..9 {
            match self.bounds(i) {
                Some((lo, hi)) => {
                    p[i] = lo + (hi - lo) * (1.0 + u[i].sin()) / 2.0;
                    dp[i] = (hi - lo) * u[i].cos() / 2.0;
                }
                None => p[i] = u[i],
            }
        }
        (p, dp)
    }

    /// Free coordinates of model parameters that lie within their bounds.
    fn to_free(&self, p: &[f64; 9]) -> Vec<f64> {
        (0..9)
            .map(|i| match self.bounds(i) {
                Some((lo, hi)) => (2.0 * (p[i] - lo) / (hi - lo) - 1.0).clamp(-1.0, 1.0).asin(),
                None => p[i],
            })
            .collect()
    }

    /// Sum of squared residuals and, when asked, its gradient with respect to the nine model parameters.
    fn loss(&self, p: &[f64; 9], gradient: Option<&mut [f64; 9]>) -> f64 {
        let [amplitude, x0, y0, sigma_x, sigma_y, theta, frequency, phase, offset] = *p;
        let (sin_t, cos_t) = theta.sin_cos();
        let (sx2, sy2) = (sigma_x * sigma_x, sigma_y * sigma_y);
        let omega = 2.0 * PI * frequency;
        let mut loss = 0.0;
        let mut g = [0.0; 9];
        let want_gradient = gradient.is_some();
        for (i, &target) in self.kernel.iter().enumerate() {
            let (dx, dy) = ((i % self.side) as f64 - x0, (i / self.side) as f64 - y0);
            let (xr, yr) = (dx * cos_t + dy * sin_t, -dx * sin_t + dy * cos_t);
            let envelope = (-(xr * xr / (2.0 * sx2) + yr * yr / (2.0 * sy2))).exp();
            let (sin_w, cos_w) = (omega * xr + phase).sin_cos();
            let residual = amplitude * envelope * cos_w + offset - target;
            loss += residual * residual;
            if want_gradient {
                let r2 = 2.0 * residual;
                let a_e = amplitude * envelope;
                let d_xr = a_e * (-xr * cos_w / sx2 - omega * sin_w);
                let d_yr = a_e * cos_w * (-yr / sy2);
                g[0] += r2 * envelope * cos_w;
                g[1] += r2 * (-d_xr * cos_t + d_yr * sin_t);
                g[2] += r2 * (-d_xr * sin_t - d_yr * cos_t);
                g[3] += r2 * a_e * cos_w * xr * xr / (sx2 * sigma_x);
                g[4] += r2 * a_e * cos_w * yr * yr / (sy2 * sigma_y);
                g[5] += r2 * (d_xr * yr - d_yr * xr);
                g[6] += r2 * (-a_e * sin_w * 2.0 * PI * xr);
                g[7] += r2 * (-a_e * sin_w);
                g[8] += r2;
            }
        }
        if let Some(out) = gradient {
            *out = g;
        }
        loss
    }
}

impl CostFunction for GaborProblem<'_> {
    type Param = Vec<f64>;
    type Output = f64;

    fn cost(&self, u: &Vec<f64>) -> Result<f64, ArgminError> {
        Ok(self.loss(&self.to_params(u).0, None))
    }
}

impl Gradient for GaborProblem<'_> {
    type Param = Vec<f64>;
    type Gradient = Vec<f64>;

    fn gradient(&self, u: &Vec<f64>) -> Result<Vec<f64>, ArgminError> {
        let (p, dp) = self.to_params(u);
        let mut g = [0.0; 9];
        self.loss(&p, Some(&mut g));
        Ok((0..9).map(|i| g[i] * dp[i]).collect())
    }
}

/// When L-BFGS stops: at most `iterations`, or when an iteration lowers the cost by less than `cost` or the
/// gradient's norm falls below `grad`. With `scipy_caps`, a start stopped by the iteration cap or past SciPy's
/// evaluation cap is unsuccessful.
#[derive(Clone, Copy, Debug)]
struct Stopping {
    iterations: u64,
    cost: f64,
    grad: f64,
    scipy_caps: bool,
}

impl Stopping {
    /// SciPy's L-BFGS-B rules (see [`StartBudget::Converge`]) for a kernel whose total sum of squares is `scale`.
    fn scipy(scale: f64) -> Stopping {
        Stopping { iterations: SCIPY_MAXITER, cost: SCIPY_FTOL * scale.max(1.0), grad: SCIPY_GTOL, scipy_caps: false }
    }

    /// Tight tolerances relative to the kernel's scale, for `iterations` at most.
    fn tight(iterations: u64, scale: f64) -> Stopping {
        Stopping { iterations, cost: 1e-12 * scale, grad: 1e-9 * scale.sqrt(), scipy_caps: false }
    }
}

/// Run L-BFGS from `start` until `stopping` says; `None` when the line search fails (the original skips starts whose
/// `res.success` is false).
fn minimise(problem: GaborProblem<'_>, start: Vec<f64>, stopping: Stopping) -> Option<(Vec<f64>, f64)> {
    let Stopping { iterations, cost, grad, scipy_caps } = stopping;
    let memory = if problem.search == Search::SciPy { SCIPY_MEMORY } else { 7 };
    let solver = LBFGS::new(MoreThuenteLineSearch::new(), memory)
        .with_tolerance_cost(cost)
        .and_then(|s| s.with_tolerance_grad(grad))
        .ok()?;
    let mut result = Executor::new(problem, solver).configure(|s| s.param(start).max_iters(iterations)).run().ok()?;
    if scipy_caps {
        let state = result.state();
        let count = |name: &str| state.get_func_counts().get(name).copied().unwrap_or(0);
        let evaluations = count("cost_count") + count("gradient_count") * (1 + FINITE_DIFFERENCE_EVALUATIONS);
        let capped = matches!(state.get_termination_reason(), Some(TerminationReason::MaxItersReached));
        if capped || evaluations > SCIPY_MAXFUN {
            return None;
        }
    }
    let cost = result.state().get_best_cost();
    let param = result.state.take_best_param()?;
    cost.is_finite().then_some((param, cost))
}

/// Map theta into [0, pi) and the phase into [0, 2 pi): (theta + pi, phase) describes the same Gabor as
/// (theta, -phase), because the carrier is an even function of its argument.
fn canonical(mut p: [f64; 9]) -> GaborParams {
    let turns = (p[5] / PI).floor();
    p[5] -= turns * PI;
    if turns.rem_euclid(2.0) == 1.0 {
        p[7] = -p[7];
    }
    p[7] = p[7].rem_euclid(2.0 * PI);
    params_from(p)
}

fn params_from(p: [f64; 9]) -> GaborParams {
    let [amplitude, x0, y0, sigma_x, sigma_y, theta, frequency, phase, offset] = p;
    GaborParams { amplitude, x0, y0, sigma_x, sigma_y, theta, frequency, phase, offset }
}

/// Fit the Gabor model to one `side` x `side` kernel (row-major), drawing starting points from `rng`.
pub(crate) fn fit_gabor(kernel: &[f64], side: usize, config: &GaborConfig, rng: &mut impl Rng) -> Option<GaborFit> {
    let mean = kernel.iter().sum::<f64>() / kernel.len() as f64;
    let total_ss: f64 = kernel.iter().map(|v| (v - mean).powi(2)).sum();
    let scale = total_ss.max(f64::MIN_POSITIVE);
    let problem = || GaborProblem { kernel, side, search: config.search };
    let centre = (side / 2) as f64;
    let mut best: Option<(Vec<f64>, f64)> = None;
    for _ in 0..config.restarts {
        // The original's starting distribution, drawn in its order: A, sigma_x, sigma_y, theta, f, phase.
        let amplitude = rng.random_range(0.5..2.0);
        let sigma_x = rng.random_range(1.0..5.0);
        let sigma_y = rng.random_range(1.0..5.0);
        let theta = rng.random_range(0.0..PI);
        let frequency = rng.random_range(0.05..0.5);
        let phase = rng.random_range(0.0..2.0 * PI);
        let start = [amplitude, centre, centre, sigma_x, sigma_y, theta, frequency, phase, mean];
        let start = problem().to_free(&start);
        let stopping = match config.budget {
            StartBudget::Converge => Stopping { scipy_caps: config.search == Search::SciPy, ..Stopping::scipy(scale) },
            StartBudget::Iterations(n) => Stopping::tight(n, scale),
        };
        if let Some((u, cost)) = minimise(problem(), start, stopping) {
            if best.as_ref().is_none_or(|(_, c)| cost < *c) {
                best = Some((u, cost));
            }
        }
    }
    let (u, cost) = best?;
    let u = match config.budget {
        // Every start converged already: the best is the fit, as in the original.
        StartBudget::Converge => u,
        StartBudget::Iterations(_) => {
            match minimise(problem(), u.clone(), Stopping::tight(config.refine_iterations, scale)) {
                Some((refined, refined_cost)) if refined_cost <= cost => refined,
                _ => u,
            }
        }
    };
    let p = problem().to_params(&u).0;
    let residual_ss = problem().loss(&p, None);
    // A constant kernel has nothing to explain: R^2 0 (numpy would give NaN or -inf, equally invalid).
    let r_squared = if total_ss > 0.0 { 1.0 - residual_ss / total_ss } else { 0.0 };
    Some(GaborFit { params: canonical(p), r_squared })
}

/// Fit every conv1 filter of the model in `vs` (channel-averaged kernels), filter 0 first, on all CPU cores: each
/// filter draws from its own stream, so the fits do not depend on how they are spread over threads.
pub(crate) fn fit_conv1(vs: &nn::VarStore, config: &GaborConfig) -> Result<Vec<FilterFit>> {
    let conv1 = &CONV_LAYERS[0];
    let kernels: Vec<(usize, Vec<f64>)> =
        conv_layer_kernels(vs, conv1)?.into_iter().map(|k| scaled(k, config.kernel_scale)).enumerate().collect();
    Ok(crate::data::par_map(&kernels, |(filter, kernel)| {
        let mut rng = ChaCha8Rng::seed_from_u64(config.seed);
        rng.set_stream(*filter as u64);
        FilterFit { filter: *filter, fit: fit_gabor(kernel, conv1.kernel as usize, config, &mut rng) }
    }))
}

/// `kernel` in the units `scale` asks for ([`GaborKernelScale`]); an all-zero kernel stays as it is.
fn scaled(kernel: Vec<f64>, scale: GaborKernelScale) -> Vec<f64> {
    match scale {
        GaborKernelScale::Raw => kernel,
        GaborKernelScale::UnitPeak => {
            let peak = kernel.iter().fold(0.0f64, |m, v| m.max(v.abs()));
            if peak > 0.0 {
                kernel.into_iter().map(|v| v / peak).collect()
            } else {
                kernel
            }
        }
    }
}

/// The layer summary of conv1's fits: `gabor_n_valid`, and over the valid fits `gabor_size_mean_valid` (cells
/// 36/48) and `gabor_sigma_x_mean_valid` (cell 18). The two means are left out when no fit is valid.
pub(crate) fn summary(fits: &[FilterFit]) -> Vec<LayerStatistic<RfMeasure>> {
    let sizes: Vec<f64> = fits.iter().filter_map(FilterFit::gabor_size).collect();
    let sigmas: Vec<f64> = fits.iter().filter_map(FilterFit::sigma_x).collect();
    let mut rows = vec![LayerStatistic::new(Layer::CONV1, RfMeasure::GaborNValid, sizes.len() as f64)];
    if !sizes.is_empty() {
        let n = sizes.len() as f64;
        rows.push(LayerStatistic::new(Layer::CONV1, RfMeasure::GaborSizeMeanValid, sizes.iter().sum::<f64>() / n));
        rows.push(LayerStatistic::new(Layer::CONV1, RfMeasure::GaborSigmaXMeanValid, sigmas.iter().sum::<f64>() / n));
    }
    rows
}

#[cfg(test)]
mod tests {
    use super::*;

    fn synthetic() -> GaborParams {
        GaborParams {
            amplitude: 0.8,
            x0: 5.3,
            y0: 4.6,
            sigma_x: 2.2,
            sigma_y: 3.1,
            theta: 0.7,
            frequency: 0.18,
            phase: 1.1,
            offset: 0.05,
        }
    }

    #[test]
    fn analytic_gradient_matches_finite_differences() {
        let kernel: Vec<f64> = (0..121).map(|i| ((i * 37 % 17) as f64 - 8.0) / 40.0).collect();
        for search in [Search::Free, Search::SciPy] {
            let problem = GaborProblem { kernel: &kernel, side: 11, search };
            let u = problem.to_free(&[1.2, 4.0, 6.5, 2.5, 1.7, 0.4, 0.22, 2.0, 0.01]);
            let analytic = problem.gradient(&u).unwrap();
            for i in 0..9 {
                let h = 1e-6;
                let (mut up, mut down) = (u.clone(), u.clone());
                up[i] += h;
                down[i] -= h;
                let numeric = (problem.cost(&up).unwrap() - problem.cost(&down).unwrap()) / (2.0 * h);
                let close = (analytic[i] - numeric).abs() < 1e-5 * (1.0 + numeric.abs());
                assert!(close, "{search:?} parameter {i}: {analytic:?}");
            }
        }
    }

    #[test]
    fn recovers_the_parameters_of_a_synthetic_gabor_kernel() {
        let truth = synthetic();
        let kernel = truth.render(11);
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        let config = GaborConfig { restarts: 30, ..GaborConfig::default() };
        let fit = fit_gabor(&kernel, 11, &config, &mut rng).expect("a fit");
        assert!(fit.r_squared > 0.999, "R^2 {}", fit.r_squared);
        let p = fit.params;
        for (name, got, want) in [
            ("sigma_x", p.sigma_x, truth.sigma_x),
            ("sigma_y", p.sigma_y, truth.sigma_y),
            ("frequency", p.frequency, truth.frequency),
            ("x0", p.x0, truth.x0),
            ("y0", p.y0, truth.y0),
            ("amplitude", p.amplitude, truth.amplitude),
            ("theta", p.theta, truth.theta),
            ("phase", p.phase, truth.phase),
        ] {
            assert!((got - want).abs() < 1e-3, "{name}: fitted {got}, true {want}");
        }
    }

    #[test]
    fn noise_is_not_a_valid_gabor_and_the_summary_counts_valid_fits() {
        let mut noise_rng = ChaCha8Rng::seed_from_u64(11);
        let noise: Vec<f64> = (0..121).map(|_| noise_rng.random_range(-1.0..1.0)).collect();
        let mut rng = ChaCha8Rng::seed_from_u64(0);
        let config = GaborConfig { restarts: 10, ..GaborConfig::default() };
        let noise_fit = FilterFit { filter: 0, fit: fit_gabor(&noise, 11, &config, &mut rng) };
        assert!(!noise_fit.valid(), "R^2 {}", noise_fit.r_squared());
        let gabor_fit = FilterFit { filter: 1, fit: fit_gabor(&synthetic().render(11), 11, &config, &mut rng) };
        assert!(gabor_fit.valid());
        let rows = summary(&[noise_fit, gabor_fit]);
        let names: Vec<_> = rows.iter().map(|r| (r.statistic, r.value)).collect();
        assert_eq!(names[0], (RfMeasure::GaborNValid, 1.0));
        assert!((names[1].1 - 2.65).abs() < 1e-3 && (names[2].1 - 2.2).abs() < 1e-3, "{names:?}");
    }

    #[test]
    fn theta_and_phase_are_mapped_into_the_originals_ranges_without_changing_the_model() {
        let raw = [0.8, 5.0, 5.0, 2.0, 3.0, 0.7 + 3.0 * PI, 0.2, 1.0, 0.0];
        let mapped = canonical(raw);
        assert!((0.0..PI).contains(&mapped.theta) && (0.0..2.0 * PI).contains(&mapped.phase));
        assert!((mapped.theta - 0.7).abs() < 1e-12 && (mapped.phase - (2.0 * PI - 1.0)).abs() < 1e-12);
        for (a, b) in mapped.render(11).iter().zip(params_from(raw).render(11)) {
            assert!((a - b).abs() < 1e-12);
        }
    }

    /// A kernel at the scale of a freshly initialised conv1 (peak 0.03, below the amplitude bound of 0.1) is
    /// misfitted in raw units: the amplitude pinned at its bound, the envelope squeezed to half its width and the
    /// carrier to a third of its frequency to make up for it. In units of its own peak it fits as the same kernel at
    /// full scale: the true envelope.
    #[test]
    fn a_kernel_in_units_of_its_peak_fits_as_its_full_scale_self() {
        let full = synthetic().render(11);
        let peak = full.iter().fold(0.0f64, |m, v| m.max(v.abs()));
        let small: Vec<f64> = full.iter().map(|v| v * 0.03 / peak).collect();
        let fit = |kernel: &[f64], kernel_scale| {
            let config = GaborConfig { restarts: 30, kernel_scale, ..GaborConfig::default() };
            let kernel = scaled(kernel.to_vec(), kernel_scale);
            fit_gabor(&kernel, 11, &config, &mut ChaCha8Rng::seed_from_u64(3)).expect("a fit")
        };
        let raw = fit(&small, GaborKernelScale::Raw);
        let pinned = raw.params.amplitude < 0.1 + 1e-4;
        assert!(pinned && raw.params.sigma_x < 1.5 && raw.params.frequency < 0.1, "raw fit {:?}", raw.params);
        let (unit, reference) = (fit(&small, GaborKernelScale::UnitPeak), fit(&full, GaborKernelScale::UnitPeak));
        assert!(unit.r_squared > 0.999, "R^2 {}", unit.r_squared);
        for (got, want) in [(unit.params.sigma_x, 2.2), (unit.params.sigma_y, 3.1), (reference.params.sigma_x, 2.2)] {
            assert!((got - want).abs() < 1e-3, "sigma {got}, true {want}");
        }
        assert_eq!(scaled(vec![0.0; 4], GaborKernelScale::UnitPeak), vec![0.0; 4]);
    }
}
