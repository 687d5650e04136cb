//! The CPU path of the training transform: each image goes through Pillow's own loops ([`pixels`]) for the crop
//! and the colour operations, then is flipped, normalised and erased in the same pass, the images shared out over
//! libtorch's CPU threads.
//!
//! On the CPU this is several times faster than the tensor path (one gather per resampling tap, a dozen tensor
//! operations per colour operation on a handful of images at a time, four passes to normalise), which other
//! devices run. The two give the same values, as the tests check on sampled batches: the same bytes up to the
//! normalisation, which both compute as `(x / 255 - mean) / std` in correctly rounded f32 operations.
use anyhow::{bail, Context, Result};
use tch::{Device, Tensor};

use super::{crop, AugmentSpec, ImageDraws};

/// The training transform of `images` (uint8 `[N, 3, H, W]` on the CPU) with each image's `choices`: normalised
/// float `[N, 3, size, size]`.
pub(crate) fn transform(images: &Tensor, spec: &AugmentSpec, choices: &[ImageDraws]) -> Result<Tensor> {
    let size = images.size();
    let [n, 3, height, width] = size[..] else { bail!("expected uint8 images [N, 3, H, W], got {size:?}") };
    if images.device() != Device::Cpu || choices.len() as i64 != n {
        bail!("the CPU path needs CPU images and one choice per image ({} for {n})", choices.len());
    }
    let source = Vec::<u8>::try_from(images.contiguous().view([-1])).context("cannot read the images")?;
    let side = spec.size;
    let (in_image, out_image) = (3 * (height * width) as usize, 3 * (side * side) as usize);
    let mut out = vec![0f32; n as usize * out_image];
    let threads = (tch::get_num_threads().max(1) as usize).min(choices.len().max(1));
    let per_thread = choices.len().div_ceil(threads).max(1);
    std::thread::scope(|scope| {
        let parts = out.chunks_mut(per_thread * out_image).zip(source.chunks(per_thread * in_image));
        for ((out, source), choices) in parts.zip(choices.chunks(per_thread)) {
            scope.spawn(move || {
                let images = out.chunks_exact_mut(out_image).zip(source.chunks_exact(in_image));
                let mut levels = vec![0u8; out_image];
                for ((out, source), choice) in images.zip(choices) {
                    crop_colour_flip(source, width as usize, choice, side as usize, &mut levels);
                    normalise_and_erase(&levels, spec, choice, side as usize, out);
                }
            });
        }
    });
    Ok(Tensor::from_slice(&out).view([n, 3, side, side]))
}

/// One image (`source`: planar RGB rows of `width`) cropped, resized to `side`, coloured and flipped into `out`.
fn crop_colour_flip(source: &[u8], width: usize, choice: &ImageDraws, side: usize, out: &mut [u8]) {
    let b = choice.crop;
    let columns = crop::taps(b.left, b.width, side as i64);
    let rows = crop::taps(b.top, b.height, side as i64);
    let planes = out.chunks_exact_mut(side * side).zip(source.chunks_exact(source.len() / 3));
    for (out, plane) in planes {
        pixels::resample::resize_plane(plane, width, &columns, &rows, out);
    }
    for (op, factor) in &choice.colour {
        op.apply_to_image(out, *factor);
    }
    if choice.flip {
        pixels::flip_rows(out, side);
    }
}

