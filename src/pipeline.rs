//! `reproduce`: the stage graph of a profile, and nothing else. For every run (dataset x regime x seed): train,
//! evaluate, analyse; then gather the runs' rows into the results tables, draw the figures and the report, and
//! write the manifest. What each stage computes lives in its own module ([`crate::train`], [`crate::evaluate`],
//! [`crate::analysis`], [`crate::figures`], [`crate::report`]); here stages are ordered, skipped and recorded.
//!
//! Each stage is named by the hash of its inputs (the resolved run, the profile's settings that matter, the data's
//! hash, the previous stage's hash and the hash of the stage's own sources, [`CodeHashes`]) and skipped when its
//! record says it is done and its outputs verify (see [`crate::stage`]). Training resumes from its last complete
//! checkpoint. Re-running a finished profile therefore does no work and rewrites no file.
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::time::{Instant, SystemTime};

use anyhow::{bail, Context, Result};
use indicatif::{MultiProgress, ProgressBar, ProgressStyle};
use serde::{Deserialize, Serialize};
use tch::Device;

use crate::analysis::{self, AnalysisInputs};
use crate::augment::AugmentSpec;
use crate::data::{self, Split, SplitName};
use crate::device::describe;
use crate::evaluate::{self, EvalLoader, EvaluationPlan};
use crate::model;
use crate::protocol::{DatasetSpec, Profile, RunSpec};
use crate::results::{self, AccuracyRatioByStage, RunKey, Tables, TrainingLog};
use crate::run_dir::RunDir;
use crate::selection::{select_runs, ReproduceOptions};
use crate::stage::{self, CodeHashes, RecordFile, Stage, StageRecord};
use crate::train::{self, Precision, RunData, TrainContext};
use crate::vocab::DatasetId;

/// Inputs that decide a run's training; their hash names the train stage.
#[derive(Serialize)]
struct TrainInputs<'a> {
    code: &'a str,
    run: &'a RunSpec,
    dataset: &'a DatasetSpec,
    stored_resolution: u32,
    eval_batch_size: u64,
    eval_drop_last: bool,
    drop_last: bool,
    train_metrics: crate::protocol::TrainMetrics,
    checkpoint_every: u32,
    data: &'a str,
    /// Left out at fp32, so that fp32 runs keep their hashes.
    #[serde(skip_serializing_if = "Precision::is_fp32")]
    precision: Precision,
}

#[derive(Serialize)]
struct EvaluateInputs<'a> {
    code: &'a str,
    train: &'a str,
    test_sigmas: &'a [f64],
    stage_test_sigmas: &'a [f64],
    stage_epochs: &'a [u32],
    eval_batch_size: u64,
    eval_drop_last: bool,
}

