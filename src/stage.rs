//! Stages that are skipped when done: a finished stage leaves a record of the hash of its inputs and the SHA-256 of
//! every output. A stage counts as done only when its record names the current input hash and every output still
//! hashes to what was recorded; anything less (a crash mid-write, a changed protocol, a corrupted file) reruns it.
//! Records are written last and atomically, so a partial output is never taken for a finished one.
//!
//! A stage's inputs include the hash of the source files it depends on ([`CodeHashes`], computed by `build.rs` from
//! a declared list per stage), so changing analysis code reruns the analyses and not the training.
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};

use crate::provenance::{sha256_bytes, sha256_file};

/// The SHA-256 of the sources each stage depends on (see `STAGE_SOURCES` in `build.rs`). A stage's input hash includes
/// its entry, so that a change to its code reruns it. Tests replace an entry to see what reruns.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CodeHashes {
    pub train: String,
    pub evaluate: String,
    pub analyse: String,
    pub gather: String,
    pub report: String,
}

impl CodeHashes {
    /// The hashes of the sources this binary was built from.
    pub fn compiled() -> CodeHashes {
        CodeHashes {
            train: env!("B2C_CODE_TRAIN").to_owned(),
            evaluate: env!("B2C_CODE_EVALUATE").to_owned(),
            analyse: env!("B2C_CODE_ANALYSE").to_owned(),
            gather: env!("B2C_CODE_GATHER").to_owned(),
            report: env!("B2C_CODE_REPORT").to_owned(),
        }
    }
}

/// What a finished stage leaves behind.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StageRecord {
    pub stage: String,
    pub input_hash: String,
    /// Output path (relative to the record's base directory) -> SHA-256.
    pub outputs: BTreeMap<String, String>,
    /// Wall time of the run that produced the outputs, in seconds.
    pub wall_s: f64,
    pub device: String,
}

/// SHA-256 of a value's JSON form: the input hash of a stage.
pub fn hash_inputs(value: &impl Serialize) -> Result<String> {
    let json = serde_json::to_vec(value).context("cannot serialise a stage's inputs")?;
    Ok(sha256_bytes(&json))
}

/// A stage's record file and the directory its outputs are named relative to.
#[derive(Clone, Debug)]
pub struct Stage {
    pub name: String,
    pub record: PathBuf,
    pub base: PathBuf,
}

impl Stage {
    pub fn new(name: &str, record: PathBuf, base: &Path) -> Stage {
        Stage { name: name.to_owned(), record, base: base.to_path_buf() }
    }

    /// The stage's record when it is done for `input_hash` and every output verifies.
    pub fn done(&self, input_hash: &str) -> Option<StageRecord> {
        let bytes = std::fs::read(&self.record).ok()?;
        let record: StageRecord = serde_json::from_slice(&bytes).ok()?;
        if record.input_hash != input_hash {
            return None;
        }
        let intact =
            record.outputs.iter().all(|(path, sha)| sha256_file(&self.base.join(path)).ok().as_ref() == Some(sha));
        intact.then_some(record)
    }

    /// Record the stage as done: hash every output (paths relative to the base) and write the record atomically.
    pub fn finish(&self, input_hash: &str, outputs: &[PathBuf], wall_s: f64, device: &str) -> Result<StageRecord> {
        let mut hashed = BTreeMap::new();
        for path in outputs {
            let relative = path.strip_prefix(&self.base).unwrap_or(path).to_string_lossy().into_owned();
            hashed.insert(relative, sha256_file(path)?);
        }
        let record = StageRecord {
            stage: self.name.clone(),
            input_hash: input_hash.to_owned(),
            outputs: hashed,
            wall_s,
            device: device.to_owned(),
        };
        crate::atomic::write(&self.record, &serde_json::to_vec_pretty(&record)?)?;
        Ok(record)
    }
}

/// Write `bytes` only when the file does not already hold exactly them, so that re-running a finished profile
/// changes no file.
pub fn write_if_changed(path: &Path, bytes: &[u8]) -> Result<bool> {
    if std::fs::read(path).ok().as_deref() == Some(bytes) {
        return Ok(false);
    }
    crate::atomic::write(path, bytes)?;
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stage_is_done_only_for_its_inputs_and_intact_outputs() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("out.txt");
        std::fs::write(&out, b"42").unwrap();
        let stage = Stage::new("demo", dir.path().join("stages/demo.json"), dir.path());
        assert!(stage.done("h1").is_none());
        stage.finish("h1", std::slice::from_ref(&out), 1.5, "cpu").unwrap();
        let record = stage.done("h1").unwrap();
        assert_eq!(record.outputs.keys().collect::<Vec<_>>(), vec!["out.txt"]);
        assert!(stage.done("h2").is_none(), "changed inputs rerun the stage");
        std::fs::write(&out, b"43").unwrap();
        assert!(stage.done("h1").is_none(), "a changed output reruns the stage");
    }

    #[test]
    fn every_stage_has_its_own_code_hash() {
        let code = CodeHashes::compiled();
        let all = [&code.train, &code.evaluate, &code.analyse, &code.gather, &code.report];
        assert!(all.iter().all(|h| h.len() == 64 && h.chars().all(|c| c.is_ascii_hexdigit())), "{code:?}");
        for (i, a) in all.iter().enumerate() {
            assert!(all[i + 1..].iter().all(|b| a != b), "two stages share a source hash: {code:?}");
        }
    }

    #[test]
    fn write_if_changed_leaves_equal_files_alone() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("abc");
        std::fs::write(&path, b"abc").unwrap();
        assert!(!write_if_changed(&path, b"abc").unwrap());
        assert!(write_if_changed(&path, b"abd").unwrap());
    }
}
