//! `data verify`: checks that a dataset root is complete and consistent before anything trains on it: the layout,
//! the split CSVs and their columns, every label (in range, consistent with the dataset's own fields, every class
//! present in the training split), every file's SHA-256 against the manifest, and that every image decodes.
//!
//! Every problem is collected rather than stopping at the first, and each names the file, what is wrong and what to
//! do; nothing is skipped. The root passes only when there are none.
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use anyhow::{bail, Result};

use super::layout::{self, DatasetInfo, DecodeError, PathError, Row, INFO_FILE, TOYBOX_OBJECTS_PER_CATEGORY};
use super::manifest::{self, MANIFEST_FILE};
use super::{par_map, SplitName};
use crate::vocab::DatasetId;

/// The kinds of problem `data verify` reports, so that callers and tests can tell them apart.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum ProblemKind {
    /// `dataset.toml` is missing, unreadable or invalid.
    BadDescription,
    /// `dataset.toml` describes another dataset than `--dataset`.
    WrongDataset,
    /// `SHA256SUMS` is missing or malformed.
    BadManifest,
    /// A split CSV is missing, or lacks a column, or a label is not an integer.
    BadCsv,
    /// A split CSV lists no images.
    EmptySplit,
    /// A file listed by a CSV or the manifest does not exist.
    MissingFile,
    /// A file exists but cannot be read (permissions), or is not a regular file.
    Unreadable,
    /// A file's SHA-256 differs from the manifest's.
    HashMismatch,
    /// A file of the root is not listed in the manifest.
    NotInManifest,
    /// An image file of a split is listed by no CSV row.
    Unreferenced,
    /// A label is outside `0..classes`.
    LabelOutOfRange,
    /// A Toybox label disagrees with its row's `category_id` and `object`, or those are not numbers in range.
    LabelMismatch,
    /// A class has no training images.
    MissingClass,
    /// A path of a CSV or the manifest leaves the root (absolute, `..`, a symbolic link out).
    PathEscapesRoot,
    /// An image does not decode (not JPEG or PNG, damaged, truncated, empty).
    Undecodable,
    /// An image declares more pixels than [`layout::MAX_IMAGE_PIXELS`].
    TooLarge,
    /// An image is not 8 bits per channel.
    WrongPixelFormat,
}

/// One thing wrong with a dataset root: the file, what is wrong, what to do.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{}: {what}{}", file.display(), if fix.is_empty() { String::new() } else { format!("; {fix}") })]
pub struct Problem {
    pub kind: ProblemKind,
    pub file: PathBuf,
    pub what: String,
    pub fix: String,
}

/// What `data verify` found.
#[derive(Debug)]
pub struct Report {
    pub dataset: DatasetId,
    pub root: PathBuf,
    pub classes: Option<u64>,
    /// Images per on-disk split, as listed by its CSV.
    pub images: BTreeMap<SplitName, usize>,
    /// Files whose hash was checked.
    pub files_hashed: usize,
    /// Val and test images that are not square, per on-disk split. Not a problem of the root: the original's test
    /// transform (`Resize(224)` on the shorter side, no crop) would keep them non-square, which the `paper` profiles
    /// refuse and the others crop (`non_square_test_images`); ImageNet-100 resizes both sides and is unaffected.
    pub non_square: BTreeMap<SplitName, usize>,
    pub problems: Vec<Problem>,
}

impl Report {
    pub fn is_ok(&self) -> bool {
        self.problems.is_empty()
    }
}

const REIMPORT: &str = "re-create the root with `data import` (or `data synth`), or restore the file from the source";

struct Checker {
    root: PathBuf,
    problems: Vec<Problem>,
}

impl Checker {
    fn problem(&mut self, kind: ProblemKind, file: impl AsRef<Path>, what: impl Into<String>, fix: impl Into<String>) {
        self.problems.push(Problem { kind, file: self.root.join(file), what: what.into(), fix: fix.into() });
    }
}

