//! `just bench`: the paper's training step on this machine, side by side with the compute limit and with the
//! original's pipeline (issue 10), plus evaluation, the blur alone and peak memory. Prints numbers and writes
//! `runs/bench/<device>.json`; asserts nothing about time.
//!
//! Per size (`--sizes 64:73,224:256`: training side and stored side), batch `--batch` (64), each measured with
//! warm-up steps and then repetitions (median, min and max images/s):
//! - `pure_compute`: [`Learner::step`] (forward, backward, Adam) on one resident, pre-normalised batch: the limit;
//! - `pipeline`: the step as `train` runs it, from uint8 images at the stored size like the decoded cache, resident
//!   on the device: [`train::batch_at`], [`train::training_input`] (augmentation, then the blur at the blurry
//!   regime's sigma 8, scaled to the size: the most expensive regime) and [`Learner::step`];
//! - `pipeline_sigma0`: the same at sigma 0 (the clear regime);
//! - `original`: the original's pipeline in Python (`benches/original.py`, run with `.venv/bin/python`), or the
//!   reason it is unavailable;
//! - `evaluation`: [`evaluate::scores`] over a resident test split at sigma 0 and 8 (images/s per sigma);
//! - `blur`: [`blur::blur_uniform`] of a batch at sigma 1, 4, 8 and 32 (224-px sigmas, scaled), beside the original's
//!   per-image loop from `original.py`.
//!
//! Then, once:
//! - `cache`: filling the decoded cache, each JPEG under `--photos` decoded and resized to 256 px on both sides
//!   ([`cache::decode_training_image`], the training split's transform) on one core, against Pillow on the same
//!   files (`benches/pillow_cache.py`); the ratio is `ratios.cache["build/pillow"]`;
//! - `analyses`: the analyse stage on one checkpoint at 224 px with the `paper` profile's settings (Gabor fits to
//!   convergence on every core, moments, spatial frequency and ERFs on the device), seconds by analysis, of a freshly
//!   initialised network (a trained one's Gabor fits may converge in another number of iterations);
//! - peak resident memory of `reproduce --profile tiny` (a child process) and of reading a large synthetic cache
//!   (a child process each for this project's reader and for `Tensor::read_safetensors`, the reader it replaced).
//!
//! `cargo bench --profile dev --bench pipeline [-- OPTIONS]` reuses the dev build of the tests: the training step
//! happens inside libtorch, and the CPU loops that are not (the augmentation's and the blur's in `pixels`, the
//! JPEG decoder and `image`) are optimised in the dev profile too (Cargo.toml). `scripts/gpu-check.sh` runs it
//! with `--device cuda --sizes 224:256 --batch 256 --precision fp32,bf16 --project paper`.
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::str::FromStr;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use blurry_to_clear::analysis::{self, AnalysisInputs, AnalysisSeconds};
use blurry_to_clear::augment::{self, AugmentSpec};
use blurry_to_clear::data::{cache, Split};
use blurry_to_clear::device::DeviceChoice;
use blurry_to_clear::draws::Draws;
use blurry_to_clear::evaluate::{self, EvalLoader};
use blurry_to_clear::model::AlexNet;
use blurry_to_clear::optim::{AdamConfig, AdamSet};
use blurry_to_clear::protocol::Profile;
use blurry_to_clear::results::RunKey;
use blurry_to_clear::train::{self, Learner, Precision};
use blurry_to_clear::vocab::{DatasetId, Regime};
use blurry_to_clear::{blur, preflight};
use clap::Parser;
use serde_json::{json, Value};
use tch::{nn, Device, Kind, Tensor};

/// Classes of the benchmark's model (ImageNet-100's; the classifier is a small part of the cost).
const CLASSES: i64 = 100;
/// The blurry regime's training sigma and the strongest test sigma of the study, in 224-px protocol pixels.
const SIGMA: f64 = 8.0;
/// The blur sigmas measured alone, in 224-px protocol pixels.
const BLUR_SIGMAS: [f64; 4] = [1.0, 4.0, 8.0, 32.0];
/// Images of the synthetic cache whose loading is measured (at 256 px: 805 MB).
const CACHE_IMAGES: i64 = 4096;

