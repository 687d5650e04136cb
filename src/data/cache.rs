//! The decoded cache: every split as one `uint8 [N, 3, H, W]` tensor, decoded once, which training and evaluation
//! read whole (issue 3, item 6).
//!
//! **Synthetic profiles** generate each split in memory with [`super::synthetic::generate`]; nothing is written.
//!
//! **Real profiles** decode `<data-root>/<dataset>/` (the canonical layout, `paper/DATA.md`) into
//! `<data-root>/.cache/<dataset>/<split>-<side>px-<key>.safetensors` (tensors `images` and `labels`) with a sidecar
//! `.json` holding the key, the image count and the file's size and SHA-256. The key is a SHA-256 of everything the
//! tensor depends on: the dataset's manifest hash, the split, the transform and its size, the sub-sample, and
//! [`CACHE_FORMAT`]. A cache whose key, size or hash disagrees is stale or corrupt: it is rebuilt, never used.
//!
//! **Transforms** (the original's deterministic part, `notebooks/model_training/*.ipynb`): training images get
//! `Resize((256, 256))` (both sides, to the profile's `stored_resolution`); val and test images get the test
//! transform `Resize(224)` on the shorter side (ImageNet-100: `Resize((224, 224))`), at the profile's
//! `resolution`. Resizing is PIL's default for these transforms, bilinear with antialiasing (a triangle filter
//! whose support widens with the scale factor), done by Pillow's own loops ([`pixels::resample`], compiled
//! optimised in every profile), so the cached pixels are Pillow's bit for bit. Batches need one size, so a
//! non-square image is then centre-cropped to a square, with torchvision's `CenterCrop` offsets. The original
//! had no crop (its images are square crops, where the crop does nothing), so a profile with
//! `non_square_test_images = "refuse"` (`paper`, `paper-uniform`) stops at a non-square val or test image instead,
//! naming the file and its shape.
//!
//! **Placement.** A split whose images take at most [`DEVICE_DATA_LIMIT`] bytes is moved whole onto the device (an
//! H200 holds ImageNet-100's 26 GB training split at 256 px); a larger one stays in CPU memory, and the training
//! loop moves each batch (it indexes `images` on the device the split lives on, then moves the batch).
use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use safetensors::tensor::{Dtype, Metadata, TensorInfo};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use tch::{Device, Kind, Tensor};

use super::layout::{self, DatasetInfo, Row};
use super::manifest;
use super::numpy_random::NumpyGenerator;
use super::synthetic::{self, SynthRequest};
use super::{par_map, Split, SplitName};
use crate::protocol::{DataSource, DatasetSpec, NonSquarePolicy, Profile, Subsample, TestResize};
use crate::vocab::DatasetId;

/// Version of the cache's content and format: bump it whenever decoding, resizing or the file layout changes, so
/// that every existing cache becomes stale. 2: Pillow's bilinear loops instead of `image`'s triangle filter.
pub(crate) const CACHE_FORMAT: u32 = 2;

/// Splits up to this many bytes of images go whole onto the device (see the module doc).
pub(crate) const DEVICE_DATA_LIMIT: u64 = 64 << 30;

/// Where the data comes from, besides the profile: the command line's `--data-root`.
#[derive(Clone, Debug, Default)]
pub(crate) struct DataSourceArgs {
    /// Directory holding one canonical root per dataset, `<data-root>/<dataset>/`; needed by real-data profiles.
    pub data_root: Option<PathBuf>,
}

/// How a split's images are brought to one size.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
enum Transform {
    /// `Resize((side, side))`.
    BothSides,
    /// `Resize(side)` on the shorter side, then a centre crop to `side x side`.
    ShorterSideThenCrop,
}

/// Everything a split tensor depends on; its SHA-256 is the cache key.
#[derive(Debug, Serialize)]
struct CacheKey<'a> {
    format: u32,
    dataset: DatasetId,
    /// Content hash of the dataset root (its manifest), or the generator request for stand-ins.
    source: String,
    split: SplitName,
    side: u32,
    transform: Transform,
    subsample: Option<&'a Subsample>,
    /// How a sub-sample is drawn ([`SUBSAMPLE_DRAWS`]); absent without a sub-sample, so that the other splits keep
    /// their keys.
    #[serde(skip_serializing_if = "Option::is_none")]
    subsample_draws: Option<&'static str>,
}

/// The version of [`subsample_per_class`]'s algorithm, in the key of every sub-sampled split: a change to how the
/// images are chosen must make the caches stale, even where the profile's `train_subsample` is unchanged.
const SUBSAMPLE_DRAWS: &str = "set_train_indices with numpy default_rng, objects of the first class (2)";

impl CacheKey<'_> {
    fn hash(&self) -> Result<String> {
        Ok(crate::provenance::sha256_bytes(serde_json::to_string(self)?.as_bytes()))
    }
}

/// The sidecar of a cache file.
#[derive(Debug, PartialEq, Serialize, Deserialize)]
struct CacheRecord {
    key: String,
    images: i64,
    side: u32,
    file_bytes: u64,
    file_sha256: String,
}

/// Stored side of a split: `stored_resolution` for training, `resolution` for val and test.
fn side(profile: &Profile, split: SplitName) -> u32 {
    match split {
        SplitName::Train => profile.stored_resolution,
        SplitName::Val | SplitName::Test => profile.resolution,
    }
}

fn transform(spec: &DatasetSpec, split: SplitName) -> Transform {
    match (split, spec.test_resize) {
        (SplitName::Train, _) | (_, TestResize::BothSides) => Transform::BothSides,
        (_, TestResize::ShorterSide) => Transform::ShorterSideThenCrop,
    }
}

/// Images of `split` in the profile (`train_images` is counted after the sub-sample).
fn split_images(spec: &DatasetSpec, split: SplitName) -> u64 {
    match split {
        SplitName::Train => spec.train_images,
        SplitName::Val => spec.val_images,
        SplitName::Test => spec.test_images,
    }
}

/// The generator request for one split of a stand-in. The seed depends on the profile's seed and the dataset, not
/// on the split, so that all splits share one label structure (the same identities, the same toys). ImageNet-100's
/// test split is its val split, as in the original.
pub(crate) fn synth_request(profile: &Profile, dataset: DatasetId, split: SplitName) -> Result<SynthRequest> {
    let spec = profile.dataset(dataset)?;
    Ok(SynthRequest {
        dataset,
        split: layout::split_on_disk(dataset, split),
        classes: spec.classes,
        objects_per_category: spec.objects_per_category,
        images: split_images(spec, split),
        side: side(profile, split),
        seed: crate::seeds::derive(profile.seed, &["data", dataset.name()]) as u64,
    })
}

