//! `RandomResizedCrop(size, scale=(0.5, 1.0), ratio=(3/4, 4/3), interpolation=BICUBIC)` as the original applies it
//! to PIL images (`notebooks/model_training/train_alexnet_*.ipynb`, the `transform = v2.Compose` cell), batched.
//!
//! **Sampling** is torchvision's (see [`super::rectangle`]), with its fallback to the whole (square) image when no
//! attempt fits.
//!
//! **Resampling** reproduces Pillow's `Image.resize(..., BICUBIC)` on the cropped image, which is what torchvision
//! calls for a PIL input: a separable, antialiased convolution (Pillow's `Resample.c`), horizontal pass first, each
//! pass rounded back to 8 bits. Pillow's cubic kernel has `a = -0.5` and, when shrinking, is stretched by the
//! shrink factor so that it averages over every source pixel (antialiasing); its weights are normalised per output
//! pixel and quantised to 22 fractional bits, and the sums are 32-bit integers. Here every output pixel of every
//! image gets its taps (source pixels and integer weights) from that image's crop box, computed on the device;
//! a pass gathers one tap at a time across the whole batch and accumulates in int32, exactly as Pillow does, so the
//! result is bit-exact (see the reference test). This differs from `grid_sample(mode="bicubic")` (PyTorch's
//! `a = -0.75`, no antialiasing), which would sharpen the 256 -> 224 shrinks that many crops need.
//!
//! The horizontal pass always runs first, as in the Pillow of the original's time; Pillow 13 (2026) runs the
//! vertical pass first when the height shrinks much more than the width, which moves some values by a level
//! (`tests/fixtures/augment/README.md`).
use pixels::resample::{AxisTaps, PRECISION_BITS};
use tch::{Kind, Tensor};

use super::rectangle::{self, Rectangle};
use crate::draws::{upload, Draws};

/// Area fraction of the stored image that a crop covers (the original's `scale=(0.5, 1.0)`).
pub(crate) const SCALE: (f64, f64) = (0.5, 1.0);
/// Aspect ratios (width / height) of a crop (torchvision's default `ratio=(3/4, 4/3)`).
pub(crate) const RATIO: (f64, f64) = (3.0 / 4.0, 4.0 / 3.0);

/// Draw the crop box of one image of `height` x `width` pixels, as `RandomResizedCrop.make_params` does.
pub(crate) fn sample_crop_box(height: i64, width: i64, draws: &mut Draws) -> Rectangle {
    // torchvision calls the first candidate side the width here (and the height in `RandomErasing`).
    let fits = |w: i64, h: i64| 0 < w && w <= width && 0 < h && h <= height;
    match rectangle::first_fit((height * width) as f64, SCALE, RATIO, fits, draws) {
        Some((w, h)) => {
            let top = draws.up_to(height - h);
            let left = draws.up_to(width - w);
            Rectangle { top, left, height: h, width: w }
        }
        None => {
            // torchvision centres the fallback box.
            let (h, w) = fallback_box(height, width);
            Rectangle { top: (height - h) / 2, left: (width - w) / 2, height: h, width: w }
        }
    }
}

/// torchvision's fallback when no attempt fits: the largest centred box whose aspect ratio is within [`RATIO`]
/// (the whole image for the square images of every dataset here).
fn fallback_box(height: i64, width: i64) -> (i64, i64) {
    let in_ratio = width as f64 / height as f64;
    if in_ratio < RATIO.0 {
        (rectangle::round_half_even(width as f64 / RATIO.0), width)
    } else if in_ratio > RATIO.1 {
        (height, rectangle::round_half_even(height as f64 * RATIO.1))
    } else {
        (height, width)
    }
}

