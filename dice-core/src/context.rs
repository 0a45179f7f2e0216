//! Execution context: the caller decides how many threads the library may use.

use crate::backend::Backend;
use crate::error::{DiceError, Result};
use crate::limits::MAX_THREADS;
use rayon::prelude::*;

/// Below this many elements a call stays on the calling thread: fork-join costs more than it
/// saves, and on a shared machine a second thread may be busy.
const PARALLEL_MIN_ELEMS: usize = 1 << 18;

/// Owns a rayon pool of `threads` workers (none when `threads == 1`: calls run inline).
/// A context may be shared by threads; calls through it are independent.
#[derive(Debug)]
pub struct Context {
    threads: usize,
    pool: Option<rayon::ThreadPool>,
    backend: Backend,
}

impl Context {
    /// `threads == 0` means one per available core (at most [`MAX_THREADS`]). An explicit
    /// count above [`MAX_THREADS`] is refused with `ThreadPool`.
    pub fn new(threads: usize) -> Result<Self> {
        if threads > MAX_THREADS {
            return Err(DiceError::ThreadPool(format!(
                "{threads} threads requested; the limit is {MAX_THREADS} (0 = one per core)"
            )));
        }
        let threads = if threads == 0 {
            std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1).min(MAX_THREADS)
        } else {
            threads
        };
        let pool = if threads > 1 {
            Some(
                rayon::ThreadPoolBuilder::new()
                    .num_threads(threads)
                    .thread_name(|i| format!("dice-{i}"))
                    .build()
                    .map_err(|e| DiceError::ThreadPool(e.to_string()))?,
            )
        } else {
            None
        };
        Ok(Context { threads, pool, backend: Backend::active() })
    }

    /// A single-threaded context (no pool).
    pub fn single() -> Self {
        Context { threads: 1, pool: None, backend: Backend::active() }
    }

    /// Lowers the SIMD backend of calls through this context (never above what the CPU and
    /// `DICE_ARCH` allow). Returns the backend now in effect.
    pub fn lower_backend(&mut self, to: Backend) -> Backend {
        self.backend = self.backend.min(to);
        self.backend
    }

    /// The SIMD backend calls through this context use.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Worker count.
    pub fn threads(&self) -> usize {
        self.threads
    }

    /// Maps `f` over `items` in order, in parallel when worthwhile. `init` makes per-worker
    /// scratch. The output order is the input order whatever the thread count.
    pub(crate) fn map_ordered<I: Sync, R: Send, B>(
        &self,
        items: &[I],
        elems: usize,
        init: impl Fn() -> B + Sync + Send,
        f: impl Fn(&mut B, &I) -> R + Sync + Send,
    ) -> Vec<R> {
        match &self.pool {
            Some(pool) if items.len() > 1 && elems >= PARALLEL_MIN_ELEMS => {
                pool.install(|| items.par_iter().map_init(&init, |b, i| f(b, i)).collect())
            }
            _ => {
                let mut b = init();
                items.iter().map(|i| f(&mut b, i)).collect()
            }
        }
    }
}
