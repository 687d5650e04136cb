//! Whole-binary fault tests of interruptions, damaged files and numerical faults (issue 14, items 1 to 3) on the
//! `tiny` profile, with one libtorch thread and the portable CPU kernels that `tests/reproduce.rs` pins.
//!
//! Slow (minutes): `scripts/test-faults.sh` (`just test-faults`) runs them, not `just test`, and prints a table from
//! the lines each test appends to `$B2C_FAULT_REPORT` (test, fault, what happened, outcome) once its checks pass.
use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

#[path = "common/fault_report.rs"]
mod fault_report;

fn binary() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_blurry-to-clear"));
    command
        .env("ATEN_CPU_CAPABILITY", "default")
        .env("ONEDNN_MAX_CPU_ISA", "SSE41")
        .env("OMP_NUM_THREADS", "1")
        .env("RUST_LOG", "warn");
    command
}

/// `reproduce` of `profile` (a name or a protocol file) into `out`, on one thread.
fn reproduce(profile: &str, out: &Path, extra: &[&str]) -> Command {
    let mut command = binary();
    command.args(["reproduce", "--profile", profile, "--threads", "1", "--out"]).arg(out).args(extra);
    command
}

/// What a command did.
struct Outcome {
    code: Option<i32>,
    stderr: String,
}

fn run(mut command: Command) -> Outcome {
    let output = command.output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert!(!stderr.contains("panicked"), "it panicked: {stderr}");
    Outcome { code: output.status.code(), stderr }
}

fn run_ok(command: Command) -> Outcome {
    let outcome = run(command);
    assert_eq!(outcome.code, Some(0), "reproduce failed:\n{}", outcome.stderr);
    outcome
}

/// A row of the fault report (see `tests/common/fault_report.rs`), what happened cut to 240 characters.
fn report(fault: &str, happened: &str, outcome: &str) {
    fault_report::report(fault, happened, outcome, 240);
}

/// The line of `stderr` that holds `needle`, without its time and level, for the report.
fn line_with(stderr: &str, needle: &str) -> String {
    let line = stderr.lines().find(|l| l.contains(needle)).unwrap_or_else(|| panic!("'{needle}' not in: {stderr}"));
    line.split_once(" WARN ").map_or(line, |(_, text)| text).to_owned()
}

/// Every file under `dir`, sorted.
fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(next) = stack.pop() {
        for entry in fs::read_dir(&next).into_iter().flatten() {
            let path = entry.unwrap().path();
            match path.is_dir() {
                true => stack.push(path),
                false => out.push(path),
            }
        }
    }
    out.sort();
    out
}

/// Every results table of a profile directory (`results/` and each run's `tables/`), by relative path.
fn tables(profile_dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    walk(profile_dir)
        .into_iter()
        .filter(|p| p.extension().is_some_and(|e| e == "csv"))
        .map(|p| (p.strip_prefix(profile_dir).unwrap().to_path_buf(), fs::read(&p).unwrap()))
        .collect()
}

/// Assert that the tables under `profile_dir` are those of the uninterrupted run (`reference`), byte for byte;
/// returns how many.
fn same_tables(profile_dir: &Path, reference: &Path) -> usize {
    let (got, expected) = (tables(profile_dir), tables(reference));
    assert_eq!(got.keys().collect::<Vec<_>>(), expected.keys().collect::<Vec<_>>(), "not the same tables");
    for (path, bytes) in &got {
        assert!(bytes == &expected[path], "{} differs from the uninterrupted run's", path.display());
    }
    got.len()
}

/// Start `command` and SIGKILL it as soon as `reached` says what it sees (checked every 2 ms); returns that. Panics
/// when the command ends before: the point was never reached.
fn kill_when<T>(mut command: Command, point: &str, reached: impl Fn() -> Option<T>) -> T {
    let mut child = command.stdout(Stdio::null()).stderr(Stdio::null()).spawn().unwrap();
    let seen = loop {
        if let Some(seen) = reached() {
            break seen;
        }
        if let Some(status) = child.try_wait().unwrap() {
            panic!("reproduce ended ({status}) before the kill point: {point}");
        }
        std::thread::sleep(Duration::from_millis(2));
    };
    child.kill().unwrap();
    child.wait().unwrap();
    seen
}

