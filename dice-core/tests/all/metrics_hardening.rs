//! Regression tests for hostile inputs: label dtypes against masks on the byte fast path,
//! count sums near u64::MAX, extreme spacing, empty axes and sizes that must not be allocated.

use crate::common::Rng;
use dice_core::metrics::*;
use dice_core::{Context, DiceError, Labels, TensorView};
use proptest::prelude::*;

/// Scalar oracle: [tp, fp, fn, tn] per (item, class) from labels (gt) and one-hot masks (pred).
fn oracle(mask: &[u8], labels: &[i64], n: usize, c: usize, s: usize) -> Vec<Counts> {
    let mut out = Vec::new();
    for i in 0..n {
        for k in 0..c {
            let mut x = Counts::default();
            for v in 0..s {
                match (mask[(i * c + k) * s + v] != 0, labels[i * s + v] == k as i64) {
                    (true, true) => x.tp += 1,
                    (true, false) => x.fp += 1,
                    (false, true) => x.fn_ += 1,
                    (false, false) => x.tn += 1,
                }
            }
            out.push(x);
        }
    }
    out
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    /// C-contiguous u8 / bool masks against label maps of every dtype, shaped (N, H, W) and
    /// (N, 1, H, W), on either side.
    #[test]
    fn masks_against_every_label_dtype(n in 1usize..3, c in 1usize..5, h in 1usize..6, w in 1usize..70, seed in any::<u64>()) {
        let ctx = Context::single();
        let s = h * w;
        let mut rng = Rng(seed);
        let labels: Vec<i64> = (0..n * s).map(|_| rng.below(c) as i64).collect();
        let mask: Vec<u8> = (0..n * c * s).map(|_| rng.below(2) as u8).collect();
        let want = oracle(&mask, &labels, n, c, s);
        let swapped: Vec<Counts> = want.iter().map(|k| Counts { tp: k.tp, fp: k.fn_, fn_: k.fp, tn: k.tn }).collect();
        let mv = Decisions::Masks(TensorView::contiguous("pred", &mask, &[n, c, h, w]).unwrap());
        let (l8, l16, l32): (Vec<u8>, Vec<u16>, Vec<i32>) = (
            labels.iter().map(|&v| v as u8).collect(),
            labels.iter().map(|&v| v as u16).collect(),
            labels.iter().map(|&v| v as i32).collect(),
        );
        for shape in [&[n, h, w][..], &[n, 1, h, w][..]] {
            let forms = [
                Labels::U8(TensorView::contiguous("gt", &l8, shape).unwrap()),
                Labels::U16(TensorView::contiguous("gt", &l16, shape).unwrap()),
                Labels::I32(TensorView::contiguous("gt", &l32, shape).unwrap()),
                Labels::I64(TensorView::contiguous("gt", &labels, shape).unwrap()),
            ];
            for l in forms {
                let lv = Decisions::Labels(l);
                let (a, b) = (confusion(&ctx, &mv, &lv, c).unwrap(), confusion(&ctx, &lv, &mv, c).unwrap());
                prop_assert_eq!(a.counts(), &want[..]);
                prop_assert_eq!(b.counts(), &swapped[..]);
            }
        }
    }
}

#[test]
fn generalized_dice_sums_do_not_overflow() {
    // Two classes, counts near u64::MAX / 2: the u64 sum 2 TP + FP + FN would wrap.
    let big = u64::MAX / 2;
    let k = Counts { tp: big, fp: 0, fn_: big, tn: 0 };
    let conf = Confusion::from_counts(1, 1, vec![k]).unwrap();
    let gds = generalized_dice_score(&conf, GdsWeight::Linear, false)[0];
    let want = overlap_values(&conf, OverlapMetric::Dice, EmptyGt::Nan).unwrap().values[0];
    assert!((gds - 2.0 / 3.0).abs() < 1e-12, "gds {gds}");
    assert!((gds - want).abs() < 1e-12);
}

#[test]
fn empty_last_axis_counts_zero() {
    let ctx = Context::single();
    let data = [0u8; 4];
    // Last extent 0 with non-zero strides; a long row of nothing.
    for (shape, strides) in [
        (&[1usize, 1, 4, 0][..], &[4isize, 4, 1, 1][..]),
        (&[1, 1, 0, 1 << 40][..], &[1, 1, 1, 1][..]),
    ] {
        let m = Decisions::Masks(TensorView::new("pred", &data, 0, shape, strides).unwrap());
        let conf = confusion(&ctx, &m, &m, 0).unwrap();
        assert_eq!(conf.counts(), &[Counts::default()]);
        let l =
            Decisions::Labels(Labels::U8(TensorView::new("gt", &data, 0, shape, strides).unwrap()));
        let conf = confusion(&ctx, &m, &l, 1).unwrap();
        assert_eq!(conf.counts(), &[Counts::default()]);
    }
}

#[test]
fn class_counts_are_capped() {
    let ctx = Context::single();
    let l = [0u8; 4];
    let lv = Decisions::Labels(Labels::U8(TensorView::contiguous("gt", &l, &[1, 4]).unwrap()));
    for classes in [1usize << 40, 1 << 62, usize::MAX] {
        let e = confusion(&ctx, &lv, &lv, classes).unwrap_err();
        assert!(matches!(e, DiceError::TooLarge { .. }), "{e}");
    }
}

