//! Whole-binary behaviour of `data import`, `data verify` and `data synth` on the fixtures of
//! `tests/fixtures/<dataset>/` (made by `tests/fixtures/make_data_fixtures.py` and `data import`).
use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use blurry_to_clear::data::verify::ProblemKind;
use blurry_to_clear::provenance;
use blurry_to_clear::vocab::DatasetId;

#[path = "common/dataset_roots.rs"]
mod dataset_roots;
use dataset_roots::{copy_dir, rehash};

const DATASETS: [&str; 5] = ["faces", "toybox_instance", "toybox_category", "in12", "in100"];

fn crate_dir() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn fixture(dataset: &str, part: &str) -> PathBuf {
    crate_dir().join("tests/fixtures").join(dataset).join(part)
}

/// Run the binary from the crate root; returns (success, stdout, stderr).
fn data(args: &[&str]) -> (bool, String, String) {
    let Output { status, stdout, stderr } = Command::new(env!("CARGO_BIN_EXE_blurry-to-clear"))
        .arg("data")
        .args(args)
        .current_dir(crate_dir())
        .output()
        .unwrap();
    (status.success(), String::from_utf8_lossy(&stdout).into_owned(), String::from_utf8_lossy(&stderr).into_owned())
}

fn verify(dataset: &str, root: &Path) -> (bool, String, String) {
    data(&["verify", "--dataset", dataset, "--root", root.to_str().unwrap()])
}

/// Label of each image, keyed by the image's SHA-256.
fn labels_by_image(root: &Path) -> BTreeMap<String, String> {
    let mut labels = BTreeMap::new();
    for split in ["train", "val", "test"] {
        let Ok(mut reader) = csv::Reader::from_path(root.join(format!("{split}.csv"))) else { continue };
        for record in reader.records() {
            let record = record.unwrap();
            labels.insert(provenance::sha256_file(&root.join(&record[0])).unwrap(), format!("{split}:{}", &record[1]));
        }
    }
    labels
}

fn column(root: &Path, split: &str, name: &str) -> Vec<String> {
    let mut reader = csv::Reader::from_path(root.join(format!("{split}.csv"))).unwrap();
    let index = reader.headers().unwrap().iter().position(|h| h == name).unwrap();
    reader.records().map(|r| r.unwrap()[index].to_owned()).collect()
}

#[test]
fn every_canonical_fixture_verifies() {
    for dataset in DATASETS {
        let (ok, stdout, stderr) = verify(dataset, &fixture(dataset, "canonical"));
        assert!(ok, "{dataset}: {stderr}");
        assert!(stdout.starts_with("ok: "), "{dataset}: {stdout}");
    }
}

#[test]
fn original_importer_reproduces_the_committed_fixtures() {
    let dir = tempfile::tempdir().unwrap();
    for dataset in DATASETS {
        let out = dir.path().join(dataset);
        let source = format!("tests/fixtures/{dataset}/original");
        let (ok, _, stderr) = data(&[
            "import",
            "--dataset",
            dataset,
            "--from",
            "original",
            "--source",
            &source,
            "--out",
            out.to_str().unwrap(),
        ]);
        assert!(ok, "{dataset}: {stderr}");
        assert_eq!(
            fs::read_to_string(out.join("SHA256SUMS")).unwrap(),
            fs::read_to_string(fixture(dataset, "canonical/SHA256SUMS")).unwrap(),
            "{dataset}: the importer's output changed"
        );
    }
}

