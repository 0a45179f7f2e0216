//! The elementwise term per element (`dice_pointwise_map`, MONAI's `reduction="none"` of
//! FocalLoss / DiceFocalLoss): each element against a scalar f64 formula written here, its sum
//! against the term in the total, and `reduction = none` with an elementwise term (the loss
//! is then the sum of every value, with its gradient checked by central differences).

use crate::common::{Rng, assert_all_close};
use dice_core::*;

struct Case {
    shape: Vec<usize>,
    x: Vec<f64>,
    labels: Vec<i64>,
    onehot: Vec<f64>,
    mask: Vec<f64>,
}

fn case(seed: u64, n: usize, c: usize, plane: usize) -> Case {
    let mut r = Rng(seed);
    let x = (0..n * c * plane).map(|_| r.uniform(-4.0, 4.0)).collect();
    let labels: Vec<i64> = (0..n * plane).map(|_| r.below(c) as i64).collect();
    let mut onehot = vec![0.0; n * c * plane];
    for b in 0..n {
        for k in 0..plane {
            onehot[(b * c + labels[b * plane + k] as usize) * plane + k] = 1.0;
        }
    }
    let mask =
        (0..n * plane).map(|_| if r.below(3) == 0 { 0.0 } else { r.uniform(0.0, 2.0) }).collect();
    Case { shape: vec![n, c, plane], x, labels, onehot, mask }
}

fn sigmoid(x: f64) -> f64 {
    1.0 / (1.0 + (-x).exp())
}

/// The element's loss by its textbook definition (f64, libm), before the mask.
fn element(
    kind: PointwiseKind,
    gamma: f64,
    alpha: Option<f64>,
    x: &[f64],
    t: &[f64],
    c: usize,
) -> f64 {
    match kind {
        PointwiseKind::Bce => {
            -(t[c] * sigmoid(x[c]).ln() + (1.0 - t[c]) * (1.0 - sigmoid(x[c])).ln())
        }
        PointwiseKind::SigmoidFocal => {
            let p = sigmoid(x[c]);
            let pt = if t[c] == 1.0 { p } else { 1.0 - p };
            let a = alpha.map_or(1.0, |a| if t[c] == 1.0 { a } else { 1.0 - a });
            -a * (1.0 - pt).powf(gamma) * pt.ln()
        }
        PointwiseKind::SoftmaxFocal => {
            let z: f64 = x.iter().map(|v| v.exp()).sum();
            let p = x[c].exp() / z;
            -t[c] * (1.0 - p).powf(gamma) * p.ln()
        }
        _ => unreachable!(),
    }
}

fn map(cs: &Case, labels: bool, mask: bool, opts: &DiceOptions) -> Vec<f64> {
    let ctx = Context::new(2).unwrap();
    let ls = [cs.shape[0], 1, cs.shape[2]];
    let input = TensorView::contiguous("input", &cs.x, &cs.shape).unwrap();
    let target = if labels {
        Target::Labels(Labels::I64(TensorView::contiguous("target", &cs.labels, &ls).unwrap()))
    } else {
        Target::Dense(TensorView::contiguous("target", &cs.onehot, &cs.shape).unwrap())
    };
    let mv = TensorView::contiguous("loss_mask", &cs.mask, &ls).unwrap();
    // a channels-last output exercises the strided scatter
    let (n, c, k) = (cs.shape[0], cs.shape[1], cs.shape[2]);
    let mut buf = vec![f64::NAN; n * c * k];
    let mut out =
        TensorViewMut::new("out", &mut buf, 0, &cs.shape, &[(c * k) as isize, 1, c as isize])
            .unwrap();
    dice_pointwise_map(&ctx, &input, &target, mask.then_some(&mv), opts, &mut out).unwrap();
    let mut m = vec![0.0; n * c * k];
    for b in 0..n {
        for ch in 0..c {
            for j in 0..k {
                m[(b * c + ch) * k + j] = buf[b * c * k + j * c + ch];
            }
        }
    }
    // the term in the total (reduction none, lambda 1) is the map's sum
    let fin = dice_loss_masked(
        &ctx,
        &input,
        &target,
        mask.then_some(&mv),
        &DiceOptions { reduction: Reduction::None, ..opts.clone() },
    )
    .unwrap();
    assert_all_close(
        "sum of the map",
        &[m.iter().sum::<f64>()],
        &[fin.pointwise_loss()],
        1e-13,
        1e-12,
    );
    m
}

