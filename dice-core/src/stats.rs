//! The sufficient statistics of the Dice family: three sums per (row, class).
//!
//! Stats are additive. Sums over disjoint spatial tiles add ([`Stats::add`]); batches split
//! along N concatenate ([`Stats::concat_rows`]) or, pooled, add. That is what makes exact
//! batch Dice across data-parallel workers and over tiled volumes possible.

use crate::error::{DiceError, Result};

/// Sums for one (row, class) entry, accumulated in f64.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Sums {
    /// I = sum p t (or sum min(p, t) with soft labels), over unmasked voxels.
    pub intersection: f64,
    /// P = sum p (or sum p^2 with `squared_pred`).
    pub pred: f64,
    /// G = sum t (or sum t^2 with `squared_pred`).
    pub target: f64,
}

impl Sums {
    #[inline]
    pub(crate) fn accumulate(&mut self, other: &Sums) {
        self.intersection += other.intersection;
        self.pred += other.pred;
        self.target += other.target;
    }
}

/// Sums for `rows` x `classes` entries, row-major. Rows are batch items (1 once pooled);
/// classes are the kept classes (background dropped when excluded).
#[derive(Clone, Debug, PartialEq)]
pub struct Stats {
    rows: usize,
    classes: usize,
    sums: Vec<Sums>,
}

impl Stats {
    /// All-zero stats.
    pub fn zeros(rows: usize, classes: usize) -> Self {
        Stats { rows, classes, sums: vec![Sums::default(); rows * classes] }
    }

    /// Stats from flat triples (I, P, G) per entry, row-major, e.g. after an all-reduce.
    pub fn from_flat(rows: usize, classes: usize, flat: &[f64]) -> Result<Self> {
        if flat.len() != rows * classes * 3 {
            return Err(DiceError::StatsMismatch { expected: (rows, classes), got: (flat.len() / 3, 1) });
        }
        let sums = flat
            .chunks_exact(3)
            .map(|s| Sums { intersection: s[0], pred: s[1], target: s[2] })
            .collect();
        Ok(Stats { rows, classes, sums })
    }

    /// Flat triples (I, P, G) per entry, row-major.
    pub fn to_flat(&self) -> Vec<f64> {
        self.sums.iter().flat_map(|s| [s.intersection, s.pred, s.target]).collect()
    }

    /// Number of rows (batch items, or 1 when pooled).
    pub fn rows(&self) -> usize {
        self.rows
    }
    /// Number of kept classes.
    pub fn classes(&self) -> usize {
        self.classes
    }
    /// Entry (row, class).
    pub fn get(&self, row: usize, class: usize) -> Sums {
        self.sums[row * self.classes + class]
    }
    /// All entries, row-major.
    pub fn entries(&self) -> &[Sums] {
        &self.sums
    }
    pub(crate) fn row_mut(&mut self, row: usize) -> &mut [Sums] {
        &mut self.sums[row * self.classes..(row + 1) * self.classes]
    }

    /// Adds stats of the same shape (e.g. from another spatial tile of the same volumes).
    pub fn add(&mut self, other: &Stats) -> Result<()> {
        if (self.rows, self.classes) != (other.rows, other.classes) {
            return Err(DiceError::StatsMismatch {
                expected: (self.rows, self.classes),
                got: (other.rows, other.classes),
            });
        }
        self.sums.iter_mut().zip(&other.sums).for_each(|(a, b)| a.accumulate(b));
        Ok(())
    }

    /// Appends the rows of `other` (stats of further batch items).
    pub fn concat_rows(&mut self, other: &Stats) -> Result<()> {
        if self.classes != other.classes {
            return Err(DiceError::StatsMismatch {
                expected: (other.rows, self.classes),
                got: (other.rows, other.classes),
            });
        }
        self.sums.extend_from_slice(&other.sums);
        self.rows += other.rows;
        Ok(())
    }

    /// Sums over the rows in row order: one row per class (batch Dice).
    pub fn pooled(&self) -> Stats {
        let mut out = Stats::zeros(1, self.classes);
        for r in 0..self.rows {
            for c in 0..self.classes {
                out.sums[c].accumulate(&self.sums[r * self.classes + c]);
            }
        }
        out
    }
}
