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
        return Err(DiceError::ShapeMismatch { arg: "spacing", expected: vec![rank], got: vec![spacing.len()] });
    }
    if spacing.iter().any(|s| s.is_nan()) {
        return Err(DiceError::NotANumber { arg: "spacing" });
    }
    if spacing.iter().any(|&s| !(s.is_finite() && s > 0.0)) {
        return Err(DiceError::BadOption { name: "spacing", reason: "every value must be finite and > 0" });
    }
    Ok(())
}

/// In place: `f` holds 0 at feature voxels and +inf elsewhere (C order over `shape`); on
/// return, the distance to the nearest feature (squared for Euclidean), +inf when none.
pub(crate) fn transform_in_place(ctx: &Context, f: &mut [f64], shape: &[usize], spacing: &[f64], metric: DistanceMetric) {
    let total: usize = shape.iter().product();
    debug_assert_eq!(f.len(), total);
    if total == 0 {
        return;
    }
    // The first pass sees only 0 / +inf: the 1-D answer is s * (distance to the nearest
    // feature on the line), two sweeps; squared afterwards for Euclidean.
    for (pass, (axis, &s)) in spacing.iter().enumerate().rev().enumerate() {
        let pass_metric = match (pass, metric) {
            (0, DistanceMetric::Euclidean) => Pass::FirstSquared,
            (_, DistanceMetric::Euclidean) => Pass::Euclidean,
            (_, DistanceMetric::Taxicab) => Pass::Taxicab,
            (_, DistanceMetric::Chessboard) => Pass::Chessboard,
        };
        let len = shape[axis];
        let inner: usize = shape[axis + 1..].iter().product();
        let outer = total / (len * inner);
        let width = if inner == 1 { 1 } else { PANEL };
        // Tasks: (outer index, first column, end column), in fixed order.
        let cols_per_task = (TASK_ELEMS / len).max(width).div_ceil(width) * width;
        let tasks: Vec<(usize, usize, usize)> = (0..outer)
            .flat_map(|o| (0..inner).step_by(cols_per_task).map(move |i0| (o, i0, (i0 + cols_per_task).min(inner))))
            .collect();
        let ptr = SharedMut(f.as_mut_ptr());
        ctx.map_ordered(
            &tasks,
            total,
            || Lines::new(len, width),
            |lines, &(o, i0, i1)| {
                let start = o * len * inner;
                for p in (i0..i1).step_by(width) {
                    let w = width.min(i1 - p);
                    // SAFETY: tasks cover disjoint (outer, column) sets, so the elements
                    // `start + x * inner + p + j` (x < len, j < w) of this panel are touched by
                    // this task only; they lie inside `f` (start + (len-1) inner + inner - 1 < total).
                    unsafe { lines.run(ptr.get(), start, inner, p, w, s, pass_metric) };
                }
            },
        );
    }
}

/// The 1-D operation of one pass.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Pass {
    /// First Euclidean pass on 0 / +inf input: (s * distance along the line)^2.
    FirstSquared,
    /// Lower envelope of parabolas.
    Euclidean,
    /// L1 sweeps.
    Taxicab,
    /// L-inf stack sweeps.
    Chessboard,
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
// SAFETY: used only by `transform_in_place`, whose tasks write disjoint elements.
unsafe impl Send for SharedMut {}
// SAFETY: as above.
unsafe impl Sync for SharedMut {}

/// Per-task scratch: a panel of gathered lines, their outputs, and the 1-D buffers.
struct Lines {
    len: usize,
    input: Vec<f64>,
    output: Vec<f64>,
    v: Vec<usize>,
    z: Vec<f64>,
}

impl Lines {
    fn new(len: usize, width: usize) -> Self {
        Lines { len, input: vec![0.0; len * width], output: vec![0.0; len * width], v: vec![0; len], z: vec![0.0; len + 1] }
    }

