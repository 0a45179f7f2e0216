//! Boundary loss (Kervadec et al. 2019) and its blend with Dice under a warm-up ramp.
//!
//! `L_B = (1 / M) sum_{n, c kept, x} phi(n, c, x) p(n, c, x)`, M = N * C_kept * voxels, where
//! p = activation(input) and phi is the signed distance map of the ground truth of each class
//! (negative inside, positive outside; [`signed_distance_maps`] computes it with spacing, or the
//! caller passes a precomputed one). Gradient: dL/dp = phi / M on kept classes, 0 elsewhere,
//! then through the activation — sigmoid: g p (1 - p); softmax: p_c (g_c - sum_k g_k p_k), so
//! the background channel receives gradient through the softmax even when it is not kept.
//!
//! Blend (Kervadec's "rebalance"): `L = (1 - w) L_Dice + w L_B`, w = `ramp.at(step)`.
//!
//! Each (item, row) task sums in f64; task totals are combined in task order, and tasks do not
//! depend on the thread count, so loss and gradient are identical for any thread count.

use crate::api::dice_loss_grad;
use crate::context::Context;
use crate::error::{DiceError, Result};
use crate::float::Float;
use crate::limits;
use crate::metrics::decisions::{Decisions, Reader, pair_grid, row_offset};
use crate::metrics::edt::{check_spacing, signed_from_volume};
use crate::options::{Activation, DiceOptions};
use crate::schedule::Ramp;
use crate::target::Target;
use crate::tensor::{TensorView, TensorViewMut};

/// Options of the boundary loss.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BoundaryLossOptions {
    /// Activation applied to the input (softmax over C, or sigmoid, or none).
    pub activation: Activation,
    /// Keep class 0 in the mean (Kervadec's experiments keep only the foreground classes).
    pub include_background: bool,
}

impl Default for BoundaryLossOptions {
    fn default() -> Self {
        BoundaryLossOptions { activation: Activation::Softmax, include_background: false }
    }
}

/// Signed distance maps of every (item, class) of `gt`, C-contiguous (N, C, spatial...):
/// outside a class's mask the distance to it, inside minus the distance to its outside; all 0
/// for a class that is empty or fills the grid. `spacing`: one per spatial axis, empty = 1.
pub fn signed_distance_maps<T: Float>(
    ctx: &Context,
    gt: &Decisions<'_>,
    classes: usize,
    spacing: &[f64],
) -> Result<Vec<T>> {
    let grid = pair_grid(gt, gt, classes)?;
    let spacing = if spacing.is_empty() { vec![1.0; grid.spatial.len()] } else { spacing.to_vec() };
    check_spacing(&spacing, grid.spatial.len())?;
    let reader = Reader::new("gt", *gt, &grid);
    let (rows, len, vox) = (grid.rows(), grid.row_len(), grid.voxels());
    // pair_grid checked that items * classes * voxels fits a usize.
    let mut out = limits::with_capacity("gt", grid.items * grid.classes * vox)?;
    let mut vol = limits::filled("gt", vox, 0u8)?;
    let mut scratch = limits::filled("gt", len, 0u32)?;
    for n in 0..grid.items {
        for c in 0..grid.classes {
            for r in 0..rows {
                reader.member_row(n, c, r, &mut scratch, &mut vol[r * len..(r + 1) * len])?;
            }
            out.extend(
                signed_from_volume(ctx, &vol, &grid.spatial, &spacing)?
                    .into_iter()
                    .map(T::from_f64),
            );
        }
    }
    Ok(out)
}

/// Voxels per parallel task (fixed: tasks must not depend on the thread count).
const TASK_VOXELS: usize = 1 << 14;
/// Tasks per batch: the task list and partial sums stay bounded for any batch size N.
const TASK_BATCH: usize = 1 << 12;

