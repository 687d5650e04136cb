//! `expected/paper/agreement.toml`: how far a faithful reproduction may lie from the original's numbers, and the
//! evidence for it; and the covariance of one curve's differences that follows from it ([`curve_covariance`]).
//!
//! Each number's allowance combines three parts, both sides of the comparison counted. Where the original's
//! evidence fixes a part's size but not how it is correlated along a curve, the part is given as a pair of extremes
//! and the truth as an unknown mixture of them ([`Mixtures`]); each statistic of [`super::agreement`] is then judged
//! at its largest variance over the mixtures (valid for every one of them), rather than under the sum of both
//! extremes (valid too, but twice the variance the evidence shows):
//! - **test sampling**: an accuracy measured on `N` test images is binomial, variance `p (1 - p) / N`. The errors of
//!   one model at different test sigmas come from the same images, so they are correlated, how strongly depends on
//!   the model: between independent errors and fully dependent ones (every image right at one sigma is right at
//!   every sigma of higher accuracy: covariance `min(p_i, p_j) - p_i p_j`, the largest two such errors can have).
//!   One pair for the run's side and one for the original's;
//! - **seed-to-seed variation**: for accuracies, a perturbation of the curve's logit with the declared standard
//!   deviation at each point (the original's evidence: its two trainings of the IN-12 blurry recipe). One pair of
//!   trainings cannot tell how that variance splits between a whole-curve shift and a local deviation decaying with
//!   distance along the curve (correlation `exp(-distance / correlation_length)`), so those are the two extremes,
//!   each of the full declared variance. With two or more seeds the run's own spread replaces the declared size. The
//!   run's mean over `k` seeds carries `tau^2 / k`, the original's single training `tau^2`;
//! - **digitisation**, where the original's number was read off a figure (`digitized:` sources), and the printed
//!   precision otherwise: independent from point to point, of known size.
//!
//! Tables or measures whose seed variation the original gives no evidence of are declared `seed = "unknown"`:
//! with one seed their curves are inconclusive (with the reason), with several the run's seeds judge them.
use std::collections::BTreeMap;
use std::path::Path;

use anyhow::{bail, Context, Result};
use serde::Deserialize;

use super::agreement::{Covariance, Mixtures};
use crate::results;
use crate::vocab::DatasetId;

/// The file beside the expected tables that declares the reproduction allowance.
pub const AGREEMENT_FILE: &str = "agreement.toml";

/// How a family's seed-to-seed variation is known.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SeedKind {
    /// Accuracy in percent: the declared logit perturbation (`[accuracy]`), or the run's seeds.
    Accuracy,
    /// No evidence in the original: only the run's own seeds can judge it.
    Unknown,
}

/// The coordinate along which a family's curves are smooth.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Scale {
    /// The value as it is (epochs).
    Linear,
    /// `log2(1 + x)`: blur acts on a logarithmic scale (sigma 1 to 2 matters as much as 8 to 17).
    Log2OnePlus,
}

impl Scale {
    pub fn apply(self, x: f64) -> f64 {
        match self {
            Scale::Linear => x,
            Scale::Log2OnePlus => (1.0 + x.max(0.0)).log2(),
        }
    }
}

/// The curves of one table (or some of its rows): what they run along, how they vary, and when they agree.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Family {
    pub table: String,
    /// The value column judged.
    pub column: String,
    /// Key cells a row must have (e.g. `{ measure = "moment_size_mean" }`).
    #[serde(default, rename = "where")]
    pub where_: BTreeMap<String, String>,
    /// The key column a curve runs along; the other key columns name the curve. None: every number is its own curve.
    pub along: Option<String>,
    pub scale: Scale,
    /// How far apart (in `scale` units) two points' local seed deviations are still correlated (1/e).
    pub correlation_length: f64,
    pub seed: SeedKind,
    /// For `seed = "unknown"`: why the original gives no evidence.
    pub unknown_why: Option<String>,
    /// A lower bound on the seed standard deviation of each number (value units) where the original shows one,
    /// applied to the run's own estimate.
    pub floor_sd: Option<f64>,
    pub floor_why: Option<String>,
    /// The equivalence margin (value units): a curve agrees when its mean shift is shown to lie within it.
    pub margin: f64,
    pub margin_why: String,
}

impl Family {
    /// Whether the row with `cells` (key column -> text) of `table`'s `column` belongs to this family.
    pub fn matches(&self, table: &str, column: &str, cells: &BTreeMap<&str, &str>) -> bool {
        self.table == table
            && self.column == column
            && self.where_.iter().all(|(c, v)| cells.get(c.as_str()).is_some_and(|cell| cell == v))
    }

