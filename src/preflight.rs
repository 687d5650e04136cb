//! `reproduce --preflight`: everything a week-long `paper` run needs, checked in minutes before it starts.
//!
//! The data of every selected dataset is verified (layout, labels, hashes) and its caches are built; every run
//! takes real training steps (augmentation, blur at its strongest training sigma, forward, backward, Adam) and
//! evaluation batches at the strongest test sigma on the chosen device; the disk must hold every checkpoint; and
//! the measured steady-state step times, one checkpoint's analyses and the time the caches took give an estimate of
//! the whole profile's wall time. Nothing is written to the run directories. A missing dataset is named with where
//! to get it and the command that imports it ([`where_to_get`]).
//!
//! It tells the whole truth at once: every problem found (every missing or broken dataset, every run that cannot
//! step, too little disk) is listed before it fails, so that one preflight shows everything to fix. A profile meant
//! for a GPU that `--device auto` would run on the CPU gets a warning with the projected slowdown, here and in
//! `reproduce` ([`cpu_fallback_warning`]).
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{bail, Context, Result};
use tch::Device;

use crate::analysis::AnalysisSeconds;
use crate::augment::AugmentSpec;
use crate::data::{self, SplitName};
use crate::device::{describe, DeviceChoice};
use crate::draws::Draws;
use crate::evaluate::{self, EvalLoader};
use crate::model::CONV_LAYERS;
use crate::optim::{AdamConfig, AdamSet};
use crate::protocol::{DataSource, Profile, RunSpec, TrainMetrics};
use crate::schedule::lr_at;
use crate::selection::{datasets_of, select_runs, ReproduceOptions};
use crate::train::{self, Precision};
use crate::vocab::DatasetId;

/// Training steps timed per run after [`WARM_UP_STEPS`]; the median is extrapolated (the first steps pay for
/// allocation and kernel selection, and single steps jitter).
const TIMED_STEPS: usize = 5;
const WARM_UP_STEPS: usize = 2;
/// Evaluation batches timed per run, after one warm-up batch.
const TIMED_EVAL_BATCHES: usize = 3;

/// What CPU cores sustain on this network's training step, in FLOP/s per core: 2 cores of the x86-64 machines this
/// artifact was built on ran the 224-px step at 260 to 375 GFLOP/s (67 to 85 images/s, PyTorch 2.11). Only used
/// to project a slowdown before anything is measured; `--preflight` measures.
const CPU_FLOP_PER_S_PER_CORE: f64 = 150e9;
/// What one data-centre GPU (A100, H100, H200) is assumed to sustain on it with TF32 convolutions, in FLOP/s: an
/// assumption, not a measurement of this artifact, stated wherever it is used.
const GPU_FLOP_PER_S: f64 = 50e12;

/// Bytes of one checkpoint of a model with `classes` outputs (float32 weights; safetensors adds a small header).
fn checkpoint_bytes(classes: u64) -> u64 {
    let convs: u64 =
        CONV_LAYERS.iter().map(|l| (l.out_channels * (l.in_channels * l.kernel * l.kernel + 1)) as u64).sum();
    (convs + classes * (9216 + 1)) * 4 + 4096
}

/// FLOP (two per multiply-add) of the paper's AlexNet forward pass on one `resolution`-px image with `classes`
/// outputs: the five convolutions at their output sizes (max-pooling after conv1, conv2 and conv5) and the head on
/// the 6x6 average-pooled features. 1.31 GFLOP at 224 px.
pub(crate) fn forward_flop(resolution: u32, classes: u64) -> f64 {
    let mut side = i64::from(resolution);
    let mut multiply_adds = 0i64;
    for layer in &CONV_LAYERS {
        side = (side + 2 * layer.padding - layer.kernel) / layer.stride + 1;
        multiply_adds += side * side * layer.out_channels * layer.in_channels * layer.kernel * layer.kernel;
        if layer.pooled {
            side = (side - 3) / 2 + 1;
        }
    }
    2.0 * (multiply_adds as f64 + 9216.0 * classes as f64)
}

/// FLOP of a run's training: forward and backward (about three forward passes) of every training image of every
/// epoch, and the second, forward-only pass over them under `train_metrics = "eval_pass"`.
fn training_flop(profile: &Profile, run: &RunSpec) -> Result<f64> {
    let forward = forward_flop(profile.resolution, profile.dataset(run.dataset)?.classes);
    let images = (run.steps_per_epoch * run.batch_size * u64::from(run.epochs)) as f64;
    let passes = match profile.train_metrics {
        TrainMetrics::EvalPass => 4.0,
        TrainMetrics::Running => 3.0,
    };
    Ok(forward * images * passes)
}

