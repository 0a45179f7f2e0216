//! The surface pipeline (decode, crop, edges, distances) and the tolerance counts against a
//! brute-force oracle: edges by their definition, distances over all edge pairs.

use crate::common::unravel;
use dice_core::metrics::*;
use dice_core::{Context, TensorView};
use proptest::prelude::*;

/// Edge voxels: set, with a face neighbour unset or outside the grid.
fn edges(mask: &[u8], shape: &[usize]) -> Vec<Vec<usize>> {
    let at = |x: &[usize]| mask[x.iter().zip(shape).fold(0, |a, (&i, &e)| a * e + i)] != 0;
    (0..mask.len())
        .map(|i| unravel(i, shape))
        .filter(|x| at(x))
        .filter(|x| {
            (0..x.len()).any(|d| {
                let (mut lo, mut hi) = (x.clone(), x.clone());
                if x[d] == 0 || x[d] + 1 == shape[d] {
                    return true;
                }
                lo[d] -= 1;
                hi[d] += 1;
                !at(&lo) || !at(&hi)
            })
        })
        .collect()
}

fn dist(a: &[usize], b: &[usize], s: &[f64], m: DistanceMetric) -> f64 {
    let parts = a.iter().zip(b).zip(s).map(|((&x, &y), &s)| s * (x as f64 - y as f64).abs());
    match m {
        DistanceMetric::Euclidean => parts.map(|v| v * v).sum::<f64>().sqrt(),
        DistanceMetric::Taxicab => parts.sum(),
        DistanceMetric::Chessboard => parts.fold(0.0, f64::max),
    }
}

fn directed(from: &[Vec<usize>], to: &[Vec<usize>], s: &[f64], m: DistanceMetric) -> Vec<f64> {
    from.iter().map(|a| to.iter().map(|b| dist(a, b, s, m)).fold(f64::INFINITY, f64::min)).collect()
}

fn case() -> impl Strategy<Value = (Vec<usize>, Vec<u8>, Vec<u8>, Vec<f64>, f64, u8)> {
    (2usize..=3)
        .prop_flat_map(|k| {
            let max = if k == 2 { 14 } else { 7 };
            (
                prop::collection::vec(1usize..=max, k),
                prop::collection::vec(0.3f64..2.5, k),
                0.0f64..3.0,
                0u8..3,
            )
        })
        .prop_flat_map(|(shape, spacing, tau, m)| {
            let n: usize = shape.iter().product();
            let bits = || {
                prop::collection::vec(prop::bool::weighted(0.35), n)
                    .prop_map(|b| b.into_iter().map(u8::from).collect::<Vec<u8>>())
            };
            (Just(shape), bits(), bits(), Just(spacing), Just(tau), Just(m))
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 150, ..ProptestConfig::default() })]

    #[test]
    fn surface_pipeline_matches_brute_force((shape, p, g, spacing, tau, m) in case()) {
        let m = [DistanceMetric::Euclidean, DistanceMetric::Taxicab, DistanceMetric::Chessboard][m as usize];
        let ctx = Context::single();
        let mut full = vec![1, 1];
        full.extend(&shape);
        let pd = Decisions::Masks(TensorView::contiguous("pred", &p, &full).unwrap());
        let gd = Decisions::Masks(TensorView::contiguous("gt", &g, &full).unwrap());
        let opts = SurfaceOptions { spacing: spacing.clone(), metric: m, include_background: true };
        let table = edge_distances(&ctx, &pd, &gd, 0, &opts).unwrap();
        let (ep, eg) = (edges(&p, &shape), edges(&g, &shape));
        let (want_pg, want_gp) = (directed(&ep, &eg, &spacing, m), directed(&eg, &ep, &spacing, m));
        let got = &table.sets[0];
        prop_assert_eq!(got.pred_to_gt.len(), want_pg.len());
        prop_assert_eq!(got.gt_to_pred.len(), want_gp.len());
        for (a, e) in got.pred_to_gt.iter().chain(&got.gt_to_pred).zip(want_pg.iter().chain(&want_gp)) {
            prop_assert!(a == e || (a - e).abs() <= 1e-12 * e.max(1.0), "{m:?}: {a} vs {e}");
        }
        // Tolerance counts (ball test or transform) against the brute-force distances; values
        // within 1e-9 of tau are skipped (rounding may put them on either side).
        let (_, _, w) = within_counts(&ctx, &pd, &gd, 0, &opts, &[tau]).unwrap();
        let near = want_pg.iter().chain(&want_gp).any(|d| (d - tau).abs() < 1e-9);
        if !near {
            prop_assert_eq!(w[0].pred_within, want_pg.iter().filter(|&&d| d <= tau).count());
            prop_assert_eq!(w[0].gt_within, want_gp.iter().filter(|&&d| d <= tau).count());
        }
        prop_assert_eq!((w[0].pred_edges, w[0].gt_edges), (ep.len(), eg.len()));
        // All four MONAI distances from one computation equal the separate calls (the
        // percentile's separate call may take its lower part from another search path).
        let (_, _, md) = monai_distances(&ctx, &pd, &gd, 0, &opts).unwrap();
        let one = |v: PerItem| v.values[0];
        let same = |a: f64, b: f64| a.to_bits() == b.to_bits() || (a - b).abs() <= 1e-12 * b.abs().max(1.0);
        prop_assert!(same(md[0].hd, one(hausdorff_monai(&ctx, &pd, &gd, 0, &opts, None, false).unwrap())));
        prop_assert!(same(md[0].hd95, one(hausdorff_monai(&ctx, &pd, &gd, 0, &opts, Some(95.0), false).unwrap())));
        prop_assert!(same(md[0].assd, one(average_surface_distance_monai(&ctx, &pd, &gd, 0, &opts, true).unwrap())));
        prop_assert!(same(md[0].asd, one(average_surface_distance_monai(&ctx, &pd, &gd, 0, &opts, false).unwrap())));
    }
}

