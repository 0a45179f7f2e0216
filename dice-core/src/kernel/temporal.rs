//! The temporal-consistency term on a tile of frame t: L = lambda / M sum (p_t - p_(t-1))^2 over
//! the kept channels, every position and every pair of consecutive frames (M pairs in all).
//! dL/dp_t = 2 lambda / M ((p_t - p_(t-1)) [t > 0] - (p_(t+1) - p_t) [t < T - 1]), added to
//! dL/dp before the activation's chain rule. The neighbouring frames' tiles are gathered and
//! activated in the same pass.

use super::{KernelCfg, activation, cols, cols_mut};
use crate::float::Float;
use crate::options::Activation;
use crate::plan::TILE;
use pulp::Simd;

/// A neighbouring frame's tile: logits, probabilities and one scratch row.
pub(crate) struct Neighbour<T> {
    pub x: Vec<T>,
    p: Vec<T>,
    aux: Vec<T>,
}

impl<T: Float> Neighbour<T> {
    /// Buffers for `c` channels, or none (`c` = 0) when the term is off.
    pub fn new(c: usize) -> Self {
        Neighbour {
            x: vec![T::default(); c * TILE],
            p: vec![T::default(); c * TILE],
            aux: vec![T::default(); TILE.min(c * TILE)],
        }
    }

    /// Activates the gathered logits of columns j0..j1.
    #[inline(always)]
    pub fn activate<S: Simd>(&mut self, s: S, cfg: &KernelCfg, j0: usize, j1: usize) {
        activation::probs_into::<S, T>(
            s,
            cfg,
            &self.x,
            &mut self.p,
            &mut self.aux,
            &mut [],
            j0,
            j1,
        );
    }

    /// The probabilities (the logits themselves without an activation).
    #[inline(always)]
    pub fn probs(&self, cfg: &KernelCfg) -> &[T] {
        if cfg.act == Activation::None { &self.x } else { &self.p }
    }
}

/// sum over kept channels and columns j0..j1 of (p - q)^2.
#[inline(always)]
pub(crate) fn squared_difference<S: Simd, T: Float>(
    s: S,
    cfg: &KernelCfg,
    p: &[T],
    q: &[T],
    j0: usize,
    j1: usize,
) -> T {
    let mut acc = T::splat(s, T::from_f64(0.0));
    for c in cfg.first..cfg.c {
        for (&a, &b) in
            T::as_simd::<S>(cols(p, c, j0, j1)).iter().zip(T::as_simd::<S>(cols(q, c, j0, j1)))
        {
            let d = T::sub(s, a, b);
            acc = T::mul_add(s, d, d, acc);
        }
    }
    T::reduce_sum(s, acc)
}

/// g += k (p - q) over kept channels, columns j0..j1, with q the previous or the next frame
/// (d/dp_t of (p_t - q)^2 has the same sign for both pairs) and k = 2 lambda / M.
#[inline(always)]
pub(crate) fn add_gradient<S: Simd, T: Float>(
    s: S,
    cfg: &KernelCfg,
    g: &mut [T],
    p: &[T],
    q: &[T],
    k: T,
    j0: usize,
    j1: usize,
) {
    let k = T::splat(s, k);
    for c in cfg.first..cfg.c {
        let gr = T::as_simd_mut::<S>(cols_mut(g, c, j0, j1));
        for ((gv, &a), &b) in gr
            .iter_mut()
            .zip(T::as_simd::<S>(cols(p, c, j0, j1)))
            .zip(T::as_simd::<S>(cols(q, c, j0, j1)))
        {
            *gv = T::mul_add(s, k, T::sub(s, a, b), *gv);
        }
    }
}
