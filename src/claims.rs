//! The paper's findings as checkable statements over the results tables (`paper/claims.toml`), each judged with
//! its uncertainty.
//!
//! A claim compares two means of one table's value column: the left side (`lhs`) and either a right side (`rhs`)
//! or a constant (`rhs_value`), each the mean over the observations that match the shared `where` filter and the
//! side's own filter. With `contrast`, a side's statistic is instead the difference of two such means (e.g.
//! blurry-to-clear minus clear accuracy). With `for_each`, the claim is judged for every value of that column
//! separately (every dataset, say). The relations, on the statistic d = lhs - rhs:
//! - `greater`: d > margin;   `less`: d < -margin;   `at_most`: d <= margin;   `within`: |d| <= margin;
//! - `peak_within`: the `over` value at which lhs is largest lies in `range` (inclusive).
//!
//! Claims name epochs and sigmas in the protocol's own terms, so that one statement holds for every profile:
//! `epoch = ["end_of_first_stage"]` (the end of the first blur stage: epoch 20 of the paper's 100),
//! `"end_of_training"`, `"first_analysed"` (the first checkpoint the analyses cover), and
//! `test_sigma = ["blurry_sigma"]` (the blurry regime's training sigma, 8). Plain numbers are taken as they are.
//!
//! **Intervals.** Each statistic gets a 95 % interval from a bootstrap ([`crate::stats`]): test images are resampled
//! once per replicate and shared by every model of the dataset (a paired bootstrap: all regimes see the same test
//! images), from the per-image correctness in `test_predictions`; where only an accuracy is known (the original's
//! numbers), it is redrawn as a binomial of the profile's evaluated test images; a filter statistic (a mean over a
//! layer's filters or feature maps) is redrawn from its standard error across them; anything else is taken as
//! exact. With several seeds the statistic is the mean over seeds; the spread across seeds is reported beside it.
//!
//! **Verdicts** ([`Verdict`], [`Claim::judge`]) separate the direction of an effect from its size. A *directional*
//! claim (`greater`: d = +1, `less`: d = -1) states that the statistic lies beyond the margin m >= 0 in direction d.
//! Its 95 % interval [lo, hi] is turned to face that direction, [L, H] = [d lo, d hi] (ends swapped when d = -1),
//! so that 0 is no effect and m the claimed size; then, in this order:
//! - `holds`: L > m (the whole interval beyond the margin);
//! - `reversed`: H < 0 (the whole interval in the opposite direction);
//! - `inconclusive`: m > 0 and L <= m < H (the interval contains the margin: it is compatible with the claimed size
//!   and with a smaller effect, or none where L <= 0, so neither can be called);
//! - `weaker`: L > 0 (and so H <= m: the direction is shown, and the effect is shown to be smaller than claimed);
//! - `not shown`: otherwise, L <= 0 <= H with H <= m or m = 0 (the interval includes no effect and does not reach
//!   the claimed size; with no margin the claim is its direction alone, and an interval across 0 does not show it).
//!
//! A *bound* claim (`at_most`, `within`, `peak_within`) states that the statistic lies inside a region (below m,
//! within +-m, the peak inside `range`, ends included) and has no size beyond it: it `holds` when the interval lies
//! wholly inside, is `reversed` when the interval lies wholly outside (the gain above the bound, the difference
//! beyond +-m, the peak elsewhere), and `not shown` when the interval crosses the region's edge. An interval that is
//! not a number (a side with no observation) is `no data`.
//!
//! A claim judged per group (`for_each`) takes the least favourable verdict of its groups, in the order holds,
//! weaker, inconclusive, not shown, reversed, no data, with one exception: a group with no data could have any
//! verdict, so it leaves the claim at `no data` unless another group is `reversed`, which no verdict of the missing
//! group could make more favourable (a claim made of every group is reversed by one). The groups the original itself
//! leaves undecided (the claim's `undecided`, each with why) are judged and shown, but do not count towards it. On
//! the original's own numbers (`expected/paper/`) every claim holds, and each of its groups holds or is declared
//! undecided (tests/figures.rs).
//!
//! **Typed rows.** [`Evidence`] holds the typed [`Tables`] the claims read, reduced to one row per observation and
//! seed. A claim reads its table's rows through [`Row::cell`] (its filters, groups and keys are column names of the
//! table's [`Schema`], checked when the claims load), and how a value varies through the row's own type
//! ([`TableRows`]): an accuracy by its run, epoch and sigma, a filter mean by the spread beside it.
use std::cell::OnceCell;
use std::collections::BTreeMap;
use std::rc::Rc;

use anyhow::{bail, Context, Result};
use serde::Deserialize;

use crate::protocol::Profile;
use crate::results::{self, AccuracyByStage, Cell, ResultsDir, RfGaborFilter, Row, Schema, Table, TableRows};
use crate::results::{RfSize, Tables, TestPredictions};
use crate::stats::{self, Resamples, REPLICATES};
use crate::vocab::{DatasetId, Regime, RfMeasure, SfStatistic};

/// The claims, embedded at build time: the binary carries `paper/claims.toml` as it was when it was built, and a
/// project's edited copy takes effect only after a rebuild (unlike the protocols and expected numbers, which are read
/// from the project at run time).
pub(crate) const CLAIMS_TOML: &str = include_str!("../paper/claims.toml");

/// Seed of every draw behind the intervals.
const BOOTSTRAP_SEED: u64 = 20_250_601;

/// Column -> accepted cell values (numbers compared by value: `4` accepts a float cell `4.0`), or symbols of the
/// protocol ([`EpochSymbol`], `blurry_sigma`).
pub(crate) type Filter = BTreeMap<String, Vec<toml::Value>>;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Relation {
    Greater,
    Less,
    AtMost,
    Within,
    PeakWithin,
}

