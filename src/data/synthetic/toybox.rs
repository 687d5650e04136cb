//! The Toybox stand-in: 12 categories of toy objects, each object a 3-D composition of its category's parts, filmed
//! as it rotates about x, y and z.
//!
//! **Keeps.** Toybox (Wang et al. 2018) films 30 hand-held toys per category, turning each about three axes; the
//! paper's instance-level task (360 classes, `category_index * 30 + object - 1`) tells the objects apart, its
//! category-level task (12 classes) names the category. Here each object is built from its category's parts
//! (ellipsoids, boxes and cylinders: a giraffe's long legs and neck, a mug's handle, a helicopter's rotor) with its
//! own proportions, colours and surface pattern, and every image is one frame of one of its three rotation videos:
//! a view at angle `frame * 360° / FRAMES_PER_VIDEO` about the world's x, y or z axis. Objects of one category share
//! their layout and a small colour palette, so telling objects apart needs fine geometry and surface detail, while
//! telling categories apart needs only the coarse layout. One object set serves both tasks (it depends on the seed,
//! not on the dataset), so the two tasks see the same toys, as in the original.
//!
//! **Splits.** Instance level: every object appears in every split; frames `k` with `k % 12 == 5` are validation
//! frames, `k % 12 == 11` test frames, the rest training frames (other frames of the same videos, as the original's
//! instance split). Category level: the test split holds out whole objects never seen in training, as the original
//! does: per category, the last `held_out` objects are test objects and the `held_out` before them validation
//! objects, with `held_out = max(2, ceil(objects_per_category / 10))` (3 of 30, 2 of 10); the others train.
//!
//! **Does not keep.** Real toys have rich textures, specular plastic, a hand that holds them and a changing room
//! behind them; the originals' videos also include translations and free "hodgepodge" motion. Here surfaces are
//! smooth and Lambertian with a little gloss, backgrounds plain gradients, and only the three rotations are filmed.
use std::f32::consts::{FRAC_PI_2, PI, TAU};
use std::ops::{Add, Mul, Sub};

use anyhow::{bail, Result};
use rand::Rng;
use rand_chacha::ChaCha8Rng;

use super::super::layout::TOYBOX_CATEGORIES;
use super::raster::{hsv, mix, scale, uniform, v2, Bounds, Canvas, Rgb, V2};

/// The original's 12 categories, in its class-index order (`Class ID`, [`TOYBOX_CATEGORIES`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Category {
    Airplane,
    Ball,
    Car,
    Cat,
    Cup,
    Duck,
    Giraffe,
    Helicopter,
    Horse,
    Mug,
    Spoon,
    Truck,
}

impl Category {
    /// Every category, at its class index.
    pub const ALL: [Category; 12] = [
        Category::Airplane,
        Category::Ball,
        Category::Car,
        Category::Cat,
        Category::Cup,
        Category::Duck,
        Category::Giraffe,
        Category::Helicopter,
        Category::Horse,
        Category::Mug,
        Category::Spoon,
        Category::Truck,
    ];

    /// The original's name of the category (`TOYBOX_CLASSES`).
    pub fn name(self) -> &'static str {
        TOYBOX_CATEGORIES[self.index()]
    }

    /// The original's class index of the category.
    pub fn index(self) -> usize {
        self as usize
    }

    /// Whether toys of the category are animals, whose colours are natural ones in photographs too.
    fn is_animal(self) -> bool {
        matches!(self, Category::Cat | Category::Duck | Category::Giraffe | Category::Horse)
    }
}

/// Frames per rotation video (one every 10°).
pub const FRAMES_PER_VIDEO: u32 = 36;

/// The rotation axes of the three videos of every object.
pub const AXES: [&str; 3] = ["x", "y", "z"];

#[derive(Clone, Copy, Debug, Default, PartialEq)]
struct V3 {
    x: f32,
    y: f32,
    z: f32,
}

const fn v3(x: f32, y: f32, z: f32) -> V3 {
    V3 { x, y, z }
}

impl V3 {
    fn dot(self, o: V3) -> f32 {
        self.x * o.x + self.y * o.y + self.z * o.z
    }

    fn normalized(self) -> V3 {
        self * (1.0 / self.dot(self).sqrt().max(1e-12))
    }

    fn get(self, axis: usize) -> f32 {
        [self.x, self.y, self.z][axis]
    }
}

impl Add for V3 {
    type Output = V3;
    fn add(self, o: V3) -> V3 {
        v3(self.x + o.x, self.y + o.y, self.z + o.z)
    }
}

impl Sub for V3 {
    type Output = V3;
    fn sub(self, o: V3) -> V3 {
        v3(self.x - o.x, self.y - o.y, self.z - o.z)
    }
}

impl Mul<f32> for V3 {
    type Output = V3;
    fn mul(self, k: f32) -> V3 {
        v3(self.x * k, self.y * k, self.z * k)
    }
}

/// A 3x3 matrix, row-major.
#[derive(Clone, Copy, Debug, PartialEq)]
struct M3([[f32; 3]; 3]);

