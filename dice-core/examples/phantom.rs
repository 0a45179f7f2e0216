//! The built-in example: soft Dice (softmax, label map) on a synthetic 3-D phantom of nested
//! spheres, loss and gradient, with the measured throughput.
//!
//! cargo run --release -p dice-core --example phantom [-- threads]

use dice_core::*;
use std::time::Instant;

fn main() -> Result<()> {
    let threads: usize = std::env::args().nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
    let (n, c, d) = (2usize, 4usize, 128usize);
    let plane = d * d * d;
    // Labels: background 0, then three nested spheres 3 ⊂ 2 ⊂ 1 (radii differ per item).
    let mut labels = vec![0i64; n * plane];
    let mut logits = vec![0f32; n * c * plane];
    for b in 0..n {
        for z in 0..d {
            for y in 0..d {
                for x in 0..d {
                    let r = (((z as f64 - 64.0).powi(2)
                        + (y as f64 - 60.0).powi(2)
                        + (x as f64 - 68.0).powi(2))
                    .sqrt())
                        / (1.0 + b as f64 * 0.1);
                    let class = if r < 20.0 {
                        3
                    } else if r < 35.0 {
                        2
                    } else if r < 50.0 {
                        1
                    } else {
                        0
                    };
                    let i = (z * d + y) * d + x;
                    labels[b * plane + i] = class;
                    // A "network" that is right with a soft margin and a little structured noise.
                    for k in 0..c {
                        let wobble = ((x * 7 + y * 13 + z * 3 + k * 5) % 17) as f32 / 17.0 - 0.5;
                        logits[(b * c + k) * plane + i] =
                            if k as i64 == class { 2.0 } else { 0.0 } + wobble;
                    }
                }
            }
        }
    }
    let shape = [n, c, d, d, d];
    let input = TensorView::contiguous("input", &logits, &shape)?;
    let target =
        Target::Labels(Labels::I64(TensorView::contiguous("target", &labels, &[n, 1, d, d, d])?));
    let opts = DiceOptions { activation: Activation::Softmax, ..DiceOptions::default() };
    let ctx = Context::new(threads)?;
    let mut grad = vec![0f32; logits.len()];

    let mut fwd = Vec::new();
    let mut fb = Vec::new();
    let mut out = None;
    for _ in 0..7 {
        let t0 = Instant::now();
        let f = dice_loss(&ctx, &input, &target, &opts)?;
        fwd.push(t0.elapsed().as_secs_f64());
        let t0 = Instant::now();
        let mut g = TensorViewMut::contiguous("grad", &mut grad, &shape)?;
        let fin = dice_loss_grad(&ctx, &input, &target, &opts, None, &mut g)?;
        fb.push(t0.elapsed().as_secs_f64());
        assert_eq!(f.loss().to_bits(), fin.loss().to_bits());
        out = Some(fin);
    }
    let fin = out.expect("ran");
    let median = |v: &mut Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    let (tf, tb) = (median(&mut fwd), median(&mut fb));
    let bytes_fwd = (logits.len() * 4 + labels.len() * 8) as f64;
    let bytes_fb = bytes_fwd * 2.0 + (grad.len() * 4) as f64;
    println!(
        "dice phantom: input {shape:?} f32 logits, i64 labels, softmax, {} thread(s), backend {}",
        ctx.threads(),
        Backend::active().name()
    );
    println!("loss (mean of {} entries) = {:.6}", fin.values().len(), fin.loss());
    for b in 0..n {
        let row: Vec<String> = (0..c).map(|k| format!("{:.4}", fin.values()[b * c + k])).collect();
        println!("  item {b}: per-class loss [{}]", row.join(", "));
    }
    let gsum: f64 = grad.iter().map(|&v| v as f64).sum();
    let gmax = grad.iter().fold(0f32, |m, v| m.max(v.abs()));
    println!("gradient: sum {gsum:.3e} (softmax rows sum to 0), max |g| {gmax:.3e}");
    println!("forward          median {:7.2} ms  {:6.2} GB/s", tf * 1e3, bytes_fwd / tf / 1e9);
    println!(
        "forward+backward median {:7.2} ms  {:6.2} GB/s (reads input+labels twice, writes grad)",
        tb * 1e3,
        bytes_fb / tb / 1e9
    );
    Ok(())
}
