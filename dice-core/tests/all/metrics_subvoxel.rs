//! MONAI's subvoxel surface Dice (`surface_dice_subvoxels_monai`) against a scalar f64 oracle:
//! surfels from the neighbour-code definition over the whole zero-padded corner grid, the
//! distance from each surfel to every surfel of the other mask by brute force, MONAI's float32
//! tolerance test `(d as f32) <= (tau as f32)`, areas summed surfel by surfel. Tolerances are
//! drawn at and around exact grid distances, where float32 and float64 comparisons disagree.

use crate::common::unravel;
use dice_core::error::DiceError;
use dice_core::metrics::*;
use dice_core::{Context, TensorView};
use proptest::prelude::*;

/// Neighbour code of corner `p` of the corner grid (extents + 1 per axis): bit 2^k - 1 - j is
/// voxel p - 1 + j (j in {0, 1}^k read as a binary number), 0 outside the grid.
fn code_at(mask: &[u8], shape: &[usize], p: &[usize]) -> usize {
    let k = shape.len();
    let mut code = 0;
    for j in 0..1usize << k {
        let mut flat = 0usize;
        let mut inside = true;
        for d in 0..k {
            let x = p[d] as isize - 1 + ((j >> (k - 1 - d)) & 1) as isize;
            inside &= x >= 0 && (x as usize) < shape[d];
            flat = flat * shape[d] + x.max(0) as usize;
        }
        if inside && mask[flat] != 0 {
            code |= 1 << ((1 << k) - 1 - j);
        }
    }
    code
}

/// (corner, code) of every surfel: codes other than 0 and all ones.
fn surfels(mask: &[u8], shape: &[usize]) -> Vec<(Vec<usize>, usize)> {
    let corners: Vec<usize> = shape.iter().map(|e| e + 1).collect();
    let full = (1 << (1 << shape.len())) - 1;
    (0..corners.iter().product::<usize>())
        .map(|i| unravel(i, &corners))
        .map(|p| {
            let c = code_at(mask, shape, &p);
            (p, c)
        })
        .filter(|(_, c)| *c != 0 && *c != full)
        .collect()
}

/// Contour length of a 2-D code, closed form: a straight segment along an axis has the other
/// axis' spacing; a corner cut half the diagonal; the two saddles two corner cuts.
fn length_2d(code: usize, s: &[f64]) -> f64 {
    let diag = 0.5 * (s[0] * s[0] + s[1] * s[1]).sqrt();
    match code {
        0b0011 | 0b1100 => s[1],
        0b0101 | 0b1010 => s[0],
        0b0110 | 0b1001 => 2.0 * diag,
        0 | 15 => 0.0,
        _ => diag,
    }
}

/// (sum of the areas of `from`'s surfels whose distance to `to` passes MONAI's float32 test,
/// total area of `from`).
fn oracle_side(
    from: &[(Vec<usize>, usize)],
    to: &[(Vec<usize>, usize)],
    s: &[f64],
    tau: f64,
    area: &dyn Fn(usize) -> f64,
) -> (f64, f64) {
    let (mut within, mut total) = (0.0, 0.0);
    for (a, code) in from {
        let d = to
            .iter()
            .map(|(b, _)| {
                a.iter()
                    .zip(b)
                    .zip(s)
                    .map(|((&x, &y), &s)| ((x as f64 - y as f64) * s).powi(2))
                    .sum::<f64>()
                    .sqrt()
            })
            .fold(f64::INFINITY, f64::min);
        total += area(*code);
        if (d as f32) <= (tau as f32) {
            within += area(*code);
        }
    }
    (within, total)
}

/// MONAI's value for one pair of masks by the oracle.
fn oracle(pred: &[u8], gt: &[u8], shape: &[usize], s: &[f64], tau: f64) -> f64 {
    let table = (shape.len() == 3).then(|| surfel_areas_3d([s[0], s[1], s[2]]));
    let area = |c: usize| match &table {
        Some(t) => t[c],
        None => length_2d(c, s),
    };
    let (sp, sg) = (surfels(pred, shape), surfels(gt, shape));
    let (pw, pa) = oracle_side(&sp, &sg, s, tau, &area);
    let (gw, ga) = oracle_side(&sg, &sp, s, tau, &area);
    if pa + ga == 0.0 { f64::NAN } else { (pw + gw) / (pa + ga) }
}