/// torch.quantile / numpy linear percentile, on a sorted copy.
fn quantile(v: &[f64], q: f64) -> f64 {
    let mut s = v.to_vec();
    s.sort_by(f64::total_cmp);
    let rank = q / 100.0 * (s.len() - 1) as f64;
    let (lo, hi) = (rank.floor() as usize, rank.ceil() as usize);
    s[lo] + (s[hi] - s[lo]) * (rank - lo as f64)
}

/// Far-apart parts (beyond the nearest-edge search ball, so the transform path runs) and a
/// mostly-near configuration (the percentile resolves from the ball, the max does not): the
/// MONAI Hausdorff variants and ASD against brute force.
#[test]
fn far_and_near_parts_against_brute_force() {
    let ctx = Context::single();
    for (k, shape) in [(2usize, vec![90usize, 100]), (3, vec![30, 34, 40])] {
        let n: usize = shape.iter().product();
        let mut g = vec![0u8; n];
        let mut p = vec![0u8; n];
        for i in 0..n {
            let x = unravel(i, &shape);
            let r2 = |c: &[f64], r: f64| {
                x.iter().zip(c).map(|(&a, &b)| (a as f64 - b).powi(2)).sum::<f64>() < r * r
            };
            let (c1, c2): (Vec<f64>, Vec<f64>) = if k == 2 {
                (vec![30.0, 30.0], vec![70.0, 85.0])
            } else {
                (vec![10.0, 12.0, 12.0], vec![22.0, 26.0, 32.0])
            };
            g[i] = r2(&c1, 8.0) as u8;
            // The prediction: a slightly moved copy, plus a small far-away blob.
            let moved: Vec<f64> = c1.iter().map(|v| v + 1.0).collect();
            p[i] = (r2(&moved, 8.0) || r2(&c2, 2.5)) as u8;
        }
        let mut full = vec![1, 1];
        full.extend(&shape);
        let pd = Decisions::Masks(TensorView::contiguous("pred", &p, &full).unwrap());
        let gd = Decisions::Masks(TensorView::contiguous("gt", &g, &full).unwrap());
        let spacing: Vec<f64> = (0..k).map(|d| [1.3, 0.7, 1.0][d]).collect();
        let opts = SurfaceOptions {
            spacing: spacing.clone(),
            include_background: true,
            ..Default::default()
        };
        let (ep, eg) = (edges(&p, &shape), edges(&g, &shape));
        let m = DistanceMetric::Euclidean;
        let (pg, gp) = (directed(&ep, &eg, &spacing, m), directed(&eg, &ep, &spacing, m));
        assert!(pg.iter().cloned().fold(0.0, f64::max) > 20.0, "a far part exists");
        for q in [50.0, 95.0, 99.0] {
            let want = quantile(&pg, q).max(quantile(&gp, q));
            let got = hausdorff_monai(&ctx, &pd, &gd, 0, &opts, Some(q), false).unwrap().values[0];
            assert!((got - want).abs() < 1e-9, "{k}-D p{q}: {got} vs {want}");
            let got = hausdorff_monai(&ctx, &pd, &gd, 0, &opts, Some(q), true).unwrap().values[0];
            assert!((got - quantile(&pg, q)).abs() < 1e-9, "{k}-D directed p{q}");
        }
        let max = pg.iter().chain(&gp).cloned().fold(0.0, f64::max);
        assert!(
            (hausdorff_monai(&ctx, &pd, &gd, 0, &opts, None, false).unwrap().values[0] - max).abs()
                < 1e-9
        );
        let mean = pg.iter().chain(&gp).sum::<f64>() / (pg.len() + gp.len()) as f64;
        let asd = average_surface_distance_monai(&ctx, &pd, &gd, 0, &opts, true).unwrap().values[0];
        assert!((asd - mean).abs() < 1e-9, "{k}-D asd {asd} vs {mean}");
        let (_, _, md) = monai_distances(&ctx, &pd, &gd, 0, &opts).unwrap();
        assert!(
            (md[0].hd - max).abs() < 1e-9 && (md[0].assd - mean).abs() < 1e-9,
            "{k}-D monai_distances {:?}",
            md[0]
        );
        assert!(
            (md[0].hd95 - quantile(&pg, 95.0).max(quantile(&gp, 95.0))).abs() < 1e-9,
            "{k}-D hd95"
        );
        assert!(
            (md[0].asd - pg.iter().sum::<f64>() / pg.len() as f64).abs() < 1e-9,
            "{k}-D asd (directed)"
        );
    }
}

