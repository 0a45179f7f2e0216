//! Boundary loss: value against a direct f64 formula, gradient against central finite
//! differences (none / sigmoid / softmax, strided gradient), the blend with Dice under a ramp,
//! signed distance maps from labels, thread-count invariance, bad input.

use crate::common::Rng;
use dice_core::boundary_loss::{
    BoundaryLossOptions, boundary_loss, dice_boundary_loss_grad, signed_distance_maps,
};
use dice_core::metrics::Decisions;
use dice_core::{
    Activation, Context, DiceOptions, Labels, Ramp, RampKind, Target, TensorView, TensorViewMut,
};

const SHAPE: [usize; 4] = [2, 3, 5, 6];

fn setup(seed: u64) -> (Vec<f64>, Vec<i64>) {
    let mut rng = Rng(seed);
    let n: usize = SHAPE.iter().product();
    let x = (0..n).map(|_| rng.uniform(-2.0, 2.0)).collect();
    let labels = (0..SHAPE[0] * SHAPE[2] * SHAPE[3]).map(|_| rng.below(SHAPE[1]) as i64).collect();
    (x, labels)
}

fn phi_of(ctx: &Context, labels: &[i64]) -> Vec<f64> {
    let lv = TensorView::contiguous("gt", labels, &[SHAPE[0], 1, SHAPE[2], SHAPE[3]]).unwrap();
    signed_distance_maps::<f64>(ctx, &Decisions::Labels(Labels::I64(lv)), SHAPE[1], &[1.5, 0.7])
        .unwrap()
}

fn loss_of(ctx: &Context, x: &[f64], phi: &[f64], opts: &BoundaryLossOptions) -> f64 {
    let xv = TensorView::contiguous("input", x, &SHAPE).unwrap();
    let pv = TensorView::contiguous("phi", phi, &SHAPE).unwrap();
    boundary_loss(ctx, &xv, &pv, opts, None).unwrap()
}

/// Direct formula: mean over (n, kept c, voxels) of phi * activation(x).
fn oracle(x: &[f64], phi: &[f64], opts: &BoundaryLossOptions) -> f64 {
    let (n, c, s) = (SHAPE[0], SHAPE[1], SHAPE[2] * SHAPE[3]);
    let first = if opts.include_background { 0 } else { 1 };
    let mut total = 0.0;
    for i in 0..n {
        for v in 0..s {
            let logits: Vec<f64> = (0..c).map(|k| x[(i * c + k) * s + v]).collect();
            let p: Vec<f64> = match opts.activation {
                Activation::None => logits,
                Activation::Sigmoid => logits.iter().map(|z| 1.0 / (1.0 + (-z).exp())).collect(),
                Activation::Softmax => {
                    let e: Vec<f64> = logits.iter().map(|z| z.exp()).collect();
                    let t: f64 = e.iter().sum();
                    e.iter().map(|v| v / t).collect()
                }
            };
            for k in first..c {
                total += phi[(i * c + k) * s + v] * p[k];
            }
        }
    }
    total / (n * (c - first) * s) as f64
}

