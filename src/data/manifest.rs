//! `SHA256SUMS`: the SHA-256 of every file of a dataset, in `sha256sum`'s format (`<hex>  <path>`, paths relative
//! to the dataset root, sorted), so that `cd <root> && sha256sum -c SHA256SUMS` checks a dataset without this
//! program. The hash of the manifest itself names the dataset's content (see [`content_hash`]).
use std::collections::BTreeMap;
use std::fs;
use std::path::Path;

use anyhow::{bail, Context, Result};

use crate::provenance::sha256_bytes;

/// File name of the manifest at a dataset root.
pub const MANIFEST_FILE: &str = "SHA256SUMS";

/// The manifest text for `hashes` (relative path -> hex digest), sorted by path.
pub fn render(hashes: &BTreeMap<String, String>) -> String {
    hashes.iter().map(|(path, hash)| format!("{hash}  {path}\n")).collect()
}

/// Parse `<root>/SHA256SUMS` into relative path -> hex digest. Accepts `sha256sum`'s text (`  `) and binary (` *`)
/// separators.
pub(crate) fn read(root: &Path) -> Result<BTreeMap<String, String>> {
    let path = root.join(MANIFEST_FILE);
    let text = fs::read_to_string(&path).with_context(|| {
        format!(
            "cannot read the manifest {}; every dataset root needs one (re-run `data import` or `data synth`)",
            path.display()
        )
    })?;
    let mut hashes = BTreeMap::new();
    for (number, line) in text.lines().enumerate().filter(|(_, l)| !l.trim().is_empty()) {
        let parsed = line.split_once("  ").or_else(|| line.split_once(" *"));
        let Some((hash, file)) = parsed.filter(|(h, _)| h.len() == 64 && h.bytes().all(|b| b.is_ascii_hexdigit()))
        else {
            bail!("{} line {}: expected '<64 hex digits>  <path>', got '{line}'", path.display(), number + 1);
        };
        if hashes.insert(file.to_owned(), hash.to_ascii_lowercase()).is_some() {
            bail!("{} lists '{file}' twice", path.display());
        }
    }
    Ok(hashes)
}

/// Every regular file under `root`, as `/`-separated paths relative to it, sorted; skips the manifest itself,
/// hidden entries (the decoded cache lives in `.cache/`) and unfinished `*.tmp` files of `atomic`.
pub fn list_files(root: &Path) -> Result<Vec<String>> {
    let skipped = |entry: &walkdir::DirEntry| {
        let name = entry.file_name().to_string_lossy();
        entry.depth() > 0 && (name.starts_with('.') || name.ends_with(".tmp"))
    };
    let mut files = Vec::new();
    for entry in walkdir::WalkDir::new(root).into_iter().filter_entry(|e| !skipped(e)) {
        let entry = entry.with_context(|| format!("cannot list {}", root.display()))?;
        // The root itself is no file of the root (walkdir reports a root that is a symbolic link as a link).
        if entry.depth() == 0
            || entry.file_type().is_dir()
            || (entry.depth() == 1 && entry.file_name() == MANIFEST_FILE)
        {
            continue;
        }
        let relative = entry.path().strip_prefix(root).unwrap_or(entry.path());
        files.push(relative.components().map(|c| c.as_os_str().to_string_lossy()).collect::<Vec<_>>().join("/"));
    }
    files.sort();
    Ok(files)
}

/// The content hash of a dataset: SHA-256 of its manifest file. Two roots with the same hash hold the same bytes.
pub(crate) fn content_hash(root: &Path) -> Result<String> {
    let path = root.join(MANIFEST_FILE);
    let bytes = fs::read(&path).with_context(|| format!("cannot read the manifest {}", path.display()))?;
    Ok(sha256_bytes(&bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_match_sha256sum_and_round_trip() {
        // `printf abc | sha256sum`
        assert_eq!(sha256_bytes(b"abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
        let dir = tempfile::tempdir().unwrap();
        fs::create_dir_all(dir.path().join("train")).unwrap();
        fs::write(dir.path().join("train/a.png"), b"abc").unwrap();
        fs::write(dir.path().join("train.csv"), b"").unwrap();
        fs::write(dir.path().join("x.csv.123.tmp"), b"partial").unwrap();
        let files = list_files(dir.path()).unwrap();
        assert_eq!(files, vec!["train.csv", "train/a.png"]);
        let hashes: BTreeMap<_, _> =
            files.iter().map(|f| (f.clone(), crate::provenance::sha256_file(&dir.path().join(f)).unwrap())).collect();
        fs::write(dir.path().join(MANIFEST_FILE), render(&hashes)).unwrap();
        assert_eq!(read(dir.path()).unwrap(), hashes);
        assert_eq!(list_files(dir.path()).unwrap().len(), 2, "the manifest does not list itself");
    }

    #[test]
    fn a_root_reached_through_a_symbolic_link_lists_its_files() {
        let dir = tempfile::tempdir().unwrap();
        fs::create_dir_all(dir.path().join("real/train")).unwrap();
        fs::write(dir.path().join("real/train/a.png"), b"abc").unwrap();
        std::os::unix::fs::symlink(dir.path().join("real"), dir.path().join("link")).unwrap();
        assert_eq!(list_files(&dir.path().join("link")).unwrap(), vec!["train/a.png"]);
    }

    #[test]
    fn malformed_lines_name_the_line() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join(MANIFEST_FILE), "nothex  a.png\n").unwrap();
        let err = read(dir.path()).unwrap_err().to_string();
        assert!(err.contains("line 1"), "{err}");
    }
}
