//! Exact distance transforms on a box grid with per-axis spacing, separable: one 1-D pass per
//! axis over independent lines, so lines run in parallel and every value is computed by the
//! same arithmetic whatever the thread count (bit-identical results).
//!
//! - Euclidean: Felzenszwalb–Huttenlocher lower envelope of parabolas, on squared distances:
//!   `d(x) = min_y s^2 (x - y)^2 + f(y)` per axis.
//! - Taxicab (L1): `d(x) = min_y s |x - y| + f(y)`, two sweeps.
//! - Chessboard (L-inf): `d(x) = min_y max(s |x - y|, f(y))`, a monotone stack per sweep.

use crate::context::Context;
use crate::error::{DiceError, Result};
use crate::limits;
use crate::tensor::TensorView;

/// The distance between voxel centres.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DistanceMetric {
    /// sqrt(sum_i (s_i dx_i)^2).
    Euclidean,
    /// max_i s_i |dx_i| (scipy `distance_transform_cdt(metric="chessboard")` with unit spacing).
    Chessboard,
    /// sum_i s_i |dx_i| (scipy `distance_transform_cdt(metric="taxicab")` with unit spacing).
    Taxicab,
}

/// Columns gathered together for a strided axis: 32 f64 = 4 cache lines per row of the panel,
/// so a panel's rows far apart in memory cost few TLB misses per element.
const PANEL: usize = 32;
/// Elements per parallel task (fixed, so tasks do not depend on the thread count).
const TASK_ELEMS: usize = 1 << 15;

/// Checks a spacing vector for `rank` axes: finite and > 0.
pub(crate) fn check_spacing(spacing: &[f64], rank: usize) -> Result<()> {
    if spacing.len() != rank {
        return Err(DiceError::ShapeMismatch {
            arg: "spacing",
            expected: vec![rank],
            got: vec![spacing.len()],
        });
    }
    if spacing.iter().any(|s| s.is_nan()) {
        return Err(DiceError::NotANumber { arg: "spacing" });
    }
    if spacing.iter().any(|&s| !(s.is_finite() && s > 0.0)) {
        return Err(DiceError::BadOption {
            name: "spacing",
            reason: "every value must be finite and > 0",
        });
    }
    Ok(())
}

/// `(spacing / 2^e, 2^e)` for `2^e` the power of two at or below the largest spacing: distances
/// computed with the scaled spacing and multiplied by `2^e` equal the unscaled ones bit for
/// bit wherever those neither overflow nor underflow, and stay in range for any finite spacing.
pub(crate) fn unit_spacing(spacing: &[f64]) -> (Vec<f64>, f64) {
    let top = spacing.iter().copied().fold(f64::MIN_POSITIVE, f64::max);
    // The exponent bits of a normal number (top >= MIN_POSITIVE).
    let unit = f64::from_bits(top.to_bits() & (0x7ff << 52));
    (spacing.iter().map(|s| s / unit).collect(), unit)
}

