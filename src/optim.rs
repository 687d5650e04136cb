//! Adam with PyTorch's semantics (`torch.optim.Adam`, the original's optimiser), written out so that its state can
//! be saved with a checkpoint and a resumed run continues bit for bit.
//!
//! Weight decay is L2 added to the gradient (`grad + wd * param`), not AdamW's decoupled decay; the update is
//! `param -= lr / (1 - b1^t) * m / (sqrt(v) / sqrt(1 - b2^t) + eps)`, as in PyTorch's single-tensor Adam.
//!
//! A run steps an [`AdamSet`]: one Adam state, or several that each update the same parameters from the same
//! gradients in turn, as the original's ImageNet-100 blurry-to-clear run did in its first 50 epochs.
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
pub(crate) struct Adam {
    config: AdamConfig,
    params: Vec<(String, Tensor)>,
    exp_avg: Vec<Tensor>,
    exp_avg_sq: Vec<Tensor>,
    step: i64,
}

impl Adam {
    pub(crate) fn new(vs: &nn::VarStore, config: AdamConfig) -> Adam {
        let named: BTreeMap<String, Tensor> = vs.variables().into_iter().collect();
        let params: Vec<(String, Tensor)> = named.into_iter().collect();
        let exp_avg = params.iter().map(|(_, p)| p.zeros_like()).collect();
        let exp_avg_sq = params.iter().map(|(_, p)| p.zeros_like()).collect();
        Adam { config, params, exp_avg, exp_avg_sq, step: 0 }
    }

    /// A new optimiser on the same parameters: zero moments, no steps taken (a second `torch.optim.Adam` built on
    /// the same `model.parameters()`).
    fn fresh(&self) -> Adam {
        let params: Vec<(String, Tensor)> = self.params.iter().map(|(n, p)| (n.clone(), p.shallow_clone())).collect();
        let exp_avg = params.iter().map(|(_, p)| p.zeros_like()).collect();
        let exp_avg_sq = params.iter().map(|(_, p)| p.zeros_like()).collect();
        Adam { config: self.config, params, exp_avg, exp_avg_sq, step: 0 }
    }

    #[cfg(test)]
    /// Number of optimiser steps taken so far.
    pub(crate) fn steps_taken(&self) -> i64 {
        self.step
    }

    pub(crate) fn zero_grad(&mut self) {
        for (_, p) in &mut self.params {
            let mut grad = p.grad();
            if grad.defined() {
                let _ = grad.zero_();
            }
        }
    }

