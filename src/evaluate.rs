//! Accuracy and loss of a model on a split across test blur levels (the original's
//! `notebooks/figures/robustness_results.ipynb` and `robustness_across_stages.ipynb` evaluation loops).
//!
//! Each batch is normalised once and then blurred at every sigma in turn, so a split is read once however many
//! sigmas are asked for. As in the original, the blur is applied to the normalised images. With `drop_last` only
//! full batches are evaluated, as the original's `drop_last=True` test loaders did (see the reference README,
//! "Test images evaluated").
use std::collections::BTreeMap;

use anyhow::{bail, Result};
use tch::{Device, Kind, Tensor};

use crate::augment::{self, AugmentSpec};
use crate::blur;
use crate::data::Split;
use crate::model::AlexNet;
use crate::results::{AccuracyByStage, AccuracyVsBlur, RunKey, TestPredictions};

/// Accuracy and mean cross-entropy of a model on one split at one sigma, and which images it got right.
#[derive(Clone, Debug, PartialEq)]
pub struct Score {
    /// The test sigma in pixels of the 224-px protocol.
    pub test_sigma: f64,
    pub accuracy_pct: f64,
    /// Mean cross-entropy in nats.
    pub loss: f64,
    /// Images evaluated.
    pub images: i64,
    /// Per evaluated image, in split order: whether the model's top class was the label.
    pub correct: Vec<bool>,
}

impl Score {
    /// The accuracy's 95 % Wilson interval, in percent.
    pub(crate) fn interval_pct(&self) -> (f64, f64) {
        let hits = self.correct.iter().filter(|c| **c).count() as u64;
        let (lo, hi) = crate::stats::wilson(hits, self.images as u64);
        (100.0 * lo, 100.0 * hi)
    }
}

/// Pixels per forward pass on the CPU: 32 images at 224 px. AlexNet's no-grad forward runs about a third faster
/// on 2 cores in chunks of 32 images at 224 px than in the protocol's evaluation batches of 256 (measured: 140 against
/// 104 images/s), as a chunk's activations stay in cache; at 64 px a batch of 200 is one chunk. The loader's batches,
/// and so `drop_last`, stay the protocol's; each image's logits come from the same layers either way.
const CPU_FORWARD_PIXELS: i64 = 32 * 224 * 224;

