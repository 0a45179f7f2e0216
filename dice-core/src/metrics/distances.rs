//! Surface-distance metrics per (item, class) between edge voxels ([`super::surface`]), each
//! reproducing a named source:
//!
//! - MONAI (`HausdorffDistanceMetric`, `SurfaceDistanceMetric`, `SurfaceDiceMetric`): the
//!   percentile of each directed distance set (linear interpolation, torch.quantile), then the
//!   max of the two; the mean of the directed or concatenated sets; normalised surface Dice
//!   `(#pred edges within tau + #gt edges within tau) / (#pred edges + #gt edges)`;
//! - medpy (`hd`, `hd95`, `asd`, `assd`): hd95 is the percentile of the pooled sets;
//! - boundary F-score (Csurka et al. 2013): boundary precision and recall within a tolerance.
//!
//! Only the bounding box of the two masks (plus one voxel) is decoded into distance fields.

use crate::context::Context;
use crate::error::{DiceError, Result};
use crate::limits;
use crate::metrics::band::{
    Ball, MAX_BALL, SEARCH_BALL, ball, count_within, nearest_in_ball, radius_for,
};
use crate::metrics::decisions::{Decisions, Grid, Reader, pair_grid};
use crate::metrics::edt::{DistanceMetric, check_spacing, transform, unit_spacing};
use crate::metrics::overlap::PerItem;
use crate::metrics::surface::{cropped_pair, edges};

/// Options shared by the surface metrics.
#[derive(Clone, Debug, PartialEq)]
pub struct SurfaceOptions {
    /// Voxel spacing per spatial axis; empty means 1 on every axis. (MONAI ignores spacing for
    /// chessboard and taxicab: pass an empty spacing to reproduce it.)
    pub spacing: Vec<f64>,
    /// Distance between voxel centres.
    pub metric: DistanceMetric,
    /// Keep class 0 (MONAI's default for these metrics is false).
    pub include_background: bool,
}

impl Default for SurfaceOptions {
    fn default() -> Self {
        SurfaceOptions {
            spacing: Vec::new(),
            metric: DistanceMetric::Euclidean,
            include_background: false,
        }
    }
}

/// Distances of one (item, class): from every prediction edge voxel to the nearest
/// ground-truth edge voxel (+inf when the ground truth has none), and back. A metric that
/// needs only the lower part of a set (a percentile) may get it partially: the listed values
/// are then the smallest ones and `*_beyond` more values exceed all of them.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct EdgeDistances {
    /// One per prediction edge voxel (or the smallest ones).
    pub pred_to_gt: Vec<f64>,
    /// One per ground-truth edge voxel (or the smallest ones).
    pub gt_to_pred: Vec<f64>,
    /// Prediction edge voxels farther than every value listed (0 for complete sets).
    pub pred_to_gt_beyond: usize,
    /// Ground-truth edge voxels farther than every value listed (0 for complete sets).
    pub gt_to_pred_beyond: usize,
}

impl EdgeDistances {
    fn pred_edges(&self) -> usize {
        self.pred_to_gt.len() + self.pred_to_gt_beyond
    }
    fn gt_edges(&self) -> usize {
        self.gt_to_pred.len() + self.gt_to_pred_beyond
    }
}

/// Which part of each directed set a metric needs.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum Need {
    /// Every value.
    All,
    /// The order statistics up to those of this percentile (linear interpolation).
    UpTo(f64),
}

/// Edge distances of every kept (item, class).
#[derive(Clone, Debug, PartialEq)]
pub struct EdgeTable {
    /// Batch items.
    pub items: usize,
    /// Kept classes.
    pub classes: usize,
    /// Index of the first kept class (1 when the background is dropped).
    pub first_class: usize,
    /// Row-major (item, kept class); both masks empty gives two empty lists.
    pub sets: Vec<EdgeDistances>,
}

/// The edge distances of every kept (item, class), complete.
pub fn edge_distances(
    ctx: &Context,
    pred: &Decisions<'_>,
    gt: &Decisions<'_>,
    classes: usize,
    opts: &SurfaceOptions,
) -> Result<EdgeTable> {
    edge_sets(ctx, pred, gt, classes, opts, Need::All)
}

