//! `blurry-to-clear report RUN_DIR`: `RUN_DIR/report.md`, what a run shows, with its uncertainty.
//!
//! It opens with what the run is (profile, data, device, seeds, and the commit the run was made at, from its
//! manifest), then the paper's findings (`paper/claims.toml`) judged on the run with their 95 % intervals
//! ([`crate::claims`]), under a heading that says what the run is ([`Subject`]): how many hold, are weaker,
//! inconclusive, not shown or reversed, and each finding's statistic on the run beside the same statistic on the
//! original's own numbers (`expected/paper/`), with where the finding stands in the original. Then the check of
//! every number against the profile's expected numbers ([`crate::verify`]), labelled for what it is: a comparison
//! with the original's numbers for the profiles that rerun the study, a regression check against an earlier run of
//! the same profile otherwise. Last, each finding in detail. A run of the original study is judged as a
//! reproduction, curve by curve ([`crate::verify::reproduction`]): the exact tolerances are shown for reference only.
//!
//! `RUN_DIR/report.html` beside it ([`html`]) is the same report with every figure of the run, in one
//! self-contained page.
mod html;

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use anyhow::Result;
use serde_json::Value;

use crate::claims::{self, Claim, ClaimOutcome, Claims, Evidence, GroupOutcome, Verdict};
use crate::results::ResultsDir;
use crate::verify::{
    self, counted, project_relative, Comparison, CurveVerdict, Reproduction, TableOutcome, Verification,
};

/// The deviations listed per table.
const WORST_LISTED: usize = 12;

/// The reviewer's page, beside `report.md`.
pub const HTML_FILE: &str = "report.html";

/// Write `run_dir/report.md` and `run_dir/report.html`, comparing with `expected_dir` (default
/// `expected/<profile>/`). Returns the Markdown report's path.
pub fn write_report(run_dir: &Path, expected_dir: Option<&Path>) -> Result<PathBuf> {
    let expected_dir = match expected_dir {
        Some(dir) => dir.to_path_buf(),
        None => verify::default_expected_dir(run_dir)?,
    };
    let verification = verify::verify(run_dir, &expected_dir)?;
    let claims = Claims::paper()?;
    let evidence = Evidence::read(&ResultsDir::new(run_dir), &claims)?;
    let original_dir = crate::provenance::project_path(crate::figures::PAPER_DIR)?;
    let original = Evidence::read(&ResultsDir::new(&original_dir), &claims)?;
    let run = RunInfo::read(run_dir)?;
    let text = render(&verification, &claims, &Judged { run: &evidence, original: &original }, &run)?;
    let path = run_dir.join("report.md");
    crate::atomic::write(&path, text.as_bytes())?;
    let page = html::page(&format!("Reproduction report: {}", run.profile), &text, &run_dir.join("figures"))?;
    crate::atomic::write(&run_dir.join(HTML_FILE), page.as_bytes())?;
    Ok(path)
}

/// What a run is, from its manifest (`manifest.json`, written by `reproduce`) and its tables.
#[derive(Clone, Debug, Default)]
pub(crate) struct RunInfo {
    pub profile: String,
    pub commit: Option<String>,
    pub device: Option<String>,
    pub seeds: Option<u64>,
    pub libtorch: Option<String>,
}

impl RunInfo {
    pub(crate) fn read(run_dir: &Path) -> Result<RunInfo> {
        let profile = ResultsDir::new(run_dir).profile()?.name;
        let manifest: Option<Value> =
            std::fs::read(run_dir.join("manifest.json")).ok().and_then(|bytes| serde_json::from_slice(&bytes).ok());
        let field = |name: &str| manifest.as_ref().and_then(|m| m.get(name)).cloned();
        let text = |name: &str| field(name).and_then(|v| v.as_str().map(str::to_owned));
        Ok(RunInfo {
            profile,
            commit: text("git_commit"),
            device: text("device"),
            seeds: field("seeds").and_then(|v| v.as_u64()),
            libtorch: text("libtorch_version"),
        })
    }
}

