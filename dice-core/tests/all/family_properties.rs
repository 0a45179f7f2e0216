//! The loss family on random problems: central finite differences of the gradient for every
//! overlap index, loss form, convention and elementwise term; and the identities between
//! members of the family that must hold exactly.

use crate::common::{Case, Rng, problem};
use dice_core::*;
use proptest::prelude::*;

/// Random options over the whole family, away from the kinks of clamps (which FD cannot see).
fn family_options(r: &mut Rng, c: usize) -> DiceOptions {
    let mut o = DiceOptions {
        activation: [Activation::Sigmoid, Activation::Softmax][r.below(2)],
        include_background: r.below(3) != 0,
        batch: r.below(2) == 0,
        smooth_nr: r.uniform(0.0, 0.5),
        smooth_dr: r.uniform(0.01, 0.5),
        reduction: [Reduction::Mean, Reduction::Sum][r.below(2)],
        ..Default::default()
    };
    let kept = c - o.first_class(c);
    o.overlap = match r.below(3) {
        0 => Overlap::Dice,
        1 => Overlap::Tversky { alpha: r.uniform(0.0, 1.0), beta: r.uniform(0.0, 1.0) },
        _ => Overlap::Generalized(
            [GdlWeight::Square, GdlWeight::Simple, GdlWeight::Uniform][r.below(3)],
        ),
    };
    let gdl = matches!(o.overlap, Overlap::Generalized(_));
    o.jaccard = !matches!(o.overlap, Overlap::Tversky { .. }) && r.below(3) == 0;
    o.form = [
        LossForm::OneMinus,
        LossForm::NegLog { eps: 1e-12 },
        LossForm::LogCosh,
        LossForm::Negative,
    ][r.below(4)];
    if o.form == LossForm::OneMinus && r.below(2) == 0 {
        o.gamma = [1.5, 2.0, 3.0][r.below(3)];
        o.gamma_on_mean = r.below(2) == 0;
    }
    o.zero_absent = r.below(4) == 0;
    if !gdl {
        o.pool_classes = r.below(4) == 0;
        if r.below(2) == 0 {
            o.weight = (0..kept).map(|_| r.uniform(0.2, 2.0)).collect();
            o.weight_mode = if o.pool_classes {
                WeightMode::InSums
            } else {
                [WeightMode::AfterRatio, WeightMode::WeightedMean, WeightMode::InSums][r.below(3)]
            };
        }
        if !o.pool_classes && kept > 1 && r.below(3) == 0 && !o.gamma_on_mean {
            o.classes = vec![r.below(kept)];
        }
    }
    o.lambda_overlap = [1.0, 0.7][r.below(2)];
    o.pointwise.kind = match r.below(5) {
        0 => PointwiseKind::None,
        1 => PointwiseKind::SoftmaxCe,
        2 => PointwiseKind::Bce,
        3 => PointwiseKind::SigmoidFocal,
        _ => PointwiseKind::SoftmaxFocal,
    };
    let pw = &mut o.pointwise;
    pw.lambda = r.uniform(0.2, 1.5);
    let covered = match pw.kind {
        PointwiseKind::SigmoidFocal | PointwiseKind::SoftmaxFocal => kept,
        _ => c,
    };
    if r.below(2) == 0 {
        pw.weight = (0..covered).map(|_| r.uniform(0.2, 2.0)).collect();
    }
    if pw.kind == PointwiseKind::SoftmaxCe {
        pw.label_smoothing = [0.0, 0.1][r.below(2)];
    }
    if matches!(pw.kind, PointwiseKind::SigmoidFocal | PointwiseKind::SoftmaxFocal) {
        pw.gamma = [0.0, 1.0, 2.0, 2.5][r.below(4)];
        pw.alpha = match r.below(3) {
            0 => FocalAlpha::None,
            1 => FocalAlpha::Scalar(r.uniform(0.1, 0.9)),
            _ => FocalAlpha::PerClass((0..covered).map(|_| r.uniform(0.1, 0.9)).collect()),
        };
    }
    o
}

fn arb_case() -> impl Strategy<Value = Case> {
    (
        any::<u64>(),
        1usize..=2,
        1usize..=4,
        prop::collection::vec(1usize..=5, 1..=3),
        any::<bool>(),
        any::<bool>(),
    )
        .prop_filter("size", |(_, n, c, s, ..)| n * c * s.iter().product::<usize>() <= 120)
        .prop_map(|(seed, n, c, spatial, labels, soft)| {
            let mut r = Rng(seed);
            let soft = soft && !labels;
            let (shape, x, dense, lab) = problem(&mut r, n, c, &spatial, (-3.0, 3.0), soft, false);
            let labels = labels.then_some(lab);
            let mut opts = family_options(&mut r, c);
            opts.frames = shape.len() >= 4 && !opts.batch && r.below(2) == 0;
            if shape.len() >= 4 && r.below(2) == 0 {
                opts.temporal = r.uniform(0.1, 2.0);
            }
            Case { shape, x, dense, labels, opts }
        })
}

