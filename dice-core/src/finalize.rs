//! Step 2: from [`Stats`] to loss values and the derivatives of the loss with respect to
//! every sum. Tiny and data-free: closed forms in f64, in this order:
//!
//! 1. rows pooled over the batch (`batch`);
//! 2. entries: one per (row, kept class), or one per row when the classes are summed first
//!    (Generalised Dice with weights w_c, kornia micro with the class weights, or 1), giving
//!    pooled sums I', P', G' = sum_c f_c (I_c, P_c, G_c);
//! 3. score s = num / max(den, clamp_dr):
//!    Dice    num = 2I' + s_nr   den = P' + G' + s_dr            (Jaccard: 2(P' + G' - I') + s_dr)
//!    Tversky num = I' + s_nr    den = I' + a(P' - I') + b(G' - I') + s_dr
//! 4. loss l = (1 - s)^gamma, -ln max(s, eps), ln cosh(1 - s) or -s; 0 for an empty ground
//!    truth with `zero_absent`;
//! 5. class weights (after the ratio, or as a weighted mean), the `classes` subset, the
//!    reduction, and `gamma_on_mean`;
//! 6. the elementwise term: lambda * (sum loss / sum weight) for mean, its sum for sum and
//!    none (its per-element values come from `dice_pointwise_map`);
//! 7. the temporal term: lambda * (sum of squared frame differences / their number).
//!
//! G does not depend on the input, so it gets no derivative; the GDL weights (functions of G)
//! are constants too.

use crate::error::{DiceError, Result};
use crate::limits;
use crate::options::{
    DiceOptions, GdlWeight, LossForm, Overlap, PointwiseKind, Reduction, WeightMode,
};
use crate::stats::{PointwiseSums, Stats, Sums};

/// Loss values and their local derivatives.
#[derive(Clone, Debug, PartialEq)]
pub struct Finalized {
    rows: usize,
    cols: usize,
    values: Vec<f64>,
    /// d value_e / d (I', P') of each entry.
    d_entry: Vec<(f64, f64)>,
    /// For each stats cell (row, class): its entry and the pooling factor f_c.
    cells: Vec<(usize, f64)>,
    /// Cell rows (stats rows after batch pooling).
    cell_rows: usize,
    classes: usize,
    /// d loss / d value_e for mean/sum (0 outside the `classes` subset).
    reduce: Vec<f64>,
    reduction: Reduction,
    overlap_loss: f64,
    pointwise_loss: f64,
    /// d loss / d (sum of elementwise losses).
    pointwise_scale: f64,
    temporal_loss: f64,
    /// d loss / d (sum of squared frame differences).
    temporal_scale: f64,
}

/// d loss / dI and d loss / dP per stats cell after the reduction and the upstream gradient,
/// and the factor of the elementwise gradient.
#[derive(Clone, Debug, PartialEq)]
pub struct Coefficients {
    pub(crate) rows: usize,
    pub(crate) classes: usize,
    pub(crate) d_inter: Vec<f64>,
    pub(crate) d_pred: Vec<f64>,
    pub(crate) pointwise: f64,
    pub(crate) temporal: f64,
}

impl Coefficients {
    /// Rows (1 when they apply to every batch item, as with `batch`).
    pub fn rows(&self) -> usize {
        self.rows
    }
    /// (dL/dI, dL/dP) of cell (row, class).
    pub fn get(&self, row: usize, class: usize) -> (f64, f64) {
        let i = row * self.classes + class;
        (self.d_inter[i], self.d_pred[i])
    }
    /// d loss / d (each element's elementwise loss).
    pub fn pointwise(&self) -> f64 {
        self.pointwise
    }
    /// d loss / d (each squared frame difference).
    pub fn temporal(&self) -> f64 {
        self.temporal
    }
}

