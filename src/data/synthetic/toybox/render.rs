//! Drawing a toy: orthographic ray casting of its parts, Lambertian shading with a little gloss, and antialiased
//! edges.
use std::f32::consts::{PI, TAU};

use rand_chacha::ChaCha8Rng;

use super::super::grain::{Grain, Recipe};
use super::super::raster::{mix, sample, scale, uniform, v2, Bounds, Canvas, Rgb, Span, V2};
use super::{v3, Part, Pattern, Solid, Toy, M3, V3, X, Y, Z};

/// How one image looks at a toy: its orientation, size and place on screen, and the light.
pub(crate) struct View {
    rotation: M3,
    /// Radius of the toy's unit ball on screen, in unit coordinates.
    size: f32,
    offset: V2,
    /// Unit vector towards the light (world: x right, y up, z towards the viewer).
    light: V3,
    ambient: f32,
    /// The fine grain over the toy's surface, in screen space (`super::grain`): an object's at the instance level,
    /// its category's at the category level and in ImageNet-12.
    grain: Grain,
}

impl View {
    /// The filming pose of the videos: the toy seen a little from above and from its front-left side (radians
    /// about x, then about y).
    const FILMING_PITCH: f32 = 0.35;
    const FILMING_HEADING: f32 = -0.6;
    /// A video frame's jitter: the toy's size, its offset, the light's direction (x and y; z is fixed) and the
    /// ambient light.
    const FRAME_SIZE: Span = (0.72, 0.82);
    const FRAME_OFFSET: Span = (-0.06, 0.06);
    const FRAME_LIGHT_X: Span = (-0.6, 0.6);
    const FRAME_LIGHT_Y: Span = (0.3, 0.9);
    const FRAME_LIGHT_Z: f32 = 0.8;
    const FRAME_AMBIENT: Span = (0.3, 0.45);
    /// A photograph's view: tilt (about x), roll (about z), size, the light's direction and the ambient light.
    const PHOTO_TILT: Span = (-0.2, 0.7);
    const PHOTO_ROLL: Span = (-0.35, 0.35);
    const PHOTO_SIZE: Span = (0.55, 0.9);
    const PHOTO_LIGHT_X: Span = (-0.9, 0.9);
    const PHOTO_LIGHT_Y: Span = (-0.2, 0.9);
    const PHOTO_LIGHT_Z: Span = (0.4, 0.9);
    const PHOTO_AMBIENT: Span = (0.25, 0.55);

    /// A frame of a rotation video: `angle` about world `axis`, applied to the toy in its filming pose, with small
    /// per-image jitter of place, size and light, and the toy wearing `grain`.
    pub(crate) fn frame(axis: usize, angle: f32, grain: &Recipe, rng: &mut ChaCha8Rng) -> View {
        let pose = M3::rotation(X, Self::FILMING_PITCH).then(&M3::rotation(Y, Self::FILMING_HEADING));
        View {
            rotation: M3::rotation(axis, angle).then(&pose),
            size: sample(rng, Self::FRAME_SIZE),
            offset: v2(sample(rng, Self::FRAME_OFFSET), sample(rng, Self::FRAME_OFFSET)),
            light: v3(sample(rng, Self::FRAME_LIGHT_X), sample(rng, Self::FRAME_LIGHT_Y), Self::FRAME_LIGHT_Z)
                .normalized(),
            ambient: sample(rng, Self::FRAME_AMBIENT),
            grain: grain.draw(rng),
        }
    }

    /// A free view for photographs: any heading, a moderate tilt and roll, any size and place, the object wearing
    /// `grain`.
    pub(crate) fn photograph(grain: &Recipe, rng: &mut ChaCha8Rng) -> View {
        let rotation = M3::rotation(X, sample(rng, Self::PHOTO_TILT))
            .then(&M3::rotation(Z, sample(rng, Self::PHOTO_ROLL)))
            .then(&M3::rotation(Y, uniform(rng, 0.0, TAU)));
        let size = sample(rng, Self::PHOTO_SIZE);
        let room = 1.0 - size;
        View {
            rotation,
            size,
            offset: v2(uniform(rng, -room, room), uniform(rng, -room, room)),
            light: v3(
                sample(rng, Self::PHOTO_LIGHT_X),
                sample(rng, Self::PHOTO_LIGHT_Y),
                sample(rng, Self::PHOTO_LIGHT_Z),
            )
            .normalized(),
            ambient: sample(rng, Self::PHOTO_AMBIENT),
            grain: grain.draw(rng),
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
    let lit = scale(surface(part.part, hit), (view.ambient + (1.0 - view.ambient) * diffuse) * view.grain.gain(p));
    Some((index, mix(lit, [1.0; 3], specular.min(1.0))))
}

/// Sub-pixel offsets (in pixels) of the four samples taken where an edge crosses a pixel: a rotated grid, which
/// resolves near-horizontal and near-vertical edges better than a square one.
const EDGE_SAMPLES: [(f32, f32); 4] = [(-0.125, -0.375), (0.375, -0.125), (0.125, 0.375), (-0.375, 0.125)];

/// Draw `toy` as seen in `view` over what `canvas` holds: orthographic ray casting, Lambertian shading with a
/// little gloss. One ray per pixel, four where the pixel or a neighbour sees another part or the background: the
/// edges are antialiased at a quarter of the cost of supersampling everything.
pub(crate) fn draw(canvas: &mut Canvas, toy: &Toy, view: &View) {
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

#[cfg(test)]
mod tests {
    use super::*;

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
}
