//! `blurry-to-clear verify`: every number of a run's tables against the expected ones, under declared tolerances.
//!
//! The expected numbers live in `expected/<profile>/` (the original's in `expected/paper/`), beside a
//! `tolerances.toml` that says, per table and per kind of source, how far a number may be off: printed, hard-coded
//! and derived numbers to their printed precision, digitized ones by their stated uncertainty. Both sides are first
//! reduced to one number per observation ([`crate::results::preferred`], then the mean over seeds), so a run with
//! several seeds is judged by its mean, as the figures show it.
//!
//! Like is compared with like: `models.toml` beside the expected tables ([`models`]) says which of the original's
//! models each expected row was measured on and which run of the profile trains it (its own run of the dataset and
//! regime, or a variant's, gathered into `results/variants/<name>/`), or why none can. Every expected row is
//! accounted for, per table: compared (and whether it holds), superseded (a more trusted source of the same number
//! was compared), not comparable (with the reason), or not in the run.
//!
//! A run of the original study (its own rows, against an expected directory with an `agreement.toml`: the
//! original's) is not held to those tolerances, which say how precisely the original is known, but judged as a
//! reproduction ([`reproduction`]): curve by curve, with allowances for test sampling, seeds and digitisation. The
//! regression pins (`expected/mini`, `expected/tiny`) and the original against itself keep the exact check.
mod agreement;
mod allowance;
mod models;
pub mod reproduction;
#[cfg(test)]
pub(crate) mod simulate;

pub use agreement::{CurveTest, CurveVerdict};
pub use allowance::{Allowance, AGREEMENT_FILE};
pub(crate) use models::{Assignment, Models, Target};
pub use reproduction::Reproduction;

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use serde::Deserialize;
use serde_json::Value;

use crate::results::{self, cell_text, record_key, source_quality, Record, ResultsDir, Schema, SourceKind, SCHEMAS};

/// The file beside the expected tables that declares their tolerances.
pub(crate) const TOLERANCES_FILE: &str = "tolerances.toml";

/// One tolerance rule. A rule applies to a row of `table` when every given matcher agrees; the first rule that
/// applies wins. `skip` rules exclude rows from comparison, counted as not comparable with the reason in `why`.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Rule {
    pub table: String,
    /// Source kind (`printed`, `hardcoded`, `log`, `pkl`, `derived`, `digitized`, `run`).
    pub kind: Option<String>,
    /// Digitisation quality label (`quality=<label>` in the source).
    pub quality: Option<String>,
    /// A piece of text the source must contain (e.g. the notebook cell `#cell52`).
    pub source_contains: Option<String>,
    /// Cells that must equal the given text, e.g. `{ statistic = "mean_peak_sf" }`.
    #[serde(default, rename = "where")]
    pub where_: BTreeMap<String, String>,
    /// The absolute tolerance, in the column's unit.
    pub abs: Option<f64>,
    #[serde(default)]
    pub skip: bool,
    /// Why this tolerance: where the uncertainty is stated.
    pub why: String,
}

impl Rule {
    /// The rule names a known table, source kind and cells its columns can hold, and says what to do.
    fn check(&self) -> Result<()> {
        let schema = results::schema(&self.table)?;
        for (column, text) in &self.where_ {
            schema.check_cell(column, text)?;
        }
        if let Some(kind) = &self.kind {
            if SourceKind::of(&format!("{kind}:")) == SourceKind::Other {
                bail!("unknown source kind '{kind}'; valid: printed, hardcoded, log, pkl, derived, digitized, run");
            }
        }
        if self.abs.is_none() && !self.skip {
            bail!("it has neither `abs` nor `skip = true`");
        }
        Ok(())
    }
}

/// The rules of one expected directory.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Tolerances {
    pub rule: Vec<Rule>,
}

impl Tolerances {
    pub(crate) fn load(expected_dir: &Path) -> Result<Tolerances> {
        let path = expected_dir.join(TOLERANCES_FILE);
        let text = std::fs::read_to_string(&path).with_context(|| {
            format!("cannot read {}; every expected directory declares its tolerances there", path.display())
        })?;
        let tolerances: Tolerances =
            toml::from_str(&text).with_context(|| format!("cannot parse {}", path.display()))?;
        for rule in &tolerances.rule {
            rule.check().with_context(|| format!("{}: a rule for {}", path.display(), rule.table))?;
        }
        Ok(tolerances)
    }

