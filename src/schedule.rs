//! Schedules as pure functions: the training blur of each epoch, and the learning rate of each iteration.
//!
//! The original (`cerysojj/blurry-to-clear-training`, `notebooks/model_training/*.ipynb`) steps a PyTorch
//! `SequentialLR([LinearLR(0.01 -> 1 over 2 epochs), CosineAnnealingLR(T_max = epochs - 2)], milestones=[2*steps+1])`
//! once per batch. The milestone sits one step after the warm-up ends, so iterations `2*steps` and `2*steps+1` both
//! run at the base rate and the cosine starts one step late; [`lr_at`] reproduces that (checked against PyTorch
//! 2.11 in `tests/fixtures/lr/`). The original's irregular runs (resumed with a new scheduler, a frozen rate, no
//! schedule at all) are sequences of [`LrSegment`]s in the protocol, not special cases here.
use std::f64::consts::PI;

use anyhow::{bail, Result};
use serde::{Deserialize, Serialize};

/// Start factor of the original's linear warm-up (`LinearLR(start_factor=0.01)`).
pub(crate) const WARMUP_START_FACTOR: f64 = 0.01;

/// How one segment of a run sets the learning rate.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LrKind {
    /// The original's recipe: linear warm-up from 1% over `warmup_epochs`, then cosine to 0 (PyTorch's milestone
    /// quirk included).
    WarmupCosine,
    /// `CosineAnnealingLR` to 0 over `over_epochs`, stepped per iteration, no warm-up.
    Cosine,
    /// A constant rate (`lr`, or the run's base rate).
    Constant,
    /// Keep the rate the optimiser held when the previous segment ended (a resumed run whose scheduler was never
    /// stepped again).
    Hold,
}

fn one() -> u32 {
    1
}

fn two() -> u32 {
    2
}

fn is_one(value: &u32) -> bool {
    *value == 1
}

/// Most optimiser updates a batch may get: the original's worst case is 2; more is taken for a typo.
pub(crate) const MAX_OPTIMISER_STEPS_PER_BATCH: u32 = 4;

/// One piece of a run's learning-rate schedule, governing epochs `from_epoch..` up to the next segment.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LrSegment {
    /// First epoch (counting from 1) that this segment governs. The first segment starts at 1.
    #[serde(default = "one")]
    pub from_epoch: u32,
    pub kind: LrKind,
    /// Length in epochs of the schedule the segment's scheduler was built for; default: the run's epochs.
    #[serde(default)]
    pub over_epochs: Option<u32>,
    /// Epochs of steps the scheduler was fast-forwarded through before the segment's first iteration (a resumed run
    /// that replayed `scheduler.step()`).
    #[serde(default)]
    pub fast_forward_epochs: u32,
    /// `constant` only: the rate; default the run's base rate.
    #[serde(default)]
    pub lr: Option<f64>,
    /// `warmup_cosine` only: the warm-up multiplies the rate carried over from the previous segment instead of the
    /// base rate. This is PyTorch's behaviour when the optimiser's state (and with it a near-zero rate) is loaded
    /// after the schedulers are built: `LinearLR`'s chained updates scale whatever rate the optimiser holds.
    #[serde(default)]
    pub warmup_from_carried: bool,
    /// `warmup_cosine` only: warm-up length in epochs (the original: 2).
    #[serde(default = "two")]
    pub warmup_epochs: u32,
    /// Adam updates per batch during this segment, each by its own Adam state from the same gradients and at the
    /// same rate (default 1). The original's ImageNet-100 blurry-to-clear run took 2 in epochs 1-50: a second
    /// `torch.optim.Adam` was built on the same parameters, with a scheduler identical to the first's (see
    /// [`crate::optim::AdamSet`]). Not written when 1, so that the runs without it keep their stage hashes.
    #[serde(default = "one", skip_serializing_if = "is_one")]
    pub optimiser_steps_per_batch: u32,
}

