//! Confusion counts: every input form against a per-voxel oracle, additivity (streaming),
//! strided views, thread-count invariance, derived metrics against their formulas, bad input.

use crate::common::Rng;
use dice_core::metrics::*;
use dice_core::{Context, Labels, TensorView};
use proptest::prelude::*;

/// Per-voxel oracle from explicit class memberships: member[n][c][v].
fn oracle(pred: &[Vec<Vec<bool>>], gt: &[Vec<Vec<bool>>]) -> Vec<Counts> {
    let mut out = Vec::new();
    for (pn, gn) in pred.iter().zip(gt) {
        for (pc, gc) in pn.iter().zip(gn) {
            let mut k = Counts::default();
            for (&p, &g) in pc.iter().zip(gc) {
                match (p, g) {
                    (true, true) => k.tp += 1,
                    (true, false) => k.fp += 1,
                    (false, true) => k.fn_ += 1,
                    (false, false) => k.tn += 1,
                }
            }
            out.push(k);
        }
    }
    out
}

fn members_of_labels(l: &[i64], n: usize, c: usize, s: usize) -> Vec<Vec<Vec<bool>>> {
    (0..n)
        .map(|i| (0..c).map(|k| (0..s).map(|v| l[i * s + v] == k as i64).collect()).collect())
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn forms_agree_with_the_oracle(n in 1usize..3, c in 1usize..5, h in 1usize..9, w in 1usize..80, seed in any::<u64>(), t in 0.1f64..0.9) {
        let ctx = Context::single();
        let s = h * w;
        let mut rng = Rng(seed);
        let lp: Vec<i64> = (0..n * s).map(|_| rng.below(c) as i64).collect();
        let lg: Vec<i64> = (0..n * s).map(|_| rng.below(c) as i64).collect();
        let probs: Vec<f32> = (0..n * c * s).map(|_| rng.uniform(0.0, 1.0) as f32).collect();
        let lpv = TensorView::contiguous("pred", &lp, &[n, 1, h, w]).unwrap();
        let lgv = TensorView::contiguous("gt", &lg, &[n, h, w]).unwrap();
        let (mp, mg) = (members_of_labels(&lp, n, c, s), members_of_labels(&lg, n, c, s));
        let want = oracle(&mp, &mg);
        // Label maps on both sides.
        let got = confusion(&ctx, &Decisions::Labels(Labels::I64(lpv)), &Decisions::Labels(Labels::I64(lgv)), c).unwrap();
        prop_assert_eq!(got.counts(), &want[..]);
        // u8 label maps and contiguous u8 one-hot masks (the byte fast path).
        let (p8, g8): (Vec<u8>, Vec<u8>) = (lp.iter().map(|&v| v as u8).collect(), lg.iter().map(|&v| v as u8).collect());
        let p8v = TensorView::contiguous("pred", &p8, &[n, 1, h, w]).unwrap();
        let g8v = TensorView::contiguous("gt", &g8, &[n, 1, h, w]).unwrap();
        let got = confusion(&ctx, &Decisions::Labels(Labels::U8(p8v)), &Decisions::Labels(Labels::U8(g8v)), c).unwrap();
        prop_assert_eq!(got.counts(), &want[..]);
        let mut oh_p = vec![0u8; n * c * s];
        let mut oh_g = vec![0u8; n * c * s];
        for i in 0..n { for v in 0..s {
            oh_p[(i * c + lp[i * s + v] as usize) * s + v] = 1;
            oh_g[(i * c + lg[i * s + v] as usize) * s + v] = 7; // any nonzero is a member
        } }
        let mp8 = TensorView::contiguous("pred", &oh_p, &[n, c, h, w]).unwrap();
        let mg8 = TensorView::contiguous("gt", &oh_g, &[n, c, h, w]).unwrap();
        let got = confusion(&ctx, &Decisions::Masks(mp8), &Decisions::Masks(mg8), 0).unwrap();
        prop_assert_eq!(got.counts(), &want[..]);
        if c > 1 {
            prop_assert!(confusion(&ctx, &Decisions::Labels(Labels::U8(p8v)), &Decisions::Labels(Labels::U8(g8v)), c - 1).is_err() || lp.iter().chain(&lg).all(|&v| (v as usize) < c - 1));
        }
        // One-hot masks (u8) against labels, channels-last strides for the masks.
        let mut onehot = vec![0u8; n * s * c];
        for i in 0..n { for v in 0..s { onehot[(i * s + v) * c + lp[i * s + v] as usize] = 1; } }
        let strides = [(s * c) as isize, 1, (w * c) as isize, c as isize];
        let mv = TensorView::new("pred", &onehot, 0, &[n, c, h, w], &strides).unwrap();
        let got = confusion(&ctx, &Decisions::Masks(mv), &Decisions::Labels(Labels::I64(lgv)), 0).unwrap();
        prop_assert_eq!(got.counts(), &want[..]);
        // Argmax of probabilities, and thresholded probabilities (multi-label).
        let pv = TensorView::contiguous("pred", &probs, &[n, c, h, w]).unwrap();
        let arg: Vec<i64> = (0..n * s).map(|iv| {
            let (i, v) = (iv / s, iv % s);
            let mut best = 0;
            for k in 1..c { if probs[(i * c + k) * s + v] > probs[(i * c + best) * s + v] { best = k; } }
            best as i64
        }).collect();
        let want_arg = oracle(&members_of_labels(&arg, n, c, s), &mg);
        let got = confusion(&ctx, &Decisions::F32(pv, Rule::Argmax), &Decisions::Labels(Labels::I64(lgv)), 0).unwrap();
        prop_assert_eq!(got.counts(), &want_arg[..]);
        let thr: Vec<Vec<Vec<bool>>> = (0..n).map(|i| (0..c).map(|k| (0..s).map(|v| probs[(i * c + k) * s + v] as f64 >= t).collect()).collect()).collect();
        let got = confusion(&ctx, &Decisions::F32(pv, Rule::Threshold(t)), &Decisions::Labels(Labels::I64(lgv)), 0).unwrap();
        prop_assert_eq!(got.counts(), &oracle(&thr, &mg)[..]);
    }
}

