//! Tolerance tests without a distance transform: a voxel is within `tau` of a set when some
//! offset of the ball {o : |S o| <= tau} lands on the set. For the small tolerances of surface
//! Dice and boundary F this touches only the edge voxels and a few neighbours each.
//!
//! The distance of an offset is evaluated with the arithmetic of the separable transform
//! ([`super::edt`]) — last axis first, each further axis folded in the same way — so the two
//! paths decide a borderline `d == tau` identically.

use crate::metrics::edt::DistanceMetric;

/// Offsets above this count make the ball test dearer than a transform: use the transform.
pub(crate) const MAX_BALL: usize = 512;

/// Distance of an integer offset, as the separable transform computes it (squared for
/// Euclidean).
pub(crate) fn offset_distance(o: &[isize], spacing: &[f64], m: DistanceMetric) -> f64 {
    let k = o.len();
    let last = spacing[k - 1] * o[k - 1].unsigned_abs() as f64;
    let mut acc = if m == DistanceMetric::Euclidean { last * last } else { last };
    for a in (0..k - 1).rev() {
        let dx = o[a].unsigned_abs() as f64;
        acc = match m {
            DistanceMetric::Euclidean => spacing[a] * spacing[a] * dx * dx + acc,
            DistanceMetric::Taxicab => acc + spacing[a] * dx,
            DistanceMetric::Chessboard => acc.max(spacing[a] * dx),
        };
    }
    acc
}

/// The offsets within `tau` (closest first), or None when there are more than [`MAX_BALL`].
pub(crate) fn ball(spacing: &[f64], m: DistanceMetric, tau: f64) -> Option<Vec<Vec<isize>>> {
    let k = spacing.len();
    let reach: Vec<isize> = spacing.iter().map(|&s| (tau / s).floor() as isize).collect();
    let count: f64 = reach.iter().map(|&r| (2 * r + 1) as f64).product();
    if count > (MAX_BALL * 8) as f64 {
        return None;
    }
    let mut out: Vec<(f64, Vec<isize>)> = Vec::new();
    let mut o: Vec<isize> = reach.iter().map(|r| -r).collect();
    loop {
        let d = offset_distance(&o, spacing, m);
        let within = if m == DistanceMetric::Euclidean { d.sqrt() <= tau } else { d <= tau };
        if within {
            out.push((d, o.clone()));
        }
        let mut a = k;
        loop {
            if a == 0 {
                out.sort_by(|x, y| x.0.total_cmp(&y.0));
                return (out.len() <= MAX_BALL).then(|| out.into_iter().map(|x| x.1).collect());
            }
            a -= 1;
            if o[a] < reach[a] {
                o[a] += 1;
                break;
            }
            o[a] = -reach[a];
        }
    }
}

/// Number of set voxels of `from` with a set voxel of `to` at one of the `offsets`.
pub(crate) fn count_within(from: &[u8], to: &[u8], shape: &[usize], offsets: &[Vec<isize>]) -> usize {
    let k = shape.len();
    let mut stride = vec![1isize; k];
    for d in (0..k - 1).rev() {
        stride[d] = stride[d + 1] * shape[d + 1] as isize;
    }
    let flat: Vec<isize> = offsets.iter().map(|o| o.iter().zip(&stride).map(|(a, b)| a * b).sum()).collect();
    let mut index = vec![0usize; k];
    let mut hits = 0;
    for (i, &f) in from.iter().enumerate() {
        if f != 0 {
            let inside = |o: &Vec<isize>| o.iter().zip(&index).zip(shape).all(|((&d, &x), &e)| (x as isize + d) >= 0 && ((x as isize + d) as usize) < e);
            if offsets.iter().zip(&flat).any(|(o, &fo)| inside(o) && to[(i as isize + fo) as usize] != 0) {
                hits += 1;
            }
        }
        for d in (0..k).rev() {
            index[d] += 1;
            if index[d] < shape[d] {
                break;
            }
            index[d] = 0;
        }
    }
    hits
}
