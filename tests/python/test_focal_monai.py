"""dice.compat.monai.FocalLoss against the installed monai.losses.FocalLoss (MONAI 1.6), every
keyword: use_softmax, include_background, to_onehot_y, gamma, alpha (scalar / per class), weight
(scalar / per class), ignore_index (a class, -1, a sentinel), reduction; value and gradient,
plus infinite logits and fully ignored items. Skipped loudly without torch/MONAI."""

import itertools
import warnings

import numpy as np
import pytest

torch = pytest.importorskip(
    "torch", reason="PyTorch is not installed: the FocalLoss differential test against MONAI was NOT run"
)
monai_losses = pytest.importorskip(
    "monai.losses", reason="MONAI is not installed: the FocalLoss differential test against MONAI was NOT run"
)

from conftest import assert_close  # noqa: E402
from dice.compat import monai  # noqa: E402

OPTIONS = list(
    itertools.product(
        [1, 3],
        [False, True],
        [True, False],
        ["mean", "sum", "none"],
        [None, 1, -1, 7],
        [{}, {"alpha": 0.3}, {"alpha": "per_class"}, {"weight": 2.0}, {"weight": "per_class"}, {"gamma": 0.0}],
    )
)


def _case(channels, use_softmax, include_background, reduction, ignore_index, extra, seed):
    rng = np.random.default_rng(seed)
    kept = channels if include_background or channels == 1 else channels - 1
    kw = dict(
        use_softmax=use_softmax,
        include_background=include_background,
        reduction=reduction,
        ignore_index=ignore_index,
        to_onehot_y=channels > 1 and bool(seed % 2),
    )
    for k, v in extra.items():
        kw[k] = [float(a) for a in rng.uniform(0.1, 0.9, size=kept)] if v == "per_class" else v
    x = rng.normal(size=(2, channels, 3, 4))
    labels = rng.integers(0, max(channels, 2), size=(2, 1, 3, 4))
    if ignore_index in (1, -1):
        labels[0, 0, 0, :2] = ignore_index
    if kw["to_onehot_y"]:
        y = labels.astype(np.float64)
    elif channels > 1:
        y = np.moveaxis(np.eye(channels)[np.clip(labels[:, 0], 0, channels - 1)], -1, 1)
    else:
        y = (labels == 1).astype(np.float64)
    return kw, x, y


def _monai(kw, x, y):
    """(value, grad) of MONAI's FocalLoss, or the exception class it raises."""
    xt = torch.tensor(x, requires_grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            out = monai_losses.FocalLoss(**kw)(xt, torch.tensor(y))
        except ValueError:
            return ValueError
    out.sum().backward()
    return out.detach().numpy(), xt.grad.numpy()


@pytest.mark.parametrize("channels, use_softmax, include_background, reduction, ignore_index, extra", OPTIONS)
def test_focal_matches_monai(channels, use_softmax, include_background, reduction, ignore_index, extra):
    for seed in (0, 1):
        kw, x, y = _case(channels, use_softmax, include_background, reduction, ignore_index, extra, seed)
        ref = _monai(kw, x, y)
        what = f"seed {seed} {kw}"
        if ref is ValueError:
            with pytest.raises(ValueError):
                monai.FocalLoss(**kw)(x, y)
            continue
        value, grad = monai.FocalLoss(**kw)(x, y, return_grad=True)
        assert_close(value, ref[0], "loss", what)
        assert_close(grad, ref[1], "grad", what)


@pytest.mark.parametrize("use_softmax", [False, True])
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("logit", [np.inf, -np.inf])
def test_infinite_logits_as_monai(use_softmax, reduction, logit):
    rng = np.random.default_rng(5)
    x = rng.normal(size=(2, 3, 2, 3))
    x[0, 1, 0, :2] = logit
    y = rng.integers(0, 3, size=(2, 1, 2, 3)).astype(np.float64)
    kw = dict(use_softmax=use_softmax, reduction=reduction, to_onehot_y=True)
    ref = monai_losses.FocalLoss(**kw)(torch.tensor(x), torch.tensor(y)).numpy()
    assert_close(monai.FocalLoss(**kw)(x, y), ref, "loss", f"{kw} logit {logit}")


@pytest.mark.parametrize("reduction", ["mean", "sum"])
def test_fully_ignored_item_as_monai(reduction):
    rng = np.random.default_rng(6)
    x = rng.normal(size=(2, 3, 2, 3))
    y = rng.integers(0, 3, size=(2, 1, 2, 3)).astype(np.float64)
    y[0] = 1
    y[1] = 1 if reduction == "mean" else y[1]
    kw = dict(reduction=reduction, to_onehot_y=True, ignore_index=1)
    value, grad = monai.FocalLoss(**kw)(x, y, return_grad=True)
    ref = _monai(kw, x, y)
    assert_close(value, ref[0], "loss", str(kw))
    assert_close(grad, ref[1], "grad", str(kw))
