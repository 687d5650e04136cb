//! `reproduce --preflight`: everything a week-long `paper` run needs, checked in minutes before it starts.
//!
//! The data of every selected dataset is verified (layout, labels, hashes) and its caches are built; every run
//! takes one real training step (augmentation, blur at its strongest training sigma, forward, backward, Adam) and
//! one evaluation batch at the strongest test sigma on the chosen device; the disk must hold every checkpoint; and
//! the measured step times give an estimate of the whole profile's wall time. Nothing is written to the run
//! directories.
use std::path::Path;
use std::time::Instant;

use anyhow::{bail, Context, Result};
use tch::Device;

use crate::augment::AugmentSpec;
use crate::data::{self, SplitName};
use crate::device::describe;
use crate::draws::Draws;
use crate::evaluate::{self, EvalLoader};
use crate::optim::{AdamConfig, AdamSet};
use crate::pipeline::{datasets_of, select_runs, ReproduceOptions};
use crate::protocol::{DataSource, Profile, RunSpec};
use crate::schedule::lr_at;
use crate::train::{self, Precision};

/// Bytes of one checkpoint of a model with `classes` outputs (float32 weights; safetensors adds a small header).
fn checkpoint_bytes(classes: u64) -> u64 {
    let convs: u64 = crate::model::CONV_LAYERS
        .iter()
        .map(|l| (l.out_channels * (l.in_channels * l.kernel * l.kernel + 1)) as u64)
        .sum();
    (convs + classes * (9216 + 1)) * 4 + 4096
}

/// Free bytes on the file system holding `dir` (or its nearest existing ancestor).
fn free_bytes(dir: &Path) -> Result<u64> {
    let probe = dir.ancestors().find(|p| p.exists()).unwrap_or(Path::new("."));
    fs4::available_space(probe).with_context(|| format!("cannot read the free space of {}", probe.display()))
}

/// Seconds for one training step and one evaluation batch of `run`.
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
            bail!("{}: the first training step gave a loss of {value}", run.key());
        }
        Ok(started.elapsed().as_secs_f64() * run.batch_size as f64 / n as f64)
    };
    // The first step pays for allocation and kernel selection; the second is the one to extrapolate from.
    step()?;
    let step_s = step()?;
    let batch = (profile.eval_batch_size as i64).min(test.labels.size()[0]);
    let loader = EvalLoader { batch_size: batch, drop_last: false, device };
    let one_batch = data::Split { images: test.images.narrow(0, 0, batch), labels: test.labels.narrow(0, 0, batch) };
    let strongest = profile.test_sigmas.iter().cloned().fold(0.0, f64::max);
    let started = Instant::now();
    evaluate::scores(&model, &one_batch, &[strongest], run.sigma_scale(), &augment, &loader)?;
    let eval_batch_s = started.elapsed().as_secs_f64() * profile.eval_batch_size as f64 / batch as f64;
    Ok(Timing { step_s, eval_batch_s })
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

/// Run every check and print a report; fails when any check fails.
pub fn preflight(opts: &ReproduceOptions) -> Result<()> {
    let profile = Profile::load(&opts.profile)?;
    let device = opts.device.resolve()?;
    if let Some(threads) = opts.threads {
        tch::set_num_threads(threads);
    }
    let runs = select_runs(&profile, opts)?;
    let sources = data::cache::DataSourceArgs { data_root: opts.data_root.clone() };
    println!("preflight of profile {} ({} runs) on {}", profile.name, runs.len(), describe(device));

    for dataset in &datasets_of(&runs) {
        match profile.data {
            DataSource::Real => {
                let root = data::cache::dataset_root(*dataset, &sources)?;
                let report = data::verify::verify(*dataset, &root)?;
                if !report.is_ok() {
                    data::verify::run(*dataset, &root)?;
                }
                println!("  data   {dataset}: {} verified", root.display());
            }
            DataSource::Synthetic => println!("  data   {dataset}: embedded stand-in"),
        }
        for split in SplitName::ALL {
            data::cache::load_split(&profile, *dataset, split, &sources, Device::Cpu)
                .with_context(|| format!("cannot build the {dataset} {split} cache"))?;
        }
        println!("  cache  {dataset}: train, val and test built");
    }

    let mut total_s = 0.0;
    for run in &runs {
        let timing = try_run(&profile, run, &sources, device, opts.precision)
            .with_context(|| format!("preflight of {}", run.key()))?;
        let step_rate = run.batch_size as f64 / timing.step_s;
        let eval_rate = profile.eval_batch_size as f64 / timing.eval_batch_s;
        let RunEstimate { train_s, eval_s } = estimate_run(&profile, run, step_rate, eval_rate)?;
        total_s += train_s + eval_s;
        println!(
            "  run    {:<32} step {:>7.3} s, eval batch {:>7.3} s: about {:>6.1} h",
            run.key(),
            timing.step_s,
            timing.eval_batch_s,
            (train_s + eval_s) / 3600.0
        );
    }

    let checkpoints = train::checkpoint_epochs(&profile).len() as u64;
    let needed: u64 = runs
        .iter()
        .map(|r| profile.dataset(r.dataset).map(|s| checkpoint_bytes(s.classes) * (checkpoints + 2)))
        .sum::<Result<u64>>()?;
    let free = free_bytes(&opts.out)?;
    println!(
        "  disk   {:.1} GB needed for checkpoints, {:.1} GB free under {}",
        needed as f64 / 1e9,
        free as f64 / 1e9,
        opts.out.display()
    );
    if needed > free {
        bail!(
            "not enough disk under {}: {needed} bytes needed, {free} free; free space or pass --out elsewhere",
            opts.out.display()
        );
    }
    println!("  time   about {:.1} h for training and evaluation on this device (analyses extra)", total_s / 3600.0);
    println!("preflight passed");
    Ok(())
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
}
