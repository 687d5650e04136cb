//! The original's training augmentation: on the CPU image by image through Pillow's own loops ([`cpu`]), on other
//! devices as batched tensor operations ([`apply_with_tensors`]); the two give the same values.
//!
//! `cerysojj/blurry-to-clear-training`, `notebooks/model_training/train_alexnet_*.ipynb` (the cell that builds
//! `transform = v2.Compose([...])`), applied per image by the data loader:
//! 1. `ToPILImage()`, `Resize((256, 256))`: done once by the decoded cache (images arrive at the stored size);
//! 2. `RandomResizedCrop(size, scale=(0.5, 1.0), interpolation=BICUBIC)`: [`crop`];
//! 3. `RandomOrder` of seven colour operations, each applied with p = 0.2: [`order`] and [`colour`];
//! 4. `RandomHorizontalFlip()` (p = 0.5);
//! 5. `ToTensor()`, `Normalize(mean, std)` of the dataset;
//! 6. `RandomErasing(p=0.5)` where the dataset's profile asks for it: [`erasing`]. (The original's notebooks use it
//!    for ImageNet-12, ImageNet-100 and both Toybox tasks; only the FaceScrub notebook leaves it out.)
//!
//! Steps 2-4 run on PIL images in the original, so they follow Pillow's 8-bit semantics (each module says how);
//! here they run on uint8 images, on the images' device. Every image draws its own parameters ([`ImageDraws`])
//! from the caller's [`Draws`] stream on the CPU, one image after another and in the original's order within an
//! image, as torchvision draws them; the numbers depend on the stream alone, never on the pixels or the device, so
//! one seed gives one batch on the CPU and on CUDA.
use anyhow::{bail, Result};
use tch::{Device, Kind, Tensor};

use crate::draws::{upload, Draws};
use crate::protocol::DatasetSpec;

pub(crate) mod colour;
pub(crate) mod cpu;
pub(crate) mod crop;
pub(crate) mod erasing;
pub(crate) mod order;
mod rectangle;
#[cfg(test)]
mod reference;

pub(crate) use rectangle::Rectangle;

/// What a dataset's profile says about its augmentation.
#[derive(Clone, Debug, PartialEq)]
pub struct AugmentSpec {
    /// Side of the output images (the profile's training resolution: 224 in the paper).
    pub size: i64,
    /// The dataset's normalisation constants (RGB).
    pub mean: [f64; 3],
    pub std: [f64; 3],
    /// Apply torchvision's `RandomErasing(p=0.5)` after normalisation.
    pub random_erasing: bool,
}

impl AugmentSpec {
    /// The augmentation of `dataset` at the profile's training `resolution` (pixels).
    pub(crate) fn for_dataset(dataset: &DatasetSpec, resolution: u32) -> AugmentSpec {
        AugmentSpec {
            size: i64::from(resolution),
            mean: dataset.mean,
            std: dataset.std,
            random_erasing: dataset.random_erasing,
        }
    }
}

/// Probability of the horizontal flip (`RandomHorizontalFlip()`'s default).
pub(crate) const FLIP_PROBABILITY: f64 = 0.5;

/// Every random choice of the training transform for one image.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct ImageDraws {
    /// `RandomResizedCrop`'s box, in pixels of the stored image.
    pub crop: Rectangle,
    /// The colour operations applied, in order, with their factors.
    pub colour: order::ColourSteps,
    /// `RandomHorizontalFlip`.
    pub flip: bool,
    /// `RandomErasing`'s rectangle in the output image, when the profile asks for it and the image is erased.
    pub erase: Option<Rectangle>,
}

impl ImageDraws {
    /// Draw one image's choices for a stored image of `height` x `width` pixels, in the order of the original's
    /// `v2.Compose`: crop, colour, flip, erasing.
    pub(crate) fn sample(height: i64, width: i64, spec: &AugmentSpec, draws: &mut Draws) -> ImageDraws {
        let crop = crop::sample_crop_box(height, width, draws);
        let colour = order::sample_steps(draws);
        let flip = draws.unit() < FLIP_PROBABILITY;
        let erase = if spec.random_erasing { erasing::sample_rectangle(spec.size, spec.size, draws) } else { None };
        ImageDraws { crop, colour, flip, erase }
    }
}

