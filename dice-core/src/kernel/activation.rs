//! Fused activations: probabilities p from the input x for every channel of a tile.
//!
//! - sigmoid: p = 1 / (1 + e^-x)
//! - softmax: p_c = e^(x_c - m) / sum_k e^(x_k - m), m = max_k x_k (stable for any logits)

use super::{KernelCfg, TileBufs, cols, cols_mut};
use crate::float::Float;
use crate::options::Activation;
use crate::plan::TILE;
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
pub(crate) fn probs<S: Simd, T: Float>(
    s: S,
    cfg: &KernelCfg,
    bufs: &mut TileBufs<T>,
    j0: usize,
    j1: usize,
) {
    let TileBufs { x, p, aux, lse, .. } = bufs;
    probs_into::<S, T>(s, cfg, x, p, aux, lse, j0, j1);
}

/// p from x (C-row buffers) for columns j0..j1, `aux` one row of scratch. For softmax, a
/// non-empty `lse` row also receives ln sum_c e^x_c (reused by the elementwise terms).
#[inline(always)]
#[allow(clippy::too_many_arguments)]
pub(crate) fn probs_into<S: Simd, T: Float>(
    s: S,
    cfg: &KernelCfg,
    x: &[T],
    p: &mut [T],
    aux: &mut [T],
    lse: &mut [T],
    j0: usize,
    j1: usize,
) {
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
        Activation::Softmax => softmax::<S, T>(s, cfg.c, x, p, aux, lse, j0, j1),
    }
}

/// Softmax over the first `nc` rows of x into p for columns j0..j1 (a non-empty `lse` row
/// also receives ln sum_c e^x_c), `aux` one row of scratch.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
pub(crate) fn softmax<S: Simd, T: Float>(
    s: S,
    nc: usize,
    x: &[T],
    p: &mut [T],
    aux: &mut [T],
    lse: &mut [T],
    j0: usize,
    j1: usize,
) {
    macro_rules! columns {
        ($($c:literal)*) => {
            match nc {
                $($c => softmax_columns::<S, T, $c, (), true>(s, x, p, lse, j0, j1, &mut ()),)*
                c => softmax_rows::<S, T>(s, c, x, p, aux, lse, j0, j1),
            }
        };
    }
    columns!(2 3 4 5 6 7 8)
}

/// Receives each column's logits and softmax probabilities from [`softmax_columns`] while they
/// are in registers, so a kernel can use them without storing and reloading them.
pub(crate) trait Columns<S: Simd, T: Float, const C: usize> {
    /// Vector `k` of the column range: logits `x` and probabilities `p` (one vector per
    /// channel), the maximum logit `m` and `sum` = sum_c e^(x_c - m), so ln sum_c e^x_c =
    /// m + ln sum (a sink that needs it takes the ln itself).
    #[allow(clippy::too_many_arguments)]
    fn column(
        &mut self,
        s: S,
        k: usize,
        x: &[T::V<S>; C],
        p: &[T::V<S>; C],
        m: T::V<S>,
        sum: T::V<S>,
    );
}

/// No consumer: the softmax only writes p.
impl<S: Simd, T: Float, const C: usize> Columns<S, T, C> for () {
    #[inline(always)]
    fn column(
        &mut self,
        _: S,
        _: usize,
        _: &[T::V<S>; C],
        _: &[T::V<S>; C],
        _: T::V<S>,
        _: T::V<S>,
    ) {
    }
}

