//! Shared pieces of the fuzz targets: a byte reader, guarded output buffers, descriptor
//! builders and the checks every target applies after every call.
//!
//! Every call's status is checked against `DICE_STATUS_PANIC` (a caught panic is a bug);
//! every output buffer sits between guard bytes (checked after every call) and is prefilled
//! with a sentinel pattern that must survive any call that does not return OK.

use dice::{DiceDataType, DiceDevice, DiceStatus, DiceTensor};

/// `DICE_STATUS_OK`.
pub const OK: DiceStatus = DiceStatus::Ok;

/// Reads bounded values from the fuzzer's bytes; zeros once they run out.
pub struct Bytes<'a> {
    data: &'a [u8],
}

impl<'a> Bytes<'a> {
    pub fn new(data: &'a [u8]) -> Self {
        Bytes { data }
    }
    pub fn u8(&mut self) -> u8 {
        match self.data.split_first() {
            Some((&b, rest)) => {
                self.data = rest;
                b
            }
            None => 0,
        }
    }
    pub fn u16(&mut self) -> u16 {
        u16::from_le_bytes([self.u8(), self.u8()])
    }
    pub fn u64(&mut self) -> u64 {
        let mut b = [0u8; 8];
        for x in &mut b {
            *x = self.u8();
        }
        u64::from_le_bytes(b)
    }
    /// A value in `0..n` (n > 0).
    pub fn below(&mut self, n: usize) -> usize {
        self.u16() as usize % n
    }
    pub fn bool(&mut self) -> bool {
        self.u8() & 1 == 1
    }
    /// A "small" float, mostly in [0, 1], sometimes special.
    pub fn f64(&mut self) -> f64 {
        match self.u8() % 16 {
            0 => f64::NAN,
            1 => f64::INFINITY,
            2 => -1.0,
            3 => 1e300,
            4 => f64::from_bits(self.u64()),
            _ => f64::from(self.u8()) / 255.0,
        }
    }
    pub fn rest(&self) -> &'a [u8] {
        self.data
    }
}

const GUARD: usize = 64;
const GUARD_BYTE: u8 = 0xA5;
const SENTINEL: u8 = 0x5A;

/// A byte buffer of `len` bytes (8-aligned) between two guard zones, prefilled with a sentinel.
pub struct Guarded {
    buf: Vec<u64>,
    len: usize,
}

impl Guarded {
    pub fn new(len: usize) -> Self {
        let words = (2 * GUARD + len).div_ceil(8);
        let mut g = Guarded { buf: vec![0; words], len };
        g.bytes_all_mut().fill(GUARD_BYTE);
        g.payload_mut().fill(SENTINEL);
        g
    }
    /// A buffer holding `n` values of `T` (`T` of size 1, 2, 4 or 8).
    pub fn of<T>(n: usize) -> Self {
        Guarded::new(n * std::mem::size_of::<T>())
    }
    fn bytes_all(&self) -> &[u8] {
        // SAFETY: the Vec<u64> owns `buf.len() * 8` initialised bytes; u8 has no alignment
        // or validity requirement.
        unsafe { std::slice::from_raw_parts(self.buf.as_ptr().cast::<u8>(), self.buf.len() * 8) }
    }
    fn bytes_all_mut(&mut self) -> &mut [u8] {
        // SAFETY: as in `bytes_all`, with exclusive access through `&mut self`.
        unsafe { std::slice::from_raw_parts_mut(self.buf.as_mut_ptr().cast::<u8>(), self.buf.len() * 8) }
    }
    pub fn payload(&self) -> &[u8] {
        &self.bytes_all()[GUARD..GUARD + self.len]
    }
    pub fn payload_mut(&mut self) -> &mut [u8] {
        let len = self.len;
        &mut self.bytes_all_mut()[GUARD..GUARD + len]
    }
    /// Pointer to the payload (8-aligned: GUARD is a multiple of 8).
    pub fn ptr<T>(&mut self) -> *mut T {
        self.payload_mut().as_mut_ptr().cast::<T>()
    }
    pub fn len(&self) -> usize {
        self.len
    }
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
    /// Reads the payload as `T` values.
    pub fn values<T: Copy>(&self) -> Vec<T> {
        let n = self.len / std::mem::size_of::<T>();
        let p = self.payload().as_ptr().cast::<T>();
        // SAFETY: the payload is 8-aligned, holds n * size_of::<T>() initialised bytes, and the
        // targets only read it as f64/u64/f32 or integer types, for which every bit pattern is valid.
        (0..n).map(|i| unsafe { p.add(i).read() }).collect()
    }
    /// Panics (a fuzzer crash) when a guard byte changed.
    pub fn check_guards(&self, what: &str) {
        let all = self.bytes_all();
        let before = &all[..GUARD];
        let after = &all[GUARD + self.len..];
        assert!(before.iter().all(|&b| b == GUARD_BYTE), "{what}: write before the buffer");
        assert!(after.iter().all(|&b| b == GUARD_BYTE), "{what}: write after the buffer");
    }
    /// Panics when the payload is not the sentinel pattern any more.
    pub fn check_untouched(&self, what: &str, status: DiceStatus) {
        assert!(
            self.payload().iter().all(|&b| b == SENTINEL),
            "{what}: output written although the call returned {status:?}"
        );
    }
    /// Refills the payload with the sentinel.
    pub fn reset(&mut self) {
        self.payload_mut().fill(SENTINEL);
    }
}

