//! Surface extraction for one (item, class): both masks decoded, cropped to the bounding box of
//! their union plus a one-voxel margin, and their edge voxels found by erosion with the
//! face-connected structuring element (scipy `binary_erosion` default, border value 0): a mask
//! voxel is an edge voxel when a face neighbour is outside the mask or outside the grid.
//! This is the edge definition of MONAI (`get_mask_edges` without subvoxels) and medpy.

use crate::error::Result;
use crate::limits;
use crate::metrics::decisions::{Grid, Reader};

/// Two masks of one (item, class) restricted to a box, C order over `shape`.
pub(crate) struct CroppedPair {
    /// Extents of the box.
    pub shape: Vec<usize>,
    /// Prediction mask (0/1).
    pub pred: Vec<u8>,
    /// Ground-truth mask (0/1).
    pub gt: Vec<u8>,
}

/// Decodes class `c` of item `n` from both sides, crops to the union's bounding box grown by
/// one voxel (clamped to the grid). `None` when both masks are empty.
pub(crate) fn cropped_pair(
    grid: &Grid,
    rp: &Reader<'_>,
    rg: &Reader<'_>,
    n: usize,
    c: usize,
) -> Result<Option<CroppedPair>> {
    let (rows, len) = (grid.rows(), grid.row_len());
    let k = grid.spatial.len();
    let mut pred = limits::filled("pred", rows * len, 0u8)?;
    let mut gt = limits::filled("gt", rows * len, 0u8)?;
    let mut scratch = limits::filled("gt", len, 0u32)?;
    let mut lo = grid.spatial.clone();
    let mut hi = vec![0usize; k];
    let mut index = vec![0usize; k];
    for r in 0..rows {
        let (p, g) = (&mut pred[r * len..(r + 1) * len], &mut gt[r * len..(r + 1) * len]);
        rp.member_row(n, c, r, &mut scratch, p)?;
        rg.member_row(n, c, r, &mut scratch, g)?;
        let first = p.iter().zip(g.iter()).position(|(a, b)| (a | b) != 0);
        if let Some(first) = first {
            let last =
                len - 1 - p.iter().zip(g.iter()).rev().position(|(a, b)| (a | b) != 0).unwrap_or(0);
            // Row r's multi-index over the leading axes.
            let mut rest = r;
            for d in (0..k - 1).rev() {
                index[d] = rest % grid.spatial[d];
                rest /= grid.spatial[d];
            }
            index[k - 1] = first;
            for d in 0..k {
                lo[d] = lo[d].min(index[d]);
                hi[d] = hi[d].max(index[d] + 1);
            }
            hi[k - 1] = hi[k - 1].max(last + 1);
        }
    }
    if hi.iter().all(|&h| h == 0) {
        return Ok(None);
    }
    let lo: Vec<usize> = lo.iter().map(|&l| l.saturating_sub(1)).collect();
    let hi: Vec<usize> = hi.iter().zip(&grid.spatial).map(|(&h, &e)| (h + 1).min(e)).collect();
    let shape: Vec<usize> = lo.iter().zip(&hi).map(|(l, h)| h - l).collect();
    Ok(Some(CroppedPair {
        pred: crop(&pred, &grid.spatial, &lo, &shape)?,
        gt: crop(&gt, &grid.spatial, &lo, &shape)?,
        shape,
    }))
}

/// Copies the box at `lo` with extents `shape` out of a C-order volume of extents `full`.
pub(crate) fn crop(v: &[u8], full: &[usize], lo: &[usize], shape: &[usize]) -> Result<Vec<u8>> {
    let k = full.len();
    let (len, rows) = (shape[k - 1], shape[..k - 1].iter().product::<usize>());
    let mut out = limits::with_capacity("mask", rows * len)?;
    let mut index = vec![0usize; k];
    for r in 0..rows {
        let mut rest = r;
        for d in (0..k - 1).rev() {
            index[d] = lo[d] + rest % shape[d];
            rest /= shape[d];
        }
        index[k - 1] = lo[k - 1];
        let start = index.iter().zip(full).fold(0usize, |acc, (&i, &e)| acc * e + i);
        out.extend_from_slice(&v[start..start + len]);
    }
    Ok(out)
}

/// Edge voxels of a C-order 0/1 mask: set, with a face neighbour unset or outside the grid.
/// Row by row: a row on the grid's border keeps every set voxel; an inner row ANDs its
/// neighbours along the row and the 2(k-1) neighbouring rows (byte operations).
pub(crate) fn edges(mask: &[u8], shape: &[usize]) -> Vec<u8> {
    let k = shape.len();
    let len = shape[k - 1];
    let rows = mask.len() / len.max(1);
    let mut stride = vec![1usize; k];
    for d in (0..k - 1).rev() {
        stride[d] = stride[d + 1] * shape[d + 1];
    }
    let mut out = vec![0u8; mask.len()];
    let mut inner = vec![0u8; len];
    let mut index = vec![0usize; k];
    for r in 0..rows {
        let mut rest = r;
        for d in (0..k - 1).rev() {
            index[d] = rest % shape[d];
            rest /= shape[d];
        }
        let at = r * len;
        let row = &mask[at..at + len];
        let o = &mut out[at..at + len];
        if (0..k - 1).any(|d| index[d] == 0 || index[d] + 1 == shape[d]) || len < 3 {
            o.copy_from_slice(row);
            continue;
        }
        // inner[x] = 1 when every face neighbour of x is set (x interior along the row).
        inner[0] = 0;
        inner[len - 1] = 0;
        for x in 1..len - 1 {
            inner[x] = row[x - 1] & row[x + 1];
        }
        for d in 0..k - 1 {
            let (lo, hi) = (
                &mask[at - stride[d]..at - stride[d] + len],
                &mask[at + stride[d]..at + stride[d] + len],
            );
            inner.iter_mut().zip(lo.iter().zip(hi)).for_each(|(v, (&a, &b))| *v &= a & b);
        }
        o.iter_mut().zip(row.iter().zip(&inner)).for_each(|(e, (&m, &i))| *e = m & (i ^ 1));
    }
    out
}
