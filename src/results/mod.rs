//! The results tables: one tidy schema per table, one row per observation, shared by the original's numbers
//! (`expected/paper/`) and every run (`runs/<profile>/results/`), so that every figure, `verify` and the report can
//! read either.
//!
//! The columns are those of the original's reference tables (`paper/ORIGINAL.md`) where they overlap, plus `profile` and `seed`. Sigma is
//! always in pixels of the 224-px protocol. A table is written as `<name>.csv` (read back by [`read_table`]) and
//! `<name>.parquet` (for analysis tools), both atomically.
//!
//! Each table is a plain row struct with public fields plus a [`Schema`] that says, per column, its type and its
//! role: part of the observation's key (what was measured), a measured value (what `verify` compares), or
//! bookkeeping (`profile`, `seed`, `source`, and the original's extra columns).
mod frame;
mod io;

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::vocab::{DatasetId, ErfInput, ErfStatistic, Layer, Regime, RfMeasure, SfStatistic, Vocab};
use io::records_into_rows;
pub use io::{read_records, read_table, read_table_if_present, write_records, write_table, Record};

/// The type of a column's cells.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Text,
    Integer,
    Float,
}

/// What a column is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    /// Names the observation (dataset, regime, epoch, sigma, ...): rows of two tables are matched on these.
    Key,
    /// A measured number: compared by `verify`, averaged over seeds by the figures.
    Value,
    /// Bookkeeping: `profile`, `seed`, `source` and the original's extra record columns.
    Note,
}

/// One column of a table.
#[derive(Clone, Copy, Debug)]
pub struct Column {
    pub name: &'static str,
    pub kind: Kind,
    pub role: Role,
    /// Whether a cell may be empty (an `Option` field).
    pub optional: bool,
    /// The vocabulary of a text column's cells, so that filters on it can be checked when they are loaded.
    pub vocab: Option<Vocab>,
}

const fn col(name: &'static str, kind: Kind, role: Role) -> Column {
    Column { name, kind, role, optional: false, vocab: None }
}

const fn opt(name: &'static str, kind: Kind, role: Role) -> Column {
    Column { name, kind, role, optional: true, vocab: None }
}

/// A key column whose cells are names of `vocab`.
const fn named(name: &'static str, vocab: Vocab) -> Column {
    Column { name, kind: Text, role: Key, optional: false, vocab: Some(vocab) }
}

/// A table's name (its file stem) and columns, in file order.
#[derive(Debug)]
pub struct Schema {
    pub name: &'static str,
    pub columns: &'static [Column],
}

impl Schema {
    pub fn column(&self, name: &str) -> Option<&Column> {
        self.columns.iter().find(|c| c.name == name)
    }

    pub fn keys(&self) -> impl Iterator<Item = &Column> {
        self.columns.iter().filter(|c| c.role == Role::Key)
    }

    pub fn values(&self) -> impl Iterator<Item = &Column> {
        self.columns.iter().filter(|c| c.role == Role::Value)
    }

    pub fn csv_path(&self, results_dir: &Path) -> PathBuf {
        results_dir.join(format!("{}.csv", self.name))
    }

    pub fn parquet_path(&self, results_dir: &Path) -> PathBuf {
        results_dir.join(format!("{}.parquet", self.name))
    }

    /// Check that `text` is a possible cell of `column`: the column exists and, where it has a vocabulary, `text`
    /// names something of it. What claims and tolerances filter on is checked with this when they are loaded.
    pub fn check_cell(&self, column: &str, text: &str) -> Result<()> {
        let Some(c) = self.column(column) else {
            let names: Vec<&str> = self.columns.iter().map(|c| c.name).collect();
            bail!("table {} has no column '{column}' (columns: {})", self.name, names.join(", "));
        };
        if let Some(vocab) = c.vocab {
            vocab.check(text).with_context(|| format!("in column '{column}' of table {}", self.name))?;
        }
        Ok(())
    }
}

/// The schema called `name`, or an error listing the tables.
pub fn schema(name: &str) -> Result<&'static Schema> {
    SCHEMAS.iter().copied().find(|s| s.name == name).with_context(|| {
        let names: Vec<&str> = SCHEMAS.iter().map(|s| s.name).collect();
        format!("unknown table '{name}'; valid tables: {}", names.join(", "))
    })
}

/// A results table: a row struct whose serde field names are exactly its schema's columns.
pub trait Table: Serialize + DeserializeOwned {
    const SCHEMA: Schema;
}

use Kind::{Float, Integer, Text};
use Role::{Key, Note, Value as Val};