impl M3 {
    const IDENTITY: M3 = M3([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]]);

    fn rotation(axis: usize, angle: f32) -> M3 {
        let (s, c) = angle.sin_cos();
        match axis {
            0 => M3([[1.0, 0.0, 0.0], [0.0, c, -s], [0.0, s, c]]),
            1 => M3([[c, 0.0, s], [0.0, 1.0, 0.0], [-s, 0.0, c]]),
            _ => M3([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]]),
        }
    }

    fn apply(&self, v: V3) -> V3 {
        let r = &self.0;
        v3(
            r[0][0] * v.x + r[0][1] * v.y + r[0][2] * v.z,
            r[1][0] * v.x + r[1][1] * v.y + r[1][2] * v.z,
            r[2][0] * v.x + r[2][1] * v.y + r[2][2] * v.z,
        )
    }

    fn then(&self, first: &M3) -> M3 {
        let mut out = [[0.0; 3]; 3];
        for (i, row) in out.iter_mut().enumerate() {
            for (j, value) in row.iter_mut().enumerate() {
                *value = (0..3).map(|k| self.0[i][k] * first.0[k][j]).sum();
            }
        }
        M3(out)
    }

    fn transpose(&self) -> M3 {
        let r = &self.0;
        M3([[r[0][0], r[1][0], r[2][0]], [r[0][1], r[1][1], r[2][1]], [r[0][2], r[1][2], r[2][2]]])
    }

    fn scale_columns(&self, k: V3) -> M3 {
        let r = &self.0;
        M3([
            [r[0][0] * k.x, r[0][1] * k.y, r[0][2] * k.z],
            [r[1][0] * k.x, r[1][1] * k.y, r[1][2] * k.z],
            [r[2][0] * k.x, r[2][1] * k.y, r[2][2] * k.z],
        ])
    }
}

/// The solid a part is made of, in its own frame: the unit ball, the cube `[-1, 1]³`, or the cylinder of radius 1 and
/// height 2 along local z.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Solid {
    Ellipsoid,
    Cuboid,
    Cylinder,
}

/// Surface detail in a part's own frame (fine detail that a blurry view loses).
#[derive(Clone, Copy, Debug, PartialEq)]
enum Pattern {
    Plain,
    /// Stripes across local `axis`, `frequency` periods over the part.
    Stripes {
        axis: usize,
        frequency: f32,
    },
    /// A band of `width` (in local units) around local `axis` = 0.
    Band {
        axis: usize,
        width: f32,
    },
    /// Spots on a 3-D lattice of `frequency` cells per unit.
    Spots {
        frequency: f32,
    },
}

#[derive(Clone, Debug, PartialEq)]
struct Part {
    solid: Solid,
    centre: V3,
    orientation: M3,
    half: V3,
    colour: Rgb,
    accent: Rgb,
    pattern: Pattern,
    gloss: f32,
}

/// One toy: its parts in object space (x forwards, y up, z to its left), scaled to fit the unit ball.
#[derive(Clone, Debug, PartialEq)]
pub struct Toy {
    parts: Vec<Part>,
}

/// A compact way to write a part: solid, centre, half-size, orientation and colours.
struct PartBuilder<'a> {
    parts: &'a mut Vec<Part>,
    colour: Rgb,
    accent: Rgb,
    pattern: Pattern,
    gloss: f32,
}

impl PartBuilder<'_> {
    fn add(&mut self, solid: Solid, centre: V3, half: V3, orientation: M3) {
        self.parts.push(Part {
            solid,
            centre,
            orientation,
            half,
            colour: self.colour,
            accent: self.accent,
            pattern: self.pattern,
            gloss: self.gloss,
        });
    }

    fn with(&mut self, colour: Rgb, pattern: Pattern) -> &mut Self {
        self.colour = colour;
        self.pattern = pattern;
        self
    }
}

/// Hues (turns) of each category's colour palette: objects of one category share three colours or fewer, as many
/// real toys of one kind do, so that colour alone does not tell objects apart (MINI-NOTES lesson 2: a label that a
/// coarse cue gives away makes a clear-trained model robust to blur and hides the paper's effect).
fn palette(category: Category) -> &'static [f32] {
    match category {
        Category::Airplane => &[0.58, 0.0, 0.12],
        Category::Ball => &[0.0, 0.15, 0.6],
        Category::Car => &[0.0, 0.6, 0.15],
        Category::Cat => &[0.07, 0.09, 0.05],
        Category::Cup => &[0.55, 0.0, 0.12],
        Category::Duck => &[0.14, 0.15, 0.13],
        Category::Giraffe => &[0.11, 0.12, 0.13],
        Category::Helicopter => &[0.0, 0.6, 0.3],
        Category::Horse => &[0.06, 0.08, 0.07],
        Category::Mug => &[0.0, 0.6, 0.1],
        Category::Spoon => &[0.6, 0.0, 0.12],
        Category::Truck => &[0.0, 0.1, 0.6],
    }
}

fn random_pattern(rng: &mut ChaCha8Rng) -> Pattern {
    match rng.random_range(0..5) {
        0 | 1 => Pattern::Plain,
        2 => Pattern::Stripes { axis: rng.random_range(0..3), frequency: uniform(rng, 2.0, 5.0) },
        3 => Pattern::Band { axis: rng.random_range(0..3), width: uniform(rng, 0.15, 0.4) },
        _ => Pattern::Spots { frequency: uniform(rng, 2.0, 4.0) },
    }
}

