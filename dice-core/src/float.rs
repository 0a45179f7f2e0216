//! The element types the engine computes in (f32, f64) and their SIMD vocabulary.
//!
//! `Float` maps each operation onto pulp's per-type methods, so one generic kernel serves
//! both precisions and every backend (AVX-512, AVX2/FMA, NEON, scalar). Everything here is
//! `#[inline(always)]`: a non-inlined helper inside `with_simd` loses the target features.

use pulp::Simd;

#[allow(missing_docs)] // one-to-one with pulp's per-type operations of the same names
/// A floating-point element type with SIMD lanes and a same-width integer type for labels.
pub trait Float:
    crate::engine::Passes + Copy + Send + Sync + PartialOrd + Default + std::fmt::Debug + 'static
{
    /// Same-width unsigned integer (decoded labels live in these lanes).
    type Bits: Copy + Send + Sync + Default + Eq + std::fmt::Debug + 'static;
    /// SIMD vector of `Self` on backend `S`.
    type V<S: Simd>: Copy;
    /// SIMD vector of `Bits` on backend `S`.
    type B<S: Simd>: Copy;
    /// Lane mask on backend `S`.
    type M<S: Simd>: Copy;

    /// Name used in messages.
    const NAME: &'static str;
    /// Decoded label meaning "masked out" (ignore_index).
    const IGNORED: Self::Bits;

    fn from_f64(x: f64) -> Self;
    fn to_f64(self) -> f64;
    fn bits_from_usize(x: usize) -> Self::Bits;

    fn lanes<S: Simd>() -> usize;
    fn as_simd<S: Simd>(x: &[Self]) -> &[Self::V<S>];
    fn as_simd_mut<S: Simd>(x: &mut [Self]) -> &mut [Self::V<S>];
    fn as_simd_bits<S: Simd>(x: &[Self::Bits]) -> &[Self::B<S>];

    fn splat<S: Simd>(s: S, x: Self) -> Self::V<S>;
    fn splat_bits<S: Simd>(s: S, x: Self::Bits) -> Self::B<S>;
    fn add<S: Simd>(s: S, a: Self::V<S>, b: Self::V<S>) -> Self::V<S>;
    fn sub<S: Simd>(s: S, a: Self::V<S>, b: Self::V<S>) -> Self::V<S>;
    fn mul<S: Simd>(s: S, a: Self::V<S>, b: Self::V<S>) -> Self::V<S>;
    fn div<S: Simd>(s: S, a: Self::V<S>, b: Self::V<S>) -> Self::V<S>;
    /// a * b + c, fused where the backend has FMA.
    fn mul_add<S: Simd>(s: S, a: Self::V<S>, b: Self::V<S>, c: Self::V<S>) -> Self::V<S>;
    fn max<S: Simd>(s: S, a: Self::V<S>, b: Self::V<S>) -> Self::V<S>;
    fn min<S: Simd>(s: S, a: Self::V<S>, b: Self::V<S>) -> Self::V<S>;
    fn lt_v<S: Simd>(s: S, a: Self::V<S>, b: Self::V<S>) -> Self::M<S>;
    fn eq_v<S: Simd>(s: S, a: Self::V<S>, b: Self::V<S>) -> Self::M<S>;
    fn eq_bits<S: Simd>(s: S, a: Self::B<S>, b: Self::B<S>) -> Self::M<S>;
    fn select<S: Simd>(s: S, m: Self::M<S>, a: Self::V<S>, b: Self::V<S>) -> Self::V<S>;
    fn reduce_sum<S: Simd>(s: S, a: Self::V<S>) -> Self;
    fn abs<S: Simd>(s: S, a: Self::V<S>) -> Self::V<S>;
    /// e^x, vectorised; NaN propagates, results below the normal range flush to 0.
    fn exp<S: Simd>(s: S, x: Self::V<S>) -> Self::V<S>;
    /// e^x for x <= 0 or NaN (a max-subtracted softmax), cheaper than `exp`: no overflow
    /// clamp, and below the normal range the result is e^LO (about the smallest normal), not 0.
    fn exp_nonpositive<S: Simd>(s: S, x: Self::V<S>) -> Self::V<S>;
    /// ln x, vectorised: -inf at 0, NaN below 0 and for NaN, +inf at +inf; subnormals exact.
    fn ln<S: Simd>(s: S, x: Self::V<S>) -> Self::V<S>;
    /// ln(1 + e) for e in [0, 1] (softplus of -|x|, e = e^-|x|), without rounding 1 + e first:
    /// 2 atanh(u), u = e / (2 + e) in [0, 1/3], by the series 2 (u + u^3/3 + u^5/5 + ...)
    /// through u^13 for f32 and u^31 for f64 (truncation below 1.5e-8 and 6e-17 relative).
    #[inline(always)]
    fn ln_1p_unit<S: Simd>(s: S, e: Self::V<S>) -> Self::V<S> {
        let terms: u32 = if core::mem::size_of::<Self>() == 4 { 7 } else { 16 };
        let u = Self::div(s, e, Self::add(s, e, Self::splat(s, Self::from_f64(2.0))));
        let z = Self::mul(s, u, u);
        let mut p = Self::splat(s, Self::from_f64(1.0 / f64::from(2 * terms - 1)));
        for k in (0..terms - 1).rev() {
            p = Self::mul_add(s, p, z, Self::splat(s, Self::from_f64(1.0 / f64::from(2 * k + 1))));
        }
        Self::mul(s, Self::add(s, u, u), p)
    }
}