fn run(case: &Case, x: &[f64]) -> (f64, Vec<f64>) {
    let ctx = Context::single();
    let input = TensorView::contiguous("input", x, &case.shape).unwrap();
    let target = case.target(&case.dense);
    let mut g = vec![0.0; x.len()];
    let mut grad = TensorViewMut::contiguous("grad", &mut g, &case.shape).unwrap();
    let fin = dice_loss_grad(&ctx, &input, &target, &case.opts, None, &mut grad)
        .unwrap_or_else(|e| panic!("{e}: {:?}", case.opts));
    (fin.loss(), g)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    /// d(loss)/d(input) against central differences of the f64 loss, for every member.
    #[test]
    fn family_gradient_matches_finite_differences(case in arb_case()) {
        let (loss, grad) = run(&case, &case.x);
        prop_assume!(loss.is_finite());
        let h = 1e-6;
        for i in 0..case.x.len() {
            let mut x = case.x.clone();
            x[i] += h;
            let up = run(&case, &x).0;
            x[i] -= 2.0 * h;
            let down = run(&case, &x).0;
            let fd = (up - down) / (2.0 * h);
            prop_assert!((grad[i] - fd).abs() <= 2e-6 + 1e-4 * fd.abs(),
                "grad[{}]: analytic {}, fd {}, options {:?}", i, grad[i], fd, case.opts);
        }
    }
}

/// One fixed random problem for the identities.
fn fixed(labels: bool, c: usize) -> Case {
    let mut r = Rng(42 + c as u64);
    let (shape, x, dense, lab) = problem(&mut r, 2, c, &[5, 7], (-3.0, 3.0), false, false);
    Case {
        shape,
        x,
        dense,
        labels: labels.then_some(lab),
        opts: DiceOptions { activation: Activation::Softmax, ..Default::default() },
    }
}

fn with(case: &Case, opts: DiceOptions) -> (f64, Vec<f64>) {
    run(&Case { opts, ..case.clone() }, &case.x)
}

fn assert_same(a: &(f64, Vec<f64>), b: &(f64, Vec<f64>), rtol: f64) {
    assert!((a.0 - b.0).abs() <= rtol * b.0.abs().max(1e-300), "loss {} vs {}", a.0, b.0);
    for (i, (x, y)) in a.1.iter().zip(&b.1).enumerate() {
        assert!((x - y).abs() <= rtol * y.abs() + 1e-16, "grad[{i}] {x} vs {y}");
    }
}

#[test]
fn tversky_half_half_is_dice() {
    // (I + s) / (I + (P - I)/2 + (G - I)/2 + s) = (2I + 2s) / (P + G + 2s)
    let case = fixed(true, 3);
    let s = 0.3;
    let t = DiceOptions {
        overlap: Overlap::Tversky { alpha: 0.5, beta: 0.5 },
        smooth_nr: s,
        smooth_dr: s,
        ..case.opts.clone()
    };
    let d = DiceOptions { smooth_nr: 2.0 * s, smooth_dr: 2.0 * s, ..case.opts.clone() };
    assert_same(&with(&case, t), &with(&case, d), 1e-13);
}

#[test]
fn generalized_dice_uniform_one_class_is_dice() {
    let case = fixed(false, 1);
    let opts = DiceOptions {
        activation: Activation::Sigmoid,
        smooth_nr: 0.1,
        smooth_dr: 0.2,
        ..Default::default()
    };
    let g = DiceOptions { overlap: Overlap::Generalized(GdlWeight::Uniform), ..opts.clone() };
    assert_same(&with(&case, g), &with(&case, opts.clone()), 1e-13);
    // and with the GDL weights, which cancel with one class
    let g2 = DiceOptions {
        overlap: Overlap::Generalized(GdlWeight::Square),
        smooth_nr: 0.0,
        smooth_dr: 0.0,
        ..opts.clone()
    };
    let d2 = DiceOptions { smooth_nr: 0.0, smooth_dr: 0.0, ..opts };
    assert_same(&with(&case, g2), &with(&case, d2), 1e-12);
}

