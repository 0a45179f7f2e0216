#!/usr/bin/env python3
"""The Dice loss family (softmax + i64 label map; sigmoid + mask for the binary shape), forward
and forward+backward, through MONAI's losses on PyTorch (CPU) and through dice, in one run.

dice is timed by the dice-report binary (same shapes, same byte model, its --json output);
MONAI in this process. Prints the speed-up, each side's ratio to the bandwidth floor that
dice-report measured, and each side's peak memory above its inputs. Plain python3 + torch +
monai; when torch or MONAI is missing it says so and exits 0 without measuring.

  python3 benchmarks/compare_pytorch.py [--threads 16] [--reps 5] [--shapes 2d,3d,st,bin]
                                        [--losses dice|all|dice,dice_ce,...] [--dice-report PATH] [--json OUT]
"""

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# Same shapes as dice-bench/src/cases.rs (name, dims); the binary shape uses sigmoid.
SHAPES = {
    "2d": (8, 4, 512, 512),
    "3d": (2, 4, 128, 128, 128),
    "st": (1, 2, 8, 64, 128, 128),
    "bin": (8, 1, 512, 512),
}


def monai_loss(L, name, channels):
    """MONAI's counterpart of each dice-report loss (the LOSSES table of cases.rs)."""
    act = dict(softmax=True, to_onehot_y=True) if channels > 1 else dict(sigmoid=True)
    make = {
        "dice": lambda: L.DiceLoss(**act),
        "jaccard": lambda: L.DiceLoss(jaccard=True, **act),
        "tversky": lambda: L.TverskyLoss(alpha=0.3, beta=0.7, **act),
        "gdice": lambda: L.GeneralizedDiceLoss(**act),
        "focal": lambda: L.FocalLoss(to_onehot_y=True, use_softmax=True) if channels > 1 else L.FocalLoss(),
        "dice_ce": lambda: L.DiceCELoss(**act),
        "dice_focal": lambda: L.DiceFocalLoss(**act),
    }
    return make[name]()


LOSSES = ["dice", "jaccard", "tversky", "gdice", "focal", "dice_ce", "dice_focal"]


def status_kib(field):
    with open("/proc/self/status") as f:
        m = re.search(rf"^{field}:\s+(\d+) kB", f.read(), re.M)
    return int(m.group(1)) if m else None


def reset_peak():
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


def return_freed_memory():
    """glibc: a fixed 64 KiB mmap threshold, so freed tensors leave RSS (as in dice-report)."""
    try:
        import ctypes

        ctypes.CDLL(None).mallopt(-3, 64 << 10)  # M_MMAP_THRESHOLD
    except (OSError, AttributeError):
        print("NOTE: mallopt unavailable (not glibc): freed memory may stay resident and hide peaks")


def median_secs(reps, fn):
    fn()
    times = []
    for _ in range(reps):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def run_dice(binary, threads, reps, shapes, losses):
    """Runs dice-report on the same cases; returns {(loss, shape, pass): case} from its JSON."""
    if binary is None:
        binary = os.path.join(ROOT, "target", "release", "dice-report")
        print("building dice-report (cargo build --release -p dice-bench --bin dice-report)", flush=True)
        subprocess.run(
            ["cargo", "build", "--release", "-q", "-p", "dice-bench", "--bin", "dice-report"], cwd=ROOT, check=True
        )
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "dice.json")
        only = (["dice"] if losses == ["dice"] else []) + (shapes if len(shapes) == 1 else [])
        cmd = [
            binary,
            "--threads",
            str(threads),
            "--reps",
            str(reps),
            "--filter",
            ",".join(only + ["contig", "i64"]),
            "--json",
            out,
        ]
        print("$", " ".join(cmd), flush=True)
        subprocess.run(cmd, check=True)
        with open(out) as f:
            doc = json.load(f)
    return {(c["loss"], c["shape"], c["pass"]): c for c in doc["cases"] if c["shape"] in shapes and c["loss"] in losses}


def inputs(torch, dims):
    """Logits uniform in [-4, 4); i64 labels in [0, C), or a float 0/1 mask for one channel."""
    g = torch.Generator().manual_seed(0)
    x = (torch.rand(dims, generator=g) * 8 - 4).contiguous()
    ldims = (dims[0], 1) + dims[2:]
    labels = torch.randint(0, max(dims[1], 2), ldims, generator=g, dtype=torch.int64)
    return x, labels if dims[1] > 1 else labels.to(x.dtype)