/// Checks the options of the loss family (the tensor-independent ones).
pub(crate) fn validate(opts: &DiceOptions) -> Result<()> {
    let bad = |name, reason| Err(DiceError::BadOption { name, reason });
    let nonneg = |v: f64| v.is_finite() && v >= 0.0;
    if let Overlap::Tversky { alpha, beta } = opts.overlap {
        if !nonneg(alpha) || !nonneg(beta) {
            return bad("alpha/beta", "Tversky weights must be finite and >= 0");
        }
        if opts.jaccard {
            return bad("jaccard", "applies to Dice and Generalised Dice, not Tversky");
        }
    }
    if matches!(opts.overlap, Overlap::Generalized(_))
        && (opts.pool_classes || opts.weight_mode == WeightMode::InSums)
    {
        return bad("overlap", "Generalised Dice already sums the classes with its own weights");
    }
    let gdl = matches!(opts.overlap, Overlap::Generalized(_));
    if !opts.weight.is_empty()
        && (gdl || (opts.pool_classes && opts.weight_mode != WeightMode::InSums))
    {
        return bad(
            "weight",
            "with classes summed first (GDL, pool_classes), class weights only enter the sums (InSums, not with GDL)",
        );
    }
    if opts.frames && opts.batch {
        return bad(
            "frames",
            "per-frame rows and batch pooling do not combine (pool the stats rows yourself)",
        );
    }
    if !nonneg(opts.clamp_dr) {
        return bad("clamp_dr", "must be finite and >= 0");
    }
    if !(opts.gamma.is_finite() && opts.gamma > 0.0) {
        return bad("gamma", "must be finite and > 0");
    }
    if let LossForm::NegLog { eps } = opts.form
        && !(eps.is_finite() && eps > 0.0)
    {
        return bad("eps", "the log form needs a finite eps > 0");
    }
    if !nonneg(opts.lambda_overlap) || !nonneg(opts.pointwise.lambda) || !nonneg(opts.temporal) {
        return bad("lambda", "term weights must be finite and >= 0");
    }
    let pw = &opts.pointwise;
    if !(0.0..=1.0).contains(&pw.label_smoothing) {
        return bad("label_smoothing", "must be in [0, 1]");
    }
    if !(pw.gamma.is_finite() && pw.gamma >= 0.0) {
        return bad("focal gamma", "must be finite and >= 0");
    }
    if opts.temporal != 0.0 && opts.reduction == Reduction::None {
        return bad("reduction", "'none' is not available with the temporal term");
    }
    if opts.reduction == Reduction::None && (!opts.classes.is_empty() || opts.gamma_on_mean) {
        return bad("reduction", "'none' does not combine with a classes subset or gamma_on_mean");
    }
    Ok(())
}

/// Per-row GDL weights from the target sums; infinite ones take the row's largest finite one.
fn gdl_weights(kind: GdlWeight, row: &[Sums]) -> Vec<f64> {
    let mut w: Vec<f64> = row
        .iter()
        .map(|s| match kind {
            GdlWeight::Square => 1.0 / (s.target * s.target),
            GdlWeight::Simple => 1.0 / s.target,
            GdlWeight::Uniform => 1.0,
        })
        .collect();
    let max = w.iter().copied().filter(|v| v.is_finite()).fold(0.0, f64::max);
    for v in &mut w {
        if v.is_infinite() {
            *v = max;
        }
    }
    w
}

/// Score s and (ds/dI', ds/dP') of pooled sums.
fn score(opts: &DiceOptions, s: &Sums) -> (f64, f64, f64) {
    let (i, p, g) = (s.intersection, s.pred, s.target);
    let (sn, sd) = (opts.smooth_nr, opts.smooth_dr);
    // numerator, denominator and their partials (dnum/dI, dden/dI, dden/dP)
    let (num, dn_i, den, dd_i, dd_p) = match opts.overlap {
        Overlap::Tversky { alpha, beta } => {
            (i + sn, 1.0, i + alpha * (p - i) + beta * (g - i) + sd, 1.0 - alpha - beta, alpha)
        }
        _ if opts.jaccard => (2.0 * i + sn, 2.0, 2.0 * (p + g - i) + sd, -2.0, 2.0),
        _ => (2.0 * i + sn, 2.0, p + g + sd, 0.0, 1.0),
    };
    if opts.clamp_dr > 0.0 && den < opts.clamp_dr {
        let d = opts.clamp_dr;
        return (num / d, dn_i / d, 0.0);
    }
    let q = num / (den * den);
    (num / den, dn_i / den - q * dd_i, -q * dd_p)
}

/// Loss l(s) and dl/ds.
fn form(opts: &DiceOptions, s: f64) -> (f64, f64) {
    match opts.form {
        LossForm::OneMinus if opts.gamma == 1.0 || opts.gamma_on_mean => (1.0 - s, -1.0),
        LossForm::OneMinus => {
            let u = (1.0 - s).max(0.0);
            (u.powf(opts.gamma), -opts.gamma * u.powf(opts.gamma - 1.0))
        }
        LossForm::NegLog { eps } if s < eps => (-eps.ln(), 0.0),
        LossForm::NegLog { .. } => (-s.ln(), -1.0 / s),
        LossForm::LogCosh => ((1.0 - s).cosh().ln(), -(1.0 - s).tanh()),
        LossForm::Negative => (-s, -1.0),
    }
}

