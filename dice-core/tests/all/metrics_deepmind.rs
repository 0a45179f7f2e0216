//! DeepMind surface-distance: surfel areas against DeepMind's published table, closed forms,
//! a brute-force oracle, the reference case, empty-mask conventions, thread invariance.

use crate::common::{array, assert_all_close, cases};
use dice_core::error::DiceError;
use dice_core::metrics::*;
use dice_core::{Context, TensorView};
use proptest::prelude::*;

/// Areas of codes 0..128 from DeepMind's `_NEIGHBOUR_CODE_TO_NORMALS` (surface-distance 0.1)
/// at spacing (1.0, 1.7, 2.9), computed with its `create_table_neighbour_code_to_surface_area`;
/// the table lists code 255 - c with the normals of code c.
#[rustfmt::skip]
const DEEPMIND_AREAS: [f64; 128] = [
    0.0, 0.7458730203593638, 0.7458730203593638, 2.8598470238808225,
    0.7458730203593638, 2.607436480530254, 1.4917460407187275, 4.702619061078091,
    0.7458730203593638, 1.4917460407187275, 2.607436480530254, 4.702619061078091,
    2.8598470238808225, 4.702619061078091, 4.702619061078091, 4.93,
    0.7458730203593638, 1.680773631397161, 1.4917460407187275, 3.687619061078091,
    1.4917460407187275, 3.087619061078091, 2.2376190610780915, 4.475238122156183,
    1.4917460407187275, 2.426646651756525, 3.353309500889618, 5.127597137401162,
    3.6057200442401864, 5.253802409076447, 5.448492081437454, 4.7026190610780905,
    0.7458730203593638, 1.4917460407187275, 1.680773631397161, 3.6876190610780912,
    1.4917460407187275, 3.353309500889618, 2.426646651756525, 5.127597137401162,
    1.4917460407187275, 2.2376190610780915, 3.087619061078091, 4.475238122156182,
    3.6057200442401864, 5.448492081437455, 5.253802409076447, 4.702619061078091,
    2.8598470238808225, 3.687619061078091, 3.6876190610780912, 2.9,
    3.6057200442401864, 5.717133833642993, 4.433492081437455, 3.687619061078091,
    3.6057200442401864, 4.433492081437454, 5.717133833642993, 3.687619061078091,
    5.719694047761645, 3.6057200442401864, 3.6057200442401864, 2.8598470238808225,
    0.7458730203593638, 1.4917460407187275, 1.4917460407187275, 3.6057200442401864,
    1.680773631397161, 3.087619061078091, 2.426646651756525, 5.253802409076447,
    1.4917460407187275, 2.2376190610780915, 3.353309500889618, 5.448492081437455,
    3.687619061078091, 4.475238122156182, 5.127597137401162, 4.702619061078091,
    2.607436480530254, 3.087619061078091, 3.353309500889618, 5.717133833642993,
    3.087619061078091, 1.7, 3.833492081437455, 3.0876190610780916,
    3.353309500889618, 3.8334920814374547, 5.214872961060508, 3.353309500889618,
    5.717133833642993, 3.087619061078091, 3.353309500889618, 2.607436480530254,
    1.4917460407187275, 2.2376190610780915, 2.426646651756525, 4.433492081437455,
    2.426646651756525, 3.8334920814374547, 3.361547262794322, 2.426646651756525,
    2.2376190610780915, 2.983492081437455, 3.8334920814374547, 2.2376190610780915,
    4.433492081437454, 2.2376190610780915, 2.426646651756525, 1.4917460407187275,
    4.702619061078091, 4.475238122156183, 5.127597137401162, 3.687619061078091,
    5.253802409076447, 3.0876190610780916, 2.426646651756525, 1.680773631397161,
    5.448492081437455, 2.2376190610780915, 3.353309500889618, 1.4917460407187275,
    3.6057200442401864, 1.4917460407187275, 1.4917460407187275, 0.7458730203593638,
];

#[test]
fn surfel_areas_match_deepmind_table() {
    let ours = surfel_areas_3d([1.0, 1.7, 2.9]);
    assert_eq!(ours.len(), 256);
    for code in 0..256 {
        let want = DEEPMIND_AREAS[code.min(255 - code)];
        assert!(
            (ours[code] - want).abs() <= 1e-12 * want.max(1.0),
            "code {code}: {} vs {want}",
            ours[code]
        );
    }
}

