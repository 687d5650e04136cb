//! Stages that are skipped when done: a finished stage leaves a record of the hash of its inputs and the SHA-256 of
//! every output. A stage counts as done only when its record names the current input hash and every output still
//! hashes to what was recorded; anything less (a crash mid-write, a changed protocol, a corrupted file) reruns it.
//! Records are written last and atomically, so a partial output is never taken for a finished one. A record also
//! carries the SHA-256 of its own other fields (its seal), so that a damaged record (a flipped digit in a hash, in
//! its wall time) is told from a finished one instead of being believed; [`RecordFile::check`] says which file was
//! bad.
//!
//! Training's checkpoints are recorded the same way (`checkpoints/epoch-NNN.sha256.json`, see [`crate::train`]).
//!
//! The stages themselves ([`Stage`]: name, order, inputs, sources) are declared once, in `graph.rs`, which `build.rs`
//! shares to hash each stage's sources. A stage's inputs include that hash ([`CodeHashes`]), so changing analysis code
//! reruns the analyses and not the training.
mod graph;

pub use graph::{Stage, BOOKKEEPING};

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use serde::{Deserialize, Serialize, Serializer};

use crate::provenance::{sha256_bytes, sha256_file};
use crate::run_dir::RunDir;

/// A stage is written by its name (in the manifest's code hashes).
impl Serialize for Stage {
    fn serialize<S: Serializer>(&self, serializer: S) -> std::result::Result<S::Ok, S::Error> {
        serializer.serialize_str(self.name())
    }
}

impl std::fmt::Display for Stage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// The SHA-256 of each stage's sources ([`Stage::sources`], hashed by `build.rs`). A stage's input hash includes its
/// own, so that a change to its code reruns it. Tests replace one to see what reruns.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct CodeHashes(BTreeMap<Stage, String>);

impl CodeHashes {
    /// The hashes of the sources this binary was built from.
    pub fn compiled() -> CodeHashes {
        const COMPILED: [&str; Stage::ALL.len()] = include!(concat!(env!("OUT_DIR"), "/stage_code.rs"));
        CodeHashes(Stage::ALL.into_iter().zip(COMPILED.map(str::to_owned)).collect())
    }

    /// The hash of `stage`'s sources.
    pub(crate) fn of(&self, stage: Stage) -> &str {
        self.0.get(&stage).map_or("", String::as_str)
    }

    /// The same hashes with `stage`'s replaced by `hash` (a test's stand-in for a change to its code).
    pub fn with(mut self, stage: Stage, hash: &str) -> CodeHashes {
        self.0.insert(stage, hash.to_owned());
        self
    }
}

/// What a finished stage leaves behind.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub(crate) struct StageRecord {
    pub stage: String,
    pub input_hash: String,
    /// Output path (relative to the record's base directory) -> SHA-256.
    pub outputs: BTreeMap<String, String>,
    /// Wall time of the run that produced the outputs, in seconds.
    pub wall_s: f64,
    pub device: String,
    /// The seal: SHA-256 of the record's JSON without this field ([`StageRecord::sealed`]). Empty where the record
    /// is copied with other paths (the manifest), where the seal would no longer hold.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub record_sha256: String,
}

/// The field of a record that holds its seal.
const SEAL: &str = "record_sha256";

impl StageRecord {
    /// The record with its seal set. The seal is taken over the record as it will read back (written as JSON and
    /// parsed again), since a float need not parse back to the very bits it was written from.
    pub(crate) fn sealed(mut self) -> Result<StageRecord> {
        self.record_sha256 = String::new();
        let value: serde_json::Value = serde_json::from_slice(&serde_json::to_vec(&self)?)?;
        self.record_sha256 = seal_of(value)?;
        Ok(self)
    }

