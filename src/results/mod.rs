//! The results tables: one tidy schema per table, one row per observation, shared by the original's numbers
//! (`expected/paper/`) and every run (`runs/<profile>/results/`), so that every figure, `verify` and the report can
//! read either.
//!
//! The columns are those of the original's reference tables (`paper/ORIGINAL.md`) where they overlap, plus `profile` and `seed`. Sigma is
//! always in pixels of the 224-px protocol. A table is written as `<name>.csv` (read back by [`read_table`]) and
//! `<name>.parquet` (for analysis tools), both atomically.
//!
//! Each table is declared once, below: a plain row struct with public fields, each field with the role of its
//! column: part of the observation's key (what was measured), a measured value (what `verify` compares), or
//! bookkeeping (`profile`, `seed`, `source`, and the original's extra columns). The declaration makes the row type,
//! its [`Schema`] and its place in the registry ([`SCHEMAS`], [`Tables`], [`TableRows`]); every list of tables is
//! derived from it. [`ResultsDir`] reads a directory of tables and the profile that made them.
mod dir;
mod frame;
mod io;
mod schema;

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::vocab::{DatasetId, ErfInput, ErfStatistic, Layer, Regime, RfMeasure, SfStatistic};
pub use dir::{ResultsDir, RunProfile};
pub use io::{read_records, read_table, read_table_if_present, write_records, write_table, Record};
pub use schema::{Cell, CellType, Column, Kind, RecordRow, Role, Row, Schema, Table};

/// The schema called `name`, or an error listing the tables.
pub(crate) fn schema(name: &str) -> Result<&'static Schema> {
    SCHEMAS.iter().copied().find(|s| s.name == name).with_context(|| {
        let names: Vec<&str> = SCHEMAS.iter().map(|s| s.name).collect();
        format!("unknown table '{name}'; valid tables: {}", names.join(", "))
    })
}

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
    /// Its columns, first in every table that embeds it.
    pub(crate) const COLUMNS: [Column; 4] = [
        Column::of::<String>("profile", Role::Note),
        Column::of::<u64>("seed", Role::Note),
        Column::of::<DatasetId>("dataset", Role::Key),
        Column::of::<Regime>("regime", Role::Key),
    ];

    /// The key of `run`'s rows.
    pub(crate) fn of(run: &crate::protocol::RunSpec) -> RunKey {
        RunKey { profile: run.profile.clone(), seed: run.seed, dataset: run.dataset, regime: run.regime }
    }

    /// The cell of its column `column` ([`RunKey::COLUMNS`]).
    pub(crate) fn cell(&self, column: usize) -> Cell<'_> {
        match column {
            0 => self.profile.cell(),
            1 => self.seed.cell(),
            2 => self.dataset.cell(),
            3 => self.regime.cell(),
            _ => Cell::Empty,
        }
    }

    /// The provenance of a run's rows, e.g. `run:mini seed 0`.
    pub(crate) fn source(&self) -> String {
        format!("run:{} seed {}", self.profile, self.seed)
    }
}

