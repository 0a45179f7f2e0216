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
//! `scale` dl/dx to the gradient rows. Every kernel runs over whole tile rows (one channel at a
//! time), after [`prepare`] has laid out the one-hot targets, the keep weights and the term's
//! own softmax as rows.

use super::{KernelCfg, TileBufs, activation, cols, cols_mut};
use crate::float::Float;
use crate::options::PointwiseKind;
use crate::plan::TILE;
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

/// Row `c` of a C-row buffer, columns j0..j1, as vectors.
#[inline(always)]
fn row<S: Simd, T: Float>(buf: &[T], c: usize, j0: usize, j1: usize) -> &[T::V<S>] {
    T::as_simd::<S>(cols(buf, c, j0, j1))
}

/// Mutable row `c` of a C-row buffer, columns j0..j1, as vectors.
#[inline(always)]
fn row_mut<S: Simd, T: Float>(buf: &mut [T], c: usize, j0: usize, j1: usize) -> &mut [T::V<S>] {
    T::as_simd_mut::<S>(cols_mut(buf, c, j0, j1))
}

/// The channels a term covers: the kept ones for the focal terms (whose softmax then
/// normalises over them only, as MONAI slices the background off first), all for BCE and CE.
#[inline(always)]
fn covered<T>(cfg: &KernelCfg, pc: &PointwiseCfg<T>) -> core::ops::Range<usize> {
    if matches!(pc.kind, PointwiseKind::SigmoidFocal | PointwiseKind::SoftmaxFocal) {
        cfg.first..cfg.c
    } else {
        0..cfg.c
    }
}

/// Lays out the term's inputs for columns j0..j1 as rows: with a label map, the one-hot
/// target rows (into `bufs.t`) and the keep row (0 on ignored voxels, else the loss-mask
/// weight or 1, into `bufs.keep`); with an unmasked dense target, a keep row of ones; and the
/// term's own softmax over the channels it covers (`bufs.q`, `bufs.lse`) when it needs one.
#[inline(always)]
fn prepare<S: Simd, T: Float>(
    s: S,
    cfg: &KernelCfg,
    pc: &PointwiseCfg<T>,
    bufs: &mut TileBufs<T>,
    j0: usize,
    j1: usize,
) {
    let TileBufs { x, t, lab, mask, keep, q, lse, aux, .. } = bufs;
    let (zero, one) = (splat::<S, T>(s, 0.0), splat::<S, T>(s, 1.0));
    if cfg.labels {
        let labs = T::as_simd_bits::<S>(&lab[j0..j1]);
        let ignored = T::splat_bits(s, T::IGNORED);
        let kr = T::as_simd_mut::<S>(&mut keep[j0..j1]);
        if cfg.masked {
            for ((k, &l), &m) in kr.iter_mut().zip(labs).zip(row::<S, T>(mask, 0, j0, j1)) {
                *k = T::select(s, T::eq_bits(s, l, ignored), zero, m);
            }
        } else {
            for (k, &l) in kr.iter_mut().zip(labs) {
                *k = T::select(s, T::eq_bits(s, l, ignored), zero, one);
            }
        }
        for c in 0..cfg.c {
            let code = T::splat_bits(s, T::bits_from_usize(cfg.code(c)));
            for (tv, &l) in row_mut::<S, T>(t, c, j0, j1).iter_mut().zip(labs) {
                *tv = T::select(s, T::eq_bits(s, l, code), one, zero);
            }
        }
    } else if !cfg.masked {
        keep[j0..j1].fill(T::from_f64(1.0));
    }
    if cfg.own_softmax {
        let from = covered(cfg, pc).start;
        activation::softmax::<S, T>(
            s,
            cfg.c - from,
            &x[from * TILE..],
            &mut q[from * TILE..],
            aux,
            lse,
            j0,
            j1,
        );
    }
}

/// Channel `c`'s keep weights (columns j0..j1): 0 where ignored, else the loss-mask weight, 1
/// without one (see [`prepare`]).
#[inline(always)]
fn keep<'a, S: Simd, T: Float>(
    cfg: &KernelCfg,
    bufs: &'a TileBufs<T>,
    c: usize,
    j0: usize,
    j1: usize,
) -> &'a [T::V<S>] {
    if cfg.masked && !cfg.labels {
        row::<S, T>(&bufs.mask, cfg.mask_row(c), j0, j1)
    } else {
        row::<S, T>(&bufs.keep, 0, j0, j1)
    }
}

/// The softmax probabilities the term reads: its own, or the activation's.
#[inline(always)]
fn probs<'a, T: Float>(cfg: &KernelCfg, bufs: &'a TileBufs<T>) -> &'a [T] {
    if cfg.own_softmax { &bufs.q } else { &bufs.p }
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