const PROFILE: Column = col("profile", Text, Note);
const SEED: Column = col("seed", Integer, Note);
const DATASET: Column = named("dataset", Vocab::Dataset);
const REGIME: Column = named("regime", Vocab::Regime);
const LAYER: Column = named("layer", Vocab::Layer);
const EPOCH: Column = col("epoch", Integer, Key);
const SOURCE: Column = col("source", Text, Note);

/// Which run a row comes from: embedded (flattened) in the rows of every per-run table, so that the key columns
/// `profile, seed, dataset, regime` are written in one place.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct RunKey {
    pub profile: String,
    /// The seed value (not its index among `--seeds`).
    pub seed: u64,
    pub dataset: DatasetId,
    pub regime: Regime,
}

impl RunKey {
    /// The provenance of a run's rows, e.g. `run:mini seed 0`.
    pub fn source(&self) -> String {
        format!("run:{} seed {}", self.profile, self.seed)
    }
}

/// Test accuracy of each final model against test blur (robustness_results.ipynb, cell 19/20). A run also records
/// the test images evaluated and the accuracy's 95 % Wilson interval (empty in the original's table).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AccuracyVsBlur {
    #[serde(flatten)]
    pub run: RunKey,
    pub test_sigma: f64,
    pub accuracy_pct: f64,
    pub images: Option<u32>,
    pub ci_low_pct: Option<f64>,
    pub ci_high_pct: Option<f64>,
    pub source: String,
}

impl Table for AccuracyVsBlur {
    const SCHEMA: Schema = Schema {
        name: "accuracy_vs_blur",
        columns: &[
            PROFILE,
            SEED,
            DATASET,
            REGIME,
            col("test_sigma", Float, Key),
            col("accuracy_pct", Float, Val),
            opt("images", Integer, Note),
            opt("ci_low_pct", Float, Note),
            opt("ci_high_pct", Float, Note),
            SOURCE,
        ],
    };
}

/// Test accuracy at each training stage's checkpoint against test blur (robustness_across_stages.ipynb), with the
/// same interval columns as [`AccuracyVsBlur`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AccuracyByStage {
    #[serde(flatten)]
    pub run: RunKey,
    pub epoch: u32,
    pub test_sigma: f64,
    pub accuracy_pct: f64,
    pub images: Option<u32>,
    pub ci_low_pct: Option<f64>,
    pub ci_high_pct: Option<f64>,
    pub source: String,
}

impl Table for AccuracyByStage {
    const SCHEMA: Schema = Schema {
        name: "accuracy_by_stage",
        columns: &[
            PROFILE,
            SEED,
            DATASET,
            REGIME,
            EPOCH,
            col("test_sigma", Float, Key),
            col("accuracy_pct", Float, Val),
            opt("images", Integer, Note),
            opt("ci_low_pct", Float, Note),
            opt("ci_high_pct", Float, Note),
            SOURCE,
        ],
    };
}

/// Blurry-to-clear accuracy over clear accuracy at one test sigma, per stage (robustness_across_stages.ipynb,
/// cell 37). `minibatch` is the x coordinate of the original's plot (training iterations so far; the original's
/// `total_minibatches * epoch / 100` is fractional), not compared.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AccuracyRatioByStage {
    pub profile: String,
    pub seed: u64,
    pub dataset: DatasetId,
    pub epoch: u32,
    pub minibatch: f64,
    pub test_sigma: f64,
    pub ratio_b2c_over_clear: f64,
    pub source: String,
}

impl Table for AccuracyRatioByStage {
    const SCHEMA: Schema = Schema {
        name: "accuracy_ratio_by_stage",
        columns: &[
            PROFILE,
            SEED,
            DATASET,
            EPOCH,
            col("minibatch", Float, Note),
            col("test_sigma", Float, Key),
            col("ratio_b2c_over_clear", Float, Val),
            SOURCE,
        ],
    };
}

impl AccuracyRatioByStage {
    /// Cell 37's ratio from a run's stage table: blurry-to-clear over clear accuracy at `test_sigma`, per dataset,
    /// epoch and seed, at minibatch `steps_per_epoch(dataset) * epoch`. Points where clear accuracy is 0 are skipped.
    pub fn from_stages(
        stages: &[AccuracyByStage],
        test_sigma: f64,
        steps_per_epoch: impl Fn(DatasetId) -> u64,
    ) -> Vec<AccuracyRatioByStage> {
        let at_sigma =
            |regime: Regime| stages.iter().filter(move |r| r.run.regime == regime && r.test_sigma == test_sigma);
        at_sigma(Regime::BlurryToClear)
            .filter_map(|b2c| {
                let clear = at_sigma(Regime::Clear)
                    .find(|c| (c.run.dataset, c.epoch, c.run.seed) == (b2c.run.dataset, b2c.epoch, b2c.run.seed))
                    .filter(|c| c.accuracy_pct > 0.0)?;
                Some(AccuracyRatioByStage {
                    profile: b2c.run.profile.clone(),
                    seed: b2c.run.seed,
                    dataset: b2c.run.dataset,
                    epoch: b2c.epoch,
                    minibatch: (steps_per_epoch(b2c.run.dataset) * u64::from(b2c.epoch)) as f64,
                    test_sigma,
                    ratio_b2c_over_clear: b2c.accuracy_pct / clear.accuracy_pct,
                    source: b2c.source.clone(),
                })
            })
            .collect()
    }
}

