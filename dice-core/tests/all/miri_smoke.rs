//! Tiny cases that reach every `unsafe` block of dice-core, sized for Miri (scripts/miri.sh):
//! the gradient's raw-pointer writes (engine) through C-order, strided and negative-stride
//! views, in f32 and f64, with label and dense targets, from dice_loss_grad, the three-step
//! API and the pointwise map; the distance transform's line passes (edt) and the surface
//! metrics' ball search (band); the boundary loss's gradient writes; on one and two threads.
//! Each case also checks its result against dice_core::reference or a closed form, so it is
//! an ordinary test as well.

use dice_core::boundary_loss::{BoundaryLossOptions, boundary_loss};
use dice_core::metrics::{
    Decisions, DistanceMetric, SurfaceOptions, distance_transform, hausdorff_monai, signed_distance,
};
use dice_core::reference::dice_reference;
use dice_core::{
    Activation, Context, DiceOptions, Labels, PointwiseKind, Reduction, Target, TensorView,
    TensorViewMut, dice_backward, dice_finalize, dice_loss_grad, dice_pointwise_map, dice_stats,
};

const SHAPE: [usize; 4] = [2, 3, 2, 3];

// Two tests per case: `<case>_1thread` (Context::single) and `<case>_2threads` (a pool of 2).
// scripts/miri.sh runs them under different aliasing models (see docs/reliability.md).
macro_rules! on_threads {
    ($case:ident, $one:ident, $two:ident) => {
        #[test]
        fn $one() {
            $case(&Context::single());
        }
        #[test]
        fn $two() {
            $case(&Context::new(2).unwrap());
        }
    };
}

fn inputs() -> (Vec<f64>, Vec<i64>) {
    let x: Vec<f64> = (0..36).map(|i| ((i * 7) % 11) as f64 / 10.0 - 0.4).collect();
    let l: Vec<i64> = (0..12).map(|i| (i * 5 % 3) as i64).collect();
    (x, l)
}

// The gradient written through a view whose last axis is reversed and whose channel axis
// is padded (strides (24, 8, 3, -1), base at the first row's end), compared element-wise
// with the oracle; padding elements must stay untouched.
fn grad_strided<T: dice_core::Float + Copy>(
    ctx: &Context,
    to: impl Fn(f64) -> T,
    back: impl Fn(T) -> f64,
    tol: f64,
) {
    let (x, l) = inputs();
    let xt: Vec<T> = x.iter().map(|&v| to(v)).collect();
    let xv = TensorView::contiguous("input", &xt, &SHAPE).unwrap();
    let lv = TensorView::contiguous("target", &l, &[2, 2, 3]).unwrap();
    let target = Target::Labels(Labels::I64(lv));
    let opts = DiceOptions {
        activation: Activation::Softmax,
        reduction: Reduction::Mean,
        ..DiceOptions::default()
    };
    let xr: Vec<f64> = xt.iter().map(|&v| back(v)).collect();
    let r = dice_reference(
        &TensorView::contiguous("input", &xr, &SHAPE).unwrap(),
        &target_f64(&l),
        &opts,
    );
    {
        let sentinel = to(7.0);
        let mut buf = vec![sentinel; 48];
        {
            let mut g = TensorViewMut::new("grad", &mut buf, 2, &SHAPE, &[24, 8, 3, -1]).unwrap();
            let fin = dice_loss_grad(ctx, &xv, &target, &opts, None, &mut g).unwrap();
            assert!((fin.loss() - r.loss).abs() < tol, "loss {} vs {}", fin.loss(), r.loss);
        }
        for n in 0..2 {
            for c in 0..3 {
                for h in 0..2 {
                    for w in 0..3 {
                        let at = (2 + 24 * n + 8 * c + 3 * h) as isize - w as isize;
                        let want = r.grad[((n * 3 + c) * 2 + h) * 3 + w];
                        let got = back(buf[at as usize]);
                        assert!((got - want).abs() < tol, "grad[{n},{c},{h},{w}] {got} vs {want}");
                        buf[at as usize] = sentinel;
                    }
                }
            }
        }
        assert!(buf.iter().all(|&v| back(v) == 7.0), "a padding element was written");
    }
}

