//! Confusion counts, distance transforms and the surface metrics on small label maps / masks
//! (N 1..2, 1-3 spatial axes of 0..4, sometimes a huge extent next to an empty axis, strided or
//! reversed views), with fuzzed dtypes, class counts, spacings, kinds and output lengths.
//! Asserts: never PANIC, guard bytes intact, outputs untouched unless OK; on valid inputs
//! dice_confusion equals a brute-force count and the Euclidean distance transform equals a
//! brute-force nearest-voxel search.
#![no_main]

use dice::{DICE_DECISIONS_LABELS, DiceDecisions, DiceSurfaceOptions};
use dice_fuzz::*;
use libfuzzer_sys::fuzz_target;

/// A C-contiguous-in-logic label volume stored with a chosen layout.
struct Vol {
    /// Logical shape.
    shape: Vec<usize>,
    /// Logical values in C order.
    vals: Vec<i64>,
}

fn strides_c(shape: &[usize]) -> Vec<usize> {
    let mut s = vec![1usize; shape.len()];
    for d in (0..shape.len().saturating_sub(1)).rev() {
        s[d] = s[d + 1] * shape[d + 1];
    }
    s
}

/// Stores `v` as `bits`-wide integers in `buf`, with the last axis reversed when `rev`
/// (negative stride, byte_offset at its end); returns the descriptor.
fn store(v: &Vol, code: u8, bits: u8, rev: bool, buf: &mut [u64]) -> Desc {
    let cs = strides_c(&v.shape);
    let n: usize = v.shape.iter().product();
    let es = usize::from(bits) / 8;
    // SAFETY: buf owns buf.len() * 8 initialised bytes.
    let bytes = unsafe { std::slice::from_raw_parts_mut(buf.as_mut_ptr().cast::<u8>(), buf.len() * 8) };
    let last = v.shape.len() - 1;
    let mut strides: Vec<i64> = cs.iter().map(|&s| s as i64).collect();
    let mut offset = 0u64;
    if rev && v.shape[last] > 0 {
        strides[last] = -1;
        offset = ((v.shape[last] - 1) * es) as u64;
    }
    for lin in 0..n {
        // Physical position: the last axis index mirrored when reversed.
        let i_last = (lin / cs[last]) % v.shape[last];
        let phys = if rev { lin - i_last + (v.shape[last] - 1 - i_last) } else { lin };
        let x = v.vals[lin].to_le_bytes();
        bytes[phys * es..phys * es + es].copy_from_slice(&x[..es]);
    }
    let mut d = Desc::contiguous(&v.shape, code, bits);
    d.strides = Some(strides);
    d.byte_offset = offset;
    d
}

fn label_dtype(b: &mut Bytes<'_>) -> (u8, u8) {
    match b.u8() % 6 {
        0 => (dice::DICE_DTYPE_UINT, 16),
        1 => (dice::DICE_DTYPE_INT, 32),
        2 => (dice::DICE_DTYPE_INT, 64),
        3 => (dice::DICE_DTYPE_BOOL, 8),
        _ => (dice::DICE_DTYPE_UINT, 8),
    }
}

fn confusion_oracle(pred: &Vol, gt: &Vol, c: usize) -> Vec<u64> {
    let n = pred.shape[0];
    let per: usize = pred.shape[1..].iter().product();
    let mut out = vec![0u64; n * c * 4];
    for item in 0..n {
        for k in 0..c {
            for v in 0..per {
                let p = pred.vals[item * per + v] == k as i64;
                let g = gt.vals[item * per + v] == k as i64;
                let slot = match (p, g) {
                    (true, true) => 0,
                    (true, false) => 1,
                    (false, true) => 2,
                    (false, false) => 3,
                };
                out[(item * c + k) * 4 + slot] += 1;
            }
        }
    }
    out
}