/// Check that `segments` form a schedule for a run of `epochs` epochs.
pub(crate) fn check_segments(segments: &[LrSegment], epochs: u32) -> Result<()> {
    let Some(first) = segments.first() else { bail!("lr_schedule is empty") };
    if first.from_epoch != 1 {
        bail!("the first lr_schedule segment must start at epoch 1, not {}", first.from_epoch);
    }
    for pair in segments.windows(2) {
        if pair[1].from_epoch <= pair[0].from_epoch {
            bail!(
                "lr_schedule segments must start at increasing epochs ({} after {})",
                pair[1].from_epoch,
                pair[0].from_epoch
            );
        }
    }
    for (index, segment) in segments.iter().enumerate() {
        if segment.from_epoch > epochs {
            bail!("segment starting at epoch {} lies beyond the run's {epochs} epochs", segment.from_epoch);
        }
        let carries = segment.kind == LrKind::Hold || segment.warmup_from_carried;
        if carries && index == 0 {
            bail!("the first lr_schedule segment has no rate to carry over ('hold' or warmup_from_carried)");
        }
        if segment.warmup_from_carried && segment.kind != LrKind::WarmupCosine {
            bail!("warmup_from_carried applies to 'warmup_cosine' segments only");
        }
        if segment.lr.is_some() && segment.kind != LrKind::Constant {
            bail!("a segment's own 'lr' applies to 'constant' segments only; set the run's lr instead");
        }
        let over = segment.over_epochs.unwrap_or(epochs);
        if segment.kind == LrKind::WarmupCosine && over <= segment.warmup_epochs {
            bail!(
                "a warmup_cosine segment over {over} epochs leaves no room after {} warm-up epochs",
                segment.warmup_epochs
            );
        }
        if segment.kind == LrKind::Cosine && over == 0 {
            bail!("a cosine segment needs over_epochs > 0");
        }
        if !(1..=MAX_OPTIMISER_STEPS_PER_BATCH).contains(&segment.optimiser_steps_per_batch) {
            bail!(
                "optimiser_steps_per_batch = {} is outside 1..={MAX_OPTIMISER_STEPS_PER_BATCH} (the original: 1, and 2 \
                 in the first 50 epochs of ImageNet-100 blurry-to-clear)",
                segment.optimiser_steps_per_batch
            );
        }
    }
    Ok(())
}

/// Adam updates per batch in `epoch` (counting from 1): the `optimiser_steps_per_batch` of the segment governing it.
pub(crate) fn optimiser_steps_at(segments: &[LrSegment], epoch: u32) -> u32 {
    segments.iter().rev().find(|s| s.from_epoch <= epoch).map_or(1, |s| s.optimiser_steps_per_batch)
}

/// Learning rate used by the optimiser step of global iteration `iteration` (counting from 0) of a run with
/// `steps_per_epoch` iterations per epoch and base rate `base_lr`. `segments` must pass [`check_segments`].
pub fn lr_at(segments: &[LrSegment], epochs: u32, steps_per_epoch: u64, base_lr: f64, iteration: u64) -> f64 {
    let epoch = iteration / steps_per_epoch + 1;
    let index = segments.iter().rposition(|s| u64::from(s.from_epoch) <= epoch).unwrap_or(0);
    segment_lr(segments, index, epochs, steps_per_epoch, base_lr, iteration)
}

fn segment_lr(segments: &[LrSegment], index: usize, epochs: u32, steps: u64, base_lr: f64, iteration: u64) -> f64 {
    let segment = &segments[index];
    let start = u64::from(segment.from_epoch - 1) * steps;
    // The scheduler's own step count at this iteration.
    let k = (iteration - start + u64::from(segment.fast_forward_epochs) * steps) as f64;
    let carried = || segment_lr(segments, index - 1, epochs, steps, base_lr, start);
    let over = f64::from(segment.over_epochs.unwrap_or(epochs)) * steps as f64;
    match segment.kind {
        LrKind::Constant => segment.lr.unwrap_or(base_lr),
        LrKind::Hold => carried(),
        LrKind::Cosine => base_lr * (1.0 + (PI * k / over).cos()) / 2.0,
        LrKind::WarmupCosine => {
            let warmup = f64::from(segment.warmup_epochs) * steps as f64;
            if k <= warmup {
                let factor = WARMUP_START_FACTOR + (1.0 - WARMUP_START_FACTOR) * k / warmup;
                if segment.warmup_from_carried {
                    carried() * factor / WARMUP_START_FACTOR
                } else {
                    base_lr * factor
                }
            } else {
                // The cosine restarts at the milestone 2*steps+1, one step after the warm-up's last value.
                let t_max = over - warmup;
                base_lr * (1.0 + (PI * (k - warmup - 1.0) / t_max).cos()) / 2.0
            }
        }
    }
}

