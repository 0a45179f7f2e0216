//! Step 2: from [`Stats`] to loss values and the derivatives dL/dI, dL/dP per entry.
//! Tiny and data-free: closed forms in f64.
//!
//! Per entry, with N = 2I + s_nr:
//! - Dice:    f = 1 - N / D,  D = P + G + s_dr;          df/dI = -2/D,          df/dP = N/D^2
//! - Jaccard: f = 1 - N / D,  D = 2(P + G - I) + s_dr;   df/dI = -2(D + N)/D^2, df/dP = 2N/D^2
//!
//! The entry's value is w_c f; G does not depend on the input, so it has no coefficient.

use crate::error::{DiceError, Result};
use crate::options::{DiceOptions, Reduction};
use crate::stats::Stats;

/// Loss values and their local derivatives for every entry.
#[derive(Clone, Debug, PartialEq)]
pub struct Finalized {
    rows: usize,
    classes: usize,
    reduction: Reduction,
    values: Vec<f64>,
    d_inter: Vec<f64>,
    d_pred: Vec<f64>,
}

/// dL/dI and dL/dP per entry after the reduction and the upstream gradient.
#[derive(Clone, Debug, PartialEq)]
pub struct Coefficients {
    pub(crate) rows: usize,
    pub(crate) classes: usize,
    pub(crate) d_inter: Vec<f64>,
    pub(crate) d_pred: Vec<f64>,
}

impl Coefficients {
    /// Rows (1 when they apply to every batch item, as with `batch`).
    pub fn rows(&self) -> usize {
        self.rows
    }
    /// (dL/dI, dL/dP) of entry (row, class).
    pub fn get(&self, row: usize, class: usize) -> (f64, f64) {
        let i = row * self.classes + class;
        (self.d_inter[i], self.d_pred[i])
    }
}

/// Finalizes soft Dice / Jaccard. With `batch`, rows are pooled first (in row order).
pub fn finalize(stats: &Stats, opts: &DiceOptions) -> Result<Finalized> {
    let weights = opts.class_weights(stats.classes())?;
    let pooled;
    let stats = if opts.batch && stats.rows() != 1 {
        pooled = stats.pooled();
        &pooled
    } else {
        stats
    };
    let (sn, sd) = (opts.smooth_nr, opts.smooth_dr);
    let n = stats.entries().len();
    let (mut values, mut d_inter, mut d_pred) = (Vec::with_capacity(n), Vec::with_capacity(n), Vec::with_capacity(n));
    for (e, s) in stats.entries().iter().enumerate() {
        let w = weights[e % stats.classes()];
        let num = 2.0 * s.intersection + sn;
        let (f, di, dp) = if opts.jaccard {
            let den = 2.0 * (s.pred + s.target - s.intersection) + sd;
            (1.0 - num / den, -2.0 * (den + num) / (den * den), 2.0 * num / (den * den))
        } else {
            let den = s.pred + s.target + sd;
            (1.0 - num / den, -2.0 / den, num / (den * den))
        };
        values.push(w * f);
        d_inter.push(w * di);
        d_pred.push(w * dp);
    }
    Ok(Finalized { rows: stats.rows(), classes: stats.classes(), reduction: opts.reduction, values, d_inter, d_pred })
}

impl Finalized {
    /// Rows of the per-entry values (N, or 1 with `batch`).
    pub fn rows(&self) -> usize {
        self.rows
    }
    /// Kept classes.
    pub fn classes(&self) -> usize {
        self.classes
    }
    /// Weighted per-entry losses w_c f, row-major (the `reduction = none` output).
    pub fn values(&self) -> &[f64] {
        &self.values
    }
    /// The reduced loss: mean or sum of the values (the sum for `reduction = none`, whose
    /// gradient with a unit upstream is what [`Self::coefficients`] gives by default).
    pub fn loss(&self) -> f64 {
        let sum: f64 = self.values.iter().sum();
        match self.reduction {
            Reduction::Mean => sum / self.values.len() as f64,
            Reduction::Sum | Reduction::None => sum,
        }
    }

    /// Chain rule through the reduction. `upstream`: for mean/sum, one value scaling the
    /// reduced loss's gradient; for none, one value per entry. `None` means ones.
    pub fn coefficients(&self, upstream: Option<&[f64]>) -> Result<Coefficients> {
        let n = self.values.len();
        let scale = match self.reduction {
            Reduction::Mean => 1.0 / n as f64,
            Reduction::Sum | Reduction::None => 1.0,
        };
        let per_entry = self.reduction == Reduction::None;
        let expected = if per_entry { n } else { 1 };
        if let Some(u) = upstream {
            if u.len() != expected {
                return Err(DiceError::UpstreamLength { expected, got: u.len() });
            }
        }
        let up = |e: usize| match upstream {
            None => scale,
            Some(u) if per_entry => u[e] * scale,
            Some(u) => u[0] * scale,
        };
        Ok(Coefficients {
            rows: self.rows,
            classes: self.classes,
            d_inter: (0..n).map(|e| self.d_inter[e] * up(e)).collect(),
            d_pred: (0..n).map(|e| self.d_pred[e] * up(e)).collect(),
        })
    }
}