schema::tables! {
    /// Test accuracy of each final model against test blur (robustness_results.ipynb, cell 19/20). A run also records
    /// the test images evaluated and the accuracy's 95 % Wilson interval (empty in the original's table).
    accuracy_vs_blur: AccuracyVsBlur [made_by: Evaluate, reference: true, reduced: true] {
        ..RunKey,
        Key test_sigma: f64,
        Value accuracy_pct: f64,
        Note images: Option<u32>,
        Note ci_low_pct: Option<f64>,
        Note ci_high_pct: Option<f64>,
        Note source: String,
    }

    /// Test accuracy at each training stage's checkpoint against test blur (robustness_across_stages.ipynb), with the
    /// same interval columns as [`AccuracyVsBlur`].
    accuracy_by_stage: AccuracyByStage [made_by: Evaluate, reference: true, reduced: true] {
        ..RunKey,
        Key epoch: u32,
        Key test_sigma: f64,
        Value accuracy_pct: f64,
        Note images: Option<u32>,
        Note ci_low_pct: Option<f64>,
        Note ci_high_pct: Option<f64>,
        Note source: String,
    }

    /// Blurry-to-clear accuracy over clear accuracy at one test sigma, per stage (robustness_across_stages.ipynb,
    /// cell 37). `minibatch` is the x coordinate of the original's plot (training iterations so far; the original's
    /// `total_minibatches * epoch / 100` is fractional), not compared.
    accuracy_ratio_by_stage: AccuracyRatioByStage [made_by: Gather, reference: true, reduced: true] {
        Note profile: String,
        Note seed: u64,
        Key dataset: DatasetId,
        Key epoch: u32,
        Note minibatch: f64,
        Key test_sigma: f64,
        Value ratio_b2c_over_clear: f64,
        Note source: String,
    }

    /// Per-epoch training and validation accuracy and loss. Epoch 0 is the evaluation before training. The
    /// `checkpoint_dir`, `log_epoch_label` and `*_pkl` columns keep the original's record (training logs and
    /// `metrics.pkl`); a run leaves them empty. A metric is empty where the original's log lacks the line (and a run's
    /// training metrics at epoch 0 under `train_metrics = "running"`).
    training_log: TrainingLog [made_by: Train, reference: true, reduced: true] {
        ..RunKey,
        Note checkpoint_dir: Option<String>,
        Key epoch: u32,
        Note log_epoch_label: Option<String>,
        Value train_acc_pct: Option<f64>,
        Value train_loss: Option<f64>,
        Value val_acc_pct: Option<f64>,
        Value val_loss: Option<f64>,
        Note train_acc_pct_pkl: Option<f64>,
        Note train_loss_pkl: Option<f64>,
        Note val_acc_pct_pkl: Option<f64>,
        Note val_loss_pkl: Option<f64>,
        Note train_sigma: f64,
        Note val_sigma: f64,
        Note source: String,
    }

    /// Receptive-field size measures per checkpoint and layer (receptive_fields.ipynb): see [`RfMeasure`]. `epoch` is
    /// empty for measures over several epochs.
    rf_size: RfSize [made_by: Analyse, reference: true, reduced: true] {
        ..RunKey,
        Key epoch: Option<u32>,
        Key layer: Layer,
        Key measure: RfMeasure,
        Value value: f64,
        Note source: String,
    }

    /// One conv filter's 2-D Gabor fit: size (sigma_x + sigma_y) / 2 in kernel pixels (empty when not valid), R², and
    /// `valid` = 1 when R² >= 0.4 (receptive_fields.ipynb, cells 36/48). A run also records the fitted parameters
    /// (`analysis::gabor`'s model, kernel pixels and radians; empty where no fit converged, and in the original's
    /// table), from which the `gabor_fit_grid` figure renders each fit.
    rf_gabor_filters: RfGaborFilter [made_by: Analyse, reference: true, reduced: true] {
        ..RunKey,
        Key epoch: u32,
        Key layer: Layer,
        Key filter: u32,
        Value gabor_size: Option<f64>,
        Value r_squared: f64,
        Value valid: u8,
        Note amplitude: Option<f64>,
        Note x0: Option<f64>,
        Note y0: Option<f64>,
        Note sigma_x: Option<f64>,
        Note sigma_y: Option<f64>,
        Note theta: Option<f64>,
        Note frequency: Option<f64>,
        Note phase: Option<f64>,
        Note offset: Option<f64>,
        Note source: String,
    }

    /// Peak spatial-frequency statistics per checkpoint and layer (spatial_frequency.ipynb): see [`SfStatistic`].
    spatial_frequency: SpatialFrequency [made_by: Analyse, reference: true, reduced: true] {
        ..RunKey,
        Key epoch: u32,
        Key layer: Layer,
        Key statistic: SfStatistic,
        Value value: f64,
        Note source: String,
    }

    /// Effective receptive field statistics (Luo et al. 2016) per checkpoint and layer (src/analysis/erf.rs): see
    /// [`ErfStatistic`]; `input` is `images` (test images) or `noise`.
    erf: Erf [made_by: Analyse, reference: false, reduced: true] {
        ..RunKey,
        Key epoch: u32,
        Key layer: Layer,
        Key input: ErfInput,
        Key statistic: ErfStatistic,
        Value value: f64,
        Note source: String,
    }

    /// The radial profile of an ERF map: its mean over 1-px rings around the image centre, in input pixels of the
    /// run's resolution (what the `erf_radial_profiles` figure draws).
    erf_profiles: ErfProfile [made_by: Analyse, reference: false, reduced: false] {
        ..RunKey,
        Key epoch: u32,
        Key layer: Layer,
        Key input: ErfInput,
        Key radius_px: f64,
        Value value: f64,
        Note source: String,
    }

    /// An ERF map as an image: the conv5 map on test images (what the `erf_maps` figure draws), average-pooled to at
    /// most `ERF_MAP_MAX_SIDE` (`src/analysis/checkpoint.rs`) pixels a side, one row per pixel, normalised to sum 1.
    erf_maps: ErfMapPixel [made_by: Analyse, reference: false, reduced: false] {
        ..RunKey,
        Key epoch: u32,
        Key layer: Layer,
        Key input: ErfInput,
        Key row: u32,
        Key col: u32,
        Value value: f64,
        Note source: String,
    }

    /// The conv1 kernels of blurry-to-clear runs (the models whose kernels the paper shows through training,
    /// receptive_fields.ipynb cells 22-30, 44-45, 56-57, ...), one row per weight, at every analysed epoch.
    conv1_kernels: Conv1Weight [made_by: Analyse, reference: false, reduced: false] {
        ..RunKey,
        Key epoch: u32,
        Key filter: u32,
        /// Input colour channel (0 red, 1 green, 2 blue).
        Key channel: u32,
        Key row: u32,
        Key col: u32,
        Value weight: f64,
        Note source: String,
    }

    /// Which test images a model got right: one row per checkpoint evaluated and test sigma, the per-image correctness
    /// packed as hex ([`crate::stats::bits_to_hex`]: bit `i % 8` of byte `i / 8` is test image `i`, in the split's
    /// order). The paired bootstrap intervals of the report resample these: every regime of a dataset is evaluated on
    /// the same test images.
    test_predictions: TestPredictions [made_by: Evaluate, reference: false, reduced: true] {
        ..RunKey,
        Key epoch: u32,
        Key test_sigma: f64,
        Note images: u32,
        Note correct: String,
        Note source: String,
    }
}

