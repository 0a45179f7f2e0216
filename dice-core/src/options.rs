//! Loss options. `Default` is MONAI's `DiceLoss`; every other loss of the family (Tversky,
//! Generalised Dice, focal and log forms, the smp / kornia / nnU-Net conventions, and the
//! elementwise CE / BCE / focal terms of the hybrids) is a choice of these fields.

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
    /// Which voxels a dense target masks when `ignore_index` is set.
    pub dense_ignore: DenseIgnore,
    /// The overlap index computed from the sums.
    pub overlap: Overlap,
    /// Lower bound of the score's denominator (smp `eps`, nnU-Net 1e-8); 0 = none.
    pub clamp_dr: f64,
    /// How the per-entry score becomes a loss.
    pub form: LossForm,
    /// Exponent of the per-entry loss, (1 - s)^gamma (focal Tversky); 1 = plain.
    pub gamma: f64,
    /// Apply `gamma` to the reduced loss instead, (mean)^gamma (smp's TverskyLoss).
    pub gamma_on_mean: bool,
    /// Entries whose ground truth is empty (G = 0) get loss 0 but still count (smp).
    pub zero_absent: bool,
    /// How the class weights enter.
    pub weight_mode: WeightMode,
    /// Sum the sums over the kept classes before the ratio: one entry per row (kornia's
    /// `average="micro"`).
    pub pool_classes: bool,
    /// Input channel indices whose entries enter the reduction (smp `classes`); empty = all
    /// kept classes.
    pub classes: Vec<usize>,
    /// Weight of the overlap term in the total (MONAI `lambda_dice`).
    pub lambda_overlap: f64,
    /// The elementwise term of the hybrids (CE, BCE, focal).
    pub pointwise: Pointwise,
    /// Per-frame rows: axis 2 (T of (N, C, T, ...)) joins N in indexing the rows, so every
    /// (n, t) gets its own sums and loss. Needs at least one axis after T.
    pub frames: bool,
    /// Weight lambda of the temporal-consistency term lambda mean((p_t - p_(t-1))^2) over the
    /// kept channels and consecutive frames of axis 2 (T); 0 = off. Needs rank >= 4.
    pub temporal: f64,
}

/// Which voxels of a dense target `ignore_index` masks.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum DenseIgnore {
    /// Voxels whose target is zero in every channel (MONAI with a one-hot target).
    #[default]
    AllZero,
    /// Elements whose target equals `ignore_index`, per channel (smp binary / multilabel).
    Equal,
}

/// The overlap index, from I (intersection), P (prediction) and G (ground truth) sums.
#[derive(Clone, Copy, Debug, PartialEq, Default)]
pub enum Overlap {
    /// Dice (2I + s_nr) / (P + G + s_dr), or Jaccard with `jaccard`.
    #[default]
    Dice,
    /// Tversky (I + s_nr) / (I + alpha (P - I) + beta (G - I) + s_dr): alpha weighs false
    /// positives, beta false negatives.
    Tversky {
        /// False-positive weight.
        alpha: f64,
        /// False-negative weight.
        beta: f64,
    },
    /// Generalised Dice (Sudre 2017): per row, 1 - (2 sum_c w_c I_c + s_nr) /
    /// (sum_c w_c (P_c + G_c) + s_dr), w_c from G_c; an infinite w_c (absent class) takes
    /// the largest finite weight of its row (of the pooled batch with `batch`).
    Generalized(GdlWeight),
}

/// Class weights of Generalised Dice.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum GdlWeight {
    /// 1 / G^2.
    #[default]
    Square,
    /// 1 / G.
    Simple,
    /// 1.
    Uniform,
}

/// How a score s in [0, 1] becomes a loss.
#[derive(Clone, Copy, Debug, PartialEq, Default)]
pub enum LossForm {
    /// 1 - s (raised to `gamma`).
    #[default]
    OneMinus,
    /// -ln(max(s, eps)) (smp `log_loss`).
    NegLog {
        /// Lower clamp of the score.
        eps: f64,
    },
    /// ln(cosh(1 - s)) (log-cosh Dice, Jadon 2020).
    LogCosh,
    /// -s (nnU-Net).
    Negative,
}

