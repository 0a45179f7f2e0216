"""Drop-in for monai.losses and monai.metrics (numpy in, numpy out): same class names, constructor keywords,
defaults and output shapes.

    loss = DiceLoss(softmax=True, to_onehot_y=True)
    value = loss(input, target)                       # 0-d float64 for mean/sum
    value, grad = loss(input, target, return_grad=True)

grad = d(sum of value)/d(input), in the input's dtype and shape. reduction="none" returns MONAI's
shapes: DiceLoss (B, C, 1, ...), or (C, 1, ...) with batch=True.

(B, C) inputs (no spatial axes) give MONAI's results, torch artefacts included: its sums over the
spatial axes become sums over an empty axis list, which torch reads as every axis, so without
batch=True an overlap loss pools the whole batch and every class into one score (see
_Loss._without_spatial_axes).
"""

import copy

import numpy as np

from .. import losses
from .._errors import NdimError, OptionError, WeightError
from .._tensor import host_array
from . import monai_metrics
from .monai_metrics import *  # noqa: F401,F403 -- re-exported: MONAI's metrics live in monai.metrics

__all__ = [
    "DiceLoss",
    "GeneralizedDiceLoss",
    "TverskyLoss",
    "FocalLoss",
    "DiceCELoss",
    "DiceFocalLoss",
    "generalized_dice_loss",
    "tversky_loss",
    "focal_loss",
    "dice_ce_loss",
    "dice_focal_loss",
    *monai_metrics.__all__,
]


def _check_other_act(other_act, kwargs):
    if other_act is None:
        return
    if not callable(other_act):
        raise OptionError(f"other_act = {other_act!r} must be callable")
    if kwargs.get("sigmoid") or kwargs.get("softmax"):
        raise OptionError("Incompatible values: more than 1 of [sigmoid=True, softmax=True, other_act is not None].")


def _monai_none_shape(values, ndim, batch):
    """MONAI keeps the spatial axes as 1s: (B, C, 1, ...) or (C, 1, ...) with batch."""
    lead = values.shape[1:] if batch else values.shape
    return values.reshape(*lead, *([1] * (ndim - 2)))


def _kept(kwargs, input):
    """The number of channels MONAI keeps: all, or all but the background (never fewer than one)."""
    channels = input.shape[1]
    return channels if channels == 1 or kwargs["include_background"] else channels - 1


def _single_class_unweighted(kwargs, input):
    """MONAI's Dice term applies `weight` only when more than one class is kept (its
    `num_of_classes != 1` test): with a single kept class the weight is ignored."""
    if kwargs.get("weight") is None or input.ndim < 2:
        return kwargs
    return dict(kwargs, weight=None) if _kept(kwargs, input) == 1 else kwargs


def _check_focal_weight(kwargs, input):
    """MONAI FocalLoss' rule for its `weight` (here `pointwise_weight`): a scalar applies to every
    kept channel, a sequence needs one value per kept channel and more than one kept channel."""
    w = kwargs.get("pointwise_weight")
    if w is None or w.ndim == 0 or input.ndim < 2:
        return
    kept = _kept(kwargs, input)
    if kept == 1:
        raise WeightError(
            f"weight = {w.tolist()} is per class, but only one channel is kept "
            "(MONAI: per-class class_weight is not supported for single-channel outputs)"
        )
    if w.size != kept:
        raise WeightError(f"weight holds {w.size} values for {kept} kept channels (one per kept channel)")


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
        "all-zero-voxel mask; pass a label map or a binary one-hot target"
    )


