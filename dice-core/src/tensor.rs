//! Strided tensor views (DLPack convention: strides in elements, any sign, 0 = broadcast).
//!
//! A view is a buffer, the index of element (0, ..., 0) in it, and a [`Layout`]. Construction
//! validates once that every addressed element lies inside the buffer, with all offset
//! arithmetic checked against overflow; kernels then index without further checks.

use crate::error::{DiceError, Result};

/// Highest rank accepted anywhere: (N, C, T, D, H, W).
pub const MAX_RANK: usize = 6;

/// Shape and element strides of a tensor of rank <= [`MAX_RANK`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Layout {
    rank: usize,
    shape: [usize; MAX_RANK],
    strides: [isize; MAX_RANK],
}

impl Layout {
    /// A layout from explicit extents and element strides.
    pub fn new(arg: &'static str, shape: &[usize], strides: &[isize]) -> Result<Self> {
        if shape.len() != strides.len() {
            return Err(DiceError::StridesLength {
                arg,
                shape: shape.len(),
                strides: strides.len(),
            });
        }
        if shape.len() > MAX_RANK {
            return Err(DiceError::Rank { arg, rank: shape.len(), min: 0, max: MAX_RANK });
        }
        let mut l = Layout { rank: shape.len(), shape: [1; MAX_RANK], strides: [0; MAX_RANK] };
        l.shape[..shape.len()].copy_from_slice(shape);
        l.strides[..shape.len()].copy_from_slice(strides);
        l.span(arg)?;
        Ok(l)
    }

    /// The C-contiguous (row-major) layout of `shape`.
    pub fn contiguous(arg: &'static str, shape: &[usize]) -> Result<Self> {
        if shape.len() > MAX_RANK {
            return Err(DiceError::Rank { arg, rank: shape.len(), min: 0, max: MAX_RANK });
        }
        let mut strides = [0isize; MAX_RANK];
        let mut acc: isize = 1;
        for d in (0..shape.len()).rev() {
            strides[d] = acc;
            acc = isize::try_from(shape[d])
                .ok()
                .and_then(|e| acc.checked_mul(e.max(1)))
                .ok_or(DiceError::StrideOverflow { arg })?;
        }
        Self::new(arg, shape, &strides[..shape.len()])
    }

    /// Number of dimensions.
    pub fn rank(&self) -> usize {
        self.rank
    }
    /// Extents.
    pub fn shape(&self) -> &[usize] {
        &self.shape[..self.rank]
    }
    /// Element strides.
    pub fn strides(&self) -> &[isize] {
        &self.strides[..self.rank]
    }
    /// Product of the extents (validated not to overflow at construction).
    pub fn numel(&self) -> usize {
        self.shape().iter().product()
    }

    /// The lowest and highest element offsets addressed, relative to element (0, ..., 0);
    /// `None` when the tensor is empty. Fails when any partial sum overflows `i64`.
    pub fn span(&self, arg: &'static str) -> Result<Option<(i64, i64)>> {
        let overflow = DiceError::StrideOverflow { arg };
        let mut count: u64 = 1;
        for &e in self.shape() {
            count = count.checked_mul(e as u64).ok_or(overflow.clone())?;
        }
        if count == 0 {
            return Ok(None);
        }
        let (mut lo, mut hi) = (0i64, 0i64);
        for (&e, &s) in self.shape().iter().zip(self.strides()) {
            let reach = i64::try_from(e - 1)
                .ok()
                .and_then(|e| e.checked_mul(s as i64))
                .ok_or(overflow.clone())?;
            if reach < 0 {
                lo = lo.checked_add(reach).ok_or(overflow.clone())?;
            } else {
                hi = hi.checked_add(reach).ok_or(overflow.clone())?;
            }
        }
        if isize::try_from(lo).is_err() || isize::try_from(hi).is_err() {
            return Err(overflow);
        }
        Ok(Some((lo, hi)))
    }

    /// True when no two indices address the same element. Checked with the sufficient
    /// criterion used by NumPy-style libraries: sorted by |stride|, every stride exceeds the
    /// reach of all smaller ones. Interleaved-but-disjoint layouts are conservatively refused.
    pub fn is_injective(&self) -> bool {
        let mut dims: Vec<(u64, u64)> = self
            .shape()
            .iter()
            .zip(self.strides())
            .filter(|(e, _)| **e > 1)
            .map(|(&e, &s)| (s.unsigned_abs() as u64, e as u64))
            .collect();
        if self.numel() == 0 {
            return true;
        }
        dims.sort_unstable();
        let mut reach: u64 = 0;
        for (s, e) in dims {
            if s <= reach {
                return false;
            }
            reach = reach.saturating_add(s.saturating_mul(e - 1));
        }
        true
    }

    /// Offset of a multi-index relative to element (0, ..., 0). Index must be in range.
    pub fn offset(&self, index: &[usize]) -> isize {
        index.iter().zip(self.strides()).map(|(&i, &s)| i as isize * s).sum()
    }

