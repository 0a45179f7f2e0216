//! Exact confusion counts per (batch item, class) in 64-bit integers. Counts add, so a data
//! set can be streamed through one accumulator ([`Confusion::add`], [`Confusion::pooled`]),
//! and integer sums make the result identical for any thread count or tiling.

use crate::backend::Backend;
use crate::context::Context;
use crate::error::{DiceError, Result};
use crate::limits;
use crate::metrics::decisions::{Decisions, Grid, Reader, pair_grid};
use pulp::{Simd, WithSimd};

/// TP / FP / FN / TN of one (item, class).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counts {
    /// Predicted and true.
    pub tp: u64,
    /// Predicted, not true.
    pub fp: u64,
    /// True, not predicted.
    pub fn_: u64,
    /// Neither.
    pub tn: u64,
}

impl Counts {
    fn add(&mut self, o: &Counts) {
        self.tp += o.tp;
        self.fp += o.fp;
        self.fn_ += o.fn_;
        self.tn += o.tn;
    }
}

/// Counts for every (item, class), row-major (item, class).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Confusion {
    items: usize,
    classes: usize,
    counts: Vec<Counts>,
}

impl Confusion {
    /// All-zero counts: the start of a streaming accumulation.
    pub fn zeros(items: usize, classes: usize) -> Self {
        Confusion { items, classes, counts: vec![Counts::default(); items * classes] }
    }
    /// Counts from explicit values, row-major (item, class).
    pub fn from_counts(items: usize, classes: usize, counts: Vec<Counts>) -> Result<Self> {
        if counts.len() != items * classes {
            return Err(DiceError::StatsMismatch {
                expected: (items, classes),
                got: (counts.len(), 1),
            });
        }
        Ok(Confusion { items, classes, counts })
    }
    /// Batch items.
    pub fn items(&self) -> usize {
        self.items
    }
    /// Classes.
    pub fn classes(&self) -> usize {
        self.classes
    }
    /// Counts of (item, class).
    pub fn get(&self, item: usize, class: usize) -> Counts {
        self.counts[item * self.classes + class]
    }
    /// All counts, row-major (item, class).
    pub fn counts(&self) -> &[Counts] {
        &self.counts
    }
    /// Adds counts of the same shape (another tile, another worker, another batch).
    pub fn add(&mut self, other: &Confusion) -> Result<()> {
        if (other.items, other.classes) != (self.items, self.classes) {
            return Err(DiceError::StatsMismatch {
                expected: (self.items, self.classes),
                got: (other.items, other.classes),
            });
        }
        for (a, b) in self.counts.iter_mut().zip(&other.counts) {
            a.add(b);
        }
        Ok(())
    }
    /// Sums over items: one row per class (a data set pooled as one item).
    pub fn pooled(&self) -> Confusion {
        let mut out = Confusion::zeros(1, self.classes);
        for row in self.counts.chunks(self.classes.max(1)) {
            for (a, b) in out.counts.iter_mut().zip(row) {
                a.add(b);
            }
        }
        out
    }
    /// Drops class 0 (MONAI `include_background=False`; kept when there is one class).
    pub fn without_background(&self) -> Confusion {
        if self.classes <= 1 {
            return self.clone();
        }
        let counts =
            self.counts.chunks(self.classes).flat_map(|r| r[1..].iter().copied()).collect();
        Confusion { items: self.items, classes: self.classes - 1, counts }
    }
}

/// Rows per parallel task: enough work to amortise a task, fixed so tasks do not depend on
/// the thread count (not that integer sums would care).
const TASK_VOXELS: usize = 1 << 16;