/// Crop each image of `images` (uint8 `[N, C, H, W]`, any device) to its box and resize it to `side` x `side` with
/// Pillow's antialiased bicubic filter; uint8 `[N, C, side, side]` on the same device. This is the tensor path,
/// one gather per tap across the batch; the CPU runs [`super::cpu`]'s loops instead, which give the same bytes.
pub(crate) fn resized_crop(images: &Tensor, boxes: &[Rectangle], side: i64) -> Tensor {
    let columns: Vec<AxisTaps> = boxes.iter().map(|b| taps(b.left, b.width, side)).collect();
    let rows: Vec<AxisTaps> = boxes.iter().map(|b| taps(b.top, b.height, side)).collect();
    let device = images.device();
    let x = Taps::stack(&columns).to_device(device).resample(&images.to_kind(Kind::Int), 3); // [N, C, H, side]
    Taps::stack(&rows).to_device(device).resample(&x, 2).to_kind(Kind::Uint8) // [N, C, side, side]
}

/// Pillow's taps for resizing `[start, start + length)` of an axis to `side` pixels.
pub(super) fn taps(start: i64, length: i64, side: i64) -> AxisTaps {
    pixels::resample::bicubic_taps(start as usize, length as usize, side as usize)
}

/// The taps of a resampling pass of a batch: for each image and output pixel, `taps` source pixels (absolute
/// indices into the axis) and their integer weights; both `[N, out, taps]`, int64 and int32. Unused taps have
/// weight 0 and point at a valid pixel.
#[derive(Debug)]
struct Taps {
    source: Tensor,
    weight: Tensor,
}

impl Taps {
    /// One image's [`AxisTaps`] after another, padded to the longest window.
    fn stack(axes: &[AxisTaps]) -> Taps {
        let out = axes.first().map_or(0, |a| a.first.len());
        let taps = axes.iter().flat_map(|a| a.weights.iter().map(Vec::len)).max().unwrap_or(1);
        let mut source = Vec::with_capacity(axes.len() * out * taps);
        let mut weight = Vec::with_capacity(axes.len() * out * taps);
        for axis in axes {
            for (first, weights) in axis.first.iter().zip(&axis.weights) {
                for tap in 0..taps {
                    // A tap past the window's end has weight 0; it stays on the window's first pixel.
                    source.push((first + if tap < weights.len() { tap } else { 0 }) as i64);
                    weight.push(weights.get(tap).copied().unwrap_or(0));
                }
            }
        }
        let shape = [axes.len() as i64, out as i64, taps as i64];
        Taps { source: Tensor::from_slice(&source).view(shape), weight: Tensor::from_slice(&weight).view(shape) }
    }

    fn to_device(&self, device: tch::Device) -> Taps {
        Taps { source: upload(&self.source, device), weight: upload(&self.weight, device) }
    }

    /// Resample `levels` (int32 `[N, C, H, W]`) along `dim` (2 or 3): Pillow's `ImagingResample{Horizontal,
    /// Vertical}_8bpc`, i.e. `clip8(2^21 + sum(level * weight))`, as int32 levels in 0..=255. The int32 sums cannot
    /// overflow: a cubic kernel's absolute weights sum to less than 1.3, so `|sum| < 255 * 1.3 * 2^22 < 2^31`.
    fn resample(&self, levels: &Tensor, dim: i64) -> Tensor {
        let mut shape = levels.size();
        let out = self.source.size()[1];
        shape[dim as usize] = out;
        // Per image, the out pixels along `dim`, broadcast over the other axes.
        let along = |t: &Tensor| if dim == 3 { t.view([-1, 1, 1, out]) } else { t.view([-1, 1, out, 1]) };
        // Tap-major copies, so that each tap's sources and weights are contiguous.
        let sources = self.source.permute([2, 0, 1]).contiguous();
        let weights = self.weight.permute([2, 0, 1]).contiguous();
        let mut sum = Tensor::full(shape.as_slice(), 1i64 << (PRECISION_BITS - 1), (Kind::Int, levels.device()));
        for tap in 0..sources.size()[0] {
            let source = along(&sources.get(tap)).expand(shape.as_slice(), false);
            let _ = sum.addcmul_(&levels.gather(dim, &source, false), &along(&weights.get(tap)));
        }
        sum.floor_divide_scalar(1i64 << PRECISION_BITS).clamp(0, 255)
    }
}

#[cfg(test)]
mod tests {
    use super::super::reference::Reference;
    use super::*;

    fn one_box(top: i64, left: i64, height: i64, width: i64) -> Vec<Rectangle> {
        vec![Rectangle { top, left, height, width }]
    }

