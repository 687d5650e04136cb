//! The canonical on-disk layout of a dataset, which every importer writes, `data synth` writes, `data verify`
//! checks and the decoded cache reads (specified in `paper/DATA.md`):
//!
//! ```text
//! <root>/dataset.toml             dataset id, number of classes, class names (index = label), provenance
//! <root>/<split>.csv              path,label,<the dataset's own fields>[,extra columns]
//! <root>/<split>/<label>/<n>.<ext> the encoded images (JPEG or PNG, bytes as they came from the source)
//! <root>/SHA256SUMS               sha256sum-format manifest of every file above
//! ```
//!
//! Splits are `train` (the original's "dev" part of its hyper-parameter split), `val` and `test`; ImageNet-100 has
//! only `train` and `val`, and its `val` is also its test split, as in the original.
use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use serde::{Deserialize, Serialize};

use super::manifest::{self, MANIFEST_FILE};
use super::SplitName;
use crate::vocab::DatasetId;

/// File name of the dataset description at a root.
pub(crate) const INFO_FILE: &str = "dataset.toml";

/// The original's Toybox category names, in `Class ID` order (`src/datasets.py`, `TOYBOX_CLASSES`). IN-12 has the
/// same twelve categories.
pub(crate) const TOYBOX_CATEGORIES: [&str; 12] =
    ["airplane", "ball", "car", "cat", "cup", "duck", "giraffe", "helicopter", "horse", "mug", "spoon", "truck"];

/// Toybox's objects per category, which fixes the original's instance label `category_id * 30 + object - 1`.
pub(crate) const TOYBOX_OBJECTS_PER_CATEGORY: u64 = 30;

/// The columns every split CSV starts with.
pub(crate) const BASE_COLUMNS: [&str; 2] = ["path", "label"];

/// The dataset's own required columns, after `path,label`.
pub(crate) fn fields(dataset: DatasetId) -> &'static [&'static str] {
    match dataset {
        DatasetId::Faces => &["identity"],
        DatasetId::ToyboxInstance | DatasetId::ToyboxCategory => &["category", "category_id", "object", "video"],
        DatasetId::In12 => &["category"],
        DatasetId::In100 => &["wnid"],
    }
}

/// The splits a dataset keeps on disk.
pub(crate) fn splits_on_disk(dataset: DatasetId) -> &'static [SplitName] {
    match dataset {
        DatasetId::In100 => &[SplitName::Train, SplitName::Val],
        _ => &SplitName::ALL,
    }
}

/// The on-disk split that serves `split`: ImageNet-100's test split is its `val` split.
pub(crate) fn split_on_disk(dataset: DatasetId, split: SplitName) -> SplitName {
    match (dataset, split) {
        (DatasetId::In100, SplitName::Test) => SplitName::Val,
        _ => split,
    }
}

/// Path of a split's CSV.
pub(crate) fn csv_path(root: &Path, split: SplitName) -> PathBuf {
    root.join(format!("{split}.csv"))
}

/// `dataset.toml`: what a root holds.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct DatasetInfo {
    pub dataset: DatasetId,
    pub classes: u64,
    /// Toybox: objects per category (30 for the real data), which defines the instance labels.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub objects_per_category: Option<u64>,
    /// Name of each class; index = label.
    pub class_names: Vec<String>,
    /// Where the images came from (importer and source, or the stand-in generator and profile).
    pub source: String,
}

impl DatasetInfo {
    pub(crate) fn read(root: &Path) -> Result<DatasetInfo> {
        let path = root.join(INFO_FILE);
        let text = fs::read_to_string(&path).with_context(|| {
            format!(
                "cannot read {}; a dataset root needs one (create it with `data import` or `data synth`)",
                path.display()
            )
        })?;
        let info: DatasetInfo =
            toml::from_str(&text).with_context(|| format!("{} is not a valid dataset description", path.display()))?;
        if info.class_names.len() as u64 != info.classes {
            bail!(
                "{} says classes = {} but names {} classes; fix one of them",
                path.display(),
                info.classes,
                info.class_names.len()
            );
        }
        Ok(info)
    }
}

