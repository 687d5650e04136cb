//! `reproduce --executor slurm`: a profile's runs as one Slurm job array, and its cross-run stages as one job after.
//!
//! Slurm is what academic clusters run, so the artifact hands it the work rather than scheduling its own. One array
//! task per run and seed runs exactly the `reproduce --only <dataset/regime> --seed-index <i>` that a local run
//! would (with `--no-figures`), so that skipping, resume, locks and provenance work unchanged, on the shared file
//! system the output directory lives on. Each task asks for SIGUSR1 two minutes before its time limit
//! (`--signal=B:USR1@120`), on which its script asks `reproduce` to stop at a safe point (SIGTERM, see
//! [`crate::interrupt`]) and requeues the task; a different signal from the SIGTERM of `scancel` and of pre-emption,
//! so that a cancelled task stays cancelled. Pre-empted tasks are requeued by Slurm (`--requeue`). Either way
//! training resumes from its last checkpoint. A second job, after every task has ended (`afterany`), checks that every run is done (a failed run
//! fails this job, naming it, instead of leaving the tables silently short) and then runs `reproduce` over the
//! profile, which finds every run done and only gathers the tables, draws the figures and writes the report.
//!
//! The scripts land in `<out>/<profile>/slurm/` beside the tasks' logs, and the job ids in `jobs.json` there, which
//! `status` reads. Submitting again submits only the runs that are not done (nor running).
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{bail, Context, Result};
use serde::{Deserialize, Serialize};

use crate::device::DeviceChoice;
use crate::protocol::Profile;
use crate::selection::{ReproduceOptions, Selection};
use crate::status::{self, State};

/// The options of `--executor slurm` (the `reproduce` command's `--partition`, `--account`, ...).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SlurmOptions {
    /// Slurm partition of the jobs.
    pub partition: Option<String>,
    /// Slurm account the jobs are charged to.
    pub account: Option<String>,
    /// GPUs of each run's task (`--gres=gpu:N`); default 1 for a CUDA profile (paper), 0 for a CPU one (tiny).
    pub gpus_per_run: Option<u32>,
    /// Time limit of each task, H:MM:SS or D-HH:MM:SS; a task stops safely 2 minutes before it and requeues.
    pub time: Option<String>,
    /// Run at most K tasks at once (the array's %K).
    pub max_parallel: Option<u32>,
    /// sbatch options for both jobs, passed as they are.
    pub sbatch_args: Vec<String>,
    /// Write nothing and submit nothing: only say what would be submitted.
    pub dry_run: bool,
}

/// Everything the two scripts say: absolute paths, since the jobs run elsewhere.
#[derive(Clone, Debug)]
pub(crate) struct Plan {
    /// The profile's name: its directory under `out`.
    pub profile: String,
    /// The profile as `reproduce` was given it (a name, or an absolute path to a .toml).
    pub profile_arg: String,
    pub out: PathBuf,
    pub binary: PathBuf,
    pub workdir: PathBuf,
    pub seeds: u64,
    pub only: Vec<String>,
    pub device: DeviceChoice,
    pub data_root: Option<PathBuf>,
    pub threads: Option<i32>,
    pub figures: bool,
    /// Every run of the profile and its seed index, in the profile's order: the array index is the position.
    pub runs: Vec<(String, u64)>,
    /// The array indices to submit.
    pub tasks: Vec<usize>,
    pub gpus: u32,
    pub options: SlurmOptions,
    /// The command that wrote the scripts, quoted in them.
    pub submitted_by: String,
}

impl Plan {
    pub(crate) fn profile_dir(&self) -> PathBuf {
        self.out.join(&self.profile)
    }

    fn log_dir(&self) -> PathBuf {
        self.profile_dir().join("slurm")
    }

