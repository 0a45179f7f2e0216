"""Times dice.compat.monai's metrics (and dice.compat.torchmetrics' GeneralizedDiceScore) against
the originals on the same one-hot masks, CPU, medians of repeated runs, and prints a Markdown table.

    DICE_LIBRARY=target/release/libdice.so python python/benchmarks/bench_metrics_vs_monai.py \
        [--shape 2 4 128 128 128] [--threads 2] [--reps 5] [--ref-reps 3]

Inputs: smoothed random blobs, one-hot over C classes; the originals get float32 tensors (their
usual input), dice gets uint8 masks, and the "int64" rows give dice int64 masks (narrowed to uint8
in one pass inside the call). Every row checks that both sides agree before it is timed.
"""

import argparse
import statistics
import time
import warnings

import numpy as np

import dice
from dice.compat import monai as ours
from dice.compat import torchmetrics as ours_tm


def median_time(fn, reps):
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def masks(shape, seed):
    rng = np.random.default_rng(seed)
    x = rng.random(shape, dtype=np.float32)
    for ax in range(2, len(shape)):
        x = (x + np.roll(x, 1, axis=ax) + np.roll(x, -1, axis=ax)) / 3
    lab = x.argmax(axis=1)
    return np.moveaxis(np.eye(shape[1], dtype=np.uint8)[lab], -1, 1).copy(), lab


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--shape", type=int, nargs="+", default=[2, 4, 128, 128, 128])
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--ref-reps", type=int, default=3)
    args = ap.parse_args()
    shape = tuple(args.shape)
    c = shape[1]
    p, p_lab = masks(shape, 0)
    y, y_lab = masks(shape, 1)
    p64, y64 = p.astype(np.int64), y.astype(np.int64)
    dice.set_num_threads(args.threads)

    import monai.metrics as mm
    import torch
    import torchmetrics.segmentation as tms

    torch.set_num_threads(args.threads)
    pt, yt = torch.from_numpy(p.astype(np.float32)), torch.from_numpy(y.astype(np.float32))
    pl, yl = torch.from_numpy(p_lab), torch.from_numpy(y_lab)
    th = [1.5] * (c - 1)
    sp = (0.8, 1.0, 1.5)[-(len(shape) - 2) :]

    def cls(name, **kw):
        return (lambda a, b: getattr(ours, name)(**kw)(a, b)), (lambda a, b: getattr(mm, name)(**kw)(a, b))

    def agg(name, **kw):
        def run(mod, a, b):
            m = getattr(mod, name)(**kw)
            m(a, b)
            return m.aggregate()

        return (lambda a, b: run(ours, a, b)), (lambda a, b: run(mm, a, b))

    def fn(name, **kw):
        return (lambda a, b: getattr(ours, name)(a, b, **kw)), (lambda a, b: getattr(mm, name)(a, b, **kw))

    rows = [
        ("compute_dice", fn("compute_dice")),
        ("compute_iou", fn("compute_iou")),
        ("compute_generalized_dice", fn("compute_generalized_dice")),
        ("get_confusion_matrix", fn("get_confusion_matrix")),
        ("compute_absolute_volume_difference", fn("compute_absolute_volume_difference")),
        ("DiceMetric + aggregate", agg("DiceMetric")),
        ("GeneralizedDiceScore + aggregate", agg("GeneralizedDiceScore")),
        (
            "ConfusionMatrixMetric (3 names) + aggregate",
            agg("ConfusionMatrixMetric", metric_name=["f1", "mcc", "sensitivity"]),
        ),
        ("FBetaScore + aggregate", agg("FBetaScore", beta=2.0)),
        ("AbsoluteVolumeDifferenceMetric", cls("AbsoluteVolumeDifferenceMetric")),
        ("compute_hausdorff_distance (hd95, spacing)", fn("compute_hausdorff_distance", percentile=95, spacing=sp)),
        ("compute_average_surface_distance (symmetric)", fn("compute_average_surface_distance", symmetric=True)),
        ("compute_surface_dice", fn("compute_surface_dice", class_thresholds=th)),
        ("compute_surface_dice (use_subvoxels)", fn("compute_surface_dice", class_thresholds=th, use_subvoxels=True)),
        ("HausdorffDistanceMetric", cls("HausdorffDistanceMetric")),
    ]
    print(
        f"masks {shape}; dice threads {dice.get_num_threads()}, torch threads {torch.get_num_threads()}; "
        f"medians of {args.reps} (dice) / {args.ref_reps} (original) runs\n"
    )
    print("| API | dice uint8 (ms) | dice int64 (ms) | original (ms) | speed-up (uint8) |")
    print("|---|---:|---:|---:|---:|")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for name, (mine, theirs) in rows:
            _check(mine(p, y), theirs(pt, yt), name)
            t8 = median_time(lambda: mine(p, y), args.reps)
            t64 = median_time(lambda: mine(p64, y64), args.reps)
            tr = median_time(lambda: theirs(pt, yt), args.ref_reps)
            print(f"| {name} | {t8 * 1e3:.1f} | {t64 * 1e3:.1f} | {tr * 1e3:.1f} | {tr / t8:.0f}x |", flush=True)

        # torchmetrics: int64 index maps (its documented input) and int64 one-hot
        for fmt, a, b, ta, tb in (
            ("index", p_lab, y_lab, pl, yl),
            ("one-hot", p64, y64, torch.from_numpy(p64), torch.from_numpy(y64)),
        ):
            mine = lambda a=a, b=b, fmt=fmt: ours_tm.GeneralizedDiceScore(c, input_format=fmt)(a, b)
            theirs = lambda ta=ta, tb=tb, fmt=fmt: tms.GeneralizedDiceScore(c, input_format=fmt)(ta, tb)
            _check(mine(), theirs(), fmt)
            t = median_time(mine, args.reps)
            tr = median_time(theirs, args.ref_reps)
            print(
                f"| torchmetrics GeneralizedDiceScore ({fmt}, int64) | - | {t * 1e3:.1f} | {tr * 1e3:.1f} | "
                f"{tr / t:.0f}x (int64) |",
                flush=True,
            )


def _check(mine, theirs, name):
    def flat(v):
        if isinstance(v, (list, tuple)):
            return np.concatenate([flat(x) for x in v]) if v else np.zeros(0)
        return np.asarray(v.numpy() if hasattr(v, "numpy") else v, dtype=np.float64).reshape(-1)

    a, b = flat(mine), flat(theirs)
    if a.shape != b.shape or not np.allclose(a, b, rtol=1e-4, atol=1e-4, equal_nan=True):
        raise SystemExit(f"{name}: dice and the original disagree: {a[:6]} vs {b[:6]}")


if __name__ == "__main__":
    main()
