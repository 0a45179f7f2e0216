//! Timing of the metrics on a pair of 256^3 binary volumes (two overlapping ellipsoids with a
//! bumpy surface, like organ masks): HD95 and surface Dice (MONAI definitions), DeepMind's
//! surface distances with their robust HD95 and surface Dice, the exact EDT of a full volume, and confusion counts from u8 label maps against the streaming-read floor.
//! When python3 with numpy and scipy is available it times scipy.ndimage.distance_transform_edt
//! on the same volume in the same run (otherwise it says so).
//!
//!     cargo run --release -p dice-bench --bin metrics-report [-- --size 256 --reps 3]
//!
//! `--deepmind-only [--threads T]`: DeepMind's pipeline alone (median of the reps).

use dice_core::metrics::*;
use dice_core::{Context, Labels, TensorView};
use std::hint::black_box;
use std::time::Instant;

/// Mask of an ellipsoid with centre offset `shift` and a bumpy radius (same formula in Python).
fn volume(n: usize, shift: f64, bump: f64) -> Vec<u8> {
    let c = n as f64 / 2.0;
    let mut v = vec![0u8; n * n * n];
    for z in 0..n {
        for y in 0..n {
            for x in 0..n {
                let (dz, dy, dx) = (
                    (z as f64 - c - shift) / 0.36,
                    (y as f64 - c) / 0.30,
                    (x as f64 - c + shift) / 0.33,
                );
                let r = (dz * dz + dy * dy + dx * dx).sqrt() / n as f64;
                let wobble = bump
                    * ((x as f64 * 0.11).sin() * (y as f64 * 0.07).cos() + (z as f64 * 0.05).sin());
                v[(z * n + y) * n + x] = (r < 1.0 + wobble) as u8;
            }
        }
    }
    v
}

/// Median wall time of `reps` runs.
fn median_of<R>(reps: usize, mut f: impl FnMut() -> R) -> f64 {
    let mut t: Vec<f64> = (0..reps.max(1))
        .map(|_| {
            let t = Instant::now();
            black_box(f());
            t.elapsed().as_secs_f64()
        })
        .collect();
    t.sort_by(f64::total_cmp);
    t[t.len() / 2]
}

/// DeepMind surface-distance on two masks: `compute_surface_distances`, then the robust HD95
/// and the surface Dice at 1 mm from the lists (the values and the median time).
fn deepmind(
    ctx: &Context,
    gt: &[u8],
    pred: &[u8],
    n: usize,
    reps: usize,
) -> (f64, f64, f64, usize) {
    let g = TensorView::contiguous("gt", gt, &[n, n, n]).unwrap();
    let p = TensorView::contiguous("pred", pred, &[n, n, n]).unwrap();
    let run = || {
        let d = surface_distances(ctx, &g, &p, &[1.0; 3]).unwrap();
        (
            d.robust_hausdorff(95.0).unwrap(),
            d.surface_dice_at_tolerance(1.0).unwrap(),
            d.distances_gt_to_pred.len() + d.distances_pred_to_gt.len(),
        )
    };
    let (hd, sd, surfels) = run();
    (median_of(reps, run), hd, sd, surfels)
}

fn best_of<R>(reps: usize, mut f: impl FnMut() -> R) -> f64 {
    (0..reps)
        .map(|_| {
            let t = Instant::now();
            black_box(f());
            t.elapsed().as_secs_f64()
        })
        .fold(f64::INFINITY, f64::min)
}

/// Streaming read bandwidth (bytes/s) of one thread over a 256 MiB buffer (beyond the
/// caches), summed in 32 independent lanes so the loop is load-bound, not add-bound.
fn read_floor(reps: usize) -> f64 {
    let buf = vec![1u64; 32 << 20];
    let t = best_of(reps, || {
        let mut acc = [0u64; 32];
        for chunk in buf.chunks_exact(32) {
            for k in 0..32 {
                acc[k] = acc[k].wrapping_add(chunk[k]);
            }
        }
        acc.iter().fold(0u64, |a, &b| a.wrapping_add(b))
    });
    (buf.len() * 8) as f64 / t
}