fn same(a: f64, e: f64) -> bool {
    (a.is_nan() && e.is_nan()) || a == e || (a - e).abs() <= 1e-12 * e.abs().max(1e-300)
}

/// A tolerance: uniform in [0, 8], or an exact grid distance |S k| for small integer k, or a
/// value just below one (the f64 below it; a relative 2^-30 below, same float32; the float32
/// below it), where MONAI's float32 test and a float64 test decide differently.
fn tolerance(k: usize) -> impl Strategy<Value = (u8, f64, Vec<i32>)> {
    (0u8..6, 0.0f64..8.0, prop::collection::vec(0i32..4, k))
}

fn resolve_tau((kind, u, steps): (u8, f64, Vec<i32>), s: &[f64]) -> f64 {
    let d = steps.iter().zip(s).map(|(&k, &s)| (k as f64 * s).powi(2)).sum::<f64>().sqrt();
    match kind {
        0 | 1 => u,
        2 => d,
        3 => d.next_down().max(0.0),
        4 => d * (1.0 - 2f64.powi(-30)),
        _ => ((d as f32).next_down().max(0.0)) as f64,
    }
}

/// A tolerance: (how it is drawn, the value, the grid offset it is drawn near).
type Tolerance = (u8, f64, Vec<i32>);
/// Shape, prediction, ground truth, spacing and two tolerances.
type Case = (Vec<usize>, Vec<u8>, Vec<u8>, Vec<f64>, Tolerance, Tolerance);

