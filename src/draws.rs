//! The random draws of a run, made on the CPU from an explicit seeded stream, so that one seed gives the same
//! initial weights, data order and augmentation on every device.
//!
//! libtorch's generators are per device (a CUDA run seeded like a CPU run draws other numbers) and global (tests
//! running in parallel interleave their draws). A [`Draws`] is neither: it is a ChaCha8 stream owned by whoever
//! draws from it, seeded from [`crate::seeds::derive`]. Every helper returns CPU tensors (or plain values); the
//! caller moves them to its device. The helpers use only the stream's raw 64-bit outputs and the arithmetic
//! below, so the numbers do not depend on the `rand` crate's sampling algorithms either.
use rand::{RngCore, SeedableRng};
use rand_chacha::ChaCha8Rng;
use tch::{Device, Tensor};

/// A seeded stream of random numbers, drawn on the CPU.
#[derive(Clone, Debug)]
pub struct Draws {
    rng: ChaCha8Rng,
}

impl Draws {
    /// The stream of `seed` (as [`crate::seeds::derive`] returns it).
    pub fn new(seed: i64) -> Draws {
        Draws { rng: ChaCha8Rng::seed_from_u64(seed as u64) }
    }

    /// The stream named `parts` under the run's `seed`: `Draws::new(seeds::derive(seed, parts))`.
    pub(crate) fn named(seed: u64, parts: &[&str]) -> Draws {
        Draws::new(crate::seeds::derive(seed, parts))
    }

    /// One number uniform in [0, 1): the top 53 bits of the next output, as a multiple of 2^-53.
    pub(crate) fn unit(&mut self) -> f64 {
        (self.rng.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    /// `count` numbers uniform in [low, high).
    pub(crate) fn uniform_values(&mut self, count: usize, (low, high): (f64, f64)) -> Vec<f64> {
        (0..count).map(|_| low + self.unit() * (high - low)).collect()
    }

    /// A float64 CPU tensor of `shape`, uniform in [low, high), filled in row-major order.
    pub fn uniform(&mut self, shape: &[i64], range: (f64, f64)) -> Tensor {
        let count = shape.iter().product::<i64>().max(0) as usize;
        Tensor::from_slice(&self.uniform_values(count, range)).view(shape)
    }

    /// An integer uniform in `0..=room` (`room >= 0`), as `torch.randint(0, room + 1)` draws it.
    pub fn up_to(&mut self, room: i64) -> i64 {
        // `unit() * (room + 1)` is below room + 1 in exact arithmetic; the `min` guards its rounding.
        ((self.unit() * (room + 1) as f64) as i64).min(room)
    }

    /// A uniformly random permutation of `0..n` (Fisher-Yates, from the last position down).
    pub fn permutation(&mut self, n: usize) -> Vec<i64> {
        let mut items: Vec<i64> = (0..n as i64).collect();
        for i in (1..n).rev() {
            let j = self.up_to(i as i64) as usize;
            items.swap(i, j);
        }
        items
    }
}

/// Move a small CPU tensor (a batch's draws, taps, indices or blur matrices) to `device`. On CUDA the copy goes
/// through pinned memory and does not block: a plain copy first waits for everything queued on the GPU, which
/// would stop the host from preparing the next batch while the GPU computes this one.
pub(crate) fn upload(tensor: &Tensor, device: Device) -> Tensor {
    match device {
        Device::Cuda(_) => tensor.pin_memory(device).to_device_(device, tensor.kind(), true, false),
        _ => tensor.to_device(device),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_seed_gives_one_stream_and_another_seed_another() {
        let a: Vec<f64> = Draws::new(7).uniform_values(5, (0.0, 1.0));
        assert_eq!(a, Draws::new(7).uniform_values(5, (0.0, 1.0)));
        assert_ne!(a, Draws::new(8).uniform_values(5, (0.0, 1.0)));
        // Named streams are derived seeds.
        assert_eq!(
            Draws::named(3, &["faces", "init"]).unit(),
            Draws::new(crate::seeds::derive(3, &["faces", "init"])).unit()
        );
    }

    #[test]
    fn the_stream_is_chacha8_seeded_from_u64() {
        // Pin the numbers themselves: a change of generator or seeding changes every trained number.
        let mut raw = ChaCha8Rng::seed_from_u64(42);
        let first = raw.next_u64();
        let mut draws = Draws::new(42);
        assert_eq!(draws.unit(), (first >> 11) as f64 / 9_007_199_254_740_992.0);
    }

    #[test]
    fn uniform_values_stay_in_range_and_fill_it() {
        let values = Draws::new(1).uniform_values(10_000, (-2.0, 3.0));
        assert!(values.iter().all(|v| (-2.0..3.0).contains(v)));
        let mean = values.iter().sum::<f64>() / values.len() as f64;
        // U(-2, 3): mean 0.5, standard deviation 5 / sqrt(12) = 1.44; the standard error of 10,000 is 0.0144.
        assert!((mean - 0.5).abs() < 0.06, "mean {mean}");
        let tensor = Draws::new(1).uniform(&[100, 100], (-2.0, 3.0));
        assert_eq!(tensor.size(), [100, 100]);
        assert_eq!(Vec::<f64>::try_from(tensor.flatten(0, -1)).unwrap(), values);
    }

    #[test]
    fn integers_cover_their_range_evenly() {
        let mut draws = Draws::new(5);
        let mut counts = [0usize; 4];
        for _ in 0..4000 {
            counts[draws.up_to(3) as usize] += 1;
        }
        // 1000 expected per value, standard deviation about 27.
        assert!(counts.iter().all(|c| (880..1120).contains(c)), "{counts:?}");
        assert_eq!(draws.up_to(0), 0);
    }

    #[test]
    fn permutations_are_permutations_and_uniform_over_first_places() {
        let mut draws = Draws::new(9);
        let mut first = [0usize; 5];
        for _ in 0..5000 {
            let p = draws.permutation(5);
            let mut sorted = p.clone();
            sorted.sort_unstable();
            assert_eq!(sorted, [0, 1, 2, 3, 4]);
            first[p[0] as usize] += 1;
        }
        // 1000 expected per value, standard deviation about 28.
        assert!(first.iter().all(|c| (880..1120).contains(c)), "{first:?}");
        assert!(draws.permutation(0).is_empty());
    }
}
