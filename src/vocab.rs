//! The study's vocabulary, defined once: every name that appears in a results table, a protocol file, the claims,
//! the tolerances or the figure catalogue is a variant here (or a constant), and every other module uses it through
//! these types. A file that names something unknown fails to load with an error that lists the valid names.
//!
//! - [`DatasetId`] and [`Regime`]: the five datasets and three training regimes;
//! - [`Layer`]: AlexNet's conv layers by torchvision module name ([`crate::model::CONV_LAYERS`]), and `all_conv`;
//! - [`RfMeasure`], [`SfStatistic`], [`ErfStatistic`], [`ErfInput`]: what the analyses measure;
//! - [`SF_HISTOGRAM`]: the original's peak-frequency histogram bins;
//! - [`ORIGINAL_STUDY_PROFILES`]: the profiles that rerun the original study on its real data.
use std::fmt;
use std::str::FromStr;

use anyhow::{bail, Context, Result};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::model::{ConvLayer, CONV_LAYERS};

/// A closed set of names: an enum whose variants are written in files by their snake_case name. It gets `ALL`,
/// `name()`, `Display`, `FromStr` (an unknown name lists the valid ones) and serde as that name.
macro_rules! vocabulary {
    ($(#[$meta:meta])* $vis:vis enum $name:ident, $what:literal { $($(#[$vmeta:meta])* $variant:ident = $text:literal,)+ }) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
        $vis enum $name {
            $($(#[$vmeta])* $variant,)+
        }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant,)+];

            /// The name used in files, tables and on the command line.
            pub fn name(self) -> &'static str {
                match self {
                    $($name::$variant => $text,)+
                }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.name())
            }
        }

        impl FromStr for $name {
            type Err = anyhow::Error;
            fn from_str(s: &str) -> Result<Self> {
                $name::ALL.iter().copied().find(|v| v.name() == s).with_context(|| {
                    let valid: Vec<&str> = $name::ALL.iter().map(|v| v.name()).collect();
                    format!("unknown {} '{s}'; valid {}s: {}", $what, $what, valid.join(", "))
                })
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, serializer: S) -> std::result::Result<S::Ok, S::Error> {
                serializer.serialize_str(self.name())
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> std::result::Result<Self, D::Error> {
                String::deserialize(deserializer)?.parse().map_err(|e: anyhow::Error| serde::de::Error::custom(e))
            }
        }
    };
}

vocabulary! {
    /// The five datasets of the paper, in the order the paper's figures show them.
    pub enum DatasetId, "dataset" {
        Faces = "faces",
        ToyboxInstance = "toybox_instance",
        ToyboxCategory = "toybox_category",
        In12 = "in12",
        In100 = "in100",
    }
}

vocabulary! {
    /// The three training regimes (the notebooks call blurry "full blur" and blurry-to-clear "blur").
    pub enum Regime, "regime" {
        Clear = "clear",
        Blurry = "blurry",
        BlurryToClear = "blurry_to_clear",
    }
}

vocabulary! {
    /// Receptive-field measures of the `rf_size` table (receptive_fields.ipynb; reference README, rf_size.csv).
    pub enum RfMeasure, "receptive-field measure" {
        /// Mean over a layer's filters of sigma_x + sigma_y of the channel-averaged |w| (kernel px).
        MomentSizeMean = "moment_size_mean",
        /// Population standard deviation of the same over the layer's filters.
        MomentSizeStd = "moment_size_std",
        /// Conv1 filters whose Gabor fit reaches R² >= 0.4.
        GaborNValid = "gabor_n_valid",
        /// Mean of (sigma_x + sigma_y) / 2 over the valid Gabor fits (cells 36/48).
        GaborSizeMeanValid = "gabor_size_mean_valid",
        /// Mean sigma_x over the valid Gabor fits (cell 18).
        GaborSigmaXMeanValid = "gabor_sigma_x_mean_valid",
        /// The original's valid-fit count per epoch of its evolution run (cell 18).
        GaborNValidEvolutionRun = "gabor_n_valid_evolution_run",
        /// Filters valid at every one of epochs 20..100 (cells 6-14); no epoch.
        GaborNValidAllEpochs20to100 = "gabor_n_valid_all_epochs_20to100",
        /// The original's valid-fit count of its size run (cells 36/48).
        GaborNValidSizeRun = "gabor_n_valid_size_run",
        /// Mean over conv1 filters of mean |w| of the per-filter normalised kernel (cells 45/57/68/79/90).
        NormkernelAbsmeanMean = "normkernel_absmean_mean",
        /// Standard deviation of the same.
        NormkernelAbsmeanStd = "normkernel_absmean_std",
    }
}

