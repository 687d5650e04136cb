//! Where a run's outputs live: `runs/<profile>/<dataset>/<regime>/seed-<n>/` (a variant's:
//! `runs/<profile>/variants/<name>/<dataset>/<regime>/seed-<n>/`).
//!
//! ```text
//! run.json                         the resolved RunSpec and the input hash of its training
//! run.log                          a readable log, one line per epoch and stage
//! checkpoints/epoch-010.safetensors  model weights, torchvision names (loads in PyTorch)
//! checkpoints/epoch-010.adam.safetensors  optimiser state, to resume
//! checkpoints/epoch-010.log.json   the training log up to that epoch, to resume
//! checkpoints/epoch-010.sha256.json  the checkpoint's record: the SHA-256 of its files, written last
//! stages/<stage>.json              a finished stage: its input hash and the SHA-256 of its outputs
//! tables/<table>.csv, .parquet     the run's rows of each results table (gathered into runs/<profile>/results/)
//! ```
use std::path::{Path, PathBuf};

use crate::protocol::RunSpec;

#[derive(Clone, Debug)]
pub struct RunDir {
    pub root: PathBuf,
}

impl RunDir {
    /// The run directory of `spec` under the profile's output directory `profile_dir` (`runs/<profile>`).
    pub fn new(profile_dir: &Path, spec: &RunSpec) -> RunDir {
        let base = match &spec.variant {
            Some(name) => profile_dir.join("variants").join(name),
            None => profile_dir.to_path_buf(),
        };
        let root = base.join(spec.dataset.name()).join(spec.regime.name()).join(format!("seed-{}", spec.seed_index));
        RunDir { root }
    }

    pub fn spec_file(&self) -> PathBuf {
        self.root.join("run.json")
    }

    pub fn log_file(&self) -> PathBuf {
        self.root.join("run.log")
    }

    pub fn checkpoint(&self, epoch: u32) -> PathBuf {
        self.root.join("checkpoints").join(format!("epoch-{epoch:03}.safetensors"))
    }

    pub fn optimizer_state(&self, epoch: u32) -> PathBuf {
        self.root.join("checkpoints").join(format!("epoch-{epoch:03}.adam.safetensors"))
    }

    pub fn log_snapshot(&self, epoch: u32) -> PathBuf {
        self.root.join("checkpoints").join(format!("epoch-{epoch:03}.log.json"))
    }

    /// The record of a checkpoint's files and their SHA-256 (see [`crate::train`]).
    pub fn checkpoint_record(&self, epoch: u32) -> PathBuf {
        self.root.join("checkpoints").join(format!("epoch-{epoch:03}.sha256.json"))
    }

    /// Remove what a killed process left half-written in the run's directory ([`crate::atomic`]). Only for the
    /// holder of the run's lock.
    pub fn remove_temporary_files(&self) -> anyhow::Result<()> {
        for sub in ["", "checkpoints", "stages", "tables"] {
            crate::atomic::remove_temporary_files(&self.root.join(sub))?;
        }
        Ok(())
    }

    pub fn stage_record(&self, stage: &str) -> PathBuf {
        self.root.join("stages").join(format!("{stage}.json"))
    }

    /// The directory of the run's own rows of the results tables.
    pub fn tables(&self) -> PathBuf {
        self.root.join("tables")
    }
}
