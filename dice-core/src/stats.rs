//! The sufficient statistics of the Dice family: three sums per (row, class).
//!
//! Stats are additive. Sums over disjoint spatial tiles add ([`Stats::add`]); batches split
//! along N concatenate ([`Stats::concat_rows`]) or, pooled, add. That is what makes exact
//! batch Dice across data-parallel workers and over tiled volumes possible.

use crate::error::{DiceError, Result};
use crate::limits;

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

/// Per-row sums of the elementwise term (CE, BCE, focal) of the hybrid losses and of the
/// temporal-consistency term.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct PointwiseSums {
    /// Sum of the elementwise loss over the row's unmasked elements.
    pub loss: f64,
    /// Its `mean` denominator: summed target-class weights (weighted CE) or element count.
    pub weight: f64,
    /// Unmasked voxels (positions) of the row.
    pub voxels: f64,
    /// Temporal term: sum of (p_t - p_(t-1))^2 over the row's pairs of consecutive frames.
    pub temporal: f64,
    /// Temporal term: number of those squared differences.
    pub pairs: f64,
}

impl PointwiseSums {
    #[inline(always)]
    pub(crate) fn accumulate(&mut self, other: &PointwiseSums) {
        self.loss += other.loss;
        self.weight += other.weight;
        self.voxels += other.voxels;
        self.temporal += other.temporal;
        self.pairs += other.pairs;
    }

    /// Adds one tile's (loss, mean weight, kept voxels) of the elementwise term.
    #[inline(always)]
    pub(crate) fn add_tile<T: crate::float::Float>(&mut self, (loss, weight, voxels): (T, T, T)) {
        self.loss += loss.to_f64();
        self.weight += weight.to_f64();
        self.voxels += voxels.to_f64();
    }
}

/// Sums for `rows` x `classes` entries, row-major, and one [`PointwiseSums`] per row. Rows
/// are batch items (1 once pooled); classes are the kept classes (background dropped when
/// excluded).
#[derive(Clone, Debug, PartialEq)]
pub struct Stats {
    rows: usize,
    classes: usize,
    sums: Vec<Sums>,
    pointwise: Vec<PointwiseSums>,
}

impl Stats {
    /// All-zero stats; `OutOfMemory` when rows x classes entries cannot be allocated.
    pub fn zeros(rows: usize, classes: usize) -> Result<Self> {
        let entries = limits::product("stats", &[rows, classes])?;
        Ok(Stats {
            rows,
            classes,
            sums: limits::filled("stats", entries, Sums::default())?,
            pointwise: limits::filled("stats", rows, PointwiseSums::default())?,
        })
    }

    /// Length of the flat form: 3 per entry, plus 5 per row with an elementwise or temporal
    /// term; `None` when it overflows `usize`.
    pub fn flat_len(rows: usize, classes: usize, pointwise: bool) -> Option<usize> {
        let extra = if pointwise { rows.checked_mul(5)? } else { 0 };
        rows.checked_mul(classes)?.checked_mul(3)?.checked_add(extra)
    }

    /// Stats from the flat form (e.g. after an all-reduce): triples (I, P, G) per entry,
    /// row-major, then, when present, (loss, weight, voxels, temporal, pairs) per row.
    pub fn from_flat(rows: usize, classes: usize, flat: &[f64]) -> Result<Self> {
        let fits = |pointwise| Self::flat_len(rows, classes, pointwise) == Some(flat.len());
        if !fits(false) && !fits(true) {
            return Err(DiceError::StatsMismatch {
                expected: (rows, classes),
                got: (flat.len() / 3, 1),
            });
        }
        let mut stats = Stats::zeros(rows, classes)?;
        let entries = 3 * stats.sums.len(); // fits: flat holds at least that many values
        for (e, s) in stats.sums.iter_mut().zip(flat[..entries].chunks_exact(3)) {
            *e = Sums { intersection: s[0], pred: s[1], target: s[2] };
        }
        for (p, s) in stats.pointwise.iter_mut().zip(flat[entries..].chunks_exact(5)) {
            *p = PointwiseSums {
                loss: s[0],
                weight: s[1],
                voxels: s[2],
                temporal: s[3],
                pairs: s[4],
            };
        }
        Ok(stats)
    }

    /// The flat form (see [`Stats::from_flat`]) in order; the per-row records only when
    /// `pointwise`.
    pub fn flat(&self, pointwise: bool) -> impl Iterator<Item = f64> + '_ {
        let rows: &[PointwiseSums] = if pointwise { &self.pointwise } else { &[] };
        self.sums
            .iter()
            .flat_map(|s| [s.intersection, s.pred, s.target])
            .chain(rows.iter().flat_map(|p| [p.loss, p.weight, p.voxels, p.temporal, p.pairs]))
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
    /// Elementwise-term sums of each row.
    pub fn pointwise(&self) -> &[PointwiseSums] {
        &self.pointwise
    }
    pub(crate) fn row_mut(&mut self, row: usize) -> (&mut [Sums], &mut PointwiseSums) {
        (&mut self.sums[row * self.classes..(row + 1) * self.classes], &mut self.pointwise[row])
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
        self.pointwise.iter_mut().zip(&other.pointwise).for_each(|(a, b)| a.accumulate(b));
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
        self.pointwise.extend_from_slice(&other.pointwise);
        self.rows += other.rows;
        Ok(())
    }

    /// Sums groups of `k` consecutive rows (in row order): per-frame rows back to per-item rows.
    pub(crate) fn merge_rows(&self, k: usize) -> Result<Stats> {
        let mut out = Stats::zeros(self.rows / k, self.classes)?;
        for r in 0..self.rows {
            for c in 0..self.classes {
                out.sums[(r / k) * self.classes + c].accumulate(&self.sums[r * self.classes + c]);
            }
            out.pointwise[r / k].accumulate(&self.pointwise[r]);
        }
        Ok(out)
    }

    /// Sums over the rows in row order: one row per class (batch Dice).
    pub fn pooled(&self) -> Stats {
        let mut out = Stats {
            rows: 1,
            classes: self.classes,
            sums: vec![Sums::default(); self.classes], // no larger than self.sums
            pointwise: vec![PointwiseSums::default()],
        };
        for r in 0..self.rows {
            for c in 0..self.classes {
                out.sums[c].accumulate(&self.sums[r * self.classes + c]);
            }
            out.pointwise[0].accumulate(&self.pointwise[r]);
        }
        out
    }
}
