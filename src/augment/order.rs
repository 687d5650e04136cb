//! `RandomOrder` of the seven colour operations, each inside `RandomApply(p = 0.2)`, batched.
//!
//! The original (`color_transforms` in `notebooks/model_training/train_alexnet_*.ipynb`) wraps each jitter in its
//! own `RandomApply([ColorJitter(x=0.2)], p=0.2)` and uses `RandomEqualize`, `RandomPosterize(bits=4)` and
//! `RandomAutocontrast` with p = 0.2; `RandomOrder` draws a fresh permutation for every image. Each image draws,
//! as torchvision does: a permutation of the seven, then for each operation in that order whether it applies and,
//! if it does and is a jitter, its factor. What an image gets is the list of its applied operations in order
//! (about 1.4 of them): its [`ColourSteps`].
//!
//! A batch is applied step by step: step k applies each image's k-th operation, one call per operation on the
//! images that have it at that step (gathered with `index_select`, written back with `index_copy_`). Skipping the
//! operations an image does not apply changes nothing in its result and keeps the calls few (about 20 per batch of
//! 64, where walking all seven positions would make about 40).
use anyhow::Result;
use tch::Tensor;

use super::colour::ColourOp;
use crate::draws::{upload, Draws};

/// Probability that each colour operation is applied (the original's `prob = 0.2`).
pub(crate) const APPLY_PROBABILITY: f64 = 0.2;

/// The colour operations one image gets, in the order applied, each with its factor (0 for the operations
/// without one). A jitter factor is a float32, as torchvision draws it.
pub(crate) type ColourSteps = Vec<(ColourOp, f32)>;

/// Draw one image's colour steps.
pub(crate) fn sample_steps(draws: &mut Draws) -> ColourSteps {
    let order = draws.permutation(ColourOp::ALL.len());
    let mut steps = Vec::new();
    for index in order {
        let op = ColourOp::ALL[index as usize];
        if draws.unit() >= APPLY_PROBABILITY {
            continue;
        }
        let factor = op.factor_range().map_or(0.0, |range| draws.uniform_values(1, range)[0] as f32);
        steps.push((op, factor));
    }
    steps
}

/// Apply each image's steps to uint8 `images` `[N, 3, H, W]` (`steps`: one list per image).
pub(crate) fn apply(images: &Tensor, steps: &[ColourSteps]) -> Result<Tensor> {
    let device = images.device();
    let mut out = images.copy();
    let longest = steps.iter().map(Vec::len).max().unwrap_or(0);
    for step in 0..longest {
        for op in ColourOp::ALL {
            let (members, factors): (Vec<i64>, Vec<f32>) = steps
                .iter()
                .enumerate()
                .filter_map(|(i, s)| s.get(step).filter(|(o, _)| *o == op).map(|(_, f)| (i as i64, *f)))
                .unzip();
            if members.is_empty() {
                continue;
            }
            let members = upload(&Tensor::from_slice(&members), device);
            let factors = upload(&Tensor::from_slice(&factors), device);
            let changed = op.apply(&out.index_select(0, &members), &factors);
            let _ = out.index_copy_(0, &members, &changed);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_image_gets_distinct_operations_about_one_in_five_with_factors_in_range() {
        let mut draws = Draws::new(5);
        let plans: Vec<ColourSteps> = (0..2000).map(|_| sample_steps(&mut draws)).collect();
        for steps in &plans {
            let mut ops: Vec<usize> =
                steps.iter().map(|(op, _)| ColourOp::ALL.iter().position(|o| o == op).unwrap()).collect();
            ops.sort_unstable();
            ops.dedup();
            assert_eq!(ops.len(), steps.len(), "an operation repeats: {steps:?}");
        }
        let applied = plans.iter().map(Vec::len).sum::<usize>() as f64 / (2000.0 * 7.0);
        assert!((0.18..0.22).contains(&applied), "apply rate {applied}");
        for op in ColourOp::ALL {
            // Every operation comes first for some image, and the order is random: it also comes second.
            let first = plans.iter().filter(|s| s.first().is_some_and(|(o, _)| *o == op)).count();
            let second = plans.iter().filter(|s| s.get(1).is_some_and(|(o, _)| *o == op)).count();
            assert!(first > 150 && second > 30, "{op:?}: first {first}, second {second}");
            let factors: Vec<f32> = plans.iter().flatten().filter(|(o, _)| *o == op).map(|(_, f)| *f).collect();
            let low = factors.iter().cloned().fold(f32::INFINITY, f32::min);
            let high = factors.iter().cloned().fold(f32::NEG_INFINITY, f32::max);
            match op.factor_range() {
                Some((a, b)) => {
                    let (a, b) = (a as f32, b as f32);
                    assert!(low >= a && high <= b && high - low > 0.9 * (b - a), "{op:?}");
                }
                None => assert_eq!((low, high), (0.0, 0.0)),
            }
        }
    }

    #[test]
    fn the_plan_applies_the_chosen_operations_in_the_chosen_order() {
        // Three images: the first gets posterize then brightness 1.2, the second brightness 1.2 then posterize,
        // the third nothing.
        let image = Tensor::from_slice(&[100u8, 150, 210]).view([1, 3, 1, 1]).repeat([3, 1, 1, 1]);
        let (posterize, brightness) = ((ColourOp::Posterize, 0.0), (ColourOp::Brightness, 1.2));
        let steps = vec![vec![posterize, brightness], vec![brightness, posterize], vec![]];
        let out = apply(&image, &steps).unwrap();
        let got = Vec::<u8>::try_from(out.flatten(0, -1)).unwrap();
        // posterize(100, 150, 210) = (96, 144, 208), x1.2 truncated = (115, 172, 249);
        // x1.2 first = (120, 180, 252), then posterize = (112, 176, 240).
        assert_eq!(got, vec![115, 172, 249, 112, 176, 240, 100, 150, 210]);
        // The input is left alone.
        assert_eq!(Vec::<u8>::try_from(image.flatten(0, -1)).unwrap(), [100, 150, 210].repeat(3));
    }
}
