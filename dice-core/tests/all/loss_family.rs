//! Every reference case of the loss family (MONAI GeneralizedDice / Tversky / Focal / DiceCE /
//! DiceFocal, smp Dice / Jaccard / Tversky, kornia dice / tversky), mapped from the library's
//! own keywords to `DiceOptions`, in f64 (stated tolerances) and f32.

use crate::common::*;
use dice_core::*;
use serde_json::Value;

/// How the target is handed to the engine.
#[derive(Clone, Copy, PartialEq, Debug)]
enum TargetKind {
    Dense,
    Labels,
}

fn f(v: &Value) -> f64 {
    v.as_f64().unwrap_or_else(|| panic!("not a number: {v}"))
}

fn list(v: &Value) -> Vec<f64> {
    match v {
        Value::Array(a) => a.iter().map(f).collect(),
        Value::Object(o) => list(&o["__tensor__"]),
        x => vec![f(x)],
    }
}

fn reduction(v: &Value) -> Reduction {
    match v.as_str().unwrap() {
        "mean" => Reduction::Mean,
        "sum" => Reduction::Sum,
        "none" => Reduction::None,
        r => panic!("unknown reduction {r}"),
    }
}

/// MONAI's loss keywords -> options. Unknown keywords fail the test.
fn monai(api: &str, kw: &Value, channels: usize) -> (DiceOptions, TargetKind) {
    let mut o = DiceOptions::default();
    let mut onehot = false;
    let mut weight = Vec::new();
    let (mut sigmoid, mut alpha) = (false, None);
    match api {
        "GeneralizedDiceLoss" => o.overlap = Overlap::Generalized(GdlWeight::Square),
        "TverskyLoss" => o.overlap = Overlap::Tversky { alpha: 0.5, beta: 0.5 },
        "FocalLoss" => {
            o.lambda_overlap = 0.0;
            o.pointwise.kind = PointwiseKind::SigmoidFocal;
        }
        "DiceCELoss" => o.pointwise.kind = PointwiseKind::SoftmaxCe,
        "DiceFocalLoss" => o.pointwise.kind = PointwiseKind::SigmoidFocal,
        _ => {}
    }
    for (k, v) in kw.as_object().unwrap() {
        match k.as_str() {
            "sigmoid" => sigmoid = v.as_bool().unwrap(),
            "softmax" if v.as_bool().unwrap() => o.activation = Activation::Softmax,
            "softmax" => {}
            "to_onehot_y" => onehot = v.as_bool().unwrap(),
            "include_background" => o.include_background = v.as_bool().unwrap(),
            "squared_pred" => o.squared_pred = v.as_bool().unwrap(),
            "jaccard" => o.jaccard = v.as_bool().unwrap(),
            "batch" => o.batch = v.as_bool().unwrap(),
            "soft_label" => o.soft_label = v.as_bool().unwrap(),
            "smooth_nr" => o.smooth_nr = f(v),
            "smooth_dr" => o.smooth_dr = f(v),
            "reduction" => o.reduction = reduction(v),
            "weight" => weight = list(v),
            "w_type" => {
                o.overlap = Overlap::Generalized(match v.as_str().unwrap() {
                    "square" => GdlWeight::Square,
                    "simple" => GdlWeight::Simple,
                    "uniform" => GdlWeight::Uniform,
                    w => panic!("w_type {w}"),
                })
            }
            "alpha" if api == "TverskyLoss" => {
                if let Overlap::Tversky { beta, .. } = o.overlap {
                    o.overlap = Overlap::Tversky { alpha: f(v), beta }
                }
            }
            "beta" => {
                if let Overlap::Tversky { alpha, .. } = o.overlap {
                    o.overlap = Overlap::Tversky { alpha, beta: f(v) }
                }
            }
            "alpha" => alpha = Some(v.clone()),
            "gamma" => o.pointwise.gamma = f(v),
            "use_softmax" if v.as_bool().unwrap() => o.pointwise.kind = PointwiseKind::SoftmaxFocal,
            "use_softmax" => {}
            "lambda_dice" => o.lambda_overlap = f(v),
            "lambda_ce" | "lambda_focal" => o.pointwise.lambda = f(v),
            "label_smoothing" => o.pointwise.label_smoothing = f(v),
            other => panic!("unmapped MONAI keyword {other}"),
        }
    }
    if sigmoid {
        o.activation = Activation::Sigmoid;
        if o.pointwise.kind == PointwiseKind::SoftmaxCe {
            o.pointwise.kind = PointwiseKind::Bce;
        }
    }
    if o.pointwise.kind == PointwiseKind::SoftmaxCe && channels == 1 {
        o.pointwise.kind = PointwiseKind::Bce;
    }
    o.pointwise.alpha = match alpha {
        None => FocalAlpha::None,
        Some(Value::Array(a)) => FocalAlpha::PerClass(a.iter().map(f).collect()),
        Some(v) => FocalAlpha::Scalar(f(&v)),
    };
    // one `weight` serves both terms: the Dice term sees it after background removal
    match api {
        "FocalLoss" | "DiceFocalLoss" => o.pointwise.weight = weight.clone(),
        "DiceCELoss" => o.pointwise.weight = weight.clone(),
        _ => {}
    }
    if api != "FocalLoss" {
        let drop_bg = !o.include_background
            && channels > 1
            && weight.len() == channels
            && api == "DiceCELoss";
        o.weight = if drop_bg { weight[1..].to_vec() } else { weight };
    }
    let kind = if onehot && channels > 1 { TargetKind::Labels } else { TargetKind::Dense };
    (o, kind)
}

