//! Spatial-frequency figures (spatial_frequency.ipynb): mean peak spatial frequency through training, per layer,
//! and the conv5 peak-frequency histograms.
use std::collections::BTreeMap;

use super::accuracy::{dataset_series, distinct, push, Grouped};
use super::canvas::{Figure, Mark, Panel, RefLine, Series};
use super::receptive_fields::{dataset_panels, epoch_range, SF_LABEL};
use super::style::{Dash, Style};
use crate::results::SpatialFrequency;
use crate::vocab::{DatasetId, Layer, Regime, SfStatistic, HIGH_FREQUENCY_THRESHOLD, SF_HISTOGRAM};

fn mean_peak_sf(rows: &[SpatialFrequency], style: &Style, layer: Layer, id: &str) -> Figure {
    let mut groups: Grouped<DatasetId, Regime> = BTreeMap::new();
    let selected: Vec<&SpatialFrequency> =
        rows.iter().filter(|r| r.statistic == SfStatistic::MeanPeakSf && r.layer == layer).collect();
    for r in &selected {
        push(&mut groups, r.run.dataset, r.run.regime, f64::from(r.epoch), r.value);
    }
    let epochs = distinct(selected.iter().map(|r| r.epoch));
    let y_label = format!("{} {SF_LABEL}", style.layer_label(layer));
    let panels = dataset_panels(style, &groups, Mark::LineDots, ("epoch", &y_label), Some(epoch_range(style, &epochs)));
    Figure::new(id, 5, panels, (380, 360))
}

/// Cell 53: conv1 mean peak spatial frequency against epoch, one panel per dataset, one line per regime.
pub(crate) fn mean_peak_sf_conv1(rows: &[SpatialFrequency], style: &Style) -> Figure {
    mean_peak_sf(rows, style, Layer::CONV1, "mean_peak_sf_conv1")
}

/// Cell 54: conv5 mean peak spatial frequency against epoch.
pub(crate) fn mean_peak_sf_conv5(rows: &[SpatialFrequency], style: &Style) -> Figure {
    mean_peak_sf(rows, style, Layer::CONV5, "mean_peak_sf_conv5")
}

/// Cell 52: mean peak spatial frequency of blurry-to-clear models against epoch, one panel per layer, one line per
/// dataset. Where the original has two digitised values of one point (cells 52 and 53/54), the table's preferred
/// one is drawn.
pub(crate) fn mean_peak_sf_by_layer(rows: &[SpatialFrequency], style: &Style) -> Figure {
    let mut groups: Grouped<Layer, DatasetId> = BTreeMap::new();
    let selected: Vec<&SpatialFrequency> = rows
        .iter()
        .filter(|r| r.statistic == SfStatistic::MeanPeakSf && r.run.regime == Regime::BlurryToClear)
        .collect();
    for r in &selected {
        push(&mut groups, r.layer, r.run.dataset, f64::from(r.epoch), r.value);
    }
    let x_range = epoch_range(style, &distinct(selected.iter().map(|r| r.epoch)));
    let panels = style
        .layers
        .iter()
        .filter_map(|l| groups.get(&l.id).map(|g| (l, g)))
        .map(|(layer, samples)| {
            let mut panel = Panel::new(&layer.label, "epoch", SF_LABEL, x_range);
            panel.series = dataset_series(style, samples, Mark::LineDots);
            panel
        })
        .collect();
    Figure::new("mean_peak_sf_by_layer", 5, panels, (380, 360))
}

/// Cells 31-35: conv5 peak-frequency histograms of blurry-to-clear models, one row per dataset, one column per
/// stage epoch; a dotted line at 25 cycles/image.
pub(crate) fn conv5_peak_sf_histograms(rows: &[SpatialFrequency], style: &Style) -> Figure {
    let mut groups: Grouped<(DatasetId, u32), u8> = BTreeMap::new();
    for r in rows.iter().filter(|r| r.layer == Layer::CONV5 && r.run.regime == Regime::BlurryToClear) {
        if let Some((lo, hi)) = r.statistic.bin() {
            push(&mut groups, (r.run.dataset, r.epoch), 0, (lo + hi) / 2.0, r.value);
        }
    }
    let epochs = distinct(groups.keys().map(|k| k.1));
    let colour = style.regime(Regime::BlurryToClear).colour;
    let y_max = groups.values().flat_map(|g| g.values().flatten().map(|s| s.1)).fold(0.0, f64::max);
    let mut panels = Vec::new();
    for d in &style.datasets {
        if !groups.keys().any(|k| k.0 == d.id) {
            continue;
        }
        for &epoch in &epochs {
            let mut panel = Panel::new(
                &format!("{}, epoch {epoch}", d.title),
                "conv5 peak SF (cycles/image at 224 px)",
                "feature maps",
                (0.0, SF_HISTOGRAM.top),
            );
            panel.y_range = Some((0.0, y_max * 1.05));
            if let Some(samples) = groups.get(&(d.id, epoch)).and_then(|g| g.get(&0)) {
                let label = &style.regime(Regime::BlurryToClear).label;
                panel.series.push(Series::from_samples(
                    label,
                    colour,
                    Dash::Solid,
                    Mark::Bars { width: SF_HISTOGRAM.width() * 0.92 },
                    samples,
                ));
            }
            panel.vlines.push(RefLine {
                at: HIGH_FREQUENCY_THRESHOLD,
                colour: style.sigma_marker_colour,
                dash: Dash::Dotted,
                label: format!("{HIGH_FREQUENCY_THRESHOLD} cycles/image: the original's high-frequency threshold"),
            });
            panels.push(panel);
        }
    }
    Figure::new("conv5_peak_sf_histograms", epochs.len().max(1), panels, (340, 280))
}