macro_rules! impl_float {
    ($t:ident, $bits:ident, $v:ident, $b:ident, $m:ident, $exp:ident, $ln:ident, $abs:ident,
     $as_simd:ident, $as_mut_simd:ident, $as_simd_bits:ident, $splat:ident, $splat_bits:ident,
     $add:ident, $sub:ident, $mul:ident, $div:ident, $fma:ident, $max:ident, $min:ident,
     $lt:ident, $eq:ident, $eq_bits:ident, $select:ident, $reduce_sum:ident) => {
        impl Float for $t {
            type Bits = $bits;
            type V<S: Simd> = S::$v;
            type B<S: Simd> = S::$b;
            type M<S: Simd> = S::$m;
            const NAME: &'static str = stringify!($t);
            const IGNORED: $bits = $bits::MAX;

            #[inline(always)]
            fn from_f64(x: f64) -> Self {
                x as $t
            }
            #[inline(always)]
            fn to_f64(self) -> f64 {
                self as f64
            }
            #[inline(always)]
            fn bits_from_usize(x: usize) -> $bits {
                x as $bits
            }
            #[inline(always)]
            fn lanes<S: Simd>() -> usize {
                core::mem::size_of::<S::$v>() / core::mem::size_of::<$t>()
            }
            #[inline(always)]
            fn as_simd<S: Simd>(x: &[Self]) -> &[Self::V<S>] {
                S::$as_simd(x).0
            }
            #[inline(always)]
            fn as_simd_mut<S: Simd>(x: &mut [Self]) -> &mut [Self::V<S>] {
                S::$as_mut_simd(x).0
            }
            #[inline(always)]
            fn as_simd_bits<S: Simd>(x: &[$bits]) -> &[Self::B<S>] {
                S::$as_simd_bits(x).0
            }
            #[inline(always)]
            fn splat<S: Simd>(s: S, x: Self) -> Self::V<S> {
                s.$splat(x)
            }
            #[inline(always)]
            fn splat_bits<S: Simd>(s: S, x: $bits) -> Self::B<S> {
                s.$splat_bits(x)
            }
            #[inline(always)]
            fn add<S: Simd>(s: S, a: Self::V<S>, b: Self::V<S>) -> Self::V<S> {
                s.$add(a, b)
            }
            #[inline(always)]
            fn sub<S: Simd>(s: S, a: Self::V<S>, b: Self::V<S>) -> Self::V<S> {
                s.$sub(a, b)
            }
            #[inline(always)]
            fn mul<S: Simd>(s: S, a: Self::V<S>, b: Self::V<S>) -> Self::V<S> {
                s.$mul(a, b)
            }
            #[inline(always)]
            fn div<S: Simd>(s: S, a: Self::V<S>, b: Self::V<S>) -> Self::V<S> {
                s.$div(a, b)
            }
            #[inline(always)]
            fn mul_add<S: Simd>(s: S, a: Self::V<S>, b: Self::V<S>, c: Self::V<S>) -> Self::V<S> {
                s.$fma(a, b, c)
            }
            #[inline(always)]
            fn max<S: Simd>(s: S, a: Self::V<S>, b: Self::V<S>) -> Self::V<S> {
                s.$max(a, b)
            }
            #[inline(always)]
            fn min<S: Simd>(s: S, a: Self::V<S>, b: Self::V<S>) -> Self::V<S> {
                s.$min(a, b)
            }
            #[inline(always)]
            fn lt_v<S: Simd>(s: S, a: Self::V<S>, b: Self::V<S>) -> Self::M<S> {
                s.$lt(a, b)
            }
            #[inline(always)]
            fn eq_v<S: Simd>(s: S, a: Self::V<S>, b: Self::V<S>) -> Self::M<S> {
                s.$eq(a, b)
            }
            #[inline(always)]
            fn eq_bits<S: Simd>(s: S, a: Self::B<S>, b: Self::B<S>) -> Self::M<S> {
                s.$eq_bits(a, b)
            }
            #[inline(always)]
            fn select<S: Simd>(s: S, m: Self::M<S>, a: Self::V<S>, b: Self::V<S>) -> Self::V<S> {
                s.$select(m, a, b)
            }
            #[inline(always)]
            fn reduce_sum<S: Simd>(s: S, a: Self::V<S>) -> Self {
                s.$reduce_sum(a)
            }
            #[inline(always)]
            fn abs<S: Simd>(s: S, a: Self::V<S>) -> Self::V<S> {
                s.$abs(a)
            }
            #[inline(always)]
            fn exp<S: Simd>(s: S, x: Self::V<S>) -> Self::V<S> {
                $exp::<S, true>(s, x)
            }
            #[inline(always)]
            fn exp_nonpositive<S: Simd>(s: S, x: Self::V<S>) -> Self::V<S> {
                $exp::<S, false>(s, x)
            }
            #[inline(always)]
            fn ln<S: Simd>(s: S, x: Self::V<S>) -> Self::V<S> {
                $ln(s, x)
            }
        }
    };
}