    #[test]
    fn resized_crop_matches_pillow_via_torchvision_exactly() {
        let reference = Reference::load();
        let image = reference.image("colours");
        for case in &reference.resized_crop {
            let out = resized_crop(&image, &one_box(case.top, case.left, case.height, case.width), case.side);
            assert_eq!(out.size(), vec![1, 3, case.side, case.side]);
            let got = Vec::<u8>::try_from(out.flatten(0, -1)).unwrap();
            let wrong = got.iter().zip(&case.output).filter(|(g, w)| g != w).count();
            assert_eq!(wrong, 0, "box {:?}: {wrong} values differ from Pillow's", (case.top, case.left, case.height));
        }
    }

    #[test]
    fn taps_are_normalised_stay_in_the_crop_and_are_the_identity_when_the_size_is_kept() {
        let one = 1i32 << PRECISION_BITS;
        let identity = taps(0, 8, 8);
        // Same size: windows of up to 4 taps (support 2), only the one on the pixel itself weighted.
        assert!(identity.weights.iter().all(|w| w.len() <= 4));
        for (out, (first, weights)) in identity.first.iter().zip(&identity.weights).enumerate() {
            let weighted: Vec<(usize, i32)> =
                weights.iter().enumerate().filter(|(_, w)| **w != 0).map(|(t, w)| (first + t, *w)).collect();
            assert_eq!(weighted, vec![(out, one)]);
        }

        for (start, length) in [(3, 20), (0, 32)] {
            let shrink = taps(start, length, 12);
            for (first, weights) in shrink.first.iter().zip(&shrink.weights) {
                // Each output pixel's weights sum to one up to the rounding of its taps.
                let sum: i64 = weights.iter().map(|w| i64::from(*w)).sum();
                assert!((sum - i64::from(one)).abs() <= weights.len() as i64);
                // The weighted taps stay inside the crop.
                let last = first + weights.len() - 1;
                assert!(*first >= start as usize && last < (start + length) as usize, "window [{first}, {last}]");
            }
        }
    }

    #[test]
    fn sampled_boxes_respect_scale_ratio_and_bounds() {
        let (n, side) = (4000, 256);
        let mut draws = Draws::new(11);
        let boxes: Vec<Rectangle> = (0..n).map(|_| sample_crop_box(side, side, &mut draws)).collect();
        let area = (side * side) as f64;
        for b in &boxes {
            assert!(b.top >= 0 && b.top + b.height <= side && b.left >= 0 && b.left + b.width <= side);
            let (h, w) = (b.height as f64, b.width as f64);
            // Rounding each side to a whole pixel moves area and ratio by at most about one pixel's worth.
            assert!(h * w >= SCALE.0 * area - 2.0 * side as f64 && h * w <= area, "area {}", h * w);
            assert!(w / h >= RATIO.0 - 0.01 && w / h <= RATIO.1 + 0.01, "ratio {}", w / h);
        }
        // torchvision's sampler gives a mean area fraction of 0.693 (20,000 draws of make_params; the fits
        // that fail near full area pull it below the 0.75 of U(0.5, 1)); the standard error here is 0.002.
        let mean_fraction = boxes.iter().map(|b| (b.height * b.width) as f64 / area).sum::<f64>() / n as f64;
        assert!((0.675..0.711).contains(&mean_fraction), "mean area fraction {mean_fraction}");
        assert!(boxes.iter().any(|b| b.top > 50) && boxes.iter().any(|b| b.left > 50), "positions never move");
    }

    #[test]
    fn fallback_is_the_whole_square_image_or_a_centred_box() {
        assert_eq!(fallback_box(256, 256), (256, 256));
        assert_eq!(fallback_box(100, 300), (100, 133));
        assert_eq!(fallback_box(300, 100), (133, 100));
        // A 1-px-wide image: no attempt of scale >= 0.5 with ratio >= 3/4 fits, so every box is the fallback,
        // centred: height round(1 / (3/4)) = 1, top (40 - 1) / 2 = 19.
        let mut draws = Draws::new(0);
        assert_eq!(sample_crop_box(40, 1, &mut draws), Rectangle { top: 19, left: 0, height: 1, width: 1 });
    }
}
