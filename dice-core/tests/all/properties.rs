//! Properties checked on random shapes and options (proptest), against references that do not
//! share the engine's assumptions: central finite differences, the scalar f64 oracle, and the
//! same data presented in other layouts, splits and thread counts.

use crate::common::{Case, IGNORED, Rng, problem};
use dice_core::reference::dice_reference;
use dice_core::*;
use proptest::prelude::*;

fn build(
    seed: u64,
    n: usize,
    c: usize,
    spatial: Vec<usize>,
    act: u8,
    use_labels: bool,
    flags: u8,
    reduction: u8,
) -> Case {
    let mut r = Rng(seed);
    let activation = [Activation::None, Activation::Sigmoid, Activation::Softmax][act as usize];
    let x_range = if activation == Activation::None { (0.02, 0.98) } else { (-3.0, 3.0) };
    let ignore = flags & 64 != 0;
    let soft = flags & 16 != 0 && !use_labels;
    let (shape, x, dense, lab) = problem(&mut r, n, c, &spatial, x_range, soft, ignore);
    let kept = c - usize::from(flags & 1 != 0 && c > 1);
    let opts = DiceOptions {
        activation,
        include_background: flags & 1 == 0,
        squared_pred: flags & 2 != 0,
        jaccard: flags & 4 != 0,
        batch: flags & 8 != 0,
        soft_label: soft,
        smooth_nr: if flags & 32 != 0 { 0.5 } else { 1e-5 },
        smooth_dr: if flags & 32 != 0 { 0.7 } else { 1e-5 },
        weight: if flags & 128 != 0 {
            (0..kept).map(|_| r.uniform(0.1, 2.0)).collect()
        } else {
            vec![]
        },
        reduction: [Reduction::Mean, Reduction::Sum, Reduction::None][reduction as usize],
        ignore_index: if ignore { Some(IGNORED) } else { None },
        ..Default::default()
    };
    Case { shape, x, dense, labels: use_labels.then_some(lab), opts }
}

fn arb_case(max_numel: usize) -> impl Strategy<Value = Case> {
    (
        any::<u64>(),
        1usize..=2,
        1usize..=4,
        prop::collection::vec(1usize..=6, 1..=4),
        0u8..3,
        any::<bool>(),
        any::<u8>(),
        0u8..3,
    )
        .prop_filter("size", move |(_, n, c, s, ..)| {
            n * c * s.iter().product::<usize>() <= max_numel
        })
        .prop_map(|(seed, n, c, s, act, lab, flags, red)| {
            build(seed, n, c, s, act, lab, flags, red)
        })
}

struct Out {
    values: Vec<f64>,
    loss: f64,
    grad: Vec<f64>,
}

/// Runs the engine on contiguous copies of the case in precision T.
fn run<T: Float>(ctx: &Context, case: &Case) -> Result<Out> {
    let x: Vec<T> = case.x.iter().map(|&v| T::from_f64(v)).collect();
    let t: Vec<T> = case.dense.iter().map(|&v| T::from_f64(v)).collect();
    let input = TensorView::contiguous("input", &x, &case.shape)?;
    let target = case.target(&t);
    let mut g = vec![T::default(); x.len()];
    let mut grad = TensorViewMut::contiguous("grad", &mut g, &case.shape)?;
    let fin = dice_loss_grad(ctx, &input, &target, &case.opts, None, &mut grad)?;
    Ok(Out {
        values: fin.values().to_vec(),
        loss: fin.loss(),
        grad: g.iter().map(|v| v.to_f64()).collect(),
    })
}

fn oracle(case: &Case) -> reference::Reference {
    let input = TensorView::contiguous("input", &case.x, &case.shape).unwrap();
    dice_reference(&input, &case.target(&case.dense), &case.opts)
}

fn close(a: f64, e: f64, atol: f64, rtol: f64) -> bool {
    (a.is_nan() && e.is_nan()) || (a - e).abs() <= atol + rtol * e.abs()
}

