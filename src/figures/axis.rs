//! Axis ticks: round steps (1, 2 or 5 times a power of ten) chosen so that every axis carries several labelled
//! ticks, all written with the same number of decimals ("6.0, 6.2, 6.4", never "6, 6.20").

/// The ticks of one axis and the decimals every label of it is written with.
#[derive(Clone, Debug, PartialEq)]
pub struct Ticks {
    pub values: Vec<f64>,
    pub decimals: usize,
}

impl Ticks {
    /// Between `min` and `max` (inclusive) ticks on the largest round step that still gives at least `at_least`.
    pub fn between(min: f64, max: f64, at_least: usize) -> Ticks {
        let (min, max) = if max > min { (min, max) } else { (min - 0.5, min + 0.5) };
        let span = max - min;
        // Candidate steps from the largest that could give `at_least` ticks downwards.
        let mut exponent = (span / at_least.max(1) as f64).log10().floor() as i32 + 1;
        loop {
            for mantissa in [5.0, 2.0, 1.0] {
                let step = mantissa * 10f64.powi(exponent);
                let first = (min / step - 1e-9).ceil() as i64;
                let last = (max / step + 1e-9).floor() as i64;
                if last - first + 1 >= at_least as i64 {
                    let values = (first..=last).map(|k| k as f64 * step).collect();
                    return Ticks { values, decimals: (-exponent).max(0) as usize };
                }
            }
            exponent -= 1;
        }
    }

    /// The label of tick value `x`.
    pub fn label(&self, x: f64) -> String {
        format!("{:.*}", self.decimals, x)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(t: &Ticks) -> Vec<String> {
        t.values.iter().map(|&v| t.label(v)).collect()
    }

    #[test]
    fn a_narrow_range_still_gets_several_ticks_in_one_format() {
        // The ImageNet-12 panel of rf_size_vs_epoch: 6.15 to 6.53 had two labels, "6.20" beside "6".
        let t = Ticks::between(6.15, 6.53, 4);
        assert_eq!(labels(&t), ["6.2", "6.3", "6.4", "6.5"]);
    }

    #[test]
    fn round_ranges_get_whole_numbers() {
        assert_eq!(labels(&Ticks::between(0.0, 100.0, 4)), ["0", "20", "40", "60", "80", "100"]);
        assert_eq!(labels(&Ticks::between(0.0, 10.0, 5)), ["0", "2", "4", "6", "8", "10"]);
        assert_eq!(labels(&Ticks::between(0.0, 32.0, 5)), ["0", "5", "10", "15", "20", "25", "30"]);
    }

    #[test]
    fn fractional_steps_carry_their_decimals_on_every_label() {
        assert_eq!(labels(&Ticks::between(0.0, 1.0, 5)), ["0.0", "0.2", "0.4", "0.6", "0.8", "1.0"]);
        assert_eq!(labels(&Ticks::between(-0.013, 0.021, 4)), ["-0.01", "0.00", "0.01", "0.02"]);
    }

    #[test]
    fn an_empty_range_is_widened() {
        assert!(Ticks::between(3.0, 3.0, 3).values.len() >= 3);
    }
}
