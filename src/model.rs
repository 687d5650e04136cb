//! The paper's AlexNet (`AlexNetSup` in `src/model.py` of `cerysojj/blurry-to-clear-training`).
//!
//! torchvision's AlexNet `features` (five conv layers with ReLU and three max-pools), adaptive average pooling to
//! 6x6, flatten to 9216, then one `Linear(9216, classes)`: torchvision's dropout and two FC-4096 layers are removed.
//! Conv and linear weights are Xavier-uniform, biases PyTorch's default `U(-1/sqrt(fan_in), 1/sqrt(fan_in))`,
//! drawn on the CPU from a seeded [`Draws`] stream and then copied onto the model's device, so that one seed gives
//! the same initial weights on every device.
//! Parameter names mirror torchvision (`features.0.weight`, ..., `classifier.weight`), so a checkpoint saved here
//! loads in PyTorch with `safetensors.torch.load_file` and `load_state_dict`, and back.
use std::collections::BTreeMap;
use std::path::Path;

use anyhow::{bail, Context, Result};
use safetensors::tensor::{Dtype, Metadata};
use tch::nn::{self, Init};
use tch::{Kind, Tensor};

use crate::draws::Draws;

/// One conv layer of `features`: its module index and shape.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct ConvLayer {
    /// The layer's name in checkpoints and tables: torchvision's module path, e.g. `features.0`.
    pub name: &'static str,
    /// Index in torchvision's `features` Sequential (0, 3, 6, 8, 10).
    pub index: usize,
    pub in_channels: i64,
    pub out_channels: i64,
    pub kernel: i64,
    pub stride: i64,
    pub padding: i64,
    /// Whether torchvision follows this conv's ReLU with `MaxPool2d(3, 2)`.
    pub pooled: bool,
}

/// torchvision's AlexNet conv layers, conv1 to conv5.
pub(crate) const CONV_LAYERS: [ConvLayer; 5] = [
    ConvLayer {
        name: "features.0",
        index: 0,
        in_channels: 3,
        out_channels: 64,
        kernel: 11,
        stride: 4,
        padding: 2,
        pooled: true,
    },
    ConvLayer {
        name: "features.3",
        index: 3,
        in_channels: 64,
        out_channels: 192,
        kernel: 5,
        stride: 1,
        padding: 2,
        pooled: true,
    },
    ConvLayer {
        name: "features.6",
        index: 6,
        in_channels: 192,
        out_channels: 384,
        kernel: 3,
        stride: 1,
        padding: 1,
        pooled: false,
    },
    ConvLayer {
        name: "features.8",
        index: 8,
        in_channels: 384,
        out_channels: 256,
        kernel: 3,
        stride: 1,
        padding: 1,
        pooled: false,
    },
    ConvLayer {
        name: "features.10",
        index: 10,
        in_channels: 256,
        out_channels: 256,
        kernel: 3,
        stride: 1,
        padding: 1,
        pooled: true,
    },
];

/// Smallest input side the network accepts: conv1 and the three pools must leave at least one pixel.
pub(crate) const MIN_INPUT: i64 = 63;

/// Features after the last pool are averaged to this grid before the classifier.
const POOLED_GRID: i64 = 6;

/// Inputs of the classifier: conv5's channels over the pooled grid (9216).
const CLASSIFIER_INPUTS: i64 = CONV_LAYERS[4].out_channels * POOLED_GRID * POOLED_GRID;

/// The paper's AlexNet. Build it inside a [`nn::VarStore`] whose root it is given.
#[derive(Debug)]
pub struct AlexNet {
    convs: Vec<nn::Conv2D>,
    classifier: nn::Linear,
}

/// Xavier-uniform's bound `sqrt(6 / (fan_in + fan_out))`.
fn xavier_bound(fan_in: i64, fan_out: i64) -> f64 {
    (6.0 / (fan_in + fan_out) as f64).sqrt()
}

/// PyTorch's default bias bound `1 / sqrt(fan_in)`.
fn bias_bound(fan_in: i64) -> f64 {
    1.0 / (fan_in as f64).sqrt()
}

