//! DeepMind surface-distance (`surface_distance.compute_surface_distances` and its derived
//! metrics), 2-D and 3-D, one pair of binary masks.
//!
//! Surfaces live on the corner grid: the union of both masks is cropped to its bounding box,
//! zero-padded, and every corner gets the neighbour code of its 2x2x2 (2x2) voxels
//! ([`super::surfels`] for the layout). A corner whose code is neither 0 nor all ones is a
//! surface element ("surfel") with the area (contour length) of its code. Distances go from
//! every surfel of one mask to the nearest surfel of the other (Euclidean, with spacing, +inf
//! when the other mask has none), listed sorted by (distance, area). Only the bounding box is
//! decoded; the nearest surfel is searched among the surfels only ([`super::band`]) and the
//! exact transform of the box is the fallback, as for the MONAI metrics. Definitions and
//! conventions: docs/metrics.md.

use crate::context::Context;
use crate::error::{DiceError, Result};
use crate::limits;
use crate::metrics::band::{SEARCH_BALL, ball, radius_for};
use crate::metrics::distances::{Need, check_percentile, directed};
use crate::metrics::edt::{DistanceMetric, contiguous_mask, unit_spacing};
use crate::metrics::surface::crop;
use crate::metrics::surfels::{contour_lengths_2d, surfel_areas_3d};
use crate::tensor::TensorView;

/// `compute_surface_distances`' dict: per direction the distances sorted ascending and the
/// areas (2-D: lengths) of the surfels they start from, in the same order.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SurfaceDistances {
    /// From each ground-truth surfel to the prediction's surface.
    pub distances_gt_to_pred: Vec<f64>,
    /// From each prediction surfel to the ground truth's surface.
    pub distances_pred_to_gt: Vec<f64>,
    /// Areas of the ground-truth surfels.
    pub surfel_areas_gt: Vec<f64>,
    /// Areas of the prediction surfels.
    pub surfel_areas_pred: Vec<f64>,
}

/// Neighbour codes of both masks over the corner grid of the union's bounding box.
struct Corners {
    shape: Vec<usize>,
    gt: Vec<u8>,
    pred: Vec<u8>,
    full: u8,
}

impl Corners {
    /// 0/1 mask of the surfels of one side.
    fn surfels(&self, codes: &[u8]) -> Result<Vec<u8>> {
        let mut out = limits::with_capacity("mask_gt", codes.len())?;
        out.extend(codes.iter().map(|&c| (c != 0 && c != self.full) as u8));
        Ok(out)
    }
}

/// Checks the pair and spacing, decodes both masks and builds their corner codes; None when
/// both masks are empty.
fn corners(
    ctx: &Context,
    gt: &TensorView<'_, u8>,
    pred: &TensorView<'_, u8>,
    spacing: &[f64],
) -> Result<Option<Corners>> {
    let shape = gt.shape().to_vec();
    if !(2..=3).contains(&shape.len()) {
        return Err(DiceError::Rank { arg: "mask_gt", rank: shape.len(), min: 2, max: 3 });
    }
    if pred.shape() != shape.as_slice() {
        return Err(DiceError::ShapeMismatch {
            arg: "mask_pred",
            expected: shape,
            got: pred.shape().to_vec(),
        });
    }
    let (g, p) = (contiguous_mask(gt, spacing)?, contiguous_mask(pred, spacing)?);
    let Some((lo, ext)) = union_box(&g, &p, &shape) else { return Ok(None) };
    let binary = |mut v: Vec<u8>| {
        v.iter_mut().for_each(|x| *x = (*x != 0) as u8);
        v
    };
    let (g, p) = (binary(crop(&g, &shape, &lo, &ext)?), binary(crop(&p, &shape, &lo, &ext)?));
    let full = if shape.len() == 3 { 255 } else { 15 };
    Ok(Some(Corners {
        shape: ext.iter().map(|e| e + 1).collect(),
        gt: codes(ctx, &g, &ext)?,
        pred: codes(ctx, &p, &ext)?,
        full,
    }))
}

