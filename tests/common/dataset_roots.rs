//! Dataset roots the data tests edit: a copy of a fixture, and its `SHA256SUMS` rewritten after a deliberate edit.
//! Shared by `tests/data.rs` and `tests/input_faults.rs`.

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;

use blurry_to_clear::data::manifest;
use blurry_to_clear::provenance;

/// Copy the directory tree `from` to `to`.
pub fn copy_dir(from: &Path, to: &Path) {
    fs::create_dir_all(to).unwrap();
    for entry in fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.path().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            fs::copy(entry.path(), target).unwrap();
        }
    }
}

/// Rewrite `SHA256SUMS` after a deliberate edit, so that only the check under test can catch it (symbolic links are
/// hashed through, as a careless tool would).
pub fn rehash(root: &Path) {
    let hashes: BTreeMap<String, String> = manifest::list_files(root)
        .unwrap()
        .into_iter()
        .map(|f| {
            let hash = provenance::sha256_file(&root.join(&f)).unwrap();
            (f, hash)
        })
        .collect();
    fs::write(root.join("SHA256SUMS"), manifest::render(&hashes)).unwrap();
}