class _Loss:
    """A MONAI loss over the library: subclasses give the option spec and MONAI's "none" shape.

    `other_act` (MONAI's: a callable applied to the input instead of sigmoid/softmax) is applied
    to a copy of the input here, in numpy, before the library runs without an activation; it
    feeds the overlap term only (a CE/focal term reads the raw logits, as in MONAI). The library
    cannot differentiate it: return_grad=True with other_act raises OptionError (dice.torch
    applies it in torch, so autograd chains it)."""

    flat_input_as_voxel = False  # a (B, C) input is one voxel per item (FocalLoss)

    def __init__(self, to_onehot_y, other_act, **kwargs):
        _check_other_act(other_act, kwargs)
        if kwargs.get("weight") is not None:
            kwargs["weight"] = np.asarray(kwargs["weight"], dtype=np.float64)
        self.kwargs = kwargs
        self.to_onehot_y = to_onehot_y
        self.other_act = other_act
        losses.family_options(**self.spec(None))  # validates the options now, as MONAI's constructor does

    def split(self):
        """The loss as a sum of parts without other_act: [(part, reads other_act(input))]. One part
        when there is no pointwise term; else the overlap part (lambda of the pointwise term 0),
        which reads other_act(input), and the pointwise part (lambda_overlap 0) on the raw input."""
        base = copy.copy(self)
        base.other_act = None
        if self.kwargs.get("pointwise", "none") == "none":
            return [(base, True)]
        overlap, pointwise = copy.copy(base), copy.copy(base)
        overlap.kwargs = dict(self.kwargs, pointwise_lambda=0.0)
        pointwise.kwargs = dict(self.kwargs, lambda_overlap=0.0)
        return [(overlap, True), (pointwise, False)]

    def spec(self, input):
        """family_options keywords for this input (None: at construction)."""
        return dict(self.kwargs)

    def none_shape(self, values, input):
        return _monai_none_shape(values, input.ndim, self.kwargs.get("batch", False))

    def compute(self, input, target, return_grad=False, upstream=None):
        """(value, grad or None); `upstream` (value's shape) scales the gradient (default ones).
        FocalLoss reads a (B, C) input (no spatial axes, MONAI's classification use) as one voxel;
        the overlap losses take it as MONAI does (_without_spatial_axes)."""
        input, target = host_array(input, "input"), host_array(target, "target")
        if self.other_act is not None:
            if return_grad:
                raise OptionError(
                    "return_grad=True with other_act: the library cannot differentiate an "
                    "arbitrary callable; use dice.torch, where autograd chains other_act"
                )
            activated = np.asarray(self.other_act(input.copy()))
            return sum(part.compute(activated if act else input, target)[0] for part, act in self.split()), None
        if input.ndim == 2 and not self.flat_input_as_voxel:
            return self._without_spatial_axes(input, target, return_grad, upstream)
        if input.ndim == 2 and self.kwargs.get("reduction") == "sum":
            # MONAI's focal "sum" first averages over the spatial axes, range(2, ndim): an empty axis
            # list, which torch reads as every axis, so the result is the "mean" (also with ignore_index:
            # kept elements over kept items)
            part = copy.copy(self)
            part.kwargs = dict(self.kwargs, reduction="mean")
            return part.compute(input, target, return_grad, upstream)
        flat = input.ndim == 2 and self.flat_input_as_voxel
        if flat:
            input, target = input[..., None], (target[..., None] if target.ndim == 2 else target)
        alpha = self.kwargs.get("focal_alpha")
        if alpha is not None and (np.min(alpha) < 0.0 or np.max(alpha) > 1.0):
            value, grad = self._alpha_outside_unit(input, target, return_grad, upstream)
        else:
            value, grad = self._compute(input, target, return_grad, upstream)
        if flat:
            value = value[..., 0] if self.kwargs["reduction"] == "none" else value
            grad = None if grad is None else grad[..., 0]
        return value, grad

    def _pooled_class_weights(self, input):
        """MONAI DiceLoss' class_weight where it applies (more than one kept class): one value per
        kept class (a scalar repeated), checked as MONAI checks it; None where it does not."""
        w = self.kwargs.get("weight")
        kept = _kept(self.kwargs, input)
        if w is None or kept == 1:
            return None
        w = np.asarray(w, dtype=np.float64)
        cw = np.full(kept, float(w)) if w.ndim == 0 else w.reshape(-1)
        if cw.size != kept:
            raise WeightError(
                "The length of the `weight` sequence should be the same as the number of classes. "
                "If `include_background=False`, the weight should not include the background "
                f"category class 0. (got {cw.size} values for {kept} kept classes)"
            )
        if not (cw >= 0).all():
            raise WeightError("the value/values of the `weight` should be no less than 0.")
        return cw

    def _without_spatial_axes(self, input, target, return_grad, upstream):
        """MONAI's overlap losses on a (B, C) input (target (B, C) dense or (B, 1) labels), read
        as (B, C, 1) views. MONAI sums over `range(2, ndim)` plus the batch axis with batch=True;
        torch reads an empty axis list as every axis, so:

        - batch=True: the per-class score pooled over the batch, as for a (B, C, 1) input;
          reduction "none" gives (C_kept,) (GeneralizedDiceLoss: (1,)).
        - batch=False: ONE score f of sums over every item and kept class (Dice, Jaccard,
          Tversky); DiceLoss' class weight then multiplies that score per class: "none" gives
          f w (C_kept,), or f (shape ()) unweighted; "mean" mean(f w), "sum" sum(f w).
          GeneralizedDiceLoss fails in MONAI there (IndexError): NdimError.
        - the elementwise terms read the (B, C) elements as voxels, except the focal term's
          "sum", which MONAI averages over the spatial axes first: over every axis here, so
          DiceFocalLoss' focal "sum" is the mean over the elements.
        DiceFocalLoss' "none" is the overlap values broadcast over (B, C_kept) plus the focal
        term per element. The overlap score comes from the library ((B, C, 1) with batch, and
        pool_classes without), its gradient through `upstream`; the elementwise term from the
        library's usual path on the view."""
        kw = self.kwargs
        x = input[..., None]
        t = np.asarray(target)
        t = t[..., None] if t.ndim == 2 else t
        reduction = kw.get("reduction", "mean")
        batch = bool(kw.get("batch", False))
        gdl = kw.get("overlap") == "generalized"
        if gdl and not batch:
            raise NdimError(
                f"input.shape = {input.shape}: GeneralizedDiceLoss on (B, C) inputs needs batch=True "
                "(MONAI sums such an input over every axis, then fails on the class axis: IndexError)"
            )
        pointwise = kw.get("pointwise", "none") != "none"
        lam = float(kw.get("lambda_overlap", 1.0))
        cw = None if gdl else self._pooled_class_weights(x)
        kept = _kept(kw, x)
        # MONAI's shape of the overlap values V, and of the output
        v_shape = (1,) if gdl else (kept,) if (batch or cw is not None) else ()
        out_shape = () if reduction != "none" else (input.shape[0], kept) if pointwise else v_shape
        u = np.ones(out_shape) if upstream is None else np.asarray(upstream, np.float64).reshape(out_shape)
        value, grad = np.zeros(out_shape), None
        if lam != 0.0:
            # d(sum of u * output) / dV, then / d(the library's entries)
            if reduction == "mean":
                g_v = np.full(v_shape, lam * float(u) / max(int(np.prod(v_shape)), 1))
            elif reduction == "sum":
                g_v = np.full(v_shape, lam * float(u))
            elif pointwise:
                g_v = lam * (u.sum(axis=0) if v_shape else u.sum())
            else:
                g_v = lam * u
            g_entries = g_v if cw is None else (g_v * cw if batch else np.array([(g_v * cw).sum()]))
            opts_kw = dict(
                self.spec(x),
                weight=None,
                reduction="none",
                pointwise="none",
                pointwise_weight=None,
                focal_alpha=None,
                label_smoothing=0.0,
                lambda_overlap=1.0,
                batch=True,
                pool_classes=not batch,
            )
            tgt, opts_kw = _monai_ignore(opts_kw, x, t, self.to_onehot_y)
            opts, keep = losses.family_options(**opts_kw)
            _, entries, grad = losses.run(
                x,
                tgt,
                opts,
                to_onehot_y=self.to_onehot_y,
                return_grad=return_grad,
                upstream=np.asarray(g_entries, np.float64).reshape(-1),
            )
            del keep
            entries = entries.reshape(-1)
            v = (entries * cw if cw is not None else entries).reshape(v_shape)
            if reduction == "mean":
                value = lam * v.mean()
            elif reduction == "sum":
                value = lam * v.sum()
            else:
                value = np.broadcast_to(lam * v, out_shape).astype(np.float64)
        if pointwise:
            part = copy.copy(self)
            focal = kw["pointwise"] in ("sigmoid_focal", "softmax_focal")
            part.kwargs = dict(kw, lambda_overlap=0.0, reduction="mean" if focal and reduction == "sum" else reduction)
            pv, pg = part.compute(x, t, return_grad, u.reshape(-1) if reduction == "none" else float(u))
            value = value + (pv[..., 0] if reduction == "none" else pv)
            grad = pg if grad is None else (grad + pg if pg is not None else grad)
        value = np.float64(value) if reduction != "none" else np.asarray(value, dtype=np.float64)
        return value, (None if grad is None else grad[..., 0])

    def _alpha_outside_unit(self, input, target, return_grad, upstream):
        """MONAI accepts any focal alpha; the library takes alpha in [0, 1]. A loss with MONAI's
        focal term is affine in alpha (alpha t + (1 - alpha)(1 - t), or a per-class alpha on positive targets), so with
        k = max |alpha| and v = alpha / k split into its parts v+ = max(v, 0), v- = max(-v, 0):
        L(alpha) = L(0) + k (L(v+) - L(v-)), from library calls with alpha in [0, 1]."""
        alpha = np.asarray(self.kwargs["focal_alpha"], dtype=np.float64)
        k = float(np.max(np.abs(alpha)))
        v = alpha / k
        zero_coef, terms = 1.0, []
        for c, a in ((k, np.maximum(v, 0.0)), (-k, np.maximum(-v, 0.0))):
            if a.any():
                terms.append((c, a))
            else:
                zero_coef += c  # L(0) itself
        terms.append((zero_coef, np.zeros_like(v)))
        value, grad = 0.0, None
        for c, a in terms:
            part = copy.copy(self)
            part.kwargs = dict(self.kwargs, focal_alpha=float(a) if a.ndim == 0 else a)
            pv, pg = part._compute(input, target, return_grad, upstream)
            value = value + c * pv
            if pg is not None:
                pg = pg * pg.dtype.type(c)
                grad = pg if grad is None else grad + pg
        return value, grad

    def _compute(self, input, target, return_grad, upstream):
        kwargs = self.spec(input)
        target, kwargs = _monai_ignore(kwargs, input, target, self.to_onehot_y)
        if self.kwargs.get("reduction", "mean") == "none" and self.kwargs.get("pointwise", "none") != "none":
            scale = 1.0
            if upstream is not None:
                u = np.asarray(upstream, dtype=np.float64).reshape(-1)
                if u.size and not np.all(u == u[0]):
                    raise NotImplementedError(
                        "a non-uniform upstream gradient of a per-element output (reduction="
                        "'none' with a focal term): the library gives the gradient of the sum"
                    )
                scale = float(u[0]) if u.size else 1.0
            value, grad = self._per_element(input, target, kwargs, return_grad)
            return value, (grad if grad is None or scale == 1.0 else grad * grad.dtype.type(scale))
        opts, keep = losses.family_options(**kwargs)
        loss, values, grad = losses.run(
            input, target, opts, to_onehot_y=self.to_onehot_y, return_grad=return_grad, upstream=upstream
        )
        del keep
        if self.kwargs.get("reduction", "mean") == "none":
            return self.none_shape(values, input), grad
        return np.float64(loss), grad

    def _per_element(self, input, target, kwargs, return_grad):
        """MONAI's reduction="none" with a focal term: the overlap values in MONAI's shape,
        broadcast-added to lambda times the elementwise term per element of the kept channels;
        the gradient is that of the output's sum (each overlap value counted once per element
        it is broadcast to)."""
        opts, keep = losses.family_options(**kwargs)
        focal = losses.run_map(input, target, opts, to_onehot_y=self.to_onehot_y)
        channels = input.shape[1]
        first = 1 if channels > 1 and not self.kwargs["include_background"] else 0
        focal = focal[:, first:].astype(np.float64)
        grad = None
        if kwargs.get("lambda_overlap", 1.0) == 0.0:
            value = kwargs.get("pointwise_lambda", 1.0) * focal  # FocalLoss, or DiceFocalLoss' focal part
            if return_grad:
                grad = losses.run(input, target, opts, to_onehot_y=self.to_onehot_y, return_grad=True)[2]
        else:
            _, values, _ = losses.run(input, target, opts, to_onehot_y=self.to_onehot_y)
            value = self.none_shape(values, input) + kwargs.get("pointwise_lambda", 1.0) * focal
            if return_grad:
                upstream = np.full(values.size, value.size / values.size)
                grad = losses.run(
                    input, target, opts, to_onehot_y=self.to_onehot_y, return_grad=True, upstream=upstream
                )[2]
        del keep
        return value, grad

    def __call__(self, input, target, return_grad=False):
        value, grad = self.compute(input, target, return_grad)
        return (value, grad) if return_grad else value

    forward = __call__


