//! Write-then-rename, so that no half-written file is ever taken for a finished one.
//!
//! Every output of the artifact (tables, checkpoints, caches, figures, manifests) goes through here: the bytes land
//! in a temporary file beside the target, are flushed to disk, and only then renamed over the target; then the
//! directory is flushed too, so that the rename itself survives a power loss. A crash leaves at worst a `*.tmp`
//! file, which nothing reads and the next `reproduce` removes ([`remove_temporary_files`]).
//!
//! A write that fails (a full disk, a read-only or unwritable directory) removes its temporary file, leaves the
//! target as it was, and returns an error that names the target and says what to do; on a full disk it also says
//! how many bytes the write needed and how many are free, so that a reviewer knows how much to clear before the
//! rerun (which redoes only what was not finished).
use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

/// The temporary path used while `path` is being written.
pub(crate) fn temp_path(path: &Path) -> PathBuf {
    let mut name = path.file_name().map(|n| n.to_os_string()).unwrap_or_default();
    name.push(format!(".{}.tmp", std::process::id()));
    path.with_file_name(name)
}

/// Remove the temporary files ([`temp_path`]) directly in `dir` that a killed process left behind: nothing reads
/// them, but one can be as large as a checkpoint. Only for the holder of the lock that `dir` is written under: no
/// other process writes there then.
pub(crate) fn remove_temporary_files(dir: &Path) -> Result<()> {
    let Ok(entries) = fs::read_dir(dir) else { return Ok(()) };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.extension().is_some_and(|e| e == "tmp") && path.is_file() {
            fs::remove_file(&path).with_context(|| format!("cannot remove the temporary file {}", path.display()))?;
        }
    }
    Ok(())
}

/// Write `bytes` to `path` atomically, creating parent directories as needed.
pub fn write(path: &Path, bytes: &[u8]) -> Result<()> {
    write_sized(path, Some(bytes.len() as u64), |tmp| {
        let mut file = fs::File::create(tmp).with_context(|| format!("cannot create {}", tmp.display()))?;
        file.write_all(bytes).with_context(|| format!("cannot write {}", tmp.display()))?;
        file.sync_all().with_context(|| format!("cannot flush {}", tmp.display()))?;
        Ok(())
    })
}

/// Let `fill` write a temporary file, then rename it to `path`. Used for writers that insist on a path of their
/// own (libtorch's safetensors writer, plotters' bitmap encoder).
pub fn write_with(path: &Path, fill: impl FnOnce(&Path) -> Result<()>) -> Result<()> {
    write_sized(path, None, fill)
}

/// [`write_with`] for a writer whose output size is known beforehand (`size` bytes), which a full disk's error
/// then reports as the space needed.
pub(crate) fn write_sized(path: &Path, size: Option<u64>, fill: impl FnOnce(&Path) -> Result<()>) -> Result<()> {
    let dir = path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let tmp = temp_path(path);
    let result = fs::create_dir_all(dir)
        .with_context(|| format!("cannot create directory {}", dir.display()))
        .and_then(|()| fill(&tmp))
        .and_then(|()| {
            fs::rename(&tmp, path).with_context(|| format!("cannot rename {} to {}", tmp.display(), path.display()))
        })
        .and_then(|()| sync_dir(dir));
    let Err(err) = result else { return Ok(()) };
    let written = fs::metadata(&tmp).map_or(0, |m| m.len());
    let _ = fs::remove_file(&tmp);
    Err(explain(err, path, dir, size, written))
}

/// Flush a directory's entries (a rename is only durable once its directory is).
fn sync_dir(dir: &Path) -> Result<()> {
    fs::File::open(dir)
        .and_then(|d| d.sync_all())
        .with_context(|| format!("cannot flush the directory {}", dir.display()))
}

/// Why a write failed, as far as the reviewer can act on it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Cause {
    /// `ENOSPC` or `EDQUOT`: the file system (or the user's quota) is full.
    NoSpace,
    /// `EROFS` or `EACCES`/`EPERM`: the directory cannot be written at all.
    Unwritable,
    Other,
}