/// Checks common to every call: no panic status; guards intact; outputs untouched unless OK.
pub fn check_call(name: &str, status: DiceStatus, outputs: &[&Guarded]) {
    assert_ne!(status, DiceStatus::Panic, "{name}: PANIC status (a panic was caught at the boundary)");
    for g in outputs {
        g.check_guards(name);
        if status != OK {
            g.check_untouched(name, status);
        }
    }
}

/// An owned descriptor: shape and strides arrays that outlive the DiceTensor pointing at them.
pub struct Desc {
    pub shape: Vec<i64>,
    pub strides: Option<Vec<i64>>,
    pub code: u8,
    pub bits: u8,
    pub lanes: u16,
    pub byte_offset: u64,
    pub device_type: i32,
}

impl Desc {
    pub fn contiguous(shape: &[usize], code: u8, bits: u8) -> Self {
        Desc {
            shape: shape.iter().map(|&e| e as i64).collect(),
            strides: None,
            code,
            bits,
            lanes: 1,
            byte_offset: 0,
            device_type: dice::DICE_DEVICE_CPU,
        }
    }
    /// The DiceTensor over `data`; borrows `self`'s arrays.
    pub fn tensor(&self, data: *mut u8) -> DiceTensor {
        DiceTensor {
            data: data.cast(),
            device: DiceDevice { device_type: self.device_type, device_id: 0 },
            ndim: self.shape.len() as i32,
            dtype: DiceDataType { code: self.code, bits: self.bits, lanes: self.lanes },
            shape: self.shape.as_ptr(),
            strides: self.strides.as_ref().map_or(std::ptr::null(), |s| s.as_ptr()),
            byte_offset: self.byte_offset,
        }
    }
    pub fn elem_size(&self) -> usize {
        (usize::from(self.bits) / 8).max(1)
    }
    /// Where the addressed elements fall, in bytes from `data`: `Empty` (no element),
    /// `Within` (inside `0..buf_len`), `Outside` (a real caller error we must not make: the
    /// library cannot know the buffer's length), or `Overflow` (offsets beyond i64, which the
    /// library must reject).
    pub fn span(&self, buf_len: usize) -> Span {
        if self.shape.iter().any(|&e| e < 0) {
            return Span::Invalid;
        }
        if self.shape.contains(&0) {
            return Span::Empty;
        }
        let es = self.elem_size() as i128;
        let strides: Vec<i128> = match &self.strides {
            Some(s) => s.iter().map(|&x| i128::from(x)).collect(),
            None => {
                let mut st = vec![0i128; self.shape.len()];
                let mut acc = 1i128;
                for d in (0..self.shape.len()).rev() {
                    st[d] = acc;
                    acc *= i128::from(self.shape[d]);
                }
                st
            }
        };
        let (mut lo, mut hi) = (i128::from(self.byte_offset), i128::from(self.byte_offset));
        for (d, &e) in self.shape.iter().enumerate() {
            let reach = (i128::from(e) - 1) * strides[d] * es;
            if reach < 0 {
                lo += reach;
            } else {
                hi += reach;
            }
        }
        hi += es - 1;
        let big = i128::from(i64::MAX);
        if lo < -big || hi > big {
            return Span::Overflow;
        }
        if lo >= 0 && hi < buf_len as i128 { Span::Within } else { Span::Outside }
    }
}

