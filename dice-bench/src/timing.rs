//! Wall-clock medians: one warm-up call (first touch, thread-pool start, caches), then `reps`
//! timed calls; the median resists the outliers of a shared, noisy machine.

use std::time::Instant;

/// Median of the values (upper median for even counts); `None` for an empty slice.
pub fn median(v: &[f64]) -> Option<f64> {
    let mut v = v.to_vec();
    v.sort_by(f64::total_cmp);
    v.get(v.len() / 2).copied()
}

/// Median seconds of `max(reps, 1)` calls of `f` after one warm-up call.
pub fn median_secs<E>(reps: usize, mut f: impl FnMut() -> Result<(), E>) -> Result<f64, E> {
    let reps = reps.max(1);
    f()?;
    let mut t = Vec::with_capacity(reps);
    for _ in 0..reps {
        let start = Instant::now();
        f()?;
        t.push(start.elapsed().as_secs_f64());
    }
    Ok(median(&t).unwrap_or(0.0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_of_odd_and_even_counts() {
        assert_eq!(median(&[3.0, 1.0, 2.0]), Some(2.0));
        assert_eq!(median(&[4.0, 1.0, 3.0, 2.0]), Some(3.0));
        assert_eq!(median(&[]), None);
    }

    #[test]
    fn warm_up_is_not_timed_and_errors_propagate() {
        let mut calls = 0;
        let s = median_secs::<()>(3, || {
            calls += 1;
            Ok(())
        })
        .unwrap();
        assert_eq!(calls, 4);
        assert!(s >= 0.0);
        assert_eq!(median_secs(2, || Err::<(), _>("boom")), Err("boom"));
    }
}