impl_float!(
    f32,
    u32,
    f32s,
    u32s,
    m32s,
    exp_f32,
    ln_f32,
    abs_f32s,
    as_simd_f32s,
    as_mut_simd_f32s,
    as_simd_u32s,
    splat_f32s,
    splat_u32s,
    add_f32s,
    sub_f32s,
    mul_f32s,
    div_f32s,
    mul_add_e_f32s,
    max_f32s,
    min_f32s,
    less_than_f32s,
    equal_f32s,
    equal_u32s,
    select_f32s,
    reduce_sum_f32s
);
impl_float!(
    f64,
    u64,
    f64s,
    u64s,
    m64s,
    exp_f64,
    ln_f64,
    abs_f64s,
    as_simd_f64s,
    as_mut_simd_f64s,
    as_simd_u64s,
    splat_f64s,
    splat_u64s,
    add_f64s,
    sub_f64s,
    mul_f64s,
    div_f64s,
    mul_add_e_f64s,
    max_f64s,
    min_f64s,
    less_than_f64s,
    equal_f64s,
    equal_u64s,
    select_f64s,
    reduce_sum_f64s
);

/// e^x for f32 lanes. x = n ln2 + r with n = round(x / ln2) (two-constant Cody-Waite, |r| <=
/// ln2/2), e^r by a degree-6 polynomial (minimax for the relative error on [-ln2/2, ln2/2],
/// computed by Remez exchange: 1.9e-9), 2^n built in the exponent bits. Inputs are clamped by
/// `select` (not max/min, which drop NaN on some backends) so NaN propagates. With `FULL`,
/// large x saturate at e^88.7 and below -87.3 the result is 0 (the normal range ends there);
/// without, x must be <= 0 and below -87.3 the result is e^-87.3. AVX-512 runs
/// [`exp_f32_v4`] instead.
#[inline(always)]
fn exp_f32<S: Simd, const FULL: bool>(s: S, x: S::f32s) -> S::f32s {
    const LO: f32 = -87.3;
    const HI: f32 = 88.7;
    #[cfg(target_arch = "x86_64")]
    if let Some(&v4) = (&s as &dyn core::any::Any).downcast_ref::<pulp::x86::V4>() {
        return pulp::bytemuck::cast(exp_f32_v4::<FULL>(v4, pulp::bytemuck::cast(x), LO, HI));
    }
    let lo = s.splat_f32s(LO);
    let too_small = s.less_than_f32s(x, lo);
    let mut xc = s.select_f32s(too_small, lo, x);
    if FULL {
        let hi = s.splat_f32s(HI);
        xc = s.select_f32s(s.less_than_f32s(hi, xc), hi, xc);
    }
    let (t, _, p) = exp_reduced_f32(s, xc);
    let bits = pulp::bytemuck::cast::<S::f32s, S::u32s>(t);
    let e = s.add_u32s(bits, s.splat_u32s(127u32.wrapping_sub(0x4B40_0000)));
    let scale =
        pulp::bytemuck::cast::<S::u32s, S::f32s>(s.wrapping_dyn_shl_u32s(e, s.splat_u32s(23)));
    let y = s.mul_f32s(p, scale);
    if FULL { s.select_f32s(too_small, s.splat_f32s(0.0), y) } else { y }
}

