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
//! stages/<stage>.json              a finished stage (train, evaluate, analyse): its input hash, its outputs' SHA-256
//! tables/<table>.csv, .parquet     the run's rows of each results table (gathered into runs/<profile>/results/)
//! ```
use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

use crate::protocol::RunSpec;

#[derive(Clone, Debug)]
pub(crate) struct RunDir {
    pub root: PathBuf,
}

impl RunDir {
    /// The run directory of `spec` under the profile's output directory `profile_dir` (`runs/<profile>`).
    pub(crate) fn new(profile_dir: &Path, spec: &RunSpec) -> RunDir {
        let base = match &spec.variant {
            Some(name) => profile_dir.join("variants").join(name),
            None => profile_dir.to_path_buf(),
        };
        let root = base.join(spec.dataset.name()).join(spec.regime.name()).join(format!("seed-{}", spec.seed_index));
        RunDir { root }
    }

    pub(crate) fn spec_file(&self) -> PathBuf {
        self.root.join("run.json")
    }

    pub(crate) fn log_file(&self) -> PathBuf {
        self.root.join("run.log")
    }

    pub(crate) fn checkpoint(&self, epoch: u32) -> PathBuf {
        self.root.join("checkpoints").join(format!("epoch-{epoch:03}.safetensors"))
    }

    pub(crate) fn optimizer_state(&self, epoch: u32) -> PathBuf {
        self.root.join("checkpoints").join(format!("epoch-{epoch:03}.adam.safetensors"))
    }

    pub(crate) fn log_snapshot(&self, epoch: u32) -> PathBuf {
        self.root.join("checkpoints").join(format!("epoch-{epoch:03}.log.json"))
    }

    /// The record of a checkpoint's files and their SHA-256 (see [`crate::train`]).
    pub(crate) fn checkpoint_record(&self, epoch: u32) -> PathBuf {
        self.root.join("checkpoints").join(format!("epoch-{epoch:03}.sha256.json"))
    }

    /// Remove what a killed process left half-written in the run's directory ([`crate::atomic`]). Only for the
    /// holder of the run's lock.
    pub(crate) fn remove_temporary_files(&self) -> Result<()> {
        for sub in ["", "checkpoints", "stages", "tables"] {
            crate::atomic::remove_temporary_files(&self.root.join(sub))?;
        }
        Ok(())
    }

    /// The record of the run's stage `name` (one of `crate::stage::Stage::OF_RUN`).
    pub(crate) fn stage_record(&self, name: &str) -> PathBuf {
        self.root.join("stages").join(format!("{name}.json"))
    }

    /// The directory of the run's own rows of the results tables.
    pub(crate) fn tables(&self) -> PathBuf {
        self.root.join("tables")
    }
}

/// A readable per-run log file, appended to as the run goes.
pub(crate) struct RunLog {
    file: std::fs::File,
}

impl RunLog {
    pub(crate) fn open(dir: &RunDir) -> Result<RunLog> {
        let path = dir.log_file();
        crate::atomic::create_dir_all(&dir.root)?;
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .with_context(|| format!("cannot open log {}", path.display()))?;
        Ok(RunLog { file })
    }

    /// Append `text` after the time, ISO 8601 in UTC (`2026-11-29T17:40:03Z`).
    pub(crate) fn line(&mut self, text: &str) -> Result<()> {
        let now = crate::provenance::iso8601(std::time::SystemTime::now());
        writeln!(self.file, "{now} {text}").context("cannot write the run log")
    }
}

/// The prefix of the `run.log` line that records a failed run.
pub(crate) const FAILED: &str = "failed: ";

/// Record in the run's log how its stages ended, so that `status` can tell a failed run from a stopped one:
/// nothing when they finished, the signal when interrupted, the error otherwise. Best effort: the error that is
/// being reported matters more than a log line that cannot be written.
pub(crate) fn record_outcome(dir: &RunDir, outcome: &Result<()>) {
    let Err(err) = outcome else { return };
    let line = match crate::interrupt::interruption(err) {
        Some(_) => format!("{err:#}; rerun the same command to resume"),
        None => format!("{FAILED}{}", format!("{err:#}").replace('\n', " ")),
    };
    if let Err(log_err) = RunLog::open(dir).and_then(|mut log| log.line(&line)) {
        tracing::warn!("cannot record the outcome in {}: {log_err:#}", dir.log_file().display());
    }
}

/// A `run.log` line without its ISO 8601 time stamp (`2026-11-29T18:53:23Z `, see [`RunLog::line`]).
pub(crate) fn without_time(line: &str) -> &str {
    match line.split_once(' ') {
        Some((stamp, text)) if stamp.len() == 20 && stamp.ends_with('Z') && stamp.as_bytes()[10] == b'T' => text,
        _ => line,
    }
}