impl Toy {
    /// A new toy of `category`, all of whose choices come from `rng`. Its main colour comes from the category's
    /// palette, or, with `any_hue`, is any hue for the man-made categories (photographs of many kinds of object).
    pub fn new(category: Category, any_hue: bool, rng: &mut ChaCha8Rng) -> Toy {
        let hues = palette(category);
        let natural = category.is_animal();
        let hue = if any_hue && !natural {
            rng.random()
        } else {
            hues[rng.random_range(0..hues.len())] + uniform(rng, -0.02, 0.02)
        };
        let (saturation, value) = match category {
            Category::Spoon if rng.random::<f32>() < 0.5 => (uniform(rng, 0.0, 0.1), uniform(rng, 0.6, 0.85)),
            Category::Cat | Category::Horse => (uniform(rng, 0.3, 0.8), uniform(rng, 0.3, 0.9)),
            _ => (uniform(rng, 0.6, 0.9), uniform(rng, 0.6, 0.9)),
        };
        let colour = hsv(hue, saturation, value);
        let accent = match rng.random_range(0..3) {
            0 => hsv(hue, 0.2, 0.2),
            1 => hsv(hue, 0.1, 0.9),
            _ => hsv(hue + 0.5, 0.7, 0.7),
        };
        let mut parts = Vec::new();
        let mut b = PartBuilder {
            parts: &mut parts,
            colour,
            accent,
            pattern: random_pattern(rng),
            gloss: uniform(rng, 0.1, 0.5),
        };
        let dark = hsv(0.0, 0.0, uniform(rng, 0.08, 0.2));
        let mut j = |lo: f32, hi: f32| uniform(rng, lo, hi);
        let (e, c, y) = (Solid::Ellipsoid, Solid::Cuboid, Solid::Cylinder);
        let id = M3::IDENTITY;
        let upright = M3::rotation(0, FRAC_PI_2); // cylinder axis (local z) along object y
        let lengthwise = M3::rotation(1, FRAC_PI_2); // cylinder axis along object x
        match category {
            Category::Airplane => {
                let (length, radius) = (j(0.85, 1.15), j(0.1, 0.18));
                b.add(e, v3(0.0, 0.0, 0.0), v3(length, radius, radius), id);
                let (chord, span, sweep, wing_x) = (j(0.14, 0.28), j(0.7, 1.1), j(-0.35, 0.35), j(-0.15, 0.15));
                b.add(c, v3(wing_x, j(-0.06, 0.04), 0.0), v3(chord, 0.025, span), M3::rotation(1, sweep));
                let fin = j(0.1, 0.2);
                b.add(
                    c,
                    v3(-length * 0.85, radius + fin * 0.8, 0.0),
                    v3(j(0.08, 0.14), fin, 0.02),
                    M3::rotation(2, j(-0.5, 0.0)),
                );
                b.add(c, v3(-length * 0.85, 0.0, 0.0), v3(j(0.07, 0.12), 0.02, j(0.2, 0.35)), id);
                if j(0.0, 1.0) < 0.5 {
                    let engine = j(0.05, 0.08);
                    for side in [-1.0, 1.0] {
                        b.with(accent, Pattern::Plain).add(
                            y,
                            v3(wing_x + 0.05, -radius * 0.8, side * span * 0.45),
                            v3(engine, engine, 0.16),
                            lengthwise,
                        );
                    }
                }
            }
            Category::Ball => {
                b.pattern = match j(0.0, 1.0) {
                    t if t < 0.2 => Pattern::Plain,
                    t if t < 0.5 => Pattern::Stripes { axis: 1, frequency: j(1.5, 4.0).round() + 0.5 },
                    t if t < 0.75 => Pattern::Band { axis: 1, width: j(0.1, 0.4) },
                    _ => Pattern::Spots { frequency: j(2.0, 3.5) },
                };
                let r = j(0.6, 0.75);
                b.add(e, v3(0.0, 0.0, 0.0), v3(r, r * j(0.95, 1.0), r), id);
            }
            Category::Car | Category::Truck => {
                let truck = category == Category::Truck;
                let (length, height, width) = (j(0.75, 1.0), j(0.13, 0.22), j(0.3, 0.42));
                let wheel = j(0.13, 0.2);
                if truck {
                    let cab = j(0.2, 0.3);
                    b.add(c, v3(length - cab, height + 0.15, 0.0), v3(cab, height + j(0.08, 0.18), width), id);
                    b.with(accent, Pattern::Plain).add(
                        c,
                        v3(-cab, height * 1.6, 0.0),
                        v3(length - cab, height * j(1.4, 2.2), width * 1.05),
                        id,
                    );
                    b.with(dark, Pattern::Plain).add(c, v3(0.0, wheel * 0.6, 0.0), v3(length, 0.05, width * 0.8), id);
                    for x in [length * 0.7, -length * 0.2, -length * 0.7] {
                        for side in [-1.0, 1.0] {
                            b.add(y, v3(x, wheel * 0.6, side * width), v3(wheel, wheel, 0.06), id);
                        }
                    }
                } else {
                    b.add(c, v3(0.0, height + wheel * 0.5, 0.0), v3(length, height, width), id);
                    let cabin = j(0.35, 0.55) * length;
                    let pattern = Pattern::Band { axis: 1, width: j(0.4, 0.8) };
                    b.with(colour, pattern).add(
                        c,
                        v3(j(-0.25, 0.1), 2.0 * height + wheel * 0.5 + j(0.1, 0.18), 0.0),
                        v3(cabin, j(0.1, 0.18), width * 0.88),
                        id,
                    );
                    b.with(dark, Pattern::Plain);
                    for x in [length * 0.65, -length * 0.65] {
                        for side in [-1.0, 1.0] {
                            b.add(y, v3(x, wheel, side * width), v3(wheel, wheel, 0.06), id);
                        }
                    }
                }
            }
            Category::Cat | Category::Horse | Category::Giraffe => {
                let kind = category;
                if kind == Category::Giraffe {
                    b.pattern = Pattern::Spots { frequency: j(3.0, 5.0) };
                    b.accent = hsv(0.07, 0.8, j(0.3, 0.5));
                }
                let (leg, body, neck) = match kind {
                    Category::Cat => (j(0.15, 0.25), v3(j(0.45, 0.6), j(0.2, 0.27), j(0.18, 0.24)), 0.0),
                    Category::Horse => (j(0.3, 0.42), v3(j(0.5, 0.62), j(0.22, 0.28), j(0.18, 0.22)), j(0.22, 0.32)),
                    _ => (j(0.4, 0.55), v3(j(0.38, 0.5), j(0.2, 0.26), j(0.16, 0.2)), j(0.45, 0.65)),
                };
                let body_y = 2.0 * leg + body.y * 0.6;
                b.add(e, v3(0.0, body_y, 0.0), body, id);
                let leg_radius = j(0.04, 0.07);
                for x in [body.x * 0.65, -body.x * 0.65] {
                    for side in [-1.0, 1.0] {
                        b.add(y, v3(x, leg, side * body.z * 0.55), v3(leg_radius, leg_radius, leg), upright);
                    }
                }
                let tail_angle = j(0.3, 1.2);
                b.add(
                    y,
                    v3(-body.x * 1.1, body_y + 0.15 * tail_angle.sin(), 0.0),
                    v3(0.03, 0.03, j(0.18, 0.35)),
                    M3::rotation(2, -tail_angle).then(&lengthwise),
                );
                if kind == Category::Cat {
                    let r = j(0.18, 0.24);
                    let head = v3(body.x * 1.05 + r * 0.3, body_y + body.y + r * 0.3, 0.0);
                    b.add(e, head, v3(r, r * 0.9, r), id);
                    let ear = j(0.06, 0.1);
                    for side in [-1.0, 1.0] {
                        b.add(
                            c,
                            head + v3(0.0, r * 0.9, side * r * 0.5),
                            v3(ear * 0.5, ear, 0.02),
                            M3::rotation(0, side * 0.3),
                        );
                    }
                } else {
                    let tilt = j(0.3, 0.8);
                    let base = v3(body.x * 0.8, body_y + body.y * 0.5, 0.0);
                    let top = base + v3(tilt.sin(), tilt.cos(), 0.0) * (2.0 * neck);
                    b.add(
                        y,
                        base + (top - base) * 0.5,
                        v3(j(0.06, 0.1), j(0.06, 0.1), neck),
                        M3::rotation(2, -tilt).then(&upright),
                    );
                    let head = top + v3(0.08, 0.0, 0.0);
                    b.add(e, head, v3(j(0.14, 0.2), j(0.07, 0.1), j(0.07, 0.09)), M3::rotation(2, -j(0.3, 0.9)));
                    if kind == Category::Giraffe {
                        for side in [-1.0, 1.0] {
                            b.with(b.accent, Pattern::Plain).add(
                                y,
                                head + v3(-0.05, 0.1, side * 0.04),
                                v3(0.015, 0.015, 0.06),
                                upright,
                            );
                        }
                    }
                }
            }
            Category::Duck => {
                let body = v3(j(0.45, 0.55), j(0.28, 0.35), j(0.3, 0.36));
                b.add(e, v3(0.0, 0.0, 0.0), body, id);
                let r = j(0.18, 0.25);
                let head = v3(body.x * j(0.5, 0.75), body.y + r * 0.7, 0.0);
                b.add(e, head, v3(r, r, r * 0.95), id);
                b.with(hsv(j(0.03, 0.09), 0.9, 0.9), Pattern::Plain).add(
                    e,
                    head + v3(r * 1.1, -r * 0.15, 0.0),
                    v3(j(0.1, 0.16), 0.04, j(0.06, 0.09)),
                    id,
                );
                b.with(dark, Pattern::Plain);
                for side in [-1.0, 1.0] {
                    b.add(e, head + v3(r * 0.6, r * 0.3, side * r * 0.65), v3(0.03, 0.03, 0.03), id);
                }
                b.with(colour, Pattern::Plain).add(
                    e,
                    v3(-body.x * 0.95, body.y * 0.3, 0.0),
                    v3(0.15, 0.06, 0.12),
                    M3::rotation(2, -j(0.3, 0.8)),
                );
            }
            Category::Helicopter => {
                let cabin = v3(j(0.38, 0.5), j(0.25, 0.32), j(0.24, 0.3));
                b.add(e, v3(0.0, 0.0, 0.0), cabin, id);
                let boom = j(0.35, 0.5);
                b.add(y, v3(-cabin.x - boom * 0.8, 0.08, 0.0), v3(0.05, 0.05, boom), lengthwise);
                b.add(c, v3(-cabin.x - boom * 1.7, 0.18, 0.0), v3(0.08, j(0.1, 0.16), 0.02), id);
                b.with(dark, Pattern::Plain);
                let (rotor, phase) = (j(0.75, 1.0), j(0.0, PI));
                for k in 0..2 {
                    b.add(
                        c,
                        v3(0.0, cabin.y + 0.1, 0.0),
                        v3(rotor, 0.012, 0.04),
                        M3::rotation(1, phase + k as f32 * FRAC_PI_2),
                    );
                }
                b.add(y, v3(0.0, cabin.y + 0.05, 0.0), v3(0.03, 0.03, 0.06), upright);
                for side in [-1.0, 1.0] {
                    b.add(
                        y,
                        v3(0.0, -cabin.y - 0.1, side * cabin.z * 0.8),
                        v3(0.025, 0.025, cabin.x * j(0.9, 1.2)),
                        lengthwise,
                    );
                }
            }
            Category::Cup | Category::Mug => {
                let mug = category == Category::Mug;
                let (radius, height) = if mug { (j(0.36, 0.46), j(0.3, 0.42)) } else { (j(0.25, 0.35), j(0.45, 0.6)) };
                if !matches!(b.pattern, Pattern::Spots { .. }) && j(0.0, 1.0) < 0.6 {
                    b.pattern = Pattern::Band { axis: 2, width: j(0.1, 0.5) };
                }
                b.add(y, v3(0.0, 0.0, 0.0), v3(radius, radius, height), upright);
                b.with(scale(colour, 0.35), Pattern::Plain).add(
                    y,
                    v3(0.0, height, 0.0),
                    v3(radius * 0.9, radius * 0.9, 0.012),
                    upright,
                );
                if mug {
                    b.with(colour, Pattern::Plain);
                    let (reach, span, thick) = (j(0.18, 0.28), height * j(0.45, 0.7), 0.045);
                    for sign in [-1.0, 1.0] {
                        b.add(c, v3(radius + reach * 0.5, sign * span, 0.0), v3(reach * 0.5 + thick, thick, thick), id);
                    }
                    b.add(c, v3(radius + reach, 0.0, 0.0), v3(thick, span + thick, thick), id);
                }
            }
            Category::Spoon => {
                let bowl = v3(j(0.22, 0.32), j(0.05, 0.08), j(0.15, 0.22));
                b.pattern = Pattern::Plain;
                b.add(e, v3(0.55, 0.0, 0.0), bowl, id);
                let handle = j(0.5, 0.7);
                b.add(
                    c,
                    v3(0.55 - bowl.x - handle * 0.95, 0.06, 0.0),
                    v3(handle, 0.025, j(0.035, 0.06)),
                    M3::rotation(2, j(-0.15, 0.05)),
                );
            }
        }
        let mut toy = Toy { parts };
        toy.fit_unit_ball();
        toy
    }

