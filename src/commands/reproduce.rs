//! `reproduce`: the local pipeline, `--preflight` and `--executor slurm`, and what each prints.
use anyhow::{bail, Result};

use blurry_to_clear::preflight::Finding;
use blurry_to_clear::selection::ReproduceOptions;
use blurry_to_clear::slurm::{SlurmOptions, Submitted};
use blurry_to_clear::{interrupt, pipeline, protocol, slurm};

/// The `--profile` of `reproduce`, or an error listing the profiles there are.
pub fn named_profile(profile: Option<String>) -> Result<String> {
    let Some(profile) = profile else {
        let dir = protocol::protocol_dir()?;
        bail!(
            "reproduce needs --profile: one of {} (the files of {}), or the path of a profile .toml file",
            protocol::profile_names().join(", "),
            dir.display()
        );
    };
    Ok(profile)
}

/// Slurm options make no sense for a local run: refuse them rather than ignore them.
pub fn refuse_slurm_options(slurm: &SlurmOptions) -> Result<()> {
    if *slurm != SlurmOptions::default() {
        bail!("--partition, --account, --gpus-per-run, --time, --max-parallel, --sbatch-arg and --dry-run need --executor slurm");
    }
    Ok(())
}

/// Run the profile here; SIGINT and SIGTERM stop it at a safe point.
pub fn local(options: &ReproduceOptions) -> Result<()> {
    interrupt::install()?;
    pipeline::reproduce(options)
}

/// `--preflight`: every finding as it is made, then every problem; fails when there is one.
pub fn preflight(options: &ReproduceOptions) -> Result<()> {
    let problems = blurry_to_clear::preflight::preflight(options, &mut |finding| println!("{}", line(&finding)))?;
    if !problems.is_empty() {
        println!("preflight found {} problem(s):", problems.len());
        for problem in &problems {
            println!("  problem: {problem}");
        }
        bail!("preflight failed: {} problem(s), each listed above; fix them and run it again", problems.len());
    }
    println!("preflight passed");
    Ok(())
}

/// A preflight finding as one line of its report.
fn line(finding: &Finding) -> String {
    match finding {
        Finding::Start { profile, runs, device } => format!("preflight of profile {profile} ({runs} runs) on {device}"),
        Finding::Warning(warning) => format!("  warning: {warning}"),
        Finding::DataVerified { dataset, root } => format!("  data   {dataset}: {} verified", root.display()),
        Finding::StandIn { dataset } => format!("  data   {dataset}: embedded stand-in"),
        Finding::CachesBuilt { dataset } => format!("  cache  {dataset}: train, val and test built"),
        Finding::Run { name, step_s, eval_batch_s, hours } => {
            format!("  run    {name:<32} step {step_s:>7.3} s, eval batch {eval_batch_s:>7.3} s (medians): about {hours:>6.1} h")
        }
        Finding::Disk { needed, free, out } => format!(
            "  disk   {:.1} GB needed for checkpoints, {:.1} GB free under {}",
            *needed as f64 / 1e9,
            *free as f64 / 1e9,
            out.display()
        ),
        Finding::Time { hours } => format!(
            "  time   about {hours:.1} h for training and evaluation on this device (analyses extra), from the runs above"
        ),
        Finding::GpuTime { hours, tflop_per_s, slowdown } => format!(
            "  time   about {hours:.1} h of it would be training on one GPU at an assumed {tflop_per_s:.0} TFLOP/s: this \
             CPU is about {slowdown:.0}x slower"
        ),
    }
}

/// `--executor slurm`: submit the runs that are not done (or print the scripts), and say how to follow them.
pub fn submit(options: &ReproduceOptions, slurm: &SlurmOptions) -> Result<()> {
    let submission = slurm::submit(options, slurm)?;
    for (run, seed, holder) in &submission.running {
        println!("{run} seed {seed}: running ({holder}); not submitted");
    }
    match submission.outcome {
        Submitted::Nothing { profile } => {
            println!("nothing to submit: every run of {profile} is done and its tables are gathered")
        }
        Submitted::DryRun { array, tables } => {
            if let Some((path, script)) = array {
                println!("# {}\n{script}", path.display());
            }
            println!("# {} (submitted with --dependency=afterany:<array job>)\n{}", tables.0.display(), tables.1);
        }
        Submitted::Jobs(jobs) => {
            match &jobs.array {
                Some(id) => println!(
                    "submitted {} run(s) of {} as job array {id}{}, and job {} for the tables, figures and report \
                     after them",
                    jobs.tasks,
                    jobs.profile,
                    jobs.max_parallel.map(|k| format!(" (at most {k} at once)")).unwrap_or_default(),
                    jobs.tables
                ),
                None => println!("every run of {} is done; submitted job {} for the tables", jobs.profile, jobs.tables),
            }
            let ids = jobs.latest.join(",");
            println!(
                "follow them:\n  squeue -j {ids}\n  {} status {}",
                jobs.binary.display(),
                jobs.profile_dir.display()
            );
            println!("logs: {}/", jobs.log_dir.display());
            println!("submit again (the same command) to resume: only the runs not done are submitted");
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slurm_options_without_the_slurm_executor_are_refused() {
        let options = SlurmOptions { max_parallel: Some(2), ..Default::default() };
        assert!(refuse_slurm_options(&options).is_err());
        assert!(refuse_slurm_options(&SlurmOptions::default()).is_ok());
    }

    #[test]
    fn preflight_findings_read_as_before() {
        let run = Finding::Run { name: "faces/clear".into(), step_s: 0.5, eval_batch_s: 1.25, hours: 12.0 };
        assert_eq!(
            line(&run),
            "  run    faces/clear                      step   0.500 s, eval batch   1.250 s (medians): about   12.0 h"
        );
        let gpu = Finding::GpuTime { hours: 2.0, tflop_per_s: 50.0, slowdown: 300.0 };
        assert_eq!(
            line(&gpu),
            "  time   about 2.0 h of it would be training on one GPU at an assumed 50 TFLOP/s: this CPU is about 300x \
             slower"
        );
    }
}
