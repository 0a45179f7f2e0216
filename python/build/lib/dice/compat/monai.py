"""Drop-in for monai.losses (numpy in, numpy out): same class names, constructor keywords,
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


def _check_other_act(other_act):
    if other_act is not None:
        raise OptionError("other_act is not supported: the activation is fused into the library's "
                          "passes (sigmoid or softmax); pass probabilities with neither to use another")


def _monai_none_shape(values, ndim, batch):
    """MONAI keeps the spatial axes as 1s: (B, C, 1, ...) or (C, 1, ...) with batch."""
    lead = values.shape[1:] if batch else values.shape
    return values.reshape(*lead, *([1] * (ndim - 2)))


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
        opts, keep = losses.dice_options(**self.kwargs)
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