/// For x in the clamped range: t = x log2e + MAGIC (n in its low bits), n, and p = e^r, so
/// that e^x = p 2^n.
#[inline(always)]
fn exp_reduced_f32<S: Simd>(s: S, xc: S::f32s) -> (S::f32s, S::f32s, S::f32s) {
    const MAGIC: f32 = 12_582_912.0; // 1.5 * 2^23: adding it rounds to an integer in the low bits
    let t = s.mul_add_e_f32s(xc, s.splat_f32s(std::f32::consts::LOG2_E), s.splat_f32s(MAGIC));
    let n = s.sub_f32s(t, s.splat_f32s(MAGIC));
    let r = s.mul_add_e_f32s(n, s.splat_f32s(-0.693_145_751_953_125), xc);
    let r = s.mul_add_e_f32s(n, s.splat_f32s(-1.428_606_765_330_187e-6), r);
    let mut p = s.splat_f32s(1.383_684_6e-3);
    for c in [8.374_815_8e-3, 4.166_822_6e-2, 0.166_664_2, 0.499_999_92, 1.0, 1.0] {
        p = s.mul_add_e_f32s(p, r, s.splat_f32s(c));
    }
    (t, n, p)
}

/// [`exp_f32`] on AVX-512 in three instructions fewer per vector (the exponentials bound the
/// softmax sweep): the clamps are `vmaxps(lo, x)` and `vminps(hi, x)`, which return x when x
/// is NaN, instead of compares and blends, and p 2^n is one `vscalefps` instead of building
/// 2^n in the exponent bits and multiplying. Results are those of the portable path (p 2^n is
/// exact wherever it is normal), except that just below the `FULL` clamp at 88.7, where the
/// portable 2^128 is infinite, this gives the finite p 2^128.
#[cfg(target_arch = "x86_64")]
#[inline(always)]
fn exp_f32_v4<const FULL: bool>(
    v: pulp::x86::V4,
    x: pulp::f32x16,
    lo: f32,
    hi: f32,
) -> pulp::f32x16 {
    use core::arch::x86_64::__m512;
    use pulp::bytemuck::cast;
    let mut xc: __m512 = v.avx512f._mm512_max_ps(cast(v.splat_f32s(lo)), cast(x));
    if FULL {
        xc = v.avx512f._mm512_min_ps(cast(v.splat_f32s(hi)), xc);
    }
    let (_, n, p) = exp_reduced_f32(v, cast(xc));
    let y = cast(v.avx512f._mm512_scalef_ps(cast(p), cast(n)));
    if FULL {
        v.select_f32s(v.less_than_f32s(x, v.splat_f32s(lo)), v.splat_f32s(0.0), y)
    } else {
        y
    }
}

