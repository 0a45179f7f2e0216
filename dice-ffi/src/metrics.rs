//! Metric entry points: confusion counts, overlap metrics and reductions, distance transforms,
//! surface-distance metrics (MONAI / medpy conventions, boundary F) and the boundary loss.
//! Semantics: docs/metrics.md. Contract as in the loss entry points: pointers NULL or valid,
//! outputs written only on DICE_STATUS_OK, lengths checked exactly.

use dice_core::boundary_loss::{BoundaryLossOptions, boundary_loss, signed_distance_maps};
use dice_core::metrics::{
    self, Confusion, Counts, Decisions, DistanceMetric, EmptyGt, GdsWeight, MetricReduction,
    OverlapMetric, Rule, SurfaceOptions,
};
use dice_core::{Activation, Labels};

use crate::context::{DiceContext, resolve};
use crate::status::{DiceStatus, Failure, FfiResult, fail, guard};
use crate::tensor::{
    self, DICE_DTYPE_BOOL, DICE_DTYPE_FLOAT, DICE_DTYPE_INT, DICE_DTYPE_UINT, DiceTensor, Parsed,
};

/// DiceDecisions.kind: integer class indices (uint8/bool/uint16/int32/int64), shaped
/// (N, 1, spatial...) or (N, spatial...).
pub const DICE_DECISIONS_LABELS: i32 = 0;
/// DiceDecisions.kind: binary or one-hot masks (uint8/bool) (N, C, spatial...), nonzero = member.
pub const DICE_DECISIONS_MASKS: i32 = 1;
/// DiceDecisions.kind: float32/float64 scores (N, C, spatial...), the first maximal channel wins.
pub const DICE_DECISIONS_ARGMAX: i32 = 2;
/// DiceDecisions.kind: float32/float64 scores (N, C, spatial...), member where value >= threshold.
pub const DICE_DECISIONS_THRESHOLD: i32 = 3;

/// A source of hard decisions: a tensor and how to read it.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct DiceDecisions {
    /// The tensor (DiceTensor contract).
    pub tensor: *const DiceTensor,
    /// DICE_DECISIONS_LABELS, _MASKS, _ARGMAX or _THRESHOLD.
    pub kind: i32,
    /// The threshold of DICE_DECISIONS_THRESHOLD (not NaN); ignored otherwise.
    pub threshold: f64,
}

/// Reads a decision source.
///
/// # Safety
/// `d` NULL or valid; its tensor honours the DiceTensor contract and is not written during 'a.
unsafe fn decisions<'a>(arg: &'static str, d: *const DiceDecisions) -> FfiResult<Decisions<'a>> {
    if d.is_null() {
        return fail(DiceStatus::NullPointer, format!("{arg} is NULL"));
    }
    // SAFETY: non-NULL and valid by contract.
    let d = unsafe { *d };
    // SAFETY: forwarded contract.
    let p = unsafe { tensor::parse(arg, d.tensor) }?;
    let (code, bits) = (p.dtype.code, p.dtype.bits);
    let bad = |what: &str| {
        fail(
            DiceStatus::BadDtype,
            format!("{arg}: dtype {} is not {what}", tensor::dtype_name(p.dtype)),
        )
    };
    // SAFETY: (every arm) the element type matches the dtype by the match; contract forwarded.
    unsafe {
        Ok(match d.kind {
            DICE_DECISIONS_LABELS => Decisions::Labels(match (code, bits) {
                (DICE_DTYPE_UINT | DICE_DTYPE_BOOL, 8) => Labels::U8(tensor::view(&p)?),
                (DICE_DTYPE_UINT, 16) => Labels::U16(tensor::view(&p)?),
                (DICE_DTYPE_INT, 32) => Labels::I32(tensor::view(&p)?),
                (DICE_DTYPE_INT, 64) => Labels::I64(tensor::view(&p)?),
                _ => return bad("a label type (uint8, bool, uint16, int32, int64)"),
            }),
            DICE_DECISIONS_MASKS => match (code, bits) {
                (DICE_DTYPE_UINT | DICE_DTYPE_BOOL, 8) => Decisions::Masks(tensor::view(&p)?),
                _ => return bad("uint8 or bool"),
            },
            DICE_DECISIONS_ARGMAX | DICE_DECISIONS_THRESHOLD => {
                let rule = if d.kind == DICE_DECISIONS_ARGMAX {
                    Rule::Argmax
                } else {
                    Rule::Threshold(d.threshold)
                };
                match (code, bits) {
                    (DICE_DTYPE_FLOAT, 32) => Decisions::F32(tensor::view(&p)?, rule),
                    (DICE_DTYPE_FLOAT, 64) => Decisions::F64(tensor::view(&p)?, rule),
                    _ => return bad("float32 or float64"),
                }
            }
            k => {
                return fail(
                    DiceStatus::BadOption,
                    format!("{arg}.kind = {k} is not a DICE_DECISIONS_* value"),
                );
            }
        })
    }
}

fn classes_arg(num_classes: i64) -> FfiResult<usize> {
    usize::try_from(num_classes).or_else(|_| {
        fail(DiceStatus::BadOption, format!("num_classes = {num_classes} is negative"))
    })
}