/// One row of a split CSV.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Row {
    /// Image path relative to the root, `/`-separated.
    pub path: String,
    pub label: i64,
    /// Every other column, in CSV order.
    pub fields: Vec<(String, String)>,
}

impl Row {
    pub(crate) fn field(&self, name: &str) -> Option<&str> {
        self.fields.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }
}

/// Read a split CSV: checks the header has `path`, `label` and the dataset's fields, and that every label is an
/// integer. Range checks against the class count are [`super::verify`]'s job.
pub(crate) fn read_split(root: &Path, dataset: DatasetId, split: SplitName) -> Result<Vec<Row>> {
    let path = csv_path(root, split);
    if !path.is_file() {
        bail!("split '{split}' is missing: no file {}; re-import the dataset (`data import`)", path.display());
    }
    let mut reader = csv::Reader::from_path(&path).with_context(|| format!("cannot open {}", path.display()))?;
    let header: Vec<String> = reader
        .headers()
        .with_context(|| format!("cannot read the header of {}", path.display()))?
        .iter()
        .map(str::to_owned)
        .collect();
    let required: Vec<&str> = BASE_COLUMNS.iter().chain(fields(dataset)).copied().collect();
    let missing: Vec<&str> = required.iter().copied().filter(|c| !header.iter().any(|h| h == c)).collect();
    if !missing.is_empty() {
        bail!(
            "{} lacks the column(s) {} (a {dataset} split needs {}); re-import the dataset or add the column",
            path.display(),
            missing.join(", "),
            required.join(",")
        );
    }
    let path_col = header.iter().position(|h| h == "path").unwrap_or(0);
    let label_col = header.iter().position(|h| h == "label").unwrap_or(1);
    let mut rows = Vec::new();
    for (index, record) in reader.records().enumerate() {
        let line = index + 2;
        let record = record.with_context(|| format!("{} line {line} is not valid CSV", path.display()))?;
        let label_text = record.get(label_col).unwrap_or("");
        let label = label_text.trim().parse::<i64>().with_context(|| {
            format!("{} line {line}: label '{label_text}' is not an integer; labels are class indices", path.display())
        })?;
        let fields = header
            .iter()
            .enumerate()
            .filter(|(i, _)| *i != path_col && *i != label_col)
            .map(|(i, name)| (name.clone(), record.get(i).unwrap_or("").to_owned()))
            .collect();
        rows.push(Row { path: record.get(path_col).unwrap_or("").to_owned(), label, fields });
    }
    Ok(rows)
}

/// The file extension for encoded image bytes, from their magic number.
pub(crate) fn image_extension(bytes: &[u8]) -> Result<&'static str> {
    match image::guess_format(bytes) {
        Ok(image::ImageFormat::Jpeg) => Ok("jpg"),
        Ok(image::ImageFormat::Png) => Ok("png"),
        Ok(other) => bail!("images must be JPEG or PNG, got {other:?}"),
        Err(_) => bail!("the bytes are not a recognisable image (first bytes {:02x?})", &bytes[..bytes.len().min(8)]),
    }
}

/// Most pixels a dataset image may declare: Pillow's `Image.MAX_IMAGE_PIXELS` (89,478,485, a 1 GiB RGBA image / 4
/// / 3), above which Pillow suspects a decompression bomb. The real datasets' images are far smaller (ImageNet's
/// largest are a few megapixels); a file declaring more is refused from its header, before anything is decoded.
pub(crate) const MAX_IMAGE_PIXELS: u64 = 89_478_485;

/// Most bytes the decoder may allocate for one image: the `image` crate's default, stated so that it stays put. The
/// pixel limit above keeps every accepted image below it (89.5 Mpx x 4 bytes = 358 MB).
pub(crate) const MAX_DECODE_BYTES: u64 = 512 << 20;

