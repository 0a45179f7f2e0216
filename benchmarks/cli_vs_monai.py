#!/usr/bin/env python3
"""`dice eval` against a MONAI metrics script and against seg-metrics on the same NIfTI files.

Writes CASES pairs of SIZE^3 uint8 label volumes (3 labels: nested ellipsoids with bumpy
surfaces, the prediction shifted and rescaled) as uncompressed NIfTI-1 with nibabel, then times,
one after the other on the same files:

- `dice eval PRED GT --labels 1,2,3 --threads T --csv ... --json ...` with every default metric
  (the whole process: reading, metrics, outputs);
- a Python loop doing what a MONAI user writes for the same metrics: nibabel load, one-hot,
  `get_confusion_matrix` (counts, volumes, vs), `compute_dice`, `compute_iou`,
  `compute_confusion_matrix_metric` (precision, sensitivity, specificity),
  `compute_hausdorff_distance` (hd, and hd95 with percentile=95),
  `compute_average_surface_distance` (symmetric: assd; directed: asd) and
  `compute_surface_dice` (nsd at 1 mm), all with the file's spacing. MONAI has no boundary F1,
  so `bf` has no counterpart there;
- seg-metrics `write_metrics(labels=[1, 2, 3], gdth_path=GT, pred_path=PRED, TPTNFPFN=True)`
  with its default metrics (dice, jaccard, precision, recall, fpr, fnr, vs, hd, hd95, msd,
  mdsd, stdsd and the four counts), reading the files itself with SimpleITK.

Checks the values where the definitions match: every MONAI value (MONAI computes in float32:
relative 1e-5), and seg-metrics' dice, jaccard, precision, recall, fpr (= 1 - specificity),
fnr (= 1 - recall) and TP/FP/FN/TN (relative 1e-9, counts exact). seg-metrics' vs, hd, hd95
and msd are other definitions (docs/cli.md) and are not compared.

Torch and SimpleITK are limited to the same thread count as `dice eval`. Wall and CPU time
(user + system, all threads: the child's rusage for `dice eval`, `time.process_time()` for the
references) are both reported: on a shared machine the CPU time is the steadier measure. With --ref-cases K
(MONAI) or --sm-cases K (seg-metrics) a reference runs on the first K cases only; the speed-ups
are per case.
Needs numpy, nibabel, torch, monai; seg-metrics is timed when installed.

  python3 benchmarks/cli_vs_monai.py [--cases 20] [--size 256] [--reps 3] [--threads 2]
                                     [--tools dice,monai,seg-metrics]
                                     [--ref-cases K] [--sm-cases K] [--dir DIR]
                                     [--dice PATH]
"""

import argparse
import csv
import math
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time

import warnings

import numpy as np

warnings.filterwarnings("ignore", category=FutureWarning)
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SPACING = (0.8, 0.8, 1.5)
LABELS = (1, 2, 3)
TOL_MM = 1.0


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


def case_names(d, k):
    return sorted(os.listdir(os.path.join(d, "gt")))[:k]