#[test]
fn original_labels_follow_the_original_code() {
    // Toybox instance level: Class ID * 30 + Object - 1 (the fixture's training split has objects 1..=30 of every
    // category, in order).
    let root = fixture("toybox_instance", "canonical");
    let labels = column(&root, "train", "label");
    assert_eq!(labels.len(), 360);
    assert_eq!((labels[0].as_str(), labels[37].as_str(), labels[359].as_str()), ("0", "37", "359"));
    assert_eq!(column(&root, "train", "category")[37], "ball");
    assert_eq!(column(&root, "train", "object")[37], "8");
    // Category level: the Class ID.
    let root = fixture("toybox_category", "canonical");
    assert_eq!(column(&root, "val", "label"), (0..12).map(|c| c.to_string()).collect::<Vec<_>>());
    // FaceScrub: the index among the sorted identities, whatever the row order.
    let root = fixture("faces", "canonical");
    assert_eq!(column(&root, "train", "identity")[..3], ["Adam Sandler", "Anne Hathaway", "Bruce Willis"]);
    assert_eq!(column(&root, "train", "label"), ["0", "1", "2", "0", "1", "2"]);
}

#[test]
fn folder_importers_agree_with_the_original_importer() {
    let dir = tempfile::tempdir().unwrap();
    for (dataset, format, source) in [
        ("faces", "folder-per-class", "folders"),
        ("in12", "folder-per-class", "folders"),
        ("in100", "imagenet100-kaggle", "kaggle"),
    ] {
        let out = dir.path().join(dataset);
        let source = fixture(dataset, source);
        let (ok, _, stderr) = data(&[
            "import",
            "--dataset",
            dataset,
            "--from",
            format,
            "--source",
            source.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
        ]);
        assert!(ok, "{dataset}: {stderr}");
        assert_eq!(labels_by_image(&out), labels_by_image(&fixture(dataset, "canonical")), "{dataset}");
    }
    // Labels.json names the ImageNet-100 classes.
    let toml = fs::read_to_string(dir.path().join("in100/dataset.toml")).unwrap();
    assert!(toml.contains("\"tench, Tinca tinca\""), "{toml}");
}

#[test]
fn importers_refuse_what_they_cannot_read() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let out = out.to_str().unwrap();
    let folders = fixture("faces", "folders");
    let (ok, _, stderr) = data(&[
        "import",
        "--dataset",
        "toybox_instance",
        "--from",
        "folder-per-class",
        "--source",
        folders.to_str().unwrap(),
        "--out",
        out,
    ]);
    assert!(!ok && stderr.contains("--from original"), "{stderr}");
    // A pickle with one image fewer than its CSV has rows.
    let source = dir.path().join("faces-original");
    copy_dir(&fixture("faces", "original"), &source);
    fs::copy(source.join("val.pickle"), source.join("test.pickle")).unwrap();
    fs::write(source.join("test.csv"), "category\nAdam Sandler\nAnne Hathaway\nBruce Willis\nAdam Sandler\n").unwrap();
    let (ok, _, stderr) = data(&[
        "import",
        "--dataset",
        "faces",
        "--from",
        "original",
        "--source",
        source.to_str().unwrap(),
        "--out",
        out,
    ]);
    assert!(!ok && stderr.contains("holds 3 images but test.csv has 4 rows"), "{stderr}");
    let (ok, _, stderr) =
        data(&["import", "--dataset", "faces", "--from", "original", "--source", "/nonexistent", "--out", out]);
    assert!(!ok && stderr.contains("does not exist"), "{stderr}");
}

/// Copy the faces fixture, break it with `edit`, and return the kinds of problem `data verify` finds (asserting
/// it found some), with the problems themselves for their messages.
fn broken(edit: impl FnOnce(&Path)) -> (Vec<ProblemKind>, String) {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("faces");
    copy_dir(&fixture("faces", "canonical"), &root);
    edit(&root);
    let report = blurry_to_clear::data::verify::verify(DatasetId::Faces, &root).unwrap();
    assert!(!report.is_ok(), "verify accepted a broken root");
    let text = report.problems.iter().map(|p| format!("{p}\n")).collect();
    (report.problems.iter().map(|p| p.kind).collect(), text)
}

