//! `reproduce`: the stage graph of a profile. For every run (dataset x regime x seed): train, evaluate, analyse;
//! then gather the runs' rows into the results tables, write the manifest, and draw the figures and the report.
//!
//! Each stage is named by the hash of its inputs (the resolved run, the profile's settings that matter, the data's
//! hash and the code version) and skipped when its record says it is done and its outputs verify (see
//! [`crate::stage`]). Training resumes from its last complete checkpoint. Re-running a finished profile therefore
//! does no work and rewrites no file.
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{bail, Context, Result};
use indicatif::{MultiProgress, ProgressBar, ProgressStyle};
use serde::{Deserialize, Serialize};
use tch::Device;

use crate::analysis;
use crate::augment::AugmentSpec;
use crate::data::{self, Split, SplitName};
use crate::device::{describe, DeviceChoice};
use crate::evaluate::{self, EvalLoader};
use crate::model;
use crate::protocol::{parse_run_key, DatasetId, DatasetSpec, Profile, Regime, RunSpec};
use crate::results::{self, AccuracyByStage, AccuracyRatioByStage, AccuracyVsBlur, Erf, RfGaborFilter, RfSize};
use crate::results::{SpatialFrequency, TrainingLog};
use crate::run_dir::RunDir;
use crate::stage::{self, Stage, StageRecord, CODE_VERSION};
use crate::train::{self, EpochLog, RunData, TrainContext};

/// What `blurry-to-clear reproduce` was asked to do.
#[derive(Clone, Debug)]
pub struct ReproduceOptions {
    pub profile: String,
    /// `dataset` or `dataset/regime` filters; empty means every run.
    pub only: Vec<String>,
    pub seeds: u64,
    /// Only the runs of this seed index (what one Slurm array task runs); `None` means every seed.
    pub seed_index: Option<u64>,
    pub device: DeviceChoice,
    pub data_root: Option<PathBuf>,
    pub out: PathBuf,
    /// libtorch's CPU threads; default: libtorch's own choice.
    pub threads: Option<i32>,
    /// Draw the figures and write the report after the tables.
    pub figures: bool,
}

/// Which runs `--only` selects.
#[derive(Clone, Debug, Default)]
pub struct Selection {
    filters: Vec<(DatasetId, Option<Regime>)>,
}

impl Selection {
    /// Parse `--only` values (`faces` or `faces/blurry`); unknown names list the valid ones.
    pub fn parse(only: &[String]) -> Result<Selection> {
        let filters = only
            .iter()
            .map(|item| match item.contains('/') {
                true => parse_run_key(item).map(|(d, r)| (d, Some(r))),
                false => item.parse().map(|d| (d, None)),
            })
            .collect::<Result<_>>()
            .context("in --only")?;
        Ok(Selection { filters })
    }

    pub fn includes(&self, run: &RunSpec) -> bool {
        self.filters.is_empty()
            || self.filters.iter().any(|(d, r)| *d == run.dataset && r.is_none_or(|r| r == run.regime))
    }
}

/// Inputs that decide a run's training; their hash names the train stage.
#[derive(Serialize)]
struct TrainInputs<'a> {
    code: &'static str,
    run: &'a RunSpec,
    dataset: &'a DatasetSpec,
    stored_resolution: u32,
    eval_batch_size: u64,
    eval_drop_last: bool,
    drop_last: bool,
    train_metrics: crate::protocol::TrainMetrics,
    checkpoint_every: u32,
    data: &'a str,
}

#[derive(Serialize)]
struct EvaluateInputs<'a> {
    code: &'static str,
    train: &'a str,
    test_sigmas: &'a [f64],
    stage_test_sigmas: &'a [f64],
    stage_epochs: &'a [u32],
    eval_batch_size: u64,
    eval_drop_last: bool,
}

#[derive(Serialize)]
struct AnalyseInputs<'a> {
    code: &'static str,
    train: &'a str,
    analysis: &'a crate::protocol::AnalysisSpec,
}

/// What `run.json` says about a run: its resolved spec and the input hash of its training.
#[derive(Serialize, Deserialize)]
struct RunRecord {
    train_hash: String,
    run: serde_json::Value,
}

/// The three splits of one dataset, loaded once for all its runs.
struct DatasetData {
    train: Split,
    val: Split,
    test: Split,
}

