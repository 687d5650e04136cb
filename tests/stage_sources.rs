//! A stage's sources are what its code reaches: every module that a stage's entry points reach, through the modules
//! they name, must be among the stage's declared sources (`src/stage/graph.rs`) or be bookkeeping
//! ([`BOOKKEEPING`]), so that a change to it reruns the stage. Reach is read from the code: `crate::` and `super::`
//! paths, child modules named by their own paths, the `pixels` crate and `include_str!`/`include_bytes!` files; comments
//! and string literals are left out, and bookkeeping modules are not followed further.
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use blurry_to_clear::stage::{Stage, BOOKKEEPING};

fn project() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// `text` with comments removed and string and character literals emptied, so that what is left is code.
fn code_of(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    let starts = |i: usize, s: &str| s.chars().enumerate().all(|(k, c)| chars.get(i + k) == Some(&c));
    while i < chars.len() {
        let c = chars[i];
        let after_word = i > 0 && (chars[i - 1].is_alphanumeric() || chars[i - 1] == '_');
        if starts(i, "//") {
            while i < chars.len() && chars[i] != '\n' {
                i += 1;
            }
        } else if starts(i, "/*") {
            let mut depth = 0;
            loop {
                if starts(i, "/*") {
                    depth += 1;
                    i += 2;
                } else if starts(i, "*/") {
                    depth -= 1;
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else if i >= chars.len() {
                    break;
                } else {
                    i += 1;
                }
            }
        } else if c == 'r' && !after_word && (chars.get(i + 1) == Some(&'"') || chars.get(i + 1) == Some(&'#')) {
            let hashes = chars[i + 1..].iter().take_while(|c| **c == '#').count();
            if chars.get(i + 1 + hashes) != Some(&'"') {
                out.push(c);
                i += 1;
                continue;
            }
            let close: String = std::iter::once('"').chain(std::iter::repeat_n('#', hashes)).collect();
            i += 2 + hashes;
            while i < chars.len() && !starts(i, &close) {
                i += 1;
            }
            i += close.len();
            out.push_str("\"\"");
        } else if c == '"' {
            i += 1;
            while i < chars.len() && chars[i] != '"' {
                i += if chars[i] == '\\' { 2 } else { 1 };
            }
            i += 1;
            out.push_str("\"\"");
        } else if c == '\'' && (chars.get(i + 2) == Some(&'\'') || chars.get(i + 1) == Some(&'\\')) {
            // A character literal ('x', '\n', '\u{..}'); a lifetime has no closing quote.
            i += 1;
            while i < chars.len() && chars[i] != '\'' {
                i += if chars[i] == '\\' { 2 } else { 1 };
            }
            i += 1;
            out.push_str("' '");
        } else {
            out.push(c);
            i += 1;
        }
    }
    out
}

/// The module path of a source file of the crate: `src/analysis/gabor.rs` -> `[analysis, gabor]`.
fn module_of(file: &str) -> Vec<String> {
    let path = file.strip_prefix("src/").unwrap_or(file).strip_suffix(".rs").unwrap_or(file);
    let mut segments: Vec<String> = path.split('/').map(str::to_owned).collect();
    if matches!(segments.last().map(String::as_str), Some("mod" | "lib" | "main")) {
        segments.pop();
    }
    segments
}

/// The file of the deepest existing module along `segments` (the rest are items in it).
fn file_of(segments: &[String]) -> Option<String> {
    (1..=segments.len()).rev().find_map(|k| {
        let base = format!("src/{}", segments[..k].join("/"));
        [format!("{base}.rs"), format!("{base}/mod.rs")].into_iter().find(|f| project().join(f).is_file())
    })
}

/// `a::b::{c, d::e}` as its paths `[a, b, c]` and `[a, b, d, e]` (one level of braces, as the crate writes them).
fn paths_of(tree: &str) -> Vec<Vec<String>> {
    fn split(path: &str) -> impl Iterator<Item = String> + '_ {
        path.split("::").map(str::trim).filter(|s| !s.is_empty() && *s != "self").map(str::to_owned)
    }
    match tree.split_once('{') {
        Some((prefix, rest)) => {
            let prefix: Vec<String> = split(prefix).collect();
            rest.trim_end_matches('}')
                .split(',')
                .map(|item| prefix.iter().cloned().chain(split(item.split(" as ").next().unwrap_or(item))).collect())
                .collect()
        }
        None => vec![split(tree).collect()],
    }
}

