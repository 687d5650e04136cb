//! torchvision's rectangle sampler, shared by `RandomResizedCrop` and `RandomErasing`
//! (`torchvision/transforms/v2/_geometry.py` and `_augment.py`, `make_params`), vectorised over a batch.
//!
//! torchvision makes up to 10 attempts per image: an area fraction drawn uniformly from `scale`, an aspect ratio
//! drawn log-uniformly from `ratio`, sides rounded to whole pixels (Python's `round`, half to even); the first
//! attempt that fits is used. Here every image draws all 10 attempts at once and picks its first fit, so the
//! number of random draws does not depend on the data (a batch is reproducible from the seed alone).
use tch::{Device, Kind, Tensor};

/// Attempts per image, as in torchvision.
pub(super) const ATTEMPTS: i64 = 10;

/// Candidate sides of `n` images, `[n, ATTEMPTS]` i64 each: `round(sqrt(area * ratio))` and
/// `round(sqrt(area / ratio))`, with `area = image_area * U(scale)` and `ratio = exp(U(ln ratio))`.
/// (The crop calls the first the width, the erasing calls it the height, as torchvision does.)
pub(super) fn candidate_sides(
    n: i64,
    image_area: f64,
    scale: (f64, f64),
    ratio: (f64, f64),
    device: Device,
) -> (Tensor, Tensor) {
    let area = uniform(&[n, ATTEMPTS], scale, device) * image_area;
    let ratio = uniform(&[n, ATTEMPTS], (ratio.0.ln(), ratio.1.ln()), device).exp();
    let times = (&area * &ratio).sqrt().round().to_kind(Kind::Int64);
    let over = (area / ratio).sqrt().round().to_kind(Kind::Int64);
    (times, over)
}

/// For `fits` (`[n, ATTEMPTS]` bool): the index of each image's first fitting attempt (`[n, 1]` i64, 0 when none
/// fits) and whether any attempt fits (`[n]` bool).
pub(super) fn first_fit(fits: &Tensor) -> (Tensor, Tensor) {
    // argmax returns the first maximal index, i.e. the first `true`.
    let index = fits.to_kind(Kind::Int64).argmax(1, true);
    (index, fits.any_dim(1, false))
}

/// `torch.randint(0, room + 1)` per image: a uniform integer in `0..=room` (`room`: `[n]` i64).
pub(super) fn position(room: &Tensor) -> Tensor {
    let u = Tensor::rand(room.size(), (Kind::Double, room.device()));
    // The clamp guards the one-ulp case where u * (room + 1) rounds up to room + 1.
    (u * (room + 1)).floor().to_kind(Kind::Int64).minimum(room)
}

/// `U(low, high)` in f64 on `device`.
pub(super) fn uniform(size: &[i64], (low, high): (f64, f64), device: Device) -> Tensor {
    Tensor::rand(size, (Kind::Double, device)) * (high - low) + low
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_fit_picks_the_first_true_and_flags_rows_without_one() {
        let fits = Tensor::from_slice(&[false, true, true, false, false, false, true, false, false]).view([3, 3]);
        let (index, found) = first_fit(&fits);
        assert_eq!(Vec::<i64>::try_from(index.view([-1])).unwrap(), vec![1, 0, 0]);
        assert_eq!(Vec::<bool>::try_from(found).unwrap(), vec![true, false, true]);
    }

    #[test]
    fn positions_cover_the_whole_range_and_stay_in_it() {
        let room = Tensor::full([4000], 3, (Kind::Int64, Device::Cpu));
        let pos = position(&room);
        let counts = pos.bincount(None::<Tensor>, 4);
        let counts = Vec::<i64>::try_from(counts).unwrap();
        assert_eq!(counts.len(), 4, "values outside 0..=3");
        assert!(counts.iter().all(|c| (800..1200).contains(c)), "not uniform: {counts:?}");
    }
}