/// Lowest corner and extents of the bounding box of the voxels set in `a` or `b` (C order over
/// `shape`), or None when neither has one (as for a grid with a zero extent).
fn union_box(a: &[u8], b: &[u8], shape: &[usize]) -> Option<(Vec<usize>, Vec<usize>)> {
    let k = shape.len();
    if shape.contains(&0) {
        return None;
    }
    let len = shape[k - 1];
    let (mut lo, mut hi) = (shape.to_vec(), vec![0usize; k]);
    let mut index = vec![0usize; k];
    for (r, (ra, rb)) in a.chunks(len).zip(b.chunks(len)).enumerate() {
        let Some(first) = ra.iter().zip(rb).position(|(x, y)| (x | y) != 0) else { continue };
        let last = len - 1 - ra.iter().zip(rb).rev().position(|(x, y)| (x | y) != 0).unwrap_or(0);
        let mut rest = r;
        for d in (0..k - 1).rev() {
            index[d] = rest % shape[d];
            rest /= shape[d];
        }
        for d in 0..k - 1 {
            lo[d] = lo[d].min(index[d]);
            hi[d] = hi[d].max(index[d] + 1);
        }
        lo[k - 1] = lo[k - 1].min(first);
        hi[k - 1] = hi[k - 1].max(last + 1);
    }
    (hi[0] > 0).then(|| (lo.clone(), hi.iter().zip(&lo).map(|(h, l)| h - l).collect()))
}

/// Neighbour codes of a 0/1 mask of extents `ext` (2 or 3 axes) at every corner `p` of its
/// zero-padded grid (extents `ext + 1`): bit `2^k - 1 - j` holds the voxel `p - 1 + j`,
/// j in {0, 1}^k read as a binary number (0 outside the mask). Rows of the corner grid are
/// built from the 2^(k-1) voxel rows they touch; fixed tasks of rows run in parallel.
pub(crate) fn codes(ctx: &Context, mask: &[u8], ext: &[usize]) -> Result<Vec<u8>> {
    let k = ext.len();
    let n: Vec<usize> = ext.iter().map(|e| e + 1).collect();
    let (len, rows) = (n[k - 1], n[..k - 1].iter().product::<usize>());
    let rows_per_task = (1usize << 14).div_ceil(len).max(1);
    let tasks: Vec<usize> = (0..rows).step_by(rows_per_task).collect();
    let parts = ctx.map_ordered(
        &tasks,
        rows * len * 4,
        || vec![0usize; k - 1],
        |index, &r0| {
            let r1 = (r0 + rows_per_task).min(rows);
            let mut out = vec![0u8; (r1 - r0) * len];
            for r in r0..r1 {
                let mut rest = r;
                for d in (0..k - 1).rev() {
                    index[d] = rest % n[d];
                    rest /= n[d];
                }
                let o = &mut out[(r - r0) * len..(r - r0 + 1) * len];
                // Voxel row p - 1 + j over the leading axes, j as a (k-1)-bit number.
                for j in 0..1usize << (k - 1) {
                    let voxel = |d: usize| {
                        (index[d] + ((j >> (k - 2 - d)) & 1)).checked_sub(1).filter(|&x| x < ext[d])
                    };
                    if (0..k - 1).any(|d| voxel(d).is_none()) {
                        continue;
                    }
                    let start =
                        (0..k - 1).fold(0usize, |acc, d| acc * ext[d] + voxel(d).unwrap_or(0));
                    let row = &mask[start * ext[k - 1]..(start + 1) * ext[k - 1]];
                    let shift = 2 * ((1 << (k - 1)) - 1 - j);
                    // Pair of the row at corner x: voxel x - 1 (high bit) and voxel x (low bit).
                    let e = ext[k - 1];
                    o[0] |= row[0] << shift;
                    for x in 1..e {
                        o[x] |= ((row[x - 1] << 1) | row[x]) << shift;
                    }
                    o[e] |= (row[e - 1] << 1) << shift;
                }
            }
            out
        },
    );
    let mut out = limits::with_capacity("mask_gt", limits::product("mask_gt", &n)?)?;
    parts.iter().for_each(|p| out.extend_from_slice(p));
    Ok(out)
}

/// Number of surfels of the ground truth and of the prediction (the lengths of the lists
/// [`surface_distances`] returns).
pub fn surfel_counts(
    ctx: &Context,
    gt: &TensorView<'_, u8>,
    pred: &TensorView<'_, u8>,
    spacing: &[f64],
) -> Result<(usize, usize)> {
    Ok(match corners(ctx, gt, pred, spacing)? {
        None => (0, 0),
        Some(c) => {
            let count = |codes: &[u8]| codes.iter().filter(|&&v| v != 0 && v != c.full).count();
            (count(&c.gt), count(&c.pred))
        }
    })
}