fn edt_oracle(mask: &Vol, spacing: &[f64]) -> Vec<f64> {
    let n = mask.vals.len();
    let cs = strides_c(&mask.shape);
    let coord = |lin: usize| -> Vec<f64> {
        (0..mask.shape.len()).map(|d| ((lin / cs[d]) % mask.shape[d]) as f64 * spacing[d]).collect()
    };
    (0..n)
        .map(|p| {
            let cp = coord(p);
            (0..n)
                .filter(|&q| mask.vals[q] != 0)
                .map(|q| cp.iter().zip(coord(q)).map(|(a, b)| (a - b) * (a - b)).sum::<f64>().sqrt())
                .fold(f64::INFINITY, f64::min)
        })
        .collect()
}

fuzz_target!(|data: &[u8]| {
    let mut b = Bytes::new(data);
    let n = 1 + b.below(2);
    let nsp = 1 + b.below(3);
    let mut shape = vec![n];
    for _ in 0..nsp {
        shape.push(b.below(5));
    }
    let c = 1 + b.below(4);
    let numel: usize = shape.iter().product();
    let draw = |b: &mut Bytes<'_>| -> Vec<i64> {
        (0..numel).map(|_| if b.u8() % 32 == 0 { i64::from(b.u8()) } else { i64::from(b.u8()) % c as i64 }).collect()
    };
    let pred = Vol { shape: shape.clone(), vals: draw(&mut b) };
    let gt = Vol { shape: shape.clone(), vals: draw(&mut b) };
    let (pc, pb) = label_dtype(&mut b);
    let (gc, gb) = label_dtype(&mut b);
    let mut pbuf = vec![0u64; numel.max(1)];
    let mut gbuf = vec![0u64; numel.max(1)];
    let mut dp = store(&pred, pc, pb, b.bool(), &mut pbuf);
    let mut dg = store(&gt, gc, gb, b.bool(), &mut gbuf);
    // A huge extent is only addressable next to an empty axis (zero elements).
    let huge = numel == 0 && b.u8() % 4 == 0;
    if huge {
        dp.shape[0] = 1 << 40;
        dg.shape[0] = 1 << 40;
    }
    let tp = dp.tensor(pbuf.as_mut_ptr().cast());
    let tg = dg.tensor(gbuf.as_mut_ptr().cast());
    let kind = if b.u8() % 8 == 0 { i32::from(b.u8() % 5) } else { DICE_DECISIONS_LABELS };
    let dpred = DiceDecisions { tensor: &tp, kind, threshold: 0.5 };
    let dgt = DiceDecisions { tensor: &tg, kind: DICE_DECISIONS_LABELS, threshold: 0.5 };
    let num_classes: i64 = if b.u8() % 16 == 0 { i64::from(b.u8() as i8) } else { c as i64 };
    let exact_len = n * c * 4;
    let counts_len = if b.u8() % 8 == 0 { b.below(64) } else { exact_len };

    // --- confusion
    if std::env::var_os("DICE_FUZZ_VERBOSE").is_some() {
        eprintln!(
            "dice_confusion pred {:?} strides {:?} dtype ({}, {}) kind {kind}; gt {:?} strides {:?} dtype ({}, {}); \
             num_classes {num_classes}; counts_len {counts_len}",
            dp.shape, dp.strides, dp.code, dp.bits, dg.shape, dg.strides, dg.code, dg.bits
        );
    }
    let mut counts = Guarded::of::<u64>(counts_len);
    // SAFETY: the decisions' tensors address their buffers (or no element); counts holds
    // counts_len u64.
    let st = unsafe { dice::dice_confusion(std::ptr::null(), &dpred, &dgt, num_classes, counts.ptr(), counts_len) };
    check_call("dice_confusion", st, &[&counts]);
    let bools_ok = |v: &Vol, code: u8| code != dice::DICE_DTYPE_BOOL || v.vals.iter().all(|&x| x <= 1);
    let valid = !huge
        && kind == DICE_DECISIONS_LABELS
        && num_classes == c as i64
        && counts_len == exact_len
        && pred.vals.iter().chain(&gt.vals).all(|&x| x < c as i64)
        && bools_ok(&pred, pc)
        && bools_ok(&gt, gc);
    if valid {
        assert_eq!(st, OK, "dice_confusion refused a valid call");
        assert_eq!(counts.values::<u64>(), confusion_oracle(&pred, &gt, c), "dice_confusion counts");
    }

    // --- distance transform of pred != 0 as a uint8 mask (rank = 1 + spatial axes)
    let mask = Vol { shape: shape.clone(), vals: pred.vals.iter().map(|&x| i64::from(x != 0)).collect() };
    let mut mbuf = vec![0u64; numel.max(1)];
    let mut dm = store(&mask, dice::DICE_DTYPE_UINT, 8, b.bool(), &mut mbuf);
    if huge {
        dm.shape[0] = 1 << 40;
    }
    let tm = dm.tensor(mbuf.as_mut_ptr().cast());
    let rank = shape.len();
    let mut spacing: Vec<f64> = (0..rank).map(|_| 0.5 + f64::from(b.u8() % 4)).collect();
    let fuzzed_spacing = b.u8() % 8 == 0;
    if fuzzed_spacing {
        for s in spacing.iter_mut() {
            *s = b.f64();
        }
    }
    let metric = if b.u8() % 8 == 0 { i32::from(b.u8() % 4) } else { 0 };
    let signed = if b.u8() % 8 == 0 { b.u8() % 3 } else { 0 };
    let out_len = if b.u8() % 8 == 0 { b.below(128) } else { numel };
    let mut out = Guarded::of::<f64>(out_len);
    // SAFETY: tm addresses mbuf (or nothing); spacing has rank values; out holds out_len f64.
    let st = unsafe {
        dice::dice_distance_transform(
            std::ptr::null(),
            &tm,
            spacing.as_ptr(),
            rank,
            metric,
            signed,
            out.ptr(),
            out_len,
        )
    };
    check_call("dice_distance_transform", st, &[&out]);
    if !huge && !fuzzed_spacing && metric == 0 && signed == 0 && out_len == numel {
        assert_eq!(st, OK, "dice_distance_transform refused a valid call");
        let want = edt_oracle(&mask, &spacing);
        let got = out.values::<f64>();
        for (g, w) in got.iter().zip(&want) {
            assert!(close(*g, *w, 1e-9) || (g.is_infinite() && w.is_infinite()), "EDT {got:?} != {want:?}");
        }
    }

    // --- surface metrics on the same decisions
    let mut so = Guarded::of::<DiceSurfaceOptions>(1);
    // SAFETY: so holds one DiceSurfaceOptions.
    let st = unsafe { dice::dice_surface_options_init(so.ptr(), std::mem::size_of::<DiceSurfaceOptions>()) };
    check_call("dice_surface_options_init", st, &[&so]);
    assert_eq!(st, OK);
    // SAFETY: initialised by dice_surface_options_init just above.
    let mut sopts: DiceSurfaceOptions = unsafe { so.ptr::<DiceSurfaceOptions>().read() };
    let sspacing = &spacing[1..];
    if b.bool() {
        sopts.spacing = sspacing.as_ptr();
        sopts.spacing_len = sspacing.len();
    }
    sopts.percentile = if b.bool() { b.f64() * 100.0 } else { f64::NAN };
    sopts.tolerance = if b.bool() { b.f64() } else { f64::NAN };
    sopts.include_background = b.u8() % 3;
    sopts.directed = b.u8() % 3;
    sopts.symmetric = b.u8() % 3;
    sopts.distance_metric = i32::from(b.u8() % 4);
    let thresholds = [b.f64(), b.f64(), b.f64(), b.f64()];
    if b.bool() {
        sopts.class_thresholds = thresholds.as_ptr();
        sopts.class_thresholds_len = b.below(5);
    }
    let skind = i32::from(b.u8() % 6);
    if std::env::var_os("DICE_FUZZ_VERBOSE").is_some() {
        eprintln!("dice_surface_metric kind {skind} opts {sopts:?} spacing {sspacing:?} thresholds {thresholds:?}");
    }
    let slen = b.below(64);
    let mut sout = Guarded::of::<f64>(slen);
    // SAFETY: as for dice_confusion; sopts' arrays outlive the call; sout holds slen f64.
    let st = unsafe { dice::dice_surface_metric(std::ptr::null(), &dpred, &dgt, num_classes, skind, &sopts, sout.ptr(), slen) };
    check_call("dice_surface_metric", st, &[&sout]);

    // --- DeepMind surfels: one item's spatial mask pair (2-D or 3-D)
    if nsp >= 2 && !huge {
        let sp: Vec<usize> = shape[1..].to_vec();
        let per: usize = sp.iter().product();
        let mg = Vol { shape: sp.clone(), vals: gt.vals[..per].iter().map(|&x| i64::from(x != 0)).collect() };
        let mp = Vol { shape: sp.clone(), vals: pred.vals[..per].iter().map(|&x| i64::from(x != 0)).collect() };
        let mut gb2 = vec![0u64; per.max(1)];
        let mut pb2 = vec![0u64; per.max(1)];
        let dg2 = store(&mg, dice::DICE_DTYPE_UINT, 8, b.bool(), &mut gb2);
        let dp2 = store(&mp, dice::DICE_DTYPE_BOOL, 8, b.bool(), &mut pb2);
        let tg2 = dg2.tensor(gb2.as_mut_ptr().cast());
        let tp2 = dp2.tensor(pb2.as_mut_ptr().cast());
        let mut sc = Guarded::of::<u64>(2);
        // SAFETY: tensors address their buffers; spacing has >= nsp values; sc holds 2 u64.
        let st = unsafe {
            dice::dice_surfel_counts(std::ptr::null(), &tg2, &tp2, sspacing.as_ptr(), nsp, sc.ptr(), 2)
        };
        check_call("dice_surfel_counts", st, &[&sc]);
        if st == OK {
            let cnt = sc.values::<u64>();
            if cnt[0] < 4096 && cnt[1] < 4096 {
                let (ng, np) = (cnt[0] as usize, cnt[1] as usize);
                let (ng2, np2) = if b.u8() % 8 == 0 { (b.below(8), b.below(8)) } else { (ng, np) };
                let mut a = Guarded::of::<f64>(ng2);
                let mut a2 = Guarded::of::<f64>(ng2);
                let mut c1 = Guarded::of::<f64>(np2);
                let mut c2 = Guarded::of::<f64>(np2);
                // SAFETY: each output array holds the count passed with it.
                let st = unsafe {
                    dice::dice_surface_distances(
                        std::ptr::null(),
                        &tg2,
                        &tp2,
                        sspacing.as_ptr(),
                        nsp,
                        a.ptr(),
                        a2.ptr(),
                        ng2,
                        c1.ptr(),
                        c2.ptr(),
                        np2,
                    )
                };
                check_call("dice_surface_distances", st, &[&a, &a2, &c1, &c2]);
                if st == OK {
                    let dk = i32::from(b.u8() % 5);
                    let olen = b.below(4);
                    let mut o = Guarded::of::<f64>(olen);
                    let (da, db, dc, dd) = (a.values::<f64>(), a2.values::<f64>(), c1.values::<f64>(), c2.values::<f64>());
                    // SAFETY: the four input arrays hold ng2, ng2, np2, np2 values; o holds olen.
                    let st = unsafe {
                        dice::dice_surface_distance_metric(
                            da.as_ptr(),
                            db.as_ptr(),
                            ng2,
                            dc.as_ptr(),
                            dd.as_ptr(),
                            np2,
                            dk,
                            b.f64() * 100.0,
                            o.ptr(),
                            olen,
                        )
                    };
                    check_call("dice_surface_distance_metric", st, &[&o]);
                }
            }
        }
    }
});
