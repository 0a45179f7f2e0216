//! Failures leave every output untouched, and sizes past what the machine or the library's
//! limits allow fail with a typed error instead of aborting or hanging.

use dice_core::boundary_loss::signed_distance_maps;
use dice_core::limits::{MAX_CLASSES, MAX_THREADS};
use dice_core::metrics::distances::{SurfaceOptions, hausdorff_monai};
use dice_core::metrics::edt::{DistanceMetric, distance_transform, signed_distance};
use dice_core::metrics::{Decisions, surface_distances};
use dice_core::*;

const SENTINEL: f32 = 7.25;

fn softmax() -> DiceOptions {
    DiceOptions { activation: Activation::Softmax, ..DiceOptions::default() }
}

/// N = 2 items of C = 3 channels over 20 positions (two items, so two parallel blocks: the
/// first item's block would be written before the second's fails unless the target is
/// checked first), logits, labels valid except `bad` at the last position of item 1.
fn problem(bad: i64) -> (Vec<f32>, Vec<i64>) {
    let x: Vec<f32> = (0..2 * 3 * 20).map(|i| ((i * 37 % 11) as f32 - 5.0) / 3.0).collect();
    let mut l: Vec<i64> = (0..2 * 20).map(|i| (i % 3) as i64).collect();
    l[39] = bad;
    (x, l)
}

fn coefficients(o: &DiceOptions) -> Coefficients {
    dice_finalize(&Stats::zeros(2, 3).unwrap(), o).unwrap().coefficients(None).unwrap()
}

#[test]
fn backward_from_stats_writes_nothing_on_a_bad_label() {
    let (x, l) = problem(9);
    let input = TensorView::contiguous("input", &x, &[2, 3, 20]).unwrap();
    let target =
        Target::Labels(Labels::I64(TensorView::contiguous("target", &l, &[2, 1, 20]).unwrap()));
    for threads in [1, 2] {
        let ctx = Context::new(threads).unwrap();
        let mut g = vec![SENTINEL; x.len()];
        let mut grad = TensorViewMut::contiguous("grad", &mut g, &[2, 3, 20]).unwrap();
        let e =
            dice_backward(&ctx, &input, &target, &softmax(), &coefficients(&softmax()), &mut grad)
                .unwrap_err();
        assert_eq!(e, DiceError::LabelOutOfRange { arg: "target", value: 9, classes: 3 });
        assert!(g.iter().all(|&v| v == SENTINEL), "grad written on failure ({threads} threads)");
    }
}

#[test]
fn backward_and_map_write_nothing_on_a_bad_loss_mask() {
    let (x, l) = problem(1);
    let input = TensorView::contiguous("input", &x, &[2, 3, 20]).unwrap();
    let target =
        Target::Labels(Labels::I64(TensorView::contiguous("target", &l, &[2, 1, 20]).unwrap()));
    let focal = DiceOptions {
        pointwise: Pointwise { kind: PointwiseKind::SoftmaxFocal, ..Pointwise::default() },
        ..softmax()
    };
    for bad in [f32::NAN, -1.0, f32::INFINITY] {
        let mut m = vec![1.0f32; 40];
        m[39] = bad;
        let mask = TensorView::contiguous("loss_mask", &m, &[2, 20]).unwrap();
        let ctx = Context::single();
        let mut g = vec![SENTINEL; x.len()];
        let mut grad = TensorViewMut::contiguous("grad", &mut g, &[2, 3, 20]).unwrap();
        let e = dice_backward_masked(
            &ctx,
            &input,
            &target,
            Some(&mask),
            &focal,
            &coefficients(&focal),
            &mut grad,
        );
        assert!(matches!(e, Err(DiceError::BadLossMask { .. })), "{e:?}");
        assert!(g.iter().all(|&v| v == SENTINEL), "grad written on failure (mask {bad})");
        let mut out = TensorViewMut::contiguous("out", &mut g, &[2, 3, 20]).unwrap();
        let e = dice_pointwise_map(&ctx, &input, &target, Some(&mask), &focal, &mut out);
        assert!(matches!(e, Err(DiceError::BadLossMask { .. })), "{e:?}");
        assert!(g.iter().all(|&v| v == SENTINEL), "map written on failure (mask {bad})");
    }
}

#[test]
fn pointwise_map_writes_nothing_on_a_bad_label() {
    let (x, l) = problem(-3);
    let input = TensorView::contiguous("input", &x, &[2, 3, 20]).unwrap();
    let target =
        Target::Labels(Labels::I64(TensorView::contiguous("target", &l, &[2, 1, 20]).unwrap()));
    let focal = DiceOptions {
        pointwise: Pointwise { kind: PointwiseKind::SoftmaxFocal, ..Pointwise::default() },
        ..softmax()
    };
    let mut g = vec![SENTINEL; x.len()];
    let mut out = TensorViewMut::contiguous("out", &mut g, &[2, 3, 20]).unwrap();
    let e = dice_pointwise_map(&Context::new(2).unwrap(), &input, &target, None, &focal, &mut out)
        .unwrap_err();
    assert_eq!(e, DiceError::LabelOutOfRange { arg: "target", value: -3, classes: 3 });
    assert!(g.iter().all(|&v| v == SENTINEL));
}