#[derive(Serialize)]
struct AnalyseInputs<'a> {
    code: &'a str,
    train: &'a str,
    analysis: &'a crate::protocol::AnalysisSpec,
    stage_epochs: &'a [u32],
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
    let started_at = SystemTime::now();
    let profile = Profile::load(&opts.profile)?;
    let device = opts.device.resolve()?;
    if let Some(threads) = opts.threads {
        tch::set_num_threads(threads);
    }
    let runs = select_runs(&profile, opts)?;
    if let Some(warning) = crate::preflight::cpu_fallback_warning(&profile, &runs, opts.device, device)? {
        tracing::warn!("{warning}");
    }
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
    let mut failed = Vec::new();
    for (position, run) in runs.iter().enumerate() {
        crate::interrupt::check()?;
        let data_hash = data::cache::dataset_hash(&profile, run.dataset, &sources)?;
        let stages = RunStages::new(&profile, run, &profile_dir, device, opts, &data_hash)?;
        bars.suspend(|| tracing::info!("run {}/{}: {} seed {}", position + 1, runs.len(), run.name(), run.seed));
        let _lock = crate::lock::Lock::acquire(&stages.dir.root)?;
        let outcome = stages
            .train(&mut cache, &per_run)
            .and_then(|()| stages.evaluate(&mut cache))
            .and_then(|()| stages.analyse(&mut cache));
        crate::run_dir::record_outcome(&stages.dir, &outcome);
        // A failed run does not stop the others (a diverged run says nothing about the next one); what stops every
        // run (a signal, a full disk) does.
        match outcome {
            Err(err) if stops_every_run(&err) => return Err(err),
            Err(err) => {
                bars.suspend(|| tracing::error!("run {} seed {} failed: {err:#}", run.name(), run.seed));
                failed.push(format!("{} seed {}: {err:#}", run.name(), run.seed));
            }
            Ok(()) => {}
        }
        overall.inc(1);
    }
    per_run.finish_and_clear();
    overall.finish_and_clear();
    if let Some((first, rest)) = failed.split_first() {
        let others = if failed.len() < runs.len() { "The other runs finished. " } else { "" };
        bail!(
            "{} of {} runs failed: {first}{}\n{others}The profile's tables, figures and manifest are made once every \
             run has finished: fix what each error says, then rerun the same command (finished stages are skipped, \
             failed runs resume from their last good checkpoint).",
            failed.len(),
            runs.len(),
            rest.iter().map(|f| format!("\n  {f}")).collect::<String>()
        );
    }

    crate::interrupt::check()?;
    let _lock = crate::lock::Lock::wait_for(&profile_dir, std::time::Duration::from_secs(600))?;
    remove_temporary_files(&profile, &profile_dir)?;
    let all_runs = profile.runs(opts.seeds)?;
    let variant_runs = profile.variant_runs(opts.seeds)?;
    gather_tables(&profile, &opts.profile, &profile_dir, &all_runs, &opts.code)?;
    gather_variant_tables(&profile, &profile_dir, &variant_runs, &opts.code)?;
    let every_run: Vec<RunSpec> = all_runs.into_iter().chain(variant_runs).collect();
    // The manifest first (the report says what the run is from it), then again with the figures and the report.
    let session = Session::ending_now(started_at, started);
    write_manifest(&profile, &opts.profile, &profile_dir, &every_run, device, opts, session)?;
    if opts.figures {
        draw_and_report(&profile_dir, &opts.code)?;
        let session = Session::ending_now(started_at, started);
        write_manifest(&profile, &opts.profile, &profile_dir, &every_run, device, opts, session)?;
    }
    tracing::info!(
        "profile {} done in {:.0} s; results in {}",
        profile.name,
        started.elapsed().as_secs_f64(),
        results::results_dir(&profile_dir).display()
    );
    Ok(())
}

/// Remove what a killed process left half-written among the profile's own files (its stage records, gathered
/// tables, figures, report and manifest). Only under the profile's lock.
fn remove_temporary_files(profile: &Profile, profile_dir: &Path) -> Result<()> {
    let results_dir = results::results_dir(profile_dir);
    let variants = profile.variants.keys().map(|name| results_dir.join("variants").join(name));
    let own = [profile_dir.to_path_buf(), profile_dir.join("stages"), profile_dir.join("figures"), results_dir.clone()];
    for dir in own.into_iter().chain(variants) {
        crate::atomic::remove_temporary_files(&dir)?;
    }
    Ok(())
}

/// Whether a run's error stops the whole profile rather than that run: an interruption (a signal asked to stop), or
/// a full disk (every later run would fill it again after hours of training).
fn stops_every_run(err: &anyhow::Error) -> bool {
    let full =
        |e: &std::io::Error| matches!(e.kind(), std::io::ErrorKind::StorageFull | std::io::ErrorKind::QuotaExceeded);
    let text = format!("{err:#}");
    crate::interrupt::interruption(err).is_some()
        || err.chain().filter_map(|e| e.downcast_ref::<std::io::Error>()).any(full)
        || text.contains("No space left on device")
        || text.contains("Disk quota exceeded")
}

