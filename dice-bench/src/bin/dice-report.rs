//! Throughput report: every case of the benchmark matrix against the memory-bandwidth floor
//! measured in the same run, with thread scaling and peak memory; optional JSON and CI gate.
//!
//! cargo run --release -p dice-bench --bin dice-report -- [--quick] [--threads 1,2,4]
//!     [--filter dice,3d,...] [--reps N] [--json PATH] [--check BASELINE.json]
//!
//! floor = bytes that must move / streaming bandwidth (the byte model is in `cases.rs`).
//! Medians of repeated calls after a warm-up; buffers are allocated and touched once per data
//! configuration and reused.

use dice_bench::cases::{Config, Data, LOSSES, Loss, PASSES};
use dice_bench::report::{self, Row};
use dice_bench::{bandwidth, gate, memory, timing};
use dice_core::{Backend, Context};
use serde_json::{Value, json};
use std::process::ExitCode;

const USAGE: &str = "usage: dice-report [--quick] [--threads 1,2,...] [--filter FIELD,...] [--reps N] [--json PATH] \
                     [--check BASELINE.json]
  --quick     the CI subset, 5 repetitions (under a minute on 2 cores)
  --threads   thread counts (default: 1 and every available core)
  --filter    keep cases whose key (loss/shape/layout/labels/pass) has every listed field
  --reps      timed calls per case after one warm-up (default 5 quick, 15 full; more until 0.1 s)
  --json      write the report as JSON
  --check     compare ratios to the floor with a baseline JSON; exit 1 on a >2x regression";

/// Each case is timed for at least this long (more calls for millisecond cases).
const MIN_TOTAL_SECS: f64 = 0.1;

/// Regression limit of the gate: ratio-to-floor may grow by at most this factor.
const GATE_FACTOR: f64 = 2.0;

struct Args {
    quick: bool,
    threads: Vec<usize>,
    filter: Vec<String>,
    reps: Option<usize>,
    json: Option<String>,
    check: Option<String>,
}

fn parse(all: usize) -> Result<Args, String> {
    let mut a = Args {
        quick: false,
        threads: vec![1, all],
        filter: Vec::new(),
        reps: None,
        json: None,
        check: None,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || it.next().ok_or_else(|| format!("{flag} needs a value"));
        match flag.as_str() {
            "--quick" => a.quick = true,
            "--threads" => {
                a.threads = value()?
                    .split(',')
                    .map(|t| {
                        t.parse::<usize>()
                            .ok()
                            .filter(|&t| t > 0)
                            .ok_or_else(|| format!("bad thread count {t:?}"))
                    })
                    .collect::<Result<_, _>>()?
            }
            "--filter" => a.filter = value()?.split(',').map(str::to_string).collect(),
            "--reps" => a.reps = Some(value()?.parse().map_err(|_| "bad --reps".to_string())?),
            "--json" => a.json = Some(value()?),
            "--check" => a.check = Some(value()?),
            "-h" | "--help" => return Err(String::new()),
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    a.threads.dedup();
    Ok(a)
}

fn machine(all: usize, peak_per_case: bool) -> Value {
    let cpu = std::fs::read_to_string("/proc/cpuinfo").ok().and_then(|s| {
        s.lines()
            .find(|l| l.starts_with("model name"))
            .map(|l| l.split(':').nth(1).unwrap_or("").trim().to_string())
    });
    let kernel =
        std::fs::read_to_string("/proc/sys/kernel/osrelease").ok().map(|s| s.trim().to_string());
    json!({ "cpu": cpu, "cores": all, "backend": Backend::active().name(), "kernel": kernel, "peak_rss_per_case": peak_per_case })
}

fn mib(kib: u64) -> f64 {
    kib as f64 / 1024.0
}

fn run(args: &Args, all: usize) -> Result<bool, String> {
    let reps = args.reps.unwrap_or(if args.quick { 5 } else { 15 });
    memory::return_freed_memory();
    let peak_per_case = memory::reset_peak();
    println!(
        "dice-report: backend {}, {all} core(s), medians of >= {reps} calls (>= {MIN_TOTAL_SECS} s) after a warm-up{}",
        Backend::active().name(),
        if args.quick { ", --quick subset" } else { "" }
    );
    if !peak_per_case {
        println!(
            "NOTE: /proc/self/clear_refs refused: peak RSS is the process-wide peak, not per case"
        );
    }
    let bws = bandwidth::measure(&args.threads, reps).map_err(|e| e.to_string())?;
    for b in &bws {
        println!(
            "bandwidth, {:>2} thread(s): read2 {:6.1} GB/s, read2+write1 {:6.1} GB/s",
            b.threads,
            b.read2 / 1e9,
            b.read2_write1 / 1e9
        );
    }
    println!("byte model: {}", dice_bench::cases::BYTE_MODEL);
    let ctxs = args
        .threads
        .iter()
        .map(|&t| Context::new(t))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| e.to_string())?;
    let run = Run { ctxs: &ctxs, bws: &bws, all, reps, fastest: false };
    println!("{}", report::header());
    let mut rows = run.time(&|c, key, l| {
        (!args.quick || c.in_quick(l))
            && args.filter.iter().all(|f| key.split('/').any(|field| field == f))
    })?;
    if rows.is_empty() {
        return Err(format!("no case matches --filter {}", args.filter.join(",")));
    }
    let doc = report::to_json(machine(all, peak_per_case), &bws, reps, &rows);
    if let Some(path) = &args.json {
        let text = serde_json::to_string_pretty(&doc).map_err(|e| e.to_string())?;
        std::fs::write(path, text + "\n").map_err(|e| format!("cannot write {path}: {e}"))?;
        println!("wrote {path}");
    }
    let Some(path) = &args.check else { return Ok(true) };
    let verdict = check(path, &doc)?;
    if verdict.checked == 0 || verdict.passed() {
        return Ok(verdict.checked > 0);
    }
    // A regression must reproduce: re-time those cases with twice the calls and judge them by
    // the fastest call (noise on a shared machine only ever adds time; slower code does not).
    println!(
        "== re-timing the {} regressed case(s), fastest of {} calls, to rule out noise",
        verdict.regressions.len(),
        2 * reps
    );
    let retimed = Run { reps: 2 * reps, fastest: true, ..run }
        .time(&|_, key, _| verdict.regressions.iter().any(|r| r.key == key))?;
    for new in retimed {
        if let Some(old) = rows
            .iter_mut()
            .find(|o| o.key == new.key && o.threads == new.threads && new.ratio() < o.ratio())
        {
            *old = new;
        }
    }
    let doc = report::to_json(machine(all, peak_per_case), &bws, reps, &rows);
    Ok(check(path, &doc)?.passed())
}

/// What every timed case shares.
#[derive(Clone, Copy)]
struct Run<'a> {
    ctxs: &'a [Context],
    bws: &'a [bandwidth::Bandwidth],
    all: usize,
    reps: usize,
    /// Report the fastest call instead of the median.
    fastest: bool,
}