/// Fill `parameter` (on any device) with values uniform in [-bound, bound), drawn on the CPU.
fn fill_uniform(parameter: &Tensor, bound: f64, draws: &mut Draws) {
    let values = draws.uniform(&parameter.size(), (-bound, bound)).to_kind(Kind::Float);
    tch::no_grad(|| parameter.shallow_clone().copy_(&values));
}

impl AlexNet {
    /// Create the parameters under `root` (`features.*`, `classifier.*`) with the paper's initialisation, drawn
    /// from `draws` ([`AlexNet::initialise`]).
    pub fn new(root: &nn::Path, classes: i64, draws: &mut Draws) -> AlexNet {
        let model = AlexNet::zeroed(root, classes);
        model.initialise(draws);
        model
    }

    /// Create the parameters under `root`, all zero: for loading a checkpoint into them.
    pub fn zeroed(root: &nn::Path, classes: i64) -> AlexNet {
        let features = root / "features";
        let convs = CONV_LAYERS
            .iter()
            .map(|l| {
                let config = nn::ConvConfig {
                    stride: l.stride,
                    padding: l.padding,
                    ws_init: Init::Const(0.0),
                    bs_init: Init::Const(0.0),
                    ..Default::default()
                };
                nn::conv2d(&features / l.index, l.in_channels, l.out_channels, l.kernel, config)
            })
            .collect();
        let config = nn::LinearConfig { ws_init: Init::Const(0.0), bs_init: Some(Init::Const(0.0)), bias: true };
        let classifier = nn::linear(root / "classifier", CLASSIFIER_INPUTS, classes, config);
        AlexNet { convs, classifier }
    }

    /// The paper's initialisation, drawn from `draws`: each conv layer's weight then bias (conv1 first), then the
    /// classifier's weight and bias, each in row-major order.
    pub(crate) fn initialise(&self, draws: &mut Draws) {
        for (layer, conv) in CONV_LAYERS.iter().zip(&self.convs) {
            let receptive = layer.kernel * layer.kernel;
            let (fan_in, fan_out) = (layer.in_channels * receptive, layer.out_channels * receptive);
            fill_uniform(&conv.ws, xavier_bound(fan_in, fan_out), draws);
            if let Some(bias) = &conv.bs {
                fill_uniform(bias, bias_bound(fan_in), draws);
            }
        }
        let classes = self.classifier.ws.size()[0];
        fill_uniform(&self.classifier.ws, xavier_bound(CLASSIFIER_INPUTS, classes), draws);
        if let Some(bias) = &self.classifier.bs {
            fill_uniform(bias, bias_bound(CLASSIFIER_INPUTS), draws);
        }
    }

    /// Logits `[N, classes]` for images `[N, 3, H, W]` with H, W >= 63.
    pub(crate) fn forward(&self, images: &Tensor) -> Tensor {
        self.forward_as(images, Kind::Float)
    }

    /// Logits (float32) with the conv and linear layers computed in `kind`: their inputs, weights and biases are
    /// cast to it, as CUDA autocast does for `--precision bf16`; the gradients flow back to the float32 weights.
    /// With `Kind::Float` every cast is a no-op and this is [`AlexNet::forward`].
    pub(crate) fn forward_as(&self, images: &Tensor, kind: Kind) -> Tensor {
        let features = self.features_as(images, kind, |_, _| {});
        let pooled = features.adaptive_avg_pool2d([POOLED_GRID, POOLED_GRID]).flatten(1, -1);
        let bias = self.classifier.bs.as_ref().map(|b| b.to_kind(kind));
        pooled.linear(&self.classifier.ws.to_kind(kind), bias.as_ref()).to_kind(Kind::Float)
    }

    /// Run `features`, handing each conv layer's output (before its ReLU) to `visit` on the way.
    pub(crate) fn features(&self, images: &Tensor, visit: impl FnMut(&ConvLayer, &Tensor)) -> Tensor {
        self.features_as(images, Kind::Float, visit)
    }