/// The figures of the run (`runs/<profile>/figures/`) and its report against the profile's expected
/// numbers (`expected/<profile>/`, or the original's for the paper profiles), where there are any. Skipped when
/// neither the tables nor what they are drawn and judged with (the figure and report code, catalogue, claims,
/// expected numbers, the original's numbers the findings are shown beside) changed.
fn draw_and_report(profile_dir: &Path, code: &CodeHashes) -> Result<()> {
    let expected = crate::verify::default_expected_dir(profile_dir)?;
    let original = crate::provenance::project_path(crate::figures::PAPER_DIR)?;
    let mut inputs = BTreeMap::new();
    let results_dir = results::results_dir(profile_dir);
    for dir in [&results_dir, &expected, &original] {
        for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
            let path = entry.path();
            if path.extension().is_some_and(|e| e == "csv" || e == "toml") {
                let name = path.strip_prefix(profile_dir).unwrap_or(&path).display().to_string();
                inputs.insert(name, crate::provenance::sha256_file(&path)?);
            }
        }
    }
    let hash = stage::hash_inputs(&(code.of(Stage::Figures), &inputs))?;
    let stage = RecordFile::of_profile(Stage::Figures, None, profile_dir);
    if stage.done(&hash).is_some() {
        return Ok(());
    }
    let started = Instant::now();
    let source = crate::figures::Source::resolve(&profile_dir.display().to_string())?;
    let figures_dir = profile_dir.join("figures");
    let drawn = crate::figures::draw_source(&source, &figures_dir)?;
    tracing::info!("{} figures in {}", drawn.len(), figures_dir.display());
    let mut outputs: Vec<PathBuf> =
        std::fs::read_dir(&figures_dir)?.map(|e| e.map(|e| e.path())).collect::<std::io::Result<_>>()?;
    if expected.is_dir() {
        let report = crate::report::write_report(profile_dir, Some(&expected))?;
        tracing::info!("report against {}: {}", expected.display(), report.display());
        outputs.push(report);
        outputs.push(profile_dir.join(crate::report::HTML_FILE));
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
    key: RunKey,
    dir: RunDir,
    device: Device,
    code: &'a CodeHashes,
    precision: Precision,
    train_hash: String,
}