#[test]
fn focal_gamma_zero_is_cross_entropy() {
    let only = |kind, gamma| DiceOptions {
        lambda_overlap: 0.0,
        pointwise: Pointwise { kind, gamma, ..Default::default() },
        ..Default::default()
    };
    // sigmoid focal with gamma 0 and no alpha is BCE, element for element (dense targets)
    let case = fixed(false, 3);
    assert_same(
        &with(&case, only(PointwiseKind::SigmoidFocal, 0.0)),
        &with(&case, only(PointwiseKind::Bce, 2.0)),
        1e-13,
    );
    // softmax focal with gamma 0 is CE; MONAI's focal mean runs over N C S elements, CE's over N S voxels
    let case = fixed(true, 3);
    let (fl, fg) = with(&case, only(PointwiseKind::SoftmaxFocal, 0.0));
    let ce = with(&case, only(PointwiseKind::SoftmaxCe, 2.0));
    assert_same(&(3.0 * fl, fg.iter().map(|v| 3.0 * v).collect()), &ce, 1e-13);
}

#[test]
fn hard_jaccard_is_dice_over_two_minus_dice() {
    // binary predictions (probabilities 0/1) and no smoothing: J = D / (2 - D) per entry
    let case = fixed(true, 3);
    let hard: Vec<f64> = case.x.iter().map(|&v| if v > 0.0 { 1.0 } else { 0.0 }).collect();
    let ctx = Context::single();
    let input = TensorView::contiguous("input", &hard, &case.shape).unwrap();
    let mut ls = case.shape.clone();
    ls[1] = 1;
    let labels = case.labels.clone().unwrap();
    let target =
        Target::Labels(Labels::I64(TensorView::contiguous("target", &labels, &ls).unwrap()));
    let base = DiceOptions {
        smooth_nr: 0.0,
        smooth_dr: 0.0,
        reduction: Reduction::None,
        ..Default::default()
    };
    let d = dice_loss(&ctx, &input, &target, &base).unwrap();
    let j = dice_loss(&ctx, &input, &target, &DiceOptions { jaccard: true, ..base }).unwrap();
    for (dl, jl) in d.values().iter().zip(j.values()) {
        let (dd, jj) = (1.0 - dl, 1.0 - jl);
        assert!((jj - dd / (2.0 - dd)).abs() < 1e-15, "J {jj} vs D/(2-D) {}", dd / (2.0 - dd));
    }
}

#[test]
fn per_frame_stats_sum_to_per_sample_stats() {
    // (N, C, T, H, W) = (2, 3, 4, 5, 6), channels-last storage to exercise the row strides
    let (n, c, t, h, w) = (2usize, 3usize, 4usize, 5usize, 6usize);
    let mut r = Rng(7);
    let shape = [n, c, t, h, w];
    let numel = n * c * t * h * w;
    let store: Vec<f64> = (0..numel).map(|_| r.uniform(-2.0, 2.0)).collect(); // (N, T, H, W, C)
    let strides = [(t * h * w * c) as isize, 1, (h * w * c) as isize, (w * c) as isize, c as isize];
    let input = TensorView::new("input", &store, 0, &shape, &strides).unwrap();
    let labels: Vec<u8> = (0..n * t * h * w).map(|_| r.below(c) as u8).collect();
    let target = Target::Labels(Labels::U8(
        TensorView::contiguous("target", &labels, &[n, t, h, w]).unwrap(),
    ));
    let ctx = Context::new(2).unwrap();
    let opts = DiceOptions { activation: Activation::Softmax, ..Default::default() };
    let framed = DiceOptions { frames: true, ..opts.clone() };
    let per_sample = dice_stats(&ctx, &input, &target, &opts).unwrap();
    let per_frame = dice_stats(&ctx, &input, &target, &framed).unwrap();
    assert_eq!((per_frame.rows(), per_frame.classes()), (n * t, c));
    for b in 0..n {
        for k in 0..c {
            let whole = per_sample.get(b, k);
            let (mut i, mut p, mut g) = (0.0, 0.0, 0.0);
            for f in 0..t {
                let s = per_frame.get(b * t + f, k);
                (i, p, g) = (i + s.intersection, p + s.pred, g + s.target);
            }
            for (x, y) in [(i, whole.intersection), (p, whole.pred), (g, whole.target)] {
                assert!(
                    (x - y).abs() <= 1e-12 * y.abs().max(1.0),
                    "item {b} class {k}: {x} vs {y}"
                );
            }
        }
    }
    // each frame's values equal the loss of that frame alone (a (N, C, H, W) slice)
    let fin = dice_finalize(&per_frame, &framed).unwrap();
    assert_eq!(fin.values().len(), n * t * c);
    let lab_frame =
        |b: usize, f: usize| labels[(b * t + f) * h * w..(b * t + f + 1) * h * w].to_vec();
    for f in 0..t {
        let slice = TensorView::new(
            "input",
            &store,
            f * h * w * c,
            &[n, c, h, w],
            &[strides[0], 1, strides[3], strides[4]],
        )
        .unwrap();
        let lab: Vec<u8> = (0..n).flat_map(|b| lab_frame(b, f)).collect();
        let tgt =
            Target::Labels(Labels::U8(TensorView::contiguous("target", &lab, &[n, h, w]).unwrap()));
        let one = dice_loss(
            &ctx,
            &slice,
            &tgt,
            &DiceOptions { reduction: Reduction::None, ..opts.clone() },
        )
        .unwrap();
        for b in 0..n {
            for k in 0..c {
                let (x, y) = (fin.values()[(b * t + f) * c + k], one.values()[b * c + k]);
                assert!((x - y).abs() < 1e-12, "frame {f} item {b} class {k}: {x} vs {y}");
            }
        }
    }
}

