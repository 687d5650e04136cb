//! The fault report that `scripts/test-faults.sh` prints, shared by `tests/input_faults.rs` and `tests/faults.rs`.

use std::io::Write;

/// Append one row to the fault report, when one is being gathered (`$B2C_FAULT_REPORT`): the test's name, the
/// fault, what happened and the outcome. Paths inside the tests' temporary directories are shortened to what
/// follows the directory, and what happened is cut to `max_chars`.
pub fn report(fault: &str, happened: &str, outcome: &str, max_chars: usize) {
    let Ok(path) = std::env::var("B2C_FAULT_REPORT") else { return };
    let test = std::thread::current().name().unwrap_or("?").to_owned();
    let temp = format!("{}/.tmp", std::env::temp_dir().display());
    let (mut short, mut rest) = (String::new(), happened);
    while let Some(at) = rest.find(&temp) {
        short.push_str(&rest[..at]);
        let after = &rest[at + temp.len()..];
        rest = after.find('/').map_or("", |slash| &after[slash + 1..]);
    }
    short.push_str(rest);
    let mut short = short.replace(['\t', '\n'], " ");
    if short.len() > max_chars {
        let cut = (0..=max_chars - 3).rev().find(|i| short.is_char_boundary(*i)).unwrap_or(0);
        short = format!("{}...", &short[..cut]);
    }
    let mut file = std::fs::OpenOptions::new().create(true).append(true).open(path).unwrap();
    writeln!(file, "{test}\t{fault}\t{short}\t{outcome}").unwrap();
}
