//! End to end: the `tiny` profile through the whole pipeline, as `just reproduce tiny` runs it.
//!
//! One full run is shared by the tests of this binary. Every invocation pins libtorch to two threads and to its
//! portable CPU kernels (`ATEN_CPU_CAPABILITY=default`, `ONEDNN_MAX_CPU_ISA=SSE41`), so that the numbers do not depend
//! on which x86-64 vector extensions the machine has; the snapshots under `expected/snapshots/` hold them.
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use blurry_to_clear::results::{self, AccuracyByStage, AccuracyVsBlur, TrainingLog};
use blurry_to_clear::vocab::{DatasetId, Regime};

fn reproduce(out: &Path, extra: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_blurry-to-clear"));
    command
        .args(["reproduce", "--profile", "tiny", "--threads", "2", "--out"])
        .arg(out)
        .args(extra)
        .env("ATEN_CPU_CAPABILITY", "default")
        .env("ONEDNN_MAX_CPU_ISA", "SSE41")
        .env("RUST_LOG", "warn");
    command
}

fn run_ok(mut command: Command) {
    let output = command.output().unwrap();
    assert!(output.status.success(), "reproduce failed:\n{}", String::from_utf8_lossy(&output.stderr));
}

/// The shared full `tiny` run: `<dir>/tiny/`.
///
/// It lives in Cargo's scratch folder for tests (`target/tmp/`), not in a temporary directory: a `static` is never
/// dropped, so a temporary directory held by one outlives the tests, and every `cargo test` left another 1.4 GB in
/// `/tmp` until the disk filled. Here each test run replaces the last one's, which stays for inspection.
fn tiny() -> &'static Path {
    static RUN: OnceLock<PathBuf> = OnceLock::new();
    RUN.get_or_init(|| {
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("reproduce-tiny");
        if dir.exists() {
            std::fs::remove_dir_all(&dir).unwrap();
        }
        std::fs::create_dir_all(&dir).unwrap();
        run_ok(reproduce(&dir, &[]));
        dir.join("tiny")
    })
}

/// Every file under `dir` with its bytes' hash and modification time.
fn files(dir: &Path) -> BTreeMap<PathBuf, (String, std::time::SystemTime)> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(next) = stack.pop() {
        for entry in std::fs::read_dir(&next).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else {
                let sha = blurry_to_clear::provenance::sha256_file(&path).unwrap();
                out.insert(path.clone(), (sha, std::fs::metadata(&path).unwrap().modified().unwrap()));
            }
        }
    }
    out
}

fn run_table(run_root: &Path, dataset: &str, regime: &str, table: &str) -> Vec<u8> {
    std::fs::read(run_root.join(dataset).join(regime).join("seed-0/tables").join(format!("{table}.csv"))).unwrap()
}

/// A copy of the shared `tiny` run to change: `<dir>/tiny/`.
fn copy_of_tiny(dir: &Path) -> PathBuf {
    let status = Command::new("cp").arg("-a").arg(tiny()).arg(dir).status().unwrap();
    assert!(status.success());
    dir.join("tiny")
}

#[test]
fn tables_have_every_run_sigma_and_stage_in_range() {
    let results_dir = results::results_dir(tiny());
    let final_rows: Vec<AccuracyVsBlur> = results::read_table(&results_dir).unwrap();
    assert_eq!(final_rows.len(), 15 * 33);
    let stage_rows: Vec<AccuracyByStage> = results::read_table(&results_dir).unwrap();
    assert_eq!(stage_rows.len(), 15 * 5 * 9);
    for row in &final_rows {
        assert!((0.0..=100.0).contains(&row.accuracy_pct), "{row:?}");
    }
    for &dataset in DatasetId::ALL {
        for &regime in Regime::ALL {
            let sigmas: Vec<f64> = final_rows
                .iter()
                .filter(|r| r.run.dataset == dataset && r.run.regime == regime)
                .map(|r| r.test_sigma)
                .collect();
            assert_eq!(sigmas, (0..=32).map(f64::from).collect::<Vec<_>>(), "{dataset}/{regime}");
        }
    }
    let log: Vec<TrainingLog> = results::read_table(&results_dir).unwrap();
    assert_eq!(log.len(), 15 * 6, "epochs 0..=5 of every run");
    let b2c_sigmas: Vec<f64> = log
        .iter()
        .filter(|r| r.run.dataset == DatasetId::Faces && r.run.regime == Regime::BlurryToClear && r.epoch > 0)
        .map(|r| r.train_sigma)
        .collect();
    assert_eq!(b2c_sigmas, vec![8.0, 4.0, 2.0, 1.0, 0.0]);
    for schema in results::SCHEMAS {
        assert!(results_dir.join(format!("{}.parquet", schema.name)).is_file(), "{} parquet", schema.name);
    }
    let manifest = std::fs::read_to_string(tiny().join("manifest.json")).unwrap();
    for field in ["protocol_sha256", "git_commit", "libtorch_version", "wall_s", "epoch-005.safetensors"] {
        assert!(manifest.contains(field), "manifest lacks {field}");
    }
}

