//! Loss options: a size-prefixed struct so fields can be appended without breaking callers.

use std::mem::{offset_of, size_of};

use dice_core::{Activation, DiceOptions, Reduction};

use crate::status::{DiceStatus, FfiResult, fail, guard};

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
}

/// sizeof(DiceLossOptions) in this version of the library (64-bit targets).
pub const DICE_LOSS_OPTIONS_SIZE: u32 = 64;
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
};

/// Field end offsets: the struct sizes an older caller may legitimately pass.
const FIELD_ENDS: [usize; 14] = [
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
    let mut o = DiceLossOptions::defaults();
    if !opts.is_null() {
        // SAFETY: non-NULL; every caller struct starts with a u32 struct_size.
        let size = unsafe { opts.cast::<u32>().read_unaligned() };
        let known = size_of::<DiceLossOptions>();
        let s = size as usize;
        if s > DICE_LOSS_OPTIONS_MAX_SIZE as usize {
            return fail(
                DiceStatus::StructSize,
                format!("opts.struct_size = {size} exceeds {DICE_LOSS_OPTIONS_MAX_SIZE} (uninitialised?)"),
            );
        }
        if s < known && !FIELD_ENDS.contains(&s) {
            return fail(
                DiceStatus::StructSize,
                format!("opts.struct_size = {size} is too small or ends inside a field (this library's size is {known})"),
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
                        format!("opts.struct_size = {size}: byte {i} past this library's {known}-byte struct is {b:#04x}, not zero (an option this version does not know)"),
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
        v => return fail(DiceStatus::BadOption, format!("opts.activation = {v} is not a DiceActivation (0..=2)")),
    };
    let reduction = match o.reduction {
        0 => Reduction::Mean,
        1 => Reduction::Sum,
        2 => Reduction::None,
        v => return fail(DiceStatus::BadOption, format!("opts.reduction = {v} is not a DiceReduction (0..=2)")),
    };
    if let Some(i) = o.reserved.iter().position(|&b| b != 0) {
        return fail(DiceStatus::BadOption, format!("opts.reserved[{i}] = {} must be zero", o.reserved[i]));
    }
    let weight = if o.weight_len == 0 {
        Vec::new()
    } else if o.weight.is_null() {
        return fail(DiceStatus::NullPointer, format!("opts.weight is NULL with weight_len = {}", o.weight_len));
    } else if o.weight_len > (isize::MAX as usize) / 8 {
        return fail(DiceStatus::BadWeight, format!("opts.weight_len = {} is implausible", o.weight_len));
    } else if !(o.weight as usize).is_multiple_of(align_of::<f64>()) {
        return fail(DiceStatus::Misaligned, "opts.weight is not aligned to 8 bytes");
    } else {
        // SAFETY: non-NULL, aligned, readable for weight_len doubles by contract; copied at once.
        unsafe { std::slice::from_raw_parts(o.weight, o.weight_len) }.to_vec()
    };
    Ok(DiceOptions {
        activation,
        include_background: flag("include_background", o.include_background)?,
        squared_pred: flag("squared_pred", o.squared_pred)?,
        jaccard: flag("jaccard", o.jaccard)?,
        smooth_nr: o.smooth_nr,
        smooth_dr: o.smooth_dr,
        batch: flag("batch", o.batch)?,
        weight,
        reduction,
        ignore_index: if flag("has_ignore_index", o.has_ignore_index)? { Some(o.ignore_index) } else { None },
        soft_label: flag("soft_label", o.soft_label)?,
        ..Default::default()
    })
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
pub unsafe extern "C" fn dice_loss_options_init(opts: *mut DiceLossOptions, struct_size: usize) -> DiceStatus {
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
                format!("struct_size = {struct_size} is not a valid DiceLossOptions size (this library's is {known})"),
            );
        }
        let mut d = DiceLossOptions::defaults();
        d.struct_size = struct_size as u32;
        let bytes = opts.cast::<u8>();
        // SAFETY: `opts` is writable for struct_size bytes by contract; we copy
        // min(struct_size, known) bytes from a local and zero the rest, all within that range.
        unsafe {
            std::ptr::copy_nonoverlapping((&raw const d).cast::<u8>(), bytes, struct_size.min(known));
            if struct_size > known {
                std::ptr::write_bytes(bytes.add(known), 0, struct_size - known);
            }
        }
        Ok(())
    })
}
