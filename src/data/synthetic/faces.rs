//! The FaceScrub stand-in: many identities that share one face configuration and differ in subtle geometry.
//!
//! **Keeps.** FaceScrub (Ng & Winkler 2014; the paper uses 297 identities) is a face-identification task: every face
//! has the same first-order configuration (two eyes above a nose above a mouth, inside an oval under hair), so a
//! model must use second-order geometry and fine detail, which blur removes first. Here an identity is a point in a
//! space of such geometry: eye spacing, size, height, slant and lid line; brow height, arch, thickness, length and
//! slant; nose length and width, nostril spacing; mouth height and width, lip thickness, the bow of the upper lip;
//! the depth of the cheek folds, one to three moles, and the colours of the small features (iris, brows, the lips'
//! tint). Every image varies what does not identify a person: pose (tilt, a little turn of the head, place and
//! size), lighting (direction and strength), expression (smile, open mouth, raised brows, gaze), hair and clothes
//! colour, head width, and a cluttered background. An identity keeps two coarse traits: a hairstyle's outline (a
//! celebrity's from photo to photo) and a skin tone, which each image shifts by as much as identities differ.
//!
//! **Where the identity lies (issue 19).** How much blur a clear-trained model tolerates depends on where the class
//! information lies (MINI-NOTES lesson 2). The first version gave each identity a skin tone anywhere in the whole
//! range: the clear model of `mini` then kept half its accuracy above chance up to test sigma 9.0, where the
//! original's FaceScrub model kept it to 4.6. Drawing the tone per image instead left AlexNet at 64 px near chance
//! within `mini`'s budget (18 % validation accuracy after 3 of 10 epochs, against 52 %), even with the colours of
//! the iris, brows and lips as an identity's own. So an identity keeps a tone from a narrow range (value 0.5-0.8,
//! against 0.35-0.95), shifted per image as widely (a foothold that overlaps between identities), and the small
//! features' colours, which blur mixes away with their surroundings: half-accuracy sigma 5.1 at 87 % clear accuracy
//! (`paper/DATA.md`, "Calibrating the stand-ins").
//!
//! **Does not keep.** Real faces carry identity in skin texture, 3-D shape under varying viewpoint, age and makeup,
//! and FaceScrub's images are crops of unconstrained photographs with large pose changes. These faces are flat
//! drawings seen almost from the front; the only texture is hair strands and sensor noise.
use std::f32::consts::PI;

use rand::Rng;
use rand_chacha::ChaCha8Rng;

use super::raster::{
    chance, clutter, ellipse, hsv, mix, rounded_rect, sample, scale, stroke, v2, Bounds, Canvas, Rgb, Span, Turn, V2,
};

/// The geometry that makes a face one identity's, by part (face units: the head is about 1.2 wide and 1.6 tall,
/// centred on 0, y downwards).
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Identity {
    eyes: Eyes,
    brows: Brows,
    nose: Nose,
    mouth: Mouth,
    marks: Marks,
    colours: Colours,
    /// Skin tone (hue, saturation, value), shifted in every image by as much as identities differ.
    skin: [f32; 3],
    hair: Hairstyle,
}

/// The colours of an identity's small features: the iris, the brows and the lips' tint. They are a person's from
/// photo to photo, and each covers a few pixels, so blur mixes them away with their surroundings: a foothold for
/// learning that lies in fine detail, where the skin's tone and the hair's colour (drawn per image) would be coarse.
#[derive(Clone, Debug, PartialEq)]
struct Colours {
    iris: Rgb,
    brows: Rgb,
    lip_tint: f32,
}

impl Colours {
    const IRIS_HUE: Span = (0.0, 0.7);
    const IRIS_SATURATION: Span = (0.4, 0.9);
    const IRIS_VALUE: Span = (0.25, 0.7);
    /// Brows from black through brown and red to blond.
    const BROW_HUE: Span = (0.02, 0.12);
    const BROW_SATURATION: Span = (0.2, 0.8);
    const BROW_VALUE: Span = (0.05, 0.6);
    const LIP_TINT: Span = (0.15, 0.7);