/// The failure of an expected output length that overflows `usize`.
fn overflow(name: &str) -> Failure {
    Failure {
        status: DiceStatus::BadLength,
        message: format!("{name}: the expected length overflows"),
    }
}

fn check_len(name: &str, got: usize, expected: usize) -> FfiResult<()> {
    if got != expected {
        return fail(DiceStatus::BadLength, format!("{name} = {got}, expected {expected}"));
    }
    Ok(())
}

/// A caller array as a slice (NULL allowed only when empty).
///
/// # Safety
/// `ptr` NULL or readable for `len` elements of T, aligned.
unsafe fn slice<'a, T>(name: &str, ptr: *const T, len: usize) -> FfiResult<&'a [T]> {
    if len == 0 {
        return Ok(&[]);
    }
    if ptr.is_null() {
        return fail(DiceStatus::NullPointer, format!("{name} is NULL with length {len}"));
    }
    if len > isize::MAX as usize / size_of::<T>().max(1) {
        return fail(DiceStatus::BadLength, format!("{name}: length {len} is implausible"));
    }
    // SAFETY: readable for len elements by contract.
    Ok(unsafe { std::slice::from_raw_parts(ptr, len) })
}

/// Copies `src` to a caller array of exactly `len` elements.
///
/// # Safety
/// `ptr` NULL or writable for `len` elements of T, aligned.
unsafe fn write<T: Copy>(name: &str, ptr: *mut T, len: usize, src: &[T]) -> FfiResult<()> {
    check_len(&format!("{name}_len"), len, src.len())?;
    if src.is_empty() {
        return Ok(());
    }
    if ptr.is_null() {
        return fail(DiceStatus::NullPointer, format!("{name} is NULL"));
    }
    // SAFETY: writable for len == src.len() elements by contract; caller memory does not
    // overlap our freshly computed `src`.
    unsafe { std::ptr::copy_nonoverlapping(src.as_ptr(), ptr, src.len()) };
    Ok(())
}

/// Confusion counts of `pred` against `gt`: `counts_out` receives N x C x 4 uint64 values
/// (tp, fp, fn, tn) per (item, class), row-major. `num_classes` is required (> 0) when both
/// sides are label maps; 0 otherwise means the channel count.
///
/// # Safety
/// Pointers NULL or valid as documented; tensors per the DiceTensor contract.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn dice_confusion(
    ctx: *const DiceContext,
    pred: *const DiceDecisions,
    gt: *const DiceDecisions,
    num_classes: i64,
    counts_out: *mut u64,
    counts_len: usize,
) -> DiceStatus {
    guard(|| {
        // SAFETY: (all) forwarded contracts.
        let (ctx, p, g) =
            unsafe { (resolve(ctx)?, decisions("pred", pred)?, decisions("gt", gt)?) };
        let classes = classes_arg(num_classes)?;
        // The output length is checked before any work.
        let grid = metrics::pair_grid(&p, &g, classes)?;
        let len = grid.items.checked_mul(grid.classes).and_then(|k| k.checked_mul(4));
        check_len("counts_len", counts_len, len.ok_or_else(|| overflow("counts_len"))?)?;
        let conf = metrics::confusion(ctx, &p, &g, classes)?;
        let mut flat = dice_core::limits::with_capacity("counts", counts_len)?;
        flat.extend(conf.counts().iter().flat_map(|k| [k.tp, k.fp, k.fn_, k.tn]));
        // SAFETY: forwarded contract.
        unsafe { write("counts", counts_out, counts_len, &flat) }
    })
}

/// Reads N x C x 4 counts.
///
/// # Safety
/// `counts` NULL or readable for items * classes * 4 values.
unsafe fn read_counts(counts: *const u64, items: usize, classes: usize) -> FfiResult<Confusion> {
    let len = items
        .checked_mul(classes)
        .and_then(|v| v.checked_mul(4))
        .map_or_else(|| fail(DiceStatus::BadLength, "items * classes * 4 overflows"), Ok)?;
    // SAFETY: forwarded contract.
    let raw = unsafe { slice("counts", counts, len) }?;
    let counts =
        raw.chunks(4).map(|k| Counts { tp: k[0], fp: k[1], fn_: k[2], tn: k[3] }).collect();
    Ok(Confusion::from_counts(items, classes, counts)?)
}

/// DICE_METRIC_* codes of dice_overlap_values.
pub const DICE_METRIC_DICE: i32 = 0;
/// IoU (Jaccard).
pub const DICE_METRIC_IOU: i32 = 1;
/// Precision.
pub const DICE_METRIC_PRECISION: i32 = 2;
/// Recall (sensitivity).
pub const DICE_METRIC_RECALL: i32 = 3;
/// Specificity.
pub const DICE_METRIC_SPECIFICITY: i32 = 4;
/// Negative predictive value.
pub const DICE_METRIC_NPV: i32 = 5;
/// Accuracy.
pub const DICE_METRIC_ACCURACY: i32 = 6;
/// F-beta (beta argument).
pub const DICE_METRIC_FBETA: i32 = 7;
/// Volume similarity.
pub const DICE_METRIC_VOLUME_SIMILARITY: i32 = 8;
/// Matthews correlation coefficient.
pub const DICE_METRIC_MCC: i32 = 9;
/// Empty ground truth gives NaN, skipped by reductions (MONAI ignore_empty=True).
pub const DICE_EMPTY_GT_NAN: i32 = 0;
/// Empty ground truth gives 1 when the prediction is empty too, else 0 (MONAI ignore_empty=False).
pub const DICE_EMPTY_GT_ONE_IF_BOTH_EMPTY: i32 = 1;
/// Empty ground truth gives 0.
pub const DICE_EMPTY_GT_ZERO: i32 = 2;