/// The dataset of the runs at hand, loaded on first use (a finished run needs no data) and kept while the next
/// runs use the same dataset.
struct DataCache<'a> {
    profile: &'a Profile,
    sources: data::cache::DataSourceArgs,
    device: Device,
    loaded: Option<(DatasetId, DatasetData)>,
}

impl DataCache<'_> {
    fn get(&mut self, id: DatasetId) -> Result<&DatasetData> {
        if self.loaded.as_ref().map(|(d, _)| *d) != Some(id) {
            self.loaded = None;
            let split = |s| data::cache::load_split(self.profile, id, s, &self.sources, self.device);
            let data = DatasetData {
                train: split(SplitName::Train)?,
                val: split(SplitName::Val)?,
                test: split(SplitName::Test)?,
            };
            self.loaded = Some((id, data));
        }
        Ok(&self.loaded.as_ref().context("dataset vanished")?.1)
    }
}

/// Run the stage graph of a profile.
pub fn reproduce(opts: &ReproduceOptions) -> Result<()> {
    let started = Instant::now();
    let profile = Profile::load(&opts.profile)?;
    let device = opts.device.resolve()?;
    if let Some(threads) = opts.threads {
        tch::set_num_threads(threads);
    }
    let selection = Selection::parse(&opts.only)?;
    if opts.seeds == 0 {
        bail!("--seeds must be at least 1");
    }
    if let Some(index) = opts.seed_index.filter(|i| *i >= opts.seeds) {
        bail!("--seed-index {index} names no seed: with --seeds {} they are 0 to {}", opts.seeds, opts.seeds - 1);
    }
    let runs: Vec<RunSpec> = profile
        .runs(opts.seeds)?
        .into_iter()
        .filter(|r| selection.includes(r) && opts.seed_index.is_none_or(|i| i == r.seed_index))
        .collect();
    let profile_dir = opts.out.join(&profile.name);
    for run in &runs {
        crate::lock::Lock::check_free(&RunDir::new(&profile_dir, run).root)?;
    }
    tracing::info!(
        "profile {}: {} runs on {} into {}",
        profile.name,
        runs.len(),
        describe(device),
        profile_dir.display()
    );
    let bars = MultiProgress::new();
    let overall = bars.add(ProgressBar::new(runs.len() as u64));
    overall.set_style(bar_style("{prefix:>8} [{bar:30}] {pos}/{len} runs, {elapsed} elapsed, ETA {eta}"));
    overall.set_prefix("profile");
    let per_run = bars.add(ProgressBar::new(0));
    per_run.set_style(bar_style("{prefix:>8} [{bar:30}] {msg} {per_sec} ETA {eta}"));
    per_run.set_prefix("run");

    let sources = data::cache::DataSourceArgs { data_root: opts.data_root.clone() };
    let mut cache = DataCache { profile: &profile, sources: sources.clone(), device, loaded: None };
    for run in &runs {
        crate::interrupt::check()?;
        let dataset_spec = profile.dataset(run.dataset)?;
        let data_hash = data::cache::dataset_hash(&profile, run.dataset, &sources)?;
        let dir = RunDir::new(&profile_dir, run);
        let train_hash = stage::hash_inputs(&TrainInputs {
            code: CODE_VERSION,
            run,
            dataset: dataset_spec,
            stored_resolution: profile.stored_resolution,
            eval_batch_size: profile.eval_batch_size,
            eval_drop_last: profile.eval_drop_last,
            drop_last: profile.drop_last,
            train_metrics: profile.train_metrics,
            checkpoint_every: profile.checkpoint_every,
            data: &data_hash,
        })?;
        let ctx = RunStages { profile: &profile, run, dir: &dir, device, train_hash: &train_hash };
        bars.suspend(|| tracing::info!("run {} seed {}", run.key(), run.seed));
        let _lock = crate::lock::Lock::acquire(&dir.root)?;
        let outcome = ctx
            .train(&mut cache, &per_run)
            .and_then(|()| ctx.evaluate(&mut cache))
            .and_then(|()| ctx.analyse(&mut cache));
        crate::status::record_outcome(&dir, &outcome);
        outcome?;
        overall.inc(1);
    }
    per_run.finish_and_clear();
    overall.finish_and_clear();

    crate::interrupt::check()?;
    let _lock = crate::lock::Lock::wait_for(&profile_dir, std::time::Duration::from_secs(600))?;
    let all_runs = profile.runs(opts.seeds)?;
    gather_tables(&profile, &profile_dir, &all_runs)?;
    if opts.figures {
        draw_and_report(&profile_dir)?;
    }
    write_manifest(&profile, &opts.profile, &profile_dir, &all_runs, device, opts.seeds)?;
    tracing::info!(
        "profile {} done in {:.0} s; results in {}",
        profile.name,
        started.elapsed().as_secs_f64(),
        results::results_dir(&profile_dir).display()
    );
    Ok(())
}

