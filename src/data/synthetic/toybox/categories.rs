//! The categories' builders: one function per category composes a toy from its parts, and a table next to it holds
//! its numbers. Sizes are half-sizes in object units (x forwards, y up, z to the toy's left) before the toy is scaled
//! to the unit ball, angles are in radians, and a [`Span`] is the range a number is drawn from for each object.
//!
//! Every draw comes from the toy's own generator, in the order the builders make them: reordering two draws changes
//! every toy (the golden hashes in `synthetic::tests` catch it).
use std::f32::consts::{FRAC_PI_2, PI};

use rand::Rng;
use rand_chacha::ChaCha8Rng;

use super::super::raster::{chance, hsv, sample, scale, Rgb, Span};
use super::{v3, Category, Part, Pattern, Solid, M3, V3, X, Y, Z};

/// Adds parts to a toy: each part takes the builder's current colour, accent and pattern, and the toy's gloss.
pub(super) struct PartBuilder {
    pub(super) parts: Vec<Part>,
    colour: Rgb,
    accent: Rgb,
    pattern: Pattern,
    gloss: f32,
}

impl PartBuilder {
    pub(super) fn new(look: &Look) -> PartBuilder {
        PartBuilder {
            parts: Vec::new(),
            colour: look.colour,
            accent: look.accent,
            pattern: look.pattern,
            gloss: look.gloss,
        }
    }

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

    fn ellipsoid(&mut self, centre: V3, half: V3, orientation: M3) {
        self.add(Solid::Ellipsoid, centre, half, orientation);
    }

    fn cuboid(&mut self, centre: V3, half: V3, orientation: M3) {
        self.add(Solid::Cuboid, centre, half, orientation);
    }

    /// A cylinder whose axis is local z: [`upright`] and [`lengthwise`] turn it along object y or x.
    fn cylinder(&mut self, centre: V3, half: V3, orientation: M3) {
        self.add(Solid::Cylinder, centre, half, orientation);
    }

    /// Give the parts added next another colour and pattern.
    fn with(&mut self, colour: Rgb, pattern: Pattern) -> &mut Self {
        self.colour = colour;
        self.pattern = pattern;
        self
    }
}

/// The right (-1) and left (+1) side of a toy, for parts that come in pairs.
const SIDES: [f32; 2] = [-1.0, 1.0];

const ORIGIN: V3 = v3(0.0, 0.0, 0.0);

/// A cylinder's orientation with its axis along object y.
fn upright() -> M3 {
    M3::rotation(X, FRAC_PI_2)
}

/// A cylinder's orientation with its axis along object x.
fn lengthwise() -> M3 {
    M3::rotation(Y, FRAC_PI_2)
}

