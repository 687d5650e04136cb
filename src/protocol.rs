//! Profiles: the study's protocol as data, and its resolution into one [`RunSpec`] per (dataset, regime, seed).
//!
//! A profile is a TOML file `paper/protocol/<name>.toml`. It names the datasets with their split sizes and
//! per-dataset recipe, the three regimes, and per-run overrides (`[runs."<dataset>/<regime>"]`) for the original's
//! irregular runs. `paper` holds the 15 runs as the original ran them (see `paper/DEVIATIONS.md`), `paper-uniform`
//! the one recipe the paper describes, `mini` and `tiny` the same study on the embedded stand-ins.
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use serde::{Deserialize, Serialize};

use crate::schedule::LrSegment;
use crate::vocab::{DatasetId, Regime};

/// Where a profile's images come from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DataSource {
    /// The real datasets in the canonical layout under `--data-root` (see `paper/DATA.md`).
    Real,
    /// The embedded, seeded procedural stand-ins (`data::synthetic`).
    Synthetic,
}

/// How the test transform resizes an image (the original: `Resize(224)` on the shorter side; IN-100 both sides).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TestResize {
    ShorterSide,
    BothSides,
}

/// How the per-epoch training accuracy and loss of the training log are measured.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TrainMetrics {
    /// The original's: a second pass over the augmented training split in eval mode, at the epoch's sigma.
    EvalPass,
    /// The mean over the epoch's own training batches (no second pass: cheaper, for the CPU profiles).
    Running,
}

fn default_gabor_restarts() -> u32 {
    100
}

fn default_erf_inputs() -> u64 {
    64
}

/// How long each random start of a conv1 Gabor fit searches (`analysis.gabor_start_budget`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum GaborStartBudget {
    /// Every start runs L-BFGS to convergence and the best is kept, as the original's SciPy L-BFGS-B did
    /// (`"converge"`; the `paper` profiles).
    Converge,
    /// Every start runs at most this many L-BFGS iterations, then the best start is refined to convergence
    /// (`{ iterations = 12 }`, the default: cheaper, for the CPU profiles).
    Iterations(u64),
}

/// The default budget: 12 iterations per start.
pub(crate) const DEFAULT_GABOR_START_ITERATIONS: u64 = 12;

impl Default for GaborStartBudget {
    fn default() -> Self {
        GaborStartBudget::Iterations(DEFAULT_GABOR_START_ITERATIONS)
    }
}

impl GaborStartBudget {
    fn is_default(&self) -> bool {
        *self == GaborStartBudget::default()
    }
}

/// The units a conv1 kernel is fitted in (`analysis.gabor_kernel_scale`).
///
/// The original fits the raw channel-averaged weights, with the Gabor's amplitude bounded to 0.1-5 and started at
/// 0.5-2: bounds in weight units, which its trained filters (20 or more epochs of a full dataset) fill. A `mini`
/// model's conv1 is analysed after a few hundred steps, when its kernels still span about 0.05 from trough to peak
/// (the scale of their initialisation). Fitted raw, the amplitude sits at its bound and the fit makes up for it with
/// a squeezed envelope and a slower carrier (`gabor::tests`): `mini`'s raw fits had envelopes of 1-2 px where the
/// same kernels in units of their peak fit with 4-7 px, and most kernels had no valid fit at all. Dividing each
/// kernel by its largest absolute value puts the bounds in units of the kernel's own peak; the envelope (sigma),
/// orientation and frequency of a fit, and so every Gabor size the claims use, mean what they meant.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GaborKernelScale {
    /// The raw weights, as the original (`paper`, `paper-uniform`).
    #[default]
    Raw,
    /// Each kernel divided by its largest absolute value (`mini`, `tiny`).
    UnitPeak,
}

impl GaborKernelScale {
    fn is_default(&self) -> bool {
        *self == GaborKernelScale::default()
    }
}

/// Settings of the receptive-field and spatial-frequency analyses run on every checkpoint.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AnalysisSpec {
    /// Random restarts per conv1 Gabor fit (the original: 100).
    #[serde(default = "default_gabor_restarts")]
    pub gabor_restarts: u32,
    /// How long each restart searches. Not written when it is the default, so that the profiles without it keep
    /// their stage hashes.
    #[serde(default, skip_serializing_if = "GaborStartBudget::is_default")]
    pub gabor_start_budget: GaborStartBudget,
    /// The units each conv1 kernel is fitted in. Not written when it is the default (raw), for the same reason.
    #[serde(default, skip_serializing_if = "GaborKernelScale::is_default")]
    pub gabor_kernel_scale: GaborKernelScale,
    /// Test images whose input gradients are averaged into each effective receptive field.
    #[serde(default = "default_erf_inputs")]
    pub erf_images: u64,
    /// Random-noise inputs for the noise-driven effective receptive field, reported separately.
    #[serde(default = "default_erf_inputs")]
    pub erf_noise: u64,
    /// Checkpoint epochs to analyse; default every checkpoint.
    #[serde(default)]
    pub epochs: Option<Vec<u32>>,
}

impl Default for AnalysisSpec {
    fn default() -> Self {
        AnalysisSpec {
            gabor_restarts: default_gabor_restarts(),
            gabor_start_budget: GaborStartBudget::default(),
            gabor_kernel_scale: GaborKernelScale::default(),
            erf_images: default_erf_inputs(),
            erf_noise: default_erf_inputs(),
            epochs: None,
        }
    }
}

/// One regime's blur: `train_sigmas` split over equal stages of the run's epochs; validation at `val_sigma`.
/// Sigmas are in pixels of the 224-px protocol.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RegimeSpec {
    pub train_sigmas: Vec<f64>,
    pub val_sigma: f64,
}

/// The videos of Toybox's rotation views (the original's `TOYBOX_VIDEOS`): the only ones its category-level
/// training set drew from.
pub(crate) const TOYBOX_ROTATION_VIDEOS: [&str; 6] = ["rxplus", "rxminus", "ryplus", "ryminus", "rzplus", "rzminus"];

/// The original's sub-sampling of a training split (Toybox category-level: `ToyboxDataset.set_train_indices` with
/// 3000 images per class, numpy's `default_rng(5)`): as many objects per class as the first class has, each object's
/// quota drawn from its rows of `videos` (see `data::cache`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Subsample {
    pub per_class: u64,
    pub seed: u64,
    /// Draw only from rows whose `video` is one of these (the original: the six rotation videos, its default
    /// `views`); absent, every row.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub videos: Option<Vec<String>>,
}

