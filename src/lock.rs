//! Locks on output directories, so that two `reproduce` processes never write one run at once: a run directory
//! (`runs/<profile>/<dataset>/<regime>/seed-<n>/`) is locked while its stages run, and the profile directory
//! (`runs/<profile>/`) while the cross-run stages (gather, figures, manifest) write. Runs of different datasets may
//! therefore proceed in parallel, from several machines sharing one file system (a Slurm job array).
//!
//! The lock is a holder file, `lock.json`, naming who holds it: pid, host, start time, command and Slurm job. Why a
//! file and not `flock`: advisory locks are not reliable on the network file systems clusters share (NFS may not
//! carry them to the server, or lose them when a client dies), and a lock one cannot read says nothing useful to
//! the person it stops. The file is created whole or not at all: the holder record is written to a temporary file
//! and hard-linked to `lock.json`, which fails when the lock exists. `link` is atomic on local file systems and on
//! NFS; since a retried NFS request may report failure after succeeding, success is judged by the temporary file's
//! link count, as the classic NFS lock recipe does. File systems without hard links fall back to `O_EXCL` creation.
//!
//! A lock whose holder is dead is taken over: same host and no process with its pid (or a process with that pid that
//! started later, or the host rebooted since), or an earlier incarnation of the same Slurm job (Slurm runs one at a
//! time; a requeued task keeps its job id). Two processes that find the same dead holder take it over one at a time,
//! under a short-lived `lock.json.takeover` file created the same way. A holder on another host is never taken over
//! automatically: this host cannot tell whether it runs, and the error says how to check and remove it.
use std::io::Write;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use anyhow::{bail, Context, Result};
use serde::{Deserialize, Serialize};

/// The holder file in a locked directory.
pub(crate) const LOCK_FILE: &str = "lock.json";

/// A takeover guard older than this belongs to a process that died mid-takeover (a takeover takes milliseconds).
const STALE_TAKEOVER: Duration = Duration::from_secs(60);

/// Who holds a lock.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Holder {
    pub pid: u32,
    pub host: String,
    /// When the lock was taken, RFC 3339 UTC.
    pub started: String,
    /// The command line of the holder.
    pub command: String,
    /// Linux: the kernel's boot id and the process's start time (clock ticks after boot), so that neither a reboot
    /// nor a reused pid makes a dead holder look alive.
    #[serde(default)]
    pub boot_id: Option<String>,
    #[serde(default)]
    pub process_start: Option<u64>,
    /// The Slurm job the holder runs in, if any.
    #[serde(default)]
    pub slurm: Option<SlurmJob>,
}

/// A Slurm job as its environment names it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SlurmJob {
    /// `SLURM_JOB_ID`: unique per array task, kept across requeues.
    pub job_id: String,
    /// `<array job>_<task>` for array tasks, else the job id: what `squeue -j` and `sacct -j` accept.
    pub name: String,
    /// `SLURM_RESTART_COUNT`: how often the job was requeued.
    pub restart_count: u32,
}

impl SlurmJob {
    /// The Slurm job this process runs in, from its environment.
    pub(crate) fn current() -> Option<SlurmJob> {
        let job_id = std::env::var("SLURM_JOB_ID").ok()?;
        let name = match (std::env::var("SLURM_ARRAY_JOB_ID"), std::env::var("SLURM_ARRAY_TASK_ID")) {
            (Ok(array), Ok(task)) => format!("{array}_{task}"),
            _ => job_id.clone(),
        };
        let restart_count = std::env::var("SLURM_RESTART_COUNT").ok().and_then(|c| c.parse().ok()).unwrap_or(0);
        Some(SlurmJob { job_id, name, restart_count })
    }
}

/// Whether a lock's holder still runs, as far as this process can tell.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Liveness {
    Alive,
    /// Dead, and why we know.
    Dead(String),
    /// On another host: never taken over automatically.
    Elsewhere,
}