#[test]
fn contour_lengths_closed_form() {
    let (s0, s1) = (0.7, 1.9);
    let l = contour_lengths_2d([s0, s1]);
    let diag = 0.5 * (s0 * s0 + s1 * s1).sqrt();
    // Bits: 8 (0,0), 4 (0,1), 2 (1,0), 1 (1,1).
    let want = [
        0.0,
        diag,
        diag,
        s1,
        diag,
        s0,
        2.0 * diag,
        diag,
        diag,
        2.0 * diag,
        s0,
        diag,
        s1,
        diag,
        diag,
        0.0,
    ];
    for c in 0..16 {
        assert!((l[c] - want[c]).abs() < 1e-15, "code {c}: {} vs {}", l[c], want[c]);
    }
}

fn sd(ctx: &Context, gt: &[u8], pred: &[u8], shape: &[usize], spacing: &[f64]) -> SurfaceDistances {
    let g = TensorView::contiguous("mask_gt", gt, shape).unwrap();
    let p = TensorView::contiguous("mask_pred", pred, shape).unwrap();
    surface_distances(ctx, &g, &p, spacing).unwrap()
}

/// A box of `a` voxels per axis at offset 1 in a grid of `a + 2`.
fn boxed(a: &[usize]) -> (Vec<usize>, Vec<u8>) {
    let shape: Vec<usize> = a.iter().map(|x| x + 2).collect();
    let n: usize = shape.iter().product();
    let mut v = vec![0u8; n];
    for (i, x) in v.iter_mut().enumerate() {
        let mut rest = i;
        let mut inside = true;
        for d in (0..shape.len()).rev() {
            let c = rest % shape[d];
            rest /= shape[d];
            inside &= c >= 1 && c <= a[d];
        }
        *x = inside as u8;
    }
    (shape, v)
}

#[test]
fn box_surface_area_closed_form() {
    // Marching-cubes surface of an a x b x c box: flat faces between the outer voxel centres
    // (half a voxel out), bevels of width |(s_i, s_j)| / 2 along the edges, 8 corner triangles.
    let ctx = Context::single();
    let s = [1.3, 0.6, 2.2];
    for dims in [[1usize, 1, 1], [4, 3, 5], [7, 1, 2]] {
        let (shape, m) = boxed(&dims);
        let r = sd(&ctx, &m, &m, &shape, &s);
        let [a, b, c] = dims.map(|x| (x - 1) as f64);
        let h = |x: f64, y: f64| 0.5 * (x * x + y * y).sqrt();
        let want = 2.0 * (b * c * s[1] * s[2] + a * c * s[0] * s[2] + a * b * s[0] * s[1])
            + 4.0
                * (c * s[2] * h(s[0], s[1]) + b * s[1] * h(s[0], s[2]) + a * s[0] * h(s[1], s[2]))
            + ((s[1] * s[2]).powi(2) + (s[0] * s[2]).powi(2) + (s[0] * s[1]).powi(2)).sqrt();
        let got: f64 = r.surfel_areas_gt.iter().sum();
        assert!((got - want).abs() < 1e-9 * want, "{dims:?}: {got} vs {want}");
        assert!(r.distances_gt_to_pred.iter().all(|&d| d == 0.0));
        assert_eq!(r.surfel_areas_gt, r.surfel_areas_pred);
    }
    // 2-D: a x b rectangle.
    let s = [0.8, 1.7];
    let (shape, m) = boxed(&[5, 3]);
    let r = sd(&ctx, &m, &m, &shape, &s);
    let want = 2.0 * (4.0 * s[0] + 2.0 * s[1]) + 4.0 * 0.5 * (s[0] * s[0] + s[1] * s[1]).sqrt();
    let got: f64 = r.surfel_areas_gt.iter().sum();
    assert!((got - want).abs() < 1e-12 * want, "{got} vs {want}");
}

/// Neighbour code of corner `p` (corner grid = voxel grid + 1 per axis), from the definition.
fn code_at(mask: &[u8], shape: &[usize], p: &[usize]) -> usize {
    let k = shape.len();
    let mut code = 0;
    for j in 0..1usize << k {
        let mut flat = 0usize;
        let mut inside = true;
        for d in 0..k {
            let jd = (j >> (k - 1 - d)) & 1;
            let x = p[d] as isize - 1 + jd as isize;
            inside &= x >= 0 && (x as usize) < shape[d];
            flat = flat * shape[d] + x.max(0) as usize;
        }
        if inside && mask[flat] != 0 {
            code |= 1 << ((1 << k) - 1 - j);
        }
    }
    code
}