/// One metric per (item, class) from counts (N x C x 4, as dice_confusion writes them);
/// `values_out` receives N x C_kept values (C_kept = C - 1 when include_background is 0 and
/// C > 1). `beta` is used by DICE_METRIC_FBETA only.
///
/// # Safety
/// `counts` readable for items * classes * 4 values; `values_out` writable for values_len.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn dice_overlap_values(
    counts: *const u64,
    items: usize,
    classes: usize,
    metric: i32,
    beta: f64,
    empty_gt: i32,
    include_background: u8,
    values_out: *mut f64,
    values_len: usize,
) -> DiceStatus {
    guard(|| {
        // SAFETY: forwarded contract.
        let mut conf = unsafe { read_counts(counts, items, classes) }?;
        if !flag("include_background", include_background)? {
            conf = conf.without_background();
        }
        let m = match metric {
            DICE_METRIC_DICE => OverlapMetric::Dice,
            DICE_METRIC_IOU => OverlapMetric::Iou,
            DICE_METRIC_PRECISION => OverlapMetric::Precision,
            DICE_METRIC_RECALL => OverlapMetric::Recall,
            DICE_METRIC_SPECIFICITY => OverlapMetric::Specificity,
            DICE_METRIC_NPV => OverlapMetric::Npv,
            DICE_METRIC_ACCURACY => OverlapMetric::Accuracy,
            DICE_METRIC_FBETA => OverlapMetric::FBeta(beta),
            DICE_METRIC_VOLUME_SIMILARITY => OverlapMetric::VolumeSimilarity,
            DICE_METRIC_MCC => OverlapMetric::Mcc,
            v => {
                return fail(
                    DiceStatus::BadOption,
                    format!("metric = {v} is not a DICE_METRIC_* value"),
                );
            }
        };
        let e = match empty_gt {
            DICE_EMPTY_GT_NAN => EmptyGt::Nan,
            DICE_EMPTY_GT_ONE_IF_BOTH_EMPTY => EmptyGt::OneIfBothEmpty,
            DICE_EMPTY_GT_ZERO => EmptyGt::Zero,
            v => {
                return fail(
                    DiceStatus::BadOption,
                    format!("empty_gt = {v} is not a DICE_EMPTY_GT_* value"),
                );
            }
        };
        let t = metrics::overlap_values(&conf, m, e)?;
        // SAFETY: forwarded contract.
        unsafe { write("values", values_out, values_len, &t.values) }
    })
}

fn flag(name: &str, v: u8) -> FfiResult<bool> {
    match v {
        0 => Ok(false),
        1 => Ok(true),
        _ => fail(DiceStatus::BadOption, format!("{name} = {v} must be 0 or 1")),
    }
}

/// MONAI reductions (dice_metric_reduce): none (N x C), mean and sum (1), mean_batch and
/// sum_batch (C), mean_channel and sum_channel (N).
pub const DICE_METRIC_REDUCTION_NONE: i32 = 0;
/// Mean over classes then items (NaN skipped).
pub const DICE_METRIC_REDUCTION_MEAN: i32 = 1;
/// Sum of non-NaN entries.
pub const DICE_METRIC_REDUCTION_SUM: i32 = 2;
/// Mean over items, per class.
pub const DICE_METRIC_REDUCTION_MEAN_BATCH: i32 = 3;
/// Sum over items, per class.
pub const DICE_METRIC_REDUCTION_SUM_BATCH: i32 = 4;
/// Mean over classes, per item.
pub const DICE_METRIC_REDUCTION_MEAN_CHANNEL: i32 = 5;
/// Sum over classes, per item.
pub const DICE_METRIC_REDUCTION_SUM_CHANNEL: i32 = 6;

