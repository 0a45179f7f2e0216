//! The loss entry points: one-call forward / forward+backward, and the three steps
//! (stats -> finalize -> backward-from-stats) for data-parallel training and tiled volumes.
//!
//! Common contract: every pointer argument is NULL or valid as documented; tensors follow the
//! DiceTensor contract; input is float32/float64 (N, C, spatial...) of ndim 3..=6; target
//! is dense (input's dtype and shape) or labels (uint8/bool/uint16/int32/int64, shaped
//! (N, 1, spatial...) or (N, spatial...)); opts.loss_mask, when set, has the input's dtype and
//! is shaped (N, 1, spatial...) or (N, spatial...); grad has the input's dtype and shape and
//! must not overlap input, target or loss-mask memory. Outputs are written only when DICE_STATUS_OK is returned.

use dice_core::{Context, DiceOptions, Finalized, Float, Stats};

use crate::context::{DiceContext, resolve};
use crate::options::{self, DiceLossOptions};
use crate::status::{DiceStatus, FfiResult, fail, guard};
use crate::tensor::{self, DiceTensor, InputKind, Parsed};

/// Copies `len` doubles from a caller pointer (NULL allowed only when len == 0).
///
/// # Safety
/// `ptr` must be NULL or readable for `len` doubles.
unsafe fn read_f64s(name: &'static str, ptr: *const f64, len: usize) -> FfiResult<Vec<f64>> {
    if len == 0 {
        return Ok(Vec::new());
    }
    if ptr.is_null() {
        return fail(DiceStatus::NullPointer, format!("{name} is NULL with {name}_len = {len}"));
    }
    if len > isize::MAX as usize / 8 {
        return fail(DiceStatus::BadLength, format!("{name}_len = {len} is implausible"));
    }
    let mut v = dice_core::limits::with_capacity(name, len)?;
    // SAFETY: readable for len doubles by contract; unaligned reads need no alignment.
    v.extend((0..len).map(|i| unsafe { ptr.add(i).read_unaligned() }));
    Ok(v)
}

/// Writes the values of `src` to a caller pointer, in order.
///
/// # Safety
/// `ptr` must be writable for as many doubles as `src` yields.
unsafe fn write_f64s(ptr: *mut f64, src: impl IntoIterator<Item = f64>) {
    for (i, v) in src.into_iter().enumerate() {
        // SAFETY: writable for that many doubles by contract.
        unsafe { ptr.add(i).write_unaligned(v) };
    }
}

fn need<T>(name: &str, p: *const T) -> FfiResult<()> {
    if p.is_null() { fail(DiceStatus::NullPointer, format!("{name} is NULL")) } else { Ok(()) }
}

/// (rows, values per row) of the loss values for this input shape, when the rank allows.
fn entries(input: &Parsed, opts: &DiceOptions) -> Option<(usize, usize)> {
    if input.rank < 2 {
        return None;
    }
    let (n, c) = (input.shape[0], input.shape[1]);
    if n == 0 || c == 0 {
        return None; // dice-core reports the empty dimension
    }
    Some(opts.value_shape(&input.shape[..input.rank]))
}

fn check_len(name: &str, got: usize, expected: usize, what: &str) -> FfiResult<()> {
    if got != expected {
        return fail(
            DiceStatus::BadLength,
            format!("{name} = {got}, expected {expected} ({what})"),
        );
    }
    Ok(())
}

/// Checks values_len against the loss's entry count when values_out is wanted.
fn check_values(
    values_out: *const f64,
    values_len: usize,
    expected: Option<(usize, usize)>,
) -> FfiResult<()> {
    match expected {
        Some((r, c)) if !values_out.is_null() => match r.checked_mul(c) {
            Some(count) => check_len(
                "values_len",
                values_len,
                count,
                &format!("{r} rows x {c} values per row"),
            ),
            None => fail(
                DiceStatus::BadLength,
                format!("values_len: {r} rows x {c} values per row overflows"),
            ),
        },
        _ => Ok(()),
    }
}

