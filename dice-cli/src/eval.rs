//! The `eval` command: plan -> parallel evaluation over cases (rayon) -> summary -> outputs.

use crate::args::EvalArgs;
use crate::atomic::write_atomic;
use crate::evaluate::{CaseResult, Row, Settings, evaluate_case, score_counts};
use crate::metric::{Target, parse_metrics, parse_regions};
use crate::plan::{Case, plan};
use crate::progress::Progress;
use crate::report;
use crate::summary::summarize;
use dice_core::Context;
use dice_core::metrics::Counts;
use rayon::prelude::*;
use std::collections::BTreeSet;
use std::sync::atomic::{AtomicBool, Ordering};

/// How the run ended.
pub struct Outcome {
    pub failed: usize,
}

pub fn settings_of(a: &EvalArgs) -> Result<Settings, String> {
    if !(a.tolerance.is_finite() && a.tolerance >= 0.0) {
        return Err(format!("--tolerance {}: must be finite and >= 0", a.tolerance));
    }
    if !(a.spacing_tolerance.is_finite() && a.spacing_tolerance >= 0.0) {
        return Err(format!(
            "--spacing-tolerance {}: must be finite and >= 0",
            a.spacing_tolerance
        ));
    }
    if let Some(l) = &a.labels
        && l.contains(&0)
    {
        return Err("--labels: 0 is the background; list foreground labels only".into());
    }
    Ok(Settings {
        metrics: parse_metrics(a.metrics.as_deref())?,
        convention: a.convention,
        tolerance: a.tolerance,
        empty: a.empty,
        spacing: a.spacing.clone(),
        spacing_tolerance: a.spacing_tolerance,
        max_label: a.max_label,
        labels: a.labels.clone(),
        regions: parse_regions(&a.regions)?,
    })
}

/// Threads for cases and for the kernels of each case: `total` split between them.
fn split_threads(total: usize, cases: usize) -> (usize, usize) {
    let total = if total == 0 {
        std::thread::available_parallelism().map_or(1, |n| n.get())
    } else {
        total
    };
    let workers = total.min(cases).max(1);
    (workers, (total / workers).max(1))
}

/// Runs `eval`: prints the table, writes --csv / --json, returns the counts (errors before any
/// case, such as unreadable folders, are Err).
pub fn run(a: &EvalArgs) -> Result<Outcome, String> {
    let s = settings_of(a)?;
    let cases: Vec<Case> = plan(&a.pred, &a.gt, a.suffix.as_deref(), a.gt_suffix.as_deref())?;
    let (workers, kernel_threads) = split_threads(a.threads, cases.len());
    let ctx = Context::new(kernel_threads).map_err(|e| format!("--threads: {e}"))?;
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(workers)
        .build()
        .map_err(|e| format!("cannot start {workers} threads: {e}"))?;
    let progress = Progress::new(cases.len(), a.quiet);
    let stop = AtomicBool::new(false);
    let results: Vec<Option<Result<CaseResult, String>>> = pool.install(|| {
        cases
            .par_iter()
            .with_max_len(1)
            .map(|case| {
                if stop.load(Ordering::SeqCst) {
                    return None;
                }
                let r = evaluate_case(&ctx, case, &s);
                if r.is_err() && a.fail_fast {
                    stop.store(true, Ordering::SeqCst);
                }
                progress.case_done(&case.id, r.as_ref().err().map(String::as_str));
                Some(r)
            })
            .collect()
    });
    progress.finish();
    let mut done = Vec::new();
    let mut failed = Vec::new();
    let mut not_run = 0;
    for (case, r) in cases.iter().zip(results) {
        match r {
            Some(Ok(c)) => done.push(c),
            Some(Err(e)) => failed.push((case.id.clone(), e)),
            None => not_run += 1,
        }
    }
    if s.labels_from_data() {
        fill_absent_labels(&mut done, &s)?;
    }
    if done.iter().any(|c| c.unit_spacing_assumed) {
        eprintln!(
            "note: NumPy volumes carry no spacing; spacing 1 was used on every axis (set --spacing)"
        );
    }
    let summary = summarize(&done, &s.metrics);
    print!("{}", report::table(&summary, &s, done.len(), failed.len()));
    if let Some(path) = &a.csv {
        write_atomic(path, report::csv(&done, &s.metrics).as_bytes())?;
    }
    if let Some(path) = &a.json {
        write_atomic(path, report::json(&done, &failed, &summary, &s).as_bytes())?;
    }
    for (id, e) in &failed {
        eprintln!("error: case {id}: {e}");
    }
    if not_run > 0 {
        eprintln!("--fail-fast: {not_run} cases not evaluated after the first failure");
    }
    Ok(Outcome { failed: failed.len() + not_run })
}

/// With labels taken from the data, a label seen in some case but absent from both volumes of
/// another gets that case's row of an empty pair (so every case has the same labels).
fn fill_absent_labels(done: &mut [CaseResult], s: &Settings) -> Result<(), String> {
    let all: BTreeSet<Target> =
        done.iter().flat_map(|c| c.rows.iter().map(|r| r.target.clone())).collect();
    for c in done.iter_mut() {
        let have: BTreeSet<Target> = c.rows.iter().map(|r| r.target.clone()).collect();
        for t in all.difference(&have) {
            let k = Counts { tp: 0, fp: 0, fn_: 0, tn: c.voxels };
            if let Some(values) = score_counts(k, None, c.voxel_volume, s)? {
                c.rows.push(Row { target: t.clone(), values });
            }
        }
    }
    Ok(())
}
