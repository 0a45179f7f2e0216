//! The elementwise term of the hybrid losses, on a tile, reading the input x as logits.
//! Per element (n, c, v) with target t (one-hot of the label, or dense) and keep weight k (0 on
//! ignored elements, else the loss-mask weight m, 1 without one; each loss and its mean
//! weight are multiplied by k, so a binary mask is the mean over the kept voxels):
//!
//! - softmax CE, per voxel: l = sum_c q_c (lse - x_c), q_c = w_c ((1 - e) t_c + e / C),
//!   lse = ln sum_c e^x_c; dl/dx_c = p_c Q - q_c, Q = sum q. Mean weight: w_y (labels) or 1.
//! - BCE: l = (1 - t) x + r softplus(-x), r = 1 + (w_c - 1) t; dl/dx = r sigmoid(x) - w_c t.
//! - sigmoid focal (MONAI): l = f b m, b = softplus(x) - x t, m = e^(gamma logsigmoid(-z)),
//!   z = x (2t - 1), f = t a+_c + (1 - t) a-_c; dl/dx = f m ((sigmoid(x) - t) - gamma b
//!   sigmoid(z) (2t - 1)).
//! - softmax focal (MONAI): l = -sum_c k_c (1 - p_c)^gamma ln p_c, k_c = a_c t_c;
//!   dl/dx_j = h_j - p_j sum_c h_c, h_c = k_c (gamma (1 - p_c)^(gamma-1) p_c ln p_c - (1 - p_c)^gamma),
//!   over the kept channels, p being their own softmax (MONAI drops the background first).
//!
//! Reduce returns the tile's sums of l, of the mean weight and of kept voxels; backward adds
//! `scale` dl/dx to the gradient rows.

use super::{KernelCfg, TileBufs, cols, cols_mut};
use crate::float::Float;
use crate::options::PointwiseKind;
use pulp::Simd;

/// The term's constants in the element type, per input channel.
#[derive(Clone, Debug)]
pub(crate) struct PointwiseCfg<T> {
    pub kind: PointwiseKind,
    /// Class weight (CE), pos_weight (BCE) or focal class weight; 1 when none.
    pub w: Vec<T>,
    /// Focal factors on positives and on negatives (softmax focal: `a_pos` only).
    pub a_pos: Vec<T>,
    pub a_neg: Vec<T>,
    pub gamma: T,
    /// Label smoothing e and e / C.
    pub smooth: T,
    pub smooth_c: T,
}

/// Sums of one tile: loss, mean weight, kept voxels.
pub(crate) type TileSums<T> = (T, T, T);

#[inline(always)]
fn splat<S: Simd, T: Float>(s: S, v: f64) -> T::V<S> {
    T::splat(s, T::from_f64(v))
}

/// ln(1 + u) for u in [0, 1], accurate for small u (ln(w) u / (w - 1) with w = 1 + u).
#[inline(always)]
fn log1p<S: Simd, T: Float>(s: S, u: T::V<S>) -> T::V<S> {
    let w = T::add(s, splat::<S, T>(s, 1.0), u);
    let d = T::sub(s, w, splat::<S, T>(s, 1.0));
    let r = T::div(s, T::mul(s, T::ln(s, w), u), d);
    T::select(s, T::eq_v(s, d, splat::<S, T>(s, 0.0)), u, r)
}

/// Logistic quantities of x, each stable for any x.
struct Logistic<V> {
    /// ln(1 + e^x)
    softplus: V,
    /// 1 / (1 + e^-x)
    sig: V,
    /// 1 / (1 + e^x), computed directly (no cancellation in 1 - sig)
    sig_neg: V,
}

/// From e = e^-|x| (the one transcendental shared by all three) and l = ln(1 + e).
#[inline(always)]
fn logistic_from<S: Simd, T: Float>(s: S, x: T::V<S>, e: T::V<S>, l: T::V<S>) -> Logistic<T::V<S>> {
    let zero = splat::<S, T>(s, 0.0);
    let one = splat::<S, T>(s, 1.0);
    let inv = T::div(s, one, T::add(s, one, e));
    let small = T::mul(s, e, inv);
    let neg = T::lt_v(s, x, zero);
    Logistic {
        softplus: T::add(s, T::max(s, x, zero), l),
        sig: T::select(s, neg, small, inv),
        sig_neg: T::select(s, neg, inv, small),
    }
}

/// Logistic quantities of x.
#[inline(always)]
fn logistic<S: Simd, T: Float>(s: S, x: T::V<S>) -> Logistic<T::V<S>> {
    let e = T::exp(s, T::sub(s, splat::<S, T>(s, 0.0), T::abs(s, x))); // e^-|x| in (0, 1]
    logistic_from::<S, T>(s, x, e, log1p::<S, T>(s, e))
}

