//! The original's seven colour operations on one planar RGB image (`[3, H, W]` bytes, changed in place), as
//! torchvision runs them on PIL images: Pillow's `ImageEnhance` (a blend with a degenerate image), its 8-bit HSV
//! conversions, and `ImageOps`' per-channel lookup tables.

/// `ImageEnhance.Brightness(image).enhance(factor)`: blend with black.
pub fn brightness(image: &mut [u8], factor: f32) {
    for v in image.iter_mut() {
        *v = blend(0, *v, factor);
    }
}

/// `ImageEnhance.Contrast(image).enhance(factor)`: blend with a uniform grey at the mean luma, rounded to an
/// integer (`int(mean + 0.5)`, computed exactly).
pub fn contrast(image: &mut [u8], factor: f32) {
    let plane = image.len() / 3;
    let sum: u64 = (0..plane).map(|i| u64::from(luma(image[i], image[plane + i], image[2 * plane + i]))).sum();
    let n = plane.max(1) as u64;
    let mean = ((2 * sum + n) / (2 * n)) as u8;
    for v in image.iter_mut() {
        *v = blend(mean, *v, factor);
    }
}

/// `ImageEnhance.Color(image).enhance(factor)`: blend each pixel with its luma.
pub fn saturation(image: &mut [u8], factor: f32) {
    let plane = image.len() / 3;
    let (red, rest) = image.split_at_mut(plane);
    let (green, blue) = rest.split_at_mut(plane);
    for ((r, g), b) in red.iter_mut().zip(green.iter_mut()).zip(blue.iter_mut()) {
        let grey = luma(*r, *g, *b);
        (*r, *g, *b) = (blend(grey, *r, factor), blend(grey, *g, factor), blend(grey, *b, factor));
    }
}

/// Pillow's `Image.blend(degenerate, image, factor)` on one value (`Blend.c`): `degenerate + factor * (value -
/// degenerate)` in float, clipped to [0, 255] and truncated.
fn blend(degenerate: u8, value: u8, factor: f32) -> u8 {
    let temp = f32::from(degenerate) + factor * (f32::from(value) - f32::from(degenerate));
    if temp <= 0.0 {
        0
    } else if temp >= 255.0 {
        255
    } else {
        temp as u8
    }
}

/// Pillow's `convert("L")`: `(19595 R + 38470 G + 7471 B + 2^15) >> 16`.
pub fn luma(r: u8, g: u8, b: u8) -> u8 {
    ((19595 * u32::from(r) + 38470 * u32::from(g) + 7471 * u32::from(b) + (1 << 15)) >> 16) as u8
}

/// torchvision's `adjust_hue` on a PIL image: convert to Pillow's 8-bit HSV, add `uint8(factor * 255)` to the hue
/// (truncated towards zero, then wrapping modulo 256, as numpy does), convert back.
pub fn hue(image: &mut [u8], factor: f32) {
    let shift = ((f64::from(factor) * 255.0).trunc() as i64).rem_euclid(256) as u8;
    let plane = image.len() / 3;
    let (red, rest) = image.split_at_mut(plane);
    let (green, blue) = rest.split_at_mut(plane);
    for ((r, g), b) in red.iter_mut().zip(green.iter_mut()).zip(blue.iter_mut()) {
        let (h, s, v) = rgb_to_hsv(*r, *g, *b);
        (*r, *g, *b) = hsv_to_rgb(h.wrapping_add(shift), s, v);
    }
}

