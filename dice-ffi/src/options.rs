//! Loss options: a size-prefixed struct so fields can be appended without breaking callers.

use std::mem::{offset_of, size_of};

use dice_core::{
    Activation, DenseIgnore, DiceOptions, FocalAlpha, GdlWeight, LossForm, Overlap, Pointwise,
    PointwiseKind, Reduction, WeightMode,
};

use crate::status::{DiceStatus, FfiResult, fail, guard};
use crate::tensor::DiceTensor;

/// Activation fused into the passes (DiceLossOptions.activation).
#[repr(i32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DiceActivation {
    /// The input already holds probabilities.
    None = 0,
    /// Elementwise logistic sigmoid (multi-label).
    Sigmoid = 1,
    /// Softmax over the channel axis (ignored with a single channel, as in MONAI).
    Softmax = 2,
}

/// How per-entry losses are combined (DiceLossOptions.reduction).
#[repr(i32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DiceReduction {
    /// Mean over every (n, class) entry, or over classes with `batch`.
    Mean = 0,
    /// Sum over every entry.
    Sum = 1,
    /// One value per entry (loss_out then holds their sum).
    None = 2,
}

/// The overlap index (DiceLossOptions.overlap).
#[repr(i32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DiceOverlap {
    /// Dice (2I + s_nr) / (P + G + s_dr); Jaccard with `jaccard`.
    Dice = 0,
    /// Tversky (I + s_nr) / (I + alpha (P - I) + beta (G - I) + s_dr).
    Tversky = 1,
    /// Generalised Dice (Sudre 2017), weights from gdl_weight; one value per row.
    Generalized = 2,
}

/// Generalised Dice class weights (DiceLossOptions.gdl_weight).
#[repr(i32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DiceGdlWeight {
    /// 1 / G^2.
    Square = 0,
    /// 1 / G.
    Simple = 1,
    /// 1.
    Uniform = 2,
}

/// How the score s becomes a loss (DiceLossOptions.form).
#[repr(i32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DiceLossForm {
    /// (1 - s)^gamma.
    OneMinus = 0,
    /// -ln(max(s, form_eps)) (smp log_loss).
    NegLog = 1,
    /// ln cosh(1 - s).
    LogCosh = 2,
    /// -s (nnU-Net).
    Negative = 3,
}

/// How class weights enter (DiceLossOptions.weight_mode).
#[repr(i32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DiceWeightMode {
    /// Multiply each entry's loss; mean is a plain mean (MONAI).
    AfterRatio = 0,
    /// Weighted mean sum w l / sum w (smp class_weights).
    WeightedMean = 1,
    /// Scale each class's sums before the ratio (kornia).
    InSums = 2,
}

/// The elementwise term of the hybrids (DiceLossOptions.pointwise); it reads the input as
/// logits whatever `activation` is.
#[repr(i32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DicePointwise {
    /// None.
    None = 0,
    /// Softmax cross-entropy over all channels (pw_weight: class weights, label_smoothing).
    SoftmaxCe = 1,
    /// BCE with logits per element (pw_weight: pos_weight per channel).
    Bce = 2,
    /// MONAI's sigmoid focal loss over the kept channels (pw_weight: class weights).
    SigmoidFocal = 3,
    /// MONAI's softmax focal loss (use_softmax); without the background, a softmax over the kept channels.
    SoftmaxFocal = 4,
}

/// Focal class balance (DiceLossOptions.focal_alpha_kind).
#[repr(i32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DiceFocalAlpha {
    /// No balancing.
    None = 0,
    /// focal_alpha: sigmoid alpha / 1 - alpha on positives / negatives; softmax 1 - alpha on
    /// channel 0 and alpha on the others.
    Scalar = 1,
    /// focal_alpha_values, one per focal channel: sigmoid alpha_c on positives (1 on
    /// negatives); softmax alpha_c per channel.
    PerClass = 2,
}

