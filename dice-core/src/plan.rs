//! Normalised iteration over (N, C, spatial...) tensors.
//!
//! Spatial axes of extent 1 are dropped, the rest ordered by the input's |stride| (largest
//! outside) and merged wherever every tensor is contiguous across the pair, so the common
//! layouts become one long row per (n, c). The flattened spatial range of each batch item is
//! cut into fixed blocks ([`BLOCK`] positions): blocks are the unit of parallel work and their
//! boundaries never depend on the thread count, which makes results bit-identical for any
//! number of threads.

use crate::error::Result;
use crate::limits;
use crate::tensor::Layout;

/// Positions per parallel block.
pub(crate) const BLOCK: usize = 1 << 15;
/// Positions per tile (the unit the kernels see; tiles live in L1 scratch).
pub(crate) const TILE: usize = 256;

/// Tensor slots in a plan.
pub(crate) const INPUT: usize = 0;
pub(crate) const TARGET: usize = 1;
pub(crate) const OUTPUT: usize = 2;
/// The per-voxel loss mask (N, 1, spatial...), channel stride 0; absent: strides 0.
pub(crate) const MASK: usize = 3;
/// Number of tensor slots.
pub(crate) const SLOTS: usize = 4;

#[derive(Clone, Copy, Debug)]
pub(crate) struct Dim {
    pub extent: usize,
    pub stride: [isize; SLOTS],
}

/// The iteration plan shared by the reduce and backward passes.
#[derive(Clone, Debug)]
pub(crate) struct Plan {
    /// Rows: batch items, or (item, frame) pairs with per-frame rows.
    pub n: usize,
    pub c: usize,
    /// The axes that index rows, outermost first: N, then T with per-frame rows.
    pub row_dims: Vec<Dim>,
    pub c_stride: [isize; SLOTS],
    /// Collapsed spatial dims, outermost first; never empty.
    pub dims: Vec<Dim>,
    pub spatial: usize,
}

/// One parallel work unit: row `n` (batch item, or item and frame), flattened spatial
/// positions `start..end`.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Block {
    pub n: usize,
    pub start: usize,
    pub end: usize,
}

impl Plan {
    /// `layouts`: input, target (label maps with a channel axis of extent 1, stride 0),
    /// optionally the output and the loss mask (channel axis of extent 1, stride 0), all of
    /// equal rank with matching N and spatial extents. With `frames`, axis 2 (T) indexes rows
    /// together with N instead of being summed over.
    pub fn new(
        input: &Layout,
        target: &Layout,
        output: Option<&Layout>,
        mask: Option<&Layout>,
        frames: bool,
    ) -> Plan {
        let ls = [Some(input), Some(target), output, mask];
        let stride = |d: usize| -> [isize; SLOTS] { ls.map(|l| l.map_or(0, |l| l.strides()[d])) };
        let first_spatial = if frames { 3 } else { 2 };
        let mut dims: Vec<Dim> = (first_spatial..input.rank())
            .filter(|&d| input.shape()[d] != 1)
            .map(|d| Dim { extent: input.shape()[d], stride: stride(d) })
            .collect();
        dims.sort_by_key(|d| std::cmp::Reverse(d.stride[INPUT].unsigned_abs()));
        let mut merged: Vec<Dim> = Vec::with_capacity(dims.len());
        for d in dims {
            if let Some(outer) = merged.last_mut() {
                let contiguous =
                    (0..SLOTS).all(|k| outer.stride[k] == d.stride[k] * d.extent as isize);
                if contiguous {
                    outer.extent *= d.extent;
                    outer.stride = d.stride;
                    continue;
                }
            }
            merged.push(d);
        }
        if merged.is_empty() {
            merged.push(Dim { extent: 1, stride: [0; SLOTS] });
        }
        let spatial = merged.iter().map(|d| d.extent).product();
        let row_dims: Vec<Dim> = (0..first_spatial)
            .filter(|&d| d != 1)
            .map(|d| Dim { extent: input.shape()[d], stride: stride(d) })
            .collect();
        Plan {
            n: row_dims.iter().map(|d| d.extent).product(),
            c: input.shape()[1],
            row_dims,
            c_stride: stride(1),
            dims: merged,
            spatial,
        }
    }

