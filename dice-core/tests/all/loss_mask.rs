//! nnU-Net's per-voxel loss mask m, (N, 1, spatial...) or (N, spatial...), broadcast over the
//! channels: I = sum m p t, P = sum m p (m p^2), G = sum m t (m t^2); the elementwise terms
//! weight each voxel's loss and its mean weight by m. Checked against the scalar f64 oracle,
//! central finite differences, and the identities a mask must satisfy.

use crate::common::{Rng, assert_all_close};
use dice_core::reference::dice_reference_masked;
use dice_core::*;

/// A random (N, C, spatial) problem: logits, labels, their one-hot encoding, and a mask of
/// real weights in [0, 2) with some exact zeros and ones.
struct Problem {
    shape: Vec<usize>,
    x: Vec<f64>,
    labels: Vec<i64>,
    onehot: Vec<f64>,
    mask: Vec<f64>,
}

fn problem(seed: u64, n: usize, c: usize, spatial: &[usize]) -> Problem {
    let mut r = Rng(seed);
    let shape: Vec<usize> = [vec![n, c], spatial.to_vec()].concat();
    let plane: usize = spatial.iter().product();
    let x = (0..n * c * plane).map(|_| r.uniform(-3.0, 3.0)).collect();
    let classes = if c == 1 { 2 } else { c };
    let labels: Vec<i64> = (0..n * plane).map(|_| r.below(classes) as i64).collect();
    let mut onehot = vec![0.0; n * c * plane];
    for b in 0..n {
        for k in 0..plane {
            let l = labels[b * plane + k] as usize;
            if c == 1 {
                onehot[b * plane + k] = l as f64;
            } else {
                onehot[(b * c + l) * plane + k] = 1.0;
            }
        }
    }
    let mask = (0..n * plane)
        .map(|_| match r.below(4) {
            0 => 0.0,
            1 => 1.0,
            _ => r.uniform(0.0, 2.0),
        })
        .collect();
    Problem { shape, x, labels, onehot, mask }
}

impl Problem {
    fn label_shape(&self) -> Vec<usize> {
        let mut s = self.shape.clone();
        s[1] = 1;
        s
    }

    /// (loss, values, grad) through the engine; `labels` picks the target form.
    fn run(
        &self,
        x: &[f64],
        labels: bool,
        mask: Option<&[f64]>,
        opts: &DiceOptions,
        threads: usize,
    ) -> (f64, Vec<f64>, Vec<f64>) {
        let ctx = Context::new(threads).unwrap();
        let ls = self.label_shape();
        let input = TensorView::contiguous("input", x, &self.shape).unwrap();
        let target = if labels {
            Target::Labels(Labels::I64(
                TensorView::contiguous("target", &self.labels, &ls).unwrap(),
            ))
        } else {
            Target::Dense(TensorView::contiguous("target", &self.onehot, &self.shape).unwrap())
        };
        let mv = mask.map(|m| TensorView::contiguous("loss_mask", m, &ls).unwrap());
        let mut g = vec![0.0; x.len()];
        let mut grad = TensorViewMut::contiguous("grad", &mut g, &self.shape).unwrap();
        let fin = dice_loss_grad_masked(&ctx, &input, &target, mv.as_ref(), opts, None, &mut grad)
            .unwrap_or_else(|e| panic!("{e}: {opts:?}"));
        (fin.loss(), fin.values().to_vec(), g)
    }
}

fn dice_opts() -> Vec<DiceOptions> {
    let mut v = Vec::new();
    for act in [Activation::None, Activation::Sigmoid, Activation::Softmax] {
        for (squared, jaccard, batch, bg) in [
            (false, false, false, true),
            (true, false, true, false),
            (false, true, false, false),
            (true, true, true, true),
        ] {
            v.push(DiceOptions {
                activation: act,
                squared_pred: squared,
                jaccard,
                batch,
                include_background: bg,
                smooth_nr: 0.1,
                smooth_dr: 0.2,
                ..Default::default()
            });
        }
    }
    v
}

