//! `data verify`, `data synth` and `data import`: a dataset root checked, written from the stand-ins, or imported;
//! the last two end with the check.
use std::path::Path;

use anyhow::{bail, Result};

use blurry_to_clear::data::import::SourceFormat;
use blurry_to_clear::data::manifest::MANIFEST_FILE;
use blurry_to_clear::data::{import, stand_in, verify as check};
use blurry_to_clear::vocab::DatasetId;

/// Problems listed on stderr; the rest are counted.
const SHOWN: usize = 200;

/// Print a summary when the root passes; print every problem and fail otherwise.
pub fn verify(dataset: DatasetId, root: &Path) -> Result<()> {
    let report = check::verify(dataset, root)?;
    if !report.is_ok() {
        for problem in report.problems.iter().take(SHOWN) {
            eprintln!("problem: {problem}");
        }
        if report.problems.len() > SHOWN {
            eprintln!("... and {} more problems (the first {SHOWN} are shown)", report.problems.len() - SHOWN);
        }
        bail!("{} problem(s) in {} (dataset {dataset}); see the lines above", report.problems.len(), root.display());
    }
    let counts: Vec<String> = report.images.iter().map(|(split, n)| format!("{split} {n}")).collect();
    println!(
        "ok: {} holds {dataset} with {} classes ({} images); all {} files match {MANIFEST_FILE}",
        root.display(),
        report.classes.unwrap_or(0),
        counts.join(", "),
        report.files_hashed
    );
    println!("{}", check::non_square_summary(dataset, &report.non_square));
    Ok(())
}

/// Write a profile's stand-in of `dataset` into `out`, then verify it.
pub fn synth(dataset: DatasetId, profile: &str, out: &Path) -> Result<()> {
    stand_in::write(dataset, profile, out)?;
    verify(dataset, out)
}

/// Import `source` into `out`, then verify it.
pub fn import(dataset: DatasetId, format: SourceFormat, source: &Path, out: &Path) -> Result<()> {
    import::import(dataset, format, source, out)?;
    verify(dataset, out)
}
