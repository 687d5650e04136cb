//! The `blurry-to-clear` command line: parses arguments (clap lives here and nowhere else), maps them onto the
//! library's types and calls the command of [`commands`], which calls the library and prints what it returns.
mod commands;

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Result;
use clap::{Parser, Subcommand, ValueEnum};

use blurry_to_clear::analysis::gabor::GaborKernelScale;
use blurry_to_clear::calibrate::CalibrationOptions;
use blurry_to_clear::data::import::SourceFormat;
use blurry_to_clear::device::DeviceChoice;
use blurry_to_clear::slurm::SlurmOptions;
use blurry_to_clear::train::Precision;
use blurry_to_clear::vocab::DatasetId;

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
        #[arg(long, value_enum, default_value_t = DeviceArg::Auto)]
        device: DeviceArg,
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
        precision: PrecisionArg,
        /// Skip drawing the figures and writing the report after the tables.
        #[arg(long)]
        no_figures: bool,
        /// Check everything the runs need (data, caches, one step and one evaluation batch of each run, disk)
        /// and estimate the wall time, without training.
        #[arg(long)]
        preflight: bool,
        /// Run here, or submit the runs as a Slurm job array and the tables as a job after it.
        #[arg(long, value_enum, default_value_t)]
        executor: Executor,
        #[command(flatten)]
        slurm: SlurmArgs,
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
        /// The units each kernel is fitted in: raw weights (the original, `paper`) or each kernel over its largest
        /// absolute value (`mini` and `tiny`, whose kernels are analysed at their initialisation's scale).
        #[arg(long, value_enum, default_value_t = KernelScaleArg::Raw)]
        kernel_scale: KernelScaleArg,
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
        device: DeviceArg,
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
        device: DeviceArg,
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
        only: Vec<DatasetId>,
        /// Where the clear runs are written: <OUT>/<profile>/ (never a directory holding other regimes' runs).
        #[arg(long, default_value = "runs/calibration")]
        out: PathBuf,
        /// libtorch CPU threads, at least 1.
        #[arg(long, value_parser = clap::value_parser!(i32).range(1..))]
        threads: Option<i32>,
        #[arg(long, value_enum, default_value_t = DeviceArg::Auto)]
        device: DeviceArg,
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
        dataset: DatasetId,
        /// The dataset root (holding dataset.toml, <split>.csv and SHA256SUMS).
        #[arg(long)]
        root: PathBuf,
    },
    /// Write a profile's embedded stand-in of a dataset as PNG files in the canonical layout, then verify it.
    Synth {
        #[arg(long)]
        dataset: DatasetId,
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
        dataset: DatasetId,
        /// Format of SOURCE.
        #[arg(long = "from", value_enum)]
        format: SourceFormatArg,
        /// Directory holding the dataset in that format.
        #[arg(long)]
        source: PathBuf,
        /// New (or empty) directory to write.
        #[arg(long)]
        out: PathBuf,
    },
}

/// `--device`, mapped onto [`DeviceChoice`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, ValueEnum)]
enum DeviceArg {
    /// CUDA when libtorch finds a GPU, otherwise CPU.
    #[default]
    Auto,
    Cpu,
    Cuda,
}

impl From<DeviceArg> for DeviceChoice {
    fn from(arg: DeviceArg) -> DeviceChoice {
        match arg {
            DeviceArg::Auto => DeviceChoice::Auto,
            DeviceArg::Cpu => DeviceChoice::Cpu,
            DeviceArg::Cuda => DeviceChoice::Cuda,
        }
    }
}

/// `--kernel-scale`, mapped onto [`GaborKernelScale`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum KernelScaleArg {
    Raw,
    UnitPeak,
}

impl From<KernelScaleArg> for GaborKernelScale {
    fn from(arg: KernelScaleArg) -> GaborKernelScale {
        match arg {
            KernelScaleArg::Raw => GaborKernelScale::Raw,
            KernelScaleArg::UnitPeak => GaborKernelScale::UnitPeak,
        }
    }
}

/// `--precision`, mapped onto [`Precision`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, ValueEnum)]
enum PrecisionArg {
    /// Float32 throughout, as the original. On CUDA, libtorch (like PyTorch) lets cuDNN run float32 convolutions
    /// in TF32 by default, which is what the original's A100 did; the classifier's matmul stays float32.
    #[default]
    Fp32,
    /// Conv and linear layers in bfloat16, as CUDA autocast runs them (inputs and weights cast, float32 master
    /// weights, loss and Adam). Meant for CUDA; allowed on the CPU (for checks), where it is not faster.
    Bf16,
}

impl From<PrecisionArg> for Precision {
    fn from(arg: PrecisionArg) -> Precision {
        match arg {
            PrecisionArg::Fp32 => Precision::Fp32,
            PrecisionArg::Bf16 => Precision::Bf16,
        }
    }
}

/// Where `reproduce` runs the profile's runs.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, ValueEnum)]
enum Executor {
    /// In this process, one run after another.
    #[default]
    Local,
    /// As a Slurm job array (one task per run and seed), then a job for the tables, figures and report.
    Slurm,
}