    /// Parse a record file's bytes, refusing a record whose seal is missing or does not match its content.
    pub(crate) fn unseal(bytes: &[u8]) -> Result<StageRecord> {
        let value: serde_json::Value = serde_json::from_slice(bytes).context("not JSON")?;
        let seal = value.get(SEAL).and_then(|s| s.as_str()).unwrap_or_default().to_owned();
        if seal.is_empty() {
            bail!("it has no seal ({SEAL})");
        }
        if seal_of(value.clone())? != seal {
            bail!("its SHA-256 seal does not match its content");
        }
        serde_json::from_value(value).context("not a stage record")
    }
}

/// SHA-256 of a record's JSON without its seal.
fn seal_of(mut value: serde_json::Value) -> Result<String> {
    if let Some(fields) = value.as_object_mut() {
        fields.remove(SEAL);
    }
    hash_inputs(&value)
}

/// Why a stage is not done ([`RecordFile::check`]).
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum NotDone {
    /// No record: the stage never finished (or was stopped before it did).
    NoRecord,
    /// The record is for other inputs (a changed protocol, code or data).
    InputsChanged,
    /// The record itself cannot be believed: unreadable, not a record, or its seal disagrees.
    DamagedRecord { record: PathBuf, reason: String },
    /// An output is missing or no longer hashes to what the record says.
    DamagedOutput { output: PathBuf, reason: String },
}

impl NotDone {
    /// For a damaged record or output, what to tell the reviewer: the file and what was wrong with it.
    pub(crate) fn damage(&self) -> Option<String> {
        match self {
            NotDone::NoRecord | NotDone::InputsChanged => None,
            NotDone::DamagedRecord { record, reason } => {
                Some(format!("the stage record {} is damaged ({reason})", record.display()))
            }
            NotDone::DamagedOutput { output, reason } => Some(format!("{} is damaged ({reason})", output.display())),
        }
    }
}

/// SHA-256 of a value's JSON form: the input hash of a stage.
pub(crate) fn hash_inputs(value: &impl Serialize) -> Result<String> {
    let json = serde_json::to_vec(value).context("cannot serialise a stage's inputs")?;
    Ok(sha256_bytes(&json))
}

/// The record file of something done once and skipped after (a stage, or a training checkpoint), and the directory
/// its outputs are named relative to.
#[derive(Clone, Debug)]
pub(crate) struct RecordFile {
    pub name: String,
    pub record: PathBuf,
    pub base: PathBuf,
    /// The run whose `run.log` also names what [`RecordFile::done`] found damaged (a run's stages).
    pub run: Option<RunDir>,
}

impl RecordFile {
    pub(crate) fn new(name: &str, record: PathBuf, base: &Path) -> RecordFile {
        RecordFile { name: name.to_owned(), record, base: base.to_path_buf(), run: None }
    }

    /// A stage of a run ([`Stage::OF_RUN`]): damage is named in the run's log too.
    pub(crate) fn of_run(stage: Stage, dir: &RunDir) -> RecordFile {
        RecordFile {
            run: Some(dir.clone()),
            ..RecordFile::new(stage.name(), dir.stage_record(stage.name()), &dir.root)
        }
    }

    /// A stage of the profile whose directory is `profile_dir` (`Stage::Gather`, `Stage::Figures`), or, with
    /// `variant`, the gathering of that variant's runs.
    pub(crate) fn of_profile(stage: Stage, variant: Option<&str>, profile_dir: &Path) -> RecordFile {
        let name = match variant {
            Some(variant) => format!("{stage}-variant-{variant}"),
            None => stage.name().to_owned(),
        };
        RecordFile::new(&name, profile_record(profile_dir, &name), profile_dir)
    }

    /// The stage's record when it is done for `input_hash` and every output verifies; otherwise why not.
    pub(crate) fn check(&self, input_hash: &str) -> Result<StageRecord, NotDone> {
        self.verify(Some(input_hash), |_| true)
    }

    /// The stage's record when its seal holds and the outputs `wanted` selects (by relative path) verify, whatever
    /// inputs it was made for: what reads another run's finished outputs checks them with this.
    pub(crate) fn check_outputs(&self, wanted: impl Fn(&str) -> bool) -> Result<StageRecord, NotDone> {
        self.verify(None, wanted)
    }