fn assert_close(
    what: &str,
    got: &[f64],
    want: &[f64],
    atol: f64,
    rtol: f64,
) -> std::result::Result<(), TestCaseError> {
    prop_assert_eq!(got.len(), want.len());
    for (i, (&a, &e)) in got.iter().zip(want).enumerate() {
        prop_assert!(close(a, e, atol, rtol), "{}[{}]: got {}, want {}", what, i, a, e);
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, ..ProptestConfig::default() })]

    /// Analytic gradient (engine and oracle) against central differences of the f64 loss.
    #[test]
    fn gradient_matches_finite_differences(case in arb_case(200)) {
        let ctx = Context::single();
        let out = run::<f64>(&ctx, &case).unwrap();
        let h = 1e-6;
        for i in 0..case.numel() {
            let mut c2 = case.clone();
            c2.x[i] += h;
            let up = run::<f64>(&ctx, &c2).unwrap().loss;
            c2.x[i] -= 2.0 * h;
            let down = run::<f64>(&ctx, &c2).unwrap().loss;
            let fd = (up - down) / (2.0 * h);
            prop_assert!(close(out.grad[i], fd, 1e-6, 1e-4), "grad[{}]: analytic {}, fd {}, case {:?}", i, out.grad[i], fd, case.opts);
        }
    }

    /// The engine (every available backend, f64 and f32) against the scalar f64 oracle.
    #[test]
    fn engine_matches_oracle_on_every_backend(case in arb_case(600)) {
        let want = oracle(&case);
        for b in Backend::available() {
            let mut ctx = Context::single();
            ctx.lower_backend(b);
            let got = run::<f64>(&ctx, &case).unwrap();
            assert_close(&format!("{} f64 values", b.name()), &got.values, &want.values, 1e-12, 1e-10)?;
            assert_close(&format!("{} f64 grad", b.name()), &got.grad, &want.grad, 1e-12, 1e-9)?;
            let got = run::<f32>(&ctx, &case).unwrap();
            assert_close(&format!("{} f32 values", b.name()), &got.values, &want.values, 1e-5, 1e-4)?;
            let gmax = want.grad.iter().fold(0.0f64, |m, v| m.max(v.abs()));
            assert_close(&format!("{} f32 grad", b.name()), &got.grad, &want.grad, 1e-5 * gmax, 1e-3)?;
        }
    }

    /// A label map and the equivalent one-hot dense target give the same loss and gradient.
    #[test]
    fn labels_equal_one_hot(case in arb_case(600)) {
        prop_assume!(case.labels.is_some() && !case.opts.soft_label);
        // A one-channel dense target cannot tell "ignored" from background (both are 0).
        prop_assume!(!(case.shape[1] == 1 && case.opts.ignore_index.is_some()));
        let ctx = Context::single();
        let a = run::<f64>(&ctx, &case).unwrap();
        let mut dense_case = case.clone();
        dense_case.labels = None;
        let b = run::<f64>(&ctx, &dense_case).unwrap();
        assert_close("values", &a.values, &b.values, 0.0, 1e-14)?;
        assert_close("grad", &a.grad, &b.grad, 1e-18, 1e-13)?;
    }
}

/// Applies `perm` (new axis k = old axis perm[k]) to a C-contiguous buffer; returns the
/// permuted C-contiguous buffer, and strides that view it back in the original axis order.
fn permute(data: &[f64], shape: &[usize], perm: &[usize]) -> (Vec<f64>, Vec<isize>) {
    let new_shape: Vec<usize> = perm.iter().map(|&p| shape[p]).collect();
    let mut new_strides = vec![0isize; shape.len()];
    let mut acc = 1isize;
    for k in (0..shape.len()).rev() {
        new_strides[k] = acc;
        acc *= new_shape[k] as isize;
    }
    let mut view_strides = vec![0isize; shape.len()];
    for (k, &p) in perm.iter().enumerate() {
        view_strides[p] = new_strides[k];
    }
    let old = TensorView::contiguous("x", data, shape).unwrap();
    let mut out = vec![0.0; data.len()];
    let numel = data.len();
    for flat in 0..numel {
        let mut idx = vec![0usize; shape.len()];
        let mut r = flat;
        for d in (0..shape.len()).rev() {
            idx[d] = r % shape[d];
            r /= shape[d];
        }
        let off: isize = idx.iter().zip(&view_strides).map(|(&i, &s)| i as isize * s).sum();
        out[off as usize] = *old.get(&idx);
    }
    (out, view_strides)
}