/// Flip the middle byte of `path`, or cut it to half its length.
fn damage(path: &Path, truncate: bool) {
    let mut bytes = fs::read(path).unwrap();
    let middle = bytes.len() / 2;
    match truncate {
        true => bytes.truncate(middle),
        false => bytes[middle] ^= 0x01,
    }
    fs::write(path, bytes).unwrap();
}

fn how(truncate: bool) -> &'static str {
    if truncate {
        "truncated to half"
    } else {
        "one byte flipped"
    }
}

fn run_dir(profile_dir: &Path, run: &str) -> PathBuf {
    profile_dir.join(run).join("seed-0")
}

fn log_of(profile_dir: &Path, run: &str) -> String {
    fs::read_to_string(run_dir(profile_dir, run).join("run.log")).unwrap_or_default()
}

#[test]
fn sigkill_anywhere_then_rerun_gives_the_tables_of_an_uninterrupted_run() {
    let uninterrupted = tempfile::tempdir().unwrap();
    run_ok(reproduce("tiny", uninterrupted.path(), &[]));
    let reference = uninterrupted.path().join("tiny");
    let out = tempfile::tempdir().unwrap();
    let tiny = out.path().join("tiny");
    let exists = |path: PathBuf| path.exists();
    let stage = |run: &str, name: &str| run_dir(&tiny, run).join(format!("stages/{name}.json"));
    let checkpoint = |run: &str, epoch: u32, suffix: &str| {
        run_dir(&tiny, run).join(format!("checkpoints/epoch-{epoch:03}.{suffix}"))
    };
    // Each kill point: its name, and what the run directory shows once it is reached (`None` before).
    type Point<'a> = (&'a str, Box<dyn Fn() -> Option<String> + 'a>);
    let last_line = |run: &str| {
        let log = log_of(&tiny, run);
        let line = log.lines().last().unwrap_or_default().split_once(' ').map_or("", |l| l.1);
        format!("{run}, run.log's last line: {}", line.split(", lr").next().unwrap_or_default())
    };
    let written_not = |written: PathBuf, not: PathBuf| {
        let short = |p: &Path| p.strip_prefix(&tiny).unwrap_or(p).display().to_string();
        (exists(written.clone()) && !exists(not.clone()))
            .then(|| format!("{} written, {} not", short(&written), short(&not)))
    };
    let points: Vec<Point> = vec![
        (
            "during training",
            Box::new(|| log_of(&tiny, "faces/clear").contains(" epoch 2: ").then(|| last_line("faces/clear"))),
        ),
        (
            "between a checkpoint's optimiser state and its weights",
            Box::new(|| {
                (2..=5).find_map(|e| {
                    written_not(
                        checkpoint("faces/blurry", e, "adam.safetensors"),
                        checkpoint("faces/blurry", e, "safetensors"),
                    )
                })
            }),
        ),
        (
            "during evaluation",
            Box::new(|| {
                written_not(stage("toybox_instance/clear", "train"), stage("toybox_instance/clear", "evaluate"))
            }),
        ),
        (
            "during the analyses",
            Box::new(|| {
                written_not(stage("toybox_category/clear", "evaluate"), stage("toybox_category/clear", "analyse"))
            }),
        ),
        (
            "during the figures, before the manifest",
            Box::new(|| written_not(tiny.join("stages/gather.json"), tiny.join("stages/figures.json"))),
        ),
    ];
    for (point, reached) in &points {
        let seen = kill_when(reproduce("tiny", out.path(), &[]), point, reached);
        report(&format!("SIGKILL {point}"), &format!("killed when {seen}"), "rerun");
    }
    let rerun = run_ok(reproduce("tiny", out.path(), &[]));
    assert!(!rerun.stderr.contains("damaged"), "a stopped write was taken for damage:\n{}", rerun.stderr);
    for run in ["faces/clear", "faces/blurry"] {
        let log = log_of(&tiny, run);
        assert!(log.contains("resuming"), "{run} did not resume:\n{log}");
    }
    let leftovers: Vec<PathBuf> = walk(&tiny).into_iter().filter(|p| p.to_string_lossy().ends_with(".tmp")).collect();
    assert!(leftovers.is_empty(), "temporary files left after the rerun: {leftovers:?}");
    let count = same_tables(&tiny, &reference);
    report(
        "rerun after the 5 kills",
        &format!("finished; {count} tables (results/ and every run's) byte-identical to an uninterrupted run's"),
        "resumed, nothing lost",
    );
}