#[test]
fn streaming_is_additive_and_thread_invariant() {
    let (n, c, d, h, w) = (2usize, 4usize, 30usize, 40usize, 50usize);
    let mut rng = Rng(9);
    let lp: Vec<u8> = (0..n * d * h * w).map(|_| rng.below(c) as u8).collect();
    let lg: Vec<u8> = (0..n * d * h * w).map(|_| rng.below(c) as u8).collect();
    let shape = [n, 1, d, h, w];
    let pv = Decisions::Labels(Labels::U8(TensorView::contiguous("pred", &lp, &shape).unwrap()));
    let gv = Decisions::Labels(Labels::U8(TensorView::contiguous("gt", &lg, &shape).unwrap()));
    let whole = confusion(&Context::single(), &pv, &gv, c).unwrap();
    assert_eq!(whole, confusion(&Context::new(2).unwrap(), &pv, &gv, c).unwrap());
    // Two halves along D, accumulated.
    let half = |lo: usize| {
        let base = lo * h * w;
        let strides = [(d * h * w) as isize, 0, (h * w) as isize, w as isize, 1];
        let sh = [n, 1, d / 2, h, w];
        let p = TensorView::new("pred", &lp, base, &sh, &strides).unwrap();
        let g = TensorView::new("gt", &lg, base, &sh, &strides).unwrap();
        confusion(
            &Context::single(),
            &Decisions::Labels(Labels::U8(p)),
            &Decisions::Labels(Labels::U8(g)),
            c,
        )
        .unwrap()
    };
    let mut acc = Confusion::zeros(n, c);
    acc.add(&half(0)).unwrap();
    acc.add(&half(d / 2)).unwrap();
    assert_eq!(acc, whole);
    let pooled = whole.pooled();
    for k in 0..c {
        assert_eq!(pooled.get(0, k).tp, whole.get(0, k).tp + whole.get(1, k).tp);
    }
    assert!(acc.add(&Confusion::zeros(1, c)).is_err());
    // Long rows (the u8 lanes flush every 255 x 32 bytes): the byte path against the i64 path.
    let long = [2usize, 1, 3, 20000];
    let lp: Vec<u8> = (0..2 * 3 * 20000).map(|_| rng.below(c) as u8).collect();
    let lg: Vec<u8> =
        lp.iter().map(|&v| if rng.below(5) == 0 { rng.below(c) as u8 } else { v }).collect();
    let wide = |v: &[u8]| v.iter().map(|&x| x as i64).collect::<Vec<i64>>();
    let (wp, wg) = (wide(&lp), wide(&lg));
    let fast = confusion(
        &Context::single(),
        &Decisions::Labels(Labels::U8(TensorView::contiguous("pred", &lp, &long).unwrap())),
        &Decisions::Labels(Labels::U8(TensorView::contiguous("gt", &lg, &long).unwrap())),
        c,
    )
    .unwrap();
    let slow = confusion(
        &Context::single(),
        &Decisions::Labels(Labels::I64(TensorView::contiguous("pred", &wp, &long).unwrap())),
        &Decisions::Labels(Labels::I64(TensorView::contiguous("gt", &wg, &long).unwrap())),
        c,
    )
    .unwrap();
    assert_eq!(fast, slow);
    assert!(fast.get(0, 0).tp > 255 * 32 / c as u64);
}