#[derive(Parser)]
#[command(about = "Throughput of the training step, the input pipeline and evaluation; peak memory")]
struct Options {
    /// auto, cpu or cuda.
    #[arg(long, default_value = "cpu")]
    device: DeviceChoice,
    /// Training side and stored side of each measured size, e.g. `64:73,224:256`.
    #[arg(long, value_delimiter = ',', default_value = "64:73,224:256")]
    sizes: Vec<Size>,
    #[arg(long, default_value_t = 64)]
    batch: i64,
    /// Evaluation batch size (the `paper` profile's `eval_batch_size`).
    #[arg(long, default_value_t = 256)]
    eval_batch: i64,
    /// Precisions of the training step (`pure_compute` and `pipeline`): fp32, bf16.
    #[arg(long, value_delimiter = ',', default_value = "fp32")]
    precision: Vec<Precision>,
    /// Warm-up steps before each measurement.
    #[arg(long, default_value_t = 3)]
    warmup: usize,
    /// Fewest repetitions of each measurement; more are made while they take under `--seconds`.
    #[arg(long, default_value_t = 5)]
    repeats: usize,
    /// Time a measurement may take, beyond its fewest repetitions.
    #[arg(long, default_value_t = 6.0)]
    seconds: f64,
    /// Parts to leave out.
    #[arg(long, value_delimiter = ',', value_enum)]
    skip: Vec<Part>,
    /// Where to write the results; default runs/bench/<device>.json.
    #[arg(long)]
    out: Option<PathBuf>,
    /// Project the wall time of this profile's runs from the measured rates (the last size's).
    #[arg(long)]
    project: Option<String>,
    /// Photos whose decoding into the cache is timed against Pillow: every .jpg/.jpeg under this directory (default:
    /// the test fixtures' small synthetic JPEGs; real photos give the number that matters, see the README).
    #[arg(long)]
    photos: Option<PathBuf>,
    /// Passed by `cargo bench`.
    #[arg(long, hide = true)]
    bench: bool,
    /// Child mode: read this cache file with `--reader` and print the process's memory as JSON.
    #[arg(long, hide = true)]
    load_cache: Option<PathBuf>,
    #[arg(long, hide = true, value_enum, default_value_t = Reader::Project)]
    reader: Reader,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
enum Part {
    Original,
    Evaluation,
    Blur,
    Cache,
    Analyses,
    Memory,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
enum Reader {
    /// `data::cache::read_cache`.
    Project,
    /// `Tensor::read_safetensors`, the reader `read_cache` used before.
    Tch,
}

#[derive(Clone, Copy, Debug)]
struct Size {
    side: i64,
    stored: i64,
}

impl FromStr for Size {
    type Err = anyhow::Error;
    fn from_str(s: &str) -> Result<Size> {
        let (side, stored) = s.split_once(':').context("a size is SIDE:STORED, e.g. 224:256")?;
        Ok(Size { side: side.parse()?, stored: stored.parse()? })
    }
}

/// Images/s over the repetitions of one measurement.
#[derive(Clone, Copy, Debug)]
struct Rate {
    median: f64,
    min: f64,
    max: f64,
    repeats: usize,
}

impl Rate {
    fn json(&self) -> Value {
        json!({"median": self.median, "min": self.min, "max": self.max, "repeats": self.repeats})
    }
}

/// How long a measurement runs.
#[derive(Clone, Copy, Debug)]
struct Budget {
    warmup: usize,
    repeats: usize,
    seconds: f64,
}

impl Options {
    fn budget(&self) -> Budget {
        Budget { warmup: self.warmup, repeats: self.repeats, seconds: self.seconds }
    }
}

/// Run `work` (which handles `images` images) `warmup` times, then at least `repeats` times and for as long as
/// `seconds` allows, synchronising `device` around each repetition.
fn measure(budget: Budget, device: Device, images: f64, mut work: impl FnMut() -> Result<()>) -> Result<Rate> {
    for _ in 0..budget.warmup {
        work()?;
    }
    synchronise(device);
    let started = Instant::now();
    let mut rates = Vec::new();
    while rates.len() < budget.repeats || (started.elapsed().as_secs_f64() < budget.seconds && rates.len() < 200) {
        let t = Instant::now();
        work()?;
        synchronise(device);
        rates.push(images / t.elapsed().as_secs_f64());
    }
    rates.sort_by(f64::total_cmp);
    let mid = rates.len() / 2;
    let median = if rates.len() % 2 == 1 { rates[mid] } else { (rates[mid - 1] + rates[mid]) / 2.0 };
    Ok(Rate { median, min: rates[0], max: rates[rates.len() - 1], repeats: rates.len() })
}

fn synchronise(device: Device) {
    if let Device::Cuda(index) = device {
        tch::Cuda::synchronize(index as i64);
    }
}

fn spec(side: i64) -> AugmentSpec {
    // ImageNet-100's recipe: its statistics and random erasing.
    AugmentSpec { size: side, mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225], random_erasing: true }
}

/// `n` uint8 images `[n, 3, side, side]` of random colours with smooth structure (so that every colour operation
/// has work), and labels, as the decoded cache holds them. The fine noise is one pattern shared by every image, so
/// that the float temporaries stay small.
fn synthetic_split(n: i64, side: i64, seed: i64) -> Split {
    let mut draws = Draws::new(seed);
    let coarse = draws.uniform(&[n, 3, 8, 8], (0.0, 255.0)).to_kind(Kind::Float);
    let smooth = coarse.upsample_bilinear2d([side, side], false, None, None);
    let noise = draws.uniform(&[1, 3, side, side], (-20.0, 20.0)).to_kind(Kind::Float);
    let images = (smooth + noise).clamp(0.0, 255.0).to_kind(Kind::Uint8);
    let labels: Vec<i64> = (0..n).map(|_| draws.up_to(CLASSES - 1)).collect();
    Split { images, labels: Tensor::from_slice(&labels) }
}

fn fresh_model(device: Device) -> (nn::VarStore, AlexNet) {
    let vs = nn::VarStore::new(device);
    let model = AlexNet::new(&vs.root(), CLASSES, &mut Draws::new(0));
    (vs, model)
}

/// `pure_compute`, `pipeline` and `pipeline_sigma0` at one size and precision.
fn training(opts: &Options, device: Device, size: Size, precision: Precision) -> Result<Value> {
    let (vs, model) = fresh_model(device);
    let mut adam = AdamSet::new(&vs, AdamConfig::pytorch_default(1e-5));
    let mut learner = Learner { model: &model, adam: &mut adam, precision };
    let batch = opts.batch;
    let lr = 1e-4;

    let resident = synthetic_split(batch, size.side, 1);
    let input = augment::test_batch(&resident.images, &spec(size.side))?.to_device(device);
    let labels = resident.labels.to_device(device);
    let pure = measure(opts.budget(), device, batch as f64, || {
        let _ = learner.step(&input, &labels, lr, 1);
        Ok(())
    })?;

    // Four batches of stored images on the device, stepped through in a drawn order, as `train` does.
    let split = synthetic_split(4 * batch, size.stored, 2);
    let split = Split { images: split.images.to_device(device), labels: split.labels.to_device(device) };
    let mut draws = Draws::new(3);
    let order = Tensor::from_slice(&draws.permutation(4 * batch as usize));
    let augment_spec = spec(size.side);
    let mut pipeline_at = |sigma_px: f64| {
        let mut step = 0;
        measure(opts.budget(), device, batch as f64, || {
            let (images, labels) = train::batch_at(&split, &order, step % 4, batch, device);
            step += 1;
            let input = train::training_input(&images, &augment_spec, sigma_px, &mut draws)?;
            let _ = learner.step(&input, &labels, lr, 1);
            Ok(())
        })
    };
    let sigma_px = SIGMA * size.side as f64 / 224.0;
    let pipeline = pipeline_at(sigma_px)?;
    let pipeline_sigma0 = pipeline_at(0.0)?;
    println!(
        "  {:>3} px {precision:?}: pure_compute {:>7.1}, pipeline (sigma {sigma_px:.2}) {:>7.1}, pipeline (sigma 0) \
         {:>7.1} images/s",
        size.side, pure.median, pipeline.median, pipeline_sigma0.median
    );
    Ok(json!({
        "pure_compute": pure.json(),
        "pipeline": pipeline.json(),
        "pipeline_sigma_px": sigma_px,
        "pipeline_sigma0": pipeline_sigma0.json(),
    }))
}

/// `evaluate::scores` over a resident test split at sigma 0 and 8 (scaled): images/s per sigma.
fn evaluation(opts: &Options, device: Device, size: Size) -> Result<Rate> {
    let (_vs, model) = fresh_model(device);
    let images = if size.side > 128 { opts.eval_batch } else { 4 * opts.eval_batch };
    let split = synthetic_split(images, size.side, 4);
    let split = Split { images: split.images.to_device(device), labels: split.labels.to_device(device) };
    let loader = EvalLoader { batch_size: opts.eval_batch, drop_last: false, device };
    let sigmas = [0.0, SIGMA];
    let scale = size.side as f64 / 224.0;
    let budget = Budget { warmup: 1, repeats: 3, ..opts.budget() };
    let rate = measure(budget, device, (images * sigmas.len() as i64) as f64, || {
        evaluate::scores(&model, &split, &sigmas, scale, &spec(size.side), &loader).map(|_| ())
    })?;
    println!(
        "  {:>3} px evaluation (sigma 0 and {:.2}): {:>7.1} images/s per sigma",
        size.side,
        sigmas[1] * scale,
        rate.median
    );
    Ok(rate)
}

/// The batched blur alone at each of [`BLUR_SIGMAS`] (scaled).
fn blur_alone(opts: &Options, device: Device, size: Size) -> Result<BTreeMap<String, Rate>> {
    let x = augment::test_batch(&synthetic_split(opts.batch, size.side, 5).images, &spec(size.side))?.to_device(device);
    let short = Budget { warmup: 1, seconds: opts.seconds / 4.0, ..opts.budget() };
    let mut rates = BTreeMap::new();
    for sigma in BLUR_SIGMAS {
        let rate = measure(short, device, opts.batch as f64, || {
            blur::blur_uniform(&x, sigma * size.side as f64 / 224.0).map(|_| ())
        })?;
        rates.insert(format!("{sigma}"), rate);
    }
    let line: Vec<String> = rates.iter().map(|(s, r)| format!("sigma {s}: {:.0}", r.median)).collect();
    println!("  {:>3} px blur alone (224-px sigmas): {} images/s", size.side, line.join(", "));
    Ok(rates)
}

/// This thread's CPU time (user + system), in seconds: a timing that other processes on a loaded machine distort
/// far less than the wall clock.
fn thread_cpu_seconds() -> f64 {
    let mut now = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: `clock_gettime` writes one timespec into the valid, exclusively borrowed `now`.
    unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut now) };
    now.tv_sec as f64 + now.tv_nsec as f64 * 1e-9
}

