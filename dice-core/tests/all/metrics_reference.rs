//! Every metric reference case (MONAI DiceMetric / MeanIoU / HausdorffDistanceMetric /
//! SurfaceDistanceMetric / SurfaceDiceMetric, torchmetrics GeneralizedDiceScore, medpy) computed by
//! the real libraries, reproduced by dice-core's metrics.

use crate::common::{array, assert_all_close, cases};
use dice_core::metrics::*;
use dice_core::{Context, TensorView};
use serde_json::Value;

const OVERLAP: (f64, f64) = (1e-6, 1e-5);
const DISTANCE: (f64, f64) = (1e-4, 0.0);

fn tol(case: &Value, key: &str) -> (f64, f64) {
    match case["expected"][key]["tol"].as_str() {
        Some("distance") => DISTANCE,
        _ => OVERLAP,
    }
}

fn expected(case: &Value, key: &str) -> Vec<f64> {
    let name = case["expected"][key]["array"].as_str().unwrap();
    array(case, name).1
}

fn check(case: &Value, key: &str, got: &[f64]) {
    let (atol, rtol) = tol(case, key);
    assert_all_close(&format!("{} {key}", case["id"]), got, &expected(case, key), atol, rtol);
}

/// A u8 array of the case as a buffer plus its shape.
fn u8_array(case: &Value, name: &str) -> (Vec<usize>, Vec<u8>) {
    let (shape, data) = array(case, name);
    (shape, data.iter().map(|&v| v as u8).collect())
}

fn kw<'a>(case: &'a Value, key: &str) -> Option<&'a Value> {
    case["init_kwargs"].get(key).or_else(|| case["call_kwargs"].get(key))
}

fn bool_kw(case: &Value, key: &str, default: bool) -> bool {
    kw(case, key).and_then(Value::as_bool).unwrap_or(default)
}

fn reduction_kw(case: &Value) -> MetricReduction {
    match kw(case, "reduction").and_then(Value::as_str).unwrap_or("mean") {
        "none" => MetricReduction::None,
        "mean" => MetricReduction::Mean,
        "sum" => MetricReduction::Sum,
        "mean_batch" => MetricReduction::MeanBatch,
        "sum_batch" => MetricReduction::SumBatch,
        "mean_channel" => MetricReduction::MeanChannel,
        "sum_channel" => MetricReduction::SumChannel,
        r => panic!("reduction {r}"),
    }
}

fn spacing_kw(case: &Value, spatial: usize) -> Vec<f64> {
    match kw(case, "spacing").or_else(|| kw(case, "spacing_mm")) {
        None => Vec::new(),
        Some(Value::Array(a)) => a.iter().map(|v| v.as_f64().unwrap()).collect(),
        Some(v) => vec![v.as_f64().unwrap(); spatial],
    }
}

fn metric_kw(case: &Value) -> DistanceMetric {
    match kw(case, "distance_metric").and_then(Value::as_str).unwrap_or("euclidean") {
        "euclidean" => DistanceMetric::Euclidean,
        "chessboard" => DistanceMetric::Chessboard,
        "taxicab" => DistanceMetric::Taxicab,
        m => panic!("metric {m}"),
    }
}

/// Runs `f` on the case's (y_pred, y) one-hot masks.
fn with_masks<R>(
    case: &Value,
    names: (&str, &str),
    f: impl FnOnce(&Decisions<'_>, &Decisions<'_>, usize) -> R,
) -> R {
    let (shape, p) = u8_array(case, names.0);
    let (_, g) = u8_array(case, names.1);
    let pv = TensorView::contiguous("pred", &p, &shape).unwrap();
    let gv = TensorView::contiguous("gt", &g, &shape).unwrap();
    f(&Decisions::Masks(pv), &Decisions::Masks(gv), shape.len() - 2)
}

fn check_monai_reduction(case: &Value, per: &PerItem) {
    check(case, "per_item", &per.values);
    let agg = reduce(per, reduction_kw(case));
    check(case, "aggregate", &agg.values);
    if case["expected"].get("not_nans").is_some() {
        check(case, "not_nans", &agg.not_nans);
    }
}

