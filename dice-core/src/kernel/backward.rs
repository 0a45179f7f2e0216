//! Step 3 on a tile: the gradient with respect to the input.
//!
//! dL/dp_c = (a_c di/dp + b_c dP/dp) m, with (a_c, b_c) = (dL/dI, dL/dP) of the voxel's entry,
//! di/dp = t (or [p < t] + [p = t]/2 for the soft-label min), dP/dp = 1 (or 2p), m the element
//! mask; excluded channels get 0. Then through the activation:
//! sigmoid g_x = g_p p (1 - p); softmax g_x,c = p_c (g_p,c - sum_k g_p,k p_k).
//! The elementwise term's gradient (already in logit space) is added by `pointwise`.

use super::activation::{Columns, softmax_columns};
use super::pointwise::{LabelCe, LabelFocal, LabelTerm, PointwiseCfg};
use super::{KernelCfg, TileBufs, cols, cols_mut, outlined};
use crate::float::Float;
use crate::options::Activation;
use crate::options::PointwiseKind;
use crate::plan::TILE;
use pulp::{Simd, WithSimd};

/// Writes dL/dp of columns j0..j1 into `bufs.g` (p already computed); `chain` then turns
/// it into dL/dx. `coef[c - first]` = (dL/dI, dL/dP) for kept channel c.
#[inline(always)]
pub(crate) fn grad_p<S: Simd, T: Float>(
    s: S,
    cfg: &KernelCfg,
    bufs: &mut TileBufs<T>,
    coef: &[(T, T)],
    j0: usize,
    j1: usize,
) {
    if j0 == j1 {
        return;
    }
    let TileBufs { x, t, lab, ignored, mask, p, g, .. } = bufs;
    let p: &[T] = if cfg.act == Activation::None { x } else { p };
    let zero = T::splat(s, T::from_f64(0.0));
    for c in 0..cfg.c {
        let gr = T::as_simd_mut::<S>(cols_mut(g, c, j0, j1));
        if c < cfg.first {
            gr.fill(zero);
            continue;
        }
        let (a, b) = coef[c - cfg.first];
        let (a, b) = (T::splat(s, a), T::splat(s, b));
        let pr = T::as_simd::<S>(cols(p, c, j0, j1));
        if cfg.labels {
            let lr = T::as_simd_bits::<S>(&lab[j0..j1]);
            let code = T::bits_from_usize(cfg.code(c));
            let mr = T::as_simd::<S>(cols(mask, 0, j0, j1));
            match (cfg.squared, cfg.masked) {
                (false, false) => {
                    labels::<S, T, false, false>(s, gr, pr, lr, mr, code, a, b, *ignored)
                }
                (false, true) => {
                    labels::<S, T, false, true>(s, gr, pr, lr, mr, code, a, b, *ignored)
                }
                (true, false) => {
                    labels::<S, T, true, false>(s, gr, pr, lr, mr, code, a, b, *ignored)
                }
                (true, true) => labels::<S, T, true, true>(s, gr, pr, lr, mr, code, a, b, *ignored),
            }
        } else {
            let tr = T::as_simd::<S>(cols(t, c, j0, j1));
            let mr = T::as_simd::<S>(cols(mask, cfg.mask_row(c), j0, j1));
            match (cfg.squared, cfg.soft, cfg.masked) {
                (false, false, false) => {
                    dense::<S, T, false, false, false>(s, gr, pr, tr, mr, a, b)
                }
                (false, false, true) => dense::<S, T, false, false, true>(s, gr, pr, tr, mr, a, b),
                (false, true, false) => dense::<S, T, false, true, false>(s, gr, pr, tr, mr, a, b),
                (false, true, true) => dense::<S, T, false, true, true>(s, gr, pr, tr, mr, a, b),
                (true, _, false) => dense::<S, T, true, false, false>(s, gr, pr, tr, mr, a, b),
                (true, _, true) => dense::<S, T, true, false, true>(s, gr, pr, tr, mr, a, b),
            }
        }
    }
}

