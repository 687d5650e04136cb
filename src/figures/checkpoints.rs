//! Figures drawn from checkpoints rather than tables: conv1 kernels through training (receptive_fields cells
//! 22-30), Gabor fit grids (cells 6-14) and effective receptive field maps with their radial profiles (cell 46).
//!
//! Each is a function of the data it draws. For a run directory, [`run_models`] finds the runs the pipeline wrote
//! (`runs/<profile>/<dataset>/<regime>/seed-<n>/`, see [`crate::run_dir`]) and [`Conv1Weights::read`] and
//! [`read_erf_maps`] read their checkpoints (`checkpoints/epoch-NNN.safetensors`, tensor `features.0.weight`) and ERF
//! maps (`erf/epoch-NNN.safetensors`, one `[side, side]` tensor per map named `<inputs>.<layer>`).
use std::path::Path;

use anyhow::{bail, Context, Result};

use super::canvas::{Figure, Mark, Panel, Series};
pub use super::image_grid::{ColourMap, Heatmap, ImageGrid};
use super::style::Style;
use crate::protocol::{DatasetId, Regime};
use crate::run_dir::RunDir;

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
}

/// Cells 22-30, in colour: `filters` of one model as RGB pictures (each min-max normalised), a square-ish mosaic
/// per checkpoint (columns).
pub fn conv1_kernels(model: &str, checkpoints: &[Conv1Weights], filters: &[usize]) -> Result<ImageGrid> {
    let across = (filters.len() as f64).sqrt().ceil() as usize;
    let cells = vec![checkpoints.iter().map(|c| c.mosaic(filters, across).map(Some)).collect::<Result<Vec<_>>>()?];
    let which = match (filters.first(), filters.last(), checkpoints.first()) {
        (Some(0), Some(&last), Some(c)) if filters.len() == c.shape[0] && last + 1 == filters.len() => {
            format!("all {} filters", filters.len())
        }
        _ => format!("filters {}", filters.iter().map(usize::to_string).collect::<Vec<_>>().join(", ")),
    };
    let kernel = checkpoints.first().map_or(11, |c| c.shape[2].max(c.shape[3]));
    Ok(ImageGrid {
        id: "conv1_kernels".into(),
        title: format!("Conv1 kernels through training: {model} ({which}, RGB, each filter min-max normalised)"),
        subtitle: String::new(),
        row_labels: vec![format!("{} filters", filters.len())],
        column_labels: checkpoints.iter().map(|c| format!("epoch {}", c.epoch)).collect(),
        cells,
        colours: ColourMap::Grey,
        colour_bar: String::new(),
        // Two screen pixels per kernel pixel.
        cell_px: (2 * (across * (kernel + 1) - 1)) as u32,
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
        subtitle: String::new(),
        row_labels: filters.iter().map(|f| format!("filter {}", f.filter)).collect(),
        column_labels: epochs.iter().map(|e| format!("epoch {e}")).collect(),
        cells: filters.iter().map(|f| f.fits.clone()).collect(),
        colours: ColourMap::Grey,
        colour_bar: "fitted Gabor, min-max normalised per fit".into(),
        cell_px: 96,
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
        subtitle: String::new(),
        row_labels: rows.iter().map(|r| r.0.clone()).collect(),
        column_labels: epochs.iter().map(|e| format!("epoch {e}")).collect(),
        cells: rows.into_iter().map(|r| r.1).collect(),
        colours: ColourMap::Hot,
        colour_bar: "mean |gradient|, min-max normalised per map".into(),
        cell_px: 96,
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
                panels.push(Panel::new(&title, "radius (input px)", "ERF, ring mean / peak", (0.0, 1.0)));
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
    let mut figure = Figure::new("erf_radial_profiles", panels.len().clamp(1, 5), panels, (380, 360));
    figure.title = "ERF radial profiles".into();
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
    fn a_mosaic_places_filters_in_rows_with_white_lines_between() {
        let mosaic = weights().mosaic(&[0, 1], 1).unwrap();
        assert_eq!((mosaic.width, mosaic.height), (2, 3));
        assert_eq!(&mosaic.values[6..12], [1.0; 6], "the white line between the two filters");
        assert_eq!(mosaic.values[..6], mosaic.values[12..]);
    }

    #[test]
    fn radial_profile_averages_rings_around_the_centre() {
        let map = Heatmap::new(3, 3, vec![1.0, 2.0, 1.0, 2.0, 8.0, 2.0, 1.0, 2.0, 1.0]).unwrap();
        // Ring 0: the centre; ring 1: the four edge neighbours (distance 1) and the corners (distance 1.41 -> 1).
        assert_eq!(radial_profile(&map), vec![(0.0, 8.0), (1.0, 1.5)]);
    }
}