/// The warning for a profile meant for CUDA (`device = "cuda"` in its protocol) that `--device auto` would run on
/// the CPU because libtorch sees no GPU, with the projected slowdown; `None` otherwise (`--device cpu` is a choice,
/// and `--device cuda` without a GPU is already an error).
pub(crate) fn cpu_fallback_warning(
    profile: &Profile,
    runs: &[RunSpec],
    choice: DeviceChoice,
    device: Device,
) -> Result<Option<String>> {
    if profile.device != "cuda" || choice != DeviceChoice::Auto || device != Device::Cpu {
        return Ok(None);
    }
    let flop: f64 = runs.iter().map(|run| training_flop(profile, run)).sum::<Result<f64>>()?;
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    let cpu_s = flop / (CPU_FLOP_PER_S_PER_CORE * cores as f64);
    let gpu_s = flop / GPU_FLOP_PER_S;
    Ok(Some(format!(
        "profile '{}' is meant for a CUDA GPU (device = \"cuda\" in its protocol), but libtorch sees none, so \
         --device auto runs it on the CPU. Its {} runs train on about {:.0} PFLOP: about {:.0} days on this \
         machine's {cores} cores at about {:.0} GFLOP/s each, against about {:.1} h on one data-centre GPU at an \
         assumed {:.0} TFLOP/s, a slowdown of about {:.0}x. `reproduce --preflight` measures this machine; pass \
         --device cpu to run on the CPU deliberately, or run where `nvidia-smi` lists a GPU",
        profile.name,
        runs.len(),
        flop / 1e15,
        cpu_s / 86_400.0,
        CPU_FLOP_PER_S_PER_CORE / 1e9,
        gpu_s / 3600.0,
        GPU_FLOP_PER_S / 1e12,
        cpu_s / gpu_s
    )))
}

/// Free bytes on the file system holding `dir` (or its nearest existing ancestor).
fn free_bytes(dir: &Path) -> Result<u64> {
    let probe = dir.ancestors().find(|p| p.exists()).unwrap_or(Path::new("."));
    fs4::available_space(probe).with_context(|| format!("cannot read the free space of {}", probe.display()))
}

/// The median of some timings, in seconds.
fn median(mut seconds: Vec<f64>) -> f64 {
    seconds.sort_by(f64::total_cmp);
    seconds.get(seconds.len() / 2).copied().unwrap_or(f64::NAN)
}

/// Seconds for one full training step and one full evaluation batch of `run`, in the steady state.
struct Timing {
    step_s: f64,
    eval_batch_s: f64,
}

fn try_run(
    profile: &Profile,
    run: &RunSpec,
    data: &data::cache::DataSourceArgs,
    device: Device,
    precision: Precision,
) -> Result<Timing> {
    let spec = profile.dataset(run.dataset)?;
    let augment = AugmentSpec::for_dataset(spec, profile.resolution);
    let train = data::cache::load_split(profile, run.dataset, SplitName::Train, data, device)?;
    let test = data::cache::load_split(profile, run.dataset, SplitName::Test, data, device)?;
    let (vs, model) = train::init_model(run, spec.classes as i64, device);
    let mut adam = AdamSet::new(&vs, AdamConfig::pytorch_default(run.weight_decay));
    let n = train.labels.size()[0].min(run.batch_size as i64);
    let sigma = run.train_sigmas.iter().cloned().fold(0.0, f64::max) * run.sigma_scale();
    let mut draws = Draws::named(run.seed, &[run.dataset.name(), "preflight"]);
    let mut learner = train::Learner { model: &model, adam: &mut adam, precision };
    let mut step = || -> Result<f64> {
        let started = Instant::now();
        let images = train.images.narrow(0, 0, n).to_device(device);
        let labels = train.labels.narrow(0, 0, n).to_device(device);
        let input = train::training_input(&images, &augment, sigma, &mut draws)?;
        let lr = lr_at(&run.lr_schedule, run.epochs, run.steps_per_epoch, run.lr, 0);
        let updates = crate::schedule::optimiser_steps_at(&run.lr_schedule, 1);
        let (_, loss) = learner.step(&input, &labels, lr, updates);
        let value = loss.double_value(&[]);
        if !value.is_finite() {
            bail!("{}: a training step gave a loss of {value}", run.key());
        }
        Ok(started.elapsed().as_secs_f64() * run.batch_size as f64 / n as f64)
    };
    for _ in 0..WARM_UP_STEPS {
        step()?;
    }
    let step_s = median((0..TIMED_STEPS).map(|_| step()).collect::<Result<_>>()?);
    let batch = (profile.eval_batch_size as i64).min(test.labels.size()[0]);
    let loader = EvalLoader { batch_size: batch, drop_last: false, device };
    let one_batch = data::Split { images: test.images.narrow(0, 0, batch), labels: test.labels.narrow(0, 0, batch) };
    let strongest = profile.test_sigmas.iter().cloned().fold(0.0, f64::max);
    let evaluate_batch = || -> Result<f64> {
        let started = Instant::now();
        evaluate::scores(&model, &one_batch, &[strongest], run.sigma_scale(), &augment, &loader)?;
        Ok(started.elapsed().as_secs_f64() * profile.eval_batch_size as f64 / batch as f64)
    };
    evaluate_batch()?;
    let eval_batch_s = median((0..TIMED_EVAL_BATCHES).map(|_| evaluate_batch()).collect::<Result<_>>()?);
    Ok(Timing { step_s, eval_batch_s })
}

