//! `calibrate-standins`: train the clear models of a synthetic profile and print each dataset's half-accuracy sigma
//! beside the original's.
use anyhow::Result;

use blurry_to_clear::calibrate::{self, CalibrationOptions};

/// Calibrate, then print the table ([`calibrate::print`]).
pub fn run(opts: CalibrationOptions) -> Result<()> {
    let rows = calibrate::calibrate(&opts)?;
    calibrate::print(&rows, &mut std::io::stdout().lock())
}
