//! Spatial-frequency figures (spatial_frequency.ipynb): mean peak spatial frequency through training, per layer,
//! and the peak-frequency histograms (conv5 per stage, every layer at the last epoch, all layers pooled), the conv5
//! spectrogram, and the share of feature maps below each frequency (the original's sorted peaks, cell 8).
use std::collections::BTreeMap;

use super::accuracy::{dataset_series, distinct, push, Grouped};
use super::canvas::{viridis, ColourScale, Figure, HeatCell, Mark, Panel, RefLine, Series};
use super::receptive_fields::{dataset_panels, epoch_range, SF_LABEL};
use super::style::{Colour, Dash, Style};
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
    let mut figure = Figure::new(id, 5, panels, 1.0);
    figure.share_y();
    figure.band_label.clone_from(&style.seed_range_label);
    figure
}

/// Cell 53: conv1 mean peak spatial frequency against epoch, one panel per dataset, one line per regime.
pub fn mean_peak_sf_conv1(rows: &[SpatialFrequency], style: &Style) -> Figure {
    mean_peak_sf(rows, style, Layer::CONV1, "mean_peak_sf_conv1")
}

/// Cell 54: conv5 mean peak spatial frequency against epoch.
pub fn mean_peak_sf_conv5(rows: &[SpatialFrequency], style: &Style) -> Figure {
    mean_peak_sf(rows, style, Layer::CONV5, "mean_peak_sf_conv5")
}

/// Cell 52: mean peak spatial frequency of blurry-to-clear models against epoch, one panel per layer, one line per
/// dataset. Where the original has two digitised values of one point (cells 52 and 53/54), the table's preferred
/// one is drawn.
pub fn mean_peak_sf_by_layer(rows: &[SpatialFrequency], style: &Style) -> Figure {
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
    let mut figure = Figure::new("mean_peak_sf_by_layer", 5, panels, 1.0);
    figure.share_y();
    figure.band_label.clone_from(&style.seed_range_label);
    figure
}

/// Histogram counts of blurry-to-clear models per (dataset, layer, epoch): (bin centre, feature maps) per seed.
type Counts = Grouped<(DatasetId, Layer, u32), u8>;

fn histogram_counts(rows: &[SpatialFrequency]) -> Counts {
    let mut groups: Counts = BTreeMap::new();
    for r in rows.iter().filter(|r| r.run.regime == Regime::BlurryToClear) {
        if let Some((lo, hi)) = r.statistic.bin() {
            push(&mut groups, (r.run.dataset, r.layer, r.epoch), 0, (lo + hi) / 2.0, r.value);
        }
    }
    groups
}

const PEAK_SF: &str = "peak SF (cycles/image)";
const MAPS: &str = "feature maps";

fn threshold_line(style: &Style) -> RefLine {
    let label = format!("{HIGH_FREQUENCY_THRESHOLD} cycles/image: the original's high-frequency threshold");
    RefLine::new(style, HIGH_FREQUENCY_THRESHOLD, &label)
}

/// A grid of histograms: one row per dataset, one column per `columns` entry (a layer and epoch each, headed by its
/// name), bars of the blurry-to-clear colour, one y range per figure (counts of the same maps compare), and the
/// 25 cycles/image line.
fn histogram_grid(id: &str, counts: &Counts, columns: &[(Layer, u32, String)], style: &Style) -> Figure {
    let colour = style.regime(Regime::BlurryToClear).colour;
    let label = &style.regime(Regime::BlurryToClear).label;
    let mut panels = Vec::new();
    let mut row_titles = Vec::new();
    for d in &style.datasets {
        if !columns.iter().any(|(layer, epoch, _)| counts.contains_key(&(d.id, *layer, *epoch))) {
            continue;
        }
        row_titles.push(d.title.clone());
        for (layer, epoch, heading) in columns {
            let mut panel = Panel::new(&format!("{}, {heading}", d.title), PEAK_SF, MAPS, (0.0, SF_HISTOGRAM.top));
            if let Some(samples) = counts.get(&(d.id, *layer, *epoch)).and_then(|g| g.get(&0)) {
                let bars = Mark::Bars { width: SF_HISTOGRAM.width() * 0.9 };
                panel.series.push(Series::from_samples(label, colour, Dash::Solid, bars, samples));
            }
            panel.vlines.push(threshold_line(style));
            panels.push(panel);
        }
    }
    let mut figure = Figure::new(id, columns.len().max(1), panels, 0.7);
    figure.share_y();
    figure.column_titles = columns.iter().map(|c| c.2.clone()).collect();
    figure.row_titles = row_titles;
    figure
}

