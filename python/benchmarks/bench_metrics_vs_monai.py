"""Times dice.compat.monai metrics against MONAI's on the same binary masks (CPU).

    DICE_LIBRARY=target/release/libdice.so python python/benchmarks/bench_metrics_vs_monai.py [N C D H W]
"""

import sys
import time
import warnings

import numpy as np

from dice.compat import monai as ours


def best_time(fn, reps=3):
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def main():
    shape = tuple(int(v) for v in sys.argv[1:6]) if len(sys.argv) >= 6 else (2, 3, 64, 96, 96)
    rng = np.random.default_rng(0)
    x = rng.random(shape)
    for ax in range(2, len(shape)):
        x = (x + np.roll(x, 1, axis=ax) + np.roll(x, -1, axis=ax)) / 3
    p = (x > 0.5).astype(np.uint8)
    y = (np.roll(x, 2, axis=-1) > 0.5).astype(np.uint8)
    print(f"masks {shape} uint8")
    try:
        import monai.metrics as mm
        import torch
    except ImportError as e:
        mm = None
        print(f"(MONAI rows left out: {e})")
    cases = [("DiceMetric", {}), ("HausdorffDistanceMetric", dict(percentile=95)),
             ("SurfaceDistanceMetric", dict(symmetric=True)),
             ("SurfaceDiceMetric", dict(class_thresholds=[1.0] * (shape[1] - 1)))]
    for name, kw in cases:
        t = best_time(lambda: getattr(ours, name)(**kw)(y_pred=p, y=y))
        line = f"{name:26s} dice {t * 1e3:9.1f} ms"
        if mm is not None:
            pt, yt = torch.from_numpy(p), torch.from_numpy(y)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                tm = best_time(lambda: getattr(mm, name)(**kw)(y_pred=pt, y=yt), reps=2)
            line += f"   monai {tm * 1e3:9.1f} ms   x{tm / t:6.1f}"
        print(line)


if __name__ == "__main__":
    main()
