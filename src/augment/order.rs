//! `RandomOrder` of the seven colour operations, each inside `RandomApply(p = 0.2)`, batched.
//!
//! The original (`color_transforms` in `notebooks/model_training/train_alexnet_*.ipynb`) wraps each jitter in its
//! own `RandomApply([ColorJitter(x=0.2)], p=0.2)` and uses `RandomEqualize`, `RandomPosterize(bits=4)` and
//! `RandomAutocontrast` with p = 0.2; `RandomOrder` draws a fresh permutation for every image. Here every image
//! gets its own permutation, apply flags and jitter factors, drawn on the device; then, for each of the seven
//! positions, each operation is applied once to exactly the images that use it at that position (gathered with
//! `index_select`, written back with `index_copy_`). About 1.4 operations run per image, as in the original.
use anyhow::{Context, Result};
use tch::{Device, Kind, Tensor};

use super::colour::ColourOp;
use super::rectangle::uniform;

/// Probability that each colour operation is applied (the original's `prob = 0.2`).
pub const APPLY_PROBABILITY: f64 = 0.2;

/// The random choices of the colour stage for a batch.
#[derive(Debug)]
pub struct ColourPlan {
    /// `[N, 7]` i64: the index into [`ColourOp::ALL`] of the operation at each position.
    pub order: Tensor,
    /// `[N, 7]` bool, indexed like [`ColourOp::ALL`]: whether the image gets that operation.
    pub applied: Tensor,
    /// `[N, 7]` f32, indexed like [`ColourOp::ALL`]: the jitter factor (0 for operations without one).
    pub factors: Tensor,
}

impl ColourPlan {
    /// Draw the plan for `n` images: permutations, apply flags, then one factor per jitter.
    pub fn sample(n: i64, device: Device) -> ColourPlan {
        // The rank order of 7 uniforms is a uniformly random permutation.
        let order = Tensor::rand([n, 7], (Kind::Float, device)).argsort(1, false);
        let applied = Tensor::rand([n, 7], (Kind::Float, device)).lt(APPLY_PROBABILITY);
        let columns: Vec<Tensor> = ColourOp::ALL
            .iter()
            .map(|op| match op.factor_range() {
                Some(range) => uniform(&[n], range, device),
                None => Tensor::zeros([n], (Kind::Double, device)),
            })
            .collect();
        let factors = Tensor::stack(&columns, 1).to_kind(Kind::Float);
        ColourPlan { order, applied, factors }
    }

    /// Apply the plan to uint8 `images` `[N, 3, H, W]`.
    pub fn apply(&self, images: &Tensor) -> Result<Tensor> {
        let device = images.device();
        let n = images.size()[0];
        // Only the small per-image plan comes to the host, to list which images each step touches.
        let order = Vec::<i64>::try_from(self.order.to_device(Device::Cpu).flatten(0, -1))
            .context("cannot read the colour order back from the device")?;
        let applied = Vec::<bool>::try_from(self.applied.to_device(Device::Cpu).flatten(0, -1))
            .context("cannot read the colour apply flags back from the device")?;
        let mut out = images.copy();
        for position in 0..7 {
            for (index, op) in ColourOp::ALL.iter().enumerate() {
                let members: Vec<i64> = (0..n)
                    .filter(|&i| {
                        let row = (i * 7) as usize;
                        order[row + position] == index as i64 && applied[row + index]
                    })
                    .collect();
                if members.is_empty() {
                    continue;
                }
                let members = Tensor::from_slice(&members).to_device(device);
                let factors = self.factors.select(1, index as i64).index_select(0, &members);
                let changed = op.apply(&out.index_select(0, &members), &factors);
                let _ = out.index_copy_(0, &members, &changed);
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_image_gets_a_permutation_and_about_one_in_five_operations() {
        tch::manual_seed(5);
        let plan = ColourPlan::sample(2000, Device::Cpu);
        let sorted = plan.order.sort(1, false).0;
        let expected = Tensor::arange(7, (Kind::Int64, Device::Cpu)).unsqueeze(0).expand([2000, 7], false);
        assert!(sorted.equal(&expected), "an order is not a permutation");
        let rate = f64::try_from(plan.applied.to_kind(Kind::Double).mean(Kind::Double)).unwrap();
        assert!((0.18..0.22).contains(&rate), "apply rate {rate}");
        // Every operation appears first for some image.
        let firsts = plan.order.select(1, 0).bincount(None::<Tensor>, 7);
        assert!(Vec::<i64>::try_from(firsts).unwrap().iter().all(|c| *c > 200));
        for (index, op) in ColourOp::ALL.iter().enumerate() {
            let column = plan.factors.select(1, index as i64);
            let (low, high) = (f64::try_from(column.min()).unwrap(), f64::try_from(column.max()).unwrap());
            match op.factor_range() {
                Some((a, b)) => assert!(low >= a && high <= b && high - low > 0.9 * (b - a), "{op:?}"),
                None => assert_eq!((low, high), (0.0, 0.0)),
            }
        }
    }

    #[test]
    fn the_plan_applies_the_chosen_operations_in_the_chosen_order() {
        // Two images: the first gets posterize then brightness 1.2, the second brightness 1.2 then posterize.
        let image = Tensor::from_slice(&[100u8, 150, 210]).view([1, 3, 1, 1]).repeat([2, 1, 1, 1]);
        let posterize = 5; // index in ColourOp::ALL
        let others = [1i64, 2, 3, 4, 6];
        let row = |first: i64, second: i64| {
            let mut r = vec![first, second];
            r.extend(others);
            r
        };
        let order = Tensor::from_slice(&[row(posterize, 0), row(0, posterize)].concat()).view([2, 7]);
        let mut flags = [false; 7];
        flags[0] = true;
        flags[posterize as usize] = true;
        let applied = Tensor::from_slice(&[flags, flags].concat()).view([2, 7]);
        let factors = Tensor::full([2, 7], 1.2, (Kind::Float, Device::Cpu));
        let out = ColourPlan { order, applied, factors }.apply(&image).unwrap();
        let got = Vec::<u8>::try_from(out.flatten(0, -1)).unwrap();
        // posterize(100, 150, 210) = (96, 144, 208), x1.2 truncated = (115, 172, 249);
        // x1.2 first = (120, 180, 252), then posterize = (112, 176, 240).
        assert_eq!(got, vec![115, 172, 249, 112, 176, 240]);
    }
}