/// Confusion counts of `pred` against `gt`. `classes`: see [`pair_grid`].
pub fn confusion(
    ctx: &Context,
    pred: &Decisions<'_>,
    gt: &Decisions<'_>,
    classes: usize,
) -> Result<Confusion> {
    let grid = pair_grid(pred, gt, classes)?;
    let cells = limits::product("pred", &[grid.items, grid.classes])?;
    if grid.voxels() == 0 {
        // An empty spatial axis: every count is 0.
        let counts = limits::filled("pred", cells, Counts::default())?;
        return Ok(Confusion { items: grid.items, classes: grid.classes, counts });
    }
    let (rp, rg) = (Reader::new("pred", *pred, &grid), Reader::new("gt", *gt, &grid));
    let (rows, len, c) = (grid.rows(), grid.row_len(), grid.classes);
    let rows_per_task = (TASK_VOXELS / len).max(1);
    let per_item = rows.div_ceil(rows_per_task);
    let mut tasks =
        limits::with_capacity("pred", limits::product("pred", &[grid.items, per_item])?)?;
    tasks.extend((0..grid.items).flat_map(|n| {
        (0..rows).step_by(rows_per_task).map(move |r0| (n, r0, (r0 + rows_per_task).min(rows)))
    }));
    let exclusive = pred.exclusive() && gt.exclusive();
    let backend = ctx.backend();
    let partial = ctx.map_ordered(
        &tasks,
        grid.items * grid.voxels() * if exclusive { 1 } else { c },
        || Scratch::new(len),
        |s, &(n, r0, r1)| -> Result<(usize, Vec<[u64; 3]>)> {
            let s = s.as_mut().map_err(|e| e.clone())?;
            let mut acc = limits::filled("pred", c, [0u64; 3])?;
            // Contiguous byte rows are counted as one span, others row by row.
            let span = if rp.rows_contiguous() && rg.rows_contiguous() { r1 - r0 } else { 1 };
            let mut r = r0;
            while r < r1 {
                let rows = span.min(r1 - r);
                if count_u8(backend, &rp, &rg, n, r, rows, exclusive, &mut acc)? {
                    r += rows;
                    continue;
                }
                if exclusive {
                    count_exclusive(&rp, &rg, n, r, s, &mut acc)?;
                } else {
                    count_channels(&rp, &rg, n, r, s, &mut acc)?;
                }
                r += 1;
            }
            Ok((n, acc))
        },
    );
    finish(&grid, partial)
}

/// Per-task row buffers.
struct Scratch {
    kp: Vec<u32>,
    kg: Vec<u32>,
    mp: Vec<u8>,
    mg: Vec<u8>,
}
impl Scratch {
    fn new(len: usize) -> Result<Self> {
        let (k, m) = (|| limits::filled("pred", len, 0u32), || limits::filled("pred", len, 0u8));
        Ok(Scratch { kp: k()?, kg: k()?, mp: m()?, mg: m()? })
    }
}

/// One class per voxel on both sides: a joint histogram, [P, G, TP] per class.
fn count_exclusive(
    rp: &Reader<'_>,
    rg: &Reader<'_>,
    n: usize,
    r: usize,
    s: &mut Scratch,
    acc: &mut [[u64; 3]],
) -> Result<()> {
    rp.classes_row(n, r, &mut s.kp)?;
    rg.classes_row(n, r, &mut s.kg)?;
    for (&a, &b) in s.kp.iter().zip(&s.kg) {
        acc[a as usize][0] += 1;
        acc[b as usize][1] += 1;
        acc[a as usize][2] += (a == b) as u64;
    }
    Ok(())
}

/// Fast path for u8 rows `r .. r + rows` with unit stride on both sides (two label maps, or
/// two masks; several rows only when contiguous): per class,
/// byte compares counted in u8 lanes (vectorised), flushed to u64. Returns false when the
/// sources do not qualify.
#[allow(clippy::too_many_arguments)]
fn count_u8(
    backend: Backend,
    rp: &Reader<'_>,
    rg: &Reader<'_>,
    n: usize,
    r: usize,
    rows: usize,
    exclusive: bool,
    acc: &mut [[u64; 3]],
) -> Result<bool> {
    let c = acc.len();
    if exclusive {
        let (Some(a), Some(b)) = (rp.u8_rows(n, 0, r, rows), rg.u8_rows(n, 0, r, rows)) else {
            return Ok(false);
        };
        // Every class from the bytes, except class 0 of a binary map, which follows from
        // class 1: P0 = S - P1, G0 = S - G1, TP0 = S - P1 - G1 + TP1 (S = span length).
        let mut max = 0u8;
        let skip = usize::from(c == 2);
        for (k, slot) in acc.iter_mut().enumerate().skip(skip) {
            let ([p, g, t], m) = backend.dispatch(RowCounts { a, b, class: Some(k as u8) });
            max = max.max(m);
            add3(slot, [p, g, t]);
            if c == 2 {
                let len = a.len() as u64;
                add3(&mut acc[0], [len - p, len - g, len + t - p - g]);
                break;
            }
        }
        if max as usize >= c {
            let arg = if a.iter().any(|&l| l as usize >= c) { rp.arg } else { rg.arg };
            return Err(DiceError::LabelOutOfRange { arg, value: max as i64, classes: c });
        }
        return Ok(true);
    }
    // Masks on both sides: nonzero is a member. (A u8 label map is labels, not a mask: a
    // mixed pair takes the general path.)
    if !(rp.is_masks() && rg.is_masks()) {
        return Ok(false);
    }
    for (k, slot) in acc.iter_mut().enumerate() {
        let (Some(a), Some(b)) = (rp.u8_rows(n, k, r, rows), rg.u8_rows(n, k, r, rows)) else {
            return Ok(false);
        };
        add3(slot, backend.dispatch(RowCounts { a, b, class: None }).0);
    }
    Ok(true)
}