/// Everything a profile says about one dataset.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DatasetSpec {
    /// Number of classes (identities, objects or categories).
    pub classes: u64,
    /// Toybox stand-ins: objects per category (the original has 30); unused elsewhere.
    #[serde(default)]
    pub objects_per_category: Option<u64>,
    /// Training images per epoch before `drop_last` (after `train_subsample`, where the original sub-sampled).
    pub train_images: u64,
    pub val_images: u64,
    pub test_images: u64,
    #[serde(default)]
    pub train_subsample: Option<Subsample>,
    /// Normalisation constants of the dataset (RGB).
    pub mean: [f64; 3],
    pub std: [f64; 3],
    pub test_resize: TestResize,
    /// torchvision's RandomErasing with p = 0.5 after normalisation: the original's notebooks apply it to every
    /// dataset but the faces (Toybox, ImageNet-12 and ImageNet-100).
    #[serde(default)]
    pub random_erasing: bool,
    pub lr: f64,
    pub weight_decay: f64,
    /// The learning-rate schedule, as segments (see [`LrSegment`]).
    pub lr_schedule: Vec<LrSegment>,
    /// The order of the test split in the final model's evaluation across test blur; absent, the split's own order
    /// (see [`RobustnessOrder`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub robustness_test_order: Option<RobustnessOrder>,
}

/// The test split of the original's Toybox instance-level robustness evaluation (robustness_results cell 11): built
/// with `num_images_per_object = 150`, which keeps every image (no object has 150) but puts them object by object, in
/// order of each object's first row, each object's images drawn without replacement (`rng.choice`, numpy's
/// `default_rng(5)`). With `drop_last`, the images left out are then some of the last object's, not the split's last
/// four (see `data::object_order`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RobustnessOrder {
    /// Seed of numpy's generator (the original's: 5).
    pub per_object_seed: u64,
    /// Images kept per object (the original's `num_images_per_object`: 150).
    pub images_per_object: u64,
}

/// What a `paper` profile does with a val or test image that is not square (`non_square_test_images`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NonSquarePolicy {
    /// Crop it to the centre square after the shorter-side resize (batches need one size). The original's test
    /// transform has no crop; the stand-ins are square, so this does nothing for them.
    #[default]
    CentreCrop,
    /// Stop, naming the file and its shape: the original's `Resize(224)` would have kept the image non-square.
    Refuse,
}

/// A per-run override, `[runs."<dataset>/<regime>"]`: the original's irregular runs.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RunOverride {
    #[serde(default)]
    pub lr: Option<f64>,
    #[serde(default)]
    pub weight_decay: Option<f64>,
    #[serde(default)]
    pub lr_schedule: Option<Vec<LrSegment>>,
    /// Why the run differs: carried into the run's log and `paper/DEVIATIONS.md`.
    #[serde(default)]
    pub note: Option<String>,
}

/// A whole profile, as read from `paper/protocol/<name>.toml`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Profile {
    pub name: String,
    pub description: String,
    pub data: DataSource,
    /// Device the profile is meant for (`cuda` for `paper`); `--device` overrides it.
    pub device: String,
    /// Training crop and test image size in pixels. Every sigma is scaled by `resolution / 224`.
    pub resolution: u32,
    /// Size the training images are stored at before the random crop (the original: Resize to 256x256).
    pub stored_resolution: u32,
    pub epochs: u32,
    pub batch_size: u64,
    /// Drop the last incomplete training batch (the original: yes).
    pub drop_last: bool,
    /// Evaluate only full batches of the test and val splits, as the original's `drop_last=True` loaders did.
    pub eval_drop_last: bool,
    /// Batch size of the evaluation loaders (the original: 256).
    pub eval_batch_size: u64,
    pub train_metrics: TrainMetrics,
    #[serde(default)]
    pub analysis: AnalysisSpec,
    /// Base seed: data order, augmentation and initialisation of every run flow from it.
    pub seed: u64,
    /// A checkpoint every this many epochs (the original: 10).
    pub checkpoint_every: u32,
    /// Epochs whose checkpoints are evaluated at `stage_test_sigmas` (the original: 20, 40, 60, 80, 100).
    pub stage_epochs: Vec<u32>,
    /// Test sigmas of the final model (the original: 0..=32), in 224-px pixels.
    pub test_sigmas: Vec<f64>,
    /// Test sigmas of the stage checkpoints (the original: 0..=8), in 224-px pixels.
    pub stage_test_sigmas: Vec<f64>,
    pub regimes: BTreeMap<Regime, RegimeSpec>,
    pub datasets: BTreeMap<DatasetId, DatasetSpec>,
    #[serde(default)]
    pub runs: BTreeMap<String, RunOverride>,
    /// Val and test images that are not square, under a shorter-side test resize: cropped (the default) or refused.
    #[serde(default)]
    pub non_square_test_images: NonSquarePolicy,
    /// Second runs of a dataset and regime under another recipe, `[variants.<name>]` (see [`Variant`]).
    #[serde(default)]
    pub variants: BTreeMap<String, Variant>,
}

/// A second model of one dataset and regime that the original trained under another recipe, and whose numbers some
/// of its figures show (reference README, irregularity 1: `IN12_full_blur_2` beside `IN12_full_blur`). It is trained,
/// evaluated and analysed like a run, in `runs/<profile>/variants/<name>/`, and its rows are gathered into
/// `results/variants/<name>/`, apart from the run's, so that every figure and claim reads one model per run; `verify`
/// compares them with the expected rows that `expected/<profile>/models.toml` assigns to it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Variant {
    /// The run it is a second model of, `dataset/regime`.
    pub run: String,
    /// Its recipe, over the dataset's (the run's own `[runs."..."]` override does not apply).
    #[serde(default)]
    pub recipe: RunOverride,
}

/// Most epochs a profile may ask for: ten times the paper's 100. More is a typo, not a protocol: the paper's 100
/// epochs of ImageNet-100 already take days of GPU time per run.
pub(crate) const MAX_EPOCHS: u32 = 1000;

/// Largest image side a profile may ask for: the paper trains at 224 px from 256-px images. At 1024 px
/// ImageNet-100's training split alone would take 409 GB as decoded bytes (130,000 x 3 x 1024 x 1024).
pub(crate) const MAX_RESOLUTION: u32 = 1024;