    /// Element offset of row `r` (channel 0, first position) in tensor k.
    #[inline(always)]
    pub fn row_offset(&self, r: usize, k: usize) -> isize {
        let (mut rem, mut off) = (r, 0isize);
        for d in self.row_dims.iter().rev() {
            off += (rem % d.extent) as isize * d.stride[k];
            rem /= d.extent;
        }
        off
    }

    /// The blocks in canonical order (n-major, then spatial). `OutOfMemory` when their list
    /// cannot be allocated (e.g. N = 2^40 items broadcast by stride 0).
    pub fn blocks(&self) -> Result<Vec<Block>> {
        let per_n = self.spatial.div_ceil(BLOCK); // 0 for an empty spatial extent
        let mut v = limits::with_capacity("input", limits::product("input", &[self.n, per_n])?)?;
        for n in 0..self.n {
            for b in 0..per_n {
                let start = b * BLOCK;
                v.push(Block { n, start, end: ((b + 1) * BLOCK).min(self.spatial) });
            }
        }
        Ok(v)
    }

    /// The tiles of `block`, in order (see [`Tiles`]).
    pub fn tiles(&self, block: Block) -> Tiles<'_> {
        let mut idx = [0usize; MAX_DIMS];
        let mut rem = block.start;
        for d in (0..self.dims.len()).rev() {
            idx[d] = rem % self.dims[d].extent;
            rem /= self.dims[d].extent;
        }
        Tiles { plan: self, n: block.n, idx, pos: block.start, end: block.end, done: 0 }
    }

    /// Innermost stride of tensor k.
    #[inline(always)]
    pub fn inner_stride(&self, k: usize) -> isize {
        self.dims[self.dims.len() - 1].stride[k]
    }
}

/// Spatial dims after collapsing (at most 4 spatial axes).
const MAX_DIMS: usize = 4;

/// Iterator over the tiles of a block: yields `(offsets, len)`, where `offsets[k]` is the
/// element offset of (n, channel 0, first position) in tensor k and the tile's positions
/// follow at the innermost stride. Tiles never cross a row of the innermost dim and hold
/// <= TILE positions. (An iterator, not a callback: the loop body must stay inside the SIMD
/// function, since closures do not inherit target features.)
pub(crate) struct Tiles<'p> {
    plan: &'p Plan,
    n: usize,
    idx: [usize; MAX_DIMS],
    pos: usize,
    end: usize,
    /// Positions of the current innermost row already yielded.
    done: usize,
}

impl Iterator for Tiles<'_> {
    type Item = ([isize; SLOTS], usize);

    fn next(&mut self) -> Option<Self::Item> {
        if self.pos >= self.end {
            return None;
        }
        let dims = &self.plan.dims;
        let inner = dims.len() - 1;
        let run = (dims[inner].extent - self.idx[inner]).min(self.end - self.pos + self.done);
        let len = (run - self.done).min(TILE);
        let mut off = [0isize; SLOTS];
        for (k, o) in off.iter_mut().enumerate() {
            *o = self.plan.row_offset(self.n, k)
                + dims.iter().zip(&self.idx).map(|(d, &i)| i as isize * d.stride[k]).sum::<isize>()
                + self.done as isize * dims[inner].stride[k];
        }
        self.done += len;
        self.pos += len;
        if self.done == run {
            self.idx[inner] += run;
            self.done = 0;
            let mut d = inner;
            while d > 0 && self.idx[d] == dims[d].extent {
                self.idx[d] = 0;
                d -= 1;
                self.idx[d] += 1;
            }
        }
        Some((off, len))
    }
}
