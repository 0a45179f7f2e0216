"""Starts the ranks of a distributed test as separate processes on 127.0.0.1 and collects them."""

import os
import socket
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def free_port():
    """A TCP port on 127.0.0.1 that was free a moment ago (the OS picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run_ranks(script, world, timeout):
    """Runs `python script RANK WORLD PORT` for every rank at once; returns their outputs.
    Fails with every rank's output when one exits non-zero or the group runs past `timeout`
    seconds (then every rank is killed)."""
    port = free_port()
    env = dict(os.environ, PYTHONUNBUFFERED="1", OMP_NUM_THREADS="1")
    procs = [
        subprocess.Popen(
            [sys.executable, str(HERE / script), str(r), str(world), str(port)],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env=env,
            cwd=HERE,
        )
        for r in range(world)
    ]
    outputs, failed = [], False
    for p in procs:
        try:
            out, _ = p.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            for q in procs:
                q.kill()
            out, _ = p.communicate()
            out += f"\n[killed after {timeout} s]"
            failed = True
        outputs.append(out)
        failed |= p.returncode != 0
    if failed:
        report = "\n".join(
            f"--- rank {r} (exit {p.returncode})\n{o[-4000:]}" for r, (p, o) in enumerate(zip(procs, outputs))
        )
        raise AssertionError(f"{script} with {world} ranks failed:\n{report}")
    return outputs
