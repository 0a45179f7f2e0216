//! The CI regression gate: a case fails when its time-over-floor ratio grows by more than
//! `factor` against the checked-in baseline. Ratios, not times, because both the case and the
//! floor are measured in the same run on the same (noisy, possibly different) machine.
//! Rows are matched on `key` and `threads_label` ("1", "all" or a count).

use serde_json::Value;
use std::collections::BTreeMap;

/// A case whose ratio to the floor grew past the limit.
#[derive(Debug, PartialEq)]
pub struct Regression {
    /// Case key (`loss/shape/layout/labels/pass`).
    pub key: String,
    /// Threads label.
    pub threads: String,
    /// Ratio to the floor now.
    pub now: f64,
    /// Ratio to the floor in the baseline.
    pub base: f64,
}

impl std::fmt::Display for Regression {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (k, t, n, b) = (&self.key, &self.threads, self.now, self.base);
        write!(f, "{k}@{t}: {n:.2}x floor now vs {b:.2}x in the baseline ({:.1}x worse)", n / b)
    }
}

/// The outcome of a comparison.
#[derive(Debug, Default, PartialEq)]
pub struct Verdict {
    /// Cases compared.
    pub checked: usize,
    /// Cases over the limit.
    pub regressions: Vec<Regression>,
    /// Cases of this run that the baseline lacks (not gated).
    pub new: Vec<String>,
    /// Baseline cases this run did not time.
    pub missing: Vec<String>,
}

impl Verdict {
    /// True when nothing regressed.
    pub fn passed(&self) -> bool {
        self.regressions.is_empty()
    }
}

/// Ratios by (key, threads label).
fn ratios(report: &Value, what: &str) -> Result<BTreeMap<(String, String), f64>, String> {
    let cases = report["cases"].as_array().ok_or_else(|| format!("{what}: no \"cases\" array"))?;
    cases
        .iter()
        .map(|c| {
            let (Some(key), Some(thr), Some(ratio)) =
                (c["key"].as_str(), c["threads_label"].as_str(), c["ratio_to_floor"].as_f64())
            else {
                return Err(format!(
                    "{what}: a case lacks key, threads_label or ratio_to_floor: {c}"
                ));
            };
            if !(ratio.is_finite() && ratio > 0.0) {
                return Err(format!("{what}: {key}@{thr} has ratio_to_floor {ratio}"));
            }
            Ok(((key.to_string(), thr.to_string()), ratio))
        })
        .collect()
}

/// Compares `current` against `baseline` (both `dice-report --json` documents).
pub fn check(baseline: &Value, current: &Value, factor: f64) -> Result<Verdict, String> {
    let base = ratios(baseline, "baseline")?;
    let now = ratios(current, "this run")?;
    let mut v = Verdict::default();
    for (id, &r) in &now {
        match base.get(id) {
            None => v.new.push(format!("{}@{}", id.0, id.1)),
            Some(&b) => {
                v.checked += 1;
                if r > factor * b {
                    v.regressions.push(Regression {
                        key: id.0.clone(),
                        threads: id.1.clone(),
                        now: r,
                        base: b,
                    });
                }
            }
        }
    }
    v.missing =
        base.keys().filter(|k| !now.contains_key(*k)).map(|(k, t)| format!("{k}@{t}")).collect();
    Ok(v)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn doc(cases: &[(&str, &str, f64)]) -> Value {
        json!({ "cases": cases.iter().map(|(k, t, r)| json!({"key": k, "threads_label": t, "ratio_to_floor": r})).collect::<Vec<_>>() })
    }

    #[test]
    fn flags_regressions_over_the_factor_only() {
        let base = doc(&[("a", "1", 2.0), ("a", "all", 2.0), ("b", "1", 1.0)]);
        let now = doc(&[("a", "1", 3.9), ("a", "all", 4.1), ("b", "1", 0.5), ("c", "1", 9.0)]);
        let v = check(&base, &now, 2.0).unwrap();
        assert_eq!(v.checked, 3);
        assert_eq!(v.regressions.len(), 1);
        assert_eq!(
            v.regressions[0],
            Regression { key: "a".into(), threads: "all".into(), now: 4.1, base: 2.0 }
        );
        assert!(v.regressions[0].to_string().starts_with("a@all: 4.10x floor now vs 2.00x"));
        assert_eq!(v.new, vec!["c@1".to_string()]);
        assert!(v.missing.is_empty());
        assert!(!v.passed());
    }

    #[test]
    fn reports_missing_cases_and_rejects_malformed_documents() {
        let base = doc(&[("a", "1", 2.0), ("gone", "all", 1.0)]);
        let v = check(&base, &doc(&[("a", "1", 2.0)]), 2.0).unwrap();
        assert!(v.passed());
        assert_eq!(v.missing, vec!["gone@all".to_string()]);
        assert!(check(&json!({}), &base, 2.0).unwrap_err().contains("baseline"));
        assert!(check(&base, &doc(&[("a", "1", f64::NAN)]), 2.0).is_err());
        assert!(check(&base, &json!({"cases": [{"key": "a"}]}), 2.0).is_err());
    }
}