/// How class weights combine with the per-entry losses.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum WeightMode {
    /// Each entry's loss is multiplied by its weight; `mean` is then a plain mean (MONAI).
    #[default]
    AfterRatio,
    /// `mean` is the weighted mean sum w l / sum w (smp `class_weights`).
    WeightedMean,
    /// The weights scale each class's sums I, P, G before the ratio (kornia).
    InSums,
}

/// The elementwise term added to the overlap loss: total = lambda_overlap * overlap +
/// lambda * pointwise. It always reads the input as logits.
#[derive(Clone, Debug, PartialEq)]
pub struct Pointwise {
    /// Which term.
    pub kind: PointwiseKind,
    /// Its weight in the total (MONAI `lambda_ce` / `lambda_focal`).
    pub lambda: f64,
    /// Per-channel weights: CE class weights (all channels), BCE `pos_weight` per channel, or
    /// focal class weights (kept channels). Empty = none; one value = every channel.
    pub weight: Vec<f64>,
    /// CE label smoothing epsilon in [0, 1].
    pub label_smoothing: f64,
    /// Focal exponent.
    pub gamma: f64,
    /// Focal class balance.
    pub alpha: FocalAlpha,
}

impl Default for Pointwise {
    fn default() -> Self {
        Pointwise {
            kind: PointwiseKind::None,
            lambda: 1.0,
            weight: Vec::new(),
            label_smoothing: 0.0,
            gamma: 2.0,
            alpha: FocalAlpha::None,
        }
    }
}

/// The elementwise term.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum PointwiseKind {
    /// No elementwise term.
    #[default]
    None,
    /// Softmax cross-entropy over all C channels (PyTorch `CrossEntropyLoss`); label targets
    /// are class indices, dense targets class probabilities. Mean: divided by the summed
    /// weight of the target classes (labels) or by the voxel count (dense).
    SoftmaxCe,
    /// Binary cross-entropy with logits per element, `weight` as `pos_weight` per channel;
    /// mean over all elements.
    Bce,
    /// MONAI's sigmoid focal loss per kept element; mean over kept elements.
    SigmoidFocal,
    /// MONAI's softmax focal loss (`use_softmax`) over all channels; needs the background.
    SoftmaxFocal,
}

/// Focal class balance (MONAI `alpha`).
#[derive(Clone, Debug, PartialEq, Default)]
pub enum FocalAlpha {
    /// No balancing.
    #[default]
    None,
    /// Sigmoid: alpha on positives, 1 - alpha on negatives. Softmax: 1 - alpha on channel 0,
    /// alpha on the others.
    Scalar(f64),
    /// One value per kept channel. Sigmoid: alpha_c on positives, 1 on negatives. Softmax:
    /// alpha_c per channel.
    PerClass(Vec<f64>),
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
            dense_ignore: DenseIgnore::AllZero,
            overlap: Overlap::Dice,
            clamp_dr: 0.0,
            form: LossForm::OneMinus,
            gamma: 1.0,
            gamma_on_mean: false,
            zero_absent: false,
            weight_mode: WeightMode::AfterRatio,
            pool_classes: false,
            classes: Vec::new(),
            lambda_overlap: 1.0,
            pointwise: Pointwise::default(),
            frames: false,
            temporal: 0.0,
        }
    }
}

impl DiceOptions {
    /// First kept channel for `channels` input channels.
    pub fn first_class(&self, channels: usize) -> usize {
        usize::from(!self.include_background && channels > 1)
    }

    /// (rows, values per row) of the per-entry values for an input of this shape (N, C, ...):
    /// rows N (N T with `frames`, 1 with `batch`), and the kept classes, or 1 when the classes
    /// are summed before the ratio (Generalised Dice, `pool_classes`).
    pub fn value_shape(&self, shape: &[usize]) -> (usize, usize) {
        let (n, c) = (shape[0], shape[1]);
        let frames = if self.frames && shape.len() > 3 { shape[2] } else { 1 };
        let rows = if self.batch { 1 } else { n * frames };
        let per_row = self.pool_classes || matches!(self.overlap, Overlap::Generalized(_));
        (rows, if per_row { 1 } else { c - self.first_class(c) })
    }

    /// Whether an elementwise or temporal term is part of the loss: their per-row sums then
    /// travel with the stats.
    pub fn has_row_sums(&self) -> bool {
        self.pointwise.kind != PointwiseKind::None || self.temporal != 0.0
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