fn edge_sets(
    ctx: &Context,
    pred: &Decisions<'_>,
    gt: &Decisions<'_>,
    classes: usize,
    opts: &SurfaceOptions,
    need: Need,
) -> Result<EdgeTable> {
    let grid = pair_grid(pred, gt, classes)?;
    // Distances in units of `unit` (exact scaling), so no squared distance overflows.
    let (spacing, unit) = unit_spacing(&spacing_of(&grid, &opts.spacing)?);
    let (rp, rg) = (Reader::new("pred", *pred, &grid), Reader::new("gt", *gt, &grid));
    let first = if opts.include_background || grid.classes == 1 { 0 } else { 1 };
    let search = ball(
        &spacing,
        &grid.spatial,
        opts.metric,
        radius_for(&spacing, SEARCH_BALL),
        2 * SEARCH_BALL,
    );
    let mut out = limits::with_capacity(
        "pred",
        limits::product("pred", &[grid.items, grid.classes - first])?,
    )?;
    for n in 0..grid.items {
        for c in first..grid.classes {
            out.push(match cropped_pair(&grid, &rp, &rg, n, c)? {
                None => EdgeDistances::default(),
                Some(pair) => {
                    let (ep, eg) = (edges(&pair.pred, &pair.shape), edges(&pair.gt, &pair.shape));
                    let set = |from: &[u8], to: &[u8]| -> Result<(Vec<f64>, usize)> {
                        let (mut d, beyond) = directed(
                            ctx,
                            from,
                            to,
                            &pair.shape,
                            &spacing,
                            opts.metric,
                            search.as_deref(),
                            need,
                        )?;
                        d.iter_mut().for_each(|v| *v *= unit);
                        Ok((d, beyond))
                    };
                    let ((pg, pb), (gp, gb)) = (set(&ep, &eg)?, set(&eg, &ep)?);
                    EdgeDistances {
                        pred_to_gt: pg,
                        gt_to_pred: gp,
                        pred_to_gt_beyond: pb,
                        gt_to_pred_beyond: gb,
                    }
                }
            });
        }
    }
    Ok(EdgeTable {
        items: grid.items,
        classes: grid.classes - first,
        first_class: first,
        sets: out,
    })
}

/// Distances from the set voxels of `from` to the nearest set voxel of `to` (+inf each when
/// `to` is empty). First a search over the ball offsets in order of distance (exact, touching
/// only edge voxels and their neighbours); when more voxels than the need allows find no edge
/// within the ball, a distance transform over the box. Returns (values, beyond): with
/// `beyond > 0` the values are the smallest ones.
#[allow(clippy::too_many_arguments)]
pub(crate) fn directed(
    ctx: &Context,
    from: &[u8],
    to: &[u8],
    shape: &[usize],
    spacing: &[f64],
    m: DistanceMetric,
    search: Option<&[(f64, Vec<isize>)]>,
    need: Need,
) -> Result<(Vec<f64>, usize)> {
    let count = from.iter().filter(|&&v| v != 0).count();
    if count == 0 {
        return Ok((Vec::new(), 0));
    }
    if !to.iter().any(|&v| v != 0) {
        return Ok((limits::filled("pred", count, f64::INFINITY)?, 0));
    }
    let allowed = match need {
        Need::All => 0,
        Need::UpTo(q) => {
            count - 1 - ((q / 100.0 * (count - 1) as f64).ceil() as usize).min(count - 1)
        }
    };
    let found = match search {
        Some(offsets) => nearest_in_ball(ctx, from, to, shape, spacing, m, offsets, allowed)?,
        None => None,
    };
    if let Some((found, beyond)) = found {
        let root = m == DistanceMetric::Euclidean;
        return Ok((found.into_iter().map(|d| if root { d.sqrt() } else { d }).collect(), beyond));
    }
    Ok((distances_at(ctx, from, to, shape, spacing, m)?, 0))
}

pub(crate) fn spacing_of(grid: &Grid, spacing: &[f64]) -> Result<Vec<f64>> {
    if spacing.is_empty() {
        return Ok(vec![1.0; grid.spatial.len()]);
    }
    check_spacing(spacing, grid.spatial.len())?;
    Ok(spacing.to_vec())
}

