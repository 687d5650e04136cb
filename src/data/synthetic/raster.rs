//! Drawing primitives shared by the stand-ins: an RGB canvas addressed in unit coordinates, shapes given as signed
//! distance functions, and antialiased edges.
//!
//! Every stand-in is drawn in the square `[-1, 1]²` (x to the right, y downwards, like image rows), so one scene can be
//! rendered at any stored size (73 px for training, 64 px for testing in `mini`) and looks the same at both. A shape is
//! painted with coverage `clamp(0.5 - d, 0, 1)`, where `d` is its signed distance in pixels: edges are antialiased to
//! the pixel without supersampling, which matters because the paper's question is what a model learns from fine
//! detail, and aliasing would add fine detail that no real photograph has.
use std::ops::{Add, Mul, Neg, Sub};

use rand::Rng;

/// A point or direction in unit coordinates.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub(crate) struct V2 {
    pub x: f32,
    pub y: f32,
}

pub(crate) const fn v2(x: f32, y: f32) -> V2 {
    V2 { x, y }
}

impl V2 {
    pub(crate) fn dot(self, other: V2) -> f32 {
        self.x * other.x + self.y * other.y
    }

    pub(crate) fn length(self) -> f32 {
        self.dot(self).sqrt()
    }

    /// This vector turned by `angle` radians (clockwise on screen, since y points down).
    pub(crate) fn rotated(self, angle: f32) -> V2 {
        self.turned(Turn::new(angle))
    }

    pub(crate) fn turned(self, t: Turn) -> V2 {
        v2(t.cos * self.x - t.sin * self.y, t.sin * self.x + t.cos * self.y)
    }

    /// This vector turned back by `t`: from the canvas into a shape's own frame.
    pub(crate) fn unturned(self, t: Turn) -> V2 {
        v2(t.cos * self.x + t.sin * self.y, t.cos * self.y - t.sin * self.x)
    }
}

/// A rotation with its sine and cosine computed once, not once per pixel.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct Turn {
    cos: f32,
    sin: f32,
}

impl Turn {
    pub(crate) const NONE: Turn = Turn { cos: 1.0, sin: 0.0 };

    pub(crate) fn new(angle: f32) -> Turn {
        let (sin, cos) = angle.sin_cos();
        Turn { cos, sin }
    }
}

impl Add for V2 {
    type Output = V2;
    fn add(self, o: V2) -> V2 {
        v2(self.x + o.x, self.y + o.y)
    }
}

impl Sub for V2 {
    type Output = V2;
    fn sub(self, o: V2) -> V2 {
        v2(self.x - o.x, self.y - o.y)
    }
}

impl Mul<f32> for V2 {
    type Output = V2;
    fn mul(self, k: f32) -> V2 {
        v2(self.x * k, self.y * k)
    }
}

impl Neg for V2 {
    type Output = V2;
    fn neg(self) -> V2 {
        v2(-self.x, -self.y)
    }
}

/// Linear RGB in `[0, 1]`.
pub(crate) type Rgb = [f32; 3];

pub(crate) fn mix(a: Rgb, b: Rgb, t: f32) -> Rgb {
    [a[0] + (b[0] - a[0]) * t, a[1] + (b[1] - a[1]) * t, a[2] + (b[2] - a[2]) * t]
}

pub(crate) fn scale(c: Rgb, k: f32) -> Rgb {
    [c[0] * k, c[1] * k, c[2] * k]
}

/// A colour from hue (turns, any real), saturation and value, all in `[0, 1]`.
pub(crate) fn hsv(hue: f32, saturation: f32, value: f32) -> Rgb {
    let h = hue.rem_euclid(1.0) * 6.0;
    let f = |n: f32| {
        let k = (n + h) % 6.0;
        value - value * saturation * k.min(4.0 - k).clamp(0.0, 1.0)
    };
    [f(5.0), f(3.0), f(1.0)]
}

/// A uniform draw from `[lo, hi)`.
pub(crate) fn uniform(rng: &mut impl Rng, lo: f32, hi: f32) -> f32 {
    lo + (hi - lo) * rng.random::<f32>()
}

/// The range `[lo, hi)` a parameter is drawn from: the generators' tables of proportions, colours and offsets are
/// made of these.
pub(crate) type Span = (f32, f32);

/// A uniform draw from `span` (the same draw as [`uniform`]).
pub(crate) fn sample(rng: &mut impl Rng, (lo, hi): Span) -> f32 {
    uniform(rng, lo, hi)
}

/// True with probability `odds` (one draw, the same as `uniform(rng, 0.0, 1.0) < odds`).
pub(crate) fn chance(rng: &mut impl Rng, odds: f32) -> bool {
    rng.random::<f32>() < odds
}