/// u^gamma for u >= 0 (1 for gamma = 0, including 0^0).
#[inline(always)]
fn pow<S: Simd, T: Float>(s: S, u: T::V<S>, gamma: T) -> T::V<S> {
    let g = gamma.to_f64();
    if g == 0.0 {
        splat::<S, T>(s, 1.0)
    } else if g == 1.0 {
        u
    } else if g == 2.0 {
        T::mul(s, u, u)
    } else {
        T::exp(s, T::mul(s, T::splat(s, gamma), T::ln(s, u)))
    }
}

/// Target and keep weight of channel `c` at vector `v` of the tile's column range (0 on
/// ignored elements, else the loss-mask weight, 1 without one).
#[inline(always)]
fn target<S: Simd, T: Float>(s: S, cfg: &KernelCfg, bufs: &TileBufs<T>, c: usize, j0: usize, j1: usize, v: usize) -> (T::V<S>, T::V<S>) {
    let zero = splat::<S, T>(s, 0.0);
    let one = splat::<S, T>(s, 1.0);
    if cfg.labels {
        let lab = T::as_simd_bits::<S>(&bufs.lab[j0..j1])[v];
        let t = T::select(s, T::eq_bits(s, lab, T::splat_bits(s, T::bits_from_usize(cfg.code(c)))), one, zero);
        let w = if cfg.masked { T::as_simd::<S>(cols(&bufs.mask, 0, j0, j1))[v] } else { one };
        let k = T::select(s, T::eq_bits(s, lab, T::splat_bits(s, T::IGNORED)), zero, w);
        (t, k)
    } else {
        let t = T::as_simd::<S>(cols(&bufs.t, c, j0, j1))[v];
        let k = if cfg.masked { T::as_simd::<S>(cols(&bufs.mask, cfg.mask_row(c), j0, j1))[v] } else { one };
        (t, k)
    }
}

/// Max over channels `from..C` and ln sum_c e^(x_c - max) at vector `v`.
#[inline(always)]
fn log_sum_exp<S: Simd, T: Float>(s: S, cfg: &KernelCfg, x: &[T], from: usize, j0: usize, j1: usize, v: usize) -> (T::V<S>, T::V<S>) {
    let mut m = T::as_simd::<S>(cols(x, from, j0, j1))[v];
    for c in from + 1..cfg.c {
        m = T::max(s, m, T::as_simd::<S>(cols(x, c, j0, j1))[v]);
    }
    let mut se = splat::<S, T>(s, 0.0);
    for c in from..cfg.c {
        se = T::add(s, se, T::exp(s, T::sub(s, T::as_simd::<S>(cols(x, c, j0, j1))[v], m)));
    }
    (m, T::add(s, m, T::ln(s, se)))
}

/// ln sum_{c >= from} e^x_c at vector `v`: from the softmax when it computed it (from = 0),
/// else here.
#[inline(always)]
fn lse_at<S: Simd, T: Float>(s: S, cfg: &KernelCfg, bufs: &TileBufs<T>, from: usize, j0: usize, j1: usize, v: usize) -> T::V<S> {
    if cfg.lse && from == 0 {
        T::as_simd::<S>(&bufs.lse[j0..j1])[v]
    } else {
        log_sum_exp::<S, T>(s, cfg, &bufs.x, from, j0, j1, v).1
    }
}

/// The channels a term covers: the kept ones for the focal terms (whose softmax then
/// normalises over them only, as MONAI slices the background off first), all for BCE and CE.
#[inline(always)]
fn covered<T>(cfg: &KernelCfg, pc: &PointwiseCfg<T>) -> core::ops::Range<usize> {
    if matches!(pc.kind, PointwiseKind::SigmoidFocal | PointwiseKind::SoftmaxFocal) { cfg.first..cfg.c } else { 0..cfg.c }
}

/// Softmax probability e^(x_c - lse) of channel `c` at vector `v` (from the activation when
/// it ran over the same channels: `lse` over all of them).
#[inline(always)]
#[allow(clippy::too_many_arguments)]
fn prob_at<S: Simd, T: Float>(s: S, cfg: &KernelCfg, bufs: &TileBufs<T>, from: usize, c: usize, j0: usize, j1: usize, v: usize, lse: T::V<S>) -> T::V<S> {
    if cfg.lse && from == 0 {
        T::as_simd::<S>(cols(&bufs.p, c, j0, j1))[v]
    } else {
        T::exp(s, T::sub(s, T::as_simd::<S>(cols(&bufs.x, c, j0, j1))[v], lse))
    }
}