/// `model.forward(x)`, on the CPU in chunks of at most [`CPU_FORWARD_PIXELS`] (at least one image each).
fn forward_in_chunks(model: &AlexNet, x: &Tensor) -> Tensor {
    let size = x.size();
    let chunk = (CPU_FORWARD_PIXELS / (size[2] * size[3]).max(1)).max(1);
    if x.device() != Device::Cpu || size[0] <= chunk {
        return model.forward(x);
    }
    Tensor::cat(&x.split(chunk, 0).iter().map(|c| model.forward(c)).collect::<Vec<_>>(), 0)
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
    pub(crate) fn batches(&self, n: i64) -> Vec<(i64, i64)> {
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

/// Score `model` on `split` at each of `test_sigmas` (pixels of the 224-px protocol, applied as `sigma_scale` times
/// as many pixels of the split's images), in the order given.
pub fn scores(
    model: &AlexNet,
    split: &Split,
    test_sigmas: &[f64],
    sigma_scale: f64,
    augment_spec: &AugmentSpec,
    loader: &EvalLoader,
) -> Result<Vec<Score>> {
    let n = split.labels.size()[0];
    let batches = loader.batches(n);
    if batches.is_empty() {
        bail!("a split of {n} images holds no full batch of {} to evaluate", loader.batch_size);
    }
    // Everything stays on the device until the end, so that the host never waits for the device between batches.
    let loss_sum = Tensor::zeros([test_sigmas.len() as i64], (Kind::Double, loader.device));
    let mut hits: Vec<Vec<Tensor>> = test_sigmas.iter().map(|_| Vec::with_capacity(batches.len())).collect();
    let mut seen = 0i64;
    tch::no_grad(|| -> Result<()> {
        for (start, len) in batches {
            crate::interrupt::check()?;
            let images = split.images.narrow(0, start, len).to_device(loader.device);
            let labels = split.labels.narrow(0, start, len).to_device(loader.device);
            let x = augment::test_batch(&images, augment_spec)?;
            for (i, sigma) in test_sigmas.iter().enumerate() {
                let logits = forward_in_chunks(model, &blur::blur_uniform(&x, sigma * sigma_scale)?);
                hits[i].push(logits.argmax(1, false).eq_tensor(&labels));
                let loss = logits.cross_entropy_loss::<Tensor>(&labels, None, tch::Reduction::Sum, -100, 0.0);
                let _ = loss_sum.get(i as i64).g_add_(&loss.to_kind(Kind::Double));
            }
            seen += len;
        }
        Ok(())
    })?;
    let loss_sum = Vec::<f64>::try_from(loss_sum.to_device(Device::Cpu))?;
    test_sigmas
        .iter()
        .zip(hits)
        .zip(&loss_sum)
        .map(|((&test_sigma, batches), loss)| {
            let correct = Vec::<bool>::try_from(Tensor::cat(&batches, 0).to_device(Device::Cpu))?;
            let right = correct.iter().filter(|c| **c).count();
            Ok(Score {
                test_sigma,
                accuracy_pct: 100.0 * right as f64 / seen as f64,
                loss: loss / seen as f64,
                images: seen,
                correct,
            })
        })
        .collect()
}

/// What the evaluate stage measures of a run: the final model at every test sigma (robustness_results), each stage
/// checkpoint at the stage sigmas (robustness_across_stages). Sigmas in pixels of the 224-px protocol.
pub(crate) struct EvaluationPlan<'a> {
    pub final_epoch: u32,
    pub test_sigmas: &'a [f64],
    pub stage_epochs: &'a [u32],
    pub stage_test_sigmas: &'a [f64],
    /// Pixels of the run's images per pixel of the 224-px protocol.
    pub sigma_scale: f64,
}

/// What the evaluate stage writes of a run.
pub(crate) struct RunEvaluation {
    pub accuracy_vs_blur: Vec<AccuracyVsBlur>,
    pub accuracy_by_stage: Vec<AccuracyByStage>,
    /// Per-image correctness of every checkpoint and sigma evaluated, once each.
    pub predictions: Vec<TestPredictions>,
}

impl RunEvaluation {
    /// This evaluation of the final model with the stage rows of `stages` (an evaluation of the same run on another
    /// image order); per-image records of a checkpoint and sigma scored in both are kept from this one.
    pub(crate) fn with_stages_of(mut self, stages: RunEvaluation) -> RunEvaluation {
        self.accuracy_by_stage = stages.accuracy_by_stage;
        let scored: std::collections::BTreeSet<(u32, u64)> =
            self.predictions.iter().map(|p| (p.epoch, p.test_sigma.to_bits())).collect();
        self.predictions
            .extend(stages.predictions.into_iter().filter(|p| !scored.contains(&(p.epoch, p.test_sigma.to_bits()))));
        self.predictions.sort_by(|a, b| (a.epoch, a.test_sigma).partial_cmp(&(b.epoch, b.test_sigma)).unwrap());
        self
    }
}

/// Evaluate `run`, with `model_at(epoch)` loading a checkpoint: each checkpoint once, at every sigma either table
/// needs of it (the final checkpoint is usually also the last stage's).
pub(crate) fn evaluate_run(
    run: &RunKey,
    plan: &EvaluationPlan,
    mut model_at: impl FnMut(u32) -> Result<AlexNet>,
    test: &Split,
    augment_spec: &AugmentSpec,
    loader: &EvalLoader,
) -> Result<RunEvaluation> {
    let mut epochs: BTreeMap<u32, Vec<f64>> = BTreeMap::new();
    epochs.entry(plan.final_epoch).or_default().extend(plan.test_sigmas);
    for &epoch in plan.stage_epochs {
        epochs.entry(epoch).or_default().extend(plan.stage_test_sigmas);
    }
    let mut scored: BTreeMap<(u32, u64), Score> = BTreeMap::new();
    for (epoch, mut sigmas) in epochs {
        sigmas.sort_by(f64::total_cmp);
        sigmas.dedup();
        let model = model_at(epoch)?;
        for score in scores(&model, test, &sigmas, plan.sigma_scale, augment_spec, loader)? {
            scored.insert((epoch, score.test_sigma.to_bits()), score);
        }
    }
    let score = |epoch: u32, sigma: f64| &scored[&(epoch, sigma.to_bits())];
    let accuracy_vs_blur = plan
        .test_sigmas
        .iter()
        .map(|&sigma| {
            let s = score(plan.final_epoch, sigma);
            let (lo, hi) = s.interval_pct();
            AccuracyVsBlur {
                run: run.clone(),
                test_sigma: sigma,
                accuracy_pct: s.accuracy_pct,
                images: Some(s.images as u32),
                ci_low_pct: Some(lo),
                ci_high_pct: Some(hi),
                source: run.source(),
            }
        })
        .collect();
    let mut accuracy_by_stage = Vec::new();
    for &epoch in plan.stage_epochs {
        accuracy_by_stage.extend(plan.stage_test_sigmas.iter().map(|&sigma| {
            let s = score(epoch, sigma);
            let (lo, hi) = s.interval_pct();
            AccuracyByStage {
                run: run.clone(),
                epoch,
                test_sigma: sigma,
                accuracy_pct: s.accuracy_pct,
                images: Some(s.images as u32),
                ci_low_pct: Some(lo),
                ci_high_pct: Some(hi),
                source: run.source(),
            }
        }));
    }
    let predictions = scored
        .iter()
        .map(|(&(epoch, _), s)| TestPredictions {
            run: run.clone(),
            epoch,
            test_sigma: s.test_sigma,
            images: s.images as u32,
            correct: crate::stats::bits_to_hex(&s.correct),
            source: run.source(),
        })
        .collect();
    Ok(RunEvaluation { accuracy_vs_blur, accuracy_by_stage, predictions })
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

    /// Chunks at 224 px (40 images: 32 + 8) give each image the logits of one whole-batch forward pass; at 64 px a
    /// batch is one chunk.
    #[test]
    fn forward_chunks_give_the_whole_batchs_logits() {
        let _generators = crate::seeds::lock_libtorch_generators();
        let model = AlexNet::new(&tch::nn::VarStore::new(Device::Cpu).root(), 5, &mut crate::draws::Draws::new(3));
        let x = Tensor::randn([40, 3, 224, 224], (Kind::Float, Device::Cpu));
        let (chunked, whole) = tch::no_grad(|| (forward_in_chunks(&model, &x), model.forward(&x)));
        assert_eq!(chunked.size(), [40, 5]);
        let gap = f64::try_from((&chunked - &whole).abs().max()).unwrap();
        let scale = f64::try_from(whole.abs().max()).unwrap();
        assert!(gap <= 1e-5 * scale.max(1.0), "chunked logits differ by {gap} (largest logit {scale})");
        assert_eq!((CPU_FORWARD_PIXELS / (64 * 64)), 392, "a 64-px evaluation batch of 200 stays one chunk");
    }

    /// Each checkpoint is loaded and scored once at every sigma either table needs; each row's accuracy, interval
    /// and per-image record agree.
    #[test]
    fn a_run_is_evaluated_once_per_checkpoint_with_intervals_and_per_image_records() {
        let images = (Tensor::arange(10 * 3 * 64 * 64, (Kind::Int64, Device::Cpu)) * 37).remainder(251);
        let test = Split {
            images: images.to_kind(Kind::Uint8).view([10, 3, 64, 64]),
            labels: Tensor::from_slice(&[0i64, 1, 2, 0, 1, 2, 0, 1, 2, 0]),
        };
        let spec = AugmentSpec { size: 64, mean: [0.5; 3], std: [0.25; 3], random_erasing: false };
        let loader = EvalLoader { batch_size: 4, drop_last: false, device: Device::Cpu };
        let plan = EvaluationPlan {
            final_epoch: 2,
            test_sigmas: &[0.0, 8.0],
            stage_epochs: &[1, 2],
            stage_test_sigmas: &[0.0],
            sigma_scale: 64.0 / 224.0,
        };
        let run = RunKey {
            profile: "t".into(),
            seed: 0,
            dataset: crate::vocab::DatasetId::Faces,
            regime: crate::vocab::Regime::Clear,
        };
        let mut loads = Vec::new();
        let evaluation = evaluate_run(
            &run,
            &plan,
            |epoch| {
                loads.push(epoch);
                Ok(AlexNet::new(&tch::nn::VarStore::new(Device::Cpu).root(), 3, &mut crate::draws::Draws::new(4)))
            },
            &test,
            &spec,
            &loader,
        )
        .unwrap();
        assert_eq!(loads, [1, 2]);
        assert_eq!(evaluation.accuracy_vs_blur.len(), 2);
        assert_eq!(evaluation.accuracy_by_stage.len(), 2);
        assert_eq!(evaluation.predictions.len(), 3, "epoch 1 at sigma 0, epoch 2 at sigmas 0 and 8");
        for row in &evaluation.accuracy_vs_blur {
            let record =
                evaluation.predictions.iter().find(|p| p.epoch == 2 && p.test_sigma == row.test_sigma).unwrap();
            let correct = crate::stats::hex_to_bits(&record.correct, 10).unwrap();
            let hits = correct.iter().filter(|c| **c).count();
            assert_eq!(row.accuracy_pct, 10.0 * hits as f64);
            assert_eq!(row.images, Some(10));
            let (lo, hi) = (row.ci_low_pct.unwrap(), row.ci_high_pct.unwrap());
            assert!(lo <= row.accuracy_pct && row.accuracy_pct <= hi && hi - lo > 20.0, "[{lo}, {hi}] of 10 images");
        }
        // The final checkpoint's sigma 0 appears in both tables with the same score.
        let stage = evaluation.accuracy_by_stage.iter().find(|r| r.epoch == 2).unwrap();
        assert_eq!(stage.accuracy_pct, evaluation.accuracy_vs_blur[0].accuracy_pct);
    }
}