/// Pillow's `rgb2hsv_row` (`Convert.c`): float where Pillow declares `float`, double where its expressions mix in
/// double constants.
fn rgb_to_hsv(r: u8, g: u8, b: u8) -> (u8, u8, u8) {
    let max = r.max(g).max(b);
    let min = r.min(g).min(b);
    if max == min {
        return (0, 0, max);
    }
    let chroma = f32::from(max - min);
    let s = chroma / f32::from(max);
    let rc = f32::from(max - r) / chroma;
    let gc = f32::from(max - g) / chroma;
    let bc = f32::from(max - b) / chroma;
    let h: f32 = if r == max {
        bc - gc
    } else if g == max {
        (2.0 + f64::from(rc) - f64::from(bc)) as f32
    } else {
        (4.0 + f64::from(gc) - f64::from(rc)) as f32
    };
    let h = ((f64::from(h) / 6.0 + 1.0) % 1.0) as f32;
    let level = |x: f32| (f64::from(x) * 255.0).trunc().clamp(0.0, 255.0) as u8;
    (level(h), level(s), max)
}

/// Pillow's `hsv2rgb` (`Convert.c`), with its mix of float and double.
fn hsv_to_rgb(h: u8, s: u8, v: u8) -> (u8, u8, u8) {
    if s == 0 {
        return (v, v, v);
    }
    let position = f64::from(h) * 6.0 / 255.0;
    let sector = position.floor();
    let f = (position - sector) as f32;
    let fs = (f64::from(s) / 255.0) as f32;
    let value = f64::from(v);
    // C's `round`: half away from zero; the products are never negative.
    let level = |x: f64| x.round().clamp(0.0, 255.0) as u8;
    let p = level(value * (1.0 - f64::from(fs)));
    let q = level(value * (1.0 - f64::from(fs * f)));
    let t = level(value * (1.0 - f64::from(fs) * (1.0 - f64::from(f))));
    match (sector as i64).rem_euclid(6) {
        0 => (v, t, p),
        1 => (q, v, p),
        2 => (p, v, t),
        3 => (p, q, v),
        4 => (t, p, v),
        _ => (v, p, q),
    }
}

/// `ImageOps.equalize`: per channel, a lookup table that spreads the histogram (the last occupied level's count
/// left out of the step).
pub fn equalize(image: &mut [u8]) {
    let plane = image.len() / 3;
    for channel in image.chunks_exact_mut(plane.max(1)) {
        let mut histogram = [0usize; 256];
        for v in channel.iter() {
            histogram[usize::from(*v)] += 1;
        }
        let occupied: Vec<usize> = histogram.iter().copied().filter(|c| *c > 0).collect();
        let step = match occupied.last() {
            Some(last) if occupied.len() > 1 => (occupied.iter().sum::<usize>() - last) / 255,
            _ => 0,
        };
        if step == 0 {
            continue;
        }
        let mut table = [0u8; 256];
        let mut n = step / 2;
        for (entry, count) in table.iter_mut().zip(histogram) {
            *entry = (n / step).min(255) as u8;
            n += count;
        }
        apply_table(channel, &table);
    }
}

/// `ImageOps.posterize(image, bits)`: keep the top `bits` bits of every value.
pub fn posterize(image: &mut [u8], bits: u32) {
    let mask = !(((1u16 << (8 - bits)) - 1) as u8);
    for v in image.iter_mut() {
        *v &= mask;
    }
}

/// `ImageOps.autocontrast` (no cutoff): per channel, stretch the lowest to highest level over [0, 255] through the
/// table `int(level * scale + offset)`, in double, with `scale = 255 / (high - low)`.
pub fn autocontrast(image: &mut [u8]) {
    let plane = image.len() / 3;
    for channel in image.chunks_exact_mut(plane.max(1)) {
        let low = channel.iter().copied().min().unwrap_or(0);
        let high = channel.iter().copied().max().unwrap_or(0);
        if high <= low {
            continue;
        }
        let scale = 255.0 / f64::from(high - low);
        let offset = -f64::from(low) * scale;
        let mut table = [0u8; 256];
        for (level, entry) in table.iter_mut().enumerate() {
            *entry = (level as f64 * scale + offset).trunc().clamp(0.0, 255.0) as u8;
        }
        apply_table(channel, &table);
    }
}

fn apply_table(channel: &mut [u8], table: &[u8; 256]) {
    for v in channel.iter_mut() {
        *v = table[usize::from(*v)];
    }
}
