//! The FaceScrub stand-in: many identities that share one face configuration and differ in subtle geometry.
//!
//! **Keeps.** FaceScrub (Ng & Winkler 2014; the paper uses 297 identities) is a face-identification task: every face
//! has the same first-order configuration (two eyes above a nose above a mouth, inside an oval under hair), so a
//! model must use second-order geometry and fine detail, which blur removes first. Here an identity is a point in a
//! space of such geometry: eye spacing, size, height, slant and lid line; brow height, arch, thickness, length and
//! slant; nose length and width, nostril spacing; mouth height and width, lip thickness, the bow of the upper lip;
//! the depth of the cheek folds and a few moles. Every image varies what does not identify a person: pose (tilt, a
//! little turn of the head, place and size), lighting (direction and strength), expression (smile, open mouth,
//! raised brows, gaze), hair and clothes colour, head width, and a cluttered background. An identity keeps a skin
//! tone, which each image shifts widely (as lighting and white balance shift a photograph's), and a hairstyle
//! outline (a celebrity's from photo to photo). Hair colour and head shape are drawn per image on purpose
//! (MINI-NOTES lesson 2): when coarse cues alone identify a face, a clear-trained model stays robust to blur and the
//! paper's effect shrinks. With tone and hairstyle also drawn per image, AlexNet at 64 px did not leave chance level
//! within the `mini` budget: those two are the coarse foothold a network needs to start learning.
//!
//! **Does not keep.** Real faces carry identity in skin texture, 3-D shape under varying viewpoint, age and makeup,
//! and FaceScrub's images are crops of unconstrained photographs with large pose changes. These faces are flat
//! drawings seen almost from the front; the only texture is hair strands and sensor noise.
use std::f32::consts::PI;

use rand::Rng;
use rand_chacha::ChaCha8Rng;

use super::raster::{
    clutter, ellipse, hsv, mix, rounded_rect, scale, stroke, uniform, v2, Bounds, Canvas, Rgb, Turn, V2,
};

/// The geometry that makes a face one identity's (face units: the head is about 1.2 wide and 1.6 tall).
#[derive(Clone, Debug, PartialEq)]
pub struct Identity {
    eye_spacing: f32,
    eye_height: f32,
    eye_size: V2,
    eye_slant: f32,
    lid_width: f32,
    crease: f32,
    brow_height: f32,
    brow_arch: f32,
    brow_width: f32,
    brow_length: f32,
    brow_slant: f32,
    nose_length: f32,
    nose_width: f32,
    mouth_height: f32,
    mouth_width: f32,
    upper_lip: f32,
    lower_lip: f32,
    lip_bow: f32,
    cheek_fold: f32,
    chin_dimple: bool,
    moles: Vec<(V2, f32)>,
    /// The hairstyle, a person's from photo to photo (FaceScrub's celebrities mostly keep theirs): its outline is
    /// mid-frequency geometry; its colour still changes with every image.
    /// Skin tone (hue, saturation, value), varied by lighting and white balance in every image.
    skin: [f32; 3],
    long_hair: bool,
    hair_volume: V2,
    hairline: f32,
    parting: f32,
    wave: f32,
}