/// Images per second of wall time and per second of this thread's CPU time, of `passes` passes over `blobs`, each
/// image decoded and resized to 256 px by this project's cache code.
fn decode_passes(blobs: &[Vec<u8>], passes: usize) -> Result<Vec<(f64, f64)>> {
    (0..passes)
        .map(|_| {
            let (started, cpu) = (Instant::now(), thread_cpu_seconds());
            for blob in blobs {
                std::hint::black_box(cache::decode_training_image(blob, 256)?);
            }
            let n = blobs.len() as f64;
            Ok((n / started.elapsed().as_secs_f64(), n / (thread_cpu_seconds() - cpu)))
        })
        .collect()
}

fn median_of(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

/// `cache`: decoding and resizing the JPEGs under `--photos` into the cache's layout, this project against Pillow,
/// one core each, median of 3 passes (the files are read first). The ratio compares images per second of CPU time
/// (user + system of the working thread), which a loaded machine distorts less than the wall clock; both are
/// reported.
fn cache_build(opts: &Options, dir: &Path) -> Result<Value> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let photos = opts.photos.clone().unwrap_or_else(|| root.join("tests/fixtures"));
    let mut files: Vec<PathBuf> = walkdir::WalkDir::new(&photos)
        .into_iter()
        .filter_map(|e| e.ok())
        .map(|e| e.into_path())
        .filter(|p| {
            p.extension()
                .and_then(|e| e.to_str())
                .is_some_and(|e| e.eq_ignore_ascii_case("jpg") || e.eq_ignore_ascii_case("jpeg"))
        })
        .collect();
    files.sort();
    if files.is_empty() {
        bail!("--photos {}: no .jpg or .jpeg files under it", photos.display());
    }
    let blobs: Vec<Vec<u8>> = files
        .iter()
        .map(|f| std::fs::read(f).with_context(|| format!("cannot read {}", f.display())))
        .collect::<Result<_>>()?;
    let megapixels: f64 = blobs
        .iter()
        .filter_map(|b| blurry_to_clear::data::layout::decode_rgb(b).ok())
        .map(|i| f64::from(i.width() * i.height()) / 1e6)
        .sum::<f64>()
        / blobs.len() as f64;
    decode_passes(&blobs, 1)?;
    let passes = decode_passes(&blobs, 3)?;
    let ours = median_of(passes.iter().map(|p| p.0).collect());
    let ours_cpu = median_of(passes.iter().map(|p| p.1).collect());
    let list = dir.join("photos.txt");
    let names: Vec<String> = files.iter().map(|f| f.display().to_string()).collect();
    std::fs::write(&list, names.join("\n"))?;
    let out = dir.join("pillow-cache.json");
    let mut command = Command::new(root.join(".venv/bin/python"));
    command.arg(root.join("benches/pillow_cache.py")).arg("--files").arg(&list);
    command.args(["--side", "256", "--passes", "3", "--out"]).arg(&out);
    let pillow = run_with_timeout(&mut command, Duration::from_secs(300)).and_then(|()| {
        let text =
            std::fs::read_to_string(&out).with_context(|| format!("pillow_cache.py wrote no {}", out.display()))?;
        serde_json::from_str::<Value>(&text).with_context(|| format!("{} is not JSON", out.display()))
    });
    let pillow = pillow.unwrap_or_else(|e| json!({"unavailable": format!("{e:#}")}));
    let (pillow_rate, pillow_cpu) = (pillow["median"].as_f64(), pillow["median_cpu"].as_f64());
    let show = |wall: Option<f64>, cpu: Option<f64>| match (wall, cpu) {
        (Some(wall), Some(cpu)) => format!("{wall:.0} images/s ({cpu:.0} per CPU-second)"),
        _ => format!("unavailable: {}", pillow["unavailable"]),
    };
    println!(
        "  cache build ({} JPEGs under {}, {megapixels:.2} megapixels on average, to 256 px, one core): {}, Pillow {}",
        blobs.len(),
        photos.display(),
        show(Some(ours), Some(ours_cpu)),
        show(pillow_rate, pillow_cpu)
    );
    Ok(json!({"photos": photos.display().to_string(), "images": blobs.len(), "mean_megapixels": megapixels,
              "side": 256, "images_per_s": ours, "images_per_cpu_s": ours_cpu, "pillow": pillow,
              "build/pillow": pillow_cpu.map(|p| ours_cpu / p)}))
}

