//! The public entry points: validate once, plan, then run the engine.
//!
//! Input (N, C, spatial...) of rank 3..=6; target dense of the same shape or a label map
//! (N, 1, spatial...) / (N, spatial...); gradient output of the input's shape.

use crate::context::Context;
use crate::engine::{self, Job, TargetSrc};
use crate::error::{DiceError, Result};
use crate::finalize::{Coefficients, Finalized, finalize};
use crate::float::Float;
use crate::kernel::KernelCfg;
use crate::kernel::pointwise::PointwiseCfg;
use crate::limits;
use crate::options::{Activation, DenseIgnore, DiceOptions, FocalAlpha, PointwiseKind};
use crate::plan::Plan;
use crate::stats::Stats;
use crate::target::{Labels, Target};
use crate::tensor::{Layout, TensorView, TensorViewMut};

fn label_layout(l: &Labels<'_>) -> Layout {
    match l {
        Labels::U8(v) => *v.layout(),
        Labels::U16(v) => *v.layout(),
        Labels::I32(v) => *v.layout(),
        Labels::I64(v) => *v.layout(),
    }
}

/// Labels shaped (N, spatial...) gain a channel axis of extent 1 and stride 0.
fn with_channel<'a>(l: Labels<'a>, input_rank: usize) -> Result<Labels<'a>> {
    let layout = label_layout(&l);
    if layout.rank() + 1 != input_rank {
        return Ok(l);
    }
    let layout = layout.with_inserted(1, 1, 0);
    Ok(match l {
        Labels::U8(v) => Labels::U8(v.relayout("target", layout)?),
        Labels::U16(v) => Labels::U16(v.relayout("target", layout)?),
        Labels::I32(v) => Labels::I32(v.relayout("target", layout)?),
        Labels::I64(v) => Labels::I64(v.relayout("target", layout)?),
    })
}

/// The loss mask as the plan reads it: (N, 1, spatial...) (a (N, spatial...) mask gains the
/// channel axis), channel stride 0 so it broadcasts over the channels.
fn mask_view<'a, T: Float>(mask: &TensorView<'a, T>, input: &Layout) -> Result<TensorView<'a, T>> {
    let ml = mask.layout();
    let mut expected = input.shape().to_vec();
    expected[1] = 1;
    let ml = if ml.rank() + 1 == input.rank() { ml.with_inserted(1, 1, 0) } else { *ml };
    if ml.shape() != expected.as_slice() {
        return Err(DiceError::ShapeMismatch {
            arg: "loss_mask",
            expected,
            got: mask.shape().to_vec(),
        });
    }
    let mut strides = ml.strides().to_vec();
    strides[1] = 0;
    mask.relayout("loss_mask", Layout::new("loss_mask", ml.shape(), &strides)?)
}