    fn draw(rng: &mut ChaCha8Rng) -> Colours {
        Colours {
            iris: hsv(sample(rng, Self::IRIS_HUE), sample(rng, Self::IRIS_SATURATION), sample(rng, Self::IRIS_VALUE)),
            brows: hsv(sample(rng, Self::BROW_HUE), sample(rng, Self::BROW_SATURATION), sample(rng, Self::BROW_VALUE)),
            lip_tint: sample(rng, Self::LIP_TINT),
        }
    }
}

/// The eyes' geometry.
#[derive(Clone, Debug, PartialEq)]
struct Eyes {
    /// Distance of each eye's centre from the midline.
    spacing: f32,
    height: f32,
    /// Half-width and half-height of an eye.
    size: V2,
    /// Rise of the outer corners (radians).
    slant: f32,
    /// Half-width of the upper lid line.
    lid_width: f32,
    /// Depth of the lid crease, 0 to 1.
    crease: f32,
}

impl Eyes {
    const SPACING: Span = (0.21, 0.33);
    const HEIGHT: Span = (-0.08, 0.06);
    const WIDTH: Span = (0.09, 0.14);
    const OPENING: Span = (0.035, 0.065);
    const SLANT: Span = (-0.18, 0.18);
    const LID_WIDTH: Span = (0.008, 0.02);
    const CREASE: Span = (0.0, 1.0);

    fn draw(rng: &mut ChaCha8Rng) -> Eyes {
        Eyes {
            spacing: sample(rng, Self::SPACING),
            height: sample(rng, Self::HEIGHT),
            size: v2(sample(rng, Self::WIDTH), sample(rng, Self::OPENING)),
            slant: sample(rng, Self::SLANT),
            lid_width: sample(rng, Self::LID_WIDTH),
            crease: sample(rng, Self::CREASE),
        }
    }
}

/// The brows' geometry: height above the eyes, arch, half-thickness, length and slant (per unit of length).
#[derive(Clone, Debug, PartialEq)]
struct Brows {
    height: f32,
    arch: f32,
    width: f32,
    length: f32,
    slant: f32,
}

impl Brows {
    const HEIGHT: Span = (0.1, 0.2);
    const ARCH: Span = (-0.01, 0.06);
    const WIDTH: Span = (0.012, 0.035);
    const LENGTH: Span = (0.16, 0.27);
    const SLANT: Span = (-0.25, 0.25);

    fn draw(rng: &mut ChaCha8Rng) -> Brows {
        Brows {
            height: sample(rng, Self::HEIGHT),
            arch: sample(rng, Self::ARCH),
            width: sample(rng, Self::WIDTH),
            length: sample(rng, Self::LENGTH),
            slant: sample(rng, Self::SLANT),
        }
    }
}

/// The nose's length below the eyes and its width.
#[derive(Clone, Debug, PartialEq)]
struct Nose {
    length: f32,
    width: f32,
}

impl Nose {
    const LENGTH: Span = (0.2, 0.34);
    const WIDTH: Span = (0.06, 0.12);

    fn draw(rng: &mut ChaCha8Rng) -> Nose {
        Nose { length: sample(rng, Self::LENGTH), width: sample(rng, Self::WIDTH) }
    }
}

/// The mouth's height (the nose's tip plus a gap), half-width, the lips' half-thicknesses, and the bow of the upper
/// lip.
#[derive(Clone, Debug, PartialEq)]
struct Mouth {
    height: f32,
    width: f32,
    upper_lip: f32,
    lower_lip: f32,
    bow: f32,
}

impl Mouth {
    const WIDTH: Span = (0.13, 0.24);
    const UPPER_LIP: Span = (0.01, 0.03);
    const LOWER_LIP: Span = (0.015, 0.04);
    const BOW: Span = (0.0, 0.025);
    /// The gap between the nose's tip and the mouth.
    const GAP: Span = (0.1, 0.2);

    /// The mouth's shape; its height is set once the rest of the face is drawn (see [`Identity::new`]).
    fn draw(rng: &mut ChaCha8Rng) -> Mouth {
        Mouth {
            height: 0.0,
            width: sample(rng, Self::WIDTH),
            upper_lip: sample(rng, Self::UPPER_LIP),
            lower_lip: sample(rng, Self::LOWER_LIP),
            bow: sample(rng, Self::BOW),
        }
    }
}

