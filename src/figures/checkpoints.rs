//! Figures drawn from checkpoints rather than tables: conv1 kernels through training (receptive_fields cells
//! 22-30), Gabor fit grids (cells 6-14) and effective receptive field maps with their radial profiles (cell 46).
//!
//! Each is a function of the data it draws. For a run directory, [`run_models`] finds the runs the pipeline wrote
//! (`runs/<profile>/<dataset>/<regime>/seed-<n>/`, see [`crate::run_dir`]) and [`Conv1Weights::read`] and
//! [`read_erf_maps`] read their checkpoints (`checkpoints/epoch-NNN.safetensors`, tensor `features.0.weight`) and ERF
//! maps (`erf/epoch-NNN.safetensors`, one `[side, side]` tensor per map named `<inputs>.<layer>`).
use std::path::Path;

use anyhow::{bail, Context, Result};
use plotters::coord::Shift;
use plotters::prelude::*;

use super::canvas::{Figure, Mark, Panel, Series};
use super::style::Style;
use crate::protocol::{DatasetId, Regime};
use crate::run_dir::RunDir;

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

/// Conv1 weights of one checkpoint: `[out_channels, in_channels, k, k]`, row-major, as stored under
/// `features.0.weight`.
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

/// One filter's fitted Gabor functions, rendered by the analysis, per epoch (`None` where the fit is not valid).
#[derive(Clone, Debug)]
pub struct GaborFits {
    pub filter: usize,
    pub fits: Vec<Option<Heatmap>>,
}

/// Cells 6-14: the fitted Gabor function of each filter (rows) at each stage epoch (columns).
pub fn gabor_fit_grid(model: &str, epochs: &[u32], filters: &[GaborFits]) -> ImageGrid {
    ImageGrid {
        id: "gabor_fit_grid".into(),
        title: format!("Gabor fits of conv1 filters valid at every stage: {model}"),
        row_labels: filters.iter().map(|f| format!("filter {}", f.filter)).collect(),
        column_labels: epochs.iter().map(|e| format!("epoch {e}")).collect(),
        cells: filters.iter().map(|f| f.fits.clone()).collect(),
        warm: false,
    }
}

/// One trained model of a run directory.
#[derive(Clone, Debug)]
pub struct RunModel {
    pub dataset: DatasetId,
    pub regime: Regime,
    pub seed: u64,
    pub dir: RunDir,
}

/// Every `<dataset>/<regime>/seed-<n>/` under a profile's run directory, sorted.
pub fn run_models(profile_dir: &Path) -> Result<Vec<RunModel>> {
    let mut models = Vec::new();
    for dataset in DatasetId::ALL {
        for regime in Regime::ALL {
            let dir = profile_dir.join(dataset.name()).join(regime.name());
            if !dir.is_dir() {
                continue;
            }
            for entry in std::fs::read_dir(&dir).with_context(|| format!("cannot list {}", dir.display()))? {
                let path = entry?.path();
                let seed =
                    path.file_name().and_then(|n| n.to_str()).and_then(|n| n.strip_prefix("seed-")?.parse().ok());
                if let Some(seed) = seed.filter(|_| path.is_dir()) {
                    models.push(RunModel { dataset, regime, seed, dir: RunDir { root: path } });
                }
            }
        }
    }
    models.sort_by_key(|m| (m.dataset, m.regime, m.seed));
    Ok(models)
}

/// The epochs `NNN` of the files `epoch-NNN<suffix>` in `dir`, sorted.
fn epochs_in(dir: &Path, suffix: &str) -> Result<Vec<u32>> {
    if !dir.is_dir() {
        return Ok(Vec::new());
    }
    let mut epochs = Vec::new();
    for entry in std::fs::read_dir(dir).with_context(|| format!("cannot list {}", dir.display()))? {
        let name = entry?.file_name();
        let epoch: Option<u32> =
            name.to_str().and_then(|n| n.strip_prefix("epoch-")?.strip_suffix(suffix)?.parse().ok());
        epochs.extend(epoch);
    }
    epochs.sort();
    Ok(epochs)
}

fn read_tensors(path: &Path) -> Result<Vec<(String, tch::Tensor)>> {
    tch::Tensor::read_safetensors(path).with_context(|| format!("cannot read {} as safetensors", path.display()))
}

fn to_f32(tensor: &tch::Tensor, path: &Path) -> Result<Vec<f32>> {
    let flat = tensor.to_kind(tch::Kind::Float).flatten(0, -1);
    Vec::<f32>::try_from(&flat).with_context(|| format!("{}: cannot read a tensor's values", path.display()))
}

impl Conv1Weights {
    /// Conv1 weights of every checkpoint of `model` (`features.0.weight`), in epoch order.
    pub fn read(model: &RunModel) -> Result<Vec<Conv1Weights>> {
        let dir = model.dir.root.join("checkpoints");
        let mut out = Vec::new();
        for epoch in epochs_in(&dir, ".safetensors")? {
            let path = model.dir.checkpoint(epoch);
            let weight = read_tensors(&path)?
                .into_iter()
                .find(|(name, _)| name == "features.0.weight")
                .with_context(|| format!("{} has no features.0.weight", path.display()))?
                .1;
            let shape: Vec<usize> = weight.size().iter().map(|&d| d as usize).collect();
            let [out_c, in_c, kh, kw] = shape[..] else { bail!("{}: features.0.weight is not 4-D", path.display()) };
            out.push(Conv1Weights { epoch, shape: [out_c, in_c, kh, kw], values: to_f32(&weight, &path)? });
        }
        Ok(out)
    }
}