/// Two 6x6 masks, one shifted by a voxel.
fn square_pair() -> (Vec<u8>, Vec<u8>) {
    let mut a = vec![0u8; 36];
    let mut b = vec![0u8; 36];
    for y in 1..4 {
        for x in 1..4 {
            a[y * 6 + x] = 1;
            b[(y + 1) * 6 + x + 1] = 1;
        }
    }
    (a, b)
}

#[test]
fn extreme_spacing_terminates() {
    let ctx = Context::single();
    let (a, b) = square_pair();
    let pv = Decisions::Masks(TensorView::contiguous("pred", &a, &[1, 1, 6, 6]).unwrap());
    let gv = Decisions::Masks(TensorView::contiguous("gt", &b, &[1, 1, 6, 6]).unwrap());
    for s in [1e154, 1e200, 1e300, 1e-200] {
        let opts = SurfaceOptions { spacing: vec![s, s], ..Default::default() };
        let hd = hausdorff_monai(&ctx, &pv, &gv, 0, &opts, None, false).unwrap().values[0];
        assert!(hd > 0.0, "spacing {s}: {hd}");
        average_surface_distance_monai(&ctx, &pv, &gv, 0, &opts, true).unwrap();
        medpy_distances(&ctx, &pv, &gv, 0, &opts).unwrap();
        boundary_f(&ctx, &pv, &gv, 0, &opts, None).unwrap();
        let ma = TensorView::contiguous("gt", &a, &[6, 6]).unwrap();
        let mb = TensorView::contiguous("pred", &b, &[6, 6]).unwrap();
        surface_distances(&ctx, &ma, &mb, &[s, s]).unwrap();
    }
}

#[test]
fn edt_is_scale_invariant() {
    let ctx = Context::single();
    // One feature at (0, 0) of a 3x3 grid: the far corner is sqrt(2) * 2 spacings away.
    let mut m = [0u8; 9];
    m[0] = 1;
    let v = TensorView::contiguous("mask", &m, &[3, 3]).unwrap();
    for s in [1.0, 1e200, 1e-200, 1e300, 1e-300] {
        let d = distance_transform(&ctx, &v, &[s, s], DistanceMetric::Euclidean).unwrap();
        let want = 2.0 * std::f64::consts::SQRT_2 * s;
        assert!(((d[8] - want) / want).abs() < 1e-15, "spacing {s}: {} vs {want}", d[8]);
        let sd = signed_distance(&ctx, &v, &[s, s]).unwrap();
        assert!(((sd[8] - want) / want).abs() < 1e-15, "spacing {s}: {} vs {want}", sd[8]);
    }
}

#[test]
fn bad_spacing_and_tolerance_name_their_argument() {
    let ctx = Context::single();
    let (a, b) = square_pair();
    let pv = Decisions::Masks(TensorView::contiguous("pred", &a, &[1, 1, 6, 6]).unwrap());
    let gv = Decisions::Masks(TensorView::contiguous("gt", &b, &[1, 1, 6, 6]).unwrap());
    for s in [0.0, -1.0, f64::NAN, f64::INFINITY] {
        let opts = SurfaceOptions { spacing: vec![1.0, s], ..Default::default() };
        for e in [
            boundary_f(&ctx, &pv, &gv, 0, &opts, None).unwrap_err(),
            boundary_f(&ctx, &pv, &gv, 0, &opts, Some(1.0)).unwrap_err(),
            hausdorff_monai(&ctx, &pv, &gv, 0, &opts, None, false).unwrap_err(),
        ] {
            assert!(e.to_string().contains("spacing"), "{e}");
        }
    }
    let opts = SurfaceOptions::default();
    for t in [-1.0, f64::NAN, f64::INFINITY] {
        let e = boundary_f(&ctx, &pv, &gv, 0, &opts, Some(t)).unwrap_err();
        assert!(e.to_string().contains("tolerance"), "{e}");
    }
}

#[test]
fn deepmind_lists_name_the_bad_array() {
    let good = SurfaceDistances {
        distances_gt_to_pred: vec![0.0, 1.0],
        distances_pred_to_gt: vec![1.0],
        surfel_areas_gt: vec![1.0, 1.0],
        surfel_areas_pred: vec![1.0],
    };
    good.check().unwrap();
    let mut bad = good.clone();
    bad.surfel_areas_gt[1] = -1.0;
    assert!(bad.check().unwrap_err().to_string().contains("surfel_areas_gt"));
    let mut bad = good.clone();
    bad.surfel_areas_pred.push(1.0);
    assert!(bad.check().unwrap_err().to_string().contains("surfel_areas_pred"));
    let mut bad = good.clone();
    bad.surfel_areas_gt[0] = f64::NAN;
    assert!(bad.check().unwrap_err().to_string().contains("surfel_areas_gt"));
}

#[test]
fn signed_distance_maps_refuse_huge_class_counts() {
    let ctx = Context::single();
    let l = [0u8; 4];
    let lv = Decisions::Labels(Labels::U8(TensorView::contiguous("gt", &l, &[1, 2, 2]).unwrap()));
    let e =
        dice_core::boundary_loss::signed_distance_maps::<f64>(&ctx, &lv, 1 << 40, &[]).unwrap_err();
    assert!(matches!(e, DiceError::TooLarge { .. }), "{e}");
}