/// Options of the soft Dice / Jaccard loss, MONAI's DiceLoss semantics and defaults.
///
/// Versioning: `struct_size` must be set to sizeof(DiceLossOptions) by the caller (the
/// initialiser does it). A smaller size (an older caller) is accepted when it ends on a
/// field boundary: fields beyond it take their defaults. A larger size (a newer caller) is
/// accepted when every byte past the fields this library knows is zero. Flags are 0 or 1.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct DiceLossOptions {
    /// sizeof(DiceLossOptions) as the caller compiled it.
    pub struct_size: u32,
    /// A DiceActivation value. Default DICE_ACTIVATION_NONE.
    pub activation: i32,
    /// A DiceReduction value. Default DICE_REDUCTION_MEAN.
    pub reduction: i32,
    /// Keep channel 0 (ignored with a single channel). Default 1.
    pub include_background: u8,
    /// Square p and t in the denominator sums. Default 0.
    pub squared_pred: u8,
    /// Jaccard form 1 - (2I + s_nr) / (2(P + G - I) + s_dr). Default 0.
    pub jaccard: u8,
    /// Pool sums over the batch before the ratio: one entry per class. Default 0.
    pub batch: u8,
    /// Added to the numerator 2I; finite and >= 0. Default 1e-5.
    pub smooth_nr: f64,
    /// Added to the denominator; finite and >= 0. Default 1e-5.
    pub smooth_dr: f64,
    /// Class weights after background removal: NULL/0 (none), 1 value (every class) or one
    /// per kept class; finite and >= 0. Read during the call only. Default NULL.
    pub weight: *const f64,
    /// Number of values at `weight`. Default 0.
    pub weight_len: usize,
    /// Label value masked out of every sum when has_ignore_index is 1 (label targets; with a
    /// dense target, voxels whose target is 0 in every channel are masked). Default 0.
    pub ignore_index: i64,
    /// 1 to enable ignore_index. Default 0.
    pub has_ignore_index: u8,
    /// Soft-label intersection sum(min(p, t)) (MONAI's soft_label). Default 0.
    pub soft_label: u8,
    /// Must be zero (room for future flags).
    pub reserved: [u8; 6],
    // ---- since 0.2: the loss family (appended; a 0.1 caller's struct_size ends above) ----
    /// A DiceOverlap value. Default DICE_OVERLAP_DICE.
    pub overlap: i32,
    /// A DiceGdlWeight value (Generalised Dice). Default DICE_GDL_WEIGHT_SQUARE.
    pub gdl_weight: i32,
    /// Tversky false-positive weight; finite and >= 0. Default 0.5.
    pub tversky_alpha: f64,
    /// Tversky false-negative weight; finite and >= 0. Default 0.5.
    pub tversky_beta: f64,
    /// Lower bound of the score's denominator (smp eps, nnU-Net 1e-8); 0 = none. Default 0.
    pub clamp_dr: f64,
    /// A DiceLossForm value. Default DICE_LOSS_FORM_ONE_MINUS.
    pub form: i32,
    /// A DiceWeightMode value. Default DICE_WEIGHT_MODE_AFTER_RATIO.
    pub weight_mode: i32,
    /// Score clamp of DICE_LOSS_FORM_NEG_LOG; > 0. Default 1e-7.
    pub form_eps: f64,
    /// Exponent of the per-entry loss (focal Tversky); > 0. Default 1.
    pub gamma: f64,
    /// 1: gamma applies to the reduced loss (smp TverskyLoss). Default 0.
    pub gamma_on_mean: u8,
    /// 1: entries with an empty ground truth get loss 0 but still count (smp). Default 0.
    pub zero_absent: u8,
    /// 1: sum the sums over the kept classes before the ratio (kornia micro). Default 0.
    pub pool_classes: u8,
    /// Dense-target ignore rule: 0 = voxels zero in every channel (MONAI), 1 = elements equal
    /// to ignore_index (smp binary / multilabel). Default 0.
    pub dense_ignore: u8,
    /// A DicePointwise value. Default DICE_POINTWISE_NONE.
    pub pointwise: i32,
    /// Kept-class indices entering the reduction (smp classes); NULL/0 = all. Read during
    /// the call only. Default NULL.
    pub classes: *const u32,
    /// Number of values at `classes`. Default 0.
    pub classes_len: usize,
    /// Weight of the overlap term (MONAI lambda_dice); finite and >= 0. Default 1.
    pub lambda_overlap: f64,
    /// Weight of the elementwise term (lambda_ce / lambda_focal); finite and >= 0. Default 1.
    pub pw_lambda: f64,
    /// Elementwise-term weights (see DicePointwise): NULL/0, 1 value or one per channel it
    /// covers. Read during the call only. Default NULL.
    pub pw_weight: *const f64,
    /// Number of values at `pw_weight`. Default 0.
    pub pw_weight_len: usize,
    /// CE label smoothing in [0, 1]. Default 0.
    pub label_smoothing: f64,
    /// Focal exponent; finite and >= 0. Default 2.
    pub focal_gamma: f64,
    /// Scalar focal alpha in [0, 1] (DICE_FOCAL_ALPHA_SCALAR). Default 0.25.
    pub focal_alpha: f64,
    /// Per-class focal alphas (DICE_FOCAL_ALPHA_PER_CLASS). Default NULL.
    pub focal_alpha_values: *const f64,
    /// Number of values at `focal_alpha_values`. Default 0.
    pub focal_alpha_len: usize,
    /// A DiceFocalAlpha value. Default DICE_FOCAL_ALPHA_NONE.
    pub focal_alpha_kind: i32,
    /// 1: per-frame rows, one entry per (n, t, class) for (N, C, T, spatial...) inputs (rank
    /// >= 4); the rows of values and stats are then N x T. Default 0.
    pub frames: u8,
    /// Must be zero (room for future flags).
    pub reserved2: [u8; 3],
    /// Weight of the temporal-consistency term lambda mean((p_t - p_(t-1))^2) over the kept
    /// channels and consecutive frames of axis 2 (rank >= 4); finite and >= 0. Default 0.
    pub temporal: f64,
    // ---- since 0.3 (appended; a 0.2 caller's struct_size ends above) ----
    /// nnU-Net's per-voxel loss mask m, NULL = none: the input's float dtype, shaped
    /// (N, 1, spatial...) or (N, spatial...), any strides (0 broadcasts), values finite and >= 0
    /// (else DICE_STATUS_BAD_WEIGHT). I = sum m p t, P = sum m p (m p^2), G = sum m t (m t^2);
    /// the elementwise term weighs each voxel's loss and its mean weight by m. Not with the
    /// temporal term. Read during the call only; must not overlap grad. Default NULL.
    pub loss_mask: *const DiceTensor,
}

