//! Report rows: the table printed for people and the JSON written for the gate and for
//! `benchmarks/compare_pytorch.py`.

use crate::bandwidth::Bandwidth;
use serde_json::{Value, json};

/// One timed case at one thread count.
#[derive(Clone, Debug)]
pub struct Row {
    /// `loss/shape/layout/labels/pass`.
    pub key: String,
    /// Threads used.
    pub threads: usize,
    /// "1", "all" (every available core) or the count: the gate matches rows on key and label.
    pub threads_label: String,
    /// Input elements.
    pub elements: usize,
    /// Bytes the byte model says must move.
    pub bytes: usize,
    /// Seconds per call: the median, or the fastest call when re-timed by the gate.
    pub seconds: f64,
    /// "median" or "min" (the statistic `seconds` holds).
    pub statistic: &'static str,
    /// Seconds at the measured bandwidth (the floor).
    pub floor: f64,
    /// Time with one thread / this time, when one thread was also run.
    pub speedup: Option<f64>,
    /// Peak RSS during the timed calls (MiB).
    pub peak_mib: Option<f64>,
    /// Peak RSS minus the RSS before the calls, buffers already resident (MiB): the library's
    /// working memory.
    pub extra_mib: Option<f64>,
    /// Input, label and gradient buffers (MiB).
    pub resident_mib: f64,
}

impl Row {
    /// Achieved bandwidth under the byte model (GB/s).
    pub fn gbs(&self) -> f64 {
        self.bytes as f64 / self.seconds / 1e9
    }

    /// Time over floor (1.0 = at the bandwidth floor).
    pub fn ratio(&self) -> f64 {
        self.seconds / self.floor
    }

    /// JSON object of the row; the key's fields are repeated for readers.
    pub fn to_json(&self) -> Value {
        let f: Vec<&str> = self.key.split('/').collect();
        json!({
            "key": self.key, "loss": f[0], "shape": f[1], "layout": f[2], "labels": f[3], "pass": f[4],
            "threads": self.threads, "threads_label": self.threads_label,
            "elements": self.elements, "bytes": self.bytes, "median_s": self.seconds, "statistic": self.statistic,
            "gb_per_s": self.gbs(),
            "elements_per_s": self.elements as f64 / self.seconds, "floor_s": self.floor, "ratio_to_floor": self.ratio(),
            "speedup_vs_1_thread": self.speedup, "peak_rss_mib": self.peak_mib, "extra_rss_mib": self.extra_mib,
            "buffers_mib": self.resident_mib,
        })
    }
}

/// Table header.
pub fn header() -> String {
    format!(
        "{:<33} {:>4} {:>9} {:>7} {:>9} {:>7} {:>7} {:>8} {:>7}",
        "case (loss/shape/layout/lab/pass)",
        "thr",
        "ms",
        "GB/s",
        "floor ms",
        "x floor",
        "vs 1 t",
        "peak MiB",
        "+MiB"
    )
}

fn opt(v: Option<f64>, prec: usize) -> String {
    v.map_or("-".to_string(), |x| format!("{x:.prec$}"))
}

/// One table line.
pub fn line(r: &Row) -> String {
    format!(
        "{:<33} {:>4} {:>9.2} {:>7.2} {:>9.2} {:>7.2} {:>7} {:>8} {:>7}",
        r.key,
        r.threads,
        r.seconds * 1e3,
        r.gbs(),
        r.floor * 1e3,
        r.ratio(),
        opt(r.speedup, 2),
        opt(r.peak_mib, 0),
        opt(r.extra_mib, 1)
    )
}

/// The whole report as JSON.
pub fn to_json(machine: Value, bandwidth: &[Bandwidth], reps: usize, rows: &[Row]) -> Value {
    json!({
        "format": "dice-report/1",
        "machine": machine,
        "reps": reps,
        "byte_model": crate::cases::BYTE_MODEL,
        "bandwidth": bandwidth.iter().map(|b| json!({
            "threads": b.threads, "read2_gb_per_s": b.read2 / 1e9, "read2_write1_gb_per_s": b.read2_write1 / 1e9,
        })).collect::<Vec<_>>(),
        "cases": rows.iter().map(Row::to_json).collect::<Vec<_>>(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(key: &str, threads: usize, label: &str, seconds: f64) -> Row {
        Row {
            key: key.into(),
            threads,
            threads_label: label.into(),
            elements: 1000,
            bytes: 4000,
            seconds,
            statistic: "median",
            floor: 0.5,
            speedup: None,
            peak_mib: Some(10.0),
            extra_mib: Some(0.5),
            resident_mib: 9.0,
        }
    }

    /// The fields the gate and benchmarks/compare_pytorch.py read are written, and a report
    /// gated against itself, or a slower copy of itself, gives the expected verdict.
    #[test]
    fn json_round_trips_through_the_gate() {
        let bw = [Bandwidth { threads: 1, read2: 1e9, read2_write1: 1e9 }];
        let base = to_json(json!({}), &bw, 5, &[row("dice/3d/contig/i64/fwd", 1, "1", 1.0)]);
        let c = &base["cases"][0];
        assert_eq!(
            (c["shape"].as_str(), c["pass"].as_str(), c["loss"].as_str()),
            (Some("3d"), Some("fwd"), Some("dice"))
        );
        assert_eq!(c["ratio_to_floor"].as_f64(), Some(2.0));
        assert_eq!(c["gb_per_s"].as_f64(), Some(4000.0 / 1e9));
        for field in ["median_s", "floor_s", "elements", "extra_rss_mib", "threads_label", "key"] {
            assert!(!c[field].is_null(), "{field} missing");
        }
        assert!(crate::gate::check(&base, &base, 2.0).unwrap().passed());
        let slower = to_json(json!({}), &bw, 5, &[row("dice/3d/contig/i64/fwd", 1, "1", 2.01)]);
        assert_eq!(crate::gate::check(&base, &slower, 2.0).unwrap().regressions.len(), 1);
    }
}
