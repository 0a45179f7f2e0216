//! Wall-clock timing: one warm-up call (first touch, thread-pool start, caches), then timed
//! calls. The median is what the report shows; the minimum (noise only ever adds time) is what
//! the CI gate uses to confirm a suspected regression.

use std::time::Instant;

/// Median of the values (upper median for even counts); `None` for an empty slice.
pub fn median(v: &[f64]) -> Option<f64> {
    let mut v = v.to_vec();
    v.sort_by(f64::total_cmp);
    v.get(v.len() / 2).copied()
}

/// Seconds per call.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Timing {
    /// Median of the timed calls.
    pub median: f64,
    /// Fastest timed call.
    pub min: f64,
    /// Timed calls.
    pub calls: usize,
}

/// Times `f` after one warm-up call: at least `max(reps, 1)` timed calls, and more (up to 20x
/// `reps`) until `min_total` seconds have been timed, so millisecond cases get enough samples.
pub fn time<E>(
    reps: usize,
    min_total: f64,
    mut f: impl FnMut() -> Result<(), E>,
) -> Result<Timing, E> {
    let reps = reps.max(1);
    f()?;
    let mut t = Vec::with_capacity(reps);
    let mut total = 0.0;
    while t.len() < reps || (total < min_total && t.len() < 20 * reps) {
        let start = Instant::now();
        f()?;
        let secs = start.elapsed().as_secs_f64();
        total += secs;
        t.push(secs);
    }
    let min = t.iter().copied().fold(f64::INFINITY, f64::min);
    Ok(Timing { median: median(&t).unwrap_or(0.0), min, calls: t.len() })
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
        let t = time::<()>(3, 0.0, || {
            calls += 1;
            Ok(())
        })
        .unwrap();
        assert_eq!((calls, t.calls), (4, 3));
        assert!(0.0 <= t.min && t.min <= t.median);
        assert_eq!(time(2, 0.0, || Err::<(), _>("boom")), Err("boom"));
    }

    #[test]
    fn short_calls_are_repeated_up_to_the_minimum_time_or_the_cap() {
        let mut calls = 0;
        time::<()>(2, 10.0, || {
            calls += 1;
            Ok(())
        })
        .unwrap();
        assert_eq!(calls, 1 + 40);
    }
}