/// Parsed input and target plus resolved context and options.
struct Call<'a> {
    ctx: &'a Context,
    opts: DiceOptions,
    input: Parsed,
    target: Parsed,
    /// opts.loss_mask, checked to have the input's dtype.
    mask: Option<Parsed>,
    kind: InputKind,
}

/// # Safety
/// Pointer arguments as in the module contract.
unsafe fn prepare<'a>(
    ctx: *const DiceContext,
    input: *const DiceTensor,
    target: *const DiceTensor,
    opts: *const DiceLossOptions,
) -> FfiResult<Call<'a>> {
    // SAFETY: (all four) forwarded contracts of the entry point.
    let (opts, mask) = unsafe { options::read_with_mask(opts) }?;
    // SAFETY: as above.
    let input = unsafe { tensor::parse("input", input) }?;
    // SAFETY: as above.
    let target = unsafe { tensor::parse("target", target) }?;
    let kind = tensor::input_kind(&input)?;
    let mask = if mask.is_null() {
        None
    } else {
        // SAFETY: as above (opts.loss_mask is a DiceTensor by the options contract).
        let m = unsafe { tensor::parse("loss_mask", mask) }?;
        if m.dtype != input.dtype {
            return fail(
                DiceStatus::BadDtype,
                format!(
                    "loss_mask: dtype {} must match the input's {}",
                    tensor::dtype_name(m.dtype),
                    tensor::dtype_name(input.dtype)
                ),
            );
        }
        Some(m)
    };
    // SAFETY: as above.
    let ctx = unsafe { resolve(ctx) }?;
    Ok(Call { ctx, opts, input, target, mask, kind })
}

/// The loss mask's view, when there is one.
///
/// # Safety
/// As for `loss_t`.
unsafe fn mask_view<'a, T: Float>(
    call: &Call<'_>,
) -> FfiResult<Option<dice_core::TensorView<'a, T>>> {
    // SAFETY: the mask has the input's dtype (checked in prepare), so T matches; contract forwarded.
    call.mask.as_ref().map(|m| unsafe { tensor::view::<T>(m) }).transpose()
}

/// Parses the gradient and checks its dtype and that it shares no memory with the inputs
/// (input, target, loss mask).
///
/// # Safety
/// `grad` as in the module contract.
unsafe fn prepare_grad(call: &Call<'_>, grad: *const DiceTensor) -> FfiResult<Parsed> {
    // SAFETY: forwarded contract.
    unsafe { prepare_output(call, "grad", grad) }
}

/// As `prepare_grad`, for an output named `arg`.
///
/// # Safety
/// `grad` as in the module contract.
unsafe fn prepare_output(
    call: &Call<'_>,
    arg: &'static str,
    grad: *const DiceTensor,
) -> FfiResult<Parsed> {
    // SAFETY: forwarded contract.
    let g = unsafe { tensor::parse(arg, grad) }?;
    tensor::check_grad_dtype(&call.input, &g)?;
    for other in [Some(&call.input), Some(&call.target), call.mask.as_ref()].into_iter().flatten() {
        if g.overlaps(other) {
            let (a0, a1) = g.byte_range();
            let (b0, b1) = other.byte_range();
            return fail(
                DiceStatus::AliasedOutput,
                format!(
                    "{arg} (bytes [{a0:#x}, {a1:#x})) overlaps the memory of {} (bytes [{b0:#x}, {b1:#x}))",
                    other.arg
                ),
            );
        }
    }
    Ok(g)
}

/// Runs `$body` with `T` bound to the input's element type.
macro_rules! with_float {
    ($kind:expr, $t:ident => $body:expr) => {
        match $kind {
            InputKind::F32 => {
                type $t = f32;
                $body
            }
            InputKind::F64 => {
                type $t = f64;
                $body
            }
        }
    };
}

