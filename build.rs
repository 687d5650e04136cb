//! Link libtorch so that every binary (the CLI, unit tests, integration tests) runs with no environment set.
//!
//! torch-sys links libtorch but sets no rpath, and rustc links with `--as-needed`, which drops
//! `libtorch_cuda.so` because no symbol of it is referenced directly: CUDA is then silently unavailable on a GPU
//! machine (tch issues 907 and 980). torch-sys exports its library directory as `DEP_TCH_LIBTORCH_LIB` to crates
//! that depend on it directly, which is why `torch-sys` is a direct dependency in Cargo.toml.
use std::path::Path;

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-env-changed=DEP_TCH_LIBTORCH_LIB");
    let Ok(lib) = std::env::var("DEP_TCH_LIBTORCH_LIB") else {
        println!("cargo:warning=DEP_TCH_LIBTORCH_LIB not set by torch-sys; binaries will need LD_LIBRARY_PATH");
        println!("cargo:rustc-env=LIBTORCH_VERSION=unknown");
        return;
    };
    // The version recorded in every run's manifest: the torch package's version.py, or a libtorch build-version.
    let root = Path::new(&lib).parent().map(Path::to_path_buf).unwrap_or_default();
    let version = std::fs::read_to_string(root.join("version.py"))
        .ok()
        .and_then(|text| {
            let line = text.lines().find(|l| l.starts_with("__version__"))?;
            Some(line.split('\'').nth(1)?.to_owned())
        })
        .or_else(|| std::fs::read_to_string(root.join("build-version")).ok().map(|v| v.trim().to_owned()))
        .unwrap_or_else(|| "unknown".to_owned());
    println!("cargo:rustc-env=LIBTORCH_VERSION={version}");
    println!("cargo:rustc-link-arg=-Wl,-rpath,{lib}");
    println!("cargo:rustc-link-arg=-Wl,--no-as-needed");
    println!("cargo:rustc-link-arg=-L{lib}");
    println!("cargo:rustc-link-arg=-ltorch");
    if Path::new(&lib).join("libtorch_cuda.so").exists() {
        println!("cargo:rustc-link-arg=-ltorch_cuda");
    }
    println!("cargo:rustc-link-arg=-Wl,--as-needed");
}