def monai_eval(d, names):
    """Every metric of the CLI's default set that MONAI has, per (case, label)."""
    import nibabel as nib
    import torch
    from monai.metrics import (
        compute_average_surface_distance,
        compute_confusion_matrix_metric,
        compute_dice,
        compute_hausdorff_distance,
        compute_iou,
        compute_surface_dice,
        get_confusion_matrix,
    )

    out = {}
    for name in names:
        g_img = nib.load(os.path.join(d, "gt", name))
        spacing = [float(x) for x in g_img.header.get_zooms()[:3]]
        g = np.asarray(g_img.dataobj)
        p = np.asarray(nib.load(os.path.join(d, "pred", name)).dataobj)
        P = torch.from_numpy(np.stack([p == l for l in LABELS])[None].astype(np.float32))
        G = torch.from_numpy(np.stack([g == l for l in LABELS])[None].astype(np.float32))
        cm = get_confusion_matrix(P, G, include_background=True)  # (1, C, [tp, fp, tn, fn])
        tp, fp, tn, fn = (cm[0, :, i].double() for i in range(4))
        vox = spacing[0] * spacing[1] * spacing[2]
        m = {
            "dice": compute_dice(P, G, include_background=True)[0],
            "iou": compute_iou(P, G, include_background=True)[0],
            "precision": compute_confusion_matrix_metric("precision", cm)[0],
            "recall": compute_confusion_matrix_metric("sensitivity", cm)[0],
            "specificity": compute_confusion_matrix_metric("specificity", cm)[0],
            "vs": 1 - (fn - fp).abs() / (2 * tp + fp + fn),
            "hd": compute_hausdorff_distance(P, G, include_background=True, spacing=spacing)[0],
            "hd95": compute_hausdorff_distance(P, G, include_background=True, percentile=95, spacing=spacing)[0],
            "assd": compute_average_surface_distance(P, G, include_background=True, symmetric=True, spacing=spacing)[0],
            "asd": compute_average_surface_distance(P, G, include_background=True, symmetric=False, spacing=spacing)[0],
            "nsd": compute_surface_dice(P, G, [TOL_MM] * len(LABELS), include_background=True, spacing=spacing)[0],
            "tp": tp,
            "fp": fp,
            "fn": fn,
            "tn": tn,
            "n_pred": tp + fp,
            "n_ref": tp + fn,
            "vol_pred": (tp + fp) * vox,
            "vol_ref": (tp + fn) * vox,
        }
        case = name.split(".nii")[0]
        for i, l in enumerate(LABELS):
            out[(case, str(l))] = {k: float(v[i]) for k, v in m.items()}
    return out


def seg_metrics_eval(d, names):
    """seg-metrics on the files, its default metrics plus the four counts."""
    import SimpleITK as sitk  # noqa: F401  (seg-metrics' reader)
    from seg_metrics import seg_metrics as sm

    out = {}
    for name in names:
        res = sm.write_metrics(
            labels=list(LABELS),
            gdth_path=os.path.join(d, "gt", name),
            pred_path=os.path.join(d, "pred", name),
            TPTNFPFN=True,
            verbose=False,
        )
        res = res[0]
        case = name.split(".nii")[0]
        for i, l in enumerate(res["label"]):
            out[(case, str(l))] = {k: float(v[i]) for k, v in res.items() if k not in ("label", "filename")}
    return out


def rel_diff(a, b):
    if math.isinf(a) or math.isinf(b) or math.isnan(a) or math.isnan(b):
        return 0.0 if a == b or (math.isnan(a) and math.isnan(b)) else math.inf
    return abs(a - b) / max(1.0, abs(a), abs(b))


