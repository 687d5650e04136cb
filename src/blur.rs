//! The original's Gaussian blur: `kornia.filters.gaussian_blur2d(x, (k, k), (sigma, sigma))` with
//! `k = 2*ceil(2*sigma) + 1`, normalised Gaussian taps and kornia's default reflect border (as
//! `cerysojj/blurry-to-clear-training`, `src/utils.py`, applies it to normalised batches on the GPU).
//!
//! A batch is blurred in two separable passes, each a batched matrix product of every image plane with the blur
//! matrix of its image's sigma ([`reflect_blur_matrix`], which folds kornia's reflect border in), so every image
//! can have its own sigma. Each image is blurred as kornia would blur it alone, up to the order of the sums.
//! Sigma 0 leaves an image untouched.
use anyhow::{bail, Result};
use tch::Tensor;

use crate::draws::upload;

/// Kernel side used by the original for `sigma`: `2*ceil(2*sigma) + 1` (1 for sigma 0).
pub(crate) fn kernel_size(sigma: f64) -> usize {
    2 * (2.0 * sigma).ceil() as usize + 1
}

/// kornia's normalised 1-D Gaussian taps for `sigma` (a single 1 for sigma 0).
pub(crate) fn gaussian_kernel1d(sigma: f64) -> Vec<f64> {
    let size = kernel_size(sigma);
    if sigma <= 0.0 {
        return vec![1.0];
    }
    let half = (size / 2) as f64;
    let taps: Vec<f64> = (0..size).map(|i| (-((i as f64 - half).powi(2)) / (2.0 * sigma * sigma)).exp()).collect();
    let sum: f64 = taps.iter().sum();
    taps.into_iter().map(|t| t / sum).collect()
}

/// Blur every image of `images` (`[N, C, H, W]`, floating point, any device) with its own sigma (in pixels of
/// these images). Errors when a sigma is negative or not finite, or an image is too small for its kernel
/// (reflect padding needs the border to be narrower than the image).
pub(crate) fn blur_batch(images: &Tensor, sigmas: &[f64]) -> Result<Tensor> {
    let size = images.size();
    let [n, c, h, w] = size[..] else { bail!("blur expects a batch [N, C, H, W], got shape {size:?}") };
    if sigmas.len() as i64 != n {
        bail!("blur got {} sigmas for a batch of {n} images", sigmas.len());
    }
    if let Some(bad) = sigmas.iter().find(|s| !s.is_finite() || **s < 0.0) {
        bail!("blur sigma must be a finite number >= 0, got {bad}");
    }
    let longest = sigmas.iter().map(|s| kernel_size(*s)).max().unwrap_or(1);
    if longest == 1 {
        return Ok(images.shallow_clone());
    }
    let pad = (longest / 2) as i64;
    if pad >= h || pad >= w {
        let sigma = sigmas.iter().cloned().fold(0.0, f64::max);
        bail!(
            "an image of {h}x{w} px is too small for a Gaussian blur with sigma {sigma} (kernel {longest} px needs \
             images larger than {pad} px on each side); use a smaller sigma or larger images"
        );
    }
    let planes = images.reshape([n * c, h, w]);
    let per_plane = |len: i64| -> Tensor {
        let matrix = |sigma: &f64| upload(&reflect_blur_matrix(*sigma, len), images.device());
        match sigmas.iter().all(|s| *s == sigmas[0]) {
            // One matrix, expanded (not copied) over the planes.
            true => matrix(&sigmas[0]).unsqueeze(0).expand([n * c, len, len], false),
            false => Tensor::stack(&sigmas.iter().map(matrix).collect::<Vec<_>>(), 0)
                .unsqueeze(1)
                .expand([n, c, len, len], false)
                .reshape([n * c, len, len]),
        }
        .to_kind(images.kind())
    };
    // Rows: each plane times the row matrix; columns: the column matrix's transpose times each plane.
    let rows_blurred = planes.bmm(&per_plane(w));
    Ok(per_plane(h).transpose(1, 2).bmm(&rows_blurred).view([n, c, h, w]))
}

/// The 1-D blur of an axis of `len` pixels as a matrix `M` (`[len, len]`, float64 on the CPU): a row of pixels
/// `x` becomes `x M`. Column `j` holds the Gaussian taps around pixel `j`, each added at its source pixel after
/// kornia's reflect border (`-1 -> 1`, `len -> len - 2`), so that the border needs no padded copy.
///
/// As two matrix products the blur costs the same at every sigma, and on the CPU it is about twice as fast as two
/// depthwise convolutions at sigma 8 (33 taps at 224 px) and three times at sigma 32; the sums run in another
/// order, which moves results by about 1e-7.
fn reflect_blur_matrix(sigma: f64, len: i64) -> Tensor {
    let kernel = gaussian_kernel1d(sigma);
    let pad = (kernel.len() / 2) as i64;
    let mut matrix = vec![0f64; (len * len) as usize];
    for column in 0..len {
        for (tap, weight) in kernel.iter().enumerate() {
            let source = column + tap as i64 - pad;
            let source = if source < 0 {
                -source
            } else if source >= len {
                2 * (len - 1) - source
            } else {
                source
            };
            matrix[(source * len + column) as usize] += weight;
        }
    }
    Tensor::from_slice(&matrix).view([len, len])
}

