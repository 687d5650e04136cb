//! The order of the original's Toybox instance-level test set in its robustness evaluation
//! (`notebooks/figures/robustness_results.ipynb` cell 11 of `cerysojj/blurry-to-clear-training`, and
//! `ToyboxDatasetInstances.select_images_per_object` in `src/datasets.py`).
//!
//! The notebook builds the test set with `num_images_per_object = 150`. No object has 150 test images, so every image
//! is kept, but the set is rebuilt object by object: the objects in the order of their first row, each object's images
//! in a random order (`rng.choice(indices, n, replace=False)`, numpy's generator with seed 5). Its loader has
//! `drop_last=True`, so the images left out are some of the last object's, where the stage notebook, which keeps the
//! file order, leaves out the split's last ones (at most 4 of 2820 differ; reference README, "Test images
//! evaluated").
//!
//! At the instance level a label is an object, so the objects are the labels. The draws come from numpy's
//! `default_rng(seed)` reproduced bit for bit ([`super::numpy_random`]), so, with the test split in the original's
//! order (the importers keep it), the images that `drop_last` leaves out are the original's.
use anyhow::{Context, Result};
use tch::{Device, Tensor};

use super::numpy_random::NumpyGenerator;
use super::Split;
use crate::protocol::RobustnessOrder;

/// Indices into a split whose labels are `labels`: objects in order of first appearance, each object's indices drawn
/// without replacement, at most `per_object` of them, from one generator seeded by `seed`, object after object.
pub(crate) fn per_object_order(labels: &[i64], seed: u64, per_object: u64) -> Vec<i64> {
    let mut objects: Vec<(i64, Vec<i64>)> = Vec::new();
    for (index, &label) in labels.iter().enumerate() {
        match objects.iter_mut().find(|(l, _)| *l == label) {
            Some((_, indices)) => indices.push(index as i64),
            None => objects.push((label, vec![index as i64])),
        }
    }
    let mut rng = NumpyGenerator::new(seed);
    let per_object = usize::try_from(per_object).unwrap_or(usize::MAX);
    objects.iter().flat_map(|(_, indices)| rng.choose(indices, per_object)).collect()
}

/// `split` in the robustness notebook's per-object order (see the module doc).
pub(crate) fn per_object(split: &Split, order: &RobustnessOrder) -> Result<Split> {
    let labels = Vec::<i64>::try_from(&split.labels.to_device(Device::Cpu)).context("cannot read the test labels")?;
    let order = Tensor::from_slice(&per_object_order(&labels, order.per_object_seed, order.images_per_object));
    Ok(Split {
        images: split.images.index_select(0, &order.to_device(split.images.device())),
        labels: split.labels.index_select(0, &order.to_device(split.labels.device())),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The robustness notebook's order re-enacted in numpy (`tests/fixtures/numpy_random/make_reference.py`).
    #[test]
    fn objects_keep_their_first_appearance_order_and_each_is_drawn_as_numpy_draws() {
        let line = crate::data::numpy_random::tests::reference("objects").remove(0);
        let labels: Vec<i64> = line[0].split(',').map(|l| l.parse().unwrap()).collect();
        let numpy: Vec<i64> = line[1..].iter().map(|i| i.parse().unwrap()).collect();
        let order = per_object_order(&labels, 5, 150);
        assert_eq!(order, numpy);
        let seen: Vec<i64> = order.iter().map(|&i| labels[i as usize]).collect();
        assert_eq!(seen, [7, 7, 7, 7, 3, 3, 3, 9, 9, 12, 12, 12], "objects in order of first appearance");
        // More images than the cap: the original kept the first `per_object` drawn.
        assert_eq!(per_object_order(&labels, 5, 2).len(), 8);
    }

    #[test]
    fn a_split_is_reordered_image_and_label_together() {
        let images = Tensor::from_slice(&[10u8, 11, 12, 13]).view([4, 1, 1, 1]);
        let split = Split { images, labels: Tensor::from_slice(&[1i64, 0, 1, 0]) };
        let order = RobustnessOrder { per_object_seed: 5, images_per_object: 150 };
        let reordered = per_object(&split, &order).unwrap();
        let labels = Vec::<i64>::try_from(&reordered.labels).unwrap();
        let pixels = Vec::<u8>::try_from(&reordered.images.flatten(0, -1)).unwrap();
        assert_eq!(&labels[..2], [1, 1]);
        for (label, pixel) in labels.iter().zip(&pixels) {
            assert_eq!(i64::from(pixel - 10) % 2, 1 - label, "image {pixel} kept its label {label}");
        }
    }
}