    /// One update with learning rate `lr`, from the gradients left by `backward`.
    pub(crate) fn step(&mut self, lr: f64) {
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
    #[cfg(test)]
    pub(crate) fn save(&self, path: &Path) -> Result<()> {
        write_tensors(path, self.named_state(""))
    }

    /// The state as named CPU tensors, each name preceded by `prefix`.
    fn named_state(&self, prefix: &str) -> Vec<(String, Tensor)> {
        let mut named: Vec<(String, Tensor)> = Vec::new();
        for ((name, _), (m, v)) in self.params.iter().zip(self.exp_avg.iter().zip(&self.exp_avg_sq)) {
            named.push((format!("{prefix}exp_avg.{name}"), m.to_device(Device::Cpu)));
            named.push((format!("{prefix}exp_avg_sq.{name}"), v.to_device(Device::Cpu)));
        }
        named.push((format!("{prefix}step"), Tensor::from_slice(&[self.step])));
        named
    }

    /// Restore the state written by [`Adam::save`] for the same model.
    #[cfg(test)]
    pub(crate) fn load(&mut self, path: &Path) -> Result<()> {
        self.restore(path, &read_tensors(path)?, "")
    }

    /// Restore the state saved under `prefix` in `tensors` (read from `path`).
    fn restore(&mut self, path: &Path, tensors: &BTreeMap<String, Tensor>, prefix: &str) -> Result<()> {
        let get = |name: &str| {
            tensors.get(name).with_context(|| {
                format!("optimiser state {} has no '{name}'; delete it to restart the run from scratch", path.display())
            })
        };
        for ((name, param), (m, v)) in self.params.iter().zip(self.exp_avg.iter_mut().zip(self.exp_avg_sq.iter_mut())) {
            for (slot, key) in [(m, format!("{prefix}exp_avg.{name}")), (v, format!("{prefix}exp_avg_sq.{name}"))] {
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
        self.step = get(&format!("{prefix}step"))?.to_kind(Kind::Int64).int64_value(&[0]);
        Ok(())
    }
}

fn write_tensors(path: &Path, named: Vec<(String, Tensor)>) -> Result<()> {
    let refs: Vec<(&str, Tensor)> = named.iter().map(|(n, t)| (n.as_str(), t.shallow_clone())).collect();
    crate::atomic::write_with(path, |tmp| {
        Tensor::write_safetensors(&refs, tmp).with_context(|| format!("cannot write optimiser state {}", tmp.display()))
    })
}

fn read_tensors(path: &Path) -> Result<BTreeMap<String, Tensor>> {
    Ok(Tensor::read_safetensors(path)
        .with_context(|| format!("cannot read optimiser state {}", path.display()))?
        .into_iter()
        .collect())
}

/// The Adam states a run steps after each backward pass, in order.
///
/// Normally one. The original's ImageNet-100 blurry-to-clear run built a second `torch.optim.Adam` on the same
/// parameters (`clear_optimizer` on `blur_model.parameters()`, `train_alexnet_IN100` cell 10), with a scheduler
/// identical to the first's, and called both `step()`s every batch of epochs 1-50: two updates from the same
/// gradients, each with its own moments and step count; the second computes its L2 term on the weights the first
/// already moved. When the count drops, the states that stepped last are kept: the original resumed epoch 51 from
/// the checkpoint of the optimiser that stepped second (`blur_optimizer`), alone. When it grows, the new states start
/// from zero, as a newly built optimiser does.
///
/// Saved in one file: the first state under the names of [`Adam::named_state`] (so a one-state file is an Adam file), the
/// others prefixed `state<k>.`, so that a resumed run continues bit for bit.
pub struct AdamSet {
    states: Vec<Adam>,
}

impl AdamSet {
    /// One Adam state over every trainable variable of `vs`.
    pub fn new(vs: &nn::VarStore, config: AdamConfig) -> AdamSet {
        AdamSet { states: vec![Adam::new(vs, config)] }
    }

    #[cfg(test)]
    /// The steps taken by each state.
    pub(crate) fn steps_taken(&self) -> Vec<i64> {
        self.states.iter().map(Adam::steps_taken).collect()
    }

    pub(crate) fn zero_grad(&mut self) {
        self.states[0].zero_grad();
    }

    /// `updates` Adam updates at rate `lr` from the gradients left by `backward`, one per state, in order.
    pub(crate) fn step(&mut self, lr: f64, updates: u32) {
        let updates = (updates as usize).max(1);
        if updates < self.states.len() {
            self.states.drain(..self.states.len() - updates);
        }
        while self.states.len() < updates {
            let fresh = self.states[0].fresh();
            self.states.push(fresh);
        }
        for state in &mut self.states {
            state.step(lr);
        }
    }

    /// Save every state in one safetensors file.
    pub(crate) fn save(&self, path: &Path) -> Result<()> {
        let named = self.states.iter().enumerate().flat_map(|(k, s)| s.named_state(&state_prefix(k))).collect();
        write_tensors(path, named)
    }

    /// Restore the states written by [`AdamSet::save`] (or by a single `Adam`) for the same model: as many as the file
    /// holds.
    pub(crate) fn load(&mut self, path: &Path) -> Result<()> {
        let tensors = read_tensors(path)?;
        let mut states = Vec::new();
        for k in 0.. {
            let prefix = state_prefix(k);
            if k > 0 && !tensors.contains_key(&format!("{prefix}step")) {
                break;
            }
            let mut state = self.states[0].fresh();
            state.restore(path, &tensors, &prefix)?;
            states.push(state);
        }
        self.states = states;
        Ok(())
    }
}

/// Names of state `k` in the file: none for the first, `state<k>.` for the others.
fn state_prefix(k: usize) -> String {
    match k {
        0 => String::new(),
        k => format!("state{k}."),
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

    /// The toy model of `tests/fixtures/lr/make_double_adam.py`: Linear(3, 2) in float64, its squared-error loss on
    /// batch `i`.
    fn toy_model() -> (nn::VarStore, Tensor, Tensor) {
        let mut vs = nn::VarStore::new(Device::Cpu);
        let w = vs.root().var("weight", &[2, 3], nn::Init::Const(0.0));
        let b = vs.root().var("bias", &[2], nn::Init::Const(0.0));
        vs.set_kind(Kind::Double);
        let weights: Vec<f64> = (0..6).map(|j| f64::from((j / 3) * 3 + j % 3 - 2) / 10.0).collect();
        tch::no_grad(|| {
            w.shallow_clone().copy_(&Tensor::from_slice(&weights).reshape([2, 3]));
            b.shallow_clone().copy_(&Tensor::from_slice(&[0.25f64, -0.5]));
        });
        (vs, w, b)
    }

    fn toy_loss(w: &Tensor, b: &Tensor, i: i64) -> Tensor {
        let x: Vec<f64> = (0..12).map(|j| f64::from(j - 4) / 8.0 + i as f64 / 16.0).collect();
        let t: Vec<f64> = (0..8).map(|j| f64::from(j / 2 - j % 2) / 4.0).collect();
        let x = Tensor::from_slice(&x).reshape([4, 3]);
        let t = Tensor::from_slice(&t).reshape([4, 2]);
        (x.matmul(&w.tr()) + b - t).square().mean(Kind::Double)
    }

    /// The original's ImageNet-100 blurry-to-clear run at toy size (epochs 1-3 of 6 with two Adam optimisers on the
    /// same parameters, then resumed with the second one's state), against PyTorch 2.11
    /// (`tests/fixtures/lr/double_adam.csv`); the optimiser state is saved and loaded mid-run, as a resumed run does.
    #[test]
    fn two_adam_states_match_two_pytorch_optimisers_through_a_resume() {
        use crate::schedule::{lr_at, optimiser_steps_at, LrKind, LrSegment};
        let segment = |from_epoch, fast_forward_epochs, optimiser_steps_per_batch| LrSegment {
            from_epoch,
            kind: LrKind::WarmupCosine,
            over_epochs: None,
            fast_forward_epochs,
            lr: None,
            warmup_from_carried: false,
            warmup_epochs: 2,
            optimiser_steps_per_batch,
        };
        let schedule = [segment(1, 0, 2), segment(4, 3, 1)];
        crate::schedule::check_segments(&schedule, 6).unwrap();
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/lr/double_adam.csv");
        let rows: Vec<Vec<f64>> = std::fs::read_to_string(path)
            .unwrap()
            .lines()
            .skip(1)
            .map(|l| l.split(',').map(|v| v.parse().unwrap()).collect())
            .collect();
        assert_eq!(rows.len(), 18);
        let dir = tempfile::tempdir().unwrap();
        let state = dir.path().join("opt.safetensors");
        let (vs, mut w, mut b) = toy_model();
        let mut adam = AdamSet::new(&vs, AdamConfig::pytorch_default(0.1));
        for (i, row) in rows.iter().enumerate() {
            let epoch = i as u32 / 3 + 1;
            let (lr, updates) = (lr_at(&schedule, 6, 3, 0.05, i as u64), optimiser_steps_at(&schedule, epoch));
            assert!((lr - row[1]).abs() <= 1e-12 * row[1], "iteration {i}: lr {lr} vs {}", row[1]);
            assert_eq!(f64::from(updates), row[2], "iteration {i}");
            adam.zero_grad();
            toy_loss(&w, &b, i as i64).backward();
            adam.step(lr, updates);
            let got: Vec<f64> =
                Vec::try_from(&w.flatten(0, -1)).unwrap().into_iter().chain(Vec::try_from(&b).unwrap()).collect();
            for (j, (g, want)) in got.iter().zip(&row[3..]).enumerate() {
                assert!((g - want).abs() < 1e-12, "iteration {i} parameter {j}: {g} vs PyTorch {want}");
            }
            if i == 4 {
                // Resume mid-epoch 2 from saved weights and both Adam states.
                adam.save(&state).unwrap();
                let (vs_b, w_b, b_b) = toy_model();
                tch::no_grad(|| {
                    w_b.shallow_clone().copy_(&w);
                    b_b.shallow_clone().copy_(&b);
                });
                let mut resumed = AdamSet::new(&vs_b, AdamConfig::pytorch_default(0.1));
                resumed.load(&state).unwrap();
                assert_eq!(resumed.steps_taken(), vec![5, 5]);
                (w, b, adam) = (w_b, b_b, resumed);
            }
        }
        assert_eq!(adam.steps_taken(), vec![18], "the second optimiser's state carried on alone");
    }
}