/// # Safety
/// `call` tensors honour the DiceTensor contract.
unsafe fn loss_t<T: Float>(call: &Call<'_>) -> FfiResult<Finalized> {
    // SAFETY: element type matches (kind dispatch); contract forwarded.
    let input = unsafe { tensor::view::<T>(&call.input) }?;
    // SAFETY: as above.
    let target = unsafe { tensor::target::<T>(&call.target, &call.input) }?;
    // SAFETY: as above.
    let mask = unsafe { mask_view::<T>(call) }?;
    Ok(dice_core::dice_loss_masked(call.ctx, &input, &target, mask.as_ref(), &call.opts)?)
}

/// # Safety
/// As for `loss_t`; `grad` passed `prepare_grad`.
unsafe fn loss_grad_t<T: Float>(
    call: &Call<'_>,
    grad: &Parsed,
    upstream: Option<&[f64]>,
) -> FfiResult<Finalized> {
    // SAFETY: element type matches; contract forwarded.
    let input = unsafe { tensor::view::<T>(&call.input) }?;
    // SAFETY: as above.
    let target = unsafe { tensor::target::<T>(&call.target, &call.input) }?;
    // SAFETY: grad has the input's dtype and shares no byte with input or target (checked in
    // prepare_grad); no other view of it exists.
    let mut g = unsafe { tensor::view_mut::<T>(grad) }?;
    // SAFETY: as for input.
    let mask = unsafe { mask_view::<T>(call) }?;
    Ok(dice_core::dice_loss_grad_masked(
        call.ctx,
        &input,
        &target,
        mask.as_ref(),
        &call.opts,
        upstream,
        &mut g,
    )?)
}

/// # Safety
/// As for `loss_t`.
unsafe fn stats_t<T: Float>(call: &Call<'_>) -> FfiResult<Stats> {
    // SAFETY: element type matches; contract forwarded.
    let input = unsafe { tensor::view::<T>(&call.input) }?;
    // SAFETY: as above.
    let target = unsafe { tensor::target::<T>(&call.target, &call.input) }?;
    // SAFETY: as above.
    let mask = unsafe { mask_view::<T>(call) }?;
    Ok(dice_core::dice_stats_masked(call.ctx, &input, &target, mask.as_ref(), &call.opts)?)
}

/// # Safety
/// As for `loss_grad_t`.
unsafe fn backward_t<T: Float>(
    call: &Call<'_>,
    grad: &Parsed,
    stats: &Stats,
    upstream: Option<&[f64]>,
) -> FfiResult<()> {
    let fin = dice_core::dice_finalize(stats, &call.opts)?;
    let coef = fin.coefficients(upstream)?;
    // SAFETY: element type matches; contract forwarded.
    let input = unsafe { tensor::view::<T>(&call.input) }?;
    // SAFETY: as above.
    let target = unsafe { tensor::target::<T>(&call.target, &call.input) }?;
    // SAFETY: as in loss_grad_t.
    let mut g = unsafe { tensor::view_mut::<T>(grad) }?;
    // SAFETY: as for input.
    let mask = unsafe { mask_view::<T>(call) }?;
    Ok(dice_core::dice_backward_masked(
        call.ctx,
        &input,
        &target,
        mask.as_ref(),
        &call.opts,
        &coef,
        &mut g,
    )?)
}

/// Writes loss and values (values only when wanted; lengths already checked).
///
/// # Safety
/// `loss_out` writable; `values_out` NULL or writable for fin.values().len() doubles.
unsafe fn write_outputs(
    fin: &Finalized,
    loss_out: *mut f64,
    values_out: *mut f64,
    values_len: usize,
) -> FfiResult<()> {
    if !values_out.is_null() {
        check_len("values_len", values_len, fin.values().len(), "loss entries")?;
        // SAFETY: writable for values_len == values().len() doubles by contract.
        unsafe { write_f64s(values_out, fin.values().iter().copied()) };
    }
    // SAFETY: non-NULL (checked by callers) and writable by contract.
    unsafe { loss_out.write_unaligned(fin.loss()) };
    Ok(())
}