/// The figures of the run (`runs/<profile>/figures/<profile>/`) and its report against the profile's expected
/// numbers (`expected/<profile>/`, or the original's for the paper profiles), where there are any. Skipped when
/// neither the tables nor what they are drawn and judged with (catalogue, claims, expected numbers) changed.
fn draw_and_report(profile_dir: &Path) -> Result<()> {
    let expected = crate::verify::default_expected_dir(profile_dir)?;
    let mut inputs = BTreeMap::new();
    let results_dir = results::results_dir(profile_dir);
    let catalogue =
        [crate::provenance::project_path("paper/figures.toml"), crate::provenance::project_path("paper/claims.toml")];
    for dir in [&results_dir, &expected] {
        for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
            let path = entry.path();
            if path.extension().is_some_and(|e| e == "csv" || e == "toml") {
                inputs.insert(path.display().to_string(), crate::provenance::sha256_file(&path)?);
            }
        }
    }
    for path in &catalogue {
        inputs.insert(path.display().to_string(), crate::provenance::sha256_file(path)?);
    }
    let hash = stage::hash_inputs(&(CODE_VERSION, crate::provenance::git_commit(), &inputs))?;
    let stage = Stage::new("figures", profile_dir.join("stages").join("figures.json"), profile_dir);
    if stage.done(&hash).is_some() {
        return Ok(());
    }
    let started = Instant::now();
    let source = crate::figures::Source::resolve(&profile_dir.display().to_string())?;
    let figures_dir = profile_dir.join("figures");
    let drawn = crate::figures::draw_source(&source, &figures_dir)?;
    tracing::info!("{} figures in {}", drawn.len(), figures_dir.join(&source.name).display());
    let mut outputs: Vec<PathBuf> = std::fs::read_dir(figures_dir.join(&source.name))?
        .map(|e| e.map(|e| e.path()))
        .collect::<std::io::Result<_>>()?;
    if expected.is_dir() {
        let report = crate::report::write_report(profile_dir, Some(&expected))?;
        tracing::info!("report against {}: {}", expected.display(), report.display());
        outputs.push(report);
    } else {
        tracing::info!(
            "no expected numbers in {}: no report (the snapshot tests check this profile)",
            expected.display()
        );
    }
    outputs.sort();
    stage.finish(&hash, &outputs, started.elapsed().as_secs_f64(), "cpu")?;
    Ok(())
}

fn bar_style(template: &str) -> ProgressStyle {
    ProgressStyle::with_template(template).unwrap_or_else(|_| ProgressStyle::default_bar()).progress_chars("=> ")
}

/// The stages of one run.
struct RunStages<'a> {
    profile: &'a Profile,
    run: &'a RunSpec,
    dir: &'a RunDir,
    device: Device,
    train_hash: &'a str,
}