    /// The `reproduce` arguments every job shares.
    fn reproduce_args(&self, device: DeviceChoice) -> Vec<String> {
        let mut args = vec![self.binary.display().to_string(), "reproduce".to_owned()];
        args.extend(["--profile".to_owned(), self.profile_arg.clone()]);
        args.extend(["--out".to_owned(), self.out.display().to_string()]);
        args.extend(["--seeds".to_owned(), self.seeds.to_string()]);
        if device != DeviceChoice::Auto {
            args.extend(["--device".to_owned(), device.name().to_owned()]);
        }
        if let Some(root) = &self.data_root {
            args.extend(["--data-root".to_owned(), root.display().to_string()]);
        }
        if let Some(threads) = self.threads {
            args.extend(["--threads".to_owned(), threads.to_string()]);
        }
        args
    }

    /// `#SBATCH` lines both jobs share: where, on whose account, for how long, and the pass-through options.
    fn common_directives(&self, text: &mut String) -> Result<()> {
        writeln!(text, "#SBATCH --chdir={}", quote(&self.workdir.display().to_string())?)?;
        if let Some(partition) = &self.options.partition {
            writeln!(text, "#SBATCH --partition={}", quote(partition)?)?;
        }
        if let Some(account) = &self.options.account {
            writeln!(text, "#SBATCH --account={}", quote(account)?)?;
        }
        if let Some(time) = &self.options.time {
            writeln!(text, "#SBATCH --time={time}")?;
        }
        for arg in &self.options.sbatch_args {
            writeln!(text, "#SBATCH {}", quote(arg)?)?;
        }
        Ok(())
    }
}

/// The job array: one task per run and seed.
pub(crate) fn array_script(plan: &Plan) -> Result<String> {
    let mut text = String::from("#!/bin/bash\n");
    writeln!(text, "#SBATCH --job-name=b2c-{}", plan.profile)?;
    let parallel = plan.options.max_parallel.map(|k| format!("%{k}")).unwrap_or_default();
    writeln!(text, "#SBATCH --array={}{parallel}", index_ranges(&plan.tasks))?;
    writeln!(text, "#SBATCH --output={}", quote(&plan.log_dir().join("%A_%a.out").display().to_string())?)?;
    writeln!(text, "#SBATCH --open-mode=append")?;
    if plan.gpus > 0 {
        writeln!(text, "#SBATCH --gres=gpu:{}", plan.gpus)?;
    }
    writeln!(text, "#SBATCH --signal=B:USR1@120")?;
    writeln!(text, "#SBATCH --requeue")?;
    plan.common_directives(&mut text)?;
    let runs: Vec<&str> = plan.runs.iter().map(|(run, _)| run.as_str()).collect();
    let seeds: Vec<String> = plan.runs.iter().map(|(_, seed)| seed.to_string()).collect();
    let command = format!(
        "{} --only \"$run\" --seed-index \"$seed_index\" --no-figures",
        join(&plan.reproduce_args(plan.device))?
    );
    write!(
        text,
        r#"#
# The runs of the `{profile}` profile, one array task per run and seed, written by
#   {submitted_by}
# Each task runs the `reproduce` a local run of its run would: finished stages are skipped and training resumes from
# its last checkpoint. Two minutes before the time limit Slurm sends USR1 to this script, which asks `reproduce` to
# stop at a safe point (SIGTERM; it exits 143) and requeues the task. scancel and pre-emption send SIGTERM, which
# stops `reproduce` the same way but requeues nothing here (Slurm requeues pre-empted tasks itself: --requeue).
set -uo pipefail
runs=({runs})
seed_indices=({seeds})
run=${{runs[$SLURM_ARRAY_TASK_ID]}}
seed_index=${{seed_indices[$SLURM_ARRAY_TASK_ID]}}
echo "$(date -Is) task $SLURM_ARRAY_TASK_ID: $run seed $seed_index on $(hostname), restart ${{SLURM_RESTART_COUNT:-0}}"
child=""
requeue=0
trap 'requeue=1; kill -TERM "$child" 2>/dev/null' USR1
trap 'kill -TERM "$child" 2>/dev/null' TERM
{command} &
child=$!
wait "$child"
status=$?
# A trapped signal ends `wait` early: wait on until `reproduce` has reached its safe point and exited.
while [ "$status" -gt 128 ] && kill -0 "$child" 2>/dev/null; do
  wait "$child"
  status=$?
done
# `reproduce` may have exited between the trap and `kill -0`: bash keeps its exit status for one more `wait`.
if [ "$status" -gt 128 ]; then
  wait "$child"
  last=$?
  [ "$last" = 127 ] || status=$last
fi
if [ "$requeue" = 1 ] && [ "$status" = 143 ]; then
  echo "$(date -Is) stopped at a safe point before the time limit; requeueing"
  scontrol requeue "$SLURM_JOB_ID"
fi
exit "$status"
"#,
        profile = plan.profile,
        submitted_by = plan.submitted_by,
        runs = runs.join(" "),
        seeds = seeds.join(" "),
    )?;
    Ok(text)
}