/// Surfels (corner position, code) of a mask over the whole padded corner grid.
fn surfels(mask: &[u8], shape: &[usize]) -> Vec<(Vec<usize>, usize)> {
    let n: Vec<usize> = shape.iter().map(|e| e + 1).collect();
    let full = (1 << (1 << shape.len())) - 1;
    let mut out = Vec::new();
    for i in 0..n.iter().product::<usize>() {
        let mut p = vec![0; n.len()];
        let mut rest = i;
        for d in (0..n.len()).rev() {
            p[d] = rest % n[d];
            rest /= n[d];
        }
        let c = code_at(mask, shape, &p);
        if c != 0 && c != full {
            out.push((p, c));
        }
    }
    out
}

fn oracle(
    from: &[(Vec<usize>, usize)],
    to: &[(Vec<usize>, usize)],
    s: &[f64],
    table: &[f64],
) -> (Vec<f64>, Vec<f64>) {
    let mut pairs: Vec<(f64, f64)> = from
        .iter()
        .map(|(a, c)| {
            let d = to
                .iter()
                .map(|(b, _)| {
                    a.iter()
                        .zip(b)
                        .zip(s)
                        .map(|((x, y), s)| ((*x as f64 - *y as f64) * s).powi(2))
                        .sum::<f64>()
                        .sqrt()
                })
                .fold(f64::INFINITY, f64::min);
            (d, table[*c])
        })
        .collect();
    pairs.sort_by(|x, y| x.0.total_cmp(&y.0).then(x.1.total_cmp(&y.1)));
    pairs.into_iter().unzip()
}

fn case() -> impl Strategy<Value = (Vec<usize>, Vec<u8>, Vec<u8>, Vec<f64>)> {
    (2usize..=3)
        .prop_flat_map(|k| {
            let max = if k == 2 { 12 } else { 6 };
            (prop::collection::vec(1usize..=max, k), prop::collection::vec(0.3f64..2.5, k))
        })
        .prop_flat_map(|(shape, spacing)| {
            let n: usize = shape.iter().product();
            let bits = || {
                prop::collection::vec(prop::bool::weighted(0.3), n)
                    .prop_map(|b| b.into_iter().map(u8::from).collect::<Vec<u8>>())
            };
            (Just(shape), bits(), bits(), Just(spacing))
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 150, ..ProptestConfig::default() })]

    #[test]
    fn distances_match_brute_force((shape, g, p, s) in case()) {
        let ctx = Context::single();
        let r = sd(&ctx, &g, &p, &shape, &s);
        let table = if shape.len() == 3 { surfel_areas_3d([s[0], s[1], s[2]]) } else { contour_lengths_2d([s[0], s[1]]) };
        let (sg, sp) = (surfels(&g, &shape), surfels(&p, &shape));
        let (dg, ag) = oracle(&sg, &sp, &s, &table);
        let (dp, ap) = oracle(&sp, &sg, &s, &table);
        let g_empty = !g.iter().any(|&v| v != 0);
        let p_empty = !p.iter().any(|&v| v != 0);
        prop_assert_eq!(r.distances_gt_to_pred.len(), dg.len());
        prop_assert_eq!(r.distances_pred_to_gt.len(), dp.len());
        prop_assert_eq!(dg.is_empty(), g_empty);
        prop_assert_eq!(dp.is_empty(), p_empty);
        for (got, want) in [(&r.distances_gt_to_pred, &dg), (&r.distances_pred_to_gt, &dp), (&r.surfel_areas_gt, &ag), (&r.surfel_areas_pred, &ap)] {
            for (a, b) in got.iter().zip(want.iter()) {
                prop_assert!(a == b || (a - b).abs() <= 1e-12 * b.abs().max(1.0), "{} vs {}", a, b);
            }
        }
    }
}

fn expected_value(v: &serde_json::Value) -> Vec<f64> {
    match v {
        serde_json::Value::Array(a) => a.iter().map(|x| x.as_f64().unwrap()).collect(),
        x => vec![x.as_f64().unwrap()],
    }
}

