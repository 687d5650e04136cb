//! The results tables: one tidy schema per table, one row per observation, shared by the original's numbers
//! (`expected/paper/`) and every run (`runs/<profile>/results/`), so that every figure, `verify` and the report can
//! read either.
//!
//! The columns are those of `../shared/reference/*.csv` where they overlap, plus `profile` and `seed`. Sigma is
//! always in pixels of the 224-px protocol. A table is written as `<name>.csv` (read back by [`read_table`]) and
//! `<name>.parquet` (for analysis tools), both atomically.
//!
//! Each table is a plain row struct with public fields plus a [`Schema`] that says, per column, its type and its
//! role: part of the observation's key (what was measured), a measured value (what `verify` compares), or
//! bookkeeping (`profile`, `seed`, `source`, and the original's extra columns).
use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use polars::prelude::{
    CsvReadOptions, CsvWriter, DataFrame, IntoColumn, NamedFrom, ParquetCompression, ParquetWriter, PlSmallStr,
    SerReader, SerWriter, Series,
};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Number, Value};

use crate::protocol::{DatasetId, Regime};

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
}

const fn col(name: &'static str, kind: Kind, role: Role) -> Column {
    Column { name, kind, role, optional: false }
}

const fn opt(name: &'static str, kind: Kind, role: Role) -> Column {
    Column { name, kind, role, optional: true }
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
}

/// A results table: a row struct whose serde field names are exactly its schema's columns.
pub trait Table: Serialize + DeserializeOwned {
    const SCHEMA: Schema;
}

use Kind::{Float, Integer, Text};
use Role::{Key, Note, Value as Val};

const PROFILE: Column = col("profile", Text, Note);
const SEED: Column = col("seed", Integer, Note);
const SOURCE: Column = col("source", Text, Note);

/// Test accuracy of each final model against test blur (robustness_results.ipynb, cell 19/20).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AccuracyVsBlur {
    pub profile: String,
    pub seed: u64,
    pub dataset: DatasetId,
    pub regime: Regime,
    pub test_sigma: f64,
    pub accuracy_pct: f64,
    pub source: String,
}

impl Table for AccuracyVsBlur {
    const SCHEMA: Schema = Schema {
        name: "accuracy_vs_blur",
        columns: &[
            PROFILE,
            SEED,
            col("dataset", Text, Key),
            col("regime", Text, Key),
            col("test_sigma", Float, Key),
            col("accuracy_pct", Float, Val),
            SOURCE,
        ],
    };
}

/// Test accuracy at each training stage's checkpoint against test blur (robustness_across_stages.ipynb).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AccuracyByStage {
    pub profile: String,
    pub seed: u64,
    pub dataset: DatasetId,
    pub regime: Regime,
    pub epoch: u32,
    pub test_sigma: f64,
    pub accuracy_pct: f64,
    pub source: String,
}

