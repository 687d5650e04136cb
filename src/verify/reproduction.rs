//! A reproduction judged against the original, curve by curve: the numbers `verify` compared, gathered into curves
//! by the families of `agreement.toml` ([`super::allowance`]), each tested by the shifts of its prefixes and
//! suffixes ([`super::agreement`]) at a family-wise level over every curve tested, and rolled up per table and per
//! figure.
use std::collections::BTreeMap;
use std::fmt::Write as _;

use super::agreement::{self, CurveTest, CurveVerdict, Level};
use super::allowance::{self, Allowance, Counts, Family, PointError, SeedKind, SeedSize};
use super::{Comparison, TableOutcome};
use crate::results::{Schema, SourceKind};
use crate::vocab::DatasetId;

/// One point of a curve.
#[derive(Clone, Debug, PartialEq)]
pub struct CurvePoint {
    /// The `along` cell (0 when the curve has no axis).
    pub x: f64,
    pub original: f64,
    /// The run's mean over its seeds, and each seed's value.
    pub run: f64,
    pub run_seeds: Vec<f64>,
    /// The standard deviation of `run - original` that a faithful reproduction would show here (test sampling of
    /// both sides, seeds, digitisation; of each pair of extremes the larger, [`agreement::Mixtures::
    /// largest_variance_at`]); `None` for an untested curve. The figures draw `+-1.96` of it as the allowance band of their difference panels.
    pub allowance_sd: Option<f64>,
}

impl CurvePoint {
    pub fn difference(&self) -> f64 {
        self.run - self.original
    }
}

/// One curve's judgement.
#[derive(Clone, Debug)]
pub struct CurveOutcome {
    pub table: &'static str,
    pub column: &'static str,
    /// The variant whose run was compared, `None` for the profile's own run.
    pub variant: Option<String>,
    /// The key cells naming the curve (all but `along`), e.g. `dataset = faces, regime = clear`.
    pub label: Vec<(&'static str, String)>,
    pub along: Option<String>,
    pub points: Vec<CurvePoint>,
    /// Seeds of the run (the fewest over the curve's points).
    pub seeds: usize,
    /// The seed variation applied, and the degrees of freedom of its estimate (`None`: declared).
    pub seed: Option<(SeedSize, Option<f64>)>,
    pub test: Option<CurveTest>,
    pub verdict: CurveVerdict,
    pub margin: f64,
}

impl CurveOutcome {
    /// `accuracy_vs_blur faces/clear accuracy_pct` (and the variant, when one was compared).
    pub fn name(&self) -> String {
        let cells: Vec<&str> = self.label.iter().map(|(_, v)| v.as_str()).collect();
        let variant = self.variant.as_ref().map_or(String::new(), |v| format!(" (variant {v})"));
        format!("{} {} {}{variant}", self.table, cells.join("/"), self.column)
    }

    /// The point of largest absolute difference.
    pub fn largest(&self) -> Option<&CurvePoint> {
        self.points.iter().max_by(|a, b| a.difference().abs().total_cmp(&b.difference().abs()))
    }

    /// How the curve differs, in words: the window of largest standardised shift (its range along the curve, shift,
    /// `z` and threshold), the mean shift with its 95 % interval, and the largest difference.
    pub fn how_much(&self) -> String {
        let mut text = String::new();
        if let Some(test) = &self.test {
            let (from, to) = (&self.points[test.window.from], &self.points[test.window.to]);
            let range = match &self.along {
                Some(a) => format!("{a} {}..{}", from.x, to.x),
                None => "the whole curve".to_owned(),
            };
            let (lo, hi) = test.shift_interval();
            let _ = write!(
                text,
                "shift {:+.3} over {range} (z {:+.2}, threshold {:.2}), mean shift {:+.3} [{lo:+.3}, {hi:+.3}]",
                test.window_shift, test.z, test.threshold, test.shift
            );
        }
        if let Some(p) = self.largest() {
            let at = self.along.as_ref().map_or(String::new(), |a| format!(" at {a} {}", p.x));
            let _ = write!(text, "{}largest {:+.3}{at}", if text.is_empty() { "" } else { ", " }, p.difference());
        }
        text
    }