/// Distance from every set voxel of `from` to the nearest set voxel of `to`.
fn distances_at(
    ctx: &Context,
    from: &[u8],
    to: &[u8],
    shape: &[usize],
    spacing: &[f64],
    m: DistanceMetric,
) -> Result<Vec<f64>> {
    let count = from.iter().filter(|&&v| v != 0).count();
    if count == 0 || !to.iter().any(|&v| v != 0) {
        return limits::filled("pred", count, f64::INFINITY);
    }
    let field = transform(ctx, to, true, shape, spacing, m, false)?;
    let root = m == DistanceMetric::Euclidean;
    let mut out = limits::with_capacity("pred", count)?;
    out.extend(
        from.iter()
            .zip(&field)
            .filter(|(f, _)| **f != 0)
            .map(|(_, &d)| if root { d.sqrt() } else { d }),
    );
    Ok(out)
}

/// Edge counts of one (item, class) for a tolerance: edges of each side and how many of them
/// lie within the tolerance of the other side's edges.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Within {
    /// Prediction edge voxels.
    pub pred_edges: usize,
    /// ... within the tolerance of a ground-truth edge voxel.
    pub pred_within: usize,
    /// Ground-truth edge voxels.
    pub gt_edges: usize,
    /// ... within the tolerance of a prediction edge voxel.
    pub gt_within: usize,
}

/// [`Within`] counts of every kept (item, class), with one tolerance per kept class. Small
/// tolerances test a ball of offsets around each edge voxel (no transform); large ones
/// threshold the exact distances.
pub fn within_counts(
    ctx: &Context,
    pred: &Decisions<'_>,
    gt: &Decisions<'_>,
    classes: usize,
    opts: &SurfaceOptions,
    tolerances: &[f64],
) -> Result<(usize, usize, Vec<Within>)> {
    let grid = pair_grid(pred, gt, classes)?;
    // Spacing and tolerances in units of `unit` (exact scaling), so no squared distance overflows.
    let (spacing, unit) = unit_spacing(&spacing_of(&grid, &opts.spacing)?);
    let first = if opts.include_background || grid.classes == 1 { 0 } else { 1 };
    let kept = grid.classes - first;
    check_tolerances("class_thresholds", tolerances, kept)?;
    let tolerances: Vec<f64> = tolerances.iter().map(|t| t / unit).collect();
    let (rp, rg) = (Reader::new("pred", *pred, &grid), Reader::new("gt", *gt, &grid));
    let balls: Vec<Option<Ball>> = tolerances
        .iter()
        .map(|&t| ball(&spacing, &grid.spatial, opts.metric, t, MAX_BALL))
        .collect();
    let mut out = limits::with_capacity("pred", limits::product("pred", &[grid.items, kept])?)?;
    for n in 0..grid.items {
        for c in first..grid.classes {
            let Some(pair) = cropped_pair(&grid, &rp, &rg, n, c)? else {
                out.push(Within::default());
                continue;
            };
            let (ep, eg) = (edges(&pair.pred, &pair.shape), edges(&pair.gt, &pair.shape));
            let count = |e: &[u8]| e.iter().filter(|&&v| v != 0).count();
            let tau = tolerances[c - first];
            let (pred_within, gt_within) = match &balls[c - first] {
                Some(offsets) => (
                    count_within(ctx, &ep, &eg, &pair.shape, offsets)?,
                    count_within(ctx, &eg, &ep, &pair.shape, offsets)?,
                ),
                None => {
                    let within = |d: Vec<f64>| d.iter().filter(|&&v| v <= tau).count();
                    (
                        within(distances_at(ctx, &ep, &eg, &pair.shape, &spacing, opts.metric)?),
                        within(distances_at(ctx, &eg, &ep, &pair.shape, &spacing, opts.metric)?),
                    )
                }
            };
            out.push(Within {
                pred_edges: count(&ep),
                pred_within,
                gt_edges: count(&eg),
                gt_within,
            });
        }
    }
    Ok((grid.items, kept, out))
}

/// MONAI's directed set (`get_surface_distance`): when the source has no edge but the target
/// has, one +inf per target edge voxel; otherwise the distances as computed. (values, beyond)
/// as in [`EdgeDistances`].
fn monai_set(from: &[f64], from_beyond: usize, to_edges: usize) -> (Vec<f64>, usize) {
    if from.is_empty() && from_beyond == 0 && to_edges > 0 {
        (vec![f64::INFINITY; to_edges], 0)
    } else {
        (from.to_vec(), from_beyond)
    }
}

