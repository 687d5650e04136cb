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
    use blurry_to_clear::protocol::{DatasetId, Profile};
    let dir = tempfile::tempdir().unwrap();
    let mut profile = Profile::load("paper").unwrap();
    profile.name = "paper-fixtures".into();
    profile.batch_size = 4;
    profile.eval_batch_size = 4;
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
    assert_eq!(stdout.lines().filter(|l| l.trim_start().starts_with("run ")).count(), 15, "{stdout}");
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