impl Identity {
    pub fn new(rng: &mut ChaCha8Rng) -> Identity {
        let mut j = |lo: f32, hi: f32| uniform(rng, lo, hi);
        let eye_spacing = j(0.21, 0.33);
        let eye_height = j(-0.08, 0.06);
        let identity = Identity {
            eye_spacing,
            eye_height,
            eye_size: v2(j(0.09, 0.14), j(0.035, 0.065)),
            eye_slant: j(-0.18, 0.18),
            lid_width: j(0.008, 0.02),
            crease: j(0.0, 1.0),
            brow_height: j(0.1, 0.2),
            brow_arch: j(-0.01, 0.06),
            brow_width: j(0.012, 0.035),
            brow_length: j(0.16, 0.27),
            brow_slant: j(-0.25, 0.25),
            nose_length: j(0.2, 0.34),
            nose_width: j(0.06, 0.12),
            mouth_height: 0.0,
            mouth_width: j(0.13, 0.24),
            upper_lip: j(0.01, 0.03),
            lower_lip: j(0.015, 0.04),
            lip_bow: j(0.0, 0.025),
            cheek_fold: j(0.0, 1.0),
            chin_dimple: j(0.0, 1.0) < 0.3,
            moles: Vec::new(),
            skin: [j(0.03, 0.1), j(0.2, 0.6), j(0.35, 0.95)],
            long_hair: j(0.0, 1.0) < 0.4,
            hair_volume: v2(j(0.04, 0.12), j(0.04, 0.1)),
            hairline: j(-0.6, -0.32),
            parting: j(-0.25, 0.25),
            wave: j(0.0, 0.08),
        };
        let mouth_gap = uniform(rng, 0.1, 0.2);
        let moles = (0..rng.random_range(0..3))
            .map(|_| (v2(uniform(rng, -0.45, 0.45), uniform(rng, -0.4, 0.55)), uniform(rng, 0.01, 0.02)))
            .collect();
        Identity { mouth_height: identity.eye_height + identity.nose_length + mouth_gap, moles, ..identity }
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

/// Draw one image of `identity`, with everything else about the image drawn from `rng`.
pub fn draw(canvas: &mut Canvas, identity: &Identity, rng: &mut ChaCha8Rng) {
    clutter(canvas, rng, 8, 0.5);
    let pose = Pose {
        centre: v2(uniform(rng, -0.07, 0.07), uniform(rng, -0.1, 0.02)),
        turn: Turn::new(uniform(rng, -0.15, 0.15)),
        size: uniform(rng, 0.85, 1.0),
    };
    // Turning the head shifts the inner features sideways, more for those nearer the viewer (the nose).
    let turn = uniform(rng, -0.06, 0.06);
    let [hue, saturation, value] = identity.skin;
    let skin = hsv(
        (hue + uniform(rng, -0.015, 0.015)).clamp(0.0, 1.0),
        (saturation + uniform(rng, -0.15, 0.15)).clamp(0.0, 1.0),
        (value + uniform(rng, -0.2, 0.2)).clamp(0.2, 1.0),
    );
    let hair = if rng.random::<f32>() < 0.15 {
        hsv(0.1, uniform(rng, 0.0, 0.1), uniform(rng, 0.5, 0.85))
    } else {
        hsv(uniform(rng, 0.04, 0.12), uniform(rng, 0.3, 0.85), uniform(rng, 0.06, 0.75))
    };
    let clothes = hsv(rng.random(), uniform(rng, 0.1, 0.9), uniform(rng, 0.15, 0.9));
    let head = v2(uniform(rng, 0.56, 0.66), uniform(rng, 0.78, 0.84));
    let shade = |c: Rgb, k: f32| scale(c, k);

    // Body, hair behind the head, neck and ears.
    pose.fill(canvas, v2(0.0, 1.6), 1.5, clothes, 1.0, |q| ellipse(q, v2(0.0, 1.6), v2(1.25, 0.62), Turn::NONE));
    let long_hair = identity.long_hair;
    let hair_back = v2(head.x + identity.hair_volume.x, head.y + identity.hair_volume.y);
    pose.fill(canvas, v2(0.0, 0.3), 1.3, hair, 1.0, |q| {
        let crown = ellipse(q, v2(0.0, -0.1), hair_back, Turn::NONE);
        if long_hair {
            crown.min(rounded_rect(q, v2(0.0, 0.45), v2(hair_back.x * 0.95, 0.55), Turn::NONE, 0.15))
        } else {
            crown
        }
    });
    pose.fill(canvas, v2(0.0, 0.85), 0.5, shade(skin, 0.82), 1.0, |q| {
        rounded_rect(q, v2(0.0, 0.85), v2(0.24, 0.4), Turn::NONE, 0.05)
    });
    for side in [-1.0f32, 1.0] {
        let ear = v2(side * (head.x - 0.02), 0.05);
        let turn = Turn::new(side * 0.15);
        pose.fill(canvas, ear, 0.2, shade(skin, 0.92), 1.0, |q| ellipse(q, ear, v2(0.08, 0.15), turn));
    }
    let light_side = uniform(rng, -1.0, 1.0);
    pose.fill(canvas, v2(0.0, 0.0), 0.9, skin, 1.0, |q| ellipse(q, v2(0.0, 0.0), head, Turn::NONE));

    // Cheek folds, chin dimple and moles: fine, identity-specific marks.
    let fold_colour = shade(skin, 0.8);
    let smile = uniform(rng, -0.01, 0.04);
    let mouth_centre = v2(turn * 1.2, identity.mouth_height);
    for side in [-1.0f32, 1.0] {
        let top =
            v2(side * (identity.nose_width + 0.06) + turn * 1.3, identity.eye_height + identity.nose_length * 0.8);
        let bottom = mouth_centre + v2(side * (identity.mouth_width + 0.05), 0.02 - smile);
        let mid = (top + bottom) * 0.5 + v2(side * 0.03, 0.0);
        let points = [top, mid, bottom];
        pose.fill(canvas, mid, 0.3, fold_colour, 0.25 + 0.5 * identity.cheek_fold, |q| {
            stroke(q, &points, (0.006, 0.012))
        });
    }
    if identity.chin_dimple {
        let dimple = [v2(turn, head.y - 0.14), v2(turn, head.y - 0.08)];
        pose.fill(canvas, dimple[0], 0.1, fold_colour, 0.7, |q| stroke(q, &dimple, (0.008, 0.008)));
    }
    for &(at, radius) in &identity.moles {
        let at = at + v2(turn, 0.0);
        pose.fill(canvas, at, radius * 2.0, shade(skin, 0.4), 0.9, |q| ellipse(q, at, v2(radius, radius), Turn::NONE));
    }

    // Eyes: sclera, iris and pupil clipped to the sclera, the upper lid line and the lid crease.
    let iris_colour = hsv(uniform(rng, 0.05, 0.6), uniform(rng, 0.3, 0.8), uniform(rng, 0.15, 0.5));
    let gaze = v2(uniform(rng, -0.35, 0.35), uniform(rng, -0.2, 0.2));
    let brow_raise = uniform(rng, -0.015, 0.03);
    let brow_colour = mix(shade(hair, 0.7), shade(skin, 0.3), 0.3);
    for side in [-1.0f32, 1.0] {
        let size = identity.eye_size * (1.0 + side * turn * 2.0);
        let centre = v2(side * identity.eye_spacing + turn, identity.eye_height);
        let slant = -side * identity.eye_slant;
        let slant_turn = Turn::new(slant);
        let sclera = move |q: V2| ellipse(q, centre, size, slant_turn);
        pose.fill(canvas, centre, 0.2, [0.93, 0.91, 0.88], 1.0, sclera);
        let iris_centre = centre + v2(gaze.x * size.x * 0.4, gaze.y * size.y * 0.3);
        let iris = size.y * 0.95;
        pose.fill(canvas, centre, 0.2, iris_colour, 1.0, |q| {
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
            stroke(q, &lid, (identity.lid_width, identity.lid_width * 0.6))
        });
        let crease = arc(0.02 + 0.03 * identity.crease, 0.8);
        pose.fill(canvas, centre, 0.25, shade(skin, 0.7), 0.8, |q| stroke(q, &crease, (0.006, 0.006)));

        // Brow: a tapered stroke from its inner end to its outer end.
        let inner = v2(side * (identity.eye_spacing - identity.brow_length * 0.45) + turn, 0.0);
        let brow: [V2; 5] = [0.0f32, 0.25, 0.5, 0.75, 1.0].map(|t| {
            let x = inner.x + side * identity.brow_length * t;
            let y = identity.eye_height - identity.brow_height - brow_raise - identity.brow_arch * (PI * t).sin()
                + identity.brow_slant * (t - 0.5) * identity.brow_length;
            v2(x, y)
        });
        pose.fill(canvas, brow[2], 0.3, brow_colour, 1.0, |q| {
            stroke(q, &brow, (identity.brow_width, identity.brow_width * 0.4))
        });
    }

    // Nose: a shadow down the side away from the light, the tip, nostrils.
    let tip = v2(turn * 1.6, identity.eye_height + identity.nose_length);
    let bridge = [
        v2(turn - light_side * 0.05, identity.eye_height + 0.04),
        tip + v2(-light_side * identity.nose_width * 0.7, -0.03),
    ];
    pose.fill(canvas, tip, 0.45, shade(skin, 0.78), 0.45, |q| stroke(q, &bridge, (0.012, 0.02)));
    pose.fill(canvas, tip, 0.15, shade(skin, 1.06), 0.7, |q| {
        ellipse(q, tip - v2(0.0, 0.01), v2(identity.nose_width * 0.5, 0.035), Turn::NONE)
    });
    for side in [-1.0f32, 1.0] {
        let nostril = tip + v2(side * identity.nose_width * 0.55, 0.025);
        let flare = Turn::new(side * 0.3);
        pose.fill(canvas, nostril, 0.1, shade(skin, 0.35), 0.9, |q| ellipse(q, nostril, v2(0.026, 0.014), flare));
        let wing = [
            tip + v2(side * identity.nose_width * 0.6, -0.04),
            tip + v2(side * identity.nose_width * 0.95, 0.0),
            tip + v2(side * identity.nose_width * 0.7, 0.035),
        ];
        pose.fill(canvas, nostril, 0.15, shade(skin, 0.7), 0.6, |q| stroke(q, &wing, (0.006, 0.006)));
    }

    // Mouth: a line whose corners rise with the smile, lips above and below, dark inside when open.
    let open = if rng.random::<f32>() < 0.3 { uniform(rng, 0.01, 0.04) } else { 0.0 };
    let lips = mix(shade(skin, 0.85), [0.75, 0.25, 0.3], uniform(rng, 0.25, 0.5));
    let w = identity.mouth_width;
    let curve = |dy: f32, bow: f32| -> [V2; 7] {
        [-1.0f32, -0.66, -0.33, 0.0, 0.33, 0.66, 1.0].map(|t| {
            let bow_dip = bow * (1.0 - (t.abs() * 3.0 - 1.0).abs().min(1.0));
            mouth_centre + v2(t * w, dy - smile * t * t * 2.0 + bow_dip * (1.0 - t * t))
        })
    };
    let upper = curve(-open * 0.5 - identity.upper_lip, identity.lip_bow);
    let lower = curve(open * 0.5 + identity.lower_lip, 0.0);
    pose.fill(canvas, mouth_centre, w + 0.12, lips, 1.0, |q| {
        stroke(q, &upper, (identity.upper_lip, identity.upper_lip))
    });
    pose.fill(canvas, mouth_centre, w + 0.12, shade(lips, 1.08), 1.0, |q| {
        stroke(q, &lower, (identity.lower_lip, identity.lower_lip))
    });
    let line = curve(0.0, 0.0);
    let gap = 0.006 + open * 0.5;
    pose.fill(canvas, mouth_centre, w + 0.12, [0.12, 0.04, 0.05], 1.0, |q| stroke(q, &line, (gap, 0.004)));

    // Hair over the forehead, above a hairline that varies with the hairstyle, with fine strands.
    let hairline = identity.hairline + uniform(rng, -0.02, 0.02);
    let (parting, wave) = (identity.parting, identity.wave);
    let strands = uniform(rng, 30.0, 60.0);
    let strand_colour = shade(hair, 0.75);
    let parting_angle = parting * 2.0;
    canvas.paint(
        pose.bounds(v2(0.0, -0.4), 0.9),
        1.0,
        |p| {
            let q = pose.to_face(p);
            let line = hairline + parting * q.x + wave * (q.x * 9.0).sin();
            ellipse(q, v2(0.0, -0.1), hair_back, Turn::NONE).max(q.y - line) * pose.size
        },
        |p| {
            let q = pose.to_face(p);
            let strand = ((q.x + parting_angle * q.y) * strands).sin().abs();
            mix(hair, strand_colour, (1.0 - strand * 1.5).clamp(0.0, 1.0) * 0.5)
        },
    );

    // Light from one side, of varying strength.
    let direction = v2(light_side, uniform(rng, -1.0, 0.5)) * uniform(rng, 0.1, 0.4);
    let exposure = uniform(rng, 0.75, 1.15);
    let centre = pose.centre;
    canvas.light(|p| (exposure * (1.0 + (p - centre).dot(direction))).clamp(0.2, 1.6));
}