/// Distance from every voxel of a C-order grid to the nearest feature voxel — a voxel whose
/// mask value is nonzero when `features_set`, zero otherwise — or +inf when there is none.
/// Euclidean values are squared unless `root`.
///
/// Computed with [`unit_spacing`]: rooted distances are exact for any finite spacing; squared
/// ones overflow only when the squared distance itself exceeds f64::MAX.
pub(crate) fn transform(
    ctx: &Context,
    mask: &[u8],
    features_set: bool,
    shape: &[usize],
    spacing: &[f64],
    metric: DistanceMetric,
    root: bool,
) -> Result<Vec<f64>> {
    // Passes run in units where the largest spacing is in [1, 2); the first (last axis)
    // reads the mask directly, and `root` is applied as the last pass writes.
    let (scaled, unit) = unit_spacing(spacing);
    let spacing = scaled.as_slice();
    let total: usize = shape.iter().product();
    debug_assert_eq!(mask.len(), total);
    let mut f = limits::filled("mask", total, 0.0f64)?;
    if total == 0 {
        return Ok(f);
    }
    let k = shape.len();
    let euclid = metric == DistanceMetric::Euclidean;
    // Pass 1, along the last axis: s * (steps to the nearest feature on the row), squared for
    // Euclidean unless it is also the last pass and the root is wanted.
    let len = shape[k - 1];
    let rows = total / len;
    let rows_per_task = (TASK_ELEMS / len).max(1);
    let mut tasks = limits::with_capacity("mask", rows.div_ceil(rows_per_task))?;
    tasks.extend((0..rows).step_by(rows_per_task));
    let ptr = SharedMut(f.as_mut_ptr());
    let square = euclid && !(k == 1 && root);
    let s_last = spacing[k - 1];
    ctx.map_ordered(
        &tasks,
        total,
        || (),
        |_, &r0| {
            for r in r0..(r0 + rows_per_task).min(rows) {
                // SAFETY: rows are disjoint across tasks and lie inside `f` (r < rows).
                let out = unsafe { std::slice::from_raw_parts_mut(ptr.get().add(r * len), len) };
                first_pass(&mask[r * len..(r + 1) * len], features_set, out, s_last, square);
            }
        },
    );
    // Further passes, last axis but one first.
    for axis in (0..k - 1).rev() {
        let pass = metric;
        let root_here = root && euclid && axis == 0;
        let s = spacing[axis];
        let len = shape[axis];
        let inner: usize = shape[axis + 1..].iter().product();
        let outer = total / (len * inner);
        // Tasks: (outer index, first column, end column), in fixed order.
        let cols_per_task = (TASK_ELEMS / len).max(PANEL).div_ceil(PANEL) * PANEL;
        let mut tasks = limits::with_capacity("mask", outer * inner.div_ceil(cols_per_task))?;
        tasks.extend((0..outer).flat_map(|o| {
            (0..inner)
                .step_by(cols_per_task)
                .map(move |i0| (o, i0, (i0 + cols_per_task).min(inner)))
        }));
        // Scratch of min(PANEL, inner) lines per task: at most twice the field per thread.
        ctx.map_ordered(
            &tasks,
            total,
            || Lines::new(len, PANEL.min(inner)),
            |lines, &(o, i0, i1)| {
                let start = o * len * inner;
                for p in (i0..i1).step_by(PANEL) {
                    let w = PANEL.min(i1 - p);
                    // SAFETY: tasks cover disjoint (outer, column) sets, so the elements
                    // `start + x * inner + p + j` (x < len, j < w) of this panel are touched by
                    // this task only; they lie inside `f` (start + (len-1) inner + inner - 1 < total).
                    unsafe { lines.run(ptr.get(), start, inner, p, w, s, pass, root_here) };
                }
            },
        );
    }
    let factor = if euclid && !root { unit * unit } else { unit };
    if factor != 1.0 {
        f.iter_mut().for_each(|v| *v *= factor);
    }
    Ok(f)
}

/// One row of the first pass: `s * |x - y*|` (squared when `square`), y* the nearest feature
/// of the row, from two sweeps over feature positions; +inf when the row has none.
fn first_pass(mask: &[u8], features_set: bool, out: &mut [f64], s: f64, square: bool) {
    let is_feature = |m: u8| (m != 0) == features_set;
    let mut last: Option<usize> = None;
    for (x, o) in out.iter_mut().enumerate() {
        if is_feature(mask[x]) {
            last = Some(x);
        }
        *o = last.map_or(f64::INFINITY, |y| (x - y) as f64);
    }
    let mut next: Option<usize> = None;
    for (x, o) in out.iter_mut().enumerate().rev() {
        if is_feature(mask[x]) {
            next = Some(x);
        }
        if let Some(y) = next {
            *o = o.min((y - x) as f64);
        }
        let t = s * *o;
        *o = if square { t * t } else { t };
    }
}

