//! Surface elements of DeepMind's surface-distance: the area (3-D) or length (2-D) of the
//! marching-cubes (marching-squares) surface inside one 2x2x2 (2x2) neighbourhood, per
//! neighbour code and voxel spacing.
//!
//! Code layout (DeepMind's encoding kernels): bit `b` of a 3-D code is the voxel at offset
//! `j = 7 - b` from the neighbourhood's lowest corner, `j = 4 j0 + 2 j1 + j2` (j_a along axis
//! a); in 2-D bit `b` is the voxel at `j = 3 - b = 2 j0 + j1`.
//!
//! The surface is generated here, not copied: the crossing points are the midpoints of the
//! cube edges whose ends differ; on each face they are joined into segments (a face with four
//! crossings separates the corners of the minority kind: the set corners when at most 4 of the
//! 8 are set, else the unset ones); the segments close into polygons; a hexagon is cut into
//! its three ears and the central triangle of alternate vertices, any other polygon into the
//! fan of largest area (on the unit cube). The triangles are fixed on the unit cube and scaled
//! by the spacing afterwards: `area = 0.5 |S(q - p) x S(r - p)|`, S = diag(spacing). This
//! reproduces, for every code and spacing, the areas of DeepMind's published table (checked
//! per code against it in `dice-core/tests/metrics_deepmind.rs`).

use std::sync::OnceLock;

/// A point of the unit cube (coordinates 0, 0.5 or 1).
type Point = [f64; 3];

/// Position of bit `b` of a 3-D code in the unit cube.
fn corner3(b: usize) -> [usize; 3] {
    let j = 7 - b;
    [(j >> 2) & 1, (j >> 1) & 1, j & 1]
}

/// Midpoint of the segment between two corners.
fn midpoint(a: [usize; 3], b: [usize; 3]) -> Point {
    [0, 1, 2].map(|d| (a[d] + b[d]) as f64 * 0.5)
}

/// Crossing segments of one square face whose corners, in cyclic order, are `cyc` with
/// membership `inside`: each segment joins the midpoints of two sides, given as corner pairs.
/// Two crossings give one segment; four give two, each cutting off a corner of kind `cut`.
fn face_segments(
    cyc: [usize; 4],
    inside: impl Fn(usize) -> bool,
    cut: bool,
) -> Vec<[(usize, usize); 2]> {
    let side = |i: usize| (cyc[i % 4], cyc[(i + 1) % 4]);
    let crossing: Vec<usize> =
        (0..4).filter(|&i| inside(cyc[i]) != inside(cyc[(i + 1) % 4])).collect();
    match crossing.len() {
        2 => vec![[side(crossing[0]), side(crossing[1])]],
        4 => (0..4).filter(|&i| inside(cyc[i]) == cut).map(|i| [side(i + 3), side(i)]).collect(),
        _ => Vec::new(),
    }
}

/// The 12 cube edges as corner-bit pairs (a < b), and the 6 faces as cyclic corner orders.
fn cube() -> (Vec<(usize, usize)>, Vec<[usize; 4]>) {
    let differ = |a: usize, b: usize| (0..3).filter(|&d| corner3(a)[d] != corner3(b)[d]).count();
    let edges = (0..8)
        .flat_map(|a| (a + 1..8).map(move |b| (a, b)))
        .filter(|&(a, b)| differ(a, b) == 1)
        .collect();
    let bit_at = |p: [usize; 3]| 7 - (4 * p[0] + 2 * p[1] + p[2]);
    let mut faces = Vec::new();
    for axis in 0..3 {
        let (u, w) = ((axis + 1) % 3, (axis + 2) % 3);
        for v in 0..2 {
            let at = |pu: usize, pw: usize| {
                let mut p = [0; 3];
                (p[axis], p[u], p[w]) = (v, pu, pw);
                bit_at(p)
            };
            faces.push([at(0, 0), at(0, 1), at(1, 1), at(1, 0)]);
        }
    }
    (edges, faces)
}

/// Twice the area vector of triangle (p, q, r) scaled by `s`: S(q - p) x S(r - p).
fn cross(p: Point, q: Point, r: Point, s: [f64; 3]) -> [f64; 3] {
    let u = [0, 1, 2].map(|d| (q[d] - p[d]) * s[d]);
    let v = [0, 1, 2].map(|d| (r[d] - p[d]) * s[d]);
    [u[1] * v[2] - u[2] * v[1], u[2] * v[0] - u[0] * v[2], u[0] * v[1] - u[1] * v[0]]
}