    fn check(&self) -> Result<()> {
        let schema = results::schema(&self.table)?;
        match schema.column(&self.column) {
            Some(c) if c.role == results::Role::Value => {}
            _ => bail!("table {} has no value column '{}'", self.table, self.column),
        }
        for (column, text) in &self.where_ {
            schema.check_cell(column, text)?;
        }
        if let Some(along) = &self.along {
            if !schema.keys().any(|c| c.name == along) {
                bail!("`along = \"{along}\"` is not a key column of table {}", self.table);
            }
        }
        if !(self.correlation_length > 0.0 && self.margin > 0.0) {
            bail!("`correlation_length` and `margin` must be positive");
        }
        if self.seed == SeedKind::Unknown && self.unknown_why.is_none() {
            bail!("`seed = \"unknown\"` needs `unknown_why`: why the original gives no evidence");
        }
        if self.floor_sd.is_some() != self.floor_why.is_some() {
            bail!("`floor_sd` and `floor_why` go together");
        }
        Ok(())
    }
}

/// The declared seed variation of accuracies.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AccuracySeed {
    /// Standard deviation of a training seed's perturbation of an accuracy's logit.
    pub logit_sd: f64,
    pub evidence: String,
}

/// Digitisation error of the original's numbers read off a figure.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Digitized {
    /// Standard deviation of an accuracy marker read as `quality=marker` (pct-pt).
    pub accuracy_marker_sd: f64,
    /// Any other digitised number: this fraction of the `abs` its tolerance rule states ("about +-a").
    pub sd_per_stated: f64,
    pub evidence: String,
}

/// Rows of a table left out of the reproduction judgement, with why.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NotJudged {
    pub table: String,
    #[serde(default, rename = "where")]
    pub where_: BTreeMap<String, String>,
    pub why: String,
}

/// A figure and the curves it draws, for a verdict per figure.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FigureCurves {
    pub id: String,
    pub table: String,
    #[serde(default, rename = "where")]
    pub where_: BTreeMap<String, String>,
}

/// `agreement.toml`.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Allowance {
    /// Family-wise error rate over every curve judged.
    pub alpha: f64,
    /// Test images the original evaluated per dataset (after `drop_last`).
    pub original_test_images: BTreeMap<String, u64>,
    pub accuracy: AccuracySeed,
    pub digitized: Digitized,
    pub family: Vec<Family>,
    #[serde(default)]
    pub not_judged: Vec<NotJudged>,
    #[serde(default)]
    pub figure: Vec<FigureCurves>,
}

impl Allowance {
    /// Read and check `expected_dir/agreement.toml`; `None` when the directory declares none (a regression pin).
    pub fn load(expected_dir: &Path) -> Result<Option<Allowance>> {
        let path = expected_dir.join(AGREEMENT_FILE);
        if !path.exists() {
            return Ok(None);
        }
        let text = std::fs::read_to_string(&path).with_context(|| format!("cannot read {}", path.display()))?;
        let allowance: Allowance = toml::from_str(&text).with_context(|| format!("cannot parse {}", path.display()))?;
        allowance.check().with_context(|| format!("in {}", path.display()))?;
        Ok(Some(allowance))
    }

    fn check(&self) -> Result<()> {
        if !(self.alpha > 0.0 && self.alpha < 1.0) {
            bail!("alpha must lie in (0, 1)");
        }
        for dataset in DatasetId::ALL {
            if !self.original_test_images.contains_key(dataset.name()) {
                bail!("[original_test_images] lacks {}", dataset.name());
            }
        }
        for name in self.original_test_images.keys() {
            name.parse::<DatasetId>().with_context(|| "in [original_test_images]")?;
        }
        for family in &self.family {
            family.check().with_context(|| format!("a [[family]] of table {} ({})", family.table, family.column))?;
        }
        for rows in self
            .not_judged
            .iter()
            .map(|n| (&n.table, &n.where_))
            .chain(self.figure.iter().map(|f| (&f.table, &f.where_)))
        {
            let schema = results::schema(rows.0)?;
            for (column, text) in rows.1 {
                schema.check_cell(column, text)?;
            }
        }
        Ok(())
    }

    /// The family of a row, if any.
    pub fn family(&self, table: &str, column: &str, cells: &BTreeMap<&str, &str>) -> Option<&Family> {
        self.family.iter().find(|f| f.matches(table, column, cells))
    }

