//! MONAI's surface Dice with `use_subvoxels=True` (`compute_surface_dice`, `SurfaceDiceMetric`),
//! per (item, kept class), computed as sums of surfel areas without listing distances.
//!
//! Definition (MONAI 1.6.1). Both masks are cropped to their union's bounding box and
//! zero-padded; every corner of that voxel grid gets the neighbour code of its 2x2x2 (2-D: 2x2)
//! voxels, and a corner whose code is neither 0 nor all ones is a surfel with the area (2-D:
//! contour length) of its code at the spacing ([`super::surfels`], the DeepMind tables). For a
//! class tolerance `tau`, with `d(s)` the Euclidean distance (spacing applied, corner grid) from
//! surfel `s` to the nearest surfel of the other mask (+inf when it has none):
//!
//! `NSD = (sum of a(s) over gt surfels with d(s) within tau + the same over pred surfels)
//!        / (sum of a(s) over all surfels of both)`,
//!
//! where "within" is MONAI's comparison `float32(d) <= float32(tau)` (its distances are float32
//! tensors and torch compares a float32 tensor with a Python float in float32). NaN when the
//! union is empty (no surfel); 0 when one mask is empty, except that a tolerance whose float32
//! rounding is +inf (above about 3.4e38) admits the +inf distances, giving 1.
//!
//! Computation. Per side, a histogram of the codes of all surfels and of the surfels within
//! `tau` (integer counts, so the result does not depend on the thread count or on any
//! summation order); each area is then `sum over codes of count(code) * area(code)` in code
//! order. "Within tau" is decided without distances: by the ball test of [`super::band`]
//! (offsets `{o : |S o| <= bound}`) when the ball is small, else by thresholding the exact
//! distance transform of the other side's surfels. `bound` is the largest f64 `x` with
//! `float32(x) <= float32(tau)`, so `d <= bound` is MONAI's float32 comparison.

use crate::context::Context;
use crate::error::{DiceError, Result};
use crate::limits;
use crate::metrics::band::{Ball, MAX_BALL, ball, within_histogram};
use crate::metrics::decisions::{Decisions, Reader, pair_grid};
use crate::metrics::deepmind::codes;
use crate::metrics::distances::{SurfaceOptions, check_tolerances, spacing_of};
use crate::metrics::edt::{DistanceMetric, transform, unit_spacing};
use crate::metrics::overlap::PerItem;
use crate::metrics::surface::cropped_pair;
use crate::metrics::surfels::{contour_lengths_2d, surfel_areas_3d};

/// The largest f64 `x` with `x as f32 <= tau as f32` (+inf when `tau as f32` is +inf), for
/// `tau >= 0`. f64 -> f32 rounds to nearest, ties to even, and is monotone, so the values that
/// round to at most `f = tau as f32` are those below the midpoint between `f` and the next
/// f32, plus the midpoint itself when `f`'s last mantissa bit is 0 (the tie goes to `f`).
pub(crate) fn f32_bound(tau: f64) -> f64 {
    let f = (tau as f32).abs();
    if f.is_infinite() {
        return f64::INFINITY;
    }
    let bits = f.to_bits();
    // Half an f32 ulp at f: 2^(e - 127 - 24) for biased exponent e (1 for subnormals), a
    // normal f64 for every e, so the midpoint below is exact.
    let e = ((bits >> 23) as i64).max(1);
    let half_ulp = f64::from_bits(((e - 127 - 24 + 1023) as u64) << 52);
    let mid = f64::from(f) + half_ulp;
    if bits & 1 == 0 { mid } else { mid.next_down() }
}

/// Surfel-area sums of one (item, class): both sides' total areas and the areas within the
/// tolerance of the other side.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct SubvoxelAreas {
    /// Area of the prediction's surfels.
    pub pred_area: f64,
    /// ... of those within the tolerance of a ground-truth surfel.
    pub pred_within: f64,
    /// Area of the ground truth's surfels.
    pub gt_area: f64,
    /// ... of those within the tolerance of a prediction surfel.
    pub gt_within: f64,
}

impl SubvoxelAreas {
    /// MONAI's value: `(pred_within + gt_within) / (pred_area + gt_area)`, NaN when the
    /// denominator is 0 (no surfel).
    pub fn surface_dice(&self) -> f64 {
        let total = self.pred_area + self.gt_area;
        if total == 0.0 { f64::NAN } else { (self.pred_within + self.gt_within) / total }
    }
}

