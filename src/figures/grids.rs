//! Figures drawn as grids of pictures: conv1 kernels through training (receptive_fields cells 22-30), Gabor fit
//! grids (cells 6-14) and effective receptive field maps (cell 46), with the ERF maps' radial profiles. Like every
//! figure, each is a function of results tables (`conv1_kernels`, `rf_gabor_filters`, `erf_maps`, `erf_profiles`,
//! written by the analyse stage, [`crate::analysis::analyse_checkpoint`]); none reads a checkpoint.
use std::collections::BTreeMap;

use anyhow::{bail, Result};

use super::canvas::{Figure, Mark, Panel, Series};
pub use super::image_grid::{ColourMap, Heatmap, ImageGrid, Scaling};
use super::style::Style;
use crate::analysis::gabor::GaborParams;
use crate::results::{Conv1Weight, ErfMapPixel, ErfProfile, RfGaborFilter, RunKey};
use crate::vocab::{DatasetId, ErfInput, Layer, Regime};

/// Conv1 weights of one checkpoint: `[out_channels, in_channels, k, k]`, row-major, as stored under
/// `features.0.weight`.
#[derive(Clone, Debug)]
pub struct Conv1Weights {
    pub epoch: u32,
    pub shape: [usize; 4],
    pub values: Vec<f32>,
}

impl Conv1Weights {
    /// Filter `f` as an RGB picture, its three input channels min-max normalised together (so that the filter's
    /// colour, which the original's channel mean hid, shows).
    pub fn rgb(&self, f: usize) -> Result<Heatmap> {
        let [out, inp, kh, kw] = self.shape;
        if self.values.len() != out * inp * kh * kw || f >= out || inp != 3 {
            bail!(
                "conv1 weights of epoch {}: shape {:?} does not fit {} values, filter {f} and 3 input channels",
                self.epoch,
                self.shape,
                self.values.len()
            );
        }
        let plane = kh * kw;
        let filter = super::image_grid::min_max(&self.values[f * inp * plane..(f + 1) * inp * plane]);
        let interleaved = (0..plane).flat_map(|p| (0..inp).map(move |c| (c, p))).map(|(c, p)| filter[c * plane + p]);
        Heatmap::rgb(kw, kh, interleaved.collect())
    }

    /// `filters` as RGB pictures in a mosaic of rows of `across`, separated by 1-px white lines.
    pub fn mosaic(&self, filters: &[usize], across: usize) -> Result<Heatmap> {
        let [_, _, kh, kw] = self.shape;
        let across = across.clamp(1, filters.len().max(1));
        let down = filters.len().div_ceil(across).max(1);
        let (width, height) = (across * (kw + 1) - 1, down * (kh + 1) - 1);
        let mut values = vec![1.0f32; width * height * 3];
        for (i, &f) in filters.iter().enumerate() {
            let picture = self.rgb(f)?;
            let (x0, y0) = ((i % across) * (kw + 1), (i / across) * (kh + 1));
            for y in 0..kh {
                let row = ((y0 + y) * width + x0) * 3;
                values[row..row + kw * 3].copy_from_slice(&picture.values[y * kw * 3..(y + 1) * kw * 3]);
            }
        }
        Heatmap::rgb(width, height, values)
    }

    /// The weights of every checkpoint in the `conv1_kernels` table, per run, epochs ascending. Each checkpoint
    /// must hold every weight of a `[filters, channels, k, k]` block exactly once.
    pub fn from_rows(rows: &[Conv1Weight]) -> Result<BTreeMap<RunKey, Vec<Conv1Weights>>> {
        let mut grouped: BTreeMap<(RunKey, u32), Vec<&Conv1Weight>> = BTreeMap::new();
        for row in rows {
            grouped.entry((row.run.clone(), row.epoch)).or_default().push(row);
        }
        let mut out: BTreeMap<RunKey, Vec<Conv1Weights>> = BTreeMap::new();
        for ((run, epoch), rows) in grouped {
            let extent = |f: fn(&Conv1Weight) -> u32| rows.iter().map(|r| f(r) as usize + 1).max().unwrap_or(0);
            let shape = [extent(|r| r.filter), extent(|r| r.channel), extent(|r| r.row), extent(|r| r.col)];
            let [_, channels, kh, kw] = shape;
            let mut values = vec![f32::NAN; shape.iter().product()];
            for r in &rows {
                let at =
                    ((r.filter as usize * channels + r.channel as usize) * kh + r.row as usize) * kw + r.col as usize;
                values[at] = r.weight as f32;
            }
            if rows.len() != values.len() || values.iter().any(|v| v.is_nan()) {
                bail!(
                    "the conv1_kernels table's rows of {} seed {} epoch {epoch} do not fill a {shape:?} block once",
                    run.dataset,
                    run.seed
                );
            }
            out.entry(run).or_default().push(Conv1Weights { epoch, shape, values });
        }
        Ok(out)
    }
}

