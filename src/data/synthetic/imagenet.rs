//! The ImageNet-12 and ImageNet-100 stand-ins: category-level tasks with large within-class variation and cluttered
//! backgrounds.
//!
//! **ImageNet-12 keeps** what the paper uses it for: the 12 Toybox categories (airplane ... truck) seen in
//! photographs rather than in videos. Every image is a new object of its class, built by the Toybox stand-in's
//! category models (so no two images show the same object) in any colour (animals keep their natural ones), in a
//! free pose (any heading, some tilt and roll), at any size and place, under any light, in front of a cluttered
//! background. Its surface wears its category's grain ([`category_grain`], as the Toybox categories'), which carries
//! the class in the fine structure blur removes first, as ImageNet photographs' textures do (CNNs trained on ImageNet
//! lean on texture: Geirhos et al. 2019); the shapes still tell categories apart, less reliably.
//!
//! **ImageNet-100 keeps** a 100-way category task whose classes share their coarse cues as ImageNet's do (many dogs,
//! many vehicles): each class is one of 10 silhouettes (disc, box, triangle, star, cross, crescent, ring, drop,
//! hexagon, arrow; `class / 10`) worn with one of 10 fine grains (`class % 10`, [`grain::CLASS_GRAINS`]), so that ten
//! classes share every silhouette and its hue (a silhouette's hue 70 % of the time), and only the grain tells them
//! apart. Everything else varies per image: one of 10 part arrangements (plain, stem, ears, eye, band, spikes,
//! outline, dots, twin, legs), proportions, rotation, size, place, surface texture, lighting, small distractor
//! shapes and a cluttered background. `mini`'s 30 classes are three silhouettes with all ten grains.
//!
//! The grains' frequencies and contrast are calibrated on the clear models alone so that their accuracy halves at
//! about the original's test sigma (issue 19, `paper/DATA.md`).
//!
//! **Neither keeps** the richness of natural photographs (their many textures, of which a grain is one periodic
//! stand-in, and the long tail of object appearance), nor their resolution: the stand-ins are drawn at the stored size.
use std::f32::consts::{PI, TAU};

use rand::Rng;
use rand_chacha::ChaCha8Rng;

use super::grain::{self, Grain};
use super::raster::{
    chance, clutter, convex_polygon, ellipse, hsv, mix, rounded_rect, sample, scale, stroke, uniform, v2, Bounds,
    Canvas, Rgb, Span, Turn, V2,
};
use super::toybox::{category_grain, draw as draw_toy, Category, Toy, View};

/// The background of both stand-ins: blobs of clutter, and their contrast with the gradient behind them.
const CLUTTER_BLOBS: usize = 10;
const CLUTTER_CONTRAST: f32 = 0.6;

/// Draw an ImageNet-12 stand-in image of `category`.
pub(crate) fn draw_in12(canvas: &mut Canvas, category: Category, rng: &mut ChaCha8Rng) {
    clutter(canvas, rng, CLUTTER_BLOBS, CLUTTER_CONTRAST);
    let toy = Toy::new(category, true, rng);
    draw_toy(canvas, &toy, &View::photograph(&category_grain(category), rng));
}

/// The ImageNet-100 stand-in's silhouettes, one factor of its class index (`class / 10`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Silhouette {
    Disc,
    Box,
    Triangle,
    Star,
    Cross,
    Crescent,
    Ring,
    Drop,
    Hexagon,
    Arrow,
}

/// The ImageNet-100 stand-in's part arrangements, drawn per image (shared by every class).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Arrangement {
    Plain,
    Stem,
    Ears,
    Eye,
    Band,
    Spikes,
    Outline,
    Dots,
    Twin,
    Legs,
}

/// The name of ImageNet-100 stand-in class `class`, e.g. `box_dots45`: its silhouette and its grain's kind and
/// orientation in degrees.
pub(crate) fn in100_class_name(class: usize) -> String {
    let (silhouette, grain) = in100_class(class);
    format!("{}_{:?}{}", silhouette.name(), grain.kind, grain.turn.to_degrees().round()).to_lowercase()
}