class DiceLoss(_Loss):
    """monai.losses.DiceLoss: soft Dice / Jaccard, see dice.dice_loss for the formula."""

    def __init__(
        self,
        include_background=True,
        to_onehot_y=False,
        sigmoid=False,
        softmax=False,
        other_act=None,
        squared_pred=False,
        jaccard=False,
        reduction="mean",
        smooth_nr=1e-5,
        smooth_dr=1e-5,
        batch=False,
        weight=None,
        soft_label=False,
        ignore_index=None,
    ):
        super().__init__(
            to_onehot_y,
            other_act,
            include_background=include_background,
            sigmoid=sigmoid,
            softmax=softmax,
            squared_pred=squared_pred,
            jaccard=jaccard,
            reduction=reduction,
            smooth_nr=smooth_nr,
            smooth_dr=smooth_dr,
            batch=batch,
            weight=weight,
            soft_label=soft_label,
            ignore_index=ignore_index,
        )

    def spec(self, input):
        return self.kwargs if input is None else _single_class_unweighted(self.kwargs, input)


class GeneralizedDiceLoss(_Loss):
    """monai.losses.GeneralizedDiceLoss (Sudre et al. 2017): per item (or pooled batch),
    1 - (2 sum_c w_c I_c + smooth_nr) / (sum_c w_c (P_c + G_c) + smooth_dr), w_c = 1/G_c^2
    ("square"), 1/G_c ("simple") or 1 ("uniform"); an infinite weight (absent class) takes the
    largest finite weight. reduction="none" gives (B, 1, 1, ...), or (1, 1, ...) with batch."""

    def __init__(
        self,
        include_background=True,
        to_onehot_y=False,
        sigmoid=False,
        softmax=False,
        other_act=None,
        w_type="square",
        reduction="mean",
        smooth_nr=1e-5,
        smooth_dr=1e-5,
        batch=False,
        soft_label=False,
    ):
        if w_type not in ("square", "simple", "uniform"):
            raise OptionError(f"w_type = {w_type!r} is not one of 'square', 'simple', 'uniform'")
        super().__init__(
            to_onehot_y,
            other_act,
            include_background=include_background,
            sigmoid=sigmoid,
            softmax=softmax,
            reduction=reduction,
            smooth_nr=smooth_nr,
            smooth_dr=smooth_dr,
            batch=batch,
            soft_label=soft_label,
            overlap="generalized",
            gdl_weight=w_type,
        )