/// Cells 22-30, in colour: `filters` of one model as RGB pictures (each min-max normalised), a square mosaic (8 x 8
/// for all 64) per checkpoint, side by side.
pub fn conv1_kernels(model: &str, checkpoints: &[Conv1Weights], filters: &[usize]) -> Result<ImageGrid> {
    let across = (filters.len() as f64).sqrt().ceil() as usize;
    let cells = vec![checkpoints.iter().map(|c| c.mosaic(filters, across).map(Some)).collect::<Result<Vec<_>>>()?];
    let which = match (filters.first(), filters.last(), checkpoints.first()) {
        (Some(0), Some(&last), Some(c)) if filters.len() == c.shape[0] && last + 1 == filters.len() => {
            format!("all {} filters", filters.len())
        }
        _ => format!("filters {}", filters.iter().map(usize::to_string).collect::<Vec<_>>().join(", ")),
    };
    let title = format!("Conv1 kernels through training: {model} ({which}, RGB, each filter min-max normalised)");
    let mut grid = ImageGrid::new("conv1_kernels", &title, ColourMap::Grey);
    grid.column_labels = checkpoints.iter().map(|c| format!("epoch {}", c.epoch)).collect();
    grid.cells = cells;
    grid.gap_pt = 6.0;
    Ok(grid)
}

/// The epochs a grid shows of those `available`: the profile's stage epochs among them (all when none is), then at
/// most `at_most` of those, evenly spread from the first to the last.
pub fn shown_epochs(available: &[u32], style: &Style, at_most: usize) -> Vec<u32> {
    let stages: Vec<u32> = available.iter().copied().filter(|e| style.stage_epochs.contains(e)).collect();
    let epochs = if stages.is_empty() { available.to_vec() } else { stages };
    if epochs.len() <= at_most || at_most < 2 {
        return epochs.into_iter().take(at_most.max(1)).collect();
    }
    let last = (epochs.len() - 1) as f64;
    let mut picked: Vec<u32> =
        (0..at_most).map(|k| epochs[(k as f64 * last / (at_most - 1) as f64).round() as usize]).collect();
    picked.dedup();
    picked
}

/// Conv1 mosaics shown per model: the stage ends, as the original's cells 22-30 (epochs 20-100).
const KERNEL_EPOCHS: usize = 5;
/// ERF maps shown per model: the end of the first stage, the middle and the end.
const ERF_EPOCHS: usize = 3;

/// The model a grid figure shows per dataset: its blurry-to-clear run of the lowest seed, as the original shows one
/// model per dataset.
fn shown_models<'a>(runs: impl Iterator<Item = &'a RunKey>) -> Vec<RunKey> {
    let mut first: BTreeMap<DatasetId, RunKey> = BTreeMap::new();
    for run in runs.filter(|r| r.regime == Regime::BlurryToClear) {
        let entry = first.entry(run.dataset).or_insert_with(|| run.clone());
        if run.seed < entry.seed {
            *entry = run.clone();
        }
    }
    first.into_values().collect()
}

fn model_name(run: &RunKey, style: &Style) -> String {
    format!("{} {}, seed {}", style.dataset(run.dataset).title, style.regime(run.regime).label, run.seed)
}