    /// Centre the toy and scale it so that its bounding spheres fit the unit ball.
    fn fit_unit_ball(&mut self) {
        let n = self.parts.len() as f32;
        let mean = self.parts.iter().fold(v3(0.0, 0.0, 0.0), |acc, p| acc + p.centre) * (1.0 / n);
        let radius = self
            .parts
            .iter()
            .map(|p| {
                let d = p.centre - mean;
                d.dot(d).sqrt() + p.half.dot(p.half).sqrt() * 0.8
            })
            .fold(0.0f32, f32::max);
        for part in &mut self.parts {
            part.centre = (part.centre - mean) * (1.0 / radius);
            part.half = part.half * (1.0 / radius);
        }
    }
}

/// How one image looks at a toy: its orientation, size and place on screen, and the light.
pub struct View {
    rotation: M3,
    /// Radius of the toy's unit ball on screen, in unit coordinates.
    size: f32,
    offset: V2,
    /// Unit vector towards the light (world: x right, y up, z towards the viewer).
    light: V3,
    ambient: f32,
}

impl View {
    /// A frame of a rotation video: `angle` about world `axis`, applied to the toy in its filming pose (seen a
    /// little from above and from its front-left side), with small per-image jitter of place, size and light.
    pub fn frame(axis: usize, angle: f32, rng: &mut ChaCha8Rng) -> View {
        let pose = M3::rotation(0, 0.35).then(&M3::rotation(1, -0.6));
        View {
            rotation: M3::rotation(axis, angle).then(&pose),
            size: uniform(rng, 0.72, 0.82),
            offset: v2(uniform(rng, -0.06, 0.06), uniform(rng, -0.06, 0.06)),
            light: v3(uniform(rng, -0.6, 0.6), uniform(rng, 0.3, 0.9), 0.8).normalized(),
            ambient: uniform(rng, 0.3, 0.45),
        }
    }

