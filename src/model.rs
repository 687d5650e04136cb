//! The paper's AlexNet (`AlexNetSup` in `src/model.py` of `cerysojj/blurry-to-clear-training`).
//!
//! torchvision's AlexNet `features` (five conv layers with ReLU and three max-pools), adaptive average pooling to
//! 6x6, flatten to 9216, then one `Linear(9216, classes)`: torchvision's dropout and two FC-4096 layers are removed.
//! Conv and linear weights are Xavier-uniform, biases PyTorch's default `U(-1/sqrt(fan_in), 1/sqrt(fan_in))`.
//! Parameter names mirror torchvision (`features.0.weight`, ..., `classifier.weight`), so a checkpoint saved here
//! loads in PyTorch with `safetensors.torch.load_file` and `load_state_dict`, and back.
use std::collections::BTreeMap;
use std::path::Path;

use anyhow::{bail, Context, Result};
use tch::nn::{self, Init};
use tch::Tensor;

/// One conv layer of `features`: its module index and shape.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ConvLayer {
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
pub const CONV_LAYERS: [ConvLayer; 5] = [
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
pub const MIN_INPUT: i64 = 63;

/// Features after the last pool are averaged to this grid before the classifier.
const POOLED_GRID: i64 = 6;

/// The paper's AlexNet. Build it inside a [`nn::VarStore`] whose root it is given.
#[derive(Debug)]
pub struct AlexNet {
    convs: Vec<nn::Conv2D>,
    classifier: nn::Linear,
}

fn xavier_uniform(fan_in: i64, fan_out: i64) -> Init {
    let bound = (6.0 / (fan_in + fan_out) as f64).sqrt();
    Init::Uniform { lo: -bound, up: bound }
}

fn default_bias(fan_in: i64) -> Init {
    let bound = 1.0 / (fan_in as f64).sqrt();
    Init::Uniform { lo: -bound, up: bound }
}

impl AlexNet {
    /// Create the parameters under `root` (`features.*`, `classifier.*`), drawn from tch's global generator:
    /// call `tch::manual_seed` first for a reproducible initialisation.
    pub fn new(root: &nn::Path, classes: i64) -> AlexNet {
        let features = root / "features";
        let convs = CONV_LAYERS
            .iter()
            .map(|l| {
                let receptive = l.kernel * l.kernel;
                let config = nn::ConvConfig {
                    stride: l.stride,
                    padding: l.padding,
                    ws_init: xavier_uniform(l.in_channels * receptive, l.out_channels * receptive),
                    bs_init: default_bias(l.in_channels * receptive),
                    ..Default::default()
                };
                nn::conv2d(&features / l.index, l.in_channels, l.out_channels, l.kernel, config)
            })
            .collect();
        let inputs = CONV_LAYERS[4].out_channels * POOLED_GRID * POOLED_GRID;
        let config = nn::LinearConfig {
            ws_init: xavier_uniform(inputs, classes),
            bs_init: Some(default_bias(inputs)),
            bias: true,
        };
        let classifier = nn::linear(root / "classifier", inputs, classes, config);
        AlexNet { convs, classifier }
    }

    /// Logits `[N, classes]` for images `[N, 3, H, W]` with H, W >= 63.
    pub fn forward(&self, images: &Tensor) -> Tensor {
        let features = self.features(images, |_, _| {});
        features.adaptive_avg_pool2d([POOLED_GRID, POOLED_GRID]).flatten(1, -1).apply(&self.classifier)
    }

    /// Run `features`, handing each conv layer's output (before its ReLU) to `visit` on the way.
    pub fn features(&self, images: &Tensor, mut visit: impl FnMut(&ConvLayer, &Tensor)) -> Tensor {
        let mut x = images.shallow_clone();
        for (layer, conv) in CONV_LAYERS.iter().zip(&self.convs) {
            let out = x.apply(conv);
            visit(layer, &out);
            x = out.relu();
            if layer.pooled {
                x = x.max_pool2d([3, 3], [2, 2], [0, 0], [1, 1], false);
            }
        }
        x
    }

    /// The five conv layers' outputs (before ReLU), conv1 first. The analyses hook in here.
    pub fn conv_outputs(&self, images: &Tensor) -> Vec<Tensor> {
        let mut outputs = Vec::with_capacity(CONV_LAYERS.len());
        let _pooled = self.features(images, |_, out| outputs.push(out.shallow_clone()));
        outputs
    }
}

/// Save every variable of `vs` as safetensors at `path`, atomically.
pub fn save(vs: &nn::VarStore, path: &Path) -> Result<()> {
    let named: BTreeMap<String, Tensor> = vs.variables().into_iter().collect();
    let named: Vec<(&str, Tensor)> = named.iter().map(|(k, v)| (k.as_str(), v.to_device(tch::Device::Cpu))).collect();
    crate::atomic::write_with(path, |tmp| {
        Tensor::write_safetensors(&named, tmp).with_context(|| format!("cannot write checkpoint {}", tmp.display()))
    })
}

/// Load a safetensors checkpoint into `vs`: every variable must be present with its shape, and nothing else.
pub fn load(vs: &mut nn::VarStore, path: &Path) -> Result<()> {
    let tensors = Tensor::read_safetensors(path)
        .with_context(|| format!("cannot read checkpoint {} (expected a safetensors file)", path.display()))?;
    let mut file: BTreeMap<String, Tensor> = tensors.into_iter().collect();
    let mut variables = vs.variables();
    let mut names: Vec<_> = variables.keys().cloned().collect();
    names.sort();
    for name in names {
        let target = variables.get_mut(&name).context("variable vanished")?;
        let Some(source) = file.remove(&name) else {
            bail!(
                "checkpoint {} has no tensor '{name}'; is it a torchvision-named AlexNet checkpoint?",
                path.display()
            );
        };
        if source.size() != target.size() {
            bail!(
                "checkpoint {}: tensor '{name}' has shape {:?}, the model expects {:?} (wrong number of classes?)",
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

/// Number of classes of a checkpoint, read from its classifier's bias.
pub fn classes_in(path: &Path) -> Result<i64> {
    let tensors = Tensor::read_safetensors(path)
        .with_context(|| format!("cannot read checkpoint {} (expected a safetensors file)", path.display()))?;
    let bias = tensors
        .iter()
        .find(|(name, _)| name == "classifier.bias")
        .with_context(|| format!("checkpoint {} has no 'classifier.bias'", path.display()))?;
    Ok(bias.1.size()[0])
}

/// Build a model on `device` with the weights of the checkpoint at `path` (any torchvision-named AlexNet).
pub fn from_checkpoint(path: &Path, device: tch::Device) -> Result<(nn::VarStore, AlexNet)> {
    let mut vs = nn::VarStore::new(device);
    let model = AlexNet::new(&vs.root(), classes_in(path)?);
    load(&mut vs, path)?;
    vs.freeze();
    Ok((vs, model))
}

#[cfg(test)]
mod tests {
    use super::*;
    use tch::{Device, Kind};

    #[test]
    fn output_shape_at_64_and_224_px_and_minimum_size() {
        tch::manual_seed(0);
        let vs = nn::VarStore::new(Device::Cpu);
        let model = AlexNet::new(&vs.root(), 12);
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
        tch::manual_seed(0);
        let vs = nn::VarStore::new(Device::Cpu);
        let _model = AlexNet::new(&vs.root(), 297);
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
        tch::manual_seed(1);
        let vs = nn::VarStore::new(Device::Cpu);
        let model = AlexNet::new(&vs.root(), 5);
        save(&vs, &path).unwrap();
        let names: Vec<String> = Tensor::read_safetensors(&path).unwrap().into_iter().map(|(n, _)| n).collect();
        assert!(names.contains(&"features.10.weight".to_string()) && names.contains(&"classifier.bias".to_string()));
        let (_vs2, loaded) = from_checkpoint(&path, Device::Cpu).unwrap();
        let x = Tensor::rand([1, 3, 64, 64], (Kind::Float, Device::Cpu));
        let diff = (model.forward(&x) - loaded.forward(&x)).abs().max().double_value(&[]);
        assert_eq!(diff, 0.0);
    }

    #[test]
    fn loading_a_mismatched_checkpoint_names_the_tensor() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("model.safetensors");
        let vs = nn::VarStore::new(Device::Cpu);
        let _ = AlexNet::new(&vs.root(), 5);
        save(&vs, &path).unwrap();
        let mut other = nn::VarStore::new(Device::Cpu);
        let _ = AlexNet::new(&other.root(), 7);
        let err = load(&mut other, &path).unwrap_err().to_string();
        assert!(err.contains("classifier") && err.contains("shape"), "{err}");
    }
}
