//! criterion benchmarks of the metrics on a pair of 128^3 masks (two offset ellipsoids):
//! confusion counts from u8 label maps, MONAI HD95 and surface Dice, DeepMind's surface
//! distances (with robust HD95), the full-volume EDT.
//! `metrics-report` runs the 256^3 comparison with the figures quoted in the issue.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use dice_core::metrics::*;
use dice_core::{Context, Labels, TensorView};
use std::hint::black_box;

fn ellipsoid(n: usize, shift: f64) -> Vec<u8> {
    let c = n as f64 / 2.0;
    let mut v = vec![0u8; n * n * n];
    for (i, o) in v.iter_mut().enumerate() {
        let (z, y, x) = ((i / (n * n)) as f64, ((i / n) % n) as f64, (i % n) as f64);
        let (dz, dy, dx) = ((z - c - shift) / 0.36, (y - c) / 0.30, (x - c + shift) / 0.33);
        *o = ((dz * dz + dy * dy + dx * dx).sqrt() < n as f64) as u8;
    }
    v
}

fn metrics(c: &mut Criterion) {
    let n = 128;
    let (gt, pred) = (ellipsoid(n, 0.0), ellipsoid(n, 3.0));
    let shape = [1usize, 1, n, n, n];
    let g = Decisions::Masks(TensorView::contiguous("gt", &gt, &shape).unwrap());
    let p = Decisions::Masks(TensorView::contiguous("pred", &pred, &shape).unwrap());
    let lg = Decisions::Labels(Labels::U8(TensorView::contiguous("gt", &gt, &shape).unwrap()));
    let lp = Decisions::Labels(Labels::U8(TensorView::contiguous("pred", &pred, &shape).unwrap()));
    let inv: Vec<u8> = gt.iter().map(|&v| (v == 0) as u8).collect();
    let features = TensorView::contiguous("mask", &inv, &[n, n, n]).unwrap();
    let opts = SurfaceOptions { include_background: true, ..Default::default() };
    let mut grp = c.benchmark_group("metrics_128cubed");
    grp.sample_size(10);
    for threads in [1usize, 0] {
        let ctx = Context::new(threads).unwrap();
        let t = ctx.threads();
        grp.throughput(Throughput::Bytes((2 * gt.len()) as u64));
        grp.bench_function(format!("confusion_u8_labels/threads={t}"), |b| {
            b.iter(|| black_box(confusion(&ctx, &lp, &lg, 2).unwrap()))
        });
        grp.throughput(Throughput::Elements(gt.len() as u64));
        grp.bench_function(format!("hd95_monai/threads={t}"), |b| {
            b.iter(|| {
                black_box(hausdorff_monai(&ctx, &p, &g, 0, &opts, Some(95.0), false).unwrap())
            })
        });
        grp.bench_function(format!("surface_dice_tol1/threads={t}"), |b| {
            b.iter(|| black_box(surface_dice_monai(&ctx, &p, &g, 0, &opts, &[1.0]).unwrap()))
        });
        let (mg, mp) = (
            TensorView::contiguous("gt", &gt, &[n, n, n]).unwrap(),
            TensorView::contiguous("pred", &pred, &[n, n, n]).unwrap(),
        );
        grp.bench_function(format!("deepmind_surface_distances_hd95/threads={t}"), |b| {
            b.iter(|| {
                black_box(
                    surface_distances(&ctx, &mg, &mp, &[1.0; 3])
                        .unwrap()
                        .robust_hausdorff(95.0)
                        .unwrap(),
                )
            })
        });
        grp.bench_function(format!("edt_full_volume/threads={t}"), |b| {
            b.iter(|| {
                black_box(
                    distance_transform(&ctx, &features, &[1.0; 3], DistanceMetric::Euclidean)
                        .unwrap(),
                )
            })
        });
    }
    grp.finish();
}

criterion_group!(benches, metrics);
criterion_main!(benches);
