//! Tile kernels: pure arithmetic over L1-resident scratch. They never validate, allocate or
//! spawn; the engine gathers a tile (<= TILE positions, all C channels) into [`TileBufs`],
//! calls them, and scatters the result.
//!
//! Every kernel is generic over the pulp backend `S` and processes a column range whose length
//! is a multiple of the lane count; the engine runs the remainder with `pulp::Scalar`.

pub(crate) mod activation;
pub(crate) mod backward;
pub(crate) mod pointwise;
pub(crate) mod reduce;
pub(crate) mod temporal;

use crate::float::Float;
use crate::options::Activation;
use crate::plan::TILE;
use pulp::{Simd, WithSimd};

/// One channel's constants in a label sweep: its label code and three per-channel
/// coefficients, splatted into vectors once per tile.
pub(crate) type ChannelConsts<S, T> =
    (<T as Float>::B<S>, <T as Float>::V<S>, <T as Float>::V<S>, <T as Float>::V<S>);

/// Runs `op` on backend `s` as a function of its own. `vectorize` enters a function with the
/// backend's target features, which cannot be inlined into this one (it has none), and this
/// one is never inlined: so each kernel variant (channel count x options x term) is compiled
/// once as a small function instead of being inlined into the block loop, whose size made the
/// compile time superlinear. One call per tile.
#[inline(never)]
pub(crate) fn outlined<S: Simd, Op: WithSimd>(s: S, op: Op) -> Op::Output {
    s.vectorize(op)
}

/// What the kernels compute, fixed for a call.
#[derive(Clone, Debug)]
pub(crate) struct KernelCfg {
    /// Effective activation (softmax over one channel is already turned into `None`).
    pub act: Activation,
    /// Input channels.
    pub c: usize,
    /// First kept channel (1 when the background is excluded).
    pub first: usize,
    pub squared: bool,
    /// L1 soft-label intersection min(p, t) (dense targets without `squared` only).
    pub soft: bool,
    /// The target is a decoded label map (`TileBufs::lab`).
    pub labels: bool,
    /// The element weights `TileBufs::mask` apply: a dense target's ignore mask and/or the
    /// per-voxel loss mask (with a label map, the loss mask alone, in row 0).
    pub masked: bool,
    /// A per-voxel loss mask is gathered (`TileBufs::loss_mask`) and folded into `mask`.
    pub loss_mask: bool,
    /// The mask has one row per channel (smp's elementwise ignore) rather than one shared row.
    pub mask_per_channel: bool,
    /// The softmax also writes ln sum e^x (`TileBufs::lse`) for a softmax elementwise term over
    /// all channels (whose probabilities are then the activation's).
    pub lse: bool,
    /// A softmax elementwise term computes its own softmax over the channels it covers
    /// (`TileBufs::q`, `TileBufs::lse`): the activation is not a softmax over the same channels.
    pub own_softmax: bool,
}

impl KernelCfg {
    /// The decoded label that means channel `c` (single channel: binary mask, label 1).
    #[inline(always)]
    pub fn code(&self, c: usize) -> usize {
        if self.c == 1 { 1 } else { c }
    }

    /// Softmax over 2 to 8 channels with an unmasked label target: the kernels then fuse the
    /// softmax with the sums and the gradient, column by column, p held in registers.
    #[inline(always)]
    pub fn softmax_labels(&self) -> bool {
        self.labels && !self.masked && self.act == Activation::Softmax && (2..=8).contains(&self.c)
    }

    /// The row of `TileBufs::mask` that masks channel `c`.
    #[inline(always)]
    pub fn mask_row(&self, c: usize) -> usize {
        if self.mask_per_channel { c } else { 0 }
    }
}

/// Per-thread scratch for one tile; channel c of a C-row buffer is `[c * TILE, (c + 1) * TILE)`.
pub(crate) struct TileBufs<T: Float> {
    /// Input (logits or probabilities).
    pub x: Vec<T>,
    /// Dense target.
    pub t: Vec<T>,
    /// Decoded labels: class code, or `T::IGNORED`.
    pub lab: Vec<T::Bits>,
    /// Some decoded label of the tile is `T::IGNORED`.
    pub ignored: bool,
    /// Element weights (dense ignore mask 1 kept / 0 ignored, times the loss mask): row 0, or
    /// one row per channel.
    pub mask: Vec<T>,
    /// The per-voxel loss mask of the tile (one row; empty without one).
    pub loss_mask: Vec<T>,
    /// Probabilities after the activation.
    pub p: Vec<T>,
    /// Gradient with respect to the input, ready to scatter.
    pub g: Vec<T>,
    /// One row of per-position scratch (softmax max / normaliser / dot product).
    pub aux: Vec<T>,
    /// ln sum_c e^x_c per position (softmax with a softmax elementwise term; empty otherwise).
    pub lse: Vec<T>,
    /// The elementwise term's own softmax probabilities (`KernelCfg::own_softmax`; else empty).
    pub q: Vec<T>,
    /// The elementwise term's keep weight per position (0 ignored, else the loss-mask weight or 1).
    pub keep: Vec<T>,
    /// The previous and next frames' tiles (temporal term; empty otherwise).
    pub prev: temporal::Neighbour<T>,
    pub next: temporal::Neighbour<T>,
}

impl<T: Float> TileBufs<T> {
    /// Scratch for `cfg`; `temporal` adds the neighbouring frames' tiles.
    pub fn new(cfg: &KernelCfg, temporal: bool) -> Self {
        let c = cfg.c;
        let nc = if temporal { c } else { 0 };
        TileBufs {
            x: vec![T::default(); c * TILE],
            t: vec![T::default(); c * TILE],
            lab: vec![T::Bits::default(); TILE],
            ignored: false,
            mask: vec![T::default(); c * TILE],
            loss_mask: vec![T::default(); if cfg.loss_mask { TILE } else { 0 }],
            p: vec![T::default(); c * TILE],
            g: vec![T::default(); c * TILE],
            aux: vec![T::default(); TILE],
            lse: vec![T::default(); if cfg.lse || cfg.own_softmax { TILE } else { 0 }],
            q: vec![T::default(); if cfg.own_softmax { c * TILE } else { 0 }],
            keep: vec![T::default(); TILE],
            prev: temporal::Neighbour::new(nc),
            next: temporal::Neighbour::new(nc),
        }
    }
}

/// Row `c`, columns `j0..j1` of a C-row buffer.
#[inline(always)]
pub(crate) fn cols<T>(buf: &[T], c: usize, j0: usize, j1: usize) -> &[T] {
    &buf[c * TILE + j0..c * TILE + j1]
}

/// Mutable row `c`, columns `j0..j1` of a C-row buffer.
#[inline(always)]
pub(crate) fn cols_mut<T>(buf: &mut [T], c: usize, j0: usize, j1: usize) -> &mut [T] {
    &mut buf[c * TILE + j0..c * TILE + j1]
}
