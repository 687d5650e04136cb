//! `plan`: one resolved run as CSV (epoch, iteration, sigma, lr), one row per training iteration.
use anyhow::Result;

use blurry_to_clear::protocol::Profile;
use blurry_to_clear::schedule::{lr_at, sigma_at};
use blurry_to_clear::vocab::{DatasetId, Regime};

/// Print the run of `dataset` and `regime` under `profile` (with `steps` iterations per epoch when given).
pub fn run(profile: &str, dataset: &str, regime: &str, steps: Option<u64>) -> Result<()> {
    let dataset: DatasetId = dataset.parse()?;
    let regime: Regime = regime.parse()?;
    let run = Profile::load(profile)?.run(dataset, regime, 0, steps)?;
    let mut csv = csv::Writer::from_writer(std::io::stdout().lock());
    csv.write_record(["epoch", "iteration", "sigma", "lr"])?;
    for epoch in 1..=run.epochs {
        let sigma = sigma_at(&run.train_sigmas, run.epochs, epoch);
        for step in 0..run.steps_per_epoch {
            let iteration = u64::from(epoch - 1) * run.steps_per_epoch + step;
            let lr = lr_at(&run.lr_schedule, run.epochs, run.steps_per_epoch, run.lr, iteration);
            csv.write_record([epoch.to_string(), iteration.to_string(), sigma.to_string(), format!("{lr:e}")])?;
        }
    }
    csv.flush()?;
    Ok(())
}
