//! Import from the original's per-split files: `<name>.pickle` (a sequence of encoded images, see [`super::pickle`])
//! and `<name>.csv` (one row per image, same order), as `src/datasets.py` of `cerysojj/blurry-to-clear-training`
//! reads them from `Faces/`, `Toybox-12/`, `Toybox-360/`, `IN-12/` and `IN-100/`.
//!
//! Which files: the original trained on the "dev" part of its hyper-parameter split (`hypertune=True`), so `dev`
//! becomes `train`, and `val` and `test` stay; ImageNet-100 has `train` and `val` only. Labels, as the original
//! computes them:
//! - FaceScrub and ImageNet-100: the index of the row's `category` among the sorted categories (`class_to_idx`);
//!   the original sorts each split's own categories, which agrees whenever every split has every class, and this
//!   importer sorts the training split's and refuses a val/test category absent from it;
//! - Toybox category level and IN-12: `Class ID`;
//! - Toybox instance level: `Class ID * 30 + Object - 1` (`get_unique_object_label`).
//!
//! Every original column is kept, renamed `original_<name>` (lowercase, spaces as `_`), with `source_row`.
use std::collections::BTreeSet;
use std::path::Path;

use anyhow::{bail, Context, Result};

use super::pickle;
use crate::data::layout::{DatasetInfo, DatasetWriter, TOYBOX_CATEGORIES, TOYBOX_OBJECTS_PER_CATEGORY};
use crate::data::SplitName;
use crate::vocab::DatasetId;

/// The original's file name of each split it trained and tested on.
fn split_files(dataset: DatasetId) -> &'static [(SplitName, &'static str)] {
    match dataset {
        DatasetId::In100 => &[(SplitName::Train, "train"), (SplitName::Val, "val")],
        _ => &[(SplitName::Train, "dev"), (SplitName::Val, "val"), (SplitName::Test, "test")],
    }
}

/// The original CSV columns a dataset's labels come from.
fn label_columns(dataset: DatasetId) -> &'static [&'static str] {
    match dataset {
        DatasetId::Faces | DatasetId::In100 => &["category"],
        DatasetId::ToyboxInstance | DatasetId::ToyboxCategory => &["Class ID", "Object"],
        DatasetId::In12 => &["Class ID"],
    }
}

/// One original CSV: its header and rows.
struct Table {
    header: Vec<String>,
    rows: Vec<Vec<String>>,
}

impl Table {
    fn read(path: &Path, dataset: DatasetId) -> Result<Table> {
        let mut reader = csv::Reader::from_path(path).with_context(|| {
            format!("cannot open {}; the original format needs it beside the pickle", path.display())
        })?;
        let header: Vec<String> = reader.headers()?.iter().map(str::to_owned).collect();
        for column in label_columns(dataset) {
            if !header.iter().any(|h| h == column) {
                bail!(
                    "{} lacks the column '{column}' that the original reads {dataset} labels from (it has: {}); \
                     check that this is the {dataset} CSV",
                    path.display(),
                    header.join(", ")
                );
            }
        }
        let rows = reader
            .records()
            .enumerate()
            .map(|(i, r)| {
                r.map(|r| r.iter().map(str::to_owned).collect())
                    .with_context(|| format!("{} line {} is not valid CSV", path.display(), i + 2))
            })
            .collect::<Result<_>>()?;
        Ok(Table { header, rows })
    }

    fn get<'a>(&'a self, row: &'a [String], column: &str) -> &'a str {
        self.header.iter().position(|h| h == column).and_then(|i| row.get(i)).map_or("", String::as_str)
    }
}