/// A side's statistic as the difference `mean(column = a) - mean(column = b)`.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Contrast {
    pub column: String,
    pub a: toml::Value,
    pub b: toml::Value,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Claim {
    pub id: String,
    /// The finding in the paper's words.
    pub finding: String,
    /// Where the finding stands in the original, paraphrased: the bullet of its README's Key Findings, or the notebook
    /// figure the finding summarises.
    pub original: String,
    /// The groups (values of `for_each`, or `all`) that the original's own numbers leave undecided, each with why:
    /// judged and shown on every run, but not counted in the claim's verdict.
    #[serde(default)]
    pub undecided: BTreeMap<String, String>,
    pub table: String,
    /// The value column averaged.
    pub value: String,
    #[serde(default, rename = "where")]
    pub where_: Filter,
    pub for_each: Option<String>,
    pub lhs: Filter,
    pub rhs: Option<Filter>,
    pub rhs_value: Option<f64>,
    pub contrast: Option<Contrast>,
    pub relation: Relation,
    #[serde(default)]
    pub margin: f64,
    /// For `peak_within`: the column whose value at the peak is checked, and its accepted range.
    pub over: Option<String>,
    pub range: Option<[f64; 2]>,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Claims {
    pub claim: Vec<Claim>,
}

impl Claims {
    pub fn parse(text: &str) -> Result<Claims> {
        let claims: Claims = toml::from_str(text).context("cannot parse paper/claims.toml")?;
        for claim in &claims.claim {
            claim.check().with_context(|| format!("paper/claims.toml: claim '{}'", claim.id))?;
        }
        Ok(claims)
    }

    /// The paper's claims (`paper/claims.toml`).
    pub fn paper() -> Result<Claims> {
        Claims::parse(CLAIMS_TOML)
    }

    /// Whether judging the claims reads the table of `schema`: the claims' own tables, and those their intervals
    /// draw on (per-image correctness, stage accuracies behind the ratios, Gabor fits behind their mean).
    pub(crate) fn reads(&self, schema: &Schema) -> bool {
        let intervals = [&AccuracyByStage::SCHEMA, &RfGaborFilter::SCHEMA, &TestPredictions::SCHEMA];
        self.claim.iter().any(|c| c.table == schema.name) || intervals.iter().any(|s| s.name == schema.name)
    }
}

/// Epochs named by their place in the protocol.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum EpochSymbol {
    /// The last epoch of the first blur stage of blurry-to-clear training (the paper's epoch 20).
    EndOfFirstStage,
    /// The last epoch (the paper's 100).
    EndOfTraining,
    /// The first checkpoint the analyses cover (the paper's epoch 10).
    FirstAnalysed,
}

impl EpochSymbol {
    const NAMES: [(EpochSymbol, &'static str); 3] = [
        (EpochSymbol::EndOfFirstStage, "end_of_first_stage"),
        (EpochSymbol::EndOfTraining, "end_of_training"),
        (EpochSymbol::FirstAnalysed, "first_analysed"),
    ];

    fn parse(text: &str) -> Option<EpochSymbol> {
        Self::NAMES.iter().find(|(_, n)| *n == text).map(|(s, _)| *s)
    }

    /// The epoch this symbol names in `profile`.
    pub(crate) fn resolve(self, profile: &Profile) -> u32 {
        match self {
            EpochSymbol::EndOfTraining => profile.epochs,
            EpochSymbol::EndOfFirstStage => {
                let stages = profile.regimes.get(&Regime::BlurryToClear).map_or(1, |r| r.train_sigmas.len().max(1));
                profile.epochs / stages as u32
            }
            EpochSymbol::FirstAnalysed => profile
                .analysis
                .epochs
                .as_ref()
                .and_then(|e| e.iter().copied().min())
                .unwrap_or(profile.checkpoint_every.min(profile.epochs)),
        }
    }
}

/// The name of a claim's one group when it has no `for_each`.
pub const ONE_GROUP: &str = "all";

/// The symbol of the blurry regime's training sigma.
const BLURRY_SIGMA: &str = "blurry_sigma";

/// A filter value as the tables print it: `4`, `0.5`, `faces`.
pub(crate) fn value_text(value: &toml::Value) -> String {
    match value {
        toml::Value::String(s) => s.clone(),
        toml::Value::Integer(i) => i.to_string(),
        toml::Value::Float(f) => Cell::Float(*f).to_string(),
        other => other.to_string(),
    }
}

/// Whether `cell` is the filter value `value`: numbers by value (a float column's `4.0` is the filter's `4`), and
/// anything else as the tables print it.
pub fn accepts(cell: &Cell, value: &toml::Value) -> bool {
    let number = match value {
        toml::Value::Integer(i) => Some(*i as f64),
        toml::Value::Float(x) => Some(*x),
        _ => None,
    };
    match (cell.number(), number) {
        (Some(cell), Some(number)) => cell == number,
        _ => cell.to_string() == value_text(value),
    }
}

/// Whether a row's cells are among the accepted values of every column of `filter` (symbols resolved). A column the
/// row's table lacks accepts nothing.
pub fn filter_matches(row: &dyn Row, filter: &Filter) -> bool {
    filter.iter().all(|(column, accepted)| match row.schema().position(column) {
        Ok(at) => {
            let cell = row.cell(at);
            accepted.iter().any(|v| accepts(&cell, v))
        }
        Err(_) => false,
    })
}

/// The cell of column `column` of `row`, empty when its table has no such column.
fn cell_of<'r>(row: &'r dyn Row, column: &str) -> Cell<'r> {
    row.schema().position(column).map_or(Cell::Empty, |at| row.cell(at))
}