/// MONAI's `do_metric_reduction` of an N x C table: `out` and `not_nans_out` (may be NULL)
/// receive out_len values (see the DICE_METRIC_REDUCTION_* shapes).
///
/// # Safety
/// `values` readable for items * classes doubles; outputs writable for out_len doubles.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn dice_metric_reduce(
    values: *const f64,
    items: usize,
    classes: usize,
    reduction: i32,
    out: *mut f64,
    not_nans_out: *mut f64,
    out_len: usize,
) -> DiceStatus {
    guard(|| {
        let len = items
            .checked_mul(classes)
            .map_or_else(|| fail(DiceStatus::BadLength, "items * classes overflows"), Ok)?;
        // SAFETY: forwarded contract.
        let v = unsafe { slice("values", values, len) }?;
        let r = match reduction {
            DICE_METRIC_REDUCTION_NONE => MetricReduction::None,
            DICE_METRIC_REDUCTION_MEAN => MetricReduction::Mean,
            DICE_METRIC_REDUCTION_SUM => MetricReduction::Sum,
            DICE_METRIC_REDUCTION_MEAN_BATCH => MetricReduction::MeanBatch,
            DICE_METRIC_REDUCTION_SUM_BATCH => MetricReduction::SumBatch,
            DICE_METRIC_REDUCTION_MEAN_CHANNEL => MetricReduction::MeanChannel,
            DICE_METRIC_REDUCTION_SUM_CHANNEL => MetricReduction::SumChannel,
            x => {
                return fail(
                    DiceStatus::BadOption,
                    format!("reduction = {x} is not a DICE_METRIC_REDUCTION_* value"),
                );
            }
        };
        let agg = metrics::reduce(&metrics::PerItem { items, classes, values: v.to_vec() }, r);
        check_len("out_len", out_len, agg.values.len())?;
        // SAFETY: forwarded contract.
        unsafe { write("out", out, out_len, &agg.values) }?;
        if !not_nans_out.is_null() {
            // SAFETY: forwarded contract.
            unsafe { write("not_nans", not_nans_out, out_len, &agg.not_nans) }?;
        }
        Ok(())
    })
}

/// torchmetrics GeneralizedDiceScore of one batch from counts: weight 0 square, 1 simple,
/// 2 linear; `out` receives 1 value, or C_kept with per_class.
///
/// # Safety
/// As for dice_overlap_values.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn dice_generalized_dice_score(
    counts: *const u64,
    items: usize,
    classes: usize,
    include_background: u8,
    weight: i32,
    per_class: u8,
    out: *mut f64,
    out_len: usize,
) -> DiceStatus {
    guard(|| {
        // SAFETY: forwarded contract.
        let mut conf = unsafe { read_counts(counts, items, classes) }?;
        if !flag("include_background", include_background)? {
            conf = conf.without_background();
        }
        let w = match weight {
            0 => GdsWeight::Square,
            1 => GdsWeight::Simple,
            2 => GdsWeight::Linear,
            v => {
                return fail(
                    DiceStatus::BadOption,
                    format!("weight = {v} must be 0 (square), 1 (simple) or 2 (linear)"),
                );
            }
        };
        let v = metrics::generalized_dice_score(&conf, w, flag("per_class", per_class)?);
        // SAFETY: forwarded contract.
        unsafe { write("out", out, out_len, &v) }
    })
}

fn distance_metric(v: i32) -> FfiResult<DistanceMetric> {
    match v {
        0 => Ok(DistanceMetric::Euclidean),
        1 => Ok(DistanceMetric::Chessboard),
        2 => Ok(DistanceMetric::Taxicab),
        _ => fail(
            DiceStatus::BadOption,
            format!("distance_metric = {v} must be 0 (euclidean), 1 (chessboard) or 2 (taxicab)"),
        ),
    }
}

/// Parses a uint8/bool mask of ndim 1..=4.
///
/// # Safety
/// DiceTensor contract.
unsafe fn mask_view<'a>(
    arg: &'static str,
    t: *const DiceTensor,
) -> FfiResult<dice_core::TensorView<'a, u8>> {
    // SAFETY: forwarded contract.
    let p: Parsed = unsafe { tensor::parse(arg, t) }?;
    if !matches!((p.dtype.code, p.dtype.bits), (DICE_DTYPE_UINT | DICE_DTYPE_BOOL, 8)) {
        return fail(
            DiceStatus::BadDtype,
            format!("{arg}: dtype {} is not uint8 or bool", tensor::dtype_name(p.dtype)),
        );
    }
    // SAFETY: u8 elements; forwarded contract.
    unsafe { tensor::view(&p) }
}

/// Distance from every voxel of `mask` (uint8/bool, ndim 1..=4, any strides) to the nearest
/// nonzero voxel, +inf when none (0 euclidean, 1 chessboard, 2 taxicab); `spacing`: one per
/// axis or NULL/0 for 1. With `signed_` = 1 (euclidean only): the signed distance map
/// (negative inside). `out` receives numel doubles in C order. scipy's
/// distance_transform_edt(x) is this with mask = (x == 0).
///
/// # Safety
/// Pointers valid as documented.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn dice_distance_transform(
    ctx: *const DiceContext,
    mask: *const DiceTensor,
    spacing: *const f64,
    spacing_len: usize,
    metric: i32,
    signed_: u8,
    out: *mut f64,
    out_len: usize,
) -> DiceStatus {
    guard(|| {
        // SAFETY: (all) forwarded contracts.
        let (ctx, v, s) = unsafe {
            (resolve(ctx)?, mask_view("mask", mask)?, slice("spacing", spacing, spacing_len)?)
        };
        // The output length is checked before any work.
        check_len("out_len", out_len, v.layout().numel())?;
        let s: Vec<f64> = if s.is_empty() { vec![1.0; v.shape().len()] } else { s.to_vec() };
        let m = distance_metric(metric)?;
        let d = if flag("signed_", signed_)? {
            if m != DistanceMetric::Euclidean {
                return fail(DiceStatus::BadOption, "signed_ = 1 needs the euclidean metric");
            }
            metrics::signed_distance(ctx, &v, &s)?
        } else {
            metrics::distance_transform(ctx, &v, &s, m)?
        };
        // SAFETY: forwarded contract.
        unsafe { write("out", out, out_len, &d) }
    })
}

