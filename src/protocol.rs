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
pub use crate::vocab::{DatasetId, Regime};

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

/// Settings of the receptive-field and spatial-frequency analyses run on every checkpoint.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AnalysisSpec {
    /// Random restarts per conv1 Gabor fit (the original: 100).
    #[serde(default = "default_gabor_restarts")]
    pub gabor_restarts: u32,
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

/// The original's sub-sampling of a training split (Toybox category-level: 3000 images per class, rng seed 5).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Subsample {
    pub per_class: u64,
    pub seed: u64,
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
}

impl RunSpec {
    /// `dataset/regime`, the name used by `--only` and in `[runs."..."]`.
    pub fn key(&self) -> String {
        format!("{}/{}", self.dataset, self.regime)
    }

    /// Factor from 224-px protocol pixels to pixels of this run's images.
    pub fn sigma_scale(&self) -> f64 {
        f64::from(self.resolution) / 224.0
    }
}

/// The copy of the protocol file that `reproduce` keeps beside a run's tables (`runs/<profile>/results/`), so that
/// what reads the tables (claims, figures) knows the profile that made them, a reviewer's own variant included.
pub const PROFILE_COPY: &str = "profile.toml";

/// The directory holding the profiles: `paper/protocol/` of this crate.
pub fn protocol_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("paper").join("protocol")
}

/// The file a profile argument names: `paper/protocol/<name>.toml`, or the path itself when it ends in `.toml`.
pub fn protocol_file(name: &str) -> PathBuf {
    match name.ends_with(".toml") {
        true => PathBuf::from(name),
        false => protocol_dir().join(format!("{name}.toml")),
    }
}

/// Names of every profile in [`protocol_dir`], sorted.
pub fn profile_names() -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(protocol_dir())
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
        let path = protocol_dir().join(format!("{name}.toml"));
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
    pub fn from_file(path: &Path) -> Result<Profile> {
        let text = std::fs::read_to_string(path).with_context(|| format!("cannot read profile {}", path.display()))?;
        let profile: Profile = toml::from_str(&text).with_context(|| {
            format!("profile {} is not a valid protocol file; see paper/protocol/paper.toml", path.display())
        })?;
        profile.check().with_context(|| format!("profile {} is inconsistent", path.display()))?;
        Ok(profile)
    }

    /// The checks serde cannot make: every regime and override names something that exists.
    fn check(&self) -> Result<()> {
        for &regime in Regime::ALL {
            let Some(spec) = self.regimes.get(&regime) else { bail!("regime '{regime}' is missing from [regimes]") };
            if spec.train_sigmas.is_empty() {
                bail!("regime '{regime}' has no train_sigmas");
            }
        }
        if self.resolution < 63 {
            bail!("resolution {} is below AlexNet's minimum of 63 px", self.resolution);
        }
        if self.stored_resolution < self.resolution {
            bail!("stored_resolution {} is below resolution {}", self.stored_resolution, self.resolution);
        }
        if self.epochs == 0 || self.batch_size == 0 || self.checkpoint_every == 0 {
            bail!("epochs, batch_size and checkpoint_every must be positive");
        }
        for epoch in &self.stage_epochs {
            if *epoch == 0 || *epoch > self.epochs || epoch % self.checkpoint_every != 0 {
                bail!(
                    "stage epoch {epoch} is not a checkpoint epoch (every {} of 1..={})",
                    self.checkpoint_every,
                    self.epochs
                );
            }
        }
        for key in self.runs.keys() {
            parse_run_key(key).with_context(|| format!("in [runs.\"{key}\"]"))?;
        }
        for dataset in self.datasets.keys() {
            for &regime in Regime::ALL {
                self.run(*dataset, regime, 0, None)?;
            }
        }
        Ok(())
    }

    /// The blurry regime's training sigma (224-px pixels): where the paper reads off robustness (the ratio at
    /// sigma 8, and the blurry models' peak).
    pub fn blurry_sigma(&self) -> f64 {
        self.regimes.get(&Regime::Blurry).map_or(0.0, |r| r.train_sigmas.iter().copied().fold(0.0, f64::max))
    }

    /// The datasets of this profile, in the paper's order.
    pub fn dataset_ids(&self) -> Vec<DatasetId> {
        self.datasets.keys().copied().collect()
    }

    pub fn dataset(&self, id: DatasetId) -> Result<&DatasetSpec> {
        self.datasets.get(&id).with_context(|| {
            let have: Vec<_> = self.datasets.keys().map(|d| d.name()).collect();
            format!("profile '{}' has no dataset '{id}'; it has: {}", self.name, have.join(", "))
        })
    }

    /// Iterations per epoch: `train_images / batch_size`, rounded down under `drop_last`, up otherwise.
    pub fn steps_per_epoch(&self, id: DatasetId) -> Result<u64> {
        let images = self.dataset(id)?.train_images;
        let steps = if self.drop_last { images / self.batch_size } else { images.div_ceil(self.batch_size) };
        if steps == 0 {
            bail!("dataset '{id}' has {images} training images, fewer than one batch of {}", self.batch_size);
        }
        Ok(steps)
    }

    /// Seed of seed index `index`: the base seed for index 0, then consecutive values.
    pub fn seed_value(&self, index: u64) -> u64 {
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
        let spec = self.dataset(dataset)?;
        let regime_spec =
            self.regimes.get(&regime).with_context(|| format!("profile '{}' has no regime '{regime}'", self.name))?;
        let overrides = self.runs.get(&format!("{dataset}/{regime}")).cloned().unwrap_or_default();
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
        })
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
pub fn parse_run_key(key: &str) -> Result<(DatasetId, Regime)> {
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
}
