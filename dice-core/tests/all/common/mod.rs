//! Shared test helpers: the reference cases and small tensor utilities.
#![allow(dead_code)]

use serde_json::Value;
use std::path::PathBuf;

mod problem;
pub use problem::{Case, IGNORED, problem};

/// The reference cases computed by the real libraries (vendored from shared/reference).
pub fn cases() -> Vec<Value> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../tests/reference/cases.json");
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    let v: Value = serde_json::from_str(&text).expect("cases.json parses");
    v["cases"].as_array().expect("cases array").clone()
}

/// An inlined array: (shape, values as f64; "nan"/"inf"/"-inf" strings decoded).
pub fn array(case: &Value, name: &str) -> (Vec<usize>, Vec<f64>) {
    let a = &case["data"][name];
    assert!(!a.is_null(), "case {} has no array {name}", case["id"]);
    let shape =
        a["shape"].as_array().unwrap().iter().map(|d| d.as_u64().unwrap() as usize).collect();
    let data = a["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| match x {
            Value::String(s) => match s.as_str() {
                "nan" => f64::NAN,
                "inf" => f64::INFINITY,
                "-inf" => f64::NEG_INFINITY,
                _ => panic!("bad number {s}"),
            },
            v => v.as_f64().unwrap(),
        })
        .collect();
    (shape, data)
}

/// |a - e| <= atol + rtol |e|, NaN matching NaN and infinities matching exactly.
pub fn close(a: f64, e: f64, atol: f64, rtol: f64) -> bool {
    if e.is_nan() {
        return a.is_nan();
    }
    if e.is_infinite() {
        return a == e;
    }
    (a - e).abs() <= atol + rtol * e.abs()
}

/// Asserts elementwise closeness with a helpful message.
pub fn assert_all_close(what: &str, got: &[f64], want: &[f64], atol: f64, rtol: f64) {
    assert_eq!(got.len(), want.len(), "{what}: length");
    let mut worst = (0usize, 0.0f64);
    for (i, (&a, &e)) in got.iter().zip(want).enumerate() {
        if !close(a, e, atol, rtol) {
            panic!("{what}: element {i}: got {a}, expected {e} (atol {atol}, rtol {rtol})");
        }
        let err = if e.is_finite() { (a - e).abs() } else { 0.0 };
        if err > worst.1 {
            worst = (i, err);
        }
    }
}

/// A reference case's input and target arrays, the input in precision T and the target both
/// as labels and as T.
pub struct Arrays<T> {
    pub input_shape: Vec<usize>,
    pub input: Vec<T>,
    pub target_shape: Vec<usize>,
    pub labels: Vec<i64>,
    pub dense: Vec<T>,
}

impl<T: dice_core::Float> Arrays<T> {
    pub fn load(case: &Value) -> Self {
        let (input_shape, x) = array(case, "input");
        let (target_shape, t) = array(case, "target");
        Arrays {
            input_shape,
            input: x.iter().map(|&v| T::from_f64(v)).collect(),
            target_shape,
            labels: t.iter().map(|&v| v as i64).collect(),
            dense: t.iter().map(|&v| T::from_f64(v)).collect(),
        }
    }

    pub fn input(&self) -> dice_core::TensorView<'_, T> {
        dice_core::TensorView::contiguous("input", &self.input, &self.input_shape).unwrap()
    }

    /// The target as a label map (`labels`) or as a dense tensor.
    pub fn target(&self, labels: bool) -> dice_core::Target<'_, T> {
        use dice_core::{Labels, Target, TensorView};
        if labels {
            Target::Labels(Labels::I64(
                TensorView::contiguous("target", &self.labels, &self.target_shape).unwrap(),
            ))
        } else {
            Target::Dense(
                TensorView::contiguous("target", &self.dense, &self.target_shape).unwrap(),
            )
        }
    }
}

/// What a loss produced on a reference case: per-entry values, the reduced loss, the input
/// gradient.
pub struct Outcome {
    pub values: Vec<f64>,
    pub loss: f64,
    pub grad: Vec<f64>,
}

/// Checks an outcome against the case's expected loss (the reduced loss where the expected
/// shape is (), else the per-entry values) and input gradient, each within (atol, rtol).
pub fn check(case: &Value, out: &Outcome, loss_tol: (f64, f64), grad_tol: (f64, f64)) {
    let id = case["id"].as_str().unwrap();
    let (_, want_loss) = array(case, "expected_loss");
    let scalar = case["expected"]["loss"]["shape"].as_array().unwrap().is_empty();
    let got = if scalar { vec![out.loss] } else { out.values.clone() };
    assert_all_close(&format!("{id} loss"), &got, &want_loss, loss_tol.0, loss_tol.1);
    let (_, want_grad) = array(case, "expected_grad_input");
    assert_all_close(&format!("{id} grad"), &out.grad, &want_grad, grad_tol.0, grad_tol.1);
}

/// Deterministic pseudo-random numbers (SplitMix64), so tests need no extra crate.
pub struct Rng(pub u64);
impl Rng {
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    /// Uniform in [lo, hi).
    pub fn uniform(&mut self, lo: f64, hi: f64) -> f64 {
        lo + (hi - lo) * (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }
}

/// The row-major multi-index of flat index `i` in `shape`.
pub fn unravel(mut i: usize, shape: &[usize]) -> Vec<usize> {
    let mut idx = vec![0; shape.len()];
    for d in (0..shape.len()).rev() {
        idx[d] = i % shape[d];
        i /= shape[d];
    }
    idx
}