impl<'a> RunStages<'a> {
    fn new(
        profile: &'a Profile,
        run: &'a RunSpec,
        profile_dir: &Path,
        device: Device,
        opts: &'a ReproduceOptions,
        data_hash: &str,
    ) -> Result<RunStages<'a>> {
        let code = &opts.code;
        let train_hash = stage::hash_inputs(&TrainInputs {
            code: code.of(Stage::Train),
            run,
            dataset: profile.dataset(run.dataset)?,
            stored_resolution: profile.stored_resolution,
            eval_batch_size: profile.eval_batch_size,
            eval_drop_last: profile.eval_drop_last,
            drop_last: profile.drop_last,
            train_metrics: profile.train_metrics,
            checkpoint_every: profile.checkpoint_every,
            data: data_hash,
            precision: opts.precision,
        })?;
        let dir = RunDir::new(profile_dir, run);
        Ok(RunStages { profile, run, key: RunKey::of(run), dir, device, code, precision: opts.precision, train_hash })
    }

    fn stage(&self, stage: Stage) -> RecordFile {
        RecordFile::of_run(stage, &self.dir)
    }

    fn augment_spec(&self) -> Result<AugmentSpec> {
        Ok(AugmentSpec::for_dataset(self.profile.dataset(self.run.dataset)?, self.profile.resolution))
    }

    /// Train the run, unless done. Called first, under the run's lock, so it also removes what a killed process
    /// left half-written in the run's directory.
    fn train(&self, cache: &mut DataCache, bar: &ProgressBar) -> Result<()> {
        self.dir.remove_temporary_files()?;
        let stage = self.stage(Stage::Train);
        if stage.done(&self.train_hash).is_some() {
            return Ok(());
        }
        self.discard_if_stale()?;
        let started = Instant::now();
        let data = cache.get(self.run.dataset)?;
        let augment = self.augment_spec()?;
        let ctx = TrainContext {
            profile: self.profile,
            run: self.run,
            dir: &self.dir,
            data: RunData { train: &data.train, val: &data.val },
            augment: &augment,
            device: self.device,
            precision: self.precision,
            progress: bar,
        };
        let log = train::train(&ctx)?;
        let training_log: Vec<TrainingLog> = log.iter().map(|e| TrainingLog::from_epoch(&self.key, e)).collect();
        let mut outputs: Vec<PathBuf> =
            self.profile.checkpoint_epochs().iter().map(|e| self.dir.checkpoint(*e)).collect();
        outputs.extend(self.write_tables(Stage::Train, &Tables { training_log, ..Tables::default() })?);
        stage.finish(&self.train_hash, &outputs, started.elapsed().as_secs_f64(), &describe(self.device))?;
        Ok(())
    }

    /// A run directory trained under other inputs (a changed protocol or training code) is started afresh.
    fn discard_if_stale(&self) -> Result<()> {
        let record =
            std::fs::read(self.dir.spec_file()).ok().and_then(|b| serde_json::from_slice::<RunRecord>(&b).ok());
        if record.as_ref().is_some_and(|r| r.train_hash != self.train_hash) {
            tracing::warn!(
                "{}: inputs changed since its checkpoints were written; training it afresh",
                self.dir.root.display()
            );
            for sub in ["checkpoints", "stages", "tables"] {
                let path = self.dir.root.join(sub);
                if path.exists() {
                    std::fs::remove_dir_all(&path)
                        .with_context(|| format!("cannot remove stale {}", path.display()))?;
                }
            }
        }
        let record = RunRecord { train_hash: self.train_hash.clone(), run: serde_json::to_value(self.run)? };
        stage::write_if_changed(&self.dir.spec_file(), &serde_json::to_vec_pretty(&record)?)?;
        Ok(())
    }

    /// The run's rows of every table `stage` makes, in `tables/` (gathered into the profile's tables at the end):
    /// the files written.
    fn write_tables(&self, stage: Stage, tables: &Tables) -> Result<Vec<PathBuf>> {
        tables.write(&self.dir.tables(), |schema| schema.made_by == stage)
    }

    fn evaluate(&self, cache: &mut DataCache) -> Result<()> {
        let p = self.profile;
        let hash = stage::hash_inputs(&EvaluateInputs {
            code: self.code.of(Stage::Evaluate),
            train: &self.train_hash,
            test_sigmas: &p.test_sigmas,
            stage_test_sigmas: &p.stage_test_sigmas,
            stage_epochs: &p.stage_epochs,
            eval_batch_size: p.eval_batch_size,
            eval_drop_last: p.eval_drop_last,
        })?;
        let stage = self.stage(Stage::Evaluate);
        if stage.done(&hash).is_some() {
            return Ok(());
        }
        let started = Instant::now();
        let data = cache.get(self.run.dataset)?;
        let loader =
            EvalLoader { batch_size: p.eval_batch_size as i64, drop_last: p.eval_drop_last, device: self.device };
        let plan = EvaluationPlan {
            final_epoch: self.run.epochs,
            test_sigmas: &p.test_sigmas,
            stage_epochs: &p.stage_epochs,
            stage_test_sigmas: &p.stage_test_sigmas,
            sigma_scale: self.run.sigma_scale(),
        };
        let mut model_at = |epoch| Ok(model::from_checkpoint(&self.dir.checkpoint(epoch), self.device)?.1);
        let augment = self.augment_spec()?;
        let evaluation = match &p.dataset(self.run.dataset)?.robustness_test_order {
            None => evaluate::evaluate_run(&self.key, &plan, model_at, &data.test, &augment, &loader)?,
            // The final model across test blur on the robustness notebook's order, the stages on the split's own.
            Some(order) => {
                let reordered = data::object_order::per_object(&data.test, order)?;
                let robustness = EvaluationPlan { stage_epochs: &[], ..plan };
                let final_model =
                    evaluate::evaluate_run(&self.key, &robustness, &mut model_at, &reordered, &augment, &loader)?;
                let stages = EvaluationPlan { test_sigmas: &[], ..plan };
                let by_stage = evaluate::evaluate_run(&self.key, &stages, model_at, &data.test, &augment, &loader)?;
                final_model.with_stages_of(by_stage)
            }
        };
        let tables = Tables {
            accuracy_vs_blur: evaluation.accuracy_vs_blur,
            accuracy_by_stage: evaluation.accuracy_by_stage,
            test_predictions: evaluation.predictions,
            ..Tables::default()
        };
        let outputs = self.write_tables(Stage::Evaluate, &tables)?;
        stage.finish(&hash, &outputs, started.elapsed().as_secs_f64(), &describe(self.device))?;
        Ok(())
    }

    fn analyse(&self, cache: &mut DataCache) -> Result<()> {
        let spec = &self.profile.analysis;
        let hash = stage::hash_inputs(&AnalyseInputs {
            code: self.code.of(Stage::Analyse),
            train: &self.train_hash,
            analysis: spec,
            stage_epochs: &self.profile.stage_epochs,
        })?;
        let stage = self.stage(Stage::Analyse);
        if stage.done(&hash).is_some() {
            return Ok(());
        }
        let started = Instant::now();
        let data = cache.get(self.run.dataset)?;
        let erf_images = analysis::erf_images(&data.test, spec.erf_images, &self.augment_spec()?, self.device)?;
        let inputs = AnalysisInputs {
            spec,
            resolution: i64::from(self.profile.resolution),
            device: self.device,
            erf_images: &erf_images,
        };
        let mut tables = Tables::default();
        for epoch in spec.epochs.clone().unwrap_or_else(|| self.profile.checkpoint_epochs()) {
            crate::interrupt::check()?;
            let (vs, model) = model::from_checkpoint(&self.dir.checkpoint(epoch), self.device)?;
            tables.extend(analysis::analyse_checkpoint(&self.key, epoch, &vs, &model, &inputs)?);
        }
        let stages = &self.profile.stage_epochs;
        tables.rf_size.extend(analysis::across_epochs::gabor_counts(
            &self.key,
            &tables.rf_gabor_filters,
            stages,
            self.run.epochs,
        ));
        let outputs = self.write_tables(Stage::Analyse, &tables)?;
        stage.finish(&hash, &outputs, started.elapsed().as_secs_f64(), &describe(self.device))?;
        Ok(())
    }
}