impl AccuracyRatioByStage {
    /// Cell 37's ratio from a run's stage table: blurry-to-clear over clear accuracy at `test_sigma`, per dataset,
    /// epoch and seed, at minibatch `steps_per_epoch(dataset) * epoch`. Points where clear accuracy is 0 are skipped.
    pub(crate) fn from_stages(
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

/// One line of a run's training log, as training measures it (and keeps it in its checkpoints' log snapshots);
/// [`TrainingLog::from_epoch`] makes it a row. Epoch 0 is the evaluation before training, as in the original's logs.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub(crate) struct EpochLog {
    pub epoch: u32,
    /// Not measured at epoch 0 under `train_metrics = "running"`.
    pub train_acc_pct: Option<f64>,
    pub train_loss: Option<f64>,
    pub val_acc_pct: f64,
    pub val_loss: f64,
    /// Sigmas in 224-px protocol pixels.
    pub train_sigma: f64,
    pub val_sigma: f64,
}

impl TrainingLog {
    /// A run's row for one epoch of its log: the original's record columns are left empty.
    pub(crate) fn from_epoch(run: &RunKey, entry: &EpochLog) -> TrainingLog {
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
    pub(crate) fn of(source: &str) -> SourceKind {
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

    pub(crate) fn name(self) -> &'static str {
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
pub(crate) fn source_quality(source: &str) -> Option<&str> {
    let start = source.rfind("quality=")? + "quality=".len();
    let rest = &source[start..];
    let end = rest.find(|c: char| !(c.is_ascii_alphanumeric() || c == '_')).unwrap_or(rest.len());
    Some(&rest[..end])
}

/// The key of a record: its key columns' values, rendered as text (`faces/clear/8`).
pub(crate) fn record_key(schema: &Schema, record: &Record) -> Vec<String> {
    schema.keys().map(|c| record.get(c.name).map(cell_text).unwrap_or_default()).collect()
}

/// A cell as text, the way a reader expects it: `8` for a whole float, empty for null.
pub(crate) fn cell_text(value: &Value) -> String {
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
pub(crate) fn preferred<'a>(schema: &Schema, records: &'a [Record]) -> Vec<&'a Record> {
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

/// Typed rows of one table reduced to one per observation and seed, the most trusted source ([`preferred`]'s choice,
/// on typed rows): seeds in ascending order, observations in the order first seen. What the figures draw and the
/// claims judge.
pub(crate) fn reduce<T: Table>(rows: Vec<T>) -> Vec<T> {
    let schema = &T::SCHEMA;
    let column = |name: &str| schema.columns.iter().position(|c| c.name == name);
    let (seed, source) = (column("seed"), column("source"));
    let keys = schema.key_positions();
    let mut by_seed: std::collections::BTreeMap<i64, Vec<usize>> = std::collections::BTreeMap::new();
    for (i, row) in rows.iter().enumerate() {
        let seed = seed.and_then(|c| row.cell(c).number()).map_or(0, |s| s as i64);
        by_seed.entry(seed).or_default().push(i);
    }
    let kind = |row: &T| SourceKind::of(&source.map(|c| row.cell(c).to_string()).unwrap_or_default());
    let mut kept = Vec::with_capacity(rows.len());
    for members in by_seed.into_values() {
        let mut chosen: Vec<usize> = Vec::new();
        let mut index = std::collections::HashMap::new();
        for i in members {
            let key: Vec<String> = keys.iter().map(|c| rows[i].cell(*c).to_string()).collect();
            match index.get(&key) {
                None => {
                    index.insert(key, chosen.len());
                    chosen.push(i);
                }
                Some(&at) if kind(&rows[i]) < kind(&rows[chosen[at]]) => chosen[at] = i,
                Some(_) => {}
            }
        }
        kept.extend(chosen);
    }
    let mut rows: Vec<Option<T>> = rows.into_iter().map(Some).collect();
    kept.into_iter().filter_map(|i| rows[i].take()).collect()
}

/// Convert every reference CSV present in `reference_dir` (`<table>.csv` of each table the original has numbers
/// for) into the project's schemas under `out_dir` (`expected/paper/`), as profile `paper`, seed 0, keeping every row
/// and its `source` verbatim. Returns the tables written and their rows.
pub fn import_reference(reference_dir: &Path, out_dir: &Path) -> Result<Vec<(&'static str, usize)>> {
    let present: Vec<&Schema> =
        SCHEMAS.into_iter().filter(|s| s.reference && s.csv_path(reference_dir).exists()).collect();
    if present.is_empty() {
        bail!("{} holds none of the reference CSVs ({}.csv, ...)", reference_dir.display(), SCHEMAS[0].name);
    }
    let wanted = |s: &Schema| present.iter().any(|p| p.name == s.name);
    let defaults = [("profile", Value::from("paper")), ("seed", Value::from(0))];
    let tables = Tables::read_with(reference_dir, wanted, &defaults)?;
    tables.write(out_dir, wanted)?;
    Ok(present.iter().map(|s| (s.name, tables.rows(s).map_or(0, |rows| rows.len()))).collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stage::Stage;
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
        let entry = EpochLog {
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
        impl Row for Wrong {
            fn schema(&self) -> &'static Schema {
                &AccuracyVsBlur::SCHEMA
            }
            fn cell(&self, _: usize) -> Cell<'_> {
                Cell::Empty
            }
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
        let kept = reduce(rows.to_vec());
        assert_eq!(kept.iter().map(|r| r.accuracy_pct).collect::<Vec<_>>(), vec![88.78, 80.0]);
    }

    /// The declaration's columns and fields agree: every typed cell of a row is the cell its CSV holds.
    #[test]
    fn typed_cells_are_the_cells_of_the_files() {
        let dir = ResultsDir::new(&crate::provenance::project_path("expected/mini").unwrap());
        let tables = dir.tables(|_| true).unwrap();
        let mut checked = 0;
        for schema in SCHEMAS {
            let Some(records) = dir.records(schema).unwrap() else { continue };
            let rows = tables.rows(schema).unwrap().rows();
            assert_eq!(rows.len(), records.len(), "{}", schema.name);
            for (row, record) in rows.iter().zip(&records).take(40) {
                let file = RecordRow { schema, record };
                for column in 0..schema.columns.len() {
                    assert_eq!(row.cell(column), file.cell(column), "{} column {column}", schema.name);
                }
                assert_eq!(row.cell(schema.columns.len()), Cell::Empty);
            }
            checked += 1;
        }
        assert!(checked >= 9, "{checked} tables");
    }

    #[test]
    fn every_table_is_made_by_a_stage_of_its_own_and_listed_once() {
        let names: std::collections::BTreeSet<&str> = SCHEMAS.iter().map(|s| s.name).collect();
        assert_eq!(names.len(), SCHEMAS.len());
        for schema in SCHEMAS {
            assert!(matches!(schema.made_by, Stage::Train | Stage::Evaluate | Stage::Analyse | Stage::Gather));
            assert!(
                schema.reduced || schema.keys().count() >= 5,
                "{}: a picture's rows are keyed by position",
                schema.name
            );
        }
        let reference: Vec<&str> = SCHEMAS.iter().filter(|s| s.reference).map(|s| s.name).collect();
        let expected = crate::provenance::project_path("expected/paper").unwrap();
        let present: Vec<&str> = SCHEMAS.iter().filter(|s| s.csv_path(&expected).exists()).map(|s| s.name).collect();
        assert_eq!(reference, present, "the original's tables are those it has numbers for");
    }
}
