"""Randomised differential test against the real monai.losses (needs torch + monai; skipped loudly
without them). Complements the vendored reference cases with many more option/shape combinations."""

import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="PyTorch is not installed: the differential test against MONAI was NOT run")
monai_losses = pytest.importorskip(
    "monai.losses", reason="MONAI is not installed: the differential test against MONAI was NOT run"
)

from conftest import assert_close  # noqa: E402
from dice.compat import monai  # noqa: E402


def _random_case(seed):
    rng = np.random.default_rng(seed)
    spatial = tuple(rng.integers(1, 7, size=rng.integers(1, 4)))
    n, c = int(rng.integers(1, 4)), int(rng.choice([1, 2, 4]))
    act = rng.choice(["none", "sigmoid", "softmax"])
    labels = bool(rng.integers(0, 2)) and act != "sigmoid"
    kw = dict(
        sigmoid=act == "sigmoid",
        softmax=act == "softmax",
        to_onehot_y=labels,
        include_background=bool(rng.integers(0, 2)),
        squared_pred=bool(rng.integers(0, 2)),
        jaccard=bool(rng.integers(0, 2)),
        batch=bool(rng.integers(0, 2)),
        reduction=str(rng.choice(["mean", "sum", "none"])),
        smooth_nr=float(rng.choice([0.0, 1e-5, 1.0])),
        smooth_dr=float(rng.choice([1e-5, 1.0])),
    )
    kept = c - (0 if kw["include_background"] or c == 1 else 1)
    w = rng.integers(0, 3)
    if w == 1:
        kw["weight"] = float(rng.uniform(0.1, 2))
    elif w == 2:
        kw["weight"] = [float(v) for v in rng.uniform(0, 2, size=kept)]
    x = rng.normal(size=(n, c, *spatial)) * (1 if act != "none" else 0.3)
    if act == "none":
        x = np.abs(x)
    if labels:
        y = rng.integers(0, c, size=(n, 1, *spatial)).astype(np.float64)
        if rng.integers(0, 3) == 0:
            kw["ignore_index"] = int(rng.integers(0, c))
    else:
        soft = rng.integers(0, 3) == 0
        y = rng.random((n, c, *spatial)) if soft else (rng.random((n, c, *spatial)) < 0.4).astype(np.float64)
        kw["soft_label"] = bool(soft and rng.integers(0, 2))
        if rng.integers(0, 4) == 0:
            kw["ignore_index"] = int(rng.choice([-1, 0, 1, c - 1, 255]))
    return kw, x, y


@pytest.mark.parametrize("seed", range(150))
def test_dice_loss_matches_monai(seed):
    kw, x, y = _random_case(seed)
    try:
        monai.DiceLoss(**kw)(x, y)
    except NotImplementedError:
        # only where MONAI's mask is soft or marks a class of a multi-label target
        ii, c = kw["ignore_index"], x.shape[1]
        assert y.shape[1] == c and (c == 1 or 0 <= ii < c)
        assert not np.isin(y, (0.0, 1.0)).all() or (c > 1 and not (y.sum(axis=1) == 1).all())
        kw["ignore_index"] = None
    xt = torch.tensor(x, requires_grad=True)
    ref = monai_losses.DiceLoss(**kw)(xt, torch.tensor(y))
    ref.sum().backward()
    value, grad = monai.DiceLoss(**kw)(x, y, return_grad=True)
    assert_close(value, ref.detach().numpy(), "loss", f"seed {seed} {kw}")
    assert_close(grad, xt.grad.numpy(), "grad", f"seed {seed} {kw}")


@pytest.mark.parametrize("ignore_index", [0, 1, 2, -1, 7])
@pytest.mark.parametrize("include_background", [True, False])
def test_ignore_index_one_hot_target(ignore_index, include_background):
    """A one-hot target with a class index masks that class's voxels (mapped onto a label map);
    a sentinel masks all-zero voxels."""
    rng = np.random.default_rng(ignore_index + 10)
    x = rng.normal(size=(2, 3, 5, 6))
    labels = rng.integers(0, 3, size=(2, 5, 6))
    y = (np.arange(3)[None, :, None, None] == labels[:, None]).astype(np.float64)
    y[0, :, 0, :] = 0.0 if ignore_index < 0 else y[0, :, 0, :]  # all-zero voxels for the sentinel
    kw = dict(softmax=True, include_background=include_background, ignore_index=ignore_index)
    xt = torch.tensor(x, requires_grad=True)
    ref = monai_losses.DiceLoss(**kw)(xt, torch.tensor(y))
    ref.backward()
    value, grad = monai.DiceLoss(**kw)(x, y, return_grad=True)
    assert_close(value, ref.detach().numpy(), "loss", str(kw))
    assert_close(grad, xt.grad.numpy(), "grad", str(kw))


def _random_masks(seed):
    rng = np.random.default_rng(seed)
    spatial = tuple(int(v) for v in rng.integers(6, 16, size=rng.integers(2, 4)))
    n, c = int(rng.integers(1, 3)), int(rng.integers(2, 4))

    # blobs: thresholded smooth noise, with some classes emptied in prediction or ground truth
    def blobs():
        x = rng.random((n, c, *spatial))
        for ax in range(2, 2 + len(spatial)):
            x = (x + np.roll(x, 1, axis=ax) + np.roll(x, -1, axis=ax)) / 3
        m = (x > np.quantile(x, 0.6)).astype(np.uint8)
        m[rng.random((n, c)) < 0.15] = 0
        return m

    return rng, spatial, blobs(), blobs()