/// smp's keywords -> options (batch and space pooled per class, absent classes zeroed).
fn smp(api: &str, kw: &Value) -> (DiceOptions, TargetKind) {
    let mut o = DiceOptions {
        batch: true,
        zero_absent: true,
        smooth_nr: 0.0,
        smooth_dr: 0.0,
        clamp_dr: 1e-7,
        ..Default::default()
    };
    let (mut smooth, mut eps, mut log_loss, mut from_logits, mut mode) =
        (0.0, 1e-7, false, true, "");
    let (mut alpha, mut beta) = (0.5, 0.5);
    for (k, v) in kw.as_object().unwrap() {
        match k.as_str() {
            "mode" => mode = v.as_str().unwrap(),
            "smooth" => smooth = f(v),
            "eps" => eps = f(v),
            "log_loss" => log_loss = v.as_bool().unwrap(),
            "from_logits" => from_logits = v.as_bool().unwrap(),
            "ignore_index" => o.ignore_index = Some(v.as_i64().unwrap()),
            "classes" => {
                o.classes =
                    v.as_array().unwrap().iter().map(|c| c.as_u64().unwrap() as usize).collect()
            }
            "class_weights" => {
                o.weight = list(v);
                o.weight_mode = WeightMode::WeightedMean;
            }
            "alpha" => alpha = f(v),
            "beta" => beta = f(v),
            "gamma" => {
                o.gamma = f(v);
                o.gamma_on_mean = true;
            }
            other => panic!("unmapped smp keyword {other}"),
        }
    }
    let jaccard = api == "JaccardLoss";
    // smp 0.6 (observed): Dice (2I + 2s) / max(P + G + 2s, eps); Jaccard (I + s) / max(U + s, eps),
    // which is MONAI's form (2I + 2s) / (2U + 2s) with the clamp doubled; Tversky adds s once.
    let k = match api {
        "JaccardLoss" => 2.0,
        "DiceLoss" => 2.0,
        _ => 1.0,
    };
    (o.smooth_nr, o.smooth_dr, o.clamp_dr) =
        (k * smooth, k * smooth, if jaccard { 2.0 * eps } else { eps });
    o.jaccard = jaccard;
    if api == "TverskyLoss" {
        o.overlap = Overlap::Tversky { alpha, beta };
    }
    if log_loss {
        o.form = LossForm::NegLog { eps };
    }
    let kind = match mode {
        "multiclass" => {
            o.activation = if from_logits { Activation::Softmax } else { Activation::None };
            TargetKind::Labels
        }
        "binary" | "multilabel" => {
            o.activation = if from_logits { Activation::Sigmoid } else { Activation::None };
            o.dense_ignore = DenseIgnore::Equal;
            TargetKind::Dense
        }
        m => panic!("smp mode {m}"),
    };
    (o, kind)
}

/// kornia's functional keywords -> options (softmax logits, label targets).
fn kornia(api: &str, kw: &Value) -> (DiceOptions, TargetKind) {
    let mut o = DiceOptions {
        activation: Activation::Softmax,
        smooth_nr: 0.0,
        smooth_dr: 1e-8,
        pool_classes: true,
        weight_mode: WeightMode::InSums,
        ignore_index: Some(-100),
        ..Default::default()
    };
    let (mut alpha, mut beta) = (0.5, 0.5);
    for (k, v) in kw.as_object().unwrap() {
        match k.as_str() {
            "average" => o.pool_classes = v.as_str().unwrap() == "micro",
            "eps" => o.smooth_dr = f(v),
            "weight" => o.weight = list(v),
            "ignore_index" => o.ignore_index = Some(v.as_i64().unwrap()),
            "alpha" => alpha = f(v),
            "beta" => beta = f(v),
            other => panic!("unmapped kornia keyword {other}"),
        }
    }
    if api == "tversky_loss" {
        // kornia 0.9's tversky_loss is per (sample, class), then the mean (observed)
        o.overlap = Overlap::Tversky { alpha, beta };
        o.pool_classes = false;
    }
    (o, TargetKind::Labels)
}