/// The multi-index of C-order position `flat` in `shape`.
fn unflatten(mut flat: usize, shape: &[usize]) -> Vec<usize> {
    let mut idx = vec![0usize; shape.len()];
    for d in (0..shape.len()).rev() {
        idx[d] = flat % shape[d];
        flat /= shape[d];
    }
    idx
}

#[test]
fn layout_invariance() {
    let case = build(7, 2, 3, vec![5, 4, 6], 2, true, 1 | 8, 2);
    let ctx = Context::single();
    let want = run::<f64>(&ctx, &case).unwrap();
    let check = |got: &Out, grad: Vec<f64>| {
        for (a, e) in got.values.iter().zip(&want.values) {
            assert!(close(*a, *e, 1e-14, 1e-12), "values {a} vs {e}");
        }
        for (a, e) in grad.iter().zip(&want.grad) {
            assert!(close(*a, *e, 1e-16, 1e-11), "grad {a} vs {e}");
        }
    };
    let labels = case.labels.clone().unwrap();
    let ls = case.label_shape();
    // Channels-last input and gradient (N, spatial..., C in memory).
    for perm in [vec![0, 2, 3, 4, 1], vec![4, 3, 2, 1, 0], vec![1, 0, 3, 2, 4]] {
        let (xp, strides) = permute(&case.x, &case.shape, &perm);
        let input = TensorView::new("input", &xp, 0, &case.shape, &strides).unwrap();
        let target =
            Target::Labels(Labels::I64(TensorView::contiguous("t", &labels, &ls).unwrap()));
        let mut g = vec![0.0; xp.len()];
        let mut grad = TensorViewMut::new("grad", &mut g, 0, &case.shape, &strides).unwrap();
        let fin = dice_loss_grad(&ctx, &input, &target, &case.opts, None, &mut grad).unwrap();
        // read the gradient back in logical order
        let gv = TensorView::new("g", &g, 0, &case.shape, &strides).unwrap();
        let mut logical = Vec::new();
        for flat in 0..case.numel() {
            let mut idx = vec![0usize; 5];
            let mut r = flat;
            for d in (0..5).rev() {
                idx[d] = r % case.shape[d];
                r /= case.shape[d];
            }
            logical.push(*gv.get(&idx));
        }
        check(&Out { values: fin.values().to_vec(), loss: fin.loss(), grad: vec![] }, logical);
    }
    // Sliced with steps: every element at stride 2 inside a larger buffer, and the last
    // spatial axis reversed (negative stride), gradient written with the same layout.
    let mut big = vec![f64::NAN; case.numel() * 2];
    let cs: Vec<isize> = {
        let mut s = vec![0isize; 5];
        let mut acc = 2isize;
        for d in (0..5).rev() {
            s[d] = acc;
            acc *= case.shape[d] as isize;
        }
        s
    };
    let mut strides = cs.clone();
    strides[4] = -cs[4];
    let base = ((case.shape[4] - 1) as isize * cs[4]) as usize;
    let src = TensorView::contiguous("x", &case.x, &case.shape).unwrap();
    for flat in 0..case.numel() {
        let idx = unflatten(flat, &case.shape);
        let off =
            base as isize + idx.iter().zip(&strides).map(|(&i, &s)| i as isize * s).sum::<isize>();
        big[off as usize] = *src.get(&idx);
    }
    let input = TensorView::new("input", &big, base, &case.shape, &strides).unwrap();
    let target = Target::Labels(Labels::I64(TensorView::contiguous("t", &labels, &ls).unwrap()));
    let mut g = vec![0.0; big.len()];
    let mut grad = TensorViewMut::new("grad", &mut g, base, &case.shape, &strides).unwrap();
    let fin = dice_loss_grad(&ctx, &input, &target, &case.opts, None, &mut grad).unwrap();
    let gv = TensorView::new("g", &g, base, &case.shape, &strides).unwrap();
    let mut logical = Vec::new();
    for flat in 0..case.numel() {
        let idx = unflatten(flat, &case.shape);
        logical.push(*gv.get(&idx));
    }
    check(&Out { values: fin.values().to_vec(), loss: fin.loss(), grad: vec![] }, logical);
}