/// What the findings are judged on: the run, and the original's own numbers shown beside it.
pub(crate) struct Judged<'e> {
    pub run: &'e Evidence,
    pub original: &'e Evidence,
}

/// A finding judged on the run and on the original's own numbers.
struct Finding<'c> {
    claim: &'c Claim,
    run: ClaimOutcome,
    original: ClaimOutcome,
}

/// The report as Markdown.
pub(crate) fn render(verification: &Verification, claims: &Claims, judged: &Judged, run: &RunInfo) -> Result<String> {
    let mut out = String::new();
    let _ = writeln!(out, "# Reproduction report: {}\n", run.profile);
    run_section(&mut out, judged.run, run, verification);
    let findings: Vec<Finding> = claims
        .claim
        .iter()
        .map(|claim| {
            Ok(Finding { claim, run: claim.evaluate(judged.run)?, original: claim.evaluate(judged.original)? })
        })
        .collect::<Result<_>>()?;
    let subject = Subject::of(judged.run, verification);
    findings_summary(&mut out, &findings, subject);
    if let Some(reproduction) = &verification.reproduction {
        agreement_section(&mut out, reproduction, verification);
    } else {
        out.push_str(html::FIGURES_HERE);
    }
    let _ = writeln!(out, "\n## Every number against `{}`\n", project_relative(&verification.expected_dir));
    let original = verification.expected_dir.ends_with(crate::figures::PAPER_DIR);
    let what = if original {
        "the original's numbers (printed, hard-coded, logged or digitised from the notebooks); a tolerance states how \
         precisely each is known (printed precision, digitisation uncertainty), not run-to-run noise"
    } else {
        "the committed numbers of an earlier run of this profile: a regression check that the artifact still computes \
         what it computed, within tolerances sized for another machine's arithmetic, not a comparison with the paper"
    };
    let holding = verification.compared() - verification.failed();
    let _ = writeln!(
        out,
        "This compares every number of the run with {what}. **{} of {} numbers** within their tolerance.{}\n",
        counted(holding, "holds", "hold"),
        verification.compared(),
        if verification.reproduction.is_some() {
            " A reproduction is not expected to hold to them: its verdict is the agreement above."
        } else {
            ""
        }
    );
    let _ = writeln!(
        out,
        "Every expected row is accounted for: compared with the run that trains the model it was measured on \
         (`models.toml` beside the expected tables), superseded by a more trusted source of the same number, not \
         comparable (reasons below), or not in the run.\n"
    );
    let _ = writeln!(
        out,
        "| table | expected rows | compared | hold | fail | superseded | not comparable | not in run | run only | \
         numbers | mean abs difference | max abs difference |"
    );
    let _ = writeln!(out, "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    for t in &verification.tables {
        if !t.in_expected {
            let why = if t.in_run { "no expected numbers" } else { "neither side has it" };
            let _ = writeln!(out, "| {} | {why} | | | | | | | | | | |", t.schema.name);
            continue;
        }
        let (mean, max) = abs_differences(t.comparisons.iter());
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {mean:.4} | {max:.4} |",
            t.schema.name,
            t.expected_rows,
            t.rows_compared,
            t.rows_compared - t.rows_failed,
            t.rows_failed,
            t.superseded,
            t.not_comparable_rows(),
            t.missing,
            t.unmatched,
            t.comparisons.len()
        );
    }
    let not_comparable: Vec<&TableOutcome> =
        verification.tables.iter().filter(|t| !t.not_comparable.is_empty()).collect();
    if !not_comparable.is_empty() {
        let _ = writeln!(out, "\nNot comparable:\n");
        for t in not_comparable {
            for (reason, rows) in &t.not_comparable {
                let _ = writeln!(out, "- `{}`, {rows} rows: {reason}", t.schema.name);
            }
        }
    }
    for t in verification.tables.iter().filter(|t| !t.comparisons.is_empty()) {
        table_section(&mut out, t);
    }
    findings_detail(&mut out, &findings, subject);
    Ok(out)
}