/// dice_surface_metric kinds. MONAI HausdorffDistanceMetric: 1 value per (item, kept class).
pub const DICE_SURFACE_HAUSDORFF: i32 = 0;
/// MONAI SurfaceDistanceMetric (average surface distance): 1 value each.
pub const DICE_SURFACE_AVERAGE_DISTANCE: i32 = 1;
/// MONAI SurfaceDiceMetric (normalised surface Dice): 1 value each.
pub const DICE_SURFACE_DICE: i32 = 2;
/// medpy hd, hd95, asd, assd: 4 values each.
pub const DICE_SURFACE_MEDPY: i32 = 3;
/// Boundary F-score precision, recall, F1: 3 values each.
pub const DICE_SURFACE_BOUNDARY_F: i32 = 4;
/// MONAI SurfaceDiceMetric with use_subvoxels=True: surfel areas within `class_thresholds` of
/// the other surface over all surfel areas (float32 tolerance test, as MONAI); 2 or 3 spatial
/// axes, distance_metric 0 (euclidean) only. 1 value each.
pub const DICE_SURFACE_DICE_SUBVOXELS: i32 = 5;

/// Options of dice_surface_metric (v1: `struct_size` must equal sizeof(DiceSurfaceOptions);
/// fields will only be appended). dice_surface_options_init fills the defaults.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct DiceSurfaceOptions {
    /// sizeof(DiceSurfaceOptions).
    pub struct_size: u32,
    /// 0 euclidean, 1 chessboard, 2 taxicab. Default 0.
    pub distance_metric: i32,
    /// Keep class 0. Default 0 (MONAI's default for these metrics).
    pub include_background: u8,
    /// Hausdorff: pred -> gt only. Default 0.
    pub directed: u8,
    /// Average distance: both directions. Default 0 (MONAI).
    pub symmetric: u8,
    /// Must be 0.
    pub reserved: u8,
    /// Hausdorff percentile in [0, 100]; NaN = the maximum. Default NaN.
    pub percentile: f64,
    /// Boundary F tolerance; NaN = 0.75 % of the grid diagonal. Default NaN.
    pub tolerance: f64,
    /// Spacing, one per spatial axis; NULL with spacing_len 0 = 1 on every axis.
    pub spacing: *const f64,
    /// Length of `spacing`.
    pub spacing_len: usize,
    /// Surface Dice tolerances (both surface Dice kinds), one per kept class.
    pub class_thresholds: *const f64,
    /// Length of `class_thresholds`.
    pub class_thresholds_len: usize,
}

/// Fills `*opts` with the defaults; `struct_size` must be sizeof(DiceSurfaceOptions).
///
/// # Safety
/// `opts` NULL or writable for struct_size bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn dice_surface_options_init(
    opts: *mut DiceSurfaceOptions,
    struct_size: usize,
) -> DiceStatus {
    guard(|| {
        if opts.is_null() {
            return fail(DiceStatus::NullPointer, "opts is NULL");
        }
        check_len("struct_size", struct_size, size_of::<DiceSurfaceOptions>()).map_err(
            |mut f| {
                f.status = DiceStatus::StructSize;
                f
            },
        )?;
        let d = DiceSurfaceOptions {
            struct_size: size_of::<DiceSurfaceOptions>() as u32,
            distance_metric: 0,
            include_background: 0,
            directed: 0,
            symmetric: 0,
            reserved: 0,
            percentile: f64::NAN,
            tolerance: f64::NAN,
            spacing: std::ptr::null(),
            spacing_len: 0,
            class_thresholds: std::ptr::null(),
            class_thresholds_len: 0,
        };
        // SAFETY: writable for sizeof(DiceSurfaceOptions) bytes (checked size) by contract.
        unsafe { opts.write_unaligned(d) };
        Ok(())
    })
}