#[test]
fn temporal_term_by_its_definition() {
    // (N, C, T, H, W) = (2, 3, 4, 3, 5), sigmoid, background excluded: lambda mean over kept
    // channels, positions and consecutive frames of (p_t - p_(t-1))^2
    let (n, c, t, h, w) = (2usize, 3usize, 4usize, 3usize, 5usize);
    let mut r = Rng(11);
    let shape = [n, c, t, h, w];
    let x: Vec<f64> = (0..n * c * t * h * w).map(|_| r.uniform(-2.0, 2.0)).collect();
    let dense: Vec<f64> = (0..x.len()).map(|_| r.below(2) as f64).collect();
    let input = TensorView::contiguous("input", &x, &shape).unwrap();
    let target = Target::Dense(TensorView::contiguous("target", &dense, &shape).unwrap());
    let lambda = 0.7;
    let opts = DiceOptions {
        activation: Activation::Sigmoid,
        include_background: false,
        temporal: lambda,
        ..Default::default()
    };
    let ctx = Context::new(2).unwrap();
    let fin = dice_loss(&ctx, &input, &target, &opts).unwrap();
    let plain =
        dice_loss(&ctx, &input, &target, &DiceOptions { temporal: 0.0, ..opts.clone() }).unwrap();
    let p = |b: usize, ch: usize, f: usize, k: usize| {
        1.0 / (1.0 + (-x[((b * c + ch) * t + f) * h * w + k]).exp())
    };
    let (mut sum, mut m) = (0.0, 0.0);
    for b in 0..n {
        for ch in 1..c {
            for f in 1..t {
                for k in 0..h * w {
                    sum += (p(b, ch, f, k) - p(b, ch, f - 1, k)).powi(2);
                    m += 1.0;
                }
            }
        }
    }
    let want = lambda * sum / m;
    assert!((fin.temporal_loss() - want).abs() < 1e-13, "{} vs {want}", fin.temporal_loss());
    assert!((fin.loss() - plain.loss() - want).abs() < 1e-13);
    // the overlap part is unchanged: per-frame rows merged back over T (summed in another
    // order, hence the last bit)
    for (a, b) in fin.values().iter().zip(plain.values()) {
        assert!((a - b).abs() <= 1e-15, "{a} vs {b}");
    }
}

#[test]
fn elementwise_terms_labels_equal_one_hot() {
    // the label path (hard targets, shared e^-|x|, softmax lse reuse) against the dense path
    for kind in [
        PointwiseKind::SoftmaxCe,
        PointwiseKind::Bce,
        PointwiseKind::SigmoidFocal,
        PointwiseKind::SoftmaxFocal,
    ] {
        for gamma in [0.0, 1.0, 2.0, 2.5] {
            for act in [Activation::Sigmoid, Activation::Softmax] {
                let case = fixed(true, 3);
                let opts = DiceOptions {
                    activation: act,
                    pointwise: Pointwise {
                        kind,
                        gamma,
                        alpha: FocalAlpha::Scalar(0.3),
                        ..Default::default()
                    },
                    ..Default::default()
                };
                let opts =
                    if matches!(kind, PointwiseKind::SigmoidFocal | PointwiseKind::SoftmaxFocal) {
                        opts
                    } else {
                        DiceOptions {
                            pointwise: Pointwise {
                                alpha: FocalAlpha::None,
                                ..opts.pointwise.clone()
                            },
                            ..opts
                        }
                    };
                let a = with(&case, opts.clone());
                let b = with(&Case { labels: None, ..case.clone() }, opts);
                assert_same(&a, &b, 1e-13);
            }
        }
    }
}