#[test]
fn broadcast_target_equals_materialised() {
    // A dense target with stride 0 along N (one mask shared by the batch).
    let case = build(11, 3, 2, vec![7, 9], 1, false, 0, 2);
    let plane = 7 * 9;
    let one: Vec<f64> = case.dense[..2 * plane].to_vec();
    let mut materialised = case.clone();
    materialised.dense = (0..3).flat_map(|_| one.clone()).collect();
    let ctx = Context::single();
    let want = run::<f64>(&ctx, &materialised).unwrap();
    let input = TensorView::contiguous("input", &case.x, &case.shape).unwrap();
    let target = Target::Dense(
        TensorView::new("t", &one, 0, &case.shape, &[0, plane as isize, 9, 1]).unwrap(),
    );
    let mut g = vec![0.0; case.numel()];
    let mut grad = TensorViewMut::contiguous("grad", &mut g, &case.shape).unwrap();
    let fin = dice_loss_grad(&ctx, &input, &target, &case.opts, None, &mut grad).unwrap();
    assert_eq!(fin.values(), want.values.as_slice());
    assert_eq!(g, want.grad);
}

fn stats_of(
    ctx: &Context,
    x: &[f64],
    shape: &[usize],
    labels: &[i64],
    opts: &DiceOptions,
) -> Stats {
    let mut ls = shape.to_vec();
    ls[1] = 1;
    let input = TensorView::contiguous("input", x, shape).unwrap();
    let target = Target::Labels(Labels::I64(TensorView::contiguous("t", labels, &ls).unwrap()));
    dice_stats(ctx, &input, &target, opts).unwrap()
}

#[test]
fn stats_merge_equals_whole() {
    let case = build(3, 4, 3, vec![10, 6, 5], 2, true, 0, 0);
    let (n, c, d, h, w) = (4, 3, 10, 6, 5);
    let labels = case.labels.clone().unwrap();
    let ctx = Context::single();
    let whole = stats_of(&ctx, &case.x, &case.shape, &labels, &case.opts);
    // Split along N: concatenated rows are identical, bit for bit.
    let (xa, xb) = case.x.split_at(2 * c * d * h * w);
    let (la, lb) = labels.split_at(2 * d * h * w);
    let mut merged = stats_of(&ctx, xa, &[2, c, d, h, w], la, &case.opts);
    merged.concat_rows(&stats_of(&ctx, xb, &[2, c, d, h, w], lb, &case.opts)).unwrap();
    assert_eq!(merged, whole);
    let mut pooled = stats_of(&ctx, xa, &[2, c, d, h, w], la, &case.opts).pooled();
    pooled.add(&stats_of(&ctx, xb, &[2, c, d, h, w], lb, &case.opts).pooled()).unwrap();
    for (a, e) in pooled.entries().iter().zip(whole.pooled().entries()) {
        assert!(
            close(a.intersection, e.intersection, 0.0, 1e-14)
                && close(a.pred, e.pred, 0.0, 1e-14)
                && close(a.target, e.target, 0.0, 1e-14)
        );
    }
    // Split along the first spatial axis: the two halves' stats add up to the whole.
    let split = 4;
    let mut parts = Vec::new();
    for (lo, hi) in [(0, split), (split, d)] {
        let dd = hi - lo;
        let mut x = Vec::new();
        let mut l = Vec::new();
        for b in 0..n {
            for ch in 0..c {
                x.extend_from_slice(
                    &case.x[((b * c + ch) * d + lo) * h * w..((b * c + ch) * d + hi) * h * w],
                );
            }
            l.extend_from_slice(&labels[(b * d + lo) * h * w..(b * d + hi) * h * w]);
        }
        parts.push(stats_of(&ctx, &x, &[n, c, dd, h, w], &l, &case.opts));
    }
    let mut sum = parts[0].clone();
    sum.add(&parts[1]).unwrap();
    for (a, e) in sum.entries().iter().zip(whole.entries()) {
        assert!(close(a.intersection, e.intersection, 0.0, 1e-13), "{a:?} vs {e:?}");
        assert!(close(a.pred, e.pred, 0.0, 1e-13) && close(a.target, e.target, 0.0, 1e-13));
    }
    // And finalizing merged stats gives the loss of the whole.
    let f_whole = dice_finalize(&whole, &case.opts).unwrap().loss();
    let f_sum = dice_finalize(&sum, &case.opts).unwrap().loss();
    assert!(close(f_sum, f_whole, 0.0, 1e-13));
}