/// A surface metric per (item, kept class), row-major, `per` values each (1, or 4 for medpy:
/// hd hd95 asd assd, or 3 for boundary F: precision recall f1); out_len must be
/// N * C_kept * per. `opts` NULL = defaults. Empty-mask conventions: docs/metrics.md.
///
/// # Safety
/// Pointers valid as documented.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn dice_surface_metric(
    ctx: *const DiceContext,
    pred: *const DiceDecisions,
    gt: *const DiceDecisions,
    num_classes: i64,
    kind: i32,
    opts: *const DiceSurfaceOptions,
    out: *mut f64,
    out_len: usize,
) -> DiceStatus {
    guard(|| {
        let o = if opts.is_null() {
            None
        } else {
            // SAFETY: non-NULL, readable by contract (struct_size checked before other fields).
            let size = unsafe { (*opts).struct_size } as usize;
            if size != size_of::<DiceSurfaceOptions>() {
                return fail(
                    DiceStatus::StructSize,
                    format!(
                        "opts.struct_size = {size}, expected {}",
                        size_of::<DiceSurfaceOptions>()
                    ),
                );
            }
            // SAFETY: readable for the full struct (size checked).
            Some(unsafe { opts.read_unaligned() })
        };
        let o = o.unwrap_or(DiceSurfaceOptions {
            struct_size: 0,
            distance_metric: 0,
            include_background: 0,
            directed: 0,
            symmetric: 0,
            reserved: 0,
            percentile: f64::NAN,
            tolerance: f64::NAN,
            spacing: std::ptr::null(),
            spacing_len: 0,
            class_thresholds: std::ptr::null(),
            class_thresholds_len: 0,
        });
        if o.reserved != 0 {
            return fail(DiceStatus::BadOption, "opts.reserved must be 0");
        }
        // SAFETY: (all) forwarded contracts.
        let (ctx, p, g, spacing, thresholds) = unsafe {
            (
                resolve(ctx)?,
                decisions("pred", pred)?,
                decisions("gt", gt)?,
                slice("spacing", o.spacing, o.spacing_len)?,
                slice("class_thresholds", o.class_thresholds, o.class_thresholds_len)?,
            )
        };
        let so = SurfaceOptions {
            spacing: spacing.to_vec(),
            metric: distance_metric(o.distance_metric)?,
            include_background: flag("include_background", o.include_background)?,
        };
        let c = classes_arg(num_classes)?;
        // The output length is checked before any work: N x C_kept x values per entry.
        let per = match kind {
            DICE_SURFACE_HAUSDORFF
            | DICE_SURFACE_AVERAGE_DISTANCE
            | DICE_SURFACE_DICE
            | DICE_SURFACE_DICE_SUBVOXELS => 1,
            DICE_SURFACE_MEDPY => 4,
            DICE_SURFACE_BOUNDARY_F => 3,
            k => {
                return fail(
                    DiceStatus::BadOption,
                    format!("kind = {k} is not a DICE_SURFACE_* value"),
                );
            }
        };
        let grid = metrics::pair_grid(&p, &g, c)?;
        let kept = if so.include_background || grid.classes == 1 {
            grid.classes
        } else {
            grid.classes - 1
        };
        let len = grid.items.checked_mul(kept).and_then(|k| k.checked_mul(per));
        check_len("out_len", out_len, len.ok_or_else(|| overflow("out_len"))?)?;
        let nan_none = |v: f64| if v.is_nan() { None } else { Some(v) };
        let values: Vec<f64> = match kind {
            DICE_SURFACE_HAUSDORFF => {
                metrics::hausdorff_monai(
                    ctx,
                    &p,
                    &g,
                    c,
                    &so,
                    nan_none(o.percentile),
                    flag("directed", o.directed)?,
                )?
                .values
            }
            DICE_SURFACE_AVERAGE_DISTANCE => {
                metrics::average_surface_distance_monai(
                    ctx,
                    &p,
                    &g,
                    c,
                    &so,
                    flag("symmetric", o.symmetric)?,
                )?
                .values
            }
            DICE_SURFACE_DICE => {
                metrics::surface_dice_monai(ctx, &p, &g, c, &so, thresholds)?.values
            }
            DICE_SURFACE_DICE_SUBVOXELS => {
                metrics::surface_dice_subvoxels_monai(ctx, &p, &g, c, &so, thresholds)?.values
            }
            DICE_SURFACE_MEDPY => metrics::medpy_distances(ctx, &p, &g, c, &so)?
                .2
                .iter()
                .flat_map(|m| [m.hd, m.hd95, m.asd, m.assd])
                .collect(),
            DICE_SURFACE_BOUNDARY_F => {
                let b = metrics::boundary_f(ctx, &p, &g, c, &so, nan_none(o.tolerance))?;
                (0..b.f1.values.len())
                    .flat_map(|i| [b.precision.values[i], b.recall.values[i], b.f1.values[i]])
                    .collect()
            }
            k => {
                return fail(
                    DiceStatus::BadOption,
                    format!("kind = {k} is not a DICE_SURFACE_* value"),
                );
            }
        };
        // SAFETY: forwarded contract.
        unsafe { write("out", out, out_len, &values) }
    })
}

/// Signed distance maps (float64, C order, N x C x spatial) of every class of `gt`
/// (dice_boundary_loss's phi): outside a class the distance to it, inside minus the distance
/// to its outside, 0 for an empty or full class. `num_classes` as for dice_confusion.
///
/// # Safety
/// Pointers valid as documented.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn dice_signed_distance_maps(
    ctx: *const DiceContext,
    gt: *const DiceDecisions,
    num_classes: i64,
    spacing: *const f64,
    spacing_len: usize,
    out: *mut f64,
    out_len: usize,
) -> DiceStatus {
    guard(|| {
        // SAFETY: (all) forwarded contracts.
        let (ctx, g, s) = unsafe {
            (resolve(ctx)?, decisions("gt", gt)?, slice("spacing", spacing, spacing_len)?)
        };
        let classes = classes_arg(num_classes)?;
        // The output length is checked before any work (pair_grid checks the size fits).
        let grid = metrics::pair_grid(&g, &g, classes)?;
        check_len("out_len", out_len, grid.items * grid.classes * grid.voxels())?;
        let maps = signed_distance_maps::<f64>(ctx, &g, classes, s)?;
        // SAFETY: forwarded contract.
        unsafe { write("out", out, out_len, &maps) }
    })
}

