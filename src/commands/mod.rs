//! The commands of the `blurry-to-clear` binary, one module per group: each calls the library, which returns values,
//! and prints them. Nothing here computes a result of the study; nothing in the library prints.
pub mod analyses;
pub mod blur;
pub mod calibrate;
pub mod data;
pub mod plan;
pub mod reproduce;
pub mod status;
pub mod tables;
