//! A plain scalar f64 implementation, written straight from the definitions, kept as the
//! test oracle. No tiles, no SIMD, no blocks, libm `exp`; slow and obvious on purpose.
//! Not part of the crate's API: it may change in any release.

use crate::float::Float;
use crate::options::{Activation, DiceOptions, Reduction};
use crate::target::{Labels, Target};
use crate::tensor::TensorView;

/// Oracle output: per-entry values (w f), the reduced loss, and d(loss)/d(input) with unit
/// upstream (for `reduction = none`: of the sum), C-contiguous in the input's shape.
#[derive(Clone, Debug)]
pub struct Reference {
    /// Per-entry weighted values, row-major (rows = N, or 1 with batch).
    pub values: Vec<f64>,
    /// Mean or sum (sum for `none`).
    pub loss: f64,
    /// Gradient, C-contiguous.
    pub grad: Vec<f64>,
}

fn label_at(l: &Labels<'_>, idx: &[usize]) -> i64 {
    match l {
        Labels::U8(v) => *v.get(idx) as i64,
        Labels::U16(v) => *v.get(idx) as i64,
        Labels::I32(v) => *v.get(idx) as i64,
        Labels::I64(v) => *v.get(idx),
    }
}

fn spatial_indices(shape: &[usize]) -> Vec<Vec<usize>> {
    let mut out = vec![vec![]];
    for &e in shape {
        out = out
            .into_iter()
            .flat_map(|p| {
                (0..e).map(move |i| {
                    let mut q = p.clone();
                    q.push(i);
                    q
                })
            })
            .collect();
    }
    out
}

/// Soft Dice / Jaccard by the definitions. Labels shaped (N, spatial...) or (N, 1, spatial...).
pub fn dice_reference<T: Float>(
    input: &TensorView<'_, T>,
    target: &Target<'_, T>,
    opts: &DiceOptions,
) -> Reference {
    dice_reference_masked(input, target, None, opts)
}

