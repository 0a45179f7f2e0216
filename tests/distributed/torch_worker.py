"""One rank of the torch.distributed tests (gloo on 127.0.0.1), started by test_torch_distributed.py.

    python torch_worker.py RANK WORLD PORT

Every rank builds the same data (fixed seeds), takes its shard (unequal sizes; rank 1's labels
hold no voxel of class 2), and checks against the single-process results on the concatenated
batch, which it computes itself: loss values (bit-identical: the global stats are exact),
input gradients (world_size x the single-process gradient of its items) and, through
DistributedDataParallel over a Conv3d, every parameter's gradient. Exits 0 when every check
holds; an AssertionError (non-zero exit) names the case otherwise.
"""

import datetime
import sys

import numpy as np
import torch
import torch.distributed as dist

import dice.torch as dt
from dice.compat import monai as cm

RANK, WORLD, PORT = (int(a) for a in sys.argv[1:4])
SIZES = {2: [3, 1], 3: [2, 1, 3]}[WORLD]  # items per rank: unequal
C = 3


def data(dtype, seed=0):
    """The whole batch (N, C, 5, 6, 4) logits and (N, 1, ...) labels; rank 1's items have no class 2."""
    g = torch.Generator().manual_seed(seed)
    n = sum(SIZES)
    x = torch.randn(n, C, 5, 6, 4, generator=g, dtype=torch.float64).to(dtype)
    y = torch.randint(0, C, (n, 1, 5, 6, 4), generator=g)
    lo = SIZES[0]
    y[lo : lo + SIZES[1]] = torch.randint(0, 2, (SIZES[1], 1, 5, 6, 4), generator=g)
    return x, y


def shard(t):
    lo = sum(SIZES[:RANK])
    return t[lo : lo + SIZES[RANK]]


def cases():
    """(name, module class, keywords): the losses under test."""
    common = dict(softmax=True, to_onehot_y=True)
    return [
        ("Dice batch", dt.DiceLoss, dict(common, batch=True)),
        ("Dice batch no-bg", dt.DiceLoss, dict(common, batch=True, include_background=False, squared_pred=True)),
        ("Dice per-sample mean", dt.DiceLoss, dict(common)),
        ("Dice per-sample sum", dt.DiceLoss, dict(common, reduction="sum")),
        ("Dice per-sample none", dt.DiceLoss, dict(common, reduction="none")),
        ("Dice batch none", dt.DiceLoss, dict(common, batch=True, reduction="none")),
        ("GeneralizedDice", dt.GeneralizedDiceLoss, dict(common)),
        ("GeneralizedDice batch", dt.GeneralizedDiceLoss, dict(common, batch=True)),
        ("Tversky", dt.TverskyLoss, dict(common, alpha=0.3, beta=0.7, include_background=False)),
        ("Tversky batch", dt.TverskyLoss, dict(common, alpha=0.3, beta=0.7, batch=True)),
        ("DiceCE", dt.DiceCELoss, dict(common)),
        ("DiceCE batch weighted", dt.DiceCELoss, dict(common, batch=True, weight=[0.2, 1.0, 3.0], lambda_ce=0.7)),
        ("DiceCE sum", dt.DiceCELoss, dict(common, reduction="sum")),
        ("DiceFocal", dt.DiceFocalLoss, dict(common, gamma=1.5)),
        ("DiceFocal batch", dt.DiceFocalLoss, dict(common, batch=True, alpha=0.25)),
        ("DiceFocal batch sum", dt.DiceFocalLoss, dict(common, batch=True, reduction="sum")),
        ("Focal mean", dt.FocalLoss, dict(to_onehot_y=True, gamma=2.0)),
        ("Focal sum", dt.FocalLoss, dict(to_onehot_y=True, reduction="sum", use_softmax=True)),
    ]


def eps(dtype):
    return torch.finfo(dtype).eps


def check_losses(dtype):
    x, y = data(dtype)
    for name, cls, kw in cases():
        where = f"[{name}, {dtype}, rank {RANK}/{WORLD}]"
        # single process, whole batch
        xr = x.clone().requires_grad_()
        ref = cls(**kw)(xr, y)
        upstream = torch.linspace(0.5, 1.5, ref.numel(), dtype=dtype).reshape(ref.shape)
        (ref * upstream).sum().backward()
        # this rank's shard, global loss
        xs = shard(x).clone().requires_grad_()
        out = cls(process_group=dt.WORLD, **kw)(xs, shard(y))
        ref_out = shard(ref) if kw.get("reduction") == "none" and not kw.get("batch") else ref
        assert out.shape == ref_out.shape, f"{where} shape {tuple(out.shape)} != {tuple(ref_out.shape)}"
        # the global stats are exact, so the values are the single-process ones bit for bit
        assert torch.equal(out.detach(), ref_out.detach()), (
            f"{where} loss {out.detach().numpy()} != single-process {ref_out.detach().numpy()}"
        )
        up = shard(upstream) if ref_out is not ref else upstream
        (out * up).sum().backward()
        # world_size x the single-process gradient of this rank's items
        expected = WORLD * shard(xr.grad)
        scale = float(expected.abs().max())
        err = float((xs.grad - expected).abs().max())
        assert scale > 0 and err <= 8 * eps(dtype) * scale, (
            f"{where} input gradient: max error {err:.3g} (scale {scale:.3g})"
        )
        # With 2 ranks the factor is exact and one backward pass runs from the same global
        # coefficients as the single process: bit for bit. (Hybrids whose two terms need
        # different stats run two passes and add them: rounding.)
        two_passes = cls in (dt.DiceCELoss, dt.DiceFocalLoss) and (
            not kw.get("batch") or (cls is dt.DiceFocalLoss and kw.get("reduction") == "sum")
        )
        if WORLD == 2 and not two_passes:
            assert torch.equal(xs.grad, expected), f"{where} input gradient not bit-identical (max error {err:.3g})"