    /// Transforms the `w` lines starting at column `p` of the slab at `start`. Gathers and
    /// scatters row by row (w adjacent elements at a time), transforms column by column.
    ///
    /// # Safety
    /// `base` points to a buffer holding every element `start + x * inner + p + j`
    /// (x < len, j < w), and no other thread touches those elements during the call.
    #[allow(clippy::too_many_arguments)]
    unsafe fn run(&mut self, base: *mut f64, start: usize, inner: usize, p: usize, w: usize, s: f64, m: Pass) {
        let len = self.len;
        if inner == 1 {
            // A contiguous line (w == 1): transform it straight from and into the buffer.
            // SAFETY: in bounds and exclusive by the function's contract (x < len, j = 0).
            let line = unsafe { std::slice::from_raw_parts_mut(base.add(start + p), len) };
            self.input[..len].copy_from_slice(line);
            let g = &self.input[..len];
            match m {
                Pass::FirstSquared => first_pass_squared(g, line, s),
                Pass::Euclidean => envelope(g, line, s, &mut self.v, &mut self.z),
                Pass::Taxicab => sweep_l1(g, line, s),
                Pass::Chessboard => sweep_linf(g, line, s, &mut self.v),
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
                Pass::FirstSquared => first_pass_squared(g, d, s),
                Pass::Euclidean => envelope(g, d, s, &mut self.v, &mut self.z),
                Pass::Taxicab => sweep_l1(g, d, s),
                Pass::Chessboard => sweep_linf(g, d, s, &mut self.v),
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

/// First Euclidean pass on 0 / +inf input: `(s * |x - y*|)^2`, y* the nearest feature on the
/// line (two sweeps over feature positions).
fn first_pass_squared(g: &[f64], d: &mut [f64], s: f64) {
    let mut last: Option<usize> = None;
    for (x, out) in d.iter_mut().enumerate() {
        if g[x] == 0.0 {
            last = Some(x);
        }
        *out = last.map_or(f64::INFINITY, |y| (x - y) as f64);
    }
    let mut next: Option<usize> = None;
    for (x, out) in d.iter_mut().enumerate().rev() {
        if g[x] == 0.0 {
            next = Some(x);
        }
        if let Some(y) = next {
            *out = out.min((y - x) as f64);
        }
        let t = s * *out;
        *out = t * t;
    }
}

/// `d(x) = min_y s^2 (x - y)^2 + g(y)` (Felzenszwalb–Huttenlocher); +inf entries of `g` are
/// not parabolas; all +inf gives all +inf.
fn envelope(g: &[f64], d: &mut [f64], s: f64, v: &mut [usize], z: &mut [f64]) {
    let s2 = s * s;
    let mut k = 0usize; // parabolas in the envelope
    for q in 0..g.len() {
        if g[q] == f64::INFINITY {
            continue;
        }
        // Pop parabolas hidden by q: the intersection with the top lies left of the top's start.
        let mut cross = f64::NEG_INFINITY;
        while k > 0 {
            let p = v[k - 1];
            let (qf, pf) = (q as f64, p as f64);
            cross = ((g[q] - g[p]) / (s2 * (qf - pf)) + (qf + pf)) * 0.5;
            if cross <= z[k - 1] {
                k -= 1;
                cross = f64::NEG_INFINITY;
            } else {
                break;
            }
        }
        v[k] = q;
        z[k] = cross;
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
        while z[j + 1] < xf {
            j += 1;
        }
        let dx = xf - v[j] as f64;
        *out = s2 * dx * dx + g[v[j]];
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
    let f = field_of(features, spacing, |v| v != 0)?;
    let mut f = f;
    transform_in_place(ctx, &mut f, features.shape(), spacing, metric);
    if metric == DistanceMetric::Euclidean {
        f.iter_mut().for_each(|v| *v = v.sqrt());
    }
    Ok(f)
}

/// Signed Euclidean distance map: outside the mask the distance to the nearest mask voxel
/// (> 0), inside minus the distance to the nearest voxel outside (< 0); all zeros when the
/// mask is empty or full (no boundary). C order over the view's shape.
pub fn signed_distance(ctx: &Context, mask: &TensorView<'_, u8>, spacing: &[f64]) -> Result<Vec<f64>> {
    let vol: Vec<u8> = field_of(mask, spacing, |v| v != 0)?.iter().map(|&d| (d == 0.0) as u8).collect();
    Ok(signed_from_volume(ctx, &vol, mask.shape(), spacing))
}

/// [`signed_distance`] of a C-order 0/1 volume (spacing already checked).
pub(crate) fn signed_from_volume(ctx: &Context, vol: &[u8], shape: &[usize], spacing: &[f64]) -> Vec<f64> {
    let any_in = vol.iter().any(|&v| v != 0);
    let any_out = vol.contains(&0);
    if !(any_in && any_out) {
        return vec![0.0; vol.len()];
    }
    let mut outside: Vec<f64> = vol.iter().map(|&v| if v != 0 { 0.0 } else { f64::INFINITY }).collect();
    let mut inside: Vec<f64> = vol.iter().map(|&v| if v == 0 { 0.0 } else { f64::INFINITY }).collect();
    transform_in_place(ctx, &mut outside, shape, spacing, DistanceMetric::Euclidean);
    transform_in_place(ctx, &mut inside, shape, spacing, DistanceMetric::Euclidean);
    vol.iter().zip(outside.iter().zip(&inside)).map(|(&v, (&o, &i))| if v == 0 { o.sqrt() } else { -i.sqrt() }).collect()
}

/// 0 where `is_feature`, +inf elsewhere, C order; validates rank and spacing.
fn field_of(v: &TensorView<'_, u8>, spacing: &[f64], is_feature: impl Fn(u8) -> bool) -> Result<Vec<f64>> {
    let shape = v.shape();
    if !(1..=4).contains(&shape.len()) {
        return Err(DiceError::Rank { arg: "mask", rank: shape.len(), min: 1, max: 4 });
    }
    check_spacing(spacing, shape.len())?;
    let feature = |b: u8| if is_feature(b) { 0.0 } else { f64::INFINITY };
    if v.layout() == &crate::tensor::Layout::contiguous("mask", shape)? {
        let n = v.layout().numel();
        return Ok(v.data()[v.base()..v.base() + n].iter().map(|&b| feature(b)).collect());
    }
    let mut out = Vec::with_capacity(v.layout().numel());
    let mut index = vec![0usize; shape.len()];
    for _ in 0..v.layout().numel() {
        out.push(feature(*v.get(&index)));
        for d in (0..shape.len()).rev() {
            index[d] += 1;
            if index[d] < shape[d] {
                break;
            }
            index[d] = 0;
        }
    }
    Ok(out)
}
