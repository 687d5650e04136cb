//! Whole-binary behaviour of the foundation commands: `blur` against kornia, `plan` against the protocol.
use std::path::Path;
use std::process::Command;

fn binary() -> Command {
    Command::new(env!("CARGO_BIN_EXE_blurry-to-clear"))
}

fn fixture(name: &str) -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(name)
}

fn pixels(path: &Path) -> Vec<u8> {
    image::open(path).unwrap().to_rgb8().into_raw()
}

#[test]
fn blur_matches_kornia_within_one_level() {
    let dir = tempfile::tempdir().unwrap();
    for sigma in ["0.5", "1.5", "3.0", "7.0"] {
        let out = dir.path().join(format!("out-{sigma}.png"));
        let status =
            binary().args(["blur", "--sigma", sigma]).arg(fixture("blur/input.png")).arg(&out).status().unwrap();
        assert!(status.success(), "blur --sigma {sigma} failed");
        let ours = pixels(&out);
        let kornia = pixels(&fixture(&format!("blur/kornia-sigma-{sigma}.png")));
        assert_eq!(ours.len(), kornia.len());
        let worst = ours.iter().zip(&kornia).map(|(a, b)| a.abs_diff(*b)).max().unwrap();
        assert!(worst <= 1, "sigma {sigma}: a pixel differs from kornia by {worst}/255");
        assert_ne!(ours, pixels(&fixture("blur/input.png")), "sigma {sigma} changed nothing");
    }
}

#[test]
fn blur_with_sigma_zero_copies_the_image_and_bad_input_fails_clearly() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("same.png");
    assert!(binary()
        .args(["blur", "--sigma", "0"])
        .arg(fixture("blur/input.png"))
        .arg(&out)
        .status()
        .unwrap()
        .success());
    assert_eq!(pixels(&out), pixels(&fixture("blur/input.png")));

    let missing = binary().args(["blur", "--sigma", "1"]).arg(dir.path().join("nope.png")).arg(&out).output().unwrap();
    assert!(!missing.status.success());
    assert!(String::from_utf8_lossy(&missing.stderr).contains("nope.png"));

    let too_big = binary().args(["blur", "--sigma", "20"]).arg(fixture("blur/input.png")).arg(&out).output().unwrap();
    assert!(!too_big.status.success());
    assert!(String::from_utf8_lossy(&too_big.stderr).contains("too small"));
}