/// The silhouette (`class / 10`) and the grain (`class % 10`) of ImageNet-100 stand-in class `class`.
fn in100_class(class: usize) -> (Silhouette, grain::Recipe) {
    let (kind, turn) = grain::CLASS_GRAINS[class % IN100_GRAINS];
    let recipe = grain::Recipe { kind, turn, cycles: IN100_GRAIN_CYCLES, contrast: IN100_GRAIN_CONTRAST };
    (Silhouette::ALL[class / IN100_GRAINS], recipe)
}

/// ImageNet-100's grains: ten of the class grains, each worn by ten silhouettes; their band and contrast, calibrated
/// (issue 19, `paper/DATA.md`).
const IN100_GRAINS: usize = 10;
const IN100_GRAIN_CYCLES: Span = (20.0, 24.0);
const IN100_GRAIN_CONTRAST: f32 = 0.6;

const HEXAGON: [V2; 6] = [
    v2(1.0, 0.0),
    v2(0.5, 0.866_025_4),
    v2(-0.5, 0.866_025_4),
    v2(-1.0, 0.0),
    v2(-0.5, -0.866_025_4),
    v2(0.5, -0.866_025_4),
];

impl Silhouette {
    pub(crate) const ALL: [Silhouette; 10] = [
        Silhouette::Disc,
        Silhouette::Box,
        Silhouette::Triangle,
        Silhouette::Star,
        Silhouette::Cross,
        Silhouette::Crescent,
        Silhouette::Ring,
        Silhouette::Drop,
        Silhouette::Hexagon,
        Silhouette::Arrow,
    ];

    pub(crate) fn name(self) -> &'static str {
        match self {
            Silhouette::Disc => "disc",
            Silhouette::Box => "box",
            Silhouette::Triangle => "triangle",
            Silhouette::Star => "star",
            Silhouette::Cross => "cross",
            Silhouette::Crescent => "crescent",
            Silhouette::Ring => "ring",
            Silhouette::Drop => "drop",
            Silhouette::Hexagon => "hexagon",
            Silhouette::Arrow => "arrow",
        }
    }

    /// Signed distance to the silhouette in its own frame (about the unit disc), with per-image proportions
    /// `aspect`.
    fn distance(self, q: V2, aspect: f32) -> f32 {
        let o = v2(0.0, 0.0);
        match self {
            Silhouette::Disc => ellipse(q, o, v2(1.0, aspect), Turn::NONE),
            Silhouette::Box => rounded_rect(q, o, v2(1.0, aspect), Turn::NONE, 0.12),
            Silhouette::Triangle => convex_polygon(q, &[v2(0.0, -1.0), v2(1.0, 0.75), v2(-1.0, 0.75)]) * aspect.sqrt(),
            Silhouette::Star => {
                // A five-pointed star as a polar curve; the factor keeps the distance roughly Euclidean near the edge.
                let angle = q.y.atan2(q.x) + PI / 2.0;
                let wave = ((angle * 5.0 / TAU).rem_euclid(1.0) - 0.5).abs() * 2.0;
                (q.length() - (0.45 + 0.55 * wave * wave.sqrt())) * 0.6
            }
            Silhouette::Cross => rounded_rect(q, o, v2(1.0, 0.3 * aspect), Turn::NONE, 0.05).min(rounded_rect(
                q,
                o,
                v2(0.3 * aspect, 1.0),
                Turn::NONE,
                0.05,
            )),
            Silhouette::Crescent => ellipse(q, o, v2(1.0, 1.0), Turn::NONE).max(-ellipse(
                q,
                v2(0.45, -0.15),
                v2(0.8 * aspect, 0.8 * aspect),
                Turn::NONE,
            )),
            Silhouette::Ring => (q.length() - 0.72).abs() - 0.28 * aspect,
            Silhouette::Drop => ellipse(q, v2(0.0, 0.3), v2(0.7, 0.7), Turn::NONE)
                .min(convex_polygon(q, &[v2(0.0, -1.0), v2(0.62, 0.0), v2(-0.62, 0.0)])),
            Silhouette::Hexagon => convex_polygon(v2(q.x, q.y / aspect.max(0.5)), &HEXAGON),
            Silhouette::Arrow => rounded_rect(q, v2(-0.35, 0.0), v2(0.65, 0.22 * aspect), Turn::NONE, 0.02)
                .min(convex_polygon(q, &[v2(1.0, 0.0), v2(0.2, -0.75), v2(0.2, 0.75)])),
        }
    }
}

