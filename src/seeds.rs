//! Every random choice of a run flows from the profile's seed through [`derive()`].
//!
//! Seeds are derived by name rather than drawn in sequence, so that each consumer gets its own stream whatever ran
//! before it: the model's initialisation, each epoch's data order and augmentation, the analyses' random inputs.
//! The regime is deliberately not part of the data-order and initialisation names: the three models of a dataset
//! start from the same weights and see the same images in the same order, so they differ by the blur alone.
use sha2::{Digest, Sha256};

/// A 63-bit seed for `tch::manual_seed`, derived from the run's seed and a path of names, e.g.
/// `derive(seed, &["faces", "epoch", "12"])`.
pub(crate) fn derive(seed: u64, parts: &[&str]) -> i64 {
    let mut hasher = Sha256::new();
    hasher.update(seed.to_le_bytes());
    for part in parts {
        hasher.update((part.len() as u64).to_le_bytes());
        hasher.update(part.as_bytes());
    }
    let digest = hasher.finalize();
    let mut bytes = [0u8; 8];
    bytes.copy_from_slice(&digest[..8]);
    (u64::from_le_bytes(bytes) >> 1) as i64
}

/// Held by every test that seeds or draws from libtorch's process-wide generators: the test harness runs a crate's
/// tests on parallel threads, and one test's seeding between another's seeding and drawing would make the second
/// fail by chance (as `train::tests::libtorchs_generators_are_seeded_by_the_run` once did beside the augmentation's
/// test that reseeds the generator on purpose).
#[cfg(test)]
pub(crate) fn lock_libtorch_generators() -> std::sync::MutexGuard<'static, ()> {
    static GENERATORS: std::sync::Mutex<()> = std::sync::Mutex::new(());
    GENERATORS.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seeds_depend_on_every_part_and_are_stable() {
        let a = derive(0, &["faces", "epoch", "1"]);
        assert_eq!(a, derive(0, &["faces", "epoch", "1"]));
        assert_ne!(a, derive(1, &["faces", "epoch", "1"]));
        assert_ne!(a, derive(0, &["faces", "epoch", "2"]));
        // Length-prefixed parts: moving a boundary changes the seed.
        assert_ne!(derive(0, &["ab", "c"]), derive(0, &["a", "bc"]));
        // A value computed by hand: the first 8 bytes (little-endian) of SHA-256 over the seed and the length-prefixed
        // parts, shifted right by one.
        // (Python: `struct.unpack('<Q', hashlib.sha256(struct.pack('<Q', 0)).digest()[:8])[0] >> 1`.)
        assert_eq!(derive(0, &[]), 0x3d05_c0d0_fab8_2ad7);
    }
}
