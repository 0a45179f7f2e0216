"""nnU-Net's per-voxel loss mask (dice.compat.nnunet, the loss_mask keyword) against a numpy
re-implementation of nnU-Net's formula written here, and MONAI's per-element focal output."""

import numpy as np
import pytest

import dice
from dice import _lib, losses
from dice._errors import DtypeError, ShapeError, WeightError
from dice.compat import monai, nnunet

pytestmark = pytest.mark.skipif(
    "dice_pointwise_map" in _lib.missing, reason="the loaded libdice has no loss mask (< 0.3): NOT tested"
)


def _softmax(x):
    e = np.exp(x - x.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def nnunet_dice(x, y, mask, nonlin, batch_dice, do_bg, smooth):
    """nnU-Net's MemoryEfficientSoftDiceLoss: -mean((2 I + s) / max(P + G + s, 1e-8))."""
    p = {"softmax": _softmax, "sigmoid": lambda v: 1 / (1 + np.exp(-v)), None: lambda v: v}[nonlin](x)
    if y.shape != x.shape:
        onehot = np.zeros_like(x)
        np.put_along_axis(onehot, y.reshape(y.shape[0], 1, *x.shape[2:]).astype(np.int64), 1.0, axis=1)
        y = onehot
    if not do_bg:
        p, y = p[:, 1:], y[:, 1:]
    m = np.ones((x.shape[0], 1, *x.shape[2:])) if mask is None else mask.reshape(x.shape[0], 1, *x.shape[2:])
    axes = tuple(range(2, x.ndim))
    i, q, g = (p * y * m).sum(axes), (p * m).sum(axes), (y * m).sum(axes)
    if batch_dice:
        i, q, g = i.sum(0), q.sum(0), g.sum(0)
    return -np.mean((2 * i + smooth) / np.maximum(q + g + smooth, 1e-8))


def _problem(seed, shape=(2, 3, 5, 6)):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=shape) * 2
    labels = rng.integers(0, shape[1], size=(shape[0], 1, *shape[2:]))
    mask = rng.choice([0.0, 1.0, 0.3, 1.7], size=(shape[0], 1, *shape[2:]))
    return x, labels, mask


@pytest.mark.parametrize("nonlin", ["softmax", "sigmoid", None])
@pytest.mark.parametrize("batch_dice", [False, True])
@pytest.mark.parametrize("do_bg", [False, True])
@pytest.mark.parametrize("cls", [nnunet.SoftDiceLoss, nnunet.MemoryEfficientSoftDiceLoss])
def test_nnunet_dice_with_mask(cls, nonlin, batch_dice, do_bg):
    x, labels, mask = _problem(1)
    if nonlin is None:
        x = _softmax(x)
    loss = cls(apply_nonlin=nonlin, batch_dice=batch_dice, do_bg=do_bg, smooth=1e-5, ddp=False)
    for y in (labels, labels[:, 0].astype(np.float64)):  # label map (N, 1, ...) or float (N, ...)
        for m in (None, mask, mask[:, 0] > 0.5):  # real weights, or a bool (N, ...) mask
            mf = None if m is None else np.asarray(m, dtype=np.float64)
            want = nnunet_dice(x, y, mf, nonlin, batch_dice, do_bg, 1e-5)
            value, grad = loss(x, y, loss_mask=m, return_grad=True)
            assert value == loss(x, y, loss_mask=m)
            np.testing.assert_allclose(value, want, rtol=1e-12, atol=1e-14)
            # the gradient against central differences of the numpy formula
            h = 1e-6
            for i in np.random.default_rng(2).choice(x.size, 12, replace=False):
                xp, xm = x.copy().reshape(-1), x.copy().reshape(-1)
                xp[i] += h
                xm[i] -= h
                fd = (
                    nnunet_dice(xp.reshape(x.shape), y, mf, nonlin, batch_dice, do_bg, 1e-5)
                    - nnunet_dice(xm.reshape(x.shape), y, mf, nonlin, batch_dice, do_bg, 1e-5)
                ) / (2 * h)
                assert abs(grad.reshape(-1)[i] - fd) <= 1e-7 + 1e-5 * abs(fd), (i, grad.reshape(-1)[i], fd)