    fn verify(&self, input_hash: Option<&str>, wanted: impl Fn(&str) -> bool) -> Result<StageRecord, NotDone> {
        let damaged = |reason: String| NotDone::DamagedRecord { record: self.record.clone(), reason };
        let bytes = match std::fs::read(&self.record) {
            Ok(bytes) => bytes,
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Err(NotDone::NoRecord),
            Err(err) => return Err(damaged(format!("cannot read it: {err}"))),
        };
        let record = StageRecord::unseal(&bytes).map_err(|err| damaged(format!("{err:#}")))?;
        if input_hash.is_some_and(|hash| hash != record.input_hash) {
            return Err(NotDone::InputsChanged);
        }
        for (path, sha) in record.outputs.iter().filter(|(path, _)| wanted(path)) {
            let output = self.base.join(path);
            let reason = match sha256_file(&output) {
                Ok(actual) if actual == *sha => continue,
                Ok(actual) => format!("its SHA-256 is {actual}, the record {} says {sha}", self.record.display()),
                Err(_) if !output.exists() => "missing".to_owned(),
                Err(err) => format!("{err:#}"),
            };
            return Err(NotDone::DamagedOutput { output, reason });
        }
        Ok(record)
    }

    /// [`RecordFile::check`] for callers that only rerun: a damaged record or output is named on stderr and, for a run's
    /// stage, in its log (best effort: the rerun matters more than the line).
    pub(crate) fn done(&self, input_hash: &str) -> Option<StageRecord> {
        let why = match self.check(input_hash) {
            Ok(record) => {
                tracing::info!("{} stage done, skipped", self.name);
                return Some(record);
            }
            Err(why) => why,
        };
        if let Some(damage) = why.damage() {
            let line = format!("damaged: {damage}; not used, the {} stage is recomputed", self.name);
            tracing::warn!("{line}");
            if let Some(run) = &self.run {
                if let Err(err) = crate::run_dir::RunLog::open(run).and_then(|mut log| log.line(&line)) {
                    tracing::warn!("cannot write to {}: {err:#}", run.log_file().display());
                }
            }
        }
        None
    }

    /// Record the stage as done: hash every output (paths relative to the base) and write the record atomically.
    pub(crate) fn finish(
        &self,
        input_hash: &str,
        outputs: &[PathBuf],
        wall_s: f64,
        device: &str,
    ) -> Result<StageRecord> {
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
            record_sha256: String::new(),
        }
        .sealed()?;
        crate::atomic::write(&self.record, &serde_json::to_vec_pretty(&record)?)?;
        Ok(record)
    }
}

/// The record of a profile-level stage named `name` (`runs/<profile>/stages/<name>.json`).
pub(crate) fn profile_record(profile_dir: &Path, name: &str) -> PathBuf {
    profile_dir.join("stages").join(format!("{name}.json"))
}

