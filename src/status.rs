//! `blurry-to-clear status RUN_DIR`: where every run of a profile stands, from what is on disk (the same on a
//! laptop and on a cluster's shared file system), plus the Slurm job state when the runs were submitted there.
//!
//! A run is *done* when the records of its three stages exist (`reproduce` verifies their hashes when it next runs);
//! *running* when its lock's holder is alive (or on another host, which this host cannot check), with the epoch
//! from its `run.log`; *failed* when the last line of its log is the failure `reproduce` recorded there; *stopped*
//! when it has a log but none of the above (interrupted, killed, or its machine lost); otherwise *not started*.
use std::path::Path;

use anyhow::{Context, Result};

use crate::lock::{self, Holder, Liveness};
use crate::protocol::{Profile, RunSpec};
use crate::results::ResultsDir;
use crate::run_dir::{without_time, RunDir, FAILED};
use crate::selection::Selection;
use crate::stage::{profile_record, Stage};

/// Where one run stands.
#[derive(Clone, Debug, PartialEq)]
pub enum State {
    Done,
    Running { holder: Holder, progress: String },
    Failed { error: String },
    Stopped { progress: String },
    NotStarted,
}

impl State {
    /// The kinds of state, in the order the summary lists them.
    pub(crate) const KINDS: [&'static str; 5] = ["done", "running", "failed", "stopped", "not started"];

    pub(crate) fn kind(&self) -> &'static str {
        match self {
            State::Done => "done",
            State::Running { .. } => "running",
            State::Failed { .. } => "failed",
            State::Stopped { .. } => "stopped",
            State::NotStarted => "not started",
        }
    }

    pub fn describe(&self) -> String {
        match self {
            State::Done => "done".to_owned(),
            State::Running { holder, progress } => format!("running: {progress} ({})", holder.describe()),
            State::Failed { error } => format!("failed: {error}"),
            State::Stopped { progress } => format!("stopped at {progress}; rerun `reproduce` to resume"),
            State::NotStarted => "not started".to_owned(),
        }
    }
}

/// The directory of `run` relative to its profile's directory, e.g. `faces/clear/seed-0`: how the Slurm records
/// name a run.
pub fn run_id(run: &RunSpec) -> String {
    format!("{}/{}/seed-{}", run.dataset.name(), run.regime.name(), run.seed_index)
}

/// Where `run` (of the profile whose directory is `profile_dir`) stands.
pub(crate) fn run_state(profile_dir: &Path, run: &RunSpec) -> Result<State> {
    let dir = RunDir::new(profile_dir, run);
    if Stage::OF_RUN.iter().all(|stage| dir.stage_record(stage.name()).is_file()) {
        return Ok(State::Done);
    }
    let log = match std::fs::read_to_string(dir.log_file()) {
        Ok(text) => Some(text),
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => None,
        Err(err) => return Err(err).with_context(|| format!("cannot read {}", dir.log_file().display())),
    };
    let progress = progress(&dir, run, log.as_deref().unwrap_or(""));
    if let Some((holder, liveness)) = lock::holder(&dir.root)? {
        if !matches!(liveness, Liveness::Dead(_)) {
            return Ok(State::Running { holder, progress });
        }
    }
    let Some(log) = log else { return Ok(State::NotStarted) };
    let last = log.lines().rev().map(without_time).find(|line| !line.is_empty());
    Ok(match last.and_then(|line| line.strip_prefix(FAILED)) {
        Some(error) => State::Failed { error: error.to_owned() },
        None => State::Stopped { progress },
    })
}

/// What a run was doing, from its stage records and log: `analyses` after its evaluation, `evaluation` after its
/// training, else the epoch of its training (`epoch 3 of 5`).
fn progress(dir: &RunDir, run: &RunSpec, log: &str) -> String {
    if dir.stage_record(Stage::Evaluate.name()).is_file() {
        return "analyses".to_owned();
    }
    if dir.stage_record(Stage::Train.name()).is_file() {
        return "evaluation".to_owned();
    }
    let epoch = log
        .lines()
        .rev()
        .find_map(|line| without_time(line).strip_prefix("epoch ")?.split(':').next()?.parse::<u32>().ok());
    format!("epoch {} of {}", epoch.unwrap_or(0), run.epochs)
}

