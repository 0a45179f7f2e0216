//! Distance transforms against a brute-force oracle (every voxel to every feature) on small
//! random masks with random anisotropic spacing, in 1 to 4 dimensions; thread-count invariance.

use crate::common::unravel;
use dice_core::metrics::{DistanceMetric, distance_transform, signed_distance};
use dice_core::{Context, TensorView};
use proptest::prelude::*;

/// Distance from every voxel to the nearest set voxel, by exhaustive search.
fn brute(mask: &[u8], shape: &[usize], spacing: &[f64], m: DistanceMetric) -> Vec<f64> {
    let feats: Vec<Vec<usize>> =
        (0..mask.len()).filter(|&i| mask[i] != 0).map(|i| unravel(i, shape)).collect();
    (0..mask.len())
        .map(|i| {
            let x = unravel(i, shape);
            feats
                .iter()
                .map(|f| {
                    let parts = x
                        .iter()
                        .zip(f)
                        .zip(spacing)
                        .map(|((&a, &b), &s)| s * (a as f64 - b as f64).abs());
                    match m {
                        DistanceMetric::Euclidean => parts.map(|v| v * v).sum::<f64>().sqrt(),
                        DistanceMetric::Taxicab => parts.sum(),
                        DistanceMetric::Chessboard => parts.fold(0.0, f64::max),
                    }
                })
                .fold(f64::INFINITY, f64::min)
        })
        .collect()
}

fn masks() -> impl Strategy<Value = (Vec<usize>, Vec<u8>, Vec<f64>)> {
    (1usize..=4)
        .prop_flat_map(|k| {
            let max = [40, 14, 7, 4][k - 1];
            (
                prop::collection::vec(1usize..=max, k),
                prop::collection::vec(0.2f64..3.0, k),
                0.0f64..0.4,
            )
        })
        .prop_flat_map(|(shape, spacing, density)| {
            let n: usize = shape.iter().product();
            let bits = prop::collection::vec(prop::bool::weighted(density.max(0.01)), n);
            (Just(shape), bits.prop_map(|b| b.into_iter().map(u8::from).collect()), Just(spacing))
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

    #[test]
    fn matches_brute_force((shape, mask, spacing) in masks()) {
        let ctx = Context::single();
        let view = TensorView::contiguous("mask", &mask, &shape).unwrap();
        for m in [DistanceMetric::Euclidean, DistanceMetric::Taxicab, DistanceMetric::Chessboard] {
            let got = distance_transform(&ctx, &view, &spacing, m).unwrap();
            let want = brute(&mask, &shape, &spacing, m);
            for (i, (&a, &e)) in got.iter().zip(&want).enumerate() {
                prop_assert!(a == e || (a - e).abs() <= 1e-12 * e.max(1.0), "{m:?} {shape:?} voxel {i}: {a} vs {e}");
            }
        }
    }

    #[test]
    fn signed_distance_matches_brute_force((shape, mask, spacing) in masks()) {
        let ctx = Context::single();
        let view = TensorView::contiguous("mask", &mask, &shape).unwrap();
        let got = signed_distance(&ctx, &view, &spacing).unwrap();
        let inv: Vec<u8> = mask.iter().map(|&v| (v == 0) as u8).collect();
        let full_or_empty = mask.iter().all(|&v| v != 0) || mask.iter().all(|&v| v == 0);
        let (out, inn) = (brute(&mask, &shape, &spacing, DistanceMetric::Euclidean), brute(&inv, &shape, &spacing, DistanceMetric::Euclidean));
        for i in 0..mask.len() {
            let e = if full_or_empty { 0.0 } else if mask[i] != 0 { -inn[i] } else { out[i] };
            prop_assert!((got[i] - e).abs() <= 1e-12 * e.abs().max(1.0), "voxel {i}: {} vs {e}", got[i]);
        }
    }
}

/// A large enough volume that the parallel path runs; results must be bit-identical.
#[test]
fn thread_count_invariance() {
    let shape = [37usize, 61, 83];
    let n: usize = shape.iter().product();
    let mut state = 7u64;
    let mask: Vec<u8> = (0..n)
        .map(|_| {
            state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            (state >> 33).is_multiple_of(50) as u8
        })
        .collect();
    let view = TensorView::contiguous("mask", &mask, &shape).unwrap();
    let spacing = [1.7, 0.6, 0.9];
    let one = Context::single();
    for threads in [2, 3] {
        let ctx = Context::new(threads).unwrap();
        for m in [DistanceMetric::Euclidean, DistanceMetric::Taxicab, DistanceMetric::Chessboard] {
            let a = distance_transform(&one, &view, &spacing, m).unwrap();
            let b = distance_transform(&ctx, &view, &spacing, m).unwrap();
            assert!(
                a.iter().zip(&b).all(|(x, y)| x.to_bits() == y.to_bits()),
                "{m:?} with {threads} threads"
            );
        }
    }
}

/// A strided (transposed) view gives the transposed transform.
#[test]
fn strided_view_is_read_in_place() {
    let (h, w) = (7usize, 11usize);
    let mask: Vec<u8> = (0..h * w).map(|i| ((i * 5 + 1) % 9 == 0) as u8).collect();
    let ctx = Context::single();
    let direct = distance_transform(
        &ctx,
        &TensorView::contiguous("m", &mask, &[h, w]).unwrap(),
        &[0.7, 1.9],
        DistanceMetric::Euclidean,
    )
    .unwrap();
    let transposed = TensorView::new("m", &mask, 0, &[w, h], &[1, w as isize]).unwrap();
    let t = distance_transform(&ctx, &transposed, &[1.9, 0.7], DistanceMetric::Euclidean).unwrap();
    for y in 0..h {
        for x in 0..w {
            assert!((t[x * h + y] - direct[y * w + x]).abs() < 1e-12, "({y},{x})");
        }
    }
}

#[test]
fn bad_arguments_are_errors() {
    let ctx = Context::single();
    let mask = [0u8, 1, 0, 0];
    let v = TensorView::contiguous("mask", &mask, &[2, 2]).unwrap();
    assert!(distance_transform(&ctx, &v, &[1.0], DistanceMetric::Euclidean).is_err());
    assert!(distance_transform(&ctx, &v, &[1.0, f64::NAN], DistanceMetric::Euclidean).is_err());
    assert!(distance_transform(&ctx, &v, &[1.0, 0.0], DistanceMetric::Euclidean).is_err());
    assert!(distance_transform(&ctx, &v, &[1.0, -2.0], DistanceMetric::Euclidean).is_err());
    assert!(
        distance_transform(&ctx, &v, &[1.0, f64::INFINITY], DistanceMetric::Euclidean).is_err()
    );
    let five = TensorView::contiguous("mask", &[0u8; 1], &[1, 1, 1, 1, 1]).unwrap();
    assert!(distance_transform(&ctx, &five, &[1.0; 5], DistanceMetric::Euclidean).is_err());
    // No feature: +inf everywhere; an empty grid: nothing.
    let none = TensorView::contiguous("mask", &[0u8; 6], &[2, 3]).unwrap();
    assert!(
        distance_transform(&ctx, &none, &[1.0, 1.0], DistanceMetric::Euclidean)
            .unwrap()
            .iter()
            .all(|d| d.is_infinite())
    );
    let empty = TensorView::contiguous("mask", &[0u8; 0], &[0, 3]).unwrap();
    assert!(
        distance_transform(&ctx, &empty, &[1.0, 1.0], DistanceMetric::Euclidean)
            .unwrap()
            .is_empty()
    );
}