/// The boundary loss, and its input gradient written to `grad` when given (overwritten).
pub fn boundary_loss<T: Float>(
    ctx: &Context,
    input: &TensorView<'_, T>,
    phi: &TensorView<'_, T>,
    opts: &BoundaryLossOptions,
    grad: Option<&mut TensorViewMut<'_, T>>,
) -> Result<f64> {
    let shape = input.shape();
    if !(3..=6).contains(&shape.len()) {
        return Err(DiceError::Rank { arg: "input", rank: shape.len(), min: 3, max: 6 });
    }
    for (d, &e) in shape[..2].iter().enumerate() {
        if e == 0 {
            return Err(DiceError::EmptyDim { arg: "input", dim: d });
        }
    }
    if phi.shape() != shape {
        return Err(DiceError::ShapeMismatch {
            arg: "phi",
            expected: shape.to_vec(),
            got: phi.shape().to_vec(),
        });
    }
    let out_ptr = match grad {
        Some(g) => {
            if g.shape() != shape {
                return Err(DiceError::ShapeMismatch {
                    arg: "grad",
                    expected: shape.to_vec(),
                    got: g.shape().to_vec(),
                });
            }
            Some(OutPtr(g.origin(), g.layout().strides().to_vec()))
        }
        None => None,
    };
    let (n, c) = (shape[0], shape[1]);
    let spatial = &shape[2..];
    let len = spatial[spatial.len() - 1];
    let rows: usize = spatial[..spatial.len() - 1].iter().product();
    let voxels = rows * len;
    let first = if opts.include_background || c == 1 { 0 } else { 1 };
    let m = (n * (c - first) * voxels) as f64;
    if voxels == 0 {
        return Ok(f64::NAN); // mean over no element, as torch's mean of an empty tensor
    }
    let softmax = opts.activation == Activation::Softmax && c > 1;
    let rows_per_task = (TASK_VOXELS / len.max(1)).max(1);
    // Task t covers rows [j rows_per_task, (j + 1) rows_per_task) of item t / per_item, with
    // j = t % per_item; batches of tasks run in order and their sums are added in task order.
    let per_item = rows.div_ceil(rows_per_task);
    let task_count = n * per_item; // <= n * voxels, which the view's layout bounds
    let (si, sp) = (input.layout().strides(), phi.layout().strides());
    let k = spatial.len();
    let mut total = 0.0;
    let mut batch = Vec::with_capacity(TASK_BATCH.min(task_count));
    for t0 in (0..task_count).step_by(TASK_BATCH) {
        batch.clear();
        batch.extend(t0..(t0 + TASK_BATCH).min(task_count));
        let sums = ctx.map_ordered(
            &batch,
            n * c * voxels,
            || (vec![0f64; c], vec![0f64; c]),
            |(p, g), &t| {
                let (item, r0) = (t / per_item, t % per_item * rows_per_task);
                let r1 = (r0 + rows_per_task).min(rows);
                let mut sum = 0.0;
                for r in r0..r1 {
                    let oi = input.base() as isize
                        + item as isize * si[0]
                        + row_offset(spatial, &si[2..], r);
                    let op = phi.base() as isize
                        + item as isize * sp[0]
                        + row_offset(spatial, &sp[2..], r);
                    for x in 0..len {
                        let (xi, xp) = (oi + x as isize * si[k + 1], op + x as isize * sp[k + 1]);
                        let at = |ch: usize, base: isize, st: &[isize]| {
                            (base + ch as isize * st[1]) as usize
                        };
                        for (ch, v) in p.iter_mut().enumerate() {
                            *v = input.data()[at(ch, xi, si)].to_f64();
                        }
                        activate(p, opts.activation, softmax);
                        let mut dot = 0.0;
                        for ch in 0..c {
                            let w =
                                if ch >= first { phi.data()[at(ch, xp, sp)].to_f64() } else { 0.0 };
                            sum += w * p[ch];
                            g[ch] = w / m;
                            dot += g[ch] * p[ch];
                        }
                        if let Some(out) = &out_ptr {
                            let so = &out.1;
                            let go = item as isize * so[0]
                                + row_offset(spatial, &so[2..], r)
                                + x as isize * so[k + 1];
                            for ch in 0..c {
                                let dx = match opts.activation {
                                    Activation::None => g[ch],
                                    Activation::Sigmoid => g[ch] * p[ch] * (1.0 - p[ch]),
                                    Activation::Softmax if softmax => p[ch] * (g[ch] - dot),
                                    Activation::Softmax => g[ch],
                                };
                                // SAFETY: `grad` is injective (TensorViewMut) and validated to hold
                                // every element of this shape; each (item, row, x, ch) is written by
                                // exactly one task, so writes are disjoint.
                                unsafe {
                                    *out.get().offset(go + ch as isize * so[1]) = T::from_f64(dx)
                                };
                            }
                        }
                    }
                }
                sum
            },
        );
        total = sums.iter().fold(total, |acc, s| acc + s);
    }
    Ok(total / m)
}

