//! The three-step API: dice_stats, dice_finalize, dice_backward_from_stats on the problems of
//! the loss target, with fuzzed stats_len / rows / classes / upstream and, sometimes, stats
//! perturbed (NaN, negative, garbage) before steps 2 and 3.
//! Asserts: never PANIC, guard bytes intact, outputs untouched unless OK; with plain options
//! and intact stats, finalize's loss and values equal dice_loss's and backward_from_stats's
//! gradient equals dice_loss_grad's (same library, so to rounding only).
#![no_main]

use dice::DiceStatus;
use dice_fuzz::*;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut b = Bytes::new(data);
    let mut p = Problem::generate(&mut b);
    let tin = p.input_tensor();
    let ttg = p.target_tensor();
    let opts = p.opts;
    let n = p.shape[0];
    let c = p.shape[1];
    let kept = if c > 1 && opts.include_background == 0 { c - 1 } else { c };
    let plain_len = n * kept * 3;
    let stats_len = match b.u8() % 8 {
        0 => b.below(64),
        1 => plain_len + n * 5,
        _ => plain_len,
    };
    let mut stats = Guarded::of::<f64>(stats_len);
    // SAFETY: tensors address their buffers; opts' arrays live in p; stats holds stats_len f64.
    let st = unsafe { dice::dice_stats(std::ptr::null(), &tin, &ttg, &opts, stats.ptr(), stats_len) };
    check_call("dice_stats", st, &[&stats]);
    if p.bad_label {
        assert_ne!(st, OK, "dice_stats accepted an out-of-range label");
    }
    let plain = !p.exotic && !p.bad_label && stats_len == plain_len;
    if plain {
        assert_eq!(st, OK, "dice_stats refused a valid call");
    }
    let mut s = if st == OK { stats.values::<f64>() } else { vec![0.5; stats_len] };
    let perturbed = b.u8() % 4 == 0;
    if perturbed && !s.is_empty() {
        let i = b.below(s.len());
        s[i] = b.f64() * if b.bool() { -1.0 } else { 1.0 };
    }
    let rows = if b.u8() % 8 == 0 { b.below(4) } else { n };
    let classes = if b.u8() % 8 == 0 { b.below(6) } else { kept };

    // Step 2.
    let mut rs = Guarded::of::<usize>(1);
    let mut cs = Guarded::of::<usize>(1);
    // SAFETY: as above.
    let sst = unsafe { dice::dice_loss_shape(&tin, &opts, rs.ptr(), cs.ptr()) };
    check_call("dice_loss_shape", sst, &[&rs, &cs]);
    let entries = if sst == OK { rs.values::<usize>()[0] * cs.values::<usize>()[0] } else { 0 };
    let values_len = if b.u8() % 8 == 0 { b.below(16) } else { entries };
    let mut loss = Guarded::of::<f64>(1);
    let mut values = Guarded::of::<f64>(values_len);
    // SAFETY: s holds stats_len f64; values holds values_len f64.
    let fst = unsafe {
        dice::dice_finalize(s.as_ptr(), s.len(), rows, classes, &opts, loss.ptr(), values.ptr(), values_len)
    };
    check_call("dice_finalize", fst, &[&loss, &values]);
    let exact = plain && st == OK && !perturbed && rows == n && classes == kept && values_len == entries;
    if exact {
        assert_eq!(fst, OK, "dice_finalize refused the stats of dice_stats");
        let mut l2 = Guarded::of::<f64>(1);
        let mut v2 = Guarded::of::<f64>(values_len);
        // SAFETY: as for dice_loss in the loss target.
        let st2 = unsafe { dice::dice_loss(std::ptr::null(), &tin, &ttg, &opts, l2.ptr(), v2.ptr(), values_len) };
        check_call("dice_loss", st2, &[&l2, &v2]);
        assert_eq!(st2, OK);
        let (a, e) = (loss.values::<f64>()[0], l2.values::<f64>()[0]);
        assert!(close(a, e, 1e-9), "finalize loss {a} != dice_loss {e}");
        for (a, e) in values.values::<f64>().iter().zip(v2.values::<f64>()) {
            assert!(close(*a, e, 1e-9), "finalize values differ from dice_loss: {a} vs {e}");
        }
    }

    // Step 3.
    let up_len = if b.u8() % 4 == 0 { b.below(8) } else if opts.reduction == 2 { entries } else { 1 };
    let ups = vec![1.0f64; up_len];
    let mut grad = p.grad_buffer();
    let gd = p.grad_desc();
    let tgr = gd.tensor(grad.ptr());
    // SAFETY: s holds stats_len f64; ups holds up_len f64; grad's payload holds numel
    // elements of the input's dtype, C-contiguous.
    let bst = unsafe {
        dice::dice_backward_from_stats(
            std::ptr::null(),
            &tin,
            &ttg,
            &opts,
            s.as_ptr(),
            s.len(),
            rows,
            classes,
            ups.as_ptr(),
            up_len,
            &tgr,
        )
    };
    assert_ne!(bst, DiceStatus::Panic, "dice_backward_from_stats: PANIC status");
    grad.check_guards("dice_backward_from_stats");
    if bst != OK {
        grad.check_untouched("dice_backward_from_stats", bst);
    }
    if p.bad_label {
        assert_ne!(bst, OK, "dice_backward_from_stats accepted an out-of-range label");
    }
    if exact && up_len == (if opts.reduction == 2 { entries } else { 1 }) {
        assert_eq!(bst, OK, "dice_backward_from_stats refused the stats of dice_stats");
        let mut g2 = p.grad_buffer();
        let tg2 = gd.tensor(g2.ptr());
        let mut l2 = Guarded::of::<f64>(1);
        // SAFETY: as for dice_loss_grad in the loss target.
        let st2 = unsafe {
            dice::dice_loss_grad(std::ptr::null(), &tin, &ttg, &opts, ups.as_ptr(), up_len, &tg2, l2.ptr(), std::ptr::null_mut(), 0)
        };
        check_call("dice_loss_grad", st2, &[&g2, &l2]);
        assert_eq!(st2, OK);
        let (ga, gb) = (p.read_floats(&grad), p.read_floats(&g2));
        for (x, y) in ga.iter().zip(&gb) {
            assert!(close(*x, *y, 1e-5), "backward_from_stats grad {ga:?} != dice_loss_grad {gb:?}");
        }
    }
});
