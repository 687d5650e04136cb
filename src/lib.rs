//! `blurry-to-clear`: the reproducibility artifact of "Learning from Faces and Favourite Toys: Effects of Domain and
//! Classification Level on Robustness" (Jenkins, Sanyal, Michelson & Kunda, ICDL 2025).
//!
//! The library holds every step of the method as one module and returns values; the `blurry-to-clear` binary parses
//! arguments (`src/main.rs`) and prints what the library returns (`src/commands/`).
//!
//! # The data flow
//!
//! ```text
//! paper/protocol/<profile>.toml --protocol--> RunSpec per (dataset, regime, seed)
//!   |
//!   |  data: real datasets or stand-ins, decoded once into uint8 tensors
//!   v
//! train: per batch, augment then blur at the epoch's sigma; forward/backward; Adam at the iteration's rate
//!   |    --> checkpoints, the training log
//!   v
//! evaluate: each checkpoint on the test split at every test sigma
//! analyse:  each checkpoint's receptive fields, Gabor fits, ERFs, spatial frequency
//!   |    --> one run's rows of the results tables
//!   v
//! gather: every run's rows --> runs/<profile>/results/<table>.csv and .parquet
//!   |
//!   +--> figures (one function per figure), report (findings and expected numbers), verify (every number)
//! ```
//!
//! # Where each step lives
//!
//! - The protocol: [`protocol::Profile`] resolves a profile into one [`protocol::RunSpec`] per run; every name of
//!   a dataset, regime, layer or measure is a type of [`vocab`].
//! - Data: [`data::layout`], [`data::import`] and [`data::verify`] for the real datasets, [`data::synthetic`] for
//!   the stand-ins, [`data::cache`] for the decoded splits.
//! - Training: [`train::train`]; each batch through [`train::training_input`] ([`augment::train_batch`], then
//!   [`blur::blur_uniform`] at [`schedule::sigma_at`] of the epoch, in 224-px pixels scaled to the run's resolution by
//!   [`protocol::RunSpec::sigma_scale`]), then [`train::Learner::step`]: [`model::AlexNet`] forward and backward and
//!   [`optim::AdamSet`] at [`schedule::lr_at`] of the iteration; every random draw from [`draws::Draws`].
//! - Evaluation: [`evaluate::evaluate_run`]. The analyses: [`analysis`], one module per measure.
//! - The tables: [`results`] declares each once (row type, schema, registry: [`results::Tables`]);
//!   [`results::ResultsDir`] reads a run directory's tables and the profile that made them.
//! - What reads the tables: [`figures::draw_source`] (one function per figure), [`report::write_report`] with the
//!   paper's findings ([`claims`]) and every number against the expected ones ([`verify::verify`]).
//! - The stages: [`pipeline::reproduce`] runs them in order, skips finished ones and resumes interrupted training;
//!   [`stage::Stage`] declares each (name, order, inputs, sources) and [`stage::CodeHashes`] keys it by the hash of
//!   its own sources.
//!
//! # Reading a run
//!
//! A run directory (or the original's numbers in `expected/paper/`) is read with [`results::ResultsDir`]: its typed
//! tables, one struct per row, and the profile that made them. A finding of the paper, computed by hand and then
//! judged as `paper/claims.toml` states it, with its 95 % interval:
//!
//! ```
//! use blurry_to_clear::claims::{Claims, Evidence, Verdict};
//! use blurry_to_clear::results::ResultsDir;
//! use blurry_to_clear::vocab::{DatasetId, Regime};
//!
//! let run = ResultsDir::new(std::path::Path::new("expected/paper"));
//! assert_eq!(run.profile()?.name, "paper");
//! // One row per observation and seed, the most trusted of the original's sources.
//! let tables = run.tables(|_| true)?.reduced();
//! let accuracy = |regime| {
//!     let at = |r: &&blurry_to_clear::results::AccuracyVsBlur| {
//!         (r.run.dataset, r.run.regime, r.test_sigma) == (DatasetId::Faces, regime, 4.0)
//!     };
//!     tables.accuracy_vs_blur.iter().find(at).map(|r| r.accuracy_pct)
//! };
//! // Faces at test sigma 4: blurry-to-clear training keeps 20 points more accuracy than clear training.
//! let gain = accuracy(Regime::BlurryToClear).unwrap() - accuracy(Regime::Clear).unwrap();
//! assert!((gain - 20.1).abs() < 0.05, "{gain}");
//!
//! let claims = Claims::paper()?;
//! let robust = claims.claim.iter().find(|c| c.id == "b2c_robust_instance_level").unwrap();
//! let outcome = robust.evaluate(&Evidence::read(&run, &claims)?)?;
//! assert_eq!(outcome.verdict, Verdict::Holds);
//! # anyhow::Ok(())
//! ```
// The documentation is read with the code (`cargo doc --document-private-items`, run by `just test` with broken
// links denied): it links the items that do the work, public or not.
#![allow(rustdoc::private_intra_doc_links)]
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
pub(crate) mod lock;
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
pub mod selection;
pub mod slurm;
pub mod stage;
pub mod stats;
pub mod status;
pub mod train;
pub mod verify;
pub mod vocab;
