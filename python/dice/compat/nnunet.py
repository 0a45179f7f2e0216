"""Drop-in for nnU-Net v2's Dice losses (nnunetv2.training.loss.dice), numpy in, numpy out.

    loss = MemoryEfficientSoftDiceLoss(apply_nonlin="softmax", batch_dice=True, do_bg=False, ddp=False)
    value = loss(x, y, loss_mask=mask)                 # 0-d float64
    value, grad = loss(x, y, loss_mask=mask, return_grad=True)

Both classes compute, per (item, kept class) or per class with batch_dice,

    dc = (2 I + smooth) / max(P + G + smooth, 1e-8),   loss = -mean(dc)

with I = sum m p t, P = sum m p, G = sum m t over space (and the batch with batch_dice), p the
activated input, t the one-hot target (a label map (N, 1, ...) / (N, ...) or a dense target of
the input's shape) and m the optional per-voxel loss_mask (N, 1, spatial...) broadcast over the
channels. SoftDiceLoss' 2tp + fp + fn is P + G, so the two classes agree (clip_tp is not
supported). The activation runs before the background is dropped (do_bg=False), as in nnU-Net.
apply_nonlin: None, "softmax" or "sigmoid" (nnU-Net's softmax_helper_dim1 / torch.sigmoid).
"""

import numpy as np

from .. import losses
from .._errors import OptionError

__all__ = ["SoftDiceLoss", "MemoryEfficientSoftDiceLoss"]

_NONLIN = {None: {}, "softmax": {"softmax": True}, "sigmoid": {"sigmoid": True}}


class MemoryEfficientSoftDiceLoss:
    """nnU-Net's -Dice; see the module documentation."""

    def __init__(self, apply_nonlin=None, batch_dice=False, do_bg=True, smooth=1.0, ddp=True):
        if apply_nonlin not in _NONLIN:
            raise OptionError(
                f"apply_nonlin = {apply_nonlin!r}: pass None, 'softmax' or 'sigmoid' (the activation is "
                "fused into the library's passes)"
            )
        if ddp and batch_dice:
            raise NotImplementedError(
                "ddp=True with batch_dice gathers the sums across workers: all-reduce "
                "dice.dice_stats over the workers instead, or pass ddp=False"
            )
        self.options = dict(
            _NONLIN[apply_nonlin],
            batch=bool(batch_dice),
            include_background=bool(do_bg),
            smooth_nr=float(smooth),
            smooth_dr=float(smooth),
            form="negative",
            clamp_dr=1e-8,
        )
        losses.family_options(**self.options)  # validates now

    def __call__(self, x, y, loss_mask=None, return_grad=False):
        x = np.asarray(x)
        y = np.asarray(y)
        labels = y.shape != x.shape  # nnU-Net one-hot encodes a label map, uses a dense target as is
        opts, keep = losses.family_options(**self.options)
        value, _, grad = losses.run(x, y, opts, to_onehot_y=labels, return_grad=return_grad, loss_mask=loss_mask)
        del keep
        value = np.float64(value)
        return (value, grad) if return_grad else value

    forward = __call__


class SoftDiceLoss(MemoryEfficientSoftDiceLoss):
    """nnU-Net's SoftDiceLoss: the same value as MemoryEfficientSoftDiceLoss (2tp + fp + fn = P + G)."""

    def __init__(self, apply_nonlin=None, batch_dice=False, do_bg=True, smooth=1.0, ddp=True, clip_tp=None):
        if clip_tp is not None:
            raise NotImplementedError("clip_tp is not supported by the library")
        super().__init__(apply_nonlin, batch_dice, do_bg, smooth, ddp)
