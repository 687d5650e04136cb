//! A separable blur of one float plane by a symmetric kernel's own taps, with a reflect border (`-1 -> 1`,
//! `len -> len - 2`, as kornia's and PyTorch's `reflect`): the CPU path of `blurry-to-clear`'s Gaussian blur, which
//! chooses the taps. Rows first, then columns, as kornia's `filter2d_separable` runs them; each pass sums tap by
//! tap over a whole row (`out += tap * (shifted row + mirrored shifted row)`, the kernel being symmetric), a loop
//! the compiler vectorises, so a pass costs one multiply per pair of taps and one add per tap and pixel.

/// Blur `plane` (`height` rows of `width` values) into `out` (the same shape) with `taps` (odd length `2 * pad + 1`,
/// `pad < width` and `pad < height`, as a reflect border needs). `scratch` is reused across calls, so that a caller
/// blurring many planes allocates once.
pub fn blur_plane(plane: &[f32], width: usize, height: usize, taps: &[f32], scratch: &mut Scratch, out: &mut [f32]) {
    let pad = taps.len() / 2;
    assert!(taps.len() % 2 == 1 && pad < width && pad < height, "{} taps for a {width}x{height} plane", taps.len());
    assert!(plane.len() == width * height && out.len() == width * height, "plane and output must be {width}x{height}");
    assert!(taps.iter().eq(taps.iter().rev()), "the taps of a blur are symmetric: {taps:?}");
    let Scratch { row, between } = scratch;
    row.resize(width + 2 * pad, 0.0);
    between.clear();
    between.resize(width * height, 0.0);
    for (source, blurred) in plane.chunks_exact(width).zip(between.chunks_exact_mut(width)) {
        // The row with its reflected border, then one shifted window per tap.
        row[pad..pad + width].copy_from_slice(source);
        for i in 1..=pad {
            row[pad - i] = source[i];
            row[pad + width - 1 + i] = source[width - 1 - i];
        }
        // A symmetric kernel: the two windows a tap weighs are summed first, so a pass costs one multiply per pair.
        for (k, tap) in taps[..pad].iter().enumerate() {
            let (left, right) = (&row[k..k + width], &row[2 * pad - k..2 * pad - k + width]);
            for ((value, l), r) in blurred.iter_mut().zip(left).zip(right) {
                *value += tap * (l + r);
            }
        }
        for (value, centre) in blurred.iter_mut().zip(&row[pad..pad + width]) {
            *value += taps[pad] * centre;
        }
    }
    out.fill(0.0);
    for (y, blurred) in out.chunks_exact_mut(width).enumerate() {
        let line = |offset: isize| {
            let source = reflect(y as isize + offset, height);
            &between[source * width..(source + 1) * width]
        };
        for (k, tap) in taps[..pad].iter().enumerate() {
            let (above, below) = (line(k as isize - pad as isize), line(pad as isize - k as isize));
            for ((value, a), b) in blurred.iter_mut().zip(above).zip(below) {
                *value += tap * (a + b);
            }
        }
        for (value, centre) in blurred.iter_mut().zip(line(0)) {
            *value += taps[pad] * centre;
        }
    }
}

/// Scratch space of [`blur_plane`].
#[derive(Debug, Default)]
pub struct Scratch {
    row: Vec<f32>,
    between: Vec<f32>,
}

/// The index a reflect border reads for position `i` of an axis of `len` (`-len < i < 2 * len - 1`).
fn reflect(i: isize, len: usize) -> usize {
    let last = len as isize - 1;
    (if i < 0 {
        -i
    } else if i > last {
        2 * last - i
    } else {
        i
    }) as usize
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_hand_computed_row_and_column() {
        // A 4x3 plane, zero but for 9 at (x 3, y 1); taps [a, b, a]. Along the row, the reflect border makes x 3 see
        // x 2 on both sides: x 2 gets 9a, x 3 gets 9b. Down the column, y 0 and y 2 see y 1 on both sides (weight
        // 2a), and y 1 keeps weight b.
        let (a, b) = (0.25f32, 0.5f32);
        let mut plane = vec![0f32; 12];
        plane[4 + 3] = 9.0;
        let mut out = vec![0f32; 12];
        blur_plane(&plane, 4, 3, &[a, b, a], &mut Scratch::default(), &mut out);
        let want = [
            [0.0, 0.0, 2.0 * a * 9.0 * a, 2.0 * a * 9.0 * b],
            [0.0, 0.0, b * 9.0 * a, b * 9.0 * b],
            [0.0, 0.0, 2.0 * a * 9.0 * a, 2.0 * a * 9.0 * b],
        ];
        assert_eq!(out, want.concat());
    }

    #[test]
    fn one_tap_is_the_identity_and_constants_stay_constant() {
        let plane: Vec<f32> = (0..35).map(|i| i as f32).collect();
        let mut out = vec![0f32; 35];
        let mut scratch = Scratch::default();
        blur_plane(&plane, 7, 5, &[1.0], &mut scratch, &mut out);
        assert_eq!(out, plane);
        blur_plane(&[0.5; 35], 7, 5, &[0.125, 0.25, 0.25, 0.25, 0.125], &mut scratch, &mut out);
        assert!(out.iter().all(|v| *v == 0.5), "{out:?}");
    }

    #[test]
    fn reflect_mirrors_without_repeating_the_edge() {
        let got: Vec<usize> = (-3..8).map(|i| reflect(i, 5)).collect();
        assert_eq!(got, [3, 2, 1, 0, 1, 2, 3, 4, 3, 2, 1]);
    }
}
