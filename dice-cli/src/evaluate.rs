//! Evaluation of one case on dice-core: read both volumes, check that they agree, build one
//! binary mask pair per target (label or region), and score it with the library's confusion
//! counts, overlap metrics and surface metrics in the chosen convention.

use crate::args::{Convention, EmptyPolicy};
use crate::metric::{Metric, Target};
use crate::plan::Case;
use crate::volume::{Volume, read_labels};
use dice_core::Context;
use dice_core::metrics::{
    self, Confusion, Counts, Decisions, DistanceMetric, EmptyGt, OverlapMetric, SurfaceOptions,
};
use dice_core::tensor::TensorView;
use std::path::PathBuf;

/// What every case is scored with.
#[derive(Clone, Debug)]
pub struct Settings {
    pub metrics: Vec<Metric>,
    pub convention: Convention,
    pub tolerance: f64,
    pub empty: EmptyPolicy,
    /// In the ground truth file's axis order.
    pub spacing: Option<Vec<f64>>,
    pub spacing_tolerance: f64,
    pub max_label: u16,
    /// Explicit labels; None with no regions means every label seen.
    pub labels: Option<Vec<u16>>,
    pub regions: Vec<Target>,
}

impl Settings {
    /// True when the targets are the labels seen in the data.
    pub fn labels_from_data(&self) -> bool {
        self.labels.is_none() && self.regions.is_empty()
    }
}

/// Scores of one target in one case, in the order of `Settings::metrics`.
#[derive(Clone, Debug)]
pub struct Row {
    pub target: Target,
    pub values: Vec<f64>,
}

/// A finished case.
#[derive(Clone, Debug)]
pub struct CaseResult {
    pub id: String,
    pub pred: PathBuf,
    pub gt: PathBuf,
    /// Extents and spacing in the file's axis order.
    pub shape: Vec<usize>,
    pub spacing: Vec<f64>,
    pub voxels: u64,
    pub voxel_volume: f64,
    /// Neither file had a spacing and none was given: 1 was used.
    pub unit_spacing_assumed: bool,
    pub rows: Vec<Row>,
}

fn file_order(v: &[f64], reversed: bool) -> Vec<f64> {
    let mut v = v.to_vec();
    if reversed {
        v.reverse();
    }
    v
}

fn shape_in_file_order(v: &Volume) -> Vec<usize> {
    let mut s = v.shape.clone();
    if v.reversed_axes {
        s.reverse();
    }
    s
}

/// The spacing to use (C order), checked against both files.
fn spacing_for(pred: &Volume, gt: &Volume, s: &Settings) -> Result<(Vec<f64>, bool), String> {
    let rank = gt.shape.len();
    if let Some(sp) = &s.spacing {
        if sp.len() != rank {
            return Err(format!(
                "--spacing has {} values but the volumes have {rank} axes",
                sp.len()
            ));
        }
        if sp.iter().any(|&x| !(x.is_finite() && x > 0.0)) {
            return Err(format!("--spacing {sp:?}: every value must be finite and > 0"));
        }
        return Ok((file_order(sp, gt.reversed_axes), false));
    }
    let check = |name: &str, v: &[f64]| -> Result<(), String> {
        if v.iter().any(|&x| !(x.is_finite() && x > 0.0)) {
            Err(format!(
                "{name} header spacing {:?} is not usable (0, negative or not finite): pass --spacing",
                v
            ))
        } else {
            Ok(())
        }
    };
    match (&pred.spacing, &gt.spacing) {
        (Some(p), Some(g)) => {
            check("prediction", p)?;
            check("ground truth", g)?;
            let close = p
                .iter()
                .zip(g)
                .all(|(a, b)| (a - b).abs() <= s.spacing_tolerance * a.abs().max(b.abs()));
            if !close {
                return Err(format!(
                    "spacing mismatch: prediction {:?}, ground truth {:?} (relative tolerance {}); pass --spacing to override",
                    file_order(p, pred.reversed_axes),
                    file_order(g, gt.reversed_axes),
                    s.spacing_tolerance
                ));
            }
            Ok((g.clone(), false))
        }
        (None, Some(g)) => check("ground truth", g).map(|_| (g.clone(), false)),
        (Some(p), None) => check("prediction", p).map(|_| (p.clone(), false)),
        (None, None) => Ok((vec![1.0; rank], true)),
    }
}

