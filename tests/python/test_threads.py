"""Thread control, determinism across thread counts, and concurrent calls from Python threads."""

import ctypes
import os
import sys
import threading
import time

import numpy as np
import pytest

import dice
from dice import _lib
from dice._tensor import Tensor
from dice.losses import dice_options

RNG = np.random.default_rng(11)


def _problem(seed, shape=(2, 4, 16, 40, 40)):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=shape).astype(np.float32)
    t = rng.integers(0, shape[1], size=(shape[0], 1, *shape[2:]))
    return x, t


@pytest.fixture
def restore_threads():
    yield
    dice.set_num_threads(0)


def test_default_is_every_core(restore_threads):
    """The default is the library's one-thread-per-available-core context (Rust's
    available_parallelism: the CPU affinity, lowered by a cgroup CPU quota)."""
    dice.set_num_threads(4)
    dice.set_num_threads(None)
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    n = dice.get_num_threads()
    assert n == _lib.Context(0).num_threads()
    assert 1 <= n <= cores


def test_results_do_not_depend_on_threads(restore_threads):
    x, t = _problem(1)
    results = {}
    for n in (1, 2, 3, 8, 0):
        dice.set_num_threads(n)
        if n:
            assert dice.get_num_threads() == n
        results[n] = dice.dice_loss(x, t, softmax=True, to_onehot_y=True, reduction="none", return_grad=True)
    for n, (values, grad) in results.items():
        # bit-identical: block boundaries do not depend on the thread count
        np.testing.assert_array_equal(values, results[1][0], err_msg=f"{n} threads")
        np.testing.assert_array_equal(grad, results[1][1], err_msg=f"{n} threads")


def test_bad_thread_count():
    with pytest.raises(dice.DiceError):
        dice.set_num_threads(-1)
    with pytest.raises(dice.DiceError):
        dice.set_num_threads(1.5)


def test_concurrent_calls_are_correct(restore_threads):
    problems = [_problem(s, (2, 3, 8, 24, 24)) for s in range(6)]
    expected = [dice.dice_loss(x, t, softmax=True, to_onehot_y=True, return_grad=True) for x, t in problems]
    failures = []

    def worker(k):
        try:
            for i in range(15):
                j = (k + i) % len(problems)
                x, t = problems[j]
                loss, grad = dice.dice_loss(x, t, softmax=True, to_onehot_y=True, return_grad=True)
                if loss != expected[j][0] or not np.array_equal(grad, expected[j][1]):
                    failures.append(f"thread {k} call {i}: wrong result")
                # errors are per thread: a failing call here must not disturb the others
                try:
                    dice.dice_loss(x, t + 7)
                    failures.append(f"thread {k}: out-of-range labels accepted")
                except dice.LabelError as e:
                    if "label" not in str(e):
                        failures.append(f"thread {k}: message {e}")
                if i == 7 and k == 0:
                    dice.set_num_threads(1)  # swapping the context while others run is safe
        except Exception as e:  # noqa: BLE001 (reported below)
            failures.append(f"thread {k}: {e!r}")

    threads = [threading.Thread(target=worker, args=(k,)) for k in range(8)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert not failures, failures


def _longest_stall(fn, x, t):
    """Runs the library's dice_loss_grad through `fn` once in a worker thread while this thread
    records timestamps as fast as it can; returns (longest time between the call's start, this
    thread's stamps and the call's end; duration of the call)."""
    opts, keep = dice_options(softmax=True)
    inp, tgt = Tensor(x, "input"), Tensor(t, "target")
    grad = np.empty_like(x)
    g = Tensor(grad, "grad")
    loss = ctypes.c_double()
    ctx = _lib.context()
    args = (_lib.context_ptr(ctx), inp.ref, tgt.ref, ctypes.byref(opts), None, 0, g.ref, ctypes.byref(loss), None, 0)
    window = {}

    def worker():
        window["t0"] = time.perf_counter()
        window["status"] = fn(*args)
        window["t1"] = time.perf_counter()

    th = threading.Thread(target=worker)
    stamps = []
    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-4)
    try:
        th.start()
        while th.is_alive():
            stamps.append(time.perf_counter())
        th.join()
    finally:
        sys.setswitchinterval(interval)
    assert window["status"] == 0
    t0, t1 = window["t0"], window["t1"]
    around = [t0] + [s for s in stamps if t0 < s < t1] + [t1]
    return max(np.diff(around)), t1 - t0


def test_gil_is_released_during_calls(restore_threads):
    """While one thread is inside the library, another Python thread keeps running: its longest
    stall is a small part of the call. Control: the same function loaded with ctypes.PyDLL (which
    keeps the GIL) stalls the other thread for the whole call, so this test tells them apart."""
    dice.set_num_threads(1)
    x, t = _problem(2, (2, 4, 80, 128, 128))
    t = t[:, 0]
    fn = _lib.lib.dice_loss_grad  # what the package calls
    stall, secs = _longest_stall(fn, x, t)
    assert secs > 0.02, f"the call took {secs:.3f}s: too short to observe"
    assert stall < 0.5 * secs, f"the main thread stalled {stall:.3f}s during a {secs:.3f}s library call"
    held = ctypes.PyDLL(str(_lib.path)).dice_loss_grad
    held.restype, held.argtypes = fn.restype, fn.argtypes
    stall, secs = _longest_stall(held, x, t)
    assert stall > 0.75 * secs, f"control: the main thread stalled only {stall:.3f}s of {secs:.3f}s with the GIL held"