/// Why an image file cannot be used. [`super::verify`] turns each into its own kind of problem.
#[derive(Debug, thiserror::Error)]
pub enum DecodeError {
    #[error("cannot decode the image: {0}")]
    Undecodable(String),
    #[error("the JPEG is truncated: no end-of-image marker after its last scan")]
    TruncatedJpeg,
    #[error("the image is empty ({width}x{height} px)")]
    Empty { width: u32, height: u32 },
    #[error(
        "the image declares {width}x{height} px, more than the limit of {MAX_IMAGE_PIXELS} pixels (a decompression \
         bomb, or not a dataset image); it was not decoded"
    )]
    TooLarge { width: u32, height: u32 },
    #[error(
        "the image has {bits} bits per channel ({color}); the datasets are 8-bit (the original decodes with OpenCV, \
         whose 16-bit output its transforms cannot take); convert the file to 8-bit JPEG or PNG"
    )]
    WrongPixelFormat { color: String, bits: u16 },
}

/// Decode an image file's bytes to 8-bit RGB, as the original's `cv2.imdecode(..., IMREAD_COLOR)` followed by
/// `cvtColor(BGR2RGB)` does: a grey image has its value copied to the three channels, an alpha channel is dropped
/// (not blended), a palette is expanded. 16-bit images are refused (see [`DecodeError::WrongPixelFormat`]). The
/// header is read first: an image declaring more than [`MAX_IMAGE_PIXELS`] is refused before it is decoded, and the
/// decoder runs under [`MAX_DECODE_BYTES`]. A JPEG must end its last scan with the end-of-image marker: the decoder
/// itself fills a truncated scan with grey without complaint, so this check is what catches a cut-off download.
pub fn decode_rgb(bytes: &[u8]) -> std::result::Result<image::RgbImage, DecodeError> {
    use image::ImageDecoder;
    let undecodable = |e: image::ImageError| DecodeError::Undecodable(e.to_string());
    let format = image::guess_format(bytes).map_err(undecodable)?;
    if !matches!(format, image::ImageFormat::Jpeg | image::ImageFormat::Png) {
        return Err(DecodeError::Undecodable(format!("it is {format:?}, and dataset images are JPEG or PNG")));
    }
    if format == image::ImageFormat::Jpeg && !jpeg_is_complete(bytes) {
        return Err(DecodeError::TruncatedJpeg);
    }
    // The header first, without limits, so that an oversized image is named as such; then the limits for decoding.
    let mut reader = image::ImageReader::with_format(std::io::Cursor::new(bytes), format);
    reader.no_limits();
    let mut decoder = reader.into_decoder().map_err(undecodable)?;
    let (width, height) = decoder.dimensions();
    if width == 0 || height == 0 {
        return Err(DecodeError::Empty { width, height });
    }
    if u64::from(width) * u64::from(height) > MAX_IMAGE_PIXELS {
        return Err(DecodeError::TooLarge { width, height });
    }
    let mut limits = image::Limits::default();
    limits.max_alloc = Some(MAX_DECODE_BYTES);
    decoder.set_limits(limits).map_err(undecodable)?;
    let color = decoder.color_type();
    let bits = color.bits_per_pixel() / u16::from(color.channel_count());
    if bits != 8 {
        return Err(DecodeError::WrongPixelFormat { color: format!("{color:?}"), bits });
    }
    Ok(image::DynamicImage::from_decoder(decoder).map_err(undecodable)?.into_rgb8())
}

/// Why a path listed in a dataset (a CSV row, a manifest line) cannot be read as a file of its root.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub(crate) enum PathError {
    #[error("the path '{path}' is not inside the root: {why}")]
    EscapesRoot { path: String, why: &'static str },
    #[error("'{path}' is missing")]
    Missing { path: String },
    #[error("'{path}' is not a regular file")]
    NotAFile { path: String },
}