/// The cross-run job: check that every run is done, then gather, draw and report.
pub(crate) fn tables_script(plan: &Plan) -> Result<String> {
    let mut text = String::from("#!/bin/bash\n");
    writeln!(text, "#SBATCH --job-name=b2c-{}-tables", plan.profile)?;
    writeln!(text, "#SBATCH --output={}", quote(&plan.log_dir().join("tables-%j.out").display().to_string())?)?;
    plan.common_directives(&mut text)?;
    let mut check = vec![
        plan.binary.display().to_string(),
        "status".to_owned(),
        plan.profile_dir().display().to_string(),
        "--profile".to_owned(),
        plan.profile_arg.clone(),
        "--seeds".to_owned(),
        plan.seeds.to_string(),
    ];
    let mut reproduce = plan.reproduce_args(DeviceChoice::Cpu);
    for only in &plan.only {
        check.extend(["--only".to_owned(), only.clone()]);
        reproduce.extend(["--only".to_owned(), only.clone()]);
    }
    check.push("--require-done".to_owned());
    if !plan.figures {
        reproduce.push("--no-figures".to_owned());
    }
    write!(
        text,
        r#"#
# The cross-run stages of the `{profile}` profile (tables, figures, report, manifest), after every task of its runs
# has ended (afterany). First a check that lists every run that failed or did not finish and exits non-zero, so that
# a failure is reported rather than skipped; then `reproduce`, which finds every run done and only gathers, draws
# and reports (on the CPU: it trains nothing).
set -euo pipefail
{check}
exec {reproduce}
"#,
        profile = plan.profile,
        check = join(&check)?,
        reproduce = join(&reproduce)?,
    )?;
    Ok(text)
}

/// The job ids of a profile's submissions, in `<profile dir>/slurm/jobs.json`: for `status`, and so that a second
/// submission waits until the first has left the queue.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct RecordedJobs {
    /// Run (`faces/clear/seed-0`) -> its latest array task (`45_0`).
    pub runs: BTreeMap<String, String>,
    /// The latest cross-run job.
    pub tables: Option<String>,
    /// The jobs of the latest submission.
    pub latest: Vec<String>,
}

impl RecordedJobs {
    fn path(profile_dir: &Path) -> PathBuf {
        profile_dir.join("slurm").join("jobs.json")
    }

    /// The recorded jobs, or none when nothing was submitted.
    pub fn load(profile_dir: &Path) -> Result<RecordedJobs> {
        let path = RecordedJobs::path(profile_dir);
        match std::fs::read(&path) {
            Ok(bytes) => serde_json::from_slice(&bytes)
                .with_context(|| format!("{} is corrupt; remove it (it only names Slurm jobs)", path.display())),
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => Ok(RecordedJobs::default()),
            Err(err) => Err(err).with_context(|| format!("cannot read {}", path.display())),
        }
    }

    fn save(&self, profile_dir: &Path) -> Result<()> {
        crate::atomic::write(&RecordedJobs::path(profile_dir), &serde_json::to_vec_pretty(self)?)
    }
}