/// (rows, values per row) of the loss values that dice_loss would produce for an input of
/// this shape and these options: rows = N (1 with batch); per row, C minus the background
/// when it is excluded, or 1 when the classes are summed first (Generalised Dice,
/// pool_classes). dice_stats produces N x kept classes entries (never pooled).
///
/// # Safety
/// Pointers NULL or valid (see the contract at the top of this header).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn dice_loss_shape(
    input: *const DiceTensor,
    opts: *const DiceLossOptions,
    rows_out: *mut usize,
    classes_out: *mut usize,
) -> DiceStatus {
    guard(|| {
        need("rows_out", rows_out)?;
        need("classes_out", classes_out)?;
        // SAFETY: forwarded contract.
        let opts = unsafe { options::read(opts) }?;
        // SAFETY: forwarded contract.
        let p = unsafe { tensor::parse("input", input) }?;
        let Some((r, c)) = entries(&p, &opts) else {
            if p.rank < 2 {
                return fail(DiceStatus::BadNdim, format!("input.ndim = {} is below 2", p.rank));
            }
            return fail(
                DiceStatus::BadShape,
                format!("input: N = {}, C = {} must be >= 1", p.shape[0], p.shape[1]),
            );
        };
        // SAFETY: both non-NULL and writable by contract.
        unsafe {
            rows_out.write_unaligned(r);
            classes_out.write_unaligned(c);
        }
        Ok(())
    })
}

/// Forward: the reduced loss in `*loss_out` (required) and, when `values_out` is not NULL,
/// the weighted per-entry losses (row-major rows x classes, see dice_loss_shape; values_len
/// must equal that count). `ctx` NULL = the default context; `opts` NULL = defaults.
///
/// # Safety
/// See the contract at the top of this header.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn dice_loss(
    ctx: *const DiceContext,
    input: *const DiceTensor,
    target: *const DiceTensor,
    opts: *const DiceLossOptions,
    loss_out: *mut f64,
    values_out: *mut f64,
    values_len: usize,
) -> DiceStatus {
    guard(|| {
        // SAFETY: forwarded contract.
        let call = unsafe { prepare(ctx, input, target, opts) }?;
        need("loss_out", loss_out)?;
        check_values(values_out, values_len, entries(&call.input, &call.opts))?;
        // SAFETY: forwarded contract (the macro picks the matching element type).
        let fin = with_float!(call.kind, T => unsafe { loss_t::<T>(&call) })?;
        // SAFETY: forwarded contract.
        unsafe { write_outputs(&fin, loss_out, values_out, values_len) }
    })
}

/// Forward and backward in one call: writes d(loss)/d(input) into `grad` and the loss as in
/// dice_loss. `upstream` (NULL = ones; upstream_len is then ignored) scales the gradient:
/// one value for mean/sum reductions, one per entry (rows x classes) for reduction none.
///
/// # Safety
/// See the contract at the top of this header.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn dice_loss_grad(
    ctx: *const DiceContext,
    input: *const DiceTensor,
    target: *const DiceTensor,
    opts: *const DiceLossOptions,
    upstream: *const f64,
    upstream_len: usize,
    grad: *const DiceTensor,
    loss_out: *mut f64,
    values_out: *mut f64,
    values_len: usize,
) -> DiceStatus {
    guard(|| {
        // SAFETY: forwarded contract.
        let call = unsafe { prepare(ctx, input, target, opts) }?;
        // SAFETY: forwarded contract.
        let g = unsafe { prepare_grad(&call, grad) }?;
        need("loss_out", loss_out)?;
        let upstream = if upstream.is_null() {
            None
        } else {
            // SAFETY: forwarded contract; copied before any output view exists.
            Some(unsafe { read_f64s("upstream", upstream, upstream_len) }?)
        };
        check_values(values_out, values_len, entries(&call.input, &call.opts))?;
        // SAFETY: forwarded contract.
        let fin = with_float!(call.kind, T => unsafe { loss_grad_t::<T>(&call, &g, upstream.as_deref()) })?;
        // SAFETY: forwarded contract.
        unsafe { write_outputs(&fin, loss_out, values_out, values_len) }
    })
}