impl RunStages<'_> {
    fn stage(&self, name: &str) -> Stage {
        Stage::new(name, self.dir.stage_record(name), &self.dir.root)
    }

    fn augment_spec(&self) -> Result<AugmentSpec> {
        Ok(AugmentSpec::for_dataset(self.profile.dataset(self.run.dataset)?, self.profile.resolution))
    }

    fn train(&self, cache: &mut DataCache, bar: &ProgressBar) -> Result<()> {
        let stage = self.stage("train");
        if stage.done(self.train_hash).is_some() {
            return Ok(());
        }
        self.discard_if_stale()?;
        let started = Instant::now();
        let data = cache.get(self.run.dataset)?;
        let augment = self.augment_spec()?;
        let ctx = TrainContext {
            profile: self.profile,
            run: self.run,
            dir: self.dir,
            data: RunData { train: &data.train, val: &data.val },
            augment: &augment,
            device: self.device,
            progress: bar,
        };
        let log = train::train(&ctx)?;
        let rows: Vec<TrainingLog> = log.iter().map(|e| self.log_row(e)).collect();
        let table = self.write_rows("training_log", &rows)?;
        let mut outputs: Vec<PathBuf> =
            train::checkpoint_epochs(self.profile).iter().map(|e| self.dir.checkpoint(*e)).collect();
        outputs.push(table);
        stage.finish(self.train_hash, &outputs, started.elapsed().as_secs_f64(), &describe(self.device))?;
        Ok(())
    }

    /// A run directory trained under other inputs (a changed protocol or code version) is started afresh.
    fn discard_if_stale(&self) -> Result<()> {
        let record =
            std::fs::read(self.dir.spec_file()).ok().and_then(|b| serde_json::from_slice::<RunRecord>(&b).ok());
        if record.as_ref().is_some_and(|r| r.train_hash != self.train_hash) {
            tracing::warn!(
                "{}: inputs changed since its checkpoints were written; training it afresh",
                self.dir.root.display()
            );
            for sub in ["checkpoints", "stages", "tables", "erf"] {
                let path = self.dir.root.join(sub);
                if path.exists() {
                    std::fs::remove_dir_all(&path)
                        .with_context(|| format!("cannot remove stale {}", path.display()))?;
                }
            }
        }
        let record = RunRecord { train_hash: self.train_hash.to_owned(), run: serde_json::to_value(self.run)? };
        stage::write_if_changed(&self.dir.spec_file(), &serde_json::to_vec_pretty(&record)?)?;
        Ok(())
    }

    fn log_row(&self, e: &EpochLog) -> TrainingLog {
        let mut row = TrainingLog::run_row(
            &self.run.profile,
            self.run.seed,
            self.run.dataset,
            self.run.regime,
            e.epoch,
            [0.0, 0.0, e.val_acc_pct, e.val_loss],
            [e.train_sigma, e.val_sigma],
            results::run_source(&self.run.profile, self.run.seed),
        );
        row.train_acc_pct = e.train_acc_pct;
        row.train_loss = e.train_loss;
        row
    }

    /// A run's rows of one table, as JSON in `tables/` (gathered into the profile's tables at the end).
    fn write_rows<T: Serialize>(&self, name: &str, rows: &[T]) -> Result<PathBuf> {
        let path = self.dir.table(name);
        crate::atomic::write(&path, &serde_json::to_vec_pretty(rows)?)?;
        Ok(path)
    }

    fn evaluate(&self, cache: &mut DataCache) -> Result<()> {
        let p = self.profile;
        let hash = stage::hash_inputs(&EvaluateInputs {
            code: CODE_VERSION,
            train: self.train_hash,
            test_sigmas: &p.test_sigmas,
            stage_test_sigmas: &p.stage_test_sigmas,
            stage_epochs: &p.stage_epochs,
            eval_batch_size: p.eval_batch_size,
            eval_drop_last: p.eval_drop_last,
        })?;
        let stage = self.stage("evaluate");
        if stage.done(&hash).is_some() {
            return Ok(());
        }
        let started = Instant::now();
        let data = cache.get(self.run.dataset)?;
        let augment = self.augment_spec()?;
        let loader =
            EvalLoader { batch_size: p.eval_batch_size as i64, drop_last: p.eval_drop_last, device: self.device };
        let scale = self.run.sigma_scale();
        let scores = |epoch: u32, sigmas: &[f64]| -> Result<Vec<evaluate::Score>> {
            let (_vs, model) = model::from_checkpoint(&self.dir.checkpoint(epoch), self.device)?;
            let px: Vec<f64> = sigmas.iter().map(|s| s * scale).collect();
            evaluate::scores(&model, &data.test, &px, &augment, &loader)
        };
        let source = results::run_source(&self.run.profile, self.run.seed);
        let final_rows: Vec<AccuracyVsBlur> = scores(self.run.epochs, &p.test_sigmas)?
            .iter()
            .zip(&p.test_sigmas)
            .map(|(s, sigma)| AccuracyVsBlur {
                profile: self.run.profile.clone(),
                seed: self.run.seed,
                dataset: self.run.dataset,
                regime: self.run.regime,
                test_sigma: *sigma,
                accuracy_pct: s.accuracy_pct,
                source: source.clone(),
            })
            .collect();
        let mut stage_rows = Vec::new();
        for epoch in &p.stage_epochs {
            for (s, sigma) in scores(*epoch, &p.stage_test_sigmas)?.iter().zip(&p.stage_test_sigmas) {
                stage_rows.push(AccuracyByStage {
                    profile: self.run.profile.clone(),
                    seed: self.run.seed,
                    dataset: self.run.dataset,
                    regime: self.run.regime,
                    epoch: *epoch,
                    test_sigma: *sigma,
                    accuracy_pct: s.accuracy_pct,
                    source: source.clone(),
                });
            }
        }
        let outputs =
            vec![self.write_rows("accuracy_vs_blur", &final_rows)?, self.write_rows("accuracy_by_stage", &stage_rows)?];
        stage.finish(&hash, &outputs, started.elapsed().as_secs_f64(), &describe(self.device))?;
        Ok(())
    }

    fn analyse(&self, cache: &mut DataCache) -> Result<()> {
        let spec = &self.profile.analysis;
        let hash = stage::hash_inputs(&AnalyseInputs { code: CODE_VERSION, train: self.train_hash, analysis: spec })?;
        let stage = self.stage("analyse");
        if stage.done(&hash).is_some() {
            return Ok(());
        }
        let started = Instant::now();
        let data = cache.get(self.run.dataset)?;
        let augment = self.augment_spec()?;
        let erf_images = {
            let n = (spec.erf_images as i64).min(data.test.labels.size()[0]);
            let images = data.test.images.narrow(0, 0, n).to_device(self.device);
            crate::augment::test_batch(&images, &augment)?
        };
        let epochs = spec.epochs.clone().unwrap_or_else(|| train::checkpoint_epochs(self.profile));
        let (run, source) = (self.run, results::run_source(&self.run.profile, self.run.seed));
        let (mut rf, mut gabor_rows, mut sf, mut erf) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
        let mut outputs = Vec::new();
        for epoch in epochs {
            crate::interrupt::check()?;
            let (vs, model) = model::from_checkpoint(&self.dir.checkpoint(epoch), self.device)?;
            let gabor_config = analysis::gabor::GaborConfig {
                restarts: spec.gabor_restarts as usize,
                seed: crate::seeds::derive(run.seed, &[run.dataset.name(), run.regime.name(), "gabor"]) as u64,
                ..Default::default()
            };
            let fits = analysis::gabor::fit_conv1(&vs, &gabor_config)?;
            let mut measures = analysis::rf_moments::moment_sizes(&vs)?;
            measures.extend(analysis::gabor::summary(&fits));
            rf.extend(measures.into_iter().map(|m| RfSize {
                profile: run.profile.clone(),
                seed: run.seed,
                dataset: run.dataset,
                regime: run.regime,
                epoch: Some(epoch),
                layer: m.layer,
                measure: m.statistic,
                value: m.value,
                source: source.clone(),
            }));
            gabor_rows.extend(fits.iter().map(|f| RfGaborFilter {
                profile: run.profile.clone(),
                seed: run.seed,
                dataset: run.dataset,
                regime: run.regime,
                epoch,
                layer: "features.0".to_owned(),
                filter: f.filter as u32,
                gabor_size: f.gabor_size(),
                r_squared: f.r_squared(),
                valid: u8::from(f.valid()),
                source: source.clone(),
            }));
            let peaks =
                analysis::spatial_frequency::peak_frequencies(&model, self.device, i64::from(self.profile.resolution))?;
            sf.extend(analysis::spatial_frequency::statistics(&peaks).into_iter().map(|s| SpatialFrequency {
                profile: run.profile.clone(),
                seed: run.seed,
                dataset: run.dataset,
                regime: run.regime,
                epoch,
                layer: s.layer,
                statistic: s.statistic,
                value: s.value,
                source: source.clone(),
            }));
            let erf_config = analysis::erf::ErfConfig {
                noise_images: spec.erf_noise as usize,
                seed: crate::seeds::derive(run.seed, &[run.dataset.name(), "erf-noise"]) as u64,
                ..Default::default()
            };
            let fields = analysis::erf::effective_receptive_fields(
                &model,
                self.device,
                i64::from(self.profile.resolution),
                Some(&erf_images),
                &erf_config,
            )?;
            erf.extend(fields.statistics.iter().map(|s| Erf {
                profile: run.profile.clone(),
                seed: run.seed,
                dataset: run.dataset,
                regime: run.regime,
                epoch,
                layer: s.layer.clone(),
                input: s.inputs.as_str().to_owned(),
                statistic: s.statistic.to_owned(),
                value: s.value,
                source: source.clone(),
            }));
            let maps_path = self.dir.erf_maps(epoch);
            save_erf_maps(&fields.maps, &maps_path)?;
            outputs.push(maps_path);
        }
        outputs.push(self.write_rows("rf_size", &rf)?);
        outputs.push(self.write_rows("rf_gabor_filters", &gabor_rows)?);
        outputs.push(self.write_rows("spatial_frequency", &sf)?);
        outputs.push(self.write_rows("erf", &erf)?);
        stage.finish(&hash, &outputs, started.elapsed().as_secs_f64(), &describe(self.device))?;
        Ok(())
    }
}