impl Holder {
    /// This process, now.
    pub(crate) fn current() -> Holder {
        let pid = std::process::id();
        Holder {
            pid,
            host: host_name(),
            started: humantime::format_rfc3339_seconds(SystemTime::now()).to_string(),
            command: std::env::args().collect::<Vec<_>>().join(" "),
            boot_id: boot_id(),
            process_start: process_start(pid),
            slurm: SlurmJob::current(),
        }
    }

    /// Whether the holder runs, judged from this process.
    pub(crate) fn liveness(&self) -> Liveness {
        self.liveness_seen_by(&Holder::current())
    }

    /// Whether the holder runs, judged by the process `me` describes.
    fn liveness_seen_by(&self, me: &Holder) -> Liveness {
        if let (Some(theirs), Some(mine)) = (&self.slurm, &me.slurm) {
            if theirs.job_id == mine.job_id && theirs.restart_count < mine.restart_count {
                return Liveness::Dead(format!("Slurm requeued job {} since", mine.name));
            }
        }
        if self.host != me.host {
            return Liveness::Elsewhere;
        }
        if let (Some(theirs), Some(mine)) = (&self.boot_id, &me.boot_id) {
            if theirs != mine {
                return Liveness::Dead("the host rebooted since".to_owned());
            }
        }
        let alive = i32::try_from(self.pid)
            .ok()
            .and_then(rustix::process::Pid::from_raw)
            .is_some_and(|pid| !matches!(rustix::process::test_kill_process(pid), Err(rustix::io::Errno::SRCH)));
        if !alive {
            return Liveness::Dead(format!("no process {} runs", self.pid));
        }
        match (self.process_start, process_start(self.pid)) {
            (Some(theirs), Some(now)) if theirs != now => {
                Liveness::Dead(format!("process {} is another program that reused the pid", self.pid))
            }
            _ => Liveness::Alive,
        }
    }

    /// `pid 123 on host node1 since 2025-01-01T00:00:00Z (Slurm job 45_3)`.
    pub(crate) fn describe(&self) -> String {
        let job = self.slurm.as_ref().map(|j| format!(" (Slurm job {})", j.name)).unwrap_or_default();
        format!("pid {} on host {} since {}{job}", self.pid, self.host, self.started)
    }
}

/// A directory is locked by someone else.
#[derive(Debug, thiserror::Error)]
#[error("{}", held_message(.dir, .holder, .liveness))]
pub(crate) struct Held {
    pub dir: PathBuf,
    pub holder: Holder,
    pub liveness: Liveness,
}

fn held_message(dir: &Path, holder: &Holder, liveness: &Liveness) -> String {
    let file = dir.join(LOCK_FILE);
    match liveness {
        Liveness::Elsewhere => {
            let check = match &holder.slurm {
                Some(job) => format!("`squeue -j {}` or `ssh {} ps -p {}`", job.name, holder.host, holder.pid),
                None => format!("`ssh {} ps -p {}`", holder.host, holder.pid),
            };
            format!(
                "{} is locked by {} (`{}`); this host cannot tell whether that process still runs. Check with \
                 {check}; if it is gone, remove {} and run again",
                dir.display(),
                holder.describe(),
                holder.command,
                file.display()
            )
        }
        _ => format!(
            "{} is in use by {} (`{}`); wait for it to finish or stop it (kill {}), then run again",
            dir.display(),
            holder.describe(),
            holder.command,
            holder.pid
        ),
    }
}

/// A held lock; dropping it releases the lock.
#[derive(Debug)]
pub(crate) struct Lock {
    path: PathBuf,
    record: Vec<u8>,
}

impl Lock {
    /// Lock `dir` (created if missing) for this process, or fail at once naming the holder. A dead holder's lock
    /// is taken over, with a warning.
    pub(crate) fn acquire(dir: &Path) -> Result<Lock> {
        crate::atomic::create_dir_all(dir)?;
        let path = dir.join(LOCK_FILE);
        let record = serde_json::to_vec_pretty(&Holder::current())?;
        for _ in 0..100 {
            if create_exclusive(&path, &record)? {
                return Ok(Lock { path, record });
            }
            let Some((holder, seen)) = read_holder(&path)? else { continue };
            match holder.liveness() {
                Liveness::Dead(why) => {
                    tracing::warn!("taking over {} from {} ({why})", path.display(), holder.describe());
                    take_over(&path, &seen, &record)?;
                }
                liveness => return Err(Held { dir: dir.to_path_buf(), holder, liveness }.into()),
            }
        }
        bail!("cannot lock {}: other processes keep taking and releasing it; run again", dir.display())
    }