#[test]
fn value_and_gradient() {
    let ctx = Context::single();
    let (x, labels) = setup(11);
    let phi = phi_of(&ctx, &labels);
    assert!(phi.iter().any(|&v| v < 0.0) && phi.iter().any(|&v| v > 0.0));
    for activation in [Activation::None, Activation::Sigmoid, Activation::Softmax] {
        for include_background in [false, true] {
            let opts = BoundaryLossOptions { activation, include_background };
            let want = oracle(&x, &phi, &opts);
            // A strided gradient: channels-last buffer.
            let (n, c, h, w) = (SHAPE[0], SHAPE[1], SHAPE[2], SHAPE[3]);
            let mut gbuf = vec![f64::NAN; x.len()];
            let strides = [(h * w * c) as isize, 1, (w * c) as isize, c as isize];
            let mut g = TensorViewMut::new("grad", &mut gbuf, 0, &SHAPE, &strides).unwrap();
            let xv = TensorView::contiguous("input", &x, &SHAPE).unwrap();
            let pv = TensorView::contiguous("phi", &phi, &SHAPE).unwrap();
            let got = boundary_loss(&ctx, &xv, &pv, &opts, Some(&mut g)).unwrap();
            assert!((got - want).abs() <= 1e-12 * want.abs().max(1.0), "{opts:?}: {got} vs {want}");
            let eps = 1e-6;
            for i in 0..n {
                for k in 0..c {
                    for y in 0..h {
                        for z in 0..w {
                            let flat = ((i * c + k) * h + y) * w + z;
                            let (mut a, mut b) = (x.clone(), x.clone());
                            a[flat] += eps;
                            b[flat] -= eps;
                            let fd = (loss_of(&ctx, &a, &phi, &opts)
                                - loss_of(&ctx, &b, &phi, &opts))
                                / (2.0 * eps);
                            let an = *g.get(&[i, k, y, z]);
                            assert!(
                                (an - fd).abs() <= 1e-7 + 1e-5 * fd.abs(),
                                "{opts:?} at {flat}: {an} vs {fd}"
                            );
                        }
                    }
                }
            }
        }
    }
}

#[test]
fn blended_with_dice_under_a_ramp() {
    let ctx = Context::single();
    let (x, labels) = setup(5);
    let phi = phi_of(&ctx, &labels);
    let xv = TensorView::contiguous("input", &x, &SHAPE).unwrap();
    let pv = TensorView::contiguous("phi", &phi, &SHAPE).unwrap();
    let lv = TensorView::contiguous("target", &labels, &[SHAPE[0], 1, SHAPE[2], SHAPE[3]]).unwrap();
    let target = Target::Labels(Labels::I64(lv));
    let dopts = DiceOptions { activation: Activation::Softmax, ..Default::default() };
    let ramp = Ramp { kind: RampKind::Linear, start: 0.0, end: 0.8, steps: 10 };
    let total = |x: &[f64], step: u64| {
        let xv = TensorView::contiguous("input", x, &SHAPE).unwrap();
        let mut g = vec![0.0; x.len()];
        let mut gv = TensorViewMut::contiguous("grad", &mut g, &SHAPE).unwrap();
        dice_boundary_loss_grad(&ctx, &xv, &target, &pv, &dopts, false, &ramp, step, &mut gv)
            .unwrap()
    };
    for step in [0u64, 5, 20] {
        let mut g = vec![0.0; x.len()];
        let mut gv = TensorViewMut::contiguous("grad", &mut g, &SHAPE).unwrap();
        let b =
            dice_boundary_loss_grad(&ctx, &xv, &target, &pv, &dopts, false, &ramp, step, &mut gv)
                .unwrap();
        let w = ramp.at(step).unwrap();
        assert_eq!(b.weight, w);
        let bopts =
            BoundaryLossOptions { activation: Activation::Softmax, include_background: false };
        assert!((b.boundary - oracle(&x, &phi, &bopts)).abs() < 1e-12);
        assert!((b.total - ((1.0 - w) * b.dice + w * b.boundary)).abs() < 1e-15);
        for flat in (0..x.len()).step_by(7) {
            let (mut a, mut c) = (x.clone(), x.clone());
            a[flat] += 1e-6;
            c[flat] -= 1e-6;
            let fd = (total(&a, step).total - total(&c, step).total) / 2e-6;
            assert!(
                (g[flat] - fd).abs() <= 1e-7 + 1e-5 * fd.abs(),
                "step {step} at {flat}: {} vs {fd}",
                g[flat]
            );
        }
    }
}

