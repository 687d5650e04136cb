//! The paper's findings as checkable statements over the results tables (`paper/claims.toml`).
//!
//! A claim compares two means of one table's value column: the left side (`lhs`) and either a right side (`rhs`)
//! or a constant (`rhs_value`), each the mean over the observations that match the shared `where` filter and the
//! side's own filter. With `contrast`, a side's statistic is instead the difference of two such means (e.g.
//! blurry-to-clear minus clear accuracy). With `for_each`, the claim must hold for every value of that column
//! separately (every dataset, say). The relations:
//! - `greater`: lhs - rhs > margin;   `less`: lhs - rhs < -margin;
//! - `at_most`: lhs - rhs <= margin;  `within`: |lhs - rhs| <= margin;
//! - `peak_within`: the `over` value at which lhs is largest lies in `range` (inclusive).
//!
//! Observations are those `verify` compares: one per key, the most trusted source, averaged over seeds.
use std::collections::BTreeMap;
use std::path::Path;

use anyhow::{bail, Context, Result};
use serde::Deserialize;

use crate::results::{self, cell_text};
use crate::verify::{observations, Observation};

/// The claims, embedded at build time.
pub const CLAIMS_TOML: &str = include_str!("../paper/claims.toml");

/// Column -> accepted cell values (numbers are compared as the tables print them: `4`, `0.5`).
pub type Filter = BTreeMap<String, Vec<toml::Value>>;

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
}

/// What a claim found in one group (one dataset, or all observations).
#[derive(Clone, Debug)]
pub struct GroupOutcome {
    pub group: String,
    pub lhs: Option<f64>,
    pub rhs: Option<f64>,
    /// For `peak_within`, the `over` value at the peak.
    pub peak_at: Option<f64>,
    pub holds: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    Holds,
    Fails,
    /// The tables lack the observations the claim needs.
    NoData,
}

impl Verdict {
    pub fn name(self) -> &'static str {
        match self {
            Verdict::Holds => "holds",
            Verdict::Fails => "fails",
            Verdict::NoData => "no data",
        }
    }
}

#[derive(Clone, Debug)]
pub struct ClaimOutcome {
    pub verdict: Verdict,
    pub groups: Vec<GroupOutcome>,
}

fn text_of(value: &toml::Value) -> String {
    match value {
        toml::Value::String(s) => s.clone(),
        toml::Value::Integer(i) => i.to_string(),
        toml::Value::Float(f) => cell_text(&serde_json::json!(f)),
        other => other.to_string(),
    }
}

/// Whether a record's cells are among the accepted values of every column of `filter`.
pub fn filter_matches(record: &results::Record, filter: &Filter) -> bool {
    filter.iter().all(|(column, accepted)| {
        let cell = record.get(column).map(cell_text).unwrap_or_default();
        accepted.iter().any(|v| text_of(v) == cell)
    })
}

fn matches(observation: &Observation, filter: &Filter) -> bool {
    filter_matches(&observation.record, filter)
}

/// A filter value as the tables print it.
pub fn value_text(value: &toml::Value) -> String {
    text_of(value)
}