    /// A free view for photographs: any heading, a moderate tilt and roll, any size and place.
    pub fn photograph(rng: &mut ChaCha8Rng) -> View {
        let rotation = M3::rotation(0, uniform(rng, -0.2, 0.7))
            .then(&M3::rotation(2, uniform(rng, -0.35, 0.35)))
            .then(&M3::rotation(1, uniform(rng, 0.0, TAU)));
        let size = uniform(rng, 0.55, 0.9);
        let room = 1.0 - size;
        View {
            rotation,
            size,
            offset: v2(uniform(rng, -room, room), uniform(rng, -room, room)),
            light: v3(uniform(rng, -0.9, 0.9), uniform(rng, -0.2, 0.9), uniform(rng, 0.4, 0.9)).normalized(),
            ambient: uniform(rng, 0.25, 0.55),
        }
    }
}

/// A part placed in the world of one view, ready for ray casting.
struct PlacedPart<'a> {
    part: &'a Part,
    /// World point to local coordinates: `local = to_local * (world - centre)`.
    to_local: M3,
    centre: V3,
    /// Direction of the viewing ray (towards -z) in local coordinates.
    ray: V3,
    bounds: Bounds,
}

/// The first hit of a ray with a part: depth along the ray, local hit point and local normal.
fn intersect(solid: Solid, origin: V3, ray: V3) -> Option<(f32, V3, V3)> {
    // Entry and exit of the ray into a slab |u_axis| <= 1.
    let slab = |axis: usize| -> Option<(f32, f32)> {
        let (o, d) = (origin.get(axis), ray.get(axis));
        if d.abs() < 1e-9 {
            return (o.abs() <= 1.0).then_some((f32::MIN, f32::MAX));
        }
        let (a, b) = ((-1.0 - o) / d, (1.0 - o) / d);
        Some((a.min(b), a.max(b)))
    };
    let unit = |axis: usize, sign: f32| -> V3 {
        let mut n = [0.0; 3];
        n[axis] = sign;
        v3(n[0], n[1], n[2])
    };
    match solid {
        Solid::Ellipsoid => {
            let (a, b, c) = (ray.dot(ray), 2.0 * origin.dot(ray), origin.dot(origin) - 1.0);
            let disc = b * b - 4.0 * a * c;
            if disc < 0.0 {
                return None;
            }
            let t = (-b - disc.sqrt()) / (2.0 * a);
            let hit = origin + ray * t;
            Some((t, hit, hit))
        }
        Solid::Cuboid => {
            let mut entry = (f32::MIN, 0);
            let mut exit = f32::MAX;
            for axis in 0..3 {
                let (near, far) = slab(axis)?;
                if near > entry.0 {
                    entry = (near, axis);
                }
                exit = exit.min(far);
            }
            if entry.0 > exit {
                return None;
            }
            let hit = origin + ray * entry.0;
            Some((entry.0, hit, unit(entry.1, -ray.get(entry.1).signum())))
        }
        Solid::Cylinder => {
            let (near_z, far_z) = slab(2)?;
            let a = ray.x * ray.x + ray.y * ray.y;
            let (near_r, far_r) = if a < 1e-12 {
                if origin.x * origin.x + origin.y * origin.y > 1.0 {
                    return None;
                }
                (f32::MIN, f32::MAX)
            } else {
                let b = 2.0 * (origin.x * ray.x + origin.y * ray.y);
                let c = origin.x * origin.x + origin.y * origin.y - 1.0;
                let disc = b * b - 4.0 * a * c;
                if disc < 0.0 {
                    return None;
                }
                let root = disc.sqrt();
                ((-b - root) / (2.0 * a), (-b + root) / (2.0 * a))
            };
            let (entry, exit) = (near_z.max(near_r), far_z.min(far_r));
            if entry > exit {
                return None;
            }
            let hit = origin + ray * entry;
            let normal = if near_r >= near_z { v3(hit.x, hit.y, 0.0) } else { unit(2, -ray.z.signum()) };
            Some((entry, hit, normal))
        }
    }
}