impl Run<'_> {
    /// Times the selected cases (config, key, loss) at every thread count, printing each row.
    fn time(&self, selected: &dyn Fn(&Config, &str, &Loss) -> bool) -> Result<Vec<Row>, String> {
        let mut rows = Vec::new();
        for config in Config::all() {
            let cases: Vec<_> = LOSSES
                .iter()
                .flat_map(|l| PASSES.iter().map(move |&p| (l, p)))
                .filter(|&(l, p)| selected(&config, &config.key(l, p), l))
                .collect();
            if cases.is_empty() {
                continue;
            }
            let mut data = Data::new(config);
            let bytes = config.bytes();
            for (loss, pass) in cases {
                let key = config.key(loss, pass);
                let mut single = None;
                for (ctx, bw) in self.ctxs.iter().zip(self.bws) {
                    let rss = memory::rss_kib();
                    memory::reset_peak();
                    let timed = timing::time(self.reps, MIN_TOTAL_SECS, || {
                        data.run(ctx, loss, pass).map(|_| ())
                    })
                    .map_err(|e| format!("{key}: {e}"))?;
                    let secs = if self.fastest { timed.min } else { timed.median };
                    let peak = memory::peak_kib();
                    let t = ctx.threads();
                    if t == 1 {
                        single = Some(secs);
                    }
                    let row = Row {
                        key: key.clone(),
                        threads: t,
                        threads_label: if t == 1 {
                            "1".into()
                        } else if t == self.all {
                            "all".into()
                        } else {
                            t.to_string()
                        },
                        elements: config.elements(),
                        bytes: bytes.moved(pass),
                        seconds: secs,
                        statistic: if self.fastest { "min" } else { "median" },
                        floor: bytes.floor(pass, bw.read2, bw.read2_write1),
                        speedup: single.map(|s| s / secs),
                        peak_mib: peak.map(mib),
                        extra_mib: peak.zip(rss).map(|(p, r)| mib(p.saturating_sub(r))),
                        resident_mib: data.resident_bytes() as f64 / (1 << 20) as f64,
                    };
                    println!("{}", report::line(&row));
                    rows.push(row);
                }
            }
        }
        Ok(rows)
    }
}

/// Prints the gate's verdict; a missing baseline, a new or a vanished case is said loudly.
fn check(path: &str, doc: &Value) -> Result<gate::Verdict, String> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        format!("GATE FAILED: cannot read the baseline {path}: {e}\n  record one with: dice-report --quick --json {path}")
    })?;
    let base: Value = serde_json::from_str(&text)
        .map_err(|e| format!("GATE FAILED: baseline {path} is not JSON: {e}"))?;
    let v = gate::check(&base, doc, GATE_FACTOR).map_err(|e| format!("GATE FAILED: {e}"))?;
    println!(
        "== gate: {} case(s) compared with {path} (fail when ratio-to-floor grows > {GATE_FACTOR}x)",
        v.checked
    );
    if !v.new.is_empty() {
        println!(
            "WARNING: {} case(s) have NO BASELINE and are NOT GATED (re-record {path}):",
            v.new.len()
        );
        v.new.iter().for_each(|k| println!("  new: {k}"));
    }
    if !v.missing.is_empty() {
        println!(
            "WARNING: {} baseline case(s) were NOT RUN (renamed or removed?):",
            v.missing.len()
        );
        v.missing.iter().for_each(|k| println!("  missing: {k}"));
    }
    if v.checked == 0 {
        println!("GATE FAILED: no case of this run has a baseline");
        return Ok(v);
    }
    if v.passed() {
        println!("gate passed");
    } else {
        println!(
            "GATE FAILED: {} throughput regression(s) over {GATE_FACTOR}x against {path}:",
            v.regressions.len()
        );
        v.regressions.iter().for_each(|r| println!("  REGRESSION {r}"));
    }
    Ok(v)
}

fn main() -> ExitCode {
    let all = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
    let args = match parse(all) {
        Ok(a) => a,
        Err(e) => {
            if !e.is_empty() {
                eprintln!("dice-report: {e}");
            }
            eprintln!("{USAGE}");
            return ExitCode::from(2);
        }
    };
    match run(&args, all) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(e) => {
            eprintln!("dice-report: {e}");
            ExitCode::FAILURE
        }
    }
}
