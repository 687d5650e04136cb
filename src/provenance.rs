//! Where a result came from: SHA-256 digests of files and values, the git commit of the code that made it, the
//! machine and the time it was made on, and the project directory that holds the committed inputs (protocols,
//! expected numbers, committed figures).
//!
//! The project is found at run time, never from the path the binary was compiled in: a binary carried to another
//! machine, or run from another clone, reads that clone's `paper/` and `expected/`. It is the directory given by
//! `--project DIR`, or else the nearest of the working directory and its parents that holds `paper/protocol/`,
//! `expected/` and a `Cargo.toml` of the package `blurry-to-clear`.
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::{bail, Context, Result};
use sha2::{Digest, Sha256};

/// The crate whose checkout is a project (`[package] name` of its `Cargo.toml`).
const PACKAGE: &str = "blurry-to-clear";

/// The project directory once chosen (by `--project` or found from the working directory).
static PROJECT: OnceLock<PathBuf> = OnceLock::new();

/// What `dir` lacks to be a project of this artifact, or `None` when it is one.
fn missing_from_project(dir: &Path) -> Option<String> {
    let mut missing = Vec::new();
    for sub in ["paper/protocol", "expected"] {
        if !dir.join(sub).is_dir() {
            missing.push(format!("no directory {sub}/"));
        }
    }
    let manifest = dir.join("Cargo.toml");
    let package = std::fs::read_to_string(&manifest).ok().and_then(|text| {
        let value: toml::Table = text.parse().ok()?;
        value.get("package")?.get("name")?.as_str().map(str::to_owned)
    });
    match package.as_deref() {
        Some(PACKAGE) => {}
        Some(other) => missing.push(format!("Cargo.toml names the package '{other}', not '{PACKAGE}'")),
        None => missing.push(format!("no Cargo.toml with `name = \"{PACKAGE}\"`")),
    }
    (!missing.is_empty()).then(|| missing.join(", "))
}

/// Use `dir` as the project (`--project DIR`); an error says what `dir` lacks. Call it before anything reads the
/// project.
pub fn use_project(dir: &Path) -> Result<()> {
    if let Some(missing) = missing_from_project(dir) {
        bail!("--project {} is not a {PACKAGE} project: {missing}; pass the directory of a clone of it", dir.display());
    }
    let dir = dir.canonicalize().with_context(|| format!("cannot resolve --project {}", dir.display()))?;
    if PROJECT.set(dir.clone()).is_err() && PROJECT.get() != Some(&dir) {
        bail!("the project was already chosen as {}, before --project {}", project_dir()?.display(), dir.display());
    }
    Ok(())
}

/// The project's root directory (where `paper/` and `expected/` live): `--project`, or found from the working
/// directory upwards. An error names where it looked and what it looked for.
pub(crate) fn project_dir() -> Result<PathBuf> {
    if let Some(dir) = PROJECT.get() {
        return Ok(dir.clone());
    }
    let cwd = std::env::current_dir().context("cannot read the working directory")?;
    let Some(found) = cwd.ancestors().find(|dir| missing_from_project(dir).is_none()) else {
        bail!(
            "no {PACKAGE} project found: neither {} nor any directory above it holds paper/protocol/, expected/ and \
             a Cargo.toml with `name = \"{PACKAGE}\"`; run the command from inside a clone of the artifact, or pass \
             --project DIR",
            cwd.display()
        );
    };
    Ok(PROJECT.get_or_init(|| found.to_path_buf()).clone())
}

/// A path inside the project, e.g. `project_path("expected/paper")`.
pub(crate) fn project_path(relative: &str) -> Result<PathBuf> {
    Ok(project_dir()?.join(relative))
}

