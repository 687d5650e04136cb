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
use tch::{Device, Kind, Tensor};

use super::rectangle::{candidate_sides, first_fit, position};

/// Area fraction of the stored image that a crop covers (the original's `scale=(0.5, 1.0)`).
pub const SCALE: (f64, f64) = (0.5, 1.0);
/// Aspect ratios (width / height) of a crop (torchvision's default `ratio=(3/4, 4/3)`).
pub const RATIO: (f64, f64) = (3.0 / 4.0, 4.0 / 3.0);

/// One crop box per image, in pixels of the stored image: `[N]` i64 tensors on the images' device.
#[derive(Debug)]
pub struct CropBoxes {
    pub top: Tensor,
    pub left: Tensor,
    pub height: Tensor,
    pub width: Tensor,
}

/// Draw a crop box for each of `n` images of `height` x `width` pixels, as `RandomResizedCrop.make_params` does.
pub fn sample_crop_boxes(n: i64, height: i64, width: i64, device: Device) -> CropBoxes {
    let (widths, heights) = candidate_sides(n, (height * width) as f64, SCALE, RATIO, device);
    let fits = widths.gt(0).logical_and(&widths.le(width)).logical_and(&heights.gt(0)).logical_and(&heights.le(height));
    let (index, found) = first_fit(&fits);
    let (fallback_height, fallback_width) = fallback_box(height, width);
    let pick = |sides: &Tensor, fallback: i64| {
        sides.gather(1, &index, false).squeeze_dim(1).where_scalarother(&found, fallback)
    };
    let box_height = pick(&heights, fallback_height);
    let box_width = pick(&widths, fallback_width);
    let top = position(&(-&box_height + height));
    let left = position(&(-&box_width + width));
    // torchvision centres the fallback box.
    let top = top.where_scalarother(&found, (height - fallback_height) / 2);
    let left = left.where_scalarother(&found, (width - fallback_width) / 2);
    CropBoxes { top, left, height: box_height, width: box_width }
}

/// torchvision's fallback when no attempt fits: the largest centred box whose aspect ratio is within [`RATIO`]
/// (the whole image for the square images of every dataset here).
fn fallback_box(height: i64, width: i64) -> (i64, i64) {
    let in_ratio = width as f64 / height as f64;
    if in_ratio < RATIO.0 {
        (round_half_even(width as f64 / RATIO.0), width)
    } else if in_ratio > RATIO.1 {
        (height, round_half_even(height as f64 * RATIO.1))
    } else {
        (height, width)
    }
}

fn round_half_even(x: f64) -> i64 {
    x.round_ties_even() as i64
}

/// Crop each image of `images` (uint8 `[N, C, H, W]`) to its box and resize it to `side` x `side` with Pillow's
/// antialiased bicubic filter; uint8 `[N, C, side, side]` on the same device.
pub fn resized_crop(images: &Tensor, boxes: &CropBoxes, side: i64) -> Tensor {
    let size = images.size();
    let (height, width) = (size[2], size[3]);
    let columns = pil_bicubic_taps(&boxes.left, &boxes.width, width, side);
    let rows = pil_bicubic_taps(&boxes.top, &boxes.height, height, side);
    let x = columns.resample(&images.to_kind(Kind::Int), 3); // [N, C, H, side]
    rows.resample(&x, 2).to_kind(Kind::Uint8) // [N, C, side, side]
}

/// Pillow's fixed-point precision for 8-bit resampling (`PRECISION_BITS = 32 - 8 - 2`).
const PRECISION_BITS: i32 = 22;

/// The taps of a resampling pass: for each image and output pixel, `taps` source pixels (absolute indices into
/// the axis) and their integer weights in units of `2^-PRECISION_BITS`; both `[N, out, taps]`, int64 and int32.
/// Unused taps have weight 0.
#[derive(Debug)]
pub struct Taps {
    pub source: Tensor,
    pub weight: Tensor,
}

impl Taps {
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

/// Pillow's resampling taps (`precompute_coeffs` + `normalize_coeffs_8bpc` in `Resample.c`) for resizing the span
/// `[start, start + length)` (`[N]` i64 each) of an axis of `in_size` pixels to `out_size` pixels.
pub fn pil_bicubic_taps(start: &Tensor, length: &Tensor, in_size: i64, out_size: i64) -> Taps {
    let device = start.device();
    let start = start.to_kind(Kind::Double).view([-1, 1, 1]);
    let length = length.to_kind(Kind::Double).view([-1, 1, 1]);
    let out = Tensor::arange(out_size, (Kind::Double, device)).view([1, -1, 1]);
    // Enough taps for the longest span an image can have (the whole axis). A window `[floor(c - s + 1/2),
    // floor(c + s + 1/2))` holds at most ceil(2 s) pixels (with 2 s an integer, one more only through rounding, and
    // that pixel sits at the kernel's edge, weight 0), fewer than Pillow's bound `ksize = 2 ceil(s) + 1`.
    let taps = (4.0 * (in_size as f64 / out_size as f64).max(1.0)).ceil() as i64;
    let tap = Tensor::arange(taps, (Kind::Double, device)).view([1, 1, -1]);

    let scale = &length / out_size as f64;
    // Shrinking stretches the kernel by the shrink factor (antialiasing); enlarging keeps its support of 2.
    let filter_scale = scale.clamp_min(1.0);
    let support = &filter_scale * 2.0;
    let centre = (out + 0.5) * &scale;
    // The first and one-past-last source pixels of each output pixel, rounded as Pillow's `(int)(x + 0.5)`.
    let first = (&centre - &support + 0.5).floor().clamp_min(0.0);
    let end = (&centre + &support + 0.5).floor().minimum(&length);
    let local = first + tap; // in the cropped image's coordinates
    let used = local.lt_tensor(&end).to_kind(Kind::Double);
    let weights = bicubic((&local - centre + 0.5) * filter_scale.reciprocal()) * used;
    let weights = &weights / weights.sum_dim_intlist(-1, true, Kind::Double);
    // Quantise as Pillow does: round half away from zero to PRECISION_BITS fractional bits.
    let unit = f64::from(1u32 << PRECISION_BITS);
    let weight = ((weights.abs() * unit + 0.5).floor() * weights.sign()).to_kind(Kind::Int);
    // Unused taps (weight 0) point at a valid pixel so that the gather stays in range.
    let source = (local + start).clamp(0.0, (in_size - 1) as f64).to_kind(Kind::Int64);
    Taps { source, weight }
}

/// Pillow's cubic convolution kernel (`bicubic_filter`, `a = -0.5`), support 2.
fn bicubic(x: Tensor) -> Tensor {
    const A: f64 = -0.5;
    let x = x.abs();
    let near = (((&x * (A + 2.0)) - (A + 3.0)) * &x * &x) + 1.0;
    let far = (((&x - 5.0) * &x + 8.0) * &x - 4.0) * A;
    let zero = x.zeros_like();
    near.where_self(&x.lt(1.0), &far.where_self(&x.lt(2.0), &zero))
}

#[cfg(test)]
mod tests {
    use super::super::reference::Reference;
    use super::*;

