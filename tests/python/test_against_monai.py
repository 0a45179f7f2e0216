"""Randomised differential test against the real monai.losses (needs torch + monai; skipped loudly
without them). Complements the vendored reference cases with many more option/shape combinations."""

import numpy as np
import pytest

torch = pytest.importorskip(
    "torch", reason="PyTorch is not installed: the differential test against MONAI was NOT run")
monai_losses = pytest.importorskip(
    "monai.losses", reason="MONAI is not installed: the differential test against MONAI was NOT run")

from conftest import assert_close  # noqa: E402
from dice.compat import monai  # noqa: E402


def _random_case(seed):
    rng = np.random.default_rng(seed)
    spatial = tuple(rng.integers(1, 7, size=rng.integers(1, 4)))
    n, c = int(rng.integers(1, 4)), int(rng.choice([1, 2, 4]))
    act = rng.choice(["none", "sigmoid", "softmax"])
    labels = bool(rng.integers(0, 2)) and act != "sigmoid"
    kw = dict(
        sigmoid=act == "sigmoid", softmax=act == "softmax", to_onehot_y=labels,
        include_background=bool(rng.integers(0, 2)), squared_pred=bool(rng.integers(0, 2)),
        jaccard=bool(rng.integers(0, 2)), batch=bool(rng.integers(0, 2)),
        reduction=str(rng.choice(["mean", "sum", "none"])),
        smooth_nr=float(rng.choice([0.0, 1e-5, 1.0])), smooth_dr=float(rng.choice([1e-5, 1.0])),
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