def test_mask_keyword_identities_and_errors():
    x, labels, mask = _problem(3)
    x32, mask32 = x.astype(np.float32), mask.astype(np.float32)
    ones = np.ones_like(mask32)
    # all ones is no mask, bit for bit; zero weights are ignore_index on those voxels
    assert losses.dice_loss(x32, labels, softmax=True, to_onehot_y=True, loss_mask=ones) == losses.dice_loss(
        x32, labels, softmax=True, to_onehot_y=True
    )
    binary = (mask32 > 0).astype(np.float32)
    ignored = np.where(binary > 0, labels, 255)
    a = losses.loss(x32, labels, softmax=True, pointwise="softmax_ce", loss_mask=binary, return_grad=True)
    b = losses.loss(x32, ignored, softmax=True, pointwise="softmax_ce", ignore_index=255, return_grad=True)
    # without a mask the CE term runs inside the label sweep, which sums it per column instead
    # of per row (f32 lanes): the loss agrees to f32 rounding, the gradient bit for bit
    np.testing.assert_allclose(a[0], b[0], rtol=1e-6, atol=0)
    assert np.array_equal(a[1], b[1])
    # zero-copy: a strided float32 view is passed as is; a bool mask is converted
    wide = np.repeat(mask32, 2, axis=-1)[..., ::2]
    assert losses.dice_loss(x32, labels, softmax=True, to_onehot_y=True, loss_mask=wide) == losses.dice_loss(
        x32, labels, softmax=True, to_onehot_y=True, loss_mask=mask32
    )
    # three steps with the mask
    stats = losses.dice_stats(x32, labels, softmax=True, to_onehot_y=True, loss_mask=mask32)
    grad = losses.dice_backward_from_stats(x32, labels, stats, softmax=True, to_onehot_y=True, loss_mask=mask32)
    value, want = losses.dice_loss(x32, labels, softmax=True, to_onehot_y=True, loss_mask=mask32, return_grad=True)
    assert losses.dice_finalize(stats, softmax=True) == value
    assert np.array_equal(grad, want)
    for bad in (np.nan, np.inf, -1.0):
        m = mask32.copy()
        m[1, 0, 2, 3] = bad
        with pytest.raises(WeightError, match="loss_mask"):
            losses.dice_loss(x32, labels, softmax=True, to_onehot_y=True, loss_mask=m)
    with pytest.raises(ShapeError, match="loss_mask"):
        losses.dice_loss(x32, labels, softmax=True, to_onehot_y=True, loss_mask=mask32[:, :, :4])
    assert issubclass(WeightError, dice.DiceError) and issubclass(DtypeError, dice.DiceError)


@pytest.mark.parametrize("use_softmax", [False, True])
def test_monai_focal_none_is_per_element(use_softmax):
    x, labels, _ = _problem(5)
    kw = dict(to_onehot_y=True, gamma=2.0, use_softmax=use_softmax, include_background=True)
    none, grad = monai.FocalLoss(reduction="none", **kw)(x, labels, return_grad=True)
    mean, grad_mean = monai.FocalLoss(reduction="mean", **kw)(x, labels, return_grad=True)
    assert none.shape == x.shape
    np.testing.assert_allclose(none.mean(), mean, rtol=1e-12)
    np.testing.assert_allclose(grad, grad_mean * none.size, rtol=1e-10, atol=1e-15)
    if not use_softmax:  # without the background: (B, C - 1, ...)
        kept = monai.FocalLoss(reduction="none", **dict(kw, include_background=False))(x, labels)
        np.testing.assert_array_equal(kept, none[:, 1:])