class TverskyLoss(_Loss):
    """monai.losses.TverskyLoss: 1 - (tp + smooth_nr) / (tp + alpha fp + beta fn + smooth_dr) per
    (item, class), fp = sum p(1 - t), fn = sum (1 - p)t. reduction="none" gives (B, C)."""

    def __init__(
        self,
        include_background=True,
        to_onehot_y=False,
        sigmoid=False,
        softmax=False,
        other_act=None,
        alpha=0.5,
        beta=0.5,
        reduction="mean",
        smooth_nr=1e-5,
        smooth_dr=1e-5,
        batch=False,
        soft_label=False,
        ignore_index=None,
    ):
        super().__init__(
            to_onehot_y,
            other_act,
            include_background=include_background,
            sigmoid=sigmoid,
            softmax=softmax,
            reduction=reduction,
            smooth_nr=smooth_nr,
            smooth_dr=smooth_dr,
            batch=batch,
            soft_label=soft_label,
            ignore_index=ignore_index,
            overlap="tversky",
            alpha=float(alpha),
            beta=float(beta),
        )

    def none_shape(self, values, input):
        return values[0] if self.kwargs["batch"] else values


def _focal_alpha(alpha):
    return None if alpha is None else (float(alpha) if np.ndim(alpha) == 0 else np.asarray(alpha, np.float64))