/// Fine marks of a face: how deep the cheek folds are (0 to 1), a chin dimple, and moles (place and radius).
#[derive(Clone, Debug, PartialEq)]
struct Marks {
    cheek_fold: f32,
    chin_dimple: bool,
    moles: Vec<(V2, f32)>,
}

impl Marks {
    const CHEEK_FOLD: Span = (0.0, 1.0);
    const CHIN_DIMPLE_ODDS: f32 = 0.3;
    /// One to three moles anywhere on the face: fine marks that only a sharp view shows.
    const MOLES: std::ops::Range<usize> = 1..4;
    const MOLE_X: Span = (-0.45, 0.45);
    const MOLE_Y: Span = (-0.4, 0.55);
    const MOLE_RADIUS: Span = (0.01, 0.02);
}

/// The length of a hairstyle: short hair ends at the crown, long hair falls behind the neck.
#[derive(Clone, Copy, Debug, PartialEq)]
enum HairLength {
    Short,
    Long,
}

/// The hairstyle, a person's from photo to photo (FaceScrub's celebrities mostly keep theirs): its outline is
/// mid-frequency geometry; its colour still changes with every image.
#[derive(Clone, Debug, PartialEq)]
struct Hairstyle {
    length: HairLength,
    /// How far the hair stands out beyond the head, sideways and at the top.
    volume: V2,
    /// The hairline's height at the midline, its slope (the parting's side) and its waviness.
    hairline: f32,
    parting: f32,
    wave: f32,
}

impl Hairstyle {
    const LONG_ODDS: f32 = 0.4;
    const VOLUME_X: Span = (0.04, 0.12);
    const VOLUME_Y: Span = (0.04, 0.1);
    const HAIRLINE: Span = (-0.6, -0.32);
    const PARTING: Span = (-0.25, 0.25);
    const WAVE: Span = (0.0, 0.08);

    fn draw(rng: &mut ChaCha8Rng) -> Hairstyle {
        Hairstyle {
            length: if chance(rng, Self::LONG_ODDS) { HairLength::Long } else { HairLength::Short },
            volume: v2(sample(rng, Self::VOLUME_X), sample(rng, Self::VOLUME_Y)),
            hairline: sample(rng, Self::HAIRLINE),
            parting: sample(rng, Self::PARTING),
            wave: sample(rng, Self::WAVE),
        }
    }

    /// The half-size of the hair's outline around a head of half-size `head`.
    fn outline(&self, head: V2) -> V2 {
        v2(head.x + self.volume.x, head.y + self.volume.y)
    }

    /// Signed distance to the hair behind the head: the crown, and for long hair a fall behind the neck.
    fn back(&self, q: V2, outline: V2) -> f32 {
        let crown = crown(q, outline);
        match self.length {
            HairLength::Short => crown,
            HairLength::Long => crown.min(rounded_rect(q, v2(0.0, 0.45), v2(outline.x * 0.95, 0.55), Turn::NONE, 0.15)),
        }
    }
}

/// Signed distance to the hair's crown, an ellipse a little above the head's centre.
fn crown(q: V2, outline: V2) -> f32 {
    ellipse(q, v2(0.0, -0.1), outline, Turn::NONE)
}

/// An identity's skin tone: hue (turns), saturation and value. Narrower than the shifts every image adds
/// ([`Photo`]), so that tone alone does not tell two identities apart.
const SKIN_HUE: Span = (0.045, 0.085);
const SKIN_SATURATION: Span = (0.3, 0.5);
const SKIN_VALUE: Span = (0.5, 0.8);

