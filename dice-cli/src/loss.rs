//! The `loss` command: a Dice-family loss of dice-core (and its gradient) on .npy logits or
//! probabilities and an integer label map.

use crate::args::{LossArgs, LossKind, ReductionArg};
use crate::volume::read_labels;
use dice_core::{
    Activation, Context, DiceOptions, Float, GdlWeight, Labels, LossForm, Overlap, Reduction,
    Target, TensorView, TensorViewMut, dice_loss, dice_loss_grad,
};
use npyz::WriterBuilder;
use std::fs::File;
use std::io::{BufReader, BufWriter};
use std::path::Path;

pub fn options_of(a: &LossArgs) -> DiceOptions {
    let mut o = DiceOptions {
        activation: if a.softmax {
            Activation::Softmax
        } else if a.sigmoid {
            Activation::Sigmoid
        } else {
            Activation::None
        },
        include_background: a.include_background,
        squared_pred: a.squared_pred,
        smooth_nr: a.smooth_nr,
        smooth_dr: a.smooth_dr,
        batch: a.batch,
        reduction: match a.reduction {
            ReductionArg::Mean => Reduction::Mean,
            ReductionArg::Sum => Reduction::Sum,
            ReductionArg::None => Reduction::None,
        },
        ..Default::default()
    };
    match a.loss {
        LossKind::Dice => {}
        LossKind::Jaccard => o.jaccard = true,
        LossKind::Tversky => o.overlap = Overlap::Tversky { alpha: a.alpha, beta: a.beta },
        LossKind::FocalTversky => {
            o.overlap = Overlap::Tversky { alpha: a.alpha, beta: a.beta };
            o.gamma = a.gamma;
        }
        LossKind::GeneralizedDice => o.overlap = Overlap::Generalized(GdlWeight::Square),
        LossKind::LogCoshDice => o.form = LossForm::LogCosh,
    }
    o
}

/// The input array: its shape and its values in f32 or f64.
enum Input {
    F32(Vec<f32>),
    F64(Vec<f64>),
}

fn read_input(path: &Path) -> Result<(Vec<usize>, Input), String> {
    let name = path.display().to_string();
    let file = File::open(path).map_err(|e| format!("{name}: cannot open: {e}"))?;
    let npy = npyz::NpyFile::new(BufReader::new(file))
        .map_err(|e| format!("{name}: not a valid .npy file: {e}"))?;
    if npy.order() == npyz::Order::Fortran {
        return Err(format!(
            "{name}: Fortran-ordered arrays are not supported (save with np.ascontiguousarray)"
        ));
    }
    let shape: Vec<usize> = npy.shape().iter().map(|&d| d as usize).collect();
    let npyz::DType::Plain(ty) = npy.dtype() else {
        return Err(format!("{name}: structured arrays are not supported"));
    };
    let bad = |e: std::io::Error| format!("{name}: cannot read the array data: {e}");
    let data = match (ty.type_char(), ty.size_field()) {
        (npyz::TypeChar::Float, 4) => Input::F32(npy.into_vec::<f32>().map_err(bad)?),
        (npyz::TypeChar::Float, 8) => Input::F64(npy.into_vec::<f64>().map_err(bad)?),
        _ => return Err(format!("{name}: dtype {ty}: the input must be float32 or float64")),
    };
    Ok((shape, data))
}

/// Transposes C-order values of `shape` (reversed NIfTI order z, y, x) to `shape` reversed.
fn reverse_axes(values: &[u16], shape: &[usize]) -> Vec<u16> {
    let rank = shape.len();
    let mut strides = vec![1usize; rank];
    for a in (0..rank.saturating_sub(1)).rev() {
        strides[a] = strides[a + 1] * shape[a + 1];
    }
    let rshape: Vec<usize> = shape.iter().rev().copied().collect();
    let rstrides: Vec<usize> = strides.iter().rev().copied().collect();
    let mut out = Vec::with_capacity(values.len());
    let mut idx = vec![0usize; rank];
    for _ in 0..values.len() {
        out.push(values[idx.iter().zip(&rstrides).map(|(i, s)| i * s).sum::<usize>()]);
        for a in (0..rank).rev() {
            idx[a] += 1;
            if idx[a] < rshape[a] {
                break;
            }
            idx[a] = 0;
        }
    }
    out
}

fn write_grad<T: npyz::AutoSerialize + Copy>(
    path: &Path,
    shape: &[usize],
    data: &[T],
) -> Result<(), String> {
    let tmp = path.with_extension("npy.tmp");
    let write = || -> std::io::Result<()> {
        let file = BufWriter::new(File::create(&tmp)?);
        let dims: Vec<u64> = shape.iter().map(|&d| d as u64).collect();
        let mut w =
            npyz::WriteOptions::new().default_dtype().shape(&dims).writer(file).begin_nd()?;
        w.extend(data.iter().copied())?;
        w.finish()?;
        std::fs::rename(&tmp, path)
    };
    write().map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        format!("cannot write {}: {e}", path.display())
    })
}

fn compute<T: Float + npyz::AutoSerialize>(
    a: &LossArgs,
    ctx: &Context,
    shape: &[usize],
    input: &[T],
    labels: &[u16],
) -> Result<(), String> {
    let opts = options_of(a);
    let lib = |e: dice_core::DiceError| format!("dice-core: {e}");
    let view = TensorView::contiguous("input", input, shape).map_err(lib)?;
    let mut lshape = shape.to_vec();
    lshape[1] = 1;
    let target_view = TensorView::contiguous("target", labels, &lshape).map_err(lib)?;
    let target: Target<'_, T> = Target::Labels(Labels::U16(target_view));
    let out = match &a.grad {
        None => dice_loss(ctx, &view, &target, &opts).map_err(lib)?,
        Some(path) => {
            let mut g = vec![T::default(); input.len()];
            let out = {
                let mut gv = TensorViewMut::contiguous("grad", &mut g, shape).map_err(lib)?;
                dice_loss_grad(ctx, &view, &target, &opts, None, &mut gv).map_err(lib)?
            };
            write_grad(path, shape, &g)?;
            out
        }
    };
    println!("loss {:?}: {}", a.loss, out.loss());
    if a.reduction == ReductionArg::None {
        let per: Vec<String> = out.values().iter().map(|v| format!("{v}")).collect();
        println!("per entry ({} x {}): {}", out.rows(), out.cols(), per.join(" "));
    }
    if let Some(p) = &a.grad {
        println!("gradient written to {}", p.display());
    }
    Ok(())
}

pub fn run(a: &LossArgs) -> Result<(), String> {
    let (shape, input) = read_input(&a.input)?;
    if shape.len() < 3 {
        return Err(format!(
            "{}: shape {shape:?}: the input must be (N, C, spatial...)",
            a.input.display()
        ));
    }
    let vol =
        read_labels(&a.target, u16::MAX).map_err(|e| format!("{}: {e}", a.target.display()))?;
    let labels = if vol.reversed_axes { reverse_axes(&vol.labels, &vol.shape) } else { vol.labels };
    let (n, spatial) = (shape[0], &shape[2..]);
    if labels.len() != n * spatial.iter().product::<usize>() {
        return Err(format!(
            "{}: {} labels do not fit the input's N x spatial = {n} x {spatial:?}",
            a.target.display(),
            labels.len()
        ));
    }
    let ctx = Context::new(a.threads).map_err(|e| format!("--threads: {e}"))?;
    match input {
        Input::F32(v) => compute(a, &ctx, &shape, &v, &labels),
        Input::F64(v) => compute(a, &ctx, &shape, &v, &labels),
    }
}