/// The colour of a part's surface at local point `u` (before lighting).
fn surface(part: &Part, u: V3) -> Rgb {
    let accent = match part.pattern {
        Pattern::Plain => false,
        Pattern::Stripes { axis, frequency } => (u.get(axis) * frequency * PI).sin() > 0.0,
        Pattern::Band { axis, width } => u.get(axis).abs() < width,
        Pattern::Spots { frequency } => {
            let cell = |x: f32| (x * frequency).rem_euclid(1.0) - 0.5;
            let (a, b, c) = (cell(u.x), cell(u.y), cell(u.z + 0.37 * (u.x * frequency).floor()));
            a * a + b * b + c * c < 0.12
        }
    };
    if accent {
        part.accent
    } else {
        part.colour
    }
}

/// Place every part of `toy` in the world of `view`.
fn place<'a>(toy: &'a Toy, view: &View) -> Vec<PlacedPart<'a>> {
    toy.parts
        .iter()
        .map(|part| {
            let rotation = view.rotation.then(&part.orientation);
            let half = part.half * view.size;
            let inverse = rotation.transpose().0;
            let to_local = M3([0, 1, 2].map(|i| inverse[i].map(|value| value / half.get(i))));
            let linear = rotation.scale_columns(half);
            let centre = view.rotation.apply(part.centre) * view.size + v3(view.offset.x, -view.offset.y, 0.0);
            // Half-extent on screen of the part's bounding box: the sum of its scaled axes' projections.
            let extent =
                (0..3).fold(v2(0.0, 0.0), |acc, axis| acc + v2(linear.0[0][axis].abs(), linear.0[1][axis].abs()));
            let bounds = Bounds {
                min: v2(centre.x - extent.x, -centre.y - extent.y),
                max: v2(centre.x + extent.x, -centre.y + extent.y),
            };
            PlacedPart { part, to_local, centre, ray: to_local.apply(v3(0.0, 0.0, -1.0)), bounds }
        })
        .collect()
}