/// The root of a real dataset: `<data-root>/<dataset>`.
pub(crate) fn dataset_root(dataset: DatasetId, source: &DataSourceArgs) -> Result<PathBuf> {
    let Some(data_root) = &source.data_root else {
        bail!(
            "this profile reads the real {dataset} data: pass --data-root DIR, where DIR/{dataset}/ holds it in the \
             canonical layout (paper/DATA.md; create it with `blurry-to-clear data import`), or use a synthetic \
             profile (mini, tiny)"
        );
    };
    Ok(data_root.join(dataset.name()))
}

/// A hash naming the data a run of `dataset` under `profile` sees: changes whenever any split's tensor would. The
/// pipeline names its stages by it.
pub(crate) fn dataset_hash(profile: &Profile, dataset: DatasetId, source: &DataSourceArgs) -> Result<String> {
    let mut keys = Vec::new();
    for split in SplitName::ALL {
        let key = match profile.data {
            DataSource::Synthetic => {
                let request = synth_request(profile, dataset, split)?;
                format!("synthetic {} {request:?}", env!("CARGO_PKG_VERSION"))
            }
            DataSource::Real => real_key(profile, dataset, split, &dataset_root(dataset, source)?)?.hash()?,
        };
        keys.push(key);
    }
    Ok(crate::provenance::sha256_bytes(keys.join("\n").as_bytes()))
}

fn real_key<'a>(profile: &'a Profile, dataset: DatasetId, split: SplitName, root: &Path) -> Result<CacheKey<'a>> {
    let spec = profile.dataset(dataset)?;
    let source = manifest::content_hash(root).with_context(|| {
        format!("{} is not a complete {dataset} root; check it with `blurry-to-clear data verify`", root.display())
    })?;
    Ok(CacheKey {
        format: CACHE_FORMAT,
        dataset,
        source,
        split: layout::split_on_disk(dataset, split),
        side: side(profile, split),
        transform: transform(spec, split),
        subsample: spec.train_subsample.as_ref().filter(|_| split == SplitName::Train),
        subsample_draws: spec.train_subsample.as_ref().filter(|_| split == SplitName::Train).map(|_| SUBSAMPLE_DRAWS),
    })
}

/// One split of `dataset` as the profile defines it, on `device` when it fits (see the module doc).
pub(crate) fn load_split(
    profile: &Profile,
    dataset: DatasetId,
    split: SplitName,
    source: &DataSourceArgs,
    device: Device,
) -> Result<Split> {
    let loaded = match profile.data {
        DataSource::Synthetic => {
            let request = synth_request(profile, dataset, split)?;
            let generated = synthetic::generate(&request)
                .with_context(|| format!("cannot generate the {dataset} stand-in's {split} split"))?;
            Split { images: generated.images, labels: Tensor::from_slice(&generated.labels) }
        }
        DataSource::Real => load_real(profile, dataset, split, &dataset_root(dataset, source)?)?,
    };
    Ok(place(loaded, device))
}

fn place(split: Split, device: Device) -> Split {
    let bytes = split.images.numel() as u64;
    if device == Device::Cpu || bytes > DEVICE_DATA_LIMIT {
        return split;
    }
    Split { images: split.images.to_device(device), labels: split.labels.to_device(device) }
}

/// Path of a split's cache file (the sidecar is the same path with `.json`).
fn cache_path(root: &Path, key: &CacheKey, hash: &str) -> PathBuf {
    let data_root = root.parent().unwrap_or(root);
    data_root.join(".cache").join(key.dataset.name()).join(format!(
        "{}-{}px-{}.safetensors",
        key.split,
        key.side,
        &hash[..16]
    ))
}

fn load_real(profile: &Profile, dataset: DatasetId, split: SplitName, root: &Path) -> Result<Split> {
    let spec = profile.dataset(dataset)?;
    let info = DatasetInfo::read(root)?;
    if info.dataset != dataset || info.classes != spec.classes {
        bail!(
            "{} holds {} with {} classes, but profile '{}' expects {dataset} with {} classes; point --data-root at the \
             right data or fix the profile",
            root.display(),
            info.dataset,
            info.classes,
            profile.name,
            spec.classes
        );
    }
    let key = real_key(profile, dataset, split, root)?;
    let hash = key.hash()?;
    let path = cache_path(root, &key, &hash);
    match read_cache(&path, &hash) {
        Ok(split) => return Ok(split),
        Err(reason) if path.exists() => tracing::warn!("rebuilding: {reason:#}"),
        Err(_) => tracing::info!("building the cache {} (decoded once, then reused)", path.display()),
    }
    let built = build(root, dataset, &key, spec, profile.non_square_test_images)?;
    write_cache(&path, &hash, &built)?;
    Ok(built)
}

fn sidecar(path: &Path) -> PathBuf {
    path.with_extension("json")
}

/// Read a cache file, refusing it unless its sidecar's key matches and the file has the recorded size and hash.
///
/// The file is read once, in chunks straight into the split's preallocated tensors, and hashed on the way: peak
/// memory is the split plus one chunk (`Tensor::read_safetensors` would hold the whole file besides the tensors,
/// twice the split: 52 GB for ImageNet-100's training split). The tensors are returned only when the hash agrees.
pub fn read_cache(path: &Path, hash: &str) -> Result<Split> {
    read_checked(path, hash).with_context(|| format!("cache file {}", path.display()))
}

fn read_checked(path: &Path, hash: &str) -> Result<Split> {
    let sidecar_path = sidecar(path);
    let text =
        std::fs::read_to_string(&sidecar_path).with_context(|| format!("no sidecar {}", sidecar_path.display()))?;
    let record: CacheRecord = serde_json::from_str(&text).context("the sidecar is not valid")?;
    if record.key != hash {
        bail!("it was built from other inputs (key {} instead of {hash})", record.key);
    }
    let file = std::fs::File::open(path).context("the cache file is missing")?;
    let bytes = file.metadata().context("cannot read the file's size")?.len();
    if bytes != record.file_bytes {
        bail!("the file has {bytes} bytes instead of {}", record.file_bytes);
    }
    let mut reader = HashingReader { inner: std::io::BufReader::new(file), hasher: Sha256::new() };
    let layout = read_header(&mut reader, bytes)?;
    let (n, side) = (record.images as usize, record.side as usize);
    if layout.images.shape != [n, 3, side, side] || layout.labels.shape != [n] {
        bail!("the tensors have shapes {:?} and {:?}", layout.images.shape, layout.labels.shape);
    }
    let side = i64::from(record.side);
    // `write_cache` stores images then labels; caches written by earlier versions (through tch) store the labels
    // first. Either way the data follows the header without gaps.
    let labels_first = layout.labels.data_offsets.0 < layout.images.data_offsets.0;
    let (first, second) =
        if labels_first { (&layout.labels, &layout.images) } else { (&layout.images, &layout.labels) };
    if first.data_offsets.0 != 0 || second.data_offsets.0 != first.data_offsets.1 {
        bail!("the tensors are not stored one after the other; delete the file to rebuild it");
    }
    let labels = if labels_first { Some(read_labels(&mut reader, record.images)?) } else { None };
    let images = read_images(&mut reader, record.images, side)?;
    let labels = match labels {
        Some(labels) => labels,
        None => read_labels(&mut reader, record.images)?,
    };
    let actual = crate::provenance::hex(&reader.hasher.finalize());
    if actual != record.file_sha256 {
        bail!("the file's SHA-256 is {actual} instead of {}", record.file_sha256);
    }
    Ok(Split { images, labels })
}