/// ERF maps of one checkpoint as safetensors: one `[side, side]` float tensor per map, named `<inputs>.<layer>`
/// (e.g. `noise.features.0`, `images.features.10`), each normalised to sum 1.
pub fn save_erf_maps(maps: &[analysis::erf::ErfMap], path: &Path) -> Result<()> {
    let named: Vec<(String, tch::Tensor)> = maps
        .iter()
        .map(|m| {
            let side = m.side as i64;
            (format!("{}.{}", m.inputs.as_str(), m.layer), tch::Tensor::from_slice(&m.values).reshape([side, side]))
        })
        .collect();
    let refs: Vec<(&str, tch::Tensor)> = named.iter().map(|(n, t)| (n.as_str(), t.shallow_clone())).collect();
    crate::atomic::write_with(path, |tmp| {
        tch::Tensor::write_safetensors(&refs, tmp).with_context(|| format!("cannot write ERF maps {}", tmp.display()))
    })
}

/// Read one table's rows of every finished run, in the profile's run order.
fn run_rows<T: serde::de::DeserializeOwned>(profile_dir: &Path, runs: &[RunSpec], name: &str) -> Result<Vec<T>> {
    let mut rows = Vec::new();
    for run in runs {
        let path = RunDir::new(profile_dir, run).table(name);
        if !path.exists() {
            continue;
        }
        let bytes = std::fs::read(&path).with_context(|| format!("cannot read {}", path.display()))?;
        let mut part: Vec<T> = serde_json::from_slice(&bytes).with_context(|| {
            format!("{} is corrupt; delete the run's stages/ directory to recompute it", path.display())
        })?;
        rows.append(&mut part);
    }
    Ok(rows)
}