def run_monai(torch, loss, x, labels, reps):
    """{pass: (median seconds, MiB above the inputs)} for forward and forward+backward."""
    out = {}

    def fwd():
        with torch.no_grad():
            loss(x, labels).item()

    def fwdbwd():
        xg = x.requires_grad_(True)
        loss(xg, labels).backward()
        xg.grad = None

    for pas, fn in (("fwd", fwd), ("fwdbwd", fwdbwd)):
        x.grad = None
        rss = status_kib("VmRSS")
        reset_peak()
        secs = median_secs(reps, fn)
        peak = status_kib("VmHWM")
        out[pas] = (secs, (peak - rss) / 1024 if peak and rss else None)
        x.requires_grad_(False)
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--threads", type=int, default=os.cpu_count(), help="threads for both (default: all cores)")
    ap.add_argument("--reps", type=int, default=5, help="timed calls per case after one warm-up")
    ap.add_argument("--shapes", default="2d,3d,st,bin")
    ap.add_argument("--losses", default="dice", help="dice-report loss names, or 'all' (default: dice)")
    ap.add_argument(
        "--dice-report", default=None, help="dice-report binary (default: build target/release/dice-report)"
    )
    ap.add_argument("--json", default=None, help="write the comparison as JSON")
    a = ap.parse_args()
    shapes = [s for s in a.shapes.split(",") if s]
    unknown = [s for s in shapes if s not in SHAPES]
    if unknown:
        ap.error(f"unknown shape(s) {unknown}; known: {list(SHAPES)}")
    losses = LOSSES if a.losses == "all" else [s for s in a.losses.split(",") if s]
    unknown = [s for s in losses if s not in LOSSES]
    if unknown:
        ap.error(f"unknown loss(es) {unknown}; known: {LOSSES}")
    try:
        import torch
        import monai.losses as monai_losses
    except ImportError as e:
        print(
            f"SKIPPED compare_pytorch.py: {e.name or e} is not installed (needs torch and monai: "
            "pip install torch monai); nothing was measured"
        )
        return 0
    import monai

    return_freed_memory()
    torch.set_num_threads(a.threads)
    print(f"torch {torch.__version__}, MONAI {monai.__version__}, {a.threads} thread(s), medians of {a.reps}")
    if not reset_peak():
        print("NOTE: /proc/self/clear_refs refused: MONAI peaks are process-wide")
    dice = run_dice(a.dice_report, a.threads, a.reps, shapes, losses)
    rows = []
    hdr = (
        f"{'loss':<10} {'shape':<5} {'pass':<7} {'dice ms':>9} {'MONAI ms':>10} {'speed-up':>9} {'dice xfloor':>11} "
        f"{'MONAI xfloor':>12} {'dice +MiB':>9} {'MONAI +MiB':>10}"
    )
    print(
        "memory: peak RSS during the calls minus RSS with the inputs resident (dice: + its gradient buffer for fwdbwd)"
    )
    print(hdr)
    fmt = lambda v: "-" if v is None else f"{v:.0f}"
    failures = 0
    for name in shapes:
        x, labels = inputs(torch, SHAPES[name])
        for loss_name in losses:
            try:
                m = run_monai(torch, monai_loss(monai_losses, loss_name, SHAPES[name][1]), x, labels, a.reps)
            except Exception as e:  # report and go on: one failing MONAI loss must not hide the others
                print(f"FAILED: MONAI {loss_name} on {name}: {type(e).__name__}: {e}", flush=True)
                failures += 1
                continue
            for pas in ("fwd", "fwdbwd"):
                d = dice[(loss_name, name, pas)]
                msecs, mmem = m[pas]
                dmem = d["extra_rss_mib"]
                if dmem is not None and pas == "fwdbwd":
                    dmem += d["elements"] * 4 / 2**20
                row = {
                    "loss": loss_name,
                    "shape": name,
                    "pass": pas,
                    "threads": a.threads,
                    "dice_s": d["median_s"],
                    "monai_s": msecs,
                    "speedup": msecs / d["median_s"],
                    "floor_s": d["floor_s"],
                    "dice_ratio_to_floor": d["ratio_to_floor"],
                    "monai_ratio_to_floor": msecs / d["floor_s"],
                    "dice_mib_over_inputs": dmem,
                    "monai_mib_over_inputs": mmem,
                }
                rows.append(row)
                print(
                    f"{loss_name:<10} {name:<5} {pas:<7} {row['dice_s'] * 1e3:>9.2f} {msecs * 1e3:>10.2f} "
                    f"{row['speedup']:>8.1f}x {row['dice_ratio_to_floor']:>11.2f} {row['monai_ratio_to_floor']:>12.1f} "
                    f"{fmt(dmem):>9} {fmt(mmem):>10}",
                    flush=True,
                )
        del x, labels
    if a.json:
        with open(a.json, "w") as f:
            json.dump(
                {
                    "torch": torch.__version__,
                    "monai": monai.__version__,
                    "threads": a.threads,
                    "reps": a.reps,
                    "cpu_count": os.cpu_count(),
                    "rows": rows,
                },
                f,
                indent=1,
            )
        print(f"wrote {a.json}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
