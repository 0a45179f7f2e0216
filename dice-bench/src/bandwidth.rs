//! Streaming memory bandwidth of this machine, measured in the same run as the cases, per
//! thread count: "read2" sums two f32 streams, "read2+write1" computes c = a + b. Each stream
//! is 256 MiB, far beyond any last-level cache, and each thread takes one contiguous range.
//! Bytes counted are those the program asks for (8 per element for read2, 12 for c = a + b;
//! write-allocate traffic is not counted), the same convention as the cases' byte model.

use crate::timing::time;
use rayon::prelude::*;
use std::convert::Infallible;
use std::hint::black_box;

/// Elements per stream (256 MiB of f32).
const N: usize = 64 << 20;

/// Measured bandwidth for one thread count, in bytes per second.
#[derive(Clone, Copy, Debug)]
pub struct Bandwidth {
    /// Threads used.
    pub threads: usize,
    /// Two streams read.
    pub read2: f64,
    /// Two streams read, one written.
    pub read2_write1: f64,
}

/// Sums two streams with 32 independent accumulators, so the loop vectorises and is limited by
/// memory, not by the latency of one dependent add chain.
fn sum2(x: &[f32], y: &[f32]) -> f32 {
    let mut acc = [0f32; 32];
    for (p, q) in x.chunks_exact(32).zip(y.chunks_exact(32)) {
        for k in 0..32 {
            acc[k] += p[k] + q[k];
        }
    }
    acc.iter().sum()
}

/// Measures both kernels for each thread count (median of `reps` after a warm-up).
pub fn measure(
    threads: &[usize],
    reps: usize,
) -> Result<Vec<Bandwidth>, rayon::ThreadPoolBuildError> {
    let a = vec![1.0f32; N];
    let b = vec![2.0f32; N];
    let mut c = vec![0.0f32; N];
    threads
        .iter()
        .map(|&t| {
            let pool = rayon::ThreadPoolBuilder::new().num_threads(t).build()?;
            let chunk = N.div_ceil(t);
            let Ok(read) = time::<Infallible>(reps, 0.0, || {
                let s: f32 = pool.install(|| {
                    a.par_chunks(chunk).zip(b.par_chunks(chunk)).map(|(x, y)| sum2(x, y)).sum()
                });
                black_box(s);
                Ok(())
            });
            let Ok(rw) = time::<Infallible>(reps, 0.0, || {
                pool.install(|| {
                    c.par_chunks_mut(chunk)
                        .zip(a.par_chunks(chunk).zip(b.par_chunks(chunk)))
                        .for_each(|(z, (x, y))| {
                            for ((o, p), q) in z.iter_mut().zip(x).zip(y) {
                                *o = p + q;
                            }
                        })
                });
                black_box(&c);
                Ok(())
            });
            Ok(Bandwidth {
                threads: t,
                read2: (8 * N) as f64 / read.median,
                read2_write1: (12 * N) as f64 / rw.median,
            })
        })
        .collect()
}
