//! criterion benchmarks: soft Dice forward and forward+backward (softmax, i64 labels, f32
//! logits) on the 3-D shape of the core issue. The throughput report (`dice-report`) covers
//! more shapes against the measured bandwidth floor.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use dice_core::*;
use std::hint::black_box;

fn soft_dice(c: &mut Criterion) {
    let shape = [2usize, 4, 128, 128, 128];
    let numel: usize = shape.iter().product();
    let logits: Vec<f32> = (0..numel).map(|i| ((i * 2654435761) % 1000) as f32 / 250.0 - 2.0).collect();
    let labels: Vec<i64> = (0..numel / 4).map(|i| ((i * 40503) % 4) as i64).collect();
    let mut grad = vec![0f32; numel];
    let input = TensorView::contiguous("input", &logits, &shape).unwrap();
    let target = Target::Labels(Labels::I64(TensorView::contiguous("t", &labels, &[2, 1, 128, 128, 128]).unwrap()));
    let opts = DiceOptions { activation: Activation::Softmax, ..DiceOptions::default() };
    let mut g = c.benchmark_group("soft_dice_3d_softmax_i64");
    g.sample_size(10);
    g.throughput(Throughput::Bytes((numel * 4 + labels.len() * 8) as u64));
    for threads in [1usize, 0] {
        let ctx = Context::new(threads).unwrap();
        g.bench_function(format!("forward/threads={}", ctx.threads()), |b| {
            b.iter(|| black_box(dice_loss(&ctx, &input, &target, &opts).unwrap().loss()))
        });
        g.bench_function(format!("forward_backward/threads={}", ctx.threads()), |b| {
            b.iter(|| {
                let mut gv = TensorViewMut::contiguous("grad", &mut grad, &shape).unwrap();
                black_box(dice_loss_grad(&ctx, &input, &target, &opts, None, &mut gv).unwrap().loss())
            })
        });
    }
    g.finish();
}

criterion_group!(benches, soft_dice);
criterion_main!(benches);