impl Arrangement {
    pub(crate) const ALL: [Arrangement; 10] = [
        Arrangement::Plain,
        Arrangement::Stem,
        Arrangement::Ears,
        Arrangement::Eye,
        Arrangement::Band,
        Arrangement::Spikes,
        Arrangement::Outline,
        Arrangement::Dots,
        Arrangement::Twin,
        Arrangement::Legs,
    ];

    /// Paint the arrangement's parts that lie behind the body of `object` (all of them, but for the eye, the band
    /// and the dots).
    fn paint_behind(self, canvas: &mut Canvas, object: &Specimen) {
        let (bounds, size) = (object.bounds(), object.size);
        let frame = |p: V2| object.frame(p);
        match self {
            // A stem below the body, half body colour, half dark.
            Arrangement::Stem => canvas.fill(bounds, mix(object.colour, object.dark, 0.5), 1.0, |p| {
                rounded_rect(frame(p), v2(0.0, 1.2), v2(0.16, 0.5), Turn::NONE, 0.05) * size
            }),
            // Two round ears at the top.
            Arrangement::Ears => canvas.fill(bounds, object.colour, 1.0, |p| {
                let q = frame(p);
                let ear = |x: f32| ellipse(q, v2(x, -0.9), v2(0.3, 0.3), Turn::NONE);
                ear(-0.6).min(ear(0.6)) * size
            }),
            // Eight spikes all around.
            Arrangement::Spikes => canvas.fill(bounds, object.colour, 1.0, |p| {
                let q = frame(p);
                let wave = ((q.y.atan2(q.x) * 8.0 / TAU).rem_euclid(1.0) - 0.5).abs() * 2.0;
                (q.length() - (0.9 + 0.5 * wave * wave)) * 0.5 * size
            }),
            // A dark rim around the body.
            Arrangement::Outline => {
                canvas.fill(bounds, object.dark, 1.0, |p| (object.silhouette(frame(p)) - 0.17) * size)
            }
            // A half-size copy of the body at its lower right.
            Arrangement::Twin => canvas.fill(bounds, object.colour, 1.0, |p| {
                let q = frame(p) - v2(1.45, 0.55);
                object.kind.distance(q * 2.0, object.aspect) * 0.5 * size
            }),
            // Two dark legs below the body.
            Arrangement::Legs => canvas.fill(bounds, object.dark, 1.0, |p| {
                let q = frame(p);
                let left = stroke(q, &[v2(-0.4, 0.5), v2(-0.6, 1.5)], (0.08, 0.06));
                left.min(stroke(q, &[v2(0.4, 0.5), v2(0.6, 1.5)], (0.08, 0.06))) * size
            }),
            Arrangement::Plain | Arrangement::Eye | Arrangement::Band | Arrangement::Dots => {}
        }
    }

    /// Paint the arrangement's parts that lie on the body of `object` (the eye, the band and the dots).
    fn paint_on_top(self, canvas: &mut Canvas, object: &Specimen) {
        let (bounds, size) = (object.bounds(), object.size);
        let frame = |p: V2| object.frame(p);
        match self {
            // One accent eye at the centre.
            Arrangement::Eye => canvas
                .fill(bounds, object.accent, 1.0, |p| ellipse(frame(p), v2(0.0, 0.0), v2(0.3, 0.3), Turn::NONE) * size),
            // An accent band across the middle, clipped to the body.
            Arrangement::Band => canvas.fill(bounds, object.accent, 1.0, |p| {
                let q = frame(p);
                object.silhouette(q).max(q.y.abs() - 0.18) * size
            }),
            // Three accent dots in a row.
            Arrangement::Dots => canvas.fill(bounds, object.accent, 1.0, |p| {
                let q = frame(p);
                let dot = |x: f32| ellipse(q, v2(x, 0.0), v2(0.12, 0.12), Turn::NONE);
                dot(-0.4).min(dot(0.0)).min(dot(0.4)) * size
            }),
            Arrangement::Plain
            | Arrangement::Stem
            | Arrangement::Ears
            | Arrangement::Spikes
            | Arrangement::Outline
            | Arrangement::Twin
            | Arrangement::Legs => {}
        }
    }
}