impl Claim {
    /// Everything the claim names exists: its table, its columns, and every value it filters on (checked against
    /// the column's vocabulary or the protocol's symbols, so that a misspelt measure or dataset fails here rather
    /// than matching nothing).
    fn check(&self) -> Result<()> {
        let schema = results::schema(&self.table)?;
        if schema.column(&self.value).is_none() {
            bail!("table {} has no column '{}'", self.table, self.value);
        }
        let filters = [Some(&self.where_), Some(&self.lhs), self.rhs.as_ref()];
        for (column, values) in filters.into_iter().flatten().flatten() {
            for value in values {
                check_filter_value(schema, column, value)?;
            }
        }
        if let Some(c) = &self.contrast {
            check_filter_value(schema, &c.column, &c.a)?;
            check_filter_value(schema, &c.column, &c.b)?;
        }
        for column in self.for_each.iter().chain(&self.over) {
            if schema.column(column).is_none() {
                bail!("table {} has no column '{column}'", self.table);
            }
        }
        if self.margin.is_nan() || self.margin < 0.0 {
            bail!("margin {} is not a size: give a number >= 0", self.margin);
        }
        if self.original.trim().is_empty() {
            bail!("say where the finding stands in the original (`original`)");
        }
        for (group, why) in &self.undecided {
            match &self.for_each {
                Some(column) => check_filter_value(schema, column, &toml::Value::String(group.clone()))
                    .with_context(|| format!("`undecided` names group '{group}'"))?,
                None if group != ONE_GROUP => {
                    bail!("`undecided` names group '{group}', but the claim has one group, '{ONE_GROUP}'")
                }
                None => {}
            }
            if why.trim().is_empty() {
                bail!("`undecided` gives no reason for group '{group}'");
            }
        }
        match self.relation {
            Relation::PeakWithin if self.over.is_none() || self.range.is_none() => {
                bail!("peak_within needs `over` and `range`")
            }
            Relation::PeakWithin => Ok(()),
            _ if self.rhs.is_some() == self.rhs_value.is_some() => bail!("give exactly one of `rhs` and `rhs_value`"),
            _ => Ok(()),
        }
    }

    /// The claim's filters with the protocol's symbols replaced by `profile`'s values.
    pub fn resolved(&self, profile: Option<&Profile>) -> Result<Claim> {
        let resolve = |filter: &Filter| -> Result<Filter> {
            filter
                .iter()
                .map(|(column, values)| {
                    let values = values.iter().map(|v| resolve_symbol(column, v, profile)).collect::<Result<_>>()?;
                    Ok((column.clone(), values))
                })
                .collect()
        };
        let mut claim = self.clone();
        claim.where_ = resolve(&self.where_)?;
        claim.lhs = resolve(&self.lhs)?;
        claim.rhs = self.rhs.as_ref().map(resolve).transpose()?;
        Ok(claim)
    }

    /// The relation in words, with the margin, e.g. `lhs - rhs > 10`.
    pub(crate) fn relation_text(&self) -> String {
        let m = self.margin;
        match self.relation {
            Relation::Greater => format!("lhs - rhs > {m}"),
            Relation::Less => format!("lhs - rhs < -{m}"),
            Relation::AtMost => format!("lhs - rhs <= {m}"),
            Relation::Within => format!("|lhs - rhs| <= {m}"),
            Relation::PeakWithin => {
                let [lo, hi] = self.range.unwrap_or([f64::NAN; 2]);
                format!("peak {} in [{lo}, {hi}]", self.over.as_deref().unwrap_or(""))
            }
        }
    }

    /// Judge an interval `[lo, hi]` of the statistic (or of the peak's location) by the rules of the module doc: a
    /// directional claim by where the interval lies against no effect and the margin, a bound claim by where it lies
    /// against the bound.
    pub fn judge(&self, (lo, hi): (f64, f64)) -> Verdict {
        if lo.is_nan() || hi.is_nan() {
            return Verdict::NoData;
        }
        let m = self.margin;
        match self.relation {
            Relation::Greater => Verdict::directional((lo, hi), m),
            Relation::Less => Verdict::directional((-hi, -lo), m),
            Relation::AtMost => Verdict::bound(hi <= m, lo > m),
            Relation::Within => Verdict::bound(lo >= -m && hi <= m, lo > m || hi < -m),
            Relation::PeakWithin => {
                let [a, b] = self.range.unwrap_or([f64::NAN; 2]);
                Verdict::bound(lo >= a && hi <= b, hi < a || lo > b)
            }
        }
    }

    /// The claim's verdict from its groups': the least favourable ([`Verdict`]'s order) of those the original
    /// decides (of all, where it decides none), `no data` where there is no group. A group with no data decides
    /// nothing when another is `reversed`: whatever it would show, the claim is reversed (module doc).
    pub(crate) fn verdict_of(&self, groups: &[GroupOutcome]) -> Verdict {
        let decided: Vec<&GroupOutcome> = groups.iter().filter(|g| !self.undecided.contains_key(&g.group)).collect();
        let counted = if decided.is_empty() { groups.iter().collect() } else { decided };
        if counted.iter().any(|g| g.verdict == Verdict::Reversed) {
            return Verdict::Reversed;
        }
        counted.into_iter().map(|g| g.verdict).max().unwrap_or(Verdict::NoData)
    }

