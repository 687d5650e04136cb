//! The `blurry-to-clear` command line: parses arguments, then calls the library. Nothing else lives here.
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{bail, Result};
use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "blurry-to-clear",
    version,
    about = "Reproduce 'Learning from Faces and Favourite Toys' (ICDL 2025): train, evaluate, analyse, draw."
)]
struct Cli {
    /// The project: a clone of the artifact, holding paper/ and expected/ (default: found from the working
    /// directory upwards).
    #[arg(long, global = true, value_name = "DIR")]
    project: Option<PathBuf>,
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
        /// Where to write the blurred image: .png, or .jpg/.jpeg (quality 95); its directory must exist.
        output: PathBuf,
    },
    /// Train, evaluate and analyse every run of a profile, then gather its tables into runs/<profile>/results/.
    /// Finished stages are skipped; interrupted runs resume from their last checkpoint.
    Reproduce {
        /// Profile name: a file paper/protocol/<PROFILE>.toml (paper, paper-uniform, mini, tiny), or the path of
        /// a profile .toml file.
        #[arg(long)]
        profile: Option<String>,
        /// Only these runs: a dataset (`faces`) or a run (`faces/blurry`); repeatable.
        #[arg(long)]
        only: Vec<String>,
        /// Repeat every run with this many seeds (the profile's seed, then the next ones).
        #[arg(long, default_value_t = 1)]
        seeds: u64,
        /// Only the runs of this seed (0 to SEEDS-1): what one Slurm array task runs.
        #[arg(long)]
        seed_index: Option<u64>,
        #[arg(long, value_enum, default_value_t = blurry_to_clear::device::DeviceChoice::Auto)]
        device: blurry_to_clear::device::DeviceChoice,
        /// Directory holding the real datasets, one canonical root per dataset (paper/DATA.md); `paper` needs it.
        #[arg(long)]
        data_root: Option<PathBuf>,
        /// Where runs are written: <OUT>/<profile>/...
        #[arg(long, default_value = "runs")]
        out: PathBuf,
        /// libtorch CPU threads, at least 1 (default: libtorch's choice, one per core). Pin it for bit-identical
        /// CPU reruns.
        #[arg(long, value_parser = clap::value_parser!(i32).range(1..))]
        threads: Option<i32>,
        /// Arithmetic of the training steps: fp32 (the original's; TF32 convolutions on CUDA, as PyTorch's default)
        /// or bf16 (conv and linear layers in bfloat16, as CUDA autocast; a deviation, see paper/DEVIATIONS.md).
        #[arg(long, value_enum, default_value_t)]
        precision: blurry_to_clear::train::Precision,
        /// Skip drawing the figures and writing the report after the tables.
        #[arg(long)]
        no_figures: bool,
        /// Check everything the runs need (data, caches, one step and one evaluation batch of each run, disk)
        /// and estimate the wall time, without training.
        #[arg(long)]
        preflight: bool,
        /// Run here, or submit the runs as a Slurm job array and the tables as a job after it.
        #[arg(long, value_enum, default_value_t)]
        executor: blurry_to_clear::slurm::Executor,
        #[command(flatten)]
        slurm: blurry_to_clear::slurm::SlurmOptions,
    },
    /// Print where every run of a profile's run directory stands: done, running (epoch), failed (the error),
    /// stopped or not started; with the Slurm job and its state when the runs were submitted to Slurm.
    Status {
        /// A profile's run directory, e.g. runs/paper.
        run_dir: PathBuf,
        /// The profile, when the directory is not named after it.
        #[arg(long)]
        profile: Option<String>,
        /// Seeds of the runs (default: as many as the directory has).
        #[arg(long)]
        seeds: Option<u64>,
        /// Only these runs: a dataset (`faces`) or a run (`faces/blurry`); repeatable.
        #[arg(long)]
        only: Vec<String>,
        /// Exit non-zero unless every run is done (the check before the cross-run stages on a cluster).
        #[arg(long)]
        require_done: bool,
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
    /// Compare every number of a run's tables with the expected ones under the tolerances declared beside them;
    /// exits non-zero naming the rows that fall outside.
    Verify {
        /// A run directory (runs/<profile>, tables in its results/) or a directory of tables (expected/paper).
        run_dir: PathBuf,
        /// Directory of expected tables with a tolerances.toml; default expected/<profile of the run>.
        #[arg(long)]
        against: Option<PathBuf>,
    },
    /// Draw every figure SOURCE has data for as <id>.png, .svg and .json (provenance), rewriting only changed files.
    Figures {
        /// `paper` (the original's numbers in expected/paper) or a run directory such as runs/mini.
        #[arg(default_value = "paper")]
        source: String,
        /// Folder of the figures; default figures/paper for `paper`, RUN_DIR/figures for a run (refresh the
        /// committed ones of mini with `figures runs/mini --out figures/mini`).
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Write RUN_DIR/report.md: each table reproduced against expected (differences, verdicts) and each finding
    /// of paper/claims.toml evaluated on the run.
    Report {
        /// A run directory (runs/<profile>).
        run_dir: PathBuf,
        /// Directory of expected tables with a tolerances.toml; default expected/<profile of the run>.
        #[arg(long)]
        against: Option<PathBuf>,
    },
    /// Convert the original's reference CSVs into the project's table schemas (how expected/paper was made).
    ImportReference {
        /// Directory holding the reference CSVs (accuracy_vs_blur.csv, ...).
        reference_dir: PathBuf,
        /// Where to write the tables.
        #[arg(long, default_value = "expected/paper")]
        out: PathBuf,
    },
    /// Print the receptive-field sizes of a checkpoint as CSV (layer,measure,value): moment sizes of the five conv
    /// layers and the Gabor-fit summary of conv1.
    ReceptiveFields {
        /// A safetensors checkpoint with torchvision's AlexNet names.
        checkpoint: PathBuf,
        /// Random starting points of each Gabor fit (the original: 100).
        #[arg(long, default_value_t = 100)]
        restarts: usize,
        /// Seed of the starting points.
        #[arg(long, default_value_t = 0)]
        seed: u64,
    },
    /// Print the peak spatial-frequency statistics of a checkpoint as CSV (layer,statistic,value), in cycles/image
    /// at 224 px.
    SpatialFrequency {
        /// A safetensors checkpoint with torchvision's AlexNet names.
        checkpoint: PathBuf,
        /// Input resolution in px, at most 1024 (default: the run's, from run.json beside the checkpoints/
        /// directory holding CHECKPOINT; else 224).
        #[arg(long)]
        resolution: Option<i64>,
        /// Where to run the network.
        #[arg(long, value_enum, default_value_t)]
        device: blurry_to_clear::device::DeviceChoice,
    },
    /// Print effective-receptive-field summaries of a checkpoint over seeded noise as CSV (layer,statistic,value).
    Erf {
        /// A safetensors checkpoint with torchvision's AlexNet names.
        checkpoint: PathBuf,
        /// Input resolution in px, at most 1024 (default: the run's, from run.json beside the checkpoints/
        /// directory holding CHECKPOINT; else 224).
        #[arg(long)]
        resolution: Option<i64>,
        /// Number of noise images averaged over.
        #[arg(long, default_value_t = 32)]
        noise_images: usize,
        /// Seed of the noise images.
        #[arg(long, default_value_t = 0)]
        seed: u64,
        /// Where to run the network.
        #[arg(long, value_enum, default_value_t)]
        device: blurry_to_clear::device::DeviceChoice,
    },
    /// Train the CLEAR models of a synthetic profile on its stand-ins (no other regime: the stand-ins are
    /// calibrated on clear models only) and print each dataset's half-accuracy sigma beside the original's, with
    /// the clear accuracy at sigma 0 and the conv1 Gabor fits. How the stand-ins of mini were calibrated.
    CalibrateStandins {
        /// A synthetic profile: paper/protocol/<PROFILE>.toml or a .toml path (a candidate).
        #[arg(long, default_value = "mini")]
        profile: String,
        /// Only these datasets' clear models (repeatable; default: every dataset of the profile).
        #[arg(long)]
        only: Vec<blurry_to_clear::protocol::DatasetId>,
        /// Where the clear runs are written: <OUT>/<profile>/ (never a directory holding other regimes' runs).
        #[arg(long, default_value = "runs/calibration")]
        out: PathBuf,
        /// libtorch CPU threads, at least 1.
        #[arg(long, value_parser = clap::value_parser!(i32).range(1..))]
        threads: Option<i32>,
        #[arg(long, value_enum, default_value_t = blurry_to_clear::device::DeviceChoice::Auto)]
        device: blurry_to_clear::device::DeviceChoice,
    },
    /// Datasets: check, import, or write the embedded stand-ins (canonical layout: paper/DATA.md).
    Data {
        #[command(subcommand)]
        command: DataCommand,
    },
}

#[derive(Subcommand)]
enum DataCommand {
    /// Check a dataset root: layout, CSV columns, labels, every SHA-256 and that every image decodes.
    Verify {
        /// faces, toybox_instance, toybox_category, in12 or in100.
        #[arg(long)]
        dataset: blurry_to_clear::protocol::DatasetId,
        /// The dataset root (holding dataset.toml, <split>.csv and SHA256SUMS).
        #[arg(long)]
        root: PathBuf,
    },
    /// Write a profile's embedded stand-in of a dataset as PNG files in the canonical layout, then verify it.
    Synth {
        #[arg(long)]
        dataset: blurry_to_clear::protocol::DatasetId,
        /// Profile name (paper/protocol/<PROFILE>.toml) or a path to a profile .toml file.
        #[arg(long)]
        profile: String,
        /// New (or empty) directory to write.
        #[arg(long)]
        out: PathBuf,
    },
    /// Import a dataset into the canonical layout, then verify it.
    Import {
        #[arg(long)]
        dataset: blurry_to_clear::protocol::DatasetId,
        /// Format of SOURCE.
        #[arg(long = "from", value_enum)]
        format: blurry_to_clear::data::import::SourceFormat,
        /// Directory holding the dataset in that format.
        #[arg(long)]
        source: PathBuf,
        /// New (or empty) directory to write.
        #[arg(long)]
        out: PathBuf,
    },
}

fn main() -> ExitCode {
    // Die quietly of SIGPIPE when the reader of stdout goes away (`verify ... | head`), as Unix tools do; Rust
    // ignores the signal by default, and every later write would then fail or panic with "Broken pipe".
    // SAFETY: called first, before any other thread exists; SIG_DFL is a valid disposition for SIGPIPE.
    #[cfg(unix)]
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
    blurry_to_clear::logging::init();
    match run(Cli::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => match blurry_to_clear::interrupt::report(&err) {
            Some((code, message)) => {
                eprintln!("{message}");
                ExitCode::from(code)
            }
            None => {
                eprintln!("error: {err:#}");
                ExitCode::FAILURE
            }
        },
    }
}

fn run(cli: Cli) -> Result<()> {
    if let Some(project) = &cli.project {
        blurry_to_clear::provenance::use_project(project)?;
    }
    match cli.command {
        Command::Reproduce {
            profile,
            only,
            seeds,
            seed_index,
            device,
            data_root,
            out,
            threads,
            precision,
            no_figures,
            preflight,
            executor,
            slurm,
        } => {
            let Some(profile) = profile else {
                let dir = blurry_to_clear::protocol::protocol_dir()?;
                bail!(
                    "reproduce needs --profile: one of {} (the files of {}), or the path of a profile .toml file",
                    blurry_to_clear::protocol::profile_names().join(", "),
                    dir.display()
                );
            };
            slurm.require_slurm(executor)?;
            let options = blurry_to_clear::pipeline::ReproduceOptions {
                profile,
                only,
                seeds,
                seed_index,
                device,
                data_root,
                out,
                threads,
                precision,
                figures: !no_figures,
                code: blurry_to_clear::stage::CodeHashes::compiled(),
            };
            match (preflight, executor) {
                (true, _) => blurry_to_clear::preflight::preflight(&options),
                (false, blurry_to_clear::slurm::Executor::Slurm) => blurry_to_clear::slurm::submit(&options, &slurm),
                (false, blurry_to_clear::slurm::Executor::Local) => {
                    blurry_to_clear::interrupt::install()?;
                    blurry_to_clear::pipeline::reproduce(&options)
                }
            }
        }
        Command::Status { run_dir, profile, seeds, only, require_done } => {
            blurry_to_clear::status::run(&run_dir, profile.as_deref(), seeds, &only, require_done)
        }
        Command::Blur { sigma, input, output } => blurry_to_clear::blur::blur_file(sigma, &input, &output),
        Command::Plan { profile, dataset, regime, steps_per_epoch } => blurry_to_clear::schedule::print_plan(
            &profile,
            &dataset,
            &regime,
            steps_per_epoch,
            &mut std::io::stdout().lock(),
        ),
        Command::Figures { source, out } => blurry_to_clear::figures::run(&source, out.as_deref()),
        Command::Report { run_dir, against } => blurry_to_clear::report::run(&run_dir, against.as_deref()),
        Command::Verify { run_dir, against } => blurry_to_clear::verify::run(&run_dir, against.as_deref()),
        Command::ImportReference { reference_dir, out } => blurry_to_clear::results::print_import(&reference_dir, &out),
        Command::ReceptiveFields { checkpoint, restarts, seed } => {
            let gabor = blurry_to_clear::analysis::gabor::GaborConfig { restarts, seed, ..Default::default() };
            blurry_to_clear::analysis::print_receptive_fields(&checkpoint, &gabor, &mut std::io::stdout().lock())
        }
        Command::SpatialFrequency { checkpoint, resolution, device } => {
            let resolution = blurry_to_clear::analysis::resolution_for(&checkpoint, resolution)?;
            let device = device.resolve()?;
            let mut out = std::io::stdout().lock();
            blurry_to_clear::analysis::print_spatial_frequency(&checkpoint, resolution, device, &mut out)
        }
        Command::Erf { checkpoint, resolution, noise_images, seed, device } => {
            let erf = blurry_to_clear::analysis::erf::ErfConfig { noise_images, seed, ..Default::default() };
            let resolution = blurry_to_clear::analysis::resolution_for(&checkpoint, resolution)?;
            let device = device.resolve()?;
            blurry_to_clear::analysis::print_erf(&checkpoint, resolution, device, &erf, &mut std::io::stdout().lock())
        }
        Command::CalibrateStandins { profile, only, out, threads, device } => {
            blurry_to_clear::interrupt::install()?;
            let opts = blurry_to_clear::calibrate::CalibrationOptions { profile, datasets: only, out, threads, device };
            blurry_to_clear::calibrate::run(&opts)
        }
        Command::Data { command: DataCommand::Verify { dataset, root } } => {
            blurry_to_clear::data::verify::run(dataset, &root)
        }
        Command::Data { command: DataCommand::Synth { dataset, profile, out } } => {
            blurry_to_clear::data::stand_in::write(dataset, &profile, &out)
        }
        Command::Data { command: DataCommand::Import { dataset, format, source, out } } => {
            blurry_to_clear::data::import::import(dataset, format, &source, &out)
        }
    }
}
