//! Warm-up schedules for blended losses: a weight that ramps from `start` to `end` over
//! `steps` optimiser steps, then stays at `end`. Stateless: a pure function of the step, so
//! every data-parallel worker and every resumed run computes the same weight.
//!
//! - linear: w(s) = start + (end - start) r,                      r = min(s, steps) / steps
//! - cosine: w(s) = start + (end - start) (1 - cos(pi r)) / 2     (zero slope at both ends)
//! - constant: w(s) = end (no warm-up)

use crate::error::{DiceError, Result};

/// Shape of the ramp.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum RampKind {
    /// No warm-up: the end value from step 0.
    #[default]
    Constant,
    /// Straight line from start to end.
    Linear,
    /// Half cosine from start to end.
    Cosine,
}

/// A ramp of a loss weight over optimiser steps.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Ramp {
    /// Shape of the ramp.
    pub kind: RampKind,
    /// Weight at step 0.
    pub start: f64,
    /// Weight from step `steps` on.
    pub end: f64,
    /// Length of the ramp in steps (0 means the end value at once).
    pub steps: u64,
}

impl Ramp {
    /// The weight at `step`. Errors when start or end is not finite.
    pub fn at(&self, step: u64) -> Result<f64> {
        if !self.start.is_finite() || !self.end.is_finite() {
            return Err(DiceError::BadOption {
                name: "ramp",
                reason: "start and end must be finite",
            });
        }
        if self.steps == 0 || self.kind == RampKind::Constant {
            return Ok(self.end);
        }
        let r = step.min(self.steps) as f64 / self.steps as f64;
        let shape = match self.kind {
            RampKind::Constant => 1.0,
            RampKind::Linear => r,
            RampKind::Cosine => 0.5 * (1.0 - (std::f64::consts::PI * r).cos()),
        };
        Ok(self.start + (self.end - self.start) * shape)
    }
}
