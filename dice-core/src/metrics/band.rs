//! Tolerance tests without a distance transform: a voxel is within `tau` of a set when some
//! offset of the ball {o : |S o| <= tau} lands on the set. For the small tolerances of surface
//! Dice and boundary F this touches only the edge voxels and a few neighbours each.
//!
//! The distance of an offset is evaluated with the arithmetic of the separable transform
//! ([`super::edt`]) — last axis first, each further axis folded in the same way — so the two
//! paths decide a borderline `d == tau` identically.

use crate::context::Context;
use crate::error::Result;
use crate::limits;
use crate::metrics::edt::DistanceMetric;

/// Grid offsets with their distances (as the transform computes them), closest first.
pub(crate) type Ball = Vec<(f64, Vec<isize>)>;

/// Offsets above this count make the ball test dearer than a transform: use the transform.
pub(crate) const MAX_BALL: usize = 512;
/// Offsets of the nearest-edge search that precedes a transform for the surface distances.
pub(crate) const SEARCH_BALL: usize = 4096;

/// Distance of an integer offset, as the separable transform computes it (squared for
/// Euclidean).
pub(crate) fn offset_distance(o: &[isize], spacing: &[f64], m: DistanceMetric) -> f64 {
    let k = o.len();
    let last = spacing[k - 1] * o[k - 1].unsigned_abs() as f64;
    let mut acc = if m == DistanceMetric::Euclidean { last * last } else { last };
    for a in (0..k - 1).rev() {
        let dx = o[a].unsigned_abs() as f64;
        acc = match m {
            DistanceMetric::Euclidean => spacing[a] * spacing[a] * dx * dx + acc,
            DistanceMetric::Taxicab => acc + spacing[a] * dx,
            DistanceMetric::Chessboard => acc.max(spacing[a] * dx),
        };
    }
    acc
}

/// The offsets within `tau` with their distances (closest first), or None when there are more
/// than `cap`. Offsets reach at most `extent - 1` along each axis (no further one lands on a
/// grid of that extent), whatever `tau / spacing` is.
pub(crate) fn ball(
    spacing: &[f64],
    extent: &[usize],
    m: DistanceMetric,
    tau: f64,
    cap: usize,
) -> Option<Ball> {
    let k = spacing.len();
    let reach: Vec<isize> = spacing
        .iter()
        .zip(extent)
        .map(|(&s, &e)| (tau / s).floor().min(e.saturating_sub(1) as f64) as isize)
        .collect();
    let count: f64 = reach.iter().map(|&r| 2.0 * r as f64 + 1.0).product();
    if count > (cap * 8) as f64 {
        return None;
    }
    let mut out: Vec<(f64, Vec<isize>)> = Vec::new();
    let mut o: Vec<isize> = reach.iter().map(|r| -r).collect();
    loop {
        let d = offset_distance(&o, spacing, m);
        let within = if m == DistanceMetric::Euclidean { d.sqrt() <= tau } else { d <= tau };
        if within {
            out.push((d, o.clone()));
        }
        let mut a = k;
        loop {
            if a == 0 {
                out.sort_by(|x, y| x.0.total_cmp(&y.0));
                return (out.len() <= cap).then_some(out);
            }
            a -= 1;
            if o[a] < reach[a] {
                o[a] += 1;
                break;
            }
            o[a] = -reach[a];
        }
    }
}

/// The radius whose ball holds about `count` offsets (k-ball volume / voxel volume).
pub(crate) fn radius_for(spacing: &[f64], count: usize) -> f64 {
    let k = spacing.len();
    let unit = [
        2.0,
        std::f64::consts::PI,
        4.0 / 3.0 * std::f64::consts::PI,
        std::f64::consts::PI.powi(2) / 2.0,
    ][k - 1];
    (count as f64 * spacing.iter().product::<f64>() / unit).powf(1.0 / k as f64)
}

/// C-order strides of `shape`, and the flat offset of each ball offset.
fn flat_offsets(shape: &[usize], offsets: &[(f64, Vec<isize>)]) -> Vec<isize> {
    let k = shape.len();
    let mut stride = vec![1isize; k];
    for d in (0..k - 1).rev() {
        stride[d] = stride[d + 1] * shape[d + 1] as isize;
    }
    offsets.iter().map(|(_, o)| o.iter().zip(&stride).map(|(a, b)| a * b).sum()).collect()
}

