//! The ImageNet-12 and ImageNet-100 stand-ins: category-level tasks with large within-class variation and cluttered
//! backgrounds.
//!
//! **ImageNet-12 keeps** what the paper uses it for: the 12 Toybox categories (airplane ... truck) seen in
//! photographs rather than in videos. Every image is a new object of its class, built by the Toybox stand-in's
//! category models (so no two images show the same object) in any colour (animals keep their natural ones), in a
//! free pose (any heading, some tilt and roll), at any size and place, under any light, in front of a cluttered
//! background.
//!
//! **ImageNet-100 keeps** a 100-way category task whose classes are recognised from coarse shape: each class is one
//! of 10 silhouettes (disc, box, triangle, star, cross, crescent, ring, drop, hexagon, arrow) combined with one of
//! 10 part arrangements (plain, stem, ears, eye, band, spikes, outline, dots, twin, legs), so that classes share parts
//! with each other as ImageNet's do (many dogs, many vehicles). Colour is a weak cue (a class hue 70% of the time),
//! and everything else varies per image: proportions, rotation, size, place, surface texture, lighting, small
//! distractor shapes of other classes and a cluttered background.
//!
//! **Neither keeps** the richness of natural photographs (their textures, which ImageNet models are known to rely
//! on, and the long tail of object appearance), nor their resolution: the stand-ins are drawn at the stored size.
use std::f32::consts::{PI, TAU};

use rand::Rng;
use rand_chacha::ChaCha8Rng;

use super::raster::{
    clutter, convex_polygon, ellipse, hsv, mix, rounded_rect, scale, stroke, uniform, v2, Bounds, Canvas, Rgb, Turn, V2,
};
use super::toybox::{draw as draw_toy, Category, Toy, View};

/// The ImageNet-100 stand-in's silhouettes, one factor of its class index (`class % 10`).
pub const SILHOUETTES: [&str; 10] =
    ["disc", "box", "triangle", "star", "cross", "crescent", "ring", "drop", "hexagon", "arrow"];

/// The ImageNet-100 stand-in's part arrangements, the other factor (`class / 10`).
pub const ARRANGEMENTS: [&str; 10] =
    ["plain", "stem", "ears", "eye", "band", "spikes", "outline", "dots", "twin", "legs"];

/// The name of ImageNet-100 stand-in class `class`, e.g. `star_stem`.
pub fn in100_class_name(class: usize) -> String {
    format!("{}_{}", SILHOUETTES[class % 10], ARRANGEMENTS[class / 10])
}

/// Draw an ImageNet-12 stand-in image of `category`.
pub fn draw_in12(canvas: &mut Canvas, category: Category, rng: &mut ChaCha8Rng) {
    clutter(canvas, rng, 10, 0.6);
    let toy = Toy::new(category, true, rng);
    draw_toy(canvas, &toy, &View::photograph(rng));
}

const HEXAGON: [V2; 6] = [
    v2(1.0, 0.0),
    v2(0.5, 0.866_025_4),
    v2(-0.5, 0.866_025_4),
    v2(-1.0, 0.0),
    v2(-0.5, -0.866_025_4),
    v2(0.5, -0.866_025_4),
];

/// Signed distance to silhouette `kind` in its own frame (about the unit disc), with per-image proportions `aspect`.
fn silhouette(kind: usize, q: V2, aspect: f32) -> f32 {
    let o = v2(0.0, 0.0);
    match kind {
        0 => ellipse(q, o, v2(1.0, aspect), Turn::NONE),
        1 => rounded_rect(q, o, v2(1.0, aspect), Turn::NONE, 0.12),
        2 => convex_polygon(q, &[v2(0.0, -1.0), v2(1.0, 0.75), v2(-1.0, 0.75)]) * aspect.sqrt(),
        3 => {
            // A five-pointed star as a polar curve; the factor keeps the distance roughly Euclidean near the edge.
            let angle = q.y.atan2(q.x) + PI / 2.0;
            let wave = ((angle * 5.0 / TAU).rem_euclid(1.0) - 0.5).abs() * 2.0;
            (q.length() - (0.45 + 0.55 * wave * wave.sqrt())) * 0.6
        }
        4 => rounded_rect(q, o, v2(1.0, 0.3 * aspect), Turn::NONE, 0.05).min(rounded_rect(
            q,
            o,
            v2(0.3 * aspect, 1.0),
            Turn::NONE,
            0.05,
        )),
        5 => ellipse(q, o, v2(1.0, 1.0), Turn::NONE).max(-ellipse(
            q,
            v2(0.45, -0.15),
            v2(0.8 * aspect, 0.8 * aspect),
            Turn::NONE,
        )),
        6 => (q.length() - 0.72).abs() - 0.28 * aspect,
        7 => ellipse(q, v2(0.0, 0.3), v2(0.7, 0.7), Turn::NONE)
            .min(convex_polygon(q, &[v2(0.0, -1.0), v2(0.62, 0.0), v2(-0.62, 0.0)])),
        8 => convex_polygon(v2(q.x, q.y / aspect.max(0.5)), &HEXAGON),
        _ => rounded_rect(q, v2(-0.35, 0.0), v2(0.65, 0.22 * aspect), Turn::NONE, 0.02)
            .min(convex_polygon(q, &[v2(1.0, 0.0), v2(0.2, -0.75), v2(0.2, 0.75)])),
    }
}