#[test]
fn plan_prints_one_row_per_iteration_with_the_regimes_sigma() {
    let out = binary()
        .args(["plan", "--profile", "paper", "--dataset", "faces", "--regime", "blurry_to_clear"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8(out.stdout).unwrap();
    let rows: Vec<Vec<&str>> = text.lines().skip(1).map(|l| l.split(',').collect()).collect();
    assert_eq!(text.lines().next(), Some("epoch,iteration,sigma,lr"));
    assert_eq!(rows.len(), 100 * 91);
    assert_eq!(rows[0][..3], ["1", "0", "8"]);
    assert_eq!(rows[20 * 91][..3], ["21", "1820", "4"]);
    assert_eq!(rows[9099][..3], ["100", "9099", "0"]);
    let first_lr: f64 = rows[0][3].parse().unwrap();
    assert!((first_lr - 1e-5).abs() < 1e-12);
}

#[test]
fn plan_rejects_unknown_names_listing_the_valid_ones() {
    for (flag, value, listed) in [
        ("--dataset", "cifar", "toybox_category"),
        ("--regime", "sharp", "blurry_to_clear"),
        ("--profile", "huge", "paper-uniform"),
    ] {
        let mut args = vec!["plan", "--profile", "paper", "--dataset", "faces", "--regime", "clear"];
        let at = args.iter().position(|a| *a == flag).unwrap();
        args[at + 1] = value;
        let out = binary().args(&args).output().unwrap();
        assert!(!out.status.success());
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(value) && err.contains(listed), "{err}");
    }
}

/// `reproduce --preflight` on the fixture datasets: the `paper` profile's code path (real data, 224 px, every run's
/// schedule) with the fixtures' class counts and split sizes and a batch of 4, on CPU.
#[test]
fn preflight_passes_on_the_fixture_datasets() {
    use blurry_to_clear::protocol::Profile;
    use blurry_to_clear::vocab::DatasetId;
    let dir = tempfile::tempdir().unwrap();
    let mut profile = Profile::load("paper").unwrap();
    profile.name = "paper-fixtures".into();
    profile.batch_size = 4;
    profile.eval_batch_size = 4;
    // The faces fixture holds non-square images on purpose (`paper`'s refusal of them is tested in src/data/cache.rs).
    profile.non_square_test_images = blurry_to_clear::protocol::NonSquarePolicy::CentreCrop;
    // One checkpoint's analyses are timed at 224 px: two Gabor restarts keep the test short.
    profile.analysis.gabor_restarts = 2;
    for (dataset, classes, [train, val, test]) in [
        (DatasetId::Faces, 3, [6, 3, 3]),
        (DatasetId::ToyboxInstance, 360, [360, 12, 12]),
        (DatasetId::ToyboxCategory, 12, [24, 12, 12]),
        (DatasetId::In12, 12, [12, 12, 12]),
        (DatasetId::In100, 3, [6, 3, 3]),
    ] {
        let spec = profile.datasets.get_mut(&dataset).unwrap();
        (spec.classes, spec.train_images, spec.val_images, spec.test_images) = (classes, train, val, test);
        spec.train_subsample = None;
        std::os::unix::fs::symlink(fixture(&format!("{dataset}/canonical")), dir.path().join(dataset.name())).unwrap();
    }
    let profile_file = dir.path().join("paper-fixtures.toml");
    std::fs::write(&profile_file, toml::to_string(&profile).unwrap()).unwrap();
    let out = binary()
        .args(["reproduce", "--preflight", "--device", "cpu", "--profile"])
        .arg(&profile_file)
        .arg("--data-root")
        .arg(dir.path())
        .arg("--out")
        .arg(dir.path().join("runs"))
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout.contains("preflight passed"), "{stdout}");
    // The 15 runs and `paper`'s variant of in12/blurry (the original's IN12_full_blur_2).
    assert_eq!(stdout.lines().filter(|l| l.trim_start().starts_with("run ")).count(), 16, "{stdout}");
    assert!(stdout.contains("in12/blurry (IN12_full_blur_2)"), "{stdout}");
    // One checkpoint's analyses, by analysis, counted for every analysed checkpoint of the 16 runs (10 each).
    let analyses = stdout.lines().find(|l| l.trim_start().starts_with("analyse")).unwrap_or_default();
    for part in ["rf moments", "Gabor fits", "spatial frequency", "ERF", "160 checkpoints"] {
        assert!(analyses.contains(part), "{part}: {stdout}");
    }
    let time = stdout.lines().find(|l| l.trim_start().starts_with("time")).unwrap_or_default();
    assert!(time.contains("analyses") && time.contains("caches"), "{stdout}");
    assert!(!dir.path().join("runs").exists(), "preflight must not write run outputs");
}

/// `--help` of the binary and of every subcommand, as insta snapshots under `expected/snapshots/`: a changed
/// option or description shows up in review.
#[test]
fn help_of_every_command_matches_its_snapshot() {
    let commands: &[&[&str]] = &[
        &[],
        &["reproduce"],
        &["plan"],
        &["blur"],
        &["data"],
        &["data", "verify"],
        &["data", "synth"],
        &["data", "import"],
        &["receptive-fields"],
        &["spatial-frequency"],
        &["erf"],
        &["figures"],
        &["verify"],
        &["report"],
        &["import-reference"],
        &["status"],
        &["calibrate-standins"],
    ];
    let mut settings = insta::Settings::clone_current();
    settings.set_snapshot_path(concat!(env!("CARGO_MANIFEST_DIR"), "/expected/snapshots"));
    settings.set_prepend_module_to_snapshot(false);
    settings.bind(|| {
        for command in commands {
            let out = binary().args(*command).arg("--help").output().unwrap();
            assert!(out.status.success(), "{command:?} --help failed");
            let name = if command.is_empty() { "main".to_owned() } else { command.join("_") };
            insta::assert_snapshot!(format!("help__{name}"), String::from_utf8(out.stdout).unwrap());
        }
    });
}