impl Identity {
    pub(crate) fn new(rng: &mut ChaCha8Rng) -> Identity {
        let eyes = Eyes::draw(rng);
        let brows = Brows::draw(rng);
        let nose = Nose::draw(rng);
        let mouth = Mouth::draw(rng);
        let cheek_fold = sample(rng, Marks::CHEEK_FOLD);
        let chin_dimple = chance(rng, Marks::CHIN_DIMPLE_ODDS);
        let hair = Hairstyle::draw(rng);
        let colours = Colours::draw(rng);
        let skin = [sample(rng, SKIN_HUE), sample(rng, SKIN_SATURATION), sample(rng, SKIN_VALUE)];
        let mouth = Mouth { height: eyes.height + nose.length + sample(rng, Mouth::GAP), ..mouth };
        let moles = (0..rng.random_range(Marks::MOLES))
            .map(|_| (v2(sample(rng, Marks::MOLE_X), sample(rng, Marks::MOLE_Y)), sample(rng, Marks::MOLE_RADIUS)))
            .collect();
        Identity { eyes, brows, nose, mouth, marks: Marks { cheek_fold, chin_dimple, moles }, colours, skin, hair }
    }
}

/// Where a face sits in the image: face units to unit canvas coordinates by a similarity transform.
struct Pose {
    centre: V2,
    turn: Turn,
    size: f32,
}

impl Pose {
    fn to_face(&self, p: V2) -> V2 {
        (p - self.centre).unturned(self.turn) * (1.0 / self.size)
    }

    fn to_canvas(&self, q: V2) -> V2 {
        self.centre + (q * self.size).turned(self.turn)
    }

    /// Canvas bounds of a face-unit box around `centre` of half-size `radius` (turned by at most 0.15 rad).
    fn bounds(&self, centre: V2, radius: f32) -> Bounds {
        Bounds::around(self.to_canvas(centre), radius * self.size * 1.15)
    }

    /// Paint a shape given in face units.
    fn fill(
        &self,
        canvas: &mut Canvas,
        centre: V2,
        radius: f32,
        colour: Rgb,
        opacity: f32,
        distance: impl Fn(V2) -> f32,
    ) {
        canvas.fill(self.bounds(centre, radius), colour, opacity, |p| distance(self.to_face(p)) * self.size);
    }
}

/// What changes from one photograph of a person to the next: pose, colours, head width, light and expression.
struct Photo {
    pose: Pose,
    /// How far the head is turned: the inner features shift sideways, those nearer the viewer (the nose) more.
    yaw: f32,
    skin: Rgb,
    hair: Rgb,
    clothes: Rgb,
    /// The head's half-width and half-height.
    head: V2,
    /// Where the light comes from, -1 (left) to 1 (right).
    light_side: f32,
    smile: f32,
    /// Where the eyes look, as shares of the eye's half-size.
    gaze: V2,
    brow_raise: f32,
    /// How far the mouth is open (0: closed).
    open: f32,
    lips: Rgb,
    /// The hairline's height at the midline in this photo, and the hair strands' frequency.
    hairline: f32,
    strands: f32,
    /// The light's gradient across the image, and the exposure.
    light: V2,
    exposure: f32,
}

impl Photo {
    const PLACE_X: Span = (-0.07, 0.07);
    const PLACE_Y: Span = (-0.1, 0.02);
    const TILT: Span = (-0.15, 0.15);
    const SIZE: Span = (0.85, 1.0);
    const YAW: Span = (-0.06, 0.06);
    /// Shifts of the identity's skin tone by lighting and white balance: as wide as the identities' spread.
    const SKIN_HUE_SHIFT: Span = (-0.02, 0.02);
    const SKIN_SATURATION_SHIFT: Span = (-0.1, 0.1);
    const SKIN_VALUE_SHIFT: Span = (-0.15, 0.15);
    /// Hair: grey or blond in some photos (hue, saturation, value), else any natural colour.
    const PALE_HAIR_ODDS: f32 = 0.15;
    const PALE_HAIR_HUE: f32 = 0.1;
    const PALE_HAIR_SATURATION: Span = (0.0, 0.1);
    const PALE_HAIR_VALUE: Span = (0.5, 0.85);
    const HAIR_HUE: Span = (0.04, 0.12);
    const HAIR_SATURATION: Span = (0.3, 0.85);
    const HAIR_VALUE: Span = (0.06, 0.75);
    /// Clothes of any hue.
    const CLOTHES_SATURATION: Span = (0.1, 0.9);
    const CLOTHES_VALUE: Span = (0.15, 0.9);
    const HEAD_WIDTH: Span = (0.56, 0.66);
    const HEAD_HEIGHT: Span = (0.78, 0.84);
    const LIGHT_SIDE: Span = (-1.0, 1.0);
    const SMILE: Span = (-0.01, 0.04);
    const GAZE_X: Span = (-0.35, 0.35);
    const GAZE_Y: Span = (-0.2, 0.2);
    const BROW_RAISE: Span = (-0.015, 0.03);
    const OPEN_MOUTH_ODDS: f32 = 0.3;
    const OPEN: Span = (0.01, 0.04);
    /// Lips: the skin's colour, darkened, tinted towards red by the identity's amount.
    const LIP_RED: Rgb = [0.75, 0.25, 0.3];
    const HAIRLINE_SHIFT: Span = (-0.02, 0.02);
    const STRANDS: Span = (30.0, 60.0);
    /// The light's vertical direction (the horizontal is `light_side`), its strength, and the exposure.
    const LIGHT_TILT: Span = (-1.0, 0.5);
    const LIGHT_STRENGTH: Span = (0.1, 0.4);
    const EXPOSURE: Span = (0.75, 1.15);