/// Per-epoch training and validation accuracy and loss. Epoch 0 is the evaluation before training. The
/// `checkpoint_dir`, `log_epoch_label` and `*_pkl` columns keep the original's record (training logs and
/// `metrics.pkl`); a run leaves them empty. A metric is empty where the original's log lacks the line (and a run's
/// training metrics at epoch 0 under `train_metrics = "running"`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TrainingLog {
    #[serde(flatten)]
    pub run: RunKey,
    pub checkpoint_dir: Option<String>,
    pub epoch: u32,
    pub log_epoch_label: Option<String>,
    pub train_acc_pct: Option<f64>,
    pub train_loss: Option<f64>,
    pub val_acc_pct: Option<f64>,
    pub val_loss: Option<f64>,
    pub train_acc_pct_pkl: Option<f64>,
    pub train_loss_pkl: Option<f64>,
    pub val_acc_pct_pkl: Option<f64>,
    pub val_loss_pkl: Option<f64>,
    pub train_sigma: f64,
    pub val_sigma: f64,
    pub source: String,
}

impl Table for TrainingLog {
    const SCHEMA: Schema = Schema {
        name: "training_log",
        columns: &[
            PROFILE,
            SEED,
            DATASET,
            REGIME,
            opt("checkpoint_dir", Text, Note),
            EPOCH,
            opt("log_epoch_label", Text, Note),
            opt("train_acc_pct", Float, Val),
            opt("train_loss", Float, Val),
            opt("val_acc_pct", Float, Val),
            opt("val_loss", Float, Val),
            opt("train_acc_pct_pkl", Float, Note),
            opt("train_loss_pkl", Float, Note),
            opt("val_acc_pct_pkl", Float, Note),
            opt("val_loss_pkl", Float, Note),
            col("train_sigma", Float, Note),
            col("val_sigma", Float, Note),
            SOURCE,
        ],
    };
}

impl TrainingLog {
    /// A run's row for one epoch of its log: the original's record columns are left empty.
    pub fn from_epoch(run: &RunKey, entry: &crate::train::EpochLog) -> TrainingLog {
        TrainingLog {
            run: run.clone(),
            checkpoint_dir: None,
            epoch: entry.epoch,
            log_epoch_label: None,
            train_acc_pct: entry.train_acc_pct,
            train_loss: entry.train_loss,
            val_acc_pct: Some(entry.val_acc_pct),
            val_loss: Some(entry.val_loss),
            train_acc_pct_pkl: None,
            train_loss_pkl: None,
            val_acc_pct_pkl: None,
            val_loss_pkl: None,
            train_sigma: entry.train_sigma,
            val_sigma: entry.val_sigma,
            source: run.source(),
        }
    }
}

/// Receptive-field size measures per checkpoint and layer (receptive_fields.ipynb): see [`RfMeasure`]. `epoch` is
/// empty for measures over several epochs.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RfSize {
    #[serde(flatten)]
    pub run: RunKey,
    pub epoch: Option<u32>,
    pub layer: Layer,
    pub measure: RfMeasure,
    pub value: f64,
    pub source: String,
}

impl Table for RfSize {
    const SCHEMA: Schema = Schema {
        name: "rf_size",
        columns: &[
            PROFILE,
            SEED,
            DATASET,
            REGIME,
            opt("epoch", Integer, Key),
            LAYER,
            named("measure", Vocab::RfMeasure),
            col("value", Float, Val),
            SOURCE,
        ],
    };
}