/// The nearest part hit by the viewing ray through canvas point `p`, and its lit colour there.
fn cast(placed: &[PlacedPart], view: &View, half_vector: V3, p: V2) -> Option<(usize, Rgb)> {
    let world = v3(p.x, -p.y, 0.0);
    let mut nearest: Option<(f32, usize, V3, V3)> = None;
    for (index, part) in placed.iter().enumerate() {
        let b = &part.bounds;
        if p.x < b.min.x || p.x > b.max.x || p.y < b.min.y || p.y > b.max.y {
            continue;
        }
        let origin = part.to_local.apply(world - part.centre);
        // The local ray is the world ray from z = 0 towards -z at unit speed, so `t` is the world depth.
        if let Some((t, hit, normal)) = intersect(part.part.solid, origin, part.ray) {
            if nearest.is_none_or(|(best, ..)| t < best) {
                nearest = Some((t, index, hit, normal));
            }
        }
    }
    let (_, index, hit, normal) = nearest?;
    let part = &placed[index];
    let n = part.to_local.transpose().apply(normal).normalized();
    let diffuse = n.dot(view.light).max(0.0);
    let specular = n.dot(half_vector).max(0.0).powi(16) * part.part.gloss;
    let lit = scale(surface(part.part, hit), view.ambient + (1.0 - view.ambient) * diffuse);
    Some((index, mix(lit, [1.0; 3], specular.min(1.0))))
}

/// Sub-pixel offsets (in pixels) of the four samples taken where an edge crosses a pixel: a rotated grid, which
/// resolves near-horizontal and near-vertical edges better than a square one.
const EDGE_SAMPLES: [(f32, f32); 4] = [(-0.125, -0.375), (0.375, -0.125), (0.125, 0.375), (-0.375, 0.125)];

/// Draw `toy` as seen in `view` over what `canvas` holds: orthographic ray casting, Lambertian shading with a
/// little gloss. One ray per pixel, four where the pixel or a neighbour sees another part or the background: the
/// edges are antialiased at a quarter of the cost of supersampling everything.
pub fn draw(canvas: &mut Canvas, toy: &Toy, view: &View) {
    let placed = place(toy, view);
    let half_vector = (view.light + v3(0.0, 0.0, 1.0)).normalized();
    let side = canvas.side();
    let pixel = canvas.pixel();
    // The pixels the toy can cover, plus one on every side so that every edge pixel has its neighbours.
    let index = |a: f32| (((a + 1.0) / pixel).floor().max(0.0) as usize).min(side);
    let bounds = placed.iter().fold((side, 0, side, 0), |(x0, x1, y0, y1), part| {
        let b = &part.bounds;
        (x0.min(index(b.min.x)), x1.max(index(b.max.x) + 1), y0.min(index(b.min.y)), y1.max(index(b.max.y) + 1))
    });
    let (x0, x1, y0, y1) =
        (bounds.0.saturating_sub(1), (bounds.1 + 1).min(side), bounds.2.saturating_sub(1), (bounds.3 + 1).min(side));
    if x0 >= x1 || y0 >= y1 {
        return;
    }
    let width = x1 - x0;
    let hits: Vec<Option<(usize, Rgb)>> = (y0..y1)
        .flat_map(|row| (x0..x1).map(move |column| (row, column)))
        .map(|(row, column)| cast(&placed, view, half_vector, v2(canvas.coordinate(column), canvas.coordinate(row))))
        .collect();
    let part_at = |row: usize, column: usize| hits[(row - y0) * width + column - x0].map(|(part, _)| part);
    for row in y0..y1 {
        for column in x0..x1 {
            let here = hits[(row - y0) * width + column - x0];
            let id = here.map(|(part, _)| part);
            let edge = (row > y0 && part_at(row - 1, column) != id)
                || (row + 1 < y1 && part_at(row + 1, column) != id)
                || (column > x0 && part_at(row, column - 1) != id)
                || (column + 1 < x1 && part_at(row, column + 1) != id);
            let centre = v2(canvas.coordinate(column), canvas.coordinate(row));
            let target = canvas.pixel_mut(row, column);
            if edge {
                let background = *target;
                let mut sum = [0.0f32; 3];
                for (dx, dy) in EDGE_SAMPLES {
                    let sample = v2(centre.x + dx * pixel, centre.y + dy * pixel);
                    let colour = cast(&placed, view, half_vector, sample).map_or(background, |(_, c)| c);
                    sum = [sum[0] + colour[0], sum[1] + colour[1], sum[2] + colour[2]];
                }
                *target = scale(sum, 0.25);
            } else if let Some((_, colour)) = here {
                *target = colour;
            }
        }
    }
}

