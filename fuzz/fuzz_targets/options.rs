//! The DiceLossOptions reader: any bytes, any struct_size. The options block is 4 KiB of
//! fuzzer bytes; struct_size is fuzzed (0, the known sizes, anything up to beyond the maximum).
//! Pointer fields inside struct_size point at real arrays (or are NULL) with fuzzed lengths
//! up to the arrays' sizes; pointer fields beyond struct_size hold wild addresses, so reading a
//! field the caller did not declare faults under ASan. Also dice_loss_options_init with any
//! struct_size into a guarded buffer of exactly that size.
//! Asserts: never PANIC, guard bytes intact, outputs untouched unless OK.
#![no_main]

use dice::{DiceLossOptions, DiceTensor};
use dice_fuzz::*;
use libfuzzer_sys::fuzz_target;
use std::mem::offset_of;

const BLOCK: usize = 4096 + 256;
const ARR: usize = 8;
const WILD: u64 = 0x0000_dead_beef_0000;

fuzz_target!(|data: &[u8]| {
    let mut b = Bytes::new(data);
    let struct_size: u32 = match b.u8() % 8 {
        0 => 0,
        1 => dice::DICE_LOSS_OPTIONS_SIZE_V1 as u32,
        2 => dice::DICE_LOSS_OPTIONS_SIZE as u32,
        3 => u32::from(b.u16()),
        4 => dice::DICE_LOSS_OPTIONS_MAX_SIZE as u32 + u32::from(b.u8()),
        5 => b.u16() as u32 % 241,
        _ => dice::DICE_LOSS_OPTIONS_SIZE as u32,
    };

    // dice_loss_options_init into exactly struct_size bytes (never more than the block).
    let init_len = (struct_size as usize).min(BLOCK);
    let mut initbuf = Guarded::new(init_len);
    // SAFETY: the payload holds init_len >= struct_size (or the call must refuse a size it
    // cannot fit, as struct_size > BLOCK > DICE_LOSS_OPTIONS_MAX_SIZE) bytes, 8-aligned.
    let st = unsafe { dice::dice_loss_options_init(initbuf.ptr(), init_len) };
    check_call("dice_loss_options_init", st, &[&initbuf]);

    // The options block: fuzzer bytes, then pointer fields fixed up.
    let mut block = vec![0u64; BLOCK / 8];
    let mut weights = [0.5f64; ARR];
    let mut classes = [0u32; ARR];
    for w in weights.iter_mut() {
        *w = b.f64();
    }
    for c in classes.iter_mut() {
        *c = u32::from(b.u8() % 4);
    }
    {
        // SAFETY: the Vec<u64> owns BLOCK initialised bytes; viewing them as u8 is valid.
        let bytes = unsafe { std::slice::from_raw_parts_mut(block.as_mut_ptr().cast::<u8>(), BLOCK) };
        let rest = b.rest();
        for (i, x) in bytes.iter_mut().enumerate() {
            *x = if rest.is_empty() { 0 } else { rest[i % rest.len()] };
        }
        // Mostly-sensible enums and flags so the reader gets past the first field.
        if rest.first().is_some_and(|&x| x & 1 == 0) {
            // SAFETY: DiceLossOptions is integers, floats and raw pointers: all-zero is valid.
            let mut o: DiceLossOptions = unsafe { std::mem::zeroed() };
            // SAFETY: o is a valid, writable DiceLossOptions of DICE_LOSS_OPTIONS_SIZE bytes.
            let s = unsafe { dice::dice_loss_options_init(&mut o, dice::DICE_LOSS_OPTIONS_SIZE as usize) };
            assert_eq!(s, OK);
            let n = std::mem::size_of::<DiceLossOptions>();
            // SAFETY: o is a plain-old-data repr(C) struct of n bytes.
            let ob = unsafe { std::slice::from_raw_parts((&raw const o).cast::<u8>(), n) };
            // Keep the defaults, flip a few fuzzer-chosen bytes.
            for (i, x) in bytes[..n].iter_mut().enumerate() {
                *x = if rest.get(i + 1).is_some_and(|&r| r < 16) { *x } else { ob[i] };
            }
        }
        bytes[..4].copy_from_slice(&struct_size.to_le_bytes());
        let mut put = |off: usize, v: u64| bytes[off..off + 8].copy_from_slice(&v.to_le_bytes());
        let ss = struct_size as usize;
        let pairs = [
            (offset_of!(DiceLossOptions, weight), offset_of!(DiceLossOptions, weight_len), weights.as_ptr() as u64),
            (offset_of!(DiceLossOptions, classes), offset_of!(DiceLossOptions, classes_len), classes.as_ptr() as u64),
            (offset_of!(DiceLossOptions, pw_weight), offset_of!(DiceLossOptions, pw_weight_len), weights.as_ptr() as u64),
            (
                offset_of!(DiceLossOptions, focal_alpha_values),
                offset_of!(DiceLossOptions, focal_alpha_len),
                weights.as_ptr() as u64,
            ),
        ];
        let sel = b.u8();
        for (k, &(p, l, addr)) in pairs.iter().enumerate() {
            if p + 8 <= ss {
                let len = u64::from(rest.get(k).copied().unwrap_or(0)) % (ARR as u64 + 1);
                put(p, if sel >> k & 1 == 1 { addr } else { 0 });
                put(l, len);
            } else {
                put(p, WILD);
            }
        }
        let m = offset_of!(DiceLossOptions, loss_mask);
        // The loss mask is NULL (a fuzzed mask descriptor belongs to the loss target).
        put(m, if m + 8 <= ss { 0 } else { WILD });
    }

    // A small valid problem: (1, 3, 2, 2) float32 probabilities, uint8 labels in 0..3.
    let mut inp = [0f32; 12];
    for (i, x) in inp.iter_mut().enumerate() {
        *x = (i % 5) as f32 / 4.0;
    }
    let mut lab = [0u8, 1, 2, 1];
    let din = Desc::contiguous(&[1, 3, 2, 2], dice::DICE_DTYPE_FLOAT, 32);
    let dlab = Desc::contiguous(&[1, 2, 2], dice::DICE_DTYPE_UINT, 8);
    let tin: DiceTensor = din.tensor(inp.as_mut_ptr().cast());
    let tlab = dlab.tensor(lab.as_mut_ptr());
    let opts = block.as_ptr().cast::<DiceLossOptions>();
    let mut rows = Guarded::of::<usize>(1);
    let mut cls = Guarded::of::<usize>(1);
    let mut loss = Guarded::of::<f64>(1);
    let mut values = Guarded::of::<f64>(16);
    let mut grad = Guarded::of::<f32>(12);
    let tgr = din.tensor(grad.ptr());

    // SAFETY: opts points at BLOCK readable bytes (more than DICE_LOSS_OPTIONS_MAX_SIZE); its
    // pointer fields inside struct_size are NULL or point at ARR-element arrays with lengths
    // <= ARR; the tensors address their arrays; the outputs have the sizes passed.
    let st = unsafe { dice::dice_loss_shape(&tin, opts, rows.ptr(), cls.ptr()) };
    check_call("dice_loss_shape", st, &[&rows, &cls]);
    // SAFETY: as above.
    let st = unsafe { dice::dice_loss(std::ptr::null(), &tin, &tlab, opts, loss.ptr(), values.ptr(), 16) };
    check_call("dice_loss", st, &[&loss, &values]);
    loss.reset();
    values.reset();
    let up = [1.0f64; 16];
    // SAFETY: as above; upstream has 16 values, grad's payload holds the 12 float32 of tgr.
    let st = unsafe {
        dice::dice_loss_grad(std::ptr::null(), &tin, &tlab, opts, up.as_ptr(), 16, &tgr, loss.ptr(), values.ptr(), 16)
    };
    check_call("dice_loss_grad", st, &[&loss, &values, &grad]);
    let mut pw = Guarded::of::<f32>(12);
    let tpw = din.tensor(pw.ptr());
    // SAFETY: as above.
    let st = unsafe { dice::dice_pointwise_map(std::ptr::null(), &tin, &tlab, opts, &tpw) };
    check_call("dice_pointwise_map", st, &[&pw]);
});