/// One conv filter's 2-D Gabor fit: size (sigma_x + sigma_y) / 2 in kernel pixels (empty when not valid), R², and
/// `valid` = 1 when R² >= 0.4 (receptive_fields.ipynb, cells 36/48). A run also records the fitted parameters
/// (`analysis::gabor`'s model, kernel pixels and radians; empty where no fit converged, and in the original's
/// table), from which the `gabor_fit_grid` figure renders each fit.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RfGaborFilter {
    #[serde(flatten)]
    pub run: RunKey,
    pub epoch: u32,
    pub layer: Layer,
    pub filter: u32,
    pub gabor_size: Option<f64>,
    pub r_squared: f64,
    pub valid: u8,
    pub amplitude: Option<f64>,
    pub x0: Option<f64>,
    pub y0: Option<f64>,
    pub sigma_x: Option<f64>,
    pub sigma_y: Option<f64>,
    pub theta: Option<f64>,
    pub frequency: Option<f64>,
    pub phase: Option<f64>,
    pub offset: Option<f64>,
    pub source: String,
}

impl Table for RfGaborFilter {
    const SCHEMA: Schema = Schema {
        name: "rf_gabor_filters",
        columns: &[
            PROFILE,
            SEED,
            DATASET,
            REGIME,
            EPOCH,
            LAYER,
            col("filter", Integer, Key),
            opt("gabor_size", Float, Val),
            col("r_squared", Float, Val),
            col("valid", Integer, Val),
            opt("amplitude", Float, Note),
            opt("x0", Float, Note),
            opt("y0", Float, Note),
            opt("sigma_x", Float, Note),
            opt("sigma_y", Float, Note),
            opt("theta", Float, Note),
            opt("frequency", Float, Note),
            opt("phase", Float, Note),
            opt("offset", Float, Note),
            SOURCE,
        ],
    };
}

/// Peak spatial-frequency statistics per checkpoint and layer (spatial_frequency.ipynb): see [`SfStatistic`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SpatialFrequency {
    #[serde(flatten)]
    pub run: RunKey,
    pub epoch: u32,
    pub layer: Layer,
    pub statistic: SfStatistic,
    pub value: f64,
    pub source: String,
}

impl Table for SpatialFrequency {
    const SCHEMA: Schema = Schema {
        name: "spatial_frequency",
        columns: &[
            PROFILE,
            SEED,
            DATASET,
            REGIME,
            EPOCH,
            LAYER,
            named("statistic", Vocab::SfStatistic),
            col("value", Float, Val),
            SOURCE,
        ],
    };
}

/// Effective receptive field statistics (Luo et al. 2016) per checkpoint and layer (src/analysis/erf.rs): see
/// [`ErfStatistic`]; `input` is `images` (test images) or `noise`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Erf {
    #[serde(flatten)]
    pub run: RunKey,
    pub epoch: u32,
    pub layer: Layer,
    pub input: ErfInput,
    pub statistic: ErfStatistic,
    pub value: f64,
    pub source: String,
}

impl Table for Erf {
    const SCHEMA: Schema = Schema {
        name: "erf",
        columns: &[
            PROFILE,
            SEED,
            DATASET,
            REGIME,
            EPOCH,
            LAYER,
            named("input", Vocab::ErfInput),
            named("statistic", Vocab::ErfStatistic),
            col("value", Float, Val),
            SOURCE,
        ],
    };
}

/// The radial profile of an ERF map: its mean over 1-px rings around the image centre, in input pixels of the
/// run's resolution (what the `erf_radial_profiles` figure draws).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ErfProfile {
    #[serde(flatten)]
    pub run: RunKey,
    pub epoch: u32,
    pub layer: Layer,
    pub input: ErfInput,
    pub radius_px: f64,
    pub value: f64,
    pub source: String,
}

impl Table for ErfProfile {
    const SCHEMA: Schema = Schema {
        name: "erf_profiles",
        columns: &[
            PROFILE,
            SEED,
            DATASET,
            REGIME,
            EPOCH,
            LAYER,
            named("input", Vocab::ErfInput),
            col("radius_px", Float, Key),
            col("value", Float, Val),
            SOURCE,
        ],
    };
}

/// An ERF map as an image: the conv5 map on test images (what the `erf_maps` figure draws), average-pooled to at
/// most [`crate::analysis::ERF_MAP_MAX_SIDE`] pixels a side, one row per pixel, normalised to sum 1.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ErfMapPixel {
    #[serde(flatten)]
    pub run: RunKey,
    pub epoch: u32,
    pub layer: Layer,
    pub input: ErfInput,
    pub row: u32,
    pub col: u32,
    pub value: f64,
    pub source: String,
}

impl Table for ErfMapPixel {
    const SCHEMA: Schema = Schema {
        name: "erf_maps",
        columns: &[
            PROFILE,
            SEED,
            DATASET,
            REGIME,
            EPOCH,
            LAYER,
            named("input", Vocab::ErfInput),
            col("row", Integer, Key),
            col("col", Integer, Key),
            col("value", Float, Val),
            SOURCE,
        ],
    };
}