/// sizeof(DiceLossOptions) in this version of the library (64-bit targets).
pub const DICE_LOSS_OPTIONS_SIZE: u32 = 240;
/// sizeof(DiceLossOptions) of version 0.1 (plain Dice/Jaccard); still accepted.
pub const DICE_LOSS_OPTIONS_SIZE_V1: u32 = 64;
/// Largest struct_size accepted (a guard against uninitialised sizes).
pub const DICE_LOSS_OPTIONS_MAX_SIZE: u32 = 4096;

#[cfg(target_pointer_width = "64")]
const _: () = {
    assert!(size_of::<DiceLossOptions>() == DICE_LOSS_OPTIONS_SIZE as usize);
    assert!(offset_of!(DiceLossOptions, activation) == 4);
    assert!(offset_of!(DiceLossOptions, reduction) == 8);
    assert!(offset_of!(DiceLossOptions, include_background) == 12);
    assert!(offset_of!(DiceLossOptions, batch) == 15);
    assert!(offset_of!(DiceLossOptions, smooth_nr) == 16);
    assert!(offset_of!(DiceLossOptions, smooth_dr) == 24);
    assert!(offset_of!(DiceLossOptions, weight) == 32);
    assert!(offset_of!(DiceLossOptions, weight_len) == 40);
    assert!(offset_of!(DiceLossOptions, ignore_index) == 48);
    assert!(offset_of!(DiceLossOptions, has_ignore_index) == 56);
    assert!(offset_of!(DiceLossOptions, soft_label) == 57);
    assert!(offset_of!(DiceLossOptions, reserved) == 58);
    assert!(offset_of!(DiceLossOptions, overlap) == DICE_LOSS_OPTIONS_SIZE_V1 as usize);
    assert!(offset_of!(DiceLossOptions, classes) == 128);
    assert!(offset_of!(DiceLossOptions, focal_alpha_kind) == 216);
    assert!(offset_of!(DiceLossOptions, temporal) == 224);
    assert!(offset_of!(DiceLossOptions, loss_mask) == 232);
};

