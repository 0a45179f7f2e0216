//! Overlap metrics from confusion counts (MONAI `ConfusionMatrixMetric` names), the empty
//! ground-truth policy, and MONAI's aggregate reductions (`do_metric_reduction`).

use crate::error::{DiceError, Result};
use crate::metrics::confusion::{Confusion, Counts};

/// A metric of one (item, class) computed from TP / FP / FN / TN.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum OverlapMetric {
    /// 2TP / (2TP + FP + FN).
    Dice,
    /// TP / (TP + FP + FN) (Jaccard).
    Iou,
    /// TP / (TP + FP) (positive predictive value).
    Precision,
    /// TP / (TP + FN) (sensitivity, true positive rate).
    Recall,
    /// TN / (TN + FP) (true negative rate).
    Specificity,
    /// TN / (TN + FN) (negative predictive value).
    Npv,
    /// (TP + TN) / all.
    Accuracy,
    /// (1 + b^2) TP / ((1 + b^2) TP + b^2 FN + FP).
    FBeta(f64),
    /// 1 - |FN - FP| / (2TP + FP + FN).
    VolumeSimilarity,
    /// Matthews correlation: (TP TN - FP FN) / sqrt((TP+FP)(TP+FN)(TN+FP)(TN+FN)).
    Mcc,
}

impl OverlapMetric {
    /// True for metrics built on ground-truth positives, to which the empty-GT policy applies.
    fn uses_gt_positives(self) -> bool {
        matches!(
            self,
            OverlapMetric::Dice
                | OverlapMetric::Iou
                | OverlapMetric::Recall
                | OverlapMetric::FBeta(_)
        )
    }

    /// The value from counts; 0/0 gives NaN (MONAI's ConfusionMatrixMetric convention).
    pub fn value(self, k: Counts) -> f64 {
        let (tp, fp, fn_, tn) = (k.tp as f64, k.fp as f64, k.fn_ as f64, k.tn as f64);
        let ratio = |a: f64, b: f64| if b == 0.0 { f64::NAN } else { a / b };
        match self {
            OverlapMetric::Dice => ratio(2.0 * tp, 2.0 * tp + fp + fn_),
            OverlapMetric::Iou => ratio(tp, tp + fp + fn_),
            OverlapMetric::Precision => ratio(tp, tp + fp),
            OverlapMetric::Recall => ratio(tp, tp + fn_),
            OverlapMetric::Specificity => ratio(tn, tn + fp),
            OverlapMetric::Npv => ratio(tn, tn + fn_),
            OverlapMetric::Accuracy => ratio(tp + tn, tp + fp + fn_ + tn),
            OverlapMetric::FBeta(b) => {
                let b2 = b * b;
                ratio((1.0 + b2) * tp, (1.0 + b2) * tp + b2 * fn_ + fp)
            }
            OverlapMetric::VolumeSimilarity => {
                let d = 2.0 * tp + fp + fn_;
                if d == 0.0 { f64::NAN } else { 1.0 - (fn_ - fp).abs() / d }
            }
            OverlapMetric::Mcc => {
                ratio(tp * tn - fp * fn_, ((tp + fp) * (tp + fn_) * (tn + fp) * (tn + fn_)).sqrt())
            }
        }
    }
}

/// What a ground-truth-based metric (Dice, IoU, recall, F-beta) is when the ground truth of an
/// (item, class) is empty. Reductions skip NaN entries and report how many were kept.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EmptyGt {
    /// NaN, skipped by the reductions (MONAI `ignore_empty=True`, the default).
    Nan,
    /// 1 when the prediction is empty too, else the formula's value (0) (MONAI `ignore_empty=False`).
    OneIfBothEmpty,
    /// 0.
    Zero,
}

/// Per-(item, class) values, row-major.
#[derive(Clone, Debug, PartialEq)]
pub struct PerItem {
    /// Batch items.
    pub items: usize,
    /// Classes kept.
    pub classes: usize,
    /// Values, row-major (item, class).
    pub values: Vec<f64>,
}

