//! The commands over a directory of results tables: `verify`, `figures`, `report` and `import-reference`.
use std::path::Path;

use anyhow::{bail, Result};

use blurry_to_clear::figures::{draw_source, Source};
use blurry_to_clear::{report as run_report, results, verify as check};

/// `verify`: print the summary; an error (non-zero exit) names what differs ([`check::failure`]).
pub fn verify(run_dir: &Path, against: Option<&Path>) -> Result<()> {
    let expected_dir = match against {
        Some(dir) => dir.to_path_buf(),
        None => check::default_expected_dir(run_dir)?,
    };
    let verification = check::verify(run_dir, &expected_dir)?;
    print!("{}", check::summary(&verification));
    match check::failure(&verification) {
        Some(why) => bail!(why),
        None => Ok(()),
    }
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

/// `report`: write `report.md` and `report.html`, and their new SHA-256 into the run's manifest.
pub fn report(run_dir: &Path, against: Option<&Path>) -> Result<()> {
    let path = run_report::write_report(run_dir, against)?;
    let page = run_dir.join(run_report::HTML_FILE);
    run_report::update_manifest_hash(run_dir, &path)?;
    run_report::update_manifest_hash(run_dir, &page)?;
    println!("wrote {} and {}", check::project_relative(&path), check::project_relative(&page));
    Ok(())
}

/// `import-reference`: convert the reference CSVs, then one line per table written.
pub fn import_reference(reference_dir: &Path, out_dir: &Path) -> Result<()> {
    for (name, rows) in results::import_reference(reference_dir, out_dir)? {
        println!("{}: {rows} rows", out_dir.join(format!("{name}.csv")).display());
    }
    Ok(())
}