/// Boundary loss (Kervadec): mean over (item, kept class, voxel) of phi * activation(input);
/// input and phi float64 (N, C, spatial...) of the same shape; activation 0 none, 1 sigmoid,
/// 2 softmax. `grad` (NULL to skip) receives d loss / d input (float64, input's shape, not
/// overlapping input or phi).
///
/// # Safety
/// Pointers valid as documented.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn dice_boundary_loss(
    ctx: *const DiceContext,
    input: *const DiceTensor,
    phi: *const DiceTensor,
    activation: i32,
    include_background: u8,
    loss_out: *mut f64,
    grad: *const DiceTensor,
) -> DiceStatus {
    guard(|| {
        if loss_out.is_null() {
            return fail(DiceStatus::NullPointer, "loss_out is NULL");
        }
        // SAFETY: (all) forwarded contracts.
        let (ctx, pi, pp) =
            unsafe { (resolve(ctx)?, tensor::parse("input", input)?, tensor::parse("phi", phi)?) };
        for p in [&pi, &pp] {
            if (p.dtype.code, p.dtype.bits) != (DICE_DTYPE_FLOAT, 64) {
                return fail(
                    DiceStatus::BadDtype,
                    format!("{}: dtype {} is not float64", p.arg, tensor::dtype_name(p.dtype)),
                );
            }
        }
        let opts = BoundaryLossOptions {
            activation: match activation {
                0 => Activation::None,
                1 => Activation::Sigmoid,
                2 => Activation::Softmax,
                v => {
                    return fail(
                        DiceStatus::BadOption,
                        format!("activation = {v} must be 0, 1 or 2"),
                    );
                }
            },
            include_background: flag("include_background", include_background)?,
        };
        // SAFETY: float64 elements checked; forwarded contract.
        let (xv, phv) = unsafe { (tensor::view::<f64>(&pi)?, tensor::view::<f64>(&pp)?) };
        let loss = if grad.is_null() {
            boundary_loss(ctx, &xv, &phv, &opts, None)?
        } else {
            // SAFETY: forwarded contract.
            let pg = unsafe { tensor::parse("grad", grad) }?;
            tensor::check_grad_dtype(&pi, &pg)?;
            for other in [&pi, &pp] {
                if pg.overlaps(other) {
                    return fail(
                        DiceStatus::AliasedOutput,
                        format!("grad overlaps the memory of {}", other.arg),
                    );
                }
            }
            // SAFETY: float64, shares no byte with the inputs (checked), no other view exists.
            let mut gv = unsafe { tensor::view_mut::<f64>(&pg) }?;
            boundary_loss(ctx, &xv, &phv, &opts, Some(&mut gv))?
        };
        // SAFETY: non-NULL, writable by contract.
        unsafe { loss_out.write_unaligned(loss) };
        Ok(())
    })
}

/// DeepMind surface-distance: `counts_out` (2 values) receives the number of surfels of
/// `mask_gt` and of `mask_pred` (uint8/bool, both 2-D or both 3-D, same shape, any strides),
/// the lengths dice_surface_distances needs. `spacing`: one per axis (required).
///
/// # Safety
/// Pointers valid as documented.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn dice_surfel_counts(
    ctx: *const DiceContext,
    mask_gt: *const DiceTensor,
    mask_pred: *const DiceTensor,
    spacing: *const f64,
    spacing_len: usize,
    counts_out: *mut u64,
    counts_len: usize,
) -> DiceStatus {
    guard(|| {
        // SAFETY: (all) forwarded contracts.
        let (ctx, g, p, s) = unsafe {
            (
                resolve(ctx)?,
                mask_view("mask_gt", mask_gt)?,
                mask_view("mask_pred", mask_pred)?,
                slice("spacing", spacing, spacing_len)?,
            )
        };
        let (a, b) = metrics::surfel_counts(ctx, &g, &p, s)?;
        // SAFETY: forwarded contract.
        unsafe { write("counts_out", counts_out, counts_len, &[a as u64, b as u64]) }
    })
}

