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
    /// `dataset`, `dataset/regime` or variant-name filters ([`Selection`]); empty means every run.
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

/// Which runs `--only` selects: `faces` (a dataset: its runs and their variants), `faces/blurry` (one run, without
/// its variants) or a variant's name (`IN12_full_blur_2`: that variant alone), so that each variant can be run,
/// and submitted as a Slurm task, apart from its run.
#[derive(Clone, Debug, Default)]
pub(crate) struct Selection {
    filters: Vec<Filter>,
}

#[derive(Clone, Debug)]
enum Filter {
    Dataset(DatasetId),
    Run(DatasetId, Regime),
    Variant(String),
}

impl Selection {
    /// Parse `--only` values against `profile`; unknown names list the valid ones.
    pub(crate) fn parse(only: &[String], profile: &Profile) -> Result<Selection> {
        let filters = only
            .iter()
            .map(|item| match item.contains('/') {
                true => parse_run_key(item).map(|(d, r)| Filter::Run(d, r)),
                false if profile.variants.contains_key(item) => Ok(Filter::Variant(item.clone())),
                false => item.parse().map(Filter::Dataset).map_err(|err| match profile.variants.is_empty() {
                    true => err,
                    false => err.context(format!(
                        "nor a variant of profile '{}' ({})",
                        profile.name,
                        profile.variants.keys().cloned().collect::<Vec<_>>().join(", ")
                    )),
                }),
            })
            .collect::<Result<_>>()
            .context("in --only")?;
        Ok(Selection { filters })
    }

    pub(crate) fn includes(&self, run: &RunSpec) -> bool {
        self.filters.is_empty()
            || self.filters.iter().any(|filter| match filter {
                Filter::Dataset(d) => *d == run.dataset,
                Filter::Run(d, r) => *d == run.dataset && *r == run.regime && run.variant.is_none(),
                Filter::Variant(name) => run.variant.as_ref() == Some(name),
            })
    }
}

/// The runs `reproduce` (and `--preflight`) would do: every run of the profile for `--seeds` seeds that `--only`
/// selects, in the profile's order, then its variants (`[variants.<name>]`) that it selects ([`Selection`]). An
/// `--only` that selects nothing is an error.
pub(crate) fn select_runs(profile: &Profile, opts: &ReproduceOptions) -> Result<Vec<RunSpec>> {
    if opts.seeds == 0 {
        bail!("--seeds must be at least 1");
    }
    if let Some(index) = opts.seed_index.filter(|i| *i >= opts.seeds) {
        bail!("--seed-index {index} names no seed: with --seeds {} they are 0 to {}", opts.seeds, opts.seeds - 1);
    }
    let selection = Selection::parse(&opts.only, profile)?;
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
            let selection = Selection::parse(&only.iter().map(|s| s.to_string()).collect::<Vec<_>>(), &paper).unwrap();
            runs.iter().filter(|r| selection.includes(r)).count()
        };
        assert_eq!(count(&[]), 15);
        assert_eq!(count(&["faces"]), 3);
        assert_eq!(count(&["faces/blurry", "in12"]), 4);
        let err = format!("{:#}", Selection::parse(&["faces/fuzzy".to_owned()], &paper).unwrap_err());
        assert!(err.contains("blurry_to_clear"), "{err}");
        let err = format!("{:#}", Selection::parse(&["mnist".to_owned()], &paper).unwrap_err());
        assert!(err.contains("toybox_instance") && err.contains("IN12_full_blur_2"), "{err}");
    }

    #[test]
    fn a_profiles_variants_are_selected_with_their_dataset_or_by_name() {
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
        let variants = |only: &[&str]| -> Vec<Option<String>> {
            selected(only).into_iter().filter(|r| r.regime == Regime::Blurry).map(|r| r.variant).collect()
        };
        assert_eq!(variants(&["in12"]), [None, Some("IN12_full_blur_2".to_owned())]);
        assert_eq!(variants(&["in12/blurry"]), [None], "a run without its variants");
        assert_eq!(variants(&["IN12_full_blur_2"]), [Some("IN12_full_blur_2".to_owned())], "a variant alone");
        assert!(selected(&["in12/clear"]).iter().all(|r| r.variant.is_none()));
    }
}
