//! Where a result came from: the git commit of the code that made it.
use std::path::Path;
use std::process::Command;

/// The commit of this crate's checkout (with `-dirty` when it has uncommitted changes), or `unknown` outside git.
pub fn git_commit() -> String {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let run =
        |args: &[&str]| Command::new("git").arg("-C").arg(root).args(args).output().ok().filter(|o| o.status.success());
    let Some(head) = run(&["rev-parse", "HEAD"]) else { return "unknown".to_owned() };
    let commit = String::from_utf8_lossy(&head.stdout).trim().to_owned();
    let dirty = run(&["status", "--porcelain", "--untracked-files=no"]).is_some_and(|o| !o.stdout.is_empty());
    if dirty {
        format!("{commit}-dirty")
    } else {
        commit
    }
}