/// Per element: (loss, d loss / dx) of the elementwise kinds (BCE, sigmoid focal). `HARD`:
/// the target is 0 or 1 (label maps), so z = +-x shares e^-|x| with x.
#[inline(always)]
fn elementwise<S: Simd, T: Float, const HARD: bool>(s: S, pc: &PointwiseCfg<T>, c: usize, x: T::V<S>, t: T::V<S>) -> (T::V<S>, T::V<S>) {
    let one = splat::<S, T>(s, 1.0);
    let e = T::exp(s, T::sub(s, splat::<S, T>(s, 0.0), T::abs(s, x)));
    let l1p = log1p::<S, T>(s, e);
    let lx = logistic_from::<S, T>(s, x, e, l1p);
    let (sp, sig) = (lx.softplus, lx.sig);
    let w = T::splat(s, pc.w[c]);
    match pc.kind {
        PointwiseKind::Bce => {
            // softplus(-x) = softplus(x) - x
            let r = T::add(s, one, T::mul(s, T::sub(s, w, one), t));
            let l = T::mul_add(s, r, T::sub(s, sp, x), T::mul(s, T::sub(s, one, t), x));
            let d = T::sub(s, T::mul(s, r, sig), T::mul(s, w, t));
            (l, d)
        }
        _ => {
            let two_t_1 = T::sub(s, T::add(s, t, t), one);
            let z = T::mul(s, x, two_t_1);
            let lz = if HARD { logistic_from::<S, T>(s, z, e, l1p) } else { logistic::<S, T>(s, z) };
            let sigz = lz.sig;
            // sigmoid(-z)^gamma: products for gamma 0, 1, 2; else e^(-gamma softplus(z))
            let g = pc.gamma.to_f64();
            let m = if g == 0.0 || g == 1.0 || g == 2.0 {
                pow::<S, T>(s, lz.sig_neg, pc.gamma)
            } else {
                T::exp(s, T::mul(s, T::splat(s, T::from_f64(-g)), lz.softplus))
            };
            let b = T::sub(s, sp, T::mul(s, x, t));
            let f = T::mul(s, w, T::mul_add(s, t, T::splat(s, pc.a_pos[c]), T::mul(s, T::sub(s, one, t), T::splat(s, pc.a_neg[c]))));
            let fm = T::mul(s, f, m);
            let l = T::mul(s, fm, b);
            let inner = T::mul(s, T::mul(s, T::splat(s, pc.gamma), b), T::mul(s, sigz, two_t_1));
            (l, T::mul(s, fm, T::sub(s, T::sub(s, sig, t), inner)))
        }
    }
}

/// Adds the tile's elementwise sums for columns j0..j1 to `acc`.
#[inline(always)]
pub(crate) fn accumulate<S: Simd, T: Float>(
    s: S,
    cfg: &KernelCfg,
    pc: &PointwiseCfg<T>,
    bufs: &TileBufs<T>,
    j0: usize,
    j1: usize,
) -> TileSums<T> {
    let zero = splat::<S, T>(s, 0.0);
    let one = splat::<S, T>(s, 1.0);
    let (mut loss, mut weight, mut voxels) = (zero, zero, zero);
    let n = (j1 - j0) / T::lanes::<S>();
    let chans = covered(cfg, pc);
    for v in 0..n {
        let (_, k0) = target::<S, T>(s, cfg, bufs, 0, j0, j1, v);
        voxels = T::add(s, voxels, k0);
        match pc.kind {
            PointwiseKind::None => {}
            PointwiseKind::Bce | PointwiseKind::SigmoidFocal => {
                for c in chans.clone() {
                    let x = T::as_simd::<S>(cols(&bufs.x, c, j0, j1))[v];
                    let (t, k) = target::<S, T>(s, cfg, bufs, c, j0, j1, v);
                    let (l, _) = if cfg.labels {
                        elementwise::<S, T, true>(s, pc, c, x, t)
                    } else {
                        elementwise::<S, T, false>(s, pc, c, x, t)
                    };
                    loss = T::mul_add(s, k, l, loss);
                    weight = T::add(s, weight, k);
                }
            }
            PointwiseKind::SoftmaxCe => {
                let lse = lse_at::<S, T>(s, cfg, bufs, 0, j0, j1, v);
                let (mut l, mut wy) = (zero, zero);
                for c in 0..cfg.c {
                    let x = T::as_simd::<S>(cols(&bufs.x, c, j0, j1))[v];
                    let (t, _) = target::<S, T>(s, cfg, bufs, c, j0, j1, v);
                    let w = T::splat(s, pc.w[c]);
                    let q = T::mul(s, w, T::mul_add(s, T::sub(s, one, T::splat(s, pc.smooth)), t, T::splat(s, pc.smooth_c)));
                    l = T::mul_add(s, q, T::sub(s, lse, x), l);
                    wy = T::mul_add(s, w, t, wy);
                }
                loss = T::mul_add(s, k0, l, loss);
                weight = T::mul_add(s, k0, if cfg.labels { wy } else { one }, weight);
            }
            PointwiseKind::SoftmaxFocal => {
                let lse = lse_at::<S, T>(s, cfg, bufs, cfg.first, j0, j1, v);
                for c in chans.clone() {
                    loss = T::sub(s, loss, T::mul(s, k0, softmax_focal::<S, T>(s, cfg, pc, bufs, c, j0, j1, v, lse)));
                }
                weight = T::mul_add(s, k0, splat::<S, T>(s, chans.len() as f64), weight);
            }
        }
    }
    (T::reduce_sum(s, loss), T::reduce_sum(s, weight), T::reduce_sum(s, voxels))
}