#[test]
fn masked_dice_matches_the_oracle() {
    for (seed, c, spatial) in
        [(1u64, 3usize, vec![5usize, 7]), (2, 1, vec![300]), (3, 4, vec![3, 4, 5])]
    {
        let p = problem(seed, 2, c, &spatial);
        let ls = p.label_shape();
        for opts in dice_opts() {
            // input of probabilities when there is no activation
            let x: Vec<f64> = if opts.activation == Activation::None {
                p.x.iter().map(|v| 1.0 / (1.0 + (-v).exp())).collect()
            } else {
                p.x.clone()
            };
            for labels in [false, true] {
                let input = TensorView::contiguous("input", &x, &p.shape).unwrap();
                let target = if labels {
                    Target::Labels(Labels::I64(
                        TensorView::contiguous("target", &p.labels, &ls).unwrap(),
                    ))
                } else {
                    Target::Dense(TensorView::contiguous("target", &p.onehot, &p.shape).unwrap())
                };
                let mv = TensorView::contiguous("loss_mask", &p.mask, &ls).unwrap();
                let want = dice_reference_masked(&input, &target, Some(&mv), &opts);
                for threads in [1, 2] {
                    let (loss, values, grad) = p.run(&x, labels, Some(&p.mask), &opts, threads);
                    let what = format!("labels {labels}, {opts:?}");
                    assert_all_close(
                        &format!("values, {what}"),
                        &values,
                        &want.values,
                        1e-12,
                        1e-12,
                    );
                    assert_all_close(&format!("loss, {what}"), &[loss], &[want.loss], 1e-12, 1e-12);
                    assert_all_close(&format!("grad, {what}"), &grad, &want.grad, 1e-12, 1e-10);
                }
            }
        }
    }
}

#[test]
fn mask_layouts_n_spatial_strided_and_broadcast() {
    // (N, spatial) masks, a strided view and a spatially broadcast (stride 0) view read the
    // same weights as the contiguous (N, 1, spatial) mask; f32 as well
    let p = problem(7, 2, 3, &[4, 6]);
    let opts = DiceOptions { activation: Activation::Softmax, ..Default::default() };
    let ctx = Context::single();
    let ls = p.label_shape();
    let input = TensorView::contiguous("input", &p.x, &p.shape).unwrap();
    let target =
        Target::Labels(Labels::I64(TensorView::contiguous("target", &p.labels, &ls).unwrap()));
    let dense = TensorView::contiguous("loss_mask", &p.mask, &ls).unwrap();
    let want = dice_loss_masked(&ctx, &input, &target, Some(&dense), &opts).unwrap();
    let flat = TensorView::contiguous("loss_mask", &p.mask, &[2, 4, 6]).unwrap();
    assert_eq!(dice_loss_masked(&ctx, &input, &target, Some(&flat), &opts).unwrap(), want);
    let wide: Vec<f64> = p.mask.iter().flat_map(|&m| [m, f64::NAN]).collect(); // NaN never read
    let strided = TensorView::new("loss_mask", &wide, 0, &ls, &[48, 0, 12, 2]).unwrap();
    assert_eq!(dice_loss_masked(&ctx, &input, &target, Some(&strided), &opts).unwrap(), want);
    // one weight per item, broadcast over space
    let per_item = [0.5, 2.0];
    let bcast = TensorView::new("loss_mask", &per_item, 0, &[2, 4, 6], &[1, 0, 0]).unwrap();
    let expanded: Vec<f64> = (0..48).map(|i| per_item[i / 24]).collect();
    let full = TensorView::contiguous("loss_mask", &expanded, &[2, 4, 6]).unwrap();
    assert_eq!(
        dice_loss_masked(&ctx, &input, &target, Some(&bcast), &opts).unwrap(),
        dice_loss_masked(&ctx, &input, &target, Some(&full), &opts).unwrap()
    );
    // f32 against the f64 oracle
    let x32: Vec<f32> = p.x.iter().map(|&v| v as f32).collect();
    let m32: Vec<f32> = p.mask.iter().map(|&v| v as f32).collect();
    let i32v = TensorView::contiguous("input", &x32, &p.shape).unwrap();
    let t32 =
        Target::Labels(Labels::I64(TensorView::contiguous("target", &p.labels, &ls).unwrap()));
    let mv32 = TensorView::contiguous("loss_mask", &m32, &ls).unwrap();
    let got = dice_loss_masked(&ctx, &i32v, &t32, Some(&mv32), &opts).unwrap();
    let oracle = dice_reference_masked(&i32v, &t32, Some(&mv32), &opts);
    assert_all_close("f32 values", got.values(), &oracle.values, 1e-5, 1e-5);
}