/// DeepMind `compute_surface_distances(mask_gt, mask_pred, spacing_mm)` for 2-D or 3-D masks
/// (nonzero = inside, any strides). Both masks empty: four empty lists; one empty: its lists
/// are empty and every distance of the other is +inf.
pub fn surface_distances(
    ctx: &Context,
    gt: &TensorView<'_, u8>,
    pred: &TensorView<'_, u8>,
    spacing: &[f64],
) -> Result<SurfaceDistances> {
    let Some(c) = corners(ctx, gt, pred, spacing)? else { return Ok(SurfaceDistances::default()) };
    let table = if c.shape.len() == 3 {
        surfel_areas_3d([spacing[0], spacing[1], spacing[2]])
    } else {
        contour_lengths_2d([spacing[0], spacing[1]])
    };
    let (sg, sp) = (c.surfels(&c.gt)?, c.surfels(&c.pred)?);
    // Distances in units of `unit` (exact scaling), so no squared distance overflows.
    let (scaled, unit) = unit_spacing(spacing);
    let search = ball(
        &scaled,
        &c.shape,
        DistanceMetric::Euclidean,
        radius_for(&scaled, SEARCH_BALL),
        2 * SEARCH_BALL,
    );
    let toward = |from: &[u8], to: &[u8]| -> Result<Vec<f64>> {
        let mut d = directed(
            ctx,
            from,
            to,
            &c.shape,
            &scaled,
            DistanceMetric::Euclidean,
            search.as_deref(),
            Need::All,
        )?
        .0;
        d.iter_mut().for_each(|v| *v *= unit);
        Ok(d)
    };
    let sorted = |distances: Vec<f64>, codes: &[u8]| {
        let areas = codes.iter().filter(|&&v| v != 0 && v != c.full).map(|&v| table[v as usize]);
        let mut pairs: Vec<(f64, f64)> = distances.into_iter().zip(areas).collect();
        pairs.sort_unstable_by(|a, b| a.0.total_cmp(&b.0).then(a.1.total_cmp(&b.1)));
        pairs.into_iter().unzip::<f64, f64, Vec<f64>, Vec<f64>>()
    };
    let (distances_gt_to_pred, surfel_areas_gt) = sorted(toward(&sg, &sp)?, &c.gt);
    let (distances_pred_to_gt, surfel_areas_pred) = sorted(toward(&sp, &sg)?, &c.pred);
    Ok(SurfaceDistances {
        distances_gt_to_pred,
        distances_pred_to_gt,
        surfel_areas_gt,
        surfel_areas_pred,
    })
}

/// numpy's `np.sum` of a float64 array (pairwise: blocks of at most 128 summed with 8
/// accumulators, halves split at a multiple of 8), so totals round as DeepMind's do.
pub(crate) fn np_sum(v: &[f64]) -> f64 {
    let n = v.len();
    if n < 8 {
        return v.iter().fold(0.0, |s, &x| s + x);
    }
    if n <= 128 {
        let mut r = [0.0f64; 8];
        r.copy_from_slice(&v[..8]);
        let mut i = 8;
        while i + 8 <= n {
            for (j, acc) in r.iter_mut().enumerate() {
                *acc += v[i + j];
            }
            i += 8;
        }
        let mut s = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]));
        for &x in &v[i..] {
            s += x;
        }
        return s;
    }
    let half = n / 2;
    let half = half - half % 8;
    np_sum(&v[..half]) + np_sum(&v[half..])
}

fn check_tolerance(t: f64) -> Result<()> {
    if t.is_nan() {
        return Err(DiceError::NotANumber { arg: "tolerance_mm" });
    }
    if t < 0.0 {
        return Err(DiceError::BadOption { name: "tolerance_mm", reason: "must be >= 0" });
    }
    Ok(())
}

/// Area of the surfels within `tol` (a prefix: distances are sorted).
fn area_within(d: &[f64], a: &[f64], tol: f64) -> f64 {
    np_sum(&a[..d.partition_point(|&x| x <= tol)])
}

/// DeepMind's percentile of one direction: the distance at the first index whose cumulative
/// area fraction `cumsum(a) / sum(a)` reaches `percent / 100` (numpy searchsorted, left),
/// clamped to the last; +inf for an empty list.
fn percentile_distance(d: &[f64], a: &[f64], percent: f64) -> f64 {
    if d.is_empty() {
        return f64::INFINITY;
    }
    let (total, target) = (np_sum(a), percent / 100.0);
    let mut cum = 0.0;
    for (i, &ai) in a.iter().enumerate() {
        cum += ai;
        if cum / total >= target {
            return d[i];
        }
    }
    d[d.len() - 1]
}