/// Training sigma (224-px pixels) of `epoch` (counting from 1): `train_sigmas` over equal stages of `epochs`.
/// With 100 epochs and 8, 4, 2, 1, 0: epochs 1-20 at 8, 21-40 at 4, and so on. When `epochs` is not a multiple
/// of the stage count, earlier stages are the shorter ones.
pub fn sigma_at(train_sigmas: &[f64], epochs: u32, epoch: u32) -> f64 {
    let stages = train_sigmas.len() as u64;
    let stage = (u64::from(epoch.clamp(1, epochs)) - 1) * stages / u64::from(epochs);
    train_sigmas[stage as usize]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn warmup_cosine() -> LrSegment {
        LrSegment {
            from_epoch: 1,
            kind: LrKind::WarmupCosine,
            over_epochs: None,
            fast_forward_epochs: 0,
            lr: None,
            warmup_from_carried: false,
            warmup_epochs: 2,
            optimiser_steps_per_batch: 1,
        }
    }

    fn assert_rel(actual: f64, expected: f64) {
        let rel = ((actual - expected) / expected).abs();
        assert!(rel <= 1e-6, "lr {actual:e} vs PyTorch {expected:e} (relative error {rel:e})");
    }

    #[test]
    fn warmup_cosine_matches_pytorch_at_the_boundaries() {
        // PyTorch 2.11, faces: 91 steps per epoch, 100 epochs, base 1e-3 (scripts/torch_lr_reference.py).
        let s = [warmup_cosine()];
        let lr = |i| lr_at(&s, 100, 91, 1e-3, i);
        assert_rel(lr(0), 1e-05);
        assert_rel(lr(181), 0.0009945604395604384);
        assert_rel(lr(182), 0.000999999999999999);
        assert_rel(lr(183), 0.001);
        assert_rel(lr(184), 0.0009999999689754985);
        assert_rel(lr(9099), 1.2409800259627313e-10);
    }

    #[test]
    fn blurry_to_clear_sigmas_change_at_stage_boundaries() {
        let sigmas = [8.0, 4.0, 2.0, 1.0, 0.0];
        let at = |e| sigma_at(&sigmas, 100, e);
        assert_eq!(
            [at(1), at(20), at(21), at(40), at(41), at(60), at(61), at(80), at(81), at(100)],
            [8.0, 8.0, 4.0, 4.0, 2.0, 2.0, 1.0, 1.0, 0.0, 0.0]
        );
        assert_eq!(sigma_at(&[0.0], 100, 57), 0.0);
        assert_eq!(sigma_at(&[8.0], 100, 100), 8.0);
        // Ten epochs: two per stage.
        let ten: Vec<f64> = (1..=10).map(|e| sigma_at(&sigmas, 10, e)).collect();
        assert_eq!(ten, vec![8.0, 8.0, 4.0, 4.0, 2.0, 2.0, 1.0, 1.0, 0.0, 0.0]);
    }

    #[test]
    fn inconsistent_schedules_are_rejected() {
        let mut hold_first = warmup_cosine();
        hold_first.kind = LrKind::Hold;
        assert!(check_segments(&[hold_first], 100).is_err());
        assert!(check_segments(&[], 100).is_err());
        let mut late = warmup_cosine();
        late.from_epoch = 3;
        assert!(check_segments(&[late], 100).is_err());
        let mut short = warmup_cosine();
        short.over_epochs = Some(2);
        assert!(check_segments(&[short], 100).is_err());
        assert!(check_segments(&[warmup_cosine()], 100).is_ok());
        let mut none = warmup_cosine();
        none.optimiser_steps_per_batch = 0;
        assert!(check_segments(&[none], 100).is_err());
    }
}