fn target_f64(l: &[i64]) -> Target<'_, f64> {
    Target::Labels(Labels::I64(TensorView::contiguous("target", l, &[2, 2, 3]).unwrap()))
}

fn grad_strided_f64(ctx: &Context) {
    grad_strided(ctx, |v| v, |v| v, 1e-12);
}
on_threads!(grad_strided_f64, grad_strided_f64_1thread, grad_strided_f64_2threads);

fn grad_strided_f32(ctx: &Context) {
    grad_strided(ctx, |v| v as f32, f64::from, 1e-5);
}
on_threads!(grad_strided_f32, grad_strided_f32_1thread, grad_strided_f32_2threads);

// Dense target, sigmoid, reduction none, the three-step API, an input view with a negative
// batch stride.
on_threads!(
    three_step_dense_negative_batch_stride,
    three_step_dense_negative_batch_stride_1thread,
    three_step_dense_negative_batch_stride_2threads
);

fn three_step_dense_negative_batch_stride(ctx: &Context) {
    let (x, l) = inputs();
    let t: Vec<f64> = (0..36)
        .map(|i| if l[(i / 18) * 6 + i % 6] as usize == (i / 6) % 3 { 1.0 } else { 0.0 })
        .collect();
    // Items stored in reverse order: logical item n sits at physical item 1 - n.
    let mut xs = x.clone();
    xs.rotate_left(18);
    let xv = TensorView::new("input", &xs, 18, &SHAPE, &[-18, 6, 3, 1]).unwrap();
    let tv = TensorView::contiguous("target", &t, &SHAPE).unwrap();
    let opts = DiceOptions {
        activation: Activation::Sigmoid,
        reduction: Reduction::None,
        ..DiceOptions::default()
    };
    let r = dice_reference(
        &TensorView::contiguous("input", &x, &SHAPE).unwrap(),
        &Target::Dense(TensorView::contiguous("target", &t, &SHAPE).unwrap()),
        &opts,
    );
    {
        let stats = dice_stats(ctx, &xv, &Target::Dense(tv), &opts).unwrap();
        let fin = dice_finalize(&stats, &opts).unwrap();
        for (a, b) in fin.values().iter().zip(&r.values) {
            assert!((a - b).abs() < 1e-12);
        }
        let coef = fin.coefficients(None).unwrap();
        let mut g = vec![0.0; 36];
        let mut gv = TensorViewMut::contiguous("grad", &mut g, &SHAPE).unwrap();
        dice_backward(ctx, &xv, &Target::Dense(tv), &opts, &coef, &mut gv).unwrap();
        for (a, b) in g.iter().zip(&r.grad) {
            assert!((a - b).abs() < 1e-12, "{a} vs {b}");
        }
    }
}

// The pointwise map's writes (BCE per element) through a reversed view.
on_threads!(
    pointwise_map_reversed,
    pointwise_map_reversed_1thread,
    pointwise_map_reversed_2threads
);

fn pointwise_map_reversed(ctx: &Context) {
    let (x, l) = inputs();
    let lv = TensorView::contiguous("target", &l, &[2, 2, 3]).unwrap();
    let xv = TensorView::contiguous("input", &x, &SHAPE).unwrap();
    let mut opts = DiceOptions::default();
    opts.pointwise.kind = PointwiseKind::Bce;
    {
        let mut out = vec![f64::NAN; 36];
        let mut ov = TensorViewMut::new("out", &mut out, 2, &SHAPE, &[18, 6, 3, -1]).unwrap();
        dice_pointwise_map(ctx, &xv, &Target::Labels(Labels::I64(lv)), None, &opts, &mut ov)
            .unwrap();
        for n in 0..2 {
            for c in 0..3 {
                for s in 0..6 {
                    let (h, w) = (s / 3, s % 3);
                    let z = x[(n * 3 + c) * 6 + s];
                    let y = if l[n * 6 + s] as usize == c { 1.0 } else { 0.0 };
                    let want = z.max(0.0) - z * y + (-z.abs()).exp().ln_1p();
                    let got = out[18 * n + 6 * c + 3 * h + 2 - w];
                    assert!((got - want).abs() < 1e-12, "bce {got} vs {want}");
                }
            }
        }
    }
}