vocabulary! {
    /// Summaries of an effective receptive field map (`analysis::erf`), in input pixels or as a fraction of the side.
    pub enum ErfStatistic, "ERF statistic" {
        R50Px = "r50_px",
        R95Px = "r95_px",
        SigmaPx = "sigma_px",
        R50Frac = "r50_frac",
        R95Frac = "r95_frac",
        SigmaFrac = "sigma_frac",
    }
}

vocabulary! {
    /// The inputs an ERF map is averaged over.
    pub enum ErfInput, "ERF input" {
        /// Test images of the run's dataset.
        Images = "images",
        /// Seeded uniform noise (Luo et al.'s random-input ERF).
        Noise = "noise",
    }
}

/// A layer of the `layer` columns: one of AlexNet's conv layers (`features.0` ... `features.10`, by its position in
/// [`CONV_LAYERS`]) or `all_conv`, every feature map of the five pooled.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Layer {
    Conv(usize),
    AllConv,
}

impl Layer {
    pub const CONV1: Layer = Layer::Conv(0);
    pub const CONV5: Layer = Layer::Conv(4);
    const ALL_CONV: &'static str = "all_conv";

    /// The five conv layers, conv1 first.
    pub(crate) fn convs() -> impl Iterator<Item = Layer> {
        (0..CONV_LAYERS.len()).map(Layer::Conv)
    }

    /// The torchvision module name (`features.3`) or `all_conv`.
    pub fn name(self) -> &'static str {
        match self {
            Layer::Conv(i) => CONV_LAYERS[i].name,
            Layer::AllConv => Self::ALL_CONV,
        }
    }

    /// The conv layer's shape, `None` for `all_conv`.
    pub(crate) fn conv(self) -> Option<&'static ConvLayer> {
        match self {
            Layer::Conv(i) => CONV_LAYERS.get(i),
            Layer::AllConv => None,
        }
    }
}

impl fmt::Display for Layer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Layer {
    type Err = anyhow::Error;
    fn from_str(s: &str) -> Result<Layer> {
        if s == Self::ALL_CONV {
            return Ok(Layer::AllConv);
        }
        CONV_LAYERS.iter().position(|l| l.name == s).map(Layer::Conv).with_context(|| {
            let valid: Vec<&str> = CONV_LAYERS.iter().map(|l| l.name).chain([Self::ALL_CONV]).collect();
            format!("unknown layer '{s}'; valid layers: {}", valid.join(", "))
        })
    }
}

impl Serialize for Layer {
    fn serialize<S: Serializer>(&self, serializer: S) -> std::result::Result<S::Ok, S::Error> {
        serializer.serialize_str(self.name())
    }
}

impl<'de> Deserialize<'de> for Layer {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> std::result::Result<Self, D::Error> {
        String::deserialize(deserializer)?.parse().map_err(|e: anyhow::Error| serde::de::Error::custom(e))
    }
}

/// Equal-width histogram bins over `[0, top]`, numpy's `histogram` with `linspace(0, top, bins + 1)`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct Histogram {
    pub bins: usize,
    pub top: f64,
}

impl Histogram {
    /// Lower and upper edge of bin `i`.
    pub(crate) fn edges(&self, i: usize) -> (f64, f64) {
        let edge = |j: usize| self.top * j as f64 / self.bins as f64;
        (edge(i), edge(i + 1))
    }

    pub(crate) fn width(&self) -> f64 {
        self.top / self.bins as f64
    }

    /// The bin of `value`: bins are closed on the left, the last also on the right; outside `[0, top]`, none.
    pub(crate) fn bin_of(&self, value: f64) -> Option<usize> {
        (0.0..=self.top).contains(&value).then(|| ((value / self.width()) as usize).min(self.bins - 1))
    }
}