/// See [`Desc::span`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Span {
    Invalid,
    Empty,
    Within,
    Outside,
    Overflow,
}

/// Fills a float32 buffer with probabilities from the fuzzer's bytes.
pub fn fill_probs_f32(b: &mut Bytes<'_>, out: &mut [f32]) {
    for x in out {
        *x = f32::from(b.u8()) / 255.0;
    }
}

/// Relative closeness for oracle comparisons.
pub fn close(a: f64, b: f64, tol: f64) -> bool {
    if a.is_nan() || b.is_nan() {
        return a.is_nan() && b.is_nan();
    }
    a == b || (a - b).abs() <= tol * (1.0 + a.abs().max(b.abs()))
}

/// An extent: mostly small, sometimes 0, negative or huge (huge ones only pass the harness's
/// span check with stride 0, or next to an empty axis).
pub fn fuzz_extent(b: &mut Bytes<'_>) -> i64 {
    match b.u8() % 32 {
        0 => 0,
        1 => -1,
        2 => 1 << 40,
        3 => i64::MAX,
        4 => 1 << 31,
        _ => i64::from(b.u8() % 4) + 1,
    }
}

/// A stride: NULL-able array decided by the caller; each entry small, 0, negative or huge.
pub fn fuzz_stride(b: &mut Bytes<'_>) -> i64 {
    match b.u8() % 16 {
        0 => 0,
        1 => i64::MIN,
        2 => 1 << 61,
        3 => -(i64::from(b.u8() % 8)),
        _ => i64::from(b.u8() % 32),
    }
}

/// A fully fuzzed descriptor (rank 0..=7, any dtype code/bits/lanes, strides or NULL,
/// byte offset small or huge).
pub fn fuzz_desc(b: &mut Bytes<'_>) -> Desc {
    let ndim = b.below(8);
    let shape: Vec<i64> = (0..ndim).map(|_| fuzz_extent(b)).collect();
    let strides = if b.bool() { Some((0..ndim).map(|_| fuzz_stride(b)).collect()) } else { None };
    let (code, bits) = match b.u8() % 12 {
        0 => (dice::DICE_DTYPE_FLOAT, 64),
        1 => (dice::DICE_DTYPE_UINT, 8),
        2 => (dice::DICE_DTYPE_UINT, 16),
        3 => (dice::DICE_DTYPE_INT, 32),
        4 => (dice::DICE_DTYPE_INT, 64),
        5 => (dice::DICE_DTYPE_BOOL, 8),
        6 => (b.u8(), b.u8()),
        _ => (dice::DICE_DTYPE_FLOAT, 32),
    };
    let lanes = if b.u8() % 16 == 0 { b.u16() } else { 1 };
    let byte_offset = match b.u8() % 16 {
        0 => u64::MAX - u64::from(b.u8()),
        1 => 1 << 62,
        2 => u64::from(b.u8() % 8),
        _ => 8 * u64::from(b.u8() % 8),
    };
    let device_type = if b.u8() % 32 == 0 { 2 } else { dice::DICE_DEVICE_CPU };
    Desc { shape, strides, code, bits, lanes, byte_offset, device_type }
}

/// Whether the harness may pass this descriptor over a `buf_len`-byte buffer: everything
/// except descriptors that would address real memory outside the buffer (the C ABI cannot
/// detect those; they are the caller's error).
pub fn callable(d: &Desc, buf_len: usize) -> bool {
    d.span(buf_len) != Span::Outside
}