/// p <- activation(p) in place (softmax stable: max subtracted).
fn activate(p: &mut [f64], a: Activation, softmax: bool) {
    match a {
        Activation::None => {}
        Activation::Sigmoid => p.iter_mut().for_each(|v| *v = 1.0 / (1.0 + (-*v).exp())),
        Activation::Softmax if softmax => {
            let mx = p.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            let mut s = 0.0;
            p.iter_mut().for_each(|v| {
                *v = (*v - mx).exp();
                s += *v;
            });
            p.iter_mut().for_each(|v| *v /= s);
        }
        Activation::Softmax => {}
    }
}

/// The gradient's origin pointer and strides, shared by tasks writing disjoint elements.
struct OutPtr<T>(*mut T, Vec<isize>);
impl<T> OutPtr<T> {
    fn get(&self) -> *mut T {
        self.0
    }
}
// SAFETY: only used by `boundary_loss`, whose tasks write disjoint elements.
unsafe impl<T: Send> Send for OutPtr<T> {}
// SAFETY: as above.
unsafe impl<T: Send> Sync for OutPtr<T> {}

/// Parts of a blended loss.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Blended {
    /// (1 - w) dice + w boundary.
    pub total: f64,
    /// Dice loss (scalar reduction of `dice_opts`).
    pub dice: f64,
    /// Boundary loss.
    pub boundary: f64,
    /// Boundary weight w at this step.
    pub weight: f64,
}

/// `(1 - w) L_Dice + w L_B` with w = `ramp.at(step)`, and its input gradient in `grad`. The
/// Dice part uses `dice_opts` (its reduction must be scalar: mean or sum); both parts use the
/// activation of `dice_opts`.
#[allow(clippy::too_many_arguments)]
pub fn dice_boundary_loss_grad<T: Float>(
    ctx: &Context,
    input: &TensorView<'_, T>,
    target: &Target<'_, T>,
    phi: &TensorView<'_, T>,
    dice_opts: &DiceOptions,
    include_background: bool,
    ramp: &Ramp,
    step: u64,
    grad: &mut TensorViewMut<'_, T>,
) -> Result<Blended> {
    let w = ramp.at(step)?;
    if dice_opts.reduction == crate::options::Reduction::None {
        return Err(DiceError::BadOption {
            name: "reduction",
            reason: "the blend needs a scalar Dice loss",
        });
    }
    let dice = dice_loss_grad(ctx, input, target, dice_opts, None, grad)?.loss();
    let bopts = BoundaryLossOptions { activation: dice_opts.activation, include_background };
    let mut gb = vec![T::default(); input.layout().numel()];
    let mut gbv = TensorViewMut::contiguous("grad", &mut gb, input.shape())?;
    let boundary = boundary_loss(ctx, input, phi, &bopts, Some(&mut gbv))?;
    blend_into(grad, &gb, 1.0 - w, w);
    Ok(Blended { total: (1.0 - w) * dice + w * boundary, dice, boundary, weight: w })
}

/// grad <- a * grad + b * other (other C-contiguous over grad's shape).
fn blend_into<T: Float>(grad: &mut TensorViewMut<'_, T>, other: &[T], a: f64, b: f64) {
    let shape = grad.shape().to_vec();
    let strides = grad.layout().strides().to_vec();
    let origin = grad.origin();
    let mut index = vec![0usize; shape.len()];
    for &o in other {
        let off: isize = index.iter().zip(&strides).map(|(&i, &s)| i as isize * s).sum();
        // SAFETY: `index` ranges over the view's shape, whose every element lies in the buffer.
        unsafe {
            let g = origin.offset(off);
            *g = T::from_f64(a * (*g).to_f64() + b * o.to_f64());
        }
        for d in (0..shape.len()).rev() {
            index[d] += 1;
            if index[d] < shape[d] {
                break;
            }
            index[d] = 0;
        }
    }
}