/// A toy's colours and finish, drawn before its shape: its parts start with these, and a builder may change them.
pub(super) struct Look {
    colour: Rgb,
    /// The second colour of the surface pattern, and of some parts.
    accent: Rgb,
    pattern: Pattern,
    gloss: f32,
    /// A near-black grey for tyres, rotors and eyes.
    dark: Rgb,
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

/// Jitter (turns) of a hue taken from a palette.
const HUE_JITTER: Span = (-0.02, 0.02);

/// The saturation and value of a main colour.
struct Tone {
    saturation: Span,
    value: Span,
}

/// Most toys are painted in strong colours.
const PAINTED: Tone = Tone { saturation: (0.6, 0.9), value: (0.6, 0.9) };
/// Cats' and horses' coats, from washed out to dark.
const COAT: Tone = Tone { saturation: (0.3, 0.8), value: (0.3, 0.9) };
/// Metal spoons, nearly grey.
const METAL: Tone = Tone { saturation: (0.0, 0.1), value: (0.6, 0.85) };
/// The share of spoons made of metal.
const METAL_SPOONS: f32 = 0.5;

/// The accent colours a toy can have, as (saturation, value) of its main hue: dark or pale; or else the
/// complementary hue at [`COMPLEMENT`].
const DARK_ACCENT: (f32, f32) = (0.2, 0.2);
const PALE_ACCENT: (f32, f32) = (0.1, 0.9);
const COMPLEMENT: (f32, f32) = (0.7, 0.7);

/// Surface patterns other than a ball's: stripes' periods over a part, a band's half-width, spots per unit.
const STRIPE_FREQUENCY: Span = (2.0, 5.0);
const BAND_WIDTH: Span = (0.15, 0.4);
const SPOT_FREQUENCY: Span = (2.0, 4.0);

/// The strength of the specular highlight, and the value of the dark grey.
const GLOSS: Span = (0.1, 0.5);
const DARK_VALUE: Span = (0.08, 0.2);

impl Look {
    /// The look of a new toy of `category`: the main hue from the category's palette or, with `any_hue`, any hue
    /// for the man-made categories.
    pub(super) fn draw(category: Category, any_hue: bool, rng: &mut ChaCha8Rng) -> Look {
        let hues = palette(category);
        let hue = if any_hue && !category.is_animal() {
            rng.random()
        } else {
            hues[rng.random_range(0..hues.len())] + sample(rng, HUE_JITTER)
        };
        let tone = match category {
            Category::Spoon if chance(rng, METAL_SPOONS) => &METAL,
            Category::Cat | Category::Horse => &COAT,
            _ => &PAINTED,
        };
        let colour = hsv(hue, sample(rng, tone.saturation), sample(rng, tone.value));
        let accent = match rng.random_range(0..3) {
            0 => hsv(hue, DARK_ACCENT.0, DARK_ACCENT.1),
            1 => hsv(hue, PALE_ACCENT.0, PALE_ACCENT.1),
            _ => hsv(hue + 0.5, COMPLEMENT.0, COMPLEMENT.1),
        };
        // Plain two times in five, else stripes, a band or spots.
        let pattern = match rng.random_range(0..5) {
            0 | 1 => Pattern::Plain,
            2 => Pattern::Stripes { axis: rng.random_range(0..3), frequency: sample(rng, STRIPE_FREQUENCY) },
            3 => Pattern::Band { axis: rng.random_range(0..3), width: sample(rng, BAND_WIDTH) },
            _ => Pattern::Spots { frequency: sample(rng, SPOT_FREQUENCY) },
        };
        let gloss = sample(rng, GLOSS);
        let dark = hsv(0.0, 0.0, sample(rng, DARK_VALUE));
        Look { colour, accent, pattern, gloss, dark }
    }
}

// unit ball, angles are in radians, and a `Span` is the range a size is drawn from for each object.

/// An airplane's proportions.
struct AirplaneTable {
    /// The fuselage's half-length and radius.
    length: Span,
    radius: Span,
    /// The wings: half-chord, half-span, sweep, place along the fuselage and height, half-thickness.
    wing_chord: Span,
    wing_span: Span,
    wing_sweep: Span,
    wing_x: Span,
    wing_y: Span,
    wing_thickness: f32,
    /// Where the tail is, behind the centre, as a share of the fuselage's half-length.
    tail_at: f32,
    /// The tail fin: half-height, how far it stands above the fuselage (a share of its half-height), half-chord,
    /// rake and half-thickness.
    fin_height: Span,
    fin_rise: f32,
    fin_chord: Span,
    fin_rake: Span,
    fin_thickness: f32,
    /// The tailplane: half-chord, half-thickness, half-span.
    tailplane_chord: Span,
    tailplane_thickness: f32,
    tailplane_span: Span,
    /// The share of airplanes with two engines; their radius, half-length, place ahead of the wing's centre, drop
    /// below the axis (a share of the fuselage's radius) and place along the wing (a share of its half-span).
    engine_odds: f32,
    engine_radius: Span,
    engine_length: f32,
    engine_ahead: f32,
    engine_drop: f32,
    engine_out: f32,
}

const AIRPLANE: AirplaneTable = AirplaneTable {
    length: (0.85, 1.15),
    radius: (0.1, 0.18),
    wing_chord: (0.14, 0.28),
    wing_span: (0.7, 1.1),
    wing_sweep: (-0.35, 0.35),
    wing_x: (-0.15, 0.15),
    wing_y: (-0.06, 0.04),
    wing_thickness: 0.025,
    tail_at: 0.85,
    fin_height: (0.1, 0.2),
    fin_rise: 0.8,
    fin_chord: (0.08, 0.14),
    fin_rake: (-0.5, 0.0),
    fin_thickness: 0.02,
    tailplane_chord: (0.07, 0.12),
    tailplane_thickness: 0.02,
    tailplane_span: (0.2, 0.35),
    engine_odds: 0.5,
    engine_radius: (0.05, 0.08),
    engine_length: 0.16,
    engine_ahead: 0.05,
    engine_drop: 0.8,
    engine_out: 0.45,
};

/// An airplane: fuselage, swept wings, tail fin, tailplane and, on some, two engines under the wings.
pub(super) fn airplane(b: &mut PartBuilder, look: &Look, rng: &mut ChaCha8Rng) {
    let t = &AIRPLANE;
    let (length, radius) = (sample(rng, t.length), sample(rng, t.radius));
    b.ellipsoid(ORIGIN, v3(length, radius, radius), M3::IDENTITY);
    let (chord, span, sweep, wing_x) =
        (sample(rng, t.wing_chord), sample(rng, t.wing_span), sample(rng, t.wing_sweep), sample(rng, t.wing_x));
    b.cuboid(v3(wing_x, sample(rng, t.wing_y), 0.0), v3(chord, t.wing_thickness, span), M3::rotation(Y, sweep));
    let fin = sample(rng, t.fin_height);
    b.cuboid(
        v3(-length * t.tail_at, radius + fin * t.fin_rise, 0.0),
        v3(sample(rng, t.fin_chord), fin, t.fin_thickness),
        M3::rotation(Z, sample(rng, t.fin_rake)),
    );
    b.cuboid(
        v3(-length * t.tail_at, 0.0, 0.0),
        v3(sample(rng, t.tailplane_chord), t.tailplane_thickness, sample(rng, t.tailplane_span)),
        M3::IDENTITY,
    );
    if chance(rng, t.engine_odds) {
        let engine = sample(rng, t.engine_radius);
        for side in SIDES {
            b.with(look.accent, Pattern::Plain).cylinder(
                v3(wing_x + t.engine_ahead, -radius * t.engine_drop, side * span * t.engine_out),
                v3(engine, engine, t.engine_length),
                lengthwise(),
            );
        }
    }
}

/// A ball's proportions and patterns.
struct BallTable {
    radius: Span,
    /// The vertical half-axis as a share of the radius.
    squash: Span,
    /// Cumulative odds of a plain ball, of stripes and of a band; the other balls have spots.
    plain_below: f32,
    stripes_below: f32,
    band_below: f32,
    /// Stripes (periods over the ball, rounded, plus a half), a band's half-width, spots per unit.
    stripe_periods: Span,
    band_width: Span,
    spot_frequency: Span,
}

const BALL: BallTable = BallTable {
    radius: (0.6, 0.75),
    squash: (0.95, 1.0),
    plain_below: 0.2,
    stripes_below: 0.5,
    band_below: 0.75,
    stripe_periods: (1.5, 4.0),
    band_width: (0.1, 0.4),
    spot_frequency: (2.0, 3.5),
};

/// A ball: a sphere, a little squashed, with a pattern of its own around its vertical axis.
pub(super) fn ball(b: &mut PartBuilder, rng: &mut ChaCha8Rng) {
    let t = &BALL;
    b.pattern = match rng.random::<f32>() {
        u if u < t.plain_below => Pattern::Plain,
        u if u < t.stripes_below => {
            Pattern::Stripes { axis: Y, frequency: sample(rng, t.stripe_periods).round() + 0.5 }
        }
        u if u < t.band_below => Pattern::Band { axis: Y, width: sample(rng, t.band_width) },
        _ => Pattern::Spots { frequency: sample(rng, t.spot_frequency) },
    };
    let r = sample(rng, t.radius);
    b.ellipsoid(ORIGIN, v3(r, r * sample(rng, t.squash), r), M3::IDENTITY);
}

/// What cars and trucks share: the body's half-length, half-height and half-width, the wheels' radius and
/// half-width.
struct ChassisTable {
    length: Span,
    height: Span,
    width: Span,
    wheel: Span,
    tyre_width: f32,
}

const CHASSIS: ChassisTable = ChassisTable {
    length: (0.75, 1.0),
    height: (0.13, 0.22),
    width: (0.3, 0.42),
    wheel: (0.13, 0.2),
    tyre_width: 0.06,
};

/// One vehicle's drawn chassis (see [`ChassisTable`]).
struct Chassis {
    length: f32,
    height: f32,
    width: f32,
    wheel: f32,
}

impl Chassis {
    fn draw(rng: &mut ChaCha8Rng) -> Chassis {
        let t = &CHASSIS;
        let (length, height, width) = (sample(rng, t.length), sample(rng, t.height), sample(rng, t.width));
        Chassis { length, height, width, wheel: sample(rng, t.wheel) }
    }

