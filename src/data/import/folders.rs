//! Import from image folders: one folder per class (FaceScrub crops, ImageNet-12), and the ImageNet-100 Kaggle
//! download. Classes are numbered in the sorted order of their folder names (as torchvision's `ImageFolder` and the
//! original's `sorted(set(categories))` do); images are taken in sorted file-name order.
use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};

use crate::data::layout::{self, DatasetInfo, DatasetWriter};
use crate::data::SplitName;
use crate::vocab::DatasetId;

/// The CSV field that holds the class folder's name.
fn class_field(dataset: DatasetId) -> Result<&'static str> {
    match dataset {
        DatasetId::Faces => Ok("identity"),
        DatasetId::In12 => Ok("category"),
        DatasetId::In100 => Ok("wnid"),
        DatasetId::ToyboxInstance | DatasetId::ToyboxCategory => bail!(
            "{dataset} cannot be imported from class folders: its labels need each image's object and video; use \
             --from original with the Toybox pickle and CSV files"
        ),
    }
}

/// Sub-directories of `dir`, sorted by name.
fn class_dirs(dir: &Path) -> Result<Vec<String>> {
    let mut names = Vec::new();
    for entry in fs::read_dir(dir).with_context(|| format!("cannot list {}", dir.display()))? {
        let entry = entry?;
        if entry.path().is_dir() {
            names.push(entry.file_name().to_string_lossy().into_owned());
        }
    }
    names.sort();
    Ok(names)
}

/// The image files of a class folder of the split folder `root`, sorted. Hidden files (`.DS_Store`) are ignored;
/// any other non-image file is an error, so that nothing is dropped without a word. A symbolic link is followed only
/// when it stays inside `root` and ends at a regular file: an import never reads outside its source (a link to
/// `/dev/zero` would otherwise be read forever).
fn image_files(root: &Path, dir: &Path) -> Result<Vec<PathBuf>> {
    let real_root = fs::canonicalize(root).with_context(|| format!("cannot resolve {}", root.display()))?;
    let mut files = Vec::new();
    for entry in fs::read_dir(dir).with_context(|| format!("cannot list {}", dir.display()))? {
        let path = entry?.path();
        let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        if name.starts_with('.') {
            continue;
        }
        let extension = path.extension().map(|e| e.to_string_lossy().to_lowercase()).unwrap_or_default();
        if path.is_dir() || !["jpg", "jpeg", "png"].contains(&extension.as_str()) {
            bail!("{} is not a JPEG or PNG image; a class folder holds only images (move it out)", path.display());
        }
        let real = fs::canonicalize(&path).with_context(|| {
            format!(
                "{} cannot be resolved (a symbolic link to nowhere?); remove it or copy the image in",
                path.display()
            )
        })?;
        if !real.starts_with(&real_root) {
            bail!(
                "{} leads to {}, outside the source folder {}; copy the image into the source folder (an import never \
                 reads outside it)",
                path.display(),
                real.display(),
                root.display()
            );
        }
        if !real.is_file() {
            bail!("{} is not a regular file; a class folder holds only image files", path.display());
        }
        files.push(path);
    }
    files.sort();
    Ok(files)
}

/// Write `splits` (split -> class name -> folders holding that class's images) as `dataset`.
fn write(
    dataset: DatasetId,
    splits: &BTreeMap<SplitName, Vec<PathBuf>>,
    class_names: Vec<String>,
    display_names: &BTreeMap<String, String>,
    out: &Path,
    source: String,
) -> Result<()> {
    let field = class_field(dataset)?;
    let mut writer = DatasetWriter::create(out, dataset)?;
    for (split, roots) in splits {
        for (label, class) in class_names.iter().enumerate() {
            let mut found = false;
            for root in roots {
                let dir = root.join(class);
                if !dir.is_dir() {
                    continue;
                }
                for file in image_files(root, &dir)? {
                    found = true;
                    let bytes = fs::read(&file).with_context(|| format!("cannot read {}", file.display()))?;
                    let mut fields = vec![(field.to_owned(), class.clone())];
                    if let Some(name) = display_names.get(class) {
                        fields.push(("name".to_owned(), name.clone()));
                    }
                    fields.push((
                        "source_file".to_owned(),
                        file.strip_prefix(root).unwrap_or(&file).display().to_string(),
                    ));
                    writer
                        .add_image(*split, label as i64, &bytes, fields)
                        .with_context(|| format!("{}", file.display()))?;
                }
            }
            if !found && *split == SplitName::Train {
                bail!("class '{class}' has no training images in {:?}; every class needs some", roots);
            }
        }
        for root in roots {
            if let Some(extra) = class_dirs(root)?.into_iter().find(|c| !class_names.contains(c)) {
                bail!(
                    "{} has a class folder '{extra}' that the training split lacks; a class needs training images",
                    root.display()
                );
            }
        }
    }
    let names = class_names.iter().map(|c| display_names.get(c).cloned().unwrap_or_else(|| c.clone())).collect();
    let info = DatasetInfo {
        dataset,
        classes: class_names.len() as u64,
        objects_per_category: None,
        class_names: names,
        source,
    };
    writer.finish(&info)
}

