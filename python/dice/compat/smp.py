"""Drop-in for segmentation_models_pytorch.losses DiceLoss, JaccardLoss, TverskyLoss (numpy in,
numpy out; `loss(y_pred, y_true, return_grad=True)` adds d loss / d y_pred).

smp's conventions: every score is Tversky's (I + smooth) / max(I + alpha FP + beta FN + smooth,
eps) (Dice: 0.5, 0.5; Jaccard: 1, 1); batch and space are pooled per class; classes whose
ground truth is empty in the whole batch get loss 0 but still count in the mean; `classes`
selects channels; `class_weights` give a weighted mean; `eps` bounds the score's denominator
from below (and the score itself in the log form); TverskyLoss raises the (weighted) mean to
`gamma`. Modes, with smp's flattening (only the element count per item must agree):
"binary" (y_pred and y_true both read as (B, 1, -1), sigmoid), "multiclass" (y_pred (B, C, -1),
y_true (B, -1) class indices of any integer dtype, or floats holding integers; softmax),
"multilabel" (both (B, C, -1), sigmoid). Dense targets may be float, bool or integer 0/1.
"""

import numpy as np

from .. import losses
from .._errors import OptionError, ShapeError
from .._tensor import host_array

MODES = ("binary", "multiclass", "multilabel")


class _SmpLoss:
    def __init__(self, mode, classes, log_loss, from_logits, smooth, ignore_index, eps, class_weights, **overlap):
        if mode not in MODES:
            raise OptionError(f"mode = {mode!r} is not one of {MODES}")
        if classes is not None and mode == "binary":
            raise OptionError("Masking classes is not supported with mode=binary")
        if class_weights is not None and mode == "binary":
            raise OptionError("class_weights are not supported with mode=binary")
        self.mode = mode
        self.ignore_index = ignore_index
        act = ("softmax" if mode == "multiclass" else "sigmoid") if from_logits else None
        self.kwargs = dict(
            sigmoid=act == "sigmoid", softmax=act == "softmax", batch=True, smooth_nr=float(smooth),
            smooth_dr=float(smooth), clamp_dr=float(eps), zero_absent=True,
            classes=None if classes is None else [int(c) for c in classes],
            form="neg_log" if log_loss else "one_minus", log_eps=float(eps),
            weight=None if class_weights is None else np.asarray(class_weights, np.float64),
            weight_mode="after_ratio" if class_weights is None else "weighted_mean",
            ignore_index=ignore_index, dense_ignore="all_zero" if mode == "multiclass" else "equal", **overlap)
        losses.family_options(**self.kwargs)  # validates now

    def _flat(self, y_pred, y_true):
        """(y_pred, y_true) flattened as smp does: views where numpy can describe them."""
        b = y_pred.shape[0]
        if self.mode == "binary":
            return y_pred.reshape(b, 1, -1), y_true.reshape(b, 1, -1)
        x = y_pred.reshape(b, y_pred.shape[1], -1)
        if self.mode == "multiclass":
            y = y_true.reshape(b, -1)
            return x, losses.float_labels(y) if y.dtype.kind == "f" else y
        return x, y_true.reshape(b, y_pred.shape[1], -1)

    def compute(self, y_pred, y_true, return_grad=False, upstream=None):
        x, y = host_array(y_pred, "y_pred"), host_array(y_true, "y_true")
        if y.ndim == 0 or x.ndim < 2 or y.shape[0] != x.shape[0]:
            raise ShapeError(f"y_true.shape = {y.shape} and y_pred.shape = {x.shape} need the same batch size")
        xf, yf = self._flat(x, y)
        opts, keep = losses.family_options(**self.kwargs)
        loss, _, grad = losses.run(xf, yf, opts, return_grad=return_grad, upstream=upstream)
        del keep
        return np.float64(loss), None if grad is None else grad.reshape(x.shape)

    def __call__(self, y_pred, y_true, return_grad=False):
        value, grad = self.compute(y_pred, y_true, return_grad)
        return (value, grad) if return_grad else value

    forward = __call__


class DiceLoss(_SmpLoss):
    """smp DiceLoss, which smp computes as Tversky 0.5, 0.5: per class
    (I + smooth) / max(I + (FP + FN) / 2 + smooth, eps), i.e. (2 I + 2 smooth) / (P + G + 2 smooth)."""

    def __init__(self, mode, classes=None, log_loss=False, from_logits=True, smooth=0.0, ignore_index=None,
                 eps=1e-7, class_weights=None):
        super().__init__(mode, classes, log_loss, from_logits, smooth, ignore_index, eps, class_weights,
                         overlap="tversky", alpha=0.5, beta=0.5)


class JaccardLoss(_SmpLoss):
    """smp JaccardLoss: per class (I + smooth) / max(P + G - I + smooth, eps) (Tversky 1, 1)."""

    def __init__(self, mode, classes=None, log_loss=False, from_logits=True, smooth=0.0, ignore_index=None,
                 eps=1e-7, class_weights=None):
        super().__init__(mode, classes, log_loss, from_logits, smooth, ignore_index, eps, class_weights,
                         overlap="tversky", alpha=1.0, beta=1.0)


class TverskyLoss(_SmpLoss):
    """smp TverskyLoss: per class (I + smooth) / max(I + alpha FP + beta FN + smooth, eps); the
    (weighted) mean over classes is raised to gamma."""

    def __init__(self, mode, classes=None, log_loss=False, from_logits=True, smooth=0.0, ignore_index=None,
                 eps=1e-7, alpha=0.5, beta=0.5, gamma=1.0, class_weights=None):
        super().__init__(mode, classes, log_loss, from_logits, smooth, ignore_index, eps, class_weights,
                         overlap="tversky", alpha=float(alpha), beta=float(beta), gamma=float(gamma),
                         gamma_on_mean=True)
