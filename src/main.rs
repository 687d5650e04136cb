//! The `blurry-to-clear` command line: parses arguments, then calls the library. Nothing else lives here.
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Result;
use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(name = "blurry-to-clear", version, about = "Reproduce 'Learning from Faces and Favourite Toys' (ICDL 2025): train, evaluate, analyse, draw.")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Blur one image file with the original's Gaussian blur (kernel 2*ceil(2*sigma)+1, reflect border).
    Blur {
        /// Standard deviation in pixels of INPUT.
        #[arg(long)]
        sigma: f64,
        /// A PNG or JPEG image.
        input: PathBuf,
        /// Where to write the blurred image (PNG).
        output: PathBuf,
    },
    /// Print one resolved run as CSV (epoch,iteration,sigma,lr), one row per training iteration.
    Plan {
        /// Profile name: a file paper/protocol/<PROFILE>.toml.
        #[arg(long)]
        profile: String,
        /// Dataset: faces, toybox_instance, toybox_category, in12, in100.
        #[arg(long)]
        dataset: String,
        /// Regime: clear, blurry, blurry_to_clear.
        #[arg(long)]
        regime: String,
        /// Iterations per epoch; by default derived from the protocol's split size, batch size and drop_last.
        #[arg(long)]
        steps_per_epoch: Option<u64>,
    },
}

fn main() -> ExitCode {
    blurry_to_clear::logging::init();
    match run(Cli::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli) -> Result<()> {
    match cli.command {
        Command::Blur { sigma, input, output } => blurry_to_clear::blur::blur_file(sigma, &input, &output),
        Command::Plan { profile, dataset, regime, steps_per_epoch } => {
            blurry_to_clear::schedule::print_plan(&profile, &dataset, &regime, steps_per_epoch, &mut std::io::stdout().lock())
        }
    }
}