/// Check the dataset root `root` holding `dataset`. Errors only when `root` is not a directory; everything else is
/// a [`Problem`] in the report.
pub fn verify(dataset: DatasetId, root: &Path) -> Result<Report> {
    if !root.is_dir() {
        bail!(
            "dataset root {} does not exist or is not a directory; pass the directory holding {INFO_FILE}, the split \
             CSVs and {MANIFEST_FILE} (see paper/DATA.md), or create it with `data import`",
            root.display()
        );
    }
    let mut check = Checker { root: root.to_owned(), problems: Vec::new() };
    let info = match DatasetInfo::read(root) {
        Ok(info) => Some(info),
        Err(err) => {
            check.problem(ProblemKind::BadDescription, INFO_FILE, format!("{err:#}"), ""); // the error says what to do
            None
        }
    };
    if let Some(info) = info.as_ref().filter(|i| i.dataset != dataset) {
        // Every other check would only repeat this one.
        check.problem(
            ProblemKind::WrongDataset,
            INFO_FILE,
            format!("holds dataset '{}', not '{dataset}'", info.dataset),
            format!("pass --dataset {} or the root of {dataset}", info.dataset),
        );
        let problems = check.problems;
        return Ok(Report {
            dataset,
            root: root.to_owned(),
            classes: None,
            images: BTreeMap::new(),
            files_hashed: 0,
            non_square: BTreeMap::new(),
            problems,
        });
    }
    let files_hashed = check_manifest(&mut check);
    let mut images = BTreeMap::new();
    let mut non_square = BTreeMap::new();
    let mut referenced = BTreeSet::new();
    let mut listed_splits = Vec::new();
    for &split in layout::splits_on_disk(dataset) {
        let rows = match layout::read_split(root, dataset, split) {
            Ok(rows) => rows,
            Err(err) => {
                let kind = match layout::csv_path(root, split).is_file() {
                    true => ProblemKind::BadCsv,
                    false => ProblemKind::MissingFile,
                };
                check.problem(kind, format!("{split}.csv"), format!("{err:#}"), ""); // the error says what to do
                continue;
            }
        };
        listed_splits.push(split);
        if rows.is_empty() {
            check.problem(ProblemKind::EmptySplit, format!("{split}.csv"), "lists no images", REIMPORT);
        }
        let not_square = check_rows(&mut check, dataset, info.as_ref(), split, &rows);
        if split != SplitName::Train {
            non_square.insert(split, not_square);
        }
        if split == SplitName::Train {
            if let Some(info) = &info {
                check_every_class_present(&mut check, info, &rows);
            }
        }
        referenced.extend(rows.iter().map(|r| r.path.clone()));
        images.insert(split, rows.len());
    }
    check_unreferenced_images(&mut check, &listed_splits, &referenced);
    Ok(Report {
        dataset,
        root: root.to_owned(),
        classes: info.map(|i| i.classes),
        images,
        files_hashed,
        non_square,
        problems: check.problems,
    })
}

/// Every listed file exists with its hash; every file under the root is listed.
fn check_manifest(check: &mut Checker) -> usize {
    let listed = match manifest::read(&check.root) {
        Ok(listed) => listed,
        Err(err) => {
            check.problem(ProblemKind::BadManifest, MANIFEST_FILE, format!("{err:#}"), REIMPORT);
            return 0;
        }
    };
    let present = match manifest::list_files(&check.root) {
        Ok(files) => files,
        Err(err) => {
            check.problem(ProblemKind::Unreadable, "", format!("{err:#}"), "check the directory's permissions");
            return 0;
        }
    };
    let entries: Vec<(&String, &String)> = listed.iter().collect();
    let root = check.root.clone();
    let results = par_map(&entries, |(file, _)| {
        let path = layout::resolve(&root, file).map_err(Unusable::Path)?;
        crate::provenance::sha256_file(&path).map_err(|e| Unusable::Unreadable(format!("{e:#}")))
    });
    for ((file, expected), actual) in entries.iter().zip(results) {
        match actual {
            Err(Unusable::Path(PathError::Missing { .. })) => check.problem(
                ProblemKind::MissingFile,
                file,
                format!("is listed in {MANIFEST_FILE} but missing"),
                REIMPORT,
            ),
            Err(unusable) => check.path_problem(file, unusable, MANIFEST_FILE),
            Ok(actual) if actual != **expected => check.problem(
                ProblemKind::HashMismatch,
                file,
                format!("SHA-256 is {actual}, but {MANIFEST_FILE} says {expected}: the file changed or is corrupt"),
                REIMPORT,
            ),
            Ok(_) => {}
        }
    }
    for file in present.iter().filter(|f| !listed.contains_key(*f)) {
        check.problem(
            ProblemKind::NotInManifest,
            file,
            format!("is not listed in {MANIFEST_FILE}"),
            "remove the file, or re-create the root with `data import` so that the manifest covers it",
        );
    }
    entries.len()
}