    fn features_as(&self, images: &Tensor, kind: Kind, mut visit: impl FnMut(&ConvLayer, &Tensor)) -> Tensor {
        let mut x = images.to_kind(kind);
        for (layer, conv) in CONV_LAYERS.iter().zip(&self.convs) {
            let bias = conv.bs.as_ref().map(|b| b.to_kind(kind));
            let (stride, padding) = ([layer.stride; 2], [layer.padding; 2]);
            let out = x.conv2d(&conv.ws.to_kind(kind), bias.as_ref(), stride, padding, [1, 1], 1);
            visit(layer, &out);
            x = out.relu();
            if layer.pooled {
                x = x.max_pool2d([3, 3], [2, 2], [0, 0], [1, 1], false);
            }
        }
        x
    }

    #[cfg(test)]
    /// The five conv layers' outputs (before ReLU), conv1 first. The analyses hook in here.
    pub(crate) fn conv_outputs(&self, images: &Tensor) -> Vec<Tensor> {
        let mut outputs = Vec::with_capacity(CONV_LAYERS.len());
        let _pooled = self.features(images, |_, out| outputs.push(out.shallow_clone()));
        outputs
    }
}

/// Save every variable of `vs` as safetensors at `path`, atomically.
pub fn save(vs: &nn::VarStore, path: &Path) -> Result<()> {
    let named: BTreeMap<String, Tensor> = vs.variables().into_iter().collect();
    let named: Vec<(&str, Tensor)> = named.iter().map(|(k, v)| (k.as_str(), v.to_device(tch::Device::Cpu))).collect();
    let bytes = named.iter().map(|(_, t)| t.numel() as u64 * t.kind().elt_size_in_bytes() as u64).sum::<u64>();
    crate::atomic::write_sized(path, Some(bytes), |tmp| {
        Tensor::write_safetensors(&named, tmp).with_context(|| format!("cannot write checkpoint {}", tmp.display()))
    })
}

/// Load a safetensors checkpoint into `vs`, which must hold the paper's AlexNet: the file is first checked to be one
/// (see `inspect`) with the class count of `vs`, so that a foreign, truncated or mismatched file is named as such
/// rather than failing inside the safetensors reader.
pub(crate) fn load(vs: &mut nn::VarStore, path: &Path) -> Result<()> {
    let mut variables = vs.variables();
    let expected = variables.get("classifier.bias").map(|b| b.size()[0]);
    let classes = inspect(path, expected)?;
    let tensors = Tensor::read_safetensors(path).map_err(|e| not_alexnet(path, &format!("{e}")))?;
    let mut file: BTreeMap<String, Tensor> = tensors.into_iter().collect();
    let mut names: Vec<_> = variables.keys().cloned().collect();
    names.sort();
    for name in names {
        let target = variables.get_mut(&name).context("variable vanished")?;
        let Some(source) = file.remove(&name) else {
            bail!("the model has a variable '{name}' that checkpoint {} lacks", path.display());
        };
        if source.size() != target.size() {
            bail!(
                "checkpoint {} ({classes} classes): tensor '{name}' has shape {:?}, the model expects {:?}",
                path.display(),
                source.size(),
                target.size()
            );
        }
        tch::no_grad(|| target.copy_(&source));
    }
    if let Some(extra) = file.keys().next() {
        bail!("checkpoint {} has a tensor '{extra}' the model does not have", path.display());
    }
    Ok(())
}

/// Number of classes of a checkpoint, read from its header (the classifier's shape) without loading it.
pub(crate) fn classes_in(path: &Path) -> Result<i64> {
    inspect(path, None)
}

/// Build a model on `device` with the weights of the checkpoint at `path` (any torchvision-named AlexNet).
pub(crate) fn from_checkpoint(path: &Path, device: tch::Device) -> Result<(nn::VarStore, AlexNet)> {
    let mut vs = nn::VarStore::new(device);
    let model = AlexNet::zeroed(&vs.root(), classes_in(path)?);
    load(&mut vs, path)?;
    vs.freeze();
    Ok((vs, model))
}

/// Largest safetensors header accepted: the paper's AlexNet needs about 1 KB; safetensors itself caps it at 100 MB.
const MAX_HEADER_BYTES: u64 = 1 << 20;