    /// Whether the curve's key cells (and table) are those of `figure`'s rows.
    fn drawn_by(&self, figure: &allowance::FigureCurves) -> bool {
        figure.table == self.table
            && figure.where_.iter().all(|(c, v)| self.label.iter().any(|(name, cell)| name == c && cell == v))
    }
}

/// The figures' verdicts: a figure differs when any of its curves does, agrees when all do.
#[derive(Clone, Debug)]
pub struct FigureOutcome {
    pub id: String,
    pub curves: usize,
    pub agrees: usize,
    pub differs: usize,
    pub inconclusive: usize,
}

impl FigureOutcome {
    pub fn verdict(&self) -> &'static str {
        if self.curves == 0 {
            "no data"
        } else if self.differs > 0 {
            "differs"
        } else if self.agrees == self.curves {
            "agrees"
        } else {
            "inconclusive"
        }
    }
}

/// The reproduction judgement of a whole run.
#[derive(Clone, Debug)]
pub struct Reproduction {
    pub alpha: f64,
    /// Curves tested (the `C` of the family-wise threshold).
    pub tested: usize,
    pub curves: Vec<CurveOutcome>,
    pub figures: Vec<FigureOutcome>,
    /// Numbers compared but not judged, by table and reason.
    pub not_judged: BTreeMap<(&'static str, String), usize>,
}

impl Reproduction {
    pub fn differing(&self) -> impl Iterator<Item = &CurveOutcome> {
        self.curves.iter().filter(|c| c.verdict == CurveVerdict::Differs)
    }

    /// Curves per verdict name of `table`.
    pub fn tally(&self, table: &str) -> BTreeMap<&'static str, usize> {
        let mut tally = BTreeMap::new();
        for c in self.curves.iter().filter(|c| c.table == table) {
            *tally.entry(c.verdict.name()).or_default() += 1;
        }
        tally
    }
}

/// A curve's identity: its family (index in `agreement.toml`), table, variant and naming key cells.
type CurveKey = (usize, &'static str, Option<String>, Vec<(&'static str, String)>);

/// Where each compared number goes: a curve of a family, or not judged with a reason.
struct Gathered<'a> {
    curves: BTreeMap<CurveKey, Vec<(f64, &'a Comparison)>>,
    not_judged: BTreeMap<(&'static str, String), usize>,
}

fn gather<'a>(tables: &'a [TableOutcome], allowance: &Allowance) -> Gathered<'a> {
    let mut gathered = Gathered { curves: BTreeMap::new(), not_judged: BTreeMap::new() };
    for table in tables {
        let schema: &Schema = table.schema;
        let names: Vec<&'static str> = schema.keys().map(|c| c.name).collect();
        for c in &table.comparisons {
            let cells: BTreeMap<&str, &str> = names.iter().copied().zip(c.key.iter().map(String::as_str)).collect();
            if let Some(why) = allowance.not_judged(schema.name, &cells) {
                *gathered.not_judged.entry((schema.name, why.to_owned())).or_default() += 1;
                continue;
            }
            let Some(index) = allowance.family.iter().position(|f| f.matches(schema.name, c.column, &cells)) else {
                let why = format!("no [[family]] of {} declares {}", allowance::AGREEMENT_FILE, c.column);
                *gathered.not_judged.entry((schema.name, why)).or_default() += 1;
                continue;
            };
            let along = allowance.family[index].along.as_deref();
            let label: Vec<(&'static str, String)> = names
                .iter()
                .zip(&c.key)
                .filter(|(name, _)| Some(**name) != along)
                .map(|(name, cell)| (*name, cell.clone()))
                .collect();
            let x = along.and_then(|a| cells.get(a)).and_then(|cell| cell.parse::<f64>().ok()).unwrap_or(0.0);
            let key = (index, schema.name, c.variant.clone(), label);
            gathered.curves.entry(key).or_default().push((x, c));
        }
    }
    gathered
}