/// Step 1: the sums (I, P, G) per (n, kept class), flat and row-major, into `stats_out`;
/// with an elementwise or temporal term (opts.pointwise, opts.temporal), followed by
/// (loss, weight, voxels, temporal, pairs) per row. Rows are N (N x T with frames);
/// stats_len must be rows x kept x 3 (+ rows x 5 with those terms). Stats of disjoint
/// spatial tiles of the same items add elementwise; with `batch`, rows may be summed into
/// one (e.g. across data-parallel workers) before finalizing.
///
/// # Safety
/// See the contract at the top of this header.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn dice_stats(
    ctx: *const DiceContext,
    input: *const DiceTensor,
    target: *const DiceTensor,
    opts: *const DiceLossOptions,
    stats_out: *mut f64,
    stats_len: usize,
) -> DiceStatus {
    guard(|| {
        // SAFETY: forwarded contract.
        let call = unsafe { prepare(ctx, input, target, opts) }?;
        need("stats_out", stats_out)?;
        let pw = call.opts.has_row_sums();
        if entries(&call.input, &call.opts).is_some() {
            let c = call.input.shape[1];
            let n = DiceOptions { batch: false, ..call.opts.clone() }
                .value_shape(&call.input.shape[..call.input.rank])
                .0;
            let k = c - call.opts.first_class(c);
            check_stats_len(stats_len, n, k, pw)?;
        }
        // SAFETY: forwarded contract.
        let stats = with_float!(call.kind, T => unsafe { stats_t::<T>(&call) })?;
        check_stats_len(stats_len, stats.rows(), stats.classes(), pw)?;
        // SAFETY: writable for stats_len doubles by contract, which is what flat() yields.
        unsafe { write_f64s(stats_out, stats.flat(pw)) };
        Ok(())
    })
}

/// Checks `stats_len` against the flat layout of rows x classes stats.
fn check_stats_len(
    stats_len: usize,
    rows: usize,
    classes: usize,
    pointwise: bool,
) -> FfiResult<()> {
    let layout = stats_layout(rows, classes, pointwise);
    match Stats::flat_len(rows, classes, pointwise) {
        Some(expected) => check_len("stats_len", stats_len, expected, &layout),
        None => fail(DiceStatus::BadLength, format!("stats_len: {layout} overflows")),
    }
}

/// The flat stats layout in words, for messages.
fn stats_layout(rows: usize, classes: usize, pointwise: bool) -> String {
    let extra = if pointwise {
        format!(" + {rows} rows x 5 (elementwise/temporal sums)")
    } else {
        String::new()
    };
    format!("{rows} rows x {classes} classes x 3{extra}")
}

/// Reads flat stats (layout of dice_stats, stats_len must match) into dice-core stats.
///
/// # Safety
/// `stats` NULL or readable for stats_len doubles.
unsafe fn read_stats(
    stats: *const f64,
    stats_len: usize,
    rows: usize,
    classes: usize,
    pointwise: bool,
) -> FfiResult<Stats> {
    need("stats", stats)?;
    if rows == 0 || classes == 0 {
        return fail(
            DiceStatus::StatsMismatch,
            format!("stats: rows = {rows}, classes = {classes} must be >= 1"),
        );
    }
    check_stats_len(stats_len, rows, classes, pointwise)?;
    // SAFETY: forwarded contract.
    let flat = unsafe { read_f64s("stats", stats, stats_len) }?;
    Ok(Stats::from_flat(rows, classes, &flat)?)
}

/// Step 2: loss and per-entry values from (possibly summed) stats, as dice_loss gives them.
/// `rows` x `classes` entries in the layout of dice_stats; with `batch`, rows are pooled
/// first (values: 1 row), and with Generalised Dice or pool_classes one value per row.
///
/// # Safety
/// See the contract at the top of this header.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn dice_finalize(
    stats: *const f64,
    stats_len: usize,
    rows: usize,
    classes: usize,
    opts: *const DiceLossOptions,
    loss_out: *mut f64,
    values_out: *mut f64,
    values_len: usize,
) -> DiceStatus {
    guard(|| {
        // SAFETY: forwarded contract.
        let opts = unsafe { options::read(opts) }?;
        // SAFETY: forwarded contract.
        let st = unsafe { read_stats(stats, stats_len, rows, classes, opts.has_row_sums()) }?;
        need("loss_out", loss_out)?;
        let fin = dice_core::dice_finalize(&st, &opts)?;
        // SAFETY: forwarded contract.
        unsafe { write_outputs(&fin, loss_out, values_out, values_len) }
    })
}

