//! Receptive-field figures (receptive_fields.ipynb): conv1 moment size through training, size against peak
//! spatial frequency, Gabor sigma through training, and the effective receptive field radius.
use std::collections::BTreeMap;

use super::accuracy::{dataset_series, distinct, push, regime_series, Grouped};
use super::canvas::{Figure, Mark, Panel, Series};
use super::style::Style;
use crate::results::{Erf, RfSize, SpatialFrequency};
use crate::vocab::{DatasetId, ErfInput, ErfStatistic, Layer, Regime, RfMeasure, SfStatistic};

/// One panel per dataset (in the style's order) with one series per regime.
pub(super) fn dataset_panels(
    style: &Style,
    groups: &Grouped<DatasetId, Regime>,
    mark: Mark,
    labels: (&str, &str),
    x_range: Option<(f64, f64)>,
) -> Vec<Panel> {
    style
        .datasets
        .iter()
        .filter_map(|d| groups.get(&d.id).map(|g| (d, g)))
        .map(|(d, samples)| {
            let series = regime_series(style, samples, mark);
            let x_range = x_range.unwrap_or_else(|| padded(series.iter().flat_map(|s| s.points.iter().map(|p| p.x))));
            let mut panel = Panel::new(&d.title, labels.0, labels.1, x_range);
            panel.series = series;
            panel
        })
        .collect()
}

/// The range of `xs` with 8 % margin on each side.
pub(super) fn padded(xs: impl Iterator<Item = f64>) -> (f64, f64) {
    let (lo, hi) = xs.fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), x| (lo.min(x), hi.max(x)));
    if !lo.is_finite() {
        return (0.0, 1.0);
    }
    let pad = ((hi - lo) * 0.08).max(0.05);
    (lo - pad, hi + pad)
}

/// The x range of an epoch axis: from 0 to the profile's last epoch (or the data's, if later or when the profile is
/// unknown), with a 3 % margin so that the last points are not cut by the frame.
pub(super) fn epoch_range(style: &Style, epochs: &[u32]) -> (f64, f64) {
    let last = style.last_epoch.into_iter().chain(epochs.iter().copied()).max().unwrap_or(1).max(1);
    (0.0, f64::from(last) * 1.03)
}

/// Cell 94, the main RF-size figure: conv1 moment size against epoch, one panel per dataset, one line per regime.
pub fn rf_size_vs_epoch(rows: &[RfSize], style: &Style) -> Figure {
    let mut groups: Grouped<DatasetId, Regime> = BTreeMap::new();
    let selected: Vec<&RfSize> =
        rows.iter().filter(|r| r.measure == RfMeasure::MomentSizeMean && r.layer == Layer::CONV1).collect();
    for r in &selected {
        if let Some(epoch) = r.epoch {
            push(&mut groups, r.run.dataset, r.run.regime, f64::from(epoch), r.value);
        }
    }
    let epochs = distinct(selected.iter().filter_map(|r| r.epoch));
    let labels = ("epoch", "conv1 moment size (kernel px)");
    let panels = dataset_panels(style, &groups, Mark::LineDots, labels, Some(epoch_range(style, &epochs)));
    let mut figure = Figure::new("rf_size_vs_epoch", 5, panels, 1.0);
    figure.share_y();
    figure.band_label.clone_from(&style.seed_range_label);
    figure
}

/// Value of `statistic`/`measure` per (dataset, regime, epoch, seed, layer), for joining two tables.
type Joined = BTreeMap<(DatasetId, Regime, u32, u64, Layer), f64>;

fn moment_sizes(rows: &[RfSize]) -> Joined {
    rows.iter()
        .filter(|r| r.measure == RfMeasure::MomentSizeMean)
        .filter_map(|r| r.epoch.map(|e| ((r.run.dataset, r.run.regime, e, r.run.seed, r.layer), r.value)))
        .collect()
}