    /// Evaluate the claim on the tables of `evidence`.
    pub fn evaluate(&self, evidence: &Evidence) -> Result<ClaimOutcome> {
        let claim = self.resolved(evidence.profile.as_ref())?;
        let schema = results::schema(&claim.table)?;
        let rows = match evidence.tables.rows(schema) {
            Some(rows) if evidence.present.contains(&schema.name) => rows,
            _ => return Ok(ClaimOutcome::no_data(format!("no {} table", schema.name))),
        };
        let cells = evidence.observed(rows, schema.position(&claim.value)?);
        let scoped: Vec<&Observed> = cells.iter().filter(|c| filter_matches(c.row, &claim.where_)).collect();
        let mut group_names: Vec<String> = Vec::new();
        if let Some(column) = &claim.for_each {
            for c in &scoped {
                let name = cell_of(c.row, column).to_string();
                let in_a_side =
                    filter_matches(c.row, &claim.lhs) || claim.rhs.as_ref().is_some_and(|r| filter_matches(c.row, r));
                if in_a_side && !group_names.contains(&name) {
                    group_names.push(name);
                }
            }
        } else {
            group_names.push(ONE_GROUP.into());
        }
        let groups: Vec<GroupOutcome> = group_names
            .into_iter()
            .map(|name| {
                let members: Vec<&Observed> = match &claim.for_each {
                    Some(column) => {
                        scoped.iter().copied().filter(|c| cell_of(c.row, column).to_string() == name).collect()
                    }
                    None => scoped.clone(),
                };
                claim.evaluate_group(name, &members, schema)
            })
            .collect();
        let verdict = self.verdict_of(&groups);
        let note = (groups.is_empty()).then(|| "no observation matches the claim's filters".to_owned());
        Ok(ClaimOutcome { verdict, groups, note })
    }

    fn evaluate_group(&self, group: String, members: &[&Observed], schema: &Schema) -> GroupOutcome {
        let keys = Keyed::new(members, schema);
        let seeds = keys.seeds();
        let point = |value: &dyn Fn(&Observed) -> f64| self.statistic(&keys, value);
        let Some(estimate) = point(&|c: &Observed| c.value) else {
            return GroupOutcome::no_data(group);
        };
        let replicates: Vec<f64> =
            (0..REPLICATES).filter_map(|b| point(&|c: &Observed| c.replicate(b))).map(|e| e.at.0).collect();
        let interval = stats::percentile_interval(&replicates).unwrap_or(estimate.at);
        let per_seed: Vec<f64> = seeds
            .iter()
            .filter_map(|&seed| point(&|c: &Observed| if c.seed == seed { c.value } else { f64::NAN }))
            .map(|s| s.at.0)
            .filter(|v| v.is_finite())
            .collect();
        let seed_sd = if per_seed.len() > 1 { stats::mean_and_sd(&per_seed).1 } else { None };
        GroupOutcome {
            group,
            lhs: estimate.lhs,
            rhs: estimate.rhs,
            estimate: estimate.at.0,
            interval,
            seeds: seeds.len(),
            seed_sd,
            verdict: self.judge(interval),
        }
    }

    /// The claim's statistic with every cell valued by `value`: for `peak_within` the `over` value at the peak of
    /// lhs, otherwise lhs - rhs. `None` when a side has no observation.
    fn statistic(&self, keys: &Keyed, value: &dyn Fn(&Observed) -> f64) -> Option<Estimate> {
        if self.relation == Relation::PeakWithin {
            let over = self.over.as_deref().unwrap_or_default();
            let peak = keys
                .matching(&self.lhs)
                .filter_map(|k| Some((keys.value(k, value)?, cell_of(k[0].row, over).number()?)))
                .max_by(|a, b| a.0.total_cmp(&b.0))?;
            return Some(Estimate { lhs: Some(peak.0), rhs: None, at: (peak.1, peak.1) });
        }
        let lhs = self.side(keys, &self.lhs, value)?;
        let rhs = match &self.rhs {
            Some(side) => self.side(keys, side, value)?,
            None => self.rhs_value?,
        };
        Some(Estimate { lhs: Some(lhs), rhs: Some(rhs), at: (lhs - rhs, lhs - rhs) })
    }

    /// The mean of the value over the keys matching `side` (with the contrast applied).
    fn side(&self, keys: &Keyed, side: &Filter, value: &dyn Fn(&Observed) -> f64) -> Option<f64> {
        let mean = |extra: Option<(&str, &toml::Value)>| -> Option<f64> {
            let values: Vec<f64> = keys
                .matching(side)
                .filter(|k| extra.is_none_or(|(c, v)| accepts(&cell_of(k[0].row, c), v)))
                .filter_map(|k| keys.value(k, value))
                .collect();
            (!values.is_empty()).then(|| values.iter().sum::<f64>() / values.len() as f64)
        };
        match &self.contrast {
            Some(c) => Some(mean(Some((&c.column, &c.a)))? - mean(Some((&c.column, &c.b)))?),
            None => mean(None),
        }
    }
}

fn check_filter_value(schema: &Schema, column: &str, value: &toml::Value) -> Result<()> {
    match (column, value) {
        ("epoch", toml::Value::String(s)) if EpochSymbol::parse(s).is_none() => {
            let names: Vec<&str> = EpochSymbol::NAMES.iter().map(|(_, n)| *n).collect();
            bail!("unknown epoch '{s}'; give a number or one of {}", names.join(", "))
        }
        ("epoch", toml::Value::String(_)) => Ok(()),
        ("test_sigma", toml::Value::String(s)) if s != BLURRY_SIGMA => {
            bail!("unknown sigma '{s}'; give a number or {BLURRY_SIGMA}")
        }
        ("test_sigma", toml::Value::String(_)) => Ok(()),
        _ => schema.check_cell(column, &value_text(value)),
    }
}

fn resolve_symbol(column: &str, value: &toml::Value, profile: Option<&Profile>) -> Result<toml::Value> {
    let toml::Value::String(text) = value else { return Ok(value.clone()) };
    let resolved = match column {
        "epoch" => EpochSymbol::parse(text).map(|s| profile.map(|p| toml::Value::Integer(i64::from(s.resolve(p))))),
        "test_sigma" if text == BLURRY_SIGMA => Some(profile.map(|p| toml::Value::Float(p.blurry_sigma()))),
        _ => None,
    };
    match resolved {
        None => Ok(value.clone()),
        Some(Some(v)) => Ok(v),
        Some(None) => bail!("'{text}' needs the run's protocol, and the tables name no profile this artifact knows"),
    }
}

