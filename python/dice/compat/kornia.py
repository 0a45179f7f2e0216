"""Drop-in for kornia.losses.dice_loss and tversky_loss (numpy in, numpy out): pred (B, C, H, W)
logits (softmax inside), target (B, H, W) class indices; pixels labelled ignore_index leave every
sum. `return_grad=True` returns (loss, d loss / d pred).

dice_loss "micro" (default): one score per sample over every class and pixel,
1 - 2 sum_c w_c I_c / (sum_c w_c (P_c + G_c) + eps). dice_loss "macro" and tversky_loss: one
loss per sample and class (1 - 2 I / (P + G + eps), or 1 - I / (I + alpha FP + beta FN + eps)),
averaged (weighted by `weight`) over the classes PRESENT in the sample's non-ignored target; a
sample with none enters the batch mean as loss 1 with zero gradient. The per-class losses and
their gradient come from the library (reduction "none" with one upstream weight per entry).
"""

import numpy as np

from .. import losses
from .._errors import OptionError, ShapeError
from .._tensor import host_array


def _check(pred, target):
    if pred.ndim != 4:
        raise ShapeError(f"Invalid pred shape, we expect BxNxHxW. Got: {pred.shape}")
    if np.ndim(target) != 3 or np.shape(target) != (pred.shape[0], *pred.shape[2:]):
        raise ShapeError(f"Expected target size {(pred.shape[0], *pred.shape[2:])}, got {np.shape(target)}")


def _present(target, classes, ignore_index):
    """(N, C) bool: class c occurs among sample n's non-ignored labels (others go to a spare bin;
    labels out of range are reported by the library)."""
    t = np.asarray(target).reshape(target.shape[0], -1).astype(np.int64)
    valid = (t >= 0) & (t < classes) & (t != (ignore_index if ignore_index is not None else -1 - classes))
    bins = np.where(valid, t, classes) + (classes + 1) * np.arange(t.shape[0])[:, None]
    counts = np.bincount(bins.reshape(-1), minlength=(classes + 1) * t.shape[0]).reshape(t.shape[0], classes + 1)
    return counts[:, :classes] > 0


def _present_mean(pred, target, ignore_index, weight, return_grad, **options):
    """mean over samples of sum_c a_c l_c / sum_c a_c over present classes (1 when none)."""
    n, c = pred.shape[:2]
    w = np.ones(c) if weight is None else np.asarray(weight, np.float64).reshape(-1)
    if w.size != c:
        raise OptionError(f"weight must hold one value per class of pred: got {w.size} for {c} classes")
    a = w * _present(target, c, ignore_index)
    norm = a.sum(axis=1, keepdims=True)
    empty = norm[:, 0] == 0
    upstream = np.where(empty[:, None], 0.0, a / np.where(empty[:, None], 1.0, norm)) / n
    opts, keep = losses.family_options(
        softmax=True, batch=False, smooth_nr=0.0, reduction="none", ignore_index=ignore_index, **options
    )
    _, values, grad = losses.run(pred, np.asarray(target), opts, return_grad=return_grad, upstream=upstream)
    del keep
    value = np.float64((upstream * values).sum() + empty.sum() / n)
    return (value, grad) if return_grad else value


def dice_loss(pred, target, average="micro", eps=1e-8, weight=None, ignore_index=-100, return_grad=False):
    pred, target = host_array(pred, "pred"), host_array(target, "target")
    _check(pred, target)
    if average not in ("micro", "macro"):
        raise OptionError(f"The `average` has to be one of {{'micro', 'macro'}}. Got: {average}")
    if average == "macro":
        return _present_mean(pred, target, ignore_index, weight, return_grad, smooth_dr=float(eps))
    w = None if weight is None else np.asarray(weight, np.float64)
    opts, keep = losses.family_options(
        softmax=True,
        batch=False,
        smooth_nr=0.0,
        smooth_dr=float(eps),
        weight=w,
        ignore_index=ignore_index,
        pool_classes=True,
        weight_mode="after_ratio" if w is None else "in_sums",
    )
    loss, _, grad = losses.run(pred, np.asarray(target), opts, return_grad=return_grad)
    del keep
    return (np.float64(loss), grad) if return_grad else np.float64(loss)


def tversky_loss(pred, target, alpha, beta, eps=1e-8, ignore_index=-100, return_grad=False):
    pred, target = host_array(pred, "pred"), host_array(target, "target")
    _check(pred, target)
    return _present_mean(
        pred,
        target,
        ignore_index,
        None,
        return_grad,
        smooth_dr=float(eps),
        overlap="tversky",
        alpha=float(alpha),
        beta=float(beta),
    )