/// Files `file` names: the modules of its `crate::`, `super::` and child-module paths, the `pixels` crate, and the
/// files it includes.
fn reached_from(file: &str) -> BTreeSet<String> {
    let text = std::fs::read_to_string(project().join(file)).unwrap();
    let mut reached = BTreeSet::new();
    for macro_name in ["include_str!(\"", "include_bytes!(\""] {
        for part in text.split(macro_name).skip(1) {
            let relative = part.split('"').next().unwrap_or_default();
            let included = Path::new(file).parent().unwrap_or(Path::new("")).join(relative);
            let mut normal = PathBuf::new();
            for component in included.components() {
                match component {
                    std::path::Component::ParentDir => _ = normal.pop(),
                    other => normal.push(other),
                }
            }
            reached.insert(normal.display().to_string());
        }
    }
    let code = code_of(&text);
    let module = module_of(file);
    // Where a path starts: not inside another path or word.
    let starts_path = |at: usize| !code[..at].ends_with(|c: char| c.is_alphanumeric() || c == '_' || c == ':');
    // The path (or brace group of paths) at the start of `rest`, below the module `base`.
    let mut path_at = |base: &[String], rest: &str| {
        let tree = match rest.find(['{', ';', '(', '<', ' ', ',', '}', ')', '!', '\n', '.', '=', '>', '&', '[']) {
            Some(at) if rest[at..].starts_with('{') => &rest[..rest[at..].find('}').map_or(rest.len(), |e| at + e + 1)],
            Some(at) => &rest[..at],
            None => rest,
        };
        for path in paths_of(tree) {
            if let Some(found) = file_of(&base.iter().cloned().chain(path).collect::<Vec<_>>()) {
                reached.insert(found);
            }
        }
    };
    for (at, _) in code.match_indices("crate::").filter(|(at, _)| starts_path(*at)) {
        path_at(&[], &code[at + "crate::".len()..]);
    }
    for (at, _) in code.match_indices("super::").filter(|(at, _)| starts_path(*at)) {
        let (mut ups, mut rest) = (0, &code[at..]);
        while let Some(after) = rest.strip_prefix("super::") {
            (ups, rest) = (ups + 1, after);
        }
        path_at(&module[..module.len().saturating_sub(ups)], rest);
    }
    let children: Vec<String> = code
        .lines()
        .filter_map(|line| {
            let line = line.trim();
            let line = ["pub(crate) ", "pub(super) ", "pub "].iter().fold(line, |l, p| l.strip_prefix(p).unwrap_or(l));
            line.strip_prefix("mod ")?.strip_suffix(';').map(str::to_owned)
        })
        .collect();
    for child in children {
        let named = format!("{child}::");
        if code.match_indices(&named).any(|(at, _)| starts_path(at) || code[..at].ends_with("self::")) {
            if let Some(found) = file_of(&module.iter().cloned().chain([child]).collect::<Vec<_>>()) {
                reached.insert(found);
            }
        }
    }
    if code.match_indices("pixels::").any(|(at, _)| starts_path(at)) {
        reached.insert("pixels/src".to_owned());
    }
    reached.remove(file);
    reached
}

/// Whether `file` lies in one of `places` (files, or directories taken whole).
fn covered(file: &str, places: &[&str]) -> bool {
    places.iter().any(|place| file == *place || file.starts_with(&format!("{place}/")))
}

/// Every file `stage`'s entry points reach, each with the file it was first reached from; bookkeeping modules are
/// reached but not followed.
fn reach(stage: Stage) -> BTreeMap<String, String> {
    let mut reached: BTreeMap<String, String> = BTreeMap::new();
    let mut todo: Vec<(String, String)> = stage.entry().iter().map(|e| (e.to_string(), "entry".to_owned())).collect();
    while let Some((file, from)) = todo.pop() {
        if reached.contains_key(&file) {
            continue;
        }
        reached.insert(file.clone(), from);
        if file.starts_with("src/") && file.ends_with(".rs") && !covered(&file, &BOOKKEEPING) {
            todo.extend(reached_from(&file).into_iter().map(|next| (next, file.clone())));
        }
    }
    reached
}

/// The modules a stage reaches that are neither its sources nor bookkeeping, as `file (named by from)`.
fn missing_sources(stage: Stage, sources: &[&str]) -> Vec<String> {
    reach(stage)
        .into_iter()
        .filter(|(file, _)| !covered(file, sources) && !covered(file, &BOOKKEEPING))
        .map(|(file, from)| format!("{file} (named by {from})"))
        .collect()
}

#[test]
fn every_module_a_stage_reaches_is_among_its_sources() {
    let missing: Vec<String> = Stage::ALL
        .into_iter()
        .map(|stage| (stage, missing_sources(stage, stage.sources())))
        .filter(|(_, missing)| !missing.is_empty())
        .map(|(stage, missing)| format!("the {stage} stage reaches {}", missing.join(", ")))
        .collect();
    assert!(
        missing.is_empty(),
        "{}; its sources in src/stage/graph.rs do not cover them: add each to Stage::sources (or, if it decides no \
         output of any stage, to BOOKKEEPING), so that a change to it reruns the stage",
        missing.join("; ")
    );
}

#[test]
fn every_declared_source_exists_and_no_stage_claims_more_than_it_reaches() {
    for stage in Stage::ALL {
        let reached = reach(stage);
        for source in stage.sources() {
            assert!(project().join(source).exists(), "the {stage} stage's source {source} does not exist");
            assert!(
                reached.keys().any(|file| covered(file, &[source])),
                "the {stage} stage declares {source} as a source, but nothing of its code reaches it: remove it, so \
                 that a change to it does not rerun the stage"
            );
        }
    }
}

/// The check itself: training calls `evaluate::scores` for its validation accuracy, so without `src/evaluate.rs`
/// among its sources the check names it, and where it was reached from.
#[test]
fn a_source_left_out_is_named_with_the_module_that_reaches_it() {
    let without: Vec<&str> = Stage::Train.sources().iter().copied().filter(|s| *s != "src/evaluate.rs").collect();
    assert_eq!(missing_sources(Stage::Train, &without), ["src/evaluate.rs (named by src/train.rs)"]);
    let without: Vec<&str> = Stage::Analyse.sources().iter().copied().filter(|s| *s != "src/data").collect();
    let missing = missing_sources(Stage::Analyse, &without);
    assert!(missing.iter().any(|m| m.starts_with("src/data/mod.rs (named by src/analysis/")), "{missing:?}");
}

#[test]
fn the_reader_sees_paths_and_not_comments_or_strings() {
    let code = code_of("use crate::a; // crate::b\nlet s = \"crate::c\"; /* crate::d */ let r = r#\"crate::e\"#; 'x'");
    assert_eq!(code.matches("crate::").count(), 1, "{code}");
    assert_eq!(paths_of("a::{b, c::d as e}"), [vec!["a", "b"], vec!["a", "c", "d"]]);
    assert_eq!(module_of("src/analysis/mod.rs"), ["analysis"]);
}
