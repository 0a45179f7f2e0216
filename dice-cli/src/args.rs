//! Command-line arguments (clap derive). Only parsing lives here; the commands turn these into
//! plans and options of their own.

use clap::{Args, Parser, Subcommand, ValueEnum};
use std::path::PathBuf;

#[derive(Parser, Debug)]
#[command(
    name = "dice",
    version,
    about = "Segmentation metrics and losses on NIfTI and NumPy volumes (dice-core)"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Score predicted label volumes against ground truths: per case, per label, and a summary.
    Eval(EvalArgs),
    /// Evaluate a loss (and optionally its gradient) on .npy logits or probabilities.
    Loss(LossArgs),
    /// Write a synthetic phantom data set (NIfTI) and evaluate it.
    Demo(DemoArgs),
}

/// Distance definitions of the surface metrics.
#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Convention {
    /// MONAI: HausdorffDistanceMetric, SurfaceDistanceMetric, SurfaceDiceMetric (edge voxels).
    Monai,
    /// DeepMind surface-distance: surfels weighted by area.
    Deepmind,
    /// medpy.metric.binary (edge voxels, pooled hd95 and assd).
    Medpy,
}

/// What a label with an empty ground truth in a case scores.
#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum EmptyPolicy {
    /// Ground-truth based scores are NaN (left out of the means); the row is kept.
    Nan,
    /// The (case, label) row is left out of every output.
    Skip,
    /// 1 (distances 0) when the prediction is empty too, else the scores of a miss.
    One,
    /// 0 (distances +inf) whatever the prediction.
    Zero,
}

#[derive(Args, Debug, Clone)]
pub struct EvalArgs {
    /// Prediction: a label volume or a folder of them (.nii, .nii.gz, .npy, .npz).
    pub pred: PathBuf,
    /// Ground truth: a label volume or a folder of them.
    pub gt: PathBuf,
    /// Only prediction files whose name ends with this; the case id is the name without it.
    #[arg(long)]
    pub suffix: Option<String>,
    /// Same for ground-truth files (default: --suffix).
    #[arg(long)]
    pub gt_suffix: Option<String>,
    /// Labels to score, e.g. 1,2,3 (default: every nonzero label seen in any case).
    #[arg(long, value_delimiter = ',')]
    pub labels: Option<Vec<u16>>,
    /// Regions, each a union of labels scored as one mask, e.g. --regions 1,2,3 2,3 3.
    #[arg(long, num_args = 1..)]
    pub regions: Vec<String>,
    /// Metrics, comma-separated (default: all of them). See docs/cli.md.
    #[arg(long, value_delimiter = ',')]
    pub metrics: Option<Vec<String>>,
    /// Distance definitions for hd, hd95, assd, asd, nsd and bf.
    #[arg(long, value_enum, default_value_t = Convention::Monai)]
    pub convention: Convention,
    /// Tolerance in mm of the surface Dice (nsd) and the boundary F-score (bf).
    #[arg(long, default_value_t = 1.0)]
    pub tolerance: f64,
    /// Scores of a label whose ground truth is empty in a case.
    #[arg(long, value_enum, default_value_t = EmptyPolicy::Nan)]
    pub empty: EmptyPolicy,
    /// Voxel spacing per axis in the file's axis order (NIfTI i,j,k; NumPy array axes);
    /// overrides the headers. NumPy files without it use 1.
    #[arg(long, value_delimiter = ',')]
    pub spacing: Option<Vec<f64>>,
    /// Relative tolerance when comparing the spacing of prediction and ground truth.
    #[arg(long, default_value_t = 1e-3)]
    pub spacing_tolerance: f64,
    /// Largest valid label: a volume holding a larger value is an error for that case.
    #[arg(long, default_value_t = u16::MAX)]
    pub max_label: u16,
    /// Write one row per case and label.
    #[arg(long)]
    pub csv: Option<PathBuf>,
    /// Write per-case scores, per-label means and the foreground mean.
    #[arg(long)]
    pub json: Option<PathBuf>,
    /// Worker threads in all (0: one per core); shared between cases and the kernels.
    #[arg(long, default_value_t = 0)]
    pub threads: usize,
    /// No progress output.
    #[arg(long, short)]
    pub quiet: bool,
    /// Stop at the first failed case.
    #[arg(long)]
    pub fail_fast: bool,
}

/// Losses of dice-core the `loss` command exposes.
#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum LossKind {
    /// Soft Dice (MONAI DiceLoss).
    Dice,
    /// Soft Jaccard (MONAI DiceLoss jaccard=True).
    Jaccard,
    /// Tversky (--alpha weighs false positives, --beta false negatives).
    Tversky,
    /// Focal Tversky: Tversky per entry raised to --gamma.
    FocalTversky,
    /// Generalised Dice (Sudre 2017), 1/G^2 weights.
    GeneralizedDice,
    /// Log-cosh Dice.
    LogCoshDice,
}

/// Reduction of the per-entry losses.
#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReductionArg {
    Mean,
    Sum,
    None,
}

#[derive(Args, Debug, Clone)]
pub struct LossArgs {
    /// Logits or probabilities, .npy (float32 or float64), shaped (N, C, spatial...).
    pub input: PathBuf,
    /// Labels: .npy/.npz integer map shaped (N, 1, spatial...), (N, spatial...) or (spatial...)
    /// for N = 1; or a NIfTI volume (read in nibabel's x, y, z axis order).
    pub target: PathBuf,
    #[arg(long, value_enum, default_value_t = LossKind::Dice)]
    pub loss: LossKind,
    /// Apply softmax over C to the input.
    #[arg(long, conflicts_with = "sigmoid")]
    pub softmax: bool,
    /// Apply a sigmoid to the input.
    #[arg(long)]
    pub sigmoid: bool,
    /// Keep channel 0 in the loss.
    #[arg(long, default_value_t = true, action = clap::ArgAction::Set)]
    pub include_background: bool,
    /// Tversky false-positive weight.
    #[arg(long, default_value_t = 0.5)]
    pub alpha: f64,
    /// Tversky false-negative weight.
    #[arg(long, default_value_t = 0.5)]
    pub beta: f64,
    /// Focal Tversky exponent.
    #[arg(long, default_value_t = 0.75)]
    pub gamma: f64,
    /// Added to the numerator.
    #[arg(long, default_value_t = 1e-5)]
    pub smooth_nr: f64,
    /// Added to the denominator.
    #[arg(long, default_value_t = 1e-5)]
    pub smooth_dr: f64,
    /// Square the prediction in the denominator.
    #[arg(long)]
    pub squared_pred: bool,
    /// Pool the sums over the batch before the ratio.
    #[arg(long)]
    pub batch: bool,
    #[arg(long, value_enum, default_value_t = ReductionArg::Mean)]
    pub reduction: ReductionArg,
    /// Write dLoss/dInput here (.npy, the input's shape and dtype).
    #[arg(long)]
    pub grad: Option<PathBuf>,
    /// Kernel threads (0: one per core).
    #[arg(long, default_value_t = 0)]
    pub threads: usize,
}

#[derive(Args, Debug, Clone)]
pub struct DemoArgs {
    /// Folder for the phantom data set (default: a new folder under the system temp dir).
    pub dir: Option<PathBuf>,
    /// Cases to write.
    #[arg(long, default_value_t = 6)]
    pub cases: usize,
    /// Worker threads (0: one per core).
    #[arg(long, default_value_t = 0)]
    pub threads: usize,
}