class FocalLoss(_Loss):
    """monai.losses.FocalLoss (MONAI 1.6) on logits: sigmoid focal loss per element (softmax focal
    over the channels with use_softmax), times `weight` (a scalar, or one per kept channel; a
    per-channel weight with a single kept channel raises WeightError).

    reduction="none": per element (B, C_kept, spatial...). "mean": the mean over all elements;
    with ignore_index, the sum over kept elements divided by the number of kept VOXELS (not
    voxels x channels). "sum": per (item, channel) the spatial mean (with ignore_index: the
    spatial sum over that item's kept voxels), summed; on a (B, C) input MONAI's spatial mean
    runs over every axis, which makes "sum" the "mean"."""

    flat_input_as_voxel = True

    def __init__(
        self,
        include_background=True,
        to_onehot_y=False,
        gamma=2.0,
        alpha=None,
        weight=None,
        reduction="mean",
        use_softmax=False,
        ignore_index=None,
    ):
        # No Dice term (lambda 0), so its activation is free: the softmax one lets a softmax
        # focal term over all channels share the fused softmax sweep instead of its own rows.
        super().__init__(
            to_onehot_y,
            None,
            include_background=include_background,
            reduction=reduction,
            softmax=bool(use_softmax and include_background),
            ignore_index=ignore_index,
            lambda_overlap=0.0,
            pointwise="softmax_focal" if use_softmax else "sigmoid_focal",
            focal_gamma=float(gamma),
            focal_alpha=_focal_alpha(alpha),
            pointwise_weight=None if weight is None else np.asarray(weight, np.float64),
        )

    def spec(self, input):
        """The library's options: a scalar weight is left to compute() (MONAI applies it to a
        single kept channel too), and with ignore_index "sum" is computed from per-item means."""
        kw = self.kwargs
        if input is None or input.ndim < 2:
            return kw
        _check_focal_weight(kw, input)
        w = kw["pointwise_weight"]
        if w is not None and w.ndim == 0:
            kw = dict(kw, pointwise_weight=None)
        if kw["ignore_index"] is not None and kw["reduction"] == "sum":
            kw = dict(kw, reduction="mean")
        return kw

    def _infinite_logit_nans(self, input, target):
        """Where MONAI's elementwise focal loss (B, C_kept, spatial...) is NaN because of an
        infinite logit (None when every logit is finite): sigmoid, x - x t with x = +-inf;
        softmax, every channel of a voxel holding +inf (its log-softmax), and -inf where the
        target is 0 (-inf * 0)."""
        if input.ndim < 2 or not np.isinf(input).any():
            return None
        x = input[:, input.shape[1] - _kept(self.kwargs, input) :]
        if self.kwargs["pointwise"] != "softmax_focal":
            return np.isinf(x)
        t = np.asarray(target)
        if self.to_onehot_y and input.shape[1] > 1:
            labels = t if t.ndim == input.ndim else t[:, None]
            t = labels == np.arange(input.shape[1]).reshape(1, -1, *[1] * (input.ndim - 2))
        t = np.broadcast_to(t, input.shape)[:, input.shape[1] - x.shape[1] :]
        plus = np.broadcast_to((x == np.inf).any(axis=1, keepdims=True), x.shape)
        return plus | ((x == -np.inf) & (t == 0))

    def _ignored_mean(self, input, target, return_grad, upstream):
        """The library's mean over kept elements (spec() turns "sum" into "mean"); 0 with a zero
        gradient where every voxel is ignored and the logits are finite (MONAI's 0 / eps)."""
        value, grad = super()._compute(input, target, return_grad, upstream)
        if np.isnan(value) and np.isfinite(input).all():
            value, grad = np.float64(0.0), None if grad is None else np.zeros_like(grad)
        return value, grad

    def _compute(self, input, target, return_grad=False, upstream=None):
        reduction = self.kwargs["reduction"]
        if self.kwargs["ignore_index"] is None or reduction == "none" or input.ndim < 2:
            value, grad = super()._compute(input, target, return_grad, upstream)
        else:
            # The library's mean over kept elements divides by kept voxels x C_kept; MONAI's by the
            # kept voxels: "mean" is C_kept times the library's, and "sum" C_kept times the sum of
            # every item's own mean (each item divided by its own kept voxels).
            kept = _kept(self.kwargs, input)
            items = (
                [(input, target)]
                if reduction == "mean"
                else [(input[b : b + 1], np.asarray(target)[b : b + 1]) for b in range(input.shape[0])]
            )
            means = [self._ignored_mean(x, y, return_grad, upstream) for x, y in items]
            value = np.float64(kept * sum(m[0] for m in means))
            grad = None
            if return_grad:
                grad = np.concatenate([m[1] for m in means]) if len(means) > 1 else means[0][1]
                grad *= grad.dtype.type(kept)
        nan = self._infinite_logit_nans(input, target)
        if nan is not None:
            value = np.where(nan, np.nan, value) if reduction == "none" else np.float64(np.nan)
            if grad is not None:
                grad[:, -nan.shape[1] :][nan] = np.nan
        w = self.kwargs["pointwise_weight"]
        if w is not None and w.ndim == 0 and input.ndim >= 2:
            value = value * float(w) if reduction == "none" else np.float64(value * float(w))
            if grad is not None:
                grad *= grad.dtype.type(float(w))
        return value, grad


