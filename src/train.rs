//! One training run, the paper's recipe (`notebooks/model_training/train_alexnet_*.ipynb` of
//! `cerysojj/blurry-to-clear-training`): Adam with L2 weight decay, cross-entropy, shuffled batches with the
//! protocol's `drop_last`, the learning rate stepped every iteration, and each batch augmented and then blurred at
//! the epoch's sigma on the device.
//!
//! After every epoch the run logs what the original logged: training accuracy and loss (by default a second,
//! eval-mode pass over augmented training images at the epoch's sigma), and validation accuracy and loss at the
//! regime's validation sigma (clear for blurry-to-clear, 8 for blurry). Every `checkpoint_every` epochs it saves the
//! weights, the optimiser state and the log so far; an interrupted run resumes from its last complete checkpoint
//! and, because every epoch draws from its own random stream, ends with the numbers of an uninterrupted run.
//!
//! **A damaged checkpoint is never used.** Each checkpoint's files are written, then hashed into a record
//! (`checkpoints/epoch-NNN.sha256.json`, a sealed [`StageRecord`]) written last and atomically. Resume takes the
//! newest checkpoint whose record, weights, optimiser state and log snapshot all verify and whose earlier checkpoints'
//! weights verify too (evaluation and the analyses read them); every damaged file met is named in the run log and on
//! stderr, and the run falls back to the checkpoint before it. Optimiser states are the only large files a fallback
//! needs that a finished run does not: the newest two are kept (the older ones are removed, and their records
//! rewritten without them), so a damaged newest checkpoint costs one checkpoint interval of training, never the
//! whole run, while the disk holds two optimiser states instead of one.
//!
//! **A loss that is not a number stops the run** ([`Diverged`]): the losses of an epoch's steps stay on the device
//! (no step waits for the CPU) and are checked together at the end of the epoch, before anything of that epoch is
//! logged or checkpointed, so the last good checkpoint stays the newest.
//!
//! Every random number (initial weights, each epoch's order and augmentation, the training-metrics pass) is drawn
//! on the CPU from a [`Draws`] stream named after the run's seed, so a run draws the same numbers on every device.
use anyhow::{Context, Result};
use indicatif::ProgressBar;
use serde::{Deserialize, Serialize};
use tch::{nn, Device, Kind, Tensor};

use crate::augment::{self, AugmentSpec};
use crate::blur;
use crate::data::Split;
use crate::draws::{upload, Draws};
use crate::evaluate::{self, EvalLoader};
use crate::model::{self, AlexNet};
use crate::optim::{AdamConfig, AdamSet};
use crate::protocol::{Profile, RunSpec, TrainMetrics};
use crate::results::EpochLog;
use crate::run_dir::{RunDir, RunLog};
use crate::schedule::{lr_at, optimiser_steps_at, sigma_at};
use crate::stage::{NotDone, RecordFile, StageRecord};

/// What a run trains on, already loaded (on the device or on the CPU).
pub(crate) struct RunData<'a> {
    pub train: &'a Split,
    pub val: &'a Split,
}

/// Everything `train` needs besides the run itself.
pub(crate) struct TrainContext<'a> {
    pub profile: &'a Profile,
    pub run: &'a RunSpec,
    pub dir: &'a RunDir,
    pub data: RunData<'a>,
    pub augment: &'a AugmentSpec,
    pub device: Device,
    pub precision: Precision,
    pub progress: &'a ProgressBar,
}

/// `--precision`: the arithmetic of the training steps' forward and backward passes. Evaluation, the
/// training-metrics pass and the analyses always run in float32.
///
/// tch exposes none of libtorch's TF32 switches; libtorch's defaults are PyTorch's: cuDNN convolutions may use TF32,
/// cuBLAS matmuls may not (unless `TORCH_ALLOW_TF32_CUBLAS_OVERRIDE=1` is set, which would also coarsen the blur,
/// a matmul: leave it unset).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Precision {
    /// Float32 throughout, as the original. On CUDA, libtorch (like PyTorch) lets cuDNN run float32 convolutions
    /// in TF32 by default, which is what the original's A100 did; the classifier's matmul stays float32.
    #[default]
    Fp32,
    /// Conv and linear layers in bfloat16, as CUDA autocast runs them (inputs and weights cast, float32 master
    /// weights, loss and Adam). Meant for CUDA; allowed on the CPU (for checks), where it is not faster.
    Bf16,
}