/// The `conv1_kernels_<dataset>` figures: every conv1 filter of each dataset's blurry-to-clear model (see
/// [`shown_models`]) at every analysed epoch.
pub fn conv1_kernel_figures(rows: &[Conv1Weight], style: &Style) -> Result<Vec<ImageGrid>> {
    let weights = Conv1Weights::from_rows(rows)?;
    let mut grids = Vec::new();
    for run in shown_models(weights.keys()) {
        let available: Vec<u32> = weights[&run].iter().map(|c| c.epoch).collect();
        let shown = shown_epochs(&available, style, KERNEL_EPOCHS);
        let checkpoints: Vec<Conv1Weights> =
            weights[&run].iter().filter(|c| shown.contains(&c.epoch)).cloned().collect();
        let Some(first) = checkpoints.first() else { continue };
        let filters: Vec<usize> = (0..first.shape[0]).collect();
        let mut grid = conv1_kernels(&model_name(&run, style), &checkpoints, &filters)?;
        grid.id = format!("conv1_kernels_{}", run.dataset);
        grids.push(grid);
    }
    Ok(grids)
}

/// One filter's fitted Gabor functions, rendered by the analysis, per epoch (`None` where the fit is not valid).
#[derive(Clone, Debug)]
pub struct GaborFits {
    pub filter: usize,
    pub fits: Vec<Option<Heatmap>>,
}

/// Cells 6-14: the fitted Gabor function of each filter (rows) at each stage epoch (columns).
pub fn gabor_fit_grid(model: &str, epochs: &[u32], filters: &[GaborFits]) -> ImageGrid {
    let title = format!("Gabor fits of conv1 filters valid at every epoch shown: {model}");
    let mut grid = ImageGrid::new("gabor_fit_grid", &title, ColourMap::Grey);
    grid.row_labels = filters.iter().map(|f| format!("filter {}", f.filter)).collect();
    grid.column_labels = epochs.iter().map(|e| format!("epoch {e}")).collect();
    grid.cells = filters.iter().map(|f| f.fits.clone()).collect();
    grid.colour_bar = "fitted Gabor, min-max per fit".into();
    grid
}

/// A row's fitted Gabor function rendered on the kernel's grid, when the fit is valid and has its parameters.
fn rendered_fit(row: &RfGaborFilter, side: usize) -> Option<Heatmap> {
    let params = GaborParams {
        amplitude: row.amplitude?,
        x0: row.x0?,
        y0: row.y0?,
        sigma_x: row.sigma_x?,
        sigma_y: row.sigma_y?,
        theta: row.theta?,
        frequency: row.frequency?,
        phase: row.phase?,
        offset: row.offset?,
    };
    let values = params.render(side).into_iter().map(|v| v as f32).collect();
    (row.valid == 1).then(|| Heatmap::new(side, side, values).ok()).flatten()
}

/// The `gabor_fit_grid_<dataset>` figures (cells 6-14): for each dataset's blurry-to-clear model (see
/// [`shown_models`]), the fitted Gabor functions of the conv1 filters whose fit is valid at every analysed epoch.
/// A model with no such filter gets no figure.
pub fn gabor_fit_figures(rows: &[RfGaborFilter], style: &Style) -> Vec<ImageGrid> {
    let side = Layer::CONV1.conv().map_or(11, |c| c.kernel as usize);
    let mut grids = Vec::new();
    for run in shown_models(rows.iter().map(|r| &r.run)) {
        let model: Vec<&RfGaborFilter> = rows.iter().filter(|r| r.run == run && r.layer == Layer::CONV1).collect();
        let epochs = super::accuracy::distinct(model.iter().map(|r| r.epoch));
        let filters = super::accuracy::distinct(model.iter().map(|r| r.filter));
        let fits: Vec<GaborFits> = filters
            .iter()
            .map(|&f| GaborFits {
                filter: f as usize,
                fits: epochs
                    .iter()
                    .map(|&e| model.iter().find(|r| r.filter == f && r.epoch == e).and_then(|r| rendered_fit(r, side)))
                    .collect(),
            })
            .filter(|g| g.fits.iter().all(Option::is_some))
            .collect();
        if fits.is_empty() {
            continue;
        }
        let mut grid = gabor_fit_grid(&model_name(&run, style), &epochs, &fits);
        grid.id = format!("gabor_fit_grid_{}", run.dataset);
        grids.push(grid);
    }
    grids
}

