"""segmentation_models_pytorch.losses._functional's scores and focal terms, numpy in, numpy out
(reachable as dice.compat.smp.losses._functional).

soft_tversky_score (and soft_dice_score = Tversky 0.5, 0.5, soft_jaccard_score = 1, 1): smp sums
P = sum output, G = sum target and |output - target|_1 over `dims` (all axes when None), takes
I = (P + G - |output - target|_1) / 2 = sum min(output, target) and returns
(I + smooth) / max(I + alpha (P - I) + beta (G - I) + smooth, eps), shaped like the axes not
summed. Any `dims` is laid out for the library as one item whose "classes" are the kept axes
(the summed axes moved last, (1, K, S)); the library's stats give I = sum p t, P, G per class.
sum p t equals smp's sum min(p, t) when every target is 0 or 1 and every output lies in [0, 1];
for other values (soft targets, outputs outside [0, 1]) the two differ, so there the sums are one
vectorised numpy reduction of smp's own formula.

focal_loss_with_logits / softmax_focal_loss_with_logits: per element l = a_t f b with
b = BCE-with-logits (softmax: -log softmax at the target class), pt = exp(-b), focal term
f = (1 - pt)^gamma, or with reduced_threshold r: ((1 - pt) / r)^gamma where pt >= r, else 1;
a_t = alpha t + (1 - alpha)(1 - t) (sigmoid only); normalized divides by max(sum f, eps); then
reduction "mean" | "sum" | "batchwise_mean" (sum over axis 0) | anything else (none). The
library's sigmoid / softmax focal map gives b-based values per element where it computes the same
thing: 0/1 targets (its focal factor is the sigmoid of the signed logit, which is exp(-b) only
for 0/1 targets) and no reduced_threshold. Soft targets, reduced_threshold and the normaliser
(which needs f itself) use the vectorised numpy form of the formula above.
"""

import numpy as np

from .. import losses as _family
from .._errors import LabelError, ShapeError
from .._tensor import host_array

__all__ = [
    "focal_loss_with_logits",
    "softmax_focal_loss_with_logits",
    "soft_jaccard_score",
    "soft_dice_score",
    "soft_tversky_score",
]


def _float(a, name):
    a = host_array(a, name)
    return a if a.dtype.kind == "f" and a.dtype.itemsize >= 4 else a.astype(np.float64)


def _dims(dims, ndim):
    if dims is None:
        return tuple(range(ndim))
    dims = (dims,) if np.isscalar(dims) else tuple(dims)
    out = tuple(sorted({int(d) % ndim for d in dims})) if ndim else ()
    if any(not -ndim <= int(d) < ndim for d in dims):
        raise ShapeError(f"dims = {dims} out of range for {ndim} axes")
    return out


def _binary_in_unit(p, t):
    return bool(np.all((t == 0) | (t == 1)) and (p.size == 0 or (p.min() >= 0 and p.max() <= 1)))


def _sums(output, target, dims):
    """(I, P, G) over `dims`, each shaped like the kept axes."""
    p, t = _float(output, "output"), _float(target, "target")
    if p.shape != t.shape:
        raise ShapeError(f"output.shape = {p.shape} and target.shape = {t.shape} must agree")
    red = _dims(dims, p.ndim)
    kept = tuple(a for a in range(p.ndim) if a not in red)
    kshape = tuple(p.shape[a] for a in kept)
    k, s = int(np.prod(kshape, dtype=np.int64)), int(np.prod([p.shape[a] for a in red], dtype=np.int64))
    if _binary_in_unit(p, t) and k > 0 and s > 0:
        order = kept + red
        flat, _ = _family.stats(p.transpose(order).reshape(1, k, s), t.transpose(order).reshape(1, k, s))
        i, pp, g = flat.reshape(k, 3).T
    else:  # smp's own intersection (P + G - |p - t|_1) / 2, one numpy reduction
        pp = p.sum(axis=red, dtype=np.float64)
        g = t.sum(axis=red, dtype=np.float64)
        i = (pp + g - np.abs(p.astype(np.float64) - t).sum(axis=red)) / 2
    return (np.reshape(i, kshape), np.reshape(pp, kshape), np.reshape(g, kshape))


