//! `expected/<profile>/models.toml`: which of the original's models each expected row was measured on, where it is
//! not the model that the profile's run of the row's dataset and regime reproduces, and which run of each profile
//! trains it, or why none can.
//!
//! The original trained some (dataset, regime) pairs twice and its figures show both (reference README, irregularity
//! 1): the IN-12 blurry stage line is `IN12_full_blur_2`, the robustness and RF figures' is `IN12_full_blur`; the
//! Toybox category-level blurry robustness and RF numbers come from `toybox12_full_blur`, which has no training
//! record. `verify` compares each expected row with the run that trains its model and counts the rest as not
//! comparable, with the reason given here, so that no row is left out silently.
use std::collections::BTreeMap;
use std::path::Path;

use anyhow::{bail, Context, Result};
use serde::Deserialize;
use serde_json::Value;

use crate::results::{self, cell_text, Record, Schema};

/// The file beside the expected tables that assigns rows to models.
pub(crate) const MODELS_FILE: &str = "models.toml";

/// Where a run's rows of a model are: the profile's run of the row's dataset and regime, or a variant's run
/// (`[variants.<name>]` of the profile; its rows in `results/variants/<name>/`).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) enum Target {
    Run,
    Variant(String),
}

impl Target {
    /// `run`, or `variant:<name>`, as `models.toml` writes them.
    fn parse(text: &str) -> Result<Target> {
        match text.split_once(':') {
            None if text == "run" => Ok(Target::Run),
            Some(("variant", name)) if !name.is_empty() => Ok(Target::Variant(name.to_owned())),
            _ => bail!("'{text}' names no run; write \"run\" (the profile's own run) or \"variant:<name>\""),
        }
    }

    /// The variant's name, `None` for the profile's own run.
    pub(crate) fn variant(&self) -> Option<&str> {
        match self {
            Target::Run => None,
            Target::Variant(name) => Some(name),
        }
    }
}

/// What to do with one expected row.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Assignment {
    /// Compare it with this run's rows.
    Compare(Target),
    /// Leave it out, for this reason.
    NotComparable(String),
}

/// Rows of one table, picked by their cells and source.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RowMatch {
    pub table: String,
    #[serde(default, rename = "where")]
    pub where_: BTreeMap<String, String>,
    /// Text the row's `source` must contain.
    pub source_contains: Option<String>,
}

impl RowMatch {
    fn matches(&self, schema: &Schema, record: &Record) -> bool {
        let source = record.get("source").and_then(Value::as_str).unwrap_or("");
        self.table == schema.name
            && self.source_contains.as_deref().is_none_or(|s| source.contains(s))
            && self.where_.iter().all(|(column, text)| record.get(column).map(cell_text).as_deref() == Some(text))
    }
}

/// One original model other than the one a profile's run of the same dataset and regime reproduces.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Model {
    /// The original's checkpoint directory name, e.g. `IN12_full_blur_2`.
    pub name: String,
    /// What it is and where the original shows it: for the reader of `models.toml` (no code reads it; the file must
    /// still say it).
    #[allow(dead_code)]
    pub what: String,
    /// The expected rows measured on it.
    pub rows: Vec<RowMatch>,
    /// Per profile, the run that trains it: `"run"` or `"variant:<name>"`. A profile not named cannot compare its
    /// rows.
    #[serde(default)]
    pub runs: BTreeMap<String, String>,
    /// Why no profile can train it (instead of `runs`).
    pub not_comparable: Option<String>,
}

/// The models of one expected directory; none when it has no `models.toml`.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Models {
    #[serde(default)]
    pub model: Vec<Model>,
}

impl Models {
    /// Read and check `expected_dir/models.toml`; an expected directory without one holds only rows of the models
    /// its profile's runs train.
    pub(crate) fn load(expected_dir: &Path) -> Result<Models> {
        let path = expected_dir.join(MODELS_FILE);
        if !path.exists() {
            return Ok(Models::default());
        }
        let text = std::fs::read_to_string(&path).with_context(|| format!("cannot read {}", path.display()))?;
        let models: Models = toml::from_str(&text).with_context(|| format!("cannot parse {}", path.display()))?;
        for model in &models.model {
            model.check().with_context(|| format!("{}: model {}", path.display(), model.name))?;
        }
        Ok(models)
    }