fn options(case: &Value, channels: usize) -> (DiceOptions, TargetKind) {
    let api = case["api"].as_str().unwrap();
    let name = api.rsplit('.').next().unwrap();
    match case["library"].as_str().unwrap() {
        "monai" => monai(name, &case["init_kwargs"], channels),
        "segmentation_models_pytorch" | "smp" => smp(name, &case["init_kwargs"]),
        "kornia" => kornia(name, &case["call_kwargs"]),
        l => panic!("library {l}"),
    }
}

fn run<T: Float>(case: &Value) -> Outcome {
    let d = Arrays::<T>::load(case);
    let xs = &d.input_shape;
    let (o, kind) = options(case, xs[1]);
    let input = d.input();
    let ctx = Context::single();
    let mut g = vec![T::default(); d.input.len()];
    let mut grad = TensorViewMut::contiguous("grad", &mut g, xs).unwrap();
    let target = d.target(kind == TargetKind::Labels);
    if !per_element_output(case) {
        let fin = dice_loss_grad(&ctx, &input, &target, &o, None, &mut grad)
            .unwrap_or_else(|e| panic!("{}: {e}", case["id"]));
        return Outcome {
            values: fin.values().to_vec(),
            loss: fin.loss(),
            grad: g.iter().map(|v| v.to_f64()).collect(),
        };
    }
    // MONAI's per-element output: each Dice entry broadcast over space plus lambda times the
    // focal map of the kept channels; the gradient of its sum takes the broadcast count
    // (the spatial size) as each entry's upstream gradient.
    let (n, c) = (xs[0], xs[1]);
    let spatial: usize = xs[2..].iter().product();
    let first = o.first_class(c);
    let values = dice_loss(&ctx, &input, &target, &o).unwrap().values().to_vec();
    let mut m = vec![T::default(); d.input.len()];
    dice_pointwise_map(
        &ctx,
        &input,
        &target,
        None,
        &o,
        &mut TensorViewMut::contiguous("out", &mut m, xs).unwrap(),
    )
    .unwrap();
    let mut out = Vec::with_capacity(n * (c - first) * spatial);
    for b in 0..n {
        for ch in first..c {
            for j in 0..spatial {
                out.push(
                    values[b * (c - first) + ch - first]
                        + o.pointwise.lambda * m[(b * c + ch) * spatial + j].to_f64(),
                );
            }
        }
    }
    let upstream = vec![spatial as f64; values.len()];
    dice_loss_grad(&ctx, &input, &target, &o, Some(&upstream), &mut grad).unwrap();
    Outcome { values: out, loss: f64::NAN, grad: g.iter().map(|v| v.to_f64()).collect() }
}

const APIS: [&str; 10] = [
    "monai.losses.GeneralizedDiceLoss",
    "monai.losses.TverskyLoss",
    "monai.losses.FocalLoss",
    "monai.losses.DiceCELoss",
    "monai.losses.DiceFocalLoss",
    "segmentation_models_pytorch.losses.DiceLoss",
    "segmentation_models_pytorch.losses.JaccardLoss",
    "segmentation_models_pytorch.losses.TverskyLoss",
    "kornia.losses.dice_loss",
    "kornia.losses.tversky_loss",
];

fn family() -> Vec<Value> {
    let v: Vec<Value> =
        cases().into_iter().filter(|c| APIS.contains(&c["api"].as_str().unwrap())).collect();
    assert_eq!(v.len(), 69, "the reference set has 69 loss-family cases");
    v
}

/// MONAI's `reduction="none"` of DiceFocal is per element (B, C, H, W): the Dice values
/// broadcast plus the focal map (`dice_pointwise_map`).
fn per_element_output(case: &Value) -> bool {
    case["api"] == "monai.losses.DiceFocalLoss" && case["init_kwargs"]["reduction"] == "none"
}

#[test]
fn family_f64() {
    let mut per_element = 0;
    for case in family() {
        per_element += usize::from(per_element_output(&case));
        check(&case, &run::<f64>(&case), (1e-6, 1e-5), (1e-6, 1e-4));
    }
    assert_eq!(per_element, 1, "monai_DiceFocalLoss_2d_sigmoid_none is covered");
}

#[test]
fn family_f32() {
    for case in family() {
        // f32 arithmetic as in the DiceLoss f32 test (see reference_cases.rs).
        check(&case, &run::<f32>(&case), (1e-5, 1e-4), (1e-6, 1e-4));
    }
}