/// The training transform: uint8 `[B, 3, S, S]` on any device -> normalised float `[B, 3, size, size]` on the same
/// device, with every image's choices drawn from `draws` (see the module doc).
pub(crate) fn train_batch(images: &Tensor, spec: &AugmentSpec, draws: &mut Draws) -> Result<Tensor> {
    let (n, height, width) = check_batch(images, spec)?;
    if spec.size <= 0 {
        bail!("the augmentation's output size must be positive, got {}", spec.size);
    }
    let choices: Vec<ImageDraws> = (0..n).map(|_| ImageDraws::sample(height, width, spec, draws)).collect();
    apply(images, spec, &choices)
}

/// Apply drawn choices (one per image) to uint8 `images` `[B, 3, S, S]`: the transform after its draws. On the CPU
/// each image goes through Pillow's loops ([`cpu`]); on other devices the batch goes through tensor operations
/// ([`apply_with_tensors`]). Both give the same values.
pub(crate) fn apply(images: &Tensor, spec: &AugmentSpec, choices: &[ImageDraws]) -> Result<Tensor> {
    let (n, _, _) = check_batch(images, spec)?;
    if choices.len() as i64 != n {
        bail!("{} augmentation choices for a batch of {n} images", choices.len());
    }
    match images.device() {
        Device::Cpu => cpu::transform(images, spec, choices),
        _ => apply_with_tensors(images, spec, choices),
    }
}

/// The transform as batched tensor operations, on any device.
pub(crate) fn apply_with_tensors(images: &Tensor, spec: &AugmentSpec, choices: &[ImageDraws]) -> Result<Tensor> {
    let boxes: Vec<Rectangle> = choices.iter().map(|c| c.crop).collect();
    let steps: Vec<order::ColourSteps> = choices.iter().map(|c| c.colour.clone()).collect();
    let flips: Vec<bool> = choices.iter().map(|c| c.flip).collect();
    let erased: Vec<Option<Rectangle>> = choices.iter().map(|c| c.erase).collect();
    let x = crop::resized_crop(images, &boxes, spec.size);
    let x = order::apply(&x, &steps)?;
    let x = horizontal_flip(&x, &upload(&Tensor::from_slice(&flips), images.device()));
    let x = normalise(&x, spec);
    Ok(erasing::erase(&x, &erased))
}

/// The test transform on images already resized by the cache: uint8 `[B, 3, H, W]` -> float in [0, 1],
/// normalised with the dataset's mean and std.
pub fn test_batch(images: &Tensor, spec: &AugmentSpec) -> Result<Tensor> {
    check_batch(images, spec)?;
    Ok(normalise(images, spec))
}

/// Flip the images whose `flags` (`[B]` bool) are set, left to right.
pub(crate) fn horizontal_flip(images: &Tensor, flags: &Tensor) -> Tensor {
    images.flip([3]).where_self(&flags.view([-1, 1, 1, 1]), images)
}

/// `ToTensor()` then `Normalize(mean, std)`: `(x / 255 - mean) / std`, per channel, in f32 (as torchvision computes
/// it: a division by 255, then a subtraction and a division).
pub(crate) fn normalise(images: &Tensor, spec: &AugmentSpec) -> Tensor {
    let device = images.device();
    let column = |v: [f64; 3]| upload(&Tensor::from_slice(&v.map(|x| x as f32)), device).view([1, 3, 1, 1]);
    (images.to_kind(Kind::Float) / 255.0 - column(spec.mean)) / column(spec.std)
}

/// Batch size, height and width of a valid input batch; an error naming what is wrong otherwise.
fn check_batch(images: &Tensor, spec: &AugmentSpec) -> Result<(i64, i64, i64)> {
    let size = images.size();
    let [n, 3, height, width] = size[..] else {
        bail!("augmentation expects a batch of RGB images [B, 3, H, W], got shape {size:?}");
    };
    if images.kind() != Kind::Uint8 {
        bail!("augmentation expects uint8 images as the decoded cache stores them, got {:?}", images.kind());
    }
    if let Some(s) = spec.std.iter().find(|s| !(s.is_finite() && **s > 0.0)) {
        bail!("normalisation std must be finite and positive, got {s} (check the profile's `std`)");
    }
    Ok((n, height, width))
}