/// Gather every finished run's rows into `runs/<profile>/results/` (CSV + Parquet), skipped when unchanged.
fn gather_tables(profile: &Profile, profile_dir: &Path, runs: &[RunSpec]) -> Result<()> {
    let mut inputs = BTreeMap::new();
    for run in runs {
        let dir = RunDir::new(profile_dir, run);
        for name in [
            "training_log",
            "accuracy_vs_blur",
            "accuracy_by_stage",
            "rf_size",
            "rf_gabor_filters",
            "spatial_frequency",
            "erf",
        ] {
            let path = dir.table(name);
            if path.exists() {
                inputs.insert(
                    path.strip_prefix(profile_dir).unwrap_or(&path).display().to_string(),
                    crate::provenance::sha256_file(&path)?,
                );
            }
        }
    }
    let hash = stage::hash_inputs(&(CODE_VERSION, &inputs))?;
    let results_dir = results::results_dir(profile_dir);
    let stage = Stage::new("gather", profile_dir.join("stages").join("gather.json"), profile_dir);
    if stage.done(&hash).is_some() {
        return Ok(());
    }
    let started = Instant::now();
    let stage_rows: Vec<AccuracyByStage> = run_rows(profile_dir, runs, "accuracy_by_stage")?;
    results::write_table(&results_dir, &run_rows::<TrainingLog>(profile_dir, runs, "training_log")?)?;
    results::write_table(&results_dir, &run_rows::<AccuracyVsBlur>(profile_dir, runs, "accuracy_vs_blur")?)?;
    let steps = |dataset| profile.steps_per_epoch(dataset).unwrap_or(0);
    results::write_table(&results_dir, &AccuracyRatioByStage::from_stages(&stage_rows, 8.0, steps))?;
    results::write_table(&results_dir, &stage_rows)?;
    results::write_table(&results_dir, &run_rows::<RfSize>(profile_dir, runs, "rf_size")?)?;
    results::write_table(&results_dir, &run_rows::<RfGaborFilter>(profile_dir, runs, "rf_gabor_filters")?)?;
    results::write_table(&results_dir, &run_rows::<SpatialFrequency>(profile_dir, runs, "spatial_frequency")?)?;
    results::write_table(&results_dir, &run_rows::<Erf>(profile_dir, runs, "erf")?)?;
    let outputs: Vec<PathBuf> = results::SCHEMAS
        .iter()
        .flat_map(|s| [results_dir.join(format!("{}.csv", s.name)), results_dir.join(format!("{}.parquet", s.name))])
        .collect();
    stage.finish(&hash, &outputs, started.elapsed().as_secs_f64(), "cpu")?;
    Ok(())
}