impl Precision {
    /// The kind the conv and linear layers compute in.
    pub(crate) fn kind(self) -> Kind {
        match self {
            Precision::Fp32 => Kind::Float,
            Precision::Bf16 => Kind::BFloat16,
        }
    }

    pub(crate) fn is_fp32(&self) -> bool {
        *self == Precision::Fp32
    }
}

impl std::str::FromStr for Precision {
    type Err = anyhow::Error;

    fn from_str(text: &str) -> Result<Precision> {
        match text {
            "fp32" => Ok(Precision::Fp32),
            "bf16" => Ok(Precision::Bf16),
            _ => anyhow::bail!("unknown precision '{text}'; valid: fp32, bf16"),
        }
    }
}

/// The network's training input of a batch: augment the uint8 images with `draws`, then blur at `sigma_px`
/// (pixels of the training resolution). `train`, the training-metrics pass, `--preflight` and the benchmark all
/// call this.
pub fn training_input(images: &Tensor, augment: &AugmentSpec, sigma_px: f64, draws: &mut Draws) -> Result<Tensor> {
    blur::blur_uniform(&augment::train_batch(images, augment, draws)?, sigma_px)
}

/// The optimisation side of a training step: forward, cross-entropy, backward and Adam.
pub struct Learner<'a> {
    pub model: &'a AlexNet,
    pub adam: &'a mut AdamSet,
    pub precision: Precision,
}

impl Learner<'_> {
    /// One step on the network's `input` (from [`training_input`]) at learning rate `lr`, with `updates` Adam
    /// updates from its gradients (1, or 2 where the original stepped two optimisers, see [`AdamSet`]); returns the
    /// logits and the loss, left on the device for the epoch's running metrics.
    pub fn step(&mut self, input: &Tensor, labels: &Tensor, lr: f64, updates: u32) -> (Tensor, Tensor) {
        let logits = self.model.forward_as(input, self.precision.kind());
        let loss = logits.cross_entropy_for_logits(labels);
        self.adam.zero_grad();
        loss.backward();
        self.adam.step(lr, updates);
        (logits, loss)
    }
}

/// Build the run's model with its seeded initialisation (shared by the three regimes of a dataset).
pub(crate) fn init_model(run: &RunSpec, classes: i64, device: Device) -> (nn::VarStore, AlexNet) {
    // Every draw of a run comes from its `Draws` streams on the CPU; nothing draws from libtorch's generators. They
    // are seeded from the run all the same (CPU and every CUDA device), so that an operation that ever did would
    // still repeat.
    tch::manual_seed(crate::seeds::derive(run.seed, &[run.dataset.name(), "libtorch"]));
    let vs = nn::VarStore::new(device);
    let model = AlexNet::new(&vs.root(), classes, &mut Draws::named(run.seed, &[run.dataset.name(), "init"]));
    (vs, model)
}

/// The record of a checkpoint: its files and their SHA-256, keyed by the run and the epoch.
fn checkpoint_stage(run: &RunSpec, dir: &RunDir, epoch: u32) -> Result<(RecordFile, String)> {
    let stage = RecordFile::new(&format!("checkpoint-{epoch:03}"), dir.checkpoint_record(epoch), &dir.root);
    Ok((stage, crate::stage::hash_inputs(&(run, epoch))?))
}

/// Record the checkpoint of `epoch` (its weights and log snapshot, and its optimiser state when kept), hashing the
/// files as they are on disk. Written last: a checkpoint without a record is not used.
fn record_checkpoint(dir: &RunDir, run: &RunSpec, epoch: u32, with_optimizer: bool, made: (f64, &str)) -> Result<()> {
    let (stage, key) = checkpoint_stage(run, dir, epoch)?;
    let mut files = vec![dir.checkpoint(epoch), dir.log_snapshot(epoch)];
    if with_optimizer {
        files.push(dir.optimizer_state(epoch));
    }
    stage.finish(&key, &files, made.0, made.1)?;
    Ok(())
}

