//! Step 1 on a tile: per kept class, I = sum m i(p, t), P = sum m p (or m p^2), G = sum m t (or
//! m t^2), with i = p t, or min(p, t) for soft labels, and m the element weight (the dense
//! ignore mask times the loss mask; 1 without either). Lanes accumulate in T over one tile
//! (<= 256 positions), then each tile's total is added in f64.

use super::activation::{Columns, softmax_columns};
use super::pointwise::{LabelCe, LabelFocal, LabelTerm, PointwiseCfg, TileSums};
use super::{KernelCfg, TileBufs, cols, outlined};
use crate::float::Float;
use crate::options::Activation;
use crate::options::PointwiseKind;
use crate::stats::Sums;
use pulp::{Simd, WithSimd};

/// Adds the sums of columns j0..j1 (p already computed) to `acc[c - first]`.
#[inline(always)]
pub(crate) fn accumulate<S: Simd, T: Float>(
    s: S,
    cfg: &KernelCfg,
    bufs: &TileBufs<T>,
    j0: usize,
    j1: usize,
    acc: &mut [Sums],
) {
    if j0 == j1 {
        return;
    }
    let p = if cfg.act == Activation::None { &bufs.x } else { &bufs.p };
    for c in cfg.first..cfg.c {
        let pr = T::as_simd::<S>(cols(p, c, j0, j1));
        let (i, q, g) = if cfg.labels {
            let lab = T::as_simd_bits::<S>(&bufs.lab[j0..j1]);
            let code = T::bits_from_usize(cfg.code(c));
            let mr = T::as_simd::<S>(cols(&bufs.mask, 0, j0, j1));
            match (cfg.squared, cfg.masked) {
                (false, false) => labels::<S, T, false, false>(s, pr, lab, mr, code, bufs.ignored),
                (false, true) => labels::<S, T, false, true>(s, pr, lab, mr, code, bufs.ignored),
                (true, false) => labels::<S, T, true, false>(s, pr, lab, mr, code, bufs.ignored),
                (true, true) => labels::<S, T, true, true>(s, pr, lab, mr, code, bufs.ignored),
            }
        } else {
            let tr = T::as_simd::<S>(cols(&bufs.t, c, j0, j1));
            let mr = T::as_simd::<S>(cols(&bufs.mask, cfg.mask_row(c), j0, j1));
            match (cfg.squared, cfg.soft, cfg.masked) {
                (false, false, false) => dense::<S, T, false, false, false>(s, pr, tr, mr),
                (false, false, true) => dense::<S, T, false, false, true>(s, pr, tr, mr),
                (false, true, false) => dense::<S, T, false, true, false>(s, pr, tr, mr),
                (false, true, true) => dense::<S, T, false, true, true>(s, pr, tr, mr),
                (true, _, false) => dense::<S, T, true, false, false>(s, pr, tr, mr),
                (true, _, true) => dense::<S, T, true, false, true>(s, pr, tr, mr),
            }
        };
        let a = &mut acc[c - cfg.first];
        a.intersection += T::reduce_sum(s, i).to_f64();
        a.pred += T::reduce_sum(s, q).to_f64();
        a.target += T::reduce_sum(s, g).to_f64();
    }
}

/// Label target: t = [label == code]; voxels labelled IGNORED count nowhere (`skips`: the
/// tile has one). `MASK`: each voxel's terms are multiplied by its loss-mask weight m.
#[inline(always)]
fn labels<S: Simd, T: Float, const SQ: bool, const MASK: bool>(
    s: S,
    p: &[T::V<S>],
    lab: &[T::B<S>],
    mask: &[T::V<S>],
    code: T::Bits,
    skips: bool,
) -> (T::V<S>, T::V<S>, T::V<S>) {
    let zero = T::splat(s, T::from_f64(0.0));
    let code = T::splat_bits(s, code);
    let mut acc = (zero, zero, zero);
    for (j, (&pv, &lv)) in p.iter().zip(lab).enumerate() {
        let m = if MASK { Some(mask[j]) } else { None };
        acc = label_step::<S, T, SQ>(s, acc, pv, lv, code, m, skips);
    }
    acc
}

