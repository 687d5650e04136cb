//! Learning is tested: a small AlexNet trained for about 20 seconds on an easy stand-in (eight face identities, the
//! profile in `tests/fixtures/learning/learning.toml`) must learn, and a blurry-trained one must beat a
//! clear-trained one at its training sigma. The `tiny` regression pin (`tests/reproduce.rs`) checks that numbers
//! stay put; it cannot show that anything learns, since its models stay near chance.

use std::path::Path;
use std::process::Command;

/// Test accuracy (%) of `regime` at `test_sigma`, from the gathered `accuracy_vs_blur` table.
fn accuracy(table: &str, regime: &str, test_sigma: f64) -> f64 {
    let mut reader = csv::Reader::from_reader(table.as_bytes());
    let header = reader.headers().unwrap().clone();
    let column = |name: &str| header.iter().position(|h| h == name).unwrap();
    let (regime_at, sigma_at, accuracy_at) = (column("regime"), column("test_sigma"), column("accuracy_pct"));
    reader
        .records()
        .map(Result::unwrap)
        .find(|row| row[regime_at] == *regime && row[sigma_at].parse::<f64>().unwrap() == test_sigma)
        .unwrap_or_else(|| panic!("no {regime} row at test sigma {test_sigma} in\n{table}"))[accuracy_at]
        .parse()
        .unwrap()
}

#[test]
fn a_small_model_learns_and_a_blurry_one_is_better_under_blur() {
    let profile = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/learning/learning.toml");
    let dir = tempfile::tempdir().unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_blurry-to-clear"))
        .args(["reproduce", "--profile"])
        .arg(&profile)
        .args(["--only", "faces/clear", "--only", "faces/blurry", "--no-figures", "--threads", "2", "--out"])
        .arg(dir.path())
        .env("RUST_LOG", "warn")
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let table = std::fs::read_to_string(dir.path().join("learning/results/accuracy_vs_blur.csv")).unwrap();
    // Eight identities: chance is 12.5 %; 400 test images put a 95 % interval of about +-5 points around 50 %.
    let clear = accuracy(&table, "clear", 0.0);
    assert!(clear >= 50.0, "the clear model did not learn: {clear} % at sigma 0 (chance 12.5 %)\n{table}");
    let (blurry, clear_at_8) = (accuracy(&table, "blurry", 8.0), accuracy(&table, "clear", 8.0));
    assert!(
        blurry >= clear_at_8 + 10.0,
        "at its training sigma 8 the blurry model ({blurry} %) is not clearly better than the clear one \
         ({clear_at_8} %)\n{table}"
    );
}