/// Softmax, `grad_p` and `chain` in one sweep, for [`KernelCfg::softmax_labels`]: p stays
/// in registers (when a later elementwise term reads p, the engine runs the row passes
/// instead). With `term` = (a softmax CE or focal term over all channels, its scale), that
/// term's gradient is added in the same sweep.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
pub(crate) fn grad_x<S: Simd, T: Float>(
    s: S,
    cfg: &KernelCfg,
    bufs: &mut TileBufs<T>,
    coef: &[(T, T)],
    term: Option<(&PointwiseCfg<T>, T)>,
    j0: usize,
    j1: usize,
) {
    macro_rules! sweep {
        ($($c:literal)*) => {
            match (cfg.c, cfg.squared) {
                $(($c, false) => outlined(s, LabelSweep::<T, $c, false> { first: cfg.first, bufs, coef, term, j0, j1 }),
                  ($c, true) => outlined(s, LabelSweep::<T, $c, true> { first: cfg.first, bufs, coef, term, j0, j1 }),)*
                _ => unreachable!("grad_x called for a configuration `softmax_labels` rejects"),
            }
        };
    }
    if j0 < j1 {
        sweep!(2 3 4 5 6 7 8)
    }
}

/// dL/dp -> dL/dx in `bufs.g` through the activation, columns j0..j1.
#[inline(always)]
pub(crate) fn chain<S: Simd, T: Float>(
    s: S,
    cfg: &KernelCfg,
    bufs: &mut TileBufs<T>,
    j0: usize,
    j1: usize,
) {
    if j0 == j1 {
        return;
    }
    let TileBufs { x, p, g, aux, .. } = bufs;
    let p: &[T] = if cfg.act == Activation::None { x } else { p };
    let zero = T::splat(s, T::from_f64(0.0));
    match cfg.act {
        Activation::None => {}
        Activation::Sigmoid => {
            let one = T::splat(s, T::from_f64(1.0));
            for c in cfg.first..cfg.c {
                let pr = T::as_simd::<S>(cols(p, c, j0, j1));
                for (gv, &pv) in T::as_simd_mut::<S>(cols_mut(g, c, j0, j1)).iter_mut().zip(pr) {
                    *gv = T::mul(s, *gv, T::mul(s, pv, T::sub(s, one, pv)));
                }
            }
        }
        Activation::Softmax => {
            let dot = T::as_simd_mut::<S>(&mut aux[j0..j1]);
            dot.fill(zero);
            for c in cfg.first..cfg.c {
                let pr = T::as_simd::<S>(cols(p, c, j0, j1));
                let gr = T::as_simd::<S>(cols(g, c, j0, j1));
                for ((dv, &gv), &pv) in dot.iter_mut().zip(gr).zip(pr) {
                    *dv = T::mul_add(s, gv, pv, *dv);
                }
            }
            for c in 0..cfg.c {
                let pr = T::as_simd::<S>(cols(p, c, j0, j1));
                for ((gv, &pv), &dv) in
                    T::as_simd_mut::<S>(cols_mut(g, c, j0, j1)).iter_mut().zip(pr).zip(dot.iter())
                {
                    *gv = T::mul(s, pv, T::sub(s, *gv, dv));
                }
            }
        }
    }
}

/// Label target: g = ([l = code] a + b dP/dp) (times the loss-mask weight with `MASK`), 0 on
/// ignored voxels (`skips`: the tile has one).
#[inline(always)]
#[allow(clippy::too_many_arguments)]
fn labels<S: Simd, T: Float, const SQ: bool, const MASK: bool>(
    s: S,
    g: &mut [T::V<S>],
    p: &[T::V<S>],
    lab: &[T::B<S>],
    mask: &[T::V<S>],
    code: T::Bits,
    a: T::V<S>,
    b: T::V<S>,
    skips: bool,
) {
    let code = T::splat_bits(s, code);
    let two_b = T::add(s, b, b);
    for (j, ((gv, &pv), &lv)) in g.iter_mut().zip(p).zip(lab).enumerate() {
        let v = label_dp::<S, T, SQ>(s, pv, lv, code, a, b, two_b, skips);
        *gv = if MASK { T::mul(s, v, mask[j]) } else { v };
    }
}

