//! `RandomErasing(p=0.5)` with torchvision's defaults (`scale=(0.02, 0.33)`, `ratio=(0.3, 3.3)`, `value=0`),
//! applied after normalisation as in the original, batched: each image draws whether to erase and its rectangle
//! (torchvision's sampler, [`super::rectangle`]); when none of the 10 attempts fits, the image is left alone, as
//! torchvision does.
use tch::{Device, Kind, Tensor};

use super::rectangle::{candidate_sides, first_fit, position};

/// Probability of erasing (the original's `RandomErasing(p=0.5)`).
pub const PROBABILITY: f64 = 0.5;
/// Area fraction of an erased rectangle (torchvision's default).
pub const SCALE: (f64, f64) = (0.02, 0.33);
/// Aspect ratios of an erased rectangle (torchvision's default; height / width, as torchvision draws it).
pub const RATIO: (f64, f64) = (0.3, 3.3);

/// Set a random rectangle of about half of the images of `images` (float `[N, C, H, W]`) to 0.
pub fn random_erasing(images: &Tensor) -> Tensor {
    let size = images.size();
    let (n, height, width) = (size[0], size[2], size[3]);
    let mask = sample_mask(n, height, width, images.device());
    images.masked_fill(&mask, 0.0)
}

/// `[N, 1, H, W]` bool: the pixels each image erases (none for the images that are not erased).
pub fn sample_mask(n: i64, height: i64, width: i64, device: Device) -> Tensor {
    let erase = Tensor::rand([n], (Kind::Double, device)).lt(PROBABILITY);
    let (heights, widths) = candidate_sides(n, (height * width) as f64, SCALE, RATIO, device);
    let (index, found) = first_fit(&heights.lt(height).logical_and(&widths.lt(width)));
    let box_height = heights.gather(1, &index, false).squeeze_dim(1);
    let box_width = widths.gather(1, &index, false).squeeze_dim(1);
    let top = position(&(-&box_height + height));
    let left = position(&(-&box_width + width));
    let rows = Tensor::arange(height, (Kind::Int64, device)).view([1, 1, -1, 1]);
    let columns = Tensor::arange(width, (Kind::Int64, device)).view([1, 1, 1, -1]);
    let per_image = |t: &Tensor| t.view([-1, 1, 1, 1]);
    let in_rows = rows.ge_tensor(&per_image(&top)).logical_and(&rows.lt_tensor(&per_image(&(&top + &box_height))));
    let in_columns =
        columns.ge_tensor(&per_image(&left)).logical_and(&columns.lt_tensor(&per_image(&(&left + &box_width))));
    in_rows.logical_and(&in_columns).logical_and(&per_image(&erase.logical_and(&found)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn about_half_the_images_lose_one_rectangle_of_the_right_size() {
        tch::manual_seed(2);
        let (n, side) = (2000, 64);
        let mask = sample_mask(n, side, side, Device::Cpu);
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
}