/// Finalizes the loss. With `batch`, rows are pooled first (in row order).
pub fn finalize(stats: &Stats, opts: &DiceOptions) -> Result<Finalized> {
    validate(opts)?;
    let kept = stats.classes();
    let cw = opts.class_weights(kept)?;
    let pooled;
    let st = if opts.batch && stats.rows() != 1 {
        pooled = stats.pooled();
        &pooled
    } else {
        stats
    };
    let rows = st.rows();
    let selected = class_subset(opts, kept)?;
    let gdl = match opts.overlap {
        Overlap::Generalized(kind) => Some(kind),
        _ => None,
    };
    let per_row = gdl.is_some() || opts.pool_classes;
    let cols = if per_row { 1 } else { kept };

    // entries: pooled sums and, per cell, (entry, factor)
    let mut sums =
        limits::filled("stats", limits::product("stats", &[rows, cols])?, Sums::default())?;
    let mut cells = limits::with_capacity("stats", st.entries().len())?;
    for r in 0..rows {
        let row = &st.entries()[r * kept..(r + 1) * kept];
        let f: Vec<f64> = match gdl {
            Some(kind) => gdl_weights(kind, row),
            None if opts.weight_mode == WeightMode::InSums => cw.clone(),
            None => vec![1.0; kept],
        };
        for (c, s) in row.iter().enumerate() {
            let e = r * cols + if per_row { 0 } else { c };
            sums[e].intersection += f[c] * s.intersection;
            sums[e].pred += f[c] * s.pred;
            sums[e].target += f[c] * s.target;
            cells.push((e, f[c]));
        }
    }

    // per entry: value, derivatives, reduction weight
    let after_ratio = !per_row && opts.weight_mode != WeightMode::InSums;
    let mut values = limits::with_capacity("stats", sums.len())?;
    let mut d_entry = limits::with_capacity("stats", sums.len())?;
    let mut k = limits::with_capacity("stats", sums.len())?;
    for (e, s) in sums.iter().enumerate() {
        let c = e % cols;
        let (sc, ds_i, ds_p) = score(opts, s);
        let (mut l, mut dl) = form(opts, sc);
        if opts.zero_absent && s.target == 0.0 {
            (l, dl) = (0.0, 0.0);
        }
        let w = if after_ratio && opts.weight_mode == WeightMode::AfterRatio { cw[c] } else { 1.0 };
        let w = w * opts.lambda_overlap;
        values.push(w * l);
        d_entry.push((w * dl * ds_i, w * dl * ds_p));
        let sel = per_row || selected[c];
        k.push(if !sel {
            0.0
        } else if after_ratio && opts.weight_mode == WeightMode::WeightedMean {
            cw[c]
        } else {
            1.0
        });
    }
    let sum_k: f64 = k.iter().sum();
    let mut reduce: Vec<f64> = match opts.reduction {
        Reduction::Mean => k.iter().map(|&x| x / sum_k).collect(),
        Reduction::Sum | Reduction::None => k,
    };
    let mut overlap_loss: f64 =
        values.iter().zip(&reduce).filter(|(_, r)| **r != 0.0).map(|(v, r)| v * r).sum();
    if opts.gamma_on_mean && opts.gamma != 1.0 {
        // (lambda m)^... : the exponent applies to the mean itself, lambda after it
        let lam = opts.lambda_overlap;
        let base = if lam > 0.0 { (overlap_loss / lam).max(0.0) } else { 0.0 };
        let d = opts.gamma * base.powf(opts.gamma - 1.0);
        overlap_loss = lam * base.powf(opts.gamma);
        reduce.iter_mut().for_each(|r| *r *= d);
    }
    if opts.lambda_overlap == 0.0 {
        // an unused term contributes nothing, not NaN
        overlap_loss = 0.0;
        d_entry.iter_mut().for_each(|d| *d = (0.0, 0.0));
    }

    let (pointwise_loss, pointwise_scale) = pointwise_term(stats, opts);
    // temporal term: lambda mean over the pairs (0 without pairs, e.g. T = 1)
    let pairs: f64 = stats.pointwise().iter().map(|p| p.pairs).sum();
    let squares: f64 = stats.pointwise().iter().map(|p| p.temporal).sum();
    let temporal_scale =
        if opts.temporal != 0.0 && pairs > 0.0 { opts.temporal / pairs } else { 0.0 };
    Ok(Finalized {
        rows,
        cols,
        values,
        d_entry,
        cells,
        cell_rows: rows,
        classes: kept,
        reduce,
        reduction: opts.reduction,
        overlap_loss,
        pointwise_loss,
        pointwise_scale,
        temporal_loss: temporal_scale * squares,
        temporal_scale,
    })
}