/// Reads, checks and scores one case.
pub fn evaluate_case(ctx: &Context, case: &Case, s: &Settings) -> Result<CaseResult, String> {
    if let Some(m) = case.missing() {
        return Err(m);
    }
    let (pred_path, gt_path) =
        (case.pred.clone().unwrap_or_default(), case.gt.clone().unwrap_or_default());
    let pred = read_labels(&pred_path, s.max_label)
        .map_err(|e| format!("prediction {}: {e}", pred_path.display()))?;
    let gt = read_labels(&gt_path, s.max_label)
        .map_err(|e| format!("ground truth {}: {e}", gt_path.display()))?;
    if pred.shape != gt.shape {
        return Err(format!(
            "shape mismatch: prediction {:?}, ground truth {:?}",
            shape_in_file_order(&pred),
            shape_in_file_order(&gt)
        ));
    }
    let (spacing, unit_spacing_assumed) = spacing_for(&pred, &gt, s)?;
    let voxels = gt.labels.len() as u64;
    let voxel_volume: f64 = spacing.iter().product();
    let targets = targets_of(&pred, &gt, s);
    let mut rows = Vec::with_capacity(targets.len());
    for t in targets {
        if let Some(values) = score_target(ctx, &pred, &gt, &t, &spacing, voxel_volume, s)? {
            rows.push(Row { target: t, values });
        }
    }
    Ok(CaseResult {
        id: case.id.clone(),
        pred: pred_path,
        gt: gt_path,
        shape: shape_in_file_order(&gt),
        spacing: file_order(&spacing, gt.reversed_axes),
        voxels,
        voxel_volume,
        unit_spacing_assumed,
        rows,
    })
}

/// The case's targets: explicit labels and regions, or the nonzero labels of either volume.
fn targets_of(pred: &Volume, gt: &Volume, s: &Settings) -> Vec<Target> {
    let mut out: Vec<Target> = Vec::new();
    if s.labels_from_data() {
        let mut seen = vec![false; u16::MAX as usize + 1];
        for &l in pred.labels.iter().chain(&gt.labels) {
            seen[l as usize] = true;
        }
        out.extend((1..seen.len()).filter(|&l| seen[l]).map(|l| Target::label(l as u16)));
    } else {
        out.extend(s.labels.iter().flatten().map(|&l| Target::label(l)));
        out.extend(s.regions.iter().cloned());
    }
    out
}

fn mask(labels: &[u16], t: &Target) -> Vec<u8> {
    match t.labels.as_slice() {
        [l] => labels.iter().map(|&x| (x == *l) as u8).collect(),
        many => {
            let mut lut = vec![0u8; u16::MAX as usize + 1];
            many.iter().for_each(|&l| lut[l as usize] = 1);
            labels.iter().map(|&x| lut[x as usize]).collect()
        }
    }
}

fn lib(e: dice_core::DiceError) -> String {
    format!("dice-core: {e}")
}

/// Surface scores of a target whose two masks are both non-empty.
#[derive(Clone, Copy, Debug)]
struct Surfaces {
    hd: f64,
    hd95: f64,
    assd: f64,
    asd: f64,
    nsd: f64,
    bf: f64,
}

