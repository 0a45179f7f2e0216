"""Drop-in for kornia.metrics.mean_iou and kornia.metrics.confusion_matrix (numpy in, numpy out)."""

import numpy as np

from .. import metrics
from .._errors import DtypeError, LabelError, OptionError, ShapeError
from .._tensor import host_array


def _num_classes(num_classes):
    if not isinstance(num_classes, int) or num_classes < 2:
        raise OptionError(f"The number of classes must be an integer of at least two. Got: {num_classes}")


def mean_iou(pred, target, num_classes, eps=1e-6):
    """kornia.metrics.mean_iou: the IoU of every class in every sample, (B, K) float64,
    (|P∩G| + eps) / (|P∪G| + eps) from (B, *) label maps with values in [0, K) (despite the name,
    nothing is averaged; a class absent from both maps scores 1). Counts come from the library's
    exact confusion kernel."""
    p, t = np.asarray(pred), np.asarray(target)
    if p.shape != t.shape:
        raise OptionError(f"Inputs pred and target must have the same shape. Got: {p.shape} and {t.shape}")
    _num_classes(num_classes)
    if p.ndim < 2:  # one spatial axis at least: (B, 1) when the samples are single labels
        p, t = p[:, None], t[:, None]
    counts = metrics.confusion(p, t, num_classes=num_classes, pred_kind="labels", gt_kind="labels").astype(np.float64)
    tp = counts[..., 0]
    return (tp + eps) / (tp + counts[..., 1] + counts[..., 2] + eps)


def _labels(name, a):
    """`a` as a numpy label array: bool or any integer dtype (floats and complex raise, as in kornia)."""
    a = host_array(a, name)
    a = a if isinstance(a, np.ndarray) else np.asarray(a)
    if a.dtype.kind not in "biu":
        raise DtypeError(f"Input {name} must have an integer dtype. Got {a.dtype}")
    return a


def confusion_matrix(pred, target, num_classes, normalized=False):
    """kornia.metrics.confusion_matrix: one K x K count matrix per sample, (B, K, K) float32, rows
    the target and columns the prediction (cm[b, target, pred]); `pred` and `target` are label
    maps (B, *) of one shape (bool or any integer dtype, values in [0, K)). With `normalized`,
    each row is divided by its sum + 1e-6 (in float32, as kornia does; empty rows stay 0). An
    empty batch gives (0, K, K).

    The library's confusion kernel counts one-vs-rest (tp, fp, fn, tn) per class, from which the
    off-diagonal cells (which wrong class was predicted) cannot be recovered, so the K x K cells
    are one exact integer histogram of the pairs (b, target, pred): np.bincount over the flat
    index (b K + target) K + pred, a single vectorised pass in C with int64 counts."""
    p, t = _labels("pred", pred), _labels("target", target)
    if p.shape != t.shape:
        raise ShapeError(f"Inputs pred and target must have the same shape. Got: {p.shape} and {t.shape}")
    _num_classes(num_classes)
    if p.ndim == 0:
        raise ShapeError("Inputs pred and target must have a batch axis: (B, *) label maps")
    k = num_classes
    b = p.shape[0]
    if b == 0:
        return np.zeros((0, k, k), dtype=np.float32)
    if p.size:
        for name, a in (("pred", p), ("target", t)):
            low, high = int(a.min()), int(a.max())
            if low < 0 or high >= k:
                raise LabelError(f"Input {name} must contain values in [0, {k}). Got values in [{low}, {high}]")
    cells = k * k
    index = t.reshape(b, -1).astype(np.int64) * k
    np.add(index, p.reshape(b, -1), out=index, casting="unsafe")  # values checked in [0, K)
    index += (np.arange(b, dtype=np.int64) * cells)[:, None]
    counts = np.bincount(index.reshape(-1), minlength=b * cells).reshape(b, k, k)
    cm = counts.astype(np.float32)
    if normalized:
        cm = cm / (cm.sum(axis=2, keepdims=True) + np.float32(1e-6))
    return cm