/// Cells 31-35: conv5 peak-frequency histograms of blurry-to-clear models, one row per dataset, one column per
/// epoch.
pub fn conv5_peak_sf_histograms(rows: &[SpatialFrequency], style: &Style) -> Figure {
    let counts = histogram_counts(rows);
    let epochs = distinct(counts.keys().filter(|k| k.1 == Layer::CONV5).map(|k| k.2));
    let columns: Vec<(Layer, u32, String)> = epochs.iter().map(|&e| (Layer::CONV5, e, format!("epoch {e}"))).collect();
    histogram_grid("conv5_peak_sf_histograms", &counts, &columns, style)
}

/// Cells 43-47: the histograms of all conv layers pooled (1152 feature maps), one column per epoch.
pub fn all_conv_peak_sf_histograms(rows: &[SpatialFrequency], style: &Style) -> Figure {
    let counts = histogram_counts(rows);
    let epochs = distinct(counts.keys().filter(|k| k.1 == Layer::AllConv).map(|k| k.2));
    let columns: Vec<(Layer, u32, String)> =
        epochs.iter().map(|&e| (Layer::AllConv, e, format!("epoch {e}"))).collect();
    histogram_grid("all_conv_peak_sf_histograms", &counts, &columns, style)
}

/// Cells 23-27: the histogram of each conv layer (columns) at the last epoch, one row per dataset, with the 20 fixed
/// bins (the notebook let numpy choose 20 bins per layer). Drawn only where a layer besides conv5 has histograms:
/// conv5 alone (the original's numbers) is the last column of [`conv5_peak_sf_histograms`].
pub fn peak_sf_histograms_by_layer(rows: &[SpatialFrequency], style: &Style) -> Figure {
    let counts = histogram_counts(rows);
    let layers: Vec<Layer> = style.layers.iter().map(|l| l.id).filter(|l| counts.keys().any(|k| k.1 == *l)).collect();
    let last = counts.keys().filter(|k| layers.contains(&k.1)).map(|k| k.2).max();
    let columns: Vec<(Layer, u32, String)> = match last {
        Some(epoch) if layers.iter().any(|&l| l != Layer::CONV5) => {
            layers.iter().map(|&l| (l, epoch, format!("{}, epoch {epoch}", style.layer_label(l)))).collect()
        }
        _ => Vec::new(),
    };
    let mut figure = histogram_grid("peak_sf_histograms_by_layer", &counts, &columns, style);
    let sizes: Vec<String> = layers
        .iter()
        .filter_map(|&l| l.conv().map(|c| format!("{} {}", style.layer_label(l), c.out_channels)))
        .collect();
    figure.note =
        format!("One y range for all panels: counts of feature maps, of which the layers have {}.", sizes.join(", "));
    figure
}