class Net(torch.nn.Module):
    def __init__(self, dtype):
        super().__init__()
        torch.manual_seed(1)
        self.conv = torch.nn.Conv3d(2, C, 3, padding=1).to(dtype)

    def forward(self, x):
        return self.conv(x)


def check_ddp(dtype):
    g = torch.Generator().manual_seed(7)
    n = sum(SIZES)
    x = torch.randn(n, 2, 5, 6, 4, generator=g, dtype=torch.float64).to(dtype)
    _, y = data(dtype, seed=3)
    for name, cls, kw in [
        c
        for c in cases()
        if c[0] in ("Dice batch", "Dice per-sample mean", "GeneralizedDice", "Tversky", "DiceCE", "DiceFocal")
    ]:
        where = f"[DDP {name}, {dtype}, rank {RANK}/{WORLD}]"
        single = Net(dtype)
        cls(**kw)(single(x), y).backward()
        ref = [p.grad for p in single.parameters()]
        ddp = torch.nn.parallel.DistributedDataParallel(Net(dtype))
        loss = cls(process_group=dt.WORLD, **kw)(ddp(shard(x)), shard(y))
        loss.backward()
        tol = 1e-12 if dtype == torch.float64 else 2e-6  # f32: sums over every voxel of the batch
        for (pname, p), r in zip(ddp.module.named_parameters(), ref):
            err = float((p.grad - r).abs().max())
            scale = float(r.abs().max())
            assert err <= tol * scale, f"{where} {pname}: max error {err:.3g} (scale {scale:.3g})"
        if name == "Dice batch":
            # the same DDP step with the rank-local loss is not the whole batch's gradient: the
            # check above can tell them apart
            local = torch.nn.parallel.DistributedDataParallel(Net(dtype))
            cls(**kw)(local(shard(x)), shard(y)).backward()
            err = float((local.module.conv.weight.grad - ref[0]).abs().max())
            assert err > 100 * tol * float(ref[0].abs().max()), f"{where} the local loss matches too ({err:.3g})"


def check_failure():
    """A rank whose call fails (a label out of range) raises its own error; the others raise a
    RuntimeError naming it, instead of waiting for it forever in the all-reduce."""
    x, y = data(torch.float64)
    y = shard(y).clone()
    if RANK == 1:
        y[0, 0, 0, 0, 0] = 7
    try:
        dt.DiceLoss(softmax=True, to_onehot_y=True, batch=True, process_group=dt.WORLD)(shard(x), y)
    except Exception as e:  # noqa: BLE001
        if RANK == 1:
            assert "label" in str(e).lower(), f"rank 1: {e!r}"
        else:
            assert isinstance(e, RuntimeError) and "rank(s) [1]" in str(e), f"rank {RANK}: {e!r}"
    else:
        raise AssertionError(f"rank {RANK}: no error")


# ---- metrics: aggregate() over every rank's items ----

M_ITEMS = 7
M_SIZES = {2: [4, 3], 3: [3, 2, 2]}[WORLD]  # items per rank, each rank calls in batches of 2


def metric_items():
    """One-hot predictions and ground truth (7, 3, 8, 8, 5): item 2 has no voxel of class 1 in
    the ground truth (NaN Dice entries), item 4 a NaN in y_nan (NaN confusion entries)."""
    rng = np.random.default_rng(11)
    shape = (M_ITEMS, 8, 8, 5)
    gt = rng.integers(0, 3, size=shape)
    gt[2][gt[2] == 1] = 0
    pred = np.where(rng.random(shape) < 0.7, gt, rng.integers(0, 3, size=shape))
    onehot = lambda labels: np.moveaxis(np.eye(3)[labels], -1, 1)  # noqa: E731
    y_nan = onehot(gt)
    y_nan[4, 1, 0, 0, 0] = np.nan
    return onehot(pred), onehot(gt), y_nan


