//! The middle layer: runs a validated plan over blocks (in parallel, deterministic order),
//! moves each tile between the tensors and L1 scratch, and calls the kernels under the
//! chosen SIMD backend.

use crate::backend::Backend;
use crate::context::Context;
use crate::error::{DiceError, Result};
use crate::finalize::Coefficients;
use crate::float::Float;
use crate::kernel::pointwise::{self, PointwiseCfg};
use crate::kernel::temporal::{self, Neighbour};
use crate::kernel::{KernelCfg, TileBufs, activation, backward, reduce};
use crate::options::{Activation, DenseIgnore, PointwiseKind};
use crate::plan::{Block, INPUT, MASK, OUTPUT, Plan, SLOTS, TARGET, TILE};
use crate::stats::{PointwiseSums, Stats, Sums};
use crate::target::{Label, Labels};
use crate::tensor::TensorView;
use pulp::{Simd, WithSimd};

/// The target as the engine reads it (label maps carry a channel axis of extent 1).
#[derive(Clone, Copy)]
pub enum TargetSrc<'a, T> {
    Dense(TensorView<'a, T>),
    Labels(Labels<'a>),
}

/// Everything a pass needs, validated by the API layer.
pub struct Job<'a, T: Float> {
    pub(crate) plan: Plan,
    pub(crate) cfg: KernelCfg,
    pub(crate) input: TensorView<'a, T>,
    pub(crate) target: TargetSrc<'a, T>,
    pub(crate) ignore_index: Option<i64>,
    /// How a dense target's `ignore_index` masks.
    pub(crate) dense_ignore: DenseIgnore,
    pub(crate) pointwise: PointwiseCfg<T>,
    /// The per-voxel loss mask, (N, 1, spatial...) with channel stride 0.
    pub(crate) mask: Option<TensorView<'a, T>>,
    /// The temporal term is on (the plan then has per-frame rows).
    pub(crate) temporal: bool,
    /// Per-frame rows of the plan that the caller did not ask for: groups of this many rows
    /// (T) are merged back into one (1 = none).
    pub(crate) merge: usize,
    pub(crate) backend: Backend,
}

impl<T: Float> Job<'_, T> {
    fn elems(&self) -> usize {
        self.plan.n * self.plan.c * self.plan.spatial
    }

    /// A softmax elementwise term (CE, focal) runs inside the label sweep
    /// (`reduce::softmax_accumulate`, `backward::grad_x`) rather than as passes of its own:
    /// it covers all channels, whose probabilities are the activation's (`KernelCfg::lse`).
    fn term_in_sweep(&self) -> bool {
        self.cfg.softmax_labels() && !self.temporal && self.cfg.lse
    }

    /// Loads one tile: input rows, the loss mask (checked finite and >= 0), then the target
    /// (dense rows + mask, or decoded labels), and folds the loss mask into `bufs.mask`.
    #[inline(always)]
    fn gather(&self, bufs: &mut TileBufs<T>, off: [isize; SLOTS], len: usize) -> Result<()> {
        let p = &self.plan;
        for c in 0..p.c {
            let start = self.input.base() as isize + off[INPUT] + c as isize * p.c_stride[INPUT];
            copy_in(
                &mut bufs.x[c * TILE..c * TILE + len],
                self.input.data(),
                start,
                p.inner_stride(INPUT),
            );
        }
        self.load_loss_mask(bufs, off, len)?;
        match &self.target {
            TargetSrc::Dense(t) => {
                for c in 0..p.c {
                    let start = t.base() as isize + off[TARGET] + c as isize * p.c_stride[TARGET];
                    copy_in(
                        &mut bufs.t[c * TILE..c * TILE + len],
                        t.data(),
                        start,
                        p.inner_stride(TARGET),
                    );
                }
                if self.ignore_index.is_some() {
                    let (one, zero) = (T::from_f64(1.0), T::from_f64(0.0));
                    match self.dense_ignore {
                        DenseIgnore::AllZero => {
                            for j in 0..len {
                                let any = (0..p.c).any(|c| bufs.t[c * TILE + j] != zero);
                                bufs.mask[j] = if any { one } else { zero };
                            }
                        }
                        DenseIgnore::Equal => {
                            let ign = T::from_f64(self.ignore_index.unwrap_or(0) as f64);
                            for (m, &t) in
                                bufs.mask[..p.c * TILE].iter_mut().zip(&bufs.t[..p.c * TILE])
                            {
                                *m = if t == ign { zero } else { one };
                            }
                        }
                    }
                }
            }
            TargetSrc::Labels(l) => self.decode_labels(bufs, l, off, len)?,
        }
        if self.cfg.loss_mask {
            let lm = &bufs.loss_mask[..len];
            let dense_ignore =
                self.ignore_index.is_some() && matches!(self.target, TargetSrc::Dense(_));
            let rows = if self.cfg.mask_per_channel { p.c } else { 1 };
            for r in 0..rows {
                let row = &mut bufs.mask[r * TILE..r * TILE + len];
                if dense_ignore {
                    for (k, &w) in row.iter_mut().zip(lm) {
                        *k = T::from_f64(k.to_f64() * w.to_f64()); // exact: k is 0 or 1
                    }
                } else {
                    row.copy_from_slice(lm);
                }
            }
        }
        Ok(())
    }
}