/// The file that `relative` (a `/`-separated path from a CSV or the manifest) names inside `root`, refusing paths
/// that leave the root: empty, absolute, with a `..` component, or leading through a symbolic link to a place
/// outside the root. A symbolic link that stays inside the root is followed. So nothing outside a dataset root is
/// ever read, hashed or decoded because a file of the root says so.
pub(crate) fn resolve(root: &Path, relative: &str) -> std::result::Result<PathBuf, PathError> {
    let escapes = |why| PathError::EscapesRoot { path: relative.to_owned(), why };
    if relative.is_empty() {
        return Err(escapes("it is empty"));
    }
    if Path::new(relative).is_absolute() {
        return Err(escapes("it is absolute, and dataset paths are relative to the root"));
    }
    if Path::new(relative).components().any(|c| c == std::path::Component::ParentDir) {
        return Err(escapes("it climbs out with '..'"));
    }
    let path = root.join(relative);
    let real = match fs::canonicalize(&path) {
        Ok(real) => real,
        Err(_) if fs::symlink_metadata(&path).is_ok() => return Err(escapes("it is a symbolic link to nowhere")),
        Err(_) => return Err(PathError::Missing { path: relative.to_owned() }),
    };
    let real_root = fs::canonicalize(root).unwrap_or_else(|_| root.to_owned());
    if !real.starts_with(&real_root) {
        return Err(escapes("it leads through a symbolic link to a place outside the root"));
    }
    if !real.is_file() {
        return Err(PathError::NotAFile { path: relative.to_owned() });
    }
    Ok(path)
}

/// Whether a JPEG has an end-of-image marker (`FF D9`) after its last start-of-scan (`FF DA`). Neither pair can
/// occur inside entropy-coded data (a data byte `FF` is always followed by `00`), so trailing padding after the
/// marker is allowed while a cut inside the scan is not.
fn jpeg_is_complete(bytes: &[u8]) -> bool {
    let last_scan = bytes.windows(2).rposition(|w| w == [0xFF, 0xDA]);
    last_scan.is_some_and(|start| bytes[start..].windows(2).any(|w| w == [0xFF, 0xD9]))
}

/// Writes a dataset root in the canonical layout. Images are written as they arrive (atomically, one file each);
/// [`DatasetWriter::finish`] then writes the CSVs, `dataset.toml` and the manifest, in that order, so that a root
/// with a manifest is complete.
pub(crate) struct DatasetWriter {
    root: PathBuf,
    dataset: DatasetId,
    splits: BTreeMap<SplitName, Vec<Row>>,
    hashes: BTreeMap<String, String>,
}

impl DatasetWriter {
    /// Start writing `root`, which must not exist yet or be empty (a dataset is never merged into another).
    pub(crate) fn create(root: &Path, dataset: DatasetId) -> Result<DatasetWriter> {
        if root.exists() {
            let mut entries = fs::read_dir(root).with_context(|| format!("cannot list {}", root.display()))?;
            if entries.next().is_some() {
                bail!("{} is not empty; choose a new --out directory or remove this one", root.display());
            }
        }
        fs::create_dir_all(root).with_context(|| format!("cannot create {}", root.display()))?;
        Ok(DatasetWriter { root: root.to_owned(), dataset, splits: BTreeMap::new(), hashes: BTreeMap::new() })
    }

    /// Add one encoded image (JPEG or PNG bytes, kept as they are) with its label and the dataset's fields.
    pub(crate) fn add_image(
        &mut self,
        split: SplitName,
        label: i64,
        encoded: &[u8],
        fields: Vec<(String, String)>,
    ) -> Result<()> {
        let rows = self.splits.entry(split).or_default();
        let extension = image_extension(encoded).with_context(|| format!("image {} of split '{split}'", rows.len()))?;
        let path = format!("{split}/{label:04}/{:06}.{extension}", rows.len());
        crate::atomic::write(&self.root.join(&path), encoded)?;
        self.hashes.insert(path.clone(), crate::provenance::sha256_bytes(encoded));
        rows.push(Row { path, label, fields });
        Ok(())
    }