/// What is wrong with a profile: each variant names the field, the value and the allowed range, so that tests can
/// tell the refusals apart and a reviewer can fix the file.
#[derive(Debug, thiserror::Error)]
pub(crate) enum ProtocolError {
    #[error("epochs = {epochs} is outside 1..={MAX_EPOCHS} (the paper trains 100; more is taken for a typo)")]
    EpochsOutOfRange { epochs: u32 },
    #[error("{field} = 0: a batch needs at least one image (the paper: 256)")]
    BatchSizeZero { field: &'static str },
    #[error(
        "{field} = {value} px is below AlexNet's minimum of {} px (conv1 and three max-pools must leave one pixel; the \
         paper: 224)",
        crate::model::MIN_INPUT
    )]
    ResolutionTooSmall { field: &'static str, value: u32 },
    #[error("{field} = {value} px is above the limit of {MAX_RESOLUTION} px (the paper: 224, stored at 256)")]
    ResolutionTooLarge { field: &'static str, value: u32 },
    #[error(
        "stored_resolution = {stored} is below resolution = {resolution}: the training crop cannot be larger than \
             the stored image"
    )]
    StoredBelowResolution { stored: u32, resolution: u32 },
    #[error("checkpoint_every = 0; checkpoints are written every this many epochs (the paper: 10)")]
    CheckpointEveryZero,
    #[error(
        "stage epoch {epoch} is not a checkpoint epoch of the run (a multiple of checkpoint_every = {every} in \
             1..={epochs})"
    )]
    StageEpochOutsideRun { epoch: u32, epochs: u32, every: u32 },
    #[error("analysis epoch {epoch} has no checkpoint; the run's checkpoints are at epochs {checkpoints:?}")]
    AnalysisEpochNotCheckpoint { epoch: u32, checkpoints: Vec<u32> },
    #[error("regime '{regime}' is missing from [regimes]; every profile defines clear, blurry and blurry_to_clear")]
    MissingRegime { regime: Regime },
    #[error(
        "{field} has {stages} stages for {epochs} epochs: it needs 1 to {epochs} sigmas (one stage per epoch at \
             most)"
    )]
    SigmaStages { field: String, stages: usize, epochs: u32 },
    #[error(
        "regime '{regime}' has train_sigmas {train_sigmas:?} and val_sigma {val_sigma}, which its name contradicts: \
             clear is sigma 0 throughout, blurry one sigma above 0, blurry_to_clear two or more stages ending at 0"
    )]
    RegimeShape { regime: Regime, train_sigmas: Vec<f64>, val_sigma: f64 },
    #[error("{field} holds the sigma {sigma}; a sigma is a finite number >= 0 (pixels at 224 px)")]
    SigmaInvalid { field: String, sigma: f64 },
    #[error(
        "{field} holds the sigma {sigma}, whose blur kernel is wider than the {resolution}-px images (its half \
             width, ceil(2 sigma) at that scale, must stay below the image side)"
    )]
    SigmaTooLarge { field: String, sigma: f64, resolution: u32 },
    #[error("test_sigmas is empty; the final models are evaluated at these sigmas (the paper: 0 to 32)")]
    NoTestSigmas,
    #[error("datasets.{dataset}.classes = 0; a dataset needs at least one class")]
    NoClasses { dataset: DatasetId },
    #[error("datasets.{dataset}.std holds {value}; a normalisation std is a finite number > 0")]
    NormalisationStd { dataset: DatasetId, value: f64 },
    #[error("{field} = {value}; a learning rate is a finite number > 0 (the paper: 1e-3)")]
    LearningRate { field: String, value: f64 },
    #[error("{field} = {value}; a weight decay is a finite number >= 0 (the paper: 1e-5 or 1e-4)")]
    WeightDecay { field: String, value: f64 },
    #[error(
        "datasets.{dataset}.train_subsample.videos holds '{video}'; the videos are Toybox's rotation videos: {}",
        TOYBOX_ROTATION_VIDEOS.join(", ")
    )]
    UnknownVideo { dataset: DatasetId, video: String },
    #[error(
        "datasets.{dataset}.robustness_test_order orders the test images object by object, which needs labels that \
         are objects: only toybox_instance has them"
    )]
    RobustnessOrderNeedsObjects { dataset: DatasetId },
    #[error(
        "[variants.\"{name}\"]: a variant's name becomes a directory name; use letters, digits, '_' and '-' only \
         (the original's checkpoint directory, e.g. IN12_full_blur_2)"
    )]
    VariantName { name: String },
    #[error("[runs.\"{key}\"] does not name a run")]
    UnknownRun { key: String, source: anyhow::Error },
    #[error("run {run} cannot be resolved")]
    Unresolvable { run: String, source: anyhow::Error },
}

/// A dataset's own numbers: at least one class, a usable normalisation and learning rate.
fn check_dataset(dataset: DatasetId, spec: &DatasetSpec) -> std::result::Result<(), ProtocolError> {
    if spec.classes == 0 {
        return Err(ProtocolError::NoClasses { dataset });
    }
    if spec.robustness_test_order.is_some() && dataset != DatasetId::ToyboxInstance {
        return Err(ProtocolError::RobustnessOrderNeedsObjects { dataset });
    }
    let videos = spec.train_subsample.as_ref().and_then(|s| s.videos.as_ref());
    if let Some(videos) = videos {
        if let Some(video) = videos.iter().find(|v| !TOYBOX_ROTATION_VIDEOS.contains(&v.as_str())) {
            return Err(ProtocolError::UnknownVideo { dataset, video: video.clone() });
        }
        if videos.is_empty() {
            return Err(ProtocolError::UnknownVideo { dataset, video: String::new() });
        }
    }
    if let Some(&value) = spec.std.iter().find(|v| !v.is_finite() || **v <= 0.0) {
        return Err(ProtocolError::NormalisationStd { dataset, value });
    }
    check_rates(&format!("datasets.{dataset}"), Some(spec.lr), Some(spec.weight_decay), Some(&spec.lr_schedule))
}

/// Learning rates (the base rate and a constant segment's own) finite and positive, weight decays finite and >= 0.
fn check_rates(
    at: &str,
    lr: Option<f64>,
    weight_decay: Option<f64>,
    schedule: Option<&[crate::schedule::LrSegment]>,
) -> std::result::Result<(), ProtocolError> {
    if let Some(value) = lr.filter(|v| !v.is_finite() || *v <= 0.0) {
        return Err(ProtocolError::LearningRate { field: format!("{at}.lr"), value });
    }
    if let Some(value) = weight_decay.filter(|v| !v.is_finite() || *v < 0.0) {
        return Err(ProtocolError::WeightDecay { field: format!("{at}.weight_decay"), value });
    }
    for segment in schedule.into_iter().flatten() {
        if let Some(value) = segment.lr.filter(|v| !v.is_finite() || *v <= 0.0) {
            return Err(ProtocolError::LearningRate { field: format!("{at}.lr_schedule[].lr"), value });
        }
    }
    Ok(())
}

