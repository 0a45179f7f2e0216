//! The `demo` command: a synthetic phantom data set (3-D, anisotropic spacing, NIfTI-1 with
//! headers) with predictions carrying realistic errors, then `eval` on it.
//!
//! Ground truth per case: an organ (label 1, a bumpy ellipsoid), a tumour inside it (label 2)
//! and a small lesion (label 3). Predictions: the organ's boundary shifted and rescaled, the
//! tumour under-segmented, the lesion missed in some cases, and false-positive blobs in others.

use crate::args::{Convention, DemoArgs, EmptyPolicy, EvalArgs};
use crate::eval::{self, Outcome};
use nifti::NiftiHeader;
use nifti::writer::WriterOptions;
use std::path::{Path, PathBuf};

/// Volume extents (x, y, z) and spacing in mm.
const DIMS: [usize; 3] = [96, 96, 40];
const SPACING: [f64; 3] = [0.8, 0.8, 2.5];

/// Small deterministic generator (64-bit LCG), so the phantom is the same on every machine.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> f64 {
        self.0 = self.0.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        (self.0 >> 11) as f64 / (1u64 << 53) as f64
    }
    /// Uniform in [a, b).
    fn range(&mut self, a: f64, b: f64) -> f64 {
        a + (b - a) * self.next()
    }
}

/// A structure: centre and semi-axes in mm, and a surface bump amplitude (relative).
#[derive(Clone, Copy)]
struct Blob {
    centre: [f64; 3],
    axes: [f64; 3],
    bump: f64,
}

impl Blob {
    fn contains(&self, p: [f64; 3]) -> bool {
        let d: Vec<f64> = (0..3).map(|a| (p[a] - self.centre[a]) / self.axes[a]).collect();
        let r2 = d.iter().map(|x| x * x).sum::<f64>();
        // Bumps: a smooth angular modulation of the radius.
        let bump = 1.0 + self.bump * (3.0 * d[0].atan2(d[1])).sin() * (2.0 * d[2]).cos();
        r2 <= bump * bump
    }

    fn moved(self, shift: [f64; 3], scale: f64) -> Blob {
        Blob {
            centre: [
                self.centre[0] + shift[0],
                self.centre[1] + shift[1],
                self.centre[2] + shift[2],
            ],
            axes: self.axes.map(|a| a * scale),
            bump: self.bump,
        }
    }
}

/// Paints the structures in order (later ones overwrite): (blob, label).
fn paint(parts: &[(Blob, u8)]) -> Vec<u8> {
    let [nx, ny, nz] = DIMS;
    // C order over (x, y, z): the writer stores it x fastest, as NIfTI requires.
    let mut out = vec![0u8; nx * ny * nz];
    for x in 0..nx {
        for y in 0..ny {
            for z in 0..nz {
                let p = [x as f64 * SPACING[0], y as f64 * SPACING[1], z as f64 * SPACING[2]];
                for (b, l) in parts {
                    if b.contains(p) {
                        out[(x * ny + y) * nz + z] = *l;
                    }
                }
            }
        }
    }
    out
}

fn header() -> NiftiHeader {
    let [sx, sy, sz] = SPACING.map(|x| x as f32);
    NiftiHeader {
        pixdim: [1.0, sx, sy, sz, 1.0, 1.0, 1.0, 1.0],
        xyzt_units: 2, // mm
        sform_code: 1,
        srow_x: [sx, 0.0, 0.0, 0.0],
        srow_y: [0.0, sy, 0.0, 0.0],
        srow_z: [0.0, 0.0, sz, 0.0],
        ..Default::default()
    }
}

fn write(path: &Path, data: Vec<u8>) -> Result<(), String> {
    let array =
        ndarray::Array3::from_shape_vec(DIMS, data).map_err(|e| format!("phantom array: {e}"))?;
    let h = header();
    WriterOptions::new(path)
        .reference_header(&h)
        .write_nifti(&array)
        .map_err(|e| format!("cannot write {}: {e}", path.display()))
}