fn peak_sfs(rows: &[SpatialFrequency]) -> Joined {
    rows.iter()
        .filter(|r| r.statistic == SfStatistic::MeanPeakSf)
        .map(|r| ((r.run.dataset, r.run.regime, r.epoch, r.run.seed, r.layer), r.value))
        .collect()
}

const SIZE_LABEL: &str = "moment size (kernel px)";
pub(super) const SF_LABEL: &str = "mean peak SF (cycles/image)";

/// Cell 96: conv1 moment size (x) against conv1 mean peak spatial frequency (y), one dot per checkpoint.
pub fn rf_size_vs_peak_sf_conv1(rf: &[RfSize], sf: &[SpatialFrequency], style: &Style) -> Figure {
    let sizes = moment_sizes(rf);
    let mut groups: Grouped<DatasetId, Regime> = BTreeMap::new();
    for (key, &y) in peak_sfs(sf).iter().filter(|(k, _)| k.4 == Layer::CONV1) {
        if let Some(&x) = sizes.get(key) {
            push(&mut groups, key.0, key.1, x, y);
        }
    }
    let labels = (format!("conv1 {SIZE_LABEL}"), format!("conv1 {SF_LABEL}"));
    let panels = dataset_panels(style, &groups, Mark::Dots, (&labels.0, &labels.1), None);
    let mut figure = Figure::new("rf_size_vs_peak_sf_conv1", 5, panels, 1.0);
    figure.share_x();
    figure.share_y();
    figure
}

/// Cell 97: per-layer moment size (x) against per-layer mean peak spatial frequency (y) at the last epoch: per
/// regime a thin line through the layers in order, and each layer's own marker (named once in the legend, in black,
/// whatever the regime's colour), so that coinciding layers of two regimes need no text labels.
pub fn rf_size_vs_peak_sf_layers(rf: &[RfSize], sf: &[SpatialFrequency], style: &Style) -> Figure {
    let sizes = moment_sizes(rf);
    let sfs = peak_sfs(sf);
    let last_epoch = sfs.keys().filter(|k| sizes.contains_key(*k)).map(|k| k.2).max();
    let mut panels = Vec::new();
    for d in &style.datasets {
        let mut panel = Panel::new(&d.title, SIZE_LABEL, SF_LABEL, (0.0, 1.0));
        let mut all_markers: Vec<(usize, Series)> = Vec::new();
        for r in &style.regimes {
            let mut path: Vec<(f64, f64)> = Vec::new();
            let mut markers = Vec::new();
            for layer in &style.layers {
                let per_seed: Vec<(f64, f64)> = sfs
                    .iter()
                    .filter(|(k, _)| k.0 == d.id && k.1 == r.id && Some(k.2) == last_epoch && k.4 == layer.id)
                    .filter_map(|(k, &y)| sizes.get(k).map(|&x| (x, y)))
                    .collect();
                if per_seed.is_empty() {
                    continue;
                }
                let n = per_seed.len() as f64;
                let mean = per_seed.iter().fold((0.0, 0.0), |(a, b), (x, y)| (a + x / n, b + y / n));
                path.push(mean);
                let mut series = Series::from_samples(&layer.label, r.colour, r.dash, Mark::Dots, &[mean]);
                series.marker = layer.marker;
                series.legend_colour = Some(super::style::Colour(0, 0, 0));
                let order = style.layers.iter().position(|l| l.id == layer.id).unwrap_or(0);
                markers.push((order, series));
            }
            if path.is_empty() {
                continue;
            }
            // The path keeps the layers' order (not sorted by x): it is one series of per-layer points.
            let mut line = Series::from_samples(&r.label, r.colour, r.dash, Mark::Line, &[]);
            line.points = path.iter().map(|&(x, y)| super::canvas::Point::exact(x, y)).collect();
            panel.series.push(line);
            all_markers.extend(markers);
        }
        // Regimes' lines first, then the markers layer by layer: the legend names regimes, then conv1 to conv5.
        all_markers.sort_by_key(|(layer, _)| *layer);
        panel.series.extend(all_markers.into_iter().map(|(_, s)| s));
        if !panel.series.is_empty() {
            panel.x_range = padded(panel.series.iter().flat_map(|s| s.points.iter().map(|p| p.x)));
            panels.push(panel);
        }
    }
    let mut figure = Figure::new("rf_size_vs_peak_sf_layers", 5, panels, 1.0);
    figure.share_x();
    figure.share_y();
    if let Some(epoch) = last_epoch {
        figure.note =
            format!("Epoch {epoch}; markers: layers, joined from conv1 to conv5; colours and lines: regimes.");
    }
    figure
}