/// `<source>/<split>/<class>/<image>`; `dev` is accepted for `train`, as in the original.
pub(super) fn import_folder_per_class(dataset: DatasetId, source: &Path, out: &Path) -> Result<()> {
    class_field(dataset)?;
    let mut splits = BTreeMap::new();
    for &split in layout::splits_on_disk(dataset) {
        let names: &[&str] = if split == SplitName::Train { &["train", "dev"] } else { &[split.name()] };
        let Some(dir) = names.iter().map(|n| source.join(n)).find(|d| d.is_dir()) else {
            bail!(
                "{} has no '{}' folder; folder-per-class needs {}/<class>/<image> for the splits {}",
                source.display(),
                names.join("' or '"),
                names[0],
                layout::splits_on_disk(dataset).iter().map(|s| s.name()).collect::<Vec<_>>().join(", ")
            );
        };
        splits.insert(split, vec![dir]);
    }
    let class_names = class_dirs(&splits[&SplitName::Train][0])?;
    if class_names.is_empty() {
        bail!("{} has no class folders", splits[&SplitName::Train][0].display());
    }
    write(
        dataset,
        &splits,
        class_names,
        &BTreeMap::new(),
        out,
        format!("imported from class folders in {}", source.display()),
    )
}

/// The ImageNet-100 Kaggle download: `train.X1` to `train.X4` (the training images, split in four parts),
/// `val.X` (the 5,000 held-out images, the original's test set), each `<wnid>/<image>`; `Labels.json` maps each
/// wnid to its class name and, when present, supplies the `name` column and `class_names`.
pub(super) fn import_kaggle(dataset: DatasetId, source: &Path, out: &Path) -> Result<()> {
    if dataset != DatasetId::In100 {
        bail!("--from imagenet100-kaggle holds ImageNet-100; use --dataset in100 (or another --from for {dataset})");
    }
    let mut train = Vec::new();
    for entry in fs::read_dir(source).with_context(|| format!("cannot list {}", source.display()))? {
        let path = entry?.path();
        let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        if path.is_dir() && name.starts_with("train.X") {
            train.push(path);
        }
    }
    train.sort();
    let val = source.join("val.X");
    if train.is_empty() || !val.is_dir() {
        bail!(
            "{} is not the ImageNet-100 Kaggle layout: it needs train.X1..train.X4/ and val.X/ folders",
            source.display()
        );
    }
    let labels_path = source.join("Labels.json");
    let display_names: BTreeMap<String, String> = if labels_path.is_file() {
        let text =
            fs::read_to_string(&labels_path).with_context(|| format!("cannot read {}", labels_path.display()))?;
        serde_json::from_str(&text)
            .with_context(|| format!("{} is not a JSON object of wnid -> name", labels_path.display()))?
    } else {
        BTreeMap::new()
    };
    let mut wnids = BTreeSet::new();
    for part in &train {
        wnids.extend(class_dirs(part)?);
    }
    let splits = BTreeMap::from([(SplitName::Train, train), (SplitName::Val, vec![val])]);
    let source = format!("imported from the ImageNet-100 Kaggle layout in {}", source.display());
    write(dataset, &splits, wnids.into_iter().collect(), &display_names, out, source)
}
