//! Robustness figures: accuracy against test blur, at the end of training and at each stage, and the
//! blurry-to-clear / clear ratio (robustness_results.ipynb and robustness_across_stages.ipynb).
use std::collections::BTreeMap;

use super::canvas::{Figure, Mark, Panel, Point, RefLine, Series};
use super::style::{Dash, Style};
use crate::results::{AccuracyByStage, AccuracyRatioByStage, AccuracyVsBlur};
use crate::stats::Z95;
use crate::verify::reproduction::CurveOutcome;
use crate::vocab::{DatasetId, Regime};

/// Clear accuracy (%) per (dataset, epoch, seed, test sigma bits), for judging ratios against chance.
type ClearAccuracy = BTreeMap<(DatasetId, u32, u64, u64), f64>;

fn clear_accuracy(rows: &[AccuracyByStage]) -> ClearAccuracy {
    rows.iter()
        .filter(|r| r.run.regime == Regime::Clear)
        .map(|r| ((r.run.dataset, r.epoch, r.run.seed, r.test_sigma.to_bits()), r.accuracy_pct))
        .collect()
}

/// Samples (x, y) grouped by panel key, then by series key.
pub(super) type Grouped<P, S> = BTreeMap<P, BTreeMap<S, Vec<(f64, f64)>>>;

pub(super) fn push<P: Ord, S: Ord>(groups: &mut Grouped<P, S>, panel: P, series: S, x: f64, y: f64) {
    groups.entry(panel).or_default().entry(series).or_default().push((x, y));
}

/// One series per regime, in the style's order, with the regime's colour and line style.
pub(super) fn regime_series(style: &Style, samples: &BTreeMap<Regime, Vec<(f64, f64)>>, mark: Mark) -> Vec<Series> {
    style
        .regimes
        .iter()
        .filter_map(|r| samples.get(&r.id).map(|s| Series::from_samples(&r.label, r.colour, r.dash, mark, s)))
        .collect()
}

/// One series per dataset, in the style's order, with the dataset's colour.
pub(super) fn dataset_series(style: &Style, samples: &BTreeMap<DatasetId, Vec<(f64, f64)>>, mark: Mark) -> Vec<Series> {
    style
        .datasets
        .iter()
        .filter_map(|d| samples.get(&d.id).map(|s| Series::from_samples(&d.title, d.colour, Dash::Solid, mark, s)))
        .collect()
}

fn chance_line(style: &Style, dataset: DatasetId) -> RefLine {
    RefLine::new(style, style.chance_pct(dataset), &style.chance_label)
}

fn sigma_line(style: &Style) -> RefLine {
    RefLine::new(style, style.sigma_marker, &style.sigma_marker_label())
}

fn ratio_one_line(style: &Style) -> RefLine {
    RefLine::new(style, 1.0, &style.ratio_one_label)
}

/// Ratio samples per dataset, split by whether the clear accuracy they divide by is far enough above chance to
/// make the ratio an effect.
#[derive(Default)]
struct RatioSamples {
    effects: BTreeMap<DatasetId, Vec<(f64, f64)>>,
    near_chance: BTreeMap<DatasetId, Vec<(f64, f64)>>,
}

impl RatioSamples {
    /// Add the ratio `(x, ratio)` of `dataset`, whose clear accuracy was `clear_pct` (unknown: drawn as an effect).
    fn push(&mut self, style: &Style, dataset: DatasetId, x: f64, ratio: f64, clear_pct: Option<f64>) {
        let at_chance = clear_pct.is_some_and(|c| c - style.chance_pct(dataset) <= style.near_chance_margin);
        let side = if at_chance { &mut self.near_chance } else { &mut self.effects };
        side.entry(dataset).or_default().push((x, ratio));
    }

    fn is_empty(&self) -> bool {
        self.effects.is_empty() && self.near_chance.is_empty()
    }

    /// One line per dataset through its effects, then open circles in the dataset's colour for its near-chance
    /// ratios, each named in the legend.
    fn series(&self, style: &Style) -> Vec<Series> {
        let mut series = dataset_series(style, &self.effects, Mark::LineDots);
        for d in style.datasets.iter() {
            if let Some(samples) = self.near_chance.get(&d.id) {
                let label = style.near_chance_label(&d.title);
                series.push(Series::from_samples(&label, d.colour, Dash::Solid, Mark::Rings, samples));
            }
        }
        series
    }
}

const ACCURACY: &str = "test accuracy (%)";
const SIGMA: &str = "test blur σ (px at 224 px)";