    /// A wheel on each side at every axle (a share of the half-length ahead of the centre), hubs at height `hub`.
    fn wheels(&self, b: &mut PartBuilder, axles: &[f32], hub: f32) {
        for axle in axles.iter().map(|&axle| self.length * axle) {
            for side in SIDES {
                b.cylinder(
                    v3(axle, hub, side * self.width),
                    v3(self.wheel, self.wheel, CHASSIS.tyre_width),
                    M3::IDENTITY,
                );
            }
        }
    }
}

/// A car's body and cabin.
struct CarTable {
    /// How high the body rides, as a share of the wheels' radius.
    ride: f32,
    /// The cabin: half-length (a share of the body's), the height of its window band, place along the body, how
    /// far above the body it starts, half-height, half-width (a share of the body's).
    cabin_length: Span,
    window_band: Span,
    cabin_x: Span,
    cabin_lift: Span,
    cabin_height: Span,
    cabin_width: f32,
    axles: [f32; 2],
}

const CAR: CarTable = CarTable {
    ride: 0.5,
    cabin_length: (0.35, 0.55),
    window_band: (0.4, 0.8),
    cabin_x: (-0.25, 0.1),
    cabin_lift: (0.1, 0.18),
    cabin_height: (0.1, 0.18),
    cabin_width: 0.88,
    axles: [0.65, -0.65],
};

/// A car: a body on four wheels with a cabin, whose windows are a band of the body's colour.
pub(super) fn car(b: &mut PartBuilder, look: &Look, rng: &mut ChaCha8Rng) {
    let t = &CAR;
    let chassis = Chassis::draw(rng);
    let Chassis { length, height, width, wheel } = chassis;
    b.cuboid(v3(0.0, height + wheel * t.ride, 0.0), v3(length, height, width), M3::IDENTITY);
    let cabin = sample(rng, t.cabin_length) * length;
    let pattern = Pattern::Band { axis: Y, width: sample(rng, t.window_band) };
    b.with(look.colour, pattern).cuboid(
        v3(sample(rng, t.cabin_x), 2.0 * height + wheel * t.ride + sample(rng, t.cabin_lift), 0.0),
        v3(cabin, sample(rng, t.cabin_height), width * t.cabin_width),
        M3::IDENTITY,
    );
    b.with(look.dark, Pattern::Plain);
    chassis.wheels(b, &t.axles, wheel);
}

/// A truck's cab, cargo box and frame.
struct TruckTable {
    /// The cab: half-length, how far above the body's half-height it sits, how much taller than the body it is.
    cab: Span,
    cab_lift: f32,
    cab_extra: Span,
    /// The cargo box: height and half-height (shares of the body's half-height), half-width (a share of the
    /// body's).
    cargo_y: f32,
    cargo_height: Span,
    cargo_width: f32,
    /// The hubs' height (a share of the wheels' radius); the frame's half-thickness and half-width (a share of the
    /// body's).
    hub: f32,
    frame_thickness: f32,
    frame_width: f32,
    axles: [f32; 3],
}

const TRUCK: TruckTable = TruckTable {
    cab: (0.2, 0.3),
    cab_lift: 0.15,
    cab_extra: (0.08, 0.18),
    cargo_y: 1.6,
    cargo_height: (1.4, 2.2),
    cargo_width: 1.05,
    hub: 0.6,
    frame_thickness: 0.05,
    frame_width: 0.8,
    axles: [0.7, -0.2, -0.7],
};

/// A truck: a cab ahead of a cargo box in the accent colour, on a dark frame with six wheels.
pub(super) fn truck(b: &mut PartBuilder, look: &Look, rng: &mut ChaCha8Rng) {
    let t = &TRUCK;
    let chassis = Chassis::draw(rng);
    let Chassis { length, height, width, wheel } = chassis;
    let cab = sample(rng, t.cab);
    b.cuboid(
        v3(length - cab, height + t.cab_lift, 0.0),
        v3(cab, height + sample(rng, t.cab_extra), width),
        M3::IDENTITY,
    );
    b.with(look.accent, Pattern::Plain).cuboid(
        v3(-cab, height * t.cargo_y, 0.0),
        v3(length - cab, height * sample(rng, t.cargo_height), width * t.cargo_width),
        M3::IDENTITY,
    );
    b.with(look.dark, Pattern::Plain).cuboid(
        v3(0.0, wheel * t.hub, 0.0),
        v3(length, t.frame_thickness, width * t.frame_width),
        M3::IDENTITY,
    );
    chassis.wheels(b, &t.axles, wheel * t.hub);
}

/// A four-legged animal's proportions: its legs' half-length, its body's half-size and its neck's half-length
/// (cats have none).
struct QuadrupedTable {
    leg: Span,
    body: [Span; 3],
    neck: Option<Span>,
}

const CAT: QuadrupedTable =
    QuadrupedTable { leg: (0.15, 0.25), body: [(0.45, 0.6), (0.2, 0.27), (0.18, 0.24)], neck: None };
const HORSE: QuadrupedTable =
    QuadrupedTable { leg: (0.3, 0.42), body: [(0.5, 0.62), (0.22, 0.28), (0.18, 0.22)], neck: Some((0.22, 0.32)) };
const GIRAFFE: QuadrupedTable =
    QuadrupedTable { leg: (0.4, 0.55), body: [(0.38, 0.5), (0.2, 0.26), (0.16, 0.2)], neck: Some((0.45, 0.65)) };

/// What quadrupeds share below the neck.
struct LimbTable {
    /// How deep the body sits between the legs' tops (a share of its half-height).
    body_sink: f32,
    /// The legs: radius, places (shares of the body's half-length and half-width).
    leg_radius: Span,
    leg_x: f32,
    leg_z: f32,
    /// The tail: its angle down from the horizontal, place behind the body (a share of its half-length), rise per
    /// unit of the angle's sine, radius and half-length.
    tail_angle: Span,
    tail_back: f32,
    tail_rise: f32,
    tail_radius: f32,
    tail_length: Span,
}

const LIMBS: LimbTable = LimbTable {
    body_sink: 0.6,
    leg_radius: (0.04, 0.07),
    leg_x: 0.65,
    leg_z: 0.55,
    tail_angle: (0.3, 1.2),
    tail_back: 1.1,
    tail_rise: 0.15,
    tail_radius: 0.03,
    tail_length: (0.18, 0.35),
};

/// A drawn quadruped's body: its half-size, its centre's height and its neck's half-length.
struct Torso {
    body: V3,
    body_y: f32,
    neck: f32,
}

/// A quadruped's body, four legs and tail.
fn quadruped(b: &mut PartBuilder, shape: &QuadrupedTable, rng: &mut ChaCha8Rng) -> Torso {
    let t = &LIMBS;
    let leg = sample(rng, shape.leg);
    let body = v3(sample(rng, shape.body[0]), sample(rng, shape.body[1]), sample(rng, shape.body[2]));
    let neck = shape.neck.map_or(0.0, |neck| sample(rng, neck));
    let body_y = 2.0 * leg + body.y * t.body_sink;
    b.ellipsoid(v3(0.0, body_y, 0.0), body, M3::IDENTITY);
    let leg_radius = sample(rng, t.leg_radius);
    for x in [body.x * t.leg_x, -body.x * t.leg_x] {
        for side in SIDES {
            b.cylinder(v3(x, leg, side * body.z * t.leg_z), v3(leg_radius, leg_radius, leg), upright());
        }
    }
    let tail_angle = sample(rng, t.tail_angle);
    b.cylinder(
        v3(-body.x * t.tail_back, body_y + t.tail_rise * tail_angle.sin(), 0.0),
        v3(t.tail_radius, t.tail_radius, sample(rng, t.tail_length)),
        M3::rotation(Z, -tail_angle).then(&lengthwise()),
    );
    Torso { body, body_y, neck }
}

/// A cat's head.
struct CatHeadTable {
    /// The head's radius, its half-height as a share of it, and its place ahead of and above the body (the
    /// radius's share beyond the body's front and top, the body's front as a share of its half-length).
    radius: Span,
    squash: f32,
    overhang: f32,
    forward: f32,
    /// The ears: half-height, apart (a share of the head's radius), half-thickness, outward tilt.
    ear: Span,
    ear_apart: f32,
    ear_thickness: f32,
    ear_tilt: f32,
}

const CAT_HEAD: CatHeadTable = CatHeadTable {
    radius: (0.18, 0.24),
    squash: 0.9,
    overhang: 0.3,
    forward: 1.05,
    ear: (0.06, 0.1),
    ear_apart: 0.5,
    ear_thickness: 0.02,
    ear_tilt: 0.3,
};

/// A cat: a short-legged quadruped with a round head and two pointed ears.
pub(super) fn cat(b: &mut PartBuilder, rng: &mut ChaCha8Rng) {
    let t = &CAT_HEAD;
    let Torso { body, body_y, .. } = quadruped(b, &CAT, rng);
    let r = sample(rng, t.radius);
    let head = v3(body.x * t.forward + r * t.overhang, body_y + body.y + r * t.overhang, 0.0);
    b.ellipsoid(head, v3(r, r * t.squash, r), M3::IDENTITY);
    let ear = sample(rng, t.ear);
    for side in SIDES {
        b.cuboid(
            head + v3(0.0, r * t.squash, side * r * t.ear_apart),
            v3(ear * 0.5, ear, t.ear_thickness),
            M3::rotation(X, side * t.ear_tilt),
        );
    }
}

/// A long neck and the head at its top (horses, giraffes).
struct NeckTable {
    /// The neck's tilt forwards from vertical, its base (shares of the body's half-length and half-height), radii.
    tilt: Span,
    base_x: f32,
    base_y: f32,
    radius: Span,
    /// The head: its place ahead of the neck's top, half-size and droop.
    head_ahead: f32,
    head: [Span; 3],
    head_droop: Span,
}

const NECK: NeckTable = NeckTable {
    tilt: (0.3, 0.8),
    base_x: 0.8,
    base_y: 0.5,
    radius: (0.06, 0.1),
    head_ahead: 0.08,
    head: [(0.14, 0.2), (0.07, 0.1), (0.07, 0.09)],
    head_droop: (0.3, 0.9),
};

/// A neck rising forwards from the body's front and a long head at its top; returns the head's centre.
fn neck_and_head(b: &mut PartBuilder, torso: &Torso, rng: &mut ChaCha8Rng) -> V3 {
    let t = &NECK;
    let Torso { body, body_y, neck } = *torso;
    let tilt = sample(rng, t.tilt);
    let base = v3(body.x * t.base_x, body_y + body.y * t.base_y, 0.0);
    let top = base + v3(tilt.sin(), tilt.cos(), 0.0) * (2.0 * neck);
    b.cylinder(
        base + (top - base) * 0.5,
        v3(sample(rng, t.radius), sample(rng, t.radius), neck),
        M3::rotation(Z, -tilt).then(&upright()),
    );
    let head = top + v3(t.head_ahead, 0.0, 0.0);
    b.ellipsoid(
        head,
        v3(sample(rng, t.head[0]), sample(rng, t.head[1]), sample(rng, t.head[2])),
        M3::rotation(Z, -sample(rng, t.head_droop)),
    );
    head
}

/// A horse: a long-legged quadruped with a neck and a long head.
pub(super) fn horse(b: &mut PartBuilder, rng: &mut ChaCha8Rng) {
    let torso = quadruped(b, &HORSE, rng);
    neck_and_head(b, &torso, rng);
}

/// A giraffe's coat and ossicones.
struct GiraffeTable {
    /// Spots per unit, and the spots' colour (hue, saturation, value).
    spot_frequency: Span,
    spot_hue: f32,
    spot_saturation: f32,
    spot_value: Span,
    /// The ossicones: place from the head's centre (z: either side), half-size.
    ossicone_at: V3,
    ossicone: V3,
}

const GIRAFFE_COAT: GiraffeTable = GiraffeTable {
    spot_frequency: (3.0, 5.0),
    spot_hue: 0.07,
    spot_saturation: 0.8,
    spot_value: (0.3, 0.5),
    ossicone_at: v3(-0.05, 0.1, 0.04),
    ossicone: v3(0.015, 0.015, 0.06),
};

/// A giraffe: a spotted quadruped with the longest legs and neck, and two ossicones on its head.
pub(super) fn giraffe(b: &mut PartBuilder, rng: &mut ChaCha8Rng) {
    let t = &GIRAFFE_COAT;
    b.pattern = Pattern::Spots { frequency: sample(rng, t.spot_frequency) };
    b.accent = hsv(t.spot_hue, t.spot_saturation, sample(rng, t.spot_value));
    let torso = quadruped(b, &GIRAFFE, rng);
    let head = neck_and_head(b, &torso, rng);
    for side in SIDES {
        let at = t.ossicone_at;
        b.with(b.accent, Pattern::Plain).cylinder(head + v3(at.x, at.y, side * at.z), t.ossicone, upright());
    }
}

/// A duck's proportions.
struct DuckTable {
    body: [Span; 3],
    /// The head: radius, place along the body (a share of its half-length), rise above the body (a share of the
    /// radius), half-width (a share of the radius).
    head_radius: Span,
    head_x: Span,
    head_rise: f32,
    head_width: f32,
    /// The bill: hue, saturation and value; place (shares of the head's radius: ahead, down); half-size.
    bill_hue: Span,
    bill_saturation: f32,
    bill_value: f32,
    bill_ahead: f32,
    bill_drop: f32,
    bill_length: Span,
    bill_thickness: f32,
    bill_width: Span,
    /// The eyes: place (shares of the head's radius: ahead, up, apart) and radius.
    eye_at: V3,
    eye_radius: f32,
    /// The tail: place (shares of the body's half-length and half-height), half-size, upward tilt.
    tail_back: f32,
    tail_rise: f32,
    tail: V3,
    tail_tilt: Span,
}

const DUCK: DuckTable = DuckTable {
    body: [(0.45, 0.55), (0.28, 0.35), (0.3, 0.36)],
    head_radius: (0.18, 0.25),
    head_x: (0.5, 0.75),
    head_rise: 0.7,
    head_width: 0.95,
    bill_hue: (0.03, 0.09),
    bill_saturation: 0.9,
    bill_value: 0.9,
    bill_ahead: 1.1,
    bill_drop: 0.15,
    bill_length: (0.1, 0.16),
    bill_thickness: 0.04,
    bill_width: (0.06, 0.09),
    eye_at: v3(0.6, 0.3, 0.65),
    eye_radius: 0.03,
    tail_back: 0.95,
    tail_rise: 0.3,
    tail: v3(0.15, 0.06, 0.12),
    tail_tilt: (0.3, 0.8),
};

/// A duck: a round body, a head with an orange bill and two dark eyes, and a raised tail.
pub(super) fn duck(b: &mut PartBuilder, look: &Look, rng: &mut ChaCha8Rng) {
    let t = &DUCK;
    let body = v3(sample(rng, t.body[0]), sample(rng, t.body[1]), sample(rng, t.body[2]));
    b.ellipsoid(ORIGIN, body, M3::IDENTITY);
    let r = sample(rng, t.head_radius);
    let head = v3(body.x * sample(rng, t.head_x), body.y + r * t.head_rise, 0.0);
    b.ellipsoid(head, v3(r, r, r * t.head_width), M3::IDENTITY);
    b.with(hsv(sample(rng, t.bill_hue), t.bill_saturation, t.bill_value), Pattern::Plain).ellipsoid(
        head + v3(r * t.bill_ahead, -r * t.bill_drop, 0.0),
        v3(sample(rng, t.bill_length), t.bill_thickness, sample(rng, t.bill_width)),
        M3::IDENTITY,
    );
    b.with(look.dark, Pattern::Plain);
    let eye = t.eye_radius;
    for side in SIDES {
        b.ellipsoid(head + v3(r * t.eye_at.x, r * t.eye_at.y, side * r * t.eye_at.z), v3(eye, eye, eye), M3::IDENTITY);
    }
    b.with(look.colour, Pattern::Plain).ellipsoid(
        v3(-body.x * t.tail_back, body.y * t.tail_rise, 0.0),
        t.tail,
        M3::rotation(Z, -sample(rng, t.tail_tilt)),
    );
}

/// A helicopter's proportions.
struct HelicopterTable {
    cabin: [Span; 3],
    /// The tail boom: half-length, place behind the cabin (a share of its half-length), height and radius.
    boom: Span,
    boom_back: f32,
    boom_y: f32,
    boom_radius: f32,
    /// The tail fin: place behind the cabin (a share of the boom's half-length), height, half-chord, half-height
    /// and half-thickness.
    fin_back: f32,
    fin_y: f32,
    fin_chord: f32,
    fin_height: Span,
    fin_thickness: f32,
    /// The rotor: blades, their half-length, the rotor's phase, its height above the cabin, the blades'
    /// half-thickness and half-width.
    blades: u32,
    rotor: Span,
    rotor_phase: Span,
    rotor_lift: f32,
    blade_thickness: f32,
    blade_width: f32,
    /// The mast under the rotor: height above the cabin and half-size.
    mast_lift: f32,
    mast: V3,
    /// The skids: drop below the cabin, apart (a share of its half-width), radius and half-length (a share of the
    /// cabin's half-length).
    skid_drop: f32,
    skid_apart: f32,
    skid_radius: f32,
    skid_length: Span,
}

const HELICOPTER: HelicopterTable = HelicopterTable {
    cabin: [(0.38, 0.5), (0.25, 0.32), (0.24, 0.3)],
    boom: (0.35, 0.5),
    boom_back: 0.8,
    boom_y: 0.08,
    boom_radius: 0.05,
    fin_back: 1.7,
    fin_y: 0.18,
    fin_chord: 0.08,
    fin_height: (0.1, 0.16),
    fin_thickness: 0.02,
    blades: 2,
    rotor: (0.75, 1.0),
    rotor_phase: (0.0, PI),
    rotor_lift: 0.1,
    blade_thickness: 0.012,
    blade_width: 0.04,
    mast_lift: 0.05,
    mast: v3(0.03, 0.03, 0.06),
    skid_drop: 0.1,
    skid_apart: 0.8,
    skid_radius: 0.025,
    skid_length: (0.9, 1.2),
};

/// A helicopter: a cabin, a tail boom with a fin, a dark two-bladed rotor on a mast, and two skids.
pub(super) fn helicopter(b: &mut PartBuilder, look: &Look, rng: &mut ChaCha8Rng) {
    let t = &HELICOPTER;
    let cabin = v3(sample(rng, t.cabin[0]), sample(rng, t.cabin[1]), sample(rng, t.cabin[2]));
    b.ellipsoid(ORIGIN, cabin, M3::IDENTITY);
    let boom = sample(rng, t.boom);
    b.cylinder(v3(-cabin.x - boom * t.boom_back, t.boom_y, 0.0), v3(t.boom_radius, t.boom_radius, boom), lengthwise());
    b.cuboid(
        v3(-cabin.x - boom * t.fin_back, t.fin_y, 0.0),
        v3(t.fin_chord, sample(rng, t.fin_height), t.fin_thickness),
        M3::IDENTITY,
    );
    b.with(look.dark, Pattern::Plain);
    let (rotor, phase) = (sample(rng, t.rotor), sample(rng, t.rotor_phase));
    for blade in 0..t.blades {
        b.cuboid(
            v3(0.0, cabin.y + t.rotor_lift, 0.0),
            v3(rotor, t.blade_thickness, t.blade_width),
            M3::rotation(Y, phase + blade as f32 * FRAC_PI_2),
        );
    }
    b.cylinder(v3(0.0, cabin.y + t.mast_lift, 0.0), t.mast, upright());
    for side in SIDES {
        b.cylinder(
            v3(0.0, -cabin.y - t.skid_drop, side * cabin.z * t.skid_apart),
            v3(t.skid_radius, t.skid_radius, cabin.x * sample(rng, t.skid_length)),
            lengthwise(),
        );
    }
}

/// A cup's or a mug's body: radius and half-height.
struct VesselTable {
    radius: Span,
    height: Span,
}

const CUP: VesselTable = VesselTable { radius: (0.25, 0.35), height: (0.45, 0.6) };
const MUG: VesselTable = VesselTable { radius: (0.36, 0.46), height: (0.3, 0.42) };

/// What cups and mugs share: the odds of a band around an unspotted body and its half-width; the inside seen
/// through the opening (shade of the body's colour, radius as a share of the body's, half-thickness).
struct RimTable {
    band_odds: f32,
    band_width: Span,
    inside_shade: f32,
    inside_radius: f32,
    inside_thickness: f32,
}

const RIM: RimTable = RimTable {
    band_odds: 0.6,
    band_width: (0.1, 0.5),
    inside_shade: 0.35,
    inside_radius: 0.9,
    inside_thickness: 0.012,
};

/// A cup's or mug's upright body and its dark inside; returns the body's radius and half-height.
fn vessel(b: &mut PartBuilder, look: &Look, shape: &VesselTable, rng: &mut ChaCha8Rng) -> (f32, f32) {
    let t = &RIM;
    let (radius, height) = (sample(rng, shape.radius), sample(rng, shape.height));
    if !matches!(b.pattern, Pattern::Spots { .. }) && chance(rng, t.band_odds) {
        b.pattern = Pattern::Band { axis: Z, width: sample(rng, t.band_width) };
    }
    b.cylinder(ORIGIN, v3(radius, radius, height), upright());
    b.with(scale(look.colour, t.inside_shade), Pattern::Plain).cylinder(
        v3(0.0, height, 0.0),
        v3(radius * t.inside_radius, radius * t.inside_radius, t.inside_thickness),
        upright(),
    );
    (radius, height)
}

/// A cup: a tall, narrow vessel.
pub(super) fn cup(b: &mut PartBuilder, look: &Look, rng: &mut ChaCha8Rng) {
    vessel(b, look, &CUP, rng);
}

/// A mug's handle: its reach from the body, its half-span (a share of the body's half-height), its half-thickness.
struct HandleTable {
    reach: Span,
    span: Span,
    thickness: f32,
}

const HANDLE: HandleTable = HandleTable { reach: (0.18, 0.28), span: (0.45, 0.7), thickness: 0.045 };

/// A mug: a short, wide vessel with a square handle of three bars.
pub(super) fn mug(b: &mut PartBuilder, look: &Look, rng: &mut ChaCha8Rng) {
    let t = &HANDLE;
    let (radius, height) = vessel(b, look, &MUG, rng);
    b.with(look.colour, Pattern::Plain);
    let (reach, span, thick) = (sample(rng, t.reach), height * sample(rng, t.span), t.thickness);
    for sign in SIDES {
        b.cuboid(v3(radius + reach * 0.5, sign * span, 0.0), v3(reach * 0.5 + thick, thick, thick), M3::IDENTITY);
    }
    b.cuboid(v3(radius + reach, 0.0, 0.0), v3(thick, span + thick, thick), M3::IDENTITY);
}

/// A spoon's proportions.
struct SpoonTable {
    /// The bowl: half-size and place ahead of the centre.
    bowl: [Span; 3],
    bowl_x: f32,
    /// The handle: half-length, the share of it behind the bowl's back, height, half-thickness, half-width, bend.
    handle: Span,
    handle_back: f32,
    handle_y: f32,
    handle_thickness: f32,
    handle_width: Span,
    handle_bend: Span,
}

const SPOON: SpoonTable = SpoonTable {
    bowl: [(0.22, 0.32), (0.05, 0.08), (0.15, 0.22)],
    bowl_x: 0.55,
    handle: (0.5, 0.7),
    handle_back: 0.95,
    handle_y: 0.06,
    handle_thickness: 0.025,
    handle_width: (0.035, 0.06),
    handle_bend: (-0.15, 0.05),
};

/// A spoon: a plain shallow bowl and a long flat handle.
pub(super) fn spoon(b: &mut PartBuilder, rng: &mut ChaCha8Rng) {
    let t = &SPOON;
    let bowl = v3(sample(rng, t.bowl[0]), sample(rng, t.bowl[1]), sample(rng, t.bowl[2]));
    b.pattern = Pattern::Plain;
    b.ellipsoid(v3(t.bowl_x, 0.0, 0.0), bowl, M3::IDENTITY);
    let handle = sample(rng, t.handle);
    b.cuboid(
        v3(t.bowl_x - bowl.x - handle * t.handle_back, t.handle_y, 0.0),
        v3(handle, t.handle_thickness, sample(rng, t.handle_width)),
        M3::rotation(Z, sample(rng, t.handle_bend)),
    );
}