/// A raw pointer shared by tasks that write disjoint elements.
#[derive(Clone, Copy)]
struct SharedMut(*mut f64);
impl SharedMut {
    /// The pointer (a method, so closures capture the whole Sync wrapper, not the field).
    fn get(self) -> *mut f64 {
        self.0
    }
}
// SAFETY: used only by `transform`, whose tasks write disjoint elements.
unsafe impl Send for SharedMut {}
// SAFETY: as above.
unsafe impl Sync for SharedMut {}

/// Per-task scratch: a panel of gathered lines, their outputs, and the 1-D buffers.
struct Lines {
    len: usize,
    input: Vec<f64>,
    output: Vec<f64>,
    v: Vec<f64>,
    z: Vec<f64>,
    h: Vec<f64>,
    stack: Vec<usize>,
}

impl Lines {
    fn new(len: usize, width: usize) -> Self {
        Lines {
            len,
            input: vec![0.0; len * width],
            output: vec![0.0; len * width],
            v: vec![0.0; len],
            z: vec![0.0; len + 1],
            h: vec![0.0; len],
            stack: vec![0; len],
        }
    }

    /// Transforms the `w` lines starting at column `p` of the slab at `start`. Gathers and
    /// scatters row by row (w adjacent elements at a time), transforms column by column.
    ///
    /// # Safety
    /// `base` points to a buffer holding every element `start + x * inner + p + j`
    /// (x < len, j < w), and no other thread touches those elements during the call.
    #[allow(clippy::too_many_arguments)]
    unsafe fn run(
        &mut self,
        base: *mut f64,
        start: usize,
        inner: usize,
        p: usize,
        w: usize,
        s: f64,
        m: DistanceMetric,
        root: bool,
    ) {
        let len = self.len;
        if inner == 1 {
            // A contiguous line (w == 1): transform it straight from and into the buffer.
            // SAFETY: in bounds and exclusive by the function's contract (x < len, j = 0).
            let line = unsafe { std::slice::from_raw_parts_mut(base.add(start + p), len) };
            self.input[..len].copy_from_slice(line);
            let g = &self.input[..len];
            match m {
                DistanceMetric::Euclidean => {
                    envelope(g, line, s, &mut self.v, &mut self.z, &mut self.h)
                }
                DistanceMetric::Taxicab => sweep_l1(g, line, s),
                DistanceMetric::Chessboard => sweep_linf(g, line, s, &mut self.stack),
            }
            if root {
                line.iter_mut().for_each(|v| *v = v.sqrt());
            }
            return;
        }
        for x in 0..len {
            // SAFETY: in bounds and exclusive by the function's contract.
            let row = unsafe { std::slice::from_raw_parts(base.add(start + x * inner + p), w) };
            for (j, &v) in row.iter().enumerate() {
                self.input[j * len + x] = v;
            }
        }
        for j in 0..w {
            let g = &self.input[j * len..(j + 1) * len];
            let d = &mut self.output[j * len..(j + 1) * len];
            match m {
                DistanceMetric::Euclidean => {
                    envelope(g, d, s, &mut self.v, &mut self.z, &mut self.h)
                }
                DistanceMetric::Taxicab => sweep_l1(g, d, s),
                DistanceMetric::Chessboard => sweep_linf(g, d, s, &mut self.stack),
            }
            if root {
                d.iter_mut().for_each(|v| *v = v.sqrt());
            }
        }
        for x in 0..len {
            // SAFETY: in bounds and exclusive by the function's contract.
            let row = unsafe { std::slice::from_raw_parts_mut(base.add(start + x * inner + p), w) };
            for (j, v) in row.iter_mut().enumerate() {
                *v = self.output[j * len + x];
            }
        }
    }
}