/// A point estimate: the two sides and the statistic (for a peak, its location twice).
#[derive(Clone, Copy, Debug)]
struct Estimate {
    lhs: Option<f64>,
    rhs: Option<f64>,
    at: (f64, f64),
}

/// What a claim found in one group (one dataset, or all observations).
#[derive(Clone, Debug)]
pub struct GroupOutcome {
    pub group: String,
    pub lhs: Option<f64>,
    pub rhs: Option<f64>,
    /// lhs - rhs, or for `peak_within` the `over` value at the peak.
    pub estimate: f64,
    /// Its 95 % interval.
    pub interval: (f64, f64),
    pub seeds: usize,
    /// The standard deviation of the statistic across seeds (two or more seeds).
    pub seed_sd: Option<f64>,
    pub verdict: Verdict,
}

impl GroupOutcome {
    fn no_data(group: String) -> GroupOutcome {
        GroupOutcome {
            group,
            lhs: None,
            rhs: None,
            estimate: f64::NAN,
            interval: (f64::NAN, f64::NAN),
            seeds: 0,
            seed_sd: None,
            verdict: Verdict::NoData,
        }
    }
}

/// What an interval shows of a claim (the rules are in the module doc), ordered from the most to the least
/// favourable: a claim judged per group takes the largest of its groups'.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Verdict {
    /// In the original's direction and beyond the claim's margin (a bound: wholly inside it).
    Holds,
    /// In the original's direction, but short of the margin.
    Weaker,
    /// The interval contains the margin: the claimed size and a smaller effect are both compatible with it.
    Inconclusive,
    /// The interval includes no effect and does not reach the margin (a bound: it crosses the bound).
    NotShown,
    /// The interval lies wholly in the opposite direction (a bound: wholly outside it).
    Reversed,
    /// The tables lack the observations the claim needs.
    NoData,
}

impl Verdict {
    /// Every verdict, in order.
    pub const ALL: [Verdict; 6] =
        [Verdict::Holds, Verdict::Weaker, Verdict::Inconclusive, Verdict::NotShown, Verdict::Reversed, Verdict::NoData];

    pub(crate) fn name(self) -> &'static str {
        match self {
            Verdict::Holds => "holds",
            Verdict::Weaker => "weaker",
            Verdict::Inconclusive => "inconclusive",
            Verdict::NotShown => "not shown",
            Verdict::Reversed => "reversed",
            Verdict::NoData => "no data",
        }
    }

    /// How a count of findings with this verdict reads, for one and for several: `1 holds`, `2 are weaker`.
    pub(crate) fn counted(self, n: usize) -> String {
        let (one, many) = match self {
            Verdict::Holds => ("holds", "hold"),
            Verdict::Weaker => ("is weaker", "are weaker"),
            Verdict::Inconclusive => ("is inconclusive", "are inconclusive"),
            Verdict::NotShown => ("is not shown", "are not shown"),
            Verdict::Reversed => ("is reversed", "are reversed"),
            Verdict::NoData => ("has no data", "have no data"),
        };
        crate::verify::counted(n, one, many)
    }

    /// A directional claim's verdict on its interval `[l, h]` turned to face the claim's direction, against margin
    /// `m`.
    fn directional((l, h): (f64, f64), m: f64) -> Verdict {
        if l > m {
            Verdict::Holds
        } else if h < 0.0 {
            Verdict::Reversed
        } else if m > 0.0 && l <= m && m < h {
            Verdict::Inconclusive
        } else if l > 0.0 {
            Verdict::Weaker
        } else {
            Verdict::NotShown
        }
    }

    /// A bound claim's verdict, from whether its interval lies wholly inside the bound or wholly outside.
    fn bound(inside: bool, outside: bool) -> Verdict {
        match (inside, outside) {
            (true, _) => Verdict::Holds,
            (_, true) => Verdict::Reversed,
            _ => Verdict::NotShown,
        }
    }
}

#[derive(Clone, Debug)]
pub struct ClaimOutcome {
    pub verdict: Verdict,
    pub groups: Vec<GroupOutcome>,
    /// Why there is no data, where there is none.
    pub note: Option<String>,
}

impl ClaimOutcome {
    fn no_data(note: String) -> ClaimOutcome {
        ClaimOutcome { verdict: Verdict::NoData, groups: Vec::new(), note: Some(note) }
    }
}

/// How a cell's value varies across bootstrap replicates.
#[derive(Clone, Debug)]
enum Noise {
    /// Known exactly (or with no stated uncertainty).
    Exact,
    /// An accuracy with its per-image correctness: recomputed on each replicate's resample of the test images.
    Images { resamples: Rc<Resamples>, correct: Rc<Vec<bool>> },
    /// An accuracy (%) of `n` test images with no per-image record: binomial sampling, drawn from its normal
    /// approximation (the splits hold a thousand images and more).
    Binomial { n: u64, cell: u64 },
    /// A mean with standard error `se`: a normal draw per replicate.
    Normal { se: f64, cell: u64 },
    /// A ratio of two accuracies whose replicates move it by their own ratio.
    Ratio(Box<(Noise, f64, Noise, f64)>),
}

impl Noise {
    /// The [`REPLICATES`] bootstrap values of a cell whose point value is `value`.
    fn replicates(&self, value: f64) -> Vec<f64> {
        let normals = |se: f64, cell: u64| {
            let mut rng = stats::stream(BOOTSTRAP_SEED, cell);
            (0..REPLICATES).map(|_| value + se * stats::normal(&mut rng)).collect::<Vec<f64>>()
        };
        match self {
            Noise::Exact => vec![value; REPLICATES],
            Noise::Images { resamples, correct } => {
                (0..REPLICATES).map(|b| resamples.accuracy_pct(b, correct)).collect()
            }
            Noise::Binomial { n, cell } => {
                let p = (value / 100.0).clamp(0.0, 1.0);
                let se = 100.0 * (p * (1.0 - p) / *n as f64).sqrt();
                normals(se, *cell).into_iter().map(|v| v.clamp(0.0, 100.0)).collect()
            }
            Noise::Normal { se, cell } => normals(*se, *cell),
            Noise::Ratio(parts) => {
                let (num, num_value, den, den_value) = parts.as_ref();
                let (nums, dens) = (num.replicates(*num_value), den.replicates(*den_value));
                nums.iter().zip(&dens).map(|(n, d)| value * (n / num_value) * (den_value / d)).collect()
            }
        }
    }
}