/// Refuse to gather a run's tables when a stage record of the run, or a table it lists, is damaged: the runs this
/// `reproduce` did not select were not checked on the way.
fn check_run_tables(profile_dir: &Path, runs: &[RunSpec]) -> Result<()> {
    for run in runs {
        let dir = RunDir::new(profile_dir, run);
        for &input in Stage::Gather.inputs() {
            let stage = RecordFile::of_run(input, &dir);
            if !stage.record.exists() {
                continue;
            }
            if let Some(damage) = stage.check_outputs(|path| path.starts_with("tables/")).err().and_then(|e| e.damage())
            {
                bail!(
                    "{damage}: the tables of {} are not gathered; rerun `reproduce` with `--only {}` to recompute them",
                    run.name(),
                    run.key()
                );
            }
        }
    }
    Ok(())
}

/// Every table's rows of every finished run, in the profile's run order.
fn run_tables(profile_dir: &Path, runs: &[RunSpec]) -> Result<Tables> {
    let mut tables = Tables::default();
    for run in runs {
        let dir = RunDir::new(profile_dir, run).tables();
        let part = Tables::read(&dir, |_| true).with_context(|| {
            format!("a table of {} is corrupt; delete its stages/ directory to recompute it", dir.display())
        })?;
        tables.extend(part);
    }
    Ok(tables)
}

/// Gather every finished run's rows into `runs/<profile>/results/` (CSV + Parquet), with a copy of the protocol
/// file that made them ([`crate::protocol::PROFILE_COPY`]); skipped when unchanged.
fn gather_tables(
    profile: &Profile,
    profile_arg: &str,
    profile_dir: &Path,
    runs: &[RunSpec],
    code: &CodeHashes,
) -> Result<()> {
    let protocol_path = crate::protocol::protocol_file(profile_arg)?;
    let protocol = std::fs::read(&protocol_path)
        .with_context(|| format!("cannot read the protocol file {}", protocol_path.display()))?;
    let inputs = run_table_hashes(profile_dir, runs)?;
    let hash = stage::hash_inputs(&(code.of(Stage::Gather), crate::provenance::sha256_bytes(&protocol), &inputs))?;
    let results_dir = results::results_dir(profile_dir);
    let stage = RecordFile::of_profile(Stage::Gather, None, profile_dir);
    if stage.done(&hash).is_some() {
        return Ok(());
    }
    let started = Instant::now();
    let mut outputs = write_gathered(profile, profile_dir, &results_dir, runs)?;
    let copy = results_dir.join(crate::protocol::PROFILE_COPY);
    stage::write_if_changed(&copy, &protocol)?;
    outputs.push(copy);
    stage.finish(&hash, &outputs, started.elapsed().as_secs_f64(), "cpu")?;
    Ok(())
}