/// Which objects of each category (0-based) a category-level split uses, per the module doc's held-out rule.
pub fn category_objects(split: super::SplitName, objects_per_category: u64) -> Result<std::ops::Range<u64>> {
    let held_out = objects_per_category.div_ceil(10).max(2);
    if objects_per_category < 2 * held_out + 1 {
        bail!(
            "the Toybox stand-in needs at least {} objects per category for held-out category-level validation and \
             test objects (got objects_per_category = {objects_per_category}); raise objects_per_category in the profile",
            2 * held_out + 1
        );
    }
    let train = objects_per_category - 2 * held_out;
    Ok(match split {
        super::SplitName::Train => 0..train,
        super::SplitName::Val => train..train + held_out,
        super::SplitName::Test => train + held_out..objects_per_category,
    })
}

/// Whether frame `k` of a video belongs to `split` in the instance-level task (see the module doc).
pub fn instance_frame_in(split: super::SplitName, frame: u32) -> bool {
    match frame % 12 {
        5 => split == super::SplitName::Val,
        11 => split == super::SplitName::Test,
        _ => split == super::SplitName::Train,
    }
}

/// Film one frame of a rotation video: `toy` turned by `angle` about world `axis` in front of a plain backdrop,
/// with the camera's exposure varying a little from frame to frame.
pub fn film(canvas: &mut Canvas, toy: &Toy, axis: usize, angle: f32, rng: &mut ChaCha8Rng) {
    backdrop(canvas, rng);
    draw(canvas, toy, &View::frame(axis, angle, rng));
    let exposure = uniform(rng, 0.85, 1.15);
    canvas.light(|_| exposure);
}

/// A plain, softly graded backdrop like the walls and tables behind the original's videos.
fn backdrop(canvas: &mut Canvas, rng: &mut ChaCha8Rng) {
    let top = hsv(uniform(rng, 0.05, 0.15), uniform(rng, 0.05, 0.3), uniform(rng, 0.55, 0.85));
    let bottom = mix(top, hsv(uniform(rng, 0.0, 1.0), uniform(rng, 0.0, 0.3), uniform(rng, 0.3, 0.7)), 0.5);
    canvas.shade(|p| mix(top, bottom, 0.5 + 0.5 * p.y));
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn rays_hit_unit_solids_where_expected() {
        let down = v3(0.0, 0.0, -1.0);
        for solid in [Solid::Ellipsoid, Solid::Cuboid, Solid::Cylinder] {
            let (t, hit, normal) = intersect(solid, v3(0.0, 0.0, 5.0), down).expect("a central ray hits");
            assert!((t - 4.0).abs() < 1e-5, "{solid:?}: entry at z = 1");
            assert!((hit.z - 1.0).abs() < 1e-5);
            assert!(normal.z > 0.0);
            assert!(intersect(solid, v3(1.5, 0.0, 5.0), down).is_none(), "{solid:?}: a ray beside it misses");
        }
        // The cube's corner region is inside the cube but outside the ball and the cylinder of the same size.
        assert!(intersect(Solid::Cuboid, v3(0.9, 0.9, 5.0), down).is_some());
        assert!(intersect(Solid::Ellipsoid, v3(0.9, 0.9, 5.0), down).is_none());
        assert!(intersect(Solid::Cylinder, v3(0.9, 0.9, 5.0), down).is_none());
    }

    #[test]
    fn held_out_objects_follow_the_documented_rule() {
        use super::super::SplitName::{Test, Train, Val};
        assert_eq!(category_objects(Train, 30).unwrap(), 0..24);
        assert_eq!(category_objects(Val, 30).unwrap(), 24..27);
        assert_eq!(category_objects(Test, 30).unwrap(), 27..30);
        assert_eq!(category_objects(Train, 10).unwrap(), 0..6);
        assert_eq!(category_objects(Test, 10).unwrap(), 8..10);
        assert!(category_objects(Train, 4).is_err());
    }

    #[test]
    fn every_frame_belongs_to_exactly_one_split() {
        use super::super::SplitName;
        for frame in 0..FRAMES_PER_VIDEO {
            assert_eq!(SplitName::ALL.iter().filter(|s| instance_frame_in(**s, frame)).count(), 1);
        }
    }

    #[test]
    fn categories_are_the_originals_in_class_index_order() {
        for (index, category) in Category::ALL.into_iter().enumerate() {
            assert_eq!(category.index(), index);
            assert_eq!(category.name(), format!("{category:?}").to_lowercase());
        }
        assert_eq!(Category::ALL.map(Category::name)[..3], ["airplane", "ball", "car"]);
    }

    #[test]
    fn toys_fit_the_unit_ball() {
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        for category in Category::ALL {
            let name = category.name();
            let toy = Toy::new(category, false, &mut rng);
            for part in &toy.parts {
                assert!(part.centre.dot(part.centre).sqrt() < 1.0, "{name}");
                assert!(part.half.x.max(part.half.y).max(part.half.z) < 1.0);
            }
        }
    }
}
