//! Hard decisions per (batch item, class, voxel): integer label maps, binary or one-hot masks,
//! or probabilities/logits decided by argmax over C or by a threshold. Read in place, one row
//! (a run along the last spatial axis) at a time; label maps are never expanded to one-hot.

use crate::error::{DiceError, Result};
use crate::float::Float;
use crate::limits;
use crate::target::{Label, Labels};
use crate::tensor::TensorView;

/// Most spatial axes of a tensor (rank 6 = N, C + 4).
pub(crate) const MAX_SPATIAL: usize = 4;

/// How probabilities (or logits) become decisions.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Rule {
    /// One class per voxel: the first channel holding the maximum (torch.argmax).
    Argmax,
    /// Every channel on its own: a member where value >= threshold (MONAI `AsDiscrete`).
    Threshold(f64),
}

/// A source of hard decisions.
#[derive(Clone, Copy, Debug)]
pub enum Decisions<'a> {
    /// Class indices shaped (N, 1, spatial...) or (N, spatial...), each in [0, C).
    Labels(Labels<'a>),
    /// Binary or one-hot masks (N, C, spatial...): nonzero is a member.
    Masks(TensorView<'a, u8>),
    /// f32 probabilities or logits (N, C, spatial...).
    F32(TensorView<'a, f32>, Rule),
    /// f64 probabilities or logits (N, C, spatial...).
    F64(TensorView<'a, f64>, Rule),
}

/// Batch, class count and spatial extents shared by the two sides of a metric call.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Grid {
    /// Batch items.
    pub items: usize,
    /// Classes.
    pub classes: usize,
    /// Spatial extents (1 to 4 axes).
    pub spatial: Vec<usize>,
}

impl Grid {
    /// Voxels per (item, class).
    pub fn voxels(&self) -> usize {
        self.spatial.iter().product()
    }
    /// Rows (runs along the last spatial axis) per (item, class).
    pub(crate) fn rows(&self) -> usize {
        self.spatial[..self.spatial.len() - 1].iter().product()
    }
    /// Length of a row.
    pub(crate) fn row_len(&self) -> usize {
        self.spatial[self.spatial.len() - 1]
    }
}

impl<'a> Decisions<'a> {
    /// (N, channels or None for a label map, spatial extents), with the rank checked. A label
    /// map is read as (N, 1, spatial...) when `label_channel_dim` and dim 1 is 1, else as
    /// (N, spatial...).
    fn geometry(
        &self,
        arg: &'static str,
        label_channel_dim: bool,
    ) -> Result<(usize, Option<usize>, Vec<usize>)> {
        let (shape, channel_dim) = match self {
            Decisions::Labels(l) => {
                let s = l.shape();
                (s.to_vec(), label_channel_dim && s.len() >= 3 && s[1] == 1)
            }
            Decisions::Masks(v) => (v.shape().to_vec(), true),
            Decisions::F32(v, _) => (v.shape().to_vec(), true),
            Decisions::F64(v, _) => (v.shape().to_vec(), true),
        };
        let spatial_from = if channel_dim { 2 } else { 1 };
        let spatial_rank = shape.len().saturating_sub(spatial_from);
        if !(1..=MAX_SPATIAL).contains(&spatial_rank) {
            let (min, max) = (spatial_from + 1, spatial_from + MAX_SPATIAL);
            return Err(DiceError::Rank { arg, rank: shape.len(), min, max });
        }
        if shape[0] == 0 {
            return Err(DiceError::EmptyDim { arg, dim: 0 });
        }
        let c = match self {
            Decisions::Labels(_) => None,
            _ => {
                if shape[1] == 0 {
                    return Err(DiceError::EmptyDim { arg, dim: 1 });
                }
                Some(shape[1])
            }
        };
        Ok((shape[0], c, shape[spatial_from..].to_vec()))
    }

    /// True when every voxel belongs to exactly one class (label maps and argmax).
    pub(crate) fn exclusive(&self) -> bool {
        matches!(
            self,
            Decisions::Labels(_)
                | Decisions::F32(_, Rule::Argmax)
                | Decisions::F64(_, Rule::Argmax)
        )
    }

    /// Checks the options (a threshold must not be NaN).
    fn check_rule(&self, arg: &'static str) -> Result<()> {
        match self {
            Decisions::F32(_, Rule::Threshold(t)) | Decisions::F64(_, Rule::Threshold(t))
                if t.is_nan() =>
            {
                Err(DiceError::NotANumber { arg })
            }
            _ => Ok(()),
        }
    }
}

/// Validates a (prediction, ground truth) pair and returns their common grid. `classes` is
/// required (non-zero) when both sides are label maps; otherwise 0 means "the channel count",
/// and a non-zero value must equal it.
pub fn pair_grid(pred: &Decisions<'_>, gt: &Decisions<'_>, classes: usize) -> Result<Grid> {
    pred.check_rule("pred")?;
    gt.check_rule("gt")?;
    // A label map shaped (N, 1, ...) may also be (N, spatial...) with a leading extent 1:
    // take the reading that matches the other side.
    let mut found = None;
    for (a, b) in [(true, true), (true, false), (false, true), (false, false)] {
        let (p, g) = (pred.geometry("pred", a), gt.geometry("gt", b));
        if let (Ok(p), Ok(g)) = (&p, &g)
            && p.0 == g.0
            && p.2 == g.2
        {
            found = Some((p.clone(), g.clone()));
            break;
        }
    }
    let ((np, cp, sp), (ng, cg, sg)) = match found {
        Some(x) => x,
        None => (pred.geometry("pred", true)?, gt.geometry("gt", true)?),
    };
    if np != ng || sp != sg {
        let mut e = vec![np];
        e.extend(&sp);
        let mut g = vec![ng];
        g.extend(&sg);
        return Err(DiceError::ShapeMismatch { arg: "gt", expected: e, got: g });
    }
    let mut c = classes;
    for (arg, ch) in [("pred", cp), ("gt", cg)] {
        if let Some(ch) = ch {
            if c == 0 {
                c = ch;
            } else if c != ch {
                return Err(DiceError::ShapeMismatch { arg, expected: vec![c], got: vec![ch] });
            }
        }
    }
    if c == 0 {
        return Err(DiceError::BadOption {
            name: "classes",
            reason: "required (> 0) when both sides are label maps",
        });
    }
    limits::check_classes("classes", c)?;
    // Every (item, class, voxel) index fits a usize (broadcast views can be larger than memory).
    limits::product("pred", &[&[np, c][..], &sp].concat())?;
    Ok(Grid { items: np, classes: c, spatial: sp })
}

/// Reads rows of one side. Offsets were validated when the views were built.
pub(crate) struct Reader<'a> {
    /// The argument this side is, for messages ("pred", "gt").
    pub(crate) arg: &'static str,
    src: Decisions<'a>,
    classes: usize,
    spatial: Vec<usize>,
    /// Strides: item, channel (0 for label maps), spatial axes.
    sn: isize,
    sc: isize,
    ss: Vec<isize>,
}

impl<'a> Reader<'a> {
    pub(crate) fn new(arg: &'static str, src: Decisions<'a>, grid: &Grid) -> Self {
        let strides: Vec<isize> = match &src {
            Decisions::Labels(l) => labels_strides(l),
            Decisions::Masks(v) => v.layout().strides().to_vec(),
            Decisions::F32(v, _) => v.layout().strides().to_vec(),
            Decisions::F64(v, _) => v.layout().strides().to_vec(),
        };
        let k = grid.spatial.len();
        let ss = strides[strides.len() - k..].to_vec();
        let sc = if strides.len() == k + 2 { strides[1] } else { 0 };
        Reader {
            arg,
            src,
            classes: grid.classes,
            spatial: grid.spatial.clone(),
            sn: strides[0],
            sc,
            ss,
        }
    }

    /// Offset of the first voxel of row `r` of item `n`, channel `c`, relative to the base.
    fn row_offset(&self, n: usize, c: usize, r: usize) -> isize {
        n as isize * self.sn + c as isize * self.sc + row_offset(&self.spatial, &self.ss, r)
    }

    /// Rows `r .. r + rows` of item `n` (channel `c` for masks) as one contiguous byte slice,
    /// when the source is a u8 label map or u8 masks with unit stride along the last axis and
    /// (for more than one row) C-contiguous spatial axes: the fast path.
    pub(crate) fn u8_rows(&self, n: usize, c: usize, r: usize, rows: usize) -> Option<&'a [u8]> {
        let view = match &self.src {
            Decisions::Labels(Labels::U8(v)) | Decisions::Masks(v) => v,
            _ => return None,
        };
        if self.ss[self.ss.len() - 1] != 1 || (rows > 1 && !self.rows_contiguous()) {
            return None;
        }
        let start = (view.base() as isize + self.row_offset(n, c, r)) as usize;
        let len = self.spatial[self.spatial.len() - 1];
        Some(&view.data()[start..start + len * rows])
    }

    /// True for u8 masks (nonzero is a member).
    pub(crate) fn is_masks(&self) -> bool {
        matches!(self.src, Decisions::Masks(_))
    }

    /// True when consecutive rows follow each other in memory (C-contiguous spatial axes).
    pub(crate) fn rows_contiguous(&self) -> bool {
        let k = self.spatial.len();
        (0..k).all(|d| self.ss[d] == self.spatial[d + 1..].iter().product::<usize>() as isize)
    }

    /// Class index of every voxel of row `r` (label maps and argmax only).
    pub(crate) fn classes_row(&self, n: usize, r: usize, out: &mut [u32]) -> Result<()> {
        let off = self.row_offset(n, 0, r);
        let step = self.ss[self.ss.len() - 1];
        match &self.src {
            Decisions::Labels(l) => match l {
                Labels::U8(v) => label_row(self.arg, v, off, step, self.classes, out),
                Labels::U16(v) => label_row(self.arg, v, off, step, self.classes, out),
                Labels::I32(v) => label_row(self.arg, v, off, step, self.classes, out),
                Labels::I64(v) => label_row(self.arg, v, off, step, self.classes, out),
            },
            Decisions::F32(v, _) => argmax_row(v, off, step, self.sc, self.classes, out),
            Decisions::F64(v, _) => argmax_row(v, off, step, self.sc, self.classes, out),
            Decisions::Masks(_) => unreachable!("masks are not exclusive"),
        }
    }

    /// Membership (0 or 1) of every voxel of row `r` in class `c`. `scratch` holds a row of
    /// class indices for exclusive sources.
    pub(crate) fn member_row(
        &self,
        n: usize,
        c: usize,
        r: usize,
        scratch: &mut [u32],
        out: &mut [u8],
    ) -> Result<()> {
        // Byte rows with unit stride: one vectorisable map.
        match &self.src {
            Decisions::Masks(_) => {
                if let Some(row) = self.u8_rows(n, c, r, 1) {
                    out.iter_mut().zip(row).for_each(|(o, &b)| *o = (b != 0) as u8);
                    return Ok(());
                }
            }
            Decisions::Labels(Labels::U8(_)) => {
                if let Some(row) = self.u8_rows(n, 0, r, 1) {
                    let max = row.iter().copied().fold(0, u8::max);
                    if max as usize >= self.classes {
                        return Err(DiceError::LabelOutOfRange {
                            arg: self.arg,
                            value: max as i64,
                            classes: self.classes,
                        });
                    }
                    out.iter_mut().zip(row).for_each(|(o, &b)| *o = (b as usize == c) as u8);
                    return Ok(());
                }
            }
            _ => {}
        }
        let step = self.ss[self.ss.len() - 1];
        match &self.src {
            Decisions::Masks(v) => {
                let off = self.row_offset(n, c, r);
                let (data, base) = (v.data(), v.base() as isize + off);
                for (x, o) in out.iter_mut().enumerate() {
                    *o = (data[(base + x as isize * step) as usize] != 0) as u8;
                }
                Ok(())
            }
            Decisions::F32(v, Rule::Threshold(t)) => {
                threshold_row(v, self.row_offset(n, c, r), step, *t, out)
            }
            Decisions::F64(v, Rule::Threshold(t)) => {
                threshold_row(v, self.row_offset(n, c, r), step, *t, out)
            }
            _ => {
                self.classes_row(n, r, scratch)?;
                for (o, &k) in out.iter_mut().zip(scratch.iter()) {
                    *o = (k as usize == c) as u8;
                }
                Ok(())
            }
        }
    }
}