/// The cause of `err`: from the first I/O error in its chain, or, for writers that turn I/O errors into text
/// (libtorch's safetensors writer), from the operating system's wording.
fn cause(err: &anyhow::Error) -> Cause {
    let from_kind = |e: &io::Error| match e.kind() {
        io::ErrorKind::StorageFull | io::ErrorKind::QuotaExceeded => Cause::NoSpace,
        io::ErrorKind::ReadOnlyFilesystem | io::ErrorKind::PermissionDenied => Cause::Unwritable,
        _ => Cause::Other,
    };
    if let Some(found) = err.chain().filter_map(|e| e.downcast_ref::<io::Error>()).map(from_kind).next() {
        if found != Cause::Other {
            return found;
        }
    }
    let text = format!("{err:#}");
    if text.contains("No space left on device") || text.contains("Disk quota exceeded") {
        Cause::NoSpace
    } else if text.contains("Read-only file system") || text.contains("Permission denied") {
        Cause::Unwritable
    } else {
        Cause::Other
    }
}

/// Add to `err` what the reviewer needs: the target, and for a full disk the space needed and free.
/// `fs::create_dir_all`, explained as a failed write is: a read-only or full file system is named as such, with
/// what to do.
pub(crate) fn create_dir_all(dir: &Path) -> Result<()> {
    let Err(err) = fs::create_dir_all(dir) else { return Ok(()) };
    let err = anyhow::Error::new(err);
    let why = match cause(&err) {
        Cause::NoSpace => "the file system is full; free some space or choose another output directory, then rerun",
        Cause::Unwritable => {
            "it is read-only or not writable; choose a writable output directory or fix its permissions, then rerun"
        }
        Cause::Other => return Err(err.context(format!("cannot create {}", dir.display()))),
    };
    Err(err.context(format!("cannot create {}: {why}", dir.display())))
}

fn explain(err: anyhow::Error, path: &Path, dir: &Path, size: Option<u64>, written: u64) -> anyhow::Error {
    match cause(&err) {
        Cause::NoSpace => {
            let needed = match size {
                Some(size) => format!("it needs {size} bytes"),
                None => format!("it needs more than the {written} bytes written before the failure"),
            };
            let free = fs4::available_space(dir).map_or_else(|e| format!("unknown ({e})"), |b| b.to_string());
            err.context(format!(
                "cannot write {}: the file system is full ({needed}; {free} bytes are free in {}); free some space \
                 or choose another output directory, then rerun: finished files are kept and this one was not written",
                path.display(),
                dir.display()
            ))
        }
        Cause::Unwritable => err.context(format!(
            "cannot write {}: {} is read-only or not writable; choose a writable output directory or fix its \
             permissions, then rerun",
            path.display(),
            dir.display()
        )),
        Cause::Other => err.context(format!("cannot write {}", path.display())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_temporary_files_are_removed() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("epoch-002.safetensors");
        write(&target, b"weights").unwrap();
        let left = dir.path().join("epoch-003.safetensors.4242.tmp");
        fs::write(&left, b"half").unwrap();
        remove_temporary_files(dir.path()).unwrap();
        assert!(target.exists() && !left.exists());
        remove_temporary_files(&dir.path().join("absent")).unwrap();
    }

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

    /// A full disk, injected: the writer writes part of the file, then the OS refuses with ENOSPC (os error 28).
    #[test]
    fn a_full_disk_names_the_file_the_bytes_needed_and_the_free_space() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("checkpoint.safetensors");
        let err = write_sized(&target, Some(4096), |tmp| {
            fs::write(tmp, [0u8; 100]).unwrap();
            Err(io::Error::from_raw_os_error(28)).context("cannot write the tensors")
        })
        .unwrap_err();
        assert_eq!(cause(&err), Cause::NoSpace);
        let text = format!("{err:#}");
        assert!(text.contains(&format!("cannot write {}", target.display())), "{text}");
        assert!(text.contains("it needs 4096 bytes") && text.contains("bytes are free in"), "{text}");
        assert!(!target.exists() && !temp_path(&target).exists(), "nothing is left that a rerun could take");
        // A writer of unknown size reports what it managed before the failure; libtorch's text-only errors count.
        let err = write_with(&target, |tmp| {
            fs::write(tmp, [0u8; 100]).unwrap();
            anyhow::bail!("{}: No space left on device (os error 28)", tmp.display())
        })
        .unwrap_err();
        assert_eq!(cause(&err), Cause::NoSpace);
        assert!(format!("{err:#}").contains("more than the 100 bytes written"), "{err:#}");
    }

    #[test]
    fn an_unwritable_directory_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("table.csv");
        let err =
            write_with(&target, |_| Err(io::Error::from_raw_os_error(30)).context("cannot create it")).unwrap_err();
        assert_eq!(cause(&err), Cause::Unwritable);
        assert!(format!("{err:#}").contains("is read-only or not writable"), "{err:#}");
    }
}