/// `metric` for every (item, class) of `conf`, with the empty-GT policy.
pub fn overlap_values(conf: &Confusion, metric: OverlapMetric, empty: EmptyGt) -> Result<PerItem> {
    if let OverlapMetric::FBeta(b) = metric
        && !(b.is_finite() && b >= 0.0)
    {
        return Err(DiceError::BadOption { name: "beta", reason: "must be finite and >= 0" });
    }
    let values = conf
        .counts()
        .iter()
        .map(|&k| {
            let gt_empty = k.tp == 0 && k.fn_ == 0;
            if !(gt_empty && metric.uses_gt_positives()) {
                return metric.value(k);
            }
            match empty {
                EmptyGt::Nan => f64::NAN,
                EmptyGt::Zero => 0.0,
                EmptyGt::OneIfBothEmpty => {
                    if k.fp == 0 {
                        1.0
                    } else {
                        0.0
                    }
                }
            }
        })
        .collect();
    Ok(PerItem { items: conf.items(), classes: conf.classes(), values })
}

/// MONAI's aggregate reductions over a (item, class) table.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MetricReduction {
    /// The table itself; `not_nans` per entry.
    None,
    /// Mean over classes (non-NaN), then over items that had any: one value.
    Mean,
    /// Sum of non-NaN entries: one value.
    Sum,
    /// Mean over items per class.
    MeanBatch,
    /// Sum over items per class.
    SumBatch,
    /// Mean over classes per item.
    MeanChannel,
    /// Sum over classes per item.
    SumChannel,
}

/// A reduced table: values, the count of non-NaN entries behind each value (MONAI `not_nans`,
/// as f64 like MONAI returns it) and their shape.
#[derive(Clone, Debug, PartialEq)]
pub struct Aggregate {
    /// Reduced values.
    pub values: Vec<f64>,
    /// Non-NaN entries behind each value (for `Mean`: items that had any).
    pub not_nans: Vec<f64>,
    /// Shape of `values`: [N, C], [1], [C] or [N].
    pub shape: Vec<usize>,
}

/// Reduces per-(item, class) values exactly as MONAI's `do_metric_reduction`: NaN entries are
/// skipped, a mean over no entries is 0.
pub fn reduce(t: &PerItem, reduction: MetricReduction) -> Aggregate {
    let (n, c) = (t.items, t.classes);
    let at = |i: usize, j: usize| t.values[i * c + j];
    // (sum, count) over a set of entries, skipping NaN.
    let fold = |it: &mut dyn Iterator<Item = f64>| {
        it.filter(|v| !v.is_nan()).fold((0.0, 0usize), |(s, k), v| (s + v, k + 1))
    };
    let mean = |(s, k): (f64, usize)| if k > 0 { s / k as f64 } else { 0.0 };
    match reduction {
        MetricReduction::None => Aggregate {
            values: t.values.clone(),
            not_nans: t.values.iter().map(|v| (!v.is_nan()) as u8 as f64).collect(),
            shape: vec![n, c],
        },
        MetricReduction::Mean => {
            let per_item: Vec<(f64, usize)> =
                (0..n).map(|i| fold(&mut (0..c).map(|j| at(i, j)))).collect();
            let kept: Vec<f64> = per_item.iter().filter(|p| p.1 > 0).map(|&p| mean(p)).collect();
            let v =
                if kept.is_empty() { 0.0 } else { kept.iter().sum::<f64>() / kept.len() as f64 };
            Aggregate { values: vec![v], not_nans: vec![kept.len() as f64], shape: vec![1] }
        }
        MetricReduction::Sum => {
            let (s, k) = fold(&mut t.values.iter().copied());
            Aggregate { values: vec![s], not_nans: vec![k as f64], shape: vec![1] }
        }
        MetricReduction::MeanBatch | MetricReduction::SumBatch => {
            let per: Vec<(f64, usize)> =
                (0..c).map(|j| fold(&mut (0..n).map(|i| at(i, j)))).collect();
            let is_mean = reduction == MetricReduction::MeanBatch;
            Aggregate {
                values: per.iter().map(|&p| if is_mean { mean(p) } else { p.0 }).collect(),
                not_nans: per.iter().map(|p| p.1 as f64).collect(),
                shape: vec![c],
            }
        }
        MetricReduction::MeanChannel | MetricReduction::SumChannel => {
            let per: Vec<(f64, usize)> =
                (0..n).map(|i| fold(&mut (0..c).map(|j| at(i, j)))).collect();
            let is_mean = reduction == MetricReduction::MeanChannel;
            Aggregate {
                values: per.iter().map(|&p| if is_mean { mean(p) } else { p.0 }).collect(),
                not_nans: per.iter().map(|p| p.1 as f64).collect(),
                shape: vec![n],
            }
        }
    }
}