/// From e = e^-|x|, inv = 1 / w with w = 1 + e rounded, and l = ln(1 + e).
#[inline(always)]
fn logistic_from<S: Simd, T: Float>(
    s: S,
    x: T::V<S>,
    e: T::V<S>,
    inv: T::V<S>,
    l: T::V<S>,
) -> Logistic<T::V<S>> {
    let small = T::mul(s, e, inv);
    let neg = T::lt_v(s, x, splat::<S, T>(s, 0.0));
    Logistic {
        softplus: T::add(s, T::max(s, x, splat::<S, T>(s, 0.0)), l),
        sig: T::select(s, neg, small, inv),
        sig_neg: T::select(s, neg, inv, small),
    }
}

/// e = e^-|x| in (0, 1], inv = 1 / (1 + e) and ln(1 + e): the one exp, one ln and one
/// division that all logistic quantities of x share.
#[inline(always)]
fn logistic_parts<S: Simd, T: Float>(s: S, x: T::V<S>) -> (T::V<S>, T::V<S>, T::V<S>) {
    let one = splat::<S, T>(s, 1.0);
    let e = T::exp_nonpositive(s, T::sub(s, splat::<S, T>(s, 0.0), T::abs(s, x)));
    (e, T::div(s, one, T::add(s, one, e)), T::ln_1p_unit(s, e))
}

