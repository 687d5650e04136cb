//! `blurry-to-clear status RUN_DIR`: where every run of a profile stands, from what is on disk (the same on a
//! laptop and on a cluster's shared file system), plus the Slurm job state when the runs were submitted there.
//!
//! A run is *done* when the records of its three stages exist (`reproduce` verifies their hashes when it next runs);
//! *running* when its lock's holder is alive (or on another host, which this host cannot check), with the epoch
//! from its `run.log`; *failed* when the last line of its log is the failure `reproduce` recorded there; *stopped*
//! when it has a log but none of the above (interrupted, killed, or its machine lost); otherwise *not started*.
use std::fmt::Write as _;
use std::path::Path;

use anyhow::{bail, Context, Result};

use crate::lock::{self, Holder, Liveness};
use crate::pipeline::Selection;
use crate::protocol::{Profile, RunSpec};
use crate::run_dir::RunDir;

/// The prefix of the `run.log` line that records a failed run.
const FAILED: &str = "failed: ";

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
    const KINDS: [&'static str; 5] = ["done", "running", "failed", "stopped", "not started"];

    pub fn kind(&self) -> &'static str {
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

/// The directory of `run` relative to its profile's directory, e.g. `faces/clear/seed-0` (a variant's
/// `variants/<name>/in12/blurry/seed-0`): how the Slurm records name a run.
pub fn run_id(run: &RunSpec) -> String {
    let id = format!("{}/{}/seed-{}", run.dataset.name(), run.regime.name(), run.seed_index);
    match &run.variant {
        Some(name) => format!("variants/{name}/{id}"),
        None => id,
    }
}

/// Where `run` (of the profile whose directory is `profile_dir`) stands.
pub fn run_state(profile_dir: &Path, run: &RunSpec) -> Result<State> {
    let dir = RunDir::new(profile_dir, run);
    if ["train", "evaluate", "analyse"].iter().all(|stage| dir.stage_record(stage).is_file()) {
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

/// What a run was doing, from its stage records and log: `epoch 3 of 5`, `evaluation`, `analyses`.
fn progress(dir: &RunDir, run: &RunSpec, log: &str) -> String {
    if dir.stage_record("evaluate").is_file() {
        return "analyses".to_owned();
    }
    if dir.stage_record("train").is_file() {
        return "evaluation".to_owned();
    }
    let epoch = log
        .lines()
        .rev()
        .find_map(|line| without_time(line).strip_prefix("epoch ")?.split(':').next()?.parse::<u32>().ok());
    format!("epoch {} of {}", epoch.unwrap_or(0), run.epochs)
}

/// A `run.log` line without its ISO 8601 time stamp (`2026-11-29T18:53:23Z `, see [`crate::train::RunLog`]).
fn without_time(line: &str) -> &str {
    match line.split_once(' ') {
        Some((stamp, text)) if stamp.len() == 20 && stamp.ends_with('Z') && stamp.as_bytes()[10] == b'T' => text,
        _ => line,
    }
}

/// Record in the run's log how its stages ended, so that `status` can tell a failed run from a stopped one:
/// nothing when they finished, the signal when interrupted, the error otherwise. Best effort: the error that is
/// being reported matters more than a log line that cannot be written.
pub fn record_outcome(dir: &RunDir, outcome: &Result<()>) {
    let Err(err) = outcome else { return };
    let line = match crate::interrupt::interruption(err) {
        Some(_) => format!("{err:#}; rerun the same command to resume"),
        None => format!("{FAILED}{}", format!("{err:#}").replace('\n', " ")),
    };
    if let Err(log_err) = crate::train::RunLog::open(dir).and_then(|mut log| log.line(&line)) {
        tracing::warn!("cannot record the outcome in {}: {log_err:#}", dir.log_file().display());
    }
}

/// The runs `status` reports: the profile's runs for `seeds` seeds (default: as many as the directory has), those
/// `only` selects.
fn runs(profile_dir: &Path, profile: &Profile, seeds: Option<u64>, only: &[String]) -> Result<Vec<RunSpec>> {
    let seeds = match seeds {
        Some(seeds) => seeds,
        None => seeds_on_disk(profile_dir).max(1),
    };
    let selection = Selection::parse(only, profile)?;
    let all = profile.runs(seeds)?.into_iter().chain(profile.variant_runs(seeds)?);
    Ok(all.filter(|run| selection.includes(run)).collect())
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

/// The status report of a profile directory, and the runs that are not done.
pub fn report(profile_dir: &Path, profile: &Profile, seeds: Option<u64>, only: &[String]) -> Result<(String, usize)> {
    let runs = runs(profile_dir, profile, seeds, only)?;
    let jobs = crate::slurm::RecordedJobs::load(profile_dir)?;
    let states = crate::slurm::job_states(&runs.iter().filter_map(|r| jobs.runs.get(&run_id(r))).collect::<Vec<_>>());
    let width = runs.iter().map(|r| r.name().len()).max().unwrap_or(0);
    let mut text = String::new();
    let mut counts = std::collections::BTreeMap::new();
    for run in &runs {
        let state = run_state(profile_dir, run)?;
        let job = match jobs.runs.get(&run_id(run)) {
            Some(job) => match states.get(job) {
                Some(state) => format!("  [Slurm {job}: {state}]"),
                None => format!("  [Slurm {job}]"),
            },
            None => String::new(),
        };
        writeln!(text, "{:width$}  seed {}  {}{job}", run.name(), run.seed_index, state.describe())?;
        *counts.entry(state.kind()).or_insert(0usize) += 1;
    }
    let summary: Vec<String> =
        State::KINDS.iter().filter_map(|kind| Some(format!("{} {kind}", counts.get(kind)?))).collect();
    writeln!(text, "{}: {} runs: {}", profile.name, runs.len(), summary.join(", "))?;
    let stages = profile_dir.join("stages");
    let gathered = stages.join("gather.json").is_file() && profile_dir.join("manifest.json").is_file();
    let drawn = stages.join("figures.json").is_file();
    writeln!(
        text,
        "cross-run stages: {}, {}",
        if gathered { "tables gathered" } else { "tables not gathered" },
        if drawn { "figures drawn" } else { "figures not drawn" }
    )?;
    if let Some(tables) = &jobs.tables {
        let state = crate::slurm::job_states(&[tables]).remove(tables).map(|s| format!(": {s}")).unwrap_or_default();
        writeln!(text, "Slurm tables job {tables}{state}")?;
    }
    let not_done = runs.len() - counts.get("done").copied().unwrap_or(0);
    Ok((text, not_done))
}

/// `blurry-to-clear status`: print the report; with `require_done`, fail unless every run is done.
pub fn run(
    profile_dir: &Path,
    profile: Option<&str>,
    seeds: Option<u64>,
    only: &[String],
    require_done: bool,
) -> Result<()> {
    if !profile_dir.is_dir() {
        bail!("{} is not a directory; give a profile's run directory, e.g. runs/mini", profile_dir.display());
    }
    let name = match profile {
        Some(name) => name.to_owned(),
        None => profile_dir.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default(),
    };
    let profile = Profile::load(&name).with_context(|| {
        format!("{}: pass --profile when the directory is not named after it", profile_dir.display())
    })?;
    let (text, not_done) = report(profile_dir, &profile, seeds, only)?;
    print!("{text}");
    if require_done && not_done > 0 {
        bail!(
            "{not_done} run(s) of {} are not done (listed above); see their run.log and the Slurm logs in {}",
            profile.name,
            profile_dir.join("slurm").display()
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::{DatasetId, Regime};

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
        for stage in ["train", "evaluate", "analyse"] {
            write(&RunDir::new(root, &done).stage_record(stage), "{}");
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
        write(&RunDir::new(root, &resumed_after_failure).stage_record("train"), "{}");

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

        let (text, not_done) = report(root, &profile, None, &[]).unwrap();
        assert_eq!(not_done, 14, "{text}");
        assert!(text.contains("tiny: 15 runs: 1 done, 1 running, 1 failed, 2 stopped, 10 not started"), "{text}");
        let (text, not_done) = report(root, &profile, None, &["faces/clear".to_owned()]).unwrap();
        assert_eq!((not_done, text.lines().next().unwrap()), (0, "faces/clear  seed 0  done"));
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
