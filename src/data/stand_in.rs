//! `data synth`: write a profile's embedded stand-in of one dataset in the canonical layout, as PNG files, so that a
//! person can look at exactly the images the profile trains on (the same requests as [`super::cache`] makes) and
//! `data verify` can check them like real data.
use std::io::Cursor;
use std::path::Path;

use anyhow::{bail, Context, Result};

use super::cache;
use super::layout::{self, DatasetInfo, DatasetWriter, TOYBOX_CATEGORIES};
use super::synthetic::{self, imagenet, ImageMeta};
use crate::protocol::Profile;
use crate::vocab::DatasetId;

/// Write the stand-in of `dataset` under `profile` into the new root `out` (the `data synth` command verifies it
/// after).
pub fn write(dataset: DatasetId, profile: &str, out: &Path) -> Result<()> {
    let profile = Profile::load(profile)?;
    let spec = profile.dataset(dataset)?;
    let mut writer = DatasetWriter::create(out, dataset)?;
    for &split in layout::splits_on_disk(dataset) {
        let request = cache::synth_request(&profile, dataset, split)?;
        let generated = synthetic::generate(&request)
            .with_context(|| format!("cannot generate the {dataset} stand-in's {split} split"))?;
        let side = request.side;
        for (index, (label, meta)) in generated.labels.iter().zip(&generated.meta).enumerate() {
            let chw = generated.images.get(index as i64);
            let len = 3 * (side * side) as usize;
            let mut pixels = vec![0u8; len];
            chw.permute([1, 2, 0]).contiguous().copy_data_u8(&mut pixels, len);
            let image = image::RgbImage::from_raw(side, side, pixels).context("generator image of the wrong size")?;
            let mut png = Vec::new();
            image.write_to(&mut Cursor::new(&mut png), image::ImageFormat::Png)?;
            writer.add_image(split, *label, &png, fields(dataset, meta)?)?;
        }
    }
    let info = DatasetInfo {
        dataset,
        classes: spec.classes,
        objects_per_category: spec.objects_per_category.filter(|_| is_toybox(dataset)),
        class_names: class_names(dataset, spec.classes, spec.objects_per_category.unwrap_or(1)),
        source: format!("embedded stand-in (data::synthetic) of profile '{}', seed {}", profile.name, profile.seed),
    };
    writer.finish(&info)
}

fn is_toybox(dataset: DatasetId) -> bool {
    matches!(dataset, DatasetId::ToyboxInstance | DatasetId::ToyboxCategory)
}

/// The canonical CSV fields of a generated image: the generator's fields, with `class` renamed to the dataset's
/// field, and Toybox's `category_id` and `video` (`r` + rotation axis, as the original's `rxplus`...) added.
fn fields(dataset: DatasetId, meta: &ImageMeta) -> Result<Vec<(String, String)>> {
    let renamed = match dataset {
        DatasetId::In12 => "category",
        DatasetId::In100 => "wnid",
        _ => "class",
    };
    let mut fields: Vec<(String, String)> = meta
        .fields
        .iter()
        .map(|(name, value)| (if *name == "class" { renamed } else { name }.to_string(), value.clone()))
        .collect();
    if is_toybox(dataset) {
        let get = |name: &str| fields.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone());
        let category = get("category").context("the Toybox generator gave no category")?;
        let Some(id) = TOYBOX_CATEGORIES.iter().position(|c| *c == category) else {
            bail!("the Toybox generator gave the unknown category '{category}'");
        };
        let video = get("axis").map(|axis| format!("r{axis}")).unwrap_or_default();
        fields.push(("category_id".to_owned(), id.to_string()));
        fields.push(("video".to_owned(), video));
    }
    Ok(fields)
}

/// Class names, index = label.
fn class_names(dataset: DatasetId, classes: u64, objects_per_category: u64) -> Vec<String> {
    (0..classes)
        .map(|class| match dataset {
            DatasetId::Faces => format!("identity_{class:03}"),
            DatasetId::ToyboxInstance => format!(
                "{}_{:02}",
                TOYBOX_CATEGORIES[(class / objects_per_category) as usize % TOYBOX_CATEGORIES.len()],
                class % objects_per_category + 1
            ),
            DatasetId::ToyboxCategory | DatasetId::In12 => TOYBOX_CATEGORIES[class as usize % 12].to_owned(),
            DatasetId::In100 => imagenet::in100_class_name(class as usize),
        })
        .collect()
}