/// An axis-aligned box in unit coordinates, used to visit only the pixels a shape can touch.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Bounds {
    pub min: V2,
    pub max: V2,
}

impl Bounds {
    pub(crate) fn around(centre: V2, radius: f32) -> Bounds {
        Bounds { min: v2(centre.x - radius, centre.y - radius), max: v2(centre.x + radius, centre.y + radius) }
    }

    pub(crate) fn of_points(points: &[V2], margin: f32) -> Bounds {
        let mut b = Bounds { min: v2(f32::MAX, f32::MAX), max: v2(f32::MIN, f32::MIN) };
        for p in points {
            b.min = v2(b.min.x.min(p.x), b.min.y.min(p.y));
            b.max = v2(b.max.x.max(p.x), b.max.y.max(p.y));
        }
        Bounds { min: v2(b.min.x - margin, b.min.y - margin), max: v2(b.max.x + margin, b.max.y + margin) }
    }
}

/// Signed distance from `p` to an ellipse with semi-axes `radii`, turned by `turn` (an approximation that is exact
/// on the boundary, which is all antialiasing needs).
pub(crate) fn ellipse(p: V2, centre: V2, radii: V2, turn: Turn) -> f32 {
    let q = (p - centre).unturned(turn);
    let k0 = v2(q.x / radii.x, q.y / radii.y).length();
    let k1 = v2(q.x / (radii.x * radii.x), q.y / (radii.y * radii.y)).length();
    if k1 == 0.0 {
        -radii.x.min(radii.y)
    } else {
        k0 * (k0 - 1.0) / k1
    }
}

/// Distance from `p` to the segment `a`-`b`, and where along it (0 at `a`, 1 at `b`) the nearest point lies.
pub(crate) fn segment(p: V2, a: V2, b: V2) -> (f32, f32) {
    let ab = b - a;
    let denom = ab.dot(ab);
    let t = if denom > 0.0 { ((p - a).dot(ab) / denom).clamp(0.0, 1.0) } else { 0.0 };
    ((p - (a + ab * t)).length(), t)
}

/// Signed distance to a stroke along `points` whose half-width goes linearly from `widths.0` to `widths.1`.
pub(crate) fn stroke(p: V2, points: &[V2], widths: (f32, f32)) -> f32 {
    let segments = points.len().saturating_sub(1).max(1) as f32;
    let mut best = f32::MAX;
    for (i, pair) in points.windows(2).enumerate() {
        let (d, t) = segment(p, pair[0], pair[1]);
        let along = (i as f32 + t) / segments;
        best = best.min(d - (widths.0 + (widths.1 - widths.0) * along));
    }
    best
}

/// Signed distance to a convex polygon (vertices in either winding); exact inside, a lower bound outside.
pub(crate) fn convex_polygon(p: V2, vertices: &[V2]) -> f32 {
    let n = vertices.len();
    let area: f32 = (0..n)
        .map(|i| {
            let (a, b) = (vertices[i], vertices[(i + 1) % n]);
            a.x * b.y - b.x * a.y
        })
        .sum();
    let winding = area.signum();
    let mut d = f32::MIN;
    for i in 0..n {
        let (a, b) = (vertices[i], vertices[(i + 1) % n]);
        let edge = b - a;
        let normal = v2(edge.y, -edge.x) * (winding / edge.length().max(1e-12));
        d = d.max((p - a).dot(normal));
    }
    d
}

/// Signed distance to a rectangle of half-size `half`, turned by `turn`, with corners rounded by `round`.
pub(crate) fn rounded_rect(p: V2, centre: V2, half: V2, turn: Turn, round: f32) -> f32 {
    let q = (p - centre).unturned(turn);
    let d = v2(q.x.abs() - half.x + round, q.y.abs() - half.y + round);
    let outside = v2(d.x.max(0.0), d.y.max(0.0)).length();
    outside + d.x.max(d.y).min(0.0) - round
}

/// An RGB image under construction, `side` x `side` pixels spanning the unit square `[-1, 1]²`.
pub(crate) struct Canvas {
    side: usize,
    /// Pixels per unit of length.
    pixels_per_unit: f32,
    rgb: Vec<Rgb>,
}

impl Canvas {
    pub(crate) fn new(side: usize, background: Rgb) -> Canvas {
        Canvas { side, pixels_per_unit: side as f32 / 2.0, rgb: vec![background; side * side] }
    }

    pub(crate) fn side(&self) -> usize {
        self.side
    }

    /// The width of one pixel in unit coordinates.
    pub(crate) fn pixel(&self) -> f32 {
        1.0 / self.pixels_per_unit
    }

