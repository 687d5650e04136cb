//! SIGTERM (what a scheduler sends before pre-emption) and a second `reproduce` on a run in use, on the `tiny`
//! profile's `faces/blurry_to_clear` run, with the same pinned CPU kernels as `tests/reproduce.rs`.
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::Duration;

const RUN: [&str; 3] = ["--only", "faces/blurry_to_clear", "--no-figures"];

fn binary() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_blurry-to-clear"));
    command.env("ATEN_CPU_CAPABILITY", "default").env("ONEDNN_MAX_CPU_ISA", "SSE41").env("RUST_LOG", "warn");
    command
}

fn reproduce(out: &Path) -> Command {
    let mut command = binary();
    command.args(["reproduce", "--profile", "tiny", "--threads", "2", "--out"]).arg(out).args(RUN);
    command
}

fn run_ok(mut command: Command) -> Output {
    let output = command.output().unwrap();
    assert!(output.status.success(), "failed:\n{}", String::from_utf8_lossy(&output.stderr));
    output
}

fn signal(pid: u32, name: &str) {
    let status = Command::new("kill").args([&format!("-{name}"), &pid.to_string()]).status().unwrap();
    assert!(status.success(), "kill -{name} {pid}");
}

/// Every file under `dir`.
fn files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(next) = stack.pop() {
        for entry in std::fs::read_dir(&next).unwrap() {
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

fn status(out: &Path) -> String {
    let output = run_ok({
        let mut command = binary();
        command.arg("status").arg(out.join("tiny")).args(["--only", "faces/blurry_to_clear"]);
        command
    });
    String::from_utf8_lossy(&output.stdout).into_owned()
}

#[test]
fn sigterm_stops_at_a_safe_point_and_the_resumed_run_matches_an_uninterrupted_one() {
    let reference = tempfile::tempdir().unwrap();
    run_ok(reproduce(reference.path()));

    let out = tempfile::tempdir().unwrap();
    let run_dir = out.path().join("tiny/faces/blurry_to_clear/seed-0");
    let mut child = reproduce(out.path()).stdout(Stdio::null()).stderr(Stdio::piped()).spawn().unwrap();
    while !run_dir.join("checkpoints/epoch-001.safetensors").exists() && child.try_wait().unwrap().is_none() {
        std::thread::sleep(Duration::from_millis(20));
    }

    // A second `reproduce` of the same run stops at once, naming the first (held still meanwhile, so that it cannot
    // finish first).
    signal(child.id(), "STOP");
    let second = reproduce(out.path()).output().unwrap();
    signal(child.id(), "CONT");
    let err = String::from_utf8_lossy(&second.stderr);
    assert!(!second.status.success());
    assert!(err.contains(&format!("is in use by pid {} on host", child.id())), "{err}");

    signal(child.id(), "TERM");
    let output = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(143), "{err}");
    assert!(err.contains("interrupted by SIGTERM: stopped at a safe point"), "{err}");
    assert!(err.contains("Resume with the same command"), "{err}");
    assert!(err.contains("reproduce --profile tiny --threads 2 --out"), "{err}");
    assert!(!run_dir.join("stages/analyse.json").exists(), "the run finished before the signal");

    // Nothing half-done: no temporary file, no lock, every stage record and run table whole.
    for path in files(out.path()) {
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        assert!(!name.ends_with(".tmp") && name != "lock.json", "{} left behind", path.display());
        let parent = path.parent().unwrap().file_name().unwrap();
        if name.ends_with(".json") && (parent == "stages" || parent == "tables") {
            let bytes = std::fs::read(&path).unwrap();
            assert!(serde_json::from_slice::<serde_json::Value>(&bytes).is_ok(), "{} is not whole", path.display());
        }
    }
    let log = std::fs::read_to_string(run_dir.join("run.log")).unwrap();
    assert!(log.trim_end().ends_with("interrupted by SIGTERM; rerun the same command to resume"), "{log}");
    let report = status(out.path());
    assert!(report.contains("faces/blurry_to_clear  seed 0  stopped at epoch"), "{report}");

    run_ok(reproduce(out.path()));
    let log = std::fs::read_to_string(run_dir.join("run.log")).unwrap();
    assert!(log.contains("resuming"), "the rerun did not resume:\n{log}");
    let tables = |root: &Path| -> Vec<(String, Vec<u8>)> {
        let dir = root.join("tiny/faces/blurry_to_clear/seed-0/tables");
        files(&dir).iter().map(|p| (p.display().to_string(), std::fs::read(p).unwrap())).collect()
    };
    let (resumed, uninterrupted) = (tables(out.path()), tables(reference.path()));
    let names = |tables: &[(String, Vec<u8>)]| -> Vec<String> {
        tables.iter().map(|(p, _)| Path::new(p).file_name().unwrap().to_string_lossy().into_owned()).collect()
    };
    assert_eq!(names(&resumed), names(&uninterrupted), "every table of the run");
    assert!(names(&resumed).contains(&"test_predictions.csv".to_owned()), "{:?}", names(&resumed));
    for ((path, bytes), (_, expected)) in resumed.iter().zip(&uninterrupted) {
        assert!(bytes == expected, "{path} differs from the uninterrupted run's");
    }
    for table in ["accuracy_vs_blur", "erf"] {
        let csv = |root: &Path| std::fs::read(root.join(format!("tiny/results/{table}.csv"))).unwrap();
        assert!(csv(out.path()) == csv(reference.path()), "results/{table}.csv differs");
    }
    assert!(status(out.path()).contains("faces/blurry_to_clear  seed 0  done"));
}