/// Bytes read (and copied into the tensor) at a time.
const READ_CHUNK_BYTES: usize = 16 << 20;

/// `n` uint8 images `[n, 3, side, side]`, read a chunk of whole images at a time into one preallocated tensor.
fn read_images(reader: &mut impl Read, n: i64, side: i64) -> Result<Tensor> {
    let images = Tensor::empty([n, 3, side, side], (Kind::Uint8, Device::Cpu));
    let per_image = 3 * side * side;
    let rows_per_chunk = (READ_CHUNK_BYTES as i64 / per_image.max(1)).max(1);
    let mut buffer = Vec::new();
    let mut row = 0;
    while row < n {
        let rows = rows_per_chunk.min(n - row);
        buffer.resize((rows * per_image) as usize, 0);
        reader.read_exact(&mut buffer).context("the file ends early")?;
        images.narrow(0, row, rows).copy_(&Tensor::from_slice(&buffer).view([rows, 3, side, side]));
        row += rows;
    }
    Ok(images)
}

/// `n` little-endian int64 labels.
fn read_labels(reader: &mut impl Read, n: i64) -> Result<Tensor> {
    let mut bytes = vec![0u8; 8 * n as usize];
    reader.read_exact(&mut bytes).context("the file ends early")?;
    let labels: Vec<i64> = bytes.chunks_exact(8).map(|b| i64::from_le_bytes(b.try_into().unwrap_or([0; 8]))).collect();
    Ok(Tensor::from_slice(&labels))
}

/// Passes reads through, hashing every byte.
struct HashingReader<R> {
    inner: R,
    hasher: Sha256,
}

impl<R: Read> Read for HashingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hasher.update(&buf[..n]);
        Ok(n)
    }
}

/// The two tensors of a cache file, as its safetensors header describes them.
struct CacheLayout {
    images: TensorInfo,
    labels: TensorInfo,
}

/// Read and check a safetensors header (an 8-byte little-endian length, then that much JSON, read here since the
/// `safetensors` crate parses headers from the whole file's bytes only) against the file's `file_bytes`: the
/// dtypes are the cache's and the data ends where the file does.
fn read_header(reader: &mut impl Read, file_bytes: u64) -> Result<CacheLayout> {
    let mut length = [0u8; 8];
    reader.read_exact(&mut length).context("the file ends inside its header")?;
    let length = u64::from_le_bytes(length);
    if length > file_bytes.saturating_sub(8) || length > 1 << 20 {
        bail!("the header claims {length} bytes, more than the file holds");
    }
    let mut header = vec![0u8; length as usize];
    reader.read_exact(&mut header).context("the file ends inside its header")?;
    let metadata: Metadata = serde_json::from_slice(&header).context("the header is not a cache's")?;
    let mut tensors = metadata.tensors();
    let mut take = |name: &str| {
        tensors.remove(name).cloned().with_context(|| format!("the header is not a cache's: no tensor '{name}'"))
    };
    let layout = CacheLayout { images: take("images")?, labels: take("labels")? };
    for (name, entry, dtype) in [("images", &layout.images, Dtype::U8), ("labels", &layout.labels, Dtype::I64)] {
        let (start, end) = entry.data_offsets;
        if entry.dtype != dtype || end < start {
            bail!("tensor '{name}' is {:?} at {:?}, expected {dtype:?}", entry.dtype, entry.data_offsets);
        }
        if entry.shape.iter().try_fold(dtype.size(), |bytes, d| bytes.checked_mul(*d)) != Some(end - start) {
            bail!("tensor '{name}' has {} bytes for shape {:?}", end - start, entry.shape);
        }
    }
    let data_end = 8 + length + layout.labels.data_offsets.1.max(layout.images.data_offsets.1) as u64;
    if data_end != file_bytes {
        bail!("the header describes {data_end} bytes, the file has {file_bytes}");
    }
    Ok(layout)
}

/// Write a split as a safetensors file with its sidecar (atomically), hashing the file as it is written.
pub fn write_cache(path: &Path, hash: &str, split: &Split) -> Result<()> {
    let images = split.images.to_device(Device::Cpu).contiguous();
    let labels = Vec::<i64>::try_from(&split.labels.to_device(Device::Cpu)).context("labels must be int64")?;
    let n = labels.len() as i64;
    let size = images.size();
    let [count, 3, side, side_w] = size[..] else { bail!("a cache holds images [N, 3, S, S], got {size:?}") };
    if count != n || side != side_w || images.kind() != Kind::Uint8 {
        bail!("a cache holds uint8 images [N, 3, S, S] with N labels, got {size:?} and {n} labels");
    }
    let image_bytes = (n * 3 * side * side) as usize;
    let shape = |dims: &[i64]| dims.iter().map(|d| *d as usize).collect();
    let layout = BTreeMap::from([
        ("images", TensorInfo { dtype: Dtype::U8, shape: shape(&size), data_offsets: (0, image_bytes) }),
        (
            "labels",
            TensorInfo {
                dtype: Dtype::I64,
                shape: shape(&[n]),
                data_offsets: (image_bytes, image_bytes + 8 * n as usize),
            },
        ),
    ]);
    let mut header = serde_json::to_vec(&layout)?;
    // safetensors pads the header with spaces so that the data starts 8-byte aligned.
    header.resize(header.len().next_multiple_of(8), b' ');
    let mut sha256 = String::new();
    crate::atomic::write_with(path, |tmp| {
        sha256 =
            write_file(tmp, &header, &images, &labels).with_context(|| format!("cannot write {}", tmp.display()))?;
        Ok(())
    })?;
    let record = CacheRecord {
        key: hash.to_owned(),
        images: n,
        side: side as u32,
        file_bytes: std::fs::metadata(path)?.len(),
        file_sha256: sha256,
    };
    crate::atomic::write(&sidecar(path), serde_json::to_string_pretty(&record)?.as_bytes())
}

