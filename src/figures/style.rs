//! The figure catalogue `paper/figures.toml`: which figures exist, and the one declared style (names, order,
//! colours and line styles of datasets, regimes and layers) that every figure draws with.
use std::str::FromStr;

use anyhow::{bail, Context, Result};
use serde::{Deserialize, Deserializer};

use super::print::{Print, PrintWidth};
use crate::protocol::{DataSource, Profile};
use crate::vocab::{DatasetId, Layer, Regime};

/// The catalogue, embedded at build time so that the binary draws the same figures wherever it runs: the binary
/// carries `paper/figures.toml` as it was when it was built, and a project's edited copy takes effect only after a
/// rebuild (unlike the protocols and expected numbers, which are read from the project at run time).
pub const CATALOGUE_TOML: &str = include_str!("../../paper/figures.toml");

/// An sRGB colour, written `#rrggbb` in the catalogue.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Colour(pub u8, pub u8, pub u8);

impl FromStr for Colour {
    type Err = anyhow::Error;
    fn from_str(s: &str) -> Result<Colour> {
        let hex = s.strip_prefix('#').filter(|h| h.len() == 6 && h.is_ascii());
        let Some(hex) = hex else { bail!("colour '{s}' is not of the form #rrggbb") };
        let byte = |i: usize| u8::from_str_radix(&hex[i..i + 2], 16).with_context(|| format!("colour '{s}'"));
        Ok(Colour(byte(0)?, byte(2)?, byte(4)?))
    }
}

impl<'de> Deserialize<'de> for Colour {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Colour, D::Error> {
        String::deserialize(d)?.parse().map_err(serde::de::Error::custom)
    }
}

/// Line style.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Dash {
    Solid,
    Dashed,
    Dotted,
    /// Reference lines only (chance, the training sigma, thresholds), never a data series.
    DashDot,
}

impl Dash {
    /// The dash pattern in points, drawn then skipped in turn (empty: solid).
    pub fn pattern_pt(self) -> &'static [f64] {
        match self {
            Dash::Solid => &[],
            Dash::Dashed => &[3.5, 2.0],
            Dash::Dotted => &[1.0, 1.5],
            Dash::DashDot => &[4.0, 1.5, 1.0, 1.5],
        }
    }
}

/// The shape of a point's marker.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Marker {
    Circle,
    Square,
    Triangle,
    Diamond,
    Cross,
}

/// How the original's numbers are drawn over a run's (`[style.original]`): thin lines in the series' colour with
/// open markers of the series' shape, or `marker` for a series drawn without markers; one legend entry, `label`.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OriginalStyle {
    pub label: String,
    pub marker: Marker,
}

