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

Also: FocalLoss, SoftBCEWithLogitsLoss, SoftCrossEntropyLoss, MCCLoss (each class says what runs
on the library and what is a vectorised numpy form), and `losses._functional`'s
soft_dice_score / soft_jaccard_score / soft_tversky_score / focal_loss_with_logits /
softmax_focal_loss_with_logits (dice.compat._smp_functional). Every class takes
`return_grad=True` for (loss, d(sum of loss)/d y_pred).
"""

import types


import numpy as np

from .. import losses as _family
from . import _smp_functional
from .._errors import LabelError, OptionError, ShapeError
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
            sigmoid=act == "sigmoid",
            softmax=act == "softmax",
            batch=True,
            smooth_nr=float(smooth),
            smooth_dr=float(smooth),
            clamp_dr=float(eps),
            zero_absent=True,
            classes=None if classes is None else [int(c) for c in classes],
            form="neg_log" if log_loss else "one_minus",
            log_eps=float(eps),
            weight=None if class_weights is None else np.asarray(class_weights, np.float64),
            weight_mode="after_ratio" if class_weights is None else "weighted_mean",
            ignore_index=ignore_index,
            dense_ignore="all_zero" if mode == "multiclass" else "equal",
            # smp's intersection is (sum p + sum t - sum |p - t|) / 2 = sum min(p, t): the
            # library's soft_label form, equal to sum p t for 0/1 targets and p in [0, 1].
            soft_label=True,
            **overlap,
        )
        _family.family_options(**self.kwargs)  # validates now

    def _flat(self, y_pred, y_true):
        """(y_pred, y_true) flattened as smp does: views where numpy can describe them."""
        b = y_pred.shape[0]
        if self.mode == "binary":
            return y_pred.reshape(b, 1, -1), y_true.reshape(b, 1, -1)
        x = y_pred.reshape(b, y_pred.shape[1], -1)
        if self.mode == "multiclass":
            y = y_true.reshape(b, -1)
            return x, _family.float_labels(y) if y.dtype.kind == "f" else y
        return x, y_true.reshape(b, y_pred.shape[1], -1)

    def compute(self, y_pred, y_true, return_grad=False, upstream=None):
        x, y = host_array(y_pred, "y_pred"), host_array(y_true, "y_true")
        if y.ndim == 0 or x.ndim < 2 or y.shape[0] != x.shape[0]:
            raise ShapeError(f"y_true.shape = {y.shape} and y_pred.shape = {x.shape} need the same batch size")
        xf, yf = self._flat(x, y)
        opts, keep = _family.family_options(**self.kwargs)
        loss, _, grad = _family.run(xf, yf, opts, return_grad=return_grad, upstream=upstream)
        del keep
        return np.float64(loss), None if grad is None else grad.reshape(x.shape)

    def __call__(self, y_pred, y_true, return_grad=False):
        value, grad = self.compute(y_pred, y_true, return_grad)
        return (value, grad) if return_grad else value

    forward = __call__


class DiceLoss(_SmpLoss):
    """smp DiceLoss, which smp computes as Tversky 0.5, 0.5: per class
    (I + smooth) / max(I + (FP + FN) / 2 + smooth, eps), i.e. (2 I + 2 smooth) / (P + G + 2 smooth)."""

    def __init__(
        self,
        mode,
        classes=None,
        log_loss=False,
        from_logits=True,
        smooth=0.0,
        ignore_index=None,
        eps=1e-7,
        class_weights=None,
    ):
        super().__init__(
            mode,
            classes,
            log_loss,
            from_logits,
            smooth,
            ignore_index,
            eps,
            class_weights,
            overlap="tversky",
            alpha=0.5,
            beta=0.5,
        )


class JaccardLoss(_SmpLoss):
    """smp JaccardLoss: per class (I + smooth) / max(P + G - I + smooth, eps) (Tversky 1, 1)."""

    def __init__(
        self,
        mode,
        classes=None,
        log_loss=False,
        from_logits=True,
        smooth=0.0,
        ignore_index=None,
        eps=1e-7,
        class_weights=None,
    ):
        super().__init__(
            mode,
            classes,
            log_loss,
            from_logits,
            smooth,
            ignore_index,
            eps,
            class_weights,
            overlap="tversky",
            alpha=1.0,
            beta=1.0,
        )


class TverskyLoss(_SmpLoss):
    """smp TverskyLoss: per class (I + smooth) / max(I + alpha FP + beta FN + smooth, eps); the
    (weighted) mean over classes is raised to gamma."""

    def __init__(
        self,
        mode,
        classes=None,
        log_loss=False,
        from_logits=True,
        smooth=0.0,
        ignore_index=None,
        eps=1e-7,
        alpha=0.5,
        beta=0.5,
        gamma=1.0,
        class_weights=None,
    ):
        super().__init__(
            mode,
            classes,
            log_loss,
            from_logits,
            smooth,
            ignore_index,
            eps,
            class_weights,
            overlap="tversky",
            alpha=float(alpha),
            beta=float(beta),
            gamma=float(gamma),
            gamma_on_mean=True,
        )


def _as_float(a, name):
    a = host_array(a, name)
    return a if a.dtype.kind == "f" and a.dtype.itemsize >= 4 else a.astype(np.float64)


def _reduce_elements(l, grad, reduction):
    """smp's reduction of per-element losses l: mean over all of them, sum, or none; grad is
    d(sum l)/dx, scaled to the reduction."""
    if reduction == "mean":
        return l.mean(), None if grad is None else grad / max(l.size, 1)
    if reduction == "sum":
        return l.sum(), grad
    return l, grad


def _out(value, grad, x, return_grad):
    value = np.asarray(value, dtype=np.float64)[()]
    return (value, grad.astype(x.dtype).reshape(x.shape)) if return_grad else value


class SoftBCEWithLogitsLoss:
    """smp SoftBCEWithLogitsLoss: BCE-with-logits of soft targets t' = (1 - t) s + t (1 - s)
    (s = smooth_factor), times 0 where y_true == ignore_index, then the mean over every element
    (ignored ones included), the sum, or per element. Without `weight` / `pos_weight` the values
    are the library's BCE map and the gradient its BCE gradient (a loss_mask of the kept
    elements). `weight` and `pos_weight` follow torch's broadcasting against y_pred (pos_weight
    against its last axis), which the library's per-channel weights cannot express, so with them
    the loss and gradient are one vectorised numpy form of
    w ((1 - t') x + (1 + (pw - 1) t') softplus(-x))."""

    def __init__(self, weight=None, ignore_index=-100, reduction="mean", smooth_factor=None, pos_weight=None):
        self.weight = None if weight is None else np.asarray(host_array(weight, "weight"), dtype=np.float64)
        self.pos_weight = (
            None if pos_weight is None else np.asarray(host_array(pos_weight, "pos_weight"), dtype=np.float64)
        )
        self.ignore_index, self.reduction, self.smooth_factor = ignore_index, reduction, smooth_factor

    def __call__(self, y_pred, y_true, return_grad=False):
        x, y = _as_float(y_pred, "y_pred"), host_array(y_true, "y_true")
        if x.shape != y.shape:
            raise ShapeError(f"y_pred.shape = {x.shape} and y_true.shape = {y.shape} must agree")
        y64 = y.astype(np.float64)
        s = self.smooth_factor
        t = y64 if s is None else (1 - y64) * s + y64 * (1 - s)
        keep = None if self.ignore_index is None else (y64 != self.ignore_index)
        x64 = x.astype(np.float64)
        if self.weight is None and self.pos_weight is None:
            x3 = x64.reshape(1, 1, -1)
            t3 = (t if keep is None else np.where(keep, t, 0.0)).reshape(1, 1, -1)
            kw = dict(pointwise="bce", lambda_overlap=0.0)
            l = _family.pointwise_map(x3, t3, **kw).reshape(x.shape)
            grad = None
            if return_grad and x.size:
                mask = None if keep is None else keep.reshape(1, 1, -1).astype(np.float64)
                kept = x.size if mask is None else float(mask.sum())
                if kept:  # the library's mean over kept elements, times their count: d(sum l)/dx
                    grad = _family.loss(x3, t3, return_grad=True, loss_mask=mask, **kw)[1].reshape(x.shape) * kept
                else:
                    grad = np.zeros(x.shape)
            elif return_grad:
                grad = np.zeros(x.shape)
        else:
            w = 1.0 if self.weight is None else self.weight
            lw = 1.0 if self.pos_weight is None else 1 + (self.pos_weight - 1) * t
            softplus = np.maximum(-x64, 0) + np.log1p(np.exp(-np.abs(x64)))
            l = w * ((1 - t) * x64 + lw * softplus)
            grad = w * ((1 - t) - lw * (1 - 1 / (1 + np.exp(-x64)))) if return_grad else None
            grad = None if grad is None else np.broadcast_to(grad, x.shape)
        if keep is not None:
            l = l * keep
            grad = None if grad is None else grad * keep
        value, grad = _reduce_elements(l, grad, self.reduction)
        return _out(value, grad, x, return_grad)

    forward = __call__


class SoftCrossEntropyLoss:
    """smp SoftCrossEntropyLoss: per element (1 - e) (-log p_y) + e / C sum_c (-log p_c) with
    p = softmax over `dim` and e = smooth_factor (smp's label_smoothed_nll_loss, the same formula
    as the library's softmax CE with label smoothing), 0 where y_true == ignore_index; "mean" is
    the mean over every element (ignored ones included), "sum" the sum. Those two run on the
    library (its CE mean over the kept elements, rescaled to all); reduction "none" is one
    vectorised numpy log-softmax (the library returns this term reduced only). smp's shapes for
    "none": y_true's shape, with `dim` kept as size 1 when ignore_index is set. smp fails on
    smooth_factor=None (it multiplies by it): OptionError here."""

    def __init__(self, reduction="mean", smooth_factor=None, ignore_index=-100, dim=1):
        self.reduction, self.smooth_factor, self.ignore_index, self.dim = reduction, smooth_factor, ignore_index, dim

    def __call__(self, y_pred, y_true, return_grad=False):
        if self.smooth_factor is None:
            raise OptionError("smooth_factor=None: smp's SoftCrossEntropyLoss needs a number (use 0.0)")
        x, y = _as_float(y_pred, "y_pred"), host_array(y_true, "y_true")
        if x.ndim < 2:
            raise ShapeError(f"y_pred.shape = {x.shape} needs a class axis")
        d = self.dim % x.ndim
        xm = np.moveaxis(x, d, 1)
        if y.ndim == x.ndim:
            if y.shape[d] != 1:
                raise ShapeError(f"y_true.shape = {y.shape}: axis {d} must have size 1")
            y = np.squeeze(y, d)
        # the labels are y_pred's shape without axis `dim`, which is also xm's without axis 1
        lab = y
        if lab.shape != xm.shape[:1] + xm.shape[2:]:
            raise ShapeError(f"y_true.shape = {y.shape} must be y_pred.shape = {x.shape} without axis {d}")
        if lab.dtype.kind not in "iub":
            raise LabelError("y_true must hold integer class indices")
        c = xm.shape[1]
        keep = None if self.ignore_index is None else (lab != self.ignore_index)
        safe = lab if keep is None else np.where(keep, lab, 0)
        if safe.size and (safe.min() < 0 or safe.max() >= c):
            raise LabelError(f"y_true holds a class index outside [0, {c})")
        e = float(self.smooth_factor)
        count = lab.size
        kept = count if keep is None else int(keep.sum())
        grad = None
        if self.reduction in ("mean", "sum"):
            if kept == 0:
                value, grad = 0.0, (np.zeros(xm.shape) if return_grad else None)
            else:
                # (B, C) inputs get a spatial axis of size 1: the library reads (B, C, spatial...)
                x3 = xm if xm.ndim > 2 else xm[..., None]
                lab3 = safe[:, None] if xm.ndim > 2 else safe[:, None, None]
                mask = None if keep is None else np.ones(lab3.shape) * keep.reshape(lab3.shape)
                out = _family.loss(
                    x3,
                    lab3,
                    to_onehot_y=True,
                    pointwise="softmax_ce",
                    label_smoothing=e,
                    lambda_overlap=0.0,
                    return_grad=return_grad,
                    loss_mask=mask,
                )
                v, g = out if return_grad else (out, None)
                g = None if g is None else g.reshape(xm.shape)
                scale = kept / count if self.reduction == "mean" else kept
                value, grad = v * scale, None if g is None else g * scale
            if return_grad:
                grad = np.moveaxis(grad, 1, d)
            return _out(value, grad, x, return_grad)
        x64 = xm.astype(np.float64)
        m = x64.max(axis=1, keepdims=True)
        logp = x64 - m - np.log(np.exp(x64 - m).sum(axis=1, keepdims=True))
        onehot = np.expand_dims(safe, 1) == np.arange(c).reshape((1, c) + (1,) * (xm.ndim - 2))
        l = (1 - e) * -(logp * onehot).sum(axis=1) + e / c * -logp.sum(axis=1)
        if return_grad:
            grad = np.exp(logp) - ((1 - e) * onehot + e / c)
        if keep is not None:
            l = l * keep
            grad = None if grad is None else grad * keep[:, None]
            l = np.expand_dims(l, d)  # smp keeps `dim` (size 1) here
        if return_grad:
            return np.asarray(l, np.float64), np.moveaxis(grad, 1, d).astype(x.dtype)
        return np.asarray(l, np.float64)

    forward = __call__


class FocalLoss:
    """smp FocalLoss: sigmoid focal loss of logits (smp's focal_loss_with_logits, see
    dice.compat._smp_functional) on y_pred flattened ("binary"), or per class c on y_pred[:, c]
    against y_true[:, c] ("multilabel") or y_true == c ("multiclass"; one-vs-rest, no softmax),
    elements where y_true == ignore_index dropped; the per-class losses are averaged (weighted by
    class_weights). from_logits=False clamps y_pred to [eps, 1 - eps] and takes its logit
    (binary, multilabel) or its log (multiclass), as smp does. The per-element values are the
    library's sigmoid focal map for 0/1 targets without reduced_threshold; soft targets,
    reduced_threshold and `normalized` use the vectorised numpy form."""

    def __init__(
        self,
        mode,
        alpha=None,
        gamma=2.0,
        ignore_index=None,
        from_logits=True,
        eps=1e-7,
        reduction="mean",
        normalized=False,
        reduced_threshold=None,
        class_weights=None,
    ):
        if mode not in MODES:
            raise OptionError(f"mode = {mode!r} is not one of {MODES}")
        if class_weights is not None and mode == "binary":
            raise OptionError("class_weights are not supported with mode=binary")
        self.mode, self.alpha, self.gamma, self.ignore_index = mode, alpha, gamma, ignore_index
        self.from_logits, self.eps, self.reduction = from_logits, eps, reduction
        self.normalized, self.reduced_threshold = normalized, reduced_threshold
        self.class_weights = None if class_weights is None else np.asarray(class_weights, dtype=np.float32)

    def _one(self, x, t, need_grad):
        """(value, d value/d x or None) of smp's focal_loss_with_logits on 1-D x, t."""
        l, f, dl, df = _smp_functional.sigmoid_focal_elements(
            x, t, self.gamma, self.alpha, self.reduced_threshold, self.normalized, need_grad
        )
        return _smp_functional._reduce(l, f, dl, df, self.reduction, self.normalized, 1e-6)

    def __call__(self, y_pred, y_true, return_grad=False):
        x, y = _as_float(y_pred, "y_pred"), host_array(y_true, "y_true")
        x64 = x.astype(np.float64)
        chain = None
        if not self.from_logits:
            p = np.clip(x64, self.eps, 1 - self.eps)
            inside = (x64 >= self.eps) & (x64 <= 1 - self.eps)
            if self.mode == "multiclass":
                x64, chain = np.log(p), inside / p
            else:
                x64, chain = np.log(p / (1 - p)), inside / (p * (1 - p))
        grad = np.zeros(x.shape) if return_grad else None
        if self.mode == "binary":
            xf, yf = x64.reshape(-1), y.reshape(-1)
            if xf.shape != yf.shape:
                raise ShapeError(f"y_pred.shape = {x.shape} and y_true.shape = {y.shape} need the same size")
            sel = slice(None) if self.ignore_index is None else (yf != self.ignore_index)
            value, g = self._one(xf[sel], yf[sel], return_grad)
            if return_grad:
                grad.reshape(-1)[sel] = g
        else:
            c = x.shape[1]
            if self.mode == "multiclass":
                if y.shape != x.shape[:1] + x.shape[2:]:
                    raise ShapeError(f"y_true.shape = {y.shape} must be y_pred.shape = {x.shape} without axis 1")
                keep = None if self.ignore_index is None else (y != self.ignore_index)
            else:
                if y.shape != x.shape:
                    raise ShapeError(f"y_pred.shape = {x.shape} and y_true.shape = {y.shape} must agree")
                if self.ignore_index is not None:
                    raise ShapeError(
                        "multilabel with ignore_index: smp indexes each class with the (B, C, ...) mask, which fails"
                    )
                keep = None
            values = []
            gl = []
            for k in range(c):
                tk = (y == k).astype(np.int64) if self.mode == "multiclass" else y[:, k]
                xk = x64[:, k]
                if keep is not None:
                    tk, xk = tk[keep], xk[keep]
                v, g = self._one(xk, tk, return_grad)
                values.append(v)
                gl.append(g)
            values = np.stack([np.asarray(v, dtype=np.float64) for v in values])
            if self.class_weights is not None:
                w = self.class_weights.astype(np.float64)
                a = w / w.sum()
            else:
                a = np.full(c, 1.0 / c)
            if self.class_weights is not None:
                value = (values * w.reshape((-1,) + (1,) * (values.ndim - 1))).sum(axis=0) / w.sum()
            else:
                value = values.mean(axis=0)
            if return_grad:
                for k in range(c):
                    if keep is None:
                        grad[:, k] = a[k] * gl[k]
                    else:
                        gk = np.zeros(keep.shape)
                        gk[keep] = a[k] * gl[k]
                        grad[:, k] = gk
        if return_grad and chain is not None:
            grad = grad * chain
        return _out(value, grad, x, return_grad)

    forward = __call__


class MCCLoss:
    """smp MCCLoss: 1 - MCC of y_pred (used as it is: smp applies no sigmoid) against y_true, both
    pooled over the whole batch: tp = I + eps, fp = P - I + eps, fn = G - I + eps,
    tn = N - P - G + I + eps from the library's stats (I = sum p t, P = sum p, G = sum t over all
    N elements), MCC = (tp tn - fp fn) / sqrt((tp + fp)(tp + fn)(tn + fp)(tn + fn)). The gradient
    is dL/dI t + dL/dP per element (I and P are the only sums that depend on y_pred)."""

    def __init__(self, eps=1e-5):
        self.eps = float(eps)

    def __call__(self, y_pred, y_true, return_grad=False):
        x, y = _as_float(y_pred, "y_pred"), _as_float(y_true, "y_true")
        if x.size != y.size or x.shape[:1] != y.shape[:1]:
            raise ShapeError(f"y_pred.shape = {x.shape} and y_true.shape = {y.shape} need the same batch and size")
        n = x.size
        if n and bool(np.all((y == 0) | (y == 1))):
            flat, _ = _family.stats(x.reshape(1, 1, -1), y.reshape(1, 1, -1))
            i, p, g = flat[:3]
        else:  # targets the library's dense reading does not take: the same three sums in numpy
            xs, ys = x.reshape(-1).astype(np.float64), y.reshape(-1).astype(np.float64)
            i, p, g = float(xs @ ys), float(xs.sum()), float(ys.sum())
        e = self.eps
        tp, fp, fn, tn = i + e, p - i + e, g - i + e, n - p - g + i + e
        num = tp * tn - fp * fn
        a, b, c, d = tp + fp, tp + fn, tn + fp, tn + fn
        den = np.sqrt(a * b * c * d)
        value = 1.0 - num / den
        grad = None
        if return_grad:
            dnum_di = tp + tn + fp + fn
            dnum_dp = -(tp + fn)
            dden_dp = den / 2 * (1 / a - 1 / d)
            dl_di = -dnum_di / den
            dl_dp = -(dnum_dp * den - num * dden_dp) / den**2
            grad = dl_di * y.astype(np.float64).reshape(x.shape) + dl_dp
        return _out(value, grad, x, return_grad)

    forward = __call__


losses = types.SimpleNamespace(
    _functional=_smp_functional,
    DiceLoss=DiceLoss,
    JaccardLoss=JaccardLoss,
    TverskyLoss=TverskyLoss,
    FocalLoss=FocalLoss,
    SoftBCEWithLogitsLoss=SoftBCEWithLogitsLoss,
    SoftCrossEntropyLoss=SoftCrossEntropyLoss,
    MCCLoss=MCCLoss,
)