/// Counts of one row pair for class `Some(k)` (label == k) or `None` (mask != 0), and the
/// largest byte of the pair (the label range check), compiled
/// for the dispatched SIMD level (the loops autovectorise inside `with_simd`).
struct RowCounts<'a> {
    a: &'a [u8],
    b: &'a [u8],
    class: Option<u8>,
}
impl WithSimd for RowCounts<'_> {
    type Output = ([u64; 3], u8);
    #[inline(always)]
    fn with_simd<S: Simd>(self, _simd: S) -> ([u64; 3], u8) {
        match self.class {
            Some(k) => count_pairs(self.a, self.b, |x| (x == k) as u8),
            None => count_pairs(self.a, self.b, |x| (x != 0) as u8),
        }
    }
}

fn add3(slot: &mut [u64; 3], v: [u64; 3]) {
    for (s, x) in slot.iter_mut().zip(v) {
        *s += x;
    }
}

/// [count f(a), count f(b), count f(a) & f(b)] for a 0/1 predicate f, and the largest byte: 32 u8
/// lanes per counter,
/// kept in registers over blocks of 255 chunks (so they cannot overflow), then widened.
#[inline(always)]
fn count_pairs(a: &[u8], b: &[u8], f: impl Fn(u8) -> u8) -> ([u64; 3], u8) {
    const LANES: usize = 32;
    const BLOCK: usize = 255 * LANES;
    let mut total = [0u64; 3];
    let mut max = [0u8; LANES];
    for (ba, bb) in a.chunks(BLOCK).zip(b.chunks(BLOCK)) {
        let (mut lp, mut lg, mut lt) = ([0u8; LANES], [0u8; LANES], [0u8; LANES]);
        let (ca, cb) = (ba.chunks_exact(LANES), bb.chunks_exact(LANES));
        let (ra, rb) = (ca.remainder(), cb.remainder());
        for (xa, xb) in ca.zip(cb) {
            for i in 0..LANES {
                max[i] = max[i].max(xa[i]).max(xb[i]);
                let (p, g) = (f(xa[i]), f(xb[i]));
                lp[i] += p;
                lg[i] += g;
                lt[i] += p & g;
            }
        }
        total[0] += lp.iter().map(|&v| v as u64).sum::<u64>();
        total[1] += lg.iter().map(|&v| v as u64).sum::<u64>();
        total[2] += lt.iter().map(|&v| v as u64).sum::<u64>();
        for (&x, &y) in ra.iter().zip(rb) {
            max[0] = max[0].max(x).max(y);
            let (p, g) = (f(x) as u64, f(y) as u64);
            total[0] += p;
            total[1] += g;
            total[2] += p & g;
        }
    }
    (total, max.iter().copied().fold(0, u8::max))
}

/// Channel by channel: [P, G, TP] per class.
fn count_channels(
    rp: &Reader<'_>,
    rg: &Reader<'_>,
    n: usize,
    r: usize,
    s: &mut Scratch,
    acc: &mut [[u64; 3]],
) -> Result<()> {
    for (c, a) in acc.iter_mut().enumerate() {
        rp.member_row(n, c, r, &mut s.kp, &mut s.mp)?;
        rg.member_row(n, c, r, &mut s.kg, &mut s.mg)?;
        let (mut p, mut g, mut t) = (0u64, 0u64, 0u64);
        for (&x, &y) in s.mp.iter().zip(&s.mg) {
            p += x as u64;
            g += y as u64;
            t += (x & y) as u64;
        }
        a[0] += p;
        a[1] += g;
        a[2] += t;
    }
    Ok(())
}

fn finish(grid: &Grid, partial: Vec<Result<(usize, Vec<[u64; 3]>)>>) -> Result<Confusion> {
    let c = grid.classes;
    let mut pgt = limits::filled("pred", grid.items * c, [0u64; 3])?;
    for part in partial {
        let (n, acc) = part?;
        for (k, a) in acc.iter().enumerate() {
            for j in 0..3 {
                pgt[n * c + k][j] += a[j];
            }
        }
    }
    let voxels = grid.voxels() as u64;
    let mut counts = limits::with_capacity("pred", pgt.len())?;
    counts.extend(pgt.iter().map(|&[p, g, t]| Counts {
        tp: t,
        fp: p - t,
        fn_: g - t,
        tn: voxels + t - p - g,
    }));
    Ok(Confusion { items: grid.items, classes: c, counts })
}
