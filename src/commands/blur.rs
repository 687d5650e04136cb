//! `blur`: one image file blurred with the original's Gaussian blur ([`blurry_to_clear::blur`]).
use std::path::Path;

use anyhow::{bail, Context, Result};
use tch::{Device, Kind, Tensor};

use blurry_to_clear::atomic;
use blurry_to_clear::blur::blur_uniform;
use blurry_to_clear::data::layout;

/// Read a PNG or JPEG (decoded as the datasets are, by [`layout::decode_rgb`],
/// so an oversized or 16-bit image is refused), blur it in [0, 1] with `sigma` (pixels of that image), round back
/// to 8 bits and write it as the output's extension says: `.png` (lossless, the exact blurred pixels) or `.jpg` /
/// `.jpeg` (JPEG quality 95, lossy). Any other extension is refused, and so is an output directory that does not
/// exist (a typo in it should not create a tree of directories).
pub fn run(sigma: f64, input: &Path, output: &Path) -> Result<()> {
    let extension = output.extension().and_then(|e| e.to_str()).map(str::to_ascii_lowercase);
    let format = match extension.as_deref() {
        Some("png") => image::ImageFormat::Png,
        Some("jpg" | "jpeg") => image::ImageFormat::Jpeg,
        _ => bail!(
            "cannot write {}: the format is chosen from the extension, which must be .png, .jpg or .jpeg",
            output.display()
        ),
    };
    let dir = output.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
    if !dir.is_dir() {
        bail!("cannot write {}: the directory {} does not exist; create it first", output.display(), dir.display());
    }
    let bytes = std::fs::read(input).with_context(|| format!("cannot read image {}", input.display()))?;
    let image = layout::decode_rgb(&bytes)
        .with_context(|| format!("cannot use image {} (expected an 8-bit PNG or JPEG file)", input.display()))?;
    let (width, height) = image.dimensions();
    let pixels = Tensor::from_slice(image.as_raw()).view([1, height as i64, width as i64, 3]).permute([0, 3, 1, 2]);
    let x = pixels.to_kind(Kind::Float) / 255.0;
    let blurred = blur_uniform(&x, sigma).with_context(|| format!("cannot blur {}", input.display()))?;
    let bytes = (blurred * 255.0).round().clamp(0.0, 255.0).to_kind(Kind::Uint8).permute([0, 2, 3, 1]).contiguous();
    let bytes = Vec::<u8>::try_from(bytes.to_device(Device::Cpu).flatten(0, -1))?;
    let out = image::RgbImage::from_raw(width, height, bytes).context("blurred image has the wrong size")?;
    atomic::write_with(output, |tmp| {
        let written = match format {
            image::ImageFormat::Jpeg => std::fs::File::create(tmp).map_err(image::ImageError::IoError).and_then(|f| {
                out.write_with_encoder(image::codecs::jpeg::JpegEncoder::new_with_quality(
                    std::io::BufWriter::new(f),
                    95,
                ))
            }),
            _ => out.save_with_format(tmp, format),
        };
        written.with_context(|| format!("cannot write {}", tmp.display()))
    })
}