    fn boxes(top: i64, left: i64, height: i64, width: i64) -> CropBoxes {
        let one = |v: i64| Tensor::from_slice(&[v]);
        CropBoxes { top: one(top), left: one(left), height: one(height), width: one(width) }
    }

    #[test]
    fn resized_crop_matches_pillow_via_torchvision_exactly() {
        let reference = Reference::load();
        let image = reference.image("colours");
        for case in &reference.resized_crop {
            let out = resized_crop(&image, &boxes(case.top, case.left, case.height, case.width), case.side);
            assert_eq!(out.size(), vec![1, 3, case.side, case.side]);
            let got = Vec::<u8>::try_from(out.flatten(0, -1)).unwrap();
            let wrong = got.iter().zip(&case.output).filter(|(g, w)| g != w).count();
            assert_eq!(wrong, 0, "box {:?}: {wrong} values differ from Pillow's", (case.top, case.left, case.height));
        }
    }

    #[test]
    fn taps_are_normalised_stay_in_the_crop_and_are_the_identity_when_the_size_is_kept() {
        let one = 1i64 << PRECISION_BITS;
        let taps = pil_bicubic_taps(&Tensor::from_slice(&[0i64]), &Tensor::from_slice(&[8i64]), 8, 8);
        // Same size: 4 taps (support 2), only the one on the pixel itself weighted.
        assert_eq!(taps.weight.size(), vec![1, 8, 4]);
        let weighted = taps.weight.ne(0);
        assert!(taps.weight.masked_select(&weighted).eq(one).all().equal(&Tensor::from(true)));
        let at = taps.source.masked_select(&weighted);
        assert!(at.equal(&Tensor::arange(8, (Kind::Int64, Device::Cpu))));

        let taps = pil_bicubic_taps(&Tensor::from_slice(&[3i64, 0]), &Tensor::from_slice(&[20i64, 32]), 32, 12);
        // Each output pixel's weights sum to one up to the rounding of its taps.
        let sums = taps.weight.to_kind(Kind::Int64).sum_dim_intlist(-1, false, Kind::Int64);
        assert!(i64::try_from((sums - one).abs().max()).unwrap() <= taps.weight.size()[2]);
        // The first image's weighted taps stay inside its crop [3, 23).
        let used = taps.source.get(0).masked_select(&taps.weight.get(0).ne(0));
        assert!(i64::try_from(used.min()).unwrap() >= 3 && i64::try_from(used.max()).unwrap() < 23);
    }

    #[test]
    fn sampled_boxes_respect_scale_ratio_and_bounds() {
        tch::manual_seed(11);
        let (n, side) = (4000, 256);
        let b = sample_crop_boxes(n, side, side, Device::Cpu);
        let v = |t: &Tensor| Vec::<i64>::try_from(t).unwrap();
        let (top, left, height, width) = (v(&b.top), v(&b.left), v(&b.height), v(&b.width));
        let area = (side * side) as f64;
        for i in 0..n as usize {
            assert!(top[i] >= 0 && top[i] + height[i] <= side && left[i] >= 0 && left[i] + width[i] <= side);
            let (h, w) = (height[i] as f64, width[i] as f64);
            // Rounding each side to a whole pixel moves area and ratio by at most about one pixel's worth.
            assert!(h * w >= SCALE.0 * area - 2.0 * side as f64 && h * w <= area, "area {}", h * w);
            assert!(w / h >= RATIO.0 - 0.01 && w / h <= RATIO.1 + 0.01, "ratio {}", w / h);
        }
        // torchvision's sampler gives a mean area fraction of 0.693 (20,000 draws of make_params; the fits
        // that fail near full area pull it below the 0.75 of U(0.5, 1)); the standard error here is 0.002.
        let mean_fraction = (0..n as usize).map(|i| (height[i] * width[i]) as f64 / area).sum::<f64>() / n as f64;
        assert!((0.675..0.711).contains(&mean_fraction), "mean area fraction {mean_fraction}");
        assert!(top.iter().any(|t| *t > 50) && left.iter().any(|l| *l > 50), "positions never move");
    }

    #[test]
    fn fallback_is_the_whole_square_image_or_a_centred_box() {
        assert_eq!(fallback_box(256, 256), (256, 256));
        assert_eq!(fallback_box(100, 300), (100, 133));
        assert_eq!(fallback_box(300, 100), (133, 100));
    }
}
