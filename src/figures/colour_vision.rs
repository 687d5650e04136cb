//! How the figures look to a reader with deuteranopia (no green cones, the commonest colour-vision deficiency):
//! Machado, Oliveira & Fernandes (2009)'s simulation at full severity, a linear map of linear-light sRGB.
//!
//! The declared palette is checked with it (every pair of regimes and every pair of datasets stays apart, as CIELAB
//! distance, after simulation), and `cargo run --example deuteranopia -- IN.png OUT.png` shows a whole figure as
//! such a reader sees it.
use super::style::Colour;

/// Machado et al. (2009), deuteranopia, severity 1.0, on linear RGB.
const DEUTERANOPIA: [[f64; 3]; 3] =
    [[0.367322, 0.860646, -0.227968], [0.280085, 0.672501, 0.047413], [-0.011820, 0.042940, 0.968881]];

fn to_linear(c: u8) -> f64 {
    let c = f64::from(c) / 255.0;
    if c <= 0.04045 {
        c / 12.92
    } else {
        ((c + 0.055) / 1.055).powf(2.4)
    }
}

fn to_srgb(c: f64) -> u8 {
    let c = c.clamp(0.0, 1.0);
    let c = if c <= 0.003_130_8 { 12.92 * c } else { 1.055 * c.powf(1.0 / 2.4) - 0.055 };
    (c * 255.0).round() as u8
}

/// `rgb` as seen with deuteranopia.
pub fn deuteranopia([r, g, b]: [u8; 3]) -> [u8; 3] {
    let linear = [to_linear(r), to_linear(g), to_linear(b)];
    DEUTERANOPIA.map(|row| to_srgb(row.iter().zip(linear).map(|(m, c)| m * c).sum()))
}

/// An RGB image's pixels (interleaved) as seen with deuteranopia, in place.
pub fn simulate_deuteranopia(pixels: &mut [u8]) {
    for pixel in pixels.chunks_exact_mut(3) {
        let seen = deuteranopia([pixel[0], pixel[1], pixel[2]]);
        pixel.copy_from_slice(&seen);
    }
}

/// CIELAB (D65) of an sRGB colour.
fn lab(Colour(r, g, b): Colour) -> [f64; 3] {
    let (r, g, b) = (to_linear(r), to_linear(g), to_linear(b));
    let x = (0.4124 * r + 0.3576 * g + 0.1805 * b) / 0.95047;
    let y = 0.2126 * r + 0.7152 * g + 0.0722 * b;
    let z = (0.0193 * r + 0.1192 * g + 0.9505 * b) / 1.08883;
    let f = |t: f64| if t > 0.008856 { t.cbrt() } else { 7.787 * t + 16.0 / 116.0 };
    [116.0 * f(y) - 16.0, 500.0 * (f(x) - f(y)), 200.0 * (f(y) - f(z))]
}

/// The CIELAB distance (Delta E 1976) between two colours: about 2 is just noticeable, above 20 is clearly
/// different.
pub fn distance(a: Colour, b: Colour) -> f64 {
    let (a, b) = (lab(a), lab(b));
    a.iter().zip(b).map(|(p, q)| (p - q).powi(2)).sum::<f64>().sqrt()
}

/// The distance between two colours as a reader with deuteranopia sees them.
pub fn deuteranopia_distance(a: Colour, b: Colour) -> f64 {
    let seen = |c: Colour| {
        let [r, g, b] = deuteranopia([c.0, c.1, c.2]);
        Colour(r, g, b)
    };
    distance(seen(a), seen(b))
}

#[cfg(test)]
mod tests {
    use super::super::style::Catalogue;
    use super::*;

    /// Colours drawn in one figure must stay this far apart (CIELAB) for a reader with deuteranopia.
    const APART: f64 = 30.0;

    fn check(name: &str, colours: &[(String, Colour)]) {
        for (i, (a, ca)) in colours.iter().enumerate() {
            for (b, cb) in &colours[i + 1..] {
                let seen = deuteranopia_distance(*ca, *cb);
                assert!(seen > APART, "{name}: {a} and {b} are only {seen:.1} apart with deuteranopia");
                assert!(distance(*ca, *cb) > APART, "{name}: {a} and {b} are close even with full colour vision");
            }
        }
    }

    #[test]
    fn regimes_and_datasets_stay_apart_with_deuteranopia() {
        let style = Catalogue::load().unwrap().style;
        let regimes: Vec<_> = style.regimes.iter().map(|r| (r.label.clone(), r.colour)).collect();
        check("regimes", &regimes);
        let datasets: Vec<_> = style.datasets.iter().map(|d| (d.title.clone(), d.colour)).collect();
        check("datasets", &datasets);
        // Reference lines are grey and thin: apart from every regime by lightness or hue.
        for (label, colour) in &regimes {
            let seen = deuteranopia_distance(*colour, style.reference_colour);
            assert!(seen > 25.0, "{label} is {seen:.1} from the reference lines with deuteranopia");
        }
    }

    #[test]
    fn the_simulation_keeps_greys_and_merges_red_with_green() {
        assert_eq!(deuteranopia([128, 128, 128]), [128, 128, 128]);
        assert_eq!(deuteranopia([255, 255, 255]), [255, 255, 255]);
        // The original's light red and grey (clear and blurry) were told apart by hue alone.
        let (red, green) = (Colour(220, 50, 50), Colour(50, 160, 50));
        assert!(distance(red, green) > 80.0);
        assert!(deuteranopia_distance(red, green) < 35.0, "{}", deuteranopia_distance(red, green));
    }
}