impl<T: Float> Job<'_, T> {
    /// Copies the tile's loss-mask values into `bufs.loss_mask` (when there is a mask) and
    /// checks them.
    #[inline(always)]
    fn load_loss_mask(
        &self,
        bufs: &mut TileBufs<T>,
        off: [isize; SLOTS],
        len: usize,
    ) -> Result<()> {
        if let Some(m) = &self.mask {
            let start = m.base() as isize + off[MASK];
            copy_in(&mut bufs.loss_mask[..len], m.data(), start, self.plan.inner_stride(MASK));
            check_loss_mask(&bufs.loss_mask[..len])?;
        }
        Ok(())
    }

    /// Decodes the tile's labels into `bufs.lab` (see [`decode`]).
    #[inline(always)]
    fn decode_labels(
        &self,
        bufs: &mut TileBufs<T>,
        l: &Labels<'_>,
        off: [isize; SLOTS],
        len: usize,
    ) -> Result<()> {
        let p = &self.plan;
        let (lab, ignored) = (&mut bufs.lab[..len], &mut bufs.ignored);
        let stride = p.inner_stride(TARGET);
        let classes = if p.c == 1 { 2 } else { p.c };
        match l {
            Labels::U8(v) => {
                decode::<T, u8>(lab, ignored, v, off[TARGET], stride, classes, self.ignore_index)
            }
            Labels::U16(v) => {
                decode::<T, u16>(lab, ignored, v, off[TARGET], stride, classes, self.ignore_index)
            }
            Labels::I32(v) => {
                decode::<T, i32>(lab, ignored, v, off[TARGET], stride, classes, self.ignore_index)
            }
            Labels::I64(v) => {
                decode::<T, i64>(lab, ignored, v, off[TARGET], stride, classes, self.ignore_index)
            }
        }
    }
}

/// The loss mask's values must be finite and >= 0 (NaN fails both comparisons).
#[inline(always)]
fn check_loss_mask<T: Float>(m: &[T]) -> Result<()> {
    let (zero, inf) = (T::from_f64(0.0), T::from_f64(f64::INFINITY));
    let mut bad = false;
    for &v in m {
        bad |= !((v >= zero) & (v < inf));
    }
    if !bad {
        return Ok(());
    }
    let value = m.iter().find(|&&v| !(v >= zero && v < inf)).map_or(f64::NAN, |v| v.to_f64());
    Err(DiceError::BadLossMask { value })
}

impl<T: Float> Job<'_, T> {
    /// Frames T of the per-frame plan and the frame of row `r`.
    #[inline(always)]
    fn frame(&self, r: usize) -> (usize, usize) {
        let t = self.plan.row_dims.last().map_or(1, |d| d.extent);
        (t, r % t)
    }

    /// Gathers and activates the tile of the frame `dir` (-1 or +1) steps away.
    #[inline(always)]
    fn neighbour<S: Simd>(
        &self,
        s: S,
        nb: &mut Neighbour<T>,
        off: [isize; SLOTS],
        len: usize,
        dir: isize,
        m: usize,
    ) {
        let p = &self.plan;
        let t_stride = p.row_dims.last().map_or(0, |d| d.stride[INPUT]);
        for c in 0..p.c {
            let start = self.input.base() as isize
                + off[INPUT]
                + dir * t_stride
                + c as isize * p.c_stride[INPUT];
            copy_in(
                &mut nb.x[c * TILE..c * TILE + len],
                self.input.data(),
                start,
                p.inner_stride(INPUT),
            );
        }
        nb.activate::<S>(s, &self.cfg, 0, m);
        nb.activate::<pulp::Scalar>(pulp::Scalar::new(), &self.cfg, m, len);
    }
}