/// `analyses`: the analyse stage on one checkpoint of a fresh network at 224 px, `paper`'s analysis settings.
fn analyses(device: Device) -> Result<(Value, AnalysisSeconds)> {
    let profile = Profile::load("paper")?;
    let settings = &profile.analysis;
    let (vs, model) = fresh_model(device);
    let side = i64::from(profile.resolution);
    let images = synthetic_split(settings.erf_images as i64, side, 7).images;
    let erf_images = augment::test_batch(&images, &spec(side))?.to_device(device);
    let inputs = AnalysisInputs { spec: settings, resolution: side, device, erf_images: &erf_images };
    let key =
        RunKey { profile: profile.name.clone(), seed: 0, dataset: DatasetId::In100, regime: Regime::BlurryToClear };
    let (_, seconds) = analysis::analyse_checkpoint_timed(&key, profile.epochs, &vs, &model, &inputs)?;
    println!(
        "  analyses of one checkpoint at {side} px: {:.1} s (rf moments {:.2} s, Gabor fits {:.1} s on {} cores, \
         spatial frequency {:.1} s, ERF {:.1} s)",
        seconds.total(),
        seconds.rf_moments,
        seconds.gabor,
        std::thread::available_parallelism().map_or(1, |n| n.get()),
        seconds.spatial_frequency,
        seconds.erf
    );
    let value = json!({"side": side, "seconds": seconds.total(), "rf_moments": seconds.rf_moments,
                       "gabor": seconds.gabor, "spatial_frequency": seconds.spatial_frequency, "erf": seconds.erf,
                       "gabor_restarts": settings.gabor_restarts, "erf_images": settings.erf_images,
                       "erf_noise": settings.erf_noise});
    Ok((value, seconds))
}