/// Write `bytes` only when the file does not already hold exactly them, so that re-running a finished profile
/// changes no file.
pub(crate) fn write_if_changed(path: &Path, bytes: &[u8]) -> Result<bool> {
    if std::fs::read(path).ok().as_deref() == Some(bytes) {
        return Ok(false);
    }
    crate::atomic::write(path, bytes)?;
    Ok(true)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    #[test]
    fn a_stage_is_done_only_for_its_inputs_and_intact_outputs() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("out.txt");
        std::fs::write(&out, b"42").unwrap();
        let stage = RecordFile::new("demo", dir.path().join("stages/demo.json"), dir.path());
        assert!(stage.done("h1").is_none());
        stage.finish("h1", std::slice::from_ref(&out), 1.5, "cpu").unwrap();
        let record = stage.done("h1").unwrap();
        assert_eq!(record.outputs.keys().collect::<Vec<_>>(), vec!["out.txt"]);
        assert!(stage.done("h2").is_none(), "changed inputs rerun the stage");
        std::fs::write(&out, b"43").unwrap();
        assert!(stage.done("h1").is_none(), "a changed output reruns the stage");
    }

    /// Flip the middle byte of `path`, or cut it to half its length.
    pub(crate) fn damage(path: &Path, truncate: bool) {
        let mut bytes = std::fs::read(path).unwrap();
        let middle = bytes.len() / 2;
        match truncate {
            true => bytes.truncate(middle),
            false => bytes[middle] ^= 0x01,
        }
        std::fs::write(path, bytes).unwrap();
    }

    #[test]
    fn a_damaged_record_or_output_is_named_and_never_taken_for_done() {
        for truncate in [false, true] {
            let dir = tempfile::tempdir().unwrap();
            let out = dir.path().join("tables/t.csv");
            std::fs::create_dir_all(out.parent().unwrap()).unwrap();
            std::fs::write(&out, b"a,b\n1,2\n").unwrap();
            let stage = RecordFile::new("demo", dir.path().join("stages/demo.json"), dir.path());
            stage.finish("h1", std::slice::from_ref(&out), 1.5, "cpu").unwrap();
            let written = std::fs::read(&stage.record).unwrap();

            damage(&stage.record, truncate);
            let why = stage.check("h1").unwrap_err();
            assert!(matches!(why, NotDone::DamagedRecord { .. }), "truncated {truncate}: {why:?}");
            assert!(why.damage().unwrap().contains(&stage.record.display().to_string()), "{why:?}");
            assert!(stage.done("h1").is_none());

            std::fs::write(&stage.record, &written).unwrap();
            damage(&out, truncate);
            let why = stage.check("h1").unwrap_err();
            assert_eq!(why.damage().unwrap().split(" is damaged").next(), Some(out.display().to_string().as_str()));
            assert!(stage.check_outputs(|path| path.starts_with("tables/")).is_err());
            assert!(stage.check_outputs(|path| !path.starts_with("tables/")).is_ok(), "only the selected outputs");
        }
    }

    #[test]
    fn a_seal_covers_every_field_and_reads_back() {
        let dir = tempfile::tempdir().unwrap();
        let stage = RecordFile::new("demo", dir.path().join("demo.json"), dir.path());
        let record = stage.finish("h1", &[], 0.1 + 0.2, "cpu").unwrap();
        assert_eq!(StageRecord::unseal(&std::fs::read(&stage.record).unwrap()).unwrap().wall_s, record.wall_s);
        let text = std::fs::read_to_string(&stage.record).unwrap();
        let err = StageRecord::unseal(text.replace("\"cpu\"", "\"cuda\"").as_bytes()).unwrap_err();
        assert!(format!("{err:#}").contains("seal does not match"), "{err:#}");
        let unsealed: serde_json::Value = serde_json::from_str(&text).unwrap();
        let unsealed = serde_json::json!({ "stage": unsealed["stage"], "input_hash": "h1" });
        assert!(StageRecord::unseal(unsealed.to_string().as_bytes()).is_err(), "a record without a seal");
    }

    #[test]
    fn every_stage_has_its_own_code_hash() {
        let code = CodeHashes::compiled();
        let all: Vec<&str> = Stage::ALL.iter().map(|s| code.of(*s)).collect();
        assert!(all.iter().all(|h| h.len() == 64 && h.chars().all(|c| c.is_ascii_hexdigit())), "{code:?}");
        for (i, a) in all.iter().enumerate() {
            assert!(all[i + 1..].iter().all(|b| a != b), "two stages share a source hash: {code:?}");
        }
        let manifest = serde_json::to_value(&code).unwrap();
        let mut names: Vec<&String> = manifest.as_object().unwrap().keys().collect();
        names.sort();
        assert_eq!(names, ["analyse", "evaluate", "figures", "gather", "train"]);
    }

    #[test]
    fn stages_are_ordered_after_their_inputs() {
        for (i, stage) in Stage::ALL.iter().enumerate() {
            assert!(stage.inputs().iter().all(|input| Stage::ALL[..i].contains(input)), "{stage}");
        }
        assert_eq!(Stage::OF_RUN, Stage::ALL[..3]);
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