/// dst[j] = src[start + j * stride].
#[inline(always)]
fn copy_in<T: Copy>(dst: &mut [T], src: &[T], start: isize, stride: isize) {
    let start = start as usize;
    if stride == 1 {
        prefetch_ahead(src, start, dst.len());
        dst.copy_from_slice(&src[start..start + dst.len()]);
    } else {
        for (j, d) in dst.iter_mut().enumerate() {
            *d = src[(start as isize + j as isize * stride) as usize];
        }
    }
}

/// Tiles ahead that a unit-stride row is prefetched (measured best among 2, 4, 8, 16).
const PREFETCH_TILES: usize = 8;

/// Hints `src[start + k len..start + (k + 1) len]`, k = PREFETCH_TILES, the same row's tile
/// that far ahead, into cache (nothing past the end): the loads of the tile loop then hit
/// cache instead of stalling on DRAM with the arithmetic idle.
#[inline(always)]
fn prefetch_ahead<T>(src: &[T], start: usize, len: usize) {
    if let Some(ahead) = src.get(start + PREFETCH_TILES * len..start + (PREFETCH_TILES + 1) * len) {
        prefetch(ahead.as_ptr().cast(), std::mem::size_of_val(ahead));
    }
}

/// Hints the cache lines of the `bytes` bytes at `p` into L2 (`prefetcht1`; into L1 measured
/// slower: the hints then compete with the tile loop's own loads). The hardware prefetcher
/// alone left the 3-D benchmark's five concurrent streams at a third of the streaming
/// bandwidth. A no-op off x86-64.
#[inline(always)]
fn prefetch(p: *const i8, bytes: usize) {
    #[cfg(target_arch = "x86_64")]
    for line in (0..bytes).step_by(64) {
        // SAFETY: `_mm_prefetch` needs only SSE (baseline on x86-64); a prefetch never faults
        // and has no effect on the program's behaviour, whatever the address (the address is
        // formed with `wrapping_add`, so forming it is sound too).
        unsafe {
            core::arch::x86_64::_mm_prefetch::<{ core::arch::x86_64::_MM_HINT_T1 }>(
                p.wrapping_add(line),
            )
        };
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = (p, bytes);
}

/// Decodes labels into class codes; `ignore_index` becomes `T::IGNORED`, and `ignored` tells
/// whether any did. Branch-free in the loop (so it vectorises); the rare invalid label is
/// looked up again for the message.
#[inline(always)]
fn decode<T: Float, L: Label>(
    dst: &mut [T::Bits],
    ignored: &mut bool,
    view: &TensorView<'_, L>,
    off: isize,
    stride: isize,
    classes: usize,
    ignore: Option<i64>,
) -> Result<()> {
    let data = view.data();
    let start = view.base() as isize + off;
    let (bad, skipped) = match ignore {
        Some(ign) => codes::<T, L, true>(dst, data, start, stride, classes, ign),
        None => codes::<T, L, false>(dst, data, start, stride, classes, 0),
    };
    *ignored = skipped;
    if !bad {
        return Ok(());
    }
    let value = (0..dst.len())
        .map(|j| data[(start + j as isize * stride) as usize].to_i64())
        .find(|&v| !(0..classes as i64).contains(&v) && Some(v) != ignore)
        .unwrap_or(-1);
    Err(DiceError::LabelOutOfRange { arg: "target", value, classes })
}

/// The loop of [`decode`]; returns whether a label was invalid and whether one was `ign`
/// (`IGN`: `ign` is skipped).
#[inline(always)]
fn codes<T: Float, L: Label, const IGN: bool>(
    dst: &mut [T::Bits],
    data: &[L],
    start: isize,
    stride: isize,
    classes: usize,
    ign: i64,
) -> (bool, bool) {
    // a function, not a closure: closures do not inherit the caller's SIMD target features
    #[inline(always)]
    fn code<T: Float, const IGN: bool>(
        v: i64,
        classes: usize,
        ign: i64,
        bad: &mut bool,
        skipped: &mut bool,
    ) -> T::Bits {
        let skip = IGN && v == ign;
        let ok = (v as u64) < classes as u64;
        *bad |= !(ok | skip);
        *skipped |= skip;
        if ok & !skip { T::bits_from_usize(v as usize) } else { T::IGNORED }
    }
    let (mut bad, mut skipped) = (false, false);
    if stride == 1 {
        prefetch_ahead(data, start as usize, dst.len());
        let src = &data[start as usize..start as usize + dst.len()];
        for (d, &l) in dst.iter_mut().zip(src) {
            *d = code::<T, IGN>(l.to_i64(), classes, ign, &mut bad, &mut skipped);
        }
    } else {
        for (j, d) in dst.iter_mut().enumerate() {
            *d = code::<T, IGN>(
                data[(start + j as isize * stride) as usize].to_i64(),
                classes,
                ign,
                &mut bad,
                &mut skipped,
            );
        }
    }
    (bad, skipped)
}

/// Splits `len` columns into the part the backend's lanes cover and the scalar remainder.
#[inline(always)]
fn split<S: Simd, T: Float>(len: usize) -> usize {
    len / T::lanes::<S>() * T::lanes::<S>()
}

struct ReduceBlock<'a, 'j, T: Float> {
    job: &'a Job<'j, T>,
    block: Block,
    bufs: &'a mut TileBufs<T>,
    acc: &'a mut [Sums],
    pw: &'a mut PointwiseSums,
}

impl<T: Float> WithSimd for ReduceBlock<'_, '_, T> {
    type Output = Result<()>;
    #[inline(always)]
    fn with_simd<S: Simd>(self, s: S) -> Result<()> {
        let ReduceBlock { job, block, bufs, acc, pw } = self;
        let sc = pulp::Scalar::new();
        let elementwise = job.pointwise.kind != PointwiseKind::None;
        for (off, len) in job.plan.tiles(block) {
            job.gather(bufs, off, len)?;
            let m = split::<S, T>(len);
            let term = job.term_in_sweep().then_some(&job.pointwise);
            // a later elementwise or temporal term reads p: then the passes that store it
            let store = (elementwise && term.is_none()) || job.temporal;
            if job.cfg.softmax_labels() && !store {
                let body = reduce::softmax_accumulate::<S, T>(s, &job.cfg, bufs, term, 0, m, acc);
                let tail = reduce::softmax_accumulate::<pulp::Scalar, T>(
                    sc, &job.cfg, bufs, term, m, len, acc,
                );
                if term.is_some() {
                    pw.add_tile(body);
                    pw.add_tile(tail);
                }
            } else {
                activation::probs::<S, T>(s, &job.cfg, bufs, 0, m);
                activation::probs::<pulp::Scalar, T>(sc, &job.cfg, bufs, m, len);
                reduce::accumulate::<S, T>(s, &job.cfg, bufs, 0, m, acc);
                reduce::accumulate::<pulp::Scalar, T>(sc, &job.cfg, bufs, m, len, acc);
            }
            if elementwise && !job.term_in_sweep() {
                pw.add_tile(pointwise::accumulate::<S, T>(s, &job.cfg, &job.pointwise, bufs, 0, m));
                pw.add_tile(pointwise::accumulate::<pulp::Scalar, T>(
                    sc,
                    &job.cfg,
                    &job.pointwise,
                    bufs,
                    m,
                    len,
                ));
            }
            if job.temporal && job.frame(block.n).1 > 0 {
                job.neighbour(s, &mut bufs.prev, off, len, -1, m);
                let cur = if job.cfg.act == Activation::None { &bufs.x } else { &bufs.p };
                let prev = bufs.prev.probs(&job.cfg);
                let sq = temporal::squared_difference::<S, T>(s, &job.cfg, cur, prev, 0, m)
                    .to_f64()
                    + temporal::squared_difference::<pulp::Scalar, T>(
                        sc, &job.cfg, cur, prev, m, len,
                    )
                    .to_f64();
                pw.temporal += sq;
                pw.pairs += ((job.cfg.c - job.cfg.first) * len) as f64;
            }
        }
        Ok(())
    }
}

/// The three passes, compiled once in this crate for f32 and f64. `Float` has this sealed
/// trait as a supertrait and the API calls the passes through it, so crates downstream (the
/// C ABI, the benches, the tests) link these two copies instead of instantiating the generic
/// kernels again, each for every backend and channel count.
pub trait Passes: Sized {
    /// [`reduce`] for this type.
    fn reduce(ctx: &Context, job: &Job<'_, Self>) -> Result<Stats>
    where
        Self: Float;
    /// [`backward`] for this type.
    ///
    /// # Safety
    /// As [`backward`]: `out` is element (0, ..., 0) of a writable view that `job` was
    /// planned with, valid for every element the view addresses.
    unsafe fn backward(
        ctx: &Context,
        job: &Job<'_, Self>,
        coef: &Coefficients,
        out: *mut Self,
    ) -> Result<()>
    where
        Self: Float;
    /// [`pointwise_map`] for this type.
    ///
    /// # Safety
    /// As [`pointwise_map`].
    unsafe fn pointwise_map(ctx: &Context, job: &Job<'_, Self>, out: *mut Self) -> Result<()>
    where
        Self: Float;
}

macro_rules! passes {
    ($($t:ty),*) => {$(
        impl Passes for $t {
            #[inline(never)]
            fn reduce(ctx: &Context, job: &Job<'_, $t>) -> Result<Stats> {
                reduce(ctx, job)
            }
            #[inline(never)]
            unsafe fn backward(ctx: &Context, job: &Job<'_, $t>, coef: &Coefficients, out: *mut $t) -> Result<()> {
                // SAFETY: the caller upholds `backward`'s contract (the trait method's).
                unsafe { backward(ctx, job, coef, out) }
            }
            #[inline(never)]
            unsafe fn pointwise_map(ctx: &Context, job: &Job<'_, $t>, out: *mut $t) -> Result<()> {
                // SAFETY: the caller upholds `pointwise_map`'s contract (the trait method's).
                unsafe { pointwise_map(ctx, job, out) }
            }
        }
    )*};
}
passes!(f32, f64);

/// Step 1: per (n, kept class) sums, blocks combined in canonical order.
pub(crate) fn reduce<T: Float>(ctx: &Context, job: &Job<'_, T>) -> Result<Stats> {
    let kept = job.plan.c - job.cfg.first;
    let mut stats = Stats::zeros(job.plan.n, kept)?;
    let blocks = job.plan.blocks()?;
    let parts = ctx.map_ordered(
        &blocks,
        job.elems(),
        || TileBufs::<T>::new(&job.cfg, job.temporal),
        |bufs, &block| {
            let mut acc = vec![Sums::default(); kept];
            let mut pw = PointwiseSums::default();
            job.backend.dispatch(ReduceBlock { job, block, bufs, acc: &mut acc, pw: &mut pw })?;
            Ok((acc, pw))
        },
    );
    for (block, part) in blocks.iter().zip(parts) {
        let (acc, pw) = part?;
        let (sums, row_pw) = stats.row_mut(block.n);
        for (s, p) in sums.iter_mut().zip(&acc) {
            s.accumulate(p);
        }
        row_pw.accumulate(&pw);
    }
    if job.merge > 1 { stats.merge_rows(job.merge) } else { Ok(stats) }
}

/// Base pointer of the gradient, shared by the block workers. Built only by [`backward`] and
/// [`pointwise_map`], whose safety contract makes every element of the planned output view
/// valid for writes through it.
#[derive(Clone, Copy)]
struct OutPtr<T>(*mut T);
// SAFETY: the output layout is injective (checked by `TensorViewMut`) and blocks partition
// the (n, spatial) index space, so no two workers ever write the same element.
unsafe impl<T: Send> Send for OutPtr<T> {}
// SAFETY: as above; the pointer itself is only read.
unsafe impl<T: Send> Sync for OutPtr<T> {}

struct BackwardBlock<'a, 'j, T: Float> {
    job: &'a Job<'j, T>,
    block: Block,
    bufs: &'a mut TileBufs<T>,
    coef: &'a [(T, T)],
    /// d loss / d (each elementwise loss).
    pw_scale: T,
    /// d loss / d p_t of the temporal term, per (p_t - neighbour).
    tc_scale: T,
    out: OutPtr<T>,
}

impl<T: Float> WithSimd for BackwardBlock<'_, '_, T> {
    type Output = Result<()>;
    #[inline(always)]
    fn with_simd<S: Simd>(self, s: S) -> Result<()> {
        let BackwardBlock { job, block, bufs, coef, pw_scale, tc_scale, out } = self;
        let sc = pulp::Scalar::new();
        let p = &job.plan;
        for (off, len) in job.plan.tiles(block) {
            job.gather(bufs, off, len)?;
            let m = split::<S, T>(len);
            let term = job.term_in_sweep().then_some((&job.pointwise, pw_scale));
            // a later elementwise term reads p: then the passes that store it
            let store = job.pointwise.kind != PointwiseKind::None && term.is_none();
            if !job.temporal && !store && job.cfg.softmax_labels() {
                backward::grad_x::<S, T>(s, &job.cfg, bufs, coef, term, 0, m);
                backward::grad_x::<pulp::Scalar, T>(sc, &job.cfg, bufs, coef, term, m, len);
            } else {
                activation::probs::<S, T>(s, &job.cfg, bufs, 0, m);
                activation::probs::<pulp::Scalar, T>(sc, &job.cfg, bufs, m, len);
                backward::grad_p::<S, T>(s, &job.cfg, bufs, coef, 0, m);
                backward::grad_p::<pulp::Scalar, T>(sc, &job.cfg, bufs, coef, m, len);
                if job.temporal {
                    let (frames, t) = job.frame(block.n);
                    for (dir, present) in [(-1isize, t > 0), (1, t + 1 < frames)] {
                        if !present {
                            continue;
                        }
                        let nb = if dir < 0 { &mut bufs.prev } else { &mut bufs.next };
                        job.neighbour(s, nb, off, len, dir, m);
                        let cur = if job.cfg.act == Activation::None { &bufs.x } else { &bufs.p };
                        let q = nb.probs(&job.cfg);
                        temporal::add_gradient::<S, T>(
                            s,
                            &job.cfg,
                            &mut bufs.g,
                            cur,
                            q,
                            tc_scale,
                            0,
                            m,
                        );
                        temporal::add_gradient::<pulp::Scalar, T>(
                            sc,
                            &job.cfg,
                            &mut bufs.g,
                            cur,
                            q,
                            tc_scale,
                            m,
                            len,
                        );
                    }
                }
                backward::chain::<S, T>(s, &job.cfg, bufs, 0, m);
                backward::chain::<pulp::Scalar, T>(sc, &job.cfg, bufs, m, len);
            }
            if job.pointwise.kind != PointwiseKind::None && term.is_none() {
                pointwise::gradient::<S, T>(s, &job.cfg, &job.pointwise, bufs, pw_scale, 0, m);
                pointwise::gradient::<pulp::Scalar, T>(
                    sc,
                    &job.cfg,
                    &job.pointwise,
                    bufs,
                    pw_scale,
                    m,
                    len,
                );
            }
            scatter(p, &bufs.g, off, len, out);
        }
        Ok(())
    }
}

/// Writes the tile's C rows of `src` to the output tensor.
#[inline(always)]
fn scatter<T: Float>(p: &Plan, src: &[T], off: [isize; SLOTS], len: usize, out: OutPtr<T>) {
    let stride = p.inner_stride(OUTPUT);
    for c in 0..p.c {
        let src = &src[c * TILE..c * TILE + len];
        let start = off[OUTPUT] + c as isize * p.c_stride[OUTPUT];
        // SAFETY: `start + j * stride` for j < len addresses element (n, c, tile position j)
        // of the validated output view, which lies inside its buffer; the calling block is
        // the only writer of those elements (see `OutPtr`).
        unsafe {
            let dst = out.0.offset(start);
            if stride == 1 {
                // the same row's tile ahead, so the stores find their lines in cache
                prefetch(
                    dst.wrapping_add(PREFETCH_TILES * len).cast_const().cast(),
                    std::mem::size_of_val(src),
                );
                std::ptr::copy_nonoverlapping(src.as_ptr(), dst, len);
            } else {
                for (j, &v) in src.iter().enumerate() {
                    *dst.offset(j as isize * stride) = v;
                }
            }
        }
    }
}

struct MapBlock<'a, 'j, T: Float> {
    job: &'a Job<'j, T>,
    block: Block,
    bufs: &'a mut TileBufs<T>,
    out: OutPtr<T>,
}

impl<T: Float> WithSimd for MapBlock<'_, '_, T> {
    type Output = Result<()>;
    #[inline(always)]
    fn with_simd<S: Simd>(self, s: S) -> Result<()> {
        let MapBlock { job, block, bufs, out } = self;
        let sc = pulp::Scalar::new();
        for (off, len) in job.plan.tiles(block) {
            job.gather(bufs, off, len)?;
            let m = split::<S, T>(len);
            activation::probs::<S, T>(s, &job.cfg, bufs, 0, m);
            activation::probs::<pulp::Scalar, T>(sc, &job.cfg, bufs, m, len);
            pointwise::loss_map::<S, T>(s, &job.cfg, &job.pointwise, bufs, 0, m);
            pointwise::loss_map::<pulp::Scalar, T>(sc, &job.cfg, &job.pointwise, bufs, m, len);
            scatter(&job.plan, &bufs.g, off, len, out);
        }
        Ok(())
    }
}

/// The elementwise term's per-element losses (see `pointwise::loss_map`) written through
/// `out`.
///
/// # Safety
/// `out` is element (0, ..., 0) of the validated, injective output view of the input's shape
/// that `job` was planned with (`prepare` with its layout), and is valid for writes of every
/// element that view addresses for the duration of the call; nothing else accesses them.
pub(crate) unsafe fn pointwise_map<T: Float>(
    ctx: &Context,
    job: &Job<'_, T>,
    out: *mut T,
) -> Result<()> {
    let out = OutPtr(out);
    let blocks = job.plan.blocks()?;
    let results = ctx.map_ordered(
        &blocks,
        job.elems(),
        || TileBufs::<T>::new(&job.cfg, false),
        |bufs, &block| job.backend.dispatch(MapBlock { job, block, bufs, out }),
    );
    results.into_iter().collect()
}

/// Step 3: writes the input gradient through `out`. `coef` has N rows or 1 (shared by all n).
///
/// # Safety
/// As [`pointwise_map`]: `out` is element (0, ..., 0) of the validated, injective output view
/// that `job` was planned with, valid for writes of every element it addresses, and not
/// accessed by anything else during the call.
pub(crate) unsafe fn backward<T: Float>(
    ctx: &Context,
    job: &Job<'_, T>,
    coef: &Coefficients,
    out: *mut T,
) -> Result<()> {
    let kept = job.plan.c - job.cfg.first;
    let rows: Vec<Vec<(T, T)>> = (0..coef.rows())
        .map(|r| {
            (0..kept)
                .map(|c| coef.get(r, c))
                .map(|(a, b)| (T::from_f64(a), T::from_f64(b)))
                .collect()
        })
        .collect();
    let out = OutPtr(out);
    let pw_scale = T::from_f64(coef.pointwise());
    let tc_scale = T::from_f64(coef.temporal());
    let blocks = job.plan.blocks()?;
    let results = ctx.map_ordered(
        &blocks,
        job.elems(),
        || TileBufs::<T>::new(&job.cfg, job.temporal),
        |bufs, &block| {
            let coef = &rows[if rows.len() == 1 { 0 } else { block.n / job.merge }];
            job.backend.dispatch(BackwardBlock { job, block, bufs, coef, pw_scale, tc_scale, out })
        },
    );
    results.into_iter().collect()
}

/// Reads the target's labels and the loss mask of every tile and fails as the passes would
/// (a label out of range, a bad loss-mask value) without writing anything. Run before a pass
/// that writes an output from a target that no reduce has read yet ([`backward`] from given
/// stats, [`pointwise_map`]), so that a failure leaves the output untouched. A dense target
/// without a loss mask cannot fail and is not read.
pub(crate) fn check_target<T: Float>(ctx: &Context, job: &Job<'_, T>) -> Result<()> {
    let labels = match &job.target {
        TargetSrc::Labels(l) => Some(l),
        TargetSrc::Dense(_) => None,
    };
    if labels.is_none() && job.mask.is_none() {
        return Ok(());
    }
    let blocks = job.plan.blocks()?;
    let results = ctx.map_ordered(
        &blocks,
        job.elems(),
        || TileBufs::<T>::new(&job.cfg, false),
        |bufs, &block| {
            job.plan.tiles(block).try_for_each(|(off, len)| {
                job.load_loss_mask(bufs, off, len)?;
                labels.map_or(Ok(()), |l| job.decode_labels(bufs, l, off, len))
            })
        },
    );
    results.into_iter().collect()
}