/// Cell 58: the conv5 histograms against epoch as a heat map (x: epoch, y: bin, colour: feature maps), one panel
/// per dataset, one colour scale; each epoch's column reaches halfway to its neighbours.
pub fn conv5_peak_sf_spectrogram(rows: &[SpatialFrequency], style: &Style) -> Figure {
    let counts = histogram_counts(rows);
    let epochs = distinct(counts.keys().filter(|k| k.1 == Layer::CONV5).map(|k| k.2));
    let edges: Vec<f64> = epochs
        .iter()
        .enumerate()
        .map(|(i, &e)| {
            let e = f64::from(e);
            let before =
                if i > 0 { f64::from(epochs[i - 1]) } else { e - epochs.get(1).map_or(1.0, |&n| f64::from(n) - e) };
            (e + before) / 2.0
        })
        .chain(epochs.last().map(|&e| {
            let e = f64::from(e);
            let before = epochs.len().checked_sub(2).map_or(e - 1.0, |i| f64::from(epochs[i]));
            e + (e - before) / 2.0
        }))
        .collect();
    let mut max = 0.0f64;
    let mut panels = Vec::new();
    for d in &style.datasets {
        let mut panel = Panel::new(
            &d.title,
            "epoch",
            PEAK_SF,
            (edges.first().copied().unwrap_or(0.0), edges.last().copied().unwrap_or(1.0)),
        );
        for (i, &epoch) in epochs.iter().enumerate() {
            let Some(samples) = counts.get(&(d.id, Layer::CONV5, epoch)).and_then(|g| g.get(&0)) else { continue };
            let series = Series::from_samples("", Colour(0, 0, 0), Dash::Solid, Mark::Line, samples);
            for p in series.points {
                let half = SF_HISTOGRAM.width() / 2.0;
                panel.cells.push(HeatCell { x: (edges[i], edges[i + 1]), y: (p.x - half, p.x + half), value: p.y });
                max = max.max(p.y);
            }
        }
        if !panel.cells.is_empty() {
            panel.y_range = Some((0.0, SF_HISTOGRAM.top));
            panels.push(panel);
        }
    }
    let mut figure = Figure::new("conv5_peak_sf_spectrogram", 5, panels, 1.1);
    figure.colour_scale = Some(ColourScale { label: "conv5 feature maps per bin".into(), max });
    figure
}

/// Cell 8, with its axes swapped: the share (%) of a layer's feature maps whose peak lies below each histogram bin
/// edge, one line per epoch (early to late along viridis), one row per dataset, one column per layer (one row of
/// datasets when there is one layer, as in the original's numbers). Exact at the edges of the 20 bins, which is the
/// resolution the tables keep (the original sorted each map's peak).
pub fn sorted_peak_sf_by_layer(rows: &[SpatialFrequency], style: &Style) -> Figure {
    let counts = histogram_counts(rows);
    let layers: Vec<&super::style::LayerStyle> =
        style.layers.iter().filter(|l| counts.keys().any(|k| k.1 == l.id)).collect();
    let epochs = distinct(counts.keys().map(|k| k.2));
    let mut panels = Vec::new();
    let mut row_titles = Vec::new();
    for d in &style.datasets {
        if !counts.keys().any(|k| k.0 == d.id && layers.iter().any(|l| l.id == k.1)) {
            continue;
        }
        row_titles.push(d.title.clone());
        for layer in &layers {
            let mut panel = Panel::new(
                &format!("{}, {}", d.title, layer.label),
                PEAK_SF,
                "feature maps below (%)",
                (0.0, SF_HISTOGRAM.top),
            );
            panel.y_range = Some((0.0, 100.0));
            for (k, &epoch) in epochs.iter().enumerate() {
                let Some(samples) = counts.get(&(d.id, layer.id, epoch)).and_then(|g| g.get(&0)) else { continue };
                let bins = Series::from_samples("", Colour(0, 0, 0), Dash::Solid, Mark::Line, samples).points;
                let total: f64 = bins.iter().map(|p| p.y).sum();
                if total <= 0.0 {
                    continue;
                }
                let mut below = 0.0;
                let mut cumulative = vec![(0.0, 0.0)];
                for p in &bins {
                    below += p.y;
                    cumulative.push((p.x + SF_HISTOGRAM.width() / 2.0, 100.0 * below / total));
                }
                // Early to late along viridis (purple to green): distinct steps, also with deuteranopia.
                let shade = viridis(0.85 * k as f64 / (epochs.len().max(2) - 1) as f64);
                panel.series.push(Series::from_samples(
                    &format!("epoch {epoch}"),
                    shade,
                    Dash::Solid,
                    Mark::Line,
                    &cumulative,
                ));
            }
            panel.vlines.push(threshold_line(style));
            panels.push(panel);
        }
    }
    if let [layer] = layers.as_slice() {
        let mut figure = Figure::new("sorted_peak_sf_by_layer", panels.len().max(1), panels, 1.0);
        figure.note = format!("{}: the only layer with histograms in these tables.", layer.label);
        for panel in &mut figure.panels {
            panel.title = panel.title.split(", ").next().unwrap_or_default().to_string();
        }
        return figure;
    }
    let mut figure = Figure::new("sorted_peak_sf_by_layer", layers.len(), panels, 0.8);
    figure.column_titles = layers.iter().map(|l| l.label.clone()).collect();
    figure.row_titles = row_titles;
    figure
}
