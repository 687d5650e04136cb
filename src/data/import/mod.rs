//! `data import`: bring a dataset from the form a reviewer has it in into the canonical layout
//! ([`super::layout`]), then check the result with [`super::verify`]. Image bytes are copied as they are (no
//! re-encoding), so the manifest hashes the source's own JPEG and PNG files.
//!
//! Three source formats:
//! - `original`: the original's per-split `<split>.pickle` (encoded images) and `<split>.csv`, as
//!   `src/datasets.py` of `cerysojj/blurry-to-clear-training` reads them ([`original`]);
//! - `imagenet100-kaggle`: the ImageNet-100 Kaggle download, `train.X1..X4/<wnid>/` and `val.X/<wnid>/`
//!   ([`folders`]);
//! - `folder-per-class`: `<split>/<class>/<image>` (FaceScrub crops, ImageNet-12) ([`folders`]).
mod folders;
mod original;
pub(crate) mod pickle;

use std::path::Path;

use anyhow::{bail, Result};

use crate::vocab::DatasetId;

/// The source formats `data import --from` accepts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SourceFormat {
    /// The original's `dev|train|val|test.pickle` + `.csv` pairs.
    Original,
    /// The ImageNet-100 Kaggle layout: `train.X1..X4/<wnid>/`, `val.X/<wnid>/`, optional `Labels.json`.
    Imagenet100Kaggle,
    /// `<split>/<class>/<image>` with splits `train` (or `dev`), `val`, `test`.
    FolderPerClass,
}

/// Import `source` (in `format`) as `dataset` into the new root `out` (the `data import` command verifies it after).
pub fn import(dataset: DatasetId, format: SourceFormat, source: &Path, out: &Path) -> Result<()> {
    if !source.is_dir() {
        bail!(
            "source directory {} does not exist; pass the directory that holds the {dataset} files",
            source.display()
        );
    }
    match format {
        SourceFormat::Original => original::import(dataset, source, out),
        SourceFormat::Imagenet100Kaggle => folders::import_kaggle(dataset, source, out),
        SourceFormat::FolderPerClass => folders::import_folder_per_class(dataset, source, out),
    }
}