/// Checkpoints the analyse stage reads per run: the profile's `analysis.epochs`, or every checkpoint.
pub fn analysed_checkpoints(profile: &Profile) -> usize {
    profile.analysis.epochs.as_ref().map_or_else(|| profile.checkpoint_epochs().len(), Vec::len)
}

/// Images the decoded caches of `profile` hold: every split of every dataset, each split on disk once (ImageNet-100's
/// test split is its val split).
pub fn cached_images(profile: &Profile) -> u64 {
    profile
        .datasets
        .iter()
        .map(|(id, spec)| {
            let val_is_test = data::layout::split_on_disk(*id, SplitName::Test) == SplitName::Val;
            spec.train_images + spec.val_images + if val_is_test { 0 } else { spec.test_images }
        })
        .sum()
}

/// One checkpoint's analyses (`paper`'s settings: Gabor fits to convergence) of `run`'s freshly initialised network
/// on `device`, timed by analysis. A trained network's Gabor fits may take another number of iterations.
fn time_analyses(
    profile: &Profile,
    run: &RunSpec,
    sources: &data::cache::DataSourceArgs,
    device: Device,
) -> Result<AnalysisSeconds> {
    let spec = profile.dataset(run.dataset)?;
    let augment = AugmentSpec::for_dataset(spec, profile.resolution);
    let test = data::cache::load_split(profile, run.dataset, SplitName::Test, sources, device)?;
    let (vs, model) = train::init_model(run, spec.classes as i64, device);
    let erf_images = crate::analysis::erf_images(&test, profile.analysis.erf_images, &augment, device)?;
    let inputs = crate::analysis::AnalysisInputs {
        spec: &profile.analysis,
        resolution: i64::from(profile.resolution),
        device,
        erf_images: &erf_images,
    };
    let key = crate::results::RunKey::of(run);
    Ok(crate::analysis::analyse_checkpoint_timed(&key, profile.epochs, &vs, &model, &inputs)?.1)
}

/// Wall time of one run, in seconds, split into training and evaluation.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RunEstimate {
    pub train_s: f64,
    pub eval_s: f64,
}

/// The wall time of `run` from a training step's rate (`step_images_per_s`: augmentation, blur, forward, backward,
/// Adam) and evaluation's (`eval_images_per_s`: one image at one sigma): every epoch's training images (plus, under
/// `train_metrics = "eval_pass"`, a forward-only pass over as many, a third of a step's cost), every epoch's
/// validation, and the test passes across `test_sigmas` and, at each stage epoch, `stage_test_sigmas`.
/// `--preflight` and the benchmark's projection of the `paper` profile both use it.
pub fn estimate_run(
    profile: &Profile,
    run: &RunSpec,
    step_images_per_s: f64,
    eval_images_per_s: f64,
) -> Result<RunEstimate> {
    let spec = profile.dataset(run.dataset)?;
    let passes = match profile.train_metrics {
        crate::protocol::TrainMetrics::EvalPass => 4.0 / 3.0,
        crate::protocol::TrainMetrics::Running => 1.0,
    };
    let train_images = (run.steps_per_epoch * run.batch_size * u64::from(run.epochs)) as f64;
    let evals = (profile.test_sigmas.len() + profile.stage_epochs.len() * profile.stage_test_sigmas.len()) as f64;
    let eval_images = spec.test_images as f64 * evals + spec.val_images as f64 * f64::from(run.epochs);
    Ok(RunEstimate { train_s: train_images * passes / step_images_per_s, eval_s: eval_images / eval_images_per_s })
}

