//! Measures of a run that need the analyses of several of its checkpoints: the Gabor-fit counts of the original's
//! two fitting runs, and the filters whose fit stays valid through training (`notebooks/figures/receptive_fields.ipynb`
//! of `cerysojj/blurry-to-clear-training`). The original fitted them for the blurry-to-clear models only.
//!
//! - `gabor_n_valid_evolution_run`: valid conv1 fits at each analysed epoch (cell 18 prints them from the fits of
//!   cells 6-14, which fitted every checkpoint 10..100);
//! - `gabor_n_valid_size_run`: valid fits at the final epoch (cells 36 and 48 fitted the epoch-100 checkpoint
//!   again);
//! - `gabor_n_valid_all_epochs_20to100`: filters valid at every stage epoch (cells 6-14 draw a grid row for each
//!   filter valid at all of epochs 20, 40, 60, 80 and 100; the profile's `stage_epochs`). No epoch.
//!
//! The original's two runs started from unseeded random points, so their counts at epoch 100 could differ (they did
//! not for Toybox category-level, 14 and 14). Here every fit is seeded, so a checkpoint has one set of fits and both
//! runs' counts are that set's count.
use std::collections::{BTreeMap, BTreeSet};

use crate::results::{RfGaborFilter, RfSize, RunKey};
use crate::vocab::{Layer, Regime, RfMeasure};

/// The cross-epoch rows of one run from the Gabor fits of its analysed checkpoints (`gabor_filters`, conv1 rows of
/// any epochs), given the profile's stage epochs and the run's final epoch. Empty for other regimes than
/// blurry-to-clear; the all-epochs count is left out when a stage epoch was not analysed, and the size-run count when
/// the final epoch was not.
pub(crate) fn gabor_counts(
    run: &RunKey,
    gabor_filters: &[RfGaborFilter],
    stage_epochs: &[u32],
    final_epoch: u32,
) -> Vec<RfSize> {
    if run.regime != Regime::BlurryToClear {
        return Vec::new();
    }
    let mut valid: BTreeMap<u32, BTreeSet<u32>> = BTreeMap::new();
    for fit in gabor_filters.iter().filter(|f| f.layer == Layer::CONV1) {
        let filters = valid.entry(fit.epoch).or_default();
        if fit.valid == 1 {
            filters.insert(fit.filter);
        }
    }
    let row = |epoch: Option<u32>, measure, count: usize| RfSize {
        run: run.clone(),
        epoch,
        layer: Layer::CONV1,
        measure,
        value: count as f64,
        source: run.source(),
    };
    let mut rows: Vec<RfSize> =
        valid.iter().map(|(&epoch, f)| row(Some(epoch), RfMeasure::GaborNValidEvolutionRun, f.len())).collect();
    if let Some(last) = valid.get(&final_epoch) {
        rows.push(row(Some(final_epoch), RfMeasure::GaborNValidSizeRun, last.len()));
    }
    let at_stages: Option<Vec<&BTreeSet<u32>>> = stage_epochs.iter().map(|e| valid.get(e)).collect();
    if let Some((first, rest)) = at_stages.as_deref().and_then(<[_]>::split_first) {
        let always = first.iter().filter(|f| rest.iter().all(|set| set.contains(f))).count();
        rows.push(row(None, RfMeasure::GaborNValidAllEpochs20to100, always));
    }
    rows
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vocab::DatasetId;

    fn key(regime: Regime) -> RunKey {
        RunKey { profile: "tiny".into(), seed: 0, dataset: DatasetId::In12, regime }
    }

    fn fit(epoch: u32, filter: u32, valid: bool) -> RfGaborFilter {
        RfGaborFilter {
            run: key(Regime::BlurryToClear),
            epoch,
            layer: Layer::CONV1,
            filter,
            gabor_size: None,
            r_squared: if valid { 0.5 } else { 0.1 },
            valid: u8::from(valid),
            amplitude: None,
            x0: None,
            y0: None,
            sigma_x: None,
            sigma_y: None,
            theta: None,
            frequency: None,
            phase: None,
            offset: None,
            source: "s".into(),
        }
    }

    fn measures(rows: &[RfSize]) -> Vec<(Option<u32>, RfMeasure, f64)> {
        rows.iter().map(|r| (r.epoch, r.measure, r.value)).collect()
    }

    #[test]
    fn counts_per_epoch_at_the_end_and_through_every_stage() {
        // Filter 0 valid at 2, 4 and 6; filter 1 at 4 and 6 only; filter 2 at 6 only; epoch 5 is not a stage.
        let fits = [
            fit(2, 0, true),
            fit(2, 1, false),
            fit(2, 2, false),
            fit(4, 0, true),
            fit(4, 1, true),
            fit(4, 2, false),
            fit(5, 0, false),
            fit(6, 0, true),
            fit(6, 1, true),
            fit(6, 2, true),
        ];
        let rows = gabor_counts(&key(Regime::BlurryToClear), &fits, &[2, 4, 6], 6);
        use RfMeasure::*;
        assert_eq!(
            measures(&rows),
            vec![
                (Some(2), GaborNValidEvolutionRun, 1.0),
                (Some(4), GaborNValidEvolutionRun, 2.0),
                (Some(5), GaborNValidEvolutionRun, 0.0),
                (Some(6), GaborNValidEvolutionRun, 3.0),
                (Some(6), GaborNValidSizeRun, 3.0),
                (None, GaborNValidAllEpochs20to100, 1.0),
            ]
        );
        // A stage epoch that was not analysed leaves the all-epochs count out; so does a missing final epoch for the
        // size run.
        let rows = gabor_counts(&key(Regime::BlurryToClear), &fits, &[2, 4, 8], 8);
        assert!(measures(&rows).iter().all(|(_, m, _)| *m == GaborNValidEvolutionRun), "{rows:?}");
        assert!(gabor_counts(&key(Regime::Clear), &fits, &[2, 4, 6], 6).is_empty());
    }
}