/// Validates the call and builds the job shared by every step.
fn prepare<'a, T: Float>(
    ctx: &Context,
    input: &TensorView<'a, T>,
    target: &Target<'a, T>,
    mask: Option<&TensorView<'a, T>>,
    output: Option<&Layout>,
    opts: &DiceOptions,
) -> Result<Job<'a, T>> {
    let il = input.layout();
    if !(3..=6).contains(&il.rank()) {
        return Err(DiceError::Rank { arg: "input", rank: il.rank(), min: 3, max: 6 });
    }
    for d in 0..2 {
        if il.shape()[d] == 0 {
            return Err(DiceError::EmptyDim { arg: "input", dim: d });
        }
    }
    let c = il.shape()[1];
    limits::check_classes("input", c)?;
    let (src, tl) = match *target {
        Target::Dense(t) => {
            if t.shape() != il.shape() {
                return Err(DiceError::ShapeMismatch {
                    arg: "target",
                    expected: il.shape().to_vec(),
                    got: t.shape().to_vec(),
                });
            }
            (TargetSrc::Dense(t), *t.layout())
        }
        Target::Labels(l) => {
            let l = with_channel(l, il.rank())?;
            let ll = label_layout(&l);
            let mut expected = il.shape().to_vec();
            expected[1] = 1;
            if ll.shape() != expected.as_slice() {
                let mut alt = il.shape().to_vec();
                alt.remove(1);
                return Err(DiceError::ShapeMismatch {
                    arg: "target",
                    expected: alt,
                    got: label_layout(&l).shape().to_vec(),
                });
            }
            (TargetSrc::Labels(l), ll)
        }
    };
    if let Some(ol) = output
        && ol.shape() != il.shape()
    {
        return Err(DiceError::ShapeMismatch {
            arg: "grad",
            expected: il.shape().to_vec(),
            got: ol.shape().to_vec(),
        });
    }
    let mask = mask.map(|m| mask_view(m, il)).transpose()?;
    if mask.is_some() && opts.temporal != 0.0 {
        return Err(DiceError::BadOption {
            name: "loss_mask",
            reason: "the temporal term takes no loss mask",
        });
    }
    let first = opts.first_class(c);
    opts.class_weights(c - first)?;
    crate::finalize::validate(opts)?;
    let pointwise = pointwise_cfg(opts, c, first)?;
    let labels = matches!(src, TargetSrc::Labels(_));
    let act = if opts.activation == Activation::Softmax && c == 1 {
        Activation::None
    } else {
        opts.activation
    };
    // A softmax elementwise term reuses the activation's softmax when both cover all channels
    // (CE always does; focal without the background normalises over the kept channels).
    let softmax_term =
        matches!(pointwise.kind, PointwiseKind::SoftmaxCe | PointwiseKind::SoftmaxFocal);
    let shared_softmax = softmax_term
        && act == Activation::Softmax
        && (pointwise.kind == PointwiseKind::SoftmaxCe || first == 0);
    let cfg = KernelCfg {
        act,
        c,
        first,
        squared: opts.squared_pred,
        soft: opts.soft_label && !opts.squared_pred && !labels,
        labels,
        masked: (!labels && opts.ignore_index.is_some()) || mask.is_some(),
        loss_mask: mask.is_some(),
        mask_per_channel: !labels
            && opts.ignore_index.is_some()
            && opts.dense_ignore == DenseIgnore::Equal,
        lse: shared_softmax,
        own_softmax: softmax_term && !shared_softmax,
    };
    if (opts.frames || opts.temporal != 0.0) && il.rank() < 4 {
        return Err(DiceError::BadOption {
            name: "frames",
            reason: "frames and the temporal term need (N, C, T, spatial...) of rank >= 4",
        });
    }
    let temporal = opts.temporal != 0.0;
    let plan =
        Plan::new(il, &tl, output, mask.as_ref().map(|m| m.layout()), opts.frames || temporal);
    let merge = if temporal && !opts.frames { il.shape()[2] } else { 1 };
    Ok(Job {
        plan,
        cfg,
        input: *input,
        target: src,
        ignore_index: opts.ignore_index,
        dense_ignore: opts.dense_ignore,
        pointwise,
        mask,
        temporal,
        merge,
        backend: ctx.backend(),
    })
}

/// Per-channel weights: none (ones), one value for all, or one per channel of `range`
/// (other channels 0).
fn per_channel(v: &[f64], c: usize, range: std::ops::Range<usize>, fill: f64) -> Result<Vec<f64>> {
    let n = range.len();
    for (i, &w) in v.iter().enumerate() {
        if !w.is_finite() || w < 0.0 {
            return Err(DiceError::BadWeight { index: i, value: w });
        }
    }
    let mut out = vec![0.0; c];
    for (k, ch) in range.enumerate() {
        out[ch] = match v.len() {
            0 => fill,
            1 => v[0],
            m if m == n => v[k],
            m => return Err(DiceError::WeightCount { expected: n, got: m }),
        };
    }
    Ok(out)
}