/// The 95 % intervals of accuracies, where a run recorded them: per (panel, regime, sigma), the widest over seeds.
type Intervals<P> = BTreeMap<(P, Regime, u64), (f64, f64)>;

fn push_interval<P: Ord>(intervals: &mut Intervals<P>, key: (P, Regime, f64), interval: (Option<f64>, Option<f64>)) {
    if let (Some(lo), Some(hi)) = interval {
        let entry = intervals.entry((key.0, key.1, key.2.to_bits())).or_insert((lo, hi));
        *entry = (entry.0.min(lo), entry.1.max(hi));
    }
}

/// Draw each point's interval (and the spread over seeds it already holds) as its series' band.
fn with_intervals<P: Ord + Copy>(
    mut series: Vec<Series>,
    panel: P,
    intervals: &Intervals<P>,
    style: &Style,
) -> Vec<Series> {
    for s in &mut series {
        let Some(regime) = style.regimes.iter().find(|r| r.label == s.label).map(|r| r.id) else { continue };
        for p in &mut s.points {
            if let Some(&(lo, hi)) = intervals.get(&(panel, regime, p.x.to_bits())) {
                (p.lo, p.hi) = (p.lo.min(lo), p.hi.max(hi));
            }
        }
    }
    series
}

/// Main robustness figure (robustness_results cell 20): accuracy of the final models against test sigma 0-32, one
/// panel per dataset, one line per regime, chance and sigma-8 lines; a band shows each accuracy's 95 % interval
/// (Wilson, over the test images; with several seeds, the widest) where the run recorded it.
pub fn accuracy_vs_blur(rows: &[AccuracyVsBlur], style: &Style) -> Figure {
    let mut groups: Grouped<DatasetId, Regime> = BTreeMap::new();
    let mut intervals: Intervals<DatasetId> = BTreeMap::new();
    for r in rows {
        push(&mut groups, r.run.dataset, r.run.regime, r.test_sigma, r.accuracy_pct);
        push_interval(&mut intervals, (r.run.dataset, r.run.regime, r.test_sigma), (r.ci_low_pct, r.ci_high_pct));
    }
    let x_max = rows.iter().map(|r| r.test_sigma).fold(0.0, f64::max).max(1.0);
    let panels = style
        .datasets
        .iter()
        .filter_map(|d| groups.get(&d.id).map(|g| (d, g)))
        .map(|(d, samples)| {
            let mut panel = Panel::new(&d.title, SIGMA, ACCURACY, (0.0, x_max));
            panel.y_range = Some((0.0, 100.0));
            panel.series = with_intervals(regime_series(style, samples, Mark::Line), d.id, &intervals, style);
            panel.hlines.push(chance_line(style, d.id));
            panel.vlines.push(sigma_line(style));
            panel
        })
        .collect();
    let mut figure = Figure::new("accuracy_vs_blur", 5, panels, 1.0);
    figure.band_label.clone_from(&style.interval_label);
    figure
}