/// e^x for f64 lanes: the same scheme, Taylor to degree 13 (truncation < 2e-16 relative),
/// range [-708.3, 709.7].
#[inline(always)]
fn exp_f64<S: Simd, const FULL: bool>(s: S, x: S::f64s) -> S::f64s {
    const LO: f64 = -708.3;
    const HI: f64 = 709.7;
    const MAGIC: f64 = 6_755_399_441_055_744.0; // 1.5 * 2^52
    let lo = s.splat_f64s(LO);
    let too_small = s.less_than_f64s(x, lo);
    let mut xc = s.select_f64s(too_small, lo, x);
    if FULL {
        let hi = s.splat_f64s(HI);
        xc = s.select_f64s(s.less_than_f64s(hi, xc), hi, xc);
    }
    let t = s.mul_add_e_f64s(xc, s.splat_f64s(std::f64::consts::LOG2_E), s.splat_f64s(MAGIC));
    let n = s.sub_f64s(t, s.splat_f64s(MAGIC));
    let r = s.mul_add_e_f64s(n, s.splat_f64s(-6.931_471_803_691_238_2e-1), xc);
    let r = s.mul_add_e_f64s(n, s.splat_f64s(-1.908_214_929_270_587_7e-10), r);
    let mut inv_fact = [1.0f64; 14];
    let mut k = 1;
    while k < 14 {
        inv_fact[k] = inv_fact[k - 1] / k as f64;
        k += 1;
    }
    let mut p = s.splat_f64s(inv_fact[13]);
    for k in (0..13).rev() {
        p = s.mul_add_e_f64s(p, r, s.splat_f64s(inv_fact[k]));
    }
    let bits = pulp::bytemuck::cast::<S::f64s, S::u64s>(t);
    let e = s.add_u64s(bits, s.splat_u64s(1023u64.wrapping_sub(0x4338_0000_0000_0000)));
    let scale = pulp::bytemuck::cast::<S::u64s, S::f64s>(s.mul_u64s(e, s.splat_u64s(1u64 << 52)));
    let y = s.mul_f64s(p, scale);
    if FULL { s.select_f64s(too_small, s.splat_f64s(0.0), y) } else { y }
}

// ln x = e ln2 + ln m with x = m 2^e, m in [sqrt(1/2), sqrt(2)); ln m = 2 atanh(u),
// u = (m - 1) / (m + 1), |u| <= 0.1716, by its series 2 (u + u^3/3 + u^5/5 + ...): degree 11 for
// f32 (truncation < 3e-9), 21 for f64 (< 3e-17). Subnormals are scaled by 2^k first; the special
// values (0, negative, inf, NaN) are patched in with `select`.

#[cfg(target_endian = "big")]
compile_error!(
    "ln_f64 reads the exponent through the high 32-bit half of each lane (little-endian)"
);

/// ln x for f32 lanes.
#[inline(always)]
fn ln_f32<S: Simd>(s: S, x: S::f32s) -> S::f32s {
    #[cfg(target_arch = "x86_64")]
    if let Some(&v4) = (&s as &dyn core::any::Any).downcast_ref::<pulp::x86::V4>() {
        return pulp::bytemuck::cast(ln_f32_v4(v4, pulp::bytemuck::cast(x)));
    }
    let sub = s.less_than_f32s(x, s.splat_f32s(f32::MIN_POSITIVE));
    let xs = s.select_f32s(sub, s.mul_f32s(x, s.splat_f32s(16_777_216.0)), x); // 2^24
    let bits = pulp::bytemuck::cast::<S::f32s, S::u32s>(xs);
    let mant = s.or_u32s(s.and_u32s(bits, s.splat_u32s(0x007F_FFFF)), s.splat_u32s(0x3F80_0000));
    let m = pulp::bytemuck::cast::<S::u32s, S::f32s>(mant);
    let eb = s.and_u32s(s.wrapping_dyn_shr_u32s(bits, s.splat_u32s(23)), s.splat_u32s(0xFF));
    let ef = pulp::bytemuck::cast::<S::u32s, S::f32s>(s.or_u32s(eb, s.splat_u32s(0x4B00_0000))); // 2^23 + e
    let e = s.sub_f32s(ef, s.splat_f32s(8_388_608.0 + 127.0));
    let e = s.sub_f32s(e, s.select_f32s(sub, s.splat_f32s(24.0), s.splat_f32s(0.0)));
    ln_specials_f32(s, x, ln_mantissa_f32(s, m, e))
}