/// How the accuracy figures of such a run draw the difference run - original (`[style.difference]`): rows of
/// difference panels with a zero reference line and the reproduction allowance as an opaque band.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DifferenceStyle {
    pub y_label: String,
    /// Legend name of the zero line.
    pub zero_label: String,
    /// Legend name of the allowance band (+-1.96 sd, as `verify` computes it per curve).
    pub band_label: String,
    pub band_colour: Colour,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DatasetStyle {
    pub id: DatasetId,
    pub title: String,
    /// Number of classes: the chance line is at 100 / classes.
    pub classes: u32,
    /// Colour in figures with one line per dataset.
    pub colour: Colour,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RegimeStyle {
    pub id: Regime,
    pub label: String,
    pub colour: Colour,
    pub dash: Dash,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LayerStyle {
    /// torchvision's module name, e.g. `features.0`.
    pub id: Layer,
    /// The paper's name, e.g. `conv1`.
    pub label: String,
    /// Where layers share a panel, each has its own marker.
    pub marker: Marker,
}

/// The one declared style, and what the drawn profile adds to it ([`Style::for_profile`]).
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Style {
    /// Test sigma of the vertical reference line (the blurry models' training sigma).
    pub sigma_marker: f64,
    /// Colour of every reference line (thin, dash-dotted).
    pub reference_colour: Colour,
    /// Legend name of the chance lines (at 100 / classes).
    pub chance_label: String,
    /// Legend name of the line at ratio 1 in the ratio figures.
    pub ratio_one_label: String,
    /// Legend name of the shaded band of accuracies: their 95 % interval.
    pub interval_label: String,
    /// Legend name of the shaded band of other statistics measured with several seeds: the range over seeds.
    pub seed_range_label: String,
    /// A blurry-to-clear / clear ratio is drawn as an effect only where the clear accuracy is more than this many
    /// percentage points above chance; below, the ratio of two near-chance accuracies is noise.
    pub near_chance_margin: f64,
    /// Legend name of a series with no points because no filter's Gabor fit was valid.
    pub no_fit_label: String,
    /// Subtitle of every figure of a profile whose data are the embedded stand-ins.
    pub stand_ins_note: String,
    /// Datasets in panel order.
    pub datasets: Vec<DatasetStyle>,
    /// Regimes in legend order.
    pub regimes: Vec<RegimeStyle>,
    pub layers: Vec<LayerStyle>,
    /// The original's numbers overlaid on a run's.
    pub original: OriginalStyle,
    /// The difference run - original under a run's accuracy figures.
    pub difference: DifferenceStyle,
    /// The drawn profile's last epoch, where epoch axes end (the data's last epoch when unknown).
    #[serde(skip)]
    pub last_epoch: Option<u32>,
    /// The drawn profile's stage epochs (the ends of the blur stages), which grids of pictures show.
    #[serde(skip)]
    pub stage_epochs: Vec<u32>,
    /// The drawn profile's image side in pixels (ERF sizes are drawn in pixels of the 224-px protocol).
    #[serde(skip)]
    pub resolution: Option<u32>,
}

impl Style {
    /// The style for figures of `profile`: its class counts (the chance lines) and last epoch (the epoch axes).
    pub fn for_profile(&self, profile: &Profile) -> Style {
        let mut style = self.clone();
        for d in &mut style.datasets {
            if let Some(spec) = profile.datasets.get(&d.id) {
                d.classes = u32::try_from(spec.classes).unwrap_or(u32::MAX);
            }
        }
        style.last_epoch = Some(profile.epochs);
        style.stage_epochs.clone_from(&profile.stage_epochs);
        style.resolution = Some(profile.resolution);
        style
    }

    /// The subtitle of every figure of `profile`: which profile, and whether its data are the stand-ins.
    pub fn profile_subtitle(&self, profile: &Profile) -> String {
        match profile.data {
            DataSource::Synthetic => format!("profile {}: {}", profile.name, self.stand_ins_note),
            DataSource::Real => format!("profile {}", profile.name),
        }
    }

    /// Legend name of the line at the sigma marker.
    pub fn sigma_marker_label(&self) -> String {
        format!("test σ = {} px: the blurry models' training σ", self.sigma_marker)
    }

    /// Protocol (224-px) pixels per input pixel of the drawn profile; `None` when the profile is unknown.
    pub fn protocol_px_per_input_px(&self) -> Option<f64> {
        let protocol = crate::analysis::spatial_frequency::PAPER_RESOLUTION as f64;
        self.resolution.map(|r| protocol / f64::from(r.max(1)))
    }

    /// Legend name of the ratio points of `dataset` not drawn as an effect (clear accuracy near chance).
    pub fn near_chance_label(&self, dataset: &str) -> String {
        format!("{dataset}: clear within {} pct-pt of chance, ratio not an effect", self.near_chance_margin)
    }

    /// Chance accuracy (%) of `dataset`: 100 / classes.
    pub fn chance_pct(&self, dataset: DatasetId) -> f64 {
        100.0 / f64::from(self.dataset(dataset).classes.max(1))
    }

    pub fn dataset(&self, id: DatasetId) -> &DatasetStyle {
        self.datasets.iter().find(|d| d.id == id).unwrap_or(&self.datasets[0])
    }

    pub fn regime(&self, id: Regime) -> &RegimeStyle {
        self.regimes.iter().find(|r| r.id == id).unwrap_or(&self.regimes[0])
    }

    /// The paper's name of a layer (`features.10` -> `conv5`), or the name itself.
    pub fn layer_label(&self, id: Layer) -> &str {
        self.layers.iter().find(|l| l.id == id).map_or(id.name(), |l| l.label.as_str())
    }
}

/// One catalogue entry.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FigureEntry {
    pub id: String,
    pub title: String,
    pub shows: String,
    /// The results tables it draws; empty for figures drawn from checkpoints.
    pub tables: Vec<String>,
    /// The original notebook cell(s) it reproduces.
    pub reproduces: String,
    /// One column or both.
    pub width: PrintWidth,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Catalogue {
    pub print: Print,
    pub style: Style,
    pub figure: Vec<FigureEntry>,
}

impl Catalogue {
    /// The embedded catalogue, checked: every dataset and regime styled, figure ids unique, tables known.
    pub fn load() -> Result<Catalogue> {
        Catalogue::parse(CATALOGUE_TOML)
    }

    pub fn parse(text: &str) -> Result<Catalogue> {
        let catalogue: Catalogue = toml::from_str(text).context("cannot parse paper/figures.toml")?;
        for &id in DatasetId::ALL {
            if !catalogue.style.datasets.iter().any(|d| d.id == id) {
                bail!("paper/figures.toml: [style] declares no dataset '{id}'");
            }
        }
        for &id in Regime::ALL {
            if !catalogue.style.regimes.iter().any(|r| r.id == id) {
                bail!("paper/figures.toml: [style] declares no regime '{id}'");
            }
        }
        for (i, figure) in catalogue.figure.iter().enumerate() {
            if catalogue.figure[..i].iter().any(|f| f.id == figure.id) {
                bail!("paper/figures.toml: figure id '{}' appears twice", figure.id);
            }
            for table in &figure.tables {
                crate::results::schema(table)
                    .with_context(|| format!("paper/figures.toml: figure '{}' draws an unknown table", figure.id))?;
            }
        }
        Ok(catalogue)
    }

    /// The width in points of the catalogue's figure `id`.
    pub fn width_pt(&self, id: &str) -> Result<f64> {
        Ok(self.print.width_pt(self.entry(id)?.width))
    }

    pub fn entry(&self, id: &str) -> Result<&FigureEntry> {
        self.figure.iter().find(|f| f.id == id).with_context(|| format!("paper/figures.toml has no figure '{id}'"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_embedded_catalogue_is_complete() {
        let catalogue = Catalogue::load().unwrap();
        assert_eq!(catalogue.style.dataset(DatasetId::In100).classes, 100);
        assert_eq!(catalogue.style.last_epoch, None);
        assert_eq!(catalogue.style.regime(Regime::Blurry).dash, Dash::Dotted);
        assert_eq!(catalogue.style.layer_label(Layer::CONV5), "conv5");
    }

    #[test]
    fn a_catalogue_naming_an_unknown_layer_or_table_fails_with_that_name() {
        let layer = CATALOGUE_TOML.replacen("id = \"features.10\"", "id = \"features.11\"", 1);
        let err = format!("{:#}", Catalogue::parse(&layer).unwrap_err());
        assert!(err.contains("unknown layer 'features.11'"), "{err}");
        let table = CATALOGUE_TOML.replacen("tables = [\"erf\"]", "tables = [\"erfs\"]", 1);
        let err = format!("{:#}", Catalogue::parse(&table).unwrap_err());
        assert!(err.contains("unknown table 'erfs'"), "{err}");
    }

    #[test]
    fn a_profile_brings_its_classes_epochs_and_stand_in_note() {
        let catalogue = Catalogue::load().unwrap();
        let tiny = Profile::load("tiny").unwrap();
        let style = catalogue.style.for_profile(&tiny);
        assert_eq!(style.dataset(DatasetId::Faces).classes, 8);
        assert_eq!(style.chance_pct(DatasetId::Faces), 12.5);
        assert_eq!(style.last_epoch, Some(5));
        assert_eq!(style.profile_subtitle(&tiny), "profile tiny: embedded stand-ins, not the real datasets");
        let paper = Profile::load("paper").unwrap();
        assert_eq!(catalogue.style.for_profile(&paper).dataset(DatasetId::Faces).classes, 297);
        assert_eq!(style.profile_subtitle(&paper), "profile paper");
    }

    #[test]
    fn colours_parse_from_hex() {
        assert_eq!("#9e0b0b".parse::<Colour>().unwrap(), Colour(158, 11, 11));
        assert!("9e0b0b".parse::<Colour>().is_err());
    }
}