def metric_cases():
    """(name, factory, which y, aggregate keywords)."""
    return [
        ("Dice mean", lambda: cm.DiceMetric(reduction="mean", get_not_nans=True), "y", {}),
        ("Dice mean_batch", lambda: cm.DiceMetric(reduction="mean_batch", get_not_nans=True), "y", {}),
        ("Dice none no-bg", lambda: cm.DiceMetric(include_background=False, reduction="none"), "y", {}),
        ("MeanIoU", lambda: cm.MeanIoU(get_not_nans=True), "y", {}),
        ("GeneralizedDice", lambda: cm.GeneralizedDiceScore(), "y", {}),
        ("Hausdorff95", lambda: cm.HausdorffDistanceMetric(percentile=95.0, get_not_nans=True), "y", {}),
        (
            "CM mean (gathered)",
            lambda: cm.ConfusionMatrixMetric(metric_name=["f1", "mcc"], get_not_nans=True),
            "y_nan",
            {},
        ),
        (
            "CM sum (all-reduced)",
            lambda: cm.ConfusionMatrixMetric(metric_name=["tpr", "ppv"], reduction="sum", get_not_nans=True),
            "y_nan",
            {},
        ),
        (
            "CM mean_batch (all-reduced)",
            lambda: cm.ConfusionMatrixMetric(metric_name="f1", reduction="mean_batch", get_not_nans=True),
            "y_nan",
            {},
        ),
        (
            "CM sum_batch (all-reduced)",
            lambda: cm.ConfusionMatrixMetric(metric_name="acc", reduction="sum_batch", get_not_nans=True),
            "y",
            {},
        ),
        (
            "CM per-sample",
            lambda: cm.ConfusionMatrixMetric(metric_name="tnr", get_not_nans=True),
            "y_nan",
            dict(compute_sample=True),
        ),
        (
            "FBeta mean_batch (all-reduced)",
            lambda: cm.FBetaScore(beta=2.0, reduction="mean_batch", get_not_nans=True),
            "y_nan",
            {},
        ),
        ("FBeta mean (gathered)", lambda: cm.FBetaScore(beta=0.5), "y", {}),
    ]


def run_metric(factory, pred, y, kwargs, batches):
    m = factory()
    for lo, hi in batches:
        m(y_pred=pred[lo:hi], y=y[lo:hi])
    return m.aggregate(**kwargs), m.get_buffer()


def metric_references():
    """Single-process aggregates and buffers over all items: computed before torch.distributed is
    initialised (afterwards the metric classes gather)."""
    pred, y, y_nan = metric_items()
    data = dict(y=y, y_nan=y_nan)
    refs = {}
    for name, factory, which, kwargs in metric_cases():
        refs[name] = run_metric(
            factory, pred, data[which], kwargs, [(i, min(i + 3, M_ITEMS)) for i in range(0, M_ITEMS, 3)]
        )
    # what this rank's items alone give (to show that the checks can tell)
    lo = sum(M_SIZES[:RANK])
    local = {
        name: run_metric(
            factory, pred[lo : lo + M_SIZES[RANK]], data[which][lo : lo + M_SIZES[RANK]], kwargs, [(0, M_SIZES[RANK])]
        )[0]
        for name, factory, which, kwargs in metric_cases()
    }
    return refs, local


def flat(result):
    """Every number of an aggregate() result (arrays, tuples, lists, dicts) as one float64 array."""
    if isinstance(result, dict):
        return flat(list(result.values()))
    if isinstance(result, (list, tuple)):
        return np.concatenate([flat(r) for r in result]) if result else np.zeros(0)
    return np.asarray(result, dtype=np.float64).reshape(-1)


def check_metrics(refs, local):
    pred, y, y_nan = metric_items()
    data = dict(y=y, y_nan=y_nan)
    lo, n = sum(M_SIZES[:RANK]), M_SIZES[RANK]
    batches = [(i, min(i + 2, n)) for i in range(0, n, 2)]  # uneven last batch on odd shards
    differs = 0
    for name, factory, which, kwargs in metric_cases():
        where = f"[metric {name}, rank {RANK}/{WORLD}]"
        got, buffer = run_metric(factory, pred[lo : lo + n], data[which][lo : lo + n], kwargs, batches)
        want, want_buffer = refs[name]
        assert np.array_equal(flat(got), flat(want), equal_nan=True), f"{where} {got} != single-process {want}"
        assert np.array_equal(buffer, want_buffer, equal_nan=True), f"{where} buffer differs"
        differs += not np.array_equal(flat(local[name]), flat(want), equal_nan=True)
    assert differs >= len(metric_cases()) - 2, f"rank {RANK}: local aggregates equal the global ones too often"


def main():
    refs, local = metric_references()
    dist.init_process_group(
        "gloo",
        init_method=f"tcp://127.0.0.1:{PORT}",
        rank=RANK,
        world_size=WORLD,
        timeout=datetime.timedelta(seconds=60),
    )
    torch.set_num_threads(1)
    try:
        for dtype in (torch.float64, torch.float32):
            check_losses(dtype)
        for dtype in (torch.float64, torch.float32):
            check_ddp(dtype)
        check_failure()
        check_metrics(refs, local)
        dist.barrier()
    finally:
        dist.destroy_process_group()
    print(f"rank {RANK}/{WORLD}: ok")


if __name__ == "__main__":
    main()