/// One training run, fully resolved: everything `train` needs, and nothing it must look up elsewhere.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct RunSpec {
    pub profile: String,
    pub dataset: DatasetId,
    pub regime: Regime,
    /// Seed index (0..`--seeds`) and the seed value derived from the profile's base seed.
    pub seed_index: u64,
    pub seed: u64,
    pub epochs: u32,
    pub steps_per_epoch: u64,
    pub batch_size: u64,
    pub resolution: u32,
    pub lr: f64,
    pub weight_decay: f64,
    pub lr_schedule: Vec<LrSegment>,
    pub train_sigmas: Vec<f64>,
    pub val_sigma: f64,
    pub note: Option<String>,
    /// The variant this run trains (`[variants.<name>]`), `None` for the profile's own run. Not written when `None`,
    /// so that the runs keep their stage hashes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub variant: Option<String>,
}

impl RunSpec {
    /// `dataset/regime`, the name used by `--only` and in `[runs."..."]`.
    pub fn key(&self) -> String {
        format!("{}/{}", self.dataset, self.regime)
    }

    /// The run's name in logs and reports: its key, and its variant's name for a variant (`in12/blurry
    /// (IN12_full_blur_2)`).
    pub fn name(&self) -> String {
        match &self.variant {
            Some(variant) => format!("{} ({variant})", self.key()),
            None => self.key(),
        }
    }

    /// Factor from 224-px protocol pixels to pixels of this run's images.
    pub(crate) fn sigma_scale(&self) -> f64 {
        f64::from(self.resolution) / 224.0
    }
}

/// The copy of the protocol file that `reproduce` keeps beside a run's tables (`runs/<profile>/results/`), so that
/// what reads the tables (claims, figures) knows the profile that made them, a reviewer's own variant included.
pub(crate) const PROFILE_COPY: &str = "profile.toml";

/// The directory holding the profiles: `paper/protocol/` of the project ([`crate::provenance::project_dir`]).
pub fn protocol_dir() -> Result<PathBuf> {
    crate::provenance::project_path("paper/protocol")
}

/// The file a profile argument names: `paper/protocol/<name>.toml`, or the path itself when it ends in `.toml`.
pub(crate) fn protocol_file(name: &str) -> Result<PathBuf> {
    match name.ends_with(".toml") {
        true => Ok(PathBuf::from(name)),
        false => Ok(protocol_dir()?.join(format!("{name}.toml"))),
    }
}