/// Flat indices of the set voxels of a mask.
fn set_voxels(mask: &[u8]) -> Vec<usize> {
    mask.iter().enumerate().filter(|(_, m)| **m != 0).map(|(i, _)| i).collect()
}

/// Multi-index of flat index `i` in a C-order grid.
fn unravel(mut i: usize, shape: &[usize], index: &mut [usize]) {
    for d in (0..shape.len()).rev() {
        index[d] = i % shape[d];
        i /= shape[d];
    }
}

/// Queries per parallel task (fixed: results do not depend on the thread count).
const TASK_QUERIES: usize = 2048;

/// Nearest set voxel of `to` for every set voxel of `from`, searched over the ball offsets in
/// order of distance (the first hit is the nearest: exact). Returns the distances found (in
/// `from` order, unfound ones omitted) and how many were not found within the ball, or None
/// as soon as more than `allowed_missing` are not found.
///
/// The nearest distance is 1-Lipschitz (d(a) >= d(a') - |a - a'|), so after a query a' of the
/// same task was answered, the search for the next query a starts at the first offset not
/// closer than that bound (lowered by a relative 1e-12 against rounding): the skipped offsets
/// cannot hit, and the answer is the same first hit.
#[allow(clippy::too_many_arguments)]
pub(crate) fn nearest_in_ball(
    ctx: &Context,
    from: &[u8],
    to: &[u8],
    shape: &[usize],
    spacing: &[f64],
    m: DistanceMetric,
    offsets: &[(f64, Vec<isize>)],
    allowed_missing: usize,
) -> Result<Option<(Vec<f64>, usize)>> {
    let reach = reach_of(offsets, shape.len());
    let to = Padded::new(to, shape, &reach)?;
    let flat = flat_offsets(&to.shape, offsets);
    let queries = set_voxels(from);
    let k = shape.len();
    let euclid = m == DistanceMetric::Euclidean;
    let root = |d: f64| if euclid { d.sqrt() } else { d };
    let chunks: Vec<&[usize]> = queries.chunks(TASK_QUERIES).collect();
    let scratch = || (vec![0usize; k], vec![0usize; k], vec![0isize; k]);
    let parts =
        ctx.map_ordered(&chunks, queries.len() * 64, scratch, |(index, prev, step), chunk| {
            let mut found = Vec::with_capacity(chunk.len());
            let mut missing = 0usize;
            // Distance (not squared) of the previous query of this task when it was answered.
            let mut last: Option<f64> = None;
            for &i in chunk.iter() {
                unravel(i, shape, index);
                let start = last.map_or(0, |d_prev| {
                    step.iter_mut()
                        .zip(index.iter().zip(prev.iter()))
                        .for_each(|(o, (&a, &b))| *o = a as isize - b as isize);
                    let lo = (d_prev - root(offset_distance(step, spacing, m))) * (1.0 - 1e-12);
                    if lo <= 0.0 {
                        0
                    } else {
                        let lo = if euclid { lo * lo } else { lo };
                        offsets.partition_point(|o| o.0 < lo)
                    }
                });
                match first_hit(to.at(index), &to.mask, &flat[start..]) {
                    Some(j) => {
                        let d = offsets[start + j].0;
                        found.push(d);
                        last = Some(root(d));
                        prev.copy_from_slice(index);
                    }
                    None => {
                        missing += 1;
                        last = None;
                    }
                }
                if missing > allowed_missing {
                    break;
                }
            }
            (found, missing)
        });
    let missing: usize = parts.iter().map(|p| p.1).sum();
    if missing > allowed_missing {
        return Ok(None);
    }
    let mut found = limits::with_capacity("pred", queries.len() - missing)?;
    parts.into_iter().for_each(|p| found.extend(p.0));
    Ok(Some((found, missing)))
}

/// Index of the first offset (closest first) landing on a set voxel of the padded `to`, from
/// the padded flat index `i` (every probe lands inside: see [`Padded`]).
fn first_hit(i: usize, to: &[u8], flat: &[isize]) -> Option<usize> {
    flat.iter().position(|&fo| {
        let at = (i as isize + fo) as usize;
        debug_assert!(at < to.len());
        // SAFETY: `i` is the padded index of a voxel of the unpadded grid and every offset is
        // at most `reach` per axis, the margin of the padding, so `at` lies inside `to`.
        unsafe { *to.get_unchecked(at) != 0 }
    })
}