    /// Lock `dir`, waiting up to `timeout` while a live holder has it: for the cross-run stages, which parallel
    /// `reproduce` processes run one after another, each for seconds.
    pub(crate) fn wait_for(dir: &Path, timeout: Duration) -> Result<Lock> {
        let started = std::time::Instant::now();
        let mut told = false;
        loop {
            match Lock::acquire(dir) {
                Err(err) if started.elapsed() < timeout => {
                    let Some(held) = err.downcast_ref::<Held>() else { return Err(err) };
                    if !told {
                        tracing::info!("waiting for {} to release {}", held.holder.describe(), dir.display());
                        told = true;
                    }
                    crate::interrupt::check()?;
                    std::thread::sleep(Duration::from_millis(500));
                }
                result => return result,
            }
        }
    }

    /// Fail at once, naming the holder, when a live holder (or one on another host) has locked `dir`.
    pub(crate) fn check_free(dir: &Path) -> Result<()> {
        match holder(dir)? {
            Some((holder, _)) if holder.pid == std::process::id() && holder.host == host_name() => Ok(()),
            Some((holder, liveness)) if !matches!(liveness, Liveness::Dead(_)) => {
                Err(Held { dir: dir.to_path_buf(), holder, liveness }.into())
            }
            _ => Ok(()),
        }
    }
}

impl Drop for Lock {
    /// Release the lock if it is still ours (it cannot have been taken over while we live, but a person may have
    /// removed it by hand and another process taken it).
    fn drop(&mut self) {
        if std::fs::read(&self.path).ok().as_deref() == Some(self.record.as_slice()) {
            if let Err(err) = std::fs::remove_file(&self.path) {
                tracing::warn!("cannot release the lock {}: {err}", self.path.display());
            }
        }
    }
}

/// The holder of `dir`'s lock and whether it runs, or `None` when `dir` is not locked.
pub(crate) fn holder(dir: &Path) -> Result<Option<(Holder, Liveness)>> {
    Ok(read_holder(&dir.join(LOCK_FILE))?.map(|(holder, _)| {
        let liveness = holder.liveness();
        (holder, liveness)
    }))
}

/// The holder record at `path` and its bytes; `None` when there is no lock (any more).
fn read_holder(path: &Path) -> Result<Option<(Holder, Vec<u8>)>> {
    let bytes = match std::fs::read(path) {
        Ok(bytes) => bytes,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(err) => return Err(err).with_context(|| format!("cannot read the lock {}", path.display())),
    };
    let holder = serde_json::from_slice(&bytes).with_context(|| {
        format!(
            "{} is not a lock holder record; if no `reproduce` is running on {}, remove it and run again",
            path.display(),
            path.parent().unwrap_or(path).display()
        )
    })?;
    Ok(Some((holder, bytes)))
}

/// Remove the dead holder's lock `seen`, unless another process replaced it meanwhile. Only the process that
/// creates the takeover guard removes anything, so that no process removes a lock another has just taken over.
fn take_over(path: &Path, seen: &[u8], record: &[u8]) -> Result<()> {
    let mut guard = path.as_os_str().to_owned();
    guard.push(".takeover");
    let guard = PathBuf::from(guard);
    if !create_exclusive(&guard, record)? {
        let age = std::fs::metadata(&guard).and_then(|m| m.modified()).ok().and_then(|m| m.elapsed().ok());
        if age.is_some_and(|age| age > STALE_TAKEOVER) {
            remove_if_present(&guard)?;
        } else {
            std::thread::sleep(Duration::from_millis(50));
        }
        return Ok(());
    }
    let result = match std::fs::read(path) {
        Ok(now) if now == seen => remove_if_present(path),
        _ => Ok(()),
    };
    remove_if_present(&guard)?;
    result
}