/// Write the header and then the tensors' bytes (images a chunk at a time) to `path`; the file's SHA-256.
fn write_file(path: &Path, header: &[u8], images: &Tensor, labels: &[i64]) -> Result<String> {
    let file = std::fs::File::create(path)?;
    let mut writer = HashingWriter { inner: std::io::BufWriter::new(file), hasher: Sha256::new() };
    writer.write_all(&(header.len() as u64).to_le_bytes())?;
    writer.write_all(header)?;
    let n = images.size()[0];
    let rows_per_chunk = (READ_CHUNK_BYTES as i64 / (images.numel() as i64 / n.max(1)).max(1)).max(1);
    for start in (0..n).step_by(rows_per_chunk as usize) {
        let chunk = images.narrow(0, start, rows_per_chunk.min(n - start)).flatten(0, -1);
        writer.write_all(&Vec::<u8>::try_from(&chunk)?)?;
    }
    writer.write_all(&labels.iter().flat_map(|l| l.to_le_bytes()).collect::<Vec<u8>>())?;
    writer.inner.flush()?;
    writer.inner.get_ref().sync_all()?;
    Ok(crate::provenance::hex(&writer.hasher.finalize()))
}

/// Passes writes through, hashing every byte.
struct HashingWriter<W> {
    inner: W,
    hasher: Sha256,
}

impl<W: Write> Write for HashingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hasher.update(&buf[..n]);
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

/// Decode, resize and stack one split, checking every file against the manifest as it is read.
fn build(
    root: &Path,
    dataset: DatasetId,
    key: &CacheKey,
    spec: &DatasetSpec,
    non_square: NonSquarePolicy,
) -> Result<Split> {
    let mut rows = layout::read_split(root, dataset, key.split)?;
    if let Some(subsample) = key.subsample {
        rows = subsample_per_class(&rows, subsample)?;
        if rows.len() as u64 != spec.train_images {
            bail!(
                "the sub-sample has {} images, but the profile says train_images = {}",
                rows.len(),
                spec.train_images
            );
        }
    }
    if let Some(row) = rows.iter().find(|r| r.label < 0 || r.label as u64 >= spec.classes) {
        bail!(
            "{}: image {} has label {}, outside 0..{}; check the root with `blurry-to-clear data verify`",
            layout::csv_path(root, key.split).display(),
            row.path,
            row.label,
            spec.classes
        );
    }
    let hashes = manifest::read(root)?;
    let side = key.side as i64;
    let images = Tensor::zeros([rows.len() as i64, 3, side, side], (Kind::Uint8, Device::Cpu));
    const CHUNK: usize = 2048;
    for (chunk_index, chunk) in rows.chunks(CHUNK).enumerate() {
        let decoded = par_map(chunk, |row| decode_row(root, row, &hashes, key, non_square));
        let mut pixels = Vec::with_capacity(chunk.len() * 3 * (side * side) as usize);
        for result in decoded {
            pixels.extend(result?);
        }
        let start = (chunk_index * CHUNK) as i64;
        let mut slot = images.narrow(0, start, chunk.len() as i64);
        slot.copy_(&Tensor::from_slice(&pixels).view([-1, 3, side, side]));
    }
    let labels: Vec<i64> = rows.iter().map(|r| r.label).collect();
    Ok(Split { images, labels: Tensor::from_slice(&labels) })
}

/// One image as CHW bytes at the key's side.
fn decode_row(
    root: &Path,
    row: &Row,
    hashes: &BTreeMap<String, String>,
    key: &CacheKey,
    non_square: NonSquarePolicy,
) -> Result<Vec<u8>> {
    let path = layout::resolve(root, &row.path).with_context(|| {
        format!("refusing an image of split '{}' of {} (check the root with `data verify`)", key.split, root.display())
    })?;
    let bytes = std::fs::read(&path).with_context(|| format!("cannot read {}", path.display()))?;
    if hashes.get(&row.path) != Some(&crate::provenance::sha256_bytes(&bytes)) {
        bail!("{} does not match the dataset's SHA256SUMS; run `blurry-to-clear data verify`", path.display());
    }
    let image = layout::decode_rgb(&bytes).with_context(|| format!("{}", path.display()))?;
    let (width, height) = image.dimensions();
    if key.transform == Transform::ShorterSideThenCrop && width != height && non_square == NonSquarePolicy::Refuse {
        let (resized_width, resized_height) = shorter_side_size(width, height, key.side);
        bail!(
            "{}: a {width}x{height} image in split '{}'. The original's test transform, Resize({}) on the shorter \
             side, makes it {resized_width}x{resized_height} and never crops, which this artifact cannot batch; crop \
             the dataset's images to squares, or set `non_square_test_images = \"centre_crop\"` in the profile (a \
             deviation: paper/DEVIATIONS.md)",
            path.display(),
            key.split,
            key.side,
        );
    }
    Ok(resize(&image, key.side, key.transform))
}

/// A training image as its cache holds it: decoded ([`layout::decode_rgb`]) and resized to `side x side` on both
/// sides (`Resize((side, side))`), as planar RGB bytes. What the benchmark times against Pillow.
pub fn decode_training_image(bytes: &[u8], side: u32) -> Result<Vec<u8>> {
    Ok(resize(&layout::decode_rgb(bytes)?, side, Transform::BothSides))
}

/// The original's deterministic resize (see the module doc), to `side x side`, as planar RGB bytes. Only the kept
/// part of a centre-cropped axis is computed: each output pixel depends on its own taps alone.
fn resize(image: &image::RgbImage, side: u32, transform: Transform) -> Vec<u8> {
    use pixels::resample::{taps, AxisTaps, Filter};
    let (w, h) = image.dimensions();
    let (rw, rh) = match transform {
        Transform::BothSides => (side, side),
        Transform::ShorterSideThenCrop => shorter_side_size(w, h, side),
    };
    let kept = |length: u32, resized: u32| {
        let all = taps(Filter::Bilinear, 0, length as usize, resized as usize);
        let range = center_offset(resized, side) as usize..(center_offset(resized, side) + side) as usize;
        AxisTaps { first: all.first[range.clone()].to_vec(), weights: all.weights[range].to_vec() }
    };
    let (columns, rows) = (kept(w, rw), kept(h, rh));
    let mut chw = vec![0u8; 3 * (side * side) as usize];
    pixels::resample::resize_rgb_to_planes(image.as_raw(), w as usize, &columns, &rows, &mut chw);
    chw
}

