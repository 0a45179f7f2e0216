#!/usr/bin/env python3
"""`dice eval` against a MONAI metrics script on the same folder of NIfTI files.

Writes CASES pairs of SIZE^3 uint8 label volumes (3 labels: nested ellipsoids with bumpy
surfaces, the prediction shifted and rescaled) as uncompressed NIfTI-1 with nibabel, then times

- `dice eval PRED GT --metrics M --csv ...` (the whole process: reading, metrics, output), and
- a Python loop doing what a MONAI user writes: nibabel load, one-hot, `compute_dice`,
  `compute_hausdorff_distance(percentile=95, spacing=...)` per case,

and checks that both give the same values. Needs numpy, nibabel, torch, monai.

  python3 benchmarks/cli_vs_monai.py [--cases 20] [--size 256] [--reps 3] [--monai-reps 1]
                                     [--threads 2] [--dir DIR] [--dice PATH]
"""

import argparse
import csv
import os
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SPACING = (0.8, 0.8, 1.5)


def phantom(rng, n):
    g = np.mgrid[0:n, 0:n, 0:n].astype(np.float32) / n - 0.5
    theta = np.arctan2(g[0], g[1])
    def shape(c, a, bump):
        r2 = sum(((g[i] - c[i]) / a[i]) ** 2 for i in range(3))
        return r2 <= (1 + bump * np.sin(5 * theta)) ** 2
    gt = np.zeros((n, n, n), np.uint8)
    pred = np.zeros((n, n, n), np.uint8)
    c = rng.uniform(-0.03, 0.03, 3)
    for label, a in ((1, (0.35, 0.3, 0.32)), (2, (0.18, 0.16, 0.2)), (3, (0.07, 0.08, 0.06))):
        a = np.array(a) * rng.uniform(0.95, 1.05, 3)
        gt[shape(c, a, 0.05)] = label
        pred[shape(c + rng.uniform(-0.01, 0.01, 3), a * rng.uniform(0.96, 1.04), 0.05)] = label
    return gt, pred


def write_dataset(d, cases, size):
    import nibabel as nib
    os.makedirs(os.path.join(d, "gt"), exist_ok=True)
    os.makedirs(os.path.join(d, "pred"), exist_ok=True)
    rng = np.random.default_rng(0)
    affine = np.diag(list(SPACING) + [1.0])
    for i in range(cases):
        gt, pred = phantom(rng, size)
        for sub, a in (("gt", gt), ("pred", pred)):
            img = nib.Nifti1Image(a, affine)
            img.header.set_zooms(SPACING)
            nib.save(img, os.path.join(d, sub, f"case_{i:03d}.nii"))


def monai_eval(d, labels=(1, 2, 3)):
    import nibabel as nib
    import torch
    from monai.metrics import compute_dice, compute_hausdorff_distance
    out = {}
    for name in sorted(os.listdir(os.path.join(d, "gt"))):
        g_img = nib.load(os.path.join(d, "gt", name))
        spacing = [float(x) for x in g_img.header.get_zooms()[:3]]
        g = np.asarray(g_img.dataobj)
        p = np.asarray(nib.load(os.path.join(d, "pred", name)).dataobj)
        P = torch.from_numpy(np.stack([p == l for l in labels])[None].astype(np.float32))
        G = torch.from_numpy(np.stack([g == l for l in labels])[None].astype(np.float32))
        dice = compute_dice(P, G, include_background=True)[0]
        hd95 = compute_hausdorff_distance(P, G, include_background=True, percentile=95, spacing=spacing)[0]
        case = name.split(".nii")[0]
        for i, l in enumerate(labels):
            out[(case, str(l))] = (float(dice[i]), float(hd95[i]))
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--cases", type=int, default=20)
    ap.add_argument("--size", type=int, default=256)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--monai-reps", type=int, default=1)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--dir")
    ap.add_argument("--dice", default=os.path.join(ROOT, "target", "release", "dice"))
    a = ap.parse_args()
    try:
        import nibabel, torch, monai  # noqa: F401
    except ImportError as e:
        print(f"skipped: {e}")
        return 0
    d = a.dir or tempfile.mkdtemp(prefix="dice-cli-bench-")
    if not os.path.isdir(os.path.join(d, "gt")) or len(os.listdir(os.path.join(d, "gt"))) != a.cases:
        t = time.perf_counter()
        write_dataset(d, a.cases, a.size)
        print(f"wrote {a.cases} cases of {a.size}^3 to {d} in {time.perf_counter() - t:.1f} s")
    torch.set_num_threads(a.threads)
    csv_path = os.path.join(d, "dice.csv")
    cmd = [a.dice, "eval", os.path.join(d, "pred"), os.path.join(d, "gt"), "--metrics", "dice,hd95",
           "--labels", "1,2,3", "--threads", str(a.threads), "--csv", csv_path, "-q"]
    times = []
    for _ in range(a.reps):
        t = time.perf_counter()
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
        times.append(time.perf_counter() - t)
    mine = {(r["case"], r["label"]): (float(r["dice"]), float(r["hd95"])) for r in csv.DictReader(open(csv_path))}
    mt = []
    for _ in range(a.monai_reps):
        t = time.perf_counter()
        ref = monai_eval(d)
        mt.append(time.perf_counter() - t)
    worst = max(max(abs(mine[k][0] - v[0]), abs(mine[k][1] - v[1]) / max(1.0, v[1])) for k, v in ref.items())
    print(f"command: {' '.join(cmd)}")
    print(f"dice eval: median {statistics.median(times):.2f} s of {a.reps} ({', '.join(f'{x:.2f}' for x in times)})")
    print(f"MONAI script: median {statistics.median(mt):.2f} s of {a.monai_reps} ({', '.join(f'{x:.2f}' for x in mt)})")
    print(f"speed-up {statistics.median(mt) / statistics.median(times):.1f}x; largest difference {worst:.2e} over {len(ref)} rows")
    return 0 if worst < 1e-6 else 1


if __name__ == "__main__":
    sys.exit(main())
