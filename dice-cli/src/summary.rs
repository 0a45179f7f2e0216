//! Per-target statistics over cases: count, mean, std, median and the worst case of every
//! metric (NaN values left out), and nnU-Net's foreground mean (the mean of the labels' means).

use crate::evaluate::CaseResult;
use crate::metric::{Better, Metric, Target};
use std::collections::BTreeMap;

/// Statistics of one metric of one target.
#[derive(Clone, Debug)]
pub struct Stat {
    /// Values that are not NaN.
    pub n: usize,
    pub mean: f64,
    /// Population standard deviation (numpy's default).
    pub std: f64,
    pub median: f64,
    /// The worst value and its case (None for counts and volumes).
    pub worst: Option<(f64, String)>,
}

fn stat(values: &[(f64, &str)], better: Better) -> Stat {
    let mut v: Vec<(f64, &str)> = values.iter().copied().filter(|(x, _)| !x.is_nan()).collect();
    let n = v.len();
    if n == 0 {
        return Stat { n, mean: f64::NAN, std: f64::NAN, median: f64::NAN, worst: None };
    }
    let mean = v.iter().map(|x| x.0).sum::<f64>() / n as f64;
    let std = if mean.is_finite() {
        (v.iter().map(|x| (x.0 - mean).powi(2)).sum::<f64>() / n as f64).sqrt()
    } else {
        f64::NAN
    };
    v.sort_by(|a, b| a.0.total_cmp(&b.0));
    let median = if n % 2 == 1 { v[n / 2].0 } else { (v[n / 2 - 1].0 + v[n / 2].0) / 2.0 };
    let worst = match better {
        Better::Higher => Some(v[0]),
        Better::Lower => Some(v[n - 1]),
        Better::Neither => None,
    }
    .map(|(x, c)| (x, c.to_owned()));
    Stat { n, mean, std, median, worst }
}

/// Target order in every output: labels ascending, then regions.
pub fn target_key(t: &Target) -> (bool, Vec<u16>) {
    (t.is_region(), t.labels.clone())
}

/// Statistics per target (in output order), then per metric (in `metrics` order).
pub struct Summary {
    pub per_target: Vec<(Target, Vec<Stat>)>,
    /// Mean over the labels (not regions) of each metric's per-label mean; with only
    /// regions, over the regions.
    pub foreground: Vec<f64>,
}

/// Per target: the target and, per metric, its (value, case) pairs.
type Columns<'a> = (Target, Vec<Vec<(f64, &'a str)>>);

pub fn summarize(cases: &[CaseResult], metrics: &[Metric]) -> Summary {
    let mut by_target: BTreeMap<(bool, Vec<u16>), Columns<'_>> = BTreeMap::new();
    for c in cases {
        for r in &c.rows {
            let entry = by_target
                .entry(target_key(&r.target))
                .or_insert_with(|| (r.target.clone(), vec![Vec::new(); metrics.len()]));
            for (i, &v) in r.values.iter().enumerate() {
                entry.1[i].push((v, c.id.as_str()));
            }
        }
    }
    let per_target: Vec<(Target, Vec<Stat>)> = by_target
        .into_values()
        .map(|(t, cols)| {
            (t, cols.iter().zip(metrics).map(|(col, m)| stat(col, m.better())).collect())
        })
        .collect();
    let any_label = per_target.iter().any(|(t, _)| !t.is_region());
    let foreground = (0..metrics.len())
        .map(|i| {
            let means: Vec<f64> = per_target
                .iter()
                .filter(|(t, _)| t.is_region() != any_label)
                .map(|(_, s)| s[i].mean)
                .filter(|m| !m.is_nan())
                .collect();
            if means.is_empty() { f64::NAN } else { means.iter().sum::<f64>() / means.len() as f64 }
        })
        .collect();
    Summary { per_target, foreground }
}