#[test]
fn derived_metrics_match_their_formulas() {
    let k = Counts { tp: 30, fp: 7, fn_: 11, tn: 52 };
    let (tp, fp, fn_, tn) = (30.0f64, 7.0f64, 11.0f64, 52.0f64);
    let cases = [
        (OverlapMetric::Dice, 2.0 * tp / (2.0 * tp + fp + fn_)),
        (OverlapMetric::Iou, tp / (tp + fp + fn_)),
        (OverlapMetric::Precision, tp / (tp + fp)),
        (OverlapMetric::Recall, tp / (tp + fn_)),
        (OverlapMetric::Specificity, tn / (tn + fp)),
        (OverlapMetric::Npv, tn / (tn + fn_)),
        (OverlapMetric::Accuracy, (tp + tn) / 100.0),
        (OverlapMetric::FBeta(2.0), 5.0 * tp / (5.0 * tp + 4.0 * fn_ + fp)),
        (OverlapMetric::VolumeSimilarity, 1.0 - (fn_ - fp).abs() / (2.0 * tp + fp + fn_)),
        (
            OverlapMetric::Mcc,
            (tp * tn - fp * fn_) / ((tp + fp) * (tp + fn_) * (tn + fp) * (tn + fn_)).sqrt(),
        ),
    ];
    for (m, want) in cases {
        assert!((m.value(k) - want).abs() < 1e-15, "{m:?}");
    }
    // F1 is Dice.
    assert!((OverlapMetric::FBeta(1.0).value(k) - OverlapMetric::Dice.value(k)).abs() < 1e-15);
    // Empty-GT policies.
    let conf = Confusion::from_counts(
        1,
        3,
        vec![Counts { tp: 0, fp: 0, fn_: 0, tn: 9 }, Counts { tp: 0, fp: 2, fn_: 0, tn: 7 }, k],
    )
    .unwrap();
    let v = |e| overlap_values(&conf, OverlapMetric::Dice, e).unwrap().values;
    let nan = v(EmptyGt::Nan);
    assert!(nan[0].is_nan() && nan[1].is_nan());
    assert_eq!(&v(EmptyGt::OneIfBothEmpty)[..2], &[1.0, 0.0]);
    assert_eq!(&v(EmptyGt::Zero)[..2], &[0.0, 0.0]);
    assert!(overlap_values(&conf, OverlapMetric::FBeta(f64::NAN), EmptyGt::Nan).is_err());
    let agg = reduce(
        &overlap_values(&conf, OverlapMetric::Dice, EmptyGt::Nan).unwrap(),
        MetricReduction::Mean,
    );
    assert_eq!(agg.not_nans, vec![1.0]);
}