/// `a` (with a loss mask) and `b` (without) are bitwise equal. Except: without a mask, a
/// softmax CE or focal term on a label map runs inside the label sweep, which adds the term
/// per column instead of per row; the overlap values then stay bitwise equal, and the term's
/// sum and gradient differ by rounding only.
fn assert_same_sums(
    a: &(f64, Vec<f64>, Vec<f64>),
    b: &(f64, Vec<f64>, Vec<f64>),
    labels: bool,
    opts: &DiceOptions,
) {
    let in_sweep = labels
        && matches!(opts.pointwise.kind, PointwiseKind::SoftmaxCe | PointwiseKind::SoftmaxFocal);
    if in_sweep {
        assert_eq!(a.1, b.1, "values, {opts:?}");
        assert_all_close("loss", &[a.0], &[b.0], 0.0, 1e-14);
        assert_all_close("grad", &a.2, &b.2, 1e-17, 1e-13);
    } else {
        assert_eq!(a, b, "labels {labels}, {opts:?}");
    }
}

#[test]
fn all_ones_mask_is_no_mask_bitwise() {
    // m = 1 multiplies exactly (fma(1, a, b) = a + b, v * 1 = v), so the results are identical
    // where both run the same kernels
    let p = problem(11, 2, 3, &[9, 31]);
    let ones = vec![1.0; p.mask.len()];
    let pw = |kind| Pointwise { kind, ..Default::default() };
    for opts in [
        DiceOptions { activation: Activation::Softmax, squared_pred: true, ..Default::default() },
        DiceOptions {
            activation: Activation::Sigmoid,
            pointwise: pw(PointwiseKind::SigmoidFocal),
            ..Default::default()
        },
        DiceOptions {
            activation: Activation::Softmax,
            pointwise: pw(PointwiseKind::SoftmaxCe),
            ..Default::default()
        },
        DiceOptions {
            activation: Activation::Softmax,
            pointwise: pw(PointwiseKind::SoftmaxFocal),
            ..Default::default()
        },
        DiceOptions {
            activation: Activation::Sigmoid,
            pointwise: pw(PointwiseKind::Bce),
            ignore_index: Some(-1),
            ..Default::default()
        },
    ] {
        for labels in [false, true] {
            let a = p.run(&p.x, labels, Some(&ones), &opts, 2);
            let b = p.run(&p.x, labels, None, &opts, 2);
            assert_same_sums(&a, &b, labels, &opts);
        }
    }
}

#[test]
fn binary_mask_on_labels_is_ignore_index() {
    let p = problem(13, 2, 4, &[7, 9]);
    let binary: Vec<f64> = p.mask.iter().map(|&m| if m == 0.0 { 0.0 } else { 1.0 }).collect();
    let ignored = Problem {
        labels: p
            .labels
            .iter()
            .zip(&binary)
            .map(|(&l, &m)| if m == 0.0 { 255 } else { l })
            .collect(),
        shape: p.shape.clone(),
        x: p.x.clone(),
        onehot: p.onehot.clone(),
        mask: p.mask.clone(),
    };
    let pw = |kind| Pointwise { kind, gamma: 1.5, ..Default::default() };
    for base in [
        DiceOptions { activation: Activation::Softmax, ..Default::default() },
        DiceOptions {
            activation: Activation::Sigmoid,
            squared_pred: true,
            include_background: false,
            ..Default::default()
        },
        DiceOptions {
            activation: Activation::Softmax,
            pointwise: pw(PointwiseKind::SoftmaxCe),
            ..Default::default()
        },
        DiceOptions {
            activation: Activation::Softmax,
            pointwise: pw(PointwiseKind::SoftmaxFocal),
            ..Default::default()
        },
        DiceOptions {
            activation: Activation::Sigmoid,
            pointwise: pw(PointwiseKind::SigmoidFocal),
            ..Default::default()
        },
        DiceOptions {
            activation: Activation::Sigmoid,
            pointwise: pw(PointwiseKind::Bce),
            reduction: Reduction::Sum,
            ..Default::default()
        },
    ] {
        let a = p.run(&p.x, true, Some(&binary), &base, 2);
        let b = ignored.run(
            &p.x,
            true,
            None,
            &DiceOptions { ignore_index: Some(255), ..base.clone() },
            2,
        );
        // the same sums in the same order: a masked voxel adds an exact 0
        assert_same_sums(&a, &b, true, &base);
    }
}