    /// The reason rows like these are not judged, if they are not.
    pub fn not_judged(&self, table: &str, cells: &BTreeMap<&str, &str>) -> Option<&str> {
        self.not_judged
            .iter()
            .find(|n| n.table == table && n.where_.iter().all(|(c, v)| cells.get(c.as_str()) == Some(&v.as_str())))
            .map(|n| n.why.as_str())
    }
}

/// One point of a curve as the covariance needs it.
#[derive(Clone, Debug)]
pub struct PointError {
    /// The point's coordinate along the curve, after the family's scale.
    pub along: f64,
    /// The original's value.
    pub original: f64,
    /// Standard deviation of the original's number (digitisation or printed precision).
    pub original_sd: f64,
}

/// The seed variation applied to a curve: declared, or estimated from the run's seeds.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum SeedSize {
    /// Accuracies: standard deviation of the logit perturbation.
    Logit(f64),
    /// Any value: standard deviation in the value's unit.
    Absolute(f64),
}

/// Test-image counts of an accuracy curve: the original's and the run's.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Counts {
    pub original: u64,
    pub run: u64,
}

/// An accuracy in percent as a proportion kept inside (0, 1) by half an image.
pub fn proportion(accuracy_pct: f64, n: u64) -> f64 {
    let half = 0.5 / n.max(1) as f64;
    (accuracy_pct / 100.0).clamp(half, 1.0 - half)
}