/// Labels in range and consistent with the dataset's fields; every image present and decodable. Returns how many of
/// the decoded images are not square.
fn check_rows(
    check: &mut Checker,
    dataset: DatasetId,
    info: Option<&DatasetInfo>,
    split: SplitName,
    rows: &[Row],
) -> usize {
    let csv = format!("{split}.csv");
    for (index, row) in rows.iter().enumerate() {
        let line = index + 2;
        if let Some(info) = info {
            if row.label < 0 || row.label as u64 >= info.classes {
                check.problem(
                    ProblemKind::LabelOutOfRange,
                    &csv,
                    format!(
                        "line {line}: label {} is outside 0..{} ({} classes in {INFO_FILE})",
                        row.label, info.classes, info.classes
                    ),
                    "fix the label or the class count, or re-import the dataset",
                );
            }
        }
        if let Err(what) = toybox_label_matches(dataset, info, row) {
            check.problem(
                ProblemKind::LabelMismatch,
                &csv,
                format!("line {line}: {what}"),
                "fix the row, or re-import the dataset",
            );
        }
    }
    let root = check.root.clone();
    let decoded = par_map(rows, |row| {
        let path = layout::resolve(&root, &row.path).map_err(Unusable::Path)?;
        let bytes = std::fs::read(&path).map_err(|e| Unusable::Unreadable(e.to_string()))?;
        layout::decode_rgb(&bytes).map(|image| image.width() != image.height()).map_err(Unusable::Image)
    });
    let mut not_square = 0;
    for (index, (row, result)) in rows.iter().zip(decoded).enumerate() {
        match result {
            Ok(non_square) => not_square += usize::from(non_square),
            // The path is the CSV's fault, and may name nothing: report it against the CSV's line.
            Err(Unusable::Path(err @ PathError::EscapesRoot { .. })) => check.problem(
                ProblemKind::PathEscapesRoot,
                &csv,
                format!("line {}: {err}", index + 2),
                "fix the row to name a file inside the root, or re-import the dataset (a dataset never reads \
                 outside its root; copy the file in rather than linking to it)",
            ),
            Err(unusable) => check.path_problem(&row.path, unusable, &csv),
        }
    }
    not_square
}

/// Why a listed file cannot be used.
enum Unusable {
    Path(PathError),
    Unreadable(String),
    Image(DecodeError),
}

impl Checker {
    /// Report a file listed by `listed_in` (a CSV or the manifest) that cannot be used.
    fn path_problem(&mut self, file: &str, unusable: Unusable, listed_in: &str) {
        let (kind, what, fix) = match unusable {
            Unusable::Path(err @ PathError::EscapesRoot { .. }) => (
                ProblemKind::PathEscapesRoot,
                err.to_string(),
                "list only files inside the root, or re-import the dataset (copy files in rather than linking to them)",
            ),
            Unusable::Path(PathError::Missing { .. }) => (ProblemKind::MissingFile, "is missing".to_owned(), REIMPORT),
            Unusable::Path(PathError::NotAFile { .. }) => {
                (ProblemKind::Unreadable, "is not a regular file".to_owned(), REIMPORT)
            }
            Unusable::Unreadable(err) => {
                (ProblemKind::Unreadable, format!("cannot be read ({err})"), "check the file's permissions")
            }
            Unusable::Image(err) => {
                let kind = match err {
                    DecodeError::TooLarge { .. } => ProblemKind::TooLarge,
                    DecodeError::WrongPixelFormat { .. } => ProblemKind::WrongPixelFormat,
                    _ => ProblemKind::Undecodable,
                };
                (kind, err.to_string(), REIMPORT)
            }
        };
        self.problem(kind, file, format!("{what} (listed in {listed_in})"), fix);
    }
}