/// The original's conv5 peak-frequency histograms (spatial_frequency.ipynb cells 31-35): `np.linspace(0, 115, 21)`,
/// in cycles/image at 224 px.
pub(crate) const SF_HISTOGRAM: Histogram = Histogram { bins: 20, top: 115.0 };

/// Feature maps peaking above this many cycles/image (at 224 px) count as high-frequency (cells 29-47).
pub(crate) const HIGH_FREQUENCY_THRESHOLD: f64 = 25.0;

/// A statistic of the `spatial_frequency` table (spatial_frequency.ipynb), frequencies in cycles/image at 224 px.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum SfStatistic {
    /// Mean over a layer's feature maps of the peak frequency.
    MeanPeakSf,
    /// Population standard deviation of the same (this artifact's addition: the spread behind the mean's interval).
    SdPeakSf,
    /// Share of feature maps peaking above [`HIGH_FREQUENCY_THRESHOLD`].
    PropPeakSfGt25,
    /// Number of feature maps peaking above [`HIGH_FREQUENCY_THRESHOLD`].
    NPeakSfGt25,
    /// Feature maps per bin `i` of [`SF_HISTOGRAM`], written `hist_count_<lo>_<hi>` as the reference tables do.
    HistCount(usize),
}

impl SfStatistic {
    const NAMED: [(SfStatistic, &'static str); 4] = [
        (SfStatistic::MeanPeakSf, "mean_peak_sf"),
        (SfStatistic::SdPeakSf, "sd_peak_sf"),
        (SfStatistic::PropPeakSfGt25, "prop_peak_sf_gt_25"),
        (SfStatistic::NPeakSfGt25, "n_peak_sf_gt_25"),
    ];
    const HIST_PREFIX: &'static str = "hist_count_";

    #[cfg(test)]
    /// Every statistic: the four summaries, then the histogram bins.
    pub(crate) fn all() -> impl Iterator<Item = SfStatistic> {
        Self::NAMED.iter().map(|(s, _)| *s).chain((0..SF_HISTOGRAM.bins).map(SfStatistic::HistCount))
    }

    /// The bin edges of a histogram count.
    pub(crate) fn bin(self) -> Option<(f64, f64)> {
        match self {
            SfStatistic::HistCount(i) => Some(SF_HISTOGRAM.edges(i)),
            _ => None,
        }
    }

    pub(crate) fn name(self) -> String {
        match self {
            SfStatistic::HistCount(i) => {
                let (lo, hi) = SF_HISTOGRAM.edges(i);
                format!("{}{lo}_{hi}", Self::HIST_PREFIX)
            }
            named => Self::NAMED.iter().find(|(s, _)| *s == named).map_or("", |(_, n)| n).to_owned(),
        }
    }
}

impl fmt::Display for SfStatistic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name())
    }
}

impl FromStr for SfStatistic {
    type Err = anyhow::Error;
    fn from_str(s: &str) -> Result<SfStatistic> {
        if let Some((statistic, _)) = Self::NAMED.iter().find(|(_, n)| *n == s) {
            return Ok(*statistic);
        }
        if s.starts_with(Self::HIST_PREFIX) {
            if let Some(bin) = (0..SF_HISTOGRAM.bins).find(|&i| SfStatistic::HistCount(i).name() == s) {
                return Ok(SfStatistic::HistCount(bin));
            }
        }
        let (first, last) = (SfStatistic::HistCount(0).name(), SfStatistic::HistCount(SF_HISTOGRAM.bins - 1).name());
        let named: Vec<&str> = Self::NAMED.iter().map(|(_, n)| *n).collect();
        bail!(
            "unknown spatial-frequency statistic '{s}'; valid: {}, and the {} histogram bins {first} ... {last}",
            named.join(", "),
            SF_HISTOGRAM.bins
        )
    }
}

impl Serialize for SfStatistic {
    fn serialize<S: Serializer>(&self, serializer: S) -> std::result::Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.name())
    }
}

impl<'de> Deserialize<'de> for SfStatistic {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> std::result::Result<Self, D::Error> {
        String::deserialize(deserializer)?.parse().map_err(|e: anyhow::Error| serde::de::Error::custom(e))
    }
}