/// Every input form gives the same surface metrics: one-hot masks (channels-last strides),
/// an i64 label map, argmax of f32 scores, thresholded f64 probabilities.
#[test]
fn input_forms_agree() {
    let ctx = Context::single();
    let (n, c, h, w) = (2usize, 3usize, 23usize, 29usize);
    let s = h * w;
    let label = |i: usize, v: usize, shift: f64| {
        let (y, x) = ((v / w) as f64, (v % w) as f64);
        let r = ((y - 11.0 - shift).powi(2) + (x - 14.0 + i as f64).powi(2)).sqrt();
        if r < 5.0 {
            2
        } else if r < 9.0 {
            1
        } else {
            0
        }
    };
    let lp: Vec<i64> = (0..n * s).map(|iv| label(iv / s, iv % s, 1.5)).collect();
    let lg: Vec<i64> = (0..n * s).map(|iv| label(iv / s, iv % s, 0.0)).collect();
    // Channels-last one-hot of both.
    let onehot = |l: &[i64]| {
        let mut m = vec![0u8; n * s * c];
        for (iv, &k) in l.iter().enumerate() {
            m[iv * c + k as usize] = 1;
        }
        m
    };
    let (mp, mg) = (onehot(&lp), onehot(&lg));
    let strides = [(s * c) as isize, 1, (w * c) as isize, c as isize];
    fn md<'a>(m: &'a [u8], shape: &[usize], strides: &[isize]) -> Decisions<'a> {
        Decisions::Masks(TensorView::new("m", m, 0, shape, strides).unwrap())
    }
    let shape4 = [n, c, h, w];
    // Scores whose argmax is the prediction's label; probabilities thresholded at 0.5.
    let scores: Vec<f32> = (0..n * c * s)
        .map(|j| {
            let (i, k, v) = (j / (c * s), (j / s) % c, j % s);
            if lp[i * s + v] == k as i64 { 2.0 } else { -1.0 - k as f32 }
        })
        .collect();
    let probs: Vec<f64> = scores.iter().map(|&v| if v > 0.0 { 0.9 } else { 0.1 }).collect();
    let gl = Decisions::Labels(dice_core::Labels::I64(
        TensorView::contiguous("gt", &lg, &[n, 1, h, w]).unwrap(),
    ));
    let forms = [
        md(&mp, &shape4, &strides),
        Decisions::Labels(dice_core::Labels::I64(
            TensorView::contiguous("pred", &lp, &[n, h, w]).unwrap(),
        )),
        Decisions::F32(
            TensorView::contiguous("pred", &scores, &[n, c, h, w]).unwrap(),
            Rule::Argmax,
        ),
        Decisions::F64(
            TensorView::contiguous("pred", &probs, &[n, c, h, w]).unwrap(),
            Rule::Threshold(0.5),
        ),
    ];
    let opts = SurfaceOptions { spacing: vec![0.8, 1.3], ..Default::default() };
    let reference =
        hausdorff_monai(&ctx, &forms[0], &md(&mg, &shape4, &strides), 0, &opts, Some(95.0), false)
            .unwrap();
    assert!(reference.values.iter().all(|v| v.is_finite() && *v > 0.0));
    let nsd =
        surface_dice_monai(&ctx, &forms[0], &md(&mg, &shape4, &strides), 0, &opts, &[1.0, 1.0])
            .unwrap();
    for (f, p) in forms.iter().enumerate() {
        for g in [md(&mg, &shape4, &strides), gl] {
            assert_eq!(
                hausdorff_monai(&ctx, p, &g, c, &opts, Some(95.0), false).unwrap(),
                reference,
                "form {f}"
            );
            assert_eq!(
                surface_dice_monai(&ctx, p, &g, c, &opts, &[1.0, 1.0]).unwrap(),
                nsd,
                "form {f}"
            );
        }
    }
}