/// Field end offsets: the struct sizes an older caller may legitimately pass.
const FIELD_ENDS: [usize; 17] = [
    offset_of!(DiceLossOptions, struct_size) + 4,
    offset_of!(DiceLossOptions, activation) + 4,
    offset_of!(DiceLossOptions, reduction) + 4,
    offset_of!(DiceLossOptions, include_background) + 1,
    offset_of!(DiceLossOptions, squared_pred) + 1,
    offset_of!(DiceLossOptions, jaccard) + 1,
    offset_of!(DiceLossOptions, batch) + 1,
    offset_of!(DiceLossOptions, smooth_nr) + 8,
    offset_of!(DiceLossOptions, smooth_dr) + 8,
    offset_of!(DiceLossOptions, weight) + size_of::<*const f64>(),
    offset_of!(DiceLossOptions, weight_len) + size_of::<usize>(),
    offset_of!(DiceLossOptions, ignore_index) + 8,
    offset_of!(DiceLossOptions, has_ignore_index) + 1,
    offset_of!(DiceLossOptions, soft_label) + 1,
    DICE_LOSS_OPTIONS_SIZE_V1 as usize, // version 0.1 ends after `reserved`
    offset_of!(DiceLossOptions, temporal), // before the temporal term
    offset_of!(DiceLossOptions, loss_mask), // version 0.2 ends after `temporal`
];

impl DiceLossOptions {
    /// The defaults (MONAI's), with struct_size = the current size.
    pub const fn defaults() -> Self {
        DiceLossOptions {
            struct_size: size_of::<DiceLossOptions>() as u32,
            activation: DiceActivation::None as i32,
            reduction: DiceReduction::Mean as i32,
            include_background: 1,
            squared_pred: 0,
            jaccard: 0,
            batch: 0,
            smooth_nr: 1e-5,
            smooth_dr: 1e-5,
            weight: std::ptr::null(),
            weight_len: 0,
            ignore_index: 0,
            has_ignore_index: 0,
            soft_label: 0,
            reserved: [0; 6],
            overlap: DiceOverlap::Dice as i32,
            gdl_weight: DiceGdlWeight::Square as i32,
            tversky_alpha: 0.5,
            tversky_beta: 0.5,
            clamp_dr: 0.0,
            form: DiceLossForm::OneMinus as i32,
            weight_mode: DiceWeightMode::AfterRatio as i32,
            form_eps: 1e-7,
            gamma: 1.0,
            gamma_on_mean: 0,
            zero_absent: 0,
            pool_classes: 0,
            dense_ignore: 0,
            pointwise: DicePointwise::None as i32,
            classes: std::ptr::null(),
            classes_len: 0,
            lambda_overlap: 1.0,
            pw_lambda: 1.0,
            pw_weight: std::ptr::null(),
            pw_weight_len: 0,
            label_smoothing: 0.0,
            focal_gamma: 2.0,
            focal_alpha: 0.25,
            focal_alpha_values: std::ptr::null(),
            focal_alpha_len: 0,
            focal_alpha_kind: DiceFocalAlpha::None as i32,
            frames: 0,
            reserved2: [0; 3],
            temporal: 0.0,
            loss_mask: std::ptr::null(),
        }
    }
}