/// Distractors: up to two small shapes of any class, their size (radius), place, and proportions.
const DISTRACTOR_SIZE: Span = (0.1, 0.18);
const DISTRACTOR_PLACE: Span = (-0.9, 0.9);
const DISTRACTOR_ASPECT: f32 = 0.8;
const DISTRACTOR_SATURATION: Span = (0.2, 0.9);
const DISTRACTOR_VALUE: Span = (0.2, 0.9);

/// How often the object has its class's hue rather than any, the step between classes' hues (turns: the golden
/// ratio spreads 100 classes evenly around the circle) and the jitter of a class hue.
const CLASS_HUE_ODDS: f32 = 0.7;
const CLASS_HUE_STEP: f32 = 0.618;
const CLASS_HUE_JITTER: Span = (-0.05, 0.05);

/// The body's colour; the accent's hue shift from it, saturation and value; the dark colour's.
const BODY_SATURATION: Span = (0.4, 0.95);
const BODY_VALUE: Span = (0.45, 0.95);
const ACCENT_SHIFT: Span = (0.25, 0.75);
const ACCENT_SATURATION: Span = (0.3, 0.9);
const ACCENT_VALUE: Span = (0.15, 0.95);
const DARK_SATURATION: Span = (0.0, 0.4);
const DARK_VALUE: Span = (0.05, 0.2);

/// The object's proportions, size (its unit disc's radius on the canvas) and tilt; its centre stays within
/// `PLACE_MARGIN - PLACE_REACH * size` of the canvas's centre, so that its parts stay in the image.
const ASPECT: Span = (0.65, 1.0);
const SIZE: Span = (0.33, 0.5);
const TILT: Span = (-0.35, 0.35);
const PLACE_MARGIN: f32 = 0.95;
const PLACE_REACH: f32 = 1.6;
/// How far the body's parts reach from its centre, in units of its size.
const PARTS_REACH: f32 = 2.3;

/// Surface texture periods per unit, the strength of the shading across the body, and the image's lighting
/// (strength of the gradient, exposure).
const TEXTURE_FREQUENCY: Span = (6.0, 14.0);
const SHADING: Span = (0.1, 0.35);
const LIGHT_SLOPE: Span = (0.0, 0.3);
const EXPOSURE: Span = (0.8, 1.15);

/// Surface texture: a nuisance that varies per image (ImageNet photographs are full of texture).
#[derive(Clone, Copy)]
enum Texture {
    Smooth,
    Ridges,
    Checks,
}

impl Texture {
    /// The relative brightness change at `r` (texture coordinates).
    fn grain(self, r: V2) -> f32 {
        match self {
            Texture::Smooth => 0.0,
            Texture::Ridges => 0.12 * r.x.sin(),
            Texture::Checks => 0.1 * (r.x.sin() * r.y.sin()),
        }
    }
}

/// The object of one ImageNet-100 image: its class's shape and arrangement, and everything drawn per image.
struct Specimen {
    kind: Silhouette,
    arrangement: Arrangement,
    colour: Rgb,
    accent: Rgb,
    dark: Rgb,
    aspect: f32,
    size: f32,
    turn: Turn,
    centre: V2,
    texture: Texture,
    frequency: f32,
    texture_turn: Turn,
    shading: V2,
    /// The class's grain, in screen space.
    grain: Grain,
}

impl Specimen {
    fn draw(class: usize, rng: &mut ChaCha8Rng) -> Specimen {
        let (kind, grain) = in100_class(class);
        let arrangement = Arrangement::ALL[rng.random_range(0..Arrangement::ALL.len())];
        let hue = if chance(rng, CLASS_HUE_ODDS) {
            (class / IN100_GRAINS) as f32 * CLASS_HUE_STEP + sample(rng, CLASS_HUE_JITTER)
        } else {
            rng.random()
        };
        let colour = hsv(hue, sample(rng, BODY_SATURATION), sample(rng, BODY_VALUE));
        let accent = hsv(hue + sample(rng, ACCENT_SHIFT), sample(rng, ACCENT_SATURATION), sample(rng, ACCENT_VALUE));
        let dark = hsv(rng.random(), sample(rng, DARK_SATURATION), sample(rng, DARK_VALUE));
        let aspect = sample(rng, ASPECT);
        let size = sample(rng, SIZE);
        let turn = Turn::new(sample(rng, TILT));
        let room = (PLACE_MARGIN - PLACE_REACH * size).max(0.0);
        let centre = v2(uniform(rng, -room, room), uniform(rng, -room, room));
        let texture = match rng.random_range(0..3) {
            0 => Texture::Smooth,
            1 => Texture::Ridges,
            _ => Texture::Checks,
        };
        let (frequency, texture_turn) = (sample(rng, TEXTURE_FREQUENCY), Turn::new(uniform(rng, 0.0, PI)));
        let shading = v2(1.0, 0.0).rotated(uniform(rng, 0.0, TAU)) * sample(rng, SHADING);
        let grain = grain.draw(rng);
        Specimen {
            kind,
            arrangement,
            colour,
            accent,
            dark,
            aspect,
            size,
            turn,
            centre,
            texture,
            frequency,
            texture_turn,
            shading,
            grain,
        }
    }