impl Table for AccuracyByStage {
    const SCHEMA: Schema = Schema {
        name: "accuracy_by_stage",
        columns: &[
            PROFILE,
            SEED,
            col("dataset", Text, Key),
            col("regime", Text, Key),
            col("epoch", Integer, Key),
            col("test_sigma", Float, Key),
            col("accuracy_pct", Float, Val),
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
            col("dataset", Text, Key),
            col("epoch", Integer, Key),
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
        let at_sigma = |regime: Regime| stages.iter().filter(move |r| r.regime == regime && r.test_sigma == test_sigma);
        at_sigma(Regime::BlurryToClear)
            .filter_map(|b2c| {
                let clear = at_sigma(Regime::Clear)
                    .find(|c| (c.dataset, c.epoch, c.seed) == (b2c.dataset, b2c.epoch, b2c.seed))
                    .filter(|c| c.accuracy_pct > 0.0)?;
                Some(AccuracyRatioByStage {
                    profile: b2c.profile.clone(),
                    seed: b2c.seed,
                    dataset: b2c.dataset,
                    epoch: b2c.epoch,
                    minibatch: (steps_per_epoch(b2c.dataset) * u64::from(b2c.epoch)) as f64,
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
/// `metrics.pkl`); a run leaves them empty. A metric is empty where the original's log lacks the line.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TrainingLog {
    pub profile: String,
    pub seed: u64,
    pub dataset: DatasetId,
    pub regime: Regime,
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
            col("dataset", Text, Key),
            col("regime", Text, Key),
            opt("checkpoint_dir", Text, Note),
            col("epoch", Integer, Key),
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
    /// A run's row for one epoch: the original's record columns are left empty.
    #[allow(clippy::too_many_arguments)]
    pub fn run_row(
        profile: &str,
        seed: u64,
        dataset: DatasetId,
        regime: Regime,
        epoch: u32,
        [train_acc_pct, train_loss, val_acc_pct, val_loss]: [f64; 4],
        [train_sigma, val_sigma]: [f64; 2],
        source: String,
    ) -> TrainingLog {
        TrainingLog {
            profile: profile.to_string(),
            seed,
            dataset,
            regime,
            checkpoint_dir: None,
            epoch,
            log_epoch_label: None,
            train_acc_pct: Some(train_acc_pct),
            train_loss: Some(train_loss),
            val_acc_pct: Some(val_acc_pct),
            val_loss: Some(val_loss),
            train_acc_pct_pkl: None,
            train_loss_pkl: None,
            val_acc_pct_pkl: None,
            val_loss_pkl: None,
            train_sigma,
            val_sigma,
            source,
        }
    }
}

/// Receptive-field size measures per checkpoint and layer (receptive_fields.ipynb): `moment_size_mean`/`_std`
/// (sigma_x + sigma_y of the |w| distribution of channel-averaged kernels, kernel pixels), Gabor-fit counts and
/// sizes, kernel statistics. `epoch` is empty for measures over several epochs.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RfSize {
    pub profile: String,
    pub seed: u64,
    pub dataset: DatasetId,
    pub regime: Regime,
    pub epoch: Option<u32>,
    pub layer: String,
    pub measure: String,
    pub value: f64,
    pub source: String,
}

impl Table for RfSize {
    const SCHEMA: Schema = Schema {
        name: "rf_size",
        columns: &[
            PROFILE,
            SEED,
            col("dataset", Text, Key),
            col("regime", Text, Key),
            opt("epoch", Integer, Key),
            col("layer", Text, Key),
            col("measure", Text, Key),
            col("value", Float, Val),
            SOURCE,
        ],
    };
}

/// One conv filter's 2-D Gabor fit: size (sigma_x + sigma_y) / 2 in kernel pixels (empty when not valid), R², and
/// `valid` = 1 when R² >= 0.4 (receptive_fields.ipynb, cells 36/48).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RfGaborFilter {
    pub profile: String,
    pub seed: u64,
    pub dataset: DatasetId,
    pub regime: Regime,
    pub epoch: u32,
    pub layer: String,
    pub filter: u32,
    pub gabor_size: Option<f64>,
    pub r_squared: f64,
    pub valid: u8,
    pub source: String,
}

impl Table for RfGaborFilter {
    const SCHEMA: Schema = Schema {
        name: "rf_gabor_filters",
        columns: &[
            PROFILE,
            SEED,
            col("dataset", Text, Key),
            col("regime", Text, Key),
            col("epoch", Integer, Key),
            col("layer", Text, Key),
            col("filter", Integer, Key),
            opt("gabor_size", Float, Val),
            col("r_squared", Float, Val),
            col("valid", Integer, Val),
            SOURCE,
        ],
    };
}

/// Peak spatial-frequency statistics per checkpoint and layer (spatial_frequency.ipynb): `mean_peak_sf`
/// (cycles/image), `prop_peak_sf_gt_25`, `n_peak_sf_gt_25` and the conv5 histogram counts `hist_count_<lo>_<hi>`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SpatialFrequency {
    pub profile: String,
    pub seed: u64,
    pub dataset: DatasetId,
    pub regime: Regime,
    pub epoch: u32,
    pub layer: String,
    pub statistic: String,
    pub value: f64,
    pub source: String,
}

impl Table for SpatialFrequency {
    const SCHEMA: Schema = Schema {
        name: "spatial_frequency",
        columns: &[
            PROFILE,
            SEED,
            col("dataset", Text, Key),
            col("regime", Text, Key),
            col("epoch", Integer, Key),
            col("layer", Text, Key),
            col("statistic", Text, Key),
            col("value", Float, Val),
            SOURCE,
        ],
    };
}

/// Effective receptive field statistics (Luo et al. 2016) per checkpoint and layer (src/analysis/erf.rs): `r50_px`,
/// `r95_px` (radius holding 50 % / 95 % of the gradient mass), `sigma_px` (of the Gaussian with the map's second
/// moment), in input pixels, and their `*_frac` forms (divided by the input side). `input` is `images` (test
/// images) or `noise`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Erf {
    pub profile: String,
    pub seed: u64,
    pub dataset: DatasetId,
    pub regime: Regime,
    pub epoch: u32,
    pub layer: String,
    pub input: String,
    pub statistic: String,
    pub value: f64,
    pub source: String,
}

impl Table for Erf {
    const SCHEMA: Schema = Schema {
        name: "erf",
        columns: &[
            PROFILE,
            SEED,
            col("dataset", Text, Key),
            col("regime", Text, Key),
            col("epoch", Integer, Key),
            col("layer", Text, Key),
            col("input", Text, Key),
            col("statistic", Text, Key),
            col("value", Float, Val),
            SOURCE,
        ],
    };
}

/// Every table, in the order reports list them.
pub const SCHEMAS: [&Schema; 8] = [
    &AccuracyVsBlur::SCHEMA,
    &AccuracyByStage::SCHEMA,
    &AccuracyRatioByStage::SCHEMA,
    &TrainingLog::SCHEMA,
    &RfSize::SCHEMA,
    &RfGaborFilter::SCHEMA,
    &SpatialFrequency::SCHEMA,
    &Erf::SCHEMA,
];

/// The results directory of a run directory (`runs/<profile>` -> `runs/<profile>/results`).
pub fn results_dir(run_dir: &Path) -> PathBuf {
    run_dir.join("results")
}

/// The provenance string of a run's rows, e.g. `run:mini seed 0`.
pub fn run_source(profile: &str, seed: u64) -> String {
    format!("run:{profile} seed {seed}")
}

/// One row as column name -> typed JSON value (null for an empty optional cell). The layer `verify`, the report
/// and the figures work on, so that they handle every table alike.
pub type Record = Map<String, Value>;

/// Write `rows` as `<name>.csv` and `<name>.parquet` in `results_dir`, atomically.
pub fn write_table<T: Table>(results_dir: &Path, rows: &[T]) -> Result<()> {
    let records = rows
        .iter()
        .map(|row| match serde_json::to_value(row) {
            Ok(Value::Object(map)) => Ok(map),
            Ok(other) => bail!("a {} row serialised to {other}, not an object", T::SCHEMA.name),
            Err(err) => Err(err).with_context(|| format!("cannot serialise a {} row", T::SCHEMA.name)),
        })
        .collect::<Result<Vec<_>>>()?;
    write_records(results_dir, &T::SCHEMA, &records)
}

/// Write records of `schema` as CSV and Parquet, atomically.
pub fn write_records(results_dir: &Path, schema: &Schema, records: &[Record]) -> Result<()> {
    let mut frame = to_frame(schema, records)?;
    let csv_path = schema.csv_path(results_dir);
    crate::atomic::write_with(&csv_path, |tmp| {
        let mut file = fs::File::create(tmp).with_context(|| format!("cannot create {}", tmp.display()))?;
        CsvWriter::new(&mut file).finish(&mut frame).with_context(|| format!("cannot write {}", tmp.display()))?;
        file.sync_all().with_context(|| format!("cannot flush {}", tmp.display()))
    })?;
    let parquet_path = results_dir.join(format!("{}.parquet", schema.name));
    crate::atomic::write_with(&parquet_path, |tmp| {
        let file = fs::File::create(tmp).with_context(|| format!("cannot create {}", tmp.display()))?;
        ParquetWriter::new(file)
            .with_compression(ParquetCompression::Uncompressed)
            .finish(&mut frame)
            .with_context(|| format!("cannot write {}", tmp.display()))?;
        Ok(())
    })
}

fn to_frame(schema: &Schema, records: &[Record]) -> Result<DataFrame> {
    let columns = schema
        .columns
        .iter()
        .map(|column| {
            let cells = records.iter().map(|r| r.get(column.name).filter(|v| !v.is_null()));
            let name = PlSmallStr::from_static(column.name);
            let series = match column.kind {
                Text => Series::new(name, cells.map(|v| v.map(text_of)).collect::<Vec<Option<String>>>()),
                Integer => Series::new(name, cells.map(|v| v.and_then(Value::as_i64)).collect::<Vec<_>>()),
                Float => Series::new(name, cells.map(|v| v.and_then(Value::as_f64)).collect::<Vec<_>>()),
            };
            series.into_column()
        })
        .collect();
    DataFrame::new(records.len(), columns).with_context(|| format!("cannot build the {} table", schema.name))
}

fn text_of(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Read `<name>.csv` of table `T` from `results_dir`.
pub fn read_table<T: Table>(results_dir: &Path) -> Result<Vec<T>> {
    let path = T::SCHEMA.csv_path(results_dir);
    read_records(&path, &T::SCHEMA, &[])?
        .into_iter()
        .enumerate()
        .map(|(i, record)| {
            serde_json::from_value(Value::Object(record)).with_context(|| {
                format!("{}: row {} does not fit the {} schema", path.display(), i + 1, T::SCHEMA.name)
            })
        })
        .collect()
}

/// Read table `T` if its CSV exists in `results_dir` (a run may not have produced every table).
pub fn read_table_if_present<T: Table>(results_dir: &Path) -> Result<Option<Vec<T>>> {
    if T::SCHEMA.csv_path(results_dir).exists() {
        read_table(results_dir).map(Some)
    } else {
        Ok(None)
    }
}

/// Read a CSV of `schema` into typed records. `defaults` fill columns the file lacks (used to import the
/// original's CSVs, which have no `profile` or `seed`); any other missing required column is an error.
pub fn read_records(path: &Path, schema: &Schema, defaults: &[(&str, Value)]) -> Result<Vec<Record>> {
    let frame = CsvReadOptions::default()
        .with_has_header(true)
        .with_infer_schema_length(Some(0))
        .try_into_reader_with_file_path(Some(path.to_path_buf()))
        .and_then(|reader| reader.finish())
        .with_context(|| format!("cannot read {} as CSV", path.display()))?;
    let height = frame.height();
    let mut records = vec![Record::new(); height];
    for column in schema.columns {
        let Ok(cells) = frame.column(column.name) else {
            let default = defaults.iter().find(|(name, _)| *name == column.name);
            match (default, column.optional) {
                (Some((_, value)), _) => {
                    records.iter_mut().for_each(|r| _ = r.insert(column.name.into(), value.clone()))
                }
                (None, true) => records.iter_mut().for_each(|r| _ = r.insert(column.name.into(), Value::Null)),
                (None, false) => bail!(
                    "{} has no column '{}', which the {} table requires (columns: {})",
                    path.display(),
                    column.name,
                    schema.name,
                    schema.columns.iter().map(|c| c.name).collect::<Vec<_>>().join(",")
                ),
            }
            continue;
        };
        let cells = cells.str().with_context(|| format!("{}: column '{}' is not text", path.display(), column.name))?;
        for (i, (record, cell)) in records.iter_mut().zip(cells.iter()).enumerate() {
            let value = parse_cell(column, cell.map(str::trim).filter(|s| !s.is_empty())).with_context(|| {
                format!("{}: row {}, column '{}' ({:?})", path.display(), i + 1, column.name, cell.unwrap_or(""))
            })?;
            record.insert(column.name.into(), value);
        }
    }
    Ok(records)
}

fn parse_cell(column: &Column, cell: Option<&str>) -> Result<Value> {
    let Some(text) = cell else {
        if column.optional {
            return Ok(Value::Null);
        }
        bail!("the cell is empty, but the column is required");
    };
    Ok(match column.kind {
        Text => Value::String(text.to_string()),
        Integer => Value::from(text.parse::<i64>().with_context(|| format!("'{text}' is not an integer"))?),
        Float => {
            let x = text.parse::<f64>().with_context(|| format!("'{text}' is not a number"))?;
            Value::Number(Number::from_f64(x).with_context(|| format!("'{text}' is not a finite number"))?)
        }
    })
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

/// Import one of the original's reference CSVs (`../shared/reference/<name>.csv`) into `schema`, as profile
/// `paper`, seed 0, keeping every row and its `source` verbatim.
pub fn import_reference_table(reference_dir: &Path, schema: &Schema) -> Result<Vec<Record>> {
    let path = schema.csv_path(reference_dir);
    read_records(&path, schema, &[("profile", Value::from("paper")), ("seed", Value::from(0))])
}

/// Convert every reference CSV present in `reference_dir` into the project's schemas under `out_dir`
/// (`expected/paper/`). Tables the original has no numbers for (erf) are skipped. Returns the tables written.
pub fn import_reference(reference_dir: &Path, out_dir: &Path) -> Result<Vec<(&'static str, usize)>> {
    let mut written = Vec::new();
    for schema in SCHEMAS {
        if !schema.csv_path(reference_dir).exists() {
            continue;
        }
        let records = import_reference_table(reference_dir, schema)?;
        write_records(out_dir, schema, &records)?;
        written.push((schema.name, records.len()));
    }
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

    fn columns_match<T: Table>(row: T) {
        let Value::Object(map) = serde_json::to_value(row).unwrap() else { panic!("not an object") };
        let fields: Vec<&str> = map.keys().map(String::as_str).collect();
        let mut declared: Vec<&str> = T::SCHEMA.columns.iter().map(|c| c.name).collect();
        let mut fields_sorted = fields.clone();
        fields_sorted.sort();
        declared.sort();
        assert_eq!(fields_sorted, declared, "{}", T::SCHEMA.name);
    }

    fn accuracy_row(sigma: f64, acc: f64, source: &str) -> AccuracyVsBlur {
        AccuracyVsBlur {
            profile: "tiny".into(),
            seed: 1,
            dataset: DatasetId::Faces,
            regime: Regime::BlurryToClear,
            test_sigma: sigma,
            accuracy_pct: acc,
            source: source.into(),
        }
    }

    #[test]
    fn every_schema_names_exactly_its_struct_fields() {
        columns_match(accuracy_row(0.0, 1.0, "run:tiny seed 1"));
        columns_match(AccuracyByStage {
            profile: "p".into(),
            seed: 0,
            dataset: DatasetId::In12,
            regime: Regime::Clear,
            epoch: 20,
            test_sigma: 1.0,
            accuracy_pct: 2.0,
            source: "s".into(),
        });
        columns_match(AccuracyRatioByStage {
            profile: "p".into(),
            seed: 0,
            dataset: DatasetId::In12,
            epoch: 20,
            minibatch: 3.0,
            test_sigma: 8.0,
            ratio_b2c_over_clear: 1.0,
            source: "s".into(),
        });
        columns_match(TrainingLog::run_row("p", 0, DatasetId::In12, Regime::Clear, 1, [1.0; 4], [0.0; 2], "s".into()));
        columns_match(RfSize {
            profile: "p".into(),
            seed: 0,
            dataset: DatasetId::In12,
            regime: Regime::Clear,
            epoch: None,
            layer: "features.0".into(),
            measure: "m".into(),
            value: 1.0,
            source: "s".into(),
        });
        columns_match(RfGaborFilter {
            profile: "p".into(),
            seed: 0,
            dataset: DatasetId::In12,
            regime: Regime::Clear,
            epoch: 100,
            layer: "features.0".into(),
            filter: 3,
            gabor_size: None,
            r_squared: 0.5,
            valid: 1,
            source: "s".into(),
        });
        columns_match(SpatialFrequency {
            profile: "p".into(),
            seed: 0,
            dataset: DatasetId::In12,
            regime: Regime::Clear,
            epoch: 100,
            layer: "features.0".into(),
            statistic: "mean_peak_sf".into(),
            value: 1.0,
            source: "s".into(),
        });
        columns_match(Erf {
            profile: "p".into(),
            seed: 0,
            dataset: DatasetId::In12,
            regime: Regime::Clear,
            epoch: 100,
            layer: "features.0".into(),
            input: "noise".into(),
            statistic: "r50_px".into(),
            value: 1.0,
            source: "s".into(),
        });
    }

    #[test]
    fn tables_round_trip_through_csv_and_write_parquet() {
        let dir = tempfile::tempdir().unwrap();
        let rows = vec![accuracy_row(0.0, 88.78, "run:tiny seed 1"), accuracy_row(8.5, 12.345678901234, "x")];
        write_table(dir.path(), &rows).unwrap();
        assert_eq!(read_table::<AccuracyVsBlur>(dir.path()).unwrap(), rows);
        assert!(dir.path().join("accuracy_vs_blur.parquet").metadata().unwrap().len() > 0);
        let log =
            vec![TrainingLog::run_row("p", 0, DatasetId::Faces, Regime::Blurry, 3, [1.5; 4], [8.0, 8.0], "s".into())];
        write_table(dir.path(), &log).unwrap();
        assert_eq!(read_table::<TrainingLog>(dir.path()).unwrap(), log);
    }

    #[test]
    fn a_missing_column_is_named_with_its_file() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join("accuracy_vs_blur.csv"), "profile,seed,dataset,regime,test_sigma,source\n").unwrap();
        let err = format!("{:#}", read_table::<AccuracyVsBlur>(dir.path()).unwrap_err());
        assert!(err.contains("accuracy_vs_blur.csv") && err.contains("'accuracy_pct'"), "{err}");
    }

    #[test]
    fn a_bad_cell_is_named_with_row_and_column() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(
            dir.path().join("accuracy_vs_blur.csv"),
            "profile,seed,dataset,regime,test_sigma,accuracy_pct,source\np,0,faces,clear,0,88.1,s\np,0,faces,clear,1,lots,s\n",
        )
        .unwrap();
        let err = format!("{:#}", read_table::<AccuracyVsBlur>(dir.path()).unwrap_err());
        assert!(err.contains("row 2") && err.contains("'accuracy_pct'") && err.contains("'lots'"), "{err}");
    }

    #[test]
    fn ratio_rows_divide_blurry_to_clear_by_clear_accuracy() {
        let stage = |regime, acc| AccuracyByStage {
            profile: "tiny".into(),
            seed: 0,
            dataset: DatasetId::Faces,
            regime,
            epoch: 20,
            test_sigma: 8.0,
            accuracy_pct: acc,
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