/// `d(x) = min_y s^2 (x - y)^2 + g(y)` (Felzenszwalb–Huttenlocher); +inf entries of `g` are
/// not parabolas; all +inf gives all +inf. `v` holds the envelope's apexes, `z` where each
/// parabola starts to be lowest, `h` the apex values (contiguous, no gather through `v`).
fn envelope(g: &[f64], d: &mut [f64], s: f64, v: &mut [f64], z: &mut [f64], h: &mut [f64]) {
    let n = g.len();
    assert!(d.len() == n && v.len() >= n && h.len() >= n && z.len() > n, "envelope buffers");
    let s2 = s * s;
    let half_inv_s2 = 0.5 / s2;
    let mut k = 0usize; // parabolas in the envelope
    for (q, &gq) in g.iter().enumerate() {
        if gq == f64::INFINITY {
            continue;
        }
        let qf = q as f64;
        // Pop parabolas hidden by q: the intersection with the top lies left of the top's start.
        let mut cross = f64::NEG_INFINITY;
        while k > 0 {
            // SAFETY: k - 1 < k <= q < n <= the lengths asserted above.
            let (pf, gp, zp) = unsafe {
                (*v.get_unchecked(k - 1), *h.get_unchecked(k - 1), *z.get_unchecked(k - 1))
            };
            cross = (gq - gp) * half_inv_s2 / (qf - pf) + (qf + pf) * 0.5;
            if cross > zp {
                break;
            }
            k -= 1;
            cross = f64::NEG_INFINITY;
        }
        // SAFETY: k <= q < n.
        unsafe {
            *v.get_unchecked_mut(k) = qf;
            *h.get_unchecked_mut(k) = gq;
            *z.get_unchecked_mut(k) = cross;
        }
        k += 1;
    }
    if k == 0 {
        d.fill(f64::INFINITY);
        return;
    }
    z[k] = f64::INFINITY;
    let mut j = 0;
    for (x, out) in d.iter_mut().enumerate() {
        let xf = x as f64;
        // SAFETY: z[k] = +inf stops j at k - 1 at the latest; k <= n < z.len().
        while unsafe { *z.get_unchecked(j + 1) } < xf {
            j += 1;
        }
        // SAFETY: j < k <= n.
        let (vj, hj) = unsafe { (*v.get_unchecked(j), *h.get_unchecked(j)) };
        let dx = xf - vj;
        *out = s2 * dx * dx + hj;
    }
}

/// `d(x) = min_y s |x - y| + g(y)`: a forward and a backward sweep. Moving x shifts every
/// earlier candidate by the same s, so the best earlier candidate y* stays best until a new y
/// beats it; each value is computed once as g(y*) + s |x - y*| (no accumulated rounding).
fn sweep_l1(g: &[f64], d: &mut [f64], s: f64) {
    let n = g.len();
    let value = |y: usize, x: usize| g[y] + s * (x as f64 - y as f64).abs();
    let mut best: Option<usize> = None;
    for x in 0..n {
        if best.is_none_or(|y| g[x] <= value(y, x)) && g[x] < f64::INFINITY {
            best = Some(x);
        }
        d[x] = best.map_or(f64::INFINITY, |y| value(y, x));
    }
    best = None;
    for x in (0..n).rev() {
        if best.is_none_or(|y| g[x] <= value(y, x)) && g[x] < f64::INFINITY {
            best = Some(x);
        }
        if let Some(y) = best {
            d[x] = d[x].min(value(y, x));
        }
    }
}

