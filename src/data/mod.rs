//! The five datasets: their canonical on-disk layout, importers, verification, the embedded synthetic stand-ins and
//! the decoded cache that training reads from.
pub mod cache;
pub mod import;
pub mod layout;
pub mod manifest;
pub(crate) mod numpy_random;
pub(crate) mod object_order;
pub mod stand_in;
pub(crate) mod synthetic;
pub mod verify;

use std::fmt;

use serde::{Deserialize, Serialize};
use tch::Tensor;

/// A split of a dataset. `Train` is the original's "dev" part of the hyper-parameter split.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SplitName {
    Train,
    Val,
    Test,
}

impl SplitName {
    pub(crate) const ALL: [SplitName; 3] = [SplitName::Train, SplitName::Val, SplitName::Test];

    pub(crate) fn name(self) -> &'static str {
        match self {
            SplitName::Train => "train",
            SplitName::Val => "val",
            SplitName::Test => "test",
        }
    }
}

impl fmt::Display for SplitName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// One split decoded into memory: what training and evaluation read.
#[derive(Debug)]
pub struct Split {
    /// `uint8 [N, 3, H, W]`: training splits at the profile's `stored_resolution` (square, after the original's
    /// deterministic Resize), val and test at the test transform's output size.
    pub images: Tensor,
    /// `int64 [N]`, class indices in `0..classes`.
    pub labels: Tensor,
}

/// Apply `f` to every item on all CPU cores (rayon's pool), keeping the items' order: each result depends on its
/// item alone, so the output is the same whichever thread computes it. Decoding and hashing whole datasets, fitting
/// the conv1 Gabors and writing the figures use it.
pub(crate) fn par_map<T: Sync, R: Send>(items: &[T], f: impl Fn(&T) -> R + Sync + Send) -> Vec<R> {
    use rayon::prelude::*;
    items.par_iter().map(f).collect()
}