/// The state of Slurm jobs and of every task of their arrays (`45_3` -> `COMPLETED`) from `sacct`, or from
/// `squeue` where accounting is off; jobs neither knows, and every job when neither command is on the PATH, are left
/// out.
pub fn job_states(jobs: &[&String]) -> BTreeMap<String, String> {
    let mut states = BTreeMap::new();
    if jobs.is_empty() {
        return states;
    }
    let mut ids: Vec<&str> = jobs.iter().map(|j| j.split('_').next().unwrap_or(j)).collect();
    ids.sort_unstable();
    ids.dedup();
    let ids = ids.join(",");
    let queries: [(&str, Vec<&str>); 2] = [
        ("sacct", vec!["--noheader", "--parsable2", "--allocations", "--format=JobID,State", "--jobs", &ids]),
        ("squeue", vec!["--noheader", "--array", "--states=all", "--format=%i|%T", "--jobs", &ids]),
    ];
    for (program, args) in queries {
        let Ok(output) = Command::new(program).args(&args).output() else { continue };
        for line in String::from_utf8_lossy(&output.stdout).lines() {
            if let Some((job, state)) = line.split_once('|') {
                states.entry(job.trim().to_owned()).or_insert_with(|| state.trim().to_owned());
            }
        }
    }
    states
}

/// What `reproduce --executor slurm` did.
#[derive(Clone, Debug)]
pub struct Submission {
    /// Runs found running (locked by a live process) and so not submitted: the run's key, its seed index and who
    /// holds it.
    pub running: Vec<(String, u64, String)>,
    pub outcome: Submitted,
}

/// What was submitted.
#[derive(Clone, Debug)]
pub enum Submitted {
    /// Every run of the profile is done and its tables are gathered.
    Nothing { profile: String },
    /// `--dry-run`: the scripts that would be written (their paths and texts), none submitted; the tables script
    /// last.
    DryRun { array: Option<(PathBuf, String)>, tables: (PathBuf, String) },
    /// The jobs submitted.
    Jobs(Jobs),
}

/// The jobs of one submission, and where to follow them.
#[derive(Clone, Debug)]
pub struct Jobs {
    pub profile: String,
    /// Array tasks submitted (runs and seeds).
    pub tasks: usize,
    pub max_parallel: Option<u32>,
    /// The job array of the runs, when any run was submitted.
    pub array: Option<String>,
    /// The cross-run job after it.
    pub tables: String,
    /// Every job of the submission.
    pub latest: Vec<String>,
    /// This program, the profile's directory and the tasks' log directory, for the `status` and log hints.
    pub binary: PathBuf,
    pub profile_dir: PathBuf,
    pub log_dir: PathBuf,
}