/// The original's pipeline: `benches/original.py`'s JSON, or why it is unavailable.
fn original(opts: &Options, size: Size, dir: &Path) -> Value {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let (python, script) = (root.join(".venv/bin/python"), root.join("benches/original.py"));
    for (path, what) in [(&python, "the virtual environment of `just setup`"), (&script, "the original's bench script")]
    {
        if !path.exists() {
            return json!({"unavailable": format!("{} is missing ({what})", path.display())});
        }
    }
    let out = dir.join(format!("original-{}.json", size.side));
    let mut command = Command::new(&python);
    command.arg(&script).args(["--size", &size.side.to_string(), "--stored", &size.stored.to_string()]);
    command.args(["--batch", &opts.batch.to_string(), "--warmup", &opts.warmup.to_string()]);
    command.args(["--repeats", &opts.repeats.max(5).to_string()]);
    command.args(["--threads", &tch::get_num_threads().to_string(), "--out"]).arg(&out);
    let result = run_with_timeout(&mut command, Duration::from_secs(300)).and_then(|()| {
        let text = std::fs::read_to_string(&out).with_context(|| format!("original.py wrote no {}", out.display()))?;
        serde_json::from_str::<Value>(&text).with_context(|| format!("{} is not JSON", out.display()))
    });
    match result {
        Ok(value) => {
            let step = value["train_step"]["median"].as_f64().unwrap_or(f64::NAN);
            println!("  {:>3} px original (Python): train step {step:.1} images/s", size.side);
            value
        }
        Err(e) => {
            println!("  {:>3} px original (Python): unavailable: {e:#}", size.side);
            json!({"unavailable": format!("{e:#}")})
        }
    }
}