/// Whether a checkpoint's record lists its optimiser state, i.e. whether training can resume from it.
fn resumable(record: &StageRecord, dir: &RunDir, epoch: u32) -> bool {
    let optimizer = dir.optimizer_state(epoch);
    let relative = optimizer.strip_prefix(&dir.root).unwrap_or(&optimizer);
    record.outputs.contains_key(&relative.to_string_lossy().into_owned())
}

/// Where training resumes, and what was wrong on the way.
#[derive(Debug, Default, PartialEq)]
struct ResumePoint {
    /// The newest checkpoint that verifies whole, after earlier checkpoints whose weights all verify; `None`: epoch 0.
    epoch: Option<u32>,
    /// Each damaged file or record met, named, for the run log and stderr.
    damage: Vec<String>,
}

/// Walk the checkpoints from the first: each must verify against its record; the first that does not (missing,
/// damaged, made for other inputs) ends the walk, and training resumes from the newest one before it that kept its
/// optimiser state. A checkpoint without a record after which none has one was being written when the run stopped:
/// that is not damage.
fn resume_point(profile: &Profile, run: &RunSpec, dir: &RunDir) -> Result<ResumePoint> {
    let epochs = profile.checkpoint_epochs();
    let mut point = ResumePoint::default();
    for (i, &epoch) in epochs.iter().enumerate() {
        let (stage, key) = checkpoint_stage(run, dir, epoch)?;
        let why = match stage.check(&key) {
            Ok(record) => {
                if resumable(&record, dir, epoch) {
                    point.epoch = Some(epoch);
                }
                continue;
            }
            Err(why) => why,
        };
        let later_recorded = epochs[i + 1..].iter().any(|e| dir.checkpoint_record(*e).exists());
        let problem = match why {
            NotDone::NoRecord if !later_recorded => None,
            NotDone::NoRecord => Some(format!("the checkpoint record {} is missing", stage.record.display())),
            NotDone::InputsChanged => Some(format!("{} was made for other inputs", stage.record.display())),
            damaged => damaged.damage(),
        };
        if let Some(problem) = problem {
            let fallback = match point.epoch {
                Some(earlier) => format!("resuming from the checkpoint of epoch {earlier}"),
                None => "no earlier checkpoint kept its optimiser state: training restarts from epoch 0".to_owned(),
            };
            point.damage.push(format!("damaged checkpoint of epoch {epoch}: {problem}; not used, {fallback}"));
        }
        break;
    }
    Ok(point)
}

