//! Fused activations: probabilities p from the input x for every channel of a tile.
//!
//! - sigmoid: p = 1 / (1 + e^-x)
//! - softmax: p_c = e^(x_c - m) / sum_k e^(x_k - m), m = max_k x_k (stable for any logits)

use super::{KernelCfg, TileBufs, cols, cols_mut};
use crate::float::Float;
use crate::options::Activation;
use pulp::Simd;

/// Logistic sigmoid of one vector.
#[inline(always)]
pub(crate) fn sigmoid<S: Simd, T: Float>(s: S, x: T::V<S>) -> T::V<S> {
    let one = T::splat(s, T::from_f64(1.0));
    let e = T::exp(s, T::sub(s, T::splat(s, T::from_f64(0.0)), x));
    T::div(s, one, T::add(s, one, e))
}

/// Writes p into `bufs.p` for columns j0..j1 (nothing for `Activation::None`: p is x).
#[inline(always)]
pub(crate) fn probs<S: Simd, T: Float>(s: S, cfg: &KernelCfg, bufs: &mut TileBufs<T>, j0: usize, j1: usize) {
    let TileBufs { x, p, aux, .. } = bufs;
    probs_into::<S, T>(s, cfg, x, p, aux, j0, j1);
}

/// p from x (C-row buffers) for columns j0..j1, `aux` one row of scratch.
#[inline(always)]
pub(crate) fn probs_into<S: Simd, T: Float>(s: S, cfg: &KernelCfg, x: &[T], p: &mut [T], aux: &mut [T], j0: usize, j1: usize) {
    match cfg.act {
        Activation::None => {}
        Activation::Sigmoid => {
            for c in 0..cfg.c {
                let xs = T::as_simd::<S>(cols(x, c, j0, j1));
                let ps = T::as_simd_mut::<S>(cols_mut(p, c, j0, j1));
                for (pv, &xv) in ps.iter_mut().zip(xs) {
                    *pv = sigmoid::<S, T>(s, xv);
                }
            }
        }
        Activation::Softmax => {
            let m = T::as_simd_mut::<S>(&mut aux[j0..j1]);
            m.copy_from_slice(T::as_simd::<S>(cols(x, 0, j0, j1)));
            for c in 1..cfg.c {
                for (mv, &xv) in m.iter_mut().zip(T::as_simd::<S>(cols(x, c, j0, j1))) {
                    *mv = T::max(s, *mv, xv);
                }
            }
            for c in 0..cfg.c {
                let xs = T::as_simd::<S>(cols(x, c, j0, j1));
                let ps = T::as_simd_mut::<S>(cols_mut(p, c, j0, j1));
                for ((pv, &xv), &mv) in ps.iter_mut().zip(xs).zip(m.iter()) {
                    *pv = T::exp(s, T::sub(s, xv, mv));
                }
            }
            let zero = T::splat(s, T::from_f64(0.0));
            m.fill(zero);
            for c in 0..cfg.c {
                for (mv, &pv) in m.iter_mut().zip(T::as_simd::<S>(cols(p, c, j0, j1))) {
                    *mv = T::add(s, *mv, pv);
                }
            }
            let one = T::splat(s, T::from_f64(1.0));
            for mv in m.iter_mut() {
                *mv = T::div(s, one, *mv);
            }
            for c in 0..cfg.c {
                for (pv, &inv) in T::as_simd_mut::<S>(cols_mut(p, c, j0, j1)).iter_mut().zip(m.iter()) {
                    *pv = T::mul(s, *pv, inv);
                }
            }
        }
    }
}
