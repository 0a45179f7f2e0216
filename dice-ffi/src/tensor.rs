//! The tensor descriptor (DLPack's DLTensor layout) and its conversion to dice-core views.

use std::ffi::c_void;
use std::ptr::NonNull;

use dice_core::tensor::MAX_RANK;
use dice_core::{Labels, Target, TensorView, TensorViewMut};

use crate::status::{DiceStatus, FfiResult, fail};

/// DLPack device type of host memory (kDLCPU), the only one accepted.
pub const DICE_DEVICE_CPU: i32 = 1;
/// DLPack dtype code kDLInt (signed integer).
pub const DICE_DTYPE_INT: u8 = 0;
/// DLPack dtype code kDLUInt (unsigned integer).
pub const DICE_DTYPE_UINT: u8 = 1;
/// DLPack dtype code kDLFloat (IEEE float).
pub const DICE_DTYPE_FLOAT: u8 = 2;
/// DLPack dtype code kDLBool (8-bit, read as a 0/1 label).
pub const DICE_DTYPE_BOOL: u8 = 6;

/// Where a tensor lives; DLPack's DLDevice.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DiceDevice {
    /// DLPack device type; must be DICE_DEVICE_CPU (1).
    pub device_type: i32,
    /// Device ordinal; ignored for the CPU.
    pub device_id: i32,
}

/// Element type; DLPack's DLDataType.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DiceDataType {
    /// DICE_DTYPE_INT, DICE_DTYPE_UINT, DICE_DTYPE_FLOAT or DICE_DTYPE_BOOL.
    pub code: u8,
    /// Bits per element.
    pub bits: u8,
    /// Must be 1.
    pub lanes: u16,
}

/// A strided tensor; field order and meaning are DLPack's DLTensor, so a DLTensor* can be
/// passed as a DiceTensor*.
///
/// Element (i0, ..., ik) is at byte address
/// `data + byte_offset + sizeof(elem) * sum(i_d * strides[d])`.
/// Contract: every byte from the lowest to the highest addressed element must lie in one
/// allocation that stays valid, and (for an output) is not accessed by anyone else, for the
/// duration of the call. `data` + `byte_offset` must be aligned to the element size.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct DiceTensor {
    /// Base pointer (may be NULL only when the tensor has no elements).
    pub data: *mut c_void,
    /// Must be the CPU.
    pub device: DiceDevice,
    /// Number of dimensions, 0..=6 (each call narrows this further).
    pub ndim: i32,
    /// Element type.
    pub dtype: DiceDataType,
    /// `ndim` extents (>= 0); may be NULL only when ndim == 0.
    pub shape: *const i64,
    /// `ndim` strides in elements (any sign, 0 = broadcast); NULL = C-contiguous.
    pub strides: *const i64,
    /// Bytes added to `data` before the first element.
    pub byte_offset: u64,
}

/// A validated descriptor: layout in dice-core's terms plus the exact byte range it spans.
pub(crate) struct Parsed {
    pub arg: &'static str,
    pub dtype: DiceDataType,
    pub shape: [usize; MAX_RANK],
    pub strides: [isize; MAX_RANK],
    pub rank: usize,
    /// Address of the lowest addressed element (dangling when empty).
    pub start: usize,
    /// Elements from the lowest to the highest addressed one, inclusive (0 when empty).
    pub len: usize,
    /// Index in [start, start + len) of element (0, ..., 0).
    pub base: usize,
}

impl Parsed {
    pub fn shape(&self) -> &[usize] {
        &self.shape[..self.rank]
    }
    pub fn strides(&self) -> &[isize] {
        &self.strides[..self.rank]
    }
    pub fn elem_bytes(&self) -> usize {
        usize::from(self.dtype.bits / 8)
    }
    /// Byte range [lo, hi) spanned; empty for an empty tensor.
    pub fn byte_range(&self) -> (usize, usize) {
        (self.start, self.start + self.len * self.elem_bytes())
    }
    /// True when both byte ranges are non-empty and intersect.
    pub fn overlaps(&self, other: &Parsed) -> bool {
        let (a0, a1) = self.byte_range();
        let (b0, b1) = other.byte_range();
        a0 < a1 && b0 < b1 && a0 < b1 && b0 < a1
    }
}

/// Human-readable dtype name for messages.
pub(crate) fn dtype_name(d: DiceDataType) -> String {
    let kind = match d.code {
        DICE_DTYPE_INT => "int",
        DICE_DTYPE_UINT => "uint",
        DICE_DTYPE_FLOAT => "float",
        DICE_DTYPE_BOOL => "bool",
        _ => return format!("(code {}, bits {}, lanes {})", d.code, d.bits, d.lanes),
    };
    if d.lanes == 1 { format!("{kind}{}", d.bits) } else { format!("{kind}{}x{}", d.bits, d.lanes) }
}

