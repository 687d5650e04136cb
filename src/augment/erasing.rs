//! `RandomErasing(p=0.5)` with torchvision's defaults (`scale=(0.02, 0.33)`, `ratio=(0.3, 3.3)`, `value=0`),
//! applied after normalisation as in the original, batched: each image draws whether to erase and, if so, its
//! rectangle (torchvision's sampler, [`super::rectangle`]); when none of the 10 attempts fits, the image is left
//! alone, as torchvision does.
use tch::{Kind, Tensor};

use super::rectangle::{self, Rectangle};
use crate::draws::{upload, Draws};

/// Probability of erasing (the original's `RandomErasing(p=0.5)`).
pub(crate) const PROBABILITY: f64 = 0.5;
/// Area fraction of an erased rectangle (torchvision's default).
pub(crate) const SCALE: (f64, f64) = (0.02, 0.33);
/// Aspect ratios of an erased rectangle (torchvision's default; height / width, as torchvision draws it).
pub(crate) const RATIO: (f64, f64) = (0.3, 3.3);

/// Draw what one image of `height` x `width` pixels erases: `None` when it is not erased.
pub(crate) fn sample_rectangle(height: i64, width: i64, draws: &mut Draws) -> Option<Rectangle> {
    // `_RandomApplyTransform`: skip when `torch.rand(1) >= p`.
    if draws.unit() >= PROBABILITY {
        return None;
    }
    let fits = |h: i64, w: i64| h < height && w < width;
    let (h, w) = rectangle::first_fit((height * width) as f64, SCALE, RATIO, fits, draws)?;
    let top = draws.up_to(height - h);
    let left = draws.up_to(width - w);
    Some(Rectangle { top, left, height: h, width: w })
}

/// Set each image's rectangle of `images` (float `[N, C, H, W]`, any device) to 0 (`rectangles`: one per image).
pub(crate) fn erase(images: &Tensor, rectangles: &[Option<Rectangle>]) -> Tensor {
    if rectangles.iter().all(Option::is_none) {
        return images.shallow_clone();
    }
    let size = images.size();
    images.masked_fill(&mask(rectangles, size[2], size[3], images.device()), 0.0)
}

/// `[N, 1, H, W]` bool on `device`: the pixels each image erases.
fn mask(rectangles: &[Option<Rectangle>], height: i64, width: i64, device: tch::Device) -> Tensor {
    // An image that is not erased gets an empty rectangle.
    let bounds: Vec<[i64; 4]> = rectangles
        .iter()
        .map(|r| r.map_or([0, 0, 0, 0], |r| [r.top, r.top + r.height, r.left, r.left + r.width]))
        .collect();
    let bounds = upload(&Tensor::from_slice(bounds.as_flattened()).view([-1, 4]), device);
    let per_image = |column: i64| bounds.select(1, column).view([-1, 1, 1, 1]);
    let rows = Tensor::arange(height, (Kind::Int64, device)).view([1, 1, -1, 1]);
    let columns = Tensor::arange(width, (Kind::Int64, device)).view([1, 1, 1, -1]);
    let in_rows = rows.ge_tensor(&per_image(0)).logical_and(&rows.lt_tensor(&per_image(1)));
    let in_columns = columns.ge_tensor(&per_image(2)).logical_and(&columns.lt_tensor(&per_image(3)));
    in_rows.logical_and(&in_columns)
}

#[cfg(test)]
mod tests {
    use super::*;
    use tch::Device;

    #[test]
    fn about_half_the_images_lose_one_rectangle_of_the_right_size() {
        let (n, side) = (2000, 64);
        let mut draws = Draws::new(2);
        let rectangles: Vec<Option<Rectangle>> = (0..n).map(|_| sample_rectangle(side, side, &mut draws)).collect();
        let mask = mask(&rectangles, side, side, Device::Cpu);
        let area = mask.sum_dim_intlist([1i64, 2, 3].as_slice(), false, Kind::Int64);
        let area = Vec::<i64>::try_from(area).unwrap();
        let erased = area.iter().filter(|a| **a > 0).count() as f64 / n as f64;
        assert!((0.45..0.55).contains(&erased), "erased fraction {erased}");
        let image_area = (side * side) as f64;
        for (i, a) in area.iter().enumerate().filter(|(_, a)| **a > 0) {
            let fraction = *a as f64 / image_area;
            assert!(fraction > 0.015 && fraction < 0.36, "image {i}: fraction {fraction}");
            // One solid rectangle: its bounding box has the same area.
            let m = mask.get(i as i64).get(0);
            let rows = m.any_dim(1, false).sum(Kind::Int64);
            let cols = m.any_dim(0, false).sum(Kind::Int64);
            assert_eq!(i64::try_from(rows * cols).unwrap(), *a);
        }
    }

    #[test]
    fn erase_zeroes_exactly_the_rectangles() {
        let images = Tensor::ones([2, 3, 4, 5], (Kind::Float, Device::Cpu));
        let rectangles = [None, Some(Rectangle { top: 1, left: 2, height: 2, width: 3 })];
        let out = erase(&images, &rectangles);
        assert!(out.get(0).equal(&images.get(0)));
        let zeros: Vec<f32> = Vec::try_from(out.get(1).get(2).eq(0.0).to_kind(Kind::Float).flatten(0, -1)).unwrap();
        #[rustfmt::skip]
        let want = [0., 0., 0., 0., 0.,
                    0., 0., 1., 1., 1.,
                    0., 0., 1., 1., 1.,
                    0., 0., 0., 0., 0.];
        assert_eq!(zeros, want);
    }
}