/// Linear-interpolation percentile (torch.quantile / numpy "linear"): sorted v, rank
/// q (n - 1), lerp between its floor and ceiling with torch's two-sided formula. NaN for an
/// empty set.
pub fn percentile(values: &[f64], q: f64) -> f64 {
    percentile_of_lowest(values, 0, q)
}

/// [`percentile`] of a set whose smallest values are `values` and `beyond` more exceed them
/// all; the ranks used must fall among `values` (as [`Need::UpTo`] guarantees).
fn percentile_of_lowest(values: &[f64], beyond: usize, q: f64) -> f64 {
    let total = values.len() + beyond;
    if total == 0 {
        return f64::NAN;
    }
    let mut v = values.to_vec();
    let rank = q / 100.0 * (total - 1) as f64;
    let lo = rank.floor() as usize;
    let hi = (rank.ceil() as usize).min(total - 1);
    debug_assert!(hi < v.len(), "percentile rank beyond the known values");
    let (_, a, upper) = v.select_nth_unstable_by(lo, f64::total_cmp);
    let a = *a;
    let b = if hi > lo { upper.iter().copied().fold(f64::INFINITY, f64::min) } else { a };
    let w = rank - lo as f64;
    if w < 0.5 { a + w * (b - a) } else { b - (b - a) * (1.0 - w) }
}

pub(crate) fn check_percentile(q: f64) -> Result<()> {
    if q.is_nan() {
        return Err(DiceError::NotANumber { arg: "percentile" });
    }
    if !(0.0..=100.0).contains(&q) {
        return Err(DiceError::BadOption { name: "percentile", reason: "must be in [0, 100]" });
    }
    Ok(())
}

fn max_or_nan(v: &[f64]) -> f64 {
    if v.is_empty() { f64::NAN } else { v.iter().copied().fold(f64::NEG_INFINITY, f64::max) }
}

fn mean_or_nan(v: &[f64]) -> f64 {
    if v.is_empty() { f64::NAN } else { v.iter().sum::<f64>() / v.len() as f64 }
}

/// Max that propagates NaN (torch.max).
fn nan_max(a: f64, b: f64) -> f64 {
    if a.is_nan() || b.is_nan() { f64::NAN } else { a.max(b) }
}

fn table(items: usize, classes: usize, values: Vec<f64>) -> PerItem {
    PerItem { items, classes, values }
}

/// MONAI `HausdorffDistanceMetric`: per set, the `percentile` (None: the max), NaN for an empty
/// set; then the max over pred->gt and (unless `directed`) gt->pred, NaN propagating.
pub fn hausdorff_monai(
    ctx: &Context,
    pred: &Decisions<'_>,
    gt: &Decisions<'_>,
    classes: usize,
    opts: &SurfaceOptions,
    percentile_q: Option<f64>,
    directed: bool,
) -> Result<PerItem> {
    if let Some(q) = percentile_q {
        check_percentile(q)?;
    }
    let need = percentile_q.map_or(Need::All, Need::UpTo);
    let EdgeTable { items: n, classes: c, first_class: _, sets } =
        edge_sets(ctx, pred, gt, classes, opts, need)?;
    let stat = |(s, beyond): (Vec<f64>, usize)| match percentile_q {
        Some(q) => percentile_of_lowest(&s, beyond, q),
        None => max_or_nan(&s),
    };
    let values = sets
        .iter()
        .map(|e| {
            let fwd = stat(monai_set(&e.pred_to_gt, e.pred_to_gt_beyond, e.gt_edges()));
            if directed {
                fwd
            } else {
                nan_max(fwd, stat(monai_set(&e.gt_to_pred, e.gt_to_pred_beyond, e.pred_edges())))
            }
        })
        .collect();
    Ok(table(n, c, values))
}

/// MONAI `SurfaceDistanceMetric`: mean of the pred->gt set, or of both sets concatenated when
/// `symmetric`; NaN when empty, +inf when one side has no edge.
pub fn average_surface_distance_monai(
    ctx: &Context,
    pred: &Decisions<'_>,
    gt: &Decisions<'_>,
    classes: usize,
    opts: &SurfaceOptions,
    symmetric: bool,
) -> Result<PerItem> {
    let EdgeTable { items: n, classes: c, first_class: _, sets } =
        edge_distances(ctx, pred, gt, classes, opts)?;
    let values = sets
        .iter()
        .map(|e| {
            let mut all = monai_set(&e.pred_to_gt, 0, e.gt_edges()).0;
            if symmetric {
                all.extend(monai_set(&e.gt_to_pred, 0, e.pred_edges()).0);
            }
            mean_or_nan(&all)
        })
        .collect();
    Ok(table(n, c, values))
}

