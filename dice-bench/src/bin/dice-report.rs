//! Throughput report: soft Dice (softmax, label map) forward and forward+backward against the
//! memory-bandwidth floor measured in the same run.
//!
//! cargo run --release -p dice-bench --bin dice-report [-- --quick]
//!
//! floor = bytes that must move / streaming bandwidth; forward reads logits and labels once;
//! forward+backward reads them twice and writes the gradient once. Medians of repeated runs
//! after a warm-up; the gradient buffer is allocated once and reused (first-touch excluded).

use dice_core::*;
use std::hint::black_box;
use std::time::Instant;

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn time(reps: usize, mut f: impl FnMut()) -> f64 {
    f();
    median((0..reps).map(|_| {
        let t = Instant::now();
        f();
        t.elapsed().as_secs_f64()
    }).collect())
}

/// Streaming bandwidth (bytes/s): sum of two 256 MiB f32 streams, and a = b + c over the same.
fn bandwidth(ctx_threads: usize, reps: usize) -> (f64, f64) {
    let n = 64 << 20;
    let a = vec![1.0f32; n];
    let b = vec![2.0f32; n];
    let mut c = vec![0.0f32; n];
    let chunks = ctx_threads.max(1);
    let pool = rayon_pool(chunks);
    let read2 = time(reps, || {
        let s: f32 = pool.install(|| {
            use rayon::prelude::*;
            a.par_chunks(n / chunks).zip(b.par_chunks(n / chunks)).map(|(x, y)| read2(x, y)).sum()
        });
        black_box(s);
    });
    let rw = time(reps, || {
        pool.install(|| {
            use rayon::prelude::*;
            c.par_chunks_mut(n / chunks).zip(a.par_chunks(n / chunks).zip(b.par_chunks(n / chunks))).for_each(|(z, (x, y))| {
                for ((o, p), q) in z.iter_mut().zip(x).zip(y) {
                    *o = p + q;
                }
            })
        });
        black_box(&c);
    });
    ((8 * n) as f64 / read2, (12 * n) as f64 / rw)
}

/// Sums two streams with 32 independent accumulators, so the loop vectorises and is limited
/// by memory, not by the latency of one dependent add chain.
fn read2(x: &[f32], y: &[f32]) -> f32 {
    let mut acc = [0f32; 32];
    for (p, q) in x.chunks_exact(32).zip(y.chunks_exact(32)) {
        for k in 0..32 {
            acc[k] += p[k] + q[k];
        }
    }
    acc.iter().sum()
}

fn rayon_pool(threads: usize) -> rayon::ThreadPool {
    rayon::ThreadPoolBuilder::new().num_threads(threads).build().expect("pool")
}

struct Case {
    name: &'static str,
    shape: [usize; 5],
    rank: usize,
}

fn main() -> Result<()> {
    let quick = std::env::args().any(|a| a == "--quick");
    let reps = if quick { 5 } else { 15 };
    let all = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
    let cases = [
        Case { name: "3d 2x4x128^3", shape: [2, 4, 128, 128, 128], rank: 5 },
        Case { name: "2d 8x4x512^2", shape: [8, 4, 512, 512, 1], rank: 4 },
    ];
    println!("backend {}, {} core(s) available, medians of {reps} runs", Backend::active().name(), all);
    println!("{:<14} {:>4} {:>3} {:>4} {:>9} {:>9} {:>8} {:>7} {:>9} {:>8} {:>7}", "case", "lab", "thr", "", "fwd ms", "GB/s", "floor", "ratio", "f+b ms", "GB/s", "ratio");
    for threads in [1, all] {
        let (bw_r, bw_rw) = bandwidth(threads, reps);
        println!("-- {threads} thread(s): streaming bandwidth read2 {:.1} GB/s, read2+write1 {:.1} GB/s", bw_r / 1e9, bw_rw / 1e9);
        let ctx = Context::new(threads)?;
        for case in &cases {
            let shape = &case.shape[..case.rank];
            let numel: usize = shape.iter().product();
            let mut lshape = shape.to_vec();
            lshape[1] = 1;
            let npos = numel / shape[1];
            let logits: Vec<f32> = (0..numel).map(|i| ((i * 2654435761) % 1000) as f32 / 250.0 - 2.0).collect();
            let l64: Vec<i64> = (0..npos).map(|i| ((i * 40503) % 4) as i64).collect();
            let l8: Vec<u8> = l64.iter().map(|&v| v as u8).collect();
            let mut grad = vec![0f32; numel];
            let input = TensorView::contiguous("input", &logits, shape)?;
            let opts = DiceOptions { activation: Activation::Softmax, ..DiceOptions::default() };
            for (lab, target, lbytes) in [
                ("i64", Target::Labels(Labels::I64(TensorView::contiguous("t", &l64, &lshape)?)), 8),
                ("u8", Target::Labels(Labels::U8(TensorView::contiguous("t", &l8, &lshape)?)), 1),
            ] {
                let fwd = time(reps, || {
                    black_box(dice_loss(&ctx, &input, &target, &opts).unwrap().loss());
                });
                let fb = time(reps, || {
                    let mut g = TensorViewMut::contiguous("grad", &mut grad, shape).unwrap();
                    black_box(dice_loss_grad(&ctx, &input, &target, &opts, None, &mut g).unwrap().loss());
                });
                let bytes_f = (numel * 4 + npos * lbytes) as f64;
                let floor_f = bytes_f / bw_r;
                let floor_fb = 2.0 * bytes_f / bw_r + (numel * 4) as f64 / (bw_rw / 1.5);
                println!(
                    "{:<14} {:>4} {:>3} {:>4} {:>9.2} {:>9.2} {:>8.2} {:>7.2} {:>9.2} {:>8.2} {:>7.2}",
                    case.name, lab, threads, "", fwd * 1e3, bytes_f / fwd / 1e9, floor_f * 1e3, fwd / floor_f,
                    fb * 1e3, (2.0 * bytes_f + (numel * 4) as f64) / fb / 1e9, fb / floor_fb
                );
            }
        }
    }
    Ok(())
}
