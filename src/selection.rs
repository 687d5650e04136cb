//! What `reproduce` is asked to do ([`ReproduceOptions`]) and which of a profile's runs it selects (`--only`,
//! `--seeds`, `--seed-index`): shared by the local pipeline, `--preflight`, the Slurm executor and `status`, so that
//! each runs, checks, submits or reports exactly the same runs.
use std::collections::BTreeSet;
use std::path::PathBuf;

use anyhow::{bail, Context, Result};

use crate::device::DeviceChoice;
use crate::protocol::{parse_run_key, Profile, RunSpec};
use crate::stage::CodeHashes;
use crate::train::Precision;
use crate::vocab::{DatasetId, Regime};

/// What `blurry-to-clear reproduce` was asked to do.
#[derive(Clone, Debug)]
pub struct ReproduceOptions {
    pub profile: String,
    /// `dataset` or `dataset/regime` filters; empty means every run.
    pub only: Vec<String>,
    pub seeds: u64,
    /// Only the runs of this seed index (what one Slurm array task runs); `None` means every seed.
    pub seed_index: Option<u64>,
    pub device: DeviceChoice,
    pub data_root: Option<PathBuf>,
    pub out: PathBuf,
    /// libtorch's CPU threads; default: libtorch's own choice.
    pub threads: Option<i32>,
    /// Arithmetic of the training steps (`--precision`).
    pub precision: Precision,
    /// Draw the figures and write the report after the tables.
    pub figures: bool,
    /// The source hashes that key the stages (the compiled ones, except in tests).
    pub code: CodeHashes,
}

/// Which runs `--only` selects.
#[derive(Clone, Debug, Default)]
pub(crate) struct Selection {
    filters: Vec<(DatasetId, Option<Regime>)>,
}

impl Selection {
    /// Parse `--only` values (`faces` or `faces/blurry`); unknown names list the valid ones.
    pub(crate) fn parse(only: &[String]) -> Result<Selection> {
        let filters = only
            .iter()
            .map(|item| match item.contains('/') {
                true => parse_run_key(item).map(|(d, r)| (d, Some(r))),
                false => item.parse().map(|d| (d, None)),
            })
            .collect::<Result<_>>()
            .context("in --only")?;
        Ok(Selection { filters })
    }

    pub(crate) fn includes(&self, run: &RunSpec) -> bool {
        self.filters.is_empty()
            || self.filters.iter().any(|(d, r)| *d == run.dataset && r.is_none_or(|r| r == run.regime))
    }
}

/// The runs `reproduce` (and `--preflight`) would do: every run of the profile for `--seeds` seeds that `--only`
/// selects, in the profile's order, then its variants (`[variants.<name>]`) that it selects. An `--only` that
/// selects nothing is an error.
pub(crate) fn select_runs(profile: &Profile, opts: &ReproduceOptions) -> Result<Vec<RunSpec>> {
    if opts.seeds == 0 {
        bail!("--seeds must be at least 1");
    }
    if let Some(index) = opts.seed_index.filter(|i| *i >= opts.seeds) {
        bail!("--seed-index {index} names no seed: with --seeds {} they are 0 to {}", opts.seeds, opts.seeds - 1);
    }
    let selection = Selection::parse(&opts.only)?;
    let all = profile.runs(opts.seeds)?.into_iter().chain(profile.variant_runs(opts.seeds)?);
    let runs: Vec<RunSpec> =
        all.filter(|r| selection.includes(r) && opts.seed_index.is_none_or(|i| i == r.seed_index)).collect();
    if runs.is_empty() {
        bail!("--only {} selects none of profile '{}''s runs", opts.only.join(" "), profile.name);
    }
    Ok(runs)
}

/// The datasets of `runs`, each once, in the paper's order.
pub(crate) fn datasets_of(runs: &[RunSpec]) -> Vec<DatasetId> {
    runs.iter().map(|r| r.dataset).collect::<BTreeSet<_>>().into_iter().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_selects_datasets_and_runs_and_rejects_unknown_names() {
        let paper = Profile::load("paper").unwrap();
        let runs = paper.runs(1).unwrap();
        let count = |only: &[&str]| {
            let selection = Selection::parse(&only.iter().map(|s| s.to_string()).collect::<Vec<_>>()).unwrap();
            runs.iter().filter(|r| selection.includes(r)).count()
        };
        assert_eq!(count(&[]), 15);
        assert_eq!(count(&["faces"]), 3);
        assert_eq!(count(&["faces/blurry", "in12"]), 4);
        let err = format!("{:#}", Selection::parse(&["faces/fuzzy".to_owned()]).unwrap_err());
        assert!(err.contains("blurry_to_clear"), "{err}");
        let err = format!("{:#}", Selection::parse(&["mnist".to_owned()]).unwrap_err());
        assert!(err.contains("toybox_instance"), "{err}");
    }

    #[test]
    fn a_profiles_variants_are_selected_with_their_dataset_and_regime() {
        let paper = Profile::load("paper").unwrap();
        let options = |only: &[&str]| ReproduceOptions {
            profile: "paper".into(),
            only: only.iter().map(|s| s.to_string()).collect(),
            seeds: 1,
            seed_index: None,
            device: DeviceChoice::Cpu,
            data_root: None,
            out: PathBuf::from("runs"),
            threads: None,
            precision: crate::train::Precision::Fp32,
            figures: false,
            code: CodeHashes::compiled(),
        };
        let selected = |only: &[&str]| select_runs(&paper, &options(only)).unwrap();
        assert_eq!(selected(&[]).len(), 16, "15 runs and the IN12_full_blur_2 variant");
        let in12_blurry = selected(&["in12/blurry"]);
        let variants: Vec<Option<&str>> = in12_blurry.iter().map(|r| r.variant.as_deref()).collect();
        assert_eq!(variants, [None, Some("IN12_full_blur_2")]);
        assert!(selected(&["in12/clear"]).iter().all(|r| r.variant.is_none()));
    }
}
