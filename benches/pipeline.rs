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
//! Then peak resident memory of `reproduce --profile tiny` (a child process) and of reading a large synthetic cache
//! (a child process each for this project's reader and for `Tensor::read_safetensors`, the reader it replaced).
//!
//! `cargo bench --profile dev --bench pipeline [-- OPTIONS]` reuses the dev build of the tests: the work happens
//! inside libtorch, so a release build of every dependency would buy nothing. `scripts/gpu-check.sh` runs it with
//! `--device cuda --sizes 224:256 --batch 256 --precision fp32,bf16 --project paper`.
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::str::FromStr;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use blurry_to_clear::augment::{self, AugmentSpec};
use blurry_to_clear::data::{cache, Split};
use blurry_to_clear::device::DeviceChoice;
use blurry_to_clear::draws::Draws;
use blurry_to_clear::evaluate::{self, EvalLoader};
use blurry_to_clear::model::AlexNet;
use blurry_to_clear::optim::{AdamConfig, AdamSet};
use blurry_to_clear::protocol::Profile;
use blurry_to_clear::train::{self, Learner, Precision};
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

/// Projected wall time of every run of `profile` from the measured rates (images/s).
fn projection(profile: &str, step_rate: f64, eval_rate: f64) -> Result<Value> {
    let profile = Profile::load(profile)?;
    let (mut train_s, mut eval_s) = (0.0, 0.0);
    let runs = profile.runs(1)?;
    for run in &runs {
        let estimate = preflight::estimate_run(&profile, run, step_rate, eval_rate)?;
        train_s += estimate.train_s;
        eval_s += estimate.eval_s;
    }
    println!(
        "projected `{}` ({} runs): {:.2} h ({:.2} h training at {step_rate:.0} images/s, {:.2} h evaluation at \
         {eval_rate:.0} images/s)",
        profile.name,
        runs.len(),
        (train_s + eval_s) / 3600.0,
        train_s / 3600.0,
        eval_s / 3600.0
    );
    Ok(json!({"profile": profile.name, "runs": runs.len(), "hours": (train_s + eval_s) / 3600.0,
              "train_hours": train_s / 3600.0, "eval_hours": eval_s / 3600.0,
              "step_images_per_s": step_rate, "eval_images_per_s": eval_rate}))
}

/// The ratios printed last, at one size.
struct Ratios {
    side: i64,
    pure: f64,
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
        let pure = first["pure_compute"]["median"].as_f64().unwrap_or(f64::NAN);
        let original_step = original["train_step"]["median"].as_f64();
        let eval_rate = evaluation.map(|r| r.median);
        ratios.push(Ratios {
            side: size.side,
            pure: pipeline / pure,
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
    if !opts.skip.contains(&Part::Memory) {
        report["memory"] = memory(scratch.path())?;
    }
    if let (Some(profile), (pipeline_rates, Some(eval_rate))) = (&opts.project, &last_rates) {
        let mut projections = serde_json::Map::new();
        for (precision, step_rate) in pipeline_rates {
            print!("  {precision:?}: ");
            projections.insert(format!("{precision:?}").to_lowercase(), projection(profile, *step_rate, *eval_rate)?);
        }
        report["projection"] = Value::Object(projections);
    }
    report["ratios"] = json!(ratios
        .iter()
        .map(|r| (
            r.side.to_string(),
            json!({"pipeline/pure_compute": r.pure, "pipeline/original": r.original, "evaluation/pipeline": r.evaluation})
        ))
        .collect::<BTreeMap<_, _>>());
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
    println!("pipeline / pure_compute: {}", show(|r| Some(r.pure)));
    println!("pipeline / original: {}", show(|r| r.original));
    Ok(())
}