/// One ERF map of one checkpoint and layer, with its radial profile.
#[derive(Clone, Debug)]
pub struct ErfMap {
    pub dataset: DatasetId,
    pub regime: Regime,
    pub seed: u64,
    pub epoch: u32,
    pub layer: String,
    /// `images` or `noise`, as in the erf table.
    pub input: String,
    pub map: Heatmap,
    /// (radius in input pixels, mean value at that radius), from [`radial_profile`].
    pub radial: Vec<(f64, f64)>,
}

impl ErfMap {
    fn label(&self, style: &Style) -> String {
        let dataset = &style.dataset(self.dataset).title;
        format!("{dataset} {} {}", style.regime(self.regime).label, style.layer_label(&self.layer))
    }
}

/// The mean of `map` over rings of width 1 px around the image centre: (ring radius, mean value) for radii 0 to
/// half the side.
pub fn radial_profile(map: &Heatmap) -> Vec<(f64, f64)> {
    let centre = ((map.width as f64 - 1.0) / 2.0, (map.height as f64 - 1.0) / 2.0);
    let rings = map.width.min(map.height) / 2 + 1;
    let mut sums = vec![(0.0f64, 0usize); rings];
    for (i, &v) in map.values.iter().enumerate() {
        let (x, y) = ((i % map.width) as f64 - centre.0, (i / map.width) as f64 - centre.1);
        let ring = (x.hypot(y)).round() as usize;
        if let Some(sum) = sums.get_mut(ring) {
            sum.0 += f64::from(v);
            sum.1 += 1;
        }
    }
    sums.into_iter().enumerate().filter(|(_, s)| s.1 > 0).map(|(r, s)| (r as f64, s.0 / s.1 as f64)).collect()
}

/// Every ERF map the pipeline wrote for `model`, in epoch order.
pub fn read_erf_maps(model: &RunModel) -> Result<Vec<ErfMap>> {
    let mut maps = Vec::new();
    for epoch in epochs_in(&model.dir.root.join("erf"), ".safetensors")? {
        let path = model.dir.erf_maps(epoch);
        for (name, tensor) in read_tensors(&path)? {
            let (input, layer) = name
                .split_once('.')
                .with_context(|| format!("{}: tensor '{name}' is not <inputs>.<layer>", path.display()))?;
            let size = tensor.size();
            let [h, w] = size[..] else { bail!("{}: tensor '{name}' is not 2-D", path.display()) };
            let map = Heatmap::new(w as usize, h as usize, to_f32(&tensor, &path)?)?;
            maps.push(ErfMap {
                dataset: model.dataset,
                regime: model.regime,
                seed: model.seed,
                epoch,
                layer: layer.to_string(),
                input: input.to_string(),
                radial: radial_profile(&map),
                map,
            });
        }
    }
    maps.sort_by(|a, b| (a.epoch, &a.layer, &a.input).cmp(&(b.epoch, &b.layer, &b.input)));
    Ok(maps)
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

/// The radial profiles of the ERF maps: one panel per dataset and layer, one line per regime and epoch.
pub fn erf_radial_profiles(maps: &[ErfMap], style: &Style) -> Figure {
    let mut panels: Vec<Panel> = Vec::new();
    let mut ordered: Vec<&ErfMap> = maps.iter().collect();
    ordered.sort_by_key(|m| (m.dataset, style.regimes.iter().position(|r| r.id == m.regime), m.epoch));
    for m in ordered {
        let title = format!("{} {}", style.dataset(m.dataset).title, style.layer_label(&m.layer));
        let at = match panels.iter().position(|p| p.title == title) {
            Some(at) => at,
            None => {
                panels.push(Panel::new(&title, "radius (px)", "ERF (normalised)", (0.0, 1.0)));
                panels.len() - 1
            }
        };
        let regime = style.regime(m.regime);
        let peak = m.radial.iter().map(|p| p.1).fold(0.0, f64::max);
        let samples: Vec<(f64, f64)> =
            m.radial.iter().map(|&(r, v)| (r, if peak > 0.0 { v / peak } else { v })).collect();
        let label = format!("{}, epoch {}", regime.label, m.epoch);
        panels[at].series.push(Series::from_samples(&label, regime.colour, regime.dash, Mark::Line, &samples));
        let max_r = m.radial.iter().map(|p| p.0).fold(1.0, f64::max);
        panels[at].x_range.1 = panels[at].x_range.1.max(max_r);
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
    fn radial_profile_averages_rings_around_the_centre() {
        let map = Heatmap::new(3, 3, vec![1.0, 2.0, 1.0, 2.0, 8.0, 2.0, 1.0, 2.0, 1.0]).unwrap();
        // Ring 0: the centre; ring 1: the four edge neighbours (distance 1) and the corners (distance 1.41 -> 1).
        assert_eq!(radial_profile(&map), vec![(0.0, 8.0), (1.0, 1.5)]);
    }
}