/// A small valid loss problem: input (N, C, spatial...) float32/float64 probabilities or
/// logits, target a label map or dense, options within the oracle's reach unless `exotic`.
pub struct Problem {
    pub shape: Vec<usize>,
    pub f64_input: bool,
    /// Logical input values, C order.
    pub input: Vec<f64>,
    pub input_buf: Vec<u64>,
    pub input_desc: Desc,
    /// Logical labels (N x spatial), when the target is a label map.
    pub labels: Option<Vec<i64>>,
    /// Logical dense target (input's shape), otherwise.
    pub dense: Option<Vec<f64>>,
    pub target_buf: Vec<u64>,
    pub target_desc: Desc,
    pub opts: dice::DiceLossOptions,
    pub core_opts: dice_core::DiceOptions,
    /// Options (or labels) the oracle does not model: only the contract is checked.
    pub exotic: bool,
    /// A label outside [0, C) and not ignored: the call must fail.
    pub bad_label: bool,
    /// Keeps class weights alive for `opts.weight`.
    pub weights: Vec<f64>,
}

/// Writes `vals` (each `es` bytes, little-endian prefix of the i64/f64 bits given by
/// `bits_of`) into a fresh buffer with C-order strides, the last axis reversed when `rev`.
fn lay_out(shape: &[usize], es: usize, rev: bool, words: &[u64]) -> (Vec<u64>, Vec<i64>, u64) {
    let nd = shape.len();
    let mut cs = vec![1usize; nd];
    for d in (0..nd.saturating_sub(1)).rev() {
        cs[d] = cs[d + 1] * shape[d + 1];
    }
    let n: usize = shape.iter().product();
    let mut buf = vec![0u64; (n * es).div_ceil(8).max(1)];
    // SAFETY: buf owns buf.len() * 8 initialised bytes.
    let bytes = unsafe { std::slice::from_raw_parts_mut(buf.as_mut_ptr().cast::<u8>(), buf.len() * 8) };
    let last = nd - 1;
    let rev = rev && shape[last] > 0;
    for (lin, w) in words.iter().enumerate().take(n) {
        let il = (lin / cs[last]) % shape[last];
        let phys = if rev { lin - il + (shape[last] - 1 - il) } else { lin };
        bytes[phys * es..phys * es + es].copy_from_slice(&w.to_le_bytes()[..es]);
    }
    let mut strides: Vec<i64> = cs.iter().map(|&s| s as i64).collect();
    let mut off = 0;
    if rev {
        strides[last] = -1;
        off = ((shape[last] - 1) * es) as u64;
    }
    (buf, strides, off)
}

fn float_words(vals: &[f64], f64_: bool) -> Vec<u64> {
    vals.iter().map(|&v| if f64_ { v.to_bits() } else { u64::from((v as f32).to_bits()) }).collect()
}

