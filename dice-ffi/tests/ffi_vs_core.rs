//! The C entry points (called from Rust through the rlib) agree with dice-core called
//! directly, over options, dtypes, label types and strided layouts.

use dice::*;
use dice_core::{
    Activation, Context, DiceOptions, Labels, Reduction, Target, TensorView, TensorViewMut,
};

/// A descriptor of a read-only buffer (the library never writes through input or target).
fn tensor<T>(
    data: &[T],
    dtype: DiceDataType,
    shape: &[i64],
    strides: Option<&[i64]>,
) -> DiceTensor {
    raw(data.as_ptr().cast_mut().cast(), dtype, shape, strides)
}

fn raw(
    data: *mut std::ffi::c_void,
    dtype: DiceDataType,
    shape: &[i64],
    strides: Option<&[i64]>,
) -> DiceTensor {
    DiceTensor {
        data,
        device: DiceDevice { device_type: DICE_DEVICE_CPU, device_id: 0 },
        ndim: shape.len() as i32,
        dtype,
        shape: shape.as_ptr(),
        strides: strides.map_or(std::ptr::null(), |s| s.as_ptr()),
        byte_offset: 0,
    }
}

const F32: DiceDataType = DiceDataType { code: DICE_DTYPE_FLOAT, bits: 32, lanes: 1 };
const F64: DiceDataType = DiceDataType { code: DICE_DTYPE_FLOAT, bits: 64, lanes: 1 };
const I32: DiceDataType = DiceDataType { code: DICE_DTYPE_INT, bits: 32, lanes: 1 };

/// Deterministic pseudo-random values in [-2, 2).
fn values(n: usize, seed: u64) -> Vec<f64> {
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..n)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 11) as f64 / (1u64 << 53) as f64 * 4.0 - 2.0
        })
        .collect()
}

fn c_opts(o: &DiceOptions) -> DiceLossOptions {
    let mut c = std::mem::MaybeUninit::<DiceLossOptions>::uninit();
    // SAFETY: writable for size_of::<DiceLossOptions>() bytes.
    let st = unsafe { dice_loss_options_init(c.as_mut_ptr(), size_of::<DiceLossOptions>()) };
    assert_eq!(st, DiceStatus::Ok);
    // SAFETY: fully initialised by dice_loss_options_init.
    let mut c = unsafe { c.assume_init() };
    c.activation = match o.activation {
        Activation::None => DiceActivation::None,
        Activation::Sigmoid => DiceActivation::Sigmoid,
        Activation::Softmax => DiceActivation::Softmax,
    } as i32;
    c.reduction = match o.reduction {
        Reduction::Mean => DiceReduction::Mean,
        Reduction::Sum => DiceReduction::Sum,
        Reduction::None => DiceReduction::None,
    } as i32;
    c.include_background = o.include_background as u8;
    c.squared_pred = o.squared_pred as u8;
    c.jaccard = o.jaccard as u8;
    c.batch = o.batch as u8;
    c.smooth_nr = o.smooth_nr;
    c.smooth_dr = o.smooth_dr;
    c.weight = if o.weight.is_empty() { std::ptr::null() } else { o.weight.as_ptr() };
    c.weight_len = o.weight.len();
    c.has_ignore_index = o.ignore_index.is_some() as u8;
    c.ignore_index = o.ignore_index.unwrap_or(0);
    c.soft_label = o.soft_label as u8;
    c
}

fn option_grid() -> Vec<DiceOptions> {
    let mut out = Vec::new();
    for (i, act) in
        [Activation::None, Activation::Sigmoid, Activation::Softmax].into_iter().enumerate()
    {
        for red in [Reduction::Mean, Reduction::Sum, Reduction::None] {
            out.push(DiceOptions {
                activation: act,
                reduction: red,
                include_background: i != 1,
                jaccard: red == Reduction::Sum,
                squared_pred: i == 2,
                batch: red == Reduction::None,
                weight: if i == 0 { vec![0.5, 1.0, 2.0] } else { vec![] },
                ..Default::default()
            });
        }
    }
    out
}