fn run_case(ctx: &Context, case: &Value) {
    let api = case["api"].as_str().unwrap();
    match api {
        "monai.metrics.DiceMetric" | "monai.metrics.MeanIoU" => {
            with_masks(case, ("y_pred", "y"), |p, g, _| {
                let mut conf = confusion(ctx, p, g, 0).unwrap();
                if !bool_kw(case, "include_background", true) {
                    conf = conf.without_background();
                }
                let empty = if bool_kw(case, "ignore_empty", true) {
                    EmptyGt::Nan
                } else {
                    EmptyGt::OneIfBothEmpty
                };
                let metric = if api.ends_with("DiceMetric") {
                    OverlapMetric::Dice
                } else {
                    OverlapMetric::Iou
                };
                check_monai_reduction(case, &overlap_values(&conf, metric, empty).unwrap());
            })
        }
        "monai.metrics.HausdorffDistanceMetric" => with_masks(case, ("y_pred", "y"), |p, g, k| {
            let opts = SurfaceOptions {
                spacing: spacing_kw(case, k),
                metric: metric_kw(case),
                include_background: bool_kw(case, "include_background", false),
            };
            let q = kw(case, "percentile").and_then(Value::as_f64);
            let per =
                hausdorff_monai(ctx, p, g, 0, &opts, q, bool_kw(case, "directed", false)).unwrap();
            check_monai_reduction(case, &per);
        }),
        "monai.metrics.SurfaceDistanceMetric" => with_masks(case, ("y_pred", "y"), |p, g, k| {
            let opts = SurfaceOptions {
                spacing: spacing_kw(case, k),
                metric: metric_kw(case),
                include_background: bool_kw(case, "include_background", false),
            };
            let per = average_surface_distance_monai(
                ctx,
                p,
                g,
                0,
                &opts,
                bool_kw(case, "symmetric", false),
            )
            .unwrap();
            check_monai_reduction(case, &per);
        }),
        "monai.metrics.SurfaceDiceMetric" => with_masks(case, ("y_pred", "y"), |p, g, k| {
            let opts = SurfaceOptions {
                spacing: spacing_kw(case, k),
                metric: metric_kw(case),
                include_background: bool_kw(case, "include_background", false),
            };
            let t: Vec<f64> = kw(case, "class_thresholds")
                .unwrap()
                .as_array()
                .unwrap()
                .iter()
                .map(|v| v.as_f64().unwrap())
                .collect();
            check_monai_reduction(case, &surface_dice_monai(ctx, p, g, 0, &opts, &t).unwrap());
        }),
        "torchmetrics.segmentation.GeneralizedDiceScore" => {
            with_masks(case, ("preds", "target"), |p, g, _| {
                let mut conf = confusion(ctx, p, g, 0).unwrap();
                if !bool_kw(case, "include_background", true) {
                    conf = conf.without_background();
                }
                let w = match kw(case, "weight_type").and_then(Value::as_str).unwrap_or("square") {
                    "square" => GdsWeight::Square,
                    "simple" => GdsWeight::Simple,
                    "linear" => GdsWeight::Linear,
                    w => panic!("weight {w}"),
                };
                check(
                    case,
                    "score",
                    &generalized_dice_score(&conf, w, bool_kw(case, "per_class", false)),
                );
            })
        }
        "medpy.metric.binary" => {
            let (shape, r) = u8_array(case, "result");
            let (_, f) = u8_array(case, "reference");
            let mut full = vec![1, 1];
            full.extend(&shape);
            let rv = Decisions::Masks(TensorView::contiguous("pred", &r, &full).unwrap());
            let fv = Decisions::Masks(TensorView::contiguous("gt", &f, &full).unwrap());
            let opts = SurfaceOptions { include_background: true, ..Default::default() };
            let table = medpy_distances(ctx, &rv, &fv, 0, &opts).unwrap();
            let m = table.2[0];
            check(case, "hd", &[m.hd]);
            check(case, "hd95", &[m.hd95]);
            check(case, "asd", &[m.asd]);
            check(case, "assd", &[m.assd]);
        }
        other => panic!("no runner for {other}"),
    }
}

const METRIC_APIS: &[&str] = &[
    "monai.metrics.DiceMetric",
    "monai.metrics.MeanIoU",
    "monai.metrics.HausdorffDistanceMetric",
    "monai.metrics.SurfaceDistanceMetric",
    "monai.metrics.SurfaceDiceMetric",
    "torchmetrics.segmentation.GeneralizedDiceScore",
    "medpy.metric.binary",
];

#[test]
fn every_metric_reference_case() {
    let ctx = Context::single();
    let mut ran = 0;
    for case in cases() {
        let api = case["api"].as_str().unwrap();
        if METRIC_APIS.contains(&api) {
            run_case(&ctx, &case);
            ran += 1;
        }
    }
    // 5 + 1 + 4 + 4 + 4 + 2 + 1 cases in tests/reference/cases.json.
    assert_eq!(ran, 21, "metric reference cases run");
}

#[test]
fn reference_cases_identical_with_two_threads() {
    let (one, two) = (Context::single(), Context::new(2).unwrap());
    for case in cases() {
        if case["api"] == "monai.metrics.HausdorffDistanceMetric" {
            with_masks(&case, ("y_pred", "y"), |p, g, _| {
                let opts = SurfaceOptions::default();
                let a = hausdorff_monai(&one, p, g, 0, &opts, Some(95.0), false).unwrap();
                let b = hausdorff_monai(&two, p, g, 0, &opts, Some(95.0), false).unwrap();
                assert_eq!(
                    a.values.iter().map(|v| v.to_bits()).collect::<Vec<_>>(),
                    b.values.iter().map(|v| v.to_bits()).collect::<Vec<_>>()
                );
            });
        }
    }
}