/// Cell 18: mean Gabor σx of valid conv1 fits against epoch, blurry-to-clear models, one line per dataset. A
/// dataset whose blurry-to-clear conv1 was analysed (it has rf_size rows) but has no valid fit at any epoch is
/// named in the legend as having none.
pub fn gabor_sigma_vs_epoch(rows: &[RfSize], style: &Style) -> Figure {
    let mut samples: BTreeMap<DatasetId, Vec<(f64, f64)>> = BTreeMap::new();
    let b2c_conv1 = || rows.iter().filter(|r| r.run.regime == Regime::BlurryToClear && r.layer == Layer::CONV1);
    let selected: Vec<&RfSize> = b2c_conv1().filter(|r| r.measure == RfMeasure::GaborSigmaXMeanValid).collect();
    for r in &selected {
        if let Some(epoch) = r.epoch {
            samples.entry(r.run.dataset).or_default().push((f64::from(epoch), r.value));
        }
    }
    let epochs = distinct(selected.iter().filter_map(|r| r.epoch));
    let x_range = epoch_range(style, &epochs);
    let mut panel =
        Panel::new("blurry-to-clear conv1, fits with R² ≥ 0.4", "epoch", "mean Gabor σₓ (kernel px)", x_range);
    panel.series = dataset_series(style, &samples, Mark::LineDots);
    for d in &style.datasets {
        if !samples.contains_key(&d.id) && b2c_conv1().any(|r| r.run.dataset == d.id) {
            panel.series.push(Series::missing(&d.title, d.colour, &style.no_fit_label));
        }
    }
    let panels = if panel.series.is_empty() { Vec::new() } else { vec![panel] };
    Figure::new("gabor_sigma_vs_epoch", 1, panels, 0.7)
}

/// The ERF statistic drawn through training (src/analysis/erf.rs): radius holding half the gradient mass as a
/// fraction of the image side (drawn in pixels of the 224-px protocol, whatever the run's resolution), conv5, test
/// images.
pub const ERF_STATISTIC: ErfStatistic = ErfStatistic::R50Frac;
pub const ERF_INPUT: ErfInput = ErfInput::Images;

/// ERF radius (50 % mass) of conv5 for test images against epoch, one panel per dataset, one line per regime.
pub fn erf_radius_vs_epoch(rows: &[Erf], style: &Style) -> Figure {
    let mut groups: Grouped<DatasetId, Regime> = BTreeMap::new();
    let selected: Vec<&Erf> = rows
        .iter()
        .filter(|r| r.statistic == ERF_STATISTIC && r.layer == Layer::CONV5 && r.input == ERF_INPUT)
        .collect();
    let protocol_px = crate::analysis::spatial_frequency::PAPER_RESOLUTION as f64;
    for r in &selected {
        push(&mut groups, r.run.dataset, r.run.regime, f64::from(r.epoch), r.value * protocol_px);
    }
    let epochs = distinct(selected.iter().map(|r| r.epoch));
    let labels = ("epoch", "conv5 ERF radius, 50 % mass (px of 224)");
    let panels = dataset_panels(style, &groups, Mark::LineDots, labels, Some(epoch_range(style, &epochs)));
    let mut figure = Figure::new("erf_radius_vs_epoch", 5, panels, 1.0);
    figure.share_y();
    figure.band_label.clone_from(&style.seed_range_label);
    figure
}
