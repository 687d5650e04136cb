//! Adam with PyTorch's semantics (`torch.optim.Adam`, the original's optimiser), written out so that its state can
//! be saved with a checkpoint and a resumed run continues bit for bit.
//!
//! Weight decay is L2 added to the gradient (`grad + wd * param`), not AdamW's decoupled decay; the update is
//! `param -= lr / (1 - b1^t) * m / (sqrt(v) / sqrt(1 - b2^t) + eps)`, as in PyTorch's single-tensor Adam.
use std::collections::BTreeMap;
use std::path::Path;

use anyhow::{bail, Context, Result};
use tch::{nn, Device, Kind, Tensor};

/// Adam's hyper-parameters (the original: betas 0.9 / 0.999, eps 1e-8).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct AdamConfig {
    pub beta1: f64,
    pub beta2: f64,
    pub eps: f64,
    pub weight_decay: f64,
}

impl AdamConfig {
    pub fn pytorch_default(weight_decay: f64) -> AdamConfig {
        AdamConfig { beta1: 0.9, beta2: 0.999, eps: 1e-8, weight_decay }
    }
}

/// Adam over every trainable variable of a var store, with its moments held by name.
pub struct Adam {
    config: AdamConfig,
    params: Vec<(String, Tensor)>,
    exp_avg: Vec<Tensor>,
    exp_avg_sq: Vec<Tensor>,
    step: i64,
}

impl Adam {
    pub fn new(vs: &nn::VarStore, config: AdamConfig) -> Adam {
        let named: BTreeMap<String, Tensor> = vs.variables().into_iter().collect();
        let params: Vec<(String, Tensor)> = named.into_iter().collect();
        let exp_avg = params.iter().map(|(_, p)| p.zeros_like()).collect();
        let exp_avg_sq = params.iter().map(|(_, p)| p.zeros_like()).collect();
        Adam { config, params, exp_avg, exp_avg_sq, step: 0 }
    }

    /// Number of optimiser steps taken so far.
    pub fn steps_taken(&self) -> i64 {
        self.step
    }

    pub fn zero_grad(&mut self) {
        for (_, p) in &mut self.params {
            let mut grad = p.grad();
            if grad.defined() {
                let _ = grad.zero_();
            }
        }
    }

    /// One update with learning rate `lr`, from the gradients left by `backward`.
    pub fn step(&mut self, lr: f64) {
        self.step += 1;
        let AdamConfig { beta1, beta2, eps, weight_decay } = self.config;
        let bias1 = 1.0 - beta1.powi(self.step as i32);
        let bias2_sqrt = (1.0 - beta2.powi(self.step as i32)).sqrt();
        tch::no_grad(|| {
            for (((_, param), m), v) in self.params.iter_mut().zip(&mut self.exp_avg).zip(&mut self.exp_avg_sq) {
                let grad = param.grad();
                if !grad.defined() {
                    continue;
                }
                let grad = if weight_decay != 0.0 { &grad + &*param * weight_decay } else { grad };
                let _ = m.lerp_(&grad, 1.0 - beta1);
                let _ = v.g_mul_scalar_(beta2).g_add_(&(&grad * &grad * (1.0 - beta2)));
                let denom = v.sqrt() / bias2_sqrt + eps;
                let _ = param.g_sub_(&(&*m / denom * (lr / bias1)));
            }
        });
    }

    /// Save the moments and step count as safetensors (`exp_avg.<name>`, `exp_avg_sq.<name>`, `step`).
    pub fn save(&self, path: &Path) -> Result<()> {
        let mut named: Vec<(String, Tensor)> = Vec::new();
        for ((name, _), (m, v)) in self.params.iter().zip(self.exp_avg.iter().zip(&self.exp_avg_sq)) {
            named.push((format!("exp_avg.{name}"), m.to_device(Device::Cpu)));
            named.push((format!("exp_avg_sq.{name}"), v.to_device(Device::Cpu)));
        }
        named.push(("step".to_owned(), Tensor::from_slice(&[self.step])));
        let refs: Vec<(&str, Tensor)> = named.iter().map(|(n, t)| (n.as_str(), t.shallow_clone())).collect();
        crate::atomic::write_with(path, |tmp| {
            Tensor::write_safetensors(&refs, tmp)
                .with_context(|| format!("cannot write optimiser state {}", tmp.display()))
        })
    }