class DiceCELoss(_Loss):
    """monai.losses.DiceCELoss: lambda_dice * DiceLoss + lambda_ce * CrossEntropyLoss on the raw
    logits (BCE with logits for a single channel); `weight` is the CE class weight and the Dice
    class weight (without the background when include_background=False)."""

    def __init__(
        self,
        include_background=True,
        to_onehot_y=False,
        sigmoid=False,
        softmax=False,
        other_act=None,
        squared_pred=False,
        jaccard=False,
        reduction="mean",
        smooth_nr=1e-5,
        smooth_dr=1e-5,
        batch=False,
        weight=None,
        lambda_dice=1.0,
        lambda_ce=1.0,
        label_smoothing=0.0,
    ):
        if reduction not in ("mean", "sum"):
            raise OptionError(f"Unsupported option {reduction!r}, Available options are {{'mean', 'sum'}}.")
        if lambda_dice < 0 or lambda_ce < 0:
            raise OptionError("lambda_dice and lambda_ce should be no less than 0.0.")
        w = None if weight is None else np.asarray(weight, dtype=np.float64).reshape(-1)
        super().__init__(
            to_onehot_y,
            other_act,
            include_background=include_background,
            sigmoid=sigmoid,
            softmax=softmax,
            squared_pred=squared_pred,
            jaccard=jaccard,
            reduction=reduction,
            smooth_nr=smooth_nr,
            smooth_dr=smooth_dr,
            batch=batch,
            weight=None if w is None else (w if include_background else w[1:]),
            lambda_overlap=float(lambda_dice),
            pointwise_lambda=float(lambda_ce),
            label_smoothing=float(label_smoothing),
            pointwise_weight=w,
            pointwise="softmax_ce",
        )

    def spec(self, input):
        kw = self.kwargs if input is None else _single_class_unweighted(self.kwargs, input)
        if input is not None and input.ndim >= 2 and input.shape[1] == 1:
            kw = dict(kw, pointwise="bce")
        return kw