impl Claim {
    /// Everything the claim names exists: its table, its columns, and every value it filters on (checked against
    /// the column's vocabulary, so that a misspelt measure or dataset fails here rather than matching nothing).
    fn check(&self) -> Result<()> {
        let schema = results::schema(&self.table)?;
        if schema.column(&self.value).is_none() {
            bail!("table {} has no column '{}'", self.table, self.value);
        }
        let filters = [Some(&self.where_), Some(&self.lhs), self.rhs.as_ref()];
        for (column, values) in filters.into_iter().flatten().flatten() {
            for value in values {
                schema.check_cell(column, &text_of(value))?;
            }
        }
        if let Some(c) = &self.contrast {
            schema.check_cell(&c.column, &text_of(&c.a))?;
            schema.check_cell(&c.column, &text_of(&c.b))?;
        }
        for column in self.for_each.iter().chain(&self.over) {
            if schema.column(column).is_none() {
                bail!("table {} has no column '{column}'", self.table);
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

    /// The mean of the value column over the observations matching `filters`, with the contrast applied.
    fn statistic(&self, observations: &[&Observation], side: &Filter) -> Option<f64> {
        let mean = |extra: Option<(&str, &toml::Value)>| -> Option<f64> {
            let values: Vec<f64> = observations
                .iter()
                .filter(|o| matches(o, side))
                .filter(|o| extra.is_none_or(|(c, v)| o.record.get(c).map(cell_text) == Some(text_of(v))))
                .filter_map(|o| o.values.get(self.value.as_str()).copied())
                .collect();
            (!values.is_empty()).then(|| values.iter().sum::<f64>() / values.len() as f64)
        };
        match &self.contrast {
            Some(c) => Some(mean(Some((&c.column, &c.a)))? - mean(Some((&c.column, &c.b)))?),
            None => mean(None),
        }
    }

    fn judge(&self, lhs: f64, rhs: f64) -> bool {
        let d = lhs - rhs;
        match self.relation {
            Relation::Greater => d > self.margin,
            Relation::Less => d < -self.margin,
            Relation::AtMost => d <= self.margin,
            Relation::Within => d.abs() <= self.margin,
            Relation::PeakWithin => false,
        }
    }

    /// Evaluate the claim on the tables in `dir` (a results directory or `expected/<profile>/`).
    pub fn evaluate(&self, dir: &Path) -> Result<ClaimOutcome> {
        let schema = results::schema(&self.table)?;
        let path = schema.csv_path(dir);
        if !path.exists() {
            return Ok(ClaimOutcome { verdict: Verdict::NoData, groups: Vec::new() });
        }
        let all = observations(schema, &results::read_records(&path, schema, &[])?, None);
        let scoped: Vec<&Observation> = all.iter().filter(|o| matches(o, &self.where_)).collect();
        let mut group_names: Vec<String> = Vec::new();
        match &self.for_each {
            Some(column) => {
                for o in &scoped {
                    let name = o.record.get(column).map(cell_text).unwrap_or_default();
                    let in_a_side = matches(o, &self.lhs) || self.rhs.as_ref().is_some_and(|r| matches(o, r));
                    if in_a_side && !group_names.contains(&name) {
                        group_names.push(name);
                    }
                }
            }
            None => group_names.push("all".into()),
        }
        let mut groups = Vec::new();
        for name in group_names {
            let members: Vec<&Observation> = match &self.for_each {
                Some(column) => scoped
                    .iter()
                    .copied()
                    .filter(|o| o.record.get(column).map(cell_text).as_deref() == Some(name.as_str()))
                    .collect(),
                None => scoped.clone(),
            };
            groups.push(self.evaluate_group(name, &members));
        }
        let verdict = if groups.is_empty()
            || groups.iter().any(|g| g.lhs.is_none() || (g.rhs.is_none() && g.peak_at.is_none()))
        {
            Verdict::NoData
        } else if groups.iter().all(|g| g.holds) {
            Verdict::Holds
        } else {
            Verdict::Fails
        };
        Ok(ClaimOutcome { verdict, groups })
    }

    fn evaluate_group(&self, group: String, members: &[&Observation]) -> GroupOutcome {
        if self.relation == Relation::PeakWithin {
            let over = self.over.as_deref().unwrap_or_default();
            let peak = members
                .iter()
                .filter(|o| matches(o, &self.lhs))
                .filter_map(|o| Some((o.values.get(self.value.as_str()).copied()?, o.record.get(over)?.as_f64()?)))
                .max_by(|a, b| a.0.total_cmp(&b.0));
            let [lo, hi] = self.range.unwrap_or([f64::NAN; 2]);
            return GroupOutcome {
                group,
                lhs: peak.map(|p| p.0),
                rhs: None,
                peak_at: peak.map(|p| p.1),
                holds: peak.is_some_and(|p| (lo..=hi).contains(&p.1)),
            };
        }
        let lhs = self.statistic(members, &self.lhs);
        let rhs = match &self.rhs {
            Some(side) => self.statistic(members, side),
            None => self.rhs_value,
        };
        let holds = matches!((lhs, rhs), (Some(l), Some(r)) if self.judge(l, r));
        GroupOutcome { group, lhs, rhs, peak_at: None, holds }
    }

    /// The relation in words, with the margin, e.g. `lhs - rhs > 10`.
    pub fn relation_text(&self) -> String {
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
        ] {
            let text = CLAIMS_TOML.replacen(from, to, 1);
            assert_ne!(text, CLAIMS_TOML, "{from} is not in claims.toml");
            let err = format!("{:#}", Claims::parse(&text).unwrap_err());
            assert!(err.contains(named), "{err}");
        }
    }
}