/// Which kept classes enter the reduction (smp `classes`).
fn class_subset(opts: &DiceOptions, kept: usize) -> Result<Vec<bool>> {
    if opts.classes.is_empty() {
        return Ok(vec![true; kept]);
    }
    let mut sel = vec![false; kept];
    for &c in &opts.classes {
        if c >= kept {
            return Err(DiceError::BadOption {
                name: "classes",
                reason: "an index is not a kept class",
            });
        }
        sel[c] = true;
    }
    Ok(sel)
}

/// The elementwise term's value and d loss / d (sum of elementwise losses), from the
/// unpooled stats.
fn pointwise_term(stats: &Stats, opts: &DiceOptions) -> (f64, f64) {
    let pw = &opts.pointwise;
    if pw.kind == PointwiseKind::None || pw.lambda == 0.0 {
        return (0.0, 0.0);
    }
    let mut total = PointwiseSums::default();
    for p in stats.pointwise() {
        total.accumulate(p);
    }
    let scale = match opts.reduction {
        Reduction::Mean => 1.0 / total.weight,
        // MONAI's focal `sum` averages over the spatial positions first
        Reduction::Sum
            if matches!(pw.kind, PointwiseKind::SigmoidFocal | PointwiseKind::SoftmaxFocal) =>
        {
            stats.rows() as f64 / total.voxels
        }
        Reduction::Sum | Reduction::None => 1.0,
    };
    (pw.lambda * total.loss * scale, pw.lambda * scale)
}

impl Finalized {
    /// Rows of the per-entry values (N, or 1 with `batch`).
    pub fn rows(&self) -> usize {
        self.rows
    }
    /// Values per row: the kept classes, or 1 when classes are summed first (GDL, micro).
    pub fn cols(&self) -> usize {
        self.cols
    }
    /// Per-entry overlap losses (weighted, times lambda_overlap), row-major: the
    /// `reduction = none` output.
    pub fn values(&self) -> &[f64] {
        &self.values
    }
    /// The total loss: the reduced overlap term plus the elementwise term (for
    /// `reduction = none`, the sum of the values).
    pub fn loss(&self) -> f64 {
        self.overlap_loss + self.pointwise_loss + self.temporal_loss
    }
    /// The temporal-consistency term of the total (after its lambda).
    pub fn temporal_loss(&self) -> f64 {
        self.temporal_loss
    }
    /// The overlap term of the total (after lambda_overlap).
    pub fn overlap_loss(&self) -> f64 {
        self.overlap_loss
    }
    /// The elementwise term of the total (after its lambda).
    pub fn pointwise_loss(&self) -> f64 {
        self.pointwise_loss
    }

    /// Chain rule through the reduction. `upstream`: for mean/sum, one value scaling the
    /// total's gradient; for none, one value per entry. `None` means ones.
    pub fn coefficients(&self, upstream: Option<&[f64]>) -> Result<Coefficients> {
        let n = self.values.len();
        let per_entry = self.reduction == Reduction::None;
        let expected = if per_entry { n } else { 1 };
        if let Some(u) = upstream
            && u.len() != expected
        {
            return Err(DiceError::UpstreamLength { expected, got: u.len() });
        }
        let up = |e: usize| match upstream {
            None => self.reduce[e],
            Some(u) if per_entry => u[e],
            Some(u) => u[0] * self.reduce[e],
        };
        let (mut d_inter, mut d_pred) =
            (Vec::with_capacity(self.cells.len()), Vec::with_capacity(self.cells.len()));
        for &(e, f) in &self.cells {
            let u = up(e);
            // an entry outside the subset has no gradient, even where its value is NaN
            let (di, dp) = if u == 0.0 {
                (0.0, 0.0)
            } else {
                (self.d_entry[e].0 * u * f, self.d_entry[e].1 * u * f)
            };
            d_inter.push(di);
            d_pred.push(dp);
        }
        let u = upstream.map_or(1.0, |u| if per_entry { 1.0 } else { u[0] });
        Ok(Coefficients {
            rows: self.cell_rows,
            classes: self.classes,
            d_inter,
            d_pred,
            pointwise: self.pointwise_scale * u,
            temporal: 2.0 * self.temporal_scale * u,
        })
    }
}