/// The largest |offset| per axis.
fn reach_of(offsets: &[(f64, Vec<isize>)], k: usize) -> Vec<usize> {
    (0..k).map(|a| offsets.iter().map(|(_, o)| o[a].unsigned_abs()).max().unwrap_or(0)).collect()
}

/// A mask surrounded by a zero margin of `reach` voxels on each side of each axis, so that no
/// probe of a ball needs a bounds test.
struct Padded {
    mask: Vec<u8>,
    shape: Vec<usize>,
    reach: Vec<usize>,
}

impl Padded {
    fn new(mask: &[u8], shape: &[usize], reach: &[usize]) -> Result<Self> {
        let k = shape.len();
        // reach[d] < shape[d] (see `ball`), so the padded extents fit; the product may not.
        let pshape: Vec<usize> = shape.iter().zip(reach).map(|(e, r)| e + 2 * r).collect();
        let padded = limits::filled("mask", limits::product("mask", &pshape)?, 0u8)?;
        let mut out = Padded { mask: padded, shape: pshape, reach: reach.to_vec() };
        let len = shape[k - 1];
        let mut index = vec![0usize; k];
        for (r, row) in mask.chunks(len).enumerate() {
            unravel(r * len, shape, &mut index);
            let at = out.at(&index);
            out.mask[at..at + len].copy_from_slice(row);
        }
        Ok(out)
    }

    /// Padded flat index of the unpadded multi-index `index`.
    fn at(&self, index: &[usize]) -> usize {
        index
            .iter()
            .zip(&self.reach)
            .zip(&self.shape)
            .fold(0usize, |acc, ((&x, &r), &e)| acc * e + x + r)
    }
}

/// Number of set voxels of `from` with a set voxel of `to` at one of the `offsets`.
pub(crate) fn count_within(
    ctx: &Context,
    from: &[u8],
    to: &[u8],
    shape: &[usize],
    offsets: &[(f64, Vec<isize>)],
) -> Result<usize> {
    let h = within_histogram(ctx, from, to, shape, offsets)?;
    Ok(h[1..].iter().sum::<u64>() as usize)
}

/// Rows of `from` per parallel task of [`within_histogram`] (fixed: the tasks do not depend on
/// the thread count; the counts are integers, so neither does their sum).
const TASK_VOXELS: usize = 1 << 15;

/// For each value v of `from` (0: not a query), how many voxels holding v have a set voxel of
/// `to` at one of the `offsets`. Rows of `from` are scanned in fixed tasks; a query's padded
/// index is its row's plus its position along the row.
pub(crate) fn within_histogram(
    ctx: &Context,
    from: &[u8],
    to: &[u8],
    shape: &[usize],
    offsets: &[(f64, Vec<isize>)],
) -> Result<[u64; 256]> {
    let reach = reach_of(offsets, shape.len());
    let to = Padded::new(to, shape, &reach)?;
    let flat = flat_offsets(&to.shape, offsets);
    let len = shape[shape.len() - 1];
    let rows = from.len() / len.max(1);
    let rows_per_task = (TASK_VOXELS / len.max(1)).max(1);
    let mut tasks = limits::with_capacity("pred", rows.div_ceil(rows_per_task))?;
    tasks.extend((0..rows).step_by(rows_per_task));
    let parts = ctx.map_ordered(
        &tasks,
        from.len(),
        || vec![0usize; shape.len()],
        |index, &r0| {
            let mut h = [0u64; 256];
            for r in r0..(r0 + rows_per_task).min(rows) {
                let row = &from[r * len..(r + 1) * len];
                if row.iter().all(|&v| v == 0) {
                    continue;
                }
                unravel(r * len, shape, index);
                let base = to.at(index);
                for (x, &v) in row.iter().enumerate() {
                    if v != 0 && first_hit(base + x, &to.mask, &flat).is_some() {
                        h[v as usize] += 1;
                    }
                }
            }
            h
        },
    );
    let mut h = [0u64; 256];
    for p in &parts {
        h.iter_mut().zip(p).for_each(|(a, b)| *a += b);
    }
    Ok(h)
}