/// Toybox labels follow from the row's category and object, as in the original: the category id at category level,
/// `category_id * objects_per_category + object - 1` at instance level.
fn toybox_label_matches(dataset: DatasetId, info: Option<&DatasetInfo>, row: &Row) -> Result<(), String> {
    if !matches!(dataset, DatasetId::ToyboxInstance | DatasetId::ToyboxCategory) {
        return Ok(());
    }
    let number = |name: &str| {
        let text = row.field(name).unwrap_or("");
        text.trim().parse::<i64>().map_err(|_| format!("{name} '{text}' is not an integer"))
    };
    let category = number("category_id")?;
    let object = number("object")?;
    let per_category = info.and_then(|i| i.objects_per_category).unwrap_or(TOYBOX_OBJECTS_PER_CATEGORY) as i64;
    if object < 1 || object > per_category {
        return Err(format!("object {object} is outside 1..={per_category}"));
    }
    let expected = if dataset == DatasetId::ToyboxCategory { category } else { category * per_category + object - 1 };
    if row.label != expected {
        return Err(format!(
            "label {} does not match category_id {category} and object {object} (expected {expected})",
            row.label
        ));
    }
    Ok(())
}

fn check_every_class_present(check: &mut Checker, info: &DatasetInfo, rows: &[Row]) {
    let present: BTreeSet<i64> = rows.iter().map(|r| r.label).collect();
    let missing: Vec<String> = (0..info.classes as i64)
        .filter(|c| !present.contains(c))
        .map(|c| format!("{c} ({})", info.class_names.get(c as usize).map_or("?", String::as_str)))
        .collect();
    if !missing.is_empty() {
        check.problem(
            ProblemKind::MissingClass,
            "train.csv",
            format!("{} of {} classes have no training images: {}", missing.len(), info.classes, missing.join(", ")),
            "add images of these classes, or drop the classes from dataset.toml and renumber the labels",
        );
    }
}

/// Image files inside the directory of a split (whose CSV could be read) that no CSV row references: training would
/// silently ignore them.
fn check_unreferenced_images(check: &mut Checker, splits: &[SplitName], referenced: &BTreeSet<String>) {
    let Ok(files) = manifest::list_files(&check.root) else { return };
    let split_dirs: Vec<String> = splits.iter().map(|s| format!("{s}/")).collect();
    for file in files {
        if split_dirs.iter().any(|d| file.starts_with(d.as_str())) && !referenced.contains(&file) {
            check.problem(
                ProblemKind::Unreferenced,
                &file,
                "is not referenced by any split CSV",
                "remove it, or add a row for it to the split's CSV",
            );
        }
    }
}

/// The summary line on non-square val and test images: how many, and what the profiles do with them.
pub fn non_square_summary(dataset: DatasetId, counts: &BTreeMap<SplitName, usize>) -> String {
    let total: usize = counts.values().sum();
    let per_split: Vec<String> = counts.iter().map(|(split, n)| format!("{split} {n}")).collect();
    let what = if total == 0 {
        "all square".to_owned()
    } else if dataset == DatasetId::In100 {
        "resized on both sides by the test transform, as the original's Resize((224, 224)) does".to_owned()
    } else {
        "the original's Resize(224) keeps them non-square: the paper profiles refuse them, the others crop them to \
         the centre square (profile field non_square_test_images)"
            .to_owned()
    };
    format!("non-square val/test images: {total} ({}): {what}", per_split.join(", "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn non_square_val_and_test_images_are_counted_and_summarised() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/faces/canonical");
        let report = verify(DatasetId::Faces, &root).unwrap();
        assert!(report.is_ok(), "{:?}", report.problems);
        // The faces fixture's val and test images are 40x32; training images are not counted.
        assert_eq!(report.non_square, BTreeMap::from([(SplitName::Val, 3), (SplitName::Test, 3)]));
        let line = non_square_summary(DatasetId::Faces, &report.non_square);
        assert!(
            line.starts_with("non-square val/test images: 6 (val 3, test 3): ") && line.contains("refuse"),
            "{line}"
        );
        let square = BTreeMap::from([(SplitName::Val, 0), (SplitName::Test, 0)]);
        assert!(non_square_summary(DatasetId::In12, &square).ends_with("all square"));
    }
}