impl SurfaceDistances {
    /// Checks lists given from outside: equal lengths per direction, distances sorted
    /// ascending and >= 0 (+inf allowed), areas finite and >= 0.
    pub fn check(&self) -> Result<()> {
        let sides = [
            (
                "distances_gt_to_pred",
                &self.distances_gt_to_pred,
                "surfel_areas_gt",
                &self.surfel_areas_gt,
            ),
            (
                "distances_pred_to_gt",
                &self.distances_pred_to_gt,
                "surfel_areas_pred",
                &self.surfel_areas_pred,
            ),
        ];
        for (name, d, area_name, a) in sides {
            if d.len() != a.len() {
                return Err(DiceError::ShapeMismatch {
                    arg: area_name,
                    expected: vec![d.len()],
                    got: vec![a.len()],
                });
            }
            if d.iter().any(|v| v.is_nan()) {
                return Err(DiceError::NotANumber { arg: name });
            }
            if d.first().is_some_and(|&x| x < 0.0) || d.windows(2).any(|w| w[1] < w[0]) {
                return Err(DiceError::BadOption {
                    name,
                    reason: "distances must be >= 0 and sorted ascending",
                });
            }
            if a.iter().any(|v| v.is_nan()) {
                return Err(DiceError::NotANumber { arg: area_name });
            }
            if a.iter().any(|&x| !(x.is_finite() && x >= 0.0)) {
                return Err(DiceError::BadOption {
                    name: area_name,
                    reason: "surfel areas must be finite and >= 0",
                });
            }
        }
        Ok(())
    }

    /// `compute_average_surface_distance`: (gt -> pred, pred -> gt), each the area-weighted
    /// mean distance; NaN for an empty list (0 / 0), +inf when the other mask is empty.
    pub fn average_surface_distance(&self) -> (f64, f64) {
        let mean = |d: &[f64], a: &[f64]| {
            let w: Vec<f64> = d.iter().zip(a).map(|(x, y)| x * y).collect();
            np_sum(&w) / np_sum(a)
        };
        (
            mean(&self.distances_gt_to_pred, &self.surfel_areas_gt),
            mean(&self.distances_pred_to_gt, &self.surfel_areas_pred),
        )
    }

    /// `compute_robust_hausdorff(percent)`: max over both directions of the area-weighted
    /// percentile ([`percentile_distance`]); +inf when either list is empty (so when a mask
    /// is empty, and when both are).
    pub fn robust_hausdorff(&self, percent: f64) -> Result<f64> {
        check_percentile(percent)?;
        let g = percentile_distance(&self.distances_gt_to_pred, &self.surfel_areas_gt, percent);
        let p = percentile_distance(&self.distances_pred_to_gt, &self.surfel_areas_pred, percent);
        Ok(g.max(p))
    }

    /// `compute_surface_overlap_at_tolerance(tolerance_mm)`: (gt, pred) fraction of each
    /// surface's area within the tolerance of the other; NaN for an empty surface.
    pub fn surface_overlap_at_tolerance(&self, tolerance_mm: f64) -> Result<(f64, f64)> {
        check_tolerance(tolerance_mm)?;
        let frac = |d: &[f64], a: &[f64]| area_within(d, a, tolerance_mm) / np_sum(a);
        Ok((
            frac(&self.distances_gt_to_pred, &self.surfel_areas_gt),
            frac(&self.distances_pred_to_gt, &self.surfel_areas_pred),
        ))
    }

    /// `compute_surface_dice_at_tolerance(tolerance_mm)`: (area of both surfaces within the
    /// tolerance of the other) / (area of both surfaces); NaN when both masks are empty, 0
    /// when one is.
    pub fn surface_dice_at_tolerance(&self, tolerance_mm: f64) -> Result<f64> {
        check_tolerance(tolerance_mm)?;
        let (dg, ag) = (&self.distances_gt_to_pred, &self.surfel_areas_gt);
        let (dp, ap) = (&self.distances_pred_to_gt, &self.surfel_areas_pred);
        Ok((area_within(dg, ag, tolerance_mm) + area_within(dp, ap, tolerance_mm))
            / (np_sum(ag) + np_sum(ap)))
    }
}