/// Offset of the first voxel of row `r` (row-major over all spatial axes but the last) for
/// spatial extents `spatial` and strides `ss`.
pub(crate) fn row_offset(spatial: &[usize], ss: &[isize], r: usize) -> isize {
    let mut off = 0isize;
    let mut rest = r;
    for d in (0..spatial.len() - 1).rev() {
        off += (rest % spatial[d]) as isize * ss[d];
        rest /= spatial[d];
    }
    off
}

/// Strides of a label map as (N, [1,] spatial...), the channel stride (if any) kept in place.
fn labels_strides(l: &Labels<'_>) -> Vec<isize> {
    match l {
        Labels::U8(v) => v.layout().strides().to_vec(),
        Labels::U16(v) => v.layout().strides().to_vec(),
        Labels::I32(v) => v.layout().strides().to_vec(),
        Labels::I64(v) => v.layout().strides().to_vec(),
    }
}

fn label_row<L: Label>(
    arg: &'static str,
    v: &TensorView<'_, L>,
    off: isize,
    step: isize,
    classes: usize,
    out: &mut [u32],
) -> Result<()> {
    let (data, base) = (v.data(), v.base() as isize + off);
    let mut bad = None;
    for (x, o) in out.iter_mut().enumerate() {
        let l = data[(base + x as isize * step) as usize].to_i64();
        if l < 0 || l as u64 >= classes as u64 {
            bad = Some(l);
        }
        *o = l as u32;
    }
    match bad {
        Some(value) => Err(DiceError::LabelOutOfRange { arg, value, classes }),
        None => Ok(()),
    }
}