/// One ERF map of one checkpoint and layer.
#[derive(Clone, Debug)]
pub struct ErfMap {
    pub dataset: DatasetId,
    pub regime: Regime,
    pub seed: u64,
    pub epoch: u32,
    pub layer: Layer,
    pub input: ErfInput,
    pub map: Heatmap,
}

impl ErfMap {
    /// The maps of the `erf_maps` table, one per run, epoch, layer and input, each a square of its pixels.
    pub fn from_rows(rows: &[ErfMapPixel]) -> Result<Vec<ErfMap>> {
        let mut grouped: BTreeMap<(RunKey, u32, Layer, ErfInput), Vec<&ErfMapPixel>> = BTreeMap::new();
        for row in rows {
            grouped.entry((row.run.clone(), row.epoch, row.layer, row.input)).or_default().push(row);
        }
        grouped
            .into_iter()
            .map(|((run, epoch, layer, input), pixels)| {
                let side = pixels.iter().map(|p| p.row.max(p.col) as usize + 1).max().unwrap_or(0);
                let mut values = vec![f32::NAN; side * side];
                for p in &pixels {
                    values[p.row as usize * side + p.col as usize] = p.value as f32;
                }
                if pixels.len() != values.len() || values.iter().any(|v| v.is_nan()) {
                    bail!(
                        "the erf_maps table's rows of {} epoch {epoch} do not fill a {side}x{side} map once",
                        run.dataset
                    );
                }
                Ok(ErfMap {
                    dataset: run.dataset,
                    regime: run.regime,
                    seed: run.seed,
                    epoch,
                    layer,
                    input,
                    map: Heatmap::new(side, side, values)?,
                })
            })
            .collect()
    }
}

/// Cell 46: the ERF maps (of one layer, input kind and seed), one row per dataset, the regimes side by side, each at
/// up to [`ERF_EPOCHS`] epochs. Every map holds each pixel's share of its gradient mass; a row is coloured relative
/// to its largest value, so that the regimes and epochs of a dataset compare by colour. A map spans the whole input
/// image, so the scale bar is a quarter of a map: 56 pixels of the 224-px protocol.
pub fn erf_maps(maps: &[ErfMap], style: &Style) -> ImageGrid {
    let available = super::accuracy::distinct(maps.iter().map(|m| m.epoch));
    let epochs = shown_epochs(&available, style, ERF_EPOCHS);
    let regimes: Vec<&super::style::RegimeStyle> =
        style.regimes.iter().filter(|r| maps.iter().any(|m| m.regime == r.id)).collect();
    let datasets: Vec<&super::style::DatasetStyle> =
        style.datasets.iter().filter(|d| maps.iter().any(|m| m.dataset == d.id)).collect();
    let mut cells = Vec::new();
    for d in &datasets {
        let row: Vec<Option<&ErfMap>> = regimes
            .iter()
            .flat_map(|r| epochs.iter().map(move |&e| (r.id, e)))
            .map(|(regime, epoch)| maps.iter().find(|m| m.dataset == d.id && m.regime == regime && m.epoch == epoch))
            .collect();
        let max = row.iter().flatten().flat_map(|m| m.map.values.iter().copied()).fold(0.0f32, f32::max);
        cells.push(
            row.into_iter()
                .map(|m| {
                    m.map(|m| {
                        let values = m.map.values.iter().map(|v| if max > 0.0 { v / max } else { 0.0 }).collect();
                        Heatmap { values, ..m.map.clone() }
                    })
                })
                .collect(),
        );
    }
    let layer = maps.first().map_or("conv5", |m| style.layer_label(m.layer));
    let title = format!("Effective receptive fields of {layer} on test images");
    let mut grid = ImageGrid::new("erf_maps", &title, ColourMap::Hot);
    grid.row_labels = datasets.iter().map(|d| d.title.clone()).collect();
    grid.column_groups = regimes.iter().map(|r| (r.label.clone(), epochs.len())).collect();
    grid.column_labels = regimes.iter().flat_map(|_| epochs.iter().map(|e| format!("epoch {e}"))).collect();
    grid.cells = cells;
    grid.scaling = Scaling::Given;
    grid.colour_bar = "gradient mass per pixel / row maximum".into();
    grid.scale_bar = Some((
        ERF_SCALE_BAR_PX / f64::from(PROTOCOL_PX),
        format!("{ERF_SCALE_BAR_PX} px of the {PROTOCOL_PX}-px input"),
    ));
    grid.note = format!(
        "Each map: mean |gradient| of the {layer} centre unit on the input over the test images, as each pixel's share \
         of the map's gradient mass; colours relative to the largest share in the map's row (dataset)."
    );
    grid
}

