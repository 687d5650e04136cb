//! Two jobs at build time: link libtorch so that every binary (the CLI, unit tests, integration tests) runs with no
//! environment set, and hash the sources each pipeline stage depends on (declared in `src/stage/graph.rs`), so that a
//! stage reruns when its code changes.
//!
//! **Linking.**
//! torch-sys links libtorch but sets no rpath, and rustc links with `--as-needed`, which drops
//! `libtorch_cuda.so` because no symbol of it is referenced directly: CUDA is then silently unavailable on a GPU
//! machine (tch issues 907 and 980). torch-sys exports its library directory as `DEP_TCH_LIBTORCH_LIB` to crates
//! that depend on it directly, which is why `torch-sys` is a direct dependency in Cargo.toml.
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

/// The stages, their names and sources (`src/stage/graph.rs`, shared with the library).
#[allow(dead_code)]
mod graph {
    include!("src/stage/graph.rs");
}

/// Every file under `path` (or `path` itself), sorted.
fn files_under(path: &Path) -> Vec<PathBuf> {
    if path.is_file() {
        return vec![path.to_path_buf()];
    }
    let Ok(entries) = std::fs::read_dir(path) else {
        panic!("build.rs: a stage's sources name {}, which does not exist; fix src/stage/graph.rs", path.display())
    };
    let mut files: Vec<PathBuf> = entries.flatten().flat_map(|e| files_under(&e.path())).collect();
    files.sort();
    files
}

/// Write `$OUT_DIR/stage_code.rs`: the SHA-256 of the paths and contents of each stage's sources, in the order of
/// `Stage::ALL` (`crate::stage::CodeHashes::compiled` includes it).
fn hash_stage_sources() {
    println!("cargo:rerun-if-changed=src/stage/graph.rs");
    let mut hashes = Vec::new();
    for stage in graph::Stage::ALL {
        let mut hasher = Sha256::new();
        for source in stage.sources() {
            println!("cargo:rerun-if-changed={source}");
            for file in files_under(Path::new(source)) {
                let bytes =
                    std::fs::read(&file).unwrap_or_else(|e| panic!("build.rs: cannot read {}: {e}", file.display()));
                hasher.update(file.to_string_lossy().as_bytes());
                hasher.update((bytes.len() as u64).to_le_bytes());
                hasher.update(&bytes);
            }
        }
        let hex: String = hasher.finalize().iter().map(|b| format!("{b:02x}")).collect();
        hashes.push(format!("{hex:?}"));
    }
    let out = PathBuf::from(std::env::var("OUT_DIR").expect("cargo sets OUT_DIR")).join("stage_code.rs");
    let text = format!("[{}]\n", hashes.join(", "));
    std::fs::write(&out, text).unwrap_or_else(|e| panic!("build.rs: cannot write {}: {e}", out.display()));
}

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    hash_stage_sources();
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