/// Where a reviewer gets `dataset` and how it is imported (the README's data table, "Getting the real datasets",
/// in one line), for a preflight that finds it missing.
pub(crate) fn where_to_get(dataset: DatasetId) -> &'static str {
    match dataset {
        DatasetId::Faces => {
            "FaceScrub is not public as the original trained on it: ask the original's authors for its `Faces/` \
             folder (dev|val|test.pickle + .csv) and run `blurry-to-clear data import --dataset faces --from \
             original --source Faces --out DATA/faces`; or rebuild it from FaceScrub's public URL lists (many dead, \
             so other images) into identity folders and import them `--from folder-per-class`"
        }
        DatasetId::ToyboxInstance => {
            "Toybox at the instance level is public as videos only: ask the original's authors for its \
             `Toybox-360/` folder and run `blurry-to-clear data import --dataset toybox_instance --from original \
             --source Toybox-360 --out DATA/toybox_instance` (labels need each frame's object, so there is no \
             folder route)"
        }
        DatasetId::ToyboxCategory => {
            "Toybox at the category level is public as videos only: ask the original's authors for its \
             `Toybox-12/` folder and run `blurry-to-clear data import --dataset toybox_category --from original \
             --source Toybox-12 --out DATA/toybox_category`"
        }
        DatasetId::In12 => {
            "ImageNet-12 was curated by the original's authors and never published: ask them for its `IN-12/` \
             folder and run `blurry-to-clear data import --dataset in12 --from original --source IN-12 --out \
             DATA/in12`; or re-curate 12 Toybox categories from ImageNet into class folders (other images) and \
             import them `--from folder-per-class`"
        }
        DatasetId::In100 => {
            "ImageNet-100 is public: download the Kaggle dataset ambityga/imagenet100 (ImageNet's terms), unpack it \
             and run `blurry-to-clear data import --dataset in100 --from imagenet100-kaggle --source imagenet100 \
             --out DATA/in100`"
        }
    }
}

/// One finding of `--preflight`, reported as soon as it is made (the data checks and the timed steps of a `paper`
/// profile take minutes), so that the commands layer can show each at once.
#[derive(Clone, Debug, PartialEq)]
pub enum Finding {
    /// What is checked: the profile, its selected runs and the device.
    Start { profile: String, runs: usize, device: String },
    /// The profile is meant for a GPU that `--device auto` would not use ([`cpu_fallback_warning`]).
    Warning(String),
    /// A dataset's real data verified under `root`.
    DataVerified { dataset: DatasetId, root: PathBuf },
    /// A dataset of a profile that trains on the embedded stand-ins.
    StandIn { dataset: DatasetId },
    /// A dataset's train, val and test caches built.
    CachesBuilt { dataset: DatasetId },
    /// A run's steady-state step and evaluation batch (medians, seconds) and its projected wall time (hours).
    Run { name: String, step_s: f64, eval_batch_s: f64, hours: f64 },
    /// Disk the checkpoints need and what is free under `out`.
    Disk { needed: u64, free: u64, out: PathBuf },
    /// One checkpoint's analyses of a freshly initialised network, timed by analysis, and the `checkpoints` the
    /// selected runs analyse: about `hours` on this device.
    Analyses { seconds: AnalysisSeconds, checkpoints: usize, hours: f64 },
    /// The projected time of the selected runs on this device, in hours: `hours` in all, of which training and
    /// evaluation (the runs measured), the analyses, and verifying the data and building the caches (spent by this
    /// preflight; a run started after it reuses the caches).
    Time { hours: f64, train_eval_hours: f64, analyses_hours: f64, cache_hours: f64 },
    /// Of it, the training on one GPU at the assumed [`GPU_FLOP_PER_S`] (hours), and how much slower this CPU is.
    GpuTime { hours: f64, tflop_per_s: f64, slowdown: f64 },
}

