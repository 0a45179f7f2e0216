//! The warm-up ramp of a blended loss's weight, e.g. alpha in alpha * Dice + (1 - alpha) * BCE
//! (set lambda_overlap = alpha and pw_lambda = 1 - alpha for each step).

use dice_core::{Ramp, RampKind};

use crate::status::{DiceStatus, fail, guard};

/// Shape of a warm-up ramp.
#[repr(i32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DiceRamp {
    /// The end value from step 0.
    Constant = 0,
    /// start + (end - start) r, r = min(step, steps) / steps.
    Linear = 1,
    /// start + (end - start) (1 - cos(pi r)) / 2.
    Cosine = 2,
}

/// The weight at `step` of a ramp from `start` (step 0) to `end` (from step `steps` on; 0
/// steps = `end` at once), written to `*out`. Stateless: every worker and every resumed run
/// computes the same value for the same step.
///
/// # Safety
/// `out` must be NULL or writable for one double.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn dice_ramp(
    kind: i32,
    start: f64,
    end: f64,
    steps: u64,
    step: u64,
    out: *mut f64,
) -> DiceStatus {
    guard(|| {
        if out.is_null() {
            return fail(DiceStatus::NullPointer, "out is NULL");
        }
        let kind = match kind {
            0 => RampKind::Constant,
            1 => RampKind::Linear,
            2 => RampKind::Cosine,
            v => {
                return fail(
                    DiceStatus::BadOption,
                    format!("kind = {v} is not a DiceRamp (0..=2)"),
                );
            }
        };
        let v = Ramp { kind, start, end, steps }.at(step)?;
        // SAFETY: non-NULL and writable by contract.
        unsafe { out.write_unaligned(v) };
        Ok(())
    })
}