/// dL/dp of one vector for a label target: [l = code] a + (b or 2 b p), 0 where l is IGNORED
/// (only looked for with `skips`: the tile has such a voxel). Written select(k, d + a, d),
/// one blend (d + a is a constant without `SQ`), not select(k, a, 0) + d.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
fn label_dp<S: Simd, T: Float, const SQ: bool>(
    s: S,
    pv: T::V<S>,
    lv: T::B<S>,
    code: T::B<S>,
    a: T::V<S>,
    b: T::V<S>,
    two_b: T::V<S>,
    skips: bool,
) -> T::V<S> {
    let d_pred = if SQ { T::mul(s, two_b, pv) } else { b };
    let v = T::select(s, T::eq_bits(s, lv, code), T::add(s, d_pred, a), d_pred);
    if skips {
        T::select(
            s,
            T::eq_bits(s, lv, T::splat_bits(s, T::IGNORED)),
            T::splat(s, T::from_f64(0.0)),
            v,
        )
    } else {
        v
    }
}

/// dL/dx of C channels for a label target, fed column by column from the softmax: dL/dp
/// per channel, then g_c = p_c (g_p,c - sum_k g_p,k p_k), then the label term's `scale` dl/dx
/// added. Without a term, the same operations in the same order as the row passes, so the
/// results are bit-identical.
struct LabelGrad<'a, S: Simd, T: Float, const C: usize, const SQ: bool, E> {
    lab: &'a [T::B<S>],
    /// The tile has an ignored voxel.
    skips: bool,
    /// per channel: code, a, b, 2b (excluded channels: never matched, a = b = 0)
    k_c: [super::ChannelConsts<S, T>; C],
    g: [&'a mut [T::V<S>]; C],
    term: E,
    scale: T::V<S>,
}

impl<S: Simd, T: Float, const C: usize, const SQ: bool, E: LabelTerm<S, T, C>> Columns<S, T, C>
    for LabelGrad<'_, S, T, C, SQ, E>
{
    #[inline(always)]
    fn column(
        &mut self,
        s: S,
        k: usize,
        x: &[T::V<S>; C],
        p: &[T::V<S>; C],
        m: T::V<S>,
        sum: T::V<S>,
    ) {
        let lv = self.lab[k];
        let mut dot = T::splat(s, T::from_f64(0.0));
        let mut gp = *p;
        // every channel, so the loop unrolls: an excluded one has a = b = 0, hence dL/dp = +0
        // and dot gains exactly +0, as in the row passes
        for c in 0..C {
            let (code, a, b, two_b) = self.k_c[c];
            gp[c] = label_dp::<S, T, SQ>(s, p[c], lv, code, a, b, two_b, self.skips);
            dot = T::mul_add(s, gp[c], p[c], dot);
        }
        for c in 0..C {
            gp[c] = T::mul(s, p[c], T::sub(s, gp[c], dot));
        }
        self.term.gradient(s, &mut gp, x, p, m, sum, lv, self.scale);
        for c in 0..C {
            self.g[c][k] = gp[c];
        }
    }
}

/// The sweep of C channels (`SQ`: squared), its term chosen once per tile.
struct LabelSweep<'a, T: Float, const C: usize, const SQ: bool> {
    first: usize,
    bufs: &'a mut TileBufs<T>,
    coef: &'a [(T, T)],
    term: Option<(&'a PointwiseCfg<T>, T)>,
    j0: usize,
    j1: usize,
}