#[test]
fn map_matches_the_definitions() {
    for (kind, c, bg) in [
        (PointwiseKind::Bce, 3, true),
        (PointwiseKind::SigmoidFocal, 3, false),
        (PointwiseKind::SigmoidFocal, 1, true),
        (PointwiseKind::SoftmaxFocal, 4, true),
    ] {
        for gamma in [0.0, 2.0, 1.5] {
            let alpha = (kind == PointwiseKind::SigmoidFocal).then_some(0.25);
            let cs = case(3 + c as u64, 2, c, 37);
            let opts = DiceOptions {
                include_background: bg,
                pointwise: Pointwise {
                    kind,
                    gamma,
                    alpha: alpha.map_or(FocalAlpha::None, FocalAlpha::Scalar),
                    ..Default::default()
                },
                ..Default::default()
            };
            for labels in [false, true] {
                if labels && c == 1 {
                    continue; // a one-channel label map is a binary mask; the dense form covers it
                }
                for mask in [false, true] {
                    let got = map(&cs, labels, mask, &opts);
                    let (n, k) = (cs.shape[0], cs.shape[2]);
                    let first = usize::from(!bg && c > 1);
                    let mut want = vec![0.0; got.len()];
                    for b in 0..n {
                        for j in 0..k {
                            let x: Vec<f64> = (0..c).map(|ch| cs.x[(b * c + ch) * k + j]).collect();
                            let t: Vec<f64> =
                                (0..c).map(|ch| cs.onehot[(b * c + ch) * k + j]).collect();
                            let w = if mask { cs.mask[b * k + j] } else { 1.0 };
                            for ch in first..c {
                                want[(b * c + ch) * k + j] =
                                    w * element(kind, gamma, alpha, &x, &t, ch);
                            }
                        }
                    }
                    assert_all_close(
                        &format!("{kind:?} gamma {gamma} labels {labels} mask {mask}"),
                        &got,
                        &want,
                        1e-13,
                        1e-12,
                    );
                }
            }
        }
    }
}

#[test]
fn map_refuses_cross_entropy() {
    let cs = case(1, 1, 3, 4);
    let input = TensorView::contiguous("input", &cs.x, &cs.shape).unwrap();
    let target = Target::Dense(TensorView::contiguous("target", &cs.onehot, &cs.shape).unwrap());
    let mut buf = vec![0.0; cs.x.len()];
    let mut out = TensorViewMut::contiguous("out", &mut buf, &cs.shape).unwrap();
    for kind in [PointwiseKind::None, PointwiseKind::SoftmaxCe] {
        let opts = DiceOptions {
            pointwise: Pointwise { kind, ..Default::default() },
            ..Default::default()
        };
        let e = dice_pointwise_map(&Context::single(), &input, &target, None, &opts, &mut out)
            .unwrap_err();
        assert!(matches!(e, DiceError::BadOption { name: "pointwise", .. }), "{e}");
    }
}

#[test]
fn reduction_none_with_an_elementwise_term() {
    // MONAI DiceFocalLoss(reduction="none"): dice per entry broadcast over space plus lambda
    // times the focal map; the gradient of its sum is dice_loss_grad with upstream = the
    // broadcast count per entry. Checked by central differences of that sum.
    let cs = case(31, 2, 3, 6);
    let (n, c, k) = (2, 3, 6);
    let opts = DiceOptions {
        activation: Activation::Sigmoid,
        include_background: false,
        reduction: Reduction::None,
        pointwise: Pointwise {
            kind: PointwiseKind::SigmoidFocal,
            lambda: 0.7,
            gamma: 2.0,
            ..Default::default()
        },
        ..Default::default()
    };
    let ctx = Context::single();
    let ls = [n, 1, k];
    let total = |x: &[f64]| -> f64 {
        let input = TensorView::contiguous("input", x, &cs.shape).unwrap();
        let target =
            Target::Labels(Labels::I64(TensorView::contiguous("target", &cs.labels, &ls).unwrap()));
        let mv = TensorView::contiguous("loss_mask", &cs.mask, &ls).unwrap();
        let fin = dice_loss_masked(&ctx, &input, &target, Some(&mv), &opts).unwrap();
        let mut buf = vec![0.0; x.len()];
        let mut out = TensorViewMut::contiguous("out", &mut buf, &cs.shape).unwrap();
        dice_pointwise_map(&ctx, &input, &target, Some(&mv), &opts, &mut out).unwrap();
        let focal: f64 = buf.iter().sum();
        // finalize's total for none: the values' sum plus lambda times the term's sum
        let values: f64 = fin.values().iter().sum();
        assert_all_close("loss()", &[fin.loss()], &[values + 0.7 * focal], 1e-15, 1e-13);
        values * k as f64 + 0.7 * focal
    };
    let input = TensorView::contiguous("input", &cs.x, &cs.shape).unwrap();
    let target =
        Target::Labels(Labels::I64(TensorView::contiguous("target", &cs.labels, &ls).unwrap()));
    let mv = TensorView::contiguous("loss_mask", &cs.mask, &ls).unwrap();
    let mut g = vec![0.0; cs.x.len()];
    let mut grad = TensorViewMut::contiguous("grad", &mut g, &cs.shape).unwrap();
    let upstream = vec![k as f64; n * (c - 1)];
    dice_loss_grad_masked(&ctx, &input, &target, Some(&mv), &opts, Some(&upstream), &mut grad)
        .unwrap();
    let h = 1e-6;
    for i in 0..cs.x.len() {
        let mut x = cs.x.clone();
        x[i] += h;
        let up = total(&x);
        x[i] -= 2.0 * h;
        let fd = (up - total(&x)) / (2.0 * h);
        assert!((g[i] - fd).abs() <= 2e-6 + 1e-5 * fd.abs(), "grad[{i}] {} vs fd {fd}", g[i]);
    }
}