    /// What to do with `record` of `schema` when verifying a run of `profile`: compare it with the run that trains its
    /// model, or leave it out with the reason. A row no model claims belongs to the profile's own run.
    pub(crate) fn assign(&self, profile: &str, schema: &Schema, record: &Record) -> Assignment {
        let Some(model) = self.model.iter().find(|m| m.rows.iter().any(|r| r.matches(schema, record))) else {
            return Assignment::Compare(Target::Run);
        };
        if let Some(reason) = &model.not_comparable {
            return Assignment::NotComparable(format!("{}: {reason}", model.name));
        }
        match model.runs.get(profile).map(|t| Target::parse(t)) {
            Some(Ok(target)) => Assignment::Compare(target),
            // `check` parsed every target when the file was loaded.
            Some(Err(err)) => Assignment::NotComparable(format!("{}: {err:#}", model.name)),
            None => Assignment::NotComparable(format!(
                "{}: profile '{profile}' does not train this model (trained by: {})",
                model.name,
                model.runs.keys().cloned().collect::<Vec<_>>().join(", ")
            )),
        }
    }
}

impl Model {
    fn check(&self) -> Result<()> {
        if self.rows.is_empty() {
            bail!("it claims no rows (`rows = [{{ table = ..., where = {{ ... }} }}]`)");
        }
        for row in &self.rows {
            let schema = results::schema(&row.table)?;
            for (column, text) in &row.where_ {
                schema.check_cell(column, text)?;
            }
        }
        match (&self.not_comparable, self.runs.is_empty()) {
            (Some(_), false) => {
                bail!("it has both `runs` and `not_comparable`; a model is trained by a run or by none")
            }
            (None, true) => {
                bail!("it has neither `runs` (the run of each profile that trains it) nor `not_comparable`")
            }
            _ => {}
        }
        for target in self.runs.values() {
            Target::parse(target)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::results::{AccuracyByStage, Table, TrainingLog};

    fn record(pairs: &[(&str, Value)]) -> Record {
        pairs.iter().map(|(k, v)| (k.to_string(), v.clone())).collect()
    }

    #[test]
    fn the_originals_second_models_are_assigned_by_profile() {
        let models = Models::load(&crate::provenance::project_path("expected/paper").unwrap()).unwrap();
        let stage = record(&[("dataset", "in12".into()), ("regime", "blurry".into()), ("epoch", 20.into())]);
        let schema = &AccuracyByStage::SCHEMA;
        assert_eq!(
            models.assign("paper", schema, &stage),
            Assignment::Compare(Target::Variant("IN12_full_blur_2".into()))
        );
        assert_eq!(models.assign("paper-uniform", schema, &stage), Assignment::Compare(Target::Run));
        assert!(
            matches!(models.assign("mini", schema, &stage), Assignment::NotComparable(why) if why.contains("mini"))
        );
        let clear = record(&[("dataset", "in12".into()), ("regime", "clear".into())]);
        assert_eq!(models.assign("paper", schema, &clear), Assignment::Compare(Target::Run));
        let log = record(&[("checkpoint_dir", "full_blur/IN12_full_blur".into())]);
        assert_eq!(models.assign("paper", &TrainingLog::SCHEMA, &log), Assignment::Compare(Target::Run));
        let robustness = record(&[("dataset", "toybox_category".into()), ("regime", "blurry".into())]);
        let verdict = models.assign("paper", &crate::results::AccuracyVsBlur::SCHEMA, &robustness);
        assert!(
            matches!(&verdict, Assignment::NotComparable(why) if why.contains("no training record")),
            "{verdict:?}"
        );
    }

    #[test]
    fn a_models_file_naming_something_unknown_fails_to_load() {
        let dir = tempfile::tempdir().unwrap();
        let write = |text: &str| std::fs::write(dir.path().join(MODELS_FILE), text).unwrap();
        let model =
            |rows: &str, runs: &str| format!("[[model]]\nname = \"m\"\nwhat = \"w\"\nrows = [{rows}]\n{runs}\n");
        for (text, named) in [
            (model("{ table = \"rf_sizes\" }", "runs = { paper = \"run\" }"), "unknown table 'rf_sizes'"),
            (model("{ table = \"rf_size\", where = { regime = \"fuzzy\" } }", "runs = { paper = \"run\" }"), "fuzzy"),
            (model("{ table = \"rf_size\" }", "runs = { paper = \"variant\" }"), "names no run"),
            (model("{ table = \"rf_size\" }", ""), "neither `runs`"),
            (model("", "runs = { paper = \"run\" }"), "claims no rows"),
        ] {
            write(&text);
            let err = format!("{:#}", Models::load(dir.path()).unwrap_err());
            assert!(err.contains(named) && err.contains(MODELS_FILE), "{err}");
        }
        assert!(Models::load(&dir.path().join("none")).unwrap().model.is_empty());
    }
}