/// Gather each variant's finished runs into `runs/<profile>/results/variants/<name>/`, apart from the profile's own
/// runs (which the figures and claims read); skipped per variant when unchanged.
fn gather_variant_tables(profile: &Profile, profile_dir: &Path, runs: &[RunSpec], code: &CodeHashes) -> Result<()> {
    let mut by_variant: BTreeMap<&str, Vec<RunSpec>> = BTreeMap::new();
    for run in runs {
        if let Some(name) = &run.variant {
            by_variant.entry(name).or_default().push(run.clone());
        }
    }
    for (name, runs) in by_variant {
        let hash = stage::hash_inputs(&(code.of(Stage::Gather), &run_table_hashes(profile_dir, &runs)?))?;
        let stage = RecordFile::of_profile(Stage::Gather, Some(name), profile_dir);
        if stage.done(&hash).is_some() {
            continue;
        }
        let started = Instant::now();
        let results_dir = results::results_dir(profile_dir).join("variants").join(name);
        let outputs = write_gathered(profile, profile_dir, &results_dir, &runs)?;
        stage.finish(&hash, &outputs, started.elapsed().as_secs_f64(), "cpu")?;
    }
    Ok(())
}

/// The SHA-256 of every table the finished `runs` wrote, by path under the profile's directory.
fn run_table_hashes(profile_dir: &Path, runs: &[RunSpec]) -> Result<BTreeMap<String, String>> {
    check_run_tables(profile_dir, runs)?;
    let mut inputs = BTreeMap::new();
    for run in runs {
        let dir = RunDir::new(profile_dir, run).tables();
        for schema in results::SCHEMAS {
            let path = schema.csv_path(&dir);
            if path.exists() {
                let name = path.strip_prefix(profile_dir).unwrap_or(&path).display().to_string();
                inputs.insert(name, crate::provenance::sha256_file(&path)?);
            }
        }
    }
    Ok(inputs)
}

/// Write the rows of `runs` into one set of tables in `results_dir`, with the tables the gathering makes from them
/// (the accuracy ratios); returns the files written.
fn write_gathered(profile: &Profile, profile_dir: &Path, results_dir: &Path, runs: &[RunSpec]) -> Result<Vec<PathBuf>> {
    let mut tables = run_tables(profile_dir, runs)?;
    let steps = |dataset| profile.steps_per_epoch(dataset).unwrap_or(0);
    tables.accuracy_ratio_by_stage =
        AccuracyRatioByStage::from_stages(&tables.accuracy_by_stage, profile.blurry_sigma(), steps);
    tables.write(results_dir, |_| true)
}

/// `runs/<profile>/manifest.json`: every artifact with its SHA-256, and how it was made.
#[derive(Serialize)]
struct Manifest<'a> {
    profile: String,
    protocol_file: String,
    protocol_sha256: String,
    git_commit: String,
    crate_version: &'static str,
    /// The hashes of the sources of each stage (see `build.rs`).
    code: &'a CodeHashes,
    libtorch_version: &'static str,
    device: String,
    /// The training steps' arithmetic (`--precision`; fp32 unless asked otherwise).
    precision: Precision,
    seeds: u64,
    /// Sum of the stages' wall times, in seconds: what the results cost, over every invocation that made them.
    stages_wall_s: f64,
    /// The latest invocation that changed the manifest.
    session: Session,
    stages: Vec<StageRecord>,
}

/// When and where an invocation of `reproduce` ran. A rerun that finds everything done keeps the previous session's
/// record, so that it rewrites no file.
#[derive(Serialize)]
struct Session {
    /// ISO 8601, UTC.
    started: String,
    finished: String,
    wall_s: f64,
    host: crate::provenance::Host,
}

