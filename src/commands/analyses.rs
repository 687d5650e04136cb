//! `receptive-fields`, `spatial-frequency` and `erf`: one checkpoint's analyses as CSV `layer,<statistic>,value`.
use std::path::Path;

use anyhow::{Context, Result};

use blurry_to_clear::analysis::gabor::{GaborConfig, GaborKernelScale};
use blurry_to_clear::analysis::{self, erf::ErfConfig};
use blurry_to_clear::device::DeviceChoice;
use blurry_to_clear::vocab::Layer;

/// Moment sizes of the five conv layers and the conv1 Gabor summary, as `layer,measure,value`.
pub fn receptive_fields(checkpoint: &Path, restarts: usize, seed: u64, kernel_scale: GaborKernelScale) -> Result<()> {
    let gabor = GaborConfig { restarts, seed, kernel_scale, ..Default::default() };
    let rows = analysis::checkpoint_receptive_fields(checkpoint, &gabor)?;
    print_rows("measure", rows.iter().map(|r| (r.layer, r.statistic.to_string(), r.value)))
}

/// Peak spatial-frequency statistics (cycles/image at 224 px), as `layer,statistic,value`.
pub fn spatial_frequency(checkpoint: &Path, resolution: Option<i64>, device: DeviceChoice) -> Result<()> {
    let resolution = analysis::resolution_for(checkpoint, resolution)?;
    let rows = analysis::checkpoint_spatial_frequency(checkpoint, resolution, device.resolve()?)?;
    print_rows("statistic", rows.iter().map(|r| (r.layer, r.statistic.to_string(), r.value)))
}

/// ERF summaries over seeded noise, as `layer,statistic,value` with statistics named `<inputs>_<statistic>`, e.g.
/// `noise_r50_px`.
pub fn erf(
    checkpoint: &Path,
    resolution: Option<i64>,
    noise_images: usize,
    seed: u64,
    device: DeviceChoice,
) -> Result<()> {
    let config = ErfConfig { noise_images, seed, ..Default::default() };
    let resolution = analysis::resolution_for(checkpoint, resolution)?;
    let rows = analysis::checkpoint_erf(checkpoint, resolution, device.resolve()?, &config)?;
    print_rows("statistic", rows.iter().map(|s| (s.layer, format!("{}_{}", s.input, s.statistic), s.value)))
}

/// Rows `layer,<statistic column>,value` as CSV on stdout.
fn print_rows(statistic: &str, rows: impl IntoIterator<Item = (Layer, String, f64)>) -> Result<()> {
    let mut csv = csv::Writer::from_writer(std::io::stdout().lock());
    csv.write_record(["layer", statistic, "value"])?;
    for (layer, name, value) in rows {
        csv.write_record([layer.name(), &name, &value.to_string()])?;
    }
    csv.flush().context("cannot write the CSV to the output")
}