fn surfaces(
    ctx: &Context,
    p: &[u8],
    g: &[u8],
    shape: &[usize],
    spacing: &[f64],
    s: &Settings,
) -> Result<Surfaces, String> {
    let want = |m: Metric| s.metrics.contains(&m);
    let mut out = Surfaces {
        hd: f64::NAN,
        hd95: f64::NAN,
        assd: f64::NAN,
        asd: f64::NAN,
        nsd: f64::NAN,
        bf: f64::NAN,
    };
    let full: Vec<usize> = [1, 1].iter().chain(shape).copied().collect();
    let pv = TensorView::contiguous("pred", p, &full).map_err(lib)?;
    let gv = TensorView::contiguous("gt", g, &full).map_err(lib)?;
    let (pd, gd) = (Decisions::Masks(pv), Decisions::Masks(gv));
    let opts = SurfaceOptions {
        spacing: spacing.to_vec(),
        metric: DistanceMetric::Euclidean,
        include_background: true,
    };
    let one = |t: dice_core::Result<metrics::PerItem>| t.map(|v| v.values[0]).map_err(lib);
    let tol = s.tolerance;
    let monai_nsd_bf = |out: &mut Surfaces| -> Result<(), String> {
        if want(Metric::Nsd) {
            out.nsd = one(metrics::surface_dice_monai(ctx, &pd, &gd, 0, &opts, &[tol]))?;
        }
        if want(Metric::BoundaryF) {
            out.bf =
                metrics::boundary_f(ctx, &pd, &gd, 0, &opts, Some(tol)).map_err(lib)?.f1.values[0];
        }
        Ok(())
    };
    match s.convention {
        Convention::Monai => {
            let wanted = [Metric::Hd, Metric::Hd95, Metric::Assd, Metric::Asd]
                .into_iter()
                .filter(|&m| want(m))
                .count();
            if wanted > 1 {
                // One computation of the edge distances serves all of them.
                let (_, _, m) = metrics::monai_distances(ctx, &pd, &gd, 0, &opts).map_err(lib)?;
                (out.hd, out.hd95, out.assd, out.asd) = (m[0].hd, m[0].hd95, m[0].assd, m[0].asd);
            } else if want(Metric::Hd) {
                out.hd = one(metrics::hausdorff_monai(ctx, &pd, &gd, 0, &opts, None, false))?;
            } else if want(Metric::Hd95) {
                // alone, the percentile needs only the lower part of each set
                out.hd95 =
                    one(metrics::hausdorff_monai(ctx, &pd, &gd, 0, &opts, Some(95.0), false))?;
            } else if want(Metric::Assd) {
                out.assd =
                    one(metrics::average_surface_distance_monai(ctx, &pd, &gd, 0, &opts, true))?;
            } else if want(Metric::Asd) {
                out.asd =
                    one(metrics::average_surface_distance_monai(ctx, &pd, &gd, 0, &opts, false))?;
            }
            monai_nsd_bf(&mut out)?;
        }
        Convention::Medpy => {
            if want(Metric::Hd) || want(Metric::Hd95) || want(Metric::Assd) || want(Metric::Asd) {
                let (_, _, m) = metrics::medpy_distances(ctx, &pd, &gd, 0, &opts).map_err(lib)?;
                (out.hd, out.hd95, out.asd, out.assd) = (m[0].hd, m[0].hd95, m[0].asd, m[0].assd);
            }
            monai_nsd_bf(&mut out)?;
        }
        Convention::Deepmind => {
            if !matches!(shape.len(), 2 | 3) {
                return Err(format!(
                    "the deepmind convention needs 2-D or 3-D volumes, these have {} axes",
                    shape.len()
                ));
            }
            let pv = TensorView::contiguous("pred", p, shape).map_err(lib)?;
            let gv = TensorView::contiguous("gt", g, shape).map_err(lib)?;
            let sd = metrics::surface_distances(ctx, &gv, &pv, spacing).map_err(lib)?;
            out.hd = sd.robust_hausdorff(100.0).map_err(lib)?;
            out.hd95 = sd.robust_hausdorff(95.0).map_err(lib)?;
            let (g2p, p2g) = sd.average_surface_distance();
            out.asd = p2g;
            out.assd = (g2p + p2g) / 2.0;
            out.nsd = sd.surface_dice_at_tolerance(tol).map_err(lib)?;
            let (recall, precision) = sd.surface_overlap_at_tolerance(tol).map_err(lib)?;
            out.bf = if precision + recall == 0.0 {
                0.0
            } else {
                2.0 * precision * recall / (precision + recall)
            };
        }
    }
    Ok(out)
}

