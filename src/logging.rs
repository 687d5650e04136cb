//! Logging set-up: human-readable lines on stderr, filtered by `RUST_LOG` (default `info`).
//!
//! Colour codes are written only when stderr is a terminal: a log redirected to a file (`2> reproduce.log`, a
//! Slurm job's output) holds plain text that `grep` and a reviewer's editor read as written.
use std::io::IsTerminal;

use tracing_subscriber::EnvFilter;

/// Install the global subscriber once; later calls (tests) are no-ops.
pub fn init() {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .with_target(false)
        .try_init();
}