/// `reproduce --executor slurm`: write the scripts and submit the runs that are not done, or (`--dry-run`) only say
/// what would be submitted.
pub fn submit(opts: &ReproduceOptions, slurm: &SlurmOptions) -> Result<Submission> {
    let profile = Profile::load(&opts.profile)?;
    if opts.seeds == 0 {
        bail!("--seeds must be at least 1");
    }
    if let Some(time) = &slurm.time {
        check_time(time)?;
    }
    let selection = Selection::parse(&opts.only)?;
    let out = std::path::absolute(&opts.out).with_context(|| format!("cannot resolve {}", opts.out.display()))?;
    let profile_dir = out.join(&profile.name);
    let all = profile.runs(opts.seeds)?;
    let mut tasks = Vec::new();
    let mut running = Vec::new();
    for (index, run) in all.iter().enumerate() {
        if !selection.includes(run) || opts.seed_index.is_some_and(|i| i != run.seed_index) {
            continue;
        }
        match status::run_state(&profile_dir, run)? {
            State::Done => {}
            State::Running { holder, .. } => running.push((run.key(), run.seed_index, holder.describe())),
            _ => tasks.push(index),
        }
    }
    let absolute = |p: &Path| std::path::absolute(p).with_context(|| format!("cannot resolve {}", p.display()));
    let plan = Plan {
        profile: profile.name.clone(),
        profile_arg: match opts.profile.ends_with(".toml") {
            true => absolute(Path::new(&opts.profile))?.display().to_string(),
            false => opts.profile.clone(),
        },
        out,
        binary: std::env::current_exe().context("cannot find the path of this program for the job scripts")?,
        workdir: std::env::current_dir().context("cannot read the current directory")?,
        seeds: opts.seeds,
        only: opts.only.clone(),
        device: opts.device,
        data_root: opts.data_root.as_deref().map(absolute).transpose()?,
        threads: opts.threads,
        figures: opts.figures,
        runs: all.iter().map(|r| (r.key(), r.seed_index)).collect(),
        tasks,
        gpus: slurm.gpus_per_run.unwrap_or(if profile.device == "cpu" { 0 } else { 1 }),
        options: slurm.clone(),
        submitted_by: shlex::try_join(std::env::args().collect::<Vec<_>>().iter().map(String::as_str))
            .unwrap_or_else(|_| "blurry-to-clear reproduce --executor slurm".to_owned()),
    };
    let cross_run = status::CrossRun::of(&profile_dir);
    let tables_done = cross_run.gathered && (!opts.figures || cross_run.drawn);
    if plan.tasks.is_empty() && tables_done {
        return Ok(Submission { running, outcome: Submitted::Nothing { profile: profile.name } });
    }
    let array = (!plan.tasks.is_empty()).then(|| array_script(&plan)).transpose()?;
    let tables = tables_script(&plan)?;
    if slurm.dry_run {
        let array = array.map(|script| (plan.log_dir().join("runs.sbatch"), script));
        let tables = (plan.log_dir().join("tables.sbatch"), tables);
        return Ok(Submission { running, outcome: Submitted::DryRun { array, tables } });
    }
    let jobs = submit_plan(&plan, array.as_deref(), &tables)?;
    Ok(Submission { running, outcome: Submitted::Jobs(jobs) })
}

/// Write the scripts, refuse while the previous submission is queued, submit and record the jobs.
fn submit_plan(plan: &Plan, array: Option<&str>, tables: &str) -> Result<Jobs> {
    let profile_dir = plan.profile_dir();
    let mut recorded = RecordedJobs::load(&profile_dir)?;
    let queued: Vec<&String> = job_states(&recorded.latest.iter().collect::<Vec<_>>())
        .into_iter()
        .filter(|(_, state)| matches!(state.as_str(), "PENDING" | "RUNNING" | "REQUEUED" | "CONFIGURING" | "SUSPENDED"))
        .filter_map(|(job, _)| recorded.latest.iter().find(|j| **j == job || job.starts_with(&format!("{j}_"))))
        .collect();
    if !queued.is_empty() {
        let ids: Vec<&str> = queued.iter().map(|s| s.as_str()).collect();
        bail!(
            "the previous submission of {} is still queued (jobs {}); wait for it (squeue -j {}) or cancel it \
             (scancel {}) before submitting again",
            plan.profile,
            ids.join(", "),
            ids.join(","),
            ids.join(" ")
        );
    }
    let log_dir = plan.log_dir();
    let array_path = log_dir.join("runs.sbatch");
    let tables_path = log_dir.join("tables.sbatch");
    let array_job = match array {
        Some(script) => {
            crate::atomic::write(&array_path, script.as_bytes())?;
            Some(sbatch(&array_path, None)?)
        }
        None => None,
    };
    crate::atomic::write(&tables_path, tables.as_bytes())?;
    let dependency = array_job.as_ref().map(|id| format!("--dependency=afterany:{id}"));
    let tables_job = sbatch(&tables_path, dependency.as_deref())?;
    if let Some(id) = &array_job {
        for index in &plan.tasks {
            let (key, seed) = &plan.runs[*index];
            recorded.runs.insert(format!("{key}/seed-{seed}"), format!("{id}_{index}"));
        }
    }
    recorded.tables = Some(tables_job.clone());
    recorded.latest = array_job.iter().cloned().chain([tables_job.clone()]).collect();
    recorded.save(&profile_dir)?;

    Ok(Jobs {
        profile: plan.profile.clone(),
        tasks: plan.tasks.len(),
        max_parallel: plan.options.max_parallel,
        array: array_job,
        tables: tables_job,
        latest: recorded.latest,
        binary: plan.binary.clone(),
        profile_dir,
        log_dir,
    })
}