def soft_tversky_score(output, target, alpha, beta, smooth=0.0, eps=1e-7, dims=None):
    i, p, g = _sums(output, target, dims)
    return (i + smooth) / np.maximum(i + alpha * (p - i) + beta * (g - i) + smooth, eps)


def soft_dice_score(output, target, smooth=0.0, eps=1e-7, dims=None):
    return soft_tversky_score(output, target, 0.5, 0.5, smooth, eps, dims)


def soft_jaccard_score(output, target, smooth=0.0, eps=1e-7, dims=None):
    return soft_tversky_score(output, target, 1.0, 1.0, smooth, eps, dims)


# ---- focal terms -------------------------------------------------------------------------------


def _sigmoid(x):
    return 0.5 * (1.0 + np.tanh(0.5 * x))


def _focal_factor(pt, gamma, reduced_threshold):
    """(f, df/dpt) of the focal term."""
    q = 1.0 - pt
    if reduced_threshold is None:
        f = q**gamma
        with np.errstate(divide="ignore", invalid="ignore"):
            df = np.where(q > 0, -gamma * q ** (gamma - 1.0), 0.0 if gamma >= 1 else -np.inf)
        return f, df
    r = float(reduced_threshold)
    low = pt < r
    f = np.where(low, 1.0, (q / r) ** gamma)
    with np.errstate(divide="ignore", invalid="ignore"):
        df = np.where(low | (q <= 0), 0.0, -gamma / r * (q / r) ** (gamma - 1.0))
    return f, df


def sigmoid_focal_elements(x, t, gamma, alpha, reduced_threshold, need_f, need_grad):
    """Per element (l, f, dl/dx, df/dx) of the sigmoid focal term, x and t of one shape (arrays
    or None where not needed): the library's map where it matches smp, else numpy."""
    x64 = np.asarray(x, dtype=np.float64)
    t64 = np.asarray(t, dtype=np.float64)
    if reduced_threshold is None and not need_f and x64.size and bool(np.all((t64 == 0) | (t64 == 1))):
        kw = dict(
            pointwise="sigmoid_focal",
            lambda_overlap=0.0,
            focal_gamma=float(gamma),
            focal_alpha=None if alpha is None else float(alpha),
        )
        x3, t3 = x64.reshape(1, 1, -1), t64.reshape(1, 1, -1)
        l = _family.pointwise_map(x3, t3, **kw).reshape(x64.shape)
        dl = None
        if need_grad:  # the library's gradient of the mean, times the count: dl_i/dx_i
            dl = _family.loss(x3, t3, return_grad=True, **kw)[1].reshape(x64.shape) * x64.size
        return l, None, dl, None
    b = np.maximum(x64, 0) - x64 * t64 + np.log1p(np.exp(-np.abs(x64)))
    pt = np.exp(-b)
    f, dfdpt = _focal_factor(pt, gamma, reduced_threshold)
    at = 1.0 if alpha is None else alpha * t64 + (1 - alpha) * (1 - t64)
    l = at * f * b
    if not need_grad:
        return l, f, None, None
    db = _sigmoid(x64) - t64
    df = dfdpt * (-pt * db)
    return l, f, at * (df * b + f * db), df


def _reduce(l, f, dl, df, reduction, normalized, eps):
    """smp's normaliser and reduction of per-element values l (and focal terms f); returns
    (value, d value.sum() / d x per element or None)."""
    grad = None
    if normalized:
        s = max(float(f.sum()), eps)
        lsum = float(l.sum())
        if dl is not None:
            grad = dl / s - (lsum / s**2 * df if f.sum() > eps else 0.0)
        l = l / s
    elif dl is not None:
        grad = dl
    if reduction == "mean":
        n = l.size
        return l.mean(), None if grad is None else grad / n
    if reduction in ("sum", "batchwise_mean"):
        return (l.sum() if reduction == "sum" else l.sum(axis=0)), grad
    return l, grad