/// torchmetrics `GeneralizedDiceScore` class weights.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GdsWeight {
    /// 1 / G^2 (`square`, the default).
    Square,
    /// 1 / G (`simple`).
    Simple,
    /// 1 (`linear`).
    Linear,
}

/// torchmetrics (1.9) `GeneralizedDiceScore` of one batch: per item, weighted
/// `2 sum_c w_c TP_c / sum_c w_c (P_c + G_c)` (or per class without the class sums), then the
/// mean over items; 0/0 is 0. An infinite weight (class absent from the ground truth) is
/// replaced as torchmetrics does: infinities set to 0, `m_c` = max over items of each class's
/// weight, and the weight at flat index i = n C + c takes `m[i / N]` (its flattened indexing;
/// for one item that is the class's own weight, 0). Returns one value, or one per class.
pub fn generalized_dice_score(conf: &Confusion, weight: GdsWeight, per_class: bool) -> Vec<f64> {
    let (n, c) = (conf.items(), conf.classes());
    let mut w: Vec<f64> = conf
        .counts()
        .iter()
        .map(|k| {
            let g = k.tp as f64 + k.fn_ as f64;
            match weight {
                GdsWeight::Square => 1.0 / (g * g),
                GdsWeight::Simple => 1.0 / g,
                GdsWeight::Linear => 1.0,
            }
        })
        .collect();
    let inf: Vec<bool> = w.iter().map(|v| v.is_infinite()).collect();
    for (v, &i) in w.iter_mut().zip(&inf) {
        if i {
            *v = 0.0;
        }
    }
    let m: Vec<f64> =
        (0..c).map(|j| (0..n).map(|i| w[i * c + j]).fold(f64::NEG_INFINITY, f64::max)).collect();
    for (i, v) in w.iter_mut().enumerate() {
        if inf[i] {
            *v = m[i / n];
        }
    }
    let safe = |a: f64, b: f64| if b == 0.0 { 0.0 } else { a / b };
    let terms = |i: usize, j: usize| {
        let k = conf.get(i, j);
        let wt = w[i * c + j];
        // Summed in f64: 2 TP + FP + FN can exceed u64.
        let tp = k.tp as f64;
        (2.0 * tp * wt, (2.0 * tp + k.fp as f64 + k.fn_ as f64) * wt)
    };
    if per_class {
        (0..c)
            .map(|j| (0..n).map(|i| safe(terms(i, j).0, terms(i, j).1)).sum::<f64>() / n as f64)
            .collect()
    } else {
        let s: f64 = (0..n)
            .map(|i| {
                let (a, b) =
                    (0..c).map(|j| terms(i, j)).fold((0.0, 0.0), |x, y| (x.0 + y.0, x.1 + y.1));
                safe(a, b)
            })
            .sum();
        vec![s / n as f64]
    }
}