#[test]
fn labels_f64_strided_matches_core() {
    let (n, c, h, w) = (2usize, 3usize, 5usize, 7usize);
    let shape = [n as i64, c as i64, h as i64, w as i64];
    // Input stored as (N, H, W, C) and viewed as (N, C, H, W): channels-last strides.
    let strides = [(h * w * c) as i64, 1, (w * c) as i64, c as i64];
    let input = values(n * c * h * w, 3);
    let labels: Vec<i32> = values(n * h * w, 4).iter().map(|v| ((v + 2.0) * 0.75) as i32).collect();
    let lshape = [n as i64, h as i64, w as i64];
    let core_in = TensorView::new(
        "input",
        &input,
        0,
        &[n, c, h, w],
        &[(h * w * c) as isize, 1, (w * c) as isize, c as isize],
    )
    .unwrap();
    let core_t =
        Target::Labels(Labels::I32(TensorView::contiguous("target", &labels, &[n, h, w]).unwrap()));
    let ctx = Context::single();
    for o in option_grid() {
        let co = c_opts(&o);
        let ti = tensor(&input, F64, &shape, Some(&strides));
        let tt = tensor(&labels, I32, &lshape, None);
        let mut grad = vec![0.0f64; input.len()];
        let tg = raw(grad.as_mut_ptr().cast(), F64, &shape, Some(&strides));
        let mut loss = 0.0;
        let (mut rows, mut classes) = (0, 0);
        // SAFETY: all pointers reference live buffers of the described sizes.
        unsafe {
            assert_eq!(dice_loss_shape(&ti, &co, &mut rows, &mut classes), DiceStatus::Ok);
        }
        let mut vals = vec![0.0; rows * classes];
        // SAFETY: as above; grad is disjoint from input and target.
        let st = unsafe {
            dice_loss_grad(
                std::ptr::null(),
                &ti,
                &tt,
                &co,
                std::ptr::null(),
                0,
                &tg,
                &mut loss,
                vals.as_mut_ptr(),
                vals.len(),
            )
        };
        assert_eq!(st, DiceStatus::Ok, "{o:?}");
        let mut core_grad = vec![0.0f64; input.len()];
        let mut cg = TensorViewMut::new(
            "grad",
            &mut core_grad,
            0,
            &[n, c, h, w],
            &[(h * w * c) as isize, 1, (w * c) as isize, c as isize],
        )
        .unwrap();
        let fin = dice_core::dice_loss_grad(&ctx, &core_in, &core_t, &o, None, &mut cg).unwrap();
        assert_eq!(loss.to_bits(), fin.loss().to_bits(), "{o:?}");
        assert_eq!(vals, fin.values(), "{o:?}");
        grad.iter()
            .zip(&core_grad)
            .for_each(|(a, b)| assert_eq!(a.to_bits(), b.to_bits(), "{o:?}"));
    }
}

#[test]
fn dense_f32_matches_core() {
    let shape_u = [2usize, 3, 4, 3, 5];
    let shape: Vec<i64> = shape_u.iter().map(|&e| e as i64).collect();
    let count: usize = shape_u.iter().product();
    let input: Vec<f32> = values(count, 5).iter().map(|&v| v as f32).collect();
    let target: Vec<f32> = values(count, 6).iter().map(|&v| ((v + 2.0) / 4.0) as f32).collect();
    let core_in = TensorView::contiguous("input", &input, &shape_u).unwrap();
    let core_t = Target::Dense(TensorView::contiguous("target", &target, &shape_u).unwrap());
    let ctx = Context::single();
    for mut o in option_grid() {
        o.soft_label = o.activation == Activation::Sigmoid;
        let co = c_opts(&o);
        let (ti, tt) = (tensor(&input, F32, &shape, None), tensor(&target, F32, &shape, None));
        let mut loss = 0.0;
        let mut stats = vec![0.0; 2 * 3 * 3];
        // SAFETY: live buffers of the described sizes.
        let st = unsafe {
            dice_loss(std::ptr::null(), &ti, &tt, &co, &mut loss, std::ptr::null_mut(), 0)
        };
        assert_eq!(st, DiceStatus::Ok, "{o:?}");
        let fin = dice_core::dice_loss(&ctx, &core_in, &core_t, &o).unwrap();
        assert_eq!(loss.to_bits(), fin.loss().to_bits(), "{o:?}");
        let kept = if o.include_background { 3 } else { 2 };
        stats.truncate(2 * kept * 3);
        // SAFETY: as above.
        let st =
            unsafe { dice_stats(std::ptr::null(), &ti, &tt, &co, stats.as_mut_ptr(), stats.len()) };
        assert_eq!(st, DiceStatus::Ok, "{o:?}");
        assert_eq!(
            stats,
            dice_core::dice_stats(&ctx, &core_in, &core_t, &o)
                .unwrap()
                .flat(false)
                .collect::<Vec<f64>>()
        );
    }
}