def worst(mine, ref, pairs):
    """The largest relative difference per compared metric."""
    res = {}
    for mk, rk, f in pairs:
        res[mk if mk == rk else f"{mk}~{rk}"] = max(rel_diff(mine[key][mk], f(v[rk])) for key, v in ref.items())
    return res


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--cases", type=int, default=20)
    ap.add_argument("--size", type=int, default=256)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--ref-cases", type=int, help="cases timed with the MONAI script (default: all)")
    ap.add_argument("--sm-cases", type=int, help="cases timed with seg-metrics (default: all)")
    ap.add_argument(
        "--tools",
        default="dice,monai,seg-metrics",
        help="what to time (comma-separated); without dice, the CSV of an earlier run in --dir is compared",
    )
    ap.add_argument("--dir")
    ap.add_argument("--dice", default=os.path.join(ROOT, "target", "release", "dice"))
    a = ap.parse_args()
    try:
        import nibabel  # noqa: F401
        import torch
        import monai  # noqa: F401
    except ImportError as e:
        print(f"skipped: {e}")
        return 0
    have_sm = False
    tools = set(a.tools.split(","))
    if "seg-metrics" in tools:
        try:
            import SimpleITK as sitk
            from seg_metrics import seg_metrics  # noqa: F401  (imported before the timing starts)

            sitk.ProcessObject.SetGlobalDefaultNumberOfThreads(a.threads)
            have_sm = True
        except ImportError as e:
            print(f"seg-metrics not timed: {e}")
    d = a.dir or tempfile.mkdtemp(prefix="dice-cli-bench-")
    if not os.path.isdir(os.path.join(d, "gt")) or len(os.listdir(os.path.join(d, "gt"))) != a.cases:
        t = time.perf_counter()
        write_dataset(d, a.cases, a.size)
        print(f"wrote {a.cases} cases of {a.size}^3 to {d} in {time.perf_counter() - t:.1f} s", flush=True)
    torch.set_num_threads(a.threads)
    csv_path = os.path.join(d, "dice.csv")
    cmd = [
        a.dice,
        "eval",
        os.path.join(d, "pred"),
        os.path.join(d, "gt"),
        "--labels",
        "1,2,3",
        "--tolerance",
        str(TOL_MM),
        "--threads",
        str(a.threads),
        "--csv",
        csv_path,
        "--json",
        os.path.join(d, "dice.json"),
        "-q",
    ]
    print(f"command: {' '.join(cmd)}", flush=True)
    dt = dc = None
    if "dice" in tools:
        times, cpus = [], []
        for _ in range(a.reps):
            c0 = resource.getrusage(resource.RUSAGE_CHILDREN)
            t = time.perf_counter()
            subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
            times.append(time.perf_counter() - t)
            c1 = resource.getrusage(resource.RUSAGE_CHILDREN)
            cpus.append(c1.ru_utime + c1.ru_stime - c0.ru_utime - c0.ru_stime)
        dt, dc = statistics.median(times), statistics.median(cpus)
        print(
            f"dice eval, {a.cases} cases: median {dt:.2f} s of {a.reps} ({', '.join(f'{x:.2f}' for x in times)}), "
            f"{dt / a.cases:.3f} s per case; CPU time median {dc:.1f} s ({dc / a.cases:.3f} s per case)",
            flush=True,
        )
    mine = {
        (r["case"], r["label"]): {k: float(v) for k, v in r.items() if k not in ("case", "label", "pred", "gt")}
        for r in csv.DictReader(open(csv_path))
    }

    def report(name, k, wall, cpu):
        line = f"{name}, {k} cases: {wall:.1f} s, {wall / k:.2f} s per case; CPU time {cpu:.1f} s ({cpu / k:.2f} s per case)"
        if dt is not None:
            line += (
                f"; speed-up per case: wall {(wall / k) / (dt / a.cases):.1f}x, CPU {(cpu / k) / (dc / a.cases):.1f}x"
            )
        print(line, flush=True)

    ok = True
    if "monai" in tools:
        k = a.ref_cases or a.cases
        t, c = time.perf_counter(), time.process_time()
        ref = monai_eval(d, case_names(d, k))
        report("MONAI script", k, time.perf_counter() - t, time.process_time() - c)
        w = worst(mine, ref, [(m, m, float) for m in next(iter(ref.values()))])
        print(
            "  largest relative difference per metric (MONAI computes in float32): "
            + ", ".join(f"{m} {v:.1e}" for m, v in w.items()),
            flush=True,
        )
        ok &= max(w.values()) < 1e-5

    if have_sm:
        k = a.sm_cases or a.cases
        t, c = time.perf_counter(), time.process_time()
        sref = seg_metrics_eval(d, case_names(d, k))
        report("seg-metrics", k, time.perf_counter() - t, time.process_time() - c)
        w = worst(
            mine,
            sref,
            [
                ("dice", "dice", float),
                ("iou", "jaccard", float),
                ("precision", "precision", float),
                ("recall", "recall", float),
                ("specificity", "fpr", lambda x: 1 - x),
                ("recall", "fnr", lambda x: 1 - x),
                ("tp", "TP", float),
                ("fp", "FP", float),
                ("fn", "FN", float),
                ("tn", "TN", float),
            ],
        )
        print(
            "  largest relative difference where the definitions match: "
            + ", ".join(f"{m} {v:.1e}" for m, v in w.items()),
            flush=True,
        )
        ok &= max(w.values()) < 1e-9
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