fn flag(name: &str, v: u8) -> FfiResult<bool> {
    match v {
        0 => Ok(false),
        1 => Ok(true),
        _ => fail(DiceStatus::BadOption, format!("opts.{name} = {v} must be 0 or 1")),
    }
}

/// Reads caller options (NULL = defaults) into dice-core options, copying the weights.
///
/// # Safety
/// `opts` must be NULL or readable for `opts->struct_size` bytes; `weight` must be NULL or
/// readable for `weight_len` doubles.
pub(crate) unsafe fn read(opts: *const DiceLossOptions) -> FfiResult<DiceOptions> {
    // SAFETY: forwarded contract.
    Ok(unsafe { read_with_mask(opts) }?.0)
}

/// As [`read`], plus the `loss_mask` pointer (NULL when absent or past the caller's struct).
///
/// # Safety
/// As for [`read`].
pub(crate) unsafe fn read_with_mask(
    opts: *const DiceLossOptions,
) -> FfiResult<(DiceOptions, *const DiceTensor)> {
    let mut o = DiceLossOptions::defaults();
    if !opts.is_null() {
        // SAFETY: non-NULL; every caller struct starts with a u32 struct_size.
        let size = unsafe { opts.cast::<u32>().read_unaligned() };
        let known = size_of::<DiceLossOptions>();
        let s = size as usize;
        if s > DICE_LOSS_OPTIONS_MAX_SIZE as usize {
            return fail(
                DiceStatus::StructSize,
                format!(
                    "opts.struct_size = {size} exceeds {DICE_LOSS_OPTIONS_MAX_SIZE} (uninitialised?)"
                ),
            );
        }
        if s < known && !FIELD_ENDS.contains(&s) {
            return fail(
                DiceStatus::StructSize,
                format!(
                    "opts.struct_size = {size} is too small or ends inside a field (this library's size is {known})"
                ),
            );
        }
        let bytes = opts.cast::<u8>();
        if s > known {
            for i in known..s {
                // SAFETY: i < struct_size, readable by the caller's contract.
                let b = unsafe { bytes.add(i).read() };
                if b != 0 {
                    return fail(
                        DiceStatus::StructSize,
                        format!(
                            "opts.struct_size = {size}: byte {i} past this library's {known}-byte struct is {b:#04x}, not zero (an option this version does not know)"
                        ),
                    );
                }
            }
        }
        // SAFETY: min(s, known) bytes are readable from the caller's struct and writable in
        // `o`; every field is plain data, so any byte pattern is a valid value.
        unsafe {
            std::ptr::copy_nonoverlapping(bytes, (&raw mut o).cast::<u8>(), s.min(known));
        }
    }
    let activation = match o.activation {
        0 => Activation::None,
        1 => Activation::Sigmoid,
        2 => Activation::Softmax,
        v => {
            return fail(
                DiceStatus::BadOption,
                format!("opts.activation = {v} is not a DiceActivation (0..=2)"),
            );
        }
    };
    let reduction = match o.reduction {
        0 => Reduction::Mean,
        1 => Reduction::Sum,
        2 => Reduction::None,
        v => {
            return fail(
                DiceStatus::BadOption,
                format!("opts.reduction = {v} is not a DiceReduction (0..=2)"),
            );
        }
    };
    if let Some(i) = o.reserved.iter().position(|&b| b != 0) {
        return fail(
            DiceStatus::BadOption,
            format!("opts.reserved[{i}] = {} must be zero", o.reserved[i]),
        );
    }
    if let Some(i) = o.reserved2.iter().position(|&b| b != 0) {
        return fail(
            DiceStatus::BadOption,
            format!("opts.reserved2[{i}] = {} must be zero", o.reserved2[i]),
        );
    }
    // SAFETY: (all four) each pointer is NULL or readable for its length by contract.
    let weight = unsafe { array("weight", o.weight, o.weight_len) }?;
    // SAFETY: as above.
    let pw_weight = unsafe { array("pw_weight", o.pw_weight, o.pw_weight_len) }?;
    // SAFETY: as above.
    let alphas = unsafe { array("focal_alpha_values", o.focal_alpha_values, o.focal_alpha_len) }?;
    // SAFETY: as above.
    let classes = unsafe { array("classes", o.classes, o.classes_len) }?;
    let overlap = match o.overlap {
        0 => Overlap::Dice,
        1 => Overlap::Tversky { alpha: o.tversky_alpha, beta: o.tversky_beta },
        2 => Overlap::Generalized(match o.gdl_weight {
            0 => GdlWeight::Square,
            1 => GdlWeight::Simple,
            2 => GdlWeight::Uniform,
            v => {
                return fail(
                    DiceStatus::BadOption,
                    format!("opts.gdl_weight = {v} is not a DiceGdlWeight (0..=2)"),
                );
            }
        }),
        v => {
            return fail(
                DiceStatus::BadOption,
                format!("opts.overlap = {v} is not a DiceOverlap (0..=2)"),
            );
        }
    };
    let form = match o.form {
        0 => LossForm::OneMinus,
        1 => LossForm::NegLog { eps: o.form_eps },
        2 => LossForm::LogCosh,
        3 => LossForm::Negative,
        v => {
            return fail(
                DiceStatus::BadOption,
                format!("opts.form = {v} is not a DiceLossForm (0..=3)"),
            );
        }
    };
    let weight_mode = match o.weight_mode {
        0 => WeightMode::AfterRatio,
        1 => WeightMode::WeightedMean,
        2 => WeightMode::InSums,
        v => {
            return fail(
                DiceStatus::BadOption,
                format!("opts.weight_mode = {v} is not a DiceWeightMode (0..=2)"),
            );
        }
    };
    let kind = match o.pointwise {
        0 => PointwiseKind::None,
        1 => PointwiseKind::SoftmaxCe,
        2 => PointwiseKind::Bce,
        3 => PointwiseKind::SigmoidFocal,
        4 => PointwiseKind::SoftmaxFocal,
        v => {
            return fail(
                DiceStatus::BadOption,
                format!("opts.pointwise = {v} is not a DicePointwise (0..=4)"),
            );
        }
    };
    let alpha = match o.focal_alpha_kind {
        0 => FocalAlpha::None,
        1 => FocalAlpha::Scalar(o.focal_alpha),
        2 => FocalAlpha::PerClass(alphas),
        v => {
            return fail(
                DiceStatus::BadOption,
                format!("opts.focal_alpha_kind = {v} is not a DiceFocalAlpha (0..=2)"),
            );
        }
    };
    let dense_ignore = match o.dense_ignore {
        0 => DenseIgnore::AllZero,
        1 => DenseIgnore::Equal,
        v => return fail(DiceStatus::BadOption, format!("opts.dense_ignore = {v} must be 0 or 1")),
    };
    let core = DiceOptions {
        activation,
        include_background: flag("include_background", o.include_background)?,
        squared_pred: flag("squared_pred", o.squared_pred)?,
        jaccard: flag("jaccard", o.jaccard)?,
        smooth_nr: o.smooth_nr,
        smooth_dr: o.smooth_dr,
        batch: flag("batch", o.batch)?,
        weight,
        reduction,
        ignore_index: if flag("has_ignore_index", o.has_ignore_index)? {
            Some(o.ignore_index)
        } else {
            None
        },
        soft_label: flag("soft_label", o.soft_label)?,
        dense_ignore,
        overlap,
        clamp_dr: o.clamp_dr,
        form,
        gamma: o.gamma,
        gamma_on_mean: flag("gamma_on_mean", o.gamma_on_mean)?,
        zero_absent: flag("zero_absent", o.zero_absent)?,
        weight_mode,
        pool_classes: flag("pool_classes", o.pool_classes)?,
        classes: classes.into_iter().map(|c: u32| c as usize).collect(),
        lambda_overlap: o.lambda_overlap,
        pointwise: Pointwise {
            kind,
            lambda: o.pw_lambda,
            weight: pw_weight,
            label_smoothing: o.label_smoothing,
            gamma: o.focal_gamma,
            alpha,
        },
        frames: flag("frames", o.frames)?,
        temporal: o.temporal,
    };
    Ok((core, o.loss_mask))
}

