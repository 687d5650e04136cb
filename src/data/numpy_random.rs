//! numpy's default random generator, `np.random.default_rng(seed)`, for the original's two draws that decide which
//! images are used: the Toybox category-level training sub-sample (`ToyboxDataset.set_train_indices`, seed 5) and the
//! Toybox instance-level robustness test order (`ToyboxDatasetInstances.select_images_per_object`, seed 5).
//!
//! Bit for bit: `SeedSequence` turns the seed into PCG64's 128-bit state and increment; PCG64 (XSL-RR output)
//! gives 64-bit words, and 32-bit words as their low then high halves; bounded integers use Lemire's method with
//! numpy's rejection threshold; `Generator.choice(n, size, replace=False)` uses Floyd's algorithm then a shuffle, or,
//! for more than 10,000 items of which more than a fiftieth are drawn, a partial Fisher-Yates shuffle of the tail.
//! Checked against numpy 2.4 (`tests/fixtures/numpy_random/`). numpy does not promise these streams across versions;
//! they have not changed since `Generator` appeared (numpy 1.17), before the original ran.
use std::collections::HashSet;

/// SeedSequence's hashing constants (`numpy/random/bit_generator.pyx`).
const INIT_A: u32 = 0x43b0_d7e5;
const MULT_A: u32 = 0x931e_8875;
const INIT_B: u32 = 0x8b51_f9dd;
const MULT_B: u32 = 0x58f3_8ded;
const MIX_MULT_L: u32 = 0xca01_f9dd;
const MIX_MULT_R: u32 = 0x4973_f715;
const XSHIFT: u32 = 16;
const POOL_SIZE: usize = 4;

/// PCG64's multiplier (PCG_DEFAULT_MULTIPLIER_128).
const PCG_MULTIPLIER: u128 = (2_549_297_995_355_413_924u128 << 64) + 4_865_540_595_714_422_341;

/// Above this many items, `choice` without replacement may shuffle the tail instead of using Floyd's algorithm.
const TAIL_SHUFFLE_POPULATION: u64 = 10_000;

/// `np.random.default_rng(seed)`: a `Generator` over PCG64.
#[derive(Clone, Debug)]
pub(crate) struct NumpyGenerator {
    state: u128,
    increment: u128,
    /// The high half of the last 64-bit word, when a 32-bit draw used its low half.
    buffered: Option<u32>,
}

fn hashmix(value: u32, hash_const: &mut u32) -> u32 {
    let mut value = value ^ *hash_const;
    *hash_const = hash_const.wrapping_mul(MULT_A);
    value = value.wrapping_mul(*hash_const);
    value ^ (value >> XSHIFT)
}

fn mix(x: u32, y: u32) -> u32 {
    let result = MIX_MULT_L.wrapping_mul(x).wrapping_sub(MIX_MULT_R.wrapping_mul(y));
    result ^ (result >> XSHIFT)
}

/// `SeedSequence(seed).generate_state(4, np.uint64)`.
fn seed_sequence_state(seed: u64) -> [u64; 4] {
    // The seed as 32-bit words, least significant first (at least one word).
    let entropy: Vec<u32> = match seed >> 32 {
        0 => vec![seed as u32],
        high => vec![seed as u32, high as u32],
    };
    let mut pool = [0u32; POOL_SIZE];
    let mut hash_const = INIT_A;
    for (i, slot) in pool.iter_mut().enumerate() {
        *slot = hashmix(entropy.get(i).copied().unwrap_or(0), &mut hash_const);
    }
    for src in 0..POOL_SIZE {
        for dst in 0..POOL_SIZE {
            if src != dst {
                let hashed = hashmix(pool[src], &mut hash_const);
                pool[dst] = mix(pool[dst], hashed);
            }
        }
    }
    let mut hash_const = INIT_B;
    let words: Vec<u32> = (0..8)
        .map(|i| {
            let mut value = pool[i % POOL_SIZE] ^ hash_const;
            hash_const = hash_const.wrapping_mul(MULT_B);
            value = value.wrapping_mul(hash_const);
            value ^ (value >> XSHIFT)
        })
        .collect();
    let mut state = [0u64; 4];
    for (k, slot) in state.iter_mut().enumerate() {
        *slot = u64::from(words[2 * k]) | (u64::from(words[2 * k + 1]) << 32);
    }
    state
}

impl NumpyGenerator {
    /// `np.random.default_rng(seed)`.
    pub(crate) fn new(seed: u64) -> NumpyGenerator {
        let [s0, s1, i0, i1] = seed_sequence_state(seed);
        let initstate = (u128::from(s0) << 64) | u128::from(s1);
        let initseq = (u128::from(i0) << 64) | u128::from(i1);
        let mut generator = NumpyGenerator { state: 0, increment: (initseq << 1) | 1, buffered: None };
        generator.step();
        generator.state = generator.state.wrapping_add(initstate);
        generator.step();
        generator
    }

    fn step(&mut self) {
        self.state = self.state.wrapping_mul(PCG_MULTIPLIER).wrapping_add(self.increment);
    }