#[cfg(test)]
mod tests {
    use super::*;
    use tch::Device;

    fn spec(size: i64, random_erasing: bool) -> AugmentSpec {
        AugmentSpec { size, mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225], random_erasing }
    }

    fn images(n: i64, side: i64) -> Tensor {
        // Smooth, varied content so that every colour operation changes something.
        let ramp = Tensor::arange(side, (Kind::Float, Device::Cpu)) / side as f64;
        let rows = ramp.view([1, 1, -1, 1]);
        let columns = ramp.view([1, 1, 1, -1]);
        let channel = |a: f64, b: f64| (&rows * a + &columns * b) * 200.0 + 20.0;
        let base = Tensor::cat(&[channel(0.7, 0.3), channel(0.2, 0.8), channel(0.5, 0.1)], 1);
        let shift = Tensor::arange(n, (Kind::Float, Device::Cpu)).view([-1, 1, 1, 1]);
        (base + shift).clamp(0.0, 255.0).to_kind(Kind::Uint8)
    }

    fn bounds(spec: &AugmentSpec) -> (f64, f64) {
        let low = (0..3).map(|c| -spec.mean[c] / spec.std[c]).fold(f64::INFINITY, f64::min);
        let high = (0..3).map(|c| (1.0 - spec.mean[c]) / spec.std[c]).fold(f64::NEG_INFINITY, f64::max);
        (low, high)
    }

    #[test]
    fn train_batch_has_the_right_shape_kind_device_and_range() {
        let spec = spec(24, false);
        let out = train_batch(&images(5, 29), &spec, &mut Draws::new(0)).unwrap();
        assert_eq!(out.size(), vec![5, 3, 24, 24]);
        assert_eq!((out.kind(), out.device()), (Kind::Float, Device::Cpu));
        let (low, high) = bounds(&spec);
        let (min, max) = (f64::try_from(out.min()).unwrap(), f64::try_from(out.max()).unwrap());
        assert!(min >= low - 1e-5 && max <= high + 1e-5, "[{min}, {max}] outside [{low}, {high}]");
    }

    /// The devices besides the CPU that this machine has.
    fn other_devices() -> Vec<Device> {
        if tch::Cuda::is_available() {
            vec![Device::Cuda(0)]
        } else {
            vec![]
        }
    }

    #[test]
    fn one_seed_gives_one_batch_on_every_device_whatever_the_global_generator() {
        let _generators = crate::seeds::lock_libtorch_generators();
        let input = images(6, 32);
        let spec = spec(24, true);
        // libtorch's global generator is seeded differently before each batch: it must not matter.
        tch::manual_seed(1);
        let batch = train_batch(&input, &spec, &mut Draws::new(7)).unwrap();
        tch::manual_seed(2);
        assert!(batch.equal(&train_batch(&input, &spec, &mut Draws::new(7)).unwrap()), "same seed, other batch");
        assert!(!batch.equal(&train_batch(&input, &spec, &mut Draws::new(8)).unwrap()), "other seed, same batch");
        // The batch is the transform of the drawn choices: drawing them first and applying them gives it too.
        let mut draws = Draws::new(7);
        let choices: Vec<ImageDraws> = (0..6).map(|_| ImageDraws::sample(32, 32, &spec, &mut draws)).collect();
        assert!(batch.equal(&apply(&input, &spec, &choices).unwrap()));
        assert!(choices.iter().any(|c| c.flip) && choices.iter().any(|c| !c.colour.is_empty()));
        for device in other_devices() {
            let moved = train_batch(&input.to_device(device), &spec, &mut Draws::new(7)).unwrap();
            assert_eq!(moved.device(), device);
            // The same choices; the arithmetic may differ (a blend rounding one level the other way, 1/255/std).
            let diff = (moved.to_device(Device::Cpu) - &batch).abs();
            let off = i64::try_from(diff.gt(1e-5).sum(Kind::Int64)).unwrap();
            assert!(off * 1000 <= batch.numel() as i64, "{off} values differ on {device:?}");
            assert!(f64::try_from(diff.max()).unwrap() < 1.5 / 255.0 / 0.224, "{device:?}");
        }
    }

    #[test]
    fn random_erasing_zeroes_rectangles_only_when_enabled() {
        // White images with mean 0 and std 1 normalise to 1 everywhere (no colour operation makes white black),
        // so the erased pixels are the only zeros.
        let input = Tensor::full([64, 3, 16, 16], 255, (Kind::Uint8, Device::Cpu));
        let spec_with = |random_erasing| AugmentSpec { size: 16, mean: [0.0; 3], std: [1.0; 3], random_erasing };
        let zeros = |t: &Tensor| i64::try_from(t.eq(0.0).sum(Kind::Int64)).unwrap();
        assert_eq!(zeros(&train_batch(&input, &spec_with(false), &mut Draws::new(3)).unwrap()), 0);
        let erased = train_batch(&input, &spec_with(true), &mut Draws::new(3)).unwrap();
        let per_image = erased.eq(0.0).any_dim(3, false).any_dim(2, false).any_dim(1, false);
        let count = i64::try_from(per_image.sum(Kind::Int64)).unwrap();
        assert!((16..=48).contains(&count), "{count} of 64 images erased");
    }

    #[test]
    fn test_batch_normalises_exactly() {
        let spec = AugmentSpec { size: 2, mean: [0.5, 0.25, 0.0], std: [0.5, 0.25, 2.0], random_erasing: true };
        let input = Tensor::from_slice(&[0u8, 255, 51, 102, 255, 0]).view([1, 3, 1, 2]);
        let out = Vec::<f32>::try_from(test_batch(&input, &spec).unwrap().flatten(0, -1)).unwrap();
        let want = [-1.0, 1.0, -0.2, 0.6, 0.5, 0.0];
        assert!(out.iter().zip(want).all(|(g, w)| (g - w).abs() < 1e-6), "{out:?}");
    }

    #[test]
    fn the_paper_profile_gives_imagenet_100_its_statistics_and_random_erasing() {
        let profile = crate::protocol::Profile::load("paper").unwrap();
        let in100 = AugmentSpec::for_dataset(profile.dataset(crate::vocab::DatasetId::In100).unwrap(), 224);
        assert_eq!(
            in100,
            AugmentSpec { size: 224, mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225], random_erasing: true }
        );
        let faces = AugmentSpec::for_dataset(profile.dataset(crate::vocab::DatasetId::Faces).unwrap(), 224);
        assert!(!faces.random_erasing);
    }

    #[test]
    fn flips_only_the_flagged_images() {
        let x = Tensor::from_slice(&[1u8, 2, 3, 4]).view([2, 1, 1, 2]);
        let out = horizontal_flip(&x, &Tensor::from_slice(&[true, false]));
        assert_eq!(Vec::<u8>::try_from(out.flatten(0, -1)).unwrap(), vec![2, 1, 3, 4]);
    }

    #[test]
    fn bad_inputs_are_rejected_with_a_reason() {
        let spec = spec(8, false);
        let float = Tensor::zeros([1, 3, 8, 8], (Kind::Float, Device::Cpu));
        assert!(train_batch(&float, &spec, &mut Draws::new(0)).unwrap_err().to_string().contains("uint8"));
        let grey = Tensor::zeros([1, 1, 8, 8], (Kind::Uint8, Device::Cpu));
        assert!(test_batch(&grey, &spec).unwrap_err().to_string().contains("[B, 3, H, W]"));
        let bad_std = AugmentSpec { std: [0.2, 0.0, 0.2], ..spec };
        let ok = Tensor::zeros([1, 3, 8, 8], (Kind::Uint8, Device::Cpu));
        assert!(test_batch(&ok, &bad_std).unwrap_err().to_string().contains("std"));
    }
}