/// [`ln_f32`] on AVX-512, in about half its instructions: `vgetexpps` and `vgetmantps` split
/// x = m 2^e with m in [1, 2) (subnormals normalised), and they give the special values
/// without selects: e = -inf at +-0 (ln = -inf), +inf at +inf, NaN for NaN, and a NaN
/// mantissa for x < 0 (sign control).
#[cfg(target_arch = "x86_64")]
#[inline(always)]
fn ln_f32_v4(v: pulp::x86::V4, x: pulp::f32x16) -> pulp::f32x16 {
    use core::arch::x86_64::{__m512, _MM_MANT_NORM_1_2, _MM_MANT_SIGN_NAN};
    use pulp::bytemuck::cast;
    let xm: __m512 = cast(x);
    let e = v.avx512f._mm512_getexp_ps(xm);
    let m = v.avx512f._mm512_getmant_ps::<_MM_MANT_NORM_1_2, _MM_MANT_SIGN_NAN>(xm);
    cast(ln_mantissa_f32(v, cast(m), cast(e)))
}

/// e ln2 + ln m for m in [1, 2]: m > sqrt 2 is halved (e + 1), then ln m = 2 atanh(u),
/// u = (m - 1) / (m + 1), |u| <= 0.172, by its odd series.
#[inline(always)]
fn ln_mantissa_f32<S: Simd>(s: S, mut m: S::f32s, mut e: S::f32s) -> S::f32s {
    let big = s.less_than_f32s(s.splat_f32s(std::f32::consts::SQRT_2), m);
    m = s.select_f32s(big, s.mul_f32s(m, s.splat_f32s(0.5)), m);
    e = s.add_f32s(e, s.select_f32s(big, s.splat_f32s(1.0), s.splat_f32s(0.0)));
    let u = s.div_f32s(s.sub_f32s(m, s.splat_f32s(1.0)), s.add_f32s(m, s.splat_f32s(1.0)));
    let z = s.mul_f32s(u, u);
    let mut p = s.splat_f32s(1.0 / 11.0);
    for k in [9.0f32, 7.0, 5.0, 3.0, 1.0] {
        p = s.mul_add_e_f32s(p, z, s.splat_f32s(1.0 / k));
    }
    let lnm = s.mul_f32s(s.add_f32s(u, u), p);
    s.mul_add_e_f32s(e, s.splat_f32s(std::f32::consts::LN_2), lnm)
}

#[inline(always)]
fn ln_specials_f32<S: Simd>(s: S, x: S::f32s, y: S::f32s) -> S::f32s {
    let zero = s.splat_f32s(0.0);
    let y = s.select_f32s(s.equal_f32s(x, zero), s.splat_f32s(f32::NEG_INFINITY), y);
    let y = s.select_f32s(s.less_than_f32s(x, zero), s.splat_f32s(f32::NAN), y);
    let y = s.select_f32s(s.equal_f32s(x, s.splat_f32s(f32::INFINITY)), x, y);
    s.select_f32s(s.equal_f32s(x, x), y, x) // NaN in, NaN out
}