/// Copies a caller array (NULL allowed only with len 0).
///
/// # Safety
/// `ptr` must be NULL or readable for `len` values of `T`.
unsafe fn array<T: Copy>(name: &str, ptr: *const T, len: usize) -> FfiResult<Vec<T>> {
    if len == 0 {
        return Ok(Vec::new());
    }
    if ptr.is_null() {
        return fail(
            DiceStatus::NullPointer,
            format!("opts.{name} is NULL with {name}_len = {len}"),
        );
    }
    if len > (isize::MAX as usize) / size_of::<T>() {
        return fail(DiceStatus::BadLength, format!("opts.{name}_len = {len} is implausible"));
    }
    if !(ptr as usize).is_multiple_of(align_of::<T>()) {
        return fail(
            DiceStatus::Misaligned,
            format!("opts.{name} is not aligned to {} bytes", align_of::<T>()),
        );
    }
    // SAFETY: non-NULL, aligned, readable for len values by contract; copied at once.
    Ok(unsafe { std::slice::from_raw_parts(ptr, len) }.to_vec())
}

/// Fills `*opts` with the defaults, writing `struct_size` bytes (pass
/// sizeof(DiceLossOptions); a smaller value from an older header writes only its fields).
/// Prefer the inline `dice_loss_options_default(opts)` from the header.
///
/// Returns DICE_STATUS_NULL_POINTER for NULL, DICE_STATUS_STRUCT_SIZE for a size this
/// library cannot fill (see DiceLossOptions); a larger size gets zeros past the known fields.
///
/// # Safety
/// `opts` must be writable for `struct_size` bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn dice_loss_options_init(
    opts: *mut DiceLossOptions,
    struct_size: usize,
) -> DiceStatus {
    guard(|| {
        if opts.is_null() {
            return fail(DiceStatus::NullPointer, "opts is NULL");
        }
        let known = size_of::<DiceLossOptions>();
        let ok_size = struct_size <= DICE_LOSS_OPTIONS_MAX_SIZE as usize
            && (struct_size >= known || FIELD_ENDS.contains(&struct_size));
        if !ok_size {
            return fail(
                DiceStatus::StructSize,
                format!(
                    "struct_size = {struct_size} is not a valid DiceLossOptions size (this library's is {known})"
                ),
            );
        }
        let mut d = DiceLossOptions::defaults();
        d.struct_size = struct_size as u32;
        let bytes = opts.cast::<u8>();
        // SAFETY: `opts` is writable for struct_size bytes by contract; we copy
        // min(struct_size, known) bytes from a local and zero the rest, all within that range.
        unsafe {
            std::ptr::copy_nonoverlapping(
                (&raw const d).cast::<u8>(),
                bytes,
                struct_size.min(known),
            );
            if struct_size > known {
                std::ptr::write_bytes(bytes.add(known), 0, struct_size - known);
            }
        }
        Ok(())
    })
}