    /// The next 64-bit word (`bit_generator.random_raw()`).
    pub(crate) fn next_u64(&mut self) -> u64 {
        self.step();
        let (high, low) = ((self.state >> 64) as u64, self.state as u64);
        (high ^ low).rotate_right((self.state >> 122) as u32)
    }

    /// The next 32-bit word: the low half of a fresh 64-bit word, then its high half.
    pub(crate) fn next_u32(&mut self) -> u32 {
        if let Some(high) = self.buffered.take() {
            return high;
        }
        let word = self.next_u64();
        self.buffered = Some((word >> 32) as u32);
        word as u32
    }

    /// A uniform integer in `0..=max` (numpy's `random_bounded_uint64` without masking).
    pub(crate) fn bounded(&mut self, max: u64) -> u64 {
        match max {
            0 => 0,
            u64::MAX => self.next_u64(),
            0xFFFF_FFFF => u64::from(self.next_u32()),
            m if m < 0xFFFF_FFFF => {
                let m = m as u32;
                let excl = m + 1;
                let mut product = u64::from(self.next_u32()) * u64::from(excl);
                if (product as u32) < excl {
                    let threshold = (u32::MAX - m) % excl;
                    while (product as u32) < threshold {
                        product = u64::from(self.next_u32()) * u64::from(excl);
                    }
                }
                product >> 32
            }
            m => {
                let excl = m + 1;
                let mut product = u128::from(self.next_u64()) * u128::from(excl);
                if (product as u64) < excl {
                    let threshold = (u64::MAX - m) % excl;
                    while (product as u64) < threshold {
                        product = u128::from(self.next_u64()) * u128::from(excl);
                    }
                }
                (product >> 64) as u64
            }
        }
    }

    /// Fisher-Yates over `items[first..]`, from the last item down (numpy's `_shuffle_int(n, first, ...)`).
    fn shuffle_from(&mut self, items: &mut [u64], first: usize) {
        for i in (first..items.len()).rev() {
            let j = self.bounded(i as u64) as usize;
            items.swap(i, j);
        }
    }

    /// `Generator.choice(population, size, replace=False)`: `size` distinct indices in `0..population`, in numpy's
    /// order. `size` must not exceed `population`.
    pub(crate) fn choice_without_replacement(&mut self, population: u64, size: u64) -> Vec<u64> {
        assert!(size <= population, "cannot draw {size} of {population} items without replacement");
        if population > TAIL_SHUFFLE_POPULATION && size > population / 50 {
            let mut items: Vec<u64> = (0..population).collect();
            self.shuffle_from(&mut items, (population - size).max(1) as usize);
            return items.split_off((population - size) as usize);
        }
        let mut seen = HashSet::with_capacity(size as usize);
        let mut drawn = Vec::with_capacity(size as usize);
        for j in population - size..population {
            let value = self.bounded(j);
            let pick = if seen.insert(value) { value } else { j };
            seen.insert(pick);
            drawn.push(pick);
        }
        self.shuffle_from(&mut drawn, 1);
        drawn
    }

    /// `Generator.choice(items, items.len().min(size), replace=False)` on a list: the chosen items, in numpy's order.
    pub(crate) fn choose<T: Clone>(&mut self, items: &[T], size: usize) -> Vec<T> {
        let size = size.min(items.len());
        self.choice_without_replacement(items.len() as u64, size as u64)
            .into_iter()
            .map(|i| items[i as usize].clone())
            .collect()
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// `tests/fixtures/numpy_random/reference.txt` lines starting with `case`, split into words.
    pub(crate) fn reference(case: &str) -> Vec<Vec<String>> {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/numpy_random/reference.txt");
        std::fs::read_to_string(path)
            .unwrap()
            .lines()
            .filter(|l| l.split(' ').next() == Some(case))
            .map(|l| l.split(' ').skip(1).map(str::to_owned).collect())
            .collect()
    }

    fn numbers(words: &[String]) -> Vec<u64> {
        words.iter().map(|w| w.parse().unwrap()).collect()
    }

    #[test]
    fn raw_words_match_numpys_pcg64_seeded_through_seed_sequence() {
        for line in reference("u64") {
            let values = numbers(&line);
            let mut generator = NumpyGenerator::new(values[0]);
            let got: Vec<u64> = (0..values.len() - 1).map(|_| generator.next_u64()).collect();
            assert_eq!(got, values[1..], "seed {}", values[0]);
        }
        for line in reference("u32") {
            let values = numbers(&line);
            let mut generator = NumpyGenerator::new(values[0]);
            let got: Vec<u64> = (0..values.len() - 1).map(|_| u64::from(generator.next_u32())).collect();
            assert_eq!(got, values[1..], "seed {}", values[0]);
        }
    }

    #[test]
    fn choice_without_replacement_matches_numpy_in_every_branch() {
        let mut generator = NumpyGenerator::new(5);
        let lines = reference("choice");
        assert_eq!(lines.len(), 8);
        for line in lines {
            let values = numbers(&line);
            let got = generator.choice_without_replacement(values[0], values[1]);
            assert_eq!(got, values[2..], "choice({}, {})", values[0], values[1]);
        }
    }
}