impl Problem {
    pub fn generate(b: &mut Bytes<'_>) -> Problem {
        let n = 1 + b.below(2);
        let c = 1 + b.below(4);
        let nsp = 1 + b.below(3);
        let mut shape = vec![n, c];
        for _ in 0..nsp {
            shape.push(1 + b.below(4));
        }
        let numel: usize = shape.iter().product();
        let per: usize = shape[2..].iter().product();
        let f64_input = b.bool();
        let mut opts: dice::DiceLossOptions = {
            // SAFETY: DiceLossOptions is integers, floats and raw pointers: all-zero is valid.
            let mut o: dice::DiceLossOptions = unsafe { std::mem::zeroed() };
            // SAFETY: o is a writable DiceLossOptions of DICE_LOSS_OPTIONS_SIZE bytes.
            let st = unsafe { dice::dice_loss_options_init(&mut o, dice::DICE_LOSS_OPTIONS_SIZE as usize) };
            assert_eq!(st, OK);
            o
        };
        let mut core = dice_core::DiceOptions::default();
        let act = b.below(3);
        opts.activation = act as i32;
        core.activation = [dice_core::Activation::None, dice_core::Activation::Sigmoid, dice_core::Activation::Softmax][act];
        let red = b.below(3);
        opts.reduction = red as i32;
        core.reduction = [dice_core::Reduction::Mean, dice_core::Reduction::Sum, dice_core::Reduction::None][red];
        let flags = b.u8();
        opts.include_background = flags & 1;
        core.include_background = flags & 1 == 1;
        opts.squared_pred = flags >> 1 & 1;
        core.squared_pred = flags >> 1 & 1 == 1;
        opts.jaccard = flags >> 2 & 1;
        core.jaccard = flags >> 2 & 1 == 1;
        opts.batch = flags >> 3 & 1;
        core.batch = flags >> 3 & 1 == 1;
        let smooth = [0.0, 1e-5, 1.0][b.below(3)];
        opts.smooth_nr = smooth;
        opts.smooth_dr = smooth;
        core.smooth_nr = smooth;
        core.smooth_dr = smooth;
        let mut exotic = false;
        let mut weights = Vec::new();
        if flags >> 4 & 1 == 1 {
            let kept = if c > 1 && flags & 1 == 0 { c - 1 } else { c };
            weights = (0..kept).map(|i| 0.5 + i as f64).collect();
            core.weight = weights.clone();
        }
        if flags >> 5 & 1 == 1 {
            // Fields the oracle does not model: contract checks only.
            exotic = true;
            opts.overlap = i32::from(b.u8() % 4);
            opts.form = i32::from(b.u8() % 5);
            opts.pointwise = i32::from(b.u8() % 6);
            opts.pw_lambda = b.f64();
            opts.gamma = b.f64();
            opts.clamp_dr = b.f64();
            opts.tversky_alpha = b.f64();
            opts.tversky_beta = b.f64();
            opts.soft_label = b.u8() % 3;
            opts.pool_classes = b.u8() % 3;
            opts.zero_absent = b.u8() % 3;
            opts.label_smoothing = b.f64();
            opts.focal_gamma = b.f64();
        }
        // Logits for sigmoid, and for softmax over more than one channel; softmax over one
        // channel is skipped (MONAI's rule), so its input is read as probabilities.
        let logits = act == 1 || (act == 2 && c > 1);
        let input: Vec<f64> = (0..numel)
            .map(|_| {
                let v = f64::from(b.u8()) / 255.0;
                if logits { 8.0 * v - 4.0 } else { v }
            })
            .collect();
        let es = if f64_input { 8 } else { 4 };
        let (input_buf, st, off) = lay_out(&shape, es, b.bool(), &float_words(&input, f64_input));
        let mut input_desc = Desc::contiguous(&shape, dice::DICE_DTYPE_FLOAT, es as u8 * 8);
        input_desc.strides = Some(st);
        input_desc.byte_offset = off;

        let mut bad_label = false;
        let (labels, dense, target_buf, target_desc);
        if b.u8() % 4 != 0 {
            let ignore = if b.u8() % 4 == 0 { Some(i64::from(b.u8() % 8)) } else { None };
            if let Some(ig) = ignore {
                opts.has_ignore_index = 1;
                opts.ignore_index = ig;
                core.ignore_index = Some(ig);
            }
            let hi = if c == 1 { 2 } else { c as i64 };
            let l: Vec<i64> = (0..n * per)
                .map(|_| if b.u8() % 64 == 0 { i64::from(b.u8()) } else { i64::from(b.u8()) % hi })
                .collect();
            bad_label = l.iter().any(|&x| (x < 0 || x >= hi) && Some(x) != ignore);
            let (code, bits) = match b.u8() % 4 {
                0 => (dice::DICE_DTYPE_UINT, 16),
                1 => (dice::DICE_DTYPE_INT, 32),
                2 => (dice::DICE_DTYPE_INT, 64),
                _ => (dice::DICE_DTYPE_UINT, 8),
            };
            let mut lshape = vec![n];
            if b.bool() {
                lshape.push(1);
            }
            lshape.extend_from_slice(&shape[2..]);
            let words: Vec<u64> = l.iter().map(|&x| x as u64).collect();
            let (buf, st, off) = lay_out(&lshape, usize::from(bits) / 8, b.bool(), &words);
            let mut d = Desc::contiguous(&lshape, code, bits);
            d.strides = Some(st);
            d.byte_offset = off;
            labels = Some(l);
            dense = None;
            target_buf = buf;
            target_desc = d;
        } else {
            let t: Vec<f64> = (0..numel).map(|_| f64::from(b.u8() % 3) / 2.0).collect();
            let (buf, st, off) = lay_out(&shape, es, b.bool(), &float_words(&t, f64_input));
            let mut d = Desc::contiguous(&shape, dice::DICE_DTYPE_FLOAT, es as u8 * 8);
            d.strides = Some(st);
            d.byte_offset = off;
            labels = None;
            dense = Some(t);
            target_buf = buf;
            target_desc = d;
        }
        let mut p = Problem {
            shape,
            f64_input,
            input,
            input_buf,
            input_desc,
            labels,
            dense,
            target_buf,
            target_desc,
            opts,
            core_opts: core,
            exotic,
            bad_label,
            weights,
        };
        if !p.weights.is_empty() {
            p.opts.weight = p.weights.as_ptr();
            p.opts.weight_len = p.weights.len();
        }
        p
    }