/// Validates a descriptor: pointers, device, ndim, dtype lanes, extents, strides (checked
/// arithmetic), alignment and the address range. Element size comes from dtype.bits.
///
/// # Safety
/// `t` must be NULL or point to a readable DiceTensor whose `shape` (and `strides`, when
/// non-NULL) point to `ndim` readable int64 values.
pub(crate) unsafe fn parse(arg: &'static str, t: *const DiceTensor) -> FfiResult<Parsed> {
    if t.is_null() {
        return fail(DiceStatus::NullPointer, format!("{arg} is NULL"));
    }
    // SAFETY: non-NULL and, by the caller's contract, points to a readable DiceTensor.
    let t = unsafe { &*t };
    if t.device.device_type != DICE_DEVICE_CPU {
        return fail(
            DiceStatus::BadDevice,
            format!(
                "{arg}.device.device_type = {} is not supported (only kDLCPU = 1)",
                t.device.device_type
            ),
        );
    }
    if t.dtype.lanes != 1 {
        return fail(
            DiceStatus::BadDtype,
            format!("{arg}.dtype.lanes = {} (only 1 is supported)", t.dtype.lanes),
        );
    }
    let elem = usize::from(t.dtype.bits / 8);
    if t.dtype.bits % 8 != 0 || !elem.is_power_of_two() {
        return fail(
            DiceStatus::BadDtype,
            format!("{arg}.dtype.bits = {} is not supported", t.dtype.bits),
        );
    }
    let rank = match usize::try_from(t.ndim) {
        Ok(r) if r <= MAX_RANK => r,
        _ => {
            return fail(
                DiceStatus::BadNdim,
                format!("{arg}.ndim = {} is outside 0..={MAX_RANK}", t.ndim),
            );
        }
    };
    if rank > 0 && t.shape.is_null() {
        return fail(DiceStatus::NullPointer, format!("{arg}.shape is NULL with ndim = {rank}"));
    }
    let mut shape = [0usize; MAX_RANK];
    let mut strides = [0isize; MAX_RANK];
    for (d, extent) in shape.iter_mut().enumerate().take(rank) {
        // SAFETY: shape is non-NULL (checked above) and holds `ndim` values by contract.
        let e = unsafe { t.shape.add(d).read_unaligned() };
        *extent = match usize::try_from(e) {
            Ok(e) => e,
            Err(_) => {
                return fail(DiceStatus::BadShape, format!("{arg}.shape[{d}] = {e} is negative"));
            }
        };
    }
    let overflow = |what: &str| {
        fail(DiceStatus::StrideOverflow, format!("{arg}: {what} overflows 64-bit offsets"))
    };
    if t.strides.is_null() {
        let mut acc: i64 = 1;
        for d in (0..rank).rev() {
            strides[d] = acc as isize;
            match i64::try_from(shape[d]).ok().and_then(|e| acc.checked_mul(e.max(1))) {
                Some(a) => acc = a,
                None => return overflow("the contiguous stride product"),
            }
        }
    } else {
        for (d, s) in strides.iter_mut().enumerate().take(rank) {
            // SAFETY: strides is non-NULL and holds `ndim` values by contract.
            let v = unsafe { t.strides.add(d).read_unaligned() };
            *s = match isize::try_from(v) {
                Ok(v) => v,
                Err(_) => return overflow(&format!("strides[{d}] = {v}")),
            };
        }
    }
    let numel = shape[..rank].iter().try_fold(1u64, |acc, &e| acc.checked_mul(e as u64));
    let Some(numel) = numel else { return overflow("the element count") };
    let empty = Parsed {
        arg,
        dtype: t.dtype,
        shape,
        strides,
        rank,
        start: NonNull::<u64>::dangling().as_ptr() as usize,
        len: 0,
        base: 0,
    };
    if numel == 0 {
        return Ok(empty);
    }
    if t.data.is_null() {
        return fail(
            DiceStatus::NullPointer,
            format!("{arg}.data is NULL for a tensor of {numel} elements"),
        );
    }
    // Lowest and highest element offsets relative to element (0, ..., 0).
    let (mut lo, mut hi) = (0i64, 0i64);
    for d in 0..rank {
        let reach = i64::try_from(shape[d] - 1).ok().and_then(|e| e.checked_mul(strides[d] as i64));
        let Some(reach) = reach else {
            return overflow(&format!(
                "shape[{d}] = {} times strides[{d}] = {}",
                shape[d], strides[d]
            ));
        };
        let sum = if reach < 0 {
            lo.checked_add(reach).map(|v| lo = v)
        } else {
            hi.checked_add(reach).map(|v| hi = v)
        };
        if sum.is_none() {
            return overflow("the sum of extent * stride over dimensions");
        }
    }
    // Byte addresses, all checked: origin = data + byte_offset, start = origin + lo * elem.
    let len = (hi as i128 - lo as i128 + 1) as u128;
    let origin = (t.data as usize as u128).checked_add(u128::from(t.byte_offset));
    let start = origin.and_then(|o| o.checked_sub(lo.unsigned_abs() as u128 * elem as u128));
    let end = start.and_then(|s| s.checked_add(len * elem as u128));
    let (Some(origin), Some(start), Some(end)) = (origin, start, end) else {
        return overflow("the addressed byte range");
    };
    if end > isize::MAX as u128 || len > isize::MAX as u128 {
        return overflow(&format!("the addressed byte range [{start:#x}, {end:#x})"));
    }
    if origin % elem as u128 != 0 {
        return fail(
            DiceStatus::Misaligned,
            format!("{arg}: data + byte_offset = {origin:#x} is not aligned to {elem} bytes"),
        );
    }
    Ok(Parsed {
        start: start as usize,
        len: len as usize,
        base: lo.unsigned_abs() as usize,
        ..empty
    })
}