/// Replace the first occurrence of `from` in a split CSV.
fn edit_csv(root: &Path, split: &str, from: &str, to: &str) {
    let path = root.join(format!("{split}.csv"));
    let text = fs::read_to_string(&path).unwrap();
    assert!(text.contains(from), "{from} not in {split}.csv");
    fs::write(&path, text.replacen(from, to, 1)).unwrap();
}

#[test]
fn verify_rejects_each_kind_of_bad_input() {
    use ProblemKind as K;
    let (ok, _, stderr) = verify("faces", Path::new("/nonexistent/faces"));
    assert!(!ok && stderr.contains("does not exist") && stderr.contains("data import"), "{stderr}");

    let (kinds, _) = broken(|root| {
        fs::remove_file(root.join("val.csv")).unwrap();
        rehash(root);
    });
    assert_eq!(kinds, [K::MissingFile]);

    let (kinds, text) = broken(|root| {
        let image = root.join("train/0000/000000.jpg");
        let bytes = fs::read(&image).unwrap();
        fs::write(&image, &bytes[..bytes.len() - 40]).unwrap();
        rehash(root);
    });
    assert_eq!(kinds, [K::Undecodable]);
    assert!(text.contains("train/0000/000000.jpg: the JPEG is truncated"), "{text}");

    let (kinds, _) = broken(|root| {
        fs::write(root.join("test/0002/000002.jpg"), b"this is not an image").unwrap();
        rehash(root);
    });
    assert_eq!(kinds, [K::Undecodable]);

    let (kinds, text) = broken(|root| {
        edit_csv(root, "val", "val/0001/000001.jpg,1,", "val/0001/000001.jpg,7,");
        rehash(root);
    });
    assert_eq!(kinds, [K::LabelOutOfRange]);
    assert!(text.contains("val.csv: line 3: label 7 is outside 0..3"), "{text}");

    let (kinds, _) = broken(|root| {
        edit_csv(root, "val", "val/0001/000001.jpg,1,", "val/0001/000001.jpg,-1,");
        rehash(root);
    });
    assert_eq!(kinds, [K::LabelOutOfRange]);

    let (kinds, text) = broken(|root| {
        let toml = fs::read_to_string(root.join("dataset.toml")).unwrap();
        let toml = toml
            .replace("classes = 3", "classes = 4")
            .replace("\"Bruce Willis\"]", "\"Bruce Willis\", \"Cate Blanchett\"]");
        fs::write(root.join("dataset.toml"), toml).unwrap();
        rehash(root);
    });
    assert_eq!(kinds, [K::MissingClass]);
    assert!(text.contains("1 of 4 classes have no training images: 3 (Cate Blanchett)"), "{text}");

    let (kinds, _) = broken(|root| {
        let image = root.join("train/0001/000001.jpg");
        let mut bytes = fs::read(&image).unwrap();
        bytes[200] ^= 0x01;
        fs::write(&image, bytes).unwrap();
    });
    assert_eq!(kinds, [K::HashMismatch]);

    let (kinds, _) = broken(|root| {
        let csv: String = fs::read_to_string(root.join("test.csv"))
            .unwrap()
            .lines()
            .map(|l| l.split(',').take(2).collect::<Vec<_>>().join(",") + "\n")
            .collect();
        fs::write(root.join("test.csv"), csv).unwrap();
        rehash(root);
    });
    assert_eq!(kinds, [K::BadCsv]);

    let (kinds, _) = broken(|root| fs::write(root.join("train/notes.txt"), b"x").unwrap());
    assert_eq!(kinds, [K::NotInManifest, K::Unreferenced]);

    let (kinds, _) = broken(|root| {
        fs::remove_file(root.join("test/0002/000002.jpg")).unwrap();
    });
    assert_eq!(kinds, [K::MissingFile, K::MissingFile]);
}

