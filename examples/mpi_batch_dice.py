"""Data-parallel batch Dice with mpi4py, exact: the Python twin of examples/mpi_batch_dice.c
(same data, same steps, same output lines; the tests check that both print the same numbers).

    mpirun -np 3 python examples/mpi_batch_dice.py [f32|f64]

Every rank holds whole items of the batch (unequal shards allowed): dice.losses.stats on its
shard; the stats rows of every rank are gathered in rank order (allgather) and summed in item
order, as the library pools the rows of a batch in one process; dice.losses.finalize gives the
loss of the whole batch and dice.losses.backward_from_stats the gradient of the shard, both bit
for bit what one process computes on the whole batch (checked on rank 0, which computes that
too). The "allreduce" line measures the alternative, Allreduce(SUM) of each rank's pooled rows:
see the C program's comment. Exit status 0 only when everything matches bit for bit.
"""

import sys

import numpy as np
from mpi4py import MPI

from dice import losses

N, C, D, H, W = 7, 3, 16, 12, 10
VOX = D * H * W
M64 = (1 << 64) - 1


def mix(z):
    """splitmix64 over a uint64 array (wrapping arithmetic, as in C)."""
    with np.errstate(over="ignore"):
        z = z + np.uint64(0x9E3779B97F4A7C15)
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return z ^ (z >> np.uint64(31))


def fill(first, n, dtype):
    """Logits (n, C, D, H, W) and int64 labels (n, 1, D, H, W) of items first..first+n-1; item 1
    has no voxel of class 2."""
    x = np.empty((n, C, D, H, W), dtype)
    y = np.empty((n, 1, D, H, W), np.int64)
    for i in range(n):
        item = np.uint64(first + i)
        k = np.arange(C * VOX, dtype=np.uint64)
        u = mix((item << np.uint64(32)) | k)
        x[i] = ((u >> np.uint64(11)).astype(np.float64) * 2.0**-53 * 6.0 - 3.0).astype(dtype).reshape(C, D, H, W)
        v = np.arange(VOX, dtype=np.uint64)
        labels = (mix(~((item << np.uint64(32)) | v)) % np.uint64(C)).astype(np.int64)
        if first + i == 1:
            labels[labels == 2] = 0
        y[i] = labels.reshape(1, D, H, W)
    return x, y


def fnv(a):
    """FNV-1a over the array's bytes (C order), as the C program computes it."""
    h = 1469598103934665603
    for b in np.ascontiguousarray(a).tobytes():
        h = ((h ^ b) * 1099511628211) & M64
    return h


def ulps(a, b):
    ia, ib = (np.array([v], np.float64).view(np.int64)[0] for v in (a, b))
    return abs(int(ia) - int(ib))


def say(line):
    """One write per line: the lines of several ranks then never interleave."""
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def seqsum(a):
    """The sum in element order (as the C program adds), not numpy's pairwise sum."""
    return float(np.cumsum(a.astype(np.float64).reshape(-1))[-1])


def main():
    comm = MPI.COMM_WORLD
    rank, size = comm.rank, comm.size
    kind = sys.argv[1] if len(sys.argv) > 1 else "f32"
    if kind not in ("f32", "f64") or size > N:
        if rank == 0:
            print(f"usage: mpi_batch_dice.py [f32|f64] with at most {N} ranks", file=sys.stderr)
        comm.Abort(2)
    dtype = np.float32 if kind == "f32" else np.float64
    counts = [N // size + (r < N % size) for r in range(size)]
    firsts = [sum(counts[:r]) for r in range(size)]
    n, first = counts[rank], firsts[rank]
    x, y = fill(first, n, dtype)
    failed = False
    for name, opts in (
        ("batch_dice", dict(softmax=True, include_background=False, batch=True)),
        ("batch_dice_ce", dict(softmax=True, batch=True, pointwise="softmax_ce")),
    ):
        # 1. this shard's stats
        flat, layout = losses.stats(x, y, **opts)
        triples, records = layout.split(flat)
        # 2. every rank's rows in rank order (= item order), summed item by item
        gathered = comm.allgather((triples, records))
        glayout = layout.with_rows(N)
        everything = glayout.join(
            np.concatenate([t for t, _ in gathered]),
            None if records is None else np.concatenate([r for _, r in gathered]),
        )
        pooled = glayout.pooled(everything)
        loss, _ = losses.finalize(pooled, layout.with_rows(1), **opts)
        # 3. this shard's gradient from the global stats
        grad = losses.backward_from_stats(x, y, pooled, layout.with_rows(1), **opts)
        h = fnv(grad)
        say(
            f"rank {rank}/{size} {kind} loss={name} items={first}..{first + n - 1} value={loss:.17g} "
            f"grad_sum={seqsum(grad):.17g} grad_fnv={h:016x}"
        )
        # measured: MPI Allreduce(SUM) of each rank's pooled rows
        part = layout.pooled(flat)
        reduced = np.empty_like(part)
        comm.Allreduce(part, reduced, op=MPI.SUM)
        worst = max(ulps(a, b) for a, b in zip(reduced, pooled))
        loss_ar, _ = losses.finalize(reduced, layout.with_rows(1), **opts)
        say(
            f"rank {rank}/{size} {kind} loss={name} allreduce max_ulps={worst} "
            f"loss_bitwise={'yes' if loss_ar == loss else 'no'} loss_ulps={ulps(loss_ar, loss)}"
        )
        # rank 0: the single-process call on the whole batch
        theirs = comm.gather((loss, h), root=0)
        if rank == 0:
            X, Y = fill(0, N, dtype)
            single, G = losses.loss(X, Y, return_grad=True, **opts)
            say(f"single {kind} loss={name} value={single:.17g}")
            value_ok = all(v == single for v, _ in theirs)
            grad_ok = all(hr == fnv(G[firsts[r] : firsts[r] + counts[r]]) for r, (_, hr) in enumerate(theirs))
            say(
                f"check {kind} loss={name} value={'MATCH' if value_ok else 'MISMATCH'} "
                f"grad={'MATCH' if grad_ok else 'MISMATCH'}"
            )
            failed |= not (value_ok and grad_ok)
    failed = comm.bcast(failed, root=0)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