#[test]
fn a_damaged_checkpoint_file_is_named_and_training_resumes_from_the_one_before() {
    let run = "faces/blurry_to_clear";
    let only = ["--only", run, "--no-figures"];
    let uninterrupted = tempfile::tempdir().unwrap();
    run_ok(reproduce("tiny", uninterrupted.path(), &only));
    let reference = uninterrupted.path().join("tiny");
    type File = fn(&Path, u32) -> PathBuf;
    let kinds: [(&str, File); 3] = [
        ("weights", |dir, e| dir.join(format!("checkpoints/epoch-{e:03}.safetensors"))),
        ("optimiser state", |dir, e| dir.join(format!("checkpoints/epoch-{e:03}.adam.safetensors"))),
        ("log snapshot", |dir, e| dir.join(format!("checkpoints/epoch-{e:03}.log.json"))),
    ];
    for (kind, file) in kinds {
        for truncate in [false, true] {
            let out = tempfile::tempdir().unwrap();
            let dir = run_dir(&out.path().join("tiny"), run);
            let record = dir.join("checkpoints/epoch-003.sha256.json");
            kill_when(reproduce("tiny", out.path(), &only), "the record of epoch 3", || record.exists().then_some(()));
            let damaged = file(&dir, 3);
            damage(&damaged, truncate);
            let rerun = run_ok(reproduce("tiny", out.path(), &only));
            let warning = line_with(&rerun.stderr, "damaged checkpoint of epoch 3");
            assert!(warning.contains(&damaged.display().to_string()), "{warning}");
            assert!(warning.contains("resuming from the checkpoint of epoch 2"), "{warning}");
            let log = log_of(&out.path().join("tiny"), run);
            assert!(log.contains(&warning.split_once(": ").unwrap().1.to_string()), "not in run.log:\n{log}");
            assert!(log.contains(&format!("resuming {run} from the checkpoint of epoch 2")), "{log}");
            for (name, bytes) in tables(&dir.join("tables")) {
                let expected = fs::read(run_dir(&reference, run).join("tables").join(&name)).unwrap();
                assert!(bytes == expected, "{} differs from the uninterrupted run's", name.display());
            }
            report(
                &format!("checkpoint {kind} of epoch 3, {}", how(truncate)),
                &warning,
                "caught; resumed from epoch 2, run tables byte-identical",
            );
        }
    }
}

/// Each stage the manifest of `profile_dir` lists, with its input hash and outputs (not its wall time, which a
/// recomputed stage changes).
fn manifest_outputs(profile_dir: &Path) -> Vec<(String, String, String)> {
    let manifest: serde_json::Value = serde_json::from_slice(&fs::read(profile_dir.join("manifest.json")).unwrap())
        .expect("manifest.json is not JSON");
    let stages = manifest["stages"].as_array().expect("the manifest lists no stages");
    stages.iter().map(|s| (s["stage"].to_string(), s["input_hash"].to_string(), s["outputs"].to_string())).collect()
}

