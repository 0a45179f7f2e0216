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
    /// Median seconds per call.
    pub seconds: f64,
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
            "elements": self.elements, "bytes": self.bytes, "median_s": self.seconds, "gb_per_s": self.gbs(),
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
        "case (loss/shape/layout/lab/pass)", "thr", "ms", "GB/s", "floor ms", "x floor", "vs 1 t", "peak MiB", "+MiB"
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