/// A command's stderr, for messages.
fn stderr_of(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn threads_below_one_are_refused_with_a_message_not_a_panic() {
    let out = binary().args(["reproduce", "--profile", "tiny", "--threads", "0"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", stderr_of(&out));
    let err = stderr_of(&out);
    assert!(err.contains("--threads") && err.contains("'0'") && !err.contains("panicked"), "{err}");
}

/// `plan ... | head -1`: the reader goes away after one line, and the command ends quietly (killed by SIGPIPE, as
/// Unix tools are, or exiting 0), printing neither a panic nor "Broken pipe".
#[test]
fn a_closed_pipe_ends_the_command_quietly() {
    use std::io::{BufRead, BufReader};
    use std::os::unix::process::ExitStatusExt;
    use std::process::Stdio;
    let mut child = binary()
        .args(["plan", "--profile", "paper", "--dataset", "faces", "--regime", "clear"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = String::new();
    BufReader::new(child.stdout.take().unwrap()).read_line(&mut first).unwrap();
    assert_eq!(first, "epoch,iteration,sigma,lr\n");
    // The reader is dropped here: 9,100 rows (about 300 kB) cannot all fit in the pipe.
    let out = child.wait_with_output().unwrap();
    let err = stderr_of(&out);
    assert!(!err.contains("panicked") && !err.contains("Broken pipe"), "{err}");
    assert!(out.status.success() || out.status.signal() == Some(13), "{:?}: {err}", out.status);
}

#[test]
fn reproduce_without_a_profile_lists_the_profiles() {
    let out = binary().arg("reproduce").output().unwrap();
    assert!(!out.status.success());
    let err = stderr_of(&out);
    assert!(err.contains("--profile") && err.contains("mini, paper, paper-uniform, tiny"), "{err}");
}

#[test]
fn analysis_resolution_is_bounded_and_read_from_the_runs_record() {
    let checkpoint = fixture("analysis/alexnet-seed0.safetensors");
    let out = binary().arg("erf").arg(&checkpoint).args(["--resolution", "100000"]).output().unwrap();
    assert!(!out.status.success());
    assert!(stderr_of(&out).contains("limit of 1024 px"), "{}", stderr_of(&out));

    // The same checkpoint inside a run directory whose run.json records 64 px.
    let dir = tempfile::tempdir().unwrap();
    let in_run = dir.path().join("seed-0/checkpoints/epoch-010.safetensors");
    std::fs::create_dir_all(in_run.parent().unwrap()).unwrap();
    std::fs::copy(&checkpoint, &in_run).unwrap();
    std::fs::write(dir.path().join("seed-0/run.json"), r#"{"train_hash": "x", "run": {"resolution": 64}}"#).unwrap();
    let erf = |path: &Path, extra: &[&str]| {
        let out = binary().arg("erf").arg(path).args(["--noise-images", "2"]).args(extra).output().unwrap();
        assert!(out.status.success(), "{}", stderr_of(&out));
        (String::from_utf8_lossy(&out.stdout).into_owned(), stderr_of(&out))
    };
    let (at_64, _) = erf(&checkpoint, &["--resolution", "64"]);
    let (from_record, _) = erf(&in_run, &[]);
    assert_eq!(from_record, at_64, "without --resolution, the run's 64 px");
    let (at_80, warning) = erf(&in_run, &["--resolution", "80"]);
    assert_ne!(at_80, at_64, "--resolution wins");
    assert!(warning.contains("differs") && warning.contains("run.json"), "{warning}");
}

#[test]
fn blur_writes_the_format_of_the_extension_into_an_existing_directory_only() {
    let dir = tempfile::tempdir().unwrap();
    let blur = |output: &Path| {
        let mut command = binary();
        command.args(["blur", "--sigma", "1.5"]).arg(fixture("blur/input.png")).arg(output);
        command
    };

    let missing = dir.path().join("no/such/dir/out.png");
    let out = blur(&missing).output().unwrap();
    assert!(!out.status.success());
    assert!(
        stderr_of(&out).contains("no/such/dir") && stderr_of(&out).contains("does not exist"),
        "{}",
        stderr_of(&out)
    );
    assert!(!dir.path().join("no").exists(), "blur created the missing directory");

    let out = blur(&dir.path().join("out.gif")).output().unwrap();
    assert!(!out.status.success());
    assert!(stderr_of(&out).contains(".png, .jpg or .jpeg"), "{}", stderr_of(&out));

    let (png, jpg) = (dir.path().join("out.png"), dir.path().join("out.JPG"));
    assert!(blur(&png).status().unwrap().success());
    assert!(blur(&jpg).status().unwrap().success());
    assert_eq!(std::fs::read(&jpg).unwrap()[..2], [0xFF, 0xD8], "a .jpg holds a JPEG");
    assert_eq!(image::ImageFormat::from_path(&png).unwrap(), image::ImageFormat::Png);
    assert_eq!(&std::fs::read(&png).unwrap()[1..4], b"PNG");
    // JPEG at quality 95 stays close to the exact blurred pixels.
    let (exact, lossy) = (pixels(&png), pixels(&jpg));
    let mean_error = exact.iter().zip(&lossy).map(|(a, b)| f64::from(a.abs_diff(*b))).sum::<f64>() / exact.len() as f64;
    assert!(mean_error < 3.0, "mean JPEG error {mean_error}");
}

/// The binary reads `paper/` from the project it is run in (or `--project`), not from where it was built: a copy of
/// it, run in a copy of the project holding a profile only the copy has, finds that profile; with no project, it
/// says what it looked for.
#[test]
fn the_project_is_found_from_the_working_directory_or_project_option() {
    let dir = tempfile::tempdir().unwrap();
    let bin = dir.path().join("blurry-to-clear");
    std::fs::copy(env!("CARGO_BIN_EXE_blurry-to-clear"), &bin).unwrap();
    let project = dir.path().join("clone");
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    std::fs::create_dir_all(project.join("paper/protocol")).unwrap();
    std::fs::create_dir_all(project.join("expected")).unwrap();
    std::fs::copy(root.join("Cargo.toml"), project.join("Cargo.toml")).unwrap();
    let tiny = std::fs::read_to_string(root.join("paper/protocol/tiny.toml")).unwrap();
    let only_here = tiny.replacen("name = \"tiny\"", "name = \"only-here\"", 1);
    std::fs::write(project.join("paper/protocol/only-here.toml"), only_here).unwrap();
    let elsewhere = dir.path().join("elsewhere");
    std::fs::create_dir_all(&elsewhere).unwrap();

    let plan = |cwd: &Path, extra: &[&str]| {
        std::process::Command::new(&bin)
            .current_dir(cwd)
            .args(extra)
            .args(["plan", "--profile", "only-here", "--dataset", "faces", "--regime", "clear"])
            .output()
            .unwrap()
    };
    let last_epoch = |out: &std::process::Output| {
        assert!(out.status.success(), "{}", stderr_of(out));
        String::from_utf8_lossy(&out.stdout).lines().last().unwrap().split(',').next().unwrap().to_owned()
    };
    assert_eq!(last_epoch(&plan(&project.join("paper"), &[])), "5", "found from a subdirectory of the project");
    assert_eq!(last_epoch(&plan(&elsewhere, &["--project", project.to_str().unwrap()])), "5");

    let out = plan(&elsewhere, &[]);
    assert!(!out.status.success());
    let err = stderr_of(&out);
    assert!(err.contains("no blurry-to-clear project found") && err.contains("paper/protocol/"), "{err}");
    assert!(err.contains("--project") && err.contains(elsewhere.to_str().unwrap()), "{err}");
    let out = plan(&elsewhere, &["--project", elsewhere.to_str().unwrap()]);
    assert!(
        stderr_of(&out).contains("is not a blurry-to-clear project: no directory paper/protocol/"),
        "{}",
        stderr_of(&out)
    );
    // A command that needs no project runs anywhere.
    let out = std::process::Command::new(&bin)
        .current_dir(&elsewhere)
        .args(["blur", "--sigma", "1"])
        .arg(fixture("blur/input.png"))
        .arg(elsewhere.join("out.png"))
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
}

/// Preflight lists every problem before failing: here two missing datasets, while the run whose data exists is
/// still tried.
#[test]
fn preflight_lists_every_missing_dataset() {
    use blurry_to_clear::protocol::Profile;
    use blurry_to_clear::vocab::DatasetId;
    let dir = tempfile::tempdir().unwrap();
    let mut profile = Profile::load("paper").unwrap();
    profile.name = "paper-fixtures".into();
    (profile.batch_size, profile.eval_batch_size) = (4, 4);
    profile.non_square_test_images = blurry_to_clear::protocol::NonSquarePolicy::CentreCrop;
    let faces = profile.datasets.get_mut(&DatasetId::Faces).unwrap();
    (faces.classes, faces.train_images, faces.val_images, faces.test_images) = (3, 6, 3, 3);
    std::os::unix::fs::symlink(fixture("faces/canonical"), dir.path().join("faces")).unwrap();
    let profile_file = dir.path().join("paper-fixtures.toml");
    std::fs::write(&profile_file, toml::to_string(&profile).unwrap()).unwrap();
    let out = binary()
        .args(["reproduce", "--preflight", "--device", "cpu", "--profile"])
        .arg(&profile_file)
        .args(["--only", "faces/clear", "--only", "in12/clear", "--only", "in100/clear", "--data-root"])
        .arg(dir.path())
        .arg("--out")
        .arg(dir.path().join("runs"))
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(!out.status.success(), "{stdout}");
    assert!(stdout.contains("preflight found 2 problem(s)"), "{stdout}");
    // Each missing dataset is named with where to get it and the import command, aimed at the data root.
    for (missing, source) in [("in12", "ask them for its `IN-12/`"), ("in100", "Kaggle dataset ambityga/imagenet100")] {
        let root = dir.path().join(missing);
        let line = stdout.lines().find(|l| l.contains(&format!("problem: data {missing}:"))).unwrap_or_default();
        assert!(line.contains(&format!("{} does not exist", root.display())), "{stdout}");
        assert!(line.contains(source) && line.contains(&format!("--out {}", root.display())), "{line}");
    }
    assert!(stdout.lines().any(|l| l.trim_start().starts_with("run    faces/clear")), "{stdout}");
    assert!(stderr_of(&out).contains("2 problem(s)"), "{}", stderr_of(&out));
}

/// A profile meant for CUDA that `--device auto` would run on the CPU is warned about, and the log on a pipe (as in
/// a file) carries no colour codes.
#[test]
fn a_cuda_profile_on_the_cpu_is_warned_about_in_plain_text() {
    if tch::Cuda::is_available() {
        return; // the warning is for machines without a GPU
    }
    let dir = tempfile::tempdir().unwrap();
    let tiny = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("paper/protocol/tiny.toml")).unwrap();
    let profile_file = dir.path().join("cuda-tiny.toml");
    // Real data and no --data-root: the command stops right after the warning, before anything is trained.
    let cuda_tiny = tiny.replacen("device = \"cpu\"", "device = \"cuda\"", 1).replacen("\"synthetic\"", "\"real\"", 1);
    std::fs::write(&profile_file, cuda_tiny).unwrap();
    let out = binary()
        .args(["reproduce", "--profile"])
        .arg(&profile_file)
        .arg("--out")
        .arg(dir.path().join("runs"))
        .output()
        .unwrap();
    let err = stderr_of(&out);
    assert!(!out.status.success() && err.contains("--data-root"), "{err}");
    assert!(err.contains("meant for a CUDA GPU") && err.contains("--device cpu"), "{err}");
    assert!(!err.contains('\u{1b}'), "colour codes in a log that is not a terminal: {err:?}");
}