/// Train one run to its last epoch (resuming if checkpoints exist) and return its training log.
pub(crate) fn train(ctx: &TrainContext) -> Result<Vec<EpochLog>> {
    let TrainContext { profile, run, dir, data, device, .. } = ctx;
    let classes = profile.dataset(run.dataset)?.classes as i64;
    let (mut vs, model) = init_model(run, classes, *device);
    let mut adam = AdamSet::new(&vs, AdamConfig::pytorch_default(run.weight_decay));
    let mut log_file = RunLog::open(dir)?;
    let mut log = Vec::new();
    let resume = resume_point(profile, run, dir)?;
    for damage in &resume.damage {
        tracing::warn!("{}: {damage}", run.name());
        log_file.line(damage)?;
    }
    let start = match resume.epoch {
        Some(epoch) => {
            model::load(&mut vs, &dir.checkpoint(epoch))?;
            adam.load(&dir.optimizer_state(epoch))?;
            let snapshot = std::fs::read(dir.log_snapshot(epoch))?;
            log = serde_json::from_slice(&snapshot)
                .with_context(|| format!("log snapshot {} is corrupt", dir.log_snapshot(epoch).display()))?;
            log_file.line(&format!("resuming {} from the checkpoint of epoch {epoch}", run.key()))?;
            epoch
        }
        None => {
            log_file.line(&format!(
                "starting {} (seed {}): {} epochs x {} iterations",
                run.key(),
                run.seed,
                run.epochs,
                run.steps_per_epoch
            ))?;
            let entry = evaluate_epoch(ctx, &model, 0, None)?;
            log_file.line(&describe(&entry))?;
            log.push(entry);
            0
        }
    };
    let batch = run.batch_size as i64;
    ctx.progress.set_length(u64::from(run.epochs) * run.steps_per_epoch * run.batch_size);
    ctx.progress.set_position(u64::from(start) * run.steps_per_epoch * run.batch_size);
    ctx.progress.reset_eta();
    let mut learner = Learner { model: &model, adam: &mut adam, precision: ctx.precision };
    let started = std::time::Instant::now();
    for epoch in start + 1..=run.epochs {
        let epoch_started = std::time::Instant::now();
        let sigma = sigma_at(&run.train_sigmas, run.epochs, epoch);
        ctx.progress.set_message(format!("{} epoch {epoch}/{} sigma {sigma}", run.key(), run.epochs));
        let mut draws = epoch_draws(run, "epoch", epoch);
        let order = epoch_order(data.train, &mut draws);
        let mut running = Running::default();
        for step in 0..run.steps_per_epoch {
            crate::interrupt::check()?;
            let (images, labels) = batch_at(data.train, &order, step as i64, batch, *device);
            let input = training_input(&images, ctx.augment, sigma * run.sigma_scale(), &mut draws)?;
            let iteration = u64::from(epoch - 1) * run.steps_per_epoch + step;
            let lr = lr_at(&run.lr_schedule, run.epochs, run.steps_per_epoch, run.lr, iteration);
            let (logits, loss) = learner.step(&input, &labels, lr, optimiser_steps_at(&run.lr_schedule, epoch));
            running.add(&logits, &labels, &loss);
            ctx.progress.inc(labels.size()[0] as u64);
        }
        if let Some((step, loss)) = running.first_non_finite_loss() {
            let kept = resume_point(profile, run, dir)?.epoch;
            let iteration = u64::from(epoch - 1) * run.steps_per_epoch + step as u64;
            let lr = lr_at(&run.lr_schedule, run.epochs, run.steps_per_epoch, run.lr, iteration);
            return Err(Diverged { run: run.name(), epoch, step, iteration, loss, lr, kept }.into());
        }
        let entry = evaluate_epoch(ctx, &model, epoch, Some(running))?;
        let first = u64::from(epoch - 1) * run.steps_per_epoch;
        let lr = |step| lr_at(&run.lr_schedule, run.epochs, run.steps_per_epoch, run.lr, first + step);
        log_file.line(&format!(
            "{}, lr {:.3e} to {:.3e}, {:.1} s",
            describe(&entry),
            lr(0),
            lr(run.steps_per_epoch.saturating_sub(1)),
            epoch_started.elapsed().as_secs_f64()
        ))?;
        log.push(entry);
        if profile.checkpoint_epochs().contains(&epoch) {
            // Log, optimiser, weights, then the record: a checkpoint counts only once its record names all three.
            crate::atomic::write(&dir.log_snapshot(epoch), &serde_json::to_vec_pretty(&log)?)?;
            learner.adam.save(&dir.optimizer_state(epoch))?;
            model::save(&vs, &dir.checkpoint(epoch))?;
            let made = (started.elapsed().as_secs_f64(), crate::device::describe(*device));
            record_checkpoint(dir, run, epoch, true, (made.0, &made.1))?;
            retire_older_optimizer_states(profile, run, dir, epoch)?;
        }
    }
    Ok(log)
}

/// Keep the optimiser states of the newest two checkpoints (`epoch` and the one before: the fallback when the newest
/// turns out damaged) and remove older ones, which would otherwise triple the disk a run needs. A retired state's
/// checkpoint is recorded again without it first, so that no record names a file that is gone.
fn retire_older_optimizer_states(profile: &Profile, run: &RunSpec, dir: &RunDir, epoch: u32) -> Result<()> {
    let earlier: Vec<u32> = profile.checkpoint_epochs().into_iter().filter(|e| *e < epoch).collect();
    for &old in earlier.iter().rev().skip(1) {
        let path = dir.optimizer_state(old);
        let (stage, key) = checkpoint_stage(run, dir, old)?;
        if let Ok(record) = stage.check(&key) {
            if resumable(&record, dir, old) {
                record_checkpoint(dir, run, old, false, (record.wall_s, &record.device))?;
            }
        }
        if path.exists() {
            std::fs::remove_file(&path).with_context(|| format!("cannot remove {}", path.display()))?;
        }
    }
    Ok(())
}