/// `sbatch --parsable`: the job id.
fn sbatch(script: &Path, dependency: Option<&str>) -> Result<String> {
    let mut command = Command::new("sbatch");
    command.arg("--parsable").args(dependency).arg(script);
    let output = command.output().with_context(|| {
        "cannot run sbatch: is this a Slurm login node? (--dry-run prints the scripts without submitting)"
    })?;
    if !output.status.success() {
        bail!("sbatch {} failed: {}", script.display(), String::from_utf8_lossy(&output.stderr).trim());
    }
    let stdout = String::from_utf8_lossy(&output.stdout);
    // `--parsable` prints `<job id>` or `<job id>;<cluster>`.
    match stdout.trim().split(';').next() {
        Some(id) if !id.is_empty() && id.chars().all(|c| c.is_ascii_digit()) => Ok(id.to_owned()),
        _ => bail!("sbatch {} printed {stdout:?}, not a job id", script.display()),
    }
}

/// `0-3,5,7-9`: array indices as Slurm's ranges.
fn index_ranges(indices: &[usize]) -> String {
    let mut ranges: Vec<(usize, usize)> = Vec::new();
    for &i in indices {
        match ranges.last_mut() {
            Some((_, end)) if *end + 1 == i => *end = i,
            _ => ranges.push((i, i)),
        }
    }
    let text: Vec<String> =
        ranges.iter().map(|(a, b)| if a == b { a.to_string() } else { format!("{a}-{b}") }).collect();
    text.join(",")
}

/// Slurm's time formats, so that a typo fails here rather than at `sbatch`: `M`, `M:S`, `H:M:S`, `D-H`, `D-H:M`,
/// `D-H:M:S`.
fn check_time(time: &str) -> Result<()> {
    let (days, clock) = match time.split_once('-') {
        Some((days, clock)) => (Some(days), clock),
        None => (None, time),
    };
    let parts: Vec<&str> = clock.split(':').collect();
    let digits = |s: &str| !s.is_empty() && s.chars().all(|c| c.is_ascii_digit());
    if days.is_some_and(|d| !digits(d)) || parts.len() > 3 || !parts.iter().all(|p| digits(p)) {
        bail!("--time {time:?}: give H:MM:SS (e.g. 48:00:00) or D-HH:MM:SS (e.g. 2-00:00:00)");
    }
    Ok(())
}

/// A word for bash (and for sbatch's parser of `#SBATCH` lines): as it is when it needs no quotes, as most paths and
/// options do, so that the scripts read as typed.
fn quote(word: &str) -> Result<String> {
    let plain = !word.is_empty() && word.chars().all(|c| c.is_ascii_alphanumeric() || "_./:=@%+,-".contains(c));
    if plain {
        return Ok(word.to_owned());
    }
    Ok(shlex::try_quote(word).with_context(|| format!("cannot quote {word:?} for a shell script"))?.into_owned())
}