fn remove_if_present(path: &Path) -> Result<()> {
    match std::fs::remove_file(path) {
        Err(err) if err.kind() != std::io::ErrorKind::NotFound => {
            Err(err).with_context(|| format!("cannot remove {}", path.display()))
        }
        _ => Ok(()),
    }
}

/// Create `path` holding `bytes`, whole, unless it exists: true when this call created it.
fn create_exclusive(path: &Path, bytes: &[u8]) -> Result<bool> {
    let tmp = crate::atomic::temp_path(path);
    let written = (|| -> std::io::Result<()> {
        let mut file = std::fs::File::create(&tmp)?;
        file.write_all(bytes)?;
        file.sync_all()
    })();
    written.with_context(|| format!("cannot write {}", tmp.display()))?;
    let created = match std::fs::hard_link(&tmp, path) {
        Ok(()) => Ok(true),
        Err(err) if matches!(err.kind(), std::io::ErrorKind::Unsupported | std::io::ErrorKind::PermissionDenied) => {
            create_new(path, bytes)
        }
        Err(err) => match std::fs::metadata(&tmp) {
            // A retried NFS request may report failure although the first succeeded: the link count tells.
            Ok(meta) if meta.nlink() == 2 => Ok(true),
            _ if err.kind() == std::io::ErrorKind::AlreadyExists => Ok(false),
            _ => Err(err).with_context(|| format!("cannot create the lock {}", path.display())),
        },
    };
    remove_if_present(&tmp)?;
    created
}

/// `O_EXCL` creation, for file systems without hard links.
fn create_new(path: &Path, bytes: &[u8]) -> Result<bool> {
    match std::fs::OpenOptions::new().write(true).create_new(true).open(path) {
        Ok(mut file) => {
            file.write_all(bytes)
                .and_then(|()| file.sync_all())
                .with_context(|| format!("cannot write {}", path.display()))?;
            Ok(true)
        }
        Err(err) if err.kind() == std::io::ErrorKind::AlreadyExists => Ok(false),
        Err(err) => Err(err).with_context(|| format!("cannot create {}", path.display())),
    }
}

/// This host's name, as `hostname` prints it.
pub(crate) fn host_name() -> String {
    rustix::system::uname().nodename().to_string_lossy().into_owned()
}

fn boot_id() -> Option<String> {
    std::fs::read_to_string("/proc/sys/kernel/random/boot_id").ok().map(|s| s.trim().to_owned())
}

/// Field 22 of `/proc/<pid>/stat`: when the process started, in clock ticks after boot.
fn process_start(pid: u32) -> Option<u64> {
    start_time_field(&std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?)
}