/// One observation of one seed: a row, its value column and how that value varies.
struct Observed<'e> {
    row: &'e dyn Row,
    seed: i64,
    value: f64,
    noise: Noise,
    /// The bootstrap values, computed when a claim first needs them.
    replicates: OnceCell<Vec<f64>>,
}

impl Observed<'_> {
    fn replicate(&self, b: usize) -> f64 {
        self.replicates.get_or_init(|| self.noise.replicates(self.value))[b]
    }
}

/// The observations of a group by key (the schema's key columns), each key with its seeds' observations.
struct Keyed<'a, 'e> {
    keys: Vec<Vec<&'a Observed<'e>>>,
}

impl<'a, 'e> Keyed<'a, 'e> {
    fn new(cells: &[&'a Observed<'e>], schema: &Schema) -> Keyed<'a, 'e> {
        let key_columns = schema.key_positions();
        let mut keys: Vec<(Vec<String>, Vec<&Observed>)> = Vec::new();
        for cell in cells {
            let key: Vec<String> = key_columns.iter().map(|c| cell.row.cell(*c).to_string()).collect();
            match keys.iter_mut().find(|(k, _)| *k == key) {
                Some((_, seeds)) => seeds.push(cell),
                None => keys.push((key, vec![cell])),
            }
        }
        Keyed { keys: keys.into_iter().map(|(_, cells)| cells).collect() }
    }

    fn seeds(&self) -> Vec<i64> {
        let mut seeds: Vec<i64> = self.keys.iter().flatten().map(|c| c.seed).collect();
        seeds.sort();
        seeds.dedup();
        seeds
    }

    fn matching<'k>(&'k self, filter: &'k Filter) -> impl Iterator<Item = &'k Vec<&'a Observed<'e>>> + 'k {
        self.keys.iter().filter(move |k| filter_matches(k[0].row, filter))
    }

    /// The mean over seeds of `value` of a key's observations (those valued NaN left out); `None` if none is left.
    fn value(&self, cells: &[&Observed], value: &dyn Fn(&Observed) -> f64) -> Option<f64> {
        let values: Vec<f64> = cells.iter().map(|c| value(c)).filter(|v| v.is_finite()).collect();
        (!values.is_empty()).then(|| values.iter().sum::<f64>() / values.len() as f64)
    }
}

/// A model's evaluation at one test sigma: (dataset, regime, seed, epoch, sigma's bits).
type PredictionKey = (DatasetId, Regime, i64, u32, u64);

/// Everything the claims read from one directory of tables (a run's `results/` or `expected/<profile>/`): the rows
/// of each table they read (one per observation and seed, the most trusted source), the profile that made them (to
/// resolve the protocol's symbols and the evaluated test-set sizes) and the per-image correctness behind the
/// accuracies.
pub struct Evidence {
    pub profile: Option<Profile>,
    tables: Tables,
    /// The tables the directory holds (a table it lacks is "no data", an empty one "no observation").
    present: Vec<&'static str>,
    predictions: BTreeMap<PredictionKey, Rc<Vec<bool>>>,
    /// Bootstrap resamples of each dataset's test split.
    resamples: BTreeMap<DatasetId, Rc<Resamples>>,
}

impl Evidence {
    /// What `claims` read in `dir`, with the profile that made its tables ([`ResultsDir::profile`]).
    pub fn read(dir: &ResultsDir, claims: &Claims) -> Result<Evidence> {
        let profile = dir.profile().ok().and_then(|p| p.protocol);
        Evidence::read_with(dir, claims, profile)
    }

    /// [`Evidence::read`] with the profile given (`None`: unknown, and an accuracy without per-image records is taken
    /// as exact).
    pub fn read_with(dir: &ResultsDir, claims: &Claims, profile: Option<Profile>) -> Result<Evidence> {
        let mut tables = dir.tables(|s| claims.reads(s))?;
        let present = results::SCHEMAS.into_iter().filter(|s| claims.reads(s) && dir.has(s)).map(|s| s.name).collect();
        let mut predictions = BTreeMap::new();
        let mut resamples = BTreeMap::new();
        let path = TestPredictions::SCHEMA.csv_path(&dir.tables_dir);
        for row in std::mem::take(&mut tables.test_predictions) {
            let n = row.images as usize;
            let bits = stats::hex_to_bits(&row.correct, n)
                .with_context(|| format!("{}: a `correct` cell does not hold {n} images", path.display()))?;
            let dataset = row.run.dataset;
            resamples.entry(dataset).or_insert_with(|| {
                let seed = crate::seeds::derive(BOOTSTRAP_SEED, &[dataset.name(), "test images"]) as u64;
                Rc::new(Resamples::new(n, REPLICATES, seed))
            });
            let key = (dataset, row.run.regime, row.run.seed as i64, row.epoch, row.test_sigma.to_bits());
            predictions.insert(key, Rc::new(bits));
        }
        Ok(Evidence { profile, tables: tables.reduced(), present, predictions, resamples })
    }