/// The tensor names and shapes of the paper's AlexNet with `classes` classes.
fn alexnet_shapes(classes: i64) -> BTreeMap<String, Vec<i64>> {
    let mut shapes = BTreeMap::new();
    for layer in &CONV_LAYERS {
        let weight = vec![layer.out_channels, layer.in_channels, layer.kernel, layer.kernel];
        shapes.insert(format!("{}.weight", layer.name), weight);
        shapes.insert(format!("{}.bias", layer.name), vec![layer.out_channels]);
    }
    let inputs = CONV_LAYERS[4].out_channels * POOLED_GRID * POOLED_GRID;
    shapes.insert("classifier.weight".to_owned(), vec![classes, inputs]);
    shapes.insert("classifier.bias".to_owned(), vec![classes]);
    shapes
}

/// The error for a file that is not what [`inspect`] expects: it names the file, what is wrong and what to do.
fn not_alexnet(path: &Path, what: &str) -> anyhow::Error {
    anyhow::anyhow!(
        "{} is not a safetensors checkpoint of the paper's AlexNet with torchvision's names: {what}; pass a \
         checkpoint written by this artifact (runs/<profile>/<dataset>/<regime>/seed-*/checkpoints/) or one saved \
         from PyTorch with safetensors.torch.save_file(model.state_dict(), ...)",
        path.display()
    )
}