/// Minus the softmax focal loss of channel `c` at vector `v`: a_c w_c t_c (1 - p_c)^gamma ln p_c.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
fn softmax_focal<S: Simd, T: Float>(
    s: S,
    cfg: &KernelCfg,
    pc: &PointwiseCfg<T>,
    bufs: &TileBufs<T>,
    c: usize,
    j0: usize,
    j1: usize,
    v: usize,
    lse: T::V<S>,
) -> T::V<S> {
    let zero = splat::<S, T>(s, 0.0);
    let ls = T::sub(s, T::as_simd::<S>(cols(&bufs.x, c, j0, j1))[v], lse);
    let (t, _) = target::<S, T>(s, cfg, bufs, c, j0, j1, v);
    let u = T::sub(s, splat::<S, T>(s, 1.0), prob_at::<S, T>(s, cfg, bufs, cfg.first, c, j0, j1, v, lse));
    let k = T::mul(s, T::splat(s, pc.a_pos[c]), T::mul(s, T::splat(s, pc.w[c]), t));
    T::mul(s, T::mul(s, k, pow::<S, T>(s, T::max(s, u, zero), pc.gamma)), ls)
}

/// Writes each element's loss times its keep weight k into `bufs.g` (0 on channels the term
/// does not cover) for the per-channel kinds (BCE, sigmoid and softmax focal): the summands
/// of the term's loss sum, before its mean and lambda.
#[inline(always)]
pub(crate) fn loss_map<S: Simd, T: Float>(s: S, cfg: &KernelCfg, pc: &PointwiseCfg<T>, bufs: &mut TileBufs<T>, j0: usize, j1: usize) {
    let zero = splat::<S, T>(s, 0.0);
    let n = (j1 - j0) / T::lanes::<S>();
    let chans = covered(cfg, pc);
    for v in 0..n {
        let lse = if pc.kind == PointwiseKind::SoftmaxFocal { lse_at::<S, T>(s, cfg, bufs, cfg.first, j0, j1, v) } else { zero };
        for c in 0..cfg.c {
            let l = if !chans.contains(&c) {
                zero
            } else if pc.kind == PointwiseKind::SoftmaxFocal {
                let (_, k0) = target::<S, T>(s, cfg, bufs, 0, j0, j1, v);
                T::sub(s, zero, T::mul(s, k0, softmax_focal::<S, T>(s, cfg, pc, bufs, c, j0, j1, v, lse)))
            } else {
                let x = T::as_simd::<S>(cols(&bufs.x, c, j0, j1))[v];
                let (t, k) = target::<S, T>(s, cfg, bufs, c, j0, j1, v);
                let (l, _) = if cfg.labels { elementwise::<S, T, true>(s, pc, c, x, t) } else { elementwise::<S, T, false>(s, pc, c, x, t) };
                T::mul(s, k, l)
            };
            T::as_simd_mut::<S>(cols_mut(&mut bufs.g, c, j0, j1))[v] = l;
        }
    }
}