/// The size `Resize(side)` gives a `w x h` image: torchvision makes the shorter side `side` and the longer
/// `int(side * long / short)`, truncated.
fn shorter_side_size(w: u32, h: u32, side: u32) -> (u32, u32) {
    if w <= h {
        (side, (u64::from(side) * u64::from(h) / u64::from(w)) as u32)
    } else {
        ((u64::from(side) * u64::from(w) / u64::from(h)) as u32, side)
    }
}

/// torchvision `CenterCrop`'s offset: `int(round((size - crop) / 2))`, with Python's round half to even.
fn center_offset(size: u32, crop: u32) -> u32 {
    let diff = size - crop;
    let half = diff / 2;
    if diff % 2 == 1 && half % 2 == 1 {
        half + 1
    } else {
        half
    }
}

/// The original's per-class sub-sample of Toybox's training split (`ToyboxDataset.set_train_indices` with
/// `num_images_per_class = 3000`, `num_instances = -1` and its default `views`), with its random draws:
///
/// - every class, in the order of its first row, uses as many objects as the first class (the original's
///   `airplane`) has, drawn without replacement (`rng.choice`; a class with fewer is an error, as numpy's would be);
/// - in the drawn order, each object gets `per_class / objects` images and the first `per_class % objects` one more;
/// - an object's images come only from its rows whose `video` is one of `videos` (the original's `Transformation` in
///   its `views`, the six rotation videos), in file order; it contributes all of them as often as they fit its quota,
///   and the rest are drawn without replacement (`rng.choice`).
///
/// Objects are counted from all of a class's rows, whatever their video, as the original's `obj_dict` is. The draws
/// come from numpy's `default_rng(seed)` reproduced bit for bit ([`super::numpy_random`]), so, with the original's
/// rows in the original's order (the importers keep it), the selected images are the original's.
fn subsample_per_class(rows: &[Row], subsample: &Subsample) -> Result<Vec<Row>> {
    let mut rng = NumpyGenerator::new(subsample.seed);
    let allowed = |row: &Row| match &subsample.videos {
        Some(videos) => row.field("video").is_some_and(|v| videos.iter().any(|w| w == v)),
        None => true,
    };
    // The classes in order of first appearance, each with its objects in order of first appearance, each with its
    // rows of the allowed videos.
    type Objects = Vec<(String, Vec<usize>)>;
    let mut classes: Vec<(i64, Objects)> = Vec::new();
    for (index, row) in rows.iter().enumerate() {
        let class = match classes.iter().position(|(label, _)| *label == row.label) {
            Some(at) => at,
            None => {
                classes.push((row.label, Vec::new()));
                classes.len() - 1
            }
        };
        let objects = &mut classes[class].1;
        let object = row.field("object").unwrap_or("");
        let at = match objects.iter().position(|(o, _)| o == object) {
            Some(at) => at,
            None => {
                objects.push((object.to_owned(), Vec::new()));
                objects.len() - 1
            }
        };
        if allowed(row) {
            objects[at].1.push(index);
        }
    }
    let Some(objects_per_class) = classes.first().map(|(_, objects)| objects.len()) else { return Ok(Vec::new()) };
    let per_class = subsample.per_class as usize;
    let (quota, extra) = (per_class / objects_per_class, per_class % objects_per_class);
    let mut selected = Vec::with_capacity(classes.len() * per_class);
    for (label, objects) in &classes {
        if objects.len() < objects_per_class {
            bail!(
                "the sub-sample uses {objects_per_class} objects per class (as many as the first class has, as the \
                 original's set_train_indices does), but class {label} has only {}",
                objects.len()
            );
        }
        for (position, (object, indices)) in rng.choose(objects, objects_per_class).iter().enumerate() {
            if indices.is_empty() {
                bail!(
                    "object {object} of class {label} has no training image of the videos {:?}; the sub-sample cannot \
                     draw its images",
                    subsample.videos.as_deref().unwrap_or_default()
                );
            }
            let mut wanted = quota + usize::from(position < extra);
            while wanted >= indices.len() {
                selected.extend(indices.iter().copied());
                wanted -= indices.len();
            }
            selected.extend(rng.choose(indices, wanted));
        }
    }
    Ok(selected.into_iter().map(|i| rows[i].clone()).collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    fn fixture(dataset: DatasetId) -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(dataset.name()).join("canonical")
    }

    fn copy_dir(from: &Path, to: &Path) {
        fs::create_dir_all(to).unwrap();
        for entry in fs::read_dir(from).unwrap() {
            let entry = entry.unwrap();
            if entry.path().is_dir() {
                copy_dir(&entry.path(), &to.join(entry.file_name()));
            } else {
                fs::copy(entry.path(), to.join(entry.file_name())).unwrap();
            }
        }
    }

    /// The `paper` profile at 64/72 px with the fixtures' class counts and split sizes, and a data root holding
    /// copies of the fixtures.
    fn real_setup(dir: &Path) -> (Profile, DataSourceArgs) {
        let mut profile: toml::Table =
            fs::read_to_string(crate::protocol::protocol_dir().unwrap().join("paper.toml")).unwrap().parse().unwrap();
        profile.insert("resolution".into(), 64.into());
        profile.insert("stored_resolution".into(), 72.into());
        profile.insert("batch_size".into(), 2.into());
        let datasets = profile.get_mut("datasets").unwrap().as_table_mut().unwrap();
        for (dataset, classes, train, val, test) in [
            ("faces", 3, 6, 3, 3),
            ("toybox_instance", 360, 360, 12, 12),
            ("toybox_category", 12, 36, 12, 12),
            ("in12", 12, 12, 12, 12),
            ("in100", 3, 6, 3, 3),
        ] {
            let spec = datasets.get_mut(dataset).unwrap().as_table_mut().unwrap();
            for (key, value) in
                [("classes", classes), ("train_images", train), ("val_images", val), ("test_images", test)]
            {
                spec.insert(key.into(), value.into());
            }
        }
        let subsample = toml::Table::from_iter([("per_class".to_owned(), 3.into()), ("seed".to_owned(), 5.into())]);
        let toybox = datasets.get_mut("toybox_category").unwrap().as_table_mut().unwrap();
        toybox.insert("train_subsample".into(), subsample.into());
        // The fixtures' 40x32 faces exercise the crop; refusing it has its own test.
        profile.insert("non_square_test_images".into(), "centre_crop".into());
        let path = dir.join("real.toml");
        fs::write(&path, toml::to_string(&profile).unwrap()).unwrap();
        for &dataset in DatasetId::ALL {
            copy_dir(&fixture(dataset), &dir.join("data").join(dataset.name()));
        }
        (Profile::from_file(&path).unwrap(), DataSourceArgs { data_root: Some(dir.join("data")) })
    }

    fn cache_files(data_root: &Path, dataset: DatasetId) -> Vec<PathBuf> {
        let dir = data_root.join(".cache").join(dataset.name());
        let mut files: Vec<PathBuf> = fs::read_dir(dir).unwrap().map(|e| e.unwrap().path()).collect();
        files.retain(|p| p.extension().is_some_and(|e| e == "safetensors"));
        files.sort();
        files
    }

    fn same(a: &Split, b: &Split) -> bool {
        a.images.equal(&b.images) && a.labels.equal(&b.labels)
    }

    #[test]
    fn real_splits_are_decoded_once_at_the_protocol_sizes() {
        let dir = tempfile::tempdir().unwrap();
        let (profile, source) = real_setup(dir.path());
        let load = |split| load_split(&profile, DatasetId::Faces, split, &source, Device::Cpu).unwrap();
        let train = load(SplitName::Train);
        assert_eq!(train.images.size(), [6, 3, 72, 72]);
        assert_eq!(train.images.kind(), Kind::Uint8);
        assert_eq!(Vec::<i64>::try_from(&train.labels).unwrap(), [0, 1, 2, 0, 1, 2]);
        // The 40x32 test images: shorter side to 64 (80x64), then the centre 64x64.
        assert_eq!(load(SplitName::Test).images.size(), [3, 3, 64, 64]);
        let data_root = source.data_root.clone().unwrap();
        let files = cache_files(&data_root, DatasetId::Faces);
        assert_eq!(files.len(), 2, "{files:?}");
        // The second load reads the cache: the same tensors, the file untouched.
        let train_file = files.iter().find(|f| f.to_string_lossy().contains("train-72px")).unwrap();
        let written = fs::metadata(train_file).unwrap().modified().unwrap();
        assert!(same(&train, &load(SplitName::Train)));
        assert_eq!(fs::metadata(train_file).unwrap().modified().unwrap(), written);
        // ImageNet-100's test split is its val split.
        let in100 = |split| load_split(&profile, DatasetId::In100, split, &source, Device::Cpu).unwrap();
        assert!(same(&in100(SplitName::Val), &in100(SplitName::Test)));
        assert_eq!(in100(SplitName::Val).images.size(), [3, 3, 64, 64]);
    }

    #[test]
    fn corrupt_and_stale_caches_are_rebuilt() {
        let dir = tempfile::tempdir().unwrap();
        let (profile, source) = real_setup(dir.path());
        let load = || load_split(&profile, DatasetId::Faces, SplitName::Train, &source, Device::Cpu).unwrap();
        let first = load();
        let data_root = source.data_root.clone().unwrap();
        let file = cache_files(&data_root, DatasetId::Faces).remove(0);
        let sidecar_text = fs::read_to_string(sidecar(&file)).unwrap();
        // Corrupt one pixel byte of the cache: detected by its hash, rebuilt, never used.
        let mut bytes = fs::read(&file).unwrap();
        let last = bytes.len() - 1;
        bytes[last] ^= 0xFF;
        fs::write(&file, bytes).unwrap();
        assert!(same(&first, &load()));
        assert_eq!(
            crate::provenance::sha256_file(&file).unwrap(),
            serde_json::from_str::<CacheRecord>(&sidecar_text).unwrap().file_sha256
        );
        // Truncate it: rebuilt too.
        let bytes = fs::read(&file).unwrap();
        fs::write(&file, &bytes[..bytes.len() / 2]).unwrap();
        assert!(same(&first, &load()));
        // Change the data (a training label, with its manifest entry): a new key, a new cache with the new label.
        let root = data_root.join("faces");
        let csv = fs::read_to_string(root.join("train.csv")).unwrap().replacen(
            "train/0000/000000.jpg,0,",
            "train/0000/000000.jpg,2,",
            1,
        );
        fs::write(root.join("train.csv"), csv).unwrap();
        let hashes = manifest::list_files(&root).unwrap().into_iter().map(|f| {
            let hash = crate::provenance::sha256_file(&root.join(&f)).unwrap();
            (f, hash)
        });
        fs::write(root.join(manifest::MANIFEST_FILE), manifest::render(&hashes.collect())).unwrap();
        let changed = load();
        assert_eq!(Vec::<i64>::try_from(&changed.labels).unwrap(), [2, 1, 2, 0, 1, 2]);
        assert!(changed.images.equal(&first.images));
        assert_eq!(cache_files(&data_root, DatasetId::Faces).len(), 2);
    }

    fn small_split() -> Split {
        let images: Vec<u8> = (0..5 * 3 * 6 * 6).map(|i| (i * 7 % 256) as u8).collect();
        Split {
            images: Tensor::from_slice(&images).view([5, 3, 6, 6]),
            labels: Tensor::from_slice(&[4i64, 0, -1, 2, 9]),
        }
    }

    #[test]
    fn a_written_cache_reads_back_equal_and_is_a_safetensors_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("train-6px-key.safetensors");
        let split = small_split();
        write_cache(&path, "key", &split).unwrap();
        assert!(same(&read_cache(&path, "key").unwrap(), &split));
        // The header, padded to 8 bytes, is the one caches have always had (their recorded SHA-256 stays valid).
        let bytes = fs::read(&path).unwrap();
        let header =
            String::from_utf8(bytes[8..8 + u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize].to_vec());
        assert_eq!(
            header.unwrap().trim_end(),
            r#"{"images":{"dtype":"U8","shape":[5,3,6,6],"data_offsets":[0,540]},"labels":{"dtype":"I64","shape":[5],"data_offsets":[540,580]}}"#
        );
        // tch reads it too (as would PyTorch's safetensors).
        let tensors: BTreeMap<String, Tensor> = Tensor::read_safetensors(&path).unwrap().into_iter().collect();
        assert!(tensors["images"].equal(&split.images) && tensors["labels"].equal(&split.labels));
        // A cache written by tch (labels stored first) is read as well.
        let tch_path = dir.path().join("tch.safetensors");
        Tensor::write_safetensors(&[("images", &split.images), ("labels", &split.labels)], &tch_path).unwrap();
        let record = CacheRecord {
            key: "key".into(),
            images: 5,
            side: 6,
            file_bytes: fs::metadata(&tch_path).unwrap().len(),
            file_sha256: crate::provenance::sha256_file(&tch_path).unwrap(),
        };
        fs::write(sidecar(&tch_path), serde_json::to_string(&record).unwrap()).unwrap();
        assert!(same(&read_cache(&tch_path, "key").unwrap(), &split));
        // Another key is refused.
        let err = format!("{:#}", read_cache(&path, "other").unwrap_err());
        assert!(err.contains(&path.display().to_string()) && err.contains("other inputs"), "{err}");
    }

    #[test]
    fn truncated_and_corrupted_cache_files_are_refused_naming_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("train-6px-key.safetensors");
        write_cache(&path, "key", &small_split()).unwrap();
        let good = fs::read(&path).unwrap();
        let refusal = |bytes: &[u8]| {
            fs::write(&path, bytes).unwrap();
            let err = format!("{:#}", read_cache(&path, "key").unwrap_err());
            assert!(err.contains(&path.display().to_string()), "{err}");
            err
        };
        // One pixel changed: the hash disagrees.
        let mut corrupted = good.clone();
        let last_pixel = good.len() - 5 * 8 - 1;
        corrupted[last_pixel] ^= 0x10;
        assert!(refusal(&corrupted).contains("SHA-256"));
        // Cut short: the size disagrees with the sidecar.
        assert!(refusal(&good[..good.len() - 9]).contains("bytes instead of"));
        // Cut short with a sidecar that agrees on the size: the header no longer fits the file.
        let mut record: CacheRecord = serde_json::from_str(&fs::read_to_string(sidecar(&path)).unwrap()).unwrap();
        record.file_bytes = (good.len() - 9) as u64;
        fs::write(sidecar(&path), serde_json::to_string(&record).unwrap()).unwrap();
        assert!(refusal(&good[..good.len() - 9]).contains("the header describes"));
        // A damaged header.
        let mut bad_header = good.clone();
        bad_header[8] = b'[';
        record.file_bytes = good.len() as u64;
        fs::write(sidecar(&path), serde_json::to_string(&record).unwrap()).unwrap();
        assert!(refusal(&bad_header).contains("header"));
    }

    #[test]
    fn an_image_changed_behind_the_manifest_stops_the_build() {
        let dir = tempfile::tempdir().unwrap();
        let (profile, source) = real_setup(dir.path());
        let image = source.data_root.as_ref().unwrap().join("faces/val/0001/000001.jpg");
        let mut bytes = fs::read(&image).unwrap();
        bytes[100] ^= 1;
        fs::write(&image, bytes).unwrap();
        let err = load_split(&profile, DatasetId::Faces, SplitName::Val, &source, Device::Cpu).unwrap_err();
        assert!(format!("{err:#}").contains("does not match the dataset's SHA256SUMS"), "{err:#}");
    }

    #[test]
    fn toybox_category_training_split_is_subsampled_per_class() {
        let dir = tempfile::tempdir().unwrap();
        let (profile, source) = real_setup(dir.path());
        let train = load_split(&profile, DatasetId::ToyboxCategory, SplitName::Train, &source, Device::Cpu).unwrap();
        let labels = Vec::<i64>::try_from(&train.labels).unwrap();
        assert_eq!(labels.len(), 36);
        for class in 0..12 {
            assert_eq!(labels.iter().filter(|l| **l == class).count(), 3, "class {class}");
        }
    }

    #[test]
    fn real_profiles_need_a_matching_data_root() {
        let dir = tempfile::tempdir().unwrap();
        let (mut profile, source) = real_setup(dir.path());
        let err =
            load_split(&profile, DatasetId::In12, SplitName::Val, &DataSourceArgs::default(), Device::Cpu).unwrap_err();
        assert!(err.to_string().contains("--data-root"), "{err}");
        profile.datasets.get_mut(&DatasetId::In12).unwrap().classes = 13;
        let err = load_split(&profile, DatasetId::In12, SplitName::Val, &source, Device::Cpu).unwrap_err();
        assert!(err.to_string().contains("expects in12 with 13 classes"), "{err}");
    }

    #[test]
    fn synthetic_splits_come_from_the_generator_at_the_profile_sizes() {
        let tiny = Profile::load("tiny").unwrap();
        let source = DataSourceArgs::default();
        let val = load_split(&tiny, DatasetId::Faces, SplitName::Val, &source, Device::Cpu).unwrap();
        let spec = tiny.dataset(DatasetId::Faces).unwrap();
        let side = i64::from(tiny.resolution);
        assert_eq!(val.images.size(), [spec.val_images as i64, 3, side, side]);
        let labels = Vec::<i64>::try_from(&val.labels).unwrap();
        assert!(labels.iter().all(|l| (0..spec.classes as i64).contains(l)));
        let request = synth_request(&tiny, DatasetId::Faces, SplitName::Train).unwrap();
        assert_eq!(request.side, tiny.stored_resolution);
        assert_eq!(request.seed, synth_request(&tiny, DatasetId::Faces, SplitName::Test).unwrap().seed);
        let hash = dataset_hash(&tiny, DatasetId::Faces, &source).unwrap();
        assert_eq!(hash, dataset_hash(&tiny, DatasetId::Faces, &source).unwrap());
        assert_ne!(hash, dataset_hash(&tiny, DatasetId::In12, &source).unwrap());
    }

    fn row(label: i64, object: &str) -> Row {
        video_row(label, object, "rxplus")
    }

    fn video_row(label: i64, object: &str, video: &str) -> Row {
        Row {
            path: String::new(),
            label,
            fields: vec![("object".into(), object.into()), ("video".into(), video.into())],
        }
    }

    fn numbered(mut rows: Vec<Row>) -> Vec<Row> {
        for (i, r) in rows.iter_mut().enumerate() {
            r.path = i.to_string();
        }
        rows
    }

    #[test]
    fn subsample_balances_classes_and_objects_and_is_deterministic() {
        // Class 0: objects a (5 rows) and b (2 rows); class 1: objects c (3 rows) and d (4 rows).
        let mut rows: Vec<Row> = (0..5).map(|_| row(0, "a")).collect();
        rows.extend((0..2).map(|_| row(0, "b")));
        rows.extend((0..3).map(|_| row(1, "c")));
        rows.extend((0..4).map(|_| row(1, "d")));
        let rows = numbered(rows);
        let subsample = Subsample { per_class: 7, seed: 5, videos: None };
        let picked = subsample_per_class(&rows, &subsample).unwrap();
        let count = |label, object: &str| {
            picked.iter().filter(|r| r.label == label && r.field("object") == Some(object)).count()
        };
        assert_eq!(count(0, "a") + count(0, "b"), 7);
        // 7 over 2 objects: 3 and 4, in a random order.
        assert!([(3, 4), (4, 3)].contains(&(count(0, "a"), count(0, "b"))));
        assert_eq!(count(1, "c") + count(1, "d"), 7);
        let paths = |p: &[Row]| p.iter().map(|r| r.path.clone()).collect::<Vec<_>>();
        assert_eq!(paths(&picked), paths(&subsample_per_class(&rows, &subsample).unwrap()));
    }

    #[test]
    fn subsample_uses_the_first_classs_object_count_and_only_the_rotation_videos() {
        // Class 0 (the original's airplane) has one object; class 1 has three: one of them is drawn. Object a has
        // 3 rotation frames and 2 of another video: its quota of 7 is twice the 3, then one more of them.
        let mut rows: Vec<Row> = (0..3).map(|_| video_row(0, "a", "rxplus")).collect();
        rows.extend((0..2).map(|_| video_row(0, "a", "hodgepodge")));
        for object in ["b", "c", "d"] {
            rows.extend((0..2).map(|_| video_row(1, object, "rzminus")));
            rows.push(video_row(1, object, "tx"));
        }
        let rows = numbered(rows);
        let videos: Vec<String> = crate::protocol::TOYBOX_ROTATION_VIDEOS.iter().map(|v| v.to_string()).collect();
        let subsample = Subsample { per_class: 7, seed: 5, videos: Some(videos) };
        let picked = subsample_per_class(&rows, &subsample).unwrap();
        assert_eq!(picked.len(), 14);
        assert!(picked.iter().all(|r| r.field("video") != Some("hodgepodge") && r.field("video") != Some("tx")));
        let class_a: Vec<&Row> = picked.iter().filter(|r| r.label == 0).collect();
        assert_eq!(class_a.len(), 7);
        let objects_1: std::collections::BTreeSet<&str> =
            picked.iter().filter(|r| r.label == 1).filter_map(|r| r.field("object")).collect();
        assert_eq!(objects_1.len(), 1, "class 1 uses one object, as many as class 0 has: {objects_1:?}");
        // A class with fewer objects than the first, or an object without a rotation frame, is an error.
        let few = numbered(vec![video_row(0, "a", "rxplus"), video_row(0, "b", "rxplus"), video_row(1, "c", "rxplus")]);
        let err = subsample_per_class(&few, &subsample).unwrap_err().to_string();
        assert!(err.contains("class 1 has only 1"), "{err}");
        let none = numbered(vec![video_row(0, "a", "tx"), video_row(1, "b", "rxplus")]);
        let err = subsample_per_class(&none, &subsample).unwrap_err().to_string();
        assert!(err.contains("object a of class 0 has no training image"), "{err}");
    }

    /// `set_train_indices` re-enacted in numpy on a small table (`tests/fixtures/numpy_random/make_reference.py`):
    /// the same rows, in the same order.
    #[test]
    fn subsample_selects_the_rows_numpy_selects() {
        let line = crate::data::numpy_random::tests::reference("subsample").remove(0);
        let labels = ["airplane", "ball", "car"];
        let rows: Vec<Row> = line[0]
            .split(';')
            .enumerate()
            .map(|(i, row)| {
                let cells: Vec<&str> = row.split(',').collect();
                let label = labels.iter().position(|l| *l == cells[0]).unwrap() as i64;
                let mut row = video_row(label, cells[1], cells[2]);
                row.path = i.to_string();
                row
            })
            .collect();
        let videos: Vec<String> = crate::protocol::TOYBOX_ROTATION_VIDEOS.iter().map(|v| v.to_string()).collect();
        let picked = subsample_per_class(&rows, &Subsample { per_class: 7, seed: 5, videos: Some(videos) }).unwrap();
        let got: Vec<&str> = picked.iter().map(|r| r.path.as_str()).collect();
        assert_eq!(got, line[1..].iter().map(String::as_str).collect::<Vec<_>>());
    }

    #[test]
    fn a_non_square_test_image_stops_a_profile_that_refuses_the_crop_naming_file_and_shape() {
        let dir = tempfile::tempdir().unwrap();
        let (mut profile, source) = real_setup(dir.path());
        profile.non_square_test_images = NonSquarePolicy::Refuse;
        // The faces fixture's test images are 40x32; its training images are resized on both sides and pass.
        load_split(&profile, DatasetId::Faces, SplitName::Train, &source, Device::Cpu).unwrap();
        let err = load_split(&profile, DatasetId::Faces, SplitName::Test, &source, Device::Cpu).unwrap_err();
        let text = format!("{err:#}");
        assert!(text.contains("faces/test/") && text.contains("a 40x32 image") && text.contains("80x64"), "{text}");
        assert!(text.contains("non_square_test_images"), "{text}");
    }

    #[test]
    fn center_offsets_follow_torchvision() {
        // int(round(d / 2)) with round half to even: d = 1 -> 0, 3 -> 2, 5 -> 2, 4 -> 2.
        assert_eq!([1, 3, 5, 4, 0].map(|d| center_offset(10 + d, 10)), [0, 2, 2, 2, 0]);
    }

    #[test]
    fn shorter_side_resize_then_crop_gives_squares() {
        let image = image::RgbImage::from_fn(48, 32, |x, _| image::Rgb([(x * 5) as u8, 0, 0]));
        let out = resize(&image, 16, Transform::ShorterSideThenCrop);
        assert_eq!(out.len(), 3 * 16 * 16);
        // 48x32 -> 24x16, crop columns 4..20: the red ramp stays increasing and centred.
        assert!(out[8 * 16] < out[8 * 16 + 15]);
        assert_eq!(resize(&image, 16, Transform::BothSides).len(), 3 * 16 * 16);
    }

    /// torchvision's `Resize((side, side))` and `Resize(side)` + `CenterCrop(side)` of a PNG on a PIL image, by
    /// Pillow 13 (`tests/fixtures/resize/make_reference.py`): the cache holds the same bytes.
    #[test]
    fn resizes_give_pillows_bytes() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
        let image = layout::decode_rgb(&std::fs::read(dir.join("blur/input.png")).unwrap()).unwrap();
        let text = std::fs::read_to_string(dir.join("resize/reference.json")).unwrap();
        let reference: serde_json::Value = serde_json::from_str(&text).unwrap();
        for case in reference["cases"].as_array().unwrap() {
            let side = case["side"].as_u64().unwrap() as u32;
            let transform = match case["transform"].as_str().unwrap() {
                "both_sides" => Transform::BothSides,
                _ => Transform::ShorterSideThenCrop,
            };
            let want: Vec<u8> = case["chw"].as_array().unwrap().iter().map(|v| v.as_u64().unwrap() as u8).collect();
            assert_eq!(resize(&image, side, transform), want, "{transform:?} {side}");
        }
    }
}