/// DeepMind `compute_surface_distances(mask_gt, mask_pred, spacing_mm)`: per direction the
/// distances to the other surface sorted ascending (+inf when the other mask is empty) and
/// the surfel areas (2-D: contour lengths) in the same order. `n_gt` / `n_pred` must equal
/// the counts of dice_surfel_counts. Conventions: docs/metrics.md.
///
/// # Safety
/// Pointers valid as documented (each output array writable for its count).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn dice_surface_distances(
    ctx: *const DiceContext,
    mask_gt: *const DiceTensor,
    mask_pred: *const DiceTensor,
    spacing: *const f64,
    spacing_len: usize,
    distances_gt_to_pred: *mut f64,
    surfel_areas_gt: *mut f64,
    n_gt: usize,
    distances_pred_to_gt: *mut f64,
    surfel_areas_pred: *mut f64,
    n_pred: usize,
) -> DiceStatus {
    guard(|| {
        // SAFETY: (all) forwarded contracts.
        let (ctx, g, p, s) = unsafe {
            (
                resolve(ctx)?,
                mask_view("mask_gt", mask_gt)?,
                mask_view("mask_pred", mask_pred)?,
                slice("spacing", spacing, spacing_len)?,
            )
        };
        let r = metrics::surface_distances(ctx, &g, &p, s)?;
        check_len("n_gt", n_gt, r.distances_gt_to_pred.len())?;
        check_len("n_pred", n_pred, r.distances_pred_to_gt.len())?;
        // Every output is checked before any is written (outputs only on success).
        let outputs = [
            ("distances_gt_to_pred", distances_gt_to_pred.is_null(), n_gt),
            ("surfel_areas_gt", surfel_areas_gt.is_null(), n_gt),
            ("distances_pred_to_gt", distances_pred_to_gt.is_null(), n_pred),
            ("surfel_areas_pred", surfel_areas_pred.is_null(), n_pred),
        ];
        if let Some((name, _, _)) = outputs.iter().find(|(_, null, n)| *null && *n > 0) {
            return fail(DiceStatus::NullPointer, format!("{name} is NULL"));
        }
        // SAFETY: (all) forwarded contracts; lengths and pointers checked above.
        unsafe {
            write("distances_gt_to_pred", distances_gt_to_pred, n_gt, &r.distances_gt_to_pred)?;
            write("surfel_areas_gt", surfel_areas_gt, n_gt, &r.surfel_areas_gt)?;
            write("distances_pred_to_gt", distances_pred_to_gt, n_pred, &r.distances_pred_to_gt)?;
            write("surfel_areas_pred", surfel_areas_pred, n_pred, &r.surfel_areas_pred)
        }
    })
}

/// dice_surface_distance_metric kinds (DeepMind's derived metrics). `compute_average_surface_distance`:
/// 2 values (gt -> pred, pred -> gt); `param` unused.
pub const DICE_DEEPMIND_AVERAGE_DISTANCE: i32 = 0;
/// `compute_robust_hausdorff(percent = param)`: 1 value.
pub const DICE_DEEPMIND_ROBUST_HAUSDORFF: i32 = 1;
/// `compute_surface_overlap_at_tolerance(tolerance_mm = param)`: 2 values (gt, pred).
pub const DICE_DEEPMIND_SURFACE_OVERLAP: i32 = 2;
/// `compute_surface_dice_at_tolerance(tolerance_mm = param)`: 1 value.
pub const DICE_DEEPMIND_SURFACE_DICE: i32 = 3;

/// A DeepMind derived metric of the lists dice_surface_distances returned (or equivalent
/// ones: distances sorted ascending, >= 0; areas finite, >= 0; checked). `out_len` must be
/// the kind's value count.
///
/// # Safety
/// Pointers valid as documented.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn dice_surface_distance_metric(
    distances_gt_to_pred: *const f64,
    surfel_areas_gt: *const f64,
    n_gt: usize,
    distances_pred_to_gt: *const f64,
    surfel_areas_pred: *const f64,
    n_pred: usize,
    kind: i32,
    param: f64,
    out: *mut f64,
    out_len: usize,
) -> DiceStatus {
    guard(|| {
        // SAFETY: (all) forwarded contracts.
        let r = unsafe {
            metrics::SurfaceDistances {
                distances_gt_to_pred: slice("distances_gt_to_pred", distances_gt_to_pred, n_gt)?
                    .to_vec(),
                surfel_areas_gt: slice("surfel_areas_gt", surfel_areas_gt, n_gt)?.to_vec(),
                distances_pred_to_gt: slice("distances_pred_to_gt", distances_pred_to_gt, n_pred)?
                    .to_vec(),
                surfel_areas_pred: slice("surfel_areas_pred", surfel_areas_pred, n_pred)?.to_vec(),
            }
        };
        r.check()?;
        let values = match kind {
            DICE_DEEPMIND_AVERAGE_DISTANCE => {
                let (a, b) = r.average_surface_distance();
                vec![a, b]
            }
            DICE_DEEPMIND_ROBUST_HAUSDORFF => vec![r.robust_hausdorff(param)?],
            DICE_DEEPMIND_SURFACE_OVERLAP => {
                let (a, b) = r.surface_overlap_at_tolerance(param)?;
                vec![a, b]
            }
            DICE_DEEPMIND_SURFACE_DICE => vec![r.surface_dice_at_tolerance(param)?],
            _ => {
                return fail(
                    DiceStatus::BadOption,
                    format!("kind = {kind} is not a DICE_DEEPMIND_* kind"),
                );
            }
        };
        // SAFETY: forwarded contract.
        unsafe { write("out", out, out_len, &values) }
    })
}