/// A training loss that is NaN or infinite: the run stops, naming where, and keeps its last good checkpoint.
#[derive(Debug, thiserror::Error)]
#[error(
    "{run}: the training loss became {loss} at epoch {epoch}, iteration {iteration} (step {step} of the epoch, learning \
     rate {lr:.3e}); the run stopped {kept_text}. Remedies: a lower learning rate (`lr` of the dataset or run in the \
     protocol file), `--precision fp32` if it trained in bf16, and a check of the data (`blurry-to-clear data verify`)",
    kept_text = match kept {
        Some(epoch) => format!("and keeps its last good checkpoint, of epoch {epoch}"),
        None => "before its first checkpoint".to_owned(),
    }
)]
pub(crate) struct Diverged {
    pub run: String,
    pub epoch: u32,
    /// The step within the epoch (from 0) and the iteration since training began (from 0).
    pub step: usize,
    pub iteration: u64,
    pub loss: f64,
    pub lr: f64,
    /// The newest checkpoint a rerun would resume from.
    pub kept: Option<u32>,
}

/// The random stream of an epoch's `pass` ("epoch" for training, "train-metrics" for the metrics pass), named
/// without the regime: the three regimes of a dataset draw the same order and augmentation.
fn epoch_draws(run: &RunSpec, pass: &str, epoch: u32) -> Draws {
    Draws::named(run.seed, &[run.dataset.name(), pass, &epoch.to_string()])
}

/// A pass's data order: a permutation of the split, the first draw of the pass's stream (its augmentation follows).
fn epoch_order(train: &Split, draws: &mut Draws) -> Tensor {
    Tensor::from_slice(&draws.permutation(train.labels.size()[0] as usize))
}

/// Batch `step` of an epoch in `order` (the last one may be short when `drop_last` is off), on `device`. A split
/// kept in CPU memory (too large for the device) is gathered on the CPU and its batch sent through pinned memory
/// without blocking ([`upload`]), so that the host goes on preparing while the GPU copies; a split on the device is
/// gathered there.
pub fn batch_at(split: &Split, order: &Tensor, step: i64, batch: i64, device: Device) -> (Tensor, Tensor) {
    let start = step * batch;
    let len = batch.min(order.size()[0] - start);
    let index = order.narrow(0, start, len);
    let gather = |tensor: &Tensor| {
        let gathered = tensor.index_select(0, &upload(&index, tensor.device()));
        match gathered.device() {
            Device::Cpu => upload(&gathered, device),
            _ => gathered.to_device(device),
        }
    };
    (gather(&split.images), gather(&split.labels))
}

/// Accuracy and loss summed over an epoch's training batches, kept on the device so that the GPU is never
/// made to wait for a number the CPU only needs at the end of the epoch.
#[derive(Default)]
struct Running {
    correct: Option<Tensor>,
    loss_sum: Option<Tensor>,
    images: i64,
    /// Each batch's loss, in order, for [`Running::first_non_finite_loss`].
    losses: Vec<Tensor>,
}

impl Running {
    fn add(&mut self, logits: &Tensor, labels: &Tensor, loss: &Tensor) {
        let n = labels.size()[0];
        let correct = logits.argmax(1, false).eq_tensor(labels).sum(Kind::Int64);
        self.losses.push(loss.detach());
        let loss = loss.detach().to_kind(Kind::Double) * n as f64;
        self.correct = Some(match self.correct.take() {
            Some(sum) => sum + correct,
            None => correct,
        });
        self.loss_sum = Some(match self.loss_sum.take() {
            Some(sum) => sum + loss,
            None => loss,
        });
        self.images += n;
    }

    /// The first batch (from 0) whose loss is NaN or infinite, with that loss: one transfer from the device.
    fn first_non_finite_loss(&self) -> Option<(usize, f64)> {
        if self.losses.is_empty() {
            return None;
        }
        let losses = Tensor::stack(&self.losses, 0).to_kind(Kind::Double).to_device(Device::Cpu);
        let losses = Vec::<f64>::try_from(&losses).ok()?;
        losses.into_iter().enumerate().find(|(_, loss)| !loss.is_finite())
    }