/// Adds one vector's label terms to (I, P, G): I += [l = code] p m, P += [l != IGNORED] p m
/// (p^2 with `SQ`), G += [l = code] m, with m the loss-mask weight (1 when `None`). Without
/// `skips` (no IGNORED label in the tile) P's select, which would keep p m, is left out.
#[inline(always)]
fn label_step<S: Simd, T: Float, const SQ: bool>(
    s: S,
    (i, q, g): (T::V<S>, T::V<S>, T::V<S>),
    pv: T::V<S>,
    lv: T::B<S>,
    code: T::B<S>,
    m: Option<T::V<S>>,
    skips: bool,
) -> (T::V<S>, T::V<S>, T::V<S>) {
    let is_c = T::eq_bits(s, lv, code);
    let pq = if SQ { T::mul(s, pv, pv) } else { pv };
    let (pv, pq, t1) = match m {
        Some(m) => (T::mul(s, pv, m), T::mul(s, pq, m), m),
        None => (pv, pq, T::splat(s, T::from_f64(1.0))),
    };
    (
        add_where::<S, T>(s, is_c, i, pv),
        if skips {
            T::select(s, T::eq_bits(s, lv, T::splat_bits(s, T::IGNORED)), q, T::add(s, q, pq))
        } else {
            T::add(s, q, pq)
        },
        add_where::<S, T>(s, is_c, g, t1),
    )
}

/// acc + [k] v, as select(k, acc + v, acc): one masked add on AVX-512, where
/// acc + select(k, v, 0) is a blend and an add (which the compiler may not fuse: the two
/// differ at acc = -0; the sums here start at +0 and only grow, so their bits agree).
#[inline(always)]
fn add_where<S: Simd, T: Float>(s: S, k: T::M<S>, acc: T::V<S>, v: T::V<S>) -> T::V<S> {
    T::select(s, k, T::add(s, acc, v), acc)
}

/// Softmax and the sums of an unmasked label target in one sweep over columns j0..j1
/// ([`KernelCfg::softmax_labels`]): p stays in registers (when a later elementwise or
/// temporal term reads p, the engine runs `probs` and [`accumulate`] instead). The same
/// operations in the same order as `probs` then [`accumulate`], so the sums are
/// bit-identical. With `term` (a softmax CE or focal term over all channels), that term is
/// summed in the same sweep, and its (loss, weight, voxels) returned (else zeros).
#[inline(always)]
#[allow(clippy::too_many_arguments)]
pub(crate) fn softmax_accumulate<S: Simd, T: Float>(
    s: S,
    cfg: &KernelCfg,
    bufs: &mut TileBufs<T>,
    term: Option<&PointwiseCfg<T>>,
    j0: usize,
    j1: usize,
    acc: &mut [Sums],
) -> TileSums<T> {
    macro_rules! sweep {
        ($($c:literal)*) => {
            match (cfg.c, cfg.squared) {
                $(($c, false) => outlined(s, LabelSweep::<T, $c, false> { first: cfg.first, bufs, term, j0, j1, acc }),
                  ($c, true) => outlined(s, LabelSweep::<T, $c, true> { first: cfg.first, bufs, term, j0, j1, acc }),)*
                _ => unreachable!("softmax_accumulate called for a configuration `softmax_labels` rejects"),
            }
        };
    }
    if j0 < j1 {
        sweep!(2 3 4 5 6 7 8)
    } else {
        let zero = T::from_f64(0.0);
        (zero, zero, zero)
    }
}

/// The label sums of C channels and the sums of a label term, fed column by column from the
/// softmax. `skips`: the tile has an ignored voxel, so P needs its select.
struct LabelSums<'a, S: Simd, T: Float, const C: usize, const SQ: bool, E> {
    lab: &'a [T::B<S>],
    code: [T::B<S>; C],
    skips: bool,
    sums: [(T::V<S>, T::V<S>, T::V<S>); C],
    term: E,
    term_sums: (T::V<S>, T::V<S>, T::V<S>),
}

impl<S: Simd, T: Float, const C: usize, const SQ: bool, E: LabelTerm<S, T, C>> Columns<S, T, C>
    for LabelSums<'_, S, T, C, SQ, E>
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
        // every channel, so the loop unrolls; the excluded ones' sums are never read
        for c in 0..C {
            let (i, q, g) =
                label_step::<S, T, SQ>(s, self.sums[c], p[c], lv, self.code[c], None, self.skips);
            self.sums[c] = (i, q, if E::WITH_COUNTS { g } else { self.sums[c].2 });
        }
        self.term_sums = self.term.sums(s, self.term_sums, x, p, m, sum, lv);
    }
}