/// The profile of the runs in `profile_dir`: `explicit` (`--profile`) when given; else the profile that made its
/// gathered tables ([`ResultsDir::profile`]); else, before anything is gathered, the profile the directory is named
/// after.
pub fn profile_of(profile_dir: &Path, explicit: Option<&str>) -> Result<Profile> {
    if let Some(name) = explicit {
        return Profile::load(name);
    }
    if let Some(profile) = ResultsDir::new(profile_dir).profile().ok().and_then(|p| p.protocol) {
        return Ok(profile);
    }
    let name = profile_dir.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    Profile::load(&name)
        .with_context(|| format!("{}: pass --profile when the directory is not named after it", profile_dir.display()))
}

/// The runs `status` reports: the profile's runs for `seeds` seeds (default: as many as the directory has), those
/// `only` selects.
pub(crate) fn runs(profile_dir: &Path, profile: &Profile, seeds: Option<u64>, only: &[String]) -> Result<Vec<RunSpec>> {
    let seeds = match seeds {
        Some(seeds) => seeds,
        None => seeds_on_disk(profile_dir).max(1),
    };
    let selection = Selection::parse(only)?;
    Ok(profile.runs(seeds)?.into_iter().filter(|run| selection.includes(run)).collect())
}

/// One more than the highest `seed-<n>` directory under `profile_dir/<dataset>/<regime>/`.
fn seeds_on_disk(profile_dir: &Path) -> u64 {
    let children = |dir: &Path| -> Vec<std::path::PathBuf> {
        std::fs::read_dir(dir).into_iter().flatten().flatten().map(|e| e.path()).filter(|p| p.is_dir()).collect()
    };
    children(profile_dir)
        .iter()
        .flat_map(|dataset| children(dataset))
        .flat_map(|regime| children(&regime))
        .filter_map(|seed| seed.file_name()?.to_str()?.strip_prefix("seed-")?.parse::<u64>().ok())
        .map(|index| index + 1)
        .max()
        .unwrap_or(0)
}

/// Where every run a `status` asks about stands, and the profile's cross-run stages.
#[derive(Clone, Debug)]
pub struct Report {
    pub profile: String,
    pub runs: Vec<(RunSpec, State)>,
    pub cross_run: CrossRun,
}

impl Report {
    /// The runs of `profile` in `profile_dir` for `seeds` seeds (default: as many as the directory has), those
    /// `only` selects, with their states.
    pub fn of(profile_dir: &Path, profile: &Profile, seeds: Option<u64>, only: &[String]) -> Result<Report> {
        let mut states = Vec::new();
        for run in runs(profile_dir, profile, seeds, only)? {
            let state = run_state(profile_dir, &run)?;
            states.push((run, state));
        }
        Ok(Report { profile: profile.name.clone(), runs: states, cross_run: CrossRun::of(profile_dir) })
    }

    /// How many runs are in each state, in the order of [`State::KINDS`], states no run is in left out.
    pub fn counts(&self) -> Vec<(&'static str, usize)> {
        State::KINDS
            .iter()
            .map(|kind| (*kind, self.runs.iter().filter(|(_, state)| state.kind() == *kind).count()))
            .filter(|(_, n)| *n > 0)
            .collect()
    }

    /// The runs that are not done.
    pub fn not_done(&self) -> usize {
        self.runs.iter().filter(|(_, state)| *state != State::Done).count()
    }
}

/// How far the cross-run stages of a profile directory are: whether its tables are gathered (with the manifest
/// written) and its figures drawn.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CrossRun {
    pub gathered: bool,
    pub drawn: bool,
}