/// The covariance of `run - original` along one curve: seed variation of size `seed` for a run of `seeds` seeds
/// against the original's one (`floor_sd` bounding it from below), test sampling of both sides (accuracies, with
/// `counts`), and the original's own error. See the module doc: the pairs are (whole-curve shift, local deviation)
/// of the seed variation, then (independent, fully dependent) sampling errors of the original, then of the run.
pub fn curve_covariance(
    points: &[PointError],
    seed: SeedSize,
    seeds: usize,
    correlation_length: f64,
    floor_sd: Option<f64>,
    counts: Option<Counts>,
) -> Mixtures {
    let m = points.len();
    let n_for_p = counts.map_or(1_000_000, |c| c.original);
    let p: Vec<f64> = points.iter().map(|pt| proportion(pt.original, n_for_p)).collect();
    let tau: Vec<f64> = (0..m)
        .map(|i| {
            let t = match seed {
                SeedSize::Logit(s) => 100.0 * p[i] * (1.0 - p[i]) * s,
                SeedSize::Absolute(s) => s,
            };
            t.max(floor_sd.unwrap_or(0.0))
        })
        .collect();
    let both = 1.0 + 1.0 / seeds.max(1) as f64;
    let filled = |f: &dyn Fn(usize, usize) -> f64| {
        let mut c = Covariance::zeros(m);
        for i in 0..m {
            for j in 0..m {
                c.add(i, j, f(i, j));
            }
        }
        c
    };
    let fixed = filled(&|i, j| if i == j { points[i].original_sd.powi(2) } else { 0.0 });
    let shift = filled(&|i, j| both * tau[i] * tau[j]);
    let local = filled(&|i, j| {
        let distance = (points[i].along - points[j].along).abs();
        both * tau[i] * tau[j] * (-distance / correlation_length).exp()
    });
    let mut pairs = vec![[shift, local]];
    if let Some(counts) = counts {
        for n in [counts.original, counts.run] {
            let scale = 1e4 / n.max(1) as f64;
            let independent = filled(&|i, j| if i == j { scale * p[i] * (1.0 - p[i]) } else { 0.0 });
            let dependent = filled(&|i, j| scale * (p[i].min(p[j]) - p[i] * p[j]));
            pairs.push([independent, dependent]);
        }
    }
    Mixtures { fixed, pairs }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_papers_allowance_loads_and_names_what_it_judges() {
        let allowance = Allowance::load(&crate::provenance::project_path("expected/paper").unwrap()).unwrap().unwrap();
        assert_eq!(allowance.original_test_images["in12"], 1024);
        let cells: BTreeMap<&str, &str> = [("dataset", "faces"), ("regime", "clear")].into();
        let family = allowance.family("accuracy_vs_blur", "accuracy_pct", &cells).unwrap();
        assert_eq!((family.seed, family.along.as_deref()), (SeedKind::Accuracy, Some("test_sigma")));
        assert!(allowance.not_judged("rf_gabor_filters", &cells).is_some());
        assert!(Allowance::load(&crate::provenance::project_path("expected/mini").unwrap()).unwrap().is_none());
    }

    #[test]
    fn every_figure_the_allowance_names_is_in_the_catalogue() {
        let allowance = Allowance::load(&crate::provenance::project_path("expected/paper").unwrap()).unwrap().unwrap();
        let catalogue: toml::Value = toml::from_str(
            &std::fs::read_to_string(crate::provenance::project_path("paper/figures.toml").unwrap()).unwrap(),
        )
        .unwrap();
        let ids: Vec<&str> =
            catalogue["figure"].as_array().unwrap().iter().filter_map(|f| f.get("id")?.as_str()).collect();
        for figure in &allowance.figure {
            assert!(ids.contains(&figure.id.as_str()), "{} is not in paper/figures.toml: {ids:?}", figure.id);
        }
    }

    #[test]
    fn an_allowance_naming_something_unknown_fails_to_load_with_that_name() {
        let dir = tempfile::tempdir().unwrap();
        let paper =
            std::fs::read_to_string(crate::provenance::project_path("expected/paper/agreement.toml").unwrap()).unwrap();
        for (from, to, named) in [
            ("table = \"accuracy_vs_blur\"", "table = \"accuracy_vs_blurs\"", "unknown table 'accuracy_vs_blurs'"),
            ("column = \"accuracy_pct\"", "column = \"accuracy\"", "no value column 'accuracy'"),
            ("along = \"test_sigma\"", "along = \"sigma\"", "not a key column"),
            ("in12 = 1024", "in13 = 1024", "lacks in12"),
        ] {
            let text = paper.replacen(from, to, 1);
            assert_ne!(text, paper, "{from} is not in agreement.toml");
            std::fs::write(dir.path().join(AGREEMENT_FILE), text).unwrap();
            let err = format!("{:#}", Allowance::load(dir.path()).unwrap_err());
            assert!(err.contains(named) && err.contains(AGREEMENT_FILE), "{err}");
        }
    }

    #[test]
    fn a_curves_covariance_pairs_seed_and_sampling_extremes_beside_digitisation() {
        // Two accuracies of 50 % and 20 % on 100 images each side, logit seed sd 0.1, one seed, correlation length 1,
        // one unit apart; the second digitised with sd 0.3.
        let points = [
            PointError { along: 0.0, original: 50.0, original_sd: 0.0 },
            PointError { along: 1.0, original: 20.0, original_sd: 0.3 },
        ];
        let counts = Some(Counts { original: 100, run: 100 });
        let c = curve_covariance(&points, SeedSize::Logit(0.1), 1, 1.0, None, counts);
        assert_eq!(c.pairs.len(), 3);
        assert_eq!(c.fixed.values, [0.0, 0.0, 0.0, 0.09]);
        // tau = 100 p (1 - p) 0.1: 2.5 and 1.6; the seed's shift 2 tau_i tau_j, its local deviation 2 tau_i tau_j
        // exp(-d).
        let [shift, local] = &c.pairs[0];
        let (t0, t1) = (2.5, 1.6);
        assert!((shift.at(0, 1) - 2.0 * t0 * t1).abs() < 1e-9 && (shift.at(1, 1) - 2.0 * t1 * t1).abs() < 1e-9);
        assert!((local.at(0, 1) - 2.0 * t0 * t1 * (-1f64).exp()).abs() < 1e-9 && local.at(0, 0) == shift.at(0, 0));
        // Sampling on 100 images: 1e4 / 100 x p(1-p) on the diagonal; off it 0 (independent) or min - p p' (0.1).
        let [independent, dependent] = &c.pairs[1];
        assert!((independent.at(1, 1) - 100.0 * 0.16).abs() < 1e-9 && independent.at(0, 1) == 0.0);
        assert!((dependent.at(0, 1) - 100.0 * 0.1).abs() < 1e-9 && dependent.at(0, 0) == independent.at(0, 0));
        // Three seeds of the run: (1 + 1/3) tau^2 instead of 2; a floor lifts small taus; no counts, no sampling.
        let three = curve_covariance(&points, SeedSize::Absolute(1.0), 3, 1.0, Some(2.0), None);
        assert_eq!(three.pairs.len(), 1);
        assert!((three.pairs[0][0].at(0, 0) - 4.0 / 3.0 * 4.0).abs() < 1e-9);
        assert!(three.midpoint().cholesky().is_some() && c.midpoint().cholesky().is_some());
    }
}