// Distance transforms (edt line passes), unsigned and signed, 2-D with a reversed axis.
on_threads!(
    distance_transform_small,
    distance_transform_small_1thread,
    distance_transform_small_2threads
);

fn distance_transform_small(ctx: &Context) {
    let m: [u8; 12] = [0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1];
    let mut rev = m;
    for row in rev.chunks_mut(4) {
        row.reverse();
    }
    let mv = TensorView::new("mask", &rev, 3, &[3, 4], &[4, -1]).unwrap();
    let spacing = [1.0, 0.5];
    {
        let d = distance_transform(ctx, &mv, &spacing, DistanceMetric::Euclidean).unwrap();
        for i in 0..12 {
            let (y, x) = ((i / 4) as f64, (i % 4) as f64 * 0.5);
            let want = [(0.0, 1.5), (2.0, 1.5)]
                .iter()
                .map(|&(fy, fx): &(f64, f64)| ((y - fy).powi(2) + (x - fx).powi(2)).sqrt())
                .fold(f64::INFINITY, f64::min);
            assert!((d[i] - want).abs() < 1e-12, "edt[{i}] {} vs {want}", d[i]);
        }
        let s = signed_distance(ctx, &mv, &spacing).unwrap();
        assert_eq!(s.len(), 12);
        assert!(s[3] <= 0.0 && s[0] > 0.0, "signed distance signs: {s:?}");
        let t = distance_transform(ctx, &mv, &spacing, DistanceMetric::Taxicab).unwrap();
        assert_eq!(t[0], 1.5);
    }
}

// The surface metrics' ball search (band): Hausdorff of two single-voxel masks.
on_threads!(hausdorff_small, hausdorff_small_1thread, hausdorff_small_2threads);

fn hausdorff_small(ctx: &Context) {
    let p: [u8; 16] = [0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];
    let g: [u8; 16] = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0];
    let pv = TensorView::contiguous("pred", &p, &[1, 1, 4, 4]).unwrap();
    let gv = TensorView::contiguous("gt", &g, &[1, 1, 4, 4]).unwrap();
    let opts = SurfaceOptions { include_background: true, ..SurfaceOptions::default() };
    {
        let h = hausdorff_monai(
            ctx,
            &Decisions::Masks(pv),
            &Decisions::Masks(gv),
            1,
            &opts,
            None,
            false,
        )
        .unwrap();
        // pred at (1, 1), gt at (3, 2).
        let want = (4.0f64 + 1.0).sqrt();
        let v = &h.values;
        assert!((v[0] - want).abs() < 1e-12, "hausdorff {v:?} vs {want}");
    }
}

// The boundary loss's gradient writes through a reversed view.
on_threads!(
    boundary_loss_grad_reversed,
    boundary_loss_grad_reversed_1thread,
    boundary_loss_grad_reversed_2threads
);

fn boundary_loss_grad_reversed(ctx: &Context) {
    let (x, _) = inputs();
    let phi: Vec<f64> = (0..36).map(|i| (i % 5) as f64 - 2.0).collect();
    let xv = TensorView::contiguous("input", &x, &SHAPE).unwrap();
    let pv = TensorView::contiguous("phi", &phi, &SHAPE).unwrap();
    let opts = BoundaryLossOptions { activation: Activation::None, include_background: true };
    {
        let mut g = vec![f64::NAN; 36];
        let mut gv = TensorViewMut::new("grad", &mut g, 2, &SHAPE, &[18, 6, 3, -1]).unwrap();
        let loss = boundary_loss(ctx, &xv, &pv, &opts, Some(&mut gv)).unwrap();
        let want: f64 = x.iter().zip(&phi).map(|(a, b)| a * b).sum::<f64>() / 36.0;
        assert!((loss - want).abs() < 1e-12);
        for i in 0..36 {
            let (nc, s) = (i / 6, i % 6);
            let got = g[6 * nc + 3 * (s / 3) + 2 - s % 3];
            assert!((got - phi[i] / 36.0).abs() < 1e-12, "boundary grad[{i}] {got}");
        }
    }
}