    /// The unit-coordinate centre of pixel column `i` (or row `i`).
    pub(crate) fn coordinate(&self, i: usize) -> f32 {
        (i as f32 + 0.5) / self.pixels_per_unit - 1.0
    }

    /// Pixel index range `[lo, hi)` covering `[a, b]` in unit coordinates, padded by one pixel for the soft edge.
    fn span(&self, a: f32, b: f32) -> (usize, usize) {
        let lo = ((a + 1.0) * self.pixels_per_unit - 1.5).floor().max(0.0) as usize;
        let hi = ((b + 1.0) * self.pixels_per_unit + 1.5).ceil().clamp(0.0, self.side as f32) as usize;
        (lo.min(self.side), hi)
    }

    /// Paint a shape: `distance(p)` is its signed distance (negative inside) in unit coordinates, `colour(p)` its
    /// colour where it covers `p`; `opacity` scales its coverage. Only pixels within `bounds` are visited.
    pub(crate) fn paint(
        &mut self,
        bounds: Bounds,
        opacity: f32,
        distance: impl Fn(V2) -> f32,
        colour: impl Fn(V2) -> Rgb,
    ) {
        let (x0, x1) = self.span(bounds.min.x, bounds.max.x);
        let (y0, y1) = self.span(bounds.min.y, bounds.max.y);
        for row in y0..y1 {
            let y = self.coordinate(row);
            for column in x0..x1 {
                let p = v2(self.coordinate(column), y);
                let coverage = (0.5 - distance(p) * self.pixels_per_unit).clamp(0.0, 1.0) * opacity;
                if coverage > 0.0 {
                    let c = colour(p);
                    let pixel = &mut self.rgb[row * self.side + column];
                    *pixel = mix(*pixel, c, coverage);
                }
            }
        }
    }

    /// Paint a shape of one flat colour.
    pub(crate) fn fill(&mut self, bounds: Bounds, colour: Rgb, opacity: f32, distance: impl Fn(V2) -> f32) {
        self.paint(bounds, opacity, distance, |_| colour);
    }

    /// Set every pixel to `colour(p)`: a backdrop.
    pub(crate) fn shade(&mut self, colour: impl Fn(V2) -> Rgb) {
        for row in 0..self.side {
            let y = self.coordinate(row);
            for column in 0..self.side {
                self.rgb[row * self.side + column] = colour(v2(self.coordinate(column), y));
            }
        }
    }

    /// Multiply every pixel by `gain(p)`: scene lighting applied after drawing.
    pub(crate) fn light(&mut self, gain: impl Fn(V2) -> f32) {
        for row in 0..self.side {
            let y = self.coordinate(row);
            for column in 0..self.side {
                let g = gain(v2(self.coordinate(column), y));
                let pixel = &mut self.rgb[row * self.side + column];
                *pixel = scale(*pixel, g);
            }
        }
    }

    /// Read and write access to one pixel (row-major), for renderers with their own per-pixel loop.
    pub(crate) fn pixel_mut(&mut self, row: usize, column: usize) -> &mut Rgb {
        &mut self.rgb[row * self.side + column]
    }

    /// Quantise to 8 bits, channel-major (`[3, side, side]`), adding uniform sensor noise of `noise` (in `[0, 1]`
    /// units) seeded from `rng`, into `out` (length `3 * side * side`).
    pub(crate) fn write_chw(&self, noise: f32, rng: &mut impl Rng, out: &mut [u8]) {
        let plane = self.side * self.side;
        debug_assert_eq!(out.len(), 3 * plane);
        // SplitMix64 for the per-pixel draws: the generic generators are compiled without optimisation in the dev
        // profile, and noise needs no cryptographic quality.
        let mut state: u64 = rng.random();
        let mut next = move || {
            state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
            let mut z = state;
            z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
            ((z ^ (z >> 31)) >> 40) as f32 / (1u64 << 24) as f32
        };
        for (i, pixel) in self.rgb.iter().enumerate() {
            for (channel, value) in pixel.iter().enumerate() {
                let jitter = noise * (next() - 0.5);
                out[channel * plane + i] = ((value + jitter).clamp(0.0, 1.0) * 255.0).round() as u8;
            }
        }
    }
}