#[test]
fn identical_for_any_thread_count() {
    let shape = [2usize, 3, 40, 50, 60];
    let mut rng = Rng(3);
    let n: usize = shape.iter().product();
    let x: Vec<f32> = (0..n).map(|_| rng.uniform(-3.0, 3.0) as f32).collect();
    let phi: Vec<f32> = (0..n).map(|_| rng.uniform(-10.0, 10.0) as f32).collect();
    let xv = TensorView::contiguous("input", &x, &shape).unwrap();
    let pv = TensorView::contiguous("phi", &phi, &shape).unwrap();
    let opts = BoundaryLossOptions::default();
    let run = |ctx: &Context| {
        let mut g = vec![0f32; n];
        let mut gv = TensorViewMut::contiguous("grad", &mut g, &shape).unwrap();
        let l = boundary_loss(ctx, &xv, &pv, &opts, Some(&mut gv)).unwrap();
        (l.to_bits(), g.iter().map(|v| v.to_bits()).collect::<Vec<_>>())
    };
    let one = run(&Context::single());
    assert_eq!(one, run(&Context::new(2).unwrap()));
    assert_eq!(one, run(&Context::new(3).unwrap()));
}

#[test]
fn bad_input_is_an_error() {
    let ctx = Context::single();
    let x = vec![0.0f64; 24];
    let xv = TensorView::contiguous("input", &x, &[2, 3, 4]).unwrap();
    let short = TensorView::contiguous("phi", &x[..12], &[1, 3, 4]).unwrap();
    assert!(boundary_loss(&ctx, &xv, &short, &BoundaryLossOptions::default(), None).is_err());
    let two = TensorView::contiguous("input", &x, &[4, 6]).unwrap();
    assert!(boundary_loss(&ctx, &two, &two, &BoundaryLossOptions::default(), None).is_err());
    let mut g = vec![0.0f64; 12];
    let mut gv = TensorViewMut::contiguous("grad", &mut g, &[1, 3, 4]).unwrap();
    assert!(boundary_loss(&ctx, &xv, &xv, &BoundaryLossOptions::default(), Some(&mut gv)).is_err());
    let labels = vec![0i64, 5, 1, 2];
    let lv = TensorView::contiguous("gt", &labels, &[1, 1, 4]).unwrap();
    assert!(
        signed_distance_maps::<f64>(&ctx, &Decisions::Labels(Labels::I64(lv)), 3, &[]).is_err()
    );
    let ok = vec![0i64, 1, 1, 2];
    let lv = TensorView::contiguous("gt", &ok, &[1, 1, 4]).unwrap();
    assert!(
        signed_distance_maps::<f64>(&ctx, &Decisions::Labels(Labels::I64(lv)), 3, &[0.0]).is_err()
    );
}

/// More items than one batch of tasks holds (one task per item here): the batches add up to
/// the direct formula, identically for any thread count.
#[test]
fn batches_of_tasks_add_up() {
    let shape = [9000usize, 2, 1, 3];
    let mut rng = Rng(5);
    let n: usize = shape.iter().product();
    let x: Vec<f64> = (0..n).map(|_| rng.uniform(-3.0, 3.0)).collect();
    let phi: Vec<f64> = (0..n).map(|_| rng.uniform(-4.0, 4.0)).collect();
    let xv = TensorView::contiguous("input", &x, &shape).unwrap();
    let pv = TensorView::contiguous("phi", &phi, &shape).unwrap();
    let opts = BoundaryLossOptions { activation: Activation::Sigmoid, include_background: true };
    let want: f64 = x.iter().zip(&phi).map(|(z, p)| p / (1.0 + (-z).exp())).sum::<f64>() / n as f64;
    let one = boundary_loss(&Context::single(), &xv, &pv, &opts, None).unwrap();
    assert!((one - want).abs() <= 1e-12 * want.abs().max(1.0), "{one} vs {want}");
    let two = boundary_loss(&Context::new(2).unwrap(), &xv, &pv, &opts, None).unwrap();
    assert_eq!(one.to_bits(), two.to_bits());
}