    /// Accuracy (%) and mean loss.
    fn summary(&self) -> (f64, f64) {
        let total = |t: &Option<Tensor>| t.as_ref().map_or(0.0, |t| t.double_value(&[]));
        let n = self.images.max(1) as f64;
        (100.0 * total(&self.correct) / n, total(&self.loss_sum) / n)
    }
}

/// The log entry of `epoch`: training metrics as the profile asks, validation at the regime's sigma.
fn evaluate_epoch(ctx: &TrainContext, model: &AlexNet, epoch: u32, running: Option<Running>) -> Result<EpochLog> {
    let run = ctx.run;
    let train_sigma = sigma_at(&run.train_sigmas, run.epochs, epoch.max(1));
    let loader = EvalLoader {
        batch_size: ctx.profile.eval_batch_size as i64,
        drop_last: ctx.profile.eval_drop_last,
        device: ctx.device,
    };
    let val =
        evaluate::scores(model, ctx.data.val, &[run.val_sigma], run.sigma_scale(), ctx.augment, &loader)?.remove(0);
    let (train_acc_pct, train_loss) = match (ctx.profile.train_metrics, running) {
        (TrainMetrics::EvalPass, _) => {
            let (acc, loss) = eval_pass(ctx, model, epoch, train_sigma)?;
            (Some(acc), Some(loss))
        }
        (TrainMetrics::Running, Some(r)) => {
            let (acc, loss) = r.summary();
            (Some(acc), Some(loss))
        }
        (TrainMetrics::Running, None) => (None, None),
    };
    Ok(EpochLog {
        epoch,
        train_acc_pct,
        train_loss,
        val_acc_pct: val.accuracy_pct,
        val_loss: val.loss,
        train_sigma,
        val_sigma: run.val_sigma,
    })
}

/// The original's training metrics: an eval-mode pass over freshly augmented training batches at `sigma`.
fn eval_pass(ctx: &TrainContext, model: &AlexNet, epoch: u32, sigma: f64) -> Result<(f64, f64)> {
    let run = ctx.run;
    let mut draws = epoch_draws(run, "train-metrics", epoch);
    let order = epoch_order(ctx.data.train, &mut draws);
    let mut running = Running::default();
    tch::no_grad(|| -> Result<()> {
        for step in 0..run.steps_per_epoch {
            let (images, labels) = batch_at(ctx.data.train, &order, step as i64, run.batch_size as i64, ctx.device);
            let input = training_input(&images, ctx.augment, sigma * run.sigma_scale(), &mut draws)?;
            let logits = model.forward(&input);
            let loss = logits.cross_entropy_for_logits(&labels);
            running.add(&logits, &labels, &loss);
        }
        Ok(())
    })?;
    Ok(running.summary())
}