/// Profiles that rerun the original study on its real data: their runs are compared with, and drawn over, the
/// original's numbers (`expected/paper/`).
pub(crate) const ORIGINAL_STUDY_PROFILES: [&str; 2] = ["paper", "paper-uniform"];

/// Whether `profile` reruns the original study (see [`ORIGINAL_STUDY_PROFILES`]).
pub(crate) fn reruns_original_study(profile: &str) -> bool {
    ORIGINAL_STUDY_PROFILES.contains(&profile)
}

/// The vocabulary a column's cells come from, so that a file filtering on the column (claims, tolerances) can be
/// checked when it is loaded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Vocab {
    Dataset,
    Regime,
    Layer,
    RfMeasure,
    SfStatistic,
    ErfStatistic,
    ErfInput,
}

impl Vocab {
    /// Check that `text` names something of this vocabulary; the error lists the valid names.
    pub(crate) fn check(self, text: &str) -> Result<()> {
        match self {
            Vocab::Dataset => text.parse::<DatasetId>().map(drop),
            Vocab::Regime => text.parse::<Regime>().map(drop),
            Vocab::Layer => text.parse::<Layer>().map(drop),
            Vocab::RfMeasure => text.parse::<RfMeasure>().map(drop),
            Vocab::SfStatistic => text.parse::<SfStatistic>().map(drop),
            Vocab::ErfStatistic => text.parse::<ErfStatistic>().map(drop),
            Vocab::ErfInput => text.parse::<ErfInput>().map(drop),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_unknown_names_list_the_valid_ones() {
        for d in DatasetId::ALL {
            assert_eq!(d.name().parse::<DatasetId>().unwrap(), *d);
        }
        let err = "cats".parse::<DatasetId>().unwrap_err().to_string();
        assert!(err.contains("faces, toybox_instance, toybox_category, in12, in100"), "{err}");
        let err = "moment_size".parse::<RfMeasure>().unwrap_err().to_string();
        assert!(err.contains("moment_size_mean") && err.contains("gabor_n_valid"), "{err}");
        assert_eq!(serde_json::to_string(&RfMeasure::GaborSigmaXMeanValid).unwrap(), "\"gabor_sigma_x_mean_valid\"");
        assert_eq!(serde_json::from_str::<ErfInput>("\"noise\"").unwrap(), ErfInput::Noise);
    }

    #[test]
    fn layers_take_their_names_from_the_model() {
        let names: Vec<&str> = Layer::convs().map(Layer::name).collect();
        assert_eq!(names, ["features.0", "features.3", "features.6", "features.8", "features.10"]);
        assert_eq!("features.10".parse::<Layer>().unwrap(), Layer::CONV5);
        assert_eq!("all_conv".parse::<Layer>().unwrap(), Layer::AllConv);
        assert_eq!(Layer::CONV1.conv().unwrap().kernel, 11);
        let err = "features.1".parse::<Layer>().unwrap_err().to_string();
        assert!(err.contains("features.8, features.10, all_conv"), "{err}");
    }

    #[test]
    fn histogram_bins_are_the_originals_and_name_their_edges() {
        assert_eq!(SfStatistic::HistCount(0).name(), "hist_count_0_5.75");
        assert_eq!(SfStatistic::HistCount(3).name(), "hist_count_17.25_23");
        assert_eq!(SfStatistic::HistCount(19).name(), "hist_count_109.25_115");
        assert_eq!("hist_count_17.25_23".parse::<SfStatistic>().unwrap(), SfStatistic::HistCount(3));
        assert_eq!("mean_peak_sf".parse::<SfStatistic>().unwrap(), SfStatistic::MeanPeakSf);
        assert!("hist_count_0_5".parse::<SfStatistic>().is_err());
        assert_eq!(SfStatistic::all().count(), 24);
        assert_eq!(SF_HISTOGRAM.bin_of(5.75), Some(1));
        assert_eq!(SF_HISTOGRAM.bin_of(115.0), Some(19));
        assert_eq!(SF_HISTOGRAM.bin_of(116.0), None);
    }
}
