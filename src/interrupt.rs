//! SIGINT and SIGTERM stop `reproduce` at the next safe point instead of wherever the signal lands.
//!
//! A scheduler sends SIGTERM when it cancels or pre-empts a job (and the Slurm task script of [`crate::slurm`] sends
//! one before the time limit); a person presses Ctrl-C. Either way the signal only sets a flag; `reproduce` checks it where stopping loses nothing that a rerun
//! cannot redo and leaves nothing half-written: between training steps, evaluation batches, analysed checkpoints
//! and stages, never inside a write. The check returns [`Interrupted`], which unwinds like any error, so locks are
//! released on the way out; `main` then says how to resume and exits 128 + the signal number (130, 143), as a shell
//! does for a process killed by it. The rerun resumes from the last checkpoint as after any interruption.
//!
//! A second Ctrl-C stops at once (exit 130), for when a safe point is too far away; a second SIGTERM does not, since
//! schedulers may send it twice (Slurm signals the batch shell and, on pre-emption, every process of the job).
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use anyhow::Result;
use signal_hook::consts::{SIGINT, SIGTERM};

/// The signal that asked us to stop, or 0.
static RECEIVED: AtomicUsize = AtomicUsize::new(0);
/// Set by the first SIGINT: arms the immediate exit on the second.
static SIGINT_SEEN: AtomicBool = AtomicBool::new(false);

/// Stopped at a safe point because a signal asked for it.
#[derive(Debug, thiserror::Error)]
#[error("interrupted by {}", signal_name(*.signal))]
pub(crate) struct Interrupted {
    pub signal: i32,
}

/// Catch SIGINT and SIGTERM from now on (once per process; `reproduce` calls it first).
pub fn install() -> Result<()> {
    // The immediate exit goes first, so that the first SIGINT only arms it (signal-hook runs actions in order).
    signal_hook::flag::register_conditional_shutdown(SIGINT, 128 + SIGINT, &SIGINT_SEEN)?;
    signal_hook::flag::register(SIGINT, &SIGINT_SEEN)?;
    for signal in [SIGINT, SIGTERM] {
        signal_hook::flag::register_usize(signal, &RECEIVED, signal as usize)?;
    }
    Ok(())
}

/// A safe point: an error when a signal asked us to stop.
pub(crate) fn check() -> Result<(), Interrupted> {
    match RECEIVED.load(Ordering::SeqCst) {
        0 => Ok(()),
        signal => Err(Interrupted { signal: signal as i32 }),
    }
}

/// The interruption an error is (through any context added on its way up), if it is one.
pub(crate) fn interruption(err: &anyhow::Error) -> Option<&Interrupted> {
    err.chain().find_map(|e| e.downcast_ref::<Interrupted>())
}

/// The exit code and the message for an error that is an interruption: how to resume. `None` for other errors.
pub fn report(err: &anyhow::Error) -> Option<(u8, String)> {
    let interrupted = interruption(err)?;
    let command = shlex::try_join(std::env::args().collect::<Vec<_>>().iter().map(String::as_str))
        .unwrap_or_else(|_| std::env::args().collect::<Vec<_>>().join(" "));
    let message = format!(
        "{interrupted}: stopped at a safe point; every file written is complete and the locks are released.\n\
         Resume with the same command (finished stages are skipped, training continues from its last checkpoint):\n  \
         {command}"
    );
    Some((128 + interrupted.signal.clamp(0, 127) as u8, message))
}

fn signal_name(signal: i32) -> String {
    match signal {
        SIGINT => "SIGINT".to_owned(),
        SIGTERM => "SIGTERM".to_owned(),
        other => format!("signal {other}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_interruption_deep_in_an_error_chain_exits_128_plus_the_signal_and_says_how_to_resume() {
        let err = anyhow::Error::new(Interrupted { signal: SIGTERM }).context("training faces/blurry");
        let (code, message) = report(&err).unwrap();
        assert_eq!(code, 143);
        assert!(message.starts_with("interrupted by SIGTERM"), "{message}");
        assert!(message.contains("Resume with the same command"), "{message}");
        let (code, _) = report(&Interrupted { signal: SIGINT }.into()).unwrap();
        assert_eq!(code, 130);
        assert!(report(&anyhow::anyhow!("disk full")).is_none());
    }
}