fn run_section(out: &mut String, evidence: &Evidence, run: &RunInfo, verification: &Verification) {
    let unknown = || "unknown (no manifest.json)".to_owned();
    let data = match &evidence.profile {
        Some(p) if p.data == crate::protocol::DataSource::Synthetic => {
            "the embedded procedural stand-ins of the five datasets, not the real datasets"
        }
        Some(_) => "the real datasets",
        None => "unknown (the profile is not known to this artifact)",
    };
    let description = evidence.profile.as_ref().map_or(String::new(), |p| format!(": {}", p.description));
    let _ = writeln!(out, "- **Profile:** `{}`{description}", run.profile);
    let _ = writeln!(out, "- **Data:** {data}");
    let _ = writeln!(
        out,
        "- **Device:** {}; libtorch {}",
        run.device.clone().unwrap_or_else(unknown),
        run.libtorch.clone().unwrap_or_else(unknown)
    );
    let _ = writeln!(out, "- **Seeds:** {}", run.seeds.map_or_else(unknown, |s| s.to_string()));
    let _ = writeln!(out, "- **Made at commit:** `{}`", run.commit.clone().unwrap_or_else(unknown));
    let _ = writeln!(out, "- **Tables:** `{}`\n", project_relative(&ResultsDir::new(&verification.run_dir).tables_dir));
}

/// What a run's findings are, as the heading of its findings says: the stand-ins show what this pipeline measures, not
/// the paper; a run of the real study reproduces the paper's findings or not; the original's own numbers re-derive
/// them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Subject {
    /// A run on the embedded synthetic stand-ins (`mini`, `tiny`).
    StandIns,
    /// A run of the original study (`paper`, `paper-uniform`), judged as a reproduction.
    Reproduction,
    /// The original's own numbers (`expected/paper/` or a copy), compared with themselves.
    Original,
    /// Anything else: a run of the real data against expected numbers other than the original's.
    Other,
}

impl Subject {
    fn of(evidence: &Evidence, verification: &Verification) -> Subject {
        if evidence.profile.as_ref().is_some_and(|p| p.data == crate::protocol::DataSource::Synthetic) {
            Subject::StandIns
        } else if verification.reproduction.is_some() {
            Subject::Reproduction
        } else if verification.expected_dir.ends_with(crate::figures::PAPER_DIR) {
            Subject::Original
        } else {
            Subject::Other
        }
    }

    fn heading(self) -> &'static str {
        match self {
            Subject::StandIns => {
                "Findings on the stand-ins (synthetic data: what this pipeline shows, not a test of the paper)"
            }
            Subject::Reproduction => "Does this run reproduce the paper's findings?",
            Subject::Original => "The original's findings, re-derived from its own numbers",
            Subject::Other => "The paper's findings on this run",
        }
    }
}

/// The group's estimate and 95 % interval, e.g. `20.100 [17.900, 22.300]` (`-` where there is none).
fn estimate_text(group: Option<&GroupOutcome>) -> String {
    match group {
        Some(g) if g.estimate.is_finite() => {
            format!("{} [{}, {}]", number(g.estimate), number(g.interval.0), number(g.interval.1))
        }
        _ => "-".to_owned(),
    }
}

/// A group's verdict, marked where the original itself leaves the group undecided.
fn group_verdict(claim: &Claim, group: &GroupOutcome) -> String {
    let undecided = if claim.undecided.contains_key(&group.group) { " (undecided by the original)" } else { "" };
    format!("{}{undecided}", group.verdict.name())
}

/// The groups of a finding: the run's, then any only the original has, each with the run's and the original's.
fn groups<'f>(finding: &'f Finding) -> Vec<(&'f str, Option<&'f GroupOutcome>, Option<&'f GroupOutcome>)> {
    let find = |outcome: &'f ClaimOutcome, name: &str| outcome.groups.iter().find(|g| g.group == name);
    let run = finding.run.groups.iter().map(|g| (g.group.as_str(), Some(g), find(&finding.original, &g.group)));
    let only_original = finding.original.groups.iter().filter(|g| find(&finding.run, &g.group).is_none());
    run.chain(only_original.map(|g| (g.group.as_str(), None, Some(g)))).collect()
}