class DiceFocalLoss(_Loss):
    """monai.losses.DiceFocalLoss: lambda_dice * DiceLoss + lambda_focal * the SIGMOID FocalLoss on
    the raw logits (also with softmax=True, as MONAI does); `weight` weighs both terms. With a
    single kept channel the Dice term ignores it while the focal term still applies a scalar one
    (a per-class one raises WeightError there, as in MONAI). With reduction="none": the Dice
    values (B, C_kept, 1, ...) broadcast-added to lambda_focal times the focal loss per element
    (B, C_kept, spatial...)."""

    def __init__(
        self,
        include_background=True,
        to_onehot_y=False,
        sigmoid=False,
        softmax=False,
        other_act=None,
        squared_pred=False,
        jaccard=False,
        reduction="mean",
        smooth_nr=1e-5,
        smooth_dr=1e-5,
        batch=False,
        gamma=2.0,
        weight=None,
        lambda_dice=1.0,
        lambda_focal=1.0,
        alpha=None,
    ):
        if lambda_dice < 0 or lambda_focal < 0:
            raise OptionError("lambda_dice and lambda_focal should be no less than 0.0.")
        w = None if weight is None else np.asarray(weight, np.float64)
        scalar = w is not None and w.ndim == 0
        if scalar and not w >= 0:
            raise WeightError(f"weight = {float(w)!r} must be >= 0")
        # a scalar focal weight is a factor of the focal term: folded into its lambda
        super().__init__(
            to_onehot_y,
            other_act,
            include_background=include_background,
            sigmoid=sigmoid,
            softmax=softmax,
            squared_pred=squared_pred,
            jaccard=jaccard,
            reduction=reduction,
            smooth_nr=smooth_nr,
            smooth_dr=smooth_dr,
            batch=batch,
            weight=w,
            lambda_overlap=float(lambda_dice),
            pointwise="sigmoid_focal",
            pointwise_lambda=float(lambda_focal) * (float(w) if scalar else 1.0),
            focal_gamma=float(gamma),
            focal_alpha=_focal_alpha(alpha),
            pointwise_weight=None if scalar else w,
        )

    def spec(self, input):
        if input is None:
            return self.kwargs
        _check_focal_weight(self.kwargs, input)
        return _single_class_unweighted(self.kwargs, input)