/// The robustness figure of a run of the original study with its difference panels: under the accuracy panels (one
/// row, one per dataset), one row per regime of the run's accuracy minus the original's against test sigma, with the
/// reproduction allowance of each point (`+-1.96` times its `allowance_sd`, from the covariance `verify` judged the
/// curve with) as a band around the zero line. `curves` are `verify`'s judged curves; those of other tables or of a
/// variant are ignored, and a dataset and regime without a tested curve gets a panel that names it as missing, so
/// that the columns stay the datasets'. The stage figure gets none: its 25 panels leave no room for 75 more (verify
/// judges its curves).
pub fn with_differences(mut figure: Figure, curves: &[CurveOutcome], style: &Style) -> Figure {
    let curve = |dataset: DatasetId, regime: Regime| {
        curves.iter().find(|c| {
            let cell = |name: &str| c.label.iter().find(|(n, _)| *n == name).map(|(_, v)| v.as_str());
            c.table == "accuracy_vs_blur"
                && c.variant.is_none()
                && cell("dataset") == Some(dataset.name())
                && cell("regime") == Some(regime.name())
                && c.points.iter().all(|p| p.allowance_sd.is_some())
        })
    };
    let datasets: Vec<(DatasetId, (f64, f64))> = figure
        .panels
        .iter()
        .filter_map(|p| style.datasets.iter().find(|d| d.title == p.title).map(|d| (d.id, p.x_range)))
        .collect();
    let d = &style.difference;
    let mut rows = Vec::new();
    for r in style.regimes.iter().filter(|r| datasets.iter().any(|&(ds, _)| curve(ds, r.id).is_some())) {
        for &(dataset, x_range) in &datasets {
            let title = format!("{}, {}", style.dataset(dataset).title, r.label);
            let mut panel = Panel::new(&title, SIGMA, &d.y_label, x_range);
            if let Some(c) = curve(dataset, r.id) {
                let sd = |p: &crate::verify::reproduction::CurvePoint| Z95 * p.allowance_sd.unwrap_or(0.0);
                let band = c.points.iter().map(|p| Point { x: p.x, y: 0.0, lo: -sd(p), hi: sd(p) }).collect();
                let mut allowance = Series::from_samples(&d.band_label, d.band_colour, Dash::Solid, Mark::Region, &[]);
                allowance.points = band;
                let differences: Vec<(f64, f64)> = c.points.iter().map(|p| (p.x, p.difference())).collect();
                panel.series =
                    vec![allowance, Series::from_samples(&r.label, r.colour, r.dash, Mark::Line, &differences)];
            } else {
                panel.series.push(Series::missing(&title, r.colour, NOT_COMPARED));
            }
            panel.hlines.push(RefLine::new(style, 0.0, &d.zero_label));
            rows.push(panel);
        }
    }
    if rows.is_empty() {
        return figure;
    }
    let union = rows.iter().filter_map(Panel::data_y).reduce(|a, b| (a.0.min(b.0), a.1.max(b.1)));
    let range = union.map(super::canvas::padded_y);
    rows.iter_mut().for_each(|p| p.y_range = range);
    figure.columns = datasets.len();
    figure.panels.extend(rows);
    figure.note = format!(
        "Lower rows: the run's accuracy minus the original's, per regime; {}: ±{Z95:.2} sd of each point's \
         difference in a faithful reproduction (test sampling of both sides, seed-to-seed variation, digitisation), \
         from the covariance verify judges the whole curve with.",
        d.band_label
    );
    figure
}

/// Why a difference panel has no curve: `verify` compared none (it says why, e.g. the original's model has no
/// counterpart in the run).
const NOT_COMPARED: &str = "no curve compared with the original (verify says why)";

/// Stage figures (robustness_across_stages cells 22-33): one row per dataset, one column per stage epoch,
/// accuracy against test sigma 0-8, one line per regime, with the accuracies' intervals as bands.
pub fn accuracy_by_stage(rows: &[AccuracyByStage], style: &Style) -> Figure {
    let mut groups: Grouped<(DatasetId, u32), Regime> = BTreeMap::new();
    let mut intervals: Intervals<(DatasetId, u32)> = BTreeMap::new();
    for r in rows {
        let panel = (r.run.dataset, r.epoch);
        push(&mut groups, panel, r.run.regime, r.test_sigma, r.accuracy_pct);
        push_interval(&mut intervals, (panel, r.run.regime, r.test_sigma), (r.ci_low_pct, r.ci_high_pct));
    }
    let epochs: Vec<u32> = distinct(rows.iter().map(|r| r.epoch));
    let x_max = rows.iter().map(|r| r.test_sigma).fold(0.0, f64::max).max(1.0);
    let mut panels = Vec::new();
    let mut row_titles = Vec::new();
    for d in &style.datasets {
        if !groups.keys().any(|(ds, _)| *ds == d.id) {
            continue;
        }
        row_titles.push(d.title.clone());
        for &epoch in &epochs {
            let mut panel = Panel::new(&format!("{}, epoch {epoch}", d.title), SIGMA, ACCURACY, (0.0, x_max));
            panel.y_range = Some((0.0, 100.0));
            if let Some(samples) = groups.get(&(d.id, epoch)) {
                let series = regime_series(style, samples, Mark::LineDots);
                panel.series = with_intervals(series, (d.id, epoch), &intervals, style);
            }
            panel.hlines.push(chance_line(style, d.id));
            panels.push(panel);
        }
    }
    let mut figure = Figure::new("accuracy_by_stage", epochs.len().max(1), panels, 0.75);
    figure.band_label.clone_from(&style.interval_label);
    figure.column_titles = epochs.iter().map(|e| format!("epoch {e}")).collect();
    figure.row_titles = row_titles;
    figure
}