/// A small PNG whose header declares `width` x `height` pixels (the chunk's CRC re-sealed, so that only the size is
/// wrong with it).
fn png_declaring(width: u32, height: u32) -> Vec<u8> {
    let mut bytes = Vec::new();
    let image = image::RgbImage::new(4, 4);
    image.write_to(&mut std::io::Cursor::new(&mut bytes), image::ImageFormat::Png).unwrap();
    bytes[16..20].copy_from_slice(&width.to_be_bytes());
    bytes[20..24].copy_from_slice(&height.to_be_bytes());
    let mut crc = 0xFFFF_FFFFu32;
    for &byte in &bytes[12..29] {
        crc ^= u32::from(byte);
        for _ in 0..8 {
            crc = if crc & 1 == 1 { (crc >> 1) ^ 0xEDB8_8320 } else { crc >> 1 };
        }
    }
    bytes[29..33].copy_from_slice(&(!crc).to_be_bytes());
    bytes
}

#[test]
fn verify_refuses_hostile_paths_and_images() {
    use ProblemKind as K;
    // A CSV path out of the root, absolute, and through a symbolic link that leads out.
    for path in ["../../secret.jpg", "/etc/passwd", "val/0001/link.jpg"] {
        let (kinds, text) = broken(|root| {
            fs::write(root.parent().unwrap().join("secret.jpg"), b"outside").unwrap();
            std::os::unix::fs::symlink(root.parent().unwrap().join("secret.jpg"), root.join("val/0001/link.jpg"))
                .unwrap();
            edit_csv(root, "val", "val/0001/000001.jpg,", &format!("{path},"));
            rehash(root);
        });
        assert!(kinds.contains(&K::PathEscapesRoot), "{path}: {kinds:?}");
        assert!(text.contains(&format!("val.csv: line 3: the path '{path}' is not inside the root")), "{text}");
    }
    // A manifest entry that climbs out is never hashed.
    let (kinds, _) = broken(|root| {
        let mut manifest = fs::read_to_string(root.join("SHA256SUMS")).unwrap();
        manifest.push_str(&format!("{}  ../../../../etc/hostname\n", "0".repeat(64)));
        fs::write(root.join("SHA256SUMS"), manifest).unwrap();
    });
    assert_eq!(kinds, [K::PathEscapesRoot]);
    // A decompression bomb and a 16-bit image, listed and hashed like any other image.
    let (kinds, text) = broken(|root| {
        fs::write(root.join("test/0002/000002.jpg"), png_declaring(60_000, 60_000)).unwrap();
        rehash(root);
    });
    assert_eq!(kinds, [K::TooLarge]);
    assert!(text.contains("declares 60000x60000 px"), "{text}");
    let (kinds, _) = broken(|root| {
        let deep: image::ImageBuffer<image::Rgb<u16>, Vec<u16>> = image::ImageBuffer::new(8, 8);
        deep.save_with_format(root.join("test/0002/000002.jpg"), image::ImageFormat::Png).unwrap();
        rehash(root);
    });
    assert_eq!(kinds, [K::WrongPixelFormat]);
}

/// What a reviewer sees: every problem on its own line, the count, exit code 1.
#[test]
fn verify_prints_every_problem_and_exits_1() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("faces");
    copy_dir(&fixture("faces", "canonical"), &root);
    let image = root.join("train/0001/000001.jpg");
    let mut bytes = fs::read(&image).unwrap();
    bytes[200] ^= 0x01;
    fs::write(&image, bytes).unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_blurry-to-clear"))
        .args(["data", "verify", "--dataset", "faces", "--root"])
        .arg(&root)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains(&format!("problem: {}: SHA-256 is", image.display())), "{stderr}");
    assert!(stderr.contains("SHA256SUMS says") && stderr.contains("re-create the root with `data import`"), "{stderr}");
    assert!(stderr.contains("error: 1 problem(s) in"), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}

