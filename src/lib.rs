//! `blurry-to-clear`: the reproducibility artifact of "Learning from Faces and Favourite Toys: Effects of Domain and
//! Classification Level on Robustness" (Jenkins, Sanyal, Michelson & Kunda, ICDL 2025).
//!
//! The library holds every step of the method as one module; the `blurry-to-clear` binary only parses arguments.
pub mod analysis;
pub mod atomic;
pub mod augment;
pub mod blur;
pub mod claims;
pub mod data;
pub mod device;
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
pub mod run_dir;
pub mod schedule;
pub mod seeds;
pub mod slurm;
pub mod stage;
pub mod status;
pub mod train;
pub mod verify;