impl Session {
    /// The session that started at `started` (wall clock) and `clock` (monotonic), ending now.
    fn ending_now(started: SystemTime, clock: Instant) -> Session {
        Session {
            started: crate::provenance::iso8601(started),
            finished: crate::provenance::iso8601(SystemTime::now()),
            wall_s: clock.elapsed().as_secs_f64(),
            host: crate::provenance::Host::this(),
        }
    }
}

fn write_manifest(
    profile: &Profile,
    profile_arg: &str,
    profile_dir: &Path,
    runs: &[RunSpec],
    device: Device,
    opts: &ReproduceOptions,
    session: Session,
) -> Result<()> {
    let protocol = crate::protocol::protocol_file(profile_arg)?;
    let mut stages = Vec::new();
    for run in runs {
        let dir = RunDir::new(profile_dir, run);
        for stage in Stage::OF_RUN {
            if let Ok(bytes) = std::fs::read(dir.stage_record(stage.name())) {
                let mut record = StageRecord::unseal(&bytes).with_context(|| {
                    format!(
                        "{} is damaged; rerun `reproduce --only {}` to recompute it",
                        dir.stage_record(stage.name()).display(),
                        run.key()
                    )
                })?;
                record.record_sha256 = String::new();
                let prefix = dir.root.strip_prefix(profile_dir).unwrap_or(&dir.root).to_path_buf();
                record.stage = format!("{}/{}", prefix.display(), record.stage);
                record.outputs =
                    record.outputs.into_iter().map(|(k, v)| (prefix.join(k).display().to_string(), v)).collect();
                stages.push(record);
            }
        }
    }
    let variants = profile.variants.keys().map(|v| RecordFile::of_profile(Stage::Gather, Some(v), profile_dir));
    let own = [Stage::Gather, Stage::Figures].map(|stage| RecordFile::of_profile(stage, None, profile_dir));
    for path in own.into_iter().chain(variants).map(|file| file.record) {
        if let Ok(bytes) = std::fs::read(&path) {
            let record = StageRecord::unseal(&bytes)
                .with_context(|| format!("{} is damaged; rerun `reproduce` to recompute it", path.display()))?;
            stages.push(StageRecord { record_sha256: String::new(), ..record });
        }
    }
    let project = crate::provenance::project_dir().ok();
    let manifest = Manifest {
        profile: profile.name.clone(),
        protocol_file: project
            .and_then(|project| protocol.strip_prefix(project).ok().map(Path::to_path_buf))
            .unwrap_or_else(|| protocol.clone())
            .display()
            .to_string(),
        protocol_sha256: crate::provenance::sha256_file(&protocol)?,
        git_commit: crate::provenance::git_commit(),
        crate_version: env!("CARGO_PKG_VERSION"),
        code: &opts.code,
        libtorch_version: env!("LIBTORCH_VERSION"),
        device: describe(device),
        precision: opts.precision,
        seeds: opts.seeds,
        stages_wall_s: stages.iter().map(|s| s.wall_s).sum(),
        session,
        stages,
    };
    let path = profile_dir.join("manifest.json");
    let without_session = |mut value: serde_json::Value| {
        value.as_object_mut().map(|fields| fields.remove("session"));
        value
    };
    let previous = std::fs::read(&path).ok().and_then(|b| serde_json::from_slice::<serde_json::Value>(&b).ok());
    let previous_damaged = previous.is_none() && path.exists();
    let current = without_session(serde_json::to_value(&manifest)?);
    if previous.is_some_and(|p| without_session(p) == current) {
        return Ok(());
    }
    let bytes = serde_json::to_vec_pretty(&manifest)?;
    match manifest_changes(&path, &bytes) {
        Some(changed) if previous_damaged => {
            tracing::warn!("{}: {changed}; remade from the stage records", path.display())
        }
        Some(changed) => tracing::debug!("{} rewritten from the stage records: {changed}", path.display()),
        None => {}
    }
    stage::write_if_changed(&path, &bytes)?;
    Ok(())
}