/// The seed variation of each family estimated from the run's own seeds, where its curves have two or more: the
/// pooled variance over every point (for accuracies, of the logit, through the delta method), with one degree of
/// freedom per curve and extra seed.
fn seed_estimates(gathered: &Gathered, allowance: &Allowance) -> BTreeMap<usize, (SeedSize, f64)> {
    let mut sums: BTreeMap<usize, (f64, f64, f64)> = BTreeMap::new();
    for ((index, ..), points) in &gathered.curves {
        let seeds = points.iter().map(|(_, c)| c.run_per_seed.len()).min().unwrap_or(0);
        if seeds < 2 {
            continue;
        }
        let accuracy = allowance.family[*index].seed == SeedKind::Accuracy;
        let sum = sums.entry(*index).or_default();
        for (_, c) in points {
            let (mean, sd) = crate::stats::mean_and_sd(&c.run_per_seed);
            let Some(sd) = sd else { continue };
            sum.0 += sd * sd;
            sum.1 += if accuracy {
                let p = allowance::proportion(mean, 100_000);
                (100.0 * p * (1.0 - p)).powi(2)
            } else {
                1.0
            };
        }
        sum.2 += (seeds - 1) as f64;
    }
    sums.into_iter()
        .filter(|(_, (_, den, _))| *den > 0.0)
        .map(|(index, (num, den, df))| {
            let sd = (num / den).sqrt();
            let size = match allowance.family[index].seed {
                SeedKind::Accuracy => SeedSize::Logit(sd),
                SeedKind::Unknown => SeedSize::Absolute(sd),
            };
            (index, (size, df))
        })
        .collect()
}

/// The standard deviation of the original's number of comparison `c` in `family`.
fn original_sd(c: &Comparison, family: &Family, allowance: &Allowance) -> f64 {
    match c.expected_kind {
        SourceKind::Digitized if family.seed == SeedKind::Accuracy && c.quality.as_deref() == Some("marker") => {
            allowance.digitized.accuracy_marker_sd
        }
        SourceKind::Digitized => allowance.digitized.sd_per_stated * c.tolerance,
        // Printed to a precision: uniform rounding error over +-tolerance.
        _ => c.tolerance / 3f64.sqrt(),
    }
}

/// Judge every curve of the compared `tables` against the allowance; `run_images` gives the run's evaluated test
/// images per dataset (from its profile).
pub fn judge(
    tables: &[TableOutcome],
    allowance: &Allowance,
    run_images: &dyn Fn(DatasetId) -> Option<u64>,
) -> Reproduction {
    let gathered = gather(tables, allowance);
    let estimates = seed_estimates(&gathered, allowance);
    // The seed variation of each curve, when one is known; curves without one are not tested.
    let plan: Vec<_> = gathered
        .curves
        .iter()
        .map(|((index, table, variant, label), points)| {
            let family = &allowance.family[*index];
            let seeds = points.iter().map(|(_, c)| c.seeds).min().unwrap_or(0);
            let seed = match (seeds >= 2, estimates.get(index), family.seed) {
                (true, Some(&(size, df)), _) => Some((size, Some(df))),
                (false, _, SeedKind::Accuracy) => Some((SeedSize::Logit(allowance.accuracy.logit_sd), None)),
                _ => None,
            };
            (family, *table, variant, label, points, seeds, seed)
        })
        .collect();
    let tested = plan.iter().filter(|p| p.6.is_some()).count();
    let mut curves = Vec::new();
    for (family, table, variant, label, points, seeds, seed) in plan {
        let mut sorted = points.clone();
        sorted.sort_by(|a, b| a.0.total_cmp(&b.0));
        let mut curve_points: Vec<CurvePoint> = sorted
            .iter()
            .map(|(x, c)| CurvePoint {
                x: *x,
                original: c.expected,
                run: c.run,
                run_seeds: c.run_per_seed.clone(),
                allowance_sd: None,
            })
            .collect();
        let errors: Vec<PointError> = sorted
            .iter()
            .map(|(x, c)| PointError {
                along: family.scale.apply(*x),
                original: c.expected,
                original_sd: original_sd(c, family, allowance),
            })
            .collect();
        let dataset = label.iter().find(|(name, _)| *name == "dataset").and_then(|(_, d)| d.parse::<DatasetId>().ok());
        let counts = (family.seed == SeedKind::Accuracy).then_some(()).and(dataset).map(|d| {
            let original = allowance.original_test_images.get(d.name()).copied().unwrap_or(1);
            Counts { original, run: run_images(d).unwrap_or(original) }
        });
        let column = sorted.first().map_or("", |(_, c)| c.column);
        let (test, verdict) = match seed {
            Some((size, df)) => {
                let covariance = allowance::curve_covariance(
                    &errors,
                    size,
                    seeds,
                    family.correlation_length,
                    family.floor_sd,
                    counts,
                );
                let difference: Vec<f64> = curve_points.iter().map(CurvePoint::difference).collect();
                let level = Level { alpha: allowance.alpha, curves: tested, seed_df: df };
                for (i, point) in curve_points.iter_mut().enumerate() {
                    point.allowance_sd = Some(covariance.largest_variance_at(i).sqrt());
                }
                match agreement::test_curve(&difference, &covariance, level) {
                    Some(test) => {
                        let verdict = agreement::verdict(&test, family.margin);
                        (Some(test), verdict)
                    }
                    None => (None, CurveVerdict::Inconclusive("its covariance is not positive definite".into())),
                }
            }
            None => (
                None,
                CurveVerdict::Inconclusive(format!(
                    "seed-to-seed variation unknown: {}; a run with --seeds N >= 2 judges it by its own seeds",
                    family.unknown_why.as_deref().unwrap_or("no evidence in the original")
                )),
            ),
        };
        curves.push(CurveOutcome {
            table,
            column,
            variant: variant.clone(),
            label: label.clone(),
            along: family.along.clone(),
            points: curve_points,
            seeds,
            seed,
            test,
            verdict,
            margin: family.margin,
        });
    }
    let mut figures: Vec<FigureOutcome> = Vec::new();
    for figure in &allowance.figure {
        let at = match figures.iter().position(|f| f.id == figure.id) {
            Some(at) => at,
            None => {
                figures.push(FigureOutcome {
                    id: figure.id.clone(),
                    curves: 0,
                    agrees: 0,
                    differs: 0,
                    inconclusive: 0,
                });
                figures.len() - 1
            }
        };
        for curve in curves.iter().filter(|c| c.drawn_by(figure)) {
            let f = &mut figures[at];
            f.curves += 1;
            match curve.verdict {
                CurveVerdict::Agrees => f.agrees += 1,
                CurveVerdict::Differs => f.differs += 1,
                CurveVerdict::Inconclusive(_) => f.inconclusive += 1,
            }
        }
    }
    Reproduction { alpha: allowance.alpha, tested, curves, figures, not_judged: gathered.not_judged }
}

