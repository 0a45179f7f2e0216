//! criterion benchmarks over the whole case matrix of `dice_bench::cases` (every loss, forward
//! and forward+backward, every shape, layout and label type, 1 and all threads), with
//! throughput in elements and bytes (the byte model of `cases.rs`). Names are
//! `shape/layout/labels/loss/pass/threads=T`, so `cargo bench -p dice-bench --bench dice -- 3d/contig`
//! selects a slice. `dice-report` times the same cases against the measured bandwidth floor.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use dice_bench::cases::{Config, Data, LOSSES, PASSES};
use dice_core::Context;
use std::hint::black_box;
use std::time::Duration;

fn matrix(c: &mut Criterion) {
    let ctxs = [Context::new(1).unwrap(), Context::new(0).unwrap()];
    for config in Config::all() {
        let mut data = Data::new(config);
        let bytes = config.bytes();
        let name =
            format!("{}/{}/{}", config.shape.name, config.layout.name(), config.labels.name());
        let mut g = c.benchmark_group(name);
        g.sample_size(10)
            .warm_up_time(Duration::from_millis(500))
            .measurement_time(Duration::from_secs(2));
        for loss in LOSSES {
            for &pass in PASSES {
                let moved = bytes.moved(pass) as u64;
                g.throughput(Throughput::ElementsAndBytes {
                    elements: config.elements() as u64,
                    bytes: moved,
                });
                for ctx in &ctxs {
                    g.bench_function(
                        format!("{}/{}/threads={}", loss.name, pass.name(), ctx.threads()),
                        |b| b.iter(|| black_box(data.run(ctx, loss, pass).unwrap())),
                    );
                }
            }
        }
        g.finish();
    }
}

criterion_group!(benches, matrix);
criterion_main!(benches);