# Function forms of the classes: name(input, target, return_grad=False, **constructor keywords).
def generalized_dice_loss(input, target, *, return_grad=False, **kwargs):
    """GeneralizedDiceLoss(**kwargs)(input, target): include_background, to_onehot_y, sigmoid,
    softmax, other_act, w_type, reduction, smooth_nr, smooth_dr, batch, soft_label."""
    return GeneralizedDiceLoss(**kwargs)(input, target, return_grad=return_grad)


def tversky_loss(input, target, *, return_grad=False, **kwargs):
    """TverskyLoss(**kwargs)(input, target): alpha, beta, and DiceLoss' keywords."""
    return TverskyLoss(**kwargs)(input, target, return_grad=return_grad)


def focal_loss(input, target, *, return_grad=False, **kwargs):
    """FocalLoss(**kwargs)(input, target): include_background, to_onehot_y, gamma, alpha, weight,
    reduction, use_softmax, ignore_index."""
    return FocalLoss(**kwargs)(input, target, return_grad=return_grad)


def dice_ce_loss(input, target, *, return_grad=False, **kwargs):
    """DiceCELoss(**kwargs)(input, target): DiceLoss' keywords, lambda_dice, lambda_ce,
    label_smoothing."""
    return DiceCELoss(**kwargs)(input, target, return_grad=return_grad)


def dice_focal_loss(input, target, *, return_grad=False, **kwargs):
    """DiceFocalLoss(**kwargs)(input, target): DiceLoss' keywords, gamma, alpha, lambda_dice,
    lambda_focal."""
    return DiceFocalLoss(**kwargs)(input, target, return_grad=return_grad)