fn start_time_field(stat: &str) -> Option<u64> {
    // The command name (field 2) is parenthesised and may hold spaces and parentheses; the fields after it are plain.
    let after_name = &stat[stat.rfind(')')? + 1..];
    after_name.split_whitespace().nth(19)?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write_holder(dir: &Path, holder: &Holder) {
        std::fs::write(dir.join(LOCK_FILE), serde_json::to_vec_pretty(holder).unwrap()).unwrap();
    }

    /// A pid that no process has: a child that has exited and been reaped.
    fn dead_pid() -> u32 {
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let pid = child.id();
        child.wait().unwrap();
        pid
    }

    #[test]
    fn a_second_holder_is_refused_with_the_first_named_and_a_released_lock_is_free() {
        let dir = tempfile::tempdir().unwrap();
        let lock = Lock::acquire(dir.path()).unwrap();
        let err = Lock::acquire(dir.path()).unwrap_err();
        let message = format!("{err:#}");
        let pid = std::process::id();
        assert!(message.contains(&format!("pid {pid} on host {}", host_name())), "{message}");
        assert!(message.contains("in use"), "{message}");
        assert!(Lock::check_free(dir.path()).is_ok(), "a process does not conflict with itself");
        drop(lock);
        assert!(!dir.path().join(LOCK_FILE).exists(), "dropping the lock releases it");
        let names: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
        assert!(names.is_empty(), "no temporary or guard file is left: {names:?}");
        Lock::acquire(dir.path()).unwrap();
    }

    #[test]
    fn a_dead_holder_on_this_host_is_taken_over() {
        let dir = tempfile::tempdir().unwrap();
        let dead = Holder { pid: dead_pid(), ..Holder::current() };
        assert!(matches!(dead.liveness(), Liveness::Dead(_)));
        write_holder(dir.path(), &dead);
        let _lock = Lock::acquire(dir.path()).unwrap();
        let now: Holder = serde_json::from_slice(&std::fs::read(dir.path().join(LOCK_FILE)).unwrap()).unwrap();
        assert_eq!(now.pid, std::process::id());
        assert!(!dir.path().join("lock.json.takeover").exists());
    }

    #[test]
    fn a_reused_pid_or_a_reboot_does_not_keep_a_dead_holder_alive() {
        let me = Holder::current();
        assert_eq!(me.liveness(), Liveness::Alive);
        if me.process_start.is_some() {
            let reused = Holder { process_start: me.process_start.map(|t| t + 1), ..me.clone() };
            assert!(matches!(reused.liveness(), Liveness::Dead(why) if why.contains("reused")));
        }
        if me.boot_id.is_some() {
            let rebooted = Holder { boot_id: Some("another boot".to_owned()), ..me.clone() };
            assert!(matches!(rebooted.liveness(), Liveness::Dead(why) if why.contains("rebooted")));
        }
    }

    #[test]
    fn a_holder_on_another_host_is_never_taken_over() {
        let dir = tempfile::tempdir().unwrap();
        let remote = Holder { pid: dead_pid(), host: "gpu-node-7".to_owned(), ..Holder::current() };
        write_holder(dir.path(), &remote);
        let before = std::fs::read(dir.path().join(LOCK_FILE)).unwrap();
        let message = format!("{:#}", Lock::acquire(dir.path()).unwrap_err());
        assert!(message.contains("gpu-node-7"), "{message}");
        assert!(message.contains(&format!("remove {}", dir.path().join(LOCK_FILE).display())), "{message}");
        assert!(Lock::check_free(dir.path()).is_err());
        assert_eq!(std::fs::read(dir.path().join(LOCK_FILE)).unwrap(), before, "the lock is left alone");
    }

    #[test]
    fn an_earlier_incarnation_of_a_requeued_slurm_job_is_dead_on_any_host() {
        let job = |restart_count| SlurmJob { job_id: "46".to_owned(), name: "45_1".to_owned(), restart_count };
        let earlier = Holder { host: "gpu-node-7".to_owned(), slurm: Some(job(0)), ..Holder::current() };
        let requeued = Holder { slurm: Some(job(1)), ..Holder::current() };
        let liveness = earlier.liveness_seen_by(&requeued);
        assert!(matches!(&liveness, Liveness::Dead(why) if why.contains("requeued")), "{liveness:?}");
        let same = Holder { slurm: Some(job(0)), ..Holder::current() };
        assert_eq!(earlier.liveness_seen_by(&same), Liveness::Elsewhere);
    }

    #[test]
    fn an_unreadable_holder_record_is_named_and_left_alone() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(LOCK_FILE), b"{ half").unwrap();
        let message = format!("{:#}", Lock::acquire(dir.path()).unwrap_err());
        assert!(message.contains("not a lock holder record"), "{message}");
        assert_eq!(std::fs::read(dir.path().join(LOCK_FILE)).unwrap(), b"{ half");
    }

    #[test]
    fn the_start_time_is_field_22_even_after_a_name_with_spaces_and_parentheses() {
        let stat = "1234 (my (odd) name) S 1 1234 1234 0 -1 4194560 100 0 0 0 0 0 0 0 20 0 1 0 98765 1000 25\n";
        assert_eq!(start_time_field(stat), Some(98765));
        assert_eq!(start_time_field("1234 (truncated) S 1"), None);
    }
}