/// 2^50 items by stride 0: the stats alone would need 2^50 x C x 24 bytes, more than any
/// address space holds.
#[test]
fn broadcast_and_empty_batches_past_memory_fail_cleanly() {
    const N: usize = 1 << 50;
    let x = [0.5f32, -0.5];
    let l = [1i64];
    let o = DiceOptions { reduction: Reduction::Mean, ..softmax() };
    let broadcast = TensorView::new("input", &x, 0, &[N, 2, 4], &[0, 1, 0]).unwrap();
    let labels =
        Target::Labels(Labels::I64(TensorView::new("target", &l, 0, &[N, 4], &[0, 0]).unwrap()));
    let e = dice_loss(&Context::single(), &broadcast, &labels, &o).unwrap_err();
    assert!(matches!(e, DiceError::OutOfMemory { .. }), "{e}");
    let empty = TensorView::<f32>::new("input", &[], 0, &[N, 2, 0], &[0, 0, 1]).unwrap();
    let no_labels =
        Target::Labels(Labels::I64(TensorView::new("target", &[], 0, &[N, 0], &[0, 1]).unwrap()));
    let e = dice_loss(&Context::single(), &empty, &no_labels, &o).unwrap_err();
    assert!(matches!(e, DiceError::OutOfMemory { arg: "stats", .. }), "{e}");
    assert!(matches!(Stats::zeros(usize::MAX, 2), Err(DiceError::OutOfMemory { .. })));
    assert_eq!(Stats::flat_len(usize::MAX / 2, 3, false), None);
}

#[test]
fn classes_above_the_limit_are_refused() {
    let x = [0.5f32];
    let c = MAX_CLASSES + 1;
    let input = TensorView::new("input", &x, 0, &[1, c, 4], &[0, 0, 0]).unwrap();
    let l = [0i64];
    let target =
        Target::Labels(Labels::I64(TensorView::new("target", &l, 0, &[1, 4], &[0, 0]).unwrap()));
    let e = dice_loss(&Context::single(), &input, &target, &softmax()).unwrap_err();
    assert_eq!(e, DiceError::TooLarge { arg: "input", value: c as u128, max: MAX_CLASSES as u128 });
}

#[test]
fn thread_counts_above_the_limit_are_refused_at_once() {
    for threads in [MAX_THREADS + 1, u32::MAX as usize, usize::MAX] {
        let t0 = std::time::Instant::now();
        let e = Context::new(threads).unwrap_err();
        assert!(matches!(&e, DiceError::ThreadPool(m) if m.contains("1024")), "{e}");
        assert!(t0.elapsed().as_secs() < 1, "refusing {threads} threads took {:?}", t0.elapsed());
    }
    assert!(Context::new(0).unwrap().threads() <= MAX_THREADS);
}

/// Under an address-space limit (`ulimit -v` in a child process), the metrics' working buffers
/// that do not fit fail as OutOfMemory: a 256 MiB broadcast mask is copied, and what follows
/// (2 GiB of f64 distances, the cropped and corner-code buffers of a 2^28-voxel grid) does not fit.
#[test]
fn metric_work_buffers_past_memory_fail_cleanly() {
    const SIDE: usize = 1 << 14;
    const LIMIT_KIB: usize = 1 << 20;
    if std::env::var_os("DICE_RLIMIT_CHILD").is_none() {
        let out = std::process::Command::new("sh")
            .arg("-c")
            .arg(format!("ulimit -v {LIMIT_KIB} && exec \"$0\" \"$@\""))
            .arg(std::env::current_exe().unwrap())
            .args([
                "--exact",
                "failure_modes::metric_work_buffers_past_memory_fail_cleanly",
                "--nocapture",
                "--test-threads=1",
            ])
            .env("DICE_RLIMIT_CHILD", "1")
            .output()
            .unwrap();
        let (stdout, stderr) =
            (String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
        assert!(out.status.success(), "child: {:?}\n{stdout}\n{stderr}", out.status);
        assert!(stdout.contains("1 passed"), "the child ran no test: {stdout}");
        return;
    }
    let oom = |r: std::result::Result<(), DiceError>, what: &str| {
        assert!(matches!(r, Err(DiceError::OutOfMemory { .. })), "{what}: {r:?}");
    };
    let ctx = Context::single();
    let row: Vec<u8> = (0..SIDE).map(|x| (x < SIDE / 2) as u8).collect();
    let mask = TensorView::new("mask", &row, 0, &[SIDE, SIDE], &[0, 1]).unwrap();
    let spacing = [1.0, 1.0];
    oom(
        distance_transform(&ctx, &mask, &spacing, DistanceMetric::Euclidean).map(drop),
        "distance_transform",
    );
    oom(signed_distance(&ctx, &mask, &spacing).map(drop), "signed_distance");
    oom(surface_distances(&ctx, &mask, &mask, &spacing).map(drop), "surface_distances");
    // Left half against right half: the union box is the whole grid.
    let right: Vec<u8> = row.iter().map(|&v| 1 - v).collect();
    let batch = |r| {
        Decisions::Masks(TensorView::new("pred", r, 0, &[1, 1, SIDE, SIDE], &[0, 0, 0, 1]).unwrap())
    };
    let (pred, gt) = (batch(&row), batch(&right));
    let opts = SurfaceOptions::default();
    oom(hausdorff_monai(&ctx, &pred, &gt, 1, &opts, None, false).map(drop), "hausdorff_monai");
    oom(signed_distance_maps::<f32>(&ctx, &gt, 1, &spacing).map(drop), "signed_distance_maps");
}