/// The sweep of C channels (`SQ`: squared), its term chosen once per tile.
struct LabelSweep<'a, T: Float, const C: usize, const SQ: bool> {
    first: usize,
    bufs: &'a mut TileBufs<T>,
    term: Option<&'a PointwiseCfg<T>>,
    j0: usize,
    j1: usize,
    acc: &'a mut [Sums],
}

impl<T: Float, const C: usize, const SQ: bool> WithSimd for LabelSweep<'_, T, C, SQ> {
    type Output = TileSums<T>;
    #[inline(always)]
    fn with_simd<S: Simd>(self, s: S) -> TileSums<T> {
        let LabelSweep { first, bufs, term, j0, j1, acc } = self;
        match term.map(|pc| (pc, pc.kind)) {
            None => sweep::<S, T, C, SQ, _>(s, first, bufs, (), j0, j1, acc),
            Some((pc, PointwiseKind::SoftmaxCe)) => {
                sweep::<S, T, C, SQ, _>(s, first, bufs, LabelCe::<S, T, C>::new(s, pc), j0, j1, acc)
            }
            Some((pc, PointwiseKind::SoftmaxFocal)) => sweep::<S, T, C, SQ, _>(
                s,
                first,
                bufs,
                LabelFocal::<S, T, C>::new(s, pc),
                j0,
                j1,
                acc,
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
    term: E,
    j0: usize,
    j1: usize,
    acc: &mut [Sums],
) -> TileSums<T> {
    let TileBufs { x, lab, ignored, p, .. } = bufs;
    let zero = T::splat(s, T::from_f64(0.0));
    let mut code = [T::splat_bits(s, T::IGNORED); C];
    for (c, v) in code.iter_mut().enumerate() {
        *v = T::splat_bits(s, T::bits_from_usize(c));
    }
    let lab = T::as_simd_bits::<S>(&lab[j0..j1]);
    let mut sums = [(zero, zero, zero); C];
    if !E::WITH_COUNTS {
        // G = sum [l = c] (exact: small integers), as `label_step` counts it
        let one = T::splat(s, T::from_f64(1.0));
        for &lv in lab {
            for (sc, &code) in sums.iter_mut().zip(&code) {
                sc.2 = add_where::<S, T>(s, T::eq_bits(s, lv, code), sc.2, one);
            }
        }
    }
    let mut sink = LabelSums::<S, T, C, SQ, E> {
        lab,
        code,
        skips: *ignored,
        sums,
        term,
        term_sums: (zero, zero, zero),
    };
    softmax_columns::<S, T, C, _, false>(s, x, p, &mut [], j0, j1, &mut sink);
    sink.term_sums = sink.term.finish(s, sink.term_sums);
    for (a, &(i, q, g)) in acc.iter_mut().zip(&sink.sums[first..]) {
        a.intersection += T::reduce_sum(s, i).to_f64();
        a.pred += T::reduce_sum(s, q).to_f64();
        a.target += T::reduce_sum(s, g).to_f64();
    }
    let (l, w, v) = sink.term_sums;
    (T::reduce_sum(s, l), T::reduce_sum(s, w), T::reduce_sum(s, v))
}

/// Dense target, optionally masked (each element's terms multiplied by its mask).
#[inline(always)]
fn dense<S: Simd, T: Float, const SQ: bool, const SOFT: bool, const MASK: bool>(
    s: S,
    p: &[T::V<S>],
    t: &[T::V<S>],
    mask: &[T::V<S>],
) -> (T::V<S>, T::V<S>, T::V<S>) {
    let zero = T::splat(s, T::from_f64(0.0));
    let (mut i, mut q, mut g) = (zero, zero, zero);
    for (j, (&pv, &tv)) in p.iter().zip(t).enumerate() {
        let iv = if SOFT { T::min(s, pv, tv) } else { T::mul(s, pv, tv) };
        let qv = if SQ { T::mul(s, pv, pv) } else { pv };
        let gv = if SQ { T::mul(s, tv, tv) } else { tv };
        if MASK {
            i = T::mul_add(s, mask[j], iv, i);
            q = T::mul_add(s, mask[j], qv, q);
            g = T::mul_add(s, mask[j], gv, g);
        } else {
            (i, q, g) = (T::add(s, i, iv), T::add(s, q, qv), T::add(s, g, gv));
        }
    }
    (i, q, g)
}