fn join(words: &[String]) -> Result<String> {
    words.iter().map(|w| quote(w)).collect::<Result<Vec<_>>>().map(|w| w.join(" "))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The `paper` profile's plan as a reviewer's cluster would see it.
    fn paper_plan(binary: &str) -> Plan {
        let profile = Profile::load("paper").unwrap();
        let runs: Vec<(String, u64)> = profile.runs(1).unwrap().iter().map(|r| (r.key(), r.seed_index)).collect();
        Plan {
            profile: "paper".to_owned(),
            profile_arg: "paper".to_owned(),
            out: PathBuf::from("/scratch/me/runs"),
            binary: PathBuf::from(binary),
            workdir: PathBuf::from("/home/me/blurry-to-clear"),
            seeds: 1,
            only: vec![],
            device: DeviceChoice::Auto,
            data_root: Some(PathBuf::from("/data/b2c")),
            threads: None,
            figures: true,
            tasks: (0..runs.len()).collect(),
            runs,
            gpus: 1,
            options: SlurmOptions {
                partition: Some("gpu".to_owned()),
                account: Some("lab".to_owned()),
                gpus_per_run: None,
                time: Some("48:00:00".to_owned()),
                max_parallel: Some(4),
                sbatch_args: vec!["--mem=32G".to_owned()],
                dry_run: true,
            },
            submitted_by: "blurry-to-clear reproduce --profile paper --executor slurm".to_owned(),
        }
    }

    #[test]
    fn the_paper_array_has_one_task_per_run_with_the_requested_resources_and_a_safe_stop() {
        let script = array_script(&paper_plan("/opt/b2c/blurry-to-clear")).unwrap();
        for line in [
            "#SBATCH --job-name=b2c-paper",
            "#SBATCH --array=0-14%4",
            "#SBATCH --output=/scratch/me/runs/paper/slurm/%A_%a.out",
            "#SBATCH --gres=gpu:1",
            "#SBATCH --signal=B:USR1@120",
            "#SBATCH --requeue",
            "#SBATCH --chdir=/home/me/blurry-to-clear",
            "#SBATCH --partition=gpu",
            "#SBATCH --account=lab",
            "#SBATCH --time=48:00:00",
            "#SBATCH --mem=32G",
            "runs=(faces/clear faces/blurry faces/blurry_to_clear toybox_instance/clear toybox_instance/blurry \
             toybox_instance/blurry_to_clear toybox_category/clear toybox_category/blurry \
             toybox_category/blurry_to_clear in12/clear in12/blurry in12/blurry_to_clear in100/clear in100/blurry \
             in100/blurry_to_clear)",
            "seed_indices=(0 0 0 0 0 0 0 0 0 0 0 0 0 0 0)",
            "/opt/b2c/blurry-to-clear reproduce --profile paper --out /scratch/me/runs --seeds 1 --data-root \
             /data/b2c --only \"$run\" --seed-index \"$seed_index\" --no-figures &",
            "  scontrol requeue \"$SLURM_JOB_ID\"",
        ] {
            assert!(script.lines().any(|l| l == line), "no line {line:?} in\n{script}");
        }
        let syntax = Command::new("bash").args(["-n", "-c", &script]).output().unwrap();
        assert!(syntax.status.success(), "{}", String::from_utf8_lossy(&syntax.stderr));
    }

    #[test]
    fn each_task_runs_the_reproduce_of_its_own_run() {
        // With `echo` as the program, a task prints the command it would run.
        let script = array_script(&paper_plan("echo")).unwrap();
        let output = Command::new("bash").args(["-c", &script]).env("SLURM_ARRAY_TASK_ID", "4").output().unwrap();
        assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert!(stdout.contains("task 4: toybox_instance/blurry seed 0"), "{stdout}");
        assert!(
            stdout.contains(
                "reproduce --profile paper --out /scratch/me/runs --seeds 1 --data-root /data/b2c --only \
                 toybox_instance/blurry --seed-index 0 --no-figures"
            ),
            "{stdout}"
        );
    }

    /// Run task 0 of the array script with a stand-in `reproduce` that stops on SIGTERM (exit 143) and a stand-in
    /// `scontrol`, send the script `signal` once `reproduce` runs, and return its exit code and the `scontrol` calls.
    fn task_stopped_by(signal: &str) -> (Option<i32>, String) {
        let dir = tempfile::tempdir().unwrap();
        let script = |path: &Path, text: &str| {
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, text).unwrap();
            Command::new("chmod").arg("+x").arg(path).status().unwrap();
        };
        let fake = dir.path().join("reproduce");
        script(&fake, "#!/bin/bash\nsleep 60 &\ntrap 'kill $!; exit 143' TERM\ntouch \"$FAKE/started\"\nwait\n");
        script(&dir.path().join("bin/scontrol"), "#!/bin/bash\necho \"$@\" >> \"$FAKE/scontrol\"\n");
        let array = array_script(&paper_plan(&fake.display().to_string())).unwrap();
        let path = format!("{}:{}", dir.path().join("bin").display(), std::env::var("PATH").unwrap_or_default());
        let mut task = Command::new("bash")
            .args(["-c", &array])
            .env("SLURM_ARRAY_TASK_ID", "0")
            .env("SLURM_JOB_ID", "77")
            .env("FAKE", dir.path())
            .env("PATH", path)
            .stdout(std::process::Stdio::null())
            .spawn()
            .unwrap();
        while !dir.path().join("started").exists() {
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        Command::new("kill").arg(format!("-{signal}")).arg(task.id().to_string()).status().unwrap();
        let code = task.wait().unwrap().code();
        (code, std::fs::read_to_string(dir.path().join("scontrol")).unwrap_or_default())
    }

    #[test]
    fn a_task_warned_of_its_time_limit_stops_and_requeues_but_a_cancelled_one_does_not() {
        assert_eq!(task_stopped_by("USR1"), (Some(143), "requeue 77\n".to_owned()));
        assert_eq!(task_stopped_by("TERM"), (Some(143), String::new()));
    }

    #[test]
    fn the_tables_job_refuses_unfinished_runs_then_only_gathers_on_the_cpu() {
        let mut plan = paper_plan("/opt/b2c/blurry-to-clear");
        plan.only = vec!["faces".to_owned()];
        let script = tables_script(&plan).unwrap();
        let lines: Vec<&str> = script.lines().collect();
        assert!(lines.contains(&"#SBATCH --output=/scratch/me/runs/paper/slurm/tables-%j.out"), "{script}");
        assert!(!script.contains("--gres") && !script.contains("--array"), "{script}");
        assert_eq!(
            &lines[lines.len() - 2..],
            [
                "/opt/b2c/blurry-to-clear status /scratch/me/runs/paper --profile paper --seeds 1 --only faces \
                 --require-done",
                "exec /opt/b2c/blurry-to-clear reproduce --profile paper --out /scratch/me/runs --seeds 1 --device cpu \
                 --data-root /data/b2c --only faces",
            ]
        );
        assert!(lines.contains(&"set -euo pipefail"), "a failed check stops the job: {script}");
    }

    #[test]
    fn resubmitted_arrays_name_only_the_runs_not_done_and_odd_paths_are_quoted() {
        let mut plan = paper_plan("/opt/b2c/blurry-to-clear");
        plan.tasks = vec![1, 2, 3, 7, 9, 10, 11];
        plan.options.max_parallel = None;
        plan.out = PathBuf::from("/scratch/my runs");
        let script = array_script(&plan).unwrap();
        assert!(script.lines().any(|l| l == "#SBATCH --array=1-3,7,9-11"), "{script}");
        assert!(script.contains("--out '/scratch/my runs'"), "{script}");
        assert!(script.contains("#SBATCH --output='/scratch/my runs/paper/slurm/%A_%a.out'"), "{script}");
    }

    #[test]
    fn slurm_time_formats_are_accepted_and_typos_refused() {
        for ok in ["48:00:00", "2-00:00:00", "90", "30:00", "1-12"] {
            assert!(check_time(ok).is_ok(), "{ok}");
        }
        for bad in ["48h", "1:2:3:4", "", "a-1:00:00", "1::00"] {
            assert!(check_time(bad).is_err(), "{bad}");
        }
    }
}