def focal_loss_with_logits(
    output,
    target,
    gamma=2.0,
    alpha=0.25,
    reduction="mean",
    normalized=False,
    reduced_threshold=None,
    eps=1e-6,
    return_grad=False,
):
    """smp's binary focal loss of logits (see the module docstring); return_grad adds
    d(sum of the result)/d(output)."""
    x = _float(output, "output")
    t = host_array(target, "target")
    if x.shape != t.shape:
        raise ShapeError(f"output.shape = {x.shape} and target.shape = {t.shape} must agree")
    l, f, dl, df = sigmoid_focal_elements(x, t, gamma, alpha, reduced_threshold, normalized, return_grad)
    value, grad = _reduce(l, f, dl, df, reduction, normalized, eps)
    value = np.asarray(value, dtype=np.float64)[()]
    return (value, grad.astype(x.dtype)) if return_grad else value


def softmax_focal_loss_with_logits(
    output, target, gamma=2.0, reduction="mean", normalized=False, reduced_threshold=None, eps=1e-6, return_grad=False
):
    """smp's softmax focal loss: output (B, C, *) logits, target (B, *) class indices; per
    element (B, *) values as in the module docstring; return_grad adds d(sum of the result)/d(output)."""
    x = _float(output, "output")
    t = host_array(target, "target")
    if x.ndim < 2 or t.shape != x.shape[:1] + x.shape[2:]:
        raise ShapeError(f"target.shape = {t.shape} must be output.shape = {x.shape} without axis 1")
    c = x.shape[1]
    if t.size and (t.min() < 0 or t.max() >= c):
        raise LabelError(f"target holds a class index outside [0, {c})")
    x64 = x.astype(np.float64)
    m = x64.max(axis=1, keepdims=True)
    logp = x64 - m - np.log(np.exp(x64 - m).sum(axis=1, keepdims=True))
    onehot = (np.expand_dims(t, 1) == np.arange(c).reshape((1, c) + (1,) * (x.ndim - 2))).astype(np.float64)
    need_f = normalized or reduced_threshold is not None
    if not need_f and x.size:
        kw = dict(pointwise="softmax_focal", lambda_overlap=0.0, focal_gamma=float(gamma))
        # the library's softmax focal map is per (element, class), nonzero at the target class
        # (B, C) inputs get a spatial axis of size 1: the library reads (B, C, spatial...)
        x3, oh3 = (x64, onehot) if x.ndim > 2 else (x64[..., None], onehot[..., None])
        l = _family.pointwise_map(x3, oh3, **kw).sum(axis=1).reshape(t.shape)
        f = None
    else:
        b = -(logp * onehot).sum(axis=1)
        f, _ = _focal_factor(np.exp(-b), gamma, reduced_threshold)
        l = f * b
    if return_grad:
        b = -(logp * onehot).sum(axis=1)
        pt = np.exp(-b)
        f2, dfdpt = _focal_factor(pt, gamma, reduced_threshold)
        # d b / d x_c = softmax_c - onehot_c ; d pt / d x = -pt d b
        db = np.exp(logp) - onehot
        dl_b = np.expand_dims(f2, 1) + np.expand_dims(dfdpt * (-pt) * b, 1)
        dl = dl_b * db
        df = np.expand_dims(dfdpt * (-pt), 1) * db
        f = f2 if f is None and normalized else f
    else:
        dl = df = None
    if normalized:
        s = max(float(f.sum()), eps)
        lsum = float(l.sum())
        grad = None if dl is None else dl / s - (lsum / s**2 * df if f.sum() > eps else 0.0)
        l = l / s
    else:
        grad = dl
    if reduction == "mean":
        value, grad = l.mean(), None if grad is None else grad / l.size
    elif reduction == "sum":
        value = l.sum()
    elif reduction == "batchwise_mean":
        value = l.sum(axis=0)
    else:
        value = l
    value = np.asarray(value, dtype=np.float64)[()]
    return (value, grad.astype(x.dtype)) if return_grad else value