/// `ToTensor()`, `Normalize(mean, std)` and `RandomErasing`'s zeros, from `levels` (`[3, side, side]`) into `out`.
fn normalise_and_erase(levels: &[u8], spec: &AugmentSpec, choice: &ImageDraws, side: usize, out: &mut [f32]) {
    let planes = out.chunks_exact_mut(side * side).zip(levels.chunks_exact(side * side));
    for ((out, levels), (mean, std)) in planes.zip(spec.mean.iter().zip(&spec.std)) {
        pixels::normalise(levels, *mean as f32, *std as f32, out);
        if let Some(r) = choice.erase {
            for row in out.chunks_exact_mut(side).skip(r.top as usize).take(r.height as usize) {
                row[r.left as usize..(r.left + r.width) as usize].fill(0.0);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::colour::ColourOp;
    use super::super::reference::Reference;
    use super::super::{apply_with_tensors, Rectangle};
    use super::*;
    use crate::draws::Draws;
    use tch::Kind;

    /// A spec that leaves the levels readable: `x / 255 / (1 / 255)` is within a rounding of every level.
    fn levels_spec(size: i64) -> AugmentSpec {
        AugmentSpec { size, mean: [0.0; 3], std: [1.0 / 255.0; 3], random_erasing: false }
    }

    #[test]
    fn the_crop_matches_pillow_via_torchvision_exactly() {
        let reference = Reference::load();
        let image = reference.image("colours");
        for case in &reference.resized_crop {
            let crop = Rectangle { top: case.top, left: case.left, height: case.height, width: case.width };
            let choice = ImageDraws { crop, colour: vec![], flip: false, erase: None };
            let out = transform(&image, &levels_spec(case.side), &[choice]).unwrap();
            let got: Vec<u8> =
                Vec::<f32>::try_from(out.flatten(0, -1)).unwrap().iter().map(|v| v.round() as u8).collect();
            let wrong = got.iter().zip(&case.output).filter(|(g, w)| g != w).count();
            assert_eq!(wrong, 0, "box {crop:?}: {wrong} values differ from Pillow's");
        }
    }

    #[test]
    fn every_colour_operation_matches_torchvision_on_pil_images_exactly() {
        let reference = Reference::load();
        for case in &reference.colour {
            let op = ColourOp::ALL.into_iter().find(|op| op.name() == case.op).unwrap();
            let mut image = Vec::<u8>::try_from(reference.image(&case.image).flatten(0, -1)).unwrap();
            op.apply_to_image(&mut image, case.factor.unwrap_or(0.0) as f32);
            let wrong = image.iter().zip(&case.output).filter(|(g, w)| g != w).count();
            assert_eq!(wrong, 0, "{} on {} with factor {:?}: {wrong} values differ", case.op, case.image, case.factor);
        }
    }

    #[test]
    fn the_cpu_and_tensor_paths_give_the_same_values_on_sampled_batches() {
        let mut draws = Draws::new(31);
        let mut erased = false;
        for (stored, side, n) in [(73, 64, 64), (40, 32, 128), (256, 224, 4)] {
            let spec = AugmentSpec {
                size: side,
                mean: [0.485, 0.456, 0.406],
                std: [0.229, 0.224, 0.225],
                random_erasing: true,
            };
            // Smooth colours and noise: greys, saturated colours and every level occur.
            let coarse = draws.uniform(&[n, 3, 4, 4], (0.0, 255.0)).to_kind(Kind::Float);
            let noise = draws.uniform(&[n, 3, stored, stored], (-30.0, 30.0)).to_kind(Kind::Float);
            let images = (coarse.upsample_nearest2d([stored, stored], None, None) + noise).clamp(0.0, 255.0);
            let images = images.to_kind(Kind::Uint8);
            let choices: Vec<ImageDraws> =
                (0..n).map(|_| ImageDraws::sample(stored, stored, &spec, &mut draws)).collect();
            erased |= choices.iter().any(|c| c.erase.is_some());
            let cpu = transform(&images, &spec, &choices).unwrap();
            assert!(cpu.equal(&apply_with_tensors(&images, &spec, &choices).unwrap()), "{stored} -> {side}");
            // The levels alone (another normalisation), so that a difference would show as whole levels.
            let levels = |t: Tensor| t.round().to_kind(Kind::Uint8);
            let spec = levels_spec(side);
            let tensors = levels(apply_with_tensors(&images, &spec, &choices).unwrap());
            let cpu_levels = levels(transform(&images, &spec, &choices).unwrap());
            assert!(cpu_levels.equal(&tensors), "{stored} -> {side} levels");
            if tch::Cuda::is_available() {
                // Every step before the normalisation is integer or single correctly rounded operations: the same
                // bytes on the GPU.
                let cuda = apply_with_tensors(&images.to_device(Device::Cuda(0)), &spec, &choices).unwrap();
                assert!(levels(cuda.to_device(Device::Cpu)).equal(&cpu_levels), "CUDA, {stored} -> {side} levels");
            }
        }
        assert!(erased, "no image was erased");
    }

    #[test]
    fn each_colour_operation_gives_the_tensor_paths_bytes_across_its_factors() {
        let mut draws = Draws::new(32);
        let images = draws.uniform(&[16, 3, 24, 24], (0.0, 256.0)).to_kind(Kind::Uint8);
        let greys = images.narrow(1, 0, 1).repeat([1, 3, 1, 1]);
        for op in ColourOp::ALL {
            let (low, high) = op.factor_range().unwrap_or((0.0, 0.0));
            let factors: Vec<f32> = draws.uniform_values(16, (low, high)).into_iter().map(|f| f as f32).collect();
            for batch in [&images, &greys] {
                let want = op.apply(batch, &Tensor::from_slice(&factors));
                let mut got = Vec::<u8>::try_from(batch.flatten(0, -1)).unwrap();
                for (image, factor) in got.chunks_exact_mut(3 * 24 * 24).zip(&factors) {
                    op.apply_to_image(image, *factor);
                }
                assert_eq!(got, Vec::<u8>::try_from(want.flatten(0, -1)).unwrap(), "{op:?}");
            }
        }
    }

    #[test]
    fn images_that_are_not_on_the_cpu_or_lack_choices_are_refused() {
        let images = Tensor::zeros([2, 3, 8, 8], (Kind::Uint8, Device::Cpu));
        assert!(transform(&images, &levels_spec(4), &[]).is_err());
    }
}