/// Step 3: the input gradient from (possibly summed) stats: finalizes them (as dice_finalize)
/// then applies `upstream` (as in dice_loss_grad) and writes `grad` for this input/target
/// (one shard or tile). `rows` must be the input's N, or 1 (e.g. pooled batch stats) to apply
/// to every item; `classes` the kept classes.
///
/// # Safety
/// See the contract at the top of this header.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn dice_backward_from_stats(
    ctx: *const DiceContext,
    input: *const DiceTensor,
    target: *const DiceTensor,
    opts: *const DiceLossOptions,
    stats: *const f64,
    stats_len: usize,
    rows: usize,
    classes: usize,
    upstream: *const f64,
    upstream_len: usize,
    grad: *const DiceTensor,
) -> DiceStatus {
    guard(|| {
        // SAFETY: forwarded contract.
        let call = unsafe { prepare(ctx, input, target, opts) }?;
        // SAFETY: forwarded contract.
        let g = unsafe { prepare_grad(&call, grad) }?;
        // SAFETY: forwarded contract; copied before any output view exists.
        let st = unsafe { read_stats(stats, stats_len, rows, classes, call.opts.has_row_sums()) }?;
        let upstream = if upstream.is_null() {
            None
        } else {
            // SAFETY: forwarded contract; copied before any output view exists.
            Some(unsafe { read_f64s("upstream", upstream, upstream_len) }?)
        };
        // SAFETY: forwarded contract.
        with_float!(call.kind, T => unsafe { backward_t::<T>(&call, &g, &st, upstream.as_deref()) })
    })
}

/// # Safety
/// As for `loss_grad_t`.
unsafe fn map_t<T: Float>(call: &Call<'_>, out: &Parsed) -> FfiResult<()> {
    // SAFETY: element type matches; contract forwarded.
    let input = unsafe { tensor::view::<T>(&call.input) }?;
    // SAFETY: as above.
    let target = unsafe { tensor::target::<T>(&call.target, &call.input) }?;
    // SAFETY: as above.
    let mask = unsafe { mask_view::<T>(call) }?;
    // SAFETY: out has the input's dtype and shares no byte with input, target or mask
    // (checked in prepare_output); no other view of it exists.
    let mut o = unsafe { tensor::view_mut::<T>(out) }?;
    Ok(dice_core::dice_pointwise_map(call.ctx, &input, &target, mask.as_ref(), &call.opts, &mut o)?)
}

/// The elementwise term per element (MONAI's reduction="none" of FocalLoss / DiceFocalLoss):
/// writes into `out` (the input's dtype and shape, any injective strides, no overlap with
/// input, target or loss_mask) each element's loss of opts.pointwise (BCE, sigmoid or softmax
/// focal; softmax CE is refused with DICE_STATUS_BAD_OPTION) times its keep weight (0 where
/// ignored, the loss_mask value with a mask), 0 on channels the term does not cover, before
/// the term's mean and pw_lambda. One pass. Its sum is the term of dice_loss with reduction
/// none (or sum, for BCE) and pw_lambda 1, whose gradient dice_loss_grad writes.
///
/// # Safety
/// See the contract at the top of this header.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn dice_pointwise_map(
    ctx: *const DiceContext,
    input: *const DiceTensor,
    target: *const DiceTensor,
    opts: *const DiceLossOptions,
    out: *const DiceTensor,
) -> DiceStatus {
    guard(|| {
        // SAFETY: forwarded contract.
        let call = unsafe { prepare(ctx, input, target, opts) }?;
        // SAFETY: forwarded contract.
        let o = unsafe { prepare_output(&call, "out", out) }?;
        // SAFETY: forwarded contract.
        with_float!(call.kind, T => unsafe { map_t::<T>(&call, &o) })
    })
}