#[test]
fn bad_input_is_an_error() {
    let ctx = Context::single();
    let l = [0i64, 1, 2, 3];
    let lv =
        Decisions::Labels(Labels::I64(TensorView::contiguous("pred", &l, &[1, 1, 4]).unwrap()));
    // A label outside [0, C).
    assert!(confusion(&ctx, &lv, &lv, 3).is_err());
    // Both label maps and no class count.
    assert!(confusion(&ctx, &lv, &lv, 0).is_err());
    // Shape and channel mismatches.
    let m = [0u8; 8];
    let mv = Decisions::Masks(TensorView::contiguous("gt", &m, &[1, 2, 4]).unwrap());
    assert!(confusion(&ctx, &lv, &mv, 4).is_err());
    let m5 = Decisions::Masks(TensorView::contiguous("gt", &m[..5], &[1, 1, 5]).unwrap());
    assert!(confusion(&ctx, &mv, &m5, 0).is_err());
    // NaN probabilities and NaN thresholds.
    let p = [0.2f64, f64::NAN, 0.5, 0.1];
    let pv = TensorView::contiguous("pred", &p, &[1, 2, 2]).unwrap();
    let g = [1u8, 0, 0, 1];
    let gv = Decisions::Masks(TensorView::contiguous("gt", &g, &[1, 2, 2]).unwrap());
    assert!(confusion(&ctx, &Decisions::F64(pv, Rule::Argmax), &gv, 0).is_err());
    assert!(confusion(&ctx, &Decisions::F64(pv, Rule::Threshold(0.5)), &gv, 0).is_err());
    let ok = [0.2f64, 0.3, 0.5, 0.1];
    let okv = TensorView::contiguous("pred", &ok, &[1, 2, 2]).unwrap();
    assert!(confusion(&ctx, &Decisions::F64(okv, Rule::Threshold(f64::NAN)), &gv, 0).is_err());
    // Rank 2 (no spatial axis) is refused.
    let r2 = Decisions::Masks(TensorView::contiguous("gt", &m, &[2, 4]).unwrap());
    assert!(confusion(&ctx, &r2, &r2, 0).is_err());
    // Surface metrics: bad percentile, thresholds, spacing; medpy on an empty mask.
    let z = [0u8; 16];
    let one = [0u8, 0, 0, 0, 0, 1, 1, 0, 0, 1, 1, 0, 0, 0, 0, 0];
    let zv = Decisions::Masks(TensorView::contiguous("gt", &z, &[1, 1, 4, 4]).unwrap());
    let ov = Decisions::Masks(TensorView::contiguous("pred", &one, &[1, 1, 4, 4]).unwrap());
    let opts = SurfaceOptions::default();
    assert!(hausdorff_monai(&ctx, &ov, &ov, 0, &opts, Some(101.0), false).is_err());
    assert!(hausdorff_monai(&ctx, &ov, &ov, 0, &opts, Some(f64::NAN), false).is_err());
    assert!(surface_dice_monai(&ctx, &ov, &ov, 0, &opts, &[-1.0]).is_err());
    assert!(surface_dice_monai(&ctx, &ov, &ov, 0, &opts, &[1.0, 2.0]).is_err());
    let bad = SurfaceOptions { spacing: vec![1.0], ..Default::default() };
    assert!(hausdorff_monai(&ctx, &ov, &ov, 0, &bad, None, false).is_err());
    assert!(medpy_distances(&ctx, &ov, &zv, 0, &opts).is_err());
    // MONAI's empty conventions: one side empty -> +inf (HD, ASD); both empty -> NaN.
    let hd = hausdorff_monai(&ctx, &ov, &zv, 0, &opts, None, false).unwrap().values[0];
    assert_eq!(hd, f64::INFINITY);
    assert!(
        hausdorff_monai(&ctx, &zv, &zv, 0, &opts, Some(95.0), false).unwrap().values[0].is_nan()
    );
    let hd = hausdorff_monai(&ctx, &zv, &ov, 0, &opts, None, false).unwrap().values[0];
    assert_eq!(hd, f64::INFINITY);
    let asd = average_surface_distance_monai(&ctx, &ov, &zv, 0, &opts, true).unwrap().values[0];
    assert_eq!(asd, f64::INFINITY);
    assert!(
        average_surface_distance_monai(&ctx, &zv, &zv, 0, &opts, true).unwrap().values[0].is_nan()
    );
    let bf = boundary_f(&ctx, &ov, &ov, 0, &opts, None).unwrap();
    assert_eq!(bf.f1.values, vec![1.0]);
    let bf = boundary_f(&ctx, &ov, &zv, 0, &opts, Some(1.0)).unwrap();
    assert_eq!(bf.f1.values, vec![0.0]);
}

#[test]
fn percentile_is_linear_interpolation() {
    let v = [4.0, 1.0, 3.0, 2.0];
    assert_eq!(percentile(&v, 0.0), 1.0);
    assert_eq!(percentile(&v, 100.0), 4.0);
    assert!((percentile(&v, 50.0) - 2.5).abs() < 1e-15);
    assert!((percentile(&v, 95.0) - (3.0 + 0.85)).abs() < 1e-12);
    assert!(percentile(&[], 50.0).is_nan());
}