#[test]
fn bitwise_identical_across_thread_counts() {
    // Large enough for several blocks per item and the parallel path (> 2^18 elements).
    for (labels, act, flags) in [(true, 2u8, 0u8), (false, 1, 2 | 8), (true, 2, 1 | 4 | 64)] {
        let case = build(5, 2, 3, vec![40, 64, 70], act, labels, flags, 0);
        let base = run::<f32>(&Context::single(), &case).unwrap();
        for threads in [2, 7] {
            let ctx = Context::new(threads).unwrap();
            let got = run::<f32>(&ctx, &case).unwrap();
            assert_eq!(got.loss.to_bits(), base.loss.to_bits(), "loss, {threads} threads");
            assert!(got.values.iter().zip(&base.values).all(|(a, b)| a.to_bits() == b.to_bits()));
            assert!(
                got.grad.iter().zip(&base.grad).all(|(a, b)| a.to_bits() == b.to_bits()),
                "grad, {threads} threads"
            );
        }
    }
}

#[test]
fn every_backend_against_oracle_on_odd_lengths_and_extremes() {
    for b in Backend::available() {
        let mut ctx = Context::single();
        ctx.lower_backend(b);
        for len in 1..=(3 * 16 + 1) {
            // 3 and 4 channels take the column sweeps (const C), 9 the row passes
            for c in [3, 4, 9] {
                for (fill, act) in [
                    (0.0, Activation::None),
                    (1.0, Activation::None),
                    (1e-30, Activation::None),
                    (80.0, Activation::Softmax),
                    (-80.0, Activation::Sigmoid),
                    (80.0, Activation::Sigmoid),
                ] {
                    let mut r = Rng(len as u64);
                    let x: Vec<f64> = (0..c * len)
                        .map(|i| {
                            if i % 2 == 0 {
                                fill
                            } else if act == Activation::None {
                                r.uniform(0.0, 1.0)
                            } else {
                                -fill * r.uniform(0.0, 1.0)
                            }
                        })
                        .collect();
                    let labels: Vec<i64> = (0..len).map(|_| r.below(c) as i64).collect();
                    let case = Case {
                        shape: vec![1, c, len],
                        x,
                        dense: vec![],
                        labels: Some(labels),
                        opts: DiceOptions { activation: act, ..DiceOptions::default() },
                    };
                    let want = oracle(&case);
                    let got = run::<f64>(&ctx, &case).unwrap();
                    for (a, e) in got.values.iter().zip(&want.values) {
                        assert!(
                            close(*a, *e, 1e-13, 1e-11),
                            "{} c {c} len {len} fill {fill}: {a} vs {e}",
                            b.name()
                        );
                    }
                    for (a, e) in got.grad.iter().zip(&want.grad) {
                        assert!(
                            close(*a, *e, 1e-13, 1e-9),
                            "{} c {c} len {len} fill {fill} grad: {a} vs {e}",
                            b.name()
                        );
                    }
                    let got = run::<f32>(&ctx, &case).unwrap();
                    for (a, e) in got.values.iter().zip(&want.values) {
                        assert!(
                            close(*a, *e, 1e-5, 1e-4),
                            "{} f32 c {c} len {len} fill {fill}: {a} vs {e}",
                            b.name()
                        );
                    }
                }
            }
        }
    }
}
