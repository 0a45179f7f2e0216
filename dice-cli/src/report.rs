//! Output writers: the summary table (stdout), the per-case CSV and the JSON summary.

use crate::evaluate::{CaseResult, Settings};
use crate::metric::Metric;
use crate::summary::{Summary, target_key};
use serde_json::{Map, Value, json};
use std::fmt::Write as _;

/// A number as the CSV holds it: shortest round-trip form; nan, inf, -inf.
pub fn csv_number(v: f64) -> String {
    if v.is_nan() {
        "nan".into()
    } else if v.is_infinite() {
        if v > 0.0 { "inf".into() } else { "-inf".into() }
    } else {
        format!("{v}")
    }
}

fn table_number(v: f64, m: Metric) -> String {
    if !v.is_finite() {
        return csv_number(v);
    }
    if m.better() == crate::metric::Better::Neither && v.fract() == 0.0 && v.abs() < 1e15 {
        format!("{v:.0}")
    } else if v.abs() >= 1e12 {
        format!("{v:.4e}")
    } else if v.abs() >= 1e4 {
        format!("{v:.1}")
    } else {
        format!("{v:.4}")
    }
}

/// The summary table: one block per target, one line per metric.
pub fn table(summary: &Summary, s: &Settings, cases_done: usize, failed: usize) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{cases_done} cases scored{}; convention {}, tolerance {} mm, empty ground truth: {}",
        if failed > 0 { format!(", {failed} failed") } else { String::new() },
        format!("{:?}", s.convention).to_lowercase(),
        s.tolerance,
        format!("{:?}", s.empty).to_lowercase()
    );
    let _ = writeln!(
        out,
        "{:<10} {:<12} {:>5} {:>12} {:>12} {:>12} {:>12}  worst case",
        "label", "metric", "n", "mean", "std", "median", "worst"
    );
    for (t, stats) in &summary.per_target {
        for (st, &m) in stats.iter().zip(&s.metrics) {
            let (worst, case) = match &st.worst {
                Some((v, c)) => (table_number(*v, m), c.as_str()),
                None => ("-".into(), ""),
            };
            let _ = writeln!(
                out,
                "{:<10} {:<12} {:>5} {:>12} {:>12} {:>12} {:>12}  {case}",
                t.name(),
                m.name(),
                st.n,
                table_number(st.mean, m),
                table_number(st.std, m),
                table_number(st.median, m),
                worst
            );
        }
    }
    if summary.per_target.is_empty() {
        let _ = writeln!(out, "(no label scored)");
    }
    out
}

fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_owned()
    }
}

/// One row per (case, target): case, label, pred, gt, then the metrics.
pub fn csv(cases: &[CaseResult], metrics: &[Metric]) -> String {
    let mut out = String::from("case,label,pred,gt");
    for m in metrics {
        out.push(',');
        out.push_str(m.name());
    }
    out.push('\n');
    for c in cases {
        let mut rows: Vec<_> = c.rows.iter().collect();
        rows.sort_by_key(|r| target_key(&r.target));
        for r in rows {
            let _ = write!(
                out,
                "{},{},{},{}",
                csv_field(&c.id),
                r.target.name(),
                csv_field(&c.pred.display().to_string()),
                csv_field(&c.gt.display().to_string())
            );
            for &v in &r.values {
                out.push(',');
                out.push_str(&csv_number(v));
            }
            out.push('\n');
        }
    }
    out
}

/// A number as JSON holds it: NaN is null, infinities are the strings "inf" / "-inf".
fn json_number(v: f64) -> Value {
    if v.is_nan() {
        Value::Null
    } else if v.is_infinite() {
        Value::String(csv_number(v))
    } else {
        json!(v)
    }
}

fn metric_map(values: impl Iterator<Item = f64>, metrics: &[Metric]) -> Value {
    Value::Object(
        metrics
            .iter()
            .zip(values)
            .map(|(m, v)| (m.name().to_owned(), json_number(v)))
            .collect::<Map<_, _>>(),
    )
}

/// nnU-Net-style summary: settings, per-case scores, per-target means, foreground mean, failures.
pub fn json(
    cases: &[CaseResult],
    failed: &[(String, String)],
    summary: &Summary,
    s: &Settings,
) -> String {
    let per_case: Vec<Value> = cases
        .iter()
        .map(|c| {
            let mut rows: Vec<_> = c.rows.iter().collect();
            rows.sort_by_key(|r| target_key(&r.target));
            let metrics: Map<String, Value> = rows
                .iter()
                .map(|r| (r.target.name(), metric_map(r.values.iter().copied(), &s.metrics)))
                .collect();
            json!({
                "case": c.id,
                "prediction_file": c.pred.display().to_string(),
                "reference_file": c.gt.display().to_string(),
                "shape": c.shape,
                "spacing": c.spacing,
                "metrics": metrics,
            })
        })
        .collect();
    let mean: Map<String, Value> = summary
        .per_target
        .iter()
        .map(|(t, st)| (t.name(), metric_map(st.iter().map(|x| x.mean), &s.metrics)))
        .collect();
    let failures: Vec<Value> =
        failed.iter().map(|(id, e)| json!({"case": id, "error": e})).collect();
    let doc = json!({
        "settings": {
            "convention": format!("{:?}", s.convention).to_lowercase(),
            "tolerance_mm": s.tolerance,
            "empty": format!("{:?}", s.empty).to_lowercase(),
            "metrics": s.metrics.iter().map(|m| m.name()).collect::<Vec<_>>(),
        },
        "metric_per_case": per_case,
        "mean": mean,
        "foreground_mean": metric_map(summary.foreground.iter().copied(), &s.metrics),
        "failed": failures,
    });
    let mut text = serde_json::to_string_pretty(&doc).unwrap_or_default();
    text.push('\n');
    text
}