/// A read-only dice-core view over a parsed tensor whose element type is `T`.
///
/// # Safety
/// `p` must come from `parse` on a descriptor honouring the DiceTensor contract, with
/// `size_of::<T>() == p.elem_bytes()`, and the memory must not be written during `'a`.
pub(crate) unsafe fn view<'a, T>(p: &Parsed) -> FfiResult<TensorView<'a, T>> {
    debug_assert_eq!(size_of::<T>(), p.elem_bytes());
    // SAFETY: `start` is aligned (origin is aligned and lo*elem keeps it so) or dangling
    // when len == 0; by contract the `len` elements from `start` are one readable allocation
    // not written during 'a; `parse` checked the byte length fits in isize.
    let data = unsafe { std::slice::from_raw_parts(p.start as *const T, p.len) };
    Ok(TensorView::new(p.arg, data, p.base, p.shape(), p.strides())?)
}

/// A writable dice-core view over a parsed tensor whose element type is `T`.
///
/// # Safety
/// As for `view`, plus: the range must be writable and no other reference to any part of it
/// (in particular no view of an input) may exist during `'a`.
pub(crate) unsafe fn view_mut<'a, T>(p: &Parsed) -> FfiResult<TensorViewMut<'a, T>> {
    debug_assert_eq!(size_of::<T>(), p.elem_bytes());
    // SAFETY: as in `view`; exclusivity is the caller's obligation (checked by `overlaps`
    // against every input before this is called).
    let data = unsafe { std::slice::from_raw_parts_mut(p.start as *mut T, p.len) };
    Ok(TensorViewMut::new(p.arg, data, p.base, p.shape(), p.strides())?)
}

/// The input's element type.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum InputKind {
    F32,
    F64,
}

pub(crate) fn input_kind(p: &Parsed) -> FfiResult<InputKind> {
    match (p.dtype.code, p.dtype.bits) {
        (DICE_DTYPE_FLOAT, 32) => Ok(InputKind::F32),
        (DICE_DTYPE_FLOAT, 64) => Ok(InputKind::F64),
        _ => fail(
            DiceStatus::BadDtype,
            format!(
                "{}: dtype {} is not supported (float32 or float64)",
                p.arg,
                dtype_name(p.dtype)
            ),
        ),
    }
}

/// Checks that the gradient has the input's dtype.
pub(crate) fn check_grad_dtype(input: &Parsed, grad: &Parsed) -> FfiResult<()> {
    if input.dtype != grad.dtype {
        return fail(
            DiceStatus::BadDtype,
            format!(
                "grad: dtype {} must match the input's {}",
                dtype_name(grad.dtype),
                dtype_name(input.dtype)
            ),
        );
    }
    Ok(())
}

/// A dice-core target over a parsed tensor, for an input of element type `T`.
///
/// # Safety
/// As for `view`.
pub(crate) unsafe fn target<'a, T: dice_core::Float>(
    p: &Parsed,
    input: &Parsed,
) -> FfiResult<Target<'a, T>> {
    let d = p.dtype;
    // SAFETY: (all arms) the element type matches dtype.bits by the match; the rest is the
    // caller's contract, forwarded.
    unsafe {
        Ok(match (d.code, d.bits) {
            (DICE_DTYPE_FLOAT, _) if d == input.dtype => Target::Dense(view::<T>(p)?),
            (DICE_DTYPE_UINT | DICE_DTYPE_BOOL, 8) => Target::Labels(Labels::U8(view(p)?)),
            (DICE_DTYPE_UINT, 16) => Target::Labels(Labels::U16(view(p)?)),
            (DICE_DTYPE_INT, 32) => Target::Labels(Labels::I32(view(p)?)),
            (DICE_DTYPE_INT, 64) => Target::Labels(Labels::I64(view(p)?)),
            _ => {
                return fail(
                    DiceStatus::BadDtype,
                    format!(
                        "target: dtype {} is not supported (the input's {} for a dense target, or uint8, bool, uint16, int32, int64 labels)",
                        dtype_name(d),
                        dtype_name(input.dtype)
                    ),
                );
            }
        })
    }
}
