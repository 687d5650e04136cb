// The stages of `reproduce`, declared once: name, order, inputs, entry points and sources. Data only, so that
// `build.rs` can `include!` it to hash each stage's sources; `crate::stage` uses it for everything else. Keep it free
// of `use` items and of anything but `core`.

/// A stage of `reproduce`. The first three run once per run (dataset, regime, seed), the last two once per profile.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Stage {
    /// Train one run, checkpointing as it goes; writes its training log.
    Train,
    /// Evaluate one run's checkpoints on the test split across test blur.
    Evaluate,
    /// Analyse one run's checkpoints: receptive fields, Gabor fits, effective receptive fields, spatial frequency.
    Analyse,
    /// Gather every run's rows into the profile's results tables (and each variant's into its own).
    Gather,
    /// Draw the profile's figures and write its report.
    Figures,
}

impl Stage {
    /// Every stage, in the order `reproduce` runs them.
    pub const ALL: [Stage; 5] = [Stage::Train, Stage::Evaluate, Stage::Analyse, Stage::Gather, Stage::Figures];

    /// The stages of one run, in order, recorded in the run's `stages/`.
    pub const OF_RUN: [Stage; 3] = [Stage::Train, Stage::Evaluate, Stage::Analyse];

    /// Its name: of its record (`stages/<name>.json`), in the manifest and in the code hashes (`B2C_CODE_<NAME>`).
    pub const fn name(self) -> &'static str {
        match self {
            Stage::Train => "train",
            Stage::Evaluate => "evaluate",
            Stage::Analyse => "analyse",
            Stage::Gather => "gather",
            Stage::Figures => "figures",
        }
    }

    /// The stages whose outputs it reads: a stage reruns when they change.
    pub const fn inputs(self) -> &'static [Stage] {
        match self {
            Stage::Train => &[],
            Stage::Evaluate | Stage::Analyse => &[Stage::Train],
            Stage::Gather => &[Stage::Train, Stage::Evaluate, Stage::Analyse],
            Stage::Figures => &[Stage::Gather],
        }
    }

    /// The files holding the code it runs, from which its sources are reached (`tests/stage_sources.rs`).
    pub const fn entry(self) -> &'static [&'static str] {
        match self {
            Stage::Train => &["src/train.rs"],
            Stage::Evaluate => &["src/evaluate.rs"],
            Stage::Analyse => &["src/analysis/mod.rs"],
            Stage::Gather => &["src/results/mod.rs"],
            Stage::Figures => &["src/figures/mod.rs", "src/report.rs"],
        }
    }

    /// The sources whose text decides its outputs (files, or directories taken whole): their hash is part of the
    /// stage's key, so that editing, say, `src/analysis/gabor.rs` reruns the analyses and not the training. They
    /// cover every module its entry points reach, except the [`BOOKKEEPING`] ones; `tests/stage_sources.rs` fails
    /// when one is missing.
    pub const fn sources(self) -> &'static [&'static str] {
        match self {
            Stage::Train => &[
                "pixels/src",
                "src/augment",
                "src/blur.rs",
                "src/data",
                "src/draws.rs",
                "src/evaluate.rs",
                "src/model.rs",
                "src/optim.rs",
                "src/protocol.rs",
                "src/results",
                "src/schedule.rs",
                "src/seeds.rs",
                "src/stats.rs",
                "src/train.rs",
                "src/vocab.rs",
            ],
            Stage::Evaluate => &[
                "pixels/src",
                "src/augment",
                "src/blur.rs",
                "src/data",
                "src/draws.rs",
                "src/evaluate.rs",
                "src/model.rs",
                "src/protocol.rs",
                "src/results",
                "src/schedule.rs",
                "src/seeds.rs",
                "src/stats.rs",
                "src/vocab.rs",
            ],
            Stage::Analyse => &[
                "pixels/src",
                "src/analysis",
                "src/augment",
                "src/data",
                "src/draws.rs",
                "src/model.rs",
                "src/protocol.rs",
                "src/results",
                "src/schedule.rs",
                "src/seeds.rs",
                "src/vocab.rs",
            ],
            Stage::Gather => &[
                "src/draws.rs",
                "src/model.rs",
                "src/protocol.rs",
                "src/results",
                "src/schedule.rs",
                "src/seeds.rs",
                "src/vocab.rs",
            ],
            Stage::Figures => &[
                "assets",
                "paper/claims.toml",
                "paper/figures.toml",
                "pixels/src",
                "src/analysis",
                "src/augment",
                "src/claims.rs",
                "src/data",
                "src/draws.rs",
                "src/figures",
                "src/model.rs",
                "src/protocol.rs",
                "src/report",
                "src/report.rs",
                "src/results",
                "src/schedule.rs",
                "src/seeds.rs",
                "src/stats.rs",
                "src/verify",
                "src/verify.rs",
                "src/vocab.rs",
            ],
        }
    }
}

/// Modules a stage's code reaches that decide none of its outputs, and so are no stage's sources: how files are
/// written, hashed and locked, where a run's files lie, how stages are recorded, signals and the device's name.
/// A change to them reruns nothing.
pub const BOOKKEEPING: [&str; 8] = [
    "src/atomic.rs",
    "src/device.rs",
    "src/interrupt.rs",
    "src/lock.rs",
    "src/provenance.rs",
    "src/run_dir.rs",
    "src/stage",
    "src/logging.rs",
];