/// The protocol's image side, in whose pixels every size is given; and the ERF maps' scale bar in those pixels.
const PROTOCOL_PX: u32 = 224;
const ERF_SCALE_BAR_PX: f64 = 56.0;

/// The `erf_maps` figure of a source: the stored maps of every model of the lowest seed.
pub fn erf_map_figure(rows: &[ErfMapPixel], style: &Style) -> Result<Option<ImageGrid>> {
    let Some(seed) = rows.iter().map(|r| r.run.seed).min() else { return Ok(None) };
    let maps: Vec<ErfMap> = ErfMap::from_rows(rows)?.into_iter().filter(|m| m.seed == seed).collect();
    Ok(Some(erf_maps(&maps, style)))
}

/// The radial profiles of the ERF maps of `layer` on `input` at the last analysed epoch, of the lowest seed: one
/// panel per dataset, one line per regime, each profile normalised to its peak.
pub fn erf_radial_profiles(rows: &[ErfProfile], layer: Layer, input: ErfInput, style: &Style) -> Figure {
    let selected: Vec<&ErfProfile> = rows.iter().filter(|r| r.layer == layer && r.input == input).collect();
    let seed = selected.iter().map(|r| r.run.seed).min();
    let last = selected.iter().map(|r| r.epoch).max();
    let mut samples: BTreeMap<DatasetId, BTreeMap<Regime, Vec<(f64, f64)>>> = BTreeMap::new();
    // Radii in pixels of the 224-px protocol, as every size is given (the run's own pixels when its profile is not
    // known).
    let scale = style.protocol_px_per_input_px().unwrap_or(1.0);
    for r in selected.iter().filter(|r| Some(r.run.seed) == seed && Some(r.epoch) == last) {
        let at = r.radius_px * scale;
        samples.entry(r.run.dataset).or_default().entry(r.run.regime).or_default().push((at, r.value));
    }
    let mut panels = Vec::new();
    for d in &style.datasets {
        let Some(by_regime) = samples.get(&d.id) else { continue };
        let mut panel = Panel::new(&d.title, "radius (px of the 224-px input)", "ERF ring mean / peak", (0.0, 1.0));
        panel.y_range = Some((0.0, 1.05));
        for r in &style.regimes {
            let Some(points) = by_regime.get(&r.id) else { continue };
            let peak = points.iter().map(|p| p.1).fold(0.0, f64::max);
            let normalised: Vec<(f64, f64)> =
                points.iter().map(|&(x, v)| (x, if peak > 0.0 { v / peak } else { v })).collect();
            panel.series.push(Series::from_samples(&r.label, r.colour, r.dash, Mark::Line, &normalised));
            panel.x_range.1 = panel.x_range.1.max(points.iter().map(|p| p.0).fold(1.0, f64::max));
        }
        panels.push(panel);
    }
    let mut figure = Figure::new("erf_radial_profiles", panels.len().clamp(1, 5), panels, 1.0);
    figure.share_x();
    figure.title =
        format!("ERF radial profiles ({}, test images, epoch {})", style.layer_label(layer), last.unwrap_or(0));
    figure
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Two 1x2 filters of 3 channels: filter 0 runs 0..6 (r = 0, 1; g = 2, 3; b = 4, 5), filter 1 is 10 times it.
    fn weights() -> Conv1Weights {
        let values: Vec<f32> = (0..6).chain((0..6).map(|v| v * 10)).map(|v| v as f32).collect();
        Conv1Weights { epoch: 20, shape: [2, 3, 1, 2], values }
    }

    #[test]
    fn rgb_kernels_interleave_channels_normalised_per_filter() {
        let w = weights();
        let expected = [0.0, 0.4, 0.8, 0.2, 0.6, 1.0];
        assert_eq!(w.rgb(0).unwrap(), Heatmap::rgb(2, 1, expected.to_vec()).unwrap());
        assert_eq!(w.rgb(1).unwrap().values, expected, "each filter is normalised on its own");
        assert!(w.rgb(2).is_err());
    }

    #[test]
    fn five_epochs_of_64_kernels_print_at_least_40_px_a_kernel_at_two_columns() {
        let checkpoints: Vec<Conv1Weights> = [20, 40, 60, 80, 100]
            .map(|epoch| Conv1Weights { epoch, shape: [64, 3, 11, 11], values: vec![0.5; 64 * 3 * 121] })
            .into();
        let mut grid = conv1_kernels("faces", &checkpoints, &(0..64).collect::<Vec<_>>()).unwrap();
        grid.width_pt = 516.0;
        // An 8 x 8 block of 11-px kernels with 1-px lines between: 95 picture pixels, 11 of them a kernel.
        let kernel_pt = grid.picture_side_pt().unwrap() * 11.0 / 95.0;
        let kernel_px = kernel_pt * 300.0 / 72.0;
        assert!(kernel_px >= 40.0, "a kernel is {kernel_px:.1} px at 300 dpi");
        assert_eq!(grid.cells[0].len(), 5);
        assert_eq!((grid.cells[0][0].as_ref().unwrap().width, grid.cells[0][0].as_ref().unwrap().height), (95, 95));
    }

    #[test]
    fn grids_show_the_stage_ends_and_at_most_a_few_epochs() {
        let mut style = super::super::style::Catalogue::load().unwrap().style;
        style.stage_epochs = vec![20, 40, 60, 80, 100];
        let analysed: Vec<u32> = (1..=10).map(|e| e * 10).collect();
        assert_eq!(shown_epochs(&analysed, &style, 5), [20, 40, 60, 80, 100]);
        assert_eq!(shown_epochs(&analysed, &style, 3), [20, 60, 100]);
        assert_eq!(shown_epochs(&[2, 6, 10], &style, 3), [2, 6, 10], "no stage end analysed: all");
    }

    #[test]
    fn a_mosaic_places_filters_in_rows_with_white_lines_between() {
        let mosaic = weights().mosaic(&[0, 1], 1).unwrap();
        assert_eq!((mosaic.width, mosaic.height), (2, 3));
        assert_eq!(&mosaic.values[6..12], [1.0; 6], "the white line between the two filters");
        assert_eq!(mosaic.values[..6], mosaic.values[12..]);
    }

    #[test]
    fn conv1_weights_are_rebuilt_from_the_table_and_a_gap_is_refused() {
        let run = RunKey { profile: "t".into(), seed: 3, dataset: DatasetId::Faces, regime: Regime::BlurryToClear };
        let row = |filter, channel, col, weight| Conv1Weight {
            run: run.clone(),
            epoch: 2,
            filter,
            channel,
            row: 0,
            col,
            weight,
            source: "s".into(),
        };
        let rows: Vec<Conv1Weight> = (0..2)
            .flat_map(|f| (0..2).flat_map(move |c| (0..2).map(move |x| (f, c, x))))
            .map(|(f, c, x)| row(f, c, x, f64::from(f * 100 + c * 10 + x)))
            .collect();
        let weights = Conv1Weights::from_rows(&rows).unwrap();
        let checkpoint = &weights[&run][0];
        assert_eq!((checkpoint.epoch, checkpoint.shape), (2, [2, 2, 1, 2]));
        assert_eq!(checkpoint.values[..4], [0.0, 1.0, 10.0, 11.0]);
        assert_eq!(checkpoint.values[4..8], [100.0, 101.0, 110.0, 111.0]);
        assert!(Conv1Weights::from_rows(&rows[1..]).is_err());
    }
}