impl CrossRun {
    pub(crate) fn of(profile_dir: &Path) -> CrossRun {
        CrossRun {
            gathered: profile_record(profile_dir, Stage::Gather.name()).is_file()
                && profile_dir.join("manifest.json").is_file(),
            drawn: profile_record(profile_dir, Stage::Figures.name()).is_file(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::run_dir::record_outcome;
    use crate::vocab::{DatasetId, Regime};

    fn tiny_run(profile: &Profile, dataset: DatasetId, regime: Regime) -> RunSpec {
        profile.run(dataset, regime, 0, None).unwrap()
    }

    fn write(path: &Path, text: &str) {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }

    #[test]
    fn each_state_is_read_from_the_stage_records_the_log_and_the_lock() {
        let profile = Profile::load("tiny").unwrap();
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        let run = |d, r| tiny_run(&profile, d, r);

        let done = run(DatasetId::Faces, Regime::Clear);
        for stage in Stage::OF_RUN {
            write(&RunDir::new(root, &done).stage_record(stage.name()), "{}");
        }
        let failed = run(DatasetId::Faces, Regime::Blurry);
        write(
            &RunDir::new(root, &failed).log_file(),
            "2026-11-29T18:00:01Z starting faces/blurry (seed 0): 5 epochs x 3 iterations\n2026-11-29T18:00:02Z epoch 0: x\n2026-11-29T18:00:03Z failed: loss is NaN\n",
        );
        let stopped = run(DatasetId::Faces, Regime::BlurryToClear);
        write(
            &RunDir::new(root, &stopped).log_file(),
            "2026-11-29T18:00:01Z epoch 0: x\n2026-11-29T18:00:02Z epoch 1: x\n2026-11-29T18:00:03Z epoch 2: x\n",
        );
        let running = run(DatasetId::In12, Regime::Clear);
        write(
            &RunDir::new(root, &running).log_file(),
            "2026-11-29T18:00:01Z epoch 0: x\n2026-11-29T18:00:02Z epoch 1: x\n",
        );
        let _lock = lock::Lock::acquire(&RunDir::new(root, &running).root).unwrap();
        let resumed_after_failure = run(DatasetId::In12, Regime::Blurry);
        write(
            &RunDir::new(root, &resumed_after_failure).log_file(),
            "2026-11-29T18:00:01Z failed: disk full\n2026-11-29T18:00:02Z resuming\n",
        );
        write(&RunDir::new(root, &resumed_after_failure).stage_record(Stage::Train.name()), "{}");

        assert_eq!(run_state(root, &done).unwrap(), State::Done);
        assert_eq!(run_state(root, &failed).unwrap(), State::Failed { error: "loss is NaN".to_owned() });
        assert_eq!(run_state(root, &stopped).unwrap(), State::Stopped { progress: "epoch 2 of 5".to_owned() });
        match run_state(root, &running).unwrap() {
            State::Running { holder, progress } => {
                assert_eq!(progress, "epoch 1 of 5");
                assert_eq!(holder.pid, std::process::id());
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(
            run_state(root, &resumed_after_failure).unwrap(),
            State::Stopped { progress: "evaluation".to_owned() }
        );
        assert_eq!(run_state(root, &run(DatasetId::In100, Regime::Clear)).unwrap(), State::NotStarted);

        let report = Report::of(root, &profile, None, &[]).unwrap();
        assert_eq!(report.not_done(), 14);
        let counts = [("done", 1), ("running", 1), ("failed", 1), ("stopped", 2), ("not started", 10)];
        assert_eq!(report.counts(), counts);
        let report = Report::of(root, &profile, None, &["faces/clear".to_owned()]).unwrap();
        assert_eq!(
            (report.not_done(), report.runs[0].0.key(), &report.runs[0].1),
            (0, "faces/clear".into(), &State::Done)
        );
    }

    #[test]
    fn the_outcome_of_a_run_is_recorded_as_its_last_log_line() {
        let profile = Profile::load("tiny").unwrap();
        let dir = tempfile::tempdir().unwrap();
        let run = tiny_run(&profile, DatasetId::Faces, Regime::Clear);
        let run_dir = RunDir::new(dir.path(), &run);
        record_outcome(&run_dir, &Ok(()));
        assert!(!run_dir.log_file().exists());
        record_outcome(&run_dir, &Err(anyhow::anyhow!("line one\nline two").context("training faces/clear")));
        assert_eq!(
            run_state(dir.path(), &run).unwrap(),
            State::Failed { error: "training faces/clear: line one line two".to_owned() }
        );
        let interrupted = crate::interrupt::Interrupted { signal: 15 };
        record_outcome(&run_dir, &Err(anyhow::Error::new(interrupted)));
        assert_eq!(run_state(dir.path(), &run).unwrap(), State::Stopped { progress: "epoch 0 of 5".to_owned() });
    }

    #[test]
    fn the_seeds_are_counted_from_the_seed_directories() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(seeds_on_disk(dir.path()), 0);
        std::fs::create_dir_all(dir.path().join("faces/clear/seed-2")).unwrap();
        std::fs::create_dir_all(dir.path().join("in12/blurry/seed-0")).unwrap();
        assert_eq!(seeds_on_disk(dir.path()), 3);
    }
}