/// A cluttered, softly lit background: a two-colour gradient under `blobs` random low-contrast shapes. Shared by the
/// faces and ImageNet stand-ins, whose real photographs have busy backgrounds that carry no label information.
pub(crate) fn clutter(canvas: &mut Canvas, rng: &mut impl Rng, blobs: usize, contrast: f32) {
    let base = hsv(rng.random(), uniform(rng, 0.05, 0.5), uniform(rng, 0.25, 0.85));
    let other = hsv(rng.random(), uniform(rng, 0.05, 0.5), uniform(rng, 0.25, 0.85));
    let direction = v2(1.0, 0.0).rotated(uniform(rng, 0.0, std::f32::consts::TAU));
    canvas.shade(|p| mix(base, other, 0.5 + 0.5 * p.dot(direction).clamp(-1.0, 1.0)));
    for _ in 0..blobs {
        let colour = mix(base, hsv(rng.random(), uniform(rng, 0.0, 0.7), uniform(rng, 0.1, 1.0)), contrast);
        let centre = v2(uniform(rng, -1.1, 1.1), uniform(rng, -1.1, 1.1));
        let size = uniform(rng, 0.08, 0.5);
        let angle = uniform(rng, 0.0, std::f32::consts::PI);
        let turn = Turn::new(angle);
        let opacity = uniform(rng, 0.4, 1.0);
        let bounds = Bounds::around(centre, size * 1.5);
        match rng.random_range(0..3) {
            0 => canvas.fill(bounds, colour, opacity, |p| ellipse(p, centre, v2(size, size * 0.6), turn)),
            1 => canvas.fill(bounds, colour, opacity, |p| rounded_rect(p, centre, v2(size, size * 0.4), turn, 0.02)),
            _ => {
                let end = centre + v2(size * 1.4, 0.0).rotated(angle);
                let points = [centre, end];
                let width = size * 0.12;
                canvas.fill(Bounds::of_points(&points, width), colour, opacity, |p| stroke(p, &points, (width, width)))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distances_are_signed_and_exact_on_simple_shapes() {
        let c = v2(0.0, 0.0);
        assert!((ellipse(v2(0.5, 0.0), c, v2(0.5, 0.25), Turn::NONE)).abs() < 1e-6);
        assert!(ellipse(v2(0.0, 0.0), c, v2(0.5, 0.25), Turn::NONE) < 0.0);
        assert!((ellipse(v2(0.0, 0.35), c, v2(0.5, 0.25), Turn::NONE) - 0.1).abs() < 0.02);
        // Turned by a quarter turn, the long axis is vertical.
        assert!(ellipse(v2(0.0, 0.45), c, v2(0.5, 0.25), Turn::new(std::f32::consts::FRAC_PI_2)) < 0.0);
        let square = [v2(-1.0, -1.0), v2(1.0, -1.0), v2(1.0, 1.0), v2(-1.0, 1.0)];
        assert!((convex_polygon(v2(0.0, 0.0), &square) + 1.0).abs() < 1e-6);
        assert!((convex_polygon(v2(1.5, 0.0), &square) - 0.5).abs() < 1e-6);
        assert!((rounded_rect(v2(0.0, 0.7), c, v2(1.0, 0.5), Turn::NONE, 0.1) - 0.2).abs() < 1e-6);
        assert!((stroke(v2(0.5, 0.3), &[v2(0.0, 0.0), v2(1.0, 0.0)], (0.1, 0.1)) - 0.2).abs() < 1e-6);
    }

    #[test]
    fn hsv_gives_primaries() {
        let close = |a: Rgb, b: Rgb| a.iter().zip(b).all(|(x, y)| (x - y).abs() < 1e-6);
        assert!(close(hsv(0.0, 1.0, 1.0), [1.0, 0.0, 0.0]));
        assert!(close(hsv(1.0 / 3.0, 1.0, 1.0), [0.0, 1.0, 0.0]));
        assert!(close(hsv(2.0 / 3.0, 1.0, 0.5), [0.0, 0.0, 0.5]));
        assert!(close(hsv(0.3, 0.0, 0.7), [0.7, 0.7, 0.7]));
    }

    #[test]
    fn an_edge_half_covers_the_pixel_it_crosses() {
        // A half-plane x < 0 on a 4-px canvas (pixel centres at -0.75, -0.25, 0.25, 0.75): columns 0 and 1 inside,
        // 2 and 3 outside; an edge through a pixel centre covers it by one half.
        let mut canvas = Canvas::new(4, [0.0; 3]);
        canvas.fill(Bounds::around(v2(0.0, 0.0), 1.0), [1.0; 3], 1.0, |p| p.x);
        assert_eq!(canvas.rgb[0], [1.0; 3]);
        assert_eq!(canvas.rgb[3], [0.0; 3]);
        let mut shifted = Canvas::new(4, [0.0; 3]);
        shifted.fill(Bounds::around(v2(0.0, 0.0), 1.0), [1.0; 3], 1.0, |p| p.x - 0.25);
        assert!((shifted.rgb[2][0] - 0.5).abs() < 1e-6);
    }
}