    /// The first rule that applies to `record` of `schema`, if any.
    pub(crate) fn rule_for(&self, schema: &Schema, record: &Record) -> Option<&Rule> {
        let source = record.get("source").and_then(Value::as_str).unwrap_or("");
        self.rule.iter().find(|rule| {
            rule.table == schema.name
                && rule.kind.as_deref().is_none_or(|k| k == SourceKind::of(source).name())
                && rule.quality.as_deref().is_none_or(|q| source_quality(source) == Some(q))
                && rule.source_contains.as_deref().is_none_or(|s| source.contains(s))
                && rule.where_.iter().all(|(column, text)| record.get(column).map(cell_text).as_deref() == Some(text))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A run whose own rows and whose variant's rows are the original's preferred numbers, marked as a run's.
    fn run_with_variant(dir: &Path, variant_of: impl Fn(&Record) -> bool) -> PathBuf {
        let schema = SCHEMAS[1];
        let expected = crate::provenance::project_path("expected/paper").unwrap();
        let records = results::read_records(&schema.csv_path(&expected), schema, &[]).unwrap();
        let (mut own, mut variant) = (Vec::new(), Vec::new());
        for record in results::preferred(schema, &records) {
            let mut record = record.clone();
            record.insert("source".into(), Value::from("run:paper seed 0"));
            if variant_of(&record) {
                variant.push(record)
            } else {
                own.push(record)
            }
        }
        let run = dir.join("run");
        results::write_records(&results::results_dir(&run), schema, &own).unwrap();
        let variant_dir = results::results_dir(&run).join("variants").join("IN12_full_blur_2");
        results::write_records(&variant_dir, schema, &variant).unwrap();
        run
    }

    #[test]
    fn a_variants_rows_are_compared_with_the_expected_rows_of_its_model_and_every_row_is_accounted_for() {
        let dir = tempfile::tempdir().unwrap();
        let in12_blurry = |r: &Record| r["dataset"] == "in12" && r["regime"] == "blurry";
        let run = run_with_variant(dir.path(), in12_blurry);
        let verification = verify(&run, &crate::provenance::project_path("expected/paper").unwrap()).unwrap();
        let stage = &verification.tables[1];
        assert_eq!(stage.schema.name, "accuracy_by_stage");
        assert_eq!((stage.expected_rows, stage.rows_compared, stage.superseded, stage.missing), (799, 675, 124, 0));
        assert_eq!((stage.rows_failed, stage.unmatched, stage.not_comparable_rows()), (0, 0, 0));
        let variant = stage.comparisons.iter().filter(|c| c.variant.as_deref() == Some("IN12_full_blur_2")).count();
        assert_eq!(variant, 45, "5 stages x 9 sigmas of IN12_full_blur_2");
        assert!(verification.passed());

        // The same rows as the run's own in12/blurry run: another model than the stage figure's, so not compared.
        let dir = tempfile::tempdir().unwrap();
        let run = run_with_variant(dir.path(), |_| false);
        let stage =
            verify(&run, &crate::provenance::project_path("expected/paper").unwrap()).unwrap().tables[1].clone();
        assert_eq!((stage.rows_compared, stage.missing, stage.unmatched), (630, 45, 45));
        let text = summary(&verify(&run, &crate::provenance::project_path("expected/paper").unwrap()).unwrap());
        assert!(
            text.contains(
                "accuracy_by_stage             799      630    630      0        124        0         45       45"
            ),
            "{text}"
        );
    }

    #[test]
    fn tolerances_naming_something_unknown_fail_to_load_with_that_name() {
        let dir = tempfile::tempdir().unwrap();
        let paper = std::fs::read_to_string(crate::provenance::project_path("expected/paper/tolerances.toml").unwrap())
            .unwrap();
        std::fs::write(dir.path().join(TOLERANCES_FILE), &paper).unwrap();
        assert!(Tolerances::load(dir.path()).is_ok());
        let rule = |table: &str, cell: &str| {
            format!("\n[[rule]]\ntable = \"{table}\"\nwhere = {{ {cell} }}\nabs = 1.0\nwhy = \"x\"\n")
        };
        for (text, named) in [
            (paper.replacen("table = \"rf_size\"", "table = \"rf_sizes\"", 1), "unknown table 'rf_sizes'"),
            (paper.replacen("kind = \"digitized\"", "kind = \"digitised\"", 1), "unknown source kind 'digitised'"),
            (
                paper.clone() + &rule("spatial_frequency", "statistic = \"peak_sf\""),
                "unknown spatial-frequency statistic 'peak_sf'",
            ),
            (paper.clone() + &rule("erf", "layer = \"conv5\""), "unknown layer 'conv5'"),
        ] {
            assert_ne!(text, paper);
            std::fs::write(dir.path().join(TOLERANCES_FILE), text).unwrap();
            let err = format!("{:#}", Tolerances::load(dir.path()).unwrap_err());
            assert!(err.contains(named) && err.contains(TOLERANCES_FILE), "{err}");
        }
    }
}

/// One observation of a table, reduced to one value per column: the mean over seeds of the preferred records.
#[derive(Clone, Debug)]
pub(crate) struct Observation {
    pub key: Vec<String>,
    /// Column -> mean value (absent when empty in every seed).
    pub values: BTreeMap<&'static str, f64>,
    /// The record of the first seed, for its source and key cells.
    pub record: Record,
    pub seeds: usize,
    /// Column -> each seed's value.
    pub per_seed: BTreeMap<&'static str, Vec<f64>>,
}

/// Reduce records of `schema` to one [`Observation`] per key, in first-seen order.
pub(crate) fn observations(schema: &Schema, records: &[Record]) -> Vec<Observation> {
    let mut out: Vec<Observation> = Vec::new();
    let mut index: BTreeMap<Vec<String>, usize> = BTreeMap::new();
    let mut sums: Vec<BTreeMap<&'static str, (f64, usize)>> = Vec::new();
    for seed_records in by_seed(records).values() {
        for record in results::preferred(schema, seed_records) {
            let key = record_key(schema, record);
            let at = *index.entry(key.clone()).or_insert_with(|| {
                out.push(Observation {
                    key,
                    values: BTreeMap::new(),
                    record: record.clone(),
                    seeds: 0,
                    per_seed: BTreeMap::new(),
                });
                sums.push(BTreeMap::new());
                out.len() - 1
            });
            out[at].seeds += 1;
            for column in schema.values() {
                if let Some(x) = record.get(column.name).and_then(Value::as_f64) {
                    let sum = sums[at].entry(column.name).or_insert((0.0, 0));
                    sum.0 += x;
                    sum.1 += 1;
                    out[at].per_seed.entry(column.name).or_default().push(x);
                }
            }
        }
    }
    for (observation, sum) in out.iter_mut().zip(sums) {
        observation.values = sum.into_iter().map(|(name, (total, n))| (name, total / n as f64)).collect();
    }
    out
}

fn by_seed(records: &[Record]) -> BTreeMap<i64, Vec<Record>> {
    let mut by_seed: BTreeMap<i64, Vec<Record>> = BTreeMap::new();
    for record in records {
        by_seed.entry(record.get("seed").and_then(Value::as_i64).unwrap_or(0)).or_default().push(record.clone());
    }
    by_seed
}

/// Records of `records` that [`results::preferred`] passes over: another record of the same observation and seed
/// has a more trusted source.
fn superseded(schema: &Schema, records: &[Record]) -> usize {
    by_seed(records).values().map(|seed| seed.len() - results::preferred(schema, seed).len()).sum()
}

/// One number of a run against its expected value.
#[derive(Clone, Debug)]
pub struct Comparison {
    pub table: &'static str,
    pub key: Vec<String>,
    pub column: &'static str,
    /// The variant whose run was compared, `None` for the profile's own run.
    pub variant: Option<String>,
    pub run: f64,
    pub expected: f64,
    pub tolerance: f64,
    pub expected_kind: SourceKind,
    /// The `quality=` label of a digitised expected number.
    pub quality: Option<String>,
    pub seeds: usize,
    /// The run's value of each seed (their mean is `run`).
    pub run_per_seed: Vec<f64>,
}

impl Comparison {
    pub(crate) fn difference(&self) -> f64 {
        self.run - self.expected
    }

    /// Within tolerance, allowing for the float rounding of numbers printed to that precision.
    pub(crate) fn holds(&self) -> bool {
        self.difference().abs() <= self.tolerance + 1e-9 * self.expected.abs().max(1.0)
    }

    /// `dataset=faces regime=clear test_sigma=8 accuracy_pct`, naming the row (and the variant, when one was
    /// compared).
    pub fn describe(&self, schema: &Schema) -> String {
        let key: Vec<String> = schema.keys().zip(&self.key).map(|(c, v)| format!("{}={v}", c.name)).collect();
        let variant = self.variant.as_ref().map_or(String::new(), |v| format!(" (variant {v})"));
        format!("{} {} {}{variant}", self.table, key.join(" "), self.column)
    }
}

/// What one table's comparison found. Every expected row is counted once: `rows_compared + superseded +
/// not_comparable + missing == expected_rows`.
#[derive(Clone, Debug)]
pub struct TableOutcome {
    pub schema: &'static Schema,
    pub comparisons: Vec<Comparison>,
    /// Run observations with no expected counterpart.
    pub unmatched: usize,
    /// Expected rows (preferred records) the run did not produce.
    pub missing: usize,
    /// Whether the run produced this table and whether expected numbers exist for it.
    pub in_run: bool,
    pub in_expected: bool,
    /// Rows of the expected table.
    pub expected_rows: usize,
    /// Expected rows compared with a run's row (one per observation and seed), and those with a number outside its
    /// tolerance.
    pub rows_compared: usize,
    pub rows_failed: usize,
    /// Expected rows passed over for a more trusted source of the same number (printed over derived over digitized).
    pub superseded: usize,
    /// Expected rows left out, by reason (`models.toml`, or a `skip` rule's `why`).
    pub not_comparable: BTreeMap<String, usize>,
}

impl TableOutcome {
    fn new(schema: &'static Schema, in_run: bool, in_expected: bool) -> TableOutcome {
        TableOutcome {
            schema,
            comparisons: Vec::new(),
            unmatched: 0,
            missing: 0,
            in_run,
            in_expected,
            expected_rows: 0,
            rows_compared: 0,
            rows_failed: 0,
            superseded: 0,
            not_comparable: BTreeMap::new(),
        }
    }

    pub fn failures(&self) -> impl Iterator<Item = &Comparison> {
        self.comparisons.iter().filter(|c| !c.holds())
    }

    /// Expected rows left out, whatever the reason.
    pub(crate) fn not_comparable_rows(&self) -> usize {
        self.not_comparable.values().sum()
    }
}

/// The whole verification of one run.
#[derive(Clone, Debug)]
pub struct Verification {
    pub run_dir: PathBuf,
    pub expected_dir: PathBuf,
    pub tables: Vec<TableOutcome>,
    /// The judgement as a reproduction of the original, for a run's own rows against an expected directory that
    /// declares an allowance; `None` for a regression check (exact tolerances).
    pub reproduction: Option<Reproduction>,
}

impl Verification {
    pub fn compared(&self) -> usize {
        self.tables.iter().map(|t| t.comparisons.len()).sum()
    }

    pub fn failed(&self) -> usize {
        self.tables.iter().map(|t| t.failures().count()).sum()
    }

    /// Nothing differs: no curve of a reproduction, no number of a regression check.
    pub fn passed(&self) -> bool {
        match &self.reproduction {
            Some(reproduction) => self.compared() > 0 && reproduction.differing().next().is_none(),
            None => self.compared() > 0 && self.failed() == 0,
        }
    }
}

/// The expected directory for a run: `expected/<profile>/`, the profile that made the run's tables
/// ([`ResultsDir::profile`]); for a profile that reruns the original study
/// ([`crate::vocab::ORIGINAL_STUDY_PROFILES`]) without a directory of its own, the original's `expected/paper/`.
pub fn default_expected_dir(run_dir: &Path) -> Result<PathBuf> {
    let profile = ResultsDir::new(run_dir).profile()?.name;
    let own = crate::provenance::project_path("expected")?.join(&profile);
    if own.is_dir() || !crate::vocab::reruns_original_study(&profile) {
        Ok(own)
    } else {
        crate::provenance::project_path("expected/paper")
    }
}

/// Compare every number of `run_dir`'s tables with `expected_dir`'s, each expected row with the run that trains the
/// model it was measured on (see the module doc).
pub fn verify(run_dir: &Path, expected_dir: &Path) -> Result<Verification> {
    let tolerances = Tolerances::load(expected_dir)?;
    let models = Models::load(expected_dir)?;
    let run = ResultsDir::new(run_dir);
    let expected = ResultsDir::new(expected_dir);
    let profile = run.profile()?.name;
    // What to do with an expected row: a skip rule's reason first, then its model's run.
    let assign = |schema: &Schema, record: &Record| match tolerances.rule_for(schema, record).filter(|r| r.skip) {
        Some(rule) => Assignment::NotComparable(rule.why.clone()),
        None => models.assign(&profile, schema, record),
    };
    let mut tables = Vec::new();
    let mut a_runs_rows = false;
    for schema in SCHEMAS {
        let run_path = schema.csv_path(&run.tables_dir);
        let expected_path = schema.csv_path(&expected.tables_dir);
        let mut outcome = TableOutcome::new(schema, run.has(schema), expected.has(schema));
        let Some(expected) = expected.records(schema)? else {
            tables.push(outcome);
            continue;
        };
        outcome.expected_rows = expected.len();
        let mut parts: BTreeMap<Target, (Vec<Record>, Vec<Record>)> = BTreeMap::new();
        for record in expected {
            match assign(schema, &record) {
                Assignment::Compare(target) => parts.entry(target).or_default().1.push(record),
                Assignment::NotComparable(reason) => *outcome.not_comparable.entry(reason).or_default() += 1,
            }
        }
        for (target, records) in run_records(&run, schema)? {
            for record in records {
                a_runs_rows |= SourceKind::of(source_of(&record)) == SourceKind::Run;
                // A run's own rows belong to the run that wrote them; the original's numbers (a copy of the expected
                // tables verified as a run) to the model that models.toml says they were measured on.
                let assignment = match (&target, SourceKind::of(source_of(&record))) {
                    (Target::Run, kind) if kind != SourceKind::Run => assign(schema, &record),
                    _ => Assignment::Compare(target.clone()),
                };
                if let Assignment::Compare(target) = assignment {
                    parts.entry(target).or_default().0.push(record);
                }
            }
        }
        for (target, (run, expected)) in parts {
            outcome.superseded += superseded(schema, &expected);
            let run = observations(schema, &run);
            let expected = observations(schema, &expected);
            compare_table(schema, target.variant(), &run, &expected, &tolerances, &mut outcome)
                .with_context(|| format!("comparing {} with {}", run_path.display(), expected_path.display()))?;
        }
        tables.push(outcome);
    }
    let reproduction = match Allowance::load(expected_dir)? {
        Some(allowance) if a_runs_rows => {
            let profile = run.profile().ok().and_then(|p| p.protocol);
            let images = |dataset| profile.as_ref().and_then(|p| p.evaluated_test_images(dataset));
            Some(reproduction::judge(&tables, &allowance, &images))
        }
        _ => None,
    };
    Ok(Verification { run_dir: run_dir.to_path_buf(), expected_dir: expected_dir.to_path_buf(), tables, reproduction })
}

fn source_of(record: &Record) -> &str {
    record.get("source").and_then(Value::as_str).unwrap_or("")
}

/// The run's records of `schema`: the profile's own runs', and each variant's (`results/variants/<name>/`).
fn run_records(run: &ResultsDir, schema: &Schema) -> Result<Vec<(Target, Vec<Record>)>> {
    let mut out = Vec::new();
    if let Some(records) = run.records(schema)? {
        out.push((Target::Run, records));
    }
    for (name, variant) in run.variants() {
        if let Some(records) = variant.records(schema)? {
            out.push((Target::Variant(name), records));
        }
    }
    Ok(out)
}

fn compare_table(
    schema: &'static Schema,
    variant: Option<&str>,
    run: &[Observation],
    expected: &[Observation],
    tolerances: &Tolerances,
    outcome: &mut TableOutcome,
) -> Result<()> {
    let run_by_key: BTreeMap<&Vec<String>, &Observation> = run.iter().map(|o| (&o.key, o)).collect();
    let expected_keys: std::collections::BTreeSet<&Vec<String>> = expected.iter().map(|o| &o.key).collect();
    outcome.unmatched += run.iter().filter(|o| !expected_keys.contains(&o.key)).count();
    for want in expected {
        let Some(observation) = run_by_key.get(&want.key) else {
            outcome.missing += want.seeds;
            continue;
        };
        let rule = tolerances.rule_for(schema, &want.record).with_context(|| {
            format!(
                "no rule in {} applies to {} row {} (source {:?})",
                TOLERANCES_FILE,
                schema.name,
                want.key.join("/"),
                source_of(&want.record)
            )
        })?;
        let tolerance = rule.abs.unwrap_or(0.0);
        let mut row_holds = true;
        for column in schema.values() {
            if let (Some(&run_value), Some(&expected_value)) =
                (observation.values.get(column.name), want.values.get(column.name))
            {
                let comparison = Comparison {
                    table: schema.name,
                    key: want.key.clone(),
                    column: column.name,
                    variant: variant.map(str::to_owned),
                    run: run_value,
                    expected: expected_value,
                    tolerance,
                    expected_kind: SourceKind::of(source_of(&want.record)),
                    quality: source_quality(source_of(&want.record)).map(str::to_owned),
                    seeds: observation.seeds,
                    run_per_seed: observation.per_seed.get(column.name).cloned().unwrap_or_default(),
                };
                row_holds &= comparison.holds();
                outcome.comparisons.push(comparison);
            }
        }
        outcome.rows_compared += want.seeds;
        outcome.rows_failed += if row_holds { 0 } else { want.seeds };
    }
    Ok(())
}

/// The verification as text: one line per table accounting for every expected row, the reasons rows were not
/// comparable, then every failing number.
pub fn summary(verification: &Verification) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "verify {} against {}{}",
        project_relative(&verification.run_dir),
        project_relative(&verification.expected_dir),
        if verification.reproduction.is_some() {
            " as a reproduction of the original (hold/fail: the original's printed precision, for reference only)"
        } else {
            ""
        }
    );
    let _ = writeln!(
        out,
        "{:<24} {:>8} {:>8} {:>6} {:>6} {:>10} {:>8} {:>10} {:>8} {:>8}",
        "table", "expected", "compared", "hold", "fail", "superseded", "not-comp", "not-in-run", "run-only", "numbers"
    );
    for table in &verification.tables {
        if !table.in_expected {
            let what = if table.in_run { "no expected numbers" } else { "neither side has it" };
            let _ = writeln!(out, "{:<24} ({what})", table.schema.name);
            continue;
        }
        let _ = writeln!(
            out,
            "{:<24} {:>8} {:>8} {:>6} {:>6} {:>10} {:>8} {:>10} {:>8} {:>8}{}",
            table.schema.name,
            table.expected_rows,
            table.rows_compared,
            table.rows_compared - table.rows_failed,
            table.rows_failed,
            table.superseded,
            table.not_comparable_rows(),
            table.missing,
            table.unmatched,
            table.comparisons.len(),
            if table.in_run { "" } else { "  (not produced by the run)" }
        );
    }
    let _ = writeln!(
        out,
        "\nrows: compared + superseded (a more trusted source of the same number was compared) + not comparable + not \
         in the run = expected"
    );
    let reasons: Vec<_> = verification.tables.iter().filter(|t| !t.not_comparable.is_empty()).collect();
    if !reasons.is_empty() {
        let _ = writeln!(out, "\nnot comparable:");
    }
    for table in reasons {
        for (reason, rows) in &table.not_comparable {
            let _ = writeln!(out, "  {} ({rows} rows): {reason}", table.schema.name);
        }
    }
    if let Some(reproduction) = &verification.reproduction {
        out.push_str(&reproduction::summary(reproduction, &verification.tables));
        let differing = reproduction.differing().count();
        let _ = writeln!(
            out,
            "\n{} numbers in {} curves compared, {}: {}",
            verification.compared(),
            reproduction.curves.len(),
            counted(differing, "curve differs", "curves differ"),
            if verification.passed() {
                "nothing differs from the original"
            } else {
                "the run differs from the original"
            }
        );
        return out;
    }
    let failures: Vec<_> = verification.tables.iter().flat_map(|t| t.failures().map(move |c| (t.schema, c))).collect();
    if !failures.is_empty() {
        let _ = writeln!(out, "\noutside tolerance:");
    }
    for table in &verification.tables {
        let failing: Vec<&Comparison> = table.failures().collect();
        for c in failing.iter().take(FAILURES_LISTED) {
            let _ = writeln!(
                out,
                "  FAIL {}: run {} expected {} (difference {:+.4}, tolerance {} for {})",
                c.describe(table.schema),
                c.run,
                c.expected,
                c.difference(),
                c.tolerance,
                c.expected_kind.name()
            );
        }
        if failing.len() > FAILURES_LISTED {
            let more = failing.len() - FAILURES_LISTED;
            let _ = writeln!(out, "  ... and {more} more in {} (the report lists the largest)", table.schema.name);
        }
    }
    let verdict = if verification.passed() {
        "all hold"
    } else if verification.compared() == 0 {
        "nothing compared"
    } else {
        "some numbers fall outside their tolerance"
    };
    let _ = writeln!(
        out,
        "\n{} numbers compared, {} outside tolerance: {verdict}",
        verification.compared(),
        failures.len()
    );
    out
}

/// Failing numbers listed per table; the rest are counted.
const FAILURES_LISTED: usize = 40;
/// Why `verification` does not pass, naming what differs: each differing curve of a reproduction (table, dataset,
/// regime, by how much), or the first numbers outside tolerance of a regression check; `None` when it passes.
pub fn failure(verification: &Verification) -> Option<String> {
    if verification.compared() == 0 {
        return Some(format!(
            "no number of {} has an expected counterpart in {}",
            project_relative(&verification.run_dir),
            project_relative(&verification.expected_dir)
        ));
    }
    if let Some(reproduction) = &verification.reproduction {
        let differing: Vec<String> =
            reproduction.differing().map(|c| format!("{} ({})", c.name(), c.how_much())).collect();
        return (!differing.is_empty()).then(|| {
            format!(
                "{} of {} from the original: {}",
                counted(differing.len(), "curve differs", "curves differ"),
                project_relative(&verification.run_dir),
                differing.join("; ")
            )
        });
    }
    let failed: Vec<String> =
        verification.tables.iter().flat_map(|t| t.failures().map(move |c| c.describe(t.schema))).collect();
    (!failed.is_empty()).then(|| {
        let shown = failed.iter().take(FAILURES_NAMED).cloned().collect::<Vec<_>>().join("; ");
        format!(
            "{} of {} numbers fall outside tolerance: {shown}{}",
            failed.len(),
            verification.compared(),
            if failed.len() > FAILURES_NAMED { "; ..." } else { "" }
        )
    })
}

/// Failing numbers named by [`failure`]; the summary lists more.
const FAILURES_NAMED: usize = 10;

/// `n` with the singular or plural phrase: "1 curve differs", "3 curves differ".
pub fn counted(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// A path as the reader types it: relative to the project directory when inside it (`expected/mini`), else as given.
pub fn project_relative(path: &Path) -> String {
    let absolute = |p: &Path| std::fs::canonicalize(p).unwrap_or_else(|_| p.to_path_buf());
    match crate::provenance::project_dir() {
        Ok(project) => match absolute(path).strip_prefix(absolute(&project)) {
            Ok(relative) if relative.as_os_str().is_empty() => ".".to_owned(),
            Ok(relative) => relative.display().to_string(),
            Err(_) => path.display().to_string(),
        },
        Err(_) => path.display().to_string(),
    }
}