/// `runs/<profile>/manifest.json`: every artifact with its SHA-256, and how it was made.
#[derive(Serialize)]
struct Manifest {
    profile: String,
    protocol_file: String,
    protocol_sha256: String,
    git_commit: String,
    crate_version: &'static str,
    code_version: &'static str,
    libtorch_version: &'static str,
    device: String,
    seeds: u64,
    stages: Vec<StageRecord>,
}

fn write_manifest(
    profile: &Profile,
    profile_arg: &str,
    profile_dir: &Path,
    runs: &[RunSpec],
    device: Device,
    seeds: u64,
) -> Result<()> {
    let protocol = match profile_arg.ends_with(".toml") {
        true => PathBuf::from(profile_arg),
        false => crate::protocol::protocol_dir().join(format!("{profile_arg}.toml")),
    };
    let mut stages = Vec::new();
    for run in runs {
        let dir = RunDir::new(profile_dir, run);
        for name in ["train", "evaluate", "analyse"] {
            if let Ok(bytes) = std::fs::read(dir.stage_record(name)) {
                let mut record: StageRecord = serde_json::from_slice(&bytes)?;
                let prefix = dir.root.strip_prefix(profile_dir).unwrap_or(&dir.root).to_path_buf();
                record.stage = format!("{}/{}", prefix.display(), record.stage);
                record.outputs =
                    record.outputs.into_iter().map(|(k, v)| (prefix.join(k).display().to_string(), v)).collect();
                stages.push(record);
            }
        }
    }
    for name in ["gather", "figures"] {
        if let Ok(bytes) = std::fs::read(profile_dir.join("stages").join(format!("{name}.json"))) {
            stages.push(serde_json::from_slice(&bytes)?);
        }
    }
    let manifest = Manifest {
        profile: profile.name.clone(),
        protocol_file: protocol
            .strip_prefix(crate::provenance::project_path(""))
            .unwrap_or(&protocol)
            .display()
            .to_string(),
        protocol_sha256: crate::provenance::sha256_file(&protocol)?,
        git_commit: crate::provenance::git_commit(),
        crate_version: env!("CARGO_PKG_VERSION"),
        code_version: CODE_VERSION,
        libtorch_version: env!("LIBTORCH_VERSION"),
        device: describe(device),
        seeds,
        stages,
    };
    stage::write_if_changed(&profile_dir.join("manifest.json"), &serde_json::to_vec_pretty(&manifest)?)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_selects_datasets_and_runs_and_rejects_unknown_names() {
        let paper = Profile::load("paper").unwrap();
        let runs = paper.runs(1).unwrap();
        let count = |only: &[&str]| {
            let selection = Selection::parse(&only.iter().map(|s| s.to_string()).collect::<Vec<_>>()).unwrap();
            runs.iter().filter(|r| selection.includes(r)).count()
        };
        assert_eq!(count(&[]), 15);
        assert_eq!(count(&["faces"]), 3);
        assert_eq!(count(&["faces/blurry", "in12"]), 4);
        let err = format!("{:#}", Selection::parse(&["faces/fuzzy".to_owned()]).unwrap_err());
        assert!(err.contains("blurry_to_clear"), "{err}");
        let err = format!("{:#}", Selection::parse(&["mnist".to_owned()]).unwrap_err());
        assert!(err.contains("toybox_instance"), "{err}");
    }
}