fn triangle_area(t: &[Point; 3], s: [f64; 3]) -> f64 {
    let c = cross(t[0], t[1], t[2], s);
    0.5 * (c[0] * c[0] + c[1] * c[1] + c[2] * c[2]).sqrt()
}

/// Triangles of one closed polygon (vertices in cyclic order), per the rule in the module doc.
fn triangulate(poly: &[Point]) -> Vec<[Point; 3]> {
    let n = poly.len();
    let tri = |a: usize, b: usize, c: usize| [poly[a % n], poly[b % n], poly[c % n]];
    if n == 6 {
        return vec![tri(0, 1, 2), tri(2, 3, 4), tri(4, 5, 0), tri(0, 2, 4)];
    }
    let fan = |a: usize| (1..n - 1).map(|i| tri(a, a + i, a + i + 1)).collect::<Vec<_>>();
    let unit = |t: &[[Point; 3]]| t.iter().map(|t| triangle_area(t, [1.0; 3])).sum::<f64>();
    let mut best = fan(0);
    for a in 1..n {
        let f = fan(a);
        // Fans of equal area (up to rounding) give the same areas at every spacing.
        if unit(&f) > unit(&best) + 1e-12 {
            best = f;
        }
    }
    best
}

/// Triangles of the surface of a 3-D neighbour code on the unit cube.
fn code_triangles(code: usize) -> Vec<[Point; 3]> {
    let (edges, faces) = cube();
    let inside = |b: usize| (code >> b) & 1 == 1;
    let cut = code.count_ones() <= 4;
    let edge_of = |(a, b): (usize, usize)| {
        edges.iter().position(|&e| e == (a.min(b), a.max(b))).expect("cube edge")
    };
    // Each crossing edge lies on two faces and in one segment of each: degree 2, disjoint loops.
    let mut next = vec![Vec::new(); edges.len()];
    for &f in &faces {
        for [x, y] in face_segments(f, inside, cut) {
            let (ex, ey) = (edge_of(x), edge_of(y));
            next[ex].push(ey);
            next[ey].push(ex);
        }
    }
    let mut seen = vec![false; edges.len()];
    let mut out = Vec::new();
    for start in 0..edges.len() {
        if seen[start] || next[start].is_empty() {
            continue;
        }
        let (mut prev, mut cur) = (usize::MAX, start);
        let mut poly = Vec::new();
        while !seen[cur] {
            seen[cur] = true;
            let (a, b) = edges[cur];
            poly.push(midpoint(corner3(a), corner3(b)));
            let step = if next[cur][0] != prev { next[cur][0] } else { next[cur][1] };
            (prev, cur) = (cur, step);
        }
        out.extend(triangulate(&poly));
    }
    out
}

/// The unit-cube triangles of every 3-D code, generated once.
fn triangles() -> &'static [Vec<[Point; 3]>] {
    static TABLE: OnceLock<Vec<Vec<[Point; 3]>>> = OnceLock::new();
    TABLE.get_or_init(|| (0..256).map(code_triangles).collect())
}

/// Surfel area of every 3-D neighbour code (256 entries) for `spacing` (3 values, checked by
/// the caller); codes 0 and 255 have no surface (0).
pub fn surfel_areas_3d(spacing: [f64; 3]) -> Vec<f64> {
    triangles().iter().map(|ts| ts.iter().map(|t| triangle_area(t, spacing)).sum()).collect()
}

/// Contour length of every 2-D neighbour code (16 entries) for `spacing` (2 values): marching
/// squares on the 2x2 neighbourhood, crossing points at the side midpoints; the two saddle
/// codes give two segments, each cutting off a corner.
pub fn contour_lengths_2d(spacing: [f64; 2]) -> Vec<f64> {
    // Bit b is the pixel at j = 3 - b, (j0, j1) = (j >> 1, j & 1); cyclic order of the square.
    let pos = |b: usize| [((3 - b) >> 1) & 1, (3 - b) & 1, 0];
    let bit_at = |p0: usize, p1: usize| 3 - (2 * p0 + p1);
    let cyc = [bit_at(0, 0), bit_at(0, 1), bit_at(1, 1), bit_at(1, 0)];
    let s = [spacing[0], spacing[1], 1.0];
    (0..16usize)
        .map(|code| {
            let inside = |b: usize| (code >> b) & 1 == 1;
            face_segments(cyc, inside, code.count_ones() <= 2)
                .iter()
                .map(|[(a, b), (c, d)]| {
                    let (p, q) = (midpoint(pos(*a), pos(*b)), midpoint(pos(*c), pos(*d)));
                    (0..2).map(|i| ((q[i] - p[i]) * s[i]).powi(2)).sum::<f64>().sqrt()
                })
                .sum()
        })
        .collect()
}