/// The conv1 kernels of blurry-to-clear runs (the models whose kernels the paper shows through training,
/// receptive_fields.ipynb cells 22-30, 44-45, 56-57, ...), one row per weight, at every analysed epoch.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Conv1Weight {
    #[serde(flatten)]
    pub run: RunKey,
    pub epoch: u32,
    pub filter: u32,
    /// Input colour channel (0 red, 1 green, 2 blue).
    pub channel: u32,
    pub row: u32,
    pub col: u32,
    pub weight: f64,
    pub source: String,
}

impl Table for Conv1Weight {
    const SCHEMA: Schema = Schema {
        name: "conv1_kernels",
        columns: &[
            PROFILE,
            SEED,
            DATASET,
            REGIME,
            EPOCH,
            col("filter", Integer, Key),
            col("channel", Integer, Key),
            col("row", Integer, Key),
            col("col", Integer, Key),
            col("weight", Float, Val),
            SOURCE,
        ],
    };
}

/// Which test images a model got right: one row per checkpoint evaluated and test sigma, the per-image correctness
/// packed as hex ([`crate::stats::bits_to_hex`]: bit `i % 8` of byte `i / 8` is test image `i`, in the split's
/// order). The paired bootstrap intervals of the report resample these: every regime of a dataset is evaluated on
/// the same test images.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TestPredictions {
    #[serde(flatten)]
    pub run: RunKey,
    pub epoch: u32,
    pub test_sigma: f64,
    pub images: u32,
    pub correct: String,
    pub source: String,
}

impl Table for TestPredictions {
    const SCHEMA: Schema = Schema {
        name: "test_predictions",
        columns: &[
            PROFILE,
            SEED,
            DATASET,
            REGIME,
            EPOCH,
            col("test_sigma", Float, Key),
            col("images", Integer, Note),
            col("correct", Text, Note),
            SOURCE,
        ],
    };
}

/// Every table, in the order reports list them.
pub const SCHEMAS: [&Schema; 12] = [
    &AccuracyVsBlur::SCHEMA,
    &AccuracyByStage::SCHEMA,
    &AccuracyRatioByStage::SCHEMA,
    &TrainingLog::SCHEMA,
    &RfSize::SCHEMA,
    &RfGaborFilter::SCHEMA,
    &SpatialFrequency::SCHEMA,
    &Erf::SCHEMA,
    &ErfProfile::SCHEMA,
    &ErfMapPixel::SCHEMA,
    &Conv1Weight::SCHEMA,
    &TestPredictions::SCHEMA,
];

/// The results directory of a run directory (`runs/<profile>` -> `runs/<profile>/results`).
pub fn results_dir(run_dir: &Path) -> PathBuf {
    run_dir.join("results")
}

/// Where a number comes from, parsed from the `source` column's prefix (reference README, "Conventions").
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum SourceKind {
    Printed,
    Hardcoded,
    Log,
    Pkl,
    Derived,
    Digitized,
    Run,
    Other,
}

impl SourceKind {
    /// The kind of a `source` cell: the text before the first ':'. The enum's order is the reference's order of
    /// preference when one observation has several sources.
    pub fn of(source: &str) -> SourceKind {
        match source.split(':').next().unwrap_or("").trim() {
            "printed" => SourceKind::Printed,
            "hardcoded" => SourceKind::Hardcoded,
            "log" => SourceKind::Log,
            "pkl" => SourceKind::Pkl,
            "derived" => SourceKind::Derived,
            "digitized" => SourceKind::Digitized,
            "run" => SourceKind::Run,
            _ => SourceKind::Other,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            SourceKind::Printed => "printed",
            SourceKind::Hardcoded => "hardcoded",
            SourceKind::Log => "log",
            SourceKind::Pkl => "pkl",
            SourceKind::Derived => "derived",
            SourceKind::Digitized => "digitized",
            SourceKind::Run => "run",
            SourceKind::Other => "other",
        }
    }
}

/// The digitisation quality label of a `source` cell (`quality=marker`, ...), if any: the last `quality=` in the
/// text, since the stated uncertainty itself may mention a quality.
pub fn source_quality(source: &str) -> Option<&str> {
    let start = source.rfind("quality=")? + "quality=".len();
    let rest = &source[start..];
    let end = rest.find(|c: char| !(c.is_ascii_alphanumeric() || c == '_')).unwrap_or(rest.len());
    Some(&rest[..end])
}

/// The key of a record: its key columns' values, rendered as text (`faces/clear/8`).
pub fn record_key(schema: &Schema, record: &Record) -> Vec<String> {
    schema.keys().map(|c| record.get(c.name).map(cell_text).unwrap_or_default()).collect()
}