#[test]
fn verify_checks_toybox_labels_against_category_and_object() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("toybox_instance");
    copy_dir(&fixture("toybox_instance", "canonical"), &root);
    // Row 2 is airplane object 2 (label 1); claim label 2.
    let csv = fs::read_to_string(root.join("train.csv")).unwrap().replacen(
        "train/0001/000001.png,1,",
        "train/0001/000001.png,2,",
        1,
    );
    fs::write(root.join("train.csv"), csv).unwrap();
    rehash(&root);
    let report = blurry_to_clear::data::verify::verify(DatasetId::ToyboxInstance, &root).unwrap();
    let kinds: Vec<ProblemKind> = report.problems.iter().map(|p| p.kind).collect();
    // Object 2 of airplane (label 1) now has no training image either.
    assert_eq!(kinds, [ProblemKind::LabelMismatch, ProblemKind::MissingClass]);
    let what = &report.problems[0].what;
    assert!(what.contains("label 2 does not match category_id 0 and object 2 (expected 1)"), "{what}");
}

/// The `tiny` profile with sizes every stand-in accepts and small enough for a test.
fn test_profile(dir: &Path) -> PathBuf {
    let text = fs::read_to_string(crate_dir().join("paper/protocol/tiny.toml")).unwrap();
    let mut profile: toml::Table = text.parse().unwrap();
    profile.insert("name".into(), "data-test".into());
    profile.insert("batch_size".into(), 8.into());
    let datasets = profile.get_mut("datasets").unwrap().as_table_mut().unwrap();
    for (dataset, classes, objects) in [
        ("faces", 4, None),
        ("toybox_instance", 24, Some(2)),
        ("toybox_category", 12, Some(5)),
        ("in12", 12, None),
        ("in100", 6, None),
    ] {
        let spec = datasets.get_mut(dataset).unwrap().as_table_mut().unwrap();
        spec.insert("classes".into(), classes.into());
        if let Some(objects) = objects {
            spec.insert("objects_per_category".into(), objects.into());
        }
        for (split, images) in [("train_images", classes.max(12) * 2), ("val_images", 12), ("test_images", 12)] {
            spec.insert(split.into(), images.into());
        }
    }
    let path = dir.join("data-test.toml");
    fs::write(&path, toml::to_string(&profile).unwrap()).unwrap();
    path
}

#[test]
fn synth_writes_stand_ins_that_verify_and_repeat_byte_for_byte() {
    let dir = tempfile::tempdir().unwrap();
    let profile = test_profile(dir.path());
    let profile = profile.to_str().unwrap();
    for dataset in DATASETS {
        let out = dir.path().join(dataset);
        let (ok, stdout, stderr) =
            data(&["synth", "--dataset", dataset, "--profile", profile, "--out", out.to_str().unwrap()]);
        assert!(ok, "{dataset}: {stderr}");
        assert!(stdout.starts_with("ok: "), "{dataset}: {stdout}");
        let toml = fs::read_to_string(out.join("dataset.toml")).unwrap();
        assert!(toml.contains(&format!("dataset = \"{dataset}\"")), "{toml}");
    }
    // Training images at stored_resolution, val and test at resolution (tiny: 72 and 64 px).
    let faces = dir.path().join("faces");
    let first = |split: &str| faces.join(&column(&faces, split, "path")[0]);
    assert_eq!(image::image_dimensions(first("train")).unwrap(), (72, 72));
    assert_eq!(image::image_dimensions(first("test")).unwrap(), (64, 64));
    assert_eq!(column(&faces, "train", "label").len(), 24);
    // The same request twice gives the same bytes.
    let again = dir.path().join("faces-again");
    assert!(data(&["synth", "--dataset", "faces", "--profile", profile, "--out", again.to_str().unwrap()]).0);
    assert_eq!(fs::read(faces.join("SHA256SUMS")).unwrap(), fs::read(again.join("SHA256SUMS")).unwrap());
    // Writing into a non-empty directory is refused.
    let (ok, _, stderr) =
        data(&["synth", "--dataset", "faces", "--profile", profile, "--out", faces.to_str().unwrap()]);
    assert!(!ok && stderr.contains("not empty"), "{stderr}");
}
