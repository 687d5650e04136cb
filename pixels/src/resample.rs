//! Pillow's `Image.resize(.., BICUBIC)` and `Image.resize(.., BILINEAR)` on 8-bit planes (`libImaging/Resample.c`):
//! a separable convolution, horizontal pass first, each pass rounded back to 8 bits; the kernel (cubic with
//! `a = -0.5`, or the triangle) is stretched by the shrink factor when shrinking (antialiasing), and its weights are
//! normalised per output pixel and quantised to [`PRECISION_BITS`] fractional bits.

/// Pillow's fixed-point precision for 8-bit resampling (`PRECISION_BITS = 32 - 8 - 2`).
pub const PRECISION_BITS: u32 = 22;

/// Half of one level in fixed point: the rounding offset every sum starts from.
const HALF: i32 = 1 << (PRECISION_BITS - 1);

/// The taps of one axis: for each output pixel, its first source pixel (an absolute index into the axis) and the
/// integer weights, in units of `2^-PRECISION_BITS`, of it and the pixels that follow.
#[derive(Clone, Debug, PartialEq)]
pub struct AxisTaps {
    pub first: Vec<usize>,
    pub weights: Vec<Vec<i32>>,
}

/// Pillow's resampling filters, each with its support at scale 1.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Filter {
    /// `BILINEAR`: the triangle `1 - |x|`, support 1 (torchvision's `Resize` default).
    Bilinear,
    /// `BICUBIC`: the cubic convolution kernel with `a = -0.5`, support 2 (the original's `RandomResizedCrop`).
    Bicubic,
}

impl Filter {
    fn support(self) -> f64 {
        match self {
            Filter::Bilinear => 1.0,
            Filter::Bicubic => 2.0,
        }
    }

    fn weight(self, x: f64) -> f64 {
        match self {
            Filter::Bilinear => (1.0 - x.abs()).max(0.0),
            Filter::Bicubic => bicubic(x),
        }
    }
}

/// Pillow's bicubic taps for resizing the span `[start, start + length)` of an axis to `out_size` pixels.
pub fn bicubic_taps(start: usize, length: usize, out_size: usize) -> AxisTaps {
    taps(Filter::Bicubic, start, length, out_size)
}

/// Pillow's taps (`precompute_coeffs` + `normalize_coeffs_8bpc`) of `filter` for resizing the span
/// `[start, start + length)` of an axis to `out_size` pixels, as `Image.resize` computes them for the image cropped
/// to that span.
pub fn taps(filter: Filter, start: usize, length: usize, out_size: usize) -> AxisTaps {
    let scale = length as f64 / out_size as f64;
    let filter_scale = scale.max(1.0);
    let support = filter.support() * filter_scale;
    let unit = f64::from(1u32 << PRECISION_BITS);
    let mut taps = AxisTaps { first: Vec::with_capacity(out_size), weights: Vec::with_capacity(out_size) };
    for out in 0..out_size {
        let centre = (out as f64 + 0.5) * scale;
        // `(int)(x + 0.5)`, clipped to the span.
        let first = ((centre - support + 0.5) as i64).max(0) as usize;
        let end = ((centre + support + 0.5) as i64).min(length as i64) as usize;
        let raw: Vec<f64> = (first..end).map(|x| filter.weight((x as f64 - centre + 0.5) / filter_scale)).collect();
        let total: f64 = raw.iter().sum();
        let weights = raw
            .iter()
            .map(|w| if total != 0.0 { w / total } else { *w })
            // Round half away from zero.
            .map(|w| if w < 0.0 { (-0.5 + w * unit) as i32 } else { (0.5 + w * unit) as i32 })
            .collect();
        taps.first.push(start + first);
        taps.weights.push(weights);
    }
    taps
}

/// Pillow's cubic convolution kernel (`bicubic_filter`, `a = -0.5`), support 2.
fn bicubic(x: f64) -> f64 {
    const A: f64 = -0.5;
    let x = x.abs();
    if x < 1.0 {
        ((A + 2.0) * x - (A + 3.0)) * x * x + 1.0
    } else if x < 2.0 {
        (((x - 5.0) * x + 8.0) * x - 4.0) * A
    } else {
        0.0
    }
}

/// Resize one plane (`plane`: rows of `width` levels) into `out` (`rows.first.len()` rows of `columns.first.len()`
/// levels): `ImagingResampleHorizontal_8bpc` over the rows the vertical pass reads, then
/// `ImagingResampleVertical_8bpc`. Sums are int32, as in Pillow; they cannot overflow, since a cubic kernel's
/// absolute weights sum to less than 1.3 (a triangle's to 1): `|sum| < 255 * 1.3 * 2^22 < 2^31`.
pub fn resize_plane(plane: &[u8], width: usize, columns: &AxisTaps, rows: &AxisTaps, out: &mut [u8]) {
    let (row_lo, row_hi) = row_span(rows);
    let out_width = columns.first.len();
    let mut between = vec![0u8; (row_hi - row_lo) * out_width];
    for (line, resized) in plane.chunks_exact(width).skip(row_lo).zip(between.chunks_exact_mut(out_width)) {
        for ((level, first), weights) in resized.iter_mut().zip(&columns.first).zip(&columns.weights) {
            let window = &line[*first..*first + weights.len()];
            *level = clip8(window.iter().zip(weights).fold(HALF, |sum, (v, w)| sum + i32::from(*v) * w));
        }
    }
    resample_vertical(&between, row_lo, out_width, rows, out);
}

