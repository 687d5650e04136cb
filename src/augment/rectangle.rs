//! torchvision's rectangle sampler, shared by `RandomResizedCrop` and `RandomErasing`
//! (`torchvision/transforms/v2/_geometry.py` and `_augment.py`, `make_params`).
//!
//! torchvision makes up to 10 attempts per image: an area fraction drawn uniformly from `scale`, an aspect ratio
//! drawn log-uniformly from `ratio`, sides rounded to whole pixels (Python's `round`, half to even); the first
//! attempt that fits is used, and no further attempt is drawn. So does [`first_fit`], from a [`Draws`] stream.
use crate::draws::Draws;

/// Attempts per image, as in torchvision.
pub(super) const ATTEMPTS: usize = 10;

/// A rectangle of an image, in pixels.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Rectangle {
    pub top: i64,
    pub left: i64,
    pub height: i64,
    pub width: i64,
}

/// The first of up to [`ATTEMPTS`] candidate sides `(round(sqrt(area * ratio)), round(sqrt(area / ratio)))` for
/// which `fits` holds, with `area = image_area * U(scale)` and `ratio = exp(U(ln ratio))`; `None` when none fits.
/// (The crop calls the first side the width, the erasing calls it the height, as torchvision does.)
pub(super) fn first_fit(
    image_area: f64,
    scale: (f64, f64),
    ratio: (f64, f64),
    fits: impl Fn(i64, i64) -> bool,
    draws: &mut Draws,
) -> Option<(i64, i64)> {
    let log_ratio = (ratio.0.ln(), ratio.1.ln());
    (0..ATTEMPTS).find_map(|_| {
        let area = image_area * draws.uniform_values(1, scale)[0];
        let ratio = draws.uniform_values(1, log_ratio)[0].exp();
        let sides = (round_half_even((area * ratio).sqrt()), round_half_even((area / ratio).sqrt()));
        fits(sides.0, sides.1).then_some(sides)
    })
}

/// Python's `int(round(x))`: half to even.
pub(super) fn round_half_even(x: f64) -> i64 {
    x.round_ties_even() as i64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_fitting_attempt_is_taken_and_later_ones_are_not_drawn() {
        // Replay the stream by hand: attempt k consumes two numbers.
        let mut replay = Draws::new(4);
        let candidates: Vec<(i64, i64)> = (0..ATTEMPTS)
            .map(|_| {
                let area = 100.0 * (0.1 + replay.unit() * 0.8);
                let ratio = ((0.5f64).ln() + replay.unit() * ((2.0f64).ln() - (0.5f64).ln())).exp();
                (round_half_even((area * ratio).sqrt()), round_half_even((area / ratio).sqrt()))
            })
            .collect();
        // Accept only the third candidate: the sampler must return it and leave the stream after attempt 3.
        let third = candidates[2];
        let mut draws = Draws::new(4);
        let got = first_fit(100.0, (0.1, 0.9), (0.5, 2.0), |a, b| (a, b) == third, &mut draws);
        assert_eq!(got, Some(third));
        let mut after_three = Draws::new(4);
        after_three.uniform_values(6, (0.0, 1.0));
        assert_eq!(draws.unit(), after_three.unit());
        // Nothing fits: all ten attempts are drawn.
        let mut draws = Draws::new(4);
        assert_eq!(first_fit(100.0, (0.1, 0.9), (0.5, 2.0), |_, _| false, &mut draws), None);
        let mut after_ten = Draws::new(4);
        after_ten.uniform_values(20, (0.0, 1.0));
        assert_eq!(draws.unit(), after_ten.unit());
    }

    #[test]
    fn rounding_is_half_to_even() {
        assert_eq!([0.5, 1.5, 2.5, 2.4999, -0.5].map(round_half_even), [0, 2, 2, 2, 0]);
    }
}