fn findings_summary(out: &mut String, findings: &[Finding], subject: Subject) {
    let count = |v: Verdict| findings.iter().filter(|f| f.run.verdict == v).count();
    let tally: Vec<String> = Verdict::ALL.iter().map(|&v| v.counted(count(v))).collect();
    let (last, rest) = tally.split_last().expect("there are verdicts");
    let _ = writeln!(out, "## {}\n", subject.heading());
    let _ = writeln!(
        out,
        "**Of {} findings, {} and {last}.** Each verdict separates the direction of an effect from its size. A finding \
         *holds* when the 95 % interval of its statistic lies wholly in the original's direction and beyond the \
         claim's margin; it is *weaker* when the interval lies in that direction but wholly short of the margin, \
         *inconclusive* when the interval contains the margin (the claimed size and a smaller effect both fit it), \
         *not shown* when the interval includes no effect and does not reach the margin, and *reversed* when it lies \
         wholly in the opposite direction. A finding that bounds its statistic (at most, within, a peak in a range) \
         holds when the interval lies inside the bound, is reversed when it lies wholly outside and is not shown when \
         it crosses the bound. A finding over several datasets takes its least favourable dataset's verdict (a \
         dataset with no data leaves it at no data, unless another dataset is already reversed); a dataset the \
         original itself leaves undecided is shown, marked, and does not count. Intervals come from a \
         bootstrap: test images resampled (paired across regimes) for accuracies, the spread across a layer's \
         filters for receptive-field and spatial-frequency means (`src/claims.rs`).\n",
        findings.len(),
        rest.join(", ")
    );
    if subject == Subject::Original {
        let _ = writeln!(
            out,
            "These are the original's own numbers: on them every finding should hold, each of its datasets holding or \
             marked as left undecided by the original (`tests/figures.rs` checks it on `{}/`).\n",
            crate::figures::PAPER_DIR
        );
        let _ = writeln!(out, "| finding | in the original | group | estimate [95 % interval] | verdict |");
        let _ = writeln!(out, "|---|---|---|---|---|");
    } else {
        let _ = writeln!(
            out,
            "*Original* is the same statistic on the original's own numbers (`{}/`), judged the same way; *this run* \
             is the run's.\n",
            crate::figures::PAPER_DIR
        );
        let _ = writeln!(out, "| finding | in the original | group | original [95 %] | this run [95 %] | verdict |");
        let _ = writeln!(out, "|---|---|---|---|---|---|");
    }
    for finding in findings {
        let claim = finding.claim;
        for (i, (group, run, original)) in groups(finding).into_iter().enumerate() {
            let (name, whereabouts) = match i {
                0 => (format!("`{}`: **{}**", claim.id, finding.run.verdict.name()), claim.original.as_str()),
                _ => (String::new(), ""),
            };
            let verdict = run.map_or_else(|| Verdict::NoData.name().to_owned(), |g| group_verdict(claim, g));
            let original =
                if subject == Subject::Original { String::new() } else { format!(" {} |", estimate_text(original)) };
            let _ =
                writeln!(out, "| {name} | {whereabouts} | {group} |{original} {} | {verdict} |", estimate_text(run));
        }
        if finding.run.groups.is_empty() && finding.original.groups.is_empty() {
            let blank = if subject == Subject::Original { "" } else { " - |" };
            let _ = writeln!(
                out,
                "| `{}`: **{}** | {} | - |{blank} - | no data |",
                claim.id,
                finding.run.verdict.name(),
                claim.original
            );
        }
    }
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

fn number(x: f64) -> String {
    if x.is_finite() {
        format!("{x:.3}")
    } else {
        "-".to_owned()
    }
}

fn findings_detail(out: &mut String, findings: &[Finding], subject: Subject) {
    let _ = writeln!(out, "\n## The findings in detail\n");
    let beside = subject != Subject::Original;
    for finding in findings {
        let (claim, outcome) = (finding.claim, &finding.run);
        let _ = writeln!(out, "### {}: {}\n\n{}\n", claim.id, outcome.verdict.name(), claim.finding);
        let _ = writeln!(out, "In the original: {}\n", claim.original);
        for (group, why) in &claim.undecided {
            let _ = writeln!(out, "Undecided by the original, and not counted in the verdict: {group}, {why}.\n");
        }
        let _ = writeln!(
            out,
            "Test: {} on `{}.{}`, with 95 % intervals.\n",
            claim.relation_text(),
            claim.table,
            claim.value
        );
        if let Some(note) = &outcome.note {
            let _ = writeln!(out, "No data: {note}.\n");
        }
        if outcome.groups.is_empty() {
            continue;
        }
        let peak = claim.relation == claims::Relation::PeakWithin;
        let statistic = if peak { "peak at" } else { "lhs - rhs" };
        let original = if beside { " original [95 %] |" } else { "" };
        let _ = writeln!(out, "| group | lhs | rhs | {statistic} | 95 % interval |{original} seeds (sd) | verdict |");
        let _ = writeln!(out, "|---|---:|---:|---:|---|{}---|---|", if beside { "---|" } else { "" });
        for (name, run, original) in groups(finding) {
            let Some(g) = run else { continue };
            let seeds = match g.seed_sd {
                Some(sd) => format!("{} ({})", g.seeds, number(sd)),
                None => g.seeds.to_string(),
            };
            let original = if beside { format!(" {} |", estimate_text(original)) } else { String::new() };
            let _ = writeln!(
                out,
                "| {name} | {} | {} | {} | [{}, {}] |{original} {seeds} | {} |",
                g.lhs.map_or_else(|| "-".into(), number),
                g.rhs.map_or_else(|| "-".into(), number),
                number(g.estimate),
                number(g.interval.0),
                number(g.interval.1),
                group_verdict(claim, g)
            );
        }
        let _ = writeln!(out);
    }
}

/// The reproduction's verdicts: per table, per figure, and per curve (differing and inconclusive ones first).
fn agreement_section(out: &mut String, reproduction: &Reproduction, verification: &Verification) {
    let differing = reproduction.differing().count();
    let _ = writeln!(out, "\n## Does this run reproduce the original's numbers?\n");
    let _ = writeln!(
        out,
        "**{} of {} curves.** Each curve (one model's numbers along test sigma or epoch) is judged whole against the \
         original's, with an allowance for test sampling on both sides, seed-to-seed variation (declared with its \
         evidence in `{}/agreement.toml`, or the run's own seeds) and digitisation; {} curves are tested at a \
         family-wise error rate of {}. A curve *differs* when the shift of one of its windows (every prefix and \
         suffix along the curve) is beyond the threshold, *agrees* when it does not and the 95 % interval of its \
         mean shift lies within the equivalence margin, and is *inconclusive* otherwise (`src/verify/agreement.rs`).\n",
        counted(differing, "differs", "differ"),
        reproduction.curves.len(),
        project_relative(&verification.expected_dir),
        reproduction.tested,
        reproduction.alpha
    );
    let _ = writeln!(out, "| table | curves | agree | differ | inconclusive |");
    let _ = writeln!(out, "|---|---:|---:|---:|---:|");
    for t in &verification.tables {
        let tally = reproduction.tally(t.schema.name);
        let total: usize = tally.values().sum();
        if total > 0 {
            let count = |v: &str| tally.get(v).copied().unwrap_or(0);
            let _ = writeln!(
                out,
                "| {} | {total} | {} | {} | {} |",
                t.schema.name,
                count("agrees"),
                count("differs"),
                count("inconclusive")
            );
        }
    }
    let _ = writeln!(out, "\n| figure | verdict | curves | agree | differ | inconclusive |");
    let _ = writeln!(out, "|---|---|---:|---:|---:|---:|");
    for f in &reproduction.figures {
        let _ = writeln!(
            out,
            "| `{}` | {} | {} | {} | {} | {} |",
            f.id,
            f.verdict(),
            f.curves,
            f.agrees,
            f.differs,
            f.inconclusive
        );
    }
    out.push_str(html::FIGURES_HERE);
    let _ = writeln!(out, "\n### Every curve\n");
    let _ = writeln!(
        out,
        "Run minus original. Mean shift: the generalised-least-squares constant difference and its 95 % interval; \
         score: the largest standardised window shift over its threshold (above 1: differs).\n"
    );
    let _ =
        writeln!(out, "| curve | points | seeds | mean shift [95 %] | largest difference | score | margin | verdict |");
    let _ = writeln!(out, "|---|---:|---:|---|---|---:|---:|---|");
    let mut curves: Vec<_> = reproduction.curves.iter().collect();
    let rank = |v: &CurveVerdict| match v {
        CurveVerdict::Differs => 0,
        CurveVerdict::Inconclusive(why) if !why.starts_with("seed-to-seed") => 1,
        CurveVerdict::Agrees => 2,
        CurveVerdict::Inconclusive(_) => 3,
    };
    curves.sort_by_key(|c| rank(&c.verdict));
    for c in curves {
        let shift = c.test.as_ref().map_or("-".to_owned(), |t| {
            let (lo, hi) = t.shift_interval();
            format!("{:+.3} [{lo:+.3}, {hi:+.3}]", t.shift)
        });
        let largest = c.largest().map_or("-".to_owned(), |p| {
            let at = c.along.as_ref().map_or(String::new(), |a| format!(" at {a} {}", p.x));
            format!("{:+.3}{at}", p.difference())
        });
        let score = c.test.as_ref().map_or("-".to_owned(), |t| format!("{:.2}", t.score()));
        let verdict = match &c.verdict {
            CurveVerdict::Inconclusive(why) if why.starts_with("seed-to-seed") => {
                "inconclusive (seed variation unknown)".to_owned()
            }
            v => v.name().to_owned(),
        };
        let _ = writeln!(
            out,
            "| `{}` | {} | {} | {shift} | {largest} | {score} | {} | {verdict} |",
            c.name(),
            c.points.len(),
            c.seeds,
            c.margin
        );
    }
    let mut unknown: BTreeMap<&str, usize> = BTreeMap::new();
    for c in &reproduction.curves {
        if let CurveVerdict::Inconclusive(why) = &c.verdict {
            if why.starts_with("seed-to-seed") {
                *unknown.entry(why.as_str()).or_default() += 1;
            }
        }
    }
    if !unknown.is_empty() {
        let _ = writeln!(out, "\nWhy curves are inconclusive for want of a known seed variation:\n");
        for (why, n) in unknown {
            let _ = writeln!(out, "- {}: {why}", counted(n, "curve", "curves"));
        }
    }
    if !reproduction.not_judged.is_empty() {
        let _ = writeln!(out, "\nNumbers compared but not judged as a reproduction:\n");
        for ((table, why), n) in &reproduction.not_judged {
            let _ = writeln!(out, "- `{table}`, {}: {why}", counted(*n, "number", "numbers"));
        }
    }
}

/// Replace the SHA-256 the run's `manifest.json` records for `file` (in any stage's outputs) with its current one: a
/// run's manifest lists the report's SHA-256, so a report rewritten by the `report` command updates it there.
pub fn update_manifest_hash(run_dir: &Path, file: &Path) -> Result<()> {
    let manifest_path = run_dir.join("manifest.json");
    let Ok(bytes) = std::fs::read(&manifest_path) else { return Ok(()) };
    let mut manifest: Value = serde_json::from_slice(&bytes).map_err(|e| {
        anyhow::anyhow!("{} is not valid JSON ({e}); rerun `reproduce` to rewrite it", manifest_path.display())
    })?;
    let name = file.strip_prefix(run_dir).unwrap_or(file).display().to_string();
    let sha = crate::provenance::sha256_file(file)?;
    let stages = manifest.get_mut("stages").and_then(Value::as_array_mut);
    for outputs in stages.into_iter().flatten().filter_map(|s| s.get_mut("outputs").and_then(Value::as_object_mut)) {
        if let Some(recorded) = outputs.get_mut(&name) {
            *recorded = Value::from(sha.clone());
        }
    }
    crate::stage::write_if_changed(&manifest_path, &serde_json::to_vec_pretty(&manifest)?)?;
    Ok(())
}
