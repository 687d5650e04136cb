//! The commands over a directory of results tables: `verify`, `figures`, `report` and `import-reference`.
use std::path::Path;

use anyhow::{bail, Result};

use blurry_to_clear::figures::{draw_source, Source};
use blurry_to_clear::{report as run_report, results, verify as check};

/// Failing numbers named in the error of `verify`; the summary above it lists more.
const FAILURES_NAMED: usize = 10;

/// `verify`: print the summary; an error (non-zero exit) names the failing rows.
pub fn verify(run_dir: &Path, against: Option<&Path>) -> Result<()> {
    let expected_dir = match against {
        Some(dir) => dir.to_path_buf(),
        None => check::default_expected_dir(run_dir)?,
    };
    let verification = check::verify(run_dir, &expected_dir)?;
    print!("{}", check::summary(&verification));
    if verification.compared() == 0 {
        bail!("no number of {} has an expected counterpart in {}", run_dir.display(), expected_dir.display());
    }
    let failed: Vec<String> =
        verification.tables.iter().flat_map(|t| t.failures().map(move |c| c.describe(t.schema))).collect();
    if !failed.is_empty() {
        let shown = failed.iter().take(FAILURES_NAMED).cloned().collect::<Vec<_>>().join("; ");
        bail!(
            "{} of {} numbers fall outside tolerance: {shown}{}",
            failed.len(),
            verification.compared(),
            if failed.len() > FAILURES_NAMED { "; ..." } else { "" }
        );
    }
    Ok(())
}

/// `figures`: draw `source` into `out` (default [`Source::default_out_dir`]).
pub fn figures(source: &str, out: Option<&Path>) -> Result<()> {
    let source = Source::resolve(source)?;
    let out_dir = out.map_or_else(|| source.default_out_dir(), Path::to_path_buf);
    let written = draw_source(&source, &out_dir)?;
    if written.is_empty() {
        bail!("{} holds no table any figure draws", source.tables_dir.display());
    }
    println!("{} figures in {}: {}", written.len(), out_dir.display(), written.join(", "));
    Ok(())
}

/// `report`: write the report, and its new SHA-256 into the run's manifest.
pub fn report(run_dir: &Path, against: Option<&Path>) -> Result<()> {
    let path = run_report::write_report(run_dir, against)?;
    run_report::update_manifest_hash(run_dir, &path)?;
    println!("wrote {}", path.display());
    Ok(())
}

/// `import-reference`: convert the reference CSVs, then one line per table written.
pub fn import_reference(reference_dir: &Path, out_dir: &Path) -> Result<()> {
    for (name, rows) in results::import_reference(reference_dir, out_dir)? {
        println!("{}: {rows} rows", out_dir.join(format!("{name}.csv")).display());
    }
    Ok(())
}