fn argmax_row<T: Float>(
    v: &TensorView<'_, T>,
    off: isize,
    step: isize,
    sc: isize,
    classes: usize,
    out: &mut [u32],
) -> Result<()> {
    let (data, base) = (v.data(), v.base() as isize + off);
    for (x, o) in out.iter_mut().enumerate() {
        let at = base + x as isize * step;
        let mut best = data[at as usize];
        let mut arg = 0u32;
        let mut nan = best.to_f64().is_nan();
        for c in 1..classes {
            let val = data[(at + c as isize * sc) as usize];
            nan |= val.to_f64().is_nan();
            if val > best {
                best = val;
                arg = c as u32;
            }
        }
        if nan {
            return Err(DiceError::NotANumber { arg: "pred" });
        }
        *o = arg;
    }
    Ok(())
}

fn threshold_row<T: Float>(
    v: &TensorView<'_, T>,
    off: isize,
    step: isize,
    t: f64,
    out: &mut [u8],
) -> Result<()> {
    let (data, base) = (v.data(), v.base() as isize + off);
    for (x, o) in out.iter_mut().enumerate() {
        let p = data[(base + x as isize * step) as usize].to_f64();
        if p.is_nan() {
            return Err(DiceError::NotANumber { arg: "pred" });
        }
        *o = (p >= t) as u8;
    }
    Ok(())
}