/// Cell 35: blurry-to-clear accuracy over clear accuracy against test sigma, one panel per stage epoch, one line
/// per dataset. Computed per seed from the stage table; ratios over a near-chance clear accuracy are open circles.
pub fn ratio_by_stage_vs_sigma(rows: &[AccuracyByStage], style: &Style) -> Figure {
    let clear = clear_accuracy(rows);
    let mut by_epoch: BTreeMap<u32, RatioSamples> = BTreeMap::new();
    for r in rows.iter().filter(|r| r.run.regime == Regime::BlurryToClear) {
        if let Some(&c) = clear.get(&(r.run.dataset, r.epoch, r.run.seed, r.test_sigma.to_bits())).filter(|c| **c > 0.0)
        {
            let samples = by_epoch.entry(r.epoch).or_default();
            samples.push(style, r.run.dataset, r.test_sigma, r.accuracy_pct / c, Some(c));
        }
    }
    let x_max = rows.iter().map(|r| r.test_sigma).fold(0.0, f64::max).max(1.0);
    let panels = by_epoch
        .iter()
        .map(|(epoch, samples)| {
            let mut panel = Panel::new(&format!("epoch {epoch}"), SIGMA, RATIO, (0.0, x_max));
            panel.series = samples.series(style);
            panel.hlines.push(ratio_one_line(style));
            panel
        })
        .collect();
    let mut figure = Figure::new("ratio_by_stage_vs_sigma", 5, panels, 1.0);
    figure.share_y();
    figure
}

const RATIO: &str = "blurry-to-clear / clear accuracy";

/// Cell 37: the ratio at the sigma marker (8) against training minibatches, one line per dataset; ratios whose
/// clear accuracy (from the stage table, where present) is near chance are open circles.
pub fn ratio_at_sigma8_vs_minibatch(
    rows: &[AccuracyRatioByStage],
    stages: &[AccuracyByStage],
    style: &Style,
) -> Figure {
    let clear = clear_accuracy(stages);
    let mut samples = RatioSamples::default();
    for r in rows.iter().filter(|r| r.test_sigma == style.sigma_marker) {
        let clear_pct = clear.get(&(r.dataset, r.epoch, r.seed, r.test_sigma.to_bits())).copied();
        samples.push(style, r.dataset, r.minibatch, r.ratio_b2c_over_clear, clear_pct);
    }
    let x_max = rows.iter().map(|r| r.minibatch).fold(0.0, f64::max).max(1.0);
    let mut panel =
        Panel::new(&format!("test σ = {} px", style.sigma_marker), "training minibatches", RATIO, (0.0, x_max * 1.03));
    panel.series = samples.series(style);
    panel.hlines.push(ratio_one_line(style));
    let panels = if samples.is_empty() { Vec::new() } else { vec![panel] };
    Figure::new("ratio_at_sigma8_vs_minibatch", 1, panels, 0.6)
}

/// The distinct values of `items`, sorted.
pub(super) fn distinct<T: Ord + Copy>(items: impl Iterator<Item = T>) -> Vec<T> {
    let mut v: Vec<T> = items.collect();
    v.sort();
    v.dedup();
    v
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::results::RunKey;

    #[test]
    fn an_accuracys_interval_is_drawn_as_its_band() {
        let style = super::super::style::Catalogue::load().unwrap().style;
        let row = |regime, sigma, acc, ci: Option<(f64, f64)>| AccuracyVsBlur {
            run: RunKey { profile: "mini".into(), seed: 0, dataset: DatasetId::Faces, regime },
            test_sigma: sigma,
            accuracy_pct: acc,
            images: ci.map(|_| 1000),
            ci_low_pct: ci.map(|c| c.0),
            ci_high_pct: ci.map(|c| c.1),
            source: "s".into(),
        };
        let rows = [
            row(Regime::Clear, 0.0, 80.0, Some((77.4, 82.4))),
            row(Regime::Clear, 8.0, 30.0, Some((27.2, 32.9))),
            row(Regime::Blurry, 0.0, 50.0, None),
        ];
        let figure = accuracy_vs_blur(&rows, &style);
        let series = &figure.panels[0].series;
        let clear = series.iter().find(|s| s.label == style.regime(Regime::Clear).label).unwrap();
        assert_eq!((clear.points[0].lo, clear.points[0].hi), (77.4, 82.4));
        assert_eq!((clear.points[1].lo, clear.points[1].hi), (27.2, 32.9));
        let blurry = series.iter().find(|s| s.label == style.regime(Regime::Blurry).label).unwrap();
        assert_eq!((blurry.points[0].lo, blurry.points[0].hi), (50.0, 50.0), "no interval, no band");
    }
}
