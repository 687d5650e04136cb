//! `blurry-to-clear report RUN_DIR`: `RUN_DIR/report.md`, the run read against the original.
//!
//! Per table: how many numbers hold within the tolerances of `expected/<profile>/` ([`crate::verify`]), the
//! differences per dataset and regime, and the largest deviations. Then each finding of `paper/claims.toml`
//! evaluated on the run, with its verdict and the numbers behind it.
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use anyhow::Result;

use crate::claims::{Claims, Verdict};
use crate::verify::{self, Comparison, TableOutcome, Verification};

/// The deviations listed per table.
const WORST_LISTED: usize = 12;

/// Write `run_dir/report.md`, comparing with `expected_dir` (default `expected/<profile>/`). Returns its path.
pub fn write_report(run_dir: &Path, expected_dir: Option<&Path>) -> Result<PathBuf> {
    let expected_dir = match expected_dir {
        Some(dir) => dir.to_path_buf(),
        None => verify::default_expected_dir(run_dir)?,
    };
    let verification = verify::verify(run_dir, &expected_dir)?;
    let claims = Claims::paper()?;
    let text = render(&verification, &claims, &verify::run_profile(run_dir)?)?;
    let path = run_dir.join("report.md");
    crate::atomic::write(&path, text.as_bytes())?;
    Ok(path)
}

/// The report as Markdown.
pub fn render(verification: &Verification, claims: &Claims, profile: &str) -> Result<String> {
    let mut out = String::new();
    let _ = writeln!(out, "# Reproduction report: {profile}\n");
    let _ = writeln!(
        out,
        "Run `{}` against `{}` (tolerances from its `{}`), at commit `{}`.\n",
        verification.run_dir.display(),
        verification.expected_dir.display(),
        verify::TOLERANCES_FILE,
        crate::provenance::git_commit()
    );
    let _ = writeln!(
        out,
        "**{} of {} numbers hold** within the tolerance of the expected value. Tolerances state how precisely the \
         expected numbers are known (printed precision, or digitisation uncertainty), not run-to-run noise.\n",
        verification.compared() - verification.failed(),
        verification.compared()
    );
    let _ = writeln!(out, "## Tables\n");
    let _ = writeln!(
        out,
        "| table | compared | hold | fail | mean abs difference | max abs difference | run only | not in run |"
    );
    let _ = writeln!(out, "|---|---:|---:|---:|---:|---:|---:|---:|");
    for t in &verification.tables {
        if !t.in_run || !t.in_expected {
            let why = if t.in_run { "no expected numbers" } else { "not produced by the run" };
            let _ = writeln!(out, "| {} | {why} | | | | | | |", t.schema.name);
            continue;
        }
        let (mean, max) = abs_differences(t.comparisons.iter());
        let failed = t.failures().count();
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {mean:.4} | {max:.4} | {} | {} |",
            t.schema.name,
            t.comparisons.len(),
            t.comparisons.len() - failed,
            failed,
            t.unmatched,
            t.missing
        );
    }
    for t in verification.tables.iter().filter(|t| !t.comparisons.is_empty()) {
        table_section(&mut out, t);
    }
    claims_section(&mut out, verification, claims)?;
    Ok(out)
}

fn abs_differences<'a>(comparisons: impl Iterator<Item = &'a Comparison>) -> (f64, f64) {
    let (n, sum, max) = comparisons.fold((0usize, 0.0, 0.0f64), |(n, s, m), c| {
        let d = c.difference().abs();
        (n + 1, s + d, m.max(d))
    });
    (if n == 0 { 0.0 } else { sum / n as f64 }, max)
}