pub(super) fn import(dataset: DatasetId, source: &Path, out: &Path) -> Result<()> {
    let mut tables = Vec::new();
    for (split, name) in split_files(dataset) {
        let table = Table::read(&source.join(format!("{name}.csv")), dataset)?;
        tables.push((*split, *name, table));
    }
    let class_names = class_names(dataset, &tables)?;
    let mut writer = DatasetWriter::create(out, dataset)?;
    for (split, name, table) in &tables {
        let pickle_path = source.join(format!("{name}.pickle"));
        let images = pickle::read_encoded_images(&pickle_path)?;
        if images.len() != table.rows.len() {
            bail!(
                "{} holds {} images but {name}.csv has {} rows; the two must correspond row by row",
                pickle_path.display(),
                images.len(),
                table.rows.len()
            );
        }
        for (index, (row, bytes)) in table.rows.iter().zip(&images).enumerate() {
            let at = || format!("{name}.csv line {} (image {index} of {name}.pickle)", index + 2);
            let (label, mut fields) = label_and_fields(dataset, table, row, &class_names).with_context(at)?;
            fields.push(("source_row".to_owned(), index.to_string()));
            for (column, value) in table.header.iter().zip(row) {
                fields.push((format!("original_{}", column.to_lowercase().replace(' ', "_")), value.clone()));
            }
            writer.add_image(*split, label, bytes, fields).with_context(at)?;
        }
    }
    let objects_per_category =
        matches!(dataset, DatasetId::ToyboxInstance | DatasetId::ToyboxCategory).then_some(TOYBOX_OBJECTS_PER_CATEGORY);
    let info = DatasetInfo {
        dataset,
        classes: class_names.len() as u64,
        objects_per_category,
        class_names,
        source: format!("imported from the original's pickle+CSV files in {}", source.display()),
    };
    writer.finish(&info)
}

/// Class names, index = label.
fn class_names(dataset: DatasetId, tables: &[(SplitName, &str, Table)]) -> Result<Vec<String>> {
    Ok(match dataset {
        DatasetId::Faces | DatasetId::In100 => {
            let (_, name, train) = &tables[0];
            let names: BTreeSet<&str> = train.rows.iter().map(|r| train.get(r, "category")).collect();
            for (_, other_name, table) in &tables[1..] {
                if let Some(row) = table.rows.iter().find(|r| !names.contains(table.get(r, "category"))) {
                    bail!(
                        "{other_name}.csv has category '{}', which no row of {name}.csv has; a class must have \
                         training images",
                        table.get(row, "category")
                    );
                }
            }
            names.into_iter().map(str::to_owned).collect()
        }
        DatasetId::ToyboxCategory | DatasetId::In12 => TOYBOX_CATEGORIES.iter().map(|c| c.to_string()).collect(),
        DatasetId::ToyboxInstance => TOYBOX_CATEGORIES
            .iter()
            .flat_map(|c| (1..=TOYBOX_OBJECTS_PER_CATEGORY).map(move |o| format!("{c}_{o:02}")))
            .collect(),
    })
}

/// The canonical label and dataset fields of one original row.
fn label_and_fields(
    dataset: DatasetId,
    table: &Table,
    row: &[String],
    class_names: &[String],
) -> Result<(i64, Vec<(String, String)>)> {
    let integer = |column: &str| {
        let text = table.get(row, column);
        text.trim().parse::<i64>().with_context(|| format!("column '{column}' holds '{text}', not an integer"))
    };
    let category_id = |column: &str| -> Result<i64> {
        let id = integer(column)?;
        if !(0..TOYBOX_CATEGORIES.len() as i64).contains(&id) {
            bail!("{column} {id} is outside 0..12");
        }
        let name = table.get(row, "Class");
        if !name.is_empty() && name != TOYBOX_CATEGORIES[id as usize] {
            bail!("Class '{name}' does not match Class ID {id} ('{}')", TOYBOX_CATEGORIES[id as usize]);
        }
        Ok(id)
    };
    Ok(match dataset {
        DatasetId::Faces | DatasetId::In100 => {
            let category = table.get(row, "category");
            let label = class_names.iter().position(|c| c == category).context("category missing from the classes")?;
            let field = if dataset == DatasetId::Faces { "identity" } else { "wnid" };
            (label as i64, vec![(field.to_owned(), category.to_owned())])
        }
        DatasetId::In12 => {
            let id = category_id("Class ID")?;
            (id, vec![("category".to_owned(), TOYBOX_CATEGORIES[id as usize].to_owned())])
        }
        DatasetId::ToyboxInstance | DatasetId::ToyboxCategory => {
            let id = category_id("Class ID")?;
            let object = integer("Object")?;
            if !(1..=TOYBOX_OBJECTS_PER_CATEGORY as i64).contains(&object) {
                bail!("Object {object} is outside 1..=30");
            }
            let label = if dataset == DatasetId::ToyboxCategory {
                id
            } else {
                id * TOYBOX_OBJECTS_PER_CATEGORY as i64 + object - 1
            };
            let fields = vec![
                ("category".to_owned(), TOYBOX_CATEGORIES[id as usize].to_owned()),
                ("category_id".to_owned(), id.to_string()),
                ("object".to_owned(), object.to_string()),
                ("video".to_owned(), table.get(row, "Transformation").to_owned()),
            ];
            (label, fields)
        }
    })
}
