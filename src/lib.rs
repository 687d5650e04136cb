//! `blurry-to-clear`: the reproducibility artifact of "Learning from Faces and Favourite Toys: Effects of Domain and
//! Classification Level on Robustness" (Jenkins, Sanyal, Michelson & Kunda, ICDL 2025).
//!
//! The library holds every step of the method as one module; the `blurry-to-clear` binary only parses arguments.
pub mod atomic;
pub mod blur;
pub mod data;
pub mod device;
pub mod logging;
pub mod model;
pub mod protocol;
pub mod schedule;
