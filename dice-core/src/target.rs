//! Targets: dense tensors (one-hot, multi-label or soft) or integer label maps, which are
//! read directly and never expanded to one-hot.

use crate::tensor::TensorView;

/// An integer label element type.
pub trait Label: Copy + Send + Sync + 'static {
    /// The value as i64 (exact for every supported type).
    fn to_i64(self) -> i64;
}
macro_rules! impl_label {
    ($($t:ty),*) => {$(
        impl Label for $t {
            #[inline(always)]
            fn to_i64(self) -> i64 { self as i64 }
        }
    )*};
}
impl_label!(u8, u16, i32, i64);

/// A label map shaped (N, 1, spatial...) or (N, spatial...).
#[derive(Clone, Copy, Debug)]
pub enum Labels<'a> {
    /// u8 labels.
    U8(TensorView<'a, u8>),
    /// u16 labels.
    U16(TensorView<'a, u16>),
    /// i32 labels.
    I32(TensorView<'a, i32>),
    /// i64 labels.
    I64(TensorView<'a, i64>),
}

impl Labels<'_> {
    /// Extents of the label map.
    pub fn shape(&self) -> &[usize] {
        match self {
            Labels::U8(v) => v.shape(),
            Labels::U16(v) => v.shape(),
            Labels::I32(v) => v.shape(),
            Labels::I64(v) => v.shape(),
        }
    }
}

/// The ground truth of a loss call.
#[derive(Clone, Copy, Debug)]
pub enum Target<'a, T> {
    /// Same shape as the input: one-hot, multi-label masks or soft probabilities.
    Dense(TensorView<'a, T>),
    /// Integer class indices. With C > 1 channels a label l in [0, C) is class l; with a
    /// single channel the map is a binary mask (0 or 1, 1 = foreground), as MONAI treats it.
    Labels(Labels<'a>),
}