/// `d(x) = min_y max(s |x - y|, g(y))`: per direction, a stack of candidates y (increasing y,
/// strictly increasing g: a later y with g no larger dominates); at x the best candidate is
/// where g crosses s (x - y), found by binary search.
fn sweep_linf(g: &[f64], d: &mut [f64], s: f64, stack: &mut [usize]) {
    let n = g.len();
    d.fill(f64::INFINITY);
    for dir in [false, true] {
        let idx = |i: usize| if dir { n - 1 - i } else { i };
        let mut k = 0usize;
        for i in 0..n {
            let y = idx(i);
            if g[y] < f64::INFINITY {
                while k > 0 && g[stack[k - 1]] >= g[y] {
                    k -= 1;
                }
                stack[k] = y;
                k += 1;
            }
            if k == 0 {
                continue;
            }
            let reach = |t: usize| s * (y as f64 - stack[t] as f64).abs();
            // First t with g >= reach (g increases, reach decreases along the stack).
            let (mut lo, mut hi) = (0usize, k);
            while lo < hi {
                let mid = (lo + hi) / 2;
                if g[stack[mid]] >= reach(mid) { hi = mid } else { lo = mid + 1 }
            }
            let mut best = f64::INFINITY;
            if lo < k {
                best = g[stack[lo]];
            }
            if lo > 0 {
                best = best.min(reach(lo - 1));
            }
            d[y] = d[y].min(best);
        }
    }
}

/// Distance from every voxel to the nearest nonzero voxel of `features` (rank 1..=4, any
/// strides), +inf when there is none; C order over the view's shape. scipy's
/// `distance_transform_edt(x, sampling)` is this with `features = (x == 0)`.
pub fn distance_transform(
    ctx: &Context,
    features: &TensorView<'_, u8>,
    spacing: &[f64],
    metric: DistanceMetric,
) -> Result<Vec<f64>> {
    let mask = contiguous_mask(features, spacing)?;
    transform(ctx, &mask, true, features.shape(), spacing, metric, true)
}

/// Signed Euclidean distance map: outside the mask the distance to the nearest mask voxel
/// (> 0), inside minus the distance to the nearest voxel outside (< 0); all zeros when the
/// mask is empty or full (no boundary). C order over the view's shape.
pub fn signed_distance(
    ctx: &Context,
    mask: &TensorView<'_, u8>,
    spacing: &[f64],
) -> Result<Vec<f64>> {
    let vol = contiguous_mask(mask, spacing)?;
    signed_from_volume(ctx, &vol, mask.shape(), spacing)
}

/// [`signed_distance`] of a C-order volume (spacing already checked).
pub(crate) fn signed_from_volume(
    ctx: &Context,
    vol: &[u8],
    shape: &[usize],
    spacing: &[f64],
) -> Result<Vec<f64>> {
    let any_in = vol.iter().any(|&v| v != 0);
    let any_out = vol.contains(&0);
    if !(any_in && any_out) {
        return limits::filled("mask", vol.len(), 0.0);
    }
    let mut outside = transform(ctx, vol, true, shape, spacing, DistanceMetric::Euclidean, true)?;
    let inside = transform(ctx, vol, false, shape, spacing, DistanceMetric::Euclidean, true)?;
    for ((o, &i), &v) in outside.iter_mut().zip(&inside).zip(vol) {
        if v != 0 {
            *o = -i;
        }
    }
    Ok(outside)
}

/// The view's values in C order (borrowed when the view is contiguous, else a copy);
/// validates rank and spacing.
pub(crate) fn contiguous_mask<'a>(
    v: &TensorView<'a, u8>,
    spacing: &[f64],
) -> Result<std::borrow::Cow<'a, [u8]>> {
    let shape = v.shape();
    if !(1..=4).contains(&shape.len()) {
        return Err(DiceError::Rank { arg: "mask", rank: shape.len(), min: 1, max: 4 });
    }
    check_spacing(spacing, shape.len())?;
    let n = v.layout().numel();
    if v.layout() == &crate::tensor::Layout::contiguous("mask", shape)? {
        return Ok(std::borrow::Cow::Borrowed(&v.data()[v.base()..v.base() + n]));
    }
    let mut out = limits::with_capacity("mask", n)?;
    let mut index = vec![0usize; shape.len()];
    for _ in 0..n {
        out.push(*v.get(&index));
        for d in (0..shape.len()).rev() {
            index[d] += 1;
            if index[d] < shape[d] {
                break;
            }
            index[d] = 0;
        }
    }
    Ok(std::borrow::Cow::Owned(out))
}