/// The judgement as text: curves per table and verdict, each figure's verdict, every differing curve with how much,
/// and why curves are inconclusive.
pub fn summary(reproduction: &Reproduction, tables: &[TableOutcome]) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "\nagreement with the original: {} curves, {} tested at a family-wise error rate of {} (the rest \
         inconclusive by construction, below)",
        reproduction.curves.len(),
        reproduction.tested,
        reproduction.alpha
    );
    let _ = writeln!(out, "{:<24} {:>7} {:>7} {:>8} {:>13}", "table", "curves", "agrees", "differs", "inconclusive");
    for table in tables {
        let tally = reproduction.tally(table.schema.name);
        let count = |v: &str| tally.get(v).copied().unwrap_or(0);
        let curves: usize = tally.values().sum();
        if curves == 0 {
            continue;
        }
        let _ = writeln!(
            out,
            "{:<24} {curves:>7} {:>7} {:>8} {:>13}",
            table.schema.name,
            count("agrees"),
            count("differs"),
            count("inconclusive")
        );
    }
    if !reproduction.figures.is_empty() {
        let _ = writeln!(out, "\nfigures:");
        for f in &reproduction.figures {
            let _ = writeln!(
                out,
                "  {:<28} {:<12} ({} curves: {} agree, {} differ, {} inconclusive)",
                f.id,
                f.verdict(),
                f.curves,
                f.agrees,
                f.differs,
                f.inconclusive
            );
        }
    }
    let differing: Vec<&CurveOutcome> = reproduction.differing().collect();
    if !differing.is_empty() {
        let _ = writeln!(out, "\ndiffering curves (run - original):");
        for c in &differing {
            let _ = writeln!(out, "  DIFFERS {}: {}", c.name(), c.how_much());
        }
    }
    let mut reasons: BTreeMap<String, usize> = BTreeMap::new();
    for c in &reproduction.curves {
        if let CurveVerdict::Inconclusive(why) = &c.verdict {
            let why = if why.starts_with("no difference shown") {
                format!("mean shift not within the margin ({} {})", c.table, c.column)
            } else {
                format!("{} {}: {why}", c.table, c.column)
            };
            *reasons.entry(why).or_default() += 1;
        }
    }
    if !reasons.is_empty() {
        let _ = writeln!(out, "\ninconclusive curves, by reason:");
        for (why, n) in reasons {
            let _ = writeln!(out, "  {n} x {why}");
        }
    }
    if !reproduction.not_judged.is_empty() {
        let _ = writeln!(out, "\nnumbers not judged:");
        for ((table, why), n) in &reproduction.not_judged {
            let _ = writeln!(out, "  {table} ({n}): {why}");
        }
    }
    out
}