    /// Write the split CSVs, `dataset.toml` and `SHA256SUMS`. Columns: `path,label`, the dataset's fields, then any
    /// other field in the order first seen.
    pub(crate) fn finish(mut self, info: &DatasetInfo) -> Result<()> {
        for split in splits_on_disk(self.dataset) {
            if !self.splits.contains_key(split) {
                bail!(
                    "no images were added to split '{split}' of {}; every {} split needs images",
                    self.root.display(),
                    self.dataset
                );
            }
        }
        for (split, rows) in &self.splits {
            let mut columns: Vec<String> =
                BASE_COLUMNS.iter().chain(fields(self.dataset)).map(|c| c.to_string()).collect();
            for row in rows {
                for (name, _) in &row.fields {
                    if !columns.contains(name) {
                        columns.push(name.clone());
                    }
                }
            }
            let mut writer = csv::Writer::from_writer(Vec::new());
            writer.write_record(&columns)?;
            for row in rows {
                let record = columns.iter().map(|c| match c.as_str() {
                    "path" => row.path.clone(),
                    "label" => row.label.to_string(),
                    name => row.field(name).unwrap_or("").to_owned(),
                });
                writer.write_record(record)?;
            }
            let bytes = writer.into_inner().context("cannot render a split CSV")?;
            let name = format!("{split}.csv");
            crate::atomic::write(&self.root.join(&name), &bytes)?;
            self.hashes.insert(name, crate::provenance::sha256_bytes(&bytes));
        }
        let text = toml::to_string(info).context("cannot render dataset.toml")?;
        crate::atomic::write(&self.root.join(INFO_FILE), text.as_bytes())?;
        self.hashes.insert(INFO_FILE.to_owned(), crate::provenance::sha256_bytes(text.as_bytes()));
        crate::atomic::write(&self.root.join(MANIFEST_FILE), manifest::render(&self.hashes).as_bytes())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn png(value: u8) -> Vec<u8> {
        let image = image::RgbImage::from_pixel(4, 3, image::Rgb([value, 0, 0]));
        let mut bytes = Vec::new();
        image.write_to(&mut std::io::Cursor::new(&mut bytes), image::ImageFormat::Png).unwrap();
        bytes
    }

    #[test]
    fn writer_output_reads_back_with_required_columns_first() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("in12");
        let mut writer = DatasetWriter::create(&root, DatasetId::In12).unwrap();
        for split in SplitName::ALL {
            let fields = vec![("source_row".to_owned(), "7".to_owned()), ("category".to_owned(), "ball".to_owned())];
            writer.add_image(split, 1, &png(9), fields).unwrap();
        }
        let info = DatasetInfo {
            dataset: DatasetId::In12,
            classes: 2,
            objects_per_category: None,
            class_names: vec!["airplane".into(), "ball".into()],
            source: "test".into(),
        };
        writer.finish(&info).unwrap();
        assert_eq!(DatasetInfo::read(&root).unwrap(), info);
        let header = fs::read_to_string(root.join("test.csv")).unwrap();
        assert_eq!(header.lines().next().unwrap(), "path,label,category,source_row");
        let rows = read_split(&root, DatasetId::In12, SplitName::Test).unwrap();
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0].path, "test/0001/000000.png");
        assert_eq!((rows[0].label, rows[0].field("category")), (1, Some("ball")));
        let listed: Vec<String> = manifest::read(&root).unwrap().into_keys().collect();
        assert_eq!(listed, manifest::list_files(&root).unwrap());
    }

    #[test]
    fn truncated_jpegs_and_pngs_are_rejected() {
        let image = image::RgbImage::from_fn(64, 48, |x, y| image::Rgb([(x * 4) as u8, (y * 5) as u8, 7]));
        let mut jpeg = Vec::new();
        image.write_to(&mut std::io::Cursor::new(&mut jpeg), image::ImageFormat::Jpeg).unwrap();
        assert_eq!(decode_rgb(&jpeg).unwrap().dimensions(), (64, 48));
        // Cut two bytes only: the decoder alone would accept this image.
        let err = decode_rgb(&jpeg[..jpeg.len() - 2]).unwrap_err().to_string();
        assert!(err.contains("truncated"), "{err}");
        let png = png(3);
        assert!(matches!(decode_rgb(&png[..png.len() - 20]), Err(DecodeError::Undecodable(_))));
        assert!(matches!(decode_rgb(b"not an image"), Err(DecodeError::Undecodable(_))));
    }

    /// PNG's CRC-32 (ISO-HDLC), to re-seal a chunk after editing it.
    fn crc32(bytes: &[u8]) -> u32 {
        let mut crc = 0xFFFF_FFFFu32;
        for &byte in bytes {
            crc ^= u32::from(byte);
            for _ in 0..8 {
                crc = if crc & 1 == 1 { (crc >> 1) ^ 0xEDB8_8320 } else { crc >> 1 };
            }
        }
        !crc
    }

    #[test]
    fn crc32_matches_the_standard_check_value() {
        assert_eq!(crc32(b"123456789"), 0xCBF4_3926);
    }

    /// A small file that declares a huge image: refused from its header, before any pixel is allocated.
    #[test]
    fn decompression_bombs_are_refused_before_decoding() {
        // PNG: IHDR (bytes 16..24 are width and height, the CRC follows the chunk data at 29..33).
        let mut bomb = png(1);
        bomb[16..20].copy_from_slice(&100_000u32.to_be_bytes());
        bomb[20..24].copy_from_slice(&100_000u32.to_be_bytes());
        let crc = crc32(&bomb[12..29]);
        bomb[29..33].copy_from_slice(&crc.to_be_bytes());
        assert!(bomb.len() < 200, "the bomb is {} bytes", bomb.len());
        assert!(matches!(decode_rgb(&bomb), Err(DecodeError::TooLarge { width: 100_000, height: 100_000 })));
        // JPEG: the frame header (SOF0, FF C0) holds the height and width after its length and precision.
        let image = image::RgbImage::from_pixel(16, 16, image::Rgb([9, 9, 9]));
        let mut jpeg = Vec::new();
        image.write_to(&mut std::io::Cursor::new(&mut jpeg), image::ImageFormat::Jpeg).unwrap();
        let sof = jpeg.windows(2).position(|w| w == [0xFF, 0xC0]).unwrap();
        jpeg[sof + 5..sof + 9].copy_from_slice(&[0xFF, 0xFF, 0xFF, 0xFF]);
        let err = decode_rgb(&jpeg).unwrap_err();
        assert!(matches!(err, DecodeError::TooLarge { width: 65_535, height: 65_535 }), "{err}");
        assert!(err.to_string().contains("decompression bomb"));
        // An image at the limit's scale but within it still decodes (the limit is on pixels, not on the side).
        let wide = image::GrayImage::new(20_000, 2);
        let mut bytes = Vec::new();
        wide.write_to(&mut std::io::Cursor::new(&mut bytes), image::ImageFormat::Png).unwrap();
        assert_eq!(decode_rgb(&bytes).unwrap().dimensions(), (20_000, 2));
    }

    fn encode(image: impl Into<image::DynamicImage>) -> Vec<u8> {
        let mut bytes = Vec::new();
        image.into().write_to(&mut std::io::Cursor::new(&mut bytes), image::ImageFormat::Png).unwrap();
        bytes
    }

    /// Grey and RGBA images become RGB as OpenCV's `IMREAD_COLOR` makes them (grey copied, alpha dropped, not
    /// blended); 16-bit images are refused.
    #[test]
    fn pixel_formats_follow_the_originals_decoder() {
        let grey = encode(image::GrayImage::from_pixel(2, 2, image::Luma([77])));
        assert_eq!(decode_rgb(&grey).unwrap().get_pixel(1, 1).0, [77, 77, 77]);
        let grey_alpha = encode(image::GrayAlphaImage::from_pixel(2, 2, image::LumaA([50, 0])));
        assert_eq!(decode_rgb(&grey_alpha).unwrap().get_pixel(0, 0).0, [50, 50, 50]);
        let rgba = encode(image::RgbaImage::from_pixel(2, 2, image::Rgba([10, 20, 30, 0])));
        assert_eq!(decode_rgb(&rgba).unwrap().get_pixel(0, 1).0, [10, 20, 30]);
        let deep: image::ImageBuffer<image::Rgb<u16>, Vec<u16>> =
            image::ImageBuffer::from_pixel(2, 2, image::Rgb([1; 3]));
        let err = decode_rgb(&encode(deep)).unwrap_err();
        assert!(matches!(err, DecodeError::WrongPixelFormat { bits: 16, .. }), "{err}");
        let deep_grey: image::ImageBuffer<image::Luma<u16>, Vec<u16>> = image::ImageBuffer::new(2, 2);
        assert!(matches!(decode_rgb(&encode(deep_grey)), Err(DecodeError::WrongPixelFormat { bits: 16, .. })));
    }

    #[test]
    fn paths_that_leave_the_root_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("root");
        fs::create_dir_all(root.join("train")).unwrap();
        fs::write(root.join("train/a.png"), b"a").unwrap();
        fs::write(dir.path().join("secret.png"), b"s").unwrap();
        std::os::unix::fs::symlink(dir.path().join("secret.png"), root.join("train/out.png")).unwrap();
        std::os::unix::fs::symlink(root.join("train/a.png"), root.join("train/in.png")).unwrap();
        std::os::unix::fs::symlink(dir.path(), root.join("up")).unwrap();
        std::os::unix::fs::symlink("/dev/zero", root.join("train/zero.png")).unwrap();
        assert_eq!(resolve(&root, "train/a.png").unwrap(), root.join("train/a.png"));
        assert_eq!(resolve(&root, "train/in.png").unwrap(), root.join("train/in.png"));
        let escapes = |relative: &str| matches!(resolve(&root, relative), Err(PathError::EscapesRoot { .. }));
        for relative in ["../secret.png", "train/../../secret.png", "/etc/passwd", "", "train/out.png", "up/secret.png"]
        {
            assert!(escapes(relative), "{relative}: {:?}", resolve(&root, relative));
        }
        assert!(escapes("train/zero.png"), "a device outside the root");
        assert!(matches!(resolve(&root, "train/b.png"), Err(PathError::Missing { .. })));
        assert!(matches!(resolve(&root, "train"), Err(PathError::NotAFile { .. })));
    }

    #[test]
    fn writer_refuses_a_non_empty_root_and_a_missing_split() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join("old.txt"), b"x").unwrap();
        let err = DatasetWriter::create(dir.path(), DatasetId::Faces).err().unwrap().to_string();
        assert!(err.contains("not empty"), "{err}");
        let root = dir.path().join("faces");
        let mut writer = DatasetWriter::create(&root, DatasetId::Faces).unwrap();
        writer.add_image(SplitName::Train, 0, &png(1), vec![]).unwrap();
        let info = DatasetInfo {
            dataset: DatasetId::Faces,
            classes: 1,
            objects_per_category: None,
            class_names: vec!["a".into()],
            source: "test".into(),
        };
        let err = writer.finish(&info).unwrap_err().to_string();
        assert!(err.contains("split 'val'"), "{err}");
    }
}
