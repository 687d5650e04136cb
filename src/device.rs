//! `--device auto|cpu|cuda`: where tensors live. The whole pipeline (cache, augmentation, blur, model) runs on it.
use anyhow::{bail, Result};
use serde::{Deserialize, Serialize};

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeviceChoice {
    /// CUDA when libtorch finds a GPU, otherwise CPU.
    #[default]
    Auto,
    Cpu,
    Cuda,
}

impl DeviceChoice {
    /// The choice as `--device` spells it.
    pub(crate) fn name(self) -> &'static str {
        match self {
            DeviceChoice::Auto => "auto",
            DeviceChoice::Cpu => "cpu",
            DeviceChoice::Cuda => "cuda",
        }
    }

    /// The tch device, or an error when CUDA is asked for and libtorch cannot see a GPU.
    pub fn resolve(self) -> Result<tch::Device> {
        match self {
            DeviceChoice::Cpu => Ok(tch::Device::Cpu),
            DeviceChoice::Auto => Ok(tch::Device::cuda_if_available()),
            DeviceChoice::Cuda if tch::Cuda::is_available() => Ok(tch::Device::Cuda(0)),
            DeviceChoice::Cuda => bail!(
                "--device cuda was asked for, but libtorch sees no CUDA device (cuda devices: {}); \
                 check `nvidia-smi` and that libtorch_cuda.so is linked (`ldd target/debug/blurry-to-clear`), \
                 or use --device cpu",
                tch::Cuda::device_count()
            ),
        }
    }
}

impl std::str::FromStr for DeviceChoice {
    type Err = anyhow::Error;

    fn from_str(text: &str) -> Result<DeviceChoice> {
        match text {
            "auto" => Ok(DeviceChoice::Auto),
            "cpu" => Ok(DeviceChoice::Cpu),
            "cuda" => Ok(DeviceChoice::Cuda),
            _ => bail!("unknown device '{text}'; valid: auto, cpu, cuda"),
        }
    }
}

/// A short human-readable name of a device for logs and manifests.
pub fn describe(device: tch::Device) -> String {
    match device {
        tch::Device::Cpu => format!("cpu ({} threads)", tch::get_num_threads()),
        tch::Device::Cuda(i) => format!("cuda:{i}"),
        other => format!("{other:?}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_always_resolves_and_cuda_fails_clearly_without_a_gpu() {
        assert_eq!(DeviceChoice::Cpu.resolve().unwrap(), tch::Device::Cpu);
        if !tch::Cuda::is_available() {
            assert_eq!(DeviceChoice::Auto.resolve().unwrap(), tch::Device::Cpu);
            let err = DeviceChoice::Cuda.resolve().unwrap_err().to_string();
            assert!(err.contains("--device cpu"), "{err}");
        }
    }
}