    /// Canvas point `p` in the object's own frame, where its body is about the unit disc.
    fn frame(&self, p: V2) -> V2 {
        (p - self.centre).unturned(self.turn) * (1.0 / self.size)
    }

    /// The canvas bounds of the object with all its parts.
    fn bounds(&self) -> Bounds {
        Bounds::around(self.centre, self.size * PARTS_REACH)
    }

    /// Signed distance to the body at `q` in the object's frame.
    fn silhouette(&self, q: V2) -> f32 {
        self.kind.distance(q, self.aspect)
    }

    /// The body's colour at `q` in the object's frame: texture and shading over its colour.
    fn surface(&self, q: V2) -> Rgb {
        let r = q.turned(self.texture_turn) * self.frequency;
        scale(self.colour, (1.0 + self.texture.grain(r) + q.dot(self.shading)).clamp(0.3, 1.5))
    }

    /// Paint the parts behind the body, the body, and the parts on it.
    fn paint(&self, canvas: &mut Canvas) {
        self.arrangement.paint_behind(canvas, self);
        let size = self.size;
        canvas.paint(
            self.bounds(),
            1.0,
            |p| self.silhouette(self.frame(p)) * size,
            |p| scale(self.surface(self.frame(p)), self.grain.gain(p)),
        );
        self.arrangement.paint_on_top(canvas, self);
    }
}

/// Small shapes of any class over the background, so that the class is the one large object.
fn distractors(canvas: &mut Canvas, rng: &mut ChaCha8Rng) {
    for _ in 0..rng.random_range(0..3) {
        let kind = Silhouette::ALL[rng.random_range(0..Silhouette::ALL.len())];
        let size = sample(rng, DISTRACTOR_SIZE);
        let centre = v2(sample(rng, DISTRACTOR_PLACE), sample(rng, DISTRACTOR_PLACE));
        let turn = Turn::new(uniform(rng, 0.0, TAU));
        let colour = hsv(rng.random(), sample(rng, DISTRACTOR_SATURATION), sample(rng, DISTRACTOR_VALUE));
        canvas.fill(Bounds::around(centre, size * 1.3), colour, 1.0, |p| {
            kind.distance((p - centre).unturned(turn) * (1.0 / size), DISTRACTOR_ASPECT) * size
        });
    }
}

/// Draw an ImageNet-100 stand-in image of `class` (0..100) on a canvas of the stored size.
pub(crate) fn draw_in100(canvas: &mut Canvas, class: usize, rng: &mut ChaCha8Rng) {
    clutter(canvas, rng, CLUTTER_BLOBS, CLUTTER_CONTRAST);
    distractors(canvas, rng);
    Specimen::draw(class, rng).paint(canvas);
    let direction = v2(1.0, 0.0).rotated(uniform(rng, 0.0, TAU)) * sample(rng, LIGHT_SLOPE);
    let exposure = sample(rng, EXPOSURE);
    canvas.light(|p| (exposure * (1.0 + p.dot(direction))).clamp(0.2, 1.6));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn in100_classes_are_every_silhouette_with_every_grain() {
        assert_eq!(in100_class_name(0), "disc_stripes0");
        assert_eq!(in100_class_name(23), "triangle_hexes0");
        assert_eq!(in100_class_name(99), "arrow_zigzag90");
        let names: std::collections::BTreeSet<String> = (0..100).map(in100_class_name).collect();
        assert_eq!(names.len(), 100);
        for silhouette in Silhouette::ALL {
            assert_eq!(silhouette.name(), format!("{silhouette:?}").to_lowercase());
        }
    }
}
