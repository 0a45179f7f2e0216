"""Drop-in for monai.losses and monai.metrics (numpy in, numpy out): same class names, constructor keywords,
defaults and output shapes.

    loss = DiceLoss(softmax=True, to_onehot_y=True)
    value = loss(input, target)                       # 0-d float64 for mean/sum
    value, grad = loss(input, target, return_grad=True)

grad = d(sum of value)/d(input), in the input's dtype and shape. reduction="none" returns MONAI's
shapes: DiceLoss (B, C, 1, ...), or (C, 1, ...) with batch=True.
"""

import numpy as np

from .. import losses
from .._errors import OptionError
from .monai_metrics import (  # noqa: F401 (re-exported: MONAI's metrics live in monai.metrics)
    DiceMetric,
    HausdorffDistanceMetric,
    MeanIoU,
    SurfaceDiceMetric,
    SurfaceDistanceMetric,
)


def _check_other_act(other_act):
    if other_act is not None:
        raise OptionError("other_act is not supported: the activation is fused into the library's "
                          "passes (sigmoid or softmax); pass probabilities with neither to use another")


def _monai_none_shape(values, ndim, batch):
    """MONAI keeps the spatial axes as 1s: (B, C, 1, ...) or (C, 1, ...) with batch."""
    lead = values.shape[1:] if batch else values.shape
    return values.reshape(*lead, *([1] * (ndim - 2)))


def _single_class_unweighted(kwargs, input):
    """MONAI applies `weight` only when more than one class is kept (its `num_of_classes != 1`
    test): with a single kept class the weight is ignored."""
    if kwargs.get("weight") is None or input.ndim < 2:
        return kwargs
    channels = input.shape[1]
    kept = channels if channels == 1 or kwargs["include_background"] else channels - 1
    return dict(kwargs, weight=None) if kept == 1 else kwargs


def _monai_ignore(kwargs, input, target, to_onehot_y):
    """(target, kwargs) that give MONAI's ignore_index masking (monai.losses.utils.create_ignore_mask)
    through the library, whose rule is: label maps mask voxels with that label; dense targets mask
    voxels that are zero in every channel.

    MONAI's rule, on the target as passed: one channel -> mask voxels equal to ignore_index;
    C one-hot channels with 0 <= ignore_index < C -> mask voxels of that class; otherwise (a
    sentinel) -> mask voxels that are zero in every channel. The first two are mapped onto label
    maps when the target is binary / one-hot (exact); other targets raise NotImplementedError."""
    ii = kwargs.get("ignore_index")
    t = np.asarray(target)
    if ii is None or input.ndim < 2 or t.ndim != input.ndim or t.dtype.kind != "f":
        return target, kwargs
    channels = input.shape[1]
    if t.shape[1] == 1 and (channels == 1 or to_onehot_y):
        if channels > 1:
            return target, kwargs  # a label map: the library's rule is MONAI's
        if np.isin(t, (0.0, 1.0)).all():
            labels = t.astype(np.uint8)
            return (labels, kwargs) if ii in (0, 1) else (labels, dict(kwargs, ignore_index=None))
        if not (t == ii).any():
            return target, dict(kwargs, ignore_index=None)
    elif t.shape[1] == channels and not 0 <= ii < channels:
        return target, kwargs  # a sentinel on C channels: the library's rule is MONAI's
    elif t.shape[1] == channels:
        if np.isin(t, (0.0, 1.0)).all() and (t.sum(axis=1) == 1).all():
            return np.argmax(t, axis=1)[:, None].astype(np.int64), kwargs
        if not t[:, ii].any():
            return target, dict(kwargs, ignore_index=None)
    else:
        return target, kwargs  # shapes that do not fit: the library reports them
    raise NotImplementedError(
        f"ignore_index={ii} with this target: MONAI multiplies prediction and target by a mask "
        "(1 - target[:, ignore_index], or target != ignore_index) that is neither a label nor an "
        "all-zero-voxel mask; pass a label map or a binary one-hot target")


class DiceLoss:
    """monai.losses.DiceLoss: soft Dice / Jaccard, see dice.dice_loss for the formula."""

    def __init__(self, include_background=True, to_onehot_y=False, sigmoid=False, softmax=False,
                 other_act=None, squared_pred=False, jaccard=False, reduction="mean", smooth_nr=1e-5,
                 smooth_dr=1e-5, batch=False, weight=None, soft_label=False, ignore_index=None):
        _check_other_act(other_act)
        self.kwargs = dict(include_background=include_background, sigmoid=sigmoid, softmax=softmax,
                           squared_pred=squared_pred, jaccard=jaccard, reduction=reduction,
                           smooth_nr=smooth_nr, smooth_dr=smooth_dr, batch=batch,
                           weight=None if weight is None else np.asarray(weight, dtype=np.float64),
                           soft_label=soft_label, ignore_index=ignore_index)
        self.to_onehot_y = to_onehot_y
        # Validates the options now, as MONAI's constructor does.
        losses.dice_options(**self.kwargs)

    def compute(self, input, target, return_grad=False, upstream=None):
        """(value, grad or None); `upstream` (value's shape) scales the gradient (default ones)."""
        input = np.asarray(input)
        target, kwargs = _monai_ignore(self.kwargs, input, target, self.to_onehot_y)
        opts, keep = losses.dice_options(**_single_class_unweighted(kwargs, input))
        loss, values, grad = losses.run(input, target, opts, to_onehot_y=self.to_onehot_y,
                                        return_grad=return_grad, upstream=upstream)
        del keep
        if self.kwargs["reduction"] == "none":
            return _monai_none_shape(values, input.ndim, self.kwargs["batch"]), grad
        return np.float64(loss), grad

    def __call__(self, input, target, return_grad=False):
        value, grad = self.compute(input, target, return_grad)
        return (value, grad) if return_grad else value

    forward = __call__