#[test]
fn a_second_run_does_no_work_and_changes_no_file() {
    let root = tiny();
    let before = files(root);
    let started = Instant::now();
    run_ok(reproduce(root.parent().unwrap(), &[]));
    assert_eq!(files(root), before);
    // Nothing was trained or evaluated: far quicker than the first run (a generous bound, not a benchmark).
    assert!(started.elapsed() < Duration::from_secs(60));
}

#[test]
fn a_fresh_run_and_an_interrupted_run_give_identical_numbers() {
    let reference = tiny();
    let fresh = tempfile::tempdir().unwrap();
    run_ok(reproduce(fresh.path(), &["--only", "faces", "--no-figures"]));
    let fresh_root = fresh.path().join("tiny");
    for regime in ["clear", "blurry", "blurry_to_clear"] {
        for table in ["training_log", "accuracy_vs_blur", "accuracy_by_stage", "rf_size", "spatial_frequency"] {
            assert_eq!(
                run_table(&fresh_root, "faces", regime, table),
                run_table(reference, "faces", regime, table),
                "{regime} {table}"
            );
        }
    }

    // A kill -9 after the first checkpoint: start the run and kill it as soon as a checkpoint is recorded (its
    // record, written after its files, is what makes it count).
    let killed = tempfile::tempdir().unwrap();
    let run_dir = killed.path().join("tiny/faces/blurry_to_clear/seed-0");
    let mut child = reproduce(killed.path(), &["--only", "faces/blurry_to_clear", "--no-figures"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    while !run_dir.join("checkpoints/epoch-001.sha256.json").exists() && child.try_wait().unwrap().is_none() {
        std::thread::sleep(Duration::from_millis(20));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    // Power loss mid-write leaves a temporary file behind; it must not be taken for a checkpoint.
    std::fs::write(run_dir.join("checkpoints/epoch-004.safetensors.999.tmp"), b"partial").unwrap();
    assert!(!run_dir.join("stages/analyse.json").exists(), "the run finished before it could be interrupted");
    run_ok(reproduce(killed.path(), &["--only", "faces/blurry_to_clear", "--no-figures"]));
    let log = std::fs::read_to_string(run_dir.join("run.log")).unwrap();
    assert!(log.contains("resuming"), "the second invocation did not resume:\n{log}");
    for table in ["training_log", "accuracy_vs_blur", "accuracy_by_stage"] {
        assert_eq!(
            run_table(&killed.path().join("tiny"), "faces", "blurry_to_clear", table),
            run_table(reference, "faces", "blurry_to_clear", table),
            "{table} after resuming"
        );
    }
}

/// Changing the sources of one stage reruns that stage and the ones after it, and nothing before it: with another
/// analysis code hash, the analyses of the selected run rerun while its training and evaluation stay as they were.
#[test]
fn a_change_to_analysis_code_reruns_the_analyses_and_not_the_training() {
    use blurry_to_clear::pipeline::reproduce as run_profile;
    use blurry_to_clear::selection::ReproduceOptions;
    use blurry_to_clear::stage::{CodeHashes, Stage};
    let dir = tempfile::tempdir().unwrap();
    let root = copy_of_tiny(dir.path());
    let run_dir = root.join("faces/clear/seed-0");
    let record = |stage: &str| std::fs::read(run_dir.join(format!("stages/{stage}.json"))).unwrap();
    let before: Vec<Vec<u8>> = ["train", "evaluate", "analyse"].iter().map(|s| record(s)).collect();
    let checkpoint = std::fs::metadata(run_dir.join("checkpoints/epoch-005.safetensors")).unwrap().modified().unwrap();
    let code = CodeHashes::compiled().with(Stage::Analyse, "a changed analysis");
    let options = ReproduceOptions {
        profile: "tiny".into(),
        only: vec!["faces/clear".into()],
        seeds: 1,
        seed_index: None,
        device: blurry_to_clear::device::DeviceChoice::Cpu,
        data_root: None,
        out: dir.path().to_path_buf(),
        threads: Some(2),
        precision: blurry_to_clear::train::Precision::Fp32,
        figures: false,
        code,
    };
    run_profile(&options).unwrap();
    assert_eq!(record("train"), before[0], "the training reran");
    assert_eq!(record("evaluate"), before[1], "the evaluation reran");
    assert_ne!(record("analyse"), before[2], "the analyses did not rerun");
    let after = std::fs::metadata(run_dir.join("checkpoints/epoch-005.safetensors")).unwrap().modified().unwrap();
    assert_eq!(after, checkpoint, "a checkpoint was rewritten");
}

/// Figures read tables only: a run directory whose checkpoints are gone still draws every figure.
#[test]
fn figures_of_a_run_need_nothing_but_its_results() {
    let dir = tempfile::tempdir().unwrap();
    let root = copy_of_tiny(dir.path());
    for dataset in ["faces", "toybox_instance", "toybox_category", "in12", "in100"] {
        std::fs::remove_dir_all(root.join(dataset)).unwrap();
    }
    let out = dir.path().join("drawn");
    let output = Command::new(env!("CARGO_BIN_EXE_blurry-to-clear"))
        .arg("figures")
        .arg(&root)
        .arg("--out")
        .arg(&out)
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let drawn: Vec<String> = std::fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".png"))
        .collect();
    for id in ["accuracy_vs_blur", "erf_maps", "erf_radial_profiles", "conv1_kernels_faces", "rf_size_vs_epoch"] {
        assert!(drawn.contains(&format!("{id}.png")), "{id} missing from {drawn:?}");
    }
}

#[test]
fn unknown_names_are_refused_with_the_valid_ones() {
    let dir = tempfile::tempdir().unwrap();
    for (args, listed) in
        [(vec!["--only", "faces/sharp"], "blurry_to_clear"), (vec!["--only", "cifar"], "toybox_category")]
    {
        let output = reproduce(dir.path(), &args).output().unwrap();
        assert!(!output.status.success());
        let err = String::from_utf8_lossy(&output.stderr);
        assert!(err.contains(listed), "{err}");
    }
    let output = Command::new(env!("CARGO_BIN_EXE_blurry-to-clear"))
        .args(["reproduce", "--profile", "huge", "--out"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("mini"));
}

/// The tiny run's numbers against the committed `expected/tiny/`, under the tolerances declared there (sized for
/// another CPU's arithmetic): the regression pin of the pipeline's numbers.
#[test]
fn tiny_numbers_match_expected_tiny() {
    let expected = Path::new(env!("CARGO_MANIFEST_DIR")).join("expected/tiny");
    let verification = blurry_to_clear::verify::verify(tiny(), &expected).unwrap();
    let summary = blurry_to_clear::verify::summary(&verification);
    assert!(verification.compared() > 2000, "{summary}");
    assert_eq!(verification.failed(), 0, "{summary}");
}

/// The shape of every results table of the tiny run, as an insta snapshot under `expected/snapshots/`: its columns
/// and how many rows it has. (The numbers are pinned by `expected/tiny/`, with tolerances.)
#[test]
fn tiny_tables_have_the_snapshotted_shapes() {
    let results_dir = results::results_dir(tiny());
    let mut text = String::new();
    for schema in results::SCHEMAS {
        let csv = std::fs::read_to_string(schema.csv_path(&results_dir)).unwrap();
        let mut reader = csv::Reader::from_reader(csv.as_bytes());
        let header: Vec<String> = reader.headers().unwrap().iter().map(str::to_owned).collect();
        let rows = reader.records().count();
        text += &format!("{}: {rows} rows; {}\n", schema.name, header.join(","));
    }
    let mut settings = insta::Settings::clone_current();
    settings.set_snapshot_path(concat!(env!("CARGO_MANIFEST_DIR"), "/expected/snapshots"));
    settings.set_prepend_module_to_snapshot(false);
    settings.bind(|| insta::assert_snapshot!("tiny__table_shapes", text));
}

/// Every run writes `report.html` beside `report.md`: one self-contained page (nothing it refers to lies outside it:
/// no address, no other file) with every figure of the run embedded, which headless Chromium renders to a picture
/// (`scripts/render-report.sh` installs Debian's chromium when it is missing and it may, or fails saying so).
#[test]
fn the_run_writes_a_self_contained_report_html_that_renders() {
    let page = std::fs::read_to_string(tiny().join("report.html")).unwrap();
    // The findings of a run on the stand-ins say so, each beside the same statistic on the original's own numbers.
    let report = std::fs::read_to_string(tiny().join("report.md")).unwrap();
    assert!(report.contains("## Findings on the stand-ins"), "{report}");
    assert!(report.contains("| finding | in the original | group | original [95 %] | this run [95 %] | verdict |"));
    assert!(report.contains("| faces | 20.140 ["), "the original's gain on faces at test sigma 4:\n{report}");
    for reference in ["http://", "https://", "file://", "<link", "<script", "url("] {
        assert!(!page.contains(reference), "report.html refers outside itself: {reference}");
    }
    for attribute in ["src=\"", "href=\""] {
        for (at, _) in page.match_indices(attribute) {
            let target = &page[at + attribute.len()..];
            assert!(target.starts_with("data:") || target.starts_with('#'), "{}", &target[..target.len().min(60)]);
        }
    }
    let figures = std::fs::read_dir(tiny().join("figures"))
        .unwrap()
        .filter(|e| e.as_ref().unwrap().path().extension().is_some_and(|x| x == "svg"))
        .count();
    assert!(figures > 5 && page.matches("src=\"data:image/svg+xml;base64,").count() == figures, "{figures} figures");
    let dir = tempfile::tempdir().unwrap();
    let png = dir.path().join("report.png");
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/render-report.sh");
    let output =
        Command::new(script).arg(tiny().join("report.html")).arg(&png).args(["1280", "2400"]).output().unwrap();
    assert!(
        output.status.success(),
        "render-report.sh failed:\n{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    let bytes = std::fs::read(&png).unwrap();
    assert!(bytes.len() > 10_000 && bytes.starts_with(b"\x89PNG"), "{} bytes", bytes.len());
}