/// Scores of one target; None when the empty policy drops the row.
fn score_target(
    ctx: &Context,
    pred: &Volume,
    gt: &Volume,
    t: &Target,
    spacing: &[f64],
    voxel_volume: f64,
    s: &Settings,
) -> Result<Option<Vec<f64>>, String> {
    let (p, g) = (mask(&pred.labels, t), mask(&gt.labels, t));
    let full: Vec<usize> = [1, 1].iter().chain(&gt.shape).copied().collect();
    let pv = TensorView::contiguous("pred", &p, &full).map_err(lib)?;
    let gv = TensorView::contiguous("gt", &g, &full).map_err(lib)?;
    let conf =
        metrics::confusion(ctx, &Decisions::Masks(pv), &Decisions::Masks(gv), 0).map_err(lib)?;
    let k = conf.get(0, 0);
    let both = k.tp + k.fp > 0 && k.tp + k.fn_ > 0;
    let surf = if s.metrics.iter().any(|m| m.is_surface()) && both {
        Some(surfaces(ctx, &p, &g, &gt.shape, spacing, s)?)
    } else {
        None
    };
    score_counts(k, surf_values(surf), voxel_volume, s)
}

fn surf_values(s: Option<Surfaces>) -> Option<[f64; 6]> {
    s.map(|s| [s.hd, s.hd95, s.assd, s.asd, s.nsd, s.bf])
}

/// The row of a target from its counts and (when both masks are non-empty) its surface scores;
/// also used for labels absent from both volumes of a case. None when the policy drops it.
pub fn score_counts(
    k: Counts,
    surf: Option<[f64; 6]>,
    voxel_volume: f64,
    s: &Settings,
) -> Result<Option<Vec<f64>>, String> {
    let gt_empty = k.tp + k.fn_ == 0;
    let pred_empty = k.tp + k.fp == 0;
    if gt_empty && s.empty == EmptyPolicy::Skip {
        return Ok(None);
    }
    let policy = match s.empty {
        EmptyPolicy::Nan | EmptyPolicy::Skip => EmptyGt::Nan,
        EmptyPolicy::One => EmptyGt::OneIfBothEmpty,
        EmptyPolicy::Zero => EmptyGt::Zero,
    };
    let conf = Confusion::from_counts(1, 1, vec![k]).map_err(lib)?;
    let overlap = |m: OverlapMetric| {
        metrics::overlap_values(&conf, m, policy).map(|v| v.values[0]).map_err(lib)
    };
    // Surface scores: computed when both masks are non-empty; a miss (exactly one empty) is
    // +inf for distances and 0 for the tolerance scores; both empty is NaN.
    let [hd, hd95, assd, asd, nsd, bf] = match surf {
        Some(v) => v,
        None if gt_empty && pred_empty => match s.empty {
            EmptyPolicy::One => [0.0, 0.0, 0.0, 0.0, 1.0, 1.0],
            EmptyPolicy::Zero => {
                [f64::INFINITY, f64::INFINITY, f64::INFINITY, f64::INFINITY, 0.0, 0.0]
            }
            _ => [f64::NAN; 6],
        },
        None => [f64::INFINITY, f64::INFINITY, f64::INFINITY, f64::INFINITY, 0.0, 0.0],
    };
    let mut out = Vec::with_capacity(s.metrics.len());
    for &m in &s.metrics {
        let v = match m {
            Metric::Dice => overlap(OverlapMetric::Dice)?,
            Metric::Iou => overlap(OverlapMetric::Iou)?,
            Metric::Precision => overlap(OverlapMetric::Precision)?,
            Metric::Recall => overlap(OverlapMetric::Recall)?,
            Metric::Specificity => overlap(OverlapMetric::Specificity)?,
            Metric::VolumeSimilarity => overlap(OverlapMetric::VolumeSimilarity)?,
            Metric::Hd => hd,
            Metric::Hd95 => hd95,
            Metric::Assd => assd,
            Metric::Asd => asd,
            Metric::Nsd => nsd,
            Metric::BoundaryF => bf,
            Metric::Tp => k.tp as f64,
            Metric::Fp => k.fp as f64,
            Metric::Fn => k.fn_ as f64,
            Metric::Tn => k.tn as f64,
            Metric::NPred => (k.tp + k.fp) as f64,
            Metric::NRef => (k.tp + k.fn_) as f64,
            Metric::VolPred => (k.tp + k.fp) as f64 * voxel_volume,
            Metric::VolRef => (k.tp + k.fn_) as f64 * voxel_volume,
        };
        // The `nan` policy: every ground-truth based score of an empty ground truth is NaN.
        let v = if gt_empty && s.empty == EmptyPolicy::Nan && m.uses_gt() { f64::NAN } else { v };
        out.push(v);
    }
    Ok(Some(out))
}
