"""Times dice (numpy API and dice.torch) against monai.losses.DiceLoss on the CPU, same inputs.

    DICE_LIBRARY=target/release/libdice.so python python/benchmarks/bench_vs_monai.py [N C D H W]

Softmax logits (float32) and an int64 label map, forward + backward, median of several runs.
MONAI/torch are optional (their rows are left out when absent). Threads: every core for all.
"""

import sys
import time

import numpy as np

import dice


def median_time(fn, reps=7):
    fn()  # warm-up
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return float(np.median(times))


def main():
    shape = tuple(int(v) for v in sys.argv[1:6]) if len(sys.argv) >= 6 else (2, 4, 64, 128, 128)
    n, c = shape[:2]
    rng = np.random.default_rng(0)
    x = rng.normal(size=shape).astype(np.float32)
    y = rng.integers(0, c, size=(n, 1, *shape[2:])).astype(np.int64)
    mb = (x.nbytes + y.nbytes) / 1e6
    print(f"shape {shape} float32 logits + int64 labels ({mb:.0f} MB), dice threads {dice.get_num_threads()}")
    rows = []
    t = median_time(lambda: dice.dice_loss(x, y, softmax=True, to_onehot_y=True))
    rows.append(("dice numpy forward", t))
    t = median_time(lambda: dice.dice_loss(x, y, softmax=True, to_onehot_y=True, return_grad=True))
    rows.append(("dice numpy forward+grad", t))
    try:
        import torch
        from monai.losses import DiceLoss as MonaiDice

        from dice.torch import DiceLoss as TorchDice
    except ImportError as e:
        print(f"(torch/monai rows left out: {e})")
    else:
        xt, yt = torch.from_numpy(x), torch.from_numpy(y)

        def step(loss):
            xg = xt.clone().requires_grad_()
            loss(xg, yt).backward()

        rows.append(
            ("dice.torch forward+backward", median_time(lambda: step(TorchDice(softmax=True, to_onehot_y=True))))
        )
        with torch.no_grad():
            rows.append(("monai forward", median_time(lambda: MonaiDice(softmax=True, to_onehot_y=True)(xt, yt), 3)))
        rows.append(("monai forward+backward", median_time(lambda: step(MonaiDice(softmax=True, to_onehot_y=True)), 3)))
        print(f"torch {torch.__version__} threads {torch.get_num_threads()}")
    for name, t in rows:
        print(f"{name:32s} {t * 1e3:9.1f} ms  {x.size / t / 1e6:8.0f} Melem/s")


if __name__ == "__main__":
    main()