    fn draw(identity: &Identity, rng: &mut ChaCha8Rng) -> Photo {
        let pose = Pose {
            centre: v2(sample(rng, Self::PLACE_X), sample(rng, Self::PLACE_Y)),
            turn: Turn::new(sample(rng, Self::TILT)),
            size: sample(rng, Self::SIZE),
        };
        let yaw = sample(rng, Self::YAW);
        let [hue, saturation, value] = identity.skin;
        let skin = hsv(
            hue + sample(rng, Self::SKIN_HUE_SHIFT),
            (saturation + sample(rng, Self::SKIN_SATURATION_SHIFT)).clamp(0.0, 1.0),
            (value + sample(rng, Self::SKIN_VALUE_SHIFT)).clamp(0.2, 1.0),
        );
        let hair = if chance(rng, Self::PALE_HAIR_ODDS) {
            hsv(Self::PALE_HAIR_HUE, sample(rng, Self::PALE_HAIR_SATURATION), sample(rng, Self::PALE_HAIR_VALUE))
        } else {
            hsv(sample(rng, Self::HAIR_HUE), sample(rng, Self::HAIR_SATURATION), sample(rng, Self::HAIR_VALUE))
        };
        let clothes = hsv(rng.random(), sample(rng, Self::CLOTHES_SATURATION), sample(rng, Self::CLOTHES_VALUE));
        let head = v2(sample(rng, Self::HEAD_WIDTH), sample(rng, Self::HEAD_HEIGHT));
        let light_side = sample(rng, Self::LIGHT_SIDE);
        let smile = sample(rng, Self::SMILE);
        let gaze = v2(sample(rng, Self::GAZE_X), sample(rng, Self::GAZE_Y));
        let brow_raise = sample(rng, Self::BROW_RAISE);
        let open = if chance(rng, Self::OPEN_MOUTH_ODDS) { sample(rng, Self::OPEN) } else { 0.0 };
        let lips = mix(scale(skin, 0.85), Self::LIP_RED, identity.colours.lip_tint);
        let hairline = identity.hair.hairline + sample(rng, Self::HAIRLINE_SHIFT);
        let strands = sample(rng, Self::STRANDS);
        let light = v2(light_side, sample(rng, Self::LIGHT_TILT)) * sample(rng, Self::LIGHT_STRENGTH);
        let exposure = sample(rng, Self::EXPOSURE);
        Photo {
            pose,
            yaw,
            skin,
            hair,
            clothes,
            head,
            light_side,
            smile,
            gaze,
            brow_raise,
            open,
            lips,
            hairline,
            strands,
            light,
            exposure,
        }
    }

    /// The skin's colour darkened (or brightened) by `k`: the shadows and highlights of the face.
    fn skin_shade(&self, k: f32) -> Rgb {
        scale(self.skin, k)
    }

    /// The middle of the mouth, shifted by the head's turn.
    fn mouth_centre(&self, identity: &Identity) -> V2 {
        v2(self.yaw * 1.2, identity.mouth.height)
    }
}

/// The background's blobs of clutter and their contrast.
const CLUTTER_BLOBS: usize = 8;
const CLUTTER_CONTRAST: f32 = 0.5;