def _monai_metric(cls, kw, p, y, **call):
    import monai.metrics as mm

    m = getattr(mm, cls)(**kw)
    per_item = m(y_pred=torch.tensor(p), y=torch.tensor(y), **call)
    agg = m.aggregate()
    return per_item, agg


@pytest.mark.parametrize("seed", range(40))
def test_metrics_match_monai(seed):
    pytest.importorskip("scipy", reason="scipy is not installed: MONAI's surface metrics need it (test NOT run)")
    import warnings

    rng, spatial, p, y = _random_masks(seed)
    red = str(rng.choice(["mean", "sum", "mean_batch", "sum_batch", "mean_channel", "sum_channel", "none"]))
    bg = bool(rng.integers(0, 2))
    spacing = [float(v) for v in rng.uniform(0.5, 2.0, size=len(spatial))] if rng.integers(0, 2) else None
    dm = str(rng.choice(["euclidean", "chessboard", "taxicab"]))
    cases_ = [
        ("DiceMetric", dict(include_background=bg, ignore_empty=bool(rng.integers(0, 2))), {}, "overlap"),
        ("MeanIoU", dict(include_background=bg, ignore_empty=bool(rng.integers(0, 2))), {}, "overlap"),
        (
            "HausdorffDistanceMetric",
            dict(
                include_background=bg,
                distance_metric=dm,
                directed=bool(rng.integers(0, 2)),
                percentile=[None, 50.0, 95.0][int(rng.integers(0, 3))],
            ),
            dict(spacing=spacing),
            "distance",
        ),
        (
            "SurfaceDistanceMetric",
            dict(include_background=bg, distance_metric=dm, symmetric=bool(rng.integers(0, 2))),
            dict(spacing=spacing),
            "distance",
        ),
        (
            "SurfaceDiceMetric",
            dict(
                include_background=bg,
                distance_metric=dm,
                class_thresholds=[float(v) for v in rng.uniform(0.5, 3, size=p.shape[1] - (0 if bg else 1))],
            ),
            dict(spacing=spacing),
            "overlap",
        ),
    ]
    for cls, kw, call, tol in cases_:
        kw = dict(kw, reduction=red, get_not_nans=True)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ref_items, (ref_agg, ref_nn) = _monai_metric(cls, kw, p, y, **call)
        m = getattr(monai, cls)(**kw)
        items = m(y_pred=p, y=y, **call)
        agg, nn = m.aggregate()
        what = f"seed {seed} {cls} {kw} {call}"
        assert_close(items, ref_items.numpy(), tol, what + " per_item")
        assert_close(agg, ref_agg.numpy(), tol, what + " aggregate")
        assert_close(nn, ref_nn.numpy(), "overlap", what + " not_nans")


FAMILY = ["GeneralizedDiceLoss", "TverskyLoss", "FocalLoss", "DiceCELoss", "DiceFocalLoss"]


def _family_case(name, seed):
    kw, x, y = _random_case(seed)
    rng = np.random.default_rng(seed + 1000)
    base = {k: kw[k] for k in ("include_background", "to_onehot_y", "reduction") if k in kw}
    act = {k: kw[k] for k in ("sigmoid", "softmax")}
    smooth = {k: kw[k] for k in ("smooth_nr", "smooth_dr", "batch")}
    if name == "GeneralizedDiceLoss":
        spec = dict(base, **act, **smooth, w_type=str(rng.choice(["square", "simple", "uniform"])))
    elif name == "TverskyLoss":
        spec = dict(base, **act, **smooth, alpha=float(rng.uniform(0, 1)), beta=float(rng.uniform(0, 1)))
    elif name == "FocalLoss":
        spec = dict(base, gamma=float(rng.choice([0.0, 1.0, 2.0, 2.5])), use_softmax=bool(kw["softmax"]))
        if rng.integers(0, 2):
            spec["alpha"] = float(rng.uniform(0.1, 0.9))
    elif name == "DiceCELoss":
        spec = dict(
            base,
            **act,
            **smooth,
            reduction=str(rng.choice(["mean", "sum"])),
            lambda_dice=float(rng.uniform(0, 2)),
            lambda_ce=float(rng.uniform(0, 2)),
        )
        if x.shape[1] > 1 and y.shape[1] == 1 and rng.integers(0, 2):
            spec["weight"] = torch.tensor(rng.uniform(0.2, 2, size=x.shape[1]))
    else:
        spec = dict(
            base,
            **act,
            **smooth,
            gamma=float(rng.choice([1.0, 2.0])),
            lambda_dice=float(rng.uniform(0, 2)),
            lambda_focal=float(rng.uniform(0, 2)),
        )
        if spec["reduction"] == "none":
            spec["reduction"] = "mean"
    return spec, x, y


@pytest.mark.parametrize("seed", range(25))
@pytest.mark.parametrize("name", FAMILY)
def test_loss_family_matches_monai(name, seed):
    spec, x, y = _family_case(name, seed)
    xt = torch.tensor(x, requires_grad=True)
    try:
        ours = getattr(monai, name)(**{k: (v.numpy() if isinstance(v, torch.Tensor) else v) for k, v in spec.items()})
        value, grad = ours(x, y, return_grad=True)
    except NotImplementedError as e:
        pytest.xfail(str(e))
    ref = getattr(monai_losses, name)(**spec)(xt, torch.tensor(y))
    ref.sum().backward()
    assert_close(value, ref.detach().numpy(), "loss", f"seed {seed} {name} {spec}")
    assert_close(grad, xt.grad.numpy(), "grad", f"seed {seed} {name} {spec}")