impl<T: Float, const C: usize, const SQ: bool> WithSimd for LabelSweep<'_, T, C, SQ> {
    type Output = ();
    #[inline(always)]
    fn with_simd<S: Simd>(self, s: S) {
        let LabelSweep { first, bufs, coef, term, j0, j1 } = self;
        match term.map(|(pc, scale)| (pc, pc.kind, scale)) {
            None => sweep::<S, T, C, SQ, _>(s, first, bufs, coef, (), T::from_f64(0.0), j0, j1),
            Some((pc, PointwiseKind::SoftmaxCe, scale)) => sweep::<S, T, C, SQ, _>(
                s,
                first,
                bufs,
                coef,
                LabelCe::<S, T, C>::new(s, pc),
                scale,
                j0,
                j1,
            ),
            Some((pc, PointwiseKind::SoftmaxFocal, scale)) => sweep::<S, T, C, SQ, _>(
                s,
                first,
                bufs,
                coef,
                LabelFocal::<S, T, C>::new(s, pc),
                scale,
                j0,
                j1,
            ),
            Some(_) => unreachable!("only the softmax terms run in the label sweep"),
        }
    }
}

#[inline(always)]
#[allow(clippy::too_many_arguments)]
fn sweep<S: Simd, T: Float, const C: usize, const SQ: bool, E: LabelTerm<S, T, C>>(
    s: S,
    first: usize,
    bufs: &mut TileBufs<T>,
    coef: &[(T, T)],
    term: E,
    scale: T,
    j0: usize,
    j1: usize,
) {
    let n = (j1 - j0) / T::lanes::<S>();
    let TileBufs { x, lab, ignored, p, g, .. } = bufs;
    let zero = T::splat(s, T::from_f64(0.0));
    let mut gr: [&mut [T::V<S>]; C] = core::array::from_fn(|_| Default::default());
    for (row, buf) in gr.iter_mut().zip(g.chunks_exact_mut(TILE)) {
        *row = &mut T::as_simd_mut::<S>(&mut buf[j0..j1])[..n];
    }
    let mut k_c = [(T::splat_bits(s, T::IGNORED), zero, zero, zero); C];
    for (c, kc) in k_c.iter_mut().enumerate().skip(first) {
        let (a, b) = coef[c - first];
        let (a, b) = (T::splat(s, a), T::splat(s, b));
        *kc = (T::splat_bits(s, T::bits_from_usize(c)), a, b, T::add(s, b, b));
    }
    let lab = &T::as_simd_bits::<S>(&lab[j0..j1])[..n];
    let mut sink = LabelGrad::<S, T, C, SQ, E> {
        lab,
        skips: *ignored,
        k_c,
        g: gr,
        term,
        scale: T::splat(s, scale),
    };
    softmax_columns::<S, T, C, _, false>(s, x, p, &mut [], j0, j1, &mut sink);
}

/// Dense target, optionally masked.
#[inline(always)]
fn dense<S: Simd, T: Float, const SQ: bool, const SOFT: bool, const MASK: bool>(
    s: S,
    g: &mut [T::V<S>],
    p: &[T::V<S>],
    t: &[T::V<S>],
    mask: &[T::V<S>],
    a: T::V<S>,
    b: T::V<S>,
) {
    let zero = T::splat(s, T::from_f64(0.0));
    let half = T::splat(s, T::from_f64(0.5));
    let one = T::splat(s, T::from_f64(1.0));
    let two_b = T::add(s, b, b);
    for (j, ((gv, &pv), &tv)) in g.iter_mut().zip(p).zip(t).enumerate() {
        let d_inter = if SOFT {
            let tie = T::select(s, T::eq_v(s, pv, tv), half, zero);
            T::select(s, T::lt_v(s, pv, tv), one, tie)
        } else {
            tv
        };
        let d_pred = if SQ { T::mul(s, two_b, pv) } else { b };
        let v = T::mul_add(s, a, d_inter, d_pred);
        *gv = if MASK { T::mul(s, v, mask[j]) } else { v };
    }
}
