"""examples/mpi_batch_dice.c and examples/mpi_batch_dice.py under Open MPI with 2 and 3 ranks
(float32 and float64 logits): every rank's loss and gradient shard are bit-identical to the
single-process call on the whole batch, and the C and mpi4py programs print the same numbers.

Needs mpicc, mpirun and mpi4py: a missing one is a failure here, never a skip
(scripts/test-distributed.sh installs them). DICE_LIBRARY names the libdice.so to link."""

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
LIB = Path(os.environ.get("DICE_LIBRARY", ROOT / "target" / "release" / "libdice.so")).resolve()
TIMEOUT = 120


def mpirun(np_, *command):
    for tool in ("mpirun", "mpicc"):
        assert shutil.which(tool), f"{tool} not found: install Open MPI (apt-get install openmpi-bin libopenmpi-dev)"
    root = ["--allow-run-as-root"] if os.geteuid() == 0 else []
    env = dict(os.environ, OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1", OMP_NUM_THREADS="1")
    forward = [a for v in ("DICE_LIBRARY", "PYTHONPATH") if v in env for a in ("-x", v)]
    r = subprocess.run(
        ["mpirun", *root, "--oversubscribe", *forward, "-np", str(np_), *command],
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        env=env,
    )
    assert r.returncode == 0, f"{command} with {np_} ranks: exit {r.returncode}\n{r.stdout}\n{r.stderr}"
    return sorted(r.stdout.splitlines())


@pytest.fixture(scope="module")
def program(tmp_path_factory):
    assert LIB.is_file(), f"{LIB} not found (cargo build --release -p dice-ffi, or set DICE_LIBRARY)"
    exe = tmp_path_factory.mktemp("mpi") / "mpi_batch_dice"
    subprocess.run(
        [
            "mpicc",
            "-std=c11",
            "-O2",
            "-Wall",
            "-Wextra",
            "-pedantic",
            "-Werror",
            f"-I{ROOT / 'include'}",
            str(ROOT / "examples" / "mpi_batch_dice.c"),
            f"-L{LIB.parent}",
            f"-l:{LIB.name}",
            f"-Wl,-rpath,{LIB.parent}",
            "-lm",
            "-o",
            str(exe),
        ],
        check=True,
        timeout=TIMEOUT,
    )
    return exe


def check_output(lines, np_, kind):
    """Every rank reports the single-process value, and rank 0 found every value and gradient
    shard bit-identical (its FNV-1a fingerprint)."""
    for name in ("batch_dice", "batch_dice_ce"):
        single = [l for l in lines if l.startswith(f"single {kind} loss={name} ")]
        assert len(single) == 1, lines
        value = single[0].split("value=")[1]
        ranks = [l for l in lines if re.match(rf"rank \d+/{np_} {kind} loss={name} items=", l)]
        assert len(ranks) == np_, lines
        assert all(f" value={value} " in l for l in ranks), (value, ranks)
        assert f"check {kind} loss={name} value=MATCH grad=MATCH" in lines, lines
        # shards: unequal, covering the 7 items in rank order
        items = [tuple(map(int, re.search(r"items=(\d+)\.\.(\d+)", l).groups())) for l in ranks]
        assert sorted(items)[0][0] == 0 and sorted(items)[-1][1] == 6


@pytest.mark.parametrize("np_", [2, 3])
@pytest.mark.parametrize("kind", ["f32", "f64"])
def test_mpi_c_and_mpi4py(program, np_, kind):
    c = mpirun(np_, str(program), kind)
    check_output(c, np_, kind)
    try:
        import mpi4py  # noqa: F401
    except ImportError:
        pytest.fail("mpi4py is not installed (scripts/test-distributed.sh installs it)")
    py = mpirun(np_, sys.executable, str(ROOT / "examples" / "mpi_batch_dice.py"), kind)
    check_output(py, np_, kind)
    # same data, same library: the same numbers to the last bit, line by line
    assert c == py