/// Lowercase hex of a digest.
pub(crate) fn hex(digest: &[u8]) -> String {
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// SHA-256 of `bytes`, as hex.
pub fn sha256_bytes(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
}

/// SHA-256 of a file, streamed (datasets, caches and checkpoints can be large).
pub fn sha256_file(path: &Path) -> Result<String> {
    let mut file = std::fs::File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
    let mut hasher = Sha256::new();
    let mut buffer = vec![0u8; 1 << 20];
    loop {
        let n = file.read(&mut buffer).with_context(|| format!("cannot read {}", path.display()))?;
        if n == 0 {
            break;
        }
        hasher.update(&buffer[..n]);
    }
    Ok(hex(&hasher.finalize()))
}

/// The commit of the project's checkout (with `-dirty` when it has uncommitted changes), or `unknown` outside git
/// or without a project.
pub fn git_commit() -> String {
    let Ok(root) = project_dir() else { return "unknown".to_owned() };
    let run = |args: &[&str]| {
        Command::new("git").arg("-C").arg(&root).args(args).output().ok().filter(|o| o.status.success())
    };
    let Some(head) = run(&["rev-parse", "HEAD"]) else { return "unknown".to_owned() };
    let commit = String::from_utf8_lossy(&head.stdout).trim().to_owned();
    let dirty = run(&["status", "--porcelain", "--untracked-files=no"]).is_some_and(|o| !o.stdout.is_empty());
    if dirty {
        format!("{commit}-dirty")
    } else {
        commit
    }
}

/// `time` as ISO 8601 in UTC to the second, e.g. `2026-11-29T17:40:03Z` (times before 1970 print as 1970).
pub(crate) fn iso8601(time: SystemTime) -> String {
    let seconds = time.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    let (days, of_day) = (seconds / 86_400, seconds % 86_400);
    // Civil date from days since 1970-01-01 (H. Hinnant's `civil_from_days`, for days >= 0): eras of 400 years.
    let z = days + 719_468;
    let era = z / 146_097;
    let day_of_era = z % 146_097;
    let year_of_era = (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let shifted_month = (5 * day_of_year + 2) / 153; // March = 0
    let day = day_of_year - (153 * shifted_month + 2) / 5 + 1;
    let month = if shifted_month < 10 { shifted_month + 3 } else { shifted_month - 9 };
    let year = year_of_era + era * 400 + u64::from(month <= 2);
    let (hour, minute, second) = (of_day / 3600, of_day % 3600 / 60, of_day % 60);
    format!("{year:04}-{month:02}-{day:02}T{hour:02}:{minute:02}:{second:02}Z")
}

/// The machine a run was made on, for the manifest.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub(crate) struct Host {
    /// Host name, `unknown` when the system does not say.
    pub name: String,
    /// CPU model (`model name` of `/proc/cpuinfo`) and logical cores, `unknown` when the system does not say.
    pub cpu: String,
    /// GPU models (`nvidia-smi --query-gpu=name`), one per GPU; empty without an NVIDIA driver.
    pub gpus: Vec<String>,
}

impl Host {
    /// Describe this machine. Nothing here fails: what cannot be read is `unknown` or empty.
    pub(crate) fn this() -> Host {
        let name = std::fs::read_to_string("/proc/sys/kernel/hostname")
            .ok()
            .or_else(|| std::env::var("HOSTNAME").ok())
            .map(|n| n.trim().to_owned())
            .filter(|n| !n.is_empty())
            .unwrap_or_else(|| "unknown".to_owned());
        let cores = std::thread::available_parallelism().map_or(0, usize::from);
        let cpu = std::fs::read_to_string("/proc/cpuinfo")
            .ok()
            .and_then(|text| cpu_model(&text))
            .map_or_else(|| "unknown".to_owned(), |model| format!("{model} ({cores} logical cores)"));
        let gpus = Command::new("nvidia-smi")
            .args(["--query-gpu=name", "--format=csv,noheader"])
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| String::from_utf8_lossy(&o.stdout).lines().map(|l| l.trim().to_owned()).collect())
            .unwrap_or_default();
        Host { name, cpu, gpus }
    }
}

/// The first `model name` of a `/proc/cpuinfo` text.
fn cpu_model(cpuinfo: &str) -> Option<String> {
    cpuinfo.lines().find_map(|line| {
        let (key, value) = line.split_once(':')?;
        (key.trim() == "model name").then(|| value.trim().to_owned())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sha256_of_a_known_string() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("abc");
        std::fs::write(&path, b"abc").unwrap();
        let abc = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
        assert_eq!(sha256_file(&path).unwrap(), abc);
        assert_eq!(sha256_bytes(b"abc"), abc);
    }

    #[test]
    fn iso8601_matches_known_instants() {
        let at = |seconds: u64| iso8601(UNIX_EPOCH + std::time::Duration::from_secs(seconds));
        assert_eq!(at(0), "1970-01-01T00:00:00Z");
        // `date -u -d @951782400`: the leap day of a year divisible by 400.
        assert_eq!(at(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(at(1_709_251_199), "2024-02-29T23:59:59Z");
        assert_eq!(at(1_798_565_103), "2026-12-29T17:25:03Z");
        assert_eq!(at(4_102_444_800), "2100-01-01T00:00:00Z");
    }

    #[test]
    fn cpu_model_is_the_first_model_name() {
        let text = "processor\t: 0\nvendor_id\t: AuthenticAMD\nmodel name\t: AMD EPYC 9B14\n\nprocessor\t: 1\n\
                    model name\t: AMD EPYC 9B14\n";
        assert_eq!(cpu_model(text).as_deref(), Some("AMD EPYC 9B14"));
        assert_eq!(cpu_model("processor\t: 0\n"), None);
    }

    #[test]
    fn a_project_is_recognised_by_its_directories_and_package_name() {
        assert_eq!(missing_from_project(Path::new(env!("CARGO_MANIFEST_DIR"))), None);
        let dir = tempfile::tempdir().unwrap();
        let missing = missing_from_project(dir.path()).unwrap();
        assert!(missing.contains("paper/protocol/") && missing.contains("expected/"), "{missing}");
        std::fs::create_dir_all(dir.path().join("paper/protocol")).unwrap();
        std::fs::create_dir_all(dir.path().join("expected")).unwrap();
        std::fs::write(dir.path().join("Cargo.toml"), "[package]\nname = \"other\"\n").unwrap();
        assert!(missing_from_project(dir.path()).unwrap().contains("'other'"));
        std::fs::write(dir.path().join("Cargo.toml"), "[package]\nname = \"blurry-to-clear\"\n").unwrap();
        assert_eq!(missing_from_project(dir.path()), None);
    }
}