fn describe(entry: &EpochLog) -> String {
    let train = match (entry.train_acc_pct, entry.train_loss) {
        (Some(acc), Some(loss)) => format!("train acc {acc:.2}% loss {loss:.4}"),
        _ => "train not measured".to_owned(),
    };
    format!(
        "epoch {}: {train} (sigma {}), val acc {:.2}% loss {:.4} (sigma {})",
        entry.epoch, entry.train_sigma, entry.val_acc_pct, entry.val_loss, entry.val_sigma
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vocab::{DatasetId, Regime};

    /// A `tiny` run's directory with checkpoints 1 to `last` written as training writes them (stand-in bytes).
    fn checkpointed(last: u32) -> (tempfile::TempDir, Profile, RunSpec, RunDir) {
        let profile = Profile::load("tiny").unwrap();
        let run = profile.run(DatasetId::Faces, Regime::Clear, 0, None).unwrap();
        let temp = tempfile::tempdir().unwrap();
        let dir = RunDir::new(temp.path(), &run);
        for epoch in 1..=last {
            for (path, text) in [
                (dir.log_snapshot(epoch), format!("[{epoch}]")),
                (dir.optimizer_state(epoch), format!("adam {epoch}")),
                (dir.checkpoint(epoch), format!("weights {epoch}")),
            ] {
                crate::atomic::write(&path, text.as_bytes()).unwrap();
            }
            record_checkpoint(&dir, &run, epoch, true, (1.0, "cpu")).unwrap();
            retire_older_optimizer_states(&profile, &run, &dir, epoch).unwrap();
        }
        (temp, profile, run, dir)
    }

    /// A resumed run reads its log back from the checkpoint's JSON snapshot, and its tables must equal an
    /// uninterrupted run's to the bit: serde_json's default float parser may land one ULP off the shortest
    /// representation it wrote (2.0613136291503906 came back as 2.06131362915039), so `float_roundtrip` is enabled.
    #[test]
    fn a_log_snapshot_round_trips_every_f64_exactly() {
        let awkward = [2.0613136291503906, 0.1 + 0.2, 1.0 / 3.0, 87.109_375, f64::MIN_POSITIVE, 1e300 / 7.0];
        let log: Vec<EpochLog> = awkward
            .iter()
            .enumerate()
            .map(|(i, &x)| EpochLog {
                epoch: i as u32,
                train_acc_pct: Some(x * 7.0),
                train_loss: Some(x / 3.0),
                val_acc_pct: x,
                val_loss: x.sqrt(),
                train_sigma: x * 1e-5,
                val_sigma: 8.0,
            })
            .collect();
        let back: Vec<EpochLog> = serde_json::from_slice(&serde_json::to_vec_pretty(&log).unwrap()).unwrap();
        let bits = |l: &[EpochLog]| -> Vec<u64> {
            l.iter()
                .flat_map(|e| {
                    [e.train_acc_pct.unwrap(), e.train_loss.unwrap(), e.val_acc_pct, e.val_loss, e.train_sigma]
                })
                .map(f64::to_bits)
                .collect()
        };
        assert_eq!(bits(&back), bits(&log));
    }

    fn flip_middle_byte(path: &std::path::Path) {
        let mut bytes = std::fs::read(path).unwrap();
        let middle = bytes.len() / 2;
        bytes[middle] ^= 0x01;
        std::fs::write(path, bytes).unwrap();
    }

    #[test]
    fn only_the_newest_two_optimiser_states_are_kept_and_the_records_say_so() {
        let (_temp, profile, run, dir) = checkpointed(4);
        let kept: Vec<u32> = (1..=4).filter(|e| dir.optimizer_state(*e).exists()).collect();
        assert_eq!(kept, vec![3, 4]);
        assert_eq!(resume_point(&profile, &run, &dir).unwrap(), ResumePoint { epoch: Some(4), damage: vec![] });
    }

    #[test]
    fn a_damaged_newest_checkpoint_falls_back_to_the_one_before_naming_the_file() {
        type Damage = fn(&RunDir, u32) -> std::path::PathBuf;
        let cases: [(&str, Damage); 4] = [
            ("weights", |dir, e| dir.checkpoint(e)),
            ("optimiser state", |dir, e| dir.optimizer_state(e)),
            ("log snapshot", |dir, e| dir.log_snapshot(e)),
            ("record", |dir, e| dir.checkpoint_record(e)),
        ];
        for (what, file) in cases {
            for truncate in [false, true] {
                let (_temp, profile, run, dir) = checkpointed(3);
                let path = file(&dir, 3);
                match truncate {
                    true => std::fs::write(&path, b"").unwrap(),
                    false => flip_middle_byte(&path),
                }
                let point = resume_point(&profile, &run, &dir).unwrap();
                assert_eq!(point.epoch, Some(2), "{what}, truncated: {truncate}");
                assert_eq!(point.damage.len(), 1, "{what}: {:?}", point.damage);
                let message = &point.damage[0];
                assert!(message.contains(&path.display().to_string()), "{what}: {message}");
                assert!(message.contains("resuming from the checkpoint of epoch 2"), "{message}");
            }
        }
    }

    #[test]
    fn damaged_earlier_weights_restart_from_the_last_checkpoint_before_them() {
        // Epoch 1's optimiser state was retired: training restarts from scratch, and says so.
        let (_temp, profile, run, dir) = checkpointed(4);
        flip_middle_byte(&dir.checkpoint(2));
        let point = resume_point(&profile, &run, &dir).unwrap();
        assert_eq!(point.epoch, None);
        assert!(point.damage[0].contains("epoch-002.safetensors is damaged"), "{:?}", point.damage);
        assert!(point.damage[0].contains("training restarts from epoch 0"), "{:?}", point.damage);
        // A missing record before a recorded checkpoint is damage; a missing last record is a stopped write.
        let (_temp, profile, run, dir) = checkpointed(3);
        std::fs::remove_file(dir.checkpoint_record(3)).unwrap();
        assert_eq!(resume_point(&profile, &run, &dir).unwrap(), ResumePoint { epoch: Some(2), damage: vec![] });
        std::fs::remove_file(dir.checkpoint_record(1)).unwrap();
        let point = resume_point(&profile, &run, &dir).unwrap();
        assert_eq!(point.epoch, None);
        assert!(point.damage[0].contains("epoch-001.sha256.json is missing"), "{:?}", point.damage);
    }

    /// The devices a batch can be sent to from CPU memory: the CPU, and CUDA where libtorch sees a GPU (then through
    /// pinned memory, without blocking).
    fn devices() -> Vec<Device> {
        std::iter::once(Device::Cpu).chain(tch::Cuda::is_available().then_some(Device::Cuda(0))).collect()
    }

    #[test]
    fn a_batch_from_a_split_in_cpu_memory_reaches_each_device_in_the_drawn_order() {
        let images = Tensor::arange(6 * 3 * 2 * 2, (Kind::Int64, Device::Cpu)).to_kind(Kind::Uint8).view([6, 3, 2, 2]);
        let split = Split { images, labels: Tensor::from_slice(&[10i64, 11, 12, 13, 14, 15]) };
        let order = Tensor::from_slice(&[4i64, 1, 5, 0, 3, 2]);
        for device in devices() {
            let (batch, labels) = batch_at(&split, &order, 1, 4, device);
            assert_eq!((batch.device(), labels.device()), (device, device));
            // Step 1 of batches of 4 is the last two of the order (the last batch is short).
            assert_eq!(Vec::<i64>::try_from(labels.to_device(Device::Cpu)).unwrap(), [13, 12]);
            let first = batch.to_device(Device::Cpu).get(0).to_kind(Kind::Int64);
            assert!(first.equal(&split.images.get(3).to_kind(Kind::Int64)), "{device:?}");
        }
    }

    #[test]
    fn libtorchs_generators_are_seeded_by_the_run() {
        let _generators = crate::seeds::lock_libtorch_generators();
        let profile = Profile::load("tiny").unwrap();
        let run = profile.run(DatasetId::Faces, Regime::Clear, 0, None).unwrap();
        let draw = |device: Device| {
            init_model(&run, 3, device);
            Tensor::rand([4], (Kind::Float, device)).to_device(Device::Cpu)
        };
        for device in devices() {
            let first = draw(device);
            tch::manual_seed(12345);
            assert!(first.equal(&draw(device)), "the same run seeds the same draws on {device:?}");
        }
    }

    #[test]
    fn the_first_non_finite_loss_of_an_epoch_is_found() {
        let mut running = Running::default();
        let labels = Tensor::from_slice(&[0i64, 1]);
        let logits = Tensor::from_slice(&[1.0f32, 0.0, 0.0, 1.0]).view([2, 2]);
        for loss in [0.5f32, 0.25, f32::INFINITY, f32::NAN] {
            running.add(&logits, &labels, &Tensor::from(loss));
        }
        assert_eq!(running.first_non_finite_loss(), Some((2, f64::INFINITY)));
        let mut finite = Running::default();
        finite.add(&logits, &labels, &Tensor::from(0.5f32));
        assert_eq!(finite.first_non_finite_loss(), None);
    }

    #[test]
    fn a_diverged_run_names_where_and_what_to_try() {
        let err = Diverged {
            run: "faces/clear".into(),
            epoch: 2,
            step: 1,
            iteration: 4,
            loss: f64::NAN,
            lr: 1e4,
            kept: Some(1),
        };
        let text = err.to_string();
        for needle in [
            "faces/clear",
            "NaN at epoch 2, iteration 4 (step 1",
            "checkpoint, of epoch 1",
            "lower learning rate",
            "--precision fp32",
            "data verify",
        ] {
            assert!(text.contains(needle), "'{needle}' missing: {text}");
        }
    }
}