/// Verify `dataset`'s data and build its caches; every problem found is added to `problems` (a missing root with
/// where to get the dataset). True when the runs of `dataset` can be tried.
fn check_dataset(
    profile: &Profile,
    dataset: DatasetId,
    sources: &data::cache::DataSourceArgs,
    problems: &mut Vec<String>,
    report: &mut dyn FnMut(Finding),
) -> bool {
    if profile.data == DataSource::Real {
        let root = match data::cache::dataset_root(dataset, sources) {
            Ok(root) => root,
            Err(err) => {
                problems.push(format!("data {dataset}: {err:#}"));
                return false;
            }
        };
        if !root.is_dir() {
            let data_root = root.parent().unwrap_or(&root).display().to_string();
            problems.push(format!(
                "data {dataset}: {} does not exist. {}",
                root.display(),
                where_to_get(dataset).replace("DATA/", &format!("{data_root}/"))
            ));
            return false;
        }
        match data::verify::verify(dataset, &root).map(|verified| (verified, root)) {
            Err(err) => {
                problems.push(format!("data {dataset}: {err:#}"));
                return false;
            }
            Ok((verified, root)) if !verified.is_ok() => {
                const SHOWN: usize = 20;
                for problem in verified.problems.iter().take(SHOWN) {
                    problems.push(format!("data {dataset}: {problem}"));
                }
                if verified.problems.len() > SHOWN {
                    problems.push(format!(
                        "data {dataset}: ... and {} more problems; `data verify --dataset {dataset} --root {}` lists \
                         them all",
                        verified.problems.len() - SHOWN,
                        root.display()
                    ));
                }
                return false;
            }
            Ok((_, root)) => report(Finding::DataVerified { dataset, root }),
        }
    } else {
        report(Finding::StandIn { dataset });
    }
    for split in SplitName::ALL {
        if let Err(err) = data::cache::load_split(profile, dataset, split, sources, Device::Cpu) {
            problems.push(format!("cache {dataset}: cannot build the {split} cache: {err:#}"));
            return false;
        }
    }
    report(Finding::CachesBuilt { dataset });
    true
}