    /// The observations of a table's rows (those with a number in column `value`), each with how it varies.
    fn observed<'e>(&self, rows: TableRows<'e>, value: usize) -> Vec<Observed<'e>> {
        let Some(schema) = rows.rows().first().map(|r| r.schema()) else { return Vec::new() };
        let seed = schema.position("seed").ok();
        rows.rows()
            .into_iter()
            .enumerate()
            .filter_map(|(i, row)| {
                let cell_id = crate::seeds::derive(i as u64, &[schema.name]) as u64;
                Some(Observed {
                    row,
                    seed: seed.and_then(|c| row.cell(c).number()).map_or(0, |s| s as i64),
                    value: row.cell(value).number()?,
                    noise: self.noise(rows, i, cell_id).unwrap_or(Noise::Exact),
                    replicates: OnceCell::new(),
                })
            })
            .collect()
    }

    /// How the value of row `i` of `rows` varies, where the table says.
    fn noise(&self, rows: TableRows, i: usize, cell: u64) -> Option<Noise> {
        match rows {
            TableRows::AccuracyVsBlur(rows) => {
                let r = &rows[i];
                let epoch = self.profile.as_ref().map(|p| p.epochs)?;
                Some(self.accuracy_noise(r.run.dataset, r.run.regime, r.run.seed as i64, epoch, r.test_sigma, cell))
            }
            TableRows::AccuracyByStage(rows) => {
                let r = &rows[i];
                Some(self.accuracy_noise(r.run.dataset, r.run.regime, r.run.seed as i64, r.epoch, r.test_sigma, cell))
            }
            TableRows::AccuracyRatioByStage(rows) => {
                let r = &rows[i];
                let (dataset, seed, epoch, sigma) = (r.dataset, r.seed, r.epoch, r.test_sigma);
                let accuracy = |regime: Regime| {
                    self.tables
                        .accuracy_by_stage
                        .iter()
                        .find(|s| {
                            (s.run.dataset, s.run.regime, s.run.seed, s.epoch, s.test_sigma)
                                == (dataset, regime, seed, epoch, sigma)
                        })
                        .map(|s| s.accuracy_pct)
                        .filter(|a| *a > 0.0)
                };
                let (b2c, clear) = (accuracy(Regime::BlurryToClear)?, accuracy(Regime::Clear)?);
                let noise = |regime, salt| self.accuracy_noise(dataset, regime, seed as i64, epoch, sigma, cell ^ salt);
                Some(Noise::Ratio(Box::new((noise(Regime::BlurryToClear, 1), b2c, noise(Regime::Clear, 2), clear))))
            }
            TableRows::RfSize(rows) => {
                let r = &rows[i];
                let filters = r.layer.conv()?.out_channels as f64;
                match r.measure {
                    RfMeasure::GaborSigmaXMeanValid => self.gabor_noise(r, cell),
                    RfMeasure::MomentSizeMean => {
                        let sd = rows
                            .iter()
                            .find(|s| {
                                s.measure == RfMeasure::MomentSizeStd
                                    && (&s.run, s.epoch, s.layer) == (&r.run, r.epoch, r.layer)
                            })
                            .map(|s| s.value)?;
                        Some(Noise::Normal { se: sd / filters.sqrt(), cell })
                    }
                    _ => None,
                }
            }
            TableRows::SpatialFrequency(rows) => {
                let r = &rows[i];
                let filters = r.layer.conv()?.out_channels as f64;
                if r.statistic != SfStatistic::MeanPeakSf {
                    return None;
                }
                let sd = rows
                    .iter()
                    .find(|s| {
                        s.statistic == SfStatistic::SdPeakSf && (&s.run, s.epoch, s.layer) == (&r.run, r.epoch, r.layer)
                    })
                    .map(|s| s.value)?;
                Some(Noise::Normal { se: sd / filters.sqrt(), cell })
            }
            _ => None,
        }
    }

    fn accuracy_noise(
        &self,
        dataset: DatasetId,
        regime: Regime,
        seed: i64,
        epoch: u32,
        sigma: f64,
        cell: u64,
    ) -> Noise {
        let resamples = self.resamples.get(&dataset);
        match (self.predictions.get(&(dataset, regime, seed, epoch, sigma.to_bits())), resamples) {
            (Some(correct), Some(resamples)) if correct.len() == resamples.n => {
                Noise::Images { resamples: resamples.clone(), correct: correct.clone() }
            }
            _ => match self.profile.as_ref().and_then(|p| p.evaluated_test_images(dataset)) {
                Some(n) if n > 0 => Noise::Binomial { n, cell },
                _ => Noise::Exact,
            },
        }
    }

    /// The mean Gabor sigma_x of a checkpoint varies with the valid fits' spread (from `rf_gabor_filters`).
    fn gabor_noise(&self, r: &RfSize, cell: u64) -> Option<Noise> {
        let sigmas: Vec<f64> = self
            .tables
            .rf_gabor_filters
            .iter()
            .filter(|s| s.run == r.run && r.epoch == Some(s.epoch) && s.valid == 1)
            .filter_map(|s| s.sigma_x)
            .collect();
        let (_, sd) = stats::mean_and_sd(&sigmas);
        Some(Noise::Normal { se: sd? / (sigmas.len() as f64).sqrt(), cell })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_claim_naming_something_unknown_fails_to_load_with_that_name() {
        let claims = Claims::paper().unwrap();
        assert!(claims.claim.len() >= 10);
        for (from, to, named) in [
            ("moment_size_mean", "moment_size_average", "unknown receptive-field measure 'moment_size_average'"),
            ("\"toybox_instance\"", "\"toybox_instances\"", "unknown dataset 'toybox_instances'"),
            ("table = \"rf_size\"", "table = \"rf_sizes\"", "unknown table 'rf_sizes'"),
            ("layer = [\"features.0\"]", "layer = [\"conv1\"]", "unknown layer 'conv1'"),
            ("\"end_of_training\"", "\"the_end\"", "unknown epoch 'the_end'"),
            ("undecided = { in12", "undecided = { in13", "unknown dataset 'in13'"),
        ] {
            let text = CLAIMS_TOML.replacen(from, to, 1);
            assert_ne!(text, CLAIMS_TOML, "{from} is not in claims.toml");
            let err = format!("{:#}", Claims::parse(&text).unwrap_err());
            assert!(err.contains(named), "{err}");
        }
    }

    #[test]
    fn symbols_name_the_protocols_epochs_and_sigma_in_every_profile() {
        let resolve = |profile: &str| {
            let p = Profile::load(profile).unwrap();
            let epochs = EpochSymbol::NAMES.map(|(s, _)| s.resolve(&p));
            (epochs, p.blurry_sigma())
        };
        assert_eq!(resolve("paper"), ([20, 100, 10], 8.0));
        assert_eq!(resolve("paper-uniform"), ([20, 100, 10], 8.0));
        let (mini, sigma) = resolve("mini");
        assert_eq!(sigma, 8.0);
        assert!(mini[0] < mini[1] && mini[2] <= mini[0], "{mini:?}");
    }

    /// One case per verdict, on constructed intervals: a directional claim by where its interval lies against no
    /// effect and the margin, in either direction, and a bound claim against its bound.
    #[test]
    fn intervals_get_each_verdict() {
        use Verdict::*;
        let mut claim = Claims::paper().unwrap().claim.remove(0);
        claim.relation = Relation::Greater;
        claim.margin = 10.0;
        for (interval, verdict) in [
            ((11.0, 20.0), Holds),
            ((2.2, 7.2), Weaker),
            ((5.0, 15.0), Inconclusive),
            ((-1.0, 30.0), Inconclusive),
            ((-1.0, 3.0), NotShown),
            ((-5.0, -1.0), Reversed),
            ((f64::NAN, f64::NAN), NoData),
        ] {
            assert_eq!(claim.judge(interval), verdict, "greater than 10: {interval:?}");
            // The same effect in the other direction, judged by a claim of that direction.
            claim.relation = Relation::Less;
            assert_eq!(claim.judge((-interval.1, -interval.0)), verdict, "less than -10: {interval:?}");
            claim.relation = Relation::Greater;
        }
        // On the edges: the margin itself is not beyond it, and an interval ending at 0 includes no effect.
        assert_eq!(claim.judge((10.0, 10.0)), Weaker);
        assert_eq!(claim.judge((-3.0, 0.0)), NotShown);
        // With no margin the claim is its direction alone: across 0 it is not shown, never inconclusive.
        claim.margin = 0.0;
        assert_eq!(claim.judge((-1.0, 30.0)), NotShown);
        assert_eq!(claim.judge((0.5, 3.0)), Holds);
        assert_eq!(claim.judge((-3.0, -0.5)), Reversed);

        claim.margin = 10.0;
        claim.relation = Relation::AtMost;
        assert_eq!(claim.judge((2.0, 10.0)), Holds);
        assert_eq!(claim.judge((8.0, 12.0)), NotShown);
        assert_eq!(claim.judge((10.5, 11.0)), Reversed);
        claim.relation = Relation::Within;
        assert_eq!(claim.judge((-9.0, 9.0)), Holds);
        assert_eq!(claim.judge((-11.0, 9.0)), NotShown);
        assert_eq!(claim.judge((10.5, 12.0)), Reversed);
        assert_eq!(claim.judge((-12.0, -10.5)), Reversed);
        claim.relation = Relation::PeakWithin;
        claim.range = Some([6.0, 10.0]);
        assert_eq!(claim.judge((7.0, 9.0)), Holds);
        assert_eq!(claim.judge((5.0, 9.0)), NotShown);
        assert_eq!(claim.judge((0.0, 2.0)), Reversed);
        assert_eq!(claim.judge((f64::NAN, f64::NAN)), NoData);
    }

    /// A claim judged per group takes its least favourable group's verdict, leaving out the groups the original
    /// leaves undecided; a group with no data leaves it at no data unless another group is reversed; with no group
    /// it has no data.
    #[test]
    fn a_claim_takes_its_least_favourable_decided_group() {
        let mut claim = Claims::paper().unwrap().claim.remove(0);
        let group = |name: &str, verdict| GroupOutcome { verdict, ..GroupOutcome::no_data(name.to_owned()) };
        let groups = [group("faces", Verdict::Holds), group("in12", Verdict::Weaker)];
        assert_eq!(claim.verdict_of(&groups), Verdict::Weaker);
        claim.undecided.insert("in12".into(), "too few test images".into());
        assert_eq!(claim.verdict_of(&groups), Verdict::Holds);
        let groups = [group("faces", Verdict::NotShown), group("in12", Verdict::Reversed)];
        assert_eq!(claim.verdict_of(&groups), Verdict::NotShown);
        assert_eq!(claim.verdict_of(&[group("in12", Verdict::Reversed)]), Verdict::Reversed);
        assert_eq!(
            claim.verdict_of(&[group("faces", Verdict::Holds), group("in100", Verdict::NoData)]),
            Verdict::NoData
        );
        let missing_and_reversed = [
            group("faces", Verdict::Inconclusive),
            group("toybox_instance", Verdict::Reversed),
            group("in100", Verdict::NoData),
        ];
        assert_eq!(claim.verdict_of(&missing_and_reversed), Verdict::Reversed);
        // A reversed group the original leaves undecided does not count, so it cannot decide for a missing one.
        let missing_and_undecided = [group("in12", Verdict::Reversed), group("in100", Verdict::NoData)];
        assert_eq!(claim.verdict_of(&missing_and_undecided), Verdict::NoData);
        assert_eq!(
            claim.verdict_of(&[group("faces", Verdict::NotShown), group("in100", Verdict::NoData)]),
            Verdict::NoData
        );
        assert_eq!(claim.verdict_of(&[group("in100", Verdict::NoData)]), Verdict::NoData);
        assert_eq!(claim.verdict_of(&[]), Verdict::NoData);
        assert!(Verdict::ALL.windows(2).all(|w| w[0] < w[1]));
    }
}