/// A cell as text, the way a reader expects it: `8` for a whole float, empty for null.
pub fn cell_text(value: &Value) -> String {
    match value {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        Value::Number(n) => match n.as_f64() {
            Some(x) if x.fract() == 0.0 && x.abs() < 1e15 => format!("{}", x as i64),
            Some(x) => format!("{x}"),
            None => n.to_string(),
        },
        other => other.to_string(),
    }
}

/// One record per key: where an observation has several sources (the original often has a printed, a derived and
/// a digitized value of one point), keep the most trusted one (printed, hard-coded, log, pkl, derived, digitized;
/// then file order). Records keep their first-seen key order.
pub fn preferred<'a>(schema: &Schema, records: &'a [Record]) -> Vec<&'a Record> {
    let mut chosen: Vec<(Vec<String>, &Record)> = Vec::new();
    let mut index = std::collections::HashMap::new();
    for record in records {
        let key = record_key(schema, record);
        let kind = SourceKind::of(record.get("source").and_then(Value::as_str).unwrap_or(""));
        match index.get(&key) {
            None => {
                index.insert(key.clone(), chosen.len());
                chosen.push((key, record));
            }
            Some(&at) => {
                let held = SourceKind::of(chosen[at].1.get("source").and_then(Value::as_str).unwrap_or(""));
                if kind < held {
                    chosen[at].1 = record;
                }
            }
        }
    }
    chosen.into_iter().map(|(_, r)| r).collect()
}

/// Typed rows of one table, reduced to one per key and seed by [`preferred`]: what the figures draw.
pub fn preferred_rows<T: Table + Clone>(rows: &[T]) -> Result<Vec<T>> {
    let records = rows
        .iter()
        .map(|row| match serde_json::to_value(row)? {
            Value::Object(map) => Ok(map),
            _ => bail!("a {} row is not an object", T::SCHEMA.name),
        })
        .collect::<Result<Vec<_>>>()?;
    let mut by_seed: std::collections::BTreeMap<i64, Vec<Record>> = Default::default();
    for record in records {
        by_seed.entry(record.get("seed").and_then(Value::as_i64).unwrap_or(0)).or_default().push(record);
    }
    let mut out = Vec::new();
    for seed_records in by_seed.values() {
        for record in preferred(&T::SCHEMA, seed_records) {
            out.push(serde_json::from_value(Value::Object(record.clone()))?);
        }
    }
    Ok(out)
}

/// Import one of the original's reference CSVs (`<reference_dir>/<table>.csv`) into table `T`, as profile `paper`,
/// seed 0, keeping every row and its `source` verbatim; `None` when the directory has no such CSV.
fn import_reference_table<T: Table>(reference_dir: &Path, out_dir: &Path) -> Result<Option<(&'static str, usize)>> {
    let path = T::SCHEMA.csv_path(reference_dir);
    if !path.exists() {
        return Ok(None);
    }
    let records = read_records(&path, &T::SCHEMA, &[("profile", Value::from("paper")), ("seed", Value::from(0))])?;
    let rows = records_into_rows::<T>(&path, records)?;
    write_table(out_dir, &rows)?;
    Ok(Some((T::SCHEMA.name, rows.len())))
}

/// Convert every reference CSV present in `reference_dir` into the project's schemas under `out_dir`
/// (`expected/paper/`). Tables the original has no numbers for (the ERF tables, the kernels) are skipped. Returns
/// the tables written.
pub fn import_reference(reference_dir: &Path, out_dir: &Path) -> Result<Vec<(&'static str, usize)>> {
    let written: Vec<(&'static str, usize)> = [
        import_reference_table::<AccuracyVsBlur>(reference_dir, out_dir)?,
        import_reference_table::<AccuracyByStage>(reference_dir, out_dir)?,
        import_reference_table::<AccuracyRatioByStage>(reference_dir, out_dir)?,
        import_reference_table::<TrainingLog>(reference_dir, out_dir)?,
        import_reference_table::<RfSize>(reference_dir, out_dir)?,
        import_reference_table::<RfGaborFilter>(reference_dir, out_dir)?,
        import_reference_table::<SpatialFrequency>(reference_dir, out_dir)?,
    ]
    .into_iter()
    .flatten()
    .collect();
    if written.is_empty() {
        bail!("{} holds none of the reference CSVs ({}.csv, ...)", reference_dir.display(), SCHEMAS[0].name);
    }
    Ok(written)
}

