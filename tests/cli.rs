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
        let status = binary().args(["blur", "--sigma", sigma]).arg(fixture("blur/input.png")).arg(&out).status().unwrap();
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
    assert!(binary().args(["blur", "--sigma", "0"]).arg(fixture("blur/input.png")).arg(&out).status().unwrap().success());
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
