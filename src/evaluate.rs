//! Accuracy and loss of a model on a split across test blur levels (the original's
//! `notebooks/figures/robustness_results.ipynb` and `robustness_across_stages.ipynb` evaluation loops).
//!
//! Each batch is normalised once and then blurred at every sigma in turn, so a split is read once however many
//! sigmas are asked for. As in the original, the blur is applied to the normalised images. With `drop_last` only
//! full batches are evaluated, as the original's `drop_last=True` test loaders did (see the reference README,
//! "Test images evaluated").
use anyhow::{bail, Result};
use tch::{Device, Kind, Tensor};

use crate::augment::{self, AugmentSpec};
use crate::blur;
use crate::data::Split;
use crate::model::AlexNet;
use crate::results::{AccuracyByStage, AccuracyVsBlur, RunKey};

/// Accuracy and mean cross-entropy of a model on one split at one sigma.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Score {
    pub accuracy_pct: f64,
    /// Mean cross-entropy in nats.
    pub loss: f64,
    /// Images evaluated.
    pub images: i64,
}

/// How to read a split for evaluation.
#[derive(Clone, Copy, Debug)]
pub struct EvalLoader {
    pub batch_size: i64,
    pub drop_last: bool,
    pub device: Device,
}

impl EvalLoader {
    /// Batch boundaries over `n` images: full batches, plus the remainder unless `drop_last`.
    pub fn batches(&self, n: i64) -> Vec<(i64, i64)> {
        let mut out = Vec::new();
        let mut start = 0;
        while start < n {
            let len = self.batch_size.min(n - start);
            if len < self.batch_size && self.drop_last {
                break;
            }
            out.push((start, len));
            start += len;
        }
        out
    }
}

/// Score `model` on `split` at each of `sigmas_px` (pixels of the split's images), in the order given.
pub fn scores(
    model: &AlexNet,
    split: &Split,
    sigmas_px: &[f64],
    augment_spec: &AugmentSpec,
    loader: &EvalLoader,
) -> Result<Vec<Score>> {
    let n = split.labels.size()[0];
    let batches = loader.batches(n);
    if batches.is_empty() {
        bail!("a split of {n} images holds no full batch of {} to evaluate", loader.batch_size);
    }
    // Sums stay on the device until the end, so that the host never waits for the device between batches.
    let zeros = || Tensor::zeros([sigmas_px.len() as i64], (Kind::Double, loader.device));
    let (correct, loss_sum) = (zeros(), zeros());
    let mut seen = 0i64;
    tch::no_grad(|| -> Result<()> {
        for (start, len) in batches {
            crate::interrupt::check()?;
            let images = split.images.narrow(0, start, len).to_device(loader.device);
            let labels = split.labels.narrow(0, start, len).to_device(loader.device);
            let x = augment::test_batch(&images, augment_spec)?;
            for (i, sigma) in sigmas_px.iter().enumerate() {
                let logits = model.forward(&blur::blur_uniform(&x, *sigma)?);
                let hits = logits.argmax(1, false).eq_tensor(&labels).sum(Kind::Double);
                let loss = logits.cross_entropy_loss::<Tensor>(&labels, None, tch::Reduction::Sum, -100, 0.0);
                let _ = correct.get(i as i64).g_add_(&hits);
                let _ = loss_sum.get(i as i64).g_add_(&loss.to_kind(Kind::Double));
            }
            seen += len;
        }
        Ok(())
    })?;
    let correct = Vec::<f64>::try_from(correct.to_device(Device::Cpu))?;
    let loss_sum = Vec::<f64>::try_from(loss_sum.to_device(Device::Cpu))?;
    Ok(correct
        .iter()
        .zip(&loss_sum)
        .map(|(c, l)| Score { accuracy_pct: 100.0 * c / seen as f64, loss: l / seen as f64, images: seen })
        .collect())
}

/// What the evaluate stage measures of a run: the final model at every test sigma (robustness_results), each stage
/// checkpoint at the stage sigmas (robustness_across_stages). Sigmas in pixels of the 224-px protocol.
pub struct EvaluationPlan<'a> {
    pub final_epoch: u32,
    pub test_sigmas: &'a [f64],
    pub stage_epochs: &'a [u32],
    pub stage_test_sigmas: &'a [f64],
    /// Pixels of the run's images per pixel of the 224-px protocol.
    pub sigma_scale: f64,
}

/// The `accuracy_vs_blur` and `accuracy_by_stage` rows of `run`, with `model_at(epoch)` loading a checkpoint.
pub fn evaluate_run(
    run: &RunKey,
    plan: &EvaluationPlan,
    mut model_at: impl FnMut(u32) -> Result<AlexNet>,
    test: &Split,
    augment_spec: &AugmentSpec,
    loader: &EvalLoader,
) -> Result<(Vec<AccuracyVsBlur>, Vec<AccuracyByStage>)> {
    let mut at = |epoch: u32, sigmas: &[f64]| -> Result<Vec<(f64, Score)>> {
        let px: Vec<f64> = sigmas.iter().map(|s| s * plan.sigma_scale).collect();
        let scores = scores(&model_at(epoch)?, test, &px, augment_spec, loader)?;
        Ok(sigmas.iter().copied().zip(scores).collect())
    };
    let final_rows = at(plan.final_epoch, plan.test_sigmas)?
        .into_iter()
        .map(|(test_sigma, score)| AccuracyVsBlur {
            run: run.clone(),
            test_sigma,
            accuracy_pct: score.accuracy_pct,
            source: run.source(),
        })
        .collect();
    let mut stage_rows = Vec::new();
    for &epoch in plan.stage_epochs {
        stage_rows.extend(at(epoch, plan.stage_test_sigmas)?.into_iter().map(|(test_sigma, score)| AccuracyByStage {
            run: run.clone(),
            epoch,
            test_sigma,
            accuracy_pct: score.accuracy_pct,
            source: run.source(),
        }));
    }
    Ok((final_rows, stage_rows))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batches_follow_drop_last() {
        let keep = EvalLoader { batch_size: 256, drop_last: false, device: Device::Cpu };
        assert_eq!(keep.batches(600), vec![(0, 256), (256, 256), (512, 88)]);
        let drop = EvalLoader { drop_last: true, ..keep };
        assert_eq!(drop.batches(600), vec![(0, 256), (256, 256)]);
        // The original's faces test split: 2936 images, 2816 evaluated.
        assert_eq!(drop.batches(2936).iter().map(|b| b.1).sum::<i64>(), 2816);
    }
}