/// The elementwise term's constants, validated against C.
fn pointwise_cfg<T: Float>(opts: &DiceOptions, c: usize, first: usize) -> Result<PointwiseCfg<T>> {
    let pw = &opts.pointwise;
    let focal = matches!(pw.kind, PointwiseKind::SigmoidFocal | PointwiseKind::SoftmaxFocal);
    // the focal terms cover the kept channels (MONAI slices them off first; its softmax focal
    // then normalises over the kept channels only)
    let range = if focal { first..c } else { 0..c };
    let kept = range.len();
    // MONAI's FocalLoss ignores class weights with a single (kept) channel
    let weights: &[f64] = if focal && kept == 1 { &[] } else { &pw.weight };
    let w = per_channel(weights, c, range.clone(), 1.0)?;
    let (mut a_pos, mut a_neg) = (vec![1.0; c], vec![1.0; c]);
    let check = |a: f64| {
        if (0.0..=1.0).contains(&a) {
            Ok(a)
        } else {
            Err(DiceError::BadOption { name: "alpha", reason: "must be in [0, 1]" })
        }
    };
    match (&pw.alpha, pw.kind) {
        (FocalAlpha::None, _) => {}
        _ if !focal => {
            return Err(DiceError::BadOption {
                name: "alpha",
                reason: "applies to the focal terms only",
            });
        }
        (FocalAlpha::Scalar(a), PointwiseKind::SoftmaxFocal) if first > 0 => {
            check(*a)?; // MONAI ignores a scalar alpha without the background (it warns)
        }
        (FocalAlpha::Scalar(a), PointwiseKind::SoftmaxFocal) => {
            let a = check(*a)?;
            // MONAI: 1 - alpha on the background, alpha on the others
            a_pos.iter_mut().enumerate().for_each(|(ch, v)| *v = if ch == 0 { 1.0 - a } else { a });
        }
        (FocalAlpha::Scalar(a), _) => {
            let a = check(*a)?;
            for ch in range.clone() {
                (a_pos[ch], a_neg[ch]) = (a, 1.0 - a);
            }
        }
        (FocalAlpha::PerClass(v), _) => {
            if v.len() != kept {
                return Err(DiceError::WeightCount { expected: kept, got: v.len() });
            }
            for (k, ch) in range.clone().enumerate() {
                a_pos[ch] = check(v[k])?;
            }
        }
    }
    let t = |v: Vec<f64>| v.into_iter().map(T::from_f64).collect::<Vec<T>>();
    Ok(PointwiseCfg {
        kind: pw.kind,
        w: t(w),
        a_pos: t(a_pos),
        a_neg: t(a_neg),
        gamma: T::from_f64(pw.gamma),
        smooth: T::from_f64(pw.label_smoothing),
        smooth_c: T::from_f64(pw.label_smoothing / c as f64),
    })
}

/// Step 1: the sums I, P, G per (n, kept class).
pub fn dice_stats<T: Float>(
    ctx: &Context,
    input: &TensorView<'_, T>,
    target: &Target<'_, T>,
    opts: &DiceOptions,
) -> Result<Stats> {
    dice_stats_masked(ctx, input, target, None, opts)
}

/// Step 1 with an optional per-voxel loss mask m, shaped (N, 1, spatial...) or (N, spatial...)
/// and broadcast over the channels (nnU-Net's `loss_mask`): I = sum m p t, P = sum m p (m p^2),
/// G = sum m t (m t^2), and every elementwise loss and its mean weight are weighted by m.
/// Values must be finite and >= 0 ([`DiceError::BadLossMask`]); not with the temporal term.
pub fn dice_stats_masked<T: Float>(
    ctx: &Context,
    input: &TensorView<'_, T>,
    target: &Target<'_, T>,
    mask: Option<&TensorView<'_, T>>,
    opts: &DiceOptions,
) -> Result<Stats> {
    T::reduce(ctx, &prepare(ctx, input, target, mask, None, opts)?)
}

/// Step 2: loss values and local derivatives from (possibly merged) stats.
pub fn dice_finalize(stats: &Stats, opts: &DiceOptions) -> Result<Finalized> {
    finalize(stats, opts)
}

/// Step 3: the input gradient from coefficients (rows N, or 1 to apply to every item).
/// A label map or loss mask is checked in full before the first write, so `grad` is untouched
/// on failure (a read of the target that [`dice_loss_grad`] does not need).
pub fn dice_backward<T: Float>(
    ctx: &Context,
    input: &TensorView<'_, T>,
    target: &Target<'_, T>,
    opts: &DiceOptions,
    coef: &Coefficients,
    grad: &mut TensorViewMut<'_, T>,
) -> Result<()> {
    dice_backward_masked(ctx, input, target, None, opts, coef, grad)
}

/// Step 3 with the loss mask of [`dice_stats_masked`].
pub fn dice_backward_masked<T: Float>(
    ctx: &Context,
    input: &TensorView<'_, T>,
    target: &Target<'_, T>,
    mask: Option<&TensorView<'_, T>>,
    opts: &DiceOptions,
    coef: &Coefficients,
    grad: &mut TensorViewMut<'_, T>,
) -> Result<()> {
    let job = prepare(ctx, input, target, mask, Some(grad.layout()), opts)?;
    let kept = job.plan.c - job.cfg.first;
    let rows = job.plan.n / job.merge;
    if (coef.rows != rows && coef.rows != 1) || coef.classes != kept {
        return Err(DiceError::StatsMismatch {
            expected: (rows, kept),
            got: (coef.rows, coef.classes),
        });
    }
    engine::check_target(ctx, &job)?; // no reduce has read this target: fail before writing
    // SAFETY: `job` was planned with `grad`'s layout, a validated injective view over the
    // buffer `grad` borrows mutably for this call; `origin` is its element (0, ..., 0).
    unsafe { T::backward(ctx, &job, coef, grad.origin()) }
}