/// Logistic quantities of x.
#[inline(always)]
fn logistic<S: Simd, T: Float>(s: S, x: T::V<S>) -> Logistic<T::V<S>> {
    let (e, inv, l) = logistic_parts::<S, T>(s, x);
    logistic_from::<S, T>(s, x, e, inv, l)
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

/// A per-element loss of logit x and target t: (l, dl/dx).
trait Elementwise<S: Simd, T: Float>: Copy {
    fn eval(self, s: S, x: T::V<S>, t: T::V<S>) -> (T::V<S>, T::V<S>);
}

/// BCE with logits, pos_weight w: l = (1 - t) x + r softplus(-x), r = 1 + (w - 1) t.
#[derive(Clone, Copy)]
struct Bce<V> {
    w: V,
}

impl<S: Simd, T: Float> Elementwise<S, T> for Bce<T::V<S>> {
    #[inline(always)]
    fn eval(self, s: S, x: T::V<S>, t: T::V<S>) -> (T::V<S>, T::V<S>) {
        let one = splat::<S, T>(s, 1.0);
        let lx = logistic::<S, T>(s, x);
        // softplus(-x) = softplus(x) - x
        let r = T::mul_add(s, T::sub(s, self.w, one), t, one);
        let l = T::mul_add(s, r, T::sub(s, lx.softplus, x), T::mul(s, T::sub(s, one, t), x));
        (l, T::sub(s, T::mul(s, r, lx.sig), T::mul(s, self.w, t)))
    }
}

/// MONAI's sigmoid focal loss of one channel, f = w a+ on positives and w a- on negatives
/// (`f_neg` and `f_diff` = f+ - f-). `HARD`: t is 0 or 1 (label maps; the shorter form below).
/// `TWO`: gamma = 2, sigmoid(-z)^2 as a product (else e^(-gamma softplus(z))).
#[derive(Clone, Copy)]
struct SigmoidFocal<V, const HARD: bool, const TWO: bool> {
    f_neg: V,
    f_diff: V,
    gamma: V,
}

impl<S: Simd, T: Float, const HARD: bool, const TWO: bool> Elementwise<S, T>
    for SigmoidFocal<T::V<S>, HARD, TWO>
{
    #[inline(always)]
    fn eval(self, s: S, x: T::V<S>, t: T::V<S>) -> (T::V<S>, T::V<S>) {
        let one = splat::<S, T>(s, 1.0);
        let f = T::mul_add(s, t, self.f_diff, self.f_neg);
        if HARD {
            return self.hard::<S, T>(s, x, t, f);
        }
        let lx = logistic::<S, T>(s, x);
        let two_t_1 = T::sub(s, T::add(s, t, t), one);
        let lz = logistic::<S, T>(s, T::mul(s, x, two_t_1));
        let m = if TWO {
            T::mul(s, lz.sig_neg, lz.sig_neg)
        } else {
            T::exp(s, T::mul(s, T::sub(s, splat::<S, T>(s, 0.0), self.gamma), lz.softplus))
        };
        let b = T::sub(s, lx.softplus, T::mul(s, x, t));
        let fm = T::mul(s, f, m);
        let inner = T::mul(s, T::mul(s, self.gamma, b), T::mul(s, lz.sig, two_t_1));
        (T::mul(s, fm, b), T::mul(s, fm, T::sub(s, T::sub(s, lx.sig, t), inner)))
    }
}

impl<V: Copy, const HARD: bool, const TWO: bool> SigmoidFocal<V, HARD, TWO> {
    /// The loss for t in {0, 1}, from a = x (1 - 2t), the logit of the wrong outcome (|a| =
    /// |x|, so one exp serves): b = BCE = softplus(a), m = sigmoid(a)^gamma, l = f m b and
    /// dl/dx = (1 - 2t) f m (sigmoid(a) + gamma b sigmoid(-a)).
    #[inline(always)]
    fn hard<S: Simd, T: Float<V<S> = V>>(self, s: S, x: V, t: V, f: V) -> (V, V) {
        let zero = splat::<S, T>(s, 0.0);
        let sign = T::mul_add(s, t, splat::<S, T>(s, -2.0), splat::<S, T>(s, 1.0));
        let a = T::mul(s, x, sign);
        let (e, inv, l1p) = logistic_parts::<S, T>(s, x);
        let neg = T::lt_v(s, a, zero);
        let small = T::mul(s, e, inv);
        let (sig_a, sig_na) = (T::select(s, neg, small, inv), T::select(s, neg, inv, small));
        let b = T::add(s, T::max(s, a, zero), l1p);
        let m = if TWO {
            T::mul(s, sig_a, sig_a)
        } else {
            // sigmoid(a)^gamma = e^(-gamma softplus(-a)), softplus(-a) = max(-a, 0) + ln(1 + e)
            T::exp(s, T::mul(s, T::sub(s, zero, self.gamma), T::sub(s, l1p, T::min(s, a, zero))))
        };
        let fm = T::mul(s, f, m);
        let inner = T::mul_add(s, T::mul(s, self.gamma, b), sig_na, sig_a);
        (T::mul(s, fm, b), T::mul(s, T::mul(s, fm, inner), sign))
    }
}

/// What a row of an elementwise kind feeds: the loss and mean-weight sums, the gradient
/// (`scale` k dl/dx added), or the per-element map (k l written).
enum Use<'a, S: Simd, T: Float> {
    Sum(&'a mut T::V<S>, &'a mut T::V<S>),
    Grad(&'a mut [T::V<S>], T::V<S>),
    Map(&'a mut [T::V<S>]),
}

/// One channel's row of an elementwise kind: logits x, targets t, keep weights k.
#[inline(always)]
fn rows<S: Simd, T: Float, E: Elementwise<S, T>>(
    s: S,
    e: E,
    x: &[T::V<S>],
    t: &[T::V<S>],
    k: &[T::V<S>],
    out: Use<'_, S, T>,
) {
    let xtk = x.iter().zip(t).zip(k);
    match out {
        Use::Sum(loss, weight) => {
            for ((&x, &t), &k) in xtk {
                *loss = T::mul_add(s, k, e.eval(s, x, t).0, *loss);
                *weight = T::add(s, *weight, k);
            }
        }
        Use::Grad(g, scale) => {
            for (gv, ((&x, &t), &k)) in g.iter_mut().zip(xtk) {
                *gv = T::mul_add(s, T::mul(s, scale, k), e.eval(s, x, t).1, *gv);
            }
        }
        Use::Map(g) => {
            for (gv, ((&x, &t), &k)) in g.iter_mut().zip(xtk) {
                *gv = T::mul(s, k, e.eval(s, x, t).0);
            }
        }
    }
}

/// Channel `c`'s row of BCE or sigmoid focal, the kind and its constants chosen once per row.
#[inline(always)]
fn elementwise_row<S: Simd, T: Float>(
    s: S,
    cfg: &KernelCfg,
    pc: &PointwiseCfg<T>,
    bufs: &TileBufs<T>,
    c: usize,
    j0: usize,
    j1: usize,
    out: Use<'_, S, T>,
) {
    let (x, t, k) = (
        row::<S, T>(&bufs.x, c, j0, j1),
        row::<S, T>(&bufs.t, c, j0, j1),
        keep::<S, T>(cfg, bufs, c, j0, j1),
    );
    if pc.kind == PointwiseKind::Bce {
        return rows::<S, T, _>(s, Bce::<T::V<S>> { w: T::splat(s, pc.w[c]) }, x, t, k, out);
    }
    let (wc, f_pos, f_neg) = (pc.w[c].to_f64(), pc.a_pos[c].to_f64(), pc.a_neg[c].to_f64());
    let (f_neg, f_diff, gamma) = (
        splat::<S, T>(s, wc * f_neg),
        splat::<S, T>(s, wc * f_pos - wc * f_neg),
        T::splat(s, pc.gamma),
    );
    match (cfg.labels, pc.gamma.to_f64() == 2.0) {
        (true, true) => rows::<S, T, _>(
            s,
            SigmoidFocal::<T::V<S>, true, true> { f_neg, f_diff, gamma },
            x,
            t,
            k,
            out,
        ),
        (true, false) => rows::<S, T, _>(
            s,
            SigmoidFocal::<T::V<S>, true, false> { f_neg, f_diff, gamma },
            x,
            t,
            k,
            out,
        ),
        (false, true) => rows::<S, T, _>(
            s,
            SigmoidFocal::<T::V<S>, false, true> { f_neg, f_diff, gamma },
            x,
            t,
            k,
            out,
        ),
        (false, false) => rows::<S, T, _>(
            s,
            SigmoidFocal::<T::V<S>, false, false> { f_neg, f_diff, gamma },
            x,
            t,
            k,
            out,
        ),
    }
}

/// Softmax focal of one element with log-probability `ls`, probability `p`, target `t`:
/// (minus its loss a w t u^gamma ln p, and h = a w t (gamma u^(gamma-1) p ln p - u^gamma)),
/// u = 1 - p; u^(gamma-1) is written u^gamma / u (and the term 0 where u = 0).
#[inline(always)]
fn softmax_focal<S: Simd, T: Float>(
    s: S,
    gamma: T,
    kc: T::V<S>,
    ls: T::V<S>,
    p: T::V<S>,
    t: T::V<S>,
) -> (T::V<S>, T::V<S>) {
    let zero = splat::<S, T>(s, 0.0);
    let u = T::max(s, T::sub(s, splat::<S, T>(s, 1.0), p), zero);
    let pu = pow::<S, T>(s, u, gamma);
    let k = T::mul(s, kc, t);
    let d1 = T::div(s, T::mul(s, T::mul(s, T::splat(s, gamma), pu), T::mul(s, p, ls)), u);
    let d1 = T::select(s, T::eq_v(s, u, zero), zero, d1);
    (T::mul(s, T::mul(s, k, pu), ls), T::mul(s, k, T::sub(s, d1, pu)))
}

/// An elementwise term of a label target evaluated inside the softmax's column sweep
/// (`KernelCfg::softmax_labels`, the term over all C channels with the activation's softmax),
/// from each column's logits x, probabilities p, max logit m, sum = sum_c e^(x_c - m) (so
/// lse = ln sum_c e^x_c = m + ln sum) and label l; k = [l != IGNORED] and t_c = [l = c].
pub(crate) trait LabelTerm<S: Simd, T: Float, const C: usize>: Copy {
    /// Whether the sweep also counts G = sum [l = c] with this term. Beside a term's own
    /// values (CE, focal) G's C accumulators made the sweep slower (DiceCELoss forward about
    /// 8%), so the sweep then counts G in a loop of its own before the softmax instead.
    const WITH_COUNTS: bool = false;
    /// Adds one vector of voxels to the term's (loss, weight, voxels).
    #[allow(clippy::too_many_arguments)]
    fn sums(
        &mut self,
        s: S,
        acc: Vec3<S, T>,
        x: &[T::V<S>; C],
        p: &[T::V<S>; C],
        m: T::V<S>,
        sum: T::V<S>,
        l: T::B<S>,
    ) -> Vec3<S, T>;
    /// Adds what the term still holds at the end of a column range.
    fn finish(&mut self, _: S, acc: Vec3<S, T>) -> Vec3<S, T> {
        acc
    }
    /// Adds `scale` dl/dx of one vector of voxels to `g` (one vector per channel).
    #[allow(clippy::too_many_arguments)]
    fn gradient(
        &self,
        s: S,
        g: &mut [T::V<S>; C],
        x: &[T::V<S>; C],
        p: &[T::V<S>; C],
        m: T::V<S>,
        sum: T::V<S>,
        l: T::B<S>,
        scale: T::V<S>,
    );
}

/// Three vectors: (loss, weight, voxels) sums.
pub(crate) type Vec3<S, T> = (<T as Float>::V<S>, <T as Float>::V<S>, <T as Float>::V<S>);

/// No term.
impl<S: Simd, T: Float, const C: usize> LabelTerm<S, T, C> for () {
    const WITH_COUNTS: bool = true;
    #[inline(always)]
    fn sums(
        &mut self,
        _: S,
        acc: Vec3<S, T>,
        _: &[T::V<S>; C],
        _: &[T::V<S>; C],
        _: T::V<S>,
        _: T::V<S>,
        _: T::B<S>,
    ) -> Vec3<S, T> {
        acc
    }
    #[inline(always)]
    fn gradient(
        &self,
        _: S,
        _: &mut [T::V<S>; C],
        _: &[T::V<S>; C],
        _: &[T::V<S>; C],
        _: T::V<S>,
        _: T::V<S>,
        _: T::B<S>,
        _: T::V<S>,
    ) {
    }
}

/// (k, k w) for one vector: k = [l != IGNORED] as 0 / 1, and `w` where kept.
#[inline(always)]
fn kept<S: Simd, T: Float>(s: S, l: T::B<S>, w: T::V<S>) -> (T::V<S>, T::V<S>) {
    let zero = splat::<S, T>(s, 0.0);
    let skip = T::eq_bits(s, l, T::splat_bits(s, T::IGNORED));
    (T::select(s, skip, zero, splat::<S, T>(s, 1.0)), T::select(s, skip, zero, w))
}

/// Vectors of sums multiplied together before one ln: each sum is in [1, C], C <= 8, so 16
/// of them stay below 2^48, far from overflow in f32.
const PRODUCT_LEN: usize = 16;

/// Softmax CE: loss += k sum_c q_c (lse - x_c) = k (a_l (lse - x_l) + B lse - sum_c b_c x_c)
/// with q_c = a_c t_c + b_c and B = sum_c b_c, weight += k w_l, voxels += k;
/// dl/dx_c = k (p_c Q - q_c) (see the module's formulas). With equal class weights, a_l + B
/// is one constant A, and the ln sum part of k A lse summed over voxels is A ln of the
/// product of the kept voxels' sums: one ln per [`PRODUCT_LEN`] vectors instead of one per
/// vector.
#[derive(Clone, Copy)]
pub(crate) struct LabelCe<S: Simd, T: Float, const C: usize> {
    /// per channel: code, a_c = w_c (1 - e), b_c = w_c e / C, w_c
    k_c: [super::ChannelConsts<S, T>; C],
    /// B; `None` without label smoothing (every b_c = 0)
    smooth: Option<T::V<S>>,
    /// A = a + B, with equal class weights
    uniform: Option<T::V<S>>,
    /// the product of the sums since the last ln, and how many vectors it holds
    product: T::V<S>,
    factors: usize,
}

impl<S: Simd, T: Float, const C: usize> LabelCe<S, T, C> {
    /// The constants of `pc` (a softmax CE over C channels).
    #[inline(always)]
    pub fn new(s: S, pc: &PointwiseCfg<T>) -> Self {
        let zero = splat::<S, T>(s, 0.0);
        let mut k_c = [(T::splat_bits(s, T::IGNORED), zero, zero, zero); C];
        let (e, e_c) = (pc.smooth.to_f64(), pc.smooth_c.to_f64());
        for (c, kc) in k_c.iter_mut().enumerate() {
            let w = pc.w[c].to_f64();
            *kc = (
                T::splat_bits(s, T::bits_from_usize(c)),
                splat::<S, T>(s, w * (1.0 - e)),
                splat::<S, T>(s, w * e_c),
                T::splat(s, pc.w[c]),
            );
        }
        let big_b: f64 = pc.w.iter().map(|w| w.to_f64() * e_c).sum();
        let w0 = pc.w[0].to_f64();
        let uniform =
            pc.w.iter().all(|w| w.to_f64() == w0).then(|| splat::<S, T>(s, w0 * (1.0 - e) + big_b));
        LabelCe {
            k_c,
            smooth: (e != 0.0).then(|| splat::<S, T>(s, big_b)),
            uniform,
            product: splat::<S, T>(s, 1.0),
            factors: 0,
        }
    }

    /// Adds A ln(product) to the loss and restarts the product.
    #[inline(always)]
    fn flush(&mut self, s: S, loss: T::V<S>) -> T::V<S> {
        let Some(big_a) = self.uniform else { return loss };
        let loss = T::mul_add(s, big_a, T::ln(s, self.product), loss);
        (self.product, self.factors) = (splat::<S, T>(s, 1.0), 0);
        loss
    }
}

impl<S: Simd, T: Float, const C: usize> LabelTerm<S, T, C> for LabelCe<S, T, C> {
    #[inline(always)]
    fn sums(
        &mut self,
        s: S,
        (loss, weight, voxels): Vec3<S, T>,
        x: &[T::V<S>; C],
        _: &[T::V<S>; C],
        m: T::V<S>,
        sum: T::V<S>,
        l: T::B<S>,
    ) -> Vec3<S, T> {
        let zero = splat::<S, T>(s, 0.0);
        let (mut x_l, mut a_l, mut w_l) = (zero, zero, zero);
        for (&(code, a, _, w), &xc) in self.k_c.iter().zip(x) {
            let is_c = T::eq_bits(s, l, code);
            (x_l, a_l, w_l) = (
                T::select(s, is_c, xc, x_l),
                T::select(s, is_c, a, a_l),
                T::select(s, is_c, w, w_l),
            );
        }
        // a_l (lse - x_l) + B lse - sum_c b_c x_c, with lse = m + ln sum; with equal weights
        // the A ln sum part goes into the product instead
        let lse = if self.uniform.is_some() { m } else { T::add(s, m, T::ln(s, sum)) };
        let mut v = T::mul(s, a_l, T::sub(s, lse, x_l));
        if let Some(big_b) = self.smooth {
            v = T::mul_add(s, big_b, lse, v);
            for (&(_, _, b, _), &xc) in self.k_c.iter().zip(x) {
                v = T::sub(s, v, T::mul(s, b, xc));
            }
        }
        let (k, k_v) = kept::<S, T>(s, l, v);
        let mut loss = T::add(s, loss, k_v);
        if self.uniform.is_some() {
            let skip = T::eq_bits(s, l, T::splat_bits(s, T::IGNORED));
            self.product = T::mul(s, self.product, T::select(s, skip, splat::<S, T>(s, 1.0), sum));
            self.factors += 1;
            if self.factors == PRODUCT_LEN {
                loss = self.flush(s, loss);
            }
        }
        (loss, T::add(s, weight, kept::<S, T>(s, l, w_l).1), T::add(s, voxels, k))
    }

    #[inline(always)]
    fn finish(&mut self, s: S, (loss, weight, voxels): Vec3<S, T>) -> Vec3<S, T> {
        (self.flush(s, loss), weight, voxels)
    }

    #[inline(always)]
    fn gradient(
        &self,
        s: S,
        g: &mut [T::V<S>; C],
        _: &[T::V<S>; C],
        p: &[T::V<S>; C],
        _: T::V<S>,
        _: T::V<S>,
        l: T::B<S>,
        scale: T::V<S>,
    ) {
        let zero = splat::<S, T>(s, 0.0);
        let mut q = [zero; C];
        let mut big_q = zero;
        for (qc, &(code, a, b, _)) in q.iter_mut().zip(&self.k_c) {
            *qc = T::add(s, T::select(s, T::eq_bits(s, l, code), a, zero), b);
            big_q = T::add(s, big_q, *qc);
        }
        let sk = kept::<S, T>(s, l, scale).1;
        for ((gc, &pc), &qc) in g.iter_mut().zip(p).zip(&q) {
            *gc = T::mul_add(s, sk, T::sub(s, T::mul(s, pc, big_q), qc), *gc);
        }
    }
}

/// Softmax focal: only the labelled channel y has t_c = 1, so loss += -k kc_y u^gamma ln p_y
/// (u = 1 - p_y, ln p_y = x_y - lse), weight += k C, voxels += k, and dl/dx_j = k (h [j = y]
/// - p_j h) with h = kc_y (gamma u^(gamma-1) p_y ln p_y - u^gamma): one power per voxel.
#[derive(Clone, Copy)]
pub(crate) struct LabelFocal<S: Simd, T: Float, const C: usize> {
    /// per channel: code, kc_c = a_c w_c
    k_c: [(T::B<S>, T::V<S>); C],
    gamma: T,
}

impl<S: Simd, T: Float, const C: usize> LabelFocal<S, T, C> {
    /// The constants of `pc` (a softmax focal term over C channels).
    #[inline(always)]
    pub fn new(s: S, pc: &PointwiseCfg<T>) -> Self {
        let mut k_c = [(T::splat_bits(s, T::IGNORED), splat::<S, T>(s, 0.0)); C];
        for (c, kc) in k_c.iter_mut().enumerate() {
            *kc = (
                T::splat_bits(s, T::bits_from_usize(c)),
                splat::<S, T>(s, pc.a_pos[c].to_f64() * pc.w[c].to_f64()),
            );
        }
        LabelFocal { k_c, gamma: pc.gamma }
    }

    /// (x_y, p_y, kc_y, [l = c] per channel) of one vector.
    #[inline(always)]
    fn labelled(
        &self,
        s: S,
        x: &[T::V<S>; C],
        p: &[T::V<S>; C],
        l: T::B<S>,
    ) -> (T::V<S>, T::V<S>, T::V<S>, [T::M<S>; C]) {
        let zero = splat::<S, T>(s, 0.0);
        let (mut xy, mut py, mut ky) = (zero, zero, zero);
        let mut is = [T::eq_bits(s, l, self.k_c[0].0); C];
        for c in 0..C {
            let (code, kc) = self.k_c[c];
            is[c] = T::eq_bits(s, l, code);
            xy = T::select(s, is[c], x[c], xy);
            py = T::select(s, is[c], p[c], py);
            ky = T::select(s, is[c], kc, ky);
        }
        (xy, py, ky, is)
    }
}

impl<S: Simd, T: Float, const C: usize> LabelTerm<S, T, C> for LabelFocal<S, T, C> {
    #[inline(always)]
    fn sums(
        &mut self,
        s: S,
        (loss, weight, voxels): Vec3<S, T>,
        x: &[T::V<S>; C],
        p: &[T::V<S>; C],
        m: T::V<S>,
        sum: T::V<S>,
        l: T::B<S>,
    ) -> Vec3<S, T> {
        let lse = T::add(s, m, T::ln(s, sum));
        let (xy, py, ky, _) = self.labelled(s, x, p, l);
        let (nl, _) =
            softmax_focal::<S, T>(s, self.gamma, ky, T::sub(s, xy, lse), py, splat::<S, T>(s, 1.0));
        let (k, k_nl) = kept::<S, T>(s, l, nl);
        (
            T::sub(s, loss, k_nl),
            T::add(s, weight, kept::<S, T>(s, l, splat::<S, T>(s, C as f64)).1),
            T::add(s, voxels, k),
        )
    }

    #[inline(always)]
    fn gradient(
        &self,
        s: S,
        g: &mut [T::V<S>; C],
        x: &[T::V<S>; C],
        p: &[T::V<S>; C],
        m: T::V<S>,
        sum: T::V<S>,
        l: T::B<S>,
        scale: T::V<S>,
    ) {
        let zero = splat::<S, T>(s, 0.0);
        let lse = T::add(s, m, T::ln(s, sum));
        let (xy, py, ky, is) = self.labelled(s, x, p, l);
        let (_, h) =
            softmax_focal::<S, T>(s, self.gamma, ky, T::sub(s, xy, lse), py, splat::<S, T>(s, 1.0));
        let skh = T::mul(s, kept::<S, T>(s, l, scale).1, h);
        for c in 0..C {
            let own = T::select(s, is[c], skh, zero);
            g[c] = T::add(s, g[c], T::sub(s, own, T::mul(s, p[c], skh)));
        }
    }
}

/// Adds the tile's elementwise sums for columns j0..j1 to `acc`.
#[inline(always)]
pub(crate) fn accumulate<S: Simd, T: Float>(
    s: S,
    cfg: &KernelCfg,
    pc: &PointwiseCfg<T>,
    bufs: &mut TileBufs<T>,
    j0: usize,
    j1: usize,
) -> TileSums<T> {
    let zero = splat::<S, T>(s, 0.0);
    if j0 == j1 {
        return (T::from_f64(0.0), T::from_f64(0.0), T::from_f64(0.0));
    }
    prepare::<S, T>(s, cfg, pc, bufs, j0, j1);
    let bufs = &*bufs;
    let k0 = keep::<S, T>(cfg, bufs, 0, j0, j1);
    let mut voxels = zero;
    for &k in k0 {
        voxels = T::add(s, voxels, k);
    }
    let (mut loss, mut weight) = (zero, zero);
    let chans = covered(cfg, pc);
    match pc.kind {
        PointwiseKind::None => {}
        PointwiseKind::Bce | PointwiseKind::SigmoidFocal => {
            for c in chans {
                elementwise_row::<S, T>(
                    s,
                    cfg,
                    pc,
                    bufs,
                    c,
                    j0,
                    j1,
                    Use::Sum(&mut loss, &mut weight),
                );
            }
        }
        PointwiseKind::SoftmaxCe => {
            // q_c = w_c ((1 - e) t_c + e / C) = a t_c + b; the voxel's mean weight is w_y (labels) or 1
            let lse = row::<S, T>(&bufs.lse, 0, j0, j1);
            for c in chans {
                let w = T::splat(s, pc.w[c]);
                let a = T::mul(s, w, splat::<S, T>(s, 1.0 - pc.smooth.to_f64()));
                let b = T::mul(s, w, T::splat(s, pc.smooth_c));
                let rows = row::<S, T>(&bufs.x, c, j0, j1)
                    .iter()
                    .zip(row::<S, T>(&bufs.t, c, j0, j1))
                    .zip(k0.iter().zip(lse));
                for ((&x, &t), (&k, &l)) in rows {
                    let q = T::mul(s, k, T::mul_add(s, a, t, b));
                    loss = T::mul_add(s, q, T::sub(s, l, x), loss);
                    if cfg.labels {
                        weight = T::mul_add(s, T::mul(s, k, w), t, weight);
                    }
                }
            }
            if !cfg.labels {
                weight = voxels;
            }
        }
        PointwiseKind::SoftmaxFocal => {
            let lse = row::<S, T>(&bufs.lse, 0, j0, j1);
            for c in chans.clone() {
                let kc = T::splat(s, T::from_f64(pc.a_pos[c].to_f64() * pc.w[c].to_f64()));
                let rows = row::<S, T>(&bufs.x, c, j0, j1)
                    .iter()
                    .zip(row::<S, T>(&bufs.t, c, j0, j1))
                    .zip(row::<S, T>(probs(cfg, bufs), c, j0, j1).iter().zip(k0.iter().zip(lse)));
                for ((&x, &t), (&p, (&k, &l))) in rows {
                    let (nl, _) = softmax_focal::<S, T>(s, pc.gamma, kc, T::sub(s, x, l), p, t);
                    loss = T::sub(s, loss, T::mul(s, k, nl));
                }
            }
            weight = T::mul(s, voxels, splat::<S, T>(s, chans.len() as f64));
        }
    }
    (T::reduce_sum(s, loss), T::reduce_sum(s, weight), T::reduce_sum(s, voxels))
}

/// Writes each element's loss times its keep weight k into `bufs.g` (0 on channels the term
/// does not cover) for the per-channel kinds (BCE, sigmoid and softmax focal): the summands
/// of the term's loss sum, before its mean and lambda.
#[inline(always)]
pub(crate) fn loss_map<S: Simd, T: Float>(
    s: S,
    cfg: &KernelCfg,
    pc: &PointwiseCfg<T>,
    bufs: &mut TileBufs<T>,
    j0: usize,
    j1: usize,
) {
    let zero = splat::<S, T>(s, 0.0);
    if j0 == j1 {
        return;
    }
    prepare::<S, T>(s, cfg, pc, bufs, j0, j1);
    let chans = covered(cfg, pc);
    let mut g = std::mem::take(&mut bufs.g);
    for c in 0..cfg.c {
        let out = row_mut::<S, T>(&mut g, c, j0, j1);
        if !chans.contains(&c) {
            out.fill(zero);
            continue;
        }
        if pc.kind == PointwiseKind::SoftmaxFocal {
            let (x, t) = (row::<S, T>(&bufs.x, c, j0, j1), row::<S, T>(&bufs.t, c, j0, j1));
            let kc = T::splat(s, T::from_f64(pc.a_pos[c].to_f64() * pc.w[c].to_f64()));
            let rows = x.iter().zip(t).zip(
                row::<S, T>(probs(cfg, bufs), c, j0, j1)
                    .iter()
                    .zip(row::<S, T>(&bufs.lse, 0, j0, j1)),
            );
            for ((o, ((&x, &t), (&p, &l))), &k) in
                out.iter_mut().zip(rows).zip(keep::<S, T>(cfg, bufs, 0, j0, j1))
            {
                let (nl, _) = softmax_focal::<S, T>(s, pc.gamma, kc, T::sub(s, x, l), p, t);
                *o = T::sub(s, zero, T::mul(s, k, nl));
            }
        } else {
            elementwise_row::<S, T>(s, cfg, pc, bufs, c, j0, j1, Use::Map(out));
        }
    }
    bufs.g = g;
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
    if j0 == j1 || pc.kind == PointwiseKind::None {
        return;
    }
    prepare::<S, T>(s, cfg, pc, bufs, j0, j1);
    let scale = T::splat(s, scale);
    let chans = covered(cfg, pc);
    // The gradient rows and one row of per-voxel scratch (Q for CE, sum_c h_c for focal),
    // taken out so the other rows stay readable.
    let mut g = std::mem::take(&mut bufs.g);
    let mut aux = std::mem::take(&mut bufs.aux);
    let acc = T::as_simd_mut::<S>(&mut aux[j0..j1]);
    let k0 = keep::<S, T>(cfg, bufs, 0, j0, j1);
    match pc.kind {
        PointwiseKind::None => {}
        PointwiseKind::Bce | PointwiseKind::SigmoidFocal => {
            for c in chans {
                elementwise_row::<S, T>(
                    s,
                    cfg,
                    pc,
                    bufs,
                    c,
                    j0,
                    j1,
                    Use::Grad(row_mut::<S, T>(&mut g, c, j0, j1), scale),
                );
            }
        }
        PointwiseKind::SoftmaxCe => {
            // dl/dx_c = p_c Q - q_c, Q = sum_c q_c, q_c = a_c t_c + b_c
            let ab = |c: usize| {
                let w = pc.w[c].to_f64();
                (T::from_f64(w * (1.0 - pc.smooth.to_f64())), T::from_f64(w * pc.smooth_c.to_f64()))
            };
            acc.fill(zero);
            for c in chans.clone() {
                let (a, b) = ab(c);
                let (a, b) = (T::splat(s, a), T::splat(s, b));
                for (q, &t) in acc.iter_mut().zip(row::<S, T>(&bufs.t, c, j0, j1)) {
                    *q = T::add(s, *q, T::mul_add(s, a, t, b));
                }
            }
            for c in chans {
                let (a, b) = ab(c);
                let (a, b) = (T::splat(s, a), T::splat(s, b));
                let rows = row::<S, T>(&bufs.t, c, j0, j1)
                    .iter()
                    .zip(row::<S, T>(probs(cfg, bufs), c, j0, j1))
                    .zip(acc.iter().zip(k0));
                for (gv, ((&t, &p), (&big_q, &k))) in
                    row_mut::<S, T>(&mut g, c, j0, j1).iter_mut().zip(rows)
                {
                    let d = T::sub(s, T::mul(s, p, big_q), T::mul_add(s, a, t, b));
                    *gv = T::mul_add(s, T::mul(s, scale, k), d, *gv);
                }
            }
        }
        PointwiseKind::SoftmaxFocal => {
            // dl/dx_j = h_j - p_j sum_c h_c: g_c += s k h_c now, g_c -= s k p_c sum_h once it is known
            let lse = row::<S, T>(&bufs.lse, 0, j0, j1);
            acc.fill(zero);
            for c in chans.clone() {
                let kc = T::splat(s, T::from_f64(pc.a_pos[c].to_f64() * pc.w[c].to_f64()));
                let rows = row::<S, T>(&bufs.x, c, j0, j1)
                    .iter()
                    .zip(row::<S, T>(&bufs.t, c, j0, j1))
                    .zip(row::<S, T>(probs(cfg, bufs), c, j0, j1).iter().zip(lse));
                for ((gv, (sum_h, &k)), ((&x, &t), (&p, &l))) in row_mut::<S, T>(&mut g, c, j0, j1)
                    .iter_mut()
                    .zip(acc.iter_mut().zip(k0))
                    .zip(rows)
                {
                    let (_, h) = softmax_focal::<S, T>(s, pc.gamma, kc, T::sub(s, x, l), p, t);
                    *sum_h = T::add(s, *sum_h, h);
                    *gv = T::mul_add(s, T::mul(s, scale, k), h, *gv);
                }
            }
            for c in chans {
                let rows = row::<S, T>(probs(cfg, bufs), c, j0, j1).iter().zip(acc.iter().zip(k0));
                for (gv, (&p, (&sum_h, &k))) in
                    row_mut::<S, T>(&mut g, c, j0, j1).iter_mut().zip(rows)
                {
                    *gv = T::sub(s, *gv, T::mul(s, p, T::mul(s, T::mul(s, scale, k), sum_h)));
                }
            }
        }
    }
    bufs.g = g;
    bufs.aux = aux;
}