/// What differs between the manifest at `path` and `bytes`, the one made from the stage records: `None` when
/// nothing does or there was none. The manifest is never read back (it is remade from the verified records every
/// time), so a damaged one is not used; this names what was damaged or out of date.
fn manifest_changes(path: &Path, bytes: &[u8]) -> Option<String> {
    let old = std::fs::read(path).ok().filter(|old| old != bytes)?;
    let Ok(old) = serde_json::from_slice::<serde_json::Value>(&old) else {
        return Some("the old one was damaged (not valid JSON)".to_owned());
    };
    let new: serde_json::Value = serde_json::from_slice(bytes).ok()?;
    let stages = |v: &serde_json::Value| -> BTreeMap<String, serde_json::Value> {
        let all = v.get("stages").and_then(|s| s.as_array()).cloned().unwrap_or_default();
        all.into_iter().map(|s| (s.get("stage").and_then(|n| n.as_str()).unwrap_or("?").to_owned(), s)).collect()
    };
    let (old_stages, new_stages) = (stages(&old), stages(&new));
    let names: BTreeSet<&String> = old_stages.keys().chain(new_stages.keys()).collect();
    let mut changed: Vec<String> =
        names.into_iter().filter(|n| old_stages.get(*n) != new_stages.get(*n)).map(|n| format!("stage {n}")).collect();
    let fields = new.as_object().map(|f| f.keys().cloned().collect::<Vec<_>>()).unwrap_or_default();
    changed.extend(fields.into_iter().filter(|f| f != "stages" && old.get(f) != new.get(f)));
    Some(format!("it differed in {}", if changed.is_empty() { "its layout".to_owned() } else { changed.join(", ") }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stage::tests::damage;

    #[test]
    fn a_damaged_run_table_or_its_record_stops_the_gathering_naming_the_file_and_the_rerun() {
        let profile = Profile::load("tiny").unwrap();
        let runs = profile.runs(1).unwrap();
        for (truncate, damaged) in [(false, "table"), (true, "table"), (false, "record"), (true, "record")] {
            let temp = tempfile::tempdir().unwrap();
            let dir = RunDir::new(temp.path(), &runs[0]);
            let table = dir.tables().join("accuracy_vs_blur.csv");
            std::fs::create_dir_all(dir.tables()).unwrap();
            std::fs::write(&table, b"dataset,regime\nfaces,clear\n").unwrap();
            let stage = RecordFile::of_run(Stage::Evaluate, &dir);
            stage.finish("h", std::slice::from_ref(&table), 1.0, "cpu").unwrap();
            run_table_hashes(temp.path(), &runs).unwrap();
            let file = if damaged == "table" { table } else { stage.record.clone() };
            damage(&file, truncate);
            let err = format!("{:#}", run_table_hashes(temp.path(), &runs).unwrap_err());
            assert!(err.contains(&file.display().to_string()), "{damaged}, truncated {truncate}: {err}");
            assert!(err.contains(&format!("--only {}", runs[0].key())), "{err}");
        }
    }

    #[test]
    fn a_damaged_manifest_is_remade_saying_what_differed() {
        let temp = tempfile::tempdir().unwrap();
        let path = temp.path().join("manifest.json");
        let manifest = serde_json::json!({ "profile": "tiny", "stages": [{ "stage": "train", "wall_s": 1.5 }] });
        let bytes = serde_json::to_vec_pretty(&manifest).unwrap();
        assert_eq!(manifest_changes(&path, &bytes), None, "no manifest yet");
        std::fs::write(&path, &bytes).unwrap();
        assert_eq!(manifest_changes(&path, &bytes), None, "unchanged");
        damage(&path, true);
        assert_eq!(manifest_changes(&path, &bytes).unwrap(), "the old one was damaged (not valid JSON)");
        std::fs::write(&path, String::from_utf8(bytes.clone()).unwrap().replace("1.5", "1.4")).unwrap();
        assert_eq!(manifest_changes(&path, &bytes).unwrap(), "it differed in stage train");
        std::fs::write(&path, String::from_utf8(bytes.clone()).unwrap().replace("tiny", "tinz")).unwrap();
        assert_eq!(manifest_changes(&path, &bytes).unwrap(), "it differed in profile");
    }
}