#[test]
fn deepmind_reference_case() {
    let case = cases()
        .into_iter()
        .find(|c| c["id"] == "deepmind_surface_distance_3d_aniso")
        .expect("reference case");
    let (shape, g) = array(&case, "mask_gt");
    let (_, p) = array(&case, "mask_pred");
    let (g, p): (Vec<u8>, Vec<u8>) =
        (g.iter().map(|&v| v as u8).collect(), p.iter().map(|&v| v as u8).collect());
    let spacing: Vec<f64> = case["call_kwargs"]["spacing_mm"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_f64().unwrap())
        .collect();
    for ctx in [Context::single(), Context::new(2).unwrap()] {
        let r = sd(&ctx, &g, &p, &shape, &spacing);
        let mut checked = 0;
        for (key, e) in case["expected"].as_object().unwrap() {
            let (name, param) = key
                .split_once('@')
                .map_or((key.as_str(), f64::NAN), |(n, q)| (n, q.parse::<f64>().unwrap()));
            let got = match name {
                "surface_dice" => vec![r.surface_dice_at_tolerance(param).unwrap()],
                "surface_overlap" => {
                    let (a, b) = r.surface_overlap_at_tolerance(param).unwrap();
                    vec![a, b]
                }
                "robust_hausdorff" => vec![r.robust_hausdorff(param).unwrap()],
                "average_surface_distance" => {
                    let (a, b) = r.average_surface_distance();
                    vec![a, b]
                }
                other => panic!("no check for {other}"),
            };
            let (atol, rtol) = if e["tol"] == "distance" { (1e-4, 0.0) } else { (1e-6, 1e-5) };
            assert_all_close(key, &got, &expected_value(&e["value"]), atol, rtol);
            checked += 1;
        }
        assert_eq!(checked, 9);
    }
}

#[test]
fn empty_mask_conventions() {
    let ctx = Context::single();
    let shape = [4usize, 5, 3];
    let zero = vec![0u8; 60];
    let mut one = zero.clone();
    one[17] = 1;
    one[18] = 1;
    let s = [1.0, 2.0, 0.5];
    // Both empty: four empty lists; 0/0 metrics NaN, Hausdorff +inf.
    let r = sd(&ctx, &zero, &zero, &shape, &s);
    assert_eq!(r, SurfaceDistances::default());
    let (a, b) = r.average_surface_distance();
    assert!(a.is_nan() && b.is_nan());
    assert_eq!(r.robust_hausdorff(95.0).unwrap(), f64::INFINITY);
    assert!(r.surface_dice_at_tolerance(1.0).unwrap().is_nan());
    let (a, b) = r.surface_overlap_at_tolerance(1.0).unwrap();
    assert!(a.is_nan() && b.is_nan());
    // Ground truth empty: its lists empty, every prediction distance +inf.
    let r = sd(&ctx, &zero, &one, &shape, &s);
    assert!(r.distances_gt_to_pred.is_empty() && r.surfel_areas_gt.is_empty());
    assert!(!r.distances_pred_to_gt.is_empty());
    assert!(r.distances_pred_to_gt.iter().all(|d| d.is_infinite()));
    let (a, b) = r.average_surface_distance();
    assert!(a.is_nan() && b == f64::INFINITY);
    assert_eq!(r.robust_hausdorff(50.0).unwrap(), f64::INFINITY);
    assert_eq!(r.surface_dice_at_tolerance(3.0).unwrap(), 0.0);
    let (a, b) = r.surface_overlap_at_tolerance(3.0).unwrap();
    assert!(a.is_nan() && b == 0.0);
    // Grids with a zero extent hold no voxel: four empty lists (DeepMind's empty bounding box).
    for shape in [[3usize, 0], [0, 4]] {
        assert_eq!(sd(&ctx, &[], &[], &shape, &[1.0, 1.0]), SurfaceDistances::default());
    }
    // Prediction empty: mirrored.
    let r = sd(&ctx, &one, &zero, &shape, &s);
    assert!(
        r.distances_pred_to_gt.is_empty() && r.distances_gt_to_pred.iter().all(|d| d.is_infinite())
    );
}

#[test]
fn robust_hausdorff_index_rule() {
    // cumsum / sum = [0.25, 0.5, 0.75, 1]: the first index reaching percent / 100.
    let r = SurfaceDistances {
        distances_gt_to_pred: vec![1.0, 2.0, 3.0, 4.0],
        surfel_areas_gt: vec![1.0; 4],
        distances_pred_to_gt: vec![0.5],
        surfel_areas_pred: vec![2.0],
    };
    for (q, want) in [(0.0, 1.0), (25.0, 1.0), (26.0, 2.0), (50.0, 2.0), (51.0, 3.0), (100.0, 4.0)]
    {
        assert_eq!(r.robust_hausdorff(q).unwrap(), want, "percent {q}");
    }
    assert_eq!(r.surface_dice_at_tolerance(2.0).unwrap(), (2.0 + 2.0) / (4.0 + 2.0));
    assert_eq!(r.surface_overlap_at_tolerance(2.5).unwrap(), (0.5, 1.0));
    assert_eq!(r.average_surface_distance(), (2.5, 0.5));
    r.check().unwrap();
}