/// Draw an ImageNet-100 stand-in image of `class` (0..100) on a canvas of the stored size.
pub fn draw_in100(canvas: &mut Canvas, class: usize, rng: &mut ChaCha8Rng) {
    clutter(canvas, rng, 10, 0.6);
    // Distractors: small shapes of any class, so that the class is the one large object.
    for _ in 0..rng.random_range(0..3) {
        let kind = rng.random_range(0..10);
        let size = uniform(rng, 0.1, 0.18);
        let centre = v2(uniform(rng, -0.9, 0.9), uniform(rng, -0.9, 0.9));
        let turn = Turn::new(uniform(rng, 0.0, TAU));
        let colour = hsv(rng.random(), uniform(rng, 0.2, 0.9), uniform(rng, 0.2, 0.9));
        canvas.fill(Bounds::around(centre, size * 1.3), colour, 1.0, |p| {
            silhouette(kind, (p - centre).unturned(turn) * (1.0 / size), 0.8) * size
        });
    }
    let (kind, arrangement) = (class % 10, class / 10);
    let hue = if rng.random::<f32>() < 0.7 { class as f32 * 0.618 + uniform(rng, -0.05, 0.05) } else { rng.random() };
    let colour = hsv(hue, uniform(rng, 0.4, 0.95), uniform(rng, 0.45, 0.95));
    let accent = hsv(hue + uniform(rng, 0.25, 0.75), uniform(rng, 0.3, 0.9), uniform(rng, 0.15, 0.95));
    let dark = hsv(rng.random(), uniform(rng, 0.0, 0.4), uniform(rng, 0.05, 0.2));
    let aspect = uniform(rng, 0.65, 1.0);
    let size = uniform(rng, 0.33, 0.5);
    let turn = Turn::new(uniform(rng, -0.35, 0.35));
    let room = (0.95 - 1.6 * size).max(0.0);
    let centre = v2(uniform(rng, -room, room), uniform(rng, -room, room));
    let frame = |p: V2| (p - centre).unturned(turn) * (1.0 / size);
    let bounds = Bounds::around(centre, size * 2.3);
    let body = |q: V2| silhouette(kind, q, aspect);
    // Surface texture: a nuisance that varies per image (ImageNet photographs are full of texture).
    let texture = rng.random_range(0..3);
    let (frequency, texture_turn) = (uniform(rng, 6.0, 14.0), Turn::new(uniform(rng, 0.0, PI)));
    let shading = v2(1.0, 0.0).rotated(uniform(rng, 0.0, TAU)) * uniform(rng, 0.1, 0.35);
    let surface = move |q: V2| -> Rgb {
        let r = q.turned(texture_turn) * frequency;
        let grain = match texture {
            0 => 0.0,
            1 => 0.12 * r.x.sin(),
            _ => 0.1 * (r.x.sin() * r.y.sin()),
        };
        scale(colour, (1.0 + grain + q.dot(shading)).clamp(0.3, 1.5))
    };

    // Parts behind the body.
    match ARRANGEMENTS[arrangement] {
        "stem" => canvas.fill(bounds, mix(colour, dark, 0.5), 1.0, |p| {
            rounded_rect(frame(p), v2(0.0, 1.2), v2(0.16, 0.5), Turn::NONE, 0.05) * size
        }),
        "ears" => canvas.fill(bounds, colour, 1.0, |p| {
            let q = frame(p);
            let ear = |x: f32| ellipse(q, v2(x, -0.9), v2(0.3, 0.3), Turn::NONE);
            ear(-0.6).min(ear(0.6)) * size
        }),
        "spikes" => canvas.fill(bounds, colour, 1.0, |p| {
            let q = frame(p);
            let wave = ((q.y.atan2(q.x) * 8.0 / TAU).rem_euclid(1.0) - 0.5).abs() * 2.0;
            (q.length() - (0.9 + 0.5 * wave * wave)) * 0.5 * size
        }),
        "outline" => canvas.fill(bounds, dark, 1.0, |p| (body(frame(p)) - 0.17) * size),
        "twin" => canvas.fill(bounds, colour, 1.0, |p| {
            let q = frame(p) - v2(1.45, 0.55);
            silhouette(kind, q * 2.0, aspect) * 0.5 * size
        }),
        "legs" => canvas.fill(bounds, dark, 1.0, |p| {
            let q = frame(p);
            let left = stroke(q, &[v2(-0.4, 0.5), v2(-0.6, 1.5)], (0.08, 0.06));
            left.min(stroke(q, &[v2(0.4, 0.5), v2(0.6, 1.5)], (0.08, 0.06))) * size
        }),
        _ => {}
    }
    canvas.paint(bounds, 1.0, |p| body(frame(p)) * size, |p| surface(frame(p)));
    // Parts on top of the body.
    match ARRANGEMENTS[arrangement] {
        "eye" => canvas.fill(bounds, accent, 1.0, |p| ellipse(frame(p), v2(0.0, 0.0), v2(0.3, 0.3), Turn::NONE) * size),
        "band" => canvas.fill(bounds, accent, 1.0, |p| {
            let q = frame(p);
            body(q).max(q.y.abs() - 0.18) * size
        }),
        "dots" => canvas.fill(bounds, accent, 1.0, |p| {
            let q = frame(p);
            let dot = |x: f32| ellipse(q, v2(x, 0.0), v2(0.12, 0.12), Turn::NONE);
            dot(-0.4).min(dot(0.0)).min(dot(0.4)) * size
        }),
        _ => {}
    }
    let direction = v2(1.0, 0.0).rotated(uniform(rng, 0.0, TAU)) * uniform(rng, 0.0, 0.3);
    let exposure = uniform(rng, 0.8, 1.15);
    canvas.light(|p| (exposure * (1.0 + p.dot(direction))).clamp(0.2, 1.6));
}
