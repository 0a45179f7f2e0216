//! Descriptor parsing: random rank, extents (small, 0, negative, huge), strides (NULL, any
//! sign, 0, huge), byte offsets, dtypes and devices for input, target and grad over small real
//! buffers, through dice_loss_shape, dice_loss and dice_loss_grad. Asserts: never PANIC, guard
//! bytes intact, outputs untouched unless OK, and an OK call only for descriptors that are
//! valid (no negative extent, no offset overflow).
#![no_main]

use dice_fuzz::*;
use libfuzzer_sys::fuzz_target;

const BUF: usize = 1024;

fuzz_target!(|data: &[u8]| {
    let mut b = Bytes::new(data);
    let din = fuzz_desc(&mut b);
    let dtg = fuzz_desc(&mut b);
    let dgr = fuzz_desc(&mut b);
    if !(callable(&din, BUF) && callable(&dtg, BUF) && callable(&dgr, BUF)) {
        return;
    }
    let mut inbuf = vec![0u64; BUF / 8];
    let mut tgbuf = vec![0u64; BUF / 8];
    for x in inbuf.iter_mut() {
        // Probability 0.25 as one f64 or two f32: valid for either float dtype.
        *x = if din.bits == 64 { 0.25f64.to_bits() } else { u64::from(0.25f32.to_bits()) * 0x1_0000_0001 };
    }
    // Labels 0/1 in every integer width; dense 0.0 for floats.
    for x in tgbuf.iter_mut() {
        *x = u64::from(b.u8() & 1);
    }
    let mut grad = Guarded::new(BUF);
    let mut rows = Guarded::of::<usize>(1);
    let mut classes = Guarded::of::<usize>(1);
    let mut loss = Guarded::of::<f64>(1);
    let values_len = b.below(70);
    let mut values = Guarded::of::<f64>(values_len);
    let tin = din.tensor(inbuf.as_mut_ptr().cast());
    let ttg = dtg.tensor(tgbuf.as_mut_ptr().cast());
    let tgr = dgr.tensor(grad.ptr());

    // SAFETY: every pointer is NULL or points to live memory: tensors address only their
    // buffers (or nothing, or offsets beyond i64 the library must reject: `callable`), shape
    // and strides arrays hold ndim entries, and the output pointers have the lengths passed.
    let st = unsafe { dice::dice_loss_shape(&tin, std::ptr::null(), rows.ptr(), classes.ptr()) };
    check_call("dice_loss_shape", st, &[&rows, &classes]);
    let invalid = din.span(BUF) == Span::Invalid || din.span(BUF) == Span::Overflow;
    assert!(!(st == OK && invalid), "dice_loss_shape accepted an invalid descriptor");

    // SAFETY: as above; values has values_len f64.
    let st = unsafe {
        dice::dice_loss(std::ptr::null(), &tin, &ttg, std::ptr::null(), loss.ptr(), values.ptr(), values_len)
    };
    check_call("dice_loss", st, &[&loss, &values]);
    assert!(!(st == OK && invalid), "dice_loss accepted an invalid input descriptor");
    loss.reset();
    values.reset();

    // SAFETY: as above; grad's descriptor addresses only the guarded buffer's payload.
    let st = unsafe {
        dice::dice_loss_grad(
            std::ptr::null(),
            &tin,
            &ttg,
            std::ptr::null(),
            std::ptr::null(),
            0,
            &tgr,
            loss.ptr(),
            values.ptr(),
            values_len,
        )
    };
    check_call("dice_loss_grad", st, &[&loss, &values, &grad]);
    assert!(!(st == OK && invalid), "dice_loss_grad accepted an invalid input descriptor");
});
