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
//! At the instance level a label is an object, so the objects are the labels. The shuffle draws from ChaCha8 seeded
//! with the profile's `per_object_seed`, not from numpy's stream: the structure is the original's, the images that
//! fall into the last partial batch are not (see `paper/DEVIATIONS.md`).
use anyhow::{Context, Result};
use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use tch::{Device, Tensor};

use super::Split;

/// Indices into a split whose labels are `labels`: objects in order of first appearance, each object's indices
/// shuffled with one generator seeded by `seed`, in turn.
pub fn per_object_order(labels: &[i64], seed: u64) -> Vec<i64> {
    let mut objects: Vec<(i64, Vec<i64>)> = Vec::new();
    for (index, &label) in labels.iter().enumerate() {
        match objects.iter_mut().find(|(l, _)| *l == label) {
            Some((_, indices)) => indices.push(index as i64),
            None => objects.push((label, vec![index as i64])),
        }
    }
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    objects
        .into_iter()
        .flat_map(|(_, mut indices)| {
            indices.shuffle(&mut rng);
            indices
        })
        .collect()
}

/// `split` in the robustness notebook's per-object order (see the module doc).
pub fn per_object(split: &Split, seed: u64) -> Result<Split> {
    let labels = Vec::<i64>::try_from(&split.labels.to_device(Device::Cpu)).context("cannot read the test labels")?;
    let order = Tensor::from_slice(&per_object_order(&labels, seed));
    Ok(Split {
        images: split.images.index_select(0, &order.to_device(split.images.device())),
        labels: split.labels.index_select(0, &order.to_device(split.labels.device())),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn objects_keep_their_first_appearance_order_and_each_is_shuffled_within() {
        // Objects 7, 3, 9 interleaved, as a split ordered by video rather than by object would be.
        let labels = [7, 3, 7, 9, 3, 7, 9, 7];
        let order = per_object_order(&labels, 5);
        let seen: Vec<i64> = order.iter().map(|&i| labels[i as usize]).collect();
        assert_eq!(seen, [7, 7, 7, 7, 3, 3, 9, 9]);
        let mut sevens: Vec<i64> = order[..4].to_vec();
        sevens.sort_unstable();
        assert_eq!(sevens, [0, 2, 5, 7]);
        assert_eq!(order, per_object_order(&labels, 5), "seeded");
        // Some seed shuffles object 7's four images out of file order.
        assert!((0..20).any(|seed| per_object_order(&labels, seed)[..4] != [0, 2, 5, 7]));
    }

    #[test]
    fn a_split_is_reordered_image_and_label_together() {
        let images = Tensor::from_slice(&[10u8, 11, 12, 13]).view([4, 1, 1, 1]);
        let split = Split { images, labels: Tensor::from_slice(&[1i64, 0, 1, 0]) };
        let reordered = per_object(&split, 5).unwrap();
        let labels = Vec::<i64>::try_from(&reordered.labels).unwrap();
        let pixels = Vec::<u8>::try_from(&reordered.images.flatten(0, -1)).unwrap();
        assert_eq!(&labels[..2], [1, 1]);
        for (label, pixel) in labels.iter().zip(&pixels) {
            assert_eq!(i64::from(pixel - 10) % 2, 1 - label, "image {pixel} kept its label {label}");
        }
    }
}