fn case() -> impl Strategy<Value = Case> {
    (2usize..=3)
        .prop_flat_map(|k| {
            let max = if k == 2 { 13 } else { 6 };
            (
                prop::collection::vec(1usize..=max, k),
                prop::collection::vec(0.3f64..2.5, k),
                tolerance(k),
                tolerance(k),
                0u8..8,
            )
        })
        .prop_map(|(shape, spacing, t1, t2, anisotropic)| {
            // Every other case isotropic (a spacing shared by all axes: more exact ties).
            let spacing = if anisotropic < 4 { vec![spacing[0]; spacing.len()] } else { spacing };
            (shape, spacing, t1, t2)
        })
        .prop_flat_map(|(shape, spacing, t1, t2)| {
            let n: usize = shape.iter().product();
            // Two items x two classes; a mask is sometimes empty.
            let mask = move || {
                (0u8..6, prop::collection::vec(prop::bool::weighted(0.35), n)).prop_map(
                    |(empty, b)| {
                        b.into_iter().map(|x| (x && empty != 0) as u8).collect::<Vec<u8>>()
                    },
                )
            };
            let four = move || {
                (mask(), mask(), mask(), mask()).prop_map(|(a, b, c, d)| [a, b, c, d].concat())
            };
            (Just(shape), four(), four(), Just(spacing), Just(t1), Just(t2))
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

    #[test]
    fn subvoxel_surface_dice_matches_oracle((shape, p, g, spacing, t1, t2) in case()) {
        let taus = [resolve_tau(t1, &spacing), resolve_tau(t2, &spacing)];
        let mut full = vec![2, 2];
        full.extend(&shape);
        let n: usize = shape.iter().product();
        let pd = Decisions::Masks(TensorView::contiguous("pred", &p, &full).unwrap());
        let gd = Decisions::Masks(TensorView::contiguous("gt", &g, &full).unwrap());
        let opts = SurfaceOptions { spacing: spacing.clone(), include_background: true, ..Default::default() };
        let got = surface_dice_subvoxels_monai(&Context::single(), &pd, &gd, 0, &opts, &taus).unwrap();
        prop_assert_eq!((got.items, got.classes), (2, 2));
        for (i, v) in got.values.iter().enumerate() {
            let (item, class) = (i / 2, i % 2);
            let at = (item * 2 + class) * n;
            let want = oracle(&p[at..at + n], &g[at..at + n], &shape, &spacing, taus[class]);
            prop_assert!(same(*v, want), "item {} class {} tau {}: {} vs {}", item, class, taus[class], v, want);
        }
        // Without the background: class 1 only, its tolerance the only one.
        let opts = SurfaceOptions { include_background: false, ..opts };
        let got = surface_dice_subvoxels_monai(&Context::single(), &pd, &gd, 0, &opts, &taus[1..]).unwrap();
        for item in 0..2 {
            let at = (item * 2 + 1) * n;
            let want = oracle(&p[at..at + n], &g[at..at + n], &shape, &spacing, taus[1]);
            prop_assert!(same(got.values[item], want), "no background, item {}: {} vs {}", item, got.values[item], want);
        }
    }
}

fn one_pair(pred: &[u8], gt: &[u8], shape: &[usize], spacing: &[f64], tau: f64) -> f64 {
    let mut full = vec![1, 1];
    full.extend(shape);
    let pd = Decisions::Masks(TensorView::contiguous("pred", pred, &full).unwrap());
    let gd = Decisions::Masks(TensorView::contiguous("gt", gt, &full).unwrap());
    let opts = SurfaceOptions {
        spacing: spacing.to_vec(),
        include_background: true,
        ..Default::default()
    };
    surface_dice_subvoxels_monai(&Context::single(), &pd, &gd, 0, &opts, &[tau]).unwrap().values[0]
}

/// A voxel against the voxel next to it along the last axis (3-D: two octahedra; 2-D: two
/// diamonds): half of the surfels coincide, the other half are one spacing of that axis away
/// from the other surface. The tolerance test is float32: a tolerance 2^-30 below that
/// spacing still admits them, the float32 below it does not.
#[test]
fn shifted_voxel_closed_form() {
    for (shape, s) in [(vec![3usize, 4], vec![0.7, 1.3]), (vec![3, 3, 4], vec![1.0, 2.0, 0.3])] {
        let n: usize = shape.iter().product();
        let (mut g, mut p) = (vec![0u8; n], vec![0u8; n]);
        let last = s[s.len() - 1];
        let at = |x: usize| if shape.len() == 2 { 4 + x } else { 16 + 4 + x };
        g[at(1)] = 1;
        p[at(2)] = 1;
        let cases = [
            (0.0, 0.5),
            (last, 1.0),
            (last * (1.0 - 2f64.powi(-30)), 1.0),
            (((last as f32).next_down()) as f64, 0.5),
            (100.0, 1.0),
        ];
        for (tau, want) in cases {
            let got = one_pair(&p, &g, &shape, &s, tau);
            assert!(same(got, want), "{shape:?} tau {tau}: {got} vs {want}");
        }
    }
}

#[test]
fn empty_mask_conventions() {
    let shape = [4usize, 5, 3];
    let zero = vec![0u8; 60];
    let mut one = zero.clone();
    one[17] = 1;
    one[18] = 1;
    let s = [1.0, 2.0, 0.5];
    // Both empty: NaN.
    assert!(one_pair(&zero, &zero, &shape, &s, 1.0).is_nan());
    // One empty: 0, for any finite float32 tolerance, including f32::MAX itself.
    for tau in [0.0, 3.0, 1e30, f32::MAX as f64] {
        assert_eq!(one_pair(&zero, &one, &shape, &s, tau), 0.0, "empty pred, tau {tau}");
        assert_eq!(one_pair(&one, &zero, &shape, &s, tau), 0.0, "empty gt, tau {tau}");
    }
    // A tolerance whose float32 is +inf admits the +inf distances (MONAI's float32 test).
    for tau in [1e39, 1e300] {
        assert_eq!(one_pair(&zero, &one, &shape, &s, tau), 1.0, "empty pred, tau {tau}");
        assert_eq!(one_pair(&one, &zero, &shape, &s, tau), 1.0, "empty gt, tau {tau}");
    }
    // A mask filling the grid has surfels (the grid is zero-padded); equal masks give 1.
    let all = vec![1u8; 60];
    assert_eq!(one_pair(&all, &all, &shape, &s, 0.0), 1.0);
    assert!(one_pair(&all, &one, &shape, &s, 0.5) < 1.0);
}

#[test]
fn bad_input_errors() {
    let ctx = Context::single();
    let v = [0u8; 48];
    let d = |shape: &[usize]| {
        Decisions::Masks(
            TensorView::contiguous("m", &v[..shape.iter().product::<usize>()], shape).unwrap(),
        )
    };
    let opts = SurfaceOptions { include_background: true, ..Default::default() };
    let f = |p: &Decisions<'_>, o: &SurfaceOptions, t: &[f64]| {
        surface_dice_subvoxels_monai(&ctx, p, p, 0, o, t)
    };
    assert!(matches!(f(&d(&[1, 1, 48]), &opts, &[1.0]), Err(DiceError::Rank { .. })));
    assert!(matches!(f(&d(&[1, 1, 2, 2, 3, 4]), &opts, &[1.0]), Err(DiceError::Rank { .. })));
    let m3 = d(&[1, 2, 2, 3, 4]);
    assert!(matches!(f(&m3, &opts, &[1.0]), Err(DiceError::ShapeMismatch { .. })));
    assert!(matches!(f(&m3, &opts, &[1.0, -1.0]), Err(DiceError::BadOption { .. })));
    assert!(matches!(f(&m3, &opts, &[1.0, f64::INFINITY]), Err(DiceError::BadOption { .. })));
    assert!(matches!(f(&m3, &opts, &[f64::NAN, 1.0]), Err(DiceError::NotANumber { .. })));
    let cheb = SurfaceOptions { metric: DistanceMetric::Chessboard, ..opts.clone() };
    assert!(matches!(
        f(&m3, &cheb, &[1.0, 1.0]),
        Err(DiceError::BadOption { name: "distance_metric", .. })
    ));
    let bad_spacing = SurfaceOptions { spacing: vec![1.0, 0.0, 1.0], ..opts.clone() };
    assert!(matches!(
        f(&m3, &bad_spacing, &[1.0, 1.0]),
        Err(DiceError::BadOption { name: "spacing", .. })
    ));
    let short_spacing = SurfaceOptions { spacing: vec![1.0, 1.0], ..opts.clone() };
    assert!(matches!(f(&m3, &short_spacing, &[1.0, 1.0]), Err(DiceError::ShapeMismatch { .. })));
}

/// One-hot masks of bumpy nested balls (three classes, two items) in a grid large enough for
/// the parallel paths (code rows, query rows, transform lines): bit-identical for 1, 2 and 3
/// threads, with a small tolerance (ball test) and a large one (distance transform).
#[test]
fn identical_for_any_thread_count() {
    let n = 68usize;
    let v = n * n * n;
    let label = |i: usize, shift: f64| -> usize {
        let x = [(i / (n * n)) as f64, ((i / n) % n) as f64, (i % n) as f64];
        let bump = 1.0 + 0.12 * (x[0] * 0.6).sin() * (x[1] * 0.45).cos();
        let r =
            ((x[0] - 34.0 - shift).powi(2) + (x[1] - 33.0).powi(2) + (x[2] - 35.0 + shift).powi(2))
                .sqrt()
                / bump;
        if r < 14.0 {
            2
        } else if r < 25.0 {
            1
        } else {
            0
        }
    };
    let onehot = |shift: [f64; 2]| {
        let mut m = vec![0u8; 2 * 3 * v];
        for item in 0..2 {
            for i in 0..v {
                m[(item * 3 + label(i, shift[item])) * v + i] = 1;
            }
        }
        m
    };
    let (p, g) = (onehot([1.5, -2.0]), onehot([0.0, 0.0]));
    let shape = [2usize, 3, n, n, n];
    let pd = Decisions::Masks(TensorView::contiguous("pred", &p, &shape).unwrap());
    let gd = Decisions::Masks(TensorView::contiguous("gt", &g, &shape).unwrap());
    // The background's box is the whole grid: large enough for the parallel paths.
    let opts = SurfaceOptions {
        spacing: vec![1.2, 0.9, 1.0],
        include_background: true,
        ..Default::default()
    };
    let run = |ctx: &Context| {
        let mut out = Vec::new();
        for t in [[1.5, 1.0, 2.0], [9.0, 12.0, 7.0]] {
            let (_, _, a) = subvoxel_areas(ctx, &pd, &gd, 0, &opts, &t).unwrap();
            out.extend(
                a.iter()
                    .flat_map(|x| [x.pred_area, x.pred_within, x.gt_area, x.gt_within])
                    .map(f64::to_bits),
            );
        }
        out
    };
    let one = run(&Context::single());
    let (_, _, a) =
        subvoxel_areas(&Context::single(), &pd, &gd, 0, &opts, &[1.5, 1.0, 2.0]).unwrap();
    assert!(a.iter().all(|x| x.pred_within > 0.0 && x.gt_within > 0.0), "{a:?}");
    assert!(a.iter().all(|x| x.pred_within < x.pred_area || x.gt_within < x.gt_area), "{a:?}");
    for t in [2, 3] {
        assert_eq!(one, run(&Context::new(t).unwrap()), "{t} threads");
    }
}
