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
            return Err(DiceError::BadOption { name: "ramp", reason: "start and end must be finite" });
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ends_and_midpoints() {
        let lin = Ramp { kind: RampKind::Linear, start: 0.2, end: 1.0, steps: 10 };
        let cos = Ramp { kind: RampKind::Cosine, ..lin };
        assert_eq!(lin.at(0).unwrap(), 0.2);
        assert!((lin.at(5).unwrap() - 0.6).abs() < 1e-15);
        assert_eq!(lin.at(10).unwrap(), 1.0);
        assert_eq!(lin.at(1000).unwrap(), 1.0);
        assert!((cos.at(0).unwrap() - 0.2).abs() < 1e-15);
        assert!((cos.at(5).unwrap() - 0.6).abs() < 1e-15); // symmetric about the midpoint
        assert!(cos.at(2).unwrap() < lin.at(2).unwrap()); // slow start
        assert!((cos.at(10).unwrap() - 1.0).abs() < 1e-15);
        let none = Ramp { kind: RampKind::Constant, ..lin };
        assert_eq!(none.at(0).unwrap(), 1.0);
        assert!(Ramp { start: f64::NAN, ..lin }.at(1).is_err());
    }

    #[test]
    fn monotone() {
        for kind in [RampKind::Linear, RampKind::Cosine] {
            let r = Ramp { kind, start: 1.0, end: 0.0, steps: 37 };
            let w: Vec<f64> = (0..40).map(|s| r.at(s).unwrap()).collect();
            assert!(w.windows(2).all(|p| p[1] <= p[0]), "{kind:?}");
        }
    }
}