    /// A copy with a dimension of the given extent and stride inserted at `dim`.
    pub(crate) fn with_inserted(&self, dim: usize, extent: usize, stride: isize) -> Layout {
        let mut l = *self;
        for d in (dim..self.rank).rev() {
            l.shape[d + 1] = l.shape[d];
            l.strides[d + 1] = l.strides[d];
        }
        l.shape[dim] = extent;
        l.strides[dim] = stride;
        l.rank += 1;
        l
    }
}

fn check_fits(arg: &'static str, layout: &Layout, base: usize, len: usize) -> Result<()> {
    if let Some((lo, hi)) = layout.span(arg)? {
        let first = base as i128 + lo as i128;
        let last = base as i128 + hi as i128;
        if first < 0 || last >= len as i128 {
            let needed = if first < 0 { 0 } else { last as u128 };
            return Err(DiceError::OutOfBounds { arg, needed, len });
        }
    }
    Ok(())
}

/// A read-only strided view.
#[derive(Clone, Copy, Debug)]
pub struct TensorView<'a, T> {
    data: &'a [T],
    base: usize,
    layout: Layout,
}

impl<'a, T> TensorView<'a, T> {
    /// A view of `data` whose element (0, ..., 0) is `data[base]`.
    pub fn new(
        arg: &'static str,
        data: &'a [T],
        base: usize,
        shape: &[usize],
        strides: &[isize],
    ) -> Result<Self> {
        let layout = Layout::new(arg, shape, strides)?;
        Self::from_layout(arg, data, base, layout)
    }

    /// A C-contiguous view of `data` with the given shape.
    pub fn contiguous(arg: &'static str, data: &'a [T], shape: &[usize]) -> Result<Self> {
        let layout = Layout::contiguous(arg, shape)?;
        Self::from_layout(arg, data, 0, layout)
    }

    /// A view from an already built layout.
    pub fn from_layout(
        arg: &'static str,
        data: &'a [T],
        base: usize,
        layout: Layout,
    ) -> Result<Self> {
        check_fits(arg, &layout, base, data.len())?;
        Ok(TensorView { data, base, layout })
    }

    /// The layout.
    pub fn layout(&self) -> &Layout {
        &self.layout
    }
    /// Extents.
    pub fn shape(&self) -> &[usize] {
        self.layout.shape()
    }
    /// The underlying buffer.
    pub fn data(&self) -> &'a [T] {
        self.data
    }
    /// Index of element (0, ..., 0) in [`Self::data`].
    pub fn base(&self) -> usize {
        self.base
    }
    /// Element at a multi-index (panics when out of range; for tests and oracles).
    pub fn get(&self, index: &[usize]) -> &'a T {
        &self.data[(self.base as isize + self.layout.offset(index)) as usize]
    }
    /// The same buffer seen through another (validated) layout.
    pub(crate) fn relayout(&self, arg: &'static str, layout: Layout) -> Result<Self> {
        Self::from_layout(arg, self.data, self.base, layout)
    }
}

/// A writable strided view that never addresses an element twice.
#[derive(Debug)]
pub struct TensorViewMut<'a, T> {
    data: &'a mut [T],
    base: usize,
    layout: Layout,
}

impl<'a, T> TensorViewMut<'a, T> {
    /// A writable view; refuses layouts that address an element more than once.
    pub fn new(
        arg: &'static str,
        data: &'a mut [T],
        base: usize,
        shape: &[usize],
        strides: &[isize],
    ) -> Result<Self> {
        let layout = Layout::new(arg, shape, strides)?;
        Self::from_layout(arg, data, base, layout)
    }

    /// A C-contiguous writable view.
    pub fn contiguous(arg: &'static str, data: &'a mut [T], shape: &[usize]) -> Result<Self> {
        let layout = Layout::contiguous(arg, shape)?;
        Self::from_layout(arg, data, 0, layout)
    }

    /// A writable view from an already built layout.
    pub fn from_layout(
        arg: &'static str,
        data: &'a mut [T],
        base: usize,
        layout: Layout,
    ) -> Result<Self> {
        check_fits(arg, &layout, base, data.len())?;
        if !layout.is_injective() {
            return Err(DiceError::OverlappingOutput { arg });
        }
        Ok(TensorViewMut { data, base, layout })
    }

    /// The layout.
    pub fn layout(&self) -> &Layout {
        &self.layout
    }
    /// Extents.
    pub fn shape(&self) -> &[usize] {
        self.layout.shape()
    }
    /// Element at a multi-index (panics when out of range; for tests).
    pub fn get(&self, index: &[usize]) -> &T {
        &self.data[(self.base as isize + self.layout.offset(index)) as usize]
    }
    /// Pointer to element (0, ..., 0), for the parallel writer.
    pub(crate) fn origin(&mut self) -> *mut T {
        // SAFETY: `base < data.len()` whenever the view is non-empty (checked by `check_fits`);
        // for an empty view `base <= len` is not guaranteed, so clamp: nothing is written then.
        unsafe { self.data.as_mut_ptr().add(self.base.min(self.data.len())) }
    }
}