/// ln x for f64 lanes. The one-lane backend (`pulp::Scalar`, whose u32 and u64 vectors differ
/// in size) calls libm instead.
#[inline(always)]
fn ln_f64<S: Simd>(s: S, x: S::f64s) -> S::f64s {
    if core::mem::size_of::<S::u32s>() != core::mem::size_of::<S::u64s>() {
        return pulp::bytemuck::cast(pulp::bytemuck::cast::<S::f64s, f64>(x).ln());
    }
    let sub = s.less_than_f64s(x, s.splat_f64s(f64::MIN_POSITIVE));
    let xs = s.select_f64s(sub, s.mul_f64s(x, s.splat_f64s(18_014_398_509_481_984.0)), x); // 2^54
    let bits = pulp::bytemuck::cast::<S::f64s, S::u64s>(xs);
    let mant = s.or_u64s(
        s.and_u64s(bits, s.splat_u64s(0x000F_FFFF_FFFF_FFFF)),
        s.splat_u64s(0x3FF0_0000_0000_0000),
    );
    let m = pulp::bytemuck::cast::<S::u64s, S::f64s>(mant);
    // the exponent field moved down 20 bits inside the high half: e_biased * 2^32
    let halves =
        s.wrapping_dyn_shr_u32s(pulp::bytemuck::cast::<S::u64s, S::u32s>(bits), s.splat_u32s(20));
    let eb = s.and_u64s(
        pulp::bytemuck::cast::<S::u32s, S::u64s>(halves),
        s.splat_u64s(0x0000_07FF_0000_0000),
    );
    let ef = pulp::bytemuck::cast::<S::u64s, S::f64s>(
        s.or_u64s(eb, s.splat_u64s(0x4330_0000_0000_0000)),
    ); // 2^52 + e 2^32
    let ef = s.sub_f64s(ef, s.splat_f64s(4_503_599_627_370_496.0)); // - 2^52
    let e = s.mul_add_e_f64s(ef, s.splat_f64s(1.0 / 4_294_967_296.0), s.splat_f64s(-1023.0));
    let e = s.sub_f64s(e, s.select_f64s(sub, s.splat_f64s(54.0), s.splat_f64s(0.0)));
    let y = ln_mantissa_f64(s, m, e);
    let zero = s.splat_f64s(0.0);
    let y = s.select_f64s(s.equal_f64s(x, zero), s.splat_f64s(f64::NEG_INFINITY), y);
    let y = s.select_f64s(s.less_than_f64s(x, zero), s.splat_f64s(f64::NAN), y);
    let y = s.select_f64s(s.equal_f64s(x, s.splat_f64s(f64::INFINITY)), x, y);
    s.select_f64s(s.equal_f64s(x, x), y, x)
}

/// e ln2 + ln m for m in [1, 2], as [`ln_mantissa_f32`] with the series to u^21.
#[inline(always)]
fn ln_mantissa_f64<S: Simd>(s: S, mut m: S::f64s, mut e: S::f64s) -> S::f64s {
    let big = s.less_than_f64s(s.splat_f64s(std::f64::consts::SQRT_2), m);
    m = s.select_f64s(big, s.mul_f64s(m, s.splat_f64s(0.5)), m);
    e = s.add_f64s(e, s.select_f64s(big, s.splat_f64s(1.0), s.splat_f64s(0.0)));
    let u = s.div_f64s(s.sub_f64s(m, s.splat_f64s(1.0)), s.add_f64s(m, s.splat_f64s(1.0)));
    let z = s.mul_f64s(u, u);
    let mut p = s.splat_f64s(1.0 / 21.0);
    for k in [19.0f64, 17.0, 15.0, 13.0, 11.0, 9.0, 7.0, 5.0, 3.0, 1.0] {
        p = s.mul_add_e_f64s(p, z, s.splat_f64s(1.0 / k));
    }
    let lnm = s.mul_f64s(s.add_f64s(u, u), p);
    // e ln2 split in two so the product is exact for |e| < 2^11
    s.mul_add_e_f64s(
        e,
        s.splat_f64s(6.931_471_803_691_238_2e-1),
        s.mul_add_e_f64s(e, s.splat_f64s(1.908_214_929_270_587_7e-10), lnm),
    )
}