#[test]
fn mask_on_labels_equals_mask_on_one_hot() {
    let p = problem(17, 2, 3, &[6, 11]);
    let pw = |kind| Pointwise { kind, gamma: 2.0, ..Default::default() };
    for base in [
        DiceOptions { activation: Activation::Softmax, ..Default::default() },
        DiceOptions {
            activation: Activation::Sigmoid,
            squared_pred: true,
            batch: true,
            ..Default::default()
        },
        DiceOptions {
            activation: Activation::Softmax,
            overlap: Overlap::Tversky { alpha: 0.3, beta: 0.7 },
            ..Default::default()
        },
        DiceOptions {
            activation: Activation::Softmax,
            pointwise: pw(PointwiseKind::SoftmaxCe),
            ..Default::default()
        },
        DiceOptions {
            activation: Activation::Softmax,
            pointwise: pw(PointwiseKind::SoftmaxFocal),
            ..Default::default()
        },
        DiceOptions {
            activation: Activation::Sigmoid,
            pointwise: pw(PointwiseKind::SigmoidFocal),
            ..Default::default()
        },
        DiceOptions {
            activation: Activation::Sigmoid,
            pointwise: pw(PointwiseKind::Bce),
            ..Default::default()
        },
    ] {
        let a = p.run(&p.x, true, Some(&p.mask), &base, 1);
        let b = p.run(&p.x, false, Some(&p.mask), &base, 1);
        assert_all_close("loss", &[a.0], &[b.0], 0.0, 1e-13);
        assert_all_close("values", &a.1, &b.1, 0.0, 1e-13);
        assert_all_close("grad", &a.2, &b.2, 1e-16, 1e-12);
    }
}

#[test]
fn binary_mask_is_the_loss_of_the_kept_voxels() {
    // keep exactly K voxels per item: the masked loss equals the unmasked loss of the
    // compacted (N, C, K) problem, for the overlap and every elementwise term (its mean is
    // over the kept voxels only)
    let (n, c, plane, keep) = (2, 3, 40, 17);
    let p = problem(19, n, c, &[plane]);
    let mut r = Rng(5);
    let mut mask = vec![0.0; n * plane];
    for b in 0..n {
        let mut idx: Vec<usize> = (0..plane).collect();
        for i in 0..keep {
            let j = i + r.below(plane - i);
            idx.swap(i, j);
            mask[b * plane + idx[i]] = 1.0;
        }
    }
    let kept: Vec<Vec<usize>> =
        (0..n).map(|b| (0..plane).filter(|&k| mask[b * plane + k] == 1.0).collect()).collect();
    let compact = |v: &[f64], ch: usize| -> Vec<f64> {
        (0..n)
            .flat_map(|b| {
                (0..ch)
                    .flat_map(|cc| {
                        kept[b].iter().map(|&k| v[(b * ch + cc) * plane + k]).collect::<Vec<_>>()
                    })
                    .collect::<Vec<_>>()
            })
            .collect()
    };
    let small = Problem {
        shape: vec![n, c, keep],
        x: compact(&p.x, c),
        labels: compact(&p.labels.iter().map(|&l| l as f64).collect::<Vec<_>>(), 1)
            .iter()
            .map(|&l| l as i64)
            .collect(),
        onehot: compact(&p.onehot, c),
        mask: vec![],
    };
    let pw =
        |kind| Pointwise { kind, gamma: 2.0, weight: vec![0.5, 1.0, 2.0], ..Default::default() };
    for base in [
        DiceOptions {
            activation: Activation::Softmax,
            pointwise: pw(PointwiseKind::SoftmaxCe),
            ..Default::default()
        },
        DiceOptions {
            activation: Activation::Softmax,
            pointwise: pw(PointwiseKind::SoftmaxFocal),
            ..Default::default()
        },
        DiceOptions {
            activation: Activation::Sigmoid,
            pointwise: pw(PointwiseKind::SigmoidFocal),
            ..Default::default()
        },
        DiceOptions {
            activation: Activation::Sigmoid,
            pointwise: pw(PointwiseKind::SigmoidFocal),
            reduction: Reduction::Sum,
            ..Default::default()
        },
        DiceOptions {
            activation: Activation::Sigmoid,
            pointwise: pw(PointwiseKind::Bce),
            ..Default::default()
        },
    ] {
        for labels in [false, true] {
            let a = p.run(&p.x, labels, Some(&mask), &base, 2);
            let b = small.run(&small.x, labels, None, &base, 2);
            assert_all_close(&format!("loss {base:?}"), &[a.0], &[b.0], 0.0, 1e-12);
            assert_all_close("values", &a.1, &b.1, 0.0, 1e-12);
            assert_all_close("kept grad", &compact(&a.2, c), &b.2, 1e-15, 1e-10);
            let dropped =
                (0..n * c * plane).filter(|&i| mask[(i / (c * plane)) * plane + i % plane] == 0.0);
            assert!(dropped.clone().all(|i| a.2[i] == 0.0), "a masked-out voxel got a gradient");
        }
    }
}

