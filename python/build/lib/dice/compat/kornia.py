"""Drop-in for kornia.losses.dice_loss and tversky_loss (numpy in, numpy out): pred (B, C, H, W)
logits (softmax inside), target (B, H, W) class indices; the loss is averaged over the batch.
`return_grad=True` returns (loss, d loss / d pred).

dice_loss: "micro" (default) gives one score per sample over every class and pixel,
1 - 2 sum_c w_c I_c / (sum_c w_c (P_c + G_c) + eps); "macro" averages the per-class losses of
each sample, weighted by `weight`, over the classes present in its (non-ignored) target. eps is
added to the denominator only. Pixels labelled ignore_index leave every sum.
"""

import numpy as np

from .. import losses
from .._errors import OptionError, ShapeError


def _check(pred, target):
    if pred.ndim != 4:
        raise ShapeError(f"Invalid pred shape, we expect BxNxHxW. Got: {pred.shape}")
    if np.ndim(target) != 3 or np.shape(target) != (pred.shape[0], *pred.shape[2:]):
        raise ShapeError(f"Expected target size {(pred.shape[0], *pred.shape[2:])}, got {np.shape(target)}")


def _run(pred, target, return_grad, **options):
    opts, keep = losses.family_options(softmax=True, batch=False, smooth_nr=0.0, **options)
    loss, _, grad = losses.run(pred, np.asarray(target), opts, return_grad=return_grad)
    del keep
    return (np.float64(loss), grad) if return_grad else np.float64(loss)


def dice_loss(pred, target, average="micro", eps=1e-8, weight=None, ignore_index=-100, return_grad=False):
    pred = np.asarray(pred)
    _check(pred, target)
    if average not in ("micro", "macro"):
        raise OptionError(f"The `average` has to be one of {{'micro', 'macro'}}. Got: {average}")
    w = None if weight is None else np.asarray(weight, np.float64)
    return _run(pred, target, return_grad, smooth_dr=float(eps), weight=w, ignore_index=ignore_index,
                pool_classes=average == "micro", zero_absent=average == "macro",
                weight_mode="in_sums" if average == "micro" else "weighted_mean")


def tversky_loss(pred, target, alpha, beta, eps=1e-8, ignore_index=-100, return_grad=False):
    """1 - I / (I + alpha FP + beta FN + eps) per sample and class, averaged."""
    pred = np.asarray(pred)
    _check(pred, target)
    return _run(pred, target, return_grad, smooth_dr=float(eps), ignore_index=ignore_index, overlap="tversky",
                alpha=float(alpha), beta=float(beta))
