//! Figures drawn as grids of images: conv1 kernels through training (receptive_fields cells 22-30), Gabor fit grids
//! (cells 6-14) and effective receptive field maps (cell 46), with the ERF maps' radial profiles. Like every figure,
//! each is a function of results tables (`conv1_kernels`, `rf_gabor_filters`, `erf_maps`, `erf_profiles`, written by
//! the analyse stage, [`crate::analysis::analyse_checkpoint`]); none reads a checkpoint.
use std::collections::BTreeMap;
use std::path::Path;

use anyhow::{bail, Result};
use plotters::coord::Shift;
use plotters::prelude::*;

use super::canvas::{Figure, Mark, Panel, Series};
use super::style::Style;
use crate::analysis::gabor::GaborParams;
use crate::results::{Conv1Weight, ErfMapPixel, ErfProfile, RfGaborFilter, RunKey};
use crate::vocab::{DatasetId, ErfInput, Layer, Regime};

/// A 2-D array of numbers, row-major.
#[derive(Clone, Debug, PartialEq)]
pub struct Heatmap {
    pub width: usize,
    pub height: usize,
    pub values: Vec<f32>,
}

impl Heatmap {
    pub fn new(width: usize, height: usize, values: Vec<f32>) -> Result<Heatmap> {
        if values.len() != width * height {
            bail!("a {width}x{height} map needs {} values, got {}", width * height, values.len());
        }
        Ok(Heatmap { width, height, values })
    }

    /// Values min-max normalised to [0, 1] (a constant map becomes all 0.5).
    fn normalised(&self) -> Vec<f32> {
        let (lo, hi) = self.values.iter().fold((f32::INFINITY, f32::NEG_INFINITY), |(l, h), &v| (l.min(v), h.max(v)));
        let span = hi - lo;
        self.values.iter().map(|&v| if span > 0.0 { (v - lo) / span } else { 0.5 }).collect()
    }
}

/// A grid of heatmaps with row and column labels.
#[derive(Clone, Debug)]
pub struct ImageGrid {
    pub id: String,
    pub title: String,
    pub row_labels: Vec<String>,
    pub column_labels: Vec<String>,
    /// `cells[row][column]`; `None` leaves the cell blank.
    pub cells: Vec<Vec<Option<Heatmap>>>,
    /// Grey for kernels (as the original's `cmap='gray'`), a warm sequential map for ERFs.
    pub warm: bool,
}

const CELL: u32 = 96;
const GAP: u32 = 8;
const HEADER_H: u32 = 70;

impl ImageGrid {
    /// Write `<stem>.png` and `<stem>.svg`, atomically.
    pub fn write(&self, stem: &Path) -> Result<()> {
        super::canvas::register_font()?;
        let columns = self.column_labels.len().max(self.cells.iter().map(Vec::len).max().unwrap_or(0)) as u32;
        let rows = self.cells.len() as u32;
        let (w, h) = (self.label_width() + columns * (CELL + GAP) + GAP, HEADER_H + rows * (CELL + GAP) + GAP);
        let mut pixels = vec![0u8; (w * h * 3) as usize];
        {
            let root = BitMapBackend::with_buffer(&mut pixels, (w, h)).into_drawing_area();
            self.draw(&root)?;
            root.present().map_err(super::canvas::plot_error)?;
        }
        super::canvas::write_png(&stem.with_extension("png"), w, h, pixels)?;
        let mut svg = String::new();
        {
            let root = SVGBackend::with_string(&mut svg, (w, h)).into_drawing_area();
            self.draw(&root)?;
            root.present().map_err(super::canvas::plot_error)?;
        }
        crate::atomic::write(&stem.with_extension("svg"), svg.as_bytes())
    }

