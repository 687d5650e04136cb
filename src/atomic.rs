//! Write-then-rename, so that no half-written file is ever taken for a finished one.
//!
//! Every output of the artifact (tables, checkpoints, caches, figures, manifests) goes through here: the bytes land
//! in a temporary file beside the target, are flushed to disk, and only then renamed over the target; then the
//! directory is flushed too, so that the rename itself survives a power loss. A crash leaves at worst a `*.tmp`
//! file, which nothing reads.
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

/// The temporary path used while `path` is being written.
pub fn temp_path(path: &Path) -> PathBuf {
    let mut name = path.file_name().map(|n| n.to_os_string()).unwrap_or_default();
    name.push(format!(".{}.tmp", std::process::id()));
    path.with_file_name(name)
}

/// Write `bytes` to `path` atomically, creating parent directories as needed.
pub fn write(path: &Path, bytes: &[u8]) -> Result<()> {
    write_with(path, |tmp| {
        let mut file = fs::File::create(tmp).with_context(|| format!("cannot create {}", tmp.display()))?;
        file.write_all(bytes).with_context(|| format!("cannot write {}", tmp.display()))?;
        file.sync_all().with_context(|| format!("cannot flush {}", tmp.display()))?;
        Ok(())
    })
}

/// Let `fill` write a temporary file, then rename it to `path`. Used for writers that insist on a path of their
/// own (libtorch's safetensors writer, plotters' bitmap encoder).
pub fn write_with(path: &Path, fill: impl FnOnce(&Path) -> Result<()>) -> Result<()> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        fs::create_dir_all(dir).with_context(|| format!("cannot create directory {}", dir.display()))?;
    }
    let tmp = temp_path(path);
    let result = fill(&tmp).and_then(|()| {
        fs::rename(&tmp, path).with_context(|| format!("cannot rename {} to {}", tmp.display(), path.display()))?;
        sync_dir(path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new(".")))
    });
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result
}

/// Flush a directory's entries (a rename is only durable once its directory is).
fn sync_dir(dir: &Path) -> Result<()> {
    fs::File::open(dir)
        .and_then(|d| d.sync_all())
        .with_context(|| format!("cannot flush the directory {}", dir.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_whole_file_and_leaves_no_temporary() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("sub/table.csv");
        write(&target, b"a,b\n1,2\n").unwrap();
        assert_eq!(fs::read(&target).unwrap(), b"a,b\n1,2\n");
        let names: Vec<_> = fs::read_dir(target.parent().unwrap()).unwrap().map(|e| e.unwrap().file_name()).collect();
        assert_eq!(names, vec![std::ffi::OsString::from("table.csv")]);
    }

    #[test]
    fn failed_fill_leaves_target_untouched() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("x.bin");
        write(&target, b"old").unwrap();
        let err = write_with(&target, |tmp| {
            fs::write(tmp, b"partial").unwrap();
            anyhow::bail!("interrupted")
        });
        assert!(err.is_err());
        assert_eq!(fs::read(&target).unwrap(), b"old");
        assert!(!temp_path(&target).exists());
    }
}