#[test]
fn bad_input_errors() {
    let ctx = Context::single();
    let v = vec![0u8; 24];
    let g3 = TensorView::contiguous("mask_gt", &v, &[2, 3, 4]).unwrap();
    let g4 = TensorView::contiguous("mask_gt", &v, &[2, 3, 2, 2]).unwrap();
    let g1 = TensorView::contiguous("mask_gt", &v, &[24]).unwrap();
    let p2 = TensorView::contiguous("mask_pred", &v, &[6, 4]).unwrap();
    assert!(matches!(surface_distances(&ctx, &g4, &g4, &[1.0; 4]), Err(DiceError::Rank { .. })));
    assert!(matches!(surface_distances(&ctx, &g1, &g1, &[1.0]), Err(DiceError::Rank { .. })));
    assert!(matches!(
        surface_distances(&ctx, &g3, &p2, &[1.0; 3]),
        Err(DiceError::ShapeMismatch { .. })
    ));
    assert!(matches!(
        surface_distances(&ctx, &g3, &g3, &[1.0; 2]),
        Err(DiceError::ShapeMismatch { .. })
    ));
    assert!(matches!(
        surface_distances(&ctx, &g3, &g3, &[1.0, f64::NAN, 1.0]),
        Err(DiceError::NotANumber { .. })
    ));
    assert!(matches!(
        surface_distances(&ctx, &g3, &g3, &[1.0, -1.0, 1.0]),
        Err(DiceError::BadOption { .. })
    ));
    let r = SurfaceDistances::default();
    assert!(matches!(r.robust_hausdorff(f64::NAN), Err(DiceError::NotANumber { .. })));
    assert!(matches!(r.robust_hausdorff(101.0), Err(DiceError::BadOption { .. })));
    assert!(matches!(r.surface_dice_at_tolerance(f64::NAN), Err(DiceError::NotANumber { .. })));
    assert!(matches!(r.surface_overlap_at_tolerance(-1.0), Err(DiceError::BadOption { .. })));
    let unsorted = SurfaceDistances {
        distances_gt_to_pred: vec![2.0, 1.0],
        surfel_areas_gt: vec![1.0, 1.0],
        ..Default::default()
    };
    assert!(matches!(unsorted.check(), Err(DiceError::BadOption { .. })));
    let ragged = SurfaceDistances { distances_gt_to_pred: vec![1.0], ..Default::default() };
    assert!(matches!(ragged.check(), Err(DiceError::ShapeMismatch { .. })));
}

/// Two offset bumpy balls in a `n`^3 grid.
fn blobs(n: usize) -> (Vec<u8>, Vec<u8>) {
    let c = n as f64 / 2.0;
    let ball = |dx: f64, r: f64| {
        let mut v = vec![0u8; n * n * n];
        for (i, x) in v.iter_mut().enumerate() {
            let (a, b, z) = ((i / (n * n)) as f64, ((i / n) % n) as f64, (i % n) as f64);
            let bump = 1.0 + 0.15 * (a * 0.7).sin() * (b * 0.5).cos();
            *x = (((a - c - dx).powi(2) + (b - c).powi(2) + (z - c).powi(2)).sqrt() < r * bump)
                as u8;
        }
        v
    };
    (ball(0.0, n as f64 * 0.3), ball(2.5, n as f64 * 0.28))
}

#[test]
fn identical_for_any_thread_count() {
    let n = 72;
    let (g, p) = blobs(n);
    let s = [1.2, 0.7, 0.9];
    let one = sd(&Context::single(), &g, &p, &[n, n, n], &s);
    for threads in [2, 3] {
        assert_eq!(
            sd(&Context::new(threads).unwrap(), &g, &p, &[n, n, n], &s),
            one,
            "{threads} threads"
        );
    }
    let counts = surfel_counts(
        &Context::single(),
        &TensorView::contiguous("g", &g, &[n, n, n]).unwrap(),
        &TensorView::contiguous("p", &p, &[n, n, n]).unwrap(),
        &s,
    )
    .unwrap();
    assert_eq!(counts, (one.distances_gt_to_pred.len(), one.distances_pred_to_gt.len()));
}
