//! Loss options, named and defaulted as in MONAI's `DiceLoss`.

use crate::error::{DiceError, Result};

/// Activation fused into the passes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Activation {
    /// The input already holds probabilities.
    #[default]
    None,
    /// Elementwise logistic sigmoid (multi-label).
    Sigmoid,
    /// Softmax over the channel axis (numerically stable; recomputed, never stored).
    /// With a single channel it is ignored, as MONAI does.
    Softmax,
}

/// How per-entry losses are combined.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Reduction {
    /// Plain mean over every entry (n, c), or over c with `batch`.
    #[default]
    Mean,
    /// Sum over every entry.
    Sum,
    /// One value per entry; backward takes one upstream gradient per entry.
    None,
}

/// Soft Dice / Jaccard options. `Default` gives MONAI's defaults.
#[derive(Clone, Debug, PartialEq)]
pub struct DiceOptions {
    /// Fused activation.
    pub activation: Activation,
    /// Keep channel 0. Ignored (kept) when there is a single channel, as in MONAI.
    pub include_background: bool,
    /// Square p and t in the denominator sums.
    pub squared_pred: bool,
    /// Jaccard form: 1 - (2I + s_nr) / (2(P + G - I) + s_dr).
    pub jaccard: bool,
    /// Added to the numerator 2I.
    pub smooth_nr: f64,
    /// Added to the denominator.
    pub smooth_dr: f64,
    /// Pool the sums over the batch before the ratio: one entry per class.
    pub batch: bool,
    /// Class weights after background removal: empty (none), one value (every class) or one
    /// per kept class. Each entry's loss is multiplied by its class weight.
    pub weight: Vec<f64>,
    /// Reduction of the per-entry losses.
    pub reduction: Reduction,
    /// Voxels whose label equals this value are masked out of every sum (label-map targets).
    /// With a dense target, voxels whose target is zero in every channel are masked.
    pub ignore_index: Option<i64>,
    /// Soft-label intersection sum(min(p, t)) (MONAI's `soft_label`, L1 form). Identical to
    /// the default for hard targets and with `squared_pred`.
    pub soft_label: bool,
}

impl Default for DiceOptions {
    fn default() -> Self {
        DiceOptions {
            activation: Activation::None,
            include_background: true,
            squared_pred: false,
            jaccard: false,
            smooth_nr: 1e-5,
            smooth_dr: 1e-5,
            batch: false,
            weight: Vec::new(),
            reduction: Reduction::Mean,
            ignore_index: None,
            soft_label: false,
        }
    }
}

impl DiceOptions {
    /// First kept channel for `channels` input channels.
    pub fn first_class(&self, channels: usize) -> usize {
        usize::from(!self.include_background && channels > 1)
    }

    /// Validates scalar options and the weights against `kept` classes; returns the weight
    /// of each kept class.
    pub(crate) fn class_weights(&self, kept: usize) -> Result<Vec<f64>> {
        for (name, v) in [("smooth_nr", self.smooth_nr), ("smooth_dr", self.smooth_dr)] {
            if !v.is_finite() || v < 0.0 {
                return Err(DiceError::BadOption { name, reason: "must be finite and >= 0" });
            }
        }
        for (i, &w) in self.weight.iter().enumerate() {
            if !w.is_finite() || w < 0.0 {
                return Err(DiceError::BadWeight { index: i, value: w });
            }
        }
        match self.weight.len() {
            0 => Ok(vec![1.0; kept]),
            1 => Ok(vec![self.weight[0]; kept]),
            n if n == kept => Ok(self.weight.clone()),
            n => Err(DiceError::WeightCount { expected: kept, got: n }),
        }
    }
}