/// Blur the whole batch with one sigma.
pub fn blur_uniform(images: &Tensor, sigma: f64) -> Result<Tensor> {
    let n = images.size().first().copied().unwrap_or(0);
    blur_batch(images, &vec![sigma; n.max(0) as usize])
}

#[cfg(test)]
mod tests {
    use super::*;
    use tch::{Device, Kind};

    fn uniform(shape: &[i64], seed: i64) -> Tensor {
        crate::draws::Draws::new(seed).uniform(shape, (0.0, 1.0)).to_kind(Kind::Float)
    }

    fn close(a: &Tensor, b: &Tensor) -> f64 {
        (a - b).abs().max().double_value(&[])
    }

    #[test]
    fn kernel_has_the_originals_size_and_sums_to_one() {
        for (sigma, size) in [(0.0, 1), (0.5, 3), (1.0, 5), (2.0, 9), (2.2857, 11), (8.0, 33), (32.0, 129)] {
            let k = gaussian_kernel1d(sigma);
            assert_eq!((kernel_size(sigma), k.len()), (size, size), "sigma {sigma}");
            assert!((k.iter().sum::<f64>() - 1.0).abs() < 1e-12);
            assert!(k.windows(2).take(size / 2).all(|p| p[0] < p[1]), "taps rise towards the centre");
        }
    }

    #[test]
    fn reflect_border_matches_a_hand_computed_example() {
        // One row [0, 0, 0, 9] (3 rows tall, so vertical blur of a constant column leaves it), sigma 0.5:
        // kernel 3 taps a, b, a with a = e^-2 / (1 + 2 e^-2). Reflect padding mirrors without repeating the edge:
        // the last pixel sees neighbours 0 and 0 (its mirror), so it becomes 9*b; its neighbour gets 9*a.
        let row = Tensor::from_slice(&[0.0f32, 0.0, 0.0, 9.0]).view([1, 1, 1, 4]).repeat([1, 1, 3, 1]);
        let out = blur_uniform(&row, 0.5).unwrap();
        let e = (-2.0f64).exp();
        let (a, b) = (e / (1.0 + 2.0 * e), 1.0 / (1.0 + 2.0 * e));
        let got: Vec<f32> = Vec::try_from(out.get(0).get(0).get(1)).unwrap();
        let want = [0.0, 0.0, 9.0 * a, 9.0 * b];
        for (g, w) in got.iter().zip(want) {
            assert!((f64::from(*g) - w).abs() < 1e-6, "{got:?} vs {want:?}");
        }
    }

    #[test]
    fn sigma_zero_is_the_identity_and_constants_stay_constant() {
        let x = uniform(&[2, 3, 16, 16], 1);
        assert_eq!(close(&blur_uniform(&x, 0.0).unwrap(), &x), 0.0);
        let flat = Tensor::full([1, 3, 20, 20], 0.37, (Kind::Float, Device::Cpu));
        assert!(close(&blur_uniform(&flat, 3.0).unwrap(), &flat) < 1e-6);
    }

    #[test]
    fn each_image_gets_its_own_sigma() {
        let x = uniform(&[3, 3, 24, 24], 3);
        let sigmas = [0.0, 1.0, 2.5];
        let batch = blur_batch(&x, &sigmas).unwrap();
        for (i, sigma) in sigmas.iter().enumerate() {
            let alone = blur_uniform(&x.narrow(0, i as i64, 1), *sigma).unwrap();
            assert!(close(&batch.narrow(0, i as i64, 1), &alone) < 1e-6, "image {i} sigma {sigma}");
        }
        assert!(close(&batch.narrow(0, 0, 1), &x.narrow(0, 0, 1)) < 1e-6);
    }

    #[test]
    fn the_matrices_blur_as_libtorchs_reflect_padding_and_convolution_do() {
        // The direct computation: reflect-pad, then one depthwise convolution per axis.
        let x = uniform(&[2, 3, 20, 17], 4);
        for sigma in [0.7, 2.0, 4.0] {
            let taps: Vec<f32> = gaussian_kernel1d(sigma).iter().map(|t| *t as f32).collect();
            let k = taps.len() as i64;
            let kernel = Tensor::from_slice(&taps).view([1, 1, 1, k]).repeat([6, 1, 1, 1]);
            let pad = k / 2;
            let planes = x.reshape([1, 6, 20, 17]);
            let rows =
                planes.reflection_pad2d([pad, pad, 0, 0]).conv2d(&kernel, None::<Tensor>, [1, 1], [0, 0], [1, 1], 6);
            let vertical = kernel.view([6, 1, k, 1]);
            let direct =
                rows.reflection_pad2d([0, 0, pad, pad]).conv2d(&vertical, None::<Tensor>, [1, 1], [0, 0], [1, 1], 6);
            let ours = blur_uniform(&x, sigma).unwrap();
            assert!(close(&ours, &direct.view([2, 3, 20, 17])) < 1e-6, "sigma {sigma}");
        }
    }

    #[test]
    fn too_small_images_and_bad_sigmas_are_errors() {
        let x = uniform(&[1, 3, 10, 10], 2);
        let err = blur_uniform(&x, 8.0).unwrap_err().to_string();
        assert!(err.contains("too small"), "{err}");
        assert!(blur_batch(&x, &[-1.0]).is_err());
        assert!(blur_batch(&x, &[1.0, 1.0]).is_err());
    }
}