/// Names of every profile in [`protocol_dir`], sorted.
pub fn profile_names() -> Vec<String> {
    let mut names: Vec<String> = protocol_dir()
        .and_then(|dir| Ok(std::fs::read_dir(dir)?))
        .map(|dir| {
            dir.filter_map(|e| e.ok())
                .filter_map(|e| e.file_name().to_str()?.strip_suffix(".toml").map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

impl Profile {
    /// Load the profile named `name` from [`protocol_dir`] or, when `name` ends in `.toml`, from that file (a
    /// reviewer's own variant of a profile, or a test's).
    pub fn load(name: &str) -> Result<Profile> {
        if name.ends_with(".toml") {
            return Profile::from_file(Path::new(name));
        }
        let path = protocol_dir()?.join(format!("{name}.toml"));
        if !path.exists() {
            bail!(
                "unknown profile '{name}': no file {}; valid profiles: {}",
                path.display(),
                profile_names().join(", ")
            );
        }
        Profile::from_file(&path)
    }

    /// Load and check a profile file.
    pub(crate) fn from_file(path: &Path) -> Result<Profile> {
        let text = std::fs::read_to_string(path).with_context(|| format!("cannot read profile {}", path.display()))?;
        let profile: Profile = toml::from_str(&text).with_context(|| {
            format!("profile {} is not a valid protocol file; see paper/protocol/paper.toml", path.display())
        })?;
        profile.check().with_context(|| format!("profile {} is inconsistent", path.display()))?;
        Ok(profile)
    }

    /// The checks serde cannot make, run when a profile is loaded, before anything is allocated or trained: every
    /// number in range (see [`ProtocolError`] for each bound and why), every regime present and shaped as its name
    /// says, every sigma blurring an image smaller than its kernel refused, and every run resolvable.
    fn check(&self) -> std::result::Result<(), ProtocolError> {
        use ProtocolError as E;
        if self.epochs == 0 || self.epochs > MAX_EPOCHS {
            return Err(E::EpochsOutOfRange { epochs: self.epochs });
        }
        for (field, value) in [("batch_size", self.batch_size), ("eval_batch_size", self.eval_batch_size)] {
            if value == 0 {
                return Err(E::BatchSizeZero { field });
            }
        }
        for (field, value) in [("resolution", self.resolution), ("stored_resolution", self.stored_resolution)] {
            if i64::from(value) < crate::model::MIN_INPUT {
                return Err(E::ResolutionTooSmall { field, value });
            }
            if value > MAX_RESOLUTION {
                return Err(E::ResolutionTooLarge { field, value });
            }
        }
        if self.stored_resolution < self.resolution {
            return Err(E::StoredBelowResolution { stored: self.stored_resolution, resolution: self.resolution });
        }
        if self.checkpoint_every == 0 {
            return Err(E::CheckpointEveryZero);
        }
        for &epoch in &self.stage_epochs {
            if epoch == 0 || epoch > self.epochs || epoch % self.checkpoint_every != 0 {
                return Err(E::StageEpochOutsideRun { epoch, epochs: self.epochs, every: self.checkpoint_every });
            }
        }
        let checkpoints = self.checkpoint_epochs();
        for &epoch in self.analysis.epochs.iter().flatten() {
            if !checkpoints.contains(&epoch) {
                return Err(E::AnalysisEpochNotCheckpoint { epoch, checkpoints });
            }
        }
        for &regime in Regime::ALL {
            let spec = self.regimes.get(&regime).ok_or(E::MissingRegime { regime })?;
            self.check_regime(regime, spec)?;
        }
        if self.test_sigmas.is_empty() {
            return Err(E::NoTestSigmas);
        }
        self.check_sigmas("test_sigmas", &self.test_sigmas)?;
        self.check_sigmas("stage_test_sigmas", &self.stage_test_sigmas)?;
        for (dataset, spec) in &self.datasets {
            check_dataset(*dataset, spec)?;
        }
        for (key, run) in &self.runs {
            parse_run_key(key).map_err(|source| E::UnknownRun { key: key.clone(), source })?;
            check_rates(&format!("runs.\"{key}\""), run.lr, run.weight_decay, run.lr_schedule.as_deref())?;
        }
        for (name, variant) in &self.variants {
            if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-') {
                return Err(E::VariantName { name: name.clone() });
            }
            let recipe = &variant.recipe;
            check_rates(
                &format!("variants.{name}.recipe"),
                recipe.lr,
                recipe.weight_decay,
                recipe.lr_schedule.as_deref(),
            )?;
            self.variant_run(name, 0, None)
                .map_err(|source| E::Unresolvable { run: format!("variant {name}"), source })?;
        }
        for dataset in self.datasets.keys() {
            for &regime in Regime::ALL {
                self.run(*dataset, regime, 0, None)
                    .map_err(|source| E::Unresolvable { run: format!("{dataset}/{regime}"), source })?;
            }
        }
        Ok(())
    }

    /// A regime's sigmas: in range, one stage per epoch at most, and shaped as the regime's name says (the tables,
    /// figures and claims read `clear` as sigma 0 throughout, `blurry` as one constant sigma, `blurry_to_clear` as
    /// stages that end clear).
    fn check_regime(&self, regime: Regime, spec: &RegimeSpec) -> std::result::Result<(), ProtocolError> {
        use ProtocolError as E;
        let field = format!("regimes.{regime}.train_sigmas");
        self.check_sigmas(&field, &spec.train_sigmas)?;
        self.check_sigmas(&format!("regimes.{regime}.val_sigma"), &[spec.val_sigma])?;
        let stages = spec.train_sigmas.len();
        if stages == 0 || stages > self.epochs as usize {
            return Err(E::SigmaStages { field, stages, epochs: self.epochs });
        }
        let shaped = match regime {
            Regime::Clear => spec.train_sigmas.iter().chain([&spec.val_sigma]).all(|s| *s == 0.0),
            Regime::Blurry => stages == 1 && spec.train_sigmas[0] > 0.0,
            Regime::BlurryToClear => stages >= 2 && spec.train_sigmas[stages - 1] == 0.0,
        };
        if !shaped {
            return Err(E::RegimeShape { regime, train_sigmas: spec.train_sigmas.clone(), val_sigma: spec.val_sigma });
        }
        Ok(())
    }

    /// Every sigma finite, non-negative, and with a kernel that fits the profile's images (the blur's reflect
    /// padding needs the kernel's half-width, `ceil(2 sigma)` at the images' scale, below the image side).
    fn check_sigmas(&self, field: &str, sigmas: &[f64]) -> std::result::Result<(), ProtocolError> {
        for &sigma in sigmas {
            if !sigma.is_finite() || sigma < 0.0 {
                return Err(ProtocolError::SigmaInvalid { field: field.to_owned(), sigma });
            }
            let half_width = (2.0 * sigma * f64::from(self.resolution) / 224.0).ceil();
            if half_width >= f64::from(self.resolution) {
                return Err(ProtocolError::SigmaTooLarge {
                    field: field.to_owned(),
                    sigma,
                    resolution: self.resolution,
                });
            }
        }
        Ok(())
    }

    /// The blurry regime's training sigma (224-px pixels): where the paper reads off robustness (the ratio at
    /// sigma 8, and the blurry models' peak).
    pub(crate) fn blurry_sigma(&self) -> f64 {
        self.regimes.get(&Regime::Blurry).map_or(0.0, |r| r.train_sigmas.iter().copied().fold(0.0, f64::max))
    }

    /// The test images a dataset's accuracies are measured on: its test split, less the last incomplete batch under
    /// `eval_drop_last` (the original's 2,816 of 2,936 faces). `None` for a dataset the profile does not have.
    pub fn evaluated_test_images(&self, dataset: DatasetId) -> Option<u64> {
        let n = self.datasets.get(&dataset)?.test_images;
        let batch = self.eval_batch_size.max(1);
        Some(if self.eval_drop_last { n / batch * batch } else { n })
    }

    /// The datasets of this profile, in the paper's order.
    pub(crate) fn dataset_ids(&self) -> Vec<DatasetId> {
        self.datasets.keys().copied().collect()
    }

    pub(crate) fn dataset(&self, id: DatasetId) -> Result<&DatasetSpec> {
        self.datasets.get(&id).with_context(|| {
            let have: Vec<_> = self.datasets.keys().map(|d| d.name()).collect();
            format!("profile '{}' has no dataset '{id}'; it has: {}", self.name, have.join(", "))
        })
    }

    /// Iterations per epoch: `train_images / batch_size`, rounded down under `drop_last`, up otherwise.
    pub(crate) fn steps_per_epoch(&self, id: DatasetId) -> Result<u64> {
        let images = self.dataset(id)?.train_images;
        let steps = if self.drop_last { images / self.batch_size } else { images.div_ceil(self.batch_size) };
        if steps == 0 {
            bail!("dataset '{id}' has {images} training images, fewer than one batch of {}", self.batch_size);
        }
        Ok(steps)
    }

    /// Epochs with a checkpoint: every `checkpoint_every`, and the last.
    pub(crate) fn checkpoint_epochs(&self) -> Vec<u32> {
        let mut epochs: Vec<u32> = (1..=self.epochs).filter(|e| e % self.checkpoint_every == 0).collect();
        if epochs.last() != Some(&self.epochs) {
            epochs.push(self.epochs);
        }
        epochs
    }

    /// Seed of seed index `index`: the base seed for index 0, then consecutive values.
    pub(crate) fn seed_value(&self, index: u64) -> u64 {
        self.seed + index
    }

    /// Resolve one run. `steps_per_epoch` overrides the value derived from the split size.
    pub fn run(
        &self,
        dataset: DatasetId,
        regime: Regime,
        seed_index: u64,
        steps_per_epoch: Option<u64>,
    ) -> Result<RunSpec> {
        let overrides = self.runs.get(&format!("{dataset}/{regime}")).cloned().unwrap_or_default();
        self.resolve(dataset, regime, seed_index, steps_per_epoch, overrides, None)
    }

    /// Resolve the variant `name` (`[variants.<name>]`) for seed index `seed_index`.
    pub(crate) fn variant_run(&self, name: &str, seed_index: u64, steps_per_epoch: Option<u64>) -> Result<RunSpec> {
        let variant = self.variants.get(name).with_context(|| {
            let have: Vec<&str> = self.variants.keys().map(String::as_str).collect();
            format!("profile '{}' has no variant '{name}'; it has: {}", self.name, have.join(", "))
        })?;
        let (dataset, regime) = parse_run_key(&variant.run)?;
        self.resolve(dataset, regime, seed_index, steps_per_epoch, variant.recipe.clone(), Some(name.to_owned()))
    }

    fn resolve(
        &self,
        dataset: DatasetId,
        regime: Regime,
        seed_index: u64,
        steps_per_epoch: Option<u64>,
        overrides: RunOverride,
        variant: Option<String>,
    ) -> Result<RunSpec> {
        let spec = self.dataset(dataset)?;
        let regime_spec =
            self.regimes.get(&regime).with_context(|| format!("profile '{}' has no regime '{regime}'", self.name))?;
        let steps_per_epoch = match steps_per_epoch {
            Some(0) => bail!("--steps-per-epoch must be positive"),
            Some(steps) => steps,
            None => self.steps_per_epoch(dataset)?,
        };
        let lr_schedule = overrides.lr_schedule.unwrap_or_else(|| spec.lr_schedule.clone());
        crate::schedule::check_segments(&lr_schedule, self.epochs)
            .with_context(|| format!("learning-rate schedule of {dataset}/{regime}"))?;
        Ok(RunSpec {
            profile: self.name.clone(),
            dataset,
            regime,
            seed_index,
            seed: self.seed_value(seed_index),
            epochs: self.epochs,
            steps_per_epoch,
            batch_size: self.batch_size,
            resolution: self.resolution,
            lr: overrides.lr.unwrap_or(spec.lr),
            weight_decay: overrides.weight_decay.unwrap_or(spec.weight_decay),
            lr_schedule,
            train_sigmas: regime_spec.train_sigmas.clone(),
            val_sigma: regime_spec.val_sigma,
            note: overrides.note,
            variant,
        })
    }

    /// Every variant run of the profile for `seeds` seeds, by variant name, then seed.
    pub fn variant_runs(&self, seeds: u64) -> Result<Vec<RunSpec>> {
        let mut runs = Vec::new();
        for name in self.variants.keys() {
            for seed_index in 0..seeds {
                runs.push(self.variant_run(name, seed_index, None)?);
            }
        }
        Ok(runs)
    }

    /// Every run of the profile for `seeds` seeds, datasets in the paper's order, then regimes.
    pub fn runs(&self, seeds: u64) -> Result<Vec<RunSpec>> {
        let mut runs = Vec::new();
        for seed_index in 0..seeds {
            for dataset in self.dataset_ids() {
                for &regime in Regime::ALL {
                    runs.push(self.run(dataset, regime, seed_index, None)?);
                }
            }
        }
        Ok(runs)
    }
}

/// Parse `dataset/regime` (as in `--only` and `[runs."..."]`).
pub(crate) fn parse_run_key(key: &str) -> Result<(DatasetId, Regime)> {
    let Some((dataset, regime)) = key.split_once('/') else {
        bail!("'{key}' is not of the form <dataset>/<regime>, e.g. faces/blurry");
    };
    Ok((dataset.parse()?, regime.parse()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_profile_loads_and_resolves_all_fifteen_runs() {
        let names = profile_names();
        for required in ["paper", "paper-uniform"] {
            assert!(names.iter().any(|n| n == required), "missing profile {required}: {names:?}");
        }
        for name in names {
            let profile = Profile::load(&name).unwrap();
            assert_eq!(profile.runs(1).unwrap().len(), 15, "profile {name}");
        }
    }

    #[test]
    fn paper_steps_per_epoch_follow_drop_last() {
        let paper = Profile::load("paper").unwrap();
        let steps: Vec<u64> = DatasetId::ALL.iter().map(|d| paper.steps_per_epoch(*d).unwrap()).collect();
        assert_eq!(steps, vec![91, 522, 140, 70, 507]);
    }

    /// `tiny.toml` with `edit` applied, loaded from a file as a reviewer's profile would be.
    fn load_edited(edit: impl FnOnce(&mut toml::Table)) -> Result<Profile> {
        let text = std::fs::read_to_string(protocol_dir().unwrap().join("tiny.toml")).unwrap();
        let mut table: toml::Table = text.parse().unwrap();
        edit(&mut table);
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("edited.toml");
        std::fs::write(&path, toml::to_string(&table).unwrap()).unwrap();
        Profile::from_file(&path)
    }

    fn refused(edit: impl FnOnce(&mut toml::Table)) -> ProtocolError {
        let err = load_edited(edit).expect_err("the edited profile was accepted");
        assert!(err.to_string().contains("edited.toml is inconsistent"), "{err:#}");
        match err.downcast::<ProtocolError>() {
            Ok(protocol) => protocol,
            Err(other) => panic!("not a ProtocolError: {other:#}"),
        }
    }

    fn table<'a>(root: &'a mut toml::Table, path: &[&str]) -> &'a mut toml::Table {
        path.iter().fold(root, |t, key| t.get_mut(*key).and_then(toml::Value::as_table_mut).unwrap())
    }

    fn set(key: &'static str, value: impl Into<toml::Value>) -> impl FnOnce(&mut toml::Table) {
        let value = value.into();
        move |t: &mut toml::Table| {
            t.insert(key.into(), value);
        }
    }

    #[test]
    fn out_of_range_numbers_are_refused_by_kind() {
        use ProtocolError as E;
        assert!(matches!(refused(set("epochs", 0)), E::EpochsOutOfRange { epochs: 0 }));
        assert!(matches!(refused(set("epochs", 100_000)), E::EpochsOutOfRange { epochs: 100_000 }));
        assert!(matches!(refused(set("batch_size", 0)), E::BatchSizeZero { field: "batch_size" }));
        assert!(matches!(refused(set("eval_batch_size", 0)), E::BatchSizeZero { field: "eval_batch_size" }));
        assert!(matches!(refused(set("resolution", 62)), E::ResolutionTooSmall { field: "resolution", value: 62 }));
        assert!(matches!(
            refused(set("stored_resolution", 100_000)),
            E::ResolutionTooLarge { field: "stored_resolution", .. }
        ));
        assert!(matches!(refused(set("stored_resolution", 63)), E::StoredBelowResolution { stored: 63, .. }));
        assert!(matches!(refused(set("checkpoint_every", 0)), E::CheckpointEveryZero));
        assert!(matches!(refused(set("stage_epochs", vec![1, 6])), E::StageEpochOutsideRun { epoch: 6, .. }));
        assert!(matches!(
            refused(|t| {
                table(t, &["analysis"]).insert("epochs".into(), vec![0].into());
            }),
            E::AnalysisEpochNotCheckpoint { epoch: 0, .. }
        ));
        assert!(matches!(refused(set("test_sigmas", Vec::<f64>::new())), E::NoTestSigmas));
        assert!(matches!(
            refused(|t| {
                table(t, &["datasets", "faces"]).insert("lr".into(), 0.0.into());
            }),
            E::LearningRate { .. }
        ));
        assert!(matches!(
            refused(|t| {
                table(t, &["datasets", "in12"]).insert("lr".into(), f64::NAN.into());
            }),
            E::LearningRate { .. }
        ));
        assert!(matches!(
            refused(|t| {
                table(t, &["datasets", "in12"]).insert("weight_decay".into(), (-1e-5).into());
            }),
            E::WeightDecay { value, .. } if value == -1e-5
        ));
        assert!(matches!(
            refused(|t| {
                table(t, &["datasets", "in100"]).insert("std".into(), vec![0.2, 0.0, 0.2].into());
            }),
            E::NormalisationStd { value, .. } if value == 0.0
        ));
        assert!(matches!(
            refused(|t| {
                table(t, &["datasets", "in100"]).insert("classes".into(), 0.into());
            }),
            E::NoClasses { dataset: DatasetId::In100 }
        ));
        let run = toml::Table::from_iter([("lr".to_owned(), toml::Value::from(-1.0))]);
        let runs = toml::Table::from_iter([("faces/blurry".to_owned(), toml::Value::from(run))]);
        assert!(matches!(refused(set("runs", runs)), E::LearningRate { field, .. } if field.contains("faces/blurry")));
        let runs = toml::Table::from_iter([("faces/fuzzy".to_owned(), toml::Value::from(toml::Table::new()))]);
        assert!(matches!(refused(set("runs", runs)), E::UnknownRun { .. }));
    }

    #[test]
    fn sigma_lists_of_the_wrong_shape_or_value_are_refused_by_kind() {
        use ProtocolError as E;
        let sigmas = |regime: &'static str, sigmas: Vec<f64>| {
            move |t: &mut toml::Table| {
                table(t, &["regimes", regime]).insert("train_sigmas".into(), sigmas.into());
            }
        };
        // tiny has 5 epochs: six stages cannot fit, and an empty list has none.
        let six = sigmas("blurry_to_clear", vec![8.0, 6.0, 4.0, 2.0, 1.0, 0.0]);
        assert!(matches!(refused(six), E::SigmaStages { stages: 6, epochs: 5, .. }));
        assert!(matches!(refused(sigmas("blurry", vec![])), E::SigmaStages { stages: 0, .. }));
        assert!(matches!(refused(sigmas("blurry", vec![8.0, 4.0])), E::RegimeShape { regime: Regime::Blurry, .. }));
        assert!(matches!(refused(sigmas("clear", vec![1.0])), E::RegimeShape { regime: Regime::Clear, .. }));
        let never_clear = sigmas("blurry_to_clear", vec![8.0, 4.0]);
        assert!(matches!(refused(never_clear), E::RegimeShape { regime: Regime::BlurryToClear, .. }));
        assert!(matches!(refused(sigmas("blurry", vec![-8.0])), E::SigmaInvalid { sigma, .. } if sigma == -8.0));
        assert!(matches!(refused(set("test_sigmas", vec![0.0, f64::INFINITY])), E::SigmaInvalid { .. }));
        // At 64 px, sigma 112 (224-px pixels) is 32 px: a half width of ceil(2 x 32) = 64, as wide as the image;
        // sigma 110 is 31.4 px, a half width of 63, which fits.
        assert!(matches!(refused(set("stage_test_sigmas", vec![0.0, 112.0])), E::SigmaTooLarge { resolution: 64, .. }));
        assert!(load_edited(set("stage_test_sigmas", vec![0.0, 110.0])).is_ok(), "half width 63 fits 64 px");
        assert!(matches!(
            refused(|t| {
                t.get_mut("regimes").and_then(toml::Value::as_table_mut).unwrap().remove("blurry");
            }),
            E::MissingRegime { regime: Regime::Blurry }
        ));
    }

    #[test]
    fn unknown_keys_and_negative_numbers_are_refused_by_the_parser_naming_them() {
        let text = |edit: Box<dyn FnOnce(&mut toml::Table)>| format!("{:#}", load_edited(edit).unwrap_err());
        assert!(text(Box::new(set("epoch", 5))).contains("unknown field `epoch`"));
        assert!(text(Box::new(set("epochs", -5))).contains("epochs"));
        let nested: [&[&str]; 4] = [&["analysis"], &["regimes", "blurry"], &["datasets", "faces"], &[]];
        for path in nested {
            let err = text(Box::new(move |t| {
                let target = if path.is_empty() { t } else { table(t, path) };
                target.insert("sigmaa".into(), 1.into());
            }));
            assert!(err.contains("unknown field `sigmaa`"), "{path:?}: {err}");
        }
        // Tables inside arrays and maps: a schedule segment, a sub-sample, a run override.
        let entry = |pairs: &[(&str, toml::Value)]| {
            toml::Value::from(toml::Table::from_iter(pairs.iter().map(|(k, v)| (k.to_string(), v.clone()))))
        };
        let segment = entry(&[("kind", "constant".into()), ("rate", 1e-3.into())]);
        let err = text(Box::new(move |t| {
            table(t, &["datasets", "faces"]).insert("lr_schedule".into(), vec![segment].into());
        }));
        assert!(err.contains("unknown field `rate`"), "{err}");
        let subsample = entry(&[("per_class", 3.into()), ("seed", 5.into()), ("classes", 3.into())]);
        let err = text(Box::new(move |t| {
            table(t, &["datasets", "faces"]).insert("train_subsample".into(), subsample);
        }));
        assert!(err.contains("unknown field `classes`"), "{err}");
        let runs = entry(&[("faces/blurry", entry(&[("learning_rate", 1e-3.into())]))]);
        let err = text(Box::new(move |t| {
            t.insert("runs".into(), runs);
        }));
        assert!(err.contains("unknown field `learning_rate`"), "{err}");
    }

    #[test]
    fn toybox_videos_robustness_order_and_variant_names_are_checked() {
        use ProtocolError as E;
        let subsample = |videos: Vec<&'static str>| {
            move |t: &mut toml::Table| {
                let subsample = toml::Table::from_iter([
                    ("per_class".to_owned(), toml::Value::from(3)),
                    ("seed".to_owned(), toml::Value::from(5)),
                    ("videos".to_owned(), toml::Value::from(videos)),
                ]);
                table(t, &["datasets", "toybox_category"]).insert("train_subsample".into(), subsample.into());
            }
        };
        assert!(matches!(refused(subsample(vec!["rxplus", "rx"])), E::UnknownVideo { video, .. } if video == "rx"));
        assert!(matches!(refused(subsample(vec![])), E::UnknownVideo { .. }));
        assert!(load_edited(subsample(vec!["rxplus", "rzminus"])).is_ok());
        let order = toml::Table::from_iter([
            ("per_object_seed".to_owned(), toml::Value::from(5)),
            ("images_per_object".to_owned(), toml::Value::from(150)),
        ]);
        let on = |dataset: &'static str, order: toml::Table| {
            move |t: &mut toml::Table| {
                table(t, &["datasets", dataset]).insert("robustness_test_order".into(), order.into());
            }
        };
        assert!(matches!(
            refused(on("in12", order.clone())),
            E::RobustnessOrderNeedsObjects { dataset: DatasetId::In12 }
        ));
        assert!(load_edited(on("toybox_instance", order)).is_ok());
        let variant = |name: &str, run: &str| {
            let variant = toml::Table::from_iter([("run".to_owned(), toml::Value::from(run))]);
            toml::Table::from_iter([(name.to_owned(), toml::Value::from(variant))])
        };
        assert!(matches!(refused(set("variants", variant("../x", "in12/blurry"))), E::VariantName { .. }));
        assert!(matches!(refused(set("variants", variant("x", "in12/fuzzy"))), E::Unresolvable { .. }));
        let budget = |value: toml::Value| {
            move |t: &mut toml::Table| {
                table(t, &["analysis"]).insert("gabor_start_budget".into(), value);
            }
        };
        let iterations = toml::Table::from_iter([("iterations".to_owned(), toml::Value::from(5))]);
        assert_eq!(
            load_edited(budget(iterations.into())).unwrap().analysis.gabor_start_budget,
            GaborStartBudget::Iterations(5)
        );
        assert!(load_edited(budget("until_bored".into())).is_err());
    }

    #[test]
    fn paper_trains_the_stage_figures_in12_blurry_model_as_a_variant() {
        let paper = Profile::load("paper").unwrap();
        let variants = paper.variant_runs(1).unwrap();
        assert_eq!(variants.len(), 1);
        let variant = &variants[0];
        let run = paper.run(DatasetId::In12, Regime::Blurry, 0, None).unwrap();
        assert_eq!((variant.key(), variant.variant.as_deref()), (run.key(), Some("IN12_full_blur_2")));
        // The dataset's regular recipe, not the run's resumed schedule.
        assert_eq!(variant.lr_schedule, paper.dataset(DatasetId::In12).unwrap().lr_schedule);
        assert_ne!(variant.lr_schedule, run.lr_schedule);
        let dir = crate::run_dir::RunDir::new(Path::new("runs/paper"), variant);
        assert_eq!(dir.root, Path::new("runs/paper/variants/IN12_full_blur_2/in12/blurry/seed-0"));
        // A run without a variant is written as before, so that its stage hashes stay.
        assert!(!serde_json::to_string(&run).unwrap().contains("variant"));
        assert!(Profile::load("paper-uniform").unwrap().variant_runs(1).unwrap().is_empty());
    }

    #[test]
    fn unknown_names_list_the_valid_ones() {
        let err = "cats".parse::<DatasetId>().unwrap_err().to_string();
        assert!(err.contains("faces, toybox_instance, toybox_category, in12, in100"), "{err}");
        let err = "fuzzy".parse::<Regime>().unwrap_err().to_string();
        assert!(err.contains("clear, blurry, blurry_to_clear"), "{err}");
        let err = Profile::load("nope").unwrap_err().to_string();
        assert!(err.contains("paper-uniform"), "{err}");
        assert!(parse_run_key("faces").is_err());
        assert_eq!(parse_run_key("faces/blurry").unwrap(), (DatasetId::Faces, Regime::Blurry));
    }

    fn assert_rel(actual: f64, expected: f64) {
        let rel = ((actual - expected) / expected).abs();
        assert!(rel <= 1e-6, "lr {actual:e} vs PyTorch {expected:e} (relative error {rel:e})");
    }

    #[test]
    fn paper_runs_match_pytorch_at_every_iteration() {
        // tests/fixtures/lr/reference.csv re-enacts the original's regular and irregular runs in PyTorch 2.11 with
        // 7 iterations per epoch; the `paper` profile must reproduce every rate.
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/lr/reference.csv");
        let text = std::fs::read_to_string(path).unwrap();
        let paper = Profile::load("paper").unwrap();
        let mut checked = std::collections::BTreeMap::new();
        for line in text.lines().skip(1) {
            let fields: Vec<&str> = line.split(',').collect();
            let (dataset, regime) = parse_run_key(fields[0]).unwrap();
            let run = paper.run(dataset, regime, 0, Some(7)).unwrap();
            let iteration: u64 = fields[1].parse().unwrap();
            let expected: f64 = fields[2].parse().unwrap();
            assert_rel(crate::schedule::lr_at(&run.lr_schedule, run.epochs, 7, run.lr, iteration), expected);
            *checked.entry(fields[0].to_owned()).or_insert(0) += 1;
        }
        assert_eq!(checked.len(), 6);
        assert!(checked.values().all(|n| *n == 700), "{checked:?}");
    }

    #[test]
    fn imagenet_100_blurry_to_clear_takes_two_steps_per_batch_until_epoch_50_only_in_paper() {
        let paper = Profile::load("paper").unwrap().run(DatasetId::In100, Regime::BlurryToClear, 0, None).unwrap();
        let steps = |e| crate::schedule::optimiser_steps_at(&paper.lr_schedule, e);
        assert_eq!([steps(1), steps(50), steps(51), steps(100)], [2, 2, 1, 1]);
        // The rate is the regular recipe's throughout: the resumed half fast-forwards its new scheduler 50 epochs.
        let uniform = Profile::load("paper-uniform").unwrap();
        let regular = uniform.run(DatasetId::In100, Regime::BlurryToClear, 0, None).unwrap();
        for iteration in [0, 1013, 1014, 25_349, 25_350, 25_351, 50_699] {
            let at = |r: &RunSpec| crate::schedule::lr_at(&r.lr_schedule, r.epochs, r.steps_per_epoch, r.lr, iteration);
            assert_eq!(at(&paper), at(&regular), "iteration {iteration}");
        }
        assert!((1..=100).all(|e| crate::schedule::optimiser_steps_at(&regular.lr_schedule, e) == 1));
        // A segment left at one update is written as before, so the other runs keep their hashes.
        let text = serde_json::to_string(&regular.lr_schedule).unwrap();
        assert!(!text.contains("optimiser_steps_per_batch"), "{text}");
    }
}