/// MONAI's four edge-distance metrics of one (item, class), as [`hausdorff_monai`] (max and
/// 95th percentile, symmetric) and [`average_surface_distance_monai`] (symmetric and
/// pred -> gt) give them.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct MonaiDistances {
    /// Hausdorff distance: the larger of the two directed maxima.
    pub hd: f64,
    /// The larger of the two directed 95th percentiles.
    pub hd95: f64,
    /// Mean of both directed sets concatenated (`symmetric=True`).
    pub assd: f64,
    /// Mean of the pred -> gt set (`symmetric=False`).
    pub asd: f64,
}

/// [`MonaiDistances`] of every kept (item, class) from one computation of the edge distances,
/// for a caller that wants several of them (four separate calls compute the sets four times).
pub fn monai_distances(
    ctx: &Context,
    pred: &Decisions<'_>,
    gt: &Decisions<'_>,
    classes: usize,
    opts: &SurfaceOptions,
) -> Result<(usize, usize, Vec<MonaiDistances>)> {
    let EdgeTable { items: n, classes: c, first_class: _, sets } =
        edge_distances(ctx, pred, gt, classes, opts)?;
    let out = sets
        .iter()
        .map(|e| {
            let fwd = monai_set(&e.pred_to_gt, 0, e.gt_edges()).0;
            let bwd = monai_set(&e.gt_to_pred, 0, e.pred_edges()).0;
            let both: Vec<f64> = fwd.iter().chain(&bwd).copied().collect();
            MonaiDistances {
                hd: nan_max(max_or_nan(&fwd), max_or_nan(&bwd)),
                hd95: nan_max(percentile(&fwd, 95.0), percentile(&bwd, 95.0)),
                assd: mean_or_nan(&both),
                asd: mean_or_nan(&fwd),
            }
        })
        .collect();
    Ok((n, c, out))
}

/// MONAI `SurfaceDiceMetric` (normalised surface Dice, no subvoxels): one tolerance per kept
/// class; NaN when neither mask has an edge, 0 when only one has.
pub fn surface_dice_monai(
    ctx: &Context,
    pred: &Decisions<'_>,
    gt: &Decisions<'_>,
    classes: usize,
    opts: &SurfaceOptions,
    class_thresholds: &[f64],
) -> Result<PerItem> {
    let (n, c, counts) = within_counts(ctx, pred, gt, classes, opts, class_thresholds)?;
    // MONAI's sets: a side without edges contributes one +inf per edge of the other side to
    // each direction, so the value is 0 when exactly one side has edges.
    let values = counts
        .iter()
        .map(|w| match (w.pred_edges, w.gt_edges) {
            (0, 0) => f64::NAN,
            (0, _) | (_, 0) => 0.0,
            (p, g) => (w.pred_within + w.gt_within) as f64 / (p + g) as f64,
        })
        .collect();
    Ok(table(n, c, values))
}

/// Checks tolerances `t` (argument `arg`): one per kept class, each finite and >= 0.
pub(crate) fn check_tolerances(arg: &'static str, t: &[f64], classes: usize) -> Result<()> {
    if t.len() != classes {
        return Err(DiceError::ShapeMismatch { arg, expected: vec![classes], got: vec![t.len()] });
    }
    if t.iter().any(|v| v.is_nan()) {
        return Err(DiceError::NotANumber { arg });
    }
    if t.iter().any(|&v| !(v.is_finite() && v >= 0.0)) {
        return Err(DiceError::BadOption {
            name: arg,
            reason: "every value must be finite and >= 0",
        });
    }
    Ok(())
}

/// medpy's `hd`, `hd95`, `asd` (directed pred -> gt) and `assd` of one (item, class).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Medpy {
    /// max of both directed maxima.
    pub hd: f64,
    /// 95th percentile of both directed sets pooled.
    pub hd95: f64,
    /// mean of pred -> gt.
    pub asd: f64,
    /// mean of both directed sets pooled (medpy 0.5.2's value: its reference case equals the
    /// pooled mean, not the mean of the two directed means).
    pub assd: f64,
}

