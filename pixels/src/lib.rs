//! Pillow's 8-bit pixel operations that the original's training augmentation applies to every image, as plain
//! loops over one image's bytes: the antialiased bicubic resize ([`resample`]) and the seven colour operations
//! ([`colour`]); and the Gaussian blur's CPU loops over float planes ([`blur`]), which run for every training and
//! test batch.
//!
//! A crate of its own so that it is compiled optimised in every profile (`[profile.dev.package.pixels]` in the
//! root `Cargo.toml`): these loops run for every training image, and unoptimised they are 10x slower than the
//! tensor code they replace on the CPU. Images are planar RGB (`[3, H, W]`, the decoded cache's layout) and every
//! function follows the C of Pillow 11 (`libImaging/Resample.c`, `Blend.c`, `Convert.c`, and `ImageOps.py`,
//! `ImageEnhance.py`) operation for operation, in the same integer, float and double arithmetic, so the results
//! are Pillow's bit for bit. `blurry-to-clear`'s tests hold them to values computed with Pillow.
pub mod blur;
pub mod colour;
pub mod resample;

/// Interleaved RGB pixels (`[H, W, 3]`, as decoders give them) to planar RGB (`[3, H, W]`, the cache's layout).
pub fn planar_from_interleaved(rgb: &[u8], planar: &mut [u8]) {
    let plane = rgb.len() / 3;
    let (red, rest) = planar.split_at_mut(plane);
    let (green, blue) = rest.split_at_mut(plane);
    for (((pixel, r), g), b) in rgb.chunks_exact(3).zip(red).zip(green).zip(blue) {
        (*r, *g, *b) = (pixel[0], pixel[1], pixel[2]);
    }
}

/// `RandomHorizontalFlip` of one image: reverse every row of `width` values.
pub fn flip_rows(image: &mut [u8], width: usize) {
    for row in image.chunks_exact_mut(width) {
        row.reverse();
    }
}

/// torchvision's `ToTensor()` then `Normalize(mean, std)` on one channel: `(level / 255 - mean) / std`, in float32
/// operations in that order, as torchvision computes them on the CPU.
pub fn normalise(levels: &[u8], mean: f32, std: f32, out: &mut [f32]) {
    for (value, level) in out.iter_mut().zip(levels) {
        *value = (f32::from(*level) / 255.0 - mean) / std;
    }
}