/// Softmax for any channel count: passes over the tile rows (max, exp, sum, scale), the
/// running max and sum in `aux`.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
fn softmax_rows<S: Simd, T: Float>(
    s: S,
    nc: usize,
    x: &[T],
    p: &mut [T],
    aux: &mut [T],
    lse: &mut [T],
    j0: usize,
    j1: usize,
) {
    let m = T::as_simd_mut::<S>(&mut aux[j0..j1]);
    m.copy_from_slice(T::as_simd::<S>(cols(x, 0, j0, j1)));
    for c in 1..nc {
        for (mv, &xv) in m.iter_mut().zip(T::as_simd::<S>(cols(x, c, j0, j1))) {
            *mv = T::max(s, *mv, xv);
        }
    }
    for c in 0..nc {
        let xs = T::as_simd::<S>(cols(x, c, j0, j1));
        let ps = T::as_simd_mut::<S>(cols_mut(p, c, j0, j1));
        for ((pv, &xv), &mv) in ps.iter_mut().zip(xs).zip(m.iter()) {
            *pv = T::exp_nonpositive(s, T::sub(s, xv, mv));
        }
    }
    let want_lse = !lse.is_empty();
    if want_lse {
        T::as_simd_mut::<S>(&mut lse[j0..j1]).copy_from_slice(m);
    }
    let zero = T::splat(s, T::from_f64(0.0));
    m.fill(zero);
    for c in 0..nc {
        for (mv, &pv) in m.iter_mut().zip(T::as_simd::<S>(cols(p, c, j0, j1))) {
            *mv = T::add(s, *mv, pv);
        }
    }
    if want_lse {
        for (lv, &sv) in T::as_simd_mut::<S>(&mut lse[j0..j1]).iter_mut().zip(m.iter()) {
            *lv = T::add(s, *lv, T::ln(s, sv));
        }
    }
    let one = T::splat(s, T::from_f64(1.0));
    for mv in m.iter_mut() {
        *mv = T::div(s, one, *mv);
    }
    for c in 0..nc {
        for (pv, &inv) in T::as_simd_mut::<S>(cols_mut(p, c, j0, j1)).iter_mut().zip(m.iter()) {
            *pv = T::mul(s, *pv, inv);
        }
    }
}

/// Softmax for a channel count known at compile time: one sweep over the columns with each
/// vector of C logits in registers (max, exp, sum, scale), x, p, the max and the sum handed
/// to `sink` and, with `STORE`, p written to p (and ln sum_c e^x_c to a non-empty `lse`).
/// `STORE` is a constant so that a sweep without it holds no registers for the ln. The same
/// operations in the same order as [`softmax_rows`], so the results are bit-identical.
/// (Loops, not `array::from_fn` closures: closures do not inherit the SIMD target features.)
#[inline(always)]
#[allow(clippy::too_many_arguments)]
pub(crate) fn softmax_columns<
    S: Simd,
    T: Float,
    const C: usize,
    K: Columns<S, T, C>,
    const STORE: bool,
>(
    s: S,
    x: &[T],
    p: &mut [T],
    lse: &mut [T],
    j0: usize,
    j1: usize,
    sink: &mut K,
) {
    let n = (j1 - j0) / T::lanes::<S>();
    let mut xr: [&[T::V<S>]; C] = [&[]; C];
    for (c, row) in xr.iter_mut().enumerate() {
        *row = &T::as_simd::<S>(cols(x, c, j0, j1))[..n];
    }
    let mut pr: [&mut [T::V<S>]; C] = core::array::from_fn(|_| Default::default());
    if STORE {
        for (row, buf) in pr.iter_mut().zip(p.chunks_exact_mut(TILE)) {
            *row = &mut T::as_simd_mut::<S>(&mut buf[j0..j1])[..n];
        }
    }
    let mut lse = if !STORE || lse.is_empty() {
        None
    } else {
        Some(&mut T::as_simd_mut::<S>(&mut lse[j0..j1])[..n])
    };
    let one = T::splat(s, T::from_f64(1.0));
    let (mut e, mut xv) = ([one; C], [one; C]);
    for k in 0..n {
        for (v, row) in xv.iter_mut().zip(&xr) {
            *v = row[k];
        }
        let mut m = xv[0];
        for &v in &xv[1..] {
            m = T::max(s, m, v);
        }
        for (ev, &v) in e.iter_mut().zip(&xv) {
            *ev = T::exp_nonpositive(s, T::sub(s, v, m));
        }
        let mut sum = e[0];
        for &ev in &e[1..] {
            sum = T::add(s, sum, ev);
        }
        if let Some(row) = lse.as_deref_mut() {
            row[k] = T::add(s, m, T::ln(s, sum));
        }
        let inv = T::div(s, one, sum);
        for ev in e.iter_mut() {
            *ev = T::mul(s, *ev, inv);
        }
        if STORE {
            for (row, &pv) in pr.iter_mut().zip(&e) {
                row[k] = pv;
            }
        }
        sink.column(s, k, &xv, &e, m, sum);
    }
}