/// medpy.metric.binary distances for every kept (item, class); an empty mask is an error
/// (medpy raises), naming the item and class.
pub fn medpy_distances(
    ctx: &Context,
    pred: &Decisions<'_>,
    gt: &Decisions<'_>,
    classes: usize,
    opts: &SurfaceOptions,
) -> Result<(usize, usize, Vec<Medpy>)> {
    let EdgeTable { items: n, classes: c, first_class, sets } =
        edge_distances(ctx, pred, gt, classes, opts)?;
    let mut out = Vec::with_capacity(sets.len());
    for (i, e) in sets.iter().enumerate() {
        let (item, class) = (i / c, i % c + first_class);
        if e.pred_to_gt.is_empty() {
            return Err(DiceError::EmptyMask { arg: "pred", item, class });
        }
        if e.gt_to_pred.is_empty() {
            return Err(DiceError::EmptyMask { arg: "gt", item, class });
        }
        let pooled: Vec<f64> = e.pred_to_gt.iter().chain(&e.gt_to_pred).copied().collect();
        out.push(Medpy {
            hd: max_or_nan(&pooled),
            hd95: percentile(&pooled, 95.0),
            asd: mean_or_nan(&e.pred_to_gt),
            assd: mean_or_nan(&pooled),
        });
    }
    Ok((n, c, out))
}

/// Boundary F-score per (item, class).
#[derive(Clone, Debug, PartialEq)]
pub struct BoundaryF {
    /// Fraction of prediction edge voxels within the tolerance of a ground-truth edge voxel.
    pub precision: PerItem,
    /// Fraction of ground-truth edge voxels within the tolerance of a prediction edge voxel.
    pub recall: PerItem,
    /// 2 P R / (P + R) (0 when both are 0).
    pub f1: PerItem,
}

/// Default boundary-F tolerance: 0.75 % of the grid's diagonal in spacing units (Csurka et al.),
/// computed in units of the largest side so that no square overflows or underflows.
pub fn default_boundary_tolerance(spatial: &[usize], spacing: &[f64]) -> f64 {
    let sides: Vec<f64> = spatial
        .iter()
        .enumerate()
        .map(|(d, &e)| e as f64 * spacing.get(d).copied().unwrap_or(1.0))
        .collect();
    let big = sides.iter().copied().fold(0.0, f64::max);
    if big == 0.0 {
        return 0.0;
    }
    0.0075 * big * sides.iter().map(|&x| (x / big).powi(2)).sum::<f64>().sqrt()
}

/// Boundary F-score (Csurka et al. 2013) with one tolerance (None: the default above). Both
/// boundaries empty: NaN in all three; one empty: 0.
pub fn boundary_f(
    ctx: &Context,
    pred: &Decisions<'_>,
    gt: &Decisions<'_>,
    classes: usize,
    opts: &SurfaceOptions,
    tolerance: Option<f64>,
) -> Result<BoundaryF> {
    let grid = pair_grid(pred, gt, classes)?;
    let spacing = spacing_of(&grid, &opts.spacing)?;
    let tol = tolerance.unwrap_or_else(|| default_boundary_tolerance(&grid.spatial, &spacing));
    check_tolerances("tolerance", &[tol], 1)?;
    let kept =
        if opts.include_background || grid.classes == 1 { grid.classes } else { grid.classes - 1 };
    let (n, c, counts) = within_counts(ctx, pred, gt, classes, opts, &vec![tol; kept])?;
    let (mut p, mut r, mut f) = (Vec::new(), Vec::new(), Vec::new());
    for w in &counts {
        let (pv, rv) = match (w.pred_edges, w.gt_edges) {
            (0, 0) => (f64::NAN, f64::NAN),
            (0, _) | (_, 0) => (0.0, 0.0),
            (pe, ge) => (w.pred_within as f64 / pe as f64, w.gt_within as f64 / ge as f64),
        };
        let fv = if pv.is_nan() {
            f64::NAN
        } else if pv + rv == 0.0 {
            0.0
        } else {
            2.0 * pv * rv / (pv + rv)
        };
        p.push(pv);
        r.push(rv);
        f.push(fv);
    }
    Ok(BoundaryF { precision: table(n, c, p), recall: table(n, c, r), f1: table(n, c, f) })
}