/// [`SubvoxelAreas`] of every kept (item, class), row-major, with one tolerance per kept
/// class (`class_thresholds`, finite and >= 0). 2 or 3 spatial axes; Euclidean distances only
/// (`opts.metric`); `opts.spacing` empty means 1 on every axis.
pub fn subvoxel_areas(
    ctx: &Context,
    pred: &Decisions<'_>,
    gt: &Decisions<'_>,
    classes: usize,
    opts: &SurfaceOptions,
    class_thresholds: &[f64],
) -> Result<(usize, usize, Vec<SubvoxelAreas>)> {
    let grid = pair_grid(pred, gt, classes)?;
    let k = grid.spatial.len();
    if !(2..=3).contains(&k) {
        return Err(DiceError::Rank { arg: "pred", rank: k + 2, min: 4, max: 5 });
    }
    if opts.metric != DistanceMetric::Euclidean {
        return Err(DiceError::BadOption {
            name: "distance_metric",
            reason: "subvoxel surface Dice is Euclidean only",
        });
    }
    let spacing = spacing_of(&grid, &opts.spacing)?;
    let first = if opts.include_background || grid.classes == 1 { 0 } else { 1 };
    let kept = grid.classes - first;
    check_tolerances("class_thresholds", class_thresholds, kept)?;
    let table = if k == 3 {
        surfel_areas_3d([spacing[0], spacing[1], spacing[2]])
    } else {
        contour_lengths_2d([spacing[0], spacing[1]])
    };
    let full: u8 = if k == 3 { 255 } else { 15 };
    // Distances in units of `unit` (a power of two: exact scaling), so no squared distance
    // overflows; the bounds are scaled alike.
    let (scaled, unit) = unit_spacing(&spacing);
    let bounds: Vec<f64> = class_thresholds.iter().map(|&t| f32_bound(t) / unit).collect();
    // Corner grids have one more point per axis than the (cropped) voxel grid.
    let corners: Vec<usize> = grid.spatial.iter().map(|e| e + 1).collect();
    let balls: Vec<Option<Ball>> = bounds
        .iter()
        .map(|&b| ball(&scaled, &corners, DistanceMetric::Euclidean, b, MAX_BALL))
        .collect();
    let (rp, rg) = (Reader::new("pred", *pred, &grid), Reader::new("gt", *gt, &grid));
    let mut out = limits::with_capacity("pred", limits::product("pred", &[grid.items, kept])?)?;
    for n in 0..grid.items {
        for c in first..grid.classes {
            let Some(pair) = cropped_pair(&grid, &rp, &rg, n, c)? else {
                out.push(SubvoxelAreas::default());
                continue;
            };
            let shape: Vec<usize> = pair.shape.iter().map(|e| e + 1).collect();
            // Surfel codes, 0 elsewhere: each side's array is also its 0/1 target mask.
            let surfels = |mask: &[u8]| -> Result<Vec<u8>> {
                let mut v = codes(ctx, mask, &pair.shape)?;
                v.iter_mut().filter(|x| **x == full).for_each(|x| *x = 0);
                Ok(v)
            };
            let (sp, sg) = (surfels(&pair.pred)?, surfels(&pair.gt)?);
            let (bound, ball) = (bounds[c - first], balls[c - first].as_deref());
            let within = |from: &[u8], to: &[u8]| -> Result<[u64; 256]> {
                if !to.iter().any(|&v| v != 0) {
                    // Every distance is +inf: within only for an infinite bound.
                    return Ok(if bound == f64::INFINITY { histogram(from) } else { [0; 256] });
                }
                match ball {
                    Some(offsets) => within_histogram(ctx, from, to, &shape, offsets),
                    None => {
                        let field = transform(
                            ctx,
                            to,
                            true,
                            &shape,
                            &scaled,
                            DistanceMetric::Euclidean,
                            false,
                        )?;
                        let mut h = [0u64; 256];
                        from.iter()
                            .zip(&field)
                            .filter(|(f, d)| **f != 0 && d.sqrt() <= bound)
                            .for_each(|(&f, _)| h[f as usize] += 1);
                        Ok(h)
                    }
                }
            };
            let area =
                |h: &[u64; 256]| h.iter().zip(&table).fold(0.0, |s, (&n, &a)| s + n as f64 * a);
            out.push(SubvoxelAreas {
                pred_area: area(&histogram(&sp)),
                pred_within: area(&within(&sp, &sg)?),
                gt_area: area(&histogram(&sg)),
                gt_within: area(&within(&sg, &sp)?),
            });
        }
    }
    Ok((grid.items, kept, out))
}

/// Counts of every code value (index 0 counts the non-surfels and is never used).
fn histogram(codes: &[u8]) -> [u64; 256] {
    let mut h = [0u64; 256];
    codes.iter().for_each(|&c| h[c as usize] += 1);
    h
}

/// MONAI `compute_surface_dice(..., use_subvoxels=True)` per kept (item, class): see the
/// module documentation; arguments as [`subvoxel_areas`].
pub fn surface_dice_subvoxels_monai(
    ctx: &Context,
    pred: &Decisions<'_>,
    gt: &Decisions<'_>,
    classes: usize,
    opts: &SurfaceOptions,
    class_thresholds: &[f64],
) -> Result<PerItem> {
    let (items, classes, areas) = subvoxel_areas(ctx, pred, gt, classes, opts, class_thresholds)?;
    Ok(PerItem { items, classes, values: areas.iter().map(SubvoxelAreas::surface_dice).collect() })
}