/// The left (-1) and right (+1) side of a face, for features that come in pairs.
const SIDES: [f32; 2] = [-1.0, 1.0];

/// Draw one image of `identity`, with everything else about the image drawn from `rng`: the photo's variation
/// first, then the face from the back to the front, then the light.
pub(crate) fn draw(canvas: &mut Canvas, identity: &Identity, rng: &mut ChaCha8Rng) {
    clutter(canvas, rng, CLUTTER_BLOBS, CLUTTER_CONTRAST);
    let photo = Photo::draw(identity, rng);
    body(canvas, &photo);
    back_hair(canvas, identity, &photo);
    neck_and_ears(canvas, &photo);
    head(canvas, &photo);
    cheek_folds(canvas, identity, &photo);
    chin_dimple(canvas, identity, &photo);
    moles(canvas, identity, &photo);
    for side in SIDES {
        eye(canvas, identity, &photo, side);
        brow(canvas, identity, &photo, side);
    }
    nose(canvas, identity, &photo);
    mouth(canvas, identity, &photo);
    front_hair(canvas, identity, &photo);
    let (centre, direction, exposure) = (photo.pose.centre, photo.light, photo.exposure);
    canvas.light(|p| (exposure * (1.0 + (p - centre).dot(direction))).clamp(0.2, 1.6));
}

/// The shoulders, in the photo's clothes.
fn body(canvas: &mut Canvas, photo: &Photo) {
    photo
        .pose
        .fill(canvas, v2(0.0, 1.6), 1.5, photo.clothes, 1.0, |q| ellipse(q, v2(0.0, 1.6), v2(1.25, 0.62), Turn::NONE));
}

/// The hair behind the head, in the hairstyle's outline.
fn back_hair(canvas: &mut Canvas, identity: &Identity, photo: &Photo) {
    let outline = identity.hair.outline(photo.head);
    photo.pose.fill(canvas, v2(0.0, 0.3), 1.3, photo.hair, 1.0, |q| identity.hair.back(q, outline));
}

/// The neck, in shadow, and the ears.
fn neck_and_ears(canvas: &mut Canvas, photo: &Photo) {
    let pose = &photo.pose;
    pose.fill(canvas, v2(0.0, 0.85), 0.5, photo.skin_shade(0.82), 1.0, |q| {
        rounded_rect(q, v2(0.0, 0.85), v2(0.24, 0.4), Turn::NONE, 0.05)
    });
    for side in SIDES {
        let ear = v2(side * (photo.head.x - 0.02), 0.05);
        let turn = Turn::new(side * 0.15);
        pose.fill(canvas, ear, 0.2, photo.skin_shade(0.92), 1.0, |q| ellipse(q, ear, v2(0.08, 0.15), turn));
    }
}

/// The face's oval.
fn head(canvas: &mut Canvas, photo: &Photo) {
    let head = photo.head;
    photo.pose.fill(canvas, v2(0.0, 0.0), 0.9, photo.skin, 1.0, |q| ellipse(q, v2(0.0, 0.0), head, Turn::NONE));
}

/// The folds from the nose's wings to the mouth's corners, as deep as the identity's.
fn cheek_folds(canvas: &mut Canvas, identity: &Identity, photo: &Photo) {
    let (eyes, nose, mouth) = (&identity.eyes, &identity.nose, &identity.mouth);
    let mouth_centre = photo.mouth_centre(identity);
    for side in SIDES {
        let top = v2(side * (nose.width + 0.06) + photo.yaw * 1.3, eyes.height + nose.length * 0.8);
        let bottom = mouth_centre + v2(side * (mouth.width + 0.05), 0.02 - photo.smile);
        let mid = (top + bottom) * 0.5 + v2(side * 0.03, 0.0);
        let points = [top, mid, bottom];
        photo.pose.fill(canvas, mid, 0.3, photo.skin_shade(0.8), 0.25 + 0.5 * identity.marks.cheek_fold, |q| {
            stroke(q, &points, (0.006, 0.012))
        });
    }
}