    /// Restore the state written by [`Adam::save`] for the same model.
    pub fn load(&mut self, path: &Path) -> Result<()> {
        let tensors: BTreeMap<String, Tensor> = Tensor::read_safetensors(path)
            .with_context(|| format!("cannot read optimiser state {}", path.display()))?
            .into_iter()
            .collect();
        let get = |name: &str| {
            tensors.get(name).with_context(|| {
                format!("optimiser state {} has no '{name}'; delete it to restart the run from scratch", path.display())
            })
        };
        for ((name, param), (m, v)) in self.params.iter().zip(self.exp_avg.iter_mut().zip(self.exp_avg_sq.iter_mut())) {
            for (slot, key) in [(m, format!("exp_avg.{name}")), (v, format!("exp_avg_sq.{name}"))] {
                let saved = get(&key)?;
                if saved.size() != param.size() {
                    bail!(
                        "optimiser state {}: '{key}' has shape {:?}, expected {:?}",
                        path.display(),
                        saved.size(),
                        param.size()
                    );
                }
                tch::no_grad(|| slot.copy_(saved));
            }
        }
        self.step = get("step")?.to_kind(Kind::Int64).int64_value(&[0]);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Two Adam steps on f(w) = sum(w^2)/2 (grad = w), checked against PyTorch 2.11:
    /// `w = torch.tensor([1.0, -2.0], requires_grad=True); opt = torch.optim.Adam([w], lr=0.1, weight_decay=0.5)`.
    #[test]
    fn two_steps_match_pytorch() {
        let vs = nn::VarStore::new(Device::Cpu);
        let w = vs.root().var_copy("w", &Tensor::from_slice(&[1.0f32, -2.0]));
        let mut adam = Adam::new(&vs, AdamConfig::pytorch_default(0.5));
        for _ in 0..2 {
            adam.zero_grad();
            (&w * &w).sum(Kind::Float).g_mul_scalar(0.5).backward();
            adam.step(0.1);
        }
        let got: Vec<f32> = Vec::try_from(&w).unwrap();
        // PyTorch: [0.8004121780395508, -1.8001664876937866] (each of Adam's first steps moves a weight by ~lr).
        assert!((got[0] - 0.800_412_2).abs() < 1e-6 && (got[1] + 1.800_166_5).abs() < 1e-6, "{got:?}");
    }

    #[test]
    fn state_round_trip_continues_identically() {
        let dir = tempfile::tempdir().unwrap();
        let make = || {
            let vs = nn::VarStore::new(Device::Cpu);
            let w = vs.root().var_copy("w", &Tensor::from_slice(&[0.3f32, -0.7, 1.1]));
            (vs, w)
        };
        let loss = |w: &Tensor| (w * w * w).sum(Kind::Float);
        let (vs_a, w_a) = make();
        let mut a = Adam::new(&vs_a, AdamConfig::pytorch_default(1e-2));
        for _ in 0..3 {
            a.zero_grad();
            loss(&w_a).backward();
            a.step(0.01);
        }
        a.save(&dir.path().join("opt.safetensors")).unwrap();
        let (mut vs_b, w_b) = make();
        tch::no_grad(|| w_b.shallow_clone().copy_(&w_a));
        vs_b.set_kind(Kind::Float);
        let mut b = Adam::new(&vs_b, AdamConfig::pytorch_default(1e-2));
        b.load(&dir.path().join("opt.safetensors")).unwrap();
        assert_eq!(b.steps_taken(), 3);
        for (adam, w) in [(&mut a, &w_a), (&mut b, &w_b)] {
            adam.zero_grad();
            loss(w).backward();
            adam.step(0.01);
        }
        assert_eq!(Vec::<f32>::try_from(&w_a).unwrap(), Vec::<f32>::try_from(&w_b).unwrap());
    }
}
