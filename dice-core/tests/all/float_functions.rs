//! The vectorised ln, ln(1 + e) on [0, 1] and exp of `Float`, on every backend the CPU has, against libm.

use dice_core::{Backend, Float};

/// Which function [`Apply`] maps over a slice.
const LN: u8 = 0;
const LN_1P_UNIT: u8 = 1;
const EXP: u8 = 2;
const EXP_NONPOSITIVE: u8 = 3;

/// Applies function `F` to a slice in place, the body on the backend's lanes and the tail
/// one lane at a time.
struct Apply<'a, T, const F: u8>(&'a mut [T]);
impl<T: Float, const F: u8> pulp::WithSimd for Apply<'_, T, F> {
    type Output = ();
    #[inline(always)]
    fn with_simd<S: pulp::Simd>(self, s: S) {
        #[inline(always)]
        fn f<S: pulp::Simd, T: Float, const F: u8>(s: S, x: T::V<S>) -> T::V<S> {
            match F {
                LN => T::ln(s, x),
                LN_1P_UNIT => T::ln_1p_unit(s, x),
                EXP => T::exp(s, x),
                _ => T::exp_nonpositive(s, x),
            }
        }
        let n = self.0.len() / T::lanes::<S>() * T::lanes::<S>();
        let (body, tail) = self.0.split_at_mut(n);
        for x in T::as_simd_mut::<S>(body) {
            *x = f::<S, T, F>(s, *x);
        }
        for x in T::as_simd_mut::<pulp::Scalar>(tail) {
            *x = f::<pulp::Scalar, T, F>(pulp::Scalar::new(), *x);
        }
    }
}

/// ln on every backend against libm.
fn check_ln<T: Float>(xs: &[f64], tol: f64) {
    for backend in Backend::available() {
        let mut v: Vec<T> = xs.iter().map(|&x| T::from_f64(x)).collect();
        backend.dispatch(Apply::<T, LN>(&mut v));
        compare::<T>(xs, &v, tol, backend);
    }
}

/// e^x against libm: relative `tol` in the normal range; 0 below it (`exp`) or at most
/// the smallest normal times 1.01 (`exp_nonpositive`); saturation above; NaN propagates.
fn check_exp<T: Float, const F: u8>(xs: &[f64], tol: f64, lo: f64) {
    for backend in Backend::available() {
        let mut v: Vec<T> = xs.iter().map(|&x| T::from_f64(x)).collect();
        backend.dispatch(Apply::<T, F>(&mut v));
        let full = F == EXP;
        for (&x, y) in xs.iter().zip(&v) {
            let (x, y) = (T::from_f64(x).to_f64(), y.to_f64());
            let e = x.exp();
            let ok = if x.is_nan() {
                y.is_nan()
            } else if x < lo {
                if full { y == 0.0 } else { y > 0.0 && y <= lo.exp() * 1.01 }
            } else if e.is_infinite() || e > T::from_f64(f64::MAX).to_f64() {
                y.is_finite() && y > 1e38
            } else {
                (y - e).abs() <= tol * e
            };
            assert!(ok, "{} {backend:?} exp (full: {full}) of {x} = {y}, expected {e}", T::NAME);
        }
    }
}

#[test]
fn exp_matches_libm() {
    let mut xs = vec![
        0.0,
        -0.0,
        1.0,
        -1.0,
        f64::NAN,
        f64::NEG_INFINITY,
        -1e4,
        -750.0,
        -90.0,
        -87.0,
        87.0,
        88.0,
    ];
    let mut x = -700.0;
    while x < 700.0 {
        xs.push(x);
        x += 0.377;
    }
    xs.extend((0..4000).map(|k| (k as f64 - 2000.0) * 1e-3 * std::f64::consts::LN_2));
    check_exp::<f64, EXP>(&xs, 4e-16, -708.3);
    let nonpos: Vec<f64> = xs.iter().copied().filter(|x| x.is_nan() || *x <= 0.0).collect();
    check_exp::<f64, EXP_NONPOSITIVE>(&nonpos, 4e-16, -708.3);
    xs.retain(|x| !(x.abs() < 1e30 && x.abs() > 88.0) || *x < -88.0);
    check_exp::<f32, EXP>(&xs, 2.5e-7, -87.3);
    let nonpos: Vec<f64> = xs.iter().copied().filter(|x| x.is_nan() || *x <= 0.0).collect();
    check_exp::<f32, EXP_NONPOSITIVE>(&nonpos, 2.5e-7, -87.3);
}

fn compare<T: Float>(xs: &[f64], v: &[T], tol: f64, backend: Backend) {
    for (&x, y) in xs.iter().zip(v) {
        let (e, y) = (T::from_f64(x).to_f64().ln(), y.to_f64());
        let ok = if e.is_nan() {
            y.is_nan()
        } else if e.is_infinite() {
            y == e
        } else {
            (y - e).abs() <= tol * e.abs().max(1e-300) + tol
        };
        assert!(ok, "{} {backend:?} ln({x}) = {y}, expected {e}", T::NAME);
    }
}

#[test]
fn ln_matches_libm() {
    let mut xs = vec![
        0.0,
        -0.0,
        -1.0,
        f64::NAN,
        f64::INFINITY,
        1.0,
        2.0,
        0.5,
        std::f64::consts::E,
        1e-310,
        5e-324,
        1e-40,
        1e300,
    ];
    let mut x = 1e-30;
    while x < 1e30 {
        xs.push(x);
        x *= 1.37;
    }
    xs.extend((1..2000).map(|k| 1.0 + (k as f64 - 1000.0) * 1e-4));
    check_ln::<f64>(&xs, 4e-16);
    xs.retain(|&x| x == 0.0 || x.is_nan() || (x.abs() > 1e-44 && x.abs() < 3e38));
    check_ln::<f32>(&xs, 3e-7);
}

#[test]
fn ln_1p_unit_matches_libm() {
    // [0, 1] densely, both ends, tiny values (relative accuracy where ln(1 + e) ~ e)
    let mut xs: Vec<f64> = (0..=20000).map(|k| k as f64 / 20000.0).collect();
    xs.extend([1e-30, 1e-12, 1e-7, f64::EPSILON, 1.0 - 1e-12, std::f64::consts::SQRT_2 - 1.0]);
    // about 1.5 ulp of our own (u, u^2 and the last products round) and 0.5 of libm's: 2.3
    // ulp at the bottom of a binade
    check_ln_1p::<f64>(&xs, 5e-16);
    check_ln_1p::<f32>(&xs, 2.5e-7);
}

/// ln_1p_unit on every backend against libm's ln_1p, relative to it (0 at 0).
fn check_ln_1p<T: Float>(xs: &[f64], tol: f64) {
    for backend in Backend::available() {
        let mut v: Vec<T> = xs.iter().map(|&x| T::from_f64(x)).collect();
        backend.dispatch(Apply::<T, LN_1P_UNIT>(&mut v));
        for (&x, y) in xs.iter().zip(&v) {
            let x = T::from_f64(x).to_f64();
            let (e, y) = (x.ln_1p(), y.to_f64());
            assert!(
                (y - e).abs() <= tol * e,
                "{} {backend:?} ln_1p_unit({x}) = {y}, expected {e}",
                T::NAME
            );
        }
    }
}