/// [`resize_plane`] of the three channels of an interleaved RGB image (`rgb`: rows of `width` pixels), into `out`
/// as three planes (R, G, B) of `rows.first.len() x columns.first.len()` levels: the same bytes as resizing each
/// plane, as Pillow computes them, without first splitting the whole image into planes. The horizontal pass reads
/// each source pixel's three levels together, as Pillow's does, so each weight is loaded once for all three.
pub fn resize_rgb_to_planes(rgb: &[u8], width: usize, columns: &AxisTaps, rows: &AxisTaps, out: &mut [u8]) {
    let (row_lo, row_hi) = row_span(rows);
    let out_width = columns.first.len();
    let between_plane = (row_hi - row_lo) * out_width;
    let mut between = vec![0u8; 3 * between_plane];
    let (red, rest) = between.split_at_mut(between_plane);
    let (green, blue) = rest.split_at_mut(between_plane);
    let lines = rgb.chunks_exact(3 * width).skip(row_lo);
    let resized =
        red.chunks_exact_mut(out_width).zip(green.chunks_exact_mut(out_width)).zip(blue.chunks_exact_mut(out_width));
    for (line, ((r, g), b)) in lines.zip(resized) {
        for (x, (first, weights)) in columns.first.iter().zip(&columns.weights).enumerate() {
            let window = &line[3 * first..3 * (first + weights.len())];
            let (mut sr, mut sg, mut sb) = (HALF, HALF, HALF);
            for (pixel, w) in window.chunks_exact(3).zip(weights) {
                sr += i32::from(pixel[0]) * w;
                sg += i32::from(pixel[1]) * w;
                sb += i32::from(pixel[2]) * w;
            }
            (r[x], g[x], b[x]) = (clip8(sr), clip8(sg), clip8(sb));
        }
    }
    let out_plane = rows.first.len() * out_width;
    for (between, out) in between.chunks_exact(between_plane.max(1)).zip(out.chunks_exact_mut(out_plane.max(1))) {
        resample_vertical(between, row_lo, out_width, rows, out);
    }
}

/// The source rows `[lo, hi)` the vertical pass of `rows` reads.
fn row_span(rows: &AxisTaps) -> (usize, usize) {
    let lo = rows.first.first().copied().unwrap_or(0);
    let hi = rows.first.iter().zip(&rows.weights).map(|(f, w)| f + w.len()).max().unwrap_or(lo);
    (lo, hi)
}

/// `ImagingResampleVertical_8bpc` of `between` (the horizontally resized source rows from `row_lo`, each
/// `out_width` levels) into `out`.
fn resample_vertical(between: &[u8], row_lo: usize, out_width: usize, rows: &AxisTaps, out: &mut [u8]) {
    let mut sums = vec![0i32; out_width];
    for ((line, first), weights) in out.chunks_exact_mut(out_width).zip(&rows.first).zip(&rows.weights) {
        sums.fill(HALF);
        for (k, weight) in weights.iter().enumerate() {
            let source = &between[(first - row_lo + k) * out_width..][..out_width];
            for (sum, v) in sums.iter_mut().zip(source) {
                *sum += i32::from(*v) * weight;
            }
        }
        for (level, sum) in line.iter_mut().zip(&sums) {
            *level = clip8(*sum);
        }
    }
}

/// Pillow's `clip8`: a fixed-point sum to a level, floored and clipped to 0..=255.
fn clip8(sum: i32) -> u8 {
    (sum >> PRECISION_BITS).clamp(0, 255) as u8
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An interleaved RGB image resized to planes equals each plane resized on its own, byte for byte: shrinking
    /// and enlarging, both filters, and a centre-cropped window of taps (as the cache's `Resize` then
    /// `CenterCrop` keeps).
    #[test]
    fn interleaved_rgb_resizes_as_its_planes_do() {
        let (width, height) = (37, 23);
        let mut state = 12345u32;
        let rgb: Vec<u8> = (0..3 * width * height)
            .map(|_| {
                state = state.wrapping_mul(1_103_515_245).wrapping_add(12345);
                (state >> 16) as u8
            })
            .collect();
        let mut planes = vec![0u8; rgb.len()];
        crate::planar_from_interleaved(&rgb, &mut planes);
        let cropped = |t: AxisTaps, keep: std::ops::Range<usize>| AxisTaps {
            first: t.first[keep.clone()].to_vec(),
            weights: t.weights[keep].to_vec(),
        };
        for filter in [Filter::Bilinear, Filter::Bicubic] {
            for (out_w, out_h, keep_w, keep_h) in
                [(16, 11, 0..16, 0..11), (50, 40, 5..45, 8..32), (37, 23, 0..37, 0..23)]
            {
                let columns = cropped(taps(filter, 0, width, out_w), keep_w);
                let rows = cropped(taps(filter, 0, height, out_h), keep_h);
                let out_plane = columns.first.len() * rows.first.len();
                let mut each = vec![0u8; 3 * out_plane];
                for (plane, out) in planes.chunks_exact(width * height).zip(each.chunks_exact_mut(out_plane)) {
                    resize_plane(plane, width, &columns, &rows, out);
                }
                let mut together = vec![0u8; 3 * out_plane];
                resize_rgb_to_planes(&rgb, width, &columns, &rows, &mut together);
                assert_eq!(together, each, "{filter:?} to {out_w}x{out_h}");
            }
        }
    }
}