/// Volumes large enough for the parallel paths (query chunks, transform lines): results are
/// bit-identical for 1, 2 and 3 threads.
#[test]
fn surface_metrics_identical_for_any_thread_count() {
    let n = 64usize;
    let ball = |c: [f64; 3], r: f64| -> Vec<u8> {
        (0..n * n * n)
            .map(|i| {
                let x = [(i / (n * n)) as f64, ((i / n) % n) as f64, (i % n) as f64];
                (x.iter().zip(&c).map(|(a, b)| (a - b).powi(2)).sum::<f64>() < r * r) as u8
            })
            .collect()
    };
    let (g, p) = (ball([32.0, 32.0, 32.0], 25.0), ball([30.0, 33.5, 31.0], 23.0));
    let shape = [1usize, 1, n, n, n];
    let gd = Decisions::Masks(TensorView::contiguous("gt", &g, &shape).unwrap());
    let pd = Decisions::Masks(TensorView::contiguous("pred", &p, &shape).unwrap());
    let opts = SurfaceOptions {
        spacing: vec![1.2, 0.9, 1.0],
        include_background: true,
        ..Default::default()
    };
    let run = |ctx: &Context| {
        let mut v = hausdorff_monai(ctx, &pd, &gd, 0, &opts, Some(95.0), false).unwrap().values;
        v.extend(hausdorff_monai(ctx, &pd, &gd, 0, &opts, None, false).unwrap().values);
        v.extend(average_surface_distance_monai(ctx, &pd, &gd, 0, &opts, true).unwrap().values);
        v.extend(surface_dice_monai(ctx, &pd, &gd, 0, &opts, &[1.5]).unwrap().values);
        v.extend(boundary_f(ctx, &pd, &gd, 0, &opts, Some(8.0)).unwrap().f1.values);
        v.iter().map(|x| x.to_bits()).collect::<Vec<_>>()
    };
    let one = run(&Context::single());
    for t in [2, 3] {
        assert_eq!(one, run(&Context::new(t).unwrap()), "{t} threads");
    }
}