    pub fn input_tensor(&mut self) -> DiceTensor {
        self.input_desc.tensor(self.input_buf.as_mut_ptr().cast())
    }
    pub fn target_tensor(&mut self) -> DiceTensor {
        self.target_desc.tensor(self.target_buf.as_mut_ptr().cast())
    }
    pub fn numel(&self) -> usize {
        self.shape.iter().product()
    }
    /// The grad descriptor: the input's shape and dtype, C-contiguous, over `g`.
    pub fn grad_desc(&self) -> Desc {
        Desc::contiguous(&self.shape, dice::DICE_DTYPE_FLOAT, if self.f64_input { 64 } else { 32 })
    }
    /// Reads a float output of the input's dtype as f64.
    pub fn read_floats(&self, g: &Guarded) -> Vec<f64> {
        if self.f64_input { g.values::<f64>() } else { g.values::<f32>().into_iter().map(f64::from).collect() }
    }
    pub fn grad_buffer(&self) -> Guarded {
        if self.f64_input { Guarded::of::<f64>(self.numel()) } else { Guarded::of::<f32>(self.numel()) }
    }

    /// The scalar oracle (dice_core::reference) on the logical f64 values.
    pub fn oracle(&self) -> dice_core::reference::Reference {
        use dice_core::{Labels, Target, TensorView};
        let inp = TensorView::contiguous("input", &self.input, &self.shape).unwrap();
        let per: Vec<usize> = self.shape[2..].to_vec();
        let mut lshape = vec![self.shape[0]];
        lshape.extend_from_slice(&per);
        match (&self.labels, &self.dense) {
            (Some(l), _) => {
                let lv = TensorView::contiguous("target", l, &lshape).unwrap();
                let t: Target<'_, f64> = Target::Labels(Labels::I64(lv));
                dice_core::reference::dice_reference(&inp, &t, &self.core_opts)
            }
            (None, Some(d)) => {
                let t = Target::Dense(TensorView::contiguous("target", d, &self.shape).unwrap());
                dice_core::reference::dice_reference(&inp, &t, &self.core_opts)
            }
            _ => unreachable!(),
        }
    }
    /// Tolerance of comparisons with the oracle (float32 inputs round on the way in).
    pub fn tol(&self) -> f64 {
        if self.f64_input { 1e-9 } else { 1e-4 }
    }
    /// The input rounded to its dtype, for the oracle.
    pub fn round_input(&mut self) {
        if !self.f64_input {
            for v in self.input.iter_mut() {
                *v = f64::from(*v as f32);
            }
            if let Some(d) = self.dense.as_mut() {
                for v in d.iter_mut() {
                    *v = f64::from(*v as f32);
                }
            }
        }
    }
}
