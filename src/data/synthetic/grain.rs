//! Fine surface grain: the structure that carries an object's or a class's identity in the stand-ins calibrated to
//! the originals' blur tolerance (issue 19, `paper/DATA.md`).
//!
//! A photograph tells a toy from its siblings, or one ImageNet class from another, by markings and textures a few
//! pixels across, which blur takes away first; the first version's stand-ins told them apart by colour and outline,
//! which blur keeps. A grain is one of a few periodic patterns, all at one spatial frequency given in cycles per
//! image (so that a calibration sets where in the spectrum the identity lies, and blur of a known sigma removes it
//! by a known factor), in a kind and orientation fixed per class ([`Recipe`]) and a phase drawn per image.
use std::f32::consts::{FRAC_PI_2, FRAC_PI_4, PI};

use rand::Rng;

use super::raster::{sample, uniform, v2, Span, Turn, V2};

/// The kinds of grain, in the order identities use them (`ALL[i % ALL.len()]`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    /// Parallel stripes.
    Stripes,
    /// A checkerboard of soft squares (two crossed waves multiplied).
    Checks,
    /// Round spots on a square lattice.
    Dots,
    /// Three waves at 60° to each other: a hexagonal lattice of blobs.
    Hexes,
    /// Stripes bent into a zigzag.
    Zigzag,
}

impl Kind {
    pub(crate) const ALL: [Kind; 5] = [Kind::Stripes, Kind::Checks, Kind::Dots, Kind::Hexes, Kind::Zigzag];
}

/// A grain as a class wears it: its kind and orientation fixed per class, its frequency band and contrast fixed per
/// stand-in, its phase drawn per image.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct Recipe {
    pub(crate) kind: Kind,
    /// Radians; `0` is upright (stripes run up the image).
    pub(crate) turn: f32,
    pub(crate) cycles: Span,
    pub(crate) contrast: f32,
}

impl Recipe {
    /// This image's grain, in a random phase and at a frequency drawn from the recipe's band.
    pub(crate) fn draw(&self, rng: &mut impl Rng) -> Grain {
        Grain::draw(self.kind, self.cycles, (self.turn, self.turn), self.contrast, rng)
    }
}

/// The class grains of the category-level stand-ins (Toybox categories, ImageNet-12, ImageNet-100): a kind and an
/// orientation per class, in class order. Orientation is part of a class's grain because the five kinds alone
/// would name only five classes; stripes come in four orientations, the others in two (checks and dots repeat after
/// a quarter turn, so their second orientation is an eighth).
pub(crate) const CLASS_GRAINS: [(Kind, f32); 12] = [
    (Kind::Stripes, 0.0),
    (Kind::Checks, 0.0),
    (Kind::Dots, 0.0),
    (Kind::Hexes, 0.0),
    (Kind::Zigzag, 0.0),
    (Kind::Stripes, FRAC_PI_2),
    (Kind::Checks, FRAC_PI_4),
    (Kind::Dots, FRAC_PI_4),
    (Kind::Hexes, FRAC_PI_2),
    (Kind::Zigzag, FRAC_PI_2),
    (Kind::Stripes, FRAC_PI_4),
    (Kind::Stripes, 3.0 * FRAC_PI_4),
];

/// One image's grain: its kind, frequency, orientation, phase and contrast.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct Grain {
    kind: Kind,
    /// Radians per unit of canvas coordinates (`PI * cycles per image`, the canvas spanning 2 units).
    omega: f32,
    turn: Turn,
    phase: V2,
    contrast: f32,
}

impl Grain {
    /// A grain of `kind` at `cycles` per image and turned by `turn` radians (each drawn from its span), in a random
    /// phase.
    pub(crate) fn draw(kind: Kind, cycles: Span, turn: Span, contrast: f32, rng: &mut impl Rng) -> Grain {
        let omega = PI * sample(rng, cycles);
        let turn = Turn::new(sample(rng, turn));
        let phase = v2(uniform(rng, 0.0, 2.0 * PI), uniform(rng, 0.0, 2.0 * PI));
        Grain { kind, omega, turn, phase, contrast }
    }

    /// The pattern at canvas point `p`, in `-1..=1`.
    fn pattern(&self, p: V2) -> f32 {
        let r = p.unturned(self.turn) * self.omega + self.phase;
        match self.kind {
            Kind::Stripes => r.x.sin(),
            Kind::Checks => 2.0 * (r.x.sin() * r.y.sin()).clamp(-0.5, 0.5),
            Kind::Dots => (2.0 * (r.x.cos() + r.y.cos()) - 1.5).clamp(-1.0, 1.0),
            Kind::Hexes => {
                let wave = |angle: f32| r.dot(v2(angle.cos(), angle.sin())).cos();
                ((wave(0.0) + wave(PI / 3.0) + wave(2.0 * PI / 3.0)) * 0.8 - 0.6).clamp(-1.0, 1.0)
            }
            Kind::Zigzag => {
                // A triangle wave of period 4π across the stripes, one radian deep.
                let zig = ((r.y / (4.0 * PI)).rem_euclid(1.0) - 0.5).abs() * 4.0 - 1.0;
                (r.x + 1.6 * zig).sin()
            }
        }
    }

    /// The brightness factor the grain gives canvas point `p`: `1 + contrast * pattern`.
    pub(crate) fn gain(&self, p: V2) -> f32 {
        1.0 + self.contrast * self.pattern(p)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    #[test]
    fn every_grain_stays_within_its_contrast_and_varies() {
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        for kind in Kind::ALL {
            let grain = Grain::draw(kind, (12.0, 12.0), (0.0, PI), 0.3, &mut rng);
            let gains: Vec<f32> = (0..64 * 64)
                .map(|i| grain.gain(v2((i % 64) as f32 / 32.0 - 1.0, (i / 64) as f32 / 32.0 - 1.0)))
                .collect();
            let (lo, hi) = gains.iter().fold((f32::MAX, f32::MIN), |(lo, hi), &g| (lo.min(g), hi.max(g)));
            assert!(lo >= 0.7 - 1e-5 && hi <= 1.3 + 1e-5, "{kind:?}: {lo}..{hi}");
            assert!(hi - lo > 0.4, "{kind:?}: a grain has contrast ({lo}..{hi})");
        }
    }

    #[test]
    fn stripes_have_the_requested_cycles_per_image() {
        let mut rng = ChaCha8Rng::seed_from_u64(2);
        let mut grain = Grain::draw(Kind::Stripes, (8.0, 8.0), (0.0, 0.0), 1.0, &mut rng);
        grain.phase = v2(0.1, 0.0);
        // Sign changes along x over the image: two per cycle.
        let signs: Vec<bool> = (0..512).map(|i| grain.pattern(v2(i as f32 / 256.0 - 1.0, 0.0)) > 0.0).collect();
        assert_eq!(signs.windows(2).filter(|w| w[0] != w[1]).count(), 16);
    }
}