/// The options of `--executor slurm`, mapped onto [`SlurmOptions`].
#[derive(Clone, Debug, Default, PartialEq, clap::Args)]
#[command(next_help_heading = "Slurm (with --executor slurm)")]
struct SlurmArgs {
    /// Slurm partition of the jobs.
    #[arg(long)]
    partition: Option<String>,
    /// Slurm account the jobs are charged to.
    #[arg(long)]
    account: Option<String>,
    /// GPUs of each run's task (`--gres=gpu:N`); default 1 for a CUDA profile (paper), 0 for a CPU one (tiny).
    #[arg(long, value_name = "N")]
    gpus_per_run: Option<u32>,
    /// Time limit of each task, H:MM:SS or D-HH:MM:SS; a task stops safely 2 minutes before it and requeues.
    #[arg(long, value_name = "H:MM:SS")]
    time: Option<String>,
    /// Run at most K tasks at once (the array's %K).
    #[arg(long, value_name = "K")]
    max_parallel: Option<u32>,
    /// An sbatch option for both jobs, passed as is (e.g. --sbatch-arg=--qos=long); repeatable.
    #[arg(long = "sbatch-arg", value_name = "ARG", allow_hyphen_values = true)]
    sbatch_args: Vec<String>,
    /// Print the scripts that would be submitted; submit nothing.
    #[arg(long)]
    dry_run: bool,
}

impl From<SlurmArgs> for SlurmOptions {
    fn from(arg: SlurmArgs) -> SlurmOptions {
        SlurmOptions {
            partition: arg.partition,
            account: arg.account,
            gpus_per_run: arg.gpus_per_run,
            time: arg.time,
            max_parallel: arg.max_parallel,
            sbatch_args: arg.sbatch_args,
            dry_run: arg.dry_run,
        }
    }
}

/// `data import --from`, mapped onto [`SourceFormat`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum SourceFormatArg {
    /// The original's `dev|train|val|test.pickle` + `.csv` pairs.
    Original,
    /// The ImageNet-100 Kaggle layout: `train.X1..X4/<wnid>/`, `val.X/<wnid>/`, optional `Labels.json`.
    #[value(name = "imagenet100-kaggle")]
    Imagenet100Kaggle,
    /// `<split>/<class>/<image>` with splits `train` (or `dev`), `val`, `test`.
    FolderPerClass,
}

impl From<SourceFormatArg> for SourceFormat {
    fn from(arg: SourceFormatArg) -> SourceFormat {
        match arg {
            SourceFormatArg::Original => SourceFormat::Original,
            SourceFormatArg::Imagenet100Kaggle => SourceFormat::Imagenet100Kaggle,
            SourceFormatArg::FolderPerClass => SourceFormat::FolderPerClass,
        }
    }
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
            let profile = commands::reproduce::named_profile(profile)?;
            let slurm = SlurmOptions::from(slurm);
            if executor == Executor::Local {
                commands::reproduce::refuse_slurm_options(&slurm)?;
            }
            let options = blurry_to_clear::selection::ReproduceOptions {
                profile,
                only,
                seeds,
                seed_index,
                device: device.into(),
                data_root,
                out,
                threads,
                precision: precision.into(),
                figures: !no_figures,
                code: blurry_to_clear::stage::CodeHashes::compiled(),
            };
            match (preflight, executor) {
                (true, _) => commands::reproduce::preflight(&options),
                (false, Executor::Slurm) => commands::reproduce::submit(&options, &slurm),
                (false, Executor::Local) => commands::reproduce::local(&options),
            }
        }
        Command::Status { run_dir, profile, seeds, only, require_done } => {
            commands::status::run(&run_dir, profile.as_deref(), seeds, &only, require_done)
        }
        Command::Blur { sigma, input, output } => commands::blur::run(sigma, &input, &output),
        Command::Plan { profile, dataset, regime, steps_per_epoch } => {
            commands::plan::run(&profile, &dataset, &regime, steps_per_epoch)
        }
        Command::Figures { source, out } => commands::tables::figures(&source, out.as_deref()),
        Command::Report { run_dir, against } => commands::tables::report(&run_dir, against.as_deref()),
        Command::Verify { run_dir, against } => commands::tables::verify(&run_dir, against.as_deref()),
        Command::ImportReference { reference_dir, out } => commands::tables::import_reference(&reference_dir, &out),
        Command::ReceptiveFields { checkpoint, restarts, seed, kernel_scale } => {
            commands::analyses::receptive_fields(&checkpoint, restarts, seed, kernel_scale.into())
        }
        Command::SpatialFrequency { checkpoint, resolution, device } => {
            commands::analyses::spatial_frequency(&checkpoint, resolution, device.into())
        }
        Command::Erf { checkpoint, resolution, noise_images, seed, device } => {
            commands::analyses::erf(&checkpoint, resolution, noise_images, seed, device.into())
        }
        Command::CalibrateStandins { profile, only, out, threads, device } => {
            blurry_to_clear::interrupt::install()?;
            commands::calibrate::run(CalibrationOptions {
                profile,
                datasets: only,
                out,
                threads,
                device: device.into(),
            })
        }
        Command::Data { command: DataCommand::Verify { dataset, root } } => commands::data::verify(dataset, &root),
        Command::Data { command: DataCommand::Synth { dataset, profile, out } } => {
            commands::data::synth(dataset, &profile, &out)
        }
        Command::Data { command: DataCommand::Import { dataset, format, source, out } } => {
            commands::data::import(dataset, format.into(), &source, &out)
        }
    }
}