/// Ground truth and prediction of case `i`.
fn case(i: usize) -> (Vec<u8>, Vec<u8>) {
    let mut r = Lcg(0x5eed_0000 + i as u64 * 7919);
    let mid = [
        DIMS[0] as f64 * SPACING[0] / 2.0,
        DIMS[1] as f64 * SPACING[1] / 2.0,
        DIMS[2] as f64 * SPACING[2] / 2.0,
    ];
    let organ = Blob {
        centre: [
            mid[0] + r.range(-3.0, 3.0),
            mid[1] + r.range(-3.0, 3.0),
            mid[2] + r.range(-4.0, 4.0),
        ],
        axes: [r.range(24.0, 30.0), r.range(20.0, 26.0), r.range(30.0, 38.0)],
        bump: r.range(0.03, 0.08),
    };
    let tumour = Blob {
        centre: [
            organ.centre[0] + r.range(-8.0, 8.0),
            organ.centre[1] + r.range(-6.0, 6.0),
            organ.centre[2] + r.range(-8.0, 8.0),
        ],
        axes: [r.range(6.0, 9.0), r.range(6.0, 9.0), r.range(7.0, 11.0)],
        bump: 0.1,
    };
    let lesion = Blob {
        centre: [
            organ.centre[0] - 16.0,
            organ.centre[1] + r.range(-4.0, 4.0),
            organ.centre[2] + r.range(-10.0, 10.0),
        ],
        axes: [r.range(2.0, 3.5), r.range(2.0, 3.5), 3.0],
        bump: 0.0,
    };
    let gt = paint(&[(organ, 1), (tumour, 2), (lesion, 3)]);
    // Prediction: a shifted, slightly rescaled organ boundary; an under-segmented tumour.
    let organ_p = organ
        .moved([r.range(-1.6, 1.6), r.range(-1.6, 1.6), r.range(-2.5, 2.5)], r.range(0.95, 1.04));
    let tumour_p = tumour
        .moved([r.range(-1.0, 1.0), r.range(-1.0, 1.0), r.range(-1.5, 1.5)], r.range(0.8, 0.92));
    let mut parts = vec![(organ_p, 1), (tumour_p, 2)];
    if i % 3 != 1 {
        // The small lesion is found (slightly off) except in every third case.
        parts.push((lesion.moved([0.5, -0.5, 0.0], 1.1), 3));
    }
    if i % 3 == 2 {
        // A false-positive lesion elsewhere in the organ.
        let fp = Blob {
            centre: [organ.centre[0] + 14.0, organ.centre[1] - 8.0, organ.centre[2]],
            axes: [2.5, 2.5, 3.0],
            bump: 0.0,
        };
        parts.push((fp, 3));
    }
    if i % 2 == 1 {
        // A false-positive tumour blob outside the organ.
        let fp = Blob { centre: [6.0, 6.0, mid[2]], axes: [3.0, 3.0, 5.0], bump: 0.0 };
        parts.push((fp, 2));
    }
    (gt, paint(&parts))
}

pub fn run(a: &DemoArgs) -> Result<Outcome, String> {
    if a.cases == 0 {
        return Err("--cases must be at least 1".into());
    }
    let dir: PathBuf = a
        .dir
        .clone()
        .unwrap_or_else(|| std::env::temp_dir().join(format!("dice-demo-{}", std::process::id())));
    let (pred_dir, gt_dir) = (dir.join("pred"), dir.join("gt"));
    for d in [&pred_dir, &gt_dir] {
        std::fs::create_dir_all(d).map_err(|e| format!("cannot create {}: {e}", d.display()))?;
    }
    for i in 0..a.cases {
        let (gt, pred) = case(i);
        let name = format!("case_{i:03}.nii.gz");
        write(&gt_dir.join(&name), gt)?;
        write(&pred_dir.join(&name), pred)?;
    }
    let (csv, json) = (dir.join("scores.csv"), dir.join("summary.json"));
    println!(
        "phantom: {} cases of {}x{}x{} voxels at {}x{}x{} mm in {}",
        a.cases,
        DIMS[0],
        DIMS[1],
        DIMS[2],
        SPACING[0],
        SPACING[1],
        SPACING[2],
        dir.display()
    );
    println!(
        "running: dice eval {} {} --csv {} --json {}\n",
        pred_dir.display(),
        gt_dir.display(),
        csv.display(),
        json.display()
    );
    let args = EvalArgs {
        pred: pred_dir,
        gt: gt_dir,
        suffix: None,
        gt_suffix: None,
        labels: None,
        regions: Vec::new(),
        metrics: None,
        convention: Convention::Monai,
        tolerance: 1.0,
        empty: EmptyPolicy::Nan,
        spacing: None,
        spacing_tolerance: 1e-3,
        max_label: u16::MAX,
        csv: Some(csv),
        json: Some(json),
        threads: a.threads,
        quiet: false,
        fail_fast: false,
    };
    eval::run(&args)
}