/// Forward: stats then finalize.
pub fn dice_loss<T: Float>(
    ctx: &Context,
    input: &TensorView<'_, T>,
    target: &Target<'_, T>,
    opts: &DiceOptions,
) -> Result<Finalized> {
    dice_loss_masked(ctx, input, target, None, opts)
}

/// Forward with the loss mask of [`dice_stats_masked`].
pub fn dice_loss_masked<T: Float>(
    ctx: &Context,
    input: &TensorView<'_, T>,
    target: &Target<'_, T>,
    mask: Option<&TensorView<'_, T>>,
    opts: &DiceOptions,
) -> Result<Finalized> {
    finalize(&dice_stats_masked(ctx, input, target, mask, opts)?, opts)
}

/// Forward and backward in one call. `upstream` as in [`Finalized::coefficients`].
pub fn dice_loss_grad<T: Float>(
    ctx: &Context,
    input: &TensorView<'_, T>,
    target: &Target<'_, T>,
    opts: &DiceOptions,
    upstream: Option<&[f64]>,
    grad: &mut TensorViewMut<'_, T>,
) -> Result<Finalized> {
    dice_loss_grad_masked(ctx, input, target, None, opts, upstream, grad)
}

/// Forward and backward with the loss mask of [`dice_stats_masked`].
pub fn dice_loss_grad_masked<T: Float>(
    ctx: &Context,
    input: &TensorView<'_, T>,
    target: &Target<'_, T>,
    mask: Option<&TensorView<'_, T>>,
    opts: &DiceOptions,
    upstream: Option<&[f64]>,
    grad: &mut TensorViewMut<'_, T>,
) -> Result<Finalized> {
    let job = prepare(ctx, input, target, mask, Some(grad.layout()), opts)?;
    let fin = finalize(&T::reduce(ctx, &job)?, opts)?;
    let coef = fin.coefficients(upstream)?;
    // SAFETY: as in `dice_backward_masked`: `job` was planned with `grad`'s layout, which
    // `grad` borrows mutably for this call.
    unsafe { T::backward(ctx, &job, &coef, grad.origin()) }?;
    Ok(fin)
}

/// The elementwise term's loss per element, written into `out` (the input's shape): for BCE
/// and the sigmoid / softmax focal terms, each element's loss times its keep weight (0 where
/// ignored, the loss-mask weight with a mask), 0 on channels the term does not cover; before
/// the term's mean and lambda. With `Reduction::Sum` or `None` and lambda 1 its sum is the
/// term's part of [`Finalized::loss`], so the gradient of the map's sum is the elementwise
/// part of [`dice_loss_grad`]'s (MONAI's `reduction="none"` of FocalLoss / DiceFocalLoss).
/// One pass (after a check of the label map or loss mask, so `out` is untouched on failure);
/// softmax CE (a per-voxel loss) is refused.
pub fn dice_pointwise_map<T: Float>(
    ctx: &Context,
    input: &TensorView<'_, T>,
    target: &Target<'_, T>,
    mask: Option<&TensorView<'_, T>>,
    opts: &DiceOptions,
    out: &mut TensorViewMut<'_, T>,
) -> Result<()> {
    if !matches!(
        opts.pointwise.kind,
        PointwiseKind::Bce | PointwiseKind::SigmoidFocal | PointwiseKind::SoftmaxFocal
    ) {
        return Err(DiceError::BadOption {
            name: "pointwise",
            reason: "the per-element map needs BCE or a focal term",
        });
    }
    let job = prepare(ctx, input, target, mask, Some(out.layout()), opts)?;
    engine::check_target(ctx, &job)?; // fail before writing
    // SAFETY: `job` was planned with `out`'s layout, a validated injective view over the
    // buffer `out` borrows mutably for this call.
    unsafe { T::pointwise_map(ctx, &job, out.origin()) }
}