/// Adds `scale` d loss / dx of columns j0..j1 to `bufs.g`.
#[inline(always)]
pub(crate) fn gradient<S: Simd, T: Float>(
    s: S,
    cfg: &KernelCfg,
    pc: &PointwiseCfg<T>,
    bufs: &mut TileBufs<T>,
    scale: T,
    j0: usize,
    j1: usize,
) {
    let zero = splat::<S, T>(s, 0.0);
    let one = splat::<S, T>(s, 1.0);
    let scale = T::splat(s, scale);
    let n = (j1 - j0) / T::lanes::<S>();
    let chans = covered(cfg, pc);
    for v in 0..n {
        match pc.kind {
            PointwiseKind::None => {}
            PointwiseKind::Bce | PointwiseKind::SigmoidFocal => {
                for c in chans.clone() {
                    let x = T::as_simd::<S>(cols(&bufs.x, c, j0, j1))[v];
                    let (t, k) = target::<S, T>(s, cfg, bufs, c, j0, j1, v);
                    let (_, d) = if cfg.labels {
                        elementwise::<S, T, true>(s, pc, c, x, t)
                    } else {
                        elementwise::<S, T, false>(s, pc, c, x, t)
                    };
                    let g = &mut T::as_simd_mut::<S>(cols_mut(&mut bufs.g, c, j0, j1))[v];
                    *g = T::mul_add(s, T::mul(s, scale, k), d, *g);
                }
            }
            PointwiseKind::SoftmaxCe => {
                let lse = lse_at::<S, T>(s, cfg, bufs, 0, j0, j1, v);
                let (_, k0) = target::<S, T>(s, cfg, bufs, 0, j0, j1, v);
                let mut big_q = zero;
                for c in 0..cfg.c {
                    let (t, _) = target::<S, T>(s, cfg, bufs, c, j0, j1, v);
                    let q = T::mul(s, T::splat(s, pc.w[c]), T::mul_add(s, T::sub(s, one, T::splat(s, pc.smooth)), t, T::splat(s, pc.smooth_c)));
                    big_q = T::add(s, big_q, q);
                }
                let ks = T::mul(s, k0, scale);
                for c in 0..cfg.c {
                    let (t, _) = target::<S, T>(s, cfg, bufs, c, j0, j1, v);
                    let q = T::mul(s, T::splat(s, pc.w[c]), T::mul_add(s, T::sub(s, one, T::splat(s, pc.smooth)), t, T::splat(s, pc.smooth_c)));
                    let p = prob_at::<S, T>(s, cfg, bufs, 0, c, j0, j1, v, lse);
                    let g = &mut T::as_simd_mut::<S>(cols_mut(&mut bufs.g, c, j0, j1))[v];
                    *g = T::mul_add(s, ks, T::sub(s, T::mul(s, p, big_q), q), *g);
                }
            }
            PointwiseKind::SoftmaxFocal => {
                let lse = lse_at::<S, T>(s, cfg, bufs, cfg.first, j0, j1, v);
                let (_, k0) = target::<S, T>(s, cfg, bufs, 0, j0, j1, v);
                let gamma = T::splat(s, pc.gamma);
                let mut sum_h = zero;
                // g_c += s h_c now, then g_c -= s p_c sum_h once sum_h is known
                for c in chans.clone() {
                    let ls = T::sub(s, T::as_simd::<S>(cols(&bufs.x, c, j0, j1))[v], lse);
                    let (t, _) = target::<S, T>(s, cfg, bufs, c, j0, j1, v);
                    let p = prob_at::<S, T>(s, cfg, bufs, cfg.first, c, j0, j1, v, lse);
                    let u = T::max(s, T::sub(s, one, p), zero);
                    let pu = pow::<S, T>(s, u, pc.gamma);
                    let k = T::mul(s, T::splat(s, pc.a_pos[c]), T::mul(s, T::splat(s, pc.w[c]), t));
                    // gamma u^(gamma-1) p ln p, written gamma u^gamma p ln p / u (0 where u = 0)
                    let d1 = T::div(s, T::mul(s, T::mul(s, gamma, pu), T::mul(s, p, ls)), u);
                    let d1 = T::select(s, T::eq_v(s, u, zero), zero, d1);
                    let h = T::mul(s, k, T::sub(s, d1, pu));
                    sum_h = T::add(s, sum_h, h);
                    let g = &mut T::as_simd_mut::<S>(cols_mut(&mut bufs.g, c, j0, j1))[v];
                    *g = T::mul_add(s, T::mul(s, scale, k0), h, *g);
                }
                let ks = T::mul(s, T::mul(s, scale, k0), sum_h);
                for c in chans.clone() {
                    let p = prob_at::<S, T>(s, cfg, bufs, cfg.first, c, j0, j1, v, lse);
                    let g = &mut T::as_simd_mut::<S>(cols_mut(&mut bufs.g, c, j0, j1))[v];
                    *g = T::sub(s, *g, T::mul(s, p, ks));
                }
            }
        }
    }
}