#[test]
fn damaged_finished_outputs_are_named_and_remade() {
    let out = tempfile::tempdir().unwrap();
    let tiny = out.path().join("tiny");
    let only = ["--only", "faces/clear", "--no-figures"];
    run_ok(reproduce("tiny", out.path(), &only));
    let before = tables(&tiny);
    let manifest = manifest_outputs(&tiny);
    let run = run_dir(&tiny, "faces/clear");
    let cases = [
        ("run results table", run.join("tables/erf.csv")),
        ("stage record", run.join("stages/evaluate.json")),
        ("gathered results table", tiny.join("results/accuracy_vs_blur.csv")),
        ("manifest", tiny.join("manifest.json")),
    ];
    for (kind, path) in cases {
        for truncate in [false, true] {
            damage(&path, truncate);
            // The manifest is never read, only remade from the verified stage records: a damaged one that is still
            // JSON is replaced without a word.
            let still_json = serde_json::from_slice::<serde_json::Value>(&fs::read(&path).unwrap()).is_ok();
            let rerun = run_ok(reproduce("tiny", out.path(), &only));
            let happened = match kind == "manifest" && still_json {
                true => "still JSON: remade from the stage records".to_owned(),
                false => line_with(&rerun.stderr, &path.display().to_string()),
            };
            assert!(happened.contains("damaged") || still_json, "{happened}");
            assert!(tables(&tiny) == before, "the tables after the rerun differ from those before the damage");
            assert_eq!(manifest_outputs(&tiny), manifest, "the manifest's stages and outputs");
            report(&format!("{kind}, {}", how(truncate)), &happened, "caught; remade, tables as before");
        }
    }
}

#[test]
fn a_diverging_run_stops_naming_where_and_the_profiles_other_runs_finish() {
    let dir = tempfile::tempdir().unwrap();
    // tiny, but from epoch 3 on faces trains at a rate of 1e20: its loss becomes NaN at once.
    let text = fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("paper/protocol/tiny.toml")).unwrap();
    let faces = r#"lr_schedule = [{ kind = "warmup_cosine", warmup_epochs = 1 }]"#;
    assert!(text.contains(faces));
    let diverging = r#"lr_schedule = [{ kind = "warmup_cosine", warmup_epochs = 1 }, { from_epoch = 3, kind = "constant", lr = 1e20 }]"#;
    let profile = dir.path().join("tiny-diverging.toml");
    fs::write(&profile, text.replacen(faces, diverging, 1)).unwrap();
    let out = dir.path().join("runs");
    let outcome = run(reproduce(
        profile.to_str().unwrap(),
        &out,
        &["--only", "faces/clear", "--only", "in12/clear", "--no-figures"],
    ));
    let stderr = &outcome.stderr;
    assert_eq!(outcome.code, Some(1), "{stderr}");
    let error = &stderr[stderr.rfind("error: ").unwrap()..];
    for needle in [
        "1 of 2 runs failed: faces/clear seed 0: faces/clear: the training loss became NaN at epoch 3, iteration ",
        "The other runs finished.",
        "keeps its last good checkpoint, of epoch 2",
        "a lower learning rate",
    ] {
        assert!(error.contains(needle), "'{needle}' missing from: {error}");
    }
    let tiny = out.join("tiny");
    let faces = run_dir(&tiny, "faces/clear");
    assert!(
        faces.join("checkpoints/epoch-002.sha256.json").exists()
            && !faces.join("checkpoints/epoch-003.safetensors").exists()
    );
    assert!(!faces.join("stages/train.json").exists());
    assert!(run_dir(&tiny, "in12/clear").join("stages/analyse.json").exists(), "the other run did not finish");
    assert!(!tiny.join("results").exists(), "tables were gathered with a run missing");
    let status = binary().arg("status").arg(&tiny).args(["--only", "faces/clear"]).output().unwrap();
    let status = String::from_utf8_lossy(&status.stdout);
    assert!(status.contains("faces/clear  seed 0  failed"), "{status}");
    let first = error.lines().next().unwrap_or_default().trim_start_matches("error: ");
    report(
        "NaN loss (lr 1e20 from epoch 3 of faces/clear)",
        first,
        "run stopped, checkpoint 2 kept, in12/clear finished, exit 1",
    );
}