/// The `import-reference` command: [`import_reference`], then one line per table written.
pub fn print_import(reference_dir: &Path, out_dir: &Path) -> Result<()> {
    for (name, rows) in import_reference(reference_dir, out_dir)? {
        println!("{}: {rows} rows", out_dir.join(format!("{name}.csv")).display());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use polars::prelude::{ParquetReader, SerReader};

    fn key(regime: Regime) -> RunKey {
        RunKey { profile: "tiny".into(), seed: 1, dataset: DatasetId::Faces, regime }
    }

    fn accuracy_row(sigma: f64, acc: f64, source: &str) -> AccuracyVsBlur {
        AccuracyVsBlur {
            run: key(Regime::BlurryToClear),
            test_sigma: sigma,
            accuracy_pct: acc,
            images: None,
            ci_low_pct: None,
            ci_high_pct: None,
            source: source.into(),
        }
    }

    /// Every schema's columns are exactly its row's serde fields: writing a row fills every column.
    #[test]
    fn every_schema_names_exactly_its_struct_fields() {
        let dir = tempfile::tempdir().unwrap();
        let run = key(Regime::Clear);
        write_table(dir.path(), &[accuracy_row(0.0, 1.0, "run:tiny seed 1")]).unwrap();
        write_table(
            dir.path(),
            &[AccuracyByStage {
                run: run.clone(),
                epoch: 20,
                test_sigma: 1.0,
                accuracy_pct: 2.0,
                images: Some(400),
                ci_low_pct: Some(1.0),
                ci_high_pct: Some(3.5),
                source: "s".into(),
            }],
        )
        .unwrap();
        let entry = crate::train::EpochLog {
            epoch: 1,
            train_acc_pct: Some(1.0),
            train_loss: None,
            val_acc_pct: 1.0,
            val_loss: 1.0,
            train_sigma: 0.0,
            val_sigma: 0.0,
        };
        write_table(dir.path(), &[TrainingLog::from_epoch(&run, &entry)]).unwrap();
        let rf = RfSize {
            run: run.clone(),
            epoch: None,
            layer: Layer::CONV1,
            measure: RfMeasure::MomentSizeMean,
            value: 1.0,
            source: "s".into(),
        };
        write_table(dir.path(), &[rf]).unwrap();
        let sf = SpatialFrequency {
            run: run.clone(),
            epoch: 100,
            layer: Layer::AllConv,
            statistic: SfStatistic::HistCount(2),
            value: 1.0,
            source: "s".into(),
        };
        write_table(dir.path(), &[sf]).unwrap();
        let kernel =
            Conv1Weight { run, epoch: 2, filter: 3, channel: 1, row: 4, col: 5, weight: -0.25, source: "s".into() };
        write_table(dir.path(), &[kernel]).unwrap();
        let header = std::fs::read_to_string(dir.path().join("spatial_frequency.csv")).unwrap();
        assert!(header.starts_with("profile,seed,dataset,regime,epoch,layer,statistic,value,source\n"), "{header}");
        assert!(header.contains(",all_conv,hist_count_11.5_17.25,"), "{header}");
    }

    #[test]
    fn a_row_with_a_field_outside_its_schema_is_refused() {
        #[derive(Serialize, Deserialize)]
        struct Wrong {
            #[serde(flatten)]
            run: RunKey,
            test_sigma: f64,
            accuracy: f64,
            source: String,
        }
        impl Table for Wrong {
            const SCHEMA: Schema = AccuracyVsBlur::SCHEMA;
        }
        let dir = tempfile::tempdir().unwrap();
        let row = Wrong { run: key(Regime::Clear), test_sigma: 0.0, accuracy: 1.0, source: "s".into() };
        let err = format!("{:#}", write_table(dir.path(), &[row]).unwrap_err());
        assert!(err.contains("'accuracy'") && err.contains("accuracy_vs_blur"), "{err}");
    }

    #[test]
    fn tables_round_trip_through_csv_and_parquet_holds_the_same_rows() {
        let dir = tempfile::tempdir().unwrap();
        let rows = vec![accuracy_row(0.0, 88.78, "run:tiny seed 1"), accuracy_row(8.5, 12.345678901234, "x, quoted")];
        write_table(dir.path(), &rows).unwrap();
        assert_eq!(read_table::<AccuracyVsBlur>(dir.path()).unwrap(), rows);
        let file = std::fs::File::open(AccuracyVsBlur::SCHEMA.parquet_path(dir.path())).unwrap();
        let parquet = ParquetReader::new(file).finish().unwrap();
        assert_eq!(parquet.height(), 2);
        let column = |name: &str| parquet.column(name).unwrap().as_materialized_series().clone();
        let accuracy = column("accuracy_pct");
        let accuracy = accuracy.f64().unwrap();
        assert_eq!((accuracy.get(0), accuracy.get(1)), (Some(88.78), Some(12.345678901234)));
        let sources = column("source");
        assert_eq!(sources.str().unwrap().get(1), Some("x, quoted"));
        assert_eq!(column("seed").i64().unwrap().get(0), Some(1));
    }

    #[test]
    fn a_missing_column_is_named_with_its_file() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("accuracy_vs_blur.csv"), "profile,seed,dataset,regime,test_sigma,source\n")
            .unwrap();
        let err = format!("{:#}", read_table::<AccuracyVsBlur>(dir.path()).unwrap_err());
        assert!(err.contains("accuracy_vs_blur.csv") && err.contains("'accuracy_pct'"), "{err}");
    }

    #[test]
    fn a_bad_cell_or_unknown_name_is_named_with_row_and_column() {
        let dir = tempfile::tempdir().unwrap();
        let header = "profile,seed,dataset,regime,test_sigma,accuracy_pct,source\n";
        std::fs::write(
            dir.path().join("accuracy_vs_blur.csv"),
            format!("{header}p,0,faces,clear,0,88.1,s\np,0,faces,clear,1,lots,s\n"),
        )
        .unwrap();
        let err = format!("{:#}", read_table::<AccuracyVsBlur>(dir.path()).unwrap_err());
        assert!(err.contains("row 2") && err.contains("'accuracy_pct'") && err.contains("'lots'"), "{err}");
        std::fs::write(dir.path().join("accuracy_vs_blur.csv"), format!("{header}p,0,cats,clear,0,88.1,s\n")).unwrap();
        let err = format!("{:#}", read_table::<AccuracyVsBlur>(dir.path()).unwrap_err());
        assert!(err.contains("row 1") && err.contains("unknown dataset 'cats'"), "{err}");
    }

    #[test]
    fn filters_are_checked_against_the_columns_vocabulary() {
        let schema = schema("rf_size").unwrap();
        schema.check_cell("measure", "moment_size_mean").unwrap();
        schema.check_cell("epoch", "100").unwrap();
        let err = format!("{:#}", schema.check_cell("measure", "moment_size").unwrap_err());
        assert!(err.contains("unknown receptive-field measure 'moment_size'") && err.contains("rf_size"), "{err}");
        let err = format!("{:#}", schema.check_cell("statistic", "x").unwrap_err());
        assert!(err.contains("no column 'statistic'"), "{err}");
        assert!(schema_err("rf_sizes").contains("valid tables: accuracy_vs_blur"));
    }

    fn schema_err(name: &str) -> String {
        format!("{:#}", schema(name).unwrap_err())
    }

    #[test]
    fn ratio_rows_divide_blurry_to_clear_by_clear_accuracy() {
        let stage = |regime, acc| AccuracyByStage {
            run: RunKey { profile: "tiny".into(), seed: 0, dataset: DatasetId::Faces, regime },
            epoch: 20,
            test_sigma: 8.0,
            accuracy_pct: acc,
            images: None,
            ci_low_pct: None,
            ci_high_pct: None,
            source: "run:tiny seed 0".into(),
        };
        let rows = [stage(Regime::Clear, 10.0), stage(Regime::BlurryToClear, 25.0), stage(Regime::Blurry, 70.0)];
        let ratios = AccuracyRatioByStage::from_stages(&rows, 8.0, |_| 91);
        assert_eq!(ratios.len(), 1);
        assert_eq!((ratios[0].ratio_b2c_over_clear, ratios[0].minibatch), (2.5, 1820.0));
    }

    #[test]
    fn source_kind_and_quality_follow_the_reference_conventions() {
        assert_eq!(SourceKind::of("printed:repo#cell23"), SourceKind::Printed);
        assert_eq!(SourceKind::of("derived: prop x 1152, printed:..."), SourceKind::Derived);
        assert_eq!(SourceKind::of("run:mini seed 0"), SourceKind::Run);
        assert!(SourceKind::Printed < SourceKind::Derived && SourceKind::Derived < SourceKind::Digitized);
        let s = "digitized:x (about +-0.5 pct-pt for quality=marker, +-1.5 otherwise; quality=marker_partial)";
        assert_eq!(source_quality(s), Some("marker_partial"));
        assert_eq!(source_quality("printed:x"), None);
    }

    #[test]
    fn preferred_keeps_the_most_trusted_source_per_key() {
        let rows = [
            accuracy_row(0.0, 89.6, "digitized:a"),
            accuracy_row(0.0, 88.78, "derived:b"),
            accuracy_row(1.0, 80.0, "digitized:c"),
        ];
        let kept = preferred_rows(&rows).unwrap();
        assert_eq!(kept.iter().map(|r| r.accuracy_pct).collect::<Vec<_>>(), vec![88.78, 80.0]);
    }
}