/// Run every check, reporting each [`Finding`] as it is made; returns every problem found (none: the preflight
/// passed).
pub fn preflight(opts: &ReproduceOptions, report: &mut dyn FnMut(Finding)) -> Result<Vec<String>> {
    let profile = Profile::load(&opts.profile)?;
    let device = opts.device.resolve()?;
    if let Some(threads) = opts.threads {
        tch::set_num_threads(threads);
    }
    let runs = select_runs(&profile, opts)?;
    let sources = data::cache::DataSourceArgs { data_root: opts.data_root.clone() };
    report(Finding::Start { profile: profile.name.clone(), runs: runs.len(), device: describe(device) });
    let fallback = cpu_fallback_warning(&profile, &runs, opts.device, device)?;
    if let Some(warning) = &fallback {
        report(Finding::Warning(warning.clone()));
    }

    let mut problems = Vec::new();
    // Verifying the data and building the caches, timed: a run started after this preflight reuses the caches.
    let mut cache_s = 0.0;
    let datasets = datasets_of(&runs);
    let usable: BTreeSet<DatasetId> = match (profile.data, &sources.data_root) {
        (DataSource::Real, None) => {
            problems.push(format!(
                "data: profile '{}' reads the real datasets ({}), and no --data-root was given: pass --data-root DIR, \
                 where DIR/<dataset>/ holds each in the canonical layout (paper/DATA.md)",
                profile.name,
                datasets.iter().map(|d| d.name()).collect::<Vec<_>>().join(", ")
            ));
            BTreeSet::new()
        }
        _ => datasets
            .into_iter()
            .filter(|d| {
                let started = Instant::now();
                let usable = check_dataset(&profile, *d, &sources, &mut problems, report);
                cache_s += started.elapsed().as_secs_f64();
                usable
            })
            .collect(),
    };

    let mut total_s = 0.0;
    let mut measured_flop = 0.0;
    for run in runs.iter().filter(|r| usable.contains(&r.dataset)) {
        let timing = match try_run(&profile, run, &sources, device, opts.precision) {
            Ok(timing) => timing,
            Err(err) => {
                problems.push(format!("run {}: {err:#}", run.name()));
                continue;
            }
        };
        let step_rate = run.batch_size as f64 / timing.step_s;
        let eval_rate = profile.eval_batch_size as f64 / timing.eval_batch_s;
        let RunEstimate { train_s, eval_s } = estimate_run(&profile, run, step_rate, eval_rate)?;
        total_s += train_s + eval_s;
        measured_flop += training_flop(&profile, run)?;
        report(Finding::Run {
            name: run.name(),
            step_s: timing.step_s,
            eval_batch_s: timing.eval_batch_s,
            hours: (train_s + eval_s) / 3600.0,
        });
    }

    let usable_runs: Vec<&RunSpec> = runs.iter().filter(|r| usable.contains(&r.dataset)).collect();
    let mut analyses_s = 0.0;
    if let Some(run) = usable_runs.first() {
        match time_analyses(&profile, run, &sources, device) {
            Ok(seconds) => {
                let checkpoints = analysed_checkpoints(&profile) * usable_runs.len();
                analyses_s = seconds.total() * checkpoints as f64;
                report(Finding::Analyses { seconds, checkpoints, hours: analyses_s / 3600.0 });
            }
            Err(err) => problems.push(format!("analyses: {err:#}")),
        }
    }

    let checkpoints = profile.checkpoint_epochs().len() as u64;
    let needed: u64 = runs
        .iter()
        .map(|r| profile.dataset(r.dataset).map(|s| checkpoint_bytes(s.classes) * (checkpoints + 2)))
        .sum::<Result<u64>>()?;
    let free = free_bytes(&opts.out)?;
    report(Finding::Disk { needed, free, out: opts.out.clone() });
    if needed > free {
        problems.push(format!(
            "disk: not enough under {}: {needed} bytes needed, {free} free; free space or pass --out elsewhere",
            opts.out.display()
        ));
    }
    if total_s > 0.0 {
        report(Finding::Time {
            hours: (total_s + analyses_s + cache_s) / 3600.0,
            train_eval_hours: total_s / 3600.0,
            analyses_hours: analyses_s / 3600.0,
            cache_hours: cache_s / 3600.0,
        });
        if fallback.is_some() {
            let gpu_s = measured_flop / GPU_FLOP_PER_S;
            report(Finding::GpuTime {
                hours: gpu_s / 3600.0,
                tflop_per_s: GPU_FLOP_PER_S / 1e12,
                slowdown: total_s / gpu_s,
            });
        }
    }
    Ok(problems)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checkpoint_size_counts_every_parameter() {
        // torchvision AlexNet features: 2,469,696 parameters; the head 9217 per class.
        assert_eq!(checkpoint_bytes(0), 2_469_696 * 4 + 4096);
        assert_eq!(checkpoint_bytes(10) - checkpoint_bytes(0), 10 * 9217 * 4);
    }

    #[test]
    fn forward_flop_counts_every_convolution_at_its_output_size() {
        // At 224 px the conv outputs are 55, 27, 13, 13 and 13 px: 70,276,800 + 223,948,800 + 112,140,288 +
        // 149,520,384 + 99,680,256 = 655,566,528 multiply-adds, plus 9216 per class in the head.
        assert_eq!(forward_flop(224, 0), 2.0 * 655_566_528.0);
        assert_eq!(forward_flop(224, 10) - forward_flop(224, 0), 2.0 * 92_160.0);
        // At 64 px: 15, 7, 3, 3, 3 px.
        let at_64 = 15 * 15 * 64 * 3 * 121 + 7 * 7 * 192 * 64 * 25 + 9 * (3 * 3) * (384 * 192 + 256 * 384 + 256 * 256);
        assert_eq!(forward_flop(64, 0), 2.0 * at_64 as f64);
    }

    #[test]
    fn median_is_the_middle_timing() {
        assert_eq!(median(vec![5.0, 1.0, 3.0, 100.0, 2.0]), 3.0);
        assert!(median(Vec::new()).is_nan());
    }

    #[test]
    fn only_a_cuda_profile_on_auto_without_a_gpu_is_warned_about() {
        let paper = Profile::load("paper").unwrap();
        let runs = paper.runs(1).unwrap();
        let warning = cpu_fallback_warning(&paper, &runs, DeviceChoice::Auto, Device::Cpu).unwrap().unwrap();
        assert!(warning.contains("'paper'") && warning.contains("--device cpu"), "{warning}");
        // 15 runs: 34,048,000 training images per regime, 4 passes of 1.31 GFLOP (plus the heads): 537.2 PFLOP.
        assert!(warning.contains("about 537 PFLOP"), "{warning}");
        assert_eq!(cpu_fallback_warning(&paper, &runs, DeviceChoice::Cpu, Device::Cpu).unwrap(), None);
        assert_eq!(cpu_fallback_warning(&paper, &runs, DeviceChoice::Auto, Device::Cuda(0)).unwrap(), None);
        let mini = Profile::load("mini").unwrap();
        assert_eq!(cpu_fallback_warning(&mini, &mini.runs(1).unwrap(), DeviceChoice::Auto, Device::Cpu).unwrap(), None);
    }
}