/// As [`dice_reference`], with nnU-Net's per-voxel loss mask w shaped (N, 1, spatial...) or
/// (N, spatial...): I = sum w p t, P = sum w p (w p^2), G = sum w t (w t^2).
pub fn dice_reference_masked<T: Float>(
    input: &TensorView<'_, T>,
    target: &Target<'_, T>,
    mask: Option<&TensorView<'_, T>>,
    opts: &DiceOptions,
) -> Reference {
    let shape = input.shape().to_vec();
    let (n, c) = (shape[0], shape[1]);
    let first = usize::from(!opts.include_background && c > 1);
    let kept = c - first;
    let pos = spatial_indices(&shape[2..]);
    let at =
        |b: usize, ch: usize, s: &[usize]| -> Vec<usize> { [vec![b, ch], s.to_vec()].concat() };
    // p, t, m for every (b, ch, position)
    let mut p = vec![vec![vec![0.0; pos.len()]; c]; n];
    let mut t = p.clone();
    let mut m = vec![vec![1.0; pos.len()]; n];
    let mut w = vec![vec![1.0; pos.len()]; n];
    if let Some(mv) = mask {
        for (b, wb) in w.iter_mut().enumerate() {
            for (k, s) in pos.iter().enumerate() {
                let idx = if mv.shape().len() == shape.len() {
                    at(b, 0, s)
                } else {
                    [vec![b], s.to_vec()].concat()
                };
                wb[k] = mv.get(&idx).to_f64();
            }
        }
    }
    for b in 0..n {
        for (k, s) in pos.iter().enumerate() {
            let x: Vec<f64> = (0..c).map(|ch| input.get(&at(b, ch, s)).to_f64()).collect();
            let probs: Vec<f64> = match opts.activation {
                Activation::None => x.clone(),
                Activation::Sigmoid => x.iter().map(|v| 1.0 / (1.0 + (-v).exp())).collect(),
                Activation::Softmax if c == 1 => x.clone(),
                Activation::Softmax => {
                    let mx = x.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
                    let e: Vec<f64> = x.iter().map(|v| (v - mx).exp()).collect();
                    let z: f64 = e.iter().sum();
                    e.iter().map(|v| v / z).collect()
                }
            };
            for ch in 0..c {
                p[b][ch][k] = probs[ch];
            }
            match target {
                Target::Dense(tv) => {
                    for ch in 0..c {
                        t[b][ch][k] = tv.get(&at(b, ch, s)).to_f64();
                    }
                    if opts.ignore_index.is_some() && (0..c).all(|ch| t[b][ch][k] == 0.0) {
                        m[b][k] = 0.0;
                    }
                }
                Target::Labels(l) => {
                    let idx = if l.shape().len() == shape.len() {
                        at(b, 0, s)
                    } else {
                        [vec![b], s.to_vec()].concat()
                    };
                    let v = label_at(l, &idx);
                    if Some(v) == opts.ignore_index {
                        m[b][k] = 0.0;
                    } else if c == 1 {
                        t[b][0][k] = v as f64;
                    } else {
                        t[b][v as usize][k] = 1.0;
                    }
                }
            }
        }
    }
    let soft = opts.soft_label && !opts.squared_pred;
    let sums = |b: usize, ch: usize| -> (f64, f64, f64) {
        let (mut i, mut q, mut g) = (0.0, 0.0, 0.0);
        for k in 0..pos.len() {
            let (pv, tv, wk) = (p[b][ch][k] * m[b][k], t[b][ch][k] * m[b][k], w[b][k]);
            i += wk * if soft { pv.min(tv) } else { pv * tv };
            q += wk * if opts.squared_pred { pv * pv } else { pv };
            g += wk * if opts.squared_pred { tv * tv } else { tv };
        }
        (i, q, g)
    };
    let rows = if opts.batch { 1 } else { n };
    let mut entries = vec![(0.0, 0.0, 0.0); rows * kept];
    for b in 0..n {
        for ch in first..c {
            let (i, q, g) = sums(b, ch);
            let e = &mut entries[if opts.batch { 0 } else { b } * kept + ch - first];
            e.0 += i;
            e.1 += q;
            e.2 += g;
        }
    }
    let weight = |k: usize| match opts.weight.len() {
        0 => 1.0,
        1 => opts.weight[0],
        _ => opts.weight[k],
    };
    let (sn, sd) = (opts.smooth_nr, opts.smooth_dr);
    let mut values = Vec::new();
    let mut dcoef = Vec::new();
    for (e, &(i, q, g)) in entries.iter().enumerate() {
        let w = weight(e % kept);
        let num = 2.0 * i + sn;
        let den = if opts.jaccard { 2.0 * (q + g - i) + sd } else { q + g + sd };
        values.push(w * (1.0 - num / den));
        // d f / d I and d f / d P by the quotient rule
        let dden_di = if opts.jaccard { -2.0 } else { 0.0 };
        let dden_dq = if opts.jaccard { 2.0 } else { 1.0 };
        let di = -(2.0 * den - num * dden_di) / (den * den);
        let dq = num * dden_dq / (den * den);
        dcoef.push((w * di, w * dq));
    }
    let scale = if opts.reduction == Reduction::Mean { 1.0 / values.len() as f64 } else { 1.0 };
    let loss = values.iter().sum::<f64>() * scale;
    let mut grad = vec![0.0; input.shape().iter().product()];
    let plane = pos.len();
    for b in 0..n {
        for k in 0..plane {
            let mut gp = vec![0.0; c];
            for ch in first..c {
                let (di, dq) = dcoef[if opts.batch { 0 } else { b } * kept + ch - first];
                let (pv, tv, mk) = (p[b][ch][k] * m[b][k], t[b][ch][k] * m[b][k], m[b][k]);
                let d_inter = if soft {
                    if pv < tv {
                        1.0
                    } else if pv == tv {
                        0.5
                    } else {
                        0.0
                    }
                } else {
                    tv
                };
                let d_pred = if opts.squared_pred { 2.0 * pv } else { 1.0 };
                gp[ch] = scale * (di * d_inter + dq * d_pred) * mk * w[b][k];
            }
            for ch in 0..c {
                let pv = p[b][ch][k];
                let gx = match opts.activation {
                    Activation::None => gp[ch],
                    Activation::Softmax if c == 1 => gp[ch],
                    Activation::Sigmoid => gp[ch] * pv * (1.0 - pv),
                    Activation::Softmax => {
                        pv * (gp[ch] - (0..c).map(|j| gp[j] * p[b][j][k]).sum::<f64>())
                    }
                };
                grad[(b * c + ch) * plane + k] = gx;
            }
        }
    }
    Reference { values, loss, grad }
}
