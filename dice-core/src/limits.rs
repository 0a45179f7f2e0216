//! Resource limits: the documented caps on counts, and fallible allocation of working memory
//! sized from the arguments. A size that overflows, or that the allocator refuses, becomes
//! [`DiceError::OutOfMemory`]; a count above a cap becomes [`DiceError::TooLarge`]. Neither
//! aborts the process.

use crate::error::{DiceError, Result};

/// Most classes a call accepts (a label map's `num_classes`, a dense tensor's channels):
/// the u16 label range.
pub const MAX_CLASSES: usize = 1 << 16;

/// Most worker threads a context may own. Each is an OS thread with its own stack; past a
/// few hundred the pool costs seconds to build and gains nothing.
pub const MAX_THREADS: usize = 1024;

/// Fails with `TooLarge` when `classes` is above [`MAX_CLASSES`].
pub fn check_classes(arg: &'static str, classes: usize) -> Result<()> {
    if classes > MAX_CLASSES {
        return Err(DiceError::TooLarge { arg, value: classes as u128, max: MAX_CLASSES as u128 });
    }
    Ok(())
}

/// The product of `factors`, or `OutOfMemory` for `arg` when it overflows `usize`.
pub fn product(arg: &'static str, factors: &[usize]) -> Result<usize> {
    factors.iter().try_fold(1usize, |acc, &f| acc.checked_mul(f)).ok_or_else(|| {
        DiceError::OutOfMemory {
            arg,
            bytes: factors.iter().fold(1u128, |acc, &f| acc.saturating_mul(f as u128)),
        }
    })
}

/// An empty vector with room for `n` elements, or `OutOfMemory` for `arg`.
pub fn with_capacity<T>(arg: &'static str, n: usize) -> Result<Vec<T>> {
    let mut v = Vec::new();
    v.try_reserve_exact(n).map_err(|_| DiceError::OutOfMemory {
        arg,
        bytes: (n as u128).saturating_mul(size_of::<T>() as u128),
    })?;
    Ok(v)
}

/// `n` copies of `value`, or `OutOfMemory` for `arg`.
pub fn filled<T: Clone>(arg: &'static str, n: usize, value: T) -> Result<Vec<T>> {
    let mut v = with_capacity(arg, n)?;
    v.resize(n, value);
    Ok(v)
}
