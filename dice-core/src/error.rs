//! Typed errors. Every public entry point validates its arguments and returns one of
//! these instead of panicking or producing a silently wrong number.

use std::fmt;

/// What went wrong, with the offending argument and value.
#[allow(missing_docs)] // the fields are self-describing: argument name, value, bounds
#[derive(Debug, Clone, PartialEq)]
pub enum DiceError {
    /// A tensor's rank is outside what the call accepts.
    Rank { arg: &'static str, rank: usize, min: usize, max: usize },
    /// `shape` and `strides` have different lengths.
    StridesLength { arg: &'static str, shape: usize, strides: usize },
    /// Two tensors that must agree in shape do not.
    ShapeMismatch { arg: &'static str, expected: Vec<usize>, got: Vec<usize> },
    /// A dimension is zero where the result would be undefined (batch or channels).
    EmptyDim { arg: &'static str, dim: usize },
    /// extent * stride (or the sum over dimensions) overflows 64-bit offsets.
    StrideOverflow { arg: &'static str },
    /// The addressed range does not fit in the buffer.
    OutOfBounds { arg: &'static str, needed: u128, len: usize },
    /// An output addresses the same element twice (stride 0 or interleaved strides).
    OverlappingOutput { arg: &'static str },
    /// An output shares memory with an input.
    AliasedOutput { arg: &'static str, with: &'static str },
    /// A label is outside `[0, C)` and is not `ignore_index`.
    LabelOutOfRange { arg: &'static str, value: i64, classes: usize },
    /// A class weight is negative or not finite.
    BadWeight { index: usize, value: f64 },
    /// The number of class weights does not match the kept classes.
    WeightCount { expected: usize, got: usize },
    /// A scalar option is out of its domain.
    BadOption { name: &'static str, reason: &'static str },
    /// Stats of different shapes were combined, or do not fit the call.
    StatsMismatch { expected: (usize, usize), got: (usize, usize) },
    /// The upstream gradient of `reduction = none` has the wrong length.
    UpstreamLength { expected: usize, got: usize },
    /// A thread pool could not be built.
    ThreadPool(String),
    /// A value that must be a number is NaN (a probability, a spacing, a tolerance).
    NotANumber { arg: &'static str },
    /// A value of the per-voxel loss mask is negative, infinite or NaN.
    BadLossMask { value: f64 },
    /// A mask that the chosen convention requires to be non-empty is empty (medpy raises).
    EmptyMask { arg: &'static str, item: usize, class: usize },
    /// Working memory sized from the arguments could not be allocated (the size overflows
    /// or the allocator refused it).
    OutOfMemory { arg: &'static str, bytes: u128 },
    /// A count is above a documented limit of the library (classes, threads).
    TooLarge { arg: &'static str, value: u128, max: u128 },
}

impl fmt::Display for DiceError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use DiceError::*;
        match self {
            Rank { arg, rank, min, max } => {
                write!(f, "{arg}: rank {rank} is outside the accepted range {min}..={max}")
            }
            StridesLength { arg, shape, strides } => {
                write!(f, "{arg}: {shape} extents but {strides} strides")
            }
            ShapeMismatch { arg, expected, got } => {
                write!(f, "{arg}: shape {got:?} does not match the expected {expected:?}")
            }
            EmptyDim { arg, dim } => write!(f, "{arg}: dimension {dim} has extent 0"),
            StrideOverflow { arg } => write!(f, "{arg}: extent * stride overflows 64-bit offsets"),
            OutOfBounds { arg, needed, len } => {
                write!(f, "{arg}: the strides address element {needed} but the buffer holds {len}")
            }
            OverlappingOutput { arg } => {
                write!(f, "{arg}: the strides address some element more than once")
            }
            AliasedOutput { arg, with } => write!(f, "{arg} overlaps the memory of {with}"),
            LabelOutOfRange { arg, value, classes } => {
                write!(f, "{arg}: label {value} is outside [0, {classes}) and is not ignore_index")
            }
            BadWeight { index, value } => {
                write!(f, "weight[{index}] = {value} must be finite and >= 0")
            }
            WeightCount { expected, got } => write!(
                f,
                "weight: {got} values given, expected 1 or {expected} (one per kept class)"
            ),
            BadOption { name, reason } => write!(f, "{name}: {reason}"),
            StatsMismatch { expected, got } => {
                write!(f, "stats: shape (rows, classes) = {got:?} does not match {expected:?}")
            }
            UpstreamLength { expected, got } => write!(
                f,
                "upstream gradient: {got} values given, expected {expected} (one per loss entry)"
            ),
            ThreadPool(msg) => write!(f, "thread pool: {msg}"),
            NotANumber { arg } => write!(f, "{arg}: contains NaN"),
            BadLossMask { value } => write!(f, "loss_mask: value {value} must be finite and >= 0"),
            EmptyMask { arg, item, class } => {
                write!(
                    f,
                    "{arg}: the mask of item {item}, class {class} is empty (this convention has no value)"
                )
            }
            OutOfMemory { arg, bytes } => {
                write!(f, "{arg}: cannot allocate {bytes} bytes of working memory")
            }
            TooLarge { arg, value, max } => write!(f, "{arg}: {value} is above the limit {max}"),
        }
    }
}

impl std::error::Error for DiceError {}

/// Result alias used across the crate.
pub type Result<T> = std::result::Result<T, DiceError>;