fn run_with_timeout(command: &mut Command, limit: Duration) -> Result<()> {
    let mut child = command.stdout(Stdio::null()).stderr(Stdio::piped()).spawn().context("cannot start it")?;
    let started = Instant::now();
    loop {
        if let Some(status) = child.try_wait()? {
            if status.success() {
                return Ok(());
            }
            let mut stderr = String::new();
            if let Some(mut pipe) = child.stderr.take() {
                let _ = std::io::Read::read_to_string(&mut pipe, &mut stderr);
            }
            let tail: Vec<&str> = stderr.lines().rev().take(3).collect();
            bail!("it exited with {status}: {}", tail.into_iter().rev().collect::<Vec<_>>().join(" | "));
        }
        if started.elapsed() > limit {
            child.kill()?;
            child.wait()?;
            bail!("it ran longer than {} s and was stopped", limit.as_secs());
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// A `/proc/<pid>/status` field in KiB (`VmHWM`: the peak resident set; `VmRSS`: the current one).
fn status_kib(pid: &str, field: &str) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with(field))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// Child mode: read a cache file and print the memory it took.
fn load_cache_child(path: &Path, reader: Reader) -> Result<()> {
    // libtorch maps its code in on first use: one small copy first, so that the baseline holds it and the
    // difference measures the data.
    Tensor::zeros([1 << 16], (Kind::Uint8, Device::Cpu)).copy_(&Tensor::from_slice(&vec![1u8; 1 << 16]));
    let baseline = status_kib("self", "VmRSS:").context("cannot read /proc/self/status")?;
    let started = Instant::now();
    let images = match reader {
        Reader::Project => cache::read_cache(path, "bench")?.images,
        Reader::Tch => Tensor::read_safetensors(path)?.into_iter().find(|(n, _)| n == "images").context("no images")?.1,
    };
    let seconds = started.elapsed().as_secs_f64();
    let peak = status_kib("self", "VmHWM:").context("cannot read /proc/self/status")?;
    println!("{}", json!({"baseline_kib": baseline, "peak_kib": peak, "images": images.size()[0], "seconds": seconds}));
    Ok(())
}

/// Peak resident memory of the cache readers and of `reproduce --profile tiny`.
fn memory(dir: &Path) -> Result<Value> {
    // 64 distinct images, repeated: the cache's content does not matter here, only its size.
    let distinct = synthetic_split(64, 256, 6);
    let copies = CACHE_IMAGES / 64;
    let split = Split { images: distinct.images.repeat([copies, 1, 1, 1]), labels: distinct.labels.repeat([copies]) };
    let path = dir.join("large.safetensors");
    cache::write_cache(&path, "bench", &split)?;
    let split_mib = split.images.numel() as f64 / (1 << 20) as f64;
    drop(split);
    let mut readers = serde_json::Map::new();
    for (name, reader) in [("project", "project"), ("tch_read_safetensors", "tch")] {
        let exe = std::env::current_exe()?;
        let output = Command::new(exe).arg("--load-cache").arg(&path).args(["--reader", reader]).output()?;
        if !output.status.success() {
            bail!("the cache reader child failed: {}", String::from_utf8_lossy(&output.stderr));
        }
        let report: Value = serde_json::from_slice(&output.stdout).context("the cache reader child printed no JSON")?;
        let kib = |k: &str| report[k].as_f64().unwrap_or(f64::NAN);
        let peak_mib = kib("peak_kib") / 1024.0;
        let over_mib = (kib("peak_kib") - kib("baseline_kib")) / 1024.0;
        println!(
            "  cache of {split_mib:.0} MiB read by {name}: peak {peak_mib:.0} MiB, {over_mib:.0} MiB over the \
             process's start ({:.2}x the split), {:.1} s",
            over_mib / split_mib,
            kib("seconds")
        );
        readers.insert(
            name.into(),
            json!({"peak_mib": peak_mib, "above_start_mib": over_mib, "ratio_to_split": over_mib / split_mib,
                   "seconds": kib("seconds")}),
        );
    }
    std::fs::remove_file(&path).ok();

    let out = dir.join("tiny");
    let mut child = Command::new(env!("CARGO_BIN_EXE_blurry-to-clear"))
        .args(["reproduce", "--profile", "tiny", "--device", "cpu", "--no-figures", "--out"])
        .arg(&out)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .context("cannot start `blurry-to-clear reproduce --profile tiny`")?;
    let pid = child.id().to_string();
    let started = Instant::now();
    let mut peak_kib = 0;
    let status = loop {
        // VmHWM only grows; polling it until the process exits misses at most the last interval's growth.
        if let Some(kib) = status_kib(&pid, "VmHWM:") {
            peak_kib = peak_kib.max(kib);
        }
        if let Some(status) = child.try_wait()? {
            break status;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    if !status.success() {
        bail!("`reproduce --profile tiny` failed ({status})");
    }
    let seconds = started.elapsed().as_secs_f64();
    println!("  reproduce --profile tiny: peak {:.0} MiB, {seconds:.0} s", peak_kib as f64 / 1024.0);
    Ok(json!({
        "cache_split_mib": split_mib,
        "cache_readers": readers,
        "reproduce_tiny": {"peak_mib": peak_kib as f64 / 1024.0, "seconds": seconds},
    }))
}

/// Projected wall time of every run of `profile` (its variants included) from the measured rates (images/s) and,
/// where measured, one checkpoint's analyses and the cache build's rate on one core (spread over every core).
fn projection(
    profile: &str,
    step_rate: f64,
    eval_rate: f64,
    analysis_s: Option<f64>,
    cache_rate: Option<f64>,
) -> Result<Value> {
    let profile = Profile::load(profile)?;
    let (mut train_s, mut eval_s) = (0.0, 0.0);
    let runs: Vec<_> = profile.runs(1)?.into_iter().chain(profile.variant_runs(1)?).collect();
    for run in &runs {
        let estimate = preflight::estimate_run(&profile, run, step_rate, eval_rate)?;
        train_s += estimate.train_s;
        eval_s += estimate.eval_s;
    }
    let checkpoints = preflight::analysed_checkpoints(&profile) * runs.len();
    let analyses_s = analysis_s.map_or(0.0, |s| s * checkpoints as f64);
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get()) as f64;
    let cache_s = cache_rate.map_or(0.0, |r| preflight::cached_images(&profile) as f64 / (r * cores));
    let total_s = train_s + eval_s + analyses_s + cache_s;
    println!(
        "projected `{}` ({} runs): {:.2} h ({:.2} h training at {step_rate:.0} images/s, {:.2} h evaluation at \
         {eval_rate:.0} images/s, {:.2} h analyses of {checkpoints} checkpoints, {:.2} h filling the caches)",
        profile.name,
        runs.len(),
        total_s / 3600.0,
        train_s / 3600.0,
        eval_s / 3600.0,
        analyses_s / 3600.0,
        cache_s / 3600.0
    );
    Ok(json!({"profile": profile.name, "runs": runs.len(), "hours": total_s / 3600.0,
              "train_hours": train_s / 3600.0, "eval_hours": eval_s / 3600.0,
              "analyses_hours": analyses_s / 3600.0, "analysed_checkpoints": checkpoints,
              "cache_hours": cache_s / 3600.0,
              "step_images_per_s": step_rate, "eval_images_per_s": eval_rate}))
}

/// The ratios printed last, at one size.
struct Ratios {
    side: i64,
    pure: f64,
    pure_sigma0: f64,
    original: Option<f64>,
    evaluation: Option<f64>,
}

fn machine(device: Device) -> Value {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|text| text.lines().find(|l| l.starts_with("model name")).map(|l| l.to_owned()))
        .and_then(|l| l.split_once(':').map(|(_, m)| m.trim().to_owned()))
        .unwrap_or_else(|| "unknown".into());
    json!({
        "device": blurry_to_clear::device::describe(device),
        "cpu": cpu,
        "cores": std::thread::available_parallelism().map_or(0, |n| n.get()),
        "torch_threads": tch::get_num_threads(),
        "commit": blurry_to_clear::provenance::git_commit(),
    })
}

fn main() -> Result<()> {
    let opts = Options::parse();
    if let Some(path) = &opts.load_cache {
        return load_cache_child(path, opts.reader);
    }
    let device = opts.device.resolve()?;
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let device_name = match device {
        Device::Cpu => "cpu",
        _ => "cuda",
    };
    let out = opts.out.clone().unwrap_or_else(|| root.join(format!("runs/bench/{device_name}.json")));
    let work = root.join("runs/bench");
    std::fs::create_dir_all(&work).with_context(|| format!("cannot create {}", work.display()))?;
    let scratch = tempfile::tempdir_in(&work).context("cannot create a scratch directory under runs/bench")?;
    println!("bench on {}, batch {}", blurry_to_clear::device::describe(device), opts.batch);
    let started = Instant::now();

    let mut sizes = serde_json::Map::new();
    let mut ratios = Vec::new();
    // The pipeline rate of each precision and the evaluation rate, at the last size: what the projection uses.
    let mut last_rates = (Vec::new(), None);
    for size in &opts.sizes {
        let mut entry = serde_json::Map::new();
        entry.insert("stored".into(), json!(size.stored));
        let mut step_rates = serde_json::Map::new();
        let mut pipeline_rates = Vec::new();
        for precision in &opts.precision {
            let result = training(&opts, device, *size, *precision)?;
            pipeline_rates.push((*precision, result["pipeline"]["median"].as_f64().unwrap_or(f64::NAN)));
            step_rates.insert(format!("{precision:?}").to_lowercase(), result);
        }
        // The ratios are those of the first precision asked for (fp32 by default).
        let first_name = opts.precision.first().map(|p| format!("{p:?}").to_lowercase()).unwrap_or_default();
        let first = step_rates.get(&first_name).cloned().unwrap_or(Value::Null);
        let evaluation = match opts.skip.contains(&Part::Evaluation) {
            true => None,
            false => Some(evaluation(&opts, device, *size)?),
        };
        if !opts.skip.contains(&Part::Blur) {
            let rates = blur_alone(&opts, device, *size)?;
            entry.insert(
                "blur".into(),
                json!(rates.iter().map(|(s, r)| (s.clone(), r.json())).collect::<BTreeMap<_, _>>()),
            );
        }
        let original = match opts.skip.contains(&Part::Original) || device != Device::Cpu {
            true => json!({"unavailable": "not measured (skipped, or not on the CPU)"}),
            false => original(&opts, *size, scratch.path()),
        };
        let pipeline = first["pipeline"]["median"].as_f64().unwrap_or(f64::NAN);
        let pipeline_sigma0 = first["pipeline_sigma0"]["median"].as_f64().unwrap_or(f64::NAN);
        let pure = first["pure_compute"]["median"].as_f64().unwrap_or(f64::NAN);
        let original_step = original["train_step"]["median"].as_f64();
        let eval_rate = evaluation.map(|r| r.median);
        ratios.push(Ratios {
            side: size.side,
            pure: pipeline / pure,
            pure_sigma0: pipeline_sigma0 / pure,
            original: original_step.map(|o| pipeline / o),
            evaluation: eval_rate.map(|e| e / pipeline),
        });
        last_rates = (pipeline_rates, eval_rate);
        entry.insert("training".into(), json!(step_rates));
        if let Some(rate) = evaluation {
            entry.insert("evaluation".into(), json!({"sigmas": [0.0, SIGMA], "per_sigma": rate.json()}));
        }
        entry.insert("original".into(), original);
        sizes.insert(size.side.to_string(), Value::Object(entry));
    }
    let mut report = json!({"machine": machine(device), "batch": opts.batch, "sizes": sizes});
    let mut cache_ratio = None;
    let mut cache_rate = None;
    if !opts.skip.contains(&Part::Cache) {
        let value = cache_build(&opts, scratch.path())?;
        cache_ratio = value["build/pillow"].as_f64();
        cache_rate = value["images_per_s"].as_f64();
        report["cache"] = value;
    }
    let mut analysis_s = None;
    if !opts.skip.contains(&Part::Analyses) {
        let (value, seconds) = analyses(device)?;
        analysis_s = Some(seconds.total());
        report["analyses"] = value;
    }
    if !opts.skip.contains(&Part::Memory) {
        report["memory"] = memory(scratch.path())?;
    }
    if let (Some(profile), (pipeline_rates, Some(eval_rate))) = (&opts.project, &last_rates) {
        let mut projections = serde_json::Map::new();
        for (precision, step_rate) in pipeline_rates {
            print!("  {precision:?}: ");
            let projected = projection(profile, *step_rate, *eval_rate, analysis_s, cache_rate)?;
            projections.insert(format!("{precision:?}").to_lowercase(), projected);
        }
        report["projection"] = Value::Object(projections);
    }
    let mut ratio_map: BTreeMap<String, Value> = ratios
        .iter()
        .map(|r| {
            (
                r.side.to_string(),
                json!({"pipeline/pure_compute": r.pure, "pipeline_sigma0/pure_compute": r.pure_sigma0,
                       "pipeline/original": r.original, "evaluation/pipeline": r.evaluation}),
            )
        })
        .collect();
    ratio_map.insert("cache".into(), json!({"build/pillow": cache_ratio}));
    report["ratios"] = json!(ratio_map);
    report["seconds"] = json!(started.elapsed().as_secs_f64());
    blurry_to_clear::atomic::write(&out, serde_json::to_string_pretty(&report)?.as_bytes())?;
    println!("wrote {} ({:.0} s)", out.display(), started.elapsed().as_secs_f64());
    let show = |pick: fn(&Ratios) -> Option<f64>| {
        let parts: Vec<String> = ratios
            .iter()
            .map(|r| format!("{} px {}", r.side, pick(r).map_or("unavailable".to_owned(), |v| format!("{v:.2}"))))
            .collect();
        parts.join(", ")
    };
    println!("evaluation / pipeline: {}", show(|r| r.evaluation));
    println!("pipeline / pure_compute (sigma 8): {}", show(|r| Some(r.pure)));
    println!("pipeline / pure_compute (sigma 0): {}", show(|r| Some(r.pure_sigma0)));
    println!("cache build / Pillow: {}", cache_ratio.map_or("unavailable".to_owned(), |v| format!("{v:.2}")));
    println!("pipeline / original: {}", show(|r| r.original));
    Ok(())
}