    /// Room for the longest row label (about 7 px per character at 16 px).
    fn label_width(&self) -> u32 {
        let longest = self.row_labels.iter().map(|l| l.chars().count()).max().unwrap_or(0) as u32;
        (longest * 7 + 30).max(100)
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<()> {
        let err = super::canvas::plot_error;
        let label_w = self.label_width();
        root.fill(&WHITE).map_err(err)?;
        let font = ("sans-serif", 16).into_font().color(&BLACK);
        root.draw_text(&self.title, &("sans-serif", 22).into_font().color(&BLACK), (10, 8)).map_err(err)?;
        for (c, label) in self.column_labels.iter().enumerate() {
            let x = (label_w + c as u32 * (CELL + GAP) + GAP) as i32;
            root.draw_text(label, &font, (x, HEADER_H as i32 - 24)).map_err(err)?;
        }
        for (r, row) in self.cells.iter().enumerate() {
            let y = (HEADER_H + r as u32 * (CELL + GAP)) as i32;
            if let Some(label) = self.row_labels.get(r) {
                root.draw_text(label, &font, (8, y + CELL as i32 / 2 - 8)).map_err(err)?;
            }
            for (c, cell) in row.iter().enumerate() {
                let Some(map) = cell else { continue };
                let x = (label_w + c as u32 * (CELL + GAP) + GAP) as i32;
                let values = map.normalised();
                let (px_w, px_h) = (CELL as f64 / map.width as f64, CELL as f64 / map.height as f64);
                for (i, v) in values.iter().enumerate() {
                    let (col, row) = ((i % map.width) as f64, (i / map.width) as f64);
                    let x0 = x + (col * px_w) as i32;
                    let y0 = y + (row * px_h) as i32;
                    let x1 = x + ((col + 1.0) * px_w) as i32;
                    let y1 = y + ((row + 1.0) * px_h) as i32;
                    root.draw(&Rectangle::new([(x0, y0), (x1, y1)], self.colour(*v).filled())).map_err(err)?;
                }
            }
        }
        Ok(())
    }

    fn colour(&self, v: f32) -> RGBColor {
        let v = v.clamp(0.0, 1.0);
        if self.warm {
            // Black -> dark red -> orange -> pale yellow, like matplotlib's 'hot'.
            let r = (v * 2.5).min(1.0);
            let g = ((v - 0.4) * 2.0).clamp(0.0, 1.0);
            let b = ((v - 0.8) * 5.0).clamp(0.0, 1.0);
            RGBColor((r * 255.0) as u8, (g * 255.0) as u8, (b * 255.0) as u8)
        } else {
            let g = (v * 255.0) as u8;
            RGBColor(g, g, g)
        }
    }
}

/// Conv1 weights of one checkpoint: `[out_channels, in_channels, k, k]`, row-major.
#[derive(Clone, Debug)]
pub struct Conv1Weights {
    pub epoch: u32,
    pub shape: [usize; 4],
    pub values: Vec<f32>,
}

impl Conv1Weights {
    /// Filter `f` averaged over input channels (the original's `kernel.mean(axis=0)`).
    pub fn channel_mean(&self, f: usize) -> Result<Heatmap> {
        let [out, inp, kh, kw] = self.shape;
        if self.values.len() != out * inp * kh * kw || f >= out {
            bail!(
                "conv1 weights of epoch {}: shape {:?} does not fit {} values or filter {f}",
                self.epoch,
                self.shape,
                self.values.len()
            );
        }
        let plane = kh * kw;
        let mut mean = vec![0f32; plane];
        for c in 0..inp {
            let start = (f * inp + c) * plane;
            for (m, v) in mean.iter_mut().zip(&self.values[start..start + plane]) {
                *m += v / inp as f32;
            }
        }
        Heatmap::new(kw, kh, mean)
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

/// Cells 22-30: the channel-averaged kernels of `filters` (rows) at each checkpoint (columns) of one model.
pub fn conv1_kernels(model: &str, checkpoints: &[Conv1Weights], filters: &[usize]) -> Result<ImageGrid> {
    let cells = filters
        .iter()
        .map(|&f| checkpoints.iter().map(|c| c.channel_mean(f).map(Some)).collect::<Result<Vec<_>>>())
        .collect::<Result<Vec<_>>>()?;
    Ok(ImageGrid {
        id: "conv1_kernels".into(),
        title: format!("Conv1 kernels through training: {model}"),
        row_labels: filters.iter().map(|f| format!("filter {f}")).collect(),
        column_labels: checkpoints.iter().map(|c| format!("epoch {}", c.epoch)).collect(),
        cells,
        warm: false,
    })
}

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

/// The `conv1_kernels_<dataset>` figures: the first 10 filters of each dataset's blurry-to-clear model (see
/// [`shown_models`]) at every analysed epoch.
pub fn conv1_kernel_figures(rows: &[Conv1Weight], style: &Style) -> Result<Vec<ImageGrid>> {
    let weights = Conv1Weights::from_rows(rows)?;
    let mut grids = Vec::new();
    for run in shown_models(weights.keys()) {
        let checkpoints = &weights[&run];
        let Some(first) = checkpoints.first() else { continue };
        let filters: Vec<usize> = (0..first.shape[0].min(10)).collect();
        let mut grid = conv1_kernels(&model_name(&run, style), checkpoints, &filters)?;
        grid.id = format!("conv1_kernels_{}", run.dataset);
        grids.push(grid);
    }
    Ok(grids)
}

/// One filter's fitted Gabor functions per epoch (`None` where the fit is not valid).
#[derive(Clone, Debug)]
pub struct GaborFits {
    pub filter: usize,
    pub fits: Vec<Option<Heatmap>>,
}

/// Cells 6-14: the fitted Gabor function of each filter (rows) at each stage epoch (columns).
pub fn gabor_fit_grid(model: &str, epochs: &[u32], filters: &[GaborFits]) -> ImageGrid {
    ImageGrid {
        id: "gabor_fit_grid".into(),
        title: format!("Gabor fits of conv1 filters valid at every epoch shown: {model}"),
        row_labels: filters.iter().map(|f| format!("filter {}", f.filter)).collect(),
        column_labels: epochs.iter().map(|e| format!("epoch {e}")).collect(),
        cells: filters.iter().map(|f| f.fits.clone()).collect(),
        warm: false,
    }
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
    fn label(&self, style: &Style) -> String {
        let dataset = &style.dataset(self.dataset).title;
        format!("{dataset} {} {}", style.regime(self.regime).label, style.layer_label(self.layer))
    }

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

/// Cell 46: the ERF maps, one row per model and layer, one column per epoch (rows are labelled by dataset, regime
/// and layer; pass maps of one input kind and seed).
pub fn erf_maps(maps: &[ErfMap], style: &Style) -> ImageGrid {
    let mut epochs: Vec<u32> = maps.iter().map(|m| m.epoch).collect();
    epochs.sort();
    epochs.dedup();
    let mut rows: Vec<(String, Vec<Option<Heatmap>>)> = Vec::new();
    for m in maps {
        let label = m.label(style);
        let column = epochs.iter().position(|&e| e == m.epoch).unwrap_or(0);
        let at = match rows.iter().position(|(l, _)| *l == label) {
            Some(at) => at,
            None => {
                rows.push((label, vec![None; epochs.len()]));
                rows.len() - 1
            }
        };
        rows[at].1[column] = Some(m.map.clone());
    }
    ImageGrid {
        id: "erf_maps".into(),
        title: "Effective receptive fields".into(),
        row_labels: rows.iter().map(|r| r.0.clone()).collect(),
        column_labels: epochs.iter().map(|e| format!("epoch {e}")).collect(),
        cells: rows.into_iter().map(|r| r.1).collect(),
        warm: true,
    }
}

/// The `erf_maps` figure of a source: the stored maps of every model of the lowest seed.
pub fn erf_map_figure(rows: &[ErfMapPixel], style: &Style) -> Result<Option<ImageGrid>> {
    let Some(seed) = rows.iter().map(|r| r.run.seed).min() else { return Ok(None) };
    let mut maps: Vec<ErfMap> = ErfMap::from_rows(rows)?.into_iter().filter(|m| m.seed == seed).collect();
    maps.sort_by_key(|m| (m.dataset, style.regimes.iter().position(|r| r.id == m.regime), m.epoch));
    Ok(Some(erf_maps(&maps, style)))
}

/// The radial profiles of the ERF maps of `layer` on `input` at the last analysed epoch, of the lowest seed: one
/// panel per dataset, one line per regime, each profile normalised to its peak.
pub fn erf_radial_profiles(rows: &[ErfProfile], layer: Layer, input: ErfInput, style: &Style) -> Figure {
    let selected: Vec<&ErfProfile> = rows.iter().filter(|r| r.layer == layer && r.input == input).collect();
    let seed = selected.iter().map(|r| r.run.seed).min();
    let last = selected.iter().map(|r| r.epoch).max();
    let mut samples: BTreeMap<DatasetId, BTreeMap<Regime, Vec<(f64, f64)>>> = BTreeMap::new();
    for r in selected.iter().filter(|r| Some(r.run.seed) == seed && Some(r.epoch) == last) {
        samples.entry(r.run.dataset).or_default().entry(r.run.regime).or_default().push((r.radius_px, r.value));
    }
    let mut panels = Vec::new();
    for d in &style.datasets {
        let Some(by_regime) = samples.get(&d.id) else { continue };
        let title = format!("{} {}", d.title, style.layer_label(layer));
        let mut panel = Panel::new(&title, "radius (px)", "ERF (normalised)", (0.0, 1.0));
        for r in &style.regimes {
            let Some(points) = by_regime.get(&r.id) else { continue };
            let peak = points.iter().map(|p| p.1).fold(0.0, f64::max);
            let normalised: Vec<(f64, f64)> =
                points.iter().map(|&(x, v)| (x, if peak > 0.0 { v / peak } else { v })).collect();
            let label = format!("{}, epoch {}", r.label, last.unwrap_or(0));
            panel.series.push(Series::from_samples(&label, r.colour, r.dash, Mark::Line, &normalised));
            panel.x_range.1 = panel.x_range.1.max(points.iter().map(|p| p.0).fold(1.0, f64::max));
        }
        panels.push(panel);
    }
    Figure {
        id: "erf_radial_profiles".into(),
        title: "ERF radial profiles".into(),
        columns: panels.len().clamp(1, 5),
        panels,
        panel_size: (380, 360),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn channel_mean_averages_over_input_channels() {
        let weights =
            Conv1Weights { epoch: 20, shape: [2, 2, 1, 2], values: vec![1.0, 2.0, 3.0, 4.0, 10.0, 20.0, 30.0, 40.0] };
        assert_eq!(weights.channel_mean(0).unwrap().values, vec![2.0, 3.0]);
        assert_eq!(weights.channel_mean(1).unwrap().values, vec![20.0, 30.0]);
        assert!(weights.channel_mean(2).is_err());
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
        assert_eq!(checkpoint.channel_mean(1).unwrap().values, vec![105.0, 106.0]);
        assert!(Conv1Weights::from_rows(&rows[1..]).is_err());
    }
}