const SCIPY: &str = r#"
import sys, time, numpy as np
from scipy import ndimage
n, shift, bump, reps = int(sys.argv[1]), float(sys.argv[2]), float(sys.argv[3]), int(sys.argv[4])
c = n / 2.0
z, y, x = np.meshgrid(np.arange(n), np.arange(n), np.arange(n), indexing="ij")
dz, dy, dx = (z - c - shift) / 0.36, (y - c) / 0.30, (x - c + shift) / 0.33
r = np.sqrt(dz * dz + dy * dy + dx * dx) / n
w = bump * (np.sin(x * 0.11) * np.cos(y * 0.07) + np.sin(z * 0.05))
m = (r < 1.0 + w)
best = min((lambda t0: (ndimage.distance_transform_edt(m), time.perf_counter() - t0)[1])(time.perf_counter()) for _ in range(reps))
print(best)
"#;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let arg = |name: &str, d: usize| {
        args.iter().position(|a| a == name).and_then(|i| args.get(i + 1)?.parse().ok()).unwrap_or(d)
    };
    let (n, reps) = (arg("--size", 256), arg("--reps", 3));
    let (shift, bump) = (6.0, 0.02);
    if args.iter().any(|a| a == "--confusion-only") {
        // Profiling aid: confusion counts from u8 label maps alone, single thread.
        let (gt, pred) = (volume(n, 0.0, bump), volume(n, shift, bump));
        let shape = [1usize, 1, n, n, n];
        let lp =
            Decisions::Labels(Labels::U8(TensorView::contiguous("pred", &pred, &shape).unwrap()));
        let lg = Decisions::Labels(Labels::U8(TensorView::contiguous("gt", &gt, &shape).unwrap()));
        let t = best_of(reps, || confusion(&Context::single(), &lp, &lg, 2).unwrap());
        println!("confusion {n}^3 u8 labels, 1 thread: {:.2} ms", t * 1e3);
        return;
    }
    if args.iter().any(|a| a == "--hd-only") {
        // Profiling aid: MONAI HD95 alone, single thread.
        let (gt, pred) = (volume(n, 0.0, bump), volume(n, shift, bump));
        let shape = [1usize, 1, n, n, n];
        let g = Decisions::Masks(TensorView::contiguous("gt", &gt, &shape).unwrap());
        let p = Decisions::Masks(TensorView::contiguous("pred", &pred, &shape).unwrap());
        let opts = SurfaceOptions { include_background: true, ..Default::default() };
        let t = best_of(reps, || {
            hausdorff_monai(&Context::single(), &p, &g, 0, &opts, Some(95.0), false).unwrap()
        });
        println!("HD95 {n}^3, 1 thread: {:.1} ms", t * 1e3);
        return;
    }
    if args.iter().any(|a| a == "--deepmind-only") {
        let (gt, pred) = (volume(n, 0.0, bump), volume(n, shift, bump));
        let ctx = Context::new(arg("--threads", 1)).unwrap();
        let (t, hd, sd, surfels) = deepmind(&ctx, &gt, &pred, n, reps);
        println!(
            "DeepMind {n}^3, {} thread(s), {surfels} surfels: median {:.1} ms (robust HD95 {hd:.4}, surface Dice@1 {sd:.4})",
            ctx.threads(),
            t * 1e3
        );
        return;
    }
    if args.iter().any(|a| a == "--edt-only") {
        // Profiling aid: the full-volume EDT alone, single thread.
        let inv: Vec<u8> = volume(n, 0.0, bump).iter().map(|&v| (v == 0) as u8).collect();
        let f = TensorView::contiguous("mask", &inv, &[n, n, n]).unwrap();
        let t = best_of(reps, || {
            distance_transform(&Context::single(), &f, &[1.0; 3], DistanceMetric::Euclidean)
                .unwrap()
        });
        println!("EDT {n}^3, 1 thread: {:.1} ms", t * 1e3);
        return;
    }
    println!(
        "metrics-report: two {n}^3 binary volumes, best of {reps}; {} cores",
        std::thread::available_parallelism().map_or(1, |v| v.get())
    );
    let gt = volume(n, 0.0, bump);
    let pred = volume(n, shift, bump);
    let shape = [1usize, 1, n, n, n];
    let g = Decisions::Masks(TensorView::contiguous("gt", &gt, &shape).unwrap());
    let p = Decisions::Masks(TensorView::contiguous("pred", &pred, &shape).unwrap());
    let opts = SurfaceOptions { include_background: true, ..Default::default() };
    let mut edt_ours = f64::NAN;
    for threads in [1usize, 2] {
        let ctx = Context::new(threads).unwrap();
        let hd = hausdorff_monai(&ctx, &p, &g, 0, &opts, Some(95.0), false).unwrap().values[0];
        let t_hd =
            best_of(reps, || hausdorff_monai(&ctx, &p, &g, 0, &opts, Some(95.0), false).unwrap());
        let nsd = surface_dice_monai(&ctx, &p, &g, 0, &opts, &[1.0]).unwrap().values[0];
        let t_nsd = best_of(reps, || surface_dice_monai(&ctx, &p, &g, 0, &opts, &[1.0]).unwrap());
        let mask = TensorView::contiguous("mask", &gt, &[n, n, n]).unwrap();
        let inv: Vec<u8> = gt.iter().map(|&v| (v == 0) as u8).collect();
        let features = TensorView::contiguous("mask", &inv, &[n, n, n]).unwrap();
        let t_edt = best_of(reps, || {
            distance_transform(&ctx, &features, &[1.0; 3], DistanceMetric::Euclidean).unwrap()
        });
        black_box(mask);
        let (t_dm, dm_hd, dm_sd, surfels) = deepmind(&ctx, &gt, &pred, n, reps);
        println!(
            "threads={threads}: DeepMind compute_surface_distances + robust HD95 + surface Dice@1: median {:.1} ms ({surfels} surfels; HD95 = {dm_hd:.4}, Dice@1 = {dm_sd:.4}; surface-distance 15.5 s: {:.0}x)",
            t_dm * 1e3,
            15.5 / t_dm
        );
        if threads == 2 {
            edt_ours = t_edt;
        }
        println!(
            "threads={threads}: HD95 (MONAI) {:.1} ms (= {hd:.4}; MONAI 3.4 s: {:.0}x) | surface Dice tol 1 {:.1} ms (= {nsd:.4}; MONAI 2.6 s: {:.0}x, surface-distance 15.5 s: {:.0}x) | EDT {n}^3 {:.1} ms (scipy 5.6 s quoted: {:.1}x)",
            t_hd * 1e3,
            3.4 / t_hd,
            t_nsd * 1e3,
            2.6 / t_nsd,
            15.5 / t_nsd,
            t_edt * 1e3,
            5.6 / t_edt
        );
    }
    // Confusion counts from u8 label maps vs the read floor (2 bytes per voxel).
    let bytes = 2 * gt.len();
    let floor = read_floor(reps);
    for threads in [1usize, 2] {
        let ctx = Context::new(threads).unwrap();
        let lp =
            Decisions::Labels(Labels::U8(TensorView::contiguous("pred", &pred, &shape).unwrap()));
        let lg = Decisions::Labels(Labels::U8(TensorView::contiguous("gt", &gt, &shape).unwrap()));
        let t = best_of(reps, || confusion(&ctx, &lp, &lg, 2).unwrap());
        println!(
            "threads={threads}: confusion from u8 label maps {:.1} ms = {:.2} GB/s (1-thread read floor {:.2} GB/s: {:.2}x the floor time)",
            t * 1e3,
            bytes as f64 / t / 1e9,
            floor / 1e9,
            t / (bytes as f64 / floor)
        );
    }
    let py = std::process::Command::new("python3")
        .args([
            "-c",
            SCIPY,
            &n.to_string(),
            &shift.to_string(),
            &bump.to_string(),
            &reps.to_string(),
        ])
        .output();
    match py {
        Ok(o) if o.status.success() => {
            let s: f64 = String::from_utf8_lossy(&o.stdout).trim().parse().unwrap_or(f64::NAN);
            println!(
                "scipy.ndimage.distance_transform_edt on the same volume: {:.1} ms; ours (2 threads) is {:.1}x faster",
                s * 1e3,
                s / edt_ours
            );
        }
        Ok(o) => println!(
            "SCIPY NOT TIMED: python3 failed: {}",
            String::from_utf8_lossy(&o.stderr).lines().last().unwrap_or("")
        ),
        Err(e) => println!("SCIPY NOT TIMED: cannot run python3: {e}"),
    }
}