/// Check, from its header alone, that `path` is a complete safetensors file holding exactly the paper's AlexNet
/// (torchvision's tensor names and shapes, a floating-point dtype, every tensor's bytes inside the file) and, when
/// `classes` is given, with that many classes; returns its class count. Reads only the header (its JSON parsed
/// into the `safetensors` crate's types), so a truncated, foreign or wrong-sized file is refused before any tensor
/// is allocated.
fn inspect(path: &Path, classes: Option<i64>) -> Result<i64> {
    use std::io::Read;
    let mut file = std::fs::File::open(path).with_context(|| format!("cannot open checkpoint {}", path.display()))?;
    let file_bytes = file.metadata().with_context(|| format!("cannot read checkpoint {}", path.display()))?.len();
    let mut prefix = [0u8; 8];
    if file_bytes < 8 || file.read_exact(&mut prefix).is_err() {
        return Err(not_alexnet(path, &format!("it has {file_bytes} bytes, too few for a safetensors header")));
    }
    let header_bytes = u64::from_le_bytes(prefix);
    if header_bytes > MAX_HEADER_BYTES || header_bytes > file_bytes - 8 {
        return Err(not_alexnet(
            path,
            &format!("its first 8 bytes declare a header of {header_bytes} bytes in a file of {file_bytes} bytes"),
        ));
    }
    let mut header = vec![0u8; header_bytes as usize];
    file.read_exact(&mut header).with_context(|| format!("cannot read checkpoint {}", path.display()))?;
    let metadata: Metadata = serde_json::from_slice(&header).map_err(|e| match e.classify() {
        serde_json::error::Category::Data => not_alexnet(path, &format!("its header does not describe tensors ({e})")),
        _ => not_alexnet(path, &format!("its header is not JSON ({e})")),
    })?;
    let data_bytes = file_bytes - 8 - header_bytes;
    let mut shapes: BTreeMap<String, Vec<i64>> = BTreeMap::new();
    let mut data_end = 0;
    for (name, info) in metadata.tensors().into_iter().collect::<BTreeMap<_, _>>() {
        // The floating-point dtypes a checkpoint may use.
        if !matches!(info.dtype, Dtype::F64 | Dtype::F32 | Dtype::F16 | Dtype::BF16) {
            return Err(not_alexnet(path, &format!("tensor '{name}' has dtype {:?}, not a float type", info.dtype)));
        }
        let (start, end) = (info.data_offsets.0 as u64, info.data_offsets.1 as u64);
        let bytes = info.shape.iter().try_fold(info.dtype.size() as u64, |n, d| n.checked_mul(*d as u64));
        if end > data_bytes || start > end || bytes != Some(end - start) {
            return Err(not_alexnet(
                path,
                &format!(
                    "tensor '{name}' ({:?} {:?}) claims bytes {start}..{end} of {data_bytes} bytes of data (a \
                     truncated or damaged file)",
                    info.dtype, info.shape
                ),
            ));
        }
        data_end = data_end.max(end);
        shapes.insert(name, info.shape.iter().map(|d| *d as i64).collect());
    }
    if data_end != data_bytes {
        return Err(not_alexnet(
            path,
            &format!("its header accounts for {data_end} bytes of tensor data, but the file holds {data_bytes}"),
        ));
    }
    let found = shapes.get("classifier.bias").and_then(|s| s.first().copied());
    let Some(found) = found.filter(|c| *c > 0) else {
        return Err(not_alexnet(path, "it has no 'classifier.bias' of shape [classes]"));
    };
    let expected = alexnet_shapes(found);
    let missing: Vec<&str> = expected.keys().filter(|n| !shapes.contains_key(*n)).map(String::as_str).collect();
    let extra: Vec<&str> = shapes.keys().filter(|n| !expected.contains_key(*n)).map(String::as_str).collect();
    if !missing.is_empty() || !extra.is_empty() {
        return Err(not_alexnet(
            path,
            &format!(
                "it lacks the tensors [{}] and has the tensors [{}] (the paper's AlexNet has torchvision's features \
                 and one Linear(9216, classes) named 'classifier')",
                missing.join(", "),
                extra.join(", ")
            ),
        ));
    }
    if let Some((name, shape)) = expected.iter().find(|(name, shape)| shapes[*name] != **shape) {
        return Err(not_alexnet(
            path,
            &format!("tensor '{name}' has shape {:?}, the paper's AlexNet has {shape:?}", shapes[name]),
        ));
    }
    if let Some(classes) = classes.filter(|c| *c != found) {
        return Err(not_alexnet(
            path,
            &format!("it has {found} classes, {classes} were expected (a checkpoint of another dataset?)"),
        ));
    }
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::*;
    use tch::Device;

    #[test]
    fn output_shape_at_64_and_224_px_and_minimum_size() {
        let vs = nn::VarStore::new(Device::Cpu);
        let model = AlexNet::new(&vs.root(), 12, &mut Draws::new(0));
        for side in [MIN_INPUT, 64, 224] {
            let x = Tensor::zeros([2, 3, side, side], (Kind::Float, Device::Cpu));
            assert_eq!(model.forward(&x).size(), vec![2, 12], "input {side} px");
        }
        let outs = model.conv_outputs(&Tensor::zeros([1, 3, 224, 224], (Kind::Float, Device::Cpu)));
        let shapes: Vec<_> = outs.iter().map(|t| t.size()).collect();
        assert_eq!(
            shapes,
            vec![
                vec![1, 64, 55, 55],
                vec![1, 192, 27, 27],
                vec![1, 384, 13, 13],
                vec![1, 256, 13, 13],
                vec![1, 256, 13, 13]
            ]
        );
    }

    #[test]
    fn parameters_have_torchvision_names_shapes_and_init_bounds() {
        let vs = nn::VarStore::new(Device::Cpu);
        let _model = AlexNet::new(&vs.root(), 297, &mut Draws::new(0));
        let vars = vs.variables();
        let mut names: Vec<_> = vars.keys().cloned().collect();
        names.sort();
        let expected = [
            "classifier.bias",
            "classifier.weight",
            "features.0.bias",
            "features.0.weight",
            "features.10.bias",
            "features.10.weight",
            "features.3.bias",
            "features.3.weight",
            "features.6.bias",
            "features.6.weight",
            "features.8.bias",
            "features.8.weight",
        ];
        assert_eq!(names, expected);
        assert_eq!(vars["features.0.weight"].size(), vec![64, 3, 11, 11]);
        assert_eq!(vars["classifier.weight"].size(), vec![297, 9216]);
        // Xavier-uniform bound of conv1: sqrt(6 / (3*121 + 64*121)).
        let bound = (6.0f64 / (3.0 * 121.0 + 64.0 * 121.0)).sqrt();
        let max = vars["features.0.weight"].abs().max().double_value(&[]);
        assert!(max <= bound && max > 0.9 * bound, "conv1 |w| max {max} vs bound {bound}");
        let bias_bound = 1.0 / (3.0f64 * 121.0).sqrt();
        let bias_max = vars["features.0.bias"].abs().max().double_value(&[]);
        assert!(bias_max <= bias_bound && bias_max > 0.8 * bias_bound);
    }

    #[test]
    fn safetensors_round_trip_keeps_names_and_values() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("model.safetensors");
        let vs = nn::VarStore::new(Device::Cpu);
        let model = AlexNet::new(&vs.root(), 5, &mut Draws::new(1));
        save(&vs, &path).unwrap();
        let names: Vec<String> = Tensor::read_safetensors(&path).unwrap().into_iter().map(|(n, _)| n).collect();
        assert!(names.contains(&"features.10.weight".to_string()) && names.contains(&"classifier.bias".to_string()));
        let (_vs2, loaded) = from_checkpoint(&path, Device::Cpu).unwrap();
        let x = Draws::new(2).uniform(&[1, 3, 64, 64], (0.0, 1.0)).to_kind(Kind::Float);
        let diff = (model.forward(&x) - loaded.forward(&x)).abs().max().double_value(&[]);
        assert_eq!(diff, 0.0);
    }

    #[test]
    fn loading_a_checkpoint_of_another_class_count_names_both_counts() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("model.safetensors");
        let vs = nn::VarStore::new(Device::Cpu);
        let _ = AlexNet::zeroed(&vs.root(), 5);
        save(&vs, &path).unwrap();
        assert_eq!(inspect(&path, Some(5)).unwrap(), 5);
        let mut other = nn::VarStore::new(Device::Cpu);
        let _ = AlexNet::zeroed(&other.root(), 7);
        let err = load(&mut other, &path).unwrap_err().to_string();
        assert!(err.contains("it has 5 classes, 7 were expected"), "{err}");
        assert!(err.contains(&path.display().to_string()), "{err}");
    }

    /// Refusals of [`inspect`], each naming the file and what is wrong with it.
    fn refusal(path: &Path) -> String {
        let err = classes_in(path).unwrap_err().to_string();
        assert!(err.contains(&format!("{} is not a safetensors checkpoint of the paper's AlexNet", path.display())));
        err
    }

    #[test]
    fn truncated_foreign_and_other_architecture_files_are_refused_by_name() {
        let dir = tempfile::tempdir().unwrap();
        let good = dir.path().join("good.safetensors");
        let vs = nn::VarStore::new(Device::Cpu);
        let _ = AlexNet::zeroed(&vs.root(), 3);
        save(&vs, &good).unwrap();
        let bytes = std::fs::read(&good).unwrap();
        let path = dir.path().join("bad.safetensors");
        // Truncated: cut in the tensor data, in the header, and to nothing.
        std::fs::write(&path, &bytes[..bytes.len() - 1000]).unwrap();
        assert!(refusal(&path).contains("(a truncated or damaged file)"));
        std::fs::write(&path, &bytes[..100]).unwrap();
        assert!(refusal(&path).contains("declare a header of"));
        std::fs::write(&path, b"").unwrap();
        assert!(refusal(&path).contains("it has 0 bytes"));
        // Foreign files: a PyTorch pickle's zip magic, a JSON file.
        std::fs::write(&path, b"PK\x03\x04 a torch.save zip archive, not safetensors").unwrap();
        assert!(refusal(&path).contains("declare a header of"));
        std::fs::write(&path, [&8u64.to_le_bytes()[..], b"not json"].concat()).unwrap();
        assert!(refusal(&path).contains("its header is not JSON"));
        // Another architecture: torchvision's full AlexNet classifier (dropout, two FC-4096 layers).
        let named = [
            ("features.0.weight", Tensor::zeros([64, 3, 11, 11], (Kind::Float, Device::Cpu))),
            ("classifier.1.weight", Tensor::zeros([4096, 9216], (Kind::Float, Device::Cpu))),
            ("classifier.6.bias", Tensor::zeros([10], (Kind::Float, Device::Cpu))),
        ];
        Tensor::write_safetensors(&named, &path).unwrap();
        assert!(refusal(&path).contains("no 'classifier.bias'"));
        let mut named: Vec<(String, Tensor)> = Tensor::read_safetensors(&good).unwrap();
        named.push(("classifier.1.weight".into(), Tensor::zeros([2], (Kind::Float, Device::Cpu))));
        Tensor::write_safetensors(&named, &path).unwrap();
        assert!(refusal(&path).contains("has the tensors [classifier.1.weight]"));
        // A conv layer of another shape (a ResNet-sized conv1), and integer weights.
        let mut named: Vec<(String, Tensor)> = Tensor::read_safetensors(&good).unwrap();
        named.retain(|(n, _)| n != "features.0.weight");
        named.push(("features.0.weight".into(), Tensor::zeros([64, 3, 7, 7], (Kind::Float, Device::Cpu))));
        Tensor::write_safetensors(&named, &path).unwrap();
        assert!(refusal(&path).contains("tensor 'features.0.weight' has shape [64, 3, 7, 7]"));
        let mut named: Vec<(String, Tensor)> = Tensor::read_safetensors(&good).unwrap();
        named.iter_mut().filter(|(n, _)| n == "features.0.bias").for_each(|(_, t)| *t = t.to_kind(Kind::Int64));
        Tensor::write_safetensors(&named, &path).unwrap();
        assert!(refusal(&path).contains("has dtype I64, not a float type"));
        let err = from_checkpoint(&dir.path().join("missing.safetensors"), Device::Cpu).unwrap_err();
        assert!(format!("{err:#}").contains("cannot open checkpoint"), "{err:#}");
    }
}