/// A short vertical crease in the chin, for the identities that have one.
fn chin_dimple(canvas: &mut Canvas, identity: &Identity, photo: &Photo) {
    if identity.marks.chin_dimple {
        let dimple = [v2(photo.yaw, photo.head.y - 0.14), v2(photo.yaw, photo.head.y - 0.08)];
        photo.pose.fill(canvas, dimple[0], 0.1, photo.skin_shade(0.8), 0.7, |q| stroke(q, &dimple, (0.008, 0.008)));
    }
}

/// The identity's moles.
fn moles(canvas: &mut Canvas, identity: &Identity, photo: &Photo) {
    for &(at, radius) in &identity.marks.moles {
        let at = at + v2(photo.yaw, 0.0);
        photo.pose.fill(canvas, at, radius * 2.0, photo.skin_shade(0.4), 0.9, |q| {
            ellipse(q, at, v2(radius, radius), Turn::NONE)
        });
    }
}

/// One eye (`side` -1 or 1): sclera, iris and pupil clipped to the sclera, the upper lid line and the lid crease.
fn eye(canvas: &mut Canvas, identity: &Identity, photo: &Photo, side: f32) {
    let (eyes, pose, gaze) = (&identity.eyes, &photo.pose, photo.gaze);
    let size = eyes.size * (1.0 + side * photo.yaw * 2.0);
    let centre = v2(side * eyes.spacing + photo.yaw, eyes.height);
    let slant = -side * eyes.slant;
    let slant_turn = Turn::new(slant);
    let sclera = move |q: V2| ellipse(q, centre, size, slant_turn);
    pose.fill(canvas, centre, 0.2, [0.93, 0.91, 0.88], 1.0, sclera);
    let iris_centre = centre + v2(gaze.x * size.x * 0.4, gaze.y * size.y * 0.3);
    let iris = size.y * 0.95;
    pose.fill(canvas, centre, 0.2, identity.colours.iris, 1.0, |q| {
        ellipse(q, iris_centre, v2(iris, iris), Turn::NONE).max(sclera(q))
    });
    pose.fill(canvas, centre, 0.2, [0.04, 0.03, 0.03], 1.0, |q| {
        ellipse(q, iris_centre, v2(iris * 0.45, iris * 0.45), Turn::NONE).max(sclera(q))
    });
    let arc = |lift: f32, reach: f32| -> [V2; 5] {
        [-1.0f32, -0.5, 0.0, 0.5, 1.0].map(|t| {
            let angle = PI * 0.5 * (1.0 + t * reach);
            centre + v2(-angle.cos() * size.x, -angle.sin() * (size.y + lift)).rotated(slant)
        })
    };
    let lid = arc(0.0, 1.0);
    pose.fill(canvas, centre, 0.25, [0.08, 0.05, 0.05], 1.0, |q| {
        stroke(q, &lid, (eyes.lid_width, eyes.lid_width * 0.6))
    });
    let crease = arc(0.02 + 0.03 * eyes.crease, 0.8);
    pose.fill(canvas, centre, 0.25, photo.skin_shade(0.7), 0.8, |q| stroke(q, &crease, (0.006, 0.006)));
}

/// One brow (`side` -1 or 1): a tapered stroke from its inner end to its outer end, raised by the expression.
fn brow(canvas: &mut Canvas, identity: &Identity, photo: &Photo, side: f32) {
    let (eyes, brows) = (&identity.eyes, &identity.brows);
    let colour = identity.colours.brows;
    let inner = v2(side * (eyes.spacing - brows.length * 0.45) + photo.yaw, 0.0);
    let brow: [V2; 5] = [0.0f32, 0.25, 0.5, 0.75, 1.0].map(|t| {
        let x = inner.x + side * brows.length * t;
        let y = eyes.height - brows.height - photo.brow_raise - brows.arch * (PI * t).sin()
            + brows.slant * (t - 0.5) * brows.length;
        v2(x, y)
    });
    photo.pose.fill(canvas, brow[2], 0.3, colour, 1.0, |q| stroke(q, &brow, (brows.width, brows.width * 0.4)));
}