fn table_section(out: &mut String, t: &TableOutcome) {
    let _ = writeln!(out, "\n### {}\n", t.schema.name);
    // Group by the first two key columns (dataset and regime, or dataset and epoch) and the value column.
    let key_names: Vec<&str> = t.schema.keys().map(|c| c.name).collect();
    let group_by = key_names.len().min(2);
    let mut groups: BTreeMap<(Vec<String>, &str), Vec<&Comparison>> = BTreeMap::new();
    for c in &t.comparisons {
        groups.entry((c.key[..group_by].to_vec(), c.column)).or_default().push(c);
    }
    let _ = writeln!(
        out,
        "| {} | value | n | hold | mean difference | max abs difference | verdict |",
        key_names[..group_by].join(" | ")
    );
    let _ = writeln!(out, "|{}---|---:|---:|---:|---:|---|", "---|".repeat(group_by));
    for ((key, column), comparisons) in &groups {
        let holds = comparisons.iter().filter(|c| c.holds()).count();
        let mean = comparisons.iter().map(|c| c.difference()).sum::<f64>() / comparisons.len() as f64;
        let (_, max) = abs_differences(comparisons.iter().copied());
        let verdict = if holds == comparisons.len() { "holds" } else { "fails" };
        let _ = writeln!(
            out,
            "| {} | {column} | {} | {holds} | {mean:+.4} | {max:.4} | {verdict} |",
            key.join(" | "),
            comparisons.len()
        );
    }
    let mut worst: Vec<&Comparison> = t.comparisons.iter().filter(|c| !c.holds()).collect();
    worst.sort_by(|a, b| {
        (b.difference().abs() / b.tolerance.max(1e-12)).total_cmp(&(a.difference().abs() / a.tolerance.max(1e-12)))
    });
    if !worst.is_empty() {
        let _ = writeln!(out, "\nLargest deviations (of {} outside tolerance):\n", worst.len());
        let _ = writeln!(out, "| row | run | expected | difference | tolerance | expected source |");
        let _ = writeln!(out, "|---|---:|---:|---:|---:|---|");
        for c in worst.iter().take(WORST_LISTED) {
            let _ = writeln!(
                out,
                "| {} | {:.4} | {:.4} | {:+.4} | {} | {} |",
                c.describe(t.schema),
                c.run,
                c.expected,
                c.difference(),
                c.tolerance,
                c.expected_kind.name()
            );
        }
    }
}

fn number(x: Option<f64>) -> String {
    x.map_or_else(|| "-".to_string(), |x| format!("{x:.3}"))
}

fn claims_section(out: &mut String, verification: &Verification, claims: &Claims) -> Result<()> {
    let dir = verify::tables_dir(&verification.run_dir);
    let _ = writeln!(out, "\n## Findings of the paper\n");
    let _ = writeln!(out, "Each finding of `paper/claims.toml`, evaluated on this run.\n");
    let mut tally = BTreeMap::new();
    for claim in &claims.claim {
        let outcome = claim.evaluate(&dir)?;
        *tally.entry(outcome.verdict.name()).or_insert(0) += 1;
        let mark = match outcome.verdict {
            Verdict::Holds => "holds",
            Verdict::Fails => "FAILS",
            Verdict::NoData => "no data",
        };
        let _ = writeln!(out, "### {} ({mark})\n\n{}\n", claim.id, claim.finding);
        let _ = writeln!(out, "Test: {} on `{}.{}`.\n", claim.relation_text(), claim.table, claim.value);
        if outcome.groups.is_empty() {
            continue;
        }
        let _ = writeln!(out, "| group | lhs | rhs / peak at | difference | verdict |");
        let _ = writeln!(out, "|---|---:|---:|---:|---|");
        for g in &outcome.groups {
            let rhs = if g.peak_at.is_some() { g.peak_at } else { g.rhs };
            let diff = match (g.lhs, g.rhs) {
                (Some(l), Some(r)) => format!("{:+.3}", l - r),
                _ => "-".into(),
            };
            let _ = writeln!(
                out,
                "| {} | {} | {} | {diff} | {} |",
                g.group,
                number(g.lhs),
                number(rhs),
                if g.holds { "holds" } else { "fails" }
            );
        }
        let _ = writeln!(out);
    }
    let summary: Vec<String> = tally.iter().map(|(k, v)| format!("{v} {k}")).collect();
    let _ = writeln!(out, "Findings: {}.", summary.join(", "));
    Ok(())
}

/// The `report` command.
pub fn run(run_dir: &Path, against: Option<&Path>) -> Result<()> {
    let path = write_report(run_dir, against)?;
    println!("wrote {}", path.display());
    Ok(())
}
