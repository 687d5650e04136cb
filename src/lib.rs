//! `blurry-to-clear`: the reproducibility artifact of "Learning from Faces and Favourite Toys: Effects of Domain and
//! Classification Level on Robustness" (Jenkins, Sanyal, Michelson & Kunda, ICDL 2025).
//!
//! The library holds every step of the method as one module; the `blurry-to-clear` binary only parses arguments.
//!
//! # The data flow, and where each step lives
//!
//! ```text
//! paper/protocol/<profile>.toml --protocol--> RunSpec per (dataset, regime, seed)
//!   |
//!   |  data: real datasets (data::layout, data::import, data::verify) or stand-ins (data::synthetic),
//!   |        decoded once into uint8 tensors (data::cache)
//!   v
//! train: per batch, train::training_input (augment::train_batch, then blur::blur_uniform at
//!        schedule::sigma_at(epoch)), then train::Learner::step: model::AlexNet forward/backward and
//!        optim::AdamSet at schedule::lr_at(iteration); random draws from draws::Draws (seeded, on the CPU)
//!   |    --> checkpoints (model::save), the training log
//!   v
//! evaluate: each checkpoint on the test split at every test sigma (evaluate::evaluate_run)
//! analyse:  each checkpoint's receptive fields, Gabor fits, ERFs, spatial frequency
//!           (analysis::analyse_checkpoint)
//!   |    --> one run's rows of the results tables (results: one schema per table, keyed by results::RunKey)
//!   v
//! gather: every run's rows --> runs/<profile>/results/<table>.csv and .parquet
//!   |
//!   +--> figures: figures::Tables::load reads results/, one function per figure (figures::accuracy,
//!   |             figures::receptive_fields, figures::spatial_frequency, figures::grids)
//!   +--> report:  report::write_report, with the paper's findings (claims) and the expected numbers (verify)
//!   +--> verify:  verify::verify, every number against expected/<profile>/ under its tolerance
//! ```
//!
//! [`pipeline`] orders these stages, skips finished ones and resumes interrupted training ([`stage`] keys each
//! stage by its inputs and the hash of its own sources). The names every file and table uses (datasets, regimes,
//! layers, measures, statistics) are defined once, in [`vocab`].
//!
//! Where sigma is applied in training: `train::training_input`, right after `augment::train_batch`, with the
//! epoch's sigma from `schedule::sigma_at` (in 224-px pixels, scaled to the run's resolution by
//! `RunSpec::sigma_scale`). Where a figure gets its numbers: `figures::Tables::load` on the source's `results/`
//! (or `expected/paper/`), passed to the figure's function in `figures::*`.
pub mod analysis;
pub mod atomic;
pub mod augment;
pub mod blur;
pub mod blur_tolerance;
pub mod calibrate;
pub mod claims;
pub mod data;
pub mod device;
pub mod draws;
pub mod evaluate;
pub mod figures;
pub mod interrupt;
pub mod lock;
pub mod logging;
pub mod model;
pub mod optim;
pub mod pipeline;
pub mod preflight;
pub mod protocol;
pub mod provenance;
pub mod report;
pub mod results;
pub(crate) mod run_dir;
pub mod schedule;
pub(crate) mod seeds;
pub mod slurm;
pub mod stage;
pub mod stats;
pub mod status;
pub mod train;
pub mod verify;
pub mod vocab;