#[cfg(test)]
mod initialisation_tests {
    use super::*;
    use tch::Device;

    /// Every parameter of a model built on `device` and initialised from `seed`, on the CPU, by name.
    fn initial_weights(seed: i64, device: Device) -> BTreeMap<String, Tensor> {
        let vs = nn::VarStore::new(device);
        let _model = AlexNet::new(&vs.root(), 7, &mut Draws::new(seed));
        vs.variables().into_iter().map(|(name, t)| (name, t.to_device(Device::Cpu))).collect()
    }

    #[test]
    fn one_seed_gives_the_same_initial_weights_on_every_device_whatever_the_global_generator() {
        let _generators = crate::seeds::lock_libtorch_generators();
        tch::manual_seed(1);
        let cpu = initial_weights(5, Device::Cpu);
        tch::manual_seed(2);
        let again = initial_weights(5, Device::Cpu);
        assert!(cpu.iter().all(|(name, t)| t.equal(&again[name])), "same seed, other weights");
        let other = initial_weights(6, Device::Cpu);
        assert!(cpu.iter().all(|(name, t)| !t.equal(&other[name])), "another seed left a parameter unchanged");
        if tch::Cuda::is_available() {
            // Drawn on the CPU and copied: bit for bit the same on the GPU.
            let cuda = initial_weights(5, Device::Cuda(0));
            assert!(cpu.iter().all(|(name, t)| t.equal(&cuda[name])), "CUDA weights differ");
        }
    }

    #[test]
    fn the_first_weights_are_the_streams_first_numbers_scaled_to_the_bound() {
        let weights = initial_weights(3, Device::Cpu);
        let bound = xavier_bound(3 * 121, 64 * 121);
        let expected: Vec<f32> =
            Draws::new(3).uniform_values(4, (-bound, bound)).into_iter().map(|v| v as f32).collect();
        let got = Vec::<f32>::try_from(weights["features.0.weight"].flatten(0, -1).narrow(0, 0, 4)).unwrap();
        assert_eq!(got, expected);
        // The bias of conv1 follows its 23,232 weights in the stream.
        let mut draws = Draws::new(3);
        draws.uniform_values(64 * 3 * 121, (0.0, 1.0));
        let bias_bound = bias_bound(3 * 121);
        let first_bias = draws.uniform_values(1, (-bias_bound, bias_bound))[0] as f32;
        assert_eq!(f32::try_from(weights["features.0.bias"].get(0)).unwrap(), first_bias);
    }
}