#[test]
fn masked_gradient_matches_finite_differences() {
    let pws = [
        PointwiseKind::None,
        PointwiseKind::SoftmaxCe,
        PointwiseKind::Bce,
        PointwiseKind::SigmoidFocal,
        PointwiseKind::SoftmaxFocal,
    ];
    let mut r = Rng(23);
    for case in 0..40 {
        let c = 1 + r.below(3);
        let p = problem(100 + case, 2, c, &[3, 4]);
        let kind = pws[case as usize % pws.len()];
        let opts = DiceOptions {
            activation: [Activation::Sigmoid, Activation::Softmax][r.below(2)],
            squared_pred: r.below(2) == 0,
            batch: r.below(2) == 0,
            include_background: kind == PointwiseKind::SoftmaxFocal || r.below(2) == 0,
            smooth_nr: r.uniform(0.0, 0.5),
            smooth_dr: r.uniform(0.01, 0.5),
            reduction: [Reduction::Mean, Reduction::Sum][r.below(2)],
            overlap: [
                Overlap::Dice,
                Overlap::Tversky { alpha: 0.3, beta: 0.6 },
                Overlap::Generalized(GdlWeight::Simple),
            ][r.below(3)],
            pointwise: Pointwise {
                kind,
                gamma: [0.0, 1.0, 2.0, 2.5][r.below(4)],
                label_smoothing: 0.1 * r.below(2) as f64,
                ..Default::default()
            },
            ..Default::default()
        };
        let labels = r.below(2) == 0;
        let (_, _, grad) = p.run(&p.x, labels, Some(&p.mask), &opts, 1);
        let h = 1e-6;
        for i in 0..p.x.len() {
            let mut x = p.x.clone();
            x[i] += h;
            let up = p.run(&x, labels, Some(&p.mask), &opts, 1).0;
            x[i] -= 2.0 * h;
            let down = p.run(&x, labels, Some(&p.mask), &opts, 1).0;
            let fd = (up - down) / (2.0 * h);
            assert!(
                (grad[i] - fd).abs() <= 2e-6 + 1e-4 * fd.abs(),
                "grad[{i}]: analytic {}, fd {fd}, labels {labels}, {opts:?}",
                grad[i]
            );
        }
    }
}

#[test]
fn three_steps_with_a_mask() {
    // stats -> finalize -> backward with the mask equals the one-call forward/backward
    let p = problem(29, 2, 3, &[5, 5]);
    let opts = DiceOptions {
        activation: Activation::Softmax,
        batch: true,
        pointwise: Pointwise { kind: PointwiseKind::SoftmaxCe, ..Default::default() },
        ..Default::default()
    };
    let ctx = Context::single();
    let ls = p.label_shape();
    let input = TensorView::contiguous("input", &p.x, &p.shape).unwrap();
    let target =
        Target::Labels(Labels::I64(TensorView::contiguous("target", &p.labels, &ls).unwrap()));
    let mv = TensorView::contiguous("loss_mask", &p.mask, &ls).unwrap();
    let stats = dice_stats_masked(&ctx, &input, &target, Some(&mv), &opts).unwrap();
    let fin = dice_finalize(&stats, &opts).unwrap();
    let mut g = vec![0.0; p.x.len()];
    let mut grad = TensorViewMut::contiguous("grad", &mut g, &p.shape).unwrap();
    dice_backward_masked(
        &ctx,
        &input,
        &target,
        Some(&mv),
        &opts,
        &fin.coefficients(None).unwrap(),
        &mut grad,
    )
    .unwrap();
    let (loss, _, want) = p.run(&p.x, true, Some(&p.mask), &opts, 1);
    assert_eq!(fin.loss(), loss);
    assert_eq!(g, want);
}
