//! `status RUN_DIR`: one line per run and seed, with its Slurm job where the runs were submitted there.
use std::fmt::Write as _;
use std::path::Path;

use anyhow::{bail, Result};

use blurry_to_clear::slurm::{job_states, RecordedJobs};
use blurry_to_clear::status;
use blurry_to_clear::status::{run_id, Report};

/// Print where every run stands; with `require_done`, fail unless every run is done.
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
    let profile = status::profile_of(profile_dir, profile)?;
    let report = Report::of(profile_dir, &profile, seeds, only)?;
    print!("{}", text(&report, &RecordedJobs::load(profile_dir)?)?);
    let not_done = report.not_done();
    if require_done && not_done > 0 {
        bail!(
            "{not_done} run(s) of {} are not done (listed above); see their run.log and the Slurm logs in {}",
            profile.name,
            profile_dir.join("slurm").display()
        );
    }
    Ok(())
}

/// The report as text, with each run's Slurm job (and the job's state, where `sacct` or `squeue` knows it).
fn text(report: &Report, jobs: &RecordedJobs) -> Result<String> {
    let job_of = |run| jobs.runs.get(&run_id(run));
    let states = job_states(&report.runs.iter().filter_map(|(run, _)| job_of(run)).collect::<Vec<_>>());
    let width = report.runs.iter().map(|(run, _)| run.key().len()).max().unwrap_or(0);
    let mut text = String::new();
    for (run, state) in &report.runs {
        let job = match job_of(run) {
            Some(job) => match states.get(job) {
                Some(state) => format!("  [Slurm {job}: {state}]"),
                None => format!("  [Slurm {job}]"),
            },
            None => String::new(),
        };
        writeln!(text, "{:width$}  seed {}  {}{job}", run.key(), run.seed_index, state.describe())?;
    }
    let summary: Vec<String> = report.counts().iter().map(|(kind, n)| format!("{n} {kind}")).collect();
    writeln!(text, "{}: {} runs: {}", report.profile, report.runs.len(), summary.join(", "))?;
    let cross_run = report.cross_run;
    writeln!(
        text,
        "cross-run stages: {}, {}",
        if cross_run.gathered { "tables gathered" } else { "tables not gathered" },
        if cross_run.drawn { "figures drawn" } else { "figures not drawn" }
    )?;
    if let Some(tables) = &jobs.tables {
        let state = job_states(&[tables]).remove(tables).map(|s| format!(": {s}")).unwrap_or_default();
        writeln!(text, "Slurm tables job {tables}{state}")?;
    }
    Ok(text)
}

#[cfg(test)]
mod tests {
    use super::*;
    use blurry_to_clear::protocol::Profile;
    use blurry_to_clear::status::{CrossRun, State};
    use blurry_to_clear::vocab::{DatasetId, Regime};

    #[test]
    fn the_report_lists_each_run_then_the_tally_and_the_cross_run_stages() {
        let profile = Profile::load("tiny").unwrap();
        let run = |dataset, regime| profile.run(dataset, regime, 0, None).unwrap();
        let report = Report {
            profile: "tiny".into(),
            runs: vec![
                (run(DatasetId::Faces, Regime::Clear), State::Done),
                (run(DatasetId::Faces, Regime::BlurryToClear), State::Failed { error: "loss is NaN".into() }),
                (run(DatasetId::In12, Regime::Clear), State::NotStarted),
            ],
            cross_run: CrossRun { gathered: true, drawn: false },
        };
        let mut jobs = RecordedJobs::default();
        jobs.runs.insert("in12/clear/seed-0".into(), "45_9".into());
        assert_eq!(
            text(&report, &jobs).unwrap(),
            "faces/clear            seed 0  done\n\
             faces/blurry_to_clear  seed 0  failed: loss is NaN\n\
             in12/clear             seed 0  not started  [Slurm 45_9]\n\
             tiny: 3 runs: 1 done, 1 failed, 1 not started\n\
             cross-run stages: tables gathered, figures not drawn\n"
        );
    }
}