/// The nose: a shadow down the side away from the light, the tip, the nostrils and their wings.
fn nose(canvas: &mut Canvas, identity: &Identity, photo: &Photo) {
    let (eyes, nose, pose, light_side) = (&identity.eyes, &identity.nose, &photo.pose, photo.light_side);
    let tip = v2(photo.yaw * 1.6, eyes.height + nose.length);
    let bridge =
        [v2(photo.yaw - light_side * 0.05, eyes.height + 0.04), tip + v2(-light_side * nose.width * 0.7, -0.03)];
    pose.fill(canvas, tip, 0.45, photo.skin_shade(0.78), 0.45, |q| stroke(q, &bridge, (0.012, 0.02)));
    pose.fill(canvas, tip, 0.15, photo.skin_shade(1.06), 0.7, |q| {
        ellipse(q, tip - v2(0.0, 0.01), v2(nose.width * 0.5, 0.035), Turn::NONE)
    });
    for side in SIDES {
        let nostril = tip + v2(side * nose.width * 0.55, 0.025);
        let flare = Turn::new(side * 0.3);
        pose.fill(canvas, nostril, 0.1, photo.skin_shade(0.35), 0.9, |q| ellipse(q, nostril, v2(0.026, 0.014), flare));
        let wing = [
            tip + v2(side * nose.width * 0.6, -0.04),
            tip + v2(side * nose.width * 0.95, 0.0),
            tip + v2(side * nose.width * 0.7, 0.035),
        ];
        pose.fill(canvas, nostril, 0.15, photo.skin_shade(0.7), 0.6, |q| stroke(q, &wing, (0.006, 0.006)));
    }
}

/// The mouth: a line whose corners rise with the smile, lips above and below, dark inside when open.
fn mouth(canvas: &mut Canvas, identity: &Identity, photo: &Photo) {
    let (mouth, pose, open, smile, lips) = (&identity.mouth, &photo.pose, photo.open, photo.smile, photo.lips);
    let centre = photo.mouth_centre(identity);
    let w = mouth.width;
    let curve = |dy: f32, bow: f32| -> [V2; 7] {
        [-1.0f32, -0.66, -0.33, 0.0, 0.33, 0.66, 1.0].map(|t| {
            let bow_dip = bow * (1.0 - (t.abs() * 3.0 - 1.0).abs().min(1.0));
            centre + v2(t * w, dy - smile * t * t * 2.0 + bow_dip * (1.0 - t * t))
        })
    };
    let upper = curve(-open * 0.5 - mouth.upper_lip, mouth.bow);
    let lower = curve(open * 0.5 + mouth.lower_lip, 0.0);
    pose.fill(canvas, centre, w + 0.12, lips, 1.0, |q| stroke(q, &upper, (mouth.upper_lip, mouth.upper_lip)));
    pose.fill(canvas, centre, w + 0.12, scale(lips, 1.08), 1.0, |q| {
        stroke(q, &lower, (mouth.lower_lip, mouth.lower_lip))
    });
    let line = curve(0.0, 0.0);
    let gap = 0.006 + open * 0.5;
    pose.fill(canvas, centre, w + 0.12, [0.12, 0.04, 0.05], 1.0, |q| stroke(q, &line, (gap, 0.004)));
}

/// The hair over the forehead, above a hairline that follows the hairstyle, with fine strands.
fn front_hair(canvas: &mut Canvas, identity: &Identity, photo: &Photo) {
    let (pose, hair, hairline) = (&photo.pose, photo.hair, photo.hairline);
    let outline = identity.hair.outline(photo.head);
    let (parting, wave, strands) = (identity.hair.parting, identity.hair.wave, photo.strands);
    let strand_colour = scale(hair, 0.75);
    let parting_angle = parting * 2.0;
    canvas.paint(
        pose.bounds(v2(0.0, -0.4), 0.9),
        1.0,
        |p| {
            let q = pose.to_face(p);
            let line = hairline + parting * q.x + wave * (q.x * 9.0).sin();
            crown(q, outline).max(q.y - line) * pose.size
        },
        |p| {
            let q = pose.to_face(p);
            let strand = ((q.x + parting_angle * q.y) * strands).sin().abs();
            mix(hair, strand_colour, (1.0 - strand * 1.5).clamp(0.0, 1.0) * 0.5)
        },
    );
}
