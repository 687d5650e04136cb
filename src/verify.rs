//! `blurry-to-clear verify`: every number of a run's tables against the expected ones, under declared tolerances.
//!
//! The expected numbers live in `expected/<profile>/` (the original's in `expected/paper/`), beside a
//! `tolerances.toml` that says, per table and per kind of source, how far a number may be off: printed, hard-coded
//! and derived numbers to their printed precision, digitized ones by their stated uncertainty. Both sides are first
//! reduced to one number per observation ([`crate::results::preferred`], then the mean over seeds), so a run with
//! several seeds is judged by its mean, as the figures show it.
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use serde::Deserialize;
use serde_json::Value;

use crate::results::{self, cell_text, record_key, source_quality, Record, Schema, SourceKind, SCHEMAS};

/// The file beside the expected tables that declares their tolerances.
pub const TOLERANCES_FILE: &str = "tolerances.toml";

/// One tolerance rule. A rule applies to a row of `table` when every given matcher agrees; the first rule that
/// applies wins. `skip` rules exclude rows from comparison (with the reason in `why`).
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rule {
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
pub struct Tolerances {
    pub rule: Vec<Rule>,
}

impl Tolerances {
    pub fn load(expected_dir: &Path) -> Result<Tolerances> {
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
    pub fn rule_for(&self, schema: &Schema, record: &Record) -> Option<&Rule> {
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
pub struct Observation {
    pub key: Vec<String>,
    /// Column -> mean value (absent when empty in every seed).
    pub values: BTreeMap<&'static str, f64>,
    /// The record of the first seed, for its source and key cells.
    pub record: Record,
    pub seeds: usize,
}

/// Reduce records of `schema` to one [`Observation`] per key, in first-seen order, leaving out rows a skip rule
/// excludes.
pub fn observations(schema: &Schema, records: &[Record], tolerances: Option<&Tolerances>) -> Vec<Observation> {
    let kept: Vec<Record> = records
        .iter()
        .filter(|r| !tolerances.and_then(|t| t.rule_for(schema, r)).is_some_and(|rule| rule.skip))
        .cloned()
        .collect();
    let mut by_seed: BTreeMap<i64, Vec<Record>> = BTreeMap::new();
    for record in kept {
        by_seed.entry(record.get("seed").and_then(Value::as_i64).unwrap_or(0)).or_default().push(record);
    }
    let mut out: Vec<Observation> = Vec::new();
    let mut index: BTreeMap<Vec<String>, usize> = BTreeMap::new();
    let mut sums: Vec<BTreeMap<&'static str, (f64, usize)>> = Vec::new();
    for seed_records in by_seed.values() {
        for record in results::preferred(schema, seed_records) {
            let key = record_key(schema, record);
            let at = *index.entry(key.clone()).or_insert_with(|| {
                out.push(Observation { key, values: BTreeMap::new(), record: record.clone(), seeds: 0 });
                sums.push(BTreeMap::new());
                out.len() - 1
            });
            out[at].seeds += 1;
            for column in schema.values() {
                if let Some(x) = record.get(column.name).and_then(Value::as_f64) {
                    let sum = sums[at].entry(column.name).or_insert((0.0, 0));
                    sum.0 += x;
                    sum.1 += 1;
                }
            }
        }
    }
    for (observation, sum) in out.iter_mut().zip(sums) {
        observation.values = sum.into_iter().map(|(name, (total, n))| (name, total / n as f64)).collect();
    }
    out
}

/// One number of a run against its expected value.
#[derive(Clone, Debug)]
pub struct Comparison {
    pub table: &'static str,
    pub key: Vec<String>,
    pub column: &'static str,
    pub run: f64,
    pub expected: f64,
    pub tolerance: f64,
    pub expected_kind: SourceKind,
    pub seeds: usize,
}

impl Comparison {
    pub fn difference(&self) -> f64 {
        self.run - self.expected
    }

    /// Within tolerance, allowing for the float rounding of numbers printed to that precision.
    pub fn holds(&self) -> bool {
        self.difference().abs() <= self.tolerance + 1e-9 * self.expected.abs().max(1.0)
    }

    /// `dataset=faces regime=clear test_sigma=8 accuracy_pct`, naming the row.
    pub fn describe(&self, schema: &Schema) -> String {
        let key: Vec<String> = schema.keys().zip(&self.key).map(|(c, v)| format!("{}={v}", c.name)).collect();
        format!("{} {} {}", self.table, key.join(" "), self.column)
    }
}

/// What one table's comparison found.
#[derive(Clone, Debug)]
pub struct TableOutcome {
    pub schema: &'static Schema,
    pub comparisons: Vec<Comparison>,
    /// Run observations with no expected counterpart.
    pub unmatched: usize,
    /// Expected observations the run did not produce.
    pub missing: usize,
    /// Whether the run produced this table and whether expected numbers exist for it.
    pub in_run: bool,
    pub in_expected: bool,
}

impl TableOutcome {
    pub fn failures(&self) -> impl Iterator<Item = &Comparison> {
        self.comparisons.iter().filter(|c| !c.holds())
    }
}

/// The whole verification of one run.
#[derive(Clone, Debug)]
pub struct Verification {
    pub run_dir: PathBuf,
    pub expected_dir: PathBuf,
    pub tables: Vec<TableOutcome>,
}

impl Verification {
    pub fn compared(&self) -> usize {
        self.tables.iter().map(|t| t.comparisons.len()).sum()
    }

    pub fn failed(&self) -> usize {
        self.tables.iter().map(|t| t.failures().count()).sum()
    }

    pub fn passed(&self) -> bool {
        self.compared() > 0 && self.failed() == 0
    }
}

/// Profiles that rerun the original study, and so are compared with (and drawn over) the original's numbers.
pub const ORIGINAL_STUDY_PROFILES: [&str; 2] = ["paper", "paper-uniform"];

/// The expected directory for a run: `expected/<profile>/`, the profile read from the run's tables; for a profile
/// of [`ORIGINAL_STUDY_PROFILES`] without a directory of its own, the original's `expected/paper/`.
pub fn default_expected_dir(run_dir: &Path) -> Result<PathBuf> {
    let profile = run_profile(run_dir)?;
    let own = crate::provenance::project_path("expected")?.join(&profile);
    if own.is_dir() || !ORIGINAL_STUDY_PROFILES.contains(&profile.as_str()) {
        Ok(own)
    } else {
        crate::provenance::project_path("expected/paper")
    }
}

/// The profile of a run directory: the `profile` column of its first non-empty table.
pub fn run_profile(run_dir: &Path) -> Result<String> {
    let dir = tables_dir(run_dir);
    for schema in SCHEMAS {
        let path = schema.csv_path(&dir);
        if path.exists() {
            if let Some(profile) = results::read_records(&path, schema, &[])?
                .first()
                .and_then(|r| r.get("profile").and_then(Value::as_str).map(str::to_string))
            {
                return Ok(profile);
            }
        }
    }
    bail!("{} holds no results table with rows (looked for {}/<table>.csv)", run_dir.display(), dir.display())
}

/// Where a directory keeps its tables: `RUN_DIR/results/` for a run, the directory itself for `expected/<p>/`.
pub fn tables_dir(dir: &Path) -> PathBuf {
    let results = results::results_dir(dir);
    if results.is_dir() {
        results
    } else {
        dir.to_path_buf()
    }
}

/// Compare every number of `run_dir`'s tables with `expected_dir`'s.
pub fn verify(run_dir: &Path, expected_dir: &Path) -> Result<Verification> {
    let tolerances = Tolerances::load(expected_dir)?;
    let run_tables = tables_dir(run_dir);
    let mut tables = Vec::new();
    for schema in SCHEMAS {
        let run_path = schema.csv_path(&run_tables);
        let expected_path = schema.csv_path(expected_dir);
        let (in_run, in_expected) = (run_path.exists(), expected_path.exists());
        let mut outcome =
            TableOutcome { schema, comparisons: Vec::new(), unmatched: 0, missing: 0, in_run, in_expected };
        if in_run && in_expected {
            let run = observations(schema, &results::read_records(&run_path, schema, &[])?, None);
            let expected =
                observations(schema, &results::read_records(&expected_path, schema, &[])?, Some(&tolerances));
            compare_table(schema, &run, &expected, &tolerances, &mut outcome)
                .with_context(|| format!("comparing {} with {}", run_path.display(), expected_path.display()))?;
        }
        tables.push(outcome);
    }
    Ok(Verification { run_dir: run_dir.to_path_buf(), expected_dir: expected_dir.to_path_buf(), tables })
}

fn compare_table(
    schema: &'static Schema,
    run: &[Observation],
    expected: &[Observation],
    tolerances: &Tolerances,
    outcome: &mut TableOutcome,
) -> Result<()> {
    let expected_by_key: BTreeMap<&Vec<String>, &Observation> = expected.iter().map(|o| (&o.key, o)).collect();
    let mut matched = 0;
    for observation in run {
        let Some(want) = expected_by_key.get(&observation.key) else {
            outcome.unmatched += 1;
            continue;
        };
        matched += 1;
        let rule = tolerances.rule_for(schema, &want.record).with_context(|| {
            format!(
                "no rule in {} applies to {} row {} (source {:?})",
                TOLERANCES_FILE,
                schema.name,
                want.key.join("/"),
                want.record.get("source").map(cell_text).unwrap_or_default()
            )
        })?;
        let tolerance = rule.abs.unwrap_or(0.0);
        for column in schema.values() {
            if let (Some(&run_value), Some(&expected_value)) =
                (observation.values.get(column.name), want.values.get(column.name))
            {
                outcome.comparisons.push(Comparison {
                    table: schema.name,
                    key: observation.key.clone(),
                    column: column.name,
                    run: run_value,
                    expected: expected_value,
                    tolerance,
                    expected_kind: SourceKind::of(want.record.get("source").and_then(Value::as_str).unwrap_or("")),
                    seeds: observation.seeds,
                });
            }
        }
    }
    outcome.missing = expected.len() - matched;
    Ok(())
}

/// The verification as text: one line per table, then every failing row.
pub fn summary(verification: &Verification) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "verify {} against {}", verification.run_dir.display(), verification.expected_dir.display());
    let _ = writeln!(
        out,
        "{:<26} {:>9} {:>7} {:>7} {:>10} {:>8}",
        "table", "compared", "hold", "fail", "unmatched", "missing"
    );
    for table in &verification.tables {
        if !table.in_run {
            let _ = writeln!(out, "{:<26} (not produced by the run)", table.schema.name);
            continue;
        }
        if !table.in_expected {
            let _ = writeln!(out, "{:<26} (no expected numbers)", table.schema.name);
            continue;
        }
        let failed = table.failures().count();
        let _ = writeln!(
            out,
            "{:<26} {:>9} {:>7} {:>7} {:>10} {:>8}",
            table.schema.name,
            table.comparisons.len(),
            table.comparisons.len() - failed,
            failed,
            table.unmatched,
            table.missing
        );
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

/// The `verify` command: print the summary; an error (non-zero exit) names the failing rows.
pub fn run(run_dir: &Path, against: Option<&Path>) -> Result<()> {
    let expected_dir = match against {
        Some(dir) => dir.to_path_buf(),
        None => default_expected_dir(run_dir)?,
    };
    let verification = verify(run_dir, &expected_dir)?;
    print!("{}", summary(&verification));
    if verification.compared() == 0 {
        bail!("no number of {} has an expected counterpart in {}", run_dir.display(), expected_dir.display());
    }
    let failed: Vec<String> =
        verification.tables.iter().flat_map(|t| t.failures().map(move |c| c.describe(t.schema))).collect();
    if !failed.is_empty() {
        let shown = failed.iter().take(10).cloned().collect::<Vec<_>>().join("; ");
        bail!(
            "{} of {} numbers fall outside tolerance: {shown}{}",
            failed.len(),
            verification.compared(),
            if failed.len() > 10 { "; ..." } else { "" }
        );
    }
    Ok(())
}
